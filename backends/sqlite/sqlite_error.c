/* SQLite backend: failures as sb_error codes, with messages that name the
 * operation and the file (SQLite paths hold no secrets). */
#include "sqlite_private.h"

int sb_sq_fail(sb_sq_store *s, int rc, const char *op)
{
	sb_box *box = s->base.box;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return sb_seterr(box, SB_EBUSY,
		                 "sqlite: %s: database '%s' is locked "
		                 "(busy_timeout %d ms)",
		                 op, s->path, s->busy_ms);
	case SQLITE_NOMEM: return sb_sq_nomem(s, op);
	default:
		if (s->opening)
			return sb_seterr(box, SB_EBACKEND,
			                 "sqlite: cannot open '%s': %s: %s",
			                 s->path, op, sqlite3_errmsg(s->db));
		return sb_seterr(box, SB_EBACKEND,
		                 "sqlite: %s failed on '%s': %s", op, s->path,
		                 sqlite3_errmsg(s->db));
	}
}

int sb_sq_nomem(sb_sq_store *s, const char *op)
{
	return sb_seterr(s->base.box, SB_ENOMEM,
	                 "sqlite: %s on '%s': out of memory", op, s->path);
}

int sb_sq_no_bank(sb_sq_store *s, const char *bank)
{
	return sb_seterr(s->base.box, SB_ENOTFOUND,
	                 "sqlite: no bank '%.200s' in '%s'", bank, s->path);
}
