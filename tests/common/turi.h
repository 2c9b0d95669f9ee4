/* The URIs of the test stores: taken from the environment with the skip
 * rule, read and edited with the core's own parser (sb_uri_parse, so a
 * password is percent-decoded as the backends see it), and redacted for
 * the logs. The tests link the static library: they may use it. */
#ifndef SB_TEST_TURI_H
#define SB_TEST_TURI_H

#include "internal.h" /* sb_uri_parse, sb_uri_free */

/* $name, or t_skip() when it is unset or empty. */
const char *t_env_need(const char *name);

/* A test's store URI, read from the environment: the variable that
 * $<var>_FROM names, when that is set (meson's env must not hold the
 * servers' URIs, which hold passwords: a test names the variable that
 * holds one instead), which must then be set (t_env_need); else $<var>
 * itself; when that is unset or empty, t_skip() with @p need, else NULL.
 * For example t_env_store("SB_TEST_URI", 1). */
const char *t_env_store(const char *var, int need);

/* @p uri parsed by the core (free with sb_uri_free). A URI the core
 * refuses exits 1 after a message without the URI: test URIs must parse. */
sb_uri *t_uri_parse(const char *uri);

/* The percent-decoded password of @p uri (caller frees), or NULL. */
char *t_uri_password(const char *uri);

/* A copy of @p uri fit for a log (caller frees): the core's own form with
 * any password replaced by "***"; a URI the core cannot parse shows as
 * its scheme alone. */
char *t_redact_uri(const char *uri);

/* @p uri with "?opt" or "&opt" appended (caller frees). */
char *t_uri_opt(const char *uri, const char *opt);

/* Parts for t_uri_edit(): NULL keeps the URI's own, T_URI_NONE drops it
 * (user, password), other strings replace it, decoded (they are
 * percent-encoded here). */
extern const char T_URI_NONE[];
typedef struct {
	const char *user;
	const char *password;
	const char *host; /* the host alone, or "" (redis+unix) */
	int port;         /* 0 keeps the port, -1 drops it */
	const char *path; /* e.g. "/9" */
} t_uri_parts;

/* @p uri (scheme://authority form) rebuilt with the parts of @p with
 * replaced; the query stays as written (caller frees). */
char *t_uri_edit(const char *uri, const t_uri_parts *with);

#endif
