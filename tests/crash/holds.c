/* Holds killed at each crash point of the generic order (docs/holds.md):
 * a hold after its take, a confirm after its ledger step, a release after
 * its mark and after its ledger step, a reclaim after its mark (by
 * recover and by a claim), each in a process of its own that the point
 * SIGKILLs. Then recover rolls every state forward, and the laws hold:
 * conservation, nothing reserved, no item to two ids, and each id holds
 * what the step that died had decided. The store is read through the
 * library (stats with on_hold and retired, export and export_holds). */
#include "crash.h"
#include "holds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LAPSING_MS 300 /* a hold meant to lapse: waited for */

sb_box *holds_box(void)
{
	sb_open_opts o = SB_OPEN_OPTS_INIT;
	char err[SB_ERRMSG_SIZE] = "";
	sb_box *box = NULL;

	o.protocol = cenv.generic ? SB_PROTOCOL_GENERIC : SB_PROTOCOL_AUTO;
	if (!CHECKF(NULL,
	            sb_box_open(&box, cenv.uri, &o, err, sizeof err) == SB_OK,
	            "open: %s", err))
		exit(1);
	return box;
}

typedef struct {
	t_map seen; /* item -> id */
	size_t n, twice;
} listing;

static int on_entry(const char *id, const char *bank, const char *item, void *p)
{
	listing *l = p;
	(void)bank;
	l->n++;
	if (!t_map_put(&l->seen, item, id) && l->twice++ < 5)
		CHECKF(NULL, 0, "%s is listed for %s and %s", item,
		       t_map_get(&l->seen, item), id);
	return 0;
}

static int on_hold(const char *id, const char *bank, const char *item,
                   int64_t expires, void *p)
{
	(void)expires;
	return on_entry(id, bank, item, p);
}

sb_stats holds_laws(sb_box *box, const char *bank, const char *ledger,
                    uint64_t nitems, const char *what, t_map *entries)
{
	sb_recover_result rr;
	sb_stats st;
	listing l;

	memset(&st, 0, sizeof st);
	CHECK_RC(box, sb_box_recover(&rr, box, bank, ledger, NULL), SB_OK);
	CHECK_RC(box, sb_box_stats(&st, box, bank, ledger), SB_OK);
	CHECKF(box,
	       st.available + st.reserved + st.on_hold + st.assigned +
	                               st.retired ==
	                       nitems &&
	               st.reserved == 0,
	       "%s: available %llu reserved %llu on_hold %llu assigned %llu "
	       "retired %llu, added %llu",
	       what, (unsigned long long)st.available,
	       (unsigned long long)st.reserved, (unsigned long long)st.on_hold,
	       (unsigned long long)st.assigned, (unsigned long long)st.retired,
	       (unsigned long long)nitems);
	memset(&l, 0, sizeof l);
	t_map_init(&l.seen);
	CHECK_RC(box, sb_box_export(box, ledger, on_entry, &l), SB_OK);
	CHECKF(box, l.n == st.assigned, "%s: export lists %zu, assigned %llu",
	       what, l.n, (unsigned long long)st.assigned);
	l.n = 0;
	CHECK_RC(box, sb_box_export_holds(box, ledger, on_hold, &l), SB_OK);
	CHECKF(box, l.n == st.on_hold,
	       "%s: export_holds lists %zu, on_hold %llu", what, l.n,
	       (unsigned long long)st.on_hold);
	if (entries)
		*entries = l.seen;
	else
		t_map_free(&l.seen);
	return st;
}

int holds_lookup(sb_box *box, const char *ledger, const char *id, char **item,
                 int64_t *expires)
{
	sb_item *it = NULL;
	int rc = sb_box_lookup(&it, box, ledger, id);

	*item = rc == SB_OK ? t_xstrdup(sb_item_value(it)) : NULL;
	*expires = rc == SB_OK ? sb_item_expires_ms(it) : -1;
	sb_item_free(it);
	return rc;
}

