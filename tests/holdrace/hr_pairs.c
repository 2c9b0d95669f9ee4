/* Two calls for one id at once.
 *
 * Release racing a repeat fetch: an id holds an item (on hold or for
 * good); one thread releases it (restock or retire) while another fetches
 * (or holds) for the same id. Either the fetch came first (it got the
 * same item, not new, and the id holds nothing after) or the release did
 * (the fetch is a new claim and the id holds what it got); a retired item
 * never comes back. Forced (fault builds, generic order): the fetch comes
 * while the release is held after marking the item (a repeat), and after
 * removing the entry (a new claim, which finishes the release when the
 * released item is the bank's last).
 *
 * A hold's twins: the same id holds from two threads at once (or holds
 * and fetches): one item, the same answer to both, one of them new, and
 * the loser's item back in the bank. Forced: one twin held after taking
 * its item until the other has recorded the id. */
#include "hr.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LONG_TTL (10 * 60 * 1000)

static size_t rounds(void)
{
	return t_env_size("SB_HR_PAIRS", 40);
}

/* The id takes an item: held (@p hold) or for good. */
static char *take(sb_box *box, const char *bank, const char *ledger,
                  const char *id, int hold)
{
	sb_item *it = NULL;
	int rc = hold ? sb_box_hold(&it, box, bank, ledger, id, LONG_TTL)
	              : sb_box_fetch(&it, box, bank, ledger, id);
	char *v = NULL;

	if (CHECK_RC(box, rc, SB_OK))
		v = t_xstrdup(sb_item_value(it));
	sb_item_free(it);
	return v;
}

/* The id's release (restock, or retire), on a thread of gate role
 * @p role. */
static hr_call release_call(sb_box *box, const char *ledger, int retire,
                            int role)
{
	hr_call c = hr_call_of(box, NULL, ledger, "id", HR_RELEASE, role);

	c.flags = retire ? SB_RELEASE_RETIRE : SB_RELEASE_RESTOCK;
	return c;
}

/* After a release of @p item and a fetch @p f of the same id: the laws,
 * whichever came first. Returns 1 if the fetch came first. */
static int judge_release(sb_box *box, const char *bank, const char *ledger,
                         const char *item, int retire, const hr_call *f,
                         size_t nitems, const char *what)
{
	char *now = NULL;
	int64_t exp;
	int rc = hr_lookup(box, ledger, "id", &now, &exp);
	int first = 0;
	sb_stats st;

	if (rc == SB_ENOTFOUND && f->rc == SB_EMPTY) {
		/* The release came first and retired the bank's last item. */
		CHECKF(box, retire && nitems == 1,
		       "%s: the fetch found the bank empty", what);
	} else if (rc == SB_ENOTFOUND) {
		/* The fetch was a repeat, and then the release took it. */
		first = 1;
		CHECKF(box,
		       f->rc == SB_OK && hr_same(f->item, item) && !f->is_new,
		       "%s: the id holds nothing, so the %s came first, yet "
		       "it got %s (%s, new %d), not %s",
		       what, hr_op_name(f->op), f->item ? f->item : "-",
		       hr_rc(f->rc), f->is_new, item);
	} else if (CHECK_RC(box, rc, SB_OK)) {
		/* The release came first: the fetch is a new claim. */
		CHECKF(box,
		       f->rc == SB_OK && hr_same(f->item, now) && f->is_new &&
		               !(retire && hr_same(now, item)),
		       "%s: the id holds %s after the release, the %s got %s "
		       "(%s, new %d); released %s%s",
		       what, now, hr_op_name(f->op), f->item ? f->item : "-",
		       hr_rc(f->rc), f->is_new, item,
		       retire ? " for good" : "");
	}
	st = hr_settle(box, bank, ledger, nitems, what);
	CHECKF(box, st.retired == (uint64_t)(retire != 0), "%s: retired %llu",
	       what, (unsigned long long)st.retired);
	CHECKF(box, st.on_hold + st.assigned == (uint64_t)(rc == SB_OK),
	       "%s: on_hold %llu assigned %llu, the id holds %s", what,
	       (unsigned long long)st.on_hold, (unsigned long long)st.assigned,
	       now ? now : "nothing");
	free(now);
	return first;
}

static void release_race(sb_box **box, int k, size_t *first)
{
	char *bank = hr_bank(box[0], "rr", 2), *ledger = hr_name("rr-l");
	int retire = (k / 2) % 2, hold = k % 2;
	char *item = take(box[0], bank, ledger, "id", hold);
	pthread_barrier_t meet;
	hr_call rel = { 0 }, f = { 0 };

	if (!item)
		goto out;
	pthread_barrier_init(&meet, NULL, 2);
	rel = release_call(box[1], ledger, retire, 0);
	rel.barrier = &meet;
	f = hr_call_of(box[2], bank, ledger, "id",
	               (k / 4) % 2 ? HR_HOLD : HR_FETCH, 0);
	f.ttl_ms = LONG_TTL;
	f.barrier = &meet;
	hr_call_start(&rel);
	hr_call_start(&f);
	hr_call_join(&rel);
	hr_call_join(&f);
	pthread_barrier_destroy(&meet);
	CHECKF(rel.box, rel.rc == SB_OK, "round %d: release of a live %s: %s",
	       k, hold ? "hold" : "item", hr_rc(rel.rc));
	*first += judge_release(box[0], bank, ledger, item, retire, &f, 2,
	                        "release racing a repeat fetch");
out:
	hr_call_clear(&rel);
	hr_call_clear(&f);
	free(item);
	free(bank);
	free(ledger);
}

