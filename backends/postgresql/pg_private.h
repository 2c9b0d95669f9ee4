/* PostgreSQL backend: what its files share. Private to backends/postgresql.
 * Names carry sb_pg_ / SB_PG_.
 *
 * postgresql.c  the store: open (URI checks, own options), init, close,
 *               the store vtable and the two sb_backend structs
 * pg_libpq.c    libpq, loaded on first open (pg_libpq.h: the table)
 * pg_conn.c     the connection: libpq keywords from the URI, connect,
 *               session settings, reconnect
 * pg_exec.c     running statements: prepared or not, row by row, with the
 *               wait for an answer bounded; rollback
 * pg_error.c    failures to sb_error codes (SQLSTATE) and messages, with
 *               the password scrubbed
 * pg_hint.c     the take position remembered per bank
 * pg_schema.c   the schema (tables, migration) and every statement's SQL
 * pg_functions.c the server-side functions (fused claim and hold, change,
 *               reclaim, take_held, move, ledger update and remove)
 * pg_bank.c     the bank slots (add's transaction, take, settle, ...)
 * pg_add.c      add's batch: COPY straight into the tables, or through a
 *               temp table when the batch holds known items
 * pg_holds.c    the bank's hold slots (take_held, move, list)
 * pg_ledger.c   the ledger slots
 * pg_claim.c    the fused claim and hold
 * pg_change.c   the fused change (confirm, extend, release) and reclaim
 */
#ifndef SB_PG_PRIVATE_H
#define SB_PG_PRIVATE_H

#include "storagebox/backend.h"

#include "pg_libpq.h"
#include "sb_crypto.h"

/* Schema version in <schema>.sb_meta ('schema_version'). 2: holds
 * (a version 1 schema is brought up to 2 in place at open); 3: release
 * stamps (sb_move() keeps them; brought up in place as well). */
#define SB_PG_SCHEMA_VERSION 3

/* The server's clock in milliseconds since the epoch: the one clock of
 * deadlines on this backend (SQL text). */
#define SB_PG_NOW_MS \
	"floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

/* plpgsql text: take one available row of bank v_bid into (o_seq,
 * o_item), starting at position p_hint; sets v_empty when the bank has
 * nothing to give. SKIP LOCKED lets concurrent takers pass each other.
 * Before answering empty it makes sure no row is merely locked by a
 * transaction in flight (a take that may still roll back, or a lost twin
 * about to give its item back): it waits for such a row and looks again,
 * so "empty" is never said while an item may come back (law 5). Every
 * scan has ORDER BY seq: then the (bank_id, seq) index wins in any plan,
 * also in the generic plan plpgsql caches (without it, a bank of 5,000
 * rows in a table of millions was checked by a sequential scan). */
#define SB_PG_TAKE_LOOP                                               \
	"  v_from := p_hint;\n"                                       \
	"  LOOP\n"                                                    \
	"    DELETE FROM @.sb_available a WHERE a.ctid = (\n"         \
	"      SELECT s.ctid FROM @.sb_available s\n"                 \
	"       WHERE s.bank_id = v_bid AND s.seq >= v_from\n"        \
	"       ORDER BY s.seq LIMIT 1 FOR UPDATE SKIP LOCKED)\n"     \
	"     RETURNING a.seq, a.item INTO o_seq, o_item;\n"          \
	"    EXIT WHEN FOUND;\n"                                      \
	"    IF v_from > 0 THEN v_from := 0; CONTINUE; END IF;\n"     \
	"    PERFORM FROM @.sb_available s WHERE s.bank_id = v_bid\n" \
	"     ORDER BY s.seq LIMIT 1;\n"                              \
	"    IF NOT FOUND THEN v_empty := true; EXIT; END IF;\n"      \
	"    PERFORM FROM @.sb_available s WHERE s.bank_id = v_bid\n" \
	"     ORDER BY s.seq LIMIT 1 FOR UPDATE;\n"                   \
	"  END LOOP;\n"

/* Prepared statements, prepared on first use per connection. */
enum {
	SB_PG_HOLD,
	SB_PG_HOLD_FAST,
	SB_PG_CHANGE,
	SB_PG_RECLAIM,
	SB_PG_TAKE,
	SB_PG_TAKE_HELD,
	SB_PG_MOVE,
	SB_PG_MOVE_IF,
	SB_PG_LIST,
	SB_PG_SETTLE,
	SB_PG_PUT_BACK,
	SB_PG_COUNT,
	SB_PG_BANK_ID,
	SB_PG_BANK_CREATE,
	SB_PG_RESERVED,
	SB_PG_LEDGER_GET,
	SB_PG_LEDGER_PUT,
	SB_PG_LEDGER_EXPORT,
	SB_PG_LEDGER_COUNT,
	SB_PG_LEDGER_UPDATE,
	SB_PG_LEDGER_REMOVE,
	SB_PG_LEDGER_HOLDS,
	SB_PG_N
};

#define SB_PG_HINTS 8 /* banks whose take position a store remembers */

typedef struct {
	char *bank;
	long long seq; /* the last position taken from this bank */
} sb_pg_hint;

typedef struct {
	sb_store base; /* first: the core sees an sb_store */
	PGconn *conn;
	char *where;        /* "host:port/db" for messages: no secrets */
	char *password;     /* only to scrub it out of server messages */
	char schema[64];    /* validated identifier */
	char *sql[SB_PG_N]; /* statement text with the schema filled in */
	unsigned char prepared[SB_PG_N];
	long long statement_timeout_ms; /* -1: the server's setting */
	long long query_timeout_ms; /* client-side wait per answer; 0: none */
	int broken; /* the connection was lost: reset before use */
	sb_pg_hint hints[SB_PG_HINTS];
	unsigned int hint_next;
} sb_pg_store;

