/* Bad input: a clear negative code, a message, and no change to data.
 * Open errors: store independent. */
#include "conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	sb_stats st;
	size_t exported;
} snap;

static int count_cb(const char *id, const char *bank, const char *item,
                    void *payload)
{
	(void)id;
	(void)bank;
	(void)item;
	(*(size_t *)payload)++;
	return 0;
}

static void take_snap(snap *s, sb_box *box, const char *bank,
                      const char *ledger)
{
	memset(s, 0, sizeof *s);
	CHECK_RC(box, sb_box_stats(&s->st, box, bank, ledger), SB_OK);
	CHECK_RC(box, sb_box_export(box, ledger, count_cb, &s->exported),
	         SB_OK);
}

/* The message of the last expect_bad() (snapshots may clear the box's). */
static char last_err[SB_ERRMSG_SIZE];

/* rc must be @p want, with a message; and nothing changed. */
static void expect_bad_(sb_box *box, int rc, int want, const char *what,
                        const char *bank, const char *ledger,
                        const snap *before, const char *file, int line)
{
	char expr[160];
	snprintf(expr, sizeof expr, "bad input: %s", what);
	t_check_rc(box, file, line, expr, rc, want);
	const char *em = sb_box_errmsg(box);
	t_check(em && em[0] != '\0', NULL, file, line, expr,
	        "no error message");
	snprintf(last_err, sizeof last_err, "%s", em ? em : "");
	snap after;
	take_snap(&after, box, bank, ledger);
	t_check(memcmp(&before->st, &after.st, sizeof after.st) == 0 &&
	                before->exported == after.exported,
	        box, file, line, expr,
	        "data changed: available %llu->%llu assigned %llu->%llu "
	        "exported %zu->%zu",
	        (unsigned long long)before->st.available,
	        (unsigned long long)after.st.available,
	        (unsigned long long)before->st.assigned,
	        (unsigned long long)after.st.assigned, before->exported,
	        after.exported);
}
#define expect_bad(rc, want, what)                                    \
	expect_bad_(box, (rc), (want), (what), bank, ledger, &before, \
	            __FILE__, __LINE__)

/* Fetch that must fail; also checks *out is NULL afterwards. */
static int bad_fetch(sb_box *box, const char *bank, const char *ledger,
                     const char *id)
{
	sb_item *it = (sb_item *)&it;
	int rc = sb_box_fetch(&it, box, bank, ledger, id);
	if (rc == SB_OK)
		sb_item_free(it);
	else
		CHECKF(box, it == NULL, "out not NULL after %d", rc);
	return rc;
}

