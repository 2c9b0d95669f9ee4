/* SQLite backend: the connection of a store, set up for the slots. */
#include "sqlite_private.h"

/* sb_now(): the store's clock in SQL (sqlite_sql.h), read when a
 * statement runs, so a write that waited for the lock judges deadlines by
 * the time it runs, not the time it was bound. */
static void sq_now_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	(void)argv;
	sqlite3_result_int64(ctx, sb_now_ms());
}

int sb_sq_connect(sb_sq_store *s, int sync_full)
{
	int rc = sqlite3_open_v2(s->path, &s->db,
	                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                                 SQLITE_OPEN_NOMUTEX,
	                         NULL);

	if (rc != SQLITE_OK) {
		if (!s->db || (rc & 0xff) == SQLITE_NOMEM)
			return sb_sq_nomem(s, "open");
		return sb_seterr(s->base.box, SB_EBACKEND,
		                 "sqlite: cannot open '%s': %s", s->path,
		                 sqlite3_errmsg(s->db));
	}
	/* SQLITE_OPEN_READWRITE quietly falls back to read-only on a
	 * write-protected file: refuse now rather than at the first claim. */
	if (sqlite3_db_readonly(s->db, "main") == 1)
		return sb_seterr(s->base.box, SB_EBACKEND,
		                 "sqlite: cannot open '%s': the file is read-only",
		                 s->path);
	sqlite3_extended_result_codes(s->db, 1);
	/* DIRECTONLY: never from the schema (a view or trigger in a file
	 * opened by another program must not call it). */
	rc = sqlite3_create_function_v2(s->db, SB_SQ_NOW_FN, 0,
	                                SQLITE_UTF8 | SQLITE_DIRECTONLY, NULL,
	                                sq_now_fn, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sb_sq_fail(s, rc, "register sb_now()");
	/* Before anything touches the file, so every later step waits for a
	 * lock instead of failing at once. */
	sb_sq_busy_install(s);
	rc = sb_sq_exec_retry(s, "PRAGMA journal_mode=WAL", NULL,
	                      "set WAL mode");
	if (rc == SB_OK)
		rc = sb_sq_exec_retry(s,
		                      sync_full ? "PRAGMA synchronous=FULL"
		                                : "PRAGMA synchronous=NORMAL",
		                      NULL, "set synchronous");
	if (rc == SB_OK)
		rc = sb_sq_schema(s);
	return rc;
}
