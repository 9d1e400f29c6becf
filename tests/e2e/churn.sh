#!/usr/bin/env bash
# End to end: policy churn under traffic (issue 9). The agent follows a source
# directory whose policy file is replaced (atomic rename) $CHURN_FLIPS times
# (1,000), alternating between two policy sets A and B, each flip waited for
# until the agent has applied it. A and B differ in many map entries (40
# ipBlock /32s each, other ports, another pod isolated or not), and agree on
# the flows probed all the while, in real traffic:
#
#   allowed in both   churn/client -> churn/server   TCP 7000, UDP 7001, and TCP
#                     7000 through a ClusterIP (kube-proxy DNAT: the deferred,
#                     post-NAT verdict); new connections / new source ports
#                     each time, plus one long-lived TCP stream (established:
#                     re-checked at every generation bump)
#   denied in both    churn/denied -> churn/server   TCP 7000, UDP 7001
#                     churn/client -> churn/server   TCP 7100
#
# Zero wrong verdicts: no allowed probe failed or needed a retransmitted SYN
# (connect > 0.9 s), the stream never stalled or broke, no denied probe got
# through; `podwall monitor` saw no drop of an allowed flow; no packet was
# dropped as "revoked"; the generation moved by exactly $CHURN_FLIPS; after the
# churn the maps hold exactly the last set (a fresh `podwall apply` of it
# writes nothing) and no more entries than after the first flips.
#
# Run: bash tests/e2e/churn.sh (root; ./podwall built). CHURN_FLIPS=N to
# change the number of flips.
set -uo pipefail
. "$(dirname "$0")/../lib/e2e.sh"
pwe_begin churn

FLIPS=${CHURN_FLIPS:-1000}
VIP=198.19.255.70

STATE_DIR=
churn_on_exit() {
	local rc=$?
	[ -n "$STATE_DIR" ] && case $STATE_DIR in /run/podwall/"$PWC_PREFIX"-*) rm -rf "$STATE_DIR" ;; esac
	(exit $rc)
	pwe_on_exit
}
trap 'churn_on_exit' EXIT

# ------------------------------------------------------------ the cluster
pwc_node node1
pwc_pod node1 churn server "app=server" "tcp:7000/TCP,udp:7001/UDP,deny:7100/TCP"
pwc_pod node1 churn client "app=client"
pwc_pod node1 churn denied "app=denied"
pwc_pod node1 churn other "app=other" "web:80/TCP"
pwc_service churn server "$VIP" "app=server" "7000/TCP:7000"
pwc_serve churn/server tcp 7000
pwc_serve churn/server tcp 7100
NS=$(pwc_node_netns node1)
NETNS=/run/netns/$NS
PIN=$(pwc_pin_dir node1)
STATE_DIR=/run/podwall/$(basename "$PIN")
SRV=$(pwc_ip churn/server)
LOGS=$PWC_WORK/logs
RUN=$PWC_WORK/churn
mkdir -p "$RUN"

# ------------------------------------------------------------ traffic
TRAFFIC='
import json, os, socket, sys, time
mode, stop, out = sys.argv[1], sys.argv[2], sys.argv[3]
args = sys.argv[4:]
res = {"ok": 0, "fail": 0, "slow": 0, "wrong": 0, "detail": [], "max_gap_ms": 0}
def note(what):
    if len(res["detail"]) < 10:
        res["detail"].append("%.3f %s" % (time.time(), what))
def tok():
    return os.urandom(8).hex().encode() + b"\n"
def tcp(ip, port, t):
    t0 = time.monotonic()
    s = socket.create_connection((ip, port), timeout=t)
    dt = time.monotonic() - t0
    k = tok(); s.sendall(k); got = b""
    while len(got) < len(k):
        d = s.recv(100)
        if not d:
            break
        got += d
    s.close()
    return got == k, dt
def udp(ip, port, t):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(t)
    k = tok()
    s.sendto(k, (ip, port))
    try:
        return s.recv(100) == k
    except socket.timeout:
        return False
    finally:
        s.close()
if mode == "udpserver":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((args[0], int(args[1])))
    while True:
        d, a = s.recvfrom(2048)
        s.sendto(d, a)
