/* SQL of the SQLite backend (private to it): the schema and every
 * statement, kept apart from the C so the two can be read side by side.
 * Every value is a bound parameter; literals are only states, which must
 * be literals for the partial indexes to be usable. */
#ifndef SB_SQLITE_SQL_H
#define SB_SQLITE_SQL_H

/* PRAGMA user_version once the schema below exists. 1: release 0.1.0;
 * 2: holds (deadlines on items and ledger entries, states 3 to 7); 3:
 * stamps (backend.h version 3: the item's deadline column also keeps the
 * stamp of a reserved, restocking or retiring row; no new column, but a
 * program of version 2 must not share the file, as it would ignore them);
 * 4: available and held rows in one index (sb_item_open), so that a hold
 * writes no more pages than a claim. */
#define SB_SQ_SCHEMA_VERSION 4

/* Item states (the column sb_item.state): SB_STATE_* == 1 << state. */
#define SB_SQ_S_AVAILABLE  0
#define SB_SQ_S_RESERVED   1
#define SB_SQ_S_ASSIGNED   2
#define SB_SQ_S_HELD       3
#define SB_SQ_S_RETIRED    4
#define SB_SQ_S_RESTOCKING 5
#define SB_SQ_S_RETIRING   6
#define SB_SQ_S_RECLAIMING 7

/* The schema, run inside BEGIN IMMEDIATE by the first opener of a new
 * database. */
extern const char sb_sq_schema_sql[];

/* sb_sq_migrate_sql[v]: run inside BEGIN IMMEDIATE on a database of
 * schema version v (1 <= v < SB_SQ_SCHEMA_VERSION); leaves version v + 1.
 * A database migrated from version 1 has exactly the schema of a new one
 * (tests/sqlite checks it). */
extern const char *const sb_sq_migrate_sql[SB_SQ_SCHEMA_VERSION];

/* The application function sb_now() of every store's connection:
 * sb_now_ms(), read when the statement runs (under the write lock for a
 * write), not when it was bound. */
#define SB_SQ_NOW_FN "sb_now"

enum {
	SB_SQ_BEGIN,
	SB_SQ_COMMIT,
	SB_SQ_ROLLBACK,
	SB_SQ_BANK_ID,
	SB_SQ_BANK_CREATE,
	SB_SQ_ITEM_ADD,
	SB_SQ_TAKE_RESERVE,
	SB_SQ_TAKE_ASSIGN,
	SB_SQ_TAKE_HELD,
	SB_SQ_ANY_INFLIGHT,
	SB_SQ_SETTLE,
	SB_SQ_PUT_BACK,
	SB_SQ_ITEM_MOVE,
	SB_SQ_ITEM_MOVE_IF,
	SB_SQ_ITEM_LIST,
	SB_SQ_HELD_LAPSED,
	SB_SQ_COUNT,
	SB_SQ_RESERVED,
	SB_SQ_LEDGER_GET,
	SB_SQ_LEDGER_PUT,
	SB_SQ_LEDGER_UPSERT,
	SB_SQ_LEDGER_SET,
	SB_SQ_LEDGER_DELETE,
	SB_SQ_LEDGER_UPDATE,
	SB_SQ_LEDGER_REMOVE,
	SB_SQ_LEDGER_EXPORT,
	SB_SQ_LEDGER_HOLDS,
	SB_SQ_LEDGER_COUNT,
	SB_SQ_N
};

/* The SQL of each statement, by the enum above. */
extern const char *const sb_sq_sql[SB_SQ_N];

#endif
