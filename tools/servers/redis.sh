# shellcheck shell=bash
# Redis for the redis test suite (sourced by tools/test.sh; contract there).
#
# One redis-server 7 on a free loopback port and a unix socket, in
# "$WORK/redis", with a random password (so the suites test AUTH), no RDB
# snapshots and the append-only file on (the fault test restarts the
# server and expects its data back). The test programs get:
#   SB_TEST_REDIS_URI        redis://:PASSWORD@127.0.0.1:PORT/0
#   SB_TEST_REDIS_UNIX_URI   redis+unix://:PASSWORD@/.../redis.sock
#   SB_TEST_REDIS_RESTART    a script that stops the server (SIGTERM, so
#                            the AOF is complete) and starts it again with
#                            the same command line, waiting until it answers
PACKAGES+=(redis-server libhiredis-dev)
SERVERS+=(redis)

# redis_scripts DIR PORT PASSWORD: write start.sh, stop.sh and restart.sh.
redis_scripts() {
	local dir=$1 port=$2 password=$3
	# The command line, kept in a script so the fault test can run it
	# again after a restart. setsid and the redirections detach the
	# server from whoever starts it (a test must not wait for it).
	cat >"$dir/start.sh" <<-SCRIPT
	#!/usr/bin/env bash
	set -e
	cd "$dir"
	setsid redis-server --port $port --bind 127.0.0.1 --dir "$dir" \\
		--unixsocket "$dir/redis.sock" --unixsocketperm 700 \\
		--requirepass "$password" --save "" --appendonly yes \\
		--appendfsync everysec --daemonize no --pidfile "$dir/redis.pid" \\
		--logfile "$dir/redis.log" </dev/null >/dev/null 2>&1 &
	pid=\$!
	echo \$pid >"$dir/redis.pid.launch"
	for _ in \$(seq 1 150); do
		if REDISCLI_AUTH="$password" redis-cli -p $port ping 2>/dev/null | grep -q PONG; then
			exit 0
		fi
		kill -0 \$pid 2>/dev/null || break
		sleep 0.1
	done
	echo "redis-server did not answer on port $port; its log ends:" >&2
	tail -n 5 "$dir/redis.log" >&2 2>/dev/null || true
	exit 1
	SCRIPT
	cat >"$dir/stop.sh" <<-SCRIPT
	#!/usr/bin/env bash
	pid=\$(cat "$dir/redis.pid.launch" 2>/dev/null) || exit 0
	kill -TERM "\$pid" 2>/dev/null || exit 0
	for _ in \$(seq 1 100); do
		kill -0 "\$pid" 2>/dev/null || exit 0
		sleep 0.1
	done
	kill -KILL "\$pid" 2>/dev/null || true
	SCRIPT
	cat >"$dir/restart.sh" <<-SCRIPT
	#!/usr/bin/env bash
	set -e
	"$dir/stop.sh"
	exec "$dir/start.sh"
	SCRIPT
	chmod +x "$dir/start.sh" "$dir/stop.sh" "$dir/restart.sh"
}

start_redis() {
	local dir="$WORK/redis" port password try
	mkdir -p "$dir"
	password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
	on_exit "'$dir/stop.sh'"
	# A port can still be taken between free_port's check and the bind:
	# try another one before giving up.
	for try in 1 2 3; do
		free_port port
		redis_scripts "$dir" "$port" "$password"
		"$dir/start.sh" && break
		"$dir/stop.sh"
		[ "$try" -lt 3 ] || die "redis: no server after $try ports"
		log "redis: port $port failed, trying another"
	done
	wait_for_port "$port" 15
	log "redis: $(redis-server --version | cut -d' ' -f3) on 127.0.0.1:$port and $dir/redis.sock"
	export SB_TEST_REDIS_URI="redis://:$password@127.0.0.1:$port/0"
	export SB_TEST_REDIS_UNIX_URI="redis+unix://:$password@$dir/redis.sock"
	export SB_TEST_REDIS_RESTART="$dir/restart.sh"
}
