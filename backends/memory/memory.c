/* In-memory backend (`memory:NAME`): the reference implementation of the
 * backend contract and the test double for the core's unit tests. Boxes
 * that open the same NAME in one process share one store, guarded by a
 * mutex, so threads can race on it. `memory:` with no name is private.
 * Data lives as long as some box has the store open. Linear scans: it is
 * for tests and small demos, not for large banks. */
#include "memory.h"
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { AVAILABLE, RESERVED, ASSIGNED };

typedef struct {
	char *bank, *value, *token;
	int state;
	int64_t since;
} mem_item;

typedef struct {
	char *ledger, *id, *bank, *value;
} mem_entry;

typedef struct mem_db {
	char *name; /* NULL: private */
	int refs;
	pthread_mutex_t lock;
	mem_item *items;
	size_t nitems, capitems;
	char **banks;
	size_t nbanks;
	mem_entry *entries;
	size_t nentries, capentries;
	sb_memory_calls calls;
	struct mem_db *next;
} mem_db;

typedef struct {
	sb_store base;
	mem_db *db;
} mem_store;

static pthread_mutex_t dbs_lock = PTHREAD_MUTEX_INITIALIZER;
static mem_db *dbs; /* named stores that are open */

#define DB(st) (((mem_store *)(st))->db)

static int oom(sb_store *st)
{
	return sb_seterr(st->box, SB_ENOMEM, "memory: out of memory");
}

static long find_bank(mem_db *db, const char *bank)
{
	size_t i;
	for (i = 0; i < db->nbanks; i++)
		if (strcmp(db->banks[i], bank) == 0)
			return (long)i;
	return -1;
}

static int ensure_bank(mem_db *db, const char *bank)
{
	char **nb;

	if (find_bank(db, bank) >= 0)
		return 0;
	nb = realloc(db->banks, (db->nbanks + 1) * sizeof(*nb));
	if (!nb)
		return -1;
	db->banks = nb;
	if (!(db->banks[db->nbanks] = strdup(bank)))
		return -1;
	db->nbanks++;
	return 0;
}

static mem_item *find_item(mem_db *db, const char *bank, const char *value)
{
	size_t i;
	for (i = 0; i < db->nitems; i++)
		if (strcmp(db->items[i].value, value) == 0 &&
		    strcmp(db->items[i].bank, bank) == 0)
			return &db->items[i];
	return NULL;
}

static mem_entry *find_entry(mem_db *db, const char *ledger, const char *id)
{
	size_t i;
	for (i = 0; i < db->nentries; i++)
		if (strcmp(db->entries[i].id, id) == 0 &&
		    strcmp(db->entries[i].ledger, ledger) == 0)
			return &db->entries[i];
	return NULL;
}

static int no_bank(sb_store *st, const char *bank)
{
	return sb_seterr(st->box, SB_ENOTFOUND, "memory: no bank '%.200s'",
	                 bank);
}

/* ---- bank ---------------------------------------------------------- */

