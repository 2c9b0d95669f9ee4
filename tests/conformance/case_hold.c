/* Holds (DESIGN §8, docs/holds.md) on the store under test: the laws 3,
 * 4, 5, 7 and 8 one call at a time. Where the ledger's store keeps time
 * by the clients' clock (memory, SQLite, DynamoDB) a hold lapses when the
 * test moves that clock (sb__clock_shift); where the server keeps it
 * (PostgreSQL, Redis) the test waits for a short real deadline. A check
 * that something holds *before* a deadline always uses a long one, so a
 * busy machine cannot make a test fail by being slow. */
#include "conf.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LONG_TTL  (10 * 60 * 1000) /* never lapses during a case */
#define SHORT_TTL 1000             /* waited for with a server clock */

/* Whether the ledger's store keeps time by its server's clock. */
static int server_clock(void)
{
	const char *u = conf.ledger_uri ? conf.ledger_uri : conf.uri;
	return strncmp(u, "postgres", 8) == 0 || strncmp(u, "redis", 5) == 0;
}

/* Make every hold made so far with SHORT_TTL lapse. */
static void lapse(void)
{
	if (server_clock())
		t_nap_ms(SHORT_TTL + 300);
	else
		sb__clock_shift(SHORT_TTL + 1);
}

/* The ttl of a hold meant to lapse: short with a server clock, a long one
 * otherwise (lapse() moves the client clock past SHORT_TTL only, so use
 * SHORT_TTL there too). */
#define LAPSING_TTL SHORT_TTL

/* hold() that must succeed; returns a copy of the value (caller frees),
 * *expires and *is_new when asked. */
static char *hold_ok_(sb_box *box, const char *bank, const char *ledger,
                      const char *id, int64_t ttl, int64_t *expires,
                      int *is_new, const char *file, int line)
{
	sb_item *it = NULL;
	char *v = NULL;
	int rc = sb_box_hold(&it, box, bank, ledger, id, ttl);

	/* A failed hold leaves the outputs defined for the checks after. */
	if (expires)
		*expires = -1;
	if (is_new)
		*is_new = -1;
	t_check_rc(box, file, line, "hold", rc, SB_OK);
	if (rc == SB_OK && it) {
		v = t_xstrdup(sb_item_value(it));
		if (expires)
			*expires = sb_item_expires_ms(it);
		if (is_new)
			*is_new = sb_item_is_new(it);
	}
	sb_item_free(it);
	return v;
}
#define hold_ok(box, bank, ledger, id, ttl, expires, is_new)                \
	hold_ok_((box), (bank), (ledger), (id), (ttl), (expires), (is_new), \
	         __FILE__, __LINE__)

static sb_stats stats_of(sb_box *box, const char *bank)
{
	sb_stats st;
	memset(&st, 0, sizeof st);
	CHECK_RC(box, conf_stats(&st, box, bank, NULL), SB_OK);
	return st;
}

/* The id's entry: SB_OK and its value and deadline, or the code. */
static int lookup(sb_box *box, const char *ledger, const char *id, char **v,
                  int64_t *expires)
{
	sb_item *it = NULL;
	int rc = sb_box_lookup(&it, box, ledger, id);

	*v = rc == SB_OK ? t_xstrdup(sb_item_value(it)) : NULL;
	*expires = rc == SB_OK ? sb_item_expires_ms(it) : -1;
	sb_item_free(it);
	return rc;
}

static int same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* Whether the store under test keeps holds. A backend built before holds
 * (version 1 vtables: the out-of-tree example, loaded by SB_TEST_PLUGIN)
 * must answer every hold call with SB_ENOTSUPPORTED and a message saying
 * why, and change nothing: checked here, and the case stops. */
