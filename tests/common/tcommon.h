/* Shared helpers of the storagebox test programs: the check harness
 * (check.h), the test stores' URIs (turi.h), a seeded RNG, a string map
 * and small string and time utilities. */
#ifndef SB_TCOMMON_H
#define SB_TCOMMON_H

#include "check.h"
#include "turi.h"

#include <stddef.h>
#include <stdint.h>

/* Seeded xorshift64* generator: tests print their seed for a rerun. */
typedef struct {
	uint64_t s;
} t_rng;
void t_rng_seed(t_rng *r, uint64_t seed);
uint64_t t_rng_next(t_rng *r);
/* Uniform in [0, n). n > 0. */
size_t t_rng_below(t_rng *r, size_t n);
void t_shuffle(t_rng *r, size_t *a, size_t n);
/* A seed from $SB_TEST_SEED, else time and pid. */
uint64_t t_seed(void);

/* malloc-or-die helpers: a test that cannot allocate cannot go on. */
void *t_xmalloc(size_t n);
void *t_xcalloc(size_t n, size_t size);
void *t_xrealloc(void *p, size_t n);
char *t_xstrdup(const char *s);
char *t_xasprintf(const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 1, 2)))
#endif
	;

/* A string -> string map with copied keys and values. */
typedef struct {
	char **keys;
	char **vals;
	size_t cap;
	size_t n;
} t_map;
void t_map_init(t_map *m);
void t_map_free(t_map *m);
/* 1 if the key was new (stored), 0 if present (nothing changed). */
int t_map_put(t_map *m, const char *key, const char *val);
/* The value, or NULL. */
const char *t_map_get(const t_map *m, const char *key);
/* Iterate: for (size_t i = 0; i < m->cap; i++) if (m->keys[i]) ... */

/* Does s contain needle? NULL-safe. */
int t_contains(const char *s, const char *needle);

/* A size from the environment variable @p name, else @p def. */
size_t t_env_size(const char *name, size_t def);

/* Seconds on the monotonic clock; sleep @p ms milliseconds. */
double t_now_s(void);
void t_nap_ms(long ms);

#endif
