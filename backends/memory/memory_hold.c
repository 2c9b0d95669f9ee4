/* The memory backend's fused claim and holds: each call runs whole under
 * the store's lock, so it is one atomic step as the contract asks. The
 * clock is the client's (sb_now_ms(), as the core passes it). */
#include "memory_private.h"

#include <stdlib.h>
#include <string.h>

/* The item an entry names, if the bank still knows it as the token's. */
static sb_mem_item *entry_item_of(sb_mem_db *db, const sb_mem_entry *e,
                                  const char *token)
{
	sb_mem_item *it = sb_mem_find_item(db, e->bank, e->value);
	return it && it->token && strcmp(it->token, token) == 0 ? it : NULL;
}

static void to_available(sb_mem_item *it)
{
	free(it->token);
	it->token = NULL;
	it->state = SB_STATE_AVAILABLE;
	it->until = 0;
}

/* A lapsed entry goes, and its item back to the bank. */
static void reclaim_entry(sb_mem_db *db, sb_mem_entry *e, const char *token)
{
	sb_mem_item *it = entry_item_of(db, e, token);

	if (it && (it->state & (SB_STATE_HELD | SB_STATE_RECLAIMING)))
		to_available(it);
	sb_mem_drop_entry(db, e);
}

/* A held item whose deadline passed: reclaim it unless its entry is live
 * (a deadline the bank did not hear of): 1 if it is available now. */
static int reclaim_item(sb_mem_db *db, sb_mem_item *it, int64_t now)
{
	sb_mem_entry *e = sb_mem_token_entry(db, it->token);

	if (e && strcmp(e->bank, it->bank) == 0 &&
	    strcmp(e->value, it->value) == 0) {
		if (!SB_MEM_LAPSED(e, now)) { /* the ledger's word stands */
			it->until = e->until;
			if (!e->until)
				it->state = SB_STATE_ASSIGNED;
			return 0;
		}
		sb_mem_drop_entry(db, e);
	}
	to_available(it);
	return 1;
}

/* An available item for a new entry, reclaiming a lapsed hold if that is
 * the only way. */
static sb_mem_item *next_item(sb_mem_db *db, const char *bank, int64_t now)
{
	sb_mem_item *it = sb_mem_first_available(db, bank);

	while (!it && (it = sb_mem_first_lapsed(db, bank, now)))
		if (!reclaim_item(db, it, now))
			it = NULL; /* not lapsed after all: look again */
	return it;
}

int sb_mem_hold(sb_item **out, sb_store *st, const char *bank,
                const char *ledger, const char *id, const char *token,
                int64_t now_ms, int64_t ttl_ms)
{
	sb_mem_db *db = SB_MEM_DB(st);
	int64_t until = ttl_ms ? now_ms + ttl_ms : 0;
	sb_mem_entry *e;
	sb_mem_item *it;
	sb_mem_fault f;
	char *tok;
	int rc = SB_EMPTY;

	pthread_mutex_lock(&db->lock);
	db->calls.claim++;
	f = sb_mem_enter(db, SB_MEMORY_CLAIM);
	if (f.when == SB_MEMORY_FAIL_BEFORE)
		goto out;
	if ((e = sb_mem_find_entry(db, ledger, id)) &&
	    SB_MEM_LAPSED(e, now_ms)) {
		reclaim_entry(db, e, token);
		e = NULL;
	}
	if (e) {
		*out = sb_item_new(e->value, e->bank, 0);
		sb_item_set_expires(*out, e->until);
		rc = *out ? SB_OK : sb_mem_oom(st);
	} else if (sb_mem_find_bank(db, bank) < 0) {
		rc = sb_mem_no_bank(st, bank);
	} else if ((it = next_item(db, bank, now_ms))) {
		tok = strdup(token);
		*out = tok ? sb_item_new(it->value, bank, SB_ITEM_NEW) : NULL;
		if (!*out ||
		    sb_mem_add_entry(db, ledger, id, bank, it->value)) {
			free(tok);
			sb_item_free(*out);
			*out = NULL;
			rc = sb_mem_oom(st);
			goto out;
		}
		db->entries[db->nentries - 1].until = until;
		sb_mem_mark(it, until ? SB_STATE_HELD : SB_MEM_ASSIGNED, tok,
		            now_ms);
		it->until = until;
		sb_item_set_expires(*out, until);
		rc = SB_OK;
	} else if (!sb_mem_any_reserved(db, bank)) {
		rc = SB_EMPTY_SETTLED;
	}
out:
	pthread_mutex_unlock(&db->lock);
	return sb_mem_leave(st, f, rc);
}

int sb_mem_claim(sb_item **out, sb_store *st, const char *bank,
                 const char *ledger, const char *id, const char *token,
                 int64_t now_ms)
{
	return sb_mem_hold(out, st, bank, ledger, id, token, now_ms, 0);
}

int sb_mem_change(sb_item **out, sb_store *st, const char *ledger,
                  const char *id, const char *token, unsigned int op,
                  int64_t now_ms, int64_t ttl_ms)
{
	const unsigned int held = SB_STATE_RESERVED | SB_STATE_HELD |
	                          SB_STATE_RECLAIMING;
	sb_mem_db *db = SB_MEM_DB(st);
	sb_mem_entry *e;
	sb_mem_item *it;
	int rc = SB_OK;

	pthread_mutex_lock(&db->lock);
	if (!(e = sb_mem_find_entry(db, ledger, id))) {
		rc = SB_ENOTFOUND;
		goto out;
	}
	if (SB_MEM_LAPSED(e, now_ms)) {
		reclaim_entry(db, e, token);
		rc = SB_EEXPIRED;
		goto out;
	}
	it = entry_item_of(db, e, token);
	if (op == SB_CHANGE_RESTOCK || op == SB_CHANGE_RETIRE) {
		if (it && op == SB_CHANGE_RETIRE) {
			to_available(it);
			it->state = SB_STATE_RETIRED;
		} else if (it) {
			to_available(it);
		}
		sb_mem_drop_entry(db, e);
		goto out;
	}
	if (e->until && op == SB_CHANGE_CONFIRM) {
		e->until = 0;
		if (it && ((unsigned int)it->state & held)) {
			it->state = SB_STATE_ASSIGNED;
			it->until = 0;
		}
	} else if (e->until) { /* extend */
		e->until = now_ms + ttl_ms;
		if (it && ((unsigned int)it->state & held)) {
			it->state = SB_STATE_HELD;
			it->until = e->until;
		}
	}
	*out = sb_item_new(e->value, e->bank, 0);
	sb_item_set_expires(*out, e->until);
	if (!*out)
		rc = sb_mem_oom(st);
out:
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int sb_mem_reclaim(uint64_t *n, sb_store *st, const char *bank, int64_t now_ms)
{
	sb_mem_db *db = SB_MEM_DB(st);
	int rc = SB_OK;
	size_t i;

	pthread_mutex_lock(&db->lock);
	if (sb_mem_find_bank(db, bank) < 0)
		rc = sb_mem_no_bank(st, bank);
	for (i = 0; rc == SB_OK && i < db->nitems; i++) {
		sb_mem_item *it = &db->items[i];
		if (it->state == SB_STATE_HELD && it->until <= now_ms &&
		    strcmp(it->bank, bank) == 0)
			*n += (uint64_t)reclaim_item(db, it, now_ms);
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}
