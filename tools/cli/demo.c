/* storagebox demo: a movie store puts 30 voucher codes in a bank; 200
 * customers press "get my voucher" 3 times each, from concurrent workers
 * that each hold their own box on one SQLite file. A customer's three
 * presses go to three different workers at about the same moment, so the
 * box has to settle real races between twins, not just hand out codes. */
#include "cli.h"
#include "demo.h"
#include "demo_holds.h"
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEMO_WORKERS_DEFAULT 8
#define DEMO_WORKERS_MAX     64

/* xorshift64*: a seeded generator per worker, since rand() shares hidden
 * state across threads. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static size_t rng_below(uint64_t *s, size_t n)
{
	return (size_t)(rng_next(s) % n);
}

/* One press in a worker's queue, with its place in time: customers are
 * served in rounds that all workers start together, in one shuffled
 * order (key), so a customer's twins run at the same moment. */
typedef struct {
	int round;
	long key;
	int user;
	int press;
} demo_job;

/* Start line: workers open their boxes first, then all run at once. The
 * start is a condition variable, not a barrier, because how many threads
 * exist is known only after pthread_create; the round barrier is sized
 * then. */
typedef struct {
	pthread_mutex_t m;
	pthread_cond_t cv;
	int ready;
	int go;
	pthread_barrier_t round; /* set up by main before go */
	int rounds;
} demo_gate;

typedef struct {
	demo_run *run;
	const char *uri;
	sb_protocol protocol;
	demo_gate *gate;
	pthread_mutex_t *err_lock;
	unsigned *seq; /* shared, updated atomically */
	demo_job *jobs;
	size_t njobs;
	uint64_t rng;
} demo_worker;

/* Customers per round: their presses keep every worker busy once. */
static int per_round(int nw)
{
	return nw / DEMO_PRESSES;
}

static int job_cmp(const void *a, const void *b)
{
	const demo_job *x = a, *y = b;

	if (x->round != y->round)
		return (x->round > y->round) - (x->round < y->round);
	return (x->key > y->key) - (x->key < y->key);
}

/* Deal the presses: a customer's three go to three distinct workers, and
 * every worker serves customers in one shared random order, in rounds
 * that start together and hold about one press per worker, so twins are
 * in flight at the same moment. */
static int schedule(demo_worker *w, int nw, uint64_t *rng)
{
	int rank[DEMO_USERS], pick[DEMO_WORKERS_MAX];

	for (int u = 0; u < DEMO_USERS; u++)
		rank[u] = u;
	for (int u = DEMO_USERS - 1; u > 0; u--) {
		size_t j = rng_below(rng, (size_t)u + 1);
		int t = rank[u];

		rank[u] = rank[j];
		rank[j] = t;
	}
	for (int i = 0; i < nw; i++) {
		w[i].jobs = malloc(DEMO_USERS * DEMO_PRESSES *
		                   sizeof *w[i].jobs);
		if (!w[i].jobs)
			return -1;
		w[i].njobs = 0;
		pick[i] = i;
	}
	for (int u = 0; u < DEMO_USERS; u++) {
		for (int k = 0; k < DEMO_PRESSES; k++) {
			/* Partial Fisher-Yates: k distinct workers. */
			size_t j = (size_t)k + rng_below(rng, (size_t)(nw - k));
			int t = pick[k];
			demo_worker *dw;

			pick[k] = pick[j];
			pick[j] = t;
			dw = &w[pick[k]];
			dw->jobs[dw->njobs].round = rank[u] / per_round(nw);
			/* Same order on every worker: twins meet. */
			dw->jobs[dw->njobs].key = rank[u];
			dw->jobs[dw->njobs].user = u;
			dw->jobs[dw->njobs].press = k;
			dw->njobs++;
		}
	}
	for (int i = 0; i < nw; i++)
		qsort(w[i].jobs, w[i].njobs, sizeof *w[i].jobs, job_cmp);
	return 0;
}

static void note_error(demo_worker *w, const char *msg)
{
	pthread_mutex_lock(w->err_lock);
	if (!w->run->first_error[0])
		snprintf(w->run->first_error, sizeof w->run->first_error, "%s",
		         msg && msg[0] ? msg : "unknown error");
	pthread_mutex_unlock(w->err_lock);
}

static void press(demo_worker *w, sb_box *box, const demo_job *j)
{
	demo_answer *a = &w->run->ans[j->user][j->press];
	sb_item *item = NULL;

	a->start = __atomic_fetch_add(w->seq, 1, __ATOMIC_RELAXED);
	a->rc = sb_box_fetch(&item, box, DEMO_BANK, DEMO_LEDGER,
	                     w->run->users[j->user]);
	a->seq = __atomic_fetch_add(w->seq, 1, __ATOMIC_RELAXED);
	if (a->rc == SB_OK) {
		a->is_new = sb_item_is_new(item);
		a->value = strdup(sb_item_value(item));
		if (!a->value)
			a->rc = SB_ENOMEM;
	} else if (a->rc < 0) {
		note_error(w, sb_box_errmsg(box));
	}
	sb_item_free(item);
}

