/* 32 clients (threads, one box each) hold, confirm, extend, abandon (let
 * lapse), release (restock or retire) and fetch at random on a small
 * bank, each with ids of its own, while another thread reloads the bank
 * (sb_box_add of every item again, which must skip them all: released
 * and retired items are not new). Then:
 *   - from the answers: each client knows when each of its ids surely
 *     held which item (from the answer's return until the deadline, or
 *     until the release started); no two such spans of one item overlap,
 *     and no retired item is handed out again. Answers that the deadline
 *     decides are checked against the time: a confirm, extend or release
 *     that started after the deadline lost, one that returned before it
 *     did not.
 *   - after recover: conservation with reserved 0; export and
 *     export_holds list exactly what the clients believe their ids hold,
 *     no item twice; every confirmed item is still its id's; and the
 *     bank drains to exactly its available count. */
#include "hr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDS_PER   3
#define SHORT_MIN 5  /* ms */
#define SHORT_MAX 50 /* ms */
#define LONG_TTL  (10 * 60 * 1000)
#define LIVE_US   (60LL * 1000 * 1000) /* "will not lapse in this run" */

typedef struct {
	int item, id;
	int64_t from, to; /* us: surely the id's in [from, to) */
} span;

/* One call a client made, for the story of an item when a check fails. */
typedef struct {
	int64_t t0, t1;
	int id, item, rc, is_new;
	hr_op op;
	unsigned int flags;
	int64_t expires;
} note;

typedef enum {
	ID_NONE,
	ID_HELD,
	ID_OWNED
} id_kind;

typedef struct {
	id_kind kind;
	int item;
	int64_t d_lo, d_hi; /* ID_HELD: the deadline lies in [d_lo, d_hi] */
	int64_t from;
} id_state;

typedef struct {
	int idx;
	sb_box *box;
	t_rng rng;
	id_state ids[IDS_PER];
	span *spans;
	size_t nspans, cap;
	note *notes;
	size_t nnotes, ncap;
	size_t ops, holds, fetches, confirms, extends, releases, retires,
		lapsed, empty;
} client;

static struct {
	char *bank, *ledger;
	size_t nitems, nclients, nops;
	char **items;
	int64_t *retired_at; /* per item: when its retire returned, or 0 */
	int stop;
	size_t reloads;
	int odd_item; /* an item answered against the id's story, or -1 */
} mx;

static int item_index(const char *v)
{
	char *end;
	long k;

	if (!v || strncmp(v, "mx-", 3) != 0)
		return -1;
	k = strtol(v + 3, &end, 10);
	return *end || k < 0 || (size_t)k >= mx.nitems ? -1 : (int)k;
}

static void id_name(char *buf, size_t n, int client, int j)
{
	snprintf(buf, n, "c%02d-%d", client, j);
}

static void add_span(client *c, int id, int item, int64_t from, int64_t to)
{
	if (c->nspans == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->spans = t_xrealloc(c->spans, c->cap * sizeof *c->spans);
	}
	c->spans[c->nspans++] = (span){ item, c->idx * IDS_PER + id, from, to };
}

/* The id's item was surely its own until @p to: close the span. */
static void close_span(client *c, int j, int64_t to)
{
	id_state *s = &c->ids[j];
	add_span(c, j, s->item, s->from, to);
	s->kind = ID_NONE;
}

