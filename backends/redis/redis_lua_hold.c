/* The Lua scripts of holds (version 2 of the contract): the fused hold
 * (which is also the fused claim, ttl 0), change and reclaim, the bank's
 * take_held, move and list, and the ledger's writes. The rules of
 * redis_scripts.c hold here too (keys in KEYS or built from the tag in
 * ARGV[1], user strings in ARGV only, reads that check a key's type before
 * the first write), and one more: the clock is the server's, TIME inside
 * the script (effects replication, the default since Redis 5, replicates
 * what the script wrote, not the call).
 *
 * Keys a script builds itself (the bank of an entry, the ledger of a held
 * item's token) start with the tag like every key: one hash slot, so the
 * scripts stay Redis Cluster ready.
 *
 * States (the letter leading a state hash value; redis_keys.c) and their
 * bits (SB_STATE_*): a 1, r 2, i 4, h 8, x 16, b 32, t 64, c 128. */
#include "redis_private.h"

/* Shared by the scripts below: ARGV[1] is the tag "{prefix}:".
 * parse(e): an entry's deadline (0: for good), bank, item and its form
 *   for good; nil when malformed.
 * split(t): token "LEDGER\nID" -> ledger, id.
 * touch_*: reads that fail on a key of the wrong type, before any write.
 * judge(b, it, now): item it of bank b is held and its deadline in the
 *   bank has passed: the ledger decides. True when the hold lapsed (its
 *   entry, if still there, is dropped: the item is free, still "h" in
 *   the bank); false when not (the bank is set right: assigned when the
 *   entry was confirmed, the new deadline when it was extended) or when
 *   the item is not held (reclaiming: someone else's). The second result
 *   says whether the bank was changed. */
#define LIB "local TAG = ARGV[1]\n" LIB_FNS
#define LIB_FNS                                                                     \
	"local function key(k, name) return TAG .. k .. ':' .. name end\n"          \
	"local function now_ms()\n"                                                 \
	"  local t = redis.call('TIME')\n"                                          \
	"  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"      \
	"end\n"                                                                     \
	"local function num(n) return string.format('%.0f', n) end\n"               \
	"local function parse(e)\n"                                                 \
	"  local u, base = 0, e\n"                                                  \
	"  if string.byte(e, 1) == 104 then\n"                                      \
	"    local sc = string.find(e, ';', 2, true)\n"                             \
	"    if not sc then return nil end\n"                                       \
	"    u = tonumber(string.sub(e, 2, sc - 1))\n"                              \
	"    base = string.sub(e, sc + 1)\n"                                        \
	"  end\n"                                                                   \
	"  local c = string.find(base, ':', 1, true)\n"                             \
	"  if not u or not c then return nil end\n"                                 \
	"  local bl = tonumber(string.sub(base, 1, c - 1))\n"                       \
	"  if not bl or bl < 1 or c + bl >= string.len(base) then return nil end\n" \
	"  return u, string.sub(base, c + 1, c + bl), "                             \
	"string.sub(base, c + bl + 1), base\n"                                      \
	"end\n"                                                                     \
	"local function bad()\n"                                                    \
	"  return redis.error_reply('ERR storagebox: malformed ledger entry "       \
	"(data changed outside storagebox?)')\n"                                    \
	"end\n"                                                                     \
	"local function split(t)\n"                                                 \
	"  local nl = string.find(t, '\\n', 1, true)\n"                             \
	"  if not nl then return nil end\n"                                         \
	"  return string.sub(t, 1, nl - 1), string.sub(t, nl + 1)\n"                \
	"end\n"                                                                     \
	"local function touch_bank(b)\n"                                            \
	"  redis.call('LLEN', key('q', b))\n"                                       \
	"  redis.call('HLEN', key('r', b))\n"                                       \
	"  redis.call('HLEN', key('s', b))\n"                                       \
	"  redis.call('ZCARD', key('d', b))\n"                                      \
	"  redis.call('SCARD', key('f', b))\n"                                      \
	"end\n"                                                                     \
	"local function touch_ledger(l)\n"                                          \
	"  redis.call('HLEN', key('l', l))\n"                                       \
	"  redis.call('HLEN', key('c', l))\n"                                       \
	"  redis.call('ZCARD', key('e', l))\n"                                      \
	"end\n"                                                                     \
	"local function count_keys(lk, ck, b, d)\n"                                 \
	"  local m = redis.call('HGET', lk, '')\n"                                  \
	"  if m == '=' .. b then return end\n"                                      \
	"  if not m then\n"                                                         \
	"    if redis.call('HLEN', lk) == 0 then\n"                                 \
	"      redis.call('HSET', lk, '', '=' .. b)\n"                              \
	"      return\n"                                                            \
	"    end\n"                                                                 \
	"    redis.call('HSET', lk, '', '*')\n"                                     \
	"  elseif m ~= '*' then\n"                                                  \
	"    redis.call('HSET', ck, string.sub(m, 2), "                             \
	"redis.call('HLEN', lk) - 1)\n"                                             \
	"    redis.call('HSET', lk, '', '*')\n"                                     \
	"  end\n"                                                                   \
	"  redis.call('HINCRBY', ck, b, d)\n"                                       \
	"end\n"                                                                     \
	"local function count(l, b, d)\n"                                           \
	"  count_keys(key('l', l), key('c', l), b, d)\n"                            \
	"end\n"                                                                     \
	"local function drop_entry(l, id, b)\n"                                     \
	"  count(l, b, -1)\n"                                                       \
	"  redis.call('HDEL', key('l', l), id)\n"                                   \
	"  redis.call('ZREM', key('e', l), id)\n"                                   \
	"end\n"                                                                     \
	"local function to_available(b, it)\n"                                      \
	"  redis.call('HSET', key('s', b), it, 'a')\n"                              \
	"  redis.call('ZREM', key('d', b), it)\n"                                   \
	"  redis.call('SREM', key('f', b), it)\n"                                   \
	"  redis.call('RPUSH', key('q', b), it)\n"                                  \
	"end\n"                                                                     \
	"local function judge(b, it, now)\n"                                        \
	"  local st = redis.call('HGET', key('s', b), it)\n"                        \
	"  if not st or string.byte(st, 1) ~= 104 then return false, false end\n"   \
	"  local t = string.sub(st, 2)\n"                                           \
	"  local l, id = split(t)\n"                                                \
	"  if not l then return false, false end\n"                                 \
	"  local e = redis.call('HGET', key('l', l), id)\n"                         \
	"  local u, eb, ei\n"                                                       \
	"  if e then u, eb, ei = parse(e) end\n"                                    \
	"  if e and not u then return false, false end\n"                           \
	"  if u and eb == b and ei == it then\n"                                    \
	"    if u == 0 then\n"                                                      \
	"      redis.call('HSET', key('s', b), it, 'i' .. t)\n"                     \
	"      redis.call('ZREM', key('d', b), it)\n"                               \
	"      return false, true\n"                                                \
	"    end\n"                                                                 \
	"    if u > now then\n"                                                     \
	"      redis.call('ZADD', key('d', b), num(u), it)\n"                       \
	"      return false, true\n"                                                \
	"    end\n"                                                                 \
	"    touch_ledger(l)\n"                                                     \
	"    drop_entry(l, id, b)\n"                                                \
	"  end\n"                                                                   \
	"  return true, true\n"                                                     \
	"end\n"

