/* storagebox confirm LEDGER DEDUP_ID: the id's hold becomes for good. */
#include "cli.h"

int cli_cmd_confirm(cli_ctx *c)
{
	const char *pos[2];
	size_t n;
	sb_box *box;
	int rc = cli_parse(c, NULL, NULL, pos, 2, 2, &n);

	if (rc != CLI_CONTINUE)
		return rc;
	if (cli_open(&box, c) != 0)
		return CLI_EXIT_ERROR;
	rc = sb_box_confirm(box, pos[0], pos[1]);
	rc = cli_hold_answer(c, box, rc, pos[1], "");
	sb_box_close(box);
	return cli_finish(c, rc);
}
