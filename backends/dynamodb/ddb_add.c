/* The bank's add (docs/dynamodb.md, "Adding items, and law 6"). The
 * distinct items go in units (50 items when the tables are read, else
 * 100), several requests in flight (ddb_multi.c). First one small Scan
 * of each table: is it empty? Then per unit:
 *   1. read: one TransactGetItems of the keys in T(B).held and T(B), a
 *      snapshot of both (a BatchGetItem reads the two tables at two
 *      moments: an item restocked or claimed between them was in
 *      neither, and counted as added; so is one table alone, even one
 *      that was empty when the add began); nothing on a fresh bank. Found in either:
 *      skipped (available, or taken by storagebox in some state). Found
 *      in both: an issued item that a plain put re-loaded: out of T(B)
 *      (fix below), skipped.
 *   2. write: the absent ones, BatchWriteItem in 25s (1 write unit per
 *      item instead of a transaction's 4).
 *   3. verify: which written items does T(B).held know now? One
 *      consistent Scan while it is small (for up to SCAN_GROUP units),
 *      else a BatchGetItem of the written keys. An item found there was
 *      handed out between 1 and 2 (someone else added it and a claim
 *      took it, or a claim ran between the two reads of 1): our write
 *      put it back into T(B). fix: a transaction deletes it from T(B)
 *      on condition that T(B).held still knows it; it counts as skipped.
 * So after add returns, no item it wrote is both handed out and in
 * T(B); between 2 and 3 such an item may be (storagebox never hands it
 * out: its claim's Put into T(B).held is conditional). */
#include "ddb_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Items per unit: BatchGetItem and TransactGetItems take 100 keys, 50
 * per table when both are read. */
#define UNIT_KEYS  100
#define WRITE_MAX  25 /* BatchWriteItem takes 25 requests */
/* A held table of at most this many rows is verified by one Scan
 * instead of a read per item; one Scan verifies up to SCAN_GROUP units
 * (fewer when no write is in flight). */
#define SMALL_HELD 200
#define SCAN_GROUP 8

/* Item flags of a unit */
#define IN_AVAIL 1u /* found in T(B) by the read */
#define IN_HELD  2u /* found in T(B).held by the read */
#define WRITTEN  4u
#define HANDED   8u /* found in T(B).held by the verify */

typedef struct add_run add_run;

typedef struct unit {
	struct unit *next; /* waiting for a verifying Scan */
	add_run *r;
	const char **v; /* sorted, distinct */
	size_t n;
	unsigned char *f;
	int pending; /* requests of the current step without an answer */
	int rounds;  /* re-sends of unprocessed keys or items */
	int failed;
} unit;

struct add_run {
	sb_ddb_store *s;
	const char *avail, *held;
	const char **v;
	size_t m, next; /* items, next one to feed */
	uint64_t added, skipped;
	size_t failed_items; /* in units that failed: maybe partly added */
	/* Found empty when the add began: no item there to read for. */
	int avail_empty, held_empty;
	int held_big; /* more than SMALL_HELD rows: verify item by item */
	/* Units written and waiting for a Scan of T(B).held, and those the
	 * Scan in flight (if any) verifies. */
	unit *vwait, *vscan;
	int nwait, scanning;
	int writes; /* BatchWriteItem requests in flight */
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct items of a batch, sorted; *dups = repeats dropped. */
static const char **distinct(const char *const *items, size_t n, size_t *m,
                             uint64_t *dups)
{
	const char **v = malloc((n ? n : 1) * sizeof(*v));
	size_t i, k = 0;

	if (!v)
		return NULL;
	memcpy(v, items, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_str);
	for (i = 0; i < n; i++)
		if (k == 0 || strcmp(v[k - 1], v[i]) != 0)
			v[k++] = v[i];
	*dups = (uint64_t)(n - k);
	*m = k;
	return v;
}

static unsigned char *flag_of(unit *u, const char *item)
{
	const char **p = bsearch(&item, u->v, u->n, sizeof(*u->v), cmp_str);
	return p ? &u->f[p - u->v] : NULL;
}

static void unit_free(unit *u)
{
	free(u->f);
	free(u);
}

/* {table: {Keys: [...], ConsistentRead, ProjectionExpression}} entries
 * of a BatchGetItem for the items of @p u with flags @p want (0: all),
 * none of @p skip. */
static void get_table(cJSON *req, const char *table, unit *u,
                      unsigned char want, unsigned char skip, int *ok)
{
	cJSON *t = cJSON_CreateObject(), *keys = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < u->n; i++)
		if ((!want || (u->f[i] & want)) && !(u->f[i] & skip))
			sb_ddb_push(keys, sb_ddb_key(SB_DDB_ITEM_KEY, u->v[i]),
			            ok);
	sb_ddb_put(t, "Keys", keys, ok);
	sb_ddb_put(t, "ConsistentRead", cJSON_CreateTrue(), ok);
	sb_ddb_add_str(t, "ProjectionExpression", "#i", ok);
	sb_ddb_put(t, "ExpressionAttributeNames", sb_ddb_names_item(), ok);
	sb_ddb_put(req, table, t, ok);
}

