/* PostgreSQL backend: the server-side functions (plpgsql). Each fused
 * operation, and each generic slot that needs more than one statement,
 * is one call: one statement, one transaction, one round trip. Layout
 * and item states in pg_schema.c.
 *
 * Clock: every deadline and every "has it lapsed" is the server's
 * clock_timestamp() in milliseconds since the epoch (SB_PG_NOW_MS), so
 * clients' clocks never matter on the fused path.
 *
 * Locks, in one order so that no two calls wait on each other: a call
 * that changes a hold locks the item's sb_taken row first, then the
 * ledger entry. The one exception, the claim's first step on the id's
 * own lapsed entry, locks the item's row first too. Reclaims pick their
 * candidates with SKIP LOCKED, so claims on an empty bank pass each
 * other; before answering "empty" a claim waits for a lapsed hold that
 * another call has locked, and looks again (law 5). */
#include "pg_private.h"

#define H(x) "sha256(convert_to(" x ", 'UTF8'))"

/* Item states in sb_taken (pg_schema.c): st 0 is RESERVED when not
 * settled, else ASSIGNED; any other st is the SB_STATE_* bit itself. */

/* SQL text laid out as SQL: clang-format would break it at the macros. */
/* clang-format off */
const char sb_pg_functions_sql[] =
	/* A lapsed hold of bank p_bid, seen unlocked as (p_h, p_item,
	 * p_token): free it if the ledger agrees. 1: freed (row and entry
	 * deleted; the caller hands the item out or makes it available);
	 * 0: the ledger says the hold is live or for good (with p_fix the
	 * bank's copy is corrected, if the row is not busy); 2: busy (locked
	 * by another call) or changed meanwhile. */
	"CREATE OR REPLACE FUNCTION @.sb_free_lapsed(p_bid integer,"
	" p_bank text, p_h bytea, p_item text, p_token text, p_now bigint,"
	" p_fix boolean) RETURNS integer\n"
	"LANGUAGE plpgsql AS $f$\n"
	"DECLARE\n"
	"  v_pos integer := strpos(p_token, chr(10));\n"
	"  v_lh bytea;\n"
	"  v_ih bytea;\n"
	"  v_until bigint;\n"
	"BEGIN\n"
	"  IF v_pos > 0 THEN\n"
	"    v_lh := " H("left(p_token, v_pos - 1)") ";\n"
	"    v_ih := " H("substr(p_token, v_pos + 1)") ";\n"
	"    SELECT l.until_ms INTO v_until FROM @.sb_ledger l\n"
	"     WHERE l.lh = v_lh AND l.ih = v_ih AND l.bank = p_bank\n"
	"       AND l.item = p_item;\n"
	"    IF FOUND AND (v_until = 0 OR v_until > p_now) THEN\n"
	"      IF p_fix THEN\n"
	"        UPDATE @.sb_taken t SET st = CASE WHEN v_until = 0\n"
	"           THEN 0 ELSE 8 END, until_ms = v_until\n"
	"         WHERE t.ctid = (SELECT s.ctid FROM @.sb_taken s\n"
	"           WHERE s.bank_id = p_bid AND s.h = p_h AND s.st = 8\n"
	"             AND s.token = p_token FOR UPDATE SKIP LOCKED);\n"
	"      END IF;\n"
	"      RETURN 0;\n"
	"    END IF;\n"
	"  END IF;\n"
	"  PERFORM FROM @.sb_taken t WHERE t.bank_id = p_bid AND t.h = p_h\n"
	"   AND t.st = 8 AND t.token = p_token AND t.until_ms <= p_now\n"
	"   FOR UPDATE SKIP LOCKED;\n"
	"  IF NOT FOUND THEN RETURN 2; END IF;\n"
	"  IF v_pos > 0 THEN\n"
	"    DELETE FROM @.sb_ledger l WHERE l.lh = v_lh AND l.ih = v_ih\n"
	"     AND l.bank = p_bank AND l.item = p_item AND l.until_ms > 0\n"
	"     AND l.until_ms <= p_now;\n"
	/* Not lapsed after all: an entry written since (a late generic
	 * put_held whose deadline the ledger's clock has not reached). */
	"    IF NOT FOUND THEN\n"
	"      PERFORM FROM @.sb_ledger l WHERE l.lh = v_lh AND l.ih = v_ih\n"
	"       AND l.bank = p_bank AND l.item = p_item;\n"
	"      IF FOUND THEN RETURN 0; END IF;\n"
	"    END IF;\n"
	"  END IF;\n"
	"  DELETE FROM @.sb_taken t WHERE t.bank_id = p_bid AND t.h = p_h;\n"
	"  RETURN 1;\n"
	"END $f$;\n"

	/* The fused claim and hold. Status 0 new (o_seq: its queue
	 * position, NULL for a reclaimed item), 1 the id's entry, 2 empty
	 * (o_seq 1: an item of the bank is in flight on the generic path,
	 * 0: none), 3 no such bank. p_ttl 0: for good. The client runs it
	 * only when the one-statement common case (SB_PG_HOLD_FAST in
	 * pg_schema.c, the same steps as the first pass here) answered 9:
	 * keep the two in step. */
	"CREATE OR REPLACE FUNCTION @.sb_hold(p_bank text, p_ledger text,"
	" p_id text, p_hint bigint, p_token text, p_ttl bigint,"
	" OUT o_status integer, OUT o_seq bigint, OUT o_bank text,"
	" OUT o_item text, OUT o_until bigint)\n"
	"LANGUAGE plpgsql AS $f$\n"
	"DECLARE\n"
	"  v_lh bytea := " H("p_ledger") ";\n"
	"  v_ih bytea := " H("p_id") ";\n"
	"  v_token text := coalesce(p_token, p_ledger || chr(10) || p_id);\n"
	"  v_bid integer;\n"
	"  v_from bigint;\n"
	"  v_empty boolean;\n"
	"  v_now bigint;\n"
	"  v_held boolean;\n"
	"  v_busy bytea;\n"
	"  v_r record;\n"
	"BEGIN\n"
	"  <<top>>\n"
	"  LOOP\n"
	"    SELECT l.bank, l.item, l.until_ms INTO o_bank, o_item, o_until\n"
	"      FROM @.sb_ledger l WHERE l.lh = v_lh AND l.ih = v_ih;\n"
	"    IF FOUND THEN\n"
	"      IF o_until = 0 THEN o_status := 1; RETURN; END IF;\n"
	"      v_now := " SB_PG_NOW_MS ";\n"
	"      IF o_until > v_now THEN o_status := 1; RETURN; END IF;\n"
	/* The id's hold lapsed: it holds nothing. Its item goes back to
	 * its bank (if the id still holds it there), then a new claim. */
	"      SELECT b.id INTO v_bid FROM @.sb_bank b\n"
	"       WHERE b.h = " H("o_bank") ";\n"
	"      PERFORM FROM @.sb_taken t WHERE t.bank_id = v_bid\n"
	"       AND t.h = " H("o_item") " AND t.st = 8\n"
	"       AND t.token = v_token FOR UPDATE;\n"
	"      v_held := FOUND;\n"
	"      DELETE FROM @.sb_ledger l WHERE l.lh = v_lh AND l.ih = v_ih\n"
	"       AND l.bank = o_bank AND l.item = o_item\n"
	"       AND l.until_ms = o_until;\n"
	"      IF NOT FOUND THEN CONTINUE top; END IF;\n"
	"      IF v_held THEN\n"
	"        DELETE FROM @.sb_taken t WHERE t.bank_id = v_bid\n"
	"         AND t.h = " H("o_item") ";\n"
	"        INSERT INTO @.sb_available (bank_id, item)\n"
	"         VALUES (v_bid, o_item);\n"
	"      END IF;\n"
	"    END IF;\n"
	"    SELECT b.id INTO v_bid FROM @.sb_bank b\n"
	"     WHERE b.h = " H("p_bank") ";\n"
	"    IF NOT FOUND THEN o_status := 3; RETURN; END IF;\n"
	"    v_empty := false;\n" SB_PG_TAKE_LOOP
	"    IF v_empty THEN\n"
	/* Sold out; a twin may have recorded this id meanwhile. */
	"      PERFORM FROM @.sb_ledger l WHERE l.lh = v_lh AND l.ih = v_ih;\n"
	"      IF FOUND THEN CONTINUE top; END IF;\n"
	/* No available item: reclaim one lapsed hold of the bank (any
	 * ledger) and hand its item out, so that a lapsed hold is never a
	 * reason to answer empty. */
	"      v_now := " SB_PG_NOW_MS ";\n"
	"      v_busy := NULL;\n"
	"      FOR v_r IN SELECT t.h, t.item, t.token FROM @.sb_taken t\n"
	"       WHERE t.bank_id = v_bid AND t.st = 8 AND t.until_ms <= v_now\n"
	"       ORDER BY t.until_ms LOOP\n"
	"        CASE @.sb_free_lapsed(v_bid, p_bank, v_r.h, v_r.item,\n"
	"                              v_r.token, v_now, false)\n"
	"        WHEN 1 THEN o_item := v_r.item; EXIT;\n"
	"        WHEN 2 THEN v_busy := coalesce(v_busy, v_r.h);\n"
	"        ELSE NULL;\n"
	"        END CASE;\n"
	"      END LOOP;\n"
	"      IF o_item IS NULL THEN\n"
	/* One is being changed by another call: wait for it, look again. */
	"        IF v_busy IS NOT NULL THEN\n"
	"          PERFORM FROM @.sb_taken t WHERE t.bank_id = v_bid\n"
	"           AND t.h = v_busy FOR UPDATE;\n"
	"          CONTINUE top;\n"
	"        END IF;\n"
	/* A call that reclaimed or released an item after the take looked
	 * and before the scan did has queued it: look again (law 5). */
	"        PERFORM FROM @.sb_available s WHERE s.bank_id = v_bid\n"
	"         ORDER BY s.seq LIMIT 1;\n"
	"        IF FOUND THEN CONTINUE top; END IF;\n"
	/* Empty: o_seq says whether an item of the bank is in flight on the
	 * generic path (reserved, restocking, retiring, reclaiming: all the
	 * rows that are not settled, from the partial index): with none, the
	 * caller skips its recovery pass (SB_EMPTY_SETTLED). */
	"        o_status := 2;\n"
	"        o_seq := CASE WHEN EXISTS (SELECT 1 FROM @.sb_taken t\n"
	"         WHERE t.bank_id = v_bid AND NOT t.settled) THEN 1 ELSE 0 END;\n"
	"        RETURN;\n"
	"      END IF;\n"
	"    END IF;\n"
	"    IF p_ttl > 0 THEN\n"
	"      v_now := " SB_PG_NOW_MS ";\n"
	"      o_until := v_now + p_ttl;\n"
	"    ELSE\n"
	"      o_until := 0;\n"
	"    END IF;\n"
	/* Two first requests for one id: the primary key settles it. The
	 * loser waits here for the winner's commit, then gives its item back
	 * (a new row at the end of the queue, same transaction: nothing is
	 * lost) and answers with the winner's entry. */
	"    INSERT INTO @.sb_ledger (lh, ih, ledger, dedup_id, bank, item,\n"
	"     until_ms) VALUES (v_lh, v_ih, p_ledger, p_id, p_bank, o_item,\n"
	"     o_until) ON CONFLICT (lh, ih) DO NOTHING;\n"
	"    IF FOUND THEN\n"
	"      IF p_ttl > 0 THEN\n"
	"        INSERT INTO @.sb_taken (bank_id, h, item, token, since,\n"
	"         settled, st, until_ms) VALUES (v_bid, " H("o_item") ",\n"
	"         o_item, v_token, v_now, true, 8, o_until);\n"
	"      END IF;\n"
	"      o_status := 0; o_bank := p_bank; RETURN;\n"
	"    END IF;\n"
	"    INSERT INTO @.sb_available (bank_id, item) VALUES (v_bid, o_item);\n"
	"    o_seq := NULL;\n"
	"    SELECT l.bank, l.item, l.until_ms INTO o_bank, o_item, o_until\n"
	"      FROM @.sb_ledger l WHERE l.lh = v_lh AND l.ih = v_ih;\n"
	"    IF FOUND AND (o_until = 0 OR o_until > " SB_PG_NOW_MS ") THEN\n"
	"      o_status := 1; RETURN;\n"
	"    END IF;\n"
	/* The winner's hold lapsed already, or went: start again. */
	"  END LOOP;\n"
	"END $f$;\n"

	/* The claim of schema version 1, for its callers: a hold for good. */
	"CREATE OR REPLACE FUNCTION @.sb_claim(p_bank text, p_ledger text,"
	" p_id text, p_hint bigint, OUT o_status integer, OUT o_seq bigint,"
	" OUT o_bank text, OUT o_item text)\n"
	"LANGUAGE sql AS $f$\n"
	"  SELECT h.o_status, h.o_seq, h.o_bank, h.o_item\n"
	"    FROM @.sb_hold(p_bank, p_ledger, p_id, p_hint, NULL, 0) h\n"
	"$f$;\n"

	/* Confirm (1), extend (2), restock (3), retire (4) the id's entry
	 * and its item. Status 0 done (o_*: the entry), 4 no entry, 5 the
	 * hold lapsed (reclaimed here), 9 the entry changed between the
	 * first look and the lock: the caller asks again (a new
	 * transaction, so no lock is held across the retry). */
	"CREATE OR REPLACE FUNCTION @.sb_change(p_ledger text, p_id text,"
	" p_token text, p_op integer, p_ttl bigint, OUT o_status integer,"
	" OUT o_bank text, OUT o_item text, OUT o_until bigint)\n"
	"LANGUAGE plpgsql AS $f$\n"
	"DECLARE\n"
	"  v_lh bytea := " H("p_ledger") ";\n"
	"  v_ih bytea := " H("p_id") ";\n"
	"  v_token text := coalesce(p_token, p_ledger || chr(10) || p_id);\n"
	"  v_bid integer;\n"
	"  v_h bytea;\n"
	"  v_st smallint;\n"
	"  v_tok text;\n"
	"  v_row boolean;\n"
	"  v_mine boolean;\n"
	"  v_now bigint;\n"
	"BEGIN\n"
	"  SELECT l.bank, l.item, l.until_ms INTO o_bank, o_item, o_until\n"
	"    FROM @.sb_ledger l WHERE l.lh = v_lh AND l.ih = v_ih;\n"
	"  IF NOT FOUND THEN o_status := 4; RETURN; END IF;\n"
	"  IF o_until = 0 AND p_op <= 2 THEN o_status := 0; RETURN; END IF;\n"
	"  SELECT b.id INTO v_bid FROM @.sb_bank b WHERE b.h = " H("o_bank") ";\n"
	"  v_h := " H("o_item") ";\n"
	"  SELECT t.st, t.token INTO v_st, v_tok FROM @.sb_taken t\n"
	"   WHERE t.bank_id = v_bid AND t.h = v_h FOR UPDATE;\n"
	"  v_row := FOUND;\n"
	"  v_mine := v_row AND v_tok = v_token;\n"
	"  PERFORM FROM @.sb_ledger l WHERE l.lh = v_lh AND l.ih = v_ih\n"
	"   AND l.bank = o_bank AND l.item = o_item AND l.until_ms = o_until\n"
	"   FOR UPDATE;\n"
	"  IF NOT FOUND THEN o_status := 9; RETURN; END IF;\n"
	"  v_now := " SB_PG_NOW_MS ";\n"
	"  IF o_until > 0 AND o_until <= v_now THEN\n"
	"    DELETE FROM @.sb_ledger l WHERE l.lh = v_lh AND l.ih = v_ih;\n"
	"    IF v_mine AND v_st = 8 THEN\n"
	"      DELETE FROM @.sb_taken t WHERE t.bank_id = v_bid AND t.h = v_h;\n"
	"      INSERT INTO @.sb_available (bank_id, item)\n"
	"       VALUES (v_bid, o_item);\n"
	"    END IF;\n"
	"    o_status := 5; RETURN;\n"
	"  END IF;\n"
	"  o_status := 0;\n"
	"  IF p_op = 1 OR p_op = 2 THEN\n"
	"    o_until := CASE WHEN p_op = 1 THEN 0 ELSE v_now + p_ttl END;\n"
	"    UPDATE @.sb_ledger l SET until_ms = o_until\n"
	"     WHERE l.lh = v_lh AND l.ih = v_ih;\n"
	"    IF v_mine AND v_st = 8 THEN\n"
	"      UPDATE @.sb_taken t SET until_ms = o_until,\n"
	"       st = CASE WHEN p_op = 1 THEN 0 ELSE 8 END\n"
	"       WHERE t.bank_id = v_bid AND t.h = v_h;\n"
	"    END IF;\n"
	"    RETURN;\n"
	"  END IF;\n"
	"  DELETE FROM @.sb_ledger l WHERE l.lh = v_lh AND l.ih = v_ih;\n"
	/* A bank row under another token is not this id's to give back;
	 * nor is an item without a row unless a claim for good (no row)
	 * gave it: a hold always has a row. */
	"  IF (v_row AND NOT v_mine) OR (NOT v_row AND o_until > 0) THEN\n"
	"    RETURN;\n"
	"  END IF;\n"
	"  IF p_op = 3 THEN\n"
	"    DELETE FROM @.sb_taken t WHERE t.bank_id = v_bid AND t.h = v_h;\n"
	"    INSERT INTO @.sb_available (bank_id, item) VALUES (v_bid, o_item);\n"
	"  ELSE\n"
	"    INSERT INTO @.sb_taken (bank_id, h, item, token, since, settled,\n"
	"     st, until_ms) VALUES (v_bid, v_h, o_item, '', v_now, true, 16, 0)\n"
	"     ON CONFLICT (bank_id, h) DO UPDATE SET token = '',\n"
	"     settled = true, st = 16, until_ms = 0;\n"
	"  END IF;\n"
	"END $f$;\n"

	/* Every lapsed hold of a bank back to available. Status 3: no such
	 * bank. Rows another call has locked are its business: skipped. */
	"CREATE OR REPLACE FUNCTION @.sb_reclaim(p_bank text,"
	" OUT o_status integer, OUT o_n bigint)\n"
	"LANGUAGE plpgsql AS $f$\n"
	"DECLARE\n"
	"  v_bid integer;\n"
	"  v_now bigint;\n"
	"  v_r record;\n"
	"BEGIN\n"
	"  o_n := 0;\n"
	"  SELECT b.id INTO v_bid FROM @.sb_bank b WHERE b.h = " H("p_bank") ";\n"
	"  IF NOT FOUND THEN o_status := 3; RETURN; END IF;\n"
	"  o_status := 0;\n"
	"  v_now := " SB_PG_NOW_MS ";\n"
	"  FOR v_r IN SELECT t.h, t.item, t.token FROM @.sb_taken t\n"
	"   WHERE t.bank_id = v_bid AND t.st = 8 AND t.until_ms <= v_now\n"
	"   ORDER BY t.until_ms LOOP\n"
	"    IF @.sb_free_lapsed(v_bid, p_bank, v_r.h, v_r.item, v_r.token,\n"
	"                        v_now, true) = 1 THEN\n"
	"      INSERT INTO @.sb_available (bank_id, item)\n"
	"       VALUES (v_bid, v_r.item);\n"
	"      o_n := o_n + 1;\n"
	"    END IF;\n"
	"  END LOOP;\n"
	"END $f$;\n"

	/* The generic path's take_held: available -> held(token, until). */
	"CREATE OR REPLACE FUNCTION @.sb_take_held(p_bank text, p_token text,"
	" p_until bigint, p_hint bigint, OUT o_status integer,"
	" OUT o_seq bigint, OUT o_item text)\n"
	"LANGUAGE plpgsql AS $f$\n"
	"DECLARE\n"
	"  v_bid integer;\n"
	"  v_from bigint;\n"
	"  v_empty boolean := false;\n"
	"BEGIN\n"
	"  SELECT b.id INTO v_bid FROM @.sb_bank b WHERE b.h = " H("p_bank") ";\n"
	"  IF NOT FOUND THEN o_status := 3; RETURN; END IF;\n" SB_PG_TAKE_LOOP
	"  IF v_empty THEN o_status := 2; RETURN; END IF;\n"
	"  INSERT INTO @.sb_taken (bank_id, h, item, token, since, settled,\n"
	"   st, until_ms) VALUES (v_bid, " H("o_item") ", o_item, p_token,\n"
	"   " SB_PG_NOW_MS ", true, 8, p_until);\n"
	"  o_status := 0;\n"
	"END $f$;\n"

	/* The generic path's move (backend.h): status 0 moved, 1 conflict.
	 * until_ms: the deadline of held (8) and reclaiming (128) rows, the
	 * stamp of reserved (0, not settled: kept when p_until is 0),
	 * restocking (32) and retiring (64) ones (schema 3).
	 * An item with no sb_taken row is available, or assigned by a
	 * fused claim for good (then the token's ledger entry, for good, names
	 * it). */
	"CREATE OR REPLACE FUNCTION @.sb_move(p_bank text, p_item text,"
	" p_token text, p_from integer, p_to integer, p_until bigint,"
	" p_now bigint, OUT o_status integer)\n"
	"LANGUAGE plpgsql AS $f$\n"
	"DECLARE\n"
	"  v_bid integer;\n"
	"  v_h bytea := " H("p_item") ";\n"
	"  v_st integer;\n"
	"  v_settled boolean;\n"
	"  v_tok text;\n"
	"  v_until bigint := 0;\n"
	"  v_state integer;\n"
	"  v_pos integer := strpos(p_token, chr(10));\n"
	"  v_row boolean;\n"
	"BEGIN\n"
	"  o_status := 1;\n"
	"  SELECT b.id INTO v_bid FROM @.sb_bank b WHERE b.h = " H("p_bank") ";\n"
	"  IF NOT FOUND THEN RETURN; END IF;\n"
	"  SELECT t.st, t.settled, t.token, t.until_ms\n"
	"    INTO v_st, v_settled, v_tok, v_until FROM @.sb_taken t\n"
	"   WHERE t.bank_id = v_bid AND t.h = v_h FOR UPDATE;\n"
	"  v_row := FOUND;\n"
	"  IF v_row THEN\n"
	"    IF v_st = 16 THEN v_state := 16;\n"
	"    ELSIF v_tok <> p_token THEN RETURN;\n"
	"    ELSIF v_st <> 0 THEN v_state := v_st;\n"
	"    ELSIF v_settled THEN v_state := 4;\n"
	"    ELSE v_state := 2;\n"
	"    END IF;\n"
	"  ELSE\n"
	"    PERFORM FROM @.sb_item i WHERE i.bank_id = v_bid AND i.h = v_h;\n"
	"    IF NOT FOUND THEN RETURN; END IF;\n"
	"    v_until := 0;\n"
	"    PERFORM FROM @.sb_ledger l WHERE v_pos > 0\n"
	"     AND l.lh = " H("left(p_token, v_pos - 1)") "\n"
	"     AND l.ih = " H("substr(p_token, v_pos + 1)") "\n"
	"     AND l.bank = p_bank AND l.item = p_item AND l.until_ms = 0;\n"
	"    v_state := CASE WHEN FOUND THEN 4 ELSE 1 END;\n"
	/* ... and is not queued: an entry left by a generic step that came
	 * too late must not make a queued item assigned (a scan of the
	 * bank's queue, only for this rare case). */
	"    IF v_state = 4 THEN\n"
	"      PERFORM FROM @.sb_available s WHERE s.bank_id = v_bid\n"
	"       AND s.item = p_item;\n"
	"      IF FOUND THEN v_state := 1; END IF;\n"
	"    END IF;\n"
	"  END IF;\n"
	/* docs/holds.md, Reclaim step 1: held(token, until <= now) ->
	 * reclaiming. A reclaim that listed the item earlier must not take
	 * a new hold of it by the same id (same token, later deadline).
	 * p_now is the client's clock: on the generic path the core set
	 * the row's deadline by it, and listed the row by it. */
	"  IF v_state = 8 AND p_to = 128 AND v_until > p_now THEN\n"
	"    RETURN;\n"
	"  END IF;\n"
	/* Already in the target state with this token counts as a source. */
	"  IF v_state & (p_from | (p_to & 236)) = 0 THEN RETURN; END IF;\n"
	"  IF v_state = 1 THEN\n"
	/* Available, or a fused claim's under another token: only the
	 * queue can tell (a scan of the bank's queue: a rare call). */
	"    DELETE FROM @.sb_available a WHERE a.ctid = (SELECT s.ctid\n"
	"      FROM @.sb_available s WHERE s.bank_id = v_bid\n"
	"       AND s.item = p_item LIMIT 1 FOR UPDATE);\n"
	"    IF NOT FOUND THEN RETURN; END IF;\n"
	"  END IF;\n"
	"  o_status := 0;\n"
	"  IF p_to = 1 THEN\n"
	"    IF v_row THEN\n"
	"      DELETE FROM @.sb_taken t WHERE t.bank_id = v_bid AND t.h = v_h;\n"
	"    END IF;\n"
	"    INSERT INTO @.sb_available (bank_id, item) VALUES (v_bid, p_item);\n"
	"    RETURN;\n"
	"  END IF;\n"
	"  INSERT INTO @.sb_taken AS t (bank_id, h, item, token, since,\n"
	"   settled, st, until_ms) VALUES (v_bid, v_h, p_item,\n"
	"   CASE WHEN p_to = 16 THEN '' ELSE p_token END, " SB_PG_NOW_MS ",\n"
	"   p_to NOT IN (2, 32, 64, 128),\n"
	"   CASE WHEN p_to IN (2, 4) THEN 0 ELSE p_to END,\n"
	"   CASE WHEN p_to IN (32, 64) THEN p_until\n"
	"        WHEN p_to NOT IN (2, 8, 128) THEN 0\n"
	"        WHEN p_until > 0 THEN p_until ELSE coalesce(v_until, 0) END)\n"
	"   ON CONFLICT (bank_id, h) DO UPDATE SET token = EXCLUDED.token,\n"
	"   settled = EXCLUDED.settled, st = EXCLUDED.st,\n"
	"   until_ms = EXCLUDED.until_ms;\n"
	"END $f$;\n"

	/* The ledger's update: status 0 (o_*: the entry now), 4 no entry,
	 * 5 lapsed. p_until 0: make permanent. */
	"CREATE OR REPLACE FUNCTION @.sb_ledger_update(p_ledger text,"
	" p_id text, p_until bigint, OUT o_status integer, OUT o_bank text,"
	" OUT o_item text, OUT o_until bigint)\n"
	"LANGUAGE plpgsql AS $f$\n"
	"DECLARE\n"
	"  v_lh bytea := " H("p_ledger") ";\n"
	"  v_ih bytea := " H("p_id") ";\n"
	"BEGIN\n"
	"  LOOP\n"
	"    UPDATE @.sb_ledger l SET until_ms = p_until\n"
	"     WHERE l.lh = v_lh AND l.ih = v_ih AND l.until_ms > 0\n"
	"       AND l.until_ms > " SB_PG_NOW_MS "\n"
	"     RETURNING l.bank, l.item, l.until_ms INTO o_bank, o_item, o_until;\n"
	"    IF FOUND THEN o_status := 0; RETURN; END IF;\n"
	"    SELECT l.bank, l.item, l.until_ms INTO o_bank, o_item, o_until\n"
	"      FROM @.sb_ledger l WHERE l.lh = v_lh AND l.ih = v_ih;\n"
	"    IF NOT FOUND THEN o_status := 4; RETURN; END IF;\n"
	"    IF o_until = 0 THEN o_status := 0; RETURN; END IF;\n"
	"    IF o_until <= " SB_PG_NOW_MS " THEN o_status := 5; RETURN; END IF;\n"
	"  END LOOP;\n"
	"END $f$;\n"

	/* The ledger's remove: mode 0 only if live, 1 in any case, 2 only
	 * if lapsed. Status 0 deleted, 4 no entry of this item, 5 lapsed
	 * (mode 0), 6 live or for good (mode 2; o_*: the entry). */
	"CREATE OR REPLACE FUNCTION @.sb_ledger_remove(p_ledger text,"
	" p_id text, p_bank text, p_item text, p_mode integer,"
	" OUT o_status integer, OUT o_bank text, OUT o_item text,"
	" OUT o_until bigint)\n"
	"LANGUAGE plpgsql AS $f$\n"
	"DECLARE\n"
	"  v_lh bytea := " H("p_ledger") ";\n"
	"  v_ih bytea := " H("p_id") ";\n"
	"  v_now bigint;\n"
	"  v_lapsed boolean;\n"
	"BEGIN\n"
	"  LOOP\n"
	"    v_now := " SB_PG_NOW_MS ";\n"
	"    DELETE FROM @.sb_ledger l WHERE l.lh = v_lh AND l.ih = v_ih\n"
	"     AND l.bank = p_bank AND l.item = p_item AND (p_mode = 1\n"
	"      OR (p_mode = 0 AND (l.until_ms = 0 OR l.until_ms > v_now))\n"
	"      OR (p_mode = 2 AND l.until_ms > 0 AND l.until_ms <= v_now));\n"
	"    IF FOUND THEN o_status := 0; RETURN; END IF;\n"
	"    SELECT l.bank, l.item, l.until_ms INTO o_bank, o_item, o_until\n"
	"      FROM @.sb_ledger l WHERE l.lh = v_lh AND l.ih = v_ih\n"
	"       AND l.bank = p_bank AND l.item = p_item;\n"
	"    IF NOT FOUND THEN o_status := 4; RETURN; END IF;\n"
	"    v_lapsed := o_until > 0 AND o_until <= " SB_PG_NOW_MS ";\n"
	"    IF p_mode = 0 AND v_lapsed THEN o_status := 5; RETURN; END IF;\n"
	"    IF p_mode = 2 AND NOT v_lapsed THEN o_status := 6; RETURN; END IF;\n"
	"  END LOOP;\n"
	"END $f$;\n";
/* clang-format on */
