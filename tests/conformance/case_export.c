/* Export, and hostile strings round-tripping byte for byte everywhere. */
#include "conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	t_map seen; /* id -> "bank\nitem" as exported */
	int calls;
	int dups;       /* an id exported twice */
	int stop_after; /* > 0: return 7 at that call */
} export_acc;

static int export_cb(const char *id, const char *bank, const char *item,
                     void *payload)
{
	export_acc *acc = payload;
	acc->calls++;
	if (!id || !bank || !item) {
		acc->dups++;
		return 0;
	}
	char *v = t_xasprintf("%s\n%s", bank, item);
	if (!t_map_put(&acc->seen, id, v))
		acc->dups++;
	free(v);
	if (acc->stop_after > 0 && acc->calls == acc->stop_after)
		return 7;
	return 0;
}

/* Export @p ledger and compare with the expected (id -> bank\nitem) map. */
static void check_export(sb_box *box, const char *ledger, const t_map *want)
{
	export_acc acc = { .calls = 0 };
	t_map_init(&acc.seen);
	CHECK_RC(box, sb_box_export(box, ledger, export_cb, &acc), SB_OK);
	CHECKF(box, acc.dups == 0, "%d ids exported twice", acc.dups);
	CHECKF(box, acc.seen.n == want->n, "exported %zu entries, want %zu",
	       acc.seen.n, want->n);
	for (size_t i = 0; i < want->cap; i++) {
		if (!want->keys[i])
			continue;
		const char *got = t_map_get(&acc.seen, want->keys[i]);
		CHECKF(box, got && strcmp(got, want->vals[i]) == 0,
		       "id '%s' exported as '%s', want '%s'", want->keys[i],
		       got ? got : "(missing)", want->vals[i]);
	}
	t_map_free(&acc.seen);
}

void case_export(void)
{
	sb_box *box = conf_open();
	if (!box)
		return;
	char *b1 = conf_name("export-a");
	char *b2 = conf_name("export \"b\", 'q'");
	char *ledger = conf_name("export-ledger");
	const char *i1[] = { "plain", "with,comma", "with \"quote\"",
		             "  spaced  ", "tab\there" };
	const char *i2[] = { "x;y", "{tag}", "é漢字😀" };
	conf_add(box, b1, i1, 5, 5, 0);
	conf_add(box, b2, i2, 3, 3, 0);

	/* Empty ledger first: no calls. */
	t_map want;
	t_map_init(&want);
	check_export(box, ledger, &want);

	const char *ids[] = { "id,1", "id \"2\"", "  id 3", "id\t4", "é5" };
	for (int i = 0; i < 5; i++) {
		const char *bank = i < 3 ? b1 : b2;
		char *got_bank = NULL;
		char *v = conf_fetch_ok(box, bank, ledger, ids[i], NULL,
		                        &got_bank);
		if (v && got_bank) {
			char *e = t_xasprintf("%s\n%s", got_bank, v);
			t_map_put(&want, ids[i], e);
			free(e);
		}
		free(v);
		free(got_bank);
	}
	/* Repeats and an empty answer add nothing. */
	char *v = conf_fetch_ok(box, b1, ledger, ids[0], NULL, NULL);
	free(v);
	CHECK(box, want.n == 5);
	check_export(box, ledger, &want);

	/* A non-zero callback return stops the export and is returned. */
	export_acc acc = { .stop_after = 2 };
	t_map_init(&acc.seen);
	CHECK_RC(box, sb_box_export(box, ledger, export_cb, &acc), 7);
	CHECK(box, acc.calls == 2);
	t_map_free(&acc.seen);

	/* Another ledger on the same banks is separate. */
	char *ledger2 = conf_name("export-ledger2");
	t_map want2;
	t_map_init(&want2);
	char *got_bank = NULL;
	v = conf_fetch_ok(box, b1, ledger2, ids[0], NULL, &got_bank);
	if (v && got_bank) {
		char *e = t_xasprintf("%s\n%s", got_bank, v);
		t_map_put(&want2, ids[0], e);
		free(e);
		/* The item ids[0] holds in the first ledger is taken. */
		const char *w = t_map_get(&want, ids[0]);
		const char *witem = w ? strchr(w, '\n') + 1 : NULL;
		CHECKF(box, !witem || strcmp(v, witem) != 0,
		       "item '%s' handed out in two ledgers", v);
	}
	free(v);
	free(got_bank);
	check_export(box, ledger2, &want2);
	check_export(box, ledger, &want);

	t_map_free(&want2);
	t_map_free(&want);
	free(ledger2);
	free(ledger);
	free(b2);
	free(b1);
	sb_box_close(box);
}

