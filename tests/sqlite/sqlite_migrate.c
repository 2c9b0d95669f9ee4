/* A database made by storagebox 0.1.0 (schema version 1, written here by
 * hand with that release's exact schema text) keeps working after the
 * upgrade: the first opener migrates it in place, once, even when several
 * processes open it at the same moment; its items, reservations and
 * assignments are kept; it gains holds; its schema is then exactly a new
 * file's. So does one made by the release of holds (version 2), with a
 * reservation and releases in flight, which gains stamps: recovery
 * finishes them as unstamped. So does one made by the release of stamps
 * (version 3), whose available and held rows move into one index: its
 * holds, lapsed or not, and the order of its available items are kept.
 * A file of a newer version is refused. */
#include "sq_test.h"
#include "sqlite_sql.h" /* SB_SQ_SCHEMA_VERSION */

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* backends/sqlite/sqlite_sql.c of 0.1.0, verbatim. */
static const char v1_schema[] = "CREATE TABLE IF NOT EXISTS sb_bank ("
				" id INTEGER PRIMARY KEY,"
				" name TEXT NOT NULL UNIQUE);"
				"CREATE TABLE IF NOT EXISTS sb_item ("
				" id INTEGER PRIMARY KEY,"
				" bank_id INTEGER NOT NULL,"
				" item TEXT NOT NULL,"
				" state INTEGER NOT NULL DEFAULT 0,"
				" token TEXT,"
				" since INTEGER,"
				" UNIQUE (bank_id, item));"
				"CREATE INDEX IF NOT EXISTS sb_item_available"
				" ON sb_item (bank_id) WHERE state = 0;"
				"CREATE INDEX IF NOT EXISTS sb_item_reserved"
				" ON sb_item (bank_id, since) WHERE state = 1;"
				"CREATE TABLE IF NOT EXISTS sb_ledger ("
				" ledger TEXT NOT NULL,"
				" dedup_id TEXT NOT NULL,"
				" bank TEXT NOT NULL,"
				" item TEXT NOT NULL,"
				" PRIMARY KEY (ledger, dedup_id)) WITHOUT ROWID;"
				"PRAGMA user_version = 1;";

/* What 0.1.0 leaves after adding b0..b5, two fetches for good (id0, id1)
 * and a generic fetch cut short after its take (id2: reserved). */
static const char v1_data[] =
	"PRAGMA journal_mode = WAL;"
	"INSERT INTO sb_bank (id, name) VALUES (1, 'b');"
	"INSERT INTO sb_item (bank_id, item, state, token, since) VALUES"
	" (1, 'b0', 2, 'L' || char(10) || 'id0', 1000),"
	" (1, 'b1', 2, 'L' || char(10) || 'id1', 1001),"
	" (1, 'b2', 1, 'L' || char(10) || 'id2', 1002),"
	" (1, 'b3', 0, NULL, NULL), (1, 'b4', 0, NULL, NULL),"
	" (1, 'b5', 0, NULL, NULL);"
	"INSERT INTO sb_ledger VALUES ('L', 'id0', 'b', 'b0'),"
	" ('L', 'id1', 'b', 'b1');";

/* backends/sqlite/sqlite_sql.c of the release of holds (schema version
 * 2), verbatim but for its comments. */
static const char v2_schema[] =
	"CREATE TABLE IF NOT EXISTS sb_bank ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE);"
	"CREATE TABLE IF NOT EXISTS sb_item ("
	" id INTEGER PRIMARY KEY,"
	" bank_id INTEGER NOT NULL,"
	" item TEXT NOT NULL,"
	" state INTEGER NOT NULL DEFAULT 0,"
	" token TEXT,"
	" since INTEGER,"
	" deadline INTEGER,"
	" UNIQUE (bank_id, item));"
	"CREATE INDEX IF NOT EXISTS sb_item_available"
	" ON sb_item (bank_id) WHERE state = 0;"
	"CREATE INDEX IF NOT EXISTS sb_item_reserved"
	" ON sb_item (bank_id, since) WHERE state = 1;"
	"CREATE INDEX IF NOT EXISTS sb_item_held"
	" ON sb_item (bank_id, deadline) WHERE state = 3;"
	"CREATE INDEX IF NOT EXISTS sb_item_out"
	" ON sb_item (bank_id, state) WHERE state >= 4;"
	"CREATE TABLE IF NOT EXISTS sb_ledger ("
	" ledger TEXT NOT NULL,"
	" dedup_id TEXT NOT NULL,"
	" bank TEXT NOT NULL,"
	" item TEXT NOT NULL,"
	" deadline INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (ledger, dedup_id)) WITHOUT ROWID;"
	"PRAGMA user_version = 2;";

