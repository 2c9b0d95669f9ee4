/* Crash test: drives the `storagebox` CLI on one store (SQLite, PostgreSQL,
 * Redis or DynamoDB), kills it at named crash points and at random moments,
 * and checks the box law from the CLI's own output (stats, export, fetch). */
#ifndef SB_CRASH_H
#define SB_CRASH_H

#include "../common/tcommon.h"
#include "storagebox/backend.h" /* SB_FAULT_*_EXIT_STATUS */

#include <sys/types.h>

typedef struct {
	const char *cli;     /* path of the storagebox executable */
	char *uri;           /* the store under test */
	int generic;         /* pass --protocol generic */
	const char *dir;     /* scratch dir for output files */
	const char *mode;    /* "fused" or "generic" */
	const char *backend; /* "sqlite", "postgresql", "redis", "dynamodb" */
	char *prefix;        /* unique per run: the servers are shared */
	/* 0 where `stats` is not one snapshot (DynamoDB scans two tables one
	 * after the other): sums are exact only while nothing runs. */
	int snapshot_stats;
	/* The program that runs hold, confirm, extend and release (holdop.c)
	 * while the CLI has no such commands; NULL: the CLI. */
	const char *holdop;
} crash_env;

/* @p name made unique to this run (cenv.prefix + name); caller frees. */
char *cname(const char *name);

extern crash_env cenv;

/* A started CLI process; its stdout and stderr go to files. */
typedef struct {
	pid_t pid;
	char *out_path, *err_path;
} cli_proc;

/* The program that runs @p command: cenv.holdop for the hold commands,
 * else the CLI. */
const char *cli_prog(const char *command);
/* Start `storagebox --uri U [--protocol generic] ARGS...` (args ends with
 * NULL). fault/skip: SB_FAULT_POINT / SB_FAULT_SKIP, or NULL. stdin_data:
 * NULL for /dev/null. Returns 0, or -1 if it could not start. */
int cli_start(cli_proc *p, const char *const *args, const char *fault,
              const char *skip, const char *stdin_data, int slot);
/* cli_start() with more environment: env holds "NAME=VALUE" strings and
 * ends with NULL (the barriers of sb_fault_point: SB_FAULT_WAIT, ...). */
int cli_start_env(cli_proc *p, const char *const *args, const char *const *env,
                  const char *fault, const char *skip, const char *stdin_data,
                  int slot);
/* Wait for it; return the wait status; *out and *err (optional) receive
 * what it printed (caller frees). */
int cli_wait(cli_proc *p, char **out, char **err);
/* Read what a reaped process printed and free its paths. */
void cli_collect(cli_proc *p, char **out, char **err);
/* Sleep until a child process exits or @p us microseconds pass, whichever
 * comes first (main() keeps SIGCHLD blocked for it). The kill tests'
 * loops wait on this between reaps and kills: a polling loop woke the
 * test thousands of times a second, on two cores that the 16 CLI
 * processes it runs already keep busy. */
void cli_sleep(int64_t us);
/* Start and wait. */
int cli_run(const char *const *args, const char *fault, const char *skip,
            const char *stdin_data, char **out, char **err);

/* "exit N" / "killed by signal N", for messages. */
const char *status_str(int status);
/* 1 if status is a normal exit with @p code. */
/* A crash point kills the process with SIGKILL (see sb_fault_point). */
#define CRASH_POINT_DEATH    (-9)
/* The exit status of a process whose fault barrier could not hold (a
 * wait timed out, a malformed variable): see sb_fault_point. */
#define CRASH_BARRIER_FAILED SB_FAULT_BARRIER_EXIT_STATUS
/* Exit status @p code, or with CRASH_POINT_DEATH: killed by SIGKILL. */
int exited_with(int status, int code);

/* `storagebox stats BANK [LEDGER]` parsed; held is 0 without a ledger.
 * Returns 0 or -1 (and a failed check). */
typedef struct {
	unsigned long long available, reserved, assigned, held;
} cli_stats;
int cli_get_stats(cli_stats *st, const char *bank, const char *ledger);

/* `storagebox export LEDGER` parsed into id -> "bank\nitem". Every id
 * appearing twice is a failed check. Returns 0 or -1. */
int cli_get_export(t_map *out, const char *ledger);

/* Parse RFC 4180 CSV (CRLF lines, header dedup_id,bank,item) into map.
 * Returns the number of ids seen twice, or -1 on a syntax error. */
int csv_parse_export(const char *text, t_map *out);

/* Add @p n items "<prefix><k>" to bank through `add BANK -`. */
int cli_add_items(const char *bank, const char *prefix, size_t n);

/* The two parts. */
void crash_points(void);
void crash_kills(void);
/* Put-back paths staged with two stores and a held lock (SQLite,
 * generic). */
void crash_staged(void);
/* before_put_back reached by twins forced into the losing order (any
 * store, generic), and the barrier's own failures. */
void crash_race(void);
/* Holds (holds.c, holds_kill.c): a death at each crash point of the
 * generic order of holds, and 1,000 hold, confirm, extend, release and
 * fetch processes, 40% SIGKILLed at random moments. */
void crash_holds_points(void);
void crash_holds_kills(void);
/* One forced race (race.c): twin A (a_args on a_uri) takes an item and is
 * held at after_take until twin B (b_args on b_uri; NULL: cenv.uri) has
 * taken one too and recorded the id with it; A then finds the id taken
 * and must die at before_put_back, printing nothing. Both run with that
 * crash point armed. Returns the item B printed (caller frees), or NULL
 * after a failed check. */
char *twins_forced(const char *a_uri, const char *const *a_args,
                   const char *b_uri, const char *const *b_args,
                   const char *what);
/* Die before the k-th pass of @p point for k = 0, 1, ... until a fetch
 * (then a recover) runs through; the laws after each and at the end. */
void crash_walk(const char *point);

/* points.c: one CLI run that must die at @p point (skip passes first)
 * and print nothing, or must succeed (the item, caller frees; NULL if it
 * did not). */
void fetch_dies(const char *bank, const char *ledger, const char *id,
                const char *point, const char *skip);
char *fetch_ok(const char *bank, const char *ledger, const char *id,
               const char *point, const char *skip);
/* `recover`, which must end with want_exit (or CRASH_POINT_DEATH); with
 * 0 the counts it printed. Returns 0 or -1. */
int run_recover(const char *bank, const char *ledger, const char *point,
                const char *skip, int want_exit, unsigned long *settled,
                unsigned long *put_back);
/* Add nitems "<point>-item-<k>" to bank. */
void setup_bank(const char *bank, const char *point, unsigned nitems);
/* stats into *st; available + reserved + assigned == nitems. 0 or -1. */
int check_conservation(const char *bank, const char *ledger, cli_stats *st,
                       const char *when, unsigned nitems);
/* After a full recover: every law, and each victim (idfmt % k) gets an
 * item, the one it holds if any. */
void check_recovered_n(const char *bank, const char *ledger, const char *point,
                       unsigned nitems, const char *idfmt, int nvictims);

#endif
