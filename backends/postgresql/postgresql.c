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
 * server. See pg_schema.c for the layout, pg_claim.c for the claim. */
#include "pg_private.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PG_DEFAULT_SCHEMA "storagebox"
#define PG_DEFAULT_QUERY_TIMEOUT_MS 8000LL

/* libpq keywords we set when the URI does not: a silent or dead server
 * fails in seconds, not never (libpq's defaults). */
static const char *const pg_default_kw[][2] = {
	{ "connect_timeout", "5" },
	{ "keepalives_idle", "10" },
	{ "keepalives_interval", "5" },
	{ "keepalives_count", "3" },
	{ "tcp_user_timeout", "20000" },
};
#define PG_N_DEFAULT_KW (sizeof pg_default_kw / sizeof *pg_default_kw)

/* ---------------------------------------------------------------- errors */

/* Copy @p msg into @p buf on one line, with the password masked. */
static void clean_msg(const sb_pg_store *s, const char *msg, char *buf,
                      size_t size)
{
	size_t n = 0, pl = s->password ? strlen(s->password) : 0;
	char c;

	if (!msg)
		msg = "";
	while (*msg && n + 1 < size) {
		/* Short passwords would mask ordinary words; libpq never
		 * echoes them anyway: this is a second line of defence. */
		if (pl >= 4 && strncmp(msg, s->password, pl) == 0) {
			size_t k;
			for (k = 0; k < 3 && n + 1 < size; k++)
				buf[n++] = '*';
			msg += pl;
			continue;
		}
		c = (*msg == '\n' || *msg == '\r' || *msg == '\t') ? ' ' : *msg;
		msg++;
		if (c == ' ' && (n == 0 || buf[n - 1] == ' '))
			continue; /* one line, single spaces */
		buf[n++] = c;
	}
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
}

static int is_auth_failure(PGconn *conn, const char *msg)
{
	if (conn && PQconnectionNeedsPassword(conn))
		return 1;
	/* libpq gives no SQLSTATE for a refused connection: match the
	 * server's (English) FATAL text of 28P01 and 28000. */
	return strstr(msg, "authentication failed") != NULL ||
	       strstr(msg, "no pg_hba.conf entry") != NULL ||
	       (strstr(msg, "role \"") && strstr(msg, "does not exist"));
}

int sb_pg_nomem(sb_pg_store *s, const char *op)
{
	return sb_seterr(s->base.box, SB_ENOMEM,
	                 "postgresql: %s on %s: out of memory", op, s->where);
}

int sb_pg_fail(sb_pg_store *s, PGresult *res, const char *op)
{
	char msg[384];
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
	                        : NULL;
	const char *text = res ? PQresultErrorField(res,
	                                            PG_DIAG_MESSAGE_PRIMARY)
	                       : NULL;
	int code = SB_EBACKEND;

	clean_msg(s, text ? text : PQerrorMessage(s->conn), msg, sizeof msg);
	if (!s->conn || PQstatus(s->conn) == CONNECTION_BAD) {
		s->broken = 1;
		return sb_seterr(s->base.box, SB_ECONNECT,
		                 "postgresql: connection to %s lost during %s "
		                 "(the next call reconnects)%s%s%s: %s", s->where,
		                 op, state ? " (SQLSTATE " : "",
		                 state ? state : "", state ? ")" : "", msg);
	}
	if (!state)
		return sb_seterr(s->base.box, SB_EBACKEND,
		                 "postgresql: %s failed on %s: %s", op, s->where,
		                 msg);
	if (strcmp(state, "57014") == 0)
		return sb_seterr(s->base.box, SB_ETIMEOUT,
		                 "postgresql: %s on %s: canceled by statement "
		                 "timeout (SQLSTATE 57014): %s", op, s->where, msg);
	if (strncmp(state, "28", 2) == 0)
		code = SB_EAUTH;
	else if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
	         strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0)
		code = SB_ECONNECT;
	else if (strcmp(state, "55P03") == 0)
		code = SB_EBUSY;
	else if (strcmp(state, "53200") == 0)
		code = SB_ENOMEM;
	return sb_seterr(s->base.box, code,
	                 "postgresql: %s failed on %s (SQLSTATE %s): %s", op,
	                 s->where, state, msg);
}

