#!/usr/bin/env bash
# Fuzz every parser of untrusted bytes with libFuzzer for a bounded time:
#
#   bash tools/fuzz.sh [SECONDS_PER_TARGET]     (default 60)
#
# Targets (tests/fuzz/fuzz_NAME.c): uri (the URI parser and the options
# sb_box_open reads), lines (the line reader of `storagebox add`),
# dynamodb (response and error bodies), redis (replies, through hiredis's
# reader). None needs a server.
#
# It installs clang and libFuzzer (Debian 12: clang, libclang-rt-14-dev),
# builds build-fuzz with clang, -fsanitize=fuzzer,address,undefined, runs
# the targets all at once, each seeded from tests/fuzz/corpus/NAME and
# tests/fuzz/regress/NAME, with inputs up to 64 KiB and leak detection on.
# New inputs and crash artifacts go to a temporary directory, never into
# the source tree. Prints one line per target; exits 1 if any target
# crashed, leaked, timed out or failed to run, naming the reproducer.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SECONDS_PER_TARGET=${1:-60}
case $SECONDS_PER_TARGET in
'' | *[!0-9]*) echo "usage: bash tools/fuzz.sh [SECONDS_PER_TARGET]" >&2; exit 2 ;;
esac
TARGETS=(uri lines dynamodb redis)
# All four at once on two cores: each gets about half a core for its
# SECONDS_PER_TARGET (wall time), half the inputs of one at a time, and
# the whole step takes one period instead of two (the test command's
# time; FUZZ_PARALLEL=2 runs them as before).
PARALLEL=${FUZZ_PARALLEL:-4}
MAX_LEN=65536
BUILD=build-fuzz

# What the build needs (as tools/test.sh installs for its trees), plus
# clang and its libFuzzer runtime. Read by ensure_packages.
# shellcheck disable=SC2034
PACKAGES=(meson ninja-build pkg-config clang libclang-rt-14-dev
	libsqlite3-dev libhiredis-dev libcurl4-openssl-dev libcjson-dev libssl-dev)

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { log "error: $*" >&2; exit 1; }
# shellcheck source=tools/lib/packages.sh
. tools/lib/packages.sh

ensure_packages
command -v clang >/dev/null 2>&1 || die "clang not found"

# ---------------------------------------------------------------- build

# Every target must be built: a missing client library is an error here,
# not a target silently left out. fuzzer-no-link instruments the library
# too, so the fuzzers see coverage inside it, not only in the target file.
OPTS=(-Dfuzz=true -Dtests=true -Dsqlite=enabled -Dredis=enabled
	-Ddynamodb=enabled -Dpostgresql=disabled -Dbuildtype=debugoptimized
	"-Db_sanitize=address,undefined" -Db_lundef=false
	-Dc_args=-fsanitize=fuzzer-no-link)
log "configuring $BUILD (clang, libFuzzer, ASan, UBSan)"
SETUP_LOG=$(mktemp "${TMPDIR:-/tmp}/storagebox-fuzz-setup.XXXXXX")
if [ -f "$BUILD/meson-private/coredata.dat" ]; then
	meson setup --reconfigure "$BUILD" "${OPTS[@]}" >"$SETUP_LOG" 2>&1 ||
		CC=clang meson setup --wipe "$BUILD" "${OPTS[@]}" >"$SETUP_LOG" 2>&1 ||
		{ cat "$SETUP_LOG"; die "meson setup failed"; }
else
	CC=clang meson setup "$BUILD" "${OPTS[@]}" >"$SETUP_LOG" 2>&1 ||
		{ cat "$SETUP_LOG"; die "meson setup failed"; }
fi
rm -f "$SETUP_LOG"
grep -q "^C compiler for the host machine: clang" "$BUILD/meson-logs/meson-log.txt" ||
	die "$BUILD is not a clang build: remove it and run again"
# Only the fuzzers (and the library they link), not the whole test tree.
ninja -C "$BUILD" "${TARGETS[@]/#/tests/fuzz/fuzz_}" >/dev/null ||
	die "building the fuzz targets failed (ninja -C $BUILD tests/fuzz/fuzz_uri ...)"

# ---------------------------------------------------------------- run

OUT=$(mktemp -d "${TMPDIR:-/tmp}/storagebox-fuzz.XXXXXX")
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

# run_target NAME: fuzz one target; its log and artifacts under $OUT/NAME.
run_target() {
	local name=$1 dir=$OUT/$1
	mkdir -p "$dir/corpus" "$dir/artifacts"
	# New inputs go to the first (temporary) directory; the others seed.
	"$BUILD/tests/fuzz/fuzz_$name" \
		-max_total_time="$SECONDS_PER_TARGET" -max_len="$MAX_LEN" \
		-timeout=10 -rss_limit_mb=2048 -detect_leaks=1 \
		-print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
		"$dir/corpus" "tests/fuzz/corpus/$name" "tests/fuzz/regress/$name" \
		>"$dir/log" 2>&1 && echo 0 >"$dir/rc" || echo $? >"$dir/rc"
}

log "fuzzing ${TARGETS[*]}: ${SECONDS_PER_TARGET} s each, $PARALLEL at a time"
pids=()
for name in "${TARGETS[@]}"; do
	if [ ${#pids[@]} -ge "$PARALLEL" ]; then
		wait "${pids[0]}" || true
		pids=("${pids[@]:1}")
	fi
	run_target "$name" &
	pids+=($!)
done
for pid in "${pids[@]}"; do
	wait "$pid" || true
done

# ---------------------------------------------------------------- report

failed=0
for name in "${TARGETS[@]}"; do
	dir=$OUT/$name
	rc=$(cat "$dir/rc" 2>/dev/null || echo '?')
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n 1)
	cov=$({ grep -o 'cov: [0-9]* ft: [0-9]*' "$dir/log" || true; } | tail -n 1)
	corp=$(find "$dir/corpus" -type f | wc -l)
	if [ "$rc" = 0 ]; then
		printf '  %-9s ok      %s execs, %s, %s new inputs\n' \
			"$name" "${execs:-?}" "${cov:-cov: ?}" "$corp"
		continue
	fi
	failed=1
	printf '  %-9s FAILED  (exit %s) after %s execs\n' "$name" "$rc" "${execs:-?}"
	echo "---- last lines of $dir/log:"
	tail -n 40 "$dir/log" | sed 's/^/    /'
	for a in "$dir"/artifacts/*; do
		[ -e "$a" ] || continue
		echo "  reproducer: $a"
		echo "    replay:   $BUILD/tests/fuzz/fuzz_$name $a"
		echo "    keep it:  cp $a tests/fuzz/regress/$name/ (after fixing the bug)"
	done
done

if [ "$failed" -ne 0 ]; then
	log "fuzzing found a problem; logs and inputs kept in $OUT"
	exit 1
fi
rm -rf "$OUT"
log "fuzzing: no crash, leak or timeout in ${#TARGETS[@]} targets"
