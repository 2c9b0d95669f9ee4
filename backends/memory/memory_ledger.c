/* The memory backend's ledger: entries in one array, linear scans. */
#include "memory_private.h"

#include <stdlib.h>
#include <string.h>

sb_mem_entry *sb_mem_find_entry(sb_mem_db *db, const char *ledger,
                                const char *id)
{
	size_t i;
	for (i = 0; i < db->nentries; i++)
		if (strcmp(db->entries[i].id, id) == 0 &&
		    strcmp(db->entries[i].ledger, ledger) == 0)
			return &db->entries[i];
	return NULL;
}

int sb_mem_add_entry(sb_mem_db *db, const char *ledger, const char *id,
                     const char *bank, const char *value)
{
	sb_mem_entry *e;

	if (db->nentries == db->capentries) {
		size_t cap = db->capentries ? db->capentries * 2 : 64;
		sb_mem_entry *ne = realloc(db->entries, cap * sizeof(*ne));
		if (!ne)
			return -1;
		db->entries = ne;
		db->capentries = cap;
	}
	e = &db->entries[db->nentries];
	e->until = 0;
	e->ledger = strdup(ledger);
	e->id = strdup(id);
	e->bank = strdup(bank);
	e->value = strdup(value);
	if (!e->ledger || !e->id || !e->bank || !e->value) {
		free(e->ledger);
		free(e->id);
		free(e->bank);
		free(e->value);
		return -1;
	}
	db->nentries++;
	return 0;
}

void sb_mem_drop_entry(sb_mem_db *db, sb_mem_entry *e)
{
	free(e->ledger);
	free(e->id);
	free(e->bank);
	free(e->value);
	*e = db->entries[--db->nentries]; /* the last one takes its place */
}

sb_mem_entry *sb_mem_token_entry(sb_mem_db *db, const char *token)
{
	size_t i, ll;

	for (i = 0; i < db->nentries; i++) {
		sb_mem_entry *e = &db->entries[i];
		ll = strlen(e->ledger);
		if (strncmp(token, e->ledger, ll) == 0 && token[ll] == '\n' &&
		    strcmp(token + ll + 1, e->id) == 0)
			return e;
	}
	return NULL;
}

/* The entry as an item: deadline, and SB_ITEM_LAPSED when it passed. */
static sb_item *entry_item(const sb_mem_entry *e, int64_t now)
{
	sb_item *it = sb_item_new(e->value, e->bank,
	                          SB_MEM_LAPSED(e, now) ? SB_ITEM_LAPSED : 0);
	sb_item_set_expires(it, e->until);
	return it;
}

static int mem_get(sb_item **out, sb_store *st, const char *ledger,
                   const char *id)
{
	sb_mem_db *db = SB_MEM_DB(st);
	sb_mem_entry *e;
	sb_mem_fault f;
	int rc = SB_ENOTFOUND;

	pthread_mutex_lock(&db->lock);
	db->calls.get++;
	f = sb_mem_enter(db, SB_MEMORY_GET);
	if (f.when != SB_MEMORY_FAIL_BEFORE &&
	    (e = sb_mem_find_entry(db, ledger, id)))
		rc = (*out = entry_item(e, sb_now_ms())) ? SB_OK
		                                         : sb_mem_oom(st);
	pthread_mutex_unlock(&db->lock);
	return sb_mem_leave(st, f, rc);
}

/* Record (bank, value) for the id until @p until (0: for good), unless it
 * holds a live entry; a lapsed one is replaced. put_if_absent's rule: an
 * entry of exactly this (bank, value) is success. Caller holds the lock. */
static int put_entry(sb_item **existing, sb_store *st, const char *ledger,
                     const char *id, const char *bank, const char *value,
                     int64_t until)
{
	sb_mem_db *db = SB_MEM_DB(st);
	int64_t now = sb_now_ms();
	sb_mem_entry *e = sb_mem_find_entry(db, ledger, id);

	if (e && SB_MEM_LAPSED(e, now)) {
		sb_mem_drop_entry(db, e);
		e = NULL;
	}
	if (!e) {
		if (sb_mem_add_entry(db, ledger, id, bank, value))
			return sb_mem_oom(st);
		db->entries[db->nentries - 1].until = until;
		return SB_OK;
	}
	if (!until && strcmp(e->bank, bank) == 0 && strcmp(e->value, value) == 0)
		return SB_OK;
	*existing = entry_item(e, now);
	return *existing ? SB_ECONFLICT : sb_mem_oom(st);
}

static int mem_put_if_absent(sb_item **existing, sb_store *st,
                             const char *ledger, const char *id,
                             const char *bank, const char *value)
{
	sb_mem_db *db = SB_MEM_DB(st);
	sb_mem_fault f;
	int rc = SB_OK;

	*existing = NULL;
	pthread_mutex_lock(&db->lock);
	db->calls.put_if_absent++;
	f = sb_mem_enter(db, SB_MEMORY_PUT_IF_ABSENT);
	if (f.when == SB_MEMORY_FAIL_BEFORE)
		goto out;
	rc = put_entry(existing, st, ledger, id, bank, value, 0);
out:
	pthread_mutex_unlock(&db->lock);
	return sb_mem_leave(st, f, rc);
}

