/* The boundary between the core and a backend: every call into a slot goes
 * through here, and its result is checked against the slot's contract
 * (backend.h) before the core acts on it. A backend's private code (say a
 * "table missing" 100 that escaped), an answer a slot may not give, or an
 * SB_OK without the item would otherwise reach a caller as a number the
 * API never documented, or as a silent success. */
#include "internal.h"

/* Answers a slot may give besides SB_OK and negative errors. */
#define ANS_EMPTY    (1u << 0) /* SB_EMPTY */
#define ANS_SETTLED  (1u << 1) /* SB_EMPTY_SETTLED */
#define ANS_NOTFOUND (1u << 2) /* SB_ENOTFOUND */
#define ANS_CONFLICT (1u << 3) /* SB_ECONFLICT */
#define ANS_EXPIRED  (1u << 4) /* SB_EEXPIRED */

static int allowed(int rc, unsigned int answers)
{
	return (rc == SB_EMPTY && (answers & ANS_EMPTY)) ||
	       (rc == SB_EMPTY_SETTLED && (answers & ANS_SETTLED)) ||
	       (rc == SB_ENOTFOUND && (answers & ANS_NOTFOUND)) ||
	       (rc == SB_ECONFLICT && (answers & ANS_CONFLICT)) ||
	       (rc == SB_EEXPIRED && (answers & ANS_EXPIRED));
}

static int violation(sb_box *box, const char *scheme, const char *slot,
                     const char *what, int rc)
{
	return sb_seterr(box, SB_EBACKEND,
	                 "%s backend: slot %s %s (result "
	                 "%d), which the backend contract does not allow",
	                 scheme, slot, what, rc);
}

static int check(sb_box *box, const char *scheme, const char *slot, int rc,
                 unsigned int answers)
{
	if (rc == SB_OK) {
		sb_clearerr(box);
		return SB_OK;
	}
	if (allowed(rc, answers))
		return rc;
	/* Errors are fine, but not the two that are answers elsewhere: a
	 * caller would read SB_ENOTFOUND from fetch as "no such bank". */
	if (rc < 0 && rc >= SB_EAUTH && rc != SB_ENOTFOUND &&
	    rc != SB_ECONFLICT) {
		if (!sb_box_errmsg(box)[0])
			sb_seterr(box, rc, "%s backend: %s failed: %s", scheme,
			          slot, sb_strerror(rc));
		return rc;
	}
	return violation(box, scheme, slot, "returned an unexpected result",
	                 rc);
}

/* A slot that hands out an item: one exactly when it says SB_OK. */
static int check_item(sb_box *box, const char *scheme, const char *slot, int rc,
                      unsigned int answers, sb_item **out)
{
	rc = check(box, scheme, slot, rc, answers);
	if (rc == SB_OK && !*out)
		rc = violation(box, scheme, slot,
		               "returned SB_OK without an "
		               "item",
		               SB_OK);
	if (rc != SB_OK && *out) {
		sb_item_free(*out);
		*out = NULL;
	}
	return rc;
}

#define BANK(box)   ((box)->bank_store)
#define LEDGER(box) ((box)->ledger_store)

int sb_slot_init(sb_box *box, sb_store *st)
{
	const char *scheme = st == BANK(box) ? box->bank_scheme
	                                     : box->ledger_scheme;
	return check(box, scheme, "init", st->ops->init(st), 0);
}

int sb_slot_upgrade(sb_box *box, sb_store *st)
{
	const char *scheme = st == BANK(box) ? box->bank_scheme
	                                     : box->ledger_scheme;
	if (st->ops->version < 3 || !st->ops->upgrade)
		return SB_OK; /* no layout change: nothing to do */
	return check(box, scheme, "upgrade", st->ops->upgrade(st), 0);
}

int sb_slot_add(sb_box *box, uint64_t *added, uint64_t *skipped,
                const char *bank, const char *const *items, size_t n)
{
	*added = *skipped = 0;
	return check(box, box->bank_scheme, "add",
	             BANK(box)->bank->add(added, skipped, BANK(box), bank,
	                                  items, n),
	             0);
}

