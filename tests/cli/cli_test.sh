#!/usr/bin/env bash
# The CLI contract of DESIGN.md section 6, checked from the outside.
# usage: cli_test.sh PATH/TO/storagebox
#
# Two parts. With a store, the part that needs one runs there: a session
# of every command, and a bench of threads and processes. The store is
# $SB_TEST_URI, or the variable that $SB_TEST_URI_FROM names (a server,
# whose URI holds a password that meson's env must not); named but unset,
# the test exits 77 (skipped), or 1 when CI=true. Names are unique per
# run (the server may be shared); the URI goes through $STORAGEBOX_URI,
# never on a command line. Without a store, the rest runs, on SQLite files
# in a temp dir: help and usage, input and output formats, exit codes,
# two stores, URI resolution, secrets, the demo.
# $SB_TEST_WRAPPER, when set, goes in front of every CLI call (split on
# spaces): tools/lib/valgrind.sh runs the CLI under memcheck so. The CLI
# exits 0 to 5 (DESIGN §6): any other status (a crash, or the wrapper's
# error status) fails the call's check.
# Every check is counted; the last line is "N passed, N failed".
set -euo pipefail

SB=$(readlink -f "${1:?usage: cli_test.sh STORAGEBOX}")
read -ra WRAP <<<"${SB_TEST_WRAPPER:-}"
STORE=${SB_TEST_URI:-}
if [ -n "${SB_TEST_URI_FROM:-}" ]; then
	STORE=${!SB_TEST_URI_FROM:-}
	if [ -z "$STORE" ] && [ "${CI:-}" = true ]; then
		echo "$SB_TEST_URI_FROM not set (CI=true: a skip is a failure)" >&2
		exit 1
	elif [ -z "$STORE" ]; then
		echo "$SB_TEST_URI_FROM not set: skipped" >&2
		exit 77
	fi
fi
# DynamoDB Local on a busy machine (valgrind, a sanitized tree beside
# another test) may stall past the default request timeout of 8 s: this
# test is about the CLI's contract, tests/hardening about timeouts.
case $STORE in
dynamodb*\?*) STORE="$STORE&timeout=60000" ;;
dynamodb*) STORE="$STORE?timeout=60000" ;;
esac
T=$(mktemp -d "${TMPDIR:-/tmp}/sb-cli-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
unset STORAGEBOX_URI SB_FAULT_POINT SB_FAULT_SKIP

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); }
fail() {
	FAILED=$((FAILED + 1))
	printf 'FAIL line %s: %s\n' "${BASH_LINENO[1]}" "$*" >&2
	printf '  stdout: %s\n  stderr: %s\n' "$(head -c 400 "$T/out")" \
		"$(head -c 400 "$T/err")" >&2
}

# run [ARGS...]: the CLI (behind $SB_TEST_WRAPPER) with stdin from $IN
# (default /dev/null); sets RC, and OUT/ERR (trailing newlines stripped);
# raw output in $T/out, $T/err.
IN=/dev/null
run() {
	set +e
	"${WRAP[@]}" "$SB" "$@" <"$IN" >"$T/out" 2>"$T/err"
	RC=$?
	set -e
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
	[ "$RC" -le 5 ] || fail "exit $RC: a crash, or the wrapper's error"
}
expect_rc() { # WANT WHAT
	if [ "$RC" -eq "$1" ]; then pass; else fail "$2: exit $RC, want $1"; fi
}
expect() { # CONDITION-STATUS WHAT  (use: expect "$(test ...; echo $?)" what)
	if [ "$1" -eq 0 ]; then pass; else fail "$2"; fi
}
contains() { [[ $1 == *"$2"* ]]; }
finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit
}

