#!/usr/bin/env bash
# The tree's C layout is .clang-format's (Debian 12's clang-format 14):
#
#   bash tools/format.sh          check: list the files that differ, exit 1
#   bash tools/format.sh --fix    rewrite them in place
#
# tools/test.sh runs the check as one counted test. Every tracked .c and
# .h file is covered, tests and examples included.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

case ${1:-} in
-h | --help)
	sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
--fix) fix=1 ;;
'') fix=0 ;;
*)
	echo "usage: bash tools/format.sh [--fix]" >&2
	exit 2
	;;
esac

command -v clang-format >/dev/null ||
	{ echo "clang-format not found (Debian: apt-get install clang-format)" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.c' '*.h')
if [ "$fix" = 1 ]; then
	clang-format -i "${files[@]}"
	exit 0
fi
# One process for the whole tree (one per file cost half a minute); only
# if it finds something, a pass per file to name each one.
if clang-format --dry-run --Werror "${files[@]}" >/dev/null 2>&1; then
	echo "${#files[@]} files formatted as .clang-format says"
	exit 0
fi
bad=0
for f in "${files[@]}"; do
	if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "not formatted: $f (bash tools/format.sh --fix)"
		bad=1
	fi
done
[ "$bad" = 0 ] && echo "${#files[@]} files formatted as .clang-format says"
exit "$bad"
