/* The fused claim and hold on DynamoDB (DESIGN §5, §8): a Scan of a
 * random segment gives a few candidates, then ONE TransactWriteItems per
 * candidate:
 *   Delete T(B)[item]          attribute_exists(#i)   still available
 *   Put    T(B).held[item]     attribute_not_exists   assigned(token), or
 *                                                     held(token, until)
 *   Put    T(L)[id]            attribute_not_exists   ALL_OLD on failure
 * The cancellation reasons say which condition failed: the ledger's ->
 * the id already holds an item, carried in the reason (a repeat costs a
 * Scan and a transaction, no extra read); the item's -> another client
 * took it, try the next candidate. Candidates left over from the last page
 * come first, so a new id costs about 1.2 requests and a repeat 1; after
 * sell-out 2 (an empty whole-table page + one consistent BatchGetItem of
 * the id's ledger entry and the bank's generic marker, which decides;
 * see empty_verdict). A hold is the same transaction with a deadline on
 * the record and the entry. An entry that lapsed counts as absent: it is
 * reclaimed (ddb_lapse.c), then the claim goes on. A bank without an
 * available item hands out a lapsed hold of the bank, if the holds
 * marker says there may be one (ddb_lapse.c); finding none, it reads the
 * bank once more (a consistent whole-table page) before it answers
 * "empty": a hold that lapsed and went back to the bank between the Scan
 * and that search was in neither (law 5). */
#include "ddb_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUNDS 200

/* The id's entry from the ledger (consistent), for the empty paths. */
static int from_ledger(sb_item **out, sb_ddb_store *s, const char *table,
                       const char *dedup_id, const char *bank)
{
	int rc = sb_ddb_ledger_get_table(out, s, table, dedup_id);

	/* A record written by the original has no bank: the asked one. */
	if (rc == SB_OK && sb_item_bank(*out)[0] == '\0') {
		sb_item *it = sb_item_new(sb_item_value(*out), bank, 0);
		sb_item_free(*out);
		*out = it;
		if (!it)
			return sb_ddb_nomem(s, "claim");
	}
	return rc;
}

/* The bank looks empty: one BatchGetItem reads, consistently, the id's
 * ledger entry and the held table's generic marker (ddb_private.h).
 * SB_OK (*out: the id's entry), SB_EMPTY_SETTLED (no entry, and no
 * generic client ever took from this bank, so nothing can be reserved),
 * SB_EMPTY (no entry; reservations may exist), SB_ENOTFOUND (no ledger
 * entry and the batch could not tell: a table is missing, or DynamoDB
 * left keys unprocessed; the plain GetItem then decides), or an error. */
static int empty_verdict(sb_item **out, sb_ddb_store *s, const char *ltable,
                         const char *held, const char *dedup_id,
                         const char *bank, int *holds)
{
	cJSON *body = cJSON_CreateObject(), *req = cJSON_CreateObject();
	cJSON *lreq = cJSON_CreateObject(), *hreq = cJSON_CreateObject();
	cJSON *lkeys = cJSON_CreateArray(), *hkeys = cJSON_CreateArray();
	cJSON *resp = NULL;
	const cJSON *got, *lrows, *hrows, *left;
	int ok = 1, rc;

	sb_ddb_push(lkeys, sb_ddb_key(SB_DDB_LEDGER_KEY, dedup_id), &ok);
	sb_ddb_put(lreq, "Keys", lkeys, &ok);
	sb_ddb_put(lreq, "ConsistentRead", cJSON_CreateTrue(), &ok);
	sb_ddb_push(hkeys, sb_ddb_key(SB_DDB_ITEM_KEY, SB_DDB_GENERIC_MARK),
	            &ok);
	sb_ddb_push(hkeys, sb_ddb_key(SB_DDB_ITEM_KEY, SB_DDB_HOLDS_MARK), &ok);
	sb_ddb_put(hreq, "Keys", hkeys, &ok);
	sb_ddb_put(hreq, "ConsistentRead", cJSON_CreateTrue(), &ok);
	sb_ddb_put(req, ltable, lreq, &ok);
	sb_ddb_put(req, held, hreq, &ok);
	sb_ddb_put(body, "RequestItems", req, &ok);
	if (!ok) {
		cJSON_Delete(body);
		return sb_ddb_nomem(s, "claim");
	}
	rc = sb_ddb_call(&resp, s, "BatchGetItem", body, ltable);
	cJSON_Delete(body);
	if (rc == SB_DDB_NOTABLE) {
		sb_clearerr(s->base.box);
		return SB_ENOTFOUND;
	}
	if (rc)
		return rc;
	got = cJSON_GetObjectItemCaseSensitive(resp, "Responses");
	lrows = cJSON_GetObjectItemCaseSensitive(got, ltable);
	hrows = cJSON_GetObjectItemCaseSensitive(got, held);
	left = cJSON_GetObjectItemCaseSensitive(resp, "UnprocessedKeys");
	*holds = 0;
	{
		const cJSON *h;
		int generic = 0;
		cJSON_ArrayForEach(h, hrows)
		{
			const char *k = sb_ddb_get_s(h, SB_DDB_ITEM_KEY);
			if (k && strcmp(k, SB_DDB_HOLDS_MARK) == 0)
				*holds = 1;
			else
				generic = 1;
		}
		if (cJSON_GetArraySize(left) > 0)
			*holds = 1; /* not a full answer */
		hrows = generic ? hrows : NULL;
	}
	if (cJSON_GetArraySize(lrows) > 0) {
		rc = sb_ddb_ledger_item(out, cJSON_GetArrayItem(lrows, 0),
		                        bank);
		if (rc)
			rc = sb_ddb_bad_record(s, ltable, rc);
	} else if (!cJSON_IsArray(lrows) ||
	           !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(got, held)) ||
	           cJSON_GetArraySize(left) > 0) {
		*holds = 1;
		rc = SB_ENOTFOUND; /* not a full answer: ask plainly */
	} else {
		rc = hrows ? SB_EMPTY : SB_EMPTY_SETTLED;
	}
	cJSON_Delete(resp);
	return rc;
}

