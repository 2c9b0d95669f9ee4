/* The bank repository of the Redis backend (key layout in redis.c, the
 * scripts in redis_scripts.c). */
#include "redis_private.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The keys of one bank, built once per call. */
typedef struct {
	char *banks, *queue, *state, *resv;
	size_t banks_len, queue_len, state_len, resv_len;
} bank_keys;

static void keys_free(bank_keys *k)
{
	free(k->banks);
	free(k->queue);
	free(k->state);
	free(k->resv);
}

static int keys_make(bank_keys *k, sb_rd_store *s, const char *bank,
                     const char *op)
{
	memset(k, 0, sizeof(*k));
	k->banks = sb_rd_key(s, 0, NULL, &k->banks_len);
	k->queue = sb_rd_key(s, SB_RD_KEY_QUEUE, bank, &k->queue_len);
	k->state = sb_rd_key(s, SB_RD_KEY_STATE, bank, &k->state_len);
	k->resv = sb_rd_key(s, SB_RD_KEY_RESV, bank, &k->resv_len);
	if (!k->banks || !k->queue || !k->state || !k->resv) {
		keys_free(k);
		return sb_rd_nomem(s, op);
	}
	return SB_OK;
}

static int no_bank(sb_rd_store *s, const char *bank)
{
	return sb_seterr(s->base.box, SB_ENOTFOUND,
	                 "redis: no bank '%.*s' under prefix %.*s on %s",
	                 SB_RD_NAME_MAX, bank, (int)s->tag_len - 1, s->tag,
	                 s->where);
}

static int is_int(const redisReply *r)
{
	return r && r->type == REDIS_REPLY_INTEGER;
}

/* ------------------------------------------------------------------ add */

/* Fill argv[3..] of one add chunk: 3 keys, the bank, the items. */
static void chunk_args(const char **argv, size_t *lens, const bank_keys *k,
                       const char *bank, const char *const *items, size_t n)
{
	size_t i;

	argv[3] = k->banks;
	lens[3] = k->banks_len;
	argv[4] = k->queue;
	lens[4] = k->queue_len;
	argv[5] = k->state;
	lens[5] = k->state_len;
	argv[6] = bank;
	lens[6] = strlen(bank);
	for (i = 0; i < n; i++) {
		argv[7 + i] = items[i];
		lens[7 + i] = strlen(items[i]);
	}
}

/* {added, skipped} of one chunk of @p n items: the two must sum to n (a
 * reply that does not is not our script's; the caller reports them). */
static int chunk_counts(sb_rd_store *s, const redisReply *r, size_t n,
                        uint64_t *added, uint64_t *skipped, const char *op)
{
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    !is_int(r->element[0]) || !is_int(r->element[1]) ||
	    r->element[0]->integer < 0 || r->element[1]->integer < 0 ||
	    (uint64_t)r->element[0]->integer > n ||
	    (uint64_t)r->element[1]->integer !=
	    n - (uint64_t)r->element[0]->integer)
		return sb_rd_bad_reply(s, r, op);
	*added += (uint64_t)r->element[0]->integer;
	*skipped += (uint64_t)r->element[1]->integer;
	return SB_OK;
}

/* Up to SB_RD_ADD_CHUNK items: one script call, atomic by itself. */
static int add_one(uint64_t *added, uint64_t *skipped, sb_rd_store *s,
                   const bank_keys *k, const char *bank,
                   const char *const *items, size_t n)
{
	const char **argv = malloc((7 + n) * sizeof(*argv));
	size_t *lens = malloc((7 + n) * sizeof(*lens));
	redisReply *r = NULL;
	int rc;

	if (!argv || !lens) {
		free(argv);
		free(lens);
		return sb_rd_nomem(s, "add");
	}
	chunk_args(argv, lens, k, bank, items, n);
	rc = sb_rd_eval(&r, s, SB_RD_SCRIPT_ADD, 3, 1 + (int)n, argv, lens, "add");
	if (rc == SB_OK)
		rc = chunk_counts(s, r, n, added, skipped, "add");
	freeReplyObject(r);
	free(argv);
	free(lens);
	return rc;
}

