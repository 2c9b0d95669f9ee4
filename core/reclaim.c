/* Recovery of holds on the generic path (docs/holds.md): lapsed holds go
 * back to the bank, releases and reclaims that a dead client cut short are
 * finished, and held items whose ledger entry became permanent are settled.
 * The ledger decides each one; the bank follows, every move conditional on
 * (item, token), so a live client and recovery may race without harm. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	char *item, *token;
	unsigned int state;
	int64_t ms;
} bank_item;

typedef struct {
	bank_item *v;
	size_t n, cap;
	int oom;
} item_list;

static int collect(const char *item, const char *token, unsigned int state,
                   int64_t ms, void *payload)
{
	item_list *l = payload;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		bank_item *nv = realloc(l->v, cap * sizeof(*nv));
		if (!nv) {
			l->oom = 1;
			return 1;
		}
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n].item = strdup(item);
	l->v[l->n].token = strdup(token);
	l->v[l->n].state = state;
	l->v[l->n].ms = ms;
	if (!l->v[l->n].item || !l->v[l->n].token) {
		free(l->v[l->n].item);
		free(l->v[l->n].token);
		l->oom = 1;
		return 1;
	}
	l->n++;
	return 0;
}

static void free_list(item_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].item);
		free(l->v[i].token);
	}
	free(l->v);
}

/* A move recovery makes: SB_ECONFLICT means someone else moved the item
 * first, which is fine. */
static int follow(sb_box *box, const char *bank, const char *item,
                  const char *token, unsigned int from, unsigned int to,
                  int64_t until_ms, uint64_t *count)
{
	int rc = sb_slot_move(box, bank, item, token, from, to, until_ms);

	if (rc == SB_OK && count)
		(*count)++;
	return rc == SB_ECONFLICT ? SB_OK : rc;
}

/* The mark a pass puts on a held item it reclaims (docs/holds.md
 * "Reclaim", step 1), where the bank keeps stamps: its own, so that only
 * the pass that marked the item last moves it on. A stamp's low 40 bits
 * (the time of the mark modulo 3 days, a counter, the recovery bit):
 * never 0 (which keeps a deadline), and below 2^40 ms (2004), so never a
 * deadline this library wrote: a mark cannot be mistaken for a hold's
 * deadline, nor a deadline for a mark. Small enough for a double too,
 * where a store keeps a reclaiming item's deadline as one (Redis). */
static int64_t reclaim_mark(void)
{
	return sb_stamp_new(1) & ((INT64_C(1) << 40) - 1);
}

/* follow() for the pass that marked the item with @p mark (0: no
 * stamps, an unconditional move as before); SB_ECONFLICT when another
 * pass has the item now (or it moved on). A pass that another took the
 * item from must not move it: its ledger read may be stale, and a move
 * to held also applies to an item already held (backend.h): an extend
 * may have set the deadline since (tests/holdrace/hr_mix.c found a pass
 * putting back a ten-minute deadline the id had shortened, the entry
 * already removed as lapsed by another pass: the item hidden from every
 * claim for ten minutes, then given to the id again). */
static int follow_mark(sb_box *box, const char *bank, const char *item,
                       const char *token, unsigned int to, int64_t until_ms,
                       int64_t mark, uint64_t *count)
{
	int rc;

	if (!mark)
		return follow(box, bank, item, token, SB_STATE_RECLAIMING, to,
		              until_ms, count);
	rc = sb_slot_move_if(box, bank, item, token, SB_STATE_RECLAIMING, to,
	                     until_ms, mark);
	if (rc == SB_OK && count)
		(*count)++;
	return rc;
}

/* The ledger name and id a token names, the ledger name copied. */
static int token_parts(char **ledger, const char **id, const char *token)
{
	size_t llen;

	*ledger = NULL;
	if (sb_token_split(token, &llen, id))
		return -1;
	if (!(*ledger = malloc(llen + 1)))
		return SB_ENOMEM;
	memcpy(*ledger, token, llen);
	(*ledger)[llen] = '\0';
	return 0;
}

