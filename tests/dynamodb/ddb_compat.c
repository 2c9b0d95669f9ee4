/* Sharing tables with the original Python library. Its requests are
 * replayed here as it sends them (through the backend's request function,
 * raw JSON): tables with only `item` / `deduplication_id` + `item_string`,
 * a claim = Scan, DeleteItem, conditional PutItem of the ledger record,
 * and re-loading codes with plain PutItem. storagebox must work on such
 * tables and never hand out an item twice, whoever took it. */
#include "ddb_test.h"

static sb_box *box;
static sb_ddb_store *s;

static int raw(const char *op, const char *json, cJSON **out)
{
	cJSON *body = cJSON_Parse(json), *resp = NULL;
	int rc;
	if (!body) {
		CHECKF(NULL, 0, "bad test JSON %s", json);
		return SB_EINVALID;
	}
	rc = sb_ddb_call(&resp, s, op, body, "compat test");
	cJSON_Delete(body);
	if (out)
		*out = resp;
	else
		cJSON_Delete(resp);
	return rc;
}

static void create_table(const char *t, const char *key)
{
	char *j = t_xasprintf("{\"TableName\":\"%s\",\"AttributeDefinitions\":"
	                      "[{\"AttributeName\":\"%s\",\"AttributeType\":\"S\"}],"
	                      "\"KeySchema\":[{\"AttributeName\":\"%s\","
	                      "\"KeyType\":\"HASH\"}],\"BillingMode\":"
	                      "\"PAY_PER_REQUEST\"}",
	                      t, key, key);
	CHECK_RC(box, raw("CreateTable", j, NULL), SB_OK);
	free(j);
}

static void py_put_item(const char *t, const char *item)
{
	char *j = t_xasprintf("{\"TableName\":\"%s\",\"Item\":{\"item\":"
	                      "{\"S\":\"%s\"}}}",
	                      t, item);
	CHECK_RC(box, raw("PutItem", j, NULL), SB_OK);
	free(j);
}

/* The original's claim: scan from the start, delete what it found
 * (checking it really deleted it), put the ledger record if absent.
 * Returns the item or NULL (empty / lost). */
static char *py_claim(const char *bt, const char *lt, const char *id)
{
	cJSON *resp = NULL;
	char *j = t_xasprintf("{\"TableName\":\"%s\",\"Limit\":5}", bt);
	char *got = NULL;
	raw("Scan", j, &resp);
	free(j);
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(resp, "Items"))
	{
		const char *item = sb_ddb_get_s(it, "item");
		cJSON *del = NULL;
		j = t_xasprintf("{\"TableName\":\"%s\",\"Key\":{\"item\":{\"S\":"
		                "\"%s\"}},\"ReturnValues\":\"ALL_OLD\"}",
		                bt, item);
		int rc = raw("DeleteItem", j, &del);
		free(j);
		int had = rc == SB_OK &&
		          cJSON_GetObjectItemCaseSensitive(del, "Attributes");
		cJSON_Delete(del);
		if (!had)
			continue;
		j = t_xasprintf("{\"TableName\":\"%s\",\"Item\":{"
		                "\"deduplication_id\":{\"S\":\"%s\"},"
		                "\"item_string\":{\"S\":\"%s\"}},"
		                "\"ConditionExpression\":"
		                "\"attribute_not_exists(deduplication_id)\"}",
		                lt, id, item);
		rc = raw("PutItem", j, NULL);
		free(j);
		if (rc == SB_OK)
			got = t_xstrdup(item);
		else
			py_put_item(bt, item); /* its put back */
		break;
	}
	cJSON_Delete(resp);
	return got;
}

