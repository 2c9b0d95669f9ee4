/* Bank steps that come after the world moved on (generic path, fault
 * builds): each forced ordering below once ended with the bank ahead of
 * the ledger.
 *
 *   confirm, extend: the ledger step is done and the call is held before
 *   its bank step; the id releases the item and holds it again (a bank of
 *   one). The old bank step then settled the new hold for good (the item
 *   lost once the hold lapsed), or gave the bank the old, longer deadline
 *   (the lapsed hold hidden from claims until then, law 5).
 *
 *   extend to an earlier deadline: its bank step is done first, and the
 *   call is held before its ledger step; the id releases the item and
 *   holds it anew, longer. The ledger step then moved the new entry to
 *   the earlier deadline, and the bank kept the new hold's later one.
 *
 *   a losing twin's give-back: twin a of an id lost to twin b and is
 *   about to give its item back; the id releases b's item, another id
 *   takes it, and the id's third request finds the bank empty; its pass
 *   records a's item for the id. a's give-back then made that item
 *   available to anyone: one item, two ids.
 *
 *   release under reclaim: a retire read a live hold, then the hold
 *   lapsed and a recovery pass marked it reclaiming. The retire took the
 *   item from that pass; a second pass took the retire over, found the
 *   hold lapsed and restocked, leaving the lapsed entry for the retire
 *   to read; the first pass then removed that entry as the lapse it was
 *   reclaiming, and the retire, finding no entry, answered SB_OK for an
 *   item back in the bank (a retired item handed out again, seen in
 *   holds-race-redis-generic's mix).
 *
 *   stale passes: an extend to a short deadline is held between its bank
 *   and ledger steps; the short deadline passes. Pass A marks the item
 *   reclaiming, reads the old, long deadline in the ledger and is held
 *   before its bank step; pass C takes the reclaim over and is held
 *   before its ledger step; pass B takes it over from C, reads the old
 *   deadline too and puts it back on the bank. The extend goes on (its
 *   ledger step, then the bank to the short deadline); C removes the
 *   entry, lapsed by now (its bank step is refused: the item is held
 *   again); A goes on last. Its move to held, which also applied to an
 *   item already held, put the long deadline back on an item no entry
 *   named: hidden from every claim until then (holds-race-sqlite-
 *   generic's mix, seen in a trace of the rows). */
#include "hr.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

#define LONG_MS  60000
#define SHORT_MS 400

/* Open @p gate, wait for the call it held to end (*@p running: no
 * longer), which must have succeeded. */
static void let_go(int gate, hr_call *c, int *running)
{
	hr_gate_open_at(gate);
	hr_call_join(c);
	*running = 0;
	CHECK_RC(c->box, c->rc, SB_OK);
}

/* The id "id" holds the bank's only item anew, for SHORT_MS: returns its
 * deadline (0 after a failed check). */
static int64_t hold_again(sb_box *box, const char *bank, const char *ledger,
                          const char *item)
{
	int64_t deadline = 0;
	char *again;

	CHECK_RC(box, sb_box_release(box, ledger, "id", SB_RELEASE_RESTOCK),
	         SB_OK);
	again = hr_hold(box, bank, ledger, "id", SHORT_MS, &deadline);
	if (!CHECKF(box, hr_same(again, item), "the id held %s again, not %s",
	            again ? again : "nothing", item))
		deadline = 0;
	free(again);
	return deadline;
}

/* Held after its ledger step, the confirm or extend of a hold that the
 * id then releases and takes anew: the new hold lapses as any hold, and
 * its item goes to the next id that asks. */
