/* Lapsed holds on DynamoDB's fused path. A fused hold's record in
 * T(B).held has state "held", `until` and `ltable` (the table of its
 * ledger entry; the id is the token's second line), so it can be
 * reclaimed from the bank side in one TransactWriteItems that also
 * deletes the entry, conditionally on both still saying "lapsed at now".
 *
 * Finding them: the held table's deadline index (hash `state`, range
 * `until`) answers "held and until <= now" with one Query, so a claim
 * that finds the bank without an available item looks there, and only
 * when the holds marker says a fused hold was ever made (ddb_private.h).
 * The index is eventually consistent: a candidate is only a hint, every
 * take-over is conditional. A hold made by the generic path has no
 * `ltable`: its entry is looked for in this store's table of the
 * token's ledger (as the core's recovery does), and if that table has no
 * such entry the hold is left alone (its ledger may live in another
 * store, where a recover of that ledger finds it). */
#include "ddb_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cached(char **v, const char *t)
{
	unsigned int i;

	for (i = 0; i < SB_DDB_TABLE_CACHE; i++)
		if (v[i] && strcmp(v[i], t) == 0)
			return 1;
	return 0;
}

static void cache(char **v, unsigned int *next, const char *t)
{
	char *c = strdup(t);

	if (!c)
		return; /* only a cache */
	free(v[*next]);
	v[*next] = c;
	*next = (*next + 1) % SB_DDB_TABLE_CACHE;
}

/* Before this store's first fused hold on a bank: the holds marker, and
 * the deadline index asked for if the table predates it. */
int sb_ddb_mark_holds(sb_ddb_store *s, const char *held)
{
	cJSON *body, *rec, *resp = NULL;
	int ok = 1, rc;

	if (cached(s->hmarked, held))
		return SB_OK;
	rc = sb_ddb_due_index(s, held);
	if (rc == SB_DDB_NOTABLE) { /* a bank of the original */
		sb_clearerr(s->base.box);
		sb_ddb_table_forget(s, held);
		rc = sb_ddb_ensure_held(s, held);
	}
	if (rc < 0)
		return rc;
	body = cJSON_CreateObject();
	rec = cJSON_CreateObject();
	sb_ddb_add_s(rec, SB_DDB_ITEM_KEY, SB_DDB_HOLDS_MARK, &ok);
	sb_ddb_add_s(rec, "state", SB_DDB_HOLDS_STATE, &ok);
	sb_ddb_add_str(body, "TableName", held, &ok);
	sb_ddb_put(body, "Item", rec, &ok);
	if (!ok) {
		cJSON_Delete(body);
		return sb_ddb_nomem(s, "hold");
	}
	rc = sb_ddb_call(&resp, s, "PutItem", body, held);
	cJSON_Delete(body);
	cJSON_Delete(resp);
	if (rc == SB_DDB_NOTABLE)
		rc = sb_ddb_table_gone(s);
	if (rc == SB_OK)
		cache(s->hmarked, &s->hmarked_next, held);
	return rc;
}

/* ------------------------------------------------------------ finding */

/* Some lapsed fused holds of @p held (records with item, token, until,
 * ltable): a page of the deadline index, or, while the index of an
 * upgraded table is being made, a consistent filtered Scan up to its
 * first page that has any. *items is an array (maybe empty). *start: where
 * to go on (in: NULL for the beginning; out: NULL at the end), the
 * caller's to free. */
