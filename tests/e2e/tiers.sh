#!/usr/bin/env bash
# End to end, real packets: ClusterNetworkPolicy tiers (issue 17) through
# `podwall agent --source DIR`.
#
#   node1: prod/a  prod/b (tcp 7000, 7001; udp 7002)  dev/c (tcp 7000)
#
#   1. Baseline: prod accepts prod on tcp/7000, then denies everything in:
#      a -> b 7000 ok; a -> b 7001, udp 7002 and c -> b 7000 dropped.
#   2. + a NetworkPolicy in prod admitting dev on 7000: NetworkPolicy decides
#      before Baseline (c -> b ok, a -> b 7000 dropped: not in the policy).
#   3. + an Admin Deny of dev on 7000 (and of prod's egress to dev): Admin
#      decides before NetworkPolicy; an established c -> b connection stops
#      at its next packet (revocation); a -> c dropped at a's egress.
#   4. the Admin Deny becomes a Pass: NetworkPolicy decides again.
#
# Run: bash tests/e2e/tiers.sh (root; ./podwall built).
set -uo pipefail
. "$(dirname "$0")/../lib/e2e.sh"
pwe_begin tiers

A=prod/a B=prod/b C=dev/c
pwc_node node1
pwc_namespace prod "team=prod"
pwc_namespace dev "team=dev"
pwc_namespace kube-system "team=sys"
pwc_pod node1 prod a "app=a"
pwc_pod node1 prod b "app=b"
pwc_pod node1 dev c "app=c"
pwc_pod node1 kube-system coredns "k8s-app=kube-dns"
pwc_serve $B tcp 7000
pwc_serve $B tcp 7001
pwc_serve $B udp 7002
pwc_serve $C tcp 7000

cnp() {   # NAME TIER PRIORITY NS_TEAM DIRECTION RULES...
	local name=$1 tier=$2 prio=$3 team=$4 dir=$5 r; shift 5
	printf 'apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\n'
	printf 'metadata: {name: %s}\nspec:\n  tier: %s\n  priority: %s\n' "$name" "$tier" "$prio"
	printf '  subject: {namespaces: {matchLabels: {team: %s}}}\n  %s:\n' "$team" "$dir"
	for r in "$@"; do printf '  - %s\n' "$r"; done
}

cnp baseline-prod Baseline 10 prod ingress \
	"{name: prod-web, action: Accept, from: [{namespaces: {matchLabels: {team: prod}}}], protocols: [{tcp: {destinationPort: {number: 7000}}}]}" \
	"{name: default-deny, action: Deny, from: [{namespaces: {}}]}" | pwc_write cnp-baseline.yaml
MPORT=9091
pwc_agent_start node1 --metrics "$MPORT"
if pwe_wait_state "$PWE_START_S" "ok:$A $B 7000 tcp" "fail:$C $B 7000 tcp"; then
	pwe_pass baseline_enforced
else
	pwe_fail baseline_enforced "not within ${PWE_START_S}s: $(tail -n 3 "$(pwc_agent_log node1)" | tr '\n' ' ')"
fi
pwe_expect baseline_accept_first ok "$A $B 7000 tcp" "$B $C 7000 tcp"
pwe_expect baseline_deny_rest fail "$A $B 7001 tcp" "$A $B 7002 udp" "$C $B 7000 tcp"

# 2. NetworkPolicy decides before Baseline
pwc_write np-prod.yaml <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-from-dev, namespace: prod}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: dev}}}]
    ports: [{port: 7000}]
EOF
if pwe_wait_state 5 "ok:$C $B 7000 tcp" "fail:$A $B 7000 tcp"; then
	pwe_pass netpol_before_baseline
else
	pwe_fail netpol_before_baseline "c -> b 7000 ${PWC_RES["$C $B 7000 tcp"]:-?}, a -> b 7000 ${PWC_RES["$A $B 7000 tcp"]:-?}"
fi

