/* Part (a): processes that die at each reachable crash point (fault
 * builds), then recover: the core's points on the generic path, each
 * backend's own in its fused claim, and (walk.c) DynamoDB's points before
 * every request; the helpers here check the laws after each. */
#include "crash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NITEMS   10
#define NVICTIMS 3

/* Fetch that must die (SIGKILL) at @p point and print nothing. */
void fetch_dies(const char *bank, const char *ledger, const char *id,
                const char *point, const char *skip)
{
	const char *args[] = { "fetch", "--", bank, ledger, id, NULL };
	char *out = NULL, *err = NULL;
	int status = cli_run(args, point, skip, NULL, &out, &err);
	CHECKF(NULL, exited_with(status, CRASH_POINT_DEATH) && out[0] == '\0',
	       "fetch %s at %s (skip %s): %s, out '%s', err '%s'", id, point,
	       skip ? skip : "-", status_str(status), out, err);
	free(out);
	free(err);
}

/* Fetch that must succeed; returns the item (caller frees) or NULL. */
char *fetch_ok(const char *bank, const char *ledger, const char *id,
               const char *point, const char *skip)
{
	const char *args[] = { "fetch", "--", bank, ledger, id, NULL };
	char *out = NULL, *err = NULL;
	int status = cli_run(args, point, skip, NULL, &out, &err);
	size_t len = strlen(out);
	int ok = CHECKF(NULL,
	                exited_with(status, 0) && len > 1 &&
	                        out[len - 1] == '\n',
	                "fetch %s (fault %s skip %s): %s, "
	                "out '%s', err '%s'",
	                id, point ? point : "-", skip ? skip : "-",
	                status_str(status), out, err);
	free(err);
	if (!ok) {
		free(out);
		return NULL;
	}
	out[len - 1] = '\0';
	return out;
}

/* Parse "settled N, put back M"; -1 on a failed run. */
int run_recover(const char *bank, const char *ledger, const char *point,
                const char *skip, int want_exit, unsigned long *settled,
                unsigned long *put_back)
{
	const char *args[] = { "recover", "--", bank, ledger, NULL };
	char *out = NULL, *err = NULL;
	int status = cli_run(args, point, skip, NULL, &out, &err);
	int ok = CHECKF(NULL, exited_with(status, want_exit),
	                "recover (fault %s skip %s): %s, want exit %d, err '%s'",
	                point ? point : "-", skip ? skip : "-",
	                status_str(status), want_exit, err);
	if (ok && want_exit == 0)
		ok = CHECKF(NULL,
		            sscanf(out, "settled %lu, put back %lu", settled,
		                   put_back) == 2,
		            "recover printed '%s'", out);
	free(out);
	free(err);
	return ok ? 0 : -1;
}

int check_conservation(const char *bank, const char *ledger, cli_stats *st,
                       const char *when, unsigned nitems)
{
	if (cli_get_stats(st, bank, ledger) != 0)
		return -1;
	return CHECKF(NULL,
	              st->available + st->reserved + st->assigned == nitems,
	              "%s: %llu + %llu + %llu != %u", when, st->available,
	              st->reserved, st->assigned, nitems)
	               ? 0
	               : -1;
}

/* After recover: nothing reserved, the ledger and the bank agree, no item
 * is held twice, every victim (idfmt with k < nvictims) now gets an item,
 * the same one if it holds one. */
void check_recovered_n(const char *bank, const char *ledger, const char *point,
                       unsigned nitems, const char *idfmt, int nvictims)
{
	cli_stats st;
	check_conservation(bank, ledger, &st, point, nitems);
	CHECKF(NULL, st.reserved == 0, "%s: %llu still reserved", point,
	       st.reserved);
	t_map ex;
	t_map_init(&ex);
	cli_get_export(&ex, ledger);
	CHECKF(NULL, st.assigned == ex.n && st.held == ex.n,
	       "%s: assigned %llu held %llu, export %zu", point, st.assigned,
	       st.held, ex.n);
	t_map items;
	t_map_init(&items);
	for (size_t i = 0; i < ex.cap; i++)
		if (ex.keys[i])
			CHECKF(NULL, t_map_put(&items, ex.vals[i], ex.keys[i]),
			       "%s: %s held by two ids", point, ex.vals[i]);
	for (int k = 0; k < nvictims; k++) {
		char id[32];
		snprintf(id, sizeof id, idfmt, k);
		const char *e = t_map_get(&ex, id);
		char *v = fetch_ok(bank, ledger, id, NULL, NULL);
		if (e && v)
			CHECKF(NULL, strcmp(strchr(e, '\n') + 1, v) == 0,
			       "%s: %s holds %s, fetch gave %s", point, id, e,
			       v);
		free(v);
	}
	t_map_free(&items);
	t_map_free(&ex);
	if (cli_get_stats(&st, bank, ledger) == 0)
		CHECKF(NULL, st.reserved == 0,
		       "%s: %llu reserved after the "
		       "victims fetched again",
		       point, st.reserved);
}

