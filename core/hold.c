/* What an id does with the item it holds (docs/holds.md): confirm, extend,
 * release; and the export of live holds. One atomic step where the store
 * offers it (fused), else the generic order, in which the ledger decides
 * and the bank follows, each step a state recovery rolls forward. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int sb_holds_ok(const sb_box *box)
{
	return box->bank_store->bank && box->ledger_store->ledger &&
	       box->bank_store->bank->version >= 2 &&
	       box->ledger_store->ledger->version >= 2;
}

int sb_fused_holds(const sb_box *box)
{
	const sb_store_ops *o = box->bank_store->ops;

	return box->protocol == SB_PROTOCOL_AUTO &&
	       box->bank_store == box->ledger_store && o->version >= 2 &&
	       o->hold != NULL && sb_holds_ok(box);
}

int sb_hold_args(sb_box *box, const char *ledger, const char *dedup_id)
{
	int rc;

	if ((rc = sb_validate(box, ledger, "ledger name")) ||
	    (rc = sb_validate(box, dedup_id, "dedup id")))
		return rc;
	if (!box->bank_store->bank || !box->ledger_store->ledger)
		return sb_seterr(box, SB_ENOTSUPPORTED,
		                 "this store cannot keep both banks and ledgers");
	if (!sb_holds_ok(box))
		return sb_seterr(box, SB_ENOTSUPPORTED,
		                 "holds need a store that keeps them: the %s "
		                 "backend was built before holds",
		                 box->bank_store->bank->version < 2
		                         ? box->bank_scheme
		                         : box->ledger_scheme);
	return SB_OK;
}

static int check_ttl(sb_box *box, int64_t ttl_ms)
{
	if (ttl_ms <= 0 || ttl_ms > SB_MAX_TTL_MS)
		return sb_seterr(box, SB_EINVALID,
		                 "ttl must be 1 ms to 30 days (got %lld ms)",
		                 (long long)ttl_ms);
	return SB_OK;
}

/* The messages of the two answers every call below shares. */
static int answer(sb_box *box, int rc)
{
	if (rc == SB_ENOTFOUND)
		sb_seterr(box, rc, "id holds no item in this ledger");
	else if (rc == SB_EEXPIRED)
		sb_seterr(box, rc, "the id's hold lapsed: its deadline passed");
	return rc;
}

/* A best-effort step at the bank after the ledger decided: the answer
 * stands whatever it returns (recovery finishes it), so it keeps the
 * box's message as it was. */
static void bank_follows(sb_box *box, const char *bank, const char *item,
                         const char *token, unsigned int from, unsigned int to,
                         int64_t until_ms)
{
	char keep[SB_ERRMSG_SIZE];

	memcpy(keep, box->errmsg, sizeof(keep));
	(void)sb_slot_move(box, bank, item, token, from, to, until_ms);
	memcpy(box->errmsg, keep, sizeof(keep));
}

/* bank_follows() of a release's last step, only while the item carries
 * the release's stamp. */
static void bank_follows_if(sb_box *box, const char *bank, const char *item,
                            const char *token, unsigned int to, int64_t stamp)
{
	char keep[SB_ERRMSG_SIZE];

	memcpy(keep, box->errmsg, sizeof(keep));
	(void)sb_slot_move_if(box, bank, item, token,
	                      SB_STATE_RESTOCKING | SB_STATE_RETIRING, to, 0,
	                      stamp);
	memcpy(box->errmsg, keep, sizeof(keep));
}

/* The bank step of a confirm or an extend, with stamps: only while the
 * item still carries the deadline the id's hold had when the call read
 * it (@p was). Between the ledger step and this one the id may have
 * released the item and held it anew; moving that new hold would settle
 * it for good (the item lost once its entry lapses) or give it this
 * call's later deadline (a lapse hidden from claims until then). A move
 * refused leaves the bank behind the ledger, which a reclaim at the
 * bank's deadline sets right (docs/holds.md "Confirm"). */
static void follow_hold(sb_box *box, const sb_item *was, const char *token,
                        int64_t until_ms)
{
	char keep[SB_ERRMSG_SIZE];

	memcpy(keep, box->errmsg, sizeof(keep));
	(void)sb_slot_move_if(box, was->bank, was->value, token, SB_STATE_HELD,
	                      until_ms ? SB_STATE_HELD : SB_STATE_ASSIGNED,
	                      until_ms, was->expires_ms);
	memcpy(box->errmsg, keep, sizeof(keep));
}

