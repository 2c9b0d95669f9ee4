/* PostgreSQL backend: the connection. The URI's parts and every libpq
 * keyword of its query go to PQconnectdbParams as keyword/value pairs:
 * the core parsed the URI once, libpq knows its own keywords
 * (PQconndefaults), and no connection string is ever re-assembled, so
 * no quoting can go wrong. Defaults that make a silent or dead server
 * fail in seconds are documented in postgresql.c. */
#include "pg_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libpq keywords we set when the URI does not: a silent or dead server
 * fails in seconds, not never (libpq's defaults). */
static const char *const default_kw[][2] = {
	{ "connect_timeout", "5" },      { "keepalives_idle", "10" },
	{ "keepalives_interval", "5" },  { "keepalives_count", "3" },
	{ "tcp_user_timeout", "20000" },
};
#define N_DEFAULT_KW (sizeof default_kw / sizeof *default_kw)

/* The notice processor: the library never prints (libpq's default writes
 * notices such as "relation already exists, skipping" to stderr). */
static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Per-session settings, after every (re)connect. */
static int session_setup(sb_pg_store *s)
{
	char ms[32];
	const char *param[1] = { ms };
	PGresult *res = NULL;
	int rc;

	memset(s->prepared, 0, sizeof s->prepared);
	if (s->statement_timeout_ms < 0)
		return SB_OK;
	snprintf(ms, sizeof ms, "%lld", s->statement_timeout_ms);
	rc = sb_pg_exec_sql(&res, s,
	                    "SELECT pg_catalog.set_config("
	                    "'statement_timeout', $1, false)",
	                    1, param, "set statement_timeout");
	PQclear(res);
	return rc;
}

int sb_pg_ready(sb_pg_store *s, const char *op)
{
	char msg[384];
	int code;

	if (!s->broken && PQstatus(s->conn) == CONNECTION_OK)
		return SB_OK;
	PQreset(s->conn);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		code = sb_pg_refused(s, msg, sizeof msg);
		s->broken = 1;
		return sb_seterr(s->base.box, code,
		                 "postgresql: %s: cannot "
		                 "reconnect to %s: %s",
		                 op, s->where, msg);
	}
	s->broken = 0;
	return session_setup(s);
}

static int is_libpq_keyword(const PQconninfoOption *opts, const char *key)
{
	for (; opts && opts->keyword; opts++)
		if (strcmp(opts->keyword, key) == 0)
			return 1;
	return 0;
}

typedef struct {
	const char **kw, **val;
	size_t n;
	char port[8];
} conninfo;

static void ci_add(conninfo *ci, const char *kw, const char *val)
{
	ci->kw[ci->n] = kw;
	ci->val[ci->n] = val;
	ci->n++;
}

/* The keyword/value pairs for libpq: the URI's parts, then the libpq
 * keywords of the query (later pairs win), then what we insist on. Every
 * other option is refused here, before any connection attempt. */
static int build_conninfo(sb_pg_store *s, sb_uri *uri, conninfo *ci)
{
	PQconninfoOption *defs = PQconndefaults();
	const char *unused;
	size_t i;

	if (!defs)
		return sb_pg_nomem(s, "open");
	if (uri->host && *uri->host)
		ci_add(ci, "host", uri->host);
	if (uri->port) {
		snprintf(ci->port, sizeof ci->port, "%d", uri->port);
		ci_add(ci, "port", ci->port);
	}
	if (uri->user && *uri->user)
		ci_add(ci, "user", uri->user);
	if (uri->password && *uri->password)
		ci_add(ci, "password", uri->password);
	if (uri->path && uri->path[0] == '/' && uri->path[1])
		ci_add(ci, "dbname", uri->path + 1);
	for (i = 0; i < uri->nparams; i++) {
		const char *key = uri->params[i].key;
		if (uri->params[i].used || !is_libpq_keyword(defs, key) ||
		    strcmp(key, "client_encoding") == 0)
			continue;
		ci_add(ci, key, sb_uri_param(uri, key)); /* the last value */
		if (strcmp(key, "password") == 0 && !s->password &&
		    !(s->password = strdup(ci->val[ci->n - 1]))) {
			PQconninfoFree(defs);
			return sb_pg_nomem(s, "open");
		}
	}
	PQconninfoFree(defs);
	if ((unused = sb_uri_unused(uri)))
		return sb_seterr(s->base.box, SB_EURI,
		                 "postgresql URI: unknown option '%.64s' (neither "
		                 "a storagebox option nor a libpq keyword)",
		                 unused);
	for (i = 0; i < N_DEFAULT_KW; i++)
		if (!sb_uri_param(uri, default_kw[i][0]))
			ci_add(ci, default_kw[i][0], default_kw[i][1]);
	ci_add(ci, "fallback_application_name", "storagebox");
	ci_add(ci, "client_encoding", "UTF8");
	ci_add(ci, NULL, NULL);
	return SB_OK;
}

int sb_pg_connect(sb_pg_store *s, sb_uri *uri)
{
	conninfo ci = { NULL, NULL, 0, "" };
	size_t max = uri->nparams + 8 + N_DEFAULT_KW;
	char msg[384];
	int rc;

	ci.kw = calloc(max, sizeof *ci.kw);
	ci.val = calloc(max, sizeof *ci.val);
	if (!ci.kw || !ci.val)
		rc = sb_pg_nomem(s, "open");
	else
		rc = build_conninfo(s, uri, &ci);
	if (rc == SB_OK) {
		/* expand_dbname 0: a dbname is a name, never a conninfo. */
		s->conn = PQconnectdbParams(ci.kw, ci.val, 0);
		if (!s->conn)
			rc = sb_pg_nomem(s, "connect");
	}
	free(ci.kw);
	free(ci.val);
	if (rc != SB_OK)
		return rc;
	PQsetNoticeProcessor(s->conn, quiet, NULL);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		rc = sb_pg_refused(s, msg, sizeof msg);
		return sb_seterr(s->base.box, rc,
		                 "postgresql: cannot connect "
		                 "to %s: %s",
		                 s->where, msg);
	}
	return session_setup(s);
}