static int keeps_holds(sb_box *box)
{
	char *bank = conf_name("hv1"), *ledger = conf_name("hv1-l");
	const char *items[] = { "hv1-1" };
	sb_item *it = NULL;

	if (!getenv("SB_TEST_PLUGIN")) {
		free(bank);
		free(ledger);
		return 1;
	}
	conf_add(box, bank, items, 1, 1, 0);
	CHECK_RC(box, sb_box_hold(&it, box, bank, ledger, "u", LONG_TTL),
	         SB_ENOTSUPPORTED);
	CHECK(box,
	      it == NULL && t_contains(sb_box_errmsg(box), "before holds"));
	CHECK_RC(box, sb_box_confirm(box, ledger, "u"), SB_ENOTSUPPORTED);
	CHECK_RC(box, sb_box_extend(box, ledger, "u", LONG_TTL),
	         SB_ENOTSUPPORTED);
	CHECK_RC(box, sb_box_release(box, ledger, "u", 0), SB_ENOTSUPPORTED);
	conf_check_conservation(box, bank, 1);
	CHECKF(box, stats_of(box, bank).available == 1, "nothing taken");
	free(bank);
	free(ledger);
	return 0;
}

/* Hold, repeat, fetch, confirm: law 3 and the first half of law 7. */
void case_hold_basic(void)
{
	sb_box *box = conf_open();
	char *bank = conf_name("hb"), *ledger = conf_name("hb-l");
	const char *items[] = { "hb-1", "hb-2", "hb-3" };
	char *v, *v2, *v3, *lv;
	int64_t exp, exp2, lexp, before;
	int is_new = 0;
	sb_item *it = NULL;
	sb_stats st;

	if (!box || !keeps_holds(box))
		goto out;
	conf_add(box, bank, items, 3, 3, 0);
	before = sb_now_ms();
	v = hold_ok(box, bank, ledger, "buyer", LONG_TTL, &exp, &is_new);
	CHECKF(box, v && is_new == 1, "a first hold is new");
	/* The deadline is about now + ttl by the store's clock: allow a
	 * minute of skew between this machine's clock and a server's. */
	CHECKF(box,
	       exp > before + LONG_TTL - 60000 &&
	               exp < sb_now_ms() + LONG_TTL + 60000,
	       "deadline %lld for a hold made at %lld", (long long)exp,
	       (long long)before);
	st = stats_of(box, bank);
	CHECKF(box, st.on_hold == 1 && st.available == 2 && st.assigned == 0,
	       "on_hold %llu available %llu assigned %llu",
	       (unsigned long long)st.on_hold, (unsigned long long)st.available,
	       (unsigned long long)st.assigned);
	conf_check_conservation(box, bank, 3);

	/* Law 3: a repeat gets the same item, unchanged; fetch does not
	 * confirm. */
	v2 = hold_ok(box, bank, ledger, "buyer", LONG_TTL * 2, &exp2, &is_new);
	CHECKF(box, same(v, v2) && exp2 == exp && is_new == 0,
	       "repeat hold: '%s' until %lld, want '%s' until %lld", v2,
	       (long long)exp2, v, (long long)exp);
	v3 = conf_fetch_ok(box, bank, ledger, "buyer", &is_new, NULL);
	CHECKF(box, same(v, v3) && is_new == 0, "fetch of a held id");
	CHECK_RC(box, lookup(box, ledger, "buyer", &lv, &lexp), SB_OK);
	CHECKF(box, same(lv, v) && lexp == exp, "lookup: '%s' until %lld", lv,
	       (long long)lexp);
	free(lv);
	st = stats_of(box, bank);
	CHECKF(box, st.on_hold == 1 && st.assigned == 0,
	       "fetch must not confirm: on_hold %llu assigned %llu",
	       (unsigned long long)st.on_hold, (unsigned long long)st.assigned);

	/* Confirm: for good, and idempotent. */
	CHECK_RC(box, sb_box_confirm(box, ledger, "buyer"), SB_OK);
	CHECK_RC(box, sb_box_confirm(box, ledger, "buyer"), SB_OK);
	CHECK_RC(box, lookup(box, ledger, "buyer", &lv, &lexp), SB_OK);
	CHECKF(box, same(lv, v) && lexp == 0, "confirmed: '%s' until %lld", lv,
	       (long long)lexp);
	free(lv);
	st = stats_of(box, bank);
	CHECKF(box, st.on_hold == 0 && st.assigned == 1,
	       "after confirm: on_hold %llu assigned %llu",
	       (unsigned long long)st.on_hold, (unsigned long long)st.assigned);
	/* Extending an item held for good leaves it so. */
	CHECK_RC(box, sb_box_extend(box, ledger, "buyer", LONG_TTL), SB_OK);
	CHECK_RC(box, lookup(box, ledger, "buyer", &lv, &lexp), SB_OK);
	CHECKF(box, lexp == 0, "extend of a confirmed item: until %lld",
	       (long long)lexp);
	free(lv);
	/* A hold of an id that holds an item for good returns it. */
	CHECK_RC(box, sb_box_hold(&it, box, bank, ledger, "buyer", LONG_TTL),
	         SB_OK);
	CHECKF(box,
	       it && same(sb_item_value(it), v) &&
	               sb_item_expires_ms(it) == 0 && !sb_item_is_new(it),
	       "hold of a confirmed id");
	sb_item_free(it);
	conf_check_conservation(box, bank, 3);
	free(v);
	free(v2);
	free(v3);
out:
	free(bank);
	free(ledger);
	sb_box_close(box);
}

