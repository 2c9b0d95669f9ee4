/* Named crash points (DESIGN §4). Compiled to a constant 0 unless the build
 * has -Dfault_injection=true, so production code pays nothing. */
#include "internal.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t sb_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#if SB_FAULT_INJECTION
static sb_fault_hook fault_hook;
static void *fault_payload;
/* Passes of the named point so far; atomic because fetches run on many
 * threads in the stress tests. */
static long fault_passes;

void sb__fault_set_hook(sb_fault_hook hook, void *payload)
{
	fault_hook = hook;
	fault_payload = payload;
}

int sb_fault_point(sb_box *box, const char *point)
{
	const char *want;

	if (fault_hook) {
		if (fault_hook(point, fault_payload))
			return sb_seterr(box, SB_ERROR,
			                 "injected fault at crash point '%s'", point);
		return 0;
	}
	want = getenv("SB_FAULT_POINT");
	if (want && strcmp(want, point) == 0) {
		const char *skip = getenv("SB_FAULT_SKIP");
		if (__atomic_fetch_add(&fault_passes, 1, __ATOMIC_RELAXED) >=
		    (skip ? atol(skip) : 0)) {
			/* Die exactly as a SIGKILL would: no cleanup, no atexit,
			 * no flush. The _exit is only a fallback. */
			kill(getpid(), SIGKILL);
			_exit(SB_FAULT_EXIT_STATUS);
		}
	}
	return 0;
}
#else
void sb__fault_set_hook(sb_fault_hook hook, void *payload)
{
	(void)hook;
	(void)payload;
}

int sb_fault_point(sb_box *box, const char *point)
{
	(void)box;
	(void)point;
	return 0;
}
#endif
