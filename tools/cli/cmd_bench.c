/* storagebox bench: see bench.h. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int cli_cmd_bench(cli_ctx *c)
{
	bench_cfg cfg;
	bench_run r = { 0 };
	int rc = bench_parse(&cfg, c);

	if (rc != CLI_CONTINUE)
		return rc;
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
		int rep = bench_report(&r);
		rc = rc != CLI_EXIT_OK ? rc : rep;
	}
	free(r.schedule);
	free(r.results);
	return rc;
}
