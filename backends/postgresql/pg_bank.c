/* PostgreSQL backend: the bank slots (the generic path's primitives, and
 * add for both paths). Layout in pg_schema.c. */
#include "pg_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COPY_CHUNK (256 * 1024)

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

static int simple(sb_pg_store *s, const char *sql, const char *op)
{
	PGresult *res = NULL;
	int rc = sb_pg_exec_sql(&res, s, sql, 0, NULL, op);

	PQclear(res);
	return rc;
}

/* COPY text format: backslash and tab are escaped (items hold no CR, LF
 * or NUL: the core checked). */
static size_t escaped_len(const char *v)
{
	size_t n = 1; /* the newline */
	for (; *v; v++)
		n += (*v == '\\' || *v == '\t') ? 2 : 1;
	return n;
}

static int copy_items(sb_pg_store *s, const char *const *items, size_t n)
{
	char *buf = malloc(COPY_CHUNK);
	size_t used = 0, i;
	int ok = buf != NULL, nomem = buf == NULL;
	PGresult *res;

	for (i = 0; ok && i < n; i++) {
		size_t need = escaped_len(items[i]);
		const char *v;
		char *big = NULL, *o;

		if (used + need > COPY_CHUNK && used > 0) {
			ok = PQputCopyData(s->conn, buf, (int)used) == 1;
			used = 0;
		}
		if (!ok)
			break;
		o = need > COPY_CHUNK ? (big = malloc(need)) : buf + used;
		if (!o) {
			ok = 0;
			nomem = 1;
			break;
		}
		for (v = items[i]; *v; v++) {
			if (*v == '\\' || *v == '\t')
				*o++ = '\\';
			*o++ = *v == '\t' ? 't' : *v;
		}
		*o = '\n';
		if (big) {
			ok = PQputCopyData(s->conn, big, (int)need) == 1;
			free(big);
		} else {
			used += need;
		}
	}
	if (ok && used > 0)
		ok = PQputCopyData(s->conn, buf, (int)used) == 1;
	free(buf);
	/* Ending with an error message aborts the COPY on the server. */
	PQputCopyEnd(s->conn, ok ? NULL : "storagebox: add aborted");
	res = PQgetResult(s->conn);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		int rc = nomem ? sb_pg_nomem(s, "add")
		               : sb_pg_fail(s, res, "add (COPY)");
		PQclear(res);
		while ((res = PQgetResult(s->conn)))
			PQclear(res);
		return rc;
	}
	PQclear(res);
	while ((res = PQgetResult(s->conn)))
		PQclear(res);
	return SB_OK;
}

/* Inside the transaction: stage the batch with COPY, keep what is new in
 * a second temp table, then insert it. New = not in sb_item (never added
 * to this bank, whatever its state since) and the first of its repeats in
 * the batch. Adds to one bank take a transaction-scoped advisory lock on
 * the bank, so no other add can insert the same digest meanwhile: plain
 * INSERTs suffice (ON CONFLICT's speculative insertion cost 4x more).
 * The batch is deduplicated and probed in digest order, the order of the
 * sb_item index, so each index page is read once per batch (probing in
 * hash-table order read them at random), and work_mem is raised for the
 * transaction so the sorts of a 50,000-item batch stay in memory (the
 * default 4 MB spilled them to disk). Together: a 1,000,000-item add
 * 1.4x faster. */
static const char *const add_sql[] = {
	"SELECT pg_advisory_xact_lock(1935802370, $1::integer)",
	"SET LOCAL work_mem = '64MB'",
	"CREATE TEMP TABLE IF NOT EXISTS sb_stage ("
	" ord bigint GENERATED ALWAYS AS IDENTITY,"
	" item text NOT NULL) ON COMMIT DELETE ROWS",
	"CREATE TEMP TABLE IF NOT EXISTS sb_new ("
	" h bytea NOT NULL, ord bigint NOT NULL,"
	" item text NOT NULL) ON COMMIT DELETE ROWS",
	NULL, /* COPY */
	"INSERT INTO pg_temp.sb_new (h, ord, item)"
	" SELECT s.h, s.ord, s.item FROM"
	" (SELECT DISTINCT ON (h) h, ord, item FROM"
	"  (SELECT sha256(convert_to(item, 'UTF8')) AS h, ord, item"
	"   FROM pg_temp.sb_stage) d ORDER BY h, ord) s"
	" WHERE NOT EXISTS (SELECT 1 FROM @.sb_item i"
	"  WHERE i.bank_id = $1::integer AND i.h = s.h)",
	"INSERT INTO @.sb_item (bank_id, h)"
	" SELECT $1::integer, h FROM pg_temp.sb_new ORDER BY h",
	"INSERT INTO @.sb_available (bank_id, item)"
	" SELECT $1::integer, item FROM pg_temp.sb_new ORDER BY ord",
};

static int add_batch(sb_pg_store *s, const char *bid, const char *const *items,
                     size_t n, uint64_t *added)
{
	const char *param[1] = { bid };
	PGresult *res = NULL;
	size_t i;
	int rc = SB_OK;

	for (i = 0; rc == SB_OK && i < sizeof add_sql / sizeof *add_sql; i++) {
		char *sql;
		if (!add_sql[i]) {
			res = PQexec(s->conn,
			             "COPY pg_temp.sb_stage (item) FROM STDIN");
			if (PQresultStatus(res) != PGRES_COPY_IN)
				rc = sb_pg_fail(s, res, "add (COPY)");
			PQclear(res);
			if (rc == SB_OK)
				rc = copy_items(s, items, n);
			continue;
		}
		if (!(sql = sb_pg_sql_fill(s, add_sql[i])))
			return sb_pg_nomem(s, "add");
		rc = sb_pg_exec_sql(&res, s, sql, strchr(sql, '$') ? 1 : 0,
		                    param, "add");
		free(sql);
		if (rc == SB_OK && i + 1 == sizeof add_sql / sizeof *add_sql)
			*added = strtoull(PQcmdTuples(res), NULL, 10);
		PQclear(res);
	}
	return rc;
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
	if ((rc = simple(s, "BEGIN", "add")) != SB_OK)
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
		rc = add_batch(s, bid, items, n, added);
	if (rc == SB_OK)
		rc = simple(s, "COMMIT", "add");
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
