/* DynamoDB bad input: URIs, missing credentials, an unreachable endpoint
 * (within the timeout), an HTTP error page or a silent server instead of
 * DynamoDB (a tiny server in a thread), DynamoDB's key limit, hostile
 * strings and names round-trip, and no secret in any message. */
#include "ddb_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#define SECRET "wJalrXUtnFEMI-s3cr3t-KEY"
#define TOKEN "FQoGZXIvYXdzE-t0k3n-SESSION"

static char msg[SB_ERRMSG_SIZE];

static int open_rc(const char *uri, sb_box **out)
{
	sb_box *box = NULL;
	int rc;

	msg[0] = '\0';
	rc = sb_box_open(&box, uri, NULL, msg, sizeof msg);
	if (out)
		*out = box;
	else
		sb_box_close(box);
	return rc;
}

static void no_secret(const char *m)
{
	CHECKF(NULL, !t_contains(m, SECRET) && !t_contains(m, TOKEN) &&
	       !t_contains(m, "s3cretpw"), "message shows a secret: %s", m);
}

/* ---- a tiny HTTP server on loopback: answers every request with a
 * fixed response, or never answers (silent). */
typedef struct {
	int fd;
	int port;
	const char *reply; /* NULL: read and stay silent */
	int stop;
	pthread_t th;
} tiny;

static void *tiny_run(void *p)
{
	tiny *t = p;
	for (;;) {
		int c = accept(t->fd, NULL, NULL);
		char buf[65536];
		if (c < 0)
			return NULL;
		if (__atomic_load_n(&t->stop, __ATOMIC_SEQ_CST)) {
			close(c);
			return NULL;
		}
		/* Read the request head and body (enough for our small ones). */
		ssize_t n = recv(c, buf, sizeof buf, 0);
		(void)n;
		if (t->reply) {
			ssize_t w = send(c, t->reply, strlen(t->reply), MSG_NOSIGNAL);
			(void)w;
			close(c);
		} else {
			struct timespec ts = { 2, 0 };
			nanosleep(&ts, NULL);
			close(c);
		}
	}
}

static void tiny_start(tiny *t, const char *reply)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	int one = 1;

	memset(t, 0, sizeof *t);
	t->reply = reply;
	t->fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(t->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(t->fd, (struct sockaddr *)&a, sizeof a);
	listen(t->fd, 16);
	getsockname(t->fd, (struct sockaddr *)&a, &len);
	t->port = ntohs(a.sin_port);
	pthread_create(&t->th, NULL, tiny_run, t);
}

static void tiny_stop(tiny *t)
{
	struct sockaddr_in a;
	int c = socket(AF_INET, SOCK_STREAM, 0);

	__atomic_store_n(&t->stop, 1, __ATOMIC_SEQ_CST);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)t->port);
	if (connect(c, (struct sockaddr *)&a, sizeof a) == 0)
		close(c);
	else
		close(c);
	pthread_join(t->th, NULL);
	close(t->fd);
}

/* A request to a fake endpoint: the fetch must fail with @p want. */
static void expect_fetch_fails(const char *uri, int want, const char *needle,
                               double max_s)
{
	sb_box *box = NULL;
	int rc = open_rc(uri, &box);
	if (!CHECKF(NULL, rc == SB_OK, "open %s: %d %s", uri, rc, msg))
		return;
	sb_item *it = (sb_item *)&it;
	double t0 = t_now_s();
	rc = sb_box_fetch(&it, box, "bank-x", "ledger-x", "id-1");
	double took = t_now_s() - t0;
	CHECK_RC(box, rc, want);
	CHECK(box, it == NULL);
	const char *m = sb_box_errmsg(box);
	CHECKF(box, t_contains(m, needle), "message '%s' lacks '%s'", m,
	       needle);
	CHECKF(box, t_contains(m, "127.0.0.1"), "message '%s' names not "
	       "the endpoint", m);
	CHECKF(box, took < max_s, "took %.1f s (limit %.1f)", took, max_s);
	no_secret(m);
	sb_box_close(box);
}

