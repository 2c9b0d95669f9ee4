/* The end of the box office: what the buyers were told, then every law
 * of DESIGN §2 and §8 checked from the answers (each held to its deadline
 * by the wall clock, which is the store's clock here) and from the store
 * (stats, export, live holds), since either alone could hide a bug. */
#include "demo_holds.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* What the answers say. */
typedef struct {
	int holders, sold1;  /* the rush: buyers with a seat, sold out */
	int plan[DH_NPLANS]; /* holders by plan */
	int paid, cancelled, retired, walked, late_lapsed;
	int kept1;      /* paid in checkout and kept */
	int lapsed_pay; /* paid too late (a slow machine) */
	int retriers, w4, sold4, kept4;
	int raced; /* buyers whose twin clicks overlapped */
	int errors, unanswered;
	int seat_twice, twin_differ, deadline_broken, release_broken;
	int retired_back;         /* a retired seat handed out again */
	char kept[DH_BUYERS][16]; /* the seat each buyer keeps, or "" */
	char retired_seat[DH_BUYERS][16];
	char evidence[3][160]; /* the first broken deadlines, told */
	int nevidence;
} tally;

/* What the store says at the end. */
typedef struct {
	int rows, rows_match, rows_bad, dup_id, dup_seat, live;
	int id_seen[DH_BUYERS];
	int seat_seen[DH_SEATS];
	const tally *t;
} store_view;

static int ok(const dh_call *c)
{
	return c->done && c->rc == SB_OK;
}

/* A call that was made and failed (not an answer of the API). */
static void count_call(tally *t, const dh_call *c, int is_hold)
{
	if (c->done && c->rc < 0 &&
	    (is_hold || (c->rc != SB_ENOTFOUND && c->rc != SB_EEXPIRED)))
		t->errors++;
}

static const dh_call *holding(const dh_call *c);

static const char *held_seat(const dh_call *c)
{
	return dh_seat(holding(c));
}

/* The twin whose answer gave the seat the id holds: the later deadline
 * when both did (the second came after the first had lapsed). */
static const dh_call *holding(const dh_call *c)
{
	if (dh_seat(&c[0]) && dh_seat(&c[1]))
		return c[1].expires > c[0].expires ? &c[1] : &c[0];
	return dh_seat(&c[0]) ? &c[0] : &c[1];
}

static int64_t held_until(const dh_call *c)
{
	return holding(c)->expires;
}

/* One twin got a seat, the other was told "sold out": fine if the
 * "sold out" may have come first (the seat was a lapsed hold that came
 * back after it: a rush slower than a hold), or after the seat's hold
 * had lapsed. Not if the seat was given before the "sold out" was asked
 * (law 3: the id held it). */
static int seat_then_sold_out(const dh_call *seat, const dh_call *sold)
{
	return seat->s1 > sold->s0 || sold->t1 >= seat->expires;
}

/* Twin clicks: the same answer, unless one came after the other's hold
 * had lapsed (then the id was new again), or a "sold out" came before
 * the twin's seat was given. */
static int twins_agree(const dh_call *a, const dh_call *b)
{
	if (!a->done || !b->done || a->rc < 0 || b->rc < 0)
		return 1; /* counted as unanswered or an error */
	if (a->rc == b->rc && (a->rc != SB_OK || strcmp(a->seat, b->seat) == 0))
		return 1;
	if (ok(a) && b->rc == SB_EMPTY)
		return seat_then_sold_out(a, b);
	if (ok(b) && a->rc == SB_EMPTY)
		return seat_then_sold_out(b, a);
	return (ok(a) && b->t1 >= a->expires) || (ok(b) && a->t1 >= b->expires);
}

/* The answers to the deadline: the store decided at some instant of
 * [t0, t1]; "live" needs t0 < deadline, "lapsed" needs t1 >= deadline. */
static int on_time(const dh_call *c, int64_t from, int64_t until)
{
	if (!c->done ||
	    (c->rc < 0 && c->rc != SB_ENOTFOUND && c->rc != SB_EEXPIRED))
		return 1; /* an error: counted apart */
	if (c->rc >= 0)
		return c->t0 < until;
	return c->t1 >= from;
}

