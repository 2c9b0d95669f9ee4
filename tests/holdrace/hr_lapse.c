/* A confirm or an extend racing the lapse of the hold at its deadline
 * (docs/holds.md "The rules": the deadline alone decides; of a confirm
 * and a reclaim that race, exactly one takes effect).
 *
 * Each pair: an id holds the only item of a bank for TTL ms; about the
 * deadline one thread confirms (or extends) it while another, surely
 * after the deadline, claims it for another id (or runs recover). Either
 * the confirm won (SB_OK, the item still the holder's, the claim
 * SB_EMPTY) or it lost (SB_EEXPIRED or SB_ENOTFOUND, the item went back):
 * never both, never neither. Which one wins is left to timing and both
 * are counted; when a call started after the deadline it must have lost,
 * and when it returned before, it must have won.
 *
 * Forced (fault builds, generic order): a confirm held after its ledger
 * step while a claim after the deadline tries to reclaim the item (the
 * confirm wins, the claim gets SB_EMPTY), and a reclaim held after
 * marking the item while the confirm or extend comes (it loses). */
#include "hr.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TTL       40               /* ms, the raced holds */
#define LONG_TTL  (10 * 60 * 1000) /* ms, never lapses in a run */
#define FORCE_TTL 400              /* ms: a confirm gets in before */

typedef struct {
	sb_box *box[3];
	t_rng rng;
	size_t won, lost; /* by the confirm (extend) */
} lapse_run;

static size_t pairs(void)
{
	return t_env_size("SB_HR_PAIRS", 40);
}

static void open_boxes(lapse_run *r)
{
	memset(r, 0, sizeof *r);
	for (int i = 0; i < 3; i++)
		r->box[i] = hr_open();
	t_rng_seed(&r->rng, hr.seed ^ 0x1a95e);
}

static void close_boxes(lapse_run *r)
{
	for (int i = 0; i < 3; i++)
		sb_box_close(r->box[i]);
}

/* The holder takes the bank's only item: its value and deadline. */
static char *hold_only(sb_box *box, const char *bank, const char *ledger,
                       int64_t ttl, int64_t *deadline)
{
	sb_item *it = NULL;
	char *v = NULL;

	if (CHECK_RC(box, sb_box_hold(&it, box, bank, ledger, "holder", ttl),
	             SB_OK)) {
		v = t_xstrdup(sb_item_value(it));
		*deadline = sb_item_expires_ms(it);
		CHECKF(box, *deadline > 0, "a hold without a deadline");
	}
	sb_item_free(it);
	return v;
}

/* Law 7 from the timing alone: a call that started after the deadline
 * lost; one that returned before it won. */
static void deadline_decides(const hr_call *c, int64_t deadline, int k)
{
	int64_t d = deadline * 1000;

	CHECKF(c->box, !(c->t0 >= d + HR_SLACK_US && c->rc == SB_OK),
	       "pair %d: %s started %lld us after the deadline and won", k,
	       hr_op_name(c->op), (long long)(c->t0 - d));
	CHECKF(c->box, !(c->t1 <= d - HR_SLACK_US && c->rc != SB_OK),
	       "pair %d: %s returned %lld us before the deadline and lost "
	       "(%s)",
	       k, hr_op_name(c->op), (long long)(d - c->t1), hr_rc(c->rc));
}

/* The end of a pair: who holds the item, judged by the API. @p won: the
 * confirm (extend) won; @p other_holds: the other id must hold it. */
static void who_holds(sb_box *box, const char *bank, const char *ledger,
                      const char *item, int won, int extend, int other_holds,
                      int k)
{
	char *h = NULL, *o = NULL;
	int64_t he, oe;
	int hrc = hr_lookup(box, ledger, "holder", &h, &he);
	int orc = hr_lookup(box, ledger, "other", &o, &oe);
	sb_stats st;

	if (won) {
		CHECKF(box,
		       hrc == SB_OK && hr_same(h, item) &&
		               (extend ? he > sb_now_ms() : he == 0) &&
		               orc == SB_ENOTFOUND,
		       "pair %d: won, yet the holder has %s until %lld (%s), "
		       "the other %s",
		       k, h ? h : "nothing", (long long)he, hr_rc(hrc),
		       o ? o : "nothing");
	} else {
		CHECKF(box,
		       hrc == SB_ENOTFOUND &&
		               (other_holds ? orc == SB_OK && hr_same(o, item)
		                            : orc == SB_ENOTFOUND),
		       "pair %d: lost, yet the holder has %s (%s), the other "
		       "%s (%s)",
		       k, h ? h : "nothing", hr_rc(hrc), o ? o : "nothing",
		       hr_rc(orc));
	}
	st = hr_settle(box, bank, ledger, 1, "pair");
	if (won)
		CHECKF(box, extend ? st.on_hold == 1 : st.assigned == 1,
		       "pair %d: won: on_hold %llu assigned %llu", k,
		       (unsigned long long)st.on_hold,
		       (unsigned long long)st.assigned);
	else if (!other_holds)
		CHECKF(box, st.available == 1,
		       "pair %d: lost, recovered, yet available %llu", k,
		       (unsigned long long)st.available);
	free(h);
	free(o);
}

