# shellcheck shell=bash
# PostgreSQL 15 for the postgresql test suite (sourced by tools/test.sh).
#
# A throw-away cluster: initdb into $WORK/postgresql, loopback only, on a
# free port, socket in the same directory, stopped at exit. The server runs
# as the `postgres` user when the script runs as root (PostgreSQL refuses
# to run as root). A role with a password and scram-sha-256 on TCP, so the
# wrong-password tests see a real authentication failure.
#
# Exports for tests/postgresql:
#   SB_TEST_PG_URI   postgresql://sbtest:PASSWORD@127.0.0.1:PORT/sbtest
#   SB_TEST_PG_CTL   a command prefix that runs pg_ctl on this cluster as
#                    the right user; the fault test appends
#                    "restart -m fast -w" to it
PACKAGES+=(postgresql-15 postgresql-client-15 libpq-dev)
SERVERS+=(postgresql)

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# pg_run CMD ARGS...: run a PostgreSQL program as the cluster's owner.
pg_run() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

start_postgresql() {
	local dir="$WORK/postgresql" port pw try
	mkdir -p "$dir"
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 ||
			die "postgresql: no 'postgres' user (is postgresql-15 installed?)"
		chown postgres: "$dir"
		chmod 700 "$dir"
		# runuser keeps the cwd: make sure postgres may enter $WORK.
		chmod o+x "$WORK"
	fi
	pw="sbpw$RANDOM$RANDOM$RANDOM"
	printf '%s\n' "$pw" >"$dir/pwfile"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$dir/pwfile"
	log "postgresql: initdb in $dir/data"
	pg_run "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust \
		-E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; die "postgresql: initdb failed"; }
	# Local socket: trust for the owner (setup); TCP: passwords only.
	cat >"$dir/data/pg_hba.conf" <<EOF
local all postgres trust
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
EOF
	cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 200
password_encryption = scram-sha-256
EOF
	on_exit "pg_run '$PG_BIN/pg_ctl' -D '$dir/data' -m immediate -w stop"
	# A port can still be taken between free_port's check and the bind:
	# try another one before giving up (the last port line wins).
	for try in 1 2 3; do
		free_port port
		printf 'port = %s\n' "$port" >>"$dir/data/postgresql.conf"
		pg_run "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
			-t 60 start >/dev/null && break
		[ "$try" -lt 3 ] ||
			{ tail -n 20 "$dir/server.log" >&2; die "postgresql: pg_ctl start failed"; }
		log "postgresql: port $port failed, trying another"
	done
	wait_for_port "$port" 30
	pg_run "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" \
		-U postgres -d postgres -v pw="$pw" <<'EOF' ||
CREATE ROLE sbtest LOGIN PASSWORD :'pw';
CREATE DATABASE sbtest OWNER sbtest;
EOF
		die "postgresql: cannot create role and database"
	export SB_TEST_PG_URI="postgresql://sbtest:$pw@127.0.0.1:$port/sbtest"
	if [ "$(id -u)" -eq 0 ]; then
		export SB_TEST_PG_CTL="runuser -u postgres -- $PG_BIN/pg_ctl -D $dir/data -l $dir/server.log"
	else
		export SB_TEST_PG_CTL="$PG_BIN/pg_ctl -D $dir/data -l $dir/server.log"
	fi
	log "postgresql: ready on 127.0.0.1:$port"
}
