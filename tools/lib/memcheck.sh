#!/usr/bin/env bash
# The `meson test --wrapper` of tools/lib/valgrind.sh:
#
#   memcheck.sh LOGDIR PROGRAM [ARGS...]
#
# runs PROGRAM under Valgrind memcheck, every process (forks too) logging
# to its own LOGDIR/vg.PID.log. A test that is a script (the CLI
# contract, tests/cli/cli_test.sh; the example backend's conformance,
# tests/example/check_backend.py) is not itself checked: it runs as is,
# with the same valgrind command in $SB_TEST_WRAPPER, which it puts in
# front of every program of ours it runs.
#
# A memcheck error is exit status 97, which neither the CLI nor the tests
# use, so it is never mistaken for an expected status. It counts: an
# invalid access, an uninitialised value, or a definitely, indirectly or
# possibly lost block. ("Still reachable" is not a leak: libpq and
# OpenSSL keep a few global blocks until exit.) No suppression file: every
# run on Debian 12 is clean without one. Valgrind follows fork() on its
# own; --trace-children is only for exec, which nothing checked here does.
set -euo pipefail

logs=${1:?usage: memcheck.sh LOGDIR PROGRAM [ARGS...]}
shift
vg=(valgrind --error-exitcode=97 --leak-check=full
	--errors-for-leak-kinds=definite,indirect,possible
	--show-leak-kinds=definite,indirect,possible
	--num-callers=30 "--log-file=$logs/vg.%p.log")

case ${1##*/} in
bash | sh | python3)
	export SB_TEST_WRAPPER="${vg[*]}"
	exec "$@"
	;;
*) exec "${vg[@]}" "$@" ;;
esac
