/* The bank's states on DynamoDB (version 2 slots): take_held, move and
 * list; and move_if (version 3: stamps, kept in `until`). A state is the `state` attribute of the item's record in
 * T(B).held; AVAILABLE is the item's row in T(B) instead, so a move to
 * AVAILABLE is a transaction that deletes the record and puts the row.
 * Every move is conditional on the token and the states it may start
 * from: one request, atomic on the server. */
#include "ddb_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sb_ddb_take_held(sb_item **out, sb_store *base, const char *bank,
                     const char *token, int64_t until_ms)
{
	return sb_ddb_take(out, base, bank, "held", token, sb_now_ms(),
	                   until_ms);
}

/* The states that carry a token, as :s0, :s1... values and the
 * condition "#t = :t AND #s IN (:s0, ...)" in @p cond. 0 if none. */
#define TOKEN_STATES                                             \
	(SB_STATE_RESERVED | SB_STATE_ASSIGNED | SB_STATE_HELD | \
	 SB_STATE_RESTOCKING | SB_STATE_RETIRING | SB_STATE_RECLAIMING)

static int state_cond(char *cond, size_t size, cJSON *vals, unsigned int set,
                      int *ok)
{
	size_t n = (size_t)snprintf(cond, size, "#t = :t AND #s IN (");
	unsigned int bit;
	int k = 0;

	for (bit = 1; bit && bit <= SB_STATE_RECLAIMING; bit <<= 1) {
		char name[16];
		if (!(set & bit & TOKEN_STATES))
			continue;
		snprintf(name, sizeof name, ":s%d", k);
		sb_ddb_add_s(vals, name, sb_ddb_state_name(bit), ok);
		n += (size_t)snprintf(cond + n, n < size ? size - n : 0, "%s%s",
		                      k ? ", " : "", name);
		k++;
	}
	if (n < size)
		snprintf(cond + n, size - n, ")");
	return k;
}

static int not_in_state(sb_ddb_store *s, const char *bank)
{
	return sb_seterr(s->base.box, SB_ECONFLICT,
	                 "item is not in a state it may move from "
	                 "with this token in bank '%s'",
	                 bank);
}

/* The states that keep a stamp (backend.h version 3) in `until`: the
 * deadline of a hold, the stamp of a reservation or a release. */
#define STAMP_STATES                                               \
	(SB_STATE_RESERVED | SB_STATE_HELD | SB_STATE_RESTOCKING | \
	 SB_STATE_RETIRING | SB_STATE_RECLAIMING)

/* The update of a move into @p to (one of the held table's states):
 * the deadline, or the stamp, and the fused hold's ledger table belong
 * to the states above; `until` 0 keeps a hold's deadline and a
 * reservation's stamp, and drops a release's. A reservation moved gets
 * a new `since`: reserved() dates its stamp from it. RETIRED drops the
 * token too. */
static const char *move_update(unsigned int to, int64_t until_ms)
{
	switch (to) {
	case SB_STATE_RETIRED: return "SET #s = :to REMOVE #t, #u, #lt";
	case SB_STATE_HELD:
	case SB_STATE_RECLAIMING:
		return until_ms ? "SET #s = :to, #u = :u" : "SET #s = :to";
	case SB_STATE_RESERVED:
		return until_ms ? "SET #s = :to, #u = :u, #si = :now REMOVE #lt"
		                : "SET #s = :to, #si = :now REMOVE #lt";
	case SB_STATE_RESTOCKING:
	case SB_STATE_RETIRING:
		return until_ms ? "SET #s = :to, #u = :u REMOVE #lt"
		                : "SET #s = :to REMOVE #u, #lt";
	default: return "SET #s = :to REMOVE #u, #lt"; /* assigned */
	}
}

/* A conditional UpdateItem that lost its answer is sent again by
 * sb_ddb_call (ddb_http.c, net_retryable): if the first copy was carried
 * out, the second fails its condition, on the move's own result. When a
 * move sets a stamp (or a deadline), the item that the failed condition
 * returns (ALL_OLD) tells: in state @p to, with this token and exactly
 * @p until_ms, the move took place (the core makes every stamp unique:
 * no other move set this one), and the answer is SB_OK. Taken for a
 * conflict instead, a recovery pass would leave the reservation it took
 * over with a stamp nobody owns, which every other pass leaves alone for
 * SB_TAKEOVER_MS while claims answer "empty" (docs/dynamodb.md, "A faulty
 * network"). */
