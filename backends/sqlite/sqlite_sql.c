/* The SQL text of the SQLite backend (see sqlite_sql.h). */
#include "sqlite_sql.h"

/* Run inside BEGIN IMMEDIATE by the first opener. Item states: 0 available,
 * 1 reserved(token, since), 2 assigned(token). */
const char sb_sq_schema_sql[] =
	"CREATE TABLE IF NOT EXISTS sb_bank ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE);"
	"CREATE TABLE IF NOT EXISTS sb_item ("
	" id INTEGER PRIMARY KEY," /* insertion order: FIFO hand-out */
	" bank_id INTEGER NOT NULL,"
	" item TEXT NOT NULL,"
	" state INTEGER NOT NULL DEFAULT 0,"
	" token TEXT,"
	" since INTEGER,"
	" UNIQUE (bank_id, item));"
	/* Only available rows: a take is one seek to the bank's first entry
	 * (the index ends in the rowid, so ORDER BY id needs no sort). */
	"CREATE INDEX IF NOT EXISTS sb_item_available"
	" ON sb_item (bank_id) WHERE state = 0;"
	"CREATE INDEX IF NOT EXISTS sb_item_reserved"
	" ON sb_item (bank_id, since) WHERE state = 1;"
	"CREATE TABLE IF NOT EXISTS sb_ledger ("
	" ledger TEXT NOT NULL,"
	" dedup_id TEXT NOT NULL,"
	" bank TEXT NOT NULL,"
	" item TEXT NOT NULL,"
	" PRIMARY KEY (ledger, dedup_id)) WITHOUT ROWID;"
	/* No (ledger, bank) index for sb_ledger_ops.count: it cost 16% of
	 * claims/s at synchronous=normal, while counting by scanning a ledger
	 * takes 0.1 s per million entries, for a rare stats call. */
	"PRAGMA user_version = 1;";

#define SB_SQ_TAKE(state)                                              \
	"UPDATE sb_item SET state = " state ", token = ?2, since = ?3" \
	" WHERE id = (SELECT id FROM sb_item"                          \
	"  WHERE bank_id = ?1 AND state = 0 ORDER BY id LIMIT 1)"      \
	" RETURNING item"

const char *const sb_sq_sql[SB_SQ_N] = {
	[SB_SQ_BEGIN] = "BEGIN IMMEDIATE",
	[SB_SQ_COMMIT] = "COMMIT",
	[SB_SQ_ROLLBACK] = "ROLLBACK",
	[SB_SQ_BANK_ID] = "SELECT id FROM sb_bank WHERE name = ?1",
	[SB_SQ_BANK_CREATE] = "INSERT INTO sb_bank (name) VALUES (?1)"
			      " ON CONFLICT (name) DO NOTHING RETURNING id",
	[SB_SQ_ITEM_ADD] =
		"INSERT INTO sb_item (bank_id, item, state) VALUES (?1, ?2, 0)"
		" ON CONFLICT (bank_id, item) DO NOTHING",
	[SB_SQ_TAKE_RESERVE] = SB_SQ_TAKE("1"),
	[SB_SQ_TAKE_ASSIGN] = SB_SQ_TAKE("2"),
	/* One seek in the partial index of reserved rows. */
	[SB_SQ_ANY_RESERVED] = "SELECT EXISTS (SELECT 1 FROM sb_item"
			       " WHERE bank_id = ?1 AND state = 1)",
	/* state 2 too: settling twice with the same token is fine. */
	[SB_SQ_SETTLE] = "UPDATE sb_item SET state = 2"
			 " WHERE bank_id = ?1 AND item = ?2 AND token = ?3"
			 " AND state IN (1, 2)",
	[SB_SQ_PUT_BACK] =
		"UPDATE sb_item SET state = 0, token = NULL, since = NULL"
		" WHERE bank_id = ?1 AND item = ?2 AND token = ?3 AND state = 1",
	/* available, reserved, total: each from an index alone. */
	[SB_SQ_COUNT] =
		"SELECT (SELECT count(*) FROM sb_item"
		"        WHERE bank_id = ?1 AND state = 0),"
		"       (SELECT count(*) FROM sb_item"
		"        WHERE bank_id = ?1 AND state = 1),"
		"       (SELECT count(*) FROM sb_item WHERE bank_id = ?1)",
	[SB_SQ_RESERVED] = "SELECT item, token, since FROM sb_item"
			   " WHERE bank_id = ?1 AND state = 1 AND since <= ?2"
			   " ORDER BY since",
	[SB_SQ_LEDGER_GET] = "SELECT bank, item FROM sb_ledger"
			     " WHERE ledger = ?1 AND dedup_id = ?2",
	[SB_SQ_LEDGER_PUT] = "INSERT INTO sb_ledger (ledger, dedup_id, bank, item)"
			     " VALUES (?1, ?2, ?3, ?4)"
			     " ON CONFLICT (ledger, dedup_id) DO NOTHING",
	[SB_SQ_LEDGER_EXPORT] =
		"SELECT dedup_id, bank, item FROM sb_ledger WHERE ledger = ?1",
	/* Scans the ledger's range of the primary key (see the schema). */
	[SB_SQ_LEDGER_COUNT] =
		"SELECT count(*) FROM sb_ledger WHERE ledger = ?1 AND bank = ?2",
};
