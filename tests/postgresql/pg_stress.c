/* PostgreSQL stress and server-fault test: processes x threads (one box,
 * so one connection, per thread) hammer one bank and ledger. Afterwards
 * the parent checks every law of DESIGN.md §2 from the answers and
 * through the API (tests/common/stress_run.c), and from the tables
 * through libpq.
 *
 * usage: pg_stress fused|generic [restart]
 * With `restart`, the parent restarts the server (`$SB_TEST_PG_CTL
 * restart -m fast`) once an eighth of the requests are answered (items
 * still available): calls in
 * flight must fail with SB_ECONNECT and a message without the password,
 * each request is retried until it gets an answer (the next call
 * reconnects), and the laws must hold at the end.
 *
 * Sizes (env): SB_STRESS_PROCS (8), SB_STRESS_THREADS (4), SB_STRESS_ITEMS
 * (5000), SB_STRESS_IDS (8000), SB_STRESS_REPEAT (3); SB_TEST_SEED. */
#include "pg_tests.h"
#include "../common/stress_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The tables themselves, through libpq. */
static void check_tables(const st_params *p, size_t holders)
{
	PGconn *c = pgt_connect(p->uri);
	const char *pb[1] = { p->bank };
	long long bid = pgt_num(c,
	                        "SELECT id FROM storagebox.sb_bank"
	                        " WHERE name = $1",
	                        1, pb);
	char bids[24];
	snprintf(bids, sizeof bids, "%lld", bid);
	const char *pl[3] = { bids, p->ledger, p->bank };
	long long items = pgt_num(c,
	                          "SELECT count(*) FROM storagebox.sb_item"
	                          " WHERE bank_id = $1",
	                          1, pl);
	long long avail = pgt_num(c,
	                          "SELECT count(*) FROM"
	                          " storagebox.sb_available"
	                          " WHERE bank_id = $1",
	                          1, pl);
	long long reserved = pgt_num(c,
	                             "SELECT count(*) FROM"
	                             " storagebox.sb_taken WHERE bank_id = $1"
	                             " AND NOT settled",
	                             1, pl);
	long long entries = pgt_num(c,
	                            "SELECT count(*) FROM"
	                            " storagebox.sb_ledger WHERE ledger = $2"
	                            " AND bank = $3 AND $1 <> ''",
	                            3, pl);
	long long twice = pgt_num(c,
	                          "SELECT count(*) FROM (SELECT item FROM"
	                          " storagebox.sb_ledger WHERE ledger = $2"
	                          " AND $1 <> '' GROUP BY item"
	                          " HAVING count(*) > 1) d",
	                          2, pl);
	long long both = pgt_num(c,
	                         "SELECT count(*) FROM"
	                         " storagebox.sb_available a JOIN"
	                         " storagebox.sb_ledger l ON l.item = a.item"
	                         " AND l.ledger = $2 WHERE a.bank_id = $1",
	                         2, pl);
	long long dupav = pgt_num(c,
	                          "SELECT count(*) - count(DISTINCT item)"
	                          " FROM storagebox.sb_available"
	                          " WHERE bank_id = $1",
	                          1, pl);
	printf("tables: %lld items, %lld available, %lld reserved, %lld "
	       "ledger entries\n",
	       items, avail, reserved, entries);
	CHECKF(NULL, items == (long long)p->items, "sb_item has %lld", items);
	CHECKF(NULL, reserved == 0, "sb_taken: %lld reserved", reserved);
	CHECKF(NULL, avail + entries + reserved == (long long)p->items,
	       "conservation in the tables: %lld + %lld + %lld != %zu", avail,
	       entries, reserved, p->items);
	CHECKF(NULL, entries == (long long)holders,
	       "ledger rows %lld, "
	       "holders %zu",
	       entries, holders);
	CHECKF(NULL, twice == 0, "%lld items held by two ids", twice);
	CHECKF(NULL, both == 0, "%lld items both available and assigned", both);
	CHECKF(NULL, dupav == 0, "%lld items available twice", dupav);
	PQfinish(c);
}

static void restart_server(const st_params *p, size_t nreq)
{
	const char *ctl = getenv("SB_TEST_PG_CTL");
	/* Wait until an eighth of the work is done (the bank is far from
	 * empty): the restart hits claims in flight on every connection. */
	double limit = t_now_s() + 120;
	while (__atomic_load_n(p->progress, __ATOMIC_SEQ_CST) < (long)nreq / 8 &&
	       t_now_s() < limit)
		t_nap_ms(10);
	char *cmd = t_xasprintf("%s restart -m fast -w -t 60 >/dev/null", ctl);
	double t0 = t_now_s();
	int rc = system(cmd);
	printf("server restarted after %ld answers (%.2f s): status %d\n",
	       __atomic_load_n(p->progress, __ATOMIC_SEQ_CST), t_now_s() - t0,
	       rc);
	fflush(stdout);
	CHECKF(NULL, rc == 0, "'%s' failed: %d", cmd, rc);
	free(cmd);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "restart"))) {
		fprintf(stderr, "usage: %s fused|generic [restart]\n", argv[0]);
		return 2;
	}
	int restart = argc == 3;
	st_params p = { .retry = restart };
	if (st_init(&p, "pg stress", argv[1], 8, 4, 5000, 8000) != 0)
		return 2;
	/* 32 connections open at once on a busy machine (the sanitized
	 * tree beside another test) may take longer than the library's
	 * default connect_timeout of 5 s: this test is about the laws under
	 * load, not about connect time (tests/hardening has that). */
	const char *server = t_env_need("SB_TEST_PG_URI");
	char *uri = t_xasprintf("%s%sconnect_timeout=60", server,
	                        strchr(server, '?') ? "&" : "?");
	p.uri = uri;
	if (restart)
		t_env_need("SB_TEST_PG_CTL"); /* restarts the server */
	char *password = t_uri_password(p.uri);
	p.secret = password;
	char *tag = t_xasprintf("pgstress-%s%s-%lx-%ld", p.mode,
	                        restart ? "-restart" : "", (long)time(NULL),
	                        (long)getpid());
	const char *dir = getenv("TMPDIR");
	char *stem = t_xasprintf("%s/%s", dir && *dir ? dir : "/tmp", tag);
	char *bank = t_xasprintf("%s-bank", tag);
	char *ledger = t_xasprintf("%s-ledger", tag);
	p.stem = stem;
	p.bank = bank;
	p.ledger = ledger;
	char *ru = t_redact_uri(p.uri);
	char *where = t_xasprintf("%s%s, bank %s", ru,
	                          restart ? ", with a server restart" : "",
	                          p.bank);
	size_t holders = 0;
	char **held = st_go(&p, where, restart ? restart_server : NULL,
	                    &holders);
	if (restart)
		CHECKF(NULL, *p.errors > 0, "the restart failed no call");
	check_tables(&p, holders);
	free(where);
	free(ru);

	st_free_held(&p, held);
	free(password);
	free(uri);
	free(tag);
	free(stem);
	free(bank);
	free(ledger);
	st_done(&p);
	return t_summary();
}
