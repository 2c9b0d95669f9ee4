/* PostgreSQL backend: the ledger slots. An entry is for good (until_ms 0)
 * or a hold until a deadline; whether a hold has lapsed is the server's
 * clock's call, in the statement that reads or writes it. Writes are one
 * conditional statement each (or one function call), so a read after a
 * lost write needs no common transaction. */
#include "pg_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An item of the entry in columns (bank, item, until) of row 0. */
static sb_item *entry_item(PGresult *res, int bank, int item, int until,
                           unsigned int flags)
{
	sb_item *it = sb_item_newn(PQgetvalue(res, 0, item),
	                           (size_t)PQgetlength(res, 0, item),
	                           PQgetvalue(res, 0, bank),
	                           (size_t)PQgetlength(res, 0, bank), flags);

	if (it && !PQgetisnull(res, 0, until))
		sb_item_set_expires(it, strtoll(PQgetvalue(res, 0, until), NULL,
		                                10));
	return it;
}

/* The entry of (ledger, id), lapsed or not: SB_OK with *out (deadline
 * set; flags SB_ITEM_LAPSED if it lapsed and @p mark) and *lapsed,
 * SB_ENOTFOUND without a message, or an error. */
static int find(sb_item **out, int *lapsed, sb_pg_store *s, const char *ledger,
                const char *dedup_id, int mark, const char *op)
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
	*lapsed = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
	*out = entry_item(res, 0, 1, 2, *lapsed && mark ? SB_ITEM_LAPSED : 0);
	PQclear(res);
	return *out ? SB_OK : sb_pg_nomem(s, op);
}

static int pg_ledger_get(sb_item **out, sb_store *st, const char *ledger,
                         const char *dedup_id)
{
	sb_pg_store *s = SB_PG(st);
	int lapsed = 0;
	int rc = find(out, &lapsed, s, ledger, dedup_id, 1, "ledger get");

	if (rc == SB_ENOTFOUND)
		sb_seterr(s->base.box, SB_ENOTFOUND,
		          "postgresql: id '%.200s' holds no item in ledger "
		          "'%.200s' on %s",
		          dedup_id, ledger, s->where);
	return rc;
}

/* Racing writers of one id take a few rounds at most: each round that
 * fails saw an entry that lapsed since. */
#define PUT_TRIES 16

/* put_if_absent (until 0) and put_held: one INSERT that also replaces a
 * lapsed entry; when it stores nothing, the live entry that stopped it. */
static int put(sb_item **existing, sb_pg_store *s, const char *ledger,
               const char *dedup_id, const char *bank, const char *item,
               int64_t until_ms, const char *op)
{
	char until[24];
	const char *param[5] = { ledger, dedup_id, bank, item, until };
	sb_item *have = NULL;
	PGresult *res;
	int rc, stored, tries, lapsed = 0;

	*existing = NULL;
	snprintf(until, sizeof until, "%lld", (long long)until_ms);
	for (tries = 0; tries < PUT_TRIES; tries++) {
		rc = sb_pg_exec(&res, s, SB_PG_LEDGER_PUT, 5, param, op);
		if (rc != SB_OK)
			return rc;
		stored = strcmp(PQcmdTuples(res), "0") != 0;
		PQclear(res);
		if (stored)
			return SB_OK;
		/* ON CONFLICT waited for a racing writer's commit: its
		 * entry is visible to this next statement. Gone or lapsed
		 * since: try again. */
		rc = find(&have, &lapsed, s, ledger, dedup_id, 0, op);
		if (rc == SB_ENOTFOUND)
			continue;
		if (rc != SB_OK)
			return rc;
		if (lapsed) {
			sb_item_free(have);
			have = NULL;
			continue;
		}
		break;
	}
	if (!have)
		return sb_seterr(s->base.box, SB_EBACKEND,
		                 "postgresql: %s: the entry of id '%.200s' in "
		                 "ledger '%.200s' on %s kept changing",
		                 op, dedup_id, ledger, s->where);
	/* put_if_absent: the same (bank, item) already is the answer. */
	if (until_ms == 0 && strcmp(sb_item_value(have), item) == 0 &&
	    strcmp(sb_item_bank(have), bank) == 0) {
		sb_item_free(have);
		return SB_OK;
	}
	*existing = have;
	return sb_seterr(s->base.box, SB_ECONFLICT,
	                 "postgresql: id '%.200s' already holds an item in "
	                 "ledger '%.200s'",
	                 dedup_id, ledger);
}

static int pg_ledger_put(sb_item **existing, sb_store *st, const char *ledger,
                         const char *dedup_id, const char *bank,
                         const char *item)
{
	return put(existing, SB_PG(st), ledger, dedup_id, bank, item, 0,
	           "ledger put");
}

static int pg_ledger_put_held(sb_item **existing, sb_store *st,
                              const char *ledger, const char *dedup_id,
                              const char *bank, const char *item,
                              int64_t until_ms)
{
	sb_pg_store *s = SB_PG(st);

	if (until_ms <= 0)
		return sb_seterr(s->base.box, SB_EINVALID,
		                 "postgresql: ledger put held: deadline %lld is "
		                 "not after the epoch",
		                 (long long)until_ms);
	return put(existing, s, ledger, dedup_id, bank, item, until_ms,
	           "ledger put held");
}

