/* The fused confirm, extend and release on DynamoDB.
 *
 * Confirm, and an extend to a deadline not earlier than the entry's: one
 * conditional UpdateItem of the id's entry (live at now, the client's
 * clock: the deadline removed, or moved on to now + ttl), whose answer
 * names the item (ALL_NEW) or, when the condition fails, what the entry
 * is (ALL_OLD: none, for good, or lapsed, which is then reclaimed:
 * SB_EEXPIRED). The item's held record is left as it is: the ledger
 * decides (docs/holds.md, "One store (fused path)"). Every reader of
 * T(B).held asks the entry of a fused held record before it takes the
 * record's word (stats, the search for lapsed holds, recover), and the
 * first of them that finds the record's deadline passed while the entry
 * is live or for good gives the record the entry's deadline, or settles
 * it as assigned; none reclaims it. The record's deadline is never later
 * than the entry's, so the deadline index lists every lapsed hold.
 *
 * An extend to an earlier deadline (the UpdateItem refused, the entry
 * live), and release: one TransactWriteItems on the entry and the item's
 * held record (after a consistent read of the entry, which names the bank
 * and item, for a release; the refused UpdateItem's answer for an
 * extend), conditional on both being what was read and on the hold being
 * live at now. If the entry changed meanwhile the step reads it and starts
 * again; a lapsed hold is reclaimed (SB_EEXPIRED). If the item's record is
 * not this id's (a generic step in flight, or an entry of the original
 * library, whose items storagebox never held), the entry alone changes, as
 * on the generic path: the ledger decides, and recovery brings the bank in
 * line. */
#include "ddb_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TRIES 16

/* The condition on the entry as read: same item and bank, and (a hold)
 * the same deadline, still live at :now; (for good) still for good. */
static cJSON *entry_action(const char *kind, const char *ltable,
                           const char *dedup_id, const sb_item *e,
                           const char *update, int64_t now_ms,
                           int64_t new_until)
{
	int64_t u = sb_item_expires_ms(e);
	cJSON *names = sb_ddb_names("#it", "item_string", "#u", "until");
	cJSON *vals = cJSON_CreateObject(), *a;
	char cond[128];
	int ok = 1;

	snprintf(cond, sizeof cond, "#it = :i AND %s AND %s",
	         *sb_item_bank(e) ? "#b = :b" : "attribute_not_exists(#b)",
	         u ? "#u = :u AND #u > :now" : "attribute_not_exists(#u)");
	if (names && !cJSON_AddStringToObject(names, "#b", "bank"))
		ok = 0;
	sb_ddb_add_s(vals, ":i", sb_item_value(e), &ok);
	if (*sb_item_bank(e))
		sb_ddb_add_s(vals, ":b", sb_item_bank(e), &ok);
	if (u) {
		sb_ddb_put(vals, ":u", sb_ddb_n(u), &ok);
		sb_ddb_put(vals, ":now", sb_ddb_n(now_ms), &ok);
	}
	if (new_until)
		sb_ddb_put(vals, ":n", sb_ddb_n(new_until), &ok);
	if (!ok) {
		cJSON_Delete(names);
		cJSON_Delete(vals);
		return NULL;
	}
	a = sb_ddb_action(kind, ltable, sb_ddb_key(SB_DDB_LEDGER_KEY, dedup_id),
	                  cond, names, vals);
	if (a && update)
		sb_ddb_add_str(cJSON_GetObjectItemCaseSensitive(a, kind),
		               "UpdateExpression", update, &ok);
	if (!ok) {
		cJSON_Delete(a);
		return NULL;
	}
	return a;
}

/* The item's record, this id's in one of @p states (names or NULL). */
static cJSON *held_action(const char *kind, const char *held, const char *item,
                          const char *token, const char *update,
                          int64_t new_until, unsigned int states)
{
	cJSON *names = sb_ddb_names("#t", "token", "#s", "state");
	cJSON *vals = cJSON_CreateObject(), *a;
	char cond[128];
	size_t n;
	unsigned int bit;
	int ok = 1, k = 0;

	sb_ddb_add_s(vals, ":t", token, &ok);
	n = (size_t)snprintf(cond, sizeof cond, "#t = :t AND #s IN (");
	for (bit = SB_STATE_RESERVED; bit <= SB_STATE_RECLAIMING; bit <<= 1) {
		char name[16];
		if (!(states & bit))
			continue;
		snprintf(name, sizeof name, ":s%d", k);
		sb_ddb_add_s(vals, name, sb_ddb_state_name(bit), &ok);
		n += (size_t)snprintf(cond + n, sizeof cond - n, "%s%s",
		                      k++ ? ", " : "", name);
	}
	snprintf(cond + n, sizeof cond - n, ")");
	if (update && strstr(update, ":x"))
		sb_ddb_add_s(vals, ":x", "retired", &ok);
	if (update && strstr(update, ":n"))
		sb_ddb_put(vals, ":n", sb_ddb_n(new_until), &ok);
	if (update && strstr(update, "#u") && names &&
	    !cJSON_AddStringToObject(names, "#u", "until"))
		ok = 0;
	if (update && strstr(update, "#lt") && names &&
	    !cJSON_AddStringToObject(names, "#lt", "ltable"))
		ok = 0;
	if (!ok) {
		cJSON_Delete(names);
		cJSON_Delete(vals);
		return NULL;
	}
	a = sb_ddb_action(kind, held, sb_ddb_key(SB_DDB_ITEM_KEY, item), cond,
	                  names, vals);
	if (a && update)
		sb_ddb_add_str(cJSON_GetObjectItemCaseSensitive(a, kind),
		               "UpdateExpression", update, &ok);
	if (!ok) {
		cJSON_Delete(a);
		return NULL;
	}
	return a;
}

