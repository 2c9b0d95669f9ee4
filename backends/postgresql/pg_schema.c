/* PostgreSQL backend: the schema and the SQL of every statement.
 *
 * Layout (schema version 3, all in one schema, `storagebox` by default):
 *   sb_meta(key, value)            'schema_version' -> '3'
 *   sb_bank(id, h, name)           banks, never deleted (ids are stable)
 *   sb_item(bank_id, h)            every item ever added to a bank: law 6
 *                                  (re-adding one, even handed out,
 *                                  released or retired, is skipped).
 *                                  Written by add only.
 *   sb_available(bank_id, seq, item)  the queue of items to hand out.
 *                                  A take DELETEs its row.
 *   sb_taken(bank_id, h, item, token, since, settled, st, until_ms)
 *                                  items handed out that carry a state:
 *                                  st 0: reserved (settled = false) or
 *                                  assigned by the generic path; else the
 *                                  SB_STATE_* bit: held 8 (until_ms),
 *                                  retired 16 (token ''), and, not
 *                                  settled, the generic path's steps in
 *                                  flight: restocking 32, retiring 64,
 *                                  reclaiming 128
 *   sb_ledger(lh, ih, ledger, dedup_id, bank, item, until_ms)
 *                                  entries; until_ms 0: for good, else a
 *                                  hold's deadline
 * An item is available (a queue row), in sb_taken, or, with neither,
 * assigned by a fused claim: the fused claim for good writes only the
 * ledger, as in version 1, so holds cost it nothing. Such an item's
 * token's ledger entry names it (sb_move() relies on that).
 *
 * Version 1 had no st, until_ms or holds indexes: open adds them in
 * place, under the same lock as a first creation (sb_pg_schema_ensure),
 * and replaces the functions (pg_functions.c); rows of version 1 mean
 * the same in version 2.
 *
 * Names, ids and items may be up to 256 KiB, far above what a btree entry
 * holds (~2.7 KB), so unique keys are SHA-256 digests (`h`, `lh`, `ih`)
 * computed by the server from the exact UTF-8 bytes: equal digests mean
 * equal strings (a collision would have to break SHA-256).
 *
 * Why delete-from-bank: a claim that UPDATEs a state column leaves a dead
 * entry at the head of a partial index on available rows, and every later
 * claim walks over all of them until VACUUM runs: claims get slower as the
 * bank drains. Here a take deletes its row and starts its index scan at
 * the position it took last (a per-connection hint, see pg_claim.c), so it
 * descends straight past the dead head: claim cost stays flat. Items are
 * never lost by it: counts are derived as assigned = items - available -
 * the states of sb_taken other than assigned, in one snapshot.
 *
 * Every value is a bound parameter. The only text put into SQL is the
 * schema name, which open restricts to [a-z_][a-z0-9_]* and quotes. */
#include "pg_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "@." in a template stands for the quoted schema and a dot. */
#define H(x) "sha256(convert_to(" x ", 'UTF8'))"

/* SQL text laid out as SQL: clang-format would break it at the macros. */
/* clang-format off */

/* Tables as version 1 made them, then what version 2 added, in place
 * (ADD COLUMN with a constant default rewrites nothing), so that a fresh
 * schema and a migrated one are made by the same statements. */
