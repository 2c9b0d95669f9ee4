/* Recovery rolls reservations forward (DESIGN §4): record (id, item) in
 * the ledger; if that stores or finds this very item, settle; if the id
 * holds another item, put this one back. Both outcomes are conditional on
 * (item, token) at the bank, so a live client and recovery may race. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	char *item;
	char *token;
	int64_t since;
} resv;

typedef struct {
	resv *v;
	size_t n, cap;
	int oom;
	int64_t older_than;    /* stale if since <= this */
	const char *own_token; /* also take these, whatever their age */
} resv_list;

static int collect(const char *item, const char *token, int64_t since_ms,
                   void *payload)
{
	resv_list *l = payload;

	if (since_ms > l->older_than &&
	    !(l->own_token && strcmp(token, l->own_token) == 0))
		return 0;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		resv *nv = realloc(l->v, cap * sizeof(*nv));
		if (!nv) {
			l->oom = 1;
			return 1;
		}
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n].item = strdup(item);
	l->v[l->n].token = strdup(token);
	l->v[l->n].since = since_ms;
	if (!l->v[l->n].item || !l->v[l->n].token) {
		free(l->v[l->n].item);
		free(l->v[l->n].token);
		l->oom = 1;
		return 1;
	}
	l->n++;
	return 0;
}

static void free_list(resv_list *l)
{
	size_t i;
	for (i = 0; i < l->n; i++) {
		free(l->v[i].item);
		free(l->v[i].token);
	}
	free(l->v);
}

/* Whether the id's entry already is (bank, item) for good. Only a ledger
 * that keeps holds can lose an entry (release), so only there it matters
 * (else 1: nothing to undo). */
static int already_recorded(sb_box *box, const char *bank, const char *ledger,
                            const char *id, const char *item)
{
	sb_item *e = NULL;
	int yes;

	if (!sb_holds_ok(box))
		return 1;
	yes = sb_slot_get(box, &e, ledger, id) == SB_OK &&
	      !(e->flags & SB_ITEM_LAPSED) && strcmp(e->bank, bank) == 0 &&
	      strcmp(e->value, item) == 0;
	sb_item_free(e);
	sb_clearerr(box);
	return yes;
}

/* Delete the entry for good of (bank, item) that this pass wrote for a
 * reservation that turned out to be over. A hold the id made since is
 * not it, and stays. */
static int unrecord(sb_box *box, const char *bank, const char *ledger,
                    const char *id, const char *item)
{
	sb_item *e = NULL, *x = NULL;
	int rc = sb_slot_get(box, &e, ledger, id);

	if (rc == SB_OK && e->expires_ms == 0 && strcmp(e->bank, bank) == 0 &&
	    strcmp(e->value, item) == 0)
		rc = sb_slot_remove(box, &x, ledger, id, bank, item,
		                    SB_REMOVE_ANY);
	sb_item_free(e);
	sb_item_free(x);
	return rc == SB_ENOTFOUND ? SB_OK : rc;
}

/* After this pass lost the reservation's stamp: whether the item is
 * still the id's at the bank, reserved with its token (another pass took
 * the reservation over from this one, and settles it by the entry that
 * this pass wrote or found: the entry must stay) or assigned to it.
 * SB_OK yes, SB_ECONFLICT no, or an error. Reserved is asked first: the
 * other pass may settle the item between the two questions, while an
 * item assigned to the id stays so until the id releases it. */
static int still_the_ids(sb_box *box, const char *bank, const resv *r)
{
	int rc = sb_slot_move(box, bank, r->item, r->token, SB_STATE_RESERVED,
	                      SB_STATE_RESERVED, 0);

	if (rc == SB_ECONFLICT)
		rc = sb_slot_move(box, bank, r->item, r->token,
		                  SB_STATE_ASSIGNED, SB_STATE_ASSIGNED, 0);
	return rc;
}

/* A move of a reservation this pass stamps (@p stamp) or took over
 * (@p expect), or a steal (@p expect -1: whatever the stamp). An error
 * with no answer (a timeout, a lost connection) leaves the move undone
 * or done, unknown: left so, a stamp that no pass owns would keep every
 * other pass off the item for SB_TAKEOVER_MS while claims answer
 * "empty". So ask again once: a move that was done conflicts (or, where
 * it set a stamp, finds it; only this pass makes that stamp). */
