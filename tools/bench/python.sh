# shellcheck shell=bash
# Python section of tools/bench.sh (issue 14): the Python package's fetch
# (ctypes over the shared library, tools/bench/python_fetch.py: threads
# sharing one storagebox.Box) against `storagebox bench` on the same store
# with as many threads, side by side in the same run: SQLite
# (synchronous=NORMAL) and Redis, 1 and 8 threads, new ids only. Target:
# Python at least 0.8 of the C figure. Expects PY_PATH (the build tree's
# package) besides what lib.sh expects.

# pyfetch NAME URI THREADS ITEMS: one run of python_fetch.py; its JSON in
# BENCH_JSON (kept in "$DATA/NAME.json").
pyfetch() {
	local name=$1 uri=$2 rc=0
	BENCH_JSON=$(STORAGEBOX_URI=$uri PYTHONPATH=$PY_PATH PYTHONDONTWRITEBYTECODE=1 \
		python3 "$ROOT/tools/bench/python_fetch.py" --threads "$3" \
		--items "$4" --duration "$SECS" 2>"$DATA/$name.err") || rc=$?
	if take_json "$name" "$rc" python_fetch.py &&
		[ "$(jnum empty "$BENCH_JSON")" != 0 ]; then
		fail "$name: the bank ran out before the end of the step (make it bigger)"
	fi
}

bench_python() {
	local dir="$DATA/python" store uri label t items c py r
	mkdir -p "$dir"
	for store in sqlite redis; do
		if [ "$store" = sqlite ]; then
			label="SQLite NORMAL"
			items=$((SECS * 25000 + 10000))
		else
			label=Redis
			items=$((SECS * 60000 + 10000))
		fi
		for t in 1 8; do
			# A fresh file for each run: both start from the same state.
			rm -f "$dir"/*.db*
			uri="sqlite:$dir/c.db?synchronous=normal"
			[ "$store" = redis ] && uri=$SB_TEST_REDIS_URI
			sbbench "python-$store-c-$t" --uri "$uri" -- --procs 1 \
				--clients "$t" --items "$items" --repeat 0 --duration "$SECS"
			c=$(jnum claims_per_s "$BENCH_JSON")
			[ "$store" = sqlite ] && uri="sqlite:$dir/py.db?synchronous=normal"
			pyfetch "python-$store-py-$t" "$uri" "$t" "$items"
			py=$(jnum claims_per_s "$BENCH_JSON")
			r=$(ratio "$py" "$c")
			row python "Python fetch claims/s, $label, $t thread$([ "$t" = 1 ] || echo s)" \
				"$(num "$py")" "$(num "$c") (storagebox bench)" "$r" "≥ 0.8" \
				"$(at_least "$r" 0.8)"
		done
	done
	rm -f "$dir"/*.db*
}
