/* The memory backend's bank: items in one array, linear scans (it is for
 * tests and small demos, not large banks). */
#include "memory_private.h"

#include <stdlib.h>
#include <string.h>

long sb_mem_find_bank(sb_mem_db *db, const char *bank)
{
	size_t i;
	for (i = 0; i < db->nbanks; i++)
		if (strcmp(db->banks[i], bank) == 0)
			return (long)i;
	return -1;
}

static int ensure_bank(sb_mem_db *db, const char *bank)
{
	char **nb;

	if (sb_mem_find_bank(db, bank) >= 0)
		return 0;
	nb = realloc(db->banks, (db->nbanks + 1) * sizeof(*nb));
	if (!nb)
		return -1;
	db->banks = nb;
	if (!(db->banks[db->nbanks] = strdup(bank)))
		return -1;
	db->nbanks++;
	return 0;
}

sb_mem_item *sb_mem_find_item(sb_mem_db *db, const char *bank,
                              const char *value)
{
	size_t i;
	for (i = 0; i < db->nitems; i++)
		if (strcmp(db->items[i].value, value) == 0 &&
		    strcmp(db->items[i].bank, bank) == 0)
			return &db->items[i];
	return NULL;
}

/* One new available item; -1 when out of memory. */
static int append_item(sb_mem_db *db, const char *bank, const char *value)
{
	sb_mem_item *it;

	if (db->nitems == db->capitems) {
		size_t cap = db->capitems ? db->capitems * 2 : 64;
		sb_mem_item *ni = realloc(db->items, cap * sizeof(*ni));
		if (!ni)
			return -1;
		db->items = ni;
		db->capitems = cap;
	}
	it = &db->items[db->nitems];
	memset(it, 0, sizeof(*it));
	it->state = SB_MEM_AVAILABLE;
	it->bank = strdup(bank);
	it->value = strdup(value);
	if (!it->bank || !it->value) {
		free(it->bank);
		free(it->value);
		return -1;
	}
	db->nitems++;
	return 0;
}

static int mem_add(uint64_t *added, uint64_t *skipped, sb_store *st,
                   const char *bank, const char *const *items, size_t n)
{
	sb_mem_db *db = SB_MEM_DB(st);
	size_t i, start;
	sb_mem_fault f;
	int rc = SB_OK;

	pthread_mutex_lock(&db->lock);
	f = sb_mem_enter(db, SB_MEMORY_ADD);
	if (f.when == SB_MEMORY_FAIL_BEFORE)
		goto out;
	start = db->nitems;
	if (ensure_bank(db, bank)) {
		rc = sb_mem_oom(st);
		goto out;
	}
	*added = *skipped = 0;
	for (i = 0; i < n && rc == SB_OK; i++) {
		if (sb_mem_find_item(db, bank, items[i]))
			(*skipped)++;
		else if (append_item(db, bank, items[i]))
			rc = sb_mem_oom(st);
		else
			(*added)++;
	}
	if (rc) { /* all or nothing */
		while (db->nitems > start) {
			db->nitems--;
			free(db->items[db->nitems].bank);
			free(db->items[db->nitems].value);
		}
		*added = *skipped = 0;
	}
out:
	pthread_mutex_unlock(&db->lock);
	return sb_mem_leave(st, f, rc);
}

sb_mem_item *sb_mem_first_available(sb_mem_db *db, const char *bank)
{
	size_t i;
	for (i = 0; i < db->nitems; i++)
		if (db->items[i].state == SB_MEM_AVAILABLE &&
		    strcmp(db->items[i].bank, bank) == 0)
			return &db->items[i];
	return NULL;
}

sb_mem_item *sb_mem_first_lapsed(sb_mem_db *db, const char *bank, int64_t now)
{
	size_t i;

	for (i = 0; i < db->nitems; i++)
		if (db->items[i].state == SB_STATE_HELD &&
		    db->items[i].until <= now &&
		    strcmp(db->items[i].bank, bank) == 0)
			return &db->items[i];
	return NULL;
}