static int stamped_move(sb_box *box, const char *bank, const resv *r,
                        unsigned int to, int64_t stamp, int64_t expect)
{
	int rc = SB_OK, tries;

	for (tries = 0; tries < 2; tries++) {
		rc = expect < 0 ? sb_slot_move(box, bank, r->item, r->token,
		                               SB_STATE_RESERVED, to, stamp)
		                : sb_slot_move_if(box, bank, r->item, r->token,
		                                  SB_STATE_RESERVED, to, stamp,
		                                  expect);
		if (rc == SB_OK || rc == SB_ECONFLICT)
			break;
		if (tries == 0 && stamp && to == SB_STATE_RESERVED &&
		    sb_slot_move_if(box, bank, r->item, r->token,
		                    SB_STATE_RESERVED, SB_STATE_RESERVED, stamp,
		                    stamp) == SB_OK)
			return SB_OK; /* it was done: the stamp is ours */
	}
	return rc;
}

/* The rest of a roll after this pass took the reservation over with
 * @p stamp: record it for the id, then settle it, or put it back if the
 * id holds another item. *@p fresh: the id had no entry for this item
 * before the first try (-1: not asked yet; then asked, and set). */
static int roll_owned(sb_recover_result *out, sb_box *box, const char *bank,
                      const char *ledger, const char *id, const resv *r,
                      int64_t stamp, int *fresh)
{
	sb_item *existing = NULL;
	int rc;

	if (*fresh < 0)
		*fresh = !already_recorded(box, bank, ledger, id, r->item);
	rc = sb_slot_put_if_absent(box, &existing, ledger, id, bank, r->item);
	sb_item_free(existing);
	if (rc == SB_OK) {
		if (sb_fault_point(box, SB_FP_RECOVER_AFTER_RECORD))
			return SB_ERROR;
		rc = stamped_move(box, bank, r, SB_STATE_ASSIGNED, 0, stamp);
		if (rc == SB_OK)
			out->settled++;
		/* Taken from this pass (after SB_TAKEOVER_MS, by the id's
		 * own claim, or by sb_box_recover): if the item is not the
		 * id's now, the entry written here is stale, as without
		 * stamps. If another pass has it reserved, it is not: that
		 * pass settles it against this very entry. */
		if (rc == SB_ECONFLICT && *fresh &&
		    still_the_ids(box, bank, r) == SB_ECONFLICT)
			rc = unrecord(box, bank, ledger, id, r->item);
		return rc == SB_ECONFLICT ? SB_OK : rc;
	}
	if (rc != SB_ECONFLICT)
		return rc;
	rc = stamped_move(box, bank, r, SB_STATE_AVAILABLE, 0, stamp);
	if (rc == SB_OK)
		out->put_back++;
	return rc == SB_ECONFLICT ? SB_OK : rc;
}

struct sb_taken {
	char *bank, *ledger;
	resv r;
	int64_t stamp;
	int fresh;
};

void sb__taken_free(sb_box *box)
{
	struct sb_taken *t = box->taken;

	if (!t)
		return;
	free(t->bank);
	free(t->ledger);
	free(t->r.item);
	free(t->r.token);
	free(t);
	box->taken = NULL;
}

/* A pass that took a reservation over and then failed (a ledger step
 * with no answer, under load) must not just leave: its stamp would keep
 * every other pass off the item for SB_TAKEOVER_MS, and meanwhile every
 * claim that finds the bank empty sees it in flight, pass after pass,
 * and answers "empty" (after SB_EMPTY_PASSES), while the item may come
 * back to the bank a moment later, to a twin of such a claim (two
 * answers for one id) or to an id that asks later (law 5). So the box
 * keeps it, with its stamp (only this pass made it), and its next pass
 * or claim finishes it (sb__resume). One at a time: a second one is left
 * to the bound, as a crashed client's. */
static void keep_taken(sb_box *box, const char *bank, const char *ledger,
                       const resv *r, int64_t stamp, int fresh)
{
	struct sb_taken *t;

	if (box->taken || !(t = calloc(1, sizeof(*t))))
		return;
	t->bank = strdup(bank);
	t->ledger = strdup(ledger);
	t->r.item = strdup(r->item);
	t->r.token = strdup(r->token);
	t->r.since = r->since;
	t->stamp = stamp;
	t->fresh = fresh;
	box->taken = t;
	if (!t->bank || !t->ledger || !t->r.item || !t->r.token)
		sb__taken_free(box);
}

