/* hd_inject's view of PostgreSQL, through libpq: the box lives in its
 * own schema; sentinel tables in public (one with rows, and x, sb_bank,
 * sb_ledger: what the hostile strings try to drop); the fingerprint is
 * every relation of public and of the box's schema, the schemas, and the
 * sentinel's rows. */
#include "hd_inject.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *server;
static char schema[64], sentinel[80];

static char *box_uri(const char *arg)
{
	(void)arg;
	server = t_env_need("SB_TEST_PG_URI");
	snprintf(schema, sizeof schema, "hdinj_%s", hd_run_tag());
	snprintf(sentinel, sizeof sentinel, "public.hd_sentinel_%s",
	         hd_run_tag());
	char *opt = t_xasprintf("schema=%s", schema), *u;

	u = t_uri_opt(server, opt);
	free(opt);
	return u;
}

static PGconn *conn(void)
{
	PGconn *c = PQconnectdb(server);

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "libpq: %s\n", PQerrorMessage(c));
		exit(1);
	}
	return c;
}

static void exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);

	CHECKF(NULL, st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s",
	       sql, PQerrorMessage(c));
	PQclear(r);
}

static void setup(void)
{
	PGconn *c = conn();
	char *sql = t_xasprintf("CREATE TABLE %s (k text PRIMARY KEY, v text);"
	                        " INSERT INTO %s VALUES ('x', 'untouched'),"
	                        " ('sb_bank', 'named like a table'),"
	                        " ('sb_ledger', ''';--')",
	                        sentinel, sentinel);

	exec(c, sql);
	free(sql);
	/* The tables the hostile strings name, unqualified (search_path
	 * starts with public): kept between runs, they only ever grow. */
	exec(c, "SET client_min_messages = warning;"
	        " CREATE TABLE IF NOT EXISTS public.x (v text);"
	        " CREATE TABLE IF NOT EXISTS public.sb_bank (v text);"
	        " CREATE TABLE IF NOT EXISTS public.sb_ledger (v text)");
	PQfinish(c);
}

static void rows(PGconn *c, const char *sql, const char *kind, hd_lines *out)
{
	const char *param[1] = { schema };
	PGresult *r = PQexecParams(c, sql, strchr(sql, '$') ? 1 : 0, NULL,
	                           param, NULL, NULL, 0);
	int i;

	if (CHECKF(NULL, PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql,
	           PQerrorMessage(c)))
		for (i = 0; i < PQntuples(r); i++)
			hd_lines_add(out, t_xasprintf("%s %s", kind,
			                              PQgetvalue(r, i, 0)));
	PQclear(r);
}

static void fingerprint(hd_lines *out)
{
	PGconn *c = conn();
	char *sql = t_xasprintf("SELECT k || '=' || v FROM %s", sentinel);

	/* Other suites may add and drop their own schemas meanwhile: only
	 * the ones the box could reach by a name are listed. */
	rows(c,
	     "SELECT n.nspname || '.' || c.relname || ' ' || c.relkind::text"
	     " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
	     " ON n.oid = c.relnamespace WHERE n.nspname IN"
	     " ('public', $1) AND c.relkind IN ('r', 'v', 'S',"
	     " 'i', 'f', 'p', 'm')",
	     "relation", out);
	rows(c,
	     "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname IN"
	     " ('public', $1)",
	     "schema", out);
	rows(c, sql, "sentinel", out);
	free(sql);
	PQfinish(c);
}

static void cleanup(void)
{
	PGconn *c = conn();
	char *sql = t_xasprintf("SET client_min_messages = warning;"
	                        " DROP TABLE %s; DROP SCHEMA \"%s\" CASCADE",
	                        sentinel, schema);

	exec(c, sql);
	free(sql);
	PQfinish(c);
}

const hd_view hd_view_postgresql = {
	"postgresql", box_uri, setup, fingerprint, cleanup, 64 * 1024,
};