/* Send MULTI, one EVALSHA per chunk (EVAL with the source if
 * @p use_eval), EXEC, all pipelined, then read the replies. *noscript = 1
 * when the chunks failed with NOSCRIPT (then none ran: no SCRIPT FLUSH
 * can run inside EXEC). */
static int add_multi_once(uint64_t *added, uint64_t *skipped, int *noscript,
                          sb_rd_store *s, const bank_keys *k, const char *bank,
                          const char *const *items, size_t n, int use_eval)
{
	size_t nchunks = (n + SB_RD_ADD_CHUNK - 1) / SB_RD_ADD_CHUNK, i;
	const char **argv = malloc((7 + SB_RD_ADD_CHUNK) * sizeof(*argv));
	size_t *lens = malloc((7 + SB_RD_ADD_CHUNK) * sizeof(*lens));
	const char *multi[1] = { "MULTI" }, *exec[1] = { "EXEC" };
	size_t multi_len[1] = { 5 }, exec_len[1] = { 4 };
	redisReply *r = NULL;
	char nk[4] = "3";
	int rc, nos = 0, other = 0;

	*noscript = 0;
	if (!argv || !lens) {
		free(argv);
		free(lens);
		return sb_rd_nomem(s, "add");
	}
	rc = sb_rd_append(s, 1, multi, multi_len, "add");
	for (i = 0; rc == SB_OK && i < nchunks; i++) {
		size_t off = i * SB_RD_ADD_CHUNK;
		size_t m = n - off < SB_RD_ADD_CHUNK ? n - off : SB_RD_ADD_CHUNK;
		argv[0] = use_eval ? "EVAL" : "EVALSHA";
		lens[0] = strlen(argv[0]);
		argv[1] = use_eval ? sb_rd_script_src[SB_RD_SCRIPT_ADD] : s->sha[SB_RD_SCRIPT_ADD];
		lens[1] = strlen(argv[1]);
		argv[2] = nk;
		lens[2] = 1;
		chunk_args(argv, lens, k, bank, items + off, m);
		rc = sb_rd_append(s, (int)(7 + m), argv, lens, "add");
	}
	if (rc == SB_OK)
		rc = sb_rd_append(s, 1, exec, exec_len, "add");
	free(argv);
	free(lens);
	if (rc != SB_OK) {
		sb_rd_drop(s); /* half a pipeline must never reach the server */
		return rc;
	}
	/* +OK for MULTI, +QUEUED per chunk, then EXEC's array. Read them
	 * all even after an error, to keep the connection in step. */
	for (i = 0; i < nchunks + 1; i++) {
		if ((rc = sb_rd_read(&r, s, "add")) != SB_OK)
			return rc;
		if (r->type == REDIS_REPLY_ERROR && !other)
			other = sb_rd_reply_error(s, r, "add (queueing)");
		freeReplyObject(r);
		r = NULL;
	}
	if ((rc = sb_rd_read(&r, s, "add")) != SB_OK)
		return rc;
	if (r->type == REDIS_REPLY_ERROR) { /* EXECABORT: nothing ran */
		rc = sb_rd_reply_error(s, r, "add");
		freeReplyObject(r);
		return rc;
	}
	if (other) { /* cannot happen: a queueing error aborts EXEC */
		freeReplyObject(r);
		return other;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != nchunks) {
		rc = sb_rd_bad_reply(s, r, "add");
		freeReplyObject(r);
		return rc;
	}
	for (i = 0; i < nchunks; i++)
		if (sb_rd_is_noscript(r->element[i]))
			nos++;
	if (nos == (int)nchunks) {
		*noscript = 1;
		freeReplyObject(r);
		return SB_OK;
	}
	for (i = 0; rc == SB_OK && i < nchunks; i++) {
		const redisReply *e = r->element[i];
		if (e->type == REDIS_REPLY_ERROR)
			rc = sb_seterr(s->base.box, SB_EBACKEND,
			               "redis: add on %s: chunk %zu of %zu failed "
			               "(the others were applied): %.300s",
			               s->where, i + 1, nchunks, e->str);
		else
			rc = chunk_counts(s, e, i + 1 < nchunks ? SB_RD_ADD_CHUNK
			                  : n - i * SB_RD_ADD_CHUNK, added, skipped,
			                  "add");
	}
	freeReplyObject(r);
	return rc;
}

