/* Holds on DynamoDB's own layout: what the conformance suite cannot see.
 * - A Python client running the original (Scan the item table, delete,
 *   put the dedup record) never picks a held item, lapsed or not, nor a
 *   retired one; a restocked one is its to take.
 * - A claim at sell-out hands out a lapsed hold (found by the held
 *   table's deadline index), also on tables made by storagebox 0.1.0
 *   (no index: it is added on the way).
 * - Law 6 after release: add skips restocked and retired items.
 * - A generic-path hold is reclaimed by a fused box's recover.
 * - Requests: a hold costs what a fetch costs; confirm and extend one
 *   each (the entry's UpdateItem), an extend to an earlier deadline two
 *   (that, refused, and one transaction); sell-out with no hold ever made
 *   stays at two.
 * - A confirm leaves the held record as it was: stats count the item
 *   assigned at once; once the record's deadline passes, a claim at
 *   sell-out settles it (never hands it out) and goes past any number of
 *   such records to a lapsed hold (law 5), on pages of 2.
 * - An extend leaves the held record's deadline as it was: export_holds
 *   gives the entry's; once the record's deadline passes, neither a claim
 *   at sell-out nor recover reclaims the item while the entry is live
 *   (law 7): each gives the record the entry's deadline instead. An
 *   extend to an earlier deadline moves the record's too, so that a claim
 *   at sell-out finds the hold once it lapses (law 5).
 * - Stamps (bank contract version 3), slot by slot: take's stamp 0, a
 *   reservation taken over (settle refused, kept by a move with 0), a
 *   release's stamps listed and only the current one finishes it, a
 *   hold's stamp is its deadline, held -> reclaiming only once lapsed;
 *   each kept in the record's `until`, exact beyond a double's 2^53.
 * - Tables written before stamps (a reservation, a restock and a retire
 *   in flight, none with a stamp): used as they are, and a generic
 *   recover finishes each.
 * - (fault builds) A lapsed hold put back into the bank by a confirm
 *   that lost to the deadline, after a claim found the bank empty and
 *   before it searched for lapsed holds: the claim still gets it.
 * The clock is the core's test shift (sb__clock_shift). */
#include "ddb_original.h"

static sb_box *box;
static sb_ddb_store *s;

static int raw(const char *op, const char *json, cJSON **out)
{
	return ddb_raw(s, op, json, out, "holds test");
}

static int in_table(const char *table, const char *item)
{
	cJSON *resp = NULL;
	char *j = t_xasprintf("{\"TableName\":\"%s\",\"Key\":{\"item\":{\"S\":"
	                      "\"%s\"}},\"ConsistentRead\":true}",
	                      table, item);
	int found;

	CHECK_RC(box, raw("GetItem", j, &resp), SB_OK);
	free(j);
	found = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(resp, "Item"));
	cJSON_Delete(resp);
	return found;
}

static char *hold(sb_box *b, const char *bank, const char *ledger,
                  const char *id, int64_t ttl)
{
	sb_item *it = NULL;
	char *v = NULL;

	CHECK_RC(b, sb_box_hold(&it, b, bank, ledger, id, ttl), SB_OK);
	if (it) {
		v = t_xstrdup(sb_item_value(it));
		CHECK(b, sb_item_expires_ms(it) > 0);
	}
	sb_item_free(it);
	return v;
}

static void stats_are(const char *bank, uint64_t avail, uint64_t on_hold,
                      uint64_t assigned, uint64_t retired)
{
	sb_stats st;

	CHECK_RC(box, sb_box_stats(&st, box, bank, NULL), SB_OK);
	CHECKF(box,
	       st.available == avail && st.on_hold == on_hold &&
	               st.assigned == assigned && st.retired == retired &&
	               st.reserved == 0,
	       "%s: available %llu on_hold %llu assigned %llu retired %llu "
	       "reserved %llu",
	       bank, (unsigned long long)st.available,
	       (unsigned long long)st.on_hold, (unsigned long long)st.assigned,
	       (unsigned long long)st.retired, (unsigned long long)st.reserved);
}

