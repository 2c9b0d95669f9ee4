/* Redis holds at the backend's level: the version 2 slots against a real
 * server, with the server's clock (short real deadlines), the stamps of
 * version 3 (move_if), and data laid out by release 0.1.0 and by holds
 * before stamps (written here by hand, key by key, as their scripts
 * wrote it) that must keep working and gain holds, then stamps.
 *
 * Each case works under a prefix of its own in database 0. */
#include "rtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *server; /* $SB_TEST_REDIS_URI */

/* The flags the backend made the item with (core/internal.h). */
static unsigned int iflags(const sb_item *it)
{
	return it ? it->flags : 0;
}

static sb_box *open_proto(const char *prefix, char **uri_out,
                          sb_protocol protocol)
{
	char *opt = t_xasprintf("prefix=%s", prefix);
	char *uri = t_uri_opt(server, opt);
	char err[SB_ERRMSG_SIZE] = "";
	sb_open_opts o = SB_OPEN_OPTS_INIT;
	sb_box *box = NULL;
	int rc;

	o.protocol = protocol;
	rc = sb_box_open(&box, uri, &o, err, sizeof err);

	CHECKF(NULL, rc == SB_OK, "open: %d %s", rc, err);
	free(opt);
	if (uri_out)
		*uri_out = uri;
	else
		free(uri);
	if (rc != SB_OK)
		exit(t_summary());
	return box;
}

static sb_box *open_box(const char *prefix, char **uri_out)
{
	return open_proto(prefix, uri_out, SB_PROTOCOL_AUTO);
}

static void cmd(redisContext *c, const char **argv, int argc)
{
	size_t lens[16];
	int i;

	for (i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	redisReply *r = rt_cmdv(c, argc, argv, lens);
	CHECKF(NULL, r && r->type != REDIS_REPLY_ERROR, "%s: %s", argv[0],
	       r ? r->str : "no reply");
	if (r)
		freeReplyObject(r);
}
#define CMD(c, ...)                                              \
	do {                                                     \
		const char *a_[] = { __VA_ARGS__ };              \
		cmd((c), a_, (int)(sizeof(a_) / sizeof(a_[0]))); \
	} while (0)

static long long server_ms(redisContext *c)
{
	redisReply *r = rt_cmd(c, "TIME", NULL);
	long long ms = 0;

	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2)
		ms = atoll(r->element[0]->str) * 1000 +
		     atoll(r->element[1]->str) / 1000;
	if (r)
		freeReplyObject(r);
	return ms;
}

static sb_stats stats(sb_box *box, const char *bank, const char *ledger)
{
	sb_stats st;

	memset(&st, 0, sizeof st);
	CHECK_RC(box, sb_box_stats(&st, box, bank, ledger), SB_OK);
	return st;
}

#define CHECK_COUNTS(box, bank, ledger, a, r, i, h, x)                    \
	do {                                                              \
		sb_stats s_ = stats((box), (bank), (ledger));             \
		CHECKF((box),                                             \
		       s_.available == (a) && s_.reserved == (r) &&       \
		               s_.assigned == (i) && s_.on_hold == (h) && \
		               s_.retired == (x),                         \
		       "%s: available %llu reserved %llu assigned %llu "  \
		       "on_hold %llu retired %llu",                       \
		       (bank), (unsigned long long)s_.available,          \
		       (unsigned long long)s_.reserved,                   \
		       (unsigned long long)s_.assigned,                   \
		       (unsigned long long)s_.on_hold,                    \
		       (unsigned long long)s_.retired);                   \
	} while (0)

static int add(sb_box *box, const char *bank, const char *const *items,
               size_t n, uint64_t *skipped)
{
	sb_add_result res;
	int rc = sb_box_add(&res, box, bank, items, n);

	if (skipped)
		*skipped = res.skipped;
	return rc;
}

/* The fused hold slot (the core's entry points for holds are not needed
 * to test the store). */
static int hold(sb_item **out, sb_box *box, const char *bank,
                const char *ledger, const char *id, int64_t ttl)
{
	sb_store *st = box->bank_store;
	char *token = sb_token_make(ledger, id);
	int rc;

	*out = NULL;
	rc = st->ops->hold(out, st, bank, ledger, id, token, sb_now_ms(), ttl);
	free(token);
	return rc;
}

static int change(sb_item **out, sb_box *box, const char *ledger,
                  const char *id, unsigned int op, int64_t ttl)
{
	sb_store *st = box->ledger_store;
	char *token = sb_token_make(ledger, id);
	int rc;

	*out = NULL;
	rc = st->ops->change(out, st, ledger, id, token, op, sb_now_ms(), ttl);
	free(token);
	return rc;
}

static int get(sb_item **out, sb_box *box, const char *ledger, const char *id)
{
	*out = NULL;
	return box->ledger_store->ledger->get(out, box->ledger_store, ledger,
	                                      id);
}

/* ---------------------------------------------------------------- cases */

/* A store laid out by 0.1.0: a bank with items available, one assigned
 * (fused claim), one reserved (a generic fetch in flight), a ledger with
 * its entry and held counter. It serves fetches as before, and gains
 * holds, releases and retirement. */
