/* A hash table of strings with separate chaining: lookups cost the same
 * with ten items or a million. Keys are NUL-terminated (the core never
 * passes a NUL inside a string). */
#include "demo_private.h"

#include <stdlib.h>
#include <string.h>

struct demo_slot {
	demo_slot *next; /* in the bucket */
	uint64_t hash;
	void *value;
	char key[]; /* the copy of the key */
};

/* 64-bit FNV-1a. */
static uint64_t hash_of(const char *key)
{
	uint64_t h = 14695981039346656037u;
	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211u;
	return h;
}

static demo_slot **bucket_of(const demo_map *m, uint64_t h)
{
	return &m->buckets[h & (m->nbuckets - 1)];
}

/* The link that points to @p key's slot (or to NULL at its chain's end). */
static demo_slot **find(const demo_map *m, const char *key, uint64_t h)
{
	demo_slot **p = bucket_of(m, h);
	while (*p && ((*p)->hash != h || strcmp((*p)->key, key) != 0))
		p = &(*p)->next;
	return p;
}

void *demo_map_get(const demo_map *m, const char *key)
{
	demo_slot *s;

	if (m->count == 0)
		return NULL;
	s = *find(m, key, hash_of(key));
	return s ? s->value : NULL;
}

/* Double the buckets; on failure keep the old ones (just longer chains). */
static void grow(demo_map *m)
{
	size_t n = m->nbuckets ? m->nbuckets * 2 : 16, i;
	demo_slot **b = calloc(n, sizeof *b);
	demo_map bigger = { b, n, m->count };

	if (!b)
		return;
	for (i = 0; i < m->nbuckets; i++) {
		demo_slot *s = m->buckets[i], *next;
		for (; s; s = next) {
			demo_slot **head = bucket_of(&bigger, s->hash);
			next = s->next;
			s->next = *head;
			*head = s;
		}
	}
	free(m->buckets);
	*m = bigger;
}

const char *demo_map_put(demo_map *m, const char *key, void *value)
{
	size_t len = strlen(key);
	demo_slot *s, **head;

	if (m->count >= m->nbuckets)
		grow(m);
	if (!m->nbuckets || !(s = malloc(sizeof *s + len + 1)))
		return NULL;
	memcpy(s->key, key, len + 1);
	s->hash = hash_of(key);
	s->value = value;
	head = bucket_of(m, s->hash);
	s->next = *head;
	*head = s;
	m->count++;
	return s->key;
}

void *demo_map_del(demo_map *m, const char *key)
{
	demo_slot **p, *s;
	void *value;

	if (m->count == 0)
		return NULL;
	p = find(m, key, hash_of(key));
	if (!(s = *p))
		return NULL;
	*p = s->next;
	value = s->value;
	free(s);
	m->count--;
	return value;
}

int demo_map_each(const demo_map *m, demo_map_fn fn, void *arg)
{
	size_t i;
	int rc;

	for (i = 0; i < m->nbuckets; i++)
		for (demo_slot *s = m->buckets[i]; s; s = s->next)
			if ((rc = fn(s->key, s->value, arg)) != 0)
				return rc;
	return 0;
}

void demo_map_clear(demo_map *m, void (*free_value)(void *))
{
	size_t i;

	for (i = 0; i < m->nbuckets; i++) {
		demo_slot *s = m->buckets[i], *next;
		for (; s; s = next) {
			next = s->next;
			if (free_value)
				free_value(s->value);
			free(s);
		}
	}
	free(m->buckets);
	memset(m, 0, sizeof *m);
}

char *demo_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *c = malloc(n);
	return c ? memcpy(c, s, n) : NULL;
}
