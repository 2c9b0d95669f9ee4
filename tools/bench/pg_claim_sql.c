/* Prints the SQL of the PostgreSQL backend's fused claim statement
 * (SB_PG_HOLD_FAST: the common case of a claim or hold, one statement)
 * on stdout, "@." standing for the schema and $1..$6 for its parameters
 * as pg_schema.c writes them. tools/bench/postgresql.sh turns it into a
 * pgbench script, so that the server-side cost it measures is that of
 * the very text storagebox sends, not of a copy that could drift. */
#include "backends/postgresql/pg_private.h"

#include <stdio.h>

int main(void)
{
	const char *sql = sb_pg_sql_template(SB_PG_HOLD_FAST);

	return !sql || fputs(sql, stdout) == EOF || fflush(stdout) != 0;
}