static void case_old_layout(redisContext *c)
{
	char *p = rt_prefix("old"), *k[6];
	sb_item *it = NULL;
	uint64_t skipped = 0;

	printf("old layout (0.1.0) under prefix %s\n", p);
	k[0] = t_xasprintf("{%s}:banks", p);
	k[1] = t_xasprintf("{%s}:q:seats", p);
	k[2] = t_xasprintf("{%s}:s:seats", p);
	k[3] = t_xasprintf("{%s}:r:seats", p);
	k[4] = t_xasprintf("{%s}:l:L", p);
	k[5] = t_xasprintf("{%s}:c:L", p);
	CMD(c, "SADD", k[0], "seats");
	CMD(c, "RPUSH", k[1], "s3", "s4", "s5");
	CMD(c, "HSET", k[2], "s1", "iL\nalice", "s2", "r", "s3", "a", "s4", "a",
	    "s5", "a");
	CMD(c, "HSET", k[3], "s2", "1000\nL\nbob");
	CMD(c, "HSET", k[4], "alice", "5:seatss1");
	CMD(c, "HSET", k[5], "seats", "1");

	sb_box *box = open_box(p, NULL);
	CHECK_COUNTS(box, "seats", NULL, 3, 1, 1, 0, 0);
	CHECK(box, stats(box, "seats", "L").held == 1);
	CHECK_RC(box, sb_box_fetch(&it, box, "seats", "L", "alice"), SB_OK);
	CHECK(box, it && !strcmp(sb_item_value(it), "s1") &&
	                   !(iflags(it) & SB_ITEM_NEW) &&
	                   sb_item_expires_ms(it) == 0);
	sb_item_free(it);
	const char *again[] = { "s1", "s2", "s3", "s6" };
	CHECK_RC(box, add(box, "seats", again, 4, &skipped), SB_OK);
	CHECK(box, skipped == 3);

	/* Holds on the old data: carol holds s3 for a minute, confirms. */
	CHECK_RC(box, hold(&it, box, "seats", "L", "carol", 60000), SB_OK);
	CHECK(box, it && !strcmp(sb_item_value(it), "s3") &&
	                   (iflags(it) & SB_ITEM_NEW) &&
	                   sb_item_expires_ms(it) > server_ms(c) + 50000);
	sb_item_free(it);
	CHECK_COUNTS(box, "seats", NULL, 3, 1, 1, 1, 0);
	CHECK(box, stats(box, "seats", "L").held == 2);
	CHECK_RC(box, change(&it, box, "L", "carol", SB_CHANGE_CONFIRM, 0),
	         SB_OK);
	CHECK(box, it && sb_item_expires_ms(it) == 0);
	sb_item_free(it);
	CHECK_COUNTS(box, "seats", NULL, 3, 1, 2, 0, 0);

	/* alice's item of 0.1.0 is released; carol retires hers. */
	CHECK_RC(box, change(&it, box, "L", "alice", SB_CHANGE_RESTOCK, 0),
	         SB_OK);
	CHECK_RC(box, change(&it, box, "L", "alice", SB_CHANGE_RESTOCK, 0),
	         SB_ENOTFOUND);
	CHECK_RC(box, change(&it, box, "L", "carol", SB_CHANGE_RETIRE, 0),
	         SB_OK);
	CHECK_COUNTS(box, "seats", NULL, 4, 1, 0, 0, 1);
	CHECK(box, stats(box, "seats", "L").held == 0);
	CHECK_RC(box, add(box, "seats", again, 4, &skipped), SB_OK);
	CHECK(box, skipped == 4); /* released and retired: not new */

	/* bob's reservation of 0.1.0 rolls forward as before: recorded for
	 * him and settled. */
	sb_recover_result rr;
	memset(&rr, 0, sizeof rr);
	CHECK_RC(box, sb_box_recover(&rr, box, "seats", "L", NULL), SB_OK);
	CHECK_COUNTS(box, "seats", NULL, 4, 0, 1, 0, 1);
	CHECK_RC(box, sb_box_fetch(&it, box, "seats", "L", "bob"), SB_OK);
	CHECK(box, it && !strcmp(sb_item_value(it), "s2"));
	sb_item_free(it);
	sb_box_close(box);
	for (int i = 0; i < 6; i++)
		free(k[i]);
	free(p);
}

/* Deadlines by the server's clock: a hold is returned unchanged until
 * it lapses; then confirm answers "lapsed" and reclaims it, an empty
 * bank reclaims a lapsed hold for a new id, extend keeps one alive. */
static void case_lapse(redisContext *c)
{
	char *p = rt_prefix("lapse");
	sb_item *it = NULL, *again = NULL;
	sb_box *box = open_box(p, NULL);
	const char *one[] = { "x" };

	printf("lapses by the server's clock under prefix %s\n", p);
	CHECK_RC(box, add(box, "b", one, 1, NULL), SB_OK);
	CHECK_RC(box, hold(&it, box, "b", "L", "A", 300), SB_OK);
	CHECK_RC(box, hold(&again, box, "b", "L", "A", 5000), SB_OK);
	CHECK(box, it && again && !strcmp(sb_item_value(again), "x") &&
	                   iflags(again) == 0 &&
	                   sb_item_expires_ms(again) == sb_item_expires_ms(it));
	sb_item_free(again);
	CHECK_RC(box, hold(&again, box, "b", "L", "B", 300), SB_EMPTY_SETTLED);
	CHECK_RC(box, get(&again, box, "L", "A"), SB_OK);
	CHECK(box, again && !(iflags(again) & SB_ITEM_LAPSED));
	sb_item_free(again);
	while (server_ms(c) < sb_item_expires_ms(it))
		t_nap_ms(20);
	CHECK_RC(box, get(&again, box, "L", "A"), SB_OK);
	CHECK(box, again && (iflags(again) & SB_ITEM_LAPSED));
	sb_item_free(again);
	CHECK(box, stats(box, "b", "L").held == 0); /* a lapsed hold */
	CHECK_RC(box, change(&again, box, "L", "A", SB_CHANGE_CONFIRM, 0),
	         SB_EEXPIRED);
	CHECK_COUNTS(box, "b", NULL, 1, 0, 0, 0, 0);
	CHECK_RC(box, change(&again, box, "L", "A", SB_CHANGE_CONFIRM, 0),
	         SB_ENOTFOUND);
	sb_item_free(it);

	/* The bank is empty but for a lapsed hold: the claim reclaims it. */
	CHECK_RC(box, hold(&it, box, "b", "L", "B", 200), SB_OK);
	while (server_ms(c) < sb_item_expires_ms(it))
		t_nap_ms(20);
	sb_item_free(it);
	CHECK_RC(box, hold(&it, box, "b", "M", "C", 0), SB_OK);
	CHECK(box, it && !strcmp(sb_item_value(it), "x") &&
	                   (iflags(it) & SB_ITEM_NEW) &&
	                   sb_item_expires_ms(it) == 0);
	sb_item_free(it);
	CHECK_RC(box, get(&it, box, "L", "B"), SB_ENOTFOUND);
	CHECK_COUNTS(box, "b", NULL, 0, 0, 1, 0, 0);

	/* Extended past the first deadline: not reclaimed; then confirmed,
	 * retired, never handed out again. */
	CHECK_RC(box, add(box, "b2", one, 1, NULL), SB_OK);
	CHECK_RC(box, hold(&it, box, "b2", "L", "D", 300), SB_OK);
	CHECK_RC(box, change(&again, box, "L", "D", SB_CHANGE_EXTEND, 5000),
	         SB_OK);
	CHECK(box, again && sb_item_expires_ms(again) >=
	                            sb_item_expires_ms(it) + 4000);
	sb_item_free(again);
	while (server_ms(c) < sb_item_expires_ms(it) + 50)
		t_nap_ms(20);
	sb_item_free(it);
	CHECK_RC(box, hold(&it, box, "b2", "L", "E", 300), SB_EMPTY_SETTLED);
	CHECK_RC(box, change(&it, box, "L", "D", SB_CHANGE_CONFIRM, 0), SB_OK);
	sb_item_free(it);
	CHECK_RC(box, change(&it, box, "L", "D", SB_CHANGE_RETIRE, 0), SB_OK);
	CHECK_RC(box, hold(&it, box, "b2", "L", "E", 300), SB_EMPTY_SETTLED);
	CHECK_COUNTS(box, "b2", NULL, 0, 0, 0, 0, 1);

	/* reclaim: every lapsed hold of a bank. */
	const char *three[] = { "r1", "r2", "r3" };
	int64_t last = 0;
	CHECK_RC(box, add(box, "b3", three, 3, NULL), SB_OK);
	for (int i = 0; i < 3; i++) {
		char id[8];
		snprintf(id, sizeof id, "F%d", i);
		CHECK_RC(box, hold(&it, box, "b3", "L", id, 200), SB_OK);
		last = sb_item_expires_ms(it);
		sb_item_free(it);
	}
	CHECK_COUNTS(box, "b3", NULL, 0, 0, 0, 3, 0);
	while (server_ms(c) < last)
		t_nap_ms(20);
	uint64_t n = 0;
	sb_store *st = box->bank_store;
	CHECK_RC(box, st->ops->reclaim(&n, st, "b3", sb_now_ms()), SB_OK);
	CHECK(box, n == 3);
	CHECK_COUNTS(box, "b3", NULL, 3, 0, 0, 0, 0);
	CHECK(box, stats(box, "b3", "L").held == 0);
	CHECK_RC(box, st->ops->reclaim(&n, st, "nope", sb_now_ms()),
	         SB_ENOTFOUND);
	sb_box_close(box);
	free(p);
}

