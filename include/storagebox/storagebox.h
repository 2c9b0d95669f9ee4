/**
 * @file storagebox.h
 * @brief storagebox: hand out items from a bank exactly once, across many
 * processes and machines.
 *
 * A *bank* holds items (voucher codes, seats, links). A *ledger* maps a
 * deduplication id (user id, e-mail, ...) to the one item it was given.
 * sb_box_fetch() gives a new id one available item, gives a known id its
 * item again, and never gives one item to two ids, even when clients die
 * mid-request (see README "How the protocol works").
 *
 * Conventions
 * - Calls that can fail return an int: SB_OK (0), a positive non-error
 *   answer (SB_EMPTY), or a negative sb_error code. The message of the last
 *   failure is kept on the handle: sb_box_errmsg().
 * - `**out` parameters pass ownership to the caller; free with the type's
 *   own free function. Getters lend memory that lives as long as the object.
 * - Strings (bank and ledger names, ids, items) are UTF-8 without NUL, CR
 *   or LF, 1 to SB_MAX_VALUE_LEN bytes.
 *
 * Thread-safety
 * - An sb_box is used by one thread at a time (it owns one connection per
 *   store and keeps its last error inside). Open one box per thread; any
 *   number of boxes, threads and processes may work on the same store at
 *   once: that is what the library is for.
 * - sb_strerror(), sb_version(), sb_backend_list() and the sb_item getters
 *   are safe from any thread.
 * - The library never prints and never aborts.
 */
#ifndef STORAGEBOX_H
#define STORAGEBOX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SB_VERSION_MAJOR  0
#define SB_VERSION_MINOR  2
#define SB_VERSION_PATCH  0
#define SB_VERSION_STRING "0.2.0"
/** Version as one comparable number: 0x00MMmmpp. */
#define SB_VERSION_NUMBER \
	((SB_VERSION_MAJOR << 16) | (SB_VERSION_MINOR << 8) | SB_VERSION_PATCH)

#if defined(_WIN32) && defined(SB_BUILDING_LIBRARY)
#define SB_EXTERN(type) extern __declspec(dllexport) type
#elif defined(_WIN32)
#define SB_EXTERN(type) extern __declspec(dllimport) type
#elif defined(__GNUC__)
#define SB_EXTERN(type) extern __attribute__((visibility("default"))) type
#else
#define SB_EXTERN(type) extern type
#endif

/** Longest bank name, ledger name, id or item accepted, in bytes. */
#define SB_MAX_VALUE_LEN (256u * 1024u)
/** Size of the message buffer kept on a handle (and of sb_box_open's). */
#define SB_ERRMSG_SIZE   512

/** Result codes. Errors are negative; answers that are not errors are >= 0. */
typedef enum {
	SB_OK = 0,     /**< success */
	SB_EMPTY = 1,  /**< the bank has no item for this id: a normal answer */
	SB_ERROR = -1, /**< unclassified failure */
	SB_ENOTFOUND = -2,     /**< no such bank, or the id holds no item */
	SB_ECONFLICT = -3,     /**< a conditional write lost (backend level) */
	SB_EURI = -4,          /**< malformed URI, unknown scheme or option */
	SB_ENOTSUPPORTED = -5, /**< the store cannot do this, or a struct is
	                            newer than this library knows */
	SB_EBACKEND = -6,      /**< the store reported an error (see message) */
	SB_ETIMEOUT = -7,      /**< the store did not answer in time */
	SB_EINVALID = -8, /**< bad argument (empty id, newline, too long...) */
	SB_ENOMEM = -9,   /**< out of memory */
	SB_EBUSY = -10,   /**< the store stayed locked past its busy timeout */
	SB_ECONNECT =
		-11, /**< cannot reach the store, or the connection was lost */
	SB_EAUTH = -12, /**< the store refused the credentials, or none found */
	SB_EEXPIRED = -13 /**< the id's hold lapsed: its deadline has passed */
} sb_error;