/* One raced pair. */
static void race_pair(lapse_run *r, int extend, int k)
{
	char *bank = hr_bank(r->box[0], "cl", 1), *ledger = hr_name("cl-l");
	int64_t deadline = 0;
	char *item = hold_only(r->box[0], bank, ledger, TTL, &deadline);
	hr_call c = { 0 }, o = { 0 };
	int won;

	if (!item)
		goto out;
	/* The confirm (extend) anywhere in the deadline +- TTL/2; the other
	 * surely after the deadline, within TTL/4. */
	c = (hr_call){ .box = r->box[1],
		       .ledger = ledger,
		       .id = "holder",
		       .op = extend ? HR_EXTEND : HR_CONFIRM,
		       .ttl_ms = LONG_TTL,
		       .at_us = deadline * 1000 - TTL * 500 +
		                (int64_t)t_rng_below(&r->rng, TTL * 1000) };
	o = (hr_call){ .box = r->box[2],
		       .bank = bank,
		       .ledger = ledger,
		       .id = "other",
		       .op = extend && k % 2 ? HR_RECOVER
		             : k % 3         ? HR_HOLD
		                             : HR_FETCH,
		       .ttl_ms = LONG_TTL,
		       .at_us = deadline * 1000 + HR_SLACK_US +
		                (int64_t)t_rng_below(&r->rng, TTL * 250) };
	hr_call_start(&c);
	hr_call_start(&o);
	hr_call_join(&c);
	hr_call_join(&o);

	won = c.rc == SB_OK;
	CHECKF(c.box, won || c.rc == SB_EEXPIRED || c.rc == SB_ENOTFOUND,
	       "pair %d: %s answered %s", k, hr_op_name(c.op), hr_rc(c.rc));
	deadline_decides(&c, deadline, k);
	if (o.op == HR_RECOVER) {
		CHECK_RC(o.box, o.rc, SB_OK);
		CHECKF(o.box, !won || o.rr.lapsed == 0,
		       "pair %d: extended, yet recover reclaimed %llu", k,
		       (unsigned long long)o.rr.lapsed);
	} else if (won) {
		CHECKF(o.box, o.rc == SB_EMPTY,
		       "pair %d: %s won, yet the other's %s got %s (%s)", k,
		       hr_op_name(c.op), hr_op_name(o.op), hr_rc(o.rc),
		       o.item ? o.item : "-");
	} else {
		CHECKF(o.box,
		       o.rc == SB_OK && hr_same(o.item, item) && o.is_new,
		       "pair %d: %s lost, yet the other's %s got %s (%s)", k,
		       hr_op_name(c.op), hr_op_name(o.op), hr_rc(o.rc),
		       o.item ? o.item : "-");
	}
	who_holds(r->box[0], bank, ledger, item, won, extend,
	          o.op != HR_RECOVER, k);
	if (won)
		r->won++;
	else
		r->lost++;
out:
	hr_call_clear(&c);
	hr_call_clear(&o);
	free(item);
	free(bank);
	free(ledger);
}

/* Forced: the confirm passed its ledger step before the deadline and is
 * held there; after the deadline a claim tries to reclaim the item. The
 * ledger says "for good": the claim gets SB_EMPTY and the bank follows
 * the confirm. 1 if the order was forced (the confirm got in before the
 * deadline), 0 if the machine was too slow for @p ttl. */