/* The deadline alone decides (law 7); a lapsed hold comes back (law 4)
 * and is never a reason for "empty" (law 5). */
void case_hold_lapse(void)
{
	sb_box *box = conf_open();
	char *bank = conf_name("hl"), *ledger = conf_name("hl-l");
	const char *items[] = { "hl-only" };
	char *v, *v2, *lv;
	int64_t lexp;
	int is_new = 0, rc;
	sb_item *it = NULL;
	sb_stats st;

	if (!box || !keeps_holds(box))
		goto out;
	conf_add(box, bank, items, 1, 1, 0);
	v = hold_ok(box, bank, ledger, "slow", LAPSING_TTL, NULL, NULL);
	lapse();
	/* Nothing reclaimed it yet, and still: lapsed. */
	CHECK_RC(box, sb_box_confirm(box, ledger, "slow"), SB_EEXPIRED);
	rc = sb_box_extend(box, ledger, "slow", LONG_TTL);
	CHECKF(box, rc == SB_EEXPIRED || rc == SB_ENOTFOUND,
	       "extend after the deadline: %d", rc);
	rc = sb_box_confirm(box, ledger, "slow");
	CHECKF(box, rc == SB_EEXPIRED || rc == SB_ENOTFOUND,
	       "second confirm after the deadline: %d", rc);
	CHECK_RC(box, lookup(box, ledger, "slow", &lv, &lexp), SB_ENOTFOUND);
	free(lv);

	/* Law 5: the only item is a lapsed hold: a new id gets it. */
	v2 = hold_ok(box, bank, ledger, "next", LONG_TTL, NULL, &is_new);
	CHECKF(box, same(v, v2) && is_new, "the lapsed item goes to 'next'");
	/* The lapsed id holds nothing now, and the bank is empty for it. */
	CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, "slow"), SB_EMPTY);
	sb_item_free(it);
	CHECK_RC(box, sb_box_confirm(box, ledger, "next"), SB_OK);
	st = stats_of(box, bank);
	CHECKF(box, st.assigned == 1 && st.on_hold == 0 && st.available == 0,
	       "assigned %llu on_hold %llu available %llu",
	       (unsigned long long)st.assigned, (unsigned long long)st.on_hold,
	       (unsigned long long)st.available);
	conf_check_conservation(box, bank, 1);
	free(v);
	free(v2);
out:
	free(bank);
	free(ledger);
	sb_box_close(box);
}

/* An id whose hold lapsed asks again: a fetch gives it an item for good,
 * and the lapsed one comes back to the bank. */
