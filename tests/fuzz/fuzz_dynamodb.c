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
 * answered, in order, from the input (ddb_store.replay): no network.
 * Checked: results are sb_error codes (no internal DDB_* code leaks), an
 * item comes back exactly when the contract says, every error has a
 * message; and, by the sanitizers, no bad access and no leak. */
#include "ddb_private.h"
#include "fuzz_common.h"

/* A claim could otherwise wait 100 ms per DescribeTable answer that is
 * not ACTIVE: keep each input fast. */
#define MAX_DESCRIBE 4
#define MAX_ANSWERS 64

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

static int on_resv(const char *item, const char *token, int64_t since,
                   void *p)
{
	int *n = p;

	(void)since;
	FZ_CHECK(item && token);
	return ++*n >= 3 ? 7 : 0; /* the third one stops: 7 comes back */
}

static int on_entry(const char *id, const char *bank, const char *item,
                    void *p)
{
	int *n = p;

	FZ_CHECK(id && bank && item);
	return ++*n >= 3 ? 7 : 0;
}

/* Selector 'a': each answer alone through sb_ddb_answer. */
static void answers(ddb_store *s, fz_records *rec)
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
		rc = sb_ddb_answer(&out, s, copy, len, status, "TransactWriteItems",
		                   "fuzz", &retry);
		FZ_CHECK(retry == 0 || retry == 1);
		FZ_CHECK(rc == SB_OK || rc == DDB_CANCELED || rc == DDB_NOTABLE ||
		         rc < 0);
		FZ_CHECK((rc == SB_OK || rc == DDB_CANCELED || rc == SB_ECONFLICT)
		         == (out != NULL));
		FZ_CHECK(rc == SB_OK || s->base.box->errmsg[0]);
		FZ_CHECK(!retry || rc != SB_OK);
		/* What the callers read out of an answer. */
		for (i = 0; rc == DDB_CANCELED && sb_ddb_reason(out, i, &code); i++)
			;
		if (out && sb_ddb_ledger_item(&it, cJSON_GetObjectItemCaseSensitive(
		                              out, "Item"), "b") == SB_OK)
			sb_item_free(it);
		cJSON_Delete(out);
		free(copy);
	}
}

static void run_op(ddb_store *s, int op)
{
	sb_store *st = &s->base;
	const char *items[] = { "a", "b", "a", "{\"S\":\"x\"}" };
	sb_item *it = NULL;
	sb_bank_counts bc;
	uint64_t added = 0, skipped = 0, cnt = 0;
	int rc, n = 0;

	switch (op) {
	case 1: /* c */
		rc = sb_ddb_claim(&it, st, "bank", "ledger", "id", "tok", 1000);
		FZ_CHECK((rc == SB_OK) == (it != NULL));
		sb_item_free(it);
		break;
	case 2: /* t */
		rc = st->bank->take(&it, st, "bank", "tok", 1000);
		FZ_CHECK((rc == SB_OK) == (it != NULL));
		sb_item_free(it);
		break;
	case 3: /* s */
		rc = st->bank->settle(st, "bank", "a", "tok");
		break;
	case 4: /* p */
		rc = st->bank->put_back(st, "bank", "a", "tok");
		break;
	case 5: /* n */
		rc = st->bank->count(&bc, st, "bank");
		break;
	case 6: /* r */
		rc = st->bank->reserved(st, "bank", 5000, on_resv, &n);
		FZ_CHECK(n < 3 || rc == 7);
		if (rc == 7)
			return;
		break;
	case 7: /* k */
		rc = st->bank->create(st, "bank");
		break;
	case 8: /* d */
		rc = st->bank->add(&added, &skipped, st, "bank", items, 4);
		FZ_CHECK(rc != SB_OK || added + skipped == 4);
		break;
	case 9: /* g */
		rc = st->ledger->get(&it, st, "ledger", "id");
		FZ_CHECK((rc == SB_OK) == (it != NULL));
		sb_item_free(it);
		break;
	case 10: /* u */
		rc = st->ledger->put_if_absent(&it, st, "ledger", "id", "bank",
		                               "a");
		FZ_CHECK((rc == SB_ECONFLICT) == (it != NULL));
		sb_item_free(it);
		break;
	case 11: /* e */
		rc = st->ledger->export(st, "ledger", on_entry, &n);
		FZ_CHECK(n < 3 || rc == 7);
		if (rc == 7)
			return;
		break;
	case 12: /* m */
		rc = st->ledger->count(&cnt, st, "ledger", "bank");
		break;
	default: /* l */
		rc = st->ledger->create ? st->ledger->create(st, "ledger") : 0;
		break;
	}
	/* Only sb_error codes leave the backend, and errors say why. */
	/* SB_FUZZ_DEBUG=1: say what each input did (for writing seeds). */
	if (getenv("SB_FUZZ_DEBUG"))
		fprintf(stderr, "op %d: rc %d: %s\n", op, rc,
		        s->base.box->errmsg);
	/* Only the fused claim may also say "empty, nothing reserved". */
	FZ_CHECK(rc == SB_OK || rc == SB_EMPTY || rc < 0 ||
	         (rc == SB_EMPTY_SETTLED && op == 1));
	FZ_CHECK(rc >= 0 || s->base.box->errmsg[0]);
}

static char where[] = "fuzz", no_prefix[] = "";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sb_box box;
	ddb_store s;
	replay_ctx x;
	unsigned int i;
	int op;

	if (size < 1 || size > FZ_MAX_INPUT)
		return 0;
	memset(&box, 0, sizeof(box));
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
	for (i = 0; i < DDB_TABLE_CACHE; i++) {
		free(s.known[i]);
		free(s.marked[i]);
	}
	free(s.resp);
	free(x.body);
	return 0;
}
