/* storagebox bench: load a fresh bank, fire fetches from many clients,
 * check the box law on what came back, report rates and latencies. */
#ifndef SB_CLI_BENCH_H
#define SB_CLI_BENCH_H

#include "cli.h"

#include <stdint.h>

typedef struct {
	unsigned clients;  /* threads per process, each with its own box */
	unsigned procs;    /* processes */
	uint64_t items;    /* loaded into a fresh bank */
	uint64_t ids;      /* distinct dedup ids */
	double repeat;     /* share of requests that repeat an earlier id */
	uint64_t requests; /* requests in all */
	double duration;   /* seconds; 0: until the requests are done */
	uint64_t seed;
	int json;
	int quiet;      /* no progress line even on a terminal */
	int holds;      /* --holds: a hold-then-confirm run after the fetches */
	double abandon; /* share of new holds released, not confirmed */
	unsigned runs;  /* --runs: fetch+holds pairs, medians reported */
} bench_cfg;

/* A hold of the --holds run: long enough never to lapse in a run, since
 * an abandoned hold is released (a lapse would only add waiting). */
#define BENCH_HOLD_TTL_MS (10 * 60 * 1000)

enum {
	BENCH_OK = 0,
	BENCH_EMPTY = 1,
	BENCH_ERROR = 2,
	BENCH_SKIPPED = 3
};

/* One request's outcome. Items and ids are numbered: the item index is
 * read back from the value ("bench-item-%010u"). */
typedef struct {
	uint32_t item; /* valid when status == BENCH_OK */
	uint32_t latency_us;
	uint64_t done_us; /* completion, since the start of the run */
	uint8_t status;
	uint8_t is_new;
	uint8_t after;      /* --holds: BENCH_AFTER_* of a new hold */
	uint32_t settle_us; /* --holds: latency of its confirm or release */
} bench_result;

enum {
	BENCH_AFTER_NONE = 0,
	BENCH_AFTER_CONFIRMED = 1,
	BENCH_AFTER_RELEASED = 2,
	BENCH_AFTER_FAILED = 3
};

/* One --holds run's figures beside its fetch run's (bench_holds.c); with
 * --runs, the summary is the runs' medians (counts: their sums). */
typedef struct {
	double run_s, hold_cps, fetch_cps;
	uint64_t fresh, confirmed, released, empty, errors;
	uint64_t fetch_p50, hold_p50, hold_p95, hold_p99; /* microseconds */
	uint64_t confirm_p50, confirm_p95, confirm_p99, release_p50;
} bench_holds_fig;

typedef struct {
	const bench_cfg *cfg;
	const cli_ctx *cli;
	char bank[64], ledger[80];
	uint32_t *schedule;    /* request -> id index */
	bench_result *results; /* request -> outcome */
	double load_s;         /* seconds to load the bank */
	double run_s;          /* seconds of the fetch phase */
	long peak_rss_kib;
	char first_error[SB_ERRMSG_SIZE];
	int hold_mode;         /* the clients hold (then confirm or release) */
	int silent;            /* bench_report checks but prints nothing */
	double claims_per_s;   /* set by bench_report */
	uint64_t lat_p50;      /* set by bench_report (microseconds) */
	unsigned run_no;       /* --runs: this pair's index */
	bench_holds_fig *figs; /* --holds: each pair's figures (cfg->runs) */
} bench_run;

/* bench_plan.c */
int bench_parse(bench_cfg *cfg, cli_ctx *c);
int bench_schedule(bench_run *r);

/* bench_run.c */
int bench_load(bench_run *r);
int bench_fire(bench_run *r);
void bench_id(char *buf, size_t n, uint32_t id);
void bench_item(char *buf, size_t n, uint64_t item);

/* bench_report.c: check the law, print; returns the exit code. */
int bench_report(bench_run *r);
int bench_cmp_u64(const void *a, const void *b);

/* bench_holds.c: with --holds, the hold run after the fetch run, on a
 * fresh bank; its figures go to r->figs[r->run_no]. It prints its report
 * beside the fetches' when it is the only run or when it failed (the law
 * broke, a request failed). @return exit code */
int bench_holds(bench_run *r);
/* With --runs N > 1, after the N pairs: the medians. @return exit code */
int bench_holds_summary(bench_run *r);
/* Whether a new hold of id @p id is abandoned (released). */
int bench_abandons(const bench_cfg *cfg, uint32_t id);

#endif