/* Fused hold (ttl 0: the fused claim). KEYS: ledger, held, queue, state.
 * ARGV: id, bank, token, ttl_ms. Returns {1, entry} (the id's live entry,
 * any bank), {-2} (no such bank), {0} (empty), {3} (empty and nothing of
 * the bank in flight: the caller may skip its recovery pass), {2, item,
 * until} (handed out now; until 0: for good) or, from the common path,
 * the item alone (handed out now for good: no table to build).
 *
 * The common paths (an entry for good, or a new id, a queued item and a
 * ledger whose mark says how it counts: redis_keys.c) come first, before
 * the helpers are even defined. A claim makes four calls: the id's entry
 * with the ledger's mark (one HMGET), the pop, a look at the item's
 * state (it must be known: law 6 and the bank's counts rest on it) and
 * the entry. It leaves the state "a": an item "a" that is not queued is
 * assigned by a fused claim, its entry the authority. A hold makes
 * six: the same but the look, and after the pop TIME, the deadline in
 * the bank's sorted set (a fused hold is not in the ledger's; written
 * before the state, so that undoing it never has to guess an old value)
 * and the state "h"TOKEN. A ledger shared by several banks ("*") adds its per-bank
 * counter. The pop is the first write and checks its own key; the others
 * (but the entry) are written with pcall, and if one fails (foreign
 * data: a wrong type, a counter that is not a number, an item the state
 * hash does not know) what was written is undone before the error is
 * returned, so a failing claim or hold still changes nothing. The
 * ledger's type was checked by the first read. A queued item proves the
 * bank exists (add registers it first), so the bank set is read only when
 * the queue is empty. A ledger not marked yet (new, or of layout 1) or
 * marked for another bank takes the general path once, which marks it.
 *
 * The other keys (banks, resv, holds, due, flight) are built from the
 * tag, which is the ledger key less "l:" and the ledger's name (the token
 * is LEDGER LF ID): they are needed only off the common path, and every
 * argument costs the server a string per call. */
