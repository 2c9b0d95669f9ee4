/* Shared by the DynamoDB test programs (the server's URI is
 * $SB_TEST_DYNAMODB_URI: t_env_need): unique names, and a raw look at the
 * tables through the backend's own request function. */
#ifndef SB_DDB_TEST_H
#define SB_DDB_TEST_H

#include "../common/tcommon.h"
#include "backends/dynamodb/ddb_private.h"
#include "internal.h" /* struct sb_box: the store under a box */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* "<tag>-<time>-<pid>-<n>": unique per run, a valid table name. */
static inline char *ddb_name(const char *tag)
{
	static int n;
	return t_xasprintf("t%s-%lx-%ld-%d", tag, (long)time(NULL),
	                   (long)getpid(), ++n);
}

static inline sb_box *ddb_open_uri(const char *uri, sb_protocol proto)
{
	sb_open_opts o = SB_OPEN_OPTS_INIT;
	char err[SB_ERRMSG_SIZE] = "";
	sb_box *box = NULL;
	int rc;

	o.protocol = proto;
	rc = sb_box_open(&box, uri, &o, err, sizeof err);
	if (!CHECKF(NULL, rc == SB_OK, "open: %d %s", rc, err))
		return NULL;
	return box;
}

/* The store under a box (the tests link the static library). */
static inline sb_ddb_store *ddb_store_of(sb_box *box)
{
	return (sb_ddb_store *)box->bank_store;
}

/* The counters of a box's bank store (ddb_testing.h): -1 if it is not a
 * DynamoDB store. */
static inline int ddb_box_counters(sb_box *box, sb_ddb_counters *out, int reset)
{
	return sb_ddb_store_counters(box->bank_store, out, reset);
}

/* A raw request, its body given as JSON text (a test's own constant). */
static inline int ddb_raw(sb_ddb_store *s, const char *op, const char *json,
                          cJSON **out, const char *what)
{
	cJSON *body = cJSON_Parse(json), *resp = NULL;
	int rc;

	if (!body) {
		CHECKF(NULL, 0, "bad test JSON %s", json);
		return SB_EINVALID;
	}
	rc = sb_ddb_call(&resp, s, op, body, what);
	cJSON_Delete(body);
	if (out)
		*out = resp;
	else
		cJSON_Delete(resp);
	return rc;
}

typedef struct {
	int (*fn)(const cJSON *item, void *payload);
	void *payload;
} ddb_scan_cb;

static inline int ddb_scan_page_(const cJSON *resp, void *p)
{
	ddb_scan_cb *c = p;
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(resp, "Items");
	const cJSON *it;
	int rc;

	cJSON_ArrayForEach(it,
	                   items) if ((rc = c->fn(it, c->payload))) return rc;
	return 0;
}

/* Every item of a table, by a consistent paginated Scan. */
static inline int ddb_scan_table(sb_box *box, const char *table,
                                 int (*fn)(const cJSON *, void *),
                                 void *payload)
{
	sb_ddb_store *s = ddb_store_of(box);
	ddb_scan_cb c = { fn, payload };
	cJSON *body = cJSON_CreateObject();
	int rc;

	cJSON_AddStringToObject(body, "TableName", table);
	cJSON_AddTrueToObject(body, "ConsistentRead");
	rc = sb_ddb_scan_all(s, body, table, ddb_scan_page_, &c);
	cJSON_Delete(body);
	return rc;
}

#endif
