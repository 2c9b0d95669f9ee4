/* Test store URIs (turi.h). */
#include "turi.h"
#include "check.h"
#include "tcommon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Told apart by its address: a part given as "" is a part, not this. */
const char T_URI_NONE[] = "(none)";

const char *t_env_need(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v)
		t_skip("%s not set", name);
	return v;
}

const char *t_env_store(const char *var, int need)
{
	char *from_var = t_xasprintf("%s_FROM", var);
	const char *from = getenv(from_var), *v;

	free(from_var);
	if (from && *from)
		return t_env_need(from);
	v = getenv(var);
	if (v && *v)
		return v;
	if (need)
		t_skip("%s not set", var);
	return NULL;
}

sb_uri *t_uri_parse(const char *uri)
{
	char err[SB_ERRMSG_SIZE] = "";
	sb_uri *u = NULL;

	if (sb_uri_parse(&u, uri, err, sizeof err) != SB_OK) {
		fprintf(stderr, "a test URI the core refuses: %s\n", err);
		exit(1);
	}
	return u;
}

char *t_uri_password(const char *uri)
{
	sb_uri *u = t_uri_parse(uri);
	char *pw = u->password ? t_xstrdup(u->password) : NULL;

	sb_uri_free(u);
	return pw;
}

char *t_redact_uri(const char *uri)
{
	char err[SB_ERRMSG_SIZE];
	sb_uri *u = NULL;
	char *out;

	if (sb_uri_parse(&u, uri, err, sizeof err) != SB_OK)
		return t_xasprintf("%.*s:(malformed, not shown)",
		                   (int)strcspn(uri, ":/?@"), uri);
	out = t_xstrdup(u->redacted);
	sb_uri_free(u);
	return out;
}

char *t_uri_opt(const char *uri, const char *opt)
{
	return t_xasprintf("%s%s%s", uri, strchr(uri, '?') ? "&" : "?", opt);
}

/* s percent-encoded: every byte but the unreserved ones (RFC 3986) and
 * those in @p keep. */
static char *encode(const char *s, const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = t_xmalloc(3 * strlen(s) + 1), *o = out;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c) ||
		    strchr(keep, c)) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

/* The new value of one part: kept, dropped (NULL) or replaced. */
static const char *part(const char *mine, const char *with)
{
	return with == T_URI_NONE ? NULL : with ? with : mine;
}

char *t_uri_edit(const char *uri, const t_uri_parts *with)
{
	sb_uri *u = t_uri_parse(uri);
	const char *user = part(u->user, with->user);
	const char *pw = part(u->password, with->password);
	const char *host = with->host ? with->host : u->host ? u->host : "";
	const char *query = strchr(u->text, '?');
	int port = with->port > 0 ? with->port : with->port < 0 ? 0 : u->port;
	int v6 = strchr(host, ':') != NULL; /* an IPv6 literal: in brackets */
	char *euser = encode(user ? user : "", "");
	char *epw = encode(pw ? pw : "", "");
	char *epath = encode(with->path ? with->path : u->path, "/");
	char ports[16] = "";
	char *out;

	if (!u->has_authority) {
		fprintf(stderr, "t_uri_edit: a URI without '//'\n");
		exit(1);
	}
	if (port)
		snprintf(ports, sizeof ports, ":%d", port);
	out = t_xasprintf("%s://%s%s%s%s%s%s%s%s%s%s", u->scheme, euser,
	                  pw ? ":" : "", epw, user || pw ? "@" : "",
	                  v6 ? "[" : "", host, v6 ? "]" : "", ports, epath,
	                  query ? query : "");
	free(euser);
	free(epw);
	free(epath);
	sb_uri_free(u);
	return out;
}
