/* The demo backend's ledger: per ledger name, a hash table of id ->
 * (bank, item). Entries are written once and never change. */
#include "demo_private.h"

#include <stdlib.h>
#include <string.h>

void demo_ledger_free(void *ledger)
{
	demo_map_clear(ledger, free); /* an entry is one block */
	free(ledger);
}

demo_entry *demo_entry_get(demo_db *db, const char *ledger, const char *id)
{
	demo_map *ids = demo_map_get(&db->ledgers, ledger);
	return ids ? demo_map_get(ids, id) : NULL;
}

demo_entry *demo_entry_new(const char *bank, const char *item)
{
	size_t bl = strlen(bank) + 1, il = strlen(item) + 1;
	demo_entry *e = malloc(sizeof *e + bl + il);

	if (e) {
		e->bank = memcpy((char *)(e + 1), bank, bl);
		e->item = memcpy(e->bank + bl, item, il);
	}
	return e;
}

int demo_entry_put(demo_db *db, const char *ledger, const char *id,
                   demo_entry *e)
{
	demo_map *ids = demo_map_get(&db->ledgers, ledger);

	if (!ids && (ids = calloc(1, sizeof *ids)) &&
	    !demo_map_put(&db->ledgers, ledger, ids)) {
		free(ids);
		ids = NULL;
	}
	if (!ids || !demo_map_put(ids, id, e)) {
		free(e); /* an empty ledger made above may stay: it is harmless */
		return -1;
	}
	return 0;
}

/* A copy of the entry for the caller (flags 0: not assigned now). */
static int give(sb_item **out, sb_store *st, const demo_entry *e)
{
	return (*out = sb_item_new(e->item, e->bank, 0)) ? SB_OK : demo_oom(st);
}

static int demo_get(sb_item **out, sb_store *st, const char *ledger,
                    const char *id)
{
	demo_db *db = demo_lock(st);
	demo_entry *e = demo_entry_get(db, ledger, id);
	int rc = e ? give(out, st, e) : SB_ENOTFOUND;
	demo_unlock(db);
	return rc;
}

static int put_locked(sb_item **existing, sb_store *st, demo_db *db,
                      const char *ledger, const char *id, const char *bank,
                      const char *item)
{
	demo_entry *e = demo_entry_get(db, ledger, id);

	if (e && strcmp(e->bank, bank) == 0 && strcmp(e->item, item) == 0)
		return SB_OK; /* already exactly this */
	if (e) {
		int rc = give(existing, st, e);
		return rc == SB_OK ? SB_ECONFLICT : rc;
	}
	if (!(e = demo_entry_new(bank, item)) ||
	    demo_entry_put(db, ledger, id, e) != 0)
		return demo_oom(st);
	return SB_OK;
}

static int demo_put_if_absent(sb_item **existing, sb_store *st,
                              const char *ledger, const char *id,
                              const char *bank, const char *item)
{
	demo_db *db = demo_lock(st);
	int rc = put_locked(existing, st, db, ledger, id, bank, item);
	demo_unlock(db);
	return rc;
}

typedef struct {
	sb_ledger_entry_cb cb;
	void *payload;
	const char *bank; /* count: the bank counted */
	uint64_t n;
} walk;

static int export_one(const char *id, void *value, void *arg)
{
	const demo_entry *e = value;
	walk *w = arg;
	return w->cb(id, e->bank, e->item, w->payload);
}

static int demo_export(sb_store *st, const char *ledger, sb_ledger_entry_cb cb,
                       void *payload)
{
	demo_db *db = demo_lock(st);
	demo_map *ids = demo_map_get(&db->ledgers, ledger);
	walk w = { cb, payload, NULL, 0 };
	int rc = ids ? demo_map_each(ids, export_one, &w) : SB_OK;
	demo_unlock(db);
	return rc;
}

static int count_one(const char *id, void *value, void *arg)
{
	const demo_entry *e = value;
	walk *w = arg;
	(void)id;
	if (strcmp(e->bank, w->bank) == 0)
		w->n++;
	return 0;
}

/* Stats only: it walks the ledger (fetch never calls it). */
static int demo_ledger_count(uint64_t *out, sb_store *st, const char *ledger,
                             const char *bank)
{
	demo_db *db = demo_lock(st);
	demo_map *ids = demo_map_get(&db->ledgers, ledger);
	walk w = { NULL, NULL, bank, 0 };

	if (ids)
		demo_map_each(ids, count_one, &w);
	demo_unlock(db);
	*out = w.n;
	return SB_OK;
}

const sb_ledger_ops demo_ledger_ops = {
	.version = 1, /* built before holds: the core still takes it */
	.get = demo_get,
	.put_if_absent = demo_put_if_absent,
	.export = demo_export,
	.count = demo_ledger_count,
	.create = NULL, /* optional: a ledger appears with its first entry */
};