void case_hold_refetch(void)
{
	sb_box *box = conf_open();
	char *bank = conf_name("hr"), *ledger = conf_name("hr-l");
	const char *items[] = { "hr-1", "hr-2" };
	sb_recover_result rr;
	char *v, *v2, *lv;
	int64_t lexp;
	int is_new = 0;
	sb_stats st;

	if (!box || !keeps_holds(box))
		goto out;
	conf_add(box, bank, items, 2, 2, 0);
	v = hold_ok(box, bank, ledger, "u", LAPSING_TTL, NULL, NULL);
	lapse();
	v2 = conf_fetch_ok(box, bank, ledger, "u", &is_new, NULL);
	CHECKF(box, v2 && is_new, "a lapsed id is new to the ledger");
	CHECK_RC(box, lookup(box, ledger, "u", &lv, &lexp), SB_OK);
	CHECKF(box, same(lv, v2) && lexp == 0, "the new entry is for good");
	free(lv);
	CHECK_RC(box, sb_box_recover(&rr, box, bank, ledger, NULL), SB_OK);
	st = stats_of(box, bank);
	CHECKF(box, st.assigned == 1 && st.on_hold == 0 && st.available == 1,
	       "after recover: assigned %llu on_hold %llu available %llu",
	       (unsigned long long)st.assigned, (unsigned long long)st.on_hold,
	       (unsigned long long)st.available);
	conf_check_conservation(box, bank, 2);
	free(v);
	free(v2);
out:
	free(bank);
	free(ledger);
	sb_box_close(box);
}

/* Extend moves the deadline, only before it. */
void case_hold_extend(void)
{
	sb_box *box = conf_open();
	char *bank = conf_name("he"), *ledger = conf_name("he-l");
	const char *items[] = { "he-1", "he-2" };
	int64_t exp, lexp;
	char *v, *lv;

	if (!box || !keeps_holds(box))
		goto out;
	conf_add(box, bank, items, 2, 2, 0);
	v = hold_ok(box, bank, ledger, "a", LONG_TTL, &exp, NULL);
	CHECK_RC(box, sb_box_extend(box, ledger, "a", 3 * LONG_TTL), SB_OK);
	CHECK_RC(box, lookup(box, ledger, "a", &lv, &lexp), SB_OK);
	CHECKF(box, same(lv, v) && lexp >= exp + LONG_TTL,
	       "extended from %lld to %lld", (long long)exp, (long long)lexp);
	free(lv);
	/* Shortened to a deadline that then passes: lapsed. */
	CHECK_RC(box, sb_box_extend(box, ledger, "a", LAPSING_TTL), SB_OK);
	lapse();
	CHECK_RC(box, sb_box_confirm(box, ledger, "a"), SB_EEXPIRED);
	CHECK_RC(box, lookup(box, ledger, "a", &lv, &lexp), SB_ENOTFOUND);
	free(lv);
	/* Unknown ids. */
	CHECK_RC(box, sb_box_extend(box, ledger, "nobody", LONG_TTL),
	         SB_ENOTFOUND);
	CHECK_RC(box, sb_box_confirm(box, ledger, "nobody"), SB_ENOTFOUND);
	CHECK_RC(box, sb_box_release(box, ledger, "nobody", 0), SB_ENOTFOUND);
	free(v);
out:
	free(bank);
	free(ledger);
	sb_box_close(box);
}

/* Law 8: release gives back exactly that item, once; add still skips it. */
void case_hold_release(void)
{
	sb_box *box = conf_open();
	char *bank = conf_name("hx"), *ledger = conf_name("hx-l");
	const char *items[] = { "hx-1", "hx-2" };
	char *v, *w, *again, *lv;
	sb_item *it = NULL;
	int64_t lexp;
	int is_new;
	sb_stats st;

	if (!box || !keeps_holds(box))
		goto out;
	conf_add(box, bank, items, 2, 2, 0);

	/* A hold given back: available again, the id new. */
	v = hold_ok(box, bank, ledger, "a", LONG_TTL, NULL, NULL);
	CHECK_RC(box, sb_box_release(box, ledger, "a", SB_RELEASE_RESTOCK),
	         SB_OK);
	CHECK_RC(box, sb_box_release(box, ledger, "a", SB_RELEASE_RESTOCK),
	         SB_ENOTFOUND);
	CHECK_RC(box, lookup(box, ledger, "a", &lv, &lexp), SB_ENOTFOUND);
	free(lv);
	st = stats_of(box, bank);
	CHECKF(box, st.available == 2 && st.on_hold == 0,
	       "after release: available %llu on_hold %llu",
	       (unsigned long long)st.available,
	       (unsigned long long)st.on_hold);
	/* Law 6 still holds for a released item. */
	conf_add(box, bank, items, 2, 0, 2);

	/* An item for good, retired: never again. */
	w = conf_fetch_ok(box, bank, ledger, "b", NULL, NULL);
	CHECK_RC(box, sb_box_release(box, ledger, "b", SB_RELEASE_RETIRE),
	         SB_OK);
	st = stats_of(box, bank);
	CHECKF(box, st.retired == 1 && st.assigned == 0 && st.available == 1,
	       "after retire: retired %llu assigned %llu available %llu",
	       (unsigned long long)st.retired, (unsigned long long)st.assigned,
	       (unsigned long long)st.available);
	conf_add(box, bank, items, 2, 0, 2);
	conf_check_conservation(box, bank, 2);
	/* The id is new: it gets the other item, and then the bank is empty
	 * for everyone, the retired item included. */
	again = conf_fetch_ok(box, bank, ledger, "b", &is_new, NULL);
	CHECKF(box, again && is_new && !same(again, w),
	       "'b' asks again: '%s' (retired '%s')", again, w);
	CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, "c"), SB_EMPTY);
	sb_item_free(it);
	conf_check_conservation(box, bank, 2);
	free(v);
	free(w);
	free(again);