/* Forced: the fetch comes while the release is held at @p point. At
 * release_after_mark the entry still stands (a repeat); at
 * release_after_remove it is gone (a new claim): with the released item
 * the bank's only one, the claim's recovery pass finishes the release
 * first (restock: the id gets the same item again, new; retire: empty). */
static void release_held(sb_box **box, const char *point, int retire)
{
	int after_remove = strcmp(point, SB_FP_RELEASE_AFTER_REMOVE) == 0;
	size_t nitems = after_remove ? 1 : 2;
	char *bank = hr_bank(box[0], "rh", nitems), *ledger = hr_name("rh-l");
	char *item = take(box[0], bank, ledger, "id", 1);
	hr_call rel = release_call(box[1], ledger, retire, 1);
	hr_call f = hr_call_of(box[2], bank, ledger, "id", HR_FETCH, 0);

	if (!item)
		goto out;
	hr_gate_arm(point, 1);
	hr_call_start(&rel);
	CHECKF(NULL, hr_gate_reached(), "the release never reached %s", point);
	hr_call_run(&f);
	if (!after_remove)
		CHECKF(f.box,
		       f.rc == SB_OK && hr_same(f.item, item) && !f.is_new,
		       "%s: a fetch while the release is marked got %s (%s)",
		       point, f.item ? f.item : "-", hr_rc(f.rc));
	else if (retire)
		CHECKF(f.box, f.rc == SB_EMPTY,
		       "%s: the only item is being retired, yet the fetch got "
		       "%s (%s)",
		       point, f.item ? f.item : "-", hr_rc(f.rc));
	else
		CHECKF(f.box,
		       f.rc == SB_OK && hr_same(f.item, item) && f.is_new,
		       "%s: the only item is being restocked, yet the fetch "
		       "got %s (%s)",
		       point, f.item ? f.item : "-", hr_rc(f.rc));
	hr_gate_open();
	hr_call_join(&rel);
	CHECK_RC(rel.box, rel.rc, SB_OK);
	judge_release(box[0], bank, ledger, item, retire, &f, nitems, point);
out:
	hr_call_clear(&f);
	hr_call_clear(&rel);
	free(item);
	free(bank);
	free(ledger);
}

/* Forced: a recovery pass comes while a release is held after marking
 * the item, and finishes it; then the release goes on. The id held the
 * item when it asked, and the item was given back: the release answers
 * SB_OK (SB_ENOTFOUND means "the id holds nothing"). */
static void release_recovered(sb_box **box, int retire)
{
	char *bank = hr_bank(box[0], "rv", 2), *ledger = hr_name("rv-l");
	char *item = take(box[0], bank, ledger, "id", 1);
	hr_call rel = release_call(box[1], ledger, retire, 1);
	sb_recover_result rr;
	sb_stats st;
	char *now = NULL;
	int64_t exp;

	if (!item)
		goto out;
	hr_gate_arm(SB_FP_RELEASE_AFTER_MARK, 1);
	hr_call_start(&rel);
	CHECKF(NULL, hr_gate_reached(), "the release never marked");
	CHECK_RC(box[2], sb_box_recover(&rr, box[2], bank, ledger, NULL),
	         SB_OK);
	CHECKF(box[2], rr.released == 1, "recover finished %llu releases",
	       (unsigned long long)rr.released);
	hr_gate_open();
	hr_call_join(&rel);
	CHECKF(rel.box, rel.rc == SB_OK,
	       "a release that recovery finished while it ran answered %s%s",
	       hr_rc(rel.rc), retire ? " (retire)" : "");
	CHECK_RC(box[0], hr_lookup(box[0], ledger, "id", &now, &exp),
	         SB_ENOTFOUND);
	st = hr_settle(box[0], bank, ledger, 2, "release recovered");
	CHECKF(box[0],
	       st.retired == (uint64_t)retire &&
	               st.available == (uint64_t)(2 - retire),
	       "release recovered: available %llu retired %llu",
	       (unsigned long long)st.available,
	       (unsigned long long)st.retired);
out:
	hr_call_clear(&rel);
	free(now);
	free(item);
	free(bank);
	free(ledger);
}

/* Forced: a recovery pass lists an item while its release is in flight
 * (marked restocking), and is held on another item it lists before; the
 * release ends, the same id holds again and gets the same item; then the
 * recovery pass goes on with what it listed. It must not finish a release
 * that is over: the id's new hold stands. The pass meets the other item
 * first where the store lists in the order items were added (memory);
 * elsewhere it may finish the release itself first, which proves
 * nothing, and is said. */
