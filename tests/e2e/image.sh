#!/usr/bin/env bash
# End to end: the image `make image` builds, run as the DaemonSet runs it
# (issue 19). The image is built (scripts/image.sh: mmdebstrap bases, podman
# build; a few minutes the first time, the bases are kept), then its two
# containers run under podman with exactly the securityContext, command and
# mounts of deploy/daemonset.yaml (read from it), in a node network namespace:
#
#   install-cni (init): no capability; copies podwall-cni into the node's CNI
#     binary directory and chains it into the node's conflist;
#   agent: --cap-drop ALL + the DaemonSet's capabilities, read-only root, no
#     new privileges, --network ns:/run/netns/NODE, bpffs (rslave, as
#     HostToContainer), /run/podwall, the CNI configuration, a service
#     account (token, ca.crt) for the API server: a replaying one on
#     127.0.0.1:6443 of the node (tests/e2e/k8s_replay.py).
#
#   node1: prod/a (app=a), prod/b (app=b, tcp/7000), prod/c (app=c);
#   policy: b admits only a, on tcp/7000.
#
# Checks: the agent starts while the API server is down: /readyz is not 200
# and nothing is enforced; the API server comes up: each time /readyz
# answers 200, c -> b is refused and a -> b connects (ready means enforcing);
# /healthz, /metrics; the conflist keeps podwall-cni when rewritten; the API
# server gone, /readyz is 503 again (the watches retry); SIGTERM
# (podman stop) leaves enforcement in place; `podwall uninstall --node` from
# the host then removes the chained entry, the tc filters and the pins, and
# every pod connects again.
#
# Run: bash tests/e2e/image.sh (root; make; podman, runc, mmdebstrap: make setup).
set -uo pipefail
. "$(dirname "$0")/../lib/e2e.sh"
pwe_begin image
. "$PWE_ROOT/scripts/podman-env.sh"
for t in podman runc mmdebstrap openssl; do
	command -v $t >/dev/null || { pwe_fail image "missing tool $t (make setup)"; exit 1; }
done

# ------------------------------------------------------------ the image
IMAGE=localhost/podwall:$(git -C "$PWE_ROOT" describe --tags --always --dirty 2>/dev/null || echo dev)
if bash "$PWE_ROOT/scripts/image.sh" >"$PWC_WORK/logs/image-build.log" 2>&1; then
	pwe_pass image_builds "$(tail -n 1 "$PWC_WORK/logs/image-build.log" | sed 's/^image.sh: //')"
else
	pwe_fail image_builds "$(tail -n 3 "$PWC_WORK/logs/image-build.log" | tr '\n' ' ')"; exit 1
fi

