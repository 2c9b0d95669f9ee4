/* The demo backend's fused claim: the whole fetch in one step under the
 * store's mutex. Nothing is ever reserved on this path. */
#include "demo_private.h"

#include <stdlib.h>

/* Give @p it (available in @p b) to @p id for good. Everything that can
 * fail is allocated before anything changes. */
static int assign(sb_item **out, sb_store *st, demo_db *db, demo_bank *b,
                  demo_item *it, const char *bank, const char *ledger,
                  const char *id, const char *token)
{
	char *tok = demo_strdup(token);
	demo_entry *e = demo_entry_new(bank, it->value);

	if (!tok || !e || !(*out = sb_item_new(it->value, bank, SB_ITEM_NEW))) {
		free(tok);
		free(e);
		return demo_oom(st);
	}
	if (demo_entry_put(db, ledger, id, e) != 0) { /* it freed e */
		sb_item_free(*out);
		*out = NULL;
		free(tok);
		return demo_oom(st);
	}
	demo_item_move(b, it, DEMO_ASSIGNED, tok, 0);
	return SB_OK;
}

static int claim_locked(sb_item **out, sb_store *st, demo_db *db,
                        const char *bank, const char *ledger, const char *id,
                        const char *token)
{
	demo_entry *e = demo_entry_get(db, ledger, id);
	demo_bank *b;

	if (e) /* the id's item, from whichever bank */
		return (*out = sb_item_new(e->item, e->bank, 0)) ? SB_OK
		                                                 : demo_oom(st);
	if (!(b = demo_bank_get(st, db, bank)))
		return SB_ENOTFOUND;
	if (b->available.head)
		return assign(out, st, db, b, b->available.head, bank, ledger,
		              id, token);
	/* Sold out. With nothing reserved, nothing can come back: the core
	 * may answer at once, without a recovery pass. */
	return b->counts.reserved ? SB_EMPTY : SB_EMPTY_SETTLED;
}

int demo_claim(sb_item **out, sb_store *st, const char *bank,
               const char *ledger, const char *id, const char *token,
               int64_t now_ms)
{
	demo_db *db = demo_lock(st);
	int rc = claim_locked(out, st, db, bank, ledger, id, token);
	demo_unlock(db);
	(void)now_ms; /* assigned items keep no time */
	return rc;
}
