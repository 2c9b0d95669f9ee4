/* The SQLite backend's holds, slot by slot, at times the test chooses:
 * the fused hold, change and reclaim (with @p now_ms far ahead of the
 * real clock, which they take when it is later), and the generic slots of
 * version 2 and 3 (whose clock is the real one: deadlines in the past or
 * far ahead). The conformance suite covers the same through the core; this
 * pins the backend's own choices: the ledger entry decides over the
 * bank's copy of a deadline, a lapsed hold is reclaimed only when the
 * bank has no available item, and the claim is a hold for good. */
#include "sq_test.h"

#include <stdio.h>
#include <string.h>

#define HOUR (3600LL * 1000)

static sb_store *st;
static sb_box *mb; /* messages of the store */
static int64_t T;  /* the test's now for fused steps: far ahead */

static const char *tok(const char *ledger, const char *id)
{
	static char buf[8][128];
	static int n;
	char *b = buf[n++ % 8];

	snprintf(b, 128, "%s\n%s", ledger, id);
	return b;
}

static void add(const char *bank, int from, int to)
{
	char names[16][32];
	const char *items[16];
	uint64_t added = 0, skipped = 0;
	int i;

	for (i = from; i < to; i++) {
		snprintf(names[i - from], 32, "%s%d", bank, i);
		items[i - from] = names[i - from];
	}
	CHECK_RC(mb,
	         st->bank->add(&added, &skipped, st, bank, items,
	                       (size_t)(to - from)),
	         SB_OK);
	CHECK(mb, added == (uint64_t)(to - from) && skipped == 0);
}

static sb_bank_counts counts(const char *bank)
{
	sb_bank_counts c;

	CHECK_RC(mb, st->bank->count(&c, st, bank), SB_OK);
	return c;
}

/* hold through the store; returns the item (caller frees) or NULL. */
static sb_item *hold(const char *bank, const char *ledger, const char *id,
                     int64_t now, int64_t ttl, int want)
{
	sb_item *it = NULL;

	CHECK_RC(mb,
	         st->ops->hold(&it, st, bank, ledger, id, tok(ledger, id), now,
	                       ttl),
	         want);
	return it;
}

static int change(const char *ledger, const char *id, unsigned int op,
                  int64_t now, int64_t ttl, int64_t *expires)
{
	sb_item *it = NULL;
	int rc = st->ops->change(&it, st, ledger, id, tok(ledger, id), op, now,
	                         ttl);

	if (expires)
		*expires = it ? sb_item_expires_ms(it) : -1;
	sb_item_free(it);
	return rc;
}

static int count_cb(const char *id, const char *bank, const char *item,
                    void *payload)
{
	(void)id, (void)bank, (void)item;
	++*(int *)payload;
	return 0;
}

static int holds_cb(const char *id, const char *bank, const char *item,
                    int64_t ms, void *payload)
{
	(void)id, (void)bank, (void)item, (void)ms;
	++*(int *)payload;
	return 0;
}

static int n_export(const char *ledger)
{
	int n = 0;
	CHECK_RC(mb, st->ledger->export(st, ledger, count_cb, &n), SB_OK);
	return n;
}

static int n_holds(const char *ledger)
{
	int n = 0;
	CHECK_RC(mb, st->ledger->export_holds(st, ledger, holds_cb, &n), SB_OK);
	return n;
}

static uint64_t n_ledger(const char *ledger, const char *bank)
{
	uint64_t n = 0;
	CHECK_RC(mb, st->ledger->count(&n, st, ledger, bank), SB_OK);
	return n;
}

