/* DynamoDB stress: 16 clients (threads, one box each) on one bank and
 * ledger: 2,000 items, 3,000 ids asked 3 times each in random order.
 * Afterwards every law of DESIGN.md §2 is checked from the answers, from
 * stats/export, and by scanning the three tables directly.
 *
 * usage: ddb_stress fused|generic
 * Sizes (env): SB_STRESS_THREADS (16), SB_STRESS_ITEMS (2000),
 * SB_STRESS_IDS (3000), SB_STRESS_REPEAT (3). */
#include "ddb_test.h"

#include <pthread.h>

typedef struct {
	int rc;
	char *value;
} answer;

static const char *uri;
static sb_protocol proto;
static char *bank, *ledger;
static size_t nthreads, nitems, nids, nrepeat, nreq;
static size_t *order;
static answer *answers; /* per request */
static size_t next_req;

static void *worker(void *arg)
{
	sb_box *box = ddb_open_uri(uri, proto);
	(void)arg;
	if (!box)
		return NULL;
	for (;;) {
		size_t r = __atomic_fetch_add(&next_req, 1, __ATOMIC_SEQ_CST);
		char id[32];
		sb_item *it = NULL;
		if (r >= nreq)
			break;
		snprintf(id, sizeof id, "id-%zu", order[r]);
		answers[r].rc = sb_box_fetch(&it, box, bank, ledger, id);
		if (answers[r].rc == SB_OK)
			answers[r].value = t_xstrdup(sb_item_value(it));
		else if (answers[r].rc != SB_EMPTY)
			CHECKF(box, 0, "fetch %s: %d", id, answers[r].rc);
		sb_item_free(it);
	}
	sb_box_close(box);
	return NULL;
}

typedef struct {
	t_map *owner; /* item -> id (from the ledger scan) */
	size_t n, bad;
	uint64_t reserved, assigned;
} scan_ctx;

static int ledger_row(const cJSON *it, void *p)
{
	scan_ctx *c = p;
	const char *id = sb_ddb_get_s(it, "deduplication_id");
	const char *item = sb_ddb_get_s(it, "item_string");
	const char *b = sb_ddb_get_s(it, "bank");
	c->n++;
	if (!id || !item || !b || strcmp(b, bank) != 0 ||
	    !t_map_put(c->owner, item, id))
		c->bad++;
	return 0;
}

static int held_row(const cJSON *it, void *p)
{
	scan_ctx *c = p;
	const char *item = sb_ddb_get_s(it, "item");
	const char *st = sb_ddb_get_s(it, "state");
	const char *tok = sb_ddb_get_s(it, "token");
	const char *id = item ? t_map_get(c->owner, item) : NULL;
	/* The generic path's marker row (README, table layout) is no item. */
	if (item && strcmp(item, "\n") == 0 && st &&
	    strcmp(st, "generic") == 0)
		return 0;
	c->n++;
	if (st && strcmp(st, "reserved") == 0)
		c->reserved++;
	else
		c->assigned++;
	/* The token is "<ledger>\n<id>": it must name the ledger's owner. */
	if (!id || !tok || strncmp(tok, ledger, strlen(ledger)) != 0 ||
	    tok[strlen(ledger)] != '\n' || strcmp(tok + strlen(ledger) + 1, id))
		c->bad++;
	return 0;
}

static int count_row(const cJSON *it, void *p)
{
	(void)it;
	(*(size_t *)p)++;
	return 0;
}