int main(void)
{
	const char *uri = t_env_need("SB_TEST_DYNAMODB_URI");
	box = ddb_open_uri(uri, SB_PROTOCOL_AUTO);
	if (!box)
		return t_summary();
	s = ddb_store_of(box);
	char *bank = ddb_name("orig-codes");
	char *ledger = ddb_name("orig-dedup");

	/* Tables exactly as the original's README has them. */
	create_table(bank, "item");
	create_table(ledger, "deduplication_id");
	for (int i = 0; i < 6; i++) {
		char item[16];
		snprintf(item, sizeof item, "CODE-%d", i);
		py_put_item(bank, item);
	}

	/* The Python service hands one out. */
	char *py1 = py_claim(bank, ledger, "py-user@example.com");
	CHECK(NULL, py1 != NULL);

	/* storagebox on the same tables: its held table appears on demand. */
	sb_item *it = NULL;
	CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, "sb-user"), SB_OK);
	char *sb1 = it ? t_xstrdup(sb_item_value(it)) : NULL;
	CHECK(box, it && sb_item_is_new(it) && strcmp(sb1, py1) != 0);
	sb_item_free(it);
	/* The Python user asks storagebox: gets the Python record (no bank
	 * attribute: reported as the bank asked). */
	CHECK_RC(box,
	         sb_box_fetch(&it, box, bank, ledger, "py-user@example.com"),
	         SB_OK);
	CHECK(box, it && !sb_item_is_new(it) &&
	                   strcmp(sb_item_value(it), py1) == 0 &&
	                   strcmp(sb_item_bank(it), bank) == 0);
	sb_item_free(it);
	/* The storagebox user asks the Python service: the ledger answers
	 * first in its flow too (GetItem of deduplication_id): item_string. */
	cJSON *resp = NULL;
	char *j = t_xasprintf("{\"TableName\":\"%s\",\"Key\":{\"deduplication_id\":"
	                      "{\"S\":\"sb-user\"}},\"ConsistentRead\":true}",
	                      ledger);
	CHECK_RC(box, raw("GetItem", j, &resp), SB_OK);
	free(j);
	CHECK(box,
	      sb1 &&
	              sb_ddb_get_s(cJSON_GetObjectItemCaseSensitive(resp,
	                                                            "Item"),
	                           "item_string") &&
	              strcmp(sb_ddb_get_s(cJSON_GetObjectItemCaseSensitive(resp,
	                                                                   "Item"),
	                                  "item_string"),
	                     sb1) == 0);
	cJSON_Delete(resp);

	/* Someone re-loads the whole code list with the original (plain
	 * puts): the code storagebox issued comes back into the bank table.
	 * storagebox never hands it out again, and removes it when it meets
	 * it, so Python clients stop seeing it too. */
	for (int i = 0; i < 6; i++) {
		char item[16];
		snprintf(item, sizeof item, "CODE-%d", i);
		py_put_item(bank, item);
	}
	t_map seen;
	t_map_init(&seen);
	t_map_put(&seen, sb1, "sb-user");
	int n_new = 0, rc;
	for (int i = 0; i < 10; i++) {
		char id[16];
		snprintf(id, sizeof id, "later-%d", i);
		rc = sb_box_fetch(&it, box, bank, ledger, id);
		if (rc == SB_EMPTY)
			break;
		CHECK_RC(box, rc, SB_OK);
		if (!it)
			break;
		CHECKF(box, t_map_put(&seen, sb_item_value(it), id),
		       "%s handed out twice", sb_item_value(it));
		n_new++;
		sb_item_free(it);
		it = NULL;
	}
	/* 6 codes, sb1 refused; py1 was re-loaded by its own user's list, so
	 * it is handed out again: the original's own law-6 fault, which
	 * storagebox cannot see (it never held py1). */
	CHECKF(box, n_new == 5, "%d new items after the re-load", n_new);
	size_t left = 0;
	cJSON *sc = NULL;
	j = t_xasprintf("{\"TableName\":\"%s\",\"ConsistentRead\":true}", bank);
	CHECK_RC(box, raw("Scan", j, &sc), SB_OK);
	free(j);
	left = (size_t)cJSON_GetArraySize(
		cJSON_GetObjectItemCaseSensitive(sc, "Items"));
	cJSON_Delete(sc);
	CHECKF(box, left == 0,
	       "%zu items left in the bank table (the issued "
	       "code should have been removed)",
	       left);
	char *py2 = py_claim(bank, ledger, "py-user-2");
	CHECK(NULL, py2 == NULL);

	/* Stats: what storagebox took is in its held table. */
	sb_stats st;
	CHECK_RC(box, sb_box_stats(&st, box, bank, ledger), SB_OK);
	CHECKF(box, st.available == 0 && st.assigned == 6 && st.held == 6,
	       "available %llu assigned %llu held %llu",
	       (unsigned long long)st.available,
	       (unsigned long long)st.assigned, (unsigned long long)st.held);

	t_map_free(&seen);
	free(py1);
	free(py2);
	free(sb1);
	free(bank);
	free(ledger);
	sb_box_close(box);
	return t_summary();
}
