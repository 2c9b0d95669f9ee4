/* A baseline for the Redis benchmark (tools/bench/redis.sh): a script run
 * under EVALSHA by CLIENTS threads, each with its own blocking hiredis
 * connection, the way a C program that wrote its claim by hand would call
 * Redis. No storagebox code: the difference between this and
 * redis-benchmark (one thread, an event loop over every connection) is
 * what a threaded client costs on the same cores, and the difference
 * between this and `storagebox bench` is storagebox's own client.
 *
 *   redis_threads HOST PORT CLIENTS REQUESTS SHA NUMKEYS [KEY|ARG]...
 *
 * The password, if any, comes from REDISCLI_AUTH (never on the command
 * line). In the arguments, __rand_int__ is replaced per call by a random
 * number below 10^8 (as redis-benchmark -r does), so that ids are new.
 * The clock starts once every client is connected and stops when the
 * last call has been answered. Prints one line, "calls_per_s N"; exits 1
 * if any call failed or answered an error. */
#include <hiredis/hiredis.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define RAND_MARK "__rand_int__"

typedef struct {
	const char *host, *pass;
	int port;
	uint64_t requests;
	int argc; /* EVALSHA, sha, numkeys, keys and args */
	const char **argv;
	unsigned ready;  /* atomic: clients connected (or failed) */
	int go;          /* atomic: start */
	uint64_t next;   /* atomic: calls handed out */
	uint64_t failed; /* atomic */
} run;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void nap_us(long us)
{
	struct timespec ts = { 0, us * 1000 };

	nanosleep(&ts, NULL);
}

/* xorshift64*, seeded per thread from getrandom(): each thread's ids
 * are independent (rand_r seeded from a stack address and the clock gave
 * two threads the same ids once: a run with 5,000 repeats). */
static uint64_t next_rand(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * UINT64_C(2685821657736338717);
}

/* Write @p in into @p out (room for strlen(in) + 16) with its first
 * __rand_int__ replaced by a random number below 10^8; its length. */
static size_t with_rand(char *out, const char *in, uint64_t *x)
{
	const char *m = strstr(in, RAND_MARK);

	return (size_t)sprintf(out, "%.*s%08u%s", (int)(m - in), in,
	                       (unsigned)(next_rand(x) % 100000000u),
	                       m + strlen(RAND_MARK));
}

static redisContext *dial(const run *r)
{
	redisContext *c = redisConnect(r->host, r->port);
	redisReply *rep;

	if (!c || c->err) {
		fprintf(stderr, "redis_threads: connect: %s\n",
		        c ? c->errstr : "out of memory");
		redisFree(c);
		return NULL;
	}
	if (!r->pass)
		return c;
	rep = redisCommand(c, "AUTH %s", r->pass);
	if (!rep || rep->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "redis_threads: AUTH refused\n");
		freeReplyObject(rep);
		redisFree(c);
		return NULL;
	}
	freeReplyObject(rep);
	return c;
}

static void *client(void *arg)
{
	run *r = arg;
	redisContext *c = dial(r);
	const char **argv = NULL;
	char **buf = NULL;
	size_t *lens = NULL;
	uint64_t seed = 0;
	int i, fail = !c;

	if (getrandom(&seed, sizeof seed, 0) != sizeof seed || !seed)
		seed = mono_ns() | 1;

	/* Per argument: its own text, or a buffer when it has the mark,
	 * filled anew for each call (no allocation inside the loop). */
	argv = calloc((size_t)r->argc, sizeof(*argv));
	buf = calloc((size_t)r->argc, sizeof(*buf));
	lens = calloc((size_t)r->argc, sizeof(*lens));
	fail |= !argv || !buf || !lens;
	for (i = 0; !fail && i < r->argc; i++) {
		argv[i] = r->argv[i];
		lens[i] = strlen(argv[i]);
		if (strstr(r->argv[i], RAND_MARK)) {
			buf[i] = malloc(lens[i] + 16);
			fail |= !buf[i];
			argv[i] = buf[i];
		}
	}
	__atomic_add_fetch(&r->ready, 1, __ATOMIC_SEQ_CST);
	if (fail) {
		__atomic_add_fetch(&r->failed, 1, __ATOMIC_RELAXED);
		goto out;
	}
	while (!__atomic_load_n(&r->go, __ATOMIC_ACQUIRE))
		nap_us(100);
	while (__atomic_fetch_add(&r->next, 1, __ATOMIC_RELAXED) < r->requests) {
		redisReply *rep;

		for (i = 0; i < r->argc; i++)
			if (buf[i])
				lens[i] = with_rand(buf[i], r->argv[i], &seed);
		rep = redisCommandArgv(c, r->argc, argv, lens);
		if (!rep || rep->type == REDIS_REPLY_ERROR) {
			if (__atomic_fetch_add(&r->failed, 1,
			                       __ATOMIC_RELAXED) == 0)
				fprintf(stderr, "redis_threads: %s\n",
				        rep ? rep->str : c->errstr);
			freeReplyObject(rep);
			if (!rep)
				break;
			continue;
		}
		freeReplyObject(rep);
	}
out:
	for (i = 0; buf && i < r->argc; i++)
		free(buf[i]);
	free(buf);
	free(argv);
	free(lens);
	redisFree(c);
	return NULL;
}

int main(int argc, char **argv)
{
	run r = { 0 };
	pthread_t *th;
	unsigned clients, started = 0, k;
	uint64_t t0, t1;
	int i;

	if (argc < 7) {
		fprintf(stderr,
		        "usage: redis_threads HOST PORT CLIENTS REQUESTS "
		        "SHA NUMKEYS [KEY|ARG]...\n");
		return 2;
	}
	r.host = argv[1];
	r.port = atoi(argv[2]);
	clients = (unsigned)strtoul(argv[3], NULL, 10);
	r.requests = strtoull(argv[4], NULL, 10);
	r.pass = getenv("REDISCLI_AUTH");
	if (r.pass && !*r.pass)
		r.pass = NULL;
	if (r.port <= 0 || clients == 0 || clients > 1024 || r.requests == 0) {
		fprintf(stderr,
		        "redis_threads: bad PORT, CLIENTS or REQUESTS\n");
		return 2;
	}
	r.argc = argc - 4; /* EVALSHA in place of argv[4] */
	r.argv = calloc((size_t)r.argc, sizeof(*r.argv));
	th = calloc(clients, sizeof(*th));
	if (!r.argv || !th)
		return 1;
	r.argv[0] = "EVALSHA";
	for (i = 5; i < argc; i++)
		r.argv[i - 4] = argv[i];
	for (k = 0; k < clients; k++)
		if (pthread_create(&th[k], NULL, client, &r) == 0)
			started++;
	while (__atomic_load_n(&r.ready, __ATOMIC_SEQ_CST) < started)
		nap_us(100);
	t0 = mono_ns();
	__atomic_store_n(&r.go, 1, __ATOMIC_RELEASE);
	for (k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	t1 = mono_ns();
	free(th);
	free(r.argv);
	if (started < clients || r.failed) {
		fprintf(stderr,
		        "redis_threads: %" PRIu64 " failed calls, %u of "
		        "%u clients started\n",
		        r.failed, started, clients);
		return 1;
	}
	printf("calls_per_s %.0f\n",
	       (double)r.requests * 1e9 / (double)(t1 - t0 ? t1 - t0 : 1));
	return 0;
}
