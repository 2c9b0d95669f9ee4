/* Shared helpers of the storagebox test programs (not the unit tests):
 * a counting check macro that keeps going, a seeded RNG, a string map
 * and small string utilities. Tests only use the public API. */
#ifndef SB_TCOMMON_H
#define SB_TCOMMON_H

#include "storagebox/storagebox.h"

#include <stddef.h>
#include <stdint.h>

/* Meson's "skipped" exit status. */
#define T_SKIP 77

/* Counters of every check so far (thread-safe). */
int t_passed(void);
int t_failed(void);

/* Record one check. On failure print file:line, the expression, the
 * optional printf message and the box's errmsg (box may be NULL). */
int t_check(int ok, const sb_box *box, const char *file, int line,
            const char *expr, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 6, 7)))
#endif
	;

#define CHECK(box, cond) \
	t_check((cond) != 0, (box), __FILE__, __LINE__, #cond, NULL)
#define CHECKF(box, cond, ...) \
	t_check((cond) != 0, (box), __FILE__, __LINE__, #cond, __VA_ARGS__)
/* rc must equal want; prints both codes by name on failure. */
#define CHECK_RC(box, rc, want) \
	t_check_rc((box), __FILE__, __LINE__, #rc, (rc), (want))
int t_check_rc(const sb_box *box, const char *file, int line,
               const char *expr, int rc, int want);

/* Print "N passed, N failed" alone on a line; return the exit status. */
int t_summary(void);

/* Seeded xorshift64* generator: tests print their seed for a rerun. */
typedef struct { uint64_t s; } t_rng;
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

/* A copy of a URI with any password replaced by "***" (caller frees):
 * test logs never show a secret. */
char *t_redact_uri(const char *uri);

/* Does s contain needle? NULL-safe. */
int t_contains(const char *s, const char *needle);

/* A size from the environment variable @p name, else @p def. */
size_t t_env_size(const char *name, size_t def);

/* Seconds on the monotonic clock; sleep @p ms milliseconds. */
double t_now_s(void);
void t_nap_ms(long ms);

#endif
