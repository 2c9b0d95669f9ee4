/* PostgreSQL backend: the fused change (confirm, extend, restock,
 * retire) and reclaim, each one call of a server-side function
 * (pg_functions.c), deadlines by the server's clock. */
#include "pg_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* sb_change() answers 9 when the entry changed between its first look
 * and its lock (a racing call); a new call (a new transaction, holding
 * nothing) settles it. Each retry means another call made progress. */
#define CHANGE_TRIES 16

static const char *change_name(unsigned int op)
{
	switch (op) {
	case SB_CHANGE_CONFIRM: return "confirm";
	case SB_CHANGE_EXTEND: return "extend";
	case SB_CHANGE_RESTOCK: return "release";
	default: return "retire";
	}
}

int sb_pg_change(sb_item **out, sb_store *st, const char *ledger,
                 const char *dedup_id, const char *token, unsigned int op,
                 int64_t now_ms, int64_t ttl_ms)
{
	sb_pg_store *s = SB_PG(st);
	const char *name = change_name(op);
	char opt[8], ttl[24];
	const char *param[5] = { ledger, dedup_id, token, opt, ttl };
	PGresult *res = NULL;
	int rc = SB_OK, status = 9, tries;

	(void)now_ms; /* the server's clock decides */
	*out = NULL;
	if (op < SB_CHANGE_CONFIRM || op > SB_CHANGE_RETIRE)
		return sb_seterr(s->base.box, SB_EINVALID,
		                 "postgresql: change: unknown operation %u",
		                 op);
	snprintf(opt, sizeof opt, "%u", op);
	snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_ms);
	for (tries = 0; status == 9 && tries < CHANGE_TRIES; tries++) {
		PQclear(res);
		res = NULL;
		rc = sb_pg_exec(&res, s, SB_PG_CHANGE, 5, param, name);
		if (rc != SB_OK)
			return rc;
		status = PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : -1;
	}
	if (status == 0) {
		if (op == SB_CHANGE_CONFIRM || op == SB_CHANGE_EXTEND) {
			*out = sb_item_newn(PQgetvalue(res, 0, 2),
			                    (size_t)PQgetlength(res, 0, 2),
			                    PQgetvalue(res, 0, 1),
			                    (size_t)PQgetlength(res, 0, 1), 0);
			if (*out)
				sb_item_set_expires(*out,
				                    strtoll(PQgetvalue(res, 0,
				                                       3),
				                            NULL, 10));
			rc = *out ? SB_OK : sb_pg_nomem(s, name);
		}
	} else if (status == 4) {
		rc = sb_seterr(s->base.box, SB_ENOTFOUND,
		               "postgresql: %s: id '%.200s' holds no item in "
		               "ledger '%.200s' on %s",
		               name, dedup_id, ledger, s->where);
	} else if (status == 5) {
		rc = sb_seterr(s->base.box, SB_EEXPIRED,
		               "postgresql: %s: the hold of id '%.200s' in "
		               "ledger '%.200s' on %s lapsed",
		               name, dedup_id, ledger, s->where);
	} else {
		rc = sb_seterr(s->base.box, SB_EBACKEND,
		               "postgresql: %s on %s: %s from sb_change()",
		               name, s->where,
		               status == 9 ? "no settled answer after retries"
		                           : "unexpected answer");
	}
	PQclear(res);
	return rc;
}

int sb_pg_reclaim(uint64_t *n, sb_store *st, const char *bank, int64_t now_ms)
{
	sb_pg_store *s = SB_PG(st);
	const char *param[1] = { bank };
	PGresult *res;
	int rc, status;

	(void)now_ms; /* the server's clock decides */
	*n = 0;
	rc = sb_pg_exec(&res, s, SB_PG_RECLAIM, 1, param, "reclaim");
	if (rc != SB_OK)
		return rc;
	status = PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : -1;
	if (status == 0)
		*n = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
	else if (status == 3)
		rc = sb_pg_no_bank(s, bank);
	else
		rc = sb_seterr(s->base.box, SB_EBACKEND,
		               "postgresql: reclaim on %s: unexpected answer "
		               "from sb_reclaim()",
		               s->where);
	PQclear(res);
	return rc;
}
