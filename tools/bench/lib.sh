# shellcheck shell=bash
# Helpers shared by the benchmark sections (tools/bench/<backend>.sh),
# sourced by tools/bench.sh after tools/lib/servers.sh (log, die, WORK).
#
# Every figure is written twice: as a row of its backend's table in
# "$DATA/rows-<backend>.md" (results.md is put together from those) and,
# where it is plotted, as a line of a "$DATA/*.dat" file for gnuplot.
# Expects: CLI (storagebox), DATA, SECS, QUICK (0/1), FAILED (array).

# jnum NAME JSON: a number from a one-line JSON object.
jnum() { sed -n "s/.*\"$1\":\(-\{0,1\}[0-9.eE+-]*\).*/\1/p" <<<"$2" | head -n1; }

# jarr NAME JSON: a JSON array of numbers, space separated.
jarr() { sed -n "s/.*\"$1\":\[\([^]]*\)\].*/\1/p" <<<"$2" | tr ',' ' '; }

# calc EXPR: awk arithmetic with shell values substituted by the caller.
calc() { awk "BEGIN { print $1 }"; }

# ratio A B: A / B with two decimals (0 when B is 0).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# num N: a whole number with thousands separators (1,234,567).
num() {
	awk -v n="$1" 'BEGIN {
		s = sprintf("%.0f", n); neg = s ~ /^-/; if (neg) s = substr(s, 2)
		out = ""; while (length(s) > 3) {
			out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3)
		}
		printf "%s%s%s", (neg ? "-" : ""), s, out }'
}

# at_least V MIN / at_most V MAX / within V LO HI: "met" or "missed".
at_least() { awk -v v="$1" -v m="$2" 'BEGIN { print (v >= m ? "met" : "missed") }'; }
at_most() { awk -v v="$1" -v m="$2" 'BEGIN { print (v <= m ? "met" : "missed") }'; }
within() { awk -v v="$1" -v l="$2" -v h="$3" 'BEGIN { print (v >= l && v <= h ? "met" : "missed") }'; }

# row BACKEND FIGURE STORAGEBOX BASELINE RATIO TARGET RESULT: one table row
# ("" -> an em dash). Also echoed to the log as it is measured.
row() {
	local b=$1 cells="" c
	shift
	for c in "$@"; do cells="$cells | ${c:-—}"; done
	printf '%s |\n' "${cells# }" >>"$DATA/rows-$b.md"
	log "$b:${cells#|}"
}

# A figure that breaks a rule (the law, an error) fails the whole run.
fail() {
	FAILED+=("$*")
	log "FAILED: $*"
}

# sample_load: keep the highest 1-minute load average seen (results.md
# says whether the machine was busy during the run, not only at its ends).
LOAD_PEAK=0
sample_load() {
	LOAD_PEAK=$(awk -v a="$(cut -d' ' -f1 /proc/loadavg)" -v b="$LOAD_PEAK" \
		'BEGIN { print (a > b ? a : b) }')
}

# take_json NAME RC PROGRAM: keeps BENCH_JSON, the JSON line of one run of
# PROGRAM that exited RC, in "$DATA/NAME.json" and drops its spaces (for
# jnum). A run that printed nothing, failed, or does not say that the box
# law holds ("law_holds": false, or null when it could not be checked) is a
# failure of the whole bench; 1 then, and the figures are still reported.
take_json() {
	local name=$1 rc=$2 program=$3
	printf '%s\n' "$BENCH_JSON" >"$DATA/$name.json"
	sample_load
	BENCH_JSON=${BENCH_JSON// /}
	if [ -z "$BENCH_JSON" ]; then
		fail "$name: $program exited $rc: $(head -c 300 "$DATA/$name.err")"
		BENCH_JSON='{"claims_per_s":0}'
		return 1
	fi
	if [ "$rc" -ne 0 ] || ! grep -q '"law_holds":true' <<<"$BENCH_JSON"; then
		fail "$name: $program exited $rc, law_holds" \
			"$(sed -n 's/.*"law_holds":\([a-z]*\).*/\1/p' <<<"$BENCH_JSON"):" \
			"$(head -c 300 "$DATA/$name.err")"
		return 1
	fi
}

# sbbench NAME [GLOBAL OPTIONS...] -- [BENCH OPTIONS...]: one run of
# `storagebox bench --json`; its JSON line in BENCH_JSON (and kept in
# "$DATA/NAME.json"). A broken law or failed requests are recorded as a
# failure of the run, and the figures are still reported.
sbbench() {
	local name=$1 global=() uri="" rc=0
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		# The URI goes in the environment: its password stays out of ps.
		if [ "$1" = --uri ]; then uri=$2; shift 2; continue; fi
		global+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	BENCH_JSON=$(STORAGEBOX_URI=$uri "$CLI" "${global[@]}" bench --json --quiet "$@" \
		2>"$DATA/$name.err") || rc=$?
	if take_json "$name" "$rc" "storagebox bench" &&
		[[ " $* " == *" --duration "* ]] && [ "$(jnum empty "$BENCH_JSON")" != 0 ]; then
		# A timed step must end with items left, or claims/s understates.
		fail "$name: the bank ran out before the end of the step (make it bigger)"
	fi
}

# life_data BACKEND LABEL: the life curve of the last run (claims/s per
# tenth of the bank, and relative to the first tenth) for the life plot.
life_data() {
	local tenths first i=0 v
	tenths=$(jarr life_tenths "$BENCH_JSON")
	[ -n "$tenths" ] || return 0
	first=${tenths%% *}
	{
		printf '# %s\n' "$2"
		for v in $tenths; do
			i=$((i + 1))
			printf '%d %s %s\n' "$((i * 10))" "$v" "$(ratio "$v" "$first")"
		done
	} >"$DATA/life-$1.dat"
}

# life_row BACKEND ITEMS WHO [MIN]: claims/s over the last 10% of the
# bank the last run drained, against its first 10% (target: at least MIN).
life_row() {
	local first last r
	first=$(jnum life_first_claims_per_s "$BENCH_JSON")
	last=$(jnum life_last_claims_per_s "$BENCH_JSON")
	r=$(ratio "$last" "$first")
	row "$1" "claims/s, last 10% of a $(num "$2")-item bank ($3)" \
		"$(num "$last")" "$(num "$first") (first 10%)" "$r" \
		"${4:+≥ $4}" "${4:+$(at_least "$r" "${4:-0}")}"
}

# mid_drain ITEMS: the seconds the last run (BENCH_JSON, a drained bank
# of ITEMS) took over its middle 80% (from the first tenth's last claim
# to the ninth's), from its life_tenths; empty when it has none. A
# drain's first and last claims carry costs of the run, not of the bank
# (the threads starting; the one the scheduler left waiting longest,
# which the run waits for at the end): a run of 0.3 s carries them at
# some 20 times the weight of one of 6 s.
mid_drain() {
	jarr life_tenths "$BENCH_JSON" | awk -v n="$1" '
		{ for (i = 2; i <= 9; i++) { if ($i <= 0) exit; s += n / 10 / $i } }
		END { if (NF >= 9 && s > 0) print s }'
}

# bulk_data BACKEND ITEMS ITEMS_PER_S: one bar of the bulk load plot.
bulk_data() {
	printf '%s %s %s %s/s\n' "$1" "$(num "$2")" "$3" "$(num "$3")" >>"$DATA/bulk.dat"
}

# per_s COUNT SECONDS
per_s() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0 ? n / s : 0) }'; }

# median N...: the middle value.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

now() { date +%s.%N; }
