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
 *   {P}:version   STRING the layout version: "2" (none: layout 1, or
 *                       a store nothing was added to yet); written by the
 *                       first add of a store and by init --upgrade, read
 *                       at every connect (a newer one is refused)
 *   {P}:banks     SET   names of the banks (exist even when empty)
 *   {P}:q:BANK    LIST  available items, FIFO (RPUSH on add, LPOP on
 *                       take: the order items were added, like SQLite;
 *                       O(1) whatever the bank's size)
 *   {P}:s:BANK    HASH  item -> its state: "a" available (queued) or
 *                       assigned by a fused claim (not queued: a ledger
 *                       entry of this store names it for good, and is
 *                       the authority; the claim writes no state), "r"
 *                       reserved, "h"TOKEN held when in d, assigned
 *                       when not (a fused confirm leaves the state: the
 *                       entry for good is the authority),
 *                       "i"TOKEN assigned, "c"TOKEN
 *                       reclaiming, "b"TOKEN restocking, "t"TOKEN
 *                       retiring, "x" retired: every item the bank ever
 *                       held (items are never deleted), so re-adding one,
 *                       even handed out or retired, is skipped (law 6)
 *                       with an O(1) lookup
 *   {P}:r:BANK    HASH  item -> SINCE_MS "\n" TOKEN, the reservations of
 *                       the generic path; SINCE_MS ":" STAMP "\n" TOKEN
 *                       once a recovery pass took one over (stamp, bank
 *                       contract version 3; none: stamp 0)
 *   {P}:d:BANK    ZSET  item -> deadline (ms), the held and reclaiming
 *                       items: lapsed holds are the low end, found in
 *                       O(log n) when the queue is empty
 *   {P}:f:BANK    SET   items in flight of a release or a reclaim
 *                       (restocking, retiring, reclaiming): few
 *   {P}:x:BANK    STRING the number of retired items
 *   {P}:m:BANK    HASH  item -> STAMP (decimal) of a restocking or
 *                       retiring item (version 3; none: stamp 0)
 *   {P}:l:LEDGER  HASH  dedup id -> LEN ":" BANK ITEM for good (LEN:
 *                       bytes of BANK in decimal, so the value splits one
 *                       way only), or "h" UNTIL ";" LEN ":" BANK ITEM, a
 *                       hold until UNTIL (ms, the server's clock); and
 *                       the ledger's mark under the field "" (no id is
 *                       empty): "=" BANK, every entry is of BANK (the
 *                       ledger's size less one counts them), or "*",
 *                       shared by several banks (c counts per bank). No
 *                       mark: no entry yet (the first write marks it
 *                       for its bank), or a ledger of layout 1 (c counts;
 *                       its first write marks it "*")
 *   {P}:c:LEDGER  HASH  bank -> ids of the ledger holding its items
 *                       (entries for good and holds, lapsed or not),
 *                       kept only for a ledger marked "*" (set from the
 *                       ledger's size when a second bank comes) or not
 *                       marked: a ledger of one bank needs no counter, so
 *                       its claims write none
 *   {P}:e:LEDGER  ZSET  dedup id -> deadline (ms), the ledger's holds
 *                       of the generic path (put_held; a fused hold is
 *                       in its bank's d only, found from there through
 *                       its state's token: the mark or the counter name
 *                       the ledger's banks). Layout 1 put fused holds
 *                       here too: left, each judged by its entry
 * Layout 2 (this one) reads layout 1 (every release before the marks,
 * no version key) as it is: an unmarked ledger with entries counts by
 * its counter, which layout 1 kept for every entry, until its first
 * write marks it "*"; "i"TOKEN stays a form of assigned. init --upgrade
 * (redis_upgrade.c) marks the ledgers of one bank so their claims stop
 * writing the counter. A client of layout 1 must not write a store of
 * layout 2 (it keeps no marks, and reads an unqueued "a" item as
 * available to no one).
 * Release 0.1.0 wrote the same keys but d, f, x and e, and
 * only the states "a", "r", "i" and entries for good: its data is data of
 * this layout without holds, and needs no conversion. The layout of
 * holds before stamps had no m and no ":" STAMP: its data is data of this
 * layout whose items all carry stamp 0 (what take() leaves), and needs no
 * conversion either. A TOKEN is ledger
 * LF id (no name holds an LF), so a script finds the ledger entry of a
 * held item from its state alone.
 * Ids and items are hash fields and list elements, never key names. */
#include "redis_private.h"

#include <inttypes.h>
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

char *sb_rd_version_key(sb_rd_store *s, size_t *len)
{
	char *k = malloc(s->tag_len + sizeof(SB_RD_KEY_VERSION));

	if (!k)
		return NULL;
	memcpy(k, s->tag, s->tag_len);
	memcpy(k + s->tag_len, SB_RD_KEY_VERSION, sizeof(SB_RD_KEY_VERSION));
	*len = s->tag_len + sizeof(SB_RD_KEY_VERSION) - 1;
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

size_t sb_rd_i64(char *buf, int64_t v)
{
	return (size_t)snprintf(buf, 24, "%" PRId64, v);
}

sb_item *sb_rd_entry_decode(const char *v, size_t len, unsigned int flags,
                            int64_t *until, int *malformed)
{
	size_t i = 0, bl = 0;
	int64_t u = 0;
	sb_item *it;

	*malformed = 1;
	*until = 0;
	if (len > 0 && v[0] == 'h') { /* a hold: "h" UNTIL ";" */
		/* 18 digits at most: 19 could overflow an int64 */
		for (i = 1; i < len && i < 19 && v[i] >= '0' && v[i] <= '9';
		     i++)
			u = u * 10 + (v[i] - '0');
		if (i == 1 || i >= len || v[i] != ';' || u <= 0)
			return NULL;
		v += i + 1;
		len -= i + 1;
		i = 0;
	}
	while (i < len && i < 12 && v[i] >= '0' && v[i] <= '9')
		bl = bl * 10 + (size_t)(v[i++] - '0');
	if (i == 0 || i >= len || v[i] != ':' || bl == 0 || bl >= len - i - 1)
		return NULL; /* bank and item are never empty */
	*malformed = 0;
	i++;
	it = sb_item_newn(v + i + bl, len - i - bl, v + i, bl, flags);
	sb_item_set_expires(it, u);
	*until = u;
	return it;
}

int sb_rd_bank_keys_args(const char **argv, size_t *lens,
                         const sb_rd_bank_keys *k, int first, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		argv[i] = k->key[first + i];
		lens[i] = k->len[first + i];
	}
	return n;
}

void sb_rd_bank_keys_free(sb_rd_bank_keys *k)
{
	int i;

	for (i = 0; i < SB_RD_BK_N; i++)
		free(k->key[i]);
}

int sb_rd_bank_keys_make(sb_rd_bank_keys *k, sb_rd_store *s, const char *bank,
                         const char *op)
{
	static const char kind[SB_RD_BK_N] = {
		[SB_RD_BK_BANKS] = 0,
		[SB_RD_BK_QUEUE] = SB_RD_KEY_QUEUE,
		[SB_RD_BK_STATE] = SB_RD_KEY_STATE,
		[SB_RD_BK_RESV] = SB_RD_KEY_RESV,
		[SB_RD_BK_DUE] = SB_RD_KEY_DUE,
		[SB_RD_BK_FLIGHT] = SB_RD_KEY_FLIGHT,
		[SB_RD_BK_GONE] = SB_RD_KEY_GONE,
		[SB_RD_BK_STAMP] = SB_RD_KEY_STAMP,
	};
	int i, rc = SB_OK;

	memset(k, 0, sizeof(*k));
	for (i = 0; i < SB_RD_BK_N; i++)
		if (!(k->key[i] = sb_rd_key(s, kind[i], bank, &k->len[i])))
			rc = SB_ENOMEM;
	if (rc != SB_OK) {
		sb_rd_bank_keys_free(k);
		return sb_rd_nomem(s, op);
	}
	return SB_OK;
}

int sb_rd_ledger_keys(char *k[3], size_t lens[3], sb_rd_store *s,
                      const char *ledger, const char *op)
{
	k[0] = sb_rd_key(s, SB_RD_KEY_LEDGER, ledger, &lens[0]);
	k[1] = sb_rd_key(s, SB_RD_KEY_HELD, ledger, &lens[1]);
	k[2] = sb_rd_key(s, SB_RD_KEY_HOLDS, ledger, &lens[2]);
	if (k[0] && k[1] && k[2])
		return SB_OK;
	free(k[0]);
	free(k[1]);
	free(k[2]);
	k[0] = k[1] = k[2] = NULL;
	return sb_rd_nomem(s, op);
}