int sb_slot_take(sb_box *box, sb_item **out, const char *bank,
                 const char *token, int64_t now_ms)
{
	*out = NULL;
	return check_item(box, box->bank_scheme, "take",
	                  BANK(box)->bank->take(out, BANK(box), bank, token,
	                                        now_ms),
	                  ANS_EMPTY | ANS_NOTFOUND, out);
}

int sb_slot_settle(sb_box *box, const char *bank, const char *item,
                   const char *token)
{
	return check(box, box->bank_scheme, "settle",
	             BANK(box)->bank->settle(BANK(box), bank, item, token),
	             ANS_CONFLICT);
}

int sb_slot_put_back(sb_box *box, const char *bank, const char *item,
                     const char *token)
{
	return check(box, box->bank_scheme, "put_back",
	             BANK(box)->bank->put_back(BANK(box), bank, item, token),
	             ANS_CONFLICT);
}

int sb_slot_bank_count(sb_box *box, sb_bank_counts *out, const char *bank)
{
	return check(box, box->bank_scheme, "count",
	             BANK(box)->bank->count(out, BANK(box), bank),
	             ANS_NOTFOUND);
}

/* A callback's own non-zero value passes through the slot untouched: it is
 * the caller's, not the backend's. */
typedef struct {
	sb_reservation_cb resv;
	sb_ledger_entry_cb entry;
	sb_bank_item_cb bank_item;
	sb_export_hold_cb hold;
	void *payload;
	int stopped; /* the value the callback stopped with, or 0 */
} relay;

static int relay_resv(const char *item, const char *token, int64_t since_ms,
                      void *p)
{
	relay *r = p;
	return r->stopped = r->resv(item, token, since_ms, r->payload);
}

static int relay_entry(const char *id, const char *bank, const char *item,
                       void *p)
{
	relay *r = p;
	return r->stopped = r->entry(id, bank, item, r->payload);
}

static int relay_bank_item(const char *item, const char *token,
                           unsigned int state, int64_t ms, void *p)
{
	relay *r = p;
	return r->stopped = r->bank_item(item, token, state, ms, r->payload);
}

static int relay_hold(const char *id, const char *bank, const char *item,
                      int64_t expires_ms, void *p)
{
	relay *r = p;
	return r->stopped = r->hold(id, bank, item, expires_ms, r->payload);
}

int sb_slot_reserved(sb_box *box, const char *bank, int64_t older_than_ms,
                     sb_reservation_cb cb, void *payload)
{
	relay r = { .resv = cb, .payload = payload };
	int rc = BANK(box)->bank->reserved(BANK(box), bank, older_than_ms,
	                                   relay_resv, &r);
	if (r.stopped && rc == r.stopped)
		return rc;
	return check(box, box->bank_scheme, "reserved", rc, ANS_NOTFOUND);
}

int sb_slot_bank_create(sb_box *box, const char *bank)
{
	return check(box, box->bank_scheme, "create",
	             BANK(box)->bank->create(BANK(box), bank), 0);
}

int sb_slot_get(sb_box *box, sb_item **out, const char *ledger,
                const char *dedup_id)
{
	int rc;

	*out = NULL;
	rc = check_item(box, box->ledger_scheme, "ledger get",
	                LEDGER(box)->ledger->get(out, LEDGER(box), ledger,
	                                         dedup_id),
	                ANS_NOTFOUND, out);
	if (rc == SB_OK)
		(*out)->flags &= ~SB_ITEM_NEW; /* found: not assigned now */
	return rc;
}

int sb_slot_put_if_absent(sb_box *box, sb_item **existing, const char *ledger,
                          const char *dedup_id, const char *bank,
                          const char *item)
{
	int rc;

	*existing = NULL;
	rc = LEDGER(box)->ledger->put_if_absent(existing, LEDGER(box), ledger,
	                                        dedup_id, bank, item);
	rc = check(box, box->ledger_scheme, "put_if_absent", rc, ANS_CONFLICT);
	if (rc == SB_ECONFLICT && !*existing)
		return violation(box, box->ledger_scheme, "put_if_absent",
		                 "reported a conflict without the entry", rc);
	if (rc != SB_ECONFLICT && *existing) {
		sb_item_free(*existing);
		*existing = NULL;
	}
	if (rc == SB_ECONFLICT)
		(*existing)->flags &= ~SB_ITEM_NEW;
	return rc;
}

