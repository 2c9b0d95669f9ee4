/* The claim protocol (DESIGN §4): fused when bank and ledger share a store
 * whose backend offers it, generic otherwise. Whatever path runs and
 * wherever a client dies, the state left behind is one that recovery can
 * roll forward. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

char *sb_token_make(const char *ledger, const char *dedup_id)
{
	size_t ll = strlen(ledger), il = strlen(dedup_id);
	char *t = malloc(ll + 1 + il + 1);

	if (!t)
		return NULL;
	memcpy(t, ledger, ll);
	t[ll] = '\n';
	memcpy(t + ll + 1, dedup_id, il + 1);
	return t;
}

int sb_token_split(const char *token, size_t *ledger_len, const char **id)
{
	const char *nl = strchr(token, '\n');

	if (!nl || nl == token || !nl[1])
		return -1;
	*ledger_len = (size_t)(nl - token);
	*id = nl + 1;
	return 0;
}

/* Recovery passes before a claim answers "empty" (see claim()): it needs
 * two in a row that find nothing in flight, and allows two more while
 * passes find something. */
#define SB_EMPTY_PASSES 4
#define SB_QUIET_PASSES 2

static int use_fused(const sb_box *box)
{
	return box->protocol == SB_PROTOCOL_AUTO &&
	       box->bank_store == box->ledger_store &&
	       box->bank_store->ops->claim != NULL;
}

/* Lost the race: the id holds another item. Return ours to the bank. A
 * failure here is not the caller's problem: the item stays reserved (or
 * held, and lapses) and recovery puts it back, so the answer (the other
 * item) stands. */
static void give_back(sb_box *box, const char *bank, const char *item,
                      const char *token, int held)
{
	char keep[SB_ERRMSG_SIZE];

	memcpy(keep, box->errmsg, sizeof(keep));
	if (sb_fault_point(box, SB_FP_BEFORE_PUT_BACK) == 0) {
		if (held)
			(void)sb_slot_move(box, bank, item, token,
			                   SB_STATE_HELD, SB_STATE_AVAILABLE,
			                   0);
		else
			(void)sb_slot_put_back(box, bank, item, token);
	}
	memcpy(box->errmsg, keep, sizeof(keep));
}

/* Pause between two looks at a held item a recovery pass took over. */
#define TWIN_POLL_NS (2 * 1000 * 1000)

/* give_back() of a losing twin's hold, with stamps: only while the item
 * has the deadline @p until this request took it with. Meanwhile the id
 * may have released its item, and a twin request's recovery pass taken
 * this one over to record it for the id (reclaim.c roll_twin(): its
 * deadline one ms later): recorded, it is the id's and stays; if the
 * pass found the id holding another item, it puts the deadline back.
 * So wait for the pass, SB_TAKEOVER_MS at most (one killed there: the
 * item then lapses at its deadline). */
static void give_back_held(sb_box *box, const char *bank, const char *ledger,
                           const char *id, const char *item, const char *token,
                           int64_t until)
{
	const struct timespec nap = { 0, TWIN_POLL_NS };
	int64_t stop = sb_now_ms() + SB_TAKEOVER_MS;
	char keep[SB_ERRMSG_SIZE];
	sb_item *e = NULL;
	int mine;

	memcpy(keep, box->errmsg, sizeof(keep));
	if (sb_fault_point(box, SB_FP_BEFORE_PUT_BACK))
		goto out;
	while (sb_slot_move_if(box, bank, item, token, SB_STATE_HELD,
	                       SB_STATE_AVAILABLE, 0, until) == SB_ECONFLICT) {
		mine = sb_slot_get(box, &e, ledger, id) == SB_OK &&
		       !(e->flags & SB_ITEM_LAPSED) &&
		       strcmp(e->bank, bank) == 0 &&
		       strcmp(e->value, item) == 0;
		sb_item_free(e);
		e = NULL;
		/* Recorded for the id, or no longer held for it at all. */
		if (mine || sb_now_ms() >= stop ||
		    sb_slot_move(box, bank, item, token, SB_STATE_HELD,
		                 SB_STATE_HELD, 0) != SB_OK)
			break;
		nanosleep(&nap, NULL);
	}
out:
	memcpy(box->errmsg, keep, sizeof(keep));
}

/* The id's entry, unless it is a hold that lapsed: then the id holds
 * nothing (SB_ENOTFOUND), and the new entry will replace it. */
static int live_entry(sb_item **out, sb_box *box, const char *ledger,
                      const char *id)
{
	int rc = sb_slot_get(box, out, ledger, id);

	if (rc == SB_OK && ((*out)->flags & SB_ITEM_LAPSED)) {
		sb_item_free(*out);
		*out = NULL;
		rc = SB_ENOTFOUND;
	}
	if (rc == SB_ENOTFOUND)
		sb_clearerr(box);
	return rc;
}