out:
	free(bank);
	free(ledger);
	sb_box_close(box);
}

/* Releasing a lapsed hold is too late: SB_EEXPIRED, and the item goes back
 * as a lapse (not retired). */
void case_hold_release_lapsed(void)
{
	sb_box *box = conf_open();
	char *bank = conf_name("hy"), *ledger = conf_name("hy-l");
	const char *items[] = { "hy-1" };
	char *v;
	sb_stats st;

	if (!box || !keeps_holds(box))
		goto out;
	conf_add(box, bank, items, 1, 1, 0);
	v = hold_ok(box, bank, ledger, "a", LAPSING_TTL, NULL, NULL);
	lapse();
	CHECK_RC(box, sb_box_release(box, ledger, "a", SB_RELEASE_RETIRE),
	         SB_EEXPIRED);
	st = stats_of(box, bank);
	CHECKF(box, st.retired == 0 && st.available == 1 && st.on_hold == 0,
	       "retired %llu available %llu on_hold %llu",
	       (unsigned long long)st.retired, (unsigned long long)st.available,
	       (unsigned long long)st.on_hold);
	conf_check_conservation(box, bank, 1);
	free(v);
out:
	free(bank);
	free(ledger);
	sb_box_close(box);
}

/* Several banks, one ledger: a held id gets its held item from any bank,
 * and the other bank is untouched. */
void case_hold_classes(void)
{
	sb_box *box = conf_open();
	char *b1 = conf_name("hc1"), *b2 = conf_name("hc2"),
	     *ledger = conf_name("hc-l");
	const char *i1[] = { "hc1-seat" }, *i2[] = { "hc2-seat" };
	char *v1, *v2, *bank_out = NULL;
	sb_item *it = NULL;

	if (!box || !keeps_holds(box))
		goto out;
	conf_add(box, b1, i1, 1, 1, 0);
	conf_add(box, b2, i2, 1, 1, 0);
	v1 = hold_ok(box, b1, ledger, "student", LONG_TTL, NULL, NULL);
	CHECK_RC(box, sb_box_hold(&it, box, b2, ledger, "student", LONG_TTL),
	         SB_OK);
	CHECKF(box,
	       it && same(sb_item_value(it), v1) &&
	               same(sb_item_bank(it), b1) && !sb_item_is_new(it),
	       "the class-1 hold comes back from class 2");
	sb_item_free(it);
	v2 = conf_fetch_ok(box, b2, ledger, "student", NULL, &bank_out);
	CHECKF(box, same(v2, v1) && same(bank_out, b1), "fetch: same");
	conf_check_conservation(box, b2, 1);
	CHECKF(box, stats_of(box, b2).available == 1, "class 2 untouched");
	/* Released, the student may join class 2. */
	CHECK_RC(box, sb_box_release(box, ledger, "student", 0), SB_OK);
	free(v2);
	free(bank_out);
	bank_out = NULL;
	v2 = conf_fetch_ok(box, b2, ledger, "student", NULL, &bank_out);
	CHECKF(box, same(v2, "hc2-seat") && same(bank_out, b2),
	       "after release: '%s' from '%s'", v2, bank_out);
	free(v1);
	free(v2);
	free(bank_out);
out:
	free(b1);
	free(b2);
	free(ledger);
	sb_box_close(box);
}

