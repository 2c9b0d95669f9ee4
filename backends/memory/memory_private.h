/* Private to the memory backend (backends/memory/): the shared store and
 * what its files share. Names carry sb_mem_.
 *
 * memory.c         open, close, named stores, the test interface
 * memory_bank.c    the bank slots
 * memory_ledger.c  the ledger slots
 * memory_hold.c    the fused claim and holds (hold, change, reclaim)
 * memory_fault.c   planned failures (memory.h) */
#ifndef SB_MEMORY_PRIVATE_H
#define SB_MEMORY_PRIVATE_H

#include "memory.h"

#include <pthread.h>

/* An item's state is one SB_STATE_* bit (backend.h). */
enum {
	SB_MEM_AVAILABLE = SB_STATE_AVAILABLE,
	SB_MEM_RESERVED = SB_STATE_RESERVED,
	SB_MEM_ASSIGNED = SB_STATE_ASSIGNED
};

typedef struct {
	char *bank, *value, *token;
	int state;
	int64_t since; /* reserved: when */
	int64_t until; /* held, reclaiming: the deadline; restocking,
	                  retiring: the stamp (backend.h version 3) */
} sb_mem_item;

typedef struct {
	char *ledger, *id, *bank, *value;
	int64_t until; /* 0: for good */
} sb_mem_entry;

/* An entry that is a hold whose deadline passed (by sb_now_ms()). */
#define SB_MEM_LAPSED(e, now) ((e)->until != 0 && (e)->until <= (now))

typedef struct {
	unsigned int countdown; /* 0: no plan; 1: the next call fails */
	int code;
	sb_memory_when when;
} sb_mem_plan;

/* What sb_mem_enter() decided for one call. */
typedef struct {
	int when; /* 0: no failure, else an sb_memory_when */
	int code;
	sb_memory_slot slot;
} sb_mem_fault;

typedef struct sb_mem_db {
	char *name; /* NULL: private */
	int refs;
	pthread_mutex_t lock; /* guards everything below */
	sb_mem_item *items;
	size_t nitems, capitems;
	char **banks;
	size_t nbanks;
	sb_mem_entry *entries;
	size_t nentries, capentries;
	sb_memory_calls calls;
	sb_mem_plan plans[SB_MEMORY_NSLOTS];
	struct sb_mem_db *next;
} sb_mem_db;

typedef struct {
	sb_store base; /* first: the core sees an sb_store */
	sb_mem_db *db;
} sb_mem_store;

#define SB_MEM_DB(st) (((sb_mem_store *)(st))->db)

/* memory.c */
int sb_mem_oom(sb_store *st);
int sb_mem_no_bank(sb_store *st, const char *bank);
extern const sb_bank_ops sb_mem_bank_ops;
extern const sb_ledger_ops sb_mem_ledger_ops;

/* memory_bank.c (caller holds the lock) */
long sb_mem_find_bank(sb_mem_db *db, const char *bank);
sb_mem_item *sb_mem_find_item(sb_mem_db *db, const char *bank,
                              const char *value);
/* The first HELD item of @p bank whose deadline is <= @p now, or NULL. */
sb_mem_item *sb_mem_first_lapsed(sb_mem_db *db, const char *bank, int64_t now);
sb_mem_item *sb_mem_first_available(sb_mem_db *db, const char *bank);
int sb_mem_any_reserved(sb_mem_db *db, const char *bank);
/* Move @p it to @p state under @p tok (taken over). */
void sb_mem_mark(sb_mem_item *it, int state, char *tok, int64_t now_ms);

/* memory_ledger.c (caller holds the lock) */
sb_mem_entry *sb_mem_find_entry(sb_mem_db *db, const char *ledger,
                                const char *id);
int sb_mem_add_entry(sb_mem_db *db, const char *ledger, const char *id,
                     const char *bank, const char *value);
void sb_mem_drop_entry(sb_mem_db *db, sb_mem_entry *e);
/* The entry whose token (ledger LF id) is @p token, or NULL. */
sb_mem_entry *sb_mem_token_entry(sb_mem_db *db, const char *token);

/* memory_hold.c */
int sb_mem_claim(sb_item **out, sb_store *st, const char *bank,
                 const char *ledger, const char *id, const char *token,
                 int64_t now_ms);
int sb_mem_hold(sb_item **out, sb_store *st, const char *bank,
                const char *ledger, const char *id, const char *token,
                int64_t now_ms, int64_t ttl_ms);
int sb_mem_change(sb_item **out, sb_store *st, const char *ledger,
                  const char *id, const char *token, unsigned int op,
                  int64_t now_ms, int64_t ttl_ms);
int sb_mem_reclaim(uint64_t *n, sb_store *st, const char *bank, int64_t now_ms);

/* memory_fault.c. Every slot brackets its work: under the lock,
 *   f = sb_mem_enter(db, SLOT); if (f.when == SB_MEMORY_FAIL_BEFORE) skip
 *   the work; ... unlock; return sb_mem_leave(st, f, rc);
 * enter consumes the slot's plan; leave returns the planned code (with a
 * message) when the call was planned to fail, else rc. */
sb_mem_fault sb_mem_enter(sb_mem_db *db, sb_memory_slot slot);
int sb_mem_leave(sb_store *st, sb_mem_fault f, int rc);

#endif
