#!/usr/bin/env bash
# End to end: DNS on port 53 as a first-class citizen, through the Service
# ClusterIP too (issue 5). dnsmasq is the cluster DNS pod; kube-proxy-style
# iptables DNAT makes the ClusterIPs; real queries with dig, over UDP and TCP
# (+tcp), to the DNS Service VIP and to the DNS pod directly, from a client on
# the DNS pod's node and from one behind the uplink.
#
#   node1: kube-system/coredns (dnsmasq, k8s-app=kube-dns, tcp/9053 echo too)
#          production/frontend (role=client)  production/api (tier=api)  production/db (tier=db)
#   node2: production/worker (role=client)    production/api2 (tier=api) production/db2 (tier=db)
#   Services: kube-system/kube-dns 198.19.255.10:53 udp+tcp -> coredns:53
#             production/api  198.19.255.21:80/tcp->8080, 81/udp->8081   (node1 backend)
#             production/api2 198.19.255.22 (node2)  production/db 198.19.255.23 (node1)
#             production/db2  198.19.255.24 (node2)
#   policies: default-deny egress in production + allow-api (clients -> tier=api
#             tcp/8080, udp/8081), then the DNS rule under test.
#
# Checks: no policy -> resolution works; default-deny egress -> it fails (VIP
# and direct, UDP and TCP) and the DNS drop counter rises, with the queried name
# in the drop event; allow-dns (namespaceSelector kube-system + podSelector
# k8s-app=kube-dns, 53 UDP+TCP) -> works; the same rule with a podSelector
# alone -> still fails; `--dns auto` -> works with no DNS rule, and opens nothing
# else; egress to a non-DNS Service VIP follows the egress policy of its
# backends (allowed reachable, denied not; same node and across the uplink).
#
# Run: bash tests/e2e/dns.sh (root; ./podwall built).
set -uo pipefail
. "$(dirname "$0")/../lib/e2e.sh"
pwe_begin dns

QNAME=backend.production.svc.cluster.local
ANSWER=198.19.255.21
DNS_VIP=198.19.255.10
FE=production/frontend WK=production/worker

pwc_node node1
pwc_node node2
pwc_uplink node1 node2
pwc_namespace production
pwc_namespace kube-system
pwc_pod node1 production frontend "role=client,app=frontend"
pwc_pod node2 production worker   "role=client,app=worker"
pwc_pod node1 production api  "tier=api,app=api"  "http:8080/TCP,echo-udp:8081/UDP"
pwc_pod node2 production api2 "tier=api,app=api2" "http:8080/TCP,echo-udp:8081/UDP"
pwc_pod node1 production db   "tier=db,app=db"    "http:8080/TCP,echo-udp:8081/UDP"
pwc_pod node2 production db2  "tier=db,app=db2"   "http:8080/TCP,echo-udp:8081/UDP"
pwc_dns_pod node1 kube-system coredns "$QNAME=$ANSWER"
DNS_POD=kube-system/coredns
pwc_serve $DNS_POD tcp 9053
for p in api api2 db db2; do
	pwc_serve production/$p tcp 8080
	pwc_serve production/$p udp 8081
done
pwc_service kube-system kube-dns $DNS_VIP "k8s-app=kube-dns" "53/UDP:53,53/TCP:53"
pwc_service production api  198.19.255.21 "app=api"  "80/TCP:8080,81/UDP:8081"
pwc_service production api2 198.19.255.22 "app=api2" "80/TCP:8080,81/UDP:8081"
pwc_service production db   198.19.255.23 "app=db"   "80/TCP:8080,81/UDP:8081"
pwc_service production db2  198.19.255.24 "app=db2"  "80/TCP:8080,81/UDP:8081"

# DNS probe specs: from each client, to the VIP and to the pod, UDP and TCP
dns_specs() {   # udp|tcp vip|direct
	local kind=dns server c out=()
	[ "$1" = tcp ] && kind=dnstcp
	server=$DNS_VIP; [ "$2" = direct ] && server=$DNS_POD
	for c in $FE $WK; do out+=("$c $server $QNAME=$ANSWER $kind"); done
	printf '%s\n' "${out[@]}"
}
dns_expect() {  # name-prefix ok|fail
	local proto via specs
	for proto in udp tcp; do
		for via in vip direct; do
			mapfile -t specs < <(dns_specs $proto $via)
			pwe_expect "${1}_${proto}_${via}" "$2" "${specs[@]}"
		done
	done
}
VIP_ALLOWED=("$FE 198.19.255.21 80 tcp" "$FE 198.19.255.22 80 tcp" "$WK 198.19.255.21 80 tcp" "$WK 198.19.255.22 80 tcp"
	"$FE 198.19.255.21 81 udp" "$WK 198.19.255.21 81 udp")
VIP_DENIED=("$FE 198.19.255.23 80 tcp" "$FE 198.19.255.24 80 tcp" "$WK 198.19.255.23 80 tcp" "$WK 198.19.255.24 80 tcp"
	"$FE 198.19.255.23 81 udp" "$WK 198.19.255.24 81 udp")

# ------------------------------------------------------------ no policy
pwc_agent_start node1
pwc_agent_start node2
sleep 1
if pwc_agent_alive node1 && pwc_agent_alive node2; then pwe_pass agents_start
else pwe_fail agents_start "an agent exited: $(tail -n 2 "$(pwc_agent_log node1)" | tr '\n' ' ')"; fi
dns_expect dns_works_without_policy ok
pwe_expect services_open_without_policy ok "${VIP_ALLOWED[@]}" "${VIP_DENIED[@]}"

# ------------------------------------------------------------ default-deny egress
pwe_np_default_deny production Egress | pwc_write np-default-deny-egress.yaml
pwc_write np-allow-api.yaml <<-'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-api
  namespace: production
