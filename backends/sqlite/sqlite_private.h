/* Private to the SQLite backend (backends/sqlite/): the store and what its
 * files share. Names carry sb_sq_ (macros SB_SQ_), so that in the static
 * library they cannot clash with a user's symbols.
 *
 * sqlite.c          the backend: open, init, close (the store's lifecycle)
 * sqlite_uri.c      the URI: the path, ?synchronous= and ?busy_timeout=
 * sqlite_connect.c  the connection: open the file, WAL, synchronous
 * sqlite_busy.c     waiting for locks: the busy handler, retries at open
 * sqlite_schema.c   the schema: create it, migrate an older one, check it
 * sqlite_sql.c      the SQL of every statement (sqlite_sql.h)
 * sqlite_error.c    SQLite results as sb_error codes and messages
 * sqlite_stmt.c     prepared statements: prepare once, bind, step, reset
 * sqlite_txn.c      transactions: begin, commit, rollback
 * sqlite_bankid.c   bank name -> id, through a per-store cache
 * sqlite_bank.c     the bank slots (sb_sq_bank_ops)
 * sqlite_hold_bank.c  the bank slots of holds: take_held, move, list;
 *                   of stamps: move_if
 * sqlite_ledger.c   the ledger slots (sb_sq_ledger_ops)
 * sqlite_hold_ledger.c  the ledger slots of holds: put_held, update,
 *                   remove, export_holds
 * sqlite_claim.c    the fused hold (and claim: a hold for good)
 * sqlite_change.c   the fused confirm, extend and release
 * sqlite_reclaim.c  lapsed holds reclaimed inside a transaction; the fused
 *                   reclaim */
#ifndef SB_SQLITE_PRIVATE_H
#define SB_SQLITE_PRIVATE_H

#include "storagebox/backend.h"
#include "sqlite_sql.h"

#include <sqlite3.h>

#define SB_SQ_DEFAULT_BUSY_MS 5000
#define SB_SQ_BANK_CACHE      8 /* bank name -> id; a store rarely juggles more */

typedef struct {
	char *name;
	sqlite3_int64 id;
} sb_sq_bank_slot;

typedef struct {
	sb_store base; /* first: the core sees an sb_store */
	sqlite3 *db;
	char *path; /* for messages; SQLite paths hold no secrets */
	int busy_ms;
	int64_t busy_since_us; /* start of the current wait for a lock */
	uint32_t rng;          /* xorshift state for the busy handler's naps */
	int opening; /* 1 while the store opens: failures say "cannot open" */
	sqlite3_stmt *stmt[SB_SQ_N]; /* see sb_sq_prep() */
	sb_sq_bank_slot banks[SB_SQ_BANK_CACHE];
	unsigned int bank_next; /* round-robin victim */
} sb_sq_store;

/* sqlite_uri.c. The URI's form, before anything is allocated. */
int sb_sq_uri_check(sb_box *box, const sb_uri *uri);
/* ?synchronous= into *sync_full, ?busy_timeout= into s->busy_ms. */
int sb_sq_options(sb_sq_store *s, sb_uri *uri, int *sync_full);

/* A hold's deadline @p d (0: for good) has passed at @p now. */
#define SB_SQ_LAPSED_AT(d, now) ((d) > 0 && (d) <= (now))

/* sqlite_connect.c. Open s->path into s->db, ready for the slots (WAL,
 * synchronous, busy handler, schema). On failure s->db may be set: close
 * it with the store. */
int sb_sq_connect(sb_sq_store *s, int sync_full);

/* sqlite_busy.c */
/* Install the busy handler on s->db (waits up to s->busy_ms). */
void sb_sq_busy_install(sb_sq_store *s);
/* sqlite3_exec, retried while the database is busy; with @p row, the
 * first column of the last row as an int. */
int sb_sq_exec_retry(sb_sq_store *s, const char *sql, int *row, const char *op);

/* sqlite_schema.c. Create the schema if missing, migrate an older one in
 * place, refuse a newer one. */
