/* The core's error paths, each made to happen on purpose with the memory
 * backend's planned failures instead of by chance in a server restart: a
 * store that fails at each step of the generic claim (before or after
 * doing its work, as when a connection drops after a commit) and of the
 * fused claim. Whatever fails, the box law holds: the caller gets an
 * error or the right item, nothing is lost, and recovery brings reserved
 * back to 0 with every id holding what it was told. */
#include "proto_util.h"

/* The generic path on store @p name (bank and ledger in it). */
static sb_box *generic(const char *name)
{
	char uri[64];
	snprintf(uri, sizeof uri, "memory:%s", name);
	return open_box(uri, NULL, SB_PROTOCOL_GENERIC);
}

static void fail_next(const char *store, sb_memory_slot slot, int code,
                      sb_memory_when when)
{
	CHECK(NULL, sb__memory_fail(store, slot, 1, code, when) == 0);
}

/* Recover @p bank for L and check what it did. */
static void recover_expect(sb_box *box, const char *bank, uint64_t settled,
                           uint64_t put_back)
{
	sb_recover_result r;
	CHECK_RC(box, sb_box_recover(&r, box, bank, "L", NULL), SB_OK);
	CHECK(NULL, r.settled == settled && r.put_back == put_back);
	CHECK(NULL, stats_of(box, bank).reserved == 0);
}

/* The id holds @p want (and a fetch now says so, as a repeat). */
static void holds(sb_box *box, const char *bank, const char *id,
                  const char *want)
{
	sb_item *it = NULL;
	CHECK_RC(box, sb_box_lookup(&it, box, "L", id), SB_OK);
	CHECK_STR(NULL, sb_item_value(it), want);
	sb_item_free(it);
	it = NULL;
	CHECK_RC(box, sb_box_fetch(&it, box, bank, "L", id), SB_OK);
	CHECK_STR(NULL, sb_item_value(it), want);
	CHECK(NULL, it && !sb_item_is_new(it));
	sb_item_free(it);
}

/* A fetch of @p id from bank "b" for ledger "L" answers @p want, assigned
 * now (@p is_new) or held before. */
static void gets(sb_box *box, const char *id, const char *want, int is_new)
{
	sb_item *it = NULL;
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", id), SB_OK);
	CHECK_STR(NULL, sb_item_value(it), want);
	CHECK(NULL, it && sb_item_is_new(it) == is_new);
	sb_item_free(it);
}

/* The ledger write fails after the take: the item stays reserved for
 * recovery, which records it for the id. */
static void record_fails(void)
{
	sb_box *box = generic("rf");
	sb_item *it = NULL;
	sb_stats st;

	load(box, "b", "it", 3);
	fail_next("rf", SB_MEMORY_PUT_IF_ABSENT, SB_ECONNECT,
	          SB_MEMORY_FAIL_BEFORE);
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", "u"), SB_ECONNECT);
	CHECK(NULL, it == NULL);
	st = stats_of(box, "b");
	CHECK(NULL, st.reserved == 1 && st.available == 2 && st.assigned == 0);
	CHECK_RC(box, sb_box_lookup(&it, box, "L", "u"), SB_ENOTFOUND);
	recover_expect(box, "b", 1, 0);
	holds(box, "b", "u", "it-0");
	st = stats_of(box, "b");
	CHECK(NULL, st.assigned == 1 && st.available == 2);
	sb_box_close(box);
}

/* The ledger write succeeds but its answer is lost: the caller gets the
 * error, the id holds the item (a retry gets it back, not a second one),
 * and recovery settles the bank. */
static void record_reply_lost(void)
{
	sb_box *box = generic("rl");
	sb_item *it = NULL;

	load(box, "b", "it", 3);
	fail_next("rl", SB_MEMORY_PUT_IF_ABSENT, SB_ETIMEOUT,
	          SB_MEMORY_FAIL_AFTER);
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", "u"), SB_ETIMEOUT);
	CHECK(NULL, it == NULL);
	holds(box, "b", "u", "it-0");
	CHECK(NULL, stats_of(box, "b").reserved == 1);
	recover_expect(box, "b", 1, 0);
	CHECK(NULL, stats_of(box, "b").available == 2);
	sb_box_close(box);
}

