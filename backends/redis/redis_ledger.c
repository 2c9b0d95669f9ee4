/* The ledger of the Redis backend: its slots (sb_rd_ledger_ops). Key
 * layout: redis_keys.c; scripts: redis_scripts.c. */
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

int sb_rd_ledger_decode(sb_item **out, sb_rd_store *s, const redisReply *v,
                        const char *ledger, const char *op)
{
	int bad = 0;

	if (!v || v->type != REDIS_REPLY_STRING)
		return sb_rd_bad_reply(s, v, op);
	*out = sb_rd_entry_decode(v->str, v->len, 0, &bad);
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

static int rd_get(sb_item **out, sb_store *base, const char *ledger,
                  const char *dedup_id)
{
	sb_rd_store *s = (sb_rd_store *)base;
	redisReply *r = NULL;
	int rc;

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
		rc = sb_rd_ledger_decode(out, s, r, ledger, "ledger get");
	freeReplyObject(r);
	return rc;
}

static int rd_put_if_absent(sb_item **existing, sb_store *base,
                            const char *ledger, const char *dedup_id,
                            const char *bank, const char *item)
{
	sb_rd_store *s = (sb_rd_store *)base;
	char *lkey, *hkey, *entry;
	const char *argv[8];
	size_t lens[8], elen = 0;
	redisReply *r = NULL;
	int rc;

	*existing = NULL;
	lkey = sb_rd_key(s, SB_RD_KEY_LEDGER, ledger, &lens[3]);
	hkey = sb_rd_key(s, SB_RD_KEY_HELD, ledger, &lens[4]);
	entry = sb_rd_entry_encode(bank, item, &elen);
	if (!lkey || !hkey || !entry) {
		rc = sb_rd_nomem(s, "ledger put");
		goto out;
	}
	argv[3] = lkey;
	argv[4] = hkey;
	argv[5] = dedup_id;
	lens[5] = strlen(dedup_id);
	argv[6] = bank;
	lens[6] = strlen(bank);
	argv[7] = entry;
	lens[7] = elen;
	rc = sb_rd_eval(&r, s, SB_RD_SCRIPT_LEDGER_PUT, 2, 3, argv, lens,
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
	} else if (r->element[1]->len == elen &&
	           memcmp(r->element[1]->str, entry, elen) == 0) {
		rc = SB_OK; /* already exactly this (bank, item) */
	} else {
		rc = sb_rd_ledger_decode(existing, s, r->element[1], ledger,
		                         "ledger put");
		if (rc == SB_OK)
			rc = sb_seterr(base->box, SB_ECONFLICT,
			               "redis: id '%.*s' already holds another item "
			               "in ledger '%.*s'",
			               SB_RD_NAME_MAX, dedup_id, SB_RD_NAME_MAX,
			               ledger);
	}
out:
	freeReplyObject(r);
	free(lkey);
	free(hkey);
	free(entry);
	return rc;
}

/* HSCAN: the ledger hash only grows (entries are never deleted), and a
 * Redis hash that never shrinks is scanned without repeats; entries
 * added during the export may or may not appear. */
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
			rc = sb_rd_ledger_decode(&it, s, page->element[i + 1],
			                         ledger, "export");
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
	sb_rd_store *s = (sb_rd_store *)base;
	redisReply *r = NULL;
	int rc;

	*out = 0;
	rc = rd_hget(&r, s, SB_RD_KEY_HELD, ledger, bank, "ledger count");
	if (rc != SB_OK)
		return rc;
	if (r->type == REDIS_REPLY_ERROR) {
		rc = sb_rd_reply_error(s, r, "ledger count");
	} else if (r->type == REDIS_REPLY_STRING) {
		char *end;
		unsigned long long n = strtoull(r->str, &end, 10);
		if (*end || end == r->str)
			rc = sb_rd_bad_reply(s, r, "ledger count");
		else
			*out = n;
	} else if (r->type != REDIS_REPLY_NIL) {
		rc = sb_rd_bad_reply(s, r, "ledger count");
	}
	freeReplyObject(r);
	return rc;
}

const sb_ledger_ops sb_rd_ledger_ops = {
	.version = 1, /* holds not yet built here */
	.get = rd_get,
	.put_if_absent = rd_put_if_absent,
	.export = rd_export,
	.count = rd_ledger_count,
	.create = NULL, /* ledgers are hashes, made by their first entry */
};