/* A release taken over by this pass (its @p stamp on the item) whose
 * hold lapsed before the release's ledger step: the release did not take
 * effect, and the item goes back as a lapse (a retire that comes too late
 * does not retire). The lapsed entry stays in the ledger (it counts as
 * absent; the id's next hold replaces it): the release's client, if it
 * still runs, reads the lapse from it at its own ledger step and answers
 * SB_EEXPIRED. Removed here, the client would find no entry, take its
 * release for done and answer SB_OK for an item the bank hands out again.
 * A retire becomes a restock first, so that a pass that takes over after
 * a crash here restocks too, whatever the ledger says by then. */
static int lapsed_release(sb_recover_result *out, sb_box *box, const char *bank,
                          const char *item, const char *token,
                          unsigned int state, int64_t stamp)
{
	int rc = SB_OK;

	if (state == SB_STATE_RETIRING)
		rc = sb_slot_move_if(box, bank, item, token, SB_STATE_RETIRING,
		                     SB_STATE_RESTOCKING, stamp, stamp);
	if (rc == SB_OK)
		rc = sb_slot_move_if(box, bank, item, token,
		                     SB_STATE_RESTOCKING, SB_STATE_AVAILABLE, 0,
		                     stamp);
	if (rc == SB_OK)
		out->lapsed++;
	return rc == SB_ECONFLICT ? SB_OK : rc;
}

/* A release that a client started (docs/holds.md "Release"): roll it
 * forward, if it is still the one listed. What was listed may be over,
 * and the id may hold the item anew: that entry must stay. With stamps,
 * the pass first takes the release over (a stamp of its own, only if
 * the item still carries the one listed): from then on no one else
 * finishes it, so the item cannot be handed out again, to this id or
 * another, before this pass has removed the entry, and the entry it
 * removes is the released one. Without stamps, a check at the bank
 * (the same state and token) comes just before the ledger step, which
 * leaves a window: docs/holds.md says which. */
static int finish_release(sb_recover_result *out, sb_box *box, const char *bank,
                          const char *ledger, const char *id, const char *item,
                          const char *token, unsigned int state, int64_t listed)
{
	unsigned int final = state == SB_STATE_RETIRING ? SB_STATE_RETIRED
	                                                : SB_STATE_AVAILABLE;
	int64_t stamp = sb_stamps_ok(box) ? sb_stamp_new(1) : 0;
	sb_item *entry = NULL;
	int rc;

	if (stamp)
		rc = sb_slot_move_if(box, bank, item, token, state, state,
		                     stamp, listed);
	else
		rc = sb_slot_move(box, bank, item, token, state, state, 0);
	if (rc == SB_ECONFLICT)
		return SB_OK; /* over, or another pass took it over */
	if (rc)
		return rc;
	if (sb_fault_point(box, SB_FP_RECOVER_RELEASE_AFTER_CHECK))
		return SB_ERROR;
	if (!stamp) {
		rc = sb_slot_remove(box, &entry, ledger, id, bank, item,
		                    SB_REMOVE_ANY);
		sb_item_free(entry);
		if (rc != SB_OK && rc != SB_ENOTFOUND)
			return rc;
		return follow(box, bank, item, token, state, final, 0,
		              &out->released);
	}
	rc = sb_slot_remove(box, &entry, ledger, id, bank, item,
	                    SB_REMOVE_LIVE);
	sb_item_free(entry);
	if (rc == SB_EEXPIRED)
		return lapsed_release(out, box, bank, item, token, state,
		                      stamp);
	if (rc != SB_OK && rc != SB_ENOTFOUND)
		return rc;
	rc = sb_slot_move_if(box, bank, item, token, state, final, 0, stamp);
	if (rc == SB_OK)
		out->released++;
	return rc == SB_ECONFLICT ? SB_OK : rc;
}

/* After a reclaim found the hold live and moved the bank back to held
 * with the deadline @p set_ms the ledger had then: an extend to an
 * earlier deadline may have moved the ledger since, and fixed the bank
 * before this move landed (a move to held also applies to an item
 * already held: backend.h), which would leave the bank ahead of the
 * ledger, hiding the lapse (docs/holds.md "Extend"). So ask the ledger
 * again, and go back to its deadline if that is earlier. */
