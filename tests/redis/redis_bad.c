/* Redis bad input and bad conditions: wrong or missing password, a
 * closed port, a server that never answers, malformed URIs, a lost
 * connection, hostile names (hash-tag characters, quotes, unicode,
 * 64 KiB) that must round-trip exactly without touching any key outside
 * the store's prefix, and the limits of bulk add.
 *
 * It works in database 9 of the test server (the other suites use 0), so
 * it can check that no key outside its prefix changes. */
#include "rtest.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *server; /* $SB_TEST_REDIS_URI */
static char *password;     /* its password, decoded */
static char hostport[300];
static char *db9; /* server URI on database 9 */

/* The parts of the test URI (redis://:PASSWORD@HOST:PORT/0). */
static void parse_server(void)
{
	sb_uri *u = t_uri_parse(server);

	if (!u->password || !*u->password) {
		fprintf(stderr, "SB_TEST_REDIS_URI has no password: the "
		                "credential cases need one\n");
		exit(1);
	}
	password = t_xstrdup(u->password);
	snprintf(hostport, sizeof hostport, "%s:%d", u->host, u->port);
	sb_uri_free(u);
	db9 = t_uri_edit(server, &(t_uri_parts){ .path = "/9" });
}

/* Open must fail with @p want in at most @p max_s seconds; the message
 * must not show any password. Returns the message (static). */
static const char *open_fails_(const char *uri, int want, double max_s,
                               const char *file, int line)
{
	static char err[SB_ERRMSG_SIZE];
	sb_box *box = NULL;
	double t0 = t_now_s();
	int rc = sb_box_open(&box, uri, NULL, err, sizeof err);
	double took = t_now_s() - t0;
	char *ru = t_redact_uri(uri);
	char expr[256];
	snprintf(expr, sizeof expr, "open %.200s", ru);
	free(ru);
	t_check_rc(NULL, file, line, expr, rc, want);
	t_check(box == NULL && err[0], NULL, file, line, expr,
	        "box %p, message '%s'", (void *)box, err);
	t_check(!t_contains(err, password) && !t_contains(err, "s3cret"), NULL,
	        file, line, expr, "message shows a password: %s", err);
	t_check(took <= max_s, NULL, file, line, expr,
	        "took %.2f s (limit %.2f s)", took, max_s);
	sb_box_close(box);
	printf("  %-60.60s -> %d in %.2f s: %s\n", expr + 5, rc, took, err);
	return err;
}
#define open_fails(uri, want, max_s) \
	open_fails_((uri), (want), (max_s), __FILE__, __LINE__)

static sb_box *open_ok(const char *uri, sb_protocol proto)
{
	sb_open_opts o = SB_OPEN_OPTS_INIT;
	o.protocol = proto;
	char err[SB_ERRMSG_SIZE] = "";
	sb_box *box = NULL;
	int rc = sb_box_open(&box, uri, &o, err, sizeof err);
	CHECKF(NULL, rc == SB_OK, "open: %d %s", rc, err);
	return rc == SB_OK ? box : NULL;
}

/* A loopback port nobody listens on (bound, then closed). */
static int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		return 1;
	close(fd);
	return ntohs(a.sin_port);
}

/* A listener that accepts TCP connections (the kernel does) but never
 * answers: a hung server. */
