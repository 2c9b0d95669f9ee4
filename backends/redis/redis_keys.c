/* The key names and the ledger values of the Redis backend.
 *
 * Every key starts with the hash tag `{PREFIX}:`, so all the keys of one
 * prefix live in one hash slot: every script touches one slot whatever
 * bank and ledger it combines (no CROSSSLOT on Redis Cluster). The price:
 * one prefix's data sits on one cluster node; different prefixes spread
 * out. After the tag comes a one-letter kind and ':', and then the name
 * as given (bank or ledger, raw bytes): the kind sits at a fixed place and
 * the name is the whole rest, so two (kind, name) pairs never make the
 * same key, and since the first '{' of every key is the tag's and its '}'
 * the first after it, no name (with '{', '}' or anything else) can change
 * the slot.
 *   {P}:banks     SET   names of the banks (exist even when empty)
 *   {P}:q:BANK    LIST  available items, FIFO (RPUSH on add, LPOP on
 *                       take: the order items were added, like SQLite;
 *                       O(1) whatever the bank's size)
 *   {P}:s:BANK    HASH  item -> "a" available | "r" reserved | "i"TOKEN
 *                       assigned: every item the bank ever held (items are
 *                       never deleted), so re-adding one, even handed
 *                       out, is skipped (law 6) with an O(1) lookup
 *   {P}:r:BANK    HASH  item -> SINCE_MS "\n" TOKEN, the reservations of
 *                       the generic path
 *   {P}:l:LEDGER  HASH  dedup id -> LEN ":" BANK ITEM (LEN: bytes of BANK
 *                       in decimal, so the value splits one way only)
 *   {P}:c:LEDGER  HASH  bank -> ids of the ledger holding its items
 * Ids and items are hash fields and list elements, never key names. */
#include "redis_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *sb_rd_key(sb_rd_store *s, char kind, const char *name, size_t *len)
{
	size_t nl = name ? strlen(name) : 0;
	size_t total = s->tag_len + (kind ? 2 + nl : strlen(SB_RD_KEY_BANKS));
	char *k = malloc(total + 1);

	if (!k)
		return NULL;
	memcpy(k, s->tag, s->tag_len);
	if (kind) {
		k[s->tag_len] = kind;
		k[s->tag_len + 1] = ':';
		memcpy(k + s->tag_len + 2, name, nl);
	} else {
		memcpy(k + s->tag_len, SB_RD_KEY_BANKS,
		       strlen(SB_RD_KEY_BANKS));
	}
	k[total] = '\0';
	if (len)
		*len = total;
	return k;
}

char *sb_rd_entry_encode(const char *bank, const char *item, size_t *len)
{
	size_t bl = strlen(bank), il = strlen(item);
	char *e = malloc(bl + il + 24);
	int n;

	if (!e)
		return NULL;
	n = snprintf(e, 24, "%zu:", bl);
	memcpy(e + n, bank, bl);
	memcpy(e + n + bl, item, il + 1);
	*len = (size_t)n + bl + il;
	return e;
}

sb_item *sb_rd_entry_decode(const char *v, size_t len, unsigned int flags,
                            int *malformed)
{
	size_t i = 0, bl = 0;

	*malformed = 1;
	while (i < len && i < 12 && v[i] >= '0' && v[i] <= '9')
		bl = bl * 10 + (size_t)(v[i++] - '0');
	if (i == 0 || i >= len || v[i] != ':' || bl == 0 || bl >= len - i - 1)
		return NULL; /* bank and item are never empty */
	*malformed = 0;
	i++;
	return sb_item_newn(v + i + bl, len - i - bl, v + i, bl, flags);
}

int sb_rd_bank_keys_args(const char **argv, size_t *lens,
                         const sb_rd_bank_keys *k, int first, int n)
{
	const char *key[4] = { k->banks, k->queue, k->state, k->resv };
	size_t len[4] = { k->banks_len, k->queue_len, k->state_len,
		          k->resv_len };
	int i;

	for (i = 0; i < n; i++) {
		argv[i] = key[first + i];
		lens[i] = len[first + i];
	}
	return n;
}

void sb_rd_bank_keys_free(sb_rd_bank_keys *k)
{
	free(k->banks);
	free(k->queue);
	free(k->state);
	free(k->resv);
}

int sb_rd_bank_keys_make(sb_rd_bank_keys *k, sb_rd_store *s, const char *bank,
                         const char *op)
{
	memset(k, 0, sizeof(*k));
	k->banks = sb_rd_key(s, 0, NULL, &k->banks_len);
	k->queue = sb_rd_key(s, SB_RD_KEY_QUEUE, bank, &k->queue_len);
	k->state = sb_rd_key(s, SB_RD_KEY_STATE, bank, &k->state_len);
	k->resv = sb_rd_key(s, SB_RD_KEY_RESV, bank, &k->resv_len);
	if (!k->banks || !k->queue || !k->state || !k->resv) {
		sb_rd_bank_keys_free(k);
		return sb_rd_nomem(s, op);
	}
	return SB_OK;
}
