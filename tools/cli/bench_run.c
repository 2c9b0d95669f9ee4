/* bench: load the bank, then run the clients: threads with a box each,
 * in one process or in several forked ones (each opens its own boxes after
 * the fork; results come back through a temp file per process). The clock
 * starts once every client has opened its box, in every process: claims/s
 * measures claims, not connection set-up (pgbench and redis-benchmark,
 * the baselines of tools/bench.sh, do not count theirs either). */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* "bench-user-" and 10 digits, by hand: the clients make one per request,
 * and snprintf would cost a tenth of a Redis claim's client time. */
void bench_id(char *buf, size_t n, uint32_t id)
{
	static const char head[] = "bench-user-";
	size_t h = sizeof(head) - 1, i;

	if (n < h + 11) { /* callers pass 48 bytes */
		if (n > 0)
			buf[0] = '\0';
		return;
	}
	memcpy(buf, head, h);
	for (i = 10; i-- > 0; id /= 10)
		buf[h + i] = (char)('0' + id % 10);
	buf[h + 10] = '\0';
}

void bench_item(char *buf, size_t n, uint64_t item)
{
	snprintf(buf, n, "bench-item-%010" PRIu64, item);
}

int bench_load(bench_run *r)
{
	/* The batches of `storagebox add`: the load rate is the one users see
	 * (bench items are 21 bytes, far below the byte bound). */
	char(*vals)[32] = malloc(CLI_ADD_BATCH_ITEMS * sizeof(*vals));
	const char **ptrs = malloc(CLI_ADD_BATCH_ITEMS * sizeof(*ptrs));
	uint64_t t0 = mono_us(), i = 0;
	sb_box *box;
	int rc = SB_OK;

	if (!vals || !ptrs) {
		free(vals);
		free(ptrs);
		cli_err(r->cli, "out of memory");
		return CLI_EXIT_ERROR;
	}
	if (cli_open(&box, r->cli) != 0) {
		free(vals);
		free(ptrs);
		return CLI_EXIT_ERROR;
	}
	while (rc == SB_OK && i < r->cfg->items) {
		size_t k = 0;
		sb_add_result res;
		for (; k < CLI_ADD_BATCH_ITEMS && i < r->cfg->items; k++, i++) {
			bench_item(vals[k], sizeof(vals[k]), i);
			ptrs[k] = vals[k];
		}
		rc = sb_box_add(&res, box, r->bank, ptrs, k);
	}
	if (rc == SB_OK)
		rc = sb_box_init(box, NULL, r->ledger);
	r->load_s = (double)(mono_us() - t0) / 1e6;
	if (rc != SB_OK)
		rc = cli_box_error(r->cli, box, rc);
	sb_box_close(box);
	free(vals);
	free(ptrs);
	return rc == SB_OK ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}

/* What the clients of one process share. */
typedef struct {
	bench_run *r;
	unsigned proc;  /* this process handles requests i with
	                           i % procs == proc */
	uint64_t next;  /* atomic: the next of this process's share */
	uint64_t share; /* how many requests that is */
	uint64_t t0;
	uint64_t deadline; /* mono_us; 0: none */
	uint64_t done;     /* atomic, for the progress line */
	unsigned ready;    /* atomic: clients past opening their box */
	int go;            /* atomic: t0 and deadline are set, start */
	pthread_mutex_t err_lock;
} fire_ctx;

static void nap_us(long us)
{
	struct timespec ts = { 0, us * 1000 };

	nanosleep(&ts, NULL);
}

static void note_error(fire_ctx *f, const sb_box *box, int rc)
{
	pthread_mutex_lock(&f->err_lock);
	if (!f->r->first_error[0])
		snprintf(f->r->first_error, sizeof(f->r->first_error), "%s",
		         box ? sb_box_errmsg(box) : sb_strerror(rc));
	pthread_mutex_unlock(&f->err_lock);
}

/* The number of an item "bench-item-N" (what sscanf's "%u" would read,
 * without its cost on every request); 0 if it is not one. */
