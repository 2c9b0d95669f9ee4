/* SQL of the SQLite backend (private to it): the schema and every
 * statement, kept apart from the C so the two can be read side by side.
 * Every value is a bound parameter; literals are only states, which must
 * be literals for the partial indexes to be usable. */
#ifndef SB_SQLITE_SQL_H
#define SB_SQLITE_SQL_H

/* PRAGMA user_version once the schema below exists. */
#define SQ_SCHEMA_VERSION 1

/* The schema, run inside BEGIN IMMEDIATE by the first opener. */
extern const char sb_sq_schema_sql[];

enum {
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_BANK_ID,
	SQ_BANK_CREATE,
	SQ_ITEM_ADD,
	SQ_TAKE_RESERVE,
	SQ_TAKE_ASSIGN,
	SQ_ANY_RESERVED,
	SQ_SETTLE,
	SQ_PUT_BACK,
	SQ_COUNT,
	SQ_RESERVED,
	SQ_LEDGER_GET,
	SQ_LEDGER_PUT,
	SQ_LEDGER_EXPORT,
	SQ_LEDGER_COUNT,
	SQ_N
};

/* The SQL of each statement, by the enum above. */
extern const char *const sb_sq_sql[SQ_N];

#endif
