# shellcheck shell=bash
# Holds section of tools/bench.sh (issue 13): `storagebox bench --holds` on
# every chosen store, fused path, 8 threads: the same requests as fetches
# on one bank, then as holds on a fresh one (each new hold confirmed, or
# released by a share of 0.1), both in the same run. Targets: a hold costs
# at most 1.2x a fetch (p50 latency), and a confirm about one round trip
# (its p50 beside the fetch's, which is one round trip on the fused path).

bench_holds() {
	local store uri items r h f c
	for store in sqlite postgresql redis dynamodb; do
		wants "$store" || [ "$HOLDS_ALONE" = 1 ] || continue
		case $store in
		sqlite)
			rm -f "$DATA"/holds.db*
			uri="sqlite:$DATA/holds.db?synchronous=normal"
			items=20000
			;;
		postgresql) uri=$SB_TEST_PG_URI items=20000 ;;
		redis) uri=$SB_TEST_REDIS_URI items=40000 ;;
		dynamodb) uri=$SB_TEST_DYNAMODB_URI items=3000 ;;
		esac
		[ "$QUICK" = 1 ] && items=$((items / 10))
		sbbench "holds-$store" --uri "$uri" -- --holds --procs 1 \
			--clients 8 --items "$items" --repeat 0
		h=$(jnum hold_p50_ms "$BENCH_JSON")
		f=$(jnum fetch_p50_ms "$BENCH_JSON")
		c=$(jnum confirm_p50_ms "$BENCH_JSON")
		r=$(ratio "$h" "$f")
		row holds "hold p50 ms against fetch p50 ms, $store, 8 threads" \
			"$h" "$f (fetch, same run)" "$r" "≤ 1.2" "$(at_most "$r" 1.2)"
		r=$(ratio "$c" "$f")
		row holds "confirm p50 ms against fetch p50 ms (one round trip), $store, 8 threads" \
			"$c" "$f (fetch, same run)" "$r" "≤ 1.2" "$(at_most "$r" 1.2)"
		r=$(ratio "$(jnum hold_claims_per_s "$BENCH_JSON")" \
			"$(jnum fetch_claims_per_s "$BENCH_JSON")")
		row holds "hold+confirm claims/s against fetch claims/s, $store, 8 threads" \
			"$(num "$(jnum hold_claims_per_s "$BENCH_JSON")")" \
			"$(num "$(jnum fetch_claims_per_s "$BENCH_JSON")") (fetch, same run)" \
			"$r" "—" "—"
	done
	rm -f "$DATA"/holds.db*
}
