/* Secrets never show in a message, whatever the error, on every server
 * backend (SQLite has none). PostgreSQL and Redis: a distinctive
 * password, also percent-encoded, in the URI of a wrong-password open, a
 * refused port, a silent server, bad options and values, a missing
 * database; and the real password in the errors of a working box.
 * DynamoDB: a distinctive AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN
 * through a refused port, a silent server, error answers that ECHO the
 * request (its signed headers, the session token first) back as a
 * DynamoDB error message or type, as a 500 page and as a 200 that is
 * not JSON, missing credentials, and real DynamoDB Local errors. What the
 * backends' own bad-input tests check already is not repeated: this
 * program adds the cases they lack, the same way for each backend.
 *
 * Usage: hd_secrets postgresql|redis|dynamodb */
#include "hd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Distinctive pieces: a message holding any of them leaks a secret. */
#define PW_PLAIN   "HdS3cretPW"          /* as given in the URI */
#define PW_ENC     "HdS3%40cr%3Aet%2FPW" /* percent-encoded "HdS3@cr:et/PW" */
#define PW_DEC     "HdS3@cr:et/PW"
#define DDB_SECRET "HdSecretKEY/wJalrXUtnFEMI+K7MDENG"
#define DDB_TOKEN  "HdSessionTOKEN+FwoGZXIvYXdzEP//////////wEaD"

static const char *leaks[8];
static int nleaks;
static char *bank;

static void no_secret(const char *what, const char *msg)
{
	int i;

	CHECKF(NULL, msg && *msg, "%s: no message", what);
	for (i = 0; i < nleaks; i++)
		CHECKF(NULL, !t_contains(msg, leaks[i]),
		       "%s: message shows "
		       "secret #%d: %s",
		       what, i, msg);
	/* Pieces long enough to be meaningful on their own. */
	CHECKF(NULL,
	       !t_contains(msg, "S3cret") && !t_contains(msg, "cr:et") &&
	               !t_contains(msg, "wJalrXUtnFEMI") &&
	               !t_contains(msg, "FwoGZXIv"),
	       "%s: message shows part of a secret: %s", what, msg);
}

/* Open @p uri and, if that works, fetch: collect every message. */
static int try_uri(const char *what, const char *uri, int want)
{
	char err[SB_ERRMSG_SIZE] = "";
	sb_box *box = NULL;
	sb_item *it = NULL;
	int rc = sb_box_open(&box, uri, NULL, err, sizeof err);

	if (rc == SB_OK) {
		rc = sb_box_fetch(&it, box, bank, "hd-ledger", "id");
		snprintf(err, sizeof err, "%s", sb_box_errmsg(box));
		sb_item_free(it);
		sb_box_close(box);
	}
	printf("  %-36s %-26s %s\n", what, sb_strerror(rc), err);
	if (want)
		CHECKF(NULL, rc == want, "%s: %s, expected %s", what,
		       sb_strerror(rc), sb_strerror(want));
	else
		CHECKF(NULL, rc < 0, "%s: did not fail", what);
	no_secret(what, err);
	return rc;
}

/* ---------------------------------------------- PostgreSQL and Redis */

/* The server URI with user:password replaced (user may be ""; both
 * are percent-encoded in the URI), and its path when @p path is not NULL. */
static char *with_auth(const char *server, const char *user, const char *pw,
                       const char *path)
{
	return t_uri_edit(server, &(t_uri_parts){ .user = user,
	                                          .password = pw,
	                                          .path = path });
}

