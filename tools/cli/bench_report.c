/* bench: check the box law on the answers and the store, then print the
 * figures (text or --json). A run that breaks the law fails (exit 1). */
#include "bench.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE         UINT32_MAX
#define MAX_FINDINGS 8

typedef struct {
	uint64_t ok, empty, errors, skipped, fresh, holders;
	uint64_t lat_p50, lat_p95, lat_p99, lat_max; /* microseconds */
	double life_first, life_last;                /* claims/s; 0: n/a */
	double life_tenth[10]; /* claims/s over each tenth of the bank */
	int life_n;            /* 10 when life_tenth is filled, else 0 */
	sb_stats st;
	int st_ok;
	const char *finding[MAX_FINDINGS];
	int nfind;
	/* The store could not be read back (a timeout, say): the law is
	 * unchecked, which is not the same as broken. */
	const char *unchecked;
} tally;

static void find(tally *t, const char *what)
{
	if (t->nfind < MAX_FINDINGS)
		t->finding[t->nfind++] = what;
}

int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Laws 1-3 from the answers alone. */
static int check_answers(bench_run *r, tally *t)
{
	const bench_cfg *cfg = r->cfg;
	uint32_t *id_item = malloc(cfg->ids * sizeof(*id_item));
	uint32_t *owner = malloc(cfg->items * sizeof(*owner));
	int two_items = 0, two_ids = 0, foreign = 0;
	uint64_t i;

	if (!id_item || !owner) {
		free(id_item);
		free(owner);
		return -1;
	}
	memset(id_item, 0xff, cfg->ids * sizeof(*id_item));
	memset(owner, 0xff, cfg->items * sizeof(*owner));
	for (i = 0; i < cfg->requests; i++) {
		const bench_result *res = &r->results[i];
		uint32_t id = r->schedule[i];
		switch (res->status) {
		case BENCH_EMPTY: t->empty++; continue;
		case BENCH_ERROR: t->errors++; continue;
		case BENCH_SKIPPED: t->skipped++; continue;
		}
		t->ok++;
		t->fresh += res->is_new;
		if (res->item >= cfg->items) {
			foreign = 1;
			continue;
		}
		if (id_item[id] == NONE)
			id_item[id] = res->item;
		else if (id_item[id] != res->item)
			two_items = 1;
		if (owner[res->item] == NONE)
			owner[res->item] = id;
		else if (owner[res->item] != id)
			two_ids = 1;
	}
	for (i = 0; i < cfg->ids; i++)
		t->holders += id_item[i] != NONE;
	if (two_ids)
		find(t, "an item was handed to two ids");
	if (two_items)
		find(t, "an id got two different items");
	if (foreign)
		find(t, "an answer was not an item of this bank");
	if (t->fresh != t->holders && t->errors == 0)
		find(t, "new assignments differ from ids holding an item");
	free(id_item);
	free(owner);
	return 0;
}

/* Laws 4-5 from the store, after rolling forward what is in flight. */
static void check_store(bench_run *r, tally *t)
{
	sb_recover_result rr;
	sb_box *box;

	if (cli_open(&box, r->cli) != 0) {
		t->unchecked = "could not open the store";
		return;
	}
	if (sb_box_recover(&rr, box, r->bank, r->ledger, NULL) != SB_OK ||
	    sb_box_stats(&t->st, box, r->bank, r->ledger) != SB_OK) {
		cli_box_error(r->cli, box, SB_ERROR);
		t->unchecked = "could not read the bank's counts";
		sb_box_close(box);
		return;
	}
	sb_box_close(box);
	t->st_ok = 1;
	if (t->st.available + t->st.reserved + t->st.assigned != r->cfg->items)
		find(t,
		     "conservation: available + reserved + assigned != loaded");
	if (t->st.reserved != 0)
		find(t, "reservations left after recover");
	if (t->st.assigned != t->st.held)
		find(t, "assigned items differ from ledger entries");
	if (t->errors == 0 && t->st.held != t->holders)
		find(t,
		     "ledger entries differ from ids told they hold an item");
	if (t->empty > 0 && t->st.available > 0)
		find(t, "false empty: told sold out while items were left");
}

