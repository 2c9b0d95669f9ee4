/* The bank repository on DynamoDB. T(B) holds the available items only
 * (the original's table: hash key `item`); T(B).held holds the items
 * storagebox took, in every other state (reserved, assigned, held, ...:
 * ddb_private.h). Every move between the two is one TransactWriteItems,
 * so an item is in exactly one of them; add (ddb_add.c) skips an item
 * found in either (law 6). take_held, move, move_if and list are in
 * ddb_states.c. take makes a reservation without a stamp (stamp 0). */
#include "ddb_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ take */

/* Before this store's first take from a bank: the marker row in its held
 * table, which tells fused claims at sell-out that reservations may exist
 * (see ddb_private.h). Put once per store and table (re-putting it is
 * harmless); never removed. */
static int mark_generic(sb_ddb_store *s, const char *avail, const char *held,
                        const char *bank)
{
	cJSON *body, *rec;
	char *copy;
	unsigned int i;
	int ok = 1, rc, attempt;

	for (i = 0; i < SB_DDB_TABLE_CACHE; i++)
		if (s->marked[i] && strcmp(s->marked[i], held) == 0)
			return SB_OK;
	/* No bank, no marker (nor a held table made for nothing). */
	if ((rc = sb_ddb_table_exists(s, avail)) != 1)
		return rc == 0 ? sb_ddb_no_bank(s, bank) : rc;
	for (attempt = 0; attempt < 2; attempt++) {
		cJSON *resp = NULL;

		body = cJSON_CreateObject();
		rec = cJSON_CreateObject();
		sb_ddb_add_s(rec, SB_DDB_ITEM_KEY, SB_DDB_GENERIC_MARK, &ok);
		sb_ddb_add_s(rec, "state", SB_DDB_GENERIC_STATE, &ok);
		sb_ddb_add_str(body, "TableName", held, &ok);
		sb_ddb_put(body, "Item", rec, &ok);
		if (!ok) {
			cJSON_Delete(body);
			return sb_ddb_nomem(s, "take");
		}
		rc = sb_ddb_call(&resp, s, "PutItem", body, held);
		cJSON_Delete(body);
		cJSON_Delete(resp);
		if (rc != SB_DDB_NOTABLE || attempt > 0)
			break;
		/* A bank of the original: no held table yet. */
		sb_ddb_table_forget(s, held);
		if ((rc = sb_ddb_ensure_held(s, held)))
			return rc;
	}
	if (rc == SB_DDB_NOTABLE) /* the held table was just made */
		rc = sb_ddb_table_gone(s);
	if (rc)
		return rc;
	if (!(copy = strdup(held)))
		return sb_ddb_nomem(s, "take");
	free(s->marked[s->marked_next]);
	s->marked[s->marked_next] = copy;
	s->marked_next = (s->marked_next + 1) % SB_DDB_TABLE_CACHE;
	return SB_OK;
}

