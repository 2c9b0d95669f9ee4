# shellcheck shell=bash
# Sourced by tools/test.sh: Valgrind memcheck over one built tree, on every
# store. Two parts, each counted like meson tests:
#   vg_conformance DIR  the conformance program on every store and both
#                       protocols, through `meson test --wrapper valgrind`;
#   vg_cli DIR          one CLI session per store (init, add, fetch, stats,
#                       export, recover, and the error exits), each call
#                       under valgrind, its answers checked.
# A run fails on any memcheck error: invalid access, uninitialised value,
# or a definitely, indirectly or possibly lost block. ("Still reachable"
# is not a leak: libpq and OpenSSL keep a few global blocks until exit.)
# No suppression file: every run on Debian 12 is clean without one.
# Valgrind follows fork() on its own (`bench --procs`, one log per
# process); --trace-children is only for exec, which nothing here does.
# Expects log, section, count_meson_tests and the TOTAL_*/FAILURES
# variables of tools/test.sh.

# 97: an exit code that neither the CLI nor the tests use, so a memcheck
# error is never mistaken for an expected exit status.
VG_EXIT=97
VG_OPTS=("--error-exitcode=$VG_EXIT" --leak-check=full
	"--errors-for-leak-kinds=definite,indirect,possible"
	"--show-leak-kinds=definite,indirect,possible"
	--num-callers=30)

# The conformance runs of tests/meson.build (names as registered there):
# every store, fused and generic.
VG_CONFORMANCE_TESTS=(
	conformance-memory-fused conformance-memory-generic
	conformance-sqlite-fused conformance-sqlite-generic
	conformance-postgresql-fused conformance-postgresql-generic
	conformance-redis-fused conformance-redis-generic
	conformance-redis-unix-fused
	conformance-dynamodb-fused conformance-dynamodb-generic
)

# vg_slow_pg URI: URI with a connect timeout of 60 s. Under valgrind
# PostgreSQL's SCRAM handshake (4096 rounds of HMAC) alone can take longer
# than the backend's 5 s default on a busy machine.
vg_slow_pg() {
	case $1 in
	*\?*) echo "$1&connect_timeout=60" ;;
	*) echo "$1?connect_timeout=60" ;;
	esac
}

# vg_conformance DIR: run those tests of the built tree DIR under memcheck.
vg_conformance() {
	local dir=$1 rc=0 logs=() pg=${SB_TEST_PG_URI:-}
	[ -z "$pg" ] || pg=$(vg_slow_pg "$pg")
	local -x SB_TEST_PG_URI=$pg
	section "$dir: conformance under valgrind memcheck"
	rm -f "$dir"/meson-logs/valgrind*.json
	meson test -C "$dir" --no-rebuild --print-errorlogs \
		--num-processes "$NUM_PROCESSES" --logbase valgrind \
		--wrapper "valgrind --quiet ${VG_OPTS[*]}" \
		"${VG_CONFORMANCE_TESTS[@]}" || rc=$?
	# meson names the log after --logbase and the wrapper's program.
	logs=("$dir"/meson-logs/valgrind*.json)
	count_meson_tests "$dir (valgrind)" "${logs[0]}" "$rc"
}

# ---------------------------------------------------------------- CLI

VG_SB=""      # the storagebox binary
VG_LOGS=""    # the session's directory: one valgrind log per process
VG_BAD=0      # failed checks in this session
VG_OUT=""     # stdout of the last call, trailing newlines stripped
VG_RC=0

vg_fail() {
	VG_BAD=$((VG_BAD + 1))
	log "  FAIL: $*"
}

# vg_run WANT_RC [ARGS...]: the CLI under memcheck, stdin from $VG_IN;
# checks its exit status.
VG_IN=/dev/null
vg_run() {
	local want=$1
	shift
	VG_RC=0
	valgrind "${VG_OPTS[@]}" --log-file="$VG_LOGS/vg.%p.log" \
		"$VG_SB" "$@" <"$VG_IN" >"$VG_LOGS/out" 2>"$VG_LOGS/err" ||
		VG_RC=$?
	VG_OUT=$(cat "$VG_LOGS/out")
	if [ "$VG_RC" -ne "$want" ]; then
		vg_fail "storagebox $*: exit $VG_RC, want $want" \
			"(stderr: $(head -c 300 "$VG_LOGS/err"))"
	fi
}

# vg_expect WHAT WANT: the last call printed exactly WANT.
vg_expect() {
	[ "$VG_OUT" = "$2" ] || vg_fail "$1: printed '$VG_OUT', want '$2'"
}

# vg_expect_has WHAT TEXT: the last call's output contains TEXT.
vg_expect_has() {
	[[ $VG_OUT == *"$2"* ]] || vg_fail "$1: '$2' not in '$VG_OUT'"
}