static void uri_errors(void)
{
	static const char *bad[] = {
		"dynamodb://",
		"dynamodb:us-east-1",
		"dynamodb://us-east-1:443",
		"dynamodb://us-east-1/path",
		"dynamodb://us east 1",
		"dynamodb+http://127.0.0.1:1?region=us-east-1&timeout=abc",
		"dynamodb+http://127.0.0.1:1?region=us-east-1&timeout=0",
		"dynamodb+http://127.0.0.1:1?region=us-east-1&max_retries=-1",
		"dynamodb+http://127.0.0.1:1?region=us-east-1&bank_prefix=a%20b",
		"dynamodb+http://127.0.0.1:1?region=us-east-1&bogus=1",
		"dynamodb+http://AKIDEXAMPLE:s3cretpw@127.0.0.1:1?region=us-east-1",
		"dynamodb://us-east-1?region=eu-west-1",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = open_rc(bad[i], NULL);
		CHECKF(NULL, rc == SB_EURI, "open '%s': %d (%s)", bad[i], rc, msg);
		CHECKF(NULL, msg[0] != '\0', "open '%s': no message", bad[i]);
		no_secret(msg);
	}
	/* No region anywhere. */
	char *r1 = getenv("AWS_REGION") ? t_xstrdup(getenv("AWS_REGION")) : NULL;
	char *r2 = getenv("AWS_DEFAULT_REGION")
	           ? t_xstrdup(getenv("AWS_DEFAULT_REGION")) : NULL;
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	CHECK_RC(NULL, open_rc("dynamodb+http://127.0.0.1:1", NULL), SB_EURI);
	CHECKF(NULL, t_contains(msg, "region"), "'%s'", msg);
	setenv("AWS_REGION", "eu-central-1", 1);
	CHECK_RC(NULL, open_rc("dynamodb+http://127.0.0.1:1", NULL), SB_OK);
	unsetenv("AWS_REGION");
	if (r1)
		setenv("AWS_REGION", r1, 1);
	if (r2)
		setenv("AWS_DEFAULT_REGION", r2, 1);
	free(r1);
	free(r2);
	/* The regional endpoint opens without a request. */
	CHECK_RC(NULL, open_rc("dynamodb://us-east-1", NULL), SB_OK);
}

