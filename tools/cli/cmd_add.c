/* storagebox add BANK [FILE|-]: load items, one per line. All lines are
 * read and checked before the first write, then added in batches so a
 * million codes neither make one huge transaction nor a million small
 * ones. */
#include "cli.h"
#include "lines.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Progress redraws at most this often: a terminal cannot show more, and
 * writing faster would slow the load down. */
#define PROGRESS_INTERVAL_NS 100000000LL

typedef struct {
	int enabled; /* stderr is a terminal */
	int shown;   /* something was drawn: end the line at the end */
	long long last_ns;
} progress;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void progress_show(progress *p, size_t done, size_t total, int last)
{
	long long t;

	if (!p->enabled)
		return;
	t = now_ns();
	if (!last && p->shown && t - p->last_ns < PROGRESS_INTERVAL_NS)
		return;
	if (last && !p->shown)
		return; /* finished within the first interval: stay quiet */
	fprintf(stderr, "\radded %zu/%zu", done, total);
	if (last)
		fputc('\n', stderr);
	p->shown = 1;
	p->last_ns = t;
}

/* Read FILE (or stdin for "-" / none). 0, or 1 after printing why. */
static int read_items(const cli_ctx *c, const char *path, cli_lines *out)
{
	char err[CLI_LINES_ERRSIZE];
	int use_stdin = !path || strcmp(path, "-") == 0;
	FILE *f = use_stdin ? stdin : fopen(path, "rb");
	int rc;

	if (!f) {
		cli_err(c, "cannot open '%s': %s", path, strerror(errno));
		return CLI_EXIT_ERROR;
	}
	rc = cli_lines_from_file(out, f, err, sizeof err);
	if (!use_stdin)
		fclose(f);
	if (rc != 0) {
		/* Exactly "line N: reason", as the contract promises. */
		cli_err(c, "%s", err);
		return CLI_EXIT_ERROR;
	}
	return CLI_EXIT_OK;
}

/* Add all items in batches; totals in *sum. 0 or 1 after printing. */
static int add_batches(const cli_ctx *c, sb_box *box, const char *bank,
                       const cli_lines *l, sb_add_result *sum)
{
	progress p = { isatty(2), 0, 0 };

	memset(sum, 0, sizeof *sum);
	for (size_t i = 0, k; i < l->n; i += k) {
		size_t bytes = 0;
		sb_add_result r;
		int rc;

		for (k = 0; i + k < l->n && k < CLI_ADD_BATCH_ITEMS &&
		            (k == 0 || bytes < CLI_ADD_BATCH_BYTES);
		     k++)
			bytes += strlen(l->items[i + k]) + 1;
		rc = sb_box_add(&r, box, bank,
		                (const char *const *)l->items + i, k);

		if (rc < 0) {
			progress_show(&p, i, l->n, 1);
			cli_box_error(c, box, rc);
			if (i > 0)
				cli_err(c,
				        "the first %zu items were added "
				        "(%" PRIu64 " new); the rest were not",
				        i, sum->added);
			return CLI_EXIT_ERROR;
		}
		sum->added += r.added;
		sum->skipped += r.skipped;
		progress_show(&p, i + k, l->n, i + k == l->n);
	}
	return CLI_EXIT_OK;
}

int cli_cmd_add(cli_ctx *c)
{
	const char *pos[2] = { NULL, NULL };
	cli_lines lines;
	sb_add_result sum;
	size_t n;
	sb_box *box;
	int rc = cli_parse(c, NULL, NULL, pos, 1, 2, &n);

	if (rc != CLI_CONTINUE)
		return rc;
	/* Read before opening: a bad file should not even touch the store. */
	if (read_items(c, pos[1], &lines) != 0)
		return CLI_EXIT_ERROR;
	if (cli_open(&box, c) != 0) {
		cli_lines_free(&lines);
		return CLI_EXIT_ERROR;
	}
	if (lines.n == 0) {
		/* Nothing to add, but `add` still leaves the bank existing
		 * (and a bad bank name is still reported). */
		memset(&sum, 0, sizeof sum);
		rc = sb_box_init(box, pos[0], NULL);
		rc = rc < 0 ? cli_box_error(c, box, rc) : CLI_EXIT_OK;
	} else {
		rc = add_batches(c, box, pos[0], &lines, &sum);
	}
	if (rc == CLI_EXIT_OK)
		printf("added %" PRIu64 ", skipped %" PRIu64 "\n", sum.added,
		       sum.skipped);
	sb_box_close(box);
	cli_lines_free(&lines);
	return cli_finish(c, rc);
}