const char sb_rd_lua_hold[] =
	"local id, bank, token = ARGV[1], ARGV[2], ARGV[3]\n"
	"local em = redis.call('HMGET', KEYS[1], id, '')\n"
	"local e, m = em[1], em[2]\n"
	"if e and string.byte(e, 1) ~= 104 then return {1, e} end\n"
	"local item\n"
	"local shared = m == '*'\n"
	"if not e and (shared or m == '=' .. bank) then\n"
	"  item = redis.call('LPOP', KEYS[3])\n"
	"  if item and ARGV[4] ~= '0' then\n"
	"    local t = redis.call('TIME')\n"
	"    local til = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
	"+ tonumber(ARGV[4])\n"
	"    local u = string.format('%.0f', til)\n"
	"    local nl = string.find(token, '\\n', 1, true)\n"
	"    local tag = string.sub(KEYS[1], 1, string.len(KEYS[1]) - nl - 1)\n"
	"    local dk = tag .. 'd:' .. bank\n"
	"    local n = 0\n"
	"    local function undo(r)\n"
	"      if n > 1 then redis.call('HINCRBY', KEYS[2], bank, -1) end\n"
	"      if n > 0 then redis.call('ZREM', dk, item) end\n"
	"      redis.call('LPUSH', KEYS[3], item)\n"
	"      return r\n"
	"    end\n"
	"    local r = redis.pcall('ZADD', dk, u, item)\n"
	"    if type(r) == 'table' then return undo(r) end\n"
	"    n = 1\n"
	"    if shared then\n"
	"      r = redis.pcall('HINCRBY', KEYS[2], bank, 1)\n"
	"      if type(r) == 'table' then return undo(r) end\n"
	"      n = 2\n"
	"    end\n"
	"    r = redis.pcall('HSET', KEYS[4], item, 'h' .. token)\n"
	"    if r ~= 0 then\n"
	"      if r == 1 then\n"
	"        redis.call('HDEL', KEYS[4], item)\n"
	"        r = redis.error_reply('ERR storagebox: queued item is not "
	"in the state hash (data changed outside storagebox?)')\n"
	"      end\n"
	"      return undo(r)\n"
	"    end\n"
	"    redis.call('HSET', KEYS[1], id, 'h' .. u .. ';' .. #bank .. ':' .. "
	"bank .. item)\n"
	"    return {2, item, til}\n"
	"  end\n"
	"  if item then\n"
	"    local r = redis.pcall('HEXISTS', KEYS[4], item)\n"
	"    if r ~= 1 then\n"
	"      redis.call('LPUSH', KEYS[3], item)\n"
	"      if r == 0 then\n"
	"        r = redis.error_reply('ERR storagebox: queued item is not "
	"in the state hash (data changed outside storagebox?)')\n"
	"      end\n"
	"      return r\n"
	"    end\n"
	"    if shared then\n"
	"      r = redis.pcall('HINCRBY', KEYS[2], bank, 1)\n"
	"      if type(r) == 'table' then\n"
	"        redis.call('LPUSH', KEYS[3], item)\n"
	"        return r\n"
	"      end\n"
	"    end\n"
	"    redis.call('HSET', KEYS[1], id, #bank .. ':' .. bank .. item)\n"
	"    return item\n"
	"  end\n"
	"end\n"
	"local ttl = tonumber(ARGV[4])\n"
	"local nl = string.find(token, '\\n', 1, true)\n"
	"local TAG = string.sub(KEYS[1], 1, string.len(KEYS[1]) - nl - 1)\n" LIB_FNS
	"local ledger = string.sub(token, 1, nl - 1)\n"
	"local K_BANKS, K_RESV, K_HOLDS = TAG .. 'banks', key('r', bank), "
	"key('e', ledger)\n"
	"local K_DUE, K_FLIGHT = key('d', bank), key('f', bank)\n"
	"local now\n"
	"if e then\n"
	"  local u, ob, oi = parse(e)\n"
	"  if not u then return bad() end\n"
	"  now = now_ms()\n"
	"  if u > now then return {1, e} end\n"
	/* The id's hold lapsed: reclaim it, then go on as a new id. */
	"  local st = redis.call('HGET', key('s', ob), oi)\n"
	"  touch_bank(ob)\n"
	"  touch_ledger(ledger)\n"
	"  count(ledger, ob, -1)\n"
	"  redis.call('HDEL', KEYS[1], id)\n"
	"  redis.call('ZREM', K_HOLDS, id)\n"
	"  if st == 'h' .. token then to_available(ob, oi) end\n"
	"end\n"
	/* After a reclaim of the id's lapsed hold, or for a ledger the common
	 * path left alone: the queue's head. (A new id that found the queue
	 * empty above finds it empty here too: nothing ran in between.) */
	"if item == nil then item = redis.call('LINDEX', KEYS[3], 0) end\n"
	"local queued = item ~= false\n"
	"if not item then\n"
	"  if redis.call('SISMEMBER', K_BANKS, bank) == 0 then return {-2} end\n"
	/* No available item: one lapsed hold of the bank, from any ledger. */
	"  now = now or now_ms()\n"
	"  local cands = redis.call('ZRANGEBYSCORE', K_DUE, '-inf', num(now), "
	"'LIMIT', 0, 16)\n"
	"  for _, c in ipairs(cands) do\n"
	"    if judge(bank, c, now) then item = c break end\n"
	"  end\n"
	"  if not item then\n"
	"    if #cands < 16 and redis.call('HLEN', K_RESV) == 0 and\n"
	"       redis.call('SCARD', K_FLIGHT) == 0 then return {3} end\n"
	"    return {0}\n"
	"  end\n"
	"else\n"
	"  local st = redis.call('HGET', KEYS[4], item)\n"
	"  if st ~= 'a' then\n"
	"    return redis.error_reply('ERR storagebox: queued item is not ' .. "
	"(st and 'available ' or '') .. 'in the state hash (data changed "
	"outside storagebox?)')\n"
	"  end\n"
	"end\n"
	"local til = 0\n"
	"if ttl > 0 then\n"
	"  now = now or now_ms()\n"
	"  til = now + ttl\n"
	"  redis.call('ZCARD', K_DUE)\n"
	"end\n"
	"local enc = string.len(bank) .. ':' .. bank .. item\n"
	"touch_ledger(ledger)\n"
	"count(ledger, bank, 1)\n"
	"if queued then redis.call('LPOP', KEYS[3]) end\n"
	"if til > 0 then\n"
	"  redis.call('HSET', KEYS[4], item, 'h' .. token)\n"
	"  redis.call('ZADD', K_DUE, num(til), item)\n"
	"  redis.call('HSET', KEYS[1], id, 'h' .. num(til) .. ';' .. enc)\n"
	"else\n"
	"  redis.call('HSET', KEYS[4], item, 'i' .. token)\n"
	"  if not queued then redis.call('ZREM', K_DUE, item) end\n"
	"  redis.call('HSET', KEYS[1], id, enc)\n"
	"end\n"
	"return {2, item, til}\n";

