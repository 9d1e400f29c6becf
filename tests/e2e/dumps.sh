#!/usr/bin/env bash
# End to end: real cluster dumps mean what the API server means (issue 16).
#
#   node1: production/a (app=a), production/b (app=b, serves tcp/7000),
#          production/c (app=c)
#   policy: b accepts tcp/7000 from app=a only (ingress isolation only, so
#           what b's to_pod sees of the source's identity decides)
#
# The agent's directory source also holds, as a `kubectl get -o yaml` dump
# would: a finished Job pod (app=a, status.phase Succeeded) whose address is
# c's now, and a hostNetwork pod (app=a) at the node's address. Neither is
# an endpoint: c -> b stays denied (the finished pod's labels do not follow
# its old address), a -> b allowed, the node reaches b as the node, and the
# agent counts 3 endpoints. A terminating pod (deletionTimestamp) on c's
# address yields it to c, with one warning naming both. Then bad input,
# each refused by name with the
# policy in force kept: two live pods on one address, an unknown field in a
# NetworkPolicy (strict, as kubectl --validate=strict), one NetworkPolicy
# defined in two files.
#
# Without a cluster: the lint examples of tests/lint give exactly their
# expected findings; every command answers --help on stdout with exit 0 and
# lists every option of its usage line; --version names the BPF ABI.
#
# Run: bash tests/e2e/dumps.sh (root; ./podwall built).
set -uo pipefail
. "$(dirname "$0")/../lib/e2e.sh"
pwe_begin dumps