# 3. Admin decides before NetworkPolicy; an established flow is revoked
pwc_stream_start $C $B 7000
STREAM=$PWC_STREAM_OUT
sleep 1
before=$(pwc_stream_bytes "$STREAM")
pwe_monitor_start node1 30
{ cnp admin-dev Admin 5 prod ingress \
	"{name: deny-dev, action: Deny, from: [{namespaces: {matchLabels: {team: dev}}}]}"
  echo ---
  cnp admin-egress Admin 6 prod egress \
	"{name: deny-to-dev, action: Deny, to: [{namespaces: {matchLabels: {team: dev}}}]}" \
	"{name: deny-dns, action: Deny, to: [{namespaces: {matchLabels: {team: sys}}}]}"; } |
	pwc_write cnp-admin.yaml
if pwe_wait_state 5 "fail:$C $B 7000 tcp" "fail:$A $C 7000 tcp"; then
	pwe_pass admin_before_netpol
else
	pwe_fail admin_before_netpol "c -> b 7000 ${PWC_RES["$C $B 7000 tcp"]:-?}, a -> c ${PWC_RES["$A $C 7000 tcp"]:-?}"
fi
sleep 1
mid=$(pwc_stream_bytes "$STREAM")
sleep 1.5
after=$(pwc_stream_bytes "$STREAM")
if [ "$mid" -gt "$before" ] || [ "$before" -gt 0 ]; then
	if [ "$after" -eq "$mid" ]; then
		pwe_pass admin_deny_revokes_established "$before bytes before, none after the Deny"
	else
		pwe_fail admin_deny_revokes_established "still flowing: $mid -> $after bytes"
	fi
else
	pwe_fail admin_deny_revokes_established "the stream never flowed ($before bytes)"
fi

# status's DNS column judges the compiled tiers, not NetworkPolicy isolation alone:
# prod's egress to kube-system is an Admin Deny, dev's is open
ST=$(nsenter --net="/run/netns/$(pwc_node_netns node1)" "$PWE_ROOT/podwall" status \
	--pin-dir "$(pwc_pin_dir node1)" 2>&1)
dns_a=$(awk '$1 == "prod/a" {print $8}' <<<"$ST")
dns_c=$(awk '$1 == "dev/c" {print $8}' <<<"$ST")
if [ "$dns_a" = DENIED ] && [ "$dns_c" = open ]; then
	pwe_pass status_dns_by_tier "prod/a $dns_a, dev/c $dns_c"
else
	pwe_fail status_dns_by_tier "prod/a '$dns_a', dev/c '$dns_c'"
fi

# the INGRESS/EGRESS columns say what decides: prod/a's egress only tier rules
# (admin-egress), its ingress only Baseline; b's ingress a NetworkPolicy; c nothing
cols=$(awk '$1 == "prod/a" || $1 == "prod/b" || $1 == "dev/c" {printf "%s %s/%s ", $1, $5, $6}' <<<"$ST")
if [ "$cols" = "dev/c open/open prod/a tiers/tiers prod/b isolated/tiers " ]; then
	pwe_pass status_columns_say_tiers "$cols"
else
	pwe_fail status_columns_say_tiers "$cols"
fi

# monitor -o json names the deciding rule field by field
pwc_kill "$PWE_MON_PID"
if ev=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except ValueError: continue
    r = e.get("rule") or {}
    if (e.get("verdict") == "drop" and r.get("tier") == "admin" and r.get("cluster_policy") == "admin-dev"
            and r.get("priority") == 5 and r.get("rule_name") == "deny-dev" and r.get("action") == "Deny"):
        print(json.dumps(r)); sys.exit(0)
sys.exit(1)' "$PWE_MON_OUT" 2>&1); then
	pwe_pass monitor_json_names_tier_rule "$ev"
else
	pwe_fail monitor_json_names_tier_rule "$(grep -m2 drop "$PWE_MON_OUT" | grep -o '"rule":{[^}]*}' | tr '\n' ' ')"
fi

