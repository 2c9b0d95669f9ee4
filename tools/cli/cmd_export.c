/* storagebox export LEDGER: every assignment as CSV on stdout. */
#include "cli.h"
#include "csv.h"

#include <stdio.h>

/* Returned by the callback to stop the export when stdout fails (a reader
 * that went away): there is no point reading the rest of the ledger. */
#define STOP_WRITE_ERROR 1

static int row(const char *dedup_id, const char *bank, const char *item,
               void *payload)
{
	const char *fields[3] = { dedup_id, bank, item };

	(void)payload;
	return cli_csv_row(stdout, fields, 3) ? STOP_WRITE_ERROR : 0;
}

int cli_cmd_export(cli_ctx *c)
{
	static const char *const header[3] = { "dedup_id", "bank", "item" };
	const char *pos[1];
	size_t n;
	sb_box *box;
	int rc = cli_parse(c, NULL, NULL, pos, 1, 1, &n);

	if (rc != CLI_CONTINUE)
		return rc;
	if (cli_open(&box, c) != 0)
		return CLI_EXIT_ERROR;
	if (cli_csv_row(stdout, header, 3) != 0)
		rc = STOP_WRITE_ERROR;
	else
		rc = sb_box_export(box, pos[0], row, NULL);
	if (rc < 0)
		rc = cli_box_error(c, box, rc);
	else
		rc = CLI_EXIT_OK; /* a write error is reported by cli_finish */
	sb_box_close(box);
	return cli_finish(c, rc);
}
