/* Named crash points (DESIGN §4). Compiled to a constant 0 unless the build
 * has -Dfault_injection=true, so production code pays nothing. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* A barrier that cannot hold ends the process with a message, whatever
 * the caller would make of an error here (DynamoDB retries a simulated
 * throttle; a put back ignores it): the test asked for an interleaving it
 * cannot get, and must fail at once and say why instead of hanging or
 * passing on another interleaving. */
static void barrier_fail(const char *var, const char *point, const char *why,
                         const char *path)
{
	fprintf(stderr, "storagebox: fault injection: %s at '%s': %s%s%s\n",
	        var, point, why, path ? ": " : "", path ? path : "");
	_exit(SB_FAULT_BARRIER_EXIT_STATUS);
}

/* The PATH of $var ("POINT:PATH") when its POINT is @p point, else NULL. */
static const char *barrier_path(const char *var, const char *point)
{
	const char *v = getenv(var), *colon;

	if (!v || !*v)
		return NULL;
	colon = strchr(v, ':');
	if (!colon || colon == v || !colon[1])
		barrier_fail(var, point, "the value is not POINT:PATH", v);
	if (strlen(point) != (size_t)(colon - v) ||
	    memcmp(v, point, (size_t)(colon - v)) != 0)
		return NULL;
	return colon + 1;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Block until @p path exists, polling, for at most $SB_FAULT_WAIT_S. */
static void barrier_wait(const char *point, const char *path)
{
	const struct timespec poll = { 0, 2 * 1000 * 1000 };
	const char *limit = getenv("SB_FAULT_WAIT_S");
	char *end = NULL;
	double secs = SB_FAULT_WAIT_DEFAULT_S;
	int64_t deadline;
	char why[64];

	if (limit && *limit) {
		secs = strtod(limit, &end);
		if (*end || !isfinite(secs) || secs <= 0 || secs > 86400)
			barrier_fail("SB_FAULT_WAIT_S", point,
			             "not a number of "
			             "seconds above 0, at most 86400",
			             limit);
	}
	deadline = mono_ms() + (int64_t)(secs * 1000);
	while (access(path, F_OK) != 0) {
		if (errno != ENOENT)
			barrier_fail("SB_FAULT_WAIT", point, strerror(errno),
			             path);
		if (mono_ms() >= deadline) {
			snprintf(why, sizeof why,
			         "gave up after %g s waiting "
			         "for",
			         secs);
			barrier_fail("SB_FAULT_WAIT", point, why, path);
		}
		nanosleep(&poll, NULL);
	}
}

static void barrier_mark(const char *point, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		barrier_fail("SB_FAULT_MARK", point, strerror(errno), path);
	close(fd);
}

int sb_fault_point(sb_box *box, const char *point)
{
	const char *want, *path;

	if (fault_hook) {
		if (fault_hook(point, fault_payload))
			return sb_seterr(box, SB_ERROR,
			                 "injected fault at crash point '%s'",
			                 point);
		return 0;
	}
	/* Mark, then wait, then die: two processes can meet at a point
	 * (each marks its arrival and waits for the other's), and a mark at
	 * a crash point is made before the death. */
	if ((path = barrier_path("SB_FAULT_MARK", point)))
		barrier_mark(point, path);
	if ((path = barrier_path("SB_FAULT_WAIT", point)))
		barrier_wait(point, path);
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
