/* Conformance suite driver.
 *
 * Environment:
 *   SB_TEST_URI         bank store URI (unset: skip, exit 77; with CI=true
 *                       that is a failure instead)
 *   SB_TEST_LEDGER_URI  optional: ledgers in another store (generic path)
 *   SB_TEST_URI_FROM, SB_TEST_LEDGER_URI_FROM  optional: read the URI
 *                       from the variable they name instead (unset: skip)
 *   SB_TEST_PROTOCOL    fused (default: auto) | generic
 *   SB_TEST_LONG_LEN    length of the long hostile string (default 65536)
 *   SB_TEST_SEED        RNG seed, to replay a run
 *   SB_TEST_PLUGIN, SB_TEST_PLUGIN_INIT  optional: a backend built outside
 *                       the tree, and its registration function (plugin.c)
 * Arguments: optional case names to run only those.
 *
 * Every case uses names made unique per run, so the suite can run again
 * and again against a persistent server. */
#include "conf.h"
#include "plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

conf_env conf;

sb_box *conf_open(void)
{
	return conf_open_as(conf.protocol);
}

sb_box *conf_open_as(sb_protocol protocol)
{
	sb_open_opts o = SB_OPEN_OPTS_INIT;
	char err[SB_ERRMSG_SIZE] = "";
	sb_box *box = NULL;
	o.ledger_uri = conf.ledger_uri;
	o.protocol = protocol;
	int rc = sb_box_open(&box, conf.uri, &o, err, sizeof err);
	if (!CHECKF(NULL, rc == SB_OK && box, "open %s: %d %s", conf.uri, rc,
	            err)) {
		sb_box_close(box);
		return NULL;
	}
	return box;
}

char *conf_name(const char *tag)
{
	static int counter;
	return t_xasprintf("%s%s-%d", conf.prefix, tag,
	                   __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST));
}

int conf_stats(sb_stats *st, sb_box *box, const char *bank, const char *ledger)
{
	memset(st, 0xa5, sizeof *st); /* catch fields left unset */
	return sb_box_stats(st, box, bank, ledger);
}

void conf_check_conservation_(sb_box *box, const char *bank, uint64_t loaded,
                              const char *file, int line)
{
	sb_stats st;
	int rc = conf_stats(&st, box, bank, NULL);
	t_check_rc(box, file, line, "stats", rc, SB_OK);
	if (rc != SB_OK)
		return;
	t_check(st.available + st.reserved + st.assigned + st.on_hold +
	                        st.retired ==
	                loaded,
	        box, file, line,
	        "available + reserved + assigned + on_hold + retired == loaded",
	        "%llu + %llu + %llu + %llu + %llu != %llu",
	        (unsigned long long)st.available,
	        (unsigned long long)st.reserved,
	        (unsigned long long)st.assigned, (unsigned long long)st.on_hold,
	        (unsigned long long)st.retired, (unsigned long long)loaded);
	t_check(st.reserved == 0, box, file, line, "reserved == 0",
	        "reserved %llu with no fetch in flight",
	        (unsigned long long)st.reserved);
	t_check(st.held == 0, box, file, line, "held == 0 without a ledger",
	        "held %llu", (unsigned long long)st.held);
}

void conf_add_(sb_box *box, const char *bank, const char *const *items,
               size_t n, uint64_t want_added, uint64_t want_skipped,
               const char *file, int line)
{
	sb_add_result res = { 99999, 99999 };
	int rc = sb_box_add(&res, box, bank, items, n);
	t_check_rc(box, file, line, "sb_box_add", rc, SB_OK);
	t_check(res.added == want_added && res.skipped == want_skipped, box,
	        file, line, "add counts",
	        "added %llu skipped %llu, want %llu %llu",
	        (unsigned long long)res.added, (unsigned long long)res.skipped,
	        (unsigned long long)want_added,
	        (unsigned long long)want_skipped);
}

