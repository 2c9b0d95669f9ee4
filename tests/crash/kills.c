/* Part (b): many concurrent `storagebox fetch` processes, some SIGKILLed
 * at random moments, recover and stats running in between; then every law
 * is checked from stats, export and fetches again. */
#include "crash.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CONC   16
#define NITEMS 165 /* two thirds of the ids get one: sell-out included */
#define NIDS   250
#define REPEAT 4  /* NIDS x REPEAT = 1,000 fetches with kills */
#define EVERY  50 /* a recover and a stats job per this many fetches */

/* cenv.prefix + "kill-bank" / "kill-ledger": unique to the run. */
static char *BANK, *LEDGER;

typedef enum {
	J_FETCH,
	J_RECOVER,
	J_STATS
} job_kind;

typedef struct {
	job_kind kind;
	size_t id;
	int kill; /* 1: SIGKILL it at kill_at_us after start */
	int64_t kill_at_us;
	int64_t start_us;
	int sent_kill;
	cli_proc proc;
} job;

typedef struct {
	char *answer[NIDS]; /* the item each id was answered */
	t_map owner;        /* item -> id */
	size_t ok, empty, killed, errors;
	unsigned long recovered; /* settled + put back by recover jobs */
	unsigned long long max_reserved; /* seen by mid-run stats */
	size_t torn_stats; /* mid-run sums off (no-snapshot stores only) */
	double mean_us;    /* of fetches that ran to the end */
	t_rng rng;
} tally;

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void id_name(char *buf, size_t n, size_t id)
{
	snprintf(buf, n, "kill-id-%03zu", id);
}

static void start_job(job *j, int slot, tally *t)
{
	char id[32];
	id_name(id, sizeof id, j->id);
	const char *fetch[] = { "fetch", "--", BANK, LEDGER, id, NULL };
	const char *recover[] = { "recover", "--", BANK, LEDGER, NULL };
	const char *stats[] = { "stats", "--", BANK, LEDGER, NULL };
	const char *const *args = j->kind == J_FETCH     ? fetch
	                          : j->kind == J_RECOVER ? recover
	                                                 : stats;
	if (j->kill) {
		/* Anywhere from exec to the end of a typical run. */
		int64_t span = (int64_t)(t->mean_us * 1.3) + 1;
		j->kill_at_us = (int64_t)t_rng_below(&t->rng, (size_t)span);
	}
	j->sent_kill = 0;
	j->start_us = now_us();
	if (cli_start(&j->proc, args, NULL, NULL, NULL, slot) != 0) {
		fprintf(stderr, "cannot start the CLI\n");
		exit(99);
	}
}

/* What a fetch printed, if it printed a whole line. */
static void note_answer(tally *t, size_t idx, char *out)
{
	size_t len = strlen(out);
	if (len < 2 || out[len - 1] != '\n')
		return;
	out[len - 1] = '\0';
	char idk[32];
	id_name(idk, sizeof idk, idx);
	if (!t->answer[idx]) {
		t->answer[idx] = t_xstrdup(out);
		if (!t_map_put(&t->owner, out, idk))
			CHECKF(NULL, 0, "item %s to %s and %s", out,
			       t_map_get(&t->owner, out), idk);
	} else {
		CHECKF(NULL, strcmp(t->answer[idx], out) == 0,
		       "%s answered %s and %s", idk, t->answer[idx], out);
	}
}

static void finish_job(job *j, int status, tally *t)
{
	char *out = NULL, *err = NULL;
	cli_collect(&j->proc, &out, &err);
	int killed = j->sent_kill && WIFSIGNALED(status) &&
	             WTERMSIG(status) == SIGKILL;
	if (j->kind == J_FETCH) {
		if (killed) {
			t->killed++;
			note_answer(t, j->id, out);
		} else if (exited_with(status, 0)) {
			t->ok++;
			note_answer(t, j->id, out);
			double d = (double)(now_us() - j->start_us);
			t->mean_us = 0.9 * t->mean_us + 0.1 * d;
		} else if (exited_with(status, 3)) {
			t->empty++;
			CHECKF(NULL, out[0] == '\0', "empty fetch printed '%s'",
			       out);
		} else {
			t->errors++;
			CHECKF(NULL, 0, "fetch %zu: %s: %s", j->id,
			       status_str(status), err);
		}
	} else if (j->kind == J_RECOVER) {
		unsigned long a, b;
		CHECKF(NULL, killed || exited_with(status, 0),
		       "recover: %s: %s", status_str(status), err);
		if (exited_with(status, 0) &&
		    CHECKF(NULL,
		           sscanf(out, "settled %lu, put back %lu", &a, &b) == 2,
		           "recover printed '%s'", out))
			t->recovered += a + b;
	} else {
		unsigned long long a, r, s, h;
		int ok = CHECKF(NULL, exited_with(status, 0), "stats: %s: %s",
		                status_str(status), err) &&
		         CHECKF(NULL,
		                sscanf(out,
		                       "available: %llu\nreserved: "
		                       "%llu\nassigned: %llu\nheld: %llu",
		                       &a, &r, &s, &h) == 4,
		                "stats printed '%s'", out);
		/* Conservation at any instant, with fetches dying around. */
		if (ok && r > t->max_reserved)
			t->max_reserved = r;
		if (ok && !cenv.snapshot_stats)
			t->torn_stats += a + r + s != NITEMS;
		else if (ok)
			CHECKF(NULL, a + r + s == NITEMS,
			       "mid-run stats: %llu + "
			       "%llu + %llu != %d",
			       a, r, s, NITEMS);
	}
	free(out);
	free(err);
}

