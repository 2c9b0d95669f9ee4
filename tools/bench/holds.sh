# shellcheck shell=bash
# Holds section of tools/bench.sh (issue 13): `storagebox bench --holds` on
# every chosen store, fused path, 8 threads: the same requests as fetches
# on one bank, then as holds on a fresh one (each new hold confirmed, or
# released by a share of 0.1), both in the same run. Targets: a hold costs
# at most 1.2x a fetch (p50 latency), and a confirm about one round trip
# (its p50 beside the fetch's, which is one round trip on the fused path).
#
# One run's ratio moves by 0.3 on a busy 2-core machine, so each store
# gets --runs $BENCH_HOLDS_RUNS (5) pairs of a fetch run and a hold run,
# each on a fifth of the items (the section takes as long as one big run
# did), and the rows give the medians: of the p50s, and of the runs'
# ratios (the verdict), with every run's ratio beside it.
#
# At 8 threads the p50s are mostly queueing, and the hold run's queue
# holds confirms and releases too. So each store also gets 3 pairs with
# one client (no queue: what one hold costs against one fetch), shown
# beside the verdict, without a target of their own.

bench_holds() {
	local store uri items r h f c runs=${BENCH_HOLDS_RUNS:-5}
	[[ $runs =~ ^([1-9][0-9]?|100)$ ]] || die "BENCH_HOLDS_RUNS wants 1..100 (got '$runs')"
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
		items=$(((items + runs - 1) / runs))
		sbbench "holds-$store" --uri "$uri" -- --holds --runs "$runs" \
			--procs 1 --clients 8 --items "$items" --repeat 0
		h=$(jnum hold_p50_ms "$BENCH_JSON")
		f=$(jnum fetch_p50_ms "$BENCH_JSON")
		c=$(jnum confirm_p50_ms "$BENCH_JSON")
		r=$(jnum hold_ratio "$BENCH_JSON")
		row holds "hold p50 ms against fetch p50 ms, $store, 8 threads, median of $runs runs" \
			"$h" "$f (fetch, same runs)" "$(ratio "$r" 1) (runs: $(runs_of hold_ratios))" \
			"≤ 1.2" "$(at_most "$(ratio "$r" 1)" 1.2)"
		r=$(jnum confirm_ratio "$BENCH_JSON")
		row holds "confirm p50 ms against fetch p50 ms (one round trip), $store, 8 threads, median of $runs runs" \
			"$c" "$f (fetch, same runs)" "$(ratio "$r" 1) (runs: $(runs_of confirm_ratios))" \
			"≤ 1.2" "$(at_most "$(ratio "$r" 1)" 1.2)"
		row holds "hold+confirm claims/s against fetch claims/s, $store, 8 threads, median of $runs runs" \
			"$(num "$(jnum hold_claims_per_s "$BENCH_JSON")")" \
			"$(num "$(jnum fetch_claims_per_s "$BENCH_JSON")") (fetch, same runs)" \
			"$(ratio "$(jnum ratio "$BENCH_JSON")" 1)" "—" "—"
		holds_one_client "$store" "$uri" "$items"
		[ "$store" = dynamodb ] && ddb_index_cost
	done
	rm -f "$DATA"/holds.db*
}

# holds_one_client STORE URI ITEMS: hold and confirm against fetch, one
# client, the medians of 3 runs on ITEMS items each (a fifth of the
# 8-thread runs' share is enough: one client claims less).
holds_one_client() {
	local store=$1 uri=$2 items=$(($3 / 5 + 20))
	sbbench "holds1-$store" --uri "$uri" -- --holds --runs 3 \
		--procs 1 --clients 1 --items "$items" --repeat 0
	row holds "hold p50 ms against fetch p50 ms, $store, 1 client, median of 3 runs" \
		"$(jnum hold_p50_ms "$BENCH_JSON")" "$(jnum fetch_p50_ms "$BENCH_JSON") (fetch, same runs)" \
		"$(ratio "$(jnum hold_ratio "$BENCH_JSON")" 1) (runs: $(runs_of hold_ratios))" "" ""
	row holds "confirm p50 ms against fetch p50 ms, $store, 1 client, median of 3 runs" \
		"$(jnum confirm_p50_ms "$BENCH_JSON")" "$(jnum fetch_p50_ms "$BENCH_JSON") (fetch, same runs)" \
		"$(ratio "$(jnum confirm_ratio "$BENCH_JSON")" 1) (runs: $(runs_of confirm_ratios))" "" ""
}

# runs_of NAME: the runs' ratios of the last JSON, two decimals each.
runs_of() {
	local x out=""
	for x in $(jarr "$1" "$BENCH_JSON"); do out="$out $(ratio "$x" 1)"; done
	printf '%s' "${out# }"
}

# ddb_index_cost: what the deadline index costs DynamoDB Local per hold
# transaction (tools/bench/ddb_index_cost.py: the hold's transaction into
# a held table with and without the index, alternated, one client), the
# server's CPU time per transaction when its pid is known.
ddb_index_cost() {
	local json rc=0 n=1000 pid=${SB_TEST_DYNAMODB_PID:-}
	[ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || pid=0
	[ "$QUICK" = 1 ] && n=200
	BENCH_JSON=$(/usr/bin/python3 "$ROOT/tools/bench/ddb_index_cost.py" \
		--uri "$SB_TEST_DYNAMODB_URI" --count "$n" --pid "$pid" \
		2>"$DATA/ddb-index-cost.err") || rc=$?
	take_json ddb-index-cost "$rc" ddb_index_cost.py || return 0
	json=$BENCH_JSON
	row holds "hold transaction against the claim's (deadline index only), dynamodb, 1 client, p50 ms" \
		"$(jnum hold_p50_ms "$json")" "$(jnum claim_p50_ms "$json") (no index)" \
		"$(ratio "$(jnum p50_ratio "$json")" 1)" "" ""
	[ "$pid" = 0 ] && return 0
	row holds "hold transaction against the claim's (deadline index only), dynamodb, server CPU µs per transaction" \
		"$(jnum hold_cpu_us "$json")" "$(jnum claim_cpu_us "$json") (no index)" \
		"$(ratio "$(jnum cpu_ratio "$json")" 1)" "" ""
}
