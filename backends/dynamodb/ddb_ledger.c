/* The ledger repository on DynamoDB: one table per ledger, hash key
 * `deduplication_id`, the item in `item_string` (the original's layout)
 * and the bank in `bank` (storagebox's addition; records written by the
 * original have none and are reported with the bank "" or, in a claim,
 * the bank asked). A hold also has `until` (N, ms since the epoch): it
 * lapses when sb_now_ms() reaches it, and then counts as absent: the
 * conditions of every write compare `until` with the client's clock,
 * passed in as a value. An entry for good has no `until`. The holds'
 * own slots are in ddb_holds.c. */
#include "ddb_private.h"

#include <stdlib.h>
#include <string.h>

int sb_ddb_ledger_item(sb_item **out, const cJSON *rec, const char *dflt_bank)
{
	const char *item = sb_ddb_get_s(rec, "item_string");
	const char *bank = sb_ddb_get_s(rec, "bank");

	*out = NULL;
	if (!item)
		return SB_EBACKEND;
	*out = sb_item_new(item, bank ? bank : dflt_bank ? dflt_bank : "", 0);
	if (!*out)
		return SB_ENOMEM;
	sb_item_set_expires(*out, sb_ddb_until(rec));
	return SB_OK;
}

int64_t sb_ddb_until(const cJSON *rec)
{
	int64_t u = 0;

	if (sb_ddb_get_n(rec, "until", &u) || u < 0)
		return 0;
	return u;
}

int sb_ddb_lapsed(const cJSON *rec, int64_t now_ms)
{
	int64_t u = sb_ddb_until(rec);

	return u > 0 && u <= now_ms;
}