/* The generic path's slots: take_held, put_held, update, remove, move,
 * list, export_holds. */
typedef struct {
	int n;
	char item[64], token[64];
	unsigned int state;
	int64_t ms;
} seen_t;

static int list_cb(const char *item, const char *token, unsigned int state,
                   int64_t ms, void *payload)
{
	seen_t *s = payload;
	s->n++;
	snprintf(s->item, sizeof s->item, "%s", item);
	snprintf(s->token, sizeof s->token, "%s", token);
	s->state = state;
	s->ms = ms;
	return 0;
}

static int holds_cb(const char *id, const char *bank, const char *item,
                    int64_t ms, void *payload)
{
	seen_t *s = payload;
	s->n++;
	snprintf(s->item, sizeof s->item, "%s/%s/%s", id, bank, item);
	s->ms = ms;
	return 0;
}

static int export_cb(const char *id, const char *bank, const char *item,
                     void *payload)
{
	return holds_cb(id, bank, item, 0, payload);
}

static void case_generic_slots(redisContext *c)
{
	char *p = rt_prefix("slots");
	sb_box *box = open_box(p, NULL);
	sb_store *st = box->bank_store;
	const sb_bank_ops *bk = st->bank;
	const sb_ledger_ops *lg = st->ledger;
	const char *two[] = { "i1", "i2" };
	const char *tok = "L\nA";
	sb_item *it = NULL;
	seen_t s;
	uint64_t n = 0;
	int64_t now = server_ms(c), until = now + 100000;

	printf("generic slots under prefix %s\n", p);
	CHECK_RC(box, add(box, "g", two, 2, NULL), SB_OK);
	CHECK_RC(box, bk->take_held(&it, st, "g", tok, until), SB_OK);
	CHECK(box, it && !strcmp(sb_item_value(it), "i1") &&
	                   sb_item_expires_ms(it) == until);
	sb_item_free(it);
	CHECK_COUNTS(box, "g", NULL, 1, 0, 0, 1, 0);
	memset(&s, 0, sizeof s);
	CHECK_RC(box, bk->list(st, "g", SB_STATE_HELD, INT64_MAX, list_cb, &s),
	         SB_OK);
	CHECK(box, s.n == 1 && !strcmp(s.item, "i1") && !strcmp(s.token, tok) &&
	                   s.state == SB_STATE_HELD && s.ms == until);
	memset(&s, 0, sizeof s);
	CHECK_RC(box, bk->list(st, "g", SB_STATE_HELD, now, list_cb, &s),
	         SB_OK);
	CHECK(box, s.n == 0);

	CHECK_RC(box, lg->put_held(&it, st, "L", "A", "g", "i1", until), SB_OK);
	CHECK_RC(box, lg->put_held(&it, st, "L", "A", "g", "i1", until),
	         SB_ECONFLICT);
	CHECK(box, it && sb_item_expires_ms(it) == until);
	sb_item_free(it);
	CHECK_RC(box, lg->count(&n, st, "L", "g"), SB_OK);
	CHECK(box, n == 1);
	CHECK_RC(box, lg->update(&it, st, "L", "A", until + 1000), SB_OK);
	CHECK(box, it && sb_item_expires_ms(it) == until + 1000);
	sb_item_free(it);
	memset(&s, 0, sizeof s);
	CHECK_RC(box, lg->export_holds(st, "L", holds_cb, &s), SB_OK);
	CHECK(box,
	      s.n == 1 && !strcmp(s.item, "A/g/i1") && s.ms == until + 1000);
	memset(&s, 0, sizeof s);
	CHECK_RC(box, lg->export(st, "L", export_cb, &s), SB_OK);
	CHECK(box, s.n == 0); /* holds are not exported as for good */

	/* Confirm: ledger first, then the bank. */
	CHECK_RC(box, lg->update(&it, st, "L", "A", 0), SB_OK);
	CHECK(box, it && sb_item_expires_ms(it) == 0);
	sb_item_free(it);
	CHECK_RC(box, lg->export(st, "L", export_cb, &s), SB_OK);
	CHECK(box, s.n == 1);
	CHECK_RC(box,
	         bk->move(st, "g", "i1", tok, SB_STATE_HELD, SB_STATE_ASSIGNED,
	                  0),
	         SB_OK);
	CHECK_RC(box,
	         bk->move(st, "g", "i1", tok, SB_STATE_HELD, SB_STATE_ASSIGNED,
	                  0),
	         SB_OK); /* already there */
	CHECK_RC(box,
	         bk->move(st, "g", "i1", "L\nB", SB_STATE_ASSIGNED,
	                  SB_STATE_RESTOCKING, 0),
	         SB_ECONFLICT);
	CHECK_COUNTS(box, "g", NULL, 1, 0, 1, 0, 0);

	/* Release: mark, remove, finish. */
	CHECK_RC(box,
	         bk->move(st, "g", "i1", tok, SB_STATE_ASSIGNED,
	                  SB_STATE_RESTOCKING, 0),
	         SB_OK);
	CHECK_COUNTS(box, "g", NULL, 1, 1, 0, 0, 0);
	memset(&s, 0, sizeof s);
	CHECK_RC(box, bk->list(st, "g", SB_STATE_RESTOCKING, 0, list_cb, &s),
	         SB_OK);
	CHECK(box, s.n == 1 && s.state == SB_STATE_RESTOCKING);
	CHECK_RC(box, lg->remove(&it, st, "L", "A", "g", "i2", SB_REMOVE_LIVE),
	         SB_ENOTFOUND);
	CHECK_RC(box,
	         lg->remove(&it, st, "L", "A", "g", "i1", SB_REMOVE_LAPSED),
	         SB_ECONFLICT);
	CHECK(box, it && sb_item_expires_ms(it) == 0);
	sb_item_free(it);
	CHECK_RC(box, lg->remove(&it, st, "L", "A", "g", "i1", SB_REMOVE_LIVE),
	         SB_OK);
	CHECK_RC(box, lg->remove(&it, st, "L", "A", "g", "i1", SB_REMOVE_ANY),
	         SB_ENOTFOUND);
	CHECK_RC(box,
	         bk->move(st, "g", "i1", tok, SB_STATE_RESTOCKING,
	                  SB_STATE_AVAILABLE, 0),
	         SB_OK);
	CHECK_COUNTS(box, "g", NULL, 2, 0, 0, 0, 0);

	/* A hold written after its deadline (a stalled client) counts as
	 * absent: put_if_absent replaces it; the lapse is the server's. */
	CHECK_RC(box, lg->put_held(&it, st, "L", "Z", "g", "i2", now - 1000),
	         SB_OK);
	CHECK_RC(box, get(&it, box, "L", "Z"), SB_OK);
	CHECK(box, it && (iflags(it) & SB_ITEM_LAPSED) &&
	                   sb_item_expires_ms(it) == now - 1000);
	sb_item_free(it);
	CHECK_RC(box, lg->count(&n, st, "L", "g"), SB_OK);
	CHECK(box, n == 0);
	CHECK_RC(box, lg->update(&it, st, "L", "Z", 0), SB_EEXPIRED);
	CHECK_RC(box, lg->remove(&it, st, "L", "Z", "g", "i2", SB_REMOVE_LIVE),
	         SB_EEXPIRED);
	CHECK_RC(box, lg->put_if_absent(&it, st, "L", "Z", "g", "i1"), SB_OK);
	CHECK_RC(box, get(&it, box, "L", "Z"), SB_OK);
	CHECK(box, it && !strcmp(sb_item_value(it), "i1") && iflags(it) == 0 &&
	                   sb_item_expires_ms(it) == 0);
	sb_item_free(it);
	CHECK_RC(box, lg->count(&n, st, "L", "g"), SB_OK);
	CHECK(box, n == 1);
	sb_box_close(box);
	free(p);
}

