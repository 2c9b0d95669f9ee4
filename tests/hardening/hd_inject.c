/* Injection: ids, items, bank and ledger names made of SQL quotes and
 * `'; DROP TABLE`, Lua and format metacharacters, JSON metacharacters,
 * `{}` hash-tag characters, unicode and 64 KiB round-trip byte for byte
 * through add, fetch (new and repeated), lookup, stats and export, fused
 * and generic; and nothing outside the box changes, as seen by the
 * backend's view of its server (hd_view_*.c): sentinel tables, keys or
 * banks, and the list of tables or keys around the box.
 *
 * Usage: hd_inject sqlite|postgresql|redis|dynamodb [dir] */
#include "hd_inject.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LONG_NAME (64 * 1024)

static const char *const hostile[] = {
	"'",
	"''",
	"\"",
	"`",
	"'; DROP TABLE x;--",
	"'); DROP TABLE sb_bank; DELETE FROM sb_ledger; --",
	"\\",
	"\\\\'",
	"\\N",
	"NULL",
	"%",
	"_",
	"*",
	"?",
	"$1",
	"@.",
	"]]",
	"--[[",
	"]] .. redis.call('FLUSHALL') .. [[",
	"%s%d%n%%",
	"\"}{\"",
	"\\u0000",
	"\\\"",
	"}{",
	"{\"S\":\"x\"}",
	"{\"#i\":1}",
	"{}",
	"{",
	"}",
	"{sb}",
	"{hd}:q:x",
	":",
	"\t tab",
	"caf\xc3\xa9 \xf0\x9f\x8e\x9f",
	"\xe2\x80\xae"
	"rtl",
	" lead space",
	"sbh.0000",
	"x.held",
};
#define N_HOSTILE (sizeof hostile / sizeof *hostile)
/* Names: a subset (each costs tables on some stores), all kinds. */
static const unsigned name_pick[] = { 4, 5, 7, 18, 19, 20, 24, 26, 30, 33, 36 };
#define N_NAMES (sizeof name_pick / sizeof *name_pick)

static const hd_view *view;
static char tag[48];

const char *hd_run_tag(void)
{
	return tag;
}

/* @p len bytes cycling through quotes, metacharacters and UTF-8 (never
 * cutting a character), starting with @p seed. */
static char *long_string(size_t len, char seed)
{
	static const char unit[] = "'\"\\{}][--%s`;\xc3\xa9 \t$1";
	char *s = t_xmalloc(len + 1);
	size_t i = 0, j = (size_t)seed % 5;

	s[i++] = seed;
	while (i < len) {
		char c = unit[j++ % (sizeof unit - 1)];
		if ((unsigned char)c == 0xc3) {
			if (i + 2 > len)
				c = '.';
			else
				s[i++] = c, c = unit[j++ % (sizeof unit - 1)];
		}
		s[i++] = c;
	}
	s[len] = '\0';
	return s;
}

typedef struct {
	const char *bank;
	char **ids, **items;
	size_t n;
	size_t seen;
	int bad;
} export_check;

static int export_cb(const char *id, const char *bank, const char *item,
                     void *p)
{
	export_check *e = p;
	size_t i;

	for (i = 0; i < e->n; i++)
		if (strcmp(e->ids[i], id) == 0)
			break;
	if (i == e->n || strcmp(e->items[i], item) != 0 ||
	    strcmp(bank, e->bank) != 0)
		e->bad++;
	e->seen++;
	return 0;
}

/* One bank and ledger named after @p name: every hostile string and the
 * long ones as items, handed to every hostile id and the long ones. */
static void round_trip(sb_box *box, const char *bname, const char *lname,
                       char **strs, size_t n)
{
	char **got = t_xcalloc(n, sizeof *got);
	sb_add_result ar = { 0, 0 };
	export_check ec = { bname, strs, got, n, 0, 0 };
	sb_stats st;
	size_t i, j;

	CHECK_RC(box, sb_box_add(&ar, box, bname, (const char *const *)strs, n),
	         SB_OK);
	CHECKF(box, ar.added == n, "added %llu of %zu",
	       (unsigned long long)ar.added, n);
	for (i = 0; i < n; i++) {
		sb_item *it = NULL;
		int rc = sb_box_fetch(&it, box, bname, lname, strs[i]);
		if (!CHECKF(box, rc == SB_OK, "fetch id %zu: %s", i,
		            sb_strerror(rc)))
			continue;
		got[i] = t_xstrdup(sb_item_value(it));
		CHECKF(box, strcmp(sb_item_bank(it), bname) == 0,
		       "bank of "
		       "id %zu differs",
		       i);
		sb_item_free(it);
		for (j = 0; j < n; j++)
			if (strcmp(strs[j], got[i]) == 0)
				break;
		CHECKF(box, j < n, "id %zu got an item never added", i);
		for (j = 0; j < i; j++)
			CHECKF(box, !got[j] || strcmp(got[j], got[i]) != 0,
			       "ids %zu and %zu got the same item", j, i);
	}
	for (i = 0; i < n; i++) {
		sb_item *it = NULL;
		if (!got[i])
			continue;
		CHECK_RC(box, sb_box_fetch(&it, box, bname, lname, strs[i]),
		         SB_OK);
		CHECKF(box,
		       it && strcmp(sb_item_value(it), got[i]) == 0 &&
		               !sb_item_is_new(it),
		       "repeat of id %zu", i);
		sb_item_free(it);
		it = NULL;
		CHECK_RC(box, sb_box_lookup(&it, box, lname, strs[i]), SB_OK);
		CHECKF(box,
		       it && strcmp(sb_item_value(it), got[i]) == 0 &&
		               strcmp(sb_item_bank(it), bname) == 0,
		       "lookup of id %zu", i);
		sb_item_free(it);
	}
	CHECK_RC(box, sb_box_export(box, lname, export_cb, &ec), SB_OK);
	CHECKF(box, ec.seen == n && ec.bad == 0, "export: %zu rows, %d wrong",
	       ec.seen, ec.bad);
	CHECK_RC(box, sb_box_stats(&st, box, bname, lname), SB_OK);
	CHECKF(box,
	       st.assigned == n && st.available == 0 && st.reserved == 0 &&
	               st.held == n,
	       "stats %llu/%llu/%llu held %llu",
	       (unsigned long long)st.available,
	       (unsigned long long)st.reserved, (unsigned long long)st.assigned,
	       (unsigned long long)st.held);
	for (i = 0; i < n; i++)
		free(got[i]);
	free(got);
}

