/* Option iterator: see args.h for why this is not getopt_long. */
#include "args.h"

#include <stddef.h>
#include <string.h>

void cli_args_init(cli_args *a, int argc, char **argv, int first)
{
	a->argc = argc;
	a->argv = argv;
	a->i = first;
	a->dashdash = 0;
}

static cli_arg bad(const char *text, const char *why)
{
	cli_arg r = { CLI_ARG_BAD, -1, NULL, text, why };
	return r;
}

/* Index of the option called @p name (length @p len), or -1. */
static int find_opt(const cli_opt *opts, const char *name, size_t len)
{
	for (int k = 0; opts && opts[k].name; k++)
		if (strlen(opts[k].name) == len &&
		    memcmp(opts[k].name, name, len) == 0)
			return k;
	return -1;
}

/* A `--name[=value]` argument (or -h). */
static cli_arg long_opt(cli_args *a, const cli_opt *opts, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	cli_arg r = { CLI_ARG_OPTION, -1, NULL, arg, NULL };

	if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
		r.kind = CLI_ARG_HELP;
		return r;
	}
	r.opt = find_opt(opts, arg, len);
	if (r.opt < 0)
		return bad(arg, "unknown option");
	if (!opts[r.opt].has_value) {
		if (eq)
			return bad(arg, "option takes no value");
		return r;
	}
	if (eq) {
		r.value = eq + 1;
	} else if (a->i < a->argc) {
		/* Like getopt: the next word is the value, whatever it
		 * looks like, so `--uri -weird` works. */
		r.value = a->argv[a->i++];
	} else {
		return bad(arg, "option needs a value");
	}
	return r;
}

cli_arg cli_args_next(cli_args *a, const cli_opt *opts)
{
	cli_arg r = { CLI_ARG_END, -1, NULL, NULL, NULL };
	const char *arg;

	if (a->i >= a->argc)
		return r;
	arg = a->argv[a->i++];
	if (!a->dashdash && strcmp(arg, "--") == 0) {
		a->dashdash = 1;
		return cli_args_next(a, opts);
	}
	/* "-" alone is an operand (stdin), as usual on Unix. */
	if (a->dashdash || arg[0] != '-' || arg[1] == '\0') {
		r.kind = CLI_ARG_POSITIONAL;
		r.value = arg;
		r.text = arg;
		return r;
	}
	return long_opt(a, opts, arg);
}
