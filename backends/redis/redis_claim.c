/* The fused slots of the Redis backend: hold (and claim, a hold for
 * good), change and reclaim. Each call is one script (redis_lua_hold.c),
 * atomic on the server, nothing ever reserved; deadlines are the
 * server's clock (TIME in the script), never the client's now_ms. */
#include "redis_private.h"

#include <stdlib.h>
#include <string.h>

#define SB_RD_FAULT_CLAIM_DONE "redis_claim_after_reply"

/* The reply of the hold script into the slot's answer. */
static int hold_reply(sb_item **out, sb_rd_store *s, const redisReply *r,
                      const char *bank, const char *ledger)
{
	const redisReply *e;

	if (r->type == REDIS_REPLY_STRING) { /* the common path: for good */
		*out = sb_item_newn(r->str, r->len, bank, strlen(bank),
		                    SB_ITEM_NEW);
		return *out ? SB_OK : sb_rd_nomem(s, "claim");
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER)
		return sb_rd_bad_reply(s, r, "claim");
	switch (r->element[0]->integer) {
	case 1:
		if (r->elements != 2)
			break;
		return sb_rd_ledger_decode(out, NULL, s, r->element[1], ledger,
		                           "claim");
	case -2: return sb_rd_no_bank(s, bank);
	case 0: return SB_EMPTY;
	case 3: return SB_EMPTY_SETTLED;
	case 2:
		e = r->elements == 3 ? r->element[1] : NULL;
		if (!e || e->type != REDIS_REPLY_STRING ||
		    !sb_rd_is_int(r->element[2]) || r->element[2]->integer < 0)
			break;
		*out = sb_item_newn(e->str, e->len, bank, strlen(bank),
		                    SB_ITEM_NEW);
		if (!*out)
			return sb_rd_nomem(s, "claim");
		sb_item_set_expires(*out, r->element[2]->integer);
		return SB_OK;
	}
	return sb_rd_bad_reply(s, r, "claim");
}

/* After NOSCRIPT: the same call as EVAL with the source. */
static int hold_source(redisReply **out, sb_rd_store *s, const char *bank,
                       const char *ledger, const char *dedup_id,
                       const char *token, int64_t ttl_ms)
{
	/* KEYS in the script's order: ledger, held, queue, state. */
	static const char kind[4] = { SB_RD_KEY_LEDGER, SB_RD_KEY_HELD,
		                      SB_RD_KEY_QUEUE, SB_RD_KEY_STATE };
	char *k[4], ttl[24];
	const char *argv[11];
	size_t lens[11], i;
	int rc = SB_OK;

	for (i = 0; i < 4; i++) {
		k[i] = sb_rd_key(s, kind[i], i < 2 ? ledger : bank,
		                 &lens[3 + i]);
		argv[3 + i] = k[i];
		if (!k[i])
			rc = sb_rd_nomem(s, "claim");
	}
	if (rc == SB_OK) {
		argv[7] = dedup_id;
		lens[7] = strlen(dedup_id);
		argv[8] = bank;
		lens[8] = strlen(bank);
		argv[9] = token;
		lens[9] = strlen(token);
		lens[10] = sb_rd_i64(ttl, ttl_ms > 0 ? ttl_ms : 0);
		argv[10] = ttl;
		rc = sb_rd_eval_source(out, s, SB_RD_SCRIPT_HOLD, 4, 4, argv,
		                       lens, "claim");
	}
	for (i = 0; i < 4; i++)
		free(k[i]);
	return rc;
}

int sb_rd_hold(sb_item **out, sb_store *base, const char *bank,
               const char *ledger, const char *dedup_id, const char *token,
               int64_t now_ms, int64_t ttl_ms)
{
	sb_rd_store *s = (sb_rd_store *)base;
	redisReply *r = NULL;
	int rc;

	(void)now_ms; /* the server's clock decides */
	*out = NULL;
	if (!s->sha[SB_RD_SCRIPT_HOLD][0] &&
	    (rc = sb_rd_script_load(s, SB_RD_SCRIPT_HOLD, "claim")) != SB_OK)
		return rc;
	if (sb_rd_hold_cmd(s, bank, ledger, dedup_id, token, ttl_ms) != SB_OK)
		return sb_rd_nomem(s, "claim");
	rc = sb_rd_command_resp(&r, s, s->hc.buf, s->hc.len, "claim");
	if (rc != SB_OK)
		return rc;
	if (sb_rd_is_noscript(r)) {
		/* Flushed, restarted or failed over: the script did not run,
		 * so running it again is safe. */
		freeReplyObject(r);
		rc = hold_source(&r, s, bank, ledger, dedup_id, token, ttl_ms);
		if (rc != SB_OK)
			return rc;
	} else if (r->type == REDIS_REPLY_ERROR) {
		rc = sb_rd_reply_error(s, r, "claim");
		freeReplyObject(r);
		return rc;
	}
	/* Crash point (fault builds): the server ran the script and
	 * answered; the client dies before the caller sees the item. */
	if (sb_fault_point(base->box, SB_RD_FAULT_CLAIM_DONE)) {
		freeReplyObject(r);
		return sb_seterr(base->box, SB_ERROR,
		                 "redis: claim: injected "
		                 "fault at crash point '%s' (committed)",
		                 SB_RD_FAULT_CLAIM_DONE);
	}
	rc = hold_reply(out, s, r, bank, ledger);
	freeReplyObject(r);
	return rc;
}

int sb_rd_claim(sb_item **out, sb_store *base, const char *bank,
                const char *ledger, const char *dedup_id, const char *token,
                int64_t now_ms)
{
	return sb_rd_hold(out, base, bank, ledger, dedup_id, token, now_ms, 0);
}