static void password_uris(const char *server, int pg)
{
	char *u, *v;
	hd_silent sil;
	const char *user = pg ? "sbtest" : "";
	const char *pws[] = { PW_PLAIN, PW_DEC }; /* in the URI: PW_ENC */

	for (int i = 0; i < 2; i++) {
		char what[64];
		printf(" password %s:\n", i ? "percent-encoded" : "plain");
		u = with_auth(server, user, pws[i], NULL);
		try_uri("wrong password", u, SB_EAUTH);
		free(u);
		u = with_auth(server, pg ? "nosuchrole_hd" : "nosuchuser",
		              pws[i], NULL);
		try_uri("unknown user", u, SB_EAUTH);
		v = hd_uri_port(u, hd_closed_port());
		try_uri("refused port", v, SB_ECONNECT);
		free(v);
		hd_silent_start(&sil);
		v = hd_uri_port(u, sil.port);
		free(u);
		u = t_uri_opt(v, pg ? "connect_timeout=2"
		                    : "connect_timeout=800&timeout=800");
		/* libpq says "timeout expired" only in text: SB_ECONNECT. */
		try_uri("silent server", u, pg ? SB_ECONNECT : SB_ETIMEOUT);
		hd_silent_stop(&sil);
		free(u);
		free(v);
		const char *bad_opts[] = {
			"bogus_option=1",
			pg ? "statement_timeout=-5" : "timeout=-5",
			pg ? "schema=Bad-Schema" : "prefix=bad{prefix}",
			pg ? "query_timeout=x" : "connect_timeout=x",
		};
		for (int j = 0; j < 4; j++) {
			u = with_auth(server, user, pws[i], NULL);
			v = t_uri_opt(u, bad_opts[j]);
			snprintf(what, sizeof what, "option %.28s",
			         bad_opts[j]);
			try_uri(what, v, SB_EURI);
			free(u);
			free(v);
		}
		if (pg) {
			/* The password as a libpq keyword in the query. */
			u = t_xasprintf("%s%spassword=%s", server,
			                strchr(server, '?') ? "&" : "?",
			                i ? PW_ENC : PW_PLAIN);
			try_uri("password= in the query", u, SB_EAUTH);
			free(u);
		}
		u = with_auth(server, user, pws[i],
		              pg ? "/nosuchdb_hd" : "/99999");
		try_uri("missing database", u, 0);
		free(u);
	}
}

/* The real password must not show in the errors of a working box. */
static void working_box(const char *server)
{
	char *pw = t_uri_password(server);
	sb_box *box;
	sb_item *it = NULL;
	char *big;

	printf(" errors of a working box:\n");
	if (pw && strlen(pw) >= 4)
		leaks[nleaks++] = pw;
	if (!(box = hd_open(server, SB_PROTOCOL_AUTO))) {
		free(pw);
		return;
	}
	CHECK_RC(box, sb_box_fetch(&it, box, "hd-no-such-bank-xyz", "l", "i"),
	         SB_ENOTFOUND);
	no_secret("fetch, missing bank", sb_box_errmsg(box));
	CHECK_RC(box, sb_box_lookup(&it, box, "hd-no-such-ledger", "i"),
	         SB_ENOTFOUND);
	big = t_xmalloc(SB_MAX_VALUE_LEN + 2);
	memset(big, 'x', SB_MAX_VALUE_LEN + 1);
	big[SB_MAX_VALUE_LEN + 1] = '\0';
	CHECK_RC(box, sb_box_fetch(&it, box, big, "l", "i"), SB_EINVALID);
	no_secret("fetch, name too long", sb_box_errmsg(box));
	free(big);
	sb_box_close(box);
	nleaks--;
	free(pw);
}

/* ---------------------------------------------------------- DynamoDB */

enum {
	ECHO_JSON,
	ECHO_AUTH,
	ECHO_500,
	ECHO_200,
	ECHO_TYPE
};

typedef struct {
	int fd, port, mode;
	volatile int stop;
	pthread_t th;
} echo_srv;

