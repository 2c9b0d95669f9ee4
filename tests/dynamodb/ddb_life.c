/* The life of a DynamoDB bank, request by request: C clients (threads,
 * one box each) claim new ids until every item of an N-item bank is
 * handed out, as `storagebox bench --repeat 0` does; then, for each tenth
 * of the bank, claims/s and what each claim cost by the backend's
 * counters (HTTP requests, candidate Scans, transactions lost to another
 * client), and the last tenth's claims/s over the first's (the bench's
 * life ratio). A meson benchmark (8 clients, 3,000 items), and with
 * `check` the test dynamodb-life: every item handed out once, the bank
 * then empty, and at most 2 requests per claim over the last tenth (the
 * issue's bound; it holds without contention too, so the test does not
 * depend on how the clients interleave) and 1.3 over the whole life.
 * usage: ddb_life [CLIENTS [ITEMS [check]]]   (8, 3000) */
#include "ddb_test.h"

#include <pthread.h>

typedef struct {
	double done_s; /* since the start */
	uint32_t requests, scans, lost;
	char *item;
} claim_rec;

static const char *uri;
static char *bank, *ledger;
static size_t items;
static size_t next_ticket;
static claim_rec *recs;
static size_t nrecs;
static uint64_t retries, sleep_ms; /* all clients */
static int ready, go;
static double t0;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_rec(const void *a, const void *b)
{
	double x = ((const claim_rec *)a)->done_s;
	double y = ((const claim_rec *)b)->done_s;
	return (x > y) - (x < y);
}

static void *run(void *p)
{
	int idx = (int)(intptr_t)p;
	sb_box *box = ddb_open_uri(uri, SB_PROTOCOL_AUTO);

	__atomic_add_fetch(&ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&go, __ATOMIC_SEQ_CST)) {
		struct timespec ts = { 0, 1000000L };
		nanosleep(&ts, NULL);
	}
	if (!box)
		return NULL;
	for (;;) {
		size_t n = __atomic_fetch_add(&next_ticket, 1,
		                              __ATOMIC_SEQ_CST);
		sb_ddb_counters c;
		sb_item *it = NULL;
		char id[64];
		int rc;

		if (n >= items)
			break;
		snprintf(id, sizeof id, "c%d-%zu", idx, n);
		ddb_box_counters(box, NULL, 1);
		rc = sb_box_fetch(&it, box, bank, ledger, id);
		ddb_box_counters(box, &c, 1);
		__atomic_add_fetch(&retries, c.retries, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&sleep_ms, c.sleep_ms, __ATOMIC_SEQ_CST);
		if (!CHECKF(box, rc == SB_OK && it && sb_item_is_new(it),
		            "client %d, claim %zu: %d", idx, n, rc)) {
			sb_item_free(it);
			break;
		}
		pthread_mutex_lock(&mu);
		recs[nrecs].item = t_xasprintf("%s", sb_item_value(it));
		sb_item_free(it);
		recs[nrecs].done_s = t_now_s() - t0;
		recs[nrecs].requests = (uint32_t)c.requests;
		recs[nrecs].scans = (uint32_t)c.scans;
		recs[nrecs].lost = (uint32_t)c.lost;
		nrecs++;
		pthread_mutex_unlock(&mu);
	}
	sb_box_close(box);
	return NULL;
}