void case_bad_input(void)
{
	sb_box *box = conf_open();
	if (!box)
		return;
	char *bank = conf_name("bad");
	char *ledger = conf_name("bad-ledger");
	const char *seed_items[] = { "s1", "s2", "s3" };
	conf_add(box, bank, seed_items, 3, 3, 0);
	char *held = conf_fetch_ok(box, bank, ledger, "holder", NULL, NULL);
	free(held);
	snap before;
	take_snap(&before, box, bank, ledger);

	size_t toolong_len = SB_MAX_VALUE_LEN + 1;
	char *toolong = t_xmalloc(toolong_len + 1);
	memset(toolong, 'x', toolong_len);
	toolong[toolong_len] = '\0';

	/* Bad ids. */
	static const struct {
		const char *s;
		const char *what;
	} bad[] = {
		{ "", "empty" },
		{ "a\nb", "LF inside" },
		{ "\n", "LF only" },
		{ "ab\n", "trailing LF" },
		{ "a\rb", "CR inside" },
		{ "ab\r", "trailing CR" },
		{ "\xff", "invalid UTF-8 byte" },
		{ "ok\xc3", "truncated UTF-8" },
		{ "\xc0\xaf", "overlong UTF-8" },
		{ "\xed\xa0\x80", "UTF-16 surrogate" },
		{ "\xf4\x90\x80\x80", "beyond U+10FFFF" },
		{ "\x80", "lone continuation byte" },
	};
	size_t nbad = sizeof bad / sizeof bad[0];
	char what[96];
	expect_bad(bad_fetch(box, bank, ledger, NULL), SB_EINVALID, "NULL id");
	expect_bad(bad_fetch(box, bank, ledger, toolong), SB_EINVALID,
	           "id of SB_MAX_VALUE_LEN+1 bytes");
	for (size_t i = 0; i < nbad; i++) {
		snprintf(what, sizeof what, "id: %s", bad[i].what);
		expect_bad(bad_fetch(box, bank, ledger, bad[i].s), SB_EINVALID,
		           what);
		snprintf(what, sizeof what, "bank: %s", bad[i].what);
		expect_bad(bad_fetch(box, bad[i].s, ledger, "fresh-id"),
		           SB_EINVALID, what);
		snprintf(what, sizeof what, "ledger: %s", bad[i].what);
		expect_bad(bad_fetch(box, bank, bad[i].s, "fresh-id"),
		           SB_EINVALID, what);
		sb_item *it = (sb_item *)&it;
		snprintf(what, sizeof what, "lookup id: %s", bad[i].what);
		expect_bad(sb_box_lookup(&it, box, ledger, bad[i].s),
		           SB_EINVALID, what);
		CHECK(box, it == NULL);
	}
	expect_bad(bad_fetch(box, NULL, ledger, "fresh-id"), SB_EINVALID,
	           "NULL bank");
	expect_bad(bad_fetch(box, bank, NULL, "fresh-id"), SB_EINVALID,
	           "NULL ledger");
	expect_bad(bad_fetch(box, toolong, ledger, "fresh-id"), SB_EINVALID,
	           "bank too long");
	expect_bad(sb_box_fetch(NULL, box, bank, ledger, "fresh-id"),
	           SB_EINVALID, "NULL out");
	sb_item *it = (sb_item *)&it;
	expect_bad(sb_box_lookup(&it, box, ledger, NULL), SB_EINVALID,
	           "lookup NULL id");
	CHECK(box, it == NULL);
	it = (sb_item *)&it;
	expect_bad(sb_box_lookup(&it, box, NULL, "holder"), SB_EINVALID,
	           "lookup NULL ledger");
	expect_bad(sb_box_lookup(NULL, box, ledger, "holder"), SB_EINVALID,
	           "lookup into NULL");

	/* Bad items: the whole batch is refused, nothing added. */
	const char *batch_lf[] = { "good-1", "bad\nitem", "good-2" };
	expect_bad(sb_box_add(NULL, box, bank, batch_lf, 3), SB_EINVALID,
	           "item with LF in a batch");
	const char *batch_cr[] = { "good-1", "good-2", "bad\r" };
	expect_bad(sb_box_add(NULL, box, bank, batch_cr, 3), SB_EINVALID,
	           "item with CR at the end of a batch");
	const char *batch_null[] = { "good-1", NULL };
	expect_bad(sb_box_add(NULL, box, bank, batch_null, 2), SB_EINVALID,
	           "NULL item in a batch");
	const char *batch_long[] = { "good-1", toolong };
	expect_bad(sb_box_add(NULL, box, bank, batch_long, 2), SB_EINVALID,
	           "item of SB_MAX_VALUE_LEN+1 bytes");
	for (size_t i = 0; i < nbad; i++) {
		const char *batch[] = { "good-1", bad[i].s, "good-2" };
		snprintf(what, sizeof what, "item: %s", bad[i].what);
		sb_add_result res = { 77, 77 };
		expect_bad(sb_box_add(&res, box, bank, batch, 3), SB_EINVALID,
		           what);
		snprintf(what, sizeof what, "add to bank: %s", bad[i].what);
		const char *one[] = { "good-1" };
		expect_bad(sb_box_add(NULL, box, bad[i].s, one, 1), SB_EINVALID,
		           what);
	}
	const char *one[] = { "good-1" };
	expect_bad(sb_box_add(NULL, box, NULL, one, 1), SB_EINVALID,
	           "add to NULL bank");
	expect_bad(sb_box_add(NULL, box, bank, NULL, 1), SB_EINVALID,
	           "NULL items with n=1");

	/* Other calls with NULL arguments. */
	sb_stats st;
	expect_bad(sb_box_stats(&st, box, NULL, NULL), SB_EINVALID,
	           "stats of NULL bank");
	expect_bad(sb_box_stats(NULL, box, bank, NULL), SB_EINVALID,
	           "stats into NULL");
	expect_bad(sb_box_stats(&st, box, bank, "l\n"), SB_EINVALID,
	           "stats with a bad ledger name");
	size_t cnt = 0;
	expect_bad(sb_box_export(box, NULL, count_cb, &cnt), SB_EINVALID,
	           "export of NULL ledger");
	expect_bad(sb_box_export(box, ledger, NULL, NULL), SB_EINVALID,
	           "export without callback");
	CHECK(box, cnt == 0);
	expect_bad(sb_box_recover(NULL, box, NULL, ledger, NULL), SB_EINVALID,
	           "recover NULL bank");
	expect_bad(sb_box_recover(NULL, box, bank, "\xff", NULL), SB_EINVALID,
	           "recover bad ledger");

	/* Missing bank: not found, and the message names it. */
	char *ghost = conf_name("never-created");
	expect_bad(bad_fetch(box, ghost, ledger, "fresh-id"), SB_ENOTFOUND,
	           "fetch from a missing bank");
	CHECKF(box, t_contains(last_err, ghost),
	       "message does not name bank '%s'", ghost);
	expect_bad(sb_box_stats(&st, box, ghost, NULL), SB_ENOTFOUND,
	           "stats of a missing bank");
	CHECKF(box, t_contains(last_err, ghost),
	       "message does not name bank '%s'", ghost);
	expect_bad(sb_box_stats(&st, box, ghost, ledger), SB_ENOTFOUND,
	           "stats of a missing bank with ledger");
	/* Asking did not create it. */
	expect_bad(sb_box_stats(&st, box, ghost, NULL), SB_ENOTFOUND,
	           "missing bank still missing");
	it = (sb_item *)&it;
	expect_bad(sb_box_lookup(&it, box, ledger, "fresh-id"), SB_ENOTFOUND,
	           "failed fetches recorded nothing");
	free(ghost);

	/* The box still works after all that, and nothing was added. */
	char *v = conf_fetch_ok(box, bank, ledger, "holder", NULL, NULL);
	free(v);
	const char *goods[] = { "good-1", "good-2" };
	conf_add(box, bank, goods, 2, 2, 0);
	CHECK(box, sb_box_errmsg(box) != NULL);

	/* NULL handles: an error, never a crash. */
	CHECK(box, sb_box_fetch(&it, NULL, bank, ledger, "x") < 0);
	CHECK(box, sb_box_add(NULL, NULL, bank, one, 1) < 0);
	CHECK(box, sb_box_stats(&st, NULL, bank, NULL) < 0);
	sb_box_close(NULL);
	sb_item_free(NULL);

	free(toolong);
	free(ledger);
	free(bank);
	sb_box_close(box);
}