/* Settling fails: the ledger entry is the claim, so the caller still gets
 * the item; recovery settles it later. */
static void settle_fails(void)
{
	sb_box *box = generic("sf");

	load(box, "b", "it", 2);
	fail_next("sf", SB_MEMORY_SETTLE, SB_ECONNECT, SB_MEMORY_FAIL_BEFORE);
	gets(box, "u", "it-0", 1);
	CHECK(NULL, sb_box_errmsg(box)[0] == '\0');
	CHECK(NULL, stats_of(box, "b").reserved == 1);
	recover_expect(box, "b", 1, 0);
	holds(box, "b", "u", "it-0");
	sb_box_close(box);
}

/* A twin recorded another item between this request's ledger read and
 * its write (the read is made to miss), and putting this request's item
 * back fails: the caller gets the twin's item, and recovery puts the
 * other back. */
static void put_back_fails(void)
{
	sb_box *box = generic("pb");
	sb_stats st;

	load(box, "b", "it", 3);
	gets(box, "u", "it-0", 1);
	fail_next("pb", SB_MEMORY_GET, SB_ENOTFOUND, SB_MEMORY_FAIL_BEFORE);
	fail_next("pb", SB_MEMORY_PUT_BACK, SB_ECONNECT, SB_MEMORY_FAIL_BEFORE);
	gets(box, "u", "it-0", 0);
	st = stats_of(box, "b");
	CHECK(NULL, st.reserved == 1 && st.assigned == 1 && st.available == 1);
	recover_expect(box, "b", 0, 1);
	st = stats_of(box, "b");
	CHECK(NULL, st.assigned == 1 && st.available == 2);
	holds(box, "b", "u", "it-0");
	sb_box_close(box);
}

/* At sell-out a fetch lists reservations before it answers "empty"; if
 * listing fails, the answer is that error, never a false "empty". */
static void listing_fails(void)
{
	sb_box *box = generic("lf");
	sb_item *it = NULL;

	load(box, "b", "it", 1);
	gets(box, "u1", "it-0", 1);
	fail_next("lf", SB_MEMORY_RESERVED, SB_ECONNECT, SB_MEMORY_FAIL_BEFORE);
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", "u2"), SB_ECONNECT);
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", "u2"), SB_EMPTY);
	sb_box_close(box);
}

/* The take fails: nothing changes. */
static void take_fails(void)
{
	sb_box *box = generic("tf");
	sb_item *it = NULL;
	sb_stats st;

	load(box, "b", "it", 2);
	fail_next("tf", SB_MEMORY_TAKE, SB_EBUSY, SB_MEMORY_FAIL_BEFORE);
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", "u"), SB_EBUSY);
	st = stats_of(box, "b");
	CHECK(NULL, st.available == 2 && st.reserved == 0);
	CHECK_RC(box, sb_box_lookup(&it, box, "L", "u"), SB_ENOTFOUND);
	sb_box_close(box);
}

/* The fused claim commits but its answer is lost: a retry gets the same
 * item back, and nothing is ever reserved on this path. */
static void claim_reply_lost(void)
{
	sb_box *box = open_box("memory:cl", NULL, SB_PROTOCOL_AUTO);
	sb_item *it = NULL;
	sb_stats st;

	load(box, "b", "it", 2);
	fail_next("cl", SB_MEMORY_CLAIM, SB_ECONNECT, SB_MEMORY_FAIL_AFTER);
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", "u"), SB_ECONNECT);
	CHECK(NULL, it == NULL);
	holds(box, "b", "u", "it-0");
	st = stats_of(box, "b");
	CHECK(NULL, st.assigned == 1 && st.available == 1 && st.reserved == 0);
	sb_box_close(box);
}

int main(void)
{
	record_fails();
	record_reply_lost();
	settle_fails();
	put_back_fails();
	listing_fails();
	take_fails();
	claim_reply_lost();
	return t_summary();
}
