/* Connection and commands of the Redis backend: connect with a timeout,
 * AUTH and SELECT from the URI, the command timeout after every
 * (re)connect, error mapping, and SIGPIPE.
 *
 * A lost or timed-out connection is dropped at once (its replies could no
 * longer be matched to requests): that call fails with SB_ECONNECT or
 * SB_ETIMEOUT, and the next call connects again.
 *
 * SIGPIPE: hiredis 0.14 writes with write(), so a write to a connection
 * the server closed raises SIGPIPE, whose default action kills the
 * process. A library must not change a process-wide signal disposition.
 * So a command goes out with send(MSG_NOSIGNAL) and hiredis only reads
 * the reply (send_read()); where hiredis itself writes (connect, free,
 * pipelined commands), the call blocks SIGPIPE in the calling thread
 * (like libpq) and swallows one that the call itself raised. */
#include "redis_private.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

typedef struct {
	sigset_t old;
} rd_sig;

static void sig_block(rd_sig *g)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

/* @p failed: the call hit an I/O error, which may have raised SIGPIPE.
 * If SIGPIPE was blocked before, a pending one may be the caller's own:
 * leave it. Otherwise it can only be ours: take it. */
static void sig_restore(rd_sig *g, int failed)
{
	if (failed && !sigismember(&g->old, SIGPIPE)) {
		sigset_t set, pend;
		struct timespec zero = { 0, 0 };
		int saved = errno;

		sigemptyset(&set);
		sigaddset(&set, SIGPIPE);
		if (sigpending(&pend) == 0 && sigismember(&pend, SIGPIPE))
			(void)sigtimedwait(&set, NULL, &zero);
		errno = saved;
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static struct timeval ms_tv(int ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return tv;
}

int sb_rd_nomem(sb_rd_store *s, const char *op)
{
	return sb_seterr(s->base.box, SB_ENOMEM,
	                 "redis: %s on %s: out of memory", op, s->where);
}

int sb_rd_no_bank(sb_rd_store *s, const char *bank)
{
	return sb_seterr(s->base.box, SB_ENOTFOUND,
	                 "redis: no bank '%.*s' under prefix %.*s on %s",
	                 SB_RD_NAME_MAX, bank, (int)s->tag_len - 1, s->tag,
	                 s->where);
}

void sb_rd_drop(sb_rd_store *s)
{
	if (s->c) {
		rd_sig g;
		sig_block(&g);
		redisFree(s->c);
		sig_restore(&g, 1);
		s->c = NULL;
	}
}

static int is_timeout(int err, const char *errstr)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == ETIMEDOUT ||
	       strstr(errstr, "timed out") ||
	       strstr(errstr, "temporarily unavailable");
}

/* The context failed (c->err): map it, then drop the connection. */
static int io_error(sb_rd_store *s, int saved_errno, const char *op)
{
	redisContext *c = s->c;
	sb_box *box = s->base.box;
	int rc;

	switch (c->err) {
	case REDIS_ERR_EOF:
		rc = sb_seterr(box, SB_ECONNECT,
		               "redis: %s on %s: the server closed the connection "
		               "(the next call reconnects)",
		               op, s->where);
		break;
	case REDIS_ERR_IO:
		if (is_timeout(saved_errno, c->errstr))
			rc = sb_seterr(box, SB_ETIMEOUT,
			               "redis: %s on %s: no answer within %d ms "
			               "(option timeout; the next call reconnects)",
			               op, s->where, s->timeout_ms);
		else
			rc = sb_seterr(box, SB_ECONNECT,
			               "redis: %s on %s: connection lost: %s (the "
			               "next call reconnects)",
			               op, s->where, c->errstr);
		break;
	case REDIS_ERR_OOM: rc = sb_rd_nomem(s, op); break;
	case REDIS_ERR_PROTOCOL:
		rc = sb_seterr(box, SB_EBACKEND,
		               "redis: %s on %s: %s (is it a Redis server?)",
		               op, s->where, c->errstr);
		break;
	default:
		rc = sb_seterr(box, SB_EBACKEND, "redis: %s on %s: %s", op,
		               s->where, c->errstr);
		break;
	}
	sb_rd_drop(s);
	return rc;
}

static int starts(const redisReply *r, const char *p)
{
	size_t n = strlen(p);
	return r->len >= n && memcmp(r->str, p, n) == 0;
}

static int contains(const redisReply *r, const char *p)
{
	return r->str && strstr(r->str, p) != NULL;
}

int sb_rd_reply_error(sb_rd_store *s, const redisReply *r, const char *op)
{
	int code = SB_EBACKEND;
	int len = r->len > 300 ? 300 : (int)r->len;

	if (starts(r, "NOAUTH") || starts(r, "WRONGPASS") ||
	    starts(r, "NOPERM") || contains(r, "invalid password") ||
	    contains(r, "without any password configured") ||
	    contains(r, "no password is set"))
		code = SB_EAUTH;
	else if (starts(r, "BUSY ") || starts(r, "LOADING"))
		code = SB_EBUSY;
	return sb_seterr(s->base.box, code, "redis: %s on %s: %.*s", op,
	                 s->where, len, r->str ? r->str : "");
}

int sb_rd_bad_reply(sb_rd_store *s, const redisReply *r, const char *op)
{
	return sb_seterr(s->base.box, SB_EBACKEND,
	                 "redis: %s on %s: unexpected reply (type %d)", op,
	                 s->where, r ? r->type : -1);
}

int sb_rd_time_ms(int64_t *out, sb_rd_store *s, const char *op)
{
	const char *argv[1] = { "TIME" };
	size_t lens[1] = { 4 };
	redisReply *r = NULL;
	int rc;

	*out = 0;
	if ((rc = sb_rd_command(&r, s, 1, argv, lens, op)) != SB_OK)
		return rc;
	if (r->type == REDIS_REPLY_ERROR) {
		rc = sb_rd_reply_error(s, r, op);
	} else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	           r->element[0]->type != REDIS_REPLY_STRING ||
	           r->element[1]->type != REDIS_REPLY_STRING) {
		rc = sb_rd_bad_reply(s, r, op);
	} else {
		*out = strtoll(r->element[0]->str, NULL, 10) * 1000 +
		       strtoll(r->element[1]->str, NULL, 10) / 1000;
	}
	freeReplyObject(r);
	return rc;
}