/* A call that broke law 7 (or 3 for a lookup): count it, keep a few. */
static void broke(tally *t, const char *who, const char *what, const dh_call *c,
                  int64_t deadline)
{
	t->deadline_broken++;
	if (t->nevidence < 3)
		snprintf(t->evidence[t->nevidence++], sizeof t->evidence[0],
		         "%s: %s answered %d (%s) in [%" PRId64 ", %" PRId64
		         "] ms, deadline %" PRId64,
		         who, what, c->rc,
		         c->rc < 0 ? sb_strerror(c->rc) : "ok", c->t0, c->t1,
		         deadline);
}

static void check_time(tally *t, const char *who, const char *what,
                       const dh_call *c, int64_t from, int64_t until)
{
	if (!on_time(c, from, until))
		broke(t, who, what, c, c->rc >= 0 ? until : from);
}

static void check_checkout(const dh_buyer *b, tally *t, int i, const char *who)
{
	int64_t e = held_until(b->rush), from = e, until = e;
	const char *seat = held_seat(b->rush);

	if (b->plan == DH_ABANDON || b->plan == DH_LATE_PAY) {
		t->walked++;
		if (ok(&b->lookup) && strcmp(b->lookup.seat, seat) != 0)
			broke(t, who, "lookup (another seat)", &b->lookup, e);
		check_time(t, who, "lookup", &b->lookup, e, e);
		count_call(t, &b->lookup, 0);
		return;
	}
	if (b->extend.done) {
		check_time(t, who, "extend", &b->extend, e, e);
		count_call(t, &b->extend, 0);
		if (ok(&b->extend)) { /* the new deadline, within the call */
			from = b->extend.t0 + DH_EXTEND_MS;
			until = b->extend.t1 + DH_EXTEND_MS;
		}
	}
	check_time(t, who, "confirm", &b->confirm[0], from, until);
	count_call(t, &b->confirm[0], 0);
	count_call(t, &b->confirm[1], 0);
	if (!ok(&b->confirm[0])) {
		t->lapsed_pay++;
		return;
	}
	/* A confirmed hold never lapses: paying twice is fine. */
	if (b->confirm[1].done && !ok(&b->confirm[1]))
		broke(t, who, "second confirm", &b->confirm[1], until);
	if (b->plan == DH_PAY || b->plan == DH_SLOW_PAY) {
		t->paid++;
		snprintf(t->kept[i], sizeof t->kept[i], "%s", seat);
		return;
	}
	count_call(t, &b->release[0], 0);
	count_call(t, &b->release[1], 0);
	if (!ok(&b->release[0]) ||
	    (b->release[1].done && b->release[1].rc != SB_ENOTFOUND))
		t->release_broken++;
	if (b->plan == DH_RETIRE && ok(&b->release[0])) {
		t->retired++;
		snprintf(t->retired_seat[i], sizeof t->retired_seat[i], "%s",
		         seat);
	} else if (ok(&b->release[0])) {
		t->cancelled++;
	}
}

static int overlap(const dh_call *a, const dh_call *b)
{
	return a->s0 < b->s1 && b->s0 < a->s1;
}

static void check_rush(const dh_run *r, tally *t)
{
	for (int i = 0; i < DH_BUYERS; i++) {
		const dh_buyer *b = &r->b[i];

		for (int k = 0; k < DH_CLICKS; k++) {
			t->unanswered += !b->rush[k].done;
			count_call(t, &b->rush[k], 1);
		}
		t->raced += overlap(&b->rush[0], &b->rush[1]);
		t->twin_differ += !twins_agree(&b->rush[0], &b->rush[1]);
		if (!held_seat(b->rush)) {
			t->sold1 += b->rush[0].rc == SB_EMPTY;
			continue;
		}
		t->holders++;
		t->plan[b->plan]++;
		check_checkout(b, t, i, r->names[i]);
		if (b->plan == DH_LATE_PAY) {
			/* The deadline passed: "lapsed", or "holds nothing"
			 * once a claim reclaimed the seat (a rush longer than
			 * a hold), never "ok". */
			int told = b->late.rc == SB_EEXPIRED ||
			           b->late.rc == SB_ENOTFOUND;

			t->late_lapsed += told;
			if (!told)
				broke(t, r->names[i], "late confirm", &b->late,
				      held_until(b->rush));
			count_call(t, &b->late, 0);
		}
	}
	t->kept1 = t->paid;
}