/* More than one chunk: one MULTI/EXEC, so the whole call is applied at
 * once or not at all (the transaction is discarded if the connection
 * drops before EXEC; inside EXEC every chunk passes the same checks). */
static int add_multi(uint64_t *added, uint64_t *skipped, sb_rd_store *s,
                     const bank_keys *k, const char *bank,
                     const char *const *items, size_t n)
{
	int attempt, noscript = 0, rc;

	if (!s->sha[SB_RD_SCRIPT_ADD][0] &&
	    (rc = sb_rd_script_load(s, SB_RD_SCRIPT_ADD, "add")) != SB_OK)
		return rc;
	/* After NOSCRIPT, again with EVAL and the source (see sb_rd_eval). */
	for (attempt = 0; attempt < 2; attempt++) {
		*added = *skipped = 0;
		rc = add_multi_once(added, skipped, &noscript, s, k, bank, items,
		                    n, attempt);
		if (rc != SB_OK || !noscript)
			return rc;
	}
	return sb_seterr(s->base.box, SB_EBACKEND,
	                 "redis: add on %s: NOSCRIPT from EVAL", s->where);
}

static int rd_add(uint64_t *added, uint64_t *skipped, sb_store *base,
                  const char *bank, const char *const *items, size_t n)
{
	sb_rd_store *s = (sb_rd_store *)base;
	bank_keys k;
	int rc;

	*added = *skipped = 0;
	if (n > SB_RD_ADD_MAX)
		return sb_seterr(base->box, SB_ENOTSUPPORTED,
		                 "redis: add on %s: %zu items in one call; at most "
		                 "%d are added atomically (one transaction blocks "
		                 "the server while it runs): add them in smaller "
		                 "batches", s->where, n, SB_RD_ADD_MAX);
	if ((rc = keys_make(&k, s, bank, "add")) != SB_OK)
		return rc;
	if (n <= SB_RD_ADD_CHUNK)
		rc = add_one(added, skipped, s, &k, bank, items, n);
	else
		rc = add_multi(added, skipped, s, &k, bank, items, n);
	keys_free(&k);
	if (rc != SB_OK)
		*added = *skipped = 0;
	return rc;
}

/* ----------------------------------------------------------------- take */

static int rd_take(sb_item **out, sb_store *base, const char *bank,
                   const char *token, int64_t now_ms)
{
	sb_rd_store *s = (sb_rd_store *)base;
	const char *argv[10];
	size_t lens[10];
	redisReply *r = NULL;
	char now[24];
	bank_keys k;
	int rc;

	*out = NULL;
	if ((rc = keys_make(&k, s, bank, "take")) != SB_OK)
		return rc;
	argv[3] = k.banks;
	lens[3] = k.banks_len;
	argv[4] = k.queue;
	lens[4] = k.queue_len;
	argv[5] = k.state;
	lens[5] = k.state_len;
	argv[6] = k.resv;
	lens[6] = k.resv_len;
	argv[7] = bank;
	lens[7] = strlen(bank);
	argv[8] = token;
	lens[8] = strlen(token);
	lens[9] = (size_t)snprintf(now, sizeof(now), "%" PRId64, now_ms);
	argv[9] = now;
	rc = sb_rd_eval(&r, s, SB_RD_SCRIPT_TAKE, 4, 3, argv, lens, "take");
	keys_free(&k);
	if (rc != SB_OK)
		return rc;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    !is_int(r->element[0])) {
		rc = sb_rd_bad_reply(s, r, "take");
	} else if (r->element[0]->integer == -2) {
		rc = no_bank(s, bank);
	} else if (r->element[0]->integer == 0) {
		rc = SB_EMPTY;
	} else if (r->element[0]->integer == 2 && r->elements == 2 &&
	           r->element[1]->type == REDIS_REPLY_STRING) {
		*out = sb_item_newn(r->element[1]->str, r->element[1]->len, bank,
		                    strlen(bank), 0);
		rc = *out ? SB_OK : sb_rd_nomem(s, "take");
	} else {
		rc = sb_rd_bad_reply(s, r, "take");
	}
	freeReplyObject(r);
	return rc;
}

