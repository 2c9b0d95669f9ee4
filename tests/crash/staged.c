/* Deterministic put-back paths of the generic protocol, staged with two
 * SQLite stores (no knowledge of the schema) and the fault barriers:
 *  - a client takes an item, then finds the id recorded by another client
 *    with an item of another bank and dies before putting its item back
 *    (before_put_back);
 *  - a client dies after its take, another records the id with another
 *    item; recovery must put the first item back. */
#include "crash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Run the CLI on another pair of stores. */
static int run_on(const char *uri, const char *const *args, const char *fault,
                  char **out, char **err)
{
	char *saved = cenv.uri;
	cenv.uri = (char *)uri;
	int status = cli_run(args, fault, NULL, NULL, out, err);
	cenv.uri = saved;
	return status;
}

static char *trim(char *s)
{
	size_t n = strlen(s);
	if (n && s[n - 1] == '\n')
		s[n - 1] = '\0';
	return s;
}

static void remove_db(const char *path)
{
	const char *sfx[] = { "", "-wal", "-shm", "-journal" };
	for (size_t i = 0; i < 4; i++) {
		char *f = t_xasprintf("%s%s", path, sfx[i]);
		unlink(f);
		free(f);
	}
}

typedef struct {
	char *bank_db, *ledger_db, *other_db;
	char *bank_uri, *other_uri, *ledger_uri;
} stores;

static void stores_init(stores *s)
{
	s->bank_db = t_xasprintf("%s/crash-staged-bank.db", cenv.dir);
	s->ledger_db = t_xasprintf("%s/crash-staged-ledger.db", cenv.dir);
	s->other_db = t_xasprintf("%s/crash-staged-other.db", cenv.dir);
	remove_db(s->bank_db);
	remove_db(s->ledger_db);
	remove_db(s->other_db);
	s->bank_uri = t_xasprintf("sqlite:%s", s->bank_db);
	s->other_uri = t_xasprintf("sqlite:%s", s->other_db);
	s->ledger_uri = t_xasprintf("sqlite:%s", s->ledger_db);
}

static void stores_free(stores *s)
{
	free(s->bank_db);
	free(s->ledger_db);
	free(s->other_db);
	free(s->bank_uri);
	free(s->other_uri);
	free(s->ledger_uri);
}

static void add_items(const char *uri, const char *bank, const char *data)
{
	const char *args[] = { "add", bank, "-", NULL };
	char *saved = cenv.uri;
	cenv.uri = (char *)uri;
	char *out = NULL, *err = NULL;
	int status = cli_run(args, NULL, NULL, data, &out, &err);
	cenv.uri = saved;
	CHECKF(NULL, exited_with(status, 0), "staged add: %s: %s",
	       status_str(status), err);
	free(out);
	free(err);
}

/* Both staged scenarios share the bank "sb" (3 items) in bank.db, the
 * bank "zb" (6 items) in other.db and the ledger "L" in ledger.db. Here A
 * takes from sb and is held until B has recorded the id with an item of
 * zb; A then dies before putting its item back. */
