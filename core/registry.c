/* Backend registry: scheme -> vtable. Runtime registrations (a list under
 * a mutex) are searched before the built-in table, so an application can
 * replace a built-in backend. Schemes match exactly, ignoring case: prefix
 * matching would let "sqlite3:" open the SQLite backend by accident. */
#include "internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern const sb_backend sb_backend_memory;
#if SB_HAVE_SQLITE
extern const sb_backend sb_backend_sqlite;
#endif
#if SB_HAVE_POSTGRESQL
extern const sb_backend sb_backend_postgresql, sb_backend_postgres;
#endif
#if SB_HAVE_REDIS
extern const sb_backend sb_backend_redis, sb_backend_redis_unix;
#endif
#if SB_HAVE_DYNAMODB
extern const sb_backend sb_backend_dynamodb, sb_backend_dynamodb_http,
	sb_backend_dynamodb_https;
#endif

static const sb_backend *const builtin[] = {
#if SB_HAVE_SQLITE
	&sb_backend_sqlite,
#endif
#if SB_HAVE_POSTGRESQL
	&sb_backend_postgresql,     &sb_backend_postgres,
#endif
#if SB_HAVE_REDIS
	&sb_backend_redis,          &sb_backend_redis_unix,
#endif
#if SB_HAVE_DYNAMODB
	&sb_backend_dynamodb,       &sb_backend_dynamodb_http,
	&sb_backend_dynamodb_https,
#endif
	&sb_backend_memory,
};
#define NBUILTIN (sizeof(builtin) / sizeof(builtin[0]))

/* The list nodes live here, not in the backend structs, so those stay const. */
typedef struct reg_node {
	const sb_backend *backend;
	struct reg_node *next;
} reg_node;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static reg_node *registered;

static int scheme_ok(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '+' || *s == '-' || *s == '.'))
			return 0;
	return 1;
}

int sb_backend_register(const sb_backend *backend)
{
	reg_node *n;
	int rc;

	if (!backend)
		return SB_EINVALID;
	if ((rc = sb_version_check(NULL, NULL, 0, "sb_backend",
	                           backend->version, SB_BACKEND_VERSION)))
		return rc;
	if (!scheme_ok(backend->scheme) || !backend->open)
		return SB_EINVALID;
	n = malloc(sizeof(*n));
	if (!n)
		return SB_ENOMEM;
	n->backend = backend;
	pthread_mutex_lock(&reg_lock);
	n->next = registered;
	registered = n;
	pthread_mutex_unlock(&reg_lock);
	return SB_OK;
}

const sb_backend *sb_backend_find(const char *scheme)
{
	const sb_backend *found = NULL;
	reg_node *n;
	size_t i;

	if (!scheme)
		return NULL;
	pthread_mutex_lock(&reg_lock);
	for (n = registered; n && !found; n = n->next)
		if (strcasecmp(n->backend->scheme, scheme) == 0)
			found = n->backend;
	pthread_mutex_unlock(&reg_lock);
	for (i = 0; i < NBUILTIN && !found; i++)
		if (strcasecmp(builtin[i]->scheme, scheme) == 0)
			found = builtin[i];
	return found;
}

/* Visit each distinct scheme once: registered first, then built-in ones
 * not shadowed by a registration. */
static size_t each_scheme(void (*fn)(const char *, void *), void *payload)
{
	size_t count = 0, i;
	reg_node *n, *m;

	pthread_mutex_lock(&reg_lock);
	for (n = registered; n; n = n->next) {
		for (m = registered; m != n; m = m->next)
			if (strcasecmp(m->backend->scheme,
			               n->backend->scheme) == 0)
				break;
		if (m == n) {
			fn(n->backend->scheme, payload);
			count++;
		}
	}
	for (i = 0; i < NBUILTIN; i++) {
		for (m = registered; m; m = m->next)
			if (strcasecmp(m->backend->scheme,
			               builtin[i]->scheme) == 0)
				break;
		if (!m) {
			fn(builtin[i]->scheme, payload);
			count++;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	return count;
}

typedef struct {
	const char **names;
	size_t max, n;
} list_ctx;

static void list_one(const char *scheme, void *payload)
{
	list_ctx *c = payload;
	if (c->n < c->max)
		c->names[c->n] = scheme;
	c->n++;
}

size_t sb_backend_list(const char **names, size_t max)
{
	list_ctx c = { names, names ? max : 0, 0 };
	return each_scheme(list_one, &c);
}

typedef struct {
	char *buf;
	size_t size, len;
} join_ctx;

static void join_one(const char *scheme, void *payload)
{
	join_ctx *c = payload;
	int n;

	if (c->len >= c->size)
		return;
	n = snprintf(c->buf + c->len, c->size - c->len, "%s%s",
	             c->len ? ", " : "", scheme);
	if (n > 0)
		c->len += (size_t)n;
}

void sb_backend_names(char *buf, size_t size)
{
	join_ctx c = { buf, size, 0 };
	if (!size)
		return;
	buf[0] = '\0';
	each_scheme(join_one, &c);
}
