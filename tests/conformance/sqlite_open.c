/* SQLite-specific open checks, kept out of the store-independent
 * conformance suite: paths, URI forms and the backend's own options.
 * usage: sqlite_open SCRATCH_DIR */
#include "../common/tcommon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int try_open(sb_box **box, const char *uri, char *err, size_t n)
{
	*box = NULL;
	err[0] = '\0';
	return sb_box_open(box, uri, NULL, err, n);
}

static void expect_fail(const char *uri, int want, const char *needle)
{
	char err[SB_ERRMSG_SIZE];
	sb_box *box;
	int rc = try_open(&box, uri, err, sizeof err);
	if (want)
		CHECKF(NULL, rc == want, "%s: got %d (%s), want %d", uri, rc,
		       err, want);
	else
		CHECKF(NULL, rc < 0, "%s: got %d", uri, rc);
	CHECKF(NULL, box == NULL, "%s: box set on failure", uri);
	CHECKF(NULL, err[0] != '\0', "%s: no message", uri);
	if (needle)
		CHECKF(NULL, t_contains(err, needle),
		       "%s: message '%s' does "
		       "not mention '%s'",
		       uri, err, needle);
	if (rc == SB_OK)
		sb_box_close(box);
}

/* Open, add, fetch: the store works. */
static void expect_works(const char *uri)
{
	char err[SB_ERRMSG_SIZE];
	sb_box *box;
	int rc = try_open(&box, uri, err, sizeof err);
	if (!CHECKF(NULL, rc == SB_OK && box, "%s: %d %s", uri, rc, err))
		return;
	const char *items[] = { "one" };
	sb_add_result res = { 0, 0 };
	CHECK_RC(box, sb_box_add(&res, box, "b", items, 1), SB_OK);
	sb_item *it = NULL;
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "l", "id"), SB_OK);
	CHECK(box, it && strcmp(sb_item_value(it), "one") == 0);
	sb_item_free(it);
	sb_box_close(box);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
		return 2;
	}
	char *dir = t_xasprintf("%s/sqlite-open-XXXXXX", argv[1]);
	if (!mkdtemp(dir)) {
		perror(dir);
		return 1;
	}

	/* A path that cannot be created: an error naming the path. */
	expect_fail("sqlite:/nonexistent-dir/x.db", 0, "/nonexistent-dir/x.db");
	expect_fail("sqlite:///nonexistent-dir/x.db", 0,
	            "/nonexistent-dir/x.db");
	/* A directory is not a database. */
	char *u = t_xasprintf("sqlite:%s", dir);
	expect_fail(u, 0, NULL);
	free(u);

	/* The backend's options are checked. */
	const char *bad_opts[] = { "synchronous=sometimes", "busy_timeout=abc",
		                   "busy_timeout=-5", "lease=abc", "bogus=1" };
	for (size_t i = 0; i < sizeof bad_opts / sizeof bad_opts[0]; i++) {
		u = t_xasprintf("sqlite:%s/opt.db?%s", dir, bad_opts[i]);
		char key[32];
		snprintf(key, sizeof key, "%.*s",
		         (int)strcspn(bad_opts[i], "="), bad_opts[i]);
		expect_fail(u, SB_EURI, key);
		free(u);
	}

	/* Every documented form works. */
	u = t_xasprintf("sqlite:%s/rel.db?synchronous=normal&busy_timeout=2000"
	                "&lease=3",
	                dir);
	expect_works(u);
	free(u);
	u = t_xasprintf("sqlite:%s/full.db?synchronous=full", dir);
	expect_works(u);
	free(u);
	u = t_xasprintf("sqlite://%s/abs.db", dir);
	expect_works(u);
	free(u);
	char *path = t_xasprintf("%s/abs.db", dir);
	CHECKF(NULL, access(path, F_OK) == 0, "sqlite:// did not create %s",
	       path);
	free(path);
	expect_works("sqlite::memory:");

	/* Clean up the scratch dir. */
	const char *names[] = { "rel.db", "full.db", "abs.db", "opt.db" };
	const char *sfx[] = { "", "-wal", "-shm", "-journal" };
	for (size_t i = 0; i < 4; i++)
		for (size_t j = 0; j < 4; j++) {
			char *f = t_xasprintf("%s/%s%s", dir, names[i], sfx[j]);
			unlink(f);
			free(f);
		}
	rmdir(dir);
	free(dir);
	return t_summary();
}
