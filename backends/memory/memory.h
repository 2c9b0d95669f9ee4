/* Private to the memory backend and the core's unit tests. */
#ifndef SB_BACKEND_MEMORY_H
#define SB_BACKEND_MEMORY_H

#include "storagebox/backend.h"

/* How often each slot ran on a named memory store (unit tests check which
 * protocol the core chose and how many round trips it made). */
typedef struct {
	unsigned long claim, take, settle, put_back, get, put_if_absent,
		reserved;
} sb_memory_calls;

/* Copy the counters of the store named @p name; -1 if no such store is
 * open. */
int sb__memory_calls(const char *name, sb_memory_calls *out);

#endif