static int mem_export(sb_store *st, const char *ledger, sb_ledger_entry_cb cb,
                      void *payload)
{
	sb_mem_db *db = SB_MEM_DB(st);
	sb_mem_fault f;
	int rc = SB_OK;
	size_t i;

	pthread_mutex_lock(&db->lock);
	f = sb_mem_enter(db, SB_MEMORY_EXPORT);
	for (i = 0;
	     f.when != SB_MEMORY_FAIL_BEFORE && rc == SB_OK && i < db->nentries;
	     i++)
		if (strcmp(db->entries[i].ledger, ledger) == 0 &&
		    db->entries[i].until == 0)
			rc = cb(db->entries[i].id, db->entries[i].bank,
			        db->entries[i].value, payload);
	pthread_mutex_unlock(&db->lock);
	return sb_mem_leave(st, f, rc);
}

static int mem_ledger_count(uint64_t *out, sb_store *st, const char *ledger,
                            const char *bank)
{
	sb_mem_db *db = SB_MEM_DB(st);
	int64_t now = sb_now_ms();
	sb_mem_fault f;
	size_t i;

	*out = 0;
	pthread_mutex_lock(&db->lock);
	f = sb_mem_enter(db, SB_MEMORY_LEDGER_COUNT);
	for (i = 0; f.when != SB_MEMORY_FAIL_BEFORE && i < db->nentries; i++)
		if (strcmp(db->entries[i].ledger, ledger) == 0 &&
		    strcmp(db->entries[i].bank, bank) == 0 &&
		    !SB_MEM_LAPSED(&db->entries[i], now))
			(*out)++;
	pthread_mutex_unlock(&db->lock);
	return sb_mem_leave(st, f, SB_OK);
}

static int mem_put_held(sb_item **existing, sb_store *st, const char *ledger,
                        const char *id, const char *bank, const char *value,
                        int64_t until_ms)
{
	sb_mem_db *db = SB_MEM_DB(st);
	int rc;

	pthread_mutex_lock(&db->lock);
	db->calls.put_if_absent++;
	rc = put_entry(existing, st, ledger, id, bank, value, until_ms);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

static int mem_update(sb_item **out, sb_store *st, const char *ledger,
                      const char *id, int64_t until_ms)
{
	sb_mem_db *db = SB_MEM_DB(st);
	sb_mem_entry *e;
	int rc = SB_OK;

	pthread_mutex_lock(&db->lock);
	if (!(e = sb_mem_find_entry(db, ledger, id)))
		rc = SB_ENOTFOUND;
	else if (SB_MEM_LAPSED(e, sb_now_ms()))
		rc = SB_EEXPIRED;
	else if (e->until) /* an entry for good stays so */
		e->until = until_ms;
	if (rc == SB_OK && !(*out = entry_item(e, 0)))
		rc = sb_mem_oom(st);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

static int mem_remove(sb_item **entry, sb_store *st, const char *ledger,
                      const char *id, const char *bank, const char *value,
                      unsigned int mode)
{
	sb_mem_db *db = SB_MEM_DB(st);
	sb_mem_entry *e;
	int rc = SB_OK, lapsed;

	pthread_mutex_lock(&db->lock);
	e = sb_mem_find_entry(db, ledger, id);
	if (!e || strcmp(e->bank, bank) != 0 || strcmp(e->value, value) != 0) {
		rc = SB_ENOTFOUND;
		goto out;
	}
	lapsed = SB_MEM_LAPSED(e, sb_now_ms());
	if (mode == SB_REMOVE_LIVE && lapsed)
		rc = SB_EEXPIRED;
	else if (mode == SB_REMOVE_LAPSED && !lapsed)
		rc = (*entry = entry_item(e, 0)) ? SB_ECONFLICT
		                                 : sb_mem_oom(st);
	else
		sb_mem_drop_entry(db, e);
out:
	pthread_mutex_unlock(&db->lock);
	return rc;
}

static int mem_export_holds(sb_store *st, const char *ledger,
                            sb_export_hold_cb cb, void *payload)
{
	sb_mem_db *db = SB_MEM_DB(st);
	int64_t now = sb_now_ms();
	int rc = SB_OK;
	size_t i;

	pthread_mutex_lock(&db->lock);
	for (i = 0; rc == SB_OK && i < db->nentries; i++) {
		sb_mem_entry *e = &db->entries[i];
		if (strcmp(e->ledger, ledger) == 0 && e->until &&
		    !SB_MEM_LAPSED(e, now))
			rc = cb(e->id, e->bank, e->value, e->until, payload);
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

const sb_ledger_ops sb_mem_ledger_ops = {
	.version = SB_LEDGER_OPS_VERSION,
	.get = mem_get,
	.put_if_absent = mem_put_if_absent,
	.export = mem_export,
	.count = mem_ledger_count,
	.create = NULL, /* ledgers are entries, not objects */
	.put_held = mem_put_held,
	.update = mem_update,
	.remove = mem_remove,
	.export_holds = mem_export_holds,
};
