/* PostgreSQL backend: `postgresql://` and `postgres://` URIs, over libpq.
 *
 *   postgresql://[user[:password]@][host][:port][/dbname][?option=value...]
 *
 * The URI's parts and every libpq keyword in the query string (sslmode,
 * connect_timeout, application_name, ...) go to PQconnectdbParams as
 * keyword/value pairs (no connection string is ever re-assembled, so no
 * quoting can go wrong). storagebox's own options are taken out first:
 *   schema=NAME              where the tables live (default "storagebox";
 *                            [a-z_][a-z0-9_]*, at most 63 characters)
 *   statement_timeout=MS     per-statement limit (default: the server's)
 *   query_timeout=MS         how long a request (claim, take, lookup,
 *                            ledger write, each row of an export) waits
 *                            for the server's answer, client side
 *                            (default 8000, or statement_timeout + 2000
 *                            if larger; 0: forever). Past it the call
 *                            fails with SB_ETIMEOUT and the next call
 *                            reconnects. Bulk add, stats counts and
 *                            schema setup are not bounded by it (only by
 *                            TCP keepalives), as they may rightly be long.
 * plus the core's `lease`. Any other option is refused before connecting.
 * connect_timeout defaults to 5 s (libpq's own default waits forever; a
 * connection not up in time fails with SB_ECONNECT), keepalives
 * to 10 s idle, 5 s interval, 3 probes and tcp_user_timeout to 20 s (a
 * dead host or cut network is noticed even mid-query); each may be set
 * in the URI. client_encoding is always UTF8.
 *
 * A store is one connection, used by one thread at a time (its box's). A
 * call that loses the connection fails with SB_ECONNECT; the next call
 * reconnects (PQreset) and prepares its statements again. Messages name
 * host, port and database, never the password (libpq does not print it;
 * we scrub it from server text anyway).
 *
 * Durability is the server's: a claim is answered after its COMMIT, so
 * with the default synchronous_commit=on it survives a crash of the
 * server. See pg_schema.c for the layout, pg_claim.c for the claim.
 *
 * This file: the store (open, options, init, close, vtables); the
 * connection itself is pg_conn.c. */
#include "pg_private.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SCHEMA           "storagebox"
#define DEFAULT_QUERY_TIMEOUT_MS 8000LL

static int pg_init(sb_store *st)
{
	sb_pg_store *s = SB_PG(st);
	int rc = sb_pg_ready(s, "init");

	return rc != SB_OK ? rc : sb_pg_schema_ensure(s);
}

static void pg_close(sb_store *st)
{
	sb_pg_store *s = SB_PG(st);
	unsigned int i;

	if (!s)
		return;
	if (s->conn)
		PQfinish(s->conn);
	for (i = 0; i < SB_PG_N; i++)
		free(s->sql[i]);
	sb_pg_hint_free(s);
	free(s->where);
	free(s->password);
	free(s);
}

static const sb_store_ops pg_store_ops = {
	.version = SB_STORE_OPS_VERSION,
	.init = pg_init,
	.close = pg_close,
	.claim = sb_pg_claim,
	.hold = sb_pg_hold,
	.change = sb_pg_change,
	.reclaim = sb_pg_reclaim,
};

