/* The SQL text of the SQLite backend (see sqlite_sql.h). */
#include "sqlite_sql.h"

/* Available and held rows of a bank, in one index: held ones first
 * (state DESC) by deadline, then available ones by id (their deadline is
 * NULL; the index ends in the rowid). A take is one seek to the bank's
 * first available entry, and the lapsed holds of a bank are a range.
 * One index, not one for each state: a hold's entry (the latest
 * deadline) lands next to the available entry that its take removes,
 * on the same page, so a hold writes as many pages as a claim (whose
 * assigned row leaves the index); with an index of held rows apart it
 * wrote one page more (an index insert and a WAL frame: 12% more
 * instructions than a claim). A restock's entry lands there too.
 * Assigned rows are in no index but the UNIQUE one. */
#define SB_SQ_OPEN_INDEX                              \
	"CREATE INDEX IF NOT EXISTS sb_item_open"     \
	" ON sb_item (bank_id, state DESC, deadline)" \
	" WHERE state = 0 OR state = 3;"

/* Run inside BEGIN IMMEDIATE by the first opener. Item states (see
 * sqlite_sql.h): 0 available, 1 reserved(token, since, stamp), 2
 * assigned(token), 3 held(token, deadline), 4 retired, 5
 * restocking(token, stamp), 6 retiring(token, stamp), 7 reclaiming(token,
 * deadline). An item's stamp (backend.h version 3) is kept in its
 * deadline column (NULL: stamp 0); every other state has it NULL. A
 * ledger entry's deadline is 0 for good, else the hold's deadline in ms
 * since the epoch. Each deadline is the last column, where ALTER TABLE
 * puts it in a database of version 1 (sb_sq_migrate_sql). */
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
	" deadline INTEGER,"
	" UNIQUE (bank_id, item));" SB_SQ_OPEN_INDEX
	"CREATE INDEX IF NOT EXISTS sb_item_reserved"
	" ON sb_item (bank_id, since) WHERE state = 1;"
	/* Retired rows and releases or reclaims in flight (count, list). */
	"CREATE INDEX IF NOT EXISTS sb_item_out"
	" ON sb_item (bank_id, state) WHERE state >= 4;"
	"CREATE TABLE IF NOT EXISTS sb_ledger ("
	" ledger TEXT NOT NULL,"
	" dedup_id TEXT NOT NULL,"
	" bank TEXT NOT NULL,"
	" item TEXT NOT NULL,"
	" deadline INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (ledger, dedup_id)) WITHOUT ROWID;"
	/* No (ledger, bank) index for sb_ledger_ops.count: it cost 16% of
	 * claims/s at synchronous=normal, while counting by scanning a ledger
	 * takes 0.1 s per million entries, for a rare stats call. Nor one on
	 * the ledger's deadlines: lapsed holds are found through the bank's
	 * sb_item_open, whose token names the ledger entry. */
	"PRAGMA user_version = 4;";

/* Version 1 (0.1.0) -> 2: the deadlines and the two new indexes. Old rows
 * need nothing: their states are 0 to 2 and their entries are for good
 * (deadline 0 by the column's default). */
static const char sq_migrate_1[] =
	"ALTER TABLE sb_item ADD COLUMN deadline INTEGER;"
	"ALTER TABLE sb_ledger ADD COLUMN deadline INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX IF NOT EXISTS sb_item_held"
	" ON sb_item (bank_id, deadline) WHERE state = 3;"
	"CREATE INDEX IF NOT EXISTS sb_item_out"
	" ON sb_item (bank_id, state) WHERE state >= 4;"
	"PRAGMA user_version = 2;";

/* Version 2 -> 3: stamps, in the deadline column. Version 2 leaves it
 * NULL in every state but held and reclaiming (each write into another
 * state clears it, and rows enter states 0 to 2 only from states that
 * have it NULL), so each reservation and release in flight reads as
 * stamp 0: made without stamps, which recovery takes over as such. Only
 * the version changes, so that a version 2 program, which would ignore
 * stamps, refuses the file from then on. */
static const char sq_migrate_2[] = "PRAGMA user_version = 3;";

/* Version 3 -> 4: available and held rows in one index (SB_SQ_OPEN_INDEX)
 * in place of one for each state, built by one scan of the items.
 * Version 3 leaves every available row's deadline NULL (as 1 and 2 do),
 * so they keep their FIFO order in it. A version 3 program, whose take
 * would sort a bank's available rows on each claim without its index,
 * refuses the file from then on. */
static const char sq_migrate_3[] = SB_SQ_OPEN_INDEX
	"DROP INDEX IF EXISTS sb_item_available;"
	"DROP INDEX IF EXISTS sb_item_held;"
	"PRAGMA user_version = 4;";

const char *const sb_sq_migrate_sql[SB_SQ_SCHEMA_VERSION] = {
	[1] = sq_migrate_1,
	[2] = sq_migrate_2,
	[3] = sq_migrate_3,
};

