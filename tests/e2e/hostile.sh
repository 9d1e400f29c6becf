#!/usr/bin/env bash
# End to end: hostile input (issue 9). A throwaway node namespace with a good
# policy set in force, then every member of the hostile corpus:
#
#   tests/hostile/*.yaml|json    committed: truncated YAML, wrong types,
#                                duplicate keys, alias bombs, invalid UTF-8, a
#                                NUL byte, huge / negative / zero / float ports,
#                                bad CIDRs, unknown operators, ...
#   tests/hostile/gen.py         generated: 100,000-deep nesting, megabyte
#                                strings, thousands of documents, lists past
#                                the node limit, 100,000 anchors, alias
#                                fan-out, a file past the size limit
#   tests/hostile/cni/*.json     hostile network configurations for podwall-cni
#   tests/hostile/kubeconfig/    bad kubeconfigs for `podwall agent --source k8s`
#
# For each manifest: `podwall apply -f FILE` and `podwall matrix -f FILE`
# exit 2 (not a signal, not a timeout) within $HOSTILE_SECS seconds under an
# address-space limit of $HOSTILE_AS bytes, name the file in a one-line
# error, and the pinned maps (all but those that move with traffic: config,
# endpoints, local_ips, ipcache(_lpm), policy(_lpm), dns; `bpftool map dump
# pinned`) are byte for byte what they were. Then the
# same files dropped into a running agent's source directory: each refused
# ("nothing applied"), the maps unchanged, the agent alive, and its
# podwall_applies_total{result="failure"} counting each one.
# podwall-cni on each hostile configuration: exit 1 with a CNI error object.
# The agent's CNI socket given garbage, an oversized request, half a line,
# idle connections: it answers or drops them and goes on serving.
#
# Security checks: the pin dir is 0700 and every pin 0600, owned by root; a
# non-root user can neither read the maps nor run status against them; the
# CNI socket is 0600 in a 0700 directory and refuses non-root; a Pod whose
# podwall.io/host-veth names the node's uplink does not get it; --metrics PORT
# binds 127.0.0.1; the loaded-state file is 0600; no untrusted string
# reaches a shell (no system/popen/exec* in the agent or the plugin, but
# bench re-executing itself with fixed arguments).
#
# Run: bash tests/e2e/hostile.sh (root; ./podwall and ./podwall-cni built).
set -uo pipefail
. "$(dirname "$0")/../lib/e2e.sh"
pwe_begin hostile

HOSTILE_SECS=${HOSTILE_SECS:-10}
HOSTILE_AS=${HOSTILE_AS:-$((1024 * 1024 * 1024))}
# every pinned map but those that move with traffic (conntrack, counters...)
MAPS_TRAFFIC="conntrack ct_stats frags counters events ratelimit dns_queries fqdn_learned fqdn_stats dns_scratch"
CNI=$PWE_ROOT/podwall-cni

for t in bpftool prlimit setpriv; do
	command -v $t >/dev/null || { pwe_fail hostile "missing tool $t"; exit 1; }
done

STATE_DIR=
hostile_on_exit() {
	local rc=$?
	[ -n "$STATE_DIR" ] && case $STATE_DIR in /run/podwall/"$PWC_PREFIX"-*) rm -rf "$STATE_DIR" ;; esac
	(exit $rc)
	pwe_on_exit
}
trap 'hostile_on_exit' EXIT

# ------------------------------------------------------------ the cluster
pwc_node node1
pwc_pod node1 production web "app=web" "http:80/TCP"
pwc_pod node1 production client "app=client"
pwc_serve production/web tcp 80
pwe_np_default_deny production | pwc_write np-default-deny.yaml
pwe_np_allow_pair web production app=client app=web 80/TCP | pwc_write np-allow.yaml

NS=$(pwc_node_netns node1)
NETNS=/run/netns/$NS
PIN=$(pwc_pin_dir node1)
STATE_DIR=/run/podwall/$(basename "$PIN")
echo "$PIN" >"$PWC_WORK/agents/node1.pin"   # pwc_cleanup: podwall uninstall there
GEN=$PWC_WORK/hostile-gen
LOGS=$PWC_WORK/logs
MPORT=$((20000 + $$ % 20000))