/* A field of a hash, or NULL (caller frees). */
static char *hget(redisContext *c, const char *key, const char *field)
{
	redisReply *r = rt_cmd(c, "HGET", key, field, NULL);
	char *v = r && r->type == REDIS_REPLY_STRING ? t_xstrdup(r->str) : NULL;

	if (r)
		freeReplyObject(r);
	return v;
}

static long long exists(redisContext *c, const char *key)
{
	redisReply *r = rt_cmd(c, "EXISTS", key, NULL);
	long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

	if (r)
		freeReplyObject(r);
	return n;
}

typedef struct {
	int n;
	int64_t since;
	char token[64];
} resv_t;

static int resv_cb(const char *item, const char *token, int64_t since_ms,
                   void *payload)
{
	resv_t *r = payload;
	(void)item;
	r->n++;
	r->since = since_ms;
	snprintf(r->token, sizeof r->token, "%s", token);
	return 0;
}

/* Version 3: stamps. A reservation's stamp is 0 from take() and kept in
 * its "SINCE:STAMP" once taken over; a release's is in the stamp hash;
 * move_if moves only on the stamp expected, whatever the state's kind,
 * and compares stamps exactly (past 2^53, where a double would not). */
static void case_stamps(redisContext *c)
{
	char *p = rt_prefix("stamps");
	sb_box *box = open_box(p, NULL);
	sb_store *st = box->bank_store;
	const sb_bank_ops *bk = st->bank;
	const char *items[] = { "i1", "i2", "i3" };
	const char *tok = "L\nA";
	/* 2^53 + 1 and + 3: one double apart from each other's neighbour */
	const int64_t r1 = 9007199254740993LL, r2 = 9007199254740995LL;
	char *kr = t_xasprintf("{%s}:r:g", p), *km = t_xasprintf("{%s}:m:g", p);
	char *v;
	sb_item *it = NULL;
	seen_t s;
	resv_t rv;
	int64_t until = server_ms(c) + 100000, t0 = sb_now_ms();

	printf("stamps under prefix %s\n", p);
	CHECK(box, bk->version >= 3 && bk->move_if);
	CHECK_RC(box, add(box, "g", items, 3, NULL), SB_OK);

	/* A reservation: stamp 0, then a recovery pass's. */
	CHECK_RC(box, bk->take(&it, st, "g", tok, t0 - 5000), SB_OK);
	CHECK(box, it && !strcmp(sb_item_value(it), "i1"));
	sb_item_free(it);
	CHECK_RC(box,
	         bk->move_if(st, "g", "i1", tok, SB_STATE_RESERVED,
	                     SB_STATE_RESERVED, r1, r2),
	         SB_ECONFLICT);
	CHECK_RC(box,
	         bk->move_if(st, "g", "i1", "L\nB", SB_STATE_RESERVED,
	                     SB_STATE_RESERVED, r1, 0),
	         SB_ECONFLICT);
	CHECK_RC(box,
	         bk->move_if(st, "g", "i1", tok, SB_STATE_RESERVED,
	                     SB_STATE_RESERVED, r1, 0),
	         SB_OK);
	CHECK_RC(box,
	         bk->move_if(st, "g", "i1", tok, SB_STATE_RESERVED,
	                     SB_STATE_RESERVED, r2, 0),
	         SB_ECONFLICT); /* another pass: too late */
	v = hget(c, kr, "i1");
	CHECKF(box, v && strstr(v, ":9007199254740993\nL\nA"), "resv %s",
	       v ? v : "(none)");
	free(v);
	memset(&rv, 0, sizeof rv);
	CHECK_RC(box, bk->reserved(st, "g", INT64_MAX, resv_cb, &rv), SB_OK);
	CHECKF(box, rv.n == 1 && rv.since >= t0 && !strcmp(rv.token, tok),
	       "reserved: %d, since %lld (now %lld)", rv.n, (long long)rv.since,
	       (long long)t0);
	/* The client's settle conflicts: the pass settles. */
	CHECK_RC(box, bk->settle(st, "g", "i1", tok), SB_ECONFLICT);
	/* move into reserved with 0 keeps the stamp */
	CHECK_RC(box,
	         bk->move(st, "g", "i1", tok, SB_STATE_RESERVED,
	                  SB_STATE_RESERVED, 0),
	         SB_OK);
	CHECK_RC(box,
	         bk->move_if(st, "g", "i1", tok, SB_STATE_RESERVED,
	                     SB_STATE_ASSIGNED, 0, r2),
	         SB_ECONFLICT);
	CHECK_RC(box,
	         bk->move_if(st, "g", "i1", tok, SB_STATE_RESERVED,
	                     SB_STATE_ASSIGNED, 0, r1),
	         SB_OK);
	CHECK(box, exists(c, kr) == 0);
	CHECK_COUNTS(box, "g", NULL, 2, 0, 1, 0, 0);
	/* A reservation no pass took over settles as before. */
	CHECK_RC(box, bk->take(&it, st, "g", "L\nC", sb_now_ms()), SB_OK);
	sb_item_free(it);
	CHECK_RC(box, bk->settle(st, "g", "i2", "L\nC"), SB_OK);
	CHECK_COUNTS(box, "g", NULL, 1, 0, 2, 0, 0);

	/* An item without a stamp (assigned): move_if conflicts. */
	CHECK_RC(box,
	         bk->move_if(st, "g", "i1", tok, SB_STATE_ASSIGNED,
	                     SB_STATE_RESTOCKING, r1, 0),
	         SB_ECONFLICT);
	/* A release: the mark's stamp, a pass's, the last step's check. */
	CHECK_RC(box,
	         bk->move(st, "g", "i1", tok, SB_STATE_ASSIGNED,
	                  SB_STATE_RESTOCKING, r1),
	         SB_OK);
	memset(&s, 0, sizeof s);
	CHECK_RC(box, bk->list(st, "g", SB_STATE_RESTOCKING, 0, list_cb, &s),
	         SB_OK);
	CHECKF(box,
	       s.n == 1 && s.state == SB_STATE_RESTOCKING && s.ms == r1 &&
	               !strcmp(s.token, tok),
	       "listed %d, ms %lld", s.n, (long long)s.ms);
	CHECK_RC(box,
	         bk->move_if(st, "g", "i1", tok, SB_STATE_RESTOCKING,
	                     SB_STATE_RESTOCKING, r2, r1 - 2),
	         SB_ECONFLICT);
	CHECK_RC(box,
	         bk->move_if(st, "g", "i1", tok, SB_STATE_RESTOCKING,
	                     SB_STATE_RESTOCKING, r2, r1),
	         SB_OK);
	memset(&s, 0, sizeof s);
	CHECK_RC(box, bk->list(st, "g", SB_STATE_RESTOCKING, 0, list_cb, &s),
	         SB_OK);
	CHECK(box, s.n == 1 && s.ms == r2);
	CHECK_RC(box,
	         bk->move_if(st, "g", "i1", tok,
	                     SB_STATE_RESTOCKING | SB_STATE_RETIRING,
	                     SB_STATE_AVAILABLE, 0, r1),
	         SB_ECONFLICT); /* the client's last step, taken over */
	CHECK_COUNTS(box, "g", NULL, 1, 1, 1, 0, 0);
	CHECK_RC(box,
	         bk->move_if(st, "g", "i1", tok, SB_STATE_RESTOCKING,
	                     SB_STATE_AVAILABLE, 0, r2),
	         SB_OK);
	CHECK(box, exists(c, km) == 0);
	CHECK_COUNTS(box, "g", NULL, 2, 0, 1, 0, 0);

	/* Retiring with a stamp; into restocking with 0: no stamp. */
	CHECK_RC(box,
	         bk->move(st, "g", "i2", "L\nC", SB_STATE_ASSIGNED,
	                  SB_STATE_RETIRING, r2),
	         SB_OK);
	memset(&s, 0, sizeof s);
	CHECK_RC(box, bk->list(st, "g", SB_STATE_RETIRING, 0, list_cb, &s),
	         SB_OK);
	CHECK(box, s.n == 1 && s.state == SB_STATE_RETIRING && s.ms == r2);
	CHECK_RC(box,
	         bk->move(st, "g", "i2", "L\nC", SB_STATE_RETIRING,
	                  SB_STATE_RESTOCKING, 0),
	         SB_OK);
	CHECK(box, exists(c, km) == 0);
	memset(&s, 0, sizeof s);
	CHECK_RC(box, bk->list(st, "g", SB_STATE_RESTOCKING, 0, list_cb, &s),
	         SB_OK);
	CHECK(box, s.n == 1 && s.ms == 0);
	CHECK_RC(box,
	         bk->move_if(st, "g", "i2", "L\nC", SB_STATE_RESTOCKING,
	                     SB_STATE_RETIRED, 0, 0),
	         SB_OK);
	CHECK_COUNTS(box, "g", NULL, 2, 0, 0, 0, 1);

	/* A hold's stamp is its deadline. */
	CHECK_RC(box, bk->take_held(&it, st, "g", tok, until), SB_OK);
	CHECK(box, it && !strcmp(sb_item_value(it), "i3"));
	sb_item_free(it);
	CHECK_RC(box,
	         bk->move_if(st, "g", "i3", tok, SB_STATE_HELD, SB_STATE_HELD,
	                     until + 5, until - 1),
	         SB_ECONFLICT);
	CHECK_RC(box,
	         bk->move_if(st, "g", "i3", tok, SB_STATE_HELD, SB_STATE_HELD,
	                     until + 5, until),
	         SB_OK);
	memset(&s, 0, sizeof s);
	CHECK_RC(box, bk->list(st, "g", SB_STATE_HELD, INT64_MAX, list_cb, &s),
	         SB_OK);
	CHECK(box, s.n == 1 && s.ms == until + 5);
	/* Reclaim step 1 takes a hold whose deadline (by the clock the core
	 * set it by) has come, never one that a stale listing named but the
	 * id holds anew with a later deadline. */
	CHECK_RC(box,
	         bk->move(st, "g", "i3", tok, SB_STATE_HELD,
	                  SB_STATE_RECLAIMING, 0),
	         SB_ECONFLICT);
	CHECK_RC(box,
	         bk->move(st, "g", "i3", tok, SB_STATE_HELD, SB_STATE_HELD,
	                  sb_now_ms() - 1000),
	         SB_OK);
	CHECK_RC(box,
	         bk->move(st, "g", "i3", tok, SB_STATE_HELD,
	                  SB_STATE_RECLAIMING, 0),
	         SB_OK);
	CHECK_COUNTS(box, "g", NULL, 1, 0, 0, 1, 1);

	/* The fused release of an item marked by the generic one drops its
	 * stamp with it. */
	CHECK_RC(box, add(box, "g2", items, 1, NULL), SB_OK);
	CHECK_RC(box, hold(&it, box, "g2", "L", "D", 0), SB_OK);
	sb_item_free(it);
	CHECK_RC(box,
	         bk->move(st, "g2", "i1", "L\nD", SB_STATE_ASSIGNED,
	                  SB_STATE_RETIRING, r1),
	         SB_OK);
	char *km2 = t_xasprintf("{%s}:m:g2", p);
	CHECK(box, exists(c, km2) == 1);
	CHECK_RC(box, change(&it, box, "L", "D", SB_CHANGE_RESTOCK, 0), SB_OK);
	CHECK(box, exists(c, km2) == 0);
	CHECK_COUNTS(box, "g2", NULL, 1, 0, 0, 0, 0);
	free(km2);
	free(kr);
	free(km);
	sb_box_close(box);
	free(p);
}

