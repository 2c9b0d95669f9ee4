/* The end of the demo: what the customers were told, then the box law
 * checked twice, from the answers and from the store itself (stats and
 * export), since either side alone could hide a bug of the other. */
#include "demo.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the answers say. */
typedef struct {
	int outcome[DEMO_USERS]; /* OUT_* per customer */
	int winners, sold_out, mixed, errors;
	int repeats_same, repeats;
	int dup_codes;         /* codes told to more than one customer */
	int unknown_codes;     /* codes that were never in the bank */
	int first_presses_new; /* answers flagged is_new */
	int raced;             /* customers with presses in flight at once */
} tally;

/* What the store says. */
typedef struct {
	int stats_ok;
	sb_stats st;
	int export_rc;
	int rows, rows_match, rows_dup_id, rows_bad;
	int seen[DEMO_USERS];
	const demo_run *run;
	const tally *t;
} store_view;

enum {
	OUT_WINNER,
	OUT_SOLD_OUT,
	OUT_MIXED,
	OUT_ERROR
};

static int same_answer(const demo_answer *a, const demo_answer *b)
{
	if (a->rc != b->rc)
		return 0;
	return a->rc != SB_OK || strcmp(a->value, b->value) == 0;
}

static int user_outcome(const demo_answer *a, tally *t)
{
	int same = 1;

	for (int k = 0; k < DEMO_PRESSES; k++)
		if (a[k].rc < 0)
			t->errors++;
	for (int k = 1; k < DEMO_PRESSES; k++) {
		t->repeats++;
		if (same_answer(&a[0], &a[k]))
			t->repeats_same++;
		else
			same = 0;
	}
	for (int k = 0; k < DEMO_PRESSES; k++)
		if (a[k].rc < 0)
			return OUT_ERROR;
	if (!same)
		return OUT_MIXED;
	return a[0].rc == SB_OK ? OUT_WINNER : OUT_SOLD_OUT;
}

