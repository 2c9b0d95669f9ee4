/* The claim's candidates: a page of a random Scan segment of a bank's
 * available table, shuffled, and what is left of it kept for the next
 * claim or take of the same store (hints only: every move is
 * conditional). */
#include "ddb_private.h"

#include <stdlib.h>
#include <string.h>

static int scan_page(cJSON **items, sb_ddb_store *s, const char *table,
                     int segment, int total)
{
	cJSON *body = cJSON_CreateObject(), *resp = NULL;
	int ok = 1, rc;

	*items = NULL;
	sb_ddb_add_str(body, "TableName", table, &ok);
	sb_ddb_add_num(body, "Limit", s->scan_limit, &ok);
	sb_ddb_add_str(body, "ProjectionExpression", "#i", &ok);
	sb_ddb_put(body, "ExpressionAttributeNames", sb_ddb_names_item(), &ok);
	if (total > 1) {
		sb_ddb_add_num(body, "Segment", segment, &ok);
		sb_ddb_add_num(body, "TotalSegments", total, &ok);
	}
	if (!ok) {
		cJSON_Delete(body);
		return sb_ddb_nomem(s, "Scan");
	}
	rc = sb_ddb_call(&resp, s, "Scan", body, table);
	cJSON_Delete(body);
	s->counters.scans++;
	if (rc)
		return rc;
	*items = cJSON_DetachItemFromObjectCaseSensitive(resp, "Items");
	cJSON_Delete(resp);
	if (!cJSON_IsArray(*items)) {
		cJSON_Delete(*items);
		*items = NULL;
		return sb_seterr(s->base.box, SB_EBACKEND,
		                 "DynamoDB Scan of %s: "
		                 "no Items in the answer",
		                 table);
	}
	return SB_OK;
}

void sb_ddb_drop_candidates(sb_ddb_store *s)
{
	cJSON_Delete(s->cand);
	s->cand = NULL;
	free(s->cand_table);
	s->cand_table = NULL;
}

void sb_ddb_keep_candidates(sb_ddb_store *s, const char *table, cJSON *items,
                            cJSON *from)
{
	cJSON *keep, *next;

	sb_ddb_drop_candidates(s);
	if (!from || !(keep = cJSON_CreateArray()) ||
	    !(s->cand_table = strdup(table))) {
		if (from)
			cJSON_Delete(keep);
		cJSON_Delete(items);
		return;
	}
	for (; from; from = next) {
		next = from->next;
		cJSON_AddItemToArray(keep,
		                     cJSON_DetachItemViaPointer(items, from));
	}
	cJSON_Delete(items);
	s->cand = keep;
	s->cand_ms = sb_now_ms();
}

/* Clients that read the same page should not try its items in the same
 * order. */
static void shuffle(sb_ddb_store *s, cJSON *arr)
{
	cJSON *v[1000], *c;
	int n = 0, i;

	cJSON_ArrayForEach(c, arr) if (n < 1000) v[n++] = c;
	for (i = n - 1; i > 0; i--) {
		int k = (int)(sb_ddb_rand(s) % (uint32_t)(i + 1));
		cJSON *t = v[i];
		v[i] = v[k];
		v[k] = t;
	}
	for (i = 0; i < n; i++)
		cJSON_DetachItemViaPointer(arr, v[i]);
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, v[i]);
}

/* Candidates from a random segment, so that clients spread over the
 * table instead of fighting over its first page. The number of segments
 * adapts: full pages double it, an empty segment cuts it, and an empty
 * segment is followed by a whole-table page, whose emptiness proves the
 * bank empty (the table holds available items only). Left-overs of the
 * last page (under half a second old) come first; then *empty is -1, and
 * the caller rescans at the first of them that is gone (others are busy
 * on that page: a Scan is cheaper than failed transactions). */
int sb_ddb_scan_candidates(sb_ddb_store *s, cJSON **items, const char *table,
                           int *empty)
{
	int total = s->scan_segments, rc;

	*empty = 0;
	if (s->cand && s->cand_table && strcmp(s->cand_table, table) == 0 &&
	    cJSON_GetArraySize(s->cand) > 0 && sb_now_ms() - s->cand_ms < 500) {
		*items = s->cand;
		s->cand = NULL;
		sb_ddb_drop_candidates(s);
		*empty = -1; /* from the cache: see sb_ddb_scan_candidates */
		return SB_OK;
	}
	sb_ddb_drop_candidates(s);
	rc = scan_page(items, s, table,
	               total > 1 ? (int)(sb_ddb_rand(s) % (uint32_t)total) : 0,
	               total);
	if (rc)
		return rc;
	shuffle(s, *items);
	if (cJSON_GetArraySize(*items) >= s->scan_limit) {
		if (s->scan_segments < 64)
			s->scan_segments *= 2;
		return SB_OK;
	}
	if (cJSON_GetArraySize(*items) > 0)
		return SB_OK;
	s->scan_segments = total > 4 ? total / 4 : 1;
	if (total > 1) {
		cJSON_Delete(*items);
		if ((rc = scan_page(items, s, table, 0, 1)))
			return rc;
	}
	*empty = cJSON_GetArraySize(*items) == 0;
	/* Sold out: later claims look at the whole table at once, so the
	 * crowd that keeps asking pays one Scan each, not two. */
	if (*empty)
		s->scan_segments = 1;
	return SB_OK;
}
