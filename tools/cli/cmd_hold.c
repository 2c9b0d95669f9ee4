/* storagebox hold BANK LEDGER DEDUP_ID --ttl DURATION: fetch, but a new
 * item is only held until a deadline. stdout carries the item alone, as
 * for fetch; the deadline goes to stderr, so `seat=$(storagebox hold ...)`
 * still works. */
#include "cli.h"
#include "ttl.h"

#include <stdio.h>

static const cli_opt hold_opts[] = { { "--ttl", 1 }, { NULL, 0 } };

static int report(const cli_ctx *c, const sb_box *box, int rc,
                  const sb_item *item, const char *bank)
{
	char when[CLI_DEADLINE_SIZE];

	switch (rc) {
	case SB_OK:
		printf("%s\n", sb_item_value(item));
		/* The item before its deadline, as on a terminal, also when
		 * stdout is a pipe (fully buffered) and stderr is not. */
		fflush(stdout);
		/* Held for good (a confirmed hold): no deadline to show. */
		if (sb_item_expires_ms(item) > 0) {
			cli_format_deadline(when, sizeof when,
			                    sb_item_expires_ms(item));
			fprintf(stderr, "%s\n", when);
		}
		return CLI_EXIT_OK;
	case SB_EMPTY:
		fprintf(stderr, "storagebox: bank '%s' is empty\n", bank);
		return CLI_EXIT_EMPTY;
	default: return cli_box_error(c, box, rc);
	}
}

int cli_cmd_hold(cli_ctx *c)
{
	const char *pos[3];
	const char *ttl[1] = { NULL };
	int64_t ttl_ms = 0;
	size_t n;
	sb_box *box;
	sb_item *item = NULL;
	int rc = cli_parse(c, hold_opts, ttl, pos, 3, 3, &n);

	if (rc == CLI_CONTINUE)
		rc = cli_ttl_arg(c, ttl[0], &ttl_ms);
	if (rc != CLI_CONTINUE)
		return rc;
	if (cli_open(&box, c) != 0)
		return CLI_EXIT_ERROR;
	rc = sb_box_hold(&item, box, pos[0], pos[1], pos[2], ttl_ms);
	rc = report(c, box, rc, item, pos[0]);
	sb_item_free(item);
	sb_box_close(box);
	return cli_finish(c, rc);
}
