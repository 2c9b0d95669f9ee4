/* SQLite backend: transactions. Every write transaction starts with
 * BEGIN IMMEDIATE, so it waits for the write lock in the busy handler
 * instead of failing on a lock upgrade. */
#include "sqlite_private.h"

int sb_sq_begin(sb_sq_store *s, const char *op)
{
	sqlite3_stmt *st = NULL;
	int rc = sb_sq_prep(s, SB_SQ_BEGIN, &st, op);

	return rc != SB_OK ? rc : sb_sq_run(s, st, op);
}

/* A failed statement may already have rolled the transaction back
 * (SQLITE_FULL, IOERR, NOMEM): only roll back if one is still open, and
 * keep the first error's message (no sb_sq_prep, which would set one). */
void sb_sq_rollback(sb_sq_store *s)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_get_autocommit(s->db))
		return;
	if (s->stmt[SB_SQ_ROLLBACK] ||
	    sqlite3_prepare_v3(s->db, sb_sq_sql[SB_SQ_ROLLBACK], -1,
	                       SQLITE_PREPARE_PERSISTENT,
	                       &s->stmt[SB_SQ_ROLLBACK], NULL) == SQLITE_OK) {
		st = s->stmt[SB_SQ_ROLLBACK];
		while (sqlite3_step(st) == SQLITE_ROW)
			;
		sqlite3_reset(st);
	}
	if (!sqlite3_get_autocommit(
		    s->db)) /* last resort, never leave it open */
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int sb_sq_commit(sb_sq_store *s, const char *op)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sb_sq_prep(s, SB_SQ_COMMIT, &st, op);
	if (rc == SB_OK)
		rc = sb_sq_run(s, st, op);
	if (rc != SB_OK)
		sb_sq_rollback(s);
	return rc;
}

int64_t sb_sq_now_locked(int64_t now_ms)
{
	int64_t now = sb_now_ms();

	return now > now_ms ? now : now_ms;
}