/* The original's tables, storagebox holding on them. */
static void python_never_picks_held(void)
{
	char *bank = ddb_name("h-orig"), *ledger = ddb_name("h-orig-dedup");
	char *held_table = t_xasprintf("%s.held", bank);
	char *x, *y, *py;
	sb_item *it = NULL;

	orig_create_table(box, s, bank, "item");
	orig_create_table(box, s, ledger, "deduplication_id");
	orig_put_item(box, s, bank, "SEAT-1");
	orig_put_item(box, s, bank, "SEAT-2");
	orig_put_item(box, s, bank, "SEAT-3");

	x = hold(box, bank, ledger, "buyer-x", 60000);
	y = hold(box, bank, ledger, "buyer-y", 60000);
	CHECK(box, x && y && !in_table(bank, x) && in_table(held_table, x));
	/* Python takes the one left, then finds nothing. */
	py = orig_claim(box, s, bank, ledger, "py-1");
	CHECK(NULL, py && strcmp(py, x) != 0 && strcmp(py, y) != 0);
	free(py);
	py = orig_claim(box, s, bank, ledger, "py-2");
	CHECK(NULL, py == NULL);
	free(py);

	/* x's hold lapses: still invisible to Python (nothing reclaimed it
	 * yet); a new storagebox id gets it at sell-out, from the index. */
	sb__clock_shift(120000);
	py = orig_claim(box, s, bank, ledger, "py-3");
	CHECK(NULL, py == NULL);
	free(py);
	CHECK_RC(box, sb_box_confirm(box, ledger, "buyer-y"), SB_EEXPIRED);
	/* y's confirm came too late: reclaimed in the same step, to T(B). */
	CHECK(box, y && in_table(bank, y));
	CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, "late"), SB_OK);
	CHECK(box, it && sb_item_is_new(it) &&
	                   (strcmp(sb_item_value(it), y) == 0 ||
	                    strcmp(sb_item_value(it), x) == 0));
	sb_item_free(it);
	CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, "later"), SB_OK);
	CHECK(box, it && sb_item_is_new(it));
	sb_item_free(it);
	CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, "last"), SB_EMPTY);
	CHECK_RC(box, sb_box_confirm(box, ledger, "buyer-x"), SB_ENOTFOUND);
	sb__clock_shift(-120000);
	stats_are(bank, 0, 0, 2, 0);

	free(x);
	free(y);
	free(held_table);
	free(bank);
	free(ledger);
}

/* Tables of storagebox 0.1.0: T(B), T(B).held without the deadline
 * index, the ledger; then holds, a lapse, a claim at sell-out. */
static void upgrade_from_010(void)
{
	char *bank = ddb_name("h-old"), *ledger = ddb_name("h-old-dedup");
	char *held_table = t_xasprintf("%s.held", bank);
	const char *items[2] = { "OLD-1", "OLD-2" };
	sb_add_result ar;
	sb_item *it = NULL;
	cJSON *resp = NULL;
	char *a, *b, *j;

	orig_create_table(box, s, bank, "item");
	orig_create_table(box, s, held_table, "item");
	orig_create_table(box, s, ledger, "deduplication_id");
	CHECK_RC(box, sb_box_add(&ar, box, bank, items, 2), SB_OK);
	CHECK(box, ar.added == 2);
	a = hold(box, bank, ledger, "old-a", 1000);
	b = hold(box, bank, ledger, "old-b", 1000);
	j = t_xasprintf("{\"TableName\":\"%s\"}", held_table);
	CHECK_RC(box, raw("DescribeTable", j, &resp), SB_OK);
	free(j);
	j = cJSON_PrintUnformatted(resp);
	CHECKF(box, j && strstr(j, SB_DDB_DUE_INDEX) != NULL,
	       "the deadline index was not added to %s", held_table);
	free(j);
	cJSON_Delete(resp);
	sb__clock_shift(5000);
	CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, "old-c"), SB_OK);
	CHECK(box, it && sb_item_is_new(it));
	sb_item_free(it);
	CHECK_RC(box, sb_box_hold(&it, box, bank, ledger, "old-d", 1000),
	         SB_OK);
	sb_item_free(it);
	CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, "old-e"), SB_EMPTY);
	sb__clock_shift(-5000);
	stats_are(bank, 0, 1, 1, 0);
	free(a);
	free(b);
	free(held_table);
	free(bank);
	free(ledger);
}

/* Release: restocked items are in T(B) (add skips them there), retired
 * ones stay in T(B).held as "retired" (add skips them, Python never sees
 * them). */
static void law6_after_release(void)
{
	char *bank = ddb_name("h-rel"), *ledger = ddb_name("h-rel-dedup");
	char *held_table = t_xasprintf("%s.held", bank);
	const char *items[3] = { "R-1", "R-2", "R-3" };
	sb_add_result ar;
	char *a, *b;

	CHECK_RC(box, sb_box_add(&ar, box, bank, items, 3), SB_OK);
	a = hold(box, bank, ledger, "rel-a", 60000);
	b = hold(box, bank, ledger, "rel-b", 60000);
	CHECK_RC(box, sb_box_confirm(box, ledger, "rel-b"), SB_OK);
	CHECK_RC(box, sb_box_release(box, ledger, "rel-a", SB_RELEASE_RESTOCK),
	         SB_OK);
	CHECK_RC(box, sb_box_release(box, ledger, "rel-b", SB_RELEASE_RETIRE),
	         SB_OK);
	CHECK_RC(box, sb_box_release(box, ledger, "rel-b", SB_RELEASE_RETIRE),
	         SB_ENOTFOUND);
	CHECK(box, a && in_table(bank, a) && !in_table(held_table, a));
	CHECK(box, b && !in_table(bank, b) && in_table(held_table, b));
	stats_are(bank, 2, 0, 0, 1);
	CHECK_RC(box, sb_box_add(&ar, box, bank, items, 3), SB_OK);
	CHECKF(box, ar.added == 0 && ar.skipped == 3,
	       "re-add after release: added %llu skipped %llu",
	       (unsigned long long)ar.added, (unsigned long long)ar.skipped);
	free(a);
	free(b);
	free(held_table);
	free(bank);
	free(ledger);
}