# the DaemonSet's containers, as podman arguments
DS=$PWE_ROOT/deploy/daemonset.yaml
ds() {   # CONTAINER WHAT: "caps" (--cap-* args), "sec" (the rest), "cmd" (argv, one per line)
	"$PWC_PY" - "$DS" "$1" "$2" <<-'EOF'
	import sys, yaml
	ds = yaml.safe_load(open(sys.argv[1]))
	spec = ds["spec"]["template"]["spec"]
	c = [x for x in spec.get("initContainers", []) + spec["containers"] if x["name"] == sys.argv[2]][0]
	sc = c.get("securityContext", {})
	if sys.argv[3] == "caps":
	    for d in sc.get("capabilities", {}).get("drop", []):
	        print("--cap-drop=" + d)
	    for a in sc.get("capabilities", {}).get("add", []):
	        print("--cap-add=" + a)
	elif sys.argv[3] == "sec":
	    if sc.get("readOnlyRootFilesystem"):
	        print("--read-only")
	    if sc.get("allowPrivilegeEscalation") is False:
	        print("--security-opt=no-new-privileges")
	    if "runAsUser" in sc:
	        print("--user=%d" % sc["runAsUser"])
	    if sc.get("privileged"):
	        print("--privileged")
	    for e in c.get("env", []):
	        print("--env=%s=%s" % (e["name"], e["value"]))
	elif sys.argv[3] == "cmd":
	    for a in c.get("command", []) + c.get("args", []):
	        print(a)
	EOF
}
mapfile -t AGENT_CAPS < <(ds agent caps)
mapfile -t AGENT_SEC < <(ds agent sec)
mapfile -t AGENT_CMD < <(ds agent cmd)
mapfile -t INIT_SEC < <(ds install-cni sec)
mapfile -t INIT_CAPS < <(ds install-cni caps)
mapfile -t INIT_CMD < <(ds install-cni cmd)
if [ ${#AGENT_CMD[@]} -gt 2 ] && printf '%s\n' "${AGENT_CAPS[@]}" | grep -qx -- --cap-drop=ALL; then
	pwe_pass image_daemonset_read "agent: ${AGENT_CAPS[*]} ${AGENT_SEC[*]}"
else
	pwe_fail image_daemonset_read "cannot read the agent container of $DS"; exit 1
fi

# ------------------------------------------------------------ the node
A=prod/a B=prod/b C=prod/c
pwc_node node1
NODE_NS=$(pwc_node_netns node1)
node() { nsenter --net="/run/netns/$NODE_NS" "$@"; }
pwc_namespace prod
pwc_pod node1 prod a "app=a" "echo:7000/TCP"
pwc_pod node1 prod b "app=b" "echo:7000/TCP"
pwc_pod node1 prod c "app=c" "echo:7000/TCP"
pwc_serve $B tcp 7000
pwc_serve $A tcp 7000
# the agent's pins: the default pin dir of the node's network namespace;
# pwc_cleanup uninstalls them whatever happens
PIN=$(node "$PWC_PY" -c '
import socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
print("/sys/fs/bpf/podwall/netns-%d" % int.from_bytes(s.getsockopt(socket.SOL_SOCKET, 71, 8), "little"))')
echo "$PIN" >"$PWC_WORK/agents/node1.pin"

W=$PWC_WORK/image
mkdir -p "$W/run" "$W/net.d" "$W/bin" "$W/sa" "$W/ctl"
echo 0 >"$W/ctl/phase"
CONF=$W/net.d/10-ptp.conflist
write_conf() { printf '{"cniVersion": "1.0.0", "name": "k8s-pod-network", "plugins": [{"type": "ptp", "ipam": {"type": "host-local", "subnet": "198.18.1.0/24"}}]}\n' >"$CONF.tmp"; mv "$CONF.tmp" "$CONF"; }
write_conf
chained() { grep -q '"podwall-cni"' "$CONF"; }

# ------------------------------------------------------------ the API server
TOKEN=podwall-image-$$-$RANDOM
echo -n "$TOKEN" >"$W/sa/token"
pwe_tls_localhost "$W"
cp "$W/ca.crt" "$W/sa/ca.crt"
IP_A=$(pwc_ip $A) IP_B=$(pwc_ip $B) IP_C=$(pwc_ip $C) "$PWC_PY" - >"$W/scenario.json" <<'EOF'
import json, os
def pod(name):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "prod", "uid": "uid-" + name,
                         "labels": {"app": name}},
            "spec": {"nodeName": "node1", "containers": [{"name": "main", "image": "x",
                     "ports": [{"name": "echo", "containerPort": 7000, "protocol": "TCP"}]}]},
            "status": {"phase": "Running", "podIP": os.environ["IP_" + name.upper()],
                       "podIPs": [{"ip": os.environ["IP_" + name.upper()]}]}}
ns = {"apiVersion": "v1", "kind": "Namespace",
      "metadata": {"name": "prod", "uid": "uid-ns", "labels": {"kubernetes.io/metadata.name": "prod"}}}
np = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
      "metadata": {"name": "b-admits-a", "namespace": "prod", "uid": "uid-np"},
      "spec": {"podSelector": {"matchLabels": {"app": "b"}}, "policyTypes": ["Ingress"],
               "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}],
                            "ports": [{"protocol": "TCP", "port": 7000}]}]}}
print(json.dumps({"initial": {"namespaces": [ns], "pods": [pod(n) for n in "abc"],
                              "networkpolicies": [np], "services": []}, "steps": []}))