int sb_sq_schema(sb_sq_store *s);

/* sqlite_error.c. Each sets the box's message and returns the code. */
/* A failed SQLite call @p rc of operation @p op. Call it before ROLLBACK
 * or reset: they overwrite sqlite3_errmsg(). */
int sb_sq_fail(sb_sq_store *s, int rc, const char *op);
int sb_sq_nomem(sb_sq_store *s, const char *op);
int sb_sq_no_bank(sb_sq_store *s, const char *bank);

/* sqlite_stmt.c */
/* The statement @p id (an SB_SQ_* of sqlite_sql.h), prepared on first use
 * and kept in the store. */
int sb_sq_prep(sb_sq_store *s, int id, sqlite3_stmt **out, const char *op);
/* Bind text (lent: unbound again by sb_sq_done()). */
void sb_sq_text(sqlite3_stmt *st, int i, const char *s);
/* Column @p i as text; NULL only when SQLite ran out of memory. */
const char *sb_sq_col(sqlite3_stmt *st, int i);
/* Step to the end, then sb_sq_done(); a failure is reported. */
int sb_sq_run(sb_sq_store *s, sqlite3_stmt *st, const char *op);
/* Reset and unbind: ends the read snapshot, drops the lent strings. */
void sb_sq_done(sqlite3_stmt *st);

/* sqlite_txn.c */
int sb_sq_begin(sb_sq_store *s, const char *op);  /* BEGIN IMMEDIATE */
int sb_sq_commit(sb_sq_store *s, const char *op); /* rolls back on failure */
void sb_sq_rollback(sb_sq_store *s); /* keeps the first error's message */
/* The time to judge deadlines by once the write lock is held: the later
 * of the core's @p now_ms and sb_now_ms() now (the wait for the lock must
 * not let a confirm succeed after its deadline). */
int64_t sb_sq_now_locked(int64_t now_ms);

/* sqlite_bankid.c */
/* The id of @p bank: SB_OK, SB_ENOTFOUND (no message) or an error. Call it
 * only before this transaction writes anything. */
int sb_sq_bank_id(sb_sq_store *s, const char *bank, sqlite3_int64 *id,
                  const char *op);
/* Remember a committed bank id. */
void sb_sq_cache_put(sb_sq_store *s, const char *bank, sqlite3_int64 id);

/* sqlite_bank.c */
extern const sb_bank_ops sb_sq_bank_ops;
/* Move the bank's first available item to the state of @p stmt
 * (SB_SQ_TAKE_RESERVE, _ASSIGN with @p ms its since; SB_SQ_TAKE_HELD with
 * @p ms its deadline) for @p token: SB_OK with *out (SB_ITEM_NEW),
 * SB_EMPTY, or an error. */
int sb_sq_take_one(sb_item **out, sb_sq_store *s, int stmt, sqlite3_int64 bid,
                   const char *bank, const char *token, int64_t ms,
                   const char *op);

/* sqlite_hold_bank.c */
int sb_sq_take_held(sb_item **out, sb_store *base, const char *bank,
                    const char *token, int64_t until_ms);
int sb_sq_move(sb_store *base, const char *bank, const char *item,
               const char *token, unsigned int from, unsigned int to,
               int64_t until_ms);
int sb_sq_move_if(sb_store *base, const char *bank, const char *item,
                  const char *token, unsigned int from, unsigned int to,
                  int64_t until_ms, int64_t expect_ms);
int sb_sq_list(sb_store *base, const char *bank, unsigned int states,
               int64_t until_le, sb_bank_item_cb cb, void *payload);
/* SB_SQ_ITEM_MOVE: the item of bank @p bid with @p token, in one of the
 * states of the set @p from (SB_STATE_* bits), to the state number @p to
 * (deadline @p until_ms for held and reclaiming, 0: kept; the stamp of
 * the states that have one, as sb_bank_ops.move). *moved says whether it
 * did; not moving is no error. */
