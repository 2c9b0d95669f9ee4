/* SQLite backend: prepared statements. Each SQL of sqlite_sql.c is
 * prepared once per store, on first use (opening a store stays cheap for
 * one-shot callers such as the CLI), and kept until close. */
#include "sqlite_private.h"

int sb_sq_prep(sb_sq_store *s, int id, sqlite3_stmt **out, const char *op)
{
	if (!s->stmt[id]) {
		int rc = sqlite3_prepare_v3(s->db, sb_sq_sql[id], -1,
		                            SQLITE_PREPARE_PERSISTENT,
		                            &s->stmt[id], NULL);
		if (rc != SQLITE_OK) {
			rc = sb_sq_fail(s, rc, op);
			sqlite3_finalize(s->stmt[id]);
			s->stmt[id] = NULL;
			return rc;
		}
	}
	*out = s->stmt[id];
	return SB_OK;
}

/* Reset ends the statement's read snapshot, and clearing the bindings
 * drops the pointers to the caller's strings (bound STATIC). */
void sb_sq_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

void sb_sq_text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Every text column we read is NOT NULL or set with the row's state, so
 * NULL means SQLite ran out of memory converting it. */
const char *sb_sq_col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

int sb_sq_run(sb_sq_store *s, sqlite3_stmt *st, const char *op)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE) {
		rc = sb_sq_fail(s, rc, op);
		sb_sq_done(st);
		return rc;
	}
	sb_sq_done(st);
	return SB_OK;
}