static void update_after_rehold(sb_box **box, int extend)
{
	const char *what = extend ? "extend" : "confirm";
	char *bank = hr_bank(box[0], extend ? "se" : "sc", 1);
	char *ledger = hr_name(extend ? "se-l" : "sc-l");
	hr_call u = hr_call_of(box[1], NULL, ledger, "id",
	                       extend ? HR_EXTEND : HR_CONFIRM, 1);
	hr_call f = hr_call_of(box[2], bank, ledger, "other", HR_FETCH, 0);
	char *item = NULL, *now = NULL;
	int64_t deadline = 0, exp;
	int64_t first;
	int running = 0;
	sb_stats st;

	u.ttl_ms = 2 * LONG_MS;
	if (!(item = hr_hold(box[0], bank, ledger, "id", LONG_MS, &first)))
		goto out;
	hr_gate_arm(extend ? SB_FP_EXTEND_AFTER_LEDGER
	                   : SB_FP_CONFIRM_AFTER_LEDGER,
	            1);
	hr_call_start(&u);
	running = 1;
	if (!CHECKF(NULL, hr_gate_reached(), "%s never wrote the ledger", what))
		goto out;
	deadline = hold_again(box[2], bank, ledger, item);
	hr_gate_open();
	hr_call_join(&u);
	running = 0;
	CHECK_RC(u.box, u.rc, SB_OK);
	if (!deadline)
		goto out;
	st = hr_stats(box[0], bank, NULL);
	CHECKF(box[0], st.on_hold == 1 && st.assigned == 0,
	       "%s held before its bank step, the id's new hold: on_hold "
	       "%llu assigned %llu",
	       what, (unsigned long long)st.on_hold,
	       (unsigned long long)st.assigned);
	CHECKF(box[0],
	       hr_lookup(box[0], ledger, "id", &now, &exp) == SB_OK &&
	               hr_same(now, item) && exp == deadline,
	       "%s: the id holds %s until %lld, not %s until %lld", what,
	       now ? now : "nothing", (long long)exp, item,
	       (long long)deadline);
	hr_sleep_until_us(deadline * 1000 + HR_SLACK_US);
	hr_call_run(&f);
	CHECKF(f.box, f.rc == SB_OK && hr_same(f.item, item) && f.is_new,
	       "%s held before its bank step: the id's new hold lapsed, yet "
	       "another id got %s (%s)",
	       what, f.item ? f.item : "-", hr_rc(f.rc));
	st = hr_settle(box[0], bank, ledger, 1, what);
	CHECKF(box[0], st.assigned == 1,
	       "%s after a new hold: assigned %llu after recover", what,
	       (unsigned long long)st.assigned);
out:
	hr_gate_open();
	if (running)
		hr_call_join(&u);
	hr_call_clear(&u);
	hr_call_clear(&f);
	free(now);
	free(item);
	free(bank);
	free(ledger);
}

/* An extend to an earlier deadline, held after its bank step (the bank
 * moves first, so that it never keeps a later deadline than the ledger):
 * the id releases the item and holds it anew, for LONG_MS; the extend's
 * ledger step then moves the *new* entry to the extend's deadline, while
 * the bank has the new hold's, later one. The extend looks at the bank
 * after its ledger step: past the new deadline, the hold has lapsed and
 * another id gets the item (left ahead, the bank answered "empty" until
 * LONG_MS). */
static void earlier_after_rehold(sb_box **box)
{
	char *bank = hr_bank(box[0], "sx", 1), *ledger = hr_name("sx-l");
	hr_call u = hr_call_of(box[1], NULL, ledger, "id", HR_EXTEND, 1);
	hr_call f = hr_call_of(box[2], bank, ledger, "other", HR_FETCH, 0);
	char *item = NULL, *again = NULL, *now = NULL;
	int64_t first, second = 0, exp = 0;
	int running = 0;

	u.ttl_ms = 2000;
	if (!(item = hr_hold(box[0], bank, ledger, "id", LONG_MS, &first)))
		goto out;
	hr_gate_arm(SB_FP_EXTEND_AFTER_BANK, 1);
	hr_call_start(&u);
	running = 1;
	if (!CHECKF(NULL, hr_gate_reached(),
	            "the extend to an earlier deadline never moved the bank"))
		goto out;
	CHECK_RC(box[2],
	         sb_box_release(box[2], ledger, "id", SB_RELEASE_RESTOCK),
	         SB_OK);
	again = hr_hold(box[2], bank, ledger, "id", LONG_MS, &second);
	CHECKF(NULL, hr_same(again, item), "the id held %s again, not %s",
	       again ? again : "nothing", item);
	hr_gate_open();
	hr_call_join(&u);
	running = 0;
	CHECK_RC(u.box, u.rc, SB_OK);
	if (!CHECKF(box[0],
	            hr_lookup(box[0], ledger, "id", &now, &exp) == SB_OK &&
	                    hr_same(now, item) && exp > 0 && exp < second,
	            "earlier extend after a new hold: the id holds %s until "
	            "%lld, the new hold's deadline is %lld",
	            now ? now : "nothing", (long long)exp, (long long)second))
		goto out;
	hr_sleep_until_us(exp * 1000 + HR_SLACK_US);
	hr_call_run(&f);
	CHECKF(f.box, f.rc == SB_OK && hr_same(f.item, item) && f.is_new,
	       "earlier extend after a new hold: the hold lapsed at the "
	       "extend's deadline, yet another id got %s (%s)",
	       f.item ? f.item : "-", hr_rc(f.rc));
	hr_settle(box[0], bank, ledger, 1, "earlier extend after a new hold");
out:
	hr_gate_open();
	if (running)
		hr_call_join(&u);
	hr_call_clear(&u);
	hr_call_clear(&f);
	free(now);
	free(again);
	free(item);
	free(bank);
	free(ledger);
}

