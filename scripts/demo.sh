#!/usr/bin/env bash
# podwall demo (`make demo`): the seed scenario on a local cluster of network
# namespaces, measured with real connections before and after the policies.
#
#   production/frontend  serves tcp/80        production/backend   serves tcp/8080
#   production/postgres  serves tcp/5432      kube-system/coredns  dnsmasq, udp+tcp/53
#
# 1. traffic matrix with no policy (everything open)
# 2. `podwall agent --source DIR` in the node namespace(s)
# 3. policies into DIR, the cluster-wide way: one ClusterNetworkPolicy that
#    denies by default (Baseline tier: each namespace's NetworkPolicy may
#    open what it needs) and one that accepts DNS (Admin tier: a guardrail no
#    namespace's policy can take away, NetworkPolicy egress included), instead
#    of a default-deny and a DNS rule copied into every namespace; then the
#    namespace's own NetworkPolicies frontend->backend:8080, backend->postgres:5432
# 4. traffic matrix again: frontend->backend and backend->postgres allowed,
#    DNS (dig over UDP and TCP) allowed from every pod, everything else denied
# Everything is removed at the end, also on failure or Ctrl-C. Exit status 1 if
# a measured cell differs from what the policies say.
#
# Usage: scripts/demo.sh [--nodes 1|2] [--keep]
#   --nodes 2   put postgres on a second node behind an uplink (one agent per node)
#   --keep      keep the state directory (manifests, agent logs) in /tmp
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
. scripts/cluster.sh

NODES=1
while [ $# -gt 0 ]; do
	case $1 in
	--nodes) NODES=${2:-1}; shift 2 ;;
	--keep) export PWC_KEEP=1; shift ;;
	-h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "demo: unknown option $1" >&2; exit 2 ;;
	esac
done
case $NODES in 1|2) ;; *) echo "demo: --nodes 1 or 2" >&2; exit 2 ;; esac
[ -x "$PODWALL" ] || { echo "demo: $PODWALL is not built; run 'make demo' (or make)" >&2; exit 1; }

if [ -t 1 ]; then
	B=$'\e[1m' D=$'\e[2m' G=$'\e[32m' R=$'\e[31m' Y=$'\e[33m' N=$'\e[0m'
else
	B= D= G= R= Y= N=
fi
step() { printf '\n%s==> %s%s\n' "$B" "$*" "$N"; }

pwc_init
QNAME=backend.production.svc.cluster.local
PODS=(frontend backend postgres)
declare -A SERVES=([frontend]=80 [backend]=8080 [postgres]=5432)

step "Building a local cluster (namespaces prefixed $PWC_PREFIX)"
pwc_seed "$NODES"
pwc_describe
printf '  Service kube-system/kube-dns  198.19.255.10:53 udp+tcp -> %s:53 (iptables DNAT, as kube-proxy)\n' "$PWC_DNS_IP"
printf '  Kubernetes objects for the agent: %s\n' "$PWC_SRC"

# ------------------------------------------------------------------ matrix
# Columns: each server pod's port, then DNS over UDP and over TCP (a real
# `dig @<dns pod> backend.production.svc.cluster.local`).
COLS=(frontend backend postgres dns-udp dns-tcp)
col_title() {
	case $1 in
	dns-udp) echo "dns udp/53" ;; dns-tcp) echo "dns tcp/53" ;;
	*) echo "$1:${SERVES[$1]}" ;;
	esac
}
spec_for() {   # from col
	local from=production/$1
	case $2 in
	dns-udp) echo "$from $PWC_DNS_POD $QNAME=$(pwc_ip production/backend) dns" ;;
	dns-tcp) echo "$from $PWC_DNS_POD $QNAME=$(pwc_ip production/backend) dnstcp" ;;
	*) echo "$from production/$2 ${SERVES[$2]} tcp" ;;
	esac
}
expected_after() {   # from col -> allow|deny
	case $1:$2 in
	*:dns-udp|*:dns-tcp) echo allow ;;
	frontend:backend|backend:postgres) echo allow ;;
	*) echo deny ;;
	esac
}

# measure EXPECT_MODE: probes every cell in parallel; prints the table; returns
# the number of cells that differ from the expectation (open|policy).
measure() {
	local mode=$1 specs=() from col s res want cell bad=0 w=14
	for from in "${PODS[@]}"; do
		for col in "${COLS[@]}"; do
			[ "$from" = "$col" ] || specs+=("$(spec_for "$from" "$col")")
		done
	done
	pwc_probe_all "${specs[@]}"
	printf '\n  %-12s' "from \\ to"
	for col in "${COLS[@]}"; do printf "%-${w}s" "$(col_title "$col")"; done
	printf '\n  %-12s' "-----------"
	for col in "${COLS[@]}"; do printf "%-${w}s" "------------"; done
	printf '\n'
	for from in "${PODS[@]}"; do
		printf '  %-12s' "$from"
		for col in "${COLS[@]}"; do
			if [ "$from" = "$col" ]; then printf "%s%-${w}s%s" "$D" "." "$N"; continue; fi
			s=$(spec_for "$from" "$col")
			res=deny; [ "${PWC_RES[$s]}" = ok ] && res=allow
			want=allow; [ "$mode" = policy ] && want=$(expected_after "$from" "$col")
			cell=$res
			[ "$res" = "$want" ] || { cell="$res (!)"; bad=$((bad + 1)); }
			if [ "$res" != "$want" ]; then printf "%s%-${w}s%s" "$Y$B" "$cell" "$N"
			elif [ "$res" = allow ]; then printf "%s%-${w}s%s" "$G" "$cell" "$N"
			else printf "%s%-${w}s%s" "$R" "$cell" "$N"; fi
		done
		printf '\n'
	done
	return $bad
}

