/* A fetch that finds the bank empty while losing twins pass its last item
 * around, or while a recovery pass of its own box left the item
 * unfinished, or while its twin takes an item that came after its last
 * pass (generic path, fault builds; the python suites' three classes and
 * network-faults-dynamodb-generic hit them by chance).
 *
 * Forced: id k's fetch reserved the bank's only item and is held there;
 * k's twin wins in another bank. Fetch t finds the bank empty and is held
 * before its recovery pass; k gives the item back; t's pass finds nothing
 * in flight and t is held before it asks the bank again; id u's fetch
 * takes the item and is held there, and u's twin wins elsewhere. Then t
 * asks again: empty, the item u's, about to come back. t must not answer
 * "empty" on that: the item is in flight (DESIGN §4), and once u gives
 * it back nobody may be left to ask. */
#include "hr.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

static void given_up(sb_box **box);
static void late_twin(sb_box **box);

/* The id's winning twin, in the other bank: its item, or NULL. */
static char *win_elsewhere(sb_box *box, const char *bank, const char *ledger,
                           const char *id)
{
	sb_item *it = NULL;
	char *v = NULL;

	if (CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, id), SB_OK))
		v = t_xstrdup(sb_item_value(it));
	sb_item_free(it);
	return v;
}

void hr_empty_bounce(void)
{
	sb_box *box[3];
	char *bank = NULL, *other = NULL, *ledger = NULL, *ky = NULL,
	     *uz = NULL;
	hr_call k = { 0 }, t = { 0 }, u = { 0 };
	sb_stats st;
	int i;

	for (i = 0; i < 3; i++)
		box[i] = hr_open();
	if (!box[0] || !box[1] || !box[2] || !hr_gate_usable())
		goto out;
	bank = hr_bank(box[0], "eb", 1);
	other = hr_bank(box[0], "eo", 2);
	ledger = hr_name("eb-l");
	k = hr_call_of(box[1], bank, ledger, "k", HR_FETCH, 1);
	t = hr_call_of(box[2], bank, ledger, "t", HR_FETCH, 3);
	u = hr_call_of(box[1], bank, ledger, "u", HR_FETCH, 2);

	hr_gate_arm_at(0, SB_FP_AFTER_TAKE, 1);
	hr_call_start(&k);
	CHECKF(NULL, hr_gate_reached_at(0), "k never took the item");
	ky = win_elsewhere(box[0], other, ledger, "k");

	hr_gate_arm_at(1, SB_FP_EMPTY_BEFORE_PASS, 3);
	hr_gate_arm_at(2, SB_FP_EMPTY_BEFORE_RETAKE, 3);
	hr_call_start(&t);
	CHECKF(NULL, hr_gate_reached_at(1), "t never found the bank empty");
	hr_gate_open_at(0); /* k loses, gives the item back */
	hr_call_join(&k);
	CHECKF(k.box, k.rc == SB_OK && hr_same(k.item, ky) && !k.is_new,
	       "k got %s (%s), its twin %s", k.item ? k.item : "-", hr_rc(k.rc),
	       ky ? ky : "-");
	hr_gate_open_at(1); /* t's pass: nothing reserved */
	CHECKF(NULL, hr_gate_reached_at(2), "t's pass never ended");

	hr_gate_arm_at(0, SB_FP_AFTER_TAKE, 2);
	hr_call_start(&u);
	CHECKF(NULL, hr_gate_reached_at(0), "u never took the item");
	uz = win_elsewhere(box[0], other, ledger, "u");
	hr_gate_open_at(2); /* t asks again: u has the item */
	hr_call_join(&t);
	hr_gate_open_at(0); /* u loses */
	hr_call_join(&u);

	CHECKF(t.box, t.rc == SB_OK && t.is_new,
	       "a fetch answered %s (%s) while the bank's only item was in "
	       "flight (reserved by a losing twin)",
	       hr_rc(t.rc), t.item ? t.item : "-");
	CHECKF(u.box, u.rc == SB_OK && hr_same(u.item, uz) && !u.is_new,
	       "u got %s (%s), its twin %s", u.item ? u.item : "-", hr_rc(u.rc),
	       uz ? uz : "-");
	st = hr_settle(box[0], bank, ledger, 1, "empty bounce");
	CHECKF(box[0], st.assigned == (uint64_t)(t.rc == SB_OK),
	       "empty bounce: assigned %llu available %llu, t got %s",
	       (unsigned long long)st.assigned,
	       (unsigned long long)st.available, hr_rc(t.rc));
	printf("empty bounce: the last item given back before the pass and "
	       "taken by another losing twin before the retake\n");
	given_up(box);
	late_twin(box);
out:
	hr_call_clear(&k);
	hr_call_clear(&t);
	hr_call_clear(&u);
	free(ky);
	free(uz);
	free(bank);
	free(other);
	free(ledger);
	for (i = 0; i < 3; i++)
		sb_box_close(box[i]);
}

/* Forced: id o's fetch reserved the bank's only item and is held there
 * (its ledger step, say, got no answer); o's twin wins in another bank.
 * Id a's fetch finds the bank empty; its recovery pass takes o's
 * reservation over and then fails (injected here; in
 * network-faults-dynamodb-generic, the ledger step timed out), so the
 * fetch fails. a's client asks again on the same box. The item is o's
 * losing twin's, in flight: a must get it, not "empty". (Left with the
 * failed pass's stamp, every pass leaves the item alone for
 * SB_TAKEOVER_MS and a's fetch answers "empty" after its passes; then
 * the item came back to the bank, and went to a's twin: two answers for
 * one id.) */