/* Fused change. KEYS: ledger, held, holds. ARGV: tag, id, token, op
 * (SB_CHANGE_*), ttl_ms. Returns {-1} (no entry), {-3} (lapsed: the
 * hold was reclaimed), {0, entry} (confirm, extend) or {0} (restock,
 * retire). The item follows the entry only while it is this id's (its
 * state carries the token); a reservation of the generic path is this
 * id's when its token is.
 *
 * The common confirm (a live hold whose item is held by this id's token)
 * comes first, before the helpers are defined, and makes five calls:
 * the entry, TIME, the item's state, then the writes: out of the bank's
 * sorted set (a fused hold is not in the ledger's, and a held item out
 * of its bank's set is assigned: redis_keys.c, so the state stays) and
 * the entry (the general path makes fifteen). The common restock (the
 * same hold, in a ledger marked for its bank or shared: redis_keys.c)
 * makes ten, the general path's writes without its reads and helpers:
 * the entry with the mark, TIME, the state, the types of the ledger's
 * sorted set and of the queue, then the counter (shared ledger), out of
 * the bank's sorted set, the entry gone (and out of the ledger's set: a
 * hold of the generic path is there), the state "a" and the item at the
 * end of the queue. A held item is in no other key of its bank (the
 * flight set, the stamps and the reservations hold only items in other
 * states). The first write (HINCRBY or ZREM, with pcall) checks its own
 * key, and the ZREM undoes the counter if it fails; the others' keys
 * were read before. Anything else (lapsed, confirmed already, the
 * item not held by this token, a malformed entry, an unmarked ledger)
 * takes the general path below, which reads the state again and judges
 * the deadline again: the same answer, nothing was written. */
const char sb_rd_lua_change[] =
	"local TAG = ARGV[1]\n"
	"local id, token, op = ARGV[2], ARGV[3], tonumber(ARGV[4])\n"
	"local e, m\n"
	"if op == 3 then\n"
	"  local em = redis.call('HMGET', KEYS[1], id, '')\n"
	"  e, m = em[1], em[2]\n"
	"else\n"
	"  e = redis.call('HGET', KEYS[1], id)\n"
	"end\n"
	"if not e then return {-1} end\n"
	"if (op == 1 or op == 3) and string.byte(e, 1) == 104 then\n"
	"  local sc = string.find(e, ';', 2, true)\n"
	"  local us = sc and string.sub(e, 2, sc - 1)\n"
	"  local u = us and tonumber(us)\n"
	"  local base = sc and string.sub(e, sc + 1)\n"
	"  local c = base and string.find(base, ':', 1, true)\n"
	"  local bl = c and tonumber(string.sub(base, 1, c - 1))\n"
	"  local t = u and bl and bl >= 1 and c + bl < string.len(base) and "
	"redis.call('TIME')\n"
	"  if t and u > tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / "
	"1000) then\n"
	"    local b = string.sub(base, c + 1, c + bl)\n"
	"    local it = string.sub(base, c + bl + 1)\n"
	"    local sk = TAG .. 's:' .. b\n"
	"    local shared = m == '*'\n"
	"    if (op == 1 or shared or m == '=' .. b) and "
	"redis.call('HGET', sk, it) == 'h' .. token then\n"
	"      local qk\n"
	"      if op == 3 then\n"
	"        qk = TAG .. 'q:' .. b\n"
	"        redis.call('ZCARD', KEYS[3])\n"
	"        redis.call('LLEN', qk)\n"
	"        if shared then\n"
	"          local r = redis.pcall('HINCRBY', KEYS[2], b, -1)\n"
	"          if type(r) == 'table' then return r end\n"
	"        end\n"
	"      end\n"
	"      local r = redis.pcall('ZREM', TAG .. 'd:' .. b, it)\n"
	"      if type(r) == 'table' then\n"
	"        if op == 3 and shared then "
	"redis.call('HINCRBY', KEYS[2], b, 1) end\n"
	"        return r\n"
	"      end\n"
	/* The state stays "h"TOKEN: out of d, it is assigned (redis_keys.c). */
	"      if op == 1 then\n"
	"        redis.call('HSET', KEYS[1], id, base)\n"
	"        return {0, base}\n"
	"      end\n"
	"      redis.call('HDEL', KEYS[1], id)\n"
	"      redis.call('ZREM', KEYS[3], id)\n"
	"      redis.call('HSET', sk, it, 'a')\n"
	"      redis.call('RPUSH', qk, it)\n"
	"      return {0}\n"
	"    end\n"
	"  end\n"
	"end\n" LIB_FNS "local ttl = tonumber(ARGV[5])\n"
	"local u, b, it, base = parse(e)\n"
	"if not u then return bad() end\n"
	"local st = redis.call('HGET', key('s', b), it)\n"
	"touch_bank(b)\n"
	"redis.call('HLEN', KEYS[2])\n"
	"redis.call('ZCARD', KEYS[3])\n"
	"local l = split(token)\n"
	"local now\n"
	"if u > 0 then\n"
	"  now = now_ms()\n"
	"  if u <= now then\n"
	"    drop_entry(l, id, b)\n"
	"    if st == 'h' .. token then to_available(b, it) end\n"
	"    return {-3}\n"
	"  end\n"
	"end\n"
	"local held = st == 'h' .. token or st == 'c' .. token\n"
	"if op == 1 or op == 2 then\n"
	"  if u == 0 then return {0, e} end\n"
	"  if op == 1 then\n"
	"    redis.call('HSET', KEYS[1], id, base)\n"
	"    redis.call('ZREM', KEYS[3], id)\n"
	"    if held then\n"
	"      redis.call('HSET', key('s', b), it, 'i' .. token)\n"
	"      redis.call('ZREM', key('d', b), it)\n"
	"      redis.call('SREM', key('f', b), it)\n"
	"    end\n"
	"    return {0, base}\n"
	"  end\n"
	"  local nu = now + ttl\n"
	"  local ne = 'h' .. num(nu) .. ';' .. base\n"
	"  redis.call('HSET', KEYS[1], id, ne)\n"
	"  redis.call('ZADD', KEYS[3], 'XX', num(nu), id)\n"
	"  if held then redis.call('ZADD', key('d', b), num(nu), it) end\n"
	"  return {0, ne}\n"
	"end\n"
	"local mine = false\n"
	"if st == 'r' then\n"
	"  local r = redis.call('HGET', key('r', b), it)\n"
	"  local nl = r and string.find(r, '\\n', 1, true)\n"
	"  mine = nl and string.sub(r, nl + 1) == token\n"
	"elseif st == 'a' then\n"
	/* Not queued (an entry names it): assigned by a fused claim. */
	"  mine = u == 0\n"
	"elseif st and string.sub(st, 2) == token then\n"
	"  mine = string.find('ihcbt', string.sub(st, 1, 1), 1, true) ~= nil\n"
	"end\n"
	"local flight = mine and string.find('bt', string.sub(st, 1, 1), 1, "
	"true) ~= nil\n"
	"if flight then redis.call('HLEN', key('m', b)) end\n"
	"if op == 4 then redis.call('GET', key('x', b)) end\n"
	"drop_entry(l, id, b)\n"
	"if mine then\n"
	"  redis.call('HDEL', key('r', b), it)\n"
	"  if flight then redis.call('HDEL', key('m', b), it) end\n"
	"  if op == 3 then\n"
	"    to_available(b, it)\n"
	"  else\n"
	"    redis.call('HSET', key('s', b), it, 'x')\n"
	"    redis.call('ZREM', key('d', b), it)\n"
	"    redis.call('SREM', key('f', b), it)\n"
	"    redis.call('INCR', key('x', b))\n"
	"  end\n"
	"end\n"
	"return {0}\n";

