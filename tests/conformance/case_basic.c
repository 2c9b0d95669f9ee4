/* The core cases: add, fetch, the original's scenarios, stats, recover. */
#include "conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Items "<bank>/i<k>" for k in [from, from+n); caller frees with free_items. */
static char **make_items(const char *bank, size_t from, size_t n)
{
	char **v = t_xcalloc(n, sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = t_xasprintf("%s/i%zu", bank, from + i);
	return v;
}

static void free_items(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int in_list(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (s && strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

#define CITEMS(v) ((const char *const *)(v))

void case_add(void)
{
	sb_box *box = conf_open();
	if (!box)
		return;
	char *bank = conf_name("add");
	const char *b1[] = { "a", "b", "c" };
	conf_add(box, bank, b1, 3, 3, 0);
	conf_check_conservation(box, bank, 3);

	/* "a" is already there, "d" is repeated inside the batch. */
	const char *b2[] = { "a", "d", "d", "e" };
	conf_add(box, bank, b2, 4, 2, 2);
	conf_check_conservation(box, bank, 5);

	const char *b3[] = { "e", "c", "b", "a" };
	conf_add(box, bank, b3, 4, 0, 4);

	const char *none[] = { "unused" };
	conf_add(box, bank, none, 0, 0, 0);
	conf_check_conservation(box, bank, 5);

	sb_stats st;
	CHECK_RC(box, conf_stats(&st, box, bank, NULL), SB_OK);
	CHECKF(box, st.available == 5 && st.assigned == 0,
	       "available %llu assigned %llu", (unsigned long long)st.available,
	       (unsigned long long)st.assigned);

	/* A NULL result pointer is allowed ("optional counts"). */
	const char *b4[] = { "f" };
	CHECK_RC(box, sb_box_add(NULL, box, bank, b4, 1), SB_OK);
	conf_check_conservation(box, bank, 6);

	/* Adding nothing to a new bank creates it (empty). */
	char *empty = conf_name("add-empty");
	conf_add(box, empty, none, 0, 0, 0);
	CHECK_RC(box, conf_stats(&st, box, empty, NULL), SB_OK);
	CHECK(box, st.available == 0 && st.reserved == 0 && st.assigned == 0);

	/* Items are per bank: the same strings are new in another bank. */
	char *other = conf_name("add-other");
	conf_add(box, other, b1, 3, 3, 0);
	conf_check_conservation(box, other, 3);
	conf_check_conservation(box, bank, 6);

	free(other);
	free(empty);
	free(bank);
	sb_box_close(box);
}

void case_fetch(void)
{
	sb_box *box = conf_open();
	if (!box)
		return;
	char *bank = conf_name("fetch");
	char *ledger = conf_name("fetch-ledger");
	char **items = make_items(bank, 0, 10);
	conf_add(box, bank, CITEMS(items), 10, 10, 0);

	int is_new = -1;
	char *got_bank = NULL;
	char *first = conf_fetch_ok(box, bank, ledger, "id-0", &is_new,
	                            &got_bank);
	CHECKF(box, in_list(items, 10, first), "'%s' not loaded", first);
	CHECK(box, is_new == 1);
	CHECKF(box, got_bank && strcmp(got_bank, bank) == 0, "bank '%s'",
	       got_bank);
	free(got_bank);
	got_bank = NULL;

	char *again = conf_fetch_ok(box, bank, ledger, "id-0", &is_new,
	                            &got_bank);
	CHECKF(box, first && again && strcmp(first, again) == 0,
	       "repeat gave '%s', first '%s'", again, first);
	CHECK(box, is_new == 0);
	CHECK(box, got_bank && strcmp(got_bank, bank) == 0);
	free(got_bank);
	free(again);

	/* N more ids: N distinct items, none the first one's. */
	char *seen[6] = { first };
	for (int i = 1; i < 6; i++) {
		char id[32];
		snprintf(id, sizeof id, "id-%d", i);
		seen[i] = conf_fetch_ok(box, bank, ledger, id, &is_new, NULL);
		CHECKF(box, in_list(items, 10, seen[i]), "'%s' not loaded",
		       seen[i]);
		CHECK(box, is_new == 1);
		for (int j = 0; j < i; j++)
			CHECKF(box,
			       !seen[i] || !seen[j] ||
			               strcmp(seen[i], seen[j]) != 0,
			       "ids %d and %d both got '%s'", i, j,
			       seen[i] ? seen[i] : "(null)");
	}

	/* Lookup returns the item without claiming anything. */
	sb_item *it = NULL;
	CHECK_RC(box, sb_box_lookup(&it, box, ledger, "id-3"), SB_OK);
	CHECK(box, it && seen[3] && strcmp(sb_item_value(it), seen[3]) == 0);
	CHECK(box, it && strcmp(sb_item_bank(it), bank) == 0);
	CHECK(box, it && sb_item_is_new(it) == 0);
	sb_item_free(it);

	it = (sb_item *)&it;
	CHECK_RC(box, sb_box_lookup(&it, box, ledger, "id-unknown"),
	         SB_ENOTFOUND);
	CHECK(box, it == NULL);
	char *noledger = conf_name("never-ledger");
	it = (sb_item *)&it;
	CHECK_RC(box, sb_box_lookup(&it, box, noledger, "id-0"), SB_ENOTFOUND);
	CHECK(box, it == NULL);
	free(noledger);

	sb_stats st;
	CHECK_RC(box, conf_stats(&st, box, bank, ledger), SB_OK);
	CHECKF(box,
	       st.available == 4 && st.assigned == 6 && st.reserved == 0 &&
	               st.held == 6,
	       "available %llu assigned %llu reserved %llu held %llu",
	       (unsigned long long)st.available,
	       (unsigned long long)st.assigned, (unsigned long long)st.reserved,
	       (unsigned long long)st.held);
	conf_check_conservation(box, bank, 10);

	for (int i = 0; i < 6; i++)
		free(seen[i]);
	free_items(items, 10);
	free(ledger);
	free(bank);
	sb_box_close(box);
}

/* The original's fault: an id that holds an item got None at sell-out. */
void case_sold_out(void)
{
	sb_box *box = conf_open();
	if (!box)
		return;
	char *bank = conf_name("soldout");
	char *ledger = conf_name("soldout-ledger");
	char **items = make_items(bank, 0, 3);
	conf_add(box, bank, CITEMS(items), 3, 3, 0);

	const char *ids[] = { "a", "b", "c" };
	char *got[3];
	for (int i = 0; i < 3; i++) {
		got[i] = conf_fetch_ok(box, bank, ledger, ids[i], NULL, NULL);
		CHECK(box, in_list(items, 3, got[i]));
	}
	CHECK(box, got[0] && got[1] && got[2] && strcmp(got[0], got[1]) &&
	                   strcmp(got[1], got[2]) && strcmp(got[0], got[2]));

	sb_item *it = (sb_item *)&it;
	CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, "d"), SB_EMPTY);
	CHECK(box, it == NULL);

	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 3; i++) {
			int is_new = -1;
			char *again = conf_fetch_ok(box, bank, ledger, ids[i],
			                            &is_new, NULL);
			CHECKF(box,
			       again && got[i] && strcmp(again, got[i]) == 0,
			       "id %s after sell-out: '%s', had '%s'", ids[i],
			       again, got[i]);
			CHECK(box, is_new == 0);
			free(again);
		}
		it = (sb_item *)&it;
		CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, "d"),
		         SB_EMPTY);
		CHECK(box, it == NULL);
	}
	sb_stats st;
	CHECK_RC(box, conf_stats(&st, box, bank, ledger), SB_OK);
	CHECK(box, st.available == 0 && st.assigned == 3 && st.held == 3);
	conf_check_conservation(box, bank, 3);
	it = (sb_item *)&it;
	CHECK_RC(box, sb_box_lookup(&it, box, ledger, "d"), SB_ENOTFOUND);

	for (int i = 0; i < 3; i++)
		free(got[i]);
	free_items(items, 3);
	free(ledger);
	free(bank);
	sb_box_close(box);
}

