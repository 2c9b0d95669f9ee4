/* The ledger's holds on DynamoDB (version 2 slots): an entry with `until`
 * (N, ms) is a hold, lapsed once sb_now_ms() reaches it. Each slot is one
 * conditional request that compares `until` with the client's clock,
 * passed in as :now, and asks for the record when the condition fails
 * (ALL_OLD), so that the answer costs no second read. */
#include "ddb_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sb_ddb_ledger_put_held(sb_item **existing, sb_store *base,
                           const char *ledger, const char *dedup_id,
                           const char *bank, const char *item, int64_t until_ms)
{
	return sb_ddb_ledger_put(existing, (sb_ddb_store *)base, ledger,
	                         dedup_id, bank, item, until_ms);
}

/* The record a conditional request carried back (ALL_OLD) or returned
 * (ALL_NEW) as an item: SB_OK, SB_ENOTFOUND (none), or an error. */
static int record_item(sb_item **out, sb_ddb_store *s, const cJSON *resp,
                       const char *field, const char *table)
{
	const cJSON *rec = resp ? cJSON_GetObjectItemCaseSensitive(resp, field)
	                        : NULL;
	int rc;

	if (!cJSON_IsObject(rec) || !rec->child)
		return SB_ENOTFOUND;
	rc = sb_ddb_ledger_item(out, rec, NULL);
	return rc ? sb_ddb_bad_record(s, table, rc) : SB_OK;
}