/* Run @p jobs, CONC at a time, killing the marked ones on schedule. */
static void run_jobs(job *jobs, size_t njobs, tally *t)
{
	job *slot[CONC] = { NULL };
	size_t next = 0, running = 0;
	while (next < njobs || running > 0) {
		for (int s = 0; s < CONC && next < njobs; s++) {
			if (slot[s])
				continue;
			slot[s] = &jobs[next++];
			start_job(slot[s], s, t);
			running++;
		}
		int64_t now = now_us();
		int64_t wait = 100000; /* the next kill due, 0.1 s at most */
		for (int s = 0; s < CONC; s++) {
			job *j = slot[s];
			if (!j || !j->kill || j->sent_kill)
				continue;
			int64_t due = j->start_us + j->kill_at_us - now;
			if (due <= 0) {
				kill(j->proc.pid, SIGKILL);
				j->sent_kill = 1;
			} else if (due < wait) {
				wait = due;
			}
		}
		int status, reaped = 0;
		pid_t pid;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (int s = 0; s < CONC; s++) {
				if (slot[s] && slot[s]->proc.pid == pid) {
					finish_job(slot[s], status, t);
					slot[s] = NULL;
					running--;
					reaped = 1;
				}
			}
		}
		if (!reaped)
			cli_sleep(wait);
	}
}

/* Mean duration of one fetch while CONC run at once, as a first guess
 * for the kill delays. */
static double calibrate(void)
{
	char *cbank = cname("calib-bank"), *cledger = cname("calib-ledger");
	cli_add_items(cbank, "calib-", 4);
	int64_t t0 = now_us();
	for (int i = 0; i < 4; i++) {
		char id[16];
		snprintf(id, sizeof id, "c%d", i);
		const char *args[] = { "fetch", "--", cbank, cledger, id, NULL };
		char *out = NULL, *err = NULL;
		int status = cli_run(args, NULL, NULL, NULL, &out, &err);
		CHECKF(NULL, exited_with(status, 0),
		       "calibration fetch: %s: %s", status_str(status), err);
		free(out);
		free(err);
	}
	double one = (double)(now_us() - t0) / 4;
	free(cbank);
	free(cledger);
	return one * CONC / 2; /* two cores */
}