static void release_relisted(sb_box **box)
{
	char *bank = hr_name("rl"), *ledger = hr_name("rl-l");
	const char *z[] = { "rl-lapsing" }, *x[] = { "rl-released" };
	char *zi = NULL, *xi = NULL, *now = NULL;
	int64_t deadline = 0, exp;
	hr_call rel = hr_call_of(box[1], NULL, ledger, "id", HR_RELEASE, 1);
	hr_call rec = hr_call_of(box[2], bank, ledger, NULL, HR_RECOVER, 2);
	sb_item *it = NULL;
	int rc, forced;

	CHECK_RC(box[0], sb_box_add(NULL, box[0], bank, z, 1), SB_OK);
	if (CHECK_RC(box[0], sb_box_hold(&it, box[0], bank, ledger, "other", 30),
	             SB_OK)) {
		zi = t_xstrdup(sb_item_value(it));
		deadline = sb_item_expires_ms(it);
	}
	sb_item_free(it);
	CHECK_RC(box[0], sb_box_add(NULL, box[0], bank, x, 1), SB_OK);
	xi = take(box[0], bank, ledger, "id", 1);
	if (!zi || !xi)
		goto out;
	hr_sleep_until_us(deadline * 1000 + HR_SLACK_US);
	hr_gate_arm_at(0, SB_FP_RELEASE_AFTER_MARK, 1);
	hr_gate_arm_at(1, SB_FP_RECLAIM_AFTER_MARK, 2);
	hr_call_start(&rel);
	CHECKF(NULL, hr_gate_reached_at(0), "the release never marked");
	hr_call_start(&rec);
	CHECKF(NULL, hr_gate_reached_at(1), "recover never met the lapse");
	/* Recover listed both; did it finish the release already? */
	forced = hr_lookup(box[0], ledger, "id", &now, &exp) == SB_OK;
	free(now);
	now = NULL;
	hr_gate_open_at(0);
	hr_call_join(&rel);
	CHECK_RC(rel.box, rel.rc, SB_OK);
	/* The same id again: the released item is the only one left. */
	rc = sb_box_hold(&it, box[0], bank, ledger, "id", LONG_TTL);
	CHECKF(box[0],
	       rc == SB_OK && hr_same(sb_item_value(it), xi) &&
	               sb_item_is_new(it),
	       "hold after the release: %s (%s)", hr_rc(rc),
	       it ? sb_item_value(it) : "-");
	sb_item_free(it);
	hr_gate_open_at(1);
	hr_call_join(&rec);
	CHECK_RC(rec.box, rec.rc, SB_OK);
	rc = hr_lookup(box[0], ledger, "id", &now, &exp);
	CHECKF(box[0], rc == SB_OK && hr_same(now, xi) && exp > sb_now_ms(),
	       "a recovery pass that listed %s while its release was in "
	       "flight undid the same id's new hold of it: the id holds %s "
	       "(%s)",
	       xi, now ? now : "nothing", hr_rc(rc));
	{
		sb_stats st = hr_settle(box[0], bank, ledger, 2,
		                        "release relisted");
		CHECKF(box[0], st.on_hold == 1 && st.available == 1,
		       "release relisted: on_hold %llu available %llu",
		       (unsigned long long)st.on_hold,
		       (unsigned long long)st.available);
	}
	printf("release relisted: %s\n",
	       forced ? "recover met the lapse first, then the finished "
	                "release"
	              : "not forced: recover finished the release first");
out:
	hr_call_clear(&rel);
	hr_call_clear(&rec);
	free(now);
	free(zi);
	free(xi);
	free(bank);
	free(ledger);
}

/* Forced: a recovery pass takes over a release in flight (held after
 * its check at the bank, before its ledger step); the release goes on
 * and ends; the same id holds again, on a bank whose only item is the
 * released one; then the pass goes on. Whatever the hold answered, the
 * pass must not delete what the id holds now: if the hold got the item,
 * the id still holds it after the pass (with release stamps the item is
 * the pass's until it is done, and the hold finds the bank empty). */