# ------------------------------------------------------------ no cluster
for d in tests/lint/*/; do
	name=$(basename "$d")
	got=$("$PODWALL" lint -f "$d" -o json 2>/dev/null | "$PWC_PY" -c '
import json, os, sys
d = sys.argv[1]
for f in json.load(sys.stdin):
    print("%s:%d: %s" % (os.path.relpath(f["file"], d), f["line"], f["rule"]))' "$d")
	if [ "$got" = "$(cat "$d/expected.txt")" ]; then
		pwe_pass "lint_example_$name" "$(wc -l <"$d/expected.txt") findings"
	else
		pwe_fail "lint_example_$name" "got [$(tr '\n' '|' <<<"$got")], want [$(tr '\n' '|' <"$d/expected.txt")]"
	fi
done

# lint's summary counts both kinds of policy, each by its name, as the input has them
bad=()
for d in tests/lint/*/; do
	want=$("$PWC_PY" -c '
import glob, os, sys, yaml
n = {"NetworkPolicy": 0, "ClusterNetworkPolicy": 0}
for f in sorted(glob.glob(os.path.join(sys.argv[1], "**", "*.y*ml"), recursive=True)):
    for doc in yaml.safe_load_all(open(f)):
        for o in (doc or {}).get("items", [doc]) if doc else []:
            if o.get("kind") in n:
                n[o["kind"]] += 1
p = lambda k, one, many: "%d %s" % (n[k], one if n[k] == 1 else many)
print(p("NetworkPolicy", "NetworkPolicy", "NetworkPolicies") + ", " +
      p("ClusterNetworkPolicy", "ClusterNetworkPolicy", "ClusterNetworkPolicies") + ")")' "$d")
	got=$("$PODWALL" lint -f "$d" 2>&1 >/dev/null | tail -n 1)
	[[ "$got" == *", $want" ]] || bad+=("$d: got '$got', want '... $want'")
done
if [ ${#bad[@]} -eq 0 ]; then pwe_pass lint_summary_counts_both_policy_kinds; else
	pwe_fail lint_summary_counts_both_policy_kinds "${bad[*]}"; fi

bad=()
for cmd in matrix agent apply uninstall monitor status lint explain bench; do
	for h in --help -h; do
		out=$("$PODWALL" "$cmd" "$h" 2>/dev/null); rc=$?
		usage=$(sed -n '1s/^usage: //p' <<<"$out")
		[ "$rc" = 0 ] && [ -n "$usage" ] || { bad+=("$cmd $h: rc $rc"); continue; }
		# every option of the usage line is in the option list
		for o in $(grep -oE -- '--[a-z][a-z-]*' <<<"$usage" | sort -u); do
			grep -qE -- "^  (-[a-z], )? *$o( |$)" <<<"$out" || bad+=("$cmd: $o not listed")
		done
	done
done
if [ ${#bad[@]} -eq 0 ]; then pwe_pass help_every_command; else pwe_fail help_every_command "${bad[*]}"; fi
out=$("$PODWALL" agent --help)
if grep -q -- "--metrics" <<<"$out" && grep -q -- "--cni-pod-wait" <<<"$out"; then
	pwe_pass help_agent_lists_every_option
else
	pwe_fail help_agent_lists_every_option "$out"
fi
out=$("$PODWALL" --version); rc=$?
abi=$(sed -n 's/^#define PW_ABI_VERSION \([0-9]*\).*/\1/p' include/podwall/abi.h)
if [ "$rc" = 0 ] && grep -qE "^podwall [0-9.]+ \(BPF ABI $abi\)$" <<<"$out"; then
	pwe_pass version "$out"
else
	pwe_fail version "rc $rc: $out"
fi
out=$("$PODWALL" matrix --bogus 2>&1); rc=$?
out2=$("$PODWALL" lint -f /nonexistent 2>&1); rc2=$?
if [ "$rc" = 2 ] && [ "$rc2" = 2 ]; then pwe_pass usage_and_bad_input_exit_2; else
	pwe_fail usage_and_bad_input_exit_2 "matrix --bogus: $rc, lint -f /nonexistent: $rc2"; fi

# the same situation, the same exit code: nothing pinned is 1 in every command
# that reads the pins; no such pod is 2
NOPIN=$PWC_PIN_BASE/$PWC_PREFIX-nothing-here
codes=()
"$PODWALL" status --pin-dir "$NOPIN" >/dev/null 2>&1; codes+=("status=$?")
"$PODWALL" monitor --pin-dir "$NOPIN" --count 1 >/dev/null 2>&1; codes+=("monitor=$?")
"$PODWALL" explain --pin-dir "$NOPIN" --from 198.18.9.1 --to 198.18.9.2 --port 80 >/dev/null 2>&1
codes+=("explain=$?")
printf 'kind: Pod\nmetadata: {name: p, namespace: x}\nstatus: {podIP: 198.18.9.1}\n' >"$PWC_WORK/one.yaml"
"$PODWALL" explain -f "$PWC_WORK/one.yaml" --from x/nope --to x/p --port 80 >/dev/null 2>&1
codes+=("explain_no_pod=$?")
"$PODWALL" matrix -f "$PWC_WORK/one.yaml" --from x/nope >/dev/null 2>&1; codes+=("matrix_no_pod=$?")
if [ "${codes[*]}" = "status=1 monitor=1 explain=1 explain_no_pod=2 matrix_no_pod=2" ]; then
	pwe_pass exit_codes_same_situation "${codes[*]}"
else
	pwe_fail exit_codes_same_situation "${codes[*]}"
fi

# a Service's named targetPort, per backend pod as kube-proxy resolves it:
# explain --to CLUSTERIP and matrix --external-ips CLUSTERIP judge the port
# after DNAT (a-web's http is 8080, b-web's 9090) on every backend: explain
# judges a-web and lists each backend's verdict, matrix marks the cell
# "mixed" when the backends differ, and the two agree backend by backend
SVC=$PWC_WORK/svc
mkdir -p "$SVC"
cat >"$SVC/objs.yaml" <<'YAML'
kind: Pod
metadata: {name: client, namespace: x, labels: {app: client}}
status: {podIP: 198.18.200.1}
---
kind: Pod
metadata: {name: a-web, namespace: x, labels: {app: web}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
status: {podIP: 198.18.200.2}
---
kind: Pod
metadata: {name: b-web, namespace: x, labels: {app: web}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 9090}]}]}
status: {podIP: 198.18.200.3}
---
kind: Service
metadata: {name: web, namespace: x}
spec: {clusterIP: 198.19.0.10, selector: {app: web}, ports: [{port: 80, targetPort: http}]}
YAML
web_policy() {   # PORT: web admits the client on PORT only
	cat >"$SVC/pol.yaml" <<-YAML
	kind: NetworkPolicy
	apiVersion: networking.k8s.io/v1
	metadata: {name: web, namespace: x}
	spec:
	  podSelector: {matchLabels: {app: web}}
	  ingress:
	  - from: [{podSelector: {matchLabels: {app: client}}}]
	    ports: [{port: $1}]
	YAML
}
res=()
for allow in 8080 9090 80; do
	web_policy $allow
	"$PODWALL" explain -f "$SVC/objs.yaml" -f "$SVC/pol.yaml" --from x/client --to 198.19.0.10 \
		--port 80 -o json >"$SVC/explain.json" 2>/dev/null
	x=$?
	"$PODWALL" matrix -f "$SVC/objs.yaml" -f "$SVC/pol.yaml" --external-ips 198.19.0.10 \
		--ports 80 --from x/client --to 198.19.0.10 -o json >"$SVC/matrix.json" 2>/dev/null
	# every backend's verdict, as explain and matrix each say it
	m=$("$PWC_PY" -c '
import json, sys
e = json.load(open(sys.argv[1]))["service"]
m = json.load(open(sys.argv[2]))[0]
eb = " ".join("%s:%d=%s" % (b["backend"], b["port"], b["verdict"]) for b in e["backends"])
mb = " ".join("%s:%d=%s" % (b["backend"], b["port"], b["verdict"]) for b in m.get("backends", []))
same = eb == mb if m["verdict"] == "mixed" else all(b["verdict"] == m["verdict"] for b in e["backends"])
print("%s,agree=%s,[%s]%s" % (m["verdict"], e["backends_agree"], eb, "" if same else ",MATRIX:[%s]" % mb))
' "$SVC/explain.json" "$SVC/matrix.json")
	res+=("$allow:explain=$x,matrix=$m")
done
want="8080:explain=0,matrix=mixed,agree=False,[x/a-web:8080=allow x/b-web:9090=deny]"
want+=" 9090:explain=1,matrix=mixed,agree=False,[x/a-web:8080=deny x/b-web:9090=allow]"
want+=" 80:explain=1,matrix=deny,agree=True,[x/a-web:8080=deny x/b-web:9090=deny]"
if [ "${res[*]}" = "$want" ]; then
	pwe_pass service_named_target_port_after_dnat "${res[*]}"
else
	pwe_fail service_named_target_port_after_dnat "${res[*]}"
fi
# the text says it too: explain lists each backend, matrix marks the cell and names them
web_policy 8080
xt=$("$PODWALL" explain -f "$SVC/objs.yaml" -f "$SVC/pol.yaml" --from x/client --to 198.19.0.10 --port 80 2>&1)
mt=$("$PODWALL" matrix -f "$SVC/objs.yaml" -f "$SVC/pol.yaml" --external-ips 198.19.0.10 --ports 80 2>&1)
if grep -q "their verdicts DIFFER: x/a-web:8080 ALLOW (judged above), x/b-web:9090 DENY" <<<"$xt" &&
   grep -qE "^x/client +X +X +\. +~$" <<<"$mt" &&
   grep -q "^~ x/client -> 198.19.0.10: the Service's backends differ: x/a-web:8080 allow, x/b-web:9090 deny$" <<<"$mt"; then
	pwe_pass service_backends_differ_said "$(grep DIFFER <<<"$xt" | cut -c1-100)"
else
	pwe_fail service_backends_differ_said "$(tail -n 3 <<<"$xt" | tr '\n' ' ') | $(tr '\n' ' ' <<<"$mt")"
fi

# ------------------------------------------------------------ the agent
A=production/a B=production/b C=production/c
pwc_node node1
pwc_namespace production
pwc_pod node1 production a "app=a"
pwc_pod node1 production b "app=b" "echo:7000/TCP"
pwc_pod node1 production c "app=c"
pwc_serve $B tcp 7000
IP_C=$(pwc_ip $C) GW=$(_pwc_node_get node1 NODE_GW) NODE_NS=$(pwc_node_netns node1)

pwc_write np-b.yaml <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-from-a, namespace: production}
spec:
  podSelector: {matchLabels: {app: b}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: a}}}]
    ports: [{protocol: TCP, port: 7000}]
