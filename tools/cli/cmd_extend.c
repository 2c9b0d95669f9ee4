/* storagebox extend LEDGER DEDUP_ID --ttl DURATION: a new deadline, now +
 * DURATION, for a hold that has not lapsed. */
#include "cli.h"

static const cli_opt extend_opts[] = { { "--ttl", 1 }, { NULL, 0 } };

int cli_cmd_extend(cli_ctx *c)
{
	const char *pos[2];
	const char *ttl[1] = { NULL };
	int64_t ttl_ms = 0;
	size_t n;
	sb_box *box;
	int rc = cli_parse(c, extend_opts, ttl, pos, 2, 2, &n);

	if (rc == CLI_CONTINUE)
		rc = cli_ttl_arg(c, ttl[0], &ttl_ms);
	if (rc != CLI_CONTINUE)
		return rc;
	if (cli_open(&box, c) != 0)
		return CLI_EXIT_ERROR;
	rc = sb_box_extend(box, pos[0], pos[1], ttl_ms);
	rc = cli_hold_answer(c, box, rc, pos[1], "");
	sb_box_close(box);
	return cli_finish(c, rc);
}
