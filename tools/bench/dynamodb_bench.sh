#!/usr/bin/env bash
# DynamoDB benchmark: starts DynamoDB Local (as the test script does), then
# runs the driver (tests/dynamodb/ddb_bench.c): requests per fetch (new,
# repeat, after sell-out) and claims/s with N clients beside a plain
# GetItem loop. Ratios matter, not absolute figures (shared machines).
#
#   bash tools/bench/dynamodb_bench.sh [BUILD_DIR [CLIENTS [ITEMS [SECONDS]]]]
#
# BUILD_DIR defaults to build-bench (configured here, release, no
# sanitizers). With SB_TEST_DYNAMODB_URI set, that endpoint is used and no
# server is started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
BUILD=${1:-build-bench}
CLIENTS=${2:-8}
ITEMS=${3:-3000}
SECS=${4:-10}

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The server plug-in knows where the emulator lives (and fetches it once).
PACKAGES=() SERVERS=()
# shellcheck source=tools/servers/dynamodb.sh
. tools/servers/dynamodb.sh

if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" -Dbuildtype=release -Ddynamodb=enabled >/dev/null
fi
ninja -C "$BUILD" tests/dynamodb/ddb_bench >/dev/null

PID=
WORK=$(mktemp -d "${TMPDIR:-/tmp}/storagebox-ddb-bench.XXXXXX")
cleanup() {
	if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "${SB_TEST_DYNAMODB_URI:-}" ]; then
	EMU=$(dynamodb_local_dir)
	for _ in $(seq 50); do
		PORT=$((20000 + RANDOM % 40000))
		port_open "$PORT" || break
	done
	(cd "$WORK" && exec java -Xmx512m -XX:+UseSerialGC \
		-Djava.library.path="$EMU/DynamoDBLocal_lib" \
		-jar "$EMU/DynamoDBLocal.jar" -inMemory -sharedDb \
		-disableTelemetry -port "$PORT" >"$WORK/server.log" 2>&1) &
	PID=$!
	for _ in $(seq 300); do port_open "$PORT" && break; sleep 0.2; done
	port_open "$PORT" || die "DynamoDB Local did not start (see $WORK/server.log)"
	export SB_TEST_DYNAMODB_URI="dynamodb+http://127.0.0.1:$PORT?region=us-east-1"
	log "DynamoDB Local on 127.0.0.1:$PORT"
fi
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-fake}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-fake}
"$BUILD/tests/dynamodb/ddb_bench" "$CLIENTS" "$ITEMS" "$SECS"