# hold_session ARGS-BEFORE-THE-COMMAND...: hold, confirm, extend, release
# and their answers, stats, export --holds and recover on one store. The
# bank and ledger names are unique per run.
hold_session() {
	local tag="hold$$-$RANDOM" seat seat2 when
	local bank="$tag-bank" ledger="$tag-ledger"
	IN=$T/in
	printf 'S-1\nS-2\nS-3\n' >"$IN"
	run "$@" add "$bank" -
	IN=/dev/null
	expect "$(test "$RC" -eq 0 -a "$OUT" = "added 3, skipped 0"; echo $?)" "holds: add"
	run "$@" hold "$bank" "$ledger" alice --ttl 10m
	seat=$OUT
	expect "$(test "$RC" -eq 0 && [[ $seat == S-[123] ]]; echo $?)" "hold prints a seat ('$seat')"
	expect "$(grep -Eqx '20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9]{3}Z' "$T/err"; echo $?)" \
		"hold: the deadline alone on stderr, RFC 3339 UTC"
	when=$ERR
	run "$@" hold "$bank" "$ledger" alice --ttl 1h
	expect "$(test "$RC" -eq 0 -a "$OUT" = "$seat" -a "$ERR" = "$when"; echo $?)" \
		"hold again: the same seat and deadline"
	run "$@" fetch "$bank" "$ledger" alice
	expect "$(test "$RC" -eq 0 -a "$OUT" = "$seat"; echo $?)" "fetch of a live hold: the held seat"
	run "$@" stats "$bank" "$ledger"
	expect "$(test "$RC" -eq 0 -a "$OUT" = $'available: 2\nreserved: 0\nassigned: 0\nheld: 1\non_hold: 1\nretired: 0'; echo $?)" \
		"stats: on_hold 1 (a fetch never confirms)"
	run "$@" export --holds "$ledger"
	expect "$(test "$RC" -eq 0 -a "$OUT" = $'dedup_id,bank,item,expires_at\r\nalice,'"$bank,$seat,$when"$'\r'; echo $?)" \
		"export --holds: the hold with its deadline"
	run "$@" export "$ledger"
	expect "$(test "$RC" -eq 0 -a "$OUT" = $'dedup_id,bank,item\r'; echo $?)" \
		"export without --holds: assignments for good only"
	run "$@" extend "$ledger" alice --ttl 2h
	expect "$(test "$RC" -eq 0 -a -z "$OUT$ERR"; echo $?)" "extend: exit 0, silent"
	run "$@" confirm "$ledger" alice
	expect "$(test "$RC" -eq 0 -a -z "$OUT$ERR"; echo $?)" "confirm: exit 0, silent"
	run "$@" confirm "$ledger" alice
	expect_rc 0 "confirm again (idempotent)"
	run "$@" hold "$bank" "$ledger" alice --ttl 1s
	expect "$(test "$RC" -eq 0 -a "$OUT" = "$seat" -a -z "$ERR"; echo $?)" \
		"hold of a confirmed seat: the seat, no deadline"
	run "$@" export --holds "$ledger"
	expect "$(test "$OUT" = $'dedup_id,bank,item,expires_at\r\nalice,'"$bank,$seat,"$'\r'; echo $?)" \
		"export --holds: empty expires_at for good"
	run "$@" confirm "$ledger" nobody
	expect_rc 4 "confirm of an id that holds nothing"
	expect "$(contains "$ERR" nobody; echo $?)" "confirm: the id named"
	run "$@" extend "$ledger" nobody --ttl 1m
	expect_rc 4 "extend of an id that holds nothing"
	run "$@" release "$ledger" nobody
	expect_rc 4 "release of an id that holds nothing"

	# A hold that lapses: 300 ms, then the deadline alone decides.
	run "$@" hold "$bank" "$ledger" bob --ttl 300ms
	seat2=$OUT
	expect "$(test "$RC" -eq 0 -a -n "$seat2" -a "$seat2" != "$seat"; echo $?)" "hold for bob"
	sleep 0.5
	run "$@" confirm "$ledger" bob
	expect_rc 5 "confirm after the deadline: lapsed"
	expect "$(contains "$ERR" lapsed; echo $?)" "lapsed: said so"
	run "$@" extend "$ledger" bob --ttl 1m
	expect "$(test "$RC" -eq 5 -o "$RC" -eq 4; echo $?)" "extend after the deadline: 5 (or 4 once reclaimed)"
	# DynamoDB's confirm writes the ledger entry alone and leaves alice's
	# bank record held (docs/dynamodb.md, Holds): recover settles it.
	case $STORE in
	dynamodb*) settled=1 ;;
	*) settled=0 ;;
	esac
	run "$@" recover "$bank" "$ledger"
	expect "$(test "$RC" -eq 0 && [[ $OUT == "settled $settled, put back 0"* ]]; echo $?)" \
		"recover: the existing text first ('$OUT')"
	run "$@" stats "$bank" "$ledger"
	expect "$(contains "$OUT" $'on_hold: 0\nretired: 0'; echo $?)" "after recover: nothing on hold"

	# Release: restock, then retire; a second release holds nothing.
	run "$@" release "$ledger" alice
	expect_rc 0 "release"
	run "$@" release "$ledger" alice
	expect_rc 4 "release again: the id holds nothing"
	run "$@" hold "$bank" "$ledger" carol --ttl 10m
	expect_rc 0 "hold for carol"
	run "$@" release "$ledger" carol --retire
	expect_rc 0 "release --retire"
	run "$@" stats "$bank" "$ledger"
	expect "$(test "$RC" -eq 0 && contains "$OUT" 'assigned: 0' && contains "$OUT" $'on_hold: 0\nretired: 1'; echo $?)" \
		"stats: retired 1 ('$OUT')"
	run "$@" hold -- "$bank" "$ledger" --dash --ttl 1m
	expect_rc 2 "hold: --ttl after '--' is an argument"
	run "$@" hold --ttl 1m -- "$bank" "$ledger" --dash
	expect_rc 0 "hold --ttl 1m -- BANK LEDGER --dash"
	run "$@" confirm -- "$ledger" --dash
	expect_rc 0 "confirm -- LEDGER --dash"
	for i in 1 2 3; do run "$@" hold "$bank" "$ledger" "x$i" --ttl 1m; done
	expect_rc 3 "hold from a bank with nothing left: 3"
}

