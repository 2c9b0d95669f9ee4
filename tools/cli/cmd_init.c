/* storagebox init [BANK [LEDGER]] [--upgrade] */
#include "cli.h"

static const cli_opt init_opts[] = { { "--upgrade", 0 }, { NULL, 0 } };

int cli_cmd_init(cli_ctx *c)
{
	const char *pos[2] = { NULL, NULL };
	const char *upgrade[1] = { NULL };
	sb_init_opts o = SB_INIT_OPTS_INIT;
	size_t n;
	sb_box *box;
	int rc = cli_parse(c, init_opts, upgrade, pos, 0, 2, &n);

	if (rc != CLI_CONTINUE)
		return rc;
	if (cli_open(&box, c) != 0)
		return CLI_EXIT_ERROR;
	if (upgrade[0])
		o.flags |= SB_INIT_UPGRADE;
	rc = sb_box_init_opts(box, pos[0], pos[1], &o);
	if (rc < 0)
		rc = cli_box_error(c, box, rc);
	else
		rc = CLI_EXIT_OK;
	sb_box_close(box);
	return cli_finish(c, rc);
}