/* ------------------------------------------------------------ connection */

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
	rc = sb_pg_exec_sql(&res, s, "SELECT pg_catalog.set_config("
	                 "'statement_timeout', $1, false)", 1, param,
	                 "set statement_timeout");
	PQclear(res);
	return rc;
}

int sb_pg_ready(sb_pg_store *s, const char *op)
{
	char msg[384];

	if (!s->broken && PQstatus(s->conn) == CONNECTION_OK)
		return SB_OK;
	PQreset(s->conn);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		clean_msg(s, PQerrorMessage(s->conn), msg, sizeof msg);
		s->broken = 1;
		return sb_seterr(s->base.box, is_auth_failure(s->conn, msg) ?
		                 SB_EAUTH : SB_ECONNECT,
		                 "postgresql: %s: cannot reconnect to %s: %s", op,
		                 s->where, msg);
	}
	s->broken = 0;
	return session_setup(s);
}

static int result_ok(PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	return res && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until PQgetResult would not block, at most query_timeout_ms.
 * libpq itself waits forever for a server that went silent after the
 * connection was made. On timeout the connection is abandoned mid-query
 * (the next call resets it; the server rolls back what it had not
 * committed when it sees the socket closed). */
static int await(sb_pg_store *s, const char *op)
{
	long long deadline = s->query_timeout_ms > 0
	                     ? now_ms() + s->query_timeout_ms : 0;

	for (;;) {
		struct pollfd pfd;
		long long left = -1;
		int r;

		/* A failed read marks the connection bad: PQgetResult then
		 * answers at once with the error. */
		if (!PQconsumeInput(s->conn) || !PQisBusy(s->conn))
			return SB_OK;
		if (deadline && (left = deadline - now_ms()) <= 0)
			break;
		pfd.fd = PQsocket(s->conn);
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r < 0 && errno != EINTR)
			break;
	}
	s->broken = 1;
	return sb_seterr(s->base.box, SB_ETIMEOUT,
	                 "postgresql: %s on %s: no answer within %lld ms "
	                 "(option query_timeout; the next call reconnects)",
	                 op, s->where, s->query_timeout_ms);
}

/* PQexec's result (the last one; an error wins), with the wait bounded. */
static int collect(PGresult **out, sb_pg_store *s, const char *op)
{
	PGresult *res, *last = NULL;
	int rc;

	*out = NULL;
	for (;;) {
		if ((rc = await(s, op)) != SB_OK) {
			PQclear(last);
			return rc;
		}
		if (!(res = PQgetResult(s->conn)))
			break;
		if (last && !result_ok(last)) {
			PQclear(res);
		} else {
			PQclear(last);
			last = res;
		}
	}
	*out = last;
	return SB_OK;
}

/* A query still in flight after a timeout: any libpq call would wait for
 * it. Only sb_pg_ready (a reset) may touch the connection then. */
static int abandoned(sb_pg_store *s, const char *op)
{
	return sb_seterr(s->base.box, SB_ECONNECT,
	                 "postgresql: %s: the connection to %s is being "
	                 "reset after a timeout", op, s->where);
}

int sb_pg_exec_sql(PGresult **out, sb_pg_store *s, const char *sql, int n,
                const char *const *params, const char *op)
{
	PGresult *res;
	int rc;

	*out = NULL;
	if (s->broken)
		return abandoned(s, op);
	res = PQexecParams(s->conn, sql, n, NULL, params, NULL, NULL, 0);
	if (!result_ok(res)) {
		rc = sb_pg_fail(s, res, op);
		PQclear(res);
		return rc;
	}
	*out = res;
	return SB_OK;
}

static int prepare(sb_pg_store *s, int id, int n, const char *op)
{
	char name[16];
	PGresult *res;
	int rc = SB_OK;

	if (s->prepared[id])
		return SB_OK;
	snprintf(name, sizeof name, "sb_%d", id);
	if (!PQsendPrepare(s->conn, name, s->sql[id], n, NULL))
		return sb_pg_fail(s, NULL, op);
	if ((rc = collect(&res, s, op)) != SB_OK)
		return rc;
	if (!result_ok(res))
		rc = sb_pg_fail(s, res, op);
	else
		s->prepared[id] = 1;
	PQclear(res);
	return rc;
}

