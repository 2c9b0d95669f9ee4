/* SQLite backend: the ledger (deduplication repository) slots of version
 * 1, on entries that carry a deadline (sqlite_hold_ledger.c has the slots
 * of version 2). Whether a hold has lapsed is judged by sb_now_ms(): in C
 * for what was read, in SQL (sb_now()) for what a statement writes. */
#include "sqlite_private.h"

#include <string.h>

int sb_sq_ledger_find(sb_item **out, sb_sq_store *s, const char *ledger,
                      const char *dedup_id, int64_t now_ms, const char *op)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = NULL;
	if ((rc = sb_sq_prep(s, SB_SQ_LEDGER_GET, &st, op)) != SB_OK)
		return rc;
	sb_sq_text(st, 1, ledger);
	sb_sq_text(st, 2, dedup_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = sb_sq_entry_row(out, s, st, 0, now_ms, op);
	else if (rc == SQLITE_DONE)
		rc = SB_ENOTFOUND;
	else
		rc = sb_sq_fail(s, rc, op);
	sb_sq_done(st);
	return rc;
}

/* Columns @p col (bank), col + 1 (item), col + 2 (deadline) of a row. */
int sb_sq_entry_row(sb_item **out, sb_sq_store *s, sqlite3_stmt *st, int col,
                    int64_t now_ms, const char *op)
{
	const char *bank = sb_sq_col(st, col), *item = sb_sq_col(st, col + 1);
	int64_t deadline = sqlite3_column_int64(st, col + 2);

	if (bank && item)
		*out = sb_item_newn(item,
		                    (size_t)sqlite3_column_bytes(st, col + 1),
		                    bank, (size_t)sqlite3_column_bytes(st, col),
		                    SB_SQ_LAPSED_AT(deadline, now_ms)
		                            ? SB_ITEM_LAPSED
		                            : 0);
	if (!*out)
		return sb_sq_nomem(s, op);
	sb_item_set_expires(*out, deadline);
	return SB_OK;
}

static int sq_get(sb_item **out, sb_store *base, const char *ledger,
                  const char *dedup_id)
{
	sb_sq_store *s = (sb_sq_store *)base;
	int rc = sb_sq_ledger_find(out, s, ledger, dedup_id, sb_now_ms(),
	                           "ledger get");

	if (rc == SB_ENOTFOUND)
		sb_seterr(s->base.box, SB_ENOTFOUND,
		          "sqlite: id '%.200s' holds no item in ledger '%.200s' "
		          "of '%s'",
		          dedup_id, ledger, s->path);
	return rc;
}

int sb_sq_ledger_insert(int *stored, sb_sq_store *s, int stmt,
                        const char *ledger, const char *dedup_id,
                        const char *bank, const char *item, int64_t deadline,
                        const char *op)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sb_sq_prep(s, stmt, &st, op)) != SB_OK)
		return rc;
	sb_sq_text(st, 1, ledger);
	sb_sq_text(st, 2, dedup_id);
	sb_sq_text(st, 3, bank);
	sb_sq_text(st, 4, item);
	sqlite3_bind_int64(st, 5, deadline);
	rc = sb_sq_run(s, st, op);
	*stored = rc == SB_OK && sqlite3_changes(s->db) > 0;
	return rc;
}

/* Entries change now (released, confirmed, lapsed and replaced), so an
 * insert that lost and the read that follows may see two states: a read
 * that finds nothing, or a lapsed entry (that the next insert replaces),
 * tries again. Each round that fails saw another writer succeed. */
#define SQ_PUT_ROUNDS 16

