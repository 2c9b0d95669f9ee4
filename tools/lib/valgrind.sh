# shellcheck shell=bash
# Sourced by tools/test.sh: Valgrind memcheck over one built tree, on every
# store, in one `meson test --wrapper tools/lib/memcheck.sh`:
#   - the conformance runs on one store each (suite 'conformance' but not
#     'mixed': the mixed runs add no code of their own and would double
#     the time);
#   - the CLI contract's store part on SQLite and Redis (suite
#     'cli-memcheck': a session of every command and a bench of threads
#     and forked processes, tests/cli/cli_test.sh), every CLI call under
#     valgrind (the contract puts the wrapper's $SB_TEST_WRAPPER in front
#     of each). Not on PostgreSQL and DynamoDB: the CLI's code is the same
#     on every store, their backends' code is in the conformance runs, and
#     those two contracts took 150 s and 110 s, the step's whole length.
#     The rest of the contract (help, usage, formats on SQLite files) runs
#     in the plain and ASan trees only: under valgrind it would add about
#     100 CLI processes, 80 s of CPU, for no store code.
# A test fails on a memcheck error (status 97, memcheck.sh); then every
# process's log must show none either (a forked process's error does not
# reach its parent's status), and there must be logs at all.
# Expects log, section, count_meson_tests, ROOT and the TOTAL_*/FAILURES
# variables of tools/test.sh.

# Tests at once. Valgrind runs the threads of a process one at a time, and
# the server runs wait on their servers (DynamoDB Local above all): twice
# the cores (two) keeps them busy.
VG_PROCESSES=4

# vg_slow_pg URI: URI with a connect timeout of 60 s. Under valgrind
# PostgreSQL's SCRAM handshake (4096 rounds of HMAC) alone can take longer
# than the backend's 5 s default on a busy machine.
vg_slow_pg() {
	case $1 in
	*\?*) echo "$1&connect_timeout=60" ;;
	*) echo "$1?connect_timeout=60" ;;
	esac
}

# vg_tree DIR: those tests of the built tree DIR under memcheck, counted
# like meson tests; the process logs' check counts as one more failure.
vg_tree() {
	local dir=$1 rc=0 pg=${SB_TEST_PG_URI:-} logs f n=0 bad=0 json=()
	section "$dir: conformance and CLI contract under valgrind memcheck"
	[ -z "$pg" ] || pg=$(vg_slow_pg "$pg")
	local -x SB_TEST_PG_URI=$pg
	logs=$(mktemp -d "${TMPDIR:-/tmp}/sb-vg.XXXXXX")
	rm -f "$dir"/meson-logs/valgrind*.json
	# valgrind makes a process 10 to 50 times slower.
	meson test -C "$dir" --no-rebuild --print-errorlogs \
		--num-processes "$VG_PROCESSES" --logbase valgrind \
		--wrapper "bash $ROOT/tools/lib/memcheck.sh $logs" \
		--timeout-multiplier 3 \
		--suite conformance --suite cli-memcheck --no-suite mixed || rc=$?
	# meson names the log after --logbase and the wrapper's program.
	json=("$dir"/meson-logs/valgrind*.json)
	count_meson_tests "$dir (valgrind)" "${json[0]}" "$rc"

	for f in "$logs"/vg.*.log; do
		[ -e "$f" ] || continue
		n=$((n + 1))
		if ! grep -q 'ERROR SUMMARY: 0 errors' "$f"; then
			bad=$((bad + 1))
			cat "$f"
		fi
	done
	log "$dir (valgrind): $n process logs, $bad with memcheck errors"
	if [ "$n" -eq 0 ] || [ "$bad" -gt 0 ]; then
		FAILURES+=("$dir (valgrind): $n process logs, $bad with errors")
		TOTAL_FAILED=$((TOTAL_FAILED + 1))
	fi
	rm -rf "$logs"
}
