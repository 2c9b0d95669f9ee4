/* hd_inject's view of Redis, through hiredis: the box works in database
 * 11 (no other suite uses it) under the prefix "hdrun<tag>"; sentinel
 * keys sit next to it (one that looks like its hash tag without the ':',
 * one that looks like another prefix's bank), and the fingerprint is
 * every key of the database outside the box's prefix (type, length) and
 * the sentinels' values. Other runs' boxes (prefix "{hdrun") are left
 * out, so two trees may run at once. */
#include "hd_inject.h"
#include "../redis/rtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *db_uri;
static char prefix[64], mine[80];

static char *box_uri(const char *arg)
{
	const char *server = t_env_need("SB_TEST_REDIS_URI");

	(void)arg;
	snprintf(prefix, sizeof prefix, "hdrun%s", hd_run_tag());
	snprintf(mine, sizeof mine, "{%s}:", prefix);
	db_uri = t_uri_edit(server, &(t_uri_parts){ .path = "/11" });
	return t_xasprintf("%s?prefix=%s", db_uri, prefix);
}

static redisContext *conn(void)
{
	redisContext *c = rt_connect(db_uri);

	if (!c)
		exit(1);
	return c;
}

static void cmd(redisContext *c, const char *a, const char *b, const char *d,
                const char *e)
{
	redisReply *r = rt_cmd(c, a, b, d, e, NULL);

	CHECKF(NULL, r && r->type != REDIS_REPLY_ERROR, "%s %s: %s", a, b,
	       r && r->str ? r->str : c->errstr);
	if (r)
		freeReplyObject(r);
}

static void setup(void)
{
	redisContext *c = conn();
	char *k1 = t_xasprintf("sentinel-%s", prefix);
	char *k2 = t_xasprintf("{%s}x", prefix);
	char *k3 = t_xasprintf("{sb}:q:%s", prefix);
	char *k4 = t_xasprintf("{%s}", prefix);

	cmd(c, "SET", k1, "untouched", NULL);
	cmd(c, "SET", k2, "tag without colon", NULL);
	cmd(c, "RPUSH", k3, "another prefix's item", NULL);
	cmd(c, "HSET", k4, "f", "v");
	free(k1);
	free(k2);
	free(k3);
	free(k4);
	redisFree(c);
}

static void fingerprint(hd_lines *out)
{
	redisContext *c = conn();
	t_map keys;
	size_t i;

	t_map_init(&keys);
	rt_keys(c, &keys);
	for (i = 0; i < keys.cap; i++) {
		const char *k = keys.keys[i];
		if (!k || strncmp(k, mine, strlen(mine)) == 0)
			continue;
		/* Another run's box or sentinels: not ours to judge. */
		if (strstr(k, "hdrun") && !strstr(k, prefix))
			continue;
		hd_lines_add(out, t_xasprintf("key %s %s", k, keys.vals[i]));
		redisReply *r = rt_cmd(c, "DUMP", k, NULL);
		if (r && r->type == REDIS_REPLY_STRING) {
			/* The value's bytes, as a cheap hash. */
			unsigned long h = 5381;
			for (size_t j = 0; j < r->len; j++)
				h = h * 33 + (unsigned char)r->str[j];
			hd_lines_add(out, t_xasprintf("dump %s %lx", k, h));
		}
		if (r)
			freeReplyObject(r);
	}
	t_map_free(&keys);
	redisFree(c);
}

/* The run's keys go: sentinels and the box's prefix. */
static void cleanup(void)
{
	redisContext *c = conn();
	char *pat = t_xasprintf("*%s*", prefix);

	rt_del_matching(c, pat, "DEL");
	free(pat);
	free(db_uri);
	redisFree(c);
}

const hd_view hd_view_redis = {
	"redis", box_uri, setup, fingerprint, cleanup, 64 * 1024,
};