/* What the release of holds leaves after adding c0..c5 on the generic
 * path: c0 fetched for good (id0); a fetch of r cut short after its take
 * (c1 reserved); a restock by rs and a retire by rt cut short after
 * their mark (c2 restocking, c3 retiring: no stamp, deadline NULL, their
 * entries still there); a hold by h until far away (c4). */
static const char v2_data[] =
	"PRAGMA journal_mode = WAL;"
	"INSERT INTO sb_bank (id, name) VALUES (1, 'c');"
	"INSERT INTO sb_item (bank_id, item, state, token, since, deadline)"
	" VALUES"
	" (1, 'c0', 2, 'L' || char(10) || 'id0', 1000, NULL),"
	" (1, 'c1', 1, 'L' || char(10) || 'r', 1001, NULL),"
	" (1, 'c2', 5, 'L' || char(10) || 'rs', 1002, NULL),"
	" (1, 'c3', 6, 'L' || char(10) || 'rt', 1003, NULL),"
	" (1, 'c4', 3, 'L' || char(10) || 'h', NULL, 9000000000000),"
	" (1, 'c5', 0, NULL, NULL, NULL);"
	"INSERT INTO sb_ledger VALUES ('L', 'id0', 'c', 'c0', 0),"
	" ('L', 'rs', 'c', 'c2', 0), ('L', 'rt', 'c', 'c3', 0),"
	" ('L', 'h', 'c', 'c4', 9000000000000);";

/* The schema of the release of stamps (version 3): version 2's text. */
static const char v3_version[] = "PRAGMA user_version = 3;";

/* What the release of stamps leaves after adding d0..d7: d0 fetched for
 * good (id0); a generic fetch of r cut short after its take (d1
 * reserved); a hold by h until far away (d2); a hold by old
 * that lapsed long ago, not yet reclaimed (d3); d4..d7 available, added
 * in that order but d4 last (its rowid is the highest). */
static const char v3_data[] =
	"PRAGMA journal_mode = WAL;"
	"INSERT INTO sb_bank (id, name) VALUES (1, 'd');"
	"INSERT INTO sb_item (id, bank_id, item, state, token, since,"
	" deadline) VALUES"
	" (1, 1, 'd0', 2, 'L' || char(10) || 'id0', 1000, NULL),"
	" (2, 1, 'd1', 1, 'L' || char(10) || 'r', 1001, NULL),"
	" (3, 1, 'd2', 3, 'L' || char(10) || 'h', NULL, 9000000000000),"
	" (4, 1, 'd3', 3, 'L' || char(10) || 'old', NULL, 1000),"
	" (9, 1, 'd4', 0, NULL, NULL, NULL),"
	" (5, 1, 'd5', 0, NULL, NULL, NULL),"
	" (6, 1, 'd6', 0, NULL, NULL, NULL),"
	" (7, 1, 'd7', 0, NULL, NULL, NULL);"
	"INSERT INTO sb_ledger VALUES ('L', 'id0', 'd', 'd0', 0),"
	" ('L', 'h', 'd', 'd2', 9000000000000),"
	" ('L', 'old', 'd', 'd3', 1000);";

/* Each release's file: the SQL texts that make it, NULL-ended. */
static const char *const v1_file[] = { v1_schema, v1_data, NULL };
static const char *const v2_file[] = { v2_schema, v2_data, NULL };
static const char *const v3_file[] = { v2_schema, v3_version, v3_data, NULL };

