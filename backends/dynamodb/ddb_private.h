/* Private to the DynamoDB backend (backends/dynamodb/): the store and the
 * helpers its files share. Names carry sb_ddb_ (macros SB_DDB_) so that,
 * in the static library, they cannot clash with a user's symbols. Only
 * include/storagebox/backend.h is used of the core.
 *
 * dynamodb.c        open, URI options, close, the vtables of the store
 * ddb_libcurl.c     libcurl, loaded on first open (ddb_libcurl.h: the table)
 *                   and the backend, the test counters
 * ddb_creds.c       credentials: the SDKs' chain, their refresh before
 *                   they expire, the JSON the sources answer
 * ddb_profile.c     the shared files ~/.aws/credentials and ~/.aws/config
 * ddb_process.c     credential_process: one command, bounded in output
 *                   and time
 * ddb_imds.c        the container endpoint and EC2 instance metadata
 *                   (IMDSv2), over their own short-lived curl handle
 * ddb_sigv4.c       SigV4 headers of one request at the store's clock,
 *                   corrected from the server's Date on a skew error
 * ddb_table.c       table names, and tables made on demand and cached
 * ddb_http.c        one request: retries, answers
 * ddb_json.c        DynamoDB's typed JSON
 * ddb_txn.c         the writes that move items: transaction actions,
 *                   TransactWriteItems, undoing a re-loaded item
 * ddb_scan.c        paginated Scan of a whole table
 * ddb_candidates.c  the claim's candidate pages and their cache
 * ddb_bank.c        the bank slots
 * ddb_ledger.c      the ledger slots
 * ddb_claim.c       the fused claim and hold
 * ddb_lapse.c       lapsed holds: found by deadline, reclaimed, handed out
 * ddb_change.c      the fused confirm, extend and release
 * ddb_states.c      the bank's states: take_held, move, move_if, list
 * ddb_holds.c       the ledger's holds: put_held, update, remove,
 *                   export_holds
 * ddb_sha256.c      SHA-256 for hashed table names
 * ddb_multi.c       several requests in flight (libcurl multi)
 * ddb_add.c         the bank's add: read, write in batches, verify
 * ddb_testing.h     counters for the tests and the benchmark
 *
 * Layout (README-dynamodb): one table per bank and one per ledger, as the
 * original library has them. A bank B uses
 *   T(B)       hash key `item` (S): the AVAILABLE items, nothing else, so a
 *              Python client of the original that scans and deletes only
 *              ever sees items nobody holds;
 *   T(B).held  hash key `item` (S): items taken by storagebox, with `state`
 *              (reserved, assigned, held, retired, restocking, retiring,
 *              reclaiming), `token` (all but retired) and `since` (N, ms);
 *              held and reclaiming items also `until` (N, ms: the
 *              deadline), reserved, restocking and retiring ones their
 *              stamp there (backend.h version 3; absent: stamp 0, as
 *              every record written before stamps), and holds made by
 *              the fused path `ltable` (S: the table of their ledger
 *              entry). Global secondary index SB_DDB_DUE_INDEX: hash
 *              `state`, range `until`, so it holds only the items with
 *              a deadline or a stamp, and a claim finds the
 *              lapsed holds of a bank with one Query. Plus marker rows (a
 *              line feed or a carriage return is no valid item): once the
 *              generic path has taken from the bank, SB_DDB_GENERIC_MARK
 *              with state "generic": without it no item of the bank can
 *              be reserved, which lets a claim at sell-out skip the core's
 *              recovery pass (SB_EMPTY_SETTLED); once a fused hold was
 *              made, SB_DDB_HOLDS_MARK with state "holds": without it no
 *              hold can have lapsed, and a claim at sell-out skips the
 *              Query.
 *              Released items leave T(B).held for T(B) (restock) or stay
 *              with state "retired": add() skips both (law 6).
 * A ledger L uses T(L): hash key `deduplication_id` (S), `item_string` (S)
 * and `bank` (S, storagebox's addition), and for a hold `until` (N, ms;
 * absent: for good).
 *
 * Private results: sb_ddb_call() and a few helpers answer SB_DDB_NOTABLE
 * and SB_DDB_CANCELED besides the sb_error codes. Every slot turns them
 * into an answer or an sb_error before it returns: they never leave the
 * backend (the core would report one as a contract violation). */