static int mute_listener(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(fd, 16) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

static void case_credentials(void)
{
	printf("credentials and reachability\n");
	char *u = t_xasprintf("redis://:wrong-s3cret-pw@%s/0", hostport);
	const char *m = open_fails(u, SB_EAUTH, 5);
	CHECKF(NULL, t_contains(m, hostport), "'%s' does not name %s", m,
	       hostport);
	free(u);
	u = t_xasprintf("redis://someone:wrong-s3cret-pw@%s/0", hostport);
	open_fails(u, SB_EAUTH, 5);
	free(u);
	u = t_xasprintf("redis://%s/0", hostport); /* no password */
	open_fails(u, SB_EAUTH, 5);
	free(u);

	int port = closed_port();
	u = t_xasprintf("redis://:s3cret@127.0.0.1:%d/0?connect_timeout=1000",
	                port);
	m = open_fails(u, SB_ECONNECT, 2);
	char *where = t_xasprintf("127.0.0.1:%d", port);
	CHECKF(NULL, t_contains(m, where), "'%s' does not name %s", m, where);
	free(where);
	free(u);
	u = t_xstrdup("redis+unix://:s3cret@/nonexistent/dir/redis.sock");
	open_fails(u, SB_ECONNECT, 2);
	free(u);

	int fd = mute_listener(&port);
	if (CHECK(NULL, fd >= 0)) {
		u = t_xasprintf("redis://:s3cret@127.0.0.1:%d/0?timeout=300",
		                port);
		m = open_fails(u, SB_ETIMEOUT, 3);
		CHECKF(NULL, t_contains(m, "300 ms"), "'%s'", m);
		free(u);
		close(fd);
	}

	/* A server whose accept queue is full: SYNs go unanswered, so the
	 * connect itself hangs until connect_timeout. */
	int lfd = socket(AF_INET, SOCK_STREAM, 0), fillers[8], nf = 0;
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (CHECK(NULL,
	          lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 &&
	                  listen(lfd, 0) == 0 &&
	                  getsockname(lfd, (struct sockaddr *)&a, &alen) == 0)) {
		for (; nf < 8; nf++) { /* fill the queue */
			fillers[nf] = socket(AF_INET,
			                     SOCK_STREAM | SOCK_NONBLOCK, 0);
			connect(fillers[nf], (struct sockaddr *)&a, sizeof a);
		}
		usleep(100000);
		u = t_xasprintf("redis://:s3cret@127.0.0.1:%d/0?connect_timeout="
		                "400&timeout=400",
		                ntohs(a.sin_port));
		m = open_fails(u, SB_ETIMEOUT, 3);
		free(u);
		while (nf > 0)
			close(fillers[--nf]);
	}
	if (lfd >= 0)
		close(lfd);

	/* A database that does not exist. */
	u = t_uri_edit(server, &(t_uri_parts){ .path = "/99999" });
	m = open_fails(u, SB_EBACKEND, 5);
	CHECKF(NULL, t_contains(m, "SELECT"), "'%s'", m);
	free(u);
}

static void case_uris(void)
{
	printf("malformed URIs\n");
	static const char *const bad[] = {
		"redis://:s3cret@127.0.0.1:1/abc",
		"redis://:s3cret@127.0.0.1:1/0/1",
		"redis://:s3cret@127.0.0.1:1/-1",
		"redis://:s3cret@127.0.0.1:1/0?prefix=%7Bx%7D",
		"redis://:s3cret@127.0.0.1:1/0?prefix=a%7Db",
		"redis://:s3cret@127.0.0.1:1/0?prefix=",
		"redis://:s3cret@127.0.0.1:1/0?prefix=with%20space",
		"redis://:s3cret@127.0.0.1:1/0?prefix="
		"01234567890123456789012345678901234567890123456789012345678901234",
		"redis://:s3cret@127.0.0.1:1/0?timeout=-1",
		"redis://:s3cret@127.0.0.1:1/0?timeout=abc",
		"redis://:s3cret@127.0.0.1:1/0?timeout=99999999999",
		"redis://:s3cret@127.0.0.1:1/0?connect_timeout=1e3",
		"redis://:s3cret@127.0.0.1:1/0?db=1",
		"redis://:s3cret@127.0.0.1:1/0?bogus=1",
		"redis://s3cret@127.0.0.1:1/0",
		"redis:///0",
		"redis:127.0.0.1",
		"redis+unix://:s3cret@host/tmp/x.sock",
		"redis+unix://:s3cret@:6379/tmp/x.sock",
		"redis+unix://",
		"redis+unix:///tmp/x.sock?db=x",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		open_fails(bad[i], SB_EURI, 1);
	const char *m = open_fails("redis://:s3cret@127.0.0.1:1/0?prefix=%7Bx%7D",
	                           SB_EURI, 1);
	CHECKF(NULL, t_contains(m, "prefix"), "'%s'", m);
	m = open_fails("redis://:s3cret@127.0.0.1:1/0?timeout=abc", SB_EURI, 1);
	CHECKF(NULL, t_contains(m, "timeout"), "'%s'", m);
}

#define BIG_N 4000
static char **big_items(void)
{
	char **v = t_xcalloc(BIG_N, sizeof *v);
	for (size_t i = 0; i < BIG_N; i++) {
		v[i] = t_xmalloc(2001);
		memset(v[i], 'b', 2000);
		snprintf(v[i], 2001, "%05zu", i);
		v[i][5] = 'b';
		v[i][2000] = '\0';
	}
	return v;
}

/* Kill every client on database 9 but @p c's own. */
static void kill_others(redisContext *c)
{
	/* Kill every client on database 9 but ours. */
	redisReply *me = rt_cmd(c, "CLIENT", "ID", NULL);
	redisReply *list = rt_cmd(c, "CLIENT", "LIST", NULL);
	int killed = 0;
	if (me && list && list->str) {
		char *save = NULL, *buf = t_xstrdup(list->str);
		for (char *ln = strtok_r(buf, "\n", &save); ln;
		     ln = strtok_r(NULL, "\n", &save)) {
			long long id = -1;
			if (sscanf(ln, "id=%lld", &id) != 1 ||
			    id == me->integer || !strstr(ln, " db=9 "))
				continue;
			char ids[32];
			snprintf(ids, sizeof ids, "%lld", id);
			redisReply *k = rt_cmd(c, "CLIENT", "KILL", "ID", ids,
			                       NULL);
			killed += k && k->type == REDIS_REPLY_INTEGER &&
			          k->integer == 1;
			if (k)
				freeReplyObject(k);
		}
		free(buf);
	}
	if (me)
		freeReplyObject(me);
	if (list)
		freeReplyObject(list);
	CHECKF(NULL, killed >= 1, "killed %d clients", killed);
}

/* The server cuts our connection: that call fails clearly, the next one
 * reconnects. The test process keeps SIGPIPE's default action: a write
 * to the dead socket must not kill it. */
static void case_connection_loss(void)
{
	printf("connection loss\n");
	char *prefix = rt_prefix("loss");
	char *opt = t_xasprintf("prefix=%s", prefix);
	char *uri = t_uri_opt(db9, opt);
	sb_box *box = open_ok(uri, SB_PROTOCOL_AUTO);
	redisContext *c = rt_connect(db9);
	if (box && CHECK(NULL, c != NULL)) {
		const char *items[] = { "i1", "i2", "i3", "i4" };
		sb_add_result res;
		CHECK_RC(box, sb_box_add(&res, box, "bank", items, 4), SB_OK);
		for (int round = 0; round < 2; round++) {
			kill_others(c);
			sb_item *it = NULL;
			/* Round 1 sends a bulk add of 8 MB: hiredis is still
			 * writing when the server's reset arrives, so a write
			 * fails with EPIPE and raises SIGPIPE, which the library
			 * must swallow (this process would die of it otherwise);
			 * the add fails whole. */
			char id[16];
			snprintf(id, sizeof id, "id-%d", round);
			int rc;
			if (round == 1) {
				char **big = big_items();
				sb_add_result res;
				rc = sb_box_add(&res, box, "big",
				                (const char *const *)big,
				                BIG_N);
				CHECKF(box, rc == SB_ECONNECT,
				       "add on a killed "
				       "connection: %d",
				       rc);
				printf("  lost during a bulk add: %s\n",
				       sb_box_errmsg(box));
				sb_stats st;
				CHECK_RC(box,
				         sb_box_stats(&st, box, "big", NULL),
				         SB_ENOTFOUND);
				CHECK_RC(box,
				         sb_box_add(&res, box, "big",
				                    (const char *const *)big,
				                    BIG_N),
				         SB_OK);
				CHECK(box, res.added == BIG_N);
				for (size_t i = 0; i < BIG_N; i++)
					free(big[i]);
				free(big);
				kill_others(c);
			}
			rc = sb_box_fetch(&it, box, "bank", "ledger", id);
			sigset_t cur, pend;
			pthread_sigmask(SIG_BLOCK, NULL, &cur);
			sigpending(&pend);
			CHECKF(NULL,
			       !sigismember(&cur, SIGPIPE) &&
			               !sigismember(&pend, SIGPIPE),
			       "SIGPIPE left blocked or pending");
			CHECKF(box, rc == SB_ECONNECT,
			       "fetch on a killed "
			       "connection: %d",
			       rc);
			CHECKF(box,
			       t_contains(sb_box_errmsg(box), hostport) &&
			               !t_contains(sb_box_errmsg(box), password),
			       "message: %s", sb_box_errmsg(box));
			printf("  lost: %s\n", sb_box_errmsg(box));
			sb_item_free(it);
			it = NULL;
			/* The next call reconnects; the first one may or may not
			 * have run on the server: either way one answer. */
			CHECK_RC(box,
			         sb_box_fetch(&it, box, "bank", "ledger", id),
			         SB_OK);
			sb_item_free(it);
		}
		sb_stats st;
		CHECK_RC(box, sb_box_stats(&st, box, "bank", "ledger"), SB_OK);
		CHECK(box,
		      st.assigned == 2 && st.available == 2 && st.held == 2);
	}
	if (c)
		redisFree(c);
	sb_box_close(box);
	free(uri);
	free(opt);
	free(prefix);
}

typedef struct {
	t_map *m;
} exp_acc;

static int export_cb(const char *id, const char *bank, const char *item,
                     void *payload)
{
	exp_acc *a = payload;
	/* Bank and item may hold anything but NUL/LF: join with LF. */
	char *v = t_xasprintf("%s\n%s", bank, item);
	CHECKF(NULL, t_map_put(a->m, id, v), "id exported twice");
	free(v);
	return 0;
}

static char *long_string(size_t len, const char *unit)
{
	size_t ul = strlen(unit);
	char *s = t_xmalloc(len + 1);
	for (size_t i = 0; i < len; i++)
		s[i] = unit[i % ul];
	/* Do not cut a UTF-8 sequence: end on ASCII. */
	s[len - 1] = 'z';
	for (size_t i = len - 1; i > 0 && ((unsigned char)s[i - 1] & 0x80); i--)
		s[i - 1] = 'z';
	s[len] = '\0';
	return s;
}

/* Hostile names in both protocols; nothing outside the prefix changes;
 * every key of the prefix is in the prefix's slot. */
static void case_hostile(void)
{
	printf("hostile names\n");
	redisContext *c = rt_connect(db9);
	if (!CHECK(NULL, c != NULL))
		return;
	char *prefix = rt_prefix("hostile");
	char *opt = t_xasprintf("prefix=%s", prefix);
	char *uri = t_uri_opt(db9, opt);
	/* Decoys that look like our keys. */
	char *d1 = t_xasprintf("{%s}x:q:bank", prefix);
	char *d2 = t_xasprintf("%s:q:bank", prefix);
	const char *decoys[] = { "{sb}:banks", "bank", d1, d2, "{}:q:{" };
	for (size_t i = 0; i < 5; i++) {
		redisReply *r = rt_cmd(c, "SET", decoys[i], "decoy", NULL);
		if (r)
			freeReplyObject(r);
	}
	t_map before;
	t_map_init(&before);
	rt_keys(c, &before);

	char *long_bank = long_string(65536, "{b}\xc3\xa9:q:");
	char *long_id = long_string(65536, "}{\"'\xe2\x82\xac");
	char *long_item = long_string(65536, "{it}em:\"x\" ");
	const char *banks[] = { "{bank}",
		                "}{",
		                "bank:q:x",
		                "bank",
		                "a:s:a",
		                "\"quoted\" 'bank'",
		                "\xf0\x9f\x8e\x9f tickets",
		                long_bank };
	const char *ledgers[] = { "{ledger}", "l:l:l", long_bank };
	const char *items[] = {
		"{sb}",  "}",          "{",       "a\"b'c",     "\xe2\x98\x83",
		"x:s:y", "5:bankitem", long_item, "  spaced  ", "\\back\\slash"
	};
	size_t nb = sizeof banks / sizeof banks[0];
	size_t nl = sizeof ledgers / sizeof ledgers[0];
	size_t ni = sizeof items / sizeof items[0];
	sb_box *fused = open_ok(uri, SB_PROTOCOL_AUTO);
	sb_box *generic = open_ok(uri, SB_PROTOCOL_GENERIC);
	if (!fused || !generic)
		goto out;
	for (size_t b = 0; b < nb; b++) {
		sb_add_result res = { 0, 0 };
		CHECK_RC(fused, sb_box_add(&res, fused, banks[b], items, ni),
		         SB_OK);
		CHECKF(fused, res.added == ni && res.skipped == 0,
		       "bank %zu: added %llu skipped %llu", b,
		       (unsigned long long)res.added,
		       (unsigned long long)res.skipped);
	}
	t_map want;
	t_map_init(&want);
	const char *ids[] = { "{id}",
		              "}{",
		              "\"; DROP TABLE x; --",
		              "\xc3\xa9t\xc3\xa9",
		              long_id,
		              "id:l:x",
		              "*",
		              "?" };
	size_t nids = sizeof ids / sizeof ids[0];
	size_t k = 0;
	for (size_t l = 0; l < nl; l++) {
		for (size_t i = 0; i < nids; i++, k++) {
			sb_box *box = (k % 2) ? generic : fused;
			const char *bank = banks[k % nb];
			sb_item *it = NULL;
			if (!CHECK_RC(box,
			              sb_box_fetch(&it, box, bank, ledgers[l],
			                           ids[i]),
			              SB_OK))
				continue;
			CHECKF(box, strcmp(sb_item_bank(it), bank) == 0,
			       "bank did not round-trip");
			int known = 0;
			for (size_t j = 0; j < ni; j++)
				known |= strcmp(sb_item_value(it), items[j]) ==
				         0;
			CHECKF(box, known,
			       "item did not round-trip (%zu bytes)",
			       strlen(sb_item_value(it)));
			char *key = t_xasprintf("%zu\n%s", l, ids[i]);
			char *v = t_xasprintf("%s\n%s", bank,
			                      sb_item_value(it));
			t_map_put(&want, key, v);
			sb_item_free(it);
			/* Repeat through the other protocol and lookup. */
			sb_box *other = box == fused ? generic : fused;
			it = NULL;
			CHECK_RC(other,
			         sb_box_fetch(&it, other, banks[(k + 1) % nb],
			                      ledgers[l], ids[i]),
			         SB_OK);
			if (it) {
				char *v2 = t_xasprintf("%s\n%s",
				                       sb_item_bank(it),
				                       sb_item_value(it));
				CHECKF(other,
				       strcmp(v, v2) == 0 && !sb_item_is_new(it),
				       "repeat gave another item");
				free(v2);
			}
			sb_item_free(it);
			it = NULL;
			CHECK_RC(fused,
			         sb_box_lookup(&it, fused, ledgers[l], ids[i]),
			         SB_OK);
			if (it) {
				CHECK(fused,
				      strcmp(sb_item_bank(it), bank) == 0 &&
				              strstr(v, sb_item_value(it)) !=
				                      NULL);
			}
			sb_item_free(it);
			free(v);
			free(key);
		}
		/* Export returns exactly what was handed out. */
		t_map got;
		t_map_init(&got);
		exp_acc acc = { &got };
		CHECK_RC(fused,
		         sb_box_export(fused, ledgers[l], export_cb, &acc),
		         SB_OK);
		CHECKF(fused, got.n == nids, "ledger %zu exported %zu", l,
		       got.n);
		for (size_t i = 0; i < nids; i++) {
			char *key = t_xasprintf("%zu\n%s", l, ids[i]);
			const char *w = t_map_get(&want, key),
				   *g = t_map_get(&got, ids[i]);
			CHECKF(fused, w && g && strcmp(w, g) == 0,
			       "export of id %zu in ledger %zu differs", i, l);
			free(key);
		}
		t_map_free(&got);
	}
	/* Counts per bank stay separate although names look like keys. */
	size_t total_assigned = 0;
	for (size_t b = 0; b < nb; b++) {
		sb_stats st;
		CHECK_RC(fused, sb_box_stats(&st, fused, banks[b], NULL),
		         SB_OK);
		CHECK(fused,
		      st.available + st.assigned == ni && st.reserved == 0);
		total_assigned += st.assigned;
		sb_add_result res = { 0, 0 };
		CHECK_RC(fused, sb_box_add(&res, fused, banks[b], items, ni),
		         SB_OK);
		CHECK(fused, res.added == 0 && res.skipped == ni);
	}
	CHECKF(fused, total_assigned == nl * nids, "assigned %zu, want %zu",
	       total_assigned, nl * nids);
	t_map_free(&want);

	/* Nothing outside the prefix changed; the prefix is one slot. */
	t_map after;
	t_map_init(&after);
	rt_keys(c, &after);
	char *tag = t_xasprintf("{%s}:", prefix);
	char *slot_tag = t_xasprintf("{%s}", prefix);
	unsigned slot = rt_keyslot(slot_tag, strlen(slot_tag));
	size_t ours = 0;
	for (size_t i = 0; i < after.cap; i++) {
		if (!after.keys[i])
			continue;
		if (strncmp(after.keys[i], tag, strlen(tag)) == 0) {
			ours++;
			CHECKF(NULL,
			       rt_keyslot(after.keys[i],
			                  strlen(after.keys[i])) == slot,
			       "key %.80s outside slot %u", after.keys[i],
			       slot);
			continue;
		}
		const char *b = t_map_get(&before, after.keys[i]);
		CHECKF(NULL, b && strcmp(b, after.vals[i]) == 0,
		       "key %.80s outside the prefix changed: %s -> %s",
		       after.keys[i], b ? b : "(none)", after.vals[i]);
	}
	CHECKF(NULL, after.n - ours == before.n,
	       "%zu keys outside the "
	       "prefix before, %zu after",
	       before.n, after.n - ours);
	printf("  %zu keys under %s, all in slot %u; %zu others unchanged\n",
	       ours, tag, slot, before.n);
	free(tag);
	free(slot_tag);
	t_map_free(&after);
out:
	sb_box_close(fused);
	sb_box_close(generic);
	t_map_free(&before);
	free(long_bank);
	free(long_id);
	free(long_item);
	free(d1);
	free(d2);
	free(uri);
	free(opt);
	free(prefix);
	redisFree(c);
}

/* A script that fails changes nothing: foreign data under the prefix (a
 * wrong type, a counter that is not a number) makes claims fail with the
 * Redis error before any write. */
static void case_script_atomic(void)
{
	printf("failing scripts change nothing\n");
	char *prefix = rt_prefix("atomic");
	char *opt = t_xasprintf("prefix=%s", prefix);
	char *uri = t_uri_opt(db9, opt);
	sb_box *fused = open_ok(uri, SB_PROTOCOL_AUTO);
	sb_box *generic = open_ok(uri, SB_PROTOCOL_GENERIC);
	redisContext *c = rt_connect(db9);
	char *held = t_xasprintf("{%s}:c:ledger", prefix);
	char *led1 = t_xasprintf("{%s}:l:ledger", prefix);
	char *led2 = t_xasprintf("{%s}:l:ledger2", prefix);
	if (!fused || !generic || !CHECK(NULL, c != NULL))
		goto out;
	const char *items[] = { "a1", "a2", "a3" };
	sb_add_result res;
	CHECK_RC(fused, sb_box_add(&res, fused, "bank", items, 3), SB_OK);
	/* The counter is kept for a ledger shared by several banks (its
	 * mark "*"; one that serves one bank counts by its size): mark the
	 * ledger shared so that every write of an entry goes through it. */
	redisReply *r = rt_cmd(c, "HSET", led1, "", "*", NULL);
	if (r)
		freeReplyObject(r);
	r = rt_cmd(c, "HSET", held, "bank", "not-a-number", NULL);
	if (r)
		freeReplyObject(r);
	r = rt_cmd(c, "SET", led2, "a string, not a hash", NULL);
	if (r)
		freeReplyObject(r);
	sb_item *it = NULL;
	sb_stats st;
	CHECK_RC(fused, sb_box_fetch(&it, fused, "bank", "ledger", "x"),
	         SB_EBACKEND);
	printf("  %s\n", sb_box_errmsg(fused));
	CHECK_RC(fused, sb_box_fetch(&it, fused, "bank", "ledger2", "x"),
	         SB_EBACKEND);
	CHECK(fused, t_contains(sb_box_errmsg(fused), "WRONGTYPE"));
	/* The fused claims moved nothing. */
	CHECK_RC(fused, sb_box_stats(&st, fused, "bank", NULL), SB_OK);
	CHECK(fused, st.available == 3 && st.reserved == 0 && st.assigned == 0);
	CHECK_RC(fused, sb_box_lookup(&it, fused, "ledger", "x"), SB_ENOTFOUND);
	/* The generic path took an item, then its ledger write failed
	 * whole: the item stays reserved for recovery, which works once the
	 * data is sound again and rolls it forward for "x". */
	CHECK_RC(generic, sb_box_fetch(&it, generic, "bank", "ledger", "x"),
	         SB_EBACKEND);
	CHECK_RC(fused, sb_box_stats(&st, fused, "bank", NULL), SB_OK);
	CHECK(fused, st.available == 2 && st.reserved == 1);
	sb_recover_result rr;
	CHECK_RC(fused, sb_box_recover(&rr, fused, "bank", "ledger", NULL),
	         SB_EBACKEND);
	r = rt_cmd(c, "DEL", held, NULL);
	if (r)
		freeReplyObject(r);
	CHECK_RC(fused, sb_box_recover(&rr, fused, "bank", "ledger", NULL),
	         SB_OK);
	CHECK(fused, rr.settled == 1);
	CHECK_RC(fused, sb_box_stats(&st, fused, "bank", "ledger"), SB_OK);
	CHECKF(fused,
	       st.available == 2 && st.reserved == 0 && st.assigned == 1 &&
	               st.held == 1,
	       "available %llu reserved "
	       "%llu assigned %llu held %llu",
	       (unsigned long long)st.available,
	       (unsigned long long)st.reserved, (unsigned long long)st.assigned,
	       (unsigned long long)st.held);
	/* And the claims work again: x keeps its item, y gets the next. */
	CHECK_RC(fused, sb_box_fetch(&it, fused, "bank", "ledger", "x"), SB_OK);
	CHECK(fused, it && strcmp(sb_item_value(it), "a1") == 0 &&
	                     !sb_item_is_new(it));
	sb_item_free(it);
	it = NULL;
	CHECK_RC(fused, sb_box_fetch(&it, fused, "bank", "ledger", "y"), SB_OK);
	CHECK(fused, it && strcmp(sb_item_value(it), "a2") == 0);
	sb_item_free(it);
out:
	if (c)
		redisFree(c);
	sb_box_close(fused);
	sb_box_close(generic);
	free(held);
	free(led1);
	free(led2);
	free(uri);
	free(opt);
	free(prefix);
}

/* Replies of the checks below (each frees its reply). */
static int is_str(redisReply *r, const char *want)
{
	int ok = r && r->type == REDIS_REPLY_STRING &&
	         strcmp(r->str, want) == 0;

	if (r)
		freeReplyObject(r);
	return ok;
}

static int is_nil(redisReply *r)
{
	int ok = r && r->type == REDIS_REPLY_NIL;

	if (r)
		freeReplyObject(r);
	return ok;
}

static long long int_of(redisReply *r)
{
	long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

	if (r)
		freeReplyObject(r);
	return n;
}

static void run(redisContext *c, const char *a, const char *b, const char *d)
{
	redisReply *r = rt_cmd(c, a, b, d, NULL);

	if (r)
		freeReplyObject(r);
}

/* The held counter of bank "bank" did not move (absent or "0"). */
static int counter_zero(redisContext *c, const char *held)
{
	redisReply *r = rt_cmd(c, "HGET", held, "bank", NULL);
	int ok = r &&
	         (r->type == REDIS_REPLY_NIL ||
	          (r->type == REDIS_REPLY_STRING && strcmp(r->str, "0") == 0));

	if (r)
		freeReplyObject(r);
	return ok;
}

/* The queue holds exactly @p a then @p b. */
static int queue_is(redisContext *c, const char *queue, const char *a,
                    const char *b)
{
	redisReply *r = rt_cmd(c, "LRANGE", queue, "0", "-1", NULL);
	int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	         strcmp(r->element[0]->str, a) == 0 &&
	         strcmp(r->element[1]->str, b) == 0;

	if (r)
		freeReplyObject(r);
	return ok;
}

/* A box on its own prefix, a connection, and the keys of bank "bank"
 * and ledger "ledger" (redis_keys.c) that the undo cases look at. */
typedef struct {
	char *prefix, *opt, *uri;
	char *state, *queue, *due, *held, *holds, *entries, *kept;
	sb_box *box;
	redisContext *c;
} undo_store;

/* @return 1 when the box and the connection are open */
static int undo_open(undo_store *u, const char *name)
{
	u->prefix = rt_prefix(name);
	u->opt = t_xasprintf("prefix=%s", u->prefix);
	u->uri = t_uri_opt(db9, u->opt);
	u->box = open_ok(u->uri, SB_PROTOCOL_AUTO);
	u->c = rt_connect(db9);
	u->state = t_xasprintf("{%s}:s:bank", u->prefix);
	u->queue = t_xasprintf("{%s}:q:bank", u->prefix);
	u->due = t_xasprintf("{%s}:d:bank", u->prefix);
	u->held = t_xasprintf("{%s}:c:ledger", u->prefix);
	u->holds = t_xasprintf("{%s}:e:ledger", u->prefix);
	u->entries = t_xasprintf("{%s}:l:ledger", u->prefix);
	u->kept = t_xasprintf("{%s}:kept", u->prefix);
	return u->box && CHECK(NULL, u->c != NULL);
}

static void undo_close(undo_store *u)
{
	char *s[] = { u->state,   u->queue, u->due, u->held, u->holds,
		      u->entries, u->kept,  u->uri, u->opt,  u->prefix };

	if (u->c)
		redisFree(u->c);
	sb_box_close(u->box);
	for (size_t i = 0; i < sizeof s / sizeof *s; i++)
		free(s[i]);
}

/* The claim's common path writes the queue, the held counter, the state
 * hash and the ledger, checking the types of the last three only as it
 * writes them: a failure there undoes what it wrote. A state hash of the
 * wrong type, and a queued item the state hash does not know (both
 * foreign data), fail the claim and change nothing. */
static void case_claim_undo(void)
{
	printf("a failing claim undoes its writes\n");
	undo_store u;
	const char *items[] = { "u1", "u2" };
	sb_add_result res;
	sb_item *it = NULL;
	redisContext *c;
	sb_box *box;

	if (!undo_open(&u, "undo"))
		goto out;
	c = u.c;
	box = u.box;
	CHECK_RC(box, sb_box_add(&res, box, "bank", items, 2), SB_OK);
	/* An item pushed behind storagebox's back: unknown to the state. */
	run(c, "LPUSH", u.queue, "stranger");
	CHECK_RC(box, sb_box_fetch(&it, box, "bank", "ledger", "x"),
	         SB_EBACKEND);
	CHECK(box, t_contains(sb_box_errmsg(box), "not in the state hash"));
	CHECK(NULL,
	      is_str(rt_cmd(c, "LINDEX", u.queue, "0", NULL), "stranger"));
	CHECK(NULL,
	      int_of(rt_cmd(c, "HEXISTS", u.state, "stranger", NULL)) == 0);
	CHECK(NULL, counter_zero(c, u.held));
	run(c, "LPOP", u.queue, NULL);
	/* The state hash replaced by a string. */
	run(c, "RENAME", u.state, u.kept);
	run(c, "SET", u.state, "a string, not a hash");
	CHECK_RC(box, sb_box_fetch(&it, box, "bank", "ledger", "x"),
	         SB_EBACKEND);
	CHECK(box, t_contains(sb_box_errmsg(box), "WRONGTYPE"));
	CHECK(NULL, queue_is(c, u.queue, "u1", "u2"));
	CHECK(NULL, counter_zero(c, u.held));
	/* Sound again: x gets the first item. */
	run(c, "RENAME", u.kept, u.state);
	CHECK_RC(box, sb_box_lookup(&it, box, "ledger", "x"), SB_ENOTFOUND);
	CHECK_RC(box, sb_box_fetch(&it, box, "bank", "ledger", "x"), SB_OK);
	CHECK(box, it && strcmp(sb_item_value(it), "u1") == 0);
	sb_item_free(it);
	it = NULL;
	/* The ledger is marked now (it serves "bank"): the common path's
	 * own check, and its undo, meet the stranger. */
	run(c, "LPUSH", u.queue, "stranger");
	CHECK_RC(box, sb_box_fetch(&it, box, "bank", "ledger", "y"),
	         SB_EBACKEND);
	CHECK(box, t_contains(sb_box_errmsg(box), "not in the state hash"));
	CHECK(NULL, queue_is(c, u.queue, "stranger", "u2"));
	CHECK(NULL, is_nil(rt_cmd(c, "HGET", u.entries, "y", NULL)));
	run(c, "LPOP", u.queue, NULL);
	CHECK_RC(box, sb_box_fetch(&it, box, "bank", "ledger", "y"), SB_OK);
	CHECK(box, it && strcmp(sb_item_value(it), "u2") == 0);
	sb_item_free(it);
out:
	undo_close(&u);
}

/* The hold's common path writes the queue, the bank's deadline set, the
 * held counter (a shared ledger's), the state and the entry, checking the
 * types of all but the queue and the entry only as it writes them (the
 * first hold of a ledger not marked yet takes the general path, which
 * reads every key first); the common confirm checks the bank's set as it
 * writes it, its first write. Each failure (foreign data) undoes what was
 * written: the hold or the confirm changes nothing. */
static void case_hold_undo(void)
{
	printf("a failing hold or confirm undoes its writes\n");
	undo_store u;
	const char *items[] = { "h1", "h2" };
	sb_add_result res;
	sb_item *it = NULL;
	redisContext *c;
	sb_box *box;

	if (!undo_open(&u, "holdundo"))
		goto out;
	c = u.c;
	box = u.box;
	/* Each foreign key in turn, then an item the state does not know. */
	const char *bad[] = { u.due, u.holds, u.held };
	CHECK_RC(box, sb_box_add(&res, box, "bank", items, 2), SB_OK);
	for (int i = 0; i <= 3; i++) {
		if (i < 3)
			run(c, "SET", bad[i], "foreign");
		else
			run(c, "LPUSH", u.queue, "stranger");
		CHECK_RC(box,
		         sb_box_hold(&it, box, "bank", "ledger", "x", 60000),
		         SB_EBACKEND);
		CHECKF(box,
		       t_contains(sb_box_errmsg(box),
		                  i < 3 ? "WRONGTYPE" : "not in the state hash"),
		       "case %d: %s", i, sb_box_errmsg(box));
		if (i < 3)
			run(c, "DEL", bad[i], NULL);
		else
			CHECK(NULL, is_str(rt_cmd(c, "LPOP", u.queue, NULL),
			                   "stranger"));
		CHECKF(NULL, queue_is(c, u.queue, "h1", "h2"),
		       "case %d: the queue changed", i);
		CHECKF(NULL,
		       is_str(rt_cmd(c, "HGET", u.state, "h1", NULL), "a"),
		       "case %d: h1 is no longer available", i);
		CHECKF(NULL,
		       int_of(rt_cmd(c, "HEXISTS", u.state, "stranger",
		                     NULL)) == 0,
		       "case %d: the stranger has a state", i);
		CHECKF(NULL,
		       int_of(rt_cmd(c, "EXISTS", u.due, NULL)) == 0 &&
		               int_of(rt_cmd(c, "EXISTS", u.holds, NULL)) == 0,
		       "case %d: a deadline was left", i);
		CHECKF(NULL, counter_zero(c, u.held),
		       "case %d: the counter moved", i);
		CHECKF(NULL, is_nil(rt_cmd(c, "HGET", u.entries, "x", NULL)),
		       "case %d: an entry was left", i);
	}
	/* Sound again: x holds the first item. */
	CHECK_RC(box, sb_box_hold(&it, box, "bank", "ledger", "x", 60000),
	         SB_OK);
	CHECK(box, it && strcmp(sb_item_value(it), "h1") == 0);
	sb_item_free(it);
	it = NULL;
	/* A confirm that finds the bank's set of the wrong type. */
	run(c, "RENAME", u.due, u.kept);
	run(c, "SET", u.due, "foreign");
	CHECK_RC(box, sb_box_confirm(box, "ledger", "x"), SB_EBACKEND);
	CHECK(box, t_contains(sb_box_errmsg(box), "WRONGTYPE"));
	run(c, "DEL", u.due, NULL);
	run(c, "RENAME", u.kept, u.due);
	redisReply *r = rt_cmd(c, "HGET", u.entries, "x", NULL);
	CHECK(NULL, r && r->type == REDIS_REPLY_STRING && r->str[0] == 'h');
	if (r)
		freeReplyObject(r);
	/* (A fused hold's deadline is in the bank's set only.) */
	CHECK(NULL, int_of(rt_cmd(c, "ZCARD", u.holds, NULL)) == 0 &&
	                    int_of(rt_cmd(c, "ZCARD", u.due, NULL)) == 1);
	CHECK(NULL,
	      is_str(rt_cmd(c, "HGET", u.state, "h1", NULL), "hledger\nx"));
	/* And the confirm works: the hold is x's for good. */
	CHECK_RC(box, sb_box_confirm(box, "ledger", "x"), SB_OK);
	CHECK(NULL, int_of(rt_cmd(c, "ZCARD", u.holds, NULL)) == 0 &&
	                    int_of(rt_cmd(c, "ZCARD", u.due, NULL)) == 0);
	/* Held out of the bank's set: assigned, its entry for good. */
	CHECK(NULL,
	      is_str(rt_cmd(c, "HGET", u.state, "h1", NULL), "hledger\nx"));
	sb_stats st;
	CHECK_RC(box, sb_box_stats(&st, box, "bank", "ledger"), SB_OK);
	CHECK(box, st.available == 1 && st.assigned == 1 && st.on_hold == 0 &&
	                   st.held == 1);
	CHECK(NULL,
	      is_str(rt_cmd(c, "HGET", u.entries, "x", NULL), "4:bankh1"));
	CHECK_RC(box, sb_box_confirm(box, "ledger", "x"), SB_OK);
	/* The ledger is marked now: the common path meets a foreign bank
	 * set, then a stranger, and undoes its writes. */
	for (int i = 0; i < 2; i++) {
		if (i == 0)
			run(c, "SET", u.due, "foreign");
		else
			run(c, "LPUSH", u.queue, "stranger");
		CHECK_RC(box,
		         sb_box_hold(&it, box, "bank", "ledger", "y", 60000),
		         SB_EBACKEND);
		CHECKF(box,
		       t_contains(sb_box_errmsg(box),
		                  i == 0 ? "WRONGTYPE"
		                         : "not in the state hash"),
		       "marked, case %d: %s", i, sb_box_errmsg(box));
		if (i == 0)
			run(c, "DEL", u.due, NULL);
		else
			CHECK(NULL, is_str(rt_cmd(c, "LPOP", u.queue, NULL),
			                   "stranger"));
		CHECKF(NULL,
		       is_str(rt_cmd(c, "LINDEX", u.queue, "0", NULL), "h2") &&
		               int_of(rt_cmd(c, "LLEN", u.queue, NULL)) == 1,
		       "marked, case %d: the queue changed", i);
		CHECKF(NULL,
		       is_str(rt_cmd(c, "HGET", u.state, "h2", NULL), "a") &&
		               int_of(rt_cmd(c, "HEXISTS", u.state, "stranger",
		                             NULL)) == 0 &&
		               int_of(rt_cmd(c, "EXISTS", u.due, NULL)) == 0 &&
		               is_nil(rt_cmd(c, "HGET", u.entries, "y", NULL)),
		       "marked, case %d: something was left", i);
	}
	CHECK_RC(box, sb_box_hold(&it, box, "bank", "ledger", "y", 60000),
	         SB_OK);
	CHECK(box, it && strcmp(sb_item_value(it), "h2") == 0);
	sb_item_free(it);
out:
	undo_close(&u);
}

/* The held counter of bank "bank" is @p want. */
static int counter_is(redisContext *c, const char *held, const char *want)
{
	return is_str(rt_cmd(c, "HGET", held, "bank", NULL), want);
}

/* The release's common path (a live hold, a ledger marked for its bank
 * or shared) reads the types of the ledger's set and of the queue before
 * it writes, and checks the held counter (shared ledger) and the bank's
 * set as it writes them, the counter first: a foreign key fails the
 * release and changes nothing (the counter's step undone when the set
 * fails). Then the release works: the item back at the end of the
 * queue, the entry gone. */
static void case_release_undo(void)
{
	printf("a failing release undoes its writes\n");
	undo_store u;
	const char *items[] = { "r1", "r2" }, *other[] = { "o1" };
	sb_add_result res;
	sb_item *it = NULL;
	redisContext *c;
	sb_box *box;

	if (!undo_open(&u, "relundo"))
		goto out;
	c = u.c;
	box = u.box;
	CHECK_RC(box, sb_box_add(&res, box, "bank", items, 2), SB_OK);
	CHECK_RC(box, sb_box_add(&res, box, "bank2", other, 1), SB_OK);
	for (int shared = 0; shared < 2; shared++) {
		/* The first hold marks the ledger for "bank"; a hold from
		 * "bank2" then makes it shared. */
		CHECK_RC(box,
		         sb_box_hold(&it, box, "bank", "ledger", "x", 60000),
		         SB_OK);
		CHECK(box, it && strcmp(sb_item_value(it), "r1") == 0);
		sb_item_free(it);
		it = NULL;
		if (shared) {
			CHECK_RC(box,
			         sb_box_hold(&it, box, "bank2", "ledger", "w",
			                     60000),
			         SB_OK);
			sb_item_free(it);
			it = NULL;
			CHECK(NULL,
			      is_str(rt_cmd(c, "HGET", u.entries, "", NULL),
			             "*"));
			CHECK(NULL, counter_is(c, u.held, "1"));
		}
		const char *bad[] = { u.holds, u.queue, u.due, u.held };
		for (int i = 0; i < 3 + shared; i++) {
			run(c, "RENAME", bad[i], u.kept);
			run(c, "SET", bad[i], "foreign");
			CHECK_RC(box,
			         sb_box_release(box, "ledger", "x",
			                        SB_RELEASE_RESTOCK),
			         SB_EBACKEND);
			CHECKF(box, t_contains(sb_box_errmsg(box), "WRONGTYPE"),
			       "shared %d, case %d: %s", shared, i,
			       sb_box_errmsg(box));
			run(c, "DEL", bad[i], NULL);
			run(c, "RENAME", u.kept, bad[i]);
			CHECKF(NULL,
			       is_str(rt_cmd(c, "HGET", u.state, "r1", NULL),
			              "hledger\nx") &&
			               int_of(rt_cmd(c, "ZCARD", u.due,
			                             NULL)) == 1 &&
			               is_str(rt_cmd(c, "LINDEX", u.queue, "0",
			                             NULL),
			                      "r2") &&
			               int_of(rt_cmd(c, "LLEN", u.queue,
			                             NULL)) == 1,
			       "shared %d, case %d: the bank changed", shared,
			       i);
			redisReply *r = rt_cmd(c, "HGET", u.entries, "x", NULL);
			CHECKF(NULL,
			       r && r->type == REDIS_REPLY_STRING &&
			               r->str[0] == 'h',
			       "shared %d, case %d: the entry changed", shared,
			       i);
			if (r)
				freeReplyObject(r);
			if (shared)
				CHECKF(NULL, counter_is(c, u.held, "1"),
				       "case %d: the counter moved", i);
		}
		CHECK_RC(box,
		         sb_box_release(box, "ledger", "x", SB_RELEASE_RESTOCK),
		         SB_OK);
		CHECK(NULL, is_nil(rt_cmd(c, "HGET", u.entries, "x", NULL)));
		CHECK(NULL,
		      is_str(rt_cmd(c, "HGET", u.state, "r1", NULL), "a"));
		CHECK(NULL, queue_is(c, u.queue, "r2", "r1"));
		CHECK(NULL, int_of(rt_cmd(c, "ZCARD", u.due, NULL)) == 0);
		if (shared)
			CHECK(NULL, counter_is(c, u.held, "0"));
		CHECK_RC(box,
		         sb_box_release(box, "ledger", "x", SB_RELEASE_RESTOCK),
		         SB_ENOTFOUND);
		/* r2 first again, r1 behind it, for the next round. */
		run(c, "DEL", u.queue, NULL);
		run(c, "RPUSH", u.queue, "r1");
		run(c, "RPUSH", u.queue, "r2");
	}
	sb_stats st;
	CHECK_RC(box, sb_box_stats(&st, box, "bank", "ledger"), SB_OK);
	CHECK(box, st.available == 2 && st.on_hold == 0 && st.held == 0);
out:
	undo_close(&u);
}

/* Bulk add: several chunks in one transaction, repeats across chunk
 * boundaries, and the cap. */
static void case_bulk(void)
{
	printf("bulk add\n");
	char *prefix = rt_prefix("bulk");
	/* A long timeout: the transaction at the cap may take seconds on a
	 * machine as busy as a CI runner running other suites. */
	char *opt = t_xasprintf("prefix=%s&timeout=60000", prefix);
	char *uri = t_uri_opt(db9, opt);
	sb_box *box = open_ok(uri, SB_PROTOCOL_AUTO);
	if (!box)
		goto out;
	size_t n = 2500;
	char **items = t_xcalloc(n, sizeof *items);
	for (size_t i = 0; i < n; i++)
		items[i] = i % 500 == 7 ? t_xstrdup("repeated")
		                        : t_xasprintf("bulk-%05zu", i);
	sb_add_result res = { 0, 0 };
	CHECK_RC(box,
	         sb_box_add(&res, box, "bulk", (const char *const *)items, n),
	         SB_OK);
	CHECKF(box, res.added == n - 4 && res.skipped == 4,
	       "added %llu skipped %llu", (unsigned long long)res.added,
	       (unsigned long long)res.skipped);
	sb_item *it = NULL;
	CHECK_RC(box, sb_box_fetch(&it, box, "bulk", "l", "first"), SB_OK);
	CHECK(box,
	      it && strcmp(sb_item_value(it), "bulk-00000") == 0); /* FIFO */
	sb_item_free(it);
	CHECK_RC(box,
	         sb_box_add(&res, box, "bulk", (const char *const *)items, n),
	         SB_OK);
	CHECKF(box, res.added == 0 && res.skipped == n,
	       "re-add: added %llu "
	       "skipped %llu",
	       (unsigned long long)res.added, (unsigned long long)res.skipped);
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);

	/* Over the cap (50,000 per transaction): the core splits the batch
	 * into calls the store takes, and repeats across them are skipped. */
	size_t big = 50001;
	items = t_xcalloc(big, sizeof *items);
	for (size_t i = 0; i < big; i++)
		items[i] = t_xasprintf("big-%zu", i);
	CHECK_RC(box,
	         sb_box_add(&res, box, "big", (const char *const *)items, big),
	         SB_OK);
	CHECKF(box, res.added == big && res.skipped == 0, "added %llu",
	       (unsigned long long)res.added);
	sb_stats st;
	CHECK_RC(box, sb_box_stats(&st, box, "big", NULL), SB_OK);
	CHECK(box, st.available == big);
	CHECK_RC(box,
	         sb_box_add(&res, box, "big", (const char *const *)items, big),
	         SB_OK);
	CHECK(box, res.added == 0 && res.skipped == big);
	for (size_t i = 0; i < big; i++)
		free(items[i]);
	free(items);
out:
	sb_box_close(box);
	free(uri);
	free(opt);
	free(prefix);
}

int main(void)
{
	server = t_env_need("SB_TEST_REDIS_URI");
	parse_server();
	case_credentials();
	case_uris();
	case_connection_loss();
	case_hostile();
	case_script_atomic();
	case_claim_undo();
	case_hold_undo();
	case_release_undo();
	case_bulk();
	free(db9);
	free(password);
	return t_summary();
}
