# shellcheck shell=bash
# Sourced by tools/test.sh: a ThreadSanitizer tree that runs the
# multi-threaded stress programs (suite 'stress': processes of threads, one
# box per thread) on SQLite and on every server backend. (The PostgreSQL
# restart runs are not in it: they restart the shared server, and their
# threads run the same code as the plain stress.) TSan follows each forked
# process's threads; a data race ends that process at once (status 66),
# and the stress program's parent fails on it. Expects run_tree.

# run_tsan_tree DIR: configure, build and run those tests in DIR.
# Sizes are smaller than the plain runs (about 45 s for all eight, most
# of it waiting on DynamoDB Local): a race shows as two threads touching
# the same memory without synchronisation, which eight threads per
# process show as well as many requests would. Every law is still
# checked at the end of each run.
run_tsan_tree() {
	local -x TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
	local -x SB_STRESS_PROCS=2 SB_STRESS_THREADS=8 SB_STRESS_ITEMS=300
	local -x SB_STRESS_IDS=500 SB_STRESS_REPEAT=2
	run_tree "$1" --werror -Db_sanitize=thread -Db_lundef=false \
		-- --suite stress
	# A stress program's own failures may push the report out of meson's
	# error log: name the races here (the full reports are in testlog.txt).
	grep -h 'SUMMARY: ThreadSanitizer' "$1/meson-logs/testlog.txt" \
		2>/dev/null | sort | uniq -c || true
}
