/* storagebox demo --holds: a box office. 300 seats, 400 buyers who click
 * "hold my seat" twice each, from workers with a box each; a hold lasts
 * 2 s while the buyer pays. Most pay (some after asking for more time),
 * some walk away and let the hold lapse (a few try to pay too late), some
 * pay and cancel; once the lapsed holds' deadlines have passed, the
 * buyers told "sold out" and the late payers try again and get the seats
 * that came back. demo_holds_report.c holds every answer to the laws. */
#include "cli.h"
#include "demo_holds.h"
#include "internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The phases every worker runs, in step with main. */
enum {
	PH_RUSH,     /* twin holds, in a shuffled order */
	PH_CHECKOUT, /* each holder does what it planned */
	PH_LATE,     /* after the deadlines: the late payers */
	PH_RESALE,   /* twin holds of the buyers who try again */
	PH_PAY,      /* ...who pay at once */
	PH_DONE
};

typedef struct {
	dh_run *run;
	const char *uri;
	sb_protocol protocol;
	pthread_mutex_t m; /* with cv and go: the start line; the */
	pthread_cond_t cv; /* barrier is sized once the threads exist */
	int go;
	pthread_barrier_t bar; /* workers + main */
	int phase;             /* set by main between barriers */
	const int *tasks;
	unsigned ntasks;
	unsigned next; /* atomic: the next task */
	unsigned seq;  /* atomic: orders the calls (dh_call.s0, s1) */
	pthread_mutex_t err_lock;
} dh_ctx;