/* Open must fail with @p want, leave *out NULL and explain why. */
static void expect_open_fail_(const char *uri, const char *ledger_uri, int want,
                              char *err, size_t errlen, const char *file,
                              int line)
{
	sb_open_opts o = SB_OPEN_OPTS_INIT;
	o.ledger_uri = ledger_uri;
	sb_box *box = (sb_box *)&box;
	memset(err, 0, errlen);
	int rc = sb_box_open(&box, uri, &o, err, errlen);
	char expr[200];
	snprintf(expr, sizeof expr, "open '%.80s' ledger '%.60s'",
	         uri ? uri : "(NULL)", ledger_uri ? ledger_uri : "-");
	t_check_rc(NULL, file, line, expr, rc, want);
	t_check(box == NULL, NULL, file, line, expr, "out not NULL");
	if (rc == SB_OK)
		sb_box_close(box);
	t_check(err[0] != '\0', NULL, file, line, expr, "no message");
	t_check(!t_contains(err, "s3cretpw"), NULL, file, line, expr,
	        "message shows the password: %s", err);
}
#define expect_open_fail(uri, luri, want)                                   \
	expect_open_fail_((uri), (luri), (want), err, sizeof err, __FILE__, \
	                  __LINE__)

void case_open_errors(void)
{
	char err[SB_ERRMSG_SIZE];

	CHECK(NULL, strcmp(sb_version(), SB_VERSION_STRING) == 0);
	static const int codes[] = {
		SB_OK,        SB_EMPTY,    SB_ERROR,         SB_ENOTFOUND,
		SB_ECONFLICT, SB_EURI,     SB_ENOTSUPPORTED, SB_EBACKEND,
		SB_ETIMEOUT,  SB_EINVALID, SB_ENOMEM,        SB_EBUSY,
		SB_ECONNECT,  SB_EAUTH
	};
	size_t nc = sizeof codes / sizeof codes[0];
	for (size_t i = 0; i < nc; i++) {
		const char *s = sb_strerror(codes[i]);
		CHECKF(NULL, s && *s, "sb_strerror(%d)", codes[i]);
		for (size_t j = 0; j < i && s; j++)
			CHECKF(NULL, strcmp(s, sb_strerror(codes[j])) != 0,
			       "codes %d and %d share '%s'", codes[i], codes[j],
			       s);
	}
	CHECK(NULL, sb_strerror(-12345) && *sb_strerror(-12345));

	/* The scheme list: every name, and the count even when clipped. */
	size_t n = sb_backend_list(NULL, 0);
	CHECK(NULL, n >= 1);
	const char **names = t_xcalloc(n + 1, sizeof *names);
	CHECK(NULL, sb_backend_list(names, n + 1) == n);
	int has_memory = 0;
	for (size_t i = 0; i < n; i++) {
		CHECK(NULL, names[i] && *names[i]);
		has_memory |= names[i] && strcmp(names[i], "memory") == 0;
	}
	CHECK(NULL, has_memory);
	if (n > 1) {
		const char *first = NULL;
		CHECK(NULL, sb_backend_list(&first, 1) == n);
		CHECK(NULL, first && strcmp(first, names[0]) == 0);
	}

	expect_open_fail("nosuch://x", NULL, SB_EURI);
	CHECKF(NULL, t_contains(err, "nosuch"), "'%s' names not the scheme",
	       err);
	for (size_t i = 0; i < n; i++)
		CHECKF(NULL, t_contains(err, names[i]),
		       "'%s' does not list scheme %s", err, names[i]);

	expect_open_fail("", NULL, SB_EURI);
	expect_open_fail("sqlite", NULL, SB_EURI);
	expect_open_fail("://x", NULL, SB_EURI);
	expect_open_fail(":", NULL, SB_EURI);
	expect_open_fail("memory:x?lease=abc", NULL, SB_EURI);
	CHECKF(NULL, t_contains(err, "lease"), "'%s' names not the option",
	       err);
	expect_open_fail("memory:x?bogus=1", NULL, SB_EURI);
	CHECKF(NULL, t_contains(err, "bogus"), "'%s' names not the option",
	       err);
	expect_open_fail("nosuch://user:s3cretpw@host/x", NULL, SB_EURI);
	expect_open_fail("memory://user:s3cretpw@host/x?bogus=1", NULL,
	                 SB_EURI);

	/* The same option errors on the store under test. */
	const char *sep = strchr(conf.uri, '?') ? "&" : "?";
	char *u = t_xasprintf("%s%sbogus_opt=1", conf.uri, sep);
	expect_open_fail(u, NULL, SB_EURI);
	CHECKF(NULL, t_contains(err, "bogus_opt"), "'%s'", err);
	free(u);
	u = t_xasprintf("%s%slease=abc", conf.uri, sep);
	expect_open_fail(u, NULL, SB_EURI);
	free(u);
	expect_open_fail(conf.uri, "nosuch://y", SB_EURI);
	expect_open_fail(conf.uri, "memory:y?bogus=1", SB_EURI);

	/* No out pointer, no buffer, a tiny buffer: an error, no crash. */
	CHECK(NULL, sb_box_open(NULL, conf.uri, NULL, NULL, 0) < 0);
	sb_box *box = (sb_box *)&box;
	CHECK(NULL, sb_box_open(&box, "nosuch://x", NULL, NULL, 0) == SB_EURI);
	CHECK(NULL, box == NULL);
	char tiny[8];
	memset(tiny, 'Q', sizeof tiny);
	box = (sb_box *)&box;
	CHECK(NULL, sb_box_open(&box, "nosuch://x", NULL, tiny, sizeof tiny) ==
	                    SB_EURI);
	CHECK(NULL, memchr(tiny, '\0', sizeof tiny) != NULL);
	box = (sb_box *)&box;
	int rc = sb_box_open(&box, NULL, NULL, err, sizeof err);
	CHECKF(NULL, rc == SB_EINVALID || rc == SB_EURI, "NULL uri: %d", rc);
	CHECK(NULL, box == NULL && err[0] != '\0');

	/* And the store under test opens with default options. */
	box = NULL;
	err[0] = '\0';
	rc = sb_box_open(&box, conf.uri, NULL, err, sizeof err);
	CHECKF(NULL, rc == SB_OK && box, "%d %s", rc, err);
	if (box) {
		CHECK(box, sb_box_errmsg(box) && sb_box_errmsg(box)[0] == '\0');
		sb_box_close(box);
	}
	free(names);
}