pw() { timeout -k 2 60 nsenter --net="$NETNS" "$PODWALL" "$@"; }

# the maps' contents, one file: what "nothing changed" is compared against
snapshot() {
	local f m
	for f in "$PIN"/*; do
		m=$(basename "$f")
		case " $MAPS_TRAFFIC " in *" $m "*) continue ;; esac
		echo "== $m"
		timeout 20 bpftool -j map dump pinned "$f" 2>&1
	done
}

if out=$(pw apply -f "$PWC_SRC" --pin-dir "$PIN" 2>&1); then
	pwe_pass hostile_prior_state_applied "${out##*$'\n'}"
else
	pwe_fail hostile_prior_state_applied "$out"; exit 1
fi
pwe_expect hostile_prior_state_enforced ok "production/client production/web 80 tcp"
pwe_expect hostile_prior_state_denies fail "production/web production/client 80 tcp"
snapshot >"$PWC_WORK/maps.before"
grep -q '"key"' "$PWC_WORK/maps.before" || pwe_fail hostile_snapshot "no map entries read from $PIN"

python3 tests/hostile/gen.py "$GEN" || { pwe_fail hostile_gen "tests/hostile/gen.py failed"; exit 1; }
CORPUS=()
for f in tests/hostile/*.yaml tests/hostile/*.json "$GEN"/*; do
	# HOSTILE_ONLY=GLOB: only the files whose name matches (debugging)
	case $(basename "$f") in ${HOSTILE_ONLY:-*}) ;; *) continue ;; esac
	[ -f "$f" ] && CORPUS+=("$f")
done
pwe_note "hostile corpus: ${#CORPUS[@]} files"

# run_bounded OUTVAR CMD...: run CMD under the time and memory bounds;
# sets RB_RC, RB_MS and the variable named OUTVAR to stderr's first line.
run_bounded() {
	local __v=$1 t0 err; shift
	t0=$(pwc_now_ms)
	err=$(prlimit --as="$HOSTILE_AS" timeout -k 2 "$HOSTILE_SECS" "$@" 2>&1 >/dev/null)
	RB_RC=$?
	RB_MS=$(( $(pwc_now_ms) - t0 ))
	printf -v "$__v" '%s' "$(printf '%s\n' "$err" | grep -m1 -E '^podwall' || printf '%s\n' "$err" | head -n1)"
}

# verdict on one exit: 2 wanted
bad_exit() {   # rc -> why, or nothing if fine
	case $1 in
	2) ;;
	0) echo "accepted (exit 0)" ;;
	124|137) echo "not done within ${HOSTILE_SECS} s" ;;
	*) if [ "$1" -gt 128 ]; then echo "killed by signal $(( $1 - 128 ))"; else echo "exit $1, want 2"; fi ;;
	esac
}

# ------------------------------------------------------------ apply and matrix
max_ms=0
for f in "${CORPUS[@]}"; do
	name=$(basename "$f")
	why=
	run_bounded amsg nsenter --net="$NETNS" "$PODWALL" apply -f "$f" --pin-dir "$PIN"
	arc=$RB_RC ams=$RB_MS
	w=$(bad_exit $arc); [ -n "$w" ] && why="apply: $w"
	if [ -z "$why" ] && ! grep -qF -- "$name" <<<"$amsg"; then why="apply: the error does not name the file: $amsg"; fi
	snapshot >"$PWC_WORK/maps.after"
	if ! cmp -s "$PWC_WORK/maps.before" "$PWC_WORK/maps.after"; then
		why="${why:+$why; }the maps changed: $(diff "$PWC_WORK/maps.before" "$PWC_WORK/maps.after" | head -n 4 | tr '\n' ' ')"
		cp "$PWC_WORK/maps.after" "$PWC_WORK/maps.before"   # judge the next one on its own
	fi
	run_bounded mmsg "$PODWALL" matrix -f "$f"
	mrc=$RB_RC mms=$RB_MS
	w=$(bad_exit $mrc); [ -n "$w" ] && why="${why:+$why; }matrix: $w"
	if [ "$mrc" = 2 ] && ! grep -qF -- "$name" <<<"$mmsg"; then why="${why:+$why; }matrix: the error does not name the file: $mmsg"; fi
	[ $ams -gt $max_ms ] && max_ms=$ams
	[ $mms -gt $max_ms ] && max_ms=$mms
	if [ -z "$why" ]; then
		pwe_pass "hostile_file_$name" "apply ${ams} ms, matrix ${mms} ms, exit 2, maps unchanged: ${amsg:0:150}"
	else
		pwe_fail "hostile_file_$name" "$why"
	fi
done
pwe_note "slowest refusal: $max_ms ms"
pwe_expect hostile_enforcement_unchanged_after_apply ok "production/client production/web 80 tcp"

# ------------------------------------------------------------ the agent
# The agent on the same pins and source; it adopts the state in force. Its
# CNI registry file is there already, and hostile: a negative seq (it used to
# wrap the next registration's number to 0, found by fuzz_cni_state).
mkdir -p "$PWC_WORK/run" && chmod 700 "$PWC_WORK/run"
COOKIE=$(nsenter --net="$NETNS" "$PWC_PY" -c '
import socket, struct
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
print(struct.unpack("Q", s.getsockopt(socket.SOL_SOCKET, 71, 8))[0])')
cat >"$PWC_WORK/run/endpoints.json" <<-REG
{"version": 1, "netnsCookie": $COOKIE, "endpoints": [
 {"containerID": "c1", "ifname": "eth0", "namespace": "production", "pod": "gone", "hostVeth": "nosuch0", "hostIfindex": 4000, "ips": ["198.18.1.240"], "seq": 1},
 {"containerID": "c2", "ifname": "eth0", "namespace": "production", "pod": "wrap", "hostVeth": "nosuch1", "hostIfindex": 4001, "ips": ["198.18.1.241"], "seq": -1},
 {"containerID": "c3", "ifname": "eth0", "namespace": "../..", "pod": "x", "hostVeth": "nosuch2", "hostIfindex": 4002, "ips": ["198.18.1.242"]},
 {"containerID": "c4", "ifname": "eth0", "namespace": "production", "pod": "ips", "hostVeth": "nosuch3", "hostIfindex": 4003, "ips": ["not-an-ip"]},
 "not an object", 7, null
]}
REG
chmod 600 "$PWC_WORK/run/endpoints.json"
pwc_agent_start node1 --metrics "$MPORT" --cni-socket "$PWC_WORK/run/cni.sock"
ALOG=$(pwc_agent_log node1)
if pwc_wait_for 20 grep -q "podwall: applied generation" "$ALOG"; then
	pwe_pass hostile_agent_started
else
	pwe_fail hostile_agent_started "no first apply in $ALOG"; exit 1
fi
if grep -q "endpoint 1: negative seq; skipped" "$ALOG" &&
   grep -q "endpoint 2: pod namespace/name missing or invalid; skipped" "$ALOG" &&
   grep -q "endpoint 3: bad IP address in ips; skipped" "$ALOG"; then
	pwe_pass hostile_cni_registry_file "$(grep -c '; skipped' "$ALOG") bad entries skipped; $(grep -m1 'restored from' "$ALOG" | sed 's/.*cni: //')"
else
	pwe_fail hostile_cni_registry_file "$(grep 'podwall: cni:' "$ALOG" | head -n 5 | tr '\n' ' ')"
fi
snapshot >"$PWC_WORK/maps.before"
scrape() { timeout -k 1 5 nsenter --net="$NETNS" "$PWC_PY" -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read().decode())' "http://127.0.0.1:$MPORT/metrics" 3 2>/dev/null; }
metric() { awk -v k="$1" '$1 == k { v = $2; f = 1 } END { printf "%d\n", f ? v : 0 }'; }
FAIL_METRIC='podwall_applies_total{result="failure"}'
fails0=$(scrape | metric "$FAIL_METRIC")

count() { grep -c "$1" "$ALOG" 2>/dev/null || true; }
more_than() { [ "$(count "$1")" -gt "$2" ]; }   # pattern, old count
fed=0 agent_bad=()
for f in "${CORPUS[@]}"; do
	name=$(basename "$f")
	case $name in *.yaml|*.yml|*.json) ;; *) continue ;; esac
	n_refused=$(count "nothing applied")
	n_applied=$(count "podwall: applied generation")
	tmp=$(mktemp "$PWC_WORK/stage/h.XXXXXX")
	cp --sparse=always "$f" "$tmp"
	mv -f "$tmp" "$PWC_SRC/zz-hostile-$name"
	fed=$((fed + 1))
	if ! pwc_wait_for 30 more_than "nothing applied" "$n_refused"; then
		agent_bad+=("$name: not refused within 30 s")
	fi
	pwc_agent_alive node1 || { agent_bad+=("$name: the agent died"); break; }
	snapshot >"$PWC_WORK/maps.after"
	if ! cmp -s "$PWC_WORK/maps.before" "$PWC_WORK/maps.after"; then
		agent_bad+=("$name: the maps changed")
		cp "$PWC_WORK/maps.after" "$PWC_WORK/maps.before"
	fi
	rm -f "$PWC_SRC/zz-hostile-$name"
	pwc_wait_for 30 more_than "podwall: applied generation" "$n_applied" ||
		agent_bad+=("$name: no re-apply after the file was removed")
done
if [ ${#agent_bad[@]} -eq 0 ]; then
	pwe_pass hostile_agent_refuses_every_file "$fed files, each refused, maps unchanged, agent alive"
else
	pwe_fail hostile_agent_refuses_every_file "${agent_bad[*]:0:5}"
fi
fails1=$(scrape | metric "$FAIL_METRIC")
if [ $((fails1 - fails0)) -eq "$fed" ]; then
	pwe_pass hostile_agent_failure_metric "$FAIL_METRIC $fails0 -> $fails1"
else
	pwe_fail hostile_agent_failure_metric "$FAIL_METRIC $fails0 -> $fails1, want +$fed"
fi
if [ "$(scrape | metric podwall_last_apply_success)" = 1 ]; then
	pwe_pass hostile_agent_recovers "podwall_last_apply_success 1 once the source is good again"
else
	pwe_fail hostile_agent_recovers "podwall_last_apply_success is not 1 after the good source came back"
fi
pwe_expect hostile_enforcement_unchanged_after_agent ok "production/client production/web 80 tcp"
pwe_expect hostile_denial_unchanged_after_agent fail "production/web production/client 80 tcp"

# ------------------------------------------------------------ the CNI socket
SOCK=$PWC_WORK/run/cni.sock
cni_client='
import socket, sys, time
path, mode = sys.argv[1], sys.argv[2]
def ask(data, close_write=True, t=10):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(t)
    s.connect(path)
    s.sendall(data)
    if close_write:
        s.shutdown(socket.SHUT_WR)
    got = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return got.decode(errors="replace").strip()
if mode == "garbage":
    print(ask(b"hello, agent\n"))
elif mode == "binary":
    print(ask(bytes(range(256)) * 4 + b"\n"))
elif mode == "huge":
    print(ask(b"{\"v\": 1, \"op\": \"ADD\", \"x\": \"" + b"A" * 200000 + b"\"}\n"))
elif mode == "half":
    print(ask(b"{\"v\": 1, \"op\": \"DEL\", \"containerID\": \"half"))
elif mode == "deep":
    print(ask(b"[" * 100000 + b"\n"))
elif mode == "idle":
    # 50 connections that send nothing, then a real request must still be answered
    idle = []
    for i in range(50):
        s = socket.socket(socket.AF_UNIX); s.connect(path); idle.append(s)
    t0 = time.time()
    ans = ask(b"{\"v\": 1, \"op\": \"DEL\", \"containerID\": \"nobody-home\", \"ifname\": \"eth0\", \"netns\": \"\"}\n")
    print("%s (answered in %.2f s with 50 idle connections open)" % (ans, time.time() - t0))
    for s in idle:
        s.close()
'
for mode in garbage binary huge half deep idle; do
	ans=$(timeout -k 1 30 nsenter --net="$NETNS" "$PWC_PY" -c "$cni_client" "$SOCK" "$mode" 2>&1)
	case $mode in
	idle) want='"ok":true' ;;
	*) want='"ok":false' ;;
	esac
	if grep -qF "$want" <<<"$ans" && pwc_agent_alive node1; then
		pwe_pass "hostile_cni_socket_$mode" "${ans:0:160}"
	else
		pwe_fail "hostile_cni_socket_$mode" "answer ${ans:0:200}; agent alive: $(pwc_agent_alive node1 && echo yes || echo no)"
	fi
done
snapshot >"$PWC_WORK/maps.after"
if cmp -s "$PWC_WORK/maps.before" "$PWC_WORK/maps.after"; then
	pwe_pass hostile_cni_socket_maps_unchanged
else
	pwe_fail hostile_cni_socket_maps_unchanged "$(diff "$PWC_WORK/maps.before" "$PWC_WORK/maps.after" | head -n 4 | tr '\n' ' ')"
fi

# ------------------------------------------------------------ a Pod naming the uplink
# Whoever may create Pods writes their annotations: a Pod whose
# podwall.io/host-veth names the node's uplink must not get it (that put the
# pod programs on the uplink and cut every remote flow of the node).
pwc_node node2
pwc_uplink node1 node2
pwc_pod node1 free client "app=free"
pwc_pod node2 hostile remote "app=remote"
pwc_serve hostile/remote tcp 80
REMOTE="free/client hostile/remote 80 tcp"
if pwe_wait_state 20 "ok:$REMOTE"; then
	cat <<-EOF | pwc_write zz-uplink-thief.yaml
	apiVersion: v1
	kind: Pod
	metadata:
	  name: thief
	  namespace: free
	  labels: {app: thief}
	  annotations: {podwall.io/host-veth: up0}
	status: {podIP: 198.18.1.250}
	---
	apiVersion: networking.k8s.io/v1
	kind: NetworkPolicy
	metadata: {name: thief, namespace: free}
	spec: {podSelector: {matchLabels: {app: thief}}, policyTypes: [Ingress, Egress]}
	EOF
	pwc_wait_for 20 grep -q "names up0, which carries routes to gateways" "$ALOG"
	sleep 2   # a tick or two
	filt=$(nsenter --net="$NETNS" "$PODWALL" hooks --all 2>/dev/null | awk '$1 == "up0" && $2 == "ingress" && $4 == "from_pod"' | wc -l)
	if grep -q "names up0, which carries routes to gateways" "$ALOG" && [ "$filt" = 0 ] &&
	   pwe_matches ok "$REMOTE"; then
		pwe_pass hostile_annotation_cannot_take_the_uplink "$(grep -m1 'names up0' "$ALOG" | cut -c1-160)"
	else
		pwe_fail hostile_annotation_cannot_take_the_uplink "from_pod filters on up0 ingress: $filt; remote flow: $(pwc_probe $REMOTE)"
	fi
	pwc_rm zz-uplink-thief.yaml
else
	pwe_fail hostile_annotation_cannot_take_the_uplink "the cross-node flow does not work to begin with"
fi

# ------------------------------------------------------------ podwall-cni
# Each hostile configuration: exit 1 and a CNI error object on stdout. The
# node has a veth called vethhostile0 (named in some prevResults) and the
# socket paths lead nowhere, so whatever parses gets as far as it can.
ip -n "$NS" link add vethhostile0 type veth peer name vethhostile1
python3 -c 'import sys; sys.stdout.write("{\"cniVersion\": \"1.0.0\", \"name\": \"" + "x" * (17 << 20) + "\"}")' \
	>"$GEN/cni-larger-than-16M.json"
for f in tests/hostile/cni/*.json "$GEN"/cni-*.json; do
	name=$(basename "$f")
	t0=$(pwc_now_ms)
	out=$(CNI_COMMAND=ADD CNI_CONTAINERID=hostile-$$ CNI_IFNAME=eth0 CNI_NETNS=/nonexistent \
		CNI_ARGS="K8S_POD_NAMESPACE=production;K8S_POD_NAME=hostile" CNI_PATH=/nonexistent \
		prlimit --as="$HOSTILE_AS" timeout -k 2 "$HOSTILE_SECS" \
		nsenter --net="$NETNS" "$CNI" <"$f" 2>/dev/null)
	rc=$? ms=$(( $(pwc_now_ms) - t0 ))
	if [ $rc -eq 1 ] && "$PWC_PY" -c '
import json, sys
o = json.loads(sys.argv[1])
sys.exit(0 if isinstance(o.get("code"), int) and o.get("msg") else 1)' "$out" 2>/dev/null; then
		pwe_pass "hostile_cni_$name" "exit 1 in $ms ms: $(tr -d '\n' <<<"$out" | tr -s ' ' | cut -c1-140)"
	else
		pwe_fail "hostile_cni_$name" "exit $rc (want 1 with a CNI error object): ${out:0:200}"
	fi
done

# ------------------------------------------------------------ kubeconfig
# `podwall agent --source k8s --kubeconfig FILE` with a bad kubeconfig: exit 2
# at start, naming what is wrong (never an agent retrying an unusable server
# for ever, never running an exec credential). Its own throwaway pins.
KPIN=$PWC_PIN_BASE/$PWC_PREFIX-kubeconfig
echo "$KPIN" >"$PWC_WORK/agents/kubeconfig.pin"
for f in tests/hostile/kubeconfig/*.yaml; do
	name=$(basename "$f")
	t0=$(pwc_now_ms)
	out=$(timeout -k 2 "$HOSTILE_SECS" nsenter --net="$NETNS" "$PODWALL" agent --source k8s \
		--kubeconfig "$f" --pin-dir "$KPIN" 2>&1)
	rc=$? ms=$(( $(pwc_now_ms) - t0 ))
	msg=$(grep -m1 -- '--source k8s:' <<<"$out")
	if [ $rc -eq 2 ] && [ -n "$msg" ]; then
		pwe_pass "hostile_kubeconfig_$name" "exit 2 in $ms ms: ${msg:0:160}"
	else
		pwe_fail "hostile_kubeconfig_$name" "exit $rc (want 2 at start): $(tail -n 1 <<<"$out")"
	fi
done
timeout -k 1 15 nsenter --net="$NETNS" "$PODWALL" uninstall --pin-dir "$KPIN" >/dev/null 2>&1
rm -f "$PWC_WORK/agents/kubeconfig.pin"

# ------------------------------------------------------------ security
modes=$(find "$PIN" -maxdepth 1 -printf '%m %u %p\n' 2>/dev/null)
dir_mode=$(stat -c '%a %U' "$PIN")
bad_pins=$(find "$PIN" -mindepth 1 -maxdepth 1 \( ! -perm 600 -o ! -user root \) -printf '%m %u %f\n')
if [ "$dir_mode" = "700 root" ] && [ -z "$bad_pins" ] && [ -n "$modes" ]; then
	pwe_pass security_pins_root_only "pin dir 0700 root, $(( $(wc -l <<<"$modes") - 1 )) pins 0600 root"
else
	pwe_fail security_pins_root_only "pin dir $dir_mode; not 0600 root: $bad_pins"
fi
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all -- "$@"; }
if out=$(as_nobody timeout 10 bpftool map dump pinned "$PIN/policy" 2>&1); then
	pwe_fail security_pins_unreadable_by_others "bpftool as nobody read the policy map"
else
	pwe_pass security_pins_unreadable_by_others "${out##*$'\n'}"
fi
# (nsenter first, as root; then drop to nobody inside the node's namespace)
if out=$(timeout 10 nsenter --net="$NETNS" setpriv --reuid=65534 --regid=65534 --clear-groups \
	--inh-caps=-all -- "$PODWALL" status --pin-dir "$PIN" 2>&1); then
	pwe_fail security_status_needs_root "podwall status worked as nobody"
else
	pwe_pass security_status_needs_root "${out##*$'\n'}"
fi
sock_mode=$(stat -c '%a %U' "$SOCK") sdir_mode=$(stat -c '%a %U' "$(dirname "$SOCK")")
if [ "$sock_mode" = "600 root" ] && [ "$sdir_mode" = "700 root" ]; then
	pwe_pass security_cni_socket_root_only "socket 0600 root in a 0700 root directory"
else
	pwe_fail security_cni_socket_root_only "socket $sock_mode, directory $sdir_mode"
fi
chmod 755 "$PWC_WORK" "$PWC_WORK/run"   # let nobody reach the socket file itself
if out=$(timeout 10 nsenter --net="$NETNS" setpriv --reuid=65534 --regid=65534 --clear-groups \
	--inh-caps=-all -- "$PWC_PY" -c "$cni_client" "$SOCK" garbage 2>&1); then
	pwe_fail security_cni_socket_refuses_others "nobody got an answer: ${out:0:160}"
else
	pwe_pass security_cni_socket_refuses_others "${out##*$'\n'}"
fi
# and were the socket file open to all, the agent itself refuses non-root (SO_PEERCRED)
chmod 666 "$SOCK"
out=$(timeout 10 nsenter --net="$NETNS" setpriv --reuid=65534 --regid=65534 --clear-groups \
	--inh-caps=-all -- "$PWC_PY" -c "$cni_client" "$SOCK" garbage 2>&1)
chmod 600 "$SOCK"
if ! grep -q '"ok"' <<<"$out" && pwc_wait_for 5 grep -q "refused a connection from uid 65534" "$ALOG"; then
	pwe_pass security_cni_peer_must_be_root "$(grep -m1 "refused a connection from uid" "$ALOG")"
else
	pwe_fail security_cni_peer_must_be_root "nobody got '${out:0:120}' from a 0666 socket"
fi
chmod 700 "$PWC_WORK/run"
listen=$(nsenter --net="$NETNS" ss -Hltn "sport = :$MPORT" | awk '{print $4}' | sort -u | tr '\n' ' ')
if [ "$listen" = "127.0.0.1:$MPORT " ]; then
	pwe_pass security_metrics_loopback "--metrics $MPORT listens on $listen"
else
	pwe_fail security_metrics_loopback "--metrics $MPORT listens on '$listen'"
fi
st=$(find "$STATE_DIR" -maxdepth 1 -name state.json -printf '%m %u' 2>/dev/null)
reg=$(find "$(dirname "$SOCK")" -maxdepth 1 -name endpoints.json -printf '%m %u' 2>/dev/null)
if [ "$st" = "600 root" ] && { [ -z "$reg" ] || [ "$reg" = "600 root" ]; }; then
	pwe_pass security_state_files_root_only "state.json ${st}${reg:+, endpoints.json $reg}"
else
	pwe_fail security_state_files_root_only "state.json '$st', endpoints.json '$reg'"
fi
# no shell anywhere: the only exec is bench re-running ./podwall with fixed arguments
calls=$(grep -rnE '\b(system|popen|execl|execlp|execle|execv|execvp|execvpe|posix_spawnp?)\s*\(' \
	agent cni include --include='*.c' --include='*.h' | grep -v '^agent/bench/control.c:.*execl(o->self, "podwall", "agent"')
if [ -z "$calls" ]; then
	pwe_pass security_no_shell "no system/popen/exec outside bench's self re-exec"
else
	pwe_fail security_no_shell "$(head -n 3 <<<"$calls" | tr '\n' ' ')"
fi

pwe_end
