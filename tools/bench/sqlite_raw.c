/* The baseline for the SQLite benchmark (tools/bench.sh): the fused claim's
 * transaction run straight through the sqlite3 API, with no storagebox
 * code, by PROCS forked processes on one WAL file for SECONDS.
 *
 *   sqlite_raw DB full|normal PROCS SECONDS ITEMS [handler|timeout]
 *
 * How it mirrors backends/sqlite (so the ratio is storagebox's own cost):
 *  - the same tables and indexes (sqlite_sql.c's schema) and the same SQL
 *    text for each step, prepared once with SQLITE_PREPARE_PERSISTENT,
 *    text bound SQLITE_STATIC, each statement reset and its bindings
 *    cleared after use (sb_sq_done);
 *  - per claim, as sb_sq_claim does: a ledger lookup in autocommit mode,
 *    BEGIN IMMEDIATE, the ledger lookup again under the lock, the bank id
 *    from a cache (storagebox caches committed bank ids per store), the
 *    take (UPDATE ... RETURNING item, stepped to DONE), the ledger insert
 *    (ON CONFLICT DO NOTHING), COMMIT;
 *  - a token "LEDGER\nID" and the time in ms, as the core passes them;
 *  - per connection: WAL, synchronous FULL or NORMAL, the busy handler of
 *    sqlite_busy.c (random naps that shorten as the wait grows, 5 s cap),
 *    or with "timeout" SQLite's own sqlite3_busy_timeout(5000) instead, to
 *    measure rather than guess which is faster;
 *  - each process opens its own connection after the fork, and the clock
 *    starts when all of them are ready, as in `storagebox bench --procs`.
 * Prints one JSON line: claims, seconds, claims_per_s, busy (claims that
 * gave up with SQLITE_BUSY after 5 s; they are not counted). */
#include "sqlite_sql.h"

#include <sqlite3.h>

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUSY_MS 5000

enum {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_LEDGER_GET,
	S_TAKE,
	S_LEDGER_PUT,
	S_N
};

/* sqlite_sql.c: SB_SQ_BEGIN, SB_SQ_COMMIT, SB_SQ_ROLLBACK,
 * SB_SQ_LEDGER_GET, SB_SQ_TAKE_ASSIGN, SB_SQ_LEDGER_PUT. */
static const char *const sql[S_N] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_LEDGER_GET] = "SELECT bank, item, deadline FROM sb_ledger"
			 " WHERE ledger = ?1 AND dedup_id = ?2",
	[S_TAKE] = "UPDATE OR ROLLBACK sb_item"
		   " SET state = 2, token = ?2, since = ?3"
		   " WHERE id = (SELECT id FROM sb_item"
		   "  WHERE bank_id = ?1 AND state = 0"
		   "  ORDER BY deadline, id LIMIT 1)"
		   " RETURNING item",
	[S_LEDGER_PUT] =
		"INSERT INTO sb_ledger (ledger, dedup_id, bank, item, deadline)"
		" VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT (ledger, dedup_id) DO NOTHING",
};

typedef struct {
	sqlite3 *db;
	sqlite3_stmt *st[S_N];
	int64_t busy_since_us;
	uint32_t rng;
} conn;

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* sqlite_busy.c's sq_busy, line for line. */
static int busy(void *arg, int count)
{
	conn *c = arg;
	int64_t now = mono_us(), waited;

	if (count == 0)
		c->busy_since_us = now;
	waited = now - c->busy_since_us;
	if (waited >= (int64_t)BUSY_MS * 1000)
		return 0;
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 17;
	c->rng ^= c->rng << 5;
	if (waited < 200000)
		sleep_us(2000 + (long)(c->rng % 8000));
	else if (waited < 1000000)
		sleep_us(1000 + (long)(c->rng % 3000));
	else
		sleep_us(200 + (long)(c->rng % 800));
	return 1;
}

static void die(sqlite3 *db, const char *what)
{
	fprintf(stderr, "sqlite_raw: %s: %s\n", what,
	        db ? sqlite3_errmsg(db) : "failed");
	exit(1);
}

/* Like sb_sq_exec_retry: PRAGMAs at open may see SQLITE_BUSY without the
 * busy handler being asked. */
static void exec_retry(sqlite3 *db, const char *q)
{
	int64_t deadline = mono_us() + (int64_t)BUSY_MS * 1000;
	int rc;

	while ((rc = sqlite3_exec(db, q, NULL, NULL, NULL)) != SQLITE_OK) {
		if ((rc & 0xff) != SQLITE_BUSY || mono_us() >= deadline)
			die(db, q);
		sleep_us(5000);
	}
}

