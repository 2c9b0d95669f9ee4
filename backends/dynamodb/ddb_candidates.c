/* The claim's candidates: a page of a random Scan segment of a bank's
 * available table, shuffled, and what is left of it kept for the next
 * claim or take of the same store (hints only: every move is
 * conditional). */
#include "ddb_private.h"

#include <stdlib.h>
#include <string.h>

#define SB_DDB_MAX_SEGMENTS 64

static int scan_page(cJSON **items, sb_ddb_store *s, const char *table,
                     int segment, int total, int consistent)
{
	cJSON *body = cJSON_CreateObject(), *resp = NULL;
	int ok = 1, rc;

	*items = NULL;
	sb_ddb_add_str(body, "TableName", table, &ok);
	sb_ddb_add_num(body, "Limit", s->scan_limit, &ok);
	sb_ddb_add_str(body, "ProjectionExpression", "#i", &ok);
	sb_ddb_put(body, "ExpressionAttributeNames", sb_ddb_names_item(), &ok);
	if (consistent)
		sb_ddb_put(body, "ConsistentRead", cJSON_CreateTrue(), &ok);
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

/* How many claims one page serves: others take from it too, and a
 * left-over that turns out gone costs a failed transaction and a Scan.
 * Late in a bank's life, with the clients on the same few items, that
 * happens after a few claims: each such loss halves the number of claims
 * a page serves, each left-over taken adds one (the page is read again
 * sooner, not after a failed transaction). */
void sb_ddb_candidate_outcome(sb_ddb_store *s, int taken)
{
	if (taken)
		s->cand_max += s->cand_max < 1000;
	else if (s->cand_max > 1)
		s->cand_max /= 2;
}

/* The number of segments for about @p left items: each segment about
 * half a page, so that a page holds all of its segment (the pick is
 * random over it, and segments empty evenly) and hardly any segment is
 * empty (an empty one costs a request for nothing); one, the whole table,
 * when what is left fits in a page. */
static int segments_for(const sb_ddb_store *s, long left)
{
	long half = s->scan_limit > 1 ? s->scan_limit / 2 : 1;
	long n = (left + half - 1) / half;

	if (left <= s->scan_limit)
		return 1;
	return n > SB_DDB_MAX_SEGMENTS ? SB_DDB_MAX_SEGMENTS : (int)n;
}

/* Candidates from a random segment, so that clients spread over the
 * table instead of fighting over its first page. The number of segments
 * follows the items left: a full page doubles it (more than a page per
 * segment), a page that is not full holds a whole segment, and its count
 * times the segments tells about how many items are left (see
 * segments_for). An empty segment is followed by a whole-table page,
 * read consistently, whose emptiness proves the bank empty (the table
 * holds available items only). Left-overs of the last page (under half a second old) come
 * first; then *empty is -1, and the caller rescans at the first of them
 * that is gone (others are busy on that page: a Scan is cheaper than
 * failed transactions). */
int sb_ddb_scan_candidates(sb_ddb_store *s, cJSON **items, const char *table,
                           int *empty)
{
	int total = s->scan_segments, n, rc;

	*empty = 0;
	if (s->cand && s->cand_table && strcmp(s->cand_table, table) == 0 &&
	    cJSON_GetArraySize(s->cand) > 0 && sb_now_ms() - s->cand_ms < 500 &&
	    s->cand_uses < s->cand_max) {
		s->cand_uses++;
		*items = s->cand;
		s->cand = NULL;
		sb_ddb_drop_candidates(s);
		*empty = -1; /* from the cache: see sb_ddb_scan_candidates */
		return SB_OK;
	}
	sb_ddb_drop_candidates(s);
	s->cand_uses = 0;
	if (total > 1) {
		rc = scan_page(items, s, table,
		               (int)(sb_ddb_rand(s) % (uint32_t)total), total,
		               0);
		if (rc)
			return rc;
		n = cJSON_GetArraySize(*items);
		if (n >= s->scan_limit)
			s->scan_segments = total < SB_DDB_MAX_SEGMENTS / 2
			                           ? total * 2
			                           : SB_DDB_MAX_SEGMENTS;
		else if (n > 0)
			s->scan_segments = segments_for(s, (long)n * total);
		if (n > 0) {
			shuffle(s, *items);
			return SB_OK;
		}
		cJSON_Delete(*items);
	}
	/* Consistent: an empty whole-table page answers "empty", and on
	 * AWS an eventually consistent Scan can miss an item put back a
	 * moment ago (law 5). A page of a few small items costs one read
	 * unit more; the sold-out crowd still pays one Scan each. */
	if ((rc = scan_page(items, s, table, 0, 1, 1)))
		return rc;
	n = cJSON_GetArraySize(*items);
	shuffle(s, *items);
	/* A full page: more than a page left, segments again; else exactly
	 * what is left. Sold out: later claims look at the whole table at
	 * once, so the crowd that keeps asking pays one Scan each, not two. */
	s->scan_segments = n >= s->scan_limit ? (total > 4 ? total / 4 : 2) : 1;
	*empty = n == 0;
	return SB_OK;
}

/* The claim's Scan and its search for lapsed holds are two reads: a
 * lapsed hold put back into the bank between them (by a confirm that
 * lost to the deadline, or a recover) is in neither. A read of the
 * table after the search finds it (consistent: the put has returned). */
int sb_ddb_recheck_candidates(sb_ddb_store *s, cJSON **items, const char *table,
                              int *empty)
{
	int rc;

	sb_ddb_drop_candidates(s);
	s->cand_uses = 0;
	*empty = 0;
	if ((rc = scan_page(items, s, table, 0, 1, 1)))
		return rc;
	shuffle(s, *items);
	*empty = cJSON_GetArraySize(*items) == 0;
	return SB_OK;
}