static int item_number(const char *v, uint32_t *out)
{
	static const char head[] = "bench-item-";
	uint64_t n = 0;
	size_t i = sizeof(head) - 1;

	if (strncmp(v, head, i) != 0 || v[i] < '0' || v[i] > '9')
		return 0;
	for (; v[i] >= '0' && v[i] <= '9'; i++)
		if ((n = n * 10 + (uint64_t)(v[i] - '0')) > UINT32_MAX)
			return 0;
	*out = (uint32_t)n;
	return 1;
}

static void record(fire_ctx *f, sb_box *box, uint64_t i, int rc,
                   const sb_item *it, uint64_t start)
{
	bench_result *res = &f->r->results[i];
	uint64_t end = mono_us();

	res->latency_us = (uint32_t)(end - start > UINT32_MAX ? UINT32_MAX
	                                                      : end - start);
	res->done_us = end - f->t0;
	if (rc == SB_OK && item_number(sb_item_value(it), &res->item)) {
		res->status = BENCH_OK;
		res->is_new = (uint8_t)sb_item_is_new(it);
	} else if (rc == SB_EMPTY) {
		res->status = BENCH_EMPTY;
	} else {
		res->status = BENCH_ERROR;
		note_error(f, box, rc);
	}
}

/* --holds: a new hold is paid for (confirm) or abandoned (release). */
static void settle(fire_ctx *f, sb_box *box, uint64_t i, const char *id)
{
	bench_result *res = &f->r->results[i];
	int abandon = bench_abandons(f->r->cfg, f->r->schedule[i]);
	uint64_t start = mono_us(), us;
	int rc = abandon ? sb_box_release(box, f->r->ledger, id,
	                                  SB_RELEASE_RESTOCK)
	                 : sb_box_confirm(box, f->r->ledger, id);

	us = mono_us() - start;
	res->settle_us = (uint32_t)(us > UINT32_MAX ? UINT32_MAX : us);
	res->after = rc != SB_OK ? BENCH_AFTER_FAILED
	             : abandon   ? BENCH_AFTER_RELEASED
	                         : BENCH_AFTER_CONFIRMED;
	if (rc != SB_OK)
		note_error(f, box, rc);
}

static void *client(void *arg)
{
	fire_ctx *f = arg;
	const bench_cfg *cfg = f->r->cfg;
	char id[48];
	sb_box *box;

	if (cli_open(&box, f->r->cli) != 0) {
		note_error(f, NULL, SB_ERROR);
		__atomic_add_fetch(&f->ready, 1, __ATOMIC_SEQ_CST);
		return NULL;
	}
	__atomic_add_fetch(&f->ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&f->go, __ATOMIC_ACQUIRE))
		nap_us(100);
	for (;;) {
		uint64_t k = __atomic_fetch_add(&f->next, 1, __ATOMIC_RELAXED);
		uint64_t i = f->proc + k * cfg->procs, start;
		sb_item *it = NULL;
		int rc;

		if (k >= f->share || (f->deadline && mono_us() >= f->deadline))
			break;
		bench_id(id, sizeof(id), f->r->schedule[i]);
		start = mono_us();
		if (f->r->hold_mode)
			rc = sb_box_hold(&it, box, f->r->bank, f->r->ledger, id,
			                 BENCH_HOLD_TTL_MS);
		else
			rc = sb_box_fetch(&it, box, f->r->bank, f->r->ledger,
			                  id);
		record(f, box, i, rc, it, start);
		if (f->r->hold_mode && rc == SB_OK && sb_item_is_new(it))
			settle(f, box, i, id);
		sb_item_free(it);
		__atomic_fetch_add(&f->done, 1, __ATOMIC_RELAXED);
	}
	sb_box_close(box);
	return NULL;
}

/* Progress on stderr while the clients run (single process only: the
 * parent of forked clients cannot see their counters). */