/* The next reply of a test's replay reader (see sb_rd_store.replay). */
static int replay_next(redisReply **out, sb_rd_store *s, const char *op)
{
	void *r = NULL;

	if (redisReaderGetReply(s->replay, &r) != REDIS_OK)
		return sb_seterr(s->base.box, SB_EBACKEND,
		                 "redis: %s on %s: %s (is it a Redis server?)",
		                 op, s->where, s->replay->errstr);
	if (!r)
		return sb_seterr(s->base.box, SB_ECONNECT,
		                 "redis: %s on %s: connection lost", op,
		                 s->where);
	*out = r;
	return SB_OK;
}

static int send_read(redisReply **out, sb_rd_store *s, const char *cmd,
                     size_t len, const char *op);

/* Formatted here rather than by redisCommandArgv() so that it goes out
 * through send_read(), with two system calls fewer (a confirm cost the
 * client a third more than a claim, which already went that way). */
static int raw_command(redisReply **out, sb_rd_store *s, int argc,
                       const char **argv, const size_t *lens, const char *op)
{
	char *cmd = NULL;
	int len, rc;

	if (s->replay)
		return replay_next(out, s, op);
	len = redisFormatCommandArgv(&cmd, argc, argv, lens);
	if (len < 0 || !cmd)
		return sb_rd_nomem(s, op);
	rc = send_read(out, s, cmd, (size_t)len, op);
	redisFreeCommand(cmd);
	return rc;
}