int sb_sq_move_id(int *moved, sb_sq_store *s, sqlite3_int64 bid,
                  const char *item, const char *token, unsigned int from,
                  int to, int64_t until_ms, const char *op);

/* sqlite_ledger.c */
extern const sb_ledger_ops sb_sq_ledger_ops;
/* The entry of (ledger, id): SB_OK with *out (its deadline set, and
 * SB_ITEM_LAPSED when it lapsed by @p now_ms), SB_ENOTFOUND without a
 * message, or an error. */
int sb_sq_ledger_find(sb_item **out, sb_sq_store *s, const char *ledger,
                      const char *dedup_id, int64_t now_ms, const char *op);
/* The entry in columns @p col (bank), col + 1 (item), col + 2 (deadline)
 * of the current row of @p st into *out, as sb_sq_ledger_find(). */
int sb_sq_entry_row(sb_item **out, sb_sq_store *s, sqlite3_stmt *st, int col,
                    int64_t now_ms, const char *op);
/* The insert @p stmt (SB_SQ_LEDGER_PUT or _UPSERT) of an entry until
 * @p deadline (0: for good); *stored says whether it wrote. */
int sb_sq_ledger_insert(int *stored, sb_sq_store *s, int stmt,
                        const char *ledger, const char *dedup_id,
                        const char *bank, const char *item, int64_t deadline,
                        const char *op);
/* Store the entry unless the id holds a live one: SB_OK, or SB_ECONFLICT
 * (no message) with *existing, the live entry. A lapsed entry is
 * replaced. */
int sb_sq_ledger_put(sb_item **existing, sb_sq_store *s, const char *ledger,
                     const char *dedup_id, const char *bank, const char *item,
                     int64_t deadline, const char *op);

/* sqlite_hold_ledger.c */
int sb_sq_put_held(sb_item **existing, sb_store *base, const char *ledger,
                   const char *dedup_id, const char *bank, const char *item,
                   int64_t until_ms);
int sb_sq_update(sb_item **out, sb_store *base, const char *ledger,
                 const char *dedup_id, int64_t until_ms);
int sb_sq_remove(sb_item **entry, sb_store *base, const char *ledger,
                 const char *dedup_id, const char *bank, const char *item,
                 unsigned int mode);
int sb_sq_export_holds(sb_store *base, const char *ledger, sb_export_hold_cb cb,
                       void *payload);
/* SB_EEXPIRED with the message that the id's hold lapsed. */
int sb_sq_lapsed_err(sb_sq_store *s, const char *ledger, const char *dedup_id);

/* sqlite_claim.c */
int sb_sq_claim(sb_item **out, sb_store *base, const char *bank,
                const char *ledger, const char *dedup_id, const char *token,
                int64_t now_ms);
int sb_sq_hold(sb_item **out, sb_store *base, const char *bank,
               const char *ledger, const char *dedup_id, const char *token,
               int64_t now_ms, int64_t ttl_ms);

/* sqlite_change.c */
int sb_sq_change(sb_item **out, sb_store *base, const char *ledger,
                 const char *dedup_id, const char *token, unsigned int op,
                 int64_t now_ms, int64_t ttl_ms);

/* sqlite_reclaim.c. Inside a write transaction. */
/* Delete the id's entry @p entry (read in this transaction) and move its
 * item, when it is in this file with @p token in one of the states of
 * @p from, to the state number @p to. */
int sb_sq_entry_drop(sb_sq_store *s, const char *ledger, const char *dedup_id,
                     const char *token, const sb_item *entry, unsigned int from,
                     int to, const char *op);
/* Make one lapsed hold of bank @p bid available (its entry deleted),
 * settling on the way the held rows whose entry is in fact live or for
 * good: SB_OK, SB_EMPTY (none lapsed by @p now_ms) or an error. */
int sb_sq_reclaim_one(sb_sq_store *s, sqlite3_int64 bid, const char *bank,
                      int64_t now_ms, const char *op);
int sb_sq_reclaim(uint64_t *n, sb_store *base, const char *bank,
                  int64_t now_ms);

#endif
