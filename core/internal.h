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
	int64_t expires_ms; /* 0: for good */
};

struct sb_box {
	sb_store *bank_store;   /* where banks live */
	sb_store *ledger_store; /* == bank_store when one URI serves both */
	const char *bank_scheme,
		*ledger_scheme; /* their backends, for messages */
	sb_protocol protocol;
	int64_t lease_ms; /* reservations older than this are stale */
	/* Set by a claim's recovery pass (reclaim.c): live holds of other
	 * ids whose id holds another item, that is losing twins about to
	 * give their item back; the claim then looks again. */
	unsigned int losers;
	/* Set by the same pass (recover.c): reservations it listed and left
	 * alone (another pass took them over, or they ended while it
	 * looked): something was in flight, so the claim looks again. */
	unsigned int in_flight;
	/* A reservation that a recovery pass of this box took over (its
	 * stamp on it) and could not finish: a step failed, most often with
	 * no answer. Every other pass leaves it alone for SB_TAKEOVER_MS, so
	 * the box's next pass or claim finishes it (recover.c). */
	struct sb_taken *taken;
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
 * own_token (NULL: none): a twin request for the same id still in flight.
 * Then sb__reclaim() (holds), with @p all_held. */
int sb__recover(sb_recover_result *out, sb_box *box, const char *bank,
                const char *ledger, int64_t min_age_ms, const char *own_token,
                int all_held);
/* Only the id's own: roll forward the reservations that hold
 * @p own_token, then (sb__reclaim_twins) its live holds on the generic
 * path: a claim's last look before it answers "empty". */
int sb__recover_twins(sb_recover_result *out, sb_box *box, const char *bank,
                      const char *ledger, const char *own_token);
int sb__reclaim_twins(sb_recover_result *out, sb_box *box, const char *bank,
                      const char *own_token);
/* Finish box->taken, if any (counted in @p out): SB_OK (done, or nothing
 * to do) or the error that keeps it for the next try. */
int sb__resume(sb_recover_result *out, sb_box *box);
void sb__taken_free(sb_box *box);

/* clock.c: move sb_now_ms() by @p ms (tests only: a hold lapses without
 * waiting). Cumulative; thread-safe. */
void sb__clock_shift(int64_t ms);

/* hold.c: whether the box's stores can keep holds (version 2 bank and
 * ledger), and whether the fused slots serve them. */
int sb_holds_ok(const sb_box *box);
int sb_fused_holds(const sb_box *box);
/* Whether the bank keeps release stamps (version 3 move_if), and a new
 * stamp: unique, its time (sb_stamp_ms()) the clock's now, odd when a
 * recovery pass takes a release over (@p recovery), even when a client
 * marks its own release. */
int sb_stamps_ok(const sb_box *box);
int64_t sb_stamp_new(int recovery);
int64_t sb_stamp_ms(int64_t stamp);
/* The checks every hold call starts with: box, names, id, holds support.
 * SB_OK or an error set on the box. */
int sb_hold_args(sb_box *box, const char *ledger, const char *dedup_id);

/* reclaim.c: the generic path's repairs of holds (docs/holds.md), one
 * bank item each, with the token it carries. Counted into @p out. */
int sb__reclaim_item(sb_recover_result *out, sb_box *box, const char *bank,
                     const char *item, const char *token, unsigned int state,
                     int64_t until_ms);
/* Every lapsed hold and every release or reclaim in flight of @p bank made
 * for @p ledger (releases marked less than @p min_age_ms ago left alone); @p all_held: also check live holds against the ledger
 * (settle those whose entry became permanent); @p own_token (NULL: none):
 * record a live hold of that token that has no entry yet (a twin of the
 * caller's request). Fused stores reclaim their lapsed holds in one step
 * first. */
int sb__reclaim(sb_recover_result *out, sb_box *box, const char *bank,
                const char *ledger, int all_held, const char *own_token,
                int64_t min_age_ms);
/* How long a release that a recovery pass took over is left to it by
 * the passes of claims (sb_box_recover takes it over at once). */
#define SB_TAKEOVER_MS 10000
/* How many live holds of other ids a claim about to answer "empty" on the
 * generic path asks the ledger about, the newest first (docs/holds.md
 * "Hold"). */
#define SB_LOSER_HOLDS 64

/* error.c */
int sb_vseterr(sb_box *box, int code, const char *fmt, va_list ap);

/* version.c: libgit2's rule for every versioned struct a caller or a
 * backend hands the core: SB_OK if 1 <= version <= current; else
 * SB_EINVALID (0: never initialised) or SB_ENOTSUPPORTED (newer than this
 * library), with a message naming @p what, into @p box or @p err. */
int sb_version_check(sb_box *box, char *err, size_t errlen, const char *what,
                     unsigned int version, unsigned int current);
/* The vtables of a store that open returned: versions in range and every
 * required slot present. */
int sb_store_check(sb_box *box, const char *scheme, const sb_store *st);

/* slots.c: the core's only calls into a backend. Each runs one slot of the
 * box's bank store (bank slots, claim) or ledger store (ledger slots) and
 * checks its result against the slot's contract (backend.h): SB_OK (the
 * message cleared), an answer the slot may give, or a negative sb_error.
 * Anything else becomes SB_EBACKEND naming the backend and the slot, so a
 * backend's private code never reaches a caller. */
int sb_slot_init(sb_box *box, sb_store *st);
/* The store's upgrade slot: SB_OK when it has none (version 3). */
int sb_slot_upgrade(sb_box *box, sb_store *st);
int sb_slot_add(sb_box *box, uint64_t *added, uint64_t *skipped,
                const char *bank, const char *const *items, size_t n);
int sb_slot_take(sb_box *box, sb_item **out, const char *bank,
                 const char *token, int64_t now_ms);
int sb_slot_settle(sb_box *box, const char *bank, const char *item,
                   const char *token);
int sb_slot_put_back(sb_box *box, const char *bank, const char *item,
                     const char *token);
int sb_slot_bank_count(sb_box *box, sb_bank_counts *out, const char *bank);
int sb_slot_reserved(sb_box *box, const char *bank, int64_t older_than_ms,
                     sb_reservation_cb cb, void *payload);
int sb_slot_bank_create(sb_box *box, const char *bank);
int sb_slot_get(sb_box *box, sb_item **out, const char *ledger,
                const char *dedup_id);
int sb_slot_put_if_absent(sb_box *box, sb_item **existing, const char *ledger,
                          const char *dedup_id, const char *bank,
                          const char *item);
int sb_slot_export(sb_box *box, const char *ledger, sb_ledger_entry_cb cb,
                   void *payload);
int sb_slot_ledger_count(sb_box *box, uint64_t *out, const char *ledger,
                         const char *bank);
int sb_slot_ledger_create(sb_box *box, const char *ledger);
int sb_slot_claim(sb_box *box, sb_item **out, const char *bank,
                  const char *ledger, const char *dedup_id, const char *token,
                  int64_t now_ms);
/* Version 2 slots (holds). */
int sb_slot_take_held(sb_box *box, sb_item **out, const char *bank,
                      const char *token, int64_t until_ms);
int sb_slot_move(sb_box *box, const char *bank, const char *item,
                 const char *token, unsigned int from, unsigned int to,
                 int64_t until_ms);
int sb_slot_list(sb_box *box, const char *bank, unsigned int states,
                 int64_t until_le, sb_bank_item_cb cb, void *payload);
/* Version 3 slot (release stamps). */
int sb_slot_move_if(sb_box *box, const char *bank, const char *item,
                    const char *token, unsigned int from, unsigned int to,
                    int64_t until_ms, int64_t expect_ms);
int sb_slot_put_held(sb_box *box, sb_item **existing, const char *ledger,
                     const char *dedup_id, const char *bank, const char *item,
                     int64_t until_ms);
int sb_slot_update(sb_box *box, sb_item **out, const char *ledger,
                   const char *dedup_id, int64_t until_ms);
int sb_slot_remove(sb_box *box, sb_item **entry, const char *ledger,
                   const char *dedup_id, const char *bank, const char *item,
                   unsigned int mode);
int sb_slot_export_holds(sb_box *box, const char *ledger, sb_export_hold_cb cb,
                         void *payload);
int sb_slot_hold(sb_box *box, sb_item **out, const char *bank,
                 const char *ledger, const char *dedup_id, const char *token,
                 int64_t now_ms, int64_t ttl_ms);
int sb_slot_change(sb_box *box, sb_item **out, const char *ledger,
                   const char *dedup_id, const char *token, unsigned int op,
                   int64_t now_ms, int64_t ttl_ms);
int sb_slot_reclaim(sb_box *box, uint64_t *n, const char *bank, int64_t now_ms);

/* fault.c: in-process hook for unit tests (fault builds only). The hook
 * returns non-zero to make sb_fault_point() report a simulated death. */
typedef int (*sb_fault_hook)(const char *point, void *payload);
void sb__fault_set_hook(sb_fault_hook hook, void *payload);
/* The barrier of sb_fault_point() ($SB_FAULT_WAIT, $SB_FAULT_MARK): the
 * bound of a wait (its exit status is SB_FAULT_BARRIER_EXIT_STATUS, in
 * backend.h). */
#define SB_FAULT_WAIT_DEFAULT_S 120

/* The crash points the core passes through (the fault tests walk them). */
#define SB_FP_AFTER_TAKE   "after_take"   /* reserved, ledger not written */
#define SB_FP_AFTER_RECORD "after_record" /* ledger written, not settled */
#define SB_FP_BEFORE_PUT_BACK \
	"before_put_back" /* lost the race, item still reserved */
#define SB_FP_RECOVER_AFTER_RECORD            "recover_after_record"
/* Holds on the generic path (docs/holds.md names them). */
#define SB_FP_HOLD_AFTER_TAKE                 "hold_after_take"
#define SB_FP_CONFIRM_AFTER_LEDGER            "confirm_after_ledger"
#define SB_FP_EXTEND_AFTER_LEDGER             "extend_after_ledger"
/* An extend to an earlier deadline that moved the bank, before the ledger. */
#define SB_FP_EXTEND_AFTER_BANK               "extend_after_bank"
/* A release that read a live entry, before it marks the item. */
#define SB_FP_RELEASE_AFTER_GET               "release_after_get"
#define SB_FP_RELEASE_AFTER_MARK              "release_after_mark"
#define SB_FP_RELEASE_AFTER_REMOVE            "release_after_remove"
#define SB_FP_RECLAIM_AFTER_MARK              "reclaim_after_mark"
/* A recovery pass that took over a reclaim in flight (its own mark on the
 * item), before it asks the ledger. */
#define SB_FP_RECLAIM_AFTER_TAKEOVER          "reclaim_after_takeover"
/* A recovery pass deciding a lapse: the ledger step done (the entry
 * removed as lapsed, or found live or for good), before the bank step. */
#define SB_FP_RECLAIM_AFTER_LEDGER            "reclaim_after_ledger"
/* A recovery pass that checked (or took over) a release in flight, before
 * its ledger step. */
#define SB_FP_RECOVER_RELEASE_AFTER_CHECK     "recover_release_after_check"
/* A recovery pass that checked (or took over) a reservation, before it
 * records the id. */
#define SB_FP_RECOVER_RESERVATION_AFTER_CHECK "recover_reservation_after_check"
/* A claim that found the bank empty, before each recovery pass, and after
 * the pass, before it asks the bank again. */
#define SB_FP_EMPTY_BEFORE_PASS               "empty_before_pass"
#define SB_FP_EMPTY_BEFORE_RETAKE             "empty_before_retake"

#endif
