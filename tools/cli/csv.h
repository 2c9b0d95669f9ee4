/* RFC 4180 CSV output for `storagebox export`. */
#ifndef SB_CLI_CSV_H
#define SB_CLI_CSV_H

#include <stddef.h>
#include <stdio.h>

/** 1 if @p s must be quoted (holds a comma, quote, CR or LF). */
int cli_csv_needs_quotes(const char *s);

/** Write one field, quoted and with inner quotes doubled when needed. */
void cli_csv_field(FILE *out, const char *s);

/**
 * Write @p n fields separated by commas and ended by CRLF.
 * @return 0, or -1 if @p out is in error (e.g. a closed pipe)
 */
int cli_csv_row(FILE *out, const char *const *fields, size_t n);

#endif