#ifndef SB_DDB_PRIVATE_H
#define SB_DDB_PRIVATE_H

#include "ddb_testing.h"

#include "ddb_libcurl.h"
#include "sb_crypto.h"

#include <cjson/cJSON.h>

#define SB_DDB_ITEM_KEY       "item" /* hash key of T(B) and T(B).held */
#define SB_DDB_LEDGER_KEY     "deduplication_id" /* hash key of T(L) */
#define SB_DDB_HELD_SUFFIX    ".held"
#define SB_DDB_GENERIC_MARK   "\n"      /* held-table key of the marker */
#define SB_DDB_GENERIC_STATE  "generic" /* its state */
#define SB_DDB_HOLDS_MARK     "\r"      /* held-table key of the holds marker */
#define SB_DDB_HOLDS_STATE    "holds"   /* its state */
#define SB_DDB_DUE_INDEX      "sb_due"  /* GSI of T(B).held: state, until */
/* DynamoDB's own limits. */
#define SB_DDB_MAX_TABLE_NAME 255
#define SB_DDB_MAX_KEY_BYTES  2048 /* partition key value */
#define SB_DDB_TRANSACT_MAX   100  /* actions per TransactWriteItems */

#define SB_DDB_FAULT_CONFLICT     "dynamodb_transaction_conflict"
#define SB_DDB_FAULT_THROTTLE     "dynamodb_throttle"
/* After the claim's transaction succeeded, before the caller sees it. */
#define SB_DDB_FAULT_CLAIM_DONE   "dynamodb_claim_after_commit"
/* A claim found the bank without an available item and is about to look
 * for lapsed holds (tests put one back into the bank here). */
#define SB_DDB_FAULT_CLAIM_LAPSED "dynamodb_claim_before_lapsed"
/* In an add, before a batch's absent items are written (after they
 * were read). */
#define SB_DDB_FAULT_ADD_WRITE    "dynamodb_add_before_write"
/* In an add, after a batch's write, before its verify. */
#define SB_DDB_FAULT_ADD_VERIFY   "dynamodb_add_before_verify"

/* Private results of a request (see above), outside the sb_error range. */
#define SB_DDB_NOTABLE  100 /* ResourceNotFoundException: a table is missing */
#define SB_DDB_CANCELED 101 /* TransactionCanceledException: see reasons */
#define SB_DDB_BADPAGE  102 /* a Scan page callback: the page makes no sense */
#define SB_DDB_LAPSED   102 /* the id's entry lapsed (*out: that entry) */

#define SB_DDB_TABLE_CACHE 16
#define SB_DDB_MULTI_MAX   64 /* most requests in flight (add_parallel) */

/* Test seam (tests/fuzz): when a store's replay is set, sb_ddb_call sends
 * nothing and takes each answer (HTTP status, body) from it instead; NULL
 * means the connection failed. The library itself never sets it. */
typedef const char *(*sb_ddb_replay_fn)(void *ctx, const char *op, long *status,
                                        size_t *len);

/* Credentials in use (ddb_creds.c). */
typedef struct {
	char *key, *secret, *token; /* token: NULL when there is none */
	int64_t expires_ms;         /* wall clock; 0: never (static keys) */
	int64_t next_try_ms;        /* after a failed refresh: not before */
	char from[160];             /* where they came from, for messages */
} sb_ddb_creds;

