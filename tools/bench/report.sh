# shellcheck shell=bash disable=SC2016 # backquotes here are Markdown
# results.md for tools/bench.sh: the machine, the run, one table per
# backend (from "$DATA/rows-*.md"), the plots, and every target met or
# missed. Expects DATA, OUT, QUICK, SECS, BIG, LOAD_START, LOAD_END,
# RUN_SECONDS, FAILED, VERSIONS (array of "name version" lines).

# machine_line: CPU model, cores, memory, OS, kernel.
machine_line() {
	local cpu mem os
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	os="Debian $(cat /etc/debian_version 2>/dev/null || echo '?')"
	printf '%s, %s cores, %s RAM, %s, Linux %s' "${cpu:-unknown CPU}" \
		"$(nproc)" "$mem" "$os" "$(uname -r)"
}

# joined SEP WORD...: the words with SEP between them.
joined() {
	local sep=$1 out=${2:-}
	[ $# -ge 2 ] || return 0
	shift 2
	for w in "$@"; do out="$out$sep$w"; done
	printf '%s' "$out"
}

# table FILE TITLE HEADER...: a Markdown table, if FILE has rows.
table() {
	local f=$1 title=$2 h sep=""
	shift 2
	[ -s "$f" ] || return 0
	printf '### %s\n\n|' "$title"
	for h in "$@"; do printf ' %s |' "$h"; sep="$sep---|"; done
	printf '\n|%s\n' "$sep"
	cat "$f"
	printf '\n'
}

write_results() {
	local res="$OUT/results.md" met missed
	met=$(cat "$DATA"/rows-*.md 2>/dev/null | grep -c '| met |' || true)
	missed=$(cat "$DATA"/rows-*.md 2>/dev/null | grep -c '| missed |' || true)
	{
		printf '# storagebox benchmark results\n\n'
		printf 'Written by `bash tools/bench.sh%s` on %s.\n\n' \
			"$([ "$QUICK" = 1 ] && echo ' --quick')" "$(date -u '+%Y-%m-%d %H:%M UTC')"
		[ "$QUICK" = 1 ] && printf '**Quick run (tiny sizes, 1 s steps): it checks that the script works; its figures mean little.**\n\n'
		printf -- '- Machine: %s.\n' "$(machine_line)"
		printf -- '- Servers as `tools/test.sh` starts them, on loopback: %s.\n' "$(joined ', ' "${VERSIONS[@]}")"
		printf -- '- Each throughput step runs %s s; banks that are drained hold %s items (DynamoDB Local: %s).\n' \
			"$SECS" "$(num "$BIG")" "$(num "$DDB_LIFE")"
		printf -- '- Run time %dm%02ds. Load average (1, 5, 15 min) at the start: %s; at the end: %s; highest 1-min load seen after a step: %s (the 32- and 64-client steps raise it themselves).\n' \
			$((RUN_SECONDS / 60)) $((RUN_SECONDS % 60)) "$LOAD_START" "$LOAD_END" "$LOAD_PEAK"
		# Only the load before the first step tells of other work: the
		# steps with many clients load the machine by design.
		if awk -v a="${LOAD_START%% *}" -v n="$(nproc)" \
			'BEGIN { exit !(a > n / 4) }'; then
			printf -- '- **The machine was not idle when the run started** (1-min load %s on %s cores): absolute figures are low and noisy; the ratios, measured side by side, hold better.\n' \
				"${LOAD_START%% *}" "$(nproc)"
		fi
		[ -n "${BENCH_NOTE:-}" ] && printf -- '- Note: %s\n' "$BENCH_NOTE"
		printf -- '- Targets: %s met, %s missed.\n' "$met" "$missed"
		if [ ${#FAILED[@]} -gt 0 ]; then
			printf '\n**FAILED** (a broken law or a failed step makes the run fail):\n\n'
			printf -- '- %s\n' "${FAILED[@]}"
		fi
		printf '\nEvery ratio is storagebox over a baseline measured in the same run, on the same server, with as many clients. Claims are new ids (`--repeat 0`); claims/s counts new assignments from the moment every client has opened its connection to the end of the run. Every `storagebox bench` run checked the box law on its answers and on the store.\n\n'
		local cols=(Figure storagebox Baseline Ratio Target Result)
		table "$DATA/rows-sqlite.md" "SQLite (WAL)" "${cols[@]}"
		table "$DATA/rows-sqlite-busy.md" \
			"SQLite raw loop: storagebox's busy handler against sqlite3_busy_timeout" \
			"Figure" "busy handler (claims/s)" "sqlite3_busy_timeout (claims/s)" "Ratio"
		table "$DATA/rows-postgresql.md" "PostgreSQL" "${cols[@]}"
		table "$DATA/rows-redis.md" "Redis" "${cols[@]}"
		table "$DATA/rows-dynamodb.md" "DynamoDB Local" "${cols[@]}"
		table "$DATA/rows-original.md" \
			"DynamoDB Local: storagebox against the original library's algorithm (tools/bench/original.py, boto3), same run" \
			Figure storagebox "Baseline (the original)" Ratio Target Result
		table "$DATA/rows-python.md" "Python (ctypes) against storagebox bench" "${cols[@]}"
		table "$DATA/rows-holds.md" "Holds: bench --holds, hold and confirm beside fetch" "${cols[@]}"
		table "$DATA/rows-memory.md" "Memory" "${cols[@]}"
		printf '### Plots\n\n'
		local png
		for png in claims-vs-clients life bulk-load; do
			[ -s "$OUT/$png.png" ] && printf '![%s](%s.png)\n\n' "$png" "$png"
		done
		printf 'Raw JSON of every run: `%s` (not kept in git).\n' "${DATA#"$ROOT"/}"
	} >"$res"
	log "wrote $res ($met targets met, $missed missed)"
}

# docs_update PAGE: replace what lies between the bench markers of PAGE
# with results.md (less its title; image links made relative to PAGE).
docs_update() {
	local page=$1 body rel
	if ! grep -q '^<!-- bench:begin -->$' "$page" ||
		! grep -q '^<!-- bench:end -->$' "$page"; then
		die "$page has no <!-- bench:begin --> / <!-- bench:end --> markers"
	fi
	rel=$(realpath --relative-to="$(dirname "$page")" "$OUT")
	body=$(sed -e '1,2d' -e "s|](\([a-z-]*\.png\))|]($rel/\1)|" \
		-e '/^Raw JSON of every run/d' "$OUT/results.md")
	BODY=$body awk '
		/^<!-- bench:begin -->$/ { print; print ENVIRON["BODY"]; print ""; skip = 1; next }
		/^<!-- bench:end -->$/ { skip = 0 }
		!skip { print }' "$page" >"$page.tmp"
	mv "$page.tmp" "$page"
	log "updated the benchmark tables in $page"
}