/* A unit is through: its counts into the run's. */
static void unit_done(unit *u)
{
	size_t i;

	for (i = 0; i < u->n; i++) {
		if ((u->f[i] & (IN_AVAIL | IN_HELD | HANDED)) ||
		    !(u->f[i] & WRITTEN))
			u->r->skipped++;
		else
			u->r->added++;
	}
	unit_free(u);
}

/* An answer to a unit that failed before: nothing more is sent for it. */
static int unit_drain(unit *u, cJSON *resp)
{
	cJSON_Delete(resp);
	if (--u->pending == 0)
		unit_free(u);
	return SB_OK;
}

/* A unit's request failed (message set): count its items as maybe
 * partly added, and stop the run with @p rc. */
static int unit_fail(unit *u, int rc)
{
	if (rc == SB_DDB_NOTABLE) /* the tables were just made */
		rc = sb_ddb_table_gone(u->r->s);
	if (!u->failed) {
		u->failed = 1;
		u->r->failed_items += u->n;
	}
	if (--u->pending == 0)
		unit_free(u);
	return rc;
}

/* Re-send what a batch request left unprocessed (@p rest: the
 * request's RequestItems shape, detached), after a backoff. */
static int resend(sb_ddb_multi *m, unit *u, const char *op, cJSON *rest,
                  sb_ddb_done_fn done)
{
	sb_ddb_store *s = u->r->s;
	cJSON *body = cJSON_CreateObject();
	int ok = 1, rc;

	if (u->rounds >= s->max_retries) {
		cJSON_Delete(rest);
		cJSON_Delete(body);
		return sb_seterr(s->base.box, SB_EBUSY,
		                 "DynamoDB %s (%s) at %s: items still "
		                 "unprocessed after %d re-sends",
		                 op, u->r->avail, s->where, u->rounds);
	}
	sb_ddb_put(body, "RequestItems", rest, &ok);
	if (!ok) {
		cJSON_Delete(body);
		return sb_ddb_nomem(s, "add");
	}
	s->counters.retries++;
	if ((rc = sb_ddb_multi_send(m, op, body, u->r->avail,
	                            sb_ddb_backoff_ms(s, u->rounds++), done, u)))
		return rc;
	u->pending++;
	return SB_OK;
}

/* The unprocessed part of a batch answer, detached, or NULL. */
static cJSON *unprocessed(cJSON *resp, const char *name)
{
	cJSON *rest = cJSON_GetObjectItemCaseSensitive(resp, name);

	if (!cJSON_IsObject(rest) || !rest->child)
		return NULL;
	return cJSON_DetachItemViaPointer(resp, rest);
}

/* Delete @p item from T(B) if T(B).held knows it (an issued item put
 * back by a plain put): 1 if deleted, 0 if T(B).held does not know it
 * (any more), or an error. */
static int unresurrect(add_run *r, const char *item)
{
	cJSON *acts = cJSON_CreateArray(), *err = NULL;
	int ok = 1, rc;

	sb_ddb_push(acts,
	            sb_ddb_action("ConditionCheck", r->held,
	                          sb_ddb_key(SB_DDB_ITEM_KEY, item),
	                          "attribute_exists(#i)", sb_ddb_names_item(),
	                          NULL),
	            &ok);
	sb_ddb_push(acts,
	            sb_ddb_action("Delete", r->avail,
	                          sb_ddb_key(SB_DDB_ITEM_KEY, item), NULL, NULL,
	                          NULL),
	            &ok);
	if (!ok) {
		cJSON_Delete(acts);
		return sb_ddb_nomem(r->s, "add");
	}
	rc = sb_ddb_transact(&err, r->s, acts, NULL, r->avail);
	cJSON_Delete(err);
	if (rc == SB_DDB_CANCELED)
		return 0; /* restocked meanwhile: available, rightly */
	return rc == SB_OK ? 1 : rc;
}