int sb_pg_exec(PGresult **out, sb_pg_store *s, int id, int n,
            const char *const *params, const char *op)
{
	char name[16];
	PGresult *res;
	int rc;

	*out = NULL;
	if ((rc = sb_pg_ready(s, op)) != SB_OK || (rc = prepare(s, id, n, op)))
		return rc;
	snprintf(name, sizeof name, "sb_%d", id);
	if (!PQsendQueryPrepared(s->conn, name, n, params, NULL, NULL, 0))
		return sb_pg_fail(s, NULL, op);
	if ((rc = collect(&res, s, op)) != SB_OK)
		return rc;
	if (!result_ok(res)) {
		rc = sb_pg_fail(s, res, op);
		PQclear(res);
		return rc;
	}
	*out = res;
	return SB_OK;
}

int sb_pg_each(sb_pg_store *s, int id, int n, const char *const *params,
            int (*row)(PGresult *res, void *payload), void *payload,
            const char *op)
{
	char name[16];
	PGresult *res;
	int rc, stop = 0, failed = 0;

	if ((rc = sb_pg_ready(s, op)) != SB_OK || (rc = prepare(s, id, n, op)))
		return rc;
	snprintf(name, sizeof name, "sb_%d", id);
	if (!PQsendQueryPrepared(s->conn, name, n, params, NULL, NULL, 0))
		return sb_pg_fail(s, NULL, op);
	/* One row at a time: a ledger of millions never sits in memory. */
	PQsetSingleRowMode(s->conn);
	/* The callback must not call into the store, so reading on (and
	 * dropping the rest after a stop) keeps the connection in step. */
	for (;;) {
		ExecStatusType st;

		if ((rc = await(s, op)) != SB_OK)
			return rc;
		if (!(res = PQgetResult(s->conn)))
			break;
		st = PQresultStatus(res);
		if (st == PGRES_SINGLE_TUPLE) {
			if (!stop && !failed)
				stop = row(res, payload);
		} else if (st != PGRES_TUPLES_OK && !failed) {
			failed = sb_pg_fail(s, res, op);
		}
		PQclear(res);
	}
	if (failed)
		return failed;
	if (PQstatus(s->conn) == CONNECTION_BAD)
		return sb_pg_fail(s, NULL, op);
	return stop;
}

void sb_pg_rollback(sb_pg_store *s)
{
	char keep[SB_ERRMSG_SIZE];
	PGTransactionStatusType ts = PQtransactionStatus(s->conn);

	if (ts != PQTRANS_INTRANS && ts != PQTRANS_INERROR)
		return;
	snprintf(keep, sizeof keep, "%s", sb_box_errmsg(s->base.box));
	PQclear(PQexec(s->conn, "ROLLBACK"));
	if (PQstatus(s->conn) == CONNECTION_BAD)
		s->broken = 1;
	sb_seterr(s->base.box, SB_ERROR, "%s", keep); /* code is not kept */
}

/* ------------------------------------------------------------------ hints */

long long sb_pg_hint_get(sb_pg_store *s, const char *bank)
{
	unsigned int i;

	for (i = 0; i < SB_PG_HINTS; i++)
		if (s->hints[i].bank && strcmp(s->hints[i].bank, bank) == 0)
			return s->hints[i].seq;
	return 0;
}

/* Out of memory only loses the hint: the next take starts at 0. */
void sb_pg_hint_set(sb_pg_store *s, const char *bank, long long seq)
{
	unsigned int i;
	char *copy;

	for (i = 0; i < SB_PG_HINTS; i++)
		if (s->hints[i].bank && strcmp(s->hints[i].bank, bank) == 0) {
			s->hints[i].seq = seq;
			return;
		}
	if (!(copy = strdup(bank)))
		return;
	i = s->hint_next;
	s->hint_next = (s->hint_next + 1) % SB_PG_HINTS;
	free(s->hints[i].bank);
	s->hints[i].bank = copy;
	s->hints[i].seq = seq;
}

