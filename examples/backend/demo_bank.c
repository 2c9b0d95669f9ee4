/* The demo backend's bank. Each bank keeps its items in a hash table (for
 * add, settle and put_back by value) and links each item into the list of
 * its state (take pops the head of the available FIFO; recovery walks the
 * reserved list), so no slot scans the whole bank. */
#include "demo_private.h"

#include <stdlib.h>
#include <string.h>

static demo_list *list_of(demo_bank *b, demo_state s)
{
	return s == DEMO_AVAILABLE  ? &b->available
	       : s == DEMO_RESERVED ? &b->reserved
	                            : NULL;
}

static uint64_t *count_of(demo_bank *b, demo_state s)
{
	return s == DEMO_AVAILABLE  ? &b->counts.available
	       : s == DEMO_RESERVED ? &b->counts.reserved
	                            : &b->counts.assigned;
}

static void unlink_item(demo_list *l, demo_item *it)
{
	*(it->prev ? &it->prev->next : &l->head) = it->next;
	*(it->next ? &it->next->prev : &l->tail) = it->prev;
	it->prev = it->next = NULL;
}

static void append_item(demo_list *l, demo_item *it)
{
	it->prev = l->tail;
	it->next = NULL;
	*(l->tail ? &l->tail->next : &l->head) = it;
	l->tail = it;
}

void demo_item_move(demo_bank *b, demo_item *it, demo_state to, char *token,
                    int64_t now_ms)
{
	demo_list *from = list_of(b, it->state), *into = list_of(b, to);

	if (from)
		unlink_item(from, it);
	if (into)
		append_item(into, it);
	(*count_of(b, it->state))--;
	(*count_of(b, to))++;
	it->state = to;
	it->since_ms = now_ms;
	if (token || to == DEMO_AVAILABLE) {
		free(it->token);
		it->token = token;
	}
}

static void item_free(void *p)
{
	demo_item *it = p;
	free(it->token);
	free(it);
}

void demo_bank_free(void *p)
{
	demo_bank *b = p;
	demo_map_clear(&b->items, item_free);
	free(b);
}

demo_bank *demo_bank_get(sb_store *st, demo_db *db, const char *name)
{
	demo_bank *b = demo_map_get(&db->banks, name);
	if (!b)
		sb_seterr(st->box, SB_ENOTFOUND, "demo: no bank '%.200s'",
		          name);
	return b;
}

/* The bank, created if missing; NULL when out of memory. */
static demo_bank *bank_make(demo_db *db, const char *name)
{
	demo_bank *b = demo_map_get(&db->banks, name);

	if (!b && (b = calloc(1, sizeof *b)) &&
	    !demo_map_put(&db->banks, name, b)) {
		free(b);
		b = NULL;
	}
	return b;
}

/* One more available item; -1 when out of memory. */
static int add_item(demo_bank *b, const char *value)
{
	demo_item *it = calloc(1, sizeof *it);

	if (!it || !(it->value = demo_map_put(&b->items, value, it))) {
		free(it);
		return -1;
	}
	it->state = DEMO_AVAILABLE;
	append_item(&b->available, it);
	b->counts.available++;
	return 0;
}

/* Undo the last @p n add_item() calls: they are the available list's
 * tail. */
static void drop_added(demo_bank *b, uint64_t n)
{
	while (n--) {
		demo_item *it = b->available.tail;
		unlink_item(&b->available, it);
		b->counts.available--;
		demo_map_del(&b->items, it->value);
		item_free(it);
	}
}

static int add_locked(uint64_t *added, uint64_t *skipped, sb_store *st,
                      demo_db *db, const char *bank, const char *const *items,
                      size_t n)
{
	int is_new = !demo_map_get(&db->banks, bank);
	demo_bank *b = bank_make(db, bank);
	size_t i;

	if (!b)
		return demo_oom(st);
	for (i = 0; i < n; i++) {
		if (demo_map_get(&b->items, items[i])) {
			(*skipped)++;
		} else if (add_item(b, items[i]) == 0) {
			(*added)++;
		} else { /* all or nothing */
			drop_added(b, *added);
			if (is_new)
				demo_bank_free(demo_map_del(&db->banks, bank));
			*added = *skipped = 0;
			return demo_oom(st);
		}
	}
	return SB_OK;
}

