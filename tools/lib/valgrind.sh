# shellcheck shell=bash
# Sourced by tools/test.sh: Valgrind memcheck over one built tree, on every
# store. Two parts, each counted like meson tests:
#   vg_conformance DIR  the conformance runs on one store each (suite
#                       'conformance' but not 'mixed': the mixed runs add
#                       no code of their own and would double the time),
#                       through `meson test --wrapper valgrind`;
#   vg_cli DIR          the CLI contract (suite 'cli': all of it on SQLite,
#                       its store part on every server), every CLI call
#                       under valgrind through $SB_TEST_WRAPPER, which
#                       tests/cli/cli_test.sh puts in front of each.
# A run fails on any memcheck error: invalid access, uninitialised value,
# or a definitely, indirectly or possibly lost block. ("Still reachable"
# is not a leak: libpq and OpenSSL keep a few global blocks until exit.)
# No suppression file: every run on Debian 12 is clean without one.
# Valgrind follows fork() on its own (`bench --procs`, one log per
# process); --trace-children is only for exec, which nothing here does.
# Expects log, section, count_meson_tests, NUM_PROCESSES and the
# TOTAL_*/FAILURES variables of tools/test.sh.

# 97: an exit code that neither the CLI nor the tests use, so a memcheck
# error is never mistaken for an expected exit status.
VG_EXIT=97
VG_OPTS=("--error-exitcode=$VG_EXIT" --leak-check=full
	"--errors-for-leak-kinds=definite,indirect,possible"
	"--show-leak-kinds=definite,indirect,possible"
	--num-callers=30)

# vg_slow_pg URI: URI with a connect timeout of 60 s. Under valgrind
# PostgreSQL's SCRAM handshake (4096 rounds of HMAC) alone can take longer
# than the backend's 5 s default on a busy machine.
vg_slow_pg() {
	case $1 in
	*\?*) echo "$1&connect_timeout=60" ;;
	*) echo "$1?connect_timeout=60" ;;
	esac
}

# vg_meson_test DIR LOGBASE LABEL MESON_TEST_ARGS...: run the tests of the
# built tree DIR that the arguments select (and wrap), and count them.
vg_meson_test() {
	local dir=$1 base=$2 label=$3 rc=0 pg=${SB_TEST_PG_URI:-} logs=()
	shift 3
	[ -z "$pg" ] || pg=$(vg_slow_pg "$pg")
	local -x SB_TEST_PG_URI=$pg
	rm -f "$dir/meson-logs/$base"*.json
	meson test -C "$dir" --no-rebuild --print-errorlogs \
		--num-processes "$NUM_PROCESSES" --logbase "$base" "$@" || rc=$?
	# With --wrapper, meson adds the wrapper's program to the log's name.
	logs=("$dir/meson-logs/$base"*.json)
	count_meson_tests "$label" "${logs[0]}" "$rc"
}

# vg_conformance DIR: the conformance program under memcheck.
vg_conformance() {
	section "$1: conformance under valgrind memcheck"
	vg_meson_test "$1" valgrind "$1 (valgrind)" \
		--wrapper "valgrind --quiet ${VG_OPTS[*]}" \
		--suite conformance --no-suite mixed
}

# vg_cli DIR: the CLI contract with every CLI call under memcheck; then
# every process's log must show no error (a forked process's error does
# not reach the exit status of the call).
vg_cli() {
	local dir=$1 logs f n=0 bad=0
	section "$dir: CLI contract under valgrind memcheck"
	logs=$(mktemp -d "${TMPDIR:-/tmp}/sb-vg.XXXXXX")
	local -x SB_TEST_WRAPPER="valgrind ${VG_OPTS[*]} --log-file=$logs/vg.%p.log"
	# valgrind makes each call ~20 times slower.
	vg_meson_test "$dir" valgrind-cli "$dir (valgrind CLI)" \
		--suite cli --timeout-multiplier 4
	for f in "$logs"/vg.*.log; do
		[ -e "$f" ] || continue
		n=$((n + 1))
		if ! grep -q 'ERROR SUMMARY: 0 errors' "$f"; then
			bad=$((bad + 1))
			cat "$f"
		fi
	done
	log "$dir (valgrind CLI): $n processes, $bad with memcheck errors"
	if [ "$n" -eq 0 ] || [ "$bad" -gt 0 ]; then
		FAILURES+=("$dir (valgrind CLI): $n process logs, $bad with errors")
		TOTAL_FAILED=$((TOTAL_FAILED + 1))
	fi
	rm -rf "$logs"
}