static void open_conn(conn *c, const char *path, int full, int timeout)
{
	memset(c, 0, sizeof(*c));
	if (sqlite3_open_v2(path, &c->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                            SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK)
		die(c->db, "open");
	sqlite3_extended_result_codes(c->db, 1);
	c->rng = (uint32_t)getpid() * 2654435761u ^ (uint32_t)mono_us();
	if (!c->rng)
		c->rng = 1;
	if (timeout)
		sqlite3_busy_timeout(c->db, BUSY_MS);
	else
		sqlite3_busy_handler(c->db, busy, c);
	exec_retry(c->db, "PRAGMA journal_mode=WAL");
	exec_retry(c->db, full ? "PRAGMA synchronous=FULL"
	                       : "PRAGMA synchronous=NORMAL");
}

static sqlite3_stmt *stmt(conn *c, int id)
{
	if (!c->st[id] &&
	    sqlite3_prepare_v3(c->db, sql[id], -1, SQLITE_PREPARE_PERSISTENT,
	                       &c->st[id], NULL) != SQLITE_OK)
		die(c->db, sql[id]);
	return c->st[id];
}

static void done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Step a statement to DONE; its result code. */
static int run(sqlite3_stmt *st)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	done(st);
	return rc;
}

static void rollback(conn *c)
{
	if (!sqlite3_get_autocommit(c->db))
		run(stmt(c, S_ROLLBACK));
}