if mode == "stream":
    ip, port = args[0], int(args[1])
    s = socket.create_connection((ip, port), timeout=5)
    s.settimeout(5)
    last = time.monotonic()
    try:
        while not os.path.exists(stop):
            k = tok(); s.sendall(k); got = b""
            while len(got) < len(k):
                d = s.recv(100)
                if not d:
                    raise OSError("closed by the peer")
                got += d
            now = time.monotonic()
            res["max_gap_ms"] = max(res["max_gap_ms"], int((now - last) * 1000))
            last = now
            if got != k:
                res["fail"] += 1; note("stream: bad echo")
            else:
                res["ok"] += 1
            time.sleep(0.02)
    except OSError as e:
        res["fail"] += 1; note("stream: %s" % e)
    json.dump(res, open(out, "w")); sys.exit(0)
# probes: args are proto:ip:port; allowed (want success) or denied (want failure)
targets = [a.split(":") for a in args]
while not os.path.exists(stop):
    for proto, ip, port in targets:
        port = int(port)
        try:
            if proto == "tcp":
                ok, dt = tcp(ip, port, 2.0 if mode == "allowed" else 0.3)
                if ok and dt > 0.9 and mode == "allowed":
                    res["slow"] += 1; note("tcp %s:%d connect took %.2f s" % (ip, port, dt))
            else:
                ok = udp(ip, port, 0.5 if mode == "allowed" else 0.3)
        except OSError as e:
            ok = False
        if mode == "allowed":
            if ok:
                res["ok"] += 1
            else:
                res["fail"] += 1; note("%s %s:%d failed" % (proto, ip, port))
        else:
            if ok:
                res["wrong"] += 1; note("%s %s:%d got through" % (proto, ip, port))
            else:
                res["ok"] += 1
    time.sleep(0.005)
json.dump(res, open(out, "w"))
'
in_pod() { local netns; netns=$(pwc_pod_netns "$1"); shift; nsenter --net="/run/netns/$netns" "$@"; }
pwc_spawn "$LOGS/udp-echo.log" nsenter --net="/run/netns/$(pwc_pod_netns churn/server)" \
	"$PWC_PY" -c "$TRAFFIC" udpserver /nonexistent /dev/null "$SRV" 7001

# ------------------------------------------------------------ the policy sets
common() {
	pwe_np_default_deny churn
	echo ---
	pwe_np_allow_pair core churn app=client app=server 7000/TCP 7001/UDP
}
# set_policies A|B: the policies of that set (besides common)
set_policies() {
	local s=$1 net port i
	if [ "$s" = A ]; then net=198.19.100; port=8000; else net=198.19.101; port=9000; fi
	cat <<-EOF
	---
	apiVersion: networking.k8s.io/v1
	kind: NetworkPolicy
	metadata: {name: extra-${s,,}, namespace: churn}
	spec:
	  podSelector: {matchLabels: {app: server}}
	  policyTypes: [Ingress]
	  ingress:
	  - from:
	EOF
	for i in $(seq 1 40); do echo "    - ipBlock: {cidr: $net.$i/32}"; done
	cat <<-EOF
	    ports: [{port: $port}, {port: $((port + 1)), endPort: $((port + 99))}]
	EOF
	if [ "$s" = A ]; then
		cat <<-EOF
		---
		apiVersion: networking.k8s.io/v1
		kind: NetworkPolicy
		metadata: {name: isolate-other, namespace: churn}
		spec:
		  podSelector: {matchLabels: {app: other}}
		  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], ports: [{port: web}]}]
		EOF
	fi
}
{ common; set_policies A; } >"$RUN/A.yaml"
{ common; set_policies B; } >"$RUN/B.yaml"
pwc_write np-churn.yaml <"$RUN/A.yaml"

# ------------------------------------------------------------ the agent
pwc_agent_start node1
ALOG=$(pwc_agent_log node1)
count_applied() { grep -c "podwall: applied generation" "$ALOG" 2>/dev/null || true; }
ALLOWED="churn/client churn/server 7000 tcp"
if pwe_wait_state "$PWE_START_S" "ok:$ALLOWED" "fail:churn/denied churn/server 7000 tcp"; then
	pwe_pass churn_agent_enforces "set A in force"
