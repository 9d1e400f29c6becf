#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# podwall matrix against an independent oracle (tests/oracle/evaluate.py,
# written from the NetworkPolicy and ClusterNetworkPolicy API texts).
#
# For each seed, a random dump (scripts/gen-dump.py --random; odd seeds add
# --cnp: Nodes, hostNetwork and finished pods, ClusterNetworkPolicies of both
# tiers, domainNames peers) is probed by `podwall matrix -o json` over
# several ports, the three protocols and external addresses (Service
# ClusterIPs among them), and every cell is compared with the oracle: pod to
# pod, pod <-> address, pod to Service (the verdict after DNAT; a "mixed"
# cell's backends one by one). Every third seed probes dual-stack pairs over
# IPv6 (--family 6); one more seed has 220 pods (past the first /24 of pod
# addresses), its rows those of one namespace. First, the address plan of a large dump: no two pods,
# nor a pod and a fixed address (DNS pods, Nodes, ClusterIPs), share one.
# Prints PASS/FAIL per seed (tests/run.sh); on a FAIL, the first differing
# cells with the oracle's reasons, and the dump is kept for reproduction:
#   podwall matrix -f DUMP --ports ... [--family 6] -o json >m.json
#   python3 tests/oracle/compare.py DUMP m.json [--family 6]
# ORACLE_SEEDS=N (default 20) seeds; ORACLE_KEEP=DIR keeps failing dumps
# there (default /tmp/podwall-oracle-fail). Needs root (BPF_PROG_TEST_RUN).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

PW=${PODWALL:-./podwall}
SEEDS=${ORACLE_SEEDS:-20}
KEEP=${ORACLE_KEEP:-/tmp/podwall-oracle-fail}
WORK=$(mktemp -d /tmp/podwall-oracle.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fails=0

# the address plan: 2000 pods, every fixed address still unique
python3 scripts/gen-dump.py --random --cnp --seed 5 --pods 2000 >"$WORK/big.yaml"
ext=$(python3 scripts/gen-dump.py --print-externals --cnp)
if dup=$(python3 - "$WORK/big.yaml" "$ext" <<'EOF'
import collections, ipaddress, sys
sys.path.insert(0, "tests/oracle")
import evaluate
# endpoints' addresses, then the externals: outside the pods (the Nodes', the
# finished pod's, the ClusterIPs among them)
seen = collections.Counter(a for p in evaluate.load(sys.argv[1])[0] if p.endpoint for a in p.ips)
seen.update({ipaddress.ip_address(x) for x in sys.argv[2].split(",")})
dups = [str(a) for a, k in seen.items() if k > 1]
print(" ".join(sorted(dups)[:5]))
sys.exit(1 if dups else 0)
EOF
); then
	echo "PASS address plan: $(grep -c '^kind: Pod' "$WORK/big.yaml") pods, no shared address"
else
	echo "FAIL address plan: addresses shared in a 2000-pod dump: $dup"
	fails=$((fails + 1))
fi

# check SEED PODS [MATRIX-ARG...]: one random dump; odd seeds --cnp, every
# third --family 6
check() {
	local seed=$1 pods=$2 cnp="" fam=() dump ext args name
	shift 2
	[ $((seed % 2)) -eq 1 ] && cnp=--cnp
	[ $((seed % 3)) -eq 0 ] && fam=(--family 6)
	dump=$WORK/seed$seed.yaml
	python3 scripts/gen-dump.py --random $cnp --seed "$seed" --pods "$pods" >"$dump"
	ext=$(python3 scripts/gen-dump.py --print-externals $cnp)
	# shellcheck disable=SC2054 # commas inside option values
	args=(--ports 53,79,80,81,100 --protocols TCP,UDP,SCTP --external-ips "$ext" "${fam[@]}" "$@")
	name="seed $seed, $pods pods${cnp:+ (cnp)}${fam:+ (IPv6)}${*:+ ($*)}"
	if ! "$PW" matrix -f "$dump" "${args[@]}" -o json >"$WORK/m.json" 2>"$WORK/err"; then
		echo "FAIL $name: matrix failed: $(grep -v note: "$WORK/err" | head -3)"
		fails=$((fails + 1)); return
	fi
	if python3 tests/oracle/compare.py "$dump" "$WORK/m.json" "${fam[@]}" >"$WORK/cmp"; then
		echo "PASS $name: $(tail -1 "$WORK/cmp")"
		return
	fi
	mkdir -p "$KEEP" && cp "$dump" "$KEEP/seed$seed.yaml"
	echo "FAIL $name: $(tail -1 "$WORK/cmp"); dump kept in $KEEP/seed$seed.yaml"
	echo "  reproduce: $PW matrix -f $KEEP/seed$seed.yaml $(printf '%q ' "${args[@]}")-o json >m.json &&" \
	     "python3 tests/oracle/compare.py $KEEP/seed$seed.yaml m.json ${fam[*]}"
	head -n -1 "$WORK/cmp"
	fails=$((fails + 1))
}

for seed in $(seq 1 "$SEEDS"); do
	check "$seed" $((12 + seed * 2))
done
# past the first /24 of pod addresses (ipBlocks of 10.1.N.0/24 and /25 over
# pods), the rows of one namespace to keep it quick
check $((SEEDS + 1)) 220 --from 'ns-1/*' --ports 53,80
[ "$fails" -eq 0 ]