static void *worker_main(void *arg)
{
	demo_worker *w = arg;
	sb_open_opts opts = SB_OPEN_OPTS_INIT;
	char err[SB_ERRMSG_SIZE] = "";
	sb_box *box = NULL;
	int rc;

	opts.protocol = w->protocol;
	rc = sb_box_open(&box, w->uri, &opts, err, sizeof err);
	/* A worker whose open failed checks in too: main waits for all. */
	pthread_mutex_lock(&w->gate->m);
	w->gate->ready++;
	pthread_cond_broadcast(&w->gate->cv);
	while (!w->gate->go)
		pthread_cond_wait(&w->gate->cv, &w->gate->m);
	pthread_mutex_unlock(&w->gate->m);
	for (int r = 0, i = 0; r < w->gate->rounds; r++) {
		/* Every worker passes every round, also an idle or failed
		 * one: the barrier counts them all. */
		pthread_barrier_wait(&w->gate->round);
		for (; (size_t)i < w->njobs && w->jobs[i].round == r; i++) {
			const demo_job *j = &w->jobs[i];

			if (rc != SB_OK) {
				w->run->ans[j->user][j->press].rc = rc;
				continue;
			}
			/* Now and then let another worker go first, to vary
			 * interleavings from run to run. */
			if (rng_below(&w->rng, 8) == 0)
				sched_yield();
			press(w, box, j);
		}
	}
	if (rc != SB_OK)
		note_error(w, err);
	sb_box_close(box);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Start the workers together and wait for all of them. */
static int run_workers(demo_worker *w, int nw)
{
	pthread_t tid[DEMO_WORKERS_MAX];
	demo_gate *g = w[0].gate;
	int started = 0;
	double t0;

	for (; started < nw; started++)
		if (pthread_create(&tid[started], NULL, worker_main,
		                   &w[started]) != 0)
			break;
	pthread_mutex_lock(&g->m);
	while (g->ready < started)
		pthread_cond_wait(&g->cv, &g->m);
	/* Count only the threads that exist; if one could not be created
	 * the run is void anyway, but must not hang. */
	g->rounds = started == nw
	                    ? (DEMO_USERS + per_round(nw) - 1) / per_round(nw)
	                    : 0;
	if (started)
		pthread_barrier_init(&g->round, NULL, (unsigned)started);
	g->go = 1;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->m);
	t0 = now_s();
	for (int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	if (started)
		pthread_barrier_destroy(&g->round);
	w[0].run->seconds = now_s() - t0;
	return started == nw ? 0 : -1;
}

/* The store opens for business: the bank, the ledger and 30 codes. */
static int stock_shop(demo_run *run, sb_box *box)
{
	const char *codes[DEMO_CODES];
	sb_add_result r;
	int rc = sb_box_init(box, DEMO_BANK, DEMO_LEDGER);

	for (int i = 0; i < DEMO_CODES; i++) {
		snprintf(run->codes[i], sizeof run->codes[i], "MOVIE-%04d",
		         i + 1);
		codes[i] = run->codes[i];
	}
	if (rc >= 0)
		rc = sb_box_add(&r, box, DEMO_BANK, codes, DEMO_CODES);
	if (rc >= 0 && r.added != DEMO_CODES)
		return sb_seterr(box, SB_ERROR,
		                 "the fresh bank took %d of "
		                 "%d codes",
		                 (int)r.added, DEMO_CODES);
	return rc;
}

static uint64_t mix_seed(unsigned long long seed, int i)
{
	/* splitmix64 step: distinct, never-zero states for xorshift. */
	uint64_t z = (uint64_t)seed + 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return z ? z : 1;
}

/* Set up the workers and let the customers in. */
static int open_doors(demo_run *run, const char *uri, sb_protocol proto)
{
	demo_worker w[DEMO_WORKERS_MAX];
	demo_gate gate = { .m = PTHREAD_MUTEX_INITIALIZER,
		           .cv = PTHREAD_COND_INITIALIZER };
	pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;
	unsigned seq = 0;
	uint64_t rng = mix_seed(run->seed, -1);
	int rc;

	memset(w, 0, sizeof w);
	for (int i = 0; i < run->workers; i++) {
		w[i].run = run;
		w[i].uri = uri;
		w[i].protocol = proto;
		w[i].gate = &gate;
		w[i].err_lock = &err_lock;
		w[i].seq = &seq;
		w[i].rng = mix_seed(run->seed, i);
	}
	rc = schedule(w, run->workers, &rng);
	if (rc == 0)
		rc = run_workers(w, run->workers);
	for (int i = 0; i < run->workers; i++)
		free(w[i].jobs);
	return rc;
}

/* --store is for the tests and stays out of --help: it runs a story on
 * the in-process memory store (or an SQLite file), the stores whose
 * deadlines follow the wall clock the box office holds them to. */
static const cli_opt demo_opts[] = { { "--workers", 1 },
	                             { "--seed", 1 },
	                             { "--holds", 0 },
	                             { "--store", 1 },
	                             { NULL, 0 } };

/* Parse the options. CLI_CONTINUE or an exit code. */
static int demo_args(cli_ctx *c, demo_run *run)
{
	const char *val[4] = { NULL, NULL, NULL, NULL };
	const char *pos[1];
	size_t n;
	char *end;
	int rc = cli_parse(c, demo_opts, val, pos, 0, 0, &n);

	if (rc != CLI_CONTINUE)
		return rc;
	run->workers = DEMO_WORKERS_DEFAULT;
	if (val[0]) {
		long v = strtol(val[0], &end, 10);

		if (*end || end == val[0] || v < DEMO_PRESSES ||
		    v > DEMO_WORKERS_MAX)
			return cli_usage_error(c,
			                       "--workers wants %d..%d, "
			                       "not '%s'",
			                       DEMO_PRESSES, DEMO_WORKERS_MAX,
			                       val[0]);
		run->workers = (int)v;
	}
	run->seed = ((unsigned long long)time(NULL) << 20) ^
	            (unsigned long long)getpid();
	if (val[1]) {
		errno = 0;
		run->seed = strtoull(val[1], &end, 10);
		if (errno || *end || end == val[1] || val[1][0] == '-')
			return cli_usage_error(c,
			                       "--seed wants a number, "
			                       "not '%s'",
			                       val[1]);
	}
	run->holds = val[2] != NULL;
	run->store = val[3];
	if (val[3] && strncmp(val[3], "memory:", 7) != 0 &&
	    strncmp(val[3], "sqlite:", 7) != 0)
		return cli_usage_error(c,
		                       "--store takes a memory: or sqlite: "
		                       "URI, not '%s'",
		                       val[3]);
	return CLI_CONTINUE;
}

static void free_answers(demo_run *run)
{
	for (int u = 0; u < DEMO_USERS; u++)
		for (int k = 0; k < DEMO_PRESSES; k++)
			free(run->ans[u][k].value);
}

/* Open the shop's own box, stock it, run the day, report. */
static int tell_story(cli_ctx *c, demo_run *run, const char *uri)
{
	sb_open_opts opts = SB_OPEN_OPTS_INIT;
	char err[SB_ERRMSG_SIZE] = "";
	sb_box *box = NULL;
	int rc;

	opts.protocol = c->g.protocol;
	rc = sb_box_open(&box, uri, &opts, err, sizeof err);
	if (rc != SB_OK) {
		cli_err(c, "%s", err[0] ? err : sb_strerror(rc));
		return CLI_EXIT_ERROR;
	}
	rc = stock_shop(run, box);
	if (rc < 0) {
		rc = cli_box_error(c, box, rc);
	} else if (open_doors(run, uri, c->g.protocol) != 0) {
		cli_err(c, "cannot start the workers");
		rc = CLI_EXIT_ERROR;
	} else {
		rc = demo_report(run, box);
	}
	sb_box_close(box);
	return rc;
}

int cli_cmd_demo(cli_ctx *c)
{
	demo_run *run = calloc(1, sizeof *run);
	char *dir = NULL, *uri = NULL;
	int rc = run ? demo_args(c, run) : CLI_EXIT_ERROR;

	if (rc != CLI_CONTINUE) {
		free(run);
		return rc;
	}
	for (int u = 0; u < DEMO_USERS; u++)
		snprintf(run->users[u], sizeof run->users[u], "user-%03d",
		         u + 1);
	if (run->store) {
		uri = strdup(run->store);
	} else {
#if SB_HAVE_SQLITE
		dir = demo_tmpdir_make();
		if (!dir)
			cli_err(c, "cannot make a temp directory: %s",
			        strerror(errno));
		uri = dir ? demo_uri(dir, run->holds ? "event.db" : "movies.db")
		          : NULL;
#else
		/* No SQLite in this build: the in-process store tells the
		 * same story, with threads instead of connections. */
		uri = strdup(run->holds ? "memory:storagebox-event"
		                        : "memory:storagebox-demo");
#endif
	}
	run->uri = uri;
	if (!uri)
		rc = CLI_EXIT_ERROR;
	else if (run->holds)
		rc = dh_main(c, uri, dir != NULL, run->workers, run->seed);
	else
		rc = tell_story(c, run, uri);
	if (dir)
		demo_tmpdir_remove(dir);
	free(dir);
	free(uri);
	free_answers(run);
	free(run);
	return cli_finish(c, rc);
}
