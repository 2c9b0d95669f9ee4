/* The Lua scripts of the Redis backend (those of holds and the fused
 * claim: redis_lua_hold.c) and how they are run.
 *
 * Every slot that changes more than one key is one script, so it is
 * atomic on the server. Each script reads and checks everything it needs
 * (including the type of every key it will write, through a read of that
 * key) before its first write: Redis checks for out-of-memory only at a
 * script's first write, and a failed redis.call() stops the script, so a
 * script either fails before writing or does all of its writes. The one
 * write that checks itself (HINCRBY of the held counter: wrong type or
 * not a number) goes first instead of being read beforehand. The common
 * paths of the fused claim, hold and confirm (redis_lua_hold.c) check
 * their keys as they write them instead, and undo what they wrote when
 * one fails, to save calls.
 *
 * Keys arrive in KEYS (built in C, see the layout in redis_keys.c); user
 * strings arrive in ARGV only, never inside the source. The scripts carry
 * no shebang so that they also run on Redis 6.
 *
 * They are run with EVALSHA. A store learns a script's SHA with SCRIPT
 * LOAD the first time it needs it. When the server answers NOSCRIPT (a
 * SCRIPT FLUSH, a restart, a failover) the call is retried once with
 * EVAL and the source, which loads the script again for later EVALSHAs:
 * NOSCRIPT means the script did not run, so the retry cannot do anything
 * twice. */
#include "redis_private.h"

#include <string.h>

/* Add a chunk. KEYS: banks, queue, state. ARGV: bank, items... Returns
 * {added, skipped}. The first bank of a store records the layout version
 * (redis_keys.c). Known items (any state) and repeats are skipped. A
 * repeat inside the chunk is rare, so it is looked for only when HSET
 * created fewer fields than the chunk has unknown items: a set of seen
 * items for every chunk cost a third of the script's time. */
static const char add_src[] =
	"local fresh = redis.call('SCARD', KEYS[1]) == 0\n"
	"redis.call('SISMEMBER', KEYS[1], ARGV[1])\n"
	"redis.call('LLEN', KEYS[2])\n"
	"local n = #ARGV - 1\n"
	"local new, kv, m = {}, {}, 0\n"
	"if n > 0 then\n"
	"  local have = redis.call('HMGET', KEYS[3], unpack(ARGV, 2))\n"
	"  for i = 1, n do\n"
	"    if not have[i] then\n"
	"      local it = ARGV[i + 1]\n"
	"      m = m + 1\n"
	"      new[m] = it\n"
	"      kv[2 * m - 1] = it\n"
	"      kv[2 * m] = 'a'\n"
	"    end\n"
	"  end\n"
	"else\n"
	"  redis.call('HLEN', KEYS[3])\n"
	"end\n"
	"if fresh then\n"
	"  redis.call('SET', string.sub(KEYS[1], 1, #KEYS[1] - 5) .. 'version', "
	"'2')\n"
	"end\n"
	"redis.call('SADD', KEYS[1], ARGV[1])\n"
	"if m > 0 then\n"
	"  if redis.call('HSET', KEYS[3], unpack(kv)) < m then\n"
	"    local seen, uniq = {}, {}\n"
	"    m = 0\n"
	"    for _, it in ipairs(new) do\n"
	"      if not seen[it] then\n"
	"        seen[it] = true\n"
	"        m = m + 1\n"
	"        uniq[m] = it\n"
	"      end\n"
	"    end\n"
	"    new = uniq\n"
	"  end\n"
	"  redis.call('RPUSH', KEYS[2], unpack(new))\n"
	"end\n"
	"return {m, n - m}\n";

/* Take. KEYS: banks, queue, state, resv. ARGV: bank, token, now_ms.
 * Returns {-2}, {0} or {2, item}. */
static const char take_src[] =
	"local item = redis.call('LINDEX', KEYS[2], 0)\n"
	"if not item then\n"
	"  if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return {-2} end\n"
	"  return {0}\n"
	"end\n"
	"if redis.call('HGET', KEYS[3], item) ~= 'a' then\n"
	"  return redis.error_reply('ERR storagebox: queued item is not available "
	"in the state hash (data changed outside storagebox?)')\n"
	"end\n"
	"redis.call('HLEN', KEYS[4])\n"
	"redis.call('LPOP', KEYS[2])\n"
	"redis.call('HSET', KEYS[3], item, 'r')\n"
	"redis.call('HSET', KEYS[4], item, ARGV[3] .. '\\n' .. ARGV[2])\n"
	"return {2, item}\n";

