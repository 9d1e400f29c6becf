#!/usr/bin/env bash
# ClusterNetworkPolicy from the Kubernetes API source (issue 17): a cluster
# without the CRD (the stand-in API server answers 404 for
# clusternetworkpolicies) keeps working: the agent warns once, applies the
# NetworkPolicy objects, and does not retry in a loop; with the CRD served,
# a ClusterNetworkPolicy from the API is listed and applied.
#
# Run: bash tests/e2e/cnp_crd.sh (root; make).
set -uo pipefail
. "$(dirname "$0")/../lib/e2e.sh"
pwe_begin cnp_crd
pwc_node node1
NODE_NS=$(pwc_node_netns node1)
W=$PWC_WORK/cnp
pwe_replay_kubeconfig "$W" cnp-test
"$PWC_PY" - >"$W/scenario.json" <<'PY'
import json
ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "labels": {"team": "x"}}}
np = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
      "metadata": {"name": "deny", "namespace": "x"}, "spec": {"podSelector": {}}}
cnp = {"apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
       "metadata": {"name": "guard"},
       "spec": {"tier": "Baseline", "priority": 1, "subject": {"namespaces": {}},
                "egress": [{"name": "deny-all", "action": "Deny", "to": [{"networks": ["0.0.0.0/0"]}]}]}}
node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "labels": {"role": "infra"}},
        "status": {"addresses": [{"type": "InternalIP", "address": "198.18.250.1"}]}}
print(json.dumps({"initial": {"namespaces": [ns], "networkpolicies": [np],
                              "clusternetworkpolicies": [cnp], "nodes": [node]}, "steps": []}))
PY

run_agent() {   # label, replay args...
	local label=$1; shift
	pwe_replay_start "$NODE_NS" "$W" "$label" cnp-test "$@" ||
		{ pwe_fail cnp_crd "the replay server did not start"; exit 1; }
	REPLAY=$PWE_REPLAY_PID
	pwc_agent_start node1 --source k8s --kubeconfig "$W/kubeconfig"
	LOG=$(pwc_agent_log node1)
}
stop_all() {
	pwc_agent_stop node1
	pwc_kill "$REPLAY"
	sleep 0.3
}
applied() { grep -q "podwall: applied generation" "$LOG"; }

# 1. no CRD: one warning, NetworkPolicy applied
run_agent nocrd --missing clusternetworkpolicies
if pwc_wait_for 15 applied; then
	sleep 2
	n=$(grep -c "clusternetworkpolicies.policy.networking.k8s.io is not served" "$LOG")
	lists=$(grep -c '"path": "/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies"' \
		"$W/requests-nocrd.jsonl")
	if [ "$n" -eq 1 ] && [ "$lists" -eq 1 ] && grep -q "listed 1 networkpolicies" "$LOG"; then
		pwe_pass without_crd_one_warning_netpol_applied "$n warning, $lists list of the CRD in 2 s"
	else
		pwe_fail without_crd_one_warning_netpol_applied "$n warnings, $lists lists: $(tail -n 3 "$LOG" | tr '\n' ' ')"
	fi
else
	pwe_fail without_crd_one_warning_netpol_applied "nothing applied: $(tail -n 3 "$LOG" | tr '\n' ' ')"
fi
stop_all

# 2. with the CRD: the ClusterNetworkPolicy and the Node are listed and applied
# (the agent's log goes on in the same file: only this run's lines count)
start=$(wc -l <"$LOG")
run_agent withcrd
since() { tail -n +"$((start + 1))" "$LOG"; }
applied() { since | grep -q "podwall: applied generation"; }
if pwc_wait_for 15 applied && since | grep -q "listed 1 clusternetworkpolicies" &&
   since | grep -q "listed 1 nodes" && ! since | grep -q "is not served"; then
	pwe_pass with_crd_listed_and_applied
else
	pwe_fail with_crd_listed_and_applied "$(since | grep 'k8s' | tail -n 4 | tr '\n' ' ')"
fi
stop_all
pwe_end
