/* The backend contract as the core enforces it: struct versions (1 <=
 * version <= current, for options, backends and every vtable), required
 * slots, and the check of every slot's result at the boundary: a code the
 * contract does not allow reaches the caller as SB_EBACKEND, never as
 * itself. Slots misbehave on purpose through the memory backend's planned
 * failures (backends/memory/memory.h). */
#include "proto_util.h"

/* ---- a backend that hands out a memory store with altered vtables ---- */

static sb_store_ops alt_store;
static sb_bank_ops alt_bank;
static sb_ledger_ops alt_ledger;
static int alt_open_rc; /* what open returns instead of the store */

static int alt_open(sb_store **out, sb_uri *uri, sb_box *box)
{
	const sb_backend *mem = sb_backend_find("memory");
	int rc;

	if (alt_open_rc)
		return sb_seterr(box, alt_open_rc, "alt: told to fail");
	free(uri->path);
	uri->path = strdup("alt-store");
	if ((rc = mem->open(out, uri, box)))
		return rc;
	/* The copies start as memory's vtables; each case alters one. */
	(*out)->ops = &alt_store;
	(*out)->bank = &alt_bank;
	(*out)->ledger = &alt_ledger;
	return SB_OK;
}

static const sb_backend alt = { .version = SB_BACKEND_VERSION,
	                        .scheme = "alt",
	                        .open = alt_open };

static int alt_try(char *err, size_t errlen)
{
	sb_box *box = NULL;
	int rc = sb_box_open(&box, "alt:x", NULL, err, errlen);
	sb_box_close(box);
	return rc;
}

static void versions(void)
{
	static const sb_backend v0 = { .version = 0,
		                       .scheme = "vzero",
		                       .open = alt_open };
	static const sb_backend vnext = { .version = SB_BACKEND_VERSION + 1,
		                          .scheme = "vnext",
		                          .open = alt_open };
	sb_open_opts o = SB_OPEN_OPTS_INIT;
	sb_recover_opts ro = SB_RECOVER_OPTS_INIT;
	char err[SB_ERRMSG_SIZE];
	sb_box *box = NULL;

	CHECK(NULL, sb_backend_register(&v0) == SB_EINVALID);
	CHECK(NULL, sb_backend_register(&vnext) == SB_ENOTSUPPORTED);
	CHECK(NULL, sb_backend_find("vnext") == NULL);

	o.version = 0;
	CHECK(NULL, sb_box_open(&box, "memory:v", &o, err, sizeof err) ==
	                    SB_EINVALID);
	CHECK(NULL, strstr(err, "sb_open_opts") && strstr(err, "version 0"));
	o.version = SB_OPEN_OPTS_VERSION + 1;
	CHECK(NULL, sb_box_open(&box, "memory:v", &o, err, sizeof err) ==
	                    SB_ENOTSUPPORTED);
	CHECK(NULL, strstr(err, "sb_open_opts") && strstr(err, "newer"));
	CHECK(NULL, box == NULL);

	box = open_box("memory:v", NULL, SB_PROTOCOL_AUTO);
	load(box, "b", "it", 1);
	ro.version = 0;
	CHECK_RC(box, sb_box_recover(NULL, box, "b", "L", &ro), SB_EINVALID);
	ro.version = SB_RECOVER_OPTS_VERSION + 1;
	CHECK_RC(box, sb_box_recover(NULL, box, "b", "L", &ro),
	         SB_ENOTSUPPORTED);
	CHECK(NULL, strstr(sb_box_errmsg(box), "sb_recover_opts") != NULL);
	ro.version = SB_RECOVER_OPTS_VERSION;
	CHECK_RC(box, sb_box_recover(NULL, box, "b", "L", &ro), SB_OK);
	sb_box_close(box);
}

