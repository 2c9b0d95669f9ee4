/* Redis backend: `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]` and
 * `redis+unix://[[USER]:PASSWORD@]/PATH/TO/SOCKET[?db=N]`.
 *
 * Options (query string):
 *   connect_timeout=MS  connecting, milliseconds (default 5000; 0: none)
 *   timeout=MS          each command, milliseconds (default 5000; 0: none)
 *   prefix=NAME         key prefix (default "sb"): 1-64 bytes of
 *                       [A-Za-z0-9_.:-]
 * A user with a password sends `AUTH USER PASSWORD` (Redis 6 ACL), a
 * password alone `AUTH PASSWORD`. Messages name HOST:PORT or the socket
 * path, never the password.
 *
 * The key layout: redis_keys.c.
 *
 * hiredis 0.14 speaks to one server: Redis Cluster redirections (MOVED)
 * are reported as errors; point the URI at the node serving the slot of
 * `{PREFIX}` or use standalone Redis or a primary. */
#include "redis_private.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SB_RD_DEFAULT_PORT       6379
#define SB_RD_DEFAULT_TIMEOUT_MS 5000
#define SB_RD_DEFAULT_PREFIX     "sb"
#define SB_RD_PREFIX_MAX         64
#define SB_RD_TIMEOUT_MAX_MS     (24 * 3600 * 1000)

/* ------------------------------------------------------------- options */

static int parse_ms(sb_rd_store *s, sb_uri *uri, const char *key, int def,
                    int *out)
{
	long long ms = def;
	int rc = sb_uri_param_num(s->base.box, uri, key,
	                          "a number of milliseconds (0: no limit)", 0,
	                          SB_RD_TIMEOUT_MAX_MS, &ms);

	*out = (int)ms;
	return rc;
}

static int parse_db(sb_rd_store *s, const char *scheme, const char *v)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (*v < '0' || *v > '9' || *end || errno || n > INT_MAX)
		return sb_seterr(s->base.box, SB_EURI,
		                 "%s URI: the database must be a number, not "
		                 "'%.64s'",
		                 scheme, v);
	s->db = (int)n;
	return SB_OK;
}

static int prefix_ok(const char *p)
{
	size_t n = strlen(p), i;

	if (n == 0 || n > SB_RD_PREFIX_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == ':' || c == '-'))
			return 0;
	}
	return 1;
}

static int read_options(sb_rd_store *s, sb_uri *uri)
{
	const char *prefix = sb_uri_param(uri, "prefix");
	int rc;

	if ((rc = parse_ms(s, uri, "connect_timeout", SB_RD_DEFAULT_TIMEOUT_MS,
	                   &s->connect_ms)) != SB_OK ||
	    (rc = parse_ms(s, uri, "timeout", SB_RD_DEFAULT_TIMEOUT_MS,
	                   &s->timeout_ms)) != SB_OK)
		return rc;
	if (!prefix)
		prefix = SB_RD_DEFAULT_PREFIX;
	if (!prefix_ok(prefix))
		return sb_seterr(s->base.box, SB_EURI,
		                 "%s URI: option prefix must be 1 to %d of "
		                 "A-Z a-z 0-9 _ . : - (no '{' or '}': it is the "
		                 "hash tag), not '%.64s'",
		                 uri->scheme, SB_RD_PREFIX_MAX, prefix);
	s->tag_len = strlen(prefix) + 3;
	if (!(s->tag = malloc(s->tag_len + 1)))
		return sb_seterr(s->base.box, SB_ENOMEM,
		                 "redis: out of memory");
	snprintf(s->tag, s->tag_len + 1, "{%s}:", prefix);
	return SB_OK;
}