/* Found in both tables or by the verify: out of T(B) (rare: a
 * request per item, on the store's own handle). */
static int fix_all(unit *u, unsigned char flags)
{
	size_t i;
	int rc;

	for (i = 0; i < u->n; i++)
		if ((u->f[i] & flags) == flags &&
		    (rc = unresurrect(u->r, u->v[i])) < 0)
			return rc;
	return SB_OK;
}

static int on_verify(sb_ddb_multi *m, void *ctx, int rc, cJSON *resp);
static int on_verify_scan(sb_ddb_multi *m, void *ctx, int rc, cJSON *resp);

/* One consistent Scan of a small T(B).held verifies every unit written
 * before it was sent (r->vwait, which becomes r->vscan). */
static int scan_held(sb_ddb_multi *m, add_run *r)
{
	cJSON *body = cJSON_CreateObject();
	int ok = 1, rc;

	sb_ddb_add_str(body, "TableName", r->held, &ok);
	sb_ddb_add_num(body, "Limit", SMALL_HELD, &ok);
	sb_ddb_put(body, "ConsistentRead", cJSON_CreateTrue(), &ok);
	sb_ddb_add_str(body, "ProjectionExpression", "#i", &ok);
	sb_ddb_put(body, "ExpressionAttributeNames", sb_ddb_names_item(), &ok);
	r->vscan = r->vwait;
	r->vwait = NULL;
	r->nwait = 0;
	r->scanning = 1;
	rc = ok ? sb_ddb_multi_send(m, "Scan", body, r->held, 0, on_verify_scan,
	                            r)
	        : (cJSON_Delete(body), sb_ddb_nomem(r->s, "add"));
	if (rc)
		return on_verify_scan(m, r, rc, NULL);
	return SB_OK;
}

/* Start the Scan for the units waiting, if none is in flight and enough
 * wait or no write in flight could add to them. */
static int maybe_scan(sb_ddb_multi *m, add_run *r)
{
	if (!r->vwait || r->scanning ||
	    (r->nwait < SCAN_GROUP && r->writes > 0))
		return SB_OK;
	return scan_held(m, r);
}

/* Which written items does T(B).held know now? A small held table is
 * read whole (one Scan for the units written meanwhile), a big one
 * item by item. On an error @p u has failed already. */
static int verify(sb_ddb_multi *m, unit *u)
{
	add_run *r = u->r;
	cJSON *body, *req;
	int ok = 1, rc;

	u->rounds = 0;
	u->pending = 1; /* a failure here is this one's */
	/* Tests claim here, while an item may be in both tables. */
	if ((rc = sb_fault_point(r->s->base.box, SB_DDB_FAULT_ADD_VERIFY)))
		return unit_fail(u, rc);
	if (!r->held_big) {
		u->next = r->vwait;
		r->vwait = u;
		r->nwait++;
		return maybe_scan(m, r);
	}
	body = cJSON_CreateObject();
	req = cJSON_CreateObject();
	get_table(req, r->held, u, WRITTEN, 0, &ok);
	sb_ddb_put(body, "RequestItems", req, &ok);
	if (!ok) {
		cJSON_Delete(body);
		return unit_fail(u, sb_ddb_nomem(r->s, "add"));
	}
	if ((rc = sb_ddb_multi_send(m, "BatchGetItem", body, r->avail, 0,
	                            on_verify, u)))
		return unit_fail(u, rc);
	return SB_OK;
}

/* Mark HANDED the written items among @p items (rows of T(B).held). */
static void mark_handed(unit *u, const cJSON *items)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, items)
	{
		const char *item = sb_ddb_get_s(it, SB_DDB_ITEM_KEY);
		unsigned char *f = item ? flag_of(u, item) : NULL;
		if (f && (*f & WRITTEN))
			*f |= HANDED;
	}
}

/* The written items found handed out: out of T(B) (fix_all), counted
 * as skipped; the unit is through. */