static int stats_equal(const sb_stats *a, const sb_stats *b)
{
	return a->available == b->available && a->reserved == b->reserved &&
	       a->assigned == b->assigned && a->held == b->held;
}

/* Three classes share one ledger of students. */
void case_classes(void)
{
	sb_box *box = conf_open();
	if (!box)
		return;
	char *cls[3], **items[3];
	char *students = conf_name("students");
	for (int c = 0; c < 3; c++) {
		char tag[16];
		snprintf(tag, sizeof tag, "class%d", c + 1);
		cls[c] = conf_name(tag);
		items[c] = make_items(cls[c], 0, 4);
		conf_add(box, cls[c], CITEMS(items[c]), 4, 4, 0);
	}

	char *s1 = conf_fetch_ok(box, cls[0], students, "student-1", NULL,
	                         NULL);
	CHECK(box, in_list(items[0], 4, s1));

	sb_stats before, after;
	CHECK_RC(box, conf_stats(&before, box, cls[1], students), SB_OK);
	int is_new = -1;
	char *from = NULL;
	char *s1b = conf_fetch_ok(box, cls[1], students, "student-1", &is_new,
	                          &from);
	CHECKF(box, s1 && s1b && strcmp(s1, s1b) == 0,
	       "class2 gave '%s', student holds '%s'", s1b, s1);
	CHECKF(box, from && strcmp(from, cls[0]) == 0,
	       "sb_item_bank '%s', want class1", from);
	CHECK(box, is_new == 0);
	CHECK_RC(box, conf_stats(&after, box, cls[1], students), SB_OK);
	CHECK(box, stats_equal(&before, &after));
	CHECK(box,
	      after.available == 4 && after.assigned == 0 && after.held == 0);
	free(from);
	free(s1b);

	/* A second student enrols in class 2 first, then asks class 3. */
	char *s2 = conf_fetch_ok(box, cls[1], students, "student-2", NULL,
	                         NULL);
	CHECK(box, in_list(items[1], 4, s2));
	from = NULL;
	char *s2b = conf_fetch_ok(box, cls[2], students, "student-2", NULL,
	                          &from);
	CHECK(box, s2 && s2b && strcmp(s2, s2b) == 0);
	CHECK(box, from && strcmp(from, cls[1]) == 0);
	free(from);
	free(s2b);

	/* Held counts per bank for the shared ledger. */
	sb_stats st;
	uint64_t want_held[3] = { 1, 1, 0 };
	for (int c = 0; c < 3; c++) {
		CHECK_RC(box, conf_stats(&st, box, cls[c], students), SB_OK);
		CHECKF(box,
		       st.held == want_held[c] && st.assigned == want_held[c],
		       "class%d held %llu "
		       "assigned %llu",
		       c + 1, (unsigned long long)st.held,
		       (unsigned long long)st.assigned);
		conf_check_conservation(box, cls[c], 4);
	}

	/* Law 3 whatever the bank's state: empty it, and ask a bank that
	 * does not exist at all. */
	const char *drain[] = { "d1", "d2", "d3", "d4" };
	for (int i = 0; i < 4; i++) {
		char *v = conf_fetch_ok(box, cls[2], students, drain[i], NULL,
		                        NULL);
		free(v);
	}
	sb_item *it = (sb_item *)&it;
	CHECK_RC(box, sb_box_fetch(&it, box, cls[2], students, "nobody"),
	         SB_EMPTY);
	char *s1c = conf_fetch_ok(box, cls[2], students, "student-1", NULL,
	                          NULL);
	CHECK(box, s1 && s1c && strcmp(s1, s1c) == 0);
	free(s1c);
	char *ghost = conf_name("no-such-class");
	from = NULL;
	char *s1d = conf_fetch_ok(box, ghost, students, "student-1", NULL,
	                          &from);
	CHECK(box, s1 && s1d && strcmp(s1, s1d) == 0);
	CHECK(box, from && strcmp(from, cls[0]) == 0);
	free(from);
	free(s1d);
	free(ghost);
	CHECK_RC(box, conf_stats(&st, box, cls[0], students), SB_OK);
	CHECK(box, st.available == 3 && st.assigned == 1 && st.held == 1);

	free(s1);
	free(s2);
	for (int c = 0; c < 3; c++) {
		free_items(items[c], 4);
		free(cls[c]);
	}
	free(students);
	sb_box_close(box);
}