/* The bank had nothing: a twin request may have won the last item just
 * now, so look at the ledger once more before saying so. */
static int empty_or_twin(sb_item **out, sb_box *box, const char *ledger,
                         const char *id)
{
	int rc = live_entry(out, box, ledger, id);
	return rc == SB_ENOTFOUND ? SB_EMPTY : rc;
}

/* DESIGN §4: reserve, record, settle. */
static int generic_claim(sb_item **out, sb_box *box, const char *bank,
                         const char *ledger, const char *id, const char *token)
{
	sb_item *taken = NULL, *existing = NULL;
	int rc;

	rc = live_entry(out, box, ledger, id);
	if (rc != SB_ENOTFOUND)
		return rc; /* SB_OK: a repeat; or an error */

	rc = sb_slot_take(box, &taken, bank, token, sb_now_ms());
	if (rc == SB_EMPTY)
		return empty_or_twin(out, box, ledger, id);
	if (rc)
		return rc;
	if (sb_fault_point(box, SB_FP_AFTER_TAKE)) {
		sb_item_free(taken);
		return SB_ERROR;
	}

	rc = sb_slot_put_if_absent(box, &existing, ledger, id, bank,
	                           taken->value);
	if (rc == SB_OK) {
		if (sb_fault_point(box, SB_FP_AFTER_RECORD)) {
			sb_item_free(taken);
			return SB_ERROR;
		}
		/* The ledger entry is the claim; settle only tidies the bank.
		 * If settling fails the item is still the id's, and recovery
		 * settles it later, so the answer stands. (With stamps, a
		 * bank settles only a reservation no recovery pass took
		 * over: one that a pass took over is the pass's to settle.) */
		(void)sb_slot_settle(box, bank, taken->value, token);
		sb_clearerr(box);
		taken->flags |= SB_ITEM_NEW;
		*out = taken;
		return SB_OK;
	}
	if (rc == SB_ECONFLICT) { /* the entry comes with the conflict */
		give_back(box, bank, taken->value, token, 0);
		sb_item_free(taken);
		sb_clearerr(box);
		*out = existing;
		return SB_OK;
	}
	/* The ledger failed: the reservation stays for recovery. */
	sb_item_free(taken);
	return rc;
}

/* docs/holds.md "Hold": the item goes straight to held(until) at the bank,
 * then the ledger entry with the same deadline. */
static int generic_hold(sb_item **out, sb_box *box, const char *bank,
                        const char *ledger, const char *id, const char *token,
                        int64_t ttl_ms)
{
	sb_item *taken = NULL, *existing = NULL;
	int64_t until;
	int rc;

	rc = live_entry(out, box, ledger, id);
	if (rc != SB_ENOTFOUND)
		return rc;

	until = sb_now_ms() + ttl_ms;
	rc = sb_slot_take_held(box, &taken, bank, token, until);
	if (rc == SB_EMPTY)
		return empty_or_twin(out, box, ledger, id);
	if (rc)
		return rc;
	if (sb_fault_point(box, SB_FP_HOLD_AFTER_TAKE)) {
		sb_item_free(taken);
		return SB_ERROR;
	}

	rc = sb_slot_put_held(box, &existing, ledger, id, bank, taken->value,
	                      until);
	if (rc == SB_ECONFLICT && strcmp(existing->bank, bank) == 0 &&
	    strcmp(existing->value, taken->value) == 0) {
		/* Our own entry (a write retried after a lost answer). */
		sb_item_free(existing);
		existing = NULL;
		rc = SB_OK;
	}
	if (rc == SB_OK) {
		taken->flags |= SB_ITEM_NEW;
		*out = taken;
		return SB_OK;
	}
	if (rc == SB_ECONFLICT) { /* a twin won: its entry is the answer */
		if (sb_stamps_ok(box))
			give_back_held(box, bank, ledger, id, taken->value,
			               token, until);
		else
			give_back(box, bank, taken->value, token, 1);
		sb_item_free(taken);
		sb_clearerr(box);
		*out = existing;
		return SB_OK;
	}
	/* The ledger failed: the item stays held, lapses, and is reclaimed. */
	sb_item_free(taken);
	return rc;
}

static int claim_once(sb_item **out, sb_box *box, const char *bank,
                      const char *ledger, const char *id, const char *token,
                      int64_t ttl_ms)
{
	if (sb_fused_holds(box))
		return sb_slot_hold(box, out, bank, ledger, id, token,
		                    sb_now_ms(), ttl_ms);
	if (ttl_ms)
		return generic_hold(out, box, bank, ledger, id, token, ttl_ms);
	if (use_fused(box))
		return sb_slot_claim(box, out, bank, ledger, id, token,
		                     sb_now_ms());
	return generic_claim(out, box, bank, ledger, id, token);
}