static int verified(unit *u)
{
	int rc;

	if ((rc = fix_all(u, WRITTEN | HANDED))) {
		u->pending = 1;
		return unit_fail(u, rc);
	}
	unit_done(u);
	return SB_OK;
}

static int on_verify_scan(sb_ddb_multi *m, void *ctx, int rc, cJSON *resp)
{
	add_run *r = ctx;
	const cJSON *lek = cJSON_GetObjectItemCaseSensitive(resp,
	                                                    "LastEvaluatedKey");
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(resp, "Items");
	unit *u, *next;
	int first = SB_OK, urc;

	/* Grown past SMALL_HELD: item by item from now on. */
	if (rc == SB_OK && cJSON_IsObject(lek) && lek->child)
		r->held_big = 1;
	r->scanning = 0;
	for (u = r->vscan, r->vscan = NULL; u; u = next) {
		next = u->next;
		if (rc != SB_OK)
			urc = unit_fail(u, rc);
		else if (r->held_big)
			urc = verify(m, u);
		else {
			mark_handed(u, items);
			urc = verified(u);
		}
		if (first == SB_OK)
			first = urc;
	}
	cJSON_Delete(resp);
	/* Units written meanwhile are verified even after an error. */
	if ((urc = maybe_scan(m, r)) && first == SB_OK)
		first = urc;
	return first;
}

static int on_verify(sb_ddb_multi *m, void *ctx, int rc, cJSON *resp)
{
	unit *u = ctx;
	add_run *r = u->r;
	cJSON *rest;

	if (u->failed)
		return unit_drain(u, resp);
	if (rc != SB_OK)
		return unit_fail(u, rc);
	mark_handed(u,
	            cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(resp, "Responses"),
			    r->held));
	rest = unprocessed(resp, "UnprocessedKeys");
	cJSON_Delete(resp);
	if (rest && (rc = resend(m, u, "BatchGetItem", rest, on_verify)))
		return unit_fail(u, rc);
	if (--u->pending > 0)
		return SB_OK;
	return verified(u);
}

static int on_write(sb_ddb_multi *m, void *ctx, int rc, cJSON *resp);

static int write_done(sb_ddb_multi *m, unit *u, int rc, cJSON *resp)
{
	cJSON *rest;

	if (u->failed)
		return unit_drain(u, resp);
	if (rc != SB_OK)
		return unit_fail(u, rc);
	rest = unprocessed(resp, "UnprocessedItems");
	cJSON_Delete(resp);
	if (rest && (rc = resend(m, u, "BatchWriteItem", rest, on_write)))
		return unit_fail(u, rc);
	if (rest)
		u->r->writes++;
	if (--u->pending > 0)
		return SB_OK;
	return verify(m, u);
}

static int on_write(sb_ddb_multi *m, void *ctx, int rc, cJSON *resp)
{
	unit *u = ctx;
	add_run *r = u->r;
	int rc2;

	r->writes--;
	rc = write_done(m, u, rc, resp);
	/* The last write in flight: the units waiting need not wait. */
	if ((rc2 = maybe_scan(m, r)) && rc == SB_OK)
		rc = rc2;
	return rc;
}

static int write_absent(sb_ddb_multi *m, unit *u)
{
	add_run *r = u->r;
	size_t i = 0;
	int rc;

	u->rounds = 0;
	u->pending = 1; /* until every request is queued */
	/* Tests meet a claim here (fault builds). */
	if ((rc = sb_fault_point(r->s->base.box, SB_DDB_FAULT_ADD_WRITE)))
		return unit_fail(u, rc);
	while (i < u->n) {
		cJSON *body = cJSON_CreateObject(), *req = cJSON_CreateObject();
		cJSON *puts = cJSON_CreateArray();
		int ok = 1, k = 0;

		for (; i < u->n && k < WRITE_MAX; i++) {
			cJSON *put, *rec;
			if (u->f[i] & (IN_AVAIL | IN_HELD))
				continue;
			u->f[i] |= WRITTEN;
			put = cJSON_CreateObject();
			rec = cJSON_CreateObject();
			sb_ddb_put(rec, "Item",
			           sb_ddb_key(SB_DDB_ITEM_KEY, u->v[i]), &ok);
			sb_ddb_put(put, "PutRequest", rec, &ok);
			sb_ddb_push(puts, put, &ok);
			k++;
		}
		sb_ddb_put(req, r->avail, puts, &ok);
		sb_ddb_put(body, "RequestItems", req, &ok);
		if (!ok) {
			cJSON_Delete(body);
			return unit_fail(u, sb_ddb_nomem(r->s, "add"));
		}
		if (k == 0) {
			cJSON_Delete(body);
			break;
		}
		if ((rc = sb_ddb_multi_send(m, "BatchWriteItem", body, r->avail,
		                            0, on_write, u)))
			return unit_fail(u, rc);
		u->pending++;
		r->writes++;
	}
	if (--u->pending > 0)
		return SB_OK;
	unit_done(u); /* nothing to write */
	return SB_OK;
}

