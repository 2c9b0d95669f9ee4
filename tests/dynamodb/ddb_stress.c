/* DynamoDB stress: processes x threads (one box, so one connection, per
 * thread) on one bank and ledger. Afterwards the parent checks every law
 * of DESIGN.md §2 from the answers and through the API
 * (tests/common/stress_run.c), then scans the three tables directly and
 * re-adds every item (all skipped, law 6).
 *
 * usage: ddb_stress fused|generic WORKDIR   (server: $SB_TEST_DYNAMODB_URI)
 * Sizes (env): SB_STRESS_PROCS (2), SB_STRESS_THREADS (8), SB_STRESS_ITEMS
 * (2000), SB_STRESS_IDS (3000), SB_STRESS_REPEAT (3); SB_TEST_SEED replays
 * a shuffle. The emulator runs transactions one at a time: 16 clients
 * keep it busy.
 *
 * Through a faulty network (tests/dynamodb/fault_run.py):
 * SB_STRESS_FAULT_URI is the fault proxy, which the workers use (the setup
 * and the checks go straight to $SB_TEST_DYNAMODB_URI); a call may fail,
 * is counted by error code and fetched again; the backend's retry
 * counters are summed and printed. SB_STRESS_LOST names the proxy's file
 * of lost answers ("ID ITEM": a write that gave ID the ITEM was carried
 * out, its answer lost): each such id must hold exactly that item. */
#include "ddb_test.h"
#include "../common/stress_run.h"

#include <errno.h>
#include <sys/mman.h>

/* The backend's counters of every worker's store, summed (shared). */
enum {
	C_REQUESTS,
	C_RETRIES,
	C_NET_ERRORS,
	C_NET_RETRIES,
	C_SLEEP_MS,
	C_N
};
static long *counters;

static void add_counters(const st_params *p, sb_box *box)
{
	sb_ddb_counters c;
	(void)p;
	if (ddb_box_counters(box, &c, 0) != 0)
		return;
	__atomic_add_fetch(&counters[C_REQUESTS], (long)c.requests,
	                   __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&counters[C_RETRIES], (long)c.retries,
	                   __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&counters[C_NET_ERRORS], (long)c.net_errors,
	                   __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&counters[C_NET_RETRIES], (long)c.net_retries,
	                   __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&counters[C_SLEEP_MS], (long)c.sleep_ms,
	                   __ATOMIC_SEQ_CST);
}

/* Every lost answer of the proxy's file: the id holds that item (its
 * answers and the ledger agree, checked before). */
static void check_lost(const st_params *p, char **held, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256], id[128], item[128];
	size_t n = 0, k;

	if (!CHECKF(NULL, f != NULL, "%s: %s", path, strerror(errno)))
		return;
	while (fgets(line, sizeof line, f)) {
		if (!CHECKF(NULL,
		            sscanf(line, "%127s %127s", id, item) == 2 &&
		                    sscanf(id, "stress-id-%zu", &k) == 1 &&
		                    k < p->ids,
		            "%s: bad line '%s'", path, line))
			continue;
		n++;
		CHECKF(NULL, held[k] && strcmp(held[k], item) == 0,
		       "lost answer: %s was given %s, but holds %s", id, item,
		       held[k] ? held[k] : "nothing");
	}
	fclose(f);
	printf("lost answers that gave an id an item: %zu, each id holds "
	       "that item\n",
	       n);
}

