#!/usr/bin/env bash
# The one test command of storagebox (README, .ci/run):
#
#   bash tools/test.sh
#
# On a fresh Debian 12 machine (root, or a user with sudo) it installs what
# the build and the tests need, starts the servers the backend suites use
# on loopback, and runs every meson test suite twice:
#   build-ci    plain build, warnings are errors (-Wall -Wextra -Werror)
#   build-asan  AddressSanitizer + UndefinedBehaviorSanitizer, leak checks,
#               fault injection compiled in (crash-point tests)
# then the hardening runs:
#   build-tsan  ThreadSanitizer, the multi-threaded stress on every store
#               (tools/lib/tsan.sh)
#   valgrind    memcheck of build-ci's conformance program and CLI
#               contract on every store (tools/lib/valgrind.sh)
#   fuzz        tools/fuzz.sh, 30 s per target (one counted test)
#   format      tools/format.sh: every C file as .clang-format lays it out
#               (one counted test)
# A skipped test counts as a failure: every suite must run, every time.
# Re-running reuses the build trees. The last line printed is
# "N passed, N failed", summed over all runs; the exit status is 0 only
# when nothing failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

# Debian packages the build and the tests need. A backend whose tests need
# a server adds the server's package here, next to its start_ function.
# (libc6-dev, only recommended by gcc, comes as a dependency of
# libsqlite3-dev; python3 comes with meson. groff-base renders the man page
# for the docs-man test; python3-boto3 runs the original's algorithm,
# tools/bench/original.py, in dynamodb-original.)
PACKAGES=(meson ninja-build gcc pkg-config libsqlite3-dev valgrind groff-base
	clang-format python3-boto3)

# Servers started before the tests, in this order (start_<name> below).
SERVERS=(sqlite)

# meson test --num-processes. Each test's own timeout (tests/meson.build,
# set well above its sanitized run time) bounds the whole script. Three on
# two cores: outside the kill tests (which keep both cores busy by
# themselves) about half the CPU time goes idle with two, the tests
# waiting on their servers (DynamoDB Local above all) and on timeouts.
NUM_PROCESSES=3

# shellcheck source=tools/lib/servers.sh
. tools/lib/servers.sh
# shellcheck source=tools/lib/tsan.sh
. tools/lib/tsan.sh
# shellcheck source=tools/lib/valgrind.sh
. tools/lib/valgrind.sh

# ---------------------------------------------------------------- builds

TOTAL_PASSED=0
TOTAL_FAILED=0
FAILURES=()

# setup_tree DIR MESON_OPTIONS...: configure DIR, or refresh it if it exists.
setup_tree() {
	local dir=$1
	shift
	if [ -f "$dir/meson-private/coredata.dat" ]; then
		meson setup --reconfigure "$dir" "$@" ||
			meson setup --wipe "$dir" "$@"
	else
		meson setup "$dir" "$@"
	fi
}

# meson_results JSON: the tests of one `meson test` run, read from its
# testlog JSON (one object per line) with Python's json module: a first
# line "PASSED FAILED SKIPPED", then "failed NAME" or "skipped NAME" for
# each test that did not pass. Every result but OK and EXPECTEDFAIL
# (FAIL, TIMEOUT, ERROR, ...) is a failure; SKIP is counted apart.
meson_results() {
	python3 - "$1" <<-'EOF'
	import json
	import sys

	counts = {"passed": 0, "failed": 0, "skipped": 0}
	notes = []
	with open(sys.argv[1], encoding="utf-8") as log:
	    for line in log:
	        if not line.strip():
	            continue
	        test = json.loads(line)
	        kind = {"OK": "passed", "EXPECTEDFAIL": "passed",
	                "SKIP": "skipped"}.get(test["result"], "failed")
	        counts[kind] += 1
	        if kind != "passed":
	            notes.append(f"{kind} {test['name']}")
	print(counts["passed"], counts["failed"], counts["skipped"])
	print("\n".join(notes))
	EOF
}