/* A store written by the holds of the previous layout, before stamps: a
 * restock and a retire whose clients died after their marks, and a
 * reservation in flight, none with a stamp. Used as it is: each carries
 * stamp 0, and recover (which takes each over with move_if, expecting
 * the stamp listed) finishes them. */
static void case_before_stamps(redisContext *c)
{
	char *p = rt_prefix("prestamp"), *k[8];
	sb_recover_result rr;
	sb_item *it = NULL;
	seen_t s;

	printf("holds before stamps under prefix %s\n", p);
	k[0] = t_xasprintf("{%s}:banks", p);
	k[1] = t_xasprintf("{%s}:q:seats", p);
	k[2] = t_xasprintf("{%s}:s:seats", p);
	k[3] = t_xasprintf("{%s}:r:seats", p);
	k[4] = t_xasprintf("{%s}:f:seats", p);
	k[5] = t_xasprintf("{%s}:l:L", p);
	k[6] = t_xasprintf("{%s}:c:L", p);
	k[7] = t_xasprintf("{%s}:m:seats", p);
	CMD(c, "SADD", k[0], "seats");
	CMD(c, "RPUSH", k[1], "s4");
	CMD(c, "HSET", k[2], "s1", "bL\nann", "s2", "tL\nbea", "s3", "r", "s4",
	    "a");
	CMD(c, "HSET", k[3], "s3", "1000\nL\ncid");
	CMD(c, "SADD", k[4], "s1", "s2");
	CMD(c, "HSET", k[5], "ann", "5:seatss1", "bea", "5:seatss2");
	CMD(c, "HSET", k[6], "seats", "2");

	sb_box *box = open_proto(p, NULL, SB_PROTOCOL_GENERIC);
	sb_store *st = box->bank_store;
	CHECK_COUNTS(box, "seats", NULL, 1, 3, 0, 0, 0);
	memset(&s, 0, sizeof s);
	CHECK_RC(box,
	         st->bank->list(st, "seats",
	                        SB_STATE_RESTOCKING | SB_STATE_RETIRING, 0,
	                        list_cb, &s),
	         SB_OK);
	CHECK(box, s.n == 2 && s.ms == 0);
	memset(&rr, 0, sizeof rr);
	CHECK_RC(box, sb_box_recover(&rr, box, "seats", "L", NULL), SB_OK);
	CHECKF(box, rr.released == 2 && rr.settled == 1,
	       "recover: released %llu settled %llu",
	       (unsigned long long)rr.released, (unsigned long long)rr.settled);
	CHECK_COUNTS(box, "seats", NULL, 2, 0, 1, 0, 1);
	CHECK_RC(box, get(&it, box, "L", "ann"), SB_ENOTFOUND);
	CHECK_RC(box, get(&it, box, "L", "bea"), SB_ENOTFOUND);
	CHECK_RC(box, sb_box_fetch(&it, box, "seats", "L", "cid"), SB_OK);
	CHECK(box, it && !strcmp(sb_item_value(it), "s3") &&
	                   !(iflags(it) & SB_ITEM_NEW));
	sb_item_free(it);
	CHECK(box, exists(c, k[3]) == 0 && exists(c, k[4]) == 0 &&
	                   exists(c, k[7]) == 0);
	/* ... and the store goes on, with stamps: ann holds and releases. */
	CHECK_RC(box, sb_box_hold(&it, box, "seats", "L", "ann", 60000), SB_OK);
	sb_item_free(it);
	CHECK_RC(box, sb_box_release(box, "L", "ann", 0), SB_OK);
	CHECK_COUNTS(box, "seats", NULL, 2, 0, 1, 0, 1);
	sb_box_close(box);
	for (int i = 0; i < 8; i++)
		free(k[i]);
	free(p);
}