static int confirm_held(lapse_run *r, int64_t ttl)
{
	char *bank = hr_bank(r->box[0], "cf", 1), *ledger = hr_name("cf-l");
	int64_t deadline = 0;
	char *item = hold_only(r->box[0], bank, ledger, ttl, &deadline);
	hr_call c = hr_call_of(r->box[1], NULL, ledger, "holder", HR_CONFIRM,
	                       1);
	sb_item *it = NULL;
	int forced = 0, rc;

	if (!item)
		goto out;
	hr_gate_arm(SB_FP_CONFIRM_AFTER_LEDGER, 1);
	hr_call_start(&c);
	forced = hr_gate_reached();
	if (forced) {
		hr_sleep_until_us(deadline * 1000 + HR_SLACK_US);
		rc = sb_box_hold(&it, r->box[2], bank, ledger, "other",
		                 LONG_TTL);
		CHECKF(r->box[2], rc == SB_EMPTY,
		       "a claim after the deadline of a confirmed hold got "
		       "%s (%s)",
		       hr_rc(rc), it ? sb_item_value(it) : "-");
		sb_item_free(it);
	}
	hr_gate_open();
	hr_call_join(&c);
	if (forced) {
		CHECK_RC(c.box, c.rc, SB_OK);
		who_holds(r->box[0], bank, ledger, item, 1, 0, 0, -1);
	}
out:
	hr_call_clear(&c);
	free(item);
	free(bank);
	free(ledger);
	return forced;
}

/* Forced: after the deadline a claim (or recover) marks the item for
 * reclaim and is held there; the confirm (extend) comes now and loses;
 * then the reclaim ends and the item goes back. */
static void reclaim_held(lapse_run *r, int extend, int by_recover)
{
	char *bank = hr_bank(r->box[0], "rf", 1), *ledger = hr_name("rf-l");
	int64_t deadline = 0;
	char *item = hold_only(r->box[0], bank, ledger, TTL, &deadline);
	hr_call o = hr_call_of(r->box[2], bank, ledger, "other",
	                       by_recover ? HR_RECOVER : HR_HOLD, 2);
	int rc;

	o.ttl_ms = LONG_TTL;
	if (!item)
		goto out;
	hr_sleep_until_us(deadline * 1000 + HR_SLACK_US);
	hr_gate_arm(SB_FP_RECLAIM_AFTER_MARK, 2);
	hr_call_start(&o);
	CHECKF(NULL, hr_gate_reached(),
	       "the %s never marked the lapsed hold for reclaim",
	       hr_op_name(o.op));
	rc = extend ? sb_box_extend(r->box[1], ledger, "holder", LONG_TTL)
	            : sb_box_confirm(r->box[1], ledger, "holder");
	CHECKF(r->box[1], rc == SB_EEXPIRED, "%s of a hold being reclaimed: %s",
	       extend ? "extend" : "confirm", hr_rc(rc));
	hr_gate_open();
	hr_call_join(&o);
	CHECK_RC(o.box, o.rc, SB_OK);
	if (by_recover)
		CHECKF(o.box, o.rr.lapsed == 1, "recover reclaimed %llu",
		       (unsigned long long)o.rr.lapsed);
	else
		CHECKF(o.box, hr_same(o.item, item) && o.is_new,
		       "the claim got %s", o.item ? o.item : "-");
	who_holds(r->box[0], bank, ledger, item, 0, extend, !by_recover, -1);
out:
	hr_call_clear(&o);
	free(item);
	free(bank);
	free(ledger);
}

static void run(int extend)
{
	lapse_run r;
	size_t n = pairs(), k;
	const char *what = extend ? "extend" : "confirm";

	open_boxes(&r);
	if (!r.box[0] || !r.box[1] || !r.box[2])
		goto out;
	for (k = 0; k < n; k++)
		race_pair(&r, extend, (int)k);
	printf("%s racing the lapse: %zu pairs, the %s won %zu, the lapse "
	       "won %zu\n",
	       what, n, what, r.won, r.lost);
	if (hr_gate_usable()) {
		int64_t ttl = FORCE_TTL;
		int tries = 0;
		if (!extend) {
			/* A slow machine may miss the deadline: it proves
			 * nothing then, so give it longer. */
			while (tries < 4 && !confirm_held(&r, ttl)) {
				ttl *= 2;
				tries++;
			}
			CHECKF(NULL, tries < 4,
			       "the confirm never got in before a deadline of "
			       "%lld ms",
			       (long long)ttl / 2);
		}
		reclaim_held(&r, extend, 0);
		reclaim_held(&r, extend, 1);
		printf("%s forced: %s%s held after marking for reclaim (by a "
		       "claim, by recover)\n",
		       what,
		       extend ? ""
		              : "held after its ledger step against a "
		                "claim; ",
		       "a reclaim");
	}
out:
	close_boxes(&r);
}

void hr_confirm_lapse(void)
{
	run(0);
}

void hr_extend_reclaim(void)
{
	run(1);
}
