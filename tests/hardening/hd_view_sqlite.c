/* hd_inject's view of a SQLite file: a sentinel table beside the box's
 * tables, and every row of sqlite_master. */
#include "hd_inject.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *path;

static char *box_uri(const char *dir)
{
	char *side;

	/* A fresh file each run: the 64 KiB strings would pile up. */
	path = t_xasprintf("%s/hd-inject.db", dir);
	unlink(path);
	side = t_xasprintf("%s-wal", path);
	unlink(side);
	free(side);
	side = t_xasprintf("%s-shm", path);
	unlink(side);
	free(side);
	return t_xasprintf("sqlite:%s?synchronous=normal", path);
}

static sqlite3 *db_open(void)
{
	sqlite3 *db = NULL;

	if (sqlite3_open(path, &db) != SQLITE_OK) {
		fprintf(stderr, "sqlite3_open %s: %s\n", path,
		        sqlite3_errmsg(db));
		exit(1);
	}
	sqlite3_busy_timeout(db, 10000);
	return db;
}

static void exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	CHECKF(NULL, sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK,
	       "%s: %s", sql, err ? err : "?");
	sqlite3_free(err);
}

static void setup(void)
{
	sqlite3 *db = db_open();

	exec(db, "CREATE TABLE IF NOT EXISTS hd_sentinel (k TEXT PRIMARY KEY, "
	         "v TEXT)");
	exec(db, "INSERT OR REPLACE INTO hd_sentinel VALUES ('x', "
	         "'untouched'), ('sb_bank', 'a row named like a table')");
	sqlite3_close(db);
}

static void rows(sqlite3 *db, const char *sql, const char *kind, hd_lines *out)
{
	sqlite3_stmt *st = NULL;

	if (!CHECKF(NULL,
	            sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK,
	            "%s: %s", sql, sqlite3_errmsg(db)))
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *a = sqlite3_column_text(st, 0);
		const unsigned char *b = sqlite3_column_text(st, 1);
		hd_lines_add(out, t_xasprintf("%s %s %s", kind,
		                              a ? (const char *)a : "NULL",
		                              b ? (const char *)b : "NULL"));
	}
	sqlite3_finalize(st);
}

static void fingerprint(hd_lines *out)
{
	sqlite3 *db = db_open();

	rows(db, "SELECT type || ' ' || name, sql FROM sqlite_master", "schema",
	     out);
	rows(db, "SELECT k, v FROM hd_sentinel", "sentinel", out);
	sqlite3_close(db);
}

static void cleanup(void)
{
	free(path);
}

const hd_view hd_view_sqlite = {
	"sqlite", box_uri, setup, fingerprint, cleanup, 64 * 1024,
};