static void progress(fire_ctx *f, int show)
{
	uint64_t total = f->share;

	while (show && __atomic_load_n(&f->next, __ATOMIC_RELAXED) < total &&
	       !(f->deadline && mono_us() >= f->deadline)) {
		struct timespec ts = { 0, 200000000 };
		fprintf(stderr, "\rbench: %" PRIu64 "/%" PRIu64 " requests",
		        __atomic_load_n(&f->done, __ATOMIC_RELAXED), total);
		nanosleep(&ts, NULL);
	}
}

/* The start time, once this process's clients are ready: taken here in a
 * single process; in a forked one, announced to the parent with a byte on
 * ready_fd, which answers with the common start time on go_fd. 0: the
 * parent is gone. */
static uint64_t start_time(int ready_fd, int go_fd)
{
	uint64_t t0 = 0;

	if (ready_fd < 0)
		return mono_us();
	if (write(ready_fd, "r", 1) != 1 ||
	    read(go_fd, &t0, sizeof(t0)) != (ssize_t)sizeof(t0))
		return 0;
	return t0;
}

/* Run this process's clients; 0 or -1 (threads could not start, or the
 * parent went away). *t0 is the start of the clock. */
static int run_clients(bench_run *r, unsigned proc, int ready_fd, int go_fd,
                       uint64_t *t0, int show)
{
	const bench_cfg *cfg = r->cfg;
	pthread_t *th = calloc(cfg->clients, sizeof(*th));
	fire_ctx f;
	unsigned i, started = 0;

	memset(&f, 0, sizeof(f));
	f.r = r;
	f.proc = proc;
	f.share = cfg->requests / cfg->procs +
	          (proc < cfg->requests % cfg->procs ? 1 : 0);
	pthread_mutex_init(&f.err_lock, NULL);
	for (i = 0; th && i < cfg->clients; i++)
		if (pthread_create(&th[i], NULL, client, &f) == 0)
			started++;
	while (__atomic_load_n(&f.ready, __ATOMIC_SEQ_CST) < started)
		nap_us(1000);
	*t0 = f.t0 = start_time(ready_fd, go_fd);
	if (!f.t0) /* no start: every request stays "not sent" */
		f.share = 0;
	f.deadline = cfg->duration > 0 ? f.t0 + (uint64_t)(cfg->duration * 1e6)
	                               : 0;
	__atomic_store_n(&f.go, 1, __ATOMIC_RELEASE);
	progress(&f, show && started == cfg->clients);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (show)
		fprintf(stderr, "\r%60s\r", "");
	pthread_mutex_destroy(&f.err_lock);
	free(th);
	return started == cfg->clients && f.t0 ? 0 : -1;
}

/* Child: run, then write this process's results (and first error) out. */
static int child(bench_run *r, unsigned proc, int ready_fd, int go_fd,
                 const char *path)
{
	FILE *out;
	uint64_t i, t0;
	int rc = run_clients(r, proc, ready_fd, go_fd, &t0, 0);

	out = fopen(path, "wb");
	if (!out)
		return 1;
	for (i = proc; i < r->cfg->requests; i += r->cfg->procs)
		fwrite(&r->results[i], sizeof(r->results[i]), 1, out);
	fwrite(r->first_error, 1, sizeof(r->first_error), out);
	if (fclose(out) != 0)
		return 1;
	return rc ? 1 : 0;
}

static int collect(bench_run *r, unsigned proc, const char *path)
{
	char err[SB_ERRMSG_SIZE];
	FILE *in = fopen(path, "rb");
	uint64_t i;
	int ok = in != NULL;

	for (i = proc; ok && i < r->cfg->requests; i += r->cfg->procs)
		ok = fread(&r->results[i], sizeof(r->results[i]), 1, in) == 1;
	if (ok && fread(err, 1, sizeof(err), in) == sizeof(err) && err[0] &&
	    !r->first_error[0])
		memcpy(r->first_error, err, sizeof(err));
	if (in)
		fclose(in);
	unlink(path);
	return ok ? 0 : -1;
}

/* How many of the n children have exited (not reaped: fire_procs still
 * collects their status). */
static unsigned children_gone(const pid_t *pids, unsigned n)
{
	unsigned gone = 0;

	for (unsigned p = 0; p < n; p++) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pids[p], &si,
		           WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid != 0)
			gone++;
	}
	return gone;
}