/* ------------------------------------------------------------ lifecycle */

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
	for (i = 0; i < SB_PG_HINTS; i++)
		free(s->hints[i].bank);
	free(s->where);
	free(s->password);
	free(s);
}

static const sb_store_ops pg_store_ops = {
	.version = SB_STORE_OPS_VERSION,
	.init = pg_init,
	.close = pg_close,
	.claim = sb_pg_claim,
};

/* ?schema=, ?statement_timeout= and ?query_timeout=. */
static int own_options(sb_pg_store *s, sb_uri *uri)
{
	static const char ms_what[] = "a number of milliseconds (0: none)";
	const char *v = sb_uri_param(uri, "schema");
	size_t i;
	int rc;

	if (!v)
		v = PG_DEFAULT_SCHEMA;
	for (i = 0; v[i]; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || v[i] == '_' ||
		      (i > 0 && v[i] >= '0' && v[i] <= '9')))
			break;
	if (i == 0 || v[i] || i >= sizeof s->schema ||
	    strncmp(v, "pg_", 3) == 0)
		return sb_seterr(s->base.box, SB_EURI,
		                 "postgresql URI: option schema must match "
		                 "[a-z_][a-z0-9_]* (at most 63 characters, not "
		                 "pg_...), not '%.80s'", v);
	memcpy(s->schema, v, i + 1);
	s->statement_timeout_ms = -1;
	rc = sb_uri_param_num(s->base.box, uri, "statement_timeout", ms_what, 0,
	                      INT_MAX, &s->statement_timeout_ms);
	if (rc != SB_OK)
		return rc;
	s->query_timeout_ms = PG_DEFAULT_QUERY_TIMEOUT_MS;
	if (s->statement_timeout_ms > 0 &&
	    s->statement_timeout_ms + 2000 > s->query_timeout_ms)
		s->query_timeout_ms = s->statement_timeout_ms + 2000;
	return sb_uri_param_num(s->base.box, uri, "query_timeout", ms_what, 0,
	                        INT_MAX, &s->query_timeout_ms);
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
		                 "a storagebox option nor a libpq keyword)", unused);
	for (i = 0; i < PG_N_DEFAULT_KW; i++)
		if (!sb_uri_param(uri, pg_default_kw[i][0]))
			ci_add(ci, pg_default_kw[i][0], pg_default_kw[i][1]);
	ci_add(ci, "fallback_application_name", "storagebox");
	ci_add(ci, "client_encoding", "UTF8");
	ci_add(ci, NULL, NULL);
	return SB_OK;
}

static int check_uri(sb_box *box, const sb_uri *uri)
{
	if (!uri->has_authority)
		return sb_seterr(box, SB_EURI,
		                 "%s URIs are %s://[user[:password]@][host][:port]"
		                 "[/dbname][?option=value...]", uri->scheme,
		                 uri->scheme);
	if (uri->path && *uri->path &&
	    (uri->path[0] != '/' || strchr(uri->path + 1, '/')))
		return sb_seterr(box, SB_EURI,
		                 "%s URI: the path must be one database name, "
		                 "not '%.80s'", uri->scheme, uri->path);
	return SB_OK;
}

static int connect_store(sb_pg_store *s, sb_uri *uri)
{
	conninfo ci = { NULL, NULL, 0, "" };
	size_t max = uri->nparams + 8 + PG_N_DEFAULT_KW;
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
		clean_msg(s, PQerrorMessage(s->conn), msg, sizeof msg);
		return sb_seterr(s->base.box, is_auth_failure(s->conn, msg) ?
		                 SB_EAUTH : SB_ECONNECT,
		                 "postgresql: cannot connect to %s: %s", s->where,
		                 msg);
	}
	if ((rc = session_setup(s)) != SB_OK ||
	    (rc = sb_pg_sql_build(s)) != SB_OK)
		return rc;
	return sb_pg_schema_ensure(s);
}

static int pg_open(sb_store **out, sb_uri *uri, sb_box *box)
{
	sb_pg_store *s;
	const char *db;
	int rc;

	*out = NULL;
	if ((rc = check_uri(box, uri)) != SB_OK)
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
		rc = connect_store(s, uri);
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