static void check_resale(const dh_run *r, tally *t)
{
	for (int i = 0; i < DH_BUYERS; i++) {
		const dh_buyer *b = &r->b[i];
		const char *seat;

		if (!b->retries)
			continue;
		t->retriers++;
		for (int k = 0; k < DH_CLICKS; k++) {
			t->unanswered += !b->retry[k].done;
			count_call(t, &b->retry[k], 1);
		}
		t->twin_differ += !twins_agree(&b->retry[0], &b->retry[1]);
		seat = held_seat(b->retry);
		if (!seat) {
			t->sold4 += b->retry[0].rc == SB_EMPTY;
			continue;
		}
		t->w4++;
		count_call(t, &b->retry_confirm, 0);
		check_time(t, r->names[i], "resale confirm", &b->retry_confirm,
		           held_until(b->retry), held_until(b->retry));
		if (ok(&b->retry_confirm)) {
			t->kept4++;
			snprintf(t->kept[i], sizeof t->kept[i], "%s", seat);
		}
	}
}

/* Two buyers told one seat: in the rush only if the first hold had
 * lapsed when the second came; a seat re-sold must not be one a buyer
 * kept or one that was retired. */
static void check_seats(const dh_run *r, tally *t)
{
	for (int i = 0; i < DH_BUYERS; i++) {
		const dh_call *a = r->b[i].rush;
		const char *sa = held_seat(a), *si = held_seat(r->b[i].retry);

		for (int j = i + 1; sa && j < DH_BUYERS; j++) {
			const dh_call *b = r->b[j].rush;
			const char *sb = held_seat(b);

			if (sb && strcmp(sa, sb) == 0 &&
			    held_until(a) > holding(b)->t1 &&
			    held_until(b) > holding(a)->t1)
				t->seat_twice++;
		}
		for (int j = 0; si && j < DH_BUYERS; j++) {
			const char *sj = held_seat(r->b[j].retry);

			if (j != i && sj && strcmp(si, sj) == 0)
				t->seat_twice++;
			if (j != i && strcmp(t->kept[j], si) == 0)
				t->seat_twice++;
			t->retired_back += strcmp(t->retired_seat[j], si) == 0;
		}
	}
}

/* "buyer-007" -> 6, "R02-S03" -> 22; -1 if not ours. */
static int buyer_index(const dh_run *r, const char *id)
{
	int n;

	if (sscanf(id, "buyer-%3d", &n) != 1 || n < 1 || n > DH_BUYERS ||
	    strcmp(r->names[n - 1], id) != 0)
		return -1;
	return n - 1;
}

static int seat_index(const dh_run *r, const char *seat)
{
	int row, col, i;

	if (sscanf(seat, "R%2d-S%2d", &row, &col) != 2 || row < 1 ||
	    row > DH_ROWS || col < 1 || col > DH_SEATS_PER_ROW)
		return -1;
	i = (row - 1) * DH_SEATS_PER_ROW + col - 1;
	return strcmp(r->seats[i], seat) == 0 ? i : -1;
}

typedef struct {
	const dh_run *r;
	store_view *v;
} view_ctx;

static void see(view_ctx *x, const char *id, const char *bank, const char *item,
                int live)
{
	int b = buyer_index(x->r, id), s = seat_index(x->r, item);

	if (b < 0 || s < 0 || strcmp(bank, DH_BANK) != 0) {
		x->v->rows_bad++;
		return;
	}
	x->v->dup_id += x->v->id_seen[b]++ > 0;
	x->v->dup_seat += x->v->seat_seen[s]++ > 0;
	if (live)
		x->v->live++;
	else if (strcmp(x->v->t->kept[b], item) == 0)
		x->v->rows_match++;
	x->v->rows += !live;
}

static int on_row(const char *id, const char *bank, const char *item,
                  void *payload)
{
	see(payload, id, bank, item, 0);
	return 0;
}

static int on_hold_row(const char *id, const char *bank, const char *item,
                       int64_t expires_ms, void *payload)
{
	(void)expires_ms;
	see(payload, id, bank, item, 1);
	return 0;
}