/* A new item for the id (a hold or fetch answered new). */
static void got_new(client *c, int j, const hr_call *k)
{
	id_state *s = &c->ids[j];
	int item = item_index(k->item);

	if (!CHECKF(c->box, item >= 0 && k->is_new,
	            "client %d: %s answered '%s' (new %d) to an id that "
	            "holds nothing",
	            c->idx, hr_op_name(k->op), k->item ? k->item : "-",
	            k->is_new)) {
		int none = -1;
		if (item >= 0)
			__atomic_compare_exchange_n(&mx.odd_item, &none, item,
			                            0, __ATOMIC_ACQ_REL,
			                            __ATOMIC_ACQUIRE);
		return;
	}
	{
		int64_t at = __atomic_load_n(&mx.retired_at[item],
		                             __ATOMIC_ACQUIRE);
		CHECKF(c->box, !at || k->t0 < at,
		       "client %d: %s was retired, and handed out again",
		       c->idx, k->item);
	}
	s->item = item;
	s->from = k->t1;
	if (k->op == HR_FETCH) {
		CHECKF(c->box, k->expires == 0, "a fetch answered a deadline");
		s->kind = ID_OWNED;
		return;
	}
	s->kind = ID_HELD;
	s->d_lo = s->d_hi = k->expires * 1000;
	CHECKF(c->box,
	       s->d_lo >= k->t0 + k->ttl_ms * 1000 - HR_SLACK_US &&
	               s->d_hi <= k->t1 + k->ttl_ms * 1000 + HR_SLACK_US,
	       "client %d: a hold of %lld ms made in [%lld, %lld] us ends "
	       "at %lld",
	       c->idx, (long long)k->ttl_ms, (long long)k->t0, (long long)k->t1,
	       (long long)s->d_lo);
}

/* An answer on a held id that says its hold lapsed: that must not have
 * come before the deadline. */
static void lapsed(client *c, int j, const hr_call *k)
{
	id_state *s = &c->ids[j];

	if (CHECKF(c->box, k->t1 >= s->d_lo - HR_SLACK_US,
	           "client %d: %s answered %s %lld us before the deadline",
	           c->idx, hr_op_name(k->op), hr_rc(k->rc),
	           (long long)(s->d_lo - k->t1)))
		close_span(c, j, s->d_lo - HR_SLACK_US);
	else /* it was not the id's after all: from when? */
		close_span(c, j, k->t0);
	c->lapsed++;
}

/* An answer on a held id that says its hold was live. */
static int was_live(client *c, int j, const hr_call *k)
{
	return CHECKF(c->box, k->t0 < c->ids[j].d_hi + HR_SLACK_US,
	              "client %d: %s started %lld us after the deadline and "
	              "answered %s",
	              c->idx, hr_op_name(k->op),
	              (long long)(k->t0 - c->ids[j].d_hi), hr_rc(k->rc));
}

/* After an answer the laws do not allow: what the id holds now, from
 * the store, so that one wrong answer is reported once, not again by
 * every check after it. */
static void resync(client *c, int j, const hr_call *k)
{
	id_state *s = &c->ids[j];
	char id[32], *v = NULL;
	int64_t exp;

	if (s->kind != ID_NONE)
		close_span(c, j, k->t0);
	id_name(id, sizeof id, c->idx, j);
	if (hr_lookup(c->box, mx.ledger, id, &v, &exp) == SB_OK &&
	    item_index(v) >= 0) {
		s->item = item_index(v);
		s->from = hr_now_us();
		s->kind = exp ? ID_HELD : ID_OWNED;
		s->d_lo = s->d_hi = exp * 1000;
	}
	free(v);
}

static int64_t pick_ttl(client *c)
{
	if (t_rng_below(&c->rng, 4) == 0)
		return LONG_TTL;
	return SHORT_MIN + (int64_t)t_rng_below(&c->rng, SHORT_MAX - SHORT_MIN);
}

static void on_none(client *c, int j, hr_call *k)
{
	size_t r = t_rng_below(&c->rng, 100);

	k->op = r < 65   ? HR_HOLD
	        : r < 80 ? HR_FETCH
	        : r < 87 ? HR_CONFIRM
	        : r < 94 ? HR_EXTEND
	                 : HR_RELEASE;
	k->ttl_ms = pick_ttl(c);
	hr_call_run(k);
	if (k->op == HR_HOLD || k->op == HR_FETCH) {
		if (k->rc == SB_OK)
			got_new(c, j, k);
		else if (!CHECKF(c->box, k->rc == SB_EMPTY, "client %d: %s: %s",
		                 c->idx, hr_op_name(k->op), hr_rc(k->rc)))
			resync(c, j, k);
		else
			c->empty++;
	} else if (!CHECKF(c->box, k->rc == SB_ENOTFOUND || k->rc == SB_EEXPIRED,
	                   "client %d: %s of an id that holds nothing: %s",
	                   c->idx, hr_op_name(k->op), hr_rc(k->rc))) {
		/* An id that holds nothing (a lapsed entry not yet
		 * reclaimed answers SB_EEXPIRED). */
		resync(c, j, k);
	}
}