/* A hold made on the generic path (no ledger table on the record) is
 * reclaimed by a fused box's recover. */
static void generic_hold_fused_recover(const char *uri)
{
	char *bank = ddb_name("h-gen"), *ledger = ddb_name("h-gen-dedup");
	const char *items[1] = { "G-1" };
	sb_box *gen = ddb_open_uri(uri, SB_PROTOCOL_GENERIC);
	sb_recover_result rr;
	sb_add_result ar;
	char *g;

	if (!gen)
		return;
	CHECK_RC(box, sb_box_add(&ar, box, bank, items, 1), SB_OK);
	g = hold(gen, bank, ledger, "gen-a", 1000);
	stats_are(bank, 0, 1, 0, 0);
	sb__clock_shift(5000);
	memset(&rr, 0, sizeof rr);
	CHECK_RC(box, sb_box_recover(&rr, box, bank, ledger, NULL), SB_OK);
	CHECKF(box, rr.lapsed == 1, "lapsed %llu",
	       (unsigned long long)rr.lapsed);
	sb__clock_shift(-5000);
	stats_are(bank, 1, 0, 0, 0);
	CHECK_RC(box, sb_box_confirm(box, ledger, "gen-a"), SB_ENOTFOUND);
	free(g);
	sb_box_close(gen);
	free(bank);
	free(ledger);
}

/* ---------------------------------------------------------- stamps */

typedef struct {
	int n;
	unsigned int state;
	int64_t ms;
	char token[64];
} seen_t;

static int list_cb(const char *item, const char *token, unsigned int state,
                   int64_t ms, void *payload)
{
	seen_t *x = payload;
	(void)item;
	x->n++;
	x->state = state;
	x->ms = ms;
	snprintf(x->token, sizeof x->token, "%s", token);
	return 0;
}

typedef struct {
	int n;
	int64_t since;
	char token[64];
} resv_t;

static int resv_cb(const char *item, const char *token, int64_t since,
                   void *payload)
{
	resv_t *x = payload;
	(void)item;
	x->n++;
	x->since = since;
	snprintf(x->token, sizeof x->token, "%s", token);
	return 0;
}

/* The held record's `until` as stored (-1: none, -2: no record). */
static int64_t until_of(const char *held_table, const char *item)
{
	cJSON *resp = NULL, *rec;
	char *j = t_xasprintf("{\"TableName\":\"%s\",\"Key\":{\"item\":{\"S\":"
	                      "\"%s\"}},\"ConsistentRead\":true}",
	                      held_table, item);
	int64_t u = -2;

	CHECK_RC(box, raw("GetItem", j, &resp), SB_OK);
	free(j);
	rec = cJSON_GetObjectItemCaseSensitive(resp, "Item");
	if (cJSON_IsObject(rec) && sb_ddb_get_n(rec, "until", &u))
		u = -1;
	cJSON_Delete(resp);
	return u;
}