static void check_recovered(const char *bank, const char *ledger,
                            const char *point)
{
	check_recovered_n(bank, ledger, point, NITEMS, "victim-%d", NVICTIMS);
}

void setup_bank(const char *bank, const char *point, unsigned nitems)
{
	char *prefix = t_xasprintf("%s-item-", point);
	cli_add_items(bank, prefix, nitems);
	free(prefix);
}

/* A point on the fetch path: three processes die there, then recover.
 * records: a victim's id holds its item; reserves: its item stays
 * reserved; assigns: its item is assigned (the claim committed). */
static void fetch_point(const char *point, int records, int reserves,
                        int assigns)
{
	char *bank = t_xasprintf("%sbank-%s", cenv.prefix, point);
	char *ledger = t_xasprintf("%sledger-%s", cenv.prefix, point);
	setup_bank(bank, point, NITEMS);
	for (int k = 0; k < NVICTIMS; k++) {
		char id[32];
		snprintf(id, sizeof id, "victim-%d", k);
		fetch_dies(bank, ledger, id, point, NULL);
	}
	/* SB_FAULT_SKIP=1: the one pass of this fetch is skipped. */
	char *skipper = fetch_ok(bank, ledger, "skipper", point, "1");
	free(skipper);

	cli_stats st;
	check_conservation(bank, ledger, &st, point, NITEMS);
	CHECKF(NULL,
	       st.reserved == (unsigned long long)(reserves ? NVICTIMS : 0) &&
	               st.assigned ==
	                       (unsigned long long)(assigns ? 1 + NVICTIMS : 1),
	       "%s before recover: reserved %llu assigned %llu", point,
	       st.reserved, st.assigned);
	t_map ex;
	t_map_init(&ex);
	cli_get_export(&ex, ledger);
	CHECKF(NULL, ex.n == (size_t)(1 + (records ? NVICTIMS : 0)),
	       "%s: %zu ledger entries before recover", point, ex.n);
	/* Law 3 while the item is still reserved: the recorded id gets it. */
	const char *e = t_map_get(&ex, "victim-0");
	if (records && e) {
		char *v = fetch_ok(bank, ledger, "victim-0", NULL, NULL);
		CHECKF(NULL, v && strcmp(v, strchr(e, '\n') + 1) == 0,
		       "%s: recorded victim got %s, holds %s", point, v, e);
		free(v);
	}
	t_map_free(&ex);

	unsigned long settled = 99, put_back = 99;
	if (run_recover(bank, ledger, NULL, NULL, 0, &settled, &put_back) == 0)
		CHECKF(NULL, settled + put_back == st.reserved && put_back == 0,
		       "%s: recover settled %lu put back %lu of %llu", point,
		       settled, put_back, st.reserved);
	check_recovered(bank, ledger, point);
	free(ledger);
	free(bank);
}