/* Read one request (head and Content-Length body). */
static size_t read_request(int c, char *buf, size_t size)
{
	size_t n = 0;
	char *head_end = NULL;

	while (n + 1 < size) {
		struct pollfd p = { c, POLLIN, 0 };
		ssize_t r;
		if (poll(&p, 1, 2000) <= 0)
			break;
		if ((r = read(c, buf + n, size - 1 - n)) <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (!head_end && (head_end = strstr(buf, "\r\n\r\n"))) {
			const char *cl = strstr(buf, "Content-Length:");
			if (!cl)
				cl = strstr(buf, "content-length:");
			size_t want = (size_t)(head_end + 4 - buf) +
			              (cl ? (size_t)atol(cl + 15) : 0);
			if (n >= want)
				break;
		} else if (head_end) {
			const char *cl = strstr(buf, "Content-Length:");
			if (n >= (size_t)(head_end + 4 - buf) +
			                 (cl ? (size_t)atol(cl + 15) : 0))
				break;
		}
	}
	buf[n] = '\0';
	return n;
}

/* The request's head, the session-token line first, as JSON string
 * content (quotes, backslashes and controls escaped). */
static void echo_text(const char *req, char *out, size_t size)
{
	const char *tok = strstr(req, "X-Amz-Security-Token");
	const char *end = strstr(req, "\r\n\r\n");
	size_t n = 0;
	char both[16384];

	if (!tok)
		tok = strstr(req, "x-amz-security-token");
	snprintf(both, sizeof both, "%.*s | %.*s",
	         tok ? (int)strcspn(tok, "\r") : 0, tok ? tok : "",
	         end ? (int)(end - req) : (int)strlen(req), req);
	for (const char *p = both; *p && n + 7 < size; p++) {
		if (*p == '"' || *p == '\\') {
			out[n++] = '\\';
			out[n++] = *p;
		} else if ((unsigned char)*p < 0x20) {
			out[n++] = ' ';
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

static void *echo_run(void *arg)
{
	echo_srv *e = arg;
	static char req[65536], text[40000], reply[50000];

	while (!e->stop) {
		struct pollfd p = { e->fd, POLLIN, 0 };
		int c;
		if (poll(&p, 1, 50) != 1 || (c = accept(e->fd, NULL, NULL)) < 0)
			continue;
		read_request(c, req, sizeof req);
		echo_text(req, text, sizeof text);
		char body[45000];
		const char *status = "400 Bad Request",
			   *ctype = "application/x-amz-json-1.0";
		if (e->mode == ECHO_TYPE) {
			/* The echo in the error's type instead. */
			snprintf(body, sizeof body,
			         "{\"__type\":\"com.amazon."
			         "coral#%s\",\"message\":\"m\"}",
			         text);
		} else if (e->mode == ECHO_JSON || e->mode == ECHO_AUTH) {
			snprintf(body, sizeof body,
			         "{\"__type\":\"com.amazon."
			         "coral.validate#%s\",\"message\":\"%s\"}",
			         e->mode == ECHO_JSON
			                 ? "ValidationException"
			                 : "UnrecognizedClientException",
			         text);
		} else {
			snprintf(body, sizeof body, "<html>%s</html>", text);
			status = e->mode == ECHO_500
			                 ? "500 Internal Server Error"
			                 : "200 OK";
			ctype = "text/html";
		}
		snprintf(reply, sizeof reply,
		         "HTTP/1.1 %s\r\nContent-Type: %s"
		         "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		         status, ctype, strlen(body), body);
		ssize_t w = send(c, reply, strlen(reply), MSG_NOSIGNAL);
		(void)w;
		close(c);
	}
	return NULL;
}

static void echo_start(echo_srv *e, int mode)
{
	hd_silent tmp; /* borrow its listener setup */

	memset(e, 0, sizeof *e);
	hd_silent_start(&tmp);
	/* Take over the listening socket; stop the silent thread first. */
	tmp.stop = 1;
	pthread_join(tmp.th, NULL);
	e->fd = tmp.fd;
	e->port = tmp.port;
	e->mode = mode;
	pthread_create(&e->th, NULL, echo_run, e);
}

static void echo_stop(echo_srv *e)
{
	e->stop = 1;
	pthread_join(e->th, NULL);
	close(e->fd);
}

static void ddb_cases(const char *server)
{
	static const char *modes[] = { "echo as ValidationException",
		                       "echo as UnrecognizedClient",
		                       "echo in a 500 page",
		                       "echo in a 200 non-JSON",
		                       "echo as the error type" };
	static const int want[] = { SB_EINVALID, SB_EAUTH, SB_EBACKEND,
		                    SB_EBACKEND, SB_EBACKEND };
	hd_silent sil;
	char *u;

	setenv("AWS_SECRET_ACCESS_KEY", DDB_SECRET, 1);
	setenv("AWS_SESSION_TOKEN", DDB_TOKEN, 1);
	leaks[nleaks++] = DDB_SECRET;
	leaks[nleaks++] = DDB_TOKEN;
	leaks[nleaks++] = "HdSessionTOKEN";
	leaks[nleaks++] = "HdSecretKEY";

	u = hd_uri_port(server, hd_closed_port());
	try_uri("refused port", u, SB_ECONNECT);
	free(u);
	hd_silent_start(&sil);
	u = hd_uri_port(server, sil.port);
	char *v = t_uri_opt(u, "timeout=800");
	try_uri("silent server", v, SB_ETIMEOUT);
	free(v);
	free(u);
	hd_silent_stop(&sil);
	for (int m = 0; m < 5; m++) {
		echo_srv e;
		echo_start(&e, m);
		u = hd_uri_port(server, e.port);
		v = t_uri_opt(u, "max_retries=1&backoff_base=1&backoff_cap=2");
		try_uri(modes[m], v, want[m]);
		free(v);
		free(u);
		echo_stop(&e);
	}
	/* Real DynamoDB Local errors with these credentials set. */
	sb_box *box = hd_open(server, SB_PROTOCOL_AUTO);
	if (box) {
		sb_item *it = NULL;
		char *id = t_xmalloc(3001);
		memset(id, 'k', 3000);
		id[3000] = '\0';
		CHECK_RC(box,
		         sb_box_add(NULL, box, bank, (const char *[]){ id }, 1),
		         SB_EINVALID);
		no_secret("add, item over the key limit", sb_box_errmsg(box));
		CHECK_RC(box,
		         sb_box_fetch(&it, box, "hd-no-such-bank-xyz", "l", "i"),
		         SB_ENOTFOUND);
		no_secret("fetch, missing bank", sb_box_errmsg(box));
		free(id);
		sb_box_close(box);
	}
	/* Missing key id with the secret still set. */
	char *key = t_xstrdup(getenv("AWS_ACCESS_KEY_ID")
	                              ? getenv("AWS_ACCESS_KEY_ID")
	                              : "fake");
	unsetenv("AWS_ACCESS_KEY_ID");
	try_uri("no AWS_ACCESS_KEY_ID", server, SB_EAUTH);
	setenv("AWS_ACCESS_KEY_ID", key, 1);
	free(key);
	u = t_uri_opt(server, "timeout=abc");
	try_uri("bad option", u, SB_EURI);
	free(u);
	u = t_xasprintf("dynamodb+http://AKID:%s@127.0.0.1:1?region=us-east-1",
	                "HdS3cretInURI");
	try_uri("credentials in the URI", u, SB_EURI);
	free(u);
}

int main(int argc, char **argv)
{
	const char *b = argc > 1 ? argv[1] : "", *server;

	bank = t_xasprintf("hds-%lx-%ld", (long)time(NULL), (long)getpid());
	leaks[nleaks++] = PW_PLAIN;
	leaks[nleaks++] = PW_ENC;
	leaks[nleaks++] = PW_DEC;
	if (strcmp(b, "postgresql") == 0 || strcmp(b, "redis") == 0) {
		int pg = b[0] == 'p';
		server = t_env_need(pg ? "SB_TEST_PG_URI"
		                       : "SB_TEST_REDIS_URI");
		printf("%s:\n", b);
		password_uris(server, pg);
		working_box(server);
	} else if (strcmp(b, "dynamodb") == 0) {
		server = t_env_need("SB_TEST_DYNAMODB_URI");
		printf("dynamodb:\n");
		ddb_cases(server);
	} else {
		fprintf(stderr,
		        "usage: hd_secrets postgresql|redis|dynamodb\n");
		return 1;
	}
	free(bank);
	return t_summary();
}
