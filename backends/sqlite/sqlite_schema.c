/* SQLite backend: the schema (its SQL is in sqlite_sql.c), created by the
 * first opener, migrated in place from an older release's by the first
 * opener of the new one, checked by every one. */
#include "sqlite_private.h"

static int sq_schema_version(sb_sq_store *s, int *version)
{
	*version = 0;
	return sb_sq_exec_retry(s, "PRAGMA user_version", version,
	                        "read schema version");
}

static int sq_schema_check(sb_sq_store *s, int version)
{
	if (version >= 0 && version <= SB_SQ_SCHEMA_VERSION)
		return SB_OK;
	return sb_seterr(s->base.box, SB_EBACKEND,
	                 "sqlite: database '%s' has schema version %d; this "
	                 "build knows up to %d (upgrade storagebox)",
	                 s->path, version, SB_SQ_SCHEMA_VERSION);
}

/* Under BEGIN IMMEDIATE: create the schema, or bring an older one up to
 * date one version at a time. Each step sets user_version itself, and a
 * failed step rolls the whole transaction back, so a database is always
 * at one version exactly. */
static int sq_schema_locked(sb_sq_store *s)
{
	int version = 0, rc;
	const char *sql, *op;

	rc = sq_schema_version(s, &version);
	if (rc == SB_OK)
		rc = sq_schema_check(s, version);
	while (rc == SB_OK && version < SB_SQ_SCHEMA_VERSION) {
		sql = version == 0 ? sb_sq_schema_sql
		                   : sb_sq_migrate_sql[version];
		op = version == 0 ? "create schema" : "migrate schema";
		rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return sb_sq_fail(s, rc, op);
		rc = sq_schema_version(s, &version);
	}
	return rc;
}

/* The unlocked look keeps the common case (schema up to date) free of
 * the write lock; the look under BEGIN IMMEDIATE settles the race of
 * several first openers (of a new file, or of the new release on an old
 * file): the first creates or migrates, the others find it done. */
int sb_sq_schema(sb_sq_store *s)
{
	int version = 0, rc;

	rc = sq_schema_version(s, &version);
	if (rc != SB_OK || version == SB_SQ_SCHEMA_VERSION)
		return rc;
	if ((rc = sq_schema_check(s, version)) != SB_OK)
		return rc;
	rc = sb_sq_exec_retry(s, "BEGIN IMMEDIATE", NULL, "create schema");
	if (rc != SB_OK)
		return rc;
	rc = sq_schema_locked(s);
	if (rc == SB_OK)
		return sb_sq_commit(s, "create schema");
	sb_sq_rollback(s);
	return rc;
}
