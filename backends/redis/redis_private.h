/* Private to the Redis backend: the store, the connection helpers and the
 * Lua scripts. See redis.c for the URI forms and the key layout. */
#ifndef SB_BACKEND_REDIS_PRIVATE_H
#define SB_BACKEND_REDIS_PRIVATE_H

#include "internal.h"

#include <hiredis/hiredis.h>

#include <stddef.h>

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

/* Key kinds: the byte after "{prefix}:" (see the layout in redis.c). */
#define SB_RD_KEY_BANKS  "banks" /* SET of bank names */
#define SB_RD_KEY_QUEUE  'q'     /* LIST: available items, FIFO */
#define SB_RD_KEY_STATE  's'     /* HASH: item -> "a" | "r" | "i" token */
#define SB_RD_KEY_RESV   'r'     /* HASH: item -> since_ms LF token */
#define SB_RD_KEY_LEDGER 'l'     /* HASH: dedup id -> len ":" bank item */
#define SB_RD_KEY_HELD   'c'     /* HASH: bank -> number of ids holding its items */

/* Items per script call of a bulk add (ARGV size; Lua unpack limits). */
#define SB_RD_ADD_CHUNK 1000
/* Most items one add call takes: the whole call is one MULTI/EXEC, which
 * blocks the server while it runs (some 50-100 ms for 50,000 items on an
 * idle server, far more on a busy one; and it must answer within the
 * command timeout). */
#define SB_RD_ADD_MAX 50000

typedef struct {
	sb_store base;      /* first: the core sees an sb_store */
	redisContext *c;    /* NULL: not connected (reconnect on next call) */
	int unix_sock;      /* 1: path, 0: host:port */
	char *host;         /* or socket path */
	int port;
	char *user, *password; /* AUTH; never in a message */
	int db;
	int connect_ms, timeout_ms; /* 0: no limit */
	char *where;        /* "host:port" or the socket path, for messages */
	char *tag;          /* "{prefix}:" */
	size_t tag_len;
	char sha[SB_RD_NSCRIPTS][41]; /* "" until loaded (per server; NOSCRIPT reloads) */
	/* Test seam (tests/fuzz): when set, nothing is sent and each reply is
	 * the next one this reader holds (none left: the connection is
	 * lost). The library itself never sets it. */
	redisReader *replay;
} sb_rd_store;

/* A key: tag + kind + ':' + name (name may be NULL). Caller frees. */
char *sb_rd_key(sb_rd_store *s, char kind, const char *name, size_t *len);

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
int sb_rd_append(sb_rd_store *s, int argc, const char **argv, const size_t *lens,
              const char *op);
int sb_rd_read(redisReply **out, sb_rd_store *s, const char *op);

/* Map an error reply to an sb_error with a message. */
int sb_rd_reply_error(sb_rd_store *s, const redisReply *r, const char *op);
/* A reply of an unexpected shape. */
int sb_rd_bad_reply(sb_rd_store *s, const redisReply *r, const char *op);
int sb_rd_nomem(sb_rd_store *s, const char *op);

/* EVALSHA script @p id: argv/lens hold 3 free slots (filled here with
 * EVALSHA, the SHA and the key count), then the keys, then the args; SCRIPT LOAD first if this
 * store has no SHA yet, and on NOSCRIPT load it and retry once. Error
 * replies are mapped (never returned). */
int sb_rd_eval(redisReply **out, sb_rd_store *s, int id, int nkeys, int nargs,
            const char **argv, size_t *lens, const char *op);
/* Load script @p id (SCRIPT LOAD) and remember its SHA. */
int sb_rd_script_load(sb_rd_store *s, int id, const char *op);
/* Is this reply a NOSCRIPT error? */
int sb_rd_is_noscript(const redisReply *r);
extern const char *const sb_rd_script_src[SB_RD_NSCRIPTS];

/* The ledger value of (bank, item): decimal bank length, ':', bank,
 * item. Caller frees. */
char *sb_rd_entry_encode(const char *bank, const char *item, size_t *len);
/* Parse a ledger value into an item (flags). NULL if malformed or out of
 * memory (*malformed says which). */
sb_item *sb_rd_entry_decode(const char *v, size_t len, unsigned int flags,
                         int *malformed);

/* Names in messages are cut to this many bytes. */
#define SB_RD_NAME_MAX 200

extern const sb_bank_ops sb_rd_bank_ops;
extern const sb_ledger_ops sb_rd_ledger_ops;
int sb_rd_claim(sb_item **out, sb_store *st, const char *bank,
             const char *ledger, const char *dedup_id, const char *token,
             int64_t now_ms);

#endif
