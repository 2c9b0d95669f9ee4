/* sb_item: the one allocator for items (STYLE §5), so the core can free
 * what any backend returns. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

sb_item *sb_item_newn(const char *value, size_t value_len, const char *bank,
                      size_t bank_len, unsigned int flags)
{
	/* One block: the struct, then both strings. */
	sb_item *it = malloc(sizeof(*it) + value_len + 1 + bank_len + 1);
	if (!it)
		return NULL;
	it->value = (char *)(it + 1);
	it->bank = it->value + value_len + 1;
	memcpy(it->value, value, value_len);
	it->value[value_len] = '\0';
	if (bank_len)
		memcpy(it->bank, bank, bank_len);
	it->bank[bank_len] = '\0';
	it->flags = flags;
	it->expires_ms = 0;
	return it;
}

sb_item *sb_item_new(const char *value, const char *bank, unsigned int flags)
{
	if (!value)
		return NULL;
	return sb_item_newn(value, strlen(value), bank ? bank : "",
	                    bank ? strlen(bank) : 0, flags);
}

const char *sb_item_value(const sb_item *item)
{
	return item ? item->value : NULL;
}

const char *sb_item_bank(const sb_item *item)
{
	return item ? item->bank : NULL;
}

int sb_item_is_new(const sb_item *item)
{
	return item && (item->flags & SB_ITEM_NEW) ? 1 : 0;
}

int64_t sb_item_expires_ms(const sb_item *item)
{
	return item ? item->expires_ms : 0;
}

void sb_item_set_expires(sb_item *item, int64_t expires_ms)
{
	if (item)
		item->expires_ms = expires_ms;
}

void sb_item_free(sb_item *item)
{
	free(item);
}
