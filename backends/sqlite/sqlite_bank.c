/* SQLite backend: the bank (item repository) slots. */
#include "sqlite_private.h"

#include <string.h>

/* Insert the bank (inside the caller's transaction) and return its id. */
static int sq_bank_insert(sb_sq_store *s, const char *bank, sqlite3_int64 *id,
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
		                 "under the write lock",
		                 op, bank, s->path);
	}
	rc = sb_sq_fail(s, rc, op);
	sb_sq_done(st);
	return rc;
}

static int sq_add_items(sb_sq_store *s, sqlite3_int64 bid,
                        const char *const *items, size_t n, uint64_t *added,
                        uint64_t *skipped)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc;

	if ((rc = sb_sq_prep(s, SB_SQ_ITEM_ADD, &st, "add")) != SB_OK)
		return rc;
	for (i = 0; i < n; i++) {
		sqlite3_bind_int64(st, 1, bid);
		sb_sq_text(st, 2, items[i]);
		rc = sb_sq_run(s, st, "add");
		if (rc != SB_OK)
			return rc;
		/* ON CONFLICT DO NOTHING: 0 changes = already held or a repeat */
		if (sqlite3_changes(s->db) > 0)
			(*added)++;
		else
			(*skipped)++;
	}
	return SB_OK;
}

static int sq_add(uint64_t *added, uint64_t *skipped, sb_store *base,
                  const char *bank, const char *const *items, size_t n)
{
	sb_sq_store *s = (sb_sq_store *)base;
	sqlite3_int64 bid = 0;
	int rc, created = 0;

	*added = *skipped = 0;
	rc = sb_sq_begin(s, "add");
	if (rc != SB_OK)
		return rc;
	rc = sb_sq_bank_id(s, bank, &bid, "add");
	if (rc == SB_ENOTFOUND) {
		rc = sq_bank_insert(s, bank, &bid, "add");
		created = 1;
	}
	if (rc == SB_OK)
		rc = sq_add_items(s, bid, items, n, added, skipped);
	if (rc == SB_OK)
		rc = sb_sq_commit(s, "add");
	else
		sb_sq_rollback(s);
	if (rc != SB_OK) {
		*added = *skipped = 0;
		return rc;
	}
	if (created)
		sb_sq_cache_put(s, bank, bid);
	return SB_OK;
}

/* One statement, so in autocommit mode it is atomic on its own. @p ms is
 * the since of a reservation or assignment, the deadline of a hold. */
int sb_sq_take_one(sb_item **out, sb_sq_store *s, int stmt, sqlite3_int64 bid,
                   const char *bank, const char *token, int64_t ms,
                   const char *op)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sb_sq_prep(s, stmt, &st, op)) != SB_OK)
		return rc;
	sqlite3_bind_int64(st, 1, bid);
	sb_sq_text(st, 2, token);
	sqlite3_bind_int64(st, 3, ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sb_sq_done(st);
		return SB_EMPTY;
	}
	if (rc != SQLITE_ROW) {
		rc = sb_sq_fail(s, rc, op);
		sb_sq_done(st);
		return rc;
	}
	if (sb_sq_col(st, 0))
		*out = sb_item_newn(sb_sq_col(st, 0),
		                    (size_t)sqlite3_column_bytes(st, 0), bank,
		                    strlen(bank), SB_ITEM_NEW);
	/* Step to DONE even without memory: in autocommit mode that commits,
	 * and the item must not stay half-taken. */
	rc = sb_sq_run(s, st, op);
	if (rc == SB_OK && !*out)
		rc = sb_sq_nomem(s, op);
	if (rc != SB_OK) {
		sb_item_free(*out);
		*out = NULL;
	}
	return rc;
}

static int sq_take(sb_item **out, sb_store *base, const char *bank,
                   const char *token, int64_t now_ms)
{
	sb_sq_store *s = (sb_sq_store *)base;
	sqlite3_int64 bid;
	int rc;

	*out = NULL;
	rc = sb_sq_bank_id(s, bank, &bid, "take");
	if (rc == SB_ENOTFOUND)
		return sb_sq_no_bank(s, bank);
	if (rc != SB_OK)
		return rc;
	return sb_sq_take_one(out, s, SB_SQ_TAKE_RESERVE, bid, bank, token,
	                      now_ms, "take");
}

/* settle and put_back: one conditional UPDATE on (bank, item, token);
 * no row changed means the item is not in the expected state. */
static int sq_bank_cond(sb_sq_store *s, int stmt, const char *bank,
                        const char *item, const char *token, const char *op)
{
	sqlite3_stmt *st = NULL;
	sqlite3_int64 bid;
	int rc;

	rc = sb_sq_bank_id(s, bank, &bid, op);
	if (rc == SB_OK) {
		if ((rc = sb_sq_prep(s, stmt, &st, op)) != SB_OK)
			return rc;
		sqlite3_bind_int64(st, 1, bid);
		sb_sq_text(st, 2, item);
		sb_sq_text(st, 3, token);
		rc = sb_sq_run(s, st, op);
		if (rc != SB_OK)
			return rc;
		if (sqlite3_changes(s->db) > 0)
			return SB_OK;
	} else if (rc != SB_ENOTFOUND) {
		return rc;
	}
	return sb_seterr(s->base.box, SB_ECONFLICT,
	                 "sqlite: %s: item '%.200s' of bank '%.200s' in '%s' is "
	                 "not reserved for this token",
	                 op, item, bank, s->path);
}