/* A fused claim leaves its item "a" and not queued (its entry the
 * authority); the generic path, on the same store (a client that opened
 * it with SB_PROTOCOL_GENERIC), releases such an item, restocked or
 * retired, by the entry, and never takes it for available. */
static void case_mixed_protocols(redisContext *c)
{
	char *p = rt_prefix("mixedproto");
	sb_box *fused = open_box(p, NULL);
	sb_box *generic = open_proto(p, NULL, SB_PROTOCOL_GENERIC);
	const char *items[] = { "s1", "s2", "s3", "s4" };
	char *q = t_xasprintf("{%s}:q:seats", p);
	char *s = t_xasprintf("{%s}:s:seats", p);
	uint64_t skipped = 0;
	sb_item *it = NULL;
	const char *ids[] = { "alice", "bob", "carol" };

	printf("fused claims, generic releases under prefix %s\n", p);
	CHECK_RC(fused, add(fused, "seats", items, 4, NULL), SB_OK);
	for (int i = 0; i < 3; i++) {
		CHECK_RC(fused, sb_box_fetch(&it, fused, "seats", "L", ids[i]),
		         SB_OK);
		CHECK(fused, it && !strcmp(sb_item_value(it), items[i]));
		sb_item_free(it);
		it = NULL;
	}
	/* (The first claim marked the ledger and took the general path.) */
	for (int i = 1; i < 3; i++) {
		char *v = hget(c, s, items[i]);
		CHECK(NULL, v && !strcmp(v, "a"));
		free(v);
	}
	CHECK_COUNTS(fused, "seats", NULL, 1, 0, 3, 0, 0);
	CHECK(fused, stats(fused, "seats", "L").held == 3);
	/* A move from available finds s2 not queued: a conflict. */
	sb_store *st = generic->bank_store;
	CHECK_RC(generic,
	         st->bank->move(st, "seats", "s2", "", SB_STATE_AVAILABLE,
	                        SB_STATE_RETIRED, 0),
	         SB_ECONFLICT);
	/* The generic release by the entry: bob restocks, alice retires. */
	CHECK_RC(generic,
	         sb_box_release(generic, "L", "bob", SB_RELEASE_RESTOCK),
	         SB_OK);
	CHECK_RC(generic,
	         sb_box_release(generic, "L", "bob", SB_RELEASE_RESTOCK),
	         SB_ENOTFOUND);
	CHECK_RC(generic,
	         sb_box_release(generic, "L", "alice", SB_RELEASE_RETIRE),
	         SB_OK);
	CHECK_COUNTS(fused, "seats", NULL, 2, 0, 1, 0, 1);
	CHECK(fused, stats(fused, "seats", "L").held == 1);
	redisReply *r = rt_cmd(c, "LRANGE", q, "0", "-1", NULL);
	CHECK(NULL, r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	                    !strcmp(r->element[0]->str, "s4") &&
	                    !strcmp(r->element[1]->str, "s2"));
	if (r)
		freeReplyObject(r);
	/* The restocked item goes out again; the retired one never. */
	CHECK_RC(generic, sb_box_fetch(&it, generic, "seats", "L", "dan"),
	         SB_OK);
	CHECK(generic, it && !strcmp(sb_item_value(it), "s4"));
	sb_item_free(it);
	it = NULL;
	CHECK_RC(fused, sb_box_fetch(&it, fused, "seats", "L", "erin"), SB_OK);
	CHECK(fused, it && !strcmp(sb_item_value(it), "s2"));
	sb_item_free(it);
	it = NULL;
	CHECK_RC(fused, sb_box_fetch(&it, fused, "seats", "L", "fay"),
	         SB_EMPTY);
	/* carol's, from the fused claim, released by the fused path. */
	CHECK_RC(fused, sb_box_release(fused, "L", "carol", SB_RELEASE_RETIRE),
	         SB_OK);
	CHECK_COUNTS(fused, "seats", NULL, 0, 0, 2, 0, 2);
	CHECK(fused, stats(fused, "seats", "L").held == 2);
	CHECK_RC(fused, add(fused, "seats", items, 4, &skipped), SB_OK);
	CHECK(fused, skipped == 4);
	sb_box_close(fused);
	sb_box_close(generic);
	free(q);
	free(s);
	free(p);
}