static void note_retire(client *c, int item, const hr_call *k)
{
	if (k->flags & SB_RELEASE_RETIRE) {
		__atomic_store_n(&mx.retired_at[item], k->t1, __ATOMIC_RELEASE);
		c->retires++;
	}
}

static void on_held(client *c, int j, hr_call *k)
{
	id_state *s = &c->ids[j];
	size_t r = t_rng_below(&c->rng, 100);
	int item = s->item;

	if (r < 25)
		return; /* abandoned: it lapses */
	k->op = r < 55   ? HR_CONFIRM
	        : r < 70 ? HR_EXTEND
	        : r < 85 ? HR_RELEASE
	        : r < 93 ? HR_HOLD
	                 : HR_FETCH;
	k->ttl_ms = pick_ttl(c);
	k->flags = t_rng_below(&c->rng, 8) == 0 ? SB_RELEASE_RETIRE : 0;
	hr_call_run(k);
	if (k->op == HR_HOLD || k->op == HR_FETCH) {
		if (k->rc == SB_OK && !k->is_new) {
			/* A repeat: the same hold, unchanged. */
			if (!was_live(c, j, k) ||
			    !CHECKF(c->box,
			            item_index(k->item) == item &&
			                    k->expires * 1000 >=
			                            s->d_lo - HR_SLACK_US &&
			                    k->expires * 1000 <=
			                            s->d_hi + HR_SLACK_US,
			            "client %d: a repeat %s answered %s "
			            "until %lld, not mx-%d",
			            c->idx, hr_op_name(k->op), k->item,
			            (long long)k->expires, item))
				resync(c, j, k);
		} else if (k->rc == SB_OK || k->rc == SB_EMPTY) {
			lapsed(c, j, k);
			if (k->rc == SB_OK)
				got_new(c, j, k);
			else
				c->empty++;
		} else {
			CHECKF(c->box, 0, "client %d: %s: %s", c->idx,
			       hr_op_name(k->op), hr_rc(k->rc));
			resync(c, j, k);
		}
		return;
	}
	if (k->rc == SB_EEXPIRED || k->rc == SB_ENOTFOUND) {
		lapsed(c, j, k);
		return;
	}
	if (!CHECKF(c->box, k->rc == SB_OK, "client %d: %s: %s", c->idx,
	            hr_op_name(k->op), hr_rc(k->rc)) ||
	    !was_live(c, j, k)) {
		resync(c, j, k);
		return;
	}
	if (k->op == HR_CONFIRM) {
		s->kind = ID_OWNED;
		c->confirms++;
	} else if (k->op == HR_EXTEND) {
		s->d_lo = k->t0 + k->ttl_ms * 1000;
		s->d_hi = k->t1 + k->ttl_ms * 1000;
		c->extends++;
	} else {
		close_span(c, j, k->t0);
		note_retire(c, item, k);
		c->releases++;
	}
}

static void on_owned(client *c, int j, hr_call *k)
{
	id_state *s = &c->ids[j];
	size_t r = t_rng_below(&c->rng, 100);

	if (r < 30)
		return;
	k->op = r < 70   ? HR_RELEASE
	        : r < 80 ? HR_FETCH
	        : r < 90 ? HR_HOLD
	        : r < 95 ? HR_CONFIRM
	                 : HR_EXTEND;
	k->ttl_ms = pick_ttl(c);
	k->flags = t_rng_below(&c->rng, 8) == 0 ? SB_RELEASE_RETIRE : 0;
	hr_call_run(k);
	if (!CHECKF(c->box, k->rc == SB_OK,
	            "client %d: %s of an item held for good: %s", c->idx,
	            hr_op_name(k->op), hr_rc(k->rc))) {
		resync(c, j, k);
		return;
	}
	if (k->op == HR_RELEASE) {
		close_span(c, j, k->t0);
		note_retire(c, s->item, k);
		c->releases++;
	} else if ((k->op == HR_FETCH || k->op == HR_HOLD) &&
	           !CHECKF(c->box,
	                   item_index(k->item) == s->item && !k->is_new &&
	                           k->expires == 0,
	                   "client %d: a repeat %s answered %s (new %d, until "
	                   "%lld), not mx-%d for good",
	                   c->idx, hr_op_name(k->op), k->item, k->is_new,
	                   (long long)k->expires, s->item)) {
		resync(c, j, k);
	}
}

