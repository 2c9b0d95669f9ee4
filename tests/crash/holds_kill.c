/* 1,000 hold, confirm, extend, release and fetch processes on one bank,
 * 16 at a time, about 40% SIGKILLed at random moments, with recover
 * (sometimes killed too) and stats in between. Each id runs one process
 * at a time, so what each id surely held, and when, follows from the
 * answers of the processes that ran to the end: from the answer until
 * the deadline, or until the id's next process started. No two ids may
 * surely hold one item at once. At the end, after every short hold
 * lapsed and a recover: conservation with reserved 0, export and
 * export_holds agree with every id whose state is known, no item is
 * listed twice, and the bank drains to exactly its available count. */
#include "crash.h"
#include "holds.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CONC   16
#define NITEMS 60
#define NIDS   100
#define NOPS   1000
#define EVERY  50
#define SLACK  5000 /* us, at a deadline */

typedef enum {
	K_HOLD,
	K_CONFIRM,
	K_EXTEND,
	K_RELEASE,
	K_FETCH,
	K_RECOVER,
	K_STATS
} kind;

static const char *kind_name[] = { "hold",  "confirm", "extend", "release",
	                           "fetch", "recover", "stats" };

typedef enum {
	S_NONE,
	S_HELD,
	S_OWNED,
	S_UNKNOWN
} id_kind;

typedef struct {
	id_kind kind;
	char *item;
	/* S_HELD: the deadline lies in [until_us, until_hi] */
	int64_t until_us, until_hi;
	int64_t from_us;
	int busy;
	/* A killed fetch or release may still take effect: recovery rolls
	 * its reservation or its release forward. Until a recover that
	 * started after the kill ran to the end, nothing about the id is
	 * sure. */
	int64_t pending_at;
} id_state;

typedef struct {
	char *item;
	int64_t from, to;
	size_t id;
} span;

typedef struct {
	kind k;
	size_t id;
	int kill, sent_kill, long_ttl, retire;
	int64_t ttl_ms, kill_at_us, start_us;
	cli_proc proc;
} job;

static struct {
	char *bank, *ledger;
	id_state ids[NIDS];
	span *spans;
	size_t nspans, cap;
	size_t done[7], killed, empty, errors;
	double mean_us;
	t_rng rng;
	sb_box *box;
} hk;

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void id_name(char *buf, size_t n, size_t id)
{
	snprintf(buf, n, "hk-id-%03zu", id);
}

/* The id surely held its item in [from, to). */
static void end_span(size_t id, int64_t to)
{
	id_state *s = &hk.ids[id];

	if (s->kind == S_HELD && to > s->until_us - SLACK)
		to = s->until_us - SLACK;
	if ((s->kind == S_HELD || s->kind == S_OWNED) && s->item &&
	    s->from_us < to) {
		if (hk.nspans == hk.cap) {
			hk.cap = hk.cap ? 2 * hk.cap : 256;
			hk.spans = t_xrealloc(hk.spans,
			                      hk.cap * sizeof *hk.spans);
		}
		hk.spans[hk.nspans++] = (span){ t_xstrdup(s->item), s->from_us,
			                        to, id };
	}
}

static void set_state(size_t id, id_kind k, const char *item, int64_t from,
                      int64_t until)
{
	id_state *s = &hk.ids[id];
	char *copy = item ? t_xstrdup(item) : NULL;

	free(s->item);
	s->item = copy;
	s->kind = k;
	s->from_us = from;
	s->until_us = s->until_hi = until;
}

