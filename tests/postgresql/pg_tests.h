/* Helpers of the PostgreSQL test programs: a direct libpq connection for
 * looking at the tables. The server's URI is $SB_TEST_PG_URI (t_env_need). */
#ifndef SB_PG_TESTS_H
#define SB_PG_TESTS_H

#include "../common/tcommon.h"

#include <libpq-fe.h>

/* A libpq connection to the test database (exits on failure). */
PGconn *pgt_connect(const char *uri);
/* First column of the first row of a query with text parameters, as a
 * number; -1 (and a failed check) on error. */
long long pgt_num(PGconn *c, const char *sql, int n, const char *const *p);

#endif
