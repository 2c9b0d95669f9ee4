/* The original Python library's requests, replayed as it sends them
 * (through the backend's own request function): tables with a hash key
 * only, plain PutItem loads, and its claim (Scan, DeleteItem, conditional
 * PutItem of the ledger record). Shared by the tests that check that
 * storagebox and the original can work on the same tables. Bodies are
 * built with cJSON: names and items are never pasted into JSON text. */
#ifndef SB_DDB_ORIGINAL_H
#define SB_DDB_ORIGINAL_H

#include "ddb_test.h"

/* {"S": v} */
static inline cJSON *orig_s(const char *v)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "S", v);
	return o;
}

/* Send @p body (taken) as @p op; the reply in @p out if wanted. */
static inline int orig_call(sb_ddb_store *s, const char *op, cJSON *body,
                            cJSON **out)
{
	cJSON *resp = NULL;
	int rc = sb_ddb_call(&resp, s, op, body, "original's request");

	cJSON_Delete(body);
	if (out)
		*out = resp;
	else
		cJSON_Delete(resp);
	return rc;
}

/* A table as the original (and storagebox 0.1.0) made it: a hash key
 * only, no index. */
static inline void orig_create_table(sb_box *box, sb_ddb_store *s,
                                     const char *t, const char *key)
{
	cJSON *b = cJSON_CreateObject(), *ad = cJSON_CreateObject();
	cJSON *ks = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "TableName", t);
	cJSON_AddStringToObject(ad, "AttributeName", key);
	cJSON_AddStringToObject(ad, "AttributeType", "S");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(b, "AttributeDefinitions"),
	                     ad);
	cJSON_AddStringToObject(ks, "AttributeName", key);
	cJSON_AddStringToObject(ks, "KeyType", "HASH");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(b, "KeySchema"), ks);
	cJSON_AddStringToObject(b, "BillingMode", "PAY_PER_REQUEST");
	CHECK_RC(box, orig_call(s, "CreateTable", b, NULL), SB_OK);
}

/* The original's load of one item: a plain PutItem. */
static inline void orig_put_item(sb_box *box, sb_ddb_store *s, const char *t,
                                 const char *item)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "TableName", t);
	cJSON_AddItemToObject(cJSON_AddObjectToObject(b, "Item"), "item",
	                      orig_s(item));
	CHECK_RC(box, orig_call(s, "PutItem", b, NULL), SB_OK);
}

/* DeleteItem of @p item from bank table @p bt: 1 if this call deleted it. */
static inline int orig_delete(sb_ddb_store *s, const char *bt, const char *item)
{
	cJSON *b = cJSON_CreateObject(), *del = NULL;
	int had;

	cJSON_AddStringToObject(b, "TableName", bt);
	cJSON_AddItemToObject(cJSON_AddObjectToObject(b, "Key"), "item",
	                      orig_s(item));
	cJSON_AddStringToObject(b, "ReturnValues", "ALL_OLD");
	had = orig_call(s, "DeleteItem", b, &del) == SB_OK &&
	      cJSON_GetObjectItemCaseSensitive(del, "Attributes");
	cJSON_Delete(del);
	return had;
}

/* The ledger record, if the id has none: SB_OK or the condition's code. */
static inline int orig_record(sb_ddb_store *s, const char *lt, const char *id,
                              const char *item)
{
	cJSON *b = cJSON_CreateObject(), *it;

	cJSON_AddStringToObject(b, "TableName", lt);
	it = cJSON_AddObjectToObject(b, "Item");
	cJSON_AddItemToObject(it, "deduplication_id", orig_s(id));
	cJSON_AddItemToObject(it, "item_string", orig_s(item));
	cJSON_AddStringToObject(b, "ConditionExpression",
	                        "attribute_not_exists(deduplication_id)");
	return orig_call(s, "PutItem", b, NULL);
}

/* The original's claim: scan from the start, delete what it found
 * (checking it really deleted it), put the ledger record if absent, else
 * put the item back. Returns the item (caller frees) or NULL (empty, or
 * the id had a record). */
static inline char *orig_claim(sb_box *box, sb_ddb_store *s, const char *bt,
                               const char *lt, const char *id)
{
	cJSON *b = cJSON_CreateObject(), *resp = NULL;
	const cJSON *it;
	char *got = NULL;

	cJSON_AddStringToObject(b, "TableName", bt);
	cJSON_AddNumberToObject(b, "Limit", 5);
	orig_call(s, "Scan", b, &resp);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(resp, "Items"))
	{
		const char *item = sb_ddb_get_s(it, "item");

		if (!item || !orig_delete(s, bt, item))
			continue;
		if (orig_record(s, lt, id, item) == SB_OK)
			got = t_xstrdup(item);
		else
			orig_put_item(box, s, bt, item); /* its put back */
		break;
	}
	cJSON_Delete(resp);
	return got;
}

#endif