/* Re-loading a code list must not resurrect handed-out codes. */
void case_readd_issued(void)
{
	sb_box *box = conf_open();
	if (!box)
		return;
	char *bank = conf_name("readd");
	char *ledger = conf_name("readd-ledger");
	char **items = make_items(bank, 0, 5);
	conf_add(box, bank, CITEMS(items), 5, 5, 0);
	char *got[5] = { NULL };
	for (int i = 0; i < 3; i++) {
		char id[16];
		snprintf(id, sizeof id, "u%d", i);
		got[i] = conf_fetch_ok(box, bank, ledger, id, NULL, NULL);
	}
	conf_add(box, bank, CITEMS(items), 5, 0, 5);
	conf_check_conservation(box, bank, 5);
	sb_stats st;
	CHECK_RC(box, conf_stats(&st, box, bank, ledger), SB_OK);
	CHECK(box, st.available == 2 && st.assigned == 3 && st.held == 3);

	/* Only the two codes never handed out remain. */
	for (int i = 3; i < 5; i++) {
		char id[16];
		snprintf(id, sizeof id, "u%d", i);
		got[i] = conf_fetch_ok(box, bank, ledger, id, NULL, NULL);
		for (int j = 0; j < i; j++)
			CHECKF(box,
			       !got[i] || !got[j] ||
			               strcmp(got[i], got[j]) != 0,
			       "'%s' handed out twice (u%d, u%d)",
			       got[i] ? got[i] : "(null)", j, i);
	}
	sb_item *it = (sb_item *)&it;
	CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, "u5"), SB_EMPTY);
	CHECK(box, it == NULL);
	conf_add(box, bank, CITEMS(items), 5, 0, 5);
	CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, "u6"), SB_EMPTY);
	conf_check_conservation(box, bank, 5);

	for (int i = 0; i < 5; i++)
		free(got[i]);
	free_items(items, 5);
	free(ledger);
	free(bank);
	sb_box_close(box);
}