/* Settle. KEYS: state, resv. ARGV: item, token. 1 done (or already
 * assigned with this token), 0 conflict. A reservation that a recovery
 * pass took over (a stamp: "SINCE:STAMP") is that pass's to settle
 * (move_if): a conflict here. */
static const char settle_src[] =
	"local r = redis.call('HGET', KEYS[2], ARGV[1])\n"
	"local s = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"if r then\n"
	"  local nl = string.find(r, '\\n', 1, true)\n"
	"  local c = string.find(r, ':', 1, true)\n"
	"  if nl and (not c or c > nl) and string.sub(r, nl + 1) == ARGV[2] "
	"then\n"
	"    redis.call('HDEL', KEYS[2], ARGV[1])\n"
	"    redis.call('HSET', KEYS[1], ARGV[1], 'i' .. ARGV[2])\n"
	"    return 1\n"
	"  end\n"
	"  return 0\n"
	"end\n"
	"if s == 'i' .. ARGV[2] then return 1 end\n"
	"return 0\n";

/* Put back. KEYS: queue, state, resv. ARGV: item, token. 1 done, 0
 * conflict. The item goes to the front: it is the next one handed out. */
static const char put_back_src[] =
	"local r = redis.call('HGET', KEYS[3], ARGV[1])\n"
	"if not r then return 0 end\n"
	"local nl = string.find(r, '\\n', 1, true)\n"
	"if not nl or string.sub(r, nl + 1) ~= ARGV[2] then return 0 end\n"
	"redis.call('LLEN', KEYS[1])\n"
	"redis.call('HLEN', KEYS[2])\n"
	"redis.call('HDEL', KEYS[3], ARGV[1])\n"
	"redis.call('HSET', KEYS[2], ARGV[1], 'a')\n"
	"redis.call('LPUSH', KEYS[1], ARGV[1])\n"
	"return 1\n";

/* Counts in one snapshot. KEYS: banks, queue, state, resv, due, flight,
 * gone. ARGV: bank. Returns {-2} or {0, available, reserved (with
 * releases in flight), assigned, on hold (held and reclaiming),
 * retired}. Items in flight are few: they are read one by one. */
static const char count_src[] =
	"if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return {-2} end\n"
	"local a = redis.call('LLEN', KEYS[2])\n"
	"local r = redis.call('HLEN', KEYS[4])\n"
	"local t = redis.call('HLEN', KEYS[3])\n"
	"local h = redis.call('ZCARD', KEYS[5])\n"
	"local x = tonumber(redis.call('GET', KEYS[7]) or '0')\n"
	"local fl = 0\n"
	"if redis.call('SCARD', KEYS[6]) > 0 then\n"
	"  for _, it in ipairs(redis.call('SMEMBERS', KEYS[6])) do\n"
	"    local st = redis.call('HGET', KEYS[3], it)\n"
	"    if st and string.byte(st, 1) ~= 99 then fl = fl + 1 end\n"
	"  end\n"
	"end\n"
	"return {0, a, r + fl, t - a - r - h - fl - x, h, x}\n";

const char *const sb_rd_script_src[SB_RD_NSCRIPTS] = {
	[SB_RD_SCRIPT_HOLD] = sb_rd_lua_hold,
	[SB_RD_SCRIPT_ADD] = add_src,
	[SB_RD_SCRIPT_TAKE] = take_src,
	[SB_RD_SCRIPT_SETTLE] = settle_src,
	[SB_RD_SCRIPT_PUT_BACK] = put_back_src,
	[SB_RD_SCRIPT_COUNT] = count_src,
	[SB_RD_SCRIPT_LEDGER_PUT] = sb_rd_lua_ledger_put,
	[SB_RD_SCRIPT_CHANGE] = sb_rd_lua_change,
	[SB_RD_SCRIPT_RECLAIM] = sb_rd_lua_reclaim,
	[SB_RD_SCRIPT_TAKE_HELD] = sb_rd_lua_take_held,
	[SB_RD_SCRIPT_MOVE] = sb_rd_lua_move,
	[SB_RD_SCRIPT_LIST] = sb_rd_lua_list,
	[SB_RD_SCRIPT_LEDGER_UPDATE] = sb_rd_lua_ledger_update,
	[SB_RD_SCRIPT_LEDGER_REMOVE] = sb_rd_lua_ledger_remove,
	[SB_RD_SCRIPT_LEDGER_COUNT] = sb_rd_lua_ledger_count,
	[SB_RD_SCRIPT_LEDGER_HOLDS] = sb_rd_lua_ledger_holds,
	[SB_RD_SCRIPT_MARK] = sb_rd_lua_mark,
};

