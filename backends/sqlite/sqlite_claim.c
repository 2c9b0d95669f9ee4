/* SQLite backend: the fused hold (and the claim, a hold for good), one
 * short BEGIN IMMEDIATE transaction. */
#include "sqlite_private.h"

/* Crash points (fault builds): just before the claim or hold commits
 * (rolled back), and after it committed, before the caller sees the item
 * (the id holds it, a repeat returns it). */
#define SB_SQ_FAULT_CLAIM      "sqlite_claim_before_commit"
#define SB_SQ_FAULT_CLAIM_DONE "sqlite_claim_after_commit"

/* What the hold answers when the bank has no available item and no lapsed
 * hold: also tell the core whether an item can still come back (reserved,
 * restocking, reclaiming; same transaction, a seek in two partial
 * indexes); if not, it skips its before-empty recovery pass. */
static int sq_empty_kind(sb_sq_store *s, sqlite3_int64 bid, const char *op)
{
	sqlite3_stmt *st = NULL;
	int rc, any;

	if ((rc = sb_sq_prep(s, SB_SQ_ANY_INFLIGHT, &st, op)) != SB_OK)
		return rc;
	sqlite3_bind_int64(st, 1, bid);
	rc = sqlite3_step(st);
	any = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	rc = any < 0 ? sb_sq_fail(s, rc, op)
	     : any   ? SB_EMPTY
	             : SB_EMPTY_SETTLED;
	sb_sq_done(st);
	return rc;
}

/* Take the bank's first available item for the id; with none, reclaim
 * the bank's first lapsed hold and take that. */
static int sq_take(sb_item **out, sb_sq_store *s, sqlite3_int64 bid,
                   const char *bank, const char *token, int64_t now_ms,
                   int64_t deadline, const char *op)
{
	int stmt = deadline ? SB_SQ_TAKE_HELD : SB_SQ_TAKE_ASSIGN;
	int64_t ms = deadline ? deadline : now_ms;
	int rc;

	rc = sb_sq_take_one(out, s, stmt, bid, bank, token, ms, op);
	if (rc != SB_EMPTY)
		return rc;
	/* The common path ends above: holds cost it nothing. */
	rc = sb_sq_reclaim_one(s, bid, bank, now_ms, op);
	if (rc == SB_OK)
		rc = sb_sq_take_one(out, s, stmt, bid, bank, token, ms, op);
	return rc == SB_EMPTY ? sq_empty_kind(s, bid, op) : rc;
}

/* Inside BEGIN IMMEDIATE. *fresh = 1 when it wrote. */
static int sq_hold_locked(sb_item **out, int *fresh, sb_sq_store *s,
                          const char *bank, const char *ledger,
                          const char *dedup_id, const char *token,
                          int64_t now_ms, int64_t ttl_ms, const char *op)
{
	int64_t deadline = ttl_ms ? now_ms + ttl_ms : 0;
	sqlite3_int64 bid;
	int rc, stored = 0;

	/* A twin request may have won between our first look and the lock. */
	rc = sb_sq_ledger_find(out, s, ledger, dedup_id, now_ms, op);
	if (rc == SB_OK && !SB_SQ_LAPSED_AT(sb_item_expires_ms(*out), now_ms))
		return SB_OK;
	if (rc == SB_OK) { /* lapsed: the id holds nothing; reclaim it */
		*fresh = 1;
		rc = sb_sq_entry_drop(s, ledger, dedup_id, token, *out,
		                      (1u << SB_SQ_S_HELD) |
		                              (1u << SB_SQ_S_RECLAIMING),
		                      SB_SQ_S_AVAILABLE, op);
		sb_item_free(*out);
		*out = NULL;
		if (rc != SB_OK)
			return rc;
	} else if (rc != SB_ENOTFOUND) {
		return rc;
	}
	/* A bank seen before this transaction wrote (see sb_sq_bank_id). */
	rc = sb_sq_bank_id(s, bank, &bid, op);
	if (rc == SB_ENOTFOUND)
		return sb_sq_no_bank(s, bank);
	if (rc != SB_OK)
		return rc;
	rc = sq_take(out, s, bid, bank, token, now_ms, deadline, op);
	if (rc != SB_OK)
		return rc;
	*fresh = 1;
	sb_item_set_expires(*out, deadline);
	rc = sb_sq_ledger_insert(&stored, s, SB_SQ_LEDGER_PUT, ledger, dedup_id,
	                         bank, sb_item_value(*out), deadline, op);
	if (rc == SB_OK && !stored) /* we hold the write lock and looked */
		rc = sb_seterr(s->base.box, SB_EBACKEND,
		               "sqlite: %s: ledger entry appeared in '%s' "
		               "under the write lock",
		               op, s->path);
	return rc;
}

