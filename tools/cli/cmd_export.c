/* storagebox export LEDGER [--holds]: every assignment as CSV on stdout;
 * with --holds also the live holds, with their deadlines. */
#include "cli.h"
#include "csv.h"
#include "ttl.h"

#include <stdio.h>

/* Returned by the callbacks to stop the export when stdout fails (a
 * reader that went away): there is no point reading the rest. */
#define STOP_WRITE_ERROR 1

static const cli_opt export_opts[] = { { "--holds", 0 }, { NULL, 0 } };

static int row(const char *dedup_id, const char *bank, const char *item,
               void *payload)
{
	const char *fields[4] = { dedup_id, bank, item, "" };
	size_t n = payload ? 4 : 3; /* payload: --holds given */

	return cli_csv_row(stdout, fields, n) ? STOP_WRITE_ERROR : 0;
}

static int hold_row(const char *dedup_id, const char *bank, const char *item,
                    int64_t expires_ms, void *payload)
{
	char when[CLI_DEADLINE_SIZE];
	const char *fields[4] = { dedup_id, bank, item, when };

	(void)payload;
	cli_format_deadline(when, sizeof when, expires_ms);
	return cli_csv_row(stdout, fields, 4) ? STOP_WRITE_ERROR : 0;
}

/* Holds first: a hold confirmed while the export runs then shows twice
 * (with and without its deadline) rather than not at all. */
static int export_all(sb_box *box, const char *ledger, int holds)
{
	static const char *const header[4] = { "dedup_id", "bank", "item",
		                               "expires_at" };
	static int with_holds = 1;
	int rc = SB_OK;

	if (cli_csv_row(stdout, header, holds ? 4 : 3) != 0)
		return STOP_WRITE_ERROR;
	if (holds)
		rc = sb_box_export_holds(box, ledger, hold_row, NULL);
	if (rc == SB_OK)
		rc = sb_box_export(box, ledger, row,
		                   holds ? &with_holds : NULL);
	return rc;
}

int cli_cmd_export(cli_ctx *c)
{
	const char *pos[1];
	const char *holds[1] = { NULL };
	size_t n;
	sb_box *box;
	int rc = cli_parse(c, export_opts, holds, pos, 1, 1, &n);

	if (rc != CLI_CONTINUE)
		return rc;
	if (cli_open(&box, c) != 0)
		return CLI_EXIT_ERROR;
	rc = export_all(box, pos[0], holds[0] != NULL);
	if (rc < 0)
		rc = cli_box_error(c, box, rc);
	else
		rc = CLI_EXIT_OK; /* a write error is reported by cli_finish */
	sb_box_close(box);
	return cli_finish(c, rc);
}