static void given_up(sb_box **box)
{
	char *bank = hr_bank(box[0], "eg", 1),
	     *other = hr_bank(box[0], "ep", 1);
	char *ledger = hr_name("eg-l"), *oy = NULL;
	hr_call o = hr_call_of(box[1], bank, ledger, "o", HR_FETCH, 1);
	hr_call a1 = hr_call_of(box[2], bank, ledger, "a", HR_FETCH, 3);
	hr_call a2 = a1;

	hr_gate_arm_at(0, SB_FP_AFTER_TAKE, 1);
	hr_call_start(&o);
	CHECKF(NULL, hr_gate_reached_at(0), "o never took the item");
	oy = win_elsewhere(box[0], other, ledger, "o");

	hr_gate_fail_at(1, SB_FP_RECOVER_RESERVATION_AFTER_CHECK, 3);
	hr_call_start(&a1);
	hr_call_join(&a1);
	CHECKF(NULL, hr_gate_reached_at(1),
	       "a's pass never took o's reservation over");
	CHECKF(a1.box, a1.rc == SB_ERROR, "a's first fetch: %s, want %s",
	       hr_rc(a1.rc), hr_rc(SB_ERROR));
	hr_call_start(&a2);
	hr_call_join(&a2);
	CHECKF(a2.box, a2.rc == SB_OK && hr_same(a2.item, "eg-0") && a2.is_new,
	       "given up: a fetch answered %s (%s) while the bank's only item "
	       "was in flight (a pass of its box took it over and failed)",
	       hr_rc(a2.rc), a2.item ? a2.item : "-");
	hr_gate_open_at(0); /* o loses */
	hr_call_join(&o);
	CHECKF(o.box, o.rc == SB_OK && hr_same(o.item, oy) && !o.is_new,
	       "o got %s (%s), its twin %s", o.item ? o.item : "-", hr_rc(o.rc),
	       oy ? oy : "-");
	hr_settle(box[0], bank, ledger, 1, "given up");
	printf("empty bounce: a pass took the last item over and failed; "
	       "the next fetch on its box got the item\n");
	hr_call_clear(&o);
	hr_call_clear(&a1);
	hr_call_clear(&a2);
	free(oy);
	free(bank);
	free(other);
	free(ledger);
}

/* Forced: id z holds the bank's only item. Fetch a1 of id a finds the
 * bank empty, and its two passes find nothing in flight; a1 is held
 * before its last take. Then an item comes to the bank (added here; one
 * given back after the pass's listing alike), and a's twin a2 takes it
 * and is held before its ledger step. a1's last take finds the bank
 * empty and a's entry missing. a1 must not answer "empty": a2 records
 * that item for a a moment later (two answers for one id). */
static void late_twin(sb_box **box)
{
	char *bank = hr_bank(box[0], "el", 1), *ledger = hr_name("el-l");
	const char *const fresh[] = { "el-new" };
	sb_add_result res = { 0, 0 };
	sb_item *it = NULL;
	hr_call a1 = hr_call_of(box[2], bank, ledger, "a", HR_FETCH, 3);
	hr_call a2 = hr_call_of(box[1], bank, ledger, "a", HR_FETCH, 1);

	CHECK_RC(box[0], sb_box_fetch(&it, box[0], bank, ledger, "z"), SB_OK);
	sb_item_free(it);
	hr_gate_arm_at(0, SB_FP_EMPTY_BEFORE_PASS, 3);
	hr_call_start(&a1);
	CHECKF(NULL, hr_gate_reached_at(0), "a1 never found the bank empty");
	hr_gate_arm_at(1, SB_FP_EMPTY_BEFORE_RETAKE, 3);
	hr_gate_open_at(0);
	CHECKF(NULL, hr_gate_reached_at(1), "a1's first pass never ended");
	hr_gate_arm_at(0, SB_FP_EMPTY_BEFORE_RETAKE, 3);
	hr_gate_open_at(1); /* a1's first retake: empty */
	CHECKF(NULL, hr_gate_reached_at(0), "a1's second pass never ended");
	CHECK_RC(box[0], sb_box_add(&res, box[0], bank, fresh, 1), SB_OK);
	hr_gate_arm_at(2, SB_FP_AFTER_TAKE, 1);
	hr_call_start(&a2);
	CHECKF(NULL, hr_gate_reached_at(2), "a2 never took the new item");
	hr_gate_open_at(0); /* a1's last take: empty */
	hr_call_join(&a1);
	hr_gate_open_at(2);
	hr_call_join(&a2);
	CHECKF(a1.box, a1.rc == SB_OK && hr_same(a1.item, "el-new"),
	       "late twin: a fetch answered %s (%s) while its twin held the "
	       "new item reserved",
	       hr_rc(a1.rc), a1.item ? a1.item : "-");
	CHECKF(a2.box, a2.rc == SB_OK && hr_same(a2.item, "el-new"),
	       "late twin: its twin got %s (%s)", a2.item ? a2.item : "-",
	       hr_rc(a2.rc));
	hr_settle(box[0], bank, ledger, 2, "late twin");
	printf("empty bounce: a twin took an item between the last pass and "
	       "the last take; both twins got it\n");
	hr_call_clear(&a1);
	hr_call_clear(&a2);
	free(bank);
	free(ledger);
}