static void fused_basic(void)
{
	sb_item *it, *again;
	sb_bank_counts c;
	int64_t exp = 0;
	uint64_t added = 0, skipped = 0;
	const char *one[1];
	char value[64];

	add("b", 0, 4);
	it = hold("b", "L", "x", T, 1000, SB_OK);
	CHECK(mb,
	      it && sb_item_is_new(it) && sb_item_expires_ms(it) == T + 1000);
	again = hold("b", "L", "x", T + 500, 1000, SB_OK);
	CHECK(mb, again && !sb_item_is_new(again) &&
	                  sb_item_expires_ms(again) == T + 1000 &&
	                  strcmp(sb_item_value(it), sb_item_value(again)) == 0);
	sb_item_free(again);
	/* claim (version 1 callers): the live hold, unchanged */
	CHECK_RC(mb,
	         st->ops->claim(&again, st, "b", "L", "x", tok("L", "x"),
	                        T + 500),
	         SB_OK);
	CHECK(mb,
	      again && strcmp(sb_item_value(it), sb_item_value(again)) == 0 &&
	              sb_item_expires_ms(again) == T + 1000);
	sb_item_free(again);
	c = counts("b");
	CHECK(mb, c.available == 3 && c.on_hold == 1 && c.assigned == 0);
	CHECK(mb, n_export("L") == 0 && n_holds("L") == 1 &&
	                  n_ledger("L", "b") == 1);

	CHECK_RC(mb, change("L", "x", SB_CHANGE_CONFIRM, T + 999, 0, &exp),
	         SB_OK);
	CHECK(mb, exp == 0);
	c = counts("b");
	CHECK(mb, c.assigned == 1 && c.on_hold == 0);
	CHECK(mb, n_export("L") == 1 && n_holds("L") == 0);
	/* an entry for good stays so */
	CHECK_RC(mb, change("L", "x", SB_CHANGE_CONFIRM, T + 5000, 0, &exp),
	         SB_OK);
	CHECK_RC(mb, change("L", "x", SB_CHANGE_EXTEND, T + 5000, 10, &exp),
	         SB_OK);
	CHECK(mb, exp == 0);

	/* extend, then a confirm at the new deadline is too late */
	sb_item_free(hold("b", "L", "y", T, 100, SB_OK));
	CHECK_RC(mb, change("L", "y", SB_CHANGE_EXTEND, T + 50, 1000, &exp),
	         SB_OK);
	CHECK(mb, exp == T + 1050);
	CHECK_RC(mb, change("L", "y", SB_CHANGE_CONFIRM, T + 1050, 0, NULL),
	         SB_EEXPIRED);
	c = counts("b");
	CHECK(mb, c.available == 3 && c.on_hold == 0 && c.assigned == 1);
	CHECK_RC(mb, change("L", "y", SB_CHANGE_CONFIRM, T + 1050, 0, NULL),
	         SB_ENOTFOUND);

	/* release: once */
	sb_item_free(hold("b", "L", "z", T, 1000, SB_OK));
	CHECK_RC(mb, change("L", "z", SB_CHANGE_RESTOCK, T + 1, 0, NULL),
	         SB_OK);
	CHECK_RC(mb, change("L", "z", SB_CHANGE_RESTOCK, T + 1, 0, NULL),
	         SB_ENOTFOUND);
	c = counts("b");
	CHECK(mb, c.available == 3 && c.on_hold == 0);
	/* a release of a lapsed hold: too late, the item goes back */
	sb_item_free(hold("b", "L", "w", T, 1000, SB_OK));
	CHECK_RC(mb, change("L", "w", SB_CHANGE_RETIRE, T + 1000, 0, NULL),
	         SB_EEXPIRED);
	c = counts("b");
	CHECK(mb, c.available == 3 && c.retired == 0);

	/* retire for good: add skips the item */
	snprintf(value, sizeof value, "%s", sb_item_value(it));
	CHECK_RC(mb, change("L", "x", SB_CHANGE_RETIRE, T + 1, 0, NULL), SB_OK);
	c = counts("b");
	CHECK(mb, c.retired == 1 && c.assigned == 0 && c.available == 3);
	one[0] = value;
	CHECK_RC(mb, st->bank->add(&added, &skipped, st, "b", one, 1), SB_OK);
	CHECK(mb, added == 0 && skipped == 1);
	sb_item_free(it);
}

/* The bank empty: a hold reclaims the first lapsed hold, of any ledger,
 * and never before its deadline. */
