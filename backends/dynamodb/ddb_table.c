/* DynamoDB tables: the table of a bank or ledger name, and tables made on
 * demand (one per bank, one for its held items, one per ledger), with a
 * small cache of the tables known to be ACTIVE. */
#include "ddb_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ table names */

int sb_ddb_table_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* A name is used as its table's name when DynamoDB accepts it as one
 * (3..255 of [A-Za-z0-9_.-], room left for the ".held" suffix) and it
 * does not start with "sbh." (reserved for hashed names, so the mapping
 * stays one-to-one). Others become "sbh." + SHA-256 hex of the name. */
int sb_ddb_table(sb_ddb_store *s, char **out, const char *prefix,
                 const char *name, const char *suffix)
{
	size_t pl = strlen(prefix), nl = strlen(name), sl = strlen(suffix), i;
	int direct = pl + nl >= 3 &&
	             pl + nl + strlen(SB_DDB_HELD_SUFFIX) <=
	                     SB_DDB_MAX_TABLE_NAME &&
	             strncmp(name, "sbh.", 4) != 0;
	char hex[65];

	for (i = 0; direct && i < nl; i++)
		direct = sb_ddb_table_char(name[i]);
	if (direct) {
		*out = malloc(pl + nl + sl + 1);
		if (!*out)
			return sb_ddb_nomem(s, "table name");
		snprintf(*out, pl + nl + sl + 1, "%s%s%s", prefix, name,
		         suffix);
		return SB_OK;
	}
	sb_ddb_sha256_hex(name, nl, hex);
	*out = malloc(pl + 4 + 64 + sl + 1);
	if (!*out)
		return sb_ddb_nomem(s, "table name");
	snprintf(*out, pl + 4 + 64 + sl + 1, "%ssbh.%s%s", prefix, hex, suffix);
	return SB_OK;
}

int sb_ddb_bank_tables(sb_ddb_store *s, char **avail, char **held,
                       const char *bank)
{
	int rc;

	*avail = *held = NULL;
	if ((rc = sb_ddb_table(s, avail, s->bank_prefix, bank, "")))
		return rc;
	if (held && (rc = sb_ddb_table(s, held, s->bank_prefix, bank,
	                               SB_DDB_HELD_SUFFIX))) {
		free(*avail);
		*avail = NULL;
	}
	return rc;
}

int sb_ddb_check_key(sb_ddb_store *s, const char *v, const char *what)
{
	size_t n = strlen(v);

	if (n > SB_DDB_MAX_KEY_BYTES)
		return sb_seterr(s->base.box, SB_EINVALID,
		                 "DynamoDB: %s is %zu bytes; DynamoDB key "
		                 "values hold at most %d bytes",
		                 what, n, SB_DDB_MAX_KEY_BYTES);
	return SB_OK;
}

/* ------------------------------------------------------------ tables */

int sb_ddb_no_bank(sb_ddb_store *s, const char *bank)
{
	return sb_seterr(s->base.box, SB_ENOTFOUND,
	                 "bank '%s' does not exist "
	                 "(no DynamoDB table for it at %s)",
	                 bank, s->where);
}

int sb_ddb_table_known(sb_ddb_store *s, const char *table)
{
	unsigned int i;

	for (i = 0; i < SB_DDB_TABLE_CACHE; i++)
		if (s->known[i] && strcmp(s->known[i], table) == 0)
			return 1;
	return 0;
}

static void remember(sb_ddb_store *s, const char *table)
{
	char *c = strdup(table);

	if (!c)
		return; /* only a cache */
	free(s->known[s->known_next]);
	s->known[s->known_next] = c;
	s->known_next = (s->known_next + 1) % SB_DDB_TABLE_CACHE;
}

void sb_ddb_table_forget(sb_ddb_store *s, const char *table)
{
	unsigned int i;

	for (i = 0; i < SB_DDB_TABLE_CACHE; i++)
		if (s->known[i] && strcmp(s->known[i], table) == 0) {
			free(s->known[i]);
			s->known[i] = NULL;
		}
}

