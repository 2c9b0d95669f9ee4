/* Conformance suite: the same cases for every backend, through the public
 * API only. Parameterized by environment (see main.c). */
#ifndef SB_CONF_H
#define SB_CONF_H

#include "../common/tcommon.h"

typedef struct {
	const char *uri;        /* $SB_TEST_URI: bank store */
	const char *ledger_uri; /* $SB_TEST_LEDGER_URI or NULL */
	sb_protocol protocol;   /* $SB_TEST_PROTOCOL */
	const char *prefix;     /* unique per run: names never collide */
	size_t long_len;        /* length of the long hostile string */
	uint64_t seed;
} conf_env;

extern conf_env conf;

/* Open a box as configured; NULL (and a failed check) on error. */
sb_box *conf_open(void);
/* The same with @p protocol in place of the configured one. */
sb_box *conf_open_as(sb_protocol protocol);
/* A fresh unique name "<prefix><tag>-<n>"; caller frees. */
char *conf_name(const char *tag);

/* Stats of a bank (ledger may be NULL); the rc is checked by the caller. */
int conf_stats(sb_stats *st, sb_box *box, const char *bank, const char *ledger);
/* Check available + reserved + assigned == loaded and reserved == 0 (no
 * fetch is in flight in the cases that call it). */
void conf_check_conservation_(sb_box *box, const char *bank, uint64_t loaded,
                              const char *file, int line);
#define conf_check_conservation(box, bank, loaded) \
	conf_check_conservation_((box), (bank), (loaded), __FILE__, __LINE__)
/* Add items, check SB_OK and the counts. */
void conf_add_(sb_box *box, const char *bank, const char *const *items,
               size_t n, uint64_t want_added, uint64_t want_skipped,
               const char *file, int line);
#define conf_add(box, bank, items, n, added, skipped)                        \
	conf_add_((box), (bank), (items), (n), (added), (skipped), __FILE__, \
	          __LINE__)
/* Fetch and expect SB_OK; returns a copy of the value (caller frees) or
 * NULL after a failed check. *is_new and bank_out (copy) are optional. */
char *conf_fetch_ok_(sb_box *box, const char *bank, const char *ledger,
                     const char *id, int *is_new, char **bank_out,
                     const char *file, int line);
#define conf_fetch_ok(box, bank, ledger, id, is_new, bank_out)              \
	conf_fetch_ok_((box), (bank), (ledger), (id), (is_new), (bank_out), \
	               __FILE__, __LINE__)

/* Cases. */
void case_add(void);
void case_fetch(void);
void case_sold_out(void);
void case_classes(void);
void case_readd_issued(void);
void case_stats(void);
void case_export(void);
void case_recover(void);
void case_hostile(void);
void case_bad_input(void);
void case_open_errors(void);
void case_concurrency(void);
void case_sellout_reserved(void);
void case_hold_basic(void);
void case_hold_lapse(void);
void case_hold_refetch(void);
void case_hold_extend(void);
void case_hold_release(void);
void case_hold_release_lapsed(void);
void case_hold_classes(void);
void case_hold_export(void);
void case_hold_bad_input(void);
void case_hold_crash(void);

#endif
