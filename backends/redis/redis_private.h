/* Private to the Redis backend (backends/redis/): the store and what its
 * files share. Names carry sb_rd_ (macros SB_RD_).
 *
 * redis.c            open and close, the URI and its options
 * redis_keys.c       the key layout: key names, the ledger's values
 * redis_io.c         the connection: connect, commands, pipelining, the
 *                    mapping of Redis errors to sb_error
 * redis_scripts.c    the Lua scripts and how they are run (EVALSHA,
 *                    NOSCRIPT)
 * redis_bank.c       the bank slots (sb_rd_bank_ops); take, settle, put
 *                    back, create
 * redis_add.c        add: chunks of the add script, one MULTI/EXEC
 * redis_bank_read.c  a bank's counts and its list of reservations
 * redis_ledger.c     the ledger slots (sb_rd_ledger_ops)
 * redis_claim.c      the fused claim */
#ifndef SB_BACKEND_REDIS_PRIVATE_H
#define SB_BACKEND_REDIS_PRIVATE_H

#include "storagebox/backend.h"

#include <hiredis/hiredis.h>

#include <stddef.h>
#include <stdint.h>

/* The scripts, by index (redis_scripts.c). */
enum {
	SB_RD_SCRIPT_CLAIM,      /* fused claim */
	SB_RD_SCRIPT_ADD,        /* add a chunk of items */
	SB_RD_SCRIPT_TAKE,       /* available -> reserved */
	SB_RD_SCRIPT_SETTLE,     /* reserved(token) -> assigned(token) */
	SB_RD_SCRIPT_PUT_BACK,   /* reserved(token) -> available */
	SB_RD_SCRIPT_COUNT,      /* the three counts of a bank, one snapshot */
	SB_RD_SCRIPT_LEDGER_PUT, /* put_if_absent */
	SB_RD_NSCRIPTS
};

/* Key kinds: the byte after "{prefix}:" (see the layout in redis_keys.c). */
#define SB_RD_KEY_BANKS  "banks" /* SET of bank names */
#define SB_RD_KEY_QUEUE  'q'     /* LIST: available items, FIFO */
#define SB_RD_KEY_STATE  's'     /* HASH: item -> "a" | "r" | "i" token */
#define SB_RD_KEY_RESV   'r'     /* HASH: item -> since_ms LF token */
#define SB_RD_KEY_LEDGER 'l'     /* HASH: dedup id -> len ":" bank item */
#define SB_RD_KEY_HELD   'c'     /* HASH: bank -> ids holding its items */

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
	/* Test seam (tests/fuzz): when set, nothing is sent and each reply is
	 * the next one this reader holds (none left: the connection is
	 * lost). The library itself never sets it. */
	redisReader *replay;
} sb_rd_store;

/* The keys of one bank, built once per call. */
typedef struct {
	char *banks, *queue, *state, *resv;
	size_t banks_len, queue_len, state_len, resv_len;
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
/* Keys @p first to @p first + @p n - 1 of (banks, queue, state, resv),
 * the order every bank script takes them in, into argv[0..n-1] and lens.
 * Returns @p n. */
int sb_rd_bank_keys_args(const char **argv, size_t *lens,
                         const sb_rd_bank_keys *k, int first, int n);
/* The ledger value of (bank, item): decimal bank length, ':', bank,
 * item. Caller frees. */
char *sb_rd_entry_encode(const char *bank, const char *item, size_t *len);
/* Parse a ledger value into an item (flags). NULL if malformed or out of
 * memory (*malformed says which). */
sb_item *sb_rd_entry_decode(const char *v, size_t len, unsigned int flags,
                            int *malformed);

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
/* Load script @p id (SCRIPT LOAD) and remember its SHA. */
int sb_rd_script_load(sb_rd_store *s, int id, const char *op);
/* Is this reply a NOSCRIPT error? */
int sb_rd_is_noscript(const redisReply *r);
extern const char *const sb_rd_script_src[SB_RD_NSCRIPTS];

/* ---- redis_bank.c, with the work of three slots in two more files */

extern const sb_bank_ops sb_rd_bank_ops;
/* redis_add.c: the add slot (1 <= n <= SB_RD_ADD_MAX). */
int sb_rd_bank_add(uint64_t *added, uint64_t *skipped, sb_rd_store *s,
                   const char *bank, const char *const *items, size_t n);
/* redis_bank_read.c: the count and reserved slots. */
int sb_rd_bank_count(sb_bank_counts *out, sb_rd_store *s, const char *bank);
int sb_rd_bank_reserved(sb_rd_store *s, const char *bank, int64_t older_than_ms,
                        sb_reservation_cb cb, void *payload);

/* ---- redis_ledger.c */

extern const sb_ledger_ops sb_rd_ledger_ops;
/* A ledger value (a reply) into an item, with the errors mapped: a value
 * that is not one of ours is SB_EBACKEND naming @p ledger. */
int sb_rd_ledger_decode(sb_item **out, sb_rd_store *s, const redisReply *v,
                        const char *ledger, const char *op);

/* ---- redis_claim.c: the store's claim slot. */
int sb_rd_claim(sb_item **out, sb_store *st, const char *bank,
                const char *ledger, const char *dedup_id, const char *token,
                int64_t now_ms);

#endif