static void *client_main(void *p)
{
	client *c = p;
	char id[32];
	size_t n;

	for (n = 0; n < mx.nops; n++) {
		int j = (int)t_rng_below(&c->rng, IDS_PER);
		hr_call k = { .box = c->box,
			      .bank = mx.bank,
			      .ledger = mx.ledger,
			      .id = id };
		id_name(id, sizeof id, c->idx, j);
		switch (c->ids[j].kind) {
		case ID_NONE: on_none(c, j, &k); break;
		case ID_HELD: on_held(c, j, &k); break;
		case ID_OWNED: on_owned(c, j, &k); break;
		}
		if (k.t0) {
			if (c->nnotes == c->ncap) {
				c->ncap = c->ncap ? 2 * c->ncap : 64;
				c->notes = t_xrealloc(c->notes,
				                      c->ncap *
				                              sizeof *c->notes);
			}
			c->notes[c->nnotes++] = (note){
				k.t0,
				k.t1,
				c->idx * IDS_PER + j,
				c->ids[j].kind == ID_NONE && k.rc != SB_OK ? -1
				: k.item ? item_index(k.item)
					 : c->ids[j].item,
				k.rc,
				k.is_new,
				k.op,
				k.flags,
				k.expires
			};
		}
		c->holds += k.op == HR_HOLD;
		c->fetches += k.op == HR_FETCH;
		c->ops++;
		hr_call_clear(&k);
		if (t_rng_below(&c->rng, 2))
			t_nap_ms((long)t_rng_below(&c->rng, 3));
	}
	return NULL;
}

/* The bank reloaded again and again: every item skipped. */
static void *reload_main(void *p)
{
	sb_box *box = p;

	while (!__atomic_load_n(&mx.stop, __ATOMIC_ACQUIRE)) {
		sb_add_result ar = { 0, 0 };
		int rc = sb_box_add(&ar, box, mx.bank,
		                    (const char *const *)mx.items, mx.nitems);
		CHECKF(box,
		       rc == SB_OK && ar.added == 0 && ar.skipped == mx.nitems,
		       "reload: %s, added %llu skipped %llu of %zu", hr_rc(rc),
		       (unsigned long long)ar.added,
		       (unsigned long long)ar.skipped, mx.nitems);
		mx.reloads++;
		t_nap_ms(5);
	}
	return NULL;
}

static int by_item_from(const void *a, const void *b)
{
	const span *x = a, *y = b;
	if (x->item != y->item)
		return x->item < y->item ? -1 : 1;
	return x->from < y->from ? -1 : x->from > y->from;
}

static int by_t0(const void *a, const void *b)
{
	const note *x = a, *y = b;
	return x->t0 < y->t0 ? -1 : x->t0 > y->t0;
}

/* Every call that answered about @p item (with a time of its own), in
 * order: what a failed check needs to be understood. */
