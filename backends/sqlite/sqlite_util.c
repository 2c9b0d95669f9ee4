/* SQLite backend: error mapping, prepared statements, transactions and
 * the bank-name cache shared by the repository files. */
#include "sqlite_private.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- errors */

/* Map a SQLite result to an sb_error with a message naming the operation,
 * the file and SQLite's own text. Call before ROLLBACK or reset: they
 * overwrite sqlite3_errmsg(). */
int sb_sq_fail(sb_sq_store *s, int rc, const char *op)
{
	sb_box *box = s->base.box;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return sb_seterr(box, SB_EBUSY,
		                 "sqlite: %s: database '%s' is locked "
		                 "(busy_timeout %d ms)", op, s->path, s->busy_ms);
	case SQLITE_NOMEM:
		return sb_seterr(box, SB_ENOMEM, "sqlite: %s on '%s': out of memory",
		                 op, s->path);
	default:
		if (s->opening)
			return sb_seterr(box, SB_EBACKEND,
			                 "sqlite: cannot open '%s': %s: %s", s->path,
			                 op, sqlite3_errmsg(s->db));
		return sb_seterr(box, SB_EBACKEND, "sqlite: %s failed on '%s': %s",
		                 op, s->path, sqlite3_errmsg(s->db));
	}
}

int sb_sq_nomem(sb_sq_store *s, const char *op)
{
	return sb_seterr(s->base.box, SB_ENOMEM,
	                 "sqlite: %s on '%s': out of memory", op, s->path);
}

int sb_sq_no_bank(sb_sq_store *s, const char *bank)
{
	return sb_seterr(s->base.box, SB_ENOTFOUND,
	                 "sqlite: no bank '%.200s' in '%s'", bank, s->path);
}

/* ------------------------------------------------------------ statements */

/* The statement for @p id, prepared on first use: opening a store stays
 * cheap for one-shot callers such as the CLI. */
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

/* Finish with a statement: reset ends its read snapshot, and clearing the
 * bindings drops the pointers to the caller's strings (bound STATIC). */
void sb_sq_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

void sb_sq_text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Column @p i as text; NULL only if SQLite ran out of memory converting
 * it (every text column we read is NOT NULL or set with the row's state). */
const char *sb_sq_col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* Run a statement that returns no row we need; its error is reported. */
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

/* ---------------------------------------------------------- transactions */

int sb_sq_begin(sb_sq_store *s, const char *op)
{
	sqlite3_stmt *st = NULL;
	int rc = sb_sq_prep(s, SB_SQ_BEGIN, &st, op);

	return rc != SB_OK ? rc : sb_sq_run(s, st, op);
}

/* Undo whatever is open. A failed statement may already have rolled the
 * transaction back (SQLITE_FULL, IOERR, NOMEM): only roll back if one is
 * still open, and keep the first error's message. */
void sb_sq_rollback(sb_sq_store *s)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_get_autocommit(s->db))
		return;
	if (s->stmt[SB_SQ_ROLLBACK] || sqlite3_prepare_v3(s->db,
	        sb_sq_sql[SB_SQ_ROLLBACK], -1, SQLITE_PREPARE_PERSISTENT,
	        &s->stmt[SB_SQ_ROLLBACK], NULL) == SQLITE_OK) {
		st = s->stmt[SB_SQ_ROLLBACK];
		while (sqlite3_step(st) == SQLITE_ROW)
			;
		sqlite3_reset(st);
	}
	if (!sqlite3_get_autocommit(s->db)) /* last resort, never leave it open */
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

/* ------------------------------------------------------------------ banks */

static int sq_cache_find(sb_sq_store *s, const char *bank, sqlite3_int64 *id)
{
	unsigned int i;

	for (i = 0; i < SB_SQ_BANK_CACHE; i++)
		if (s->banks[i].name && strcmp(s->banks[i].name, bank) == 0) {
			*id = s->banks[i].id;
			return 1;
		}
	return 0;
}

/* Only committed ids may enter: a bank created inside a transaction that
 * is later rolled back must not be remembered. Out of memory just means
 * the next lookup asks the database again. */
void sb_sq_cache_put(sb_sq_store *s, const char *bank, sqlite3_int64 id)
{
	sb_sq_bank_slot *slot = &s->banks[s->bank_next];
	char *copy = strdup(bank);

	if (!copy)
		return;
	free(slot->name);
	slot->name = copy;
	slot->id = id;
	s->bank_next = (s->bank_next + 1) % SB_SQ_BANK_CACHE;
}

/* The id of @p bank: SB_OK, SB_ENOTFOUND (no message) or an error. Call it
 * only before this transaction writes anything, so what it caches is
 * committed data. */
int sb_sq_bank_id(sb_sq_store *s, const char *bank, sqlite3_int64 *id,
                      const char *op)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sq_cache_find(s, bank, id))
		return SB_OK;
	if ((rc = sb_sq_prep(s, SB_SQ_BANK_ID, &st, op)) != SB_OK)
		return rc;
	sb_sq_text(st, 1, bank);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		sb_sq_done(st);
		sb_sq_cache_put(s, bank, *id);
		return SB_OK;
	}
	rc = rc == SQLITE_DONE ? SB_ENOTFOUND : sb_sq_fail(s, rc, op);
	sb_sq_done(st);
	return rc;
}

/* Insert the bank (inside the caller's transaction) and return its id. */
int sb_sq_bank_insert(sb_sq_store *s, const char *bank, sqlite3_int64 *id,
                          const char *op)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sb_sq_prep(s, SB_SQ_BANK_CREATE, &st, op)) != SB_OK)
		return rc;
	sb_sq_text(st, 1, bank);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		return sb_sq_run(s, st, op); /* steps to DONE, then resets */
	}
	if (rc == SQLITE_DONE) { /* cannot happen under the write lock */
		sb_sq_done(st);
		return sb_seterr(s->base.box, SB_EBACKEND,
		                 "sqlite: %s: bank '%.200s' appeared in '%s' "
		                 "under the write lock", op, bank, s->path);
	}
	rc = sb_sq_fail(s, rc, op);
	sb_sq_done(st);
	return rc;
}
