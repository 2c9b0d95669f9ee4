/* Test interface of the DynamoDB backend: what the request-count and retry
 * tests and the benchmark read of a store, which the API does not show.
 * Not installed; the library itself never calls it. A test finds the
 * store under a box through core/internal.h (tests may include it; the
 * backend does not). */
#ifndef SB_DDB_TESTING_H
#define SB_DDB_TESTING_H

#include "storagebox/backend.h"

#include <stdint.h>

/* What a store sent, counted since it opened or since the last reset. */
typedef struct {
	uint64_t requests;     /* HTTP requests sent */
	uint64_t retries;      /* requests re-sent after a retryable answer */
	uint64_t sleep_ms;     /* total backoff slept */
	uint64_t max_sleep_ms; /* longest single backoff */
	/* Of those: no answer at all (connection refused or reset, an empty
	 * reply, a timeout), and how many of them were re-sent. */
	uint64_t net_errors;
	uint64_t net_retries;
	uint64_t scans; /* Scan pages read for a claim's candidates */
	uint64_t lost;  /* claim transactions another client won */
} sb_ddb_counters;

/* Copy the counters of @p st to *out (NULL: do not) and zero them if
 * @p reset. @return 0, or -1 if @p st is NULL or not a DynamoDB store.
 * Thread-safety: as the store, one thread at a time. */
int sb_ddb_store_counters(sb_store *st, sb_ddb_counters *out, int reset);

#endif