/* ?1 bank id, ?2 token, ?3 since (reserved, assigned) or the deadline
 * (held). The oldest available item: ORDER BY deadline, id is
 * sb_item_open's order, so no sort (an available row's deadline is NULL:
 * id order; one that were not would still be handed out, after them).
 * OR ROLLBACK: with RETURNING and a NOT NULL column set, SQLite
 * would otherwise open a statement journal inside the fused
 * transaction, copying every page the take writes and allocating, then
 * freeing, a 64 KiB buffer on each claim and hold (glibc then trims and
 * regrows its heap: madvise and page faults on every call). No
 * constraint can fail here, and a failed take rolls the whole
 * transaction back anyway (sqlite_claim.c). */
#define SB_SQ_TAKE(set)                       \
	"UPDATE OR ROLLBACK sb_item SET " set \
	" WHERE id = (SELECT id FROM sb_item" \
	"  WHERE bank_id = ?1 AND state = 0"  \
	"  ORDER BY deadline, id LIMIT 1)"    \
	" RETURNING item"

/* sb_bank_ops.move: ?4 the set of states (SB_STATE_* bits), ?5 the new
 * state, ?6 the deadline of held and reclaiming (0: kept), the stamp of
 * restocking and retiring (0: none), of reserved (0: kept; a reservation
 * moved gets a new since, from which reserved() dates the stamp).
 * Available and retired rows have no token, so they never match. Held
 * -> reclaiming only once the deadline passed (docs/holds.md, Reclaim
 * step 1): a reclaim that listed the id's earlier hold of the item must
 * not take its new one (same token, later deadline). */
#define SB_SQ_MOVE                                                  \
	"UPDATE sb_item SET state = ?5,"                            \
	" token = CASE WHEN ?5 IN (0, 4) THEN NULL ELSE token END," \
	" since = CASE WHEN ?5 IN (0, 4) THEN NULL"                 \
	"  WHEN ?5 = 1 THEN sb_now() ELSE since END,"               \
	" deadline = CASE WHEN ?5 IN (1, 3, 7)"                     \
	"  THEN coalesce(nullif(?6, 0), deadline)"                  \
	"  WHEN ?5 IN (5, 6) THEN nullif(?6, 0) ELSE NULL END"      \
	" WHERE bank_id = ?1 AND item = ?2 AND token = ?3"          \
	" AND ((1 << state) & ?4) <> 0"                             \
	" AND NOT (?5 = 7 AND state = 3 AND deadline > sb_now())"

/* A ledger entry's hold has lapsed by the store's clock, read when the
 * statement runs. */