/* Conservation and held after every step of a mixed sequence. */
void case_stats(void)
{
	sb_box *box = conf_open();
	if (!box)
		return;
	char *bank = conf_name("stats");
	char *ledger = conf_name("stats-ledger");
	char *ledger2 = conf_name("stats-ledger2");
	sb_stats st;
	uint64_t loaded = 0, held = 0, held2 = 0;
	int id = 0;

	CHECK_RC(box, sb_box_init(box, bank, ledger), SB_OK);
	CHECK_RC(box, sb_box_init(box, bank, ledger), SB_OK); /* idempotent */
	CHECK_RC(box, sb_box_init(box, NULL, NULL), SB_OK);
	CHECK_RC(box, conf_stats(&st, box, bank, ledger), SB_OK);
	CHECK(box, st.available == 0 && st.reserved == 0 && st.assigned == 0 &&
	                   st.held == 0);
	sb_item *it = (sb_item *)&it;
	CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, "early"), SB_EMPTY);
	CHECK(box, it == NULL);

	for (int step = 0; step < 4; step++) {
		char **items = make_items(bank, (size_t)step * 3, 3);
		conf_add(box, bank, CITEMS(items), 3, 3, 0);
		free_items(items, 3);
		loaded += 3;
		conf_check_conservation(box, bank, loaded);
		/* Two fetches into ledger, one into ledger2, one repeat. */
		for (int k = 0; k < 3; k++) {
			char idbuf[16];
			snprintf(idbuf, sizeof idbuf, "s%d", id++);
			const char *l = k == 2 ? ledger2 : ledger;
			char *v = conf_fetch_ok(box, bank, l, idbuf, NULL,
			                        NULL);
			free(v);
			if (k == 2)
				held2++;
			else
				held++;
			conf_check_conservation(box, bank, loaded);
		}
		char *v = conf_fetch_ok(box, bank, ledger, "s0", NULL, NULL);
		free(v);
		CHECK_RC(box, conf_stats(&st, box, bank, ledger), SB_OK);
		CHECKF(box,
		       st.held == held && st.assigned == held + held2 &&
		               st.available == loaded - held - held2,
		       "step %d: held %llu assigned %llu available %llu", step,
		       (unsigned long long)st.held,
		       (unsigned long long)st.assigned,
		       (unsigned long long)st.available);
		CHECK_RC(box, conf_stats(&st, box, bank, ledger2), SB_OK);
		CHECK(box, st.held == held2);
	}
	char *none = conf_name("stats-none");
	CHECK_RC(box, conf_stats(&st, box, bank, none), SB_OK);
	CHECK(box, st.held == 0);
	free(none);
	free(ledger2);
	free(ledger);
	free(bank);
	sb_box_close(box);
}

/* Nothing reserved: recover has nothing to do and changes nothing. */
void case_recover(void)
{
	sb_box *box = conf_open();
	if (!box)
		return;
	char *bank = conf_name("recover");
	char *ledger = conf_name("recover-ledger");
	char **items = make_items(bank, 0, 4);
	conf_add(box, bank, CITEMS(items), 4, 4, 0);
	char *v = conf_fetch_ok(box, bank, ledger, "r1", NULL, NULL);
	sb_stats before, after;
	CHECK_RC(box, conf_stats(&before, box, bank, ledger), SB_OK);

	sb_recover_result r;
	memset(&r, 0xa5, sizeof r);
	CHECK_RC(box, sb_box_recover(&r, box, bank, ledger, NULL), SB_OK);
	CHECK(box, r.settled == 0 && r.put_back == 0 && r.foreign == 0);
	sb_recover_opts o = SB_RECOVER_OPTS_INIT;
	o.min_age_ms = 1000;
	memset(&r, 0xa5, sizeof r);
	CHECK_RC(box, sb_box_recover(&r, box, bank, ledger, &o), SB_OK);
	CHECK(box, r.settled == 0 && r.put_back == 0 && r.foreign == 0);
	CHECK_RC(box, sb_box_recover(NULL, box, bank, ledger, NULL), SB_OK);
	CHECK_RC(box, conf_stats(&after, box, bank, ledger), SB_OK);
	CHECK(box, stats_equal(&before, &after));

	char *again = conf_fetch_ok(box, bank, ledger, "r1", NULL, NULL);
	CHECK(box, v && again && strcmp(v, again) == 0);
	free(again);

	char *ghost = conf_name("recover-ghost");
	CHECK_RC(box, sb_box_recover(&r, box, ghost, ledger, NULL),
	         SB_ENOTFOUND);
	CHECK(box, sb_box_errmsg(box)[0] != '\0');
	free(ghost);
	free(v);
	free_items(items, 4);
	free(ledger);
	free(bank);
	sb_box_close(box);
}
