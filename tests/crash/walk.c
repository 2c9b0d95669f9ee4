/* A backend's points that fire before each request: DynamoDB's
 * dynamodb_throttle (every request) and dynamodb_transaction_conflict
 * (every TransactWriteItems). Named in SB_FAULT_POINT they kill the
 * process there, so SB_FAULT_SKIP=k kills a run just before its (k+1)-th
 * such request: walking k = 0, 1, ... kills a fetch between every two
 * steps of its path (store open, reads, the transaction, settle) until
 * one runs through; then the same for recover. */
#include "crash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WALK_ITEMS 20
#define WALK_MAX   16 /* a fetch makes far fewer requests */

/* One run of ARGS dying at the k-th pass: 1 if it died, 0 if it ran
 * through (exit 0), -1 otherwise (a failed check). */
static int walk_step(const char *const *args, const char *point, int k,
                     const char *what)
{
	char skip[16];
	snprintf(skip, sizeof skip, "%d", k);
	char *out = NULL, *err = NULL;
	int status = cli_run(args, point, skip, NULL, &out, &err);
	int rc = -1;
	if (exited_with(status, CRASH_POINT_DEATH))
		rc = CHECKF(NULL, out[0] == '\0',
		            "%s died at %s #%d but "
		            "printed '%s'",
		            what, point, k, out)
		             ? 1
		             : -1;
	else if (exited_with(status, 0))
		rc = 0;
	else
		CHECKF(NULL, 0, "%s at %s #%d: %s: %s", what, point, k,
		       status_str(status), err);
	free(out);
	free(err);
	return rc;
}

void crash_walk(const char *point)
{
	char *bank = t_xasprintf("%swalk-%s", cenv.prefix, point);
	char *ledger = t_xasprintf("%swalk-ledger-%s", cenv.prefix, point);
	setup_bank(bank, point, WALK_ITEMS);
	cli_stats st;
	int k, rc = 1, fetch_deaths = 0, recover_deaths = 0;
	for (k = 0; k < WALK_MAX && rc == 1; k++) {
		char id[32];
		snprintf(id, sizeof id, "walk-%d", k);
		const char *args[] = { "fetch", "--", bank, ledger, id, NULL };
		if ((rc = walk_step(args, point, k, "fetch")) == 1)
			fetch_deaths++;
		/* At rest after each death: nothing lost, and the fused path
		 * never leaves anything reserved. */
		if (check_conservation(bank, ledger, &st, point, WALK_ITEMS) ==
		            0 &&
		    !cenv.generic)
			CHECKF(NULL, st.reserved == 0,
			       "%s: fused fetch #%d left "
			       "%llu reserved",
			       point, k, st.reserved);
	}
	int nids = k;
	CHECKF(NULL, rc == 0, "%s: fetch #%d still %s", point, k - 1,
	       rc == 1 ? "died (more requests than expected)" : "failed");
	for (k = 0, rc = 1; k < WALK_MAX && rc == 1; k++) {
		const char *args[] = { "recover", "--", bank, ledger, NULL };
		if ((rc = walk_step(args, point, k, "recover")) == 1)
			recover_deaths++;
		check_conservation(bank, ledger, &st, point, WALK_ITEMS);
	}
	CHECKF(NULL, rc == 0, "%s: recover #%d still %s", point, k - 1,
	       rc == 1 ? "died" : "failed");
	printf("walk %s: fetches died before each of %d requests, recover "
	       "before each of %d\n",
	       point, fetch_deaths, recover_deaths);
	/* The point is reached on both paths: a fetch of a new id always
	 * writes through a transaction. */
	CHECKF(NULL, fetch_deaths >= 1, "%s: never reached by a fetch", point);
	unsigned long settled = 0, put_back = 0;
	run_recover(bank, ledger, NULL, NULL, 0, &settled, &put_back);
	check_recovered_n(bank, ledger, point, WALK_ITEMS, "walk-%d", nids);
	free(ledger);
	free(bank);
}
