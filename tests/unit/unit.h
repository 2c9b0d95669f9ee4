/* A minimal check harness for the unit tests: counts, keeps going after a
 * failure, and ends with the "N passed, N failed" line CI reads. */
#ifndef SB_UNIT_H
#define SB_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed;

#define CHECK(cond) \
	do { \
		if (cond) { \
			unit_passed++; \
		} else { \
			unit_failed++; \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
			        __LINE__, #cond); \
		} \
	} while (0)

#define CHECK_RC(box, expr, want) \
	do { \
		int rc_ = (expr); \
		if (rc_ == (want)) { \
			unit_passed++; \
		} else { \
			unit_failed++; \
			fprintf(stderr, "%s:%d: %s returned %d, want %d (%s)\n", \
			        __FILE__, __LINE__, #expr, rc_, (want), \
			        (box) ? sb_box_errmsg(box) : ""); \
		} \
	} while (0)

#define CHECK_STR(a, b) \
	do { \
		const char *a_ = (a), *b_ = (b); \
		if (a_ && b_ && strcmp(a_, b_) == 0) { \
			unit_passed++; \
		} else { \
			unit_failed++; \
			fprintf(stderr, "%s:%d: '%s' != '%s'\n", __FILE__, \
			        __LINE__, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
		} \
	} while (0)

static int unit_done(void)
{
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}

#endif
