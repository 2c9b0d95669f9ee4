/* Private to the Redis backend (backends/redis/): the store and what its
 * files share. Names carry sb_rd_ (macros SB_RD_).
 *
 * redis.c            open and close, the URI and its options
 * redis_keys.c       the key layout: key names, the ledger's values
 * redis_io.c         the connection: connect, commands, pipelining, the
 *                    mapping of Redis errors to sb_error
 * redis_scripts.c    the Lua scripts of version 1 and how scripts are run
 *                    (EVALSHA, NOSCRIPT)
 * redis_lua_hold.c   the Lua scripts of holds (version 2)
 * redis_bank.c       the bank slots (sb_rd_bank_ops); take, settle, put
 *                    back, create
 * redis_add.c        add: chunks of the add script, one MULTI/EXEC
 * redis_bank_read.c  a bank's counts and its list of reservations
 * redis_bank_hold.c  the bank's slots of holds: take_held, move, list
 * redis_ledger.c     the ledger slots (sb_rd_ledger_ops)
 * redis_ledger_hold.c the ledger's slots of holds: put_held, update,
 *                    remove, export_holds
 * redis_claim.c      the fused hold (and claim: a hold for good), change
 *                    and reclaim
 * redis_cmd.c        the fused hold's command, RESP built by hand with its
 *                    keys kept per (bank, ledger)
 * redis_upgrade.c    init --upgrade: the store's layout 1 -> 2 */
#ifndef SB_BACKEND_REDIS_PRIVATE_H
#define SB_BACKEND_REDIS_PRIVATE_H

#include "storagebox/backend.h"

#include <hiredis/hiredis.h>

#include <stddef.h>
#include <stdint.h>

/* The scripts, by index (redis_scripts.c). */
enum {
	SB_RD_SCRIPT_HOLD,       /* fused hold; ttl 0: the fused claim */
	SB_RD_SCRIPT_ADD,        /* add a chunk of items */
	SB_RD_SCRIPT_TAKE,       /* available -> reserved */
	SB_RD_SCRIPT_SETTLE,     /* reserved(token) -> assigned(token) */
	SB_RD_SCRIPT_PUT_BACK,   /* reserved(token) -> available */
	SB_RD_SCRIPT_COUNT,      /* the three counts of a bank, one snapshot */
	SB_RD_SCRIPT_LEDGER_PUT, /* put_if_absent, put_held */
	/* version 2 (redis_lua_hold.c) */
	SB_RD_SCRIPT_CHANGE,        /* fused confirm, extend, restock, retire */
	SB_RD_SCRIPT_RECLAIM,       /* fused reclaim of a bank's lapsed holds */
	SB_RD_SCRIPT_TAKE_HELD,     /* available -> held(token, until) */
	SB_RD_SCRIPT_MOVE,          /* the bank's move slot */
	SB_RD_SCRIPT_LIST,          /* the bank's list slot */
	SB_RD_SCRIPT_LEDGER_UPDATE, /* confirm or extend an entry */
	SB_RD_SCRIPT_LEDGER_REMOVE, /* delete an entry (3 modes) */
	SB_RD_SCRIPT_LEDGER_COUNT,  /* entries for good and live holds */
	SB_RD_SCRIPT_LEDGER_HOLDS,  /* the live holds of a ledger */
	/* layout 2 (redis_upgrade.c) */
	SB_RD_SCRIPT_MARK, /* mark a ledger of layout 1 */
	SB_RD_NSCRIPTS
};

/* Key kinds: the byte after "{prefix}:" (see the layout in redis_keys.c). */
#define SB_RD_KEY_BANKS   "banks" /* SET of bank names */
/* STRING: the layout version, SB_RD_LAYOUT (none: 1, or nothing yet) */
#define SB_RD_KEY_VERSION "version"
#define SB_RD_LAYOUT      2
#define SB_RD_KEY_QUEUE   'q' /* LIST: available items, FIFO */
#define SB_RD_KEY_STATE   's' /* HASH: item -> state letter [token] */
#define SB_RD_KEY_RESV    'r' /* HASH: item -> since_ms LF token */
#define SB_RD_KEY_DUE     'd' /* ZSET: held item -> deadline ms */
#define SB_RD_KEY_FLIGHT  'f' /* SET: items of releases, reclaims */
#define SB_RD_KEY_GONE    'x' /* STRING: number of retired items */
#define SB_RD_KEY_STAMP   'm' /* HASH: releasing item -> its stamp */
#define SB_RD_KEY_LEDGER \
	'l'                 /* HASH: dedup id -> ["h" until ";"]
                                    len ":" bank item */