/* Fused reclaim of up to ARGV[3] lapsed holds of a bank. KEYS: banks,
 * due. ARGV: tag, bank, limit. Returns {-2} or {0, reclaimed, looked at,
 * set right (confirmed or extended in the ledger)}. */
const char sb_rd_lua_reclaim[] = LIB
	"local bank = ARGV[2]\n"
	"if redis.call('SISMEMBER', KEYS[1], bank) == 0 then return {-2} end\n"
	"touch_bank(bank)\n"
	"local now = now_ms()\n"
	"local cands = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', num(now), "
	"'LIMIT', 0, tonumber(ARGV[3]))\n"
	"local n, fixed = 0, 0\n"
	"for _, it in ipairs(cands) do\n"
	"  local free, changed = judge(bank, it, now)\n"
	"  if free then\n"
	"    to_available(bank, it)\n"
	"    n = n + 1\n"
	"  elseif changed then\n"
	"    fixed = fixed + 1\n"
	"  end\n"
	"end\n"
	"return {0, n, #cands, fixed}\n";

/* Take held. KEYS: banks, queue, state, due. ARGV: bank, token, until.
 * Returns {-2}, {0} or {2, item}. */
const char sb_rd_lua_take_held[] =
	"local item = redis.call('LINDEX', KEYS[2], 0)\n"
	"if not item then\n"
	"  if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return {-2} end\n"
	"  return {0}\n"
	"end\n"
	"if redis.call('HGET', KEYS[3], item) ~= 'a' then\n"
	"  return redis.error_reply('ERR storagebox: queued item is not available "
	"in the state hash (data changed outside storagebox?)')\n"
	"end\n"
	"redis.call('ZCARD', KEYS[4])\n"
	"redis.call('LPOP', KEYS[2])\n"
	"redis.call('HSET', KEYS[3], item, 'h' .. ARGV[2])\n"
	"redis.call('ZADD', KEYS[4], ARGV[3], item)\n"
	"return {2, item}\n";