/* ------------------------------------------------- settle and put back */

static int move(sb_rd_store *s, int script, const char *bank, const char *item,
                const char *token, const char *op)
{
	const char *argv[8];
	size_t lens[8];
	redisReply *r = NULL;
	bank_keys k;
	int rc, nkeys;

	if ((rc = keys_make(&k, s, bank, op)) != SB_OK)
		return rc;
	if (script == SB_RD_SCRIPT_SETTLE) { /* KEYS: state, resv */
		argv[3] = k.state;
		lens[3] = k.state_len;
		argv[4] = k.resv;
		lens[4] = k.resv_len;
		nkeys = 2;
	} else { /* KEYS: queue, state, resv */
		argv[3] = k.queue;
		lens[3] = k.queue_len;
		argv[4] = k.state;
		lens[4] = k.state_len;
		argv[5] = k.resv;
		lens[5] = k.resv_len;
		nkeys = 3;
	}
	argv[3 + nkeys] = item;
	lens[3 + nkeys] = strlen(item);
	argv[4 + nkeys] = token;
	lens[4 + nkeys] = strlen(token);
	rc = sb_rd_eval(&r, s, script, nkeys, 2, argv, lens, op);
	keys_free(&k);
	if (rc != SB_OK)
		return rc;
	if (!is_int(r))
		rc = sb_rd_bad_reply(s, r, op);
	else if (r->integer != 1)
		rc = sb_seterr(s->base.box, SB_ECONFLICT,
		               "redis: %s: item '%.*s' of bank '%.*s' on %s is "
		               "not reserved for this token", op, SB_RD_NAME_MAX,
		               item, SB_RD_NAME_MAX, bank, s->where);
	freeReplyObject(r);
	return rc;
}

static int rd_settle(sb_store *base, const char *bank, const char *item,
                     const char *token)
{
	return move((sb_rd_store *)base, SB_RD_SCRIPT_SETTLE, bank, item, token, "settle");
}

static int rd_put_back(sb_store *base, const char *bank, const char *item,
                       const char *token)
{
	return move((sb_rd_store *)base, SB_RD_SCRIPT_PUT_BACK, bank, item, token,
	            "put back");
}

/* ---------------------------------------------------------------- count */

static int rd_count(sb_bank_counts *out, sb_store *base, const char *bank)
{
	sb_rd_store *s = (sb_rd_store *)base;
	const char *argv[8];
	size_t lens[8];
	redisReply *r = NULL;
	bank_keys k;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = keys_make(&k, s, bank, "count")) != SB_OK)
		return rc;
	argv[3] = k.banks;
	lens[3] = k.banks_len;
	argv[4] = k.queue;
	lens[4] = k.queue_len;
	argv[5] = k.state;
	lens[5] = k.state_len;
	argv[6] = k.resv;
	lens[6] = k.resv_len;
	argv[7] = bank;
	lens[7] = strlen(bank);
	rc = sb_rd_eval(&r, s, SB_RD_SCRIPT_COUNT, 4, 1, argv, lens, "count");
	keys_free(&k);
	if (rc != SB_OK)
		return rc;
	if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
	    is_int(r->element[0]) && r->element[0]->integer == -2) {
		rc = no_bank(s, bank);
	} else if (r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
	           is_int(r->element[1]) && is_int(r->element[2]) &&
	           is_int(r->element[3]) && r->element[1]->integer >= 0 &&
	           r->element[2]->integer >= 0 && r->element[3]->integer >= 0) {
		out->available = (uint64_t)r->element[1]->integer;
		out->reserved = (uint64_t)r->element[2]->integer;
		out->assigned = (uint64_t)r->element[3]->integer;
	} else {
		rc = sb_rd_bad_reply(s, r, "count");
	}
	freeReplyObject(r);
	return rc;
}

/* ------------------------------------------------------------- reserved */