/* The ordering of the file comment, with a hold of @p ttl_ms. Returns 0
 * when the hold lapsed before the retire read it (try a longer one). */
static int retire_under_reclaim(sb_box **box, sb_box *rbox, int64_t ttl_ms)
{
	char *bank = hr_bank(box[0], "sr", 1), *ledger = hr_name("sr-l");
	hr_call rel = hr_call_of(box[1], NULL, ledger, "id", HR_RELEASE, 1);
	hr_call p1 = hr_call_of(rbox, bank, ledger, NULL, HR_RECOVER, 2);
	hr_call p2 = hr_call_of(box[2], bank, ledger, NULL, HR_RECOVER, 0);
	char *item = NULL, *now = NULL;
	int64_t deadline = 0, exp;
	int forced = 1, rel_on = 0, p1_on = 0;
	sb_stats st;

	rel.flags = SB_RELEASE_RETIRE;
	if (!(item = hr_hold(box[0], bank, ledger, "id", ttl_ms, &deadline)))
		goto out;
	hr_gate_arm_at(0, SB_FP_RELEASE_AFTER_GET, 1);
	hr_gate_arm_at(1, SB_FP_RECLAIM_AFTER_MARK, 2);
	hr_gate_arm_at(2, SB_FP_RELEASE_AFTER_MARK, 1);
	hr_call_start(&rel);
	rel_on = 1;
	if (!hr_gate_reached_at(0)) {
		hr_call_join(&rel);
		rel_on = 0;
		forced = 0;
		CHECKF(rel.box, rel.rc == SB_EEXPIRED,
		       "the retire never read a live hold, and answered %s",
		       hr_rc(rel.rc));
		goto out;
	}
	hr_sleep_until_us(deadline * 1000 + HR_SLACK_US);
	hr_call_start(&p1);
	p1_on = 1;
	if (!CHECKF(NULL, hr_gate_reached_at(1),
	            "recover never marked the lapsed hold"))
		goto out;
	hr_gate_open_at(0);
	/* The retire marks now, or waits for the pass that has the item. */
	t_nap_ms(100);
	hr_call_run(&p2);
	CHECK_RC(p2.box, p2.rc, SB_OK);
	let_go(1, &p1, &p1_on);
	hr_gate_open_at(2);
	hr_call_join(&rel);
	rel_on = 0;
	/* The hold lapsed before the retire marked: it did not take
	 * effect. */
	CHECKF(rel.box, rel.rc == SB_EEXPIRED || rel.rc == SB_ENOTFOUND,
	       "a retire whose hold lapsed before its mark answered %s",
	       hr_rc(rel.rc));
	CHECK_RC(box[0], hr_lookup(box[0], ledger, "id", &now, &exp),
	         SB_ENOTFOUND);
	st = hr_settle(box[0], bank, ledger, 1, "retire under reclaim");
	CHECKF(box[0], st.available == 1 && st.retired == 0,
	       "retire under reclaim (answered %s): available %llu retired "
	       "%llu",
	       hr_rc(rel.rc), (unsigned long long)st.available,
	       (unsigned long long)st.retired);
out:
	hr_gate_open_at(0);
	hr_gate_open_at(1);
	hr_gate_open_at(2);
	if (rel_on)
		hr_call_join(&rel);
	if (p1_on)
		hr_call_join(&p1);
	hr_call_clear(&rel);
	hr_call_clear(&p1);
	hr_call_clear(&p2);
	free(now);
	free(item);
	free(bank);
	free(ledger);
	return forced;
}