/* The ledger lookup: 1 found, 0 not, -1 error. */
static int ledger_get(conn *c, const char *ledger, const char *id)
{
	sqlite3_stmt *st = stmt(c, S_LEDGER_GET);
	int rc;

	sqlite3_bind_text(st, 1, ledger, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		/* storagebox copies both columns into its item */
		char *copy = strdup((const char *)sqlite3_column_text(st, 1));
		free(copy);
	}
	done(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* One fused claim; 1 claimed, 0 busy (gave up), exits on other errors. */
static int claim(conn *c, sqlite3_int64 bid, const char *bank,
                 const char *ledger, const char *id, const char *token)
{
	sqlite3_stmt *st;
	char *item = NULL;
	int rc;

	if (ledger_get(c, ledger, id) != 0)
		die(c->db, "ledger lookup");
	rc = run(stmt(c, S_BEGIN));
	if ((rc & 0xff) == SQLITE_BUSY)
		return 0;
	if (rc != SQLITE_DONE)
		die(c->db, "begin");
	if (ledger_get(c, ledger, id) != 0)
		die(c->db, "ledger lookup under the lock");
	st = stmt(c, S_TAKE);
	sqlite3_bind_int64(st, 1, bid);
	sqlite3_bind_text(st, 2, token, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, wall_ms());
	if (sqlite3_step(st) != SQLITE_ROW)
		die(c->db, "take (bank empty?)");
	item = strdup((const char *)sqlite3_column_text(st, 0));
	if (run(st) != SQLITE_DONE || !item)
		die(c->db, "take");
	st = stmt(c, S_LEDGER_PUT);
	sqlite3_bind_text(st, 1, ledger, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, bank, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, item, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, 0); /* for good */
	if (run(st) != SQLITE_DONE || sqlite3_changes(c->db) != 1)
		die(c->db, "ledger insert");
	free(item);
	rc = run(stmt(c, S_COMMIT));
	if (rc == SQLITE_DONE)
		return 1;
	rollback(c);
	if ((rc & 0xff) == SQLITE_BUSY)
		return 0;
	die(c->db, "commit");
	return 0;
}

static void load(const char *path, int full, const char *bank, long items)
{
	conn c;
	sqlite3_stmt *st;
	char val[32];
	sqlite3_int64 bid;

	open_conn(&c, path, full, 0);
	/* The backend's own schema (backends/sqlite/sqlite_sql.c: SQL text
	 * only, no storagebox code): both loops run on the same tables. */
	exec_retry(c.db, sb_sq_schema_sql);
	exec_retry(c.db, "BEGIN IMMEDIATE");
	if (sqlite3_prepare_v2(c.db, "INSERT INTO sb_bank (name) VALUES (?1)",
	                       -1, &st, NULL) != SQLITE_OK)
		die(c.db, "prepare bank");
	sqlite3_bind_text(st, 1, bank, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		die(c.db, "insert bank");
	sqlite3_finalize(st);
	bid = sqlite3_last_insert_rowid(c.db);
	if (sqlite3_prepare_v2(c.db,
	                       "INSERT INTO sb_item (bank_id, item, state)"
	                       " VALUES (?1, ?2, 0)",
	                       -1, &st, NULL) != SQLITE_OK)
		die(c.db, "prepare item");
	for (long i = 0; i < items; i++) {
		snprintf(val, sizeof(val), "bench-item-%010ld", i);
		sqlite3_bind_int64(st, 1, bid);
		sqlite3_bind_text(st, 2, val, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			die(c.db, "insert item");
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	exec_retry(c.db, "COMMIT");
	sqlite3_close(c.db);
}

/* One process: once ready, wait for the start time on go_fd, then claim
 * new ids until the deadline; counts written to fd. */
static int child(const char *path, int full, int timeout, const char *bank,
                 unsigned proc, double secs, int ready_fd, int go_fd, int fd)
{
	int64_t t0, deadline;
	char ledger[96], id[64], token[160];
	long counts[2] = { 0, 0 }; /* claims, busy */
	sqlite3_int64 bid;
	sqlite3_stmt *st;
	conn c;

	open_conn(&c, path, full, timeout);
	snprintf(ledger, sizeof(ledger), "%s-ledger", bank);
	/* The bank id, looked up once: storagebox caches it per store. */
	if (sqlite3_prepare_v2(c.db, "SELECT id FROM sb_bank WHERE name = ?1",
	                       -1, &st, NULL) != SQLITE_OK)
		die(c.db, "prepare bank id");
	sqlite3_bind_text(st, 1, bank, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		die(c.db, "bank id");
	bid = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (write(ready_fd, "r", 1) != 1 ||
	    read(go_fd, &t0, sizeof(t0)) != (ssize_t)sizeof(t0))
		return 1;
	deadline = t0 + (int64_t)(secs * 1e6);
	for (long n = 0; mono_us() < deadline; n++) {
		snprintf(id, sizeof(id), "bench-user-%03u%07ld", proc, n);
		snprintf(token, sizeof(token), "%s\n%s", ledger, id);
		if (claim(&c, bid, bank, ledger, id, token))
			counts[0]++;
		else
			counts[1]++;
	}
	for (int i = 0; i < S_N; i++)
		sqlite3_finalize(c.st[i]);
	sqlite3_close(c.db);
	return write(fd, counts, sizeof(counts)) == (ssize_t)sizeof(counts) ? 0
	                                                                    : 1;
}

/* Wait for a "ready" byte from each of the n children, counting out any
 * that died first, then send every one the start time (as bench_run.c). */
static int64_t start_children(int ready_fd, int go_fd, const pid_t *pids,
                              long n)
{
	long got = 0;
	int64_t t0;
	char c;

	while (got < n) {
		struct pollfd pfd = { ready_fd, POLLIN, 0 };
		int k = poll(&pfd, 1, 100);
		if (k > 0) {
			if (read(ready_fd, &c, 1) != 1)
				break;
			got++;
			continue;
		}
		long gone = 0;
		for (long p = 0; p < n; p++) {
			siginfo_t si;
			memset(&si, 0, sizeof(si));
			if (waitid(P_PID, (id_t)pids[p], &si,
			           WEXITED | WNOHANG | WNOWAIT) == 0 &&
			    si.si_pid)
				gone++;
		}
		if (got + gone >= n)
			break;
	}
	t0 = mono_us();
	for (long p = 0; p < got; p++) /* one each: no SIGPIPE if all died */
		if (write(go_fd, &t0, sizeof(t0)) != (ssize_t)sizeof(t0))
			break;
	return t0;
}

int main(int argc, char **argv)
{
	if (argc < 6 || argc > 7) {
		fprintf(stderr,
		        "usage: %s DB full|normal PROCS SECONDS ITEMS "
		        "[handler|timeout]\n",
		        argv[0]);
		return 2;
	}
	const char *path = argv[1];
	int full = strcmp(argv[2], "normal") != 0;
	long procs = atol(argv[3]), items = atol(argv[5]);
	double secs = atof(argv[4]);
	int timeout = argc == 7 && strcmp(argv[6], "timeout") == 0;
	char bank[64];
	int fds[2], ready[2], go[2];
	long claims = 0, busy_n = 0, got[2];
	pid_t pids[256];
	int bad = 0;

	if (procs < 1 || procs > 256 || secs <= 0 || items < 1)
		return 2;
	snprintf(bank, sizeof(bank), "raw-%ld-%ld", (long)time(NULL),
	         (long)getpid());
	load(path, full, bank, items);
	if (pipe(fds) != 0 || pipe(ready) != 0 || pipe(go) != 0)
		return 1;
	for (long p = 0; p < procs; p++) {
		pids[p] = fork();
		if (pids[p] == 0) {
			close(fds[0]);
			close(ready[0]);
			close(go[1]);
			_exit(child(path, full, timeout, bank, (unsigned)p,
			            secs, ready[1], go[0], fds[1]));
		}
		if (pids[p] < 0)
			return 1;
	}
	close(fds[1]);
	close(ready[1]);
	close(go[0]);
	int64_t t0 = start_children(ready[0], go[1], pids, procs);
	close(ready[0]);
	close(go[1]);
	for (long p = 0; p < procs; p++) {
		int st;
		if (waitpid(pids[p], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			bad = 1;
	}
	double el = (double)(mono_us() - t0) / 1e6;
	while (read(fds[0], got, sizeof(got)) == (ssize_t)sizeof(got)) {
		claims += got[0];
		busy_n += got[1];
	}
	close(fds[0]);
	printf("{\"procs\":%ld,\"synchronous\":\"%s\",\"busy\":\"%s\","
	       "\"claims\":%ld,\"gave_up\":%ld,\"seconds\":%.3f,"
	       "\"claims_per_s\":%.1f}\n",
	       procs, full ? "full" : "normal", timeout ? "timeout" : "handler",
	       claims, busy_n, el, (double)claims / el);
	return bad;
}
