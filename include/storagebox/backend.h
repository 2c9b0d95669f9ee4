/**
 * @file backend.h
 * @brief The contract between the storagebox core and a storage backend.
 *
 * Users never need this header. A backend supplies one `const sb_backend`
 * (scheme + open) and, per opened store, three constant vtables: store
 * lifecycle (with an optional fused claim), the bank (item repository) and
 * the ledger (deduplication repository). The core runs the claim protocol
 * on top of them (README "How the protocol works").
 *
 * Rules for every slot
 * - Return SB_OK, one of the answers its comment lists (SB_EMPTY,
 *   SB_ENOTFOUND, SB_ECONFLICT ...: normal outcomes, a message is
 *   optional), or a negative sb_error after calling sb_seterr(st->box, ...)
 *   with a message that says what failed and where, and never contains a
 *   password or secret (the core writes a generic one if there is none).
 *   The core checks every result at the boundary: anything else (a private
 *   code, an answer the slot may not give, SB_OK without the item) reaches
 *   the caller as SB_EBACKEND naming the backend and the slot. After SB_OK
 *   the core clears the box's message, so a backend that recovered from a
 *   failure inside a slot need not.
 * - Strings given to a slot are lent for the call and have been validated
 *   by the core (UTF-8, no NUL/CR/LF, 1..SB_MAX_VALUE_LEN bytes), except
 *   the reservation token: the core builds it as ledger, LF, id (so up to
 *   2 * SB_MAX_VALUE_LEN + 1 bytes), and a backend stores it and gives it
 *   back (sb_bank_ops.reserved) byte for byte: recovery reads the ledger
 *   and the id out of it.
 * - Output parameters (`*out`, `*existing`, `*added`, ...) are set to
 *   NULL or 0 by the core before each call; a slot sets them only on the
 *   results its comment names. Items returned through `sb_item **out` are
 *   made with sb_item_new(); the core owns them afterwards.
 * - A store is used by one thread at a time (the box's), but boxes on many
 *   threads open, use and close stores of one backend at the same time
 *   (open and close too: guard any state shared between stores), and many
 *   stores, in many processes, work on the same data concurrently: every
 *   slot that writes must be atomic on the server.
 * - Every struct here starts with `version`, set to its own *_VERSION
 *   macro of the header the backend was built with. Structs only grow at
 *   the end; the core accepts 1 <= version <= the version it knows
 *   (libgit2's rule) and reads a slot only if the struct's version has it,
 *   so a backend built against an older header keeps working. A newer
 *   version than the library knows fails sb_backend_register() or the
 *   open with SB_ENOTSUPPORTED. Optional slots may be NULL.
 * - Thread-safety: the functions declared here may be called from any
 *   thread, each on its own box (sb_seterr() and sb_clearerr() write the
 *   box's message: one thread per box, as for every sb_box call).
 * - A backend outside the library (examples/backend/ is one, built against
 *   the installed headers and `pkg-config storagebox`) registers with
 *   sb_backend_register() before its scheme is first opened. A program
 *   that links storagebox statically and dlopen()s such a backend must
 *   export its own symbols (-rdynamic), or the backend registers in a
 *   second copy of the library.
 */
#ifndef STORAGEBOX_BACKEND_H
#define STORAGEBOX_BACKEND_H

#include "storagebox.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Versions of the structs of this header (see "Rules" above). */
#define SB_BACKEND_VERSION    1 /**< sb_backend */
#define SB_STORE_OPS_VERSION  3 /**< sb_store_ops (2: holds, 3: upgrade) */
#define SB_BANK_OPS_VERSION   3 /**< sb_bank_ops (2: holds, 3: stamps) */
#define SB_LEDGER_OPS_VERSION 2 /**< sb_ledger_ops (2: holds) */

/** One `key=value` of a URI query string, percent-decoded. */
typedef struct {
	char *key;
	char *value;
	int used; /**< set by sb_uri_param(); leftovers are reported as unknown */
} sb_uri_param_t;

/**
 * A URI parsed once by the core: `scheme:[//[user[:password]@]host[:port]]
 * path[?query]`. Every part is percent-decoded; absent parts are NULL
 * (port: 0). Backends read it and never reparse `text`.
 */
