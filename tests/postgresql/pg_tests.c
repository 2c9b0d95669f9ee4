/* Helpers of the PostgreSQL test programs (pg_tests.h). */
#include "pg_tests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *pgt_uri(void)
{
	const char *uri = getenv("SB_TEST_PG_URI");
	const char *ci = getenv("CI");

	if (uri && *uri)
		return uri;
	if (ci && strcmp(ci, "true") == 0) {
		fprintf(stderr, "SB_TEST_PG_URI not set (CI=true: a skip is a "
		                "failure)\n");
		exit(1);
	}
	fprintf(stderr, "SB_TEST_PG_URI not set: skipped\n");
	exit(T_SKIP);
}

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

PGconn *pgt_connect(const char *uri)
{
	PGconn *c = PQconnectdb(uri);

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "libpq connect failed: %s\n", PQerrorMessage(c));
		exit(1);
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	return c;
}

long long pgt_num(PGconn *c, const char *sql, int n, const char *const *p)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
	long long v = -1;

	if (CHECKF(NULL, PQresultStatus(r) == PGRES_TUPLES_OK &&
	           PQntuples(r) == 1, "%s: %s", sql, PQerrorMessage(c)))
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

char *pgt_password(const char *uri)
{
	const char *a = strstr(uri, "://");
	if (!a)
		return NULL;
	a += 3;
	size_t alen = strcspn(a, "/?");
	const char *at = NULL;
	for (size_t i = 0; i < alen; i++)
		if (a[i] == '@')
			at = a + i;
	const char *colon = at ? memchr(a, ':', (size_t)(at - a)) : NULL;
	if (!colon)
		return NULL;
	return t_xasprintf("%.*s", (int)(at - colon - 1), colon + 1);
}
