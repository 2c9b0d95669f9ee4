/* Private to the SQLite backend (backends/sqlite/): the store and the
 * helpers its files share. Names carry sb_sq_ so that, in the static
 * library, they cannot clash with a user's symbols. */
#ifndef SB_SQLITE_PRIVATE_H
#define SB_SQLITE_PRIVATE_H

#include "internal.h"
#include "sqlite_sql.h"

#include <sqlite3.h>

#define SB_SQ_DEFAULT_BUSY_MS 5000
#define SB_SQ_BANK_CACHE 8 /* bank name -> id; a store rarely juggles more */
#define SB_SQ_FAULT_CLAIM "sqlite_claim_before_commit"

typedef struct {
	char *name;
	sqlite3_int64 id;
} sb_sq_bank_slot;

typedef struct {
	sb_store base; /* first: the core sees an sb_store */
	sqlite3 *db;
	char *path;    /* for messages; SQLite paths hold no secrets */
	int busy_ms;
	int64_t busy_since_us; /* start of the current wait for a lock */
	uint32_t rng;          /* xorshift state for the busy handler's naps */
	int opening;   /* 1 while sq_open runs: failures say "cannot open" */
	sqlite3_stmt *stmt[SB_SQ_N]; /* prepared on first use, kept until close */
	sb_sq_bank_slot banks[SB_SQ_BANK_CACHE];
	unsigned int bank_next;   /* round-robin victim */
} sb_sq_store;

/* sqlite_util.c: errors, statements, transactions, bank ids */
int sb_sq_bank_id(sb_sq_store *s, const char *bank, sqlite3_int64 *id,
                      const char *op);
int sb_sq_bank_insert(sb_sq_store *s, const char *bank, sqlite3_int64 *id,
                          const char *op);
int sb_sq_begin(sb_sq_store *s, const char *op);
void sb_sq_cache_put(sb_sq_store *s, const char *bank, sqlite3_int64 id);
const char *sb_sq_col(sqlite3_stmt *st, int i);
int sb_sq_commit(sb_sq_store *s, const char *op);
void sb_sq_done(sqlite3_stmt *st);
int sb_sq_fail(sb_sq_store *s, int rc, const char *op);
int sb_sq_no_bank(sb_sq_store *s, const char *bank);
int sb_sq_nomem(sb_sq_store *s, const char *op);
int sb_sq_prep(sb_sq_store *s, int id, sqlite3_stmt **out, const char *op);
void sb_sq_rollback(sb_sq_store *s);
int sb_sq_run(sb_sq_store *s, sqlite3_stmt *st, const char *op);
void sb_sq_text(sqlite3_stmt *st, int i, const char *s);

/* sqlite_bank.c: the bank repository */
int sb_sq_bank_add(uint64_t *added, uint64_t *skipped, sb_store *base,
                       const char *bank, const char *const *items, size_t n);
int sb_sq_bank_count(sb_bank_counts *out, sb_store *base,
                         const char *bank);
int sb_sq_bank_create(sb_store *base, const char *bank);
int sb_sq_bank_put_back(sb_store *base, const char *bank,
                            const char *item, const char *token);
int sb_sq_bank_reserved(sb_store *base, const char *bank,
                            int64_t older_than_ms, sb_reservation_cb cb,
                            void *payload);
int sb_sq_bank_settle(sb_store *base, const char *bank, const char *item,
                          const char *token);
int sb_sq_bank_take(sb_item **out, sb_store *base, const char *bank,
                        const char *token, int64_t now_ms);
int sb_sq_take_one(sb_item **out, sb_sq_store *s, int stmt, sqlite3_int64 bid,
                       const char *bank, const char *token, int64_t now_ms,
                       const char *op);

/* sqlite_ledger.c: the ledger repository */
int sb_sq_ledger_count(uint64_t *out, sb_store *base, const char *ledger,
                           const char *bank);
int sb_sq_ledger_export(sb_store *base, const char *ledger,
                            sb_ledger_entry_cb cb, void *payload);
int sb_sq_ledger_find(sb_item **out, sb_sq_store *s, const char *ledger,
                          const char *dedup_id, const char *op);
int sb_sq_ledger_get(sb_item **out, sb_store *base, const char *ledger,
                         const char *dedup_id);
int sb_sq_ledger_insert(int *stored, sb_sq_store *s, const char *ledger,
                            const char *dedup_id, const char *bank,
                            const char *item, const char *op);
int sb_sq_ledger_put(sb_item **existing, sb_store *base,
                         const char *ledger, const char *dedup_id,
                         const char *bank, const char *item);

/* sqlite_claim.c: the fused claim */
int sb_sq_claim(sb_item **out, sb_store *base, const char *bank,
                    const char *ledger, const char *dedup_id,
                    const char *token, int64_t now_ms);

#endif