typedef struct sb_uri {
	char *scheme; /**< lower-cased, e.g. "sqlite" */
	char *user;
	char *password; /**< never put it in a message */
	char *host;
	int port;
	int has_authority; /**< 1 if the URI had `//` */
	char *path;        /**< may be "" */
	sb_uri_param_t *params;
	size_t nparams;
	char *text;     /**< the URI as given (may hold a password) */
	char *redacted; /**< the URI with any password replaced by "***":
	                         the only form fit for a message */
} sb_uri;

/**
 * Value of query option @p key (the last one if repeated), or NULL. Marks
 * the option as used: after open, the core reports every unused option as
 * an unknown option. Pass a key even when only checking presence.
 */
SB_EXTERN(const char *) sb_uri_param(sb_uri *uri, const char *key);

/**
 * Query option @p key as a whole number in [@p lo, @p hi] (@p lo >= 0;
 * decimal digits only, no sign) into *out. Absent: SB_OK, *out unchanged.
 * Anything else: SB_EURI on @p box, the message naming the scheme, the
 * option, @p what (e.g. "a number of milliseconds (0: no limit)"; NULL:
 * "a whole number") and the range. Marks the option used, as
 * sb_uri_param() does. Thread-safety: as sb_seterr() on @p box.
 */
SB_EXTERN(int)
sb_uri_param_num(sb_box *box, sb_uri *uri, const char *key, const char *what,
                 long long lo, long long hi, long long *out);

/**
 * The first query option nobody has read with sb_uri_param() yet, or NULL.
 * The core reports it as an unknown option after open returns; a backend
 * calls it before connecting so that a typo fails fast, without a network
 * wait. Lent: lives as long as @p uri.
 */
SB_EXTERN(const char *) sb_uri_unused(const sb_uri *uri);

/** Every bank operation needs a store. Embed first in a backend's struct. */
typedef struct sb_store sb_store;

/** A reservation listed by sb_bank_ops.reserved(). Strings are lent. */
typedef int (*sb_reservation_cb)(const char *item, const char *token,
                                 int64_t since_ms, void *payload);

/** Counts of one bank as the bank sees them (sb_stats without `held`).
 *  Version 1 banks fill the first three only. */
typedef struct {
	uint64_t available, reserved, assigned;
	uint64_t on_hold; /**< SB_STATE_HELD and SB_STATE_RECLAIMING */
	uint64_t retired; /**< SB_STATE_RETIRED */
	/* SB_STATE_RESTOCKING and SB_STATE_RETIRING count as reserved: in
	 * flight, and recovery finishes them. */
} sb_bank_counts;

/**
 * States of an item in a bank (a bit each, so that a slot can take a set).
 * Every state but AVAILABLE and RETIRED carries the token of the id the
 * item is (or was being) handed to. Version 1 banks know the first three.
 * README "Holds" draws the machine; in short:
 *   AVAILABLE -take-> RESERVED -settle-> ASSIGNED      (fetch, generic)
 *   AVAILABLE -take_held-> HELD(until) -move-> ASSIGNED (hold, confirm)
 *   HELD/ASSIGNED -> RESTOCKING or RETIRING -> AVAILABLE or RETIRED
 *                                                       (release)
 *   HELD -> RECLAIMING -> AVAILABLE, or back to HELD or ASSIGNED when the
 *                         ledger says the hold is still live (lapse)
 */
#define SB_STATE_AVAILABLE  (1u << 0)
#define SB_STATE_RESERVED   (1u << 1) /**< generic fetch in flight */
#define SB_STATE_ASSIGNED   (1u << 2) /**< for good */
#define SB_STATE_HELD       (1u << 3) /**< until a deadline */
#define SB_STATE_RETIRED    (1u << 4) /**< never handed out again */
#define SB_STATE_RESTOCKING (1u << 5) /**< release in flight, -> AVAILABLE */
#define SB_STATE_RETIRING   (1u << 6) /**< release in flight, -> RETIRED */
#define SB_STATE_RECLAIMING (1u << 7) /**< lapse reclaim in flight */

