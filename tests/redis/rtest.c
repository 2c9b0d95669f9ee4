#include "rtest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

char *rt_prefix(const char *tag)
{
	static int n;
	return t_xasprintf("%s-%lx-%ld-%d", tag, (long)time(NULL),
	                   (long)getpid(), n++);
}

/* The parts of a redis:// URI, read with the core's parser. */
redisContext *rt_connect(const char *uri)
{
	sb_uri *u = t_uri_parse(uri);
	char host[256], pass[256], user[128];
	int port = u->port ? u->port : 6379;
	int db = *u->path ? atoi(u->path + 1) : 0;

	snprintf(host, sizeof host, "%s", *u->host ? u->host : "127.0.0.1");
	snprintf(pass, sizeof pass, "%s", u->password ? u->password : "");
	snprintf(user, sizeof user, "%s", u->user ? u->user : "");
	sb_uri_free(u);
	struct timeval tv = { 5, 0 };
	redisContext *c = redisConnectWithTimeout(host, port, tv);
	if (!c || c->err) {
		fprintf(stderr, "rt_connect %s:%d: %s\n", host, port,
		        c ? c->errstr : "oom");
		if (c)
			redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	redisReply *r = NULL;
	if (*pass)
		r = *user ? rt_cmd(c, "AUTH", user, pass, NULL)
		          : rt_cmd(c, "AUTH", pass, NULL);
	if (r && r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "rt_connect: AUTH: %s\n", r->str);
		freeReplyObject(r);
		redisFree(c);
		return NULL;
	}
	if (r)
		freeReplyObject(r);
	if (db) {
		char dbs[16];
		snprintf(dbs, sizeof dbs, "%d", db);
		r = rt_cmd(c, "SELECT", dbs, NULL);
		if (r)
			freeReplyObject(r);
	}
	return c;
}

redisReply *rt_cmdv(redisContext *c, int argc, const char **argv,
                    const size_t *lens)
{
	return redisCommandArgv(c, argc, argv, lens);
}

redisReply *rt_cmd(redisContext *c, const char *arg, ...)
{
	const char *argv[16];
	size_t lens[16];
	int n = 0;
	va_list ap;
	va_start(ap, arg);
	for (const char *a = arg; a && n < 16; a = va_arg(ap, const char *)) {
		argv[n] = a;
		lens[n++] = strlen(a);
	}
	va_end(ap);
	return redisCommandArgv(c, n, argv, lens);
}

static unsigned crc16(const char *buf, size_t len)
{
	unsigned crc = 0;
	for (size_t i = 0; i < len; i++) {
		crc ^= (unsigned)(unsigned char)buf[i] << 8;
		for (int b = 0; b < 8; b++)
			crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff
			                   : (crc << 1) & 0xffff;
	}
	return crc;
}

unsigned rt_keyslot(const char *key, size_t len)
{
	size_t s, e;
	for (s = 0; s < len && key[s] != '{'; s++)
		;
	if (s < len) {
		for (e = s + 1; e < len && key[e] != '}'; e++)
			;
		if (e < len && e != s + 1)
			return crc16(key + s + 1, e - s - 1) & 16383;
	}
	return crc16(key, len) & 16383;
}

static long long value_len(redisContext *c, const char *key, size_t klen,
                           const char *type)
{
	const char *cmd = strcmp(type, "list") == 0   ? "LLEN"
	                  : strcmp(type, "hash") == 0 ? "HLEN"
	                  : strcmp(type, "set") == 0  ? "SCARD"
	                  : strcmp(type, "zset") == 0 ? "ZCARD"
	                                              : "STRLEN";
	const char *argv[2] = { cmd, key };
	size_t lens[2] = { strlen(cmd), klen };
	redisReply *r = rt_cmdv(c, 2, argv, lens);
	long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
	if (r)
		freeReplyObject(r);
	return n;
}

void rt_keys(redisContext *c, t_map *out)
{
	char cursor[32] = "0";
	do {
		redisReply *r = rt_cmd(c, "SCAN", cursor, "COUNT", "1000",
		                       NULL);
		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			CHECKF(NULL, 0, "SCAN failed: %s",
			       r && r->str ? r->str : c->errstr);
			if (r)
				freeReplyObject(r);
			return;
		}
		snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
		redisReply *ks = r->element[1];
		for (size_t i = 0; i < ks->elements; i++) {
			const char *argv[2] = { "TYPE", ks->element[i]->str };
			size_t lens[2] = { 4, ks->element[i]->len };
			redisReply *t = rt_cmdv(c, 2, argv, lens);
			const char *type = t && t->str ? t->str : "?";
			char *v = t_xasprintf("%s %lld", type,
			                      value_len(c, ks->element[i]->str,
			                                ks->element[i]->len,
			                                type));
			/* Keys with NUL bytes do not occur in these tests. */
			t_map_put(out, ks->element[i]->str, v);
			free(v);
			if (t)
				freeReplyObject(t);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
}

void rt_del_matching(redisContext *c, const char *pattern, const char *del)
{
	char cursor[32] = "0";

	do {
		redisReply *r = rt_cmd(c, "SCAN", cursor, "MATCH", pattern,
		                       "COUNT", "1000", NULL);
		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			if (r)
				freeReplyObject(r);
			break;
		}
		snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			const char *argv[2] = {
				del, r->element[1]->element[i]->str
			};
			size_t lens[2] = { strlen(del),
				           r->element[1]->element[i]->len };
			redisReply *d = rt_cmdv(c, 2, argv, lens);
			if (d)
				freeReplyObject(d);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
}