/* Did two presses of one customer run at the same time? */
static int raced(const demo_answer *a)
{
	for (int i = 0; i < DEMO_PRESSES; i++)
		for (int j = i + 1; j < DEMO_PRESSES; j++)
			if (a[i].start < a[j].seq && a[j].start < a[i].seq)
				return 1;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every code told to some customer (any press), checked for repeats
 * across customers and for codes that were never stocked. */
static void check_codes(const demo_run *run, tally *t)
{
	const char *told[DEMO_USERS];
	int n = 0;

	for (int u = 0; u < DEMO_USERS; u++)
		if (t->outcome[u] == OUT_WINNER)
			told[n++] = run->ans[u][0].value;
	qsort(told, (size_t)n, sizeof *told, cmp_str);
	for (int i = 0; i < n; i++) {
		int known = 0;

		if (i > 0 && strcmp(told[i - 1], told[i]) == 0)
			t->dup_codes++;
		for (int c = 0; c < DEMO_CODES; c++)
			known |= strcmp(run->codes[c], told[i]) == 0;
		t->unknown_codes += !known;
	}
}

static void count_answers(const demo_run *run, tally *t)
{
	memset(t, 0, sizeof *t);
	for (int u = 0; u < DEMO_USERS; u++) {
		const demo_answer *a = run->ans[u];

		t->outcome[u] = user_outcome(a, t);
		t->winners += t->outcome[u] == OUT_WINNER;
		t->sold_out += t->outcome[u] == OUT_SOLD_OUT;
		t->mixed += t->outcome[u] == OUT_MIXED;
		t->raced += raced(a);
		for (int k = 0; k < DEMO_PRESSES; k++)
			t->first_presses_new += a[k].rc == SB_OK && a[k].is_new;
	}
	check_codes(run, t);
}

/* One export row: it must be a customer we know, once, told this code. */
static int on_row(const char *id, const char *bank, const char *item,
                  void *payload)
{
	store_view *v = payload;
	int u = -1;

	v->rows++;
	for (int i = 0; i < DEMO_USERS && u < 0; i++)
		if (strcmp(v->run->users[i], id) == 0)
			u = i;
	if (u < 0 || strcmp(bank, DEMO_BANK) != 0) {
		v->rows_bad++;
		return 0;
	}
	if (v->seen[u]++)
		v->rows_dup_id++;
	if (v->t->outcome[u] == OUT_WINNER &&
	    strcmp(v->run->ans[u][0].value, item) == 0)
		v->rows_match++;
	return 0;
}

static void read_store(store_view *v, sb_box *box)
{
	v->stats_ok = sb_box_stats(&v->st, box, DEMO_BANK, DEMO_LEDGER) ==
	              SB_OK;
	v->export_rc = sb_box_export(box, DEMO_LEDGER, on_row, v);
}

/* Earliest winning answer of a customer (its place in the queue). */
static unsigned win_seq(const demo_answer *a)
{
	unsigned best = ~0u;

	for (int k = 0; k < DEMO_PRESSES; k++)
		if (a[k].rc == SB_OK && a[k].seq < best)
			best = a[k].seq;
	return best;
}

static void print_winners(const demo_run *run, const tally *t)
{
	int shown[5], n = 0;

	/* The five customers who were served first. */
	while (n < 5 && n < t->winners) {
		int best = -1;

		for (int u = 0; u < DEMO_USERS; u++) {
			int taken = 0;

			for (int i = 0; i < n; i++)
				taken |= shown[i] == u;
			if (t->outcome[u] != OUT_WINNER || taken)
				continue;
			if (best < 0 ||
			    win_seq(run->ans[u]) < win_seq(run->ans[best]))
				best = u;
		}
		shown[n++] = best;
		printf("  %s got %s (the same code on all %d presses)\n",
		       run->users[best], run->ans[best][0].value, DEMO_PRESSES);
	}
}

static void print_sold_out(const demo_run *run, const tally *t)
{
	int n = 0;

	printf("  sold out on every press:");
	for (int u = 0; u < DEMO_USERS && n < 3; u++)
		if (t->outcome[u] == OUT_SOLD_OUT)
			printf("%s %s", n++ ? "," : "", run->users[u]);
	if (t->sold_out > n)
		printf(" and %d more", t->sold_out - n);
	printf("%s\n", t->sold_out ? "" : " nobody");
}

static void print_story(const demo_run *run, const tally *t,
                        const store_view *v)
{
	printf("storagebox demo: the movie store\n"
	       "store: %s (removed at the end)\n\n"
	       "The store puts %d voucher codes (%s..%s) in bank \"%s\".\n"
	       "%d customers press \"get my voucher\" %d times each: %d "
	       "presses from\n%d workers with a box each; a customer's "
	       "presses race on %d workers.\n\n",
	       run->uri, DEMO_CODES, run->codes[0], run->codes[DEMO_CODES - 1],
	       DEMO_BANK, DEMO_USERS, DEMO_PRESSES, DEMO_USERS * DEMO_PRESSES,
	       run->workers, DEMO_PRESSES);
	printf("The first customers served:\n");
	print_winners(run, t);
	print_sold_out(run, t);
	printf("\n%d presses answered in %.2f s (seed %llu); %d customers "
	       "had\ntwo presses in flight at once.\n",
	       DEMO_USERS * DEMO_PRESSES, run->seconds, run->seed, t->raced);
	printf("winners: %d customers; sold out: %d; mixed answers: %d; "
	       "errors: %d\n",
	       t->winners, t->sold_out, t->mixed, t->errors);
	if (t->errors)
		printf("first error: %s\n", run->first_error);
	if (v->stats_ok)
		printf("stats: available %" PRIu64 ", reserved %" PRIu64
		       ", assigned %" PRIu64 ", held %" PRIu64 "\n",
		       v->st.available, v->st.reserved, v->st.assigned,
		       v->st.held);
	else
		printf("stats: could not be read\n");
	printf("export: %d rows, %d match what the customer was told\n\n",
	       v->rows, v->rows_match);
}

/* Evidence for a broken law: what a few customers with differing
 * answers were told, press by press. */
static void print_mixed(const demo_run *run, const tally *t)
{
	int shown = 0;

	for (int u = 0; u < DEMO_USERS && shown < 3; u++) {
		if (t->outcome[u] != OUT_MIXED)
			continue;
		printf("  %s was told:", run->users[u]);
		for (int k = 0; k < DEMO_PRESSES; k++) {
			const demo_answer *a = &run->ans[u][k];

			printf("%s %s", k ? ";" : "",
			       a->rc == SB_OK ? a->value : "sold out");
		}
		printf("\n");
		shown++;
	}
}

static int law(int ok, const char *text)
{
	printf("  [%s] %s\n", ok ? "ok" : "BROKEN", text);
	return ok;
}

/* Each check reads both the answers and the store. */
static int print_laws(const tally *t, const store_view *v)
{
	const sb_stats *s = &v->st;
	int ok = 1;
	int export_ok = v->export_rc == SB_OK && v->rows_bad == 0;

	printf("The box law:\n");
	ok &= law(t->dup_codes == 0 && t->unknown_codes == 0 &&
	                  t->winners == DEMO_CODES && export_ok &&
	                  v->rows == DEMO_CODES && v->rows_match == DEMO_CODES,
	          "30 distinct codes went to 30 distinct customers");
	ok &= law(v->rows_dup_id == 0 && t->mixed == 0 && export_ok,
	          "no customer holds two codes");
	ok &= law(t->repeats_same == t->repeats,
	          "every repeat press got the same answer");
	ok &= law(v->stats_ok && s->reserved == 0 &&
	                  s->available + s->reserved + s->assigned ==
	                          DEMO_CODES &&
	                  s->assigned == (uint64_t)t->winners &&
	                  s->held == (uint64_t)t->winners,
	          "conservation: available + reserved + assigned = 30, "
	          "reserved = 0");
	ok &= law(t->sold_out == DEMO_USERS - DEMO_CODES &&
	                  (t->sold_out == 0 || t->winners == DEMO_CODES),
	          "no false \"sold out\": 170 told sold out, only after "
	          "all 30 were gone");
	ok &= law(t->errors == 0, "every press was answered (no errors)");
	return ok;
}

int demo_report(const demo_run *run, sb_box *box)
{
	tally t;
	store_view v;

	count_answers(run, &t);
	memset(&v, 0, sizeof v);
	v.run = run;
	v.t = &t;
	read_store(&v, box);
	print_story(run, &t, &v);
	if (print_laws(&t, &v)) {
		printf("verdict: the box law holds\n");
		return 0;
	}
	print_mixed(run, &t);
	printf("verdict: the box law is BROKEN (see above)\n");
	return 1;
}
