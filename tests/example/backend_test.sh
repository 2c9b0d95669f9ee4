#!/usr/bin/env bash
# The example backend (examples/backend) as an out-of-tree author builds
# it: this build tree installed into a scratch DESTDIR, then compiled with
# the installed headers and `pkg-config storagebox` only, then the
# conformance suite on it, loaded as a plugin (tests/conformance/plugin.c).
#
# usage: backend_test.sh MESON BUILD_DIR CONFORMANCE EXAMPLE_DIR SANITIZE SQLITE
#   SANITIZE  meson's b_sanitize ('none', 'address,undefined', ...): the
#             example is built with the same sanitizers as the program
#   SQLITE    'sqlite' when the build has SQLite: also bank and ledger in
#             two stores, the example and SQLite, both ways
# $SB_TEST_WRAPPER (e.g. valgrind), when set, is put in front of each run
# of the suite.
set -euo pipefail

meson=$1 build=$2 conformance=$3 src=$4 sanitize=$5 sqlite=$6
cc=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sb-example.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failed=0

fail() {
	echo "FAIL: $*" >&2
	failed=$((failed + 1))
}

# ---- install, and find the library through pkg-config alone
"$meson" install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet
pcdir=$(dirname "$(find "$tmp/root" -name storagebox.pc -print -quit)")
# Only the install: no include or library path from the environment.
unset CPATH C_INCLUDE_PATH LIBRARY_PATH
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$tmp/root
cflags=$(pkg-config --cflags storagebox)
libs=$(pkg-config --libs storagebox)
echo "pkg-config --cflags --libs storagebox: $cflags $libs"
case " $cflags " in
*" -I$tmp/root/"*) ;;
*) fail "the include path is not in the install: $cflags" ;;
esac
libdir=$(pkg-config --libs-only-L storagebox | sed 's/^ *-L//; s/ .*//')
[ -e "$libdir/libstoragebox.so.0" ] || fail "no libstoragebox.so.0 in '$libdir'"

# ---- the installed headers compile alone, as C99 and C11
for std in c99 c11; do
	for h in storagebox.h backend.h; do
		printf '#include <storagebox/%s>\nint main(void) { return 0; }\n' \
			"$h" >"$tmp/h.c"
		# shellcheck disable=SC2086 # flags are words
		"$cc" -std=$std -pedantic -Wall -Wextra -Werror -fsyntax-only \
			$cflags "$tmp/h.c" || fail "$h alone as $std"
	done
done

# ---- the example, as its README says (plus this tree's sanitizers)
san=()
[ "$sanitize" = none ] || san=("-fsanitize=$sanitize")
# shellcheck disable=SC2086
"$cc" -shared -fPIC -fvisibility=hidden -std=c11 -pedantic -Wall -Wextra \
	-Werror "${san[@]}" -o "$tmp/demo.so" "$src"/*.c $cflags $libs -pthread
exported=$(nm -D --defined-only "$tmp/demo.so" | awk '$3 ~ /^demo_/ { print $3 }')
[ "$exported" = demo_backend_register ] ||
	fail "the example exports '$exported', not only demo_backend_register"

export LD_LIBRARY_PATH=$libdir
export SB_TEST_PLUGIN=$tmp/demo.so SB_TEST_PLUGIN_INIT=demo_backend_register

# ---- one registry: every sb_* function the plugin calls binds to the
# conformance program's copy of the library, none to the installed one
# (glibc's loader reports each binding; see plugin.c).
LD_DEBUG=bindings LD_DEBUG_OUTPUT=$tmp/ld SB_TEST_URI=demo:bind \
	"$conformance" add >/dev/null || fail "conformance add with LD_DEBUG"
grep -h "binding file $tmp/demo.so .*symbol \`sb_" "$tmp"/ld.* |
	sed 's/^ *[0-9]*: *//' >"$tmp/binds" || true
cat "$tmp/binds"
want=$(nm -D --undefined-only "$tmp/demo.so" |
	awk '$2 ~ /^sb_/ { print $2 }' | sort | tr '\n' ' ')
got=$(grep -F "to $conformance [" "$tmp/binds" |
	sed 's/.*`\(sb_[a-z_]*\).*/\1/' | sort -u | tr '\n' ' ') || true
if [ -z "$want" ] || [ "$want" != "$got" ]; then
	fail "of the example's sb_* functions ($want) these bind to the program: $got"
fi

# ---- the suite: fused, generic, and mixed with SQLite both ways.
# Hostile strings of 262,000 bytes: with the run's prefix they stay
# within SB_MAX_VALUE_LEN (256 KiB) as bank names too.
runs=("fused SB_TEST_URI=demo:fused SB_TEST_PROTOCOL=fused SB_TEST_LONG_LEN=262000"
	"generic SB_TEST_URI=demo:generic SB_TEST_PROTOCOL=generic")
if [ "$sqlite" = sqlite ]; then
	# SQLite's durability is not under test here: no fsync per commit
	# (2.5 s a run otherwise).
	fast=synchronous=normal
	runs+=("mixed-bank SB_TEST_URI=demo:mixed SB_TEST_LEDGER_URI=sqlite:$tmp/ledger.db?$fast"
		"mixed-ledger SB_TEST_URI=sqlite:$tmp/bank.db?$fast SB_TEST_LEDGER_URI=demo:mixed")
fi
for run in "${runs[@]}"; do
	read -r -a words <<<"$run"
	echo "== conformance on the example: ${words[0]}"
	# shellcheck disable=SC2086 # the wrapper is a command line
	env "${words[@]:1}" ${SB_TEST_WRAPPER:-} "$conformance" ||
		fail "conformance ${words[0]}"
done

echo "example backend: $failed failed"
[ "$failed" -eq 0 ]