static void story(client *cs, int item)
{
	size_t n = 0, i, j;
	note *v = NULL;

	for (i = 0; i < mx.nclients; i++)
		for (j = 0; j < cs[i].nnotes; j++)
			if (cs[i].notes[j].item == item) {
				v = t_xrealloc(v, (n + 1) * sizeof *v);
				v[n++] = cs[i].notes[j];
			}
	if (n)
		qsort(v, n, sizeof *v, by_t0);
	printf("the story of mx-%d (us, id, call, answer):\n", item);
	for (i = n > 60 ? n - 60 : 0; i < n; i++)
		printf("  [%lld, %lld] id %d %s%s: %s new %d until %lld\n",
		       (long long)v[i].t0, (long long)v[i].t1, v[i].id,
		       hr_op_name(v[i].op),
		       v[i].op == HR_RELEASE && (v[i].flags & SB_RELEASE_RETIRE)
		               ? " retire"
		               : "",
		       hr_rc(v[i].rc), v[i].is_new, (long long)v[i].expires);
	free(v);
}

/* No item surely two ids' (or one id's twice) at once. */
static void check_spans(client *cs, int64_t end)
{
	size_t n = 0, i, j, k, bad = 0;
	int first_bad = -1;
	span *all;

	for (i = 0; i < mx.nclients; i++) {
		client *c = &cs[i];
		for (j = 0; j < IDS_PER; j++)
			if (c->ids[j].kind == ID_OWNED)
				add_span(c, (int)j, c->ids[j].item,
				         c->ids[j].from, end);
			else if (c->ids[j].kind == ID_HELD)
				add_span(c, (int)j, c->ids[j].item,
				         c->ids[j].from,
				         c->ids[j].d_lo - HR_SLACK_US);
		n += c->nspans;
	}
	all = t_xcalloc(n, sizeof *all);
	for (i = 0, k = 0; i < mx.nclients; i++) {
		if (cs[i].nspans)
			memcpy(all + k, cs[i].spans,
			       cs[i].nspans * sizeof *all);
		k += cs[i].nspans;
	}
	qsort(all, n, sizeof *all, by_item_from);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n && all[j].item == all[i].item; j++)
			if (all[j].from < all[i].to &&
			    all[i].from < all[i].to &&
			    all[j].from < all[j].to &&
			    (first_bad = all[i].item, bad++ < 5))
				CHECKF(NULL, 0,
				       "mx-%d: id %d held it in [%lld, %lld) "
				       "and id %d in [%lld, %lld)",
				       all[i].item, all[i].id,
				       (long long)all[i].from,
				       (long long)all[i].to, all[j].id,
				       (long long)all[j].from,
				       (long long)all[j].to);
	if (!CHECKF(NULL, bad == 0, "%zu overlapping spans of %zu", bad, n))
		story(cs, first_bad);
	free(all);
}

typedef struct {
	client *cs;
	t_map seen; /* item -> id */
	size_t n, wrong;
	int holds;
} export_check;

/* One entry of export or export_holds: the id's owner believes the
 * same. */
static int on_export(export_check *x, const char *id, const char *bank,
                     const char *item, int64_t expires)
{
	int ci, j, k = item_index(item);
	id_state *s = NULL;

	x->n++;
	if (sscanf(id, "c%d-%d", &ci, &j) == 2 && ci >= 0 &&
	    (size_t)ci < mx.nclients && j >= 0 && j < IDS_PER)
		s = &x->cs[ci].ids[j];
	if (k >= 0 && mx.retired_at[k])
		CHECKF(NULL, 0, "%s lists %s, retired, for %s",
		       x->holds ? "export_holds" : "export", item, id);
	if (!t_map_put(&x->seen, item, id))
		CHECKF(NULL, 0, "%s is listed for %s and %s", item,
		       t_map_get(&x->seen, item), id);
	if (!s || strcmp(bank, mx.bank) != 0 || k != s->item ||
	    (x->holds ? s->kind != ID_HELD ||
	                        expires * 1000 < s->d_lo - HR_SLACK_US ||
	                        expires * 1000 > s->d_hi + HR_SLACK_US
	              : s->kind != ID_OWNED)) {
		if (x->wrong++ < 5)
			CHECKF(NULL, 0,
			       "%s lists %s -> %s (until %lld), its client "
			       "believes %s mx-%d",
			       x->holds ? "export_holds" : "export", id, item,
			       (long long)expires,
			       !s                    ? "nothing of it:"
			       : s->kind == ID_OWNED ? "for good"
			       : s->kind == ID_HELD  ? "on hold"
			                             : "nothing,",
			       s ? s->item : -1);
	}
	return 0;
}