static void start_job(job *j, int slot)
{
	char id[32], ttl[32];
	const char *args[10] = { NULL };

	id_name(id, sizeof id, j->id);
	snprintf(ttl, sizeof ttl, "%lldms", (long long)j->ttl_ms);
	switch (j->k) {
	case K_HOLD: {
		const char *a[] = { "hold",  hk.bank, hk.ledger, id,
			            "--ttl", ttl,     NULL };
		memcpy(args, a, sizeof a);
		break;
	}
	case K_CONFIRM: {
		const char *a[] = { "confirm", hk.ledger, id, NULL };
		memcpy(args, a, sizeof a);
		break;
	}
	case K_EXTEND: {
		const char *a[] = {
			"extend", hk.ledger, id, "--ttl", ttl, NULL
		};
		memcpy(args, a, sizeof a);
		break;
	}
	case K_RELEASE: {
		const char *a[] = { "release", hk.ledger, id,
			            j->retire ? "--retire" : NULL, NULL };
		memcpy(args, a, sizeof a);
		break;
	}
	case K_FETCH: {
		const char *a[] = {
			"fetch", "--", hk.bank, hk.ledger, id, NULL
		};
		memcpy(args, a, sizeof a);
		break;
	}
	case K_RECOVER: {
		const char *a[] = { "recover", "--", hk.bank, hk.ledger, NULL };
		memcpy(args, a, sizeof a);
		break;
	}
	case K_STATS: {
		const char *a[] = { "stats", "--", hk.bank, NULL };
		memcpy(args, a, sizeof a);
		break;
	}
	}
	if (j->kill) {
		int64_t span_us = (int64_t)(hk.mean_us * 1.3) + 1;
		j->kill_at_us = (int64_t)t_rng_below(&hk.rng, (size_t)span_us);
	}
	j->sent_kill = 0;
	j->start_us = now_us();
	if (j->k <= K_FETCH) {
		/* Whatever this process does, the id's state is not sure
		 * from now on: a span the id surely held ends here. */
		end_span(j->id, j->start_us);
		hk.ids[j->id].busy = 1;
	}
	if (cli_start(&j->proc, args, NULL, NULL, NULL, slot) != 0) {
		fprintf(stderr, "cannot start a process\n");
		exit(99);
	}
}

/* The answer of a process that ran to the end. */
static void finish_id(job *j, int code, char *out, char *err)
{
	id_state *s = &hk.ids[j->id];
	int64_t t = now_us(); /* the answer came before this */
	size_t len = strlen(out);
	long long until_ms = -1;

	if (len && out[len - 1] == '\n')
		out[--len] = '\0';
	/* Answers the deadline decides: one that said "lapsed" came after
	 * it, one that said "live" started before it. */
	if (s->kind == S_HELD && j->k != K_FETCH && j->k != K_HOLD &&
	    (code == 4 || code == 5))
		CHECKF(NULL, t >= s->until_us - SLACK,
		       "%s answered exit %d %lld us before the deadline",
		       kind_name[j->k], code, (long long)(s->until_us - t));
	if (s->kind == S_HELD && j->k != K_FETCH && j->k != K_HOLD && code == 0)
		CHECKF(NULL, j->start_us < s->until_hi + SLACK,
		       "%s started %lld us after the deadline and succeeded",
		       kind_name[j->k], (long long)(j->start_us - s->until_hi));
	if (s->kind == S_NONE && code == 0 &&
	    (j->k == K_CONFIRM || j->k == K_EXTEND || j->k == K_RELEASE))
		CHECKF(NULL, 0, "%s of an id that holds nothing succeeded",
		       kind_name[j->k]);
	if (j->k == K_HOLD && code == 0) {
		/* holdop prints the deadline in ms on stderr (0: for good). */
		until_ms = strtoll(err, NULL, 10);
		if (s->kind == S_OWNED)
			CHECKF(NULL, hr_same_str(out, s->item) && until_ms == 0,
			       "hold of an id holding %s for good answered %s "
			       "until %lld",
			       s->item, out, until_ms);
		else if (s->kind == S_HELD && t < s->until_us - SLACK)
			CHECKF(NULL,
			       hr_same_str(out, s->item) &&
			               until_ms * 1000 >= s->until_us - SLACK &&
			               until_ms * 1000 <= s->until_hi + SLACK,
			       "hold of an id holding %s until %lld answered "
			       "%s until %lld",
			       s->item, (long long)s->until_us / 1000, out,
			       until_ms);
		if (until_ms > 0)
			set_state(j->id, S_HELD, out, t, until_ms * 1000);
		else
			set_state(j->id, S_OWNED, out, t, 0);
	} else if (j->k == K_FETCH && code == 0) {
		/* A fetch never confirms: if the id held this item on a
		 * hold, it still does (until the same deadline). */
		if (s->kind == S_HELD && hr_same_str(s->item, out) &&
		    t < s->until_us - SLACK) {
			int64_t hi = s->until_hi;
			set_state(j->id, S_HELD, out, t, s->until_us);
			s->until_hi = hi;
		} else if (s->kind == S_HELD &&
		           j->start_us > s->until_hi + SLACK) {
			/* After the deadline: a new claim, for good. */
			set_state(j->id, S_OWNED, out, t, 0);
		} else if (s->kind == S_NONE || s->kind == S_OWNED)
			set_state(j->id, S_OWNED, out, t, 0);
		else
			set_state(j->id, S_UNKNOWN, NULL, 0, 0);
	} else if ((j->k == K_HOLD || j->k == K_FETCH) && code == 3) {
		hk.empty++;
		set_state(j->id, S_NONE, NULL, 0, 0);
	} else if (j->k == K_CONFIRM && code == 0) {
		if (s->kind == S_HELD || s->kind == S_OWNED)
			set_state(j->id, S_OWNED, s->item, t, 0);
		else
			set_state(j->id, S_UNKNOWN, NULL, 0, 0);
	} else if (j->k == K_EXTEND && code == 0) {
		/* The new deadline lies after the process started + ttl. */
		if (s->kind == S_HELD) {
			set_state(j->id, S_HELD, s->item, t,
			          j->start_us + j->ttl_ms * 1000);
			s->until_hi = t + j->ttl_ms * 1000;
		} else if (s->kind != S_OWNED)
			set_state(j->id, S_UNKNOWN, NULL, 0, 0);
		else
			set_state(j->id, S_OWNED, s->item, t, 0);
	} else if ((j->k == K_CONFIRM || j->k == K_EXTEND ||
	            j->k == K_RELEASE) &&
	           (code == 0 || code == 4 || code == 5)) {
		/* Released, or it held nothing, or its hold lapsed. */
		CHECKF(NULL, !(s->kind == S_OWNED && code != 0),
		       "%s of an id holding %s for good: exit %d: %s",
		       kind_name[j->k], s->item, code, err);
		set_state(j->id, S_NONE, NULL, 0, 0);
	} else {
		hk.errors++;
		CHECKF(NULL, 0, "%s: exit %d: %s", kind_name[j->k], code, err);
		set_state(j->id, S_UNKNOWN, NULL, 0, 0);
	}
	if (hk.ids[j->id].pending_at)
		set_state(j->id, S_UNKNOWN, NULL, 0, 0);
}

