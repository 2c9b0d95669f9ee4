/* Fuzz target: how the DynamoDB backend reads the bodies the server (or
 * anything posing as it) sends back: JSON answers of GetItem, PutItem,
 * Scan, TransactWriteItems, DescribeTable, and error bodies (__type,
 * message, CancellationReasons, the ALL_OLD Item).
 *
 * Input: one selector byte, then answers separated by NUL, each "SSS" (an
 * HTTP status in three digits) and the body; an answer without the
 * digits is a 200. Selector 'a' feeds each answer to sb_ddb_answer (the
 * pure body -> result step of every request); the others run one bank or
 * ledger operation of the backend against a store whose requests are
 * answered, in order, from the input (sb_ddb_store.replay): no network.
 * Checked: results are sb_error codes (no internal DDB_* code leaks), an
 * item comes back exactly when the contract says, every error has a
 * message; and, by the sanitizers, no bad access and no leak. */
#include "ddb_private.h"
#include "fuzz_store.h"

/* A claim could otherwise wait 100 ms per DescribeTable answer that is
 * not ACTIVE: keep each input fast. */
#define MAX_DESCRIBE 4
#define MAX_ANSWERS  64

typedef struct {
	fz_records rec;
	int describes, answers;
	char *body; /* last answer, copied: exactly its size, no NUL */
} replay_ctx;

static const char *split_status(const uint8_t *r, size_t n, long *status,
                                size_t *len)
{
	if (n >= 3 && r[0] >= '0' && r[0] <= '9' && r[1] >= '0' &&
	    r[1] <= '9' && r[2] >= '0' && r[2] <= '9') {
		*status = (r[0] - '0') * 100 + (r[1] - '0') * 10 + (r[2] - '0');
		*len = n - 3;
		return (const char *)r + 3;
	}
	*status = 200;
	*len = n;
	return (const char *)r;
}

static const char *next_answer(void *p, const char *op, long *status,
                               size_t *len)
{
	replay_ctx *x = p;
	const uint8_t *r;
	const char *b;
	size_t n;

	if (strcmp(op, "DescribeTable") == 0 && ++x->describes > MAX_DESCRIBE)
		return NULL;
	if (++x->answers > MAX_ANSWERS || !(r = fz_next(&x->rec, &n)))
		return NULL;
	b = split_status(r, n, status, len);
	free(x->body);
	x->body = malloc(*len ? *len : 1);
	if (!x->body)
		return NULL;
	memcpy(x->body, b, *len);
	return x->body;
}

/* Selector 'a': each answer alone through sb_ddb_answer. */
static void answers(sb_ddb_store *s, fz_records *rec)
{
	const uint8_t *r;
	size_t n;

	while ((r = fz_next(rec, &n))) {
		long status;
		size_t len;
		const char *b = split_status(r, n, &status, &len);
		char *copy = malloc(len ? len : 1);
		cJSON *out = (cJSON *)1;
		const char *code;
		sb_item *it = NULL;
		int retry = -1, rc, i;

		if (!copy)
			return;
		memcpy(copy, b, len);
		rc = sb_ddb_answer(&out, s, copy, len, status,
		                   "TransactWriteItems", "fuzz", &retry);
		CHECK(NULL, retry == 0 || retry == 1);
		CHECK(NULL, rc == SB_OK || rc == SB_DDB_CANCELED ||
		                    rc == SB_DDB_NOTABLE || rc < 0);
		CHECK(NULL, (rc == SB_OK || rc == SB_DDB_CANCELED ||
		             rc == SB_ECONFLICT) == (out != NULL));
		CHECK(NULL, rc == SB_OK || s->base.box->errmsg[0]);
		CHECK(NULL, !retry || rc != SB_OK);
		/* What the callers read out of an answer. */
		for (i = 0;
		     rc == SB_DDB_CANCELED && sb_ddb_reason(out, i, &code); i++)
			;
		if (out &&
		    sb_ddb_ledger_item(&it,
		                       cJSON_GetObjectItemCaseSensitive(out,
		                                                        "Item"),
		                       "b") == SB_OK)
			sb_item_free(it);
		cJSON_Delete(out);
		free(copy);
	}
}

static void run_op(sb_ddb_store *s, int op)
{
	static const char *const items[4] = { "a", "b", "a", "{\"S\":\"x\"}" };

	fz_store_op(&s->base, sb_ddb_claim, op, items);
}

static char where[] = "fuzz", no_prefix[] = "";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sb_box box;
	sb_ddb_store s;
	replay_ctx x;
	unsigned int i;
	int op;

	if (size < 1 || size > FZ_MAX_INPUT)
		return 0;
	memset(&box, 0, sizeof(box));
	/* As ddb_open does: the replayed requests are still signed. */
	if (sb_ddb_curl_load(&box) || sb_crypto_load(&box, "DynamoDB"))
		abort();
	memset(&s, 0, sizeof(s));
	memset(&x, 0, sizeof(x));
	x.rec.p = data + 1;
	x.rec.end = data + size;
	s.base.bank = &sb_ddb_bank_ops;
	s.base.ledger = &sb_ddb_ledger_ops;
	s.base.box = &box;
	s.where = where;
	s.bank_prefix = no_prefix;
	s.ledger_prefix = no_prefix;
	s.rng = 1;
	s.scan_segments = 4;
	s.scan_limit = 3;
	s.max_retries = 2; /* retries without sleeping: backoff 0 ms */
	s.replay = next_answer;
	s.replay_ctx = &x;

	op = fz_op(data[0], "actspnrkdgueml");
	if (op == 0)
		answers(&s, &x.rec);
	else
		run_op(&s, op);

	sb_ddb_drop_candidates(&s);
	for (i = 0; i < SB_DDB_TABLE_CACHE; i++) {
		free(s.known[i]);
		free(s.marked[i]);
	}
	free(s.resp);
	free(x.body);
	return 0;
}
