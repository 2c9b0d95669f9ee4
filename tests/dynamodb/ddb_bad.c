/* DynamoDB bad input: URIs and regions, missing credentials, an
 * unreachable endpoint (within the timeout), an HTTP error page, a silent
 * server or a server that cannot create tables instead of DynamoDB (a
 * tiny server in a thread; the last one also through the CLI),
 * DynamoDB's key limit, hostile strings and names round-trip, and no
 * secret in any message.
 *
 * Usage: ddb_bad PATH/TO/storagebox */
#include "ddb_test.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define SECRET "wJalrXUtnFEMI-s3cr3t-KEY"
#define TOKEN  "FQoGZXIvYXdzE-t0k3n-SESSION"

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
	CHECKF(NULL,
	       !t_contains(m, SECRET) && !t_contains(m, TOKEN) &&
	               !t_contains(m, "s3cretpw"),
	       "message shows a secret: %s", m);
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
			ssize_t w = send(c, t->reply, strlen(t->reply),
			                 MSG_NOSIGNAL);
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
	CHECKF(box, t_contains(m, "127.0.0.1"),
	       "message '%s' names not "
	       "the endpoint",
	       m);
	CHECKF(box, took < max_s, "took %.1f s (limit %.1f)", took, max_s);
	no_secret(m);
	sb_box_close(box);
}

/* What a region looks like, and the escape for local endpoints. */
static void regions(void)
{
	static const char *good[] = {
		"dynamodb://us-east-1",
		"dynamodb://ap-southeast-2",
		"dynamodb://us-gov-west-1",
		"dynamodb://cn-north-1",
		"dynamodb+http://127.0.0.1:1?region=eu-central-1",
		/* DynamoDB Local takes any region name. */
		"dynamodb+http://127.0.0.1:1?region=local&any_region=1",
		"dynamodb+http://127.0.0.1:1?region=EU_WEST.1&any_region=1",
		"dynamodb+https://127.0.0.1:1?region=us-east-1&any_region=0",
	};
	char *r1 = getenv("AWS_REGION") ? t_xstrdup(getenv("AWS_REGION"))
	                                : NULL;

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		int rc = open_rc(good[i], NULL);
		CHECKF(NULL, rc == SB_OK, "open '%s': %d (%s)", good[i], rc,
		       msg);
	}
	/* The message says what a region looks like. */
	CHECK_RC(NULL, open_rc("dynamodb://EU_WEST.1", NULL), SB_EURI);
	CHECKF(NULL,
	       t_contains(msg, "region") && t_contains(msg, "us-east-1") &&
	               t_contains(msg, "any_region=1"),
	       "'%s'", msg);
	/* From the environment too, and the message says from where. */
	setenv("AWS_REGION", "Local", 1);
	CHECK_RC(NULL, open_rc("dynamodb+http://127.0.0.1:1", NULL), SB_EURI);
	CHECKF(NULL, t_contains(msg, "$AWS_REGION"), "'%s'", msg);
	CHECK_RC(NULL,
	         open_rc("dynamodb+http://127.0.0.1:1?any_region=1", NULL),
	         SB_OK);
	if (r1)
		setenv("AWS_REGION", r1, 1);
	else
		unsetenv("AWS_REGION");
	free(r1);
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
		/* Regions that do not look like AWS ones, and the escape
		 * (any_region=1) where it does not apply or cannot help. */
		"dynamodb://EU_WEST.1",
		"dynamodb://eu-west",
		"dynamodb://us-east-1a",
		"dynamodb://useast-1",
		"dynamodb://u-east-1",
		"dynamodb://us--east-1",
		"dynamodb://us-east-",
		"dynamodb+http://127.0.0.1:1?region=EU_WEST.1",
		"dynamodb+http://127.0.0.1:1?region=us-east-1%0a",
		"dynamodb://us-east-1?any_region=1",
		"dynamodb+http://127.0.0.1:1?region=us-east-1&any_region=2",
		"dynamodb+http://127.0.0.1:1?region=a:b&any_region=1",
		"dynamodb+http://127.0.0.1:1?region=a%2Fb&any_region=1",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = open_rc(bad[i], NULL);
		CHECKF(NULL, rc == SB_EURI, "open '%s': %d (%s)", bad[i], rc,
		       msg);
		CHECKF(NULL, msg[0] != '\0', "open '%s': no message", bad[i]);
		no_secret(msg);
	}
	/* No region anywhere. */
	char *r1 = getenv("AWS_REGION") ? t_xstrdup(getenv("AWS_REGION"))
	                                : NULL;
	char *r2 = getenv("AWS_DEFAULT_REGION")
	                   ? t_xstrdup(getenv("AWS_DEFAULT_REGION"))
	                   : NULL;
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
	regions();
}