# count_meson_tests LABEL JSON STATUS: add the results of one `meson test`
# run (its testlog JSON and exit status) to the totals.
count_meson_tests() {
	local label=$1 json=$2 rc=$3 results passed failed skipped note
	if [ -z "$json" ] || [ ! -s "$json" ] ||
		! results=$(meson_results "$json"); then
		FAILURES+=("$label: no test ran, or no readable log (status $rc)")
		TOTAL_FAILED=$((TOTAL_FAILED + 1))
		return 0
	fi
	read -r passed failed skipped <<<"$results"
	while IFS= read -r note; do
		[ -z "$note" ] || FAILURES+=("$label: ${note/ /: }")
	done < <(tail -n +2 <<<"$results")
	# A skip means a suite did not prove what it tests: a failure.
	failed=$((failed + skipped))
	if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
		FAILURES+=("$label: meson test exited with status $rc")
		failed=1
	fi
	log "$label: $passed passed, $failed failed ($skipped of them skipped)"
	TOTAL_PASSED=$((TOTAL_PASSED + passed))
	TOTAL_FAILED=$((TOTAL_FAILED + failed))
}

# run_tree NAME MESON_OPTIONS... [-- MESON_TEST_ARGS...]: configure, build
# and test one tree (every test, or those the test arguments select), and
# add its results to the totals. Never exits: a failure is counted.
run_tree() {
	local dir=$1
	shift
	local -a options=() test_args=(--num-processes "$NUM_PROCESSES"
		--print-errorlogs --no-rebuild)
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		options+=("$1")
		shift
	done
	[ $# -eq 0 ] || shift
	test_args+=("$@")

	section "$dir: configure (${options[*]})"
	if ! setup_tree "$dir" "${options[@]}"; then
		FAILURES+=("$dir: meson setup")
		TOTAL_FAILED=$((TOTAL_FAILED + 1))
		return 0
	fi

	section "$dir: build"
	if ! ninja -C "$dir"; then
		FAILURES+=("$dir: build")
		TOTAL_FAILED=$((TOTAL_FAILED + 1))
		return 0
	fi

	section "$dir: meson test"
	local json="$dir/meson-logs/testlog.json" rc=0
	rm -f "$json"
	meson test -C "$dir" "${test_args[@]}" || rc=$?
	count_meson_tests "$dir" "$json" "$rc"
}

# run_step NAME COMMAND...: one counted test that is not a meson test.
run_step() {
	local name=$1
	shift
	section "$name"
	if "$@"; then
		log "$name: passed"
		TOTAL_PASSED=$((TOTAL_PASSED + 1))
	else
		log "$name: FAILED (status $?)"
		FAILURES+=("$name")
		TOTAL_FAILED=$((TOTAL_FAILED + 1))
	fi
}

# ---------------------------------------------------------------- main

section "storagebox tests in $ROOT (CI=${CI:-})"
log "$(uname -srm), $(nproc 2>/dev/null || echo '?') cores"

section "packages"
ensure_packages
log "$(meson --version | sed 's/^/meson /'), ninja $(ninja --version), $(gcc --version | head -n 1)"

section "servers"
start_servers

run_tree build-ci --werror

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run_tree build-asan --werror \
	-Db_sanitize=address,undefined -Db_lundef=false -Dfault_injection=true
unset ASAN_OPTIONS UBSAN_OPTIONS

run_tsan_tree build-tsan

# Memcheck over build-ci's binaries (built above: no third build).
vg_tree build-ci

# The C layout of the whole tree.
run_step "format (tools/format.sh)" bash tools/format.sh

# Fuzzing in its short form.
run_step "fuzz (tools/fuzz.sh 30)" bash tools/fuzz.sh 30

section "stopping servers"
redact_logs build-ci build-asan build-tsan
stop_servers

section "summary (${SECONDS}s)"
if [ ${#FAILURES[@]} -gt 0 ]; then
	printf '  %s\n' "${FAILURES[@]}"
fi
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
[ "$TOTAL_FAILED" -eq 0 ]