cJSON *sb_ddb_ledger_record(const char *dedup_id, const char *bank,
                            const char *item, int64_t until_ms)
{
	cJSON *o = cJSON_CreateObject();
	int ok = 1;

	sb_ddb_add_s(o, SB_DDB_LEDGER_KEY, dedup_id, &ok);
	sb_ddb_add_s(o, "item_string", item, &ok);
	sb_ddb_add_s(o, "bank", bank, &ok);
	if (until_ms)
		sb_ddb_put(o, "until", sb_ddb_n(until_ms), &ok);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int sb_ddb_bad_record(sb_ddb_store *s, const char *table, int rc)
{
	if (rc == SB_ENOMEM)
		return sb_ddb_nomem(s, "ledger entry");
	return sb_seterr(s->base.box, SB_EBACKEND,
	                 "DynamoDB: a record of "
	                 "ledger table %s has no item_string (S)",
	                 table);
}

/* A consistent read of one entry. SB_OK, SB_ENOTFOUND or an error. */
int sb_ddb_ledger_get_table(sb_item **out, sb_ddb_store *s, const char *table,
                            const char *dedup_id)
{
	cJSON *body = cJSON_CreateObject(), *resp = NULL;
	const cJSON *it;
	int ok = 1, rc;

	*out = NULL;
	sb_ddb_add_str(body, "TableName", table, &ok);
	sb_ddb_put(body, "Key", sb_ddb_key(SB_DDB_LEDGER_KEY, dedup_id), &ok);
	sb_ddb_put(body, "ConsistentRead", cJSON_CreateTrue(), &ok);
	if (!ok) {
		cJSON_Delete(body);
		return sb_ddb_nomem(s, "GetItem");
	}
	rc = sb_ddb_call(&resp, s, "GetItem", body, table);
	cJSON_Delete(body);
	if (rc == SB_DDB_NOTABLE)
		return sb_seterr(s->base.box, SB_ENOTFOUND,
		                 "no entry for this id "
		                 "(ledger table %s does not exist)",
		                 table);
	if (rc)
		return rc;
	it = cJSON_GetObjectItemCaseSensitive(resp, "Item");
	if (!cJSON_IsObject(it)) {
		cJSON_Delete(resp);
		return sb_seterr(s->base.box, SB_ENOTFOUND,
		                 "no entry for this id");
	}
	rc = sb_ddb_ledger_item(out, it, NULL);
	cJSON_Delete(resp);
	return rc ? sb_ddb_bad_record(s, table, rc) : SB_OK;
}

static int ledger_get(sb_item **out, sb_store *base, const char *ledger,
                      const char *dedup_id)
{
	sb_ddb_store *s = (sb_ddb_store *)base;
	char *table;
	int rc;

	*out = NULL;
	if ((rc = sb_ddb_check_key(s, dedup_id, "the dedup id")) ||
	    (rc = sb_ddb_table(s, &table, s->ledger_prefix, ledger, "")))
		return rc;
	rc = sb_ddb_ledger_get_table(out, s, table, dedup_id);
	free(table);
	if (rc == SB_OK && sb_item_expires_ms(*out) > 0 &&
	    sb_item_expires_ms(*out) <= sb_now_ms()) {
		sb_item *it = sb_item_new(sb_item_value(*out),
		                          sb_item_bank(*out), SB_ITEM_LAPSED);
		if (it)
			sb_item_set_expires(it, sb_item_expires_ms(*out));
		sb_item_free(*out);
		*out = it;
		if (!it)
			rc = sb_ddb_nomem(s, "ledger get");
	}
	return rc;
}

/* Names and values of "absent or lapsed at :now". */
cJSON *sb_ddb_free_names(void)
{
	return sb_ddb_names("#d", SB_DDB_LEDGER_KEY, "#u", "until");
}

cJSON *sb_ddb_free_values(int64_t now_ms)
{
	cJSON *v = cJSON_CreateObject();
	int ok = 1;

	sb_ddb_put(v, ":z", sb_ddb_n(0), &ok);
	sb_ddb_put(v, ":now", sb_ddb_n(now_ms), &ok);
	if (!ok) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

int sb_ddb_put_entry(sb_item **existing, sb_ddb_store *s, const char *table,
                     const char *dedup_id, const char *bank, const char *item,
                     int64_t until_ms)
{
	cJSON *body = cJSON_CreateObject(), *resp = NULL;
	const cJSON *old;
	int ok = 1, rc;

	sb_ddb_add_str(body, "TableName", table, &ok);
	sb_ddb_put(body, "Item",
	           sb_ddb_ledger_record(dedup_id, bank, item, until_ms), &ok);
	sb_ddb_add_str(body, "ConditionExpression", SB_DDB_FREE_COND, &ok);
	sb_ddb_put(body, "ExpressionAttributeNames", sb_ddb_free_names(), &ok);
	sb_ddb_put(body, "ExpressionAttributeValues",
	           sb_ddb_free_values(sb_now_ms()), &ok);
	sb_ddb_add_str(body, "ReturnValuesOnConditionCheckFailure", "ALL_OLD",
	               &ok);
	if (!ok) {
		cJSON_Delete(body);
		return sb_ddb_nomem(s, "PutItem");
	}
	rc = sb_ddb_call(&resp, s, "PutItem", body, table);
	cJSON_Delete(body);
	if (rc != SB_ECONFLICT) {
		cJSON_Delete(resp);
		return rc;
	}
	/* The id has an entry: the error body carries it (ALL_OLD); an
	 * endpoint without that feature makes us read it. */
	old = resp ? cJSON_GetObjectItemCaseSensitive(resp, "Item") : NULL;
	if (cJSON_IsObject(old)) {
		rc = sb_ddb_ledger_item(existing, old, NULL);
		rc = rc ? sb_ddb_bad_record(s, table, rc) : SB_ECONFLICT;
	} else {
		rc = sb_ddb_ledger_get_table(existing, s, table, dedup_id);
		if (rc == SB_OK)
			rc = SB_ECONFLICT;
		else if (rc == SB_ENOTFOUND)
			rc = sb_seterr(s->base.box, SB_EBACKEND,
			               "DynamoDB: "
			               "ledger table %s: condition failed but "
			               "the entry is missing",
			               table);
	}
	cJSON_Delete(resp);
	return rc;
}

/* put_if_absent and put_held: @p until_ms 0 is for good. */
int sb_ddb_ledger_put(sb_item **existing, sb_ddb_store *s, const char *ledger,
                      const char *dedup_id, const char *bank, const char *item,
                      int64_t until_ms)
{
	char *table;
	int rc;

	*existing = NULL;
	if ((rc = sb_ddb_check_key(s, dedup_id, "the dedup id")) ||
	    (rc = sb_ddb_table(s, &table, s->ledger_prefix, ledger, "")))
		return rc;
	rc = sb_ddb_put_entry(existing, s, table, dedup_id, bank, item,
	                      until_ms);
	if (rc == SB_DDB_NOTABLE) {
		sb_ddb_table_forget(s, table);
		rc = sb_ddb_ensure_table(s, table, SB_DDB_LEDGER_KEY);
		if (rc == SB_OK)
			rc = sb_ddb_put_entry(existing, s, table, dedup_id,
			                      bank, item, until_ms);
		if (rc == SB_DDB_NOTABLE) /* the table was just made */
			rc = sb_ddb_table_gone(s);
	}
	free(table);
	return rc;
}

static int ledger_put(sb_item **existing, sb_store *base, const char *ledger,
                      const char *dedup_id, const char *bank, const char *item)
{
	sb_ddb_store *s = (sb_ddb_store *)base;
	int rc = sb_ddb_ledger_put(existing, s, ledger, dedup_id, bank, item,
	                           0);

	if (rc == SB_ECONFLICT && *existing &&
	    sb_item_expires_ms(*existing) == 0 &&
	    strcmp(sb_item_value(*existing), item) == 0 &&
	    strcmp(sb_item_bank(*existing), bank) == 0) {
		/* Already exactly this entry (a retry or recovery). */
		sb_item_free(*existing);
		*existing = NULL;
		rc = SB_OK;
	}
	return rc;
}

typedef struct {
	sb_ddb_store *s;
	const char *table;
	sb_ledger_entry_cb cb;
	void *payload;
	int stopped;
} export_ctx;

static int export_page(const cJSON *resp, void *p)
{
	export_ctx *x = p;
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
		if ((rc = x->cb(id, bank ? bank : "", item, x->payload))) {
			x->stopped = 1;
			return rc;
		}
	}
	return 0;
}

static int ledger_export(sb_store *base, const char *ledger,
                         sb_ledger_entry_cb cb, void *payload)
{
	sb_ddb_store *s = (sb_ddb_store *)base;
	export_ctx x = { s, NULL, cb, payload, 0 };
	cJSON *body, *vals;
	char *table;
	int ok = 1, rc;

	if ((rc = sb_ddb_table(s, &table, s->ledger_prefix, ledger, "")))
		return rc;
	x.table = table;
	body = cJSON_CreateObject();
	vals = cJSON_CreateObject();
	sb_ddb_put(vals, ":z", sb_ddb_n(0), &ok);
	sb_ddb_add_str(body, "TableName", table, &ok);
	/* Entries for good only: holds are export_holds()'s. */
	sb_ddb_add_str(body, "FilterExpression",
	               "attribute_not_exists(#u) OR #u = :z", &ok);
	sb_ddb_put(body, "ExpressionAttributeNames",
	           sb_ddb_names("#u", "until", NULL, NULL), &ok);
	sb_ddb_put(body, "ExpressionAttributeValues", vals, &ok);
	sb_ddb_put(body, "ConsistentRead", cJSON_CreateTrue(), &ok);
	rc = ok ? sb_ddb_scan_all(s, body, table, export_page, &x)
	        : sb_ddb_nomem(s, "Scan");
	cJSON_Delete(body);
	free(table);
	if (x.stopped) /* the callback's value, whatever it is */
		sb_clearerr(base->box);
	else if (rc == SB_DDB_NOTABLE)
		rc = SB_OK; /* a ledger nobody wrote to: no entries */
	return rc;
}

static int ledger_count(uint64_t *out, sb_store *base, const char *ledger,
                        const char *bank)
{
	sb_ddb_store *s = (sb_ddb_store *)base;
	cJSON *body, *vals;
	char *table;
	int ok = 1, rc;

	*out = 0;
	if ((rc = sb_ddb_table(s, &table, s->ledger_prefix, ledger, "")))
		return rc;
	body = cJSON_CreateObject();
	vals = cJSON_CreateObject();
	sb_ddb_add_s(vals, ":b", bank, &ok);
	sb_ddb_put(vals, ":z", sb_ddb_n(0), &ok);
	sb_ddb_put(vals, ":now", sb_ddb_n(sb_now_ms()), &ok);
	sb_ddb_add_str(body, "TableName", table, &ok);
	sb_ddb_add_str(body, "Select", "COUNT", &ok);
	/* For good, or a hold that has not lapsed. */
	sb_ddb_add_str(body, "FilterExpression",
	               "#b = :b AND (attribute_not_exists(#u) OR #u = :z OR "
	               "#u > :now)",
	               &ok);
	sb_ddb_put(body, "ExpressionAttributeNames",
	           sb_ddb_names("#b", "bank", "#u", "until"), &ok);
	sb_ddb_put(body, "ExpressionAttributeValues", vals, &ok);
	sb_ddb_put(body, "ConsistentRead", cJSON_CreateTrue(), &ok);
	rc = ok ? sb_ddb_scan_all(s, body, table, sb_ddb_count_page, out)
	        : sb_ddb_nomem(s, "Scan");
	cJSON_Delete(body);
	free(table);
	if (rc == SB_DDB_NOTABLE) {
		*out = 0; /* a ledger nobody wrote to */
		rc = SB_OK;
	}
	return rc;
}

static int ledger_create(sb_store *base, const char *ledger)
{
	sb_ddb_store *s = (sb_ddb_store *)base;
	char *table;
	int rc;

	if ((rc = sb_ddb_table(s, &table, s->ledger_prefix, ledger, "")))
		return rc;
	rc = sb_ddb_ensure_table(s, table, SB_DDB_LEDGER_KEY);
	free(table);
	return rc;
}

const sb_ledger_ops sb_ddb_ledger_ops = {
	.version = SB_LEDGER_OPS_VERSION,
	.get = ledger_get,
	.put_if_absent = ledger_put,
	.export = ledger_export,
	.count = ledger_count,
	.create = ledger_create,
	.put_held = sb_ddb_ledger_put_held,
	.update = sb_ddb_ledger_update,
	.remove = sb_ddb_ledger_remove,
	.export_holds = sb_ddb_ledger_export_holds,
};
