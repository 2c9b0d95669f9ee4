/* SQLite backend: what the URI says. `sqlite:PATH`, `sqlite:///abs/path`
 * or `sqlite::memory:`; options ?synchronous=full|normal and
 * ?busy_timeout=MS. */
#include "sqlite_private.h"

#include <limits.h>
#include <strings.h>

int sb_sq_uri_check(sb_box *box, const sb_uri *uri)
{
	if ((uri->host && *uri->host) || uri->user || uri->password ||
	    uri->port)
		return sb_seterr(box, SB_EURI,
		                 "sqlite URIs take no host (use sqlite:PATH or "
		                 "sqlite:///abs/path)");
	if (!uri->path || !*uri->path)
		return sb_seterr(box, SB_EURI,
		                 "sqlite URI has no database path (use "
		                 "sqlite:PATH, sqlite:///abs/path or "
		                 "sqlite::memory:)");
	return SB_OK;
}

int sb_sq_options(sb_sq_store *s, sb_uri *uri, int *sync_full)
{
	const char *v = sb_uri_param(uri, "synchronous");
	long long busy;
	int rc;

	*sync_full = 1;
	if (v && strcasecmp(v, "normal") == 0)
		*sync_full = 0;
	else if (v && strcasecmp(v, "full") != 0)
		return sb_seterr(s->base.box, SB_EURI,
		                 "sqlite: option synchronous must be 'full' or "
		                 "'normal', not '%.100s'",
		                 v);
	busy = SB_SQ_DEFAULT_BUSY_MS;
	rc = sb_uri_param_num(s->base.box, uri, "busy_timeout",
	                      "a number of milliseconds", 0, INT_MAX, &busy);
	s->busy_ms = (int)busy;
	return rc;
}