/* One candidate. SB_OK (*out set, new or existing), SB_EMPTY (the item
 * went to someone else: next), SB_DDB_NOTABLE, or an error. */
static int try_item(sb_item **out, sb_ddb_store *s, const char *avail,
                    const char *held, const char *ltable, const char *bank,
                    const char *item, const char *dedup_id, const char *token,
                    int64_t now_ms, int64_t until_ms)
{
	cJSON *acts = cJSON_CreateArray(), *err = NULL, *lput;
	const cJSON *reason;
	const char *code;
	int ok = 1, rc;

	sb_ddb_push(acts,
	            sb_ddb_action("Delete", avail,
	                          sb_ddb_key(SB_DDB_ITEM_KEY, item),
	                          "attribute_exists(#i)", sb_ddb_names_item(),
	                          NULL),
	            &ok);
	sb_ddb_push(acts,
	            sb_ddb_action("Put", held,
	                          sb_ddb_held_record(item,
	                                             until_ms ? "held"
	                                                      : "assigned",
	                                             token, now_ms, until_ms,
	                                             until_ms ? ltable : NULL),
	                          "attribute_not_exists(#i)",
	                          sb_ddb_names_item(), NULL),
	            &ok);
	lput = sb_ddb_action("Put", ltable,
	                     sb_ddb_ledger_record(dedup_id, bank, item,
	                                          until_ms),
	                     "attribute_not_exists(#d)",
	                     sb_ddb_names("#d", SB_DDB_LEDGER_KEY, NULL, NULL),
	                     NULL);
	if (lput)
		sb_ddb_add_str(cJSON_GetObjectItemCaseSensitive(lput, "Put"),
		               "ReturnValuesOnConditionCheckFailure", "ALL_OLD",
		               &ok);
	sb_ddb_push(acts, lput, &ok);
	if (!ok) {
		cJSON_Delete(acts);
		return sb_ddb_nomem(s, "claim");
	}
	rc = sb_ddb_transact(&err, s, acts, NULL, avail);
	if (rc == SB_OK && sb_fault_point(s->base.box, SB_DDB_FAULT_CLAIM_DONE))
		return sb_seterr(s->base.box, SB_ERROR,
		                 "DynamoDB: claim: "
		                 "injected fault at crash point '%s' "
		                 "(committed)",
		                 SB_DDB_FAULT_CLAIM_DONE);
	if (rc == SB_OK) {
		*out = sb_item_new(item, bank, SB_ITEM_NEW);
		if (!*out)
			return sb_ddb_nomem(s, "claim");
		sb_item_set_expires(*out, until_ms);
		return SB_OK;
	}
	if (rc != SB_DDB_CANCELED)
		return rc;
	reason = sb_ddb_reason(err, 2, &code);
	if (code && strcmp(code, "ConditionalCheckFailed") == 0) {
		/* The id holds an item: the reason carries its record. */
		const cJSON *old = cJSON_GetObjectItemCaseSensitive(reason,
		                                                    "Item");
		if (!cJSON_IsObject(old))
			rc = from_ledger(out, s, ltable, dedup_id, bank);
		else if ((rc = sb_ddb_ledger_item(out, old, bank)))
			rc = sb_ddb_bad_record(s, ltable, rc);
		cJSON_Delete(err);
		if (rc == SB_OK && sb_item_expires_ms(*out) > 0 &&
		    sb_item_expires_ms(*out) <= now_ms)
			rc = SB_DDB_LAPSED; /* counts as absent */
		return rc;
	}
	/* The item's conditions failed: taken by another client, or (held
	 * known, still in T) an issued code that a plain put of the original
	 * library re-loaded: take it out of T again, so that no client of the
	 * original hands it out a second time. */
	sb_ddb_unresurrect(s, err, avail, item);
	cJSON_Delete(err);
	s->counters.lost++;
	return SB_EMPTY;
}

