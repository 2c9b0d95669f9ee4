/* The claim protocol over the in-memory backend: which path runs, how
 * many repository calls it makes, and the box law on both paths. */
#include "proto_util.h"

static void path_choice(void)
{
	sb_memory_calls c;
	sb_box *fused = open_box("memory:pc", NULL, SB_PROTOCOL_AUTO);
	sb_box *generic = open_box("memory:pc", NULL, SB_PROTOCOL_GENERIC);
	sb_box *mixed = open_box("memory:pc", "memory:pc-ledger",
	                         SB_PROTOCOL_AUTO);
	char *v;

	load(fused, "bank", "it", 10);

	/* One store, auto: one fused call per fetch, nothing else. */
	v = fetch(fused, "bank", "L", "u1", NULL);
	CHECK(NULL, v && v[0] != '!');
	free(v);
	CHECK(NULL, sb__memory_calls("pc", &c) == 0);
	CHECK(NULL, c.claim == 1 && c.take == 0 && c.get == 0 &&
	                    c.put_if_absent == 0);

	/* Forced generic: get, take, put_if_absent, settle; a repeat is one get. */
	v = fetch(generic, "bank", "L", "u2", NULL);
	CHECK(NULL, v && v[0] != '!');
	free(v);
	CHECK(NULL, sb__memory_calls("pc", &c) == 0);
	CHECK(NULL, c.claim == 1 && c.take == 1 && c.get == 1 &&
	                    c.put_if_absent == 1 && c.settle == 1);
	v = fetch(generic, "bank", "L", "u2", NULL);
	free(v);
	CHECK(NULL, sb__memory_calls("pc", &c) == 0);
	CHECK(NULL, c.get == 2 && c.take == 1);

	/* Two stores: generic without being asked; ledger calls go to the
	 * ledger store, bank calls to the bank store. */
	v = fetch(mixed, "bank", "L", "u3", NULL);
	CHECK(NULL, v && v[0] != '!');
	free(v);
	CHECK(NULL, sb__memory_calls("pc", &c) == 0);
	CHECK(NULL, c.claim == 1 && c.take == 2 && c.get == 2 && c.settle == 2);
	CHECK(NULL, sb__memory_calls("pc-ledger", &c) == 0);
	CHECK(NULL, c.claim == 0 && c.take == 0 && c.get == 1 &&
	                    c.put_if_absent == 1);

	sb_box_close(mixed);
	sb_box_close(generic);
	sb_box_close(fused);
}

/* After a sell-out with nothing reserved, the fused claim says so in the
 * same call: one claim per fetch, no recovery pass, no second claim. */
static void sellout_cost(void)
{
	sb_box *box = open_box("memory:soc", NULL, SB_PROTOCOL_AUTO);
	sb_memory_calls before, after;
	char *v;
	int rc, i;

	load(box, "bank", "it", 2);
	for (i = 0; i < 2; i++) {
		char id[8];
		snprintf(id, sizeof id, "u%d", i);
		v = fetch(box, "bank", "L", id, &rc);
		CHECK(NULL, rc == SB_OK);
		free(v);
	}
	CHECK(NULL, sb__memory_calls("soc", &before) == 0);
	for (i = 0; i < 5; i++) {
		char id[8];
		snprintf(id, sizeof id, "late%d", i);
		v = fetch(box, "bank", "L", id, &rc);
		CHECK(NULL, rc == SB_EMPTY && v == NULL);
		CHECK_STR(NULL, sb_box_errmsg(box), "bank is empty");
	}
	/* A repeat still gets its item after the sell-out (law 3). */
	v = fetch(box, "bank", "L", "u1", &rc);
	CHECK(NULL, rc == SB_OK && v && strcmp(v, "it-1") == 0);
	free(v);
	CHECK(NULL, sb__memory_calls("soc", &after) == 0);
	CHECK(NULL, after.claim - before.claim == 6);
	CHECK(NULL, after.reserved == before.reserved &&
	                    after.get == before.get &&
	                    after.take == before.take);
	sb_box_close(box);
}

/* Sold-out idempotency and the shared ledger, on one protocol. */
static void law(sb_protocol protocol, const char *store, const char *lstore)
{
	sb_box *box = open_box(store, lstore, protocol);
	char *a, *b, *c, *d, *again;
	sb_item *it = NULL;
	sb_stats s;
	int rc;

	load(box, "class1", "c1", 2);
	load(box, "class2", "c2", 2);

	a = fetch(box, "class1", "students", "ann", &rc);
	CHECK(NULL, rc == SB_OK);
	b = fetch(box, "class1", "students", "bob", &rc);
	CHECK(NULL, rc == SB_OK);
	CHECK(NULL, a && b && strcmp(a, b) != 0);
	c = fetch(box, "class1", "students", "cy", &rc);
	CHECK(NULL, rc == SB_EMPTY && c == NULL);
	CHECK_STR(NULL, sb_box_errmsg(box), "bank is empty");

	/* After sell-out, holders still get their item. */
	again = fetch(box, "class1", "students", "ann", &rc);
	CHECK(NULL, rc == SB_OK);
	CHECK_STR(NULL, again, a);
	free(again);

	/* Shared ledger: ann asks class2 and gets her class1 item back. */
	CHECK_RC(box, sb_box_fetch(&it, box, "class2", "students", "ann"),
	         SB_OK);
	CHECK_STR(NULL, sb_item_value(it), a);
	CHECK_STR(NULL, sb_item_bank(it), "class1");
	CHECK(NULL, sb_item_is_new(it) == 0);
	sb_item_free(it);
	s = stats_of(box, "class2");
	CHECK(NULL, s.available == 2 && s.reserved == 0 && s.assigned == 0);
	d = fetch(box, "class2", "students", "cy", &rc);
	CHECK(NULL, rc == SB_OK && d && strncmp(d, "c2-", 3) == 0);

	/* Conservation and lookup. */
	s = stats_of(box, "class1");
	CHECK(NULL, s.available == 0 && s.reserved == 0 && s.assigned == 2);
	CHECK_RC(box, sb_box_stats(&s, box, "class1", "students"), SB_OK);
	CHECK(NULL, s.held == 2);
	CHECK_RC(box, sb_box_lookup(&it, box, "students", "bob"), SB_OK);
	CHECK_STR(NULL, sb_item_value(it), b);
	sb_item_free(it);
	CHECK_RC(box, sb_box_lookup(&it, box, "students", "nobody"),
	         SB_ENOTFOUND);
	CHECK(NULL, it == NULL);

	/* Missing bank: an error, not "empty"; holders still answered. */
	CHECK_RC(box, sb_box_fetch(&it, box, "nosuch", "students", "zed"),
	         SB_ENOTFOUND);
	CHECK(NULL, strstr(sb_box_errmsg(box), "nosuch") != NULL);
	CHECK_RC(box, sb_box_fetch(&it, box, "nosuch", "students", "ann"),
	         SB_OK);
	sb_item_free(it);

	free(a);
	free(b);
	free(d);
	sb_box_close(box);
}

