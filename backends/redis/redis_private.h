/* Private to the Redis backend: the store, the connection helpers and the
 * Lua scripts. See redis.c for the URI forms and the key layout. */
#ifndef SB_BACKEND_REDIS_PRIVATE_H
#define SB_BACKEND_REDIS_PRIVATE_H

#include "internal.h"

#include <hiredis/hiredis.h>

#include <stddef.h>

/* The scripts, by index (redis_scripts.c). */
enum {
	RS_CLAIM,      /* fused claim */
	RS_ADD,        /* add a chunk of items */
	RS_TAKE,       /* available -> reserved */
	RS_SETTLE,     /* reserved(token) -> assigned(token) */
	RS_PUT_BACK,   /* reserved(token) -> available */
	RS_COUNT,      /* the three counts of a bank, one snapshot */
	RS_LEDGER_PUT, /* put_if_absent */
	RS_N
};

/* Key kinds: the byte after "{prefix}:" (see the layout in redis.c). */
#define RK_BANKS  "banks" /* SET of bank names */
#define RK_QUEUE  'q'     /* LIST: available items, FIFO */
#define RK_STATE  's'     /* HASH: item -> "a" | "r" | "i" token */
#define RK_RESV   'r'     /* HASH: item -> since_ms LF token */
#define RK_LEDGER 'l'     /* HASH: dedup id -> len ":" bank item */
#define RK_HELD   'c'     /* HASH: bank -> number of ids holding its items */

/* Items per script call of a bulk add (ARGV size; Lua unpack limits). */
#define RD_ADD_CHUNK 1000
/* Most items one add call takes: the whole call is one MULTI/EXEC, which
 * blocks the server while it runs (some 50-100 ms for 50,000 items on an
 * idle server, far more on a busy one; and it must answer within the
 * command timeout). */
#define RD_ADD_MAX 50000

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
	char sha[RS_N][41]; /* "" until loaded (per server; NOSCRIPT reloads) */
	/* Test seam (tests/fuzz): when set, nothing is sent and each reply is
	 * the next one this reader holds (none left: the connection is
	 * lost). The library itself never sets it. */
	redisReader *replay;
} rd_store;

/* A key: tag + kind + ':' + name (name may be NULL). Caller frees. */
char *rd_key(rd_store *s, char kind, const char *name, size_t *len);

/* Connect (AUTH, SELECT, timeouts) if not connected. SB_OK or an error
 * with a message naming @p op. */
int rd_connect(rd_store *s, const char *op);
/* Drop the connection (after an I/O error): the next call reconnects. */
void rd_drop(rd_store *s);

/* Run one command (argv with lengths). On an I/O failure the connection is
 * dropped and the error set; a Redis error reply is returned as a reply
 * (type REDIS_REPLY_ERROR) for the caller to map. */
int rd_command(redisReply **out, rd_store *s, int argc, const char **argv,
               const size_t *lens, const char *op);

/* Pipelining: append, then read the replies in order. */
int rd_append(rd_store *s, int argc, const char **argv, const size_t *lens,
              const char *op);
int rd_read(redisReply **out, rd_store *s, const char *op);

/* Map an error reply to an sb_error with a message. */
int rd_reply_error(rd_store *s, const redisReply *r, const char *op);
/* A reply of an unexpected shape. */
int rd_bad_reply(rd_store *s, const redisReply *r, const char *op);
int rd_nomem(rd_store *s, const char *op);

/* EVALSHA script @p id: argv/lens hold 3 free slots (filled here with
 * EVALSHA, the SHA and the key count), then the keys, then the args; SCRIPT LOAD first if this
 * store has no SHA yet, and on NOSCRIPT load it and retry once. Error
 * replies are mapped (never returned). */
int rd_eval(redisReply **out, rd_store *s, int id, int nkeys, int nargs,
            const char **argv, size_t *lens, const char *op);
/* Load script @p id (SCRIPT LOAD) and remember its SHA. */
int rd_script_load(rd_store *s, int id, const char *op);
/* Is this reply a NOSCRIPT error? */
int rd_is_noscript(const redisReply *r);
extern const char *const rd_script_src[RS_N];

/* The ledger value of (bank, item): decimal bank length, ':', bank,
 * item. Caller frees. */
char *rd_entry_encode(const char *bank, const char *item, size_t *len);
/* Parse a ledger value into an item (flags). NULL if malformed or out of
 * memory (*malformed says which). */
sb_item *rd_entry_decode(const char *v, size_t len, unsigned int flags,
                         int *malformed);

/* Names in messages are cut to this many bytes. */
#define RD_NAME_MAX 200

extern const sb_bank_ops rd_bank_ops;
extern const sb_ledger_ops rd_ledger_ops;
int rd_claim(sb_item **out, sb_store *st, const char *bank,
             const char *ledger, const char *dedup_id, const char *token,
             int64_t now_ms);

#endif
