/* PostgreSQL backend: what its files share. Private to backends/postgresql.
 *
 * postgresql.c  open, close, options, connection, errors, statements
 * pg_schema.c   the schema (tables, functions) and every statement's SQL
 * pg_bank.c     the bank slots (add through COPY, take, settle, ...)
 * pg_ledger.c   the ledger slots
 * pg_claim.c    the fused claim
 */
#ifndef SB_PG_PRIVATE_H
#define SB_PG_PRIVATE_H

#include "internal.h"

#include <libpq-fe.h>

/* Schema version in <schema>.sb_meta ('schema_version'). */
#define PG_SCHEMA_VERSION 1

/* Prepared statements, prepared on first use per connection. */
enum {
	PG_CLAIM,
	PG_TAKE,
	PG_SETTLE,
	PG_PUT_BACK,
	PG_COUNT,
	PG_BANK_ID,
	PG_BANK_CREATE,
	PG_RESERVED,
	PG_LEDGER_GET,
	PG_LEDGER_PUT,
	PG_LEDGER_EXPORT,
	PG_LEDGER_COUNT,
	PG_N
};

#define PG_HINTS 8 /* banks whose take position a store remembers */

typedef struct {
	char *bank;
	long long seq; /* the last position taken from this bank */
} pg_hint;

typedef struct {
	sb_store base;       /* first: the core sees an sb_store */
	PGconn *conn;
	char *where;         /* "host:port/db" for messages: no secrets */
	char *password;      /* only to scrub it out of server messages */
	char schema[64];     /* validated identifier */
	char *sql[PG_N];     /* statement text with the schema filled in */
	unsigned char prepared[PG_N];
	long long statement_timeout_ms; /* -1: the server's setting */
	long long query_timeout_ms; /* client-side wait per answer; 0: none */
	int broken;          /* the connection was lost: reset before use */
	pg_hint hints[PG_HINTS];
	unsigned int hint_next;
} pg_store;

#define PG(st) ((pg_store *)(st))

/* postgresql.c */
/* Map a failed result (or NULL) to an sb_error with a message naming
 * @p op, the server and the SQLSTATE. Marks a lost connection. Does not
 * clear @p res. */
int pg_fail(pg_store *s, PGresult *res, const char *op);
int pg_nomem(pg_store *s, const char *op);
/* Reconnect if the last call lost the connection. */
int pg_ready(pg_store *s, const char *op);
/* Run prepared statement @p id with text parameters (lengths from
 * strlen). On success *out is the result (PGRES_TUPLES_OK or
 * PGRES_COMMAND_OK); the caller PQclear()s it. */
int pg_exec(PGresult **out, pg_store *s, int id, int n,
            const char *const *params, const char *op);
/* Same, for statement text that is not prepared (rare calls). */
int pg_exec_sql(PGresult **out, pg_store *s, const char *sql, int n,
                const char *const *params, const char *op);
/* Run @p id in single-row mode and call @p row for each row until it
 * returns non-zero (then the rest is drained and that value returned). */
int pg_each(pg_store *s, int id, int n, const char *const *params,
            int (*row)(PGresult *res, void *payload), void *payload,
            const char *op);
/* Roll back whatever transaction is open; keeps the box's message. */
void pg_rollback(pg_store *s);
/* The remembered take position of @p bank (0: none) and its update. */
long long pg_hint_get(pg_store *s, const char *bank);
void pg_hint_set(pg_store *s, const char *bank, long long seq);

/* pg_schema.c */
/* Create the schema if missing (idempotent, safe when racing). */
int pg_schema_ensure(pg_store *s);
/* Fill s->sql[] from the templates (schema name substituted). */
int pg_sql_build(pg_store *s);

/* pg_bank.c, pg_ledger.c, pg_claim.c */
extern const sb_bank_ops pg_bank_ops;
extern const sb_ledger_ops pg_ledger_ops;
int pg_claim(sb_item **out, sb_store *st, const char *bank,
             const char *ledger, const char *dedup_id, const char *token,
             int64_t now_ms);

#endif
