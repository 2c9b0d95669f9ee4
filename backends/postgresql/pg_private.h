/* PostgreSQL backend: what its files share. Private to backends/postgresql.
 * Names carry sb_pg_ / SB_PG_.
 *
 * postgresql.c  the store: open (URI checks, own options), init, close,
 *               the store vtable and the two sb_backend structs
 * pg_conn.c     the connection: libpq keywords from the URI, connect,
 *               session settings, reconnect
 * pg_exec.c     running statements: prepared or not, row by row, with the
 *               wait for an answer bounded; rollback
 * pg_error.c    failures to sb_error codes (SQLSTATE) and messages, with
 *               the password scrubbed
 * pg_hint.c     the take position remembered per bank
 * pg_schema.c   the schema (tables, functions) and every statement's SQL
 * pg_bank.c     the bank slots (add through COPY, take, settle, ...)
 * pg_ledger.c   the ledger slots
 * pg_claim.c    the fused claim
 */
#ifndef SB_PG_PRIVATE_H
#define SB_PG_PRIVATE_H

#include "storagebox/backend.h"

#include <libpq-fe.h>

/* Schema version in <schema>.sb_meta ('schema_version'). */
#define SB_PG_SCHEMA_VERSION 1

/* Prepared statements, prepared on first use per connection. */
enum {
	SB_PG_CLAIM,
	SB_PG_TAKE,
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

/* pg_bank.c, pg_ledger.c, pg_claim.c */
extern const sb_bank_ops sb_pg_bank_ops;
extern const sb_ledger_ops sb_pg_ledger_ops;
int sb_pg_claim(sb_item **out, sb_store *st, const char *bank,
                const char *ledger, const char *dedup_id, const char *token,
                int64_t now_ms);

#endif