static void stamps(void)
{
	char *bank = ddb_name("h-stamp");
	char *held_table = t_xasprintf("%s.held", bank);
	sb_store *st = box->bank_store;
	const sb_bank_ops *bk = st->bank;
	const char *items[] = { "i1", "i2", "i3" };
	const char *tok = "L\nA", *tok2 = "L\nC";
	/* 2^53 + 1 and + 3: no double holds them */
	const int64_t r1 = 9007199254740993LL, r2 = 9007199254740995LL;
	int64_t until = sb_now_ms() + 100000, t0 = sb_now_ms();
	char *a = NULL, *b = NULL, *c = NULL;
	sb_add_result ar;
	sb_item *it = NULL;
	seen_t x;
	resv_t rv;

	CHECK(box, bk->version >= 3 && bk->move_if);
	CHECK_RC(box, sb_box_add(&ar, box, bank, items, 3), SB_OK);

	/* A reservation: stamp 0, then a recovery pass's. */
	CHECK_RC(box, bk->take(&it, st, bank, tok, t0 - 5000), SB_OK);
	if (it)
		a = t_xstrdup(sb_item_value(it));
	sb_item_free(it);
	it = NULL;
	if (!CHECK(box, a != NULL))
		goto out;
	CHECK(box, until_of(held_table, a) == -1);
	CHECK_RC(box,
	         bk->move_if(st, bank, a, tok, SB_STATE_RESERVED,
	                     SB_STATE_RESERVED, r1, r2),
	         SB_ECONFLICT);
	CHECK_RC(box,
	         bk->move_if(st, bank, a, "L\nB", SB_STATE_RESERVED,
	                     SB_STATE_RESERVED, r1, 0),
	         SB_ECONFLICT);
	CHECK_RC(box,
	         bk->move_if(st, bank, a, tok, SB_STATE_RESERVED,
	                     SB_STATE_RESERVED, r1, 0),
	         SB_OK);
	CHECK_RC(box,
	         bk->move_if(st, bank, a, tok, SB_STATE_RESERVED,
	                     SB_STATE_RESERVED, r2, 0),
	         SB_ECONFLICT); /* another pass: too late */
	CHECKF(box, until_of(held_table, a) == r1, "stamp %lld",
	       (long long)until_of(held_table, a));
	memset(&rv, 0, sizeof rv);
	CHECK_RC(box, bk->reserved(st, bank, INT64_MAX, resv_cb, &rv), SB_OK);
	CHECKF(box, rv.n == 1 && rv.since >= t0 && !strcmp(rv.token, tok),
	       "reserved: %d, since %lld (now %lld)", rv.n, (long long)rv.since,
	       (long long)t0);
	/* The client's settle conflicts: the pass settles. */
	CHECK_RC(box, bk->settle(st, bank, a, tok), SB_ECONFLICT);
	/* a move into reserved with 0 keeps the stamp */
	CHECK_RC(box,
	         bk->move(st, bank, a, tok, SB_STATE_RESERVED,
	                  SB_STATE_RESERVED, 0),
	         SB_OK);
	CHECK(box, until_of(held_table, a) == r1);
	CHECK_RC(box,
	         bk->move_if(st, bank, a, tok, SB_STATE_RESERVED,
	                     SB_STATE_ASSIGNED, 0, r2),
	         SB_ECONFLICT);
	CHECK_RC(box,
	         bk->move_if(st, bank, a, tok, SB_STATE_RESERVED,
	                     SB_STATE_ASSIGNED, 0, r1),
	         SB_OK);
	CHECK(box, until_of(held_table, a) == -1);
	/* A reservation no pass took over settles as before. */
	CHECK_RC(box, bk->take(&it, st, bank, tok2, sb_now_ms()), SB_OK);
	if (it)
		b = t_xstrdup(sb_item_value(it));
	sb_item_free(it);
	it = NULL;
	if (!CHECK(box, b != NULL))
		goto out;
	CHECK_RC(box, bk->settle(st, bank, b, tok2), SB_OK);
	stats_are(bank, 1, 0, 2, 0);

	/* An item without a stamp (assigned): move_if conflicts. */
	CHECK_RC(box,
	         bk->move_if(st, bank, a, tok, SB_STATE_ASSIGNED,
	                     SB_STATE_RESTOCKING, r1, 0),
	         SB_ECONFLICT);
	/* A release: the mark's stamp, a pass's, the last step's check. */
	CHECK_RC(box,
	         bk->move(st, bank, a, tok, SB_STATE_ASSIGNED,
	                  SB_STATE_RESTOCKING, r1),
	         SB_OK);
	memset(&x, 0, sizeof x);
	CHECK_RC(box, bk->list(st, bank, SB_STATE_RESTOCKING, 0, list_cb, &x),
	         SB_OK);
	CHECKF(box,
	       x.n == 1 && x.state == SB_STATE_RESTOCKING && x.ms == r1 &&
	               !strcmp(x.token, tok),
	       "listed %d, ms %lld", x.n, (long long)x.ms);
	CHECK_RC(box,
	         bk->move_if(st, bank, a, tok, SB_STATE_RESTOCKING,
	                     SB_STATE_RESTOCKING, r2, r1 - 2),
	         SB_ECONFLICT);
	CHECK_RC(box,
	         bk->move_if(st, bank, a, tok, SB_STATE_RESTOCKING,
	                     SB_STATE_RESTOCKING, r2, r1),
	         SB_OK);
	memset(&x, 0, sizeof x);
	CHECK_RC(box, bk->list(st, bank, SB_STATE_RESTOCKING, 0, list_cb, &x),
	         SB_OK);
	CHECK(box, x.n == 1 && x.ms == r2);
	CHECK_RC(box,
	         bk->move_if(st, bank, a, tok,
	                     SB_STATE_RESTOCKING | SB_STATE_RETIRING,
	                     SB_STATE_AVAILABLE, 0, r1),
	         SB_ECONFLICT); /* the client's last step, taken over */
	CHECK(box, !in_table(bank, a) && until_of(held_table, a) == r2);
	CHECK_RC(box,
	         bk->move_if(st, bank, a, tok, SB_STATE_RESTOCKING,
	                     SB_STATE_AVAILABLE, 0, r2),
	         SB_OK);
	CHECK(box, in_table(bank, a) && until_of(held_table, a) == -2);
	stats_are(bank, 2, 0, 1, 0);

	/* Retiring with a stamp; into restocking with 0: no stamp. */
	CHECK_RC(box,
	         bk->move(st, bank, b, tok2, SB_STATE_ASSIGNED,
	                  SB_STATE_RETIRING, r2),
	         SB_OK);
	memset(&x, 0, sizeof x);
	CHECK_RC(box, bk->list(st, bank, SB_STATE_RETIRING, 0, list_cb, &x),
	         SB_OK);
	CHECK(box, x.n == 1 && x.state == SB_STATE_RETIRING && x.ms == r2);
	CHECK_RC(box,
	         bk->move(st, bank, b, tok2, SB_STATE_RETIRING,
	                  SB_STATE_RESTOCKING, 0),
	         SB_OK);
	CHECK(box, until_of(held_table, b) == -1);
	memset(&x, 0, sizeof x);
	CHECK_RC(box, bk->list(st, bank, SB_STATE_RESTOCKING, 0, list_cb, &x),
	         SB_OK);
	CHECK(box, x.n == 1 && x.ms == 0);
	CHECK_RC(box,
	         bk->move_if(st, bank, b, tok2, SB_STATE_RESTOCKING,
	                     SB_STATE_RETIRED, 0, 0),
	         SB_OK);
	stats_are(bank, 2, 0, 0, 1);

	/* A hold's stamp is its deadline. */
	CHECK_RC(box, bk->take_held(&it, st, bank, tok, until), SB_OK);
	if (it)
		c = t_xstrdup(sb_item_value(it));
	sb_item_free(it);
	it = NULL;
	if (!CHECK(box, c != NULL))
		goto out;
	CHECK_RC(box,
	         bk->move_if(st, bank, c, tok, SB_STATE_HELD, SB_STATE_HELD,
	                     until + 5, until - 1),
	         SB_ECONFLICT);
	CHECK_RC(box,
	         bk->move_if(st, bank, c, tok, SB_STATE_HELD, SB_STATE_HELD,
	                     until + 5, until),
	         SB_OK);
	memset(&x, 0, sizeof x);
	CHECK_RC(box, bk->list(st, bank, SB_STATE_HELD, INT64_MAX, list_cb, &x),
	         SB_OK);
	CHECK(box, x.n == 1 && x.ms == until + 5);
	/* Reclaim step 1 takes a hold whose deadline has come by the
	 * clients' clock, never one that a stale listing named but the id
	 * holds anew with a later deadline. */
	CHECK_RC(box,
	         bk->move(st, bank, c, tok, SB_STATE_HELD, SB_STATE_RECLAIMING,
	                  0),
	         SB_ECONFLICT);
	CHECK_RC(box,
	         bk->move_if(st, bank, c, tok, SB_STATE_HELD,
	                     SB_STATE_RECLAIMING, 0, until + 5),
	         SB_ECONFLICT);
	CHECK_RC(box,
	         bk->move(st, bank, c, tok, SB_STATE_HELD, SB_STATE_HELD,
	                  sb_now_ms() - 1000),
	         SB_OK);
	CHECK_RC(box,
	         bk->move(st, bank, c, tok, SB_STATE_HELD, SB_STATE_RECLAIMING,
	                  0),
	         SB_OK);
	stats_are(bank, 1, 1, 0, 1);
out:
	free(a);
	free(b);
	free(c);
	free(held_table);
	free(bank);
}

