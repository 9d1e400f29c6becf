#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# matrix with and without probe sharing must print the same bytes.
#
# `podwall matrix` lets the pods of one class (ops/peerclass.h) share their
# probes; PODWALL_MATRIX_SHARE=0 probes every pair through the kernel. On
# random dumps (scripts/gen-dump.py --random: few label values, named ports
# that differ within them, ipBlocks over pod addresses, IPv6 and dual-stack
# pods, DNS pods, an audit namespace, Services) and on a few conformance
# cases, with several ports, protocols and external addresses, both outputs
# (table and JSON) must be equal byte for byte, on one thread and on
# several; and on the random dumps sharing must have happened (fewer
# classes than peers), or the test would prove nothing.
#
# Prints PASS/FAIL lines (tests/run.sh). Needs root (BPF_PROG_TEST_RUN in
# a private network namespace that podwall makes itself).
set -uo pipefail
cd "$(dirname "$0")/../.."

PW=${PODWALL:-./podwall}
SEEDS=${MATRIX_DIFF_SEEDS:-10}
WORK=$(mktemp -d /tmp/podwall-matrix-diff.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
EXT=$(python3 scripts/gen-dump.py --print-externals)
fails=0

check() {   # name file args...
	local name=$1 f=$2 stats; shift 2
	if ! PODWALL_MATRIX_STATS=1 PODWALL_MATRIX_THREADS=2 "$PW" matrix -f "$f" "$@" \
		>"$WORK/shared" 2>"$WORK/stats"; then
		echo "FAIL $name: matrix (shared) failed: $(grep -v note: "$WORK/stats" | head -3)"
		fails=$((fails + 1)); return
	fi
	if ! PODWALL_MATRIX_SHARE=0 PODWALL_MATRIX_THREADS=1 "$PW" matrix -f "$f" "$@" \
		>"$WORK/every" 2>/dev/null; then
		echo "FAIL $name: matrix (every pair) failed"
		fails=$((fails + 1)); return
	fi
	if ! cmp -s "$WORK/shared" "$WORK/every"; then
		echo "FAIL $name: outputs differ: $(diff "$WORK/shared" "$WORK/every" | head -4 | tr '\n' ' ')"
		fails=$((fails + 1)); return
	fi
	stats=$(grep -o '[0-9]* peers in [0-9]* classes' "$WORK/stats")
	echo "$stats" >"$WORK/last-stats"
	echo "PASS $name ($stats, $(wc -c <"$WORK/shared") bytes)"
}

shared_some=0
for seed in $(seq 1 "$SEEDS"); do
	python3 scripts/gen-dump.py --random --seed "$seed" --pods $((20 + seed * 4)) >"$WORK/r$seed.yaml"
	if [ $((seed % 2)) -eq 0 ]; then
		check "random seed $seed (json)" "$WORK/r$seed.yaml" --ports 53,80,81 \
			--protocols TCP,UDP,SCTP --external-ips "$EXT" -o json
	else
		check "random seed $seed (table)" "$WORK/r$seed.yaml" --ports 80,81 \
			--protocols TCP,UDP --external-ips "$EXT"
	fi
	read -r peers _ _ classes _ <"$WORK/last-stats" 2>/dev/null || continue
	[ "${classes:-0}" -lt "${peers:-0}" ] && shared_some=$((shared_some + 1))
done
if [ "$shared_some" -eq 0 ]; then
	echo "FAIL sharing: no random dump had fewer classes than peers"
	fails=$((fails + 1))
else
	echo "PASS sharing: $shared_some of $SEEDS random dumps had fewer classes than peers"
fi
for c in 001-default-deny-ingress 020-egress-one-named-port 044-ipblock-cidr-and-except-overlap-step1 062-old-egress-one-named-port-with-dns; do
	f=$(ls tests/conformance/cases/upstream/"$c"*.yaml 2>/dev/null | head -1)
	[ -n "$f" ] || continue
	check "conformance $c" "$f" --ports 80,81 --protocols TCP,UDP,SCTP -o json
done
[ "$fails" -eq 0 ]