typedef struct {
	const st_params *p;
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
	if (!id || !item || !b || strcmp(b, c->p->bank) != 0 ||
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
	if (item && strcmp(item, "\n") == 0 && st && strcmp(st, "generic") == 0)
		return 0;
	c->n++;
	if (st && strcmp(st, "reserved") == 0)
		c->reserved++;
	else
		c->assigned++;
	/* The token is "<ledger>\n<id>": it must name the ledger's owner. */
	size_t llen = strlen(c->p->ledger);
	if (!id || !tok || strncmp(tok, c->p->ledger, llen) != 0 ||
	    tok[llen] != '\n' || strcmp(tok + llen + 1, id))
		c->bad++;
	return 0;
}

static int count_row(const cJSON *it, void *p)
{
	(void)it;
	(*(size_t *)p)++;
	return 0;
}

/* The tables themselves: the ledger holds exactly the answers, the held
 * table the same items (assigned, with the ledger owner's token), the
 * available table the rest; then a re-add skips everything. */
static void check_tables(const st_params *p, char **held, size_t holders)
{
	sb_box *box = ddb_open_uri(p->uri, p->protocol);
	if (!box)
		return;
	sb_ddb_store *s = ddb_store_of(box);
	char *avail_t = NULL, *held_t = NULL, *ledger_t = NULL;
	sb_ddb_bank_tables(s, &avail_t, &held_t, p->bank);
	sb_ddb_table(s, &ledger_t, s->ledger_prefix, p->ledger, "");
	t_map lown;
	t_map_init(&lown);
	scan_ctx lc = { p, &lown, 0, 0, 0, 0 };
	CHECK_RC(box, ddb_scan_table(box, ledger_t, ledger_row, &lc), SB_OK);
	CHECKF(box, lc.n == holders && lc.bad == 0,
	       "ledger table: %zu rows "
	       "(%zu holders), %zu bad or item twice",
	       lc.n, holders, lc.bad);
	for (size_t i = 0; i < p->ids; i++) {
		char id[32];
		snprintf(id, sizeof id, "stress-id-%05zu", i);
		const char *v = held[i] ? t_map_get(&lown, held[i]) : NULL;
		if (held[i])
			CHECKF(box, v && strcmp(v, id) == 0,
			       "%s: answer %s, "
			       "ledger says %s",
			       id, held[i], v ? v : "(none)");
	}
	scan_ctx hc = { p, &lown, 0, 0, 0, 0 };
	CHECK_RC(box, ddb_scan_table(box, held_t, held_row, &hc), SB_OK);
	CHECKF(box,
	       hc.n == holders && hc.assigned == holders && hc.reserved == 0 &&
	               hc.bad == 0,
	       "held table: %zu rows, %llu "
	       "assigned, %llu reserved, %zu not matching the ledger",
	       hc.n, (unsigned long long)hc.assigned,
	       (unsigned long long)hc.reserved, hc.bad);
	size_t left = 0;
	CHECK_RC(box, ddb_scan_table(box, avail_t, count_row, &left), SB_OK);
	CHECKF(box, left == p->items - holders,
	       "available table: %zu rows, "
	       "want %zu",
	       left, p->items - holders);

	/* Re-adding everything: all skipped (law 6), nothing resurrected. */
	char **items = t_xcalloc(p->items, sizeof *items);
	for (size_t i = 0; i < p->items; i++)
		items[i] = t_xasprintf("stress-item-%05zu", i);
	sb_add_result ar = { 0, 0 };
	CHECK_RC(box,
	         sb_box_add(&ar, box, p->bank, (const char *const *)items,
	                    p->items),
	         SB_OK);
	CHECKF(box, ar.added == 0 && ar.skipped == p->items,
	       "re-add: added %llu skipped %llu", (unsigned long long)ar.added,
	       (unsigned long long)ar.skipped);
	for (size_t i = 0; i < p->items; i++)
		free(items[i]);
	free(items);
	free(avail_t);
	free(held_t);
	free(ledger_t);
	t_map_free(&lown);
	sb_box_close(box);
}

/* @p uri with a request timeout of 60 s. DynamoDB Local runs
 * transactions one at a time; on a machine this busy (2 cores, CPU hogs
 * beside the sanitizer builds' tests) one of the final re-add's
 * transactions got no answer within the default 8 s. This test is about
 * the laws under contention, not about a silent server
 * (hardening-timeout-dynamodb is); the fault proxy's URI keeps its own. */
static char *patient(const char *uri)
{
	return t_xasprintf("%s%ctimeout=60000", uri,
	                   strchr(uri, '?') ? '&' : '?');
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s fused|generic WORKDIR\n", argv[0]);
		return 2;
	}
	st_params p = { 0 };
	if (st_init(&p, "ddb stress", argv[1], 2, 8, 2000, 3000) != 0)
		return 2;
	char *uri = patient(t_env_need("SB_TEST_DYNAMODB_URI"));
	p.uri = uri;
	p.work_uri = getenv("SB_STRESS_FAULT_URI");
	p.faults = p.work_uri != NULL;
	counters = mmap(NULL, C_N * sizeof(long), PROT_READ | PROT_WRITE,
	                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counters == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	p.box_done = add_counters;
	char *bank = ddb_name("stress-bank");
	char *ledger = ddb_name("stress-ledger");
	char *stem = t_xasprintf("%s/ddb-%s", argv[2], bank);
	p.bank = bank;
	p.ledger = ledger;
	p.stem = stem;
	char *where = t_xasprintf("bank %s", bank);
	size_t holders = 0;
	char **held = st_go(&p, where, NULL, &holders);
	free(where);
	check_tables(&p, held, holders);
	printf("ddb stress %s: %ld requests, %ld retries (%ld after no "
	       "answer, of %ld without one), %ld ms of backoff\n",
	       p.mode, counters[C_REQUESTS], counters[C_RETRIES],
	       counters[C_NET_RETRIES], counters[C_NET_ERRORS],
	       counters[C_SLEEP_MS]);
	if (getenv("SB_STRESS_LOST"))
		check_lost(&p, held, getenv("SB_STRESS_LOST"));

	st_free_held(&p, held);
	free(stem);
	free(bank);
	free(ledger);
	st_done(&p);
	free(uri);
	return t_summary();
}
