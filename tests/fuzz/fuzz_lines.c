/* Fuzz target: the line reader of `storagebox add` (tools/cli/lines.c).
 * The bytes are split twice, from a buffer and through a FILE (fmemopen:
 * the path the CLI takes for stdin and files); both must agree, and every
 * item must obey what lines.h promises. */
#include "lines.h"
#include "internal.h"
#include "fuzz_common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_items(const cli_lines *l, const uint8_t *data, size_t size)
{
	size_t i, nonempty = 0, pos = 0;

	/* Count the lines that are not empty once their line end is off. */
	while (pos < size) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t n = nl ? (size_t)(nl - (data + pos)) : size - pos;
		size_t m = n && data[pos + n - 1] == '\r' ? n - 1 : n;

		nonempty += m > 0;
		pos += n + (nl != NULL);
	}
	CHECK(NULL, l->n == nonempty);
	for (i = 0; i < l->n; i++) {
		size_t len = strlen(l->items[i]);

		CHECK(NULL, len > 0);
		CHECK(NULL,
		      l->items[i] >= l->buf && l->items[i] < l->buf + size);
		CHECK(NULL, !memchr(l->items[i], '\n', len));
		CHECK(NULL, !memchr(l->items[i], '\r', len));
		CHECK(NULL, sb_validate_reason(l->items[i], len) == NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cli_lines a, b;
	char ea[CLI_LINES_ERRSIZE], eb[CLI_LINES_ERRSIZE];
	int ra, rb;
	FILE *f;

	if (size > FZ_MAX_INPUT)
		return 0;
	ra = cli_lines_from_buf(&a, (const char *)data, size, ea, sizeof(ea));
	CHECK(NULL, ra == 0 || ra == -1);
	if (ra == 0)
		check_items(&a, data, size);
	else
		CHECK(NULL, a.buf == NULL && a.items == NULL && a.n == 0 &&
		                    strncmp(ea, "line ", 5) == 0);

	/* fmemopen of 0 bytes fails on glibc: nothing to compare then. */
	f = size ? fmemopen((void *)data, size, "rb") : NULL;
	if (f) {
		size_t i;

		rb = cli_lines_from_file(&b, f, eb, sizeof(eb));
		fclose(f);
		CHECK(NULL, rb == ra);
		if (rb == 0) {
			CHECK(NULL, b.n == a.n);
			for (i = 0; i < a.n; i++)
				CHECK(NULL,
				      strcmp(a.items[i], b.items[i]) == 0);
			cli_lines_free(&b);
		} else {
			CHECK(NULL, strcmp(ea, eb) == 0);
		}
	}
	if (ra == 0)
		cli_lines_free(&a);
	return 0;
}
