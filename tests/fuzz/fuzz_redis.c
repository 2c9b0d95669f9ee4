/* Fuzz target: how the Redis backend reads replies. The bytes after the
 * selector are a RESP stream fed to hiredis's own reader (redisReader),
 * which turns them into the redisReply trees the backend would get from a
 * server: any shape, nesting, type or length a hostile or broken server
 * could send. Selector 'a' passes each reply to the reply helpers
 * (error mapping, NOSCRIPT, ledger value decoding); the others run one
 * bank or ledger operation, or the fused claim, against a store whose
 * commands are answered in order from that reader (sb_rd_store.replay): no
 * network. An upper-case selector starts with no script SHA known, so the
 * first reply answers SCRIPT LOAD. Checked as for DynamoDB: only sb_error
 * codes, items exactly when the contract says, a message with every
 * error; the sanitizers check memory and leaks. */
#include "redis_private.h"
#include "fuzz_store.h"

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

/* Selector 'a': every reply through the helpers that read one. */
static void replies(sb_rd_store *s)
{
	void *v;

	while (redisReaderGetReply(s->replay, &v) == REDIS_OK && v) {
		redisReply *r = v;
		int malformed = -1;
		int64_t until = -1;

		if (r->type == REDIS_REPLY_ERROR) {
			int rc = sb_rd_reply_error(s, r, "fuzz");
			CHECK(NULL, rc < 0 && s->base.box->errmsg[0]);
			(void)sb_rd_is_noscript(r);
		}
		if (r->type == REDIS_REPLY_STRING) {
			sb_item *it = sb_rd_entry_decode(r->str, r->len, 0,
			                                 &until, &malformed);
			CHECK(NULL, it || malformed == 1);
			CHECK(NULL, !it || until >= 0);
			sb_item_free(it);
		}
		CHECK(NULL, sb_rd_bad_reply(s, r, "fuzz") == SB_EBACKEND);
		freeReplyObject(r);
	}
}

static void run_op(sb_rd_store *s, int op)
{
	static const char *const items[4] = { "a", "b", "a", "x\"'; DROP" };

	fz_store_op(&s->base, sb_rd_claim, op, items);
}

static char where[] = "fuzz", tag[] = "{sb}:";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sb_box box;
	sb_rd_store s;
	int op, i;

	if (size < 1 || size > FZ_MAX_INPUT)
		return 0;
	memset(&box, 0, sizeof(box));
	memset(&s, 0, sizeof(s));
	s.base.bank = &sb_rd_bank_ops;
	s.base.ledger = &sb_rd_ledger_ops;
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
	if (size > 1 && redisReaderFeed(s.replay, (const char *)data + 1,
	                                size - 1) != REDIS_OK) {
		redisReaderFree(s.replay);
		return 0;
	}
	if (!isupper(data[0]))
		for (i = 0; i < SB_RD_NSCRIPTS; i++)
			memset(s.sha[i], 'f', 40);
	op = fz_op((uint8_t)tolower(data[0]), "actspnrkdguem");
	if (op == 0)
		replies(&s);
	else
		run_op(&s, op);
	redisReaderFree(s.replay);
	sb_rd_hold_cmd_free(&s); /* what rd_close frees besides */
	return 0;
}