static int sq_settle(sb_store *base, const char *bank, const char *item,
                     const char *token)
{
	return sq_bank_cond((sb_sq_store *)base, SB_SQ_SETTLE, bank, item,
	                    token, "settle");
}

static int sq_put_back(sb_store *base, const char *bank, const char *item,
                       const char *token)
{
	return sq_bank_cond((sb_sq_store *)base, SB_SQ_PUT_BACK, bank, item,
	                    token, "put back");
}

static int sq_count(sb_bank_counts *out, sb_store *base, const char *bank)
{
	sb_sq_store *s = (sb_sq_store *)base;
	sqlite3_stmt *st = NULL;
	sqlite3_int64 bid;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = sb_sq_bank_id(s, bank, &bid, "count");
	if (rc == SB_ENOTFOUND)
		return sb_sq_no_bank(s, bank);
	if (rc != SB_OK)
		return rc;
	if ((rc = sb_sq_prep(s, SB_SQ_COUNT, &st, "count")) != SB_OK)
		return rc;
	sqlite3_bind_int64(st, 1, bid);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = sb_sq_fail(s, rc == SQLITE_DONE ? SQLITE_ERROR : rc,
		                "count");
		sb_sq_done(st);
		return rc;
	}
	/* One statement, one snapshot: the counts are consistent. Releases
	 * in flight count as reserved (recovery finishes them). */
	out->available = (uint64_t)sqlite3_column_int64(st, 0);
	out->reserved = (uint64_t)sqlite3_column_int64(st, 1) +
	                (uint64_t)sqlite3_column_int64(st, 4);
	out->on_hold = (uint64_t)sqlite3_column_int64(st, 2) +
	               (uint64_t)sqlite3_column_int64(st, 5);
	out->retired = (uint64_t)sqlite3_column_int64(st, 3);
	out->assigned = (uint64_t)sqlite3_column_int64(st, 6) - out->available -
	                out->reserved - out->on_hold - out->retired;
	sb_sq_done(st);
	return SB_OK;
}

static int sq_reserved(sb_store *base, const char *bank, int64_t older_than_ms,
                       sb_reservation_cb cb, void *payload)
{
	sb_sq_store *s = (sb_sq_store *)base;
	sqlite3_stmt *st = NULL;
	sqlite3_int64 bid;
	int rc, stop = 0;

	rc = sb_sq_bank_id(s, bank, &bid, "list reservations");
	if (rc == SB_ENOTFOUND)
		return sb_sq_no_bank(s, bank);
	if (rc != SB_OK)
		return rc;
	rc = sb_sq_prep(s, SB_SQ_RESERVED, &st, "list reservations");
	if (rc != SB_OK)
		return rc;
	sqlite3_bind_int64(st, 1, bid);
	sqlite3_bind_int64(st, 2, older_than_ms);
	/* The callback runs while the read snapshot is open: it must not call
	 * back into the store (contract), and WAL lets writers go on. */
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *item = sb_sq_col(st, 0), *token = sb_sq_col(st, 1);
		if (!item || !token)
			stop = sb_sq_nomem(s, "list reservations");
		else
			stop = cb(item, token, sqlite3_column_int64(st, 2),
			          payload);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = sb_sq_fail(s, rc, "list reservations");
	sb_sq_done(st);
	return stop;
}

static int sq_create(sb_store *base, const char *bank)
{
	sb_sq_store *s = (sb_sq_store *)base;
	sqlite3_stmt *st = NULL;
	sqlite3_int64 bid;
	int rc;

	rc = sb_sq_bank_id(s, bank, &bid, "create bank");
	if (rc != SB_ENOTFOUND)
		return rc;
	/* Autocommit: ON CONFLICT DO NOTHING makes a racing creator harmless. */
	rc = sb_sq_prep(s, SB_SQ_BANK_CREATE, &st, "create bank");
	if (rc != SB_OK)
		return rc;
	sb_sq_text(st, 1, bank);
	return sb_sq_run(s, st, "create bank");
}

const sb_bank_ops sb_sq_bank_ops = {
	.version = SB_BANK_OPS_VERSION,
	.add_max = 0, /* no limit: one transaction takes any batch */
	.add = sq_add,
	.take = sq_take,
	.settle = sq_settle,
	.put_back = sq_put_back,
	.count = sq_count,
	.reserved = sq_reserved,
	.create = sq_create,
	.take_held = sb_sq_take_held,
	.move = sb_sq_move,
	.list = sb_sq_list,
	.move_if = sb_sq_move_if,
};
