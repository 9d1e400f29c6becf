#!/usr/bin/env bash
# End to end: capacity limits (issue 9). A node namespace with a good policy
# set in force, then changes that do not fit a map, each given to
# `podwall apply` (and one to the agent):
#
#   policy     2 local pods x 2,700 ipBlock peers x 100 ports = 540,000 allow
#              entries > PW_MAX_POLICY (524,288, both slots)
#   ipcache    270,000 distinct ipBlock /32s > PW_MAX_IPCACHE (262,144)
#   endpoints  4,100 local pods (ifb devices as their host devices: this
#              kernel may lack "dummy") > PW_MAX_ENDPOINTS (4,096)
#
# Each is refused whole: exit 2, an error naming the map, what it would need
# and its limit, "nothing was changed"; the pinned maps are byte for byte
# what they were and the policy in force goes on being enforced. The agent
# given the oversized policy refuses it once (not again every tick), counts
# it in podwall_applies_total{result="failure"} and podwall_last_apply_success
# 0, and recovers when the source is fixed.
#
# Conntrack pressure: while a TCP stream runs, the client opens ~260,000 UDP
# flows to allowed ports (real packets), twice the entries PW_MAX_CONNTRACK
# (262,144) holds. The LRU map stays at its size, the oldest flows are gone
# from it and the newest are in it, the busy stream is never evicted or
# stalled, new allowed connections still work and denied ones still fail.
#
# Run: bash tests/e2e/capacity.sh (root; ./podwall built).
set -uo pipefail
. "$(dirname "$0")/../lib/e2e.sh"
pwe_begin capacity

STATE_DIR=
cap_on_exit() {
	local rc=$?
	[ -n "$STATE_DIR" ] && case $STATE_DIR in /run/podwall/"$PWC_PREFIX"-*) rm -rf "$STATE_DIR" ;; esac
	(exit $rc)
	pwe_on_exit
}
trap 'cap_on_exit' EXIT

# the limits, from the ABI
abi() { awk -v n="$1" '$1 == "#define" && $2 == n { $1 = $2 = ""; print }' include/podwall/abi.h | sed 's|/\*.*||'; }
MAX_POLICY=$(( $(abi PW_MAX_POLICY) ))
MAX_IPCACHE=$(( $(abi PW_MAX_IPCACHE) ))
MAX_EP=$(( $(abi PW_MAX_ENDPOINTS) ))
MAX_CT=$(( $(abi PW_MAX_CONNTRACK) ))
pwe_note "limits: policy $MAX_POLICY, ipcache $MAX_IPCACHE, endpoints $MAX_EP, conntrack $MAX_CT"

pwc_node node1
pwc_pod node1 cap server "app=server" "http:80/TCP"
pwc_pod node1 cap client "app=client"
pwc_pod node1 cap denied "app=denied"
pwc_serve cap/server tcp 80
NS=$(pwc_node_netns node1)
NETNS=/run/netns/$NS
PIN=$(pwc_pin_dir node1)
STATE_DIR=/run/podwall/$(basename "$PIN")
echo "$PIN" >"$PWC_WORK/agents/node1.pin"
SRV=$(pwc_ip cap/server) CLI=$(pwc_ip cap/client)
W=$PWC_WORK/cap
mkdir -p "$W"
MPORT=$((20000 + $$ % 20000))

# the good set: default deny; client -> server TCP 80 and UDP 1024-65535
pwe_np_default_deny cap | pwc_write np-deny.yaml
pwe_np_allow_pair web cap app=client app=server 80/TCP | pwc_write np-web.yaml
{ pwe_np_allow_pair udp cap app=client app=server 1024/UDP | sed 's/port: 1024}/port: 1024, endPort: 65535}/'; } |
	pwc_write np-udp.yaml