typedef struct {
	size_t n;
	char ids[8][32];
	int64_t exp[8];
} holds_seen;

static int on_hold_cb(const char *id, const char *bank, const char *item,
                      int64_t expires_ms, void *p)
{
	holds_seen *h = p;
	(void)bank;
	(void)item;
	if (h->n < 8) {
		snprintf(h->ids[h->n], sizeof h->ids[0], "%s", id);
		h->exp[h->n] = expires_ms;
	}
	h->n++;
	return 0;
}

static int on_entry_cb(const char *id, const char *bank, const char *item,
                       void *p)
{
	size_t *n = p;
	(void)id;
	(void)bank;
	(void)item;
	(*n)++;
	return 0;
}

/* export lists entries for good; export_holds the live holds; stats and
 * recover count them. */
void case_hold_export(void)
{
	sb_box *box = conf_open();
	char *bank = conf_name("hq"), *ledger = conf_name("hq-l");
	const char *items[] = { "hq-1", "hq-2", "hq-3", "hq-4" };
	sb_recover_result rr;
	holds_seen h;
	size_t entries = 0;
	char *a, *b, *c, *d;
	sb_stats st;

	if (!box || !keeps_holds(box))
		goto out;
	conf_add(box, bank, items, 4, 4, 0);
	a = hold_ok(box, bank, ledger, "h1", LONG_TTL, NULL, NULL);
	b = hold_ok(box, bank, ledger, "h2", LONG_TTL, NULL, NULL);
	c = conf_fetch_ok(box, bank, ledger, "f1", NULL, NULL);
	d = hold_ok(box, bank, ledger, "gone", LAPSING_TTL, NULL, NULL);
	lapse();
	memset(&h, 0, sizeof h);
	CHECK_RC(box, sb_box_export_holds(box, ledger, on_hold_cb, &h), SB_OK);
	CHECKF(box, h.n == 2 && h.exp[0] > 0 && h.exp[1] > 0,
	       "export_holds: %zu live holds", h.n);
	CHECK_RC(box, sb_box_export(box, ledger, on_entry_cb, &entries), SB_OK);
	CHECKF(box, entries == 1, "export: %zu entries for good", entries);
	CHECK_RC(box, conf_stats(&st, box, bank, ledger), SB_OK);
	CHECKF(box, st.held == 3, "held: %llu ids hold an item",
	       (unsigned long long)st.held);
	/* Recover reclaims the lapsed one. */
	CHECK_RC(box, sb_box_recover(&rr, box, bank, ledger, NULL), SB_OK);
	CHECKF(box, rr.lapsed == 1, "recover: lapsed %llu",
	       (unsigned long long)rr.lapsed);
	st = stats_of(box, bank);
	CHECKF(box, st.on_hold == 2 && st.assigned == 1 && st.available == 1,
	       "on_hold %llu assigned %llu available %llu",
	       (unsigned long long)st.on_hold, (unsigned long long)st.assigned,
	       (unsigned long long)st.available);
	conf_check_conservation(box, bank, 4);
	free(a);
	free(b);
	free(c);
	free(d);
out:
	free(bank);
	free(ledger);
	sb_box_close(box);
}

