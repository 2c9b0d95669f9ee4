/* storagebox release LEDGER DEDUP_ID [--retire]: the id gives its item
 * back, to the bank or (--retire) out of circulation. */
#include "cli.h"

static const cli_opt release_opts[] = { { "--retire", 0 }, { NULL, 0 } };

int cli_cmd_release(cli_ctx *c)
{
	const char *pos[2];
	const char *retire[1] = { NULL };
	size_t n;
	sb_box *box;
	int rc = cli_parse(c, release_opts, retire, pos, 2, 2, &n);

	if (rc != CLI_CONTINUE)
		return rc;
	if (cli_open(&box, c) != 0)
		return CLI_EXIT_ERROR;
	rc = sb_box_release(box, pos[0], pos[1],
	                    retire[0] ? SB_RELEASE_RETIRE : SB_RELEASE_RESTOCK);
	/* A retire that comes too late does not retire (docs/holds.md). */
	rc = cli_hold_answer(c, box, rc, pos[1],
	                     "; its item went back to the bank");
	sb_box_close(box);
	return cli_finish(c, rc);
}
