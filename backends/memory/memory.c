/* In-memory backend (`memory:NAME`): the reference implementation of the
 * backend contract and the test double for the core's unit tests. Boxes
 * that open the same NAME in one process share one store, guarded by a
 * mutex, so threads can race on it. `memory:` with no name is private.
 * Data lives as long as some box has the store open. This file: open,
 * close, the list of named stores and the test interface (memory.h). */
#include "memory_private.h"

#include <stdlib.h>
#include <string.h>

static pthread_mutex_t dbs_lock = PTHREAD_MUTEX_INITIALIZER;
static sb_mem_db *dbs; /* named stores that are open */

int sb_mem_oom(sb_store *st)
{
	return sb_seterr(st->box, SB_ENOMEM, "memory: out of memory");
}

int sb_mem_no_bank(sb_store *st, const char *bank)
{
	return sb_seterr(st->box, SB_ENOTFOUND, "memory: no bank '%.200s'",
	                 bank);
}

static int mem_init(sb_store *st)
{
	sb_mem_db *db = SB_MEM_DB(st);
	sb_mem_fault f;

	pthread_mutex_lock(&db->lock);
	f = sb_mem_enter(db, SB_MEMORY_INIT);
	pthread_mutex_unlock(&db->lock);
	return sb_mem_leave(st, f, SB_OK);
}

static void db_free(sb_mem_db *db)
{
	size_t i;

	for (i = 0; i < db->nitems; i++) {
		free(db->items[i].bank);
		free(db->items[i].value);
		free(db->items[i].token);
	}
	for (i = 0; i < db->nentries; i++) {
		free(db->entries[i].ledger);
		free(db->entries[i].id);
		free(db->entries[i].bank);
		free(db->entries[i].value);
	}
	for (i = 0; i < db->nbanks; i++)
		free(db->banks[i]);
	free(db->items);
	free(db->entries);
	free(db->banks);
	free(db->name);
	pthread_mutex_destroy(&db->lock);
	free(db);
}

static void mem_close(sb_store *st)
{
	sb_mem_db *db = SB_MEM_DB(st), **p;
	int last;

	pthread_mutex_lock(&dbs_lock);
	last = --db->refs == 0;
	if (last && db->name)
		for (p = &dbs; *p; p = &(*p)->next)
			if (*p == db) {
				*p = db->next;
				break;
			}
	pthread_mutex_unlock(&dbs_lock);
	if (last)
		db_free(db);
	free(st);
}

static const sb_store_ops mem_store_ops = {
	.version = SB_STORE_OPS_VERSION,
	.init = mem_init,
	.close = mem_close,
	.claim = sb_mem_claim,
	.hold = sb_mem_hold,
	.change = sb_mem_change,
	.reclaim = sb_mem_reclaim,
};

static sb_mem_db *db_new(const char *name)
{
	sb_mem_db *db = calloc(1, sizeof(*db));

	if (!db)
		return NULL;
	if (name && !(db->name = strdup(name))) {
		free(db);
		return NULL;
	}
	pthread_mutex_init(&db->lock, NULL);
	return db;
}

/* The named store, with dbs_lock held; NULL if none is open. */
static sb_mem_db *db_named(const char *name)
{
	sb_mem_db *db;

	for (db = dbs; db && strcmp(db->name, name) != 0; db = db->next)
		;
	return db;
}

static int mem_open(sb_store **out, sb_uri *uri, sb_box *box)
{
	const char *name = uri->path && *uri->path ? uri->path : NULL;
	sb_mem_store *ms;
	sb_mem_db *db = NULL;

	if (uri->has_authority)
		return sb_seterr(box, SB_EURI,
		                 "memory URIs are memory:NAME (no '//host')");
	ms = calloc(1, sizeof(*ms));
	if (!ms)
		return sb_seterr(box, SB_ENOMEM, "memory: out of memory");
	pthread_mutex_lock(&dbs_lock);
	if (name)
		db = db_named(name);
	if (!db && (db = db_new(name)) && name) {
		db->next = dbs;
		dbs = db;
	}
	if (db)
		db->refs++;
	pthread_mutex_unlock(&dbs_lock);
	if (!db) {
		free(ms);
		return sb_seterr(box, SB_ENOMEM, "memory: out of memory");
	}
	ms->db = db;
	ms->base.ops = &mem_store_ops;
	ms->base.bank = &sb_mem_bank_ops;
	ms->base.ledger = &sb_mem_ledger_ops;
	*out = &ms->base;
	return SB_OK;
}

int sb__memory_calls(const char *name, sb_memory_calls *out)
{
	sb_mem_db *db;
	int rc = -1;

	pthread_mutex_lock(&dbs_lock);
	if ((db = db_named(name))) {
		pthread_mutex_lock(&db->lock);
		*out = db->calls;
		pthread_mutex_unlock(&db->lock);
		rc = 0;
	}
	pthread_mutex_unlock(&dbs_lock);
	return rc;
}

int sb__memory_fail(const char *name, sb_memory_slot slot, unsigned int nth,
                    int code, sb_memory_when when)
{
	sb_mem_db *db;
	int rc = -1;

	if ((int)slot < 0 || slot >= SB_MEMORY_NSLOTS)
		return -1;
	pthread_mutex_lock(&dbs_lock);
	if ((db = db_named(name))) {
		pthread_mutex_lock(&db->lock);
		db->plans[slot].countdown = nth;
		db->plans[slot].code = code;
		db->plans[slot].when = when;
		pthread_mutex_unlock(&db->lock);
		rc = 0;
	}
	pthread_mutex_unlock(&dbs_lock);
	return rc;
}

const sb_backend sb_backend_memory = {
	.version = SB_BACKEND_VERSION,
	.scheme = "memory",
	.open = mem_open,
};