/** An item listed by sb_bank_ops.list(). Strings are lent. @p ms is the
 *  deadline of a HELD item; of a RECLAIMING one, the value the last move
 *  gave it (the core stores the deadline there, or with move_if, version
 *  3, the mark of the recovery pass deciding it: the bank keeps it as it
 *  keeps a deadline, opaque); the stamp of a RESTOCKING or RETIRING one
 *  in a bank with move_if, else 0. */
typedef int (*sb_bank_item_cb)(const char *item, const char *token,
                               unsigned int state, int64_t ms, void *payload);

/**
 * Bank (item repository). An item is in exactly one state (SB_STATE_*).
 * Items are never deleted, so re-adding an item that was handed out,
 * released or retired is detected (law 6), unless the backend documents
 * otherwise.
 */
typedef struct sb_bank_ops {
	unsigned int version; /**< SB_BANK_OPS_VERSION */

	/** Most items one add() call takes (0: no limit). The core splits a
	 *  larger sb_box_add() batch into calls of at most this many. */
	size_t add_max;

	/** Required. Add @p n items (1 <= n <= add_max) as available; count
	 *  the ones the bank already holds in any state (and repeats inside
	 *  the batch) in @p skipped. Creates the bank if missing. All or
	 *  nothing. */
	int (*add)(uint64_t *added, uint64_t *skipped, sb_store *st,
	           const char *bank, const char *const *items, size_t n);

	/** Required. Atomically move one available item to reserved(token,
	 *  now_ms) and return it. @return SB_OK, SB_EMPTY (none available),
	 *  SB_ENOTFOUND (the bank does not exist). */
	int (*take)(sb_item **out, sb_store *st, const char *bank,
	            const char *token, int64_t now_ms);

	/** Required. reserved(token) -> assigned(token). Idempotent: SB_OK if
	 *  already assigned with this token. SB_ECONFLICT if the item is in any
	 *  other state, held by another token, or not in the bank (nothing
	 *  changes). */
	int (*settle)(sb_store *st, const char *bank, const char *item,
	              const char *token);

	/** Required. reserved(token) -> available. SB_OK if done, SB_ECONFLICT
	 *  if the item is not reserved with this token (nothing changes: a
	 *  racing recovery already handled it, which the core accepts). */
	int (*put_back)(sb_store *st, const char *bank, const char *item,
	                const char *token);

	/** Required. Counts. SB_ENOTFOUND if the bank does not exist. */
	int (*count)(sb_bank_counts *out, sb_store *st, const char *bank);

	/** Required. Call @p cb for reservations with since_ms <= @p
	 *  older_than_ms (INT64_MAX: all). A non-zero return from cb stops and
	 *  is returned. The callback must not call back into the store: the
	 *  core copies what it needs. SB_ENOTFOUND if the bank does not exist. */
	int (*reserved)(sb_store *st, const char *bank, int64_t older_than_ms,
	                sb_reservation_cb cb, void *payload);

	/** Required. Create the bank (empty) if missing. */
	int (*create)(sb_store *st, const char *bank);

	/* Version 2: holds. Required from version 2 on. A version 2 bank
	 * also fills sb_bank_counts.on_hold and .retired, never takes or
	 * counts as available an item in any other state, and skips items
	 * of every state in add(). */

	/** As take(), but the item goes straight to HELD(token, @p until_ms)
	 *  (milliseconds since the epoch, given by the core). @return SB_OK,
	 *  SB_EMPTY, SB_ENOTFOUND. */
	int (*take_held)(sb_item **out, sb_store *st, const char *bank,
	                 const char *token, int64_t until_ms);

	/**
	 * If @p item is in one of the states of the set @p from with this
	 * token, move it to the state @p to (one bit), all in one atomic
	 * step: the token stays, except that AVAILABLE and RETIRED drop it;
	 * the deadline becomes @p until_ms for HELD and RECLAIMING (kept when
	 * @p until_ms is 0), else 0. An item already in @p to with this token
	 * (HELD, ASSIGNED, RESTOCKING, RETIRING, RECLAIMING) is moved too
	 * (SB_OK: the deadline is updated). Otherwise SB_ECONFLICT and
	 * nothing changes (in another state, another token, not in the bank).
	 */
	int (*move)(sb_store *st, const char *bank, const char *item,
	            const char *token, unsigned int from, unsigned int to,
	            int64_t until_ms);

	/**
	 * Call @p cb for the items of @p bank in the states of @p states
	 * (a set of HELD, RESTOCKING, RETIRING, RECLAIMING), HELD ones only
	 * when their deadline is <= @p until_le (INT64_MAX: all). Non-zero
	 * from cb stops and is returned; cb must not call back into the
	 * store. SB_ENOTFOUND if the bank does not exist.
	 */
	int (*list)(sb_store *st, const char *bank, unsigned int states,
	            int64_t until_le, sb_bank_item_cb cb, void *payload);

	/* Version 3: stamps. Optional (NULL: the core keeps the version 2
	 * order, whose recovery can act on a listing that went stale;
	 * docs/holds.md "Stamps"). A bank that offers move_if also keeps a
	 * *stamp* on RESERVED, RESTOCKING and RETIRING items: move() (and
	 * move_if()) into RESTOCKING or RETIRING stores @p until_ms as the
	 * item's stamp (0: none), into RESERVED too but keeps the stamp when
	 * @p until_ms is 0 (and sets `since` to now: reserved() then reports
	 * when the stamp was set); take() makes a reservation with stamp 0,
	 * and settle() settles only a reservation with stamp 0 (one that a
	 * recovery pass took over is that pass's to settle, with move_if;
	 * SB_ECONFLICT);
	 * list() reports the stamp as @p ms for RESTOCKING and RETIRING. The
	 * core makes each stamp unique, so a stamp tells one release (or
	 * one recovery pass that took a reservation or a release over) from
	 * the next of the same item by the same id. */

	/**
	 * As move(), only if the item is in a state that has a stamp (the
	 * deadline of a HELD or RECLAIMING item, the stamp of a RESERVED,
	 * RESTOCKING or RETIRING one) and it is @p expect_ms. SB_ECONFLICT
	 * otherwise, and nothing changes. One atomic step, as move().
	 */
	int (*move_if)(sb_store *st, const char *bank, const char *item,
	               const char *token, unsigned int from, unsigned int to,
	               int64_t until_ms, int64_t expect_ms);
} sb_bank_ops;