/* Pause between two looks at an item a recovery pass has (it settles a
 * reservation or decides a lapse in a round trip or two). */
#define TAKEOVER_POLL_NS (2 * 1000 * 1000)

typedef struct {
	const char *item, *token;
	unsigned int state; /* 0: neither held nor reclaiming for token */
	int64_t ms;
} bank_look;

static int look_one(const char *item, const char *token, unsigned int state,
                    int64_t ms, void *payload)
{
	bank_look *l = payload;

	if (strcmp(item, l->item) != 0 || strcmp(token, l->token) != 0)
		return 0;
	l->state = state;
	l->ms = ms;
	return 1;
}

/* The bank's state and deadline of @p item for @p token. No bank slot
 * reads one item, so this lists the bank's holds: only for the rare
 * case below. */
static int bank_look_up(sb_box *box, bank_look *l, const char *bank)
{
	int rc;

	l->state = 0;
	l->ms = 0;
	rc = sb_slot_list(box, bank, SB_STATE_HELD | SB_STATE_RECLAIMING,
	                  INT64_MAX, look_one, l);
	return rc == 1 ? SB_OK : rc; /* 1: look_one() found it */
}

/* An extend to an earlier deadline: the bank's copy moves first, so that
 * the bank never holds the item past the ledger's deadline (a bank ahead
 * of its ledger hides a lapsed hold from claims and from recover until
 * the old deadline: law 5). From @p was_ms, the deadline the call read
 * (0: unknown, looked up first); when the bank has another one (it lags: an extend died before its bank
 * step) or a recovery pass is deciding a lapse of it (reclaiming: the
 * pass puts it back to held with the ledger's deadline in a round trip
 * or two), the bank is looked at and the move tried again, SB_TAKEOVER_MS
 * at most (a pass killed there: recover settles it by the ledger). An
 * item no longer held for the id (released, confirmed, reclaimed) has no
 * deadline to move: SB_OK, and the ledger step answers. */
static int bank_not_later(sb_box *box, const char *bank, const char *item,
                          const char *token, int64_t until, int64_t was_ms)
{
	const struct timespec nap = { 0, TAKEOVER_POLL_NS };
	int64_t stop = sb_now_ms() + SB_TAKEOVER_MS;
	bank_look l = { item, token, 0, 0 };
	int rc;

	for (;;) {
		if (was_ms) { /* was_ms == until: only a check */
			rc = sb_slot_move_if(box, bank, item, token,
			                     SB_STATE_HELD, SB_STATE_HELD,
			                     until, was_ms);
			if (rc != SB_ECONFLICT)
				return rc;
		}
		if ((rc = bank_look_up(box, &l, bank)) != SB_OK)
			return rc;
		if (l.state == SB_STATE_HELD && l.ms <= until)
			return SB_OK;
		if (l.state == SB_STATE_HELD)
			was_ms = l.ms;
		else if (l.state != SB_STATE_RECLAIMING)
			return SB_OK;
		if (sb_now_ms() >= stop)
			return SB_OK; /* the pass is taken for dead */
		if (l.state == SB_STATE_RECLAIMING)
			nanosleep(&nap, NULL);
	}
}

/* bank_not_later() after the ledger step, when the bank may be ahead of
 * the entry @p e: from the deadline @p expect_ms the bank should have (0:
 * unknown, look it up). Best effort, since the ledger has answered (a
 * bank left ahead lapses at its own deadline). */
static void bank_settle_ahead(sb_box *box, const sb_item *e, const char *token,
                              int64_t expect_ms)
{
	char keep[SB_ERRMSG_SIZE];

	memcpy(keep, box->errmsg, sizeof(keep));
	(void)bank_not_later(box, e->bank, e->value, token, e->expires_ms,
	                     expect_ms);
	memcpy(box->errmsg, keep, sizeof(keep));
}

/* docs/holds.md "Confirm" and "Extend", generic order: the ledger
 * decides, the bank follows; an extend to an earlier deadline moves the
 * bank first (bank_not_later()). With stamps, the entry is read first for
 * the deadline the bank step checks (one ledger call more). */