#define SB_RD_KEY_HELD  'c' /* HASH: bank -> ids holding its items */
#define SB_RD_KEY_HOLDS 'e' /* ZSET: dedup id -> deadline ms */

/* Items per script call of a bulk add (ARGV size; Lua unpack limits). */
#define SB_RD_ADD_CHUNK 1000
/* Most items one add call takes (sb_rd_bank_ops.add_max): the whole call
 * is one MULTI/EXEC, which blocks the server while it runs (some 50-100
 * ms for 50,000 items on an idle server, far more on a busy one; and it
 * must answer within the command timeout). */
#define SB_RD_ADD_MAX   50000

/* Names in messages are cut to this many bytes. */
#define SB_RD_NAME_MAX 200

typedef struct {
	sb_store base;   /* first: the core sees an sb_store */
	redisContext *c; /* NULL: not connected (reconnect on next call) */
	int unix_sock;   /* 1: path, 0: host:port */
	char *host;      /* or socket path */
	int port;
	char *user, *password; /* AUTH; never in a message */
	int db;
	int connect_ms, timeout_ms; /* 0: no limit */
	char *where; /* "host:port" or the socket path, for messages */
	char *tag;   /* "{prefix}:" */
	size_t tag_len;
	/* "" until loaded (per server; NOSCRIPT reloads) */
	char sha[SB_RD_NSCRIPTS][41];
	/* The fused hold's command in RESP (redis_cmd.c): buf holds
	 * EVALSHA, the SHA, the key count and the keys of (bank, ledger),
	 * prefix bytes, built when the pair changes; each call appends its
	 * arguments after them. */
	struct {
		char *bank, *ledger; /* NULL: no prefix built */
		char *buf;
		size_t len, cap, prefix;
	} hc;
	/* Test seam (tests/fuzz): when set, nothing is sent and each reply is
	 * the next one this reader holds (none left: the connection is
	 * lost). The library itself never sets it. */
	redisReader *replay;
} sb_rd_store;

/* Fused reclaim: lapsed holds per script call (the server is blocked
 * while one runs); the slot calls it until a call finds fewer. */
#define SB_RD_RECLAIM_BATCH 500

/* The keys of one bank, built once per call, in the order of
 * sb_rd_bank_keys_args(). */
enum {
	SB_RD_BK_BANKS,
	SB_RD_BK_QUEUE,
	SB_RD_BK_STATE,
	SB_RD_BK_RESV,
	SB_RD_BK_DUE,
	SB_RD_BK_FLIGHT,
	SB_RD_BK_GONE,
	SB_RD_BK_STAMP, /* version 3: the stamps of releases in flight */
	SB_RD_BK_N
};
typedef struct {
	char *key[SB_RD_BK_N];
	size_t len[SB_RD_BK_N];
} sb_rd_bank_keys;

/* ---- redis_keys.c */

/* A key: tag + kind + ':' + name (kind 0: the bank set; name may be
 * NULL). Caller frees. */
char *sb_rd_key(sb_rd_store *s, char kind, const char *name, size_t *len);
/* The keys of @p bank into @p k (freed with sb_rd_bank_keys_free); SB_OK
 * or SB_ENOMEM with a message naming @p op. */
int sb_rd_bank_keys_make(sb_rd_bank_keys *k, sb_rd_store *s, const char *bank,
                         const char *op);
void sb_rd_bank_keys_free(sb_rd_bank_keys *k);
/* Keys @p first to @p first + @p n - 1 of (banks, queue, state, resv,
 * due, flight, gone, stamp; SB_RD_BK_*), the order every bank script
 * takes them in, into argv[0..n-1] and lens. Returns @p n. */
int sb_rd_bank_keys_args(const char **argv, size_t *lens,
                         const sb_rd_bank_keys *k, int first, int n);
/* The key of the layout version, "{prefix}:version". Caller frees. */
char *sb_rd_version_key(sb_rd_store *s, size_t *len);
/* The ledger value of (bank, item) for good: decimal bank length, ':',
 * bank, item. Caller frees. */