EOF

# ------------------------------------------------------------ the containers
NAME=podwall-test-$PWC_PREFIX
img_cleanup() {
	pw_podman rm -f -i -t 2 "$NAME" >/dev/null 2>&1
	pw_podman rm -f -i -t 2 "$NAME-init" >/dev/null 2>&1
	pw_cgroup_remove "$(pw_cgroup_parent podwall)" # only what is empty
}
trap 'rc=$?; img_cleanup; (exit $rc); pwe_on_exit' EXIT
RUN=("${PW_PODMAN_RUN[@]}" --network "ns:/run/netns/$NODE_NS")

if pw_podman run --rm --name "$NAME-init" "${RUN[@]}" "${INIT_CAPS[@]}" "${INIT_SEC[@]}" \
	--env CNI_WAIT_SECONDS=5 \
	-v "$W/bin:/host/opt/cni/bin" -v "$W/net.d:/host/etc/cni/net.d" \
	--entrypoint "${INIT_CMD[0]}" "$IMAGE" "${INIT_CMD[@]:1}" >"$W/init.log" 2>&1 &&
   [ -x "$W/bin/podwall-cni" ] && chained; then
	pwe_pass image_install_cni "$(grep -c . "$W/init.log") lines; podwall-cni installed and chained"
else
	pwe_fail image_install_cni "$(tail -n 3 "$W/init.log" | tr '\n' ' ')"
fi
write_conf # the agent must chain it itself

LOG=$PWC_WORK/logs/agent-node1.log
pw_podman run -d --name "$NAME" "${RUN[@]}" "${AGENT_CAPS[@]}" "${AGENT_SEC[@]}" \
	--env KUBERNETES_SERVICE_HOST=127.0.0.1 --env KUBERNETES_SERVICE_PORT=6443 \
	-v /sys/fs/bpf:/sys/fs/bpf:rslave -v "$W/run:/run/podwall" \
	-v "$W/net.d:/host/etc/cni/net.d" -v "$W/sa:/var/run/secrets/kubernetes.io/serviceaccount:ro" \
	--entrypoint "${AGENT_CMD[0]}" "$IMAGE" "${AGENT_CMD[@]:1}" >/dev/null 2>"$W/run.err"