# 4. Pass hands the decision back to NetworkPolicy
cnp admin-dev Admin 5 prod ingress \
	"{name: pass-dev, action: Pass, from: [{namespaces: {matchLabels: {team: dev}}}]}" |
	pwc_write cnp-admin.yaml
if pwe_wait_state 5 "ok:$C $B 7000 tcp" "fail:$C $B 7001 tcp"; then
	pwe_pass admin_pass_to_netpol
else
	pwe_fail admin_pass_to_netpol "c -> b 7000 ${PWC_RES["$C $B 7000 tcp"]:-?}"
fi
# status counts the entries in force by the tier of their deciding rule
ST=$(nsenter --net="/run/netns/$(pwc_node_netns node1)" "$PWE_ROOT/podwall" status \
	--pin-dir "$(pwc_pin_dir node1)" 2>&1)
if grep -qE "in force by tier: [1-9][0-9]* ClusterNetworkPolicy Admin, [0-9]+ NetworkPolicy, [1-9][0-9]* ClusterNetworkPolicy Baseline" <<<"$ST"; then
	pwe_pass status_by_tier "$(grep 'in force by tier' <<<"$ST" | cut -c1-110)"
else
	pwe_fail status_by_tier "$(grep -i 'in force' <<<"$ST" | tr '\n' ' ')"
fi
# status -o json: the rules in force per endpoint, a ClusterNetworkPolicy rule
# split into its fields as monitor splits it, and the entries by tier
if sj=$(nsenter --net="/run/netns/$(pwc_node_netns node1)" "$PWE_ROOT/podwall" status \
	--pin-dir "$(pwc_pin_dir node1)" -o json 2>&1 | python3 -c '
import json, sys
st = json.load(sys.stdin)
ing = {e["pod"]: e["rules"]["ingress"] for e in st["endpoints"]}
want = {"tier": "baseline", "cluster_policy": "baseline-prod", "priority": 10,
        "rule_name": "default-deny", "action": "Deny"}
deny = [r for r in ing["prod/a"] if all(r.get(k) == v for k, v in want.items())]
netpol = [r for r in ing["prod/b"] if r.get("tier") == "netpol" and r["policy"] == "prod/b-from-dev"]
t = st["in_force_by_tier"]
if deny and netpol and "cluster_policy" not in netpol[0] and t["baseline"] > 0 and t["netpol"] > 0:
    print(json.dumps(deny[0])); sys.exit(0)
print({p: [(r.get("tier"), r.get("cluster_policy"), r.get("rule_name")) for r in v] for p, v in ing.items()}, t); sys.exit(1)'); then
	pwe_pass status_json_rule_fields "$sj"
else
	pwe_fail status_json_rule_fields "$sj"
fi
# /metrics counts the same entries by tier, and the Admin Deny's drops by reason
M=$(timeout -k 1 5 nsenter --net="/run/netns/$(pwc_node_netns node1)" curl -s --max-time 3 \
	"http://127.0.0.1:$MPORT/metrics")
adm=$(awk '$1 == "podwall_policy_tier_entries{tier=\"admin\"}" {print $2}' <<<"$M")
base=$(awk '$1 == "podwall_policy_tier_entries{tier=\"baseline\"}" {print $2}' <<<"$M")
tdrop=$(awk '/^podwall_packets_total\{.*verdict="drop",reason="tier_denied"\}/ {s += $2} END {print s + 0}' <<<"$M")
if [ "${adm:-0}" -gt 0 ] && [ "${base:-0}" -gt 0 ] && [ "$tdrop" -gt 0 ]; then
	pwe_pass metrics_by_tier "admin $adm, baseline $base entries; $tdrop tier_denied drops"
else
	pwe_fail metrics_by_tier "admin '${adm:-}', baseline '${base:-}', tier_denied drops $tdrop: $(grep -E 'tier' <<<"$M" | head -n 4 | tr '\n' ' ')"
fi
pwe_agent_log_clean node1
pwe_end
