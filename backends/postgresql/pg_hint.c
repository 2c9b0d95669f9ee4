/* PostgreSQL backend: the take position remembered per bank. A take
 * starts its index scan where this store took last, past the dead rows
 * at the head of the queue (see pg_schema.c). A few banks per store, in
 * a small ring: a store that works on more banks forgets the oldest. */
#include "pg_private.h"

#include <stdlib.h>
#include <string.h>

long long sb_pg_hint_get(sb_pg_store *s, const char *bank)
{
	unsigned int i;

	for (i = 0; i < SB_PG_HINTS; i++)
		if (s->hints[i].bank && strcmp(s->hints[i].bank, bank) == 0)
			return s->hints[i].seq;
	return 0;
}

/* Out of memory only loses the hint: the next take starts at 0. */
void sb_pg_hint_set(sb_pg_store *s, const char *bank, long long seq)
{
	unsigned int i;
	char *copy;

	for (i = 0; i < SB_PG_HINTS; i++)
		if (s->hints[i].bank && strcmp(s->hints[i].bank, bank) == 0) {
			s->hints[i].seq = seq;
			return;
		}
	if (!(copy = strdup(bank)))
		return;
	i = s->hint_next;
	s->hint_next = (s->hint_next + 1) % SB_PG_HINTS;
	free(s->hints[i].bank);
	s->hints[i].bank = copy;
	s->hints[i].seq = seq;
}

void sb_pg_hint_free(sb_pg_store *s)
{
	unsigned int i;

	for (i = 0; i < SB_PG_HINTS; i++) {
		free(s->hints[i].bank);
		s->hints[i].bank = NULL;
	}
}