/* Each vtable's version and required slots, checked at open. */
static void vtables(void)
{
	sb_store_ops s0;
	sb_bank_ops b0;
	sb_ledger_ops l0;
	char err[SB_ERRMSG_SIZE];
	sb_box *box;

	CHECK(NULL, sb_backend_register(&alt) == SB_OK);
	/* A private memory store lends us memory's vtables. */
	{
		sb_store *st = NULL;
		sb_uri uri;
		memset(&uri, 0, sizeof uri);
		uri.scheme = "memory";
		uri.path = "";
		CHECK(NULL, sb_backend_find("memory")->open(&st, &uri, NULL) ==
		                    SB_OK);
		s0 = *st->ops;
		b0 = *st->bank;
		l0 = *st->ledger;
		st->ops->close(st);
	}
	alt_store = s0;
	alt_bank = b0;
	alt_ledger = l0;
	CHECK(NULL, alt_try(err, sizeof err) == SB_OK);

	alt_store.version = SB_STORE_OPS_VERSION + 1;
	CHECK(NULL, alt_try(err, sizeof err) == SB_ENOTSUPPORTED);
	CHECK(NULL, strstr(err, "alt backend's store vtable") &&
	                    strstr(err, "newer"));
	alt_store = s0;

	alt_bank.version = 0;
	CHECK(NULL, alt_try(err, sizeof err) == SB_EINVALID);
	CHECK(NULL, strstr(err, "alt backend's bank vtable") != NULL);
	alt_bank = b0;

	alt_ledger.version = SB_LEDGER_OPS_VERSION + 1;
	CHECK(NULL, alt_try(err, sizeof err) == SB_ENOTSUPPORTED);
	CHECK(NULL, strstr(err, "ledger vtable") != NULL);
	alt_ledger = l0;

	alt_bank.take = NULL;
	CHECK(NULL, alt_try(err, sizeof err) == SB_EINVALID);
	CHECK(NULL, strstr(err, "'take'") != NULL);
	alt_bank = b0;

	alt_ledger.put_if_absent = NULL;
	CHECK(NULL, alt_try(err, sizeof err) == SB_EINVALID);
	CHECK(NULL, strstr(err, "'put_if_absent'") != NULL);
	alt_ledger = l0;

	/* open itself answering outside the contract */
	alt_open_rc = 100;
	CHECK(NULL, alt_try(err, sizeof err) == SB_EBACKEND);
	CHECK(NULL, strstr(err, "alt backend") && strstr(err, "100"));
	alt_open_rc = SB_ECONNECT;
	CHECK(NULL, alt_try(err, sizeof err) == SB_ECONNECT);
	CHECK(NULL, strstr(err, "told to fail") != NULL);
	alt_open_rc = 0;

	/* Splitting a batch: a store that takes 3 items per call. */
	alt_bank.add_max = 3;
	box = NULL;
	CHECK(NULL, sb_box_open(&box, "alt:x", NULL, err, sizeof err) == SB_OK);
	if (box) {
		const char *items[10] = { "a", "b", "c", "d", "e",
			                  "f", "g", "h", "i", "i" };
		sb_add_result r;
		CHECK_RC(box, sb_box_add(&r, box, "split", items, 10), SB_OK);
		CHECK(NULL, r.added == 9 && r.skipped == 1);
		/* The third call of three fails: two calls' items stay. */
		CHECK(NULL,
		      sb__memory_fail("alt-store", SB_MEMORY_ADD, 3,
		                      SB_ECONNECT, SB_MEMORY_FAIL_BEFORE) == 0);
		{
			const char *more[8] = { "1", "2", "3", "4",
				                "5", "6", "7", "8" };
			CHECK_RC(box, sb_box_add(&r, box, "split2", more, 8),
			         SB_ECONNECT);
			CHECK(NULL, r.added == 6 && r.skipped == 0);
			CHECK(NULL, stats_of(box, "split2").available == 6);
		}
		sb_box_close(box);
	}
	alt_bank = b0;
}

/* A planned result of one slot, then the public call that runs it. */
static void plan(const char *store, sb_memory_slot slot, int code)
{
	CHECK(NULL, sb__memory_fail(store, slot, 1, code,
	                            SB_MEMORY_FAIL_BEFORE) == 0);
}

static int mentions(sb_box *box, const char *a, const char *b)
{
	const char *m = sb_box_errmsg(box);
	return strstr(m, a) && strstr(m, b);
}

