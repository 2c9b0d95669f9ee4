/* PostgreSQL backend: the bank slots (the generic path's primitives, and
 * add for both paths: its batch is written by pg_add.c). Layout in
 * pg_schema.c. */
#include "pg_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sb_pg_bank_id(char id[24], sb_pg_store *s, const char *bank, const char *op)
{
	const char *param[1] = { bank };
	PGresult *res;
	int rc = sb_pg_exec(&res, s, SB_PG_BANK_ID, 1, param, op);

	if (rc != SB_OK)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return SB_ENOTFOUND;
	}
	snprintf(id, 24, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return SB_OK;
}

static int pg_bank_add(uint64_t *added, uint64_t *skipped, sb_store *st,
                       const char *bank, const char *const *items, size_t n)
{
	sb_pg_store *s = SB_PG(st);
	const char *param[1] = { bank };
	PGresult *res = NULL;
	char bid[24];
	int rc;

	*added = *skipped = 0;
	if ((rc = sb_pg_ready(s, "add")) != SB_OK)
		return rc;
	rc = sb_pg_exec_sql(&res, s, "BEGIN", 0, NULL, "add");
	PQclear(res);
	if (rc != SB_OK)
		return rc;
	rc = sb_pg_exec(&res, s, SB_PG_BANK_CREATE, 1, param, "add");
	PQclear(res);
	if (rc == SB_OK &&
	    (rc = sb_pg_bank_id(bid, s, bank, "add")) == SB_ENOTFOUND)
		rc = sb_seterr(s->base.box, SB_EBACKEND,
		               "postgresql: add: bank "
		               "'%.200s' vanished on %s",
		               bank, s->where);
	if (rc == SB_OK && n > 0)
		rc = sb_pg_add_batch(s, bid, items, n, added);
	if (rc == SB_OK) {
		rc = sb_pg_exec_sql(&res, s, "COMMIT", 0, NULL, "add");
		PQclear(res);
	}
	if (rc != SB_OK) {
		sb_pg_rollback(s);
		*added = 0;
		return rc;
	}
	*skipped = n - *added;
	return SB_OK;
}

static int pg_bank_take(sb_item **out, sb_store *st, const char *bank,
                        const char *token, int64_t now_ms)
{
	sb_pg_store *s = SB_PG(st);
	char now[24], hint[24];
	const char *param[4] = { bank, token, now, hint };
	PGresult *res;
	int rc, status;

	*out = NULL;
	snprintf(now, sizeof now, "%lld", (long long)now_ms);
	snprintf(hint, sizeof hint, "%lld", sb_pg_hint_get(s, bank));
	if ((rc = sb_pg_exec(&res, s, SB_PG_TAKE, 4, param, "take")) != SB_OK)
		return rc;
	status = PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : -1;
	if (status == 0) {
		sb_pg_hint_set(s, bank,
		               strtoll(PQgetvalue(res, 0, 1), NULL, 10));
		*out = sb_item_newn(PQgetvalue(res, 0, 2),
		                    (size_t)PQgetlength(res, 0, 2), bank,
		                    strlen(bank), 0);
		rc = *out ? SB_OK : sb_pg_nomem(s, "take");
	} else if (status == 2) {
		rc = SB_EMPTY;
	} else if (status == 3) {
		rc = sb_pg_no_bank(s, bank);
	} else {
		rc = sb_seterr(s->base.box, SB_EBACKEND,
		               "postgresql: take on "
		               "%s: unexpected answer from sb_take()",
		               s->where);
	}
	PQclear(res);
	return rc;
}

/* settle and put back: one conditional statement on (bank, item, token);
 * no row means the item is not in the expected state. */