/** Callback of sb_ledger_ops.export(); same contract as sb_export_cb. */
typedef sb_export_cb sb_ledger_entry_cb;

/**
 * Ledger (deduplication repository): ledger name + id -> (bank, item,
 * deadline). Version 1: written once, never changed, no deadline. Version
 * 2: an entry is for good (deadline 0) or a hold; a hold *lapses* when
 * this store's clock reaches its deadline (the server's clock where the
 * store has one, else sb_now_ms()); a lapsed entry counts as absent for
 * every slot below except get().
 */
typedef struct sb_ledger_ops {
	unsigned int version; /**< SB_LEDGER_OPS_VERSION */

	/** Required. The entry of an id (item made with flags 0; version 2:
	 *  its deadline set with sb_item_set_expires(), and SB_ITEM_LAPSED
	 *  added when it has lapsed). @return SB_OK or SB_ENOTFOUND. */
	int (*get)(sb_item **out, sb_store *st, const char *ledger,
	           const char *dedup_id);

	/** Required. Record (bank, item) for the id unless it has an entry.
	 *  @return SB_OK if stored now or if the entry is already exactly this
	 *  (bank, item) (*existing stays NULL); SB_ECONFLICT with *existing set
	 *  to the entry if the id holds another item. Atomic: of two racing
	 *  writers exactly one entry wins. */
	int (*put_if_absent)(sb_item **existing, sb_store *st,
	                     const char *ledger, const char *dedup_id,
	                     const char *bank, const char *item);

	/** Required. Every entry of a ledger through @p cb (non-zero stops and
	 *  is returned). The callback must not call back into the store. */
	int (*export)(sb_store *st, const char *ledger, sb_ledger_entry_cb cb,
	              void *payload);

	/** Required. Number of ids of @p ledger that hold an item of @p bank
	 *  (0 when the ledger does not exist). */
	int (*count)(uint64_t *out, sb_store *st, const char *ledger,
	             const char *bank);

	/** Optional (NULL: nothing to do). Create the ledger if the store
	 *  keeps ledgers as objects. */
	int (*create)(sb_store *st, const char *ledger);

	/* Version 2: holds. Required from version 2 on. In a version 2
	 * ledger, export() lists entries for good only, count() counts
	 * entries for good and live holds, and put_if_absent() replaces a
	 * lapsed entry. Deadlines come from the core (milliseconds since the
	 * epoch); whether one has passed is this store's call. */

	/** put_if_absent() of a hold until @p until_ms (> 0). SB_OK if stored
	 *  now; SB_ECONFLICT with *existing (deadline set) if the id holds an
	 *  entry that has not lapsed, even of this (bank, item). */
	int (*put_held)(sb_item **existing, sb_store *st, const char *ledger,
	                const char *dedup_id, const char *bank,
	                const char *item, int64_t until_ms);

	/** Make the id's live hold permanent (@p until_ms 0), or move its
	 *  deadline to @p until_ms (> 0); an entry for good stays so. *out
	 *  gets the entry as it now is. @return SB_OK, SB_ENOTFOUND (no
	 *  entry), SB_EEXPIRED (the hold lapsed: nothing changes). */
	int (*update)(sb_item **out, sb_store *st, const char *ledger,
	              const char *dedup_id, int64_t until_ms);

	/**
	 * Delete the id's entry if it is (@p bank, @p item) and, by @p mode:
	 * SB_REMOVE_LIVE: has not lapsed (else SB_EEXPIRED, nothing changes);
	 * SB_REMOVE_ANY: in any case; SB_REMOVE_LAPSED: has lapsed (else
	 * SB_ECONFLICT with *entry set, deadline 0 for an entry for good).
	 * @return SB_OK (deleted), SB_ENOTFOUND (no entry of this bank and
	 * item), SB_EEXPIRED or SB_ECONFLICT as above.
	 */
	int (*remove)(sb_item **entry, sb_store *st, const char *ledger,
	              const char *dedup_id, const char *bank, const char *item,
	              unsigned int mode);

	/** Every live hold of a ledger (id, bank, item, deadline). Non-zero
	 *  from cb stops and is returned; cb must not call back into the
	 *  store. */
	int (*export_holds)(sb_store *st, const char *ledger,
	                    sb_export_hold_cb cb, void *payload);
} sb_ledger_ops;

