/* SQLite backend: the ledger slots of version 2 (holds). Each write is
 * one statement whose condition on the deadline is judged by sb_now()
 * when it runs, under the write lock; a statement that changed nothing
 * reads the entry to tell why, and tries again if the entry changed in
 * between (each retry means another writer succeeded). */
#include "sqlite_private.h"

#include <string.h>

#define SQ_ROUNDS 16

static int sq_changed_too_often(sb_sq_store *s, const char *ledger,
                                const char *dedup_id, const char *op)
{
	return sb_seterr(s->base.box, SB_EBUSY,
	                 "sqlite: %s: the entry of id '%.200s' in ledger "
	                 "'%.200s' of '%s' changed %d times in a row",
	                 op, dedup_id, ledger, s->path, SQ_ROUNDS);
}

static int sq_no_entry(sb_sq_store *s, const char *ledger, const char *dedup_id)
{
	return sb_seterr(s->base.box, SB_ENOTFOUND,
	                 "sqlite: id '%.200s' holds no item in ledger '%.200s' "
	                 "of '%s'",
	                 dedup_id, ledger, s->path);
}

int sb_sq_lapsed_err(sb_sq_store *s, const char *ledger, const char *dedup_id)
{
	return sb_seterr(s->base.box, SB_EEXPIRED,
	                 "sqlite: the hold of id '%.200s' in ledger '%.200s' "
	                 "of '%s' lapsed",
	                 dedup_id, ledger, s->path);
}

int sb_sq_put_held(sb_item **existing, sb_store *base, const char *ledger,
                   const char *dedup_id, const char *bank, const char *item,
                   int64_t until_ms)
{
	sb_sq_store *s = (sb_sq_store *)base;
	int rc;

	*existing = NULL;
	if (until_ms <= 0)
		return sb_seterr(s->base.box, SB_EINVALID,
		                 "sqlite: ledger put held: deadline %lld is not "
		                 "a time",
		                 (long long)until_ms);
	rc = sb_sq_ledger_put(existing, s, ledger, dedup_id, bank, item,
	                      until_ms, "ledger put held");
	if (rc == SB_ECONFLICT)
		sb_seterr(s->base.box, SB_ECONFLICT,
		          "sqlite: id '%.200s' already holds an item in ledger "
		          "'%.200s'",
		          dedup_id, ledger);
	return rc;
}

/* LEDGER_UPDATE: SB_OK with *out, or SB_ENOTFOUND when no live entry
 * changed (no message). */
static int sq_update_once(sb_item **out, sb_sq_store *s, const char *ledger,
                          const char *dedup_id, int64_t until_ms)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sb_sq_prep(s, SB_SQ_LEDGER_UPDATE, &st, "ledger update")) !=
	    SB_OK)
		return rc;
	sb_sq_text(st, 1, ledger);
	sb_sq_text(st, 2, dedup_id);
	sqlite3_bind_int64(st, 3, until_ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sb_sq_done(st);
		return SB_ENOTFOUND;
	}
	if (rc != SQLITE_ROW) {
		rc = sb_sq_fail(s, rc, "ledger update");
		sb_sq_done(st);
		return rc;
	}
	rc = sb_sq_entry_row(out, s, st, 0, 0, "ledger update");
	/* To DONE even without memory: in autocommit mode that commits. */
	if (rc == SB_OK)
		rc = sb_sq_run(s, st, "ledger update");
	else
		sb_sq_run(s, st, "ledger update");
	if (rc != SB_OK) {
		sb_item_free(*out);
		*out = NULL;
	}
	return rc;
}

int sb_sq_update(sb_item **out, sb_store *base, const char *ledger,
                 const char *dedup_id, int64_t until_ms)
{
	sb_sq_store *s = (sb_sq_store *)base;
	sb_item *have = NULL;
	int rc, round;

	*out = NULL;
	if (until_ms < 0)
		return sb_seterr(s->base.box, SB_EINVALID,
		                 "sqlite: ledger update: deadline %lld is not "
		                 "a time",
		                 (long long)until_ms);
	for (round = 0; round < SQ_ROUNDS; round++) {
		rc = sq_update_once(out, s, ledger, dedup_id, until_ms);
		if (rc != SB_ENOTFOUND)
			return rc;
		rc = sb_sq_ledger_find(&have, s, ledger, dedup_id, sb_now_ms(),
		                       "ledger update");
		if (rc == SB_ENOTFOUND)
			return sq_no_entry(s, ledger, dedup_id);
		if (rc != SB_OK)
			return rc;
		rc = SB_SQ_LAPSED_AT(sb_item_expires_ms(have), sb_now_ms());
		sb_item_free(have);
		if (rc)
			return sb_sq_lapsed_err(s, ledger, dedup_id);
		/* live again: released and held anew in between */
	}
	return sq_changed_too_often(s, ledger, dedup_id, "ledger update");
}