/* The bank's move slot, and move_if (version 3: stamps). KEYS: queue,
 * state, resv, due, flight, gone, stamp. ARGV: item, token, from (a set
 * of SB_STATE_* bits), to (one bit), until, now (the client's clock, the
 * one of reservations), and for move_if the stamp expected. Returns 1
 * (moved) or 0 (conflict: nothing changed).
 *
 * An item's stamp (decimal text, compared as text: a stamp may not fit
 * a double) is: for a reserved one, the STAMP of its "SINCE:STAMP"
 * reservation; for a restocking or retiring one, its field in the stamp
 * hash; for a held or reclaiming one, its deadline; none of these: 0.
 * Into restocking or retiring, until becomes the stamp; into reserved
 * too, but 0 keeps the stamp, and SINCE becomes now. Now (the clock the
 * core set and listed generic deadlines by) also keeps a hold whose
 * deadline has not come from being marked for reclaim. */
const char sb_rd_lua_move[] =
	"local it, token = ARGV[1], ARGV[2]\n"
	"local from, to = tonumber(ARGV[3]), tonumber(ARGV[4])\n"
	"local til = tonumber(ARGV[5])\n"
	"local bits = {a = 1, r = 2, i = 4, h = 8, x = 16, b = 32, t = 64, "
	"c = 128}\n"
	"local letter = {[1] = 'a', [2] = 'r', [4] = 'i', [8] = 'h', [16] = 'x', "
	"[32] = 'b', [64] = 't', [128] = 'c'}\n"
	"if not letter[to] then return 0 end\n"
	"local st = redis.call('HGET', KEYS[2], it)\n"
	"if not st then return 0 end\n"
	"local cur = bits[string.sub(st, 1, 1)]\n"
	"if not cur then return 0 end\n"
	"local tok = string.sub(st, 2)\n"
	/* "a" and named for good by the token's entry (the ledger is in this
	 * store: the tag's, from the state key): assigned by a fused claim,
	 * not queued. */
	"if cur == 1 and bit.band(from, 4) ~= 0 then\n"
	"  local nl = string.find(token, '\\n', 1, true)\n"
	"  local tg = string.find(KEYS[2], '}:', 1, true)\n"
	"  if nl and tg then\n"
	"    local b = string.sub(KEYS[2], tg + 4)\n"
	"    local e = redis.call('HGET', string.sub(KEYS[2], 1, tg + 1) .. 'l:' "
	".. string.sub(token, 1, nl - 1), string.sub(token, nl + 1))\n"
	"    if e == string.len(b) .. ':' .. b .. it then cur, tok = 4, token end\n"
	"  end\n"
	"end\n"
	"local stamp = '0'\n"
	"if cur == 2 then\n"
	"  local r = redis.call('HGET', KEYS[3], it)\n"
	"  local nl = r and string.find(r, '\\n', 1, true)\n"
	"  tok = nl and string.sub(r, nl + 1) or ''\n"
	"  local c = nl and string.find(r, ':', 1, true)\n"
	"  if c and c < nl then stamp = string.sub(r, c + 1, nl - 1) end\n"
	"end\n"
	"local tokened = cur ~= 1 and cur ~= 16\n"
	"if tokened and tok ~= token then return 0 end\n"
	"local again = cur == to and bit.band(to, 4 + 8 + 32 + 64 + 128) ~= 0\n"
	"if bit.band(from, cur) == 0 and not again then return 0 end\n"
	"redis.call('LLEN', KEYS[1])\n"
	"redis.call('HLEN', KEYS[3])\n"
	"local old = redis.call('ZSCORE', KEYS[4], it)\n"
	/* docs/holds.md, Reclaim step 1: held(token, until <= now) ->
	 * reclaiming. A reclaim that listed the item earlier must not take
	 * a new hold of it by the same id (same token, a later deadline). */
	"if cur == 8 and to == 128 and old and "
	"tonumber(old) > tonumber(ARGV[6]) then return 0 end\n"
	"redis.call('SCARD', KEYS[5])\n"
	"redis.call('GET', KEYS[6])\n"
	"local ms = redis.call('HGET', KEYS[7], it)\n"
	"if cur == 32 or cur == 64 then stamp = ms or '0'\n"
	"elseif (cur == 8 or cur == 128) and old then\n"
	"  stamp = string.format('%.0f', tonumber(old))\n"
	"end\n"
	"if ARGV[7] and (bit.band(cur, 2 + 8 + 32 + 64 + 128) == 0 or "
	"stamp ~= ARGV[7]) then return 0 end\n"
	/* Leave the old state's structures... */
	/* (An "a" item not queued is assigned by a fused claim: not
	 * available, so a conflict, and nothing was written yet.) */
	"if cur == 1 then\n"
	"  if redis.call('LREM', KEYS[1], 1, it) == 0 then return 0 end\n"
	"elseif cur == 2 then redis.call('HDEL', KEYS[3], it)\n"
	"elseif cur == 16 then redis.call('DECR', KEYS[6]) end\n"
	"if cur == 8 or cur == 128 then redis.call('ZREM', KEYS[4], it) end\n"
	"if cur >= 32 then redis.call('SREM', KEYS[5], it) end\n"
	"if ms and to ~= 32 and to ~= 64 then redis.call('HDEL', KEYS[7], it) end\n"
	/* ... and enter the new one's. */
	"if to == 1 or to == 16 then\n"
	"  redis.call('HSET', KEYS[2], it, letter[to])\n"
	"else\n"
	"  redis.call('HSET', KEYS[2], it, letter[to] .. token)\n"
	"end\n"
	"if to == 1 then redis.call('RPUSH', KEYS[1], it)\n"
	"elseif to == 2 then\n"
	"  if til ~= 0 then stamp = ARGV[5] end\n"
	"  if stamp == '0' then stamp = '' else stamp = ':' .. stamp end\n"
	"  redis.call('HSET', KEYS[3], it, ARGV[6] .. stamp .. '\\n' .. token)\n"
	"elseif to == 16 then redis.call('INCR', KEYS[6]) end\n"
	"if to == 8 or to == 128 then\n"
	"  if til > 0 then redis.call('ZADD', KEYS[4], ARGV[5], it)\n"
	"  else redis.call('ZADD', KEYS[4], old or '0', it) end\n"
	"end\n"
	"if to >= 32 then redis.call('SADD', KEYS[5], it) end\n"
	"if to == 32 or to == 64 then\n"
	"  if til ~= 0 then redis.call('HSET', KEYS[7], it, ARGV[5])\n"
	"  elseif ms then redis.call('HDEL', KEYS[7], it) end\n"
	"end\n"
	"return 1\n";

