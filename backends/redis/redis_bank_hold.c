/* The bank slots of holds (version 2): take_held, move and list, and
 * move_if (version 3: stamps). Each is one script (redis_lua_hold.c).
 * Deadlines and stamps here come from the core (the generic path): the
 * bank only keeps them, the ledger decides. */
#include "redis_private.h"

#include <stdlib.h>
#include <string.h>

int sb_rd_take_held(sb_item **out, sb_store *base, const char *bank,
                    const char *token, int64_t until_ms)
{
	sb_rd_store *s = (sb_rd_store *)base;
	const char *argv[10];
	size_t lens[10];
	redisReply *r = NULL;
	char until[24];
	sb_rd_bank_keys k;
	int rc;

	*out = NULL;
	if ((rc = sb_rd_bank_keys_make(&k, s, bank, "take held")) != SB_OK)
		return rc;
	sb_rd_bank_keys_args(argv + 3, lens + 3, &k, 0, 3);
	argv[6] = k.key[SB_RD_BK_DUE];
	lens[6] = k.len[SB_RD_BK_DUE];
	argv[7] = bank;
	lens[7] = strlen(bank);
	argv[8] = token;
	lens[8] = strlen(token);
	lens[9] = sb_rd_i64(until, until_ms);
	argv[9] = until;
	rc = sb_rd_eval(&r, s, SB_RD_SCRIPT_TAKE_HELD, 4, 3, argv, lens,
	                "take held");
	sb_rd_bank_keys_free(&k);
	if (rc != SB_OK)
		return rc;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    !sb_rd_is_int(r->element[0])) {
		rc = sb_rd_bad_reply(s, r, "take held");
	} else if (r->element[0]->integer == -2) {
		rc = sb_rd_no_bank(s, bank);
	} else if (r->element[0]->integer == 0) {
		rc = SB_EMPTY;
	} else if (r->element[0]->integer == 2 && r->elements == 2 &&
	           r->element[1]->type == REDIS_REPLY_STRING) {
		*out = sb_item_newn(r->element[1]->str, r->element[1]->len,
		                    bank, strlen(bank), 0);
		sb_item_set_expires(*out, until_ms);
		rc = *out ? SB_OK : sb_rd_nomem(s, "take held");
	} else {
		rc = sb_rd_bad_reply(s, r, "take held");
	}
	freeReplyObject(r);
	return rc;
}

/* move, and move_if when @p expect is set (one more argument). */
static int rd_move(sb_store *base, const char *bank, const char *item,
                   const char *token, unsigned int from, unsigned int to,
                   int64_t until_ms, const int64_t *expect)
{
	sb_rd_store *s = (sb_rd_store *)base;
	const char *argv[17];
	size_t lens[17];
	char nfrom[24], nto[24], until[24], now[24], exp[24];
	const char *op = expect ? "move_if" : "move";
	redisReply *r = NULL;
	sb_rd_bank_keys k;
	int rc;

	if ((rc = sb_rd_bank_keys_make(&k, s, bank, op)) != SB_OK)
		return rc;
	/* KEYS: queue, state, resv, due, flight, gone, stamp. */
	sb_rd_bank_keys_args(argv + 3, lens + 3, &k, SB_RD_BK_QUEUE, 7);
	argv[10] = item;
	lens[10] = strlen(item);
	argv[11] = token;
	lens[11] = strlen(token);
	lens[12] = sb_rd_i64(nfrom, from);
	argv[12] = nfrom;
	lens[13] = sb_rd_i64(nto, to);
	argv[13] = nto;
	lens[14] = sb_rd_i64(until, until_ms);
	argv[14] = until;
	/* A reservation's since: the clock the core reserves and lists
	 * reservations by. */
	lens[15] = sb_rd_i64(now, sb_now_ms());
	argv[15] = now;
	if (expect) {
		lens[16] = sb_rd_i64(exp, *expect);
		argv[16] = exp;
	}
	rc = sb_rd_eval(&r, s, SB_RD_SCRIPT_MOVE, 7, expect ? 7 : 6, argv, lens,
	                op);
	sb_rd_bank_keys_free(&k);
	if (rc != SB_OK)
		return rc;
	if (!sb_rd_is_int(r))
		rc = sb_rd_bad_reply(s, r, op);
	else if (r->integer != 1)
		rc = sb_seterr(base->box, SB_ECONFLICT,
		               "redis: %s: item '%.*s' of bank '%.*s' on %s is "
		               "not in the expected state%s for this token",
		               op, SB_RD_NAME_MAX, item, SB_RD_NAME_MAX, bank,
		               s->where, expect ? " and stamp" : "");
	freeReplyObject(r);
	return rc;
}

