/* before_put_back on any store, generic path, in a forced order: twins
 * (two processes fetching one id, both armed with the point) meet at
 * after_take through the fault barriers (SB_FAULT_MARK / SB_FAULT_WAIT,
 * see sb_fault_point): B records the id with its item while A, which took
 * an item too, is held; A then finds the id recorded with another item and
 * dies before putting its item back, in every round, however busy the
 * machine. Then the dead twins' items are reserved, recovery puts each
 * back, and every round's id holds the item its survivor was given. Last,
 * a barrier that cannot hold ends the process with a clear error. */
#include "crash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS     3
#define RACE_ITEMS (2 * ROUNDS + 2)

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
}

static int start_on(cli_proc *p, const char *uri, const char *const *args,
                    const char *const *env, int slot)
{
	char *saved = cenv.uri;
	if (uri)
		cenv.uri = (char *)uri;
	int rc = cli_start_env(p, args, env, "before_put_back", NULL, NULL,
	                       slot);
	cenv.uri = saved;
	return rc;
}

/* Reap both twins. When one ends, the barriers open: in a good run both
 * were passed already, and after a failure the other twin must not sit
 * out its wait. Returns 0 or -1 (a twin could not be waited for). */
static int reap_twins(cli_proc *t, int *status, char *const *marks)
{
	int done[2] = { 0, 0 };
	while (!done[0] || !done[1]) {
		int reaped = 0;
		for (int i = 0; i < 2; i++) {
			if (done[i])
				continue;
			pid_t w = waitpid(t[i].pid, &status[i], WNOHANG);
			if (w < 0 && errno != EINTR) {
				perror("waitpid");
				return -1;
			}
			if (w == t[i].pid)
				done[i] = reaped = 1;
		}
		if (reaped) {
			touch(marks[0]);
			touch(marks[1]);
		} else {
			t_nap_ms(2);
		}
	}
	return 0;
}

char *twins_forced(const char *a_uri, const char *const *a_args,
                   const char *b_uri, const char *const *b_args,
                   const char *what)
{
	char *marks[2] = {
		t_xasprintf("%s/crash-%s-%s-took.mark", cenv.dir, cenv.backend,
		            cenv.mode),
		t_xasprintf("%s/crash-%s-%s-recorded.mark", cenv.dir,
		            cenv.backend, cenv.mode),
	};
	unlink(marks[0]);
	unlink(marks[1]);
	/* A marks that it took an item, then waits for B's record; B waits
	 * for A's take (so A has looked at the ledger before B records),
	 * then records and marks. */
	char *a_mark = t_xasprintf("SB_FAULT_MARK=after_take:%s", marks[0]);
	char *a_wait = t_xasprintf("SB_FAULT_WAIT=after_take:%s", marks[1]);
	char *b_wait = t_xasprintf("SB_FAULT_WAIT=after_take:%s", marks[0]);
	char *b_mark = t_xasprintf("SB_FAULT_MARK=after_record:%s", marks[1]);
	const char *a_env[] = { a_mark, a_wait, NULL };
	const char *b_env[] = { b_wait, b_mark, NULL };
	cli_proc t[2];
	int status[2] = { -1, -1 };
	char *out[2] = { NULL, NULL }, *err[2] = { NULL, NULL };
	char *item = NULL;
	if (CHECK(NULL, start_on(&t[0], a_uri, a_args, a_env, 0) == 0)) {
		if (CHECK(NULL, start_on(&t[1], b_uri, b_args, b_env, 1) == 0)) {
			if (reap_twins(t, status, marks) != 0)
				exit(99);
			cli_collect(&t[0], &out[0], &err[0]);
			cli_collect(&t[1], &out[1], &err[1]);
		} else {
			touch(marks[1]); /* A goes on alone */
			cli_wait(&t[0], NULL, NULL);
		}
	}
	if (out[1]) {
		CHECKF(NULL,
		       exited_with(status[0], CRASH_POINT_DEATH) &&
		               out[0][0] == '\0',
		       "%s: twin A did not die at "
		       "before_put_back: %s, printed '%s': %s",
		       what, status_str(status[0]), out[0], err[0]);
		size_t len = strlen(out[1]);
		if (CHECKF(NULL,
		           exited_with(status[1], 0) && len > 1 &&
		                   out[1][len - 1] == '\n',
		           "%s: twin B: %s, printed "
		           "'%s': %s",
		           what, status_str(status[1]), out[1], err[1])) {
			out[1][len - 1] = '\0';
			item = t_xstrdup(out[1]);
		}
	}
	for (int i = 0; i < 2; i++) {
		free(out[i]);
		free(err[i]);
		unlink(marks[i]);
		free(marks[i]);
	}
	free(a_mark);
	free(a_wait);
	free(b_wait);
	free(b_mark);
	return item;
}

/* A fetch whose barrier cannot hold: it must end with
 * CRASH_BARRIER_FAILED, print nothing, and say why on stderr. */