/* Host, port, database or socket path, credentials. */
static int read_address(sb_rd_store *s, sb_uri *uri, int unix_sock)
{
	sb_box *box = s->base.box;
	size_t wl;

	if (uri->user && *uri->user && !uri->password)
		return sb_seterr(box, SB_EURI,
		                 "%s URI has a user name but no password: write "
		                 "%s://:PASSWORD@... or %s://USER:PASSWORD@...",
		                 uri->scheme, uri->scheme, uri->scheme);
	s->unix_sock = unix_sock;
	if (unix_sock) {
		const char *db = sb_uri_param(uri, "db");
		if ((uri->host && *uri->host) || uri->port)
			return sb_seterr(box, SB_EURI,
			                 "redis+unix URIs take no host or port: "
			                 "redis+unix:///path/to/redis.sock[?db=N]");
		if (!uri->path || !*uri->path)
			return sb_seterr(box, SB_EURI,
			                 "redis+unix URI has no socket path: "
			                 "redis+unix:///path/to/redis.sock");
		if (db && parse_db(s, uri->scheme, db) != SB_OK)
			return SB_EURI;
		s->host = strdup(uri->path);
		s->where = strdup(uri->path);
	} else {
		const char *p = uri->path ? uri->path : "";
		if (!uri->has_authority || !uri->host || !*uri->host)
			return sb_seterr(
				box, SB_EURI,
				"redis URI has no host: "
				"redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]");
		if (*p == '/')
			p++;
		if (*p && parse_db(s, uri->scheme, p) != SB_OK)
			return SB_EURI;
		s->port = uri->port ? uri->port : SB_RD_DEFAULT_PORT;
		s->host = strdup(uri->host);
		wl = strlen(uri->host) + 16;
		if ((s->where = malloc(wl)))
			snprintf(s->where, wl,
			         strchr(uri->host, ':') ? "[%s]:%d" : "%s:%d",
			         uri->host, s->port);
	}
	if (!s->host || !s->where ||
	    (uri->password && !(s->password = strdup(uri->password))) ||
	    (uri->user && !(s->user = strdup(uri->user))))
		return sb_seterr(box, SB_ENOMEM, "redis: out of memory");
	return SB_OK;
}

/* ------------------------------------------------------------ lifecycle */

static int rd_init(sb_store *base)
{
	/* Nothing to create: keys appear with the first write. Connecting
	 * (again, if the connection was lost) proves the store answers. */
	return sb_rd_connect((sb_rd_store *)base, "init");
}

static void rd_close(sb_store *base)
{
	sb_rd_store *s = (sb_rd_store *)base;

	if (!s)
		return;
	sb_rd_drop(s);
	sb_rd_hold_cmd_free(s);
	if (s->password) {
		volatile char *p = s->password;
		while (*p)
			*p++ = '\0';
	}
	free(s->password);
	free(s->user);
	free(s->host);
	free(s->where);
	free(s->tag);
	free(s);
}

static const sb_store_ops rd_store_ops = {
	.version = SB_STORE_OPS_VERSION,
	.init = rd_init,
	.close = rd_close,
	.claim = sb_rd_claim,
	.hold = sb_rd_hold,
	.change = sb_rd_change,
	.reclaim = sb_rd_reclaim,
	.upgrade = sb_rd_upgrade,
};

static int rd_open_any(sb_store **out, sb_uri *uri, sb_box *box, int unix_sock)
{
	const char *unused;
	sb_rd_store *s;
	int rc;

	*out = NULL;
	if (!(s = calloc(1, sizeof(*s))))
		return sb_seterr(box, SB_ENOMEM, "redis: out of memory");
	s->base.ops = &rd_store_ops;
	s->base.bank = &sb_rd_bank_ops;
	s->base.ledger = &sb_rd_ledger_ops;
	s->base.box = box;
	rc = read_address(s, uri, unix_sock);
	if (rc == SB_OK)
		rc = read_options(s, uri);
	/* The core reports unknown options after open; say it before
	 * connecting, so a typo is not reported as an unreachable server. */
	if (rc == SB_OK && (unused = sb_uri_unused(uri)))
		rc = sb_seterr(box, SB_EURI, "%s URI: unknown option '%.64s'",
		               uri->scheme, unused);
	if (rc == SB_OK)
		rc = sb_rd_connect(s, "open");
	if (rc != SB_OK) {
		rd_close(&s->base);
		return rc;
	}
	*out = &s->base;
	return SB_OK;
}

static int rd_open_tcp(sb_store **out, sb_uri *uri, sb_box *box)
{
	return rd_open_any(out, uri, box, 0);
}

static int rd_open_unix(sb_store **out, sb_uri *uri, sb_box *box)
{
	return rd_open_any(out, uri, box, 1);
}

/* The exported symbols; core/registry.c declares them under
 * SB_HAVE_REDIS. */
extern const sb_backend sb_backend_redis, sb_backend_redis_unix;
const sb_backend sb_backend_redis = {
	.version = SB_BACKEND_VERSION,
	.scheme = "redis",
	.open = rd_open_tcp,
};
const sb_backend sb_backend_redis_unix = {
	.version = SB_BACKEND_VERSION,
	.scheme = "redis+unix",
	.open = rd_open_unix,
};