/* The bank's list slot. KEYS: banks, state, due, flight, stamp. ARGV:
 * bank, states (bits), until_le. Returns {-2} or {0, item, state, ms,
 * ...} (ms: the deadline of a held or reclaiming item, the stamp of a
 * restocking or retiring one, "0" without). */
const char sb_rd_lua_list[] =
	"if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return {-2} end\n"
	"local states = tonumber(ARGV[2])\n"
	"local bits = {b = 32, t = 64, c = 128}\n"
	"local out = {0}\n"
	"if bit.band(states, 8) ~= 0 then\n"
	"  local h = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[3], "
	"'WITHSCORES')\n"
	"  for i = 1, #h, 2 do\n"
	"    local st = redis.call('HGET', KEYS[2], h[i])\n"
	"    if st and string.byte(st, 1) == 104 then\n"
	"      out[#out + 1] = h[i]\n"
	"      out[#out + 1] = st\n"
	"      out[#out + 1] = h[i + 1]\n"
	"    end\n"
	"  end\n"
	"end\n"
	"if bit.band(states, 32 + 64 + 128) ~= 0 then\n"
	"  for _, it in ipairs(redis.call('SMEMBERS', KEYS[4])) do\n"
	"    local st = redis.call('HGET', KEYS[2], it)\n"
	"    local cur = st and bits[string.sub(st, 1, 1)]\n"
	"    if cur and bit.band(states, cur) ~= 0 then\n"
	"      out[#out + 1] = it\n"
	"      out[#out + 1] = st\n"
	"      out[#out + 1] = cur == 128 and "
	"(redis.call('ZSCORE', KEYS[3], it) or '0') or "
	"(redis.call('HGET', KEYS[5], it) or '0')\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return out\n";

/* Ledger put_if_absent and put_held. KEYS: ledger, held, holds. ARGV:
 * tag, id, bank, entry for good, until (0: for good). Returns {1}
 * (stored) or {0, existing entry} (a live one). A lapsed entry is
 * replaced; the clock is read only when there is a hold to judge. */
const char sb_rd_lua_ledger_put[] = LIB
	"local id, bank = ARGV[2], ARGV[3]\n"
	"local til = tonumber(ARGV[5])\n"
	"local e = redis.call('HGET', KEYS[1], id)\n"
	"if e then\n"
	"  local u, ob = parse(e)\n"
	"  if not u then return bad() end\n"
	"  if u == 0 or u > now_ms() then return {0, e} end\n"
	"  redis.call('ZCARD', KEYS[3])\n"
	"  redis.call('HLEN', KEYS[2])\n"
	"  count_keys(KEYS[1], KEYS[2], ob, -1)\n"
	"  redis.call('ZREM', KEYS[3], id)\n"
	"end\n"
	"if til > 0 then redis.call('ZCARD', KEYS[3]) end\n"
	"redis.call('HLEN', KEYS[2])\n"
	"count_keys(KEYS[1], KEYS[2], bank, 1)\n"
	"if til > 0 then\n"
	"  redis.call('ZADD', KEYS[3], ARGV[5], id)\n"
	"  redis.call('HSET', KEYS[1], id, 'h' .. ARGV[5] .. ';' .. ARGV[4])\n"
	"else\n"
	"  redis.call('HSET', KEYS[1], id, ARGV[4])\n"
	"end\n"
	"return {1}\n";

/* Ledger update. KEYS: ledger, holds. ARGV: tag, id, until (0: for
 * good). Returns {-1} (no entry), {-3} (lapsed) or {0, entry}. */
const char sb_rd_lua_ledger_update[] = LIB
	"local id = ARGV[2]\n"
	"local e = redis.call('HGET', KEYS[1], id)\n"
	"if not e then return {-1} end\n"
	"local u, b, it, base = parse(e)\n"
	"if not u then return bad() end\n"
	"if u == 0 then return {0, e} end\n"
	"if u <= now_ms() then return {-3} end\n"
	"redis.call('ZCARD', KEYS[2])\n"
	"if ARGV[3] == '0' then\n"
	"  redis.call('HSET', KEYS[1], id, base)\n"
	"  redis.call('ZREM', KEYS[2], id)\n"
	"  return {0, base}\n"
	"end\n"
	"local ne = 'h' .. ARGV[3] .. ';' .. base\n"
	"redis.call('HSET', KEYS[1], id, ne)\n"
	"redis.call('ZADD', KEYS[2], ARGV[3], id)\n"
	"return {0, ne}\n";

