/* Redis stress: many processes, each with several threads (one box, so
 * one connection, per thread), hammer one bank and ledger on the test
 * server. Afterwards the parent checks every law of DESIGN.md §2 from the
 * answers, through the API, and from Redis itself (the keys, read with
 * hiredis: the layout documented in backends/redis/redis.c).
 *
 * usage: redis_stress fused|generic WORKDIR   (server: $SB_TEST_REDIS_URI)
 * Sizes (env): SB_STRESS_PROCS (16), SB_STRESS_THREADS (4),
 * SB_STRESS_ITEMS (5000), SB_STRESS_IDS (8000), SB_STRESS_REPEAT (3);
 * SB_TEST_SEED replays a shuffle. Each run uses its own key prefix. */
#include "rtest.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *BANK = "stress-bank";
static const char *LEDGER = "stress-ledger";

typedef struct {
	size_t procs, threads, items, ids, repeat;
	sb_protocol protocol;
	const char *mode;
	char *uri;
	const char *db;     /* work dir + file stem for the result files */
	const char *server; /* $SB_TEST_REDIS_URI */
	char *prefix;
} params;

typedef struct {
	size_t req;  /* index into the request order */
	int rc;
	char *value;
	char *bank;
} answer;

typedef struct {
	const params *p;
	const size_t *order; /* request -> id index */
	size_t worker;       /* global worker number */
	size_t nworkers;
	answer *out;         /* this worker's answers */
	size_t nout;
} worker;