static int not_ahead(sb_box *box, const char *bank, const char *item,
                     const char *token, const char *ledger, const char *id,
                     int64_t set_ms)
{
	sb_item *e = NULL;
	int rc = sb_slot_get(box, &e, ledger, id);

	if (rc == SB_ENOTFOUND) {
		sb_clearerr(box);
		return SB_OK;
	}
	if (rc)
		return rc;
	if (e->expires_ms > 0 && e->expires_ms < set_ms &&
	    strcmp(e->bank, bank) == 0 && strcmp(e->value, item) == 0)
		rc = sb_slot_move_if(box, bank, item, token, SB_STATE_HELD,
		                     SB_STATE_HELD, e->expires_ms, set_ms);
	sb_item_free(e);
	return rc == SB_ECONFLICT ? SB_OK : rc;
}

int sb__reclaim_item(sb_recover_result *out, sb_box *box, const char *bank,
                     const char *item, const char *token, unsigned int state,
                     int64_t until_ms)
{
	sb_item *entry = NULL;
	/* Where the bank keeps stamps, this pass's own mark: every move
	 * after it is conditional on it (follow_mark()). */
	int64_t mark = sb_stamps_ok(box) ? reclaim_mark() : 0;
	char *ledger;
	const char *id;
	int rc;

	if ((rc = token_parts(&ledger, &id, token)) == SB_ENOMEM)
		return sb_seterr(box, SB_ENOMEM, "out of memory");
	if (rc) { /* not a token the core made: not ours to touch */
		out->foreign++;
		return SB_OK;
	}
	switch (state) {
	case SB_STATE_HELD: /* a lapsed hold: mark it, then ask the ledger */
		/* Listed with its deadline @p until_ms: where the bank keeps
		 * stamps, only that hold, not one the same id took anew since
		 * (each backend also refuses a deadline still ahead). */
		rc = until_ms > 0 && mark
		             ? sb_slot_move_if(box, bank, item, token,
		                               SB_STATE_HELD,
		                               SB_STATE_RECLAIMING, mark,
		                               until_ms)
		             : sb_slot_move(box, bank, item, token,
		                            SB_STATE_HELD, SB_STATE_RECLAIMING,
		                            mark);
		if (rc == SB_ECONFLICT) { /* someone else moved it first */
			rc = SB_OK;
			break;
		}
		if (rc)
			break;
		if (sb_fault_point(box, SB_FP_RECLAIM_AFTER_MARK)) {
			rc = SB_ERROR;
			break;
		}
		goto decide;
	case SB_STATE_RECLAIMING:
		/* Listed, perhaps long ago: only if the item still is that
		 * reclaim (a release waits for one, so from here on it
		 * cannot become a release whose lapsed entry, which tells
		 * the release its hold lapsed, this step would remove). */
		rc = until_ms > 0 && mark
		             ? sb_slot_move_if(box, bank, item, token,
		                               SB_STATE_RECLAIMING,
		                               SB_STATE_RECLAIMING, mark,
		                               until_ms)
		             : sb_slot_move(box, bank, item, token,
		                            SB_STATE_RECLAIMING,
		                            SB_STATE_RECLAIMING, mark);
		if (rc == SB_ECONFLICT) {
			rc = SB_OK;
			break;
		}
		if (rc)
			break;
		if (sb_fault_point(box, SB_FP_RECLAIM_AFTER_TAKEOVER)) {
			rc = SB_ERROR;
			break;
		}
decide:
		rc = sb_slot_remove(box, &entry, ledger, id, bank, item,
		                    SB_REMOVE_LAPSED);
		if ((rc == SB_OK || rc == SB_ENOTFOUND || rc == SB_ECONFLICT) &&
		    sb_fault_point(box, SB_FP_RECLAIM_AFTER_LEDGER)) {
			rc = SB_ERROR;
			break;
		}
		if (rc == SB_OK || rc == SB_ENOTFOUND)
			rc = follow_mark(box, bank, item, token,
			                 SB_STATE_AVAILABLE, 0, mark,
			                 &out->lapsed);
		else if (rc == SB_ECONFLICT && entry->expires_ms) {
			/* Extended: the ledger's deadline is the one. */
			rc = follow_mark(box, bank, item, token, SB_STATE_HELD,
			                 entry->expires_ms, mark, NULL);
			if (rc == SB_OK && mark)
				rc = not_ahead(box, bank, item, token, ledger,
				               id, entry->expires_ms);
		} else if (rc == SB_ECONFLICT) /* confirmed */
			rc = follow_mark(box, bank, item, token,
			                 SB_STATE_ASSIGNED, 0, mark,
			                 &out->settled);
		if (rc == SB_ECONFLICT) /* another pass has it now */
			rc = SB_OK;
		break;
	case SB_STATE_RESTOCKING:
	case SB_STATE_RETIRING:
		rc = finish_release(out, box, bank, ledger, id, item, token,
		                    state, until_ms);
		break;
	default: rc = SB_OK;
	}
	sb_item_free(entry);
	free(ledger);
	return rc;
}

