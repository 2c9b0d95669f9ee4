# shellcheck shell=bash
# PostgreSQL section of tools/bench.sh (issues 3 and 6), on the server the
# test script's plug-in starts (PostgreSQL 15, default durability: fsync
# and synchronous_commit on). Fused claims/s at 1, 8 and 32 clients beside
# pgbench running a prepared single-row UPDATE by primary key with the
# same clients; the generic path; the bulk load of BIG items beside a raw
# \copy of the same items into a table with a unique index on (bank, item)
# (the target) and into a plain table; the life of that bank
# (drained to the last item by 32 clients); a 10,000-item bank beside it.

bench_postgresql() {
	local uri=$SB_TEST_PG_URI c base sb r items t0 t1 raw uniq ours big_cps i fused8=0 fused32=0
	# psql and pgbench get the URI without its password, and the password
	# in PGPASSWORD: out of ps. (The test server's password needs no
	# percent-decoding: tools/servers/postgresql.sh makes it alphanumeric.)
	local -x PGPASSWORD
	PGPASSWORD=$(uri_password "$uri")
	local pg_uri=${uri/:$PGPASSWORD@/@}
	# psql only: no NOTICEs about tables that are not there yet.
	local bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
	local psql=(env PGOPTIONS='-c client_min_messages=warning' "$bin/psql"
		-X -q -v ON_ERROR_STOP=1 "$pg_uri")
	"${psql[@]}" <<-'EOF'
	DROP TABLE IF EXISTS bench_acct;
	CREATE TABLE bench_acct (id integer PRIMARY KEY, n integer NOT NULL);
	INSERT INTO bench_acct SELECT g, 0 FROM generate_series(1, 100000) g;
	VACUUM ANALYZE bench_acct;
	EOF
	printf '\\set id random(1, 100000)\nUPDATE bench_acct SET n = n + 1 WHERE id = :id;\n' \
		>"$DATA/pg-update.sql"
	# A bank that outlasts the run at 32 clients (~5,000 claims/s here).
	items=$((SECS * 7000 + 10000))
	: >"$DATA/clients-postgresql.dat"
	for c in 1 8 32; do
		base=$("$bin/pgbench" -n -M prepared -f "$DATA/pg-update.sql" -c "$c" -j "$c" \
			-T "$SECS" "$pg_uri" 2>"$DATA/pgbench-$c.err" |
			sed -n 's/^tps = \([0-9.]*\).*/\1/p' | tail -n 1)
		[ -n "$base" ] || { fail "pgbench -c $c: $(tail -n 3 "$DATA/pgbench-$c.err")"; base=0; }
		sbbench "pg-c$c" --uri "$uri" -- --clients "$c" --items "$items" \
			--repeat 0 --duration "$SECS"
		sb=$(jnum claims_per_s "$BENCH_JSON")
		[ "$c" = 8 ] && fused8=$sb
		[ "$c" = 32 ] && fused32=$sb
		r=$(ratio "$sb" "$base")
		if [ "$c" = 32 ]; then
			row postgresql "fused claims/s, 32 clients" "$(num "$sb")" \
				"$(num "$base") (pgbench)" "$r" "≥ 0.7" "$(at_least "$r" 0.7)"
		else
			row postgresql "fused claims/s, $c client$([ "$c" = 1 ] || echo s)" \
				"$(num "$sb")" "$(num "$base") (pgbench)" "$r" "" ""
		fi
		printf '%s %s %s\n' "$c" "$sb" "$base" >>"$DATA/clients-postgresql.dat"
	done
	# Why the gap at 32 clients: the server's own cost. pgbench runs the
	# claim itself with 32 clients on a bank loaded for it, beside the
	# UPDATE baseline again: the statement storagebox sends (SB_PG_HOLD_FAST
	# in backends/postgresql/pg_schema.c, the same text with pgbench's
	# variables as its parameters, each client passing the position it
	# took last, as pg_claim.c does), and sb_claim() when it answers 9.
	local fn_bank=bench-fn-bank fn
	seq -f "bench-item-%010.0f" 1 "$items" |
		STORAGEBOX_URI=$uri "$CLI" add "$fn_bank" - >/dev/null ||
		fail "postgresql: add for the pgbench claim run failed"
	local lh="sha256(convert_to(:ledger, 'UTF8'))" ih="sha256(convert_to('id-' || :id, 'UTF8'))"
	local now='floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint'
	{
		printf '%s\n' '\set id random(1, 1000000000000)' '\set ttl 0'
		printf '%s' "WITH n AS MATERIALIZED (SELECT $now AS now)," \
			" e AS (SELECT l.bank, l.item, l.until_ms FROM storagebox.sb_ledger l" \
			" WHERE l.lh = $lh AND l.ih = $ih)," \
			" t AS (DELETE FROM storagebox.sb_available a WHERE a.ctid = (" \
			"SELECT s.ctid FROM storagebox.sb_available s" \
			" WHERE s.bank_id = (SELECT b.id FROM storagebox.sb_bank b" \
			" WHERE b.h = sha256(convert_to(:bank, 'UTF8')))" \
			" AND s.seq >= :hint::bigint AND NOT EXISTS (SELECT FROM e)" \
			" ORDER BY s.seq LIMIT 1 FOR UPDATE SKIP LOCKED)" \
			" RETURNING a.bank_id, a.seq, a.item)," \
			" i AS (INSERT INTO storagebox.sb_ledger (lh, ih, ledger, dedup_id, bank," \
			" item, until_ms) SELECT $lh, $ih, :ledger, 'id-' || :id, :bank," \
			" t.item, CASE WHEN :ttl::bigint > 0 THEN n.now + :ttl::bigint" \
			" ELSE 0 END FROM t, n" \
			" ON CONFLICT (lh, ih) DO NOTHING RETURNING item, until_ms)," \
			" h AS (INSERT INTO storagebox.sb_taken (bank_id, h, item, token, since," \
			" settled, st, until_ms) SELECT t.bank_id, sha256(convert_to(t.item, 'UTF8'))," \
			" t.item, coalesce(NULL::text, :ledger || chr(10) || 'id-' || :id), n.now, true, 8," \
			" i.until_ms FROM t, i, n WHERE :ttl::bigint > 0)," \
			" p AS (INSERT INTO storagebox.sb_available (bank_id, item)" \
			" SELECT t.bank_id, t.item FROM t WHERE NOT EXISTS (SELECT FROM i))" \
			" SELECT CASE WHEN i.item IS NOT NULL THEN 0" \
			" WHEN e.until_ms = 0 OR e.until_ms > n.now THEN 1 ELSE 9 END AS st," \
			" coalesce(CASE WHEN i.item IS NOT NULL THEN t.seq END, :hint) AS hint," \
			" coalesce(e.bank, :bank), coalesce(i.item, e.item)," \
			" coalesce(i.until_ms, e.until_ms)" \
			" FROM n LEFT JOIN e ON true LEFT JOIN t ON true" \
			" LEFT JOIN i ON true"
		printf ' %s\n' '\gset'
		printf '%s\n' '\if :st = 9' \
			"SELECT coalesce(o_seq, :hint) AS hint FROM storagebox.sb_claim(:bank, :ledger, 'id-' || :id, :hint) \\gset" \
			'\endif'
	} >"$DATA/pg-claim.sql"
	base=$("$bin/pgbench" -n -M prepared -f "$DATA/pg-update.sql" -c 32 -j 32 \
		-T "$SECS" "$pg_uri" 2>"$DATA/pgbench-again.err" |
		sed -n 's/^tps = \([0-9.]*\).*/\1/p' | tail -n 1)
	fn=$("$bin/pgbench" -n -M prepared -D hint=0 -D bank="$fn_bank" -D ledger=bench-fn -f "$DATA/pg-claim.sql" -c 32 -j 32 \
		-T "$SECS" "$pg_uri" 2>"$DATA/pgbench-claim.err" | tee "$DATA/pgbench-claim.out" |
		sed -n 's/^tps = \([0-9.]*\).*/\1/p' | tail -n 1)
	# pgbench reads no answer: the ledger proves the calls claimed.
	local ran claimed
	ran=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$DATA/pgbench-claim.out")
	claimed=$("${psql[@]}" -At -c "SELECT count(*) FROM storagebox.sb_ledger WHERE ledger = 'bench-fn'")
	if [ -z "$fn" ] || [ -z "$base" ] || [ -z "$ran" ]; then
		fail "pgbench (claim statement): $(tail -n 3 "$DATA/pgbench-claim.err")"
	elif [ "${claimed:-0}" -lt $((ran * 99 / 100)) ]; then
		fail "pgbench (claim statement): $ran calls made ${claimed:-0} claims"
	else
		row postgresql "the claim statement alone under pgbench, 32 clients, claims/s" \
			"$(num "$fn")" "$(num "$base") (pgbench UPDATE)" "$(ratio "$fn" "$base")" "" ""
		row postgresql "fused claims/s, 32 clients, against the claim statement alone" \
			"$(num "$fused32")" "$(num "$fn") (pgbench, claim statement)" \
			"$(ratio "$fused32" "$fn")" "" ""
	fi
	"${psql[@]}" -c 'DROP TABLE bench_acct'

	sbbench pg-generic --uri "$uri" --protocol generic -- --clients 8 \
		--items "$items" --repeat 0 --duration "$SECS"
	sb=$(jnum claims_per_s "$BENCH_JSON")
	row postgresql "generic claims/s, 8 clients" "$(num "$sb")" \
		"$(num "$fused8") (fused)" "$(ratio "$sb" "$fused8")" "" ""

	# Raw COPY of the very items the bench loads, into a plain table, and
	# into a table that carries law 6's guarantee the cheapest way: one
	# unique btree index on (bank, item). That one is the honest limit of
	# an add that must skip what the bank ever held; the plain heap is
	# shown beside it.
	seq -f "bench-item-%010.0f" 0 "$((BIG - 1))" >"$DATA/pg-items.txt"
	"${psql[@]}" -c 'DROP TABLE IF EXISTS bench_rawcopy' \
		-c 'CREATE TABLE bench_rawcopy (item text)'
	t0=$(now)
	"${psql[@]}" -c "\\copy bench_rawcopy (item) FROM '$DATA/pg-items.txt'"
	t1=$(now)
	"${psql[@]}" -c 'DROP TABLE bench_rawcopy'
	raw=$(per_s "$BIG" "$(calc "$t1 - $t0")")
	"${psql[@]}" -c 'DROP TABLE IF EXISTS bench_rawuniq' \
		-c 'CREATE TABLE bench_rawuniq (bank integer NOT NULL DEFAULT 1, item text NOT NULL, UNIQUE (bank, item))'
	t0=$(now)
	"${psql[@]}" -c "\\copy bench_rawuniq (item) FROM '$DATA/pg-items.txt'"
	t1=$(now)
	"${psql[@]}" -c 'DROP TABLE bench_rawuniq'
	rm -f "$DATA/pg-items.txt"
	uniq=$(per_s "$BIG" "$(calc "$t1 - $t0")")

	sbbench pg-life --uri "$uri" -- --clients 32 --items "$BIG" --repeat 0
	ours=$(jnum load_items_per_s "$BENCH_JSON")
	r=$(ratio "$ours" "$uniq")
	row postgresql "bulk add of $(num "$BIG") items, items/s" "$(num "$ours")" \
		"$(num "$uniq") (raw COPY, unique index on bank and item)" "$r" "≥ 0.5" \
		"$(at_least "$r" 0.5)"
	row postgresql "bulk add of $(num "$BIG") items against a plain heap, items/s" \
		"$(num "$ours")" "$(num "$raw") (raw COPY, no index)" "$(ratio "$ours" "$raw")" "" ""
	bulk_data PostgreSQL "$BIG" "$ours"
	life_row postgresql "$BIG" "32 clients" 0.8
	life_data postgresql "PostgreSQL, $(num "$BIG") items, 32 clients"
	big_cps=$(jnum claims_per_s "$BENCH_JSON")

	# A short run: the median of three.
	local small=()
	for i in 1 2 3; do
		sbbench "pg-small-$i" --uri "$uri" -- --clients 32 --items 10000 --repeat 0
		small+=("$(jnum claims_per_s "$BENCH_JSON")")
	done
	sb=$(median "${small[@]}")
	r=$(ratio "$big_cps" "$sb")
	row postgresql "claims/s draining a $(num "$BIG")-item bank, 32 clients" \
		"$(num "$big_cps")" "$(num "$sb") (10,000-item bank)" "$r" \
		"0.8 – 1.2" "$(within "$r" 0.8 1.2)"
}