static int cond(sb_pg_store *s, int id, const char *bank, const char *item,
                const char *token, const char *op)
{
	const char *param[3] = { bank, item, token };
	PGresult *res;
	int rc = sb_pg_exec(&res, s, id, 3, param, op), hit;

	if (rc != SB_OK)
		return rc;
	hit = strcmp(PQcmdTuples(res), "0") != 0;
	PQclear(res);
	if (hit)
		return SB_OK;
	return sb_seterr(s->base.box, SB_ECONFLICT,
	                 "postgresql: %s: item '%.200s' of bank '%.200s' on %s "
	                 "is not reserved for this token",
	                 op, item, bank, s->where);
}

static int pg_bank_settle(sb_store *st, const char *bank, const char *item,
                          const char *token)
{
	return cond(SB_PG(st), SB_PG_SETTLE, bank, item, token, "settle");
}

static int pg_bank_put_back(sb_store *st, const char *bank, const char *item,
                            const char *token)
{
	return cond(SB_PG(st), SB_PG_PUT_BACK, bank, item, token, "put back");
}

static int pg_bank_count(sb_bank_counts *out, sb_store *st, const char *bank)
{
	sb_pg_store *s = SB_PG(st);
	char bid[24];
	const char *param[1] = { bid };
	PGresult *res;
	uint64_t total;
	int rc;

	memset(out, 0, sizeof *out);
	rc = sb_pg_bank_id(bid, s, bank, "count");
	if (rc == SB_ENOTFOUND)
		return sb_pg_no_bank(s, bank);
	if (rc != SB_OK)
		return rc;
	rc = sb_pg_exec_sql(&res, s, s->sql[SB_PG_COUNT], 1, param, "count");
	if (rc != SB_OK)
		return rc;
	total = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	out->available = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
	out->reserved = strtoull(PQgetvalue(res, 0, 2), NULL, 10);
	out->on_hold = strtoull(PQgetvalue(res, 0, 3), NULL, 10);
	out->retired = strtoull(PQgetvalue(res, 0, 4), NULL, 10);
	/* Fused claims for good leave no row: the rest is assigned. */
	out->assigned = total - out->available - out->reserved - out->on_hold -
	                out->retired;
	PQclear(res);
	return SB_OK;
}

typedef struct {
	sb_reservation_cb cb;
	void *payload;
} res_ctx;

static int reservation_row(PGresult *res, void *payload)
{
	res_ctx *c = payload;

	return c->cb(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
	             strtoll(PQgetvalue(res, 0, 2), NULL, 10), c->payload);
}

static int pg_bank_reserved(sb_store *st, const char *bank,
                            int64_t older_than_ms, sb_reservation_cb cb,
                            void *payload)
{
	sb_pg_store *s = SB_PG(st);
	char bid[24], older[24];
	const char *param[2] = { bid, older };
	res_ctx c = { cb, payload };
	int rc = sb_pg_bank_id(bid, s, bank, "list reservations");

	if (rc == SB_ENOTFOUND)
		return sb_pg_no_bank(s, bank);
	if (rc != SB_OK)
		return rc;
	snprintf(older, sizeof older, "%lld", (long long)older_than_ms);
	return sb_pg_each(s, SB_PG_RESERVED, 2, param, reservation_row, &c,
	                  "list reservations");
}

static int pg_bank_create(sb_store *st, const char *bank)
{
	sb_pg_store *s = SB_PG(st);
	const char *param[1] = { bank };
	PGresult *res = NULL;
	int rc = sb_pg_exec(&res, s, SB_PG_BANK_CREATE, 1, param,
	                    "create bank");

	PQclear(res);
	return rc;
}

const sb_bank_ops sb_pg_bank_ops = {
	.version = SB_BANK_OPS_VERSION,
	.add = pg_bank_add,
	.take = pg_bank_take,
	.settle = pg_bank_settle,
	.put_back = pg_bank_put_back,
	.count = pg_bank_count,
	.reserved = pg_bank_reserved,
	.create = pg_bank_create,
	.take_held = sb_pg_take_held,
	.move = sb_pg_move,
	.move_if = sb_pg_move_if,
	.list = sb_pg_list,
};