/* The ledger entry of the id that the token of @p b names (SB_ENOTFOUND
 * when there is none, or the token names no id). */
static int entry_of(sb_item **entry, sb_box *box, const bank_item *b)
{
	char *ledger;
	const char *id;
	int rc;

	*entry = NULL;
	if ((rc = token_parts(&ledger, &id, b->token)) == SB_ENOMEM)
		return sb_seterr(box, SB_ENOMEM, "out of memory");
	if (rc)
		return SB_ENOTFOUND;
	rc = sb_slot_get(box, entry, ledger, id);
	free(ledger);
	return rc;
}

/* A live hold in the bank: if its ledger entry became permanent (a
 * confirm that died before the bank followed), settle it. */
static int settle_confirmed(sb_recover_result *out, sb_box *box,
                            const char *bank, const bank_item *b)
{
	sb_item *entry = NULL;
	int rc = entry_of(&entry, box, b);

	if (rc == SB_OK && entry->expires_ms == 0 &&
	    strcmp(entry->bank, bank) == 0 &&
	    strcmp(entry->value, b->item) == 0 && sb_stamps_ok(box)) {
		/* Only the hold listed: since the read, the id may have
		 * released the item and held it anew (as follow_hold() in
		 * hold.c). */
		rc = sb_slot_move_if(box, bank, b->item, b->token,
		                     SB_STATE_HELD, SB_STATE_ASSIGNED, 0,
		                     b->ms);
		if (rc == SB_OK)
			out->settled++;
		else if (rc == SB_ECONFLICT)
			rc = SB_OK;
	} else if (rc == SB_OK && entry->expires_ms == 0 &&
	           strcmp(entry->bank, bank) == 0 &&
	           strcmp(entry->value, b->item) == 0)
		rc = follow(box, bank, b->item, b->token, SB_STATE_HELD,
		            SB_STATE_ASSIGNED, 0, &out->settled);
	else if (rc == SB_ENOTFOUND || rc == SB_OK)
		rc = SB_OK;
	sb_item_free(entry);
	return rc;
}

/* Whether a token was made for @p ledger. */
static int for_ledger(const char *token, const char *ledger)
{
	size_t llen;
	const char *id;

	return sb_token_split(token, &llen, &id) == 0 &&
	       strlen(ledger) == llen && memcmp(token, ledger, llen) == 0;
}

/* A live hold taken for @p own (a twin of the caller's request, between
 * take_held and put_held, or one that died there): record it for the id
 * with the deadline the bank has, as recovery records a reservation, so
 * both twins give one answer. With stamps the pass first takes the item
 * over (its deadline one ms later, only if it still has the one listed),
 * so that it never records an item the twin is giving back at that
 * moment: the twin's give-back is conditional on the deadline it took
 * the item with (core/claim.c give_back()). If the id holds another item,
 * this one is a losing twin's: the pass puts the deadline back and leaves
 * the item to its client (which may yet record it, if the id releases its
 * item first) or to its deadline. @p own: the caller's own twin, which
 * counts as settled when it is already recorded too, so that the claim
 * looks at its ledger once more (the twin may have written it after the
 * claim last looked). */
