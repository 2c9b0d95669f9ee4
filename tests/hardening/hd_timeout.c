/* Timeouts with the DEFAULT options and with short ones, on PostgreSQL,
 * Redis and DynamoDB: a refused port fails at once with SB_ECONNECT; a
 * server that accepts and never answers, and a real server that goes
 * silent in the middle of a conversation (a proxy that stops passing
 * bytes), each fail with SB_ETIMEOUT or SB_ECONNECT within the timeout,
 * and within 10 s when no option is set; after the silence ends the same
 * box works again. No message shows the URI's password.
 *
 * Usage: hd_timeout postgresql|redis|dynamodb */
#include "hd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *backend;
static char *password;
static char *bank, *ledger;

typedef struct {
	const char *env;
	const char *short_opt; /* the option that bounds a silent server */
	double short_s;        /* its value in seconds */
} backend_info;

static const backend_info infos[] = {
	{ "SB_TEST_PG_URI", "connect_timeout=2&query_timeout=1500", 2.0 },
	{ "SB_TEST_REDIS_URI", "connect_timeout=1500&timeout=1500", 1.5 },
	{ "SB_TEST_DYNAMODB_URI", "connect_timeout=1500&timeout=1500", 1.5 },
};
static const backend_info *info;

static void no_password(const char *m, const char *what)
{
	CHECKF(NULL,
	       !password || strlen(password) < 4 || !t_contains(m, password),
	       "%s: message shows the password", what);
}

/* Open and, if that worked (DynamoDB connects lazily), fetch once: the
 * first call that needs the server. Returns the code, *secs the time. */
static int first_call(const char *uri, double *secs, char *msg, size_t size)
{
	sb_box *box = NULL;
	sb_item *it = NULL;
	double t0 = t_now_s();
	int rc = sb_box_open(&box, uri, NULL, msg, size);

	if (rc == SB_OK) {
		rc = sb_box_fetch(&it, box, bank, ledger, "id-first");
		snprintf(msg, size, "%s", sb_box_errmsg(box));
		sb_item_free(it);
		sb_box_close(box);
	}
	*secs = t_now_s() - t0;
	return rc;
}

static void expect_fail(const char *what, const char *uri, double min_s,
                        double max_s, int refused)
{
	char msg[SB_ERRMSG_SIZE] = "";
	double secs;
	int rc = first_call(uri, &secs, msg, sizeof msg);

	printf("  %-34s %-28s %5.2f s\n", what, sb_strerror(rc), secs);
	if (refused)
		CHECKF(NULL, rc == SB_ECONNECT, "%s: %s (%s)", what,
		       sb_strerror(rc), msg);
	else
		CHECKF(NULL, rc == SB_ETIMEOUT || rc == SB_ECONNECT,
		       "%s: %s (%s)", what, sb_strerror(rc), msg);
	CHECKF(NULL, secs >= min_s && secs <= max_s,
	       "%s: failed after "
	       "%.2f s, expected %.1f..%.1f s",
	       what, secs, min_s, max_s);
	CHECKF(NULL, *msg != '\0', "%s: no message", what);
	no_password(msg, what);
}

static void case_unreachable(const char *server)
{
	hd_silent sil;
	char *u, *v;

	printf("unreachable servers:\n");
	u = hd_uri_port(server, hd_closed_port());
	expect_fail("refused, defaults", u, 0.0, 3.0, 1);
	free(u);

	hd_silent_start(&sil);
	u = hd_uri_port(server, sil.port);
	/* The requirement: finite, and under 10 s with no option set. The
	 * lower bound shows the client did wait for an answer. */
	expect_fail("silent, defaults", u, 1.0, 9.9, 0);
	v = t_uri_opt(u, info->short_opt);
	expect_fail("silent, short option", v, info->short_s * 0.7,
	            info->short_s + 2.5, 0);
	free(v);
	free(u);
	hd_silent_stop(&sil);
}