char *conf_fetch_ok_(sb_box *box, const char *bank, const char *ledger,
                     const char *id, int *is_new, char **bank_out,
                     const char *file, int line)
{
	sb_item *it = (sb_item *)&it; /* must be overwritten */
	int rc = sb_box_fetch(&it, box, bank, ledger, id);
	if (!t_check_rc(box, file, line, "sb_box_fetch", rc, SB_OK) ||
	    !t_check(it != NULL, box, file, line, "item != NULL", NULL)) {
		if (rc == SB_OK)
			sb_item_free(it);
		return NULL;
	}
	char *v = t_xstrdup(sb_item_value(it));
	if (is_new)
		*is_new = sb_item_is_new(it);
	if (bank_out)
		*bank_out = t_xstrdup(sb_item_bank(it));
	sb_item_free(it);
	return v;
}

typedef struct {
	const char *name;
	void (*fn)(void);
} conf_case;

static const conf_case cases[] = {
	{ "add", case_add },
	{ "fetch", case_fetch },
	{ "sold_out", case_sold_out },
	{ "classes", case_classes },
	{ "readd_issued", case_readd_issued },
	{ "stats", case_stats },
	{ "export", case_export },
	{ "recover", case_recover },
	{ "hostile", case_hostile },
	{ "bad_input", case_bad_input },
	{ "open_errors", case_open_errors },
	{ "concurrency", case_concurrency },
	{ "sellout_reserved", case_sellout_reserved },
	{ "hold_basic", case_hold_basic },
	{ "hold_lapse", case_hold_lapse },
	{ "hold_refetch", case_hold_refetch },
	{ "hold_extend", case_hold_extend },
	{ "hold_release", case_hold_release },
	{ "hold_release_lapsed", case_hold_release_lapsed },
	{ "hold_classes", case_hold_classes },
	{ "hold_export", case_hold_export },
	{ "hold_bad_input", case_hold_bad_input },
	{ "hold_crash", case_hold_crash },
};

static int wanted(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	if (conf_plugin_load() != 0)
		return 1;
	/* SB_TEST_URI_FROM / SB_TEST_LEDGER_URI_FROM name the variables that
	 * hold the URIs (turi.h). A ledger store that is named but unset
	 * skips: running on the bank store alone would not test the mix. */
	conf.uri = t_env_store("SB_TEST_URI", 1);
	conf.ledger_uri = t_env_store("SB_TEST_LEDGER_URI", 0);
	const char *proto = getenv("SB_TEST_PROTOCOL");
	if (!proto || !*proto || strcmp(proto, "fused") == 0 ||
	    strcmp(proto, "auto") == 0) {
		conf.protocol = SB_PROTOCOL_AUTO;
	} else if (strcmp(proto, "generic") == 0) {
		conf.protocol = SB_PROTOCOL_GENERIC;
	} else {
		fprintf(stderr,
		        "SB_TEST_PROTOCOL must be fused or generic, "
		        "not '%s'\n",
		        proto);
		return 1;
	}
	conf.long_len = t_env_size("SB_TEST_LONG_LEN", 65536);
	conf.seed = t_seed();
	conf.prefix = t_xasprintf("c%lx.%ld.%04x.", (long)time(NULL),
	                          (long)getpid(),
	                          (unsigned)(conf.seed & 0xffff));
	char *ru = t_redact_uri(conf.uri);
	char *rl = t_redact_uri(conf.ledger_uri ? conf.ledger_uri : "-");
	printf("conformance: uri=%s ledger_uri=%s protocol=%s seed=%llu "
	       "prefix=%s\n",
	       ru, rl,
	       conf.protocol == SB_PROTOCOL_GENERIC ? "generic" : "auto",
	       (unsigned long long)conf.seed, conf.prefix);
	fflush(stdout);
	free(ru);
	free(rl);

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (!wanted(cases[i].name, argc, argv))
			continue;
		int before = t_failed();
		cases[i].fn();
		printf("%-14s %s\n", cases[i].name,
		       t_failed() == before ? "ok" : "FAILED");
		fflush(stdout);
	}
	free((char *)conf.prefix);
	return t_summary();
}