/** Modes of sb_ledger_ops.remove(). */
#define SB_REMOVE_LIVE   0u
#define SB_REMOVE_ANY    1u
#define SB_REMOVE_LAPSED 2u

/**
 * What ops->claim may return instead of SB_EMPTY: the bank has no available
 * item, the id holds nothing, and no item of the bank is reserved, so none
 * can come back. The core then answers SB_EMPTY at once, without the
 * before-empty recovery pass and second claim that SB_EMPTY costs (the
 * crowd that keeps clicking after a sell-out pays one round trip, not
 * three). A backend that cannot tell cheaply returns SB_EMPTY.
 */
#define SB_EMPTY_SETTLED 2

/** Lifecycle of a store and the optional fused claim. */
typedef struct sb_store_ops {
	unsigned int version; /**< SB_STORE_OPS_VERSION */

	/** Required. Create the schema/tables if missing. Idempotent. */
	int (*init)(sb_store *st);

	/** Required. Close connections and free the store (st included). */
	void (*close)(sb_store *st);

	/**
	 * Optional fused claim (bank and ledger both in this store), one
	 * atomic operation, nothing ever reserved: return the id's entry in
	 * @p ledger (any bank; flags 0), else take an available item of @p bank,
	 * mark it assigned(token), record it for the id and return it with
	 * SB_ITEM_NEW. @p token is the one the generic path would use (the core
	 * builds it), so both protocols leave the same state.
	 * @return SB_OK, SB_EMPTY (no entry, no available item), SB_ENOTFOUND
	 *         (no entry and the bank does not exist), or SB_EMPTY_SETTLED
	 *         instead of SB_EMPTY when the same atomic step also saw that
	 *         @p bank has no reservation at all.
	 */
	int (*claim)(sb_item **out, sb_store *st, const char *bank,
	             const char *ledger, const char *dedup_id,
	             const char *token, int64_t now_ms);

	/* Version 2: fused holds. Optional (all three or none), and only
	 * with claim. The core uses hold() for sb_box_fetch() too (@p ttl_ms
	 * 0), so claim() is then only a fallback for version 1 callers. A
	 * version 2 store without them still treats a lapsed entry as absent
	 * in claim(), as hold() does. */

	/**
	 * claim() with a deadline: the new entry and item are held until the
	 * store's now + @p ttl_ms (@p now_ms is the client's clock, for
	 * stores that have none); @p ttl_ms 0: for good, as claim(). An entry
	 * that lapsed counts as absent: in the same atomic step it is deleted
	 * and its item made available. When @p bank has no available item,
	 * the same step reclaims a lapsed hold of @p bank (any ledger: entry
	 * deleted) and hands that item out, so a lapsed hold is never a reason
	 * to answer SB_EMPTY. The item returned carries its deadline
	 * (sb_item_set_expires()). Answers as claim().
	 */
	int (*hold)(sb_item **out, sb_store *st, const char *bank,
	            const char *ledger, const char *dedup_id, const char *token,
	            int64_t now_ms, int64_t ttl_ms);

	/**
	 * One atomic step on the id's entry and its item (token: as claim()).
	 * SB_CHANGE_CONFIRM: a live hold becomes permanent (entry and item
	 * ASSIGNED); SB_CHANGE_EXTEND: deadline = store's now + @p ttl_ms
	 * (entry and item); an entry for good is left as it is for both, SB_OK.
	 * SB_CHANGE_RESTOCK / SB_CHANGE_RETIRE: the entry is deleted and the
	 * item becomes AVAILABLE / RETIRED. *out gets the entry after a
	 * confirm or an extend. A lapsed hold: SB_EEXPIRED, and the same step
	 * reclaims it (entry deleted, item available).
	 * @return SB_OK, SB_ENOTFOUND (no entry), SB_EEXPIRED.
	 */
	int (*change)(sb_item **out, sb_store *st, const char *ledger,
	              const char *dedup_id, const char *token, unsigned int op,
	              int64_t now_ms, int64_t ttl_ms);

	/** Reclaim every lapsed hold of @p bank (entries of any ledger
	 *  deleted, items available), counted in *n. SB_OK or SB_ENOTFOUND. */
	int (*reclaim)(uint64_t *n, sb_store *st, const char *bank,
	               int64_t now_ms);

	/* Version 3. */

	/**
	 * Optional: move data written in an older layout of this backend to
	 * the current one, in place, while other clients work on the store
	 * (sb_box_init_opts() with SB_INIT_UPGRADE). Idempotent. NULL: no
	 * layout change, nothing to do.
	 */
	int (*upgrade)(sb_store *st);
} sb_store_ops;