/* Anything in flight that recovery could bring back: reservations, and
 * releases and reclaims of the generic path. */
int sb_mem_any_reserved(sb_mem_db *db, const char *bank)
{
	const int flight = SB_STATE_RESERVED | SB_STATE_RESTOCKING |
	                   SB_STATE_RETIRING | SB_STATE_RECLAIMING;
	size_t i;

	for (i = 0; i < db->nitems; i++)
		if ((db->items[i].state & flight) &&
		    strcmp(db->items[i].bank, bank) == 0)
			return 1;
	return 0;
}

void sb_mem_mark(sb_mem_item *it, int state, char *tok, int64_t now_ms)
{
	free(it->token);
	it->token = tok;
	it->state = state;
	it->since = now_ms;
	it->until = 0; /* a new deadline or stamp, if any, comes after */
}

static int mem_take(sb_item **out, sb_store *st, const char *bank,
                    const char *token, int64_t now_ms)
{
	sb_mem_db *db = SB_MEM_DB(st);
	sb_mem_item *it;
	sb_mem_fault f;
	int rc = SB_EMPTY;

	pthread_mutex_lock(&db->lock);
	db->calls.take++;
	f = sb_mem_enter(db, SB_MEMORY_TAKE);
	if (f.when == SB_MEMORY_FAIL_BEFORE)
		goto out;
	if (sb_mem_find_bank(db, bank) < 0)
		rc = sb_mem_no_bank(st, bank);
	else if ((it = sb_mem_first_available(db, bank))) {
		char *tok = strdup(token);
		*out = tok ? sb_item_new(it->value, bank, 0) : NULL;
		if (!*out) {
			free(tok);
			rc = sb_mem_oom(st);
		} else {
			sb_mem_mark(it, SB_MEM_RESERVED, tok, now_ms);
			rc = SB_OK;
		}
	}
out:
	pthread_mutex_unlock(&db->lock);
	return sb_mem_leave(st, f, rc);
}

/* reserved(token) -> @p to; already @p done_state with the same token is
 * success too (idempotent). */
static int mem_move(sb_store *st, const char *bank, const char *value,
                    const char *token, int to, int done_state)
{
	sb_mem_db *db = SB_MEM_DB(st);
	sb_mem_item *it;
	sb_mem_fault f;
	int rc = SB_OK;

	pthread_mutex_lock(&db->lock);
	if (to == SB_MEM_ASSIGNED)
		db->calls.settle++;
	else
		db->calls.put_back++;
	f = sb_mem_enter(db, to == SB_MEM_ASSIGNED ? SB_MEMORY_SETTLE
	                                           : SB_MEMORY_PUT_BACK);
	if (f.when == SB_MEMORY_FAIL_BEFORE)
		goto out;
	it = sb_mem_find_item(db, bank, value);
	/* Version 3: a settle takes only a reservation that no recovery
	 * pass took over (stamp 0). */
	if (it && it->state == SB_MEM_RESERVED && it->token &&
	    strcmp(it->token, token) == 0 &&
	    !(to == SB_MEM_ASSIGNED && it->until != 0)) {
		it->state = to;
		if (to == SB_MEM_AVAILABLE) {
			free(it->token);
			it->token = NULL;
		}
	} else if (!(it && done_state == SB_MEM_ASSIGNED &&
	             it->state == SB_MEM_ASSIGNED && it->token &&
	             strcmp(it->token, token) == 0)) {
		rc = sb_seterr(st->box, SB_ECONFLICT,
		               "memory: item is not reserved by this request");
	}
out:
	pthread_mutex_unlock(&db->lock);
	return sb_mem_leave(st, f, rc);
}

static int mem_settle(sb_store *st, const char *bank, const char *value,
                      const char *token)
{
	return mem_move(st, bank, value, token, SB_MEM_ASSIGNED,
	                SB_MEM_ASSIGNED);
}

static int mem_put_back(sb_store *st, const char *bank, const char *value,
                        const char *token)
{
	return mem_move(st, bank, value, token, SB_MEM_AVAILABLE, -1);
}