/* Bad input: a clear code, nothing changed. */
void case_hold_bad_input(void)
{
	sb_box *box = conf_open();
	char *bank = conf_name("hi"), *ledger = conf_name("hi-l");
	const char *items[] = { "hi-1" };
	const int64_t bad_ttl[] = { 0, -1, SB_MAX_TTL_MS + 1, INT64_MIN,
		                    INT64_MAX };
	sb_item *it = NULL;
	char *v;
	size_t i;

	if (!box || !keeps_holds(box))
		goto out;
	conf_add(box, bank, items, 1, 1, 0);
	for (i = 0; i < sizeof bad_ttl / sizeof bad_ttl[0]; i++) {
		CHECK_RC(box,
		         sb_box_hold(&it, box, bank, ledger, "u", bad_ttl[i]),
		         SB_EINVALID);
		CHECK(box, it == NULL);
		CHECK(box, t_contains(sb_box_errmsg(box), "ttl"));
	}
	conf_check_conservation(box, bank, 1);
	CHECKF(box, stats_of(box, bank).available == 1, "nothing taken");
	v = hold_ok(box, bank, ledger, "u", LONG_TTL, NULL, NULL);
	for (i = 0; i < sizeof bad_ttl / sizeof bad_ttl[0]; i++)
		CHECK_RC(box, sb_box_extend(box, ledger, "u", bad_ttl[i]),
		         SB_EINVALID);
	CHECK_RC(box, sb_box_release(box, ledger, "u", 2), SB_EINVALID);
	CHECK_RC(box, sb_box_release(box, ledger, "u", ~0u), SB_EINVALID);
	CHECK_RC(box, sb_box_confirm(box, ledger, ""), SB_EINVALID);
	CHECK_RC(box, sb_box_confirm(box, "", "u"), SB_EINVALID);
	CHECK_RC(box, sb_box_confirm(box, ledger, "a\nb"), SB_EINVALID);
	CHECK_RC(box, sb_box_release(box, ledger, NULL, 0), SB_EINVALID);
	CHECK_RC(box, sb_box_extend(NULL, ledger, "u", LONG_TTL), SB_EINVALID);
	CHECK_RC(box, sb_box_hold(NULL, box, bank, ledger, "u", LONG_TTL),
	         SB_EINVALID);
	/* Nothing changed: still held by u. */
	CHECKF(box, stats_of(box, bank).on_hold == 1, "still on hold");
	CHECK_RC(box, sb_box_confirm(box, ledger, "u"), SB_OK);
	conf_check_conservation(box, bank, 1);
	free(v);
out:
	free(bank);
	free(ledger);
	sb_box_close(box);
}

#if SB_FAULT_INJECTION
/* The fault hook: die once at the named point. */
typedef struct {
	const char *point;
	int fired;
} die_at;

static int die_hook(const char *point, void *payload)
{
	die_at *d = payload;

	if (d->fired || strcmp(point, d->point) != 0)
		return 0;
	d->fired = 1;
	return 1;
}

/* Run @p call with a death at @p point; check that it died there. */
#define DIES_AT(box, pt, call)                                              \
	do {                                                                \
		die_at d_ = { (pt), 0 };                                    \
		int rc_;                                                    \
		sb__fault_set_hook(die_hook, &d_);                          \
		rc_ = (call);                                               \
		sb__fault_set_hook(NULL, NULL);                             \
		CHECKF((box), d_.fired &&rc_ == SB_ERROR,                   \
		       "died at %s: fired %d, rc %d", (pt), d_.fired, rc_); \
	} while (0)

static sb_recover_result recover(sb_box *box, const char *bank,
                                 const char *ledger)
{
	sb_recover_result rr;
	memset(&rr, 0, sizeof rr);
	CHECK_RC(box, sb_box_recover(&rr, box, bank, ledger, NULL), SB_OK);
	return rr;
}
#endif

/* A client dies at every crash point of the generic order (docs/holds.md);
 * recover rolls each state forward and every law holds after. Needs the
 * in-process fault hook: fault builds only. */