static void fused_lapse(void)
{
	sb_item *p, *q, *r, *e = NULL;
	sb_bank_counts c;
	uint64_t n = 9;
	const char *lost;

	add("c", 0, 2);
	p = hold("c", "L1", "p", T, 100, SB_OK);
	q = hold("c", "L2", "q", T + 1, 100, SB_OK);
	CHECK(mb, p && q);
	/* both live: empty, and nothing can come back on its own */
	r = hold("c", "L1", "r", T + 50, 100, SB_EMPTY_SETTLED);
	CHECK(mb, r == NULL);
	/* p lapsed at T + 100: r gets its item, p's entry is gone */
	r = hold("c", "L1", "r", T + 100, 100, SB_OK);
	CHECK(mb, r && sb_item_is_new(r) &&
	                  strcmp(sb_item_value(r), sb_item_value(p)) == 0);
	CHECK_RC(mb, st->ledger->get(&e, st, "L1", "p"), SB_ENOTFOUND);
	CHECK_RC(mb, change("L1", "p", SB_CHANGE_CONFIRM, T + 100, 0, NULL),
	         SB_ENOTFOUND);
	/* q lapsed too (T + 101), unreclaimed: still on hold */
	c = counts("c");
	CHECK(mb, c.on_hold == 2 && c.available == 0);
	CHECK_RC(mb, st->ops->reclaim(&n, st, "c", T + 200), SB_OK);
	CHECK(mb, n == 2);
	c = counts("c");
	CHECK(mb, c.available == 2 && c.on_hold == 0);
	CHECK_RC(mb, st->ops->reclaim(&n, st, "c", T + 200), SB_OK);
	CHECK(mb, n == 0);
	CHECK_RC(mb, st->ops->reclaim(&n, st, "no-such-bank", T), SB_ENOTFOUND);

	/* an id whose hold lapsed holds nothing: a fetch gets a new item */
	lost = sb_item_value(q);
	sb_item_free(r);
	r = hold("c", "L2", "s", T, 100, SB_OK);
	CHECK(mb, r != NULL);
	sb_item_free(r);
	r = hold("c", "L2", "s", T + 100, 0, SB_OK);
	CHECK(mb, r && sb_item_is_new(r) && sb_item_expires_ms(r) == 0);
	c = counts("c");
	CHECK(mb, c.assigned == 1 && c.on_hold == 0 && c.available == 1);
	(void)lost;
	sb_item_free(r);
	sb_item_free(p);
	sb_item_free(q);
}

static int list_cb(const char *item, const char *token, unsigned int state,
                   int64_t ms, void *payload)
{
	char *out = payload;
	size_t len = strlen(out);

	(void)token;
	snprintf(out + len, 512 - len, "%s:%u:%lld;", item, state,
	         (long long)ms);
	return 0;
}

static const char *list(const char *bank, unsigned int states, int64_t le)
{
	static char out[512];

	out[0] = '\0';
	CHECK_RC(mb, st->bank->list(st, bank, states, le, list_cb, out), SB_OK);
	return out;
}

