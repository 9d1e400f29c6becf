#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# podwall matrix against an independent oracle (tests/oracle/evaluate.py,
# written from the NetworkPolicy and ClusterNetworkPolicy API texts).
#
# For each seed, a random dump (scripts/gen-dump.py --random; odd seeds add
# --cnp: Nodes, hostNetwork and finished pods, ClusterNetworkPolicies of both
# tiers) is probed by `podwall matrix -o json` over several ports, the three
# protocols and external addresses, and every pod-to-pod and pod<->address
# cell is compared with the oracle (Service and "mixed" cells are left out).
# Prints PASS/FAIL per seed (tests/run.sh); on a FAIL, the first differing
# cells with the oracle's reasons, and the dump is kept for reproduction:
#   podwall matrix -f DUMP --ports ... -o json >m.json
#   python3 tests/oracle/compare.py DUMP m.json
# ORACLE_SEEDS=N (default 20) seeds; ORACLE_KEEP=DIR keeps failing dumps
# there (default /tmp/podwall-oracle-fail). Needs root (BPF_PROG_TEST_RUN).
set -uo pipefail
cd "$(dirname "$0")/../.."

PW=${PODWALL:-./podwall}
SEEDS=${ORACLE_SEEDS:-20}
KEEP=${ORACLE_KEEP:-/tmp/podwall-oracle-fail}
WORK=$(mktemp -d /tmp/podwall-oracle.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fails=0

for seed in $(seq 1 "$SEEDS"); do
	cnp=; [ $((seed % 2)) -eq 1 ] && cnp=--cnp
	dump=$WORK/seed$seed.yaml
	python3 scripts/gen-dump.py --random $cnp --seed "$seed" --pods $((12 + seed * 2)) >"$dump"
	ext=$(python3 scripts/gen-dump.py --print-externals $cnp)
	args=(--ports 53,79,80,81,100 --protocols TCP,UDP,SCTP --external-ips "$ext" -o json)
	name="seed $seed${cnp:+ (cnp)}"
	if ! "$PW" matrix -f "$dump" "${args[@]}" >"$WORK/m.json" 2>"$WORK/err"; then
		echo "FAIL $name: matrix failed: $(grep -v note: "$WORK/err" | head -3)"
		fails=$((fails + 1)); continue
	fi
	if python3 tests/oracle/compare.py "$dump" "$WORK/m.json" >"$WORK/cmp"; then
		echo "PASS $name: $(tail -1 "$WORK/cmp")"
		continue
	fi
	mkdir -p "$KEEP" && cp "$dump" "$KEEP/seed$seed.yaml"
	echo "FAIL $name: $(tail -1 "$WORK/cmp"); dump kept in $KEEP/seed$seed.yaml"
	echo "  reproduce: $PW matrix -f $KEEP/seed$seed.yaml ${args[*]:0:6} -o json >m.json &&" \
	     "python3 tests/oracle/compare.py $KEEP/seed$seed.yaml m.json"
	head -n -1 "$WORK/cmp"
	fails=$((fails + 1))
done
[ "$fails" -eq 0 ]