/* Recovery itself dies after recording a reservation, then runs again. */
static void recover_point(void)
{
	const char *point = "recover_after_record";
	char *bank = t_xasprintf("%sbank-%s", cenv.prefix, point);
	char *ledger = t_xasprintf("%sledger-%s", cenv.prefix, point);
	setup_bank(bank, point, NITEMS);
	for (int k = 0; k < NVICTIMS; k++) {
		char id[32];
		snprintf(id, sizeof id, "victim-%d", k);
		fetch_dies(bank, ledger, id, "after_take", NULL);
	}
	cli_stats st;
	for (int skip = 0; skip < 2; skip++) {
		char sk[8];
		snprintf(sk, sizeof sk, "%d", skip);
		run_recover(bank, ledger, point, sk, CRASH_POINT_DEATH, NULL,
		            NULL);
		check_conservation(bank, ledger, &st, point, NITEMS);
		/* Skip 0 dies after recording the first reservation it
		 * handles; skip 1 settles that one, records a second, dies. */
		CHECKF(NULL,
		       st.reserved == (unsigned long long)(NVICTIMS - skip),
		       "%s skip %d: reserved %llu", point, skip, st.reserved);
		CHECKF(NULL, st.assigned == (unsigned long long)skip,
		       "%s skip %d: assigned %llu", point, skip, st.assigned);
		t_map ex;
		t_map_init(&ex);
		cli_get_export(&ex, ledger);
		/* Which ones it handles first is up to the store. */
		CHECKF(NULL, skip == 0 ? ex.n == 1 : (ex.n == 2 || ex.n == 3),
		       "%s skip %d: %zu entries", point, skip, ex.n);
		t_map_free(&ex);
	}
	unsigned long settled = 99, put_back = 99;
	if (run_recover(bank, ledger, NULL, NULL, 0, &settled, &put_back) == 0)
		CHECKF(NULL, settled == NVICTIMS - 1 && put_back == 0,
		       "recover settled %lu put back %lu", settled, put_back);
	check_recovered(bank, ledger, point);
	free(ledger);
	free(bank);
}

/* A fetch that finds the bank empty rolls forward reservations older
 * than the lease by itself: a dead client's item is not lost until
 * someone runs recover. The lease is each fetching client's: a long one
 * (600 s) where the reservation must count as young, however slow the
 * machine, and a short one (1 s) after a longer sleep where it must count
 * as old. */
static void lease_point(void)
{
	char *saved = cenv.uri;
	char sep = strchr(saved, '?') ? '&' : '?';
	char *young = t_xasprintf("%s%clease=600", saved, sep);
	char *old = t_xasprintf("%s%clease=1", saved, sep);
	cenv.uri = young;
	char *bank = cname("bank-lease"), *ledger = cname("ledger-lease");
	const char *args[] = { "add", "--", bank, "-", NULL };
	char *out = NULL, *err = NULL;
	int status = cli_run(args, NULL, NULL, "only-one\n", &out, &err);
	CHECKF(NULL, exited_with(status, 0), "add: %s: %s", status_str(status),
	       err);
	free(out);
	free(err);
	fetch_dies(bank, ledger, "dead", "after_take", NULL);

	/* Within the lease the reservation may be a live client's. */
	const char *f1[] = { "fetch", "--", bank, ledger, "early", NULL };
	status = cli_run(f1, NULL, NULL, NULL, &out, &err);
	CHECKF(NULL, exited_with(status, 3) && out[0] == '\0',
	       "fetch within the lease: %s '%s' %s", status_str(status), out,
	       err);
	free(out);
	free(err);
	cli_stats st;
	if (cli_get_stats(&st, bank, ledger) == 0)
		CHECKF(NULL, st.reserved == 1 && st.assigned == 0,
		       "within the lease: reserved %llu assigned %llu",
		       st.reserved, st.assigned);

	usleep(1300 * 1000);
	/* Past the lease: rolled forward to the dead client's id, so this
	 * new id is told empty, and nothing stays reserved. */
	cenv.uri = old;
	const char *f2[] = { "fetch", "--", bank, ledger, "late", NULL };
	status = cli_run(f2, NULL, NULL, NULL, &out, &err);
	CHECKF(NULL, exited_with(status, 3), "fetch past the lease: %s '%s' %s",
	       status_str(status), out, err);
	free(out);
	free(err);
	if (cli_get_stats(&st, bank, ledger) == 0)
		CHECKF(NULL,
		       st.reserved == 0 && st.assigned == 1 && st.held == 1,
		       "past the lease: reserved %llu assigned %llu held %llu",
		       st.reserved, st.assigned, st.held);
	char *v = fetch_ok(bank, ledger, "dead", NULL, NULL);
	CHECKF(NULL, v && strcmp(v, "only-one") == 0, "dead id holds '%s'", v);
	free(v);
	cenv.uri = saved;
	free(young);
	free(old);
	free(bank);
	free(ledger);
}

/* Recover leaves alone what it was not asked for: reservations of
 * another ledger (counted as foreign) and ones younger than --min-age. */