/* Twin a of id "id" took an item and is held; twin b holds the other
 * item and wins; a finds the id taken and is held before it gives its
 * item back. The id releases b's item, another id takes it, and the id's
 * third request finds the bank empty: its recovery pass finds a's held
 * item, which no entry names, and records it for the id (twins give one
 * answer). Then a gives its item back: that must not make the item the
 * id now holds available to anyone else. */
static void loser_recorded(sb_box **box)
{
	char *bank = hr_bank(box[0], "sl", 2), *ledger = hr_name("sl-l");
	hr_call a = hr_call_of(box[1], bank, ledger, "id", HR_HOLD, 1);
	hr_call b, c, o, p;
	char *now = NULL;
	int64_t exp;
	int running = 0;

	a.ttl_ms = LONG_MS;
	b = a;
	b.box = box[2];
	b.role = 0;
	c = b;
	o = b;
	o.id = "other";
	o.op = HR_FETCH;
	p = o;
	p.id = "p";
	hr_gate_arm_at(0, SB_FP_HOLD_AFTER_TAKE, 1);
	hr_gate_arm_at(1, SB_FP_BEFORE_PUT_BACK, 1);
	hr_call_start(&a);
	running = 1;
	if (!CHECKF(NULL, hr_gate_reached_at(0), "twin a never took an item"))
		goto out;
	hr_call_run(&b);
	if (!CHECK_RC(b.box, b.rc, SB_OK))
		goto out;
	hr_gate_open_at(0);
	if (!CHECKF(NULL, hr_gate_reached_at(1),
	            "twin a never came to give its item back (answered %s)",
	            hr_rc(a.rc)))
		goto out;
	CHECK_RC(box[2], sb_box_release(box[2], ledger, "id", 0), SB_OK);
	hr_call_run(&o);
	CHECKF(o.box, o.rc == SB_OK && hr_same(o.item, b.item),
	       "the other id got %s (%s), not the item released, %s",
	       o.item ? o.item : "-", hr_rc(o.rc), b.item);
	hr_call_run(&c);
	CHECKF(c.box, c.rc == SB_OK && c.item && !hr_same(c.item, b.item),
	       "the id's third request got %s (%s), not twin a's item",
	       c.item ? c.item : "-", hr_rc(c.rc));
	hr_gate_open_at(1);
	hr_call_join(&a);
	running = 0;
	CHECKF(box[0],
	       hr_lookup(box[0], ledger, "id", &now, &exp) == SB_OK &&
	               hr_same(now, c.item),
	       "the id holds %s, its third request was told %s",
	       now ? now : "nothing", c.item ? c.item : "-");
	/* The id holds a's item: nobody else may get it. */
	hr_call_run(&p);
	CHECKF(p.box, p.rc == SB_EMPTY,
	       "the id holds %s (its third request's answer), yet another "
	       "id got %s (%s)",
	       c.item ? c.item : "-", p.item ? p.item : "-", hr_rc(p.rc));
	hr_settle(box[0], bank, ledger, 2, "loser recorded");
out:
	hr_gate_open_at(0);
	hr_gate_open_at(1);
	if (running)
		hr_call_join(&a);
	hr_call_clear(&a);
	hr_call_clear(&b);
	hr_call_clear(&c);
	hr_call_clear(&o);
	hr_call_clear(&p);
	free(now);
	free(bank);
	free(ledger);
}