static int failed(const cJSON *err, int i)
{
	const char *code;

	sb_ddb_reason(err, i, &code);
	return code && strcmp(code, "ConditionalCheckFailed") == 0;
}

/* One attempt on entry @p e. SB_OK, SB_ECONFLICT (the entry changed:
 * read again), or an error. */
static int attempt(sb_ddb_store *s, const char *ltable, const char *dedup_id,
                   const char *token, const sb_item *e, unsigned int op,
                   int64_t now_ms, int64_t new_until)
{
	const char *bank = sb_item_bank(e), *item = sb_item_value(e);
	char *avail = NULL, *held = NULL;
	cJSON *acts = cJSON_CreateArray(), *err = NULL;
	int ok = 1, rc, alone = !*bank;
	unsigned int from = op == SB_CHANGE_EXTEND
	                            ? SB_STATE_HELD
	                            : SB_STATE_RESERVED | SB_STATE_HELD |
	                                      SB_STATE_ASSIGNED |
	                                      SB_STATE_RECLAIMING;
	const char *lkind = op == SB_CHANGE_EXTEND ? "Update" : "Delete";
	const char *lupdate = op == SB_CHANGE_EXTEND ? "SET #u = :n" : NULL;

	if (*bank && (rc = sb_ddb_bank_tables(s, &avail, &held, bank))) {
		cJSON_Delete(acts);
		return rc;
	}
again:
	sb_ddb_push(acts,
	            entry_action(lkind, ltable, dedup_id, e, lupdate, now_ms,
	                         new_until),
	            &ok);
	if (!alone) {
		if (op == SB_CHANGE_EXTEND)
			sb_ddb_push(acts,
			            held_action("Update", held, item, token,
			                        "SET #u = :n", new_until, from),
			            &ok);
		else if (op == SB_CHANGE_RETIRE)
			sb_ddb_push(acts,
			            held_action("Update", held, item, token,
			                        "SET #s = :x REMOVE #t, #u, #lt",
			                        0, from),
			            &ok);
		else {
			sb_ddb_push(acts,
			            held_action("Delete", held, item, token,
			                        NULL, 0, from),
			            &ok);
			/* Unconditional, as put_back. */
			sb_ddb_push(acts,
			            sb_ddb_action("Put", avail,
			                          sb_ddb_key(SB_DDB_ITEM_KEY,
			                                     item),
			                          NULL, NULL, NULL),
			            &ok);
		}
	}
	if (!ok) {
		cJSON_Delete(acts);
		rc = sb_ddb_nomem(s, "change");
		goto out;
	}
	rc = sb_ddb_transact(&err, s, acts, NULL, ltable);
	if (rc == SB_DDB_CANCELED && failed(err, 0)) {
		rc = SB_ECONFLICT; /* the entry changed: read it again */
	} else if ((rc == SB_DDB_CANCELED || rc == SB_DDB_NOTABLE) && !alone) {
		/* Not this id's record (a generic step in flight): the
		 * entry alone decides, recovery follows. */
		cJSON_Delete(err);
		err = NULL;
		sb_clearerr(s->base.box);
		alone = 1;
		ok = 1;
		acts = cJSON_CreateArray();
		goto again;
	} else if (rc == SB_DDB_CANCELED || rc == SB_DDB_NOTABLE) {
		rc = SB_ECONFLICT;
	}
	cJSON_Delete(err);
out:
	free(avail);
	free(held);
	return rc;
}

/* The confirm (@p until_ms 0) or the extend to @p until_ms: one
 * UpdateItem of the entry in @p ltable. SB_OK (*out: the item, for good:
 * confirmed now or before, which an extend leaves so; or extended),
 * SB_EEXPIRED (the hold lapsed: reclaimed on the way), SB_ENOTFOUND,
 * SB_ECONFLICT (an extend to a deadline earlier than the live entry's:
 * *out is the entry, for the transaction that moves the record's deadline
 * too), or an error. A copy re-sent after a lost answer finds the entry
 * for good, or with this very deadline (same body, same :now): SB_OK. */
