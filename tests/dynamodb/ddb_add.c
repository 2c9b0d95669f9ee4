/* The bulk add and law 6 (docs/dynamodb.md, "Adding items, and law 6").
 *
 * `ddb_add law6`: re-adding items that are assigned, held, retired,
 * reserved or available is skipped and counted, repeats too; an issued
 * item that a plain put re-loaded into T(B) is taken out of it again;
 * a held table too big to be read whole is verified item by item.
 *
 * `ddb_add race` (fault builds): at the fault point between a batch's
 * read and its write, another store adds the same item and a claim (or
 * a hold, a retire, a restock) takes it, many rounds; after the add
 * returns, T(B) never holds a handed-out item and the counts say
 * skipped. At the point between the write and the verify (the one
 * moment an item can be in both tables) a claim of storagebox does not
 * get it. Then a throttle that never ends stops an add part-way: the
 * error says how far it got, and running the same add again adds the
 * rest and skips what is there. */
#include "ddb_test.h"

#include <inttypes.h>

/* ------------------------------------------------------------ helpers */

typedef struct {
	const char *want; /* look for this item */
	int found;
	int n; /* rows */
} scan_find;

static int find_row(const cJSON *it, void *p)
{
	scan_find *f = p;
	const char *v = sb_ddb_get_s(it, SB_DDB_ITEM_KEY);

	f->n++;
	if (v && f->want && strcmp(v, f->want) == 0)
		f->found++;
	return 0;
}

/* How many times T(B) (@p held 0) or T(B).held holds @p item. */
static int in_table(sb_box *box, const char *bank, const char *item, int held)
{
	sb_ddb_store *s = ddb_store_of(box);
	char *avail = NULL, *hold = NULL;
	scan_find f = { item, 0, 0 };

	if (sb_ddb_bank_tables(s, &avail, &hold, bank) != SB_OK)
		return -1;
	if (ddb_scan_table(box, held ? hold : avail, find_row, &f) != SB_OK)
		f.found = -1;
	free(avail);
	free(hold);
	return f.found;
}

/* A raw request on the box's store (the original's plain put, ...). */
static int raw(sb_box *box, const char *op, cJSON *body)
{
	cJSON *resp = NULL;
	int rc = sb_ddb_call(&resp, ddb_store_of(box), op, body, "test");

	cJSON_Delete(resp);
	cJSON_Delete(body);
	return rc;
}

static cJSON *put_body(const char *table, const char *item, const char *state)
{
	cJSON *b = cJSON_CreateObject(), *it = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "TableName", table);
	cJSON_AddItemToObject(it, SB_DDB_ITEM_KEY, sb_ddb_s(item));
	if (state)
		cJSON_AddItemToObject(it, "state", sb_ddb_s(state));
	cJSON_AddItemToObject(b, "Item", it);
	return b;
}

static int add(sb_box *box, const char *bank, const char *const *items,
               size_t n, uint64_t *added, uint64_t *skipped)
{
	sb_add_result r = { 0, 0 };
	int rc = sb_box_add(&r, box, bank, items, n);

	*added = r.added;
	*skipped = r.skipped;
	return rc;
}

/* ------------------------------------------------------------ law 6 */