/* SB_EBACKEND with the message of the server's answer (it names the
 * request, its table and the AWS error type), then what it means. */
static int with_answer(sb_ddb_store *s, const char *table, const char *why)
{
	char answer[SB_ERRMSG_SIZE];

	snprintf(answer, sizeof answer, "%s", sb_box_errmsg(s->base.box));
	if (table)
		return sb_seterr(s->base.box, SB_EBACKEND, "%s; table %s %s",
		                 answer, table, why);
	return sb_seterr(s->base.box, SB_EBACKEND, "%s; %s", answer, why);
}

int sb_ddb_table_gone(sb_ddb_store *s)
{
	return with_answer(s, NULL,
	                   "the tables of this request were made or "
	                   "found just before: deleted meanwhile, or the "
	                   "endpoint is not DynamoDB");
}

/* 1 ACTIVE, 0 not yet, SB_DDB_NOTABLE, or an error. */
static int describe(sb_ddb_store *s, const char *table)
{
	cJSON *body = cJSON_CreateObject(), *resp = NULL;
	const cJSON *t, *st;
	int ok = 1, rc;

	sb_ddb_add_str(body, "TableName", table, &ok);
	if (!ok) {
		cJSON_Delete(body);
		return sb_ddb_nomem(s, "DescribeTable");
	}
	rc = sb_ddb_call(&resp, s, "DescribeTable", body, table);
	cJSON_Delete(body);
	if (rc)
		return rc;
	t = cJSON_GetObjectItemCaseSensitive(resp, "Table");
	st = t ? cJSON_GetObjectItemCaseSensitive(t, "TableStatus") : NULL;
	rc = cJSON_IsString(st) && strcmp(st->valuestring, "ACTIVE") == 0;
	cJSON_Delete(resp);
	return rc;
}

int sb_ddb_table_exists(sb_ddb_store *s, const char *table)
{
	int rc;

	if (sb_ddb_table_known(s, table))
		return 1;
	rc = describe(s, table);
	if (rc == SB_DDB_NOTABLE) {
		sb_clearerr(s->base.box);
		return 0;
	}
	return rc < 0 ? rc : 1;
}

static cJSON *attr_def(const char *name, const char *type)
{
	cJSON *d = cJSON_CreateObject();
	int ok = 1;

	sb_ddb_add_str(d, "AttributeName", name, &ok);
	sb_ddb_add_str(d, "AttributeType", type, &ok);
	if (!ok) {
		cJSON_Delete(d);
		return NULL;
	}
	return d;
}

static cJSON *key_elem(const char *name, const char *type)
{
	cJSON *k = cJSON_CreateObject();
	int ok = 1;

	sb_ddb_add_str(k, "AttributeName", name, &ok);
	sb_ddb_add_str(k, "KeyType", type, &ok);
	if (!ok) {
		cJSON_Delete(k);
		return NULL;
	}
	return k;
}

/* The deadline index of a held table: hash `state`, range `until`, all
 * attributes. Only records with an `until` are in it (held, reclaiming),
 * so a Query of state "held" and until <= now lists lapsed holds. */
static cJSON *due_index(void)
{
	cJSON *g = cJSON_CreateObject(), *ks = cJSON_CreateArray();
	cJSON *proj = cJSON_CreateObject();
	int ok = 1;

	sb_ddb_push(ks, key_elem("state", "HASH"), &ok);
	sb_ddb_push(ks, key_elem("until", "RANGE"), &ok);
	sb_ddb_add_str(proj, "ProjectionType", "ALL", &ok);
	sb_ddb_add_str(g, "IndexName", SB_DDB_DUE_INDEX, &ok);
	sb_ddb_put(g, "KeySchema", ks, &ok);
	sb_ddb_put(g, "Projection", proj, &ok);
	if (!ok) {
		cJSON_Delete(g);
		return NULL;
	}
	return g;
}

