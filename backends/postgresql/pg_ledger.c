/* PostgreSQL backend: the ledger slots. Entries are written once (INSERT
 * ... ON CONFLICT DO NOTHING on the (ledger, id) digests) and never
 * changed, so a read after a lost insert needs no common transaction. */
#include "pg_private.h"

#include <stdlib.h>
#include <string.h>

/* The entry of (ledger, id): SB_OK with *out (flags 0), SB_ENOTFOUND
 * without a message, or an error. */
static int find(sb_item **out, sb_pg_store *s, const char *ledger,
                const char *dedup_id, const char *op)
{
	const char *param[2] = { ledger, dedup_id };
	PGresult *res;
	int rc;

	*out = NULL;
	if ((rc = sb_pg_exec(&res, s, SB_PG_LEDGER_GET, 2, param, op)) != SB_OK)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return SB_ENOTFOUND;
	}
	*out = sb_item_newn(PQgetvalue(res, 0, 1),
	                    (size_t)PQgetlength(res, 0, 1),
	                    PQgetvalue(res, 0, 0),
	                    (size_t)PQgetlength(res, 0, 0), 0);
	PQclear(res);
	return *out ? SB_OK : sb_pg_nomem(s, op);
}

static int pg_ledger_get(sb_item **out, sb_store *st, const char *ledger,
                         const char *dedup_id)
{
	sb_pg_store *s = SB_PG(st);
	int rc = find(out, s, ledger, dedup_id, "ledger get");

	if (rc == SB_ENOTFOUND)
		sb_seterr(s->base.box, SB_ENOTFOUND,
		          "postgresql: id '%.200s' holds no item in ledger "
		          "'%.200s' on %s",
		          dedup_id, ledger, s->where);
	return rc;
}

static int pg_ledger_put(sb_item **existing, sb_store *st, const char *ledger,
                         const char *dedup_id, const char *bank,
                         const char *item)
{
	sb_pg_store *s = SB_PG(st);
	const char *param[4] = { ledger, dedup_id, bank, item };
	sb_item *have = NULL;
	PGresult *res;
	int rc, stored;

	*existing = NULL;
	rc = sb_pg_exec(&res, s, SB_PG_LEDGER_PUT, 4, param, "ledger put");
	if (rc != SB_OK)
		return rc;
	stored = strcmp(PQcmdTuples(res), "0") != 0;
	PQclear(res);
	if (stored)
		return SB_OK;
	/* ON CONFLICT waited for a racing writer's commit: its entry is
	 * visible to this next statement. */
	rc = find(&have, s, ledger, dedup_id, "ledger put");
	if (rc == SB_ENOTFOUND)
		return sb_seterr(s->base.box, SB_EBACKEND,
		                 "postgresql: ledger put: entry of id '%.200s' in "
		                 "ledger '%.200s' on %s vanished",
		                 dedup_id, ledger, s->where);
	if (rc != SB_OK)
		return rc;
	if (strcmp(sb_item_value(have), item) == 0 &&
	    strcmp(sb_item_bank(have), bank) == 0) {
		sb_item_free(have);
		return SB_OK;
	}
	*existing = have;
	return sb_seterr(s->base.box, SB_ECONFLICT,
	                 "postgresql: id '%.200s' already holds another item in "
	                 "ledger '%.200s'",
	                 dedup_id, ledger);
}

typedef struct {
	sb_ledger_entry_cb cb;
	void *payload;
} export_ctx;

static int export_row(PGresult *res, void *payload)
{
	export_ctx *c = payload;

	return c->cb(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
	             PQgetvalue(res, 0, 2), c->payload);
}

static int pg_ledger_export(sb_store *st, const char *ledger,
                            sb_ledger_entry_cb cb, void *payload)
{
	const char *param[1] = { ledger };
	export_ctx c = { cb, payload };

	return sb_pg_each(SB_PG(st), SB_PG_LEDGER_EXPORT, 1, param, export_row,
	                  &c, "export");
}

static int pg_ledger_count(uint64_t *out, sb_store *st, const char *ledger,
                           const char *bank)
{
	sb_pg_store *s = SB_PG(st);
	const char *param[2] = { ledger, bank };
	PGresult *res;
	int rc;

	*out = 0;
	rc = sb_pg_exec(&res, s, SB_PG_LEDGER_COUNT, 2, param, "ledger count");
	if (rc != SB_OK)
		return rc;
	*out = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return SB_OK;
}

const sb_ledger_ops sb_pg_ledger_ops = {
	.version = 1, /* holds not yet built here */
	.get = pg_ledger_get,
	.put_if_absent = pg_ledger_put,
	.export = pg_ledger_export,
	.count = pg_ledger_count,
	.create = NULL, /* ledgers are rows, not objects */
};