static void latencies(bench_run *r, tally *t)
{
	uint64_t *lat = malloc((r->cfg->requests + 1) * sizeof(*lat)), n = 0, i;

	if (!lat)
		return;
	for (i = 0; i < r->cfg->requests; i++)
		if (r->results[i].status != BENCH_SKIPPED)
			lat[n++] = r->results[i].latency_us;
	if (n) {
		qsort(lat, n, sizeof(*lat), bench_cmp_u64);
		t->lat_p50 = lat[(n - 1) * 50 / 100];
		t->lat_p95 = lat[(n - 1) * 95 / 100];
		t->lat_p99 = lat[(n - 1) * 99 / 100];
		t->lat_max = lat[n - 1];
	}
	free(lat);
}

/* Claims/s over the first and the last 10% of the bank's items: a claim
 * that slows down as the bank empties shows here. Needs a drained bank. */
static void life(bench_run *r, tally *t)
{
	uint64_t items = r->cfg->items, k = items / 10, n = 0, i;
	uint64_t *done;

	if (t->fresh != items || k == 0)
		return;
	done = malloc(items * sizeof(*done));
	if (!done)
		return;
	for (i = 0; i < r->cfg->requests; i++)
		if (r->results[i].status == BENCH_OK && r->results[i].is_new)
			done[n++] = r->results[i].done_us;
	qsort(done, n, sizeof(*done), bench_cmp_u64);
	if (done[k - 1] > 0)
		t->life_first = (double)k / ((double)done[k - 1] / 1e6);
	if (done[n - 1] > done[n - k - 1])
		t->life_last = (double)k /
		               ((double)(done[n - 1] - done[n - k - 1]) / 1e6);
	/* Every tenth the same way, for a curve of the whole life (plots). */
	for (i = 0; i < 10; i++) {
		uint64_t lo = items * i / 10, hi = items * (i + 1) / 10;
		uint64_t from = lo ? done[lo - 1] : 0;
		if (hi > lo && done[hi - 1] > from)
			t->life_tenth[i] = (double)(hi - lo) /
			                   ((double)(done[hi - 1] - from) / 1e6);
	}
	t->life_n = 10;
	free(done);
}