/** Operations of sb_store_ops.change(). */
#define SB_CHANGE_CONFIRM 1u
#define SB_CHANGE_EXTEND  2u
#define SB_CHANGE_RESTOCK 3u
#define SB_CHANGE_RETIRE  4u

/** Base of every opened store; embed as the first member. */
struct sb_store {
	const sb_store_ops *ops;     /**< required */
	const sb_bank_ops *bank;     /**< NULL if the store keeps no banks */
	const sb_ledger_ops *ledger; /**< NULL if the store keeps no ledgers */
	sb_box *box;                 /**< owner; set by the core before open
	                                  returns; for sb_seterr() */
};

/** A backend: registered under one URI scheme. */
typedef struct sb_backend {
	unsigned int version; /**< SB_BACKEND_VERSION */
	const char *scheme;   /**< lower case, matched exactly, e.g. "sqlite" */
	/**
	 * Open a store. On failure call sb_seterr(box, ...) and return a
	 * negative sb_error; nothing is left allocated. On success set *out
	 * to a store whose ops (and bank and ledger, where present) point to
	 * vtables of a supported version; the core sets (*out)->box = box.
	 * Read options with sb_uri_param(). @p uri is lent for the call:
	 * copy what the store keeps. Called from many threads at once.
	 */
	int (*open)(sb_store **out, sb_uri *uri, sb_box *box);
} sb_backend;

