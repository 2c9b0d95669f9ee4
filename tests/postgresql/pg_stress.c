/* PostgreSQL stress and server-fault test: processes x threads (one box,
 * so one connection, per thread) hammer one bank and ledger. Afterwards
 * the parent checks every law of DESIGN.md §2 from the answers, through
 * the API, and from the tables through libpq.
 *
 * usage: pg_stress fused|generic [restart]
 * With `restart`, the parent restarts the server (`$SB_TEST_PG_CTL
 * restart -m fast`) once an eighth of the requests are answered (items
 * still available): calls in
 * flight must fail with SB_ECONNECT and a message without the password,
 * each request is retried until it gets an answer (the next call
 * reconnects), and the laws must hold at the end.
 *
 * Sizes (env): SB_STRESS_PROCS (8), SB_STRESS_THREADS (4), SB_STRESS_ITEMS
 * (5000), SB_STRESS_IDS (8000), SB_STRESS_REPEAT (3); SB_TEST_SEED. */
#include "pg_tests.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
	size_t procs, threads, items, ids, repeat;
	sb_protocol protocol;
	const char *mode;
	const char *uri;
	char *password;
	int restart;
	char *bank, *ledger, *tag;
	long *progress; /* shared with the children: answers so far */
	long *errors;   /* shared: failed calls (restart mode) */
} params;

typedef struct {
	size_t req;
	int rc;
	char *value;
	char *bank;
} answer;

typedef struct {
	const params *p;
	const size_t *order;
	size_t worker, nworkers;
	answer *out;
	size_t nout;
	int bad_errors; /* errors that are not allowed, or leak the password */
} worker;

