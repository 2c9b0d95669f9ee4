/* The memory backend's fused claim: the whole fetch under the store's
 * lock, so it is one atomic step as the contract asks. */
#include "memory_private.h"

#include <stdlib.h>
#include <string.h>

/* Take an available item of @p bank for the id and record it. Caller
 * holds the lock. */
static int assign(sb_item **out, sb_store *st, sb_mem_item *it,
                  const char *bank, const char *ledger, const char *id,
                  const char *token, int64_t now_ms)
{
	sb_mem_db *db = SB_MEM_DB(st);
	char *tok = strdup(token);

	*out = tok ? sb_item_new(it->value, bank, SB_ITEM_NEW) : NULL;
	if (!*out || sb_mem_add_entry(db, ledger, id, bank, it->value)) {
		free(tok);
		sb_item_free(*out);
		*out = NULL;
		return sb_mem_oom(st);
	}
	sb_mem_mark(it, SB_MEM_ASSIGNED, tok, now_ms);
	return SB_OK;
}

int sb_mem_claim(sb_item **out, sb_store *st, const char *bank,
                 const char *ledger, const char *id, const char *token,
                 int64_t now_ms)
{
	sb_mem_db *db = SB_MEM_DB(st);
	sb_mem_entry *e;
	sb_mem_item *it;
	sb_mem_fault f;
	int rc = SB_EMPTY;

	pthread_mutex_lock(&db->lock);
	db->calls.claim++;
	f = sb_mem_enter(db, SB_MEMORY_CLAIM);
	if (f.when == SB_MEMORY_FAIL_BEFORE)
		goto out;
	if ((e = sb_mem_find_entry(db, ledger, id)))
		rc = (*out = sb_item_new(e->value, e->bank, 0))
		             ? SB_OK
		             : sb_mem_oom(st);
	else if (sb_mem_find_bank(db, bank) < 0)
		rc = sb_mem_no_bank(st, bank);
	else if ((it = sb_mem_first_available(db, bank)))
		rc = assign(out, st, it, bank, ledger, id, token, now_ms);
	else if (!sb_mem_any_reserved(db, bank))
		rc = SB_EMPTY_SETTLED;
out:
	pthread_mutex_unlock(&db->lock);
	return sb_mem_leave(st, f, rc);
}