/* A fetch on a box whose server has gone silent mid-conversation. */
static void muted_fetch(const char *what, sb_box *box, hd_proxy *px,
                        const char *id, double min_s, double max_s)
{
	sb_item *it = NULL;
	double t0;
	int rc;

	px->mute = 1;
	t0 = t_now_s();
	rc = sb_box_fetch(&it, box, bank, ledger, id);
	t0 = t_now_s() - t0;
	px->mute = 0;
	printf("  %-34s %-28s %5.2f s\n", what, sb_strerror(rc), t0);
	CHECKF(box, rc == SB_ETIMEOUT || rc == SB_ECONNECT, "%s: %s", what,
	       sb_strerror(rc));
	CHECKF(box, t0 >= min_s && t0 <= max_s,
	       "%s: failed after %.2f s, "
	       "expected %.1f..%.1f s",
	       what, t0, min_s, max_s);
	no_password(sb_box_errmsg(box), what);
	sb_item_free(it);
	/* The silence is over: the same box reconnects and answers, and the
	 * id that timed out gets one item, as every id. */
	it = NULL;
	rc = sb_box_fetch(&it, box, bank, ledger, id);
	CHECKF(box, rc == SB_OK, "%s: after the silence: %s", what,
	       sb_strerror(rc));
	sb_item_free(it);
}

static void case_silent_after_connect(const char *server)
{
	static const char *items[] = { "i1", "i2", "i3", "i4", "i5", "i6" };
	char host[64];
	int port;
	hd_proxy px;
	sb_box *box;
	char *u, *v;

	printf("server silent after connecting:\n");
	if (!CHECK(NULL, hd_uri_hostport(server, host, sizeof host, &port)))
		return;
	hd_proxy_start(&px, host, port);
	u = hd_uri_port(server, px.port);
	if ((box = hd_open(u, SB_PROTOCOL_AUTO))) {
		sb_item *it = NULL;
		CHECK_RC(box, sb_box_add(NULL, box, bank, items, 6), SB_OK);
		CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, "id-a"),
		         SB_OK);
		sb_item_free(it);
		muted_fetch("fused, defaults", box, &px, "id-b", 1.0, 9.9);
		sb_box_close(box);
	}
	v = t_uri_opt(u, info->short_opt);
	if ((box = hd_open(v, SB_PROTOCOL_GENERIC))) {
		muted_fetch("generic, short option", box, &px, "id-c",
		            info->short_s * 0.7, info->short_s + 2.5);
		sb_box_close(box);
	}
	if ((box = hd_open(u, SB_PROTOCOL_AUTO))) {
		sb_stats st;
		CHECK_RC(box, sb_box_stats(&st, box, bank, NULL), SB_OK);
		/* Nothing lost or given twice across the timeouts. */
		CHECKF(box,
		       st.available + st.reserved + st.assigned == 6 &&
		               st.assigned >= 3,
		       "stats %llu/%llu/%llu", (unsigned long long)st.available,
		       (unsigned long long)st.reserved,
		       (unsigned long long)st.assigned);
		sb_box_close(box);
	}
	free(v);
	free(u);
	hd_proxy_stop(&px);
}

int main(int argc, char **argv)
{
	const char *server;
	size_t i;

	backend = argc > 1 ? argv[1] : "";
	i = strcmp(backend, "postgresql") == 0 ? 0
	    : strcmp(backend, "redis") == 0    ? 1
	    : strcmp(backend, "dynamodb") == 0 ? 2
	                                       : 3;
	if (i == 3) {
		fprintf(stderr,
		        "usage: hd_timeout postgresql|redis|dynamodb\n");
		return 1;
	}
	info = &infos[i];
	server = t_env_need(info->env);
	password = t_uri_password(server);
	bank = t_xasprintf("hdt-%lx-%ld", (long)time(NULL), (long)getpid());
	ledger = t_xasprintf("%s-l", bank);
	case_unreachable(server);
	case_silent_after_connect(server);
	free(bank);
	free(ledger);
	free(password);
	return t_summary();
}