static void finish_job(job *j, int status)
{
	char *out = NULL, *err = NULL;
	int killed = j->sent_kill && WIFSIGNALED(status) &&
	             WTERMSIG(status) == SIGKILL;

	cli_collect(&j->proc, &out, &err);
	if (killed) {
		hk.killed++;
		if (j->k <= K_FETCH)
			set_state(j->id, S_UNKNOWN, NULL, 0, 0);
		if (j->k == K_FETCH || j->k == K_RELEASE)
			hk.ids[j->id].pending_at = now_us();
	} else if (!WIFEXITED(status)) {
		CHECKF(NULL, 0, "%s: %s: %s", kind_name[j->k],
		       status_str(status), err);
		if (j->k <= K_FETCH)
			set_state(j->id, S_UNKNOWN, NULL, 0, 0);
	} else {
		int code = WEXITSTATUS(status);
		hk.done[j->k]++;
		if (j->k <= K_FETCH) {
			finish_id(j, code, out, err);
			hk.mean_us = 0.9 * hk.mean_us +
			             0.1 * (double)(now_us() - j->start_us);
		} else {
			CHECKF(NULL, code == 0, "%s: exit %d: %s",
			       kind_name[j->k], code, err);
			for (size_t i = 0;
			     j->k == K_RECOVER && code == 0 && i < NIDS; i++)
				if (hk.ids[i].pending_at &&
				    hk.ids[i].pending_at < j->start_us)
					hk.ids[i].pending_at = 0;
		}
	}
	if (j->k <= K_FETCH)
		hk.ids[j->id].busy = 0;
	free(out);
	free(err);
}

/* Run the jobs, CONC at a time, one at a time per id, killing the
 * marked ones on schedule. */