static int read_done(sb_ddb_multi *m, unit *u);

/* A TransactGetItems of the unit's keys in T(B).held (action 2k) and
 * T(B) (2k + 1): one snapshot of both tables. */
static cJSON *snapshot_body(unit *u, int *ok)
{
	cJSON *body = cJSON_CreateObject(), *acts = cJSON_CreateArray();
	size_t i;
	int t;

	for (i = 0; i < u->n; i++)
		for (t = 0; t < 2; t++) {
			cJSON *a = cJSON_CreateObject(),
			      *g = cJSON_CreateObject();
			sb_ddb_add_str(g, "TableName",
			               t ? u->r->avail : u->r->held, ok);
			sb_ddb_put(g, "Key",
			           sb_ddb_key(SB_DDB_ITEM_KEY, u->v[i]), ok);
			sb_ddb_add_str(g, "ProjectionExpression", "#i", ok);
			sb_ddb_put(g, "ExpressionAttributeNames",
			           sb_ddb_names_item(), ok);
			sb_ddb_put(a, "Get", g, ok);
			sb_ddb_push(acts, a, ok);
		}
	sb_ddb_put(body, "TransactItems", acts, ok);
	return body;
}

static int on_snapshot(sb_ddb_multi *m, void *ctx, int rc, cJSON *resp)
{
	unit *u = ctx;
	const cJSON *got, *it;
	size_t k = 0;

	if (u->failed)
		return unit_drain(u, resp);
	if (rc != SB_OK) {
		cJSON_Delete(resp);
		return unit_fail(u, rc);
	}
	got = cJSON_GetObjectItemCaseSensitive(resp, "Responses");
	if (cJSON_GetArraySize(got) != (int)(2 * u->n)) {
		int n = cJSON_GetArraySize(got);
		cJSON_Delete(resp);
		return unit_fail(u, sb_seterr(u->r->s->base.box, SB_EBACKEND,
		                              "DynamoDB TransactGetItems (%s) "
		                              "at %s: %d answers to %zu reads",
		                              u->r->avail, u->r->s->where, n,
		                              2 * u->n));
	}
	cJSON_ArrayForEach(it, got)
	{
		if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(it, "Item")))
			u->f[k / 2] |= k % 2 ? IN_AVAIL : IN_HELD;
		k++;
	}
	cJSON_Delete(resp);
	if (--u->pending > 0)
		return SB_OK;
	return read_done(m, u);
}

/* The unit's keys read: out of T(B) what both tables have, then write
 * the absent ones. */
static int read_done(sb_ddb_multi *m, unit *u)
{
	int rc;

	if ((rc = fix_all(u, IN_AVAIL | IN_HELD))) {
		u->pending = 1;
		return unit_fail(u, rc);
	}
	return write_absent(m, u);
}

/* Is @p table empty (marker rows aside)? 1, 0, or an error. One
 * consistent Scan of a few rows. */
static int empty_table(sb_ddb_store *s, const char *table)
{
	cJSON *body = cJSON_CreateObject(), *resp = NULL;
	const cJSON *it, *lek;
	int ok = 1, rc;

	sb_ddb_add_str(body, "TableName", table, &ok);
	sb_ddb_add_num(body, "Limit", 3, &ok); /* two markers at most */
	sb_ddb_put(body, "ConsistentRead", cJSON_CreateTrue(), &ok);
	sb_ddb_add_str(body, "ProjectionExpression", "#i", &ok);
	sb_ddb_put(body, "ExpressionAttributeNames", sb_ddb_names_item(), &ok);
	rc = ok ? sb_ddb_call(&resp, s, "Scan", body, table)
	        : sb_ddb_nomem(s, "add");
	cJSON_Delete(body);
	if (rc == SB_DDB_NOTABLE) /* the tables were just made */
		rc = sb_ddb_table_gone(s);
	if (rc)
		return rc;
	lek = cJSON_GetObjectItemCaseSensitive(resp, "LastEvaluatedKey");
	rc = !(cJSON_IsObject(lek) && lek->child);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(resp, "Items"))
	{
		const char *item = sb_ddb_get_s(it, SB_DDB_ITEM_KEY);
		if (!item || (strcmp(item, SB_DDB_GENERIC_MARK) != 0 &&
		              strcmp(item, SB_DDB_HOLDS_MARK) != 0))
			rc = 0;
	}
	cJSON_Delete(resp);
	return rc;
}

