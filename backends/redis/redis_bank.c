/* The bank of the Redis backend: its slots (sb_rd_bank_ops), with take,
 * settle, put back and create here; add is in redis_add.c, count and
 * reserved in redis_bank_read.c, take_held, move and list in
 * redis_bank_hold.c. Key layout: redis_keys.c; scripts:
 * redis_scripts.c. */
#include "redis_private.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------------- take */

static int rd_take(sb_item **out, sb_store *base, const char *bank,
                   const char *token, int64_t now_ms)
{
	sb_rd_store *s = (sb_rd_store *)base;
	const char *argv[10];
	size_t lens[10];
	redisReply *r = NULL;
	char now[24];
	sb_rd_bank_keys k;
	int rc;

	*out = NULL;
	if ((rc = sb_rd_bank_keys_make(&k, s, bank, "take")) != SB_OK)
		return rc;
	sb_rd_bank_keys_args(argv + 3, lens + 3, &k, 0, 4);
	argv[7] = bank;
	lens[7] = strlen(bank);
	argv[8] = token;
	lens[8] = strlen(token);
	lens[9] = (size_t)snprintf(now, sizeof(now), "%" PRId64, now_ms);
	argv[9] = now;
	rc = sb_rd_eval(&r, s, SB_RD_SCRIPT_TAKE, 4, 3, argv, lens, "take");
	sb_rd_bank_keys_free(&k);
	if (rc != SB_OK)
		return rc;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    !sb_rd_is_int(r->element[0])) {
		rc = sb_rd_bad_reply(s, r, "take");
	} else if (r->element[0]->integer == -2) {
		rc = sb_rd_no_bank(s, bank);
	} else if (r->element[0]->integer == 0) {
		rc = SB_EMPTY;
	} else if (r->element[0]->integer == 2 && r->elements == 2 &&
	           r->element[1]->type == REDIS_REPLY_STRING) {
		*out = sb_item_newn(r->element[1]->str, r->element[1]->len,
		                    bank, strlen(bank), 0);
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
	sb_rd_bank_keys k;
	int rc, nkeys;

	if ((rc = sb_rd_bank_keys_make(&k, s, bank, op)) != SB_OK)
		return rc;
	/* KEYS: settle state, resv; put back queue, state, resv. */
	if (script == SB_RD_SCRIPT_SETTLE)
		nkeys = sb_rd_bank_keys_args(argv + 3, lens + 3, &k, 2, 2);
	else
		nkeys = sb_rd_bank_keys_args(argv + 3, lens + 3, &k, 1, 3);
	argv[3 + nkeys] = item;
	lens[3 + nkeys] = strlen(item);
	argv[4 + nkeys] = token;
	lens[4 + nkeys] = strlen(token);
	rc = sb_rd_eval(&r, s, script, nkeys, 2, argv, lens, op);
	sb_rd_bank_keys_free(&k);
	if (rc != SB_OK)
		return rc;
	if (!sb_rd_is_int(r))
		rc = sb_rd_bad_reply(s, r, op);
	else if (r->integer != 1)
		rc = sb_seterr(s->base.box, SB_ECONFLICT,
		               "redis: %s: item '%.*s' of bank '%.*s' on %s is "
		               "not reserved for this token",
		               op, SB_RD_NAME_MAX, item, SB_RD_NAME_MAX, bank,
		               s->where);
	freeReplyObject(r);
	return rc;
}

static int rd_settle(sb_store *base, const char *bank, const char *item,
                     const char *token)
{
	return move((sb_rd_store *)base, SB_RD_SCRIPT_SETTLE, bank, item, token,
	            "settle");
}

static int rd_put_back(sb_store *base, const char *bank, const char *item,
                       const char *token)
{
	return move((sb_rd_store *)base, SB_RD_SCRIPT_PUT_BACK, bank, item,
	            token, "put back");
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
	else if (!sb_rd_is_int(r))
		rc = sb_rd_bad_reply(s, r, "create bank");
	freeReplyObject(r);
	return rc;
}

/* ------------------------------------- slots whose work is elsewhere */

static int rd_add(uint64_t *added, uint64_t *skipped, sb_store *base,
                  const char *bank, const char *const *items, size_t n)
{
	return sb_rd_bank_add(added, skipped, (sb_rd_store *)base, bank, items,
	                      n);
}

static int rd_count(sb_bank_counts *out, sb_store *base, const char *bank)
{
	return sb_rd_bank_count(out, (sb_rd_store *)base, bank);
}

static int rd_reserved(sb_store *base, const char *bank, int64_t older_than,
                       sb_reservation_cb cb, void *payload)
{
	return sb_rd_bank_reserved((sb_rd_store *)base, bank, older_than, cb,
	                           payload);
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
	.take_held = sb_rd_take_held,
	.move = sb_rd_move,
	.list = sb_rd_list,
	.move_if = sb_rd_move_if,
};