static void barrier_fails(const char *bank, const char *ledger, const char *id,
                          const char *const *env, const char *why, double min_s)
{
	const char *args[] = { "fetch", "--", bank, ledger, id, NULL };
	cli_proc p;
	double t0 = t_now_s();
	if (!CHECK(NULL, cli_start_env(&p, args, env, NULL, NULL, NULL, 0) == 0))
		return;
	char *out = NULL, *err = NULL;
	int status = cli_wait(&p, &out, &err);
	double secs = t_now_s() - t0;
	CHECKF(NULL,
	       exited_with(status, CRASH_BARRIER_FAILED) && out[0] == '\0' &&
	               t_contains(err, why) && t_contains(err, "after_take") &&
	               secs >= min_s && secs < 60,
	       "%s: %s after %.1f s, printed '%s', said '%s' (want '%s')", id,
	       status_str(status), secs, out, err, why);
	free(out);
	free(err);
}

/* Each fails at after_take, after the take: an item stays reserved. */
static void barriers_that_cannot_hold(const char *bank, const char *ledger)
{
	char *never = t_xasprintf("%s/crash-%s-%s-never.mark", cenv.dir,
	                          cenv.backend, cenv.mode);
	unlink(never);
	char *wait = t_xasprintf("SB_FAULT_WAIT=after_take:%s", never);
	const char *timeout[] = { wait, "SB_FAULT_WAIT_S=0.3", NULL };
	barrier_fails(bank, ledger, "barrier-timeout", timeout,
	              "gave up after 0.3 s waiting for", 0.3);
	const char *malformed[] = { "SB_FAULT_WAIT=after_take", NULL };
	barrier_fails(bank, ledger, "barrier-malformed", malformed,
	              "not POINT:PATH", 0);
	char *nodir = t_xasprintf("SB_FAULT_MARK=after_take:%s/no-such-dir/m",
	                          cenv.dir);
	const char *unmarkable[] = { nodir, NULL };
	barrier_fails(bank, ledger, "barrier-unmarkable", unmarkable,
	              "no-such-dir", 0);
	free(nodir);
	free(wait);
	free(never);
}

void crash_race(void)
{
	char *bank = cname("bank-race"), *ledger = cname("ledger-race");
	char *answer[ROUNDS] = { NULL };
	setup_bank(bank, "race", RACE_ITEMS);
	for (int r = 0; r < ROUNDS; r++) {
		char id[32];
		snprintf(id, sizeof id, "twin-%d", r);
		const char *args[] = { "fetch", "--", bank, ledger, id, NULL };
		answer[r] = twins_forced(NULL, args, NULL, args, id);
	}
	printf("race: twin A died at before_put_back in %d forced rounds\n",
	       ROUNDS);

	/* Each dead twin left the item it took reserved. */
	cli_stats st;
	if (check_conservation(bank, ledger, &st, "race", RACE_ITEMS) == 0)
		CHECKF(NULL, st.reserved == ROUNDS && st.assigned == ROUNDS,
		       "race: reserved %llu assigned %llu, want %d and %d",
		       st.reserved, st.assigned, ROUNDS, ROUNDS);
	unsigned long settled = 99, put_back = 99;
	if (run_recover(bank, ledger, NULL, NULL, 0, &settled, &put_back) == 0)
		CHECKF(NULL, settled == 0 && put_back == ROUNDS,
		       "race: recover settled %lu put back %lu, want 0 and %d",
		       settled, put_back, ROUNDS);
	if (check_conservation(bank, ledger, &st, "race", RACE_ITEMS) == 0)
		CHECKF(NULL,
		       st.reserved == 0 && st.held == ROUNDS &&
		               st.assigned == ROUNDS,
		       "race after recover: reserved %llu assigned %llu held "
		       "%llu",
		       st.reserved, st.assigned, st.held);
	/* Every round's id holds what its survivor was told. */
	t_map ex;
	t_map_init(&ex);
	cli_get_export(&ex, ledger);
	CHECKF(NULL, ex.n == ROUNDS, "race: export has %zu ids", ex.n);
	for (int r = 0; r < ROUNDS; r++) {
		char id[32];
		snprintf(id, sizeof id, "twin-%d", r);
		const char *e = t_map_get(&ex, id);
		char *v = fetch_ok(bank, ledger, id, NULL, NULL);
		CHECKF(NULL,
		       answer[r] && e && v &&
		               strcmp(strchr(e, '\n') + 1, answer[r]) == 0 &&
		               strcmp(v, answer[r]) == 0,
		       "race: %s was told %s, holds "
		       "%s, now gets %s",
		       id, answer[r] ? answer[r] : "-", e ? e : "-",
		       v ? v : "-");
		free(v);
		free(answer[r]);
	}
	t_map_free(&ex);

	/* The barrier's own failures (store-independent: SQLite only). */
	if (strcmp(cenv.backend, "sqlite") == 0) {
		barriers_that_cannot_hold(bank, ledger);
		if (check_conservation(bank, ledger, &st, "barriers",
		                       RACE_ITEMS) == 0)
			CHECKF(NULL, st.reserved == 3,
			       "barriers: reserved %llu, "
			       "want 3",
			       st.reserved);
		if (run_recover(bank, ledger, NULL, NULL, 0, &settled,
		                &put_back) == 0)
			CHECKF(NULL, settled == 3 && put_back == 0,
			       "barriers: recover settled %lu put back %lu",
			       settled, put_back);
	}
	free(ledger);
	free(bank);
}