/* The strings a backend is most likely to mangle. */
static char **hostile_strings(size_t *n)
{
	static const char *fixed[] = {
		"it's",
		"say \"hi\"",
		"'; DROP TABLE x; --",
		"\"; DROP TABLE items; --",
		"{tag}",
		"}{",
		"]] .. redis.call('FLUSHALL') .. [[",
		"{\"a\":\"\\u0000\"}",
		"100%",
		"%s%n%d",
		"%00",
		"back\\slash\\",
		"  leading and trailing  ",
		"tab\tinside",
		"\t",
		" ",
		"é",
		"漢字",
		"😀",
		"a,b",
		"?lease=1&x=y#frag",
		"$1 :1 @p ?",
		"NULL",
	};
	size_t nf = sizeof fixed / sizeof fixed[0];
	char **v = t_xcalloc(nf + 1, sizeof *v);
	for (size_t i = 0; i < nf; i++)
		v[i] = t_xstrdup(fixed[i]);
	/* A long one, with multi-byte characters across its length. */
	size_t len = conf.long_len ? conf.long_len : 1;
	char *big = t_xmalloc(len + 1);
	size_t k = 0;
	static const char pat[] = "ab'\"{}é";
	while (k < len) {
		size_t take = sizeof pat - 1;
		if (k + take > len) {
			memset(big + k, 'z', len - k);
			k = len;
		} else {
			memcpy(big + k, pat, take);
			k += take;
		}
	}
	big[len] = '\0';
	v[nf] = big;
	*n = nf + 1;
	return v;
}

void case_hostile(void)
{
	sb_box *box = conf_open();
	if (!box)
		return;
	size_t n;
	char **hs = hostile_strings(&n);
	for (size_t i = 0; i < n; i++) {
		const char *h = hs[i];
		/* Unique per run, hostile all the same: the name ends in h. */
		char *bank = t_xasprintf("%sb%zu%s", conf.prefix, i, h);
		char *ledger = t_xasprintf("%sl%zu%s", conf.prefix, i, h);
		const char *items[] = { h };
		conf_add(box, bank, items, 1, 1, 0);
		conf_add(box, bank, items, 1, 0, 1);

		int is_new = -1;
		char *got_bank = NULL;
		char *v = conf_fetch_ok(box, bank, ledger, h, &is_new,
		                        &got_bank);
		CHECKF(box, v && strcmp(v, h) == 0,
		       "string %zu: item came "
		       "back as '%s'",
		       i, v ? v : "(none)");
		CHECKF(box, got_bank && strcmp(got_bank, bank) == 0,
		       "string %zu: bank came back as '%s'", i,
		       got_bank ? got_bank : "(none)");
		CHECK(box, is_new == 1);
		free(v);
		free(got_bank);

		/* Repeat, lookup, export, stats: the same bytes each time. */
		v = conf_fetch_ok(box, bank, ledger, h, &is_new, NULL);
		CHECKF(box, v && strcmp(v, h) == 0, "string %zu: repeat", i);
		CHECK(box, is_new == 0);
		free(v);
		sb_item *it = NULL;
		CHECK_RC(box, sb_box_lookup(&it, box, ledger, h), SB_OK);
		CHECKF(box,
		       it && strcmp(sb_item_value(it), h) == 0 &&
		               strcmp(sb_item_bank(it), bank) == 0,
		       "string %zu: lookup", i);
		sb_item_free(it);

		t_map want;
		t_map_init(&want);
		char *e = t_xasprintf("%s\n%s", bank, h);
		t_map_put(&want, h, e);
		free(e);
		check_export(box, ledger, &want);
		t_map_free(&want);

		sb_stats st;
		CHECK_RC(box, conf_stats(&st, box, bank, ledger), SB_OK);
		CHECKF(box,
		       st.assigned == 1 && st.held == 1 && st.available == 0,
		       "string %zu: stats", i);
		it = (sb_item *)&it;
		CHECK_RC(box, sb_box_fetch(&it, box, bank, ledger, "another"),
		         SB_EMPTY);
		CHECK_RC(box, sb_box_recover(NULL, box, bank, ledger, NULL),
		         SB_OK);
		free(ledger);
		free(bank);
	}

	/* All of them as items and ids in one bank and ledger: every id gets
	 * its own distinct item, and export gives back every pair. */
	char *bank = conf_name("hostile-all");
	char *ledger = conf_name("hostile-all-ledger");
	conf_add(box, bank, (const char *const *)hs, n, n, 0);
	t_map want, owner;
	t_map_init(&want);
	t_map_init(&owner);
	for (size_t i = 0; i < n; i++) {
		char *v = conf_fetch_ok(box, bank, ledger, hs[i], NULL, NULL);
		if (!v)
			continue;
		int known = 0;
		for (size_t j = 0; j < n; j++)
			known |= strcmp(v, hs[j]) == 0;
		CHECKF(box, known, "item '%s' was never added", v);
		CHECKF(box, t_map_put(&owner, v, hs[i]),
		       "item '%s' handed to two ids", v);
		char *e = t_xasprintf("%s\n%s", bank, v);
		t_map_put(&want, hs[i], e);
		free(e);
		free(v);
	}
	check_export(box, ledger, &want);
	conf_check_conservation(box, bank, n);
	t_map_free(&owner);
	t_map_free(&want);
	free(ledger);
	free(bank);

	for (size_t i = 0; i < n; i++)
		free(hs[i]);
	free(hs);
	sb_box_close(box);
}