static const char tables_sql[] =
	"CREATE TABLE IF NOT EXISTS @.sb_meta ("
	" key text PRIMARY KEY, value text NOT NULL);\n"
	"CREATE TABLE IF NOT EXISTS @.sb_bank ("
	" id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" h bytea NOT NULL UNIQUE,"
	" name text NOT NULL);\n"
	"CREATE TABLE IF NOT EXISTS @.sb_item ("
	" bank_id integer NOT NULL,"
	" h bytea NOT NULL,"
	" PRIMARY KEY (bank_id, h));\n"
	"CREATE TABLE IF NOT EXISTS @.sb_available ("
	" bank_id integer NOT NULL,"
	" seq bigint GENERATED ALWAYS AS IDENTITY,"
	" item text NOT NULL,"
	" PRIMARY KEY (bank_id, seq));\n"
	"CREATE TABLE IF NOT EXISTS @.sb_taken ("
	" bank_id integer NOT NULL,"
	" h bytea NOT NULL,"
	" item text NOT NULL,"
	" token text NOT NULL,"
	" since bigint NOT NULL,"
	" settled boolean NOT NULL DEFAULT false,"
	" PRIMARY KEY (bank_id, h));\n"
	"CREATE INDEX IF NOT EXISTS sb_taken_reserved"
	" ON @.sb_taken (bank_id, since) WHERE NOT settled;\n"
	"CREATE TABLE IF NOT EXISTS @.sb_ledger ("
	" lh bytea NOT NULL,"
	" ih bytea NOT NULL,"
	" ledger text NOT NULL,"
	" dedup_id text NOT NULL,"
	" bank text NOT NULL,"
	" item text NOT NULL,"
	" PRIMARY KEY (lh, ih));\n"
	/* Version 2: holds. */
	"ALTER TABLE @.sb_taken"
	" ADD COLUMN IF NOT EXISTS st smallint NOT NULL DEFAULT 0,"
	" ADD COLUMN IF NOT EXISTS until_ms bigint NOT NULL DEFAULT 0;\n"
	"ALTER TABLE @.sb_ledger"
	" ADD COLUMN IF NOT EXISTS until_ms bigint NOT NULL DEFAULT 0;\n"
	/* Lapsed holds of a bank, oldest deadline first: the claim of an
	 * empty bank and recover read only these. */
	"CREATE INDEX IF NOT EXISTS sb_taken_held"
	" ON @.sb_taken (bank_id, until_ms) WHERE st = 8;\n"
	"CREATE INDEX IF NOT EXISTS sb_taken_retired"
	" ON @.sb_taken (bank_id) WHERE st = 16;\n"
	/* The generic path's take: available -> reserved(token, since). */
	"CREATE OR REPLACE FUNCTION @.sb_take(p_bank text, p_token text,"
	" p_now bigint, p_hint bigint, OUT o_status integer, OUT o_seq bigint,"
	" OUT o_item text)\n"
	"LANGUAGE plpgsql AS $f$\n"
	"DECLARE\n"
	"  v_bid integer;\n"
	"  v_from bigint;\n"
	"  v_empty boolean := false;\n"
	"BEGIN\n"
	"  SELECT b.id INTO v_bid FROM @.sb_bank b WHERE b.h = " H("p_bank") ";\n"
	"  IF NOT FOUND THEN o_status := 3; RETURN; END IF;\n" SB_PG_TAKE_LOOP
	"  IF v_empty THEN o_status := 2; RETURN; END IF;\n"
	"  INSERT INTO @.sb_taken (bank_id, h, item, token, since)\n"
	"   VALUES (v_bid, " H("o_item") ", o_item, p_token, p_now);\n"
	"  o_status := 0;\n"
	"END $f$;\n";

static const char version_sql[] =
	"INSERT INTO @.sb_meta (key, value) VALUES ('schema_version', '3')"
	" ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;\n";