#define SB_PG(st) ((sb_pg_store *)(st))

/* pg_conn.c */
/* Connect with the URI's parts and libpq keywords (every other option
 * unread by now is refused first, before any network wait), then set up
 * the session. */
int sb_pg_connect(sb_pg_store *s, sb_uri *uri);
/* Reconnect if the last call lost the connection. */
int sb_pg_ready(sb_pg_store *s, const char *op);

/* pg_exec.c */
/* Run prepared statement @p id with text parameters (lengths from
 * strlen). On success *out is the result (PGRES_TUPLES_OK or
 * PGRES_COMMAND_OK); the caller PQclear()s it. */
int sb_pg_exec(PGresult **out, sb_pg_store *s, int id, int n,
               const char *const *params, const char *op);
/* Same, for statement text that is not prepared (rare calls). */
int sb_pg_exec_sql(PGresult **out, sb_pg_store *s, const char *sql, int n,
                   const char *const *params, const char *op);
/* Run @p id in single-row mode and call @p row for each row until it
 * returns non-zero (then the rest is drained and that value returned). */
int sb_pg_each(sb_pg_store *s, int id, int n, const char *const *params,
               int (*row)(PGresult *res, void *payload), void *payload,
               const char *op);
/* Roll back whatever transaction is open; keeps the box's message. */
void sb_pg_rollback(sb_pg_store *s);

/* pg_error.c */
/* Map a failed result (or NULL) to an sb_error with a message naming
 * @p op, the server and the SQLSTATE. Marks a lost connection. Does not
 * clear @p res. */
int sb_pg_fail(sb_pg_store *s, PGresult *res, const char *op);
int sb_pg_nomem(sb_pg_store *s, const char *op);
/* A connection that is not up: libpq's message on one line, password
 * masked, into @p msg; returns SB_EAUTH or SB_ECONNECT. */
int sb_pg_refused(sb_pg_store *s, char *msg, size_t size);
/* SB_ENOTFOUND with the message of a missing bank. */
int sb_pg_no_bank(sb_pg_store *s, const char *bank);

/* pg_hint.c */
/* The remembered take position of @p bank (0: none), its update, and
 * freeing them all (at close). */
long long sb_pg_hint_get(sb_pg_store *s, const char *bank);
void sb_pg_hint_set(sb_pg_store *s, const char *bank, long long seq);
void sb_pg_hint_free(sb_pg_store *s);

/* pg_schema.c */
/* Create the schema if missing (idempotent, safe when racing). */
int sb_pg_schema_ensure(sb_pg_store *s);
/* Fill s->sql[] from the templates (schema name substituted). */
int sb_pg_sql_build(sb_pg_store *s);
/* @p tmpl with every "@." replaced by "\"schema\".". NULL: no memory. */
char *sb_pg_sql_fill(const sb_pg_store *s, const char *tmpl);
/* The text of statement @p which (SB_PG_*) with "@." for the schema, as
 * written in pg_schema.c; NULL out of range. For tools/bench only. */
const char *sb_pg_sql_template(int which);

/* pg_functions.c: the CREATE OR REPLACE FUNCTION statements, "@."
 * templated as the rest. */
extern const char sb_pg_functions_sql[];

/* pg_bank.c: the bank's id as text: SB_OK, SB_ENOTFOUND (no message) or
 * an error. */
int sb_pg_bank_id(char id[24], sb_pg_store *s, const char *bank,
                  const char *op);

/* pg_add.c: inside add's transaction, add @p items to bank @p bid (its
 * id as text): *added new ones, the rest skipped (law 6). */
int sb_pg_add_batch(sb_pg_store *s, const char *bid, const char *const *items,
                    size_t n, uint64_t *added);

/* pg_holds.c */
int sb_pg_take_held(sb_item **out, sb_store *st, const char *bank,
                    const char *token, int64_t until_ms);
int sb_pg_move(sb_store *st, const char *bank, const char *item,
               const char *token, unsigned int from, unsigned int to,
               int64_t until_ms);
int sb_pg_move_if(sb_store *st, const char *bank, const char *item,
                  const char *token, unsigned int from, unsigned int to,
                  int64_t until_ms, int64_t expect_ms);
int sb_pg_list(sb_store *st, const char *bank, unsigned int states,
               int64_t until_le, sb_bank_item_cb cb, void *payload);

/* pg_bank.c, pg_ledger.c, pg_claim.c, pg_change.c */
extern const sb_bank_ops sb_pg_bank_ops;
extern const sb_ledger_ops sb_pg_ledger_ops;
int sb_pg_claim(sb_item **out, sb_store *st, const char *bank,
                const char *ledger, const char *dedup_id, const char *token,
                int64_t now_ms);
int sb_pg_hold(sb_item **out, sb_store *st, const char *bank,
               const char *ledger, const char *dedup_id, const char *token,
               int64_t now_ms, int64_t ttl_ms);
int sb_pg_change(sb_item **out, sb_store *st, const char *ledger,
                 const char *dedup_id, const char *token, unsigned int op,
                 int64_t now_ms, int64_t ttl_ms);
int sb_pg_reclaim(uint64_t *n, sb_store *st, const char *bank, int64_t now_ms);

#endif