int main(int argc, char **argv)
{
	int clients = argc > 1 ? atoi(argv[1]) : 8;
	pthread_t th[64];
	double from = 0, first = 0, last = 0;
	uint64_t req = 0, scans = 0, lost = 0, last_req = 0;
	int check = argc > 3 && strcmp(argv[3], "check") == 0;
	char **names;
	sb_box *box;
	size_t i;

	items = argc > 2 ? (size_t)atol(argv[2]) : 3000;
	if (clients < 1 || clients > 64)
		clients = 8;
	if (items < 10)
		items = 10;
	uri = t_env_need("SB_TEST_DYNAMODB_URI");
	if (!(box = ddb_open_uri(uri, SB_PROTOCOL_AUTO)))
		return t_summary();
	bank = ddb_name("life");
	ledger = ddb_name("life-ledger");
	names = t_xcalloc(items, sizeof *names);
	for (i = 0; i < items; i++)
		names[i] = t_xasprintf("seat-%06zu", i);
	CHECK_RC(box,
	         sb_box_add(NULL, box, bank, (const char *const *)names, items),
	         SB_OK);
	CHECK_RC(box, sb_box_init(box, NULL, ledger), SB_OK);
	recs = t_xcalloc(items, sizeof *recs);
	for (i = 0; i < (size_t)clients; i++)
		pthread_create(&th[i], NULL, run, (void *)(intptr_t)i);
	while (__atomic_load_n(&ready, __ATOMIC_SEQ_CST) < clients) {
		struct timespec ts = { 0, 1000000L };
		nanosleep(&ts, NULL);
	}
	t0 = t_now_s();
	__atomic_store_n(&go, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < (size_t)clients; i++)
		pthread_join(th[i], NULL);
	qsort(recs, nrecs, sizeof *recs, cmp_rec);
	printf("%d clients, %zu items, %zu claims\n", clients, items, nrecs);
	printf("tenth  claims/s  requests/claim  scans/claim  lost/claim\n");
	for (int t = 0; t < 10 && nrecs == items; t++) {
		size_t lo = items * (size_t)t / 10,
		       hi = items * (size_t)(t + 1) / 10;
		uint64_t r = 0, sc = 0, lo_n = 0;
		double to = recs[hi - 1].done_s, rate;
		for (i = lo; i < hi; i++) {
			r += recs[i].requests;
			sc += recs[i].scans;
			lo_n += recs[i].lost;
		}
		rate = to > from ? (double)(hi - lo) / (to - from) : 0;
		if (t == 0)
			first = rate;
		if (t == 9) {
			last = rate;
			last_req = r;
		}
		printf("%5d  %8.0f  %14.2f  %11.2f  %10.2f\n", t + 1, rate,
		       (double)r / (double)(hi - lo),
		       (double)sc / (double)(hi - lo),
		       (double)lo_n / (double)(hi - lo));
		req += r;
		scans += sc;
		lost += lo_n;
		from = to;
	}
	/* The last tenth in tenths: the very end (fewer items than
	 * clients) is where they fight most. */
	if (nrecs == items && items >= 100) {
		printf("last tenth by hundredths, claims/s:");
		for (int t = 90; t < 100; t++) {
			size_t lo = items * (size_t)t / 100,
			       hi = items * (size_t)(t + 1) / 100;
			double a = recs[lo - 1].done_s, b = recs[hi - 1].done_s;
			printf(" %.0f",
			       b > a ? (double)(hi - lo) / (b - a) : 0);
		}
		printf("\n");
	}
	if (nrecs == items && first > 0)
		printf("whole life: %.0f claims/s, %.2f requests/claim, %.2f "
		       "scans/claim, %.2f lost/claim; last 10%% over first "
		       "10%%: %.2f; %llu retries, %llu ms of backoff\n",
		       (double)items / recs[items - 1].done_s,
		       (double)req / (double)items,
		       (double)scans / (double)items,
		       (double)lost / (double)items, last / first,
		       (unsigned long long)retries,
		       (unsigned long long)sleep_ms);
	if (check) {
		size_t k = items - items * 9 / 10;
		sb_item *it = NULL;
		char **got = t_xcalloc(items, sizeof *got);

		/* Every item once, then nothing. */
		CHECKF(box, nrecs == items, "%zu claims of %zu", nrecs, items);
		for (i = 0; i < nrecs; i++)
			got[i] = recs[i].item;
		qsort(got, nrecs, sizeof *got, cmp_str);
		for (i = 0; i < nrecs && i < items; i++)
			if (!CHECKF(box, strcmp(got[i], names[i]) == 0,
			            "item %zu: %s, want %s", i, got[i],
			            names[i]))
				break;
		free(got);
		CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, "late"),
		         SB_EMPTY);
		sb_item_free(it);
		CHECKF(box, nrecs == items && last_req <= 2 * k,
		       "last tenth: %.2f requests per claim (at most 2)",
		       (double)last_req / (double)k);
		CHECKF(box, nrecs == items && req * 10 <= 13 * items,
		       "whole life: %.2f requests per claim (at most 1.3)",
		       (double)req / (double)items);
	}
	for (i = 0; i < items; i++)
		free(names[i]);
	for (i = 0; i < nrecs; i++)
		free(recs[i].item);
	free(names);
	free(recs);
	free(bank);
	free(ledger);
	sb_box_close(box);
	return t_summary();
}
