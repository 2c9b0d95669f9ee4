/* Test interface of the memory backend: the core's unit tests use it to
 * see which slots the core called and to make slots fail on purpose.
 * Not installed; the library itself never calls it. */
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
 * open. Thread-safe. */
int sb__memory_calls(const char *name, sb_memory_calls *out);

/* The slots a failure can be planned for. */
typedef enum {
	SB_MEMORY_INIT,
	SB_MEMORY_ADD,
	SB_MEMORY_TAKE,
	SB_MEMORY_SETTLE,
	SB_MEMORY_PUT_BACK,
	SB_MEMORY_COUNT,
	SB_MEMORY_RESERVED,
	SB_MEMORY_CREATE,
	SB_MEMORY_GET,
	SB_MEMORY_PUT_IF_ABSENT,
	SB_MEMORY_EXPORT,
	SB_MEMORY_LEDGER_COUNT,
	SB_MEMORY_CLAIM,
	SB_MEMORY_NSLOTS
} sb_memory_slot;

/* When a planned failure strikes: before the slot does anything (nothing
 * changes), or after it did its work (as when a connection drops after
 * the server committed: the caller cannot tell what happened). */
typedef enum {
	SB_MEMORY_FAIL_BEFORE = 1,
	SB_MEMORY_FAIL_AFTER = 2
} sb_memory_when;

/*
 * Plan a failure on the store named @p name: the @p nth call of @p slot
 * from now on (1: the next one) returns @p code, with the message
 * "memory: injected failure ...". Any code may be planned, also one the
 * slot's contract does not allow (a private code, SB_OK without an item):
 * the core must turn those into SB_EBACKEND. One plan per slot (a new plan
 * replaces it); @p nth 0 cancels it. A plan fires once.
 * @return 0, or -1 if no such store is open or @p slot is out of range.
 * Thread-safe.
 */
int sb__memory_fail(const char *name, sb_memory_slot slot, unsigned int nth,
                    int code, sb_memory_when when);

#endif
