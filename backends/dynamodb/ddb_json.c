/* DynamoDB's typed JSON ({"S": "..."}, {"N": "..."}) built and read with
 * cJSON. Values are copied into the tree as data, never pasted into
 * expressions: every expression uses :placeholders and #names. */
#include "ddb_private.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

int sb_ddb_nomem(sb_ddb_store *s, const char *what)
{
	return sb_seterr(s->base.box, SB_ENOMEM, "DynamoDB: out of memory (%s)",
	                 what);
}

cJSON *sb_ddb_s(const char *v)
{
	cJSON *o = cJSON_CreateObject();

	if (o && !cJSON_AddStringToObject(o, "S", v)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

cJSON *sb_ddb_n(int64_t v)
{
	char buf[32];
	cJSON *o = cJSON_CreateObject();

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	if (o && !cJSON_AddStringToObject(o, "N", buf)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

cJSON *sb_ddb_key(const char *name, const char *v)
{
	cJSON *k = cJSON_CreateObject();
	int ok = 1;

	sb_ddb_add_s(k, name, v, &ok);
	if (!ok) {
		cJSON_Delete(k);
		return NULL;
	}
	return k;
}

/* obj[name] = child; a NULL child or a failed add clears *ok (and frees
 * the child), so a request with a missing part is never sent: callers
 * build the whole tree, then check ok once. */
void sb_ddb_put(cJSON *obj, const char *name, cJSON *child, int *ok)
{
	if (!obj || !child || !cJSON_AddItemToObject(obj, name, child)) {
		cJSON_Delete(child);
		*ok = 0;
	}
}

void sb_ddb_add_s(cJSON *obj, const char *name, const char *v, int *ok)
{
	sb_ddb_put(obj, name, sb_ddb_s(v), ok);
}

void sb_ddb_add_str(cJSON *obj, const char *name, const char *v, int *ok)
{
	sb_ddb_put(obj, name, cJSON_CreateString(v), ok);
}

void sb_ddb_add_num(cJSON *obj, const char *name, double v, int *ok)
{
	sb_ddb_put(obj, name, cJSON_CreateNumber(v), ok);
}

void sb_ddb_push(cJSON *arr, cJSON *child, int *ok)
{
	if (!arr || !child || !cJSON_AddItemToArray(arr, child)) {
		cJSON_Delete(child);
		*ok = 0;
	}
}

const char *sb_ddb_get_s(const cJSON *item, const char *name)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(item, name);
	const cJSON *s = a ? cJSON_GetObjectItemCaseSensitive(a, "S") : NULL;

	return cJSON_IsString(s) ? s->valuestring : NULL;
}

int sb_ddb_get_n(const cJSON *item, const char *name, int64_t *out)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(item, name);
	const cJSON *n = a ? cJSON_GetObjectItemCaseSensitive(a, "N") : NULL;
	char *end;
	long long v;

	if (!cJSON_IsString(n))
		return -1;
	v = strtoll(n->valuestring, &end, 10);
	if (*end)
		return -1;
	*out = (int64_t)v;
	return 0;
}

cJSON *sb_ddb_names(const char *n1, const char *v1, const char *n2,
                    const char *v2)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	if (n1 && !cJSON_AddStringToObject(o, n1, v1))
		goto fail;
	if (n2 && !cJSON_AddStringToObject(o, n2, v2))
		goto fail;
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

const cJSON *sb_ddb_reason(const cJSON *err, int i, const char **code)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(err,
	                                                  "CancellationReasons");
	const cJSON *e, *c;

	*code = NULL;
	if (!cJSON_IsArray(r) || !(e = cJSON_GetArrayItem(r, i)))
		return NULL;
	c = cJSON_GetObjectItemCaseSensitive(e, "Code");
	if (cJSON_IsString(c))
		*code = c->valuestring;
	return e;
}
