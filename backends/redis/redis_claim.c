/* The fused claim of the Redis backend: one script does the whole claim
 * (the ledger's entry, else an item taken, assigned and recorded), so it
 * is atomic on the server and nothing is ever reserved. */
#include "redis_private.h"

#include <stdlib.h>
#include <string.h>

#define SB_RD_FAULT_CLAIM_DONE "redis_claim_after_reply"

int sb_rd_claim(sb_item **out, sb_store *base, const char *bank,
                const char *ledger, const char *dedup_id, const char *token,
                int64_t now_ms)
{
	sb_rd_store *s = (sb_rd_store *)base;
	char *k[6];
	const char *argv[12];
	size_t lens[12], i;
	redisReply *r = NULL;
	int rc = SB_OK;

	(void)now_ms; /* nothing is reserved on this path */
	*out = NULL;
	k[0] = sb_rd_key(s, SB_RD_KEY_LEDGER, ledger, &lens[3]);
	k[1] = sb_rd_key(s, SB_RD_KEY_HELD, ledger, &lens[4]);
	k[2] = sb_rd_key(s, 0, NULL, &lens[5]);
	k[3] = sb_rd_key(s, SB_RD_KEY_QUEUE, bank, &lens[6]);
	k[4] = sb_rd_key(s, SB_RD_KEY_STATE, bank, &lens[7]);
	k[5] = sb_rd_key(s, SB_RD_KEY_RESV, bank, &lens[8]);
	for (i = 0; i < 6; i++) {
		argv[3 + i] = k[i];
		if (!k[i])
			rc = sb_rd_nomem(s, "claim");
	}
	if (rc == SB_OK) {
		argv[9] = dedup_id;
		lens[9] = strlen(dedup_id);
		argv[10] = bank;
		lens[10] = strlen(bank);
		argv[11] = token;
		lens[11] = strlen(token);
		rc = sb_rd_eval(&r, s, SB_RD_SCRIPT_CLAIM, 6, 3, argv, lens,
		                "claim");
	}
	for (i = 0; i < 6; i++)
		free(k[i]);
	if (rc != SB_OK)
		return rc;
	/* Crash point (fault builds): the server ran the script and
	 * answered; the client dies before the caller sees the item. */
	if (sb_fault_point(base->box, SB_RD_FAULT_CLAIM_DONE)) {
		freeReplyObject(r);
		return sb_seterr(base->box, SB_ERROR,
		                 "redis: claim: injected "
		                 "fault at crash point '%s' (committed)",
		                 SB_RD_FAULT_CLAIM_DONE);
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER) {
		rc = sb_rd_bad_reply(s, r, "claim");
	} else if (r->element[0]->integer == 1 && r->elements == 2) {
		rc = sb_rd_ledger_decode(out, s, r->element[1], ledger,
		                         "claim");
	} else if (r->element[0]->integer == -2) {
		rc = sb_rd_no_bank(s, bank);
	} else if (r->element[0]->integer == 0) {
		rc = SB_EMPTY;
	} else if (r->element[0]->integer == 3) {
		rc = SB_EMPTY_SETTLED;
	} else if (r->element[0]->integer == 2 && r->elements == 2 &&
	           r->element[1]->type == REDIS_REPLY_STRING) {
		*out = sb_item_newn(r->element[1]->str, r->element[1]->len,
		                    bank, strlen(bank), SB_ITEM_NEW);
		rc = *out ? SB_OK : sb_rd_nomem(s, "claim");
	} else {
		rc = sb_rd_bad_reply(s, r, "claim");
	}
	freeReplyObject(r);
	return rc;
}
