/* usage: crash STORAGEBOX fused|generic PART DIR [HOLDOP]
 *
 * Drives the CLI on one store, named by the environment:
 *   SB_TEST_URI_FROM  the name of the variable holding the URI (meson's
 *                     env cannot hold the secret URIs of the servers)
 *   SB_TEST_URI       the URI itself
 *   neither           SQLite file DIR/crash-<mode>-<part>.db
 * A sqlite: URI names a scratch file: it is removed first.
 * A named variable that is unset means the server is missing: exit 77
 * (skipped), or 1 when CI=true (a skip is a failure there; turi.h).
 *   points  processes die at each reachable crash point (needs a build
 *           with -Dfault_injection=true), then recover
 *   kills   1,000 concurrent fetches, 40% SIGKILLed at random moments,
 *           recover and stats in between, then every law checked
 *   holds-points  holds: a death at each crash point of the generic
 *           order (fault builds, generic), then recover (holds.c)
 *   holds-kills   1,000 hold, confirm, extend, release and fetch
 *           processes, 40% SIGKILLed at random moments (holds_kill.c)
 * HOLDOP runs the hold commands while the CLI has none (holdop.c).
 * Every bank and ledger name starts with a prefix unique to the run, so
 * runs on shared servers never meet. DIR holds the CLI's output files. */
#include "crash.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

char *cname(const char *name)
{
	return t_xasprintf("%s%s", cenv.prefix, name);
}

static void remove_sqlite(const char *db)
{
	const char *sfx[] = { "", "-wal", "-shm", "-journal" };
	for (size_t i = 0; i < 4; i++) {
		char *f = t_xasprintf("%s%s", db, sfx[i]);
		unlink(f);
		free(f);
	}
}

/* The store's URI (caller frees); exits when a named one is unset. */
static char *store_uri(const char *part)
{
	const char *uri = t_env_store("SB_TEST_URI", 0);
	if (uri) {
		sb_uri *u = t_uri_parse(uri);
		if (strcmp(u->scheme, "sqlite") == 0)
			remove_sqlite(u->path);
		sb_uri_free(u);
		return t_xstrdup(uri);
	}
	char *db = t_xasprintf("%s/crash-%s-%s.db", cenv.dir, cenv.mode, part);
	remove_sqlite(db);
	char *u = t_xasprintf("sqlite:%s", db);
	free(db);
	return u;
}

static const char *backend_of(const char *uri)
{
	static const struct {
		const char *scheme, *backend;
	} map[] = {
		{ "sqlite:", "sqlite" },
		{ "postgresql:", "postgresql" },
		{ "postgres:", "postgresql" },
		{ "redis:", "redis" },
		{ "rediss:", "redis" },
		{ "redis+unix:", "redis" },
		{ "dynamodb:", "dynamodb" },
		{ "dynamodb+http:", "dynamodb" },
		{ "dynamodb+https:", "dynamodb" },
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strncmp(uri, map[i].scheme, strlen(map[i].scheme)) == 0)
			return map[i].backend;
	return NULL;
}

int main(int argc, char **argv)
{
	if ((argc != 5 && argc != 6) ||
	    (strcmp(argv[2], "fused") && strcmp(argv[2], "generic")) ||
	    (strcmp(argv[3], "points") && strcmp(argv[3], "kills") &&
	     strcmp(argv[3], "holds-points") &&
	     strcmp(argv[3], "holds-kills"))) {
		fprintf(stderr,
		        "usage: %s STORAGEBOX fused|generic points|kills|"
		        "holds-points|holds-kills DIR [HOLDOP]\n",
		        argv[0]);
		return 2;
	}
	cenv.holdop = argc == 6 ? argv[5] : NULL;
	cenv.cli = argv[1];
	cenv.mode = argv[2];
	cenv.generic = strcmp(argv[2], "generic") == 0;
	cenv.dir = argv[4];
	cenv.uri = store_uri(argv[3]);
	cenv.backend = backend_of(cenv.uri);
	if (!cenv.backend) {
		fprintf(stderr, "crash: no known backend for this URI\n");
		return 1;
	}
	cenv.snapshot_stats = strcmp(cenv.backend, "dynamodb") != 0;
	uint64_t seed = t_seed();
	cenv.prefix = t_xasprintf("cr%lx.%ld.%04x.", (long)time(NULL),
	                          (long)getpid(), (unsigned)(seed & 0xffff));
	/* Crash points only where the test says so. */
	unsetenv("SB_FAULT_POINT");
	unsetenv("SB_FAULT_SKIP");
	/* For cli_sleep(); the children unblock it before exec. */
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	unsetenv("SB_FAULT_MARK");
	unsetenv("SB_FAULT_WAIT");
	unsetenv("SB_FAULT_WAIT_S");
	unsetenv("STORAGEBOX_URI");
	char *shown = t_redact_uri(cenv.uri);
	printf("crash %s %s on %s (%s), names %s*\n", argv[3], cenv.mode, shown,
	       cenv.backend, cenv.prefix);
	free(shown);
	fflush(stdout);

	if (strcmp(argv[3], "points") == 0)
		crash_points();
	else if (strcmp(argv[3], "kills") == 0)
		crash_kills();
	else if (strcmp(argv[3], "holds-points") == 0)
		crash_holds_points();
	else
		crash_holds_kills();

	free(cenv.prefix);
	free(cenv.uri);
	return t_summary();
}
