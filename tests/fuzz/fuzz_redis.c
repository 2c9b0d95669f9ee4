/* Fuzz target: how the Redis backend reads replies. The bytes after the
 * selector are a RESP stream fed to hiredis's own reader (redisReader),
 * which turns them into the redisReply trees the backend would get from a
 * server: any shape, nesting, type or length a hostile or broken server
 * could send. Selector 'a' passes each reply to the reply helpers
 * (error mapping, NOSCRIPT, ledger value decoding); the others run one
 * bank or ledger operation, or the fused claim, against a store whose
 * commands are answered in order from that reader (rd_store.replay): no
 * network. An upper-case selector starts with no script SHA known, so the
 * first reply answers SCRIPT LOAD. Checked as for DynamoDB: only sb_error
 * codes, items exactly when the contract says, a message with every
 * error; the sanitizers check memory and leaks. */
#include "redis_private.h"
#include "fuzz_common.h"

#include <ctype.h>

/* hiredis 0.14 allocates an array reply's element table as soon as it
 * reads the header "*N", before any element arrived: "*1000000000" makes
 * it calloc 8 GB, which libFuzzer reports as out-of-memory (a real client
 * gets calloc's NULL, i.e. a reader error, mapped to SB_ENOMEM). Every
 * element takes at least 3 bytes, so no array of more than a third of
 * the input size can ever complete: refusing those (the reader's
 * out-of-memory path) loses no reply the backend could be given. */
static void *(*create_array_orig)(const redisReadTask *, int);
static redisReplyObjectFunctions capped_functions;

static void *create_array_capped(const redisReadTask *task, int n)
{
	if (n < 0 || n > FZ_MAX_INPUT / 3)
		return NULL;
	return create_array_orig(task, n);
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

/* Selector 'a': every reply through the helpers that read one. */
static void replies(rd_store *s)
{
	void *v;

	while (redisReaderGetReply(s->replay, &v) == REDIS_OK && v) {
		redisReply *r = v;
		int malformed = -1;

		if (r->type == REDIS_REPLY_ERROR) {
			int rc = rd_reply_error(s, r, "fuzz");
			FZ_CHECK(rc < 0 && s->base.box->errmsg[0]);
			(void)rd_is_noscript(r);
		}
		if (r->type == REDIS_REPLY_STRING) {
			sb_item *it = rd_entry_decode(r->str, r->len, 0,
			                              &malformed);
			FZ_CHECK(it || malformed == 1);
			sb_item_free(it);
		}
		FZ_CHECK(rd_bad_reply(s, r, "fuzz") == SB_EBACKEND);
		freeReplyObject(r);
	}
}

static void run_op(rd_store *s, int op)
{
	sb_store *st = &s->base;
	const char *items[] = { "a", "b", "a", "x\"'; DROP" };
	sb_item *it = NULL;
	sb_bank_counts bc;
	uint64_t added = 0, skipped = 0, cnt = 0;
	int rc, n = 0;

	switch (op) {
	case 1: /* c */
		rc = rd_claim(&it, st, "bank", "ledger", "id", "tok", 1000);
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
	default: /* m */
		rc = st->ledger->count(&cnt, st, "ledger", "bank");
		break;
	}
	/* SB_FUZZ_DEBUG=1: say what each input did (for writing seeds). */
	if (getenv("SB_FUZZ_DEBUG"))
		fprintf(stderr, "op %d: rc %d: %s\n", op, rc,
		        s->base.box->errmsg);
	/* Only the fused claim may also say "empty, nothing reserved". */
	FZ_CHECK(rc == SB_OK || rc == SB_EMPTY || rc < 0 ||
	         (rc == SB_EMPTY_SETTLED && op == 1));
	FZ_CHECK(rc >= 0 || s->base.box->errmsg[0]);
}

static char where[] = "fuzz", tag[] = "{sb}:";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sb_box box;
	rd_store s;
	int op, i;

	if (size < 1 || size > FZ_MAX_INPUT)
		return 0;
	memset(&box, 0, sizeof(box));
	memset(&s, 0, sizeof(s));
	s.base.bank = &rd_bank_ops;
	s.base.ledger = &rd_ledger_ops;
	s.base.box = &box;
	s.where = where;
	s.tag = tag;
	s.tag_len = strlen(tag);
	if (!(s.replay = redisReaderCreate()))
		return 0;
	if (!create_array_orig) {
		capped_functions = *s.replay->fn;
		create_array_orig = capped_functions.createArray;
		capped_functions.createArray = create_array_capped;
	}
	s.replay->fn = &capped_functions;
	if (size > 1 &&
	    redisReaderFeed(s.replay, (const char *)data + 1, size - 1) != REDIS_OK) {
		redisReaderFree(s.replay);
		return 0;
	}
	if (!isupper(data[0]))
		for (i = 0; i < RS_N; i++)
			memset(s.sha[i], 'f', 40);
	op = fz_op((uint8_t)tolower(data[0]), "actspnrkdguem");
	if (op == 0)
		replies(&s);
	else
		run_op(&s, op);
	redisReaderFree(s.replay);
	return 0;
}
