/* The one check harness of the storagebox tests: unit, conformance,
 * backend suites, stress, crash, hardening and the fuzz targets.
 *
 *   CHECK(box, cond)           cond must hold
 *   CHECKF(box, cond, fmt...)  the same, with a printf message on failure
 *   CHECK_RC(box, rc, want)    a return code; both printed by name
 *   CHECK_STR(box, a, b)       two strings equal (NULL never is)
 *
 * Each check counts, prints file:line, the expression, the message and
 * the errmsg of @p box (may be NULL) when it fails, keeps going, and
 * yields 1 if it held, 0 if not. t_summary() prints the "N passed, N
 * failed" line the test scripts read and returns the exit status.
 * A fuzz target defines T_CHECK_ABORTS before including this header: a
 * failed check then aborts, which the fuzzer reports as a crash.
 * Thread-safe (the counters are shared by every thread of a process). */
#ifndef SB_TEST_CHECK_H
#define SB_TEST_CHECK_H

#include "storagebox/storagebox.h"

#include <stdlib.h>

/* Meson's "skipped" exit status. */
#define T_SKIP 77

/* Record one check (the macros call it). On failure print file:line,
 * the expression, the optional printf message and the box's errmsg. */
int t_check(int ok, const sb_box *box, const char *file, int line,
            const char *expr, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 6, 7)))
#endif
	;
/* rc must equal want; prints both codes by name on failure. */
int t_check_rc(const sb_box *box, const char *file, int line, const char *expr,
               int rc, int want);
/* a and b are equal strings; prints both on failure. */
int t_check_str(const sb_box *box, const char *file, int line, const char *expr,
                const char *a, const char *b);

#ifdef T_CHECK_ABORTS
#define T_CHECKED_(ok) ((ok) ? 1 : (abort(), 0))
#else
#define T_CHECKED_(ok) (ok)
#endif

#define CHECK(box, cond) \
	T_CHECKED_(t_check((cond) != 0, (box), __FILE__, __LINE__, #cond, NULL))
#define CHECKF(box, cond, ...)                                            \
	T_CHECKED_(t_check((cond) != 0, (box), __FILE__, __LINE__, #cond, \
	                   __VA_ARGS__))
#define CHECK_RC(box, rc, want) \
	T_CHECKED_(t_check_rc((box), __FILE__, __LINE__, #rc, (rc), (want)))
#define CHECK_STR(box, a, b)                                                 \
	T_CHECKED_(t_check_str((box), __FILE__, __LINE__, #a " == " #b, (a), \
	                       (b)))

/* Counters of every check so far. */
int t_passed(void);
int t_failed(void);

/* Print "N passed, N failed" alone on a line; return the exit status. */
int t_summary(void);

/* Exit because something the test needs is missing (a server's URI, a
 * control command): 77, skipped, or 1 when CI=true, where every suite
 * must run and a skip is a failure. The message says which; it is a
 * printf format and must not hold a secret. */
void t_skip(const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 1, 2), noreturn))
#endif
	;

#endif
