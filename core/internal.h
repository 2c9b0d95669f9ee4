/* Core-private declarations: shared by the core files, the CLI and the tests
 * (which link the static library). Not installed. */
#ifndef SB_INTERNAL_H
#define SB_INTERNAL_H

#include "storagebox/backend.h"
#include "sb_config.h"

#include <stdarg.h>

struct sb_item {
	char *value;
	char *bank;
	unsigned int flags;
};

struct sb_box {
	sb_store *bank_store;   /* where banks live */
	sb_store *ledger_store; /* == bank_store when one URI serves both */
	sb_protocol protocol;
	int64_t lease_ms;       /* reservations older than this are stale */
	char errmsg[SB_ERRMSG_SIZE];
};

/* Default lease 0: before answering "empty", a fetch rolls forward every
 * reservation made for its ledger, young or old. Rolling forward is safe
 * while the reserving client still runs (it finds its entry and settles),
 * and it means an item in flight (a crashed client's, or a twin's about to
 * be put back) is never reported sold out. A lease > 0 limits that to
 * older reservations (their own twins excepted). */
#define SB_DEFAULT_LEASE_MS 0

/* uri.c */
int sb_uri_parse(sb_uri **out, const char *text, char *err, size_t errlen);
void sb_uri_free(sb_uri *uri);
/* First option nobody read, or NULL. */
const char *sb_uri_unused(const sb_uri *uri);

/* registry.c: "a, b, c" of every scheme, into buf. */
void sb_backend_names(char *buf, size_t size);

/* validate.c: 0 if @p s is a valid name/id/item, else SB_EINVALID with a
 * message on the box naming @p what ("dedup id", "item 3"). */
int sb_validate(sb_box *box, const char *s, const char *what);
/* Without a box: NULL if fine, else a static reason ("is empty"). */
const char *sb_validate_reason(const char *s, size_t len);

/* claim.c: the reservation token of (ledger, id) and its inverse. The
 * token records the ledger so that recovery rolls a reservation forward
 * into the ledger it was taken for. LF separates: names never hold one. */
char *sb_token_make(const char *ledger, const char *dedup_id);
/* Splits a token in place-free fashion: *ledger_len, and *id points inside
 * token. Returns 0, or -1 if the token is not one of ours. */
int sb_token_split(const char *token, size_t *ledger_len, const char **id);

/* recover.c: roll forward reservations of bank for ledger that are at
 * least min_age_ms old (0: all), and, whatever their age, those holding
 * own_token (NULL: none): a twin request for the same id still in flight. */
int sb__recover(sb_recover_result *out, sb_box *box, const char *bank,
                const char *ledger, int64_t min_age_ms,
                const char *own_token);

/* error.c */
int sb_vseterr(sb_box *box, int code, const char *fmt, va_list ap);
void sb_clearerr(sb_box *box);

/* fault.c: in-process hook for unit tests (fault builds only). The hook
 * returns non-zero to make sb_fault_point() report a simulated death. */
typedef int (*sb_fault_hook)(const char *point, void *payload);
void sb__fault_set_hook(sb_fault_hook hook, void *payload);

/* The crash points the core passes through (the fault tests walk them). */
#define SB_FP_AFTER_TAKE      "after_take"       /* reserved, ledger not written */
#define SB_FP_AFTER_RECORD    "after_record"     /* ledger written, not settled */
#define SB_FP_BEFORE_PUT_BACK "before_put_back"  /* lost the race, item still reserved */
#define SB_FP_RECOVER_AFTER_RECORD "recover_after_record"

#endif
