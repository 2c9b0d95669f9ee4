/* URI parsing: once, in the core, into an sb_uri that backends read
 * (STYLE §3). Written by hand because no library on the target (libpq,
 * libcurl) parses the generic `scheme:[//authority]path?query` form for
 * every scheme we accept, including `sqlite::memory:`.
 *
 * Messages never echo the URI: it may hold a password. */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..len) into a new string; NULL with *why on failure. */
static char *pct_decode(const char *s, size_t len, const char **why)
{
	char *out = malloc(len + 1), *o = out;
	size_t i;

	if (!out) {
		*why = "out of memory";
		return NULL;
	}
	for (i = 0; i < len; i++) {
		if (s[i] == '%') {
			int hi, lo;
			if (i + 2 >= len || (hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0) {
				*why = "bad percent-escape";
				free(out);
				return NULL;
			}
			if (hi == 0 && lo == 0) {
				*why = "percent-escape %00 (NUL) is not allowed";
				free(out);
				return NULL;
			}
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

void sb_uri_free(sb_uri *uri)
{
	size_t i;

	if (!uri)
		return;
	free(uri->scheme);
	free(uri->user);
	free(uri->password);
	free(uri->host);
	free(uri->path);
	for (i = 0; i < uri->nparams; i++) {
		free(uri->params[i].key);
		free(uri->params[i].value);
	}
	free(uri->params);
	free(uri->text);
	free(uri->redacted);
	free(uri);
}

static int fail(char *err, size_t errlen, const char *fmt, const char *arg)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, arg);
	return SB_EURI;
}

/* Copy of text with the raw password span [pw, pw+pwlen) replaced. */
static char *redact(const char *text, const char *pw, size_t pwlen)
{
	size_t len = strlen(text), pre = (size_t)(pw - text);
	char *out = malloc(len - pwlen + 4);

	if (!out)
		return NULL;
	memcpy(out, text, pre);
	memcpy(out + pre, "***", 3);
	memcpy(out + pre + 3, pw + pwlen, len - pre - pwlen + 1);
	return out;
}

static int parse_authority(sb_uri *u, const char *a, size_t alen, char *err,
                           size_t errlen)
{
	const char *at = NULL, *hp, *end = a + alen, *colon = NULL, *p;
	const char *why = NULL;

	for (p = a; p < end; p++)
		if (*p == '@')
			at = p; /* the last '@': a password may hold one unescaped */
	hp = a;
	if (at) {
		const char *pc = memchr(a, ':', (size_t)(at - a));
		size_t ulen = pc ? (size_t)(pc - a) : (size_t)(at - a);
		u->user = pct_decode(a, ulen, &why);
		if (!u->user)
			return fail(err, errlen, "malformed URI: user name: %s",
			            why);
		if (pc) {
			u->password = pct_decode(pc + 1, (size_t)(at - pc - 1),
			                         &why);
			if (!u->password)
				return fail(err, errlen,
				            "malformed URI: password: %s",
				            "bad percent-escape");
			free(u->redacted);
			u->redacted = redact(u->text, pc + 1,
			                     (size_t)(at - pc - 1));
			if (!u->redacted)
				return fail(err, errlen, "%s", "out of memory");
		}
		hp = at + 1;
	}
	if (hp < end && *hp == '[') { /* IPv6 literal */
		const char *rb = memchr(hp, ']', (size_t)(end - hp));
		if (!rb)
			return fail(err, errlen, "malformed URI: %s",
			            "unterminated '[' in host");
		u->host = pct_decode(hp + 1, (size_t)(rb - hp - 1), &why);
		p = rb + 1;
		if (p < end && *p != ':')
			return fail(err, errlen, "malformed URI: %s",
			            "junk after ']' in host");
		colon = p < end ? p : NULL;
	} else {
		colon = memchr(hp, ':', (size_t)(end - hp));
		u->host = pct_decode(hp, (size_t)((colon ? colon : end) - hp),
		                     &why);
	}
	if (!u->host)
		return fail(err, errlen, "malformed URI: host: %s", why);
	if (colon) {
		long port = 0;
		const char *q = colon + 1;
		if (q == end)
			return fail(err, errlen, "malformed URI: %s",
			            "empty port");
		for (; q < end; q++) {
			if (!isdigit((unsigned char)*q))
				return fail(err, errlen, "malformed URI: %s",
				            "port is not a number");
			port = port * 10 + (*q - '0');
			if (port > 65535)
				return fail(err, errlen, "malformed URI: %s",
				            "port is above 65535");
		}
		if (port == 0)
			return fail(err, errlen, "malformed URI: %s", "port 0");
		u->port = (int)port;
	}
	return SB_OK;
}

static int parse_query(sb_uri *u, const char *q, char *err, size_t errlen)
{
	const char *why = NULL;

	while (*q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', len);
		sb_uri_param_t *np, *prm;

		if (len == 0) { /* tolerate "a=1&&b=2" and a trailing '&' */
			q += amp ? 1 : 0;
			if (!amp)
				break;
			continue;
		}
		if (!eq || eq == q)
			return fail(err, errlen,
			            "malformed URI: query option without %s",
			            eq ? "a name" : "'=value'");
		np = realloc(u->params, (u->nparams + 1) * sizeof(*np));
		if (!np)
			return fail(err, errlen, "%s", "out of memory");
		u->params = np;
		prm = &u->params[u->nparams];
		memset(prm, 0, sizeof(*prm));
		prm->key = pct_decode(q, (size_t)(eq - q), &why);
		prm->value = prm->key ? pct_decode(eq + 1,
		                                   len - (size_t)(eq - q) - 1,
		                                   &why)
		                      : NULL;
		u->nparams++; /* counted now so sb_uri_free frees a half-made one */
		if (!prm->key || !prm->value)
			return fail(err, errlen,
			            "malformed URI: query option: %s", why);
		q += len + (amp ? 1 : 0);
		if (!amp)
			break;
	}
	return SB_OK;
}

int sb_uri_parse(sb_uri **out, const char *text, char *err, size_t errlen)
{
	sb_uri *u;
	const char *p, *rest, *qm, *pend;
	const char *why = NULL;
	size_t i;
	int rc;

	*out = NULL;
	if (!text || !*text)
		return fail(err, errlen, "%s", "empty URI");
	for (p = text; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return fail(err, errlen, "malformed URI: %s",
			            "control character in URI");
	if (!isalpha((unsigned char)text[0]))
		return fail(err, errlen, "malformed URI: %s",
		            "it must start with a scheme such as sqlite:");
	for (p = text; *p && *p != ':'; p++)
		if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' &&
		    *p != '.')
			return fail(err, errlen, "malformed URI: %s",
			            "no scheme (expected e.g. sqlite:PATH)");
	if (*p != ':')
		return fail(err, errlen, "malformed URI: %s",
		            "no scheme (expected e.g. sqlite:PATH)");
	if (strchr(text, '#'))
		return fail(err, errlen, "malformed URI: %s",
		            "'#' fragments are not supported (escape it as %23)");

	u = calloc(1, sizeof(*u));
	if (!u || !(u->text = strdup(text)) || !(u->redacted = strdup(text))) {
		sb_uri_free(u);
		return fail(err, errlen, "%s", "out of memory");
	}
	u->scheme = strndup(text, (size_t)(p - text));
	if (!u->scheme) {
		sb_uri_free(u);
		return fail(err, errlen, "%s", "out of memory");
	}
	for (i = 0; u->scheme[i]; i++)
		u->scheme[i] = (char)tolower((unsigned char)u->scheme[i]);

	/* Work on u->text so redact() can locate the password span in it. */
	rest = u->text + (p - text) + 1;
	if (rest[0] == '/' && rest[1] == '/') {
		const char *a = rest + 2, *ae = a + strcspn(a, "/?");
		u->has_authority = 1;
		rc = parse_authority(u, a, (size_t)(ae - a), err, errlen);
		if (rc) {
			sb_uri_free(u);
			return rc;
		}
		rest = ae;
	}
	qm = strchr(rest, '?');
	pend = qm ? qm : rest + strlen(rest);
	u->path = pct_decode(rest, (size_t)(pend - rest), &why);
	if (!u->path) {
		sb_uri_free(u);
		return fail(err, errlen, "malformed URI: path: %s", why);
	}
	if (qm && (rc = parse_query(u, qm + 1, err, errlen))) {
		sb_uri_free(u);
		return rc;
	}
	*out = u;
	return SB_OK;
}

const char *sb_uri_param(sb_uri *uri, const char *key)
{
	const char *v = NULL;
	size_t i;

	if (!uri || !key)
		return NULL;
	for (i = 0; i < uri->nparams; i++) {
		if (strcmp(uri->params[i].key, key) == 0) {
			uri->params[i].used = 1;
			v = uri->params[i].value;
		}
	}
	return v;
}

int sb_uri_param_num(sb_box *box, sb_uri *uri, const char *key,
                     const char *what, long long lo, long long hi,
                     long long *out)
{
	const char *v = sb_uri_param(uri, key);
	char *end;
	long long n;

	if (!v)
		return SB_OK;
	errno = 0;
	n = strtoll(v, &end, 10);
	/* strtoll alone would take spaces, a sign and out-of-range input */
	if (*v < '0' || *v > '9' || *end || errno || n < lo || n > hi)
		return sb_seterr(box, SB_EURI,
		                 "%s URI: option %s must be %s "
		                 "from %lld to %lld, not '%.64s'",
		                 uri->scheme, key,
		                 what ? what : "a whole number", lo, hi, v);
	*out = n;
	return SB_OK;
}

const char *sb_uri_unused(const sb_uri *uri)
{
	size_t i;

	for (i = 0; uri && i < uri->nparams; i++)
		if (!uri->params[i].used)
			return uri->params[i].key;
	return NULL;
}
