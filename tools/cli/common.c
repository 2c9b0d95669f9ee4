/* Helpers every command shares: messages, argument parsing, opening the
 * box, and the final check of stdout. */
#include "cli.h"
#include "ttl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void vmsg(const cli_ctx *c, const char *fmt, va_list ap)
{
	fprintf(stderr, "storagebox: %s: ", c->cmd->name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_err(const cli_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(c, fmt, ap);
	va_end(ap);
}

int cli_usage_error(const cli_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(c, fmt, ap);
	va_end(ap);
	fprintf(stderr, "usage: storagebox [GLOBAL] %s\n", c->cmd->synopsis);
	fprintf(stderr, "Try 'storagebox %s --help'.\n", c->cmd->name);
	return CLI_EXIT_USAGE;
}

int cli_print_help(const cli_ctx *c)
{
	printf("usage: storagebox [GLOBAL] %s\n\n%s", c->cmd->synopsis,
	       c->cmd->help);
	return cli_finish(c, CLI_EXIT_OK);
}

static int bad_arg(const cli_ctx *c, const cli_arg *a)
{
	/* Globals after the command are a common slip: say where they go. */
	if (strncmp(a->text, "--uri", 5) == 0 ||
	    strncmp(a->text, "--ledger-uri", 12) == 0 ||
	    strncmp(a->text, "--protocol", 10) == 0)
		return cli_usage_error(c,
		                       "%s '%s' (global options go "
		                       "before the command)",
		                       a->why, a->text);
	if (strcmp(a->why, "unknown option") == 0)
		return cli_usage_error(c,
		                       "unknown option '%s' (put '--' "
		                       "before an argument that starts with "
		                       "'-')",
		                       a->text);
	return cli_usage_error(c, "%s '%s'", a->why, a->text);
}

int cli_parse(cli_ctx *c, const cli_opt *opts, const char **optvals,
              const char **pos, size_t min, size_t max, size_t *npos)
{
	size_t n = 0;

	for (;;) {
		cli_arg a = cli_args_next(&c->args, opts);

		switch (a.kind) {
		case CLI_ARG_END:
			*npos = n;
			if (n < min)
				return cli_usage_error(c, "missing arguments");
			if (n > max)
				return cli_usage_error(c, "too many arguments");
			return CLI_CONTINUE;
		case CLI_ARG_POSITIONAL:
			/* Keep counting past max to report it at the end,
			 * after any --help that may still come. */
			if (n < max)
				pos[n] = a.value;
			n++;
			break;
		case CLI_ARG_OPTION:
			optvals[a.opt] = a.value ? a.value : "";
			break;
		case CLI_ARG_HELP: return cli_print_help(c);
		case CLI_ARG_BAD: return bad_arg(c, &a);
		}
	}
}

int cli_open(sb_box **out, const cli_ctx *c)
{
	sb_open_opts opts = SB_OPEN_OPTS_INIT;
	char errbuf[SB_ERRMSG_SIZE] = "";
	int rc;

	opts.ledger_uri = c->g.ledger_uri;
	opts.protocol = c->g.protocol;
	rc = sb_box_open(out, c->g.uri, &opts, errbuf, sizeof errbuf);
	if (rc == SB_OK)
		return 0;
	/* Only the core's errbuf: it has the password redacted, the URI we
	 * were given may not. */
	cli_err(c, "%s", errbuf[0] ? errbuf : sb_strerror(rc));
	return CLI_EXIT_ERROR;
}

int cli_box_error(const cli_ctx *c, const sb_box *box, int rc)
{
	const char *msg = box ? sb_box_errmsg(box) : "";

	cli_err(c, "%s", msg && msg[0] ? msg : sb_strerror(rc));
	return CLI_EXIT_ERROR;
}

int cli_ttl_arg(const cli_ctx *c, const char *val, int64_t *ms)
{
	const char *why = NULL;

	if (!val)
		return cli_usage_error(c, "--ttl DURATION is required");
	if (cli_parse_ttl(val, ms, &why) != 0)
		return cli_usage_error(c,
		                       "--ttl '%s' %s: give 1 ms to 30 days "
		                       "as a number and a unit (ms, s, m, h, "
		                       "d), e.g. 90s, 10m, 2h, 1h30m",
		                       val, why);
	return CLI_CONTINUE;
}

int cli_hold_answer(const cli_ctx *c, const sb_box *box, int rc, const char *id,
                    const char *lapsed_note)
{
	switch (rc) {
	case SB_OK: return CLI_EXIT_OK;
	case SB_ENOTFOUND:
		cli_err(c, "'%s' holds nothing in this ledger", id);
		return CLI_EXIT_NOTHING;
	case SB_EEXPIRED:
		cli_err(c, "the hold of '%s' lapsed: its deadline passed%s", id,
		        lapsed_note);
		return CLI_EXIT_LAPSED;
	default: return cli_box_error(c, box, rc);
	}
}

int cli_finish(const cli_ctx *c, int code)
{
	/* fflush alone misses an error an earlier implicit flush hit;
	 * ferror remembers it. */
	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		int e = errno;

		cli_err(c, "cannot write to stdout: %s",
		        e ? strerror(e) : "write error");
		return CLI_EXIT_ERROR;
	}
	return code;
}
