# shellcheck shell=bash
# DynamoDB section of tools/bench.sh (issues 5 and 6), on the DynamoDB
# Local the test script's plug-in starts (in memory). The driver
# tests/dynamodb/ddb_bench.c counts HTTP requests per fetch with the
# backend's own counters (new id, repeat id, after sell-out) and runs
# claims beside a plain GetItem loop and a loop of the smallest
# TransactWriteItems with the same clients; it runs with 1
# and with 8 clients, the second on a DDB_BIG-item bank it adds first (the
# bulk load figure). Then `storagebox bench` for the generic path and for
# the life of a small bank. The comparison with the original library is
# the original section (tools/bench/original.sh).

bench_dynamodb() {
	local uri=$SB_TEST_DYNAMODB_URI out c items claims gets txns r line
	local fused8 sb
	: >"$DATA/clients-dynamodb.dat"
	for c in 1 8; do
		items=$DDB_SMALL
		[ "$c" = 8 ] && items=$DDB_BIG
		out=$("$DDB_BENCH" "$c" "$items" "$SECS" 2>&1) ||
			fail "ddb_bench $c clients: $(tail -n 3 <<<"$out")"
		printf '%s\n' "$out" >"$DATA/ddb-bench-$c.txt"
		line=$(grep -m1 '^requests per fetch:' <<<"$out" || true)
		if [ "$c" = 1 ] && [ -n "$line" ]; then
			ddb_requests_row "new id" "$(sed -n 's/.*new id \([0-9.]*\), repeat.*/\1/p' <<<"$line")"
			ddb_requests_row "repeat id" "$(sed -n 's/.*, repeat id \([0-9.]*\),.*/\1/p' <<<"$line")"
			ddb_requests_row "repeat id after sell-out" "$(sed -n 's/.*repeat id after sell-out \([0-9.]*\).*/\1/p' <<<"$line")"
			ddb_requests_row "new id after sell-out" "$(sed -n 's/.*new id after sell-out \([0-9.]*\).*/\1/p' <<<"$line")"
		fi
		line=$(grep -m1 ' clients: .* claims/s, plain GetItem' <<<"$out" || true)
		claims=$(sed -n 's/.*clients: \([0-9.]*\) claims\/s.*/\1/p' <<<"$line")
		gets=$(sed -n 's/.*plain GetItem \([0-9.]*\) requests\/s.*/\1/p' <<<"$line")
		claims=${claims:-0} gets=${gets:-0}
		r=$(ratio "$claims" "$gets")
		if [ "$c" = 8 ]; then
			row dynamodb "fused claims/s, 8 clients" "$(num "$claims")" \
				"$(num "$gets") (GetItem loop)" "$r" "≥ 0.4" "$(at_least "$r" 0.4)"
			# Against the original: the original section (original.sh).
			local added took
			read -r added took < <(sed -n 's/^add: \([0-9]*\) items in \([0-9.]*\) s.*/\1 \2/p' <<<"$out") || true
			if [ -n "${took:-}" ]; then
				sb=$(per_s "$added" "$took")
				row dynamodb "bulk add of $(num "$items") items, items/s" \
					"$(num "$sb")" "" "" "" ""
				bulk_data DynamoDB "$items" "$sb"
			fi
		else
			row dynamodb "fused claims/s, 1 client" "$(num "$claims")" \
				"$(num "$gets") (GetItem loop)" "$r" "" ""
		fi
		# The ceiling of a claim here: DynamoDB Local runs transactions
		# one at a time, so the smallest one does not gain from clients.
		line=$(grep -m1 ' clients: plain TransactWriteItems' <<<"$out" || true)
		txns=$(sed -n 's/.*plain TransactWriteItems \([0-9.]*\) requests\/s.*/\1/p' <<<"$line")
		if [ -n "$txns" ]; then
			r=$(ratio "$claims" "$txns")
			row dynamodb "fused claims/s, $c client(s), against the smallest transaction" \
				"$(num "$claims")" "$(num "$txns") (TransactWriteItems loop, two puts)" "$r" "" ""
		fi
		printf '%s %s %s\n' "$c" "$claims" "$gets" >>"$DATA/clients-dynamodb.dat"
	done

	# Generic against fused, both through `storagebox bench`.
	sbbench ddb-fused --uri "$uri" -- --clients 8 --items "$DDB_SMALL" \
		--repeat 0 --duration "$SECS"
	fused8=$(jnum claims_per_s "$BENCH_JSON")
	sbbench ddb-generic --uri "$uri" --protocol generic -- --clients 8 \
		--items "$DDB_SMALL" --repeat 0 --duration "$SECS"
	sb=$(jnum claims_per_s "$BENCH_JSON")
	row dynamodb "generic claims/s, 8 clients" "$(num "$sb")" \
		"$(num "$fused8") (fused)" "$(ratio "$sb" "$fused8")" "" ""

	sbbench ddb-life --uri "$uri" -- --clients 8 --items "$DDB_LIFE" --repeat 0
	life_row dynamodb "$DDB_LIFE" "8 clients" 0.8
	life_data dynamodb "DynamoDB Local, $(num "$DDB_LIFE") items, 8 clients"
}

# ddb_requests_row WHAT N: HTTP requests per fetch (target: at most 2).
ddb_requests_row() {
	row dynamodb "HTTP requests per fetch, $1" "${2:-?}" "" "" "≤ 2" \
		"$(at_most "${2:-99}" 2)"
}