/* The id's entry turned out lapsed (*out): reclaim it, then go on as if
 * it were absent. SB_OK to go on, or an error. */
static int drop_lapsed(sb_item **out, sb_ddb_store *s, const char *ltable,
                       const char *dedup_id, const char *token)
{
	int rc = sb_ddb_reclaim_entry(s, ltable, dedup_id, token, *out);

	sb_item_free(*out);
	*out = NULL;
	return rc;
}

/* The bank has no available item. SB_OK (*out: the id's live entry or a
 * lapsed hold handed out), SB_EMPTY / SB_EMPTY_SETTLED, SB_ENOTFOUND (no
 * bank), SB_DDB_LAPSED (*out: the id's entry, lapsed), or an error.
 * *looked: 1 if it searched for lapsed holds and found none to take. */
static int when_empty(sb_item **out, sb_ddb_store *s, int missing,
                      const char *avail, const char *held, const char *ltable,
                      const char *bank, const char *dedup_id, const char *token,
                      int64_t now_ms, int64_t until_ms, int *looked)
{
	int rc, holds = 1;

	*looked = 0;

	/* Looks empty: the ledger decides (law 3 at sell-out), read with
	 * the markers when the bank exists. */
	rc = missing ? SB_ENOTFOUND
	             : empty_verdict(out, s, ltable, held, dedup_id, bank,
	                             &holds);
	if (rc == SB_ENOTFOUND)
		rc = from_ledger(out, s, ltable, dedup_id, bank);
	if (rc == SB_ENOTFOUND)
		rc = missing ? sb_ddb_no_bank(s, bank) : SB_EMPTY;
	if (rc == SB_OK && sb_item_expires_ms(*out) > 0 &&
	    sb_item_expires_ms(*out) <= now_ms)
		return SB_DDB_LAPSED;
	if ((rc == SB_EMPTY || rc == SB_EMPTY_SETTLED) && holds) {
		/* A lapsed hold is never a reason to answer "empty". */
		int got = sb_fault_point(s->base.box,
		                         SB_DDB_FAULT_CLAIM_LAPSED);
		if (got)
			return got;
		got = sb_ddb_steal(out, s, avail, held, ltable, bank, dedup_id,
		                   token, now_ms, until_ms);
		if (got != SB_EMPTY)
			rc = got;
		else
			*looked = 1;
	}
	return rc;
}

