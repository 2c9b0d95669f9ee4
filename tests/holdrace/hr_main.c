/* usage: hold_race fused|generic [PART...]
 *
 * The store comes from SB_TEST_URI, or from the variable SB_TEST_URI_FROM
 * names (a server's URI holds its password); unset: skip (77), or fail
 * with CI=true. PARTs: confirm-lapse, extend-reclaim, release-refetch,
 * twins, empty-bounce, stale, mix (default: all). SB_TEST_SEED replays a run's choices (not
 * its timing: every check holds whatever the timing). */
#include "hr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

hr_env hr;

sb_box *hr_open(void)
{
	sb_open_opts o = SB_OPEN_OPTS_INIT;
	char err[SB_ERRMSG_SIZE] = "";
	sb_box *box = NULL;
	int rc;

	o.protocol = hr.protocol;
	rc = sb_box_open(&box, hr.uri, &o, err, sizeof err);
	if (!CHECKF(NULL, rc == SB_OK && box, "open: %s: %s", hr_rc(rc), err)) {
		sb_box_close(box);
		return NULL;
	}
	return box;
}

char *hr_name(const char *tag)
{
	static int counter;
	return t_xasprintf("%s%s-%d", hr.prefix, tag,
	                   __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST));
}

int64_t hr_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void hr_sleep_until_us(int64_t t)
{
	int64_t now;
	while ((now = hr_now_us()) < t) {
		int64_t d = t - now;
		struct timespec ts = { (time_t)(d / 1000000),
			               (long)(d % 1000000) * 1000 };
		nanosleep(&ts, NULL);
	}
}

char *hr_bank(sb_box *box, const char *tag, size_t n)
{
	char *bank = hr_name(tag);
	char **items = t_xcalloc(n, sizeof *items);
	sb_add_result ar = { 0, 0 };
	size_t i;

	for (i = 0; i < n; i++)
		items[i] = t_xasprintf("%s-%zu", tag, i);
	CHECK_RC(box, sb_box_add(&ar, box, bank, (const char *const *)items, n),
	         SB_OK);
	CHECKF(box, ar.added == n && ar.skipped == 0,
	       "add %zu: added %llu skipped %llu", n,
	       (unsigned long long)ar.added, (unsigned long long)ar.skipped);
	for (i = 0; i < n; i++)
		free(items[i]);
	free(items);
	return bank;
}

sb_stats hr_stats(sb_box *box, const char *bank, const char *ledger)
{
	sb_stats st;
	memset(&st, 0, sizeof st);
	CHECK_RC(box, sb_box_stats(&st, box, bank, ledger), SB_OK);
	return st;
}

sb_stats hr_settle(sb_box *box, const char *bank, const char *ledger,
                   uint64_t n, const char *what)
{
	sb_recover_result rr;
	sb_stats st;

	CHECK_RC(box, sb_box_recover(&rr, box, bank, ledger, NULL), SB_OK);
	st = hr_stats(box, bank, NULL);
	CHECKF(box,
	       st.available + st.reserved + st.on_hold + st.assigned +
	                               st.retired ==
	                       n &&
	               st.reserved == 0,
	       "%s: available %llu reserved %llu on_hold %llu assigned %llu "
	       "retired %llu, added %llu",
	       what, (unsigned long long)st.available,
	       (unsigned long long)st.reserved, (unsigned long long)st.on_hold,
	       (unsigned long long)st.assigned, (unsigned long long)st.retired,
	       (unsigned long long)n);
	return st;
}

int hr_lookup(sb_box *box, const char *ledger, const char *id, char **item,
              int64_t *expires)
{
	sb_item *it = NULL;
	int rc = sb_box_lookup(&it, box, ledger, id);

	*item = rc == SB_OK ? t_xstrdup(sb_item_value(it)) : NULL;
	*expires = rc == SB_OK ? sb_item_expires_ms(it) : -1;
	sb_item_free(it);
	return rc;
}

char *hr_hold(sb_box *box, const char *bank, const char *ledger, const char *id,
              int64_t ttl_ms, int64_t *deadline)
{
	sb_item *it = NULL;
	char *item = NULL;

	*deadline = 0;
	if (CHECK_RC(box, sb_box_hold(&it, box, bank, ledger, id, ttl_ms),
	             SB_OK) &&
	    CHECKF(box, sb_item_is_new(it), "a hold of %s was not new", id)) {
		item = t_xstrdup(sb_item_value(it));
		*deadline = sb_item_expires_ms(it);
	}
	sb_item_free(it);
	return item;
}

int hr_same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

const char *hr_rc(int rc)
{
	switch (rc) {
	case SB_OK: return "SB_OK";
	case SB_EMPTY: return "SB_EMPTY";
	case SB_ENOTFOUND: return "SB_ENOTFOUND";
	case SB_EEXPIRED: return "SB_EEXPIRED";
	case SB_ECONFLICT: return "SB_ECONFLICT";
	default: return sb_strerror(rc);
	}
}

static const struct {
	const char *name;
	void (*run)(void);
} parts[] = {
	{ "confirm-lapse", hr_confirm_lapse },
	{ "extend-reclaim", hr_extend_reclaim },
	{ "release-refetch", hr_release_refetch },
	{ "twins", hr_twins },
	{ "empty-bounce", hr_empty_bounce },
	{ "stale", hr_stale },
	{ "mix", hr_mix },
};
#define NPARTS (sizeof parts / sizeof parts[0])

int main(int argc, char **argv)
{
	size_t i;
	int a;

	if (argc < 2 ||
	    (strcmp(argv[1], "fused") && strcmp(argv[1], "generic"))) {
		fprintf(stderr, "usage: %s fused|generic [PART...]\n", argv[0]);
		return 2;
	}
	for (a = 2; a < argc; a++) {
		for (i = 0; i < NPARTS && strcmp(argv[a], parts[i].name); i++)
			;
		if (i == NPARTS) {
			fprintf(stderr, "hold_race: no part '%s'\n", argv[a]);
			return 2;
		}
	}
	hr.uri = t_env_store("SB_TEST_URI", 1);
	hr.mode = argv[1];
	hr.protocol = strcmp(argv[1], "generic") == 0 ? SB_PROTOCOL_GENERIC
	                                              : SB_PROTOCOL_AUTO;
	hr.generic = hr.protocol == SB_PROTOCOL_GENERIC;
	hr.seed = t_seed();
	hr.prefix = t_xasprintf("hr%lx.%ld.%04x.", (long)time(NULL),
	                        (long)getpid(), (unsigned)(hr.seed & 0xffff));
	{
		char *shown = t_redact_uri(hr.uri);
		printf("hold_race %s on %s, seed %llu, names %s*\n", hr.mode,
		       shown, (unsigned long long)hr.seed, hr.prefix);
		free(shown);
	}
	hr_gate_init();
	for (i = 0; i < NPARTS; i++) {
		int want = argc == 2;
		double t0;
		for (a = 2; a < argc; a++)
			want |= strcmp(argv[a], parts[i].name) == 0;
		if (!want)
			continue;
		t0 = t_now_s();
		parts[i].run();
		printf("%s: %.1f s\n", parts[i].name, t_now_s() - t0);
		fflush(stdout);
	}
	free(hr.prefix);
	return t_summary();
}