typedef struct {
	sb_store base; /* first: the core sees an sb_store */
	CURL *curl;
	char *endpoint; /* "https://dynamodb.R.amazonaws.com/" or custom */
	char *where;    /* endpoint for messages (no secrets in it) */
	char *host;     /* Host header: host[:port] of the endpoint */
	char *region;
	sb_ddb_creds creds;
	/* Server clock minus ours (ms), learned from a skew error's Date. */
	int64_t skew_ms;
	char date_hdr[64]; /* Date header of the last answer */
	char *bank_prefix, *ledger_prefix;
	long connect_timeout_ms, timeout_ms;
	int max_retries;
	long backoff_base_ms, backoff_cap_ms;
	uint32_t rng;
	int scan_segments; /* adaptive: grows when pages are full */
	/* Candidates left over from the last Scan page (hints only: every
	 * take is conditional), so a claim usually costs one request. */
	char *cand_table;
	cJSON *cand;
	int64_t cand_ms;
	/* Claims served by the left-overs of one page, and how many they
	 * may serve (ddb_candidates.c). */
	int cand_uses, cand_max;
	int scan_limit;
	int add_parallel; /* requests in flight in an add */
	sb_ddb_counters counters;
	/* Tables known to exist and be ACTIVE (saves DescribeTable calls). */
	char *known[SB_DDB_TABLE_CACHE];
	unsigned int known_next;
	/* Held tables this store has put the generic marker in. */
	char *marked[SB_DDB_TABLE_CACHE];
	unsigned int marked_next;
	/* Held tables this store has put the holds marker in (and seen
	 * with their deadline index). */
	char *hmarked[SB_DDB_TABLE_CACHE];
	unsigned int hmarked_next;
	/* Held tables whose deadline index was seen ACTIVE. */
	char *indexed[SB_DDB_TABLE_CACHE];
	unsigned int indexed_next;
	/* Last response */
	char *resp;
	size_t resp_len, resp_cap;
	char err_type[128];      /* short AWS error type of the last failure */
	sb_ddb_replay_fn replay; /* NULL: real HTTP (see above) */
	void *replay_ctx;
} sb_ddb_store;

/* ddb_http.c */
/* Send one request (op = "GetItem", ...) with a JSON body; on SB_OK
 * *out is the parsed response (caller frees). On failure a message is set
 * (naming @p op, @p what and the AWS error type, also kept in
 * s->err_type) and the result is an sb_error, SB_DDB_NOTABLE, or, with
 * the error body in *out, SB_DDB_CANCELED (TransactWriteItems: the
 * cancellation reasons) or SB_ECONFLICT (a conditional PutItem,
 * UpdateItem or DeleteItem: the ALL_OLD item, if asked for). Retryable
 * failures (throttling, conflicts, 5xx) are retried here with capped
 * exponential backoff and jitter. */
int sb_ddb_call(cJSON **out, sb_ddb_store *s, const char *op, cJSON *body,
                const char *what);
/* One answer as sb_ddb_call sees it: HTTP @p status and @p len bytes of
 * @p body (no NUL needed) -> the result sb_ddb_call would return, with
 * *out and the message set alike; *retry is 1 if it is worth re-sending.
 * No network: the fuzz target of tests/fuzz calls it directly. */
int sb_ddb_answer(cJSON **out, sb_ddb_store *s, const char *body, size_t len,
                  long status, const char *op, const char *what, int *retry);
int sb_ddb_http_init(sb_ddb_store *s);
/* Set on @p h what every request of the store carries: endpoint,
 * timeouts, protocols (ddb_multi.c sets up its handles with it; signed
 * headers, body and write callback are the caller's). */
void sb_ddb_easy_setup(sb_ddb_store *s, CURL *h);
/* A response made up by a fault point (fault builds) as if the server
 * had sent it (*status set), or NULL: send the request. */