static const char *change_name(unsigned int op)
{
	switch (op) {
	case SB_CHANGE_CONFIRM: return "confirm";
	case SB_CHANGE_EXTEND: return "extend";
	case SB_CHANGE_RESTOCK: return "restock";
	default: return "retire";
	}
}

int sb_rd_change(sb_item **out, sb_store *base, const char *ledger,
                 const char *dedup_id, const char *token, unsigned int op,
                 int64_t now_ms, int64_t ttl_ms)
{
	sb_rd_store *s = (sb_rd_store *)base;
	const char *name = change_name(op);
	char *k[3] = { NULL, NULL, NULL }, nop[24], ttl[24];
	const char *argv[11];
	size_t lens[11];
	redisReply *r = NULL;
	long long code;
	int rc, i;

	(void)now_ms; /* the server's clock decides */
	*out = NULL;
	if (op < SB_CHANGE_CONFIRM || op > SB_CHANGE_RETIRE)
		return sb_seterr(base->box, SB_EINVALID,
		                 "redis: change: unknown operation %u", op);
	if ((rc = sb_rd_ledger_keys(k, lens + 3, s, ledger, name)) != SB_OK)
		return rc;
	for (i = 0; i < 3; i++)
		argv[3 + i] = k[i];
	argv[6] = s->tag;
	lens[6] = s->tag_len;
	argv[7] = dedup_id;
	lens[7] = strlen(dedup_id);
	argv[8] = token;
	lens[8] = strlen(token);
	lens[9] = sb_rd_i64(nop, op);
	argv[9] = nop;
	lens[10] = sb_rd_i64(ttl, ttl_ms > 0 ? ttl_ms : 0);
	argv[10] = ttl;
	rc = sb_rd_eval(&r, s, SB_RD_SCRIPT_CHANGE, 3, 5, argv, lens, name);
	for (i = 0; i < 3; i++)
		free(k[i]);
	if (rc != SB_OK)
		return rc;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    !sb_rd_is_int(r->element[0])) {
		rc = sb_rd_bad_reply(s, r, name);
		goto out;
	}
	code = r->element[0]->integer;
	if (code == -1)
		rc = sb_seterr(base->box, SB_ENOTFOUND,
		               "redis: %s: id '%.*s' holds nothing in ledger "
		               "'%.*s' on %s",
		               name, SB_RD_NAME_MAX, dedup_id, SB_RD_NAME_MAX,
		               ledger, s->where);
	else if (code == -3)
		rc = sb_seterr(base->box, SB_EEXPIRED,
		               "redis: %s: the hold of id '%.*s' in ledger "
		               "'%.*s' lapsed (its item went back to the bank)",
		               name, SB_RD_NAME_MAX, dedup_id, SB_RD_NAME_MAX,
		               ledger);
	else if (code == 0 && r->elements == 2 &&
	         (op == SB_CHANGE_CONFIRM || op == SB_CHANGE_EXTEND))
		rc = sb_rd_ledger_decode(out, NULL, s, r->element[1], ledger,
		                         name);
	else if (code != 0 || r->elements != 1 || op == SB_CHANGE_CONFIRM ||
	         op == SB_CHANGE_EXTEND)
		rc = sb_rd_bad_reply(s, r, name);
out:
	freeReplyObject(r);
	return rc;
}

/* Batches of SB_RD_RECLAIM_BATCH, until a batch comes back short (every
 * lapsed hold seen) or changed nothing (the rest are reclaims in flight
 * of the generic path, which recovery finishes). */
int sb_rd_reclaim(uint64_t *n, sb_store *base, const char *bank, int64_t now_ms)
{
	sb_rd_store *s = (sb_rd_store *)base;
	const char *argv[8];
	size_t lens[8];
	char limit[24];
	sb_rd_bank_keys k;
	int rc;

	(void)now_ms; /* the server's clock decides */
	*n = 0;
	if ((rc = sb_rd_bank_keys_make(&k, s, bank, "reclaim")) != SB_OK)
		return rc;
	for (;;) {
		redisReply *r = NULL;
		long long got, seen, fixed;
		int i, ok;

		argv[3] = k.key[SB_RD_BK_BANKS];
		lens[3] = k.len[SB_RD_BK_BANKS];
		argv[4] = k.key[SB_RD_BK_DUE];
		lens[4] = k.len[SB_RD_BK_DUE];
		argv[5] = s->tag;
		lens[5] = s->tag_len;
		argv[6] = bank;
		lens[6] = strlen(bank);
		lens[7] = sb_rd_i64(limit, SB_RD_RECLAIM_BATCH);
		argv[7] = limit;
		rc = sb_rd_eval(&r, s, SB_RD_SCRIPT_RECLAIM, 2, 3, argv, lens,
		                "reclaim");
		if (rc != SB_OK)
			break;
		ok = r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
		     sb_rd_is_int(r->element[0]);
		if (ok && r->element[0]->integer == -2) {
			freeReplyObject(r);
			rc = sb_rd_no_bank(s, bank);
			break;
		}
		ok = ok && r->elements == 4;
		for (i = 1; ok && i < 4; i++)
			ok = sb_rd_is_int(r->element[i]) &&
			     r->element[i]->integer >= 0;
		if (!ok) {
			rc = sb_rd_bad_reply(s, r, "reclaim");
			freeReplyObject(r);
			break;
		}
		got = r->element[1]->integer;
		seen = r->element[2]->integer;
		fixed = r->element[3]->integer;
		freeReplyObject(r);
		*n += (uint64_t)got;
		if (seen < SB_RD_RECLAIM_BATCH || got + fixed == 0)
			break;
	}
	sb_rd_bank_keys_free(&k);
	return rc;
}