int sb_slot_export(sb_box *box, const char *ledger, sb_ledger_entry_cb cb,
                   void *payload)
{
	relay r = { .entry = cb, .payload = payload };
	int rc = LEDGER(box)->ledger->export(LEDGER(box), ledger, relay_entry,
	                                     &r);
	if (r.stopped && rc == r.stopped)
		return rc;
	return check(box, box->ledger_scheme, "export", rc, 0);
}

int sb_slot_ledger_count(sb_box *box, uint64_t *out, const char *ledger,
                         const char *bank)
{
	*out = 0;
	return check(box, box->ledger_scheme, "ledger count",
	             LEDGER(box)->ledger->count(out, LEDGER(box), ledger, bank),
	             0);
}

int sb_slot_ledger_create(sb_box *box, const char *ledger)
{
	if (!LEDGER(box)->ledger->create) /* optional */
		return SB_OK;
	return check(box, box->ledger_scheme, "ledger create",
	             LEDGER(box)->ledger->create(LEDGER(box), ledger), 0);
}

int sb_slot_claim(sb_box *box, sb_item **out, const char *bank,
                  const char *ledger, const char *dedup_id, const char *token,
                  int64_t now_ms)
{
	*out = NULL;
	return check_item(box, box->bank_scheme, "claim",
	                  BANK(box)->ops->claim(out, BANK(box), bank, ledger,
	                                        dedup_id, token, now_ms),
	                  ANS_EMPTY | ANS_SETTLED | ANS_NOTFOUND, out);
}

/* Version 2: holds. The core calls these only when the vtable's version
 * has them (sb_holds_ok(), sb_fused_holds()). */

int sb_slot_take_held(sb_box *box, sb_item **out, const char *bank,
                      const char *token, int64_t until_ms)
{
	int rc;

	*out = NULL;
	rc = check_item(box, box->bank_scheme, "take_held",
	                BANK(box)->bank->take_held(out, BANK(box), bank, token,
	                                           until_ms),
	                ANS_EMPTY | ANS_NOTFOUND, out);
	if (rc == SB_OK)
		(*out)->expires_ms = until_ms;
	return rc;
}

int sb_slot_move(sb_box *box, const char *bank, const char *item,
                 const char *token, unsigned int from, unsigned int to,
                 int64_t until_ms)
{
	return check(box, box->bank_scheme, "move",
	             BANK(box)->bank->move(BANK(box), bank, item, token, from,
	                                   to, until_ms),
	             ANS_CONFLICT);
}

/* Version 3: only when sb_stamps_ok(). */
int sb_slot_move_if(sb_box *box, const char *bank, const char *item,
                    const char *token, unsigned int from, unsigned int to,
                    int64_t until_ms, int64_t expect_ms)
{
	return check(box, box->bank_scheme, "move_if",
	             BANK(box)->bank->move_if(BANK(box), bank, item, token,
	                                      from, to, until_ms, expect_ms),
	             ANS_CONFLICT);
}

int sb_slot_list(sb_box *box, const char *bank, unsigned int states,
                 int64_t until_le, sb_bank_item_cb cb, void *payload)
{
	relay r = { .bank_item = cb, .payload = payload };
	int rc = BANK(box)->bank->list(BANK(box), bank, states, until_le,
	                               relay_bank_item, &r);
	if (r.stopped && rc == r.stopped)
		return rc;
	return check(box, box->bank_scheme, "list", rc, ANS_NOTFOUND);
}

int sb_slot_put_held(sb_box *box, sb_item **existing, const char *ledger,
                     const char *dedup_id, const char *bank, const char *item,
                     int64_t until_ms)
{
	int rc;

	*existing = NULL;
	rc = LEDGER(box)->ledger->put_held(existing, LEDGER(box), ledger,
	                                   dedup_id, bank, item, until_ms);
	rc = check(box, box->ledger_scheme, "put_held", rc, ANS_CONFLICT);
	if (rc == SB_ECONFLICT && !*existing)
		return violation(box, box->ledger_scheme, "put_held",
		                 "reported a conflict without the entry", rc);
	if (rc != SB_ECONFLICT && *existing) {
		sb_item_free(*existing);
		*existing = NULL;
	}
	if (rc == SB_ECONFLICT)
		(*existing)->flags &= ~(SB_ITEM_NEW | SB_ITEM_LAPSED);
	return rc;
}