# ------------------------------------------------------------ the store
# One session on $STORE: init, add, fetch (fused and generic, repeated),
# stats, export, recover, an empty bank, a missing one, a usage error;
# then a bench (threads and forked processes in one call: it checks the
# box law).
store_session() {
	local tag="cli$$-$RANDOM" first
	local bank="$tag-bank" ledger="$tag-ledger"
	local -x STORAGEBOX_URI=$STORE
	run init "$bank" "$ledger"
	expect_rc 0 "store: init"
	IN=$T/in
	printf 'item-1\nitem-2\nitem-2\n' >"$IN"
	run add "$bank" -
	IN=/dev/null
	expect "$(test "$RC" -eq 0 -a "$OUT" = "added 2, skipped 1"; echo $?)" \
		"store: add counts the repeat as skipped"
	run fetch "$bank" "$ledger" id-1
	first=$OUT
	expect "$(test "$RC" -eq 0 && [[ $first == item-[12] ]]; echo $?)" \
		"store: fetch prints a loaded item ('$first')"
	run --protocol generic fetch "$bank" "$ledger" id-1
	expect "$(test "$RC" -eq 0 -a "$OUT" = "$first"; echo $?)" \
		"store: the repeat on the generic path gets the same item"
	run stats "$bank" "$ledger"
	expect "$(test "$RC" -eq 0 -a "$OUT" = $'available: 1\nreserved: 0\nassigned: 1\nheld: 1\non_hold: 0\nretired: 0'; echo $?)" \
		"store: stats"
	run export "$ledger"
	expect "$(test "$RC" -eq 0 -a "$OUT" = $'dedup_id,bank,item\r\nid-1,'"$bank,$first"$'\r'; echo $?)" \
		"store: export"
	run recover "$bank" "$ledger" --min-age 0
	expect "$(test "$RC" -eq 0 -a "$OUT" = "settled 0, put back 0"; echo $?)" \
		"store: recover"
	run --protocol generic fetch "$bank" "$ledger" id-2
	expect "$(test "$RC" -eq 0 -a -n "$OUT" -a "$OUT" != "$first"; echo $?)" \
		"store: a new id on the generic path gets the other item"
	run fetch "$bank" "$ledger" id-3
	expect_rc 3 "store: fetch from the empty bank"
	run fetch "$tag-nobank" "$ledger" id-9
	expect_rc 1 "store: fetch from a missing bank"
	expect "$(contains "$ERR" "$tag-nobank"; echo $?)" "store: missing bank named"
	run fetch "$bank"
	expect_rc 2 "store: usage error"
	run bench --items 40 --clients 2 --procs 2 --quiet
	expect_rc 0 "store: bench with 2 processes of 2 threads"
	hold_session
	run bench --holds --items 40 --clients 2 --procs 2 --quiet
	expect_rc 0 "store: bench --holds with 2 processes of 2 threads"
	run bench --holds --runs 3 --items 30 --clients 2 --procs 2 --quiet --json
	expect_rc 0 "store: bench --holds --runs 3"
	expect "$(contains "$OUT" '"runs":3,' && contains "$OUT" '"law_holds":true' &&
		[[ $OUT =~ \"hold_ratios\":\[[0-9.]+,[0-9.]+,[0-9.]+\] ]] &&
		[[ $OUT =~ \"confirm_ratios\":\[[0-9.]+,[0-9.]+,[0-9.]+\] ]]; echo $?)" \
		"store: bench --holds --runs 3 gives one object with the 3 runs' ratios"
}

if [ -n "$STORE" ]; then
	store_session
	finish
fi

# ------------------------------------------------------------ help, usage
run --help
expect_rc 0 "--help"
expect "$(contains "$OUT" usage; echo $?)" "--help prints usage"
for cmd in init add fetch hold confirm extend release stats export recover bench demo; do
	run "$cmd" --help
	expect_rc 0 "$cmd --help"
	expect "$(contains "$OUT" "$cmd"; echo $?)" "$cmd --help names the command"
	expect "$(test -z "$ERR"; echo $?)" "$cmd --help: nothing on stderr"
done
run --version
expect_rc 0 "--version"
expect "$(contains "$OUT" 0.2.0; echo $?)" "--version prints the version"

U=(--uri "sqlite:$T/main.db")
for args in "" "bogus-command" "--uri" "--protocol sideways stats b" \
	"fetch b l" "fetch b l i extra" "stats" "stats b l extra" "export" \
	"export l extra" "add" "recover b" "recover b l --min-age abc" \
	"init b l extra" "fetch --uri sqlite:x.db b l i" "fetch --bogus b l i" \
	"--bogus-global stats b" "hold b l i" "hold b l i --ttl" \
	"hold b l --ttl 1m" "hold b l i --ttl 0s" "hold b l i --ttl 90" \
	"hold b l i --ttl -5s" "hold b l i --ttl 1x" "hold b l i --ttl 31d" \
	"hold b l i --ttl 721h" "hold b l i --ttl 99999999999999999999s" \
	"confirm l" "confirm l i extra" "extend l i" "extend l i --ttl 0ms" \
	"release l" "release l i --bogus" "export l --holds=1" \
	"bench --abandon 0.5" "bench --runs 3" "bench --holds --runs 0" \
	"bench --holds --runs 101" "demo --store nosuch:x"; do
	# shellcheck disable=SC2086
	run "${U[@]}" $args
	expect_rc 2 "usage error: '$args'"
	expect "$(test -n "$ERR" && test -z "$OUT"; echo $?)" \
		"usage error '$args': message on stderr only"
done
expect "$(test ! -e storagebox.db; echo $?)" "usage errors created no default db"

# ------------------------------------------------------------ init, add
run "${U[@]}" init bank ledger
expect_rc 0 "init"
expect "$(test -z "$OUT$ERR"; echo $?)" "init prints nothing"
run "${U[@]}" init bank ledger
expect_rc 0 "init again (idempotent)"
run "${U[@]}" init
expect_rc 0 "init without names"

printf 'c1\nc2\nc3\n' >items.txt
run "${U[@]}" add bank items.txt
expect_rc 0 "add from a file"
expect "$(test "$OUT" = "added 3, skipped 0"; echo $?)" "add prints 'added 3, skipped 0'"
IN=$T/in
printf 'c3\nc4\n' >"$IN"
run "${U[@]}" add bank -
expect_rc 0 "add from stdin '-'"
expect "$(test "$OUT" = "added 1, skipped 1"; echo $?)" "stdin add: 'added 1, skipped 1'"
printf 'c5\n' >"$IN"
run "${U[@]}" add bank
expect_rc 0 "add from stdin without FILE"
expect "$(test "$OUT" = "added 1, skipped 0"; echo $?)" "stdin add without FILE counts"
IN=/dev/null
run "${U[@]}" add bank missing-file.txt
expect_rc 1 "add from a missing file"
expect "$(contains "$ERR" missing-file.txt; echo $?)" "missing file named"

printf 'r1\r\nr2\r\n\r\n' >crlf.txt
run "${U[@]}" add crlf crlf.txt
expect_rc 0 "add CRLF lines"
expect "$(test "$OUT" = "added 2, skipped 0"; echo $?)" "CRLF lines: 2 items"
run "${U[@]}" fetch crlf l-crlf someone
expect_rc 0 "fetch from the CRLF bank"
expect "$(test "$OUT" = r1 -o "$OUT" = r2; echo $?)" "CRLF stripped from items ('$OUT')"
printf 'r1\nr2\n' >lf.txt
run "${U[@]}" add crlf lf.txt
expect "$(test "$OUT" = "added 0, skipped 2"; echo $?)" "LF twins of CRLF items are skipped"

printf 'e1\n\ne2\n' >gaps.txt
run "${U[@]}" add gaps gaps.txt
expect "$(test "$OUT" = "added 2, skipped 0"; echo $?)" "empty lines skipped"

run "${U[@]}" init nulbank
printf 'n1\nn\0x\nn3\n' >nul.txt
run "${U[@]}" add nulbank nul.txt
expect_rc 1 "a line with a NUL byte"
expect "$(test -n "$ERR"; echo $?)" "NUL line: message"
expect "$(contains "$ERR" 2; echo $?)" "NUL line: names line 2"
printf 'u1\n\xff\xfe\nu3\n' >utf.txt
run "${U[@]}" add nulbank utf.txt
expect_rc 1 "a line of invalid UTF-8"
printf 'v1\nv\r2\nv3\n' >cr.txt
run "${U[@]}" add nulbank cr.txt
expect_rc 1 "a line with a CR inside"
expect "$(contains "$ERR" 2; echo $?)" "CR line: names line 2"
run "${U[@]}" stats nulbank
expect "$(test "$OUT" = $'available: 0\nreserved: 0\nassigned: 0\non_hold: 0\nretired: 0'; echo $?)" \
	"refused files added nothing"

# ------------------------------------------------------------ fetch
run "${U[@]}" fetch bank ledger u1
expect_rc 0 "fetch"
first=$OUT
expect "$(grep -qx 'c[1-5]' "$T/out"; echo $?)" "fetch prints a loaded item ('$first')"
expect "$(test "$(wc -l <"$T/out")" -eq 1; echo $?)" "fetch prints one line"
run "${U[@]}" fetch bank ledger u1
expect "$(test "$RC" -eq 0 -a "$OUT" = "$first"; echo $?)" "repeat fetch: same item"
for i in 2 3 4 5; do
	run "${U[@]}" fetch bank ledger "u$i"
	expect_rc 0 "fetch u$i"
done
run "${U[@]}" fetch bank ledger u6
expect_rc 3 "fetch from an empty bank"
expect "$(test -z "$OUT"; echo $?)" "empty: nothing on stdout"
run "${U[@]}" fetch bank ledger u1
expect "$(test "$RC" -eq 0 -a "$OUT" = "$first"; echo $?)" "after sell-out: same item"

run "${U[@]}" stats bank
expect_rc 0 "stats"
expect "$(test "$OUT" = $'available: 0\nreserved: 0\nassigned: 5\non_hold: 0\nretired: 0'; echo $?)" "stats output"
run "${U[@]}" stats bank ledger
expect "$(test "$OUT" = $'available: 0\nreserved: 0\nassigned: 5\nheld: 5\non_hold: 0\nretired: 0'; echo $?)" \
	"stats with ledger: held"
run "${U[@]}" recover bank ledger
expect_rc 0 "recover"
expect "$(test "$OUT" = "settled 0, put back 0"; echo $?)" "recover output"
run "${U[@]}" recover bank ledger --min-age 10
expect_rc 0 "recover --min-age"

run --uri nosuch:x fetch bank ledger u1
expect_rc 1 "unknown scheme"
expect "$(contains "$ERR" sqlite && contains "$ERR" memory; echo $?)" \
	"unknown scheme: lists the schemes"
run --uri sqlite:/nonexistent-dir/x.db fetch bank ledger u1
expect_rc 1 "unwritable path"
expect "$(contains "$ERR" /nonexistent-dir/x.db; echo $?)" "unwritable path named"
run "${U[@]}" fetch no-such-bank ledger u-new
expect_rc 1 "missing bank"
expect "$(contains "$ERR" no-such-bank; echo $?)" "missing bank named"
run "${U[@]}" stats no-such-bank
expect_rc 1 "stats of a missing bank"
run "${U[@]}" fetch bank ledger ''
expect_rc 1 "empty id"
expect "$(test -n "$ERR"; echo $?)" "empty id: message"
run "${U[@]}" fetch bank ledger $'new\nline'
expect_rc 1 "id with a newline"
expect "$(test -n "$ERR" -a -z "$OUT"; echo $?)" "id with a newline: message only"

# '--' ends options: ids that look like options.
printf 'd1\nd2\n' >dash.txt
run "${U[@]}" add dashes dash.txt
run "${U[@]}" fetch dashes ldash --x
expect_rc 2 "id --x without --"
run "${U[@]}" fetch -- dashes ldash --x
expect_rc 0 "fetch -- BANK LEDGER --x"
dash=$OUT
run "${U[@]}" fetch dashes ldash -- --x
expect "$(test "$RC" -eq 0 -a "$OUT" = "$dash"; echo $?)" "fetch BANK LEDGER -- --x"
run "${U[@]}" fetch -- dashes ldash -y
expect_rc 0 "fetch id -y"
expect "$(test "$OUT" != "$dash"; echo $?)" "-y and --x get different items"

# ------------------------------------------------------------ export CSV
printf '%s\n' 'a,b' 'say "hi"' '  spaced  ' 'plain' >quote.txt
run "${U[@]}" add quoted quote.txt
expect "$(test "$OUT" = "added 4, skipped 0"; echo $?)" "add items that need quoting"
csvq() {
	local s=$1
	if [[ $s == *[,\"]* ]]; then
		s=${s//\"/\"\"}
		printf '"%s"' "$s"
	else
		printf '%s' "$s"
	fi
}
: >want.csv
for id in 'id,1' 'id"2' ' id 3' 'id4'; do
	run "${U[@]}" fetch -- quoted lquoted "$id"
	expect_rc 0 "fetch id '$id'"
	printf '%s,%s,%s\r\n' "$(csvq "$id")" quoted "$(csvq "$OUT")" >>want.csv
done
run "${U[@]}" export lquoted
expect_rc 0 "export"
expect "$(test "$(head -n 1 "$T/out")" = $'dedup_id,bank,item\r'; echo $?)" "export header"
expect "$(test "$(grep -c $'\r$' "$T/out")" -eq 5 -a "$(wc -l <"$T/out")" -eq 5; echo $?)" \
	"export: 5 lines, all CRLF"
tail -n +2 "$T/out" | LC_ALL=C sort >got.csv
LC_ALL=C sort want.csv >want.sorted
expect "$(cmp -s got.csv want.sorted; echo $?)" "export rows quoted as RFC 4180"
run "${U[@]}" export nobody-ledger
expect "$(test "$RC" -eq 0 && test "$(cat "$T/out")" = $'dedup_id,bank,item\r'; echo $?)" \
	"export of an empty ledger: header only"

# ------------------------------------------------------------ two stores
L=(--uri "sqlite:$T/banks.db" --ledger-uri "sqlite:$T/ledgers.db")
run "${L[@]}" add lb items.txt
run "${L[@]}" fetch lb ll x1
expect_rc 0 "fetch with --ledger-uri"
lx=$OUT
expect "$(test -s "$T/ledgers.db"; echo $?)" "--ledger-uri file written"
run "${L[@]}" export ll
expect "$(grep -q "^x1,lb,$lx"$'\r$' "$T/out"; echo $?)" "export from the ledger store"
run --uri "sqlite:$T/banks.db" export ll
expect "$(test "$(wc -l <"$T/out")" -eq 1; echo $?)" "the bank store holds no ledger entries"
run "${L[@]}" stats lb ll
expect "$(test "$OUT" = $'available: 2\nreserved: 0\nassigned: 1\nheld: 1\non_hold: 0\nretired: 0'; echo $?)" \
	"stats across stores"
run "${L[@]}" fetch lb ll x1
expect "$(test "$RC" -eq 0 -a "$OUT" = "$lx"; echo $?)" "repeat across stores"
run "${L[@]}" recover lb ll
expect "$(test "$RC" -eq 0 -a "$OUT" = "settled 0, put back 0"; echo $?)" "recover across stores"

# ------------------------------------------------------------ --protocol generic
G=(--uri "sqlite:$T/gen.db" --protocol generic)
run "${G[@]}" add gb items.txt
run "${G[@]}" fetch gb gl g1
expect_rc 0 "--protocol generic fetch"
gx=$OUT
run --uri "sqlite:$T/gen.db" fetch gb gl g1
expect "$(test "$RC" -eq 0 -a "$OUT" = "$gx"; echo $?)" "fused sees the generic assignment"
run "${G[@]}" --protocol auto stats gb gl
expect "$(test "$RC" -eq 0 && contains "$OUT" 'reserved: 0' && contains "$OUT" 'held: 1'; echo $?)" \
	"generic left nothing reserved"

# ------------------------------------------------------------ URI sources
STORAGEBOX_URI="sqlite:$T/env.db" run add eb items.txt
expect "$(test "$RC" -eq 0 -a -s "$T/env.db"; echo $?)" "\$STORAGEBOX_URI honoured"
STORAGEBOX_URI="sqlite:$T/env.db" run stats eb
expect "$(contains "$OUT" 'available: 3'; echo $?)" "\$STORAGEBOX_URI: stats"
STORAGEBOX_URI="sqlite:$T/env.db" run --uri "sqlite:$T/other.db" stats eb
expect_rc 1 "--uri wins over \$STORAGEBOX_URI"
mkdir defdir
cd defdir
run add db ../items.txt
cd "$T"
expect "$(test -s defdir/storagebox.db; echo $?)" "default: sqlite:storagebox.db in the current dir"
cd defdir
run stats db
cd "$T"
expect "$(contains "$OUT" 'available: 3'; echo $?)" "default store read back"

# ------------------------------------------------------------ secrets
for args in "--uri nosuch://user:s3cretpw@host/x fetch b l i" \
	"--uri memory://user:s3cretpw@host/x?bogus=1 stats b" \
	"--uri sqlite://user:s3cretpw@host/x.db stats b" \
	"--uri sqlite:$T/main.db --ledger-uri nosuch://u:s3cretpw@h/ fetch bank ledger u1"; do
	# shellcheck disable=SC2086
	run $args
	expect "$(test "$RC" -ne 0; echo $?)" "bad URI fails: $args"
	expect "$(! grep -q s3cretpw "$T/out" "$T/err"; echo $?)" "password not shown: $args"
done

# ------------------------------------------------------------ holds
run "${U[@]}" hold b l i --ttl 0s
expect "$(contains "$ERR" "--ttl '0s' is 0"; echo $?)" "ttl 0: a clear message"
run "${U[@]}" hold b l i --ttl 31d
expect "$(contains "$ERR" "more than 30 days"; echo $?)" "ttl > 30 days: a clear message"
run "${U[@]}" hold b l i --ttl 90
expect "$(contains "$ERR" "no unit"; echo $?)" "ttl without a unit: a clear message"
H=(--uri "sqlite:$T/holds.db")
hold_session "${H[@]}"
run demo --holds --workers 6
expect_rc 0 "demo --holds"
expect "$(contains "$OUT" 'verdict: every law holds'; echo $?)" "demo --holds verdict"
run demo --holds --store memory:cli-demo --seed 3
expect_rc 0 "demo --holds on the memory store"
expect "$(contains "$OUT" 'verdict: every law holds'; echo $?)" "demo --holds (memory) verdict"

# ------------------------------------------------------------ demo
run demo
expect_rc 0 "demo"
expect "$(contains "$OUT" 'verdict:'; echo $?)" "demo prints its verdict"
run --protocol generic demo --workers 4 --seed 7
expect_rc 0 "demo on the generic path"
expect "$(contains "$OUT" 'verdict:'; echo $?)" "generic demo verdict"

finish
