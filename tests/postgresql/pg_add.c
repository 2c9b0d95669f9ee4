/* PostgreSQL bulk add (backends/postgresql/pg_add.c), in a schema of its
 * own:
 *   - adds racing on one bank: 4 boxes add overlapping ranges in batches
 *     that mix new and known items (COPY straight into the tables, and
 *     the fallback through a temp table), all released at once: every
 *     item is added exactly once over all the answers (law 6), and the
 *     tables agree;
 *   - 256 KiB items through both paths, and after they were handed out;
 *   - one call of more items than one pass of the add takes;
 *   - the digests the client wrote are the server's own
 *     sha256(convert_to(item, 'UTF8')), for items of every kind (a
 *     mismatch would let the fallback add an item again). */
#include "pg_tests.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ADDERS 4
#define SPAN   900 /* items per adder */
#define STEP   300 /* adder k starts at k * STEP: ranges overlap */
#define BATCH  150

static const char *uri;
static char *schema;
static PGconn *pg;

static sb_box *open_box(void)
{
	char *q = t_xasprintf("schema=%s", schema);
	char *u = t_uri_opt(uri, q);
	char err[SB_ERRMSG_SIZE] = "";
	sb_box *box = NULL;
	int rc = sb_box_open(&box, u, NULL, err, sizeof err);

	CHECKF(NULL, rc == SB_OK, "open schema %s: %d %s", schema, rc, err);
	free(q);
	free(u);
	return rc == SB_OK ? box : NULL;
}

static long long sql_num(const char *tmpl, const char *bank)
{
	char *sql = t_xasprintf(tmpl, schema, schema);
	const char *p[1] = { bank };
	long long v = pgt_num(pg, sql, 1, p);

	free(sql);
	return v;
}

/* Rows of the bank in sb_item, in sb_available, distinct items there, and
 * sb_item rows that are the server's digest of an available item. */
#define BANK_ID "(SELECT id FROM \"%s\".sb_bank WHERE name = $1)"
static void check_tables(const char *bank, long long items, long long avail)
{
	long long n_item = sql_num("SELECT count(*) FROM \"%s\".sb_item"
	                           " WHERE bank_id = " BANK_ID,
	                           bank);
	long long n_av = sql_num("SELECT count(*) FROM \"%s\".sb_available"
	                         " WHERE bank_id = " BANK_ID,
	                         bank);
	long long n_distinct =
		sql_num("SELECT count(DISTINCT item) FROM \"%s\".sb_available"
	                " WHERE bank_id = " BANK_ID,
	                bank);
	char *match =
		t_xasprintf("SELECT count(*) FROM \"%s\".sb_available a JOIN \"%s\".sb_item i"
	                    " ON i.bank_id = a.bank_id"
	                    " AND i.h = sha256(convert_to(a.item, 'UTF8'))"
	                    " WHERE a.bank_id = (SELECT id FROM \"%s\".sb_bank"
	                    " WHERE name = $1)",
	                    schema, schema, schema);
	const char *p[1] = { bank };
	long long n_match = pgt_num(pg, match, 1, p);

	free(match);
	CHECKF(NULL, n_item == items, "%s: sb_item %lld, want %lld", bank,
	       n_item, items);
	CHECKF(NULL, n_av == avail && n_distinct == avail,
	       "%s: sb_available %lld rows, %lld distinct, want %lld", bank,
	       n_av, n_distinct, avail);
	CHECKF(NULL, n_match == avail,
	       "%s: %lld of %lld available items have the server's digest "
	       "in sb_item",
	       bank, n_match, avail);
}

typedef struct {
	int k;
	const char *bank;
	pthread_barrier_t *go;
	unsigned long long added, skipped;
	int failed;
} adder;

static void *add_run(void *arg)
{
	adder *a = arg;
	sb_box *box = open_box();
	char *items[SPAN];
	size_t i, j;

	for (i = 0; i < SPAN; i++)
		items[i] = t_xasprintf("race-%05zu", a->k * (size_t)STEP + i);
	/* Adder k goes backwards when k is odd: batches meet head on. */
	if (a->k % 2)
		for (i = 0, j = SPAN - 1; i < j; i++, j--) {
			char *t = items[i];
			items[i] = items[j];
			items[j] = t;
		}
	pthread_barrier_wait(a->go);
	for (i = 0; box && i < SPAN; i += BATCH) {
		sb_add_result r = { 0, 0 };
		int rc = sb_box_add(&r, box, a->bank,
		                    (const char *const *)items + i, BATCH);
		if (rc != SB_OK) {
			CHECK_RC(box, rc, SB_OK);
			a->failed = 1;
			break;
		}
		a->added += r.added;
		a->skipped += r.skipped;
	}
	for (i = 0; i < SPAN; i++)
		free(items[i]);
	if (box)
		sb_box_close(box);
	return NULL;
}

static void case_race(void)
{
	pthread_t t[ADDERS];
	adder a[ADDERS];
	pthread_barrier_t go;
	unsigned long long added = 0, skipped = 0;
	const long long uni = (ADDERS - 1) * STEP + SPAN;
	int k;

	printf("adds racing on one bank:\n");
	pthread_barrier_init(&go, NULL, ADDERS);
	for (k = 0; k < ADDERS; k++) {
		a[k] = (adder){ k, "race", &go, 0, 0, 0 };
		pthread_create(&t[k], NULL, add_run, &a[k]);
	}
	for (k = 0; k < ADDERS; k++) {
		pthread_join(t[k], NULL);
		added += a[k].added;
		skipped += a[k].skipped;
	}
	pthread_barrier_destroy(&go);
	CHECKF(NULL, added == (unsigned long long)uni,
	       "added %llu over all adders, want %lld", added, uni);
	CHECKF(NULL, added + skipped == (unsigned long long)ADDERS * SPAN,
	       "added %llu + skipped %llu != %d", added, skipped,
	       ADDERS * SPAN);
	check_tables("race", uni, uni);
}

