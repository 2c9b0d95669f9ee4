/* usage: holdop --uri URI [--protocol generic] COMMAND ARGS...
 *   hold BANK LEDGER ID --ttl Nms   prints the item; its deadline (ms
 *                                   since the epoch, 0: for good) on stderr
 *   confirm LEDGER ID
 *   extend LEDGER ID --ttl Nms
 *   release LEDGER ID [--retire]
 *
 * The hold commands of the `storagebox` CLI as the kill tests need them:
 * the same arguments and exit statuses (0 done, 1 error, 2 usage, 3
 * empty, 4 the id holds nothing, 5 the hold lapsed), but the deadline in
 * ms (the CLI prints RFC 3339, which the tests would have to parse) and
 * one library call per process, so a SIGKILL or a crash point
 * (SB_FAULT_POINT) ends it mid-call. */
#include "storagebox/storagebox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
	fputs("usage: holdop --uri URI [--protocol generic] hold|confirm|"
	      "extend|release ARGS...\n",
	      stderr);
	return 2;
}

static int exit_of(sb_box *box, int rc)
{
	switch (rc) {
	case SB_OK: return 0;
	case SB_EMPTY: return 3;
	case SB_ENOTFOUND: return 4;
	case SB_EEXPIRED: return 5;
	default:
		fprintf(stderr, "holdop: %s: %s\n", sb_strerror(rc),
		        box ? sb_box_errmsg(box) : "");
		return 1;
	}
}

static long long ttl_arg(int argc, char **argv, int at)
{
	char *end;
	long long v;

	if (at + 1 >= argc || strcmp(argv[at], "--ttl") != 0)
		return -1;
	v = strtoll(argv[at + 1], &end, 10);
	/* "1500ms" as the CLI takes it, or a bare number of ms. */
	return (*end && strcmp(end, "ms") != 0) || v <= 0 ? -1 : v;
}

int main(int argc, char **argv)
{
	sb_open_opts o = SB_OPEN_OPTS_INIT;
	char err[SB_ERRMSG_SIZE] = "";
	sb_box *box = NULL;
	sb_item *it = NULL;
	long long ttl;
	int a = 1, rc, code;

	if (argc < 4 || strcmp(argv[a], "--uri") != 0)
		return usage();
	a = 3;
	if (a + 1 < argc && strcmp(argv[a], "--protocol") == 0) {
		if (strcmp(argv[a + 1], "generic") != 0)
			return usage();
		o.protocol = SB_PROTOCOL_GENERIC;
		a += 2;
	}
	if (a >= argc)
		return usage();
	if (sb_box_open(&box, argv[2], &o, err, sizeof err) != SB_OK) {
		fprintf(stderr, "holdop: open: %s\n", err);
		return 1;
	}
	if (strcmp(argv[a], "hold") == 0 && argc == a + 6 &&
	    (ttl = ttl_arg(argc, argv, a + 4)) > 0) {
		rc = sb_box_hold(&it, box, argv[a + 1], argv[a + 2],
		                 argv[a + 3], ttl);
		if (rc == SB_OK) {
			printf("%s\n", sb_item_value(it));
			fprintf(stderr, "%lld\n",
			        (long long)sb_item_expires_ms(it));
		}
		sb_item_free(it);
	} else if (strcmp(argv[a], "confirm") == 0 && argc == a + 3) {
		rc = sb_box_confirm(box, argv[a + 1], argv[a + 2]);
	} else if (strcmp(argv[a], "extend") == 0 && argc == a + 5 &&
	           (ttl = ttl_arg(argc, argv, a + 3)) > 0) {
		rc = sb_box_extend(box, argv[a + 1], argv[a + 2], ttl);
	} else if (strcmp(argv[a], "release") == 0 &&
	           (argc == a + 3 ||
	            (argc == a + 4 && strcmp(argv[a + 3], "--retire") == 0))) {
		rc = sb_box_release(box, argv[a + 1], argv[a + 2],
		                    argc == a + 4 ? SB_RELEASE_RETIRE
		                                  : SB_RELEASE_RESTOCK);
	} else {
		sb_box_close(box);
		return usage();
	}
	code = exit_of(box, rc);
	if (fflush(stdout) != 0)
		code = 1;
	sb_box_close(box);
	return code;
}