/* A store of layout 1 (the release before ledger marks: no version key,
 * every entry counted in c:LEDGER, assigned items "i"TOKEN) with items
 * available, reserved (a generic fetch in flight), held (one about to
 * lapse) and assigned, a ledger serving one bank and one shared by two.
 * Read as it is, then upgraded in place (init --upgrade): the one-bank
 * ledger is marked and loses its counter, the shared one keeps it; every
 * law holds after, holds still lapse and confirm, the reservation rolls
 * forward. A store of a newer layout is refused with a clear message. */
static void case_upgrade(redisContext *c)
{
	char *p = rt_prefix("upgrade"), *k[13];
	char lapse[24], later[24], e3[64], e4[64];
	sb_init_opts o = SB_INIT_OPTS_INIT;
	sb_recover_result rr;
	sb_item *it = NULL;

	printf("layout 1 upgraded under prefix %s\n", p);
	const char *kind[13] = { "banks",   "q:seats", "s:seats", "r:seats",
		                 "d:seats", "l:L",     "c:L",     "e:L",
		                 "l:S",     "c:S",     "q:rows",  "s:rows",
		                 "version" };
	for (int i = 0; i < 13; i++)
		k[i] = t_xasprintf("{%s}:%s", p, kind[i]);
	long long now = server_ms(c);
	snprintf(lapse, sizeof lapse, "%lld", now + 1500);
	snprintf(later, sizeof later, "%lld", now + 600000);
	snprintf(e3, sizeof e3, "h%s;5:seatss3", lapse);
	snprintf(e4, sizeof e4, "h%s;5:seatss4", later);
	CMD(c, "SADD", k[0], "seats", "rows");
	CMD(c, "RPUSH", k[1], "s5", "s6", "s7");
	CMD(c, "HSET", k[2], "s1", "iL\nalice", "s2", "r", "s3", "hL\ndan",
	    "s4", "hL\nerin");
	CMD(c, "HSET", k[2], "s5", "a", "s6", "a", "s7", "a", "s8", "iS\nfay");
	CMD(c, "HSET", k[3], "s2", "1000\nL\nbob");
	CMD(c, "ZADD", k[4], lapse, "s3", later, "s4");
	CMD(c, "HSET", k[5], "alice", "5:seatss1", "dan", e3, "erin", e4);
	CMD(c, "HSET", k[6], "seats", "3");
	CMD(c, "ZADD", k[7], lapse, "dan", later, "erin");
	CMD(c, "HSET", k[8], "fay", "5:seatss8", "gus", "4:rowsr1");
	CMD(c, "HSET", k[9], "seats", "1", "rows", "1");
	CMD(c, "RPUSH", k[10], "r2");
	CMD(c, "HSET", k[11], "r1", "iS\ngus", "r2", "a");

	sb_box *box = open_box(p, NULL);
	/* Read as it is. */
	CHECK_COUNTS(box, "seats", NULL, 3, 1, 2, 2, 0);
	CHECK(box, stats(box, "seats", "L").held == 3);
	CHECK(box, stats(box, "seats", "S").held == 1);
	CHECK(box, stats(box, "rows", "S").held == 1);
	/* Upgraded, twice (idempotent). */
	o.flags = SB_INIT_UPGRADE;
	for (int i = 0; i < 2; i++)
		CHECK_RC(box, sb_box_init_opts(box, NULL, NULL, &o), SB_OK);
	char *v = hget(c, k[5], "");
	CHECK(NULL, v && !strcmp(v, "=seats"));
	free(v);
	v = hget(c, k[8], "");
	CHECK(NULL, v && !strcmp(v, "*"));
	free(v);
	CHECK(NULL, exists(c, k[6]) == 0 && exists(c, k[9]) == 1);
	redisReply *r = rt_cmd(c, "GET", k[12], NULL);
	CHECK(NULL, r && r->type == REDIS_REPLY_STRING && !strcmp(r->str, "2"));
	if (r)
		freeReplyObject(r);
	CHECK_COUNTS(box, "seats", NULL, 3, 1, 2, 2, 0);
	CHECK(box, stats(box, "seats", "L").held == 3);
	CHECK(box, stats(box, "seats", "S").held == 1);
	CHECK(box, stats(box, "rows", "S").held == 1);

	/* A new claim takes the common path: its item stays "a". */
	CHECK_RC(box, sb_box_fetch(&it, box, "seats", "L", "hal"), SB_OK);
	CHECK(box, it && !strcmp(sb_item_value(it), "s5") &&
	                   (iflags(it) & SB_ITEM_NEW));
	sb_item_free(it);
	v = hget(c, k[2], "s5");
	CHECK(NULL, v && !strcmp(v, "a"));
	free(v);
	CHECK(box, stats(box, "seats", "L").held == 4);
	/* erin's hold confirms; dan's lapses and comes back. */
	CHECK_RC(box, sb_box_confirm(box, "L", "erin"), SB_OK);
	while (server_ms(c) <= now + 1500)
		t_nap_ms(20);
	CHECK_RC(box, sb_box_confirm(box, "L", "dan"), SB_EEXPIRED);
	CHECK_COUNTS(box, "seats", NULL, 3, 1, 4, 0, 0);
	/* bob's reservation rolls forward for him. */
	memset(&rr, 0, sizeof rr);
	CHECK_RC(box, sb_box_recover(&rr, box, "seats", "L", NULL), SB_OK);
	CHECK(box, rr.settled == 1);
	CHECK_COUNTS(box, "seats", NULL, 3, 0, 5, 0, 0);
	/* Every id its item, no item twice (the values are distinct). */
	const char *ids[] = { "alice", "bob", "erin", "hal" };
	const char *want[] = { "s1", "s2", "s4", "s5" };
	for (int i = 0; i < 4; i++) {
		CHECK_RC(box, sb_box_fetch(&it, box, "seats", "L", ids[i]),
		         SB_OK);
		CHECKF(box,
		       it && !strcmp(sb_item_value(it), want[i]) &&
		               !(iflags(it) & SB_ITEM_NEW),
		       "%s: %s", ids[i], it ? sb_item_value(it) : "(none)");
		sb_item_free(it);
		it = NULL;
	}
	CHECK_RC(box, sb_box_fetch(&it, box, "rows", "S", "gus"), SB_OK);
	CHECK(box, it && !strcmp(sb_item_value(it), "r1") &&
	                   !(iflags(it) & SB_ITEM_NEW));
	sb_item_free(it);
	CHECK_RC(box, sb_box_lookup(&it, box, "L", "dan"), SB_ENOTFOUND);
	CHECK(box, stats(box, "seats", "L").held == 4);
	/* The shared ledger counts per bank: a claim in each. */
	CHECK_RC(box, sb_box_fetch(&it, box, "rows", "S", "ida"), SB_OK);
	sb_item_free(it);
	CHECK_RC(box, sb_box_fetch(&it, box, "seats", "S", "jon"), SB_OK);
	sb_item_free(it);
	CHECK(box, stats(box, "seats", "S").held == 2);
	CHECK(box, stats(box, "rows", "S").held == 2);
	/* Releases: hal restocks (s5 back, last in the queue). */
	CHECK_RC(box, sb_box_release(box, "L", "hal", SB_RELEASE_RESTOCK),
	         SB_OK);
	CHECK(box, stats(box, "seats", "L").held == 3);
	CHECK_COUNTS(box, "seats", NULL, 3, 0, 5, 0, 0);
	/* Conservation: 8 items added. */
	sb_stats st = stats(box, "seats", NULL);
	CHECK(box, st.available + st.reserved + st.assigned + st.on_hold +
	                           st.retired ==
	                   8);
	sb_box_close(box);

	/* A newer layout: refused, nothing written. */
	char *p2 = rt_prefix("newer"), *vk = t_xasprintf("{%s}:version", p2);
	char *opt = t_xasprintf("prefix=%s", p2), *uri = t_uri_opt(server, opt);
	char err[SB_ERRMSG_SIZE] = "";
	CMD(c, "SET", vk, "3");
	box = NULL;
	int orc = sb_box_open(&box, uri, NULL, err, sizeof err);
	CHECKF(NULL, orc == SB_EBACKEND && !box, "open: %d %s", orc, err);
	CHECKF(NULL, t_contains(err, "layout version '3'"), "%s", err);
	CHECK(NULL, exists(c, vk) == 1);
	sb_box_close(box);
	free(opt);
	free(uri);
	free(vk);
	free(p2);
	for (int i = 0; i < 13; i++)
		free(k[i]);
	free(p);
}

