/* The writes that move items between a bank's tables: transaction
 * actions and records, TransactWriteItems, and the clean-up of an issued
 * item that the original library loaded again. Values go into the JSON
 * tree as data; conditions use only #names and :placeholders. */
#include "ddb_private.h"

#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

/* One transaction action: {"<kind>": {TableName, Key|Item, Condition...}}.
 * @p values may be NULL. Takes ownership of @p key_or_item and values. */
cJSON *sb_ddb_action(const char *kind, const char *table, cJSON *key_or_item,
                     const char *cond, cJSON *names, cJSON *values)
{
	cJSON *a = cJSON_CreateObject(), *in = cJSON_CreateObject();
	int ok = 1;

	sb_ddb_add_str(in, "TableName", table, &ok);
	sb_ddb_put(in, strcmp(kind, "Put") == 0 ? "Item" : "Key", key_or_item,
	           &ok);
	if (cond) {
		sb_ddb_add_str(in, "ConditionExpression", cond, &ok);
		sb_ddb_put(in, "ExpressionAttributeNames", names, &ok);
		if (values)
			sb_ddb_put(in, "ExpressionAttributeValues", values,
			           &ok);
	} else {
		cJSON_Delete(names);
		cJSON_Delete(values);
	}
	sb_ddb_put(a, kind, in, &ok);
	if (!ok) {
		cJSON_Delete(a);
		return NULL;
	}
	return a;
}

/* The held record of an item storagebox took: @p until_ms 0 and
 * @p ltable NULL leave those attributes out (only holds have them). */
cJSON *sb_ddb_held_record(const char *item, const char *state,
                          const char *token, int64_t since_ms, int64_t until_ms,
                          const char *ltable)
{
	cJSON *o = cJSON_CreateObject();
	int ok = 1;

	sb_ddb_add_s(o, SB_DDB_ITEM_KEY, item, &ok);
	sb_ddb_add_s(o, "state", state, &ok);
	sb_ddb_add_s(o, "token", token, &ok);
	sb_ddb_put(o, "since", sb_ddb_n(since_ms), &ok);
	if (until_ms)
		sb_ddb_put(o, "until", sb_ddb_n(until_ms), &ok);
	if (ltable)
		sb_ddb_add_s(o, "ltable", ltable, &ok);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

void sb_ddb_all_old(cJSON *action, int *ok)
{
	cJSON *in = action && action->child ? action->child : NULL;

	if (!in) {
		*ok = 0;
		return;
	}
	sb_ddb_add_str(in, "ReturnValuesOnConditionCheckFailure", "ALL_OLD",
	               ok);
}

static const char *const state_names[] = {
	"available", "reserved",   "assigned", "held",
	"retired",   "restocking", "retiring", "reclaiming",
};

const char *sb_ddb_state_name(unsigned int state)
{
	unsigned int i;

	for (i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (state == 1u << i)
			return state_names[i];
	return NULL;
}

unsigned int sb_ddb_state_bit(const char *name)
{
	unsigned int i;

	for (i = 0; name && i < sizeof(state_names) / sizeof(state_names[0]);
	     i++)
		if (strcmp(name, state_names[i]) == 0)
			return 1u << i;
	return 0;
}

cJSON *sb_ddb_names_item(void)
{
	return sb_ddb_names("#i", SB_DDB_ITEM_KEY, NULL, NULL);
}

/* A ClientRequestToken: DynamoDB treats two transactions with one token
 * within 10 minutes as the same request (and refuses different contents),
 * so tokens come from the kernel's random source, not from the store's
 * jitter generator (two stores opened in the same second at the same
 * address would share its sequence). */
static void request_token(sb_ddb_store *s, char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[16];
	ssize_t got = getrandom(r, sizeof(r), 0);
	int i;

	for (i = 0; i < 16; i++) {
		unsigned char b = got == (ssize_t)sizeof(r)
		                          ? r[i]
		                          : (unsigned char)sb_ddb_rand(s);
		out[2 * i] = hex[b >> 4];
		out[2 * i + 1] = hex[b & 15];
	}
	out[32] = '\0';
}

/* Send a TransactWriteItems; SB_DDB_CANCELED leaves the reasons in *err. */
int sb_ddb_transact(cJSON **err, sb_ddb_store *s, cJSON *actions,
                    const char *token, const char *what)
{
	cJSON *body = cJSON_CreateObject(), *resp = NULL;
	char fresh[33];
	int ok = 1, rc;

	*err = NULL;
	/* Every transaction carries a token: after a lost answer sb_ddb_call
	 * sends the same body again, and DynamoDB answers with the first
	 * try's outcome instead of checking the conditions once more. */
	if (!token) {
		request_token(s, fresh);
		token = fresh;
	}
	sb_ddb_put(body, "TransactItems", actions, &ok);
	sb_ddb_add_str(body, "ClientRequestToken", token, &ok);
	if (!ok) {
		cJSON_Delete(body);
		return sb_ddb_nomem(s, what);
	}
	rc = sb_ddb_call(&resp, s, "TransactWriteItems", body, what);
	cJSON_Delete(body);
	if (rc == SB_DDB_CANCELED) {
		*err = resp;
		return rc;
	}
	cJSON_Delete(resp);
	return rc;
}

static int check_failed(const cJSON *err, int i)
{
	const char *code;

	sb_ddb_reason(err, i, &code);
	return code && strcmp(code, "ConditionalCheckFailed") == 0;
}

/* Actions 0 and 1 of every move out of T are the Delete from T and the
 * Put into T.held. Best effort: the item stays refused by the held
 * condition either way, and a failure here leaves a message that the
 * caller's next answer replaces. */
void sb_ddb_unresurrect(sb_ddb_store *s, const cJSON *err, const char *avail,
                        const char *item)
{
	cJSON *body, *resp = NULL;
	int ok = 1;

	if (check_failed(err, 0) || !check_failed(err, 1))
		return; /* gone from T, or not held: nothing came back */
	body = cJSON_CreateObject();
	sb_ddb_add_str(body, "TableName", avail, &ok);
	sb_ddb_put(body, "Key", sb_ddb_key(SB_DDB_ITEM_KEY, item), &ok);
	if (ok)
		(void)sb_ddb_call(&resp, s, "DeleteItem", body, avail);
	cJSON_Delete(body);
	cJSON_Delete(resp);
}