const char *sb_ddb_fault_answer(sb_ddb_store *s, const char *op, long *status);
/* A failed transfer (no answer) -> SB_ECONNECT, SB_ETIMEOUT or SB_ENOMEM,
 * with the message sb_ddb_call gives. */
int sb_ddb_curl_error(sb_ddb_store *s, CURLcode cc, const char *op,
                      const char *what);
/* The backoff before re-send @p attempt (capped, full jitter), counted
 * in s->counters; sb_ddb_backoff sleeps it. */
long sb_ddb_backoff_ms(sb_ddb_store *s, int attempt);
void sb_ddb_backoff(sb_ddb_store *s, int attempt);
/* Appends to a growing NUL-terminated answer buffer (curl's write
 * callbacks); 0, or -1 out of memory (the buffer is left as it was). */
int sb_ddb_buf_add(char **buf, size_t *len, size_t *cap, const char *data,
                   size_t n);
uint32_t sb_ddb_rand(sb_ddb_store *s);

/* ddb_multi.c */
typedef struct sb_ddb_multi sb_ddb_multi;
/* The final answer of a request sent by sb_ddb_multi_send (retryable
 * answers were re-sent first): @p rc SB_OK with @p resp (the callee's to
 * free), or an error or private result with the message set. A non-zero
 * return stops new work (the first one is what the run returns). */
typedef int (*sb_ddb_done_fn)(sb_ddb_multi *m, void *ctx, int rc, cJSON *resp);
/* New work, asked for when a request could start and none waits: 1 if
 * it sent some, 0 if there is no more, or an error. */
typedef int (*sb_ddb_feed_fn)(sb_ddb_multi *m, void *ctx);
/* Run requests, at most @p max (1..SB_DDB_MULTI_MAX) in flight, until
 * the feed is done and every request sent has its answer. After an
 * error nothing new is fed, but requests already sent and their
 * follow-ups run to the end. @return SB_OK or the first error (its
 * message set). */
int sb_ddb_multi_run(sb_ddb_store *s, int max, sb_ddb_feed_fn feed, void *ctx);
/* Queue a request, sent after @p delay_ms; takes @p body. @p what (for
 * messages) must live until the run ends. */
int sb_ddb_multi_send(sb_ddb_multi *m, const char *op, cJSON *body,
                      const char *what, int64_t delay_ms, sb_ddb_done_fn done,
                      void *ctx);

/* ddb_add.c */
int sb_ddb_add(uint64_t *added, uint64_t *skipped, sb_store *base,
               const char *bank, const char *const *items, size_t n);

/* ddb_json.c */
cJSON *sb_ddb_s(const char *v);                     /* {"S": v} */
cJSON *sb_ddb_n(int64_t v);                         /* {"N": "v"} */
cJSON *sb_ddb_key(const char *name, const char *v); /* {name: {"S": v}} */
void sb_ddb_put(cJSON *obj, const char *name, cJSON *child, int *ok);
void sb_ddb_add_s(cJSON *obj, const char *name, const char *v, int *ok);
void sb_ddb_add_str(cJSON *obj, const char *name, const char *v, int *ok);
void sb_ddb_add_num(cJSON *obj, const char *name, double v, int *ok);
void sb_ddb_push(cJSON *arr, cJSON *child, int *ok);
const char *sb_ddb_get_s(const cJSON *item, const char *name);
int sb_ddb_get_n(const cJSON *item, const char *name, int64_t *out);
cJSON *sb_ddb_names(const char *n1, const char *v1, const char *n2,
                    const char *v2);
int sb_ddb_nomem(sb_ddb_store *s, const char *what);
/* The cancellation reason codes of a TransactionCanceledException body,
 * index i: "None", "ConditionalCheckFailed", ...; NULL if absent. */
const cJSON *sb_ddb_reason(const cJSON *err, int i, const char **code);

/* ddb_table.c */
/* 1 if @p c may appear in a table name ([A-Za-z0-9_.-]). */
int sb_ddb_table_char(char c);
/* The table of bank (or ledger) @p name: the name itself when it is a
 * valid table name, else "sbh." + SHA-256 hex of the name. */