static int find_lapsed(cJSON **items, sb_ddb_store *s, const char *held,
                       int64_t now_ms, cJSON **start)
{
	int use_index = cached(s->indexed, held), page, ok = 1, rc;
	cJSON *body, *vals;

	*items = NULL;
	if (!use_index) {
		rc = sb_ddb_due_index(s, held);
		if (rc < 0 || rc == SB_DDB_NOTABLE)
			return rc;
		if (rc == 1)
			cache(s->indexed, &s->indexed_next, held);
		use_index = rc == 1;
	}
	if (!(*items = cJSON_CreateArray()))
		return sb_ddb_nomem(s, "lapsed holds");
	body = cJSON_CreateObject();
	vals = cJSON_CreateObject();
	sb_ddb_add_s(vals, ":h", "held", &ok);
	sb_ddb_put(vals, ":now", sb_ddb_n(now_ms), &ok);
	sb_ddb_add_str(body, "TableName", held, &ok);
	if (use_index) {
		sb_ddb_add_str(body, "IndexName", SB_DDB_DUE_INDEX, &ok);
		sb_ddb_add_str(body, "KeyConditionExpression",
		               "#s = :h AND #u <= :now", &ok);
		sb_ddb_add_num(body, "Limit", s->scan_limit, &ok);
	} else {
		sb_ddb_add_str(body, "FilterExpression",
		               "#s = :h AND #u <= :now", &ok);
		sb_ddb_put(body, "ConsistentRead", cJSON_CreateTrue(), &ok);
	}
	sb_ddb_put(body, "ExpressionAttributeNames",
	           sb_ddb_names("#s", "state", "#u", "until"), &ok);
	sb_ddb_put(body, "ExpressionAttributeValues", vals, &ok);
	if (*start) {
		sb_ddb_put(body, "ExclusiveStartKey", *start, &ok);
		*start = NULL;
	}
	if (!ok) {
		cJSON_Delete(body);
		return sb_ddb_nomem(s, "lapsed holds");
	}
	/* Filtered Scan pages may come back empty with more to read. */
	for (page = 0, rc = SB_OK; use_index ? page < 1 : 1; page++) {
		cJSON *resp = NULL, *got, *it, *next;
		const cJSON *lek;

		rc = sb_ddb_call(&resp, s, use_index ? "Query" : "Scan", body,
		                 held);
		if (rc)
			break;
		got = cJSON_GetObjectItemCaseSensitive(resp, "Items");
		while (cJSON_IsArray(got) && (it = got->child))
			cJSON_AddItemToArray(*items,
			                     cJSON_DetachItemViaPointer(got,
			                                                it));
		lek = cJSON_GetObjectItemCaseSensitive(resp,
		                                       "LastEvaluatedKey");
		if (!cJSON_IsObject(lek) || !lek->child) {
			cJSON_Delete(resp);
			break;
		}
		if (use_index || cJSON_GetArraySize(*items) > 0) {
			*start = cJSON_Duplicate(lek, 1);
			cJSON_Delete(resp);
			if (!*start)
				rc = sb_ddb_nomem(s, "lapsed holds");
			break;
		}
		cJSON_DeleteItemFromObjectCaseSensitive(body,
		                                        "ExclusiveStartKey");
		next = cJSON_Duplicate(lek, 1);
		cJSON_Delete(resp);
		if (!next ||
		    !cJSON_AddItemToObject(body, "ExclusiveStartKey", next)) {
			cJSON_Delete(next);
			rc = sb_ddb_nomem(s, "lapsed holds");
			break;
		}
	}
	cJSON_Delete(body);
	if (rc) {
		cJSON_Delete(*items);
		*items = NULL;
	}
	return rc;
}

/* ------------------------------------------------------------ taking over */

/* Who gets a reclaimed item: NULL in reclaim (it becomes available). */
typedef struct {
	const char *ltable, *dedup_id, *token;
	int64_t since_ms, until_ms; /* until 0: for good */
} holder;

static const char *token_id(const char *token)
{
	const char *lf = strchr(token, '\n');
	return lf ? lf + 1 : NULL;
}

/* The condition on the old entry: this item of this bank, lapsed. */
static cJSON *old_entry_delete(const char *lt, const char *oldid,
                               const char *bank, const char *item,
                               int64_t now_ms)
{
	cJSON *vals = cJSON_CreateObject(), *names, *a;
	int ok = 1;

	names = sb_ddb_names("#it", "item_string", "#b", "bank");
	if (names && !cJSON_AddStringToObject(names, "#u", "until"))
		ok = 0;
	sb_ddb_add_s(vals, ":i", item, &ok);
	sb_ddb_add_s(vals, ":b", bank, &ok);
	sb_ddb_put(vals, ":z", sb_ddb_n(0), &ok);
	sb_ddb_put(vals, ":now", sb_ddb_n(now_ms), &ok);
	if (!ok) {
		cJSON_Delete(names);
		cJSON_Delete(vals);
		return NULL;
	}
	a = sb_ddb_action("Delete", lt, sb_ddb_key(SB_DDB_LEDGER_KEY, oldid),
	                  "#it = :i AND #b = :b AND #u > :z AND #u <= :now",
	                  names, vals);
	sb_ddb_all_old(a, &ok);
	if (!ok) {
		cJSON_Delete(a);
		return NULL;
	}
	return a;
}

