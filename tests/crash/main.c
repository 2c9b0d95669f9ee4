/* usage: crash STORAGEBOX fused|generic points|kills DIR
 *
 * Drives the CLI on a fresh SQLite file DIR/crash-<mode>-<part>.db:
 *   points  processes die at each reachable crash point (needs a build
 *           with -Dfault_injection=true), then recover
 *   kills   concurrent fetches SIGKILLed at random moments, recover and
 *           stats in between, then every law checked */
#include "crash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 5 || (strcmp(argv[2], "fused") && strcmp(argv[2], "generic")) ||
	    (strcmp(argv[3], "points") && strcmp(argv[3], "kills"))) {
		fprintf(stderr, "usage: %s STORAGEBOX fused|generic points|kills "
		                "DIR\n", argv[0]);
		return 2;
	}
	cenv.cli = argv[1];
	cenv.mode = argv[2];
	cenv.generic = strcmp(argv[2], "generic") == 0;
	cenv.dir = argv[4];
	char *db = t_xasprintf("%s/crash-%s-%s.db", cenv.dir, argv[2], argv[3]);
	const char *sfx[] = { "", "-wal", "-shm", "-journal" };
	for (size_t i = 0; i < 4; i++) {
		char *f = t_xasprintf("%s%s", db, sfx[i]);
		unlink(f);
		free(f);
	}
	cenv.uri = t_xasprintf("sqlite:%s", db);
	/* Crash points only where the test says so. */
	unsetenv("SB_FAULT_POINT");
	unsetenv("SB_FAULT_SKIP");
	unsetenv("STORAGEBOX_URI");
	printf("crash %s %s on %s\n", argv[3], cenv.mode, cenv.uri);
	fflush(stdout);

	if (strcmp(argv[3], "points") == 0)
		crash_points();
	else
		crash_kills();

	/* The per-slot output files of the CLI runs. */
	for (int slot = 0; slot < 100; slot++) {
		const char *ext[] = { "out", "err", "in" };
		for (size_t i = 0; i < 3; i++) {
			char *f = t_xasprintf("%s/crash-%s-%d.%s", cenv.dir,
			                      cenv.mode, slot, ext[i]);
			unlink(f);
			free(f);
		}
	}
	free(cenv.uri);
	free(db);
	return t_summary();
}
