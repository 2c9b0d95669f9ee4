/* storagebox: the command-line tool. Global options, the command table and
 * dispatch; each command lives in its own cmd_*.c file. */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HELP_TAIL                                                    \
	"\nGlobal options (before the command) and exit codes: see " \
	"'storagebox --help'.\n"

const cli_command cli_commands[] = {
	{ "init", "init [BANK [LEDGER]] [--upgrade]",
	  "create the tables, and BANK/LEDGER",
	  "Create what the store needs (tables), and the bank (empty) and the\n"
	  "ledger when named. Idempotent. Prints nothing on success.\n\n"
	  "  --upgrade  also move the store's data from an older layout to the\n"
	  "             current one, in place, while clients work (Redis: a\n"
	  "             store of 0.x; the others: nothing to do). Stop clients\n"
	  "             of older releases first.\n" HELP_TAIL,
	  cli_cmd_init },
	{ "add", "add BANK [FILE|-]", "add items, one per line",
	  "Add the items of FILE (or stdin: '-' or no FILE), one per line, to\n"
	  "BANK (created if missing). A trailing \"\\r\\n\" or \"\\n\" is "
	  "stripped and\nempty lines are skipped. Every line is checked "
	  "first: one bad line\n(\"line N: reason\") fails the command and "
	  "adds nothing. Items the bank\nalready holds (also ones handed out) "
	  "are skipped. Prints\n\"added N, skipped M\"; shows progress on "
	  "stderr when it is a terminal.\n" HELP_TAIL,
	  cli_cmd_add },
	{ "fetch", "fetch BANK LEDGER DEDUP_ID", "print the item of DEDUP_ID",
	  "Print the item DEDUP_ID holds in LEDGER, or give it a new one from\n"
	  "BANK and print that. Exit 0 with the item on stdout, 3 when BANK\n"
	  "is empty and the id holds nothing (stdout stays empty), 1 on error.\n"
	  "Use '--' before an id that starts with '-'.\n" HELP_TAIL,
	  cli_cmd_fetch },
	{ "hold", "hold BANK LEDGER DEDUP_ID --ttl DURATION",
	  "fetch, held until a deadline",
	  "Like fetch, but a new item is only held for DEDUP_ID until now +\n"
	  "DURATION; 'confirm' makes it the id's for good, else it lapses and\n"
	  "goes back to BANK. An id that holds an item (for good, or on a\n"
	  "hold that has not lapsed) gets it back unchanged. Prints the item\n"
	  "on stdout and its deadline, in RFC 3339 UTC\n"
	  "(2026-12-02T12:49:03.250Z), alone on stderr; nothing on stderr\n"
	  "when the id holds the item for good. Exit 0, 3 when BANK is empty\n"
	  "and the id holds nothing, 1 on error.\n\n"
	  "  --ttl DURATION  how long the hold lasts: whole numbers with a unit\n"
	  "                  (ms, s, m, h, d), e.g. 90s, 10m, 2h, 1h30m; 1 ms\n"
	  "                  to 30 days; required\n" HELP_TAIL,
	  cli_cmd_hold },
	{ "confirm", "confirm LEDGER DEDUP_ID", "make the id's hold for good",
	  "Make the hold of DEDUP_ID in LEDGER permanent, if its deadline has\n"
	  "not passed (the deadline alone decides). Idempotent. Exit 0 done\n"
	  "(also when the item was already the id's for good), 4 when the id\n"
	  "holds nothing, 5 when its hold lapsed, 1 on error.\n" HELP_TAIL,
	  cli_cmd_confirm },
	{ "extend", "extend LEDGER DEDUP_ID --ttl DURATION",
	  "a new deadline for the id's hold",
	  "Give the hold of DEDUP_ID in LEDGER a new deadline, now + DURATION,\n"
	  "if it has not lapsed (an item held for good stays so). Exit 0 done,\n"
	  "4 when the id holds nothing, 5 when its hold lapsed, 1 on error.\n\n"
	  "  --ttl DURATION  as for hold (ms, s, m, h, d; 1 ms to 30 days);\n"
	  "                  required\n" HELP_TAIL,
	  cli_cmd_extend },
	{ "release", "release LEDGER DEDUP_ID [--retire]",
	  "the id gives its item back",
	  "DEDUP_ID gives back the item it holds in LEDGER (held or for good):\n"
	  "its entry goes, the item becomes available again (or, with\n"
	  "--retire, is never handed out again), and the id may ask anew.\n"
	  "Exit 0 done, 4 when the id holds nothing (also a second release),\n"
	  "5 when its hold had lapsed (the item went back to the bank, not\n"
	  "retired), 1 on error.\n\n"
	  "  --retire  take the item out of circulation instead\n" HELP_TAIL,
	  cli_cmd_release },
	{ "stats", "stats BANK [LEDGER]", "counts of BANK's items",
	  "Print 'available: N', 'reserved: N' and 'assigned: N' for BANK,\n"
	  "'held: N' (ids of LEDGER holding an item of BANK) when LEDGER is\n"
	  "given, then 'on_hold: N' (held until a deadline, lapsed ones\n"
	  "included until reclaimed) and 'retired: N'. Conservation: items\n"
	  "added = available + reserved + on_hold + assigned + retired.\n" HELP_TAIL,
	  cli_cmd_stats },
	{ "export", "export LEDGER [--holds]", "LEDGER's assignments as CSV",
	  "Write every assignment of LEDGER to stdout as RFC 4180 CSV with\n"
	  "CRLF line ends and the header 'dedup_id,bank,item'. Fields holding\n"
	  "a comma or a quote are quoted, inner quotes doubled.\n\n"
	  "  --holds  also the live holds, with a fourth column expires_at\n"
	  "           (RFC 3339 UTC; empty for items held for good) and the\n"
	  "           header 'dedup_id,bank,item,expires_at'\n" HELP_TAIL,
	  cli_cmd_export },
	{ "recover", "recover BANK LEDGER [--min-age SECONDS]",
	  "finish dead clients' reservations",
	  "Roll forward the reservations of BANK made for LEDGER (left by\n"
	  "generic-path fetches that died): each is recorded and settled, or\n"
	  "put back if its id holds another item. Safe at any time.\n"
	  "Also reclaims lapsed holds and finishes releases cut short.\n"
	  "Prints 'settled N, put back M', then ', foreign K' when reservations\n"
	  "of other ledgers were left alone, ', lapsed L' when lapsed holds\n"
	  "went back to the bank and ', released R' when releases were\n"
	  "finished.\n\n"
	  "  --min-age SECONDS  only reservations at least this old "
	  "(default: all)\n" HELP_TAIL,
	  cli_cmd_recover },
	{ "bench", "bench [OPTIONS]", "benchmark: many clients, law checked",
	  "Load a fresh bank (a new name each run) with N items, then fire\n"
	  "fetches from concurrent clients (threads, each with its own box;\n"
	  "with --procs, that many processes of --clients threads each). Then\n"
	  "check the box law on the answers and on the store, and print\n"
	  "claims/s, requests/s, p50/p95/p99 latency, claims/s over the first\n"
	  "and the last 10% of the bank (when it was drained), and peak RSS.\n"
	  "Exit 0 when the law holds and no request failed, 1 otherwise.\n\n"
	  "  --clients N    threads per process (default 4)\n"
	  "  --procs N      processes (default 1)\n"
	  "  --items N      items loaded (default 10000)\n"
	  "  --ids N        distinct dedup ids (default: as many as items)\n"
	  "  --repeat R     share of requests repeating an id, 0..0.99\n"
	  "                 (double clicks; default 0.2)\n"
	  "  --requests N   requests in all (default: enough for every id)\n"
	  "  --duration S   stop after S seconds even if requests remain\n"
	  "  --seed N       seed of the request order, to replay a run\n"
	  "  --json         one JSON object instead of text\n"
	  "  --quiet        no progress line on a terminal\n"
	  "  --holds        then the same requests as holds on a fresh bank,\n"
	  "                 each new hold confirmed or released: hold+confirm\n"
	  "                 claims/s beside the fetches', the latency of a\n"
	  "                 hold and of a confirm, the law checked again\n"
	  "  --abandon R    with --holds, the share of ids that release their\n"
	  "                 hold instead of confirming it, 0..1 (default 0.1)\n"
	  "  --runs N       with --holds, N fetch-then-holds pairs on fresh\n"
	  "                 banks (default 1): the medians of the runs'\n"
	  "                 figures, and of their hold/fetch and\n"
	  "                 confirm/fetch p50 ratios (one run's ratio is\n"
	  "                 noisy on a busy machine)\n" HELP_TAIL,
	  cli_cmd_bench },
	{ "demo", "demo [--holds] [--workers N] [--seed N]",
	  "the movie store or box office, verdict",
	  "Tell the movie-store story on a fresh SQLite file in a temp dir\n"
	  "(removed at the end): 30 voucher codes, 200 customers pressing\n"
	  "the button 3 times each from concurrent workers, then check the\n"
	  "box law from the answers, the stats and the export. Exit 0 when the\n"
	  "law holds, 1 otherwise. Needs no server. --uri and --ledger-uri\n"
	  "are ignored; --protocol generic runs the story on the generic path.\n\n"
	  "  --holds      the box office instead: 300 seats, 400 buyers clicking\n"
	  "               twice, holds of 2 s; most pay, some ask for more time,\n"
	  "               some walk away (their holds lapse), some pay too late,\n"
	  "               some cancel; then a resale of the seats that came\n"
	  "               back, and a verdict on every law of holds\n"
	  "  --workers N  concurrent workers, 3..64 (default 8)\n"
	  "  --seed N     seed of the shuffle, to replay a run "
	  "(default: random)\n",
	  cli_cmd_demo },
	{ NULL, NULL, NULL, NULL, NULL }
};