static void run(const char *uri, sb_protocol proto, char **strs, size_t n)
{
	sb_box *box = hd_open(uri, proto);
	size_t k;

	if (!box)
		return;
	for (k = 0; k <= N_NAMES; k++) {
		char *bname, *lname;
		/* The hostile part first: a unique suffix keeps runs apart. */
		if (k < N_NAMES) {
			const char *h = hostile[name_pick[k]];
			bname = t_xasprintf("%s%s-%d", h, tag, (int)proto);
			lname = t_xasprintf("%sL%s-%d", h, tag, (int)proto);
		} else {
			char *b = long_string(LONG_NAME, 'B');
			char *l = long_string(LONG_NAME, 'L');
			bname = t_xasprintf("%s%s-%d", b, tag, (int)proto);
			lname = t_xasprintf("%s%s-%d", l, tag, (int)proto);
			free(b);
			free(l);
		}
		round_trip(box, bname, lname, strs, n);
		free(bname);
		free(lname);
	}
	sb_box_close(box);
}

int main(int argc, char **argv)
{
	const char *b = argc > 1 ? argv[1] : "";
	const hd_view *all[4] = { NULL, NULL, NULL, NULL };
	hd_lines before = { 0 }, after = { 0 };
	char **strs;
	char *uri;
	size_t i, n;
	sb_box *box;

#ifdef HD_WITH_SQLITE
	all[0] = &hd_view_sqlite;
#endif
#ifdef HD_WITH_PG
	all[1] = &hd_view_postgresql;
#endif
#ifdef HD_WITH_REDIS
	all[2] = &hd_view_redis;
#endif
#ifdef HD_WITH_DDB
	all[3] = &hd_view_dynamodb;
#endif
	for (i = 0; i < 4; i++)
		if (all[i] && strcmp(all[i]->name, b) == 0)
			view = all[i];
	if (!view) {
		fprintf(stderr,
		        "usage: hd_inject BACKEND [dir] (backend not "
		        "built or unknown: '%s')\n",
		        b);
		return 1;
	}
	snprintf(tag, sizeof tag, "%lx%ld", (long)time(NULL), (long)getpid());
	uri = view->box_uri(argc > 2 ? argv[2] : ".");
	/* The box's schema first, so only the run can change things. */
	if ((box = hd_open(uri, SB_PROTOCOL_AUTO)))
		CHECK_RC(box, sb_box_init(box, NULL, NULL), SB_OK);
	sb_box_close(box);
	view->setup();
	view->fingerprint(&before);
	hd_lines_sort(&before);
	printf("%s: %zu lines outside the box\n", view->name, before.n);

	n = N_HOSTILE + 2;
	strs = t_xcalloc(n, sizeof *strs);
	for (i = 0; i < N_HOSTILE; i++)
		strs[i] = t_xstrdup(hostile[i]);
	strs[N_HOSTILE] = long_string(view->long_len, 'a');
	strs[N_HOSTILE + 1] = long_string(view->long_len, 'z');
	run(uri, SB_PROTOCOL_AUTO, strs, n);
	printf("fused: %d checks failed so far\n", t_failed());
	run(uri, SB_PROTOCOL_GENERIC, strs, n);
	printf("generic: %d checks failed so far\n", t_failed());

	view->fingerprint(&after);
	hd_lines_sort(&after);
	CHECK(NULL, hd_lines_same(&before, &after, "outside the box"));
	view->cleanup();
	hd_lines_free(&before);
	hd_lines_free(&after);
	for (i = 0; i < n; i++)
		free(strs[i]);
	free(strs);
	free(uri);
	return t_summary();
}
