/* The clients' clock: of reservations, and of hold deadlines in stores
 * that have no clock of their own (SQLite, DynamoDB). Tests move it to
 * make a hold lapse without waiting; the library never does. */
#include "internal.h"

#include <stdatomic.h>
#include <time.h>

/* Added to the wall clock; 0 unless a test set it. Atomic: every thread
 * of a stress test reads it while one test thread moves it. */
static _Atomic int64_t clock_shift;

int64_t sb_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
	       atomic_load_explicit(&clock_shift, memory_order_relaxed);
}

void sb__clock_shift(int64_t ms)
{
	atomic_fetch_add_explicit(&clock_shift, ms, memory_order_relaxed);
}