static int generic_update(sb_box *box, const char *ledger, const char *id,
                          const char *token, int64_t ttl_ms)
{
	sb_item *was = NULL, *entry = NULL;
	int64_t until;
	int earlier, rc;

	if (sb_stamps_ok(box)) {
		if ((rc = sb_slot_get(box, &was, ledger, id)))
			return rc;
		rc = (was->flags & SB_ITEM_LAPSED) ? SB_EEXPIRED : SB_OK;
		if (rc || !was->expires_ms) { /* for good: it stays so */
			sb_item_free(was);
			return rc;
		}
	}
	until = ttl_ms ? sb_now_ms() + ttl_ms : 0;
	earlier = was && until && until < was->expires_ms;
	if (earlier) {
		rc = bank_not_later(box, was->bank, was->value, token, until,
		                    was->expires_ms);
		if (rc == SB_OK && sb_fault_point(box, SB_FP_EXTEND_AFTER_BANK))
			rc = SB_ERROR;
		if (rc) {
			sb_item_free(was);
			return rc;
		}
	}
	rc = sb_slot_update(box, &entry, ledger, id, until);
	if (rc == SB_OK &&
	    sb_fault_point(box, ttl_ms ? SB_FP_EXTEND_AFTER_LEDGER
	                               : SB_FP_CONFIRM_AFTER_LEDGER))
		rc = SB_ERROR;
	else if (rc == SB_OK && was) {
		/* The entry updated may be a new one of another item. */
		int same = strcmp(was->bank, entry->bank) == 0 &&
		           strcmp(was->value, entry->value) == 0;
		if (same && !earlier)
			follow_hold(box, was, token, until);
		/* The bank may now be ahead of the ledger: a new entry's
		 * item (the id let its item go and took another, or the same
		 * one anew, between the two steps: the update moved that
		 * entry), or this one if a recovery pass read the old
		 * deadline from the ledger and put it back in between. An
		 * earlier deadline is checked first (one bank call), another
		 * item looked up. */
		else if (entry->expires_ms && (earlier || !same))
			bank_settle_ahead(box, entry, token,
			                  same ? entry->expires_ms : 0);
	} else if (rc == SB_OK && !ttl_ms)
		bank_follows(box, entry->bank, entry->value, token,
		             SB_STATE_HELD | SB_STATE_RESERVED,
		             SB_STATE_ASSIGNED, 0);
	else if (rc == SB_OK && entry->expires_ms)
		bank_follows(box, entry->bank, entry->value, token,
		             SB_STATE_HELD, SB_STATE_HELD, until);
	sb_item_free(was);
	sb_item_free(entry);
	return rc;
}

/* confirm (@p ttl_ms 0) and extend, arguments checked. */
static int update(sb_box *box, const char *ledger, const char *dedup_id,
                  int64_t ttl_ms)
{
	sb_item *entry = NULL;
	char *token;
	int rc;

	if (!(token = sb_token_make(ledger, dedup_id)))
		return sb_seterr(box, SB_ENOMEM, "out of memory");
	if (sb_fused_holds(box))
		rc = sb_slot_change(box, &entry, ledger, dedup_id, token,
		                    ttl_ms ? SB_CHANGE_EXTEND
		                           : SB_CHANGE_CONFIRM,
		                    sb_now_ms(), ttl_ms);
	else
		rc = generic_update(box, ledger, dedup_id, token, ttl_ms);
	sb_item_free(entry);
	free(token);
	return answer(box, rc);
}

int sb_box_confirm(sb_box *box, const char *ledger, const char *dedup_id)
{
	int rc;

	if (!box)
		return SB_EINVALID;
	sb_clearerr(box);
	if ((rc = sb_hold_args(box, ledger, dedup_id)))
		return rc;
	return update(box, ledger, dedup_id, 0);
}

int sb_box_extend(sb_box *box, const char *ledger, const char *dedup_id,
                  int64_t ttl_ms)
{
	int rc;

	if (!box)
		return SB_EINVALID;
	sb_clearerr(box);
	if ((rc = sb_hold_args(box, ledger, dedup_id)) ||
	    (rc = check_ttl(box, ttl_ms)))
		return rc;
	return update(box, ledger, dedup_id, ttl_ms);
}