cJSON *sb_ddb_live_hold_update(const char *table, const char *dedup_id,
                               int64_t now_ms, int64_t until_ms, int later_only)
{
	cJSON *body = cJSON_CreateObject(), *vals = cJSON_CreateObject();
	int ok = 1;

	sb_ddb_put(vals, ":now", sb_ddb_n(now_ms), &ok);
	if (until_ms)
		sb_ddb_put(vals, ":new", sb_ddb_n(until_ms), &ok);
	sb_ddb_add_str(body, "TableName", table, &ok);
	sb_ddb_put(body, "Key", sb_ddb_key(SB_DDB_LEDGER_KEY, dedup_id), &ok);
	sb_ddb_add_str(body, "UpdateExpression",
	               until_ms ? "SET #u = :new" : "REMOVE #u", &ok);
	/* Only a live hold changes (absent `until` compares false). */
	sb_ddb_add_str(body, "ConditionExpression",
	               until_ms && later_only ? "#u > :now AND #u <= :new"
	                                      : "#u > :now",
	               &ok);
	sb_ddb_put(body, "ExpressionAttributeNames",
	           sb_ddb_names("#u", "until", NULL, NULL), &ok);
	sb_ddb_put(body, "ExpressionAttributeValues", vals, &ok);
	sb_ddb_add_str(body, "ReturnValues", "ALL_NEW", &ok);
	sb_ddb_add_str(body, "ReturnValuesOnConditionCheckFailure", "ALL_OLD",
	               &ok);
	if (!ok) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

int sb_ddb_ledger_update(sb_item **out, sb_store *base, const char *ledger,
                         const char *dedup_id, int64_t until_ms)
{
	sb_ddb_store *s = (sb_ddb_store *)base;
	cJSON *body, *resp = NULL;
	char *table;
	int rc;

	*out = NULL;
	if ((rc = sb_ddb_check_key(s, dedup_id, "the dedup id")) ||
	    (rc = sb_ddb_table(s, &table, s->ledger_prefix, ledger, "")))
		return rc;
	body = sb_ddb_live_hold_update(table, dedup_id, sb_now_ms(), until_ms,
	                               0);
	rc = body ? sb_ddb_call(&resp, s, "UpdateItem", body, table)
	          : sb_ddb_nomem(s, "update");
	cJSON_Delete(body);
	if (rc == SB_OK) {
		rc = record_item(out, s, resp, "Attributes", table);
		if (rc == SB_ENOTFOUND)
			rc = sb_seterr(base->box, SB_EBACKEND,
			               "DynamoDB: UpdateItem of ledger table "
			               "%s returned no record",
			               table);
	} else if (rc == SB_ECONFLICT) {
		rc = record_item(out, s, resp, "Item", table);
		if (rc == SB_OK && sb_item_expires_ms(*out) > 0) {
			/* A hold that is not live: lapsed. */
			sb_item_free(*out);
			*out = NULL;
			rc = sb_seterr(base->box, SB_EEXPIRED,
			               "the hold of this id has lapsed");
		}
		/* else for good (stays so: SB_OK), or no entry */
	} else if (rc == SB_DDB_NOTABLE) {
		rc = SB_ENOTFOUND;
	}
	if (rc == SB_ENOTFOUND)
		sb_seterr(base->box, SB_ENOTFOUND, "no entry for this id");
	cJSON_Delete(resp);
	free(table);
	return rc;
}

int sb_ddb_ledger_remove(sb_item **entry, sb_store *base, const char *ledger,
                         const char *dedup_id, const char *bank,
                         const char *item, unsigned int mode)
{
	sb_ddb_store *s = (sb_ddb_store *)base;
	cJSON *body = cJSON_CreateObject(), *vals = cJSON_CreateObject();
	cJSON *resp = NULL, *names;
	char *table, cond[256];
	sb_item *old = NULL;
	int ok = 1, rc;

	*entry = NULL;
	if ((rc = sb_ddb_check_key(s, dedup_id, "the dedup id")) ||
	    (rc = sb_ddb_table(s, &table, s->ledger_prefix, ledger, ""))) {
		cJSON_Delete(body);
		cJSON_Delete(vals);
		return rc;
	}
	/* Records of the original have no bank: the core knows them as
	 * bank "". */
	snprintf(cond, sizeof cond, "#it = :i AND %s%s",
	         *bank ? "#b = :b" : "attribute_not_exists(#b)",
	         mode == SB_REMOVE_LIVE ? " AND (attribute_not_exists(#u) OR "
	                                  "#u = :z OR #u > :now)"
	         : mode == SB_REMOVE_LAPSED ? " AND #u > :z AND #u <= :now"
	                                    : "");
	names = sb_ddb_names("#it", "item_string", "#b", "bank");
	if (names && !cJSON_AddStringToObject(names, "#u", "until"))
		ok = 0;
	sb_ddb_add_s(vals, ":i", item, &ok);
	if (*bank)
		sb_ddb_add_s(vals, ":b", bank, &ok);
	if (mode != SB_REMOVE_ANY) {
		sb_ddb_put(vals, ":z", sb_ddb_n(0), &ok);
		sb_ddb_put(vals, ":now", sb_ddb_n(sb_now_ms()), &ok);
	} else {
		cJSON_DeleteItemFromObjectCaseSensitive(names, "#u");
	}
	sb_ddb_add_str(body, "TableName", table, &ok);
	sb_ddb_put(body, "Key", sb_ddb_key(SB_DDB_LEDGER_KEY, dedup_id), &ok);
	sb_ddb_add_str(body, "ConditionExpression", cond, &ok);
	sb_ddb_put(body, "ExpressionAttributeNames", names, &ok);
	sb_ddb_put(body, "ExpressionAttributeValues", vals, &ok);
	sb_ddb_add_str(body, "ReturnValuesOnConditionCheckFailure", "ALL_OLD",
	               &ok);
	rc = ok ? sb_ddb_call(&resp, s, "DeleteItem", body, table)
	        : sb_ddb_nomem(s, "remove");
	cJSON_Delete(body);
	if (rc == SB_DDB_NOTABLE) {
		rc = SB_ENOTFOUND;
	} else if (rc == SB_ECONFLICT) {
		rc = record_item(&old, s, resp, "Item", table);
		if (rc == SB_OK && (strcmp(sb_item_value(old), item) != 0 ||
		                    strcmp(sb_item_bank(old), bank) != 0))
			rc = SB_ENOTFOUND; /* the id holds another item */
		else if (rc == SB_OK && mode == SB_REMOVE_LIVE)
			rc = sb_seterr(base->box, SB_EEXPIRED,
			               "the hold of this id has lapsed");
		else if (rc == SB_OK) { /* SB_REMOVE_LAPSED: live or good */
			*entry = old;
			old = NULL;
			rc = sb_seterr(base->box, SB_ECONFLICT,
			               "the entry of this id has not lapsed");
		}
	}
	if (rc == SB_ENOTFOUND)
		sb_seterr(base->box, SB_ENOTFOUND,
		          "no entry of this item for this id");
	sb_item_free(old);
	cJSON_Delete(resp);
	free(table);
	return rc;
}

typedef struct {
	sb_ddb_store *s;
	const char *table;
	sb_export_hold_cb cb;
	void *payload;
	int stopped;
} holds_ctx;

static int holds_page(const cJSON *resp, void *p)
{
	holds_ctx *x = p;
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(resp, "Items");
	const cJSON *it;

	cJSON_ArrayForEach(it, items)
	{
		const char *id = sb_ddb_get_s(it, SB_DDB_LEDGER_KEY);
		const char *item = sb_ddb_get_s(it, "item_string");
		const char *bank = sb_ddb_get_s(it, "bank");
		int rc;
		if (!id || !item)
			return sb_ddb_bad_record(x->s, x->table, SB_EBACKEND);
		if ((rc = x->cb(id, bank ? bank : "", item, sb_ddb_until(it),
		                x->payload))) {
			x->stopped = 1;
			return rc;
		}
	}
	return 0;
}

int sb_ddb_ledger_export_holds(sb_store *base, const char *ledger,
                               sb_export_hold_cb cb, void *payload)
{
	sb_ddb_store *s = (sb_ddb_store *)base;
	holds_ctx x = { s, NULL, cb, payload, 0 };
	cJSON *body, *vals;
	char *table;
	int ok = 1, rc;

	if ((rc = sb_ddb_table(s, &table, s->ledger_prefix, ledger, "")))
		return rc;
	x.table = table;
	body = cJSON_CreateObject();
	vals = cJSON_CreateObject();
	sb_ddb_put(vals, ":now", sb_ddb_n(sb_now_ms()), &ok);
	sb_ddb_add_str(body, "TableName", table, &ok);
	sb_ddb_add_str(body, "FilterExpression", "#u > :now", &ok);
	sb_ddb_put(body, "ExpressionAttributeNames",
	           sb_ddb_names("#u", "until", NULL, NULL), &ok);
	sb_ddb_put(body, "ExpressionAttributeValues", vals, &ok);
	sb_ddb_put(body, "ConsistentRead", cJSON_CreateTrue(), &ok);
	rc = ok ? sb_ddb_scan_all(s, body, table, holds_page, &x)
	        : sb_ddb_nomem(s, "Scan");
	cJSON_Delete(body);
	free(table);
	if (x.stopped) /* the callback's value, whatever it is */
		sb_clearerr(base->box);
	else if (rc == SB_DDB_NOTABLE)
		rc = SB_OK; /* a ledger nobody wrote to: no holds */
	return rc;
}
