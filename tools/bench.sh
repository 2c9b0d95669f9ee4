#!/usr/bin/env bash
# The benchmark of issue 6: every backend, each beside a baseline measured
# in the same run, written to bench/results.md with PNG plots.
#
#   bash tools/bench.sh [--quick] [--only LIST] [--build DIR] [--out DIR]
#                       [--use-env] [--docs]
#
#   --quick      the same matrix at tiny sizes and 1 s steps (a couple of
#                minutes): checks that the script works (BENCH_QUICK=1)
#   --only LIST  some sections only: sqlite,postgresql,redis,dynamodb,
#                original (the original library's algorithm beside
#                storagebox on DynamoDB Local, tools/bench/original.py),
#                python (the Python package on SQLite and Redis), holds
#                (bench --holds on the stores chosen; every store if alone)
#   --build DIR  release build tree (default build-bench)
#   --out DIR    where results.md and the plots go (default bench)
#   --use-env    use the servers named by SB_TEST_*_URI already set (from
#                tools/serve.sh) instead of starting new ones
#   --docs       copy the tables and plot links into docs/benchmarks.md,
#                between its <!-- bench:begin --> and <!-- bench:end --> lines
#
# Like tools/test.sh it installs what is missing (and gnuplot-nox,
# redis-tools), starts the servers the same way (tools/lib/servers.sh: free
# loopback ports, stopped at exit), configures a release tree and builds
# only what it runs. It exits 1 if a run broke the box law or a step
# failed; the targets are reported, not enforced. The full run takes about
# 25 minutes on 2 cores (the original section about 5). The raw JSON of
# every run stays in BUILD/bench-data.
#
# Environment: BENCH_QUICK=1 (--quick); BENCH_SECONDS, the length of a
# timed step (5; quick 1); BENCH_BIG, the banks that are bulk loaded and
# drained (1,000,000); BENCH_DDB_BIG, DynamoDB's bulk load (100,000);
# ORIG_KILLS, the random kills of the original section (200; quick 20);
# BENCH_HOLDS_RUNS, the runs per store of the holds rows, whose medians
# they give (5); BENCH_NOTE, a line added to results.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
PACKAGES=(meson ninja-build gcc pkg-config libsqlite3-dev gnuplot-nox fonts-dejavu-core
	redis-tools python3-boto3)
SERVERS=(sqlite)

# shellcheck source=tools/lib/servers.sh
. tools/lib/servers.sh

QUICK=${BENCH_QUICK:-0}
ONLY=sqlite,postgresql,redis,dynamodb,original,python,holds
BUILD=build-bench
OUT=$ROOT/bench
USE_ENV=0
DOCS_UPDATE=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--only) ONLY=${2:?--only wants a list}; shift ;;
	--build) BUILD=${2:?--build wants a directory}; shift ;;
	--out) OUT=$(mkdir -p "${2:?--out wants a directory}" && cd "$2" && pwd); shift ;;
	--use-env) USE_ENV=1 ;;
	--docs | --readme) DOCS_UPDATE=1 ;; # --readme: its name before docs/
	-h | --help) sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
	shift
done
wants() { case ",$ONLY," in *",$1,"*) return 0 ;; esac; return 1; }
# --only holds alone: holds on every store (their servers, not their
# sections).
HOLDS_ALONE=0
[ "$ONLY" = holds ] && HOLDS_ALONE=1
for b in ${ONLY//,/ }; do
	case $b in sqlite | postgresql | redis | dynamodb | original | python | holds) ;; *) die "--only: no section '$b'" ;; esac
done

# Sizes: the issue's in a full run, tiny ones in a quick run.
# shellcheck disable=SC2034 # used by the sections (tools/bench/*.sh)
if [ "$QUICK" = 1 ]; then
	SECS=1 BIG=20000 DDB_BIG=2000 DDB_SMALL=1000 DDB_LIFE=300 SMALL_RUNS=2
else
	SECS=5 BIG=1000000 DDB_BIG=100000 DDB_SMALL=5000 DDB_LIFE=3000 SMALL_RUNS=12
fi
SECS=${BENCH_SECONDS:-$SECS} BIG=${BENCH_BIG:-$BIG} DDB_BIG=${BENCH_DDB_BIG:-$DDB_BIG}

# Servers: only those the chosen backends need, and none whose URI is
# already set with --use-env.
uri_var() {
	case $1 in postgresql) echo SB_TEST_PG_URI ;; redis) echo SB_TEST_REDIS_URI ;;
	dynamodb) echo SB_TEST_DYNAMODB_URI ;; esac
}
keep=()
for s in "${SERVERS[@]}"; do
	[ "$s" = sqlite ] && { keep+=("$s"); continue; }
	# The Python section runs on Redis too, the original on DynamoDB.
	wants "$s" || { [ "$s" = redis ] && wants python; } ||
		{ [ "$s" = dynamodb ] && wants original; } ||
		[ "$HOLDS_ALONE" = 1 ] || continue
	v=$(uri_var "$s")
	if [ "$USE_ENV" = 1 ] && [ -n "${!v:-}" ]; then
		log "$s: using the server in \$$v"
		continue
	fi
	keep+=("$s")