/* An available item -> @p state (reserved, or held until @p until_ms). */
int sb_ddb_take(sb_item **out, sb_store *base, const char *bank,
                const char *state, const char *token, int64_t now_ms,
                int64_t until_ms)
{
	sb_ddb_store *s = (sb_ddb_store *)base;
	char *avail = NULL, *held = NULL;
	int rc, round, created = 0;

	*out = NULL;
	if ((rc = sb_ddb_bank_tables(s, &avail, &held, bank)))
		return rc;
	if ((rc = mark_generic(s, avail, held, bank)))
		goto done;
	for (round = 0; round < 1000; round++) {
		cJSON *cands = NULL, *c;
		int empty = 0;

		rc = sb_ddb_scan_candidates(s, &cands, avail, &empty);
		if (rc == SB_DDB_NOTABLE) {
			rc = sb_ddb_no_bank(s, bank);
			break;
		}
		if (rc)
			break;
		if (empty > 0) {
			cJSON_Delete(cands);
			rc = SB_EMPTY;
			break;
		}
		rc = SB_EMPTY;
		cJSON_ArrayForEach(c, cands)
		{
			const char *item = sb_ddb_get_s(c, SB_DDB_ITEM_KEY);
			cJSON *acts = cJSON_CreateArray(), *err = NULL;
			int ok = 1;

			if (!item) {
				cJSON_Delete(acts);
				continue;
			}
			sb_ddb_push(acts,
			            sb_ddb_action("Delete", avail,
			                          sb_ddb_key(SB_DDB_ITEM_KEY,
			                                     item),
			                          "attribute_exists(#i)",
			                          sb_ddb_names_item(), NULL),
			            &ok);
			sb_ddb_push(acts,
			            sb_ddb_action("Put", held,
			                          sb_ddb_held_record(item, state,
			                                             token,
			                                             now_ms,
			                                             until_ms,
			                                             NULL),
			                          "attribute_not_exists(#i)",
			                          sb_ddb_names_item(), NULL),
			            &ok);
			if (!ok) {
				cJSON_Delete(acts);
				rc = sb_ddb_nomem(s, "take");
				break;
			}
			rc = sb_ddb_transact(&err, s, acts, NULL, avail);
			if (rc == SB_DDB_NOTABLE && !created) {
				/* A table of the original: no held table yet. */
				created = 1;
				sb_ddb_table_forget(s, held);
				rc = sb_ddb_ensure_held(s, held);
				if (rc)
					break;
				rc = SB_EMPTY; /* rescan */
				break;
			}
			if (rc == SB_DDB_NOTABLE) {
				rc = sb_ddb_table_gone(s);
				break;
			}
			if (rc == SB_DDB_CANCELED) {
				sb_ddb_unresurrect(s, err, avail, item);
				cJSON_Delete(err);
				rc = SB_EMPTY; /* taken by another: next one */
				if (empty < 0)
					break; /* stale left-overs: rescan */
				continue;
			}
			cJSON_Delete(err);
			if (rc == SB_OK && !(*out = sb_item_new(item, bank, 0)))
				rc = sb_ddb_nomem(s, "take");
			break;
		}
		if (rc == SB_OK && c)
			sb_ddb_keep_candidates(s, avail, cands, c->next);
		else
			cJSON_Delete(cands);
		if (rc != SB_EMPTY)
			break;
	}
done:
	if (rc == SB_EMPTY)
		sb_clearerr(base->box);
	free(avail);
	free(held);
	return rc;
}

static int bank_take(sb_item **out, sb_store *base, const char *bank,
                     const char *token, int64_t now_ms)
{
	return sb_ddb_take(out, base, bank, "reserved", token, now_ms, 0);
}

/* ------------------------------------------------------------ settle */