/* The generic slots of version 2; their clock is the real one. */
static void generic(void)
{
	int64_t now = sb_now_ms();
	sb_item *it = NULL, *ex = NULL, *it2 = NULL;
	sb_bank_counts c;
	char want[256], item[64], item2[64];
	uint64_t added, skipped;
	const char *one[1];

	add("g", 0, 4);
	CHECK_RC(mb,
	         st->bank->take_held(&it, st, "g", tok("G", "a"), now + HOUR),
	         SB_OK);
	CHECK(mb, it && sb_item_expires_ms(it) == now + HOUR);
	snprintf(item, sizeof item, "%s", it ? sb_item_value(it) : "?");
	sb_item_free(it);
	CHECK_RC(mb,
	         st->ledger->put_held(&ex, st, "G", "a", "g", item, now + HOUR),
	         SB_OK);
	CHECK_RC(mb,
	         st->ledger->put_held(&ex, st, "G", "a", "g", item, now + HOUR),
	         SB_ECONFLICT);
	CHECK(mb, ex && sb_item_expires_ms(ex) == now + HOUR);
	sb_item_free(ex);
	ex = NULL;
	CHECK_RC(mb, st->ledger->put_if_absent(&ex, st, "G", "a", "g", "g3"),
	         SB_ECONFLICT);
	sb_item_free(ex);
	ex = NULL;
	CHECK(mb, n_ledger("G", "g") == 1 && n_holds("G") == 1 &&
	                  n_export("G") == 0);

	CHECK_RC(mb, st->ledger->update(&it, st, "G", "a", now + 2 * HOUR),
	         SB_OK);
	CHECK(mb, it && sb_item_expires_ms(it) == now + 2 * HOUR);
	sb_item_free(it);
	snprintf(want, sizeof want, "%s:%u:%lld;", item, SB_STATE_HELD,
	         (long long)(now + HOUR)); /* the bank's copy: not moved */
	CHECK_STR(mb, list("g", SB_STATE_HELD, INT64_MAX), want);
	CHECK_STR(mb, list("g", SB_STATE_HELD, now), "");
	CHECK_RC(mb,
	         st->bank->move(st, "g", item, tok("G", "a"), SB_STATE_HELD,
	                        SB_STATE_HELD, now + 2 * HOUR),
	         SB_OK);
	CHECK_RC(mb, st->ledger->update(&it, st, "G", "a", 0), SB_OK);
	CHECK(mb, it && sb_item_expires_ms(it) == 0);
	sb_item_free(it);
	CHECK_RC(mb, st->ledger->update(&it, st, "G", "a", now + 1), SB_OK);
	CHECK(mb, it && sb_item_expires_ms(it) == 0); /* for good stays */
	sb_item_free(it);
	CHECK_RC(mb,
	         st->bank->move(st, "g", item, tok("G", "a"), SB_STATE_HELD,
	                        SB_STATE_ASSIGNED, 0),
	         SB_OK);
	CHECK_RC(mb,
	         st->bank->move(st, "g", item, tok("G", "a"), SB_STATE_HELD,
	                        SB_STATE_ASSIGNED, 0),
	         SB_OK); /* already there */
	CHECK_RC(mb,
	         st->bank->move(st, "g", item, tok("G", "b"), SB_STATE_ASSIGNED,
	                        SB_STATE_RESTOCKING, 0),
	         SB_ECONFLICT); /* another token */
	CHECK_RC(mb,
	         st->bank->move(st, "g", "nope", tok("G", "a"),
	                        SB_STATE_ASSIGNED, SB_STATE_RESTOCKING, 0),
	         SB_ECONFLICT);
	CHECK_RC(mb,
	         st->bank->move(st, "no-bank", item, tok("G", "a"),
	                        SB_STATE_ASSIGNED, SB_STATE_RESTOCKING, 0),
	         SB_ECONFLICT);
	CHECK(mb, n_export("G") == 1 && n_holds("G") == 0);

	/* release: mark, remove (only of this item; modes), finish */
	CHECK_RC(mb,
	         st->bank->move(st, "g", item, tok("G", "a"),
	                        SB_STATE_ASSIGNED | SB_STATE_HELD,
	                        SB_STATE_RETIRING, 0),
	         SB_OK);
	snprintf(want, sizeof want, "%s:%u:0;", item, SB_STATE_RETIRING);
	CHECK_STR(mb, list("g", SB_STATE_RETIRING | SB_STATE_RESTOCKING, 0),
	          want);
	CHECK_STR(mb, list("g", SB_STATE_RECLAIMING, INT64_MAX), "");
	c = counts("g");
	CHECK(mb, c.reserved == 1 && c.assigned == 0 && c.available == 3);
	CHECK_RC(mb,
	         st->ledger->remove(&ex, st, "G", "a", "g", item,
	                            SB_REMOVE_LAPSED),
	         SB_ECONFLICT);
	CHECK(mb, ex && sb_item_expires_ms(ex) == 0);
	sb_item_free(ex);
	ex = NULL;
	CHECK_RC(mb,
	         st->ledger->remove(&ex, st, "G", "a", "g", "g3", SB_REMOVE_ANY),
	         SB_ENOTFOUND);
	CHECK_RC(mb,
	         st->ledger->remove(&ex, st, "G", "a", "g", item,
	                            SB_REMOVE_LIVE),
	         SB_OK);
	CHECK_RC(mb,
	         st->ledger->remove(&ex, st, "G", "a", "g", item, SB_REMOVE_ANY),
	         SB_ENOTFOUND);
	CHECK_RC(mb,
	         st->bank->move(st, "g", item, tok("G", "a"), SB_STATE_RETIRING,
	                        SB_STATE_RETIRED, 0),
	         SB_OK);
	c = counts("g");
	CHECK(mb, c.reserved == 0 && c.retired == 1 && c.available == 3);
	one[0] = item;
	CHECK_RC(mb, st->bank->add(&added, &skipped, st, "g", one, 1), SB_OK);
	CHECK(mb, added == 0 && skipped == 1);

	/* a lapsed entry: flagged by get, refused by update and remove
	 * (live), replaced by put_if_absent and put_held */
	CHECK_RC(mb, st->bank->take_held(&it2, st, "g", tok("G", "b"), now - 1),
	         SB_OK);
	snprintf(item2, sizeof item2, "%s", it2 ? sb_item_value(it2) : "?");
	sb_item_free(it2);
	CHECK_RC(mb,
	         st->ledger->put_held(&ex, st, "G", "b", "g", item2, now - 1),
	         SB_OK);
	CHECK_RC(mb, st->ledger->get(&it, st, "G", "b"), SB_OK);
	CHECK(mb, it && sb_item_expires_ms(it) == now - 1);
	sb_item_free(it);
	CHECK(mb, n_ledger("G", "g") == 0 && n_holds("G") == 0);
	CHECK_RC(mb, st->ledger->update(&it, st, "G", "b", now + HOUR),
	         SB_EEXPIRED);
	CHECK_RC(mb,
	         st->ledger->remove(&ex, st, "G", "b", "g", item2,
	                            SB_REMOVE_LIVE),
	         SB_EEXPIRED);
	CHECK_RC(mb, st->ledger->put_if_absent(&ex, st, "G", "b", "g", "g3"),
	         SB_OK);
	CHECK_RC(mb, st->ledger->get(&it, st, "G", "b"), SB_OK);
	CHECK(mb, it && sb_item_expires_ms(it) == 0 &&
	                  strcmp(sb_item_value(it), "g3") == 0);
	sb_item_free(it);
	/* the held item whose entry was replaced: reclaimed as an orphan */
	CHECK(mb, counts("g").on_hold == 1);
	{
		uint64_t n = 0;
		CHECK_RC(mb, st->ops->reclaim(&n, st, "g", now), SB_OK);
		CHECK(mb, n == 1);
	}
	CHECK(mb, counts("g").on_hold == 0);
	CHECK_RC(mb,
	         st->bank->list(st, "no-bank", SB_STATE_HELD, 0, list_cb, want),
	         SB_ENOTFOUND);
	CHECK_RC(mb, st->bank->take_held(&it, st, "no-bank", "t", now),
	         SB_ENOTFOUND);
}

