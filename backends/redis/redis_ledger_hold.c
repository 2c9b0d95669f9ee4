/* The ledger slots of holds (version 2): put_held, update, remove,
 * export_holds, and the count of entries for good and live holds. Each
 * is one script (redis_lua_hold.c) that reads the server's clock when it
 * has a hold to judge. */
#include "redis_private.h"

#include <stdlib.h>
#include <string.h>

/* The script's reply to update or remove: its first element. */
static int reply_code(long long *code, sb_rd_store *s, const redisReply *r,
                      const char *op)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    !sb_rd_is_int(r->element[0]))
		return sb_rd_bad_reply(s, r, op);
	*code = r->element[0]->integer;
	return SB_OK;
}

static int no_entry(sb_rd_store *s, const char *ledger, const char *dedup_id,
                    const char *op)
{
	return sb_seterr(s->base.box, SB_ENOTFOUND,
	                 "redis: %s: id '%.*s' holds no such item in ledger "
	                 "'%.*s' on %s",
	                 op, SB_RD_NAME_MAX, dedup_id, SB_RD_NAME_MAX, ledger,
	                 s->where);
}

static int lapsed(sb_rd_store *s, const char *ledger, const char *dedup_id,
                  const char *op)
{
	return sb_seterr(s->base.box, SB_EEXPIRED,
	                 "redis: %s: the hold of id '%.*s' in ledger '%.*s' "
	                 "lapsed",
	                 op, SB_RD_NAME_MAX, dedup_id, SB_RD_NAME_MAX, ledger);
}

int sb_rd_put_held(sb_item **existing, sb_store *base, const char *ledger,
                   const char *dedup_id, const char *bank, const char *item,
                   int64_t until_ms)
{
	sb_rd_store *s = (sb_rd_store *)base;

	if (until_ms <= 0)
		return sb_seterr(base->box, SB_EINVALID,
		                 "redis: put held: deadline %lld is not after the "
		                 "epoch",
		                 (long long)until_ms);
	return sb_rd_ledger_put(existing, s, ledger, dedup_id, bank, item,
	                        until_ms);
}

int sb_rd_update(sb_item **out, sb_store *base, const char *ledger,
                 const char *dedup_id, int64_t until_ms)
{
	sb_rd_store *s = (sb_rd_store *)base;
	char *k[3] = { NULL, NULL, NULL }, until[24];
	const char *argv[8];
	size_t lens[8], kl[3];
	redisReply *r = NULL;
	long long code = 0;
	int rc, i;

	*out = NULL;
	if ((rc = sb_rd_ledger_keys(k, kl, s, ledger, "ledger update")) != SB_OK)
		return rc;
	argv[3] = k[0]; /* KEYS: ledger, holds */
	lens[3] = kl[0];
	argv[4] = k[2];
	lens[4] = kl[2];
	argv[5] = s->tag;
	lens[5] = s->tag_len;
	argv[6] = dedup_id;
	lens[6] = strlen(dedup_id);
	lens[7] = sb_rd_i64(until, until_ms);
	argv[7] = until;
	rc = sb_rd_eval(&r, s, SB_RD_SCRIPT_LEDGER_UPDATE, 2, 3, argv, lens,
	                "ledger update");
	for (i = 0; i < 3; i++)
		free(k[i]);
	if (rc != SB_OK)
		return rc;
	rc = reply_code(&code, s, r, "ledger update");
	if (rc == SB_OK) {
		if (code == -1)
			rc = no_entry(s, ledger, dedup_id, "ledger update");
		else if (code == -3)
			rc = lapsed(s, ledger, dedup_id, "ledger update");
		else if (code == 0 && r->elements == 2)
			rc = sb_rd_ledger_decode(out, NULL, s, r->element[1],
			                         ledger, "ledger update");
		else
			rc = sb_rd_bad_reply(s, r, "ledger update");
	}
	freeReplyObject(r);
	return rc;
}