static void run_jobs(job *jobs, size_t njobs)
{
	job *slot[CONC] = { NULL };
	size_t running = 0, left = njobs;
	char *started = t_xcalloc(njobs, 1);

	while (left > 0 || running > 0) {
		for (int s = 0; s < CONC && left > 0; s++) {
			if (slot[s])
				continue;
			for (size_t i = 0; i < njobs; i++) {
				if (started[i] || (jobs[i].k <= K_FETCH &&
				                   hk.ids[jobs[i].id].busy))
					continue;
				started[i] = 1;
				left--;
				slot[s] = &jobs[i];
				start_job(slot[s], s);
				running++;
				break;
			}
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
					finish_job(slot[s], status);
					slot[s] = NULL;
					running--;
					reaped = 1;
				}
			}
		}
		if (!reaped)
			cli_sleep(wait);
	}
	free(started);
}

static int by_item(const void *a, const void *b)
{
	const span *x = a, *y = b;
	int c = strcmp(x->item, y->item);
	return c ? c : (x->from < y->from ? -1 : x->from > y->from);
}

static void check_spans(void)
{
	size_t i, j, bad = 0;

	if (hk.nspans)
		qsort(hk.spans, hk.nspans, sizeof *hk.spans, by_item);
	for (i = 0; i < hk.nspans; i++)
		for (j = i + 1; j < hk.nspans &&
		                strcmp(hk.spans[j].item, hk.spans[i].item) == 0;
		     j++)
			if (hk.spans[j].from < hk.spans[i].to && bad++ < 5)
				CHECKF(NULL, 0,
				       "%s: id %zu held it in [%lld, %lld) and "
				       "id %zu in [%lld, %lld)",
				       hk.spans[i].item, hk.spans[i].id,
				       (long long)hk.spans[i].from,
				       (long long)hk.spans[i].to,
				       hk.spans[j].id,
				       (long long)hk.spans[j].from,
				       (long long)hk.spans[j].to);
	CHECKF(NULL, bad == 0, "%zu overlapping spans of %zu", bad, hk.nspans);
}

/* At rest: the store against every id whose state is known. */
static void check_end(void)
{
	t_map listed;
	sb_stats st = holds_laws(hk.box, hk.bank, hk.ledger, NITEMS,
	                         "holds kills", &listed);
	size_t i, known = 0, drained = 0;
	int rc;

	for (i = 0; i < NIDS; i++) {
		id_state *s = &hk.ids[i];
		char id[32], *v = NULL;
		int64_t exp;
		id_name(id, sizeof id, i);
		rc = holds_lookup(hk.box, hk.ledger, id, &v, &exp);
		if (s->kind == S_OWNED || s->kind == S_HELD) {
			known++;
			CHECKF(hk.box,
			       rc == SB_OK && hr_same_str(v, s->item) &&
			               (s->kind == S_OWNED) == (exp == 0),
			       "%s: holds %s until %lld, its last answer was "
			       "%s %s",
			       id, v ? v : "nothing", (long long)exp, s->item,
			       s->kind == S_OWNED ? "for good" : "on hold");
		} else if (s->kind == S_NONE) {
			known++;
			CHECKF(hk.box, rc == SB_ENOTFOUND,
			       "%s: holds %s, its last answer said nothing", id,
			       v ? v : "?");
		}
		free(v);
	}
	/* What is left drains exactly: none lost, none given twice. */
	for (;;) {
		char id[32];
		sb_item *it = NULL;
		snprintf(id, sizeof id, "hk-drain-%zu", drained);
		rc = sb_box_fetch(&it, hk.box, hk.bank, hk.ledger, id);
		if (rc == SB_OK && !t_map_put(&listed, sb_item_value(it), id))
			CHECKF(hk.box, 0, "drain: %s again", sb_item_value(it));
		sb_item_free(it);
		if (rc != SB_OK || ++drained > NITEMS)
			break;
	}
	CHECKF(hk.box, rc == SB_EMPTY && drained == st.available,
	       "drained %zu of %llu available, then %d", drained,
	       (unsigned long long)st.available, rc);
	t_map_free(&listed);
	printf("holds kills: at rest %zu of %d ids in a known state; "
	       "available %llu on_hold %llu assigned %llu retired %llu\n",
	       known, NIDS, (unsigned long long)st.available,
	       (unsigned long long)st.on_hold, (unsigned long long)st.assigned,
	       (unsigned long long)st.retired);
	holds_laws(hk.box, hk.bank, hk.ledger, NITEMS, "after the drain", NULL);
}