void case_hold_crash(void)
{
#if SB_FAULT_INJECTION
	sb_box *box = conf_open_as(SB_PROTOCOL_GENERIC);
	char *bank = conf_name("hk"), *ledger = conf_name("hk-l");
	const char *items[] = { "hk-1", "hk-2", "hk-3", "hk-4", "hk-5" };
	sb_item *it = NULL;
	sb_recover_result rr;
	char *v, *lv;
	int64_t lexp;
	sb_stats st;

	if (!box || !keeps_holds(box))
		goto out;
	conf_add(box, bank, items, 5, 5, 0);

	/* hold_after_take: held, no entry. It is nobody's: recover leaves
	 * it until the deadline, then reclaims it. */
	DIES_AT(box, SB_FP_HOLD_AFTER_TAKE,
	        sb_box_hold(&it, box, bank, ledger, "t", LAPSING_TTL));
	sb_item_free(it);
	it = NULL;
	CHECK_RC(box, lookup(box, ledger, "t", &lv, &lexp), SB_ENOTFOUND);
	free(lv);
	CHECKF(box, stats_of(box, bank).on_hold == 1, "held, no entry");
	lapse();
	rr = recover(box, bank, ledger);
	CHECKF(box, rr.lapsed == 1 && stats_of(box, bank).on_hold == 0,
	       "hold_after_take: lapsed %llu", (unsigned long long)rr.lapsed);
	conf_check_conservation(box, bank, 5);

	/* confirm_after_ledger: the ledger says for good; recover settles
	 * the bank. */
	v = hold_ok(box, bank, ledger, "c", LONG_TTL, NULL, NULL);
	DIES_AT(box, SB_FP_CONFIRM_AFTER_LEDGER,
	        sb_box_confirm(box, ledger, "c"));
	CHECK_RC(box, lookup(box, ledger, "c", &lv, &lexp), SB_OK);
	CHECKF(box, same(lv, v) && lexp == 0, "confirmed in the ledger");
	free(lv);
	free(v);
	rr = recover(box, bank, ledger);
	st = stats_of(box, bank);
	CHECKF(box, rr.settled == 1 && st.assigned == 1 && st.on_hold == 0,
	       "confirm_after_ledger: settled %llu assigned %llu",
	       (unsigned long long)rr.settled, (unsigned long long)st.assigned);
	CHECK_RC(box, sb_box_confirm(box, ledger, "c"), SB_OK);

	/* release_after_mark and release_after_remove: recover finishes
	 * the release (restock, then retire). */
	v = hold_ok(box, bank, ledger, "r1", LONG_TTL, NULL, NULL);
	DIES_AT(box, SB_FP_RELEASE_AFTER_MARK,
	        sb_box_release(box, ledger, "r1", SB_RELEASE_RESTOCK));
	rr = recover(box, bank, ledger);
	CHECKF(box, rr.released == 1, "release_after_mark: released %llu",
	       (unsigned long long)rr.released);
	CHECK_RC(box, lookup(box, ledger, "r1", &lv, &lexp), SB_ENOTFOUND);
	free(lv);
	free(v);
	v = conf_fetch_ok(box, bank, ledger, "r2", NULL, NULL);
	DIES_AT(box, SB_FP_RELEASE_AFTER_REMOVE,
	        sb_box_release(box, ledger, "r2", SB_RELEASE_RETIRE));
	rr = recover(box, bank, ledger);
	st = stats_of(box, bank);
	CHECKF(box, rr.released == 1 && st.retired == 1,
	       "release_after_remove: released %llu retired %llu",
	       (unsigned long long)rr.released, (unsigned long long)st.retired);
	free(v);
	conf_check_conservation(box, bank, 5);

	/* reclaim_after_mark: recovery itself dies; the next one finishes
	 * the reclaim. */
	v = hold_ok(box, bank, ledger, "z", LAPSING_TTL, NULL, NULL);
	lapse();
	DIES_AT(box, SB_FP_RECLAIM_AFTER_MARK,
	        sb_box_recover(&rr, box, bank, ledger, NULL));
	rr = recover(box, bank, ledger);
	CHECKF(box, rr.lapsed == 1, "reclaim_after_mark: lapsed %llu",
	       (unsigned long long)rr.lapsed);
	free(v);
	st = stats_of(box, bank);
	CHECKF(box,
	       st.reserved == 0 && st.on_hold == 0 && st.assigned == 1 &&
	               st.retired == 1 && st.available == 3,
	       "at the end: reserved %llu on_hold %llu assigned %llu retired "
	       "%llu available %llu",
	       (unsigned long long)st.reserved, (unsigned long long)st.on_hold,
	       (unsigned long long)st.assigned, (unsigned long long)st.retired,
	       (unsigned long long)st.available);
	conf_check_conservation(box, bank, 5);
out:
	free(bank);
	free(ledger);
	sb_box_close(box);
#endif
}