EOF
# as a dump has them; "aa-" sorts first: no first-wins may give it c's address
pwc_write zz-dump.yaml <<EOF
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: aa-job-28391, namespace: production, labels: {app: a}}
  spec: {nodeName: node1, restartPolicy: Never, containers: [{name: job, image: i}]}
  status: {phase: Succeeded, podIP: $IP_C, podIPs: [{ip: $IP_C}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: aa-node-exporter, namespace: production, labels: {app: a}}
  spec: {nodeName: node1, hostNetwork: true, containers: [{name: e, image: i}]}
  status: {phase: Running, podIP: $GW, podIPs: [{ip: $GW}]}
EOF
pwc_agent_start node1
LOG=$(pwc_agent_log node1)
if pwe_wait_state "$PWE_START_S" "ok:$A $B 7000 tcp" "fail:$C $B 7000 tcp"; then
	pwe_pass finished_pod_labels_do_not_follow_its_address
else
	pwe_fail finished_pod_labels_do_not_follow_its_address "$(tail -n 3 "$LOG" | tr '\n' ' ')"
fi
if grep -q "applied generation .*(3 endpoints" "$LOG" && ! grep -q "error\|duplicate" "$LOG"; then
	pwe_pass finished_and_host_network_are_no_endpoints "$(grep -o '([0-9]* endpoints' "$LOG" | tail -n 1))"
else
	pwe_fail finished_and_host_network_are_no_endpoints "$(tail -n 3 "$LOG" | tr '\n' ' ')"
fi
# the node's own traffic is node traffic (allowed into pods, as kubelet probes)
if timeout 5 nsenter --net="/run/netns/$NODE_NS" "$PWC_PY" -c "$PWC_PY_PROBE" tcp "$(pwc_ip $B)" 7000 1.5 2>/dev/null; then
	pwe_pass host_network_traffic_is_node_traffic
else
	pwe_fail host_network_traffic_is_node_traffic "the node could not reach $B on 7000"
fi

# a terminating pod (deletionTimestamp) whose address the live pod c has now,
# as a real cluster shows for seconds after the address is given again: c
# keeps it (the old pod's app=a does not follow the address), one warning
# names both, nothing is refused
n0=$(grep -c "" "$LOG")
pwc_write zz-terminating.yaml <<EOF
apiVersion: v1
kind: Pod
metadata: {name: aa-old, namespace: production, labels: {app: a},
  deletionTimestamp: "2026-12-07T08:00:00Z"}
spec: {nodeName: node1, containers: [{name: old, image: i}]}
status: {phase: Running, podIP: $IP_C, podIPs: [{ip: $IP_C}]}
EOF
want="warning: pod production/aa-old \(.*zz-terminating.yaml:1\) is terminating and pod production/c \(.*\) has its address $IP_C: production/c is the endpoint there"
if pwc_wait_for 5 eval "tail -n +$((n0 + 1)) \"\$LOG\" | grep -qE \"\$want\"" &&
   pwe_matches fail "$C $B 7000 tcp" && pwe_matches ok "$A $B 7000 tcp" &&
   ! tail -n +$((n0 + 1)) "$LOG" | grep -q "both have address\|nothing applied"; then
	pwe_pass terminating_pod_yields_its_address "$(tail -n +$((n0 + 1)) "$LOG" | grep -o 'warning: pod production/aa-old.*is the endpoint there' | head -n 1)"
else
	pwe_fail terminating_pod_yields_its_address "$(tail -n +$((n0 + 1)) "$LOG" | head -n 4 | tr '\n' ' ')"
fi
# said when the pod starts to yield, not again on each load while it lasts
n1=$(grep -c "" "$LOG")
pwc_write zz-touch.yaml <<EOF
apiVersion: v1
kind: Pod
metadata: {name: zz-elsewhere, namespace: production}
status: {phase: Running, podIP: 198.18.250.77}
EOF
pwc_wait_for 5 eval "tail -n +$((n1 + 1)) \"\$LOG\" | grep -q 'applied generation'"
nw=$(tail -n +$((n0 + 1)) "$LOG" | grep -c "warning: pod production/aa-old")
if [ "$nw" = 1 ]; then pwe_pass terminating_warning_once; else
	pwe_fail terminating_warning_once "$nw warnings: $(tail -n +$((n0 + 1)) "$LOG" | tr '\n' ' ' | cut -c1-400)"; fi
pwc_rm zz-touch.yaml
pwc_rm zz-terminating.yaml

# live explain: the named targetPort resolved per backend from the state file
# (b's container port "echo" is 7000; the Service port is 80)
pwc_write svc-b.yaml <<EOF
apiVersion: v1
kind: Service
metadata: {name: svc-b, namespace: production}
spec: {clusterIP: 198.19.0.20, selector: {app: b}, ports: [{port: 80, targetPort: echo}]}
EOF
PIN=$(pwc_pin_dir node1)
xa=1 xc=0
for _ in $(seq 50); do
	out=$(timeout 30 nsenter --net="/run/netns/$NODE_NS" "$PODWALL" explain --pin-dir "$PIN" \
		--from $A --to 198.19.0.20 --port 80 -o json 2>&1); xa=$?
	grep -q '"backend": "production/b"' <<<"$out" && break
	sleep 0.2
done
timeout 30 nsenter --net="/run/netns/$NODE_NS" "$PODWALL" explain --pin-dir "$PIN" \
	--from $C --to 198.19.0.20 --port 80 >/dev/null 2>&1; xc=$?
if [ "$xa" = 0 ] && [ "$xc" = 1 ] && grep -q '"port": 7000' <<<"$out"; then
	pwe_pass live_explain_named_target_port "a: exit $xa, c: exit $xc, after DNAT to production/b:7000"
else
	pwe_fail live_explain_named_target_port "a: exit $xa, c: exit $xc: $(tr '\n' ' ' <<<"$out" | cut -c1-300)"
fi
pwc_rm svc-b.yaml

# bad input: refused by name, the policy in force stays
bad_input() {   # NAME FILE WANT_REGEX (stdin: the manifest)
	local name=$1 file=$2 want=$3 n0
	n0=$(grep -c "" "$LOG")
	pwc_write "$file"
	if pwc_wait_for 5 eval "tail -n +$((n0 + 1)) \"\$LOG\" | grep -qE \"\$want\"" &&
	   pwe_matches ok "$A $B 7000 tcp" && pwe_matches fail "$C $B 7000 tcp"; then
		pwe_pass "$name" "$(tail -n +$((n0 + 1)) "$LOG" | grep -E "$want" | head -n 1)"
	else
		pwe_fail "$name" "$(tail -n +$((n0 + 1)) "$LOG" | head -n 3 | tr '\n' ' ')"
	fi
	pwc_rm "$file"
}
bad_input two_live_pods_one_address_refused zz-bad.yaml \
	"pods production/(c|zz-twin) and production/(c|zz-twin) .* both have address $IP_C" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: zz-twin, namespace: production, labels: {app: a}}
status: {phase: Running, podIP: $IP_C}
EOF
bad_input strict_unknown_field_refused zz-bad.yaml \
	'zz-bad.yaml:8: spec.ingres: unknown field "ingres" \(did you mean "ingress"\?\)' <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: typo, namespace: production}
spec:
  podSelector: {matchLabels: {app: b}}
  policyTypes: [Ingress]
  # a typo must not open b to everyone
  ingres:
  - {}
EOF
bad_input duplicate_policy_names_both_places zz-bad.yaml \
	'zz-bad.yaml:1: duplicate networkpolicy production/b-from-a \(also defined at .*np-b.yaml:1\)' <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-from-a, namespace: production}
spec: {podSelector: {}}
EOF
pwe_expect good_again ok "$A $B 7000 tcp"
pwe_end
