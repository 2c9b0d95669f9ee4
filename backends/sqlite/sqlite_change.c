/* SQLite backend: the fused change of a hold (confirm, extend, restock,
 * retire), one short BEGIN IMMEDIATE transaction on the id's ledger
 * entry and its item. The entry decides; the item follows it when it is
 * in this file (sb_sq_entry_drop says what happens otherwise). */
#include "sqlite_private.h"

/* States a release takes the item from: whatever the id has it in. */
#define SQ_RELEASE_FROM                                        \
	((1u << SB_SQ_S_RESERVED) | (1u << SB_SQ_S_ASSIGNED) | \
	 (1u << SB_SQ_S_HELD) | (1u << SB_SQ_S_RECLAIMING))

/* Confirm or extend a live hold: the entry's deadline, then the item's
 * state. *wrote = 0 for an entry for good (left as it is). */
static int sq_set_deadline(int *wrote, sb_sq_store *s, const char *ledger,
                           const char *dedup_id, const char *token,
                           sb_item *entry, int64_t deadline, const char *op)
{
	sqlite3_stmt *st = NULL;
	sqlite3_int64 bid;
	int rc, moved;

	*wrote = 0;
	if (sb_item_expires_ms(entry) == 0)
		return SB_OK;
	if ((rc = sb_sq_prep(s, SB_SQ_LEDGER_SET, &st, op)) != SB_OK)
		return rc;
	sb_sq_text(st, 1, ledger);
	sb_sq_text(st, 2, dedup_id);
	sqlite3_bind_int64(st, 3, deadline);
	if ((rc = sb_sq_run(s, st, op)) != SB_OK)
		return rc;
	*wrote = 1;
	sb_item_set_expires(entry, deadline);
	/* A committed bank (see sb_sq_entry_drop). */
	rc = sb_sq_bank_id(s, sb_item_bank(entry), &bid, op);
	if (rc == SB_ENOTFOUND)
		return SB_OK;
	if (rc != SB_OK)
		return rc;
	if (deadline == 0) /* confirm: a reclaim in flight loses */
		return sb_sq_move_id(&moved, s, bid, sb_item_value(entry),
		                     token,
		                     (1u << SB_SQ_S_HELD) |
		                             (1u << SB_SQ_S_RECLAIMING),
		                     SB_SQ_S_ASSIGNED, 0, op);
	return sb_sq_move_id(&moved, s, bid, sb_item_value(entry), token,
	                     1u << SB_SQ_S_HELD, SB_SQ_S_HELD, deadline, op);
}

/* Inside BEGIN IMMEDIATE: *wrote = 1 when it wrote anything. */
static int sq_change_locked(sb_item **out, int *wrote, sb_sq_store *s,
                            const char *ledger, const char *dedup_id,
                            const char *token, unsigned int op, int64_t now_ms,
                            int64_t ttl_ms, const char *name)
{
	sb_item *entry = NULL;
	int rc;

	rc = sb_sq_ledger_find(&entry, s, ledger, dedup_id, now_ms, name);
	if (rc == SB_ENOTFOUND)
		return sb_seterr(s->base.box, SB_ENOTFOUND,
		                 "sqlite: id '%.200s' holds no item in ledger "
		                 "'%.200s' of '%s'",
		                 dedup_id, ledger, s->path);
	if (rc != SB_OK)
		return rc;
	if (SB_SQ_LAPSED_AT(sb_item_expires_ms(entry), now_ms)) {
		/* The deadline decides: too late for anything but the
		 * reclaim, which happens here. */
		*wrote = 1;
		rc = sb_sq_entry_drop(s, ledger, dedup_id, token, entry,
		                      (1u << SB_SQ_S_HELD) |
		                              (1u << SB_SQ_S_RECLAIMING),
		                      SB_SQ_S_AVAILABLE, name);
		sb_item_free(entry);
		return rc == SB_OK ? sb_sq_lapsed_err(s, ledger, dedup_id) : rc;
	}
	if (op == SB_CHANGE_CONFIRM || op == SB_CHANGE_EXTEND) {
		rc = sq_set_deadline(wrote, s, ledger, dedup_id, token, entry,
		                     op == SB_CHANGE_CONFIRM ? 0
		                                             : now_ms + ttl_ms,
		                     name);
		if (rc == SB_OK)
			*out = entry;
		else
			sb_item_free(entry);
		return rc;
	}
	*wrote = 1;
	rc = sb_sq_entry_drop(s, ledger, dedup_id, token, entry,
	                      SQ_RELEASE_FROM,
	                      op == SB_CHANGE_RETIRE ? SB_SQ_S_RETIRED
	                                             : SB_SQ_S_AVAILABLE,
	                      name);
	sb_item_free(entry);
	return rc;
}

int sb_sq_change(sb_item **out, sb_store *base, const char *ledger,
                 const char *dedup_id, const char *token, unsigned int op,
                 int64_t now_ms, int64_t ttl_ms)
{
	static const char *const names[] = {
		[SB_CHANGE_CONFIRM] = "confirm",
		[SB_CHANGE_EXTEND] = "extend",
		[SB_CHANGE_RESTOCK] = "release",
		[SB_CHANGE_RETIRE] = "retire",
	};
	sb_sq_store *s = (sb_sq_store *)base;
	int rc, wrote = 0;

	*out = NULL;
	if (op < SB_CHANGE_CONFIRM || op > SB_CHANGE_RETIRE ||
	    (op == SB_CHANGE_EXTEND && ttl_ms <= 0))
		return sb_seterr(s->base.box, SB_EINVALID,
		                 "sqlite: change: operation %u with ttl %lld ms",
		                 op, (long long)ttl_ms);
	rc = sb_sq_begin(s, names[op]);
	if (rc != SB_OK)
		return rc;
	/* The clock after the wait for the lock: a confirm that waited past
	 * the deadline fails. */
	rc = sq_change_locked(out, &wrote, s, ledger, dedup_id, token, op,
	                      sb_sq_now_locked(now_ms), ttl_ms, names[op]);
	if ((rc == SB_OK || rc == SB_EEXPIRED) && wrote) {
		int crc = sb_sq_commit(s, names[op]);
		rc = crc == SB_OK ? rc : crc;
	} else {
		sb_sq_rollback(s);
	}
	if (rc != SB_OK) {
		sb_item_free(*out);
		*out = NULL;
	}
	return rc;
}
