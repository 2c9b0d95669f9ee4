/* SQLite backend: the bank slots of version 2 (holds): take_held, move,
 * list; and of version 3 (stamps): move_if. States are sqlite_sql.h's numbers, with SB_STATE_* == 1 << state,
 * so a set of states is tested in SQL as ((1 << state) & set). */
#include "sqlite_private.h"

int sb_sq_take_held(sb_item **out, sb_store *base, const char *bank,
                    const char *token, int64_t until_ms)
{
	sb_sq_store *s = (sb_sq_store *)base;
	sqlite3_int64 bid;
	int rc;

	*out = NULL;
	rc = sb_sq_bank_id(s, bank, &bid, "take held");
	if (rc == SB_ENOTFOUND)
		return sb_sq_no_bank(s, bank);
	if (rc != SB_OK)
		return rc;
	rc = sb_sq_take_one(out, s, SB_SQ_TAKE_HELD, bid, bank, token, until_ms,
	                    "take held");
	if (rc == SB_OK)
		sb_item_set_expires(*out, until_ms);
	return rc;
}

/* The state number of a single SB_STATE_* bit, or -1. */
static int sq_state_of(unsigned int bit)
{
	int n;

	for (n = SB_SQ_S_AVAILABLE; n <= SB_SQ_S_RECLAIMING; n++)
		if (bit == 1u << n)
			return n;
	return -1;
}

/* SB_SQ_ITEM_MOVE, or SB_SQ_ITEM_MOVE_IF with @p expect (the stamp). */
static int sq_move_stmt(int *moved, sb_sq_store *s, sqlite3_int64 bid,
                        const char *item, const char *token, unsigned int from,
                        int to, int64_t until_ms, const int64_t *expect,
                        const char *op)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*moved = 0;
	rc = sb_sq_prep(s, expect ? SB_SQ_ITEM_MOVE_IF : SB_SQ_ITEM_MOVE, &st,
	                op);
	if (rc != SB_OK)
		return rc;
	sqlite3_bind_int64(st, 1, bid);
	sb_sq_text(st, 2, item);
	sb_sq_text(st, 3, token);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)from);
	sqlite3_bind_int(st, 5, to);
	sqlite3_bind_int64(st, 6, until_ms);
	if (expect)
		sqlite3_bind_int64(st, 7, *expect);
	rc = sb_sq_run(s, st, op);
	*moved = rc == SB_OK && sqlite3_changes(s->db) > 0;
	return rc;
}

int sb_sq_move_id(int *moved, sb_sq_store *s, sqlite3_int64 bid,
                  const char *item, const char *token, unsigned int from,
                  int to, int64_t until_ms, const char *op)
{
	return sq_move_stmt(moved, s, bid, item, token, from, to, until_ms,
	                    NULL, op);
}

/* move, and move_if when @p expect is set: one UPDATE, so one atomic
 * step in autocommit mode. */
static int sq_move(sb_store *base, const char *bank, const char *item,
                   const char *token, unsigned int from, unsigned int to,
                   int64_t until_ms, const int64_t *expect, const char *op)
{
	/* An item already in @p to with this token is moved too (its
	 * deadline or stamp), but for a reservation (backend.h). */
	const unsigned int again = to & ~SB_STATE_RESERVED;
	sb_sq_store *s = (sb_sq_store *)base;
	sqlite3_int64 bid;
	int rc, state = sq_state_of(to), moved = 0;

	if (state < 0 || (from & ~0xffu))
		return sb_seterr(s->base.box, SB_EINVALID,
		                 "sqlite: %s: states %#x -> %#x are not "
		                 "states of an item",
		                 op, from, to);
	rc = sb_sq_bank_id(s, bank, &bid, op);
	if (rc == SB_OK)
		rc = sq_move_stmt(&moved, s, bid, item, token, from | again,
		                  state, until_ms, expect, op);
	if (rc != SB_OK && rc != SB_ENOTFOUND)
		return rc;
	if (moved)
		return SB_OK;
	if (expect)
		return sb_seterr(s->base.box, SB_ECONFLICT,
		                 "sqlite: %s: item '%.200s' of bank '%.200s' in "
		                 "'%s' is not in states %#x for this token with "
		                 "stamp %lld",
		                 op, item, bank, s->path, from,
		                 (long long)*expect);
	return sb_seterr(s->base.box, SB_ECONFLICT,
	                 "sqlite: %s: item '%.200s' of bank '%.200s' in '%s' "
	                 "is not in states %#x for this token",
	                 op, item, bank, s->path, from);
}

int sb_sq_move(sb_store *base, const char *bank, const char *item,
               const char *token, unsigned int from, unsigned int to,
               int64_t until_ms)
{
	return sq_move(base, bank, item, token, from, to, until_ms, NULL,
	               "move");
}

int sb_sq_move_if(sb_store *base, const char *bank, const char *item,
                  const char *token, unsigned int from, unsigned int to,
                  int64_t until_ms, int64_t expect_ms)
{
	return sq_move(base, bank, item, token, from, to, until_ms, &expect_ms,
	               "move_if");
}

int sb_sq_list(sb_store *base, const char *bank, unsigned int states,
               int64_t until_le, sb_bank_item_cb cb, void *payload)
{
	sb_sq_store *s = (sb_sq_store *)base;
	sqlite3_stmt *st = NULL;
	sqlite3_int64 bid;
	int rc, stop = 0;

	rc = sb_sq_bank_id(s, bank, &bid, "list");
	if (rc == SB_ENOTFOUND)
		return sb_sq_no_bank(s, bank);
	if (rc != SB_OK)
		return rc;
	if ((rc = sb_sq_prep(s, SB_SQ_ITEM_LIST, &st, "list")) != SB_OK)
		return rc;
	sqlite3_bind_int64(st, 1, bid);
	sqlite3_bind_int64(st, 2, until_le);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)states);
	/* As sq_reserved: the callback runs inside the read snapshot and
	 * must not call back into the store. */
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *item = sb_sq_col(st, 0), *token = sb_sq_col(st, 1);
		int state = sqlite3_column_int(st, 2);
		if (!item || !token)
			stop = sb_sq_nomem(s, "list");
		else
			stop = cb(item, token, 1u << state,
			          sqlite3_column_int64(st, 3), payload);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = sb_sq_fail(s, rc, "list");
	sb_sq_done(st);
	return stop;
}