static const char *const sql_templates[SB_PG_N] = {
	[SB_PG_HOLD] = "SELECT o_status, o_seq, o_bank, o_item, o_until"
		       " FROM @.sb_hold($1, $2, $3, $4::bigint, $5, $6::bigint)",
	/* The common case of sb_hold() as one statement, with the same
	 * parameters and columns: the id's live entry (e), else one
	 * available row of the bank from the hint on (t, the take loop's
	 * first scan), the ledger entry (i) and, for a hold, the held row
	 * (h). A twin's entry makes i empty: p gives the item back (a new
	 * row at the end of the queue, same transaction). Status 9: not
	 * the common case (a lapsed entry, nothing from the hint on, no such
	 * bank, a twin won): the caller runs sb_hold(), which decides every
	 * such case. Data-modifying CTEs all run to completion: the take
	 * deletes nothing when e found an entry. The bank's id is a scalar
	 * subquery so that the generic plan scans (bank_id, seq) in order.
	 * n: one clock reading (volatile, so materialized once). The columns
 * are named as sb_hold()'s for tools/bench/pg_claim_sql.c (pgbench's
 * \gset); the client reads them by position. */
	[SB_PG_HOLD_FAST] =
		"WITH n AS MATERIALIZED (SELECT " SB_PG_NOW_MS " AS now),"
		" e AS (SELECT l.bank, l.item, l.until_ms FROM @.sb_ledger l"
		"  WHERE l.lh = " H("$2") " AND l.ih = " H("$3") "),"
		" t AS (DELETE FROM @.sb_available a WHERE a.ctid = ("
		"  SELECT s.ctid FROM @.sb_available s"
		"   WHERE s.bank_id = (SELECT b.id FROM @.sb_bank b"
		"    WHERE b.h = " H("$1") ")"
		"   AND s.seq >= $4::bigint AND NOT EXISTS (SELECT FROM e)"
		"   ORDER BY s.seq LIMIT 1 FOR UPDATE SKIP LOCKED)"
		"  RETURNING a.bank_id, a.seq, a.item),"
		" i AS (INSERT INTO @.sb_ledger (lh, ih, ledger, dedup_id, bank,"
		"  item, until_ms) SELECT " H("$2") ", " H("$3") ", $2, $3, $1,"
		"  t.item, CASE WHEN $6::bigint > 0 THEN n.now + $6::bigint"
		"  ELSE 0 END FROM t, n"
		"  ON CONFLICT (lh, ih) DO NOTHING RETURNING item, until_ms),"
		" h AS (INSERT INTO @.sb_taken (bank_id, h, item, token, since,"
		"  settled, st, until_ms) SELECT t.bank_id, " H("t.item") ","
		"  t.item, coalesce($5, $2 || chr(10) || $3), n.now, true, 8,"
		"  i.until_ms FROM t, i, n WHERE $6::bigint > 0),"
		" p AS (INSERT INTO @.sb_available (bank_id, item)"
		"  SELECT t.bank_id, t.item FROM t WHERE NOT EXISTS (SELECT FROM i))"
		" SELECT CASE WHEN i.item IS NOT NULL THEN 0"
		"  WHEN e.until_ms = 0 OR e.until_ms > n.now THEN 1 ELSE 9 END"
		"  AS o_status, CASE WHEN i.item IS NOT NULL THEN t.seq END"
		"  AS o_seq, coalesce(e.bank, $1) AS o_bank,"
		"  coalesce(i.item, e.item) AS o_item,"
		"  coalesce(i.until_ms, e.until_ms) AS o_until"
		" FROM n LEFT JOIN e ON true LEFT JOIN t ON true"
		" LEFT JOIN i ON true",
	[SB_PG_CHANGE] = "SELECT o_status, o_bank, o_item, o_until FROM"
			 " @.sb_change($1, $2, $3, $4::integer, $5::bigint)",
	[SB_PG_RECLAIM] = "SELECT o_status, o_n FROM @.sb_reclaim($1)",
	[SB_PG_TAKE] = "SELECT o_status, o_seq, o_item"
		       " FROM @.sb_take($1, $2, $3::bigint, $4::bigint)",
	[SB_PG_TAKE_HELD] =
		"SELECT o_status, o_seq, o_item"
		" FROM @.sb_take_held($1, $2, $3::bigint, $4::bigint)",
	[SB_PG_MOVE] = "SELECT o_status FROM @.sb_move($1, $2, $3,"
		       " $4::integer, $5::integer, $6::bigint, $7::bigint)",
	/* move_if: the row locked first, only if its stamp ($8) is the one
	 * expected (a concurrent change is waited for and the condition
	 * checked again on the new row); no row, no move (the caller reads
	 * that as a conflict). sb_move() then runs under that lock, once per
	 * row of lk (its token: lateral, so never without one). */
	[SB_PG_MOVE_IF] = "WITH lk AS (SELECT t.token FROM @.sb_taken t,"
			  " @.sb_bank b"
			  " WHERE b.h = " H("$1") " AND t.bank_id = b.id"
			  " AND t.h = " H("$2") " AND t.token = $3"
			  " AND (t.st IN (8, 32, 64, 128)"
			  " OR (t.st = 0 AND NOT t.settled))"
			  " AND t.until_ms = $8::bigint FOR UPDATE OF t)"
			  " SELECT m.o_status FROM lk CROSS JOIN LATERAL"
			  " @.sb_move($1, $2, lk.token, $4::integer, $5::integer,"
			  " $6::bigint, $7::bigint) m",
	/* Held rows by the held index, rows in flight by the reserved one
	 * (restocking, retiring, reclaiming are not settled). */
	[SB_PG_LIST] = "SELECT item, token, st, until_ms FROM @.sb_taken"
		       " WHERE bank_id = $1::integer AND st = 8"
		       " AND until_ms <= $3::bigint AND ($2::integer & 8) <> 0"
		       " UNION ALL"
		       " SELECT item, token, st, until_ms FROM @.sb_taken"
		       " WHERE bank_id = $1::integer AND NOT settled AND st <> 0"
		       " AND (st & $2::integer) <> 0",
	/* Also matches an item already settled with this token: idempotent.
	 * st 0: reserved or assigned, no other state. */
	[SB_PG_SETTLE] = "UPDATE @.sb_taken t SET settled = true"
			 " FROM @.sb_bank b WHERE b.h = " H("$1")
			 " AND t.bank_id = b.id AND t.h = " H("$2")
			 " AND t.token = $3 AND t.st = 0 AND t.until_ms = 0",
	[SB_PG_PUT_BACK] =
		"WITH d AS (DELETE FROM @.sb_taken t USING @.sb_bank b"
		"  WHERE b.h = " H("$1") " AND t.bank_id = b.id"
		"  AND t.h = " H("$2") " AND t.token = $3 AND NOT t.settled"
		"  AND t.st = 0 RETURNING t.bank_id, t.item)"
		" INSERT INTO @.sb_available (bank_id, item)"
		" SELECT bank_id, item FROM d",
	/* One statement, one snapshot: the counts add up exactly. Run
	 * unprepared with the bank's id (pg_bank.c), so each run is planned
	 * for that bank: a generic plan used a sequential scan of every
	 * bank's rows when one big bank dominates the statistics. Each
	 * sb_taken count has a partial index. */
	[SB_PG_COUNT] = "SELECT (SELECT count(*) FROM @.sb_item"
			"   WHERE bank_id = $1::integer),"
			" (SELECT count(*) FROM @.sb_available"
			"   WHERE bank_id = $1::integer),"
			" (SELECT count(*) FILTER (WHERE st <> 128)"
			"   FROM @.sb_taken"
			"   WHERE bank_id = $1::integer AND NOT settled),"
			" (SELECT count(*) FILTER (WHERE st = 128)"
			"   FROM @.sb_taken"
			"   WHERE bank_id = $1::integer AND NOT settled)"
			" + (SELECT count(*) FROM @.sb_taken"
			"   WHERE bank_id = $1::integer AND st = 8),"
			" (SELECT count(*) FROM @.sb_taken"
			"   WHERE bank_id = $1::integer AND st = 16)",
	[SB_PG_BANK_ID] = "SELECT id FROM @.sb_bank WHERE h = " H("$1"),
	[SB_PG_BANK_CREATE] = "INSERT INTO @.sb_bank (h, name)"
			      " VALUES (" H("$1") ", $1)"
			      " ON CONFLICT (h) DO NOTHING",
	[SB_PG_RESERVED] = "SELECT item, token, since FROM @.sb_taken"
			   " WHERE bank_id = $1::integer AND NOT settled"
			   " AND st = 0 AND since <= $2::bigint ORDER BY since",
	[SB_PG_LEDGER_GET] = "SELECT bank, item, until_ms,"
			     " until_ms > 0 AND until_ms <= " SB_PG_NOW_MS
			     " FROM @.sb_ledger"
			     " WHERE lh = " H("$1") " AND ih = " H("$2"),
	/* A lapsed entry counts as absent: replaced in the same step. */
	[SB_PG_LEDGER_PUT] =
		"INSERT INTO @.sb_ledger AS l"
		" (lh, ih, ledger, dedup_id, bank, item, until_ms)"
		" VALUES (" H("$1") ", " H("$2") ", $1, $2, $3, $4, $5::bigint)"
		" ON CONFLICT (lh, ih) DO UPDATE SET bank = EXCLUDED.bank,"
		" item = EXCLUDED.item, until_ms = EXCLUDED.until_ms"
		" WHERE l.until_ms > 0 AND l.until_ms <= " SB_PG_NOW_MS,
	[SB_PG_LEDGER_EXPORT] = "SELECT dedup_id, bank, item FROM @.sb_ledger"
				" WHERE lh = " H("$1") " AND until_ms = 0",
	[SB_PG_LEDGER_COUNT] = "SELECT count(*) FROM @.sb_ledger"
			       " WHERE lh = " H("$1") " AND bank = $2"
			       " AND (until_ms = 0 OR until_ms > " SB_PG_NOW_MS
			       ")",
	[SB_PG_LEDGER_UPDATE] = "SELECT o_status, o_bank, o_item, o_until"
				" FROM @.sb_ledger_update($1, $2, $3::bigint)",
	[SB_PG_LEDGER_REMOVE] =
		"SELECT o_status, o_bank, o_item, o_until"
		" FROM @.sb_ledger_remove($1, $2, $3, $4, $5::integer)",
	[SB_PG_LEDGER_HOLDS] = "SELECT dedup_id, bank, item, until_ms"
			       " FROM @.sb_ledger WHERE lh = " H("$1")
			       " AND until_ms > " SB_PG_NOW_MS,
};
/* clang-format on */