/* Tables written by the release of holds, before stamps: a restock and
 * a retire whose clients died after their marks, and a reservation in
 * flight, none with a stamp (no `until`). Used as they are: each carries
 * stamp 0, and a generic recover (which takes each over with move_if,
 * expecting the stamp listed) finishes them. */
static void before_stamps(const char *uri)
{
	char *bank = ddb_name("h-pre"), *ledger = ddb_name("h-pre-l");
	char *held_table = t_xasprintf("%s.held", bank);
	sb_box *gen = ddb_open_uri(uri, SB_PROTOCOL_GENERIC);
	const char *recs[3][3] = { { "s1", "restocking", "ann" },
		                   { "s2", "retiring", "bea" },
		                   { "s3", "reserved", "cid" } };
	sb_recover_result rr;
	sb_item *it = NULL;
	seen_t x;
	int i;

	if (!gen)
		goto out;
	CHECK_RC(box, sb_box_init(box, bank, ledger), SB_OK);
	orig_put_item(box, s, bank, "s4");
	for (i = 0; i < 3; i++) {
		char *j = t_xasprintf(
			"{\"TableName\":\"%s\",\"Item\":{\"item\":{\"S\":"
			"\"%s\"},\"state\":{\"S\":\"%s\"},\"token\":{\"S\":"
			"\"%s\\n%s\"},\"since\":{\"N\":\"1000\"}}}",
			held_table, recs[i][0], recs[i][1], ledger, recs[i][2]);
		CHECK_RC(box, raw("PutItem", j, NULL), SB_OK);
		free(j);
		if (i == 2)
			break; /* the reservation's id has no entry yet */
		j = t_xasprintf("{\"TableName\":\"%s\",\"Item\":{"
		                "\"deduplication_id\":{\"S\":\"%s\"},"
		                "\"item_string\":{\"S\":\"%s\"},"
		                "\"bank\":{\"S\":\"%s\"}}}",
		                ledger, recs[i][2], recs[i][0], bank);
		CHECK_RC(box, raw("PutItem", j, NULL), SB_OK);
		free(j);
	}
	memset(&x, 0, sizeof x);
	CHECK_RC(box,
	         box->bank_store->bank->list(box->bank_store, bank,
	                                     SB_STATE_RESTOCKING |
	                                             SB_STATE_RETIRING,
	                                     0, list_cb, &x),
	         SB_OK);
	CHECK(box, x.n == 2 && x.ms == 0);
	memset(&rr, 0, sizeof rr);
	CHECK_RC(gen, sb_box_recover(&rr, gen, bank, ledger, NULL), SB_OK);
	CHECKF(gen, rr.released == 2 && rr.settled == 1,
	       "recover: released %llu settled %llu",
	       (unsigned long long)rr.released, (unsigned long long)rr.settled);
	stats_are(bank, 2, 0, 1, 1);
	CHECK_RC(gen, sb_box_lookup(&it, gen, ledger, "ann"), SB_ENOTFOUND);
	CHECK_RC(gen, sb_box_lookup(&it, gen, ledger, "bea"), SB_ENOTFOUND);
	CHECK_RC(gen, sb_box_fetch(&it, gen, bank, ledger, "cid"), SB_OK);
	CHECK(gen,
	      it && !strcmp(sb_item_value(it), "s3") && !sb_item_is_new(it));
	sb_item_free(it);
	it = NULL;
	CHECK(box, until_of(held_table, "s3") == -1);
	/* ... and the tables go on, with stamps: ann holds and releases. */
	CHECK_RC(gen, sb_box_hold(&it, gen, bank, ledger, "ann", 60000), SB_OK);
	sb_item_free(it);
	CHECK_RC(gen, sb_box_release(gen, ledger, "ann", SB_RELEASE_RESTOCK),
	         SB_OK);
	stats_are(bank, 2, 0, 1, 1);
out:
	sb_box_close(gen);
	free(held_table);
	free(bank);
	free(ledger);
}