/* Input checks happen before any store call. */
static void bad_input(void)
{
	sb_box *box = open_box("memory:bad", NULL, SB_PROTOCOL_AUTO);
	const char *items[] = { "ok", "bad\nline" };
	char *big = malloc(SB_MAX_VALUE_LEN + 2);
	sb_memory_calls c;
	sb_item *it = (sb_item *)1;
	sb_add_result r;
	sb_stats s;

	load(box, "b", "x", 1);
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", NULL), SB_EINVALID);
	CHECK(NULL, it == NULL);
	CHECK(NULL, strstr(sb_box_errmsg(box), "dedup id") != NULL);
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", ""), SB_EINVALID);
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", "a\nb"), SB_EINVALID);
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", "a\rb"), SB_EINVALID);
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", "\xff"), SB_EINVALID);
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", "\xed\xa0\x80"),
	         SB_EINVALID);
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", "\xc0\xaf"),
	         SB_EINVALID);
	CHECK_RC(box, sb_box_fetch(&it, box, NULL, "L", "u"), SB_EINVALID);
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "", "u"), SB_EINVALID);
	CHECK_RC(box, sb_box_fetch(NULL, box, "b", "L", "u"), SB_EINVALID);
	CHECK(NULL, sb_box_fetch(&it, NULL, "b", "L", "u") == SB_EINVALID);
	memset(big, 'a', SB_MAX_VALUE_LEN + 1);
	big[SB_MAX_VALUE_LEN + 1] = '\0';
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", big), SB_EINVALID);
	CHECK(NULL, strstr(sb_box_errmsg(box), "longer") != NULL);
	big[SB_MAX_VALUE_LEN] = '\0'; /* exactly the limit is fine */
	CHECK_RC(box, sb_box_fetch(&it, box, "b", "L", big), SB_OK);
	sb_item_free(it);

	CHECK_RC(box, sb_box_add(&r, box, "b", items, 2), SB_EINVALID);
	CHECK(NULL, strstr(sb_box_errmsg(box), "item 2") != NULL);
	s = stats_of(box, "b");
	CHECK(NULL,
	      s.available == 0 && s.assigned == 1); /* "ok" was not added */
	CHECK_RC(box, sb_box_add(&r, box, "b", NULL, 1), SB_EINVALID);
	CHECK(NULL, sb__memory_calls("bad", &c) == 0);
	CHECK(NULL,
	      c.claim == 1); /* only the one valid fetch reached the store */
	free(big);
	sb_box_close(box);
}

/* Add: skipped counts, re-adding issued items, empty add creates a bank. */
static void adding(void)
{
	sb_box *box = open_box("memory:add", NULL, SB_PROTOCOL_AUTO);
	const char *batch[] = { "a", "b", "a", "c" };
	sb_add_result r;
	sb_stats s;
	char *v;

	CHECK_RC(box, sb_box_add(&r, box, "bk", batch, 4), SB_OK);
	CHECK(NULL, r.added == 3 && r.skipped == 1);
	v = fetch(box, "bk", "L", "u", NULL);
	CHECK_STR(NULL, v, "a");
	free(v);
	CHECK_RC(box, sb_box_add(&r, box, "bk", batch, 4), SB_OK);
	CHECK(NULL, r.added == 0 && r.skipped == 4);
	s = stats_of(box, "bk");
	CHECK(NULL, s.available == 2 && s.assigned == 1);
	CHECK_RC(box, sb_box_add(&r, box, "empty", NULL, 0), SB_OK);
	s = stats_of(box, "empty");
	CHECK(NULL, s.available == 0);
	CHECK_RC(box, sb_box_stats(&s, box, "never", NULL), SB_ENOTFOUND);
	CHECK_RC(box, sb_box_init(box, "made", "led"), SB_OK);
	s = stats_of(box, "made");
	CHECK(NULL, s.available == 0);
	sb_box_close(box);
}

int main(void)
{
	path_choice();
	sellout_cost();
	law(SB_PROTOCOL_AUTO, "memory:law-fused", NULL);
	law(SB_PROTOCOL_GENERIC, "memory:law-generic", NULL);
	law(SB_PROTOCOL_AUTO, "memory:law-mixed", "memory:law-mixed-ledger");
	bad_input();
	adding();
	return t_summary();
}