int sb_sq_ledger_put(sb_item **existing, sb_sq_store *s, const char *ledger,
                     const char *dedup_id, const char *bank, const char *item,
                     int64_t deadline, const char *op)
{
	sb_item *have = NULL;
	int rc, stored = 0, round;

	*existing = NULL;
	for (round = 0; round < SQ_PUT_ROUNDS; round++) {
		rc = sb_sq_ledger_insert(&stored, s, SB_SQ_LEDGER_UPSERT,
		                         ledger, dedup_id, bank, item, deadline,
		                         op);
		if (rc != SB_OK || stored)
			return rc;
		rc = sb_sq_ledger_find(&have, s, ledger, dedup_id, sb_now_ms(),
		                       op);
		if (rc == SB_ENOTFOUND)
			continue;
		if (rc != SB_OK)
			return rc;
		if (!SB_SQ_LAPSED_AT(sb_item_expires_ms(have), sb_now_ms())) {
			*existing = have;
			return SB_ECONFLICT;
		}
		sb_item_free(have);
		have = NULL;
	}
	return sb_seterr(s->base.box, SB_EBUSY,
	                 "sqlite: %s: the entry of id '%.200s' in ledger "
	                 "'%.200s' of '%s' changed %d times in a row",
	                 op, dedup_id, ledger, s->path, SQ_PUT_ROUNDS);
}

static int sq_put_if_absent(sb_item **existing, sb_store *base,
                            const char *ledger, const char *dedup_id,
                            const char *bank, const char *item)
{
	sb_sq_store *s = (sb_sq_store *)base;
	int rc;

	rc = sb_sq_ledger_put(existing, s, ledger, dedup_id, bank, item, 0,
	                      "ledger put");
	if (rc != SB_ECONFLICT)
		return rc;
	if (strcmp(sb_item_value(*existing), item) == 0 &&
	    strcmp(sb_item_bank(*existing), bank) == 0) {
		sb_item_free(*existing);
		*existing = NULL;
		return SB_OK;
	}
	return sb_seterr(s->base.box, SB_ECONFLICT,
	                 "sqlite: id '%.200s' already holds another item in "
	                 "ledger '%.200s'",
	                 dedup_id, ledger);
}

/* Entries for good only (a hold is not an assignment yet). */
static int sq_export(sb_store *base, const char *ledger, sb_ledger_entry_cb cb,
                     void *payload)
{
	sb_sq_store *s = (sb_sq_store *)base;
	sqlite3_stmt *st = NULL;
	int rc, stop = 0;

	if ((rc = sb_sq_prep(s, SB_SQ_LEDGER_EXPORT, &st, "export")) != SB_OK)
		return rc;
	sb_sq_text(st, 1, ledger);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = sb_sq_col(st, 0), *bank = sb_sq_col(st, 1),
			   *item = sb_sq_col(st, 2);
		if (!id || !bank || !item)
			stop = sb_sq_nomem(s, "export");
		else
			stop = cb(id, bank, item, payload);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = sb_sq_fail(s, rc, "export");
	sb_sq_done(st);
	return stop;
}

/* Entries for good and live holds. */
static int sq_count(uint64_t *out, sb_store *base, const char *ledger,
                    const char *bank)
{
	sb_sq_store *s = (sb_sq_store *)base;
	sqlite3_stmt *st = NULL;
	int rc;

	*out = 0;
	rc = sb_sq_prep(s, SB_SQ_LEDGER_COUNT, &st, "ledger count");
	if (rc != SB_OK)
		return rc;
	sb_sq_text(st, 1, ledger);
	sb_sq_text(st, 2, bank);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = (uint64_t)sqlite3_column_int64(st, 0);
		rc = SB_OK;
	} else {
		rc = sb_sq_fail(s, rc == SQLITE_DONE ? SQLITE_ERROR : rc,
		                "ledger count");
	}
	sb_sq_done(st);
	return rc;
}

const sb_ledger_ops sb_sq_ledger_ops = {
	.version = SB_LEDGER_OPS_VERSION,
	.get = sq_get,
	.put_if_absent = sq_put_if_absent,
	.export = sq_export,
	.count = sq_count,
	.create = NULL, /* ledgers are rows, not objects */
	.put_held = sb_sq_put_held,
	.update = sb_sq_update,
	.remove = sb_sq_remove,
	.export_holds = sb_sq_export_holds,
};
