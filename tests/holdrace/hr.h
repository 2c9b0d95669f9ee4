/* Race tests of holds (DESIGN §8, docs/holds.md) on one store, fused or
 * generic: each asserts the laws whatever the interleaving, and forces the
 * orderings that matter with the in-process fault hook (fault builds).
 *
 *   hr_main.c   the store, boxes, names, clock and the parts to run
 *   hr_call.c   one call on its own thread, started at a set time
 *   hr_gate.c   a gate that holds one thread at a crash point
 *   hr_lapse.c  confirm racing the lapse, extend racing reclaim
 *   hr_pairs.c  release racing a repeat fetch, a hold's twin requests
 *   hr_bounce.c a fetch that finds the bank empty while losing twins pass
 *               its last item around, or while a pass of its own box
 *               left one unfinished
 *   hr_stale.c  bank steps that come after the id moved on
 *   hr_mix.c    32 clients at random on a small bank being reloaded */
#ifndef SB_HR_H
#define SB_HR_H

#include "../common/tcommon.h"

#include <pthread.h>
#include <stdint.h>

typedef struct {
	const char *uri;      /* bank and ledger store */
	sb_protocol protocol; /* SB_PROTOCOL_AUTO (fused) or GENERIC */
	const char *mode;     /* "fused" or "generic" */
	char *prefix;         /* names unique to the run */
	uint64_t seed;
	int generic; /* the core runs the generic order (crash points) */
} hr_env;

extern hr_env hr;

/* A box on the store; NULL after a failed check. */
sb_box *hr_open(void);
/* "<prefix><tag>-<n>", unique; caller frees. */
char *hr_name(const char *tag);
/* The clients' clock in microseconds (sb_now_ms()'s, which the run never
 * shifts): servers on this machine keep the same one. */
int64_t hr_now_us(void);
void hr_sleep_until_us(int64_t t);
/* Slack at a deadline for the store's clock resolution, microseconds. */
#define HR_SLACK_US 3000

/* A bank of @p n items "<tag>-<k>" (k from 0), added and counted. */
char *hr_bank(sb_box *box, const char *tag, size_t n);
/* Stats; the rc checked. */
sb_stats hr_stats(sb_box *box, const char *bank, const char *ledger);
/* recover must succeed; then available + reserved + on_hold + assigned +
 * retired == n and reserved == 0. Returns the stats. */
sb_stats hr_settle(sb_box *box, const char *bank, const char *ledger,
                   uint64_t n, const char *what);
/* The id's entry: SB_OK and a copy of its item and deadline, or the
 * code. */
int hr_lookup(sb_box *box, const char *ledger, const char *id, char **item,
              int64_t *expires);
/* A new hold of @p id (the rc checked): a copy of its item (NULL after a
 * failed check) and its deadline. */
char *hr_hold(sb_box *box, const char *bank, const char *ledger, const char *id,
              int64_t ttl_ms, int64_t *deadline);
int hr_same(const char *a, const char *b);
/* rc one of the codes a hold call may answer here. */
const char *hr_rc(int rc);

/* hr_call.c: one call, run on a thread of its own by hr_call_start():
 * it waits until @p at_us (0: at once; or until a pthread barrier),
 * makes the call and notes when it started and returned. */
typedef enum {
	HR_FETCH,
	HR_HOLD,
	HR_CONFIRM,
	HR_EXTEND,
	HR_RELEASE,
	HR_RECOVER
} hr_op;

typedef struct {
	/* in */
	sb_box *box;
	const char *bank, *ledger, *id;
	hr_op op;
	int64_t ttl_ms;             /* HR_HOLD, HR_EXTEND */
	unsigned int flags;         /* HR_RELEASE */
	int64_t at_us;              /* start no sooner */
	pthread_barrier_t *barrier; /* meet the other call here, or NULL */
	int role;                   /* hr_gate_role() of the thread; 0: none */
	/* out */
	int rc;
	int64_t t0, t1; /* started, returned (hr_now_us) */
	char *item;     /* SB_OK of a fetch or hold: a copy */
	int is_new;
	int64_t expires;
	sb_recover_result rr;
	pthread_t thread;
} hr_call;

/* A call of @p op by @p id (NULL for HR_RECOVER) on @p box, run by a
 * thread with gate role @p role (0: none); @p bank NULL where the op
 * takes none. The rest (ttl_ms, flags, at_us, barrier) is 0: set it
 * after. */
hr_call hr_call_of(sb_box *box, const char *bank, const char *ledger,
                   const char *id, hr_op op, int role);
/* Run @p c now, on this thread. */
void hr_call_run(hr_call *c);
/* Start @p c on a thread of its own, and wait for it. */
void hr_call_start(hr_call *c);
void hr_call_join(hr_call *c);
/* Free what the call returned (its item). */
void hr_call_clear(hr_call *c);
const char *hr_op_name(hr_op op);

/* hr_gate.c: in fault builds, hold the thread that called
 * hr_gate_role(role) at crash point @p point until the gate opens. Gate
 * 0 is the one without _at; there are HR_GATES. */
#define HR_GATES 3
int hr_gate_usable(void); /* 1 in fault builds on the generic path */
void hr_gate_init(void);
void hr_gate_role(int role);
void hr_gate_arm(const char *point, int role);
void hr_gate_arm_at(int gate, const char *point, int role);
/* Gate @p gate makes the call of the thread with @p role fail at
 * @p point (an injected fault, SB_ERROR), once, holding nobody. */
void hr_gate_fail_at(int gate, const char *point, int role);
/* The gated thread says it is done (it may end without reaching the
 * point). */
void hr_gate_done(void);
/* Wait until the gated thread reached the point (1) or ended (0). */
int hr_gate_reached(void);
int hr_gate_reached_at(int gate);
void hr_gate_open(void);
void hr_gate_open_at(int gate);

/* The parts. */
void hr_confirm_lapse(void);
void hr_extend_reclaim(void);
void hr_release_refetch(void);
void hr_twins(void);
void hr_empty_bounce(void);
void hr_stale(void);
void hr_mix(void);

#endif
