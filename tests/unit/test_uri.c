/* URI parsing: the forms every backend relies on, and malformed input. */
#include "internal.h"
#include "../common/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sb_uri *parse_ok(const char *text)
{
	char err[SB_ERRMSG_SIZE] = "";
	sb_uri *u = NULL;
	int rc = sb_uri_parse(&u, text, err, sizeof(err));

	if (rc != SB_OK)
		fprintf(stderr, "parse of '%s' failed: %s\n", text, err);
	CHECK(NULL, rc == SB_OK && u != NULL);
	return u;
}

static void good_forms(void)
{
	sb_uri *u;

	if ((u = parse_ok("sqlite:storagebox.db"))) {
		CHECK_STR(NULL, u->scheme, "sqlite");
		CHECK_STR(NULL, u->path, "storagebox.db");
		CHECK(NULL, !u->has_authority && !u->host && !u->password);
		CHECK(NULL, u->nparams == 0);
		sb_uri_free(u);
	}
	if ((u = parse_ok("sqlite:///abs/dir/x.db"))) {
		CHECK(NULL, u->has_authority);
		CHECK_STR(NULL, u->host, "");
		CHECK_STR(NULL, u->path, "/abs/dir/x.db");
		sb_uri_free(u);
	}
	if ((u = parse_ok("sqlite::memory:"))) {
		CHECK_STR(NULL, u->path, ":memory:");
		sb_uri_free(u);
	}
	if ((u = parse_ok("SQLite:x.db?synchronous=normal&lease=2.5"))) {
		CHECK_STR(NULL, u->scheme, "sqlite");
		CHECK(NULL, u->nparams == 2);
		CHECK_STR(NULL, sb_uri_param(u, "lease"), "2.5");
		CHECK_STR(NULL, sb_uri_unused(u), "synchronous");
		CHECK_STR(NULL, sb_uri_param(u, "synchronous"), "normal");
		CHECK(NULL, sb_uri_unused(u) == NULL);
		CHECK(NULL, sb_uri_param(u, "absent") == NULL);
		sb_uri_free(u);
	}
	if ((u = parse_ok("redis://:pa%40ss@cache.local:6380/2?timeout=5"))) {
		CHECK_STR(NULL, u->scheme, "redis");
		CHECK_STR(NULL, u->user, "");
		CHECK_STR(NULL, u->password, "pa@ss");
		CHECK_STR(NULL, u->host, "cache.local");
		CHECK(NULL, u->port == 6380);
		CHECK_STR(NULL, u->path, "/2");
		CHECK_STR(NULL, u->redacted,
		          "redis://:***@cache.local:6380/2?timeout=5");
		CHECK(NULL, strstr(u->text, "pa%40ss") != NULL);
		sb_uri_free(u);
	}
	/* An unescaped '@' in a password: the last '@' ends the userinfo. */
	if ((u = parse_ok("postgresql://bob:p@ss@[::1]:5432/db"))) {
		CHECK_STR(NULL, u->user, "bob");
		CHECK_STR(NULL, u->password, "p@ss");
		CHECK_STR(NULL, u->host, "::1");
		CHECK(NULL, u->port == 5432);
		CHECK_STR(NULL, u->path, "/db");
		CHECK(NULL, strstr(u->redacted, "p@ss") == NULL);
		sb_uri_free(u);
	}
	if ((u = parse_ok("memory:"))) {
		CHECK_STR(NULL, u->path, "");
		sb_uri_free(u);
	}
	if ((u = parse_ok("memory:a%20b?k=%C3%A9%2B&&flag=&x=y"))) {
		CHECK_STR(NULL, u->path, "a b");
		CHECK_STR(NULL, sb_uri_param(u, "k"), "\xc3\xa9+");
		CHECK_STR(NULL, sb_uri_param(u, "flag"), "");
		CHECK_STR(NULL, sb_uri_param(u, "x"), "y");
		sb_uri_free(u);
	}
	if ((u = parse_ok("memory:x?a=1&a=2"))) { /* the last one wins */
		CHECK_STR(NULL, sb_uri_param(u, "a"), "2");
		CHECK(NULL, sb_uri_unused(u) == NULL);
		sb_uri_free(u);
	}
}

static void bad_forms(void)
{
	static const char *const bad[] = {
		"",
		"sqlite",
		"://x",
		"1abc:x",
		"sq lite:x",
		"sqlite:x#frag",
		"redis://h:99999",
		"redis://h:abc",
		"redis://h:",
		"redis://h:0",
		"sqlite:a?b",
		"sqlite:a?=1",
		"sqlite:%zz",
		"sqlite:%4",
		"sqlite:a%00b",
		"redis://[::1",
		"redis://[::1]x/",
		"sqlite:a\nb",
		"sqlite:a?k=%g0",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[SB_ERRMSG_SIZE] = "";
		sb_uri *u = (sb_uri *)1;
		int rc = sb_uri_parse(&u, bad[i], err, sizeof(err));
		if (rc != SB_EURI)
			fprintf(stderr, "'%s' parsed (rc %d)\n", bad[i], rc);
		CHECK(NULL, rc == SB_EURI);
		CHECK(NULL, u == NULL);
		CHECK(NULL, err[0] != '\0');
	}
	{
		char err[SB_ERRMSG_SIZE] = "";
		sb_uri *u = NULL;
		CHECK(NULL,
		      sb_uri_parse(&u, NULL, err, sizeof(err)) == SB_EURI);
	}
}

/* A malformed URI with a password never echoes the password. */
static void no_secret_in_messages(void)
{
	static const char *const bad[] = {
		"redis://u:s3cretpw@h:bad/",
		"redis://u:s3cretpw@[::1/",
		"redis://u:s3cretpw@h/x%zz",
		"redis://u:s3cretpw@h/x?=s3cretpw",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[SB_ERRMSG_SIZE] = "";
		sb_uri *u = NULL;
		CHECK(NULL,
		      sb_uri_parse(&u, bad[i], err, sizeof(err)) == SB_EURI);
		CHECK(NULL, strstr(err, "s3cret") == NULL);
	}
	{
		char err[SB_ERRMSG_SIZE] = "";
		sb_box *box = NULL;
		int rc = sb_box_open(&box, "nosuch://u:s3cretpw@h/x", NULL, err,
		                     sizeof(err));
		CHECK(NULL, rc == SB_EURI && box == NULL);
		CHECK(NULL, strstr(err, "s3cret") == NULL);
		CHECK(NULL, strstr(err, "nosuch") != NULL);
	}
}

int main(void)
{
	good_forms();
	bad_forms();
	no_secret_in_messages();
	return t_summary();
}