void crash_holds_kills(void)
{
	job *jobs = t_xcalloc(NOPS + 2 * (NOPS / EVERY), sizeof *jobs);
	size_t n = 0, i;
	int64_t wait_until = 0, t0;
	uint64_t seed = t_seed();

	memset(&hk, 0, sizeof hk);
	hk.bank = cname("hk-bank");
	hk.ledger = cname("hk-ledger");
	hk.box = holds_box();
	t_rng_seed(&hk.rng, seed);
	cli_add_items(hk.bank, "hk-item-", NITEMS);
	hk.mean_us = 20000;
	for (i = 0; i < NOPS; i++) {
		size_t r = t_rng_below(&hk.rng, 100);
		job *j = &jobs[n++];
		j->k = r < 35   ? K_HOLD
		       : r < 55 ? K_CONFIRM
		       : r < 65 ? K_EXTEND
		       : r < 80 ? K_RELEASE
		                : K_FETCH;
		j->id = t_rng_below(&hk.rng, NIDS);
		j->kill = t_rng_below(&hk.rng, 10) < 4;
		/* A hold killed between its take and its ledger write leaves
		 * its item held until the deadline: only short ones are
		 * killed, so all of those lapse before the end. */
		j->long_ttl = !j->kill && t_rng_below(&hk.rng, 3) == 0;
		j->ttl_ms = j->long_ttl
		                    ? 600000
		                    : 200 + (int64_t)t_rng_below(&hk.rng, 800);
		j->retire = t_rng_below(&hk.rng, 4) == 0;
		if (i % EVERY == EVERY / 2)
			jobs[n++] = (job){ .k = K_STATS };
		if (i % EVERY == EVERY - 1)
			jobs[n++] = (job){ .k = K_RECOVER,
				           .kill = t_rng_below(&hk.rng, 4) ==
				                   0 };
	}
	printf("holds kills: seed %llu\n", (unsigned long long)seed);
	t0 = now_us();
	run_jobs(jobs, n);
	printf("holds kills: %d processes: %zu holds, %zu confirms, %zu "
	       "extends, %zu releases, %zu fetches ran to the end (%zu "
	       "empty), %zu killed, %zu errors in %.1f s\n",
	       NOPS, hk.done[K_HOLD], hk.done[K_CONFIRM], hk.done[K_EXTEND],
	       hk.done[K_RELEASE], hk.done[K_FETCH], hk.empty, hk.killed,
	       hk.errors, (double)(now_us() - t0) / 1e6);
	CHECKF(NULL, hk.killed >= 20, "only %zu processes were killed",
	       hk.killed);

	/* Let the short holds lapse: what stays held is surely held. */
	for (i = 0; i < NIDS; i++) {
		id_state *s = &hk.ids[i];
		if (s->kind == S_HELD && s->until_us < now_us() + 60000000) {
			if (s->until_hi > wait_until)
				wait_until = s->until_hi;
			end_span(i, s->until_us - SLACK);
			set_state(i, S_NONE, NULL, 0, 0);
		} else if (s->kind == S_HELD || s->kind == S_OWNED) {
			end_span(i, now_us() + 60000000);
		}
	}
	/* Holds of killed processes lapse within the longest short ttl. */
	if (wait_until < now_us() + 1000 * 1000)
		wait_until = now_us() + 1000 * 1000;
	while (now_us() < wait_until + SLACK)
		t_nap_ms(20);
	check_spans();
	check_end();

	for (i = 0; i < NIDS; i++)
		free(hk.ids[i].item);
	for (i = 0; i < hk.nspans; i++)
		free(hk.spans[i].item);
	free(hk.spans);
	free(jobs);
	sb_box_close(hk.box);
	free(hk.bank);
	free(hk.ledger);
}
