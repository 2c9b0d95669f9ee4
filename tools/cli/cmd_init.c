/* storagebox init [BANK [LEDGER]] */
#include "cli.h"

int cli_cmd_init(cli_ctx *c)
{
	const char *pos[2] = { NULL, NULL };
	size_t n;
	sb_box *box;
	int rc = cli_parse(c, NULL, NULL, pos, 0, 2, &n);

	if (rc != CLI_CONTINUE)
		return rc;
	if (cli_open(&box, c) != 0)
		return CLI_EXIT_ERROR;
	rc = sb_box_init(box, pos[0], pos[1]);
	if (rc < 0)
		rc = cli_box_error(c, box, rc);
	else
		rc = CLI_EXIT_OK;
	sb_box_close(box);
	return cli_finish(c, rc);
}