char *sb_rd_entry_encode(const char *bank, const char *item, size_t *len);
/* Parse a ledger value (for good, or "h" UNTIL ";" and the form for
 * good) into an item (flags, deadline set) and *until (0: for good).
 * NULL if malformed or out of memory (*malformed says which). */
sb_item *sb_rd_entry_decode(const char *v, size_t len, unsigned int flags,
                            int64_t *until, int *malformed);
/* A decimal int64 into @p buf (at least 24 bytes); returns its length. */
size_t sb_rd_i64(char *buf, int64_t v);
/* The server's clock (TIME) in milliseconds. */
int sb_rd_time_ms(int64_t *out, sb_rd_store *s, const char *op);

/* ---- redis_io.c */

/* Connect (AUTH, SELECT, timeouts) if not connected. SB_OK or an error
 * with a message naming @p op. */
int sb_rd_connect(sb_rd_store *s, const char *op);
/* Drop the connection (after an I/O error): the next call reconnects. */
void sb_rd_drop(sb_rd_store *s);

/* Run one command (argv with lengths). On an I/O failure the connection is
 * dropped and the error set; a Redis error reply is returned as a reply
 * (type REDIS_REPLY_ERROR) for the caller to map. */
int sb_rd_command(redisReply **out, sb_rd_store *s, int argc, const char **argv,
                  const size_t *lens, const char *op);

/* One command already in RESP (@p cmd, @p len), sent without hiredis's
 * formatting and without touching the signal mask (MSG_NOSIGNAL); the
 * reply as sb_rd_command gives it. */
int sb_rd_command_resp(redisReply **out, sb_rd_store *s, const char *cmd,
                       size_t len, const char *op);

/* Pipelining: append, then read the replies in order. */
int sb_rd_append(sb_rd_store *s, int argc, const char **argv,
                 const size_t *lens, const char *op);
int sb_rd_read(redisReply **out, sb_rd_store *s, const char *op);

/* Map an error reply to an sb_error with a message. */
int sb_rd_reply_error(sb_rd_store *s, const redisReply *r, const char *op);
/* A reply of an unexpected shape. */
int sb_rd_bad_reply(sb_rd_store *s, const redisReply *r, const char *op);
int sb_rd_nomem(sb_rd_store *s, const char *op);
/* SB_ENOTFOUND: @p bank is not in this store's bank set. */
int sb_rd_no_bank(sb_rd_store *s, const char *bank);

static inline int sb_rd_is_int(const redisReply *r)
{
	return r && r->type == REDIS_REPLY_INTEGER;
}

/* ---- redis_scripts.c */

/* EVALSHA script @p id: argv/lens hold 3 free slots (filled here with
 * EVALSHA, the SHA and the key count), then the keys, then the args;
 * SCRIPT LOAD first if this store has no SHA yet, and on NOSCRIPT load it
 * and retry once. Error replies are mapped (never returned). */
int sb_rd_eval(redisReply **out, sb_rd_store *s, int id, int nkeys, int nargs,
               const char **argv, size_t *lens, const char *op);
/* The same, with EVAL and the source at once (after a NOSCRIPT). */
int sb_rd_eval_source(redisReply **out, sb_rd_store *s, int id, int nkeys,
                      int nargs, const char **argv, size_t *lens,
                      const char *op);
/* Load script @p id (SCRIPT LOAD) and remember its SHA. */
int sb_rd_script_load(sb_rd_store *s, int id, const char *op);
/* Is this reply a NOSCRIPT error? */
int sb_rd_is_noscript(const redisReply *r);
extern const char *const sb_rd_script_src[SB_RD_NSCRIPTS];
/* redis_lua_hold.c: the sources of the version 2 scripts. */
extern const char sb_rd_lua_hold[], sb_rd_lua_ledger_put[], sb_rd_lua_change[],
	sb_rd_lua_reclaim[], sb_rd_lua_take_held[], sb_rd_lua_move[],
	sb_rd_lua_list[], sb_rd_lua_ledger_update[], sb_rd_lua_ledger_remove[],
	sb_rd_lua_ledger_count[], sb_rd_lua_ledger_holds[], sb_rd_lua_mark[];

/* ---- redis_bank.c, with the work of three slots in two more files */

