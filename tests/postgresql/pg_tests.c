/* Helpers of the PostgreSQL test programs (pg_tests.h). */
#include "pg_tests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

PGconn *pgt_connect(const char *uri)
{
	PGconn *c = PQconnectdb(uri);

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "libpq connect failed: %s\n",
		        PQerrorMessage(c));
		exit(1);
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	return c;
}

long long pgt_num(PGconn *c, const char *sql, int n, const char *const *p)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
	long long v = -1;

	if (CHECKF(NULL,
	           PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1,
	           "%s: %s", sql, PQerrorMessage(c)))
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}
