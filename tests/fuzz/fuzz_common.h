/* Shared by the fuzz targets: the input bound and the checks (check.h,
 * aborting). For the backend targets an input is an operation selector
 * (one byte) and then the server's answers, one per request, separated
 * by NUL bytes; they set up the store in-process: no server. */
#ifndef SB_FUZZ_COMMON_H
#define SB_FUZZ_COMMON_H

/* A failed check aborts: the fuzzer reports it as a crash. */
#define T_CHECK_ABORTS 1
#include "../common/check.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Inputs are bounded (and tools/fuzz.sh passes -max_len to match). */
#define FZ_MAX_INPUT (64 * 1024)

/* The operation of the first byte: its index in @p letters if it is one
 * of them (the seeds are readable), else byte modulo their number. */
static inline int fz_op(uint8_t b, const char *letters)
{
	const char *p = b ? strchr(letters, b) : NULL;

	return p ? (int)(p - letters) : (int)(b % strlen(letters));
}

/* The answers after the selector: next record, NULL when none is left. */
typedef struct {
	const uint8_t *p, *end;
	int used;
} fz_records;

static inline const uint8_t *fz_next(fz_records *r, size_t *len)
{
	const uint8_t *start = r->p, *nul;

	if (r->p > r->end || (r->p == r->end && r->used))
		return NULL;
	nul = memchr(r->p, '\0', (size_t)(r->end - r->p));
	*len = (size_t)((nul ? nul : r->end) - start);
	r->p = nul ? nul + 1 : r->end + 1;
	r->used++;
	return start;
}

#endif
