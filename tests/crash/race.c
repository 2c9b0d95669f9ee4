/* before_put_back on any store, generic path: twins (processes fetching
 * one id at once, all armed with the point) race; a twin that took an item
 * and then found the id recorded with another one dies before putting its
 * item back. Rounds repeat until one did. Then the dead twins' items are
 * reserved, recovery puts each back, and every twin's id holds the item
 * the survivors were given. (On SQLite crash_staged forces the order with
 * a held lock instead.) */
#include "crash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TWINS 8
#define ROUNDS 12
#define RACE_ITEMS (TWINS * ROUNDS)

/* One round on id twin-R: returns how many twins died; *answer gets the
 * item the others printed (caller frees; NULL after a failed check). */
static int race_round(const char *bank, const char *ledger, int r,
                      char **answer)
{
	char id[32];
	snprintf(id, sizeof id, "twin-%d", r);
	const char *args[] = { "fetch", "--", bank, ledger, id, NULL };
	cli_proc p[TWINS];
	int started = 0, deaths = 0;
	for (int i = 0; i < TWINS; i++)
		if (CHECK(NULL, cli_start(&p[i], args, "before_put_back", NULL,
		                          NULL, i) == 0))
			started++;
	*answer = NULL;
	for (int i = 0; i < started; i++) {
		char *out = NULL, *err = NULL;
		int status = cli_wait(&p[i], &out, &err);
		size_t len = strlen(out);
		if (exited_with(status, CRASH_POINT_DEATH)) {
			deaths++;
			CHECKF(NULL, out[0] == '\0', "%s: a dead twin printed "
			       "'%s'", id, out);
		} else if (CHECKF(NULL, exited_with(status, 0) && len > 1 &&
		                  out[len - 1] == '\n', "%s: twin %d: %s: %s",
		                  id, i, status_str(status), err)) {
			out[len - 1] = '\0';
			if (!*answer)
				*answer = t_xstrdup(out);
			else
				CHECKF(NULL, strcmp(*answer, out) == 0, "%s: twins "
				       "got %s and %s", id, *answer, out);
		}
		free(out);
		free(err);
	}
	/* The winner never passes the point: someone always answers. */
	CHECKF(NULL, *answer != NULL, "%s: no twin answered", id);
	return deaths;
}

void crash_race(void)
{
	char *bank = cname("bank-race"), *ledger = cname("ledger-race");
	char *answer[ROUNDS] = { NULL };
	setup_bank(bank, "race", RACE_ITEMS);
	int deaths = 0, rounds = 0;
	while (rounds < ROUNDS && deaths == 0) {
		deaths += race_round(bank, ledger, rounds, &answer[rounds]);
		rounds++;
	}
	printf("race: %d twins died at before_put_back in %d rounds of %d\n",
	       deaths, rounds, TWINS);
	CHECKF(NULL, deaths > 0, "no twin reached before_put_back in %d "
	       "rounds", rounds);

	/* Each dead twin left the item it took reserved. */
	cli_stats st;
	if (check_conservation(bank, ledger, &st, "race", RACE_ITEMS) == 0)
		CHECKF(NULL, st.reserved == (unsigned long long)deaths &&
		       st.assigned == (unsigned long long)rounds,
		       "race: reserved %llu assigned %llu, want %d and %d",
		       st.reserved, st.assigned, deaths, rounds);
	unsigned long settled = 99, put_back = 99;
	if (run_recover(bank, ledger, NULL, NULL, 0, &settled, &put_back) == 0)
		CHECKF(NULL, settled == 0 && put_back == (unsigned long)deaths,
		       "race: recover settled %lu put back %lu, want 0 and %d",
		       settled, put_back, deaths);
	if (check_conservation(bank, ledger, &st, "race", RACE_ITEMS) == 0)
		CHECKF(NULL, st.reserved == 0 && st.held == (unsigned)rounds &&
		       st.assigned == (unsigned long long)rounds,
		       "race after recover: reserved %llu assigned %llu held "
		       "%llu", st.reserved, st.assigned, st.held);
	/* Every round's id holds what its twins were told. */
	t_map ex;
	t_map_init(&ex);
	cli_get_export(&ex, ledger);
	CHECKF(NULL, ex.n == (size_t)rounds, "race: export has %zu ids", ex.n);
	for (int r = 0; r < rounds; r++) {
		char id[32];
		snprintf(id, sizeof id, "twin-%d", r);
		const char *e = t_map_get(&ex, id);
		char *v = fetch_ok(bank, ledger, id, NULL, NULL);
		CHECKF(NULL, answer[r] && e && v &&
		       strcmp(strchr(e, '\n') + 1, answer[r]) == 0 &&
		       strcmp(v, answer[r]) == 0, "race: %s was told %s, holds "
		       "%s, now gets %s", id, answer[r] ? answer[r] : "-",
		       e ? e : "-", v ? v : "-");
		free(v);
		free(answer[r]);
	}
	t_map_free(&ex);
	free(ledger);
	free(bank);
}