void crash_kills(void)
{
	BANK = cname("kill-bank");
	LEDGER = cname("kill-ledger");
	tally t;
	memset(&t, 0, sizeof t);
	t_map_init(&t.owner);
	uint64_t seed = t_seed();
	t_rng_seed(&t.rng, seed);
	t.mean_us = calibrate();
	printf("kills: seed %llu, first kill window %.0f us\n",
	       (unsigned long long)seed, t.mean_us);
	cli_add_items(BANK, "kill-item-", NITEMS);

	/* 1,000 fetches in random order, 40% of them killed, with recover
	 * (sometimes killed too) and stats in between. */
	size_t nfetch = NIDS * REPEAT;
	size_t *order = t_xcalloc(nfetch, sizeof *order);
	for (size_t i = 0; i < nfetch; i++)
		order[i] = i % NIDS;
	t_shuffle(&t.rng, order, nfetch);
	size_t njobs = nfetch + 2 * (nfetch / EVERY);
	job *jobs = t_xcalloc(njobs, sizeof *jobs);
	size_t n = 0;
	for (size_t i = 0; i < nfetch; i++) {
		jobs[n++] = (job){ .kind = J_FETCH,
			           .id = order[i],
			           .kill = t_rng_below(&t.rng, 10) < 4 };
		if (i % EVERY == EVERY / 2)
			jobs[n++] = (job){ .kind = J_STATS };
		if (i % EVERY == EVERY - 1)
			jobs[n++] = (job){ .kind = J_RECOVER,
				           .kill = t_rng_below(&t.rng, 4) == 0 };
	}
	int64_t t0 = now_us();
	run_jobs(jobs, n, &t);
	printf("kills: %zu fetches: %zu answered, %zu empty, %zu killed, %zu "
	       "errors in %.1f s\n",
	       nfetch, t.ok, t.empty, t.killed, t.errors,
	       (double)(now_us() - t0) / 1e6);
	CHECKF(NULL, t.killed >= 20, "only %zu fetches were killed", t.killed);

	/* Recover, then the state must add up. */
	const char *rargs[] = { "recover", "--", BANK, LEDGER, NULL };
	char *out = NULL, *err = NULL;
	int status = cli_run(rargs, NULL, NULL, NULL, &out, &err);
	CHECKF(NULL, exited_with(status, 0), "final recover: %s: %s",
	       status_str(status), err);
	unsigned long fs = 0, fp = 0;
	if (sscanf(out, "settled %lu, put back %lu", &fs, &fp) == 2)
		t.recovered += fs + fp;
	/* How often the kills hit the generic path between take and settle
	 * (always 0 on the fused path: it never reserves). */
	printf("kills: recover rolled %lu reservations forward; mid-run stats "
	       "saw up to %llu reserved\n",
	       t.recovered, t.max_reserved);
	if (!cenv.snapshot_stats)
		printf("kills: %zu mid-run stats were not a snapshot (checked "
		       "exactly only at rest)\n",
		       t.torn_stats);
	if (!cenv.generic)
		CHECKF(NULL, t.recovered == 0 && t.max_reserved == 0,
		       "the fused path left reservations");
	free(out);
	free(err);
	cli_stats st;
	if (cli_get_stats(&st, BANK, LEDGER) == 0) {
		CHECKF(NULL, st.reserved == 0, "reserved %llu after recover",
		       st.reserved);
		CHECKF(NULL, st.available + st.reserved + st.assigned == NITEMS,
		       "%llu + %llu + %llu != %d", st.available, st.reserved,
		       st.assigned, NITEMS);
	}
	t_map ex;
	t_map_init(&ex);
	cli_get_export(&ex, LEDGER);
	CHECKF(NULL, st.assigned == ex.n && st.held == ex.n,
	       "assigned %llu held %llu, export %zu", st.assigned, st.held,
	       ex.n);
	t_map items;
	t_map_init(&items);
	for (size_t i = 0; i < ex.cap; i++) {
		if (!ex.keys[i])
			continue;
		const char *item = strchr(ex.vals[i], '\n') + 1;
		unsigned k;
		char tail;
		CHECKF(NULL,
		       strncmp(ex.vals[i], BANK, strlen(BANK)) == 0 &&
		               ex.vals[i][strlen(BANK)] == '\n' &&
		               sscanf(item, "kill-item-%u%c", &k, &tail) == 1 &&
		               k < NITEMS,
		       "export: unknown entry %s -> %s", ex.keys[i],
		       ex.vals[i]);
		CHECKF(NULL, t_map_put(&items, item, ex.keys[i]),
		       "%s held by %s and %s", item, t_map_get(&items, item),
		       ex.keys[i]);
	}
	/* Every answer given is what the id holds now. */
	for (size_t i = 0; i < NIDS; i++) {
		if (!t.answer[i])
			continue;
		char id[32];
		id_name(id, sizeof id, i);
		const char *e = t_map_get(&ex, id);
		CHECKF(NULL, e && strcmp(strchr(e, '\n') + 1, t.answer[i]) == 0,
		       "%s was answered %s, holds %s", id, t.answer[i],
		       e ? e : "nothing");
	}
	t_map_free(&items);

	/* Every id once more, nobody killed: holders get their item, and the
	 * rest drain the bank exactly (no lost item, no false empty). */
	size_t before = ex.n;
	t_map_free(&ex);
	for (size_t i = 0; i < NIDS; i++)
		order[i] = i;
	t_shuffle(&t.rng, order, NIDS);
	for (size_t i = 0; i < NIDS; i++)
		jobs[i] = (job){ .kind = J_FETCH, .id = order[i] };
	t.ok = t.empty = t.killed = t.errors = 0;
	run_jobs(jobs, NIDS, &t);
	size_t want = NIDS < NITEMS ? NIDS : NITEMS;
	CHECKF(NULL, t.ok == want && t.empty == NIDS - want && t.errors == 0,
	       "refetch: %zu answered, %zu empty, %zu errors (had %zu "
	       "holders)",
	       t.ok, t.empty, t.errors, before);
	if (cli_get_stats(&st, BANK, LEDGER) == 0)
		CHECKF(NULL,
		       st.available == NITEMS - want && st.reserved == 0 &&
		               st.assigned == want && st.held == want,
		       "end: available %llu reserved %llu assigned %llu held %llu",
		       st.available, st.reserved, st.assigned, st.held);
	t_map_init(&ex);
	cli_get_export(&ex, LEDGER);
	CHECKF(NULL, ex.n == want, "end: export has %zu entries", ex.n);
	size_t holders = 0;
	for (size_t i = 0; i < NIDS; i++) {
		char id[32];
		id_name(id, sizeof id, i);
		const char *e = t_map_get(&ex, id);
		holders += t.answer[i] != NULL;
		CHECKF(NULL, !t.answer[i] == !e, "%s: answered %s, holds %s",
		       id, t.answer[i] ? t.answer[i] : "nothing",
		       e ? e : "nothing");
	}
	CHECK(NULL, holders == want && t.owner.n == want);
	t_map_free(&ex);

	for (size_t i = 0; i < NIDS; i++)
		free(t.answer[i]);
	t_map_free(&t.owner);
	free(jobs);
	free(order);
	free(BANK);
	free(LEDGER);
}
