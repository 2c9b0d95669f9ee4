/* Input checks shared by every entry point: a value that passes here is
 * safe for every backend's protocol (no line breaks for the CLI and CSV, no
 * NUL, valid UTF-8 for PostgreSQL and DynamoDB). */
#include "internal.h"

#include <string.h>

/* Length of the UTF-8 sequence at s (strict: no overlongs, no surrogates,
 * nothing above U+10FFFF), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
	unsigned char c = s[0];
	size_t n, i;
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (left < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return 0;
	return n;
}

const char *sb_validate_reason(const char *s, size_t len)
{
	size_t i = 0;

	if (!s)
		return "is missing (NULL)";
	if (len == 0)
		return "is empty";
	if (len > SB_MAX_VALUE_LEN)
		return "is longer than 262144 bytes";
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n;
		if (c == '\0')
			return "contains a NUL byte";
		if (c == '\n' || c == '\r')
			return "contains a line break";
		n = utf8_seq((const unsigned char *)s + i, len - i);
		if (!n)
			return "is not valid UTF-8";
		i += n;
	}
	return NULL;
}

int sb_validate(sb_box *box, const char *s, const char *what)
{
	/* strnlen bounds the scan of a hostile unterminated-looking input. */
	size_t len = s ? strnlen(s, SB_MAX_VALUE_LEN + 1) : 0;
	const char *why = sb_validate_reason(s, len);
	if (why)
		return sb_seterr(box, SB_EINVALID, "%s %s", what, why);
	return SB_OK;
}