int sb_ddb_table(sb_ddb_store *s, char **out, const char *prefix,
                 const char *name, const char *suffix);
int sb_ddb_bank_tables(sb_ddb_store *s, char **avail, char **held,
                       const char *bank);
/* Make sure a table exists and is ACTIVE (create it, PAY_PER_REQUEST):
 * SB_OK or an sb_error, never a private result. */
int sb_ddb_ensure_table(sb_ddb_store *s, const char *table, const char *key);
/* A held table (with its deadline index). */
int sb_ddb_ensure_held(sb_ddb_store *s, const char *held);
/* The deadline index of a held table: 1 ACTIVE, 0 being made (asked for
 * when missing: tables of storagebox 0.1.0), or an error. */
int sb_ddb_due_index(sb_ddb_store *s, const char *held);
/* Both tables of a bank (sb_ddb_ensure_table). */
int sb_ddb_bank_ensure(sb_ddb_store *s, const char *avail, const char *held);
int sb_ddb_table_known(sb_ddb_store *s, const char *table);
/* 1 if the table exists (any status), 0 if not, or an error. */
int sb_ddb_table_exists(sb_ddb_store *s, const char *table);
void sb_ddb_table_forget(sb_ddb_store *s, const char *table);
/* After SB_DDB_NOTABLE from a request whose tables were just made or
 * found: SB_EBACKEND, the answer's message (request, table, AWS error
 * type) and what it means (deleted while in use, or an endpoint that is
 * not DynamoDB). */
int sb_ddb_table_gone(sb_ddb_store *s);
/* SB_ENOTFOUND: no table for bank @p bank (with the message). */
int sb_ddb_no_bank(sb_ddb_store *s, const char *bank);
int sb_ddb_check_key(sb_ddb_store *s, const char *v, const char *what);
void sb_ddb_sha256_hex(const void *data, size_t len, char out[65]);

/* ddb_txn.c */
/* One transaction action {kind: {TableName, Key|Item, Condition...}};
 * takes @p key_or_item, @p names and @p values (may be NULL). */
cJSON *sb_ddb_action(const char *kind, const char *table, cJSON *key_or_item,
                     const char *cond, cJSON *names, cJSON *values);
cJSON *sb_ddb_held_record(const char *item, const char *state,
                          const char *token, int64_t since_ms, int64_t until_ms,
                          const char *ltable);
/* Ask a transaction action for the record when its condition fails. */
void sb_ddb_all_old(cJSON *action, int *ok);
/* SB_STATE_* <-> the `state` attribute of T(B).held ("available" and
 * "retired" included); unknown: NULL / 0. */
const char *sb_ddb_state_name(unsigned int state);
unsigned int sb_ddb_state_bit(const char *name);
cJSON *sb_ddb_names_item(void); /* {"#i": "item"} */
/* Send a TransactWriteItems with ClientRequestToken @p token (NULL: a
 * fresh random one; the retries of this call re-send the same, which
 * makes them idempotent for 10 minutes); SB_DDB_CANCELED leaves the
 * reasons in *err. */
int sb_ddb_transact(cJSON **err, sb_ddb_store *s, cJSON *actions,
                    const char *token, const char *what);
/* After a canceled move of @p item out of @p avail (reasons in @p err):
 * if only the held table's condition failed, the item was issued and then
 * re-loaded into @p avail by the original library: delete it there. */
void sb_ddb_unresurrect(sb_ddb_store *s, const cJSON *err, const char *avail,
                        const char *item);

/* ddb_scan.c */
/* Scan @p table page by page with @p body (its ExclusiveStartKey is
 * rewritten); @p cb gets each response and may stop with its non-zero
 * value. */