/* The stale passes of the file comment. */
static void stale_passes(sb_box **box, sb_box *rbox)
{
	char *bank = hr_bank(box[0], "sp", 1), *ledger = hr_name("sp-l");
	hr_call e = hr_call_of(box[1], NULL, ledger, "id", HR_EXTEND, 1);
	hr_call a = hr_call_of(rbox, bank, ledger, NULL, HR_RECOVER, 2);
	hr_call c = hr_call_of(box[2], bank, ledger, NULL, HR_RECOVER, 3);
	hr_call b = hr_call_of(box[0], bank, ledger, NULL, HR_RECOVER, 0);
	hr_call f = hr_call_of(box[0], bank, ledger, "other", HR_FETCH, 0);
	char *item = NULL, *now = NULL;
	int64_t first, exp = 0;
	int e_on = 0, a_on = 0, c_on = 0;

	e.ttl_ms = 200;
	if (!(item = hr_hold(box[0], bank, ledger, "id", LONG_MS, &first)))
		goto out;
	hr_gate_arm_at(0, SB_FP_EXTEND_AFTER_BANK, 1);
	hr_gate_arm_at(1, SB_FP_RECLAIM_AFTER_LEDGER, 2);
	hr_gate_arm_at(2, SB_FP_RECLAIM_AFTER_TAKEOVER, 3);
	hr_call_start(&e);
	e_on = 1;
	if (!CHECKF(NULL, hr_gate_reached_at(0),
	            "stale passes: the extend never moved the bank"))
		goto out;
	/* The extend's deadline (its start + 200 ms) passes. */
	hr_sleep_until_us(e.t0 + (e.ttl_ms * 1000) + HR_SLACK_US);
	hr_call_start(&a);
	a_on = 1;
	if (!CHECKF(NULL, hr_gate_reached_at(1),
	            "stale passes: pass A never decided the lapse"))
		goto out;
	hr_call_start(&c);
	c_on = 1;
	if (!CHECKF(NULL, hr_gate_reached_at(2),
	            "stale passes: pass C never took the reclaim over"))
		goto out;
	hr_call_run(&b);
	CHECK_RC(b.box, b.rc, SB_OK);
	let_go(0, &e, &e_on);
	let_go(2, &c, &c_on);
	let_go(1, &a, &a_on);
	CHECKF(box[0],
	       hr_lookup(box[0], ledger, "id", &now, &exp) != SB_OK ||
	               (exp > 0 && exp * 1000 < hr_now_us()),
	       "stale passes: the id still holds %s until %lld",
	       now ? now : "-", (long long)exp);
	/* The hold lapsed at the extend's deadline: the item is anyone's. */
	hr_call_run(&f);
	CHECKF(f.box, f.rc == SB_OK && hr_same(f.item, item) && f.is_new,
	       "stale passes: the hold lapsed at the extend's deadline, yet "
	       "another id got %s (%s)",
	       f.item ? f.item : "-", hr_rc(f.rc));
	hr_settle(box[0], bank, ledger, 1, "stale passes");
out:
	hr_gate_open_at(0);
	hr_gate_open_at(1);
	hr_gate_open_at(2);
	if (e_on)
		hr_call_join(&e);
	if (c_on)
		hr_call_join(&c);
	if (a_on)
		hr_call_join(&a);
	hr_call_clear(&e);
	hr_call_clear(&a);
	hr_call_clear(&c);
	hr_call_clear(&b);
	hr_call_clear(&f);
	free(now);
	free(item);
	free(bank);
	free(ledger);
}

void hr_stale(void)
{
	sb_box *box[3], *rbox = hr_open();
	int64_t ttl_ms = 300;
	int k;

	for (k = 0; k < 3; k++)
		box[k] = hr_open();
	if (!rbox || !box[0] || !box[1] || !box[2] || !hr_gate_usable()) {
		printf("stale: not forced (%s)\n",
		       hr.generic ? "no fault hook in this build"
		                  : "the fused path has no bank step after "
		                    "the ledger's");
		goto out;
	}
	update_after_rehold(box, 0);
	update_after_rehold(box, 1);
	earlier_after_rehold(box);
	loser_recorded(box);
	stale_passes(box, rbox);
	while (!retire_under_reclaim(box, rbox, ttl_ms) && ttl_ms < 20000)
		ttl_ms *= 4;
	CHECKF(NULL, ttl_ms < 20000,
	       "the retire never read its hold live, up to a hold of %lld ms",
	       (long long)ttl_ms);
	printf("stale: confirm and extend held before their bank step while "
	       "the id released and held the item anew (and an extend to an "
	       "earlier deadline between its bank and ledger steps); a "
	       "losing twin held "
	       "before its give-back while a pass recorded its item; a "
	       "retire held while a pass reclaimed its lapsed hold and "
	       "another took it over; passes that read the ledger before "
	       "a short extend's ledger step, taken over, going on after "
	       "it\n");
out:
	for (k = 0; k < 3; k++)
		sb_box_close(box[k]);
	sb_box_close(rbox);
}
