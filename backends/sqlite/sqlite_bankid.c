/* SQLite backend: bank name -> id. Banks are never deleted, so a store
 * keeps the ids it has seen committed in a small round-robin cache and
 * most slots skip the lookup. */
#include "sqlite_private.h"

#include <stdlib.h>
#include <string.h>

static int sq_cache_find(sb_sq_store *s, const char *bank, sqlite3_int64 *id)
{
	unsigned int i;

	for (i = 0; i < SB_SQ_BANK_CACHE; i++)
		if (s->banks[i].name && strcmp(s->banks[i].name, bank) == 0) {
			*id = s->banks[i].id;
			return 1;
		}
	return 0;
}

/* Only committed ids may enter: a bank created inside a transaction that
 * is later rolled back must not be remembered. Out of memory just means
 * the next lookup asks the database again. */
void sb_sq_cache_put(sb_sq_store *s, const char *bank, sqlite3_int64 id)
{
	sb_sq_bank_slot *slot = &s->banks[s->bank_next];
	char *copy = strdup(bank);

	if (!copy)
		return;
	free(slot->name);
	slot->name = copy;
	slot->id = id;
	s->bank_next = (s->bank_next + 1) % SB_SQ_BANK_CACHE;
}

/* Called before the transaction writes, so what it caches is committed. */
int sb_sq_bank_id(sb_sq_store *s, const char *bank, sqlite3_int64 *id,
                  const char *op)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sq_cache_find(s, bank, id))
		return SB_OK;
	if ((rc = sb_sq_prep(s, SB_SQ_BANK_ID, &st, op)) != SB_OK)
		return rc;
	sb_sq_text(st, 1, bank);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		sb_sq_done(st);
		sb_sq_cache_put(s, bank, *id);
		return SB_OK;
	}
	rc = rc == SQLITE_DONE ? SB_ENOTFOUND : sb_sq_fail(s, rc, op);
	sb_sq_done(st);
	return rc;
}