/* ?schema=, ?statement_timeout= and ?query_timeout=. */
static int own_options(sb_pg_store *s, sb_uri *uri)
{
	static const char ms_what[] = "a number of milliseconds (0: none)";
	const char *v = sb_uri_param(uri, "schema");
	size_t i;
	int rc;

	if (!v)
		v = DEFAULT_SCHEMA;
	for (i = 0; v[i]; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || v[i] == '_' ||
		      (i > 0 && v[i] >= '0' && v[i] <= '9')))
			break;
	if (i == 0 || v[i] || i >= sizeof s->schema ||
	    strncmp(v, "pg_", 3) == 0)
		return sb_seterr(s->base.box, SB_EURI,
		                 "postgresql URI: option schema must match "
		                 "[a-z_][a-z0-9_]* (at most 63 characters, not "
		                 "pg_...), not '%.80s'",
		                 v);
	memcpy(s->schema, v, i + 1);
	s->statement_timeout_ms = -1;
	rc = sb_uri_param_num(s->base.box, uri, "statement_timeout", ms_what, 0,
	                      INT_MAX, &s->statement_timeout_ms);
	if (rc != SB_OK)
		return rc;
	s->query_timeout_ms = DEFAULT_QUERY_TIMEOUT_MS;
	if (s->statement_timeout_ms > 0 &&
	    s->statement_timeout_ms + 2000 > s->query_timeout_ms)
		s->query_timeout_ms = s->statement_timeout_ms + 2000;
	return sb_uri_param_num(s->base.box, uri, "query_timeout", ms_what, 0,
	                        INT_MAX, &s->query_timeout_ms);
}

static int check_uri(sb_box *box, const sb_uri *uri)
{
	if (!uri->has_authority)
		return sb_seterr(box, SB_EURI,
		                 "%s URIs are %s://[user[:password]@][host][:port]"
		                 "[/dbname][?option=value...]",
		                 uri->scheme, uri->scheme);
	if (uri->path && *uri->path &&
	    (uri->path[0] != '/' || strchr(uri->path + 1, '/')))
		return sb_seterr(box, SB_EURI,
		                 "%s URI: the path must be one database name, "
		                 "not '%.80s'",
		                 uri->scheme, uri->path);
	return SB_OK;
}

static int pg_open(sb_store **out, sb_uri *uri, sb_box *box)
{
	sb_pg_store *s;
	const char *db;
	int rc;

	*out = NULL;
	if ((rc = check_uri(box, uri)) != SB_OK ||
	    (rc = sb_pg_libpq_load(box)) != SB_OK ||
	    (rc = sb_crypto_load(box, "PostgreSQL")) != SB_OK)
		return rc;
	s = calloc(1, sizeof *s);
	if (!s)
		return sb_seterr(box, SB_ENOMEM, "postgresql: out of memory");
	s->base.ops = &pg_store_ops;
	s->base.bank = &sb_pg_bank_ops;
	s->base.ledger = &sb_pg_ledger_ops;
	s->base.box = box;
	db = uri->path && uri->path[0] == '/' && uri->path[1] ? uri->path + 1
	                                                      : "(default)";
	s->where = malloc(strlen(uri->host ? uri->host : "") + strlen(db) + 40);
	if (s->where)
		sprintf(s->where, "%s:%d/%s",
		        uri->host && *uri->host ? uri->host : "(local socket)",
		        uri->port ? uri->port : 5432, db);
	if (!s->where || (uri->password && *uri->password &&
	                  !(s->password = strdup(uri->password)))) {
		if (!s->where)
			s->where = strdup("(server)");
		rc = sb_seterr(box, SB_ENOMEM, "postgresql: out of memory");
	} else {
		rc = own_options(s, uri);
	}
	if (rc == SB_OK)
		rc = sb_pg_connect(s, uri);
	if (rc == SB_OK)
		rc = sb_pg_sql_build(s);
	if (rc == SB_OK)
		rc = sb_pg_schema_ensure(s);
	if (rc != SB_OK) {
		pg_close(&s->base);
		return rc;
	}
	*out = &s->base;
	return SB_OK;
}

/* The exported symbols; core/registry.c declares them under
 * SB_HAVE_POSTGRESQL. One open serves both schemes. */
extern const sb_backend sb_backend_postgresql, sb_backend_postgres;
const sb_backend sb_backend_postgresql = {
	.version = SB_BACKEND_VERSION,
	.scheme = "postgresql",
	.open = pg_open,
};
const sb_backend sb_backend_postgres = {
	.version = SB_BACKEND_VERSION,
	.scheme = "postgres",
	.open = pg_open,
};