static void due_defs(cJSON *defs, int *ok)
{
	sb_ddb_push(defs, attr_def("state", "S"), ok);
	sb_ddb_push(defs, attr_def("until", "N"), ok);
}

/* @p with_due: a held table, made with its deadline index. */
static int create(sb_ddb_store *s, const char *table, const char *key,
                  int with_due)
{
	cJSON *body = cJSON_CreateObject(), *resp = NULL, *defs, *ks, *gsi;
	int ok = 1, rc;

	defs = cJSON_CreateArray();
	ks = cJSON_CreateArray();
	sb_ddb_push(defs, attr_def(key, "S"), &ok);
	sb_ddb_push(ks, key_elem(key, "HASH"), &ok);
	sb_ddb_add_str(body, "TableName", table, &ok);
	if (with_due) {
		due_defs(defs, &ok);
		gsi = cJSON_CreateArray();
		sb_ddb_push(gsi, due_index(), &ok);
		sb_ddb_put(body, "GlobalSecondaryIndexes", gsi, &ok);
	}
	sb_ddb_put(body, "AttributeDefinitions", defs, &ok);
	sb_ddb_put(body, "KeySchema", ks, &ok);
	sb_ddb_add_str(body, "BillingMode", "PAY_PER_REQUEST", &ok);
	if (!ok) {
		cJSON_Delete(body);
		return sb_ddb_nomem(s, "CreateTable");
	}
	rc = sb_ddb_call(&resp, s, "CreateTable", body, table);
	cJSON_Delete(body);
	cJSON_Delete(resp);
	if (rc && strcmp(s->err_type, "ResourceInUseException") == 0)
		rc = SB_OK;       /* another client created it first */
	if (rc == SB_DDB_NOTABLE) /* no DynamoDB answers CreateTable so */
		rc = with_answer(s, table,
		                 "cannot be created: is the endpoint "
		                 "DynamoDB?");
	return rc;
}

static int ensure(sb_ddb_store *s, const char *table, const char *key,
                  int with_due)
{
	int rc, waited_ms = 0;

	if (sb_ddb_table_known(s, table))
		return SB_OK;
	rc = describe(s, table);
	if (rc == SB_DDB_NOTABLE) {
		if ((rc = create(s, table, key, with_due)))
			return rc;
		rc = 0;
	}
	/* A new table takes a moment (seconds on AWS) to become ACTIVE. */
	while (rc == 0 && waited_ms < 120000) {
		struct timespec ts = { 0, 100 * 1000000L };
		nanosleep(&ts, NULL);
		waited_ms += 100;
		rc = describe(s, table);
		if (rc == SB_DDB_NOTABLE)
			rc = 0;
	}
	if (rc == 0)
		return sb_seterr(s->base.box, SB_ETIMEOUT,
		                 "DynamoDB: table %s at "
		                 "%s did not become ACTIVE in 120 s",
		                 table, s->where);
	if (rc < 0)
		return rc;
	remember(s, table);
	return SB_OK;
}

int sb_ddb_ensure_table(sb_ddb_store *s, const char *table, const char *key)
{
	return ensure(s, table, key, 0);
}

int sb_ddb_ensure_held(sb_ddb_store *s, const char *held)
{
	return ensure(s, held, SB_DDB_ITEM_KEY, 1);
}

int sb_ddb_bank_ensure(sb_ddb_store *s, const char *avail, const char *held)
{
	int rc = sb_ddb_ensure_table(s, avail, SB_DDB_ITEM_KEY);
	return rc ? rc : sb_ddb_ensure_held(s, held);
}

/* The status of the deadline index in a DescribeTable answer: 1 ACTIVE,
 * 0 being made, -1 missing. */
static int due_status(const cJSON *resp)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(resp, "Table");
	const cJSON *gs =
		cJSON_GetObjectItemCaseSensitive(t, "GlobalSecondaryIndexes");
	const cJSON *g;

	cJSON_ArrayForEach(g, gs)
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(g,
		                                                  "IndexName");
		const cJSON *st =
			cJSON_GetObjectItemCaseSensitive(g, "IndexStatus");
		if (!cJSON_IsString(n) ||
		    strcmp(n->valuestring, SB_DDB_DUE_INDEX) != 0)
			continue;
		return cJSON_IsString(st) &&
		       strcmp(st->valuestring, "ACTIVE") == 0;
	}
	return -1;
}