else
	pwe_fail churn_agent_enforces "the first policy set is not enforced"; exit 1
fi
pw() { timeout -k 1 30 nsenter --net="$NETNS" "$PODWALL" "$@"; }
status_json() { pw status -o json --pin-dir "$PIN" 2>/dev/null; }
jq_py() { "$PWC_PY" -c "$1" "${@:2}"; }
status_field() {   # python expression over the status JSON d
	status_json | jq_py '
import json, sys
d = json.load(sys.stdin)
maps = {m["map"]: m for m in d.get("maps", [])}
ctr = {(c["direction"], c["verdict"], c["reason"]): c["packets"] for c in d.get("counters", [])}
print(eval(sys.argv[1]))' "$1"
}
revoked() { status_field 'sum(v for (dr, vd, r), v in ctr.items() if r == "revoked")'; }
gen() { status_field 'd.get("generation", d.get("config", {}).get("generation"))'; }
entries() { status_field 'maps["policy"]["entries"] + maps["ipcache"]["entries"] + maps["endpoints"]["entries"]'; }

# ------------------------------------------------------------ churn
pwe_monitor_start node1 $((FLIPS / 4 + 300))
STOP=$RUN/stop
C=$(pwc_pod_netns churn/client) D=$(pwc_pod_netns churn/denied)
pwc_spawn "$LOGS/stream.log" nsenter --net="/run/netns/$C" "$PWC_PY" -c "$TRAFFIC" stream "$STOP" "$RUN/stream.json" "$SRV" 7000
pwc_spawn "$LOGS/allowed.log" nsenter --net="/run/netns/$C" "$PWC_PY" -c "$TRAFFIC" allowed "$STOP" "$RUN/allowed.json" \
	"tcp:$SRV:7000" "udp:$SRV:7001" "tcp:$VIP:7000"
pwc_spawn "$LOGS/denied.log" nsenter --net="/run/netns/$D" "$PWC_PY" -c "$TRAFFIC" denied "$STOP" "$RUN/denied.json" \
	"tcp:$SRV:7000" "udp:$SRV:7001"
pwc_spawn "$LOGS/denied-port.log" nsenter --net="/run/netns/$C" "$PWC_PY" -c "$TRAFFIC" denied "$STOP" "$RUN/denied-port.json" \
	"tcp:$SRV:7100"
sleep 1
rev0=$(revoked) gen0=$(gen)
t0=$(pwc_now_ms)
late=0 entries10=
for i in $(seq 1 "$FLIPS"); do
	if [ $((i % 2)) = 1 ]; then set=B; else set=A; fi
	n=$(count_applied)
	pwc_write np-churn.yaml <"$RUN/$set.yaml"
	end=$(( $(pwc_now_ms) + 10000 ))
	while [ "$(count_applied)" -le "$n" ]; do
		[ "$(pwc_now_ms)" -ge "$end" ] && { late=$((late + 1)); break; }
		sleep 0.005
	done
	[ "$i" = 10 ] && entries10=$(entries)
	pwc_agent_alive node1 || break
done
churn_ms=$(( $(pwc_now_ms) - t0 ))
sleep 1
touch "$STOP"
for f in stream allowed denied denied-port; do pwc_wait_for 10 test -s "$RUN/$f.json"; done
rev1=$(revoked) gen1=$(gen)
sleep 1
pwc_kill "$PWE_MON_PID"

if pwc_agent_alive node1 && [ "$late" = 0 ]; then
	pwe_pass churn_flips "$FLIPS flips applied in $((churn_ms / 1000)).$((churn_ms % 1000 / 100)) s"
else
	pwe_fail churn_flips "$late flips not applied within 10 s; agent alive: $(pwc_agent_alive node1 && echo yes || echo no)"
fi
if [ -n "$gen0" ] && [ -n "$gen1" ] && [ $((gen1 - gen0)) -eq "$FLIPS" ]; then
	pwe_pass churn_generation "generation $gen0 -> $gen1"
else
	pwe_fail churn_generation "generation $gen0 -> $gen1, want +$FLIPS"
fi

