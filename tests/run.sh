#!/usr/bin/env bash
# Run every test suite and print one summary line: "N passed, N failed".
# Each suite prints "PASS name" / "FAIL name: why" lines; a suite that exits
# non-zero without printing a FAIL line counts as one failure of its own.
# Usage: tests/run.sh [SUITE...]   suites: layers unit datapath conformance cnp oracle e2e
# (conformance runs cnp too: the ClusterNetworkPolicy cases)
set -uo pipefail
cd "$(dirname "$0")/.."

suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(layers unit datapath conformance oracle e2e)
# conformance means both harnesses: NetworkPolicy, then ClusterNetworkPolicy
for i in "${!suites[@]}"; do
	[ "${suites[$i]}" = conformance ] && suites=("${suites[@]:0:$((i + 1))}" cnp "${suites[@]:$((i + 1))}") && break
done

pass=0 fail=0
run_suite() {   # name, command...
	local name=$1; shift
	local out rc p f
	echo "== $name"
	out=$("$@" 2>&1); rc=$?
	printf '%s\n' "$out" | grep -E '^(PASS|FAIL|ERROR) ' | sed 's/^/  /'
	printf '%s\n' "$out" | grep -qE '^(FAIL|ERROR) ' && printf '%s\n' "$out" | grep -vE '^(PASS|FAIL|ERROR) ' | tail -n 20 | sed 's/^/  | /'
	p=$(printf '%s\n' "$out" | grep -cE '^PASS ')
	f=$(printf '%s\n' "$out" | grep -cE '^(FAIL|ERROR) ')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "  FAIL $name: exited $rc"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/  | /'
		f=1
	fi
	pass=$((pass + p)); fail=$((fail + f))
}

PY=python3
for s in "${suites[@]}"; do
	case $s in
	layers)      run_suite layers bash tests/check_layers.sh ;; # DESIGN §9: no stdio below cmd/
	unit)        run_suite unit build/tests/unit_tests ;;
	datapath)    run_suite datapath build/tests/datapath_tests ;;
	conformance) # the team's shared copy when it is there, else the one vendored here
		     conf=../shared/conformance
		     [ -f $conf/check.py ] || conf=tests/conformance
		     run_suite conformance $PY $conf/check.py --ignore-loopback \
			--impl ./podwall $conf/cases/upstream
		     # probe sharing changes no byte of matrix's output
		     run_suite matrix-share bash tests/matrix/differential.sh ;;
	cnp)         run_suite conformance-cnp $PY tests/cnp-conformance/check_cnp.py \
			--impl ./podwall tests/cnp-conformance/cases ;;
	oracle)      # matrix against an independent evaluator of the API texts, random dumps
		     run_suite oracle bash tests/oracle/differential.sh ;;
	e2e)         for t in tests/e2e/*.sh; do
			[ -e "$t" ] || continue
			run_suite "e2e/$(basename "$t" .sh)" bash "$t"
		     done ;;
	*) echo "unknown suite $s" >&2; exit 2 ;;
	esac
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