static size_t env_size(const char *name, size_t def)
{
	const char *v = getenv(name);
	return v && *v ? (size_t)strtoul(v, NULL, 10) : def;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static sb_box *open_box(const params *p, sb_protocol protocol)
{
	sb_open_opts o = SB_OPEN_OPTS_INIT;
	o.protocol = protocol;
	char err[SB_ERRMSG_SIZE] = "";
	sb_box *box = NULL;
	int rc = sb_box_open(&box, p->uri, &o, err, sizeof err);
	if (rc != SB_OK) {
		fprintf(stderr, "open (prefix %s): %d %s\n", p->prefix, rc, err);
		return NULL;
	}
	return box;
}

/* Worker thread: its requests are every nworkers-th of the order. */
static void *work(void *arg)
{
	worker *w = arg;
	const params *p = w->p;
	size_t nreq = p->ids * p->repeat;
	sb_box *box = open_box(p, p->protocol);
	w->out = t_xcalloc(nreq / w->nworkers + 1, sizeof *w->out);
	for (size_t r = w->worker; r < nreq; r += w->nworkers) {
		answer *a = &w->out[w->nout++];
		a->req = r;
		if (!box) {
			a->rc = SB_ERROR;
			continue;
		}
		char id[32];
		snprintf(id, sizeof id, "stress-id-%05zu", w->order[r]);
		sb_item *it = NULL;
		a->rc = sb_box_fetch(&it, box, BANK, LEDGER, id);
		if (a->rc == SB_OK) {
			a->value = t_xstrdup(sb_item_value(it));
			a->bank = t_xstrdup(sb_item_bank(it));
		} else if (a->rc < 0) {
			fprintf(stderr, "worker %zu: fetch %s: %d %s\n",
			        w->worker, id, a->rc, sb_box_errmsg(box));
		}
		sb_item_free(it);
	}
	sb_box_close(box);
	return NULL;
}

static char *results_path(const params *p, size_t proc)
{
	return t_xasprintf("%s.results.%zu", p->db, proc);
}

/* Child process: run the threads, write "req rc value bank" lines. */
static int child(const params *p, const size_t *order, size_t proc,
                 int gate)
{
	char c;
	/* Wait until every process exists, so all start together. */
	while (read(gate, &c, 1) < 0 && errno == EINTR)
		;
	close(gate);
	worker *ws = t_xcalloc(p->threads, sizeof *ws);
	pthread_t *th = t_xcalloc(p->threads, sizeof *th);
	for (size_t t = 0; t < p->threads; t++) {
		ws[t] = (worker){ p, order, proc * p->threads + t,
		                  p->procs * p->threads, NULL, 0 };
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
	for (size_t t = 0; t < p->threads; t++) {
		pthread_join(th[t], NULL);
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
	int bad = fclose(f) != 0;
	free(path);
	free(ws);
	free(th);
	return bad;
}

typedef struct {
	t_map *seen;
	size_t calls;
} export_acc;

static int export_cb(const char *id, const char *bank, const char *item,
                     void *payload)
{
	export_acc *acc = payload;
	acc->calls++;
	char *v = t_xasprintf("%s %s", item, bank);
	if (!t_map_put(acc->seen, id, v))
		CHECKF(NULL, 0, "id %s exported twice", id);
	free(v);
	return 0;
}

static void setup(const params *p)
{
	sb_box *box = open_box(p, SB_PROTOCOL_AUTO);
	if (!box)
		exit(1);
	CHECK_RC(box, sb_box_init(box, BANK, LEDGER), SB_OK);
	char **items = t_xcalloc(p->items, sizeof *items);
	for (size_t i = 0; i < p->items; i++)
		items[i] = t_xasprintf("stress-item-%05zu", i);
	sb_add_result res = { 0, 0 };
	CHECK_RC(box, sb_box_add(&res, box, BANK, (const char *const *)items,
	                         p->items), SB_OK);
	CHECK(box, res.added == p->items && res.skipped == 0);
	for (size_t i = 0; i < p->items; i++)
		free(items[i]);
	free(items);
	sb_box_close(box); /* no connection may cross fork() */
}

/* Read every child's answers; check them against each other. Fills
 * held[id] with the item each id was answered (or NULL). */
static void check_answers(const params *p, const size_t *order, char **held)
{
	size_t nreq = p->ids * p->repeat;
	char *got = t_xcalloc(nreq, 1);
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
			           bank) != 4 || req >= nreq) {
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
			    k >= p->items || strcmp(bank, BANK) != 0) {
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
					CHECKF(NULL, 0, "item %s to ids %s and "
					       "%s", val,
					       t_map_get(&owner, val), idk);
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
	size_t missing = 0;
	for (size_t r = 0; r < nreq; r++)
		missing += !got[r];
	CHECKF(NULL, errors == 0, "%zu fetches failed", errors);
	CHECKF(NULL, missing == 0 && dup == 0 && bad == 0,
	       "%zu requests unanswered, %zu twice, %zu bad lines", missing,
	       dup, bad);
	printf("answers: %zu items, %zu empty, %zu errors\n", oks, empties,
	       errors);
	t_map_free(&owner);
	free(got);
}

static redisReply *hgetall(redisContext *c, const char *key)
{
	redisReply *r = rt_cmd(c, "HGETALL", key, NULL);
	if (!CHECKF(NULL, r && r->type == REDIS_REPLY_ARRAY, "HGETALL %s", key)) {
		if (r)
			freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* The state as Redis holds it, key by key. */
static void check_redis(const params *p, char **held)
{
	redisContext *c = rt_connect(p->server);
	if (!CHECK(NULL, c != NULL))
		return;
	char *q = t_xasprintf("{%s}:q:%s", p->prefix, BANK);
	char *s = t_xasprintf("{%s}:s:%s", p->prefix, BANK);
	char *rv = t_xasprintf("{%s}:r:%s", p->prefix, BANK);
	char *l = t_xasprintf("{%s}:l:%s", p->prefix, LEDGER);
	char *hc = t_xasprintf("{%s}:c:%s", p->prefix, LEDGER);

	/* Item states: every item known once, available ones queued once,
	 * assigned ones carry the token of the id that holds them. */
	redisReply *st = hgetall(c, s), *lst = rt_cmd(c, "LRANGE", q, "0", "-1", NULL);
	redisReply *led = hgetall(c, l), *res = hgetall(c, rv);
	redisReply *cnt = rt_cmd(c, "HGET", hc, BANK, NULL);
	if (st && led && res && lst && lst->type == REDIS_REPLY_ARRAY) {
		CHECKF(NULL, st->elements / 2 == p->items, "state hash has %zu "
		       "items, %zu loaded", st->elements / 2, p->items);
		CHECKF(NULL, res->elements == 0, "%zu reservations left in Redis",
		       res->elements / 2);
		t_map state, queued;
		t_map_init(&state);
		t_map_init(&queued);
		size_t avail = 0, assigned = 0;
		for (size_t i = 0; i + 1 < st->elements; i += 2) {
			t_map_put(&state, st->element[i]->str, st->element[i + 1]->str);
			if (strcmp(st->element[i + 1]->str, "a") == 0)
				avail++;
			else if (st->element[i + 1]->str[0] == 'i')
				assigned++;
			else
				CHECKF(NULL, 0, "item %s in state '%s'",
				       st->element[i]->str, st->element[i + 1]->str);
		}
		CHECKF(NULL, lst->elements == avail, "queue %zu, available %zu",
		       lst->elements, avail);
		for (size_t i = 0; i < lst->elements; i++) {
			const char *v = t_map_get(&state, lst->element[i]->str);
			CHECKF(NULL, v && strcmp(v, "a") == 0, "queued %s is '%s'",
			       lst->element[i]->str, v ? v : "(unknown)");
			CHECKF(NULL, t_map_put(&queued, lst->element[i]->str, ""),
			       "%s queued twice", lst->element[i]->str);
		}
		/* The ledger hash: one entry per holder, each the item the
		 * answers show, assigned with that id's token (laws 1-3). */
		size_t holders = 0;
		for (size_t i = 0; i < p->ids; i++)
			holders += held[i] != NULL;
		CHECKF(NULL, led->elements / 2 == holders, "ledger hash %zu, "
		       "holders %zu", led->elements / 2, holders);
		CHECKF(NULL, assigned == holders, "assigned in Redis %zu, "
		       "holders %zu", assigned, holders);
		for (size_t i = 0; i + 1 < led->elements; i += 2) {
			const char *id = led->element[i]->str;
			size_t idx;
			char tail;
			if (!CHECKF(NULL, sscanf(id, "stress-id-%zu%c", &idx,
			                         &tail) == 1 && idx < p->ids,
			            "ledger id %s", id))
				continue;
			char *want = held[idx]
			        ? t_xasprintf("%zu:%s%s", strlen(BANK), BANK, held[idx])
			        : t_xstrdup("(none)");
			CHECKF(NULL, strcmp(led->element[i + 1]->str, want) == 0,
			       "ledger %s = %s, answers %s", id,
			       led->element[i + 1]->str, want);
			if (held[idx]) {
				char *tok = t_xasprintf("i%s\n%s", LEDGER, id);
				const char *v = t_map_get(&state, held[idx]);
				CHECKF(NULL, v && strcmp(v, tok) == 0,
				       "item %s state is not assigned to %s",
				       held[idx], id);
				free(tok);
			}
			free(want);
		}
		CHECKF(NULL, cnt && cnt->type == REDIS_REPLY_STRING &&
		       (size_t)atol(cnt->str) == holders, "held counter %s, "
		       "holders %zu", cnt && cnt->str ? cnt->str : "(nil)",
		       holders);
		t_map_free(&state);
		t_map_free(&queued);
	}
	if (st) freeReplyObject(st);
	if (lst) freeReplyObject(lst);
	if (led) freeReplyObject(led);
	if (res) freeReplyObject(res);
	if (cnt) freeReplyObject(cnt);

	/* Every key of the run is under its prefix, in one hash slot. */
	char *pat = t_xasprintf("{%s}:*", p->prefix);
	char *tag = t_xasprintf("{%s}", p->prefix);
	unsigned slot = rt_keyslot(tag, strlen(tag));
	char cursor[32] = "0";
	size_t nkeys = 0;
	do {
		redisReply *r = rt_cmd(c, "SCAN", cursor, "MATCH", pat, "COUNT",
		                       "1000", NULL);
		if (!CHECK(NULL, r && r->type == REDIS_REPLY_ARRAY)) {
			if (r)
				freeReplyObject(r);
			break;
		}
		snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			redisReply *k = r->element[1]->element[i];
			nkeys++;
			CHECKF(NULL, rt_keyslot(k->str, k->len) == slot,
			       "key %s is not in slot %u", k->str, slot);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	/* banks, q, s, l, c (r is empty, so Redis removed it) */
	CHECKF(NULL, nkeys == 5 || (nkeys == 4 && p->items <= p->ids),
	       "%zu keys under the prefix", nkeys);
	printf("redis: %zu keys under {%s}, all in slot %u\n", nkeys,
	       p->prefix, slot);
	free(pat);
	free(tag);
	free(q);
	free(s);
	free(rv);
	free(l);
	free(hc);
	redisFree(c);
}

/* The state through the API, then in Redis itself. */
static void check_store(const params *p, char **held)
{
	sb_box *box = open_box(p, p->protocol);
	if (!CHECK(NULL, box != NULL))
		return;
	sb_stats st;
	CHECK_RC(box, sb_box_stats(&st, box, BANK, LEDGER), SB_OK);
	/* Every worker finished its calls: nothing may be left reserved. */
	CHECKF(box, st.reserved == 0, "reserved %llu after the run",
	       (unsigned long long)st.reserved);
	sb_recover_result rr = { 9, 9, 9 };
	CHECK_RC(box, sb_box_recover(&rr, box, BANK, LEDGER, NULL), SB_OK);
	CHECK_RC(box, sb_box_stats(&st, box, BANK, LEDGER), SB_OK);
	CHECKF(box, st.reserved == 0, "reserved %llu after recover",
	       (unsigned long long)st.reserved);
	CHECKF(box, st.available + st.reserved + st.assigned == p->items,
	       "conservation: %llu + %llu + %llu != %zu",
	       (unsigned long long)st.available,
	       (unsigned long long)st.reserved,
	       (unsigned long long)st.assigned, p->items);

	size_t holders = 0;
	for (size_t i = 0; i < p->ids; i++)
		holders += held[i] != NULL;
	size_t want = p->items < p->ids ? p->items : p->ids;
	CHECKF(box, st.assigned == holders && st.held == holders,
	       "assigned %llu held %llu, answers show %zu holders",
	       (unsigned long long)st.assigned, (unsigned long long)st.held,
	       holders);
	/* Law 5: with items left, no id may have been told "empty". */
	if (st.available > 0)
		CHECKF(box, holders == p->ids, "%llu items available but only "
		       "%zu of %zu ids hold one", (unsigned long long)st.available,
		       holders, p->ids);
	if (p->protocol == SB_PROTOCOL_AUTO)
		CHECKF(box, holders == want && st.available == p->items - want,
		       "fused: %zu holders (want %zu), available %llu", holders,
		       want, (unsigned long long)st.available);

	/* The ledger holds exactly the answers. */
	t_map seen;
	t_map_init(&seen);
	export_acc acc = { &seen, 0 };
	CHECK_RC(box, sb_box_export(box, LEDGER, export_cb, &acc), SB_OK);
	CHECKF(box, seen.n == holders, "export has %zu entries, answers %zu",
	       seen.n, holders);
	for (size_t i = 0; i < p->ids; i++) {
		char id[32];
		snprintf(id, sizeof id, "stress-id-%05zu", i);
		const char *e = t_map_get(&seen, id);
		if (!held[i]) {
			CHECKF(box, !e, "%s holds %s but was told empty", id, e);
			continue;
		}
		char *w = t_xasprintf("%s %s", held[i], BANK);
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

	check_redis(p, held);
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "fused") && strcmp(argv[1], "generic"))) {
		fprintf(stderr, "usage: %s fused|generic WORKDIR\n", argv[0]);
		return 2;
	}
	const char *server = rt_uri();
	if (!server)
		return rt_skip_status();
	params p = {
		.procs = env_size("SB_STRESS_PROCS", 16),
		.threads = env_size("SB_STRESS_THREADS", 4),
		.items = env_size("SB_STRESS_ITEMS", 5000),
		.ids = env_size("SB_STRESS_IDS", 8000),
		.repeat = env_size("SB_STRESS_REPEAT", 3),
		.mode = argv[1],
		.server = server,
	};
	if (!p.procs || !p.threads || !p.ids || !p.repeat) {
		fprintf(stderr, "sizes must be positive\n");
		return 2;
	}
	p.protocol = strcmp(argv[1], "generic") == 0 ? SB_PROTOCOL_GENERIC
	                                             : SB_PROTOCOL_AUTO;
	p.prefix = rt_prefix(argv[1]);
	p.db = t_xasprintf("%s/redis-stress-%s", argv[2], p.prefix);
	char *opt = t_xasprintf("prefix=%s", p.prefix);
	p.uri = rt_with(server, opt);
	free(opt);
	uint64_t seed = t_seed();
	printf("stress %s: %zu processes x %zu threads, %zu items, %zu ids x %zu,"
	       " seed %llu, prefix %s\n", p.mode, p.procs, p.threads, p.items, p.ids,
	       p.repeat, (unsigned long long)seed, p.prefix);
	fflush(stdout);

	setup(&p);
	size_t nreq = p.ids * p.repeat;
	size_t *order = t_xcalloc(nreq, sizeof *order);
	for (size_t r = 0; r < nreq; r++)
		order[r] = r % p.ids;
	t_rng rng;
	t_rng_seed(&rng, seed);
	t_shuffle(&rng, order, nreq);

	int gate[2];
	if (pipe(gate) != 0) {
		perror("pipe");
		return 1;
	}
	pid_t *pids = t_xcalloc(p.procs, sizeof *pids);
	fflush(NULL);
	for (size_t i = 0; i < p.procs; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("fork");
			return 1;
		}
		if (pids[i] == 0) {
			close(gate[1]);
			_exit(child(&p, order, i, gate[0]));
		}
	}
	close(gate[0]);
	double t0 = now_s();
	close(gate[1]); /* go */
	for (size_t i = 0; i < p.procs; i++) {
		int status;
		while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR)
			;
		CHECKF(NULL, WIFEXITED(status) && WEXITSTATUS(status) == 0,
		       "worker process %zu: status %#x", i, status);
	}
	double secs = now_s() - t0;

	char **held = t_xcalloc(p.ids, sizeof *held);
	check_answers(&p, order, held);
	check_store(&p, held);
	printf("stress %s: %zu requests by %zu workers in %.2f s: %.0f "
	       "requests/s\n", p.mode, nreq, p.procs * p.threads, secs,
	       secs > 0 ? (double)nreq / secs : 0.0);

	for (size_t i = 0; i < p.ids; i++)
		free(held[i]);
	free(held);
	free(pids);
	free(order);
	free(p.uri);
	free(p.prefix);
	free((char *)p.db);
	return t_summary();
}
