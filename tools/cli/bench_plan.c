/* bench options and the request schedule. The schedule is made up front
 * from a seed, so a run can be replayed and every client only draws the
 * next index. */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const cli_opt bench_opts[] = { { "--clients", 1 },  { "--procs", 1 },
	                              { "--items", 1 },    { "--ids", 1 },
	                              { "--repeat", 1 },   { "--requests", 1 },
	                              { "--duration", 1 }, { "--seed", 1 },
	                              { "--json", 0 },     { "--quiet", 0 },
	                              { "--holds", 0 },    { "--abandon", 1 },
	                              { "--runs", 1 },     { NULL, 0 } };
enum {
	O_CLIENTS,
	O_PROCS,
	O_ITEMS,
	O_IDS,
	O_REPEAT,
	O_REQUESTS,
	O_DURATION,
	O_SEED,
	O_JSON,
	O_QUIET,
	O_HOLDS,
	O_ABANDON,
	O_RUNS,
	O_N
};

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_real(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

int bench_parse(bench_cfg *cfg, cli_ctx *c)
{
	const char *v[O_N] = { NULL };
	const char *pos[1];
	uint64_t u;
	size_t n;
	int rc = cli_parse(c, bench_opts, v, pos, 0, 0, &n);

	if (rc != CLI_CONTINUE)
		return rc;
	memset(cfg, 0, sizeof(*cfg));
	cfg->clients = 4;
	cfg->procs = 1;
	cfg->items = 10000;
	cfg->repeat = 0.2;
	cfg->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	cfg->json = v[O_JSON] != NULL;
	cfg->quiet = v[O_QUIET] != NULL;
	cfg->holds = v[O_HOLDS] != NULL;
	cfg->abandon = 0.1;
	if (v[O_ABANDON] && parse_real(v[O_ABANDON], 0.0, 1.0, &cfg->abandon))
		return cli_usage_error(c,
		                       "--abandon wants a share from 0 to 1");
	if (v[O_ABANDON] && !cfg->holds)
		return cli_usage_error(c, "--abandon goes with --holds");
	cfg->runs = 1;
	if (v[O_RUNS]) {
		if (parse_u64(v[O_RUNS], 1, 100, &u))
			return cli_usage_error(c, "--runs wants 1..100");
		if (!cfg->holds)
			return cli_usage_error(c, "--runs goes with --holds");
		cfg->runs = (unsigned)u;
	}
	/* Limits keep the result arrays and thread counts sane. */
	if (v[O_CLIENTS]) {
		if (parse_u64(v[O_CLIENTS], 1, 1024, &u))
			return cli_usage_error(c, "--clients wants 1..1024");
		cfg->clients = (unsigned)u;
	}
	if (v[O_PROCS]) {
		if (parse_u64(v[O_PROCS], 1, 256, &u))
			return cli_usage_error(c, "--procs wants 1..256");
		cfg->procs = (unsigned)u;
	}
	if (v[O_ITEMS] && parse_u64(v[O_ITEMS], 1, 100000000, &cfg->items))
		return cli_usage_error(c, "--items wants 1..100000000");
	cfg->ids = cfg->items;
	if (v[O_IDS] && parse_u64(v[O_IDS], 1, 100000000, &cfg->ids))
		return cli_usage_error(c, "--ids wants 1..100000000");
	if (v[O_REPEAT] && parse_real(v[O_REPEAT], 0.0, 0.99, &cfg->repeat))
		return cli_usage_error(c,
		                       "--repeat wants a share from 0 to 0.99");
	/* By default enough requests that every id is asked at least once. */
	cfg->requests = (uint64_t)((double)cfg->ids / (1.0 - cfg->repeat)) + 1;
	if (v[O_REQUESTS] &&
	    parse_u64(v[O_REQUESTS], 1, 200000000, &cfg->requests))
		return cli_usage_error(c, "--requests wants 1..200000000");
	if (v[O_DURATION] &&
	    parse_real(v[O_DURATION], 0.001, 86400, &cfg->duration))
		return cli_usage_error(c, "--duration wants seconds > 0");
	if (v[O_SEED] && parse_u64(v[O_SEED], 0, UINT64_MAX, &cfg->seed))
		return cli_usage_error(c, "--seed wants a whole number");
	return CLI_CONTINUE;
}

static uint64_t next_rand(uint64_t *s)
{
	/* splitmix64: good enough to shuffle requests, and seedable. */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int bench_schedule(bench_run *r)
{
	const bench_cfg *cfg = r->cfg;
	uint64_t seed = cfg->seed, used = 0, i;

	r->schedule = malloc(cfg->requests * sizeof(*r->schedule));
	r->results = calloc(cfg->requests, sizeof(*r->results));
	if (!r->schedule || !r->results) {
		cli_err(r->cli, "out of memory for %" PRIu64 " requests",
		        cfg->requests);
		return CLI_EXIT_ERROR;
	}
	for (i = 0; i < cfg->requests; i++) {
		double u = (double)(next_rand(&seed) >> 11) /
		           9007199254740992.0;
		/* A new id unless this is a repeat; but once the requests left
		 * are just enough for the ids not yet asked, only new ones. */
		int fresh = used < cfg->ids &&
		            (used == 0 || u >= cfg->repeat ||
		             cfg->requests - i <= cfg->ids - used);
		if (fresh)
			r->schedule[i] = (uint32_t)used++;
		else
			r->schedule[i] = (uint32_t)(next_rand(&seed) % used);
		r->results[i].status = BENCH_SKIPPED;
	}
	return CLI_EXIT_OK;
}
