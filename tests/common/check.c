/* The check harness (check.h). */
#include "check.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t t_lock = PTHREAD_MUTEX_INITIALIZER;
static int n_passed, n_failed;

int t_passed(void)
{
	pthread_mutex_lock(&t_lock);
	int n = n_passed;
	pthread_mutex_unlock(&t_lock);
	return n;
}

int t_failed(void)
{
	pthread_mutex_lock(&t_lock);
	int n = n_failed;
	pthread_mutex_unlock(&t_lock);
	return n;
}

/* Strings in failure reports can be 64 KiB: show the start only. */
static void print_clipped(const char *s)
{
	size_t len = strlen(s);
	if (len > 300)
		fprintf(stderr, "%.300s... (%zu bytes)", s, len);
	else
		fputs(s, stderr);
}

int t_check(int ok, const sb_box *box, const char *file, int line,
            const char *expr, const char *fmt, ...)
{
	pthread_mutex_lock(&t_lock);
	if (ok) {
		n_passed++;
		pthread_mutex_unlock(&t_lock);
		return 1;
	}
	n_failed++;
	fprintf(stderr, "FAIL %s:%d: %s", file, line, expr);
	if (fmt) {
		char msg[1024];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		fputs(": ", stderr);
		print_clipped(msg);
	}
	if (box) {
		const char *em = sb_box_errmsg(box);
		fputs(" [errmsg: ", stderr);
		print_clipped(em ? em : "(null)");
		fputs("]", stderr);
	}
	fputc('\n', stderr);
	pthread_mutex_unlock(&t_lock);
	return 0;
}

int t_check_rc(const sb_box *box, const char *file, int line, const char *expr,
               int rc, int want)
{
	if (rc == want)
		return t_check(1, box, file, line, expr, NULL);
	return t_check(0, box, file, line, expr, "got %d (%s), want %d (%s)",
	               rc, sb_strerror(rc), want, sb_strerror(want));
}

int t_check_str(const sb_box *box, const char *file, int line, const char *expr,
                const char *a, const char *b)
{
	if (a && b && strcmp(a, b) == 0)
		return t_check(1, box, file, line, expr, NULL);
	return t_check(0, box, file, line, expr, "'%s' != '%s'",
	               a ? a : "(null)", b ? b : "(null)");
}

int t_summary(void)
{
	int p = t_passed(), f = t_failed();
	fflush(stderr);
	printf("%d passed, %d failed\n", p, f);
	fflush(stdout);
	return f ? 1 : 0;
}

void t_skip(const char *fmt, ...)
{
	const char *ci = getenv("CI");
	int in_ci = ci && strcmp(ci, "true") == 0;
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n",
	        in_ci ? " (CI=true: a skip is a failure)" : ": skipped");
	fflush(NULL);
	exit(in_ci ? 1 : T_SKIP);
}