static int mem_add(uint64_t *added, uint64_t *skipped, sb_store *st,
                   const char *bank, const char *const *items, size_t n)
{
	mem_db *db = DB(st);
	size_t i, start;
	int rc = SB_OK;

	pthread_mutex_lock(&db->lock);
	start = db->nitems;
	if (ensure_bank(db, bank)) {
		rc = oom(st);
		goto out;
	}
	*added = *skipped = 0;
	for (i = 0; i < n; i++) {
		mem_item *it;
		if (find_item(db, bank, items[i])) {
			(*skipped)++;
			continue;
		}
		if (db->nitems == db->capitems) {
			size_t cap = db->capitems ? db->capitems * 2 : 64;
			mem_item *ni = realloc(db->items, cap * sizeof(*ni));
			if (!ni) {
				rc = oom(st);
				break;
			}
			db->items = ni;
			db->capitems = cap;
		}
		it = &db->items[db->nitems];
		memset(it, 0, sizeof(*it));
		it->bank = strdup(bank);
		it->value = strdup(items[i]);
		if (!it->bank || !it->value) {
			free(it->bank);
			free(it->value);
			rc = oom(st);
			break;
		}
		db->nitems++;
		(*added)++;
	}
	if (rc) { /* all or nothing */
		while (db->nitems > start) {
			db->nitems--;
			free(db->items[db->nitems].bank);
			free(db->items[db->nitems].value);
		}
		*added = *skipped = 0;
	}
out:
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* The first available item of a bank (FIFO), or NULL. Caller holds the
 * lock. */
static mem_item *first_available(mem_db *db, const char *bank)
{
	size_t i;
	for (i = 0; i < db->nitems; i++)
		if (db->items[i].state == AVAILABLE &&
		    strcmp(db->items[i].bank, bank) == 0)
			return &db->items[i];
	return NULL;
}

/* Whether an item of @p bank is reserved. Caller holds the lock. */
static int any_reserved(mem_db *db, const char *bank)
{
	size_t i;
	for (i = 0; i < db->nitems; i++)
		if (db->items[i].state == RESERVED &&
		    strcmp(db->items[i].bank, bank) == 0)
			return 1;
	return 0;
}

/* Move @p it to @p state under @p tok (taken over). Caller holds the lock. */
static void mark(mem_item *it, int state, char *tok, int64_t now_ms)
{
	free(it->token);
	it->token = tok;
	it->state = state;
	it->since = now_ms;
}

static int mem_take(sb_item **out, sb_store *st, const char *bank,
                    const char *token, int64_t now_ms)
{
	mem_db *db = DB(st);
	mem_item *it;
	int rc = SB_EMPTY;

	pthread_mutex_lock(&db->lock);
	db->calls.take++;
	if (find_bank(db, bank) < 0)
		rc = no_bank(st, bank);
	else if ((it = first_available(db, bank))) {
		char *tok = strdup(token);
		*out = tok ? sb_item_new(it->value, bank, 0) : NULL;
		if (!*out) {
			free(tok);
			rc = oom(st);
		} else {
			mark(it, RESERVED, tok, now_ms);
			rc = SB_OK;
		}
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* reserved(token) -> @p to; @p done_state with the same token is success
 * already (idempotent). */
static int mem_move(sb_store *st, const char *bank, const char *value,
                    const char *token, int to, int done_state)
{
	mem_db *db = DB(st);
	mem_item *it;
	int rc;

	pthread_mutex_lock(&db->lock);
	if (to == ASSIGNED)
		db->calls.settle++;
	else
		db->calls.put_back++;
	it = find_item(db, bank, value);
	if (it && it->state == RESERVED && it->token &&
	    strcmp(it->token, token) == 0) {
		it->state = to;
		if (to == AVAILABLE) {
			free(it->token);
			it->token = NULL;
		}
		rc = SB_OK;
	} else if (it && done_state == ASSIGNED && it->state == ASSIGNED &&
	           it->token && strcmp(it->token, token) == 0) {
		rc = SB_OK;
	} else {
		rc = sb_seterr(st->box, SB_ECONFLICT,
		               "memory: item is not reserved by this request");
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

static int mem_settle(sb_store *st, const char *bank, const char *value,
                      const char *token)
{
	return mem_move(st, bank, value, token, ASSIGNED, ASSIGNED);
}

static int mem_put_back(sb_store *st, const char *bank, const char *value,
                        const char *token)
{
	return mem_move(st, bank, value, token, AVAILABLE, -1);
}

static int mem_count(sb_bank_counts *out, sb_store *st, const char *bank)
{
	mem_db *db = DB(st);
	int rc = SB_OK;
	size_t i;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&db->lock);
	if (find_bank(db, bank) < 0)
		rc = no_bank(st, bank);
	for (i = 0; rc == SB_OK && i < db->nitems; i++) {
		if (strcmp(db->items[i].bank, bank) != 0)
			continue;
		if (db->items[i].state == AVAILABLE)
			out->available++;
		else if (db->items[i].state == RESERVED)
			out->reserved++;
		else
			out->assigned++;
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

static int mem_reserved(sb_store *st, const char *bank, int64_t older_than,
                        sb_reservation_cb cb, void *payload)
{
	mem_db *db = DB(st);
	int rc = SB_OK;
	size_t i;

	pthread_mutex_lock(&db->lock);
	db->calls.reserved++;
	if (find_bank(db, bank) < 0)
		rc = no_bank(st, bank);
	for (i = 0; rc == SB_OK && i < db->nitems; i++) {
		mem_item *it = &db->items[i];
		if (it->state == RESERVED && it->since <= older_than &&
		    strcmp(it->bank, bank) == 0)
			rc = cb(it->value, it->token, it->since, payload);
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

static int mem_create_bank(sb_store *st, const char *bank)
{
	mem_db *db = DB(st);
	int rc = SB_OK;

	pthread_mutex_lock(&db->lock);
	if (ensure_bank(db, bank))
		rc = oom(st);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* ---- ledger -------------------------------------------------------- */

static int mem_get(sb_item **out, sb_store *st, const char *ledger,
                   const char *id)
{
	mem_db *db = DB(st);
	mem_entry *e;
	int rc = SB_ENOTFOUND;

	pthread_mutex_lock(&db->lock);
	db->calls.get++;
	e = find_entry(db, ledger, id);
	if (e)
		rc = (*out = sb_item_new(e->value, e->bank, 0)) ? SB_OK : oom(st);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* Caller holds the lock. */
static int add_entry(mem_db *db, const char *ledger, const char *id,
                     const char *bank, const char *value)
{
	mem_entry *e;

	if (db->nentries == db->capentries) {
		size_t cap = db->capentries ? db->capentries * 2 : 64;
		mem_entry *ne = realloc(db->entries, cap * sizeof(*ne));
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

static int mem_put_if_absent(sb_item **existing, sb_store *st,
                             const char *ledger, const char *id,
                             const char *bank, const char *value)
{
	mem_db *db = DB(st);
	mem_entry *e;
	int rc = SB_OK;

	*existing = NULL;
	pthread_mutex_lock(&db->lock);
	db->calls.put_if_absent++;
	e = find_entry(db, ledger, id);
	if (!e) {
		if (add_entry(db, ledger, id, bank, value))
			rc = oom(st);
	} else if (strcmp(e->bank, bank) != 0 || strcmp(e->value, value) != 0) {
		*existing = sb_item_new(e->value, e->bank, 0);
		rc = *existing ? SB_ECONFLICT : oom(st);
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

static int mem_export(sb_store *st, const char *ledger, sb_ledger_entry_cb cb,
                      void *payload)
{
	mem_db *db = DB(st);
	int rc = SB_OK;
	size_t i;

	pthread_mutex_lock(&db->lock);
	for (i = 0; rc == SB_OK && i < db->nentries; i++)
		if (strcmp(db->entries[i].ledger, ledger) == 0)
			rc = cb(db->entries[i].id, db->entries[i].bank,
			        db->entries[i].value, payload);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

static int mem_ledger_count(uint64_t *out, sb_store *st, const char *ledger,
                            const char *bank)
{
	mem_db *db = DB(st);
	size_t i;

	*out = 0;
	pthread_mutex_lock(&db->lock);
	for (i = 0; i < db->nentries; i++)
		if (strcmp(db->entries[i].ledger, ledger) == 0 &&
		    strcmp(db->entries[i].bank, bank) == 0)
			(*out)++;
	pthread_mutex_unlock(&db->lock);
	return SB_OK;
}

/* ---- fused claim and lifecycle ------------------------------------- */

static int mem_claim(sb_item **out, sb_store *st, const char *bank,
                     const char *ledger, const char *id, const char *token,
                     int64_t now_ms)
{
	mem_db *db = DB(st);
	mem_entry *e;
	mem_item *it;
	int rc = SB_EMPTY;

	pthread_mutex_lock(&db->lock);
	db->calls.claim++;
	if ((e = find_entry(db, ledger, id)))
		rc = (*out = sb_item_new(e->value, e->bank, 0)) ? SB_OK : oom(st);
	else if (find_bank(db, bank) < 0)
		rc = no_bank(st, bank);
	else if ((it = first_available(db, bank))) {
		char *tok = strdup(token);
		*out = tok ? sb_item_new(it->value, bank, SB_ITEM_NEW) : NULL;
		if (!*out || add_entry(db, ledger, id, bank, it->value)) {
			free(tok);
			sb_item_free(*out);
			*out = NULL;
			rc = oom(st);
		} else {
			mark(it, ASSIGNED, tok, now_ms);
			rc = SB_OK;
		}
	} else if (!any_reserved(db, bank)) {
		rc = SB_EMPTY_SETTLED;
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

static int mem_init(sb_store *st)
{
	(void)st;
	return SB_OK;
}

static void db_free(mem_db *db)
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
	mem_db *db = DB(st), **p;
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

static const sb_bank_ops mem_bank_ops = {
	SB_BACKEND_VERSION, mem_add, mem_take, mem_settle, mem_put_back,
	mem_count, mem_reserved, mem_create_bank,
};

static const sb_ledger_ops mem_ledger_ops = {
	SB_BACKEND_VERSION, mem_get, mem_put_if_absent, mem_export,
	mem_ledger_count, NULL,
};

static const sb_store_ops mem_store_ops = {
	SB_BACKEND_VERSION, mem_init, mem_close, mem_claim,
};

static mem_db *db_new(const char *name)
{
	mem_db *db = calloc(1, sizeof(*db));

	if (!db)
		return NULL;
	if (name && !(db->name = strdup(name))) {
		free(db);
		return NULL;
	}
	pthread_mutex_init(&db->lock, NULL);
	return db;
}

static int mem_open(sb_store **out, sb_uri *uri, sb_box *box)
{
	const char *name = uri->path && *uri->path ? uri->path : NULL;
	mem_store *ms;
	mem_db *db = NULL;

	if (uri->has_authority)
		return sb_seterr(box, SB_EURI,
		                 "memory URIs are memory:NAME (no '//host')");
	ms = calloc(1, sizeof(*ms));
	if (!ms)
		return sb_seterr(box, SB_ENOMEM, "memory: out of memory");
	pthread_mutex_lock(&dbs_lock);
	if (name)
		for (db = dbs; db && strcmp(db->name, name) != 0; db = db->next)
			;
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
	ms->base.bank = &mem_bank_ops;
	ms->base.ledger = &mem_ledger_ops;
	ms->base.box = box;
	*out = &ms->base;
	return SB_OK;
}

int sb__memory_calls(const char *name, sb_memory_calls *out)
{
	mem_db *db;
	int rc = -1;

	pthread_mutex_lock(&dbs_lock);
	for (db = dbs; db; db = db->next)
		if (strcmp(db->name, name) == 0) {
			pthread_mutex_lock(&db->lock);
			*out = db->calls;
			pthread_mutex_unlock(&db->lock);
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&dbs_lock);
	return rc;
}

const sb_backend sb_backend_memory = {
	SB_BACKEND_VERSION, "memory", SB_CAP_FUSED, mem_open,
};