enum {
	G_URI,
	G_LEDGER_URI,
	G_PROTOCOL,
	G_VERSION
};

static const cli_opt global_opts[] = { { "--uri", 1 },
	                               { "--ledger-uri", 1 },
	                               { "--protocol", 1 },
	                               { "--version", 0 },
	                               { NULL, 0 } };

static void print_schemes(FILE *f)
{
	const char *names[32];
	size_t n = sb_backend_list(names, 32);

	if (n > 32)
		n = 32;
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? ", " : "", names[i]);
	fputc('\n', f);
}

static void print_main_help(void)
{
	printf("usage: storagebox [GLOBAL] COMMAND [ARGS]\n\n"
	       "Hand out items from a bank exactly once, across many "
	       "clients.\n\nCommands:\n");
	for (const cli_command *c = cli_commands; c->name; c++)
		printf("  %-41s %s\n", c->synopsis, c->summary);
	printf("\nGlobal options (before the command):\n"
	       "  --uri URI           store of the banks (and ledgers); "
	       "default:\n"
	       "                      $STORAGEBOX_URI, else " CLI_DEFAULT_URI
	       "\n"
	       "  --ledger-uri URI    keep the ledgers in another store\n"
	       "  --protocol auto|generic\n"
	       "                      generic forces reserve/record/settle "
	       "even on one store\n"
	       "  -h, --help          this help ('storagebox CMD --help' "
	       "for a command)\n"
	       "  --version           print the version and the schemes of "
	       "this build\n"
	       "  --                  end of options: what follows is never "
	       "an option\n"
	       "\nURIs: sqlite:PATH, sqlite:///abs/path, sqlite::memory:, "
	       "memory:NAME, ...\n"
	       "  options in the query: ?lease=SECONDS, and for sqlite\n"
	       "  ?synchronous=full|normal, ?busy_timeout=MS\n"
	       "  schemes in this build: ");
	print_schemes(stdout);
	printf("\nExit codes: 0 ok, 1 error (message on stderr), 2 usage "
	       "error,\n  3 fetch, hold: the bank is empty and the id holds "
	       "nothing,\n  4 confirm, extend, release: the id holds "
	       "nothing,\n  5 confirm, extend, release: the id's hold "
	       "lapsed.\n\nManual: man storagebox\n");
}

