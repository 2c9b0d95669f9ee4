/* Line reader for `storagebox add` (see lines.h). The whole input is read
 * first and validated before the caller writes anything, so a bad line at
 * the end cannot leave half a file loaded. Items point into one buffer:
 * a million short codes cost one allocation, not a million. */
#include "lines.h"
#include "internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Append @p item to the array, growing it geometrically. */
static int push(cli_lines *l, size_t *cap, char *item)
{
	if (l->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 1024;
		char **p;

		if (ncap > SIZE_MAX / sizeof *p)
			return -1;
		p = realloc(l->items, ncap * sizeof *p);
		if (!p)
			return -1;
		l->items = p;
		*cap = ncap;
	}
	l->items[l->n++] = item;
	return 0;
}

/* Check one line (without its line end). NULL if fine, else the reason. */
static const char *check_line(const char *s, size_t len)
{
	if (memchr(s, '\0', len))
		return "contains a NUL byte";
	return sb_validate_reason(s, len);
}

/* Split l->buf (len bytes, room for one more) in place. */
static int split(cli_lines *l, size_t len, char *err, size_t errsize)
{
	size_t cap = 0, lineno = 0, pos = 0;

	while (pos < len) {
		char *s = l->buf + pos;
		char *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		const char *why;

		lineno++;
		pos += n + (nl ? 1 : 0);
		/* EOF ends a line like "\n" does, so a CRLF file missing its
		 * last LF still loses the CR. */
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (n == 0)
			continue;
		why = check_line(s, n);
		if (why) {
			snprintf(err, errsize, "line %zu: %s", lineno, why);
			return -1;
		}
		s[n] = '\0';
		if (push(l, &cap, s) != 0) {
			snprintf(err, errsize, "out of memory at line %zu",
			         lineno);
			return -1;
		}
	}
	return 0;
}

/* Take ownership of @p buf (len bytes, allocated with len + 1). */
static int from_owned(cli_lines *out, char *buf, size_t len, char *err,
                      size_t errsize)
{
	memset(out, 0, sizeof *out);
	out->buf = buf;
	/* The last line may have no "\n": the spare byte is its NUL. */
	buf[len] = '\0';
	if (split(out, len, err, errsize) != 0) {
		cli_lines_free(out);
		return -1;
	}
	return 0;
}

int cli_lines_from_buf(cli_lines *out, const char *data, size_t len, char *err,
                       size_t errsize)
{
	char *buf;

	memset(out, 0, sizeof *out);
	if (len == SIZE_MAX || !(buf = malloc(len + 1))) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	if (len)
		memcpy(buf, data, len);
	return from_owned(out, buf, len, err, errsize);
}

/* Read all of @p f into a fresh buffer with one spare byte. */
static char *slurp(FILE *f, size_t *len, char *err, size_t errsize)
{
	size_t cap = 64 * 1024, n = 0;
	char *buf = malloc(cap);

	while (buf) {
		size_t got = fread(buf + n, 1, cap - n - 1, f);

		n += got;
		if (got == 0 || n + 1 == cap) {
			if (ferror(f)) {
				snprintf(err, errsize, "read error: %s",
				         strerror(errno));
				free(buf);
				return NULL;
			}
			if (feof(f)) {
				*len = n;
				return buf;
			}
		}
		if (n + 1 == cap) {
			char *p = cap > SIZE_MAX / 2 ? NULL
			                             : realloc(buf, cap * 2);

			if (!p)
				free(buf);
			buf = p;
			cap *= 2;
		}
	}
	snprintf(err, errsize, "out of memory");
	return NULL;
}

int cli_lines_from_file(cli_lines *out, FILE *f, char *err, size_t errsize)
{
	size_t len = 0;
	char *buf = slurp(f, &len, err, errsize);

	memset(out, 0, sizeof *out);
	if (!buf)
		return -1;
	return from_owned(out, buf, len, err, errsize);
}

void cli_lines_free(cli_lines *l)
{
	free(l->items);
	free(l->buf);
	memset(l, 0, sizeof *l);
}
