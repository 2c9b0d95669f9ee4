/* The line reader of `storagebox add`: one item per line. Kept apart from
 * the command, with a buffer entry point, so it can be fuzzed alone. */
#ifndef SB_CLI_LINES_H
#define SB_CLI_LINES_H

#include <stddef.h>
#include <stdio.h>

/** Items split out of one input. */
typedef struct {
	char *buf;    /* owned: the input, each item NUL-terminated in place */
	char **items; /* owned array of n pointers into buf */
	size_t n;
} cli_lines;

/* Room for "line N: reason" or an I/O error message. */
#define CLI_LINES_ERRSIZE 256

/**
 * Split @p data (@p len bytes, copied) into items: a trailing "\r\n" or
 * "\n" is stripped, empty lines are skipped, and every line must be a
 * valid item (no NUL, no CR, valid UTF-8, not too long).
 * @param err receives "line N: reason" on failure
 * @return 0, or -1 (nothing is left allocated)
 */
int cli_lines_from_buf(cli_lines *out, const char *data, size_t len, char *err,
                       size_t errsize);

/** The same for everything that can be read from @p f. */
int cli_lines_from_file(cli_lines *out, FILE *f, char *err, size_t errsize);

/** Free what a successful call allocated. */
void cli_lines_free(cli_lines *l);

#endif