static void law6(const char *uri)
{
	sb_box *box = ddb_open_uri(uri, SB_PROTOCOL_AUTO);
	char *bank = ddb_name("add6"), *ledger = ddb_name("add6-l");
	const char *items[10] = { "i0", "i1", "i2", "i3", "i4",
		                  "i5", "i6", "i7", "i8", "i9" };
	const char *again[18];
	sb_item *it = NULL, *assigned = NULL, *held = NULL, *retired = NULL;
	sb_item *reserved = NULL, *restocked = NULL;
	uint64_t a, k;
	sb_stats st;
	int i;

	if (!box)
		return;
	/* A fresh bank: no read per item. */
	CHECK_RC(box, add(box, bank, items, 10, &a, &k), SB_OK);
	CHECKF(box, a == 10 && k == 0, "added %" PRIu64 " skipped %" PRIu64, a,
	       k);
	CHECK_RC(box, sb_box_init(box, bank, ledger), SB_OK);

	/* One item in each state storagebox hands out, one restocked. */
	CHECK_RC(box, sb_box_fetch(&assigned, box, bank, ledger, "a"), SB_OK);
	CHECK_RC(box, sb_box_hold(&held, box, bank, ledger, "h", 600000),
	         SB_OK);
	CHECK_RC(box, sb_box_hold(&retired, box, bank, ledger, "r", 600000),
	         SB_OK);
	CHECK_RC(box, sb_box_release(box, ledger, "r", SB_RELEASE_RETIRE),
	         SB_OK);
	CHECK_RC(box, sb_box_hold(&restocked, box, bank, ledger, "s", 600000),
	         SB_OK);
	CHECK_RC(box, sb_box_release(box, ledger, "s", SB_RELEASE_RESTOCK),
	         SB_OK);
	CHECK_RC(box,
	         sb_ddb_bank_ops.take(&reserved, box->bank_store, bank, "tok",
	                              sb_now_ms()),
	         SB_OK);
	if (!assigned || !held || !retired || !restocked || !reserved)
		goto out;

	/* Re-add the ten, five new ones and three repeats. */
	for (i = 0; i < 10; i++)
		again[i] = items[i];
	again[10] = "n0", again[11] = "n1", again[12] = "n2";
	again[13] = "n3", again[14] = "n4";
	again[15] = "i0", again[16] = "n0", again[17] = "n0";
	CHECK_RC(box, add(box, bank, again, 18, &a, &k), SB_OK);
	CHECKF(box, a == 5 && k == 13, "added %" PRIu64 " skipped %" PRIu64, a,
	       k);
	CHECK_RC(box, sb_box_stats(&st, box, bank, ledger), SB_OK);
	CHECKF(box,
	       st.available == 11 && st.assigned == 1 && st.on_hold == 1 &&
	               st.retired == 1 && st.reserved == 1,
	       "available %" PRIu64 " assigned %" PRIu64 " on hold %" PRIu64
	       " retired %" PRIu64 " reserved %" PRIu64,
	       st.available, st.assigned, st.on_hold, st.retired, st.reserved);
	/* What a Python client of the original sees: none of the four. */
	CHECK(box, in_table(box, bank, sb_item_value(assigned), 0) == 0);
	CHECK(box, in_table(box, bank, sb_item_value(held), 0) == 0);
	CHECK(box, in_table(box, bank, sb_item_value(retired), 0) == 0);
	CHECK(box, in_table(box, bank, sb_item_value(reserved), 0) == 0);
	CHECK(box, in_table(box, bank, sb_item_value(restocked), 0) == 1);

	/* The original's plain put re-loads an issued item: add finds it in
	 * both tables, takes it out of T(B), counts it skipped. */
	{
		sb_ddb_store *s = ddb_store_of(box);
		char *avail = NULL, *hold = NULL;
		const char *one[1] = { sb_item_value(assigned) };
		sb_ddb_bank_tables(s, &avail, &hold, bank);
		CHECK_RC(box,
		         raw(box, "PutItem", put_body(avail, one[0], NULL)),
		         SB_OK);
		CHECK(box, in_table(box, bank, one[0], 0) == 1);
		CHECK_RC(box, add(box, bank, one, 1, &a, &k), SB_OK);
		CHECKF(box, a == 0 && k == 1,
		       "added %" PRIu64 " skipped %" PRIu64, a, k);
		CHECK(box, in_table(box, bank, one[0], 0) == 0);
		CHECK(box, in_table(box, bank, one[0], 1) == 1);

		/* A held table too big to be read whole (210 retired rows
		 * put raw): verified item by item. */
		const char *big[250];
		char names[250][16];
		for (i = 0; i < 250; i++) {
			snprintf(names[i], sizeof names[i], "%s-%03d",
			         i < 210 ? "big" : "nb", i);
			big[i] = names[i];
		}
		for (i = 0; i < 210; i += 25) {
			cJSON *b = cJSON_CreateObject(), *req, *arr;
			req = cJSON_AddObjectToObject(b, "RequestItems");
			arr = cJSON_AddArrayToObject(req, hold);
			for (int j = i; j < i + 25 && j < 210; j++) {
				cJSON *p = put_body(hold, big[j], "retired");
				cJSON *pr = cJSON_CreateObject();
				cJSON_AddItemToObject(
					pr, "Item",
					cJSON_DetachItemFromObject(p, "Item"));
				cJSON_Delete(p);
				cJSON *w = cJSON_CreateObject();
				cJSON_AddItemToObject(w, "PutRequest", pr);
				cJSON_AddItemToArray(arr, w);
			}
			CHECK_RC(box, raw(box, "BatchWriteItem", b), SB_OK);
		}
		/* The bank is not empty: read, write, verify by keys. */
		sb_ddb_counters c;
		ddb_box_counters(box, NULL, 1);
		CHECK_RC(box, add(box, bank, big, 250, &a, &k), SB_OK);
		CHECKF(box, a == 40 && k == 210,
		       "added %" PRIu64 " skipped %" PRIu64, a, k);
		ddb_box_counters(box, &c, 0);
		/* 2 probes, 5 reads, 2 writes, a Scan that finds the held
		 * table big, and the verify of the written batch. */
		CHECKF(box, c.requests <= 12, "requests %" PRIu64, c.requests);
		CHECK(box, in_table(box, bank, "big-007", 0) == 0);
		CHECK(box, in_table(box, bank, "nb-240", 0) == 1);
		free(avail);
		free(hold);
	}
out:
	sb_item_free(it);
	sb_item_free(assigned);
	sb_item_free(held);
	sb_item_free(retired);
	sb_item_free(reserved);
	sb_item_free(restocked);
	sb_box_close(box);
	free(bank);
	free(ledger);
}