pw() { timeout -k 2 "${PW_TIMEOUT:-300}" nsenter --net="$NETNS" "$PODWALL" "$@"; }
snapshot() {   # every pinned map but those that move with traffic
	local f m
	for f in "$PIN"/*; do
		m=$(basename "$f")
		case $m in conntrack|ct_stats|frags|counters|events|ratelimit|dns_queries|fqdn_learned|fqdn_stats|dns_scratch) continue ;; esac
		echo "== $m"; timeout 60 bpftool -j map dump pinned "$f" 2>&1
	done
}
status_json() { pw status -o json --pin-dir "$PIN" 2>/dev/null; }
map_entries() {   # map name
	status_json | "$PWC_PY" -c '
import json, sys
d = json.load(sys.stdin)
print(next((m.get("entries", -1) for m in d["maps"] if m["map"] == sys.argv[1]), -1))' "$1"
}

if out=$(pw apply -f "$PWC_SRC" --pin-dir "$PIN" 2>&1); then
	pwe_pass capacity_prior_state_applied "${out##*$'\n'}"
else
	pwe_fail capacity_prior_state_applied "$out"; exit 1
fi
ALLOWED="cap/client cap/server 80 tcp"
DENIED="cap/denied cap/server 80 tcp"
pwe_expect capacity_prior_state_enforced ok "$ALLOWED"
# the UDP port range lives in policy_lpm (abi.h): status shows both halves'
# fill, and counts the rules in force once, summaries left out
out=$(status_json)
if RULES=$("$PWC_PY" -c '
import json, sys
d = json.load(sys.stdin)
maps, live = {m["map"]: m for m in d["maps"]}, d["live_slot"]
pol, lpm = maps["policy"], maps["policy_lpm"]
ok = (pol["capacity"] == lpm["capacity"] == int(sys.argv[1])
      and maps["ipcache"]["capacity"] == maps["ipcache_lpm"]["capacity"] == int(sys.argv[2])
      and lpm["live_slot_entries"] > 0 and live["by_map"]["policy_lpm"] == lpm["live_slot_entries"]
      and live["policy_rules"] == pol["live_slot_entries"] - pol["live_slot_summaries"] + lpm["live_slot_entries"])
print(live["policy_rules"])
sys.exit(0 if ok else 1)' "$MAX_POLICY" "$MAX_IPCACHE" <<<"$out"); then
	pwe_pass capacity_status_counts_both_halves "$RULES rules in force"
else
	pwe_fail capacity_status_counts_both_halves "$(tr '\n' ' ' <<<"$out" | grep -o '"maps".*' | cut -c1-600)"
fi
snapshot >"$W/maps.before"

# ------------------------------------------------------------ oversized sets
# a source dir: the cluster's objects plus one more file from stdin
with_extra() {   # dir name
	rm -rf "$1"; mkdir -p "$1"; cp "$PWC_SRC"/*.yaml "$1"/; cat >"$1/$2"
}
"$PWC_PY" - "$W" "$MAX_EP" <<'EOF'
import os, sys
w, max_ep = sys.argv[1], int(sys.argv[2])
def policy(name, cidrs, ports, sel="{}"):
    out = ["apiVersion: networking.k8s.io/v1", "kind: NetworkPolicy",
           "metadata: {name: %s, namespace: cap}" % name, "spec:",
           "  podSelector: %s" % sel, "  policyTypes: [Ingress]", "  ingress:", "  - from:"]
    out += ["    - ipBlock: {cidr: %s}" % c for c in cidrs]
    out.append("    ports: [%s]" % ", ".join("{port: %d}" % p for p in ports))
    return "\n".join(out) + "\n"
def ip(i, base=(198 << 24) | (19 << 16)):   # within 198.19.0.0/16
    a = base + i
    return "%d.%d.%d.%d/32" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255)
# policy: every local pod x 2,700 peers x 100 ports
open(os.path.join(w, "big-policy.yaml"), "w").write(
    policy("big-policy", [ip(i) for i in range(2700)], range(10000, 10100)))
# ipcache: 270,000 CIDR groups, one port, one pod
open(os.path.join(w, "big-ipcache.yaml"), "w").write(
    policy("big-ipcache", [ip(i) for i in range(270000)], [443], "{matchLabels: {app: server}}"))
# endpoints: max + 4 pods, each on its own stand-in host device d<i> (ifb)
n = max_ep + 4
with open(os.path.join(w, "many-pods.yaml"), "w") as f:
    for i in range(n):
        a = (198 << 24) | (18 << 16) | (64 << 8) + i   # 198.18.64.0 and up
        f.write("---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p%d\n  namespace: cap\n"
                "  labels: {app: many}\n  annotations: {podwall.io/host-veth: d%d}\n"
                "status:\n  podIP: %d.%d.%d.%d\n" % (i, i, a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255))
with open(os.path.join(w, "dummies.batch"), "w") as f:
    for i in range(n):
        f.write("link add d%d type ifb\n" % i)
EOF
N_PODS=$((MAX_EP + 4))
ip -n "$NS" -batch "$W/dummies.batch" || pwe_fail capacity_devices "could not make $N_PODS ifb devices"

# refused MAP NAME DIR: apply DIR must fail on MAP, whole, leaving the maps as they were
refused() {
	local map=$1 name=$2 dir=$3 out rc t0 ms
	t0=$(pwc_now_ms)
	out=$(pw apply -f "$dir" --pin-dir "$PIN" 2>&1); rc=$?
	ms=$(( $(pwc_now_ms) - t0 ))
	snapshot >"$W/maps.after"
	local msg; msg=$(grep -m1 "too small" <<<"$out")
	if [ $rc -ne 2 ]; then
		pwe_fail "$name" "exit $rc, want 2: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
	elif ! grep -q "map $map is too small for this change: it would need [0-9]* entries" <<<"$msg" ||
	     ! grep -q "nothing was changed" <<<"$msg"; then
		pwe_fail "$name" "unclear error: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
	elif ! cmp -s "$W/maps.before" "$W/maps.after"; then
		pwe_fail "$name" "refused, but the maps changed"
	else
		pwe_pass "$name" "exit 2 in $ms ms, maps unchanged: ${msg#podwall: }"
	fi
}
with_extra "$W/src-policy" big-policy.yaml <"$W/big-policy.yaml"
refused policy capacity_policy_overflow_refused "$W/src-policy"
with_extra "$W/src-ipcache" big-ipcache.yaml <"$W/big-ipcache.yaml"
refused ipcache capacity_ipcache_overflow_refused "$W/src-ipcache"
with_extra "$W/src-eps" many-pods.yaml <"$W/many-pods.yaml"
refused endpoints capacity_endpoints_overflow_refused "$W/src-eps"
pwe_expect capacity_enforcement_unchanged ok "$ALLOWED"
pwe_expect capacity_denial_unchanged fail "$DENIED"
# a set near the limit still fits: 4,000 more pods
head -n $(( 4000 * 10 )) "$W/many-pods.yaml" >"$W/fewer-pods.yaml"
with_extra "$W/src-fewer" many-pods.yaml <"$W/fewer-pods.yaml"
if out=$(pw apply -f "$W/src-fewer" --pin-dir "$PIN" 2>&1) && [ "$(map_entries endpoints)" -gt 4000 ]; then
	pwe_pass capacity_large_set_that_fits_applies "${out##*$'\n'}"
else
	pwe_fail capacity_large_set_that_fits_applies "${out##*$'\n'}"
fi
out=$(pw apply -f "$PWC_SRC" --pin-dir "$PIN" 2>&1) || pwe_fail capacity_back_to_good "${out##*$'\n'}"
ip -n "$NS" -batch <(sed 's/^link add \(d[0-9]*\) type ifb/link del \1/' "$W/dummies.batch") 2>/dev/null
snapshot >"$W/maps.before"

# ------------------------------------------------------------ the agent
pwc_agent_start node1 --metrics "$MPORT"
ALOG=$(pwc_agent_log node1)
scrape() { timeout -k 1 5 nsenter --net="$NETNS" "$PWC_PY" -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read().decode())' "http://127.0.0.1:$MPORT/metrics" 3 2>/dev/null; }
metric() { awk -v k="$1" '$1 == k { v = $2; f = 1 } END { printf "%d\n", f ? v : 0 }'; }
FAILS='podwall_applies_total{result="failure"}'
if pwc_wait_for 30 grep -q "podwall: applied generation" "$ALOG"; then
	pwe_pass capacity_agent_started
else
	pwe_fail capacity_agent_started "no first apply"; exit 1
fi
f0=$(scrape | metric "$FAILS")
pwc_write big-policy.yaml <"$W/big-policy.yaml"
if pwc_wait_for 120 grep -q "map policy is too small" "$ALOG"; then
	msg=$(grep -m1 "map policy is too small" "$ALOG")
	pwe_pass capacity_agent_refuses "${msg#podwall: }"
else
	pwe_fail capacity_agent_refuses "no refusal logged within 120 s"
fi
sleep 3   # ticks: the same oversized set is not retried
f1=$(scrape | metric "$FAILS") ok1=$(scrape | metric podwall_last_apply_success)
n_ref=$(grep -c "map policy is too small" "$ALOG")
if [ $((f1 - f0)) -eq 1 ] && [ "$ok1" = 0 ] && [ "$n_ref" = 1 ]; then
	pwe_pass capacity_agent_failure_metric "$FAILS $f0 -> $f1, podwall_last_apply_success 0, refused once, not retried on ticks"
else
	pwe_fail capacity_agent_failure_metric "$FAILS $f0 -> $f1, last_apply_success $ok1, refusals logged $n_ref"
fi
snapshot >"$W/maps.after"
if cmp -s "$W/maps.before" "$W/maps.after"; then
	pwe_pass capacity_agent_maps_unchanged
else
	pwe_fail capacity_agent_maps_unchanged "$(diff "$W/maps.before" "$W/maps.after" | head -n 4 | tr '\n' ' ')"
fi
pwe_expect capacity_agent_enforcement_unchanged ok "$ALLOWED"
n_rules=$(scrape | metric podwall_policy_entries)
if [ "$n_rules" = "$RULES" ] && [ "$(scrape | metric 'podwall_map_capacity{map="policy_lpm"}')" = "$MAX_POLICY" ]; then
	pwe_pass capacity_agent_rules_metric "podwall_policy_entries $n_rules, as status counted before the refused change"
else
	pwe_fail capacity_agent_rules_metric "podwall_policy_entries $n_rules, status counted ${RULES:-?}"
fi
pwc_rm big-policy.yaml
if pwc_wait_for 60 test "$(scrape | metric podwall_last_apply_success)" = 1; then
	pwe_pass capacity_agent_recovers "podwall_last_apply_success 1 once the oversized policy is gone"
else
	pwe_fail capacity_agent_recovers "podwall_last_apply_success stays 0"
fi

# ------------------------------------------------------------ conntrack pressure
FLOOD='
import os, socket, sys, time
srv, n_src, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if n_src == 0:
    # the stream: one TCP connection, an echo every 20 ms; prints its longest gap
    s = socket.create_connection((srv, 80), timeout=5); s.settimeout(5)
    last = time.monotonic(); gap = 0; n = 0
    try:
        while not os.path.exists(stop):
            s.sendall(b"x" * 16); got = b""
            while len(got) < 16:
                d = s.recv(64)
                if not d:
                    raise OSError("closed")
                got += d
            now = time.monotonic(); gap = max(gap, now - last); last = now; n += 1
            time.sleep(0.02)
        print("ok %d %d %d" % (n, int(gap * 1000), s.getsockname()[1]))
    except OSError as e:
        print("broken %d %s" % (n, e))
    sys.exit(0)
socks = []
for i in range(n_src):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 40000 + i)); socks.append(s)
t0 = time.monotonic(); sent = 0
for s in socks:
    for port in range(1024, 65536):
        try:
            s.sendto(b"p", (srv, port)); sent += 1
        except OSError:
            pass
print("%d %.1f" % (sent, time.monotonic() - t0))
'
C=$(pwc_pod_netns cap/client)
STOP=$W/stop
pwc_spawn "$W/stream.out" nsenter --net="/run/netns/$C" "$PWC_PY" -c "$FLOOD" "$SRV" 0 "$STOP"
sleep 1
# each flow owns two entries on one node (egress at the client, ingress at the server)
flood=$(timeout -k 1 300 nsenter --net="/run/netns/$C" "$PWC_PY" -c "$FLOOD" "$SRV" 4 "$STOP")
read -r sent secs <<<"$flood"
sleep 1
pwe_expect capacity_ct_new_flows_after_pressure ok "$ALLOWED"
pwe_expect capacity_ct_denied_after_pressure fail "$DENIED"
touch "$STOP"
pwc_wait_for 10 test -s "$W/stream.out"
read -r st n gap sport <"$W/stream.out"
ct=$(map_entries conntrack)
# the oldest and the newest UDP flows, as conntrack keys (egress, made by from_pod),
# looked up as the programs do (include/podwall/cttable.h): the key's set, read with
# bpftool, and a live way of its tag holding the key
CT_SETS=$(( MAX_CT / $(abi PW_CT_WAYS) ))
has_ct() {   # saddr daddr sport dport proto dir
	"$PWC_PY" -c '
import json, socket, struct, subprocess, sys
s, d, sp, dp, pr, dr, sets, pin = sys.argv[1:9]
m = lambda a: b"\0" * 10 + b"\xff\xff" + socket.inet_aton(a)
k = m(s) + m(d) + struct.pack("!HH", int(sp), int(dp)) + bytes([int(pr), int(dr), 0, 0])
M = (1 << 64) - 1
h = 0x6a09e667f3bcc909
for w in struct.unpack("<5Q", k):
    h = ((h ^ w) * 0x9e3779b97f4a7c15) & M
    h ^= h >> 29
h = (h * 0xbf58476d1ce4e5b9) & M
h ^= h >> 32
idx = struct.pack("<I", h & (int(sets) - 1))
out = subprocess.run(["bpftool", "-j", "map", "lookup", "pinned", pin + "/conntrack", "key", "hex"]
                     + ["%02x" % b for b in idx], capture_output=True, text=True, timeout=10)
v = bytes(int(x, 16) for x in json.loads(out.stdout)["value"])
for i in range(8):
    hd = struct.unpack_from("<Q", v, i * 8)[0]
    if hd & 3 == 2 and hd >> 32 == h >> 32 and v[64 + i * 80:64 + i * 80 + 40] == k:
        sys.exit(0)
sys.exit(1)' "$@" "$CT_SETS" "$PIN" 2>/dev/null
}
# 50 of the first flows and 50 of the last (the first few got ICMP port
# unreachable answers, which refresh their entries: skip those)
old_kept=0 new_kept=0 busy=no
for p in $(seq 2000 2049); do has_ct "$CLI" "$SRV" 40000 "$p" 17 1 && old_kept=$((old_kept + 1)); done
for p in $(seq 65486 65535); do has_ct "$CLI" "$SRV" 40003 "$p" 17 1 && new_kept=$((new_kept + 1)); done
has_ct "$CLI" "$SRV" "${sport:-0}" 80 6 1 && busy=yes
pwe_note "flood: ${sent:-?} datagrams in ${secs:-?} s; conntrack entries $ct of $MAX_CT; of 50 oldest flows $old_kept tracked, of 50 newest $new_kept; the stream: $busy"
if [ "${sent:-0}" -ge $(( MAX_CT / 2 + 1000 )) ] && [ "$ct" -le "$MAX_CT" ] && [ "$ct" -ge $(( MAX_CT * 9 / 10 )) ]; then
	pwe_pass capacity_ct_full_but_bounded "$sent new flows (2 entries each), $ct entries of $MAX_CT"
else
	pwe_fail capacity_ct_full_but_bounded "${sent:-?} flows sent, $ct entries of $MAX_CT"
fi
if [ "$old_kept" -le 5 ] && [ "$new_kept" -ge 45 ]; then
	pwe_pass capacity_ct_lru_evicts_oldest "of 50 of the oldest flows $old_kept still tracked, of the 50 newest $new_kept"
else
	pwe_fail capacity_ct_lru_evicts_oldest "of 50 of the oldest flows $old_kept still tracked, of the 50 newest $new_kept"
fi
if [ "$st" = ok ] && [ "${gap:-9999}" -lt 1000 ] && [ $busy = yes ]; then
	pwe_pass capacity_ct_busy_stream_survives "$n echoes, longest gap $gap ms, still tracked"
else
	pwe_fail capacity_ct_busy_stream_survives "stream: $(cat "$W/stream.out"); tracked: $busy"
fi
pwe_end