#define SB_SQ_LAPSED "deadline > 0 AND deadline <= sb_now()"
#define SB_SQ_LIVE   "(deadline = 0 OR deadline > sb_now())"

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
	/* A reservation with stamp 0 (backend.h version 3). */
	[SB_SQ_TAKE_RESERVE] = SB_SQ_TAKE("state = 1, token = ?2, since = ?3,"
	                                  " deadline = NULL"),
	[SB_SQ_TAKE_ASSIGN] = SB_SQ_TAKE("state = 2, token = ?2, since = ?3"),
	[SB_SQ_TAKE_HELD] = SB_SQ_TAKE("state = 3, token = ?2, deadline = ?3"),
	/* Can an item of the bank still come back to it (reserved,
	 * restocking, reclaiming)? One seek in each partial index. */
	[SB_SQ_ANY_INFLIGHT] =
		"SELECT EXISTS (SELECT 1 FROM sb_item"
		"  WHERE bank_id = ?1 AND state = 1)"
		" OR EXISTS (SELECT 1 FROM sb_item"
		"  WHERE bank_id = ?1 AND state >= 4 AND state IN (5, 7))",
	/* state 2 too: settling twice with the same token is fine. Only a
	 * reservation with stamp 0: one that a recovery pass took over
	 * (stamped it) is that pass's to settle, with move_if. */
	[SB_SQ_SETTLE] = "UPDATE sb_item SET state = 2"
			 " WHERE bank_id = ?1 AND item = ?2 AND token = ?3"
			 " AND (state = 2 OR (state = 1 AND deadline IS NULL))",
	[SB_SQ_PUT_BACK] = "UPDATE sb_item SET state = 0, token = NULL,"
			   " since = NULL, deadline = NULL"
			   " WHERE bank_id = ?1 AND item = ?2 AND token = ?3"
			   " AND state = 1",
	[SB_SQ_ITEM_MOVE] = SB_SQ_MOVE,
	/* move_if: only from a state with a stamp (or deadline), and only
	 * if it is ?7 (NULL reads as stamp 0). */
	[SB_SQ_ITEM_MOVE_IF] = SB_SQ_MOVE " AND state IN (1, 3, 5, 6, 7)"
					  " AND coalesce(deadline, 0) = ?7",
	/* sb_bank_ops.list: held rows due by ?2 (sb_item_open), then the
	 * rows in flight of the set ?3 (sb_item_out), with the deadline of
	 * a reclaiming row, the stamp of a restocking or retiring one. */
	[SB_SQ_ITEM_LIST] =
		"SELECT item, token, state, deadline FROM sb_item"
		" WHERE bank_id = ?1 AND state = 3 AND deadline <= ?2"
		" AND (?3 & 8) <> 0"
		" UNION ALL"
		" SELECT item, token, state, coalesce(deadline, 0) FROM sb_item"
		" WHERE bank_id = ?1 AND state >= 4 AND state >= 5"
		" AND ((1 << state) & ?3) <> 0",
	/* The bank's hold that lapsed first, if any by ?2 (fused reclaim). */
	[SB_SQ_HELD_LAPSED] =
		"SELECT item, token, deadline FROM sb_item"
		" WHERE bank_id = ?1 AND state = 3 AND deadline <= ?2"
		" ORDER BY deadline LIMIT 1",
	/* available, reserved, held, retired, restocking or retiring,
	 * reclaiming, total: each from an index alone. */
	[SB_SQ_COUNT] =
		"SELECT (SELECT count(*) FROM sb_item"
		"        WHERE bank_id = ?1 AND state = 0),"
		"       (SELECT count(*) FROM sb_item"
		"        WHERE bank_id = ?1 AND state = 1),"
		"       (SELECT count(*) FROM sb_item"
		"        WHERE bank_id = ?1 AND state = 3),"
		"       (SELECT count(*) FROM sb_item"
		"        WHERE bank_id = ?1 AND state >= 4 AND state = 4),"
		"       (SELECT count(*) FROM sb_item"
		"        WHERE bank_id = ?1 AND state >= 4 AND state IN (5, 6)),"
		"       (SELECT count(*) FROM sb_item"
		"        WHERE bank_id = ?1 AND state >= 4 AND state = 7),"
		"       (SELECT count(*) FROM sb_item WHERE bank_id = ?1)",
	[SB_SQ_RESERVED] = "SELECT item, token, since FROM sb_item"
			   " WHERE bank_id = ?1 AND state = 1 AND since <= ?2"
			   " ORDER BY since",
	[SB_SQ_LEDGER_GET] = "SELECT bank, item, deadline FROM sb_ledger"
			     " WHERE ledger = ?1 AND dedup_id = ?2",
	/* Under the write lock, after a look found no entry (fused). */
	[SB_SQ_LEDGER_PUT] =
		"INSERT INTO sb_ledger (ledger, dedup_id, bank, item, deadline)"
		" VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT (ledger, dedup_id) DO NOTHING",
	/* One statement: a lapsed entry counts as absent (generic). */
	[SB_SQ_LEDGER_UPSERT] =
		"INSERT INTO sb_ledger (ledger, dedup_id, bank, item, deadline)"
		" VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT (ledger, dedup_id) DO UPDATE SET"
		" bank = excluded.bank, item = excluded.item,"
		" deadline = excluded.deadline"
		" WHERE sb_ledger." SB_SQ_LAPSED,
	[SB_SQ_LEDGER_SET] = "UPDATE sb_ledger SET deadline = ?3"
			     " WHERE ledger = ?1 AND dedup_id = ?2",
	[SB_SQ_LEDGER_DELETE] =
		"DELETE FROM sb_ledger WHERE ledger = ?1 AND dedup_id = ?2",
	/* sb_ledger_ops.update: a live hold gets ?3; an entry for good stays
	 * so (and is returned). */
	[SB_SQ_LEDGER_UPDATE] =
		"UPDATE sb_ledger"
		" SET deadline = CASE WHEN deadline = 0 THEN 0 ELSE ?3 END"
		" WHERE ledger = ?1 AND dedup_id = ?2 AND " SB_SQ_LIVE
		" RETURNING bank, item, deadline",
	/* sb_ledger_ops.remove, ?5 the mode: 0 live, 1 any, 2 lapsed. */
	[SB_SQ_LEDGER_REMOVE] =
		"DELETE FROM sb_ledger WHERE ledger = ?1 AND dedup_id = ?2"
		" AND bank = ?3 AND item = ?4 AND CASE ?5"
		"  WHEN 1 THEN 1"
		"  WHEN 2 THEN " SB_SQ_LAPSED " ELSE " SB_SQ_LIVE " END",
	[SB_SQ_LEDGER_EXPORT] = "SELECT dedup_id, bank, item FROM sb_ledger"
				" WHERE ledger = ?1 AND deadline = 0",
	[SB_SQ_LEDGER_HOLDS] =
		"SELECT dedup_id, bank, item, deadline FROM sb_ledger"
		" WHERE ledger = ?1 AND deadline > sb_now()",
	/* Scans the ledger's range of the primary key (see the schema). */
	[SB_SQ_LEDGER_COUNT] = "SELECT count(*) FROM sb_ledger"
			       " WHERE ledger = ?1 AND bank = ?2 AND " SB_SQ_LIVE,
};