static void credentials(const char *uri)
{
	char *key = t_xstrdup(getenv("AWS_ACCESS_KEY_ID") ? getenv("AWS_ACCESS_KEY_ID") : "fake");
	char *sec = t_xstrdup(getenv("AWS_SECRET_ACCESS_KEY") ? getenv("AWS_SECRET_ACCESS_KEY") : "fake");

	unsetenv("AWS_ACCESS_KEY_ID");
	CHECK_RC(NULL, open_rc(uri, NULL), SB_EAUTH);
	CHECKF(NULL, t_contains(msg, "AWS_ACCESS_KEY_ID"), "'%s'", msg);
	setenv("AWS_ACCESS_KEY_ID", key, 1);
	unsetenv("AWS_SECRET_ACCESS_KEY");
	CHECK_RC(NULL, open_rc(uri, NULL), SB_EAUTH);
	CHECKF(NULL, t_contains(msg, "AWS_SECRET_ACCESS_KEY"), "'%s'", msg);
	setenv("AWS_ACCESS_KEY_ID", "", 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
	CHECK_RC(NULL, open_rc(uri, NULL), SB_EAUTH);
	no_secret(msg);
	setenv("AWS_ACCESS_KEY_ID", key, 1);
	setenv("AWS_SECRET_ACCESS_KEY", sec, 1);
	free(key);
	free(sec);
}

static void unreachable(void)
{
	/* A loopback port nobody listens on. */
	tiny t;
	tiny_start(&t, "x");
	int port = t.port;
	tiny_stop(&t);
	char *u = t_xasprintf("dynamodb+http://127.0.0.1:%d?region=us-east-1"
	                      "&connect_timeout=2000&timeout=3000", port);
	expect_fetch_fails(u, SB_ECONNECT, "DynamoDB", 5.0);
	free(u);
}

static void error_pages(void)
{
	static const char page500[] =
		"HTTP/1.1 500 Internal Server Error\r\n"
		"Content-Type: text/html\r\nContent-Length: 48\r\n"
		"Connection: close\r\n\r\n"
		"<html><body><h1>500 Oops</h1></body></html>\n\n\n\n\n";
	static const char page200[] =
		"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
		"Content-Length: 26\r\nConnection: close\r\n\r\n"
		"<html>not dynamodb</html>\n";
	static const char json403[] =
		"{\"__type\":\"com.amazon.coral.service#"
		"UnrecognizedClientException\",\"message\":\"bad token\"}";
	char page403[512];
	snprintf(page403, sizeof page403, "HTTP/1.1 400 Bad Request\r\n"
	         "Content-Type: application/x-amz-json-1.0\r\n"
	         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	         strlen(json403), json403);
	tiny t;
	char *u;

	tiny_start(&t, page500);
	u = t_xasprintf("dynamodb+http://127.0.0.1:%d?region=us-east-1"
	                "&max_retries=2&backoff_base=1&backoff_cap=5", t.port);
	expect_fetch_fails(u, SB_EBACKEND, "HTTP 500", 5.0);
	free(u);
	tiny_stop(&t);

	tiny_start(&t, page200);
	u = t_xasprintf("dynamodb+http://127.0.0.1:%d?region=us-east-1", t.port);
	expect_fetch_fails(u, SB_EBACKEND, "not JSON", 5.0);
	free(u);
	tiny_stop(&t);

	tiny_start(&t, page403);
	u = t_xasprintf("dynamodb+http://127.0.0.1:%d?region=us-east-1", t.port);
	expect_fetch_fails(u, SB_EAUTH, "UnrecognizedClientException", 5.0);
	free(u);
	tiny_stop(&t);

	/* A server that never answers: the request timeout ends it. */
	tiny_start(&t, NULL);
	u = t_xasprintf("dynamodb+http://127.0.0.1:%d?region=us-east-1"
	                "&timeout=500&max_retries=0", t.port);
	expect_fetch_fails(u, SB_ETIMEOUT, "no answer within 500 ms", 3.0);
	free(u);
	tiny_stop(&t);
}

static void key_limits(const char *uri)
{
	sb_box *box = ddb_open_uri(uri, SB_PROTOCOL_AUTO);
	if (!box)
		return;
	char *bank = ddb_name("limits");
	char *ledger = ddb_name("limits-ledger");
	char *big = t_xmalloc(DDB_MAX_KEY_BYTES + 2);
	memset(big, 'k', DDB_MAX_KEY_BYTES + 1);
	big[DDB_MAX_KEY_BYTES + 1] = '\0';
	const char *batch[] = { "fine-1", big };
	sb_add_result ar = { 7, 7 };
	/* One key over the limit: the batch is refused before any request. */
	sb_ddb_counters c0, c1;
	sb_ddb_box_counters(box, &c0, 0);
	CHECK_RC(box, sb_box_add(&ar, box, bank, batch, 2), SB_EINVALID);
	sb_ddb_box_counters(box, &c1, 0);
	CHECK(box, c1.requests == c0.requests);
	CHECKF(box, t_contains(sb_box_errmsg(box), "2048"), "'%s'",
	       sb_box_errmsg(box));
	sb_stats st;
	CHECK_RC(box, sb_box_stats(&st, box, bank, NULL), SB_ENOTFOUND);
	/* Exactly the limit works, as item and as id. */
	big[DDB_MAX_KEY_BYTES] = '\0';
	const char *ok[] = { "fine-1", big };
	CHECK_RC(box, sb_box_add(&ar, box, bank, ok, 2), SB_OK);
	CHECK(box, ar.added == 2);
	sb_item *it = NULL;
	int seen_big = 0;
	for (int i = 0; i < 2; i++) {
		char id[16];
		snprintf(id, sizeof id, "u%d", i);
		CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, id), SB_OK);
		if (it)
			seen_big |= strcmp(sb_item_value(it), big) == 0;
		sb_item_free(it);
		it = NULL;
	}
	CHECK(box, seen_big);
	const char *more[] = { "m1" };
	CHECK_RC(box, sb_box_add(&ar, box, bank, more, 1), SB_OK);
	CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, big), SB_OK);
	CHECK(box, it && strcmp(sb_item_value(it), "m1") == 0);
	sb_item_free(it);
	it = NULL;
	big[DDB_MAX_KEY_BYTES] = 'k';
	sb_ddb_box_counters(box, &c0, 0);
	CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, big), SB_EINVALID);
	sb_ddb_box_counters(box, &c1, 0);
	CHECK(box, c1.requests == c0.requests && it == NULL);
	CHECK_RC(box, sb_box_lookup(&it, box, ledger, big), SB_EINVALID);
	free(big);
	free(bank);
	free(ledger);
	sb_box_close(box);
}