step "1. Traffic with no policy (real TCP connections and DNS queries)"
measure open; bad0=$?
if [ "$bad0" -ne 0 ]; then
	printf '\n  %s%d cell(s) not open before any policy: the local cluster is broken.%s\n' "$R" "$bad0" "$N"
	exit 1
fi

step "2. Starting podwall agent in the node namespace(s)"
for node in $(pwc_nodes); do
	pwc_agent_start "$node"
	printf '  %s: nsenter --net=/run/netns/%s %s agent --source %s --pin-dir %s%s (pid %s)\n' \
		"$node" "$(pwc_node_netns "$node")" "./podwall" "$PWC_SRC" "$(pwc_pin_dir "$node")" \
		"$( [ "$NODES" -gt 1 ] && echo " --uplink up0")" "$(pwc_agent_pid "$node")"
done
sleep 0.5
for node in $(pwc_nodes); do
	if ! pwc_agent_alive "$node"; then
		printf '  %sthe agent in %s exited:%s\n' "$R" "$node" "$N"
		tail -n 5 "$(pwc_agent_log "$node")" | sed 's/^/    /'
		exit 1
	fi
done

step "3. Applying policies (written into $PWC_SRC)"
pwc_write cluster-default-deny.yaml <<'EOF'
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: default-deny}
spec:
  tier: Baseline
  priority: 100
  subject:
    namespaces:
      matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}]
  ingress:
  - {name: deny-all, action: Deny, from: [{namespaces: {}}]}
  egress:
  - {name: deny-all, action: Deny, to: [{networks: [0.0.0.0/0, "::/0"]}]}
EOF
pwc_write cluster-allow-dns.yaml <<'EOF'
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: allow-dns}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {}}
  egress:
  - name: cluster-dns
    action: Accept
    to:
    - pods:
        namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
        podSelector: {matchLabels: {k8s-app: kube-dns}}
    protocols: [{udp: {destinationPort: {number: 53}}}, {tcp: {destinationPort: {number: 53}}}]
EOF
for n in frontend-to-backend backend-to-postgres; do
	pwc_seed_policy "$n" | pwc_write "$n.yaml" || exit 1
done
printf '  %-26s %s\n' \
	cluster-default-deny.yaml "ClusterNetworkPolicy, Baseline tier: all but kube-system deny by default, in and out" \
	cluster-allow-dns.yaml   "ClusterNetworkPolicy, Admin tier: every pod -> kube-system/k8s-app=kube-dns udp+tcp/53" \
	frontend-to-backend.yaml "frontend -> backend tcp/8080 (egress of frontend, ingress of backend)" \
	backend-to-postgres.yaml "backend -> postgres tcp/5432 (egress of backend, ingress of postgres)"

printf '  waiting for enforcement ... '
t0=$(pwc_now_ms)
enforced() {
	local pf="production/frontend" pb="production/backend" pp="production/postgres"
	PWC_PROBE_TIMEOUT=0.5 pwc_probe_all "$pf $pp 5432 tcp" "$pf $pb 8080 tcp" "$pp $pb 8080 tcp"
	[ "${PWC_RES["$pf $pp 5432 tcp"]}" = fail ] && [ "${PWC_RES["$pf $pb 8080 tcp"]}" = ok ] &&
	[ "${PWC_RES["$pp $pb 8080 tcp"]}" = fail ]
}
if pwc_wait_for 30 enforced; then
	printf 'verified in force %s ms after writing them\n' $(( $(pwc_now_ms) - t0 ))
else
	printf '%snot in force after 30 s%s\n' "$R" "$N"
fi

step "4. Traffic with the policies (real TCP connections and DNS queries)"
measure policy; bad=$?

echo
if [ "$bad" -eq 0 ]; then
	printf '%sOK%s: frontend -> backend and backend -> postgres allowed, DNS allowed from every pod,\n' "$G$B" "$N"
	printf '    everything else denied, as the policies say.\n'
else
	printf '%sMISMATCH%s: %d cell(s) marked (!) differ from what the policies say.\n' "$R$B" "$N" "$bad"
	for node in $(pwc_nodes); do
		printf '  last lines of the agent log on %s:\n' "$node"
		tail -n 8 "$(pwc_agent_log "$node")" | sed 's/^/    /'
	done
fi
if usage=$("$PODWALL" 2>&1; true) && grep -qw status <<<"$usage"; then
	step "podwall status (node1)"
	timeout -k 1 5 nsenter --net="/run/netns/$(pwc_node_netns node1)" "$PODWALL" status \
		--pin-dir "$(pwc_pin_dir node1)" 2>&1 | sed 's/^/  /' | head -n 40
fi
step "Cleaning up (namespaces, processes, pins)"
[ "$bad" -eq 0 ]