/* The deadline index of table @p held in *status: 1 ACTIVE (and the
 * table too), 0 being made, -1 missing. SB_OK, or the call's error. */
static int due_describe(sb_ddb_store *s, const char *held, int *status)
{
	cJSON *body = cJSON_CreateObject(), *resp = NULL;
	const cJSON *t, *st;
	int ok = 1, rc;

	sb_ddb_add_str(body, "TableName", held, &ok);
	if (!ok) {
		cJSON_Delete(body);
		return sb_ddb_nomem(s, "DescribeTable");
	}
	rc = sb_ddb_call(&resp, s, "DescribeTable", body, held);
	cJSON_Delete(body);
	if (rc)
		return rc;
	*status = due_status(resp);
	t = cJSON_GetObjectItemCaseSensitive(resp, "Table");
	st = t ? cJSON_GetObjectItemCaseSensitive(t, "TableStatus") : NULL;
	if (*status == 1 &&
	    !(cJSON_IsString(st) && strcmp(st->valuestring, "ACTIVE") == 0))
		*status = 0;
	cJSON_Delete(resp);
	return SB_OK;
}

/* A held table made by storagebox 0.1.0 has no deadline index: add it
 * (UpdateTable; on AWS it fills in the background, minutes for a big
 * table). 1: the index is ACTIVE; 0: being made (the caller scans
 * meanwhile); or an error (SB_DDB_NOTABLE: no held table). */
int sb_ddb_due_index(sb_ddb_store *s, const char *held)
{
	cJSON *body, *resp = NULL, *defs, *ups, *up;
	int ok = 1, rc, status, waited_ms;

	if ((rc = due_describe(s, held, &status)))
		return rc;
	if (status >= 0)
		return status;
	body = cJSON_CreateObject();
	defs = cJSON_CreateArray();
	ups = cJSON_CreateArray();
	up = cJSON_CreateObject();
	due_defs(defs, &ok);
	sb_ddb_put(up, "Create", due_index(), &ok);
	sb_ddb_push(ups, up, &ok);
	sb_ddb_add_str(body, "TableName", held, &ok);
	sb_ddb_put(body, "AttributeDefinitions", defs, &ok);
	sb_ddb_put(body, "GlobalSecondaryIndexUpdates", ups, &ok);
	if (!ok) {
		cJSON_Delete(body);
		return sb_ddb_nomem(s, "UpdateTable");
	}
	resp = NULL;
	rc = sb_ddb_call(&resp, s, "UpdateTable", body, held);
	cJSON_Delete(body);
	cJSON_Delete(resp);
	/* Another client asked first (the index exists or is being made,
	 * or the table is busy with that): it comes either way. */
	if (rc && (strcmp(s->err_type, "ResourceInUseException") == 0 ||
	           strcmp(s->err_type, "LimitExceededException") == 0 ||
	           strcmp(s->err_type, "ValidationException") == 0)) {
		sb_clearerr(s->base.box);
		rc = SB_OK;
	}
	if (rc)
		return rc;
	/* DynamoDB Local answers UpdateTable before it has made the index's
	 * columns, and fails every write to the table until then
	 * (InternalFailure, for longer than the retries last on a busy
	 * machine): wait for ACTIVE here, once, after asking for the index.
	 * Bounded: on AWS a big table fills for minutes, and writes go on
	 * meanwhile. */
	status = 0;
	for (waited_ms = 0; status != 1 && waited_ms < 10000;
	     waited_ms += 100) {
		struct timespec ts = { 0, 100 * 1000000L };
		nanosleep(&ts, NULL);
		if ((rc = due_describe(s, held, &status)))
			return rc;
	}
	return status == 1;
}