static int main_usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "storagebox: %s '%s'", what, arg);
	fputs("\nusage: storagebox [GLOBAL] COMMAND [ARGS]\n"
	      "Try 'storagebox --help'.\n",
	      stderr);
	return CLI_EXIT_USAGE;
}

/* Exit code when main should stop now (help, version, usage error),
 * CLI_CONTINUE after a global option was applied. */
static int apply_global(cli_globals *g, const cli_arg *a)
{
	switch (a->opt) {
	case G_URI: g->uri = a->value; break;
	case G_LEDGER_URI: g->ledger_uri = a->value; break;
	case G_PROTOCOL:
		if (strcmp(a->value, "auto") == 0)
			g->protocol = SB_PROTOCOL_AUTO;
		else if (strcmp(a->value, "generic") == 0)
			g->protocol = SB_PROTOCOL_GENERIC;
		else
			return main_usage_error("--protocol must be 'auto' or "
			                        "'generic', not",
			                        a->value);
		break;
	case G_VERSION:
		printf("storagebox %s\nschemes: ", sb_version());
		print_schemes(stdout);
		return CLI_EXIT_OK;
	}
	return CLI_CONTINUE;
}

static const cli_command *find_command(const char *name)
{
	for (const cli_command *c = cli_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* Parse globals up to the command name: CLI_CONTINUE with ctx->cmd set,
 * or an exit code. */
static int parse_globals(cli_ctx *ctx)
{
	for (;;) {
		cli_arg a = cli_args_next(&ctx->args, global_opts);
		int rc;

		switch (a.kind) {
		case CLI_ARG_END:
			fputs("storagebox: no command given\nusage: storagebox "
			      "[GLOBAL] COMMAND [ARGS]\nTry 'storagebox "
			      "--help'.\n",
			      stderr);
			return CLI_EXIT_USAGE;
		case CLI_ARG_HELP: print_main_help(); return CLI_EXIT_OK;
		case CLI_ARG_BAD: return main_usage_error(a.why, a.text);
		case CLI_ARG_OPTION:
			rc = apply_global(&ctx->g, &a);
			if (rc != CLI_CONTINUE)
				return rc;
			break;
		case CLI_ARG_POSITIONAL:
			ctx->cmd = find_command(a.value);
			if (!ctx->cmd)
				return main_usage_error("unknown command",
				                        a.value);
			return CLI_CONTINUE;
		}
	}
}

/* Flush stdout for paths that ran no command (help, version). */
static int finish_main(int code)
{
	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "storagebox: cannot write to stdout: %s\n",
		        errno ? strerror(errno) : "write error");
		return CLI_EXIT_ERROR;
	}
	return code;
}

int main(int argc, char **argv)
{
	cli_ctx ctx;
	const char *env = getenv("STORAGEBOX_URI");
	int rc;

	/* A closed pipe must give a write error (exit 1), not kill us
	 * silently halfway through an export. */
	signal(SIGPIPE, SIG_IGN);

	memset(&ctx, 0, sizeof ctx);
	ctx.g.uri = env && env[0] ? env : CLI_DEFAULT_URI;
	ctx.g.protocol = SB_PROTOCOL_AUTO;
	cli_args_init(&ctx.args, argc, argv, 1);

	rc = parse_globals(&ctx);
	if (rc != CLI_CONTINUE)
		return finish_main(rc);
	return ctx.cmd->run(&ctx);
}