static void recover_filters(void)
{
	char *bank = cname("bank-filters");
	char *la = cname("ledger-a"), *lb = cname("ledger-b");
	setup_bank(bank, "filters", NITEMS);
	fetch_dies(bank, la, "victim-a", "after_take", NULL);
	const char *args[] = { "recover", "--", bank, lb, NULL };
	char *out = NULL, *err = NULL;
	int status = cli_run(args, NULL, NULL, NULL, &out, &err);
	CHECKF(NULL,
	       exited_with(status, 0) &&
	               strcmp(out, "settled 0, put back 0, foreign 1\n") == 0,
	       "recover of another ledger: %s '%s' %s", status_str(status), out,
	       err);
	free(out);
	free(err);
	const char *young[] = { "recover", "--min-age", "600", "--",
		                bank,      la,          NULL };
	status = cli_run(young, NULL, NULL, NULL, &out, &err);
	CHECKF(NULL,
	       exited_with(status, 0) &&
	               strcmp(out, "settled 0, put back 0\n") == 0,
	       "recover --min-age 600: %s '%s' %s", status_str(status), out,
	       err);
	free(out);
	free(err);
	cli_stats st;
	if (cli_get_stats(&st, bank, la) == 0)
		CHECKF(NULL, st.reserved == 1 && st.held == 0,
		       "left alone: reserved %llu held %llu", st.reserved,
		       st.held);
	unsigned long settled = 0, put_back = 0;
	if (run_recover(bank, la, NULL, NULL, 0, &settled, &put_back) == 0)
		CHECKF(NULL, settled == 1 && put_back == 0,
		       "recover of its ledger: settled %lu put back %lu",
		       settled, put_back);
	if (cli_get_stats(&st, bank, la) == 0)
		CHECKF(NULL,
		       st.reserved == 0 && st.assigned == 1 && st.held == 1,
		       "recovered: reserved %llu assigned %llu held %llu",
		       st.reserved, st.assigned, st.held);
	char *v = fetch_ok(bank, lb, "victim-a", NULL, NULL);
	free(v); /* another ledger: a new item */
	if (cli_get_stats(&st, bank, lb) == 0)
		CHECKF(NULL, st.assigned == 2 && st.held == 1,
		       "two ledgers: assigned %llu held %llu", st.assigned,
		       st.held);
	free(bank);
	free(la);
	free(lb);
}

/* The fused path never passes a generic-path point. */
static void fused_skips_generic_points(void)
{
	char *bank = cname("bank-fused-generic-points");
	char *ledger = cname("ledger-fgp");
	setup_bank(bank, "fgp", NITEMS);
	const char *gp[] = { "after_take", "after_record", "before_put_back" };
	for (size_t i = 0; i < 3; i++) {
		char id[32];
		snprintf(id, sizeof id, "victim-%zu", i);
		char *v = fetch_ok(bank, ledger, id, gp[i], NULL);
		free(v);
	}
	cli_stats st;
	if (cli_get_stats(&st, bank, ledger) == 0)
		CHECKF(NULL,
		       st.reserved == 0 && st.assigned == 3 && st.held == 3,
		       "fused: reserved %llu assigned %llu held %llu",
		       st.reserved, st.assigned, st.held);
	free(ledger);
	free(bank);
}

static int is(const char *backend)
{
	return strcmp(cenv.backend, backend) == 0;
}

void crash_points(void)
{
	if (cenv.generic) {
		fetch_point("after_take", 0, 1, 0);
		fetch_point("after_record", 1, 1, 0);
		recover_point();
		lease_point();
		recover_filters();
		/* before_put_back: twins forced into the losing order by
		 * fault barriers; on SQLite also across two stores. */
		crash_race();
		if (is("sqlite"))
			crash_staged();
	} else if (is("sqlite")) {
		/* Dies before commit: nothing happened. After the commit:
		 * the id holds its item, nothing reserved. */
		fetch_point("sqlite_claim_before_commit", 0, 0, 0);
		fetch_point("sqlite_claim_after_commit", 1, 0, 1);
	} else if (is("postgresql")) {
		fetch_point("postgresql_claim_before_send", 0, 0, 0);
		fetch_point("postgresql_claim_after_commit", 1, 0, 1);
	} else if (is("redis")) {
		fetch_point("redis_claim_after_reply", 1, 0, 1);
	} else if (is("dynamodb")) {
		fetch_point("dynamodb_claim_after_commit", 1, 0, 1);
	}
	/* DynamoDB's retry points fire before every request (both paths). */
	if (is("dynamodb")) {
		crash_walk("dynamodb_throttle");
		crash_walk("dynamodb_transaction_conflict");
	}
	if (!cenv.generic)
		fused_skips_generic_points();
}
