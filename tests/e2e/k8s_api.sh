#!/usr/bin/env bash
# End to end: `podwall agent --source k8s` against a local HTTPS server that
# replays recorded Kubernetes API responses (tests/e2e/k8s_replay.py), with
# real pods and packets (issue 7).
#
#   node1: prod/a (app=a), prod/b (app=b), prod/c (app=c); each serves tcp/7000
#   the agent: --source k8s --kubeconfig K (server https://127.0.0.1:6443 in
#   the node namespace, CA as certificate-authority-data, a bearer token)
#
# Steps (the replay server releases one at a time; after each, the enforced
# state must follow, checked with real connections):
#   0 lists (pods paged: continue tokens), no policy          a->b open; a terminating
#     pod (app=a) on c's address yields it to c, warned once
#   1 watch ADDED netpol deny-b (ingress of b: nothing)       a->b refused, a->c open
#   2 watch MODIFIED deny-b (from app=a on 7000), and a
#     NetworkPolicy the loader rejects (ICMP)                 a->b open, c->b refused; the
#                                                             bad one is reported, not applied
#   3 BOOKMARK, then the connection is dropped, then
#     DELETED deny-b (and the terminating pod goes)                                         the watch resumes at the
#                                                             bookmark's version: c->b open
#   4 an ADDED deny-all that is never streamed, then an
#     ERROR 410 event                                         relist: a->b, a->c refused
#   5 pods: the connection drops, the next watch gets HTTP
#     410, and pod c's labels (app=a) change unstreamed;
#     netpol ADDED allow-from-a                               relist: c->b open, b->c refused
#   6 pods: DELETED c                                         c->b refused (c's address is
#                                                             no longer a pod's)
#   7 podwall-cni ADD of prod/d (ptp + host-local) starts
#     before its Pod object exists; the object (app=a, no
#     address yet, as at sandbox creation) comes by watch     ADD waits for it and returns
#                                                             enforced by its labels: d->b
#                                                             open, b->d refused
# Finally the agent restarts as in a pod: in-cluster configuration (the
# service account's token and ca.crt, KUBERNETES_SERVICE_HOST/PORT), adopts
# the pins and the CNI registry, and enforces the same. And once more with a
# kubeconfig that names its CA, client certificate and key by relative paths,
# against a server that requires the client certificate.
# Before all that, the agent starts while the API server is down: it retries
# with backoff, enforces nothing from half a view, and syncs once it is up.
#
# Run: bash tests/e2e/k8s_api.sh (root; make). Needs openssl for the certificates.
set -uo pipefail
. "$(dirname "$0")/../lib/e2e.sh"
pwe_begin k8s_api
command -v openssl >/dev/null || { pwe_fail k8s_api "missing tool openssl"; exit 1; }

A=prod/a B=prod/b C=prod/c
pwc_node node1
NODE_NS=$(pwc_node_netns node1)
pwc_namespace prod "team=blue"
pwc_pod node1 prod a "app=a" "echo:7000/TCP"
pwc_pod node1 prod b "app=b" "echo:7000/TCP"
pwc_pod node1 prod c "app=c" "echo:7000/TCP"
for p in $A $B $C; do pwc_serve $p tcp 7000; done

W=$PWC_WORK/k8s
mkdir -p "$W/ctl"
echo 0 >"$W/ctl/phase"
REQLOG=$W/requests.jsonl
TOKEN=podwall-test-$$-$RANDOM

# ------------------------------------------------------------ TLS, kubeconfig
pwe_tls_localhost "$W"
cat >"$W/kubeconfig" <<EOF
apiVersion: v1
kind: Config
current-context: replay
clusters:
- name: other
  cluster: {server: "https://198.18.255.254:1"}
- name: replay-cluster
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: $(base64 -w0 "$W/ca.crt")
users:
- name: agent
  user:
    token: $TOKEN
contexts:
- name: replay
  context: {cluster: replay-cluster, user: agent, namespace: default}
EOF