static int export_cb(const char *id, const char *bank, const char *item,
                     void *p)
{
	return on_export(p, id, bank, item, 0);
}

static int export_holds_cb(const char *id, const char *bank, const char *item,
                           int64_t expires, void *p)
{
	return on_export(p, id, bank, item, expires);
}

/* After recover: the store against what the clients believe. */
static void check_store(sb_box *box, client *cs, size_t retires)
{
	size_t owned = 0, live = 0, i, drained = 0;
	export_check x;
	sb_recover_result rr;
	sb_stats st;
	int j, rc;

	for (i = 0; i < mx.nclients; i++)
		for (j = 0; j < IDS_PER; j++) {
			const id_state *s = &cs[i].ids[j];
			char id[32], *v = NULL;
			int64_t exp;
			id_name(id, sizeof id, (int)i, j);
			if (s->kind == ID_OWNED) {
				owned++;
				rc = hr_lookup(box, mx.ledger, id, &v, &exp);
				CHECKF(box,
				       rc == SB_OK &&
				               item_index(v) == s->item &&
				               exp == 0,
				       "%s confirmed mx-%d, holds %s until "
				       "%lld (%s)",
				       id, s->item, v ? v : "nothing",
				       (long long)exp, hr_rc(rc));
				free(v);
			}
			live += s->kind == ID_HELD;
		}
	CHECK_RC(box, sb_box_recover(&rr, box, mx.bank, mx.ledger, NULL),
	         SB_OK);
	st = hr_stats(box, mx.bank, mx.ledger);
	CHECKF(box,
	       st.available + st.reserved + st.on_hold + st.assigned +
	                               st.retired ==
	                       mx.nitems &&
	               st.reserved == 0 && st.retired == retires &&
	               st.assigned == owned && st.on_hold == live &&
	               st.held == owned + live,
	       "after recover: available %llu reserved %llu on_hold %llu "
	       "assigned %llu retired %llu held %llu; the clients: %zu "
	       "items, %zu for good, %zu on hold, %zu retired",
	       (unsigned long long)st.available,
	       (unsigned long long)st.reserved, (unsigned long long)st.on_hold,
	       (unsigned long long)st.assigned, (unsigned long long)st.retired,
	       (unsigned long long)st.held, mx.nitems, owned, live, retires);

	memset(&x, 0, sizeof x);
	x.cs = cs;
	t_map_init(&x.seen);
	CHECK_RC(box, sb_box_export(box, mx.ledger, export_cb, &x), SB_OK);
	CHECKF(box, x.n == owned, "export lists %zu, %zu confirmed", x.n,
	       owned);
	x.n = 0;
	x.holds = 1;
	CHECK_RC(box, sb_box_export_holds(box, mx.ledger, export_holds_cb, &x),
	         SB_OK);
	CHECKF(box, x.n == live, "export_holds lists %zu, %zu on hold", x.n,
	       live);

	/* What is left drains exactly: no item lost, none given twice. */
	for (;;) {
		char id[32];
		sb_item *it = NULL;
		snprintf(id, sizeof id, "drain-%zu", drained);
		rc = sb_box_fetch(&it, box, mx.bank, mx.ledger, id);
		if (rc == SB_OK && !t_map_put(&x.seen, sb_item_value(it), id))
			CHECKF(box, 0, "drain: %s again", sb_item_value(it));
		sb_item_free(it);
		if (rc != SB_OK || ++drained > mx.nitems)
			break;
	}
	CHECKF(box, rc == SB_EMPTY && drained == st.available,
	       "drained %zu of %llu available, then %s", drained,
	       (unsigned long long)st.available, hr_rc(rc));
	t_map_free(&x.seen);
	hr_settle(box, mx.bank, mx.ledger, mx.nitems, "mix at the end");
}

