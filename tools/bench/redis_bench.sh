#!/usr/bin/env bash
# Redis backend benchmark (issue 4). Not a test: it prints numbers and
# ratios measured in ONE run, on one machine, so compare the ratios.
#
#   bash tools/bench/redis_bench.sh [BUILD_DIR]     (default: build)
#
# Starts its own redis-server (loopback, free port, temp dir, no
# persistence: the numbers are Redis's own speed) and measures:
#   1. fused claims/s at 1, 8, 32 and 64 clients (`storagebox bench`,
#      threads with one box each) beside `redis-benchmark` running EVALSHA
#      of a script that returns 1 with the same number of connections;
#      target: at least 0.8 of that baseline at 32 clients;
#   2. claims/s from a 10,000-item and a 1,000,000-item bank (the same
#      number of claims); target: within 10%;
#   3. bulk add of 1,000,000 items (1,000 per call, as the CLI adds);
#      target: at least 300,000 items/s.
# Each step is bounded (--duration / request counts); the whole run takes
# about a minute. Set SB_BENCH_SECONDS to change the length of each step.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD=${1:-build}
CLI=$BUILD/tools/storagebox
SECS=${SB_BENCH_SECONDS:-5}
[ -x "$CLI" ] || { echo "no $CLI: build first (meson setup $BUILD && ninja -C $BUILD)" >&2; exit 1; }
"$CLI" bench --help >/dev/null
for p in redis-server redis-cli redis-benchmark; do
	command -v "$p" >/dev/null || { echo "$p not found (apt-get install redis-server redis-tools)" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/storagebox-redis-bench.XXXXXX")
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
while :; do PORT=$((20000 + RANDOM % 40000)); port_open "$PORT" || break; done
redis-server --port "$PORT" --bind 127.0.0.1 --dir "$WORK" --save "" \
	--appendonly no --daemonize no --logfile "$WORK/redis.log" \
	</dev/null >/dev/null 2>&1 &
PID=$!
for _ in $(seq 1 100); do redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
URI="redis://127.0.0.1:$PORT/0"
SHA=$(redis-cli -p "$PORT" script load "return 1")

# field NAME JSON: a number from the bench's JSON line.
field() { sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p" <<<"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
bench() { # PREFIX ARGS...: one storagebox bench run, JSON
	local prefix=$1
	shift
	"$CLI" --uri "$URI?prefix=$prefix" bench --repeat 0 --quiet --json "$@"
}
baseline() { # CLIENTS: EVALSHA "return 1" requests/s
	local n=$(( $1 * 4000 < 40000 ? 40000 : $1 * 4000 ))
	redis-benchmark -p "$PORT" -c "$1" -n "$n" -q EVALSHA "$SHA" 0 2>/dev/null |
		tr '\r' '\n' | sed -n 's/.* \([0-9.]*\) requests per second.*/\1/p' | tail -n 1
}

echo "storagebox Redis benchmark: $(redis-server --version | cut -d' ' -f3), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), ${SECS}s steps"
echo
echo "1. fused claims/s against redis-benchmark EVALSHA 'return 1' (same connections)"
printf '%8s %14s %14s %8s\n' clients claims/s baseline ratio
for c in 1 8 32 64; do
	base=$(baseline "$c")
	json=$(bench "c$c-$RANDOM" --clients "$c" --items 200000 --duration "$SECS")
	cps=$(field claims_per_s "$json")
	printf '%8s %14.0f %14.0f %8s\n' "$c" "$cps" "$base" "$(ratio "$cps" "$base")"
	grep -q '"law_holds":true' <<<"$json" || echo "   box law broken: $json"
	[ "$c" = 32 ] && R32=$(ratio "$cps" "$base")
done
echo "   target at 32 clients: >= 0.80; measured ${R32}"
echo
echo "2. bank size: 20,000 claims (8 clients) from a small and a large bank"
small=$(bench "small-$RANDOM" --clients 8 --items 10000 --ids 10000 --duration "$SECS")
large=$(bench "large-$RANDOM" --clients 8 --items 1000000 --ids 20000 --requests 20000 --duration "$SECS")
s_cps=$(field claims_per_s "$small")
l_cps=$(field claims_per_s "$large")
printf '   10,000 items: %.0f claims/s; 1,000,000 items: %.0f claims/s; large/small %s (target 0.90-1.10)\n' \
	"$s_cps" "$l_cps" "$(ratio "$l_cps" "$s_cps")"
echo
echo "3. bulk add (1,000 items per call, one client, as 'storagebox add')"
printf '   1,000,000 items loaded at %.0f items/s (target >= 300,000)\n' "$(field load_items_per_s "$large")"
echo
echo "server: $(redis-cli -p "$PORT" info commandstats | grep -E '^cmdstat_evalsha' | tr -d '\r')"
