/* RFC 4180 CSV writer. Quoting only the fields that need it keeps plain
 * codes readable; CRLF line ends are what RFC 4180 (and spreadsheets)
 * expect, whatever the platform. */
#include "csv.h"

#include <string.h>

int cli_csv_needs_quotes(const char *s)
{
	return strpbrk(s, ",\"\r\n") != NULL;
}

void cli_csv_field(FILE *out, const char *s)
{
	if (!cli_csv_needs_quotes(s)) {
		fputs(s, out);
		return;
	}
	putc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			putc('"', out);
		putc(*s, out);
	}
	putc('"', out);
}

int cli_csv_row(FILE *out, const char *const *fields, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			putc(',', out);
		cli_csv_field(out, fields[i]);
	}
	fputs("\r\n", out);
	return ferror(out) ? -1 : 0;
}
