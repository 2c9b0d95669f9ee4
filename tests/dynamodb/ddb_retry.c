/* Retries (fault builds): DynamoDB Local never throttles nor conflicts, so
 * fault points make the backend see TransactionConflict and
 * ProvisionedThroughputExceeded answers. The claim must retry with capped
 * exponential backoff and jitter, succeed when the fault clears, give up
 * after max_retries with SB_EBUSY and change nothing. */
#include "ddb_test.h"

static const char *fail_point;
static int fail_left; /* fail this many more passes (-1: always) */
static int fail_seen;

static int hook(const char *point, void *payload)
{
	(void)payload;
	if (!fail_point || strcmp(point, fail_point) != 0)
		return 0;
	fail_seen++;
	if (fail_left == 0)
		return 0;
	if (fail_left > 0)
		fail_left--;
	return 1;
}

static void arm(const char *point, int times)
{
	fail_point = point;
	fail_left = times;
	fail_seen = 0;
}

int main(void)
{
	const char *base = t_env_need("SB_TEST_DYNAMODB_URI");
	char *uri = t_xasprintf("%s%smax_retries=6&backoff_base=5&backoff_cap=40",
	                        base, strchr(base, '?') ? "&" : "?");
	sb_box *box = ddb_open_uri(uri, SB_PROTOCOL_AUTO);
	if (!box)
		return t_summary();
	char *bank = ddb_name("retry");
	char *ledger = ddb_name("retry-ledger");
	const char *items[] = { "r1", "r2", "r3" };
	sb__fault_set_hook(hook, NULL);
	CHECK_RC(box, sb_box_add(NULL, box, bank, items, 3), SB_OK);
	CHECK_RC(box, sb_box_init(box, bank, ledger), SB_OK);

	/* Three conflicts, then the transaction goes through. */
	sb_ddb_counters c;
	sb_item *it = NULL;
	ddb_box_counters(box, NULL, 1);
	arm(SB_DDB_FAULT_CONFLICT, 3);
	CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, "a"), SB_OK);
	CHECK(box, it && sb_item_is_new(it));
	sb_item_free(it);
	it = NULL;
	ddb_box_counters(box, &c, 1);
	CHECKF(box, c.retries == 3 && fail_seen == 4, "retries %llu, passes %d",
	       (unsigned long long)c.retries, fail_seen);
	CHECKF(box, c.max_sleep_ms <= 40 && c.sleep_ms <= 3 * 40,
	       "slept %llu ms, longest %llu", (unsigned long long)c.sleep_ms,
	       (unsigned long long)c.max_sleep_ms);
	/* A new id: one or two Scans (a random segment, then the whole
	 * table if that segment was empty) + one TransactWriteItems. */
	CHECKF(box, c.requests >= 2 && c.requests <= 3, "requests %llu",
	       (unsigned long long)c.requests);

	/* Conflicts that never end: max_retries re-sends, then SB_EBUSY,
	 * every backoff within the cap, and no change in the tables. */
	arm(SB_DDB_FAULT_CONFLICT, -1);
	CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, "b"), SB_EBUSY);
	CHECK(box, it == NULL);
	CHECKF(box, t_contains(sb_box_errmsg(box), "conflict"), "'%s'",
	       sb_box_errmsg(box));
	ddb_box_counters(box, &c, 1);
	CHECKF(box, c.retries == 6 && fail_seen == 7, "retries %llu, passes %d",
	       (unsigned long long)c.retries, fail_seen);
	CHECKF(box, c.max_sleep_ms <= 40, "longest backoff %llu ms",
	       (unsigned long long)c.max_sleep_ms);
	arm(NULL, 0);
	sb_stats st;
	CHECK_RC(box, sb_box_stats(&st, box, bank, ledger), SB_OK);
	CHECK(box, st.available == 2 && st.assigned == 1 && st.held == 1);
	CHECK_RC(box, sb_box_lookup(&it, box, ledger, "b"), SB_ENOTFOUND);

	/* Throttling on any request (here the stats scans). */
	ddb_box_counters(box, NULL, 1);
	arm(SB_DDB_FAULT_THROTTLE, 4);
	CHECK_RC(box, sb_box_stats(&st, box, bank, ledger), SB_OK);
	CHECK(box, st.available == 2 && st.assigned == 1);
	ddb_box_counters(box, &c, 1);
	CHECKF(box, c.retries == 4, "retries %llu",
	       (unsigned long long)c.retries);
	arm(SB_DDB_FAULT_THROTTLE, -1);
	CHECK_RC(box, sb_box_stats(&st, box, bank, ledger), SB_EBUSY);
	CHECKF(box,
	       t_contains(sb_box_errmsg(box),
	                  "ProvisionedThroughputExceededException"),
	       "'%s'", sb_box_errmsg(box));

	/* The generic path retries too (take and put_if_absent). */
	arm(SB_DDB_FAULT_CONFLICT, 2);
	sb_box *gbox = ddb_open_uri(uri, SB_PROTOCOL_GENERIC);
	if (gbox) {
		CHECK_RC(gbox, sb_box_fetch(&it, gbox, bank, ledger, "c"),
		         SB_OK);
		sb_item_free(it);
		it = NULL;
		ddb_box_counters(gbox, &c, 0);
		CHECKF(gbox, c.retries == 2, "retries %llu",
		       (unsigned long long)c.retries);
		sb_box_close(gbox);
	}
	arm(NULL, 0);
	CHECK_RC(box, sb_box_stats(&st, box, bank, ledger), SB_OK);
	CHECK(box, st.available == 1 && st.assigned == 2 && st.reserved == 0);

	/* Backoff itself: many attempts never sleep past the cap. */
	sb_ddb_store *s = ddb_store_of(box);
	ddb_box_counters(box, NULL, 1);
	for (int a = 0; a < 30; a++)
		sb_ddb_backoff(s, a);
	ddb_box_counters(box, &c, 1);
	CHECKF(box, c.max_sleep_ms <= 40 && c.sleep_ms > 0,
	       "30 backoffs: longest %llu ms, total %llu ms",
	       (unsigned long long)c.max_sleep_ms,
	       (unsigned long long)c.sleep_ms);

	sb__fault_set_hook(NULL, NULL);
	sb_box_close(box);
	free(bank);
	free(ledger);
	free(uri);
	return t_summary();
}