static size_t env_size(const char *name, size_t def)
{
	const char *v = getenv(name);
	return v && *v ? (size_t)strtoul(v, NULL, 10) : def;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static sb_box *open_box(const params *p, sb_protocol protocol)
{
	sb_open_opts o = SB_OPEN_OPTS_INIT;
	char err[SB_ERRMSG_SIZE] = "";
	sb_box *box = NULL;
	o.protocol = protocol;
	int rc = sb_box_open(&box, p->uri, &o, err, sizeof err);
	if (rc != SB_OK) {
		fprintf(stderr, "open: %d %s\n", rc, err);
		return NULL;
	}
	return box;
}

/* One failed call: allowed only while the server restarts. */
static void note_error(worker *w, int rc, const char *msg, const char *id)
{
	const params *p = w->p;
	long n = __atomic_add_fetch(p->errors, 1, __ATOMIC_SEQ_CST);
	int leak = p->password && t_contains(msg, p->password);

	if (!p->restart || rc != SB_ECONNECT || leak || !msg || !*msg) {
		w->bad_errors++;
		fprintf(stderr, "worker %zu: fetch %s: %d (%s) %s%s\n",
		        w->worker, id, rc, sb_strerror(rc), msg ? msg : "",
		        leak ? " [SHOWS THE PASSWORD]" : "");
	} else if (n <= 3) {
		printf("expected error during the restart: %s\n", msg);
		fflush(stdout);
	}
}

static void *work(void *arg)
{
	worker *w = arg;
	const params *p = w->p;
	size_t nreq = p->ids * p->repeat;
	sb_box *box = NULL;

	w->out = t_xcalloc(nreq / w->nworkers + 1, sizeof *w->out);
	/* Opening may meet the restart too. */
	for (int tries = 0; !box && tries < 600; tries++)
		if (!(box = open_box(p, p->protocol)))
			nap_ms(50);
	for (size_t r = w->worker; r < nreq; r += w->nworkers) {
		answer *a = &w->out[w->nout++];
		char id[32];
		a->req = r;
		a->rc = SB_ERROR;
		if (!box)
			continue;
		snprintf(id, sizeof id, "stress-id-%05zu", w->order[r]);
		double deadline = pgt_now() + 60;
		for (;;) {
			sb_item *it = NULL;
			a->rc = sb_box_fetch(&it, box, p->bank, p->ledger, id);
			if (a->rc == SB_OK) {
				a->value = t_xstrdup(sb_item_value(it));
				a->bank = t_xstrdup(sb_item_bank(it));
			}
			sb_item_free(it);
			if (a->rc >= 0)
				break;
			note_error(w, a->rc, sb_box_errmsg(box), id);
			if (!p->restart || pgt_now() > deadline)
				break;
			nap_ms(20);
		}
		__atomic_add_fetch(p->progress, 1, __ATOMIC_SEQ_CST);
	}
	sb_box_close(box);
	return NULL;
}

static char *results_path(const params *p, size_t proc)
{
	const char *dir = getenv("TMPDIR");
	return t_xasprintf("%s/%s.results.%zu", dir && *dir ? dir : "/tmp",
	                   p->tag, proc);
}

static int child(const params *p, const size_t *order, size_t proc, int gate)
{
	char c;
	while (read(gate, &c, 1) < 0 && errno == EINTR)
		;
	close(gate);
	worker *ws = t_xcalloc(p->threads, sizeof *ws);
	pthread_t *th = t_xcalloc(p->threads, sizeof *th);
	for (size_t t = 0; t < p->threads; t++) {
		ws[t] = (worker){ p, order, proc * p->threads + t,
		                  p->procs * p->threads, NULL, 0, 0 };
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

static void setup(const params *p)
{
	sb_box *box = open_box(p, SB_PROTOCOL_AUTO);
	if (!box)
		exit(1);
	CHECK_RC(box, sb_box_init(box, p->bank, p->ledger), SB_OK);
	char **items = t_xcalloc(p->items, sizeof *items);
	for (size_t i = 0; i < p->items; i++)
		items[i] = t_xasprintf("stress-item-%05zu", i);
	sb_add_result res = { 0, 0 };
	CHECK_RC(box, sb_box_add(&res, box, p->bank,
	                         (const char *const *)items, p->items), SB_OK);
	CHECK(box, res.added == p->items && res.skipped == 0);
	for (size_t i = 0; i < p->items; i++)
		free(items[i]);
	free(items);
	sb_box_close(box); /* no connection may cross fork() */
}

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
			oks++;
			size_t id = order[req];
			unsigned long k;
			char tail;
			if (sscanf(val, "stress-item-%lu%c", &k, &tail) != 1 ||
			    k >= p->items || strcmp(bank, p->bank) != 0) {
				CHECKF(NULL, 0, "unknown item %s from %s", val, bank);
				continue;
			}
			if (!held[id]) {
				held[id] = t_xstrdup(val);
				char idk[32];
				snprintf(idk, sizeof idk, "%zu", id);
				/* Law 1: no item held by two ids. */
				if (!t_map_put(&owner, val, idk))
					CHECKF(NULL, 0, "item %s to ids %s and %s",
					       val, t_map_get(&owner, val), idk);
			} else {
				/* Laws 2 and 3: one item per id, always. */
				CHECKF(NULL, strcmp(held[id], val) == 0,
				       "id %zu got %s and %s", id, held[id], val);
			}
		}
		fclose(f);
		unlink(path);
		free(path);
	}
	size_t missing = 0;
	for (size_t r = 0; r < nreq; r++)
		missing += !got[r];
	CHECKF(NULL, errors == 0, "%zu requests got no answer", errors);
	CHECKF(NULL, missing == 0 && dup == 0 && bad == 0,
	       "%zu requests unanswered, %zu twice, %zu bad lines", missing,
	       dup, bad);
	printf("answers: %zu items, %zu empty, %zu without answer\n", oks,
	       empties, errors);
	t_map_free(&owner);
	free(got);
}

typedef struct {
	t_map *seen;
} export_acc;

static int export_cb(const char *id, const char *bank, const char *item,
                     void *payload)
{
	export_acc *acc = payload;
	char *v = t_xasprintf("%s %s", item, bank);
	if (!t_map_put(acc->seen, id, v))
		CHECKF(NULL, 0, "id %s exported twice", id);
	free(v);
	return 0;
}