/* Wait for a "ready" byte from each of the n children (one that died
 * before sending it is counted out, so the others are not kept waiting),
 * then hand all of them the same start time. */
static uint64_t start_children(int ready_fd, int go_fd, const pid_t *pids,
                               unsigned n)
{
	unsigned got = 0;
	uint64_t t0;
	char c;

	while (got < n) {
		struct pollfd pfd = { ready_fd, POLLIN, 0 };
		int k = poll(&pfd, 1, 100);
		if (k > 0) {
			if (read(ready_fd, &c, 1) != 1)
				break;
			got++;
		} else if ((k == 0 || errno != EINTR) &&
		           got + children_gone(pids, n) >= n) {
			break;
		}
	}
	t0 = mono_us();
	/* One start time per ready child: each reads one. (Writing more with
	 * every reader gone would raise SIGPIPE.) */
	for (unsigned p = 0; p < got; p++)
		if (write(go_fd, &t0, sizeof(t0)) != (ssize_t)sizeof(t0))
			break;
	return t0;
}

static int fire_procs(bench_run *r, uint64_t *t0)
{
	const bench_cfg *cfg = r->cfg;
	const char *tmp = getenv("TMPDIR");
	pid_t *pids = calloc(cfg->procs, sizeof(*pids));
	char(*paths)[256] = calloc(cfg->procs, sizeof(*paths));
	int ready[2] = { -1, -1 }, go[2] = { -1, -1 };
	unsigned p, forked = 0;
	int bad = 0;

	if (!pids || !paths || pipe(ready) != 0 || pipe(go) != 0) {
		free(pids);
		free(paths);
		for (p = 0; p < 2; p++) {
			if (ready[p] >= 0)
				close(ready[p]);
			if (go[p] >= 0)
				close(go[p]);
		}
		cli_err(r->cli, "out of memory or pipes");
		return CLI_EXIT_ERROR;
	}
	fflush(NULL); /* children must not flush the parent's buffers again */
	for (p = 0; p < cfg->procs; p++) {
		snprintf(paths[p], sizeof(paths[p]),
		         "%s/storagebox-bench-%ld-%u",
		         tmp && *tmp ? tmp : "/tmp", (long)getpid(), p);
		pids[p] = fork();
		if (pids[p] == 0) {
			close(ready[0]);
			close(go[1]);
			_exit(child(r, p, ready[1], go[0], paths[p]));
		}
		if (pids[p] < 0) {
			cli_err(r->cli, "fork: %s", strerror(errno));
			bad = 1;
			break;
		}
		forked++;
	}
	/* Our copies of the children's ends: a dead child then reads as
	 * end-of-file instead of a wait forever. */
	close(ready[1]);
	close(go[0]);
	*t0 = start_children(ready[0], go[1], pids, forked);
	close(ready[0]);
	close(go[1]);
	for (p = 0; p < cfg->procs && pids[p] > 0; p++) {
		int st;
		if (waitpid(pids[p], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0 || collect(r, p, paths[p]) != 0) {
			cli_err(r->cli, "client process %u failed", p);
			bad = 1;
		}
	}
	free(pids);
	free(paths);
	return bad ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}

int bench_fire(bench_run *r)
{
	uint64_t t0 = mono_us();
	struct rusage self, kids;
	int rc;

	if (r->cfg->procs == 1)
		rc = run_clients(r, 0, -1, -1, &t0,
		                 !r->cfg->quiet && isatty(2)) == 0
		             ? CLI_EXIT_OK
		             : CLI_EXIT_ERROR;
	else
		rc = fire_procs(r, &t0);
	r->run_s = (double)(mono_us() - t0) / 1e6;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	r->peak_rss_kib = self.ru_maxrss > kids.ru_maxrss ? self.ru_maxrss
	                                                  : kids.ru_maxrss;
	if (rc != CLI_EXIT_OK && !r->first_error[0])
		snprintf(r->first_error, sizeof(r->first_error),
		         "clients could not start");
	return rc;
}