static int pg_ledger_update(sb_item **out, sb_store *st, const char *ledger,
                            const char *dedup_id, int64_t until_ms)
{
	sb_pg_store *s = SB_PG(st);
	char until[24];
	const char *param[3] = { ledger, dedup_id, until };
	PGresult *res;
	int rc, status;

	*out = NULL;
	snprintf(until, sizeof until, "%lld", (long long)until_ms);
	rc = sb_pg_exec(&res, s, SB_PG_LEDGER_UPDATE, 3, param,
	                "ledger update");
	if (rc != SB_OK)
		return rc;
	status = PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : -1;
	if (status == 0) {
		*out = entry_item(res, 1, 2, 3, 0);
		rc = *out ? SB_OK : sb_pg_nomem(s, "ledger update");
	} else if (status == 4) {
		rc = sb_seterr(s->base.box, SB_ENOTFOUND,
		               "postgresql: id '%.200s' holds no item in ledger "
		               "'%.200s' on %s",
		               dedup_id, ledger, s->where);
	} else if (status == 5) {
		rc = sb_seterr(s->base.box, SB_EEXPIRED,
		               "postgresql: the hold of id '%.200s' in ledger "
		               "'%.200s' on %s lapsed",
		               dedup_id, ledger, s->where);
	} else {
		rc = sb_seterr(s->base.box, SB_EBACKEND,
		               "postgresql: ledger update on %s: unexpected "
		               "answer from sb_ledger_update()",
		               s->where);
	}
	PQclear(res);
	return rc;
}

static int pg_ledger_remove(sb_item **entry, sb_store *st, const char *ledger,
                            const char *dedup_id, const char *bank,
                            const char *item, unsigned int mode)
{
	sb_pg_store *s = SB_PG(st);
	char m[12];
	const char *param[5] = { ledger, dedup_id, bank, item, m };
	PGresult *res;
	int rc, status;

	*entry = NULL;
	if (mode > SB_REMOVE_LAPSED)
		return sb_seterr(s->base.box, SB_EINVALID,
		                 "postgresql: ledger remove: unknown mode %u",
		                 mode);
	snprintf(m, sizeof m, "%u", mode);
	rc = sb_pg_exec(&res, s, SB_PG_LEDGER_REMOVE, 5, param,
	                "ledger remove");
	if (rc != SB_OK)
		return rc;
	status = PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : -1;
	if (status == 0) {
		rc = SB_OK;
	} else if (status == 4) {
		rc = sb_seterr(s->base.box, SB_ENOTFOUND,
		               "postgresql: id '%.200s' holds no item '%.200s' "
		               "of bank '%.200s' in ledger '%.200s' on %s",
		               dedup_id, item, bank, ledger, s->where);
	} else if (status == 5) {
		rc = sb_seterr(s->base.box, SB_EEXPIRED,
		               "postgresql: the hold of id '%.200s' in ledger "
		               "'%.200s' on %s lapsed",
		               dedup_id, ledger, s->where);
	} else if (status == 6) {
		*entry = entry_item(res, 1, 2, 3, 0);
		rc = *entry ? sb_seterr(s->base.box, SB_ECONFLICT,
		                        "postgresql: the hold of id '%.200s' in "
		                        "ledger '%.200s' on %s has not lapsed",
		                        dedup_id, ledger, s->where)
		            : sb_pg_nomem(s, "ledger remove");
	} else {
		rc = sb_seterr(s->base.box, SB_EBACKEND,
		               "postgresql: ledger remove on %s: unexpected "
		               "answer from sb_ledger_remove()",
		               s->where);
	}
	PQclear(res);
	return rc;
}

typedef struct {
	sb_ledger_entry_cb cb;
	sb_export_hold_cb hold_cb;
	void *payload;
} export_ctx;

static int export_row(PGresult *res, void *payload)
{
	export_ctx *c = payload;

	return c->cb(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
	             PQgetvalue(res, 0, 2), c->payload);
}

/* Entries for good only: holds are listed by export_holds. */
static int pg_ledger_export(sb_store *st, const char *ledger,
                            sb_ledger_entry_cb cb, void *payload)
{
	const char *param[1] = { ledger };
	export_ctx c = { cb, NULL, payload };

	return sb_pg_each(SB_PG(st), SB_PG_LEDGER_EXPORT, 1, param, export_row,
	                  &c, "export");
}

static int hold_row(PGresult *res, void *payload)
{
	export_ctx *c = payload;

	return c->hold_cb(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
	                  PQgetvalue(res, 0, 2),
	                  strtoll(PQgetvalue(res, 0, 3), NULL, 10), c->payload);
}

static int pg_ledger_export_holds(sb_store *st, const char *ledger,
                                  sb_export_hold_cb cb, void *payload)
{
	const char *param[1] = { ledger };
	export_ctx c = { NULL, cb, payload };

	return sb_pg_each(SB_PG(st), SB_PG_LEDGER_HOLDS, 1, param, hold_row, &c,
	                  "export holds");
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
	.version = SB_LEDGER_OPS_VERSION,
	.get = pg_ledger_get,
	.put_if_absent = pg_ledger_put,
	.export = pg_ledger_export,
	.count = pg_ledger_count,
	.create = NULL, /* ledgers are rows, not objects */
	.put_held = pg_ledger_put_held,
	.update = pg_ledger_update,
	.remove = pg_ledger_remove,
	.export_holds = pg_ledger_export_holds,
};