static cJSON *token_values(const char *token, int with_reserved,
                           int with_assigned)
{
	cJSON *v = cJSON_CreateObject();
	int ok = 1;

	sb_ddb_add_s(v, ":t", token, &ok);
	if (with_reserved)
		sb_ddb_add_s(v, ":r", "reserved", &ok);
	if (with_assigned)
		sb_ddb_add_s(v, ":a", "assigned", &ok);
	if (!ok) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

static int bank_settle(sb_store *base, const char *bank, const char *item,
                       const char *token)
{
	sb_ddb_store *s = (sb_ddb_store *)base;
	cJSON *body = cJSON_CreateObject(), *resp = NULL, *names;
	char *avail = NULL, *held = NULL;
	int ok = 1, rc;

	if ((rc = sb_ddb_bank_tables(s, &avail, &held, bank))) {
		cJSON_Delete(body);
		return rc;
	}
	sb_ddb_add_str(body, "TableName", held, &ok);
	sb_ddb_put(body, "Key", sb_ddb_key(SB_DDB_ITEM_KEY, item), &ok);
	sb_ddb_add_str(body, "UpdateExpression", "SET #s = :a", &ok);
	/* assigned too: settling twice with the same token is fine. Only a
	 * reservation with stamp 0 (no `until`): one that a recovery pass
	 * took over (stamped it) is that pass's to settle, with move_if. */
	sb_ddb_add_str(body, "ConditionExpression",
	               "#t = :t AND ((#s = :r AND attribute_not_exists(#u)) "
	               "OR #s = :a)",
	               &ok);
	names = sb_ddb_names("#s", "state", "#t", "token");
	if (names && !cJSON_AddStringToObject(names, "#u", "until"))
		ok = 0;
	sb_ddb_put(body, "ExpressionAttributeNames", names, &ok);
	sb_ddb_put(body, "ExpressionAttributeValues", token_values(token, 1, 1),
	           &ok);
	rc = ok ? sb_ddb_call(&resp, s, "UpdateItem", body, held)
	        : sb_ddb_nomem(s, "settle");
	cJSON_Delete(body);
	cJSON_Delete(resp);
	if (rc == SB_DDB_NOTABLE)
		rc = sb_seterr(s->base.box, SB_ECONFLICT,
		               "item not reserved: "
		               "table %s does not exist",
		               held);
	if (rc == SB_ECONFLICT)
		sb_seterr(s->base.box, SB_ECONFLICT,
		          "item is not reserved with this token (or a "
		          "recovery pass took it over) in bank '%s'",
		          bank);
	free(avail);
	free(held);
	return rc;
}

/* reserved(token) -> available: the held record goes (conditionally) and
 * the item is put back into T. That Put is unconditional on purpose: if
 * someone re-added the item meanwhile, writing it again changes nothing. */
static int bank_put_back(sb_store *base, const char *bank, const char *item,
                         const char *token)
{
	sb_ddb_store *s = (sb_ddb_store *)base;
	char *avail = NULL, *held = NULL;
	cJSON *acts, *err = NULL, *names;
	int ok = 1, rc;

	if ((rc = sb_ddb_bank_tables(s, &avail, &held, bank)))
		return rc;
	acts = cJSON_CreateArray();
	names = sb_ddb_names("#s", "state", "#t", "token");
	sb_ddb_push(acts,
	            sb_ddb_action("Delete", held,
	                          sb_ddb_key(SB_DDB_ITEM_KEY, item),
	                          "#t = :t AND #s = :r", names,
	                          token_values(token, 1, 0)),
	            &ok);
	sb_ddb_push(acts,
	            sb_ddb_action("Put", avail,
	                          sb_ddb_key(SB_DDB_ITEM_KEY, item), NULL, NULL,
	                          NULL),
	            &ok);
	rc = ok ? sb_ddb_transact(&err, s, acts, NULL, avail)
	        : (cJSON_Delete(acts), sb_ddb_nomem(s, "put back"));
	cJSON_Delete(err);
	if (rc == SB_DDB_CANCELED || rc == SB_DDB_NOTABLE)
		rc = sb_seterr(s->base.box, SB_ECONFLICT,
		               "item is not reserved "
		               "with this token in bank '%s'",
		               bank);
	free(avail);
	free(held);
	return rc;
}

/* ------------------------------------------------------------ count */

/* A fused held (or reclaiming) record: its entry decides whether the item
 * is on hold or, confirmed, assigned (ddb_change.c leaves the record
 * held). */
typedef struct {
	char *lt, *id, *item;
} fused_rec;

typedef struct {
	sb_bank_counts *c;
	fused_rec *v;
	size_t n, cap;
	int nomem;
} count_ctx;

static int state_page(const cJSON *resp, void *p)
{
	count_ctx *x = p;
	sb_bank_counts *c = x->c;
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(resp, "Items");
	const cJSON *it;

	cJSON_ArrayForEach(it, items)
	{
		const char *st = sb_ddb_get_s(it, "state");
		const char *lt = sb_ddb_get_s(it, "ltable");
		const char *tok = sb_ddb_get_s(it, "token");
		const char *item = sb_ddb_get_s(it, SB_DDB_ITEM_KEY);
		const char *id = tok ? strchr(tok, '\n') : NULL;
		unsigned int bit = sb_ddb_state_bit(st);

		if (bit & (SB_STATE_RESERVED | SB_STATE_RESTOCKING |
		           SB_STATE_RETIRING))
			c->reserved++; /* in flight: recovery finishes them */
		else if (bit & (SB_STATE_HELD | SB_STATE_RECLAIMING))
			c->on_hold++;
		else if (bit == SB_STATE_RETIRED)
			c->retired++;
		else if (!st || (strcmp(st, SB_DDB_GENERIC_STATE) != 0 &&
		                 strcmp(st, SB_DDB_HOLDS_STATE) != 0))
			c->assigned++; /* marker rows are no items */
		if (!(bit & (SB_STATE_HELD | SB_STATE_RECLAIMING)) || !lt ||
		    !id || !item)
			continue;
		if (x->n == x->cap) {
			size_t cap = x->cap ? 2 * x->cap : 64;
			fused_rec *v = realloc(x->v, cap * sizeof(*v));
			if (!v) {
				x->nomem = 1;
				return -1;
			}
			x->v = v;
			x->cap = cap;
		}
		x->v[x->n].lt = strdup(lt);
		x->v[x->n].id = strdup(id + 1);
		x->v[x->n].item = strdup(item);
		if (!x->v[x->n].lt || !x->v[x->n].id || !x->v[x->n].item) {
			free(x->v[x->n].lt);
			free(x->v[x->n].id);
			free(x->v[x->n].item);
			x->nomem = 1;
			return -1;
		}
		x->n++;
	}
	return 0;
}

static int by_table_id(const void *a, const void *b)
{
	const fused_rec *x = a, *y = b;
	int d = strcmp(x->lt, y->lt);

	return d ? d : strcmp(x->id, y->id);
}

/* Records v[lo..hi) share a ledger table, sorted by id: read their
 * entries (BatchGetItem, consistent, 100 keys a request) and move each
 * record whose entry is this item of @p bank for good from on_hold to
 * assigned. */
static int confirmed_counts(sb_ddb_store *s, sb_bank_counts *c,
                            const char *bank, const fused_rec *v, size_t lo,
                            size_t hi)
{
	const char *lt = v[lo].lt;
	size_t i = lo;
	int rc = SB_OK;

	while (i < hi && rc == SB_OK) {
		cJSON *body = cJSON_CreateObject(), *req = cJSON_CreateObject();
		cJSON *treq = cJSON_CreateObject(), *keys = cJSON_CreateArray();
		size_t first = i, k = 0;
		int ok = 1, tries;

		for (; i < hi && k < 100; i++) {
			if (i > first && strcmp(v[i].id, v[i - 1].id) == 0)
				continue; /* one key once */
			sb_ddb_push(keys,
			            sb_ddb_key(SB_DDB_LEDGER_KEY, v[i].id),
			            &ok);
			k++;
		}
		while (i < hi && strcmp(v[i].id, v[i - 1].id) == 0)
			i++; /* a key's other records go with it */
		sb_ddb_put(treq, "Keys", keys, &ok);
		sb_ddb_put(treq, "ConsistentRead", cJSON_CreateTrue(), &ok);
		sb_ddb_put(req, lt, treq, &ok);
		sb_ddb_put(body, "RequestItems", req, &ok);
		if (!ok) {
			cJSON_Delete(body);
			return sb_ddb_nomem(s, "count");
		}
		for (tries = 0; tries < 16; tries++) {
			cJSON *resp = NULL, *left;
			const cJSON *rows, *e;

			rc = sb_ddb_call(&resp, s, "BatchGetItem", body, lt);
			if (rc == SB_DDB_NOTABLE) { /* no entries: on hold */
				sb_clearerr(s->base.box);
				rc = SB_OK;
				cJSON_Delete(resp);
				break;
			}
			if (rc) {
				cJSON_Delete(resp);
				break;
			}
			rows = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(resp,
			                                         "Responses"),
				lt);
			cJSON_ArrayForEach(e, rows)
			{
				const char *id = sb_ddb_get_s(e,
				                              SB_DDB_LEDGER_KEY);
				const char *ei = sb_ddb_get_s(e, "item_string");
				const char *eb = sb_ddb_get_s(e, "bank");
				size_t j;

				if (!id || !ei || !eb ||
				    strcmp(eb, bank) != 0 ||
				    sb_ddb_until(e) != 0)
					continue;
				for (j = first; j < i; j++)
					if (strcmp(v[j].id, id) == 0 &&
					    strcmp(v[j].item, ei) == 0 &&
					    c->on_hold > 0) {
						c->on_hold--;
						c->assigned++;
					}
			}
			left = cJSON_DetachItemFromObjectCaseSensitive(
				resp, "UnprocessedKeys");
			cJSON_Delete(resp);
			if (!cJSON_IsObject(left) || !left->child) {
				cJSON_Delete(left);
				break;
			}
			cJSON_ReplaceItemInObjectCaseSensitive(body,
			                                       "RequestItems",
			                                       left);
		}
		cJSON_Delete(body);
		if (tries == 16)
			rc = sb_seterr(s->base.box, SB_EBUSY,
			               "DynamoDB: ledger table %s: keys left "
			               "unprocessed %d times in a row",
			               lt, tries);
	}
	return rc;
}