int main(int argc, char **argv)
{
	uri = ddb_test_uri();
	if (argc != 2 || (strcmp(argv[1], "fused") && strcmp(argv[1], "generic"))) {
		fprintf(stderr, "usage: ddb_stress fused|generic\n");
		return 2;
	}
	proto = strcmp(argv[1], "generic") == 0 ? SB_PROTOCOL_GENERIC
	                                        : SB_PROTOCOL_AUTO;
	nthreads = t_env_size("SB_STRESS_THREADS", 16);
	nitems = t_env_size("SB_STRESS_ITEMS", 2000);
	nids = t_env_size("SB_STRESS_IDS", 3000);
	nrepeat = t_env_size("SB_STRESS_REPEAT", 3);
	nreq = nids * nrepeat;
	bank = ddb_name("stress-bank");
	ledger = ddb_name("stress-ledger");

	sb_box *box = ddb_open_uri(uri, proto);
	if (!box)
		return t_summary();
	char **items = t_xcalloc(nitems, sizeof *items);
	for (size_t i = 0; i < nitems; i++)
		items[i] = t_xasprintf("code-%05zu", i);
	sb_add_result ar;
	CHECK_RC(box, sb_box_add(&ar, box, bank, (const char *const *)items,
	                         nitems), SB_OK);
	CHECK(box, ar.added == nitems && ar.skipped == 0);

	t_rng rng;
	t_rng_seed(&rng, t_seed());
	order = t_xcalloc(nreq, sizeof *order);
	for (size_t i = 0; i < nreq; i++)
		order[i] = i % nids;
	t_shuffle(&rng, order, nreq);
	answers = t_xcalloc(nreq, sizeof *answers);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_t *th = t_xcalloc(nthreads, sizeof *th);
	for (size_t i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	for (size_t i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) +
	              (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%s: %zu fetches by %zu clients in %.1f s (%.0f/s)\n", argv[1],
	       nreq, nthreads, secs, (double)nreq / secs);

	/* Laws from the answers. */
	char **held_by = t_xcalloc(nids, sizeof *held_by); /* id -> item */
	t_map owner;                                      /* item -> id */
	t_map_init(&owner);
	size_t errors = 0, empties_with_item = 0, split = 0, twice = 0;
	for (size_t r = 0; r < nreq; r++) {
		size_t id = order[r];
		if (answers[r].rc != SB_OK) {
			errors += answers[r].rc != SB_EMPTY;
			continue;
		}
		if (!held_by[id]) {
			char idbuf[32];
			held_by[id] = answers[r].value;
			snprintf(idbuf, sizeof idbuf, "id-%zu", id);
			if (!t_map_put(&owner, held_by[id], idbuf))
				twice++; /* law 1: item held by two ids */
		} else if (strcmp(held_by[id], answers[r].value) != 0) {
			split++; /* law 2 */
		}
	}
	size_t holders = 0;
	for (size_t r = 0; r < nreq; r++)
		if (answers[r].rc == SB_EMPTY && held_by[order[r]])
			empties_with_item++; /* law 3 (an id that holds one) */
	for (size_t i = 0; i < nids; i++)
		holders += held_by[i] != NULL;
	CHECKF(NULL, errors == 0, "%zu fetches failed", errors);
	CHECKF(NULL, twice == 0, "law 1: %zu items held by two ids", twice);
	CHECKF(NULL, split == 0, "law 2: %zu ids got two items", split);
	CHECKF(NULL, empties_with_item == 0,
	       "law 3: %zu empty answers to ids holding an item",
	       empties_with_item);
	size_t want = nitems < nids ? nitems : nids;
	CHECKF(NULL, holders == want, "law 5: %zu ids hold an item, want %zu",
	       holders, want);

	/* Laws from the store's own view. */
	sb_stats st;
	CHECK_RC(box, sb_box_stats(&st, box, bank, ledger), SB_OK);
	CHECKF(box, st.available + st.reserved + st.assigned == nitems &&
	       st.reserved == 0 && st.assigned == want && st.held == want,
	       "law 4: available %llu reserved %llu assigned %llu held %llu",
	       (unsigned long long)st.available,
	       (unsigned long long)st.reserved,
	       (unsigned long long)st.assigned, (unsigned long long)st.held);

	/* And from the tables themselves. */
	sb_ddb_store *s = ddb_store_of(box);
	char *avail_t = NULL, *held_t = NULL, *ledger_t = NULL;
	sb_ddb_bank_tables(s, &avail_t, &held_t, bank);
	sb_ddb_table(s, &ledger_t, s->ledger_prefix, ledger, "");
	t_map lown;
	t_map_init(&lown);
	scan_ctx lc = { &lown, 0, 0, 0, 0 };
	CHECK_RC(box, ddb_scan_table(box, ledger_t, ledger_row, &lc), SB_OK);
	CHECKF(box, lc.n == want && lc.bad == 0, "ledger table: %zu rows, %zu "
	       "bad or item twice", lc.n, lc.bad);
	for (size_t i = 0; i < nids; i++) {
		char idbuf[32];
		snprintf(idbuf, sizeof idbuf, "id-%zu", i);
		const char *v = NULL;
		/* each answer matches the ledger's record */
		if (held_by[i]) {
			v = t_map_get(&lown, held_by[i]);
			CHECKF(box, v && strcmp(v, idbuf) == 0, "id %s: answer "
			       "%s, ledger says %s", idbuf, held_by[i],
			       v ? v : "(none)");
		}
	}
	scan_ctx hc = { &lown, 0, 0, 0, 0 };
	CHECK_RC(box, ddb_scan_table(box, held_t, held_row, &hc), SB_OK);
	CHECKF(box, hc.n == want && hc.assigned == want && hc.reserved == 0 &&
	       hc.bad == 0, "held table: %zu rows, %llu assigned, %llu "
	       "reserved, %zu not matching the ledger", hc.n,
	       (unsigned long long)hc.assigned,
	       (unsigned long long)hc.reserved, hc.bad);
	size_t left = 0;
	CHECK_RC(box, ddb_scan_table(box, avail_t, count_row, &left), SB_OK);
	CHECKF(box, left == nitems - want, "available table: %zu rows, want "
	       "%zu", left, nitems - want);

	/* Re-adding everything: all skipped (law 6), nothing resurrected. */
	CHECK_RC(box, sb_box_add(&ar, box, bank, (const char *const *)items,
	                         nitems), SB_OK);
	CHECKF(box, ar.added == 0 && ar.skipped == nitems,
	       "re-add: added %llu skipped %llu",
	       (unsigned long long)ar.added, (unsigned long long)ar.skipped);

	free(avail_t);
	free(held_t);
	free(ledger_t);
	t_map_free(&lown);
	t_map_free(&owner);
	for (size_t r = 0; r < nreq; r++)
		free(answers[r].value);
	free(held_by);
	free(answers);
	free(order);
	free(th);
	for (size_t i = 0; i < nitems; i++)
		free(items[i]);
	free(items);
	sb_box_close(box);
	free(bank);
	free(ledger);
	return t_summary();
}