/* A string of @p len bytes: multibyte text, tabs and backslashes. */
static char *long_item(size_t len, int seed)
{
	static const char *const parts[] = { "Ω", "\t", "\\", "x", "😀" };
	char *s = t_xmalloc(len + 1);
	size_t n = 0;
	int i = seed;

	while (n < len) {
		const char *p = parts[i++ % 5];
		size_t l = strlen(p);
		if (n + l > len)
			p = "y", l = 1;
		memcpy(s + n, p, l);
		n += l;
	}
	s[len] = '\0';
	return s;
}

static void case_long(void)
{
	sb_box *box = open_box();
	char *big1 = long_item(SB_MAX_VALUE_LEN, 0);
	char *big2 = long_item(SB_MAX_VALUE_LEN, 1);
	sb_add_result r;
	sb_item *it;
	int i;

	printf("256 KiB items, hostile bytes:\n");
	if (!box)
		goto out;
	/* New items only: straight into the tables. */
	const char *b1[] = { big1,      "tab\there", "back\\slash",
		             "Ωmega 😀", "\\N",       big1 };
	CHECK_RC(box, sb_box_add(&r, box, "long", b1, 6), SB_OK);
	CHECK(box, r.added == 5 && r.skipped == 1);
	/* Known and new: the fallback, which digests on the server. */
	const char *b2[] = { "new", big1, big2, "\\N", "tab\there" };
	CHECK_RC(box, sb_box_add(&r, box, "long", b2, 5), SB_OK);
	CHECKF(box, r.added == 2 && r.skipped == 3, "added %llu skipped %llu",
	       (unsigned long long)r.added, (unsigned long long)r.skipped);
	check_tables("long", 7, 7);
	/* Handed out, then added again: skipped by either path. */
	for (i = 0; i < 7; i++) {
		char id[16];
		snprintf(id, sizeof id, "id%d", i);
		it = NULL;
		CHECK_RC(box, sb_box_fetch(&it, box, "long", "L", id), SB_OK);
		sb_item_free(it);
	}
	CHECK_RC(box, sb_box_add(&r, box, "long", b1, 6), SB_OK);
	CHECK(box, r.added == 0 && r.skipped == 6);
	CHECK_RC(box, sb_box_add(&r, box, "long", b2, 5), SB_OK);
	CHECK(box, r.added == 0 && r.skipped == 5);
	check_tables("long", 7, 0);
	sb_box_close(box);
out:
	free(big1);
	free(big2);
}

/* One call larger than a pass of pg_add.c (PASS_ITEMS): the second pass
 * repeats an item of the first (known by then: skipped) and one of its
 * own. */
#define PASS_ITEMS 262144
static void case_passes(void)
{
	sb_box *box = open_box();
	size_t n = PASS_ITEMS + 3, i;
	char **items = t_xcalloc(n, sizeof *items);
	sb_add_result r = { 0, 0 };

	printf("one call over several passes:\n");
	for (i = 0; i < PASS_ITEMS; i++)
		items[i] = t_xasprintf("pass-%07zu", i);
	items[PASS_ITEMS] = t_xstrdup(items[0]);
	items[PASS_ITEMS + 1] = t_xstrdup("pass-new");
	items[PASS_ITEMS + 2] = t_xstrdup("pass-new");
	if (box) {
		CHECK_RC(box,
		         sb_box_add(&r, box, "passes",
		                    (const char *const *)items, n),
		         SB_OK);
		CHECKF(box, r.added == PASS_ITEMS + 1 && r.skipped == 2,
		       "added %llu skipped %llu", (unsigned long long)r.added,
		       (unsigned long long)r.skipped);
		CHECK(box, sql_num("SELECT count(*) FROM \"%s\".sb_item"
		                   " WHERE bank_id = " BANK_ID,
		                   "passes") == PASS_ITEMS + 1);
		CHECK(box, sql_num("SELECT count(*) FROM \"%s\".sb_available"
		                   " WHERE bank_id = " BANK_ID,
		                   "passes") == PASS_ITEMS + 1);
		sb_box_close(box);
	}
	for (i = 0; i < n; i++)
		free(items[i]);
	free(items);
}

int main(void)
{
	char *sql;
	PGresult *res;

	uri = t_env_need("SB_TEST_PG_URI");
	schema = t_xasprintf("add_%lx_%ld", (long)time(NULL), (long)getpid());
	pg = pgt_connect(uri);
	{
		char *ru = t_redact_uri(uri);
		printf("pg add on %s, schema %s\n", ru, schema);
		free(ru);
	}
	case_race();
	case_long();
	case_passes();
	sql = t_xasprintf("DROP SCHEMA \"%s\" CASCADE", schema);
	res = PQexec(pg, sql);
	CHECKF(NULL, PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", sql,
	       PQerrorMessage(pg));
	PQclear(res);
	free(sql);
	PQfinish(pg);
	free(schema);
	return t_summary();
}