static int demo_add(uint64_t *added, uint64_t *skipped, sb_store *st,
                    const char *bank, const char *const *items, size_t n)
{
	demo_db *db = demo_lock(st);
	int rc;

	*added = *skipped = 0;
	rc = add_locked(added, skipped, st, db, bank, items, n);
	demo_unlock(db);
	return rc;
}

static int take_locked(sb_item **out, sb_store *st, demo_db *db,
                       const char *bank, const char *token, int64_t now_ms)
{
	demo_bank *b = demo_bank_get(st, db, bank);
	demo_item *it;
	char *tok;

	if (!b)
		return SB_ENOTFOUND;
	if (!(it = b->available.head))
		return SB_EMPTY;
	/* Allocate first: when memory runs out, nothing has changed. */
	if (!(tok = demo_strdup(token)))
		return demo_oom(st);
	if (!(*out = sb_item_new(it->value, bank, 0))) {
		free(tok);
		return demo_oom(st);
	}
	demo_item_move(b, it, DEMO_RESERVED, tok, now_ms);
	return SB_OK;
}

static int demo_take(sb_item **out, sb_store *st, const char *bank,
                     const char *token, int64_t now_ms)
{
	demo_db *db = demo_lock(st);
	int rc = take_locked(out, st, db, bank, token, now_ms);
	demo_unlock(db);
	return rc;
}

/* reserved(token) -> @p to. Settling twice is fine (idempotent). */
static int finish(sb_store *st, const char *bank, const char *value,
                  const char *token, demo_state to)
{
	demo_db *db = demo_lock(st);
	demo_bank *b = demo_map_get(&db->banks, bank);
	demo_item *it = b ? demo_map_get(&b->items, value) : NULL;
	int mine = it && it->token && strcmp(it->token, token) == 0;
	int rc = SB_OK;

	if (mine && it->state == DEMO_RESERVED)
		demo_item_move(b, it, to, NULL, 0);
	else if (!(mine && it->state == DEMO_ASSIGNED && to == DEMO_ASSIGNED))
		rc = sb_seterr(st->box, SB_ECONFLICT,
		               "demo: the item is not "
		               "reserved with this token");
	demo_unlock(db);
	return rc;
}

static int demo_settle(sb_store *st, const char *bank, const char *item,
                       const char *token)
{
	return finish(st, bank, item, token, DEMO_ASSIGNED);
}

static int demo_put_back(sb_store *st, const char *bank, const char *item,
                         const char *token)
{
	return finish(st, bank, item, token, DEMO_AVAILABLE);
}

static int demo_count(sb_bank_counts *out, sb_store *st, const char *bank)
{
	demo_db *db = demo_lock(st);
	demo_bank *b = demo_bank_get(st, db, bank);

	if (b)
		*out = b->counts;
	demo_unlock(db);
	return b ? SB_OK : SB_ENOTFOUND;
}

static int demo_reserved(sb_store *st, const char *bank, int64_t older_than_ms,
                         sb_reservation_cb cb, void *payload)
{
	demo_db *db = demo_lock(st);
	demo_bank *b = demo_bank_get(st, db, bank);
	int rc = b ? SB_OK : SB_ENOTFOUND;

	/* Oldest first, but clocks of other boxes may disagree a little:
	 * look at every reservation rather than stop at the first young one. */
	for (demo_item *it = b ? b->reserved.head : NULL; it && !rc;
	     it = it->next)
		if (it->since_ms <= older_than_ms)
			rc = cb(it->value, it->token, it->since_ms, payload);
	demo_unlock(db);
	return rc;
}

static int demo_bank_create(sb_store *st, const char *bank)
{
	demo_db *db = demo_lock(st);
	int rc = bank_make(db, bank) ? SB_OK : demo_oom(st);
	demo_unlock(db);
	return rc;
}

const sb_bank_ops demo_bank_ops = {
	.version = 1, /* built before holds: the core still takes it */
	.add_max = 0, /* no limit: a batch is one step under the lock */
	.add = demo_add,
	.take = demo_take,
	.settle = demo_settle,
	.put_back = demo_put_back,
	.count = demo_count,
	.reserved = demo_reserved,
	.create = demo_bank_create,
};