/* Every key the holds wrote lives in the prefix's hash slot. */
static void case_one_slot(redisContext *c)
{
	char *p = rt_prefix("slot");
	sb_box *box = open_box(p, NULL);
	const char *items[] = { "s1", "s2", "s3", "s4" };
	sb_item *it = NULL;

	printf("one hash slot under prefix %s\n", p);
	CHECK_RC(box, add(box, "b{x}", items, 4, NULL), SB_OK);
	CHECK_RC(box, hold(&it, box, "b{x}", "L}{", "a", 60000), SB_OK);
	sb_item_free(it);
	CHECK_RC(box, hold(&it, box, "b{x}", "L}{", "b", 60000), SB_OK);
	sb_item_free(it);
	CHECK_RC(box, change(&it, box, "L}{", "b", SB_CHANGE_RETIRE, 0), SB_OK);
	CHECK_RC(box, change(&it, box, "L}{", "a", SB_CHANGE_CONFIRM, 0),
	         SB_OK);
	sb_item_free(it);
	CHECK_RC(box, hold(&it, box, "b{x}", "L}{", "c", 60000), SB_OK);
	sb_item_free(it);
	/* A second bank in the ledger: shared, it keeps its counters. */
	CHECK_RC(box, add(box, "b2}", items, 1, NULL), SB_OK);
	CHECK_RC(box, hold(&it, box, "b2}", "L}{", "d", 60000), SB_OK);
	sb_item_free(it);

	char *tag = t_xasprintf("{%s}", p), *pattern = t_xasprintf("%s:*", tag);
	unsigned want = rt_keyslot(tag, strlen(tag));
	redisReply *r = rt_cmd(c, "KEYS", pattern, NULL);
	int n = 0;
	CHECK(NULL, r && r->type == REDIS_REPLY_ARRAY);
	for (size_t i = 0; r && i < r->elements; i++) {
		n++;
		CHECKF(NULL,
		       rt_keyslot(r->element[i]->str, r->element[i]->len) ==
		               want,
		       "key %s is in another slot", r->element[i]->str);
	}
	CHECKF(NULL, n >= 8, "%d keys", n);
	if (r)
		freeReplyObject(r);
	free(tag);
	free(pattern);
	sb_box_close(box);
	free(p);
}

int main(void)
{
	server = t_env_need("SB_TEST_REDIS_URI");
	redisContext *c = rt_connect(server);
	if (!c)
		return 1;
	case_old_layout(c);
	case_lapse(c);
	case_generic_slots(c);
	case_stamps(c);
	case_before_stamps(c);
	case_one_slot(c);
	case_mixed_protocols(c);
	case_upgrade(c);
	redisFree(c);
	return t_summary();
}
