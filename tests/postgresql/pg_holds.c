/* PostgreSQL and holds, on the real server: what the conformance suite
 * cannot see from the API.
 *  - migrate: a schema made by storagebox 0.1.0 (schema_v1.sql, argv[1]),
 *    with data its fused and generic paths left (a claim for good, an
 *    assigned and a reserved item of the generic path, a reservation
 *    recorded in the ledger), is brought up to version 2 at open, in
 *    place: the data means the same, recover settles it, holds work,
 *    and the 0.1.0 claim function still answers its callers;
 *  - racing first opens of a version 1 schema all succeed;
 *  - the layout: a claim for good writes no sb_taken row (holds cost it
 *    nothing); a hold's deadline is the server's clock + ttl, on the
 *    ledger entry and on the held row; the partial index on held rows'
 *    deadlines serves the lapsed-hold scan;
 *  - races: confirms at the deadline against claims that reclaim lapsed
 *    holds of an empty bank: each hold is confirmed (and kept) or lapsed
 *    (and handed to someone else), never both; conservation;
 *  - the fused claim's one-statement common case handing a twin that
 *    won, and a row behind its scan start, to sb_hold(). */
#include "pg_tests.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *uri;
static char *tag;
static char *v1_sql; /* schema_v1.sql */
static PGconn *pg;

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	buf = t_xmalloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* @p sql with every "@." replaced by "\"schema\".". */
static char *in_schema(const char *sql, const char *schema)
{
	size_t n = 0, sl = strlen(schema);
	const char *p;
	char *out, *o;

	for (p = sql; (p = strstr(p, "@.")); p += 2)
		n++;
	out = o = t_xmalloc(strlen(sql) + n * (sl + 2) + 1);
	for (p = sql; *p;) {
		if (p[0] == '@' && p[1] == '.') {
			o += sprintf(o, "\"%s\".", schema);
			p += 2;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

/* Run @p sql (templated with @p schema; no parameters) and check it. */
static void run_(const char *schema, const char *sql, const char *file,
                 int line)
{
	char *text = in_schema(sql, schema);
	PGresult *r = PQexec(pg, text);
	ExecStatusType st = PQresultStatus(r);

	t_check(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, NULL, file,
	        line, "run", "%.120s: %s", text, PQerrorMessage(pg));
	PQclear(r);
	free(text);
}
#define run(schema, sql) run_((schema), (sql), __FILE__, __LINE__)

/* A number from @p sql templated with @p schema and parameters. */
static long long num(const char *schema, const char *sql, int n,
                     const char *const *p)
{
	char *text = in_schema(sql, schema);
	long long v = pgt_num(pg, text, n, p);
	free(text);
	return v;
}

static char *store_uri(const char *schema)
{
	char *q = t_xasprintf("schema=%s", schema);
	char *u = t_uri_opt(uri, q);
	free(q);
	return u;
}

static sb_box *open_box(const char *schema)
{
	char *u = store_uri(schema);
	char err[SB_ERRMSG_SIZE] = "";
	sb_box *box = NULL;
	int rc = sb_box_open(&box, u, NULL, err, sizeof err);

	CHECKF(NULL, rc == SB_OK, "open schema %s: %d %s", schema, rc, err);
	free(u);
	return rc == SB_OK ? box : NULL;
}

/* A fresh schema made by 0.1.0's statements. */
static char *make_v1(const char *what)
{
	char *schema = t_xasprintf("%s_%s", what, tag);
	char *sql = t_xasprintf("DROP SCHEMA IF EXISTS \"%s\" CASCADE;"
	                        "CREATE SCHEMA \"%s\"",
	                        schema, schema);

	run(schema, sql);
	free(sql);
	run(schema, v1_sql);
	CHECK(NULL, num(schema,
	                "SELECT value::integer FROM @.sb_meta"
	                " WHERE key = 'schema_version'",
	                0, NULL) == 1);
	return schema;
}

static void drop(const char *schema)
{
	char *sql = t_xasprintf("DROP SCHEMA \"%s\" CASCADE", schema);
	run(schema, sql);
	free(sql);
}

static char *fetch_value(sb_box *box, const char *bank, const char *ledger,
                         const char *id, int want_rc, int *is_new)
{
	sb_item *it = NULL;
	int rc = sb_box_fetch(&it, box, bank, ledger, id);
	char *v = NULL;

	CHECK_RC(box, rc, want_rc);
	if (rc == SB_OK && it) {
		v = t_xstrdup(sb_item_value(it));
		if (is_new)
			*is_new = sb_item_is_new(it);
	}
	sb_item_free(it);
	return v;
}

static char *hold_value(sb_box *box, const char *bank, const char *ledger,
                        const char *id, int64_t ttl, int64_t *until)
{
	sb_item *it = NULL;
	int rc = sb_box_hold(&it, box, bank, ledger, id, ttl);
	char *v = NULL;

	CHECK_RC(box, rc, SB_OK);
	if (rc == SB_OK && it) {
		v = t_xstrdup(sb_item_value(it));
		if (until)
			*until = sb_item_expires_ms(it);
	}
	sb_item_free(it);
	return v;
}

static void stats_are_(sb_box *box, const char *bank, uint64_t available,
                       uint64_t reserved, uint64_t assigned, uint64_t on_hold,
                       uint64_t retired, const char *file, int line)
{
	sb_stats st;
	int rc;

	memset(&st, 0, sizeof st);
	rc = sb_box_stats(&st, box, bank, NULL);
	t_check_rc(box, file, line, "stats", rc, SB_OK);
	t_check(st.available == available && st.reserved == reserved &&
	                st.assigned == assigned && st.on_hold == on_hold &&
	                st.retired == retired,
	        box, file, line, "stats",
	        "available %llu reserved %llu assigned %llu on_hold %llu "
	        "retired %llu, want %llu %llu %llu %llu %llu",
	        (unsigned long long)st.available,
	        (unsigned long long)st.reserved,
	        (unsigned long long)st.assigned, (unsigned long long)st.on_hold,
	        (unsigned long long)st.retired, (unsigned long long)available,
	        (unsigned long long)reserved, (unsigned long long)assigned,
	        (unsigned long long)on_hold, (unsigned long long)retired);
}
#define stats_are(box, bank, av, res, as, oh, ret)                          \
	stats_are_((box), (bank), (av), (res), (as), (oh), (ret), __FILE__, \
	           __LINE__)

/* What 0.1.0 left in a store, made with its own functions and
 * statements: bank "b" of 8 items; "fused" claimed by sb_claim();
 * "gen" taken, recorded and settled by the generic path; "rec" taken
 * and recorded, not settled (a client died before settle); a
 * reservation with no entry (died before the ledger write: recover
 * records it for its id, "dead"). */
static void old_data(const char *schema)
{
	static const char *const items[] = { "i1", "i2", "i3", "i4",
		                             "i5", "i6", "i7", "i8" };
	size_t i;

	run(schema, "INSERT INTO @.sb_bank (h, name) VALUES"
	            " (sha256(convert_to('b', 'UTF8')), 'b')");
	for (i = 0; i < sizeof items / sizeof *items; i++) {
		char *sql =
			t_xasprintf("INSERT INTO @.sb_item (bank_id, h) SELECT id,"
		                    " sha256(convert_to('%s', 'UTF8')) FROM @.sb_bank;"
		                    "INSERT INTO @.sb_available (bank_id, item)"
		                    " SELECT id, '%s' FROM @.sb_bank",
		                    items[i], items[i]);
		run(schema, sql);
		free(sql);
	}
	CHECK(NULL, num(schema,
	                "SELECT o_status FROM @.sb_claim('b', 'L', 'fused', 0)",
	                0, NULL) == 0);
	run(schema, "SELECT @.sb_take('b', E'L\\ngen', 1, 0)");
	run(schema, "INSERT INTO @.sb_ledger SELECT"
	            " sha256(convert_to('L', 'UTF8')),"
	            " sha256(convert_to('gen', 'UTF8')), 'L', 'gen', 'b', item"
	            " FROM @.sb_taken WHERE token = E'L\\ngen'");
	run(schema, "UPDATE @.sb_taken SET settled = true"
	            " WHERE token = E'L\\ngen'");
	run(schema, "SELECT @.sb_take('b', E'L\\nrec', 1, 0)");
	run(schema, "INSERT INTO @.sb_ledger SELECT"
	            " sha256(convert_to('L', 'UTF8')),"
	            " sha256(convert_to('rec', 'UTF8')), 'L', 'rec', 'b', item"
	            " FROM @.sb_taken WHERE token = E'L\\nrec'");
	run(schema, "SELECT @.sb_take('b', E'L\\ndead', 1, 0)");
}

/* The item 0.1.0 recorded for an id. */
static char *old_entry(const char *schema, const char *id)
{
	char *sql = in_schema("SELECT item FROM @.sb_ledger"
	                      " WHERE dedup_id = $1",
	                      schema);
	const char *p[1] = { id };
	PGresult *r = PQexecParams(pg, sql, 1, NULL, p, NULL, NULL, 0);
	char *v = NULL;

	if (CHECKF(NULL,
	           PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1,
	           "entry of %s: %s", id, PQerrorMessage(pg)))
		v = t_xstrdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	free(sql);
	return v;
}

static void case_migrate(void)
{
	char *schema = make_v1("mig");
	char *fused, *gen, *rec, *v;
	sb_recover_result rr;
	sb_box *box;
	int is_new = -1;

	printf("migrate a 0.1.0 schema (%s)\n", schema);
	old_data(schema);
	fused = old_entry(schema, "fused");
	gen = old_entry(schema, "gen");
	rec = old_entry(schema, "rec");

	box = open_box(schema);
	if (!box)
		goto out;
	/* Brought up to date at open. */
	CHECK(NULL, num(schema,
	                "SELECT value::integer FROM @.sb_meta"
	                " WHERE key = 'schema_version'",
	                0, NULL) == 3);
	{
		const char *p[1] = { schema };
		CHECK(NULL, pgt_num(pg,
		                    "SELECT count(*) FROM pg_indexes"
		                    " WHERE schemaname = $1 AND indexname IN"
		                    " ('sb_taken_held', 'sb_taken_retired')",
		                    1, p) == 2);
	}
	/* The data means what it meant: 4 available, 2 reserved ("rec",
	 * "dead"), 2 assigned ("fused", "gen"). */
	stats_are(box, "b", 4, 2, 2, 0, 0);
	v = fetch_value(box, "b", "L", "fused", SB_OK, &is_new);
	CHECK(box, v && fused && strcmp(v, fused) == 0 && is_new == 0);
	free(v);
	v = fetch_value(box, "b", "L", "gen", SB_OK, &is_new);
	CHECK(box, v && gen && strcmp(v, gen) == 0 && is_new == 0);
	free(v);
	memset(&rr, 0, sizeof rr);
	CHECK_RC(box, sb_box_recover(&rr, box, "b", "L", NULL), SB_OK);
	CHECKF(box, rr.settled == 2 && rr.put_back == 0 && rr.lapsed == 0,
	       "recover settled %llu put back %llu lapsed %llu",
	       (unsigned long long)rr.settled, (unsigned long long)rr.put_back,
	       (unsigned long long)rr.lapsed);
	stats_are(box, "b", 4, 0, 4, 0, 0);
	v = fetch_value(box, "b", "L", "rec", SB_OK, NULL);
	CHECK(box, v && rec && strcmp(v, rec) == 0);
	free(v);

	/* Holds on the migrated store: hold, confirm, release both ways,
	 * on old entries too. */
	free(hold_value(box, "b", "L", "h1", 600000, NULL));
	stats_are(box, "b", 3, 0, 4, 1, 0);
	CHECK_RC(box, sb_box_confirm(box, "L", "h1"), SB_OK);
	stats_are(box, "b", 3, 0, 5, 0, 0);
	CHECK_RC(box, sb_box_release(box, "L", "fused", SB_RELEASE_RESTOCK),
	         SB_OK);
	CHECK_RC(box, sb_box_release(box, "L", "gen", SB_RELEASE_RETIRE),
	         SB_OK);
	CHECK_RC(box, sb_box_release(box, "L", "gen", SB_RELEASE_RETIRE),
	         SB_ENOTFOUND);
	stats_are(box, "b", 4, 0, 3, 0, 1);
	/* Law 6: the released and the retired item are not new to the
	 * bank. */
	{
		const char *again[2] = { fused, gen };
		sb_add_result ar = { 0, 0 };
		CHECK_RC(box, sb_box_add(&ar, box, "b", again, 2), SB_OK);
		CHECK(box, ar.added == 0 && ar.skipped == 2);
	}
	/* A 0.1.0 client still connected calls sb_claim(): now a claim
	 * for good on version 2. */
	CHECK(NULL,
	      num(schema, "SELECT o_status FROM @.sb_claim('b', 'L', 'old', 0)",
	          0, NULL) == 0);
	stats_are(box, "b", 3, 0, 4, 0, 1);
	sb_box_close(box);
	/* A second open finds it current and changes nothing. */
	box = open_box(schema);
	if (box) {
		stats_are(box, "b", 3, 0, 4, 0, 1);
		sb_box_close(box);
	}
out:
	free(fused);
	free(gen);
	free(rec);
	drop(schema);
	free(schema);
}

#define OPENERS 6

static void *open_one(void *arg)
{
	sb_box *box = open_box(arg);
	if (box) {
		CHECK_RC(box, sb_box_init(box, NULL, NULL), SB_OK);
		sb_box_close(box);
	}
	return NULL;
}

/* First opens of a 0.1.0 schema race: one migrates, the others wait for
 * it under the lock and find it current. */
static void case_migrate_race(void)
{
	char *schema = make_v1("migrace");
	pthread_t th[OPENERS];
	int i;

	printf("racing opens of a 0.1.0 schema\n");
	for (i = 0; i < OPENERS; i++)
		pthread_create(&th[i], NULL, open_one, schema);
	for (i = 0; i < OPENERS; i++)
		pthread_join(th[i], NULL);
	CHECK(NULL, num(schema,
	                "SELECT value::integer FROM @.sb_meta"
	                " WHERE key = 'schema_version'",
	                0, NULL) == 3);
	drop(schema);
	free(schema);
}

static long long server_ms(void)
{
	return pgt_num(pg,
	               "SELECT floor(extract(epoch FROM clock_timestamp())"
	               " * 1000)::bigint",
	               0, NULL);
}

/* The rows behind the API. */
static void case_layout(void)
{
	char *schema = t_xasprintf("lay_%s", tag);
	static const char *const items[] = { "a", "b", "c", "d" };
	int64_t until = 0;
	long long t0, t1;
	sb_box *box = open_box(schema);
	char *v;

	printf("layout (%s)\n", schema);
	if (!box)
		goto out;
	CHECK_RC(box, sb_box_add(NULL, box, "bk", items, 4), SB_OK);
	/* A claim for good: a ledger entry (until 0), no sb_taken row. */
	free(fetch_value(box, "bk", "L", "f1", SB_OK, NULL));
	CHECK(NULL,
	      num(schema, "SELECT count(*) FROM @.sb_taken", 0, NULL) == 0);
	CHECK(NULL, num(schema,
	                "SELECT until_ms FROM @.sb_ledger"
	                " WHERE dedup_id = 'f1'",
	                0, NULL) == 0);
	/* A hold: deadline = the server's clock + ttl, the same on the
	 * entry, the held row and the item returned. */
	t0 = server_ms();
	v = hold_value(box, "bk", "L", "h1", 60000, &until);
	t1 = server_ms();
	CHECKF(box, until >= t0 + 60000 && until <= t1 + 60000,
	       "deadline %lld outside [%lld, %lld] + ttl", (long long)until, t0,
	       t1);
	CHECK(NULL, num(schema,
	                "SELECT until_ms FROM @.sb_ledger"
	                " WHERE dedup_id = 'h1'",
	                0, NULL) == until);
	CHECK(NULL, num(schema,
	                "SELECT until_ms FROM @.sb_taken"
	                " WHERE st = 8 AND token = E'L\\nh1'",
	                0, NULL) == until);
	/* The lapsed-hold scan can use the partial index. */
	{
		char *sql =
			in_schema("EXPLAIN SELECT h FROM @.sb_taken WHERE bank_id = 1"
		                  " AND st = 8 AND until_ms <= 5 ORDER BY until_ms",
		                  schema);
		PGresult *r;
		int i, found = 0;

		PQclear(PQexec(pg, "SET enable_seqscan = off"));
		r = PQexec(pg, sql);
		for (i = 0;
		     PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r);
		     i++)
			found |= strstr(PQgetvalue(r, i, 0), "sb_taken_held") !=
			         NULL;
		CHECKF(NULL, found, "plan does not use sb_taken_held: %s",
		       PQerrorMessage(pg));
		PQclear(r);
		PQclear(PQexec(pg, "RESET enable_seqscan"));
		free(sql);
	}
	/* Confirmed: for good on both sides. */
	CHECK_RC(box, sb_box_confirm(box, "L", "h1"), SB_OK);
	CHECK(NULL, num(schema,
	                "SELECT until_ms FROM @.sb_ledger"
	                " WHERE dedup_id = 'h1'",
	                0, NULL) == 0);
	CHECK(NULL, num(schema,
	                "SELECT count(*) FROM @.sb_taken"
	                " WHERE st = 0 AND settled AND token = E'L\\nh1'",
	                0, NULL) == 1);
	free(v);
	sb_box_close(box);
out:
	drop(schema);
	free(schema);
}

/* Confirms at the deadline against claims reclaiming lapsed holds. */
#define RACE_ITEMS  24
#define RACE_TTL    600
#define RACE_CLAIMS 2

typedef struct {
	const char *schema;
	int64_t until[RACE_ITEMS];
	char *item[RACE_ITEMS];
	int confirm_rc[RACE_ITEMS];
	char *got[RACE_CLAIMS][RACE_ITEMS * 2]; /* items the claimers got */
	int ngot[RACE_CLAIMS];
	int which;
	pthread_mutex_t mu;
	volatile int stop;
} race_t;

/* The wall clock (the server's runs on the same machine). */
static long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *confirmer(void *arg)
{
	race_t *r = arg;
	sb_box *box = open_box(r->schema);
	int i;

	if (!box)
		return NULL;
	for (i = 0; i < RACE_ITEMS; i++) {
		char id[16];
		long long now = wall_ms();
		/* Aim at the deadline, a little before or after it. */
		long long aim = r->until[i] - 20 + (i % 5) * 10;
		if (aim > now)
			t_nap_ms((long)(aim - now));
		snprintf(id, sizeof id, "h%d", i);
		r->confirm_rc[i] = sb_box_confirm(box, "L", id);
	}
	r->stop = 1;
	sb_box_close(box);
	return NULL;
}

static void *claimer(void *arg)
{
	race_t *r = arg;
	sb_box *box = open_box(r->schema);
	int me, n = 0;

	pthread_mutex_lock(&r->mu);
	me = r->which++;
	pthread_mutex_unlock(&r->mu);
	if (!box)
		return NULL;
	while (!r->stop || n == 0) {
		char id[32];
		sb_item *it = NULL;
		int rc;

		snprintf(id, sizeof id, "c%d-%d", me, n);
		rc = sb_box_hold(&it, box, "rb", "L", id, 600000);
		if (rc == SB_OK) {
			if (n < RACE_ITEMS * 2)
				r->got[me][n] = t_xstrdup(sb_item_value(it));
			n++;
		} else {
			CHECK_RC(box, rc, SB_EMPTY);
			t_nap_ms(5);
		}
		sb_item_free(it);
		if (r->stop && rc == SB_EMPTY)
			break;
	}
	r->ngot[me] = n < RACE_ITEMS * 2 ? n : RACE_ITEMS * 2;
	sb_box_close(box);
	return NULL;
}

static void case_confirm_race(void)
{
	char *schema = t_xasprintf("race_%s", tag);
	race_t r;
	pthread_t tc, tl[RACE_CLAIMS];
	sb_box *box = open_box(schema);
	const char *items[RACE_ITEMS];
	char names[RACE_ITEMS][16];
	int i, j, k, confirmed = 0, lapsed = 0;
	uint64_t taken = 0;

	printf("confirm racing the lapse (%s)\n", schema);
	memset(&r, 0, sizeof r);
	r.schema = schema;
	pthread_mutex_init(&r.mu, NULL);
	if (!box)
		goto out;
	for (i = 0; i < RACE_ITEMS; i++) {
		snprintf(names[i], sizeof names[i], "seat%d", i);
		items[i] = names[i];
	}
	CHECK_RC(box, sb_box_add(NULL, box, "rb", items, RACE_ITEMS), SB_OK);
	for (i = 0; i < RACE_ITEMS; i++) {
		char id[16];
		snprintf(id, sizeof id, "h%d", i);
		r.item[i] = hold_value(box, "rb", "L", id, RACE_TTL + i * 40,
		                       &r.until[i]);
	}
	/* The deadlines are the server's; the confirmer aims with its own
	 * clock: on one machine they agree closely enough. */
	pthread_create(&tc, NULL, confirmer, &r);
	for (i = 0; i < RACE_CLAIMS; i++)
		pthread_create(&tl[i], NULL, claimer, &r);
	pthread_join(tc, NULL);
	for (i = 0; i < RACE_CLAIMS; i++)
		pthread_join(tl[i], NULL);

	for (i = 0; i < RACE_ITEMS; i++) {
		int given = 0;
		for (j = 0; j < RACE_CLAIMS; j++)
			for (k = 0; k < r.ngot[j]; k++)
				given += r.item[i] && r.got[j][k] &&
				         strcmp(r.item[i], r.got[j][k]) == 0;
		if (r.confirm_rc[i] == SB_OK) {
			char id[16];
			char *v;
			confirmed++;
			CHECKF(NULL, given == 0,
			       "confirmed %s also handed out %d times",
			       r.item[i], given);
			snprintf(id, sizeof id, "h%d", i);
			v = fetch_value(box, "rb", "L", id, SB_OK, NULL);
			CHECK(box, v && r.item[i] && strcmp(v, r.item[i]) == 0);
			free(v);
		} else {
			lapsed++;
			CHECKF(NULL,
			       r.confirm_rc[i] == SB_EEXPIRED ||
			               r.confirm_rc[i] == SB_ENOTFOUND,
			       "confirm h%d: %d", i, r.confirm_rc[i]);
			CHECKF(NULL, given <= 1,
			       "lapsed %s handed out %d times", r.item[i],
			       given);
		}
	}
	for (j = 0; j < RACE_CLAIMS; j++)
		taken += (uint64_t)r.ngot[j];
	printf("  %d confirmed, %d lapsed, %llu reclaimed by claims\n",
	       confirmed, lapsed, (unsigned long long)taken);
	/* Every lapsed hold came back: to a claimer, or by recover. */
	{
		sb_recover_result rr;
		sb_stats st;
		memset(&rr, 0, sizeof rr);
		memset(&st, 0, sizeof st);
		CHECK_RC(box, sb_box_recover(&rr, box, "rb", "L", NULL), SB_OK);
		CHECK_RC(box, sb_box_stats(&st, box, "rb", NULL), SB_OK);
		CHECKF(box,
		       st.available + st.reserved + st.assigned + st.on_hold +
		                       st.retired ==
		               RACE_ITEMS,
		       "conservation: %llu %llu %llu %llu %llu",
		       (unsigned long long)st.available,
		       (unsigned long long)st.reserved,
		       (unsigned long long)st.assigned,
		       (unsigned long long)st.on_hold,
		       (unsigned long long)st.retired);
		CHECKF(box,
		       st.assigned == (uint64_t)confirmed &&
		               st.on_hold == taken &&
		               st.available == RACE_ITEMS - confirmed - taken,
		       "after recover: available %llu assigned %llu on_hold "
		       "%llu",
		       (unsigned long long)st.available,
		       (unsigned long long)st.assigned,
		       (unsigned long long)st.on_hold);
	}
	sb_box_close(box);
	for (i = 0; i < RACE_ITEMS; i++)
		free(r.item[i]);
	for (j = 0; j < RACE_CLAIMS; j++)
		for (k = 0; k < r.ngot[j]; k++)
			free(r.got[j][k]);
out:
	pthread_mutex_destroy(&r.mu);
	drop(schema);
	free(schema);
}

/* The fused claim's one-statement common case and the cases it hands to
 * sb_hold() (pg_claim.c), made to happen with a second connection that
 * claims in a transaction it has not ended (a twin in flight):
 *  - a twin's entry committed while the statement waits on it: the
 *    claim answers the twin's item, and the item it took is back;
 *  - a row behind the connection's scan start (a take that rolled
 *    back): handed out once the rows from the hint on are gone, then
 *    "empty". Every item once, none lost. */
typedef struct {
	sb_box *box;
	char *value;
	int is_new;
	volatile int done;
} twin_t;

static void *twin_fetch(void *arg)
{
	twin_t *t = arg;

	t->value = fetch_value(t->box, "bk", "L", "tw", SB_OK, &t->is_new);
	t->done = 1;
	return NULL;
}

/* A claim of @p id by 0.1.0's function on @p c, in a transaction left
 * open: its item (the caller frees it). */
static char *claim_open(PGconn *c, const char *schema, const char *id)
{
	char *sql = in_schema("SELECT o_item FROM @.sb_claim('bk', 'L', $1, 0)",
	                      schema);
	const char *p[1] = { id };
	PGresult *r;
	char *v = NULL;

	PQclear(PQexec(c, "BEGIN"));
	r = PQexecParams(c, sql, 1, NULL, p, NULL, NULL, 0);
	if (CHECKF(NULL,
	           PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1,
	           "open claim: %s", PQerrorMessage(c)))
		v = t_xstrdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	free(sql);
	return v;
}

static void case_fast_path(void)
{
	char *schema = t_xasprintf("fast_%s", tag);
	static const char *const items[] = {
		"i1", "i2", "i3", "i4", "i5", "i6"
	};
	static const char *const ids[] = { "a", "b", "c", "d", "e" };
	sb_box *box = open_box(schema);
	PGconn *tw = pgt_connect(uri);
	char *got[8] = { 0 }, *v, *mine;
	const char *p[1] = { schema };
	twin_t t;
	pthread_t th;
	int i, j, waited = 0, n = 0, is_new = 0;

	printf("fast path and its hand-overs (%s)\n", schema);
	memset(&t, 0, sizeof t);
	if (!box)
		goto out;
	CHECK_RC(box, sb_box_add(NULL, box, "bk", items, 6), SB_OK);

	/* Twin won: its entry holds i1 while the box's claim of the same
	 * id takes the next row and waits on the ledger's key. */
	v = claim_open(tw, schema, "tw");
	t.box = box;
	pthread_create(&th, NULL, twin_fetch, &t);
	for (i = 0; i < 1000 && !waited && !t.done; i++) {
		waited = pgt_num(pg,
		                 "SELECT count(*) FROM pg_stat_activity"
		                 " WHERE wait_event_type = 'Lock'"
		                 " AND strpos(query, '\"' || $1 || '\"') > 0",
		                 1, p) > 0;
		if (!waited)
			t_nap_ms(10);
	}
	CHECKF(NULL, waited && !t.done, "the claim did not wait on the twin");
	PQclear(PQexec(tw, "COMMIT"));
	pthread_join(th, NULL);
	CHECKF(box, v && t.value && strcmp(t.value, v) == 0 && !t.is_new,
	       "twin: got %s (new %d), the twin's entry holds %s",
	       t.value ? t.value : "(null)", t.is_new, v ? v : "(null)");
	stats_are(box, "bk", 5, 0, 1, 0, 0);
	got[n++] = v;

	/* A row behind the box's scan start: an open claim locks the head
	 * row, the box takes the one after it, the claim rolls back. */
	mine = claim_open(tw, schema, "x");
	got[n++] = fetch_value(box, "bk", "L", ids[0], SB_OK, &is_new);
	CHECK(box, is_new);
	PQclear(PQexec(tw, "ROLLBACK"));
	CHECKF(NULL, mine && got[1] && strcmp(mine, got[1]) != 0,
	       "the box took the locked row %s", mine ? mine : "(null)");
	free(mine);
	for (i = 1; i < 5; i++) {
		got[n++] = fetch_value(box, "bk", "L", ids[i], SB_OK, &is_new);
		CHECK(box, is_new);
	}
	free(fetch_value(box, "bk", "L", "f", SB_EMPTY, NULL));
	for (i = 0; i < 6; i++) {
		int seen = 0;
		for (j = 0; j < n; j++)
			seen += got[j] && strcmp(got[j], items[i]) == 0;
		CHECKF(NULL, seen == 1, "%s handed out %d times", items[i],
		       seen);
	}
	stats_are(box, "bk", 0, 0, 6, 0, 0);
	CHECK(NULL,
	      num(schema, "SELECT count(*) FROM @.sb_ledger", 0, NULL) == 6);
	for (j = 0; j < n; j++)
		free(got[j]);
	free(t.value);
	sb_box_close(box);
out:
	PQfinish(tw);
	drop(schema);
	free(schema);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: pg_holds SCHEMA_V1_SQL\n");
		return 2;
	}
	uri = t_env_need("SB_TEST_PG_URI");
	v1_sql = read_file(argv[1]);
	tag = t_xasprintf("%lx_%ld", (long)time(NULL), (long)getpid());
	pg = pgt_connect(uri);
	{
		char *ru = t_redact_uri(uri);
		printf("pg holds on %s\n", ru);
		free(ru);
	}
	case_migrate();
	case_migrate_race();
	case_layout();
	case_confirm_race();
	case_fast_path();
	PQfinish(pg);
	free(v1_sql);
	free(tag);
	return t_summary();
}