done
SERVERS=("${keep[@]}")

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
section "packages"
ensure_packages

section "release build in $BUILD"
opts=(-Dbuildtype=release -Dtests=true -Dfault_injection=false)
targets=(tools/storagebox)
# The Python package and the shared library it loads (python.sh).
targets+=(python-package)
wants sqlite && targets+=(tools/bench/sqlite_raw)
for b in postgresql redis dynamodb; do
	{ wants "$b" || [ "$HOLDS_ALONE" = 1 ]; } && opts+=("-D$b=enabled")
done
wants python && opts+=(-Dredis=enabled)
wants original && opts+=(-Ddynamodb=enabled)
wants postgresql && targets+=(tools/bench/pg_claim_sql)
wants redis && targets+=(tools/bench/redis_claim_script tools/bench/redis_threads)
{ wants dynamodb || wants original; } && targets+=(tests/dynamodb/ddb_bench)
if [ -f "$BUILD/build.ninja" ]; then
	meson configure "$BUILD" "${opts[@]}" >/dev/null
else
	meson setup "$BUILD" "${opts[@]}" >/dev/null
fi
ninja -C "$BUILD" "${targets[@]}" >/dev/null
# shellcheck disable=SC2034 # used by the sections (tools/bench/*.sh)
{
	CLI=$ROOT/$BUILD/tools/storagebox
	SQLITE_RAW=$ROOT/$BUILD/tools/bench/sqlite_raw
	PG_CLAIM_SQL=$ROOT/$BUILD/tools/bench/pg_claim_sql
	REDIS_CLAIM=$ROOT/$BUILD/tools/bench/redis_claim_script
	REDIS_THREADS=$ROOT/$BUILD/tools/bench/redis_threads
	DDB_BENCH=$ROOT/$BUILD/tests/dynamodb/ddb_bench
	DATA=$ROOT/$BUILD/bench-data
	PY_PATH=$ROOT/$BUILD/python
}
rm -rf "$DATA"
mkdir -p "$DATA" "$OUT"

section "servers"
start_servers

FAILED=()
VERSIONS=()

# shellcheck source=tools/bench/lib.sh
. tools/bench/lib.sh
for b in sqlite postgresql redis dynamodb original python holds; do
	# shellcheck source=/dev/null
	. "tools/bench/$b.sh"
done
# shellcheck source=tools/bench/report.sh
. tools/bench/report.sh

# The servers' versions for results.md: each store once, whichever steps
# (a store's own, holds', Python's) use it.
if wants sqlite || wants python || wants holds; then
	VERSIONS+=("SQLite $(pkg-config --modversion sqlite3) (embedded)")
fi
if wants postgresql || wants holds; then
	VERSIONS+=("PostgreSQL $("${PG_BIN:-/usr/lib/postgresql/15/bin}/psql" -XAtc 'SHOW server_version' "$SB_TEST_PG_URI" | cut -d' ' -f1) (fsync, synchronous_commit on)")
fi
if wants redis || wants python || wants holds; then
	VERSIONS+=("Redis $(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p') (AOF, appendfsync everysec)")
fi
if wants dynamodb || wants original || wants holds; then
	VERSIONS+=("DynamoDB Local from ${DYNAMODB_SIMULATOR_PKG:-amplify-dynamodb-simulator} (in memory)")
fi
if wants original; then
	VERSIONS+=("boto3 $("$ORIG_PY" -c 'import boto3; print(boto3.__version__)') (Debian's python3-boto3, for the original's algorithm)")
fi

if wants sqlite; then
	section "SQLite"
	bench_sqlite
fi
if wants postgresql; then
	section "PostgreSQL"
	bench_postgresql
fi
if wants redis; then
	section "Redis"
	bench_redis
fi
if wants dynamodb; then
	section "DynamoDB"
	bench_dynamodb
fi
if wants original; then
	section "The original's algorithm on DynamoDB Local"
	bench_original
fi

if wants python; then
	section "Python"
	bench_python
fi
if wants holds; then
	section "Holds"
	bench_holds
fi

section "results"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
RUN_SECONDS=$SECONDS
rm -f "$OUT"/claims-vs-clients.png "$OUT"/life.png "$OUT"/bulk-load.png
gnuplot -e "data='$DATA'; out='$OUT'" tools/bench/plots.gp ||
	fail "gnuplot could not draw the plots"
write_results
[ "$DOCS_UPDATE" = 1 ] && docs_update "$ROOT/docs/benchmarks.md"
if [ ${#FAILED[@]} -gt 0 ]; then
	log "${#FAILED[@]} step(s) failed:"
	printf '  %s\n' "${FAILED[@]}"
	exit 1
fi
log "done in ${SECONDS}s: $OUT/results.md"