static int sq_remove_once(int *removed, sb_sq_store *s, const char *ledger,
                          const char *dedup_id, const char *bank,
                          const char *item, unsigned int mode)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sb_sq_prep(s, SB_SQ_LEDGER_REMOVE, &st, "ledger remove")) !=
	    SB_OK)
		return rc;
	sb_sq_text(st, 1, ledger);
	sb_sq_text(st, 2, dedup_id);
	sb_sq_text(st, 3, bank);
	sb_sq_text(st, 4, item);
	sqlite3_bind_int(st, 5, (int)mode);
	rc = sb_sq_run(s, st, "ledger remove");
	*removed = rc == SB_OK && sqlite3_changes(s->db) > 0;
	return rc;
}

int sb_sq_remove(sb_item **entry, sb_store *base, const char *ledger,
                 const char *dedup_id, const char *bank, const char *item,
                 unsigned int mode)
{
	sb_sq_store *s = (sb_sq_store *)base;
	sb_item *have = NULL;
	int rc, round, removed = 0, lapsed;

	*entry = NULL;
	if (mode > SB_REMOVE_LAPSED)
		return sb_seterr(s->base.box, SB_EINVALID,
		                 "sqlite: ledger remove: unknown mode %u",
		                 mode);
	for (round = 0; round < SQ_ROUNDS; round++) {
		rc = sq_remove_once(&removed, s, ledger, dedup_id, bank, item,
		                    mode);
		if (rc != SB_OK || removed)
			return rc;
		rc = sb_sq_ledger_find(&have, s, ledger, dedup_id, sb_now_ms(),
		                       "ledger remove");
		if (rc == SB_OK && (strcmp(sb_item_value(have), item) != 0 ||
		                    strcmp(sb_item_bank(have), bank) != 0))
			rc = SB_ENOTFOUND; /* the id holds another item */
		if (rc == SB_ENOTFOUND) {
			sb_item_free(have);
			return sq_no_entry(s, ledger, dedup_id);
		}
		if (rc != SB_OK)
			return rc;
		lapsed = SB_SQ_LAPSED_AT(sb_item_expires_ms(have), sb_now_ms());
		if (mode == SB_REMOVE_LIVE && lapsed) {
			sb_item_free(have);
			return sb_sq_lapsed_err(s, ledger, dedup_id);
		}
		if (mode == SB_REMOVE_LAPSED && !lapsed) {
			*entry = have; /* deadline 0: for good */
			return sb_seterr(s->base.box, SB_ECONFLICT,
			                 "sqlite: the entry of id '%.200s' in "
			                 "ledger '%.200s' has not lapsed",
			                 dedup_id, ledger);
		}
		sb_item_free(have); /* changed in between: again */
		have = NULL;
	}
	return sq_changed_too_often(s, ledger, dedup_id, "ledger remove");
}

int sb_sq_export_holds(sb_store *base, const char *ledger, sb_export_hold_cb cb,
                       void *payload)
{
	sb_sq_store *s = (sb_sq_store *)base;
	sqlite3_stmt *st = NULL;
	int rc, stop = 0;

	rc = sb_sq_prep(s, SB_SQ_LEDGER_HOLDS, &st, "export holds");
	if (rc != SB_OK)
		return rc;
	sb_sq_text(st, 1, ledger);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = sb_sq_col(st, 0), *bank = sb_sq_col(st, 1),
			   *item = sb_sq_col(st, 2);
		if (!id || !bank || !item)
			stop = sb_sq_nomem(s, "export holds");
		else
			stop = cb(id, bank, item, sqlite3_column_int64(st, 3),
			          payload);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = sb_sq_fail(s, rc, "export holds");
	sb_sq_done(st);
	return stop;
}
