/* storagebox bench: see bench.h. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One fetch run on a fresh bank, then with --holds the holds run. */
static int pair(bench_run *r, const char *base)
{
	const bench_cfg *cfg = r->cfg;
	int rc;

	if (cfg->runs > 1)
		snprintf(r->bank, sizeof(r->bank), "%.50s-%u", base,
		         r->run_no + 1);
	else
		snprintf(r->bank, sizeof(r->bank), "%s", base);
	snprintf(r->ledger, sizeof(r->ledger), "%s-ledger", r->bank);
	memset(r->results, 0, cfg->requests * sizeof(*r->results));
	for (uint64_t i = 0; i < cfg->requests; i++)
		r->results[i].status = BENCH_SKIPPED;
	r->first_error[0] = '\0';
	r->run_s = 0;
	r->hold_mode = 0;
	rc = bench_load(r);
	if (rc == CLI_EXIT_OK)
		rc = bench_fire(r);
	/* Report even after client failures: the law is still checked. */
	if (rc == CLI_EXIT_OK || r->run_s > 0) {
		int rep;

		/* With --holds and --json, one object: the holds' report
		 * carries the fetches' figures; with --runs, the summary
		 * does. */
		r->silent = cfg->holds && (cfg->json || cfg->runs > 1);
		rep = bench_report(r);
		rc = rc != CLI_EXIT_OK ? rc : rep;
	}
	if (cfg->holds && rc == CLI_EXIT_OK)
		rc = bench_holds(r);
	return rc;
}

int cli_cmd_bench(cli_ctx *c)
{
	bench_cfg cfg;
	bench_run r = { 0 };
	sb_box *keeper = NULL;
	char base[48];
	int rc = bench_parse(&cfg, c);

	if (rc != CLI_CONTINUE)
		return rc;
	/* A memory: store lives while a box of it is open: keep one open
	 * across the load, the clients and the check. */
	if (strncmp(c->g.uri, "memory:", 7) == 0 && cli_open(&keeper, c) != 0)
		return CLI_EXIT_ERROR;
	r.cfg = &cfg;
	r.cli = c;
	/* A fresh bank and ledger per run: the law is checked on them alone. */
	snprintf(base, sizeof(base), "bench-%ld-%ld", (long)time(NULL),
	         (long)getpid());
	rc = bench_schedule(&r);
	if (rc == CLI_EXIT_OK && cfg.holds &&
	    !(r.figs = calloc(cfg.runs, sizeof(*r.figs)))) {
		cli_err(c, "out of memory");
		rc = CLI_EXIT_ERROR;
	}
	for (r.run_no = 0; rc == CLI_EXIT_OK && r.run_no < cfg.runs; r.run_no++)
		rc = pair(&r, base);
	if (rc == CLI_EXIT_OK && cfg.runs > 1)
		rc = bench_holds_summary(&r);
	sb_box_close(keeper);
	free(r.schedule);
	free(r.results);
	free(r.figs);
	return rc;
}
