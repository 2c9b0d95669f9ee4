#!/usr/bin/env bash
# PostgreSQL backend benchmark (issue 3). Not a test: it prints numbers and
# ratios measured in ONE run, on one machine, so compare the ratios.
#
#   bash tools/bench/postgresql_bench.sh [BUILD_DIR]     (default: build)
#
# Starts its own PostgreSQL 15 (initdb in a temp dir, loopback, free port,
# default durability: fsync on, synchronous_commit on) and measures:
#   1. fused claims/s at 1, 8 and 32 clients (`storagebox bench`, threads
#      with one connection each) beside pgbench running a prepared
#      single-row UPDATE by primary key with the same client count;
#      target: at least 0.7 of that baseline at 32 clients;
#   2. bulk add of N items (`storagebox add`, 1,000 per call) beside a raw
#      `\copy` of the same file into a plain table; target: 0.4;
#   3. flat claim cost: claims/s on the fresh N-item bank (first 10%), then
#      after 80% of it was taken (delete-from-bank, as claims do, without
#      VACUUM: the dead rows are all there) for the last 10%, and on a
#      10,000-item bank; target: within 20%.
# SB_BENCH_SECONDS (default 5) is the length of each throughput step;
# SB_BENCH_ITEMS (default 1000000) the big bank. Takes a few minutes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
BUILD=${1:-build}
CLI=$BUILD/tools/storagebox
SECS=${SB_BENCH_SECONDS:-5}
BIG=${SB_BENCH_ITEMS:-1000000}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
[ -x "$CLI" ] || { echo "no $CLI: build first (meson setup $BUILD && ninja -C $BUILD)" >&2; exit 1; }
[ -f "$BUILD/libstoragebox.so" ] || { echo "no $BUILD/libstoragebox.so" >&2; exit 1; }
for p in initdb pg_ctl psql pgbench; do
	[ -x "$PG_BIN/$p" ] || { echo "$PG_BIN/$p not found (apt-get install postgresql-15)" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/storagebox-pg-bench.XXXXXX")
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
STARTED=
cleanup() {
	[ -n "$STARTED" ] && as_pg "$PG_BIN/pg_ctl" -D "$WORK/data" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$WORK"; chmod 755 "$WORK"; fi
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
while :; do PORT=$((20000 + RANDOM % 40000)); port_open "$PORT" || break; done
as_pg "$PG_BIN/initdb" -D "$WORK/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
cat >>"$WORK/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$WORK'
max_connections = 100
EOF
as_pg "$PG_BIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w start >/dev/null
STARTED=1
PSQL=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE sbbench"
URI="postgresql://postgres@127.0.0.1:$PORT/sbbench"
"$CLI" --uri "$URI" init >/dev/null

# The shared library brings its own dependencies (whatever backends the
# build has); pg_bench uses the public API only.
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I include tools/bench/pg_bench.c \
	-L"$BUILD" -lstoragebox -Wl,-rpath,"$ROOT/$BUILD" -lpthread \
	-o "$WORK/pg_bench"

field() { sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p" <<<"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
secs_of() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
now() { date +%s.%N; }

echo "PostgreSQL $("${PSQL[@]}" -d sbbench -Atc 'SHOW server_version'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), ${SECS} s per step"

# 1. claims/s vs pgbench ---------------------------------------------------
"${PSQL[@]}" -d sbbench <<'EOF'
CREATE TABLE acct (id integer PRIMARY KEY, n integer NOT NULL);
INSERT INTO acct SELECT g, 0 FROM generate_series(1, 100000) g;
VACUUM ANALYZE acct;
EOF
printf '\\set id random(1, 100000)\nUPDATE acct SET n = n + 1 WHERE id = :id;\n' >"$WORK/update.sql"
echo
echo "1. fused claims/s vs pgbench (prepared single-row UPDATE by primary key)"
printf '  %-8s %12s %12s %8s\n' clients claims/s pgbench/s ratio
for c in 1 8 32; do
	base=$("$PG_BIN/pgbench" -n -M prepared -f "$WORK/update.sql" -c "$c" \
		-j "$c" -T "$SECS" -h 127.0.0.1 -p "$PORT" -U postgres sbbench 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\).*/\1/p' | tail -n 1)
	items=$((SECS * 6000 + 20000))
	json=$("$CLI" --uri "$URI" bench --clients "$c" --items "$items" \
		--repeat 0 --duration "$SECS" --quiet --json)
	claims=$(field claims_per_s "$json")
	[ "$(field errors "$json")" = 0 ] || echo "  (errors: $json)"
	printf '  %-8s %12.0f %12.0f %8s\n' "$c" "$claims" "$base" "$(ratio "$claims" "$base")"
done

# 2. bulk add vs raw COPY --------------------------------------------------
echo
echo "2. bulk add of $BIG items"
seq -f "bench-item-%09g" 1 "$BIG" >"$WORK/items.txt"
chmod 644 "$WORK/items.txt"
"${PSQL[@]}" -d sbbench -c "CREATE TABLE rawcopy (item text)"
t0=$(now)
"${PSQL[@]}" -d sbbench -c "\\copy rawcopy (item) FROM '$WORK/items.txt'"
t1=$(now)
"$CLI" --uri "$URI" add big "$WORK/items.txt" >/dev/null
t2=$(now)
raw=$(awk -v n="$BIG" -v s="$(secs_of "$t0" "$t1")" 'BEGIN { printf "%.0f", n / s }')
ours=$(awk -v n="$BIG" -v s="$(secs_of "$t1" "$t2")" 'BEGIN { printf "%.0f", n / s }')
printf '  raw COPY %10s items/s   storagebox add %10s items/s   ratio %s\n' \
	"$raw" "$ours" "$(ratio "$ours" "$raw")"

# 3. flat claim cost ---------------------------------------------------------
echo
echo "3. claim cost over the life of a bank (8 clients)"
N=$((BIG / 10 < 20000 ? BIG / 10 : 20000))
"$CLI" --uri "$URI" stats big | tr '\n' ' '; echo
first=$("$WORK/pg_bench" "$URI" big ledger 8 "$N" first)
# Take 80% of the bank the way claims do (delete from the head of the
# queue), leaving the dead rows for the next claims to step over.
"${PSQL[@]}" -d sbbench -c "DELETE FROM storagebox.sb_available
	WHERE bank_id = (SELECT id FROM storagebox.sb_bank WHERE name = 'big')
	AND seq < (SELECT min(seq) + $((BIG * 8 / 10)) FROM storagebox.sb_available
	           WHERE bank_id = (SELECT id FROM storagebox.sb_bank WHERE name = 'big'))"
"$CLI" --uri "$URI" stats big | tr '\n' ' '; echo
last=$("$WORK/pg_bench" "$URI" big ledger 8 "$N" last)
seq -f "small-item-%06g" 1 10000 | "$CLI" --uri "$URI" add small - >/dev/null
small=$("$WORK/pg_bench" "$URI" small ledger 8 "$((N < 9000 ? N : 9000))" small)
printf '  first 10%%: %8.0f claims/s   last 10%%: %8.0f claims/s   ratio %s\n' \
	"$first" "$last" "$(ratio "$last" "$first")"
printf '  10,000-item bank: %8.0f claims/s   %s-item bank (first 10%%): %8.0f   ratio %s\n' \
	"$small" "$BIG" "$first" "$(ratio "$first" "$small")"
