# shellcheck shell=bash
# DynamoDB Local (AWS's own emulator) for the DynamoDB suites. Sourced by
# tools/test.sh (see the server contract there). The emulator ships inside
# the npm package amplify-dynamodb-simulator (jar + native sqlite4java
# libraries); its JavaScript wrapper is not needed. The tarball is fetched
# once with `npm pack` into "$ROOT/.cache/dynamodb-local" and reused.
PACKAGES+=(libcurl4-openssl-dev libcjson-dev libssl-dev openjdk-17-jre-headless)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)
SERVERS+=(dynamodb)

DYNAMODB_SIMULATOR_PKG=${DYNAMODB_SIMULATOR_PKG:-amplify-dynamodb-simulator@2.9.30}

# dynamodb_local_dir: print the emulator dir, fetching the package once.
dynamodb_local_dir() {
	local cache="$ROOT/.cache/dynamodb-local" tgz tgzs
	mkdir -p "$cache"
	tgzs=("$cache"/amplify-dynamodb-simulator-*.tgz)
	if [ ! -f "${tgzs[0]}" ]; then
		(cd "$cache" && npm pack --silent "$DYNAMODB_SIMULATOR_PKG" >/dev/null) ||
			die "dynamodb: npm pack $DYNAMODB_SIMULATOR_PKG failed"
		tgzs=("$cache"/amplify-dynamodb-simulator-*.tgz)
		[ -f "${tgzs[0]}" ] || die "dynamodb: npm pack left no tarball in $cache"
	fi
	tgz=${tgzs[0]}
	if [ ! -f "$cache/package/emulator/DynamoDBLocal.jar" ]; then
		tar -xzf "$tgz" -C "$cache" package/emulator ||
			die "dynamodb: cannot unpack $tgz"
	fi
	printf '%s\n' "$cache/package/emulator"
}

start_dynamodb() {
	local dir emu port pid waited=0
	dir="$WORK/dynamodb"
	mkdir -p "$dir"
	emu=$(dynamodb_local_dir)
	free_port port
	# In memory, one database for every access key and region. It listens
	# on every interface (DynamoDB Local has no bind option); the tests
	# talk to 127.0.0.1 only. -Xmx bounds the JVM on small machines; C1
	# only (TieredStopAtLevel=1) starts much faster on a busy machine.
	(cd "$dir" && exec java -Xmx512m -XX:+UseSerialGC \
		-XX:TieredStopAtLevel=1 \
		-Djava.library.path="$emu/DynamoDBLocal_lib" \
		-jar "$emu/DynamoDBLocal.jar" -inMemory -sharedDb \
		-disableTelemetry -port "$port" >"$dir/server.log" 2>&1) &
	pid=$!
	on_exit "kill $pid; wait $pid"
	# JVM start-up takes seconds, and much longer on a loaded machine:
	# wait up to 180 s, but stop at once if the JVM died.
	until port_open "$port"; do
		kill -0 "$pid" 2>/dev/null ||
			die "dynamodb: DynamoDB Local exited: $(tail -n 5 "$dir/server.log")"
		[ "$waited" -lt 900 ] ||
			die "dynamodb: nothing answers on port $port after 180 s"
		sleep 0.2
		waited=$((waited + 1))
	done
	export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-fake}
	export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-fake}
	export SB_TEST_DYNAMODB_URI="dynamodb+http://127.0.0.1:$port?region=us-east-1"
	# The JVM itself (the subshell exec'd it): the bench reads its CPU time.
	export SB_TEST_DYNAMODB_PID=$pid
	log "dynamodb: DynamoDB Local on 127.0.0.1:$port (pid $pid)"
}