static void credentials(const char *uri)
{
	char *key = t_xstrdup(getenv("AWS_ACCESS_KEY_ID")
	                              ? getenv("AWS_ACCESS_KEY_ID")
	                              : "fake");
	char *sec = t_xstrdup(getenv("AWS_SECRET_ACCESS_KEY")
	                              ? getenv("AWS_SECRET_ACCESS_KEY")
	                              : "fake");

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
	                      "&connect_timeout=2000&timeout=3000",
	                      port);
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
	snprintf(page403, sizeof page403,
	         "HTTP/1.1 400 Bad Request\r\n"
	         "Content-Type: application/x-amz-json-1.0\r\n"
	         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	         strlen(json403), json403);
	tiny t;
	char *u;

	tiny_start(&t, page500);
	u = t_xasprintf("dynamodb+http://127.0.0.1:%d?region=us-east-1"
	                "&max_retries=2&backoff_base=1&backoff_cap=5",
	                t.port);
	expect_fetch_fails(u, SB_EBACKEND, "HTTP 500", 5.0);
	free(u);
	tiny_stop(&t);

	tiny_start(&t, page200);
	u = t_xasprintf("dynamodb+http://127.0.0.1:%d?region=us-east-1",
	                t.port);
	expect_fetch_fails(u, SB_EBACKEND, "not JSON", 5.0);
	free(u);
	tiny_stop(&t);

	tiny_start(&t, page403);
	u = t_xasprintf("dynamodb+http://127.0.0.1:%d?region=us-east-1",
	                t.port);
	expect_fetch_fails(u, SB_EAUTH, "UnrecognizedClientException", 5.0);
	free(u);
	tiny_stop(&t);

	/* A server that never answers: the request timeout ends it. */
	tiny_start(&t, NULL);
	u = t_xasprintf("dynamodb+http://127.0.0.1:%d?region=us-east-1"
	                "&timeout=500&max_retries=0",
	                t.port);
	expect_fetch_fails(u, SB_ETIMEOUT, "no answer within 500 ms", 3.0);
	free(u);
	tiny_stop(&t);
}

/* Run the CLI with @p argv (NULL-terminated, argv[0] its path) for at
 * most @p max_s seconds; its output goes to @p out and @p err (read back
 * into them, cut to @p size). The exit status, or -1 if it did not exit
 * in time (then it is killed) or could not run. */