/* ------------------------------------------------------------ race */

#if SB_TEST_FAULTS
typedef struct {
	sb_box *other; /* another store: the concurrent adder and claimer */
	const char *bank, *ledger;
	const char *item;
	int round, in_hook, hits, verify_hits;
	int errors;
	char got[64]; /* what the claim at the verify point got */
} race_ctx;

static race_ctx rx;

/* Between A's read and A's write: B adds the item and takes it. */
static void take_it(void)
{
	const char *one[1] = { rx.item };
	sb_add_result r;
	sb_item *it = NULL;
	char id[32];
	int v = rx.round % 4;

	snprintf(id, sizeof id, "id-%d", rx.round);
	if (sb_box_add(&r, rx.other, rx.bank, one, 1) != SB_OK || r.added != 1)
		rx.errors++;
	if (v == 0) {
		if (sb_box_fetch(&it, rx.other, rx.bank, rx.ledger, id) != SB_OK)
			rx.errors++;
	} else {
		if (sb_box_hold(&it, rx.other, rx.bank, rx.ledger, id,
		                600000) != SB_OK)
			rx.errors++;
		if (v == 2 &&
		    sb_box_release(rx.other, rx.ledger, id, SB_RELEASE_RETIRE))
			rx.errors++;
		if (v == 3 &&
		    sb_box_release(rx.other, rx.ledger, id, SB_RELEASE_RESTOCK))
			rx.errors++;
	}
	if (!it || strcmp(sb_item_value(it), rx.item) != 0)
		rx.errors++;
	sb_item_free(it);
}

/* Between A's write and A's verify (the item is in both tables when the
 * round took it): a claim of storagebox must not get it. */
static void claim_now(void)
{
	sb_item *it = NULL;
	char id[32];
	int rc;

	snprintf(id, sizeof id, "late-%d", rx.round);
	rc = sb_box_fetch(&it, rx.other, rx.bank, rx.ledger, id);
	snprintf(rx.got, sizeof rx.got, "%s",
	         rc == SB_OK ? sb_item_value(it) : "(none)");
	sb_item_free(it);
}

static int race_hook(const char *point, void *payload)
{
	(void)payload;
	if (rx.in_hook || !rx.item)
		return 0;
	rx.in_hook = 1;
	if (strcmp(point, SB_DDB_FAULT_ADD_WRITE) == 0 && rx.hits++ == 0)
		take_it();
	else if (strcmp(point, SB_DDB_FAULT_ADD_VERIFY) == 0 &&
	         rx.verify_hits++ == 0 && rx.round % 4 != 3)
		claim_now();
	rx.in_hook = 0;
	return 0;
}

static const char *throttle_after;
static int throttle_left;

static int throttle_hook(const char *point, void *payload)
{
	(void)payload;
	if (strcmp(point, SB_DDB_FAULT_THROTTLE) != 0)
		return 0;
	if (throttle_left > 0) {
		throttle_left--;
		return 0;
	}
	return throttle_after != NULL;
}

