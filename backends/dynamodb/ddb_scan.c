/* A whole table read by paginated Scan (counts, reservations, export):
 * DynamoDB answers at most 1 MB per page and says where to go on. */
#include "ddb_private.h"

int sb_ddb_scan_all(sb_ddb_store *s, cJSON *body, const char *table,
                    int (*cb)(const cJSON *, void *), void *payload)
{
	cJSON *resp = NULL, *next;
	const cJSON *lek;
	int rc;

	for (;;) {
		if ((rc = sb_ddb_call(&resp, s, "Scan", body, table)))
			return rc;
		if ((rc = cb(resp, payload))) {
			cJSON_Delete(resp);
			if (rc == SB_DDB_BADPAGE)
				return sb_seterr(s->base.box, SB_EBACKEND,
				                 "DynamoDB: a Scan page of "
				                 "table %s is malformed",
				                 table);
			return rc;
		}
		lek = cJSON_GetObjectItemCaseSensitive(resp,
		                                       "LastEvaluatedKey");
		if (!cJSON_IsObject(lek) || !lek->child) {
			cJSON_Delete(resp);
			return SB_OK;
		}
		cJSON_DeleteItemFromObjectCaseSensitive(body,
		                                        "ExclusiveStartKey");
		next = cJSON_Duplicate(lek, 1);
		cJSON_Delete(resp);
		if (!next ||
		    !cJSON_AddItemToObject(body, "ExclusiveStartKey", next)) {
			cJSON_Delete(next);
			return sb_ddb_nomem(s, "Scan");
		}
	}
}

int sb_ddb_count_page(const cJSON *resp, void *p)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(resp, "Count");

	/* A page holds at most 1 MB of items: anything outside that is a
	 * broken answer, and casting it would be undefined. */
	if (!c)
		return 0;
	if (!cJSON_IsNumber(c) || c->valuedouble < 0 || c->valuedouble > 1e7)
		return SB_DDB_BADPAGE;
	*(uint64_t *)p += (uint64_t)c->valuedouble;
	return 0;
}