verdicts() {   # file -> "ok fail slow wrong detail"
	jq_py '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["ok"], r["fail"], r["slow"], r["wrong"], r["max_gap_ms"], "; ".join(r["detail"][:3]))' "$1"
}
read -r ok fail slow _ _ detail < <(verdicts "$RUN/allowed.json")
if [ "${ok:-0}" -gt 0 ] && [ "$fail" = 0 ] && [ "$slow" = 0 ]; then
	pwe_pass churn_allowed_never_dropped "$ok allowed probes (TCP, UDP, ClusterIP), all through, none needed a retransmission"
else
	pwe_fail churn_allowed_never_dropped "${ok:-0} ok, ${fail:-?} failed, ${slow:-?} slow: $detail"
fi
read -r ok fail _ _ gap detail < <(verdicts "$RUN/stream.json")
if [ "${ok:-0}" -gt 0 ] && [ "$fail" = 0 ] && [ "$gap" -lt 500 ]; then
	pwe_pass churn_stream_never_stalled "$ok echoes on one connection, longest gap $gap ms"
else
	pwe_fail churn_stream_never_stalled "${ok:-0} echoes, ${fail:-?} failures, longest gap ${gap:-?} ms: $detail"
fi
for f in denied denied-port; do
	read -r ok _ _ wrong _ detail < <(verdicts "$RUN/$f.json")
	if [ "${ok:-0}" -gt 0 ] && [ "$wrong" = 0 ]; then
		pwe_pass "churn_${f//-/_}_never_passed" "$ok denied probes, none got through"
	else
		pwe_fail "churn_${f//-/_}_never_passed" "${ok:-0} refused, ${wrong:-?} got through: $detail"
	fi
done
drops=$(jq_py '
import json, sys
srv, vip, cli = sys.argv[2], sys.argv[3], sys.argv[4]
n = bad = 0
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("type") != "event" or e.get("verdict") != "drop":
        continue
    n += 1
    s, d = e["src"], e["dst"]
    fwd = s.get("addr") == cli and d.get("addr") in (srv, vip) and d.get("port") in (7000, 7001)
    rev = d.get("addr") == cli and s.get("addr") in (srv, vip) and s.get("port") in (7000, 7001)
    if fwd or rev:
        bad += 1
print(n, bad)' "$PWE_MON_OUT" "$SRV" "$VIP" "$(pwc_ip churn/client)")
read -r n_drops bad_drops <<<"$drops"
if [ -n "$bad_drops" ] && [ "$bad_drops" = 0 ] && [ "${n_drops:-0}" -gt 0 ]; then
	pwe_pass churn_monitor_no_allowed_drop "$n_drops drop events, all of denied flows"
else
	pwe_fail churn_monitor_no_allowed_drop "drop events: ${n_drops:-?}, of allowed flows: ${bad_drops:-?}"
fi
if [ -n "$rev0" ] && [ "$rev0" = "$rev1" ]; then
	pwe_pass churn_nothing_revoked "revoked drops stayed at $rev1"
else
	pwe_fail churn_nothing_revoked "revoked drops $rev0 -> $rev1"
fi

# the maps hold exactly the last set, and no leftovers of the others
last=A; [ $((FLIPS % 2)) = 1 ] && last=B
out=$(pw apply -f "$PWC_SRC" --pin-dir "$PIN" 2>&1)
if grep -q "0 added, 0 changed, 0 removed" <<<"$out"; then
	pwe_pass churn_maps_exact "a fresh apply of set $last writes nothing: ${out##*$'\n'}"
else
	pwe_fail churn_maps_exact "${out##*$'\n'}"
fi
entries_end=$(entries)
if [ -n "$entries10" ] && [ "$entries10" = "$entries_end" ]; then
	pwe_pass churn_no_leftover_entries "$entries_end entries after 10 flips and after $FLIPS"
else
	pwe_fail churn_no_leftover_entries "entries after 10 flips: $entries10, at the end: $entries_end"
fi
pwe_expect churn_still_enforced ok "$ALLOWED" "churn/client $VIP 7000 tcp"
pwe_expect churn_still_denied fail "churn/denied churn/server 7000 tcp" "churn/client churn/server 7100 tcp"
pwe_end