/* A process that must die at @p point, printing nothing. */
static void dies(const char *const *args, const char *point)
{
	char *out = NULL, *err = NULL;
	int status = cli_run(args, point, NULL, NULL, &out, &err);

	CHECKF(NULL, exited_with(status, CRASH_POINT_DEATH) && !out[0],
	       "%s at %s: %s, printed '%s': %s", args[0], point,
	       status_str(status), out, err);
	free(out);
	free(err);
}

/* A process that must succeed; what it printed, without the newline. */
static char *runs(const char *const *args)
{
	char *out = NULL, *err = NULL;
	int status = cli_run(args, NULL, NULL, NULL, &out, &err);
	size_t len = strlen(out);

	if (!CHECKF(NULL, exited_with(status, 0), "%s: %s: %s", args[0],
	            status_str(status), err)) {
		free(out);
		out = NULL;
	} else if (len && out[len - 1] == '\n') {
		out[len - 1] = '\0';
	}
	free(err);
	return out;
}

static void hold_ok(char **v, const char *bank, const char *ledger,
                    const char *id, const char *ttl)
{
	const char *a[] = { "hold", bank, ledger, id, "--ttl", ttl, NULL };
	*v = runs(a);
}

static void expect(sb_box *box, const char *ledger, const char *id,
                   const char *item, int for_good, const char *what)
{
	char *v = NULL;
	int64_t exp;
	int rc = holds_lookup(box, ledger, id, &v, &exp);

	if (item)
		CHECKF(box,
		       rc == SB_OK && hr_same_str(v, item) &&
		               (for_good ? exp == 0 : exp > 0),
		       "%s: %s holds %s until %lld (%d), want %s%s", what, id,
		       v ? v : "nothing", (long long)exp, rc, item,
		       for_good ? " for good" : " on hold");
	else
		CHECKF(box, rc == SB_ENOTFOUND, "%s: %s holds %s", what, id,
		       v ? v : "?");
	free(v);
}