/* Commit what the hold wrote, through the crash points. */
static int sq_hold_commit(sb_sq_store *s, const char *op)
{
	int rc;

	if (sb_fault_point(s->base.box, SB_SQ_FAULT_CLAIM)) {
		sb_seterr(s->base.box, SB_ERROR,
		          "sqlite: %s: injected fault at crash point '%s' "
		          "(rolled back)",
		          op, SB_SQ_FAULT_CLAIM);
		sb_sq_rollback(s);
		return SB_ERROR;
	}
	rc = sb_sq_commit(s, op);
	if (rc == SB_OK && sb_fault_point(s->base.box, SB_SQ_FAULT_CLAIM_DONE))
		rc = sb_seterr(s->base.box, SB_ERROR,
		               "sqlite: %s: injected fault at crash point '%s' "
		               "(committed)",
		               op, SB_SQ_FAULT_CLAIM_DONE);
	return rc;
}

int sb_sq_hold(sb_item **out, sb_store *base, const char *bank,
               const char *ledger, const char *dedup_id, const char *token,
               int64_t now_ms, int64_t ttl_ms)
{
	sb_sq_store *s = (sb_sq_store *)base;
	const char *op = ttl_ms ? "hold" : "claim";
	int rc, fresh = 0;

	*out = NULL;
	if (ttl_ms < 0)
		return sb_seterr(s->base.box, SB_EINVALID,
		                 "sqlite: hold: ttl %lld ms is negative",
		                 (long long)ttl_ms);
	/* Autocommit read first: repeat requests never take the write lock. */
	rc = sb_sq_ledger_find(out, s, ledger, dedup_id, now_ms, op);
	if (rc == SB_OK && !SB_SQ_LAPSED_AT(sb_item_expires_ms(*out), now_ms))
		return SB_OK;
	sb_item_free(*out);
	*out = NULL;
	if (rc != SB_OK && rc != SB_ENOTFOUND)
		return rc;
	rc = sb_sq_begin(s, op);
	if (rc != SB_OK)
		return rc;
	/* The clock after the wait for the lock: no hold is judged by a
	 * time that has passed. */
	rc = sq_hold_locked(out, &fresh, s, bank, ledger, dedup_id, token,
	                    sb_sq_now_locked(now_ms), ttl_ms, op);
	if (rc == SB_OK && fresh)
		rc = sq_hold_commit(s, op);
	else if (rc == SB_EMPTY || rc == SB_EMPTY_SETTLED) {
		/* Keep what was settled on the way: the id's lapsed entry,
		 * bank copies of deadlines brought in line with the ledger.
		 * (A commit that wrote nothing costs no sync.) */
		int crc = sb_sq_commit(s, op);
		rc = crc == SB_OK ? rc : crc;
	} else {
		sb_sq_rollback(s); /* nothing written, or a failure */
	}
	if (rc != SB_OK) {
		sb_item_free(*out);
		*out = NULL;
	}
	return rc;
}

int sb_sq_claim(sb_item **out, sb_store *base, const char *bank,
                const char *ledger, const char *dedup_id, const char *token,
                int64_t now_ms)
{
	return sb_sq_hold(out, base, bank, ledger, dedup_id, token, now_ms, 0);
}
