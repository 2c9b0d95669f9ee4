/* storagebox fetch BANK LEDGER DEDUP_ID: the claim, for scripts. stdout
 * carries the item and nothing else, so `code=$(storagebox fetch ...)`
 * works; the exit code tells empty (3) from error (1). */
#include "cli.h"

#include <stdio.h>

static int report(const cli_ctx *c, const sb_box *box, int rc,
                  const sb_item *item, const char *bank)
{
	switch (rc) {
	case SB_OK: printf("%s\n", sb_item_value(item)); return CLI_EXIT_OK;
	case SB_EMPTY:
		fprintf(stderr, "storagebox: bank '%s' is empty\n", bank);
		return CLI_EXIT_EMPTY;
	default: return cli_box_error(c, box, rc);
	}
}

int cli_cmd_fetch(cli_ctx *c)
{
	const char *pos[3];
	size_t n;
	sb_box *box;
	sb_item *item = NULL;
	int rc = cli_parse(c, NULL, NULL, pos, 3, 3, &n);

	if (rc != CLI_CONTINUE)
		return rc;
	if (cli_open(&box, c) != 0)
		return CLI_EXIT_ERROR;
	rc = sb_box_fetch(&item, box, pos[0], pos[1], pos[2]);
	rc = report(c, box, rc, item, pos[0]);
	sb_item_free(item);
	sb_box_close(box);
	return cli_finish(c, rc);
}