static void read_store(dh_run *r, sb_box *box, store_view *v)
{
	view_ctx x = { r, v };

	r->rec_rc = sb_box_recover(&r->rec, box, DH_BANK, DH_LEDGER, NULL);
	r->end_ok = sb_box_stats(&r->end, box, DH_BANK, DH_LEDGER) == SB_OK;
	r->export_rc = sb_box_export(box, DH_LEDGER, on_row, &x);
	r->holds_rc = sb_box_export_holds(box, DH_LEDGER, on_hold_row, &x);
	r->end_live = v->live;
	if (r->rec_rc < 0 && !r->first_error[0])
		snprintf(r->first_error, sizeof r->first_error, "recover: %s",
		         sb_box_errmsg(box));
}

static int law(int holds, const char *text)
{
	printf("  [%s] %s\n", holds ? "ok" : "BROKEN", text);
	return holds;
}

static void print_story(const dh_run *r, const tally *t, const store_view *v)
{
	const sb_stats *e = &r->end;

	printf("storagebox demo --holds: the box office\n"
	       "store: %s%s\n\n",
	       r->uri, r->temp ? " (removed at the end)" : "");
	printf("%d seats (%s..%s) in bank \"%s\"; %d buyers click \"hold my "
	       "seat\"\ntwice each, from %d workers with a box each%s; a hold "
	       "lasts %.0f s.\n\n",
	       DH_SEATS, r->seats[0], r->seats[DH_SEATS - 1], DH_BANK,
	       DH_BUYERS, r->workers, r->generic ? " (generic path)" : "",
	       DH_TTL_MS / 1000.0);
	printf("The rush (%.2f s): %d buyers hold a seat, %d are told sold "
	       "out; the twin\nclicks of %d buyers were in flight at once.\n",
	       r->t_rush, t->holders, t->sold1, t->raced);
	printf("Checkout (%.2f s): %d pay (%d of them after asking for %.0f "
	       "s more),\n%d pay and cancel (%d seats retired as broken), %d "
	       "walk away.\n",
	       r->t_checkout, t->paid, t->plan[DH_SLOW_PAY],
	       DH_EXTEND_MS / 1000.0, t->cancelled + t->retired, t->retired,
	       t->walked);
	if (t->lapsed_pay)
		printf("  %d paid too late: their holds lapsed.\n",
		       t->lapsed_pay);
	printf("Lapses (waited %.2f s): %d holds lapsed at their deadline; %d "
	       "buyers who\ncame back to pay were told it was too late.\n",
	       r->t_wait, t->walked + t->lapsed_pay, t->late_lapsed);
	printf("Resale (%.2f s): %d buyers try again for the %" PRIu64
	       " seats back in the bank:\n%d get one and pay, %d are told "
	       "sold out.\n",
	       r->t_resale, t->retriers, r->pre.available + r->pre.on_hold,
	       t->w4, t->sold4);
	if (r->rec_rc >= 0)
		printf("recover: lapsed %" PRIu64 ", released %" PRIu64
		       ", settled %" PRIu64 ", put back %" PRIu64 "\n",
		       r->rec.lapsed, r->rec.released, r->rec.settled,
		       r->rec.put_back);
	if (r->end_ok)
		printf("stats: available %" PRIu64 ", reserved %" PRIu64
		       ", on_hold %" PRIu64 ", assigned %" PRIu64
		       ", retired %" PRIu64 "\n",
		       e->available, e->reserved, e->on_hold, e->assigned,
		       e->retired);
	else
		printf("stats: could not be read\n");
	printf("export: %d rows, %d are what the buyer kept; %d live holds\n",
	       v->rows, v->rows_match, v->live);
	printf("requests: %d errors, %d not answered\n", t->errors,
	       t->unanswered);
	if (r->first_error[0])
		printf("first error: %s\n", r->first_error);
	printf("\n");
}