int sb_ddb_scan_all(sb_ddb_store *s, cJSON *body, const char *table,
                    int (*cb)(const cJSON *, void *), void *payload);
/* A page callback adding the response's Count to *(uint64_t *)p;
 * SB_DDB_BADPAGE (sb_ddb_scan_all turns it into a message) for a Count
 * no page can hold. */
int sb_ddb_count_page(const cJSON *resp, void *p);

/* ddb_candidates.c */
/* Candidate items of the bank's available table: left over from the
 * last page, or a fresh page of a random segment (shuffled). */
int sb_ddb_scan_candidates(sb_ddb_store *s, cJSON **items, const char *table,
                           int *whole_table_empty);
/* Keep the candidates of @p items from @p from on (NULL: none) for the
 * next claim; frees @p items. */
void sb_ddb_keep_candidates(sb_ddb_store *s, const char *table, cJSON *items,
                            cJSON *from);
/* One consistent page of the whole table (shuffled), after the search
 * for lapsed holds found none: *empty 1 if the table has no item. */
int sb_ddb_recheck_candidates(sb_ddb_store *s, cJSON **items, const char *table,
                              int *empty);
void sb_ddb_drop_candidates(sb_ddb_store *s);
/* A left-over candidate (*empty was -1) was @p taken by this claim, or
 * found gone (taken by another client). */
void sb_ddb_candidate_outcome(sb_ddb_store *s, int taken);

/* ddb_bank.c */
extern const sb_bank_ops sb_ddb_bank_ops;

int sb_ddb_take(sb_item **out, sb_store *base, const char *bank,
                const char *state, const char *token, int64_t now_ms,
                int64_t until_ms);

/* ddb_states.c: the bank's version 2 slots */
int sb_ddb_take_held(sb_item **out, sb_store *base, const char *bank,
                     const char *token, int64_t until_ms);
int sb_ddb_move(sb_store *base, const char *bank, const char *item,
                const char *token, unsigned int from, unsigned int to,
                int64_t until_ms);
/* and of version 3 (stamps) */
int sb_ddb_move_if(sb_store *base, const char *bank, const char *item,
                   const char *token, unsigned int from, unsigned int to,
                   int64_t until_ms, int64_t expect_ms);
int sb_ddb_list(sb_store *base, const char *bank, unsigned int states,
                int64_t until_le, sb_bank_item_cb cb, void *payload);

/* ddb_ledger.c */
extern const sb_ledger_ops sb_ddb_ledger_ops;
int sb_ddb_ledger_item(sb_item **out, const cJSON *rec, const char *dflt_bank);
int sb_ddb_ledger_get_table(sb_item **out, sb_ddb_store *s, const char *table,
                            const char *dedup_id);
cJSON *sb_ddb_ledger_record(const char *dedup_id, const char *bank,
                            const char *item, int64_t until_ms);
/* The deadline of a record (`until`), 0 if none (for good). */
int64_t sb_ddb_until(const cJSON *rec);
/* 1 if a ledger record is a hold that has lapsed at @p now_ms. */
int sb_ddb_lapsed(const cJSON *rec, int64_t now_ms);
/* A ledger write's condition "absent, or a hold lapsed at :now", with
 * its #names (#d, #u) and :values (:z, :now). */
#define SB_DDB_FREE_COND "attribute_not_exists(#d) OR (#u > :z AND #u <= :now)"
cJSON *sb_ddb_free_names(void);
cJSON *sb_ddb_free_values(int64_t now_ms);
/* Put an entry (until_ms 0: for good) if the id has none or a lapsed
 * one: SB_OK, SB_ECONFLICT (*existing: the live entry), SB_DDB_NOTABLE,
 * or an error. */
int sb_ddb_put_entry(sb_item **existing, sb_ddb_store *s, const char *table,
                     const char *dedup_id, const char *bank, const char *item,
                     int64_t until_ms);