static void boundary(void)
{
	sb_box *box = open_box("memory:bd", NULL, SB_PROTOCOL_AUTO);
	sb_box *gen = open_box("memory:bd", NULL, SB_PROTOCOL_GENERIC);
	sb_add_result r;
	sb_stats st;
	sb_item *it = NULL;
	const char *one[1] = { "x" };

	load(box, "b", "it", 4);

	/* A private code from add (DynamoDB's "table missing" was 100): an
	 * error, and nothing was added. */
	plan("bd", SB_MEMORY_ADD, 100);
	CHECK_RC(box, sb_box_add(&r, box, "b", one, 1), SB_EBACKEND);
	CHECK(NULL,
	      r.added == 0 && mentions(box, "memory backend", "slot add"));
	CHECK(NULL, stats_of(box, "b").available == 4);

	/* SB_OK without an item, from the fused claim and from take. (A
	 * store with fused holds runs every fetch through its hold slot,
	 * which the memory backend plans as its claim.) */
	plan("bd", SB_MEMORY_CLAIM, SB_OK);
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", "u1"), SB_EBACKEND);
	CHECK(NULL,
	      it == NULL && mentions(box, "slot hold", "without an item"));
	plan("bd", SB_MEMORY_TAKE, SB_OK);
	CHECK_RC(gen, sb_box_fetch(&it, gen, "b", "L", "u1"), SB_EBACKEND);
	CHECK(NULL, it == NULL && mentions(gen, "take", "without an item"));

	/* Answers a slot may not give. */
	plan("bd", SB_MEMORY_CLAIM, SB_ECONFLICT);
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", "u1"), SB_EBACKEND);
	plan("bd", SB_MEMORY_CLAIM, -1000);
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", "u1"), SB_EBACKEND);
	CHECK(NULL, mentions(box, "slot hold", "-1000"));
	plan("bd", SB_MEMORY_LEDGER_COUNT, SB_EMPTY);
	CHECK_RC(box, sb_box_stats(&st, box, "b", "L"), SB_EBACKEND);
	plan("bd", SB_MEMORY_COUNT, SB_ENOTFOUND); /* allowed: no bank */
	CHECK_RC(box, sb_box_stats(&st, box, "b", NULL), SB_ENOTFOUND);
	plan("bd", SB_MEMORY_GET, SB_EMPTY);
	CHECK_RC(box, sb_box_lookup(&it, box, "L", "u1"), SB_EBACKEND);
	plan("bd", SB_MEMORY_INIT, 7);
	CHECK_RC(box, sb_box_init(box, NULL, NULL), SB_EBACKEND);
	plan("bd", SB_MEMORY_CREATE, SB_ENOTFOUND);
	CHECK_RC(box, sb_box_init(box, "b2", NULL), SB_EBACKEND);

	/* An error passes as it is, with the backend's message; the next
	 * call that succeeds has no message left. */
	plan("bd", SB_MEMORY_CLAIM, SB_ECONNECT);
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", "u1"), SB_ECONNECT);
	CHECK(NULL, mentions(box, "injected failure", "claim"));
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", "u1"), SB_OK);
	CHECK(NULL, sb_box_errmsg(box)[0] == '\0');
	sb_item_free(it);
	it = NULL;

	/* Nothing planned went astray: the box law holds. */
	st = stats_of(box, "b");
	CHECK(NULL, st.available == 3 && st.assigned == 1 && st.reserved == 0);
	sb_box_close(gen);
	sb_box_close(box);
}

/* A callback's own value passes through export untouched, whatever it
 * is; the backend's own odd result does not. */
static int stop_with(const char *id, const char *bank, const char *item,
                     void *payload)
{
	(void)id;
	(void)bank;
	(void)item;
	return *(int *)payload;
}

static void callbacks(void)
{
	sb_box *box = open_box("memory:cb", NULL, SB_PROTOCOL_AUTO);
	sb_item *it = NULL;
	int v;

	load(box, "b", "it", 2);
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", "u"), SB_OK);
	sb_item_free(it);
	v = 100;
	CHECK(NULL, sb_box_export(box, "L", stop_with, &v) == 100);
	v = SB_ECONFLICT;
	CHECK(NULL, sb_box_export(box, "L", stop_with, &v) == SB_ECONFLICT);
	v = 0;
	CHECK_RC(box, sb_box_export(box, "L", stop_with, &v), SB_OK);
	plan("cb", SB_MEMORY_EXPORT, 100);
	CHECK_RC(box, sb_box_export(box, "L", stop_with, &v), SB_EBACKEND);
	sb_box_close(box);
}

/* The memory bank keeps the guard of docs/holds.md "Reclaim" step 1:
 * held -> reclaiming is refused while the deadline is still ahead (by
 * the client's clock, this store's), and allowed once it has passed. */
static void memory_reclaim_guard(void)
{
	sb_box *box = open_box("memory:guard", NULL, SB_PROTOCOL_AUTO);
	const char *items[] = { "g-1" }, *tok = "L\nid";
	int64_t now = sb_now_ms();
	sb_store *st = NULL;
	sb_item *it = NULL;
	uint64_t added, skipped;
	sb_uri uri;

	memset(&uri, 0, sizeof uri);
	uri.scheme = "memory";
	uri.path = "guard-store";
	CHECK(box, sb_backend_find("memory")->open(&st, &uri, box) == SB_OK);
	if (!st)
		goto out;
	CHECK(box, st->bank->add(&added, &skipped, st, "g", items, 1) == SB_OK);
	CHECK(box,
	      st->bank->take_held(&it, st, "g", tok, now + 60000) == SB_OK);
	sb_item_free(it);
	CHECK(box, st->bank->move(st, "g", "g-1", tok, SB_STATE_HELD,
	                          SB_STATE_RECLAIMING, 0) == SB_ECONFLICT);
	CHECK(box, st->bank->move(st, "g", "g-1", tok, SB_STATE_HELD,
	                          SB_STATE_HELD, now - 1) == SB_OK);
	CHECK(box, st->bank->move(st, "g", "g-1", tok, SB_STATE_HELD,
	                          SB_STATE_RECLAIMING, 0) == SB_OK);
	st->ops->close(st);
out:
	sb_box_close(box);
}

int main(void)
{
	versions();
	vtables();
	boundary();
	callbacks();
	memory_reclaim_guard();
	return t_summary();
}