spec:
  podSelector:
    matchLabels: {role: client}
  policyTypes: [Egress]
  egress:
  - to:
    - podSelector:
        matchLabels: {tier: api}
    ports:
    - {protocol: TCP, port: 8080}
    - {protocol: UDP, port: 8081}
EOF
if pwe_wait_state "$PWE_START_S" "fail:$FE production/db 8080 tcp" "fail:$WK production/db 8080 tcp" \
		"ok:$FE production/api 8080 tcp" "ok:$WK production/api 8080 tcp"; then
	pwe_pass egress_policy_enforced
else
	pwe_fail egress_policy_enforced "no enforcement within ${PWE_START_S}s"
fi
drop0=$(pwe_dns_counter node1 dropped)
pwe_monitor_start node1 8
sleep 0.5
dns_expect dns_fails_under_default_deny_egress fail
sleep 0.5
drop1=$(pwe_dns_counter node1 dropped)
if [ -n "$drop0" ] && [ -n "$drop1" ] && [ "$drop1" -gt "$drop0" ]; then
	pwe_pass dns_drop_counter_rises "dropped $drop0 -> $drop1"
else
	pwe_fail dns_drop_counter_rises "dns map 'dropped' counter: before '${drop0}', after '${drop1}' (map $(pwc_pin_dir node1)/dns)"
fi
pwc_kill "$PWE_MON_PID"
if grep -q "$QNAME" "$PWE_MON_OUT" 2>/dev/null; then
	pwe_pass dns_drop_event_names_query "$(grep -m1 "$QNAME" "$PWE_MON_OUT" | cut -c1-200)"
else
	pwe_fail dns_drop_event_names_query "no event naming $QNAME from 'podwall monitor -o json': $(head -c 200 "$PWE_MON_OUT" 2>/dev/null | tr '\n' ' ')"
fi

# ------------------------------------------------------------ non-DNS Service VIPs
pwe_expect vip_to_allowed_backends_reachable ok "${VIP_ALLOWED[@]}"
pwe_expect vip_to_denied_backends_unreachable fail "${VIP_DENIED[@]}"
pwe_expect direct_matches_vip_verdicts ok "$FE production/api 8080 tcp" "$WK production/api2 8080 tcp" "$FE production/api2 8080 tcp"
pwe_expect direct_denied_matches_vip_verdicts fail "$FE production/db 8080 tcp" "$WK production/db2 8080 tcp" "$FE production/db2 8080 tcp"

# ------------------------------------------------------------ allow-dns
allow_dns() {   # with-namespace-selector: yes|no
	echo "apiVersion: networking.k8s.io/v1"
	echo "kind: NetworkPolicy"
	echo "metadata:"
	echo "  name: allow-dns"
	echo "  namespace: production"
	echo "spec:"
	echo "  podSelector: {}"
	echo "  policyTypes: [Egress]"
	echo "  egress:"
	echo "  - to:"
	if [ "$1" = yes ]; then
		echo "    - namespaceSelector:"
		echo "        matchLabels:"
		echo "          kubernetes.io/metadata.name: kube-system"
		echo "      podSelector:"
	else
		echo "    - podSelector:"
	fi
	echo "        matchLabels:"
	echo "          k8s-app: kube-dns"
	echo "    ports:"
	echo "    - {protocol: UDP, port: 53}"
	echo "    - {protocol: TCP, port: 53}"
}
allow_dns yes | pwc_write np-allow-dns.yaml
pwe_wait_state 5 "ok:$(dns_specs udp vip | head -n 1)" >/dev/null
dns_expect dns_works_with_allow_dns ok
pwe_expect allow_dns_opens_only_53 fail "$FE $DNS_POD 9053 tcp" "$WK $DNS_POD 9053 tcp"

# ------------------------------------------------------------ podSelector alone
allow_dns no | pwc_write np-allow-dns.yaml
pwe_wait_state 5 "fail:$(dns_specs udp vip | head -n 1)" >/dev/null
pwe_monitor_start node1 6
sleep 0.5
dns_expect dns_fails_with_podselector_alone_rule fail
sleep 0.5
pwc_kill "$PWE_MON_PID"
if grep -q "$QNAME" "$PWE_MON_OUT" 2>/dev/null; then
	pwe_pass dns_drop_event_for_podselector_alone "$(grep -m1 "$QNAME" "$PWE_MON_OUT" | cut -c1-200)"
else
	pwe_fail dns_drop_event_for_podselector_alone "no event naming $QNAME from 'podwall monitor -o json'"
fi

# ------------------------------------------------------------ --dns auto
pwc_rm np-allow-dns.yaml
pwc_agent_stop node1
pwc_agent_stop node2
pwc_agent_start node1 --dns auto
pwc_agent_start node2 --dns auto
sleep 1
if pwc_agent_alive node1 && pwc_agent_alive node2; then pwe_pass agents_start_with_dns_auto
else pwe_fail agents_start_with_dns_auto "an agent exited: $(tail -n 2 "$(pwc_agent_log node1)" | tr '\n' ' ')"; fi
pwe_wait_state "$PWE_START_S" "ok:$(dns_specs udp vip | head -n 1)" >/dev/null
dns_expect dns_auto_works_without_dns_rule ok
pwe_expect dns_auto_opens_only_dns fail "$FE $DNS_POD 9053 tcp" "$WK $DNS_POD 9053 tcp" \
	"$FE production/db 8080 tcp" "$WK production/db2 8080 tcp"
pwe_expect vip_verdicts_unchanged_under_dns_auto ok "${VIP_ALLOWED[@]}"
pwe_expect vip_denied_unchanged_under_dns_auto fail "${VIP_DENIED[@]}"

pwe_end