int sb_rd_is_noscript(const redisReply *r)
{
	return r && r->type == REDIS_REPLY_ERROR && r->len >= 8 &&
	       memcmp(r->str, "NOSCRIPT", 8) == 0;
}

int sb_rd_script_load(sb_rd_store *s, int id, const char *op)
{
	const char *argv[3] = { "SCRIPT", "LOAD", sb_rd_script_src[id] };
	size_t lens[3] = { 6, 4, strlen(sb_rd_script_src[id]) };
	redisReply *r = NULL;
	int rc;

	rc = sb_rd_command(&r, s, 3, argv, lens, op);
	if (rc != SB_OK)
		return rc;
	if (r->type == REDIS_REPLY_ERROR)
		rc = sb_rd_reply_error(s, r, op);
	else if (r->type != REDIS_REPLY_STRING || r->len != 40)
		rc = sb_rd_bad_reply(s, r, op);
	else
		memcpy(s->sha[id], r->str, 41);
	freeReplyObject(r);
	return rc;
}

/* One attempt: EVALSHA (@p source 0) or EVAL with the source. argv[0..2]
 * are filled here. */
static int eval_once(redisReply **out, sb_rd_store *s, int id, int source,
                     int nkeys, int nargs, const char **argv, size_t *lens,
                     const char *op)
{
	/* Static strings: argv belongs to the caller. Scripts take 2-9 keys. */
	static const char *const digits[] = { "0", "1", "2", "3", "4",
		                              "5", "6", "7", "8", "9" };

	if (nkeys < 0 || nkeys > 9)
		return sb_seterr(s->base.box, SB_ERROR,
		                 "redis: %s: %d keys for one script", op,
		                 nkeys);
	argv[2] = digits[nkeys];
	lens[2] = 1;
	if (!source) {
		argv[0] = "EVALSHA";
		lens[0] = 7;
		argv[1] = s->sha[id];
		lens[1] = 40;
	} else {
		argv[0] = "EVAL";
		lens[0] = 4;
		argv[1] = sb_rd_script_src[id];
		lens[1] = strlen(sb_rd_script_src[id]);
	}
	return sb_rd_command(out, s, 3 + nkeys + nargs, argv, lens, op);
}

/* A reply that is an error: mapped, freed. */
static int eval_reply(redisReply **out, sb_rd_store *s, redisReply *r,
                      const char *op)
{
	int rc;

	if (r->type == REDIS_REPLY_ERROR) {
		rc = sb_rd_reply_error(s, r, op);
		freeReplyObject(r);
		return rc;
	}
	*out = r;
	return SB_OK;
}

int sb_rd_eval_source(redisReply **out, sb_rd_store *s, int id, int nkeys,
                      int nargs, const char **argv, size_t *lens,
                      const char *op)
{
	redisReply *r = NULL;
	int rc;

	*out = NULL;
	rc = eval_once(&r, s, id, 1, nkeys, nargs, argv, lens, op);
	return rc != SB_OK ? rc : eval_reply(out, s, r, op);
}

/* EVALSHA, or on NOSCRIPT, EVAL with the source: EVAL loads and runs in
 * one step (and caches the script for the next EVALSHA), so the retry
 * cannot meet NOSCRIPT again however often someone flushes. */
int sb_rd_eval(redisReply **out, sb_rd_store *s, int id, int nkeys, int nargs,
               const char **argv, size_t *lens, const char *op)
{
	redisReply *r = NULL;
	int rc;

	*out = NULL;
	if (!s->sha[id][0] && (rc = sb_rd_script_load(s, id, op)) != SB_OK)
		return rc;
	rc = eval_once(&r, s, id, 0, nkeys, nargs, argv, lens, op);
	if (rc != SB_OK)
		return rc;
	if (sb_rd_is_noscript(r)) {
		/* Flushed, restarted or failed over: NOSCRIPT means the
		 * script did not run, so running it again is safe. */
		freeReplyObject(r);
		return sb_rd_eval_source(out, s, id, nkeys, nargs, argv, lens,
		                         op);
	}
	return eval_reply(out, s, r, op);
}
