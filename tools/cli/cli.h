/* Shared declarations of the `storagebox` command-line tool. */
#ifndef SB_CLI_H
#define SB_CLI_H

#include "storagebox/storagebox.h"
#include "args.h"

#include <stddef.h>

/* Exit codes: part of the stable CLI contract (DESIGN.md section 6). */
enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_ERROR = 1,
	CLI_EXIT_USAGE = 2,
	CLI_EXIT_EMPTY = 3,
	CLI_EXIT_NOTHING = 4, /* confirm/extend/release: the id holds nothing */
	CLI_EXIT_LAPSED = 5   /* confirm/extend/release: its hold lapsed */
};

/* Returned by cli_parse() when the command should go on. */
#define CLI_CONTINUE (-1)

/* Used when neither --uri nor $STORAGEBOX_URI says otherwise. */
#define CLI_DEFAULT_URI "sqlite:storagebox.db"

/* Items per sb_box_add call of `add` and of bench's load: a batch ends at
 * this many items or CLI_ADD_BATCH_BYTES, whichever comes first. 50,000
 * per call loads PostgreSQL 1.7x and Redis 1.25x faster than 1,000 (fewer
 * transactions and round trips; a store that takes fewer per call gets
 * the batch split by the core); the byte bound keeps a batch of long items
 * from holding a store's write lock (or Redis's single thread) for long
 * and bounds the CLI's memory. */
#define CLI_ADD_BATCH_ITEMS 50000
#define CLI_ADD_BATCH_BYTES (8u << 20)

/** Global options, resolved (uri never NULL). */
typedef struct {
	const char *uri;
	const char *ledger_uri; /* NULL: the bank store keeps the ledgers */
	sb_protocol protocol;
} cli_globals;

struct cli_ctx;

/** One command of the tool. */
typedef struct {
	const char *name;
	const char *synopsis; /* "fetch BANK LEDGER DEDUP_ID" */
	const char *summary;  /* one line for `storagebox --help` */
	const char *help;     /* body of `storagebox CMD --help` */
	int (*run)(struct cli_ctx *ctx);
} cli_command;

/** What a command gets: the globals and argv after the command name. */
typedef struct cli_ctx {
	cli_globals g;
	const cli_command *cmd;
	cli_args args;
} cli_ctx;

#if defined(__GNUC__)
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLI_PRINTF(f, a)
#endif

/* common.c */

/** "storagebox: CMD: message" on stderr. */
void cli_err(const cli_ctx *c, const char *fmt, ...) CLI_PRINTF(2, 3);

/** Report a usage error (message, usage line, hint) and return 2. */
int cli_usage_error(const cli_ctx *c, const char *fmt, ...) CLI_PRINTF(2, 3);

/**
 * Parse the command's arguments: up to @p max positionals into @p pos
 * (count in *npos), option values into @p optvals (same index as @p opts;
 * a flag that was given gets "", absent ones stay NULL).
 * @return CLI_CONTINUE, or the exit code to return now (0 after --help,
 *         2 on a usage error)
 */
int cli_parse(cli_ctx *c, const cli_opt *opts, const char **optvals,
              const char **pos, size_t min, size_t max, size_t *npos);

/** Print a command's help on stdout. @return exit code */
int cli_print_help(const cli_ctx *c);

/** Open the box named by the globals; on failure print the (redacted)
 *  message and return 1. @return 0 or 1 */
int cli_open(sb_box **out, const cli_ctx *c);

/** Print the box's last error for result @p rc. @return 1 */
int cli_box_error(const cli_ctx *c, const sb_box *box, int rc);

/** The --ttl of hold and extend (@p val NULL: not given) into *ms.
 *  @return CLI_CONTINUE, or 2 after the usage error */
int cli_ttl_arg(const cli_ctx *c, const char *val, int64_t *ms);

/**
 * Exit code of confirm, extend and release for result @p rc: 0, 4 (the
 * id holds nothing), 5 (its hold lapsed; @p lapsed_note says what became
 * of the item) or 1, with the message on stderr.
 */
int cli_hold_answer(const cli_ctx *c, const sb_box *box, int rc, const char *id,
                    const char *lapsed_note);

/** Flush stdout and turn a write error (closed pipe, full disk) into
 *  exit 1. @return @p code, or 1 if stdout failed */
int cli_finish(const cli_ctx *c, int code);

/* The commands (cmd_*.c, demo.c). */
int cli_cmd_init(cli_ctx *c);
int cli_cmd_add(cli_ctx *c);
int cli_cmd_fetch(cli_ctx *c);
int cli_cmd_stats(cli_ctx *c);
int cli_cmd_export(cli_ctx *c);
int cli_cmd_recover(cli_ctx *c);
int cli_cmd_hold(cli_ctx *c);
int cli_cmd_confirm(cli_ctx *c);
int cli_cmd_extend(cli_ctx *c);
int cli_cmd_release(cli_ctx *c);
int cli_cmd_demo(cli_ctx *c);
int cli_cmd_bench(cli_ctx *c);

/** The command table (main.c), ended by a NULL name. */
extern const cli_command cli_commands[];

#endif