# ------------------------------------------------------------ the scenario
IP_A=$(pwc_ip $A) IP_B=$(pwc_ip $B) IP_C=$(pwc_ip $C) NODE_IP=198.18.0.1 \
"$PWC_PY" - >"$W/scenario.json" <<'EOF'
import json, os
ip = {n: os.environ["IP_" + n.upper()] for n in "abc"}
def pod(name, labels, ip_, extra=None):
    p = {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": name, "namespace": "prod", "uid": "uid-" + name, "labels": labels,
                      "creationTimestamp": "2024-01-01T00:00:00Z",
                      "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}"},
                      "managedFields": [{"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:metadata": {}}}]},
         "spec": {"nodeName": "node1", "containers": [{"name": "main", "image": "registry.invalid/echo:1",
                  "ports": [{"name": "echo", "containerPort": 7000, "protocol": "TCP"}],
                  "resources": {}, "terminationMessagePath": "/dev/termination-log"}],
                  "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"},
         "status": {"phase": "Running", "hostIP": "198.18.0.1", "podIP": ip_, "podIPs": [{"ip": ip_}],
                    "conditions": [{"type": "Ready", "status": "True"}]}}
    if extra:
        p["spec"].update(extra)
    return p
def terminating(p):
    p["metadata"].update(deletionTimestamp="2024-01-01T00:10:00Z", deletionGracePeriodSeconds=30)
    return p
def np(name, spec):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": "prod", "uid": "uid-np-" + name,
                         "generation": 1, "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": spec}
deny_b = np("deny-b", {"podSelector": {"matchLabels": {"app": "b"}}, "policyTypes": ["Ingress"]})
allow_b = np("deny-b", {"podSelector": {"matchLabels": {"app": "b"}}, "policyTypes": ["Ingress"],
                        "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}],
                                     "ports": [{"protocol": "TCP", "port": 7000}]}]})