/* One setup command on a fresh connection; any error reply fails it. */
static int setup_command(sb_rd_store *s, int argc, const char **argv,
                         const size_t *lens, const char *what)
{
	redisReply *r = NULL;
	int rc = raw_command(&r, s, argc, argv, lens, what);

	if (rc != SB_OK)
		return rc;
	if (r->type == REDIS_REPLY_ERROR)
		rc = sb_rd_reply_error(s, r, what);
	freeReplyObject(r);
	return rc;
}

/* GET {P}:version on a fresh connection: none (a store of 0.x, or one no
 * storagebox wrote yet) or SB_RD_LAYOUT is read as it is; a newer one is
 * refused, before anything is written with the wrong meaning. */
static int layout_check(sb_rd_store *s)
{
	const char *argv[2] = { "GET", NULL };
	size_t lens[2] = { 3, 0 };
	redisReply *r = NULL;
	int rc;

	if (!(argv[1] = sb_rd_version_key(s, &lens[1])))
		return sb_rd_nomem(s, "open");
	rc = raw_command(&r, s, 2, argv, lens, "GET");
	free((char *)argv[1]);
	if (rc != SB_OK)
		return rc;
	if (r->type == REDIS_REPLY_ERROR)
		rc = sb_rd_reply_error(s, r, "GET");
	else if (r->type == REDIS_REPLY_STRING &&
	         !(r->len == 1 && r->str[0] == '0' + SB_RD_LAYOUT))
		rc = sb_seterr(s->base.box, SB_EBACKEND,
		               "redis: the store under prefix '%.*s' on %s has "
		               "layout version '%.*s'; this storagebox knows "
		               "versions 1 and %d: open it with a newer release",
		               (int)(s->tag_len - 3), s->tag + 1, s->where,
		               r->len > 20 ? 20 : (int)r->len, r->str,
		               SB_RD_LAYOUT);
	else if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)
		rc = sb_rd_bad_reply(s, r, "open");
	freeReplyObject(r);
	return rc;
}

int sb_rd_connect(sb_rd_store *s, const char *op)
{
	redisContext *c;
	char dbs[16];
	rd_sig g;
	int rc;

	if (s->c || s->replay)
		return SB_OK;
	sig_block(&g);
	if (s->unix_sock)
		c = s->connect_ms
		            ? redisConnectUnixWithTimeout(s->host,
		                                          ms_tv(s->connect_ms))
		            : redisConnectUnix(s->host);
	else
		c = s->connect_ms
		            ? redisConnectWithTimeout(s->host, s->port,
		                                      ms_tv(s->connect_ms))
		            : redisConnect(s->host, s->port);
	sig_restore(&g, 1);
	if (!c)
		return sb_rd_nomem(s, op);
	if (c->err) {
		int timeout = is_timeout(0, c->errstr);
		rc = sb_seterr(s->base.box, timeout ? SB_ETIMEOUT : SB_ECONNECT,
		               "redis: %s: cannot connect to %s: %s%s", op,
		               s->where, c->errstr,
		               timeout ? " (option connect_timeout)" : "");
		redisFree(c);
		return rc;
	}
	/* Always: 0 clears whatever the connect left (no limit). */
	if (redisSetTimeout(c, ms_tv(s->timeout_ms)) != REDIS_OK) {
		rc = sb_seterr(s->base.box, SB_ECONNECT,
		               "redis: %s: cannot set the timeout on %s: %s",
		               op, s->where, c->errstr);
		redisFree(c);
		return rc;
	}
	s->c = c;
	if (s->password) {
		const char *argv[3];
		size_t lens[3];
		int n = 0;
		argv[n] = "AUTH";
		lens[n++] = 4;
		if (s->user && *s->user) {
			argv[n] = s->user;
			lens[n++] = strlen(s->user);
		}
		argv[n] = s->password;
		lens[n++] = strlen(s->password);
		if ((rc = setup_command(s, n, argv, lens, "AUTH")) != SB_OK)
			goto fail;
	}
	if (s->db) {
		const char *argv[2] = { "SELECT", dbs };
		size_t lens[2] = { 6, 0 };
		lens[1] = (size_t)snprintf(dbs, sizeof(dbs), "%d", s->db);
		if ((rc = setup_command(s, 2, argv, lens, "SELECT")) != SB_OK)
			goto fail;
	}
	/* The layout version (redis_keys.c): also proves the server speaks
	 * to us (and wants no password) before calling this open. */
	if ((rc = layout_check(s)) != SB_OK)
		goto fail;
	return SB_OK;
fail:
	sb_rd_drop(s);
	return rc;
}