static int roll_twin(sb_recover_result *out, sb_box *box, const char *bank,
                     const bank_item *b, int own)
{
	sb_item *existing = NULL;
	int64_t until = b->ms;
	char *ledger;
	const char *id;
	int rc;

	if ((rc = token_parts(&ledger, &id, b->token)) == SB_ENOMEM)
		return sb_seterr(box, SB_ENOMEM, "out of memory");
	if (rc)
		return SB_OK;
	if (sb_stamps_ok(box)) {
		until = b->ms + 1;
		rc = sb_slot_move_if(box, bank, b->item, b->token,
		                     SB_STATE_HELD, SB_STATE_HELD, until,
		                     b->ms);
		if (rc ==
		    SB_ECONFLICT) { /* given back, or another pass has it */
			box->in_flight++;
			rc = SB_OK;
			goto out;
		}
		if (rc)
			goto out;
	}
	rc = sb_slot_put_held(box, &existing, ledger, id, bank, b->item, until);
	if (rc == SB_OK)
		out->settled++;
	else if (rc == SB_ECONFLICT && (strcmp(existing->bank, bank) != 0 ||
	                                strcmp(existing->value, b->item) != 0)) {
		box->losers++;
		rc = SB_OK;
		if (until != b->ms) /* its client's give-back expects it */
			rc = sb_slot_move_if(box, bank, b->item, b->token,
			                     SB_STATE_HELD, SB_STATE_HELD,
			                     b->ms, until);
		if (rc == SB_ECONFLICT)
			rc = SB_OK;
	} else if (rc == SB_ECONFLICT) {
		out->settled += own;
		rc = SB_OK;
	}
out:
	sb_item_free(existing);
	free(ledger);
	return rc;
}

/* Whether a pass leaves a release in flight alone for now: one that a
 * client marked less than @p min_age_ms ago (the lease: its client may
 * still run), or that another recovery pass took over less than
 * SB_TAKEOVER_MS ago, unless @p all_held (sb_box_recover, which takes
 * over every one: a pass killed after taking one over leaves it so).
 * Only with stamps: without, the age is unknown. */
static int leave_release(const sb_box *box, const bank_item *b,
                         int64_t min_age_ms, int all_held, int64_t now)
{
	int64_t age;

	if (!sb_stamps_ok(box) || b->ms <= 0 ||
	    !(b->state & (SB_STATE_RESTOCKING | SB_STATE_RETIRING)))
		return 0;
	age = now - sb_stamp_ms(b->ms);
	if (min_age_ms > 0 && age < min_age_ms)
		return 1;
	return (b->ms & 1) && !all_held && age < SB_TAKEOVER_MS;
}

/* A live hold of another id whose live ledger entry names another item:
 * a losing twin's, which its client is about to give back (docs/holds.md
 * "Hold"). Counted in box->losers, and left to that client: the bank
 * cannot be moved here on what the ledger said a moment ago, since the
 * id may release its item and the twin then record this one. */
static int note_loser(sb_box *box, const char *bank, const bank_item *b)
{
	sb_item *entry = NULL;
	int rc = entry_of(&entry, box, b);

	if (rc == SB_OK && !(entry->flags & SB_ITEM_LAPSED) &&
	    (strcmp(entry->bank, bank) != 0 ||
	     strcmp(entry->value, b->item) != 0))
		box->losers++;
	if (rc == SB_ENOTFOUND)
		rc = SB_OK;
	sb_item_free(entry);
	return rc;
}

static int newest_first(const void *a, const void *b)
{
	const bank_item *x = *(const bank_item *const *)a;
	const bank_item *y = *(const bank_item *const *)b;

	return (x->ms < y->ms) - (x->ms > y->ms);
}

/* Before a claim answers "empty" on the generic path: count the losing
 * twins among the live holds of other ids @p v. A hold in flight is among
 * the newest (the deadlines of one application's holds are mostly take
 * time plus one TTL): look at the newest SB_LOSER_HOLDS, so that a
 * sell-out answer does not cost a ledger call per seat. */
