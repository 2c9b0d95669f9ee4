/* PostgreSQL backend: the fused claim and hold, one round trip.
 *
 * The common case (the id has a live entry, or none and the bank has an
 * item from the hint on) is one prepared statement, SB_PG_HOLD_FAST
 * (pg_schema.c): plain SQL costs the server less CPU than the plpgsql
 * function's statements (docs/postgresql.md, Benchmark). Anything else it
 * answers with status 9, having changed nothing (or given back the item
 * a twin's entry made it take), and the prepared `SELECT ... FROM
 * sb_hold(bank, ledger, id, hint, token, ttl)` decides: the plpgsql
 * function (pg_functions.c) runs in the statement's own transaction and
 * (1) returns the id's ledger entry if there is one that has not lapsed
 * (a lapsed one is deleted and its item made available, then on as if
 * absent), else (2) deletes one available row of the bank with FOR
 * UPDATE SKIP LOCKED, so concurrent claims pass each other instead of
 * queueing on one row, (3) inserts the
 * ledger entry with ON CONFLICT DO NOTHING, and for a hold (ttl > 0) the
 * item's held row with the deadline (server clock + ttl). A claim for
 * good writes nothing more than in version 1: holds cost it nothing.
 * When (2) finds the bank empty, the same call reclaims one lapsed hold
 * of the bank and hands its item out. Two first requests for one id
 * both get to (3): the primary key lets one win; the other waits for the
 * winner's commit, puts its own item back in the same transaction and
 * answers the winner's entry. A client that dies anywhere leaves each
 * statement committed whole or not at all: nothing is ever reserved.
 *
 * The hint is the queue position this store took last from the bank; the
 * take starts its index scan there instead of at the head of the queue,
 * where the deleted rows of the items handed out lie until VACUUM (see
 * pg_schema.c). Rows behind the hint (a take that rolled back) are found
 * by a second scan from 0 before the bank is called empty. */
#include "pg_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Crash points (fault builds): before the claim is sent (nothing
 * happens), and after the server committed it and answered, before the
 * caller sees the item (the id holds it; a repeat returns it). The second
 * is what a client dying while the answer is on the wire leaves: the
 * server cannot tell the two apart. */
#define PG_FAULT_CLAIM      "postgresql_claim_before_send"
#define PG_FAULT_CLAIM_DONE "postgresql_claim_after_commit"

int sb_pg_hold(sb_item **out, sb_store *st, const char *bank,
               const char *ledger, const char *dedup_id, const char *token,
               int64_t now_ms, int64_t ttl_ms)
{
	sb_pg_store *s = SB_PG(st);
	char hint[24], ttl[24];
	const char *param[6] = { bank, ledger, dedup_id, hint, token, ttl };
	PGresult *res;
	int rc, status;

	(void)now_ms; /* the server's clock decides */
	*out = NULL;
	if (sb_fault_point(s->base.box, PG_FAULT_CLAIM))
		return sb_seterr(s->base.box, SB_ERROR,
		                 "postgresql: claim: "
		                 "injected fault at crash point '%s'",
		                 PG_FAULT_CLAIM);
	snprintf(hint, sizeof hint, "%lld", sb_pg_hint_get(s, bank));
	snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_ms);
	if ((rc = sb_pg_exec(&res, s, SB_PG_HOLD_FAST, 6, param, "claim")) !=
	    SB_OK)
		return rc;
	/* Status 9: not the common case; sb_hold() decides it (a second
	 * round trip, only then). */
	if (PQntuples(res) == 1 && atoi(PQgetvalue(res, 0, 0)) == 9) {
		PQclear(res);
		rc = sb_pg_exec(&res, s, SB_PG_HOLD, 6, param, "claim");
		if (rc != SB_OK)
			return rc;
	}
	if (sb_fault_point(s->base.box, PG_FAULT_CLAIM_DONE)) {
		PQclear(res);
		return sb_seterr(s->base.box, SB_ERROR,
		                 "postgresql: claim: "
		                 "injected fault at crash point '%s' (committed)",
		                 PG_FAULT_CLAIM_DONE);
	}
	status = PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : -1;
	if (status == 0 || status == 1) {
		/* o_seq is NULL for a reclaimed item: no queue position. */
		if (status == 0 && !PQgetisnull(res, 0, 1))
			sb_pg_hint_set(s, bank,
			               strtoll(PQgetvalue(res, 0, 1), NULL, 10));
		*out = sb_item_newn(PQgetvalue(res, 0, 3),
		                    (size_t)PQgetlength(res, 0, 3),
		                    PQgetvalue(res, 0, 2),
		                    (size_t)PQgetlength(res, 0, 2),
		                    status == 0 ? SB_ITEM_NEW : 0);
		if (*out)
			sb_item_set_expires(*out, strtoll(PQgetvalue(res, 0, 4),
			                                  NULL, 10));
		rc = *out ? SB_OK : sb_pg_nomem(s, "claim");
	} else if (status == 2) {
		/* o_seq 0: nothing of the bank is in flight on the generic
		 * path, and no lapsed hold is left: nothing can come back. */
		rc = !PQgetisnull(res, 0, 1) &&
		                     strcmp(PQgetvalue(res, 0, 1), "0") == 0
		             ? SB_EMPTY_SETTLED
		             : SB_EMPTY;
	} else if (status == 3) {
		rc = sb_pg_no_bank(s, bank);
	} else {
		rc = sb_seterr(s->base.box, SB_EBACKEND,
		               "postgresql: claim on "
		               "%s: unexpected answer from sb_hold()",
		               s->where);
	}
	PQclear(res);
	return rc;
}

/* Version 1 callers: a hold for good is the claim. */
int sb_pg_claim(sb_item **out, sb_store *st, const char *bank,
                const char *ledger, const char *dedup_id, const char *token,
                int64_t now_ms)
{
	return sb_pg_hold(out, st, bank, ledger, dedup_id, token, now_ms, 0);
}