static int moved_already(const cJSON *resp, const char *token, unsigned int to,
                         int64_t until_ms)
{
	const cJSON *old = resp ? cJSON_GetObjectItemCaseSensitive(resp, "Item")
	                        : NULL;
	const char *st, *tok;
	int64_t u = 0;

	if (!until_ms || !cJSON_IsObject(old))
		return 0;
	st = sb_ddb_get_s(old, "state");
	tok = sb_ddb_get_s(old, "token");
	return st && tok && sb_ddb_state_bit(st) == to &&
	       strcmp(tok, token) == 0 && sb_ddb_get_n(old, "until", &u) == 0 &&
	       u == until_ms;
}

static int move_conflict(sb_ddb_store *s, const char *bank,
                         const int64_t *expect)
{
	if (!expect)
		return not_in_state(s, bank);
	return sb_seterr(s->base.box, SB_ECONFLICT,
	                 "item is not in a state it may move from with this "
	                 "token and stamp %lld in bank '%s'",
	                 (long long)*expect, bank);
}

/* move, and move_if when @p expect is set: one conditional request
 * (state, token and, for move_if, the stamp in its condition), so one
 * atomic step on the server. */
static int move_item(sb_store *base, const char *bank, const char *item,
                     const char *token, unsigned int from, unsigned int to,
                     int64_t until_ms, const int64_t *expect)
{
	sb_ddb_store *s = (sb_ddb_store *)base;
	char *avail = NULL, *held = NULL, cond[256];
	const char *update = NULL;
	cJSON *vals, *names, *resp = NULL;
	unsigned int set = from;
	int ok = 1, rc, reclaim;
	size_t n;

	if (!sb_ddb_state_name(to))
		return sb_seterr(base->box, SB_EINVALID,
		                 "DynamoDB: %s to an unknown state %#x",
		                 expect ? "move_if" : "move", to);
	/* Already there with this token: moved too (deadline updated). */
	if (to & (SB_STATE_HELD | SB_STATE_ASSIGNED | SB_STATE_RESTOCKING |
	          SB_STATE_RETIRING | SB_STATE_RECLAIMING))
		set |= to;
	if (expect) /* only the states that have a stamp */
		set &= STAMP_STATES;
	if ((rc = sb_ddb_bank_tables(s, &avail, &held, bank)))
		return rc;
	vals = cJSON_CreateObject();
	names = sb_ddb_names("#t", "token", "#s", "state");
	sb_ddb_add_s(vals, ":t", token, &ok);
	if (!state_cond(cond, sizeof cond, vals, set, &ok)) {
		cJSON_Delete(vals);
		cJSON_Delete(names);
		rc = move_conflict(s, bank, expect);
		goto out;
	}
	n = strlen(cond);
	/* The stamp expected; 0 is none (a record made without one, by
	 * this release or an older one, has no `until` there). */
	if (expect && *expect) {
		snprintf(cond + n, sizeof cond - n, " AND #u = :e");
		sb_ddb_put(vals, ":e", sb_ddb_n(*expect), &ok);
	} else if (expect) {
		snprintf(cond + n, sizeof cond - n,
		         " AND attribute_not_exists(#u)");
	}
	/* docs/holds.md, Reclaim step 1: a hold goes to reclaiming only once
	 * its deadline has come by this store's clock (the clients'), so a
	 * reclaim that listed the id's earlier hold of the item never takes
	 * its new one (same token, a later deadline). */
	reclaim = to == SB_STATE_RECLAIMING && (set & SB_STATE_HELD);
	if (reclaim) {
		n = strlen(cond);
		snprintf(cond + n, sizeof cond - n,
		         " AND (#s <> :hd OR #u <= :now)");
		sb_ddb_add_s(vals, ":hd", "held", &ok);
	}
	if (to != SB_STATE_AVAILABLE) {
		update = move_update(to, until_ms);
		sb_ddb_add_s(vals, ":to", sb_ddb_state_name(to), &ok);
		if (strstr(update, ":u"))
			sb_ddb_put(vals, ":u", sb_ddb_n(until_ms), &ok);
		if (strstr(update, "#lt") && names &&
		    !cJSON_AddStringToObject(names, "#lt", "ltable"))
			ok = 0;
		if (strstr(update, "#si") && names &&
		    !cJSON_AddStringToObject(names, "#si", "since"))
			ok = 0;
	}
	if (reclaim || (update && strstr(update, ":now")))
		sb_ddb_put(vals, ":now", sb_ddb_n(sb_now_ms()), &ok);
	/* DynamoDB refuses a name that no expression uses. */
	if ((strstr(cond, "#u") || (update && strstr(update, "#u"))) && names &&
	    !cJSON_AddStringToObject(names, "#u", "until"))
		ok = 0;
	if (to == SB_STATE_AVAILABLE) {
		cJSON *acts = cJSON_CreateArray(), *err = NULL;

		sb_ddb_push(acts,
		            sb_ddb_action("Delete", held,
		                          sb_ddb_key(SB_DDB_ITEM_KEY, item),
		                          cond, names, vals),
		            &ok);
		/* Unconditional, as put_back: writing it again changes
		 * nothing if someone re-added the item meanwhile. */
		sb_ddb_push(acts,
		            sb_ddb_action("Put", avail,
		                          sb_ddb_key(SB_DDB_ITEM_KEY, item),
		                          NULL, NULL, NULL),
		            &ok);
		rc = ok ? sb_ddb_transact(&err, s, acts, NULL, avail)
		        : (cJSON_Delete(acts), sb_ddb_nomem(s, "move"));
		cJSON_Delete(err);
	} else {
		cJSON *body = cJSON_CreateObject();

		sb_ddb_add_str(body, "TableName", held, &ok);
		sb_ddb_put(body, "Key", sb_ddb_key(SB_DDB_ITEM_KEY, item), &ok);
		sb_ddb_add_str(body, "UpdateExpression", update, &ok);
		sb_ddb_add_str(body, "ConditionExpression", cond, &ok);
		sb_ddb_put(body, "ExpressionAttributeNames", names, &ok);
		sb_ddb_put(body, "ExpressionAttributeValues", vals, &ok);
		sb_ddb_add_str(body, "ReturnValuesOnConditionCheckFailure",
		               "ALL_OLD", &ok);
		rc = ok ? sb_ddb_call(&resp, s, "UpdateItem", body, held)
		        : sb_ddb_nomem(s, "move");
		cJSON_Delete(body);
		if (rc == SB_ECONFLICT &&
		    moved_already(resp, token, to, until_ms)) {
			sb_clearerr(base->box);
			rc = SB_OK;
		}
		cJSON_Delete(resp);
	}
	if (rc == SB_DDB_CANCELED || rc == SB_DDB_NOTABLE || rc == SB_ECONFLICT)
		rc = move_conflict(s, bank, expect);
out:
	free(avail);
	free(held);
	return rc;
}