static void release_taken_over(sb_box **box)
{
	char *bank = hr_bank(box[0], "ro", 1), *ledger = hr_name("ro-l");
	char *item = take(box[0], bank, ledger, "id", 1), *now = NULL;
	hr_call rel = hr_call_of(box[1], NULL, ledger, "id", HR_RELEASE, 1);
	hr_call rec = hr_call_of(box[2], bank, ledger, NULL, HR_RECOVER, 2);
	hr_call again = hr_call_of(box[0], bank, ledger, "id", HR_HOLD, 0);
	int64_t exp;
	int rc;
	sb_stats st;

	again.ttl_ms = LONG_TTL;
	if (!item)
		goto out;
	hr_gate_arm_at(0, SB_FP_RELEASE_AFTER_MARK, 1);
	hr_gate_arm_at(1, SB_FP_RECOVER_RELEASE_AFTER_CHECK, 2);
	hr_call_start(&rel);
	CHECKF(NULL, hr_gate_reached_at(0), "the release never marked");
	hr_call_start(&rec);
	CHECKF(NULL, hr_gate_reached_at(1),
	       "recover never took the release over");
	hr_gate_open_at(0);
	hr_call_join(&rel);
	CHECKF(rel.box, rel.rc == SB_OK,
	       "a release that recovery took over answered %s", hr_rc(rel.rc));
	hr_call_run(&again);
	CHECKF(again.box,
	       again.rc == SB_EMPTY ||
	               (again.rc == SB_OK && hr_same(again.item, item)),
	       "hold after the release: %s (%s)", hr_rc(again.rc),
	       again.item ? again.item : "-");
	hr_gate_open_at(1);
	hr_call_join(&rec);
	CHECK_RC(rec.box, rec.rc, SB_OK);
	rc = hr_lookup(box[0], ledger, "id", &now, &exp);
	if (again.rc == SB_OK)
		CHECKF(box[0], rc == SB_OK && hr_same(now, item),
		       "a recovery pass that took a release over deleted the "
		       "id's new hold of the same item: the id holds %s (%s)",
		       now ? now : "nothing", hr_rc(rc));
	else
		CHECKF(box[0], rc == SB_ENOTFOUND, "the id holds %s (%s)",
		       now ? now : "nothing", hr_rc(rc));
	st = hr_settle(box[0], bank, ledger, 1, "release taken over");
	CHECKF(box[0],
	       st.on_hold == (uint64_t)(again.rc == SB_OK) &&
	               st.available == (uint64_t)(again.rc != SB_OK),
	       "release taken over: on_hold %llu available %llu",
	       (unsigned long long)st.on_hold,
	       (unsigned long long)st.available);
out:
	hr_call_clear(&rel);
	hr_call_clear(&rec);
	hr_call_clear(&again);
	free(now);
	free(item);
	free(bank);
	free(ledger);
}

/* Forced: a release is held after marking the item while the id's hold
 * lapses; then another id finds the bank empty, and its claim's recovery
 * pass meets the marked item. The hold lapsed before the release's ledger
 * step, so the release did not take effect: the item comes back as a
 * lapse (law 5: the other id gets it), and the release, going on,
 * answers SB_EEXPIRED, not SB_OK (a retire that answered SB_OK while the
 * item came back would be a retired item handed out again). */
static int lapsed_taken_over(sb_box **box, int retire, int64_t ttl_ms)
{
	char *bank = hr_bank(box[0], "lt", 1), *ledger = hr_name("lt-l");
	hr_call rel = release_call(box[1], ledger, retire, 1);
	hr_call f = hr_call_of(box[2], bank, ledger, "other", HR_FETCH, 0);
	char *item = NULL, *now = NULL;
	int64_t deadline = 0, exp;
	int forced = 1;
	sb_stats st;

	if (!(item = hr_hold(box[0], bank, ledger, "id", ttl_ms, &deadline)))
		goto out;
	hr_gate_arm(SB_FP_RELEASE_AFTER_MARK, 1);
	hr_call_start(&rel);
	if (!hr_gate_reached()) {
		/* The hold lapsed before the release looked (a slow or busy
		 * store): the caller tries again with a longer one. */
		hr_call_join(&rel);
		forced = 0;
		CHECKF(rel.box, rel.rc == SB_EEXPIRED,
		       "the release never marked, and answered %s",
		       hr_rc(rel.rc));
		goto out;
	}
	hr_sleep_until_us(deadline * 1000 + HR_SLACK_US);
	hr_call_run(&f);
	CHECKF(f.box, f.rc == SB_OK && hr_same(f.item, item) && f.is_new,
	       "%s: the id's hold lapsed under its release mark, yet another "
	       "id got %s (%s)",
	       retire ? "retire" : "restock", f.item ? f.item : "-",
	       hr_rc(f.rc));
	hr_gate_open();
	hr_call_join(&rel);
	CHECKF(rel.box, rel.rc == SB_EEXPIRED,
	       "%s: a release whose hold lapsed before its ledger step, and "
	       "whose item went back as a lapse, answered %s",
	       retire ? "retire" : "restock", hr_rc(rel.rc));
	CHECK_RC(box[0], hr_lookup(box[0], ledger, "id", &now, &exp),
	         SB_ENOTFOUND);
	free(now);
	now = NULL;
	if (CHECK_RC(box[0], hr_lookup(box[0], ledger, "other", &now, &exp),
	             SB_OK))
		CHECKF(box[0], hr_same(now, item) && exp == 0,
		       "the other id holds %s until %lld", now, (long long)exp);
	st = hr_settle(box[0], bank, ledger, 1, "release lapsed, taken over");
	CHECKF(box[0], st.assigned == 1 && st.retired == 0,
	       "release lapsed, taken over: assigned %llu retired %llu",
	       (unsigned long long)st.assigned, (unsigned long long)st.retired);
out:
	hr_gate_open();
	hr_call_clear(&rel);
	hr_call_clear(&f);
	free(now);
	free(item);
	free(bank);
	free(ledger);
	return forced;
}