/* Whether the item is this id's but a recovery pass has it: a
 * reservation it took over (stamp not 0; it is about to record the id and
 * settle the item), or a hold whose lapse it is deciding (reclaiming: it
 * removes the entry if lapsed). A release waits for either: taken from
 * under the pass, the item would follow the release while the pass
 * records the id again, or removes the entry that tells the release its
 * hold lapsed (after which it would answer SB_OK for a retire whose item
 * went back). SB_OK: it is; SB_ECONFLICT: not (or no longer). */
static int pass_has(sb_box *box, const char *bank, const char *item,
                    const char *token)
{
	int rc = sb_slot_move(box, bank, item, token, SB_STATE_RESERVED,
	                      SB_STATE_RESERVED, 0);
	if (rc == SB_ECONFLICT)
		rc = sb_slot_move(box, bank, item, token, SB_STATE_RECLAIMING,
		                  SB_STATE_RECLAIMING, 0);
	return rc;
}

/* A release's mark with stamps (docs/holds.md "Stamps"): from any state
 * of this id's while no recovery pass has the item (pass_has()); while
 * one has, the release waits, SB_TAKEOVER_MS at most (a pass killed
 * there), and then takes the item from it. */
static int mark_stamped(sb_box *box, const char *bank, const char *item,
                        const char *token, unsigned int mine, unsigned int mark,
                        int64_t stamp)
{
	const unsigned int pass = SB_STATE_RESERVED | SB_STATE_RECLAIMING;
	const struct timespec nap = { 0, TAKEOVER_POLL_NS };
	int64_t until = sb_now_ms() + SB_TAKEOVER_MS;
	int misses = 0, rc;

	for (;;) {
		rc = sb_slot_move(box, bank, item, token, mine & ~pass, mark,
		                  stamp);
		if (rc == SB_ECONFLICT && (mine & SB_STATE_RESERVED))
			rc = sb_slot_move_if(box, bank, item, token,
			                     SB_STATE_RESERVED, mark, stamp, 0);
		if (rc != SB_ECONFLICT)
			return rc;
		rc = pass_has(box, bank, item, token);
		if (rc == SB_ECONFLICT && misses++)
			return rc; /* not this id's, twice in a row */
		if (rc == SB_ECONFLICT)
			continue; /* the pass may just have let it go: again */
		if (rc)
			return rc;
		misses = 0;
		if (sb_now_ms() >= until)
			return sb_slot_move(box, bank, item, token, mine & pass,
			                    mark, stamp);
		nanosleep(&nap, NULL);
	}
}

/* docs/holds.md "Release", generic order: mark at the bank, remove from
 * the ledger (the release takes effect there), finish at the bank. */