int sb_ddb_hold(sb_item **out, sb_store *base, const char *bank,
                const char *ledger, const char *dedup_id, const char *token,
                int64_t now_ms, int64_t ttl_ms)
{
	sb_ddb_store *s = (sb_ddb_store *)base;
	char *avail = NULL, *held = NULL, *ltable = NULL;
	int64_t until_ms = ttl_ms > 0 ? now_ms + ttl_ms : 0;
	int rc, round, made = 0;
	/* The next page is the re-read after a search for lapsed holds
	 * found none; empty, it answers @c verdict. */
	int recheck = 0, verdict = SB_EMPTY;

	*out = NULL;
	if ((rc = sb_ddb_check_key(s, dedup_id, "the dedup id")))
		return rc;
	if ((rc = sb_ddb_bank_tables(s, &avail, &held, bank)) ||
	    (rc = sb_ddb_table(s, &ltable, s->ledger_prefix, ledger, "")))
		goto out;
	for (round = 0; round < MAX_ROUNDS; round++) {
		cJSON *cands = NULL, *c;
		int empty = 0, looked = 0;

		if (recheck) {
			recheck = 0;
			rc = sb_ddb_recheck_candidates(s, &cands, avail,
			                               &empty);
			if (rc == SB_OK && empty > 0) {
				cJSON_Delete(cands);
				rc = verdict;
				break;
			}
		} else {
			rc = sb_ddb_scan_candidates(s, &cands, avail, &empty);
		}
		if (rc == SB_DDB_NOTABLE || (rc == SB_OK && empty > 0)) {
			cJSON_Delete(cands);
			rc = when_empty(out, s, rc == SB_DDB_NOTABLE, avail,
			                held, ltable, bank, dedup_id, token,
			                now_ms, until_ms, &looked);
			if (rc == SB_DDB_LAPSED &&
			    (rc = drop_lapsed(out, s, ltable, dedup_id,
			                      token)) == SB_OK) {
				rc = SB_EMPTY;
				continue;
			}
			if ((rc == SB_EMPTY || rc == SB_EMPTY_SETTLED) &&
			    looked) {
				verdict = rc;
				recheck = 1;
				rc = SB_EMPTY;
				continue;
			}
			break;
		}
		if (rc)
			break;
		/* Holds are found by a marker: it goes first, once. */
		if (until_ms && (rc = sb_ddb_mark_holds(s, held))) {
			cJSON_Delete(cands);
			break;
		}
		rc = SB_EMPTY;
		cJSON_ArrayForEach(c, cands)
		{
			const char *item = sb_ddb_get_s(c, SB_DDB_ITEM_KEY);
			if (!item)
				continue;
			rc = try_item(out, s, avail, held, ltable, bank, item,
			              dedup_id, token, now_ms, until_ms);
			if (rc == SB_DDB_NOTABLE && !made) {
				/* First claim on tables of the original, or on a
				 * new ledger: make the missing tables, then retry. */
				made = 1;
				sb_ddb_table_forget(s, held);
				sb_ddb_table_forget(s, ltable);
				if ((rc = sb_ddb_ensure_held(s, held)) ||
				    (rc = sb_ddb_ensure_table(s, ltable,
				                              SB_DDB_LEDGER_KEY)))
					break;
				rc = try_item(out, s, avail, held, ltable, bank,
				              item, dedup_id, token, now_ms,
				              until_ms);
			}
			if (rc == SB_DDB_NOTABLE) /* made or found just now */
				rc = sb_ddb_table_gone(s);
			/* A left-over: taken, or gone (a repeat id tells
			 * neither). */
			if (empty < 0 && (rc == SB_EMPTY ||
			                  (rc == SB_OK && sb_item_is_new(*out))))
				sb_ddb_candidate_outcome(s, rc == SB_OK);
			if (rc != SB_EMPTY || empty < 0)
				break; /* done, or stale left-overs: rescan */
		}
		/* Keep the untried rest (and this one if it was not taken:
		 * the id held another item) for the next claim. */
		if ((rc == SB_OK || rc == SB_DDB_LAPSED) && c)
			sb_ddb_keep_candidates(s, avail, cands,
			                       rc == SB_OK && sb_item_is_new(
								      *out)
			                               ? c->next
			                               : c);
		else
			cJSON_Delete(cands);
		if (rc == SB_DDB_LAPSED) {
			if ((rc = drop_lapsed(out, s, ltable, dedup_id, token)))
				break;
			rc = SB_EMPTY;
			continue;
		}
		if (rc != SB_EMPTY)
			break;
	}
	if (rc == SB_EMPTY && round == MAX_ROUNDS)
		rc = sb_seterr(base->box, SB_EBUSY,
		               "DynamoDB: bank '%s' at %s: "
		               "every candidate was taken by others %d times in "
		               "a row",
		               bank, s->where, MAX_ROUNDS);
out:
	if (rc == SB_EMPTY || rc == SB_EMPTY_SETTLED)
		sb_clearerr(base->box);
	free(avail);
	free(held);
	free(ltable);
	return rc;
}

int sb_ddb_claim(sb_item **out, sb_store *base, const char *bank,
                 const char *ledger, const char *dedup_id, const char *token,
                 int64_t now_ms)
{
	return sb_ddb_hold(out, base, bank, ledger, dedup_id, token, now_ms, 0);
}
