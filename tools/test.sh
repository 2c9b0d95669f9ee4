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
# A skipped test counts as a failure: every suite must run, every time.
# Re-running reuses both build trees. The last line printed is
# "N passed, N failed", summed over both runs; the exit status is 0 only
# when nothing failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

# Debian packages the build and the tests need. A backend whose tests need
# a server adds the server's package here, next to its start_ function.
# (libc6-dev, only recommended by gcc, comes as a dependency of
# libsqlite3-dev; python3 comes with meson.)
PACKAGES=(meson ninja-build gcc pkg-config libsqlite3-dev)

# Servers started before the tests, in this order (start_<name> below).
SERVERS=(sqlite)

# meson test --num-processes. Each test's own timeout (tests/meson.build,
# set well above its sanitized run time) bounds the whole script.
NUM_PROCESSES=2

# shellcheck source=tools/lib/servers.sh
. tools/lib/servers.sh

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

# result_lines LOG RESULT...: the lines of meson's testlog.json (one JSON
# object per test) whose result is one of these. A test's own output is
# escaped inside its line, so only the real "result" field can match.
result_lines() {
	local log=$1 pattern
	shift
	pattern=$(printf '"result": "%s"\\|' "$@")
	grep "${pattern%\\|}" "$log" || true
}

# count_results LOG RESULT...: how many tests ended so.
count_results() { result_lines "$@" | grep -c . || true; }

# note_tests DIR LOG WHY RESULT...: add the names of those tests to FAILURES.
note_tests() {
	local dir=$1 log=$2 why=$3 name
	shift 3
	while IFS= read -r name; do
		FAILURES+=("$dir: $why: $name")
	done < <(result_lines "$log" "$@" |
		sed 's/^{"name": "\(\([^"\\]\|\\.\)*\)".*/\1/')
}

# run_tree NAME MESON_OPTIONS...: configure, build and test one tree, and
# add its results to the totals. Never exits: a failure is counted.
run_tree() {
	local dir=$1
	shift
	local -a test_args=(--num-processes "$NUM_PROCESSES" --print-errorlogs --no-rebuild)

	section "$dir: configure ($*)"
	if ! setup_tree "$dir" "$@"; then
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

	if [ ! -s "$json" ]; then
		FAILURES+=("$dir: meson test ran no test (status $rc)")
		TOTAL_FAILED=$((TOTAL_FAILED + 1))
		return 0
	fi
	local passed failed skipped
	passed=$(count_results "$json" OK EXPECTEDFAIL)
	failed=$(count_results "$json" FAIL UNEXPECTEDPASS TIMEOUT ERROR INTERRUPT)
	skipped=$(count_results "$json" SKIP)
	note_tests "$dir" "$json" failed FAIL UNEXPECTEDPASS TIMEOUT ERROR INTERRUPT
	# A skip means a suite did not prove what it tests: a failure.
	note_tests "$dir" "$json" skipped SKIP
	failed=$((failed + skipped))
	if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
		FAILURES+=("$dir: meson test exited with status $rc")
		failed=1
	fi
	log "$dir: $passed passed, $failed failed ($skipped of them skipped)"
	TOTAL_PASSED=$((TOTAL_PASSED + passed))
	TOTAL_FAILED=$((TOTAL_FAILED + failed))
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

section "stopping servers"
stop_servers

section "summary (${SECONDS}s)"
if [ ${#FAILURES[@]} -gt 0 ]; then
	printf '  %s\n' "${FAILURES[@]}"
fi
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
[ "$TOTAL_FAILED" -eq 0 ]