/* Strings that look like JSON, expression syntax or table names, and
 * names that are not valid table names (hashed) or look like hashed ones. */
static void hostile(const char *uri)
{
	static const char *strs[] = {
		"{\"S\":\"x\"}", "#i", ":t", "attribute_exists(#i)",
		"\\u0000", "\"", "'; DROP TABLE x; --", "caf\xc3\xa9 \xf0\x9f\x8e\x9f",
		" leading and trailing ", "a,b", "sbh.0000",
	};
	size_t n = sizeof strs / sizeof strs[0];
	sb_box *box = ddb_open_uri(uri, SB_PROTOCOL_AUTO);
	if (!box)
		return;
	char *base = ddb_name("h");
	for (size_t i = 0; i < n; i++) {
		char *bank = t_xasprintf("%s%s", base, strs[i]);
		char *ledger = t_xasprintf("L%s%s", base, strs[i]);
		sb_add_result ar;
		CHECK_RC(box, sb_box_add(&ar, box, bank, strs + i, 1), SB_OK);
		CHECK(box, ar.added == 1);
		sb_item *it = NULL;
		CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, strs[i]), SB_OK);
		CHECKF(box, it && strcmp(sb_item_value(it), strs[i]) == 0 &&
		       strcmp(sb_item_bank(it), bank) == 0, "string %zu", i);
		sb_item_free(it);
		free(bank);
		free(ledger);
	}
	/* "sbh.<hash>" as a name is hashed too: it cannot land on the table
	 * of the name it hashes. */
	ddb_store *s = ddb_store_of(box);
	char hex[65], *fake, *t1 = NULL, *t2 = NULL;
	sb_ddb_sha256_hex("a b", 3, hex);
	fake = t_xasprintf("sbh.%s", hex);
	sb_ddb_table(s, &t1, "", "a b", "");
	sb_ddb_table(s, &t2, "", fake, "");
	CHECKF(box, t1 && t2 && strcmp(t1, t2) != 0, "%s vs %s", t1, t2);
	CHECK(box, t1 && strcmp(t1, fake) == 0);
	sb_ddb_sha256_hex("abc", 3, hex);
	CHECK(box, strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
	free(t1);
	free(t2);
	free(fake);
	free(base);
	sb_box_close(box);
}

int main(void)
{
	const char *uri = t_env_need("SB_TEST_DYNAMODB_URI");

	/* Every message below must hide these. */
	setenv("AWS_SESSION_TOKEN", TOKEN, 1);
	uri_errors();
	credentials(uri);
	unreachable();
	error_pages();
	unsetenv("AWS_SESSION_TOKEN");
	key_limits(uri);
	hostile(uri);
	return t_summary();
}