int sb_rd_remove(sb_item **entry, sb_store *base, const char *ledger,
                 const char *dedup_id, const char *bank, const char *item,
                 unsigned int mode)
{
	sb_rd_store *s = (sb_rd_store *)base;
	char *k[3] = { NULL, NULL, NULL }, *enc, nmode[24];
	const char *argv[11];
	size_t lens[11], elen = 0;
	redisReply *r = NULL;
	long long code = 0;
	int rc, i;

	*entry = NULL;
	if (!(enc = sb_rd_entry_encode(bank, item, &elen)))
		return sb_rd_nomem(s, "ledger remove");
	if ((rc = sb_rd_ledger_keys(k, lens + 3, s, ledger, "ledger remove")) !=
	    SB_OK) {
		free(enc);
		return rc;
	}
	for (i = 0; i < 3; i++)
		argv[3 + i] = k[i];
	argv[6] = s->tag;
	lens[6] = s->tag_len;
	argv[7] = dedup_id;
	lens[7] = strlen(dedup_id);
	argv[8] = bank;
	lens[8] = strlen(bank);
	argv[9] = enc;
	lens[9] = elen;
	lens[10] = sb_rd_i64(nmode, mode);
	argv[10] = nmode;
	rc = sb_rd_eval(&r, s, SB_RD_SCRIPT_LEDGER_REMOVE, 3, 5, argv, lens,
	                "ledger remove");
	for (i = 0; i < 3; i++)
		free(k[i]);
	free(enc);
	if (rc != SB_OK)
		return rc;
	rc = reply_code(&code, s, r, "ledger remove");
	if (rc == SB_OK && code == -1) {
		rc = no_entry(s, ledger, dedup_id, "ledger remove");
	} else if (rc == SB_OK && code == -3) {
		rc = lapsed(s, ledger, dedup_id, "ledger remove");
	} else if (rc == SB_OK && code == -4 && r->elements == 2) {
		rc = sb_rd_ledger_decode(entry, NULL, s, r->element[1], ledger,
		                         "ledger remove");
		if (rc == SB_OK)
			rc = sb_seterr(base->box, SB_ECONFLICT,
			               "redis: ledger remove: the entry of id "
			               "'%.*s' in ledger '%.*s' has not lapsed",
			               SB_RD_NAME_MAX, dedup_id, SB_RD_NAME_MAX,
			               ledger);
	} else if (rc == SB_OK && code != 0) {
		rc = sb_rd_bad_reply(s, r, "ledger remove");
	}
	freeReplyObject(r);
	return rc;
}

int sb_rd_ledger_count_live(uint64_t *out, sb_rd_store *s, const char *ledger,
                            const char *bank)
{
	char *k[3] = { NULL, NULL, NULL };
	const char *argv[8];
	size_t lens[8];
	redisReply *r = NULL;
	int rc, i;

	*out = 0;
	if ((rc = sb_rd_ledger_keys(k, lens + 3, s, ledger, "ledger count")) !=
	    SB_OK)
		return rc;
	for (i = 0; i < 3; i++)
		argv[3 + i] = k[i];
	argv[6] = s->tag;
	lens[6] = s->tag_len;
	argv[7] = bank;
	lens[7] = strlen(bank);
	rc = sb_rd_eval(&r, s, SB_RD_SCRIPT_LEDGER_COUNT, 3, 2, argv, lens,
	                "ledger count");
	for (i = 0; i < 3; i++)
		free(k[i]);
	if (rc != SB_OK)
		return rc;
	if (!sb_rd_is_int(r) || r->integer < 0)
		rc = sb_rd_bad_reply(s, r, "ledger count");
	else
		*out = (uint64_t)r->integer;
	freeReplyObject(r);
	return rc;
}

/* One script (redis_lua_hold.c). */
int sb_rd_export_holds(sb_store *base, const char *ledger, sb_export_hold_cb cb,
                       void *payload)
{
	sb_rd_store *s = (sb_rd_store *)base;
	char *k[3] = { NULL, NULL, NULL };
	const char *argv[7];
	size_t lens[7], kl[3], i;
	redisReply *r = NULL;
	int rc;

	if ((rc = sb_rd_ledger_keys(k, kl, s, ledger, "export holds")) != SB_OK)
		return rc;
	argv[3] = k[0]; /* KEYS: ledger, holds, held */
	lens[3] = kl[0];
	argv[4] = k[2];
	lens[4] = kl[2];
	argv[5] = k[1];
	lens[5] = kl[1];
	argv[6] = s->tag;
	lens[6] = s->tag_len;
	rc = sb_rd_eval(&r, s, SB_RD_SCRIPT_LEDGER_HOLDS, 3, 1, argv, lens,
	                "export holds");
	for (i = 0; i < 3; i++)
		free(k[i]);
	if (rc != SB_OK)
		return rc;
	if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
		rc = sb_rd_bad_reply(s, r, "export holds");
		goto out;
	}
	for (i = 0; rc == SB_OK && i + 1 < r->elements; i += 2) {
		sb_item *it = NULL;
		int64_t until = 0;

		if (r->element[i]->type != REDIS_REPLY_STRING) {
			rc = sb_rd_bad_reply(s, r->element[i], "export holds");
			break;
		}
		rc = sb_rd_ledger_decode(&it, &until, s, r->element[i + 1],
		                         ledger, "export holds");
		if (rc == SB_OK)
			rc = cb(r->element[i]->str, sb_item_bank(it),
			        sb_item_value(it), until, payload);
		sb_item_free(it);
	}
out:
	freeReplyObject(r);
	return rc;
}