# vg_cli_session NAME URI: the CLI's commands on one store; the URI goes
# through $STORAGEBOX_URI, never on a command line. Names are unique per
# run, as the store may be shared. Returns 1 if a check failed.
vg_cli_session() {
	local name=$1 uri=$2 tag="vgcli-$$-$RANDOM"
	local bank="$tag-bank" ledger="$tag-ledger" first
	local -x STORAGEBOX_URI=$uri
	VG_BAD=0
	VG_IN=/dev/null
	vg_run 0 init "$bank" "$ledger"
	printf 'item-1\nitem-2\nitem-2\n' >"$VG_LOGS/items"
	VG_IN=$VG_LOGS/items
	vg_run 0 add "$bank" -
	VG_IN=/dev/null
	vg_expect add "added 2, skipped 1"
	vg_run 0 fetch "$bank" "$ledger" id-1
	first=$VG_OUT
	[[ $first == item-[12] ]] || vg_fail "fetch printed '$first'"
	vg_run 0 --protocol generic fetch "$bank" "$ledger" id-1
	vg_expect "second fetch of id-1 (generic)" "$first"
	vg_run 0 stats "$bank" "$ledger"
	vg_expect_has stats "available: 1"
	vg_expect_has stats "assigned: 1"
	vg_run 0 export "$ledger"
	vg_expect_has export "id-1,$bank,$first"
	vg_run 0 recover "$bank" "$ledger" --min-age 0
	vg_expect recover "settled 0, put back 0"
	vg_run 0 --protocol generic fetch "$bank" "$ledger" id-2
	vg_run 3 fetch "$bank" "$ledger" id-3        # the bank is empty
	vg_run 1 fetch "$tag-nobank" "$ledger" id-9  # an error from the store
	if [ "$name" = sqlite ]; then
		vg_run 2 fetch "$bank"                   # usage error
		# Threads and forked processes in one CLI call.
		vg_run 0 bench --items 40 --clients 2 --procs 2 --quiet
	fi

	# Every process's log must end with no memcheck error.
	local f n=0
	for f in "$VG_LOGS"/vg.*.log; do
		[ -e "$f" ] || continue
		n=$((n + 1))
		if ! grep -q 'ERROR SUMMARY: 0 errors' "$f"; then
			vg_fail "memcheck errors:"
			cat "$f"
		fi
	done
	[ "$n" -gt 0 ] || vg_fail "no valgrind log written"
	log "cli-$name under valgrind: $n processes, $VG_BAD failed checks"
	[ "$VG_BAD" -eq 0 ]
}

# vg_cli DIR: one session per store, all at once (valgrind runs one
# thread at a time; the stores wait on their servers); each is one test.
vg_cli() {
	local dir=$1 store var uri passed=0 failed=0 work
	local -a stores=() pids=()
	section "$dir: CLI under valgrind memcheck"
	VG_SB=$(readlink -f "$dir/tools/storagebox") || VG_SB=""
	work=$(mktemp -d "${TMPDIR:-/tmp}/sb-vg.XXXXXX")
	# Fake credentials for DynamoDB Local, as tests/dynamodb does.
	local -x AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-fake}
	local -x AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-fake}
	for store in sqlite: postgresql:SB_TEST_PG_URI redis:SB_TEST_REDIS_URI \
		dynamodb:SB_TEST_DYNAMODB_URI; do
		var=${store#*:}
		store=${store%%:*}
		uri=${var:+${!var:-}}
		[ -n "$var" ] || uri="sqlite:$work/cli.db"
		# A store without its server is a failure, as a skip is.
		if [ -z "$uri" ] || [ ! -x "$VG_SB" ]; then
			FAILURES+=("$dir (valgrind): cli-$store: not run (${var:-binary} missing)")
			failed=$((failed + 1))
			continue
		fi
		[ "$store" != postgresql ] || uri=$(vg_slow_pg "$uri")
		mkdir "$work/$store"
		VG_LOGS=$work/$store vg_cli_session "$store" "$uri" \
			>"$work/$store.out" 2>&1 &
		stores+=("$store")
		pids+=($!)
	done
	local i
	for i in "${!pids[@]}"; do
		store=${stores[i]}
		if wait "${pids[i]}"; then
			passed=$((passed + 1))
		else
			FAILURES+=("$dir (valgrind): failed: cli-$store")
			failed=$((failed + 1))
		fi
		cat "$work/$store.out"
	done
	rm -rf "$work"
	log "$dir (valgrind CLI): $passed passed, $failed failed"
	TOTAL_PASSED=$((TOTAL_PASSED + passed))
	TOTAL_FAILED=$((TOTAL_FAILED + failed))
}
