-- The PostgreSQL schema of storagebox 0.1.0 (schema version 1), exactly as
-- its backends/postgresql/pg_schema.c made it; "@." stands for the quoted
-- schema and a dot. tests/postgresql/pg_holds.c builds a store with it and
-- checks that this release brings it up to date in place.
CREATE TABLE IF NOT EXISTS @.sb_meta ( key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS @.sb_bank ( id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, h bytea NOT NULL UNIQUE, name text NOT NULL);
CREATE TABLE IF NOT EXISTS @.sb_item ( bank_id integer NOT NULL, h bytea NOT NULL, PRIMARY KEY (bank_id, h));
CREATE TABLE IF NOT EXISTS @.sb_available ( bank_id integer NOT NULL, seq bigint GENERATED ALWAYS AS IDENTITY, item text NOT NULL, PRIMARY KEY (bank_id, seq));
CREATE TABLE IF NOT EXISTS @.sb_taken ( bank_id integer NOT NULL, h bytea NOT NULL, item text NOT NULL, token text NOT NULL, since bigint NOT NULL, settled boolean NOT NULL DEFAULT false, PRIMARY KEY (bank_id, h));
CREATE INDEX IF NOT EXISTS sb_taken_reserved ON @.sb_taken (bank_id, since) WHERE NOT settled;
CREATE TABLE IF NOT EXISTS @.sb_ledger ( lh bytea NOT NULL, ih bytea NOT NULL, ledger text NOT NULL, dedup_id text NOT NULL, bank text NOT NULL, item text NOT NULL, PRIMARY KEY (lh, ih));
CREATE OR REPLACE FUNCTION @.sb_claim(p_bank text, p_ledger text, p_id text, p_hint bigint, OUT o_status integer, OUT o_seq bigint, OUT o_bank text, OUT o_item text)
LANGUAGE plpgsql AS $f$
DECLARE
  v_lh bytea := sha256(convert_to(p_ledger, 'UTF8'));
  v_ih bytea := sha256(convert_to(p_id, 'UTF8'));
  v_bid integer;
  v_from bigint;
  v_empty boolean := false;
BEGIN
  SELECT l.bank, l.item INTO o_bank, o_item FROM @.sb_ledger l
   WHERE l.lh = v_lh AND l.ih = v_ih;
  IF FOUND THEN o_status := 1; RETURN; END IF;
  SELECT b.id INTO v_bid FROM @.sb_bank b WHERE b.h = sha256(convert_to(p_bank, 'UTF8'));
  IF NOT FOUND THEN o_status := 3; RETURN; END IF;
  v_from := p_hint;
  LOOP
    DELETE FROM @.sb_available a WHERE a.ctid = (
      SELECT s.ctid FROM @.sb_available s
       WHERE s.bank_id = v_bid AND s.seq >= v_from
       ORDER BY s.seq LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING a.seq, a.item INTO o_seq, o_item;
    EXIT WHEN FOUND;
    IF v_from > 0 THEN v_from := 0; CONTINUE; END IF;
    PERFORM FROM @.sb_available s WHERE s.bank_id = v_bid
     ORDER BY s.seq LIMIT 1;
    IF NOT FOUND THEN v_empty := true; EXIT; END IF;
    PERFORM FROM @.sb_available s WHERE s.bank_id = v_bid
     ORDER BY s.seq LIMIT 1 FOR UPDATE;
  END LOOP;
  IF v_empty THEN
    SELECT l.bank, l.item INTO o_bank, o_item FROM @.sb_ledger l
     WHERE l.lh = v_lh AND l.ih = v_ih;
    IF FOUND THEN o_status := 1; RETURN; END IF;
    o_status := 2;
    o_seq := CASE WHEN EXISTS (SELECT 1 FROM @.sb_taken t
     WHERE t.bank_id = v_bid AND NOT t.settled) THEN 1 ELSE 0 END;
    RETURN;
  END IF;
  INSERT INTO @.sb_ledger (lh, ih, ledger, dedup_id, bank, item)
   VALUES (v_lh, v_ih, p_ledger, p_id, p_bank, o_item)
   ON CONFLICT (lh, ih) DO NOTHING;
  IF FOUND THEN o_status := 0; o_bank := p_bank; RETURN; END IF;
  INSERT INTO @.sb_available (bank_id, item) VALUES (v_bid, o_item);
  SELECT l.bank, l.item INTO o_bank, o_item FROM @.sb_ledger l
   WHERE l.lh = v_lh AND l.ih = v_ih;
  o_status := 1;
  o_seq := NULL;
END $f$;
CREATE OR REPLACE FUNCTION @.sb_take(p_bank text, p_token text, p_now bigint, p_hint bigint, OUT o_status integer, OUT o_seq bigint, OUT o_item text)
LANGUAGE plpgsql AS $f$
DECLARE
  v_bid integer;
  v_from bigint;
  v_empty boolean := false;
BEGIN
  SELECT b.id INTO v_bid FROM @.sb_bank b WHERE b.h = sha256(convert_to(p_bank, 'UTF8'));
  IF NOT FOUND THEN o_status := 3; RETURN; END IF;
  v_from := p_hint;
  LOOP
    DELETE FROM @.sb_available a WHERE a.ctid = (
      SELECT s.ctid FROM @.sb_available s
       WHERE s.bank_id = v_bid AND s.seq >= v_from
       ORDER BY s.seq LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING a.seq, a.item INTO o_seq, o_item;
    EXIT WHEN FOUND;
    IF v_from > 0 THEN v_from := 0; CONTINUE; END IF;
    PERFORM FROM @.sb_available s WHERE s.bank_id = v_bid
     ORDER BY s.seq LIMIT 1;
    IF NOT FOUND THEN v_empty := true; EXIT; END IF;
    PERFORM FROM @.sb_available s WHERE s.bank_id = v_bid
     ORDER BY s.seq LIMIT 1 FOR UPDATE;
  END LOOP;
  IF v_empty THEN o_status := 2; RETURN; END IF;
  INSERT INTO @.sb_taken (bank_id, h, item, token, since)
   VALUES (v_bid, sha256(convert_to(o_item, 'UTF8')), o_item, p_token, p_now);
  o_status := 0;
END $f$;
INSERT INTO @.sb_meta (key, value) VALUES ('schema_version', '1') ON CONFLICT (key) DO NOTHING;
