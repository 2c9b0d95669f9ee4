/* Helpers shared by the test programs (tcommon.h). */
#include "tcommon.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void t_rng_seed(t_rng *r, uint64_t seed)
{
	r->s = seed ? seed : 0x9e3779b97f4a7c15ull;
}

uint64_t t_rng_next(t_rng *r)
{
	uint64_t x = r->s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * 0x2545f4914f6cdd1dull;
}

size_t t_rng_below(t_rng *r, size_t n)
{
	return (size_t)(t_rng_next(r) % n);
}

void t_shuffle(t_rng *r, size_t *a, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = t_rng_below(r, i);
		size_t t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

uint64_t t_seed(void)
{
	const char *env = getenv("SB_TEST_SEED");
	if (env && *env)
		return strtoull(env, NULL, 0);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)ts.tv_nsec ^
	       ((uint64_t)getpid() << 40);
}

static void oom(void)
{
	fputs("test: out of memory\n", stderr);
	exit(99);
}

void *t_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *t_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *t_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *t_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = t_xmalloc(n);
	memcpy(d, s, n);
	return d;
}

char *t_xasprintf(const char *fmt, ...)
{
	va_list ap;
	if (!fmt) /* keeps gcc's -Wformat-truncation quiet under UBSan */
		return t_xstrdup("");
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	char *s = t_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

void t_map_init(t_map *m)
{
	m->cap = 64;
	m->n = 0;
	m->keys = t_xcalloc(m->cap, sizeof *m->keys);
	m->vals = t_xcalloc(m->cap, sizeof *m->vals);
}

void t_map_free(t_map *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		free(m->keys[i]);
		free(m->vals[i]);
	}
	free(m->keys);
	free(m->vals);
	m->keys = m->vals = NULL;
	m->cap = m->n = 0;
}

static size_t slot(char *const *keys, size_t cap, const char *key)
{
	size_t i = (size_t)(hash(key) & (cap - 1));
	while (keys[i] && strcmp(keys[i], key) != 0)
		i = (i + 1) & (cap - 1);
	return i;
}

static void grow(t_map *m)
{
	size_t cap = m->cap * 2;
	char **keys = t_xcalloc(cap, sizeof *keys);
	char **vals = t_xcalloc(cap, sizeof *vals);
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->keys[i])
			continue;
		size_t j = slot(keys, cap, m->keys[i]);
		keys[j] = m->keys[i];
		vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
}

int t_map_put(t_map *m, const char *key, const char *val)
{
	if (2 * (m->n + 1) > m->cap)
		grow(m);
	size_t i = slot(m->keys, m->cap, key);
	if (m->keys[i])
		return 0;
	m->keys[i] = t_xstrdup(key);
	m->vals[i] = t_xstrdup(val ? val : "");
	m->n++;
	return 1;
}

const char *t_map_get(const t_map *m, const char *key)
{
	size_t i = slot(m->keys, m->cap, key);
	return m->keys[i] ? m->vals[i] : NULL;
}

int t_contains(const char *s, const char *needle)
{
	return s && needle && strstr(s, needle) != NULL;
}

double t_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void t_nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

size_t t_env_size(const char *name, size_t def)
{
	const char *v = getenv(name);

	return v && *v ? (size_t)strtoul(v, NULL, 10) : def;
}
