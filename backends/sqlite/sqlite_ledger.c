/* SQLite backend: the ledger (deduplication repository) slots. */
#include "sqlite_private.h"

#include <string.h>

int sb_sq_ledger_find(sb_item **out, sb_sq_store *s, const char *ledger,
                      const char *dedup_id, const char *op)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = NULL;
	if ((rc = sb_sq_prep(s, SB_SQ_LEDGER_GET, &st, op)) != SB_OK)
		return rc;
	sb_sq_text(st, 1, ledger);
	sb_sq_text(st, 2, dedup_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *bank = sb_sq_col(st, 0), *item = sb_sq_col(st, 1);
		if (bank && item)
			*out = sb_item_newn(item,
			                    (size_t)sqlite3_column_bytes(st, 1),
			                    bank,
			                    (size_t)sqlite3_column_bytes(st, 0),
			                    0);
		rc = *out ? SB_OK : sb_sq_nomem(s, op);
	} else if (rc == SQLITE_DONE) {
		rc = SB_ENOTFOUND;
	} else {
		rc = sb_sq_fail(s, rc, op);
	}
	sb_sq_done(st);
	return rc;
}

static int sq_get(sb_item **out, sb_store *base, const char *ledger,
                  const char *dedup_id)
{
	sb_sq_store *s = (sb_sq_store *)base;
	int rc = sb_sq_ledger_find(out, s, ledger, dedup_id, "ledger get");

	if (rc == SB_ENOTFOUND)
		sb_seterr(s->base.box, SB_ENOTFOUND,
		          "sqlite: id '%.200s' holds no item in ledger '%.200s' "
		          "of '%s'",
		          dedup_id, ledger, s->path);
	return rc;
}

int sb_sq_ledger_insert(int *stored, sb_sq_store *s, const char *ledger,
                        const char *dedup_id, const char *bank,
                        const char *item, const char *op)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sb_sq_prep(s, SB_SQ_LEDGER_PUT, &st, op)) != SB_OK)
		return rc;
	sb_sq_text(st, 1, ledger);
	sb_sq_text(st, 2, dedup_id);
	sb_sq_text(st, 3, bank);
	sb_sq_text(st, 4, item);
	rc = sb_sq_run(s, st, op);
	*stored = rc == SB_OK && sqlite3_changes(s->db) > 0;
	return rc;
}

static int sq_put_if_absent(sb_item **existing, sb_store *base,
                            const char *ledger, const char *dedup_id,
                            const char *bank, const char *item)
{
	sb_sq_store *s = (sb_sq_store *)base;
	sb_item *have = NULL;
	int rc, stored = 0;

	*existing = NULL;
	/* Entries never change once written, so the insert and the read that
	 * follows a lost insert need no common transaction. */
	rc = sb_sq_ledger_insert(&stored, s, ledger, dedup_id, bank, item,
	                         "ledger put");
	if (rc != SB_OK || stored)
		return rc;
	rc = sb_sq_ledger_find(&have, s, ledger, dedup_id, "ledger put");
	if (rc == SB_ENOTFOUND)
		return sb_seterr(s->base.box, SB_EBACKEND,
		                 "sqlite: ledger put: entry of id '%.200s' in "
		                 "ledger '%.200s' of '%s' vanished",
		                 dedup_id, ledger, s->path);
	if (rc != SB_OK)
		return rc;
	if (strcmp(sb_item_value(have), item) == 0 &&
	    strcmp(sb_item_bank(have), bank) == 0) {
		sb_item_free(have);
		return SB_OK;
	}
	*existing = have;
	return sb_seterr(s->base.box, SB_ECONFLICT,
	                 "sqlite: id '%.200s' already holds another item in "
	                 "ledger '%.200s'",
	                 dedup_id, ledger);
}

static int sq_export(sb_store *base, const char *ledger, sb_ledger_entry_cb cb,
                     void *payload)
{
	sb_sq_store *s = (sb_sq_store *)base;
	sqlite3_stmt *st = NULL;
	int rc, stop = 0;

	if ((rc = sb_sq_prep(s, SB_SQ_LEDGER_EXPORT, &st, "export")) != SB_OK)
		return rc;
	sb_sq_text(st, 1, ledger);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = sb_sq_col(st, 0), *bank = sb_sq_col(st, 1),
			   *item = sb_sq_col(st, 2);
		if (!id || !bank || !item)
			stop = sb_sq_nomem(s, "export");
		else
			stop = cb(id, bank, item, payload);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = sb_sq_fail(s, rc, "export");
	sb_sq_done(st);
	return stop;
}

static int sq_count(uint64_t *out, sb_store *base, const char *ledger,
                    const char *bank)
{
	sb_sq_store *s = (sb_sq_store *)base;
	sqlite3_stmt *st = NULL;
	int rc;

	*out = 0;
	rc = sb_sq_prep(s, SB_SQ_LEDGER_COUNT, &st, "ledger count");
	if (rc != SB_OK)
		return rc;
	sb_sq_text(st, 1, ledger);
	sb_sq_text(st, 2, bank);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = (uint64_t)sqlite3_column_int64(st, 0);
		rc = SB_OK;
	} else {
		rc = sb_sq_fail(s, rc == SQLITE_DONE ? SQLITE_ERROR : rc,
		                "ledger count");
	}
	sb_sq_done(st);
	return rc;
}

const sb_ledger_ops sb_sq_ledger_ops = {
	.version = 1, /* holds not yet built here */
	.get = sq_get,
	.put_if_absent = sq_put_if_absent,
	.export = sq_export,
	.count = sq_count,
	.create = NULL, /* ledgers are rows, not objects */
};