/** Which claim protocol sb_box_fetch() runs (see README). */
typedef enum {
	/** Fused (one atomic operation) when bank and ledger share a store
	 *  whose backend offers it, generic otherwise. */
	SB_PROTOCOL_AUTO = 0,
	/** Always the generic reserve / record / settle protocol. */
	SB_PROTOCOL_GENERIC = 1
} sb_protocol;

/** A store connection (or two: bank store and ledger store). Opaque. */
typedef struct sb_box sb_box;

/** An item handed out: its value, the bank it came from. Opaque. */
typedef struct sb_item sb_item;

#define SB_OPEN_OPTS_VERSION 1
/** Options for sb_box_open(). Initialise with SB_OPEN_OPTS_INIT. */
typedef struct {
	unsigned int version; /**< SB_OPEN_OPTS_VERSION */
	/** URI of the store that keeps the ledgers; NULL: the bank's store. */
	const char *ledger_uri;
	sb_protocol protocol; /**< default SB_PROTOCOL_AUTO */
} sb_open_opts;
#define SB_OPEN_OPTS_INIT                                    \
	{                                                    \
		SB_OPEN_OPTS_VERSION, NULL, SB_PROTOCOL_AUTO \
	}

/** Counts of one bank. Conservation: items added = available + reserved +
 *  assigned + on_hold + retired, always. */
typedef struct {
	uint64_t available; /**< can be handed out */
	uint64_t reserved;  /**< taken by a generic-path fetch still in flight
	                         (or one that died: sb_box_recover() brings
	                         them back) */
	uint64_t assigned;  /**< handed out for good */
	/** With a ledger name: ids of that ledger holding an item of this
	 *  bank. Otherwise 0. */
	uint64_t held;
	/** Held for an id until a deadline (sb_box_hold()), lapsed ones
	 *  included until something reclaims them. */
	uint64_t on_hold;
	uint64_t retired; /**< released for good (SB_RELEASE_RETIRE) */
} sb_stats;

/** What sb_box_add() did. */
typedef struct {
	uint64_t added;   /**< new items now available */
	uint64_t skipped; /**< already in the bank (available, reserved or
	                       handed out), or repeated within the batch */
} sb_add_result;

#define SB_RECOVER_OPTS_VERSION 1
/** Options for sb_box_recover(). Initialise with SB_RECOVER_OPTS_INIT. */
typedef struct {
	unsigned int version; /**< SB_RECOVER_OPTS_VERSION */
	/** Only reservations at least this old (milliseconds); 0: all. */
	int64_t min_age_ms;
} sb_recover_opts;
#define SB_RECOVER_OPTS_INIT               \
	{                                  \
		SB_RECOVER_OPTS_VERSION, 0 \
	}

/** What sb_box_recover() did. */
typedef struct {
	uint64_t settled;  /**< the ledger holds the item: now assigned */
	uint64_t put_back; /**< the id holds another item: available again */
	uint64_t foreign;  /**< reserved for another ledger: left alone */
	uint64_t lapsed;   /**< lapsed holds reclaimed: available again */
	uint64_t released; /**< releases a dead client left half done,
	                        finished */
} sb_recover_result;

/**
 * Callback of sb_box_export(): one assignment. The strings are lent for
 * the duration of the call. Return 0 to go on, non-zero to stop (that value
 * is then returned by sb_box_export()).
 */
typedef int (*sb_export_cb)(const char *dedup_id, const char *bank,
                            const char *item, void *payload);

/**
 * Callback of sb_box_export_holds(): one live hold, with its deadline
 * (milliseconds since the Unix epoch, by the ledger store's clock). Same
 * contract as sb_export_cb.
 */
typedef int (*sb_export_hold_cb)(const char *dedup_id, const char *bank,
                                 const char *item, int64_t expires_ms,
                                 void *payload);

