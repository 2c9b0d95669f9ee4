/* SQL of the SQLite backend (private to it): the schema and every
 * statement, kept apart from the C so the two can be read side by side.
 * Every value is a bound parameter; literals are only states, which must
 * be literals for the partial indexes to be usable. */
#ifndef SB_SQLITE_SQL_H
#define SB_SQLITE_SQL_H

/* PRAGMA user_version once the schema below exists. */
#define SB_SQ_SCHEMA_VERSION 1

/* The schema, run inside BEGIN IMMEDIATE by the first opener. */
extern const char sb_sq_schema_sql[];

enum {
	SB_SQ_BEGIN,
	SB_SQ_COMMIT,
	SB_SQ_ROLLBACK,
	SB_SQ_BANK_ID,
	SB_SQ_BANK_CREATE,
	SB_SQ_ITEM_ADD,
	SB_SQ_TAKE_RESERVE,
	SB_SQ_TAKE_ASSIGN,
	SB_SQ_ANY_RESERVED,
	SB_SQ_SETTLE,
	SB_SQ_PUT_BACK,
	SB_SQ_COUNT,
	SB_SQ_RESERVED,
	SB_SQ_LEDGER_GET,
	SB_SQ_LEDGER_PUT,
	SB_SQ_LEDGER_EXPORT,
	SB_SQ_LEDGER_COUNT,
	SB_SQ_N
};

/* The SQL of each statement, by the enum above. */
extern const char *const sb_sq_sql[SB_SQ_N];

#endif
