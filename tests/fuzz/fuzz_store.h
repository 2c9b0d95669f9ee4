/* Shared by the backend fuzz targets (Redis, DynamoDB): one bank or
 * ledger operation, or the fused claim, on a store whose requests are
 * answered from the fuzz input, then the checks every answer must pass:
 * only sb_error codes leave the backend (SB_EMPTY_SETTLED from the claim
 * only), an item exactly when the contract says, a message with every
 * error. Selector letters after 'a' (the target's own answer helpers):
 * c claim, t take, s settle, p put back, n count, r reserved, k create,
 * d add, g get, u put-if-absent, e export, m ledger count, l ledger
 * create (when the backend has one). */
#ifndef SB_FUZZ_STORE_H
#define SB_FUZZ_STORE_H

#include "internal.h"
#include "fuzz_common.h"

typedef int (*fz_claim_fn)(sb_item **out, sb_store *st, const char *bank,
                           const char *ledger, const char *dedup_id,
                           const char *token, int64_t now_ms);

static int fz_on_resv(const char *item, const char *token, int64_t since,
                      void *p)
{
	int *n = p;

	(void)since;
	CHECK(NULL, item && token);
	return ++*n >= 3 ? 7 : 0; /* the third one stops: 7 comes back */
}

static int fz_on_entry(const char *id, const char *bank, const char *item,
                       void *p)
{
	int *n = p;

	CHECK(NULL, id && bank && item);
	return ++*n >= 3 ? 7 : 0;
}

/* Operation @p op (1 to 13, see above) on @p st; @p items: the four items
 * add sends (with a repeat, so added + skipped is checked). */
static inline void fz_store_op(sb_store *st, fz_claim_fn claim, int op,
                               const char *const items[4])
{
	sb_item *it = NULL;
	sb_bank_counts bc;
	uint64_t added = 0, skipped = 0, cnt = 0;
	int rc, n = 0;

	switch (op) {
	case 1: /* c */
		rc = claim(&it, st, "bank", "ledger", "id", "tok", 1000);
		CHECK(NULL, (rc == SB_OK) == (it != NULL));
		sb_item_free(it);
		break;
	case 2: /* t */
		rc = st->bank->take(&it, st, "bank", "tok", 1000);
		CHECK(NULL, (rc == SB_OK) == (it != NULL));
		sb_item_free(it);
		break;
	case 3: /* s */ rc = st->bank->settle(st, "bank", "a", "tok"); break;
	case 4: /* p */ rc = st->bank->put_back(st, "bank", "a", "tok"); break;
	case 5: /* n */ rc = st->bank->count(&bc, st, "bank"); break;
	case 6: /* r */
		rc = st->bank->reserved(st, "bank", 5000, fz_on_resv, &n);
		CHECK(NULL, n < 3 || rc == 7);
		if (rc == 7)
			return;
		break;
	case 7: /* k */ rc = st->bank->create(st, "bank"); break;
	case 8: /* d */
		rc = st->bank->add(&added, &skipped, st, "bank", items, 4);
		CHECK(NULL, rc != SB_OK || added + skipped == 4);
		break;
	case 9: /* g */
		rc = st->ledger->get(&it, st, "ledger", "id");
		CHECK(NULL, (rc == SB_OK) == (it != NULL));
		sb_item_free(it);
		break;
	case 10: /* u */
		rc = st->ledger->put_if_absent(&it, st, "ledger", "id", "bank",
		                               "a");
		CHECK(NULL, (rc == SB_ECONFLICT) == (it != NULL));
		sb_item_free(it);
		break;
	case 11: /* e */
		rc = st->ledger->export(st, "ledger", fz_on_entry, &n);
		CHECK(NULL, n < 3 || rc == 7);
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
	/* SB_FUZZ_DEBUG=1: say what each input did (for writing seeds). */
	if (getenv("SB_FUZZ_DEBUG"))
		fprintf(stderr, "op %d: rc %d: %s\n", op, rc, st->box->errmsg);
	CHECK(NULL, rc == SB_OK || rc == SB_EMPTY || rc < 0 ||
	                    (rc == SB_EMPTY_SETTLED && op == 1));
	CHECK(NULL, rc >= 0 || st->box->errmsg[0]);
}

#endif
