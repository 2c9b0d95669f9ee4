/* storagebox bench: see bench.h. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cli_cmd_bench(cli_ctx *c)
{
	bench_cfg cfg;
	bench_run r = { 0 };
	sb_box *keeper = NULL;
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
	snprintf(r.bank, sizeof(r.bank), "bench-%ld-%ld", (long)time(NULL),
	         (long)getpid());
	snprintf(r.ledger, sizeof(r.ledger), "%s-ledger", r.bank);
	rc = bench_schedule(&r);
	if (rc == CLI_EXIT_OK)
		rc = bench_load(&r);
	if (rc == CLI_EXIT_OK)
		rc = bench_fire(&r);
	/* Report even after client failures: the law is still checked. */
	if (r.results && (rc == CLI_EXIT_OK || r.run_s > 0)) {
		int rep;

		/* With --holds and --json, one object: the holds' report
		 * carries the fetches' figures. */
		r.silent = cfg.holds && cfg.json;
		rep = bench_report(&r);
		rc = rc != CLI_EXIT_OK ? rc : rep;
	}
	if (cfg.holds && rc == CLI_EXIT_OK)
		rc = bench_holds(&r);
	sb_box_close(keeper);
	free(r.schedule);
	free(r.results);
	return rc;
}
