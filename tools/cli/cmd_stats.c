/* storagebox stats BANK [LEDGER] */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>

int cli_cmd_stats(cli_ctx *c)
{
	const char *pos[2] = { NULL, NULL };
	size_t n;
	sb_box *box;
	sb_stats st;
	int rc = cli_parse(c, NULL, NULL, pos, 1, 2, &n);

	if (rc != CLI_CONTINUE)
		return rc;
	if (cli_open(&box, c) != 0)
		return CLI_EXIT_ERROR;
	rc = sb_box_stats(&st, box, pos[0], pos[1]);
	if (rc < 0) {
		rc = cli_box_error(c, box, rc);
	} else {
		printf("available: %" PRIu64 "\nreserved: %" PRIu64
		       "\nassigned: %" PRIu64 "\n",
		       st.available, st.reserved, st.assigned);
		if (pos[1])
			printf("held: %" PRIu64 "\n", st.held);
		/* Holds' lines come last: scripts read the lines above. */
		printf("on_hold: %" PRIu64 "\nretired: %" PRIu64 "\n",
		       st.on_hold, st.retired);
		rc = CLI_EXIT_OK;
	}
	sb_box_close(box);
	return cli_finish(c, rc);
}
