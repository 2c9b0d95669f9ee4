/* URI parsing: the forms every backend relies on, and malformed input. */
#include "internal.h"
#include "unit.h"

#include <stdlib.h>

static sb_uri *parse_ok(const char *text)
{
	char err[SB_ERRMSG_SIZE] = "";
	sb_uri *u = NULL;
	int rc = sb_uri_parse(&u, text, err, sizeof(err));

	if (rc != SB_OK)
		fprintf(stderr, "parse of '%s' failed: %s\n", text, err);
	CHECK(rc == SB_OK && u != NULL);
	return u;
}

static void good_forms(void)
{
	sb_uri *u;

	if ((u = parse_ok("sqlite:storagebox.db"))) {
		CHECK_STR(u->scheme, "sqlite");
		CHECK_STR(u->path, "storagebox.db");
		CHECK(!u->has_authority && !u->host && !u->password);
		CHECK(u->nparams == 0);
		sb_uri_free(u);
	}
	if ((u = parse_ok("sqlite:///abs/dir/x.db"))) {
		CHECK(u->has_authority);
		CHECK_STR(u->host, "");
		CHECK_STR(u->path, "/abs/dir/x.db");
		sb_uri_free(u);
	}
	if ((u = parse_ok("sqlite::memory:"))) {
		CHECK_STR(u->path, ":memory:");
		sb_uri_free(u);
	}
	if ((u = parse_ok("SQLite:x.db?synchronous=normal&lease=2.5"))) {
		CHECK_STR(u->scheme, "sqlite");
		CHECK(u->nparams == 2);
		CHECK_STR(sb_uri_param(u, "lease"), "2.5");
		CHECK_STR(sb_uri_unused(u), "synchronous");
		CHECK_STR(sb_uri_param(u, "synchronous"), "normal");
		CHECK(sb_uri_unused(u) == NULL);
		CHECK(sb_uri_param(u, "absent") == NULL);
		sb_uri_free(u);
	}
	if ((u = parse_ok("redis://:pa%40ss@cache.local:6380/2?timeout=5"))) {
		CHECK_STR(u->scheme, "redis");
		CHECK_STR(u->user, "");
		CHECK_STR(u->password, "pa@ss");
		CHECK_STR(u->host, "cache.local");
		CHECK(u->port == 6380);
		CHECK_STR(u->path, "/2");
		CHECK_STR(u->redacted, "redis://:***@cache.local:6380/2?timeout=5");
		CHECK(strstr(u->text, "pa%40ss") != NULL);
		sb_uri_free(u);
	}
	/* An unescaped '@' in a password: the last '@' ends the userinfo. */
	if ((u = parse_ok("postgresql://bob:p@ss@[::1]:5432/db"))) {
		CHECK_STR(u->user, "bob");
		CHECK_STR(u->password, "p@ss");
		CHECK_STR(u->host, "::1");
		CHECK(u->port == 5432);
		CHECK_STR(u->path, "/db");
		CHECK(strstr(u->redacted, "p@ss") == NULL);
		sb_uri_free(u);
	}
	if ((u = parse_ok("memory:"))) {
		CHECK_STR(u->path, "");
		sb_uri_free(u);
	}
	if ((u = parse_ok("memory:a%20b?k=%C3%A9%2B&&flag=&x=y"))) {
		CHECK_STR(u->path, "a b");
		CHECK_STR(sb_uri_param(u, "k"), "\xc3\xa9+");
		CHECK_STR(sb_uri_param(u, "flag"), "");
		CHECK_STR(sb_uri_param(u, "x"), "y");
		sb_uri_free(u);
	}
	if ((u = parse_ok("memory:x?a=1&a=2"))) { /* the last one wins */
		CHECK_STR(sb_uri_param(u, "a"), "2");
		CHECK(sb_uri_unused(u) == NULL);
		sb_uri_free(u);
	}
}

static void bad_forms(void)
{
	static const char *const bad[] = {
		"", "sqlite", "://x", "1abc:x", "sq lite:x", "sqlite:x#frag",
		"redis://h:99999", "redis://h:abc", "redis://h:", "redis://h:0",
		"sqlite:a?b", "sqlite:a?=1", "sqlite:%zz", "sqlite:%4",
		"sqlite:a%00b", "redis://[::1", "redis://[::1]x/", "sqlite:a\nb",
		"sqlite:a?k=%g0",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[SB_ERRMSG_SIZE] = "";
		sb_uri *u = (sb_uri *)1;
		int rc = sb_uri_parse(&u, bad[i], err, sizeof(err));
		if (rc != SB_EURI)
			fprintf(stderr, "'%s' parsed (rc %d)\n", bad[i], rc);
		CHECK(rc == SB_EURI);
		CHECK(u == NULL);
		CHECK(err[0] != '\0');
	}
	{
		char err[SB_ERRMSG_SIZE] = "";
		sb_uri *u = NULL;
		CHECK(sb_uri_parse(&u, NULL, err, sizeof(err)) == SB_EURI);
	}
}

/* A malformed URI with a password never echoes the password. */
static void no_secret_in_messages(void)
{
	static const char *const bad[] = {
		"redis://u:s3cretpw@h:bad/", "redis://u:s3cretpw@[::1/",
		"redis://u:s3cretpw@h/x%zz", "redis://u:s3cretpw@h/x?=s3cretpw",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[SB_ERRMSG_SIZE] = "";
		sb_uri *u = NULL;
		CHECK(sb_uri_parse(&u, bad[i], err, sizeof(err)) == SB_EURI);
		CHECK(strstr(err, "s3cret") == NULL);
	}
	{
		char err[SB_ERRMSG_SIZE] = "";
		sb_box *box = NULL;
		int rc = sb_box_open(&box, "nosuch://u:s3cretpw@h/x", NULL, err,
		                     sizeof(err));
		CHECK(rc == SB_EURI && box == NULL);
		CHECK(strstr(err, "s3cret") == NULL);
		CHECK(strstr(err, "nosuch") != NULL);
	}
}

int main(void)
{
	good_forms();
	bad_forms();
	no_secret_in_messages();
	return unit_done();
}