int sb__resume(sb_recover_result *out, sb_box *box)
{
	struct sb_taken *t = box->taken;
	char keep[SB_ERRMSG_SIZE];
	const char *id;
	size_t llen;
	int rc;

	if (!t)
		return SB_OK;
	memcpy(keep, box->errmsg, sizeof(keep));
	if (sb_token_split(t->r.token, &llen, &id)) {
		sb__taken_free(box);
		return SB_OK;
	}
	rc = roll_owned(out, box, t->bank, t->ledger, id, &t->r, t->stamp,
	                &t->fresh);
	if (rc == SB_OK) {
		sb__taken_free(box);
		memcpy(box->errmsg, keep, sizeof(keep));
	}
	return rc;
}

/* With stamps (docs/holds.md "Stamps"): take the reservation over
 * before the ledger step, so that it cannot end (be settled by its
 * client, then released) while this pass records it: from then on only
 * this pass settles it or puts it back. One that another pass took over
 * is left to it, unless @p all (sb_box_recover), or it is the claim's
 * own (@p own: the id's claim is about to answer, and must not answer
 * "empty" while a stalled pass still holds the id's item), or that pass
 * took it over SB_TAKEOVER_MS ago or more. A step that fails after the
 * takeover leaves the reservation to the box's next pass (keep_taken). */
static int roll_stamped(sb_recover_result *out, sb_box *box, const char *bank,
                        const char *ledger, const char *id, const resv *r,
                        int all, int own)
{
	int64_t stamp = sb_stamp_new(1);
	int rc, fresh = -1;

	rc = stamped_move(box, bank, r, SB_STATE_RESERVED, stamp, 0);
	if (rc == SB_ECONFLICT &&
	    (all || own || sb_now_ms() - r->since >= SB_TAKEOVER_MS))
		rc = stamped_move(box, bank, r, SB_STATE_RESERVED, stamp, -1);
	if (rc == SB_ECONFLICT) { /* over, or another pass has it */
		box->in_flight++;
		return SB_OK;
	}
	if (rc)
		return rc;
	if (sb_fault_point(box, SB_FP_RECOVER_RESERVATION_AFTER_CHECK))
		rc = SB_ERROR;
	else
		rc = roll_owned(out, box, bank, ledger, id, r, stamp, &fresh);
	if (rc)
		keep_taken(box, bank, ledger, r, stamp, fresh);
	return rc;
}

/* Roll one reservation forward. */
static int roll_forward(sb_recover_result *out, sb_box *box, const char *bank,
                        const char *ledger, const resv *r, int all,
                        const char *own_token)
{
	sb_item *existing = NULL;
	const char *id;
	size_t llen;
	int rc, fresh;

	if (sb_token_split(r->token, &llen, &id) || strlen(ledger) != llen ||
	    memcmp(r->token, ledger, llen) != 0) {
		out->foreign++;
		return SB_OK;
	}
	if (sb_stamps_ok(box))
		return roll_stamped(out, box, bank, ledger, id, r, all,
		                    own_token &&
		                            strcmp(r->token, own_token) == 0);
	fresh = !already_recorded(box, bank, ledger, id, r->item);
	/* Where ids give items back, the listing may be long stale by now
	 * (a pass works through every reservation one by one): check at
	 * the bank that the reservation is still in flight just before the
	 * ledger step, which leaves a window of one round trip (docs/holds.md
	 * "Fetch"). */
	if (fresh && sb_holds_ok(box)) {
		rc = sb_slot_move(box, bank, r->item, r->token,
		                  SB_STATE_RESERVED, SB_STATE_RESERVED, 0);
		if (rc == SB_ECONFLICT) { /* over: the fetch ended */
			box->in_flight++;
			return SB_OK;
		}
		if (rc)
			return rc;
		if (sb_fault_point(box, SB_FP_RECOVER_RESERVATION_AFTER_CHECK))
			return SB_ERROR;
	}
	rc = sb_slot_put_if_absent(box, &existing, ledger, id, bank, r->item);
	if (rc == SB_OK) {
		if (sb_fault_point(box, SB_FP_RECOVER_AFTER_RECORD))
			return SB_ERROR;
		rc = sb_slot_settle(box, bank, r->item, r->token);
		if (rc == SB_OK)
			out->settled++;
		/* SB_ECONFLICT: a racing client or recovery got there first;
		 * or, where ids can give items back, the reservation listed
		 * is over (the fetch ended and the id released the item) and
		 * the entry written now is stale: take it back. */
		if (rc == SB_ECONFLICT && fresh)
			rc = unrecord(box, bank, ledger, id, r->item);
		return rc == SB_ECONFLICT ? SB_OK : rc;
	}
	sb_item_free(existing);
	if (rc != SB_ECONFLICT)
		return rc;
	rc = sb_slot_put_back(box, bank, r->item, r->token);
	if (rc == SB_OK)
		out->put_back++;
	return rc == SB_ECONFLICT ? SB_OK : rc;
}

