#!/usr/bin/env bash
# End to end: `podwall explain --to-name` on the live maps, after the pod's own
# DNS lookup through dnsmasq (a kube-dns pod) taught the kernel the address.
#
#   node1: prod/a; kube-system/coredns answering www.example.com=198.19.7.1
#   Admin 10: prod may reach www.example.com and *.example.org on tcp/443
#   Admin 20: prod may not reach 198.19.0.0/16
#
#   1. before a lookup: explain --to-name says a has not resolved the name
#      (exit 1), for a name no pattern matches too;
#   2. after a's lookup: tcp/443 allowed by the Admin name rule, tcp/80
#      denied by the Admin Deny (exit 1), each judged by the kernel.
#
# Run: bash tests/e2e/fqdn_explain.sh (root; ./podwall built).
set -uo pipefail
. "$(dirname "$0")/../lib/e2e.sh"
pwe_begin fqdn_explain

A=prod/a EXT=198.19.7.1
pwc_node node1
pwc_namespace prod "team=prod"
pwc_namespace kube-system "team=sys"
pwc_pod node1 prod a "app=a"
pwc_dns_pod node1 "www.example.com=$EXT"

pwc_write cnp.yaml <<'EOF'
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: names}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {team: prod}}}
  egress:
  - {name: web-names, action: Accept, to: [{domainNames: [www.example.com, "*.example.org"]}], protocols: [{tcp: {destinationPort: {number: 443}}}]}
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: no-ext}
spec:
  tier: Admin
  priority: 20
  subject: {namespaces: {matchLabels: {team: prod}}}
  egress:
  - {name: deny-ext, action: Deny, to: [{networks: [198.19.0.0/16]}]}
EOF
pwc_agent_start node1
PIN=$(pwc_pin_dir node1)
explain() { pwc_node_exec node1 "$PODWALL" explain --pin-dir "$PIN" --from "$A" "$@" 2>&1; }

ok=""
for _ in $(seq 1 "$PWE_START_S"); do
	out=$(explain --to-name www.example.com --port 443); rc=$?
	grep -q "has not resolved" <<<"$out" && { ok=1; break; }
	sleep 1
done
[ -n "$ok" ] && [ "$rc" = 1 ] && pwe_pass not_resolved_yet "exit $rc" ||
	pwe_fail not_resolved_yet "exit $rc: $out"
out=$(explain --to-name www.example.net --port 443); rc=$?
grep -q "no domainNames pattern in force matches it" <<<"$out" && [ "$rc" = 1 ] &&
	pwe_pass no_pattern "exit $rc" || pwe_fail no_pattern "exit $rc: $out"

got=$(pwc_dig "$A" "$PWC_DNS_POD" www.example.com)
[ "$got" = "$EXT" ] && pwe_pass lookup "$got" || pwe_fail lookup "dig: '$got'"

out=$(explain --to-name www.example.com --port 443); rc=$?
if [ "$rc" = 0 ] && grep -q "resolved www.example.com to $EXT" <<<"$out" &&
   grep -q "web-names" <<<"$out"; then
	pwe_pass learned_allowed "exit 0, the Admin name rule"
else
	pwe_fail learned_allowed "exit $rc: $out"
fi
out=$(explain --to-name www.example.com --port 80); rc=$?
if [ "$rc" = 1 ] && grep -q "deny-ext" <<<"$out"; then
	pwe_pass other_port_denied "exit 1, the Admin Deny"
else
	pwe_fail other_port_denied "exit $rc: $out"
fi
pwe_end
