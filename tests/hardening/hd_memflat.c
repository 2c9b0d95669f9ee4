/* Memory stays flat: one process adds a bank of 1,000,000 items and
 * performs 1,000,000 fetches (each a new id), on SQLite or Redis; its
 * resident set (/proc/self/statm) at the end is within 5% of what it was
 * after the first 10,000 fetches. Every fetch must succeed, and the
 * bank's counts must add up at the end. Run only in builds without
 * sanitizers (their allocators make RSS meaningless).
 *
 * Redis fetches run in 4 threads of the process (a box each): one
 * thread waits on round trips most of the time.
 *
 * Usage: hd_memflat sqlite DIR | hd_memflat redis
 * (SB_HD_FETCHES=N for a shorter run by hand; the test uses the default.) */
#include "hd.h"
#if defined(HD_WITH_REDIS)
#include "../redis/rtest.h"
#endif

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 50000 /* items per sb_box_add (Redis takes at most 50,000) */

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, res = 0;

	if (!f || fscanf(f, "%ld %ld", &size, &res) != 2)
		res = -1;
	if (f)
		fclose(f);
	return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

static char tag[48];
static char *db_uri; /* redis: the server on database 12 */

static char *store_uri(const char *backend, const char *dir)
{
	if (strcmp(backend, "sqlite") == 0) {
		char *p = t_xasprintf("%s/hd-memflat.db", dir), *u;
		unlink(p);
		u = t_xasprintf("sqlite:%s?synchronous=normal", p);
		free(p);
		return u;
	}
#if defined(HD_WITH_REDIS)
	if (strcmp(backend, "redis") == 0) {
		const char *server = t_env_need("SB_TEST_REDIS_URI");
		db_uri = t_uri_edit(server, &(t_uri_parts){ .path = "/12" });
		return t_xasprintf("%s?prefix=hdmem%s", db_uri, tag);
	}
#endif
	fprintf(stderr, "usage: hd_memflat sqlite DIR | hd_memflat redis\n");
	exit(1);
}

/* The run's data goes: the SQLite file, or the Redis keys. */
static void cleanup(const char *backend, const char *dir)
{
	if (strcmp(backend, "sqlite") == 0) {
		const char *sfx[] = { "", "-wal", "-shm", "-journal" };
		for (int i = 0; i < 4; i++) {
			char *p = t_xasprintf("%s/hd-memflat.db%s", dir,
			                      sfx[i]);
			unlink(p);
			free(p);
		}
		return;
	}
#if defined(HD_WITH_REDIS)
	redisContext *c = rt_connect(db_uri);
	char *pat = t_xasprintf("*hdmem%s*", tag);
	if (!c)
		return;
	rt_del_matching(c, pat, "UNLINK");
	free(pat);
	redisFree(c);
#endif
}

static void add_bank(sb_box *box, size_t n)
{
	char **items = t_xcalloc(CHUNK, sizeof *items);
	size_t i, k;

	for (i = 0; i < CHUNK; i++)
		items[i] = t_xmalloc(16);
	for (i = 0; i < n; i += CHUNK) {
		size_t m = n - i < CHUNK ? n - i : CHUNK;
		sb_add_result ar = { 0, 0 };
		for (k = 0; k < m; k++)
			snprintf(items[k], 16, "m%07zu", i + k);
		if (!CHECK_RC(box,
		              sb_box_add(&ar, box, "big",
		                         (const char *const *)items, m),
		              SB_OK))
			break;
		CHECK(box, ar.added == m);
	}
	for (i = 0; i < CHUNK; i++)
		free(items[i]);
	free(items);
}

typedef struct {
	sb_box *box;
	size_t first, step, n;
	size_t fails;
	pthread_t th;
} worker;

static size_t done; /* fetches so far, all threads */
static long rss_10k = -1;
static double t_start;

static void *fetch_run(void *arg)
{
	worker *w = arg;
	char id[24];
	size_t i;

	for (i = w->first; i < w->n; i += w->step) {
		sb_item *it = NULL;
		size_t k;
		snprintf(id, sizeof id, "u%07zu", i);
		if (sb_box_fetch(&it, w->box, "big", "ids", id) != SB_OK &&
		    w->fails++ < 5)
			CHECKF(w->box, 0, "fetch %zu failed", i);
		sb_item_free(it);
		k = __atomic_add_fetch(&done, 1, __ATOMIC_RELAXED);
		if (k == 10000)
			__atomic_store_n(&rss_10k, rss_kib(), __ATOMIC_RELAXED);
		if (k % 200000 == 0)
			printf("  %7zu fetches, %.1f s, RSS %ld KiB\n", k,
			       t_now_s() - t_start, rss_kib());
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *backend = argc > 1 ? argv[1] : "";
	const char *dir = argc > 2 ? argv[2] : ".";
	const char *env_n = getenv("SB_HD_FETCHES");
	size_t n = env_n ? (size_t)atol(env_n) : 1000000, i, fails = 0;
	/* Redis answers are round trips: threads (a box each, one process)
	 * keep the server busy. SQLite serializes writers anyway. */
	size_t nthreads = strcmp(backend, "redis") == 0 ? 4 : 1;
	worker w[4];
	long rss_end;
	double t0, t_add, t_fetch;
	sb_stats st;
	sb_box *box;
	char *uri;

	setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines as they come */
	snprintf(tag, sizeof tag, "%lx%ld", (long)time(NULL), (long)getpid());
	uri = store_uri(backend, dir);
	if (!(box = hd_open(uri, SB_PROTOCOL_AUTO)))
		return t_summary();
	t0 = t_now_s();
	add_bank(box, n);
	t_add = t_now_s() - t0;
	printf("%s: added %zu items in %.1f s; RSS %ld KiB\n", backend, n,
	       t_add, rss_kib());
	for (i = 0; i < nthreads; i++) {
		w[i].box = i == 0 ? box : hd_open(uri, SB_PROTOCOL_AUTO);
		w[i].first = i;
		w[i].step = nthreads;
		w[i].n = n;
		w[i].fails = 0;
		if (!w[i].box)
			return t_summary();
	}
	t_start = t0 = t_now_s();
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&w[i].th, NULL, fetch_run, &w[i]) != 0) {
			perror("pthread_create");
			return 1;
		}
	for (i = 0; i < nthreads; i++) {
		pthread_join(w[i].th, NULL);
		fails += w[i].fails;
	}
	t_fetch = t_now_s() - t0;
	rss_end = rss_kib();
	CHECKF(box, fails == 0, "%zu fetches failed", fails);
	CHECK_RC(box, sb_box_stats(&st, box, "big", "ids"), SB_OK);
	CHECKF(box, st.assigned == n && st.available == 0 && st.held == n,
	       "assigned %llu available %llu held %llu",
	       (unsigned long long)st.assigned,
	       (unsigned long long)st.available, (unsigned long long)st.held);
	printf("%s: %zu fetches (%zu thread%s) in %.1f s (%.0f/s); RSS after "
	       "10,000: %ld KiB, at the end: %ld KiB\n",
	       backend, n, nthreads, nthreads > 1 ? "s" : "", t_fetch,
	       (double)n / t_fetch, rss_10k, rss_end);
	if (n >= 10000)
		CHECKF(box, rss_10k > 0 && rss_end <= rss_10k + rss_10k / 20,
		       "RSS grew from %ld KiB to %ld KiB (more than 5%%)",
		       rss_10k, rss_end);
	for (i = 0; i < nthreads; i++)
		sb_box_close(w[i].box);
	cleanup(backend, dir);
	free(uri);
	free(db_uri);
	return t_summary();
}