agent_log() { pw_podman logs "$NAME" >"$LOG" 2>&1; cat "$LOG"; }
HZ=http://127.0.0.1:9877
code() { node curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$HZ/$1"; }

if pwc_wait_for 20 sh -c "[ \"\$(nsenter --net=/run/netns/$NODE_NS curl -s -o /dev/null -w '%{http_code}' --max-time 2 $HZ/healthz)\" = 200 ]"; then
	pwe_pass image_agent_runs_with_daemonset_security "healthz 200"
else
	pwe_fail image_agent_runs_with_daemonset_security "$(cat "$W/run.err"; agent_log | tail -n 5 | tr '\n' ' ')"; exit 1
fi
sleep 1
r=$(code readyz)
if [ "$r" = 503 ] && pwe_matches ok "$C $B 7000 tcp" "$A $B 7000 tcp"; then
	pwe_pass image_not_ready_without_api "readyz $r, nothing enforced: $(node curl -s "$HZ/readyz")"
else
	pwe_fail image_not_ready_without_api "readyz $r"
fi

pwc_spawn "$W/replay.log" nsenter --net="/run/netns/$NODE_NS" "$PWC_PY" "$PWE_ROOT/tests/e2e/k8s_replay.py" \
	--scenario "$W/scenario.json" --control "$W/ctl" --log "$W/requests.jsonl" --port 6443 \
	--cert "$W/srv.crt" --key "$W/srv.key" --token "$TOKEN"
API_PID=$PWC_LAST_PID
# each time /readyz says 200, the policy is in force
ready_seen=0 bad=
end=$(( $(pwc_now_ms) + 30000 ))
while [ "$(pwc_now_ms)" -lt "$end" ] && [ $ready_seen -lt 5 ]; do
	if [ "$(code readyz)" = 200 ]; then
		ready_seen=$((ready_seen + 1))
		pwe_matches fail "$C $B 7000 tcp" || bad="c -> b connected while /readyz was 200"
		pwe_matches ok "$A $B 7000 tcp" || bad="a -> b refused while /readyz was 200"
		[ -n "$bad" ] && break
	fi
	sleep 0.05
done
if [ $ready_seen -ge 5 ] && [ -z "$bad" ]; then
	pwe_pass image_ready_means_enforcing "$ready_seen probes at 200, each enforcing"
else
	pwe_fail image_ready_means_enforcing "${bad:-/readyz never 200: $(node curl -s "$HZ/readyz")}"
fi
m=$(node curl -s --max-time 2 http://127.0.0.1:9090/metrics)
grep -q '^podwall_endpoints 3' <<<"$m" && pwe_pass image_metrics "podwall_endpoints 3" ||
	pwe_fail image_metrics "$(grep podwall_endpoints <<<"$m")"

# the primary CNI rewrites its conflist: the agent chains again
chained && pwe_pass image_agent_chains || pwe_fail image_agent_chains "$(cat "$CONF")"
write_conf
pwc_wait_for 3 chained && pwe_pass image_chain_restored || pwe_fail image_chain_restored "$(cat "$CONF")"

# the API server goes away: the watches retry, the agent is no longer ready
# (and still enforces what it had)
pwc_kill "$API_PID"
if pwc_wait_for 15 sh -c "nsenter --net=/run/netns/$NODE_NS curl -s --max-time 2 $HZ/readyz | grep -q 'retrying its watch'" &&
   [ "$(code readyz)" = 503 ] && pwe_matches fail "$C $B 7000 tcp"; then
	pwe_pass image_not_ready_when_watch_fails "$(node curl -s "$HZ/readyz")"
else
	pwe_fail image_not_ready_when_watch_fails "readyz $(code readyz): $(node curl -s "$HZ/readyz")"
fi

# uninstall while the agent runs: refused, nothing changed
out=$(node "$PODWALL" uninstall --node --cni-conf-dir "$W/net.d" --cni-socket "$W/run/cni.sock" 2>&1); rc=$?
if [ $rc = 3 ] && chained && [ -e "$PIN/config" ] && pwe_matches fail "$C $B 7000 tcp"; then
	pwe_pass image_uninstall_refused_while_agent_runs
else
	pwe_fail image_uninstall_refused_while_agent_runs "rc $rc: $out"
fi

# SIGTERM: the container ends, the programs stay
pw_podman stop -t 10 "$NAME" >/dev/null 2>&1
agent_log >/dev/null
if [ "$(pw_podman inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null)" = false ] &&
   pwe_matches fail "$C $B 7000 tcp" && pwe_matches ok "$A $B 7000 tcp"; then
	pwe_pass image_sigterm_keeps_enforcing
else
	pwe_fail image_sigterm_keeps_enforcing "$(tail -n 3 "$LOG" | tr '\n' ' ')"
fi

# ------------------------------------------------------------ uninstall --node
out=$(node "$PODWALL" uninstall --node --cni-conf-dir "$W/net.d" --cni-socket "$W/run/cni.sock" 2>&1); rc=$?
filters=$({ for l in $(node ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
	node tc filter show dev "$l" ingress 2>/dev/null; node tc filter show dev "$l" egress 2>/dev/null
done; node "$PODWALL" hooks --all 2>/dev/null; } | grep -c 'from_pod\|to_pod\|to_remote')
if [ $rc = 0 ] && ! chained && [ "$filters" = 0 ] && [ ! -e "$PIN" ] && [ ! -e "$W/run/cni.sock" ]; then
	pwe_pass image_uninstall_node "$(tr '\n' ' ' <<<"$out")"
else
	pwe_fail image_uninstall_node "rc $rc, chained: $(chained && echo yes), filters $filters, pins: $(ls "$PIN" 2>&1 | xargs); $out"
fi
pwe_expect image_pods_connect_after_uninstall ok "$C $B 7000 tcp" "$A $B 7000 tcp" "$B $A 7000 tcp"
pwe_end
