/* SQLite backend: lapsed holds reclaimed inside a write transaction (the
 * fused steps' shared part), and the fused reclaim slot. */
#include "sqlite_private.h"

#include <stdlib.h>
#include <string.h>

/* Rows reclaimed per transaction by sb_sq_reclaim, so that a backlog of
 * lapsed holds never keeps the write lock for long. */
#define SQ_RECLAIM_BATCH 256

int sb_sq_entry_drop(sb_sq_store *s, const char *ledger, const char *dedup_id,
                     const char *token, const sb_item *entry, unsigned int from,
                     int to, const char *op)
{
	sqlite3_stmt *st = NULL;
	sqlite3_int64 bid;
	int rc, moved;

	if ((rc = sb_sq_prep(s, SB_SQ_LEDGER_DELETE, &st, op)) != SB_OK)
		return rc;
	sb_sq_text(st, 1, ledger);
	sb_sq_text(st, 2, dedup_id);
	if ((rc = sb_sq_run(s, st, op)) != SB_OK)
		return rc;
	/* The bank exists committed (nothing here creates banks), so its id
	 * may be looked up, and cached, after this write. A bank that is not
	 * in this file (the entry was written by a fetch across two stores)
	 * has its own recovery: the item there is held or assigned by a
	 * token whose entry is gone. */
	rc = sb_sq_bank_id(s, sb_item_bank(entry), &bid, op);
	if (rc == SB_ENOTFOUND)
		return SB_OK;
	if (rc != SB_OK)
		return rc;
	return sb_sq_move_id(&moved, s, bid, sb_item_value(entry), token, from,
	                     to, 0, op);
}

/* The bank's held row that lapsed first by @p now_ms: SB_OK with copies
 * of its item and token (free them), SB_EMPTY, or an error. */
static int sq_lapsed_row(char **item, char **token, sb_sq_store *s,
                         sqlite3_int64 bid, int64_t now_ms, const char *op)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*item = *token = NULL;
	if ((rc = sb_sq_prep(s, SB_SQ_HELD_LAPSED, &st, op)) != SB_OK)
		return rc;
	sqlite3_bind_int64(st, 1, bid);
	sqlite3_bind_int64(st, 2, now_ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *i = sb_sq_col(st, 0), *t = sb_sq_col(st, 1);
		*item = i ? strdup(i) : NULL;
		*token = t ? strdup(t) : NULL;
		rc = *item && *token ? SB_OK : sb_sq_nomem(s, op);
	} else {
		rc = rc == SQLITE_DONE ? SB_EMPTY : sb_sq_fail(s, rc, op);
	}
	sb_sq_done(st);
	if (rc != SB_OK) {
		free(*item);
		free(*token);
		*item = *token = NULL;
	}
	return rc;
}

/* Settle one lapsed row (item, token) of the bank by its ledger entry,
 * which decides (the item's deadline is only a copy): the entry lapsed,
 * or there is none of this item (a hold whose entry was never written or
 * was replaced): entry deleted, item available, *freed = 1. The entry is
 * live (extended, or confirmed, by a path that updates the ledger first):
 * the item follows it and stays out. */
static int sq_settle_row(int *freed, sb_sq_store *s, sqlite3_int64 bid,
                         const char *bank, const char *item, const char *token,
                         int64_t now_ms, const char *op)
{
	const char *lf = strchr(token, '\n');
	sb_item *entry = NULL;
	char *ledger = NULL;
	int rc = SB_ENOTFOUND, moved;
	int64_t deadline;

	*freed = 0;
	if (lf) { /* the core's token: ledger LF id (backend.h) */
		ledger = strndup(token, (size_t)(lf - token));
		if (!ledger)
			return sb_sq_nomem(s, op);
		rc = sb_sq_ledger_find(&entry, s, ledger, lf + 1, now_ms, op);
		if (rc == SB_OK && (strcmp(sb_item_value(entry), item) != 0 ||
		                    strcmp(sb_item_bank(entry), bank) != 0))
			rc = SB_ENOTFOUND; /* the id holds another item */
	}
	if (rc == SB_OK) {
		deadline = sb_item_expires_ms(entry);
		if (SB_SQ_LAPSED_AT(deadline, now_ms)) {
			rc = sb_sq_entry_drop(s, ledger, lf + 1, token, entry,
			                      1u << SB_SQ_S_HELD,
			                      SB_SQ_S_AVAILABLE, op);
			*freed = rc == SB_OK;
		} else {
			rc = sb_sq_move_id(&moved, s, bid, item, token,
			                   1u << SB_SQ_S_HELD,
			                   deadline ? SB_SQ_S_HELD
			                            : SB_SQ_S_ASSIGNED,
			                   deadline, op);
		}
	} else if (rc == SB_ENOTFOUND) {
		rc = sb_sq_move_id(&moved, s, bid, item, token,
		                   1u << SB_SQ_S_HELD, SB_SQ_S_AVAILABLE, 0,
		                   op);
		*freed = rc == SB_OK;
	}
	sb_item_free(entry);
	free(ledger);
	return rc;
}

int sb_sq_reclaim_one(sb_sq_store *s, sqlite3_int64 bid, const char *bank,
                      int64_t now_ms, const char *op)
{
	char *item, *token;
	int rc, freed = 0;

	/* Each round takes one row out of the range (available, assigned,
	 * or held until a later deadline): the loop ends. */
	while (!freed) {
		rc = sq_lapsed_row(&item, &token, s, bid, now_ms, op);
		if (rc != SB_OK)
			return rc;
		rc = sq_settle_row(&freed, s, bid, bank, item, token, now_ms,
		                   op);
		free(item);
		free(token);
		if (rc != SB_OK)
			return rc;
	}
	return SB_OK;
}

int sb_sq_reclaim(uint64_t *n, sb_store *base, const char *bank, int64_t now_ms)
{
	sb_sq_store *s = (sb_sq_store *)base;
	sqlite3_int64 bid;
	int rc, i;

	*n = 0;
	rc = sb_sq_bank_id(s, bank, &bid, "reclaim");
	if (rc == SB_ENOTFOUND)
		return sb_sq_no_bank(s, bank);
	do {
		if (rc == SB_OK)
			rc = sb_sq_begin(s, "reclaim");
		if (rc != SB_OK)
			return rc;
		now_ms = sb_sq_now_locked(now_ms);
		for (i = 0; i < SQ_RECLAIM_BATCH && rc == SB_OK; i++)
			rc = sb_sq_reclaim_one(s, bid, bank, now_ms, "reclaim");
		if (rc == SB_OK || rc == SB_EMPTY) {
			int crc = sb_sq_commit(s, "reclaim");
			if (crc != SB_OK)
				return crc;
			*n += (uint64_t)(rc == SB_OK ? i : i - 1);
		} else {
			sb_sq_rollback(s);
			return rc;
		}
	} while (rc == SB_OK);
	return SB_OK;
}