static void race(const char *uri)
{
	sb_box *a = ddb_open_uri(uri, SB_PROTOCOL_AUTO);
	sb_box *b = ddb_open_uri(uri, SB_PROTOCOL_AUTO);
	char *bank = ddb_name("addr"), *ledger = ddb_name("addr-l");
	int rounds = 12, restocked = 0;
	uint64_t added, skipped;
	sb_stats st;

	if (!a || !b)
		goto out;
	CHECK_RC(a, sb_box_init(a, bank, ledger), SB_OK);
	rx.other = b;
	rx.bank = bank;
	rx.ledger = ledger;
	sb__fault_set_hook(race_hook, NULL);
	for (rx.round = 0; rx.round < rounds; rx.round++) {
		char item[32];
		const char *one[1] = { item };
		snprintf(item, sizeof item, "race-%02d", rx.round);
		rx.item = item;
		rx.hits = rx.verify_hits = 0;
		rx.got[0] = '\0';
		CHECK_RC(a, add(a, bank, one, 1, &added, &skipped), SB_OK);
		rx.item = NULL;
		CHECKF(a, rx.hits == 1 && rx.errors == 0,
		       "round %d: hook %d, errors %d", rx.round, rx.hits,
		       rx.errors);
		/* After add returns: in T(B) only if it was restocked. */
		int v = rx.round % 4;
		int want = v == 3;
		CHECKF(a, in_table(a, bank, item, 0) == want,
		       "round %d: %s in T(B) %d times", rx.round, item,
		       in_table(a, bank, item, 0));
		CHECKF(a, in_table(a, bank, item, 1) == !want,
		       "round %d: %s in T(B).held", rx.round, item);
		/* Handed out before our write landed: skipped; restocked
		 * (available, rightly): added. */
		CHECKF(a, added == (uint64_t)want && skipped == !want,
		       "round %d: added %" PRIu64 " skipped %" PRIu64, rx.round,
		       added, skipped);
		if (!want)
			CHECKF(a, rx.verify_hits == 1 && strcmp(rx.got, item),
			       "round %d: the claim in the transient got %s",
			       rx.round, rx.got);
		if (want) {
			restocked++;
			/* Keep the bank empty for the next round. */
			sb_item *it = NULL;
			char id[32];
			snprintf(id, sizeof id, "drain-%d", rx.round);
			CHECK_RC(a, sb_box_fetch(&it, a, bank, ledger, id),
			         SB_OK);
			sb_item_free(it);
		}
	}
	CHECK_RC(a, sb_box_stats(&st, a, bank, ledger), SB_OK);
	CHECKF(a,
	       st.available == 0 && st.assigned + st.on_hold + st.retired ==
	                                    (uint64_t)rounds,
	       "available %" PRIu64 " assigned %" PRIu64 " on hold %" PRIu64
	       " retired %" PRIu64,
	       st.available, st.assigned, st.on_hold, st.retired);
	sb__fault_set_hook(NULL, NULL);

	/* A throttle that never ends, after a few requests went through. */
	{
		char *tb = ddb_name("addt");
		enum {
			N = 600
		};
		static char names[N][16];
		const char *v[N];
		for (int i = 0; i < N; i++) {
			snprintf(names[i], sizeof names[i], "t-%04d", i);
			v[i] = names[i];
		}
		CHECK_RC(a, sb_box_init(a, tb, NULL), SB_OK);
		throttle_after = "on";
		throttle_left = 8; /* 2 probes, then 6 of the writes */
		sb__fault_set_hook(throttle_hook, NULL);
		CHECK_RC(a, add(a, tb, v, N, &added, &skipped), SB_EBUSY);
		sb__fault_set_hook(NULL, NULL);
		const char *msg = sb_box_errmsg(a);
		printf("stopped part-way: %s\n", msg);
		CHECKF(a,
		       t_contains(msg, "ProvisionedThroughputExceeded") &&
		               t_contains(msg, "stopped") &&
		               t_contains(msg, "added") &&
		               t_contains(msg, "running the same add again"),
		       "'%s'", msg);
		CHECK_RC(a, sb_box_stats(&st, a, tb, NULL), SB_OK);
		uint64_t there = st.available;
		CHECKF(a, there > 0 && there < N, "%" PRIu64 " there", there);
		CHECK_RC(a, add(a, tb, v, N, &added, &skipped), SB_OK);
		CHECKF(a, skipped == there && added == N - there,
		       "again: added %" PRIu64 " skipped %" PRIu64, added,
		       skipped);
		CHECK_RC(a, sb_box_stats(&st, a, tb, NULL), SB_OK);
		CHECK(a, st.available == N);
		free(tb);
	}
out:
	sb_box_close(a);
	sb_box_close(b);
	free(bank);
	free(ledger);
}
#endif

int main(int argc, char **argv)
{
	const char *base = t_env_need("SB_TEST_DYNAMODB_URI");
	char *uri = t_xasprintf("%s%smax_retries=4&backoff_base=2&backoff_cap=20",
	                        base, strchr(base, '?') ? "&" : "?");
	if (argc > 1 && strcmp(argv[1], "race") == 0) {
#if SB_TEST_FAULTS
		race(uri);
#else
		fprintf(stderr, "race needs a fault build\n");
		free(uri);
		return 77;
#endif
	} else {
		law6(uri);
	}
	free(uri);
	return t_summary();
}
