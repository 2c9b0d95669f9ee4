/* SQLite stress: many processes, each with several threads (one box per
 * thread), hammer one bank and ledger in one database file. Afterwards the
 * parent checks every law of DESIGN.md §2 from the answers and through the
 * API (tests/common/stress_run.c), and that the file is sound.
 *
 * usage: stress fused|generic DBPATH
 * Sizes (env, for experiments): SB_STRESS_PROCS (8), SB_STRESS_THREADS (4),
 * SB_STRESS_ITEMS (2000), SB_STRESS_IDS (3000), SB_STRESS_REPEAT (3);
 * SB_TEST_SEED replays a shuffle. */
#include "../common/stress_run.h"

#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The file itself is sound after 32 concurrent writers. */
static void check_file(const char *path)
{
	sqlite3 *db = NULL;
	if (CHECK(NULL, sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	                                NULL) == SQLITE_OK)) {
		sqlite3_stmt *s = NULL;
		CHECK(NULL, sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1,
		                               &s, NULL) == SQLITE_OK);
		CHECK(NULL,
		      s && sqlite3_step(s) == SQLITE_ROW &&
		              strcmp((const char *)sqlite3_column_text(s, 0),
		                     "ok") == 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s fused|generic DBPATH\n", argv[0]);
		return 2;
	}
	st_params p = { .bank = "stress-bank",
		        .ledger = "stress-ledger",
		        .stem = argv[2] };
	if (st_init(&p, "stress", argv[1], 8, 4, 2000, 3000) != 0)
		return 2;
	const char *sfx[] = { "", "-wal", "-shm", "-journal" };
	for (size_t i = 0; i < 4; i++) {
		char *f = t_xasprintf("%s%s", argv[2], sfx[i]);
		unlink(f);
		free(f);
	}
	char *uri = t_xasprintf("sqlite:%s", argv[2]);
	p.uri = uri;
	char **held = st_go(&p, p.uri, NULL, NULL);
	check_file(argv[2]);

	st_free_held(&p, held);
	free(uri);
	st_done(&p);
	return t_summary();
}
