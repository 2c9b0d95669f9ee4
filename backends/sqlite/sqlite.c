/* SQLite backend: `sqlite:PATH`, `sqlite:///abs/path`, `sqlite::memory:`.
 *
 * Thread-safety and sharing: a store (one sqlite3 connection, opened with
 * SQLITE_OPEN_NOMUTEX) belongs to one thread at a time, like its box. Any
 * number of stores in any number of processes may share one database file:
 * WAL lets readers run beside the one writer, every write transaction
 * starts with BEGIN IMMEDIATE (or is a single autocommit statement, which
 * takes the write lock the same way) so it waits in the busy handler
 * instead of failing on a lock upgrade, and every write that must be
 * conditional is one statement under that lock. `sqlite::memory:` is a
 * private database per store. As with any SQLite connection, a store must
 * not be carried across fork(): open it in the process that uses it.
 *
 * Durability: WAL with synchronous=FULL by default, so an answered claim
 * survives power loss (otherwise the item could go back to the bank and to
 * a second person). `?synchronous=normal` trades that for speed.
 *
 * Layout (schema version 4, in PRAGMA user_version; a file of version 1,
 * made by 0.1.0, 2, made by the release of holds, or 3, of stamps, is
 * migrated in place by the first opener):
 *   sb_bank(id, name)          banks are never deleted: ids can be cached
 *   sb_item(id, bank_id, item, state, token, since, deadline)
 *                              items are never deleted, so re-adding one
 *                              already handed out, released or retired is
 *                              skipped (law 6); available rows FIFO by
 *                              rowid and held rows by deadline through one
 *                              partial index (sb_item_open); deadline is
 *                              also the stamp of a reserved, restocking or
 *                              retiring row (backend.h version 3)
 *   sb_ledger(ledger, dedup_id, bank, item, deadline)   WITHOUT ROWID;
 *                              deadline 0: for good, else a hold that
 *                              lapses then by sb_now_ms(); it keeps names,
 *                              not ids, so it also serves banks that live
 *                              in another store
 * Holds: every fused step (hold, change, reclaim) is one BEGIN IMMEDIATE
 * transaction that judges deadlines by the clock read once it holds the
 * write lock; the ledger entry decides, the item's deadline is a copy
 * that finds lapsed holds.
 * The SQL is in sqlite_sql.h/.c; sqlite_private.h lists the other files.
 */
#include "sqlite_private.h"

#include <stdlib.h>
#include <string.h>

static int sq_init(sb_store *base)
{
	return sb_sq_schema((sb_sq_store *)base);
}

static void sq_close(sb_store *base)
{
	sb_sq_store *s = (sb_sq_store *)base;
	unsigned int i;

	if (!s)
		return;
	for (i = 0; i < SB_SQ_N; i++)
		sqlite3_finalize(s->stmt[i]);
	for (i = 0; i < SB_SQ_BANK_CACHE; i++)
		free(s->banks[i].name);
	sqlite3_close(s->db); /* NULL is a no-op; every statement is gone */
	free(s->path);
	free(s);
}

static const sb_store_ops sq_store_ops = {
	.version = SB_STORE_OPS_VERSION,
	.init = sq_init,
	.close = sq_close,
	.claim = sb_sq_claim,
	.hold = sb_sq_hold,
	.change = sb_sq_change,
	.reclaim = sb_sq_reclaim,
};

static int sq_open(sb_store **out, sb_uri *uri, sb_box *box)
{
	sb_sq_store *s;
	const char *unused;
	int rc, sync_full;

	*out = NULL;
	rc = sb_sq_uri_check(box, uri);
	if (rc != SB_OK)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(uri->path))) {
		free(s);
		return sb_seterr(box, SB_ENOMEM, "sqlite: open: out of memory");
	}
	s->base.ops = &sq_store_ops;
	s->base.bank = &sb_sq_bank_ops;
	s->base.ledger = &sb_sq_ledger_ops;
	s->base.box = box;
	rc = sb_sq_options(s, uri, &sync_full);
	/* The core reports unknown options after open; say it before
	 * sqlite3_open_v2, which would create the file for a typo. */
	if (rc == SB_OK && (unused = sb_uri_unused(uri)))
		rc = sb_seterr(box, SB_EURI,
		               "sqlite URI: unknown option '%.64s'", unused);
	s->opening = 1;
	if (rc == SB_OK)
		rc = sb_sq_connect(s, sync_full);
	s->opening = 0;
	if (rc != SB_OK) {
		sq_close(&s->base);
		return rc;
	}
	*out = &s->base;
	return SB_OK;
}

/* The one exported symbol; core/registry.c declares it under
 * SB_HAVE_SQLITE (no header: nothing else may reach the backend). */
extern const sb_backend sb_backend_sqlite;
const sb_backend sb_backend_sqlite = {
	.version = SB_BACKEND_VERSION,
	.scheme = "sqlite",
	.open = sq_open,
};
