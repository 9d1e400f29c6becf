#!/usr/bin/env bash
# End to end: podwall-cni chained after Debian's reference CNI plugins (issue 7).
#
# A node namespace runs `podwall agent --source DIR --cni-socket S` (under
# nsenter --net). Pods are network namespaces wired by the reference plugins
# of containernetworking-plugins exactly as a container runtime calls them
# (tests/e2e/cni_exec.py: CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME,
# CNI_ARGS with K8S_POD_NAMESPACE/K8S_POD_NAME, CNI_PATH, the configuration on
# stdin, each plugin of the list in order with the previous result as
# prevResult), run in the node namespace: ptp + host-local, and bridge +
# host-local, each followed by podwall-cni.
#
# Policy in force before any ADD: default-deny (Ingress+Egress) in namespace
# cni, and client -> server on tcp/7000 (egress of app=client, ingress of
# app=server). Every server listens on tcp/7000 and tcp/7001.
#
# Checks: VERSION; the socket is 0600 and refuses non-root; ADD passes
# prevResult on unchanged; the very first connection a pod attempts after its
# ADD is judged by the policy (denied port refused, allowed port open; the
# denied port does serve, so it is the policy that refuses); CHECK
# passes; a pod without a Pod object is isolated until the object appears,
# then enforced by its labels; the registry survives a kill -9 of the agent
# (bridge pods, which no route reveals, stay enforced and follow a policy
# edit); DEL removes the endpoint and is idempotent; with the agent down, ADD
# fails with a CNI error and DEL succeeds; so does ADD when the source is
# broken (nothing can be computed); `podwall-cni chain` / unchain and
# deploy/install-cni.sh chain it into a node's conflist.
#
# Addresses: 198.18.64.0/24 (ptp), 198.18.65.0/24 (bridge). host-local keeps
# its state in the test's directory. Run: bash tests/e2e/cni.sh (root; make).
set -uo pipefail
. "$(dirname "$0")/../lib/e2e.sh"
pwe_begin cni

CNI_BIN=${PODWALL_CNI:-$PWE_ROOT/podwall-cni}
PLUGINS=/usr/lib/cni
for t in "$CNI_BIN" "$PLUGINS/ptp" "$PLUGINS/bridge" "$PLUGINS/host-local"; do
	[ -x "$t" ] || { pwe_fail cni "missing $t (make; apt-get install containernetworking-plugins)"; exit 1; }
done

W=$PWC_WORK/cni
mkdir -p "$W/bin" "$W/ipam" "$W/cache" "$W/out" "$W/run"
ln -s "$CNI_BIN" "$W/bin/podwall-cni"
CNI_PATH=$W/bin:$PLUGINS
SOCK=$W/run/cni.sock
BR=pwbr$$
BR=${BR:0:15}

pwc_node node1
NODE_NS=$(pwc_node_netns node1)
PIN=$(pwc_pin_dir node1)

cat >"$W/ptp.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "pw-ptp-$$", "plugins": [
  {"type": "ptp", "ipMasq": false, "mtu": 1500,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "198.18.64.0/24"}]], "dataDir": "$W/ipam"}},
  {"type": "podwall-cni", "socket": "$SOCK", "timeoutSeconds": 20}
]}
EOF
cat >"$W/bridge.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "pw-bridge-$$", "plugins": [
  {"type": "bridge", "bridge": "$BR", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "198.18.65.0/24"}]], "dataDir": "$W/ipam"}},
  {"type": "podwall-cni", "socket": "$SOCK", "timeoutSeconds": 20}
]}
EOF

# ------------------------------------------------------------ helpers

declare -A POD_NETNS POD_CONF POD_CID POD_IP
LIVE_PODS=()