/* Runs @p sql on the file at @p path, in order: 1 if all of it ran. */
static int make_file(const char *path, const char *const *sql)
{
	for (; *sql; sql++)
		if (sq_raw(path, *sql, NULL) != SQLITE_OK)
			return 0;
	return 1;
}

/* The schema as a text: every column of the tables, every index. */
static void schema_of(const char *path, char *out, size_t n)
{
	static const char sql[] =
		"SELECT group_concat(x, char(10)) FROM ("
		" SELECT t.name || '.' || c.name || ' ' || c.type || ' '"
		"  || c.\"notnull\" || ' ' || coalesce(c.dflt_value, '-')"
		"  || ' ' || c.pk AS x"
		" FROM sqlite_schema t, pragma_table_info(t.name) c"
		" WHERE t.type = 'table'"
		" UNION ALL SELECT name || ': ' || sql FROM sqlite_schema"
		" WHERE type = 'index' AND sql IS NOT NULL"
		" UNION ALL SELECT 'version ' || user_version"
		" FROM pragma_user_version ORDER BY 1)";
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	out[0] = '\0';
	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, n, "%s",
		         (const char *)sqlite3_column_text(st, 0));
	else
		fprintf(stderr, "schema of %s: %s\n", path, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static sb_box *open_as(const char *path, sb_protocol protocol)
{
	sb_open_opts o = SB_OPEN_OPTS_INIT;
	char uri[600], err[SB_ERRMSG_SIZE];
	sb_box *box = NULL;

	o.protocol = protocol;
	snprintf(uri, sizeof uri, "sqlite:%s", path);
	if (sb_box_open(&box, uri, &o, err, sizeof err) != SB_OK) {
		fprintf(stderr, "open %s: %s\n", uri, err);
		return NULL;
	}
	return box;
}

static sb_box *open_box(const char *path)
{
	return open_as(path, SB_PROTOCOL_AUTO);
}

/* The file of an older release made at @p path from @p sql, opened by
 * this one (@p protocol), which migrates it to this schema version: the
 * box, or NULL after a failed check. */
static sb_box *open_old(const char *path, const char *const *sql,
                        sb_protocol protocol)
{
	long long v = 0;
	sb_box *box;

	if (!CHECK(NULL, make_file(path, sql)))
		return NULL;
	box = open_as(path, protocol);
	if (!CHECK(NULL, box != NULL))
		return NULL;
	CHECK(box, sq_raw(path, "PRAGMA user_version", &v) == SQLITE_OK &&
	                   v == SB_SQ_SCHEMA_VERSION);
	return box;
}

/* The migrated file at @p path has exactly the schema of a new file made
 * at @p fresh, whose schema text is left in @p want. */
static void schema_as_new(const char *path, const char *fresh, char *want,
                          size_t n)
{
	char have[4096];
	sb_box *box = open_box(fresh);

	CHECK(NULL, box != NULL);
	sb_box_close(box);
	schema_of(path, have, sizeof have);
	schema_of(fresh, want, n);
	CHECK(NULL, have[0] != '\0');
	CHECK_STR(NULL, have, want);
}

static void fetch_in(sb_box *box, const char *bank, const char *id,
                     const char *want, int is_new)
{
	sb_item *it = NULL;

	CHECK_RC(box, sb_box_fetch(&it, box, bank, "L", id), SB_OK);
	if (want)
		CHECK_STR(box, sb_item_value(it), want);
	CHECK(box, it && sb_item_is_new(it) == is_new);
	sb_item_free(it);
}

static void fetch_is(sb_box *box, const char *id, const char *want, int is_new)
{
	fetch_in(box, "b", id, want, is_new);
}

/* The entry of @p id is @p want (NULL: none). */
static void entry_is(sb_box *box, const char *id, const char *want)
{
	sb_item *it = NULL;
	int rc = sb_box_lookup(&it, box, "L", id);

	if (want) {
		CHECK_RC(box, rc, SB_OK);
		if (rc == SB_OK)
			CHECK_STR(box, sb_item_value(it), want);
	} else {
		CHECKF(box, rc == SB_ENOTFOUND, "%s holds %s", id,
		       it ? sb_item_value(it) : "?");
	}
	sb_item_free(it);
}

/* The old file opened by the new release: data kept, then holds. */
static void migrated(const char *path, const char *fresh)
{
	char have[4096], want[4096];
	sb_stats stats;
	sb_box *box;
	sb_store *st;
	sb_item *it = NULL;
	int64_t T = sb_now_ms() + 1000LL * 3600 * 1000;

	box = open_old(path, v1_file, SB_PROTOCOL_AUTO);
	if (!box)
		return;
	fetch_is(box, "id0", "b0", 0);
	fetch_is(box, "id1", "b1", 0);
	CHECK_RC(box, sb_box_stats(&stats, box, "b", "L"), SB_OK);
	CHECK(box, stats.available == 3 && stats.reserved == 1 &&
	                   stats.assigned == 2 && stats.on_hold == 0 &&
	                   stats.retired == 0 && stats.held == 2);
	fetch_is(box, "id3", "b3", 1);
	/* holds through the API */
	CHECK_RC(box, sb_box_hold(&it, box, "b", "L", "api", 60000), SB_OK);
	CHECK_STR(box, sb_item_value(it), "b4");
	CHECK(box, it && sb_item_expires_ms(it) > 0);
	sb_item_free(it);
	it = NULL;
	CHECK_RC(box, sb_box_stats(&stats, box, "b", "L"), SB_OK);
	CHECK(box, stats.on_hold == 1 && stats.assigned == 3);
	CHECK_RC(box, sb_box_confirm(box, "L", "api"), SB_OK);
	CHECK_RC(box, sb_box_release(box, "L", "api", SB_RELEASE_RETIRE),
	         SB_OK);
	CHECK_RC(box, sb_box_stats(&stats, box, "b", "L"), SB_OK);
	CHECK(box, stats.available == 1 && stats.reserved == 1 &&
	                   stats.assigned == 3 && stats.on_hold == 0 &&
	                   stats.retired == 1 && stats.held == 3);
	sb_box_close(box);

	/* the same schema as a new file */
	schema_as_new(path, fresh, want, sizeof want);

	/* and through the fused slots, at times of our choosing */
	st = sq_open_store(path, &box);
	if (!CHECK(NULL, st != NULL))
		return;
	CHECK_RC(box, st->ops->hold(&it, st, "b", "L", "h", "L\nh", T, 1000),
	         SB_OK);
	CHECK_STR(box, sb_item_value(it), "b5");
	CHECK(box, it && sb_item_expires_ms(it) == T + 1000);
	sb_item_free(it);
	it = NULL;
	CHECK_RC(box,
	         st->ops->change(&it, st, "L", "h", "L\nh", SB_CHANGE_RETIRE,
	                         T + 1, 0),
	         SB_OK);
	CHECK_RC(box,
	         st->ops->change(&it, st, "L", "id0", "L\nid0",
	                         SB_CHANGE_RESTOCK, T + 1, 0),
	         SB_OK);
	{
		sb_bank_counts c;
		CHECK_RC(box, st->bank->count(&c, st, "b"), SB_OK);
		CHECK(box, c.available == 1 && c.reserved == 1 &&
		                   c.assigned == 2 && c.retired == 2 &&
		                   c.on_hold == 0);
	}
	sq_close_store(st, box);

	/* opened again: nothing to do, still the same */
	box = open_box(path);
	CHECK(NULL, box != NULL);
	sb_box_close(box);
	schema_of(path, have, sizeof have);
	CHECK_STR(NULL, have, want);
}

/* A file of the release of holds, opened by this one: version 3 (the
 * schema of a new file), and what was in flight reads as unstamped
 * (stamp 0), so a generic recover takes it over and finishes it: the
 * reservation settled, the restock and the retire done. */
static void from_v2(const char *path, const char *fresh)
{
	char want[4096];
	sb_recover_result rr;
	sb_stats stats;
	sb_box *box = open_old(path, v2_file, SB_PROTOCOL_GENERIC);

	if (!box)
		return;
	CHECK_RC(box, sb_box_stats(&stats, box, "c", "L"), SB_OK);
	CHECK(box, stats.available == 1 && stats.reserved == 3 &&
	                   stats.assigned == 1 && stats.on_hold == 1 &&
	                   stats.retired == 0);
	CHECK_RC(box, sb_box_recover(&rr, box, "c", "L", NULL), SB_OK);
	CHECKF(box, rr.settled == 1 && rr.released == 2 && rr.put_back == 0,
	       "recover: settled %llu released %llu put back %llu",
	       (unsigned long long)rr.settled, (unsigned long long)rr.released,
	       (unsigned long long)rr.put_back);
	CHECK_RC(box, sb_box_stats(&stats, box, "c", "L"), SB_OK);
	CHECK(box, stats.available == 2 && stats.reserved == 0 &&
	                   stats.assigned == 2 && stats.on_hold == 1 &&
	                   stats.retired == 1);
	entry_is(box, "r", "c1");
	entry_is(box, "rs", NULL);
	entry_is(box, "rt", NULL);
	entry_is(box, "h", "c4");
	/* and the stamps of this release from now on */
	fetch_in(box, "c", "n", "c2", 1); /* the oldest available */
	CHECK_RC(box, sb_box_release(box, "L", "n", 0), SB_OK);
	CHECK_RC(box, sb_box_release(box, "L", "h", SB_RELEASE_RETIRE), SB_OK);
	CHECK_RC(box, sb_box_stats(&stats, box, "c", "L"), SB_OK);
	CHECK(box, stats.available == 2 && stats.reserved == 0 &&
	                   stats.assigned == 2 && stats.on_hold == 0 &&
	                   stats.retired == 2);
	sb_box_close(box);
	schema_as_new(path, fresh, want, sizeof want);
}

static int count_holds(const char *id, const char *bank, const char *item,
                       int64_t expires_ms, void *payload)
{
	(void)id, (void)bank, (void)item, (void)expires_ms;
	++*(int *)payload;
	return 0;
}

/* A file of the release of stamps, opened by this one: version 4 (the
 * schema of a new file), its available items handed out in the order
 * they were added, its live hold confirmed, its lapsed one reclaimed by
 * the hold that finds no item available, its reservation rolled forward
 * by the one after (r's entry written); the counts right on the way. */
static void from_v3(const char *path, const char *fresh)
{
	char want[4096];
	sb_stats stats;
	sb_item *it = NULL;
	sb_box *box = open_old(path, v3_file, SB_PROTOCOL_AUTO);
	int holds = 0;

	if (!box)
		return;
	CHECK_RC(box, sb_box_stats(&stats, box, "d", "L"), SB_OK);
	CHECK(box, stats.available == 4 && stats.reserved == 1 &&
	                   stats.assigned == 1 && stats.on_hold == 2 &&
	                   stats.retired == 0 && stats.held == 2);
	CHECK_RC(box, sb_box_export_holds(box, "L", count_holds, &holds),
	         SB_OK);
	CHECK(box, holds == 1); /* h; old lapsed */
	/* FIFO: by rowid, as before */
	fetch_in(box, "d", "n1", "d5", 1);
	CHECK_RC(box, sb_box_hold(&it, box, "d", "L", "n2", 60000), SB_OK);
	CHECK_STR(box, sb_item_value(it), "d6");
	sb_item_free(it);
	it = NULL;
	CHECK_RC(box, sb_box_release(box, "L", "n2", SB_RELEASE_RESTOCK),
	         SB_OK);
	fetch_in(box, "d", "n3", "d6", 1); /* restocked: the oldest again */
	fetch_in(box, "d", "n4", "d7", 1);
	CHECK_RC(box, sb_box_confirm(box, "L", "h"), SB_OK);
	fetch_in(box, "d", "n5", "d4", 1);
	CHECK_RC(box, sb_box_stats(&stats, box, "d", "L"), SB_OK);
	CHECK(box, stats.available == 0 && stats.on_hold == 1 &&
	                   stats.assigned == 6);
	/* no item left: the hold reclaims old's lapsed one */
	CHECK_RC(box, sb_box_hold(&it, box, "d", "L", "n6", 60000), SB_OK);
	CHECK_STR(box, sb_item_value(it), "d3");
	sb_item_free(it);
	it = NULL;
	entry_is(box, "old", NULL);
	CHECK_RC(box, sb_box_confirm(box, "L", "n6"), SB_OK);
	/* sold out: first r's reservation is rolled forward */
	CHECK_RC(box, sb_box_hold(&it, box, "d", "L", "n7", 60000), SB_EMPTY);
	sb_item_free(it);
	entry_is(box, "r", "d1");
	CHECK_RC(box, sb_box_stats(&stats, box, "d", "L"), SB_OK);
	CHECK(box, stats.available == 0 && stats.reserved == 0 &&
	                   stats.assigned == 8 && stats.on_hold == 0 &&
	                   stats.retired == 0);
	sb_box_close(box);
	schema_as_new(path, fresh, want, sizeof want);
}

/* Several processes open one old file at once: one migrates, the others
 * find it done (the look under BEGIN IMMEDIATE); all of them work. */
static void concurrent(const char *path)
{
	enum {
		N = 4
	};
	pid_t pids[N];
	int i, status, ok = 0;
	sb_stats stats;
	sb_box *box;

	if (!CHECK(NULL, make_file(path, v1_file)))
		return;
	/* enough available items for every process */
	CHECK(NULL, sq_raw(path,
	                   "INSERT INTO sb_item (bank_id, item) VALUES"
	                   " (1, 'b6'), (1, 'b7')",
	                   NULL) == SQLITE_OK);
	for (i = 0; i < N; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			char id[16];
			sb_item *it = NULL;
			int rc = SB_ERROR;
			box = open_box(path);
			snprintf(id, sizeof id, "c%d", i);
			if (box)
				rc = sb_box_fetch(&it, box, "b", "L", id);
			if (rc != SB_OK)
				fprintf(stderr, "child %d: %s\n", i,
				        box ? sb_box_errmsg(box) : "no box");
			sb_item_free(it);
			sb_box_close(box);
			_exit(rc == SB_OK ? 0 : 1);
		}
	}
	for (i = 0; i < N; i++)
		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
	CHECKF(NULL, ok == N, "%d of %d processes migrated and fetched", ok, N);
	box = open_box(path);
	if (!CHECK(NULL, box != NULL))
		return;
	CHECK_RC(box, sb_box_stats(&stats, box, "b", "L"), SB_OK);
	CHECK(box, stats.available == 1 && stats.assigned == 6 &&
	                   stats.reserved == 1 && stats.held == 6);
	sb_box_close(box);
}