static int since_cb(const char *item, const char *token, int64_t since_ms,
                    void *payload)
{
	(void)item;
	(void)token;
	*(int64_t *)payload = since_ms;
	return 0;
}

/* The since of the bank's one reservation (-1: none). */
static int64_t since_of(const char *bank)
{
	int64_t since = -1;

	CHECK_RC(mb, st->bank->reserved(st, bank, INT64_MAX, since_cb, &since),
	         SB_OK);
	return since;
}

/* The stamps of version 3 (move_if): kept in the deadline column of a
 * reserved, restocking or retiring row, each clause of backend.h. */
static void stamps(void)
{
	const int64_t S1 = 0x1234501, S2 = 0x1234502, C = 0x1234600;
	int64_t now = sb_now_ms(), since;
	const char *a = tok("S", "a"), *b = tok("S", "b");
	sb_item *it = NULL;
	char want[256], item[64];

	CHECK(mb, st->bank->move_if != NULL);
	add("s", 0, 4);
	/* take: stamp 0; a pass takes the reservation over (its stamp,
	 * a new since); the client's settle then conflicts */
	CHECK_RC(mb, st->bank->take(&it, st, "s", a, now - HOUR), SB_OK);
	snprintf(item, sizeof item, "%s", it ? sb_item_value(it) : "?");
	sb_item_free(it);
	it = NULL;
	CHECK(mb, since_of("s") == now - HOUR);
	CHECK_RC(mb,
	         st->bank->move_if(st, "s", item, a, SB_STATE_RESERVED,
	                           SB_STATE_RESERVED, S1, 1),
	         SB_ECONFLICT);
	CHECK_RC(mb,
	         st->bank->move_if(st, "s", item, a, SB_STATE_RESERVED,
	                           SB_STATE_RESERVED, S1, 0),
	         SB_OK);
	since = since_of("s");
	CHECK(mb, since >= now && since <= sb_now_ms());
	CHECK_RC(mb, st->bank->settle(st, "s", item, a), SB_ECONFLICT);
	CHECK_RC(mb,
	         st->bank->move_if(st, "s", item, a, SB_STATE_RESERVED,
	                           SB_STATE_RESERVED, S2, 0),
	         SB_ECONFLICT);
	/* move into reserved with 0 keeps the stamp */
	CHECK_RC(mb,
	         st->bank->move(st, "s", item, a, SB_STATE_RESERVED,
	                        SB_STATE_RESERVED, 0),
	         SB_OK);
	CHECK_RC(mb,
	         st->bank->move_if(st, "s", item, b, SB_STATE_RESERVED,
	                           SB_STATE_ASSIGNED, 0, S1),
	         SB_ECONFLICT); /* another token */
	CHECK_RC(mb,
	         st->bank->move_if(st, "s", item, a, SB_STATE_RESERVED,
	                           SB_STATE_ASSIGNED, 0, S1),
	         SB_OK);
	CHECK_RC(mb, st->bank->settle(st, "s", item, a), SB_OK); /* again */
	CHECK_RC(mb,
	         st->bank->move_if(st, "s", item, a, SB_STATE_ASSIGNED,
	                           SB_STATE_RESTOCKING, C, 0),
	         SB_ECONFLICT); /* assigned has no stamp */

	/* a reservation put back leaves no stamp behind */
	CHECK_RC(mb, st->bank->take(&it, st, "s", b, now), SB_OK);
	snprintf(item, sizeof item, "%s", it ? sb_item_value(it) : "?");
	sb_item_free(it);
	it = NULL;
	CHECK_RC(mb,
	         st->bank->move_if(st, "s", item, b, SB_STATE_RESERVED,
	                           SB_STATE_RESERVED, S1, 0),
	         SB_OK);
	CHECK_RC(mb, st->bank->put_back(st, "s", item, b), SB_OK);
	CHECK_RC(mb, st->bank->take(&it, st, "s", b, now), SB_OK);
	CHECK(mb, it && strcmp(sb_item_value(it), item) == 0);
	sb_item_free(it);
	it = NULL;
	CHECK_RC(mb, st->bank->settle(st, "s", item, b), SB_OK);

	/* a release: the mark's stamp, listed; a pass takes it over; only
	 * the current stamp finishes it */
	CHECK_RC(mb,
	         st->bank->move(st, "s", item, b, SB_STATE_ASSIGNED,
	                        SB_STATE_RESTOCKING, C),
	         SB_OK);
	snprintf(want, sizeof want, "%s:%u:%lld;", item, SB_STATE_RESTOCKING,
	         (long long)C);
	CHECK_STR(mb, list("s", SB_STATE_RESTOCKING, 0), want);
	CHECK_RC(mb,
	         st->bank->move_if(st, "s", item, b, SB_STATE_RESTOCKING,
	                           SB_STATE_RESTOCKING, S2, C),
	         SB_OK);
	snprintf(want, sizeof want, "%s:%u:%lld;", item, SB_STATE_RESTOCKING,
	         (long long)S2);
	CHECK_STR(mb, list("s", SB_STATE_RESTOCKING, 0), want);
	CHECK_RC(mb,
	         st->bank->move_if(st, "s", item, b, SB_STATE_RESTOCKING,
	                           SB_STATE_AVAILABLE, 0, C),
	         SB_ECONFLICT);
	CHECK_RC(mb,
	         st->bank->move_if(st, "s", item, b, SB_STATE_RESTOCKING,
	                           SB_STATE_RETIRING, S1, S2),
	         SB_OK);
	snprintf(want, sizeof want, "%s:%u:%lld;", item, SB_STATE_RETIRING,
	         (long long)S1);
	CHECK_STR(mb, list("s", SB_STATE_RETIRING, 0), want);
	CHECK_RC(mb,
	         st->bank->move_if(st, "s", item, b, SB_STATE_RETIRING,
	                           SB_STATE_AVAILABLE, 0, S1),
	         SB_OK);
	CHECK(mb, counts("s").available == 3);

	/* a mark without a stamp lists 0 and matches 0 */
	CHECK_RC(mb, st->bank->take_held(&it, st, "s", a, now + HOUR), SB_OK);
	snprintf(item, sizeof item, "%s", it ? sb_item_value(it) : "?");
	sb_item_free(it);
	it = NULL;
	/* a hold's stamp is its deadline */
	CHECK_RC(mb,
	         st->bank->move_if(st, "s", item, a, SB_STATE_HELD,
	                           SB_STATE_HELD, now + 2 * HOUR, now),
	         SB_ECONFLICT);
	CHECK_RC(mb,
	         st->bank->move_if(st, "s", item, a, SB_STATE_HELD,
	                           SB_STATE_HELD, now + 2 * HOUR, now + HOUR),
	         SB_OK);
	/* held -> reclaiming only once lapsed */
	CHECK_RC(mb,
	         st->bank->move(st, "s", item, a, SB_STATE_HELD,
	                        SB_STATE_RECLAIMING, 0),
	         SB_ECONFLICT);
	CHECK_RC(mb,
	         st->bank->move(st, "s", item, a, SB_STATE_HELD,
	                        SB_STATE_RESTOCKING, 0),
	         SB_OK);
	snprintf(want, sizeof want, "%s:%u:0;", item, SB_STATE_RESTOCKING);
	CHECK_STR(mb, list("s", SB_STATE_RESTOCKING, 0), want);
	CHECK_RC(mb,
	         st->bank->move_if(st, "s", item, a, SB_STATE_RESTOCKING,
	                           SB_STATE_AVAILABLE, 0, 0),
	         SB_OK);
	CHECK_RC(mb, st->bank->take_held(&it, st, "s", a, now - 1), SB_OK);
	snprintf(item, sizeof item, "%s", it ? sb_item_value(it) : "?");
	sb_item_free(it);
	CHECK_RC(mb,
	         st->bank->move(st, "s", item, a, SB_STATE_HELD,
	                        SB_STATE_RECLAIMING, 0),
	         SB_OK);
	CHECK_RC(mb,
	         st->bank->move_if(st, "no-bank", item, a, SB_STATE_RECLAIMING,
	                           SB_STATE_AVAILABLE, 0, now - 1),
	         SB_ECONFLICT);
	CHECK_RC(mb,
	         st->bank->move_if(st, "s", item, a, SB_STATE_RECLAIMING,
	                           SB_STATE_AVAILABLE, 0, now - 1),
	         SB_OK);
	CHECK(mb, counts("s").available == 3);
}