int sb_rd_move(sb_store *base, const char *bank, const char *item,
               const char *token, unsigned int from, unsigned int to,
               int64_t until_ms)
{
	return rd_move(base, bank, item, token, from, to, until_ms, NULL);
}

int sb_rd_move_if(sb_store *base, const char *bank, const char *item,
                  const char *token, unsigned int from, unsigned int to,
                  int64_t until_ms, int64_t expect_ms)
{
	return rd_move(base, bank, item, token, from, to, until_ms, &expect_ms);
}

/* The state letter of a state hash value as an SB_STATE_* bit. */
static unsigned int state_bit(char c)
{
	switch (c) {
	case 'h': return SB_STATE_HELD;
	case 'b': return SB_STATE_RESTOCKING;
	case 't': return SB_STATE_RETIRING;
	case 'c': return SB_STATE_RECLAIMING;
	default: return 0;
	}
}

/* One script, so the list is one snapshot. Holds to list are those of
 * recovery passes (lapsed, or in flight): few in a healthy store. */
int sb_rd_list(sb_store *base, const char *bank, unsigned int states,
               int64_t until_le, sb_bank_item_cb cb, void *payload)
{
	sb_rd_store *s = (sb_rd_store *)base;
	const char *argv[11];
	size_t lens[11], i;
	char nstates[24], le[24];
	redisReply *r = NULL;
	sb_rd_bank_keys k;
	int rc;

	if ((rc = sb_rd_bank_keys_make(&k, s, bank, "list")) != SB_OK)
		return rc;
	argv[3] = k.key[SB_RD_BK_BANKS];
	lens[3] = k.len[SB_RD_BK_BANKS];
	argv[4] = k.key[SB_RD_BK_STATE];
	lens[4] = k.len[SB_RD_BK_STATE];
	argv[5] = k.key[SB_RD_BK_DUE];
	lens[5] = k.len[SB_RD_BK_DUE];
	argv[6] = k.key[SB_RD_BK_FLIGHT];
	lens[6] = k.len[SB_RD_BK_FLIGHT];
	argv[7] = k.key[SB_RD_BK_STAMP];
	lens[7] = k.len[SB_RD_BK_STAMP];
	argv[8] = bank;
	lens[8] = strlen(bank);
	lens[9] = sb_rd_i64(nstates, states);
	argv[9] = nstates;
	lens[10] = sb_rd_i64(le, until_le);
	argv[10] = le;
	rc = sb_rd_eval(&r, s, SB_RD_SCRIPT_LIST, 5, 3, argv, lens, "list");
	sb_rd_bank_keys_free(&k);
	if (rc != SB_OK)
		return rc;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    !sb_rd_is_int(r->element[0]) || (r->elements - 1) % 3) {
		rc = sb_rd_bad_reply(s, r, "list");
		goto out;
	}
	if (r->element[0]->integer == -2) {
		rc = sb_rd_no_bank(s, bank);
		goto out;
	}
	for (i = 1; rc == SB_OK && i + 2 < r->elements; i += 3) {
		const redisReply *it = r->element[i], *st = r->element[i + 1],
				 *ms = r->element[i + 2];
		unsigned int bit;
		char *end;
		long long v;

		if (it->type != REDIS_REPLY_STRING ||
		    st->type != REDIS_REPLY_STRING || st->len < 2 ||
		    ms->type != REDIS_REPLY_STRING ||
		    !(bit = state_bit(st->str[0]))) {
			rc = sb_rd_bad_reply(s, st, "list");
			break;
		}
		/* A stamp is the decimal text the core gave (it may not fit
		 * a double); scores come back as doubles' text: "1.7e+12" is
		 * possible in principle, so read them as a double. */
		if (bit & (SB_STATE_RESTOCKING | SB_STATE_RETIRING))
			v = strtoll(ms->str, &end, 10);
		else
			v = (long long)strtod(ms->str, &end);
		if (end == ms->str) {
			rc = sb_rd_bad_reply(s, ms, "list");
			break;
		}
		rc = cb(it->str, st->str + 1, bit, (int64_t)v, payload);
	}
out:
	freeReplyObject(r);
	return rc;
}