/** Longest hold accepted by sb_box_hold() and sb_box_extend(): 30 days. */
#define SB_MAX_TTL_MS (30LL * 24 * 3600 * 1000)

/** sb_box_release(): what becomes of the item given back. */
#define SB_RELEASE_RESTOCK 0u /**< available again, to anyone */
#define SB_RELEASE_RETIRE  1u /**< never handed out again */

/** Library version string, e.g. "0.2.0". Static storage. */
SB_EXTERN(const char *) sb_version(void);

/** Short static description of a result code ("store is busy"). */
SB_EXTERN(const char *) sb_strerror(int code);

/**
 * Names of the URI schemes this build can open ("sqlite", "memory", ...),
 * built-in and registered.
 *
 * @param names filled with up to @p max static strings (may be NULL if
 *              @p max is 0)
 * @return the total number of schemes (may exceed @p max)
 */
SB_EXTERN(size_t) sb_backend_list(const char **names, size_t max);

/**
 * Open a box on a store chosen by URI scheme.
 *
 * URIs: `sqlite:PATH`, `sqlite:///abs/path`, `sqlite::memory:`,
 * `memory:NAME`, and whatever else sb_backend_list() names. Options go in
 * the query string (`?busy_timeout=2000`); an unknown option is an error.
 * Core option `lease` (seconds, default 0): before a fetch answers
 * SB_EMPTY it rolls forward the reservations of the bank made for its
 * ledger that are at least this old (left by generic-path fetches that
 * died or are in flight; rolling forward is safe either way). With 0 no
 * item in flight is ever reported sold out.
 *
 * @param out     receives the box; the caller owns it (sb_box_close())
 * @param uri     bank store URI (and ledger store unless opts says otherwise)
 * @param opts    NULL for defaults
 * @param errbuf  optional buffer for the failure message (no handle exists
 *                to hold it); never contains a password
 * @param errbuf_size size of errbuf (SB_ERRMSG_SIZE is enough)
 * @return SB_OK, SB_EURI, SB_EINVALID, SB_ENOMEM, or a backend error
 *         (SB_EBACKEND, SB_ECONNECT, SB_EAUTH, SB_ETIMEOUT, SB_EBUSY)
 */
SB_EXTERN(int)
sb_box_open(sb_box **out, const char *uri, const sb_open_opts *opts,
            char *errbuf, size_t errbuf_size);

/** Close a box and free it. NULL is fine. */
SB_EXTERN(void) sb_box_close(sb_box *box);

/**
 * Message of the last failure on this box ("" if none). Lent: valid until
 * the next call on the box. Never contains a password or secret key.
 */
SB_EXTERN(const char *) sb_box_errmsg(const sb_box *box);

/**
 * Create what the store needs (tables, schema) and, when named, the bank
 * (empty) and the ledger. Idempotent. Stores also create their schema on
 * first use; init is for doing it ahead of time.
 *
 * @param bank   NULL or a bank name
 * @param ledger NULL or a ledger name
 * @return SB_OK or an error
 */
SB_EXTERN(int) sb_box_init(sb_box *box, const char *bank, const char *ledger);

#define SB_INIT_OPTS_VERSION 1
/** sb_init_opts.flags: also move the store's data from an older layout of
 *  its backend to the current one (see sb_box_init_opts()). */
#define SB_INIT_UPGRADE      1u
/** Options for sb_box_init_opts(). Initialise with SB_INIT_OPTS_INIT. */
typedef struct {
	unsigned int version; /**< SB_INIT_OPTS_VERSION */
	unsigned int flags;   /**< 0 or SB_INIT_UPGRADE */
} sb_init_opts;
#define SB_INIT_OPTS_INIT               \
	{                               \
		SB_INIT_OPTS_VERSION, 0 \
	}