int sb_ddb_move(sb_store *base, const char *bank, const char *item,
                const char *token, unsigned int from, unsigned int to,
                int64_t until_ms)
{
	return move_item(base, bank, item, token, from, to, until_ms, NULL);
}

int sb_ddb_move_if(sb_store *base, const char *bank, const char *item,
                   const char *token, unsigned int from, unsigned int to,
                   int64_t until_ms, int64_t expect_ms)
{
	return move_item(base, bank, item, token, from, to, until_ms,
	                 &expect_ms);
}

typedef struct {
	unsigned int states;
	int64_t until_le;
	sb_bank_item_cb cb;
	void *payload;
	int stopped;
} list_ctx;

static int list_page(const cJSON *resp, void *p)
{
	list_ctx *x = p;
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(resp, "Items");
	const cJSON *it;

	cJSON_ArrayForEach(it, items)
	{
		const char *item = sb_ddb_get_s(it, SB_DDB_ITEM_KEY);
		const char *token = sb_ddb_get_s(it, "token");
		unsigned int bit = sb_ddb_state_bit(sb_ddb_get_s(it, "state"));
		int64_t until = sb_ddb_until(it);
		int rc;

		if (!item || !(bit & x->states) ||
		    (bit == SB_STATE_HELD && until > x->until_le))
			continue;
		/* The deadline of a hold, the stamp of a release. */
		if (!(bit & (SB_STATE_HELD | SB_STATE_RECLAIMING |
		             SB_STATE_RESTOCKING | SB_STATE_RETIRING)))
			until = 0;
		if ((rc = x->cb(item, token ? token : "", bit, until,
		                x->payload))) {
			x->stopped = 1;
			return rc;
		}
	}
	return 0;
}

int sb_ddb_list(sb_store *base, const char *bank, unsigned int states,
                int64_t until_le, sb_bank_item_cb cb, void *payload)
{
	sb_ddb_store *s = (sb_ddb_store *)base;
	char *avail = NULL, *held = NULL;
	list_ctx x = { states, until_le, cb, payload, 0 };
	cJSON *body;
	int ok = 1, rc;

	if ((rc = sb_ddb_bank_tables(s, &avail, &held, bank)))
		return rc;
	/* Recovery's path, not the claim's: a consistent Scan of the held
	 * table, filtered here (the states are few, the table small next
	 * to what it has handed out). */
	body = cJSON_CreateObject();
	sb_ddb_add_str(body, "TableName", held, &ok);
	sb_ddb_put(body, "ConsistentRead", cJSON_CreateTrue(), &ok);
	rc = ok ? sb_ddb_scan_all(s, body, held, list_page, &x)
	        : sb_ddb_nomem(s, "list");
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