/* The same on a ledger name, making its table if missing. */
int sb_ddb_ledger_put(sb_item **existing, sb_ddb_store *s, const char *ledger,
                      const char *dedup_id, const char *bank, const char *item,
                      int64_t until_ms);
/* What a failed sb_ddb_ledger_item() means: SB_ENOMEM, or SB_EBACKEND for
 * a record of @p table without item_string; with a message. */
int sb_ddb_bad_record(sb_ddb_store *s, const char *table, int rc);

/* ddb_holds.c: the ledger's version 2 slots */
int sb_ddb_ledger_put_held(sb_item **existing, sb_store *base,
                           const char *ledger, const char *dedup_id,
                           const char *bank, const char *item,
                           int64_t until_ms);
int sb_ddb_ledger_update(sb_item **out, sb_store *base, const char *ledger,
                         const char *dedup_id, int64_t until_ms);
/* The UpdateItem body that changes @p dedup_id's entry in @p table only
 * while it is a hold live at @p now_ms: to the deadline @p until_ms, or
 * (0) for good; with @p later_only, a deadline only if it is not earlier
 * than the entry's. Either answer carries the record (ALL_NEW; ALL_OLD
 * when the condition fails). Used by the generic update and the fused
 * confirm and extend (ddb_change.c). NULL: out of memory. The caller owns
 * the result. */
cJSON *sb_ddb_live_hold_update(const char *table, const char *dedup_id,
                               int64_t now_ms, int64_t until_ms,
                               int later_only);
int sb_ddb_ledger_remove(sb_item **entry, sb_store *base, const char *ledger,
                         const char *dedup_id, const char *bank,
                         const char *item, unsigned int mode);
int sb_ddb_ledger_export_holds(sb_store *base, const char *ledger,
                               sb_export_hold_cb cb, void *payload);

/* ddb_lapse.c */
/* The holds marker (and the deadline index), once per store and bank,
 * before its first fused hold. */
int sb_ddb_mark_holds(sb_ddb_store *s, const char *held);
/* The id's lapsed entry @p e: deleted and its item made available, in
 * one transaction; if the item is not held by this id any more, the
 * entry alone. SB_OK (also when the entry changed meanwhile: the caller
 * reads again) or an error. */
int sb_ddb_reclaim_entry(sb_ddb_store *s, const char *ltable,
                         const char *dedup_id, const char *token,
                         const sb_item *e);
/* One lapsed fused hold of the bank handed to the id (held until
 * @p until_ms, 0: for good): SB_OK (*out: the new item, or the id's
 * live entry if a twin won), SB_EMPTY (none), SB_DDB_LAPSED (*out: the
 * id's own lapsed entry), or an error. */
int sb_ddb_steal(sb_item **out, sb_ddb_store *s, const char *avail,
                 const char *held, const char *ltable, const char *bank,
                 const char *dedup_id, const char *token, int64_t now_ms,
                 int64_t until_ms);
int sb_ddb_reclaim(uint64_t *n, sb_store *base, const char *bank,
                   int64_t now_ms);

/* ddb_change.c */
int sb_ddb_change(sb_item **out, sb_store *base, const char *ledger,
                  const char *dedup_id, const char *token, unsigned int op,
                  int64_t now_ms, int64_t ttl_ms);

/* ddb_claim.c */
int sb_ddb_hold(sb_item **out, sb_store *base, const char *bank,
                const char *ledger, const char *dedup_id, const char *token,
                int64_t now_ms, int64_t ttl_ms);
int sb_ddb_claim(sb_item **out, sb_store *base, const char *bank,
                 const char *ledger, const char *dedup_id, const char *token,
                 int64_t now_ms);

/* ddb_creds.c */
/* Credentials from the first source of the SDKs' chain that has them
 * (environment, shared files, container endpoint, EC2 metadata) into
 * s->creds: SB_OK, or an sb_error with a message naming the sources
 * tried (never a secret). */