static void release_lapsed_taken_over(sb_box **box, int retire)
{
	int64_t ttl_ms = 300;

	while (!lapsed_taken_over(box, retire, ttl_ms) && ttl_ms < 20000)
		ttl_ms *= 4;
	CHECKF(NULL, ttl_ms < 20000,
	       "the release never marked before its hold lapsed, up to a "
	       "hold of %lld ms",
	       (long long)ttl_ms);
}

/* Forced: a recovery pass has checked (with stamps: taken over) a fetch's
 * reservation and is held before it records the id; the fetch ends and
 * the id releases its item on another thread; the pass goes on, records
 * the id and is held again. Whatever the order, at that moment the id
 * holds the item only if its release has not returned: with stamps the
 * release waits for the pass (which settles the item first); without,
 * the pass wrote the entry of a released item again. */
static void fetch_taken_over(sb_box **box)
{
	char *bank = hr_bank(box[0], "fo", 2), *ledger = hr_name("fo-l");
	sb_box *rbox = hr_open();
	hr_call a = hr_call_of(box[1], bank, ledger, "a", HR_FETCH, 1);
	hr_call rec = hr_call_of(rbox, bank, ledger, NULL, HR_RECOVER, 2);
	hr_call rel = hr_call_of(box[2], NULL, ledger, "a", HR_RELEASE, 0);
	char *now = NULL;
	int64_t exp;
	int rc, returned;

	if (!rbox)
		goto out;
	hr_gate_arm_at(0, SB_FP_AFTER_TAKE, 1);
	hr_gate_arm_at(1, SB_FP_RECOVER_RESERVATION_AFTER_CHECK, 2);
	hr_gate_arm_at(2, SB_FP_RECOVER_AFTER_RECORD, 2);
	hr_call_start(&a);
	CHECKF(NULL, hr_gate_reached_at(0), "fetch a never took an item");
	hr_call_start(&rec);
	CHECKF(NULL, hr_gate_reached_at(1),
	       "recover never checked the reservation");
	hr_gate_open_at(0);
	hr_call_join(&a);
	CHECK_RC(a.box, a.rc, SB_OK);
	hr_call_start(&rel);
	/* The release: done at once without stamps, waiting with. */
	t_nap_ms(200);
	hr_gate_open_at(1);
	CHECKF(NULL, hr_gate_reached_at(2), "recover never recorded a");
	returned = __atomic_load_n(&rel.t1, __ATOMIC_ACQUIRE) != 0;
	rc = hr_lookup(box[0], ledger, "a", &now, &exp);
	CHECKF(box[0], returned ? rc == SB_ENOTFOUND : rc == SB_OK,
	       "a recovery pass recorded a after %s release %s: a holds %s "
	       "(%s)",
	       returned ? "its" : "before its", returned ? "returned" : "ran",
	       now ? now : "nothing", hr_rc(rc));
	hr_gate_open_at(2);
	hr_call_join(&rec);
	CHECK_RC(rec.box, rec.rc, SB_OK);
	hr_call_join(&rel);
	CHECK_RC(rel.box, rel.rc, SB_OK);
	free(now);
	now = NULL;
	CHECK_RC(box[0], hr_lookup(box[0], ledger, "a", &now, &exp),
	         SB_ENOTFOUND);
	{
		sb_stats st = hr_settle(box[0], bank, ledger, 2,
		                        "fetch taken over");
		CHECKF(box[0], st.available == 2,
		       "fetch taken over: available %llu",
		       (unsigned long long)st.available);
	}
out:
	hr_call_clear(&a);
	hr_call_clear(&rec);
	hr_call_clear(&rel);
	free(now);
	free(bank);
	free(ledger);
	sb_box_close(rbox);
}

/* Forced: a fetch takes the bank's only item and stalls (as if dead);
 * recovery pass P takes the reservation over, records the id and is held;
 * recovery pass Q takes it over from P (recover does so at once; a claim's
 * pass after SB_TAKEOVER_MS), finds the entry and is held before settling;
 * then P goes on: its settle conflicts (Q has the stamp). The item is
 * still the id's, reserved for it by Q, so P must leave the entry alone:
 * Q settles the item against it. A pass that took the entry back then
 * left the item assigned to an id that the ledger says holds nothing
 * (the item lost; with the id's own fetch gone, nothing brings it back). */