static int live_update(sb_item **out, sb_ddb_store *s, const char *ltable,
                       const char *dedup_id, const char *token, int64_t now_ms,
                       int64_t until_ms)
{
	cJSON *body = sb_ddb_live_hold_update(ltable, dedup_id, now_ms,
	                                      until_ms, 1);
	cJSON *resp = NULL;
	const cJSON *rec;
	sb_item *e = NULL;
	int rc, refused;

	rc = body ? sb_ddb_call(&resp, s, "UpdateItem", body, ltable)
	          : sb_ddb_nomem(s, until_ms ? "extend" : "confirm");
	cJSON_Delete(body);
	if (rc == SB_DDB_NOTABLE) {
		rc = sb_seterr(s->base.box, SB_ENOTFOUND,
		               "no entry for this id (ledger table %s does "
		               "not exist)",
		               ltable);
		goto out;
	}
	if (rc != SB_OK && rc != SB_ECONFLICT)
		goto out;
	rec = cJSON_GetObjectItemCaseSensitive(resp, rc == SB_OK ? "Attributes"
	                                                         : "Item");
	if (!cJSON_IsObject(rec) || !rec->child) {
		rc = rc == SB_OK ? sb_seterr(s->base.box, SB_EBACKEND,
		                             "DynamoDB: UpdateItem of ledger "
		                             "table %s returned no record",
		                             ltable)
		                 : sb_seterr(s->base.box, SB_ENOTFOUND,
		                             "no entry for this id");
		goto out;
	}
	refused = rc == SB_ECONFLICT;
	sb_clearerr(s->base.box);
	if ((rc = sb_ddb_ledger_item(&e, rec, NULL))) {
		rc = sb_ddb_bad_record(s, ltable, rc);
		goto out;
	}
	if (refused && until_ms && sb_item_expires_ms(e) > now_ms) {
		rc = SB_ECONFLICT; /* live, its deadline later than ours */
		*out = e;
		e = NULL;
		goto out;
	}
	if (refused && sb_item_expires_ms(e) > 0) { /* lapsed at now */
		rc = sb_ddb_reclaim_entry(s, ltable, dedup_id, token, e);
		if (rc == SB_OK)
			rc = sb_seterr(s->base.box, SB_EEXPIRED,
			               "the hold of this id has lapsed");
		goto out;
	}
	*out = e; /* for good (now, or already), or extended */
	e = NULL;
out:
	sb_item_free(e);
	cJSON_Delete(resp);
	return rc;
}

int sb_ddb_change(sb_item **out, sb_store *base, const char *ledger,
                  const char *dedup_id, const char *token, unsigned int op,
                  int64_t now_ms, int64_t ttl_ms)
{
	sb_ddb_store *s = (sb_ddb_store *)base;
	char *ltable = NULL;
	sb_item *e = NULL;
	int rc, tries;

	*out = NULL;
	if ((rc = sb_ddb_check_key(s, dedup_id, "the dedup id")) ||
	    (rc = sb_ddb_table(s, &ltable, s->ledger_prefix, ledger, "")))
		return rc;
	if (op == SB_CHANGE_CONFIRM || op == SB_CHANGE_EXTEND) {
		rc = live_update(out, s, ltable, dedup_id, token, now_ms,
		                 op == SB_CHANGE_EXTEND ? now_ms + ttl_ms : 0);
		if (rc != SB_ECONFLICT) {
			free(ltable);
			return rc;
		}
		e = *out; /* an earlier deadline: the record's too, below */
		*out = NULL;
	}
	for (tries = 0; tries < MAX_TRIES; tries++) {
		int64_t u, nu = 0;

		if (!e &&
		    (rc = sb_ddb_ledger_get_table(&e, s, ltable, dedup_id)))
			break;
		u = sb_item_expires_ms(e);
		if (u > 0 && u <= now_ms) {
			rc = sb_ddb_reclaim_entry(s, ltable, dedup_id, token,
			                          e);
			if (rc == SB_OK)
				rc = sb_seterr(base->box, SB_EEXPIRED,
				               "the hold of this id has lapsed");
			break;
		}
		if (op == SB_CHANGE_EXTEND && u == 0) {
			*out = e; /* for good: stays so */
			e = NULL;
			break;
		}
		if (op == SB_CHANGE_EXTEND)
			nu = now_ms + ttl_ms;
		rc = attempt(s, ltable, dedup_id, token, e, op, now_ms, nu);
		if (rc == SB_ECONFLICT) {
			sb_item_free(e);
			e = NULL;
			continue;
		}
		if (rc == SB_OK && op == SB_CHANGE_EXTEND) {
			*out = sb_item_new(sb_item_value(e), sb_item_bank(e),
			                   0);
			if (!*out)
				rc = sb_ddb_nomem(s, "change");
			sb_item_set_expires(*out, nu);
		}
		break;
	}
	if (tries == MAX_TRIES)
		rc = sb_seterr(base->box, SB_EBUSY,
		               "DynamoDB: the entry of this id in ledger "
		               "table %s changed %d times in a row",
		               ltable, MAX_TRIES);
	sb_item_free(e);
	free(ltable);
	return rc;
}