/* The ledger decides over the bank's copy of a deadline: a hold extended
 * or confirmed in the ledger only (a generic step cut short) is not
 * reclaimed; the item follows the entry. */
static void stale_copy(void)
{
	int64_t now = sb_now_ms();
	sb_item *a = NULL, *b = NULL, *ex = NULL;
	char va[64], want[128];
	uint64_t n = 9;

	add("h", 0, 3);
	CHECK_RC(mb, st->bank->take_held(&a, st, "h", tok("H", "a"), now - 10),
	         SB_OK);
	snprintf(va, sizeof va, "%s", a ? sb_item_value(a) : "?");
	CHECK_RC(mb,
	         st->ledger->put_held(&ex, st, "H", "a", "h", va, now + HOUR),
	         SB_OK);
	CHECK_RC(mb, st->bank->take_held(&b, st, "h", tok("H", "b"), now - 10),
	         SB_OK);
	CHECK_RC(mb,
	         st->ledger->put_if_absent(&ex, st, "H", "b", "h",
	                                   b ? sb_item_value(b) : "?"),
	         SB_OK);
	CHECK_RC(mb, st->ops->reclaim(&n, st, "h", now), SB_OK);
	CHECK(mb, n == 0);
	snprintf(want, sizeof want, "%s:%u:%lld;", va, SB_STATE_HELD,
	         (long long)(now + HOUR));
	CHECK_STR(mb, list("h", SB_STATE_HELD, INT64_MAX), want);
	CHECK(mb, counts("h").assigned == 1 && counts("h").on_hold == 1);
	sb_item_free(a);
	sb_item_free(b);
}

int main(int argc, char **argv)
{
	char buf[512];
	const char *path = sq_fresh(buf, sizeof buf,
	                            argc > 1 ? argv[1] : "sqlite-holds");

	st = sq_open_store(path, &mb);
	if (!CHECK(NULL, st != NULL))
		return t_summary();
	CHECK(mb, st->ops->version == SB_STORE_OPS_VERSION &&
	                  st->bank->version == SB_BANK_OPS_VERSION &&
	                  st->ledger->version == SB_LEDGER_OPS_VERSION);
	T = sb_now_ms() + 1000 * HOUR;
	fused_basic();
	fused_lapse();
	generic();
	stamps();
	stale_copy();
	sq_close_store(st, mb);
	return t_summary();
}