static int mem_count(sb_bank_counts *out, sb_store *st, const char *bank)
{
	sb_mem_db *db = SB_MEM_DB(st);
	sb_mem_fault f;
	int rc = SB_OK;
	size_t i;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&db->lock);
	f = sb_mem_enter(db, SB_MEMORY_COUNT);
	if (f.when == SB_MEMORY_FAIL_BEFORE)
		goto out;
	if (sb_mem_find_bank(db, bank) < 0)
		rc = sb_mem_no_bank(st, bank);
	for (i = 0; rc == SB_OK && i < db->nitems; i++) {
		if (strcmp(db->items[i].bank, bank) != 0)
			continue;
		switch (db->items[i].state) {
		case SB_STATE_AVAILABLE: out->available++; break;
		case SB_STATE_ASSIGNED: out->assigned++; break;
		case SB_STATE_HELD:
		case SB_STATE_RECLAIMING: out->on_hold++; break;
		case SB_STATE_RETIRED: out->retired++; break;
		default: out->reserved++; /* reserved, releases in flight */
		}
	}
out:
	pthread_mutex_unlock(&db->lock);
	return sb_mem_leave(st, f, rc);
}

static int mem_reserved(sb_store *st, const char *bank, int64_t older_than,
                        sb_reservation_cb cb, void *payload)
{
	sb_mem_db *db = SB_MEM_DB(st);
	sb_mem_fault f;
	int rc = SB_OK;
	size_t i;

	pthread_mutex_lock(&db->lock);
	db->calls.reserved++;
	f = sb_mem_enter(db, SB_MEMORY_RESERVED);
	if (f.when == SB_MEMORY_FAIL_BEFORE)
		goto out;
	if (sb_mem_find_bank(db, bank) < 0)
		rc = sb_mem_no_bank(st, bank);
	for (i = 0; rc == SB_OK && i < db->nitems; i++) {
		sb_mem_item *it = &db->items[i];
		if (it->state == SB_MEM_RESERVED && it->since <= older_than &&
		    strcmp(it->bank, bank) == 0)
			rc = cb(it->value, it->token, it->since, payload);
	}
out:
	pthread_mutex_unlock(&db->lock);
	return sb_mem_leave(st, f, rc);
}

static int mem_create_bank(sb_store *st, const char *bank)
{
	sb_mem_db *db = SB_MEM_DB(st);
	sb_mem_fault f;
	int rc = SB_OK;

	pthread_mutex_lock(&db->lock);
	f = sb_mem_enter(db, SB_MEMORY_CREATE);
	if (f.when != SB_MEMORY_FAIL_BEFORE && ensure_bank(db, bank))
		rc = sb_mem_oom(st);
	pthread_mutex_unlock(&db->lock);
	return sb_mem_leave(st, f, rc);
}