int hr_same_str(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static void lapse_wait(void)
{
	t_nap_ms(LAPSING_MS + 200);
}

/* The wall clock in ms, the one deadlines are in. */
static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* @p id holds an item of @p bank until it lapses; a recover dies at
 * each of @p points in turn, then one finishes the reclaim: the item is
 * back, the entry gone, the laws hold (6 items). */
static void reclaim_dies(sb_box *box, const char *bank, const char *ledger,
                         const char *id, const char *const *points, size_t n)
{
	const char *a[] = { "recover", "--", bank, ledger, NULL };
	const char *what = points[n - 1];
	sb_recover_result rr;
	char *v = NULL;
	size_t i;

	hold_ok(&v, bank, ledger, id, "300ms");
	lapse_wait();
	for (i = 0; i < n; i++)
		dies(a, points[i]);
	CHECK_RC(box, sb_box_recover(&rr, box, bank, ledger, NULL), SB_OK);
	CHECKF(box, rr.lapsed == 1, "%s: lapsed %llu", what,
	       (unsigned long long)rr.lapsed);
	expect(box, ledger, id, NULL, 0, what);
	holds_laws(box, bank, ledger, 6, what, NULL);
	free(v);
}

/* Hold "e" and kill its extend at extend_after_ledger, then wait until
 * the bank's (old) deadline has passed. The extend is a new process: on
 * a loaded machine it may start after a short hold lapsed, so the hold
 * grows until the extend gets there first. */
static void extend_dies(sb_box *box, char **v, const char *bank,
                        const char *ledger)
{
	const char *a[] = { "extend", ledger, "e", "--ttl", "600000ms", NULL };
	int64_t ttl_ms, until = 0;
	sb_recover_result rr;

	for (ttl_ms = LAPSING_MS; ttl_ms <= 20000; ttl_ms *= 4) {
		char ttl[32], *out = NULL, *err = NULL, *w = NULL;
		int status;

		snprintf(ttl, sizeof ttl, "%lldms", (long long)ttl_ms);
		hold_ok(v, bank, ledger, "e", ttl);
		if (holds_lookup(box, ledger, "e", &w, &until) != SB_OK)
			until = 0;
		free(w);
		status = cli_run(a, "extend_after_ledger", NULL, NULL, &out,
		                 &err);
		if (exited_with(status, 5)) { /* lapsed first: longer */
			free(out);
			free(err);
			free(*v);
			*v = NULL;
			t_nap_ms(200);
			CHECK_RC(box,
			         sb_box_recover(&rr, box, bank, ledger, NULL),
			         SB_OK);
			continue;
		}
		CHECKF(NULL, exited_with(status, CRASH_POINT_DEATH) && !out[0],
		       "extend at extend_after_ledger: %s, printed '%s': %s",
		       status_str(status), out, err);
		free(out);
		free(err);
		break;
	}
	CHECKF(NULL, ttl_ms <= 20000 && until > 0,
	       "extend_after_ledger: the hold always lapsed before its extend "
	       "started, up to %lld ms",
	       (long long)ttl_ms);
	while (wall_ms() < until + 200)
		t_nap_ms(50);
}

/* An extend to an earlier deadline that dies at @p point, on a bank of
 * one seat held for ten minutes. After its ledger step the hold lapses
 * at the new deadline: another id then gets the seat (the bank moved
 * first: before, it kept the old deadline, and claims answered "empty"
 * for ten minutes while recover reclaimed nothing). Before its ledger
 * step (the bank moved, the ledger did not) the hold is live for ten
 * minutes still: another id hears "empty", and the holder confirms. */
static void extend_earlier(sb_box *box, const char *point)
{
	int ledger_done = strcmp(point, "extend_after_ledger") == 0;
	char *bank = cname(ledger_done ? "hp-early-l" : "hp-early-b");
	char *ledger = cname(ledger_done ? "hp-early-l-ledger"
	                                 : "hp-early-b-ledger");
	const char *ex[] = { "extend", ledger, "x", "--ttl", "300ms", NULL };
	const char *cf[] = { "confirm", ledger, "x", NULL };
	char *v = NULL, *w = NULL, *out = NULL, *err = NULL;
	sb_recover_result rr;
	sb_stats st;
	int status;

	cli_add_items(bank, ledger_done ? "hpel-" : "hpeb-", 1);
	hold_ok(&v, bank, ledger, "x", "600000ms");
	dies(ex, point);
	lapse_wait();
	{
		const char *a[] = { "hold",  bank,       ledger, "other",
			            "--ttl", "600000ms", NULL };
		status = cli_run(a, NULL, NULL, NULL, &out, &err);
	}
	if (ledger_done) {
		CHECKF(NULL, exited_with(status, 0),
		       "%s, earlier: the hold lapsed, yet another id was told "
		       "%s: %s",
		       point, status_str(status), err);
		w = t_xstrdup(out);
		w[strcspn(w, "\n")] = '\0';
		CHECKF(NULL, hr_same_str(v, w),
		       "%s, earlier: other got %s, not %s", point, w,
		       v ? v : "-");
		expect(box, ledger, "x", NULL, 0, point);
		st = holds_laws(box, bank, ledger, 1, point, NULL);
		CHECKF(box, st.on_hold == 1 && st.available == 0,
		       "%s, earlier: on_hold %llu available %llu", point,
		       (unsigned long long)st.on_hold,
		       (unsigned long long)st.available);
	} else {
		CHECKF(NULL, exited_with(status, 3),
		       "%s, earlier: the hold is live, yet another id got "
		       "'%s' (%s)",
		       point, out, status_str(status));
		CHECK_RC(box, sb_box_recover(&rr, box, bank, ledger, NULL),
		         SB_OK);
		CHECKF(box, rr.lapsed == 0, "%s, earlier: lapsed %llu", point,
		       (unsigned long long)rr.lapsed);
		free(runs(cf));
		expect(box, ledger, "x", v, 1, point);
		st = holds_laws(box, bank, ledger, 1, point, NULL);
		CHECKF(box, st.assigned == 1 && st.on_hold == 0,
		       "%s, earlier: assigned %llu on_hold %llu", point,
		       (unsigned long long)st.assigned,
		       (unsigned long long)st.on_hold);
	}
	free(out);
	free(err);
	free(v);
	free(w);
	free(bank);
	free(ledger);
}

void crash_holds_points(void)
{
	sb_box *box = holds_box();
	char *bank = cname("hp-bank"), *ledger = cname("hp-ledger");
	char *bank1 = cname("hp-one"), *ledger1 = cname("hp-one-ledger");
	char *v = NULL, *w = NULL;
	const char *ttl_lapse = "300ms", *ttl_long = "600000ms";
	sb_recover_result rr;
	sb_stats st;

	cli_add_items(bank, "hp-", 6);
	cli_add_items(bank1, "hp1-", 1);

	/* hold_after_take: held, no entry, nobody's; once its deadline
	 * passes, recover reclaims it. */
	{
		const char *a[] = { "hold",  bank,      ledger, "t",
			            "--ttl", ttl_lapse, NULL };
		dies(a, "hold_after_take");
	}
	expect(box, ledger, "t", NULL, 0, "hold_after_take");
	lapse_wait();
	CHECK_RC(box, sb_box_recover(&rr, box, bank, ledger, NULL), SB_OK);
	st = holds_laws(box, bank, ledger, 6, "hold_after_take", NULL);
	CHECKF(box, rr.lapsed == 1 && st.on_hold == 0,
	       "hold_after_take: recover lapsed %llu, on_hold %llu",
	       (unsigned long long)rr.lapsed, (unsigned long long)st.on_hold);

	/* confirm_after_ledger: the ledger says for good; recover settles
	 * the bank. */
	hold_ok(&v, bank, ledger, "c", ttl_long);
	{
		const char *a[] = { "confirm", ledger, "c", NULL };
		dies(a, "confirm_after_ledger");
	}
	expect(box, ledger, "c", v, 1, "confirm_after_ledger");
	CHECK_RC(box, sb_box_recover(&rr, box, bank, ledger, NULL), SB_OK);
	st = holds_laws(box, bank, ledger, 6, "confirm_after_ledger", NULL);
	CHECKF(box, st.assigned == 1 && st.on_hold == 0,
	       "confirm_after_ledger: assigned %llu on_hold %llu",
	       (unsigned long long)st.assigned, (unsigned long long)st.on_hold);
	free(v);

	/* extend_after_ledger: the ledger has the new deadline, the bank
	 * the old one; past it, recover sends the bank back to held with
	 * the ledger's deadline (the hold is live: nothing lapses). */
	extend_dies(box, &v, bank, ledger);
	CHECK_RC(box, sb_box_recover(&rr, box, bank, ledger, NULL), SB_OK);
	CHECKF(box, rr.lapsed == 0, "extend_after_ledger: lapsed %llu",
	       (unsigned long long)rr.lapsed);
	expect(box, ledger, "e", v, 0, "extend_after_ledger");
	st = holds_laws(box, bank, ledger, 6, "extend_after_ledger", NULL);
	CHECKF(box, st.on_hold == 1, "extend_after_ledger: on_hold %llu",
	       (unsigned long long)st.on_hold);

	/* release_after_get: nothing changed; the hold is still the id's,
	 * and a release then gives it back. */
	{
		const char *a[] = { "release", ledger, "e", NULL };
		dies(a, "release_after_get");
		expect(box, ledger, "e", v, 0, "release_after_get");
		free(runs(a));
	}
	expect(box, ledger, "e", NULL, 0, "release_after_get");
	holds_laws(box, bank, ledger, 6, "release_after_get", NULL);
	free(v);

	/* release_after_mark (a hold, restock) and release_after_remove
	 * (an item for good, retire): recover finishes each. */
	hold_ok(&v, bank, ledger, "r1", ttl_long);
	{
		const char *a[] = { "release", ledger, "r1", NULL };
		dies(a, "release_after_mark");
	}
	CHECK_RC(box, sb_box_recover(&rr, box, bank, ledger, NULL), SB_OK);
	CHECKF(box, rr.released == 1, "release_after_mark: released %llu",
	       (unsigned long long)rr.released);
	expect(box, ledger, "r1", NULL, 0, "release_after_mark");
	free(v);
	{
		const char *f[] = { "fetch", "--", bank, ledger, "r2", NULL };
		v = runs(f);
	}
	{
		const char *a[] = { "release", ledger, "r2", "--retire", NULL };
		dies(a, "release_after_remove");
	}
	CHECK_RC(box, sb_box_recover(&rr, box, bank, ledger, NULL), SB_OK);
	expect(box, ledger, "r2", NULL, 0, "release_after_remove");
	st = holds_laws(box, bank, ledger, 6, "release_after_remove", NULL);
	CHECKF(box, rr.released == 1 && st.retired == 1,
	       "release_after_remove: released %llu retired %llu",
	       (unsigned long long)rr.released, (unsigned long long)st.retired);
	free(v);

	/* recover_release_after_check: a recover killed once it took over
	 * a release (whose client died after its mark); the next recover
	 * takes it over in turn and finishes it. */
	hold_ok(&v, bank, ledger, "r3", ttl_long);
	{
		const char *a[] = { "release", ledger, "r3", NULL };
		dies(a, "release_after_mark");
	}
	{
		const char *a[] = { "recover", "--", bank, ledger, NULL };
		dies(a, "recover_release_after_check");
	}
	CHECK_RC(box, sb_box_recover(&rr, box, bank, ledger, NULL), SB_OK);
	CHECKF(box, rr.released == 1,
	       "recover_release_after_check: released %llu",
	       (unsigned long long)rr.released);
	expect(box, ledger, "r3", NULL, 0, "recover_release_after_check");
	holds_laws(box, bank, ledger, 6, "recover_release_after_check", NULL);
	free(v);

	/* A lapsed hold's reclaim, its recovers killed at @p points in
	 * turn: the next recover finishes it. reclaim_after_mark; then
	 * after the ledger step (the lapsed entry removed); then a recover
	 * killed once it took over the reclaim another left. */
	{
		static const char *const mark[] = { "reclaim_after_mark" };
		static const char *const ledger_step[] = {
			"reclaim_after_ledger"
		};
		static const char *const takeover[] = {
			"reclaim_after_mark", "reclaim_after_takeover"
		};
		reclaim_dies(box, bank, ledger, "z", mark, 1);
		reclaim_dies(box, bank, ledger, "z2", ledger_step, 1);
		reclaim_dies(box, bank, ledger, "z3", takeover, 2);
	}

	/* reclaim_after_mark, by a claim on a bank whose only item is a
	 * lapsed hold; then a claim gets it. */
	hold_ok(&v, bank1, ledger1, "y", ttl_lapse);
	lapse_wait();
	{
		const char *a[] = { "hold",  bank1,    ledger1, "y2",
			            "--ttl", ttl_long, NULL };
		dies(a, "reclaim_after_mark");
	}
	hold_ok(&w, bank1, ledger1, "y3", ttl_long);
	CHECKF(box, hr_same_str(v, w),
	       "reclaim_after_mark by a claim: y3 got %s, the lapsed item "
	       "is %s",
	       w ? w : "-", v ? v : "-");
	expect(box, ledger1, "y", NULL, 0, "reclaim_after_mark (claim)");
	expect(box, ledger1, "y2", NULL, 0, "reclaim_after_mark (claim)");
	holds_laws(box, bank1, ledger1, 1, "reclaim_after_mark (claim)", NULL);
	free(v);
	free(w);

	extend_earlier(box, "extend_after_ledger");
	extend_earlier(box, "extend_after_bank");

	st = holds_laws(box, bank, ledger, 6, "holds points", NULL);
	CHECKF(box,
	       st.available == 4 && st.assigned == 1 && st.retired == 1 &&
	               st.on_hold == 0,
	       "at the end: available %llu assigned %llu retired %llu "
	       "on_hold %llu",
	       (unsigned long long)st.available,
	       (unsigned long long)st.assigned, (unsigned long long)st.retired,
	       (unsigned long long)st.on_hold);
	printf("holds points: died at hold_after_take, confirm_after_ledger, "
	       "extend_after_ledger, release_after_get, "
	       "release_after_mark, release_after_remove, "
	       "recover_release_after_check, reclaim_after_mark (recover, "
	       "claim), extend to an earlier deadline at extend_after_bank "
	       "and extend_after_ledger; recover rolled each forward\n");
	free(bank);
	free(bank1);
	free(ledger1);
	free(ledger);
	sb_box_close(box);
}