static uint64_t requests(void)
{
	sb_ddb_counters c;
	ddb_box_counters(box, &c, 1);
	return c.requests;
}

/* What was done since the last requests() cost @p want requests. */
static void cost_is(uint64_t want, const char *what)
{
	uint64_t n = requests();

	CHECKF(box, n == want, "%s cost %llu requests", what,
	       (unsigned long long)n);
}

static void request_counts(void)
{
	char *bank = ddb_name("h-req"), *ledger = ddb_name("h-req-dedup");
	const char *items[40];
	char names[40][8];
	sb_add_result ar;
	sb_item *it = NULL;
	uint64_t n;
	int i;

	for (i = 0; i < 40; i++) {
		snprintf(names[i], sizeof names[i], "Q-%d", i);
		items[i] = names[i];
	}
	CHECK_RC(box, sb_box_add(&ar, box, bank, items, 40), SB_OK);
	/* The first hold puts the holds marker (once per store and bank). */
	free(hold(box, bank, ledger, "q-first", 60000));
	requests();
	for (i = 0; i < 20; i++) {
		char id[16];
		snprintf(id, sizeof id, "q-%d", i);
		free(hold(box, bank, ledger, id, 60000));
	}
	n = requests();
	CHECKF(box, n <= 20 * 13 / 10, "20 holds cost %llu requests",
	       (unsigned long long)n);
	CHECK_RC(box, sb_box_confirm(box, ledger, "q-0"), SB_OK);
	cost_is(1, "a confirm");
	CHECK_RC(box, sb_box_extend(box, ledger, "q-1", 60000), SB_OK);
	n = requests();
	CHECKF(box, n == 1, "an extend cost %llu requests",
	       (unsigned long long)n);
	/* Sold out, holds live: Scan, BatchGetItem, one Query, and the
	 * bank read again (a lapsed hold put back meanwhile is in neither
	 * the first Scan nor the Query: lapse_put_back_at_sellout). */
	for (i = 0; i < 19; i++) {
		char id[16];
		snprintf(id, sizeof id, "q-rest-%d", i);
		CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, id), SB_OK);
		sb_item_free(it);
		it = NULL;
	}
	CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, "q-none"), SB_EMPTY);
	requests();
	CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, "q-none2"),
	         SB_EMPTY);
	cost_is(4, "sell-out with holds");
	free(bank);
	free(ledger);
}

/* Five holds confirmed, one not (the latest deadline: behind the five in
 * the deadline index), on a store that reads the index 2 at a time. */
static void confirmed_records(const char *uri)
{
	char *bank = ddb_name("h-conf"), *ledger = ddb_name("h-conf-dedup");
	char *held_table = t_xasprintf("%s.held", bank);
	char *luri = t_xasprintf("%s%sscan_limit=2", uri,
	                         strchr(uri, '?') ? "&" : "?");
	sb_box *b2 = ddb_open_uri(luri, SB_PROTOCOL_AUTO);
	const char *items[6] = { "C-0", "C-1", "C-2", "C-3", "C-4", "C-5" };
	char *got[6] = { 0 }, *walk = NULL;
	sb_add_result ar;
	sb_item *it = NULL;
	int i;

	if (!b2)
		goto out;
	CHECK_RC(box, sb_box_add(&ar, box, bank, items, 6), SB_OK);
	for (i = 0; i < 5; i++) {
		char id[16];
		snprintf(id, sizeof id, "c-%d", i);
		got[i] = hold(box, bank, ledger, id, 60000 + i);
	}
	walk = hold(box, bank, ledger, "walk", 60100);
	requests();
	CHECK_RC(box, sb_box_confirm(box, ledger, "c-0"), SB_OK);
	cost_is(1, "a confirm");
	for (i = 1; i < 5; i++) {
		char id[16];
		snprintf(id, sizeof id, "c-%d", i);
		CHECK_RC(box, sb_box_confirm(box, ledger, id), SB_OK);
	}
	/* The records still say held; the entries decide. */
	for (i = 0; i < 5; i++)
		CHECK(box, got[i] && until_of(held_table, got[i]) > 0);
	stats_are(bank, 0, 1, 5, 0);
	CHECK_RC(box, sb_box_hold(&it, box, bank, ledger, "c-0", 1000), SB_OK);
	CHECK(box, it && got[0] && strcmp(sb_item_value(it), got[0]) == 0 &&
	                   sb_item_expires_ms(it) == 0);
	sb_item_free(it);
	it = NULL;

	/* Every deadline passed: the five look lapsed in the index. */
	sb__clock_shift(120000);
	stats_are(bank, 0, 1, 5, 0);
	CHECK_RC(b2, sb_box_hold(&it, b2, bank, ledger, "late", 60000), SB_OK);
	CHECK(b2, it && walk && strcmp(sb_item_value(it), walk) == 0);
	sb_item_free(it);
	it = NULL;
	for (i = 0; i < 5; i++) /* settled on the way: assigned */
		CHECK(box, got[i] && until_of(held_table, got[i]) == -1);
	CHECK_RC(b2, sb_box_hold(&it, b2, bank, ledger, "later", 60000),
	         SB_EMPTY);
	CHECK_RC(box, sb_box_confirm(box, ledger, "walk"), SB_ENOTFOUND);
	CHECK_RC(box, sb_box_confirm(box, ledger, "c-3"), SB_OK);
	stats_are(bank, 0, 1, 5, 0);
	sb__clock_shift(-120000);
out:
	for (i = 0; i < 6; i++)
		free(got[i]);
	free(walk);
	sb_box_close(b2);
	free(luri);
	free(held_table);
	free(bank);
	free(ledger);
}