static void before_put_back(const stores *s)
{
	const char *a_args[] = {
		"--ledger-uri", s->ledger_uri, "fetch", "sb", "L", "twin", NULL
	};
	const char *b_args[] = {
		"--ledger-uri", s->ledger_uri, "fetch", "zb", "L", "twin", NULL
	};
	char *zitem = twins_forced(s->bank_uri, a_args, s->other_uri, b_args,
	                           "staged");
	if (!zitem)
		return;
	/* A's item is still reserved in bank sb. */
	cli_stats st;
	char *saved = cenv.uri;
	cenv.uri = s->bank_uri;
	if (cli_get_stats(&st, "sb", NULL) == 0)
		CHECKF(NULL,
		       st.reserved == 1 && st.available + st.reserved == 3,
		       "before_put_back: reserved %llu available %llu",
		       st.reserved, st.available);
	cenv.uri = saved;
	/* Recovery finds the id holding zb's item: put back. */
	const char *r_args[] = { "--ledger-uri", s->ledger_uri, "recover",
		                 "sb",           "L",           NULL };
	char *rout = NULL, *rerr = NULL;
	int rs = run_on(s->bank_uri, r_args, NULL, &rout, &rerr);
	CHECKF(NULL,
	       exited_with(rs, 0) &&
	               strcmp(trim(rout), "settled 0, put back 1") == 0,
	       "recover after before_put_back: %s '%s' %s", status_str(rs),
	       rout, rerr);
	free(rout);
	free(rerr);
	cenv.uri = s->bank_uri;
	if (cli_get_stats(&st, "sb", NULL) == 0)
		CHECKF(NULL,
		       st.reserved == 0 && st.available == 3 && st.assigned == 0,
		       "after put back: available %llu "
		       "reserved %llu assigned %llu",
		       st.available, st.reserved, st.assigned);
	cenv.uri = saved;
	/* The id's answer from bank sb is zb's item. */
	const char *f_args[] = {
		"--ledger-uri", s->ledger_uri, "fetch", "sb", "L", "twin", NULL
	};
	char *fout = NULL, *ferr = NULL;
	int fs = run_on(s->bank_uri, f_args, NULL, &fout, &ferr);
	CHECKF(NULL, exited_with(fs, 0) && strcmp(trim(fout), zitem) == 0,
	       "after put back: twin gets '%s', holds '%s'", fout, zitem);
	free(fout);
	free(ferr);
	free(zitem);
}

/* Dies after take; the id is then recorded elsewhere; recover puts the
 * reserved item back. */
static void recover_puts_back(const stores *s)
{
	const char *a_args[] = {
		"--ledger-uri", s->ledger_uri, "fetch", "sb", "L", "late", NULL
	};
	char *out = NULL, *err = NULL;
	int st_a = run_on(s->bank_uri, a_args, "after_take", &out, &err);
	CHECKF(NULL, exited_with(st_a, CRASH_POINT_DEATH), "after_take: %s: %s",
	       status_str(st_a), err);
	free(out);
	free(err);
	const char *b_args[] = {
		"--ledger-uri", s->ledger_uri, "fetch", "zb", "L", "late", NULL
	};
	int st_b = run_on(s->other_uri, b_args, NULL, &out, &err);
	CHECKF(NULL, exited_with(st_b, 0), "record elsewhere: %s: %s",
	       status_str(st_b), err);
	char *zitem = t_xstrdup(trim(out));
	free(out);
	free(err);
	const char *r_args[] = { "--ledger-uri", s->ledger_uri, "recover",
		                 "sb",           "L",           NULL };
	int rs = run_on(s->bank_uri, r_args, NULL, &out, &err);
	CHECKF(NULL,
	       exited_with(rs, 0) &&
	               strcmp(trim(out), "settled 0, put back 1") == 0,
	       "recover: %s '%s' %s", status_str(rs), out, err);
	free(out);
	free(err);
	cli_stats st;
	char *saved = cenv.uri;
	cenv.uri = s->bank_uri;
	if (cli_get_stats(&st, "sb", NULL) == 0)
		CHECKF(NULL, st.reserved == 0 && st.available == 3,
		       "after recover: available %llu reserved %llu",
		       st.available, st.reserved);
	cenv.uri = saved;
	int fs = run_on(s->bank_uri, a_args, NULL, &out, &err);
	CHECKF(NULL, exited_with(fs, 0) && strcmp(trim(out), zitem) == 0,
	       "late gets '%s', holds '%s'", out, zitem);
	free(out);
	free(err);
	free(zitem);
}

void crash_staged(void)
{
	stores s;
	stores_init(&s);
	add_items(s.bank_uri, "sb", "s1\ns2\ns3\n");
	add_items(s.other_uri, "zb", "z1\nz2\nz3\nz4\nz5\nz6\n");
	recover_puts_back(&s);
	before_put_back(&s);
	stores_free(&s);
}