int sb_rd_command(redisReply **out, sb_rd_store *s, int argc, const char **argv,
                  const size_t *lens, const char *op)
{
	int rc;

	*out = NULL;
	if ((rc = sb_rd_connect(s, op)) != SB_OK)
		return rc;
	return raw_command(out, s, argc, argv, lens, op);
}

int sb_rd_append(sb_rd_store *s, int argc, const char **argv,
                 const size_t *lens, const char *op)
{
	int rc;

	if ((rc = sb_rd_connect(s, op)) != SB_OK || s->replay)
		return rc;
	if (redisAppendCommandArgv(s->c, argc, argv, lens) != REDIS_OK)
		return io_error(s, errno, op);
	return SB_OK;
}

int sb_rd_read(redisReply **out, sb_rd_store *s, const char *op)
{
	void *r = NULL;
	rd_sig g;
	int st, saved;

	*out = NULL;
	if (s->replay)
		return replay_next(out, s, op);
	if (!s->c)
		return sb_seterr(s->base.box, SB_ECONNECT,
		                 "redis: %s on %s: connection lost", op,
		                 s->where);
	sig_block(&g);
	st = redisGetReply(s->c, &r);
	saved = errno;
	sig_restore(&g, st != REDIS_OK);
	if (st != REDIS_OK || !r) {
		if (r)
			freeReplyObject(r);
		return io_error(s, saved, op);
	}
	*out = r;
	return SB_OK;
}

/* A write failed with errno @p e: in the context like hiredis's own
 * errors, then mapped and dropped by io_error(). */
static int send_error(sb_rd_store *s, int e, const char *op)
{
	s->c->err = REDIS_ERR_IO;
	snprintf(s->c->errstr, sizeof(s->c->errstr), "%s", strerror(e));
	return io_error(s, e, op);
}

/* The command goes out with send(MSG_NOSIGNAL), which never raises
 * SIGPIPE, and its reply is only read (a read raises none either): no
 * signal mask to set and restore, two system calls fewer per call. With
 * anything left in hiredis's own buffer (not after a completed call),
 * it goes through hiredis, behind that. */
static int send_read(redisReply **out, sb_rd_store *s, const char *cmd,
                     size_t len, const char *op)
{
	void *r = NULL;
	int st, saved;

	*out = NULL;
	if (s->c->obuf && s->c->obuf[0]) {
		rd_sig g;

		sig_block(&g);
		st = redisAppendFormattedCommand(s->c, cmd, len);
		if (st == REDIS_OK)
			st = redisGetReply(s->c, &r);
		saved = errno;
		sig_restore(&g, st != REDIS_OK);
	} else {
		while (len > 0) {
			ssize_t n = send(s->c->fd, cmd, len, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return send_error(s, n < 0 ? errno : EIO, op);
			cmd += n;
			len -= (size_t)n;
		}
		st = redisGetReply(s->c, &r);
		saved = errno;
	}
	if (st != REDIS_OK || !r) {
		if (r)
			freeReplyObject(r);
		return io_error(s, saved, op);
	}
	*out = r;
	return SB_OK;
}

int sb_rd_command_resp(redisReply **out, sb_rd_store *s, const char *cmd,
                       size_t len, const char *op)
{
	int rc;

	*out = NULL;
	if ((rc = sb_rd_connect(s, op)) != SB_OK)
		return rc;
	if (s->replay)
		return replay_next(out, s, op);
	return send_read(out, s, cmd, len, op);
}