static int print_laws(const dh_run *r, const tally *t, const store_view *v)
{
	const sb_stats *p = &r->pre, *e = &r->end;
	int kept = t->kept1 + t->kept4;
	int expect_free = DH_SEATS - t->kept1 - t->retired;
	int64_t free4 = (int64_t)(p->available + p->on_hold);
	int64_t want4 = t->retriers < free4 ? t->retriers : free4;
	int store_ok = r->end_ok && r->export_rc == SB_OK &&
	               r->holds_rc == SB_OK && v->rows_bad == 0;
	int all = 1;

	printf("The laws:\n");
	all &= law(t->seat_twice == 0 && t->retired_back == 0 && store_ok &&
	                   v->dup_seat == 0,
	           "no seat went to two buyers at once");
	all &= law(t->twin_differ == 0 && store_ok && v->dup_id == 0,
	           "no buyer holds two seats: twin clicks got the same "
	           "answer");
	all &= law(store_ok && v->rows == kept && v->rows_match == kept,
	           "every confirmed seat is still its buyer's");
	all &= law(t->deadline_broken == 0 && r->pre_ok && r->pre_live == 0 &&
	                   p->on_hold <= (uint64_t)(t->walked + t->lapsed_pay) &&
	                   t->late_lapsed == t->plan[DH_LATE_PAY],
	           "a hold lasts until its deadline, not after; no confirm "
	           "after it");
	all &= law(r->pre_ok && p->reserved == 0 &&
	                   (int64_t)expect_free == free4 &&
	                   p->assigned == (uint64_t)t->kept1 &&
	                   t->w4 == want4 && t->kept4 == t->w4 && r->end_ok &&
	                   (int64_t)e->available == free4 - t->w4,
	           "lapsed and released seats came back and were re-sold");
	all &= law(t->release_broken == 0 && t->retired_back == 0 &&
	                   r->end_ok && e->retired == (uint64_t)t->retired,
	           "a release gives its seat back once; retired seats never "
	           "return");
	all &= law(r->end_ok && e->reserved == 0 &&
	                   e->on_hold == (uint64_t)v->live &&
	                   e->available + e->reserved + e->on_hold +
	                                   e->assigned + e->retired ==
	                           DH_SEATS &&
	                   e->assigned == (uint64_t)kept,
	           "conservation: available + reserved + on_hold + assigned "
	           "+ retired = 300");
	all &= law((t->sold1 == 0 || t->holders >= DH_SEATS) &&
	                   (t->sold4 == 0 || t->w4 >= free4),
	           "no false \"sold out\": only when no seat was free or "
	           "lapsed");
	all &= law(t->errors == 0 && t->unanswered == 0 && r->rec_rc >= 0 &&
	                   r->opened == r->workers,
	           "every request was answered (no errors)");
	return all;
}

static const char *told(const dh_call *c)
{
	return c->rc == SB_OK      ? c->seat
	       : c->rc == SB_EMPTY ? "sold out"
	                           : "an error";
}

/* Evidence for a broken law: a few buyers whose twin clicks differ. */
static void print_twins(const dh_run *r)
{
	int shown = 0;

	for (int i = 0; i < DH_BUYERS && shown < 3; i++) {
		const dh_buyer *b = &r->b[i];

		if (!twins_agree(&b->rush[0], &b->rush[1])) {
			printf("  %s was told in the rush: %s; %s\n",
			       r->names[i], told(&b->rush[0]),
			       told(&b->rush[1]));
			shown++;
		}
		if (b->retries && !twins_agree(&b->retry[0], &b->retry[1])) {
			printf("  %s was told in the resale: %s; %s\n",
			       r->names[i], told(&b->retry[0]),
			       told(&b->retry[1]));
			shown++;
		}
	}
}

int dh_report(dh_run *r, sb_box *box)
{
	tally t;
	store_view v;

	memset(&t, 0, sizeof t);
	memset(&v, 0, sizeof v);
	v.t = &t;
	check_rush(r, &t);
	check_resale(r, &t);
	check_seats(r, &t);
	read_store(r, box, &v);
	print_story(r, &t, &v);
	if (print_laws(r, &t, &v)) {
		printf("verdict: every law holds\n");
		return 0;
	}
	print_twins(r);
	for (int i = 0; i < t.nevidence; i++)
		printf("  %s\n", t.evidence[i]);
	printf("verdict: a law is BROKEN (see above)\n");
	return 1;
}
