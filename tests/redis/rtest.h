/* Helpers of the Redis test programs: a direct hiredis connection to look
 * at Redis itself, and the Redis Cluster key slot (CRC16) to check the
 * hash-tag layout. The server's URI is $SB_TEST_REDIS_URI (t_env_need). */
#ifndef SB_RTEST_H
#define SB_RTEST_H

#include "../common/tcommon.h"

#include <hiredis/hiredis.h>

/* A prefix unique to this run: "tag-<time>-<pid>" (caller frees). */
char *rt_prefix(const char *tag);

/* A hiredis connection to the server of a redis:// URI (AUTH, SELECT);
 * NULL after printing why. */
redisContext *rt_connect(const char *uri);
/* Run a command given as NUL-terminated strings (NULL ends the list). */
redisReply *rt_cmd(redisContext *c, const char *arg, ...);
/* The same with explicit lengths. */
redisReply *rt_cmdv(redisContext *c, int argc, const char **argv,
                    const size_t *lens);

/* The Redis Cluster hash slot of a key (hash tags included). */
unsigned rt_keyslot(const char *key, size_t len);

/* Every key of the database: name -> "TYPE LEN" (a cheap fingerprint;
 * LEN is the length of the value for its type). */
void rt_keys(redisContext *c, t_map *out);

/* Remove every key matching @p pattern (SCAN MATCH), each with the
 * command @p del ("DEL" or "UNLINK"); stops quietly if SCAN fails. */
void rt_del_matching(redisContext *c, const char *pattern, const char *del);

#endif