void hr_mix(void)
{
	sb_box *box = hr_open(), *rbox = hr_open();
	client *cs;
	pthread_t *t, rt;
	size_t i, retires = 0;
	int64_t wait_until = 0;
	size_t tot[8] = { 0 };
	double t0;
	int j;

	mx.nclients = t_env_size("SB_HR_CLIENTS", 32);
	mx.nitems = t_env_size("SB_HR_ITEMS", 48);
	mx.nops = t_env_size("SB_HR_OPS", 100);
	cs = t_xcalloc(mx.nclients, sizeof *cs);
	t = t_xcalloc(mx.nclients, sizeof *t);
	if (!box || !rbox)
		goto out;
	mx.bank = hr_bank(box, "mx", mx.nitems);
	mx.ledger = hr_name("mx-l");
	mx.items = t_xcalloc(mx.nitems, sizeof *mx.items);
	mx.retired_at = t_xcalloc(mx.nitems, sizeof *mx.retired_at);
	mx.reloads = 0;
	mx.odd_item = -1;
	for (i = 0; i < mx.nitems; i++)
		mx.items[i] = t_xasprintf("mx-%zu", i);
	for (i = 0; i < mx.nclients; i++) {
		cs[i].idx = (int)i;
		cs[i].box = hr_open();
		t_rng_seed(&cs[i].rng, hr.seed + 7919 * (i + 1));
		if (!cs[i].box)
			goto out;
	}
	mx.stop = 0;
	t0 = t_now_s();
	if (pthread_create(&rt, NULL, reload_main, rbox) != 0)
		exit(99);
	for (i = 0; i < mx.nclients; i++)
		if (pthread_create(&t[i], NULL, client_main, &cs[i]) != 0)
			exit(99);
	for (i = 0; i < mx.nclients; i++)
		pthread_join(t[i], NULL);
	__atomic_store_n(&mx.stop, 1, __ATOMIC_RELEASE);
	pthread_join(rt, NULL);

	for (i = 0; i < mx.nclients; i++) {
		client *c = &cs[i];
		tot[0] += c->ops;
		tot[1] += c->holds;
		tot[2] += c->confirms;
		tot[3] += c->extends;
		tot[4] += c->releases;
		tot[5] += c->lapsed;
		tot[6] += c->empty;
		tot[7] += c->fetches;
		retires += c->retires;
		/* Let every short hold lapse: the ones left live are the long
		 * ones, which cannot lapse before the checks end. */
		for (j = 0; j < IDS_PER; j++) {
			id_state *s = &c->ids[j];
			if (s->kind != ID_HELD)
				continue;
			if (s->d_lo < hr_now_us() + LIVE_US) {
				if (s->d_hi > wait_until)
					wait_until = s->d_hi;
				add_span(c, j, s->item, s->from,
				         s->d_lo - HR_SLACK_US);
				s->kind = ID_NONE;
			}
		}
	}
	printf("mix: %zu clients, %zu items: %zu ops (%zu holds, %zu "
	       "fetches, %zu confirms, %zu extends, %zu releases of which "
	       "%zu retire, %zu seen lapsed, %zu empty) and %zu reloads in "
	       "%.1f s\n",
	       mx.nclients, mx.nitems, tot[0], tot[1], tot[7], tot[2], tot[3],
	       tot[4], retires, tot[5], tot[6], mx.reloads, t_now_s() - t0);
	CHECKF(NULL, mx.reloads > 0, "the bank was never reloaded");
	hr_sleep_until_us(wait_until + HR_SLACK_US);
	check_spans(cs, hr_now_us() + LIVE_US);
	if (mx.odd_item >= 0)
		story(cs, mx.odd_item);
	check_store(box, cs, retires);
out:
	for (i = 0; i < mx.nclients; i++) {
		sb_box_close(cs[i].box);
		free(cs[i].spans);
		free(cs[i].notes);
	}
	for (i = 0; mx.items && i < mx.nitems; i++)
		free(mx.items[i]);
	free(mx.items);
	free(mx.retired_at);
	mx.items = NULL;
	mx.retired_at = NULL;
	free(mx.bank);
	free(mx.ledger);
	free(cs);
	free(t);
	sb_box_close(rbox);
	sb_box_close(box);
}