/* The tables themselves, through libpq. */
static void check_tables(const params *p, size_t holders)
{
	PGconn *c = pgt_connect(p->uri);
	const char *pb[1] = { p->bank };
	long long bid = pgt_num(c, "SELECT id FROM storagebox.sb_bank"
	                           " WHERE name = $1", 1, pb);
	char bids[24];
	snprintf(bids, sizeof bids, "%lld", bid);
	const char *pl[3] = { bids, p->ledger, p->bank };
	long long items = pgt_num(c, "SELECT count(*) FROM storagebox.sb_item"
	                             " WHERE bank_id = $1", 1, pl);
	long long avail = pgt_num(c, "SELECT count(*) FROM"
	                             " storagebox.sb_available"
	                             " WHERE bank_id = $1", 1, pl);
	long long reserved = pgt_num(c, "SELECT count(*) FROM"
	                                " storagebox.sb_taken WHERE bank_id = $1"
	                                " AND NOT settled", 1, pl);
	long long entries = pgt_num(c, "SELECT count(*) FROM"
	                               " storagebox.sb_ledger WHERE ledger = $2"
	                               " AND bank = $3 AND $1 <> ''", 3, pl);
	long long twice = pgt_num(c, "SELECT count(*) FROM (SELECT item FROM"
	                             " storagebox.sb_ledger WHERE ledger = $2"
	                             " AND $1 <> '' GROUP BY item"
	                             " HAVING count(*) > 1) d", 2, pl);
	long long both = pgt_num(c, "SELECT count(*) FROM"
	                            " storagebox.sb_available a JOIN"
	                            " storagebox.sb_ledger l ON l.item = a.item"
	                            " AND l.ledger = $2 WHERE a.bank_id = $1",
	                         2, pl);
	long long dupav = pgt_num(c, "SELECT count(*) - count(DISTINCT item)"
	                             " FROM storagebox.sb_available"
	                             " WHERE bank_id = $1", 1, pl);
	printf("tables: %lld items, %lld available, %lld reserved, %lld "
	       "ledger entries\n", items, avail, reserved, entries);
	CHECKF(NULL, items == (long long)p->items, "sb_item has %lld", items);
	CHECKF(NULL, reserved == 0, "sb_taken: %lld reserved", reserved);
	CHECKF(NULL, avail + entries + reserved == (long long)p->items,
	       "conservation in the tables: %lld + %lld + %lld != %zu", avail,
	       entries, reserved, p->items);
	CHECKF(NULL, entries == (long long)holders, "ledger rows %lld, "
	       "holders %zu", entries, holders);
	CHECKF(NULL, twice == 0, "%lld items held by two ids", twice);
	CHECKF(NULL, both == 0, "%lld items both available and assigned",
	       both);
	CHECKF(NULL, dupav == 0, "%lld items available twice", dupav);
	PQfinish(c);
}

static void check_store(const params *p, char **held)
{
	sb_box *box = open_box(p, p->protocol);
	if (!CHECK(NULL, box != NULL))
		return;
	sb_stats st;
	CHECK_RC(box, sb_box_stats(&st, box, p->bank, p->ledger), SB_OK);
	/* Without a restart every call finished: nothing left reserved. A
	 * generic claim cut off by the restart may leave one: recover. */
	if (!p->restart)
		CHECKF(box, st.reserved == 0, "reserved %llu after the run",
		       (unsigned long long)st.reserved);
	sb_recover_result rr = { 9, 9, 9 };
	CHECK_RC(box, sb_box_recover(&rr, box, p->bank, p->ledger, NULL),
	         SB_OK);
	CHECK_RC(box, sb_box_stats(&st, box, p->bank, p->ledger), SB_OK);
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
		       "%zu of %zu ids hold one",
		       (unsigned long long)st.available, holders, p->ids);
	if (p->protocol == SB_PROTOCOL_AUTO)
		CHECKF(box, holders == want && st.available == p->items - want,
		       "fused: %zu holders (want %zu), available %llu", holders,
		       want, (unsigned long long)st.available);

	t_map seen;
	t_map_init(&seen);
	export_acc acc = { &seen };
	CHECK_RC(box, sb_box_export(box, p->ledger, export_cb, &acc), SB_OK);
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
		char *w = t_xasprintf("%s %s", held[i], p->bank);
		CHECKF(box, e && strcmp(e, w) == 0, "%s: export %s, answer %s",
		       id, e ? e : "(none)", w);
		free(w);
	}
	t_map_free(&seen);
	sb_box_close(box);
	check_tables(p, holders);
}

