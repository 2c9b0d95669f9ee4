/* SQLite backend: the fused claim, one short BEGIN IMMEDIATE transaction. */
#include "sqlite_private.h"

/* Crash points (fault builds): just before the claim commits (rolled
 * back), and after it committed, before the caller sees the item (the id
 * holds it, a repeat returns it). */
#define SB_SQ_FAULT_CLAIM      "sqlite_claim_before_commit"
#define SB_SQ_FAULT_CLAIM_DONE "sqlite_claim_after_commit"

/* What the claim answers when the bank has no available item: also tell
 * the core whether anything is reserved (same transaction, one seek in the
 * partial index); if not, it skips its before-empty recovery pass. */
static int sq_empty_kind(sb_sq_store *s, sqlite3_int64 bid, const char *op)
{
	sqlite3_stmt *st = NULL;
	int rc, any;

	if ((rc = sb_sq_prep(s, SB_SQ_ANY_RESERVED, &st, op)) != SB_OK)
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

/* Inside BEGIN IMMEDIATE. *fresh = 1 when it wrote a new assignment. */
static int sq_claim_locked(sb_item **out, int *fresh, sb_sq_store *s,
                           const char *bank, const char *ledger,
                           const char *dedup_id, const char *token,
                           int64_t now_ms)
{
	sqlite3_int64 bid;
	int rc, stored = 0;

	/* A twin request may have won between our first look and the lock. */
	rc = sb_sq_ledger_find(out, s, ledger, dedup_id, "claim");
	if (rc != SB_ENOTFOUND)
		return rc;
	rc = sb_sq_bank_id(s, bank, &bid, "claim");
	if (rc == SB_ENOTFOUND)
		return sb_sq_no_bank(s, bank);
	if (rc != SB_OK)
		return rc;
	rc = sb_sq_take_one(out, s, SB_SQ_TAKE_ASSIGN, bid, bank, token, now_ms,
	                    "claim");
	if (rc == SB_EMPTY)
		return sq_empty_kind(s, bid, "claim");
	if (rc != SB_OK)
		return rc;
	*fresh = 1;
	rc = sb_sq_ledger_insert(&stored, s, ledger, dedup_id, bank,
	                         sb_item_value(*out), "claim");
	if (rc == SB_OK && !stored) /* we hold the write lock and looked */
		rc = sb_seterr(s->base.box, SB_EBACKEND,
		               "sqlite: claim: ledger entry appeared in '%s' "
		               "under the write lock",
		               s->path);
	return rc;
}

int sb_sq_claim(sb_item **out, sb_store *base, const char *bank,
                const char *ledger, const char *dedup_id, const char *token,
                int64_t now_ms)
{
	sb_sq_store *s = (sb_sq_store *)base;
	int rc, fresh = 0;

	/* Autocommit read first: repeat requests never take the write lock. */
	rc = sb_sq_ledger_find(out, s, ledger, dedup_id, "claim");
	if (rc != SB_ENOTFOUND)
		return rc;
	rc = sb_sq_begin(s, "claim");
	if (rc != SB_OK)
		return rc;
	rc = sq_claim_locked(out, &fresh, s, bank, ledger, dedup_id, token,
	                     now_ms);
	if (rc == SB_OK && fresh) {
		if (sb_fault_point(s->base.box, SB_SQ_FAULT_CLAIM)) {
			sb_seterr(s->base.box, SB_ERROR,
			          "sqlite: claim: injected fault at crash point "
			          "'%s' (rolled back)",
			          SB_SQ_FAULT_CLAIM);
			rc = SB_ERROR;
			sb_sq_rollback(s);
		} else if ((rc = sb_sq_commit(s, "claim")) == SB_OK &&
		           sb_fault_point(s->base.box, SB_SQ_FAULT_CLAIM_DONE)) {
			rc = sb_seterr(s->base.box, SB_ERROR,
			               "sqlite: claim: "
			               "injected fault at crash point '%s' "
			               "(committed)",
			               SB_SQ_FAULT_CLAIM_DONE);
		}
	} else {
		sb_sq_rollback(s); /* nothing written, or a failure */
	}
	if (rc != SB_OK) {
		sb_item_free(*out);
		*out = NULL;
	}
	return rc;
}