static int bank_count(sb_bank_counts *out, sb_store *base, const char *bank)
{
	sb_ddb_store *s = (sb_ddb_store *)base;
	char *avail = NULL, *held = NULL;
	count_ctx x = { out, NULL, 0, 0, 0 };
	cJSON *body, *names;
	int ok = 1, rc;

	memset(out, 0, sizeof(*out));
	if ((rc = sb_ddb_bank_tables(s, &avail, &held, bank)))
		return rc;
	body = cJSON_CreateObject();
	sb_ddb_add_str(body, "TableName", avail, &ok);
	sb_ddb_add_str(body, "Select", "COUNT", &ok);
	sb_ddb_put(body, "ConsistentRead", cJSON_CreateTrue(), &ok);
	rc = ok ? sb_ddb_scan_all(s, body, avail, sb_ddb_count_page,
	                          &out->available)
	        : sb_ddb_nomem(s, "count");
	cJSON_Delete(body);
	if (rc == SB_DDB_NOTABLE) {
		rc = sb_ddb_no_bank(s, bank);
		goto out;
	}
	if (rc)
		goto out;
	body = cJSON_CreateObject();
	names = sb_ddb_names("#s", "state", "#t", "token");
	if (names && (!cJSON_AddStringToObject(names, "#lt", "ltable") ||
	              !cJSON_AddStringToObject(names, "#i", SB_DDB_ITEM_KEY)))
		ok = 0;
	sb_ddb_add_str(body, "TableName", held, &ok);
	sb_ddb_add_str(body, "ProjectionExpression", "#s, #t, #lt, #i", &ok);
	sb_ddb_put(body, "ExpressionAttributeNames", names, &ok);
	sb_ddb_put(body, "ConsistentRead", cJSON_CreateTrue(), &ok);
	rc = ok ? sb_ddb_scan_all(s, body, held, state_page, &x)
	        : sb_ddb_nomem(s, "count");
	cJSON_Delete(body);
	if (x.nomem)
		rc = sb_ddb_nomem(s, "count");
	if (rc == SB_DDB_NOTABLE)
		rc = SB_OK; /* the original's table: nothing taken by us yet */
	/* Read after the scan: a confirm between the two only makes the
	 * count fresher (its record was counted on hold, its entry says
	 * for good). */
	if (rc == SB_OK && x.n) {
		size_t lo = 0, hi;
		qsort(x.v, x.n, sizeof(*x.v), by_table_id);
		for (; lo < x.n && rc == SB_OK; lo = hi) {
			for (hi = lo + 1;
			     hi < x.n && strcmp(x.v[hi].lt, x.v[lo].lt) == 0;
			     hi++)
				;
			rc = confirmed_counts(s, out, bank, x.v, lo, hi);
		}
	}
out:
	for (size_t i = 0; i < x.n; i++) {
		free(x.v[i].lt);
		free(x.v[i].id);
		free(x.v[i].item);
	}
	free(x.v);
	free(avail);
	free(held);
	return rc;
}

