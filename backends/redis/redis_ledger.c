/* The ledger of the Redis backend: its slots (sb_rd_ledger_ops), those
 * of holds in redis_ledger_hold.c. Key layout: redis_keys.c; scripts:
 * redis_scripts.c and redis_lua_hold.c. */
#include "redis_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int malformed(sb_rd_store *s, const char *ledger, const char *op)
{
	return sb_seterr(s->base.box, SB_EBACKEND,
	                 "redis: %s: malformed entry in ledger '%.*s' on %s "
	                 "(data changed outside storagebox?)",
	                 op, SB_RD_NAME_MAX, ledger, s->where);
}

int sb_rd_ledger_decode(sb_item **out, int64_t *until, sb_rd_store *s,
                        const redisReply *v, const char *ledger, const char *op)
{
	int64_t u = 0;
	int bad = 0;

	if (!v || v->type != REDIS_REPLY_STRING)
		return sb_rd_bad_reply(s, v, op);
	*out = sb_rd_entry_decode(v->str, v->len, 0, &u, &bad);
	if (until)
		*until = u;
	if (*out)
		return SB_OK;
	return bad ? malformed(s, ledger, op) : sb_rd_nomem(s, op);
}

/* HGET of @p field in the hash of kind @p kind named @p name. */
static int rd_hget(redisReply **out, sb_rd_store *s, char kind,
                   const char *name, const char *field, const char *op)
{
	const char *argv[3];
	size_t lens[3];
	char *key;
	int rc;

	if (!(key = sb_rd_key(s, kind, name, &lens[1])))
		return sb_rd_nomem(s, op);
	argv[0] = "HGET";
	lens[0] = 4;
	argv[1] = key;
	argv[2] = field;
	lens[2] = strlen(field);
	rc = sb_rd_command(out, s, 3, argv, lens, op);
	free(key);
	return rc;
}

/* HGET; a hold's deadline is then judged by the server's clock (TIME,
 * one more round trip, for holds only: an entry for good costs what it
 * cost in version 1). */
static int rd_get(sb_item **out, sb_store *base, const char *ledger,
                  const char *dedup_id)
{
	sb_rd_store *s = (sb_rd_store *)base;
	redisReply *r = NULL;
	int64_t until = 0, now = 0;
	int rc, bad = 0;

	*out = NULL;
	rc = rd_hget(&r, s, SB_RD_KEY_LEDGER, ledger, dedup_id, "ledger get");
	if (rc != SB_OK)
		return rc;
	if (r->type == REDIS_REPLY_NIL)
		rc = sb_seterr(base->box, SB_ENOTFOUND,
		               "redis: id '%.*s' holds no item in ledger '%.*s' "
		               "on %s",
		               SB_RD_NAME_MAX, dedup_id, SB_RD_NAME_MAX, ledger,
		               s->where);
	else if (r->type == REDIS_REPLY_ERROR)
		rc = sb_rd_reply_error(s, r, "ledger get");
	else
		rc = sb_rd_ledger_decode(out, &until, s, r, ledger,
		                         "ledger get");
	if (rc == SB_OK && until > 0 &&
	    (rc = sb_rd_time_ms(&now, s, "ledger get")) == SB_OK &&
	    until <= now) {
		/* Lapsed: the item again, with the flag (items are made
		 * with their flags). */
		sb_item_free(*out);
		*out = sb_rd_entry_decode(r->str, r->len, SB_ITEM_LAPSED,
		                          &until, &bad);
		if (!*out)
			rc = sb_rd_nomem(s, "ledger get");
	}
	freeReplyObject(r);
	if (rc != SB_OK) {
		sb_item_free(*out);
		*out = NULL;
	}
	return rc;
}

int sb_rd_ledger_put(sb_item **existing, sb_rd_store *s, const char *ledger,
                     const char *dedup_id, const char *bank, const char *item,
                     int64_t until_ms)
{
	char *k[3] = { NULL, NULL, NULL }, *entry, until[24];
	const char *argv[11];
	size_t lens[11], elen = 0;
	redisReply *r = NULL;
	int rc, i;

	*existing = NULL;
	entry = sb_rd_entry_encode(bank, item, &elen);
	if (!entry)
		return sb_rd_nomem(s, "ledger put");
	if ((rc = sb_rd_ledger_keys(k, lens + 3, s, ledger, "ledger put")) !=
	    SB_OK)
		goto out;
	for (i = 0; i < 3; i++)
		argv[3 + i] = k[i];
	argv[6] = s->tag;
	lens[6] = s->tag_len;
	argv[7] = dedup_id;
	lens[7] = strlen(dedup_id);
	argv[8] = bank;
	lens[8] = strlen(bank);
	argv[9] = entry;
	lens[9] = elen;
	lens[10] = sb_rd_i64(until, until_ms);
	argv[10] = until;
	rc = sb_rd_eval(&r, s, SB_RD_SCRIPT_LEDGER_PUT, 3, 5, argv, lens,
	                "ledger put");
	if (rc != SB_OK)
		goto out;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER) {
		rc = sb_rd_bad_reply(s, r, "ledger put");
	} else if (r->element[0]->integer == 1) {
		rc = SB_OK; /* stored now */
	} else if (r->elements != 2 ||
	           r->element[1]->type != REDIS_REPLY_STRING) {
		rc = sb_rd_bad_reply(s, r, "ledger put");
	} else if (until_ms == 0 && r->element[1]->len == elen &&
	           memcmp(r->element[1]->str, entry, elen) == 0) {
		rc = SB_OK; /* already exactly this (bank, item), for good */
	} else {
		rc = sb_rd_ledger_decode(existing, NULL, s, r->element[1],
		                         ledger, "ledger put");
		if (rc == SB_OK)
			rc = sb_seterr(s->base.box, SB_ECONFLICT,
			               "redis: id '%.*s' already holds an item "
			               "in ledger '%.*s'",
			               SB_RD_NAME_MAX, dedup_id, SB_RD_NAME_MAX,
			               ledger);
	}