int sb_ddb_creds_load(sb_ddb_store *s);
/* Before each request: temporary credentials within 5 minutes of their
 * expiry are fetched again (a comparison of two numbers otherwise). A
 * failed refresh keeps the old ones while they last. */
int sb_ddb_creds_fresh(sb_ddb_store *s);
/* New keys from the chain now, whatever the old ones' Expiration (the
 * server called them expired): SB_OK, or the old keys stay and the
 * chain's error is returned. */
int sb_ddb_creds_renew(sb_ddb_store *s);
void sb_ddb_creds_free(sb_ddb_creds *c);
/* Keys out of a source's JSON answer: AccessKeyId, SecretAccessKey,
 * SessionToken (@p process: credential_process, Version 1) or Token,
 * Expiration (ISO 8601). SB_OK or SB_EAUTH with the reason in @p why. */
int sb_ddb_creds_json(sb_ddb_creds *c, const char *body, size_t len,
                      int process, char *why, size_t why_size);
/* Wall clock in ms. */
int64_t sb_ddb_wall_ms(void);

/* ddb_profile.c: one profile of a shared file */
typedef struct {
	int found; /* the file has the profile's section */
	char *key, *secret, *token, *process;
	/* A setting of a source the backend does not support (role_arn,
	 * sso_session, ...): NULL if none. */
	const char *unsupported;
} sb_ddb_profile;
/* Read profile @p name of @p path (@p config: ~/.aws/config style, where
 * sections are "[profile NAME]" and "[default]"). SB_OK (p->found tells
 * whether the section is there), SB_EMPTY (no such file), or SB_EAUTH /
 * SB_ENOMEM with the reason in @p why (too big, a NUL byte, a line too
 * long, a setting outside any section, not a regular file). */
int sb_ddb_profile_read(sb_ddb_profile *p, const char *path, const char *name,
                        int config, char *why, size_t why_size);
void sb_ddb_profile_free(sb_ddb_profile *p);

/* ddb_process.c */
/* Run @p cmd (split into words as a shell would, quotes and backslashes,
 * but run without one), its stdout into *out (at most @p max bytes,
 * NUL-terminated). SB_OK, or SB_EAUTH / SB_ETIMEOUT (killed after
 * @p timeout_ms) / SB_ENOMEM with the reason in @p why. */
int sb_ddb_process_run(char **out, size_t *len, const char *cmd,
                       long timeout_ms, size_t max, char *why, size_t why_size);

/* ddb_imds.c */
/* The container endpoint and EC2 instance metadata: SB_OK (*c filled),
 * SB_EMPTY (not configured here: @p note says why, for the message of
 * an empty chain), or an sb_error with its message set. */
int sb_ddb_container_creds(sb_ddb_store *s, sb_ddb_creds *c, char *note,
                           size_t note_size);
int sb_ddb_imds_creds(sb_ddb_store *s, sb_ddb_creds *c, char *note,
                      size_t note_size);

/* ddb_sigv4.c */
/* The headers of one request of @p op with @p body, signed (SigV4) at
 * the store's clock (ours + s->skew_ms) with s->creds: Content-Type,
 * Host, X-Amz-Date, X-Amz-Security-Token, X-Amz-Target, Authorization.
 * Any easy handle sending that body to s->endpoint may use them. */
int sb_ddb_sign(sb_ddb_store *s, struct curl_slist **out, const char *op,
                const char *body, size_t len);
/* After an answer that refused the request's time (a skew error: see
 * ddb_sigv4.c): 1 if s->skew_ms was corrected from the answer's Date, so
 * that the request is worth one more try; 0 if not a skew error. */
int sb_ddb_skew_fix(sb_ddb_store *s);

/* dynamodb.c: copy server text with the secret key and session token
 * masked ("***"), cut to @p size. */
void sb_ddb_scrub(const sb_ddb_store *s, const char *in, char *out,
                  size_t size);

#endif
