/* Redis server faults while clients claim:
 *   flush    SCRIPT FLUSH every few milliseconds: every script call meets
 *            NOSCRIPT now and then, reloads and retries; callers never
 *            see an error (and the server counts the NOSCRIPT errors, so
 *            the path was taken).
 *   restart  redis-server is stopped (SIGTERM, append-only file on) and
 *            started again mid-run by $SB_TEST_REDIS_RESTART: calls in
 *            flight fail with clear errors (connection lost, timeout,
 *            loading), later calls succeed, and every law of DESIGN.md §2
 *            holds at the end.
 * Half the workers use the fused claim, half the generic path. Each
 * phase uses its own key prefix. Nothing depends on timing: workers take
 * requests only below a gate, and each fault opens it when it is in
 * place (after the first flush; a restart only once the workers wait at
 * the gate, connected), so a busy machine changes the speed, not what
 * is tested. */
#include "rtest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NTHREADS 8
#define NITEMS   3000
#define NIDS     2000
#define REPEAT   3
#define NREQ     (NIDS * REPEAT)

static const char *server;
static char *uri; /* server + this phase's prefix */

typedef struct {
	char *value;
	char *bank;
} answer;

static answer answers[NREQ];
static size_t order[NREQ];
static size_t next_req;  /* atomic */
static size_t gate;      /* atomic: requests below it may be taken */
static int running;      /* atomic: workers still going */
static int fault_errors; /* atomic: expected errors seen */
static int other_errors; /* atomic: anything else */
static pthread_mutex_t msg_lock = PTHREAD_MUTEX_INITIALIZER;
static char first_msg[SB_ERRMSG_SIZE];

static sb_box *open_box(sb_protocol proto)
{
	sb_open_opts o = SB_OPEN_OPTS_INIT;
	o.protocol = proto;
	char err[SB_ERRMSG_SIZE];
	sb_box *box = NULL;
	double give_up = t_now_s() + 30;
	/* The server may be restarting: opening may fail for a while. */
	while (sb_box_open(&box, uri, &o, err, sizeof err) != SB_OK) {
		if (t_now_s() > give_up) {
			fprintf(stderr, "open: %s\n", err);
			return NULL;
		}
		t_nap_ms(50);
	}
	return box;
}

/* The next request to make, or NREQ when the run is over; waits while
 * the next one is at the gate. */
static size_t take_request(void)
{
	size_t r = __atomic_load_n(&next_req, __ATOMIC_SEQ_CST);

	while (r < NREQ) {
		if (r >= __atomic_load_n(&gate, __ATOMIC_SEQ_CST)) {
			t_nap_ms(2);
			r = __atomic_load_n(&next_req, __ATOMIC_SEQ_CST);
		} else if (__atomic_compare_exchange_n(&next_req, &r, r + 1, 0,
		                                       __ATOMIC_SEQ_CST,
		                                       __ATOMIC_SEQ_CST)) {
			return r;
		}
	}
	return NREQ;
}

static void open_gate(size_t to)
{
	__atomic_store_n(&gate, to, __ATOMIC_SEQ_CST);
}