/**
 * Register a backend at run time (before built-in ones when the scheme is
 * the same; the latest registration of a scheme wins). Thread-safe. There
 * is no unregistering: the struct, and the code it points to, must stay
 * for the life of the process (a static const struct is the usual form;
 * a dlopen()ed backend is never dlclose()d).
 * @return SB_OK, SB_EINVALID (NULL, version 0, no open, or a scheme that
 *         is not lower-case letters, digits, '+', '-', '.'),
 *         SB_ENOTSUPPORTED (a newer version than this library knows),
 *         SB_ENOMEM
 */
SB_EXTERN(int) sb_backend_register(const sb_backend *backend);

/** The backend for a scheme (case-insensitive exact match), or NULL.
 *  Thread-safe. */
SB_EXTERN(const sb_backend *) sb_backend_find(const char *scheme);

/** Set the box's error message (printf format) and return @p code. A NULL
 *  box is fine (nothing is written). */
SB_EXTERN(int)
sb_seterr(sb_box *box, int code, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

/** Empty the box's error message (a NULL box is fine). */
SB_EXTERN(void) sb_clearerr(sb_box *box);

/** sb_item flag: assigned by this call. */
#define SB_ITEM_NEW    1u
/** sb_item flag (ledger get only): the entry is a hold that has lapsed by
 *  the ledger store's clock. */
#define SB_ITEM_LAPSED 2u

/** Set an item's deadline (ms since the epoch; 0: for good). NULL is
 *  fine. */
SB_EXTERN(void) sb_item_set_expires(sb_item *item, int64_t expires_ms);

/**
 * Make an item (the one allocator for items). Copies both strings.
 * @return the item, or NULL when out of memory
 */
SB_EXTERN(sb_item *)
sb_item_new(const char *value, const char *bank, unsigned int flags);

/** sb_item_new() with explicit lengths (strings need not be terminated). */
SB_EXTERN(sb_item *)
sb_item_newn(const char *value, size_t value_len, const char *bank,
             size_t bank_len, unsigned int flags);

/**
 * Fault injection (builds with -Dfault_injection=true; 0 otherwise): a named
 * crash point. When $SB_FAULT_POINT names @p point, the process kills
 * itself with SIGKILL there (after $SB_FAULT_SKIP further passes, default
 * 0; should the signal not end it, it _exit()s with SB_FAULT_EXIT_STATUS).
 * Processes can be put in a fixed order with barriers made of files:
 *  - $SB_FAULT_MARK=POINT:PATH: at each pass of POINT, create PATH;
 *  - $SB_FAULT_WAIT=POINT:PATH: at each pass of POINT, wait until PATH
 *    exists (polling; at most $SB_FAULT_WAIT_S seconds, default 120,
 *    fractions allowed).
 * At one point the mark comes first, then the wait, then the death. A
 * barrier that cannot hold (a wait that times out, a malformed variable,
 * a mark that cannot be made) prints why to stderr (fault builds only:
 * the one place the library prints) and _exit()s with
 * SB_FAULT_BARRIER_EXIT_STATUS, never returns an error a caller could
 * take for a fault.
 * A test hook may instead make it return non-zero, and the caller then
 * returns SB_ERROR as if it had died there; while a hook is set, the
 * variables are not read.
 */
SB_EXTERN(int) sb_fault_point(sb_box *box, const char *point);
#define SB_FAULT_EXIT_STATUS         86
#define SB_FAULT_BARRIER_EXIT_STATUS 87

/** Milliseconds since the Unix epoch (wall clock): the clock of
 *  reservations, and of deadlines in stores without a clock of their own.
 *  Backends read the time through it only, never through the system:
 *  tests move it (a core-internal hook that the library never sets). */
SB_EXTERN(int64_t) sb_now_ms(void);

#ifdef __cplusplus
}
#endif
#endif /* STORAGEBOX_BACKEND_H */
