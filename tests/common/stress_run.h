/* The stress harness shared by the SQLite, PostgreSQL, Redis and DynamoDB
 * stress tests: processes x threads (one box, so one connection, per thread)
 * fetch ids of one bank and ledger in a shuffled order, each id several
 * times; the parent then checks every law of DESIGN.md §2 from the
 * answers and through the API. Each test adds its own look at the store
 * itself (the SQLite file, the PostgreSQL tables, the Redis keys, the
 * DynamoDB tables).
 *
 * Items are "stress-item-NNNNN", ids "stress-id-NNNNN". Sizes come from
 * the environment: SB_STRESS_PROCS, SB_STRESS_THREADS, SB_STRESS_ITEMS,
 * SB_STRESS_IDS, SB_STRESS_REPEAT (defaults from the test); SB_TEST_SEED
 * replays a shuffle. */
#ifndef SB_TEST_STRESS_RUN_H
#define SB_TEST_STRESS_RUN_H

#include "tcommon.h"

#include <stddef.h>

typedef struct st_params {
	const char *name; /* for the output: "stress", "pg stress", ... */
	size_t procs, threads, items, ids, repeat;
	sb_protocol protocol;
	const char *mode; /* "fused" or "generic" */
	const char *uri;  /* every box, the setup's too */
	const char *bank, *ledger;
	const char *stem;   /* the result files: STEM.results.N */
	const char *secret; /* must appear in no message (NULL: none) */
	int retry;          /* a server restarts during the run: a call may
	                        fail with SB_ECONNECT, and is retried (60 s) */
	long *progress;     /* answers so far, shared with the children */
	long *errors;       /* failed calls, shared */
	/* A faulty network (tests/dynamodb/fault_run.py): the workers' boxes
	 * open @c work_uri (a fault proxy; NULL: @c uri, which the setup and
	 * the checks keep using), a call may fail with any error that has a
	 * message (counted by code), and the fetch is repeated until it
	 * answers (60 s). */
	const char *work_uri;
	int faults;
	long *by_code;    /* failed calls by -code (1..ST_CODES-1), shared */
	long *slowest_us; /* the longest single call, shared */
	/* Each worker's box before it closes (NULL: none): the DynamoDB
	 * stress sums the backend's retry counters there. */
	void (*box_done)(const struct st_params *p, sb_box *box);
} st_params;

#define ST_CODES 32

/* Sizes from the environment (else the defaults given) and the protocol
 * from @p mode. 0, or 2 after a message (a bad mode or size). */
int st_init(st_params *p, const char *name, const char *mode, size_t procs,
            size_t threads, size_t items, size_t ids);

/* Create the bank and ledger and add the items (one box, closed before
 * any fork). Exits on failure. */
void st_setup(const st_params *p);

/* Shuffle the requests with @p seed, start the processes together, and
 * wait for them; @p during (may be NULL) runs in the parent meanwhile.
 * *order: request -> id (free it). Returns the seconds the run took. */
double st_run(st_params *p, uint64_t seed, size_t **order,
              void (*during)(const st_params *p, size_t nreq));

/* Read every process's answers and check them against each other (laws
 * 1-3, every request answered once). Returns held[id]: the item the id
 * was answered, or NULL (free with st_free_held). */
char **st_check_answers(const st_params *p, const size_t *order);

/* Stats, recover and export against the answers (conservation, laws 4
 * and 5, the ledger holds exactly the answers). Returns the holders. */
size_t st_check_api(const st_params *p, char **held);

void st_free_held(const st_params *p, char **held);

/* The run every stress test makes: print its sizes, the seed and @p where
 * (the store as it may be shown: no secret), then st_setup, st_run with
 * @p during, st_check_answers and st_check_api. *holders (may be NULL)
 * gets the ids that hold an item. Returns held (st_free_held). */
char **st_go(st_params *p, const char *where,
             void (*during)(const st_params *p, size_t nreq), size_t *holders);

/* Release what st_init took. */
void st_done(st_params *p);

#endif
