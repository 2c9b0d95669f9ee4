/* PostgreSQL bad input and connection errors, on the real server:
 * wrong or missing password (SB_EAUTH), unreachable server (fails within
 * connect_timeout), missing database, URI options, statement timeout, a
 * connection killed under the box (reported, then reopened), hostile
 * names, ids and items (round-trip exactly, tables intact), the schema
 * option and racing first opens of a new schema. No message may contain
 * the password. */
#include "pg_tests.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *uri;
static char *password;
static char *tag;

/* The test URI with its password replaced (NULL: none), its path
 * replaced (NULL: kept) and @p query appended (NULL: none). */
static char *uri_with(const char *new_pw, const char *path, const char *query)
{
	t_uri_parts with = { .password = new_pw ? new_pw : T_URI_NONE,
		             .path = path };
	char *u = t_uri_edit(uri, &with), *q;

	if (!query)
		return u;
	q = t_uri_opt(u, query);
	free(u);
	return q;
}

static char *with_query(const char *query)
{
	return uri_with(password, NULL, query);
}

/* Open must fail with @p want, quickly enough, with a clean message. */
static void open_fails_(const char *u, int want, const char *must_name,
                        double max_secs, const char *file, int line)
{
	char err[SB_ERRMSG_SIZE] = "";
	sb_box *box = (sb_box *)&box;
	double t0 = t_now_s();
	int rc = sb_box_open(&box, u, NULL, err, sizeof err);
	double secs = t_now_s() - t0;
	char *ru = t_redact_uri(u);
	t_check_rc(NULL, file, line, ru, rc, want);
	t_check(box == NULL, NULL, file, line, ru, "out not NULL");
	if (rc == SB_OK)
		sb_box_close(box);
	t_check(err[0] != '\0', NULL, file, line, ru, "no message");
	t_check(!t_contains(err, "s3cretWRONGpw") &&
	                !(password && t_contains(err, password)),
	        NULL, file, line, ru, "message shows a password: %s", err);
	if (must_name)
		t_check(t_contains(err, must_name), NULL, file, line, ru,
		        "message does not name '%s': %s", must_name, err);
	t_check(secs <= max_secs, NULL, file, line, ru,
	        "took %.1f s (limit %.1f s)", secs, max_secs);
	printf("  %-60.60s -> %s: %s\n", ru, sb_strerror(rc), err);
	free(ru);
}
#define open_fails(u, want, name, secs) \
	open_fails_((u), (want), (name), (secs), __FILE__, __LINE__)

static sb_box *open_ok(const char *u, sb_protocol protocol)
{
	sb_open_opts o = SB_OPEN_OPTS_INIT;
	char err[SB_ERRMSG_SIZE] = "";
	sb_box *box = NULL;
	o.protocol = protocol;
	int rc = sb_box_open(&box, u, &o, err, sizeof err);
	char *ru = t_redact_uri(u);
	CHECKF(NULL, rc == SB_OK, "open %s: %d %s", ru, rc, err);
	free(ru);
	return rc == SB_OK ? box : NULL;
}

/* A loopback port nobody listens on (bound, then closed). */
static int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		perror("socket");
		exit(1);
	}
	close(fd);
	return ntohs(sa.sin_port);
}