bad = np("bad", {"podSelector": {}, "ingress": [{"ports": [{"protocol": "ICMP", "port": 7}]}]})
deny_all = np("deny-all", {"podSelector": {}, "policyTypes": ["Ingress"]})
allow_from_a = np("allow-from-a", {"podSelector": {}, "policyTypes": ["Ingress"],
                                   "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}]}]})
ev = lambda res, t, obj=None, **kw: dict({"resource": res, "type": t}, **({"object": obj} if obj else {}), **kw)
sc = {
  "page_size": {"pods": 2},
  "initial": {
    "namespaces": [{"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": n, "labels": {"kubernetes.io/metadata.name": n, "team": "blue"}},
                    "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
                   for n in ("prod", "kube-system")],
    "pods": [pod("a", {"app": "a"}, ip["a"]), pod("b", {"app": "b"}, ip["b"]), pod("c", {"app": "c"}, ip["c"]),
             pod("hostnet", {"app": "b"}, os.environ["NODE_IP"], {"hostNetwork": True}),
             dict(pod("done", {"app": "a"}, "198.18.1.99"), status={"phase": "Succeeded", "podIP": "198.18.1.99"}),
             terminating(pod("old-c", {"app": "a"}, ip["c"]))],
    "services": [{"apiVersion": "v1", "kind": "Service",
                  "metadata": {"name": "kube-dns", "namespace": "kube-system"},
                  "spec": {"type": "ClusterIP", "clusterIP": "198.19.255.10", "clusterIPs": ["198.19.255.10"],
                           "selector": {"k8s-app": "kube-dns"}, "sessionAffinity": "None",
                           "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53}]}}],
    "networkpolicies": [],
  },
  "steps": [
    {"name": "added", "events": [ev("networkpolicies", "ADDED", deny_b)]},
    {"name": "modified", "events": [ev("networkpolicies", "MODIFIED", allow_b), ev("networkpolicies", "ADDED", bad)]},
    {"name": "bookmark-drop-deleted", "events": [ev("networkpolicies", "BOOKMARK"), ev("networkpolicies", "DROP"),
                                                 ev("networkpolicies", "DELETED", allow_b),
                                                 ev("pods", "DELETED", terminating(pod("old-c", {"app": "a"}, ip["c"])))]},
    {"name": "gone", "events": [ev("networkpolicies", "ADDED", deny_all, silent=True), ev("networkpolicies", "GONE")]},
    {"name": "http410", "events": [ev("pods", "DROP"), ev("pods", "HTTP410"),
                                   ev("pods", "MODIFIED", pod("c", {"app": "a"}, ip["c"]), silent=True),
                                   ev("networkpolicies", "ADDED", allow_from_a)]},
    {"name": "deleted-pod", "events": [ev("pods", "DELETED", pod("c", {"app": "a"}, ip["c"]))]},
    {"name": "cni-pod", "events": [ev("pods", "ADDED", dict(pod("d", {"app": "a"}, None), status={"phase": "Pending"}))]},
  ],
}
print(json.dumps(sc, indent=1))
EOF

# ------------------------------------------------------------ API server down at start
SOCK=$W/run/cni.sock
pwc_agent_start node1 --source k8s --kubeconfig "$W/kubeconfig" --cni-socket "$SOCK" --cni-pod-wait 8000
LOG=$(pwc_agent_log node1)
sleep 2
if pwc_agent_alive node1 && grep -q "retrying" "$LOG" && ! grep -q "applied generation" "$LOG" &&
   pwe_matches ok "$A $B 7000 tcp"; then
	pwe_pass api_down_at_start_retries_and_enforces_nothing
else
	pwe_fail api_down_at_start_retries_and_enforces_nothing "$(tail -n 3 "$LOG" | tr '\n' ' ')"
fi

pwc_spawn "$W/replay.log" nsenter --net="/run/netns/$NODE_NS" "$PWC_PY" "$PWE_ROOT/tests/e2e/k8s_replay.py" \
	--scenario "$W/scenario.json" --control "$W/ctl" --log "$REQLOG" --port 6443 \
	--cert "$W/srv.crt" --key "$W/srv.key" --token "$TOKEN"
_pwc_wait_listen "$NODE_NS" tcp 6443 || { pwe_fail k8s_api "the replay server did not start: $(cat "$W/replay.log")"; exit 1; }

synced() { grep -q "listed .* pods" "$LOG" && grep -q "listed .* networkpolicies" "$LOG" &&
	   grep -q "listed .* namespaces" "$LOG" && grep -q "listed .* services" "$LOG" &&
	   grep -q "applied generation" "$LOG"; }
if pwc_wait_for 20 synced; then
	pwe_pass api_up_later_initial_lists_applied
else
	pwe_fail api_up_later_initial_lists_applied "$(tail -n 5 "$LOG" | tr '\n' ' ')"
fi
# all 6 pods are kept (trimmed); hostNetwork and finished pods take no part:
# the loader sets them apart (pw_pod_role_of); the probes below show it
if grep -q "listed 6 pods" "$LOG" && grep -q '"cont": true' "$REQLOG"; then
	pwe_pass list_pages_with_continue_and_trims_pods
else
	pwe_fail list_pages_with_continue_and_trims_pods "$(grep 'listed' "$LOG" | tr '\n' ' ')"
fi
pwe_expect no_policy_all_open ok "$A $B 7000 tcp" "$C $B 7000 tcp" "$B $C 7000 tcp"
# old-c is terminating (deletionTimestamp, kept by the trim) on c's address:
# c keeps it (step 2 shows c is not app=a), one warning names both
nw=$(grep -c "warning: pod prod/old-c .* is terminating and pod prod/c .* has its address $(pwc_ip $C): prod/c is the endpoint there" "$LOG")
if [ "$nw" = 1 ] && ! grep -q "both have address" "$LOG"; then
	pwe_pass terminating_pod_yields_its_address "$(grep -o 'warning: pod prod/old-c.*' "$LOG" | cut -c1-120)"
else
	pwe_fail terminating_pod_yields_its_address "$nw warnings: $(grep -E 'old-c|address' "$LOG" | head -n 3 | tr '\n' ' ')"
fi

# step S: release it, then wait (10 s) for the states given
step() {
	local n=$1 name=$2; shift 2
	echo "$n" >"$W/ctl/phase"
	if pwe_wait_state 10 "$@"; then
		pwe_pass "$name"
		return 0
	fi
	pwc_probe_all "${@#*:}"
	local s bad=()
	for s in "$@"; do bad+=("[${s#*:}] ${PWC_RES[${s#*:}]} (want ${s%%:*})"); done
	pwe_fail "$name" "${bad[*]}"
	return 1
}

step 1 watch_added_policy_enforced "fail:$A $B 7000 tcp" "ok:$A $C 7000 tcp"
step 2 watch_modified_policy_enforced "ok:$A $B 7000 tcp" "fail:$C $B 7000 tcp"
if grep -q "NetworkPolicy prod/bad rejected: k8s:networkpolicies/prod/bad" "$LOG" &&
   grep -q "it is not applied" "$LOG"; then
	pwe_pass rejected_object_reported_by_name_rest_applied
else
	pwe_fail rejected_object_reported_by_name_rest_applied "no rejection of prod/bad in the log"
fi

step 3 watch_reconnects_after_a_dropped_connection "ok:$C $B 7000 tcp" "ok:$A $B 7000 tcp"
# the watch after the drop resumed at the bookmark's resourceVersion
"$PWC_PY" - "$REQLOG" <<'EOF' && pwe_pass watch_resumes_from_bookmark || pwe_fail watch_resumes_from_bookmark "see $REQLOG"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
bm = [l for l in lines if l.get("sent") == "BOOKMARK" and l["resource"] == "networkpolicies"]
drop = [i for i, l in enumerate(lines) if l.get("sent") == "DROP" and l["resource"] == "networkpolicies"]
assert bm and drop, "no bookmark or drop sent"
nxt = [l for l in lines[drop[0]:] if l.get("req") and l["path"].endswith("/networkpolicies") and l["query"].get("watch")]
assert nxt, "no watch after the drop"
q = nxt[0]["query"]
assert q.get("resourceVersion") == str(bm[0]["rv"]), (q, bm[0])
assert q.get("allowWatchBookmarks") == "true", q
EOF

step 4 gone_410_event_relists "fail:$A $B 7000 tcp" "fail:$A $C 7000 tcp"
if grep -q "watch networkpolicies: resourceVersion .* is too old (410 Gone" "$LOG"; then
	pwe_pass gone_410_event_logged
else
	pwe_fail gone_410_event_logged "no 410 note in the log"
fi

step 5 http_410_relists_unstreamed_label_change "ok:$C $B 7000 tcp" "ok:$A $B 7000 tcp" "fail:$B $C 7000 tcp"
if grep -q "watch pods: resourceVersion .* is too old (HTTP 410" "$LOG" &&
   grep -q "watch pods: connection dropped" "$LOG"; then
	pwe_pass http_410_and_drop_logged
else
	pwe_fail http_410_and_drop_logged "$(grep 'watch pods' "$LOG" | tail -n 3 | tr '\n' ' ')"
fi

step 6 watch_deleted_pod "fail:$C $B 7000 tcp" "ok:$A $B 7000 tcp"

# ------------------------------------------------------------ podwall-cni with the API source
mkdir -p "$W/bin" "$W/ipam" "$W/cache"
ln -s "${PODWALL_CNI:-$PWE_ROOT/podwall-cni}" "$W/bin/podwall-cni"
printf '%s\n' "{\"cniVersion\": \"1.0.0\", \"name\": \"pw-k8s-$$\", \"plugins\": [" \
	"  {\"type\": \"ptp\", \"ipMasq\": false, \"ipam\": {\"type\": \"host-local\"," \
	"   \"ranges\": [[{\"subnet\": \"198.18.64.0/24\"}]], \"routes\": [{\"dst\": \"0.0.0.0/0\"}]," \
	"   \"dataDir\": \"$W/ipam\"}}," \
	"  {\"type\": \"podwall-cni\", \"socket\": \"$SOCK\", \"timeoutSeconds\": 20}]}" >"$W/ptp.conflist"
D_NS=$PWC_PREFIX-c-d
ip netns add "$D_NS" && echo "$D_NS" >>"$PWC_WORK/netns"
ip -n "$D_NS" link set lo up
D_CID=$(printf 'd-%s' "$$" | md5sum | cut -c1-32)
cni_d() {
	timeout -k 2 60 nsenter --net="/run/netns/$NODE_NS" "$PWC_PY" "$PWE_ROOT/tests/e2e/cni_exec.py" "$1" \
		--conflist "$W/ptp.conflist" --netns "/run/netns/$D_NS" --cid "$D_CID" \
		--args "IgnoreUnknown=1;K8S_POD_NAMESPACE=prod;K8S_POD_NAME=d" --cni-path "$W/bin:/usr/lib/cni" \
		--cache "$W/cache" >"$W/d.$1" 2>"$W/d.$1.err"
}
probe_ns() {   # NETNS IP PORT: ok/fail
	if timeout -k 1 5 nsenter --net="/run/netns/$1" "$PWC_PY" -c "$PWC_PY_PROBE" tcp "$2" "$3" 1.5 \
		2>/dev/null; then echo ok; else echo fail; fi
}
trap 'rc=$?; cni_d DEL; (exit $rc); pwe_on_exit' EXIT
T0=$(pwc_now_ms)
cni_d ADD & ADD_PID=$!
sleep 1
echo 7 >"$W/ctl/phase"
wait $ADD_PID; add_rc=$?
ADD_MS=$(( $(pwc_now_ms) - T0 ))
D_IP=198.18.64.254
if [ $add_rc -eq 0 ]; then
	D_IP=$("$PWC_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["ips"][0]["address"].split("/")[0])' "$W/d.ADD")
	pwc_spawn "$PWC_WORK/logs/serve-d.log" nsenter --net="/run/netns/$D_NS" socat TCP-LISTEN:7000,reuseaddr,fork PIPE
	_pwc_wait_listen "$D_NS" tcp 7000
	r_db=$(probe_ns "$D_NS" "$(pwc_ip $B)" 7000)
	r_bd=$(probe_ns "$(pwc_pod_netns $B)" "$D_IP" 7000)
	r_ad=$(probe_ns "$(pwc_pod_netns $A)" "$D_IP" 7000)
	if [ "$ADD_MS" -ge 900 ] && grep -q "ADD prod/d .* enforced in" "$LOG" &&
	   ! grep -q "ADD prod/d .*isolated until" "$LOG" &&
	   [ "$r_db" = ok ] && [ "$r_bd" = fail ] && [ "$r_ad" = ok ]; then
		pwe_pass cni_add_waits_for_the_pod_object_from_the_watch "ADD took ${ADD_MS} ms"
	else
		pwe_fail cni_add_waits_for_the_pod_object_from_the_watch "ADD ${ADD_MS} ms; d->b $r_db (ok), b->d $r_bd (fail), a->d $r_ad (ok); $(grep 'ADD prod/d' "$LOG")"
	fi
else
	pwe_fail cni_add_waits_for_the_pod_object_from_the_watch "ADD failed: $(cat "$W/d.ADD")"
fi

# ------------------------------------------------------------ in-cluster configuration
pwc_agent_stop node1
echo "$TOKEN" >"$W/sa-token"
PIN=$(pwc_pin_dir node1)
pwc_spawn "$LOG" env KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=6443 \
	nsenter --net="/run/netns/$NODE_NS" unshare -m --propagation private sh -c '
	mount -t tmpfs tmpfs /run &&
	mkdir -p /run/secrets/kubernetes.io/serviceaccount &&
	cp "$1" /run/secrets/kubernetes.io/serviceaccount/token &&
	cp "$2" /run/secrets/kubernetes.io/serviceaccount/ca.crt &&
	exec "$3" agent --source k8s --pin-dir "$4" --cni-socket "$5"' _ \
	"$W/sa-token" "$W/ca.crt" "$PODWALL" "$PIN" "$SOCK"
IC_PID=$PWC_LAST_PID
echo "$IC_PID" >"$PWC_WORK/agents/node1.pid"   # pwc_cleanup stops it before uninstall
incluster_synced() { grep -q "in-cluster service account" "$LOG" && [ "$(grep -c 'listed .* pods' "$LOG")" -ge 3 ]; }
if pwc_wait_for 20 incluster_synced && pwc_wait_for 10 cni_d CHECK &&
   [ "$(probe_ns "$D_NS" "$(pwc_ip $B)" 7000)" = ok ] &&
   [ "$(probe_ns "$(pwc_pod_netns $B)" "$D_IP" 7000)" = fail ] &&
   pwe_matches ok "$A $B 7000 tcp"; then
	pwe_pass in_cluster_config_restart_adopts_and_enforces
else
	pwe_fail in_cluster_config_restart_adopts_and_enforces "$(tail -n 4 "$LOG" | tr '\n' ' ')"
fi
cni_d DEL

# every request carried the token and asked only for the six resources
"$PWC_PY" - "$REQLOG" <<'EOF' && pwe_pass requests_authenticated_and_read_only || pwe_fail requests_authenticated_and_read_only "see $REQLOG"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if '"req"' in l]
assert reqs
paths = {"/api/v1/namespaces", "/api/v1/pods", "/api/v1/services", "/apis/networking.k8s.io/v1/networkpolicies",
         "/api/v1/nodes", "/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies"}
for r in reqs:
    assert r["req"] == "GET" and r["auth"] and r["path"] in paths, r
EOF

if kill -0 "$IC_PID" 2>/dev/null; then pwe_pass agent_still_running; else pwe_fail agent_still_running "the agent exited"; fi
pwc_kill "$IC_PID"

# ------------------------------------------------------------ kubeconfig with files and a client certificate
# a second server that wants a client certificate signed by the CA (and no token);
# the kubeconfig names the CA, certificate and key by paths relative to itself
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=system:node:node1 \
	-keyout "$W/client.key" -out "$W/client.csr" 2>/dev/null
openssl x509 -req -in "$W/client.csr" -CA "$W/ca.crt" -CAkey "$W/ca.key" -CAcreateserial -days 1 \
	-out "$W/client.crt" 2>/dev/null
mkdir -p "$W/kc2"
cp "$W/ca.crt" "$W/client.crt" "$W/client.key" "$W/kc2/"
cat >"$W/kc2/config" <<EOF
apiVersion: v1
kind: Config
current-context: certs
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6444", certificate-authority: ca.crt}}]
users: [{name: node, user: {client-certificate: client.crt, client-key: client.key}}]
contexts: [{name: certs, context: {cluster: c, user: node}}]
EOF
pwc_spawn "$W/replay2.log" nsenter --net="/run/netns/$NODE_NS" "$PWC_PY" "$PWE_ROOT/tests/e2e/k8s_replay.py" \
	--scenario "$W/scenario.json" --control "$W/ctl" --log "$W/requests2.jsonl" --port 6444 \
	--cert "$W/srv.crt" --key "$W/srv.key" --client-ca "$W/ca.crt"
_pwc_wait_listen "$NODE_NS" tcp 6444
LOG2=$PWC_WORK/logs/agent-certs.log
pwc_spawn "$LOG2" nsenter --net="/run/netns/$NODE_NS" "$PODWALL" agent --source k8s \
	--kubeconfig "$W/kc2/config" --pin-dir "$PIN"
CERT_PID=$PWC_LAST_PID
echo "$CERT_PID" >"$PWC_WORK/agents/node1.pid"
certs_synced() { [ "$(grep -c 'listed' "$LOG2")" -ge 4 ]; }
if pwc_wait_for 20 certs_synced && pwe_matches ok "$A $B 7000 tcp"; then
	pwe_pass kubeconfig_client_certificate_and_ca_files
else
	pwe_fail kubeconfig_client_certificate_and_ca_files "$(tail -n 3 "$LOG2" | tr '\n' ' ')"
fi
pwc_kill "$CERT_PID"
pwe_end