static int count_losers(sb_box *box, const char *bank, const bank_item **v,
                        size_t n)
{
	int rc = SB_OK;
	size_t i;

	qsort(v, n, sizeof(*v), newest_first);
	for (i = 0; rc == SB_OK && i < n && i < SB_LOSER_HOLDS; i++)
		rc = note_loser(box, bank, v[i]);
	return rc;
}

int sb__reclaim_twins(sb_recover_result *out, sb_box *box, const char *bank,
                      const char *own_token)
{
	item_list l = { NULL, 0, 0, 0 };
	int64_t now = sb_now_ms();
	size_t i;
	int rc;

	/* A fused hold has no step between take and record. */
	if (!sb_holds_ok(box) || sb_fused_holds(box))
		return SB_OK;
	rc = sb_slot_list(box, bank, SB_STATE_HELD, INT64_MAX, collect, &l);
	if (l.oom)
		rc = sb_seterr(box, SB_ENOMEM, "out of memory listing holds");
	for (i = 0; rc == SB_OK && i < l.n; i++)
		if (l.v[i].ms > now && strcmp(l.v[i].token, own_token) == 0)
			rc = roll_twin(out, box, bank, &l.v[i], 1);
	free_list(&l);
	return rc;
}

int sb__reclaim(sb_recover_result *out, sb_box *box, const char *bank,
                const char *ledger, int all_held, const char *own_token,
                int64_t min_age_ms)
{
	unsigned int states = SB_STATE_RECLAIMING | SB_STATE_RESTOCKING |
	                      SB_STATE_RETIRING;
	item_list l = { NULL, 0, 0, 0 };
	const bank_item **others = NULL; /* live holds of other ids */
	size_t nothers = 0;
	int64_t now = sb_now_ms();
	int list_all = 0;
	size_t i;
	int rc;

	if (!sb_holds_ok(box))
		return SB_OK;
	if (sb_fused_holds(box)) {
		/* One step on the server, by the store's clock. */
		uint64_t n = 0;
		if ((rc = sb_slot_reclaim(box, &n, bank, now)))
			return rc;
		out->lapsed += n;
	} else {
		states |= SB_STATE_HELD;
	}
	if (all_held)
		states |= SB_STATE_HELD;
	/* A twin's hold is live: list every hold to find it (the generic
	 * path only: a fused hold has no step in between). */
	if (own_token && !sb_fused_holds(box)) {
		states |= SB_STATE_HELD;
		list_all = 1;
	}
	/* Copy first: the backend may hold a cursor open while listing. */
	rc = sb_slot_list(box, bank, states,
	                  all_held || list_all ? INT64_MAX : now, collect, &l);
	if (l.oom)
		rc = sb_seterr(box, SB_ENOMEM, "out of memory listing holds");
	if (rc == SB_OK && list_all && !all_held && l.n &&
	    !(others = malloc(l.n * sizeof(*others))))
		rc = sb_seterr(box, SB_ENOMEM, "out of memory listing holds");
	for (i = 0; rc == SB_OK && i < l.n; i++) {
		const bank_item *b = &l.v[i];
		if (!for_ledger(b->token, ledger)) {
			/* Its ledger may live in another store: leave it to a
			 * recover of that ledger. */
			out->foreign++;
		} else if (b->state == SB_STATE_HELD && b->ms > now &&
		           own_token && strcmp(b->token, own_token) == 0) {
			rc = roll_twin(out, box, bank, b, 1);
		} else if (b->state == SB_STATE_HELD && b->ms > now) {
			if (all_held)
				rc = settle_confirmed(out, box, bank, b);
			else if (others)
				others[nothers++] = b;
		} else if (leave_release(box, b, min_age_ms, all_held, now)) {
			continue; /* in flight: its client or pass finishes it */
		} else {
			rc = sb__reclaim_item(out, box, bank, b->item, b->token,
			                      b->state, b->ms);
		}
	}
	if (rc == SB_OK && nothers)
		rc = count_losers(box, bank, others, nothers);
	free(others);
	free_list(&l);
	if (rc == SB_OK)
		sb_clearerr(box);
	return rc;
}
