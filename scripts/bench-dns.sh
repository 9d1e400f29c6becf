#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# make bench, part 6: what name learning adds to a DNS lookup (issue 18: "no
# added DNS latency"). A real query through the veths to dnsmasq and back,
# timed in the client pod, with the client's egress under
#
#   learn  a ClusterNetworkPolicy egress Accept of `domainNames:
#          [www.example.com]`: the pod learns names (PW_EP_LEARN_NAMES):
#          from_pod remembers each query, to_pod parses each answer, matches
#          the name and writes the address into fqdn_learned;
#   plain  the same policy with `networks: [the address/32]` instead: no
#          learning, the same tiers and lookups otherwise.
#
# The two alternate in the same run (A B B A ..., BENCH_DNS_ROUNDS rounds of
# BENCH_DNS_QUERIES sequential queries each, after a warm-up), each applied
# with `podwall apply`; a round's figures are per-query round trips (µs, the
# client's clock from send to answer). Reported: median and p99 of each arm
# over all its queries, and their differences; the learn arm must have
# learned (fqdn_stats), else the figure says nothing and the run fails.
#
#   node  pwbd-node-$$: forwarding, the client's and the DNS pod's host veths
#   client pod 198.18.1.10 (app/client), DNS pod 198.18.1.53
#   (kube-system/coredns, k8s-app=kube-dns: dnsmasq, www.example.com ->
#   198.19.101.10, TTL 300 s)
#
# Usage: scripts/bench-dns.sh OUTDIR   (root; ./podwall built). Writes
# OUTDIR/dns.json and prints a summary to stderr. Everything lives in
# namespaces it makes, removed on exit; only PIDs it started are killed.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-bench-results}
ROUNDS=${BENCH_DNS_ROUNDS:-6}
QUERIES=${BENCH_DNS_QUERIES:-2000}
PW=${BENCH_PODWALL:-$PWD/podwall}
PY=/usr/bin/python3
[ -x $PY ] || PY=python3

say() { printf 'bench dns: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, BPF)"
[ -x "$PW" ] || die "$PW missing: run make first"
command -v dnsmasq >/dev/null || die "dnsmasq not installed (make setup)"
mkdir -p "$OUT"

N=pwbd-node-$$ C=pwbd-cli-$$ D=pwbd-dns-$$
CIP=198.18.1.10 DIP=198.18.1.53 GW=198.18.1.1 ADDR=198.19.101.10
WORK=$(mktemp -d /tmp/podwall-bench-dns.XXXXXX)
DNS_PID= APPLIED=

node() { nsenter --net=/run/netns/$N "$@"; }

cleanup() {
	local rc=$?
	set +e
	if [ -n "$DNS_PID" ]; then kill "$DNS_PID" 2>/dev/null; wait "$DNS_PID" 2>/dev/null; fi
	[ -n "$APPLIED" ] && node "$PW" uninstall >>"$WORK/apply.log" 2>&1
	for ns in $N $C $D; do [ -e /run/netns/$ns ] && ip netns del $ns; done
	rm -rf "$WORK"
	return $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- topology
ip netns add $N; ip netns add $C; ip netns add $D
for ns in $N $C $D; do ip -n $ns link set lo up; done
node sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
for x in c:$C:$CIP d:$D:$DIP; do
	IFS=: read -r dev ns ip <<<"$x"
	ip link add h$dev netns $N type veth peer name eth0 netns $ns
	ip -n $N addr add $GW/32 dev h$dev
	ip -n $N link set h$dev up
	ip -n $N route add $ip/32 dev h$dev
	ip -n $ns addr add $ip/32 dev eth0
	ip -n $ns link set eth0 up
	ip -n $ns route add $GW/32 dev eth0
	ip -n $ns route add default via $GW
done
nsenter --net=/run/netns/$D dnsmasq --no-daemon --no-resolv --no-hosts --conf-file=/dev/null \
	--listen-address=$DIP --bind-interfaces --port=53 --local-ttl=300 \
	--host-record=www.example.com,$ADDR >"$WORK/dnsmasq.log" 2>&1 &
DNS_PID=$!
for i in $(seq 60); do
	nsenter --net=/run/netns/$D ss -Hlun 'sport = :53' | grep -q . && break
	[ "$i" -eq 60 ] && die "dnsmasq did not start: $(cat "$WORK/dnsmasq.log")"
	sleep 0.05
done

# ---------------------------------------------------------------- policies
objects() {   # the egress peer of the rule, as YAML flow
	cat <<-EOF
	apiVersion: v1
	kind: Namespace
	metadata: {name: app, labels: {kubernetes.io/metadata.name: app, team: app}}
	---
	apiVersion: v1
	kind: Namespace
	metadata: {name: kube-system, labels: {kubernetes.io/metadata.name: kube-system}}
	---
	apiVersion: v1
	kind: Pod
	metadata: {name: client, namespace: app, labels: {app: client}}
	spec: {containers: [{name: c, image: none}]}
	status: {phase: Running, podIP: $CIP, podIPs: [{ip: $CIP}]}
	---
	apiVersion: v1
	kind: Pod
	metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
	spec: {containers: [{name: dns, image: none, ports: [{containerPort: 53, protocol: UDP}]}]}
	status: {phase: Running, podIP: $DIP, podIPs: [{ip: $DIP}]}
	---
	apiVersion: policy.networking.k8s.io/v1alpha2
	kind: ClusterNetworkPolicy
	metadata: {name: app-egress}
	spec:
	  tier: Admin
	  priority: 10
	  subject: {namespaces: {matchLabels: {team: app}}}
	  egress:
	  - {name: dns, action: Accept, to: [{pods: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}}], protocols: [{udp: {destinationPort: {number: 53}}}]}
	  - {name: web, action: Accept, to: [$1], protocols: [{tcp: {destinationPort: {number: 443}}}]}
	  - {name: rest, action: Deny, to: [{networks: [0.0.0.0/0]}]}
	EOF
}
mkdir -p "$WORK/learn" "$WORK/plain"
objects "{domainNames: [www.example.com]}" >"$WORK/learn/all.yaml"
objects "{networks: [$ADDR/32]}" >"$WORK/plain/all.yaml"

apply() {     # learn|plain
	APPLIED=1
	node "$PW" apply -f "$WORK/$1" >>"$WORK/apply.log" 2>&1 ||
		{ cat "$WORK/apply.log" >&2; die "podwall apply ($1) failed"; }
}

# answers learned so far (podwall status -o json: names.stats.answers_learned)
learned() {
	node "$PW" status -o json 2>/dev/null | $PY -c '
import json, sys
def find(o):
    if isinstance(o, dict):
        if isinstance(o.get("answers_learned"), int):
            return o["answers_learned"]
        for v in o.values():
            r = find(v)
            if r is not None: return r
    elif isinstance(o, list):
        for v in o:
            r = find(v)
            if r is not None: return r
print(find(json.load(sys.stdin)) or 0)' 2>/dev/null || echo 0
}

# ------------------------------------------------------------- measurement
# One round: QUERIES sequential queries (a fresh id each, one socket: the
# resolver's usual shape), each timed send -> answer; one number (ns) a line.
cat >"$WORK/client.py" <<'EOF'
import os, socket, struct, sys, time
server, name, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
qn = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + b"\0\1\0\1"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((server, 53))
s.settimeout(1.0)
times, lost = [], 0
for i in range(n):
    qid = int.from_bytes(os.urandom(2), "big")
    q = struct.pack("!6H", qid, 0x0100, 1, 0, 0, 0) + qn
    t0 = time.perf_counter_ns()
    s.send(q)
    try:
        while True:
            d = s.recv(512)
            if d[:2] == q[:2]:
                break
    except socket.timeout:
        lost += 1
        continue
    times.append(time.perf_counter_ns() - t0)
with open(out, "w") as f:
    f.write("".join("%d\n" % t for t in times))
sys.exit(1 if lost > n // 100 else 0)
EOF
query_round() {   # arm round
	nsenter --net=/run/netns/$C $PY "$WORK/client.py" $DIP www.example.com 100 /dev/null ||
		die "warm-up queries ($1) lost answers"
	nsenter --net=/run/netns/$C $PY "$WORK/client.py" $DIP www.example.com "$QUERIES" \
		"$WORK/rt-$1-$2.txt" || die "queries ($1, round $2) lost answers"
}

say "$ROUNDS rounds x $QUERIES queries, learn and plain alternating (A B B A)"
l0=0
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) -eq 1 ]; then order="learn plain"; else order="plain learn"; fi
	for arm in $order; do
		apply "$arm"
		[ "$arm" = learn ] && l0=$(learned)
		query_round "$arm" "$r"
		if [ "$arm" = learn ]; then
			l1=$(learned)
			echo "$r $((l1 - l0))" >>"$WORK/learned.txt"
		fi
	done