/* sb_box_fetch() (@p ttl_ms 0) and sb_box_hold(), arguments checked. */
static int claim(sb_item **out, sb_box *box, const char *bank,
                 const char *ledger, const char *dedup_id, int64_t ttl_ms)
{
	sb_recover_result rr = { 0 };
	char *token;
	int rc, tries, quiet = 0;

	if (!(token = sb_token_make(ledger, dedup_id)))
		return sb_seterr(box, SB_ENOMEM, "out of memory");

	/* A reservation a pass of this box left unfinished: finished now,
	 * not only when this claim finds the bank empty (recover.c
	 * keep_taken). If it fails again, it stays for the next call. */
	if (box->taken && sb__resume(&rr, box) != SB_OK)
		sb_clearerr(box);
	rc = claim_once(out, box, bank, ledger, dedup_id, token, ttl_ms);
	/* Before saying "sold out", roll forward what is in flight:
	 * reservations past the lease (crashed clients; with the default lease
	 * 0, all of them), any twin of this very request (so both twins give
	 * one answer), lapsed holds, and releases cut short. Then ask once
	 * more: an item may have come back, here or through a racing put
	 * back. While a pass finds something, another client (a twin) may
	 * have taken what it freed: go round again, a few times at most.
	 * One pass that finds nothing is not enough: a losing twin may give
	 * its item back after the bank said "empty" and before the pass
	 * looked, and another id's losing twin take it before the claim
	 * asks again; the bank says "empty" once more, the item in flight.
	 * A second pass, after that answer, finds it. */
	for (tries = 0; rc == SB_EMPTY && tries < SB_EMPTY_PASSES; tries++) {
		box->losers = 0;
		box->in_flight = 0;
		if (sb_fault_point(box, SB_FP_EMPTY_BEFORE_PASS)) {
			rc = SB_ERROR;
			break;
		}
		rc = sb__recover(&rr, box, bank, ledger, box->lease_ms, token,
		                 0);
		if (rc == SB_OK &&
		    sb_fault_point(box, SB_FP_EMPTY_BEFORE_RETAKE))
			rc = SB_ERROR;
		if (rc == SB_OK)
			rc = claim_once(out, box, bank, ledger, dedup_id, token,
			                ttl_ms);
		if (rr.settled | rr.put_back | rr.lapsed | rr.released |
		    box->losers | box->in_flight)
			quiet = 0;
		else if (++quiet == SB_QUIET_PASSES)
			break; /* nothing was in flight: the answer stands */
	}
	/* The last take came after the last pass listed what is in flight:
	 * a twin of this request may have taken an item in between (one
	 * given back after the listing) and not recorded it yet. Answered
	 * "empty" now, the id would hold that item a moment later. So look
	 * once more, after that take, at the id's own reservations and holds
	 * only (rolled forward, as a pass does), then at its entry. */
	if (rc == SB_EMPTY &&
	    (rc = sb__recover_twins(&rr, box, bank, ledger, token)) == SB_OK)
		rc = empty_or_twin(out, box, ledger, dedup_id);
	if (rc == SB_EMPTY_SETTLED)
		rc = SB_EMPTY; /* nothing in flight: no recovery to run */
	free(token);
	if (rc == SB_EMPTY)
		sb_seterr(box, SB_EMPTY, "bank is empty");
	return rc;
}

static int claim_args(sb_item **out, sb_box *box, const char *bank,
                      const char *ledger, const char *dedup_id)
{
	int rc;

	if (!out)
		return box ? sb_seterr(box, SB_EINVALID, "out is NULL")
		           : SB_EINVALID;
	*out = NULL;
	if (!box)
		return SB_EINVALID;
	sb_clearerr(box);
	if ((rc = sb_validate(box, bank, "bank name")) ||
	    (rc = sb_validate(box, ledger, "ledger name")) ||
	    (rc = sb_validate(box, dedup_id, "dedup id")))
		return rc;
	if (!box->bank_store->bank || !box->ledger_store->ledger)
		return sb_seterr(box, SB_ENOTSUPPORTED,
		                 "this store cannot keep both banks and ledgers");
	return SB_OK;
}

int sb_box_fetch(sb_item **out, sb_box *box, const char *bank,
                 const char *ledger, const char *dedup_id)
{
	int rc = claim_args(out, box, bank, ledger, dedup_id);
	return rc ? rc : claim(out, box, bank, ledger, dedup_id, 0);
}

int sb_box_hold(sb_item **out, sb_box *box, const char *bank,
                const char *ledger, const char *dedup_id, int64_t ttl_ms)
{
	int rc = claim_args(out, box, bank, ledger, dedup_id);

	if (rc || (rc = sb_hold_args(box, ledger, dedup_id)))
		return rc;
	if (ttl_ms <= 0 || ttl_ms > SB_MAX_TTL_MS)
		return sb_seterr(box, SB_EINVALID,
		                 "ttl must be 1 ms to 30 days (got %lld ms)",
		                 (long long)ttl_ms);
	return claim(out, box, bank, ledger, dedup_id, ttl_ms);
}
