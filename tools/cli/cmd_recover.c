/* storagebox recover BANK LEDGER [--min-age SECONDS] */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static const cli_opt recover_opts[] = { { "--min-age", 1 }, { NULL, 0 } };

/* Seconds as a whole non-negative number, into milliseconds. */
static int parse_min_age(const char *s, int64_t *ms)
{
	char *end;
	long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v > INT64_MAX / 1000)
		return -1;
	*ms = (int64_t)v * 1000;
	return 0;
}

static void print_result(const sb_recover_result *r)
{
	printf("settled %" PRIu64 ", put back %" PRIu64, r->settled,
	       r->put_back);
	/* Like foreign, the holds' counts show only when there are some:
	 * the common line stays what scripts already read. */
	if (r->foreign > 0)
		printf(", foreign %" PRIu64, r->foreign);
	if (r->lapsed > 0)
		printf(", lapsed %" PRIu64, r->lapsed);
	if (r->released > 0)
		printf(", released %" PRIu64, r->released);
	putchar('\n');
}

int cli_cmd_recover(cli_ctx *c)
{
	const char *pos[2];
	const char *optval[1] = { NULL };
	sb_recover_opts opts = SB_RECOVER_OPTS_INIT;
	sb_recover_result res;
	size_t n;
	sb_box *box;
	int rc = cli_parse(c, recover_opts, optval, pos, 2, 2, &n);

	if (rc != CLI_CONTINUE)
		return rc;
	if (optval[0] && parse_min_age(optval[0], &opts.min_age_ms) != 0)
		return cli_usage_error(c,
		                       "--min-age wants whole seconds "
		                       ">= 0, not '%s'",
		                       optval[0]);
	if (cli_open(&box, c) != 0)
		return CLI_EXIT_ERROR;
	rc = sb_box_recover(&res, box, pos[0], pos[1], &opts);
	if (rc < 0) {
		rc = cli_box_error(c, box, rc);
	} else {
		print_result(&res);
		rc = CLI_EXIT_OK;
	}
	sb_box_close(box);
	return cli_finish(c, rc);
}
