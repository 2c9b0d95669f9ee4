/* Private to the demo backend: its data model and what its files share.
 *
 *   demo_map.c     a hash table of strings, the one container
 *   demo_store.c   open, close, the named stores, registration
 *   demo_bank.c    the bank slots
 *   demo_ledger.c  the ledger slots
 *   demo_claim.c   the fused claim
 *
 * Thread-safety: boxes that open the same demo:NAME share one demo_db.
 * Every slot holds the db's mutex from start to end, so each slot is one
 * atomic step, as backend.h asks of a store that many boxes use at once.
 * The list of open stores has its own mutex (demo_store.c); nothing takes
 * both at once. */
#ifndef DEMO_PRIVATE_H
#define DEMO_PRIVATE_H

#include "demo.h"

#include <storagebox/backend.h>

#include <pthread.h>

/* ---- demo_map.c: string -> pointer. Keys are copied; values are the
 * caller's. A zeroed demo_map is empty. Not thread-safe on its own: the
 * owner's mutex guards it. */
typedef struct demo_slot demo_slot;
typedef struct {
	demo_slot **buckets;
	size_t nbuckets; /* 0 (nothing yet) or a power of two */
	size_t count;
} demo_map;

/* The value of @p key, or NULL. */
void *demo_map_get(const demo_map *m, const char *key);
/* Add @p key (not yet in the map) with @p value. @return the map's copy of
 * the key, which lives until the key is removed, or NULL when out of
 * memory (the map is unchanged). */
const char *demo_map_put(demo_map *m, const char *key, void *value);
/* Remove @p key; @return its value, or NULL if it was absent. */
void *demo_map_del(demo_map *m, const char *key);
/* Call @p fn for every key, in no order, until it returns non-zero, which
 * is returned. @p fn must not change the map. */
typedef int (*demo_map_fn)(const char *key, void *value, void *arg);
int demo_map_each(const demo_map *m, demo_map_fn fn, void *arg);
/* Empty the map, passing every value to @p free_value (may be NULL). */
void demo_map_clear(demo_map *m, void (*free_value)(void *));
/* A copy of @p s (malloc), or NULL. */
char *demo_strdup(const char *s);

/* ---- the data of one store */
typedef enum {
	DEMO_AVAILABLE,
	DEMO_RESERVED,
	DEMO_ASSIGNED
} demo_state;

typedef struct demo_item {
	const char *value; /* the key in demo_bank.items */
	demo_state state;
	char *token;      /* reserved or assigned: the holder (NULL else) */
	int64_t since_ms; /* reserved: since when */
	/* Links in the bank's list of its state (assigned items are in
	 * none: they never move again). */
	struct demo_item *prev, *next;
} demo_item;

typedef struct {
	demo_item *head, *tail;
} demo_list;

typedef struct {
	demo_map items;      /* value -> demo_item, every item ever added:
	                         an item handed out is never added again */
	demo_list available; /* a FIFO: take from the head, put back at
	                         the tail */
	demo_list reserved;  /* what recovery walks */
	sb_bank_counts counts;
} demo_bank;

/* A ledger is a demo_map of id -> demo_entry. The strings are copies: the
 * bank may be in another store (bank and ledger URIs differ). */
typedef struct {
	char *bank, *item; /* in the same block as the struct */
} demo_entry;

typedef struct {
	pthread_mutex_t lock; /* guards the two maps and all below them */
	demo_map banks;       /* name -> demo_bank */
	demo_map ledgers;     /* name -> demo_map of id -> demo_entry */
	const char *name;     /* its key in the list of open stores */
	unsigned int refs;    /* stores open on it (guarded by the list's
	                         mutex, not by lock) */
} demo_db;

typedef struct {
	sb_store base; /* first: the core sees an sb_store */
	demo_db *db;
} demo_store;

/* ---- demo_store.c */
/* Lock the store's db and return it; every slot starts so. */
demo_db *demo_lock(sb_store *st);
void demo_unlock(demo_db *db);
/* SB_ENOMEM with a message. */
int demo_oom(sb_store *st);

/* ---- demo_bank.c (the functions: caller holds the lock) */
extern const sb_bank_ops demo_bank_ops;
void demo_bank_free(void *bank);
/* The bank, or NULL after setting SB_ENOTFOUND on the box. */
demo_bank *demo_bank_get(sb_store *st, demo_db *db, const char *name);
/* Move @p it into state @p to (its list and the counts follow). A token
 * given is taken over; NULL keeps the item's own, except that an item
 * made available again holds none. */
void demo_item_move(demo_bank *b, demo_item *it, demo_state to, char *token,
                    int64_t now_ms);

/* ---- demo_ledger.c (the functions: caller holds the lock) */
extern const sb_ledger_ops demo_ledger_ops;
void demo_ledger_free(void *ledger);
demo_entry *demo_entry_get(demo_db *db, const char *ledger, const char *id);
/* A new entry, not yet in any ledger; NULL when out of memory. */
demo_entry *demo_entry_new(const char *bank, const char *item);
/* Record @p e (taken over) for @p id, which has no entry yet. @return 0,
 * or -1 when out of memory (@p e is freed). */
int demo_entry_put(demo_db *db, const char *ledger, const char *id,
                   demo_entry *e);

/* ---- demo_claim.c */
int demo_claim(sb_item **out, sb_store *st, const char *bank,
               const char *ledger, const char *id, const char *token,
               int64_t now_ms);

#endif
