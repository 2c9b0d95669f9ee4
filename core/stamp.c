/* Release stamps (docs/holds.md "Release"): a release's mark, and a
 * recovery pass that takes a release over, each put a new stamp on the
 * bank item, and every later step of theirs is conditional on it. A
 * stamp is the time of the mark in its upper bits (how old a release in
 * flight is), a per-process counter from a random start below them
 * (unique), and in its lowest bit who made it: a recovery pass (1) or
 * the releasing client (0). */
#include "internal.h"

#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#define STAMP_SHIFT 12 /* 11 bits of counter, 1 of who */

static _Atomic uint32_t counter;

int sb_stamps_ok(const sb_box *box)
{
	const sb_bank_ops *b = box->bank_store->bank;

	return sb_holds_ok(box) && b->version >= 3 && b->move_if != NULL;
}

int64_t sb_stamp_new(int recovery)
{
	uint32_t n = atomic_fetch_add_explicit(&counter, 1,
	                                       memory_order_relaxed);

	if (n == 0) { /* first use: start where another process will not */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		n = (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 3);
		atomic_store_explicit(&counter, n + 1, memory_order_relaxed);
	}
	return (sb_now_ms() << STAMP_SHIFT) | (int64_t)((n & 0x7ffu) << 1) |
	       (recovery ? 1 : 0);
}

int64_t sb_stamp_ms(int64_t stamp)
{
	return stamp >> STAMP_SHIFT;
}
