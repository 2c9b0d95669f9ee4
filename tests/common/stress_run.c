/* The shared stress harness (stress_run.h). */
#include "stress_run.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
	size_t req; /* index into the request order */
	int rc;
	char *value;
	char *bank;
} answer;

typedef struct {
	const st_params *p;
	const size_t *order; /* request -> id index */
	size_t worker;       /* global worker number */
	size_t nworkers;
	answer *out; /* this worker's answers */
	size_t nout;
	int bad_errors; /* errors not allowed, or showing the secret */
} worker;

/* progress, errors, slowest_us, by_code[ST_CODES] */
#define SHARED_LONGS (3 + ST_CODES)

int st_init(st_params *p, const char *name, const char *mode, size_t procs,
            size_t threads, size_t items, size_t ids)
{
	long *shared;

	if (strcmp(mode, "fused") && strcmp(mode, "generic")) {
		fprintf(stderr, "mode must be fused or generic, not '%s'\n",
		        mode);
		return 2;
	}
	p->name = name;
	p->mode = mode;
	p->protocol = strcmp(mode, "generic") == 0 ? SB_PROTOCOL_GENERIC
	                                           : SB_PROTOCOL_AUTO;
	p->procs = t_env_size("SB_STRESS_PROCS", procs);
	p->threads = t_env_size("SB_STRESS_THREADS", threads);
	p->items = t_env_size("SB_STRESS_ITEMS", items);
	p->ids = t_env_size("SB_STRESS_IDS", ids);
	p->repeat = t_env_size("SB_STRESS_REPEAT", 3);
	if (!p->procs || !p->threads || !p->ids || !p->repeat) {
		fprintf(stderr, "sizes must be positive\n");
		return 2;
	}
	/* Counters the children add to and the parent reads (zeroed). */
	shared = mmap(NULL, SHARED_LONGS * sizeof(long), PROT_READ | PROT_WRITE,
	              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	p->progress = &shared[0];
	p->errors = &shared[1];
	p->slowest_us = &shared[2];
	p->by_code = &shared[3];
	return 0;
}

void st_done(st_params *p)
{
	if (p->progress)
		munmap(p->progress, SHARED_LONGS * sizeof(long));
	p->progress = p->errors = p->slowest_us = p->by_code = NULL;
}

static sb_box *open_box(const st_params *p, sb_protocol protocol,
                        const char *uri)
{
	sb_open_opts o = SB_OPEN_OPTS_INIT;
	char err[SB_ERRMSG_SIZE] = "";
	sb_box *box = NULL;
	int rc;

	o.protocol = protocol;
	rc = sb_box_open(&box, uri ? uri : p->uri, &o, err, sizeof err);
	if (rc != SB_OK) {
		fprintf(stderr, "open: %d %s\n", rc, err);
		return NULL;
	}
	return box;
}

void st_setup(const st_params *p)
{
	sb_box *box = open_box(p, SB_PROTOCOL_AUTO, NULL);
	if (!box)
		exit(1);
	CHECK_RC(box, sb_box_init(box, p->bank, p->ledger), SB_OK);
	char **items = t_xcalloc(p->items, sizeof *items);
	for (size_t i = 0; i < p->items; i++)
		items[i] = t_xasprintf("stress-item-%05zu", i);
	sb_add_result res = { 0, 0 };
	CHECK_RC(box,
	         sb_box_add(&res, box, p->bank, (const char *const *)items,
	                    p->items),
	         SB_OK);
	CHECK(box, res.added == p->items && res.skipped == 0);
	for (size_t i = 0; i < p->items; i++)
		free(items[i]);
	free(items);
	sb_box_close(box); /* no connection may cross fork() */
}

/* One failed call: allowed only while the server restarts (or on a
 * faulty network, any error with a message), and never with the secret
 * in its message. */
static void note_error(worker *w, int rc, const char *msg, const char *id)
{
	const st_params *p = w->p;
	long n = __atomic_add_fetch(p->errors, 1, __ATOMIC_SEQ_CST);
	int leak = p->secret && msg && t_contains(msg, p->secret);
	int allowed = p->faults || (p->retry && rc == SB_ECONNECT);

	if (-rc > 0 && -rc < ST_CODES)
		__atomic_add_fetch(&p->by_code[-rc], 1, __ATOMIC_SEQ_CST);
	if (!allowed || leak || !msg || !*msg) {
		w->bad_errors++;
		fprintf(stderr, "worker %zu: fetch %s: %d (%s) %s%s\n",
		        w->worker, id, rc, sb_strerror(rc), msg ? msg : "",
		        leak ? " [SHOWS THE SECRET]" : "");
	} else if (n <= 3) {
		printf("expected error%s: %s\n",
		       p->faults ? " (faulty network)" : " during the restart",
		       msg);
		fflush(stdout);
	}
}

/* The longest call so far (shared). */
static void note_time(const st_params *p, double secs)
{
	long us = (long)(secs * 1e6),
	     old = __atomic_load_n(p->slowest_us, __ATOMIC_SEQ_CST);

	while (us > old &&
	       !__atomic_compare_exchange_n(p->slowest_us, &old, us, 0,
	                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
}

/* Worker thread: its requests are every nworkers-th of the order. */
static void *work(void *arg)
{
	worker *w = arg;
	const st_params *p = w->p;
	size_t nreq = p->ids * p->repeat;
	sb_box *box = NULL;

	w->out = t_xcalloc(nreq / w->nworkers + 1, sizeof *w->out);
	/* With a restart, opening may meet it too. */
	for (int tries = 0; !box && tries < (p->retry ? 600 : 1); tries++)
		if (!(box = open_box(p, p->protocol, p->work_uri)) && p->retry)
			t_nap_ms(50);
	for (size_t r = w->worker; r < nreq; r += w->nworkers) {
		answer *a = &w->out[w->nout++];
		char id[32];
		a->req = r;
		a->rc = SB_ERROR;
		if (!box) {
			w->bad_errors++;
			continue;
		}
		snprintf(id, sizeof id, "stress-id-%05zu", w->order[r]);
		double deadline = t_now_s() + 60;
		for (;;) {
			sb_item *it = NULL;
			double t0 = t_now_s();
			a->rc = sb_box_fetch(&it, box, p->bank, p->ledger, id);
			note_time(p, t_now_s() - t0);
			if (a->rc == SB_OK) {
				a->value = t_xstrdup(sb_item_value(it));
				a->bank = t_xstrdup(sb_item_bank(it));
			}
			sb_item_free(it);
			if (a->rc >= 0)
				break;
			note_error(w, a->rc, sb_box_errmsg(box), id);
			if (!(p->retry || p->faults) || t_now_s() > deadline)
				break;
			t_nap_ms(20);
		}
		__atomic_add_fetch(p->progress, 1, __ATOMIC_SEQ_CST);
	}
	if (box && p->box_done)
		p->box_done(p, box);
	sb_box_close(box);
	return NULL;
}

static char *results_path(const st_params *p, size_t proc)
{
	return t_xasprintf("%s.results.%zu", p->stem, proc);
}

/* Child process: run the threads, write "req rc value bank" lines. */
static int child(const st_params *p, const size_t *order, size_t proc, int gate)
{
	char c;
	/* Wait until every process exists, so all start together. */
	while (read(gate, &c, 1) < 0 && errno == EINTR)
		;
	close(gate);
	worker *ws = t_xcalloc(p->threads, sizeof *ws);
	pthread_t *th = t_xcalloc(p->threads, sizeof *th);
	for (size_t t = 0; t < p->threads; t++) {
		ws[t] = (worker){ p,
			          order,
			          proc * p->threads + t,
			          p->procs * p->threads,
			          NULL,
			          0,
			          0 };
		if (pthread_create(&th[t], NULL, work, &ws[t]) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return 1;
		}
	}
	char *path = results_path(p, proc);
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	int bad = 0;
	for (size_t t = 0; t < p->threads; t++) {
		pthread_join(th[t], NULL);
		bad |= ws[t].bad_errors != 0;
		for (size_t i = 0; i < ws[t].nout; i++) {
			answer *a = &ws[t].out[i];
			fprintf(f, "%zu %d %s %s\n", a->req, a->rc,
			        a->value ? a->value : "-",
			        a->bank ? a->bank : "-");
			free(a->value);
			free(a->bank);
		}
		free(ws[t].out);
	}
	bad |= fclose(f) != 0;
	free(path);
	free(ws);
	free(th);
	return bad;
}

double st_run(st_params *p, uint64_t seed, size_t **order_out,
              void (*during)(const st_params *p, size_t nreq))
{
	size_t nreq = p->ids * p->repeat;
	size_t *order = t_xcalloc(nreq, sizeof *order);
	for (size_t r = 0; r < nreq; r++)
		order[r] = r % p->ids;
	t_rng rng;
	t_rng_seed(&rng, seed);
	t_shuffle(&rng, order, nreq);
	*order_out = order;

	int gate[2];
	if (pipe(gate) != 0) {
		perror("pipe");
		exit(1);
	}
	pid_t *pids = t_xcalloc(p->procs, sizeof *pids);
	fflush(NULL);
	for (size_t i = 0; i < p->procs; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("fork");
			exit(1);
		}
		if (pids[i] == 0) {
			close(gate[1]);
			_exit(child(p, order, i, gate[0]));
		}
	}
	close(gate[0]);
	double t0 = t_now_s();
	close(gate[1]); /* go */
	if (during)
		during(p, nreq);
	for (size_t i = 0; i < p->procs; i++) {
		int status;
		while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR)
			;
		CHECKF(NULL, WIFEXITED(status) && WEXITSTATUS(status) == 0,
		       "worker process %zu: status %#x", i, status);
	}
	double secs = t_now_s() - t0;
	free(pids);
	printf("%s %s: %zu requests by %zu workers in %.2f s: %.0f "
	       "requests/s; %ld failed calls (retried)\n",
	       p->name, p->mode, nreq, p->procs * p->threads, secs,
	       secs > 0 ? (double)nreq / secs : 0.0, *p->errors);
	printf("%s %s: slowest call %.2f s; failed calls by code:", p->name,
	       p->mode, (double)*p->slowest_us / 1e6);
	for (int c = 1; c < ST_CODES; c++)
		if (p->by_code[c])
			printf(" %s %ld", sb_strerror(-c), p->by_code[c]);
	printf("%s\n", *p->errors ? "" : " none");
	return secs;
}

char **st_check_answers(const st_params *p, const size_t *order)
{
	size_t nreq = p->ids * p->repeat;
	char **held = t_xcalloc(p->ids, sizeof *held);
	char *got = t_xcalloc(nreq, 1), *empty = t_xcalloc(nreq, 1);
	t_map owner;
	t_map_init(&owner);
	size_t errors = 0, empties = 0, oks = 0, dup = 0, bad = 0;
	for (size_t proc = 0; proc < p->procs; proc++) {
		char *path = results_path(p, proc);
		FILE *f = fopen(path, "r");
		if (!CHECKF(NULL, f != NULL, "%s: %s", path, strerror(errno))) {
			free(path);
			continue;
		}
		char line[256], val[128], bank[128];
		size_t req;
		int rc;
		while (fgets(line, sizeof line, f)) {
			if (sscanf(line, "%zu %d %127s %127s", &req, &rc, val,
			           bank) != 4 ||
			    req >= nreq) {
				bad++;
				continue;
			}
			if (got[req]++)
				dup++;
			if (rc < 0) {
				errors++;
				continue;
			}
			if (rc == SB_EMPTY) {
				empties++;
				empty[req] = 1;
				continue;
			}
			if (rc != SB_OK) {
				bad++;
				continue;
			}
			oks++;
			size_t id = order[req];
			unsigned long k;
			char tail;
			if (sscanf(val, "stress-item-%lu%c", &k, &tail) != 1 ||
			    k >= p->items || strcmp(bank, p->bank) != 0) {
				CHECKF(NULL, 0, "unknown item %s from %s", val,
				       bank);
				continue;
			}
			if (!held[id]) {
				held[id] = t_xstrdup(val);
				char idk[32];
				snprintf(idk, sizeof idk, "%zu", id);
				/* Law 1: no item held by two ids. */
				if (!t_map_put(&owner, val, idk))
					CHECKF(NULL, 0,
					       "item %s to ids %s and "
					       "%s",
					       val, t_map_get(&owner, val),
					       idk);
			} else {
				/* Laws 2 and 3: one item per id, always. */
				CHECKF(NULL, strcmp(held[id], val) == 0,
				       "id %zu got %s and %s", id, held[id],
				       val);
			}
		}
		fclose(f);
		unlink(path);
		free(path);
	}
	size_t missing = 0, false_empty = 0;
	for (size_t r = 0; r < nreq; r++) {
		missing += !got[r];
		/* Law 3: an id that holds an item is never told "empty". */
		false_empty += empty[r] && held[order[r]];
	}
	CHECKF(NULL, false_empty == 0,
	       "law 3: %zu empty answers to ids "
	       "holding an item",
	       false_empty);
	CHECKF(NULL, errors == 0, "%zu requests got no answer", errors);
	CHECKF(NULL, missing == 0 && dup == 0 && bad == 0,
	       "%zu requests unanswered, %zu twice, %zu bad lines", missing,
	       dup, bad);
	printf("answers: %zu items, %zu empty, %zu without answer\n", oks,
	       empties, errors);
	t_map_free(&owner);
	free(got);
	free(empty);
	return held;
}

char **st_go(st_params *p, const char *where,
             void (*during)(const st_params *p, size_t nreq), size_t *holders)
{
	uint64_t seed = t_seed();
	size_t *order = NULL, n;
	char **held;

	printf("%s %s: %zu processes x %zu threads, %zu items, %zu ids x %zu, "
	       "seed %llu, %s\n",
	       p->name, p->mode, p->procs, p->threads, p->items, p->ids,
	       p->repeat, (unsigned long long)seed, where);
	fflush(stdout);
	st_setup(p);
	st_run(p, seed, &order, during);
	held = st_check_answers(p, order);
	n = st_check_api(p, held);
	if (holders)
		*holders = n;
	free(order);
	return held;
}

void st_free_held(const st_params *p, char **held)
{
	for (size_t i = 0; held && i < p->ids; i++)
		free(held[i]);
	free(held);
}

static int export_cb(const char *id, const char *bank, const char *item,
                     void *payload)
{
	t_map *seen = payload;
	char *v = t_xasprintf("%s %s", item, bank);
	if (!t_map_put(seen, id, v))
		CHECKF(NULL, 0, "id %s exported twice", id);
	free(v);
	return 0;
}

size_t st_check_api(const st_params *p, char **held)
{
	size_t holders = 0;
	for (size_t i = 0; i < p->ids; i++)
		holders += held[i] != NULL;
	sb_box *box = open_box(p, p->protocol, NULL);
	if (!CHECK(NULL, box != NULL))
		return holders;
	sb_stats st;
	CHECK_RC(box, sb_box_stats(&st, box, p->bank, p->ledger), SB_OK);
	/* Every call finished: nothing may be left reserved. A generic claim
	 * cut off by a server restart or a faulty network may leave one:
	 * recover decides. */
	if (!p->retry && !p->faults)
		CHECKF(box, st.reserved == 0, "reserved %llu after the run",
		       (unsigned long long)st.reserved);
	else
		printf("reserved after the run: %llu\n",
		       (unsigned long long)st.reserved);
	sb_recover_result rr = { 9, 9, 9, 9, 9 };
	CHECK_RC(box, sb_box_recover(&rr, box, p->bank, p->ledger, NULL),
	         SB_OK);
	CHECK_RC(box, sb_box_stats(&st, box, p->bank, p->ledger), SB_OK);
	CHECKF(box, st.reserved == 0, "reserved %llu after recover",
	       (unsigned long long)st.reserved);
	CHECKF(box, st.available + st.reserved + st.assigned == p->items,
	       "conservation: %llu + %llu + %llu != %zu",
	       (unsigned long long)st.available,
	       (unsigned long long)st.reserved, (unsigned long long)st.assigned,
	       p->items);

	size_t want = p->items < p->ids ? p->items : p->ids;
	CHECKF(box, st.assigned == holders && st.held == holders,
	       "assigned %llu held %llu, answers show %zu holders",
	       (unsigned long long)st.assigned, (unsigned long long)st.held,
	       holders);
	/* Law 5: with items left, no id may have been told "empty". */
	if (st.available > 0)
		CHECKF(box, holders == p->ids,
		       "%llu items available but only "
		       "%zu of %zu ids hold one",
		       (unsigned long long)st.available, holders, p->ids);
	if (p->protocol == SB_PROTOCOL_AUTO)
		CHECKF(box, holders == want && st.available == p->items - want,
		       "fused: %zu holders (want %zu), available %llu", holders,
		       want, (unsigned long long)st.available);

	/* The ledger holds exactly the answers. */
	t_map seen;
	t_map_init(&seen);
	CHECK_RC(box, sb_box_export(box, p->ledger, export_cb, &seen), SB_OK);
	CHECKF(box, seen.n == holders, "export has %zu entries, answers %zu",
	       seen.n, holders);
	for (size_t i = 0; i < p->ids; i++) {
		char id[32];
		snprintf(id, sizeof id, "stress-id-%05zu", i);
		const char *e = t_map_get(&seen, id);
		if (!held[i]) {
			CHECKF(box, !e, "%s holds %s but was told empty", id,
			       e);
			continue;
		}
		char *w = t_xasprintf("%s %s", held[i], p->bank);
		CHECKF(box, e && strcmp(e, w) == 0, "%s: export %s, answer %s",
		       id, e ? e : "(none)", w);
		free(w);
	}
	t_map items;
	t_map_init(&items);
	for (size_t i = 0; i < seen.cap; i++)
		if (seen.keys[i] && !t_map_put(&items, seen.vals[i], ""))
			CHECKF(box, 0, "export: %s held twice", seen.vals[i]);
	t_map_free(&items);
	t_map_free(&seen);
	sb_box_close(box);
	return holders;
}
