# shellcheck shell=bash
# The original library's algorithm as a same-run baseline (issue 16 part
# 4, issue 14's DynamoDB figure), on the DynamoDB Local of the DynamoDB
# section: tools/bench/original.py (boto3, Debian's /usr/bin/python3)
# beside storagebox, same sizes, one after the other:
#  - claims/s with 1 and 8 processes, new ids, a timed step on a fresh bank
#    (`storagebox bench --procs P --clients 1` against `original.py claims
#    --procs P`), p50/p99 at 8;
#  - the new user's trial: 8 processes, 3,000 seats, 3,500 ids, each id
#    asked once (DDB_LIFE seats; quick: 300);
#  - HTTP requests per claim: storagebox's from tests/dynamodb/ddb_bench
#    (the backend's counters: new id at 1 client, claims at 8 clients on
#    a bank of the timed steps' size), the original's from botocore's
#    before-send event;
#  - bulk add of DDB_BIG items (the DynamoDB section's ddb_bench add, or
#    the one above when that section did not run; original.py add);
#  - items lost when clients are SIGKILLed at random (ORIG_KILLS kills, 8
#    clients, a small bank): the original's loss beside storagebox's zero
#    (`storagebox fetch` processes killed, then `storagebox recover` and
#    loaded = available + assigned);
#  - the Python package's fetch (python_fetch.py, threads) on DynamoDB
#    against the original with as many processes.
# Targets (issue 16): requests per claim at most 0.4 of the original's,
# claims/s at 8 clients at least 3x, bulk add at least 1.0x; issue 14: the
# Python package at least as fast as the original. Expects what lib.sh and
# python.sh expect, and DDB_BENCH, DDB_BIG, DDB_LIFE.

ORIG_PY=/usr/bin/python3

# orig NAME ARGS...: one run of original.py; its JSON in BENCH_JSON (kept
# in "$DATA/NAME.json"; spaces dropped for jnum).
orig() {
	local name=$1 rc=0
	shift
	BENCH_JSON=$(STORAGEBOX_URI=$SB_TEST_DYNAMODB_URI PYTHONDONTWRITEBYTECODE=1 \
		"$ORIG_PY" "$ROOT/tools/bench/original.py" "$@" 2>"$DATA/$name.err") || rc=$?
	take_json "$name" "$rc" original.py || true
}

# orig_row FIGURE SB ORIGINAL [TARGET MIN|MAX V]: a row storagebox against
# the original (ratio storagebox / original).
orig_row() {
	local r
	r=$(ratio "$2" "$3")
	case ${4:-} in
	min) row original "$1" "$5" "$6 (original)" "$r" "≥ $7" "$(at_least "$r" "$7")" ;;
	max) row original "$1" "$5" "$6 (original)" "$r" "≤ $7" "$(at_most "$r" "$7")" ;;
	*) row original "$1" "$5" "$6 (original)" "$r" "" "" ;;
	esac
}

