/* DynamoDB benchmark driver (tools/bench.sh runs it; a
 * meson benchmark, not a test). Prints:
 *  - HTTP requests per fetch, counted by the backend: new id, repeat id
 *    while items are left, repeat id after sell-out, new id after sell-out;
 *  - claims/s with C clients (threads, one box each) on one bank, beside
 *    the rate of a plain GetItem loop and of a loop of the smallest
 *    TransactWriteItems (two unconditional puts of fresh keys) with C
 *    clients in the same run: a claim is one transaction, so the second
 *    is the ceiling a claim can reach on this server.
 * usage: ddb_bench [CLIENTS [ITEMS [SECONDS]]]   (8, 3000, 10) */
#include "ddb_test.h"

#include <pthread.h>

static const char *uri;
static char *bank, *ledger;
static double seconds;
static int stop;
static uint64_t done_ops[64];
static uint64_t req_sum, retry_sum;

static double per_fetch(sb_box *box, const char *b, const char *l,
                        const char *fmt, int n, int want_rc)
{
	sb_ddb_counters c;
	int bad = 0;
	ddb_box_counters(box, NULL, 1);
	for (int i = 0; i < n; i++) {
		char id[64];
		sb_item *it = NULL;
		snprintf(id, sizeof id, fmt, i);
		if (sb_box_fetch(&it, box, b, l, id) != want_rc)
			bad++;
		sb_item_free(it);
	}
	ddb_box_counters(box, &c, 1);
	CHECKF(box, bad == 0, "%d fetches (%s) did not answer %d", bad, fmt,
	       want_rc);
	return (double)c.requests / n;
}

/* One TransactWriteItems of two unconditional puts of fresh keys into
 * the ledger table: the least a transaction can do. */
static int put_pair(sb_ddb_store *s, const char *table, int idx, uint64_t n)
{
	cJSON *body = cJSON_CreateObject(), *items, *out = NULL;
	int rc;

	items = cJSON_AddArrayToObject(body, "TransactItems");
	for (int k = 0; k < 2; k++) {
		char key[64];
		cJSON *w = cJSON_CreateObject(), *put, *item;
		snprintf(key, sizeof key, "tx-%d-%llu-%d", idx,
		         (unsigned long long)n, k);
		put = cJSON_AddObjectToObject(w, "Put");
		cJSON_AddStringToObject(put, "TableName", table);
		item = cJSON_AddObjectToObject(put, "Item");
		cJSON_AddStringToObject(cJSON_AddObjectToObject(item,
		                                                "deduplication_id"),
		                        "S", key);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(item,
		                                                "item_string"),
		                        "S", "x");
		cJSON_AddItemToArray(items, w);
	}
	rc = sb_ddb_call(&out, s, "TransactWriteItems", body, "bench");
	cJSON_Delete(out);
	cJSON_Delete(body);
	return rc;
}

typedef struct {
	int idx;
	int mode; /* 0 claims, 1 GetItem, 2 TransactWriteItems */
} job;

static void *run(void *p)
{
	job *j = p;
	sb_box *box = ddb_open_uri(uri, SB_PROTOCOL_AUTO);
	uint64_t n = 0;
	if (!box)
		return NULL;
	sb_ddb_store *s = ddb_store_of(box);
	char *lt = NULL;
	sb_ddb_table(s, &lt, s->ledger_prefix, ledger, "");
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		char id[64];
		sb_item *it = NULL;
		int rc;
		snprintf(id, sizeof id, "c%d-%llu", j->idx,
		         (unsigned long long)n);
		if (j->mode == 0) {
			rc = sb_box_fetch(&it, box, bank, ledger, id);
			if (rc == SB_EMPTY)
				break;
		} else if (j->mode == 2) {
			rc = put_pair(s, lt, j->idx, n);
		} else {
			snprintf(id, sizeof id, "c%d-%llu", j->idx,
			         (unsigned long long)(n % 50));
			rc = sb_ddb_ledger_get_table(&it, s, lt, id);
		}
		sb_item_free(it);
		if (rc == SB_ENOTFOUND && j->mode == 1)
			rc = SB_OK; /* a request all the same */
		if (rc != SB_OK) {
			CHECKF(box, 0, "client %d: %d", j->idx, rc);
			break;
		}
		n++;
	}
	done_ops[j->idx] = n;
	sb_ddb_counters c;
	ddb_box_counters(box, &c, 0);
	__atomic_add_fetch(&req_sum, c.requests, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&retry_sum, c.retries, __ATOMIC_SEQ_CST);
	free(lt);
	sb_box_close(box);
	return NULL;
}