/* ------------------------------------------------------------ reserved */

typedef struct {
	int64_t older_than;
	sb_reservation_cb cb;
	void *payload;
	int stopped;
} resv_ctx;

static int resv_page(const cJSON *resp, void *p)
{
	resv_ctx *x = p;
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(resp, "Items");
	const cJSON *it;

	cJSON_ArrayForEach(it, items)
	{
		const char *item = sb_ddb_get_s(it, SB_DDB_ITEM_KEY);
		const char *token = sb_ddb_get_s(it, "token");
		int64_t since = 0;
		int rc;
		if (!item || !token || sb_ddb_get_n(it, "since", &since) ||
		    since > x->older_than)
			continue;
		if ((rc = x->cb(item, token, since, x->payload))) {
			x->stopped = 1;
			return rc;
		}
	}
	return 0;
}

static int bank_reserved(sb_store *base, const char *bank,
                         int64_t older_than_ms, sb_reservation_cb cb,
                         void *payload)
{
	sb_ddb_store *s = (sb_ddb_store *)base;
	char *avail = NULL, *held = NULL;
	resv_ctx x = { older_than_ms, cb, payload, 0 };
	cJSON *body, *vals;
	int ok = 1, rc;

	if ((rc = sb_ddb_bank_tables(s, &avail, &held, bank)))
		return rc;
	body = cJSON_CreateObject();
	vals = cJSON_CreateObject();
	sb_ddb_add_s(vals, ":r", "reserved", &ok);
	sb_ddb_add_str(body, "TableName", held, &ok);
	sb_ddb_add_str(body, "FilterExpression", "#s = :r", &ok);
	sb_ddb_put(body, "ExpressionAttributeNames",
	           sb_ddb_names("#s", "state", NULL, NULL), &ok);
	sb_ddb_put(body, "ExpressionAttributeValues", vals, &ok);
	sb_ddb_put(body, "ConsistentRead", cJSON_CreateTrue(), &ok);
	rc = ok ? sb_ddb_scan_all(s, body, held, resv_page, &x)
	        : sb_ddb_nomem(s, "reserved");
	cJSON_Delete(body);
	if (x.stopped) /* the callback's value, whatever it is */
		sb_clearerr(base->box);
	else if (rc == SB_DDB_NOTABLE) {
		rc = sb_ddb_table_exists(s, avail);
		rc = rc == 1 ? SB_OK : rc == 0 ? sb_ddb_no_bank(s, bank) : rc;
	}
	free(avail);
	free(held);
	return rc;
}

static int bank_create(sb_store *base, const char *bank)
{
	sb_ddb_store *s = (sb_ddb_store *)base;
	char *avail = NULL, *held = NULL;
	int rc;

	if ((rc = sb_ddb_bank_tables(s, &avail, &held, bank)))
		return rc;
	rc = sb_ddb_bank_ensure(s, avail, held);
	free(avail);
	free(held);
	return rc;
}

const sb_bank_ops sb_ddb_bank_ops = {
	.version = SB_BANK_OPS_VERSION,
	.add = sb_ddb_add,
	.take = bank_take,
	.settle = bank_settle,
	.put_back = bank_put_back,
	.count = bank_count,
	.reserved = bank_reserved,
	.create = bank_create,
	.take_held = sb_ddb_take_held,
	.move = sb_ddb_move,
	.list = sb_ddb_list,
	.move_if = sb_ddb_move_if,
};
