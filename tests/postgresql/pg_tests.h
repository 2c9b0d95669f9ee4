/* Helpers of the PostgreSQL test programs: the server URI from the
 * environment, and a direct libpq connection for looking at the tables. */
#ifndef SB_PG_TESTS_H
#define SB_PG_TESTS_H

#include "../common/tcommon.h"

#include <libpq-fe.h>

/* $SB_TEST_PG_URI, or exit: 77 (skip), or 1 when CI=true. */
const char *pgt_uri(void);
/* A libpq connection to the test database (exits on failure). */
PGconn *pgt_connect(const char *uri);
/* First column of the first row of a query with text parameters, as a
 * number; -1 (and a failed check) on error. */
long long pgt_num(PGconn *c, const char *sql, int n, const char *const *p);
/* The password in a URI (caller frees), or NULL. */
char *pgt_password(const char *uri);

#endif