extern const sb_bank_ops sb_rd_bank_ops;
/* redis_add.c: the add slot (1 <= n <= SB_RD_ADD_MAX). */
int sb_rd_bank_add(uint64_t *added, uint64_t *skipped, sb_rd_store *s,
                   const char *bank, const char *const *items, size_t n);
/* redis_bank_read.c: the count and reserved slots. */
int sb_rd_bank_count(sb_bank_counts *out, sb_rd_store *s, const char *bank);
int sb_rd_bank_reserved(sb_rd_store *s, const char *bank, int64_t older_than_ms,
                        sb_reservation_cb cb, void *payload);
/* redis_bank_hold.c: the take_held, move, move_if and list slots. */
int sb_rd_take_held(sb_item **out, sb_store *st, const char *bank,
                    const char *token, int64_t until_ms);
int sb_rd_move(sb_store *st, const char *bank, const char *item,
               const char *token, unsigned int from, unsigned int to,
               int64_t until_ms);
int sb_rd_move_if(sb_store *st, const char *bank, const char *item,
                  const char *token, unsigned int from, unsigned int to,
                  int64_t until_ms, int64_t expect_ms);
int sb_rd_list(sb_store *st, const char *bank, unsigned int states,
               int64_t until_le, sb_bank_item_cb cb, void *payload);

/* ---- redis_ledger.c */

extern const sb_ledger_ops sb_rd_ledger_ops;
/* A ledger value (a reply) into an item (deadline set), with the errors
 * mapped: a value that is not one of ours is SB_EBACKEND naming @p
 * ledger. *until (may be NULL): the deadline, 0 for good. */
int sb_rd_ledger_decode(sb_item **out, int64_t *until, sb_rd_store *s,
                        const redisReply *v, const char *ledger,
                        const char *op);
/* The ledger's keys (ledger, held counter, holds) into argv[0..2]. */
int sb_rd_ledger_keys(char *k[3], size_t lens[3], sb_rd_store *s,
                      const char *ledger, const char *op);
/* redis_ledger.c: put_if_absent (@p until_ms 0) and put_held. */
int sb_rd_ledger_put(sb_item **existing, sb_rd_store *s, const char *ledger,
                     const char *dedup_id, const char *bank, const char *item,
                     int64_t until_ms);
/* redis_ledger_hold.c: the slots of holds. */
int sb_rd_put_held(sb_item **existing, sb_store *st, const char *ledger,
                   const char *dedup_id, const char *bank, const char *item,
                   int64_t until_ms);
int sb_rd_update(sb_item **out, sb_store *st, const char *ledger,
                 const char *dedup_id, int64_t until_ms);
int sb_rd_remove(sb_item **entry, sb_store *st, const char *ledger,
                 const char *dedup_id, const char *bank, const char *item,
                 unsigned int mode);
int sb_rd_export_holds(sb_store *st, const char *ledger, sb_export_hold_cb cb,
                       void *payload);
int sb_rd_ledger_count_live(uint64_t *out, sb_rd_store *s, const char *ledger,
                            const char *bank);

/* ---- redis_cmd.c */

/* The hold script's command for (bank, ledger, id, token, ttl) into
 * s->hc.buf (s->hc.len bytes); the script's SHA must be known. SB_OK or
 * SB_ENOMEM. */
int sb_rd_hold_cmd(sb_rd_store *s, const char *bank, const char *ledger,
                   const char *id, const char *token, int64_t ttl_ms);
void sb_rd_hold_cmd_free(sb_rd_store *s);

/* ---- redis_claim.c: the store's fused slots. */
int sb_rd_claim(sb_item **out, sb_store *st, const char *bank,
                const char *ledger, const char *dedup_id, const char *token,
                int64_t now_ms);
int sb_rd_hold(sb_item **out, sb_store *st, const char *bank,
               const char *ledger, const char *dedup_id, const char *token,
               int64_t now_ms, int64_t ttl_ms);
int sb_rd_change(sb_item **out, sb_store *st, const char *ledger,
                 const char *dedup_id, const char *token, unsigned int op,
                 int64_t now_ms, int64_t ttl_ms);
int sb_rd_reclaim(uint64_t *n, sb_store *st, const char *bank, int64_t now_ms);

/* ---- redis_upgrade.c: the store's upgrade slot (layout 1 -> 2). */
int sb_rd_upgrade(sb_store *st);

#endif