static void restart_server(const params *p, size_t nreq)
{
	const char *ctl = getenv("SB_TEST_PG_CTL");
	/* Wait until an eighth of the work is done (the bank is far from
	 * empty): the restart hits claims in flight on every connection. */
	double limit = pgt_now() + 120;
	while (__atomic_load_n(p->progress, __ATOMIC_SEQ_CST) < (long)nreq / 8 &&
	       pgt_now() < limit)
		nap_ms(10);
	char *cmd = t_xasprintf("%s restart -m fast -w -t 60 >/dev/null", ctl);
	double t0 = pgt_now();
	int rc = system(cmd);
	printf("server restarted after %ld answers (%.2f s): status %d\n",
	       __atomic_load_n(p->progress, __ATOMIC_SEQ_CST), pgt_now() - t0,
	       rc);
	fflush(stdout);
	CHECKF(NULL, rc == 0, "'%s' failed: %d", cmd, rc);
	free(cmd);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3 ||
	    (strcmp(argv[1], "fused") && strcmp(argv[1], "generic")) ||
	    (argc == 3 && strcmp(argv[2], "restart"))) {
		fprintf(stderr, "usage: %s fused|generic [restart]\n", argv[0]);
		return 2;
	}
	params p = {
		.procs = env_size("SB_STRESS_PROCS", 8),
		.threads = env_size("SB_STRESS_THREADS", 4),
		.items = env_size("SB_STRESS_ITEMS", 5000),
		.ids = env_size("SB_STRESS_IDS", 8000),
		.repeat = env_size("SB_STRESS_REPEAT", 3),
		.mode = argv[1],
		.restart = argc == 3,
	};
	p.uri = pgt_uri();
	if (p.restart && !getenv("SB_TEST_PG_CTL")) {
		const char *ci = getenv("CI");
		fprintf(stderr, "SB_TEST_PG_CTL not set: cannot restart the "
		                "server%s\n", ci && !strcmp(ci, "true") ? "" :
		                ": skipped");
		return ci && !strcmp(ci, "true") ? 1 : T_SKIP;
	}
	if (!p.procs || !p.threads || !p.ids || !p.repeat) {
		fprintf(stderr, "sizes must be positive\n");
		return 2;
	}
	p.protocol = strcmp(argv[1], "generic") == 0 ? SB_PROTOCOL_GENERIC
	                                             : SB_PROTOCOL_AUTO;
	p.password = pgt_password(p.uri);
	uint64_t seed = t_seed();
	p.tag = t_xasprintf("pgstress-%s%s-%lx-%ld", p.mode,
	                    p.restart ? "-restart" : "", (long)time(NULL),
	                    (long)getpid());
	p.bank = t_xasprintf("%s-bank", p.tag);
	p.ledger = t_xasprintf("%s-ledger", p.tag);
	long *shared = mmap(NULL, 2 * sizeof(long), PROT_READ | PROT_WRITE,
	                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	p.progress = &shared[0];
	p.errors = &shared[1];
	char *ru = t_redact_uri(p.uri);
	printf("pg stress %s%s: %zu processes x %zu threads, %zu items, %zu "
	       "ids x %zu, seed %llu, %s, bank %s\n", p.mode,
	       p.restart ? " with a server restart" : "", p.procs, p.threads,
	       p.items, p.ids, p.repeat, (unsigned long long)seed, ru, p.bank);
	free(ru);
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
	double t0 = pgt_now();
	close(gate[1]); /* go */
	if (p.restart)
		restart_server(&p, nreq);
	for (size_t i = 0; i < p.procs; i++) {
		int status;
		while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR)
			;
		CHECKF(NULL, WIFEXITED(status) && WEXITSTATUS(status) == 0,
		       "worker process %zu: status %#x", i, status);
	}
	double secs = pgt_now() - t0;
	if (p.restart)
		CHECKF(NULL, *p.errors > 0, "the restart failed no call");
	printf("failed calls (retried): %ld\n", *p.errors);

	char **held = t_xcalloc(p.ids, sizeof *held);
	check_answers(&p, order, held);
	check_store(&p, held);
	printf("pg stress %s: %zu requests by %zu workers in %.2f s: %.0f "
	       "requests/s\n", p.mode, nreq, p.procs * p.threads, secs,
	       secs > 0 ? (double)nreq / secs : 0.0);

	for (size_t i = 0; i < p.ids; i++)
		free(held[i]);
	free(held);
	free(pids);
	free(order);
	free(p.password);
	free(p.tag);
	free(p.bank);
	free(p.ledger);
	munmap(shared, 2 * sizeof(long));
	return t_summary();
}