static void *worker(void *arg)
{
	long w = (long)arg;
	sb_box *box = open_box(w % 2 ? SB_PROTOCOL_GENERIC : SB_PROTOCOL_AUTO);
	size_t r;

	while (box && (r = take_request()) < NREQ) {
		char id[32];
		snprintf(id, sizeof id, "id-%05zu", order[r]);
		double give_up = t_now_s() + 60;
		for (;;) {
			sb_item *it = NULL;
			int rc = sb_box_fetch(&it, box, "bank", "ledger", id);
			if (rc == SB_OK) {
				answers[r].value = t_xstrdup(sb_item_value(it));
				answers[r].bank = t_xstrdup(sb_item_bank(it));
				sb_item_free(it);
				break;
			}
			const char *m = sb_box_errmsg(box);
			int expected = rc == SB_ECONNECT || rc == SB_ETIMEOUT ||
			               rc == SB_EBUSY;
			__atomic_add_fetch(expected ? &fault_errors
			                            : &other_errors,
			                   1, __ATOMIC_SEQ_CST);
			CHECKF(box, expected, "fetch %s: %d", id, rc);
			CHECKF(box, !t_contains(m, "@") && m[0], "message: %s",
			       m);
			pthread_mutex_lock(&msg_lock);
			if (!first_msg[0])
				snprintf(first_msg, sizeof first_msg, "%d %s",
				         rc, m);
			pthread_mutex_unlock(&msg_lock);
			if (!CHECKF(box, t_now_s() < give_up,
			            "fetch %s failing "
			            "for a minute",
			            id))
				break;
			t_nap_ms(20);
		}
	}
	sb_box_close(box);
	__atomic_sub_fetch(&running, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static long long info_field(redisContext *c, const char *section,
                            const char *field)
{
	redisReply *r = rt_cmd(c, "INFO", section, NULL);
	long long v = 0;
	if (r && r->type == REDIS_REPLY_STRING) {
		const char *p = strstr(r->str, field);
		if (p)
			v = atoll(p + strlen(field));
	}
	if (r)
		freeReplyObject(r);
	return v;
}

typedef struct {
	t_map *m;
} acc_t;

static int export_cb(const char *id, const char *bank, const char *item,
                     void *payload)
{
	acc_t *a = payload;
	char *v = t_xasprintf("%s %s", bank, item);
	CHECKF(NULL, t_map_put(a->m, id, v), "id %s exported twice", id);
	free(v);
	return 0;
}

/* Every law, from the answers and from the store. */
static void check_laws(const char *phase)
{
	t_map held, owner;
	t_map_init(&held);
	t_map_init(&owner);
	for (size_t r = 0; r < NREQ; r++) {
		char id[32];
		snprintf(id, sizeof id, "id-%05zu", order[r]);
		if (!CHECKF(NULL, answers[r].value,
		            "%s: request %zu (%s) has "
		            "no answer",
		            phase, r, id))
			continue;
		CHECK(NULL, strcmp(answers[r].bank, "bank") == 0);
		if (!t_map_put(&held, id, answers[r].value)) /* laws 2, 3 */
			CHECKF(NULL,
			       strcmp(t_map_get(&held, id), answers[r].value) ==
			               0,
			       "%s: %s got %s and %s", phase, id,
			       t_map_get(&held, id), answers[r].value);
		else if (!t_map_put(&owner, answers[r].value, id)) /* law 1 */
			CHECKF(NULL, 0, "%s: %s given to %s and %s", phase,
			       answers[r].value,
			       t_map_get(&owner, answers[r].value), id);
	}
	/* Law 5: more items than ids, so every id holds one. */
	CHECKF(NULL, held.n == NIDS, "%s: %zu of %d ids hold an item", phase,
	       held.n, NIDS);

	sb_box *box = open_box(SB_PROTOCOL_AUTO);
	if (!CHECK(NULL, box != NULL))
		goto out;
	sb_recover_result rr;
	CHECK_RC(box, sb_box_recover(&rr, box, "bank", "ledger", NULL), SB_OK);
	sb_stats st;
	CHECK_RC(box, sb_box_stats(&st, box, "bank", "ledger"), SB_OK);
	/* Law 4: conservation, nothing left reserved after recover. */
	CHECKF(box,
	       st.available + st.assigned + st.reserved == NITEMS &&
	               st.reserved == 0 && st.assigned == NIDS &&
	               st.held == NIDS,
	       "%s: available %llu reserved %llu assigned %llu held %llu",
	       phase, (unsigned long long)st.available,
	       (unsigned long long)st.reserved, (unsigned long long)st.assigned,
	       (unsigned long long)st.held);
	t_map exp;
	t_map_init(&exp);
	acc_t acc = { &exp };
	CHECK_RC(box, sb_box_export(box, "ledger", export_cb, &acc), SB_OK);
	CHECKF(box, exp.n == NIDS, "%s: export %zu", phase, exp.n);
	for (size_t i = 0; i < held.cap; i++) {
		if (!held.keys[i])
			continue;
		char *w = t_xasprintf("bank %s", held.vals[i]);
		const char *g = t_map_get(&exp, held.keys[i]);
		CHECKF(box, g && strcmp(g, w) == 0,
		       "%s: %s exported %s, "
		       "answered %s",
		       phase, held.keys[i], g ? g : "-", w);
		free(w);
	}
	t_map_free(&exp);
	/* Law 6: re-adding every item skips them all. */
	char **items = t_xcalloc(NITEMS, sizeof *items);
	for (size_t i = 0; i < NITEMS; i++)
		items[i] = t_xasprintf("item-%05zu", i);
	sb_add_result res;
	CHECK_RC(box,
	         sb_box_add(&res, box, "bank", (const char *const *)items,
	                    NITEMS),
	         SB_OK);
	CHECK(box, res.added == 0 && res.skipped == NITEMS);
	for (size_t i = 0; i < NITEMS; i++)
		free(items[i]);
	free(items);
	sb_box_close(box);
out:
	t_map_free(&held);
	t_map_free(&owner);
}

/* Load the bank, run the workers while @p fault runs, check. */
static void run_phase(const char *phase, void (*fault)(void))
{
	char *prefix = rt_prefix(phase);
	char *opt = t_xasprintf("prefix=%s", prefix);
	uri = t_uri_opt(server, opt);
	free(opt);
	printf("%s: prefix %s, %d threads, %d items, %d ids x %d\n", phase,
	       prefix, NTHREADS, NITEMS, NIDS, REPEAT);
	fflush(stdout);
	memset(answers, 0, sizeof answers);
	next_req = 0;
	gate = 0; /* the fault opens it */
	fault_errors = other_errors = 0;
	first_msg[0] = '\0';

	sb_box *box = open_box(SB_PROTOCOL_AUTO);
	if (!CHECK(NULL, box != NULL))
		goto out;
	char **items = t_xcalloc(NITEMS, sizeof *items);
	for (size_t i = 0; i < NITEMS; i++)
		items[i] = t_xasprintf("item-%05zu", i);
	sb_add_result res;
	CHECK_RC(box,
	         sb_box_add(&res, box, "bank", (const char *const *)items,
	                    NITEMS),
	         SB_OK);
	for (size_t i = 0; i < NITEMS; i++)
		free(items[i]);
	free(items);
	sb_box_close(box);

	pthread_t th[NTHREADS];
	running = NTHREADS;
	double t0 = t_now_s();
	for (long t = 0; t < NTHREADS; t++)
		pthread_create(&th[t], NULL, worker, (void *)t);
	fault();
	open_gate(NREQ); /* whatever the fault did */
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	printf("%s: %d requests in %.2f s; %d expected errors (first: %s), "
	       "%d others\n",
	       phase, NREQ, t_now_s() - t0, fault_errors,
	       first_msg[0] ? first_msg : "-", other_errors);
	CHECK(NULL, other_errors == 0);
	check_laws(phase);
out:
	for (size_t r = 0; r < NREQ; r++) {
		free(answers[r].value);
		free(answers[r].bank);
	}
	free(uri);
	free(prefix);
}

/* Add 1,500 new items to bank "bulk" (a MULTI/EXEC of two script
 * chunks); 1 if that worked. */
static int bulk_add(sb_box *adder, char **items, int n)
{
	for (size_t i = 0; i < 1500; i++)
		items[i] = t_xasprintf("bulk-%d-%zu", n, i);
	sb_add_result res = { 0, 0 };
	int ok = CHECK_RC(adder,
	                  sb_box_add(&res, adder, "bulk",
	                             (const char *const *)items, 1500),
	                  SB_OK) &&
	         CHECK(adder, res.added == 1500 && res.skipped == 0);
	for (size_t i = 0; i < 1500; i++)
		free(items[i]);
	return ok;
}

static void flush_scripts(void)
{
	redisContext *c = rt_connect(server);
	if (!CHECK(NULL, c != NULL))
		return;
	long long before = info_field(c, "errorstats",
	                              "errorstat_NOSCRIPT:count=");
	int flushes = 0, adds = 0;
	/* The adder's first add loads the scripts; each later one comes
	 * right after a flush, so its MULTI/EXEC of several script chunks
	 * meets NOSCRIPT, for sure, and must be redone whole. */
	sb_box *adder = open_box(SB_PROTOCOL_AUTO);
	char **items = t_xcalloc(1500, sizeof *items);
	if (adder)
		adds += bulk_add(adder, items, adds);
	do {
		redisReply *r = rt_cmd(c, "SCRIPT", "FLUSH", NULL);
		CHECK(NULL, r && r->type == REDIS_REPLY_STATUS);
		if (r)
			freeReplyObject(r);
		flushes++;
		if (adder && flushes % 10 == 1)
			adds += bulk_add(adder, items, adds);
		if (flushes == 1) /* the claims start after a flush too */
			open_gate(NREQ);
		t_nap_ms(5);
	} while (__atomic_load_n(&running, __ATOMIC_SEQ_CST) > 0);
	sb_stats st;
	if (adder) {
		CHECK_RC(adder, sb_box_stats(&st, adder, "bulk", NULL), SB_OK);
		CHECKF(adder, st.available == (uint64_t)adds * 1500,
		       "bulk: %llu available after %d adds",
		       (unsigned long long)st.available, adds);
	}
	sb_box_close(adder);
	free(items);
	long long after = info_field(c, "errorstats",
	                             "errorstat_NOSCRIPT:count=");
	printf("flush: %d SCRIPT FLUSH, %d bulk adds, %lld NOSCRIPT answers "
	       "reloaded\n",
	       flushes, adds, after - before);
	CHECKF(NULL, after > before, "no NOSCRIPT seen (%lld -> %lld)", before,
	       after);
	CHECK(NULL, fault_errors == 0); /* reloading is invisible */
	redisFree(c);
}

/* Wait until the workers have taken every request below the gate (they
 * then wait at it, connected); 0 after two minutes. */
static int workers_at_gate(size_t at)
{
	double give_up = t_now_s() + 120;

	while (__atomic_load_n(&next_req, __ATOMIC_SEQ_CST) < at)
		if (t_now_s() > give_up)
			return 0;
		else
			t_nap_ms(5);
	return 1;
}

static void restart_server(void)
{
	const char *cmd = getenv("SB_TEST_REDIS_RESTART");
	if (!CHECKF(NULL, cmd && *cmd, "SB_TEST_REDIS_RESTART not set"))
		return;
	/* Twice: at a third and at two thirds of the run. Every worker that
	 * made a request is connected, so its next one meets the restart. */
	for (int i = 1; i <= 2; i++) {
		size_t at = (size_t)NREQ * (size_t)i / 3;
		open_gate(at);
		if (!CHECKF(NULL, workers_at_gate(at),
		            "restart %d: workers "
		            "stuck before request %zu",
		            i, at))
			return;
		double t0 = t_now_s();
		int st = system(cmd);
		CHECKF(NULL, st == 0, "%s: status %d", cmd, st);
		printf("restart %d: done in %.2f s at request %zu of %d\n", i,
		       t_now_s() - t0, at, NREQ);
		fflush(stdout);
	}
}

int main(void)
{
	server = t_env_need("SB_TEST_REDIS_URI");
	uint64_t seed = t_seed();
	t_rng rng;
	t_rng_seed(&rng, seed);
	for (size_t r = 0; r < NREQ; r++)
		order[r] = r % NIDS;
	t_shuffle(&rng, order, NREQ);
	printf("redis faults, seed %llu\n", (unsigned long long)seed);
	run_phase("flush", flush_scripts);
	run_phase("restart", restart_server);
	CHECKF(NULL, fault_errors > 0, "the restarts caused no error");
	return t_summary();
}