/* The held record still says what the candidate said, lapsed at now. */
static cJSON *held_vals(const char *token, int64_t until, int64_t now_ms)
{
	cJSON *v = cJSON_CreateObject();
	int ok = 1;

	sb_ddb_add_s(v, ":h", "held", &ok);
	sb_ddb_add_s(v, ":t", token, &ok);
	sb_ddb_put(v, ":u", sb_ddb_n(until), &ok);
	sb_ddb_put(v, ":now", sb_ddb_n(now_ms), &ok);
	if (!ok) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

#define HELD_COND "#s = :h AND #t = :t AND #u = :u AND #u <= :now"

static cJSON *held_names(void)
{
	cJSON *n = sb_ddb_names("#s", "state", "#t", "token");

	if (n && !cJSON_AddStringToObject(n, "#u", "until")) {
		cJSON_Delete(n);
		return NULL;
	}
	return n;
}

/* The entry is live or for good although the bank's copy looked lapsed
 * (a fused confirm or extend, which leaves the record as it was, or a
 * generic confirm or extend between its two steps): bring the bank up to
 * date. Best effort: recovery does the same. */
static void follow_entry(sb_ddb_store *s, const char *held, const char *item,
                         const char *token, int64_t until, const cJSON *entry)
{
	cJSON *body = cJSON_CreateObject(), *resp = NULL, *vals, *names;
	int64_t eu = sb_ddb_until(entry);
	int ok = 1;

	vals = held_vals(token, until, INT64_MAX);
	names = held_names();
	if (eu)
		sb_ddb_put(vals, ":e", sb_ddb_n(eu), &ok);
	else
		sb_ddb_add_s(vals, ":a", "assigned", &ok);
	if (names && !eu && !cJSON_AddStringToObject(names, "#lt", "ltable"))
		ok = 0;
	sb_ddb_add_str(body, "TableName", held, &ok);
	sb_ddb_put(body, "Key", sb_ddb_key(SB_DDB_ITEM_KEY, item), &ok);
	sb_ddb_add_str(body, "UpdateExpression",
	               eu ? "SET #u = :e" : "SET #s = :a REMOVE #u, #lt", &ok);
	sb_ddb_add_str(body, "ConditionExpression", HELD_COND, &ok);
	sb_ddb_put(body, "ExpressionAttributeNames", names, &ok);
	sb_ddb_put(body, "ExpressionAttributeValues", vals, &ok);
	if (ok)
		(void)sb_ddb_call(&resp, s, "UpdateItem", body, held);
	cJSON_Delete(body);
	cJSON_Delete(resp);
	sb_clearerr(s->base.box);
}

static int take_over_in(sb_item **out, sb_ddb_store *s, const char *avail,
                        const char *held, const char *bank, const cJSON *rec,
                        const holder *nu, int64_t now_ms, const char *item,
                        const char *token, const char *lt, const char *oldid,
                        int64_t until, int fused, int *followed);

/* Take over one lapsed hold @p rec of @p bank: its entry deleted and the
 * item given to @p nu (held or for good), or made available (@p nu
 * NULL), in one transaction. SB_OK (*out: with @p nu, the new item, or
 * the id's live entry if a twin won), SB_EMPTY (the candidate is not
 * that any more: next; *followed incremented if its entry turned out
 * confirmed or extended and the record was brought in line, which takes
 * it out of the deadline index), SB_DDB_LAPSED (*out: the id's own
 * entry, lapsed), or an error. */
static int take_over(sb_item **out, sb_ddb_store *s, const char *avail,
                     const char *held, const char *bank, const cJSON *rec,
                     const holder *nu, int64_t now_ms, int *followed)
{
	const char *item = sb_ddb_get_s(rec, SB_DDB_ITEM_KEY);
	const char *token = sb_ddb_get_s(rec, "token");
	const char *lt = sb_ddb_get_s(rec, "ltable");
	const char *oldid = token ? token_id(token) : NULL;
	int64_t until = sb_ddb_until(rec);
	int rc = SB_EMPTY, fused = lt != NULL;
	char *ltcopy = NULL;

	if (!item || !token || !oldid || until <= 0 || until > now_ms)
		return SB_EMPTY;
	if (!fused) { /* a generic hold: the token's ledger, in this store */
		char *name = strndup(token, (size_t)(oldid - 1 - token));
		rc = name ? sb_ddb_table(s, &ltcopy, s->ledger_prefix, name, "")
		          : sb_ddb_nomem(s, "reclaim");
		free(name);
		if (rc)
			return rc;
		lt = ltcopy;
		rc = SB_EMPTY;
	}
	rc = take_over_in(out, s, avail, held, bank, rec, nu, now_ms, item,
	                  token, lt, oldid, until, fused, followed);
	free(ltcopy);
	return rc;
}

static int take_over_in(sb_item **out, sb_ddb_store *s, const char *avail,
                        const char *held, const char *bank, const cJSON *rec,
                        const holder *nu, int64_t now_ms, const char *item,
                        const char *token, const char *lt, const char *oldid,
                        int64_t until, int fused, int *followed)
{
	int with_entry = 1, attempt, rc = SB_EMPTY;

	(void)rec;
	/* The new holder's entry is the old one (its own lapsed hold): one
	 * conditional Put replaces it (a transaction takes a key once). */
	if (nu && strcmp(lt, nu->ltable) == 0 &&
	    strcmp(oldid, nu->dedup_id) == 0)
		with_entry = 0;
	for (attempt = 0; attempt < 2; attempt++) {
		cJSON *acts = cJSON_CreateArray(), *err = NULL, *lput = NULL;
		const cJSON *reason;
		const char *code;
		int ok = 1, li = -1, ni = -1, n = 0;

		if (nu) {
			sb_ddb_push(acts,
			            sb_ddb_action("Put", held,
			                          sb_ddb_held_record(
							  item,
							  nu->until_ms
								  ? "held"
								  : "assigned",
							  nu->token,
							  nu->since_ms,
							  nu->until_ms,
							  nu->until_ms
								  ? nu->ltable
								  : NULL),
			                          HELD_COND, held_names(),
			                          held_vals(token, until,
			                                    now_ms)),
			            &ok);
		} else {
			sb_ddb_push(acts,
			            sb_ddb_action("Delete", held,
			                          sb_ddb_key(SB_DDB_ITEM_KEY,
			                                     item),
			                          HELD_COND, held_names(),
			                          held_vals(token, until,
			                                    now_ms)),
			            &ok);
			sb_ddb_push(acts,
			            sb_ddb_action("Put", avail,
			                          sb_ddb_key(SB_DDB_ITEM_KEY,
			                                     item),
			                          NULL, NULL, NULL),
			            &ok);
			n++;
		}
		n++;
		if (with_entry) {
			sb_ddb_push(acts,
			            old_entry_delete(lt, oldid, bank, item,
			                             now_ms),
			            &ok);
			li = n++;
		}
		if (nu) {
			lput = sb_ddb_action("Put", nu->ltable,
			                     sb_ddb_ledger_record(nu->dedup_id,
			                                          bank, item,
			                                          nu->until_ms),
			                     with_entry
			                             ? "attribute_not_exists(#d)"
			                             : SB_DDB_FREE_COND,
			                     with_entry
			                             ? sb_ddb_names("#d",
			                                            SB_DDB_LEDGER_KEY,
			                                            NULL, NULL)
			                             : sb_ddb_free_names(),
			                     with_entry ? NULL
			                                : sb_ddb_free_values(
								  now_ms));
			sb_ddb_all_old(lput, &ok);
			sb_ddb_push(acts, lput, &ok);
			ni = n++;
		}
		if (!ok) {
			cJSON_Delete(acts);
			return sb_ddb_nomem(s, "reclaim");
		}
		rc = sb_ddb_transact(&err, s, acts, NULL, held);
		if (rc == SB_OK) {
			if (!nu)
				return SB_OK;
			*out = sb_item_new(item, bank, SB_ITEM_NEW);
			if (!*out)
				return sb_ddb_nomem(s, "hold");
			sb_item_set_expires(*out, nu->until_ms);
			return SB_OK;
		}
		if (rc == SB_DDB_NOTABLE) { /* no such ledger table: skip */
			sb_clearerr(s->base.box);
			return SB_EMPTY;
		}
		if (rc != SB_DDB_CANCELED)
			return rc;
		reason = ni >= 0 ? sb_ddb_reason(err, ni, &code) : NULL;
		if (reason && code &&
		    strcmp(code, "ConditionalCheckFailed") == 0) {
			/* The new holder has an entry now (a twin). */
			const cJSON *o =
				cJSON_GetObjectItemCaseSensitive(reason,
			                                         "Item");
			int lapsed = sb_ddb_lapsed(o, now_ms);
			rc = sb_ddb_ledger_item(out, o, bank);
			cJSON_Delete(err);
			if (rc)
				return sb_ddb_bad_record(s, nu->ltable, rc);
			return lapsed ? SB_DDB_LAPSED : SB_OK;
		}
		reason = li >= 0 ? sb_ddb_reason(err, li, &code) : NULL;
		if (!reason || !code ||
		    strcmp(code, "ConditionalCheckFailed") != 0) {
			cJSON_Delete(err);
			return SB_EMPTY; /* the held record changed: next */
		}
		{
			const cJSON *o =
				cJSON_GetObjectItemCaseSensitive(reason,
			                                         "Item");
			const char *oi = sb_ddb_get_s(o, "item_string");
			const char *ob = sb_ddb_get_s(o, "bank");

			if (oi && ob && strcmp(oi, item) == 0 &&
			    strcmp(ob, bank) == 0) {
				/* Confirmed or extended (fused, or generic
				 * between its steps), the bank not yet told:
				 * tell it. */
				follow_entry(s, held, item, token, until, o);
				if (followed)
					(*followed)++;
				cJSON_Delete(err);
				return SB_EMPTY;
			}
		}
		/* No entry holds this item any more: the record is an
		 * orphan; take it over without the ledger. Not for a
		 * generic hold: its entry may be in another store. */
		cJSON_Delete(err);
		if (!fused)
			return SB_EMPTY;
		with_entry = 0;
	}
	return SB_EMPTY;
}

/* ------------------------------------------------------------ settling */

/* A candidate settled by settle_rest(): the claim passes it by. */
#define SETTLED_MARK "\001settled"
#define SETTLE_BATCH 100 /* keys per BatchGetItem */
#define SETTLE_TXN   12  /* records per transaction (2 actions each) */

static int same_key(const cJSON *a, const cJSON *b)
{
	return strcmp(sb_ddb_get_s(a, "ltable"), sb_ddb_get_s(b, "ltable")) ==
	               0 &&
	       strcmp(token_id(sb_ddb_get_s(a, "token")),
	              token_id(sb_ddb_get_s(b, "token"))) == 0;
}

/* Candidate @p c is a fused hold lapsed at now as listed. */
static int fused_cand(const cJSON *c, int64_t now_ms)
{
	const char *t = sb_ddb_get_s(c, "token");
	int64_t u = sb_ddb_until(c);

	return sb_ddb_get_s(c, SB_DDB_ITEM_KEY) && sb_ddb_get_s(c, "ltable") &&
	       t && token_id(t) && u > 0 && u <= now_ms &&
	       !cJSON_GetObjectItemCaseSensitive(c, SETTLED_MARK);
}

/* Settle @p n records @p v (their entries read for good) in one
 * transaction: each record held -> assigned on condition that it is still
 * the hold listed and that its entry is still this item for good. A
 * cancelled one leaves them to take_over() one by one. */
static void settle_txn(sb_ddb_store *s, const char *held, const char *bank,
                       cJSON **v, int n, int64_t now_ms, int *followed)
{
	cJSON *acts = cJSON_CreateArray(), *err = NULL;
	int ok = 1, i, rc;

	for (i = 0; i < n; i++) {
		const char *item = sb_ddb_get_s(v[i], SB_DDB_ITEM_KEY);
		const char *token = sb_ddb_get_s(v[i], "token");
		cJSON *names = sb_ddb_names("#it", "item_string", "#b", "bank");
		cJSON *vals = cJSON_CreateObject(), *hv, *hn, *a;

		if (names && !cJSON_AddStringToObject(names, "#u", "until"))
			ok = 0;
		sb_ddb_add_s(vals, ":i", item, &ok);
		sb_ddb_add_s(vals, ":b", bank, &ok);
		sb_ddb_push(acts,
		            sb_ddb_action("ConditionCheck",
		                          sb_ddb_get_s(v[i], "ltable"),
		                          sb_ddb_key(SB_DDB_LEDGER_KEY,
		                                     token_id(token)),
		                          "#it = :i AND #b = :b AND "
		                          "attribute_not_exists(#u)",
		                          names, vals),
		            &ok);
		hv = held_vals(token, sb_ddb_until(v[i]), now_ms);
		sb_ddb_add_s(hv, ":a", "assigned", &ok);
		hn = held_names();
		if (hn && !cJSON_AddStringToObject(hn, "#lt", "ltable"))
			ok = 0;
		a = sb_ddb_action("Update", held,
		                  sb_ddb_key(SB_DDB_ITEM_KEY, item), HELD_COND,
		                  hn, hv);
		if (a)
			sb_ddb_add_str(cJSON_GetObjectItemCaseSensitive(a,
			                                                "Update"),
			               "UpdateExpression",
			               "SET #s = :a REMOVE #u, #lt", &ok);
		sb_ddb_push(acts, a, &ok);
	}
	if (!ok) {
		cJSON_Delete(acts);
		return;
	}
	rc = sb_ddb_transact(&err, s, acts, NULL, held);
	cJSON_Delete(err);
	sb_clearerr(s->base.box);
	if (rc != SB_OK)
		return;
	for (i = 0; i < n; i++)
		cJSON_AddTrueToObject(v[i], SETTLED_MARK);
	*followed += n;
}

/* A candidate turned out confirmed: those that follow it on the page are
 * likely to be too (a confirm leaves its record held, and the index lists
 * them oldest first). Read their entries at once (BatchGetItem) and settle
 * the confirmed ones a dozen to a transaction, instead of a failed
 * hand-over and a settle each. Best effort: what is left is taken over or
 * settled one by one as before. */
static void settle_rest(sb_ddb_store *s, const char *held, const char *bank,
                        cJSON *from, int64_t now_ms, int *followed)
{
	while (from) {
		cJSON *body = cJSON_CreateObject(), *req = cJSON_CreateObject();
		cJSON *resp = NULL, *c, *end = from, *todo[SETTLE_TXN];
		const cJSON *got, *tab;
		int ok = 1, k = 0, n = 0;

		/* Up to SETTLE_BATCH distinct keys, grouped by ledger table. */
		for (; end && k < SETTLE_BATCH; end = end->next) {
			const char *lt = sb_ddb_get_s(end, "ltable");
			cJSON *treq, *keys;
			int dup = 0;

			if (!fused_cand(end, now_ms))
				continue;
			for (c = from; c != end && !dup; c = c->next)
				dup = fused_cand(c, now_ms) && same_key(c, end);
			if (dup)
				continue;
			if (!(treq = cJSON_GetObjectItemCaseSensitive(req,
			                                              lt))) {
				treq = cJSON_CreateObject();
				sb_ddb_put(treq, "Keys", cJSON_CreateArray(),
				           &ok);
				sb_ddb_put(treq, "ConsistentRead",
				           cJSON_CreateTrue(), &ok);
				sb_ddb_put(req, lt, treq, &ok);
				if (!ok)
					break;
			}
			keys = cJSON_GetObjectItemCaseSensitive(treq, "Keys");
			sb_ddb_push(keys,
			            sb_ddb_key(SB_DDB_LEDGER_KEY,
			                       token_id(sb_ddb_get_s(end,
			                                             "token"))),
			            &ok);
			k++;
		}
		sb_ddb_put(body, "RequestItems", req, &ok);
		if (!ok || !k ||
		    sb_ddb_call(&resp, s, "BatchGetItem", body, held) != SB_OK) {
			cJSON_Delete(body);
			cJSON_Delete(resp);
			sb_clearerr(s->base.box);
			return;
		}
		cJSON_Delete(body);
		got = cJSON_GetObjectItemCaseSensitive(resp, "Responses");
		/* Each candidate whose entry is its item of this bank, for
		 * good (keys left unprocessed: not settled here). */
		for (c = from; c != end; c = c->next) {
			const cJSON *e;

			if (!fused_cand(c, now_ms))
				continue;
			tab = cJSON_GetObjectItemCaseSensitive(
				got, sb_ddb_get_s(c, "ltable"));
			cJSON_ArrayForEach(e, tab)
			{
				const char *id = sb_ddb_get_s(e,
				                              SB_DDB_LEDGER_KEY);
				const char *ei = sb_ddb_get_s(e, "item_string");
				const char *eb = sb_ddb_get_s(e, "bank");

				if (!id || !ei || !eb ||
				    strcmp(id,
				           token_id(sb_ddb_get_s(c, "token"))) !=
				            0)
					continue;
				if (strcmp(ei,
				           sb_ddb_get_s(c, SB_DDB_ITEM_KEY)) ==
				            0 &&
				    strcmp(eb, bank) == 0 &&
				    !cJSON_GetObjectItemCaseSensitive(e,
				                                      "until")) {
					todo[n++] = c;
					if (n == SETTLE_TXN) {
						settle_txn(s, held, bank, todo,
						           n, now_ms, followed);
						n = 0;
					}
				}
				break;
			}
		}
		if (n)
			settle_txn(s, held, bank, todo, n, now_ms, followed);
		cJSON_Delete(resp);
		from = end;
	}
}

/* ------------------------------------------------------------ entry */

int sb_ddb_reclaim_entry(sb_ddb_store *s, const char *ltable,
                         const char *dedup_id, const char *token,
                         const sb_item *e)
{
	const char *bank = sb_item_bank(e), *item = sb_item_value(e);
	char *avail = NULL, *held = NULL;
	cJSON *acts, *err = NULL, *names, *vals, *hv;
	int ok = 1, rc;

	if (!*bank || sb_item_expires_ms(e) <= 0)
		return SB_OK; /* not a hold */
	if ((rc = sb_ddb_bank_tables(s, &avail, &held, bank)))
		return rc;
	names = sb_ddb_names("#it", "item_string", "#b", "bank");
	if (names && !cJSON_AddStringToObject(names, "#u", "until"))
		ok = 0;
	vals = cJSON_CreateObject();
	sb_ddb_add_s(vals, ":i", item, &ok);
	sb_ddb_add_s(vals, ":b", bank, &ok);
	sb_ddb_put(vals, ":u", sb_ddb_n(sb_item_expires_ms(e)), &ok);
	hv = cJSON_CreateObject();
	sb_ddb_add_s(hv, ":t", token, &ok);
	sb_ddb_add_s(hv, ":h", "held", &ok);
	acts = cJSON_CreateArray();
	sb_ddb_push(acts,
	            sb_ddb_action("Delete", ltable,
	                          sb_ddb_key(SB_DDB_LEDGER_KEY, dedup_id),
	                          "#it = :i AND #b = :b AND #u = :u", names,
	                          vals),
	            &ok);
	/* The bank's deadline may lag the ledger's (a generic extend in
	 * flight): the entry decides, the record need only be ours. */
	sb_ddb_push(acts,
	            sb_ddb_action("Delete", held,
	                          sb_ddb_key(SB_DDB_ITEM_KEY, item),
	                          "#t = :t AND #s = :h",
	                          sb_ddb_names("#t", "token", "#s", "state"),
	                          hv),
	            &ok);
	sb_ddb_push(acts,
	            sb_ddb_action("Put", avail,
	                          sb_ddb_key(SB_DDB_ITEM_KEY, item), NULL, NULL,
	                          NULL),
	            &ok);
	if (!ok) {
		cJSON_Delete(acts);
		rc = sb_ddb_nomem(s, "reclaim");
		goto out;
	}
	rc = sb_ddb_transact(&err, s, acts, NULL, ltable);
	if (rc == SB_DDB_CANCELED || rc == SB_DDB_NOTABLE) {
		const char *code = NULL;
		sb_ddb_reason(err, 0, &code);
		sb_clearerr(s->base.box);
		rc = SB_OK;
		if (!code || strcmp(code, "ConditionalCheckFailed") != 0) {
			/* The item is not held by this id any more (it went
			 * on while the entry stayed, or a generic step is in
			 * flight: recovery finishes that): the entry alone. */
			cJSON *body = cJSON_CreateObject(), *resp = NULL;
			names = sb_ddb_names("#it", "item_string", "#b",
			                     "bank");
			if (names &&
			    !cJSON_AddStringToObject(names, "#u", "until"))
				ok = 0;
			vals = cJSON_CreateObject();
			sb_ddb_add_s(vals, ":i", item, &ok);
			sb_ddb_add_s(vals, ":b", bank, &ok);
			sb_ddb_put(vals, ":u", sb_ddb_n(sb_item_expires_ms(e)),
			           &ok);
			sb_ddb_add_str(body, "TableName", ltable, &ok);
			sb_ddb_put(body, "Key",
			           sb_ddb_key(SB_DDB_LEDGER_KEY, dedup_id),
			           &ok);
			sb_ddb_add_str(body, "ConditionExpression",
			               "#it = :i AND #b = :b AND #u = :u", &ok);
			sb_ddb_put(body, "ExpressionAttributeNames", names,
			           &ok);
			sb_ddb_put(body, "ExpressionAttributeValues", vals,
			           &ok);
			rc = ok ? sb_ddb_call(&resp, s, "DeleteItem", body,
			                      ltable)
			        : sb_ddb_nomem(s, "reclaim");
			cJSON_Delete(body);
			cJSON_Delete(resp);
			if (rc == SB_ECONFLICT || rc == SB_DDB_NOTABLE) {
				sb_clearerr(s->base.box);
				rc = SB_OK; /* changed meanwhile: re-read */
			}
		}
	}
	cJSON_Delete(err);
out:
	free(avail);
	free(held);
	return rc;
}

/* ------------------------------------------------------------ steal */

int sb_ddb_steal(sb_item **out, sb_ddb_store *s, const char *avail,
                 const char *held, const char *ltable, const char *bank,
                 const char *dedup_id, const char *token, int64_t now_ms,
                 int64_t until_ms)
{
	holder nu = { ltable, dedup_id, token, now_ms, until_ms };
	cJSON *cands = NULL, *start = NULL, *c;
	int rc, followed, batched;

	/* A confirm or an extend leaves its held record as it was
	 * (ddb_change.c): once the record's deadline passes, the index lists
	 * it as lapsed until a reader settles it (or gives it the entry's
	 * deadline). A page that had such records goes on to the next, so
	 * that records confirmed in their hundreds never hide a lapsed hold
	 * behind them (law 5); each is settled once, and leaves the index. */
	do {
		followed = 0;
		rc = find_lapsed(&cands, s, held, now_ms, &start);
		if (rc == SB_DDB_NOTABLE) {
			sb_clearerr(s->base.box);
			rc = SB_EMPTY;
			break;
		}
		if (rc)
			break;
		rc = SB_EMPTY;
		batched = 0;
		cJSON_ArrayForEach(c, cands)
		{
			int before = followed;

			if (cJSON_GetObjectItemCaseSensitive(c, SETTLED_MARK))
				continue;
			rc = take_over(out, s, avail, held, bank, c, &nu,
			               now_ms, &followed);
			if (rc != SB_EMPTY)
				break;
			if (followed > before && !batched) {
				batched = 1;
				settle_rest(s, held, bank, c->next, now_ms,
				            &followed);
			}
		}
		cJSON_Delete(cands);
		cands = NULL;
	} while (rc == SB_EMPTY && followed && start);
	cJSON_Delete(start);
	return rc;
}

/* ------------------------------------------------------------ reclaim */

typedef struct {
	sb_ddb_store *s;
	const char *avail, *held, *bank;
	int64_t now_ms;
	uint64_t n;
} reclaim_ctx;

static int reclaim_page(const cJSON *resp, void *p)
{
	reclaim_ctx *x = p;
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(resp, "Items");
	const cJSON *it;

	cJSON_ArrayForEach(it, items)
	{
		int rc = take_over(NULL, x->s, x->avail, x->held, x->bank, it,
		                   NULL, x->now_ms, NULL);
		if (rc == SB_OK)
			x->n++;
		else if (rc != SB_EMPTY)
			return rc;
	}
	return 0;
}

int sb_ddb_reclaim(uint64_t *n, sb_store *base, const char *bank,
                   int64_t now_ms)
{
	sb_ddb_store *s = (sb_ddb_store *)base;
	char *avail = NULL, *held = NULL;
	reclaim_ctx x = { s, NULL, NULL, bank, now_ms, 0 };
	cJSON *body, *vals, *names;
	int ok = 1, rc;

	*n = 0;
	if ((rc = sb_ddb_bank_tables(s, &avail, &held, bank)))
		return rc;
	x.avail = avail;
	x.held = held;
	/* Recovery may scan: consistent, so nothing lapsed is missed. */
	body = cJSON_CreateObject();
	vals = cJSON_CreateObject();
	names = sb_ddb_names("#s", "state", "#u", "until");
	sb_ddb_add_s(vals, ":h", "held", &ok);
	sb_ddb_put(vals, ":now", sb_ddb_n(now_ms), &ok);
	sb_ddb_add_str(body, "TableName", held, &ok);
	sb_ddb_add_str(body, "FilterExpression", "#s = :h AND #u <= :now", &ok);
	sb_ddb_put(body, "ExpressionAttributeNames", names, &ok);
	sb_ddb_put(body, "ExpressionAttributeValues", vals, &ok);
	sb_ddb_put(body, "ConsistentRead", cJSON_CreateTrue(), &ok);
	rc = ok ? sb_ddb_scan_all(s, body, held, reclaim_page, &x)
	        : sb_ddb_nomem(s, "reclaim");
	cJSON_Delete(body);
	if (rc == SB_DDB_NOTABLE) {
		rc = sb_ddb_table_exists(s, avail);
		rc = rc == 1 ? SB_OK : rc == 0 ? sb_ddb_no_bank(s, bank) : rc;
	}
	*n = x.n;
	free(avail);
	free(held);
	return rc;
}
