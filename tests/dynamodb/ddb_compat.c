/* Sharing tables with the original Python library. Its requests are
 * replayed here as it sends them (ddb_original.h): tables with only
 * `item` / `deduplication_id` + `item_string`, a claim = Scan,
 * DeleteItem, conditional PutItem of the ledger record, and re-loading
 * codes with plain PutItem. storagebox must work on such
 * tables and never hand out an item twice, whoever took it. */
#include "ddb_original.h"

static sb_box *box;
static sb_ddb_store *s;

static int raw(const char *op, const char *json, cJSON **out)
{
	return ddb_raw(s, op, json, out, "compat test");
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
	orig_create_table(box, s, bank, "item");
	orig_create_table(box, s, ledger, "deduplication_id");
	for (int i = 0; i < 6; i++) {
		char item[16];
		snprintf(item, sizeof item, "CODE-%d", i);
		orig_put_item(box, s, bank, item);
	}

	/* The Python service hands one out. */
	char *py1 = orig_claim(box, s, bank, ledger, "py-user@example.com");
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
		orig_put_item(box, s, bank, item);
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
	char *py2 = orig_claim(box, s, bank, ledger, "py-user-2");
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