/**
 * sb_box_init() with options. With SB_INIT_UPGRADE, each store of the box
 * whose backend changed its layout since a store was made moves that
 * store's data to the current layout, in place, while other clients go on
 * working (Redis: layout 2 marks each ledger with the one bank it serves,
 * so claims need no counter; docs/guarantees.md). Idempotent; a store
 * already current, or whose backend never changed its layout, has nothing
 * to do (SB_OK). Stop clients of older releases first: they do not keep
 * the new layout.
 *
 * The box is used as by any call: one thread at a time. @p opts is lent
 * for the call (NULL: defaults, as sb_box_init()).
 *
 * @return SB_OK, SB_EINVALID (a bad name, or @p opts of an unknown
 *         version), or a backend error
 */
SB_EXTERN(int)
sb_box_init_opts(sb_box *box, const char *bank, const char *ledger,
                 const sb_init_opts *opts);

/**
 * Add items to a bank (created if missing). Every item is checked before
 * anything is written: one bad item fails the whole call with SB_EINVALID
 * and changes nothing. An item the bank already holds, in any state (also
 * handed out), is skipped and counted.
 *
 * A store writes a batch all or nothing, up to its own limit per write
 * (Redis: 50,000 items, one transaction; the others: no limit). A larger
 * batch is written in several such writes, in order; if one fails, the
 * writes before it stay and @p out counts them. Adding the same batch
 * again is safe: what is already in is skipped.
 *
 * @param out   optional counts (also filled on a store error, see above)
 * @param items @p n strings, lent for the call
 * @return SB_OK, SB_EINVALID or a store error
 */
SB_EXTERN(int)
sb_box_add(sb_add_result *out, sb_box *box, const char *bank,
           const char *const *items, size_t n);

/**
 * The claim: the item this id holds in @p ledger (from any bank), else a
 * new item from @p bank recorded for the id, else SB_EMPTY.
 *
 * Every call with the same (ledger, id) gets the same item, whatever the
 * state of the bank and whoever calls concurrently.
 *
 * @param out receives the item on SB_OK (caller frees with sb_item_free());
 *            NULL on any other result
 * @return SB_OK, SB_EMPTY (no item and the bank has none to give),
 *         SB_ENOTFOUND (the bank was never created), SB_EINVALID, or a
 *         store error (the item, if any was touched, is left recoverable)
 */
SB_EXTERN(int)
sb_box_fetch(sb_item **out, sb_box *box, const char *bank, const char *ledger,
             const char *dedup_id);

/**
 * Look up an id without claiming anything.
 *
 * @param out receives the item on SB_OK (caller frees)
 * @return SB_OK, SB_ENOTFOUND (the id holds nothing), or an error
 */
SB_EXTERN(int)
sb_box_lookup(sb_item **out, sb_box *box, const char *ledger,
              const char *dedup_id);

/**
 * Counts of a bank; with a ledger also how many of its ids hold an item of
 * this bank (sb_stats.held).
 *
 * @param ledger NULL or a ledger name
 * @return SB_OK, SB_ENOTFOUND (no such bank) or an error
 */
SB_EXTERN(int)
sb_box_stats(sb_stats *out, sb_box *box, const char *bank, const char *ledger);

/**
 * Call @p cb once for every assignment of a ledger, in no particular order.
 *
 * @return SB_OK, the callback's non-zero value if it stopped, or an error
 */
SB_EXTERN(int)
sb_box_export(sb_box *box, const char *ledger, sb_export_cb cb, void *payload);

/**
 * Roll forward the reservations of a bank that were made for @p ledger
 * (left by generic-path fetches that died or are still running): each is
 * recorded in the ledger and settled, or put back if its id already holds
 * another item. Safe to run at any time, concurrently with fetches.
 *
 * @param out  optional counts
 * @param opts NULL: every reservation, whatever its age
 * @return SB_OK, SB_ENOTFOUND (no such bank) or an error
 */
SB_EXTERN(int)
sb_box_recover(sb_recover_result *out, sb_box *box, const char *bank,
               const char *ledger, const sb_recover_opts *opts);

