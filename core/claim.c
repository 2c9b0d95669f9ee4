/* The claim protocol (DESIGN §4): fused when bank and ledger share a store
 * whose backend offers it, generic otherwise. Whatever path runs and
 * wherever a client dies, the state left behind is one that recovery can
 * roll forward. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

char *sb_token_make(const char *ledger, const char *dedup_id)
{
	size_t ll = strlen(ledger), il = strlen(dedup_id);
	char *t = malloc(ll + 1 + il + 1);

	if (!t)
		return NULL;
	memcpy(t, ledger, ll);
	t[ll] = '\n';
	memcpy(t + ll + 1, dedup_id, il + 1);
	return t;
}

int sb_token_split(const char *token, size_t *ledger_len, const char **id)
{
	const char *nl = strchr(token, '\n');

	if (!nl || nl == token || !nl[1])
		return -1;
	*ledger_len = (size_t)(nl - token);
	*id = nl + 1;
	return 0;
}

static int use_fused(const sb_box *box)
{
	return box->protocol == SB_PROTOCOL_AUTO &&
	       box->bank_store == box->ledger_store &&
	       box->bank_store->ops->claim != NULL;
}

/* Lost the race: the id holds another item. Return ours to the bank. A
 * failure here is not the caller's problem: the reservation stays and
 * recovery puts it back, so the answer (the other item) stands. */
static void give_back(sb_box *box, const char *bank, const char *item,
                      const char *token)
{
	char keep[SB_ERRMSG_SIZE];

	memcpy(keep, box->errmsg, sizeof(keep));
	if (sb_fault_point(box, SB_FP_BEFORE_PUT_BACK) == 0)
		(void)sb_slot_put_back(box, bank, item, token);
	memcpy(box->errmsg, keep, sizeof(keep));
}

static int generic_claim(sb_item **out, sb_box *box, const char *bank,
                         const char *ledger, const char *id, const char *token)
{
	sb_item *taken = NULL, *existing = NULL;
	int rc;

	rc = sb_slot_get(box, out, ledger, id);
	if (rc != SB_ENOTFOUND)
		return rc; /* SB_OK: a repeat; or an error */
	sb_clearerr(box);

	rc = sb_slot_take(box, &taken, bank, token, sb_now_ms());
	if (rc == SB_EMPTY) {
		/* A twin request may have won the last item just now. */
		rc = sb_slot_get(box, out, ledger, id);
		if (rc == SB_ENOTFOUND) {
			sb_clearerr(box);
			return SB_EMPTY;
		}
		return rc;
	}
	if (rc)
		return rc;
	if (sb_fault_point(box, SB_FP_AFTER_TAKE)) {
		sb_item_free(taken);
		return SB_ERROR;
	}

	rc = sb_slot_put_if_absent(box, &existing, ledger, id, bank,
	                           taken->value);
	if (rc == SB_OK) {
		if (sb_fault_point(box, SB_FP_AFTER_RECORD)) {
			sb_item_free(taken);
			return SB_ERROR;
		}
		/* The ledger entry is the claim; settle only tidies the bank.
		 * If settling fails the item is still the id's, and recovery
		 * settles it later, so the answer stands. */
		(void)sb_slot_settle(box, bank, taken->value, token);
		sb_clearerr(box);
		taken->flags |= SB_ITEM_NEW;
		*out = taken;
		return SB_OK;
	}
	if (rc == SB_ECONFLICT) { /* the entry comes with the conflict */
		give_back(box, bank, taken->value, token);
		sb_item_free(taken);
		sb_clearerr(box);
		*out = existing;
		return SB_OK;
	}
	/* The ledger failed: the reservation stays for recovery. */
	sb_item_free(taken);
	return rc;
}

static int claim_once(sb_item **out, sb_box *box, const char *bank,
                      const char *ledger, const char *id, const char *token)
{
	if (use_fused(box))
		return sb_slot_claim(box, out, bank, ledger, id, token,
		                     sb_now_ms());
	return generic_claim(out, box, bank, ledger, id, token);
}

int sb_box_fetch(sb_item **out, sb_box *box, const char *bank,
                 const char *ledger, const char *dedup_id)
{
	sb_recover_result rr;
	char *token;
	int rc;

	if (!out)
		return box ? sb_seterr(box, SB_EINVALID, "out is NULL")
		           : SB_EINVALID;
	*out = NULL;
	if (!box)
		return SB_EINVALID;
	sb_clearerr(box);
	if ((rc = sb_validate(box, bank, "bank name")) ||
	    (rc = sb_validate(box, ledger, "ledger name")) ||
	    (rc = sb_validate(box, dedup_id, "dedup id")))
		return rc;
	if (!box->bank_store->bank || !box->ledger_store->ledger)
		return sb_seterr(box, SB_ENOTSUPPORTED,
		                 "this store cannot keep both banks and ledgers");
	if (!(token = sb_token_make(ledger, dedup_id)))
		return sb_seterr(box, SB_ENOMEM, "out of memory");

	rc = claim_once(out, box, bank, ledger, dedup_id, token);
	if (rc == SB_EMPTY_SETTLED) {
		rc = SB_EMPTY; /* nothing in flight: no recovery to run */
	} else if (rc == SB_EMPTY) {
		/* Before saying "sold out", roll forward what is in flight:
		 * reservations past the lease (crashed clients; with the default
		 * lease 0, all of them) and any twin of this very request (so
		 * both twins give one answer). Then ask once more: an item may
		 * have come back, here or through a racing put back. */
		rc = sb__recover(&rr, box, bank, ledger, box->lease_ms, token);
		if (rc == SB_OK)
			rc = claim_once(out, box, bank, ledger, dedup_id,
			                token);
		if (rc == SB_EMPTY_SETTLED)
			rc = SB_EMPTY;
	}
	free(token);
	if (rc == SB_EMPTY)
		sb_seterr(box, SB_EMPTY, "bank is empty");
	return rc;
}
