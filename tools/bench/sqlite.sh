# shellcheck shell=bash
# SQLite section of tools/bench.sh (issue 6): WAL, one file shared by 1, 2
# and 4 processes (one client each), at synchronous=FULL (the default) and
# NORMAL, beside tools/bench/sqlite_raw, the same transaction through the
# sqlite3 API alone. The raw loop runs twice: with the busy handler
# storagebox uses (the baseline) and with sqlite3_busy_timeout (to show
# which one wins here). Then the generic path, the bulk load and the life
# of a bank. The files live under the build tree: on the project's disk,
# never on a tmpfs where fsync would cost nothing.

bench_sqlite() {
	local dir="$DATA/sqlite" sync p items json sb raw rawt r
	local fused_normal1=0
	mkdir -p "$dir"
	# Enough items that no run drains its bank (NORMAL, 1 process:
	# ~15,000 claims/s here).
	items=$((SECS * 25000 + 10000))
	: >"$DATA/clients-sqlite.dat"
	for p in 1 2 4; do
		printf '%s' "$p" >>"$DATA/clients-sqlite.dat"
		for sync in full normal; do
			rm -f "$dir"/*.db*
			sbbench "sqlite-$sync-$p" --uri "sqlite:$dir/sb.db?synchronous=$sync" -- \
				--procs "$p" --clients 1 --items "$items" --repeat 0 \
				--duration "$SECS"
			sb=$(jnum claims_per_s "$BENCH_JSON")
			[ "$sync/$p" = normal/1 ] && fused_normal1=$sb
			json=$("$SQLITE_RAW" "$dir/raw.db" "$sync" "$p" "$SECS" "$items")
			raw=$(jnum claims_per_s "$json")
			json=$("$SQLITE_RAW" "$dir/rawt.db" "$sync" "$p" "$SECS" "$items" timeout)
			rawt=$(jnum claims_per_s "$json")
			r=$(ratio "$sb" "$raw")
			row sqlite "fused claims/s, synchronous=${sync^^}, $p process$([ "$p" = 1 ] || echo es)" \
				"$(num "$sb")" "$(num "$raw") (raw loop)" "$r" "≥ 0.8" "$(at_least "$r" 0.8)"
			row sqlite-busy "raw loop, synchronous=${sync^^}, $p process$([ "$p" = 1 ] || echo es)" \
				"$(num "$raw")" "$(num "$rawt")" "$(ratio "$raw" "$rawt")"
			printf ' %s %s' "$sb" "$raw" >>"$DATA/clients-sqlite.dat"
		done
		printf '\n' >>"$DATA/clients-sqlite.dat"
	done

	# The generic path (reserve, record, settle: three transactions) on
	# the same store, against the fused figure above.
	rm -f "$dir"/*.db*
	sbbench sqlite-generic --uri "sqlite:$dir/sb.db?synchronous=normal" \
		--protocol generic -- --procs 1 --clients 1 --items "$items" \
		--repeat 0 --duration "$SECS"
	sb=$(jnum claims_per_s "$BENCH_JSON")
	row sqlite "generic claims/s, synchronous=NORMAL, 1 process" "$(num "$sb")" \
		"$(num "$fused_normal1") (fused)" "$(ratio "$sb" "$fused_normal1")" "" ""

	# Bulk load and the life of the bank: one run loads BIG items (1,000
	# per call, as `storagebox add` does) and drains them all.
	rm -f "$dir"/*.db*
	sbbench sqlite-life --uri "sqlite:$dir/sb.db?synchronous=normal" -- \
		--procs 1 --clients 1 --items "$BIG" --repeat 0
	row sqlite "bulk add of $(num "$BIG") items, items/s" \
		"$(num "$(jnum load_items_per_s "$BENCH_JSON")")" "" "" "" ""
	bulk_data SQLite "$BIG" "$(jnum load_items_per_s "$BENCH_JSON")"
	life_row sqlite "$BIG" "1 process, NORMAL"
	life_data sqlite "SQLite, $(num "$BIG") items, 1 process, NORMAL"
	rm -f "$dir"/*.db*
}