int sb__recover(sb_recover_result *out, sb_box *box, const char *bank,
                const char *ledger, int64_t min_age_ms, const char *own_token,
                int all_held)
{
	resv_list l = { NULL, 0, 0, 0, 0, NULL };
	int64_t older_than;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	/* What a pass of this box left unfinished comes first: until it is
	 * done, it is in flight for every claim (keep_taken). */
	if ((rc = sb__resume(out, box)))
		return rc;
	older_than = min_age_ms > 0 ? sb_now_ms() - min_age_ms : INT64_MAX;
	/* Copy first: the backend may hold a cursor open while listing. A
	 * caller's own token needs every reservation listed: a twin of the
	 * same request may hold a young one. */
	l.older_than = older_than;
	l.own_token = own_token;
	rc = sb_slot_reserved(box, bank, own_token ? INT64_MAX : older_than,
	                      collect, &l);
	if (l.oom)
		rc = sb_seterr(box, SB_ENOMEM,
		               "out of memory listing reservations");
	for (i = 0; rc == SB_OK && i < l.n; i++)
		rc = roll_forward(out, box, bank, ledger, &l.v[i], all_held,
		                  own_token);
	free_list(&l);
	/* Holds: lapsed ones, and releases and reclaims cut short. */
	if (rc == SB_OK)
		rc = sb__reclaim(out, box, bank, ledger, all_held, own_token,
		                 min_age_ms);
	if (rc == SB_OK)
		sb_clearerr(box);
	return rc;
}

int sb__recover_twins(sb_recover_result *out, sb_box *box, const char *bank,
                      const char *ledger, const char *own_token)
{
	/* INT64_MIN: no reservation is old enough, only own_token's. */
	resv_list l = { NULL, 0, 0, 0, INT64_MIN, own_token };
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = sb_slot_reserved(box, bank, INT64_MAX, collect, &l);
	if (l.oom)
		rc = sb_seterr(box, SB_ENOMEM,
		               "out of memory listing reservations");
	for (i = 0; rc == SB_OK && i < l.n; i++)
		rc = roll_forward(out, box, bank, ledger, &l.v[i], 0,
		                  own_token);
	free_list(&l);
	if (rc == SB_OK)
		rc = sb__reclaim_twins(out, box, bank, own_token);
	if (rc == SB_OK)
		sb_clearerr(box);
	return rc;
}

int sb_box_recover(sb_recover_result *out, sb_box *box, const char *bank,
                   const char *ledger, const sb_recover_opts *opts)
{
	sb_recover_result r = { 0 };
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!box)
		return SB_EINVALID;
	sb_clearerr(box);
	if (opts &&
	    (rc = sb_version_check(box, NULL, 0, "sb_recover_opts",
	                           opts->version, SB_RECOVER_OPTS_VERSION)))
		return rc;
	if (opts && opts->min_age_ms < 0)
		return sb_seterr(box, SB_EINVALID,
		                 "recover options: min_age_ms "
		                 "is negative");
	if ((rc = sb_validate(box, bank, "bank name")) ||
	    (rc = sb_validate(box, ledger, "ledger name")))
		return rc;
	if (!box->bank_store->bank || !box->ledger_store->ledger)
		return sb_seterr(box, SB_ENOTSUPPORTED,
		                 "this store cannot keep both banks and ledgers");
	rc = sb__recover(&r, box, bank, ledger, opts ? opts->min_age_ms : 0,
	                 NULL, 1);
	if (out)
		*out = r;
	return rc;
}
