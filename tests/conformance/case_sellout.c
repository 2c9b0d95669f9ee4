/* Sell-out while a dead client holds a reservation, on the store under
 * test: the fetch that finds the bank empty must still roll the
 * reservation forward before answering (a backend may skip that pass only
 * when nothing is reserved: SB_EMPTY_SETTLED). Dying needs the in-process
 * fault hook, so the case runs in fault builds (-Dfault_injection=true)
 * and says so elsewhere. */
#include "conf.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if SB_FAULT_INJECTION
static int die_after_take(const char *point, void *payload)
{
	int *fired = payload;

	if (*fired || strcmp(point, SB_FP_AFTER_TAKE) != 0)
		return 0;
	*fired = 1;
	return 1;
}

#endif

void case_sellout_reserved(void)
{
#if SB_FAULT_INJECTION
	sb_box *box = conf_open(), *gen = conf_open_as(SB_PROTOCOL_GENERIC);
	char *bank = conf_name("sor"), *ledger = conf_name("sor-ledger");
	const char *items[] = { "sor-first", "sor-second" };
	char *dead_item = NULL, *v;
	sb_item *it = NULL;
	sb_stats st;
	int fired = 0, rc;

	if (!box || !gen)
		goto out;
	conf_add(box, bank, items, 2, 2, 0);
	/* A generic client takes an item and dies before recording it. */
	sb__fault_set_hook(die_after_take, &fired);
	rc = sb_box_fetch(&it, gen, bank, ledger, "dead");
	sb__fault_set_hook(NULL, NULL);
	sb_item_free(it);
	it = NULL;
	CHECKF(gen, fired && rc == SB_ERROR, "died at after_take: %d", rc);
	CHECK_RC(box, conf_stats(&st, box, bank, NULL), SB_OK);
	CHECKF(box, st.reserved == 1 && st.available == 1,
	       "reserved %llu available %llu", (unsigned long long)st.reserved,
	       (unsigned long long)st.available);

	/* The last available item goes to a live client. */
	v = conf_fetch_ok(box, bank, ledger, "alive", NULL, NULL);
	free(v);
	/* Now the bank looks empty, but the dead client's item is only
	 * reserved: this fetch rolls it forward into the dead id. */
	rc = sb_box_fetch(&it, box, bank, ledger, "late-1");
	CHECK_RC(box, rc, SB_EMPTY);
	sb_item_free(it);
	it = NULL;
	CHECK_RC(box, conf_stats(&st, box, bank, NULL), SB_OK);
	CHECKF(box, st.reserved == 0 && st.assigned == 2,
	       "after the empty answer: reserved %llu assigned %llu",
	       (unsigned long long)st.reserved,
	       (unsigned long long)st.assigned);
	rc = sb_box_lookup(&it, box, ledger, "dead");
	CHECK_RC(box, rc, SB_OK);
	if (rc == SB_OK)
		dead_item = t_xstrdup(sb_item_value(it));
	sb_item_free(it);
	it = NULL;
	/* Nothing reserved any more: still empty, and the dead id keeps
	 * its item on a repeat. */
	rc = sb_box_fetch(&it, box, bank, ledger, "late-2");
	CHECK_RC(box, rc, SB_EMPTY);
	sb_item_free(it);
	v = conf_fetch_ok(box, bank, ledger, "dead", NULL, NULL);
	CHECKF(box, v && dead_item && strcmp(v, dead_item) == 0,
	       "dead id: '%s' then '%s'", dead_item ? dead_item : "(none)",
	       v ? v : "(none)");
	free(v);
	conf_check_conservation(box, bank, 2);
out:
	free(dead_item);
	free(bank);
	free(ledger);
	sb_box_close(gen);
	sb_box_close(box);
#else
	printf("    (sellout_reserved needs a fault-injection build: not run)\n");
#endif
}