# cni CMD POD: the runtime's call for pod ns/name; output in $W/out/POD.CMD
cni() {
	local cmd=$1 pod=$2 ns=${2%%/*} name=${2#*/}
	timeout -k 2 60 nsenter --net="/run/netns/$NODE_NS" "$PWC_PY" "$PWE_ROOT/tests/e2e/cni_exec.py" \
		"$cmd" --conflist "${POD_CONF[$pod]}" --netns "/run/netns/${POD_NETNS[$pod]}" \
		--cid "${POD_CID[$pod]}" --ifname eth0 \
		--args "IgnoreUnknown=1;K8S_POD_NAMESPACE=$ns;K8S_POD_NAME=$name;K8S_POD_INFRA_CONTAINER_ID=${POD_CID[$pod]}" \
		--cni-path "$CNI_PATH" --cache "$W/cache" --steps "$W/out/${name}.steps" \
		>"$W/out/$name.$cmd" 2>"$W/out/$name.$cmd.err"
}

# pod_new POD CONFLIST: a sandbox (network namespace) for the pod
pod_new() {
	local pod=$1 name=${1#*/} netns
	netns=$PWC_PREFIX-c-$name
	ip netns add "$netns" || return 1
	echo "$netns" >>"$PWC_WORK/netns"
	ip -n "$netns" link set lo up
	POD_NETNS[$pod]=$netns
	POD_CONF[$pod]=$W/$2.conflist
	POD_CID[$pod]=$(printf '%s' "$pod-$$-$RANDOM" | md5sum | cut -c1-32)
	LIVE_PODS+=("$pod")   # DEL at cleanup (idempotent), whatever happens
}

# pod_add POD: ADD; on success POD_IP is the address of the result
pod_add() {
	local pod=$1
	cni ADD "$pod" || return 1
	POD_IP[$pod]=$("$PWC_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["ips"][0]["address"].split("/")[0])' "$W/out/${pod#*/}.ADD")
}

pod_serve() {   # POD PORT
	pwc_spawn "$PWC_WORK/logs/serve-${1#*/}-$2.log" nsenter --net="/run/netns/${POD_NETNS[$1]}" \
		socat TCP-LISTEN:"$2",reuseaddr,fork PIPE
}

# probe FROM_POD IP PORT [TIMEOUT]: one TCP connection carrying a token; ok/fail
probe() {
	local t=${4:-1.5}
	if timeout -k 1 "$(awk "BEGIN{print $t + 3}")" nsenter --net="/run/netns/${POD_NETNS[$1]}" \
		"$PWC_PY" -c "$PWC_PY_PROBE" tcp "$2" "$3" "$t" 2>/dev/null; then echo ok; else echo fail; fi
}
wait_listen() { _pwc_wait_listen "${POD_NETNS[$1]}" tcp "$2"; }

# the agent's pinned endpoints map has (1) or lacks (0) ifindex
ep_has_ifindex() {
	timeout 5 bpftool -j map dump pinned "$PIN/endpoints" 2>/dev/null | "$PWC_PY" -c '
import json, sys
want = int(sys.argv[1])
def key(e):
    if isinstance(e, dict) and "formatted" in e:
        return e["formatted"].get("key")
    k = e.get("key")
    if isinstance(k, list):
        return int.from_bytes(bytes(int(b, 16) for b in k), "little")
    return k
sys.exit(0 if any(key(e) == want for e in json.load(sys.stdin)) else 1)' "$1"
}

veth_ifindex() {   # POD: the host veth ifindex from the registry file
	"$PWC_PY" -c '
import json, sys
for e in json.load(open(sys.argv[1]))["endpoints"]:
    if e["namespace"] + "/" + e["pod"] == sys.argv[2]:
        print(e["hostIfindex"])' "$W/run/endpoints.json" "$1" 2>/dev/null
}
registered() { [ -n "$(veth_ifindex "$1")" ]; }

pod_yaml() {   # NS NAME LABELS
	cat <<-EOF
	apiVersion: v1
	kind: Pod
	metadata:
	  name: $2
	  namespace: $1
	  labels: {${3%%=*}: "${3#*=}"}
	spec:
	  nodeName: node1
	  containers:
	  - name: main
	    image: podwall.invalid/none
	    ports:
	    - {name: echo, containerPort: 7000}
	    - {name: other, containerPort: 7001}
	EOF
}

forget() {   # POD: no longer needs a DEL at cleanup
	local p keep=()
	for p in "${LIVE_PODS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	LIVE_PODS=("${keep[@]}")
}
cni_cleanup() {
	local p
	for p in "${LIVE_PODS[@]}"; do
		[ -n "${POD_CID[$p]:-}" ] && cni DEL "$p" 2>/dev/null
	done
	LIVE_PODS=()
}
trap 'rc=$?; cni_cleanup; (exit $rc); pwe_on_exit' EXIT

# ------------------------------------------------------------ VERSION, chain

out=$(CNI_COMMAND=VERSION "$CNI_BIN" </dev/null)
if "$PWC_PY" -c 'import json,sys; d=json.loads(sys.argv[1]); v=d["supportedVersions"]; sys.exit(0 if d["cniVersion"]=="1.0.0" and "1.0.0" in v and "0.4.0" in v else 1)' "$out"; then
	pwe_pass cni_version "$out"
else
	pwe_fail cni_version "got: $out"
fi

# chain/unchain into a node's configuration directory, as the init container does
CD=$W/netd
mkdir -p "$CD"
cat >"$CD/10-ptp.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "k8s-pod-network", "plugins": [
  {"type": "ptp", "ipam": {"type": "host-local", "ranges": [[{"subnet": "198.18.66.0/24"}]]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
EOF
echo '{"cniVersion": "0.3.1", "name": "other", "type": "bridge"}' >"$CD/20-other.conf"
types() { "$PWC_PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(p["type"]+("@"+p["socket"] if "socket" in p else "") for p in d["plugins"]))' "$1"; }
"$CNI_BIN" chain --conf-dir "$CD" --socket /run/podwall/cni.sock >/dev/null
t1=$(types "$CD/10-ptp.conflist")
"$CNI_BIN" chain --conf-dir "$CD" --socket /run/podwall/cni.sock >/dev/null
t2=$(types "$CD/10-ptp.conflist")
if [ "$t1" = "ptp portmap podwall-cni@/run/podwall/cni.sock" ] && [ "$t2" = "$t1" ] &&
   grep -q '"type": "bridge"' "$CD/20-other.conf" && ! grep -q podwall "$CD/20-other.conf"; then
	pwe_pass chain_appends_to_primary_conflist_once "$t1"
else
	pwe_fail chain_appends_to_primary_conflist_once "first: $t1; second: $t2"
fi
"$CNI_BIN" unchain --conf-dir "$CD" >/dev/null
t3=$(types "$CD/10-ptp.conflist")
[ "$t3" = "ptp portmap" ] && pwe_pass unchain_removes_it || pwe_fail unchain_removes_it "got: $t3"
rm -f "$CD/10-ptp.conflist"
"$CNI_BIN" chain --conf-dir "$CD" >/dev/null
if [ -f "$CD/20-other.conflist" ] && [ ! -e "$CD/20-other.conf" ] &&
   [ "$(types "$CD/20-other.conflist")" = "bridge podwall-cni@/run/podwall/cni.sock" ] &&
   grep -q '"cniVersion": "0.3.1"' "$CD/20-other.conflist"; then
	pwe_pass chain_turns_a_single_conf_into_a_list
else
	pwe_fail chain_turns_a_single_conf_into_a_list "$(ls "$CD"; cat "$CD"/* 2>/dev/null | tr '\n' ' ')"
fi
# the init container's script, against a fake host root
if [ -f "$PWE_ROOT/deploy/install-cni.sh" ]; then
	HR=$W/hostroot
	mkdir -p "$HR/opt/cni/bin" "$HR/etc/cni/net.d"
	cp "$CD/20-other.conflist" "$HR/etc/cni/net.d/10-net.conflist"
	"$CNI_BIN" unchain --conf-dir "$HR/etc/cni/net.d" >/dev/null
	if out=$(PODWALL_CNI_SRC="$CNI_BIN" CNI_BIN_DIR="$HR/opt/cni/bin" CNI_CONF_DIR="$HR/etc/cni/net.d" \
		PODWALL_CNI_SOCKET=/run/podwall/cni.sock CNI_WAIT_SECONDS=2 \
		timeout 30 sh "$PWE_ROOT/deploy/install-cni.sh" 2>&1) &&
	   cmp -s "$CNI_BIN" "$HR/opt/cni/bin/podwall-cni" &&
	   [ "$(types "$HR/etc/cni/net.d/10-net.conflist")" = "bridge podwall-cni@/run/podwall/cni.sock" ]; then
		pwe_pass install_cni_script_installs_and_chains
	else
		pwe_fail install_cni_script_installs_and_chains "${out##*$'\n'}"
	fi
fi

# ------------------------------------------------------------ objects, agent

pwc_namespace cni
pwe_np_default_deny cni | pwc_write np-default-deny.yaml
pwe_np_allow_pair client-to-server cni app=client app=server 7000/TCP | pwc_write np-client-to-server.yaml
for p in server client bserver bclient; do
	case $p in *server) l=app=server ;; *) l=app=client ;; esac
	pod_yaml cni "$p" "$l" | pwc_write "pod-cni-$p.yaml"
done

pwc_agent_start node1 --cni-socket "$SOCK" --cni-pod-wait 1000
if pwc_wait_for 10 test -S "$SOCK" && pwc_agent_alive node1; then
	pwe_pass agent_serves_cni_socket
else
	pwe_fail agent_serves_cni_socket "no socket $SOCK: $(tail -n 3 "$(pwc_agent_log node1)" | tr '\n' ' ')"
	exit 1
fi
mode=$(stat -c '%a %U' "$SOCK")
if [ "$mode" = "600 root" ] &&
   ! timeout 5 setpriv --reuid=65534 --regid=65534 --clear-groups "$PWC_PY" -c \
	'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$SOCK" 2>/dev/null; then
	pwe_pass cni_socket_root_only "mode $mode"
else
	pwe_fail cni_socket_root_only "mode $mode, or a non-root user could connect"
fi

# ------------------------------------------------------------ ptp, bridge

for net in ptp bridge; do
	if [ $net = ptp ]; then S=cni/server C=cni/client; else S=cni/bserver C=cni/bclient; fi
	pod_new "$S" $net; pod_new "$C" $net
	if pod_add "$S"; then
		pwe_pass "${net}_add_server"
	else
		pwe_fail "${net}_add_server" "$(tr '\n' ' ' <"$W/out/${S#*/}.ADD") $(tail -n 2 "$W/out/${S#*/}.ADD.err" | tr '\n' ' ')"
		continue
	fi
	pod_serve "$S" 7000; pod_serve "$S" 7001
	wait_listen "$S" 7000; wait_listen "$S" 7001
	SIP=${POD_IP[$S]}

	# the client: ADD, and at once its first connection attempts
	if pod_add "$C"; then
		first_denied=$(probe "$C" "$SIP" 7001)
		first_allowed=$(probe "$C" "$SIP" 7000)
		pwe_pass "${net}_add_client"
	else
		pwe_fail "${net}_add_client" "$(tr '\n' ' ' <"$W/out/${C#*/}.ADD")"
		continue
	fi
	# control: the denied port does serve (asked inside the server's own namespace)
	self=$(probe "$S" "$SIP" 7001)
	if [ "$first_denied" = fail ] && [ "$self" = ok ]; then
		pwe_pass "${net}_first_connection_after_add_is_enforced" "to a denied port: refused (that port serves)"
	else
		pwe_fail "${net}_first_connection_after_add_is_enforced" "denied port from the new pod: $first_denied (want fail), inside the server: $self (want ok)"
	fi
	[ "$first_allowed" = ok ] && pwe_pass "${net}_first_allowed_connection_works" ||
		pwe_fail "${net}_first_allowed_connection_works" "client -> server:7000 $first_allowed"
	# prevResult passes through podwall-cni unchanged
	if "$PWC_PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
a, b = s[-2]["result"], s[-1]["result"]
sys.exit(0 if s[-1]["type"] == "podwall-cni" and a == b else 1)' "$W/out/${C#*/}.steps"; then
		pwe_pass "${net}_add_passes_prevresult_unchanged"
	else
		pwe_fail "${net}_add_passes_prevresult_unchanged" "$(cat "$W/out/${C#*/}.steps")"
	fi
	if cni CHECK "$C" && cni CHECK "$S"; then
		pwe_pass "${net}_check_passes"
	else
		pwe_fail "${net}_check_passes" "$(tr '\n' ' ' <"$W/out/${C#*/}.CHECK")"
	fi
done

# ------------------------------------------------------------ a pod without a Pod object

G=cni/ghost
pod_new "$G" ptp
t0=$(pwc_now_ms)
if pod_add "$G"; then
	ms=$(( $(pwc_now_ms) - t0 ))
	pend=no
	grep -q "ADD cni/ghost .*isolated until it is known" "$(pwc_agent_log node1)" && pend=yes
	r1=$(probe "$G" "${POD_IP[cni/server]}" 7000)
	r2=$(probe cni/client "${POD_IP[$G]}" 7000)
	if [ "$r1" = fail ] && [ "$r2" = fail ] && [ $pend = yes ]; then
		pwe_pass pending_pod_is_isolated_until_known "ADD took ${ms} ms (waited for the Pod object)"
	else
		pwe_fail pending_pod_is_isolated_until_known "ghost -> server:7000 $r1, client -> ghost:7000 $r2 (want fail, fail), agent said pending: $pend"
	fi
	pod_yaml cni ghost app=client | pwc_write pod-cni-ghost.yaml
	ok=no
	for i in $(seq 40); do
		[ "$(probe "$G" "${POD_IP[cni/server]}" 7000 0.5)" = ok ] && { ok=yes; break; }
		sleep 0.25
	done
	if [ $ok = yes ] && [ "$(probe "$G" "${POD_IP[cni/server]}" 7001)" = fail ]; then
		pwe_pass pending_pod_enforced_by_its_labels_once_known
	else
		pwe_fail pending_pod_enforced_by_its_labels_once_known "ghost (app=client) -> server:7000 never opened, or 7001 open"
	fi
else
	pwe_fail pending_pod_is_isolated_until_known "ADD failed: $(tr '\n' ' ' <"$W/out/ghost.ADD")"
fi

# ------------------------------------------------------------ kill -9, restart

BC=cni/bclient BS=cni/bserver
pwc_agent_stop node1 KILL
pwc_agent_start node1 --cni-socket "$SOCK" --cni-pod-wait 1000
pwc_wait_for 10 test -S "$SOCK"
# CHECK answers once the restarted agent has pushed; on a loaded machine that
# can take longer than a fixed pause, so ask again for up to 10 s.
ok=no
for i in $(seq 40); do
	cni CHECK "$BC" && cni CHECK "$BS" && { ok=yes; break; }
	sleep 0.25
done
if [ $ok = yes ] && grep -q "endpoints restored" "$(pwc_agent_log node1)"; then
	pwe_pass restart_keeps_the_registry
else
	pwe_fail restart_keeps_the_registry "$(tr '\n' ' ' <"$W/out/bclient.CHECK")"
fi
# bridge pods have no /32 route: only the registry tells the restarted agent about them
pwe_np_allow_pair client-to-server cni app=client app=server 7002/TCP | pwc_write np-client-to-server.yaml
cut=no
for i in $(seq 40); do
	[ "$(probe "$BC" "${POD_IP[$BS]}" 7000 0.5)" = fail ] && { cut=yes; break; }
	sleep 0.25
done
reopen=no
pwe_np_allow_pair client-to-server cni app=client app=server 7000/TCP | pwc_write np-client-to-server.yaml
for i in $(seq 40); do
	[ "$(probe "$BC" "${POD_IP[$BS]}" 7000 0.5)" = ok ] && { reopen=yes; break; }
	sleep 0.25
done
if [ $cut = yes ] && [ $reopen = yes ]; then
	pwe_pass restarted_agent_enforces_bridge_pods "policy edits after the restart apply to them"
else
	pwe_fail restarted_agent_enforces_bridge_pods "after the restart: edit to deny took effect: $cut, back to allow: $reopen"
fi

# ------------------------------------------------------------ DEL

ifx=$(veth_ifindex cni/client)
if [ -n "$ifx" ] && ep_has_ifindex "$ifx"; then had=yes; else had=no; fi
if cni DEL cni/client; then
	forget cni/client
	if [ $had = yes ] && ! registered cni/client && ! ep_has_ifindex "$ifx" &&
	   ! ls "$W/ipam"/*/ 2>/dev/null | grep -qx "${POD_IP[cni/client]}"; then
		pwe_pass del_removes_endpoint_registration_and_address
	else
		pwe_fail del_removes_endpoint_registration_and_address "endpoint before: $had, registered: $(registered cni/client && echo yes || echo no), map entry: $(ep_has_ifindex "$ifx" && echo yes || echo no)"
	fi
else
	pwe_fail del_removes_endpoint_registration_and_address "DEL failed: $(tr '\n' ' ' <"$W/out/client.DEL")"
fi
# DEL again (a runtime may repeat it), and CHECK of what is gone
if cni DEL cni/client; then pwe_pass del_is_idempotent; else pwe_fail del_is_idempotent "second DEL failed"; fi
prev=$("$PWC_PY" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[-2]["result"]))' "$W/out/client.steps")
out=$(printf '{"cniVersion":"1.0.0","name":"x","type":"podwall-cni","socket":"%s","prevResult":%s}' "$SOCK" "$prev" |
	CNI_COMMAND=CHECK CNI_CONTAINERID="${POD_CID[cni/client]}" CNI_NETNS="/run/netns/${POD_NETNS[cni/client]}" \
	CNI_IFNAME=eth0 CNI_ARGS="K8S_POD_NAMESPACE=cni;K8S_POD_NAME=client" CNI_PATH="$CNI_PATH" \
	nsenter --net="/run/netns/$NODE_NS" "$CNI_BIN" 2>/dev/null); rc=$?
if [ $rc -ne 0 ] && grep -q '"code"' <<<"$out"; then
	pwe_pass check_fails_after_del
else
	pwe_fail check_fails_after_del "exit $rc: $out"
fi

# ------------------------------------------------------------ a broken source: ADD fails closed
E=cni/broken
pod_yaml cni broken app=client | pwc_write pod-cni-broken.yaml
printf 'apiVersion: v1\nkind: NetworkPolicy\nmetadata: {name: x, namespace: cni}\nspec: {podSelector: [}\n' |
	pwc_write zz-broken.yaml
pod_new "$E" ptp
if cni ADD "$E"; then
	pwe_fail add_fails_when_the_policy_cannot_be_computed "ADD succeeded with a broken source"
elif "$PWC_PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["code"] == 100 and "zz-broken.yaml" in d.get("details", "") else 1)' "$W/out/broken.ADD" &&
     ! registered "$E"; then
	pwe_pass add_fails_when_the_policy_cannot_be_computed "$(tr -s ' \n' ' ' <"$W/out/broken.ADD" | cut -c1-200)"
else
	pwe_fail add_fails_when_the_policy_cannot_be_computed "$(cat "$W/out/broken.ADD")"
fi
cni DEL "$E" && forget "$E"
pwc_rm zz-broken.yaml

# ------------------------------------------------------------ agent down

pwc_agent_stop node1
D=cni/late
pod_yaml cni late app=client | pwc_write pod-cni-late.yaml
pod_new "$D" ptp
if cni ADD "$D"; then
	pwe_fail agent_down_add_fails_with_cni_error "ADD succeeded with the agent down"
else
	out=$(cat "$W/out/late.ADD")
	if "$PWC_PY" -c '
import json, sys
d = json.loads(sys.argv[1])
sys.exit(0 if {"cniVersion", "code", "msg"} <= set(d) and d["code"] == 11 else 1)' "$out"; then
		pwe_pass agent_down_add_fails_with_cni_error "$(tr -s ' \n' ' ' <<<"$out")"
	else
		pwe_fail agent_down_add_fails_with_cni_error "not a CNI error: $out"
	fi
fi
# the runtime cleans up a failed ADD with DEL, which must succeed
if cni DEL "$D"; then forget "$D"; pwe_pass agent_down_del_succeeds; else pwe_fail agent_down_del_succeeds "$(cat "$W/out/late.DEL")"; fi

cni_cleanup
pwe_end