static void fetch_stolen(sb_box **box)
{
	char *bank = hr_bank(box[0], "fs", 1), *ledger = hr_name("fs-l");
	sb_box *pbox = hr_open(), *qbox = hr_open();
	hr_call a = hr_call_of(box[1], bank, ledger, "a", HR_FETCH, 1);
	hr_call p = hr_call_of(pbox, bank, ledger, NULL, HR_RECOVER, 2);
	hr_call q = hr_call_of(qbox, bank, ledger, NULL, HR_RECOVER, 3);
	char *now = NULL;
	int64_t exp;
	int rc;
	sb_stats st;

	if (!pbox || !qbox)
		goto out;
	hr_gate_arm_at(0, SB_FP_AFTER_TAKE, 1);
	hr_gate_arm_at(1, SB_FP_RECOVER_AFTER_RECORD, 2);
	hr_gate_arm_at(2, SB_FP_RECOVER_AFTER_RECORD, 3);
	hr_call_start(&a);
	CHECKF(NULL, hr_gate_reached_at(0), "fetch a never took an item");
	hr_call_start(&p);
	CHECKF(NULL, hr_gate_reached_at(1), "pass P never recorded a");
	hr_call_start(&q);
	CHECKF(NULL, hr_gate_reached_at(2), "pass Q never recorded a");
	hr_gate_open_at(1);
	hr_call_join(&p);
	CHECK_RC(p.box, p.rc, SB_OK);
	rc = hr_lookup(box[0], ledger, "a", &now, &exp);
	CHECKF(box[0], rc == SB_OK && hr_same(now, "fs-0"),
	       "fetch stolen: pass P, robbed of the reservation, took back "
	       "the entry that pass Q settles by: a holds %s (%s)",
	       now ? now : "nothing", hr_rc(rc));
	free(now);
	now = NULL;
	hr_gate_open_at(2);
	hr_call_join(&q);
	CHECK_RC(q.box, q.rc, SB_OK);
	/* Both passes done, the fetch still stalled: the item is settled,
	 * and the ledger must say whose it is. */
	st = hr_stats(box[0], bank, ledger);
	rc = hr_lookup(box[0], ledger, "a", &now, &exp);
	CHECKF(box[0],
	       st.assigned == 1 && st.reserved == 0 && st.held == 1 &&
	               rc == SB_OK && hr_same(now, "fs-0"),
	       "fetch stolen: assigned %llu reserved %llu, ledger %llu "
	       "entries, a holds %s (%s)",
	       (unsigned long long)st.assigned, (unsigned long long)st.reserved,
	       (unsigned long long)st.held, now ? now : "nothing", hr_rc(rc));
	hr_gate_open_at(0);
	hr_call_join(&a);
	CHECKF(a.box, a.rc == SB_OK && hr_same(a.item, "fs-0"),
	       "fetch stolen: fetch a got %s (%s)", a.item ? a.item : "-",
	       hr_rc(a.rc));
	hr_settle(box[0], bank, ledger, 1, "fetch stolen");
	st = hr_stats(box[0], bank, ledger);
	CHECKF(box[0], st.assigned == 1 && st.held == 1,
	       "fetch stolen: assigned %llu, ledger %llu entries",
	       (unsigned long long)st.assigned, (unsigned long long)st.held);
out:
	hr_call_clear(&a);
	hr_call_clear(&p);
	hr_call_clear(&q);
	free(now);
	free(bank);
	free(ledger);
	sb_box_close(pbox);
	sb_box_close(qbox);
}

/* Forced: a fetch of id a takes the bank's only item and stalls (its
 * answer lost, as far as the caller knows); recovery pass P takes the
 * reservation over and stalls before the ledger step. The caller asks
 * for a again: the bank is empty, and its recovery passes find the id's
 * own item taken over by P, a moment ago. The claim must not answer
 * "empty" while a holds nothing only because P is slow: it takes its own
 * reservation over, records it and answers the item. (Left to P, a is
 * told "empty", and then P records the item to it.) */
static void fetch_own_stalled(sb_box **box)
{
	char *bank = hr_bank(box[0], "fw", 1), *ledger = hr_name("fw-l");
	sb_box *pbox = hr_open();
	hr_call a1 = hr_call_of(box[1], bank, ledger, "a", HR_FETCH, 1);
	hr_call p = hr_call_of(pbox, bank, ledger, NULL, HR_RECOVER, 2);
	hr_call a2 = hr_call_of(box[2], bank, ledger, "a", HR_FETCH, 0);
	char *now = NULL;
	int64_t exp;
	int rc;

	if (!pbox)
		goto out;
	hr_gate_arm_at(0, SB_FP_AFTER_TAKE, 1);
	hr_gate_arm_at(1, SB_FP_RECOVER_RESERVATION_AFTER_CHECK, 2);
	hr_call_start(&a1);
	CHECKF(NULL, hr_gate_reached_at(0), "fetch a never took an item");
	hr_call_start(&p);
	CHECKF(NULL, hr_gate_reached_at(1),
	       "pass P never took the reservation over");
	hr_call_start(&a2);
	hr_call_join(&a2);
	CHECKF(a2.box, a2.rc == SB_OK && hr_same(a2.item, "fw-0"),
	       "fetch own stalled: a's reservation of fw-0 was taken over "
	       "by a stalled pass, and a's fetch got %s (%s)",
	       a2.item ? a2.item : "-", hr_rc(a2.rc));
	hr_gate_open_at(1);
	hr_call_join(&p);
	CHECK_RC(p.box, p.rc, SB_OK);
	hr_gate_open_at(0);
	hr_call_join(&a1);
	CHECKF(a1.box, a1.rc == SB_OK && hr_same(a1.item, "fw-0"),
	       "fetch own stalled: the first fetch of a got %s (%s)",
	       a1.item ? a1.item : "-", hr_rc(a1.rc));
	rc = hr_lookup(box[0], ledger, "a", &now, &exp);
	CHECKF(box[0], rc == SB_OK && hr_same(now, "fw-0"),
	       "fetch own stalled: a holds %s (%s)", now ? now : "nothing",
	       hr_rc(rc));
	hr_settle(box[0], bank, ledger, 1, "fetch own stalled");
out:
	hr_call_clear(&a1);
	hr_call_clear(&p);
	hr_call_clear(&a2);
	free(now);
	free(bank);
	free(ledger);
	sb_box_close(pbox);
}