typedef struct {
	const char *id;
	int n;
	int64_t until;
} ext_seen;

static int ext_cb(const char *dedup_id, const char *bank, const char *item,
                  int64_t expires_ms, void *payload)
{
	ext_seen *x = payload;
	(void)bank;
	(void)item;
	if (strcmp(dedup_id, x->id) == 0) {
		x->n++;
		x->until = expires_ms;
	}
	return 0;
}

static int64_t hold_until(sb_box *b, const char *bank, const char *ledger,
                          const char *id, int64_t ttl, char **value)
{
	sb_item *it = NULL;
	int64_t u = 0;

	*value = NULL;
	CHECK_RC(b, sb_box_hold(&it, b, bank, ledger, id, ttl), SB_OK);
	if (it) {
		*value = t_xstrdup(sb_item_value(it));
		u = sb_item_expires_ms(it);
	}
	sb_item_free(it);
	return u;
}

/* Two holds of 1 s, one extended to a minute: its record keeps the old
 * deadline, the ledger entry has the new one and decides. A hold of a
 * minute cut to 1 s: its record's deadline follows. */
static void extended_records(void)
{
	char *bank = ddb_name("h-ext"), *ledger = ddb_name("h-ext-dedup");
	char *held_table = t_xasprintf("%s.held", bank);
	const char *items[3] = { "X-0", "X-1", "X-2" };
	char *ext = NULL, *walk = NULL, *cut = NULL;
	ext_seen seen = { "ext", 0, 0 }, cut_seen = { "cut", 0, 0 };
	sb_recover_result rr;
	sb_add_result ar;
	sb_item *it = NULL;
	int64_t u0, d1, d2;
	uint64_t n;

	CHECK_RC(box, sb_box_add(&ar, box, bank, items, 3), SB_OK);
	u0 = hold_until(box, bank, ledger, "ext", 1000, &ext);
	(void)hold_until(box, bank, ledger, "walk", 1000, &walk);
	CHECK_RC(box, sb_box_extend(box, ledger, "ext", 60000), SB_OK);
	CHECK(box, ext && until_of(held_table, ext) == u0);
	CHECK_RC(box, sb_box_export_holds(box, ledger, ext_cb, &seen), SB_OK);
	d1 = seen.until;
	CHECKF(box, seen.n == 1 && d1 >= u0 + 59000,
	       "export_holds: %d, until %lld (held until %lld)", seen.n,
	       (long long)d1, (long long)u0);
	/* The hold, asked again, answers with the entry's deadline. */
	CHECK_RC(box, sb_box_hold(&it, box, bank, ledger, "ext", 1000), SB_OK);
	CHECK(box, it && ext && strcmp(sb_item_value(it), ext) == 0 &&
	                   sb_item_expires_ms(it) == d1);
	sb_item_free(it);
	it = NULL;
	(void)hold_until(box, bank, ledger, "cut", 60000, &cut);
	requests();
	CHECK_RC(box, sb_box_extend(box, ledger, "cut", 1000), SB_OK);
	n = requests();
	CHECKF(box, n == 2,
	       "an extend to an earlier deadline cost %llu "
	       "requests",
	       (unsigned long long)n);
	CHECK_RC(box, sb_box_export_holds(box, ledger, ext_cb, &cut_seen),
	         SB_OK);
	CHECKF(box,
	       cut && cut_seen.n == 1 &&
	               until_of(held_table, cut) == cut_seen.until,
	       "cut: the record's deadline %lld, the entry's %lld",
	       (long long)(cut ? until_of(held_table, cut) : 0),
	       (long long)cut_seen.until);

	/* Three records look lapsed in the index; "walk" and "cut" are. */
	sb__clock_shift(5000);
	stats_are(bank, 0, 3, 0, 0);
	CHECK_RC(box, sb_box_hold(&it, box, bank, ledger, "late", 600000),
	         SB_OK);
	CHECK(box, it && walk && strcmp(sb_item_value(it), walk) == 0);
	sb_item_free(it);
	it = NULL;
	CHECK_RC(box, sb_box_hold(&it, box, bank, ledger, "later", 600000),
	         SB_OK);
	CHECK(box, it && cut && strcmp(sb_item_value(it), cut) == 0);
	sb_item_free(it);
	it = NULL;
	CHECK_RC(box, sb_box_hold(&it, box, bank, ledger, "latest", 60000),
	         SB_EMPTY);
	CHECKF(box, ext && until_of(held_table, ext) == d1,
	       "the record follows the entry: %lld, entry %lld",
	       (long long)(ext ? until_of(held_table, ext) : 0), (long long)d1);

	/* Extended again; past the record's deadline, recover leaves it. */
	CHECK_RC(box, sb_box_extend(box, ledger, "ext", 120000), SB_OK);
	seen.n = 0;
	CHECK_RC(box, sb_box_export_holds(box, ledger, ext_cb, &seen), SB_OK);
	d2 = seen.until;
	CHECK(box, seen.n == 1 && d2 > d1 && until_of(held_table, ext) == d1);
	sb__clock_shift(60000);
	memset(&rr, 0, sizeof rr);
	CHECK_RC(box, sb_box_recover(&rr, box, bank, ledger, NULL), SB_OK);
	CHECKF(box, rr.lapsed == 0, "recover reclaimed %llu live holds",
	       (unsigned long long)rr.lapsed);
	CHECK(box, ext && until_of(held_table, ext) == d2);
	stats_are(bank, 0, 3, 0, 0);
	CHECK_RC(box, sb_box_confirm(box, ledger, "ext"), SB_OK);
	/* Confirmed: an extend answers as before, for good. */
	CHECK_RC(box, sb_box_extend(box, ledger, "ext", 1000), SB_OK);
	stats_are(bank, 0, 2, 1, 0);
	sb__clock_shift(-65000);
	free(ext);
	free(walk);
	free(cut);
	free(held_table);
	free(bank);
	free(ledger);
}

