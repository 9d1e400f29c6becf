#!/usr/bin/env bash
# Fuzz smoke run: every libFuzzer target of tests/fuzz/ (built by `make fuzz`)
# for a minute each, over its seed corpus (tests/fuzz/seeds.py: the
# conformance cases, API answers and CNI configurations made from them, the
# hostile corpus, and the committed seeds and regression inputs). Any crash,
# sanitizer report, leak, timeout (10 s for one input) or out-of-memory
# (2 GB) fails it. CI runs it before `make test`.
#
# Usage: scripts/fuzz-smoke.sh [-t SECONDS] [-j JOBS] [TARGET...]
#   -t  seconds per target (default $FUZZ_SECONDS or 60)
#   -j  targets run at once (default: the number of CPUs)
# Prints "PASS fuzz/TARGET (...)" or "FAIL fuzz/TARGET: why" per target and
# exits 1 if any failed. A crashing input is kept as
# build/fuzz/artifacts/TARGET-crash-<sha1>: reproduce with
#   build/fuzz/TARGET build/fuzz/artifacts/TARGET-crash-<sha1>
# New coverage found is kept in build/fuzz/corpus/TARGET for the next run.
set -uo pipefail
cd "$(dirname "$0")/.."

secs=${FUZZ_SECONDS:-60}
jobs=$(nproc 2>/dev/null || echo 2)
while getopts "t:j:" o; do
	case $o in
	t) secs=$OPTARG ;;
	j) jobs=$OPTARG ;;
	*) echo "usage: $0 [-t SECONDS] [-j JOBS] [TARGET...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

B=build/fuzz
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi
for t in "${targets[@]}"; do
	if ! [ -x "$B/$t" ]; then echo "FAIL fuzz/$t: $B/$t not built (make fuzz)"; exit 1; fi
done

work=$(mktemp -d /tmp/podwall-fuzz.XXXXXX) || exit 1
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "$B/seeds"
mkdir -p "$B/seeds" "$B/corpus" "$B/artifacts" "$B/logs"
python3 tests/fuzz/seeds.py "$B/seeds" 65536 || { echo "FAIL fuzz/seeds: tests/fuzz/seeds.py failed"; exit 1; }

# per-target options
opts_for() {
	case $1 in
	fuzz_load|fuzz_k8s_api) echo "-max_len=32768" ;;
	*) echo "-max_len=16384" ;;
	esac
}

run_one() {   # target
	local t=$1
	mkdir -p "$B/corpus/$t" "$B/seeds/$t"
	# shellcheck disable=SC2046
	TMPDIR=$work timeout -k 10 $((secs + 120)) "$B/$t" $(opts_for "$t") \
		-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -close_fd_mask=3 \
		-print_final_stats=1 -artifact_prefix="$B/artifacts/$t-" \
		"$B/corpus/$t" "$B/seeds/$t" >"$B/logs/$t.log" 2>&1
	echo $? >"$work/$t.rc"
}

echo "fuzzing ${#targets[@]} targets for ${secs} s each, $jobs at a time" >&2
running=0
for t in "${targets[@]}"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n 2>/dev/null
		running=$((running - 1))
	fi
	run_one "$t" &
	pids+=($!)
	running=$((running + 1))
done
wait

fails=0
for t in "${targets[@]}"; do
	rc=$(cat "$work/$t.rc" 2>/dev/null || echo 255)
	log=$B/logs/$t.log
	runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
	if [ "$rc" -eq 0 ]; then
		echo "PASS fuzz/$t (${runs:-?} inputs in ${secs} s, ${cov:-cov: ?}, no crash)"
	else
		art=$(grep -oE "Test unit written to [^ ]+" "$log" | tail -1 | sed 's/Test unit written to //')
		what=$(grep -m1 -oE 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)[^\n]*|runtime error: .*|ALARM: .*' "$log" | head -1)
		echo "FAIL fuzz/$t: exit $rc: ${what:-see $log}${art:+; input kept in $art}"
		grep -E '^(==[0-9]+==|    #[0-9]|SUMMARY|.*runtime error)' "$log" | head -n 25 | sed 's/^/  | /'
		fails=$((fails + 1))
	fi
done
[ "$fails" -eq 0 ]