/* A listening socket that never accepts; returns the fd, sets *port. */
static int silent_listener(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		perror("listen");
		exit(1);
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static void case_connect_errors(void)
{
	printf("connect errors:\n");
	char *u = uri_with("s3cretWRONGpw", NULL, NULL);
	open_fails(u, SB_EAUTH, "127.0.0.1", 15);
	free(u);
	u = uri_with(NULL, NULL, NULL);
	open_fails(u, SB_EAUTH, NULL, 15);
	free(u);
	u = t_uri_edit(uri, &(t_uri_parts){ .user = "nosuchrole_x",
	                                    .password = "s3cretWRONGpw" });
	open_fails(u, SB_EAUTH, NULL, 15);
	free(u);

	char *db = t_xasprintf("/nosuchdb_%s", tag);
	u = uri_with(password, db, NULL);
	open_fails(u, SB_ECONNECT, db + 1, 15);
	free(u);
	free(db);

	u = t_xasprintf("postgresql://sbtest:s3cretWRONGpw@127.0.0.1:%d/sbtest"
	                "?connect_timeout=2",
	                closed_port());
	open_fails(u, SB_ECONNECT, "127.0.0.1", 5);
	free(u);
	/* A server that accepts the TCP connection (the kernel does, from
	 * the listen backlog) and never answers: only connect_timeout ends
	 * the wait. */
	int port = 0, fd = silent_listener(&port);
	u = t_xasprintf("postgres://sbtest:s3cretWRONGpw@127.0.0.1:%d/sbtest"
	                "?connect_timeout=2&sslmode=disable",
	                port);
	double t0 = t_now_s();
	open_fails(u, SB_ECONNECT, "127.0.0.1", 6);
	CHECKF(NULL, t_now_s() - t0 >= 1.5,
	       "gave up after %.1f s, before "
	       "the connect timeout",
	       t_now_s() - t0);
	close(fd);
	free(u);
}

static void case_options(void)
{
	printf("options:\n");
	static const struct {
		const char *q;
		const char *name;
	} bad[] = {
		{ "schema=Bad-Name", "schema" },
		{ "schema=pg_catalog", "schema" },
		{ "schema=", "schema" },
		{ "schema=a%22b", "schema" },
		{ "statement_timeout=-1", "statement_timeout" },
		{ "statement_timeout=1s", "statement_timeout" },
		{ "nosuch_option=1", "nosuch_option" },
		{ "lease=x", "lease" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *u = with_query(bad[i].q);
		open_fails(u, SB_EURI, bad[i].name, 15);
		free(u);
	}
	char *u = t_xasprintf("postgresql:sbtest");
	open_fails(u, SB_EURI, "postgresql://", 1);
	free(u);
	u = uri_with(password, "/a/b", NULL);
	open_fails(u, SB_EURI, NULL, 1);
	free(u);
	/* libpq keywords pass through; postgres:// is the same backend. */
	u = with_query("sslmode=disable&application_name=sb-pg-bad"
	               "&connect_timeout=5&statement_timeout=0");
	sb_box *box = open_ok(u, SB_PROTOCOL_AUTO);
	sb_box_close(box);
	free(u);
	u = t_xasprintf("postgres%s", strstr(uri, "://"));
	box = open_ok(u, SB_PROTOCOL_AUTO);
	CHECK(box, box && sb_box_init(box, NULL, NULL) == SB_OK);
	sb_box_close(box);
	free(u);
}

static void add_items(sb_box *box, const char *bank, size_t n)
{
	char **items = t_xcalloc(n, sizeof *items);
	for (size_t i = 0; i < n; i++)
		items[i] = t_xasprintf("item-%zu", i);
	CHECK_RC(box,
	         sb_box_add(NULL, box, bank, (const char *const *)items, n),
	         SB_OK);
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);
}

static void case_statement_timeout(void)
{
	printf("statement timeout:\n");
	char *u = with_query("statement_timeout=300");
	sb_box *box = open_ok(u, SB_PROTOCOL_AUTO);
	free(u);
	if (!box)
		return;
	char *bank = t_xasprintf("%s-timeout", tag);
	add_items(box, bank, 3);
	PGconn *c = pgt_connect(uri);
	PQclear(PQexec(c, "BEGIN"));
	PGresult *r = PQexec(c, "LOCK TABLE storagebox.sb_ledger"
	                        " IN ACCESS EXCLUSIVE MODE");
	CHECKF(NULL, PQresultStatus(r) == PGRES_COMMAND_OK, "lock: %s",
	       PQerrorMessage(c));
	PQclear(r);
	sb_item *it = NULL;
	double t0 = t_now_s();
	int rc = sb_box_fetch(&it, box, bank, bank, "waiter");
	double secs = t_now_s() - t0;
	CHECK_RC(box, rc, SB_ETIMEOUT);
	CHECKF(box, t_contains(sb_box_errmsg(box), "57014"), "no SQLSTATE");
	CHECKF(box, secs < 5, "timeout took %.1f s", secs);
	printf("  %s\n", sb_box_errmsg(box));
	sb_item_free(it);
	it = NULL;
	PQclear(PQexec(c, "ROLLBACK"));
	PQfinish(c);
	/* The connection is fine after a timeout. */
	CHECK_RC(box, sb_box_fetch(&it, box, bank, bank, "waiter"), SB_OK);
	sb_item_free(it);
	free(bank);
	sb_box_close(box);
}

static void case_lost_connection(void)
{
	printf("lost connection:\n");
	char *app = t_xasprintf("sbkill-%s", tag);
	char *q = t_xasprintf("application_name=%s", app);
	char *u = with_query(q);
	free(q);
	sb_box *box = open_ok(u, SB_PROTOCOL_AUTO);
	free(u);
	if (!box) {
		free(app);
		return;
	}
	char *bank = t_xasprintf("%s-lost", tag);
	add_items(box, bank, 5);
	sb_item *it = NULL;
	CHECK_RC(box, sb_box_fetch(&it, box, bank, bank, "victim"), SB_OK);
	char *first = it ? t_xstrdup(sb_item_value(it)) : NULL;
	sb_item_free(it);
	it = NULL;

	PGconn *c = pgt_connect(uri);
	const char *p[1] = { app };
	long long n = pgt_num(c,
	                      "SELECT count(pg_terminate_backend(pid))"
	                      " FROM pg_stat_activity"
	                      " WHERE application_name = $1",
	                      1, p);
	CHECKF(NULL, n == 1, "terminated %lld backends", n);
	for (int i = 0; i < 100 && pgt_num(c,
	                                   "SELECT count(*) FROM"
	                                   " pg_stat_activity WHERE"
	                                   " application_name = $1",
	                                   1, p) > 0;
	     i++)
		usleep(20000);
	PQfinish(c);

	int rc = sb_box_fetch(&it, box, bank, bank, "victim");
	CHECK_RC(box, rc, SB_ECONNECT);
	CHECKF(box, t_contains(sb_box_errmsg(box), "lost"), "message");
	CHECKF(box, !password || !t_contains(sb_box_errmsg(box), password),
	       "password in message");
	printf("  %s\n", sb_box_errmsg(box));
	sb_item_free(it);
	it = NULL;
	/* The next call reconnects and gets the same item. */
	CHECK_RC(box, sb_box_fetch(&it, box, bank, bank, "victim"), SB_OK);
	CHECK(box, it && first && strcmp(sb_item_value(it), first) == 0 &&
	                   !sb_item_is_new(it));
	sb_item_free(it);
	sb_stats st;
	CHECK_RC(box, sb_box_stats(&st, box, bank, bank), SB_OK);
	CHECK(box, st.available == 4 && st.assigned == 1 && st.held == 1);
	free(first);
	free(bank);
	free(app);
	sb_box_close(box);
}

/* A string of @p len bytes of mixed UTF-8 and SQL/COPY metacharacters. */
static char *hostile_long(size_t len, unsigned seed)
{
	static const char *const parts[] = { "'",   "\"",  "\\", "\t",
		                             "\\N", "\\.", ";",  "$1",
		                             "%s",  "é",   "Ω",  "✓",
		                             "😀",   "--",  " ",  "x" };
	char *s = t_xmalloc(len + 1);
	size_t n = 0;
	t_rng r;
	t_rng_seed(&r, seed);
	while (n < len) {
		const char *p = parts[t_rng_below(&r, 16)];
		size_t pl = strlen(p);
		if (n + pl > len)
			p = "x", pl = 1;
		memcpy(s + n, p, pl);
		n += pl;
	}
	s[n] = '\0';
	return s;
}

typedef struct {
	t_map *m;
} exp_ctx;

static int exp_cb(const char *id, const char *bank, const char *item,
                  void *payload)
{
	exp_ctx *c = payload;
	char *v = t_xasprintf("%s\n%s", bank, item);
	t_map_put(c->m, id, v);
	free(v);
	return 0;
}

static void hostile_run(sb_protocol protocol)
{
	printf("hostile (%s):\n",
	       protocol == SB_PROTOCOL_AUTO ? "fused" : "generic");
	sb_box *box = open_ok(uri, protocol);
	if (!box)
		return;
	char *lb = hostile_long(65536, 1 + protocol);
	char *longbank = t_xasprintf("%s%s", tag, lb); /* unique per run */
	free(lb);
	char *bank = t_xasprintf("%s'; DROP TABLE storagebox.sb_ledger; --"
	                         "\"b\\\t%d",
	                         tag, protocol);
	char *ledger = t_xasprintf("%s-\\N-'l'-Ω-%d", tag, protocol);
	char *items[] = {
		"'; DROP TABLE storagebox.sb_available; --",
		"\"quoted\"",
		"back\\slash",
		"\\N",
		"\\.",
		"tab\there",
		"Ωmega ✓ 😀",
		"$1",
		"%s%n",
		hostile_long(65536, 7 + protocol),
		"\\",
		"'",
		"\"",
	};
	size_t n = sizeof items / sizeof items[0];
	const char *batch[16];
	for (size_t i = 0; i < n; i++)
		batch[i] = items[i];
	batch[n] = items[1]; /* a repeat inside the batch */
	batch[n + 1] = "\\"; /* and one more */
	sb_add_result res = { 0, 0 };
	CHECK_RC(box, sb_box_add(&res, box, bank, batch, n + 2), SB_OK);
	CHECKF(box, res.added == n && res.skipped == 2,
	       "added %llu "
	       "skipped %llu",
	       (unsigned long long)res.added, (unsigned long long)res.skipped);
	CHECK_RC(box, sb_box_add(&res, box, bank, batch, n), SB_OK);
	CHECK(box, res.added == 0 && res.skipped == n);
	const char *one[1] = { items[0] };
	CHECK_RC(box, sb_box_add(&res, box, longbank, one, 1), SB_OK);
	CHECK(box, res.added == 1);

	char *ids[] = { "'; DROP TABLE storagebox.sb_bank; --",
		        "\"id\"",
		        "\\N",
		        "tab\tid",
		        "Ωid 😀",
		        hostile_long(65536, 11 + protocol),
		        "$2",
		        "\\",
		        "x'y\"z\\",
		        "%d",
		        "a b",
		        "--",
		        "last",
		        "overflow" };
	size_t nid = sizeof ids / sizeof ids[0];
	t_map got, owners;
	t_map_init(&got);
	t_map_init(&owners);
	for (size_t i = 0; i < nid; i++) {
		for (int rep = 0; rep < 2; rep++) {
			sb_item *it = NULL;
			int rc = sb_box_fetch(&it, box, bank, ledger, ids[i]);
			if (i < n) {
				if (!CHECK_RC(box, rc, SB_OK))
					continue;
			} else {
				CHECK_RC(box, rc, SB_EMPTY);
				continue;
			}
			CHECK(box, strcmp(sb_item_bank(it), bank) == 0);
			CHECK(box, sb_item_is_new(it) == (rep == 0));
			if (rep == 0) {
				t_map_put(&got, ids[i], sb_item_value(it));
				CHECKF(box,
				       t_map_put(&owners, sb_item_value(it),
				                 ids[i]),
				       "item given twice");
			} else {
				CHECK(box, strcmp(t_map_get(&got, ids[i]),
				                  sb_item_value(it)) == 0);
			}
			sb_item_free(it);
		}
	}
	/* Every item came back exactly as added. */
	for (size_t i = 0; i < n; i++)
		CHECKF(box, t_map_get(&owners, items[i]) != NULL,
		       "item %zu never handed out intact", i);
	/* Long bank name: its item, from its own bank. */
	sb_item *it = NULL;
	CHECK_RC(box, sb_box_fetch(&it, box, longbank, ledger, "long-bank-id"),
	         SB_OK);
	CHECK(box, it && strcmp(sb_item_bank(it), longbank) == 0 &&
	                   strcmp(sb_item_value(it), items[0]) == 0);
	sb_item_free(it);
	it = NULL;
	/* Lookups and export return the same bytes. */
	CHECK_RC(box, sb_box_lookup(&it, box, ledger, ids[5]), SB_OK);
	CHECK(box,
	      it && strcmp(sb_item_value(it), t_map_get(&got, ids[5])) == 0);
	sb_item_free(it);
	t_map exp;
	t_map_init(&exp);
	exp_ctx ec = { &exp };
	CHECK_RC(box, sb_box_export(box, ledger, exp_cb, &ec), SB_OK);
	CHECKF(box, exp.n == n + 1, "exported %zu", exp.n);
	for (size_t i = 0; i < n; i++) {
		char *w = t_xasprintf("%s\n%s", bank, t_map_get(&got, ids[i]));
		const char *e = t_map_get(&exp, ids[i]);
		CHECKF(box, e && strcmp(e, w) == 0, "export of id %zu", i);
		free(w);
	}
	sb_stats st;
	CHECK_RC(box, sb_box_stats(&st, box, bank, ledger), SB_OK);
	CHECK(box, st.available == 0 && st.reserved == 0 && st.assigned == n &&
	                   st.held == n);
	/* The tables are all there. */
	PGconn *c = pgt_connect(uri);
	CHECK(NULL, pgt_num(c,
	                    "SELECT count(*) FROM pg_tables WHERE"
	                    " schemaname = 'storagebox'",
	                    0, NULL) == 6);
	PQfinish(c);
	t_map_free(&exp);
	t_map_free(&got);
	t_map_free(&owners);
	free(items[9]);
	free(ids[5]);
	free(longbank);
	free(bank);
	free(ledger);
	sb_box_close(box);
}

typedef struct {
	const char *u;
	int rc;
	pthread_barrier_t *go;
} racer;

static void *race_open(void *arg)
{
	racer *r = arg;
	sb_box *box = NULL;
	char err[SB_ERRMSG_SIZE];
	pthread_barrier_wait(r->go);
	r->rc = sb_box_open(&box, r->u, NULL, err, sizeof err);
	if (r->rc != SB_OK)
		fprintf(stderr, "racing open: %s\n", err);
	sb_box_close(box);
	return NULL;
}

static void case_schema(void)
{
	printf("schema option:\n");
	char *schema = t_xasprintf("sbt_%ld_%lx", (long)getpid(),
	                           (long)time(NULL));
	char *q = t_xasprintf("schema=%s", schema);
	char *u = with_query(q);
	free(q);
	/* Eight first opens of a new schema at once. */
	enum {
		NR = 8
	};
	pthread_t th[NR];
	racer rs[NR];
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, NR);
	for (int i = 0; i < NR; i++) {
		rs[i] = (racer){ u, -99, &go };
		pthread_create(&th[i], NULL, race_open, &rs[i]);
	}
	for (int i = 0; i < NR; i++) {
		pthread_join(th[i], NULL);
		CHECK_RC(NULL, rs[i].rc, SB_OK);
	}
	pthread_barrier_destroy(&go);

	sb_box *box = open_ok(u, SB_PROTOCOL_AUTO);
	sb_box *dflt = open_ok(uri, SB_PROTOCOL_AUTO);
	char *bank = t_xasprintf("%s-schema", tag);
	if (box && dflt) {
		add_items(box, bank, 2);
		sb_stats st;
		CHECK_RC(box, sb_box_stats(&st, box, bank, NULL), SB_OK);
		CHECK(box, st.available == 2);
		/* Not visible in the default schema. */
		CHECK_RC(dflt, sb_box_stats(&st, dflt, bank, NULL),
		         SB_ENOTFOUND);
		CHECK_RC(box, sb_box_init(box, bank, bank), SB_OK);
	}
	sb_box_close(box);
	sb_box_close(dflt);
	PGconn *c = pgt_connect(uri);
	const char *p[1] = { schema };
	CHECK(NULL, pgt_num(c,
	                    "SELECT count(*) FROM pg_catalog.pg_tables"
	                    " WHERE schemaname = $1",
	                    1, p) == 6);
	char *drop = t_xasprintf("DROP SCHEMA \"%s\" CASCADE", schema);
	PGresult *r = PQexec(c, drop);
	CHECKF(NULL, PQresultStatus(r) == PGRES_COMMAND_OK, "%s",
	       PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	free(drop);
	free(bank);
	free(u);
	free(schema);
}

int main(void)
{
	uri = t_env_need("SB_TEST_PG_URI");
	password = t_uri_password(uri);
	tag = t_xasprintf("pgbad-%lx-%ld", (long)time(NULL), (long)getpid());
	char *ru = t_redact_uri(uri);
	printf("pg bad input on %s\n", ru);
	free(ru);
	case_options();
	case_connect_errors();
	case_statement_timeout();
	case_lost_connection();
	hostile_run(SB_PROTOCOL_AUTO);
	hostile_run(SB_PROTOCOL_GENERIC);
	case_schema();
	free(password);
	free(tag);
	return t_summary();
}
