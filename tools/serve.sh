#!/usr/bin/env bash
# Start the servers the test suites use, the way tools/test.sh does, and
# keep them running until this script is stopped (Ctrl-C or SIGTERM):
#
#   bash tools/serve.sh [ENV_FILE]
#
# For working on one backend without the whole test run: once the servers
# answer, the variables the suites read (SB_TEST_PG_URI, SB_TEST_REDIS_URI,
# SB_TEST_DYNAMODB_URI, ...) are written to ENV_FILE (default
# .cache/servers.env) as `export` lines, ready for `. .cache/servers.env`
# followed by `meson test -C build`. Stopping the script stops the servers
# and removes their data.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
PACKAGES=(meson ninja-build gcc pkg-config libsqlite3-dev)
SERVERS=(sqlite)

# shellcheck source=tools/lib/servers.sh
. tools/lib/servers.sh

case ${1:-} in
-h | --help)
	sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
esac
ENV_FILE=${1:-$ROOT/.cache/servers.env}

ensure_packages
start_servers

mkdir -p "$(dirname "$ENV_FILE")"
# The file holds test passwords: readable by its owner only.
(umask 077 && export -p | grep -E '^declare -x (SB_TEST_|AWS_)' |
	sed 's/^declare -x /export /' >"$ENV_FILE")
on_exit "rm -f '$ENV_FILE'"
log "servers ready; variables in $ENV_FILE; Ctrl-C stops them"
# Sleep in the background so the traps run as soon as a signal arrives.
while :; do
	sleep 3600 &
	wait $! || true
done