static double rate(int clients, int mode)
{
	pthread_t th[64];
	job jobs[64];
	uint64_t total = 0;
	stop = 0;
	req_sum = retry_sum = 0;
	double t0 = t_now_s();
	for (int i = 0; i < clients; i++) {
		jobs[i].idx = i;
		jobs[i].mode = mode;
		pthread_create(&th[i], NULL, run, &jobs[i]);
	}
	while (t_now_s() - t0 < seconds) {
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	double el = t_now_s() - t0;
	for (int i = 0; i < clients; i++)
		total += done_ops[i];
	printf("  %s: %llu ops, %.2f requests/op, %llu retries\n",
	       mode == 2   ? "TransactWriteItems"
	       : mode == 1 ? "GetItem"
	                   : "claims",
	       (unsigned long long)total,
	       total ? (double)req_sum / (double)total : 0.0,
	       (unsigned long long)retry_sum);
	return (double)total / el;
}

int main(int argc, char **argv)
{
	int clients = argc > 1 ? atoi(argv[1]) : 8;
	size_t items = argc > 2 ? (size_t)atol(argv[2]) : 3000;
	seconds = argc > 3 ? atof(argv[3]) : 10;
	if (clients < 1 || clients > 64)
		clients = 8;
	uri = t_env_need("SB_TEST_DYNAMODB_URI");
	sb_box *box = ddb_open_uri(uri, SB_PROTOCOL_AUTO);
	if (!box)
		return t_summary();

	/* Request counts on a small bank. */
	char *b = ddb_name("bench-count");
	char *l = ddb_name("bench-count-ledger");
	char *its[100];
	for (int i = 0; i < 100; i++)
		its[i] = t_xasprintf("count-%03d", i);
	CHECK_RC(box, sb_box_add(NULL, box, b, (const char *const *)its, 100),
	         SB_OK);
	CHECK_RC(box, sb_box_init(box, b, l), SB_OK);
	sb_item *it = NULL;
	sb_box_fetch(&it, box, b, l, "warm-up"); /* table caches, segments */
	sb_item_free(it);
	double r_new = per_fetch(box, b, l, "new-%d", 50, SB_OK);
	double r_rep = per_fetch(box, b, l, "new-%d", 50, SB_OK);
	per_fetch(box, b, l, "drain-%d", 49, SB_OK);
	double r_rep_out = per_fetch(box, b, l, "new-%d", 50, SB_OK);
	double r_new_out = per_fetch(box, b, l, "late-%d", 50, SB_EMPTY);
	printf("requests per fetch: new id %.2f, repeat id %.2f, "
	       "repeat id after sell-out %.2f, new id after sell-out %.2f\n",
	       r_new, r_rep, r_rep_out, r_new_out);

	/* Throughput: claims on a big bank vs plain GetItem. */
	bank = ddb_name("bench-bank");
	ledger = ddb_name("bench-ledger");
	char **big = t_xcalloc(items, sizeof *big);
	for (size_t i = 0; i < items; i++)
		big[i] = t_xasprintf("seat-%06zu", i);
	ddb_box_counters(box, NULL, 1);
	double t0 = t_now_s();
	sb_add_result ar;
	CHECK_RC(box,
	         sb_box_add(&ar, box, bank, (const char *const *)big, items),
	         SB_OK);
	double add_s = t_now_s() - t0;
	sb_ddb_counters ac;
	ddb_box_counters(box, &ac, 0);
	printf("add: %zu items in %.2f s (%.0f items/s), %llu requests\n",
	       items, add_s, (double)items / add_s,
	       (unsigned long long)ac.requests);
	CHECK_RC(box, sb_box_init(box, bank, ledger), SB_OK);
	const char *seed[] = { "seed-item" };
	(void)seed;
	double claims = rate(clients, 0);
	double gets = rate(clients, 1);
	double txns = rate(clients, 2);
	printf("%d clients: %.0f claims/s, plain GetItem %.0f requests/s, "
	       "ratio %.2f\n",
	       clients, claims, gets, claims / gets);
	printf("%d clients: plain TransactWriteItems %.0f requests/s, "
	       "claims over it %.2f\n",
	       clients, txns, claims / txns);
	sb_stats st;
	CHECK_RC(box, sb_box_stats(&st, box, bank, ledger), SB_OK);
	CHECKF(box,
	       st.available + st.assigned == items && st.held == st.assigned,
	       "law check: available %llu assigned %llu held %llu",
	       (unsigned long long)st.available,
	       (unsigned long long)st.assigned, (unsigned long long)st.held);
	for (size_t i = 0; i < items; i++)
		free(big[i]);
	free(big);
	for (int i = 0; i < 100; i++)
		free(its[i]);
	free(b);
	free(l);
	free(bank);
	free(ledger);
	sb_box_close(box);
	return t_summary();
}