#if SB_TEST_FAULTS
static struct {
	sb_box *other;
	const char *ledger;
	int hits, rc;
} lp;

/* At the claim's step between "no available item" and the search for
 * lapsed holds: the holder confirms too late, and its lapsed hold goes
 * back into the bank. */
static int lapse_hook(const char *point, void *payload)
{
	(void)payload;
	if (strcmp(point, SB_DDB_FAULT_CLAIM_LAPSED) != 0 || lp.hits++)
		return 0;
	lp.rc = sb_box_confirm(lp.other, lp.ledger, "holder");
	return 0;
}

static void lapse_put_back_at_sellout(const char *uri)
{
	char *bank = ddb_name("h-pb"), *ledger = ddb_name("h-pb-dedup");
	const char *items[] = { "PB-1" };
	sb_add_result ar;
	sb_item *it = NULL;
	char *v;
	int rc;

	lp.other = ddb_open_uri(uri, SB_PROTOCOL_AUTO);
	lp.ledger = ledger;
	lp.hits = 0;
	lp.rc = SB_OK;
	CHECK_RC(box, sb_box_add(&ar, box, bank, items, 1), SB_OK);
	v = hold(box, bank, ledger, "holder", 1000);
	sb__clock_shift(5000);
	sb__fault_set_hook(lapse_hook, NULL);
	rc = sb_box_hold(&it, box, bank, ledger, "other", 60000);
	sb__fault_set_hook(NULL, NULL);
	sb__clock_shift(-5000);
	CHECKF(box, lp.hits == 1, "the claim passed its point %d times",
	       lp.hits);
	CHECK_RC(lp.other, lp.rc, SB_EEXPIRED);
	CHECKF(box,
	       rc == SB_OK && it && v && strcmp(sb_item_value(it), v) == 0 &&
	               sb_item_is_new(it),
	       "a claim at sell-out, the lapsed hold put back meanwhile: %d "
	       "%s",
	       rc, it ? sb_item_value(it) : "-");
	stats_are(bank, 0, 1, 0, 0);
	sb_item_free(it);
	sb_box_close(lp.other);
	free(v);
	free(bank);
	free(ledger);
}
#endif

int main(void)
{
	const char *uri = t_env_need("SB_TEST_DYNAMODB_URI");

	box = ddb_open_uri(uri, SB_PROTOCOL_AUTO);
	if (!box)
		return t_summary();
	s = ddb_store_of(box);
	python_never_picks_held();
	upgrade_from_010();
	law6_after_release();
	generic_hold_fused_recover(uri);
	request_counts();
	confirmed_records(uri);
	extended_records();
	stamps();
	before_stamps(uri);
#if SB_TEST_FAULTS
	lapse_put_back_at_sellout(uri);
#endif
	sb_box_close(box);
	return t_summary();
}