bench_original() {
	local uri=$SB_TEST_DYNAMODB_URI run p items sb or sbr orr ddb line
	local seats=$DDB_LIFE ids kills=${ORIG_KILLS:-200} kitems
	run=$(date +%s)
	# A timed step must not empty the bank (storagebox at 8 processes).
	items=$((SECS * 1500 + 2000))
	ids=$((seats + seats / 6))
	kitems=4000
	if [ "$QUICK" = 1 ]; then
		kills=${ORIG_KILLS:-20} kitems=1000
	fi

	# Claims/s and latency, 1 and 8 processes, new ids, timed.
	for p in 1 8; do
		sbbench "orig-sb-$p" --uri "$uri" -- --procs "$p" --clients 1 \
			--items "$items" --repeat 0 --duration "$SECS"
		local sbj=$BENCH_JSON
		orig "orig-add-$p" add --bank "orig-$run-$p" --items "$items"
		orig "orig-claims-$p" claims --bank "orig-$run-$p" \
			--ledger "orig-$run-$p-dedup" --procs "$p" --duration "$SECS"
		if [ "$(jnum empty "$BENCH_JSON")" != 0 ]; then
			fail "orig-claims-$p: the bank ran out before the end of the step"
		fi
		printf '%s\n' "$BENCH_JSON" >"$DATA/orig-claims-$p.min"
		sb=$(jnum claims_per_s "$sbj") or=$(jnum claims_per_s "$BENCH_JSON")
		if [ "$p" = 8 ]; then
			orig_row "claims/s, 8 processes, new ids ($(num "$items")-item bank, ${SECS} s)" \
				"$sb" "$or" min "$(num "$sb")" "$(num "$or")" 3
			row original "p50 / p99 latency ms, 8 processes" \
				"$(jnum p50_ms "$sbj") / $(jnum p99_ms "$sbj")" \
				"$(jnum p50_ms "$BENCH_JSON") / $(jnum p99_ms "$BENCH_JSON") (original)" \
				"$(ratio "$(jnum p50_ms "$sbj")" "$(jnum p50_ms "$BENCH_JSON")") / $(ratio "$(jnum p99_ms "$sbj")" "$(jnum p99_ms "$BENCH_JSON")")" "" ""
			# Why the original's figure moves with the load: its client's
			# own CPU per claim (boto3), on the cores DynamoDB Local needs.
			row original "client CPU ms per claim, 8 processes (the original's boto3)" \
				"" "$(jnum client_cpu_ms_per_claim "$BENCH_JSON") (original)" "" "" ""
		else
			orig_row "claims/s, 1 process, new ids ($(num "$items")-item bank, ${SECS} s)" \
				"$sb" "$or" "" "$(num "$sb")" "$(num "$or")"
			row original "p50 / p99 latency ms, 1 process" \
				"$(jnum p50_ms "$sbj") / $(jnum p99_ms "$sbj")" \
				"$(jnum p50_ms "$BENCH_JSON") / $(jnum p99_ms "$BENCH_JSON") (original)" \
				"" "" ""
		fi
	done

	# The new user's trial: seats drained by more ids than seats.
	sbbench orig-sb-trial --uri "$uri" -- --procs 8 --clients 1 \
		--items "$seats" --ids "$ids" --repeat 0
	sb=$(jnum claims_per_s "$BENCH_JSON")
	orig orig-add-trial add --bank "orig-$run-trial" --items "$seats"
	orig orig-claims-trial claims --bank "orig-$run-trial" \
		--ledger "orig-$run-trial-dedup" --procs 8 --ids "$ids"
	or=$(jnum claims_per_s "$BENCH_JSON")
	orig_row "claims/s, 8 processes, $(num "$seats") seats and $(num "$ids") ids (each id once)" \
		"$sb" "$or" min "$(num "$sb")" "$(num "$or")" 3

	# Requests per claim: ddb_bench's (the backend's counters) with 8
	# clients on a bank of the timed steps' size (not the DynamoDB
	# section's DDB_BIG bank: see docs/dynamodb.md#benchmark).
	ddb=$DATA/orig-ddb-bench-8.txt
	"$DDB_BENCH" 8 "$items" "$SECS" >"$ddb" 2>&1 ||
		fail "ddb_bench 8 clients: $(tail -n 3 "$ddb")"
	sample_load
	line=$(grep -m1 '^requests per fetch:' "$ddb" || true)
	sbr=$(sed -n 's/.*new id \([0-9.]*\), repeat.*/\1/p' <<<"$line")
	orr=$(jnum requests_per_claim "$(cat "$DATA/orig-claims-1.min")")
	orig_row "HTTP requests per claim, new id, 1 client" "${sbr:-0}" "${orr:-0}" \
		max "${sbr:-?}" "${orr:-?}" 0.4
	sbr=$(sed -n 's/^  claims: .*, \([0-9.]*\) requests\/op,.*/\1/p' "$ddb" | head -n1)
	orr=$(jnum requests_per_claim "$(cat "$DATA/orig-claims-8.min")")
	orig_row "HTTP requests per claim, 8 clients" "${sbr:-0}" "${orr:-0}" \
		max "${sbr:-?}" "${orr:-?}" 0.4

	# Bulk add of the same number of items: the DynamoDB section's
	# DDB_BIG add if it ran, else the add of the run above.
	local added took big=$DATA/ddb-bench-8.txt
	[ -s "$big" ] || big=$ddb
	read -r added took < <(sed -n 's/^add: \([0-9]*\) items in \([0-9.]*\) s.*/\1 \2/p' "$big") || true
	sb=$(per_s "${added:-0}" "${took:-0}")
	orig orig-bulk add --bank "orig-$run-bulk" --items "${added:-$items}"
	or=$(jnum items_per_s "$BENCH_JSON")
	orig_row "bulk add of $(num "${added:-$items}") items, items/s" "$sb" "$or" \
		min "$(num "$sb")" "$(num "$or")" 1.0
	bulk_data DynamoDB-original "${added:-$items}" "$or"

	# Items lost to random SIGKILLs, 8 clients, the same number of kills.
	orig orig-kills kills --bank "orig-$run-kills" --ledger "orig-$run-kills-dedup" \
		--items "$kitems" --procs 8 --kills "$kills"
	local olost okills
	olost=$(jnum lost "$BENCH_JSON") okills=$(jnum kills "$BENCH_JSON")
	orig orig-sb-kills sb-kills --cli "$CLI" --bank "orig-$run-sbkills" \
		--ledger "orig-$run-sbkills-dedup" --items "$kitems" --procs 8 --kills "$kills"
	row original "items lost to $(jnum kills "$BENCH_JSON") / ${okills:-?} random SIGKILLs of 8 clients ($(num "$kitems")-item bank)" \
		"$(jnum lost "$BENCH_JSON") (after recover)" "${olost:-?} (original)" "" "0" \
		"$([ "$(jnum lost "$BENCH_JSON")" = 0 ] && echo met || echo missed)"

	# The Python package (issue 14) against the original, 1 and 8.
	for p in 1 8; do
		pyfetch "orig-python-$p" "$uri" "$p" "$items"
		sb=$(jnum claims_per_s "$BENCH_JSON")
		or=$(jnum claims_per_s "$(cat "$DATA/orig-claims-$p.min")")
		orig_row "Python package fetch claims/s, $p thread$([ "$p" = 1 ] || echo s) (original: $p process$([ "$p" = 1 ] || echo es))" \
			"$sb" "$or" min "$(num "$sb")" "$(num "$or")" 1.0
	done
}
