# shellcheck shell=bash
# Sourced by tools/test.sh, tools/serve.sh and tools/bench.sh: the
# helpers they share and the servers the backend suites need, started the
# same way everywhere. The caller sets ROOT, PACKAGES and SERVERS first,
# then calls ensure_packages and start_servers; stop_servers runs at exit.

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
section() {
	printf '\n==== [%s, %ss] %s\n' "$(date -u +%H:%M:%S)" "$SECONDS" "$*"
}
die() { log "error: $*" >&2; exit 1; }

# shellcheck source=tools/lib/packages.sh
. "$ROOT/tools/lib/packages.sh"

#
# Each server the tests need has a start_<name> function, listed in
# SERVERS. It runs in this shell, under `set -e`, so any failing step stops
# the script (a missing server is a failure, never a skip). It must:
#   1. keep its files under "$WORK/<name>" (removed at exit);
#   2. take its port from free_port (loopback only: bind 127.0.0.1);
#   3. right after launching, register how to stop it: on_exit "command";
#   4. wait until it answers (wait_for_port PORT SECONDS);
#   5. export the variable its test suite reads (e.g. SB_TEST_<NAME>_URI).
# Servers are started once and serve both build trees.

WORK=$(mktemp -d "${TMPDIR:-/tmp}/storagebox-test.XXXXXX")
STOP_COMMANDS=()
USED_PORTS=" "

on_exit() { STOP_COMMANDS+=("$*"); }

# Stop everything that was started, last first, then drop the work dir.
stop_servers() {
	local i
	for ((i = ${#STOP_COMMANDS[@]} - 1; i >= 0; i--)); do
		eval "${STOP_COMMANDS[i]}" >/dev/null 2>&1 || true
	done
	STOP_COMMANDS=()
	rm -rf "$WORK"
}
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# uri_password URI: the password of scheme://[user]:PASSWORD@host..., as
# written in the URI, or nothing. Not the core's parser (the C tests read
# passwords with it, tests/common/turi.c): the logs hold the URI as
# written, so redact_logs needs the raw form, and this runs without a
# built tree (bench.sh before its build, test.sh after a failed one). The
# test servers' passwords are alphanumeric: raw and decoded are the same.
uri_password() { sed -n 's|^[a-z+]*://[^:@/]*:\([^@/]*\)@.*|\1|p' <<<"$1"; }

# redact_logs DIR...: replace the test servers' passwords (read from the
# SB_TEST_*URI variables) with *** in the meson logs under each DIR:
# meson writes the inherited environment into testlog.txt and .json.
redact_logs() {
	local var pw esc dir f pws=()
	for var in $(compgen -e | grep -E '^SB_TEST_[A-Z_]*URI$'); do
		pw=$(uri_password "${!var}")
		[ -n "$pw" ] && pws+=("$pw")
	done
	[ ${#pws[@]} -gt 0 ] || return 0
	for dir in "$@"; do
		for f in "$dir"/meson-logs/*.txt "$dir"/meson-logs/*.json; do
			[ -f "$f" ] || continue
			for pw in "${pws[@]}"; do
				esc=$(printf '%s' "$pw" | sed 's/[][\.*^$|/&]/\\&/g')
				sed -i "s/$esc/***/g" "$f"
			done
		done
	done
}

# 0 if something accepts connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port VAR: set VAR to a loopback port nobody listens on and that this
# script has not handed out before (call it directly, not in $(...), so
# that it remembers). Ports come from below the kernel's ephemeral range
# (ip_local_port_range): an outgoing connection of anything on the machine
# may take a port inside it between this check and the server's bind
# (a CI run lost its Redis that way).
free_port() {
	local _fp_port _fp_tries=0 _fp_lo=10000 _fp_hi=32767 _fp_eph
	read -r _fp_eph _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null ||
		_fp_eph=32768
	[ "$_fp_eph" -gt $((_fp_lo + 1000)) ] && _fp_hi=$((_fp_eph - 1))
	while [ $_fp_tries -lt 200 ]; do
		_fp_port=$((_fp_lo + RANDOM % (_fp_hi - _fp_lo + 1)))
		_fp_tries=$((_fp_tries + 1))
		case $USED_PORTS in *" $_fp_port "*) continue ;; esac
		port_open "$_fp_port" && continue
		USED_PORTS="$USED_PORTS$_fp_port "
		printf -v "$1" '%s' "$_fp_port"
		return 0
	done
	die "no free loopback port found"
}

# wait_for_port PORT SECONDS: until the port accepts connections.
wait_for_port() {
	local deadline=$((SECONDS + $2))
	until port_open "$1"; do
		[ $SECONDS -lt "$deadline" ] || die "nothing answers on port $1 after $2 s"
		sleep 0.2
	done
}

# SQLite is embedded: its suites open files in their own temp dirs, so
# there is no server to start and no variable to set.
start_sqlite() {
	log "sqlite: embedded, no server"
}

# Server backends plug in here: tools/servers/<name>.sh adds its Debian
# packages to PACKAGES, its name to SERVERS, and defines start_<name>
# following the contract above. One file per backend, so backends are
# added without touching this script.
for plugin in "$ROOT"/tools/servers/*.sh; do
	[ -e "$plugin" ] || continue
	# shellcheck source=/dev/null
	. "$plugin"
done

# start_servers: start every server in SERVERS, in order.
start_servers() {
	local server
	for server in "${SERVERS[@]}"; do
		"start_$server"
	done
}