static int feed(sb_ddb_multi *m, void *ctx)
{
	add_run *r = ctx;
	cJSON *body;
	unit *u;
	int ok = 1, rc;

	if (r->next >= r->m)
		return 0;
	if (!(u = calloc(1, sizeof(*u))))
		return sb_ddb_nomem(r->s, "add");
	u->r = r;
	u->v = r->v + r->next;
	u->n = UNIT_KEYS / (r->avail_empty && r->held_empty ? 1 : 2);
	if (u->n > r->m - r->next)
		u->n = r->m - r->next;
	if (!(u->f = calloc(u->n, 1))) {
		free(u);
		return sb_ddb_nomem(r->s, "add");
	}
	r->next += u->n;
	if (r->avail_empty && r->held_empty) {
		rc = write_absent(m, u); /* nothing there to find */
		return rc ? rc : 1;
	}
	/* Both tables at once: an item moving between them (restocked,
	 * reclaimed, claimed) is seen in one (see the top). */
	u->pending = 1;
	body = snapshot_body(u, &ok);
	if (!ok) {
		cJSON_Delete(body);
		return unit_fail(u, sb_ddb_nomem(r->s, "add"));
	}
	if ((rc = sb_ddb_multi_send(m, "TransactGetItems", body, r->avail, 0,
	                            on_snapshot, u)))
		return unit_fail(u, rc);
	return 1;
}

int sb_ddb_add(uint64_t *added, uint64_t *skipped, sb_store *base,
               const char *bank, const char *const *items, size_t n)
{
	sb_ddb_store *s = (sb_ddb_store *)base;
	char *avail = NULL, *held = NULL;
	add_run r;
	size_t i;
	int rc;

	*added = *skipped = 0;
	memset(&r, 0, sizeof r);
	/* Refused before any request: keys DynamoDB would reject. */
	for (i = 0; i < n; i++) {
		char what[48];
		snprintf(what, sizeof(what), "item %zu", i + 1);
		if ((rc = sb_ddb_check_key(s, items[i], what)))
			return rc;
	}
	if ((rc = sb_ddb_bank_tables(s, &avail, &held, bank)))
		return rc;
	if ((rc = sb_ddb_bank_ensure(s, avail, held)))
		goto out;
	if (!(r.v = distinct(items, n, &r.m, &r.skipped))) {
		rc = sb_ddb_nomem(s, "add");
		goto out;
	}
	r.s = s;
	r.avail = avail;
	r.held = held;
	/* A bank found empty needs no read per item (a fresh load). */
	/* T(B).held first: an item restocked between the two Scans is seen
	 * in one of them. */
	if ((rc = r.held_empty = empty_table(s, held)) < 0 ||
	    (rc = r.avail_empty = empty_table(s, avail)) < 0)
		goto out;
	rc = sb_ddb_multi_run(s, s->add_parallel, feed, &r);
	if (rc != SB_OK) {
		char first[512];
		snprintf(first, sizeof first, "%s", sb_box_errmsg(base->box));
		sb_seterr(base->box, rc,
		          "%s; adding %zu distinct items to table %s stopped: "
		          "%llu added and %llu skipped (repeats included), "
		          "%zu in batches that failed may be partly added, "
		          "%zu not sent; running the same add again skips "
		          "what is there",
		          first, r.m, avail, (unsigned long long)r.added,
		          (unsigned long long)r.skipped, r.failed_items,
		          r.m - r.next);
	}
	*added = r.added;
	*skipped = r.skipped;
out:
	free(r.v);
	free(avail);
	free(held);
	return rc;
}