static void print_text(const bench_run *r, const tally *t)
{
	const bench_cfg *c = r->cfg;
	double rs = r->run_s > 0 ? r->run_s : 1e-9;
	int i;

	printf("storagebox bench: %s protocol, %u process%s x %u client%s\n",
	       r->cli->g.protocol == SB_PROTOCOL_GENERIC ? "generic" : "auto",
	       c->procs, c->procs == 1 ? "" : "es", c->clients,
	       c->clients == 1 ? "" : "s");
	printf("load: %" PRIu64 " items in %.2f s (%.0f items/s)\n", c->items,
	       r->load_s,
	       (double)c->items / (r->load_s > 0 ? r->load_s : 1e-9));
	printf("requests: %" PRIu64 " answered (%" PRIu64 " items, %" PRIu64
	       " empty, %" PRIu64 " errors, %" PRIu64 " not sent) in %.2f s\n",
	       t->ok + t->empty + t->errors, t->ok, t->empty, t->errors,
	       t->skipped, r->run_s);
	printf("claims/s: %.0f   requests/s: %.0f   (new claims: %" PRIu64
	       ")\n",
	       (double)t->fresh / rs,
	       (double)(t->ok + t->empty + t->errors) / rs, t->fresh);
	printf("latency ms: p50 %.3f  p95 %.3f  p99 %.3f  max %.3f\n",
	       t->lat_p50 / 1e3, t->lat_p95 / 1e3, t->lat_p99 / 1e3,
	       t->lat_max / 1e3);
	if (t->life_first > 0 && t->life_last > 0)
		printf("life of the bank: first 10%% %.0f claims/s, last 10%% "
		       "%.0f claims/s (last/first %.2f)\n",
		       t->life_first, t->life_last,
		       t->life_last / t->life_first);
	printf("peak RSS: %.1f MiB\n", r->peak_rss_kib / 1024.0);
	if (t->st_ok)
		printf("store: available %" PRIu64 ", reserved %" PRIu64
		       ", assigned %" PRIu64 ", held %" PRIu64 "\n",
		       t->st.available, t->st.reserved, t->st.assigned,
		       t->st.held);
	if (r->first_error[0])
		printf("first error: %s\n", r->first_error);
	for (i = 0; i < t->nfind; i++)
		printf("LAW BROKEN: %s\n", t->finding[i]);
	if (t->unchecked)
		printf("NOT CHECKED: %s\n", t->unchecked);
	printf("box law: %s\n", t->nfind       ? "BROKEN"
	                        : t->unchecked ? "not checked"
	                                       : "holds");
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void print_json(const bench_run *r, const tally *t)
{
	const bench_cfg *c = r->cfg;
	double rs = r->run_s > 0 ? r->run_s : 1e-9;
	int i;

	printf("{\"protocol\":\"%s\",\"procs\":%u,\"clients\":%u,"
	       "\"items\":%" PRIu64 ",\"ids\":%" PRIu64 ",\"repeat\":%.3f,"
	       "\"seed\":%" PRIu64 ",\"load_s\":%.4f,\"load_items_per_s\":%.1f,"
	       "\"run_s\":%.4f,\"answered\":%" PRIu64
	       ",\"items_answered\":%" PRIu64 ",\"empty\":%" PRIu64
	       ",\"errors\":%" PRIu64 ",\"not_sent\":%" PRIu64
	       ",\"claims\":%" PRIu64
	       ",\"claims_per_s\":%.1f,\"requests_per_s\":%.1f,"
	       "\"p50_ms\":%.3f,\"p95_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
	       "\"life_first_claims_per_s\":%.1f,\"life_last_claims_per_s\":%.1f,"
	       "\"peak_rss_kib\":%ld,\"law_holds\":%s,\"findings\":[",
	       r->cli->g.protocol == SB_PROTOCOL_GENERIC ? "generic" : "auto",
	       c->procs, c->clients, c->items, c->ids, c->repeat, c->seed,
	       r->load_s, (double)c->items / (r->load_s > 0 ? r->load_s : 1e-9),
	       r->run_s, t->ok + t->empty + t->errors, t->ok, t->empty,
	       t->errors, t->skipped, t->fresh, (double)t->fresh / rs,
	       (double)(t->ok + t->empty + t->errors) / rs, t->lat_p50 / 1e3,
	       t->lat_p95 / 1e3, t->lat_p99 / 1e3, t->lat_max / 1e3,
	       t->life_first, t->life_last, r->peak_rss_kib,
	       t->nfind       ? "false"
	       : t->unchecked ? "null"
	                      : "true");
	for (i = 0; i < t->nfind; i++) {
		if (i)
			putchar(',');
		json_str(t->finding[i]);
	}
	printf("],\"life_tenths\":[");
	for (i = 0; i < t->life_n; i++)
		printf("%s%.1f", i ? "," : "", t->life_tenth[i]);
	printf("],\"first_error\":");
	json_str(r->first_error);
	printf("}\n");
}

int bench_report(bench_run *r)
{
	tally t;

	memset(&t, 0, sizeof(t));
	if (check_answers(r, &t) != 0) {
		cli_err(r->cli, "out of memory checking the answers");
		return CLI_EXIT_ERROR;
	}
	check_store(r, &t);
	latencies(r, &t);
	life(r, &t);
	r->claims_per_s = (double)t.fresh / (r->run_s > 0 ? r->run_s : 1e-9);
	r->lat_p50 = t.lat_p50;
	if (r->silent)
		;
	else if (r->cfg->json)
		print_json(r, &t);
	else
		print_text(r, &t);
	if (t.nfind || t.unchecked || t.errors) {
		if (t.nfind)
			cli_err(r->cli, "the box law broke");
		else if (t.unchecked)
			cli_err(r->cli, "the box law was not checked: %s",
			        t.unchecked);
		else
			cli_err(r->cli,
			        "%" PRIu64 " requests failed (first: %s)",
			        t.errors, r->first_error);
		return cli_finish(r->cli, CLI_EXIT_ERROR);
	}
	return cli_finish(r->cli, CLI_EXIT_OK);
}