int sb_slot_update(sb_box *box, sb_item **out, const char *ledger,
                   const char *dedup_id, int64_t until_ms)
{
	int rc;

	*out = NULL;
	rc = check_item(box, box->ledger_scheme, "update",
	                LEDGER(box)->ledger->update(out, LEDGER(box), ledger,
	                                            dedup_id, until_ms),
	                ANS_NOTFOUND | ANS_EXPIRED, out);
	if (rc == SB_OK)
		(*out)->flags = 0;
	return rc;
}

int sb_slot_remove(sb_box *box, sb_item **entry, const char *ledger,
                   const char *dedup_id, const char *bank, const char *item,
                   unsigned int mode)
{
	int rc;

	*entry = NULL;
	rc = LEDGER(box)->ledger->remove(entry, LEDGER(box), ledger, dedup_id,
	                                 bank, item, mode);
	rc = check(box, box->ledger_scheme, "remove", rc,
	           ANS_NOTFOUND | ANS_CONFLICT | ANS_EXPIRED);
	if (rc == SB_ECONFLICT && mode != SB_REMOVE_LAPSED)
		rc = violation(box, box->ledger_scheme, "remove",
		               "reported a conflict outside SB_REMOVE_LAPSED",
		               rc);
	else if (rc == SB_ECONFLICT && !*entry)
		rc = violation(box, box->ledger_scheme, "remove",
		               "reported a conflict without the entry", rc);
	if (rc != SB_ECONFLICT && *entry) {
		sb_item_free(*entry);
		*entry = NULL;
	}
	return rc;
}

int sb_slot_export_holds(sb_box *box, const char *ledger, sb_export_hold_cb cb,
                         void *payload)
{
	relay r = { .hold = cb, .payload = payload };
	int rc = LEDGER(box)->ledger->export_holds(LEDGER(box), ledger,
	                                           relay_hold, &r);
	if (r.stopped && rc == r.stopped)
		return rc;
	return check(box, box->ledger_scheme, "export_holds", rc, 0);
}

int sb_slot_hold(sb_box *box, sb_item **out, const char *bank,
                 const char *ledger, const char *dedup_id, const char *token,
                 int64_t now_ms, int64_t ttl_ms)
{
	*out = NULL;
	return check_item(box, box->bank_scheme, "hold",
	                  BANK(box)->ops->hold(out, BANK(box), bank, ledger,
	                                       dedup_id, token, now_ms, ttl_ms),
	                  ANS_EMPTY | ANS_SETTLED | ANS_NOTFOUND, out);
}

int sb_slot_change(sb_box *box, sb_item **out, const char *ledger,
                   const char *dedup_id, const char *token, unsigned int op,
                   int64_t now_ms, int64_t ttl_ms)
{
	int rc;

	*out = NULL;
	rc = BANK(box)->ops->change(out, BANK(box), ledger, dedup_id, token, op,
	                            now_ms, ttl_ms);
	if (op == SB_CHANGE_CONFIRM || op == SB_CHANGE_EXTEND)
		return check_item(box, box->bank_scheme, "change", rc,
		                  ANS_NOTFOUND | ANS_EXPIRED, out);
	if (*out) { /* a release returns no entry: drop one given anyway */
		sb_item_free(*out);
		*out = NULL;
	}
	return check(box, box->bank_scheme, "change", rc,
	             ANS_NOTFOUND | ANS_EXPIRED);
}

int sb_slot_reclaim(sb_box *box, uint64_t *n, const char *bank, int64_t now_ms)
{
	*n = 0;
	return check(box, box->bank_scheme, "reclaim",
	             BANK(box)->ops->reclaim(n, BANK(box), bank, now_ms),
	             ANS_NOTFOUND);
}