done

rc=0
$PY - "$WORK" "$ROUNDS" "$QUERIES" "$OUT/dns.json" <<'EOF' || rc=$?
import json, statistics as st, sys
work, rounds, queries, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))] if xs else None
arms, per_round = {}, []
for arm in ("plain", "learn"):
    allv = []
    for r in range(1, rounds + 1):
        v = [int(x) / 1000.0 for x in open(f"{work}/rt-{arm}-{r}.txt")]
        allv += v
        per_round.append(dict(arm=arm, round=r, queries=len(v), median_us=st.median(v),
                              p99_us=pct(v, 99)))
    arms[arm] = dict(queries=len(allv), median_us=st.median(allv), p99_us=pct(allv, 99))
learned = {int(l.split()[0]): int(l.split()[1]) for l in open(f"{work}/learned.txt")}
res = dict(method="a real UDP query (www.example.com, A) from a client pod through its host veth "
           "and the node to a dnsmasq pod and back, timed in the client (send -> answer), "
           "sequential, one socket; egress of the client: a ClusterNetworkPolicy Accept of "
           "domainNames [www.example.com] (learn: from_pod remembers the query, to_pod parses the "
           "answer and learns) or of networks [the address/32] (plain); arms alternate A B B A, "
           "each applied with podwall apply, a warm-up of 100 queries first",
           rounds=rounds, queries_per_round=queries, plain=arms["plain"], learn=arms["learn"],
           delta_median_us=arms["learn"]["median_us"] - arms["plain"]["median_us"],
           delta_p99_us=arms["learn"]["p99_us"] - arms["plain"]["p99_us"],
           answers_learned_per_round=[learned.get(r) for r in range(1, rounds + 1)],
           runs=per_round)
json.dump(res, open(out, "w"), indent=1)
print("dns round trip: plain median %.1f us p99 %.1f us; learn median %.1f us p99 %.1f us; "
      "learning adds %+.1f us (median) %+.1f us (p99); answers learned per learn round %s" % (
      arms["plain"]["median_us"], arms["plain"]["p99_us"], arms["learn"]["median_us"],
      arms["learn"]["p99_us"], res["delta_median_us"], res["delta_p99_us"],
      res["answers_learned_per_round"]), file=sys.stderr)
bad = [r for r in range(1, rounds + 1) if (learned.get(r) or 0) < queries]
sys.exit(2 if bad else 0)
EOF
[ $rc -eq 0 ] || die "the learn arm did not learn from every answer (answers learned per round above): the figure compares nothing"