static void newer(const char *path)
{
	char uri[600], err[SB_ERRMSG_SIZE];
	sb_box *box = NULL;

	CHECK(NULL, make_file(path, v1_file));
	CHECK(NULL,
	      sq_raw(path, "PRAGMA user_version = 99", NULL) == SQLITE_OK);
	snprintf(uri, sizeof uri, "sqlite:%s", path);
	CHECK_RC(NULL, sb_box_open(&box, uri, NULL, err, sizeof err),
	         SB_EBACKEND);
	CHECKF(NULL, strstr(err, "schema version 99") != NULL, "%s", err);
	sb_box_close(box);
}

int main(void)
{
	char a[512], b[512], c[512], d[512], e[512], f[512], g[512], h[512];

	migrated(sq_fresh(a, sizeof a, "sqlite-migrate-old"),
	         sq_fresh(b, sizeof b, "sqlite-migrate-new"));
	from_v2(sq_fresh(e, sizeof e, "sqlite-migrate-v2"),
	        sq_fresh(f, sizeof f, "sqlite-migrate-v2-new"));
	from_v3(sq_fresh(g, sizeof g, "sqlite-migrate-v3"),
	        sq_fresh(h, sizeof h, "sqlite-migrate-v3-new"));
	concurrent(sq_fresh(c, sizeof c, "sqlite-migrate-race"));
	newer(sq_fresh(d, sizeof d, "sqlite-migrate-newer"));
	return t_summary();
}