const char *sb_pg_sql_template(int which)
{
	return which >= 0 && which < SB_PG_N ? sql_templates[which] : NULL;
}

char *sb_pg_sql_fill(const sb_pg_store *s, const char *tmpl)
{
	size_t n = 0, sl = strlen(s->schema), len;
	const char *p;
	char *out, *o;

	for (p = tmpl; (p = strstr(p, "@.")); p += 2)
		n++;
	len = strlen(tmpl) + n * (sl + 2) + 1;
	if (!(out = malloc(len)))
		return NULL;
	for (o = out, p = tmpl; *p;) {
		if (p[0] == '@' && p[1] == '.') {
			o += sprintf(o, "\"%s\".", s->schema);
			p += 2;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

int sb_pg_sql_build(sb_pg_store *s)
{
	int i;

	for (i = 0; i < SB_PG_N; i++)
		if (!(s->sql[i] = sb_pg_sql_fill(s, sql_templates[i])))
			return sb_pg_nomem(s, "open");
	return SB_OK;
}

/* The version recorded in the schema: SB_OK with *version (0 if the
 * tables are missing), or an error. */
static int read_version(sb_pg_store *s, int *version, const char *op)
{
	char *sql = sb_pg_sql_fill(s, "SELECT value FROM @.sb_meta"
	                              " WHERE key = 'schema_version'");
	PGresult *res;
	const char *state;
	int rc = SB_OK;

	*version = 0;
	if (!sql)
		return sb_pg_nomem(s, op);
	res = PQexec(s->conn, sql);
	free(sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		if (PQntuples(res) > 0)
			*version = atoi(PQgetvalue(res, 0, 0));
	} else {
		state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		/* 42P01 undefined table, 3F000 undefined schema: not made yet */
		if (!state ||
		    (strcmp(state, "42P01") && strcmp(state, "3F000")))
			rc = sb_pg_fail(s, res, op);
	}
	PQclear(res);
	return rc;
}

static int check_version(sb_pg_store *s, int version)
{
	if (version <= SB_PG_SCHEMA_VERSION)
		return SB_OK;
	return sb_seterr(s->base.box, SB_EBACKEND,
	                 "postgresql: schema \"%s\" on %s has version %d; this "
	                 "build knows up to %d (upgrade storagebox)",
	                 s->schema, s->where, version, SB_PG_SCHEMA_VERSION);
}

static int exec_simple(sb_pg_store *s, const char *tmpl, const char *op)
{
	char *sql = sb_pg_sql_fill(s, tmpl);
	PGresult *res;
	int rc = SB_OK;

	if (!sql)
		return sb_pg_nomem(s, op);
	res = PQexec(s->conn, sql);
	free(sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = sb_pg_fail(s, res, op);
	PQclear(res);
	return rc;
}

/* Under the lock: create what is missing, or bring an older version up
 * to date (every statement is idempotent). CREATE SCHEMA needs the CREATE
 * right on the database even with IF NOT EXISTS, so only when missing. */
static int create_locked(sb_pg_store *s, const char *op)
{
	const char *param[1] = { s->schema };
	PGresult *res = NULL;
	int version = 0, rc, missing;

	char meta[96];
	const char *mparam[1] = { meta };

	/* A failing read would abort the transaction: look it up first. */
	snprintf(meta, sizeof meta, "\"%s\".sb_meta", s->schema);
	rc = sb_pg_exec_sql(&res, s,
	                    "SELECT pg_catalog.to_regclass($1) IS NULL", 1,
	                    mparam, op);
	if (rc != SB_OK)
		return rc;
	missing = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!missing) {
		rc = read_version(s, &version, op);
		if (rc != SB_OK || version >= SB_PG_SCHEMA_VERSION)
			return rc != SB_OK ? rc : check_version(s, version);
	}
	rc = sb_pg_exec_sql(&res, s,
	                    "SELECT 1 FROM pg_catalog.pg_namespace"
	                    " WHERE nspname = $1",
	                    1, param, op);
	if (rc != SB_OK)
		return rc;
	missing = PQntuples(res) == 0;
	PQclear(res);
	if (missing) {
		char sql[96];
		snprintf(sql, sizeof sql, "CREATE SCHEMA \"%s\"", s->schema);
		if ((rc = exec_simple(s, sql, op)) != SB_OK)
			return rc;
	}
	if ((rc = exec_simple(s, tables_sql, op)) != SB_OK ||
	    (rc = exec_simple(s, sb_pg_functions_sql, op)) != SB_OK)
		return rc;
	return exec_simple(s, version_sql, op);
}

int sb_pg_schema_ensure(sb_pg_store *s)
{
	static const char *op = "create schema";
	const char *param[1] = { s->schema };
	PGresult *res = NULL;
	int version = 0, rc;

	/* The common case, schema present and current, costs one small
	 * read. Missing or older: made or brought up to date under a lock. */
	rc = read_version(s, &version, "read schema version");
	if (rc != SB_OK || version >= SB_PG_SCHEMA_VERSION)
		return rc != SB_OK ? rc : check_version(s, version);
	rc = exec_simple(s, "BEGIN", op);
	if (rc != SB_OK)
		return rc;
	/* First openers racing: one creates, the others wait and see it.
	 * Two-key advisory lock: 0x73620001 ("sb", 1) + the schema's hash. */
	rc = sb_pg_exec_sql(&res, s,
	                    "SELECT pg_advisory_xact_lock(1935802369,"
	                    " hashtext($1))",
	                    1, param, op);
	PQclear(res);
	if (rc == SB_OK)
		rc = create_locked(s, op);
	if (rc == SB_OK)
		rc = exec_simple(s, "COMMIT", op);
	if (rc != SB_OK)
		sb_pg_rollback(s);
	return rc;
}