/* Forced: a recovery pass lists a generic fetch's reservation while the
 * fetch is in flight, and is held after rolling an earlier reservation
 * forward; the fetch ends on its own and the id releases its item; then
 * the pass goes on with what it listed. It must not record the id again:
 * the id gave its item back and holds nothing. (The pass rolls the other
 * reservation first where the store takes and lists items in the order
 * they were added, as memory does; elsewhere it may not, which proves
 * nothing, and is said.) */
static void fetch_relisted(sb_box **box)
{
	char *bank = hr_name("fr"), *ledger = hr_name("fr-l");
	const char *first[] = { "fr-first" }, *second[] = { "fr-second" };
	sb_box *rbox = hr_open();
	hr_call b = hr_call_of(box[1], bank, ledger, "b", HR_FETCH, 1);
	hr_call a = hr_call_of(box[2], bank, ledger, "a", HR_FETCH, 2);
	hr_call rec = hr_call_of(rbox, bank, ledger, NULL, HR_RECOVER, 3);
	char *now = NULL;
	int64_t exp;
	int forced, rc;

	if (!rbox)
		goto out;
	CHECK_RC(box[0], sb_box_add(NULL, box[0], bank, first, 1), SB_OK);
	CHECK_RC(box[0], sb_box_add(NULL, box[0], bank, second, 1), SB_OK);
	hr_gate_arm_at(0, SB_FP_AFTER_TAKE, 1);
	hr_gate_arm_at(1, SB_FP_AFTER_TAKE, 2);
	hr_gate_arm_at(2, SB_FP_RECOVER_AFTER_RECORD, 3);
	hr_call_start(&b);
	CHECKF(NULL, hr_gate_reached_at(0), "fetch b never took an item");
	hr_call_start(&a);
	CHECKF(NULL, hr_gate_reached_at(1), "fetch a never took an item");
	hr_call_start(&rec);
	CHECKF(NULL, hr_gate_reached_at(2), "recover never recorded");
	forced = hr_lookup(box[0], ledger, "a", &now, &exp) == SB_ENOTFOUND;
	free(now);
	now = NULL;
	hr_gate_open_at(1);
	hr_call_join(&a);
	CHECK_RC(a.box, a.rc, SB_OK);
	CHECK_RC(box[0], sb_box_release(box[0], ledger, "a", 0), SB_OK);
	hr_gate_open_at(2);
	hr_call_join(&rec);
	CHECK_RC(rec.box, rec.rc, SB_OK);
	hr_gate_open_at(0);
	hr_call_join(&b);
	CHECK_RC(b.box, b.rc, SB_OK);
	rc = hr_lookup(box[0], ledger, "a", &now, &exp);
	CHECKF(box[0], rc == SB_ENOTFOUND,
	       "a recovery pass that listed a fetch's reservation recorded "
	       "the id again after it released the item: it holds %s (%s)",
	       now ? now : "nothing", hr_rc(rc));
	{
		sb_stats st = hr_settle(box[0], bank, ledger, 2,
		                        "fetch relisted");
		CHECKF(box[0], st.assigned == 1 && st.available == 1,
		       "fetch relisted: assigned %llu available %llu",
		       (unsigned long long)st.assigned,
		       (unsigned long long)st.available);
	}
	printf("fetch relisted: %s\n",
	       forced ? "recover rolled the other reservation first, then "
	                "the released one"
	              : "not forced: recover recorded the id first");
out:
	hr_call_clear(&a);
	hr_call_clear(&b);
	hr_call_clear(&rec);
	free(now);
	free(bank);
	free(ledger);
	sb_box_close(rbox);
}

void hr_release_refetch(void)
{
	sb_box *box[3];
	size_t n = rounds(), first = 0;
	int k;

	for (k = 0; k < 3; k++)
		box[k] = hr_open();
	if (!box[0] || !box[1] || !box[2])
		goto out;
	for (k = 0; k < (int)n; k++)
		release_race(box, k, &first);
	printf("release racing a repeat fetch: %zu rounds, the fetch came "
	       "first %zu, the release %zu\n",
	       n, first, n - first);
	if (hr_gate_usable()) {
		for (k = 0; k < 2; k++) {
			release_held(box, SB_FP_RELEASE_AFTER_MARK, k);
			release_held(box, SB_FP_RELEASE_AFTER_REMOVE, k);
			release_recovered(box, k);
			release_lapsed_taken_over(box, k);
		}
		release_relisted(box);
		release_taken_over(box);
		fetch_relisted(box);
		fetch_taken_over(box);
		fetch_stolen(box);
		fetch_own_stalled(box);
		printf("release forced: a fetch after the mark (a repeat) and "
		       "after the ledger step (a new claim), a recover after "
		       "the mark; restock and retire; a recover that took a "
		       "release over, held while the id holds again; a release "
		       "whose hold lapsed under its mark; a recover robbed of "
		       "a fetch's reservation by another; a fetch whose own "
		       "reservation a stalled recover took over\n");
	}
out:
	for (k = 0; k < 3; k++)
		sb_box_close(box[k]);
}

