/* PostgreSQL backend: running statements. Prepared statements are
 * prepared on first use per connection (again after a reconnect). Every
 * wait for the server's answer is bounded by query_timeout: libpq itself
 * waits forever for a server that went silent after the connection was
 * made. */
#include "pg_private.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int result_ok(PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	return res && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK);
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until PQgetResult would not block, at most query_timeout_ms. On
 * timeout the connection is abandoned mid-query (the next call resets
 * it; the server rolls back what it had not committed when it sees the
 * socket closed). */
static int await(sb_pg_store *s, const char *op)
{
	long long deadline = s->query_timeout_ms > 0
	                             ? mono_ms() + s->query_timeout_ms
	                             : 0;

	for (;;) {
		struct pollfd pfd;
		long long left = -1;
		int r;

		/* A failed read marks the connection bad: PQgetResult then
		 * answers at once with the error. */
		if (!PQconsumeInput(s->conn) || !PQisBusy(s->conn))
			return SB_OK;
		if (deadline && (left = deadline - mono_ms()) <= 0)
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
	                 "reset after a timeout",
	                 op, s->where);
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

static int prepare(sb_pg_store *s, int id, int n, const char *name,
                   const char *op)
{
	PGresult *res;
	int rc = SB_OK;

	if (s->prepared[id])
		return SB_OK;
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

/* Reconnect if needed, prepare @p id if needed, and send it. */
static int send_prepared(sb_pg_store *s, int id, int n,
                         const char *const *params, const char *op)
{
	char name[16];
	int rc;

	snprintf(name, sizeof name, "sb_%d", id);
	if ((rc = sb_pg_ready(s, op)) != SB_OK ||
	    (rc = prepare(s, id, n, name, op)) != SB_OK)
		return rc;
	if (!PQsendQueryPrepared(s->conn, name, n, params, NULL, NULL, 0))
		return sb_pg_fail(s, NULL, op);
	return SB_OK;
}

/* The server chose this statement as a deadlock's victim (40P01) or could
 * not serialize it (40001), outside any transaction of ours: it was rolled
 * back whole, so running it again is safe, and is what the server asks
 * for. (Claims and add's statements lock rows of a bank and a ledger in
 * orders that two of them can cross.) */
static int retryable(sb_pg_store *s, PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
	                        : NULL;

	return state &&
	       (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0) &&
	       PQtransactionStatus(s->conn) == PQTRANS_IDLE;
}

/* Tries of one statement that keeps losing a deadlock. */
#define SB_PG_TRIES 8

int sb_pg_exec(PGresult **out, sb_pg_store *s, int id, int n,
               const char *const *params, const char *op)
{
	PGresult *res;
	int rc, tries;

	*out = NULL;
	for (tries = 1;; tries++) {
		if ((rc = send_prepared(s, id, n, params, op)) != SB_OK ||
		    (rc = collect(&res, s, op)) != SB_OK)
			return rc;
		if (result_ok(res))
			break;
		if (tries < SB_PG_TRIES && retryable(s, res)) {
			/* A short pause, longer each time, so the
			 * other side of the deadlock can finish. */
			struct timespec ts = { 0, 1000000L * tries * tries };
			PQclear(res);
			nanosleep(&ts, NULL);
			continue;
		}
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
	PGresult *res;
	int rc, stop = 0, failed = 0;

	if ((rc = send_prepared(s, id, n, params, op)) != SB_OK)
		return rc;
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