/*
 * Holds (README "Holds"): an item handed out provisionally, until a
 * deadline, then confirmed for good, released, or lapsed back to the bank.
 * Deadlines are kept by the store's clock where it has one (PostgreSQL,
 * Redis) and by the clients' clocks otherwise (SQLite, DynamoDB), and
 * across two stores by the ledger's.
 */

/**
 * sb_box_fetch() whose *new* assignment is held until now + @p ttl_ms. An
 * id that already holds an item (for good, or a hold that has not lapsed)
 * gets it back unchanged, from any bank of the ledger. An id whose hold
 * lapsed holds nothing: it gets a new hold (perhaps the same item).
 *
 * @param out    receives the item on SB_OK (caller frees); its deadline is
 *               sb_item_expires_ms() (0: held for good)
 * @param ttl_ms 1 .. SB_MAX_TTL_MS
 * @return as sb_box_fetch()
 */
SB_EXTERN(int)
sb_box_hold(sb_item **out, sb_box *box, const char *bank, const char *ledger,
            const char *dedup_id, int64_t ttl_ms);

/**
 * Make the id's hold permanent, if its deadline has not passed (the
 * deadline alone decides, whether or not anything reclaimed the item yet).
 *
 * @return SB_OK (also when the item was already the id's for good),
 *         SB_ENOTFOUND (the id holds nothing), SB_EEXPIRED (the hold
 *         lapsed: the id holds nothing now), SB_EINVALID, or a store error
 */
SB_EXTERN(int)
sb_box_confirm(sb_box *box, const char *ledger, const char *dedup_id);

/**
 * Move the id's deadline to now + @p ttl_ms, if it has not passed. An item
 * held for good stays so (SB_OK, nothing changes).
 *
 * @return as sb_box_confirm()
 */
SB_EXTERN(int)
sb_box_extend(sb_box *box, const char *ledger, const char *dedup_id,
              int64_t ttl_ms);

/**
 * The id gives back its item (held or for good): its ledger entry goes, and
 * the item becomes available again (SB_RELEASE_RESTOCK) or is never handed
 * out again (SB_RELEASE_RETIRE). The id is then new to the ledger.
 *
 * @return SB_OK, SB_ENOTFOUND (the id holds nothing: also a second
 *         release), SB_EEXPIRED (its hold had lapsed: the item went back
 *         to the bank, not retired), SB_EINVALID, or a store error (a
 *         release cut short is finished by sb_box_recover())
 */
SB_EXTERN(int)
sb_box_release(sb_box *box, const char *ledger, const char *dedup_id,
               unsigned int flags);

/**
 * Call @p cb once for every live hold of a ledger (sb_box_export() lists
 * the assignments for good).
 *
 * @return SB_OK, the callback's non-zero value if it stopped, or an error
 */
SB_EXTERN(int)
sb_box_export_holds(sb_box *box, const char *ledger, sb_export_hold_cb cb,
                    void *payload);

/** The item's value. Lent; lives as long as the item. */
SB_EXTERN(const char *) sb_item_value(const sb_item *item);

/** The bank the item came from (with a shared ledger it may not be the bank
 *  that was asked). Lent. */
SB_EXTERN(const char *) sb_item_bank(const sb_item *item);

/** 1 if this fetch assigned the item just now, 0 if the id already held it
 *  (a repeat) or if the item came from sb_box_lookup(). */
SB_EXTERN(int) sb_item_is_new(const sb_item *item);

/** The item's deadline in milliseconds since the Unix epoch (by the clock
 *  that keeps it, see "Holds" above), or 0 if the id holds it for good. */
SB_EXTERN(int64_t) sb_item_expires_ms(const sb_item *item);

/** Free an item. NULL is fine. */
SB_EXTERN(void) sb_item_free(sb_item *item);

#ifdef __cplusplus
}
#endif
#endif /* STORAGEBOX_H */