/* SISMEMBER and HGETALL pipelined: one round trip. HGETALL is one
 * snapshot (no entry twice, which HSCAN could not promise on a hash that
 * shrinks); reservations are few: those in flight and those of clients
 * that died. */
static int rd_reserved(sb_store *base, const char *bank, int64_t older_than,
                       sb_reservation_cb cb, void *payload)
{
	sb_rd_store *s = (sb_rd_store *)base;
	const char *a1[3], *a2[2];
	size_t l1[3], l2[2], i;
	redisReply *r1 = NULL, *r2 = NULL;
	bank_keys k;
	int rc;

	if ((rc = keys_make(&k, s, bank, "list reservations")) != SB_OK)
		return rc;
	a1[0] = "SISMEMBER";
	l1[0] = 9;
	a1[1] = k.banks;
	l1[1] = k.banks_len;
	a1[2] = bank;
	l1[2] = strlen(bank);
	a2[0] = "HGETALL";
	l2[0] = 7;
	a2[1] = k.resv;
	l2[1] = k.resv_len;
	rc = sb_rd_append(s, 3, a1, l1, "list reservations");
	if (rc == SB_OK)
		rc = sb_rd_append(s, 2, a2, l2, "list reservations");
	if (rc != SB_OK)
		sb_rd_drop(s);
	if (rc == SB_OK)
		rc = sb_rd_read(&r1, s, "list reservations");
	if (rc == SB_OK)
		rc = sb_rd_read(&r2, s, "list reservations");
	keys_free(&k);
	if (rc != SB_OK)
		goto out;
	if (r1->type == REDIS_REPLY_ERROR || r2->type == REDIS_REPLY_ERROR) {
		rc = sb_rd_reply_error(s, r1->type == REDIS_REPLY_ERROR ? r1 : r2,
		                    "list reservations");
		goto out;
	}
	if (!is_int(r1) || r2->type != REDIS_REPLY_ARRAY ||
	    r2->elements % 2) {
		rc = sb_rd_bad_reply(s, r2, "list reservations");
		goto out;
	}
	if (r1->integer == 0) {
		rc = no_bank(s, bank);
		goto out;
	}
	for (i = 0; rc == SB_OK && i + 1 < r2->elements; i += 2) {
		const redisReply *item = r2->element[i], *v = r2->element[i + 1];
		const char *nl;
		char *end;
		long long since;

		if (item->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING ||
		    !(nl = memchr(v->str, '\n', v->len))) {
			rc = sb_rd_bad_reply(s, v, "list reservations");
			break;
		}
		since = strtoll(v->str, &end, 10);
		if (end != nl) {
			rc = sb_rd_bad_reply(s, v, "list reservations");
			break;
		}
		if (since <= older_than)
			rc = cb(item->str, nl + 1, since, payload);
	}
out:
	freeReplyObject(r1);
	freeReplyObject(r2);
	return rc;
}

/* --------------------------------------------------------------- create */

static int rd_create(sb_store *base, const char *bank)
{
	sb_rd_store *s = (sb_rd_store *)base;
	const char *argv[3];
	size_t lens[3];
	redisReply *r = NULL;
	char *banks;
	int rc;

	if (!(banks = sb_rd_key(s, 0, NULL, &lens[1])))
		return sb_rd_nomem(s, "create bank");
	argv[0] = "SADD";
	lens[0] = 4;
	argv[1] = banks;
	argv[2] = bank;
	lens[2] = strlen(bank);
	rc = sb_rd_command(&r, s, 3, argv, lens, "create bank");
	free(banks);
	if (rc != SB_OK)
		return rc;
	if (r->type == REDIS_REPLY_ERROR)
		rc = sb_rd_reply_error(s, r, "create bank");
	else if (!is_int(r))
		rc = sb_rd_bad_reply(s, r, "create bank");
	freeReplyObject(r);
	return rc;
}

const sb_bank_ops sb_rd_bank_ops = {
	.version = SB_BANK_OPS_VERSION,
	.add_max = SB_RD_ADD_MAX,
	.add = rd_add,
	.take = rd_take,
	.settle = rd_settle,
	.put_back = rd_put_back,
	.count = rd_count,
	.reserved = rd_reserved,
	.create = rd_create,
};