out:
	freeReplyObject(r);
	for (i = 0; i < 3; i++)
		free(k[i]);
	free(entry);
	return rc;
}

static int rd_put_if_absent(sb_item **existing, sb_store *base,
                            const char *ledger, const char *dedup_id,
                            const char *bank, const char *item)
{
	return sb_rd_ledger_put(existing, (sb_rd_store *)base, ledger, dedup_id,
	                        bank, item, 0);
}

/* HSCAN, entries for good only (holds: export_holds). Entries added or
 * deleted during the export may or may not appear; HSCAN lists an entry
 * twice only if the hash's table shrinks during the scan, which takes a
 * release or reclaim of most of the ledger meanwhile. */
static int rd_export(sb_store *base, const char *ledger, sb_ledger_entry_cb cb,
                     void *payload)
{
	sb_rd_store *s = (sb_rd_store *)base;
	char cursor[32] = "0", *key;
	const char *argv[5];
	size_t lens[5];
	int rc = SB_OK;

	if (!(key = sb_rd_key(s, SB_RD_KEY_LEDGER, ledger, &lens[1])))
		return sb_rd_nomem(s, "export");
	do {
		redisReply *r = NULL, *page;
		size_t i;

		argv[0] = "HSCAN";
		lens[0] = 5;
		argv[1] = key;
		argv[2] = cursor;
		lens[2] = strlen(cursor);
		argv[3] = "COUNT";
		lens[3] = 5;
		argv[4] = "1000";
		lens[4] = 4;
		if ((rc = sb_rd_command(&r, s, 5, argv, lens, "export")) !=
		    SB_OK)
			break;
		if (r->type == REDIS_REPLY_ERROR) {
			rc = sb_rd_reply_error(s, r, "export");
			freeReplyObject(r);
			break;
		}
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[0]->len >= sizeof(cursor) ||
		    r->element[1]->type != REDIS_REPLY_ARRAY ||
		    r->element[1]->elements % 2) {
			rc = sb_rd_bad_reply(s, r, "export");
			freeReplyObject(r);
			break;
		}
		memcpy(cursor, r->element[0]->str, r->element[0]->len + 1);
		page = r->element[1];
		for (i = 0; rc == SB_OK && i + 1 < page->elements; i += 2) {
			sb_item *it = NULL;
			if (page->element[i]->type != REDIS_REPLY_STRING) {
				rc = sb_rd_bad_reply(s, page->element[i],
				                     "export");
				break;
			}
			if (page->element[i]->len == 0)
				continue; /* the mark (redis_keys.c) */
			if (page->element[i + 1]->type == REDIS_REPLY_STRING &&
			    page->element[i + 1]->len > 0 &&
			    page->element[i + 1]->str[0] == 'h')
				continue; /* a hold */
			rc = sb_rd_ledger_decode(&it, NULL, s,
			                         page->element[i + 1], ledger,
			                         "export");
			if (rc == SB_OK)
				rc = cb(page->element[i]->str, sb_item_bank(it),
				        sb_item_value(it), payload);
			sb_item_free(it);
		}
		freeReplyObject(r);
	} while (rc == SB_OK && strcmp(cursor, "0") != 0);
	free(key);
	return rc;
}

static int rd_ledger_count(uint64_t *out, sb_store *base, const char *ledger,
                           const char *bank)
{
	return sb_rd_ledger_count_live(out, (sb_rd_store *)base, ledger, bank);
}

const sb_ledger_ops sb_rd_ledger_ops = {
	.version = SB_LEDGER_OPS_VERSION,
	.get = rd_get,
	.put_if_absent = rd_put_if_absent,
	.export = rd_export,
	.count = rd_ledger_count,
	.create = NULL, /* ledgers are hashes, made by their first entry */
	.put_held = sb_rd_put_held,
	.update = sb_rd_update,
	.remove = sb_rd_remove,
	.export_holds = sb_rd_export_holds,
};