static int mem_take_held(sb_item **out, sb_store *st, const char *bank,
                         const char *token, int64_t until_ms)
{
	sb_mem_db *db = SB_MEM_DB(st);
	sb_mem_item *it;
	int rc = SB_EMPTY;

	pthread_mutex_lock(&db->lock);
	db->calls.take++;
	if (sb_mem_find_bank(db, bank) < 0) {
		rc = sb_mem_no_bank(st, bank);
	} else if ((it = sb_mem_first_available(db, bank))) {
		char *tok = strdup(token);
		*out = tok ? sb_item_new(it->value, bank, 0) : NULL;
		if (!*out) {
			free(tok);
			rc = sb_mem_oom(st);
		} else {
			sb_mem_mark(it, SB_STATE_HELD, tok, 0);
			it->until = until_ms;
			rc = SB_OK;
		}
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* The move of backend.h; @p expect: only if the item's stamp (its
 * until: the deadline of a hold, the stamp of a release) is *expect. */
static int move_state(sb_store *st, const char *bank, const char *value,
                      const char *token, unsigned int from, unsigned int to,
                      int64_t until_ms, const int64_t *expect)
{
	const unsigned int keeps = SB_STATE_HELD | SB_STATE_ASSIGNED |
	                           SB_STATE_RESTOCKING | SB_STATE_RETIRING |
	                           SB_STATE_RECLAIMING;
	sb_mem_db *db = SB_MEM_DB(st);
	sb_mem_item *it;
	int rc = SB_OK;

	pthread_mutex_lock(&db->lock);
	it = sb_mem_find_item(db, bank, value);
	if (!it || !it->token || strcmp(it->token, token) != 0 ||
	    !(((unsigned int)it->state & from) ||
	      ((unsigned int)it->state == to && (to & keeps))) ||
	    (expect &&
	     (it->until != *expect ||
	      !((unsigned int)it->state &
	        (SB_STATE_HELD | SB_STATE_RECLAIMING | SB_STATE_RESERVED |
	         SB_STATE_RESTOCKING | SB_STATE_RETIRING)))) ||
	    /* docs/holds.md "Reclaim" step 1: not while the deadline is
	     * ahead (this store's clock is the client's) */
	    (to == SB_STATE_RECLAIMING && it->state == SB_STATE_HELD &&
	     it->until > sb_now_ms())) {
		rc = sb_seterr(st->box, SB_ECONFLICT,
		               "memory: item is not in that state for this id");
	} else {
		int keep_until = to == SB_STATE_HELD ||
		                 to == SB_STATE_RECLAIMING;
		int stamped = to == SB_STATE_RESTOCKING ||
		              to == SB_STATE_RETIRING;
		if (to == SB_STATE_RESERVED) { /* a stamp, kept when 0 */
			keep_until = 1;
			it->since = sb_now_ms();
		}
		it->until = keep_until ? (until_ms ? until_ms : it->until)
		            : stamped  ? until_ms
		                       : 0;
		it->state = (int)to;
		if (!(to & (keeps | SB_STATE_RESERVED))) {
			/* available, retired: nobody's */
			free(it->token);
			it->token = NULL;
		}
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

static int mem_move_state(sb_store *st, const char *bank, const char *value,
                          const char *token, unsigned int from, unsigned int to,
                          int64_t until_ms)
{
	return move_state(st, bank, value, token, from, to, until_ms, NULL);
}

static int mem_move_if(sb_store *st, const char *bank, const char *value,
                       const char *token, unsigned int from, unsigned int to,
                       int64_t until_ms, int64_t expect_ms)
{
	return move_state(st, bank, value, token, from, to, until_ms,
	                  &expect_ms);
}

static int mem_list(sb_store *st, const char *bank, unsigned int states,
                    int64_t until_le, sb_bank_item_cb cb, void *payload)
{
	sb_mem_db *db = SB_MEM_DB(st);
	int rc = SB_OK;
	size_t i;

	pthread_mutex_lock(&db->lock);
	if (sb_mem_find_bank(db, bank) < 0)
		rc = sb_mem_no_bank(st, bank);
	for (i = 0; rc == SB_OK && i < db->nitems; i++) {
		sb_mem_item *it = &db->items[i];
		unsigned int s = (unsigned int)it->state;
		if (!(s & states) || strcmp(it->bank, bank) != 0 ||
		    (s == SB_STATE_HELD && it->until > until_le))
			continue;
		/* until: the deadline of a hold, the stamp of a release */
		rc = cb(it->value, it->token, s,
		        s & (SB_STATE_HELD | SB_STATE_RECLAIMING |
		             SB_STATE_RESTOCKING | SB_STATE_RETIRING)
		                ? it->until
		                : 0,
		        payload);
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

const sb_bank_ops sb_mem_bank_ops = {
	.version = SB_BANK_OPS_VERSION,
	.add_max = 0, /* no limit */
	.add = mem_add,
	.take = mem_take,
	.settle = mem_settle,
	.put_back = mem_put_back,
	.count = mem_count,
	.reserved = mem_reserved,
	.create = mem_create_bank,
	.take_held = mem_take_held,
	.move = mem_move_state,
	.list = mem_list,
	.move_if = mem_move_if,
};
