/* init --upgrade on Redis: a store of layout 1 (every release before the
 * ledgers' marks, no "{prefix}:version" key) to layout 2 (redis_keys.c),
 * in place and online: each ledger is marked by one script, atomic on the
 * server, while clients of either layout go on (a ledger of layout 1
 * reads the same in both until marked; a client of layout 1 must not run
 * after the upgrade: it does not keep the marks).
 *
 * Layout 2 reads layout 1 as it is (a ledger without a mark but with
 * entries counts by its counter, and is marked "*" by its first write),
 * so the upgrade only makes such ledgers fast: one that serves a single
 * bank (its counter names one bank, with every entry) is marked for that
 * bank and its counter deleted, so its claims no longer write a counter.
 * Then the version key says 2. */
#include "redis_private.h"

#include <stdlib.h>
#include <string.h>

/* Mark a ledger. KEYS: ledger, held counter. Returns 0 (marked already,
 * or empty: its first write marks it), 1 (one bank) or 2 (shared). A
 * counter that is not a number leaves the ledger shared, as it is. */
const char sb_rd_lua_mark[] =
	"local m = redis.call('HGET', KEYS[1], '')\n"
	"if m and m ~= '*' then return 0 end\n"
	"local n = redis.call('HLEN', KEYS[1]) - (m and 1 or 0)\n"
	"if n == 0 then return 0 end\n"
	"local c = redis.call('HGETALL', KEYS[2])\n"
	"local one, total = nil, 0\n"
	"for i = 1, #c, 2 do\n"
	"  local v = tonumber(c[i + 1])\n"
	"  if not v then one = false break end\n"
	"  if v ~= 0 then\n"
	"    if one == nil then one = c[i] else one = false end\n"
	"    total = total + v\n"
	"  end\n"
	"end\n"
	"if one and total == n then\n"
	"  redis.call('HSET', KEYS[1], '', '=' .. one)\n"
	"  redis.call('DEL', KEYS[2])\n"
	"  return 1\n"
	"end\n"
	"if not m then redis.call('HSET', KEYS[1], '', '*') end\n"
	"return 2\n";

static int mark(sb_rd_store *s, const char *key, size_t len)
{
	const char *argv[5];
	size_t lens[5];
	redisReply *r = NULL;
	char *held = malloc(len + 1);
	int rc;

	if (!held)
		return sb_rd_nomem(s, "upgrade");
	/* "{P}:l:NAME" -> "{P}:c:NAME" */
	memcpy(held, key, len + 1);
	held[s->tag_len] = SB_RD_KEY_HELD;
	argv[3] = key;
	lens[3] = len;
	argv[4] = held;
	lens[4] = len;
	rc = sb_rd_eval(&r, s, SB_RD_SCRIPT_MARK, 2, 0, argv, lens, "upgrade");
	free(held);
	if (rc != SB_OK)
		return rc;
	if (!sb_rd_is_int(r))
		rc = sb_rd_bad_reply(s, r, "upgrade");
	freeReplyObject(r);
	return rc;
}

int sb_rd_upgrade(sb_store *base)
{
	sb_rd_store *s = (sb_rd_store *)base;
	char cursor[32] = "0", *pat, *vkey;
	const char *argv[6];
	size_t lens[6];
	redisReply *r = NULL;
	int rc = SB_OK;

	/* "{P}:l:*": the prefix has no glob character (redis.c). */
	if (!(pat = sb_rd_key(s, SB_RD_KEY_LEDGER, "*", &lens[3])))
		return sb_rd_nomem(s, "upgrade");
	do {
		size_t i;

		argv[0] = "SCAN";
		lens[0] = 4;
		argv[1] = cursor;
		lens[1] = strlen(cursor);
		argv[2] = "MATCH";
		lens[2] = 5;
		argv[3] = pat;
		argv[4] = "COUNT";
		lens[4] = 5;
		argv[5] = "1000";
		lens[5] = 4;
		if ((rc = sb_rd_command(&r, s, 6, argv, lens, "upgrade")) !=
		    SB_OK)
			break;
		if (r->type == REDIS_REPLY_ERROR) {
			rc = sb_rd_reply_error(s, r, "upgrade");
			freeReplyObject(r);
			break;
		}
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[0]->len >= sizeof(cursor) ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			rc = sb_rd_bad_reply(s, r, "upgrade");
			freeReplyObject(r);
			break;
		}
		memcpy(cursor, r->element[0]->str, r->element[0]->len + 1);
		for (i = 0; rc == SB_OK && i < r->element[1]->elements; i++) {
			const redisReply *k = r->element[1]->element[i];
			if (k->type != REDIS_REPLY_STRING ||
			    k->len <= s->tag_len + 2)
				rc = sb_rd_bad_reply(s, k, "upgrade");
			else
				rc = mark(s, k->str, k->len);
		}
		freeReplyObject(r);
	} while (rc == SB_OK && strcmp(cursor, "0") != 0);
	free(pat);
	if (rc != SB_OK)
		return rc;
	if (!(vkey = sb_rd_version_key(s, &lens[1])))
		return sb_rd_nomem(s, "upgrade");
	argv[0] = "SET";
	lens[0] = 3;
	argv[1] = vkey;
	argv[2] = "2";
	lens[2] = 1;
	rc = sb_rd_command(&r, s, 3, argv, lens, "upgrade");
	free(vkey);
	if (rc != SB_OK)
		return rc;
	if (r->type == REDIS_REPLY_ERROR)
		rc = sb_rd_reply_error(s, r, "upgrade");
	freeReplyObject(r);
	return rc;
}