static int generic_release(sb_box *box, const char *ledger, const char *id,
                           const char *token, int retire)
{
	const unsigned int mine = SB_STATE_RESERVED | SB_STATE_HELD |
	                          SB_STATE_ASSIGNED | SB_STATE_RECLAIMING |
	                          SB_STATE_RESTOCKING | SB_STATE_RETIRING;
	unsigned int mark = retire ? SB_STATE_RETIRING : SB_STATE_RESTOCKING;
	unsigned int final = retire ? SB_STATE_RETIRED : SB_STATE_AVAILABLE;
	sb_recover_result rr = { 0 };
	sb_item *e = NULL, *x = NULL;
	/* With stamps, the mark carries one of ours and our last step is
	 * conditional on it: a recovery pass that took the release over
	 * (a new stamp) finishes it, and ours then changes nothing. */
	int64_t stamp = sb_stamps_ok(box) ? sb_stamp_new(0) : 0;
	int marked, rc;

	rc = sb_slot_get(box, &e, ledger, id);
	if (rc)
		return rc;
	if (e->flags & SB_ITEM_LAPSED) {
		/* Too late to give back: the item goes back as a lapse. */
		rc = sb__reclaim_item(&rr, box, e->bank, e->value, token,
		                      SB_STATE_HELD, 0);
		sb_item_free(e);
		return rc ? rc : SB_EEXPIRED;
	}
	if (sb_fault_point(box, SB_FP_RELEASE_AFTER_GET)) {
		rc = SB_ERROR;
		goto out;
	}
	if (stamp)
		rc = mark_stamped(box, e->bank, e->value, token, mine, mark,
		                  stamp);
	else
		rc = sb_slot_move(box, e->bank, e->value, token, mine, mark, 0);
	if (rc && rc != SB_ECONFLICT)
		goto out;
	/* SB_ECONFLICT: the bank does not know the item as this id's (an
	 * entry left by a client that stalled): drop the entry only. */
	marked = rc == SB_OK;
	if (sb_fault_point(box, SB_FP_RELEASE_AFTER_MARK)) {
		rc = SB_ERROR;
		goto out;
	}
	rc = sb_slot_remove(box, &x, ledger, id, e->bank, e->value,
	                    SB_REMOVE_LIVE);
	if (rc == SB_EEXPIRED && marked && stamp && retire &&
	    sb_slot_move_if(box, e->bank, e->value, token, SB_STATE_RETIRING,
	                    SB_STATE_RESTOCKING, stamp, stamp) != SB_OK) {
		/* Lapsed in between, and a recovery pass took the retire
		 * over: it finds the entry lapsed too, restocks, and leaves
		 * the lapsed entry (so that this step reads the lapse). */
		rc = SB_EEXPIRED;
		marked = 0;
	} else if (rc == SB_EEXPIRED) { /* lapsed in between: a reclaim */
		/* (a retire that comes too late does not retire: with
		 * stamps, the mark became restocking first, so that a pass
		 * that takes it over now restocks too) */
		final = SB_STATE_AVAILABLE;
		if ((rc = sb_slot_remove(box, &x, ledger, id, e->bank, e->value,
		                         SB_REMOVE_LAPSED)) == SB_OK ||
		    rc == SB_ENOTFOUND)
			rc = SB_EEXPIRED;
	}
	sb_item_free(x);
	if (rc && rc != SB_ENOTFOUND && rc != SB_EEXPIRED)
		goto out; /* marked: recovery finishes the release */
	if (sb_fault_point(box, SB_FP_RELEASE_AFTER_REMOVE)) {
		rc = SB_ERROR;
		goto out;
	}
	/* SB_ENOTFOUND: a twin release or recovery removed it first; finish
	 * anyway. Our mark stood, so the release is ours: done. */
	if (rc == SB_ENOTFOUND && marked)
		rc = SB_OK;
	if (marked && stamp)
		bank_follows_if(box, e->bank, e->value, token, final, stamp);
	else if (marked)
		bank_follows(box, e->bank, e->value, token,
		             SB_STATE_RESTOCKING | SB_STATE_RETIRING, final, 0);
out:
	sb_item_free(e);
	return rc;
}

int sb_box_release(sb_box *box, const char *ledger, const char *dedup_id,
                   unsigned int flags)
{
	sb_item *entry = NULL;
	char *token;
	int rc;

	if (!box)
		return SB_EINVALID;
	sb_clearerr(box);
	if ((rc = sb_hold_args(box, ledger, dedup_id)))
		return rc;
	if (flags & ~SB_RELEASE_RETIRE)
		return sb_seterr(box, SB_EINVALID,
		                 "release flags: unknown bits 0x%x",
		                 flags & ~SB_RELEASE_RETIRE);
	if (!(token = sb_token_make(ledger, dedup_id)))
		return sb_seterr(box, SB_ENOMEM, "out of memory");
	if (sb_fused_holds(box))
		rc = sb_slot_change(box, &entry, ledger, dedup_id, token,
		                    (flags & SB_RELEASE_RETIRE)
		                            ? SB_CHANGE_RETIRE
		                            : SB_CHANGE_RESTOCK,
		                    sb_now_ms(), 0);
	else
		rc = generic_release(box, ledger, dedup_id, token,
		                     (flags & SB_RELEASE_RETIRE) != 0);
	sb_item_free(entry);
	free(token);
	return answer(box, rc);
}

int sb_box_export_holds(sb_box *box, const char *ledger, sb_export_hold_cb cb,
                        void *payload)
{
	int rc;

	if (!box)
		return SB_EINVALID;
	sb_clearerr(box);
	if (!cb)
		return sb_seterr(box, SB_EINVALID, "export callback is NULL");
	if ((rc = sb_validate(box, ledger, "ledger name")))
		return rc;
	if (!box->ledger_store->ledger)
		return sb_seterr(box, SB_ENOTSUPPORTED,
		                 "this store keeps no ledgers");
	if (box->ledger_store->ledger->version < 2)
		return SB_OK; /* built before holds: it has none */
	return sb_slot_export_holds(box, ledger, cb, payload);
}
