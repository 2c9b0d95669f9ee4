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
		rc = (*out = sb_item_new(e->value, e->bank, 0))
		             ? SB_OK
		             : sb_mem_oom(st);
	pthread_mutex_unlock(&db->lock);
	return sb_mem_leave(st, f, rc);
}

static int mem_put_if_absent(sb_item **existing, sb_store *st,
                             const char *ledger, const char *id,
                             const char *bank, const char *value)
{
	sb_mem_db *db = SB_MEM_DB(st);
	sb_mem_entry *e;
	sb_mem_fault f;
	int rc = SB_OK;

	*existing = NULL;
	pthread_mutex_lock(&db->lock);
	db->calls.put_if_absent++;
	f = sb_mem_enter(db, SB_MEMORY_PUT_IF_ABSENT);
	if (f.when == SB_MEMORY_FAIL_BEFORE)
		goto out;
	e = sb_mem_find_entry(db, ledger, id);
	if (!e) {
		if (sb_mem_add_entry(db, ledger, id, bank, value))
			rc = sb_mem_oom(st);
	} else if (strcmp(e->bank, bank) != 0 || strcmp(e->value, value) != 0) {
		*existing = sb_item_new(e->value, e->bank, 0);
		rc = *existing ? SB_ECONFLICT : sb_mem_oom(st);
	}
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
		if (strcmp(db->entries[i].ledger, ledger) == 0)
			rc = cb(db->entries[i].id, db->entries[i].bank,
			        db->entries[i].value, payload);
	pthread_mutex_unlock(&db->lock);
	return sb_mem_leave(st, f, rc);
}

static int mem_ledger_count(uint64_t *out, sb_store *st, const char *ledger,
                            const char *bank)
{
	sb_mem_db *db = SB_MEM_DB(st);
	sb_mem_fault f;
	size_t i;

	*out = 0;
	pthread_mutex_lock(&db->lock);
	f = sb_mem_enter(db, SB_MEMORY_LEDGER_COUNT);
	for (i = 0; f.when != SB_MEMORY_FAIL_BEFORE && i < db->nentries; i++)
		if (strcmp(db->entries[i].ledger, ledger) == 0 &&
		    strcmp(db->entries[i].bank, bank) == 0)
			(*out)++;
	pthread_mutex_unlock(&db->lock);
	return sb_mem_leave(st, f, SB_OK);
}

const sb_ledger_ops sb_mem_ledger_ops = {
	.version = SB_LEDGER_OPS_VERSION,
	.get = mem_get,
	.put_if_absent = mem_put_if_absent,
	.export = mem_export,
	.count = mem_ledger_count,
	.create = NULL, /* ledgers are entries, not objects */
};
