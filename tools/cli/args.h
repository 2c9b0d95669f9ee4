/* Option parsing for the CLI: a tiny iterator over argv that knows long
 * options (`--name VALUE`, `--name=VALUE`, flags), `-h`/`--help`, and `--`.
 * It is our own rather than getopt_long because getopt permutes argv and
 * has no notion of "global options before the command, command options
 * after it", which the CLI contract needs. */
#ifndef SB_CLI_ARGS_H
#define SB_CLI_ARGS_H

/** One long option a parser accepts. */
typedef struct {
	const char *name; /* with dashes: "--min-age" */
	int has_value;    /* 1: takes a value, 0: a flag */
} cli_opt;

/** Position in argv; `dashdash` survives from global to command parsing,
 *  because after `--` nothing is an option. */
typedef struct {
	int argc;
	char **argv;
	int i;
	int dashdash;
} cli_args;

typedef enum {
	CLI_ARG_END,        /* no more arguments */
	CLI_ARG_POSITIONAL, /* value = the argument */
	CLI_ARG_OPTION,     /* opt = index in the table, value = its value
	                       (NULL for a flag) */
	CLI_ARG_HELP,       /* -h or --help */
	CLI_ARG_BAD         /* text = argument, why = reason */
} cli_arg_kind;

typedef struct {
	cli_arg_kind kind;
	int opt;
	const char *value;
	const char *text;
	const char *why;
} cli_arg;

void cli_args_init(cli_args *a, int argc, char **argv, int first);

/** Next argument, classified against @p opts (a table ended by a NULL
 *  name; NULL means "no options besides --help"). */
cli_arg cli_args_next(cli_args *a, const cli_opt *opts);

#endif
