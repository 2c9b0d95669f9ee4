/* bench --holds: after the plain fetch run, the same requests on a fresh
 * bank as holds, each new hold then confirmed (paid) or, for a share of
 * the ids, released (abandoned); claims/s beside the fetches' of the same
 * run, and what a confirm costs. The law is checked on this run too. */
#include "bench.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

typedef struct {
	uint64_t fresh, confirmed, released, failed, empty, errors;
	uint64_t hold_p50, hold_p95, hold_p99;          /* microseconds */
	uint64_t confirm_p50, confirm_p95, confirm_p99; /* microseconds */
	uint64_t release_p50;
	int two_ids, two_items;
	sb_stats st;
	int st_ok;
	const char *finding;
} holds_tally;

int bench_abandons(const bench_cfg *cfg, uint32_t id)
{
	/* splitmix64 of seed and id: the same ids abandon in every process
	 * of a run, and in a replay. */
	uint64_t z = cfg->seed ^ ((uint64_t)id * 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return (double)(z >> 11) / 9007199254740992.0 < cfg->abandon;
}

/* The p-th percentile of @p n values (sorted in place). */
static uint64_t pct(uint64_t *v, uint64_t n, int p)
{
	return n ? v[(n - 1) * (uint64_t)p / 100] : 0;
}

static int count(bench_run *r, holds_tally *t)
{
	const bench_cfg *cfg = r->cfg;
	uint64_t *hl = malloc((cfg->requests + 1) * sizeof(*hl));
	uint64_t *cl = malloc((cfg->requests + 1) * sizeof(*cl));
	uint64_t *rl = malloc((cfg->requests + 1) * sizeof(*rl));
	uint32_t *owner = malloc(cfg->items * sizeof(*owner));
	uint32_t *kept = malloc(cfg->ids * sizeof(*kept));
	uint64_t nh = 0, nc = 0, nr = 0;

	if (!hl || !cl || !rl || !owner || !kept) {
		free(hl), free(cl), free(rl), free(owner), free(kept);
		return -1;
	}
	memset(owner, 0xff, cfg->items * sizeof(*owner));
	memset(kept, 0xff, cfg->ids * sizeof(*kept));
	for (uint64_t i = 0; i < cfg->requests; i++) {
		const bench_result *res = &r->results[i];
		uint32_t id = r->schedule[i];

		if (res->status == BENCH_SKIPPED)
			continue;
		hl[nh++] = res->latency_us;
		t->empty += res->status == BENCH_EMPTY;
		t->errors += res->status == BENCH_ERROR;
		if (res->status != BENCH_OK || !res->is_new)
			continue;
		t->fresh++;
		if (res->after == BENCH_AFTER_RELEASED) {
			t->released++;
			rl[nr++] = res->settle_us;
			continue;
		}
		if (res->after != BENCH_AFTER_CONFIRMED) {
			t->failed++;
			continue;
		}
		t->confirmed++;
		cl[nc++] = res->settle_us;
		/* Confirmed items: one id each, one each per id. */
		if (res->item >= cfg->items || owner[res->item] != NONE)
			t->two_ids = 1;
		else
			owner[res->item] = id;
		if (kept[id] != NONE)
			t->two_items = 1;
		kept[id] = res->item;
	}
	qsort(hl, nh, sizeof(*hl), bench_cmp_u64);
	qsort(cl, nc, sizeof(*cl), bench_cmp_u64);
	qsort(rl, nr, sizeof(*rl), bench_cmp_u64);
	t->hold_p50 = pct(hl, nh, 50);
	t->hold_p95 = pct(hl, nh, 95);
	t->hold_p99 = pct(hl, nh, 99);
	t->confirm_p50 = pct(cl, nc, 50);
	t->confirm_p95 = pct(cl, nc, 95);
	t->confirm_p99 = pct(cl, nc, 99);
	t->release_p50 = pct(rl, nr, 50);
	free(hl), free(cl), free(rl), free(owner), free(kept);
	return 0;
}

/* The store after the run: nothing reserved or on hold, every item
 * counted once, and the confirmed ones assigned. (No false-empty check
 * here: a release may restock an item after an "empty" was answered;
 * the fetch run checks that law.) */
static void check_store(bench_run *r, holds_tally *t)
{
	sb_recover_result rr;
	const sb_stats *s = &t->st;
	sb_box *box;

	if (cli_open(&box, r->cli) != 0) {
		t->finding = "could not open the store to check it";
		return;
	}
	if (sb_box_recover(&rr, box, r->bank, r->ledger, NULL) != SB_OK ||
	    sb_box_stats(&t->st, box, r->bank, r->ledger) != SB_OK) {
		cli_box_error(r->cli, box, SB_ERROR);
		t->finding = "could not read the bank's counts";
		sb_box_close(box);
		return;
	}
	sb_box_close(box);
	t->st_ok = 1;
	if (t->two_ids)
		t->finding = "an item was confirmed for two ids";
	else if (t->two_items)
		t->finding = "an id confirmed two items";
	else if (s->available + s->reserved + s->on_hold + s->assigned +
	                 s->retired !=
	         r->cfg->items)
		t->finding = "conservation: the counts do not add up to the "
			     "items loaded";
	else if (s->reserved || s->on_hold)
		t->finding = "reservations or holds left after every hold was "
			     "confirmed or released";
	else if (t->errors == 0 &&
	         (s->assigned != t->confirmed || s->held != t->confirmed))
		t->finding = "assigned items differ from confirmed holds";
}

/* The figures of this run (also the summary of a single run). */
static void figures(bench_holds_fig *f, const bench_run *r,
                    const holds_tally *t, double fetch_cps, uint64_t fetch_p50)
{
	f->run_s = r->run_s;
	f->hold_cps = t->fresh / (r->run_s > 0 ? r->run_s : 1e-9);
	f->fetch_cps = fetch_cps;
	f->fresh = t->fresh;
	f->confirmed = t->confirmed;
	f->released = t->released;
	f->empty = t->empty;
	f->errors = t->errors + t->failed;
	f->fetch_p50 = fetch_p50;
	f->hold_p50 = t->hold_p50;
	f->hold_p95 = t->hold_p95;
	f->hold_p99 = t->hold_p99;
	f->confirm_p50 = t->confirm_p50;
	f->confirm_p95 = t->confirm_p95;
	f->confirm_p99 = t->confirm_p99;
	f->release_p50 = t->release_p50;
}

static double div0(double a, double b)
{
	return b > 0 ? a / b : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of @p n values (sorted in place): the mean of the middle two
 * when n is even. */
static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The medians of the runs, the sums of their counts, and the medians of
 * the per-run ratios (a run's fetches and holds ran one after the other,
 * under much the same load: their ratio is the figure to judge). */
typedef struct {
	bench_holds_fig m;
	double hold_ratio, confirm_ratio, cps_ratio;
} holds_sum;

#define MEDIAN_OF(field, type)                          \
	do {                                            \
		for (unsigned i_ = 0; i_ < n; i_++)     \
			v[i_] = (double)figs[i_].field; \
		s->m.field = (type)median(v, n);        \
	} while (0)

static int summarize(holds_sum *s, const bench_holds_fig *figs, unsigned n)
{
	double *v = malloc(n * sizeof(*v));

	if (!v)
		return -1;
	memset(s, 0, sizeof(*s));
	MEDIAN_OF(hold_cps, double);
	MEDIAN_OF(fetch_cps, double);
	MEDIAN_OF(fetch_p50, uint64_t);
	MEDIAN_OF(hold_p50, uint64_t);
	MEDIAN_OF(hold_p95, uint64_t);
	MEDIAN_OF(hold_p99, uint64_t);
	MEDIAN_OF(confirm_p50, uint64_t);
	MEDIAN_OF(confirm_p95, uint64_t);
	MEDIAN_OF(confirm_p99, uint64_t);
	MEDIAN_OF(release_p50, uint64_t);
	for (unsigned i = 0; i < n; i++) {
		s->m.run_s += figs[i].run_s;
		s->m.fresh += figs[i].fresh;
		s->m.confirmed += figs[i].confirmed;
		s->m.released += figs[i].released;
		s->m.empty += figs[i].empty;
		s->m.errors += figs[i].errors;
	}
	for (unsigned i = 0; i < n; i++)
		v[i] = div0((double)figs[i].hold_p50,
		            (double)figs[i].fetch_p50);
	s->hold_ratio = median(v, n);
	for (unsigned i = 0; i < n; i++)
		v[i] = div0((double)figs[i].confirm_p50,
		            (double)figs[i].fetch_p50);
	s->confirm_ratio = median(v, n);
	for (unsigned i = 0; i < n; i++)
		v[i] = div0(figs[i].hold_cps, figs[i].fetch_cps);
	s->cps_ratio = median(v, n);
	free(v);
	return 0;
}

/* Each run's ratio, in run order. */
static void print_ratios(const bench_holds_fig *figs, unsigned n, int confirm,
                         const char *sep)
{
	for (unsigned i = 0; i < n; i++)
		printf("%s%.3f", i ? sep : "",
		       div0((double)(confirm ? figs[i].confirm_p50
		                             : figs[i].hold_p50),
		            (double)figs[i].fetch_p50));
}

static void print_text(const bench_run *r, const holds_tally *t,
                       const holds_sum *s, const bench_holds_fig *figs,
                       unsigned n)
{
	const bench_holds_fig *m = &s->m;

	if (n > 1)
		printf("\nholds, %u runs (each a fetch run and a hold run on "
		       "fresh banks): medians of the runs' figures, sums of "
		       "their counts, medians of their ratios",
		       n);
	printf("\nholds: %" PRIu64 " new holds in %.2f s: %" PRIu64
	       " confirmed, %" PRIu64 " released (abandoned), %" PRIu64
	       " empty, %" PRIu64 " errors\n",
	       m->fresh, m->run_s, m->confirmed, m->released, m->empty,
	       m->errors);
	printf("claims/s: hold+confirm %.0f   fetch (same run) %.0f   "
	       "ratio %.2f\n",
	       m->hold_cps, m->fetch_cps, s->cps_ratio);
	printf("hold latency ms: p50 %.3f  p95 %.3f  p99 %.3f   (fetch p50 "
	       "%.3f: %.2fx)\n",
	       m->hold_p50 / 1e3, m->hold_p95 / 1e3, m->hold_p99 / 1e3,
	       m->fetch_p50 / 1e3, s->hold_ratio);
	printf("confirm latency ms: p50 %.3f  p95 %.3f  p99 %.3f   (release "
	       "p50 %.3f; %.2fx the fetch p50)\n",
	       m->confirm_p50 / 1e3, m->confirm_p95 / 1e3, m->confirm_p99 / 1e3,
	       m->release_p50 / 1e3, s->confirm_ratio);
	if (n > 1) {
		printf("runs: hold/fetch p50 ");
		print_ratios(figs, n, 0, " ");
		printf("; confirm/fetch p50 ");
		print_ratios(figs, n, 1, " ");
		printf("\n");
	}
	if (t->st_ok)
		printf("store%s: available %" PRIu64 ", reserved %" PRIu64
		       ", on_hold %" PRIu64 ", assigned %" PRIu64
		       ", retired %" PRIu64 "\n",
		       n > 1 ? " (last run)" : "", t->st.available,
		       t->st.reserved, t->st.on_hold, t->st.assigned,
		       t->st.retired);
	if (r->first_error[0])
		printf("first error: %s\n", r->first_error);
	if (t->finding)
		printf("LAW BROKEN: %s\n", t->finding);
	printf("holds law: %s\n", t->finding ? "BROKEN" : "holds");
}

static void print_json(const bench_run *r, const holds_tally *t,
                       const holds_sum *s, const bench_holds_fig *figs,
                       unsigned n)
{
	const bench_holds_fig *m = &s->m;

	printf("{\"protocol\":\"%s\",\"procs\":%u,\"clients\":%u,"
	       "\"items\":%" PRIu64 ",\"abandon\":%.3f,\"seed\":%" PRIu64
	       ",\"runs\":%u,\"run_s\":%.4f,\"holds\":%" PRIu64
	       ",\"confirmed\":%" PRIu64 ",\"released\":%" PRIu64
	       ",\"empty\":%" PRIu64 ",\"errors\":%" PRIu64
	       ",\"hold_claims_per_s\":%.1f,"
	       "\"fetch_claims_per_s\":%.1f,\"ratio\":%.3f,"
	       "\"hold_p50_ms\":%.3f,\"hold_p95_ms\":%.3f,\"hold_p99_ms\":%.3f,"
	       "\"fetch_p50_ms\":%.3f,\"confirm_p50_ms\":%.3f,"
	       "\"confirm_p95_ms\":%.3f,\"confirm_p99_ms\":%.3f,"
	       "\"release_p50_ms\":%.3f,\"hold_ratio\":%.3f,"
	       "\"confirm_ratio\":%.3f,\"hold_ratios\":[",
	       r->cli->g.protocol == SB_PROTOCOL_GENERIC ? "generic" : "auto",
	       r->cfg->procs, r->cfg->clients, r->cfg->items, r->cfg->abandon,
	       r->cfg->seed, n, m->run_s, m->fresh, m->confirmed, m->released,
	       m->empty, m->errors, m->hold_cps, m->fetch_cps, s->cps_ratio,
	       m->hold_p50 / 1e3, m->hold_p95 / 1e3, m->hold_p99 / 1e3,
	       m->fetch_p50 / 1e3, m->confirm_p50 / 1e3, m->confirm_p95 / 1e3,
	       m->confirm_p99 / 1e3, m->release_p50 / 1e3, s->hold_ratio,
	       s->confirm_ratio);
	print_ratios(figs, n, 0, ",");
	printf("],\"confirm_ratios\":[");
	print_ratios(figs, n, 1, ",");
	printf("],\"law_holds\":%s}\n", t->finding ? "false" : "true");
}

static int print(const bench_run *r, const holds_tally *t,
                 const bench_holds_fig *figs, unsigned n)
{
	holds_sum s;

	if (summarize(&s, figs, n) != 0) {
		cli_err(r->cli, "out of memory summing the runs up");
		return -1;
	}
	if (r->cfg->json)
		print_json(r, t, &s, figs, n);
	else
		print_text(r, t, &s, figs, n);
	return 0;
}

/* The last run's tally, for the summary's store line. */
static holds_tally last;

int bench_holds(bench_run *r)
{
	double fetch_cps = r->claims_per_s;
	uint64_t fetch_p50 = r->lat_p50;
	bench_holds_fig *f = &r->figs[r->run_no];
	holds_tally t;
	char bank[sizeof(r->bank)];
	int rc, failed;

	/* A fresh bank and ledger, the same requests. */
	memcpy(bank, r->bank, sizeof(bank));
	snprintf(r->bank, sizeof(r->bank), "%.50s-holds", bank);
	snprintf(r->ledger, sizeof(r->ledger), "%s-ledger", r->bank);
	memset(r->results, 0, r->cfg->requests * sizeof(*r->results));
	for (uint64_t i = 0; i < r->cfg->requests; i++)
		r->results[i].status = BENCH_SKIPPED;
	r->first_error[0] = '\0';
	r->hold_mode = 1;
	rc = bench_load(r);
	if (rc == CLI_EXIT_OK)
		rc = bench_fire(r);
	if (rc != CLI_EXIT_OK && r->run_s <= 0)
		return rc;
	memset(&t, 0, sizeof(t));
	if (count(r, &t) != 0) {
		cli_err(r->cli, "out of memory counting the holds");
		return CLI_EXIT_ERROR;
	}
	check_store(r, &t);
	figures(f, r, &t, fetch_cps, fetch_p50);
	last = t;
	failed = t.finding || t.errors || t.failed;
	/* A failed run is reported alone (the runs stop there). */
	if ((r->cfg->runs == 1 || failed) && print(r, &t, f, 1) != 0)
		return CLI_EXIT_ERROR;
	if (failed) {
		if (r->cfg->runs > 1)
			cli_err(r->cli, "run %u of %u", r->run_no + 1,
			        r->cfg->runs);
		cli_err(r->cli,
		        t.finding ? "the law broke on the holds"
		                  : "%" PRIu64
		                    " hold requests failed (first: %s)",
		        t.errors + t.failed, r->first_error);
		return cli_finish(r->cli, CLI_EXIT_ERROR);
	}
	if (r->cfg->runs > 1 && !r->cfg->quiet)
		fprintf(stderr, "bench: run %u of %u: hold/fetch p50 %.2f\n",
		        r->run_no + 1, r->cfg->runs,
		        div0((double)f->hold_p50, (double)f->fetch_p50));
	return r->cfg->runs > 1 ? rc : cli_finish(r->cli, rc);
}

int bench_holds_summary(bench_run *r)
{
	if (print(r, &last, r->figs, r->cfg->runs) != 0)
		return CLI_EXIT_ERROR;
	return cli_finish(r->cli, CLI_EXIT_OK);
}
