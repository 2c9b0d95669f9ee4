/* SQLite backend: the schema (its SQL is in sqlite_sql.c), created by the
 * first opener, checked by every one. */
#include "sqlite_private.h"

static int sq_schema_version(sb_sq_store *s, int *version)
{
	*version = 0;
	return sb_sq_exec_retry(s, "PRAGMA user_version", version,
	                        "read schema version");
}

static int sq_schema_check(sb_sq_store *s, int version)
{
	if (version <= SB_SQ_SCHEMA_VERSION)
		return SB_OK;
	return sb_seterr(s->base.box, SB_EBACKEND,
	                 "sqlite: database '%s' has schema version %d; this "
	                 "build knows up to %d (upgrade storagebox)",
	                 s->path, version, SB_SQ_SCHEMA_VERSION);
}

/* The unlocked look keeps the common case (schema present) free of the
 * write lock; the look under BEGIN IMMEDIATE settles the race of several
 * first openers. */
int sb_sq_schema(sb_sq_store *s)
{
	int version = 0, rc;

	rc = sq_schema_version(s, &version);
	if (rc != SB_OK || version != 0)
		return rc != SB_OK ? rc : sq_schema_check(s, version);
	rc = sb_sq_exec_retry(s, "BEGIN IMMEDIATE", NULL, "create schema");
	if (rc != SB_OK)
		return rc;
	rc = sq_schema_version(s, &version);
	if (rc == SB_OK && version == 0) {
		rc = sqlite3_exec(s->db, sb_sq_schema_sql, NULL, NULL, NULL);
		rc = rc == SQLITE_OK ? SB_OK
		                     : sb_sq_fail(s, rc, "create schema");
	} else if (rc == SB_OK) {
		rc = sq_schema_check(s, version);
	}
	if (rc == SB_OK)
		return sb_sq_commit(s, "create schema");
	sb_sq_rollback(s);
	return rc;
}