/* Both twins answered one item, one of them new; the loser's item is
 * back in the bank. */
static void judge_twins(sb_box *box, const char *bank, const char *ledger,
                        const hr_call *a, const hr_call *b, const char *what)
{
	char *now = NULL;
	int64_t exp;
	sb_stats st;

	CHECKF(box,
	       a->rc == SB_OK && b->rc == SB_OK && hr_same(a->item, b->item) &&
	               a->is_new + b->is_new == 1,
	       "%s: %s got %s (%s, new %d), %s got %s (%s, new %d)", what,
	       hr_op_name(a->op), a->item ? a->item : "-", hr_rc(a->rc),
	       a->is_new, hr_op_name(b->op), b->item ? b->item : "-",
	       hr_rc(b->rc), b->is_new);
	CHECKF(box,
	       hr_lookup(box, ledger, "twin", &now, &exp) == SB_OK &&
	               hr_same(now, a->item),
	       "%s: the id holds %s, the twins were told %s", what,
	       now ? now : "nothing", a->item ? a->item : "-");
	/* Before any recover: the loser gave its item back itself. */
	st = hr_stats(box, bank, NULL);
	CHECKF(box,
	       st.available == 3 && st.on_hold + st.assigned == 1 &&
	               st.reserved == 0,
	       "%s: available %llu on_hold %llu assigned %llu reserved %llu",
	       what, (unsigned long long)st.available,
	       (unsigned long long)st.on_hold, (unsigned long long)st.assigned,
	       (unsigned long long)st.reserved);
	hr_settle(box, bank, ledger, 4, what);
	free(now);
}

static void twins_race(sb_box **box, int k)
{
	char *bank = hr_bank(box[0], "tw", 4), *ledger = hr_name("tw-l");
	pthread_barrier_t meet;
	hr_call a = hr_call_of(box[1], bank, ledger, "twin", HR_HOLD, 0);
	hr_call b = hr_call_of(box[2], bank, ledger, "twin",
	                       k % 3 == 2 ? HR_FETCH : HR_HOLD, 0);

	a.ttl_ms = b.ttl_ms = LONG_TTL;
	a.barrier = b.barrier = &meet;
	pthread_barrier_init(&meet, NULL, 2);
	hr_call_start(&a);
	hr_call_start(&b);
	hr_call_join(&a);
	hr_call_join(&b);
	pthread_barrier_destroy(&meet);
	judge_twins(box[0], bank, ledger, &a, &b, "twins");
	hr_call_clear(&a);
	hr_call_clear(&b);
	free(bank);
	free(ledger);
}

/* Forced: twin a took an item and is held; twin b (a hold or a fetch)
 * records the id; a then finds the id taken and gives its item back. */
static void twins_held(sb_box **box, hr_op b_op)
{
	char *bank = hr_bank(box[0], "th", 4), *ledger = hr_name("th-l");
	hr_call a = hr_call_of(box[1], bank, ledger, "twin", HR_HOLD, 1);
	hr_call b = hr_call_of(box[2], bank, ledger, "twin", b_op, 0);

	a.ttl_ms = b.ttl_ms = LONG_TTL;
	hr_gate_arm(SB_FP_HOLD_AFTER_TAKE, 1);
	hr_call_start(&a);
	CHECKF(NULL, hr_gate_reached(), "twin a never reached %s",
	       SB_FP_HOLD_AFTER_TAKE);
	hr_call_run(&b);
	hr_gate_open();
	hr_call_join(&a);
	CHECKF(b.box,
	       b.is_new && !a.is_new && (b_op == HR_HOLD) == (b.expires > 0),
	       "forced twins: the second twin (%s) should have won",
	       hr_op_name(b_op));
	judge_twins(box[0], bank, ledger, &a, &b, "forced twins");
	hr_call_clear(&a);
	hr_call_clear(&b);
	free(bank);
	free(ledger);
}

void hr_twins(void)
{
	sb_box *box[3];
	size_t n = rounds();
	int k;

	for (k = 0; k < 3; k++)
		box[k] = hr_open();
	if (!box[0] || !box[1] || !box[2])
		goto out;
	for (k = 0; k < (int)n; k++)
		twins_race(box, k);
	printf("twins: %zu rounds (hold and hold, hold and fetch)\n", n);
	if (hr_gate_usable()) {
		twins_held(box, HR_HOLD);
		twins_held(box, HR_FETCH);
		printf("twins forced: one held after its take while the other "
		       "(hold, fetch) records the id\n");
	}
out:
	for (k = 0; k < 3; k++)
		sb_box_close(box[k]);
}
