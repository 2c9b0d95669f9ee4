/* The demo backend's store: `demo:NAME` URIs, the list of open stores,
 * the store vtable and the registration entry point. */
#include "demo_private.h"

#include <stdlib.h>

/* The stores some box has open, by name. A store's data lives as long as
 * one box has it open. */
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static demo_map open_dbs; /* name -> demo_db */

demo_db *demo_lock(sb_store *st)
{
	demo_db *db = ((demo_store *)st)->db;
	pthread_mutex_lock(&db->lock);
	return db;
}

void demo_unlock(demo_db *db)
{
	pthread_mutex_unlock(&db->lock);
}

int demo_oom(sb_store *st)
{
	return sb_seterr(st->box, SB_ENOMEM, "demo: out of memory");
}

static demo_db *db_new(void)
{
	demo_db *db = calloc(1, sizeof *db);
	if (db && pthread_mutex_init(&db->lock, NULL) != 0) {
		free(db);
		db = NULL;
	}
	return db;
}

static void db_free(demo_db *db)
{
	demo_map_clear(&db->banks, demo_bank_free);
	demo_map_clear(&db->ledgers, demo_ledger_free);
	pthread_mutex_destroy(&db->lock);
	free(db);
}

/* The db named @p name, made if it is not open yet, with one more
 * reference; NULL when out of memory. */
static demo_db *db_acquire(const char *name)
{
	demo_db *db;

	pthread_mutex_lock(&open_lock);
	db = demo_map_get(&open_dbs, name);
	if (!db && (db = db_new()) &&
	    !(db->name = demo_map_put(&open_dbs, name, db))) {
		db_free(db);
		db = NULL;
	}
	if (db)
		db->refs++;
	pthread_mutex_unlock(&open_lock);
	return db;
}

static void demo_close(sb_store *st)
{
	demo_db *db = ((demo_store *)st)->db;
	int last;

	pthread_mutex_lock(&open_lock);
	last = --db->refs == 0;
	if (last)
		demo_map_del(&open_dbs, db->name);
	pthread_mutex_unlock(&open_lock);
	if (last) /* no other box can reach it now */
		db_free(db);
	free(st);
}

/* Nothing to create: banks and ledgers appear when first written. */
static int demo_init(sb_store *st)
{
	(void)st;
	return SB_OK;
}

static const sb_store_ops demo_store_ops = {
	.version = 1, /* built before holds: the core still takes it */
	.init = demo_init,
	.close = demo_close,
	.claim = demo_claim,
};

static int demo_open(sb_store **out, sb_uri *uri, sb_box *box)
{
	demo_store *ds;

	if (uri->has_authority || !uri->path || !*uri->path)
		return sb_seterr(box, SB_EURI,
		                 "demo: the URI is demo:NAME (a "
		                 "name, no '//host')");
	if (!(ds = calloc(1, sizeof *ds)))
		return sb_seterr(box, SB_ENOMEM, "demo: out of memory");
	if (!(ds->db = db_acquire(uri->path))) {
		free(ds);
		return sb_seterr(box, SB_ENOMEM, "demo: out of memory");
	}
	ds->base.ops = &demo_store_ops;
	ds->base.bank = &demo_bank_ops;
	ds->base.ledger = &demo_ledger_ops;
	*out = &ds->base;
	return SB_OK;
}

static const sb_backend demo_backend = {
	.version = SB_BACKEND_VERSION,
	.scheme = "demo",
	.open = demo_open,
};

int demo_backend_register(void)
{
	return sb_backend_register(&demo_backend);
}