/* Ledger remove. KEYS: ledger, held, holds. ARGV: tag, id, bank, entry
 * for good of (bank, item), mode (SB_REMOVE_*). Returns {-1} (no entry
 * of this item), {-3} (lapsed, mode live), {-4, entry} (not lapsed, mode
 * lapsed) or {0} (deleted). */
const char sb_rd_lua_ledger_remove[] = LIB
	"local id, bank, mode = ARGV[2], ARGV[3], tonumber(ARGV[5])\n"
	"local e = redis.call('HGET', KEYS[1], id)\n"
	"if not e then return {-1} end\n"
	"local u, b, it, base = parse(e)\n"
	"if not u then return bad() end\n"
	"if base ~= ARGV[4] then return {-1} end\n"
	"if mode ~= 1 then\n"
	"  local lapsed = u > 0 and u <= now_ms()\n"
	"  if mode == 0 and lapsed then return {-3} end\n"
	"  if mode == 2 and not lapsed then return {-4, e} end\n"
	"end\n"
	"redis.call('HLEN', KEYS[2])\n"
	"redis.call('ZCARD', KEYS[3])\n"
	"count_keys(KEYS[1], KEYS[2], bank, -1)\n"
	"redis.call('HDEL', KEYS[1], id)\n"
	"redis.call('ZREM', KEYS[3], id)\n"
	"return {0}\n";

/* Ledger count: the ids holding an item of a bank for good or on a live
 * hold. KEYS: ledger, held, holds. ARGV: tag, bank. Every entry counts
 * (the ledger's size, less its mark, when the mark names the bank; the
 * bank's counter when the ledger is shared or not marked yet: a ledger of
 * layout 1); lapsed holds are taken off: those of the generic path by
 * the ledger's deadlines, the fused ones by the bank's (a fused hold is
 * in the bank's set only), each judged by its entry (a bank's deadline
 * is never later than its entry's). Both are few. Returns the count. */
const char sb_rd_lua_ledger_count[] = LIB
	"local m = redis.call('HGET', KEYS[1], '')\n"
	"local n = 0\n"
	"if m == '=' .. ARGV[2] then\n"
	"  n = redis.call('HLEN', KEYS[1]) - 1\n"
	"elseif m == '*' or (not m and redis.call('HLEN', KEYS[1]) > 0) then\n"
	"  n = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')\n"
	"end\n"
	"local now, seen = now_ms(), {}\n"
	"local function lapsed(id)\n"
	"  if seen[id] then return end\n"
	"  seen[id] = true\n"
	"  local e = redis.call('HGET', KEYS[1], id)\n"
	"  if not e then return end\n"
	"  local u, b = parse(e)\n"
	"  if u and u > 0 and u <= now and b == ARGV[2] then n = n - 1 end\n"
	"end\n"
	"for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', "
	"num(now))) do lapsed(id) end\n"
	"local l = string.sub(KEYS[1], #TAG + 3)\n"
	"for _, it in ipairs(redis.call('ZRANGEBYSCORE', key('d', ARGV[2]), "
	"'-inf', num(now))) do\n"
	"  local st = redis.call('HGET', key('s', ARGV[2]), it)\n"
	"  local tl, id\n"
	"  if st then tl, id = split(string.sub(st, 2)) end\n"
	"  if tl == l then lapsed(id) end\n"
	"end\n"
	"return n\n";

/* The live holds of a ledger. KEYS: ledger, holds, held. ARGV: tag.
 * Returns {id, entry, ...}. The generic path's holds are in the
 * ledger's deadlines; the fused ones only in their banks' (the bank of
 * the mark, or of the counter: every bank with an entry of a shared
 * ledger), each judged by its entry. The holds of a ledger are bounded
 * by the items of its banks, and one snapshot lists each once. */
const char sb_rd_lua_ledger_holds[] = LIB
	"local out, seen, now = {}, {}, now_ms()\n"
	"local function take(id)\n"
	"  if seen[id] then return end\n"
	"  seen[id] = true\n"
	"  local e = redis.call('HGET', KEYS[1], id)\n"
	"  if e and string.byte(e, 1) == 104 then\n"
	"    local u = parse(e)\n"
	"    if u and u > now then\n"
	"      out[#out + 1] = id\n"
	"      out[#out + 1] = e\n"
	"    end\n"
	"  end\n"
	"end\n"
	"for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], "
	"'(' .. num(now), '+inf')) do take(id) end\n"
	"local banks = {}\n"
	"local m = redis.call('HGET', KEYS[1], '')\n"
	"if m and m ~= '*' then\n"
	"  banks[1] = string.sub(m, 2)\n"
	"else\n"
	"  local c = redis.call('HGETALL', KEYS[3])\n"
	"  for i = 1, #c, 2 do banks[#banks + 1] = c[i] end\n"
	"end\n"
	"local l = string.sub(KEYS[1], #TAG + 3)\n"
	"for _, b in ipairs(banks) do\n"
	"  for _, it in ipairs(redis.call('ZRANGE', key('d', b), 0, -1)) do\n"
	"    local st = redis.call('HGET', key('s', b), it)\n"
	"    if st and string.byte(st, 1) == 104 then\n"
	"      local tl, id = split(string.sub(st, 2))\n"
	"      if tl == l then take(id) end\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return out\n";