int64_t dh_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *dh_seat(const dh_call *c)
{
	return c->done && c->rc == SB_OK ? c->seat : NULL;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64: seeded, so a run can be replayed with --seed. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static void note_error(dh_ctx *x, const char *msg)
{
	pthread_mutex_lock(&x->err_lock);
	if (!x->run->first_error[0])
		snprintf(x->run->first_error, sizeof x->run->first_error, "%s",
		         msg && msg[0] ? msg : "unknown error");
	pthread_mutex_unlock(&x->err_lock);
}

static void begin_call(dh_ctx *x, dh_call *c)
{
	c->s0 = __atomic_fetch_add(&x->seq, 1, __ATOMIC_RELAXED);
	c->t0 = dh_now_ms();
}

/* Record a call's answer; "holds nothing" and "lapsed" are answers. */
static void end_call(dh_ctx *x, sb_box *box, dh_call *c, int rc,
                     const sb_item *it)
{
	c->t1 = dh_now_ms();
	c->s1 = __atomic_fetch_add(&x->seq, 1, __ATOMIC_RELAXED);
	c->rc = rc;
	c->done = 1;
	if (rc == SB_OK && it) {
		c->is_new = sb_item_is_new(it);
		c->expires = sb_item_expires_ms(it);
		snprintf(c->seat, sizeof c->seat, "%s", sb_item_value(it));
	} else if (rc < 0 && rc != SB_ENOTFOUND && rc != SB_EEXPIRED) {
		note_error(x, sb_box_errmsg(box));
	}
}

static void hold(dh_ctx *x, sb_box *box, dh_call *c, int buyer, int64_t ttl_ms)
{
	sb_item *it = NULL;
	int rc;

	begin_call(x, c);
	rc = sb_box_hold(&it, box, DH_BANK, DH_LEDGER, x->run->names[buyer],
	                 ttl_ms);
	end_call(x, box, c, rc, it);
	sb_item_free(it);
}

static void lookup(dh_ctx *x, sb_box *box, dh_call *c, int buyer)
{
	sb_item *it = NULL;
	int rc;

	begin_call(x, c);
	rc = sb_box_lookup(&it, box, DH_LEDGER, x->run->names[buyer]);
	end_call(x, box, c, rc, it);
	sb_item_free(it);
}

/* confirm (ttl 0), extend (ttl > 0) or release (ttl < 0: flags -ttl-1). */
static void change(dh_ctx *x, sb_box *box, dh_call *c, int buyer,
                   int64_t ttl_ms)
{
	const char *id = x->run->names[buyer];
	int rc;

	begin_call(x, c);
	if (ttl_ms == 0)
		rc = sb_box_confirm(box, DH_LEDGER, id);
	else if (ttl_ms > 0)
		rc = sb_box_extend(box, DH_LEDGER, id, ttl_ms);
	else
		rc = sb_box_release(box, DH_LEDGER, id,
		                    (unsigned)(-ttl_ms - 1));
	end_call(x, box, c, rc, NULL);
}

#define RELEASE(flags) (-(int64_t)(flags)-1)

/* The seat the rush gave a buyer (the twins agree unless a law broke). */
static int got_seat(const dh_buyer *b)
{
	return dh_seat(&b->rush[0]) || dh_seat(&b->rush[1]);
}

static void checkout(dh_ctx *x, sb_box *box, int i)
{
	dh_buyer *b = &x->run->b[i];

	if (!got_seat(b))
		return;
	switch (b->plan) {
	case DH_SLOW_PAY:
		change(x, box, &b->extend, i, DH_EXTEND_MS);
		change(x, box, &b->confirm[0], i, 0);
		break;
	case DH_PAY:
		change(x, box, &b->confirm[0], i, 0);
		change(x, box, &b->confirm[1], i, 0);
		break;
	case DH_ABANDON:
	case DH_LATE_PAY: lookup(x, box, &b->lookup, i); break;
	case DH_CANCEL:
		change(x, box, &b->confirm[0], i, 0);
		change(x, box, &b->release[0], i, RELEASE(SB_RELEASE_RESTOCK));
		change(x, box, &b->release[1], i, RELEASE(SB_RELEASE_RESTOCK));
		break;
	case DH_RETIRE:
		change(x, box, &b->confirm[0], i, 0);
		change(x, box, &b->release[0], i, RELEASE(SB_RELEASE_RETIRE));
		break;
	}
}

static void run_task(dh_ctx *x, sb_box *box, int task)
{
	dh_buyer *b;

	switch (x->phase) {
	case PH_RUSH:
		b = &x->run->b[task / DH_CLICKS];
		hold(x, box, &b->rush[task % DH_CLICKS], task / DH_CLICKS,
		     DH_TTL_MS);
		break;
	case PH_CHECKOUT: checkout(x, box, task); break;
	case PH_LATE: change(x, box, &x->run->b[task].late, task, 0); break;
	case PH_RESALE:
		b = &x->run->b[task / DH_CLICKS];
		hold(x, box, &b->retry[task % DH_CLICKS], task / DH_CLICKS,
		     DH_RETRY_TTL_MS);
		break;
	case PH_PAY:
		change(x, box, &x->run->b[task].retry_confirm, task, 0);
		break;
	}
}

static void *worker(void *arg)
{
	dh_ctx *x = arg;
	sb_open_opts opts = SB_OPEN_OPTS_INIT;
	char err[SB_ERRMSG_SIZE] = "";
	sb_box *box = NULL;

	opts.protocol = x->protocol;
	if (sb_box_open(&box, x->uri, &opts, err, sizeof err) != SB_OK)
		note_error(x, err);
	else
		__atomic_add_fetch(&x->run->opened, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&x->m);
	while (!x->go)
		pthread_cond_wait(&x->cv, &x->m);
	pthread_mutex_unlock(&x->m);
	for (;;) {
		pthread_barrier_wait(&x->bar); /* main set the phase */
		if (x->phase == PH_DONE)
			break;
		/* A worker without a box leaves the tasks to the others. */
		for (unsigned k;
		     box &&
		     (k = __atomic_fetch_add(&x->next, 1, __ATOMIC_RELAXED)) <
		             x->ntasks;)
			run_task(x, box, x->tasks[k]);
		pthread_barrier_wait(&x->bar); /* phase done */
	}
	sb_box_close(box);
	return NULL;
}

/* Run one phase on the workers, timed. */
static double phase(dh_ctx *x, int ph, const int *tasks, unsigned n)
{
	double t0 = mono_s();

	x->phase = ph;
	x->tasks = tasks;
	x->ntasks = n;
	x->next = 0;
	pthread_barrier_wait(&x->bar);
	if (ph != PH_DONE) /* after PH_DONE the workers are gone */
		pthread_barrier_wait(&x->bar);
	return mono_s() - t0;
}

static void shuffle(int *a, unsigned n, uint64_t *rng)
{
	for (unsigned i = n; i > 1; i--) {
		unsigned j = (unsigned)(rng_next(rng) % i);
		int t = a[i - 1];

		a[i - 1] = a[j];
		a[j] = t;
	}
}

/* Twin requests of the buyers in @p who, in shuffled order, twins next
 * to each other so two workers send them at about the same moment. */
static unsigned twin_tasks(int *tasks, const int *who, unsigned n,
                           uint64_t *rng)
{
	int order[DH_BUYERS];

	memcpy(order, who, n * sizeof *who);
	shuffle(order, n, rng);
	for (unsigned i = 0; i < n; i++)
		for (int k = 0; k < DH_CLICKS; k++)
			tasks[i * DH_CLICKS + k] = order[i] * DH_CLICKS + k;
	return n * DH_CLICKS;
}

/* The latest deadline of a rush hold nobody confirmed: once it has
 * passed, every such hold has lapsed. */
static int64_t last_deadline(const dh_run *r)
{
	int64_t last = 0;

	for (int i = 0; i < DH_BUYERS; i++) {
		const dh_buyer *b = &r->b[i];

		if (b->confirm[0].done && b->confirm[0].rc == SB_OK)
			continue;
		for (int k = 0; k < DH_CLICKS; k++)
			if (dh_seat(&b->rush[k]) && b->rush[k].expires > last)
				last = b->rush[k].expires;
	}
	return last;
}

static void wait_until(int64_t ms)
{
	for (int64_t now = dh_now_ms(); now < ms; now = dh_now_ms()) {
		int64_t d = ms - now;
		struct timespec ts = { (time_t)(d / 1000),
			               (long)(d % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
}

static int count_live(const char *id, const char *bank, const char *item,
                      int64_t expires_ms, void *payload)
{
	(void)id, (void)bank, (void)item, (void)expires_ms;
	++*(int *)payload;
	return 0;
}

/* What the store says before the resale: every unpaid hold lapsed. */
static void before_resale(dh_run *r, sb_box *box)
{
	r->pre_ok = sb_box_stats(&r->pre, box, DH_BANK, DH_LEDGER) == SB_OK &&
	            sb_box_export_holds(box, DH_LEDGER, count_live,
	                                &r->pre_live) == SB_OK;
}

/* The day, phase by phase; main runs between the phases. */
static void run_day(dh_ctx *x, sb_box *box, uint64_t *rng)
{
	dh_run *r = x->run;
	static int tasks[DH_BUYERS * DH_CLICKS];
	int who[DH_BUYERS];
	unsigned n = 0;

	for (int i = 0; i < DH_BUYERS; i++)
		who[i] = i;
	r->t_rush = phase(x, PH_RUSH, tasks,
	                  twin_tasks(tasks, who, DH_BUYERS, rng));
	r->t_checkout = phase(x, PH_CHECKOUT, who, DH_BUYERS);

	/* Wait out the deadlines: nothing reclaims a lapsed hold yet. */
	r->t_wait = mono_s();
	wait_until(last_deadline(r) + 1);
	r->t_wait = mono_s() - r->t_wait;
	for (int i = 0; i < DH_BUYERS; i++)
		if (r->b[i].plan == DH_LATE_PAY && got_seat(&r->b[i]))
			who[n++] = i;
	phase(x, PH_LATE, who, n);
	before_resale(r, box);

	/* The buyers told "sold out" and the late payers try again. */
	n = 0;
	for (int i = 0; i < DH_BUYERS; i++) {
		dh_buyer *b = &r->b[i];

		b->retries = !got_seat(b) || b->plan == DH_LATE_PAY;
		if (b->retries)
			who[n++] = i;
	}
	r->t_resale = phase(x, PH_RESALE, tasks,
	                    twin_tasks(tasks, who, n, rng));
	n = 0;
	for (int i = 0; i < DH_BUYERS; i++)
		if (r->b[i].retries &&
		    (dh_seat(&r->b[i].retry[0]) || dh_seat(&r->b[i].retry[1])))
			who[n++] = i;
	r->t_resale += phase(x, PH_PAY, who, n);
}

/* Seats, buyers and their plans. */
static int open_office(dh_run *r, sb_box *box, uint64_t *rng)
{
	/* Shares of the plans, in percent: DH_PAY first. */
	static const int share[DH_NPLANS] = { 55, 10, 10, 10, 10, 5 };
	const char *items[DH_SEATS];
	sb_add_result added;
	int rc;

	for (int i = 0; i < DH_SEATS; i++) {
		snprintf(r->seats[i], sizeof r->seats[i], "R%02d-S%02d",
		         i / DH_SEATS_PER_ROW + 1, i % DH_SEATS_PER_ROW + 1);
		items[i] = r->seats[i];
	}
	for (int i = 0; i < DH_BUYERS; i++) {
		int p = (int)(rng_next(rng) % 100), plan = 0;

		snprintf(r->names[i], sizeof r->names[i], "buyer-%03d", i + 1);
		while (p >= share[plan]) /* the shares add up to 100 */
			p -= share[plan++];
		r->b[i].plan = plan;
	}
	rc = sb_box_init(box, DH_BANK, DH_LEDGER);
	if (rc >= 0)
		rc = sb_box_add(&added, box, DH_BANK, items, DH_SEATS);
	if (rc >= 0 && added.added != DH_SEATS)
		return sb_seterr(box, SB_ERROR,
		                 "the fresh bank took %d of %d seats",
		                 (int)added.added, DH_SEATS);
	return rc;
}

static int run_office(cli_ctx *c, dh_run *r, sb_box *box)
{
	dh_ctx x;
	pthread_t tid[64];
	uint64_t rng = (uint64_t)r->seed;
	int started = 0, rc = open_office(r, box, &rng);

	if (rc < 0)
		return cli_box_error(c, box, rc);
	memset(&x, 0, sizeof x);
	x.run = r;
	x.uri = r->uri;
	x.protocol = c->g.protocol;
	pthread_mutex_init(&x.err_lock, NULL);
	pthread_mutex_init(&x.m, NULL);
	pthread_cond_init(&x.cv, NULL);
	for (; started < r->workers; started++)
		if (pthread_create(&tid[started], NULL, worker, &x) != 0)
			break;
	/* Fewer threads than asked: the day runs on those that exist, and
	 * the story says how many. */
	r->workers = started;
	pthread_barrier_init(&x.bar, NULL, (unsigned)started + 1);
	pthread_mutex_lock(&x.m);
	x.go = 1;
	pthread_cond_broadcast(&x.cv);
	pthread_mutex_unlock(&x.m);
	run_day(&x, box, &rng);
	phase(&x, PH_DONE, NULL, 0);
	for (int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&x.bar);
	pthread_cond_destroy(&x.cv);
	pthread_mutex_destroy(&x.m);
	pthread_mutex_destroy(&x.err_lock);
	return dh_report(r, box);
}

int dh_main(cli_ctx *c, const char *uri, int temp, int workers,
            unsigned long long seed)
{
	dh_run *r = calloc(1, sizeof *r);
	sb_open_opts opts = SB_OPEN_OPTS_INIT;
	char err[SB_ERRMSG_SIZE] = "";
	sb_box *box = NULL;
	int rc;

	if (!r) {
		cli_err(c, "out of memory");
		return CLI_EXIT_ERROR;
	}
	r->workers = workers;
	r->seed = seed;
	r->uri = uri;
	r->temp = temp;
	r->generic = c->g.protocol == SB_PROTOCOL_GENERIC;
	opts.protocol = c->g.protocol;
	rc = sb_box_open(&box, uri, &opts, err, sizeof err);
	if (rc != SB_OK) {
		cli_err(c, "%s", err[0] ? err : sb_strerror(rc));
		rc = CLI_EXIT_ERROR;
	} else {
		rc = run_office(c, r, box);
	}
	sb_box_close(box);
	free(r);
	return rc;
}