static int run_cli(char *const *argv, double max_s, char *out, char *err,
                   size_t size)
{
	char path[2][64];
	char *dst[2] = { out, err };
	int fd[2], status = -1, i;
	double t0 = t_now_s();
	pid_t pid;

	for (i = 0; i < 2; i++) {
		snprintf(path[i], sizeof path[i], "/tmp/ddb-bad-cli-%ld-%d",
		         (long)getpid(), i);
		fd[i] = open(path[i], O_RDWR | O_CREAT | O_TRUNC, 0600);
	}
	pid = fd[0] >= 0 && fd[1] >= 0 ? fork() : -1;
	if (pid == 0) {
		dup2(fd[0], 1);
		dup2(fd[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, &status, WNOHANG) == 0) {
		if (t_now_s() - t0 > max_s) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			status = -1;
			break;
		}
		t_nap_ms(20);
	}
	for (i = 0; i < 2; i++) {
		ssize_t n = fd[i] >= 0 ? pread(fd[i], dst[i], size - 1, 0) : -1;
		dst[i][n > 0 ? n : 0] = '\0';
		if (fd[i] >= 0)
			close(fd[i]);
		unlink(path[i]);
	}
	return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A server that answers every request, CreateTable included, with
 * ResourceNotFoundException (no DynamoDB does; a proxy or a mock of the
 * wrong service may). The backend's private "no table" result must
 * become an error naming the table and the AWS error type: through the
 * API, a negative code; through the CLI, exit 1 (it printed "added 0"
 * and exited 0). */
static void table_never_made(const char *cli)
{
	static const char json[] =
		"{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
		"ResourceNotFoundException\",\"message\":"
		"\"Requested resource not found\"}";
	static const char *items[] = { "n1", "n2" };
	char page[512], out[2048], err[2048], file[64];
	sb_add_result ar = { 7, 7 };
	sb_box *box = NULL;
	tiny t;
	char *u;
	FILE *f;
	int rc;

	snprintf(page, sizeof page,
	         "HTTP/1.1 400 Bad Request\r\n"
	         "Content-Type: application/x-amz-json-1.0\r\n"
	         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	         strlen(json), json);
	tiny_start(&t, page);
	u = t_xasprintf("dynamodb+http://127.0.0.1:%d?region=us-east-1"
	                "&timeout=3000",
	                t.port);
	if (CHECKF(NULL, open_rc(u, &box) == SB_OK, "open %s: %s", u, msg)) {
		rc = sb_box_add(&ar, box, "rnf-bank", items, 2);
		CHECKF(box, rc < 0 && rc == SB_EBACKEND, "add: %d", rc);
		CHECK(box, ar.added == 0);
		const char *m = sb_box_errmsg(box);
		CHECKF(box,
		       t_contains(m, "rnf-bank") &&
		               t_contains(m, "ResourceNotFoundException") &&
		               t_contains(m, "CreateTable") &&
		               !t_contains(m, "contract"),
		       "add: '%s'", m);
		no_secret(m);
		/* Creating the bank and ledger ahead fails alike. */
		CHECK_RC(box, sb_box_init(box, "rnf-bank", "rnf-ledger"),
		         SB_EBACKEND);
		CHECKF(box,
		       t_contains(sb_box_errmsg(box), "rnf-bank") &&
		               t_contains(sb_box_errmsg(box),
		                          "ResourceNotFoundException"),
		       "init: '%s'", sb_box_errmsg(box));
		sb_box_close(box);
	}

	snprintf(file, sizeof file, "/tmp/ddb-bad-items-%ld", (long)getpid());
	if ((f = fopen(file, "w"))) {
		fputs("n1\nn2\n", f);
		fclose(f);
	}
	char *argv[] = {
		(char *)cli, "--uri", u, "add", "rnf-bank", file, NULL
	};
	rc = run_cli(argv, 60.0, out, err, sizeof out);
	CHECKF(NULL, rc == 1,
	       "storagebox add: exit %d (stdout '%s', "
	       "stderr '%s')",
	       rc, out, err);
	CHECKF(NULL, !t_contains(out, "added"), "stdout: '%s'", out);
	CHECKF(NULL,
	       t_contains(err, "rnf-bank") &&
	               t_contains(err, "ResourceNotFoundException"),
	       "stderr: '%s'", err);
	no_secret(err);
	unlink(file);
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
	char *big = t_xmalloc(SB_DDB_MAX_KEY_BYTES + 2);
	memset(big, 'k', SB_DDB_MAX_KEY_BYTES + 1);
	big[SB_DDB_MAX_KEY_BYTES + 1] = '\0';
	const char *batch[] = { "fine-1", big };
	sb_add_result ar = { 7, 7 };
	/* One key over the limit: the batch is refused before any request. */
	sb_ddb_counters c0, c1;
	ddb_box_counters(box, &c0, 0);
	CHECK_RC(box, sb_box_add(&ar, box, bank, batch, 2), SB_EINVALID);
	ddb_box_counters(box, &c1, 0);
	CHECK(box, c1.requests == c0.requests);
	CHECKF(box, t_contains(sb_box_errmsg(box), "2048"), "'%s'",
	       sb_box_errmsg(box));
	sb_stats st;
	CHECK_RC(box, sb_box_stats(&st, box, bank, NULL), SB_ENOTFOUND);
	/* Exactly the limit works, as item and as id. */
	big[SB_DDB_MAX_KEY_BYTES] = '\0';
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
	big[SB_DDB_MAX_KEY_BYTES] = 'k';
	ddb_box_counters(box, &c0, 0);
	CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, big), SB_EINVALID);
	ddb_box_counters(box, &c1, 0);
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
		"{\"S\":\"x\"}",
		"#i",
		":t",
		"attribute_exists(#i)",
		"\\u0000",
		"\"",
		"'; DROP TABLE x; --",
		"caf\xc3\xa9 \xf0\x9f\x8e\x9f",
		" leading and trailing ",
		"a,b",
		"sbh.0000",
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
		CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, strs[i]),
		         SB_OK);
		CHECKF(box,
		       it && strcmp(sb_item_value(it), strs[i]) == 0 &&
		               strcmp(sb_item_bank(it), bank) == 0,
		       "string %zu", i);
		sb_item_free(it);
		free(bank);
		free(ledger);
	}
	/* "sbh.<hash>" as a name is hashed too: it cannot land on the table
	 * of the name it hashes. */
	sb_ddb_store *s = ddb_store_of(box);
	char hex[65], *fake, *t1 = NULL, *t2 = NULL;
	sb_ddb_sha256_hex("a b", 3, hex);
	fake = t_xasprintf("sbh.%s", hex);
	sb_ddb_table(s, &t1, "", "a b", "");
	sb_ddb_table(s, &t2, "", fake, "");
	CHECKF(box, t1 && t2 && strcmp(t1, t2) != 0, "%s vs %s", t1, t2);
	CHECK(box, t1 && strcmp(t1, fake) == 0);
	sb_ddb_sha256_hex("abc", 3, hex);
	CHECK(box,
	      strcmp(hex,
	             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") ==
	              0);
	free(t1);
	free(t2);
	free(fake);
	free(base);
	sb_box_close(box);
}

int main(int argc, char **argv)
{
	const char *uri = t_env_need("SB_TEST_DYNAMODB_URI");

	if (argc != 2) {
		fprintf(stderr, "usage: ddb_bad PATH/TO/storagebox\n");
		return 2;
	}
	/* Every message below must hide these. */
	setenv("AWS_SESSION_TOKEN", TOKEN, 1);
	uri_errors();
	credentials(uri);
	unreachable();
	error_pages();
	table_never_made(argv[1]);
	unsetenv("AWS_SESSION_TOKEN");
	key_limits(uri);
	hostile(uri);
	return t_summary();
}
