#!/usr/bin/env bash
# A local Kubernetes-like "cluster" made of network namespaces (DESIGN §6), for
# the demo and the end-to-end tests. Source it (functions pwc_*) or run it:
#
#   scripts/cluster.sh shell [--nodes 1|2]   build the seed cluster, open a shell
#                                            in it, remove everything on exit
#   scripts/cluster.sh down WORKDIR          remove what a killed run left behind
#   scripts/cluster.sh list                  list such leftovers
#
# What it builds:
#   node namespaces     $PREFIX-node1, $PREFIX-node2 (forwarding on)
#   pods                one namespace per pod, $PREFIX-<ns>-<pod>, joined to its node
#                       by a veth pair the way the `ptp` CNI plugin does it: pod side
#                       eth0 with POD_IP/32, a /32 route to the gateway and a default
#                       route via it; node side lxcN carrying the gateway address /32
#                       and a gatewayless route POD_IP/32 dev lxcN (how podwall tells
#                       a local pod's host veth from the routing table)
#   uplink              veth "up0" between node1 and node2; each node routes the
#                       other's pod range via the peer's uplink address (a gateway
#                       route: those pods are remote)
#   Services            ClusterIPs made by iptables DNAT in every node's nat
#                       PREROUTING, with kube-proxy's chain layout
#   cluster DNS         dnsmasq in a pod kube-system/<name>, labelled k8s-app=kube-dns
#   agent source DIR    Namespace, Pod (status.podIP) and Service objects as
#                       Kubernetes YAML, next to which the tests write the policies
#
# Addresses (all inside 198.18.0.0/15, the benchmarking range):
#   198.18.0.N/24      uplink address of node N
#   198.18.N.0/24      pods of node N; 198.18.N.1 is their gateway (the node)
#   198.19.255.0/24    Service ClusterIPs
#
# Everything made is recorded under $PWC_WORK and removed by pwc_cleanup, which
# pwc_init installs as the EXIT/INT/TERM trap. Only PIDs started here are killed
# (each background process is a session leader; its process group is killed).
# podwall runs in a node namespace with `nsenter --net` (never `ip netns exec`,
# which remounts /sys and hides bpffs); its pins go to one directory per node
# under /sys/fs/bpf/podwall/, removed by `podwall uninstall` on cleanup.

PWC_ROOT=${PWC_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PODWALL=${PODWALL:-$PWC_ROOT/podwall}
PWC_PY=${PWC_PY:-$(command -v /usr/bin/python3 || command -v python3)}
PWC_SVC_CIDR=198.19.255.0/24
PWC_PIN_BASE=${PWC_PIN_BASE:-/sys/fs/bpf/podwall}
PWC_DNS_DOMAIN=cluster.local

pwc_log()  { printf '%s\n' "$*" >&2; }
pwc_die()  { printf 'cluster: %s\n' "$*" >&2; exit 1; }
pwc_now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# ------------------------------------------------------------------ setup

# pwc_init [PREFIX]: make the state directory and install the cleanup trap.
# PWC_NO_TRAP=1 leaves the traps to the caller (who must call pwc_cleanup).
pwc_init() {
	[ "$(id -u)" -eq 0 ] || pwc_die "must run as root"
	local t
	for t in ip nsenter setsid socat timeout iptables dnsmasq dig "$PWC_PY"; do
		command -v "$t" >/dev/null 2>&1 || pwc_die "missing tool: $t (run scripts/deps.sh)"
	done
	PWC_PREFIX=${1:-${PWC_PREFIX:-pw$$}}
	PWC_WORK=$(mktemp -d "/tmp/podwall-$PWC_PREFIX.XXXXXX") || pwc_die "mktemp failed"
	PWC_SRC=$PWC_WORK/src
	mkdir -p "$PWC_SRC" "$PWC_WORK/stage" "$PWC_WORK/pods" "$PWC_WORK/nodes" \
		"$PWC_WORK/agents" "$PWC_WORK/logs" "$PWC_WORK/tmp"
	: >"$PWC_WORK/netns"; : >"$PWC_WORK/pids"
	echo "$PWC_PREFIX" >"$PWC_WORK/prefix"
	echo 0 >"$PWC_WORK/ifcount"
	PWC_CLEANED=0
	export PWC_PREFIX PWC_WORK PWC_SRC
	if [ "${PWC_NO_TRAP:-0}" != 1 ]; then
		trap 'pwc_cleanup' EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM
	fi
}

# pwc_load WORKDIR: point the functions at the state of an existing cluster.
pwc_load() {
	PWC_WORK=$1
	[ -f "$PWC_WORK/prefix" ] || pwc_die "$PWC_WORK is not a cluster state directory"
	PWC_PREFIX=$(cat "$PWC_WORK/prefix")
	PWC_SRC=$PWC_WORK/src
	PWC_CLEANED=0
}

_pwc_netns_add() {   # name
	ip netns add "$1" || pwc_die "ip netns add $1 failed"
	echo "$1" >>"$PWC_WORK/netns"
	ip -n "$1" link set lo up
}

_pwc_sysctl() {      # netns key=value...
	local ns=$1; shift
	nsenter --net="/run/netns/$ns" sysctl -qw "$@" >/dev/null
}

_pwc_next_if() {
	local n; n=$(( $(cat "$PWC_WORK/ifcount") + 1 ))
	echo $n >"$PWC_WORK/ifcount"; echo $n
}

# pwc_node NAME: a node namespace $PREFIX-NAME. Nodes are numbered in creation
# order (1, 2, ...): node N owns pods 198.18.N.0/24 and gateway 198.18.N.1.
pwc_node() {
	local name=$1 idx
	[ -e "$PWC_WORK/nodes/$name" ] && pwc_die "node $name exists"
	idx=$(( $(ls "$PWC_WORK/nodes" | wc -l) + 1 ))
	[ "$idx" -le 250 ] || pwc_die "too many nodes"
	local netns=$PWC_PREFIX-$name
	_pwc_netns_add "$netns"
	_pwc_sysctl "$netns" net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.all.forwarding=1
	cat >"$PWC_WORK/nodes/$name" <<-EOF
	NODE_NAME=$name
	NODE_IDX=$idx
	NODE_NETNS=$netns
	NODE_GW=198.18.$idx.1
	NODE_CIDR=198.18.$idx.0/24
	NODE_UPLINK_IP=198.18.0.$idx
	NODE_NEXT=10
	NODE_HAS_UPLINK=0
	EOF
}

_pwc_node_get() {    # node var
	[ -f "$PWC_WORK/nodes/$1" ] || pwc_die "no node $1"
	( . "$PWC_WORK/nodes/$1"; eval "echo \"\${$2}\"" )
}
_pwc_node_set() {    # node var value
	sed -i "s|^$2=.*|$2=$3|" "$PWC_WORK/nodes/$1"
}
pwc_node_netns() { _pwc_node_get "$1" NODE_NETNS; }
pwc_node_ip()    { _pwc_node_get "$1" NODE_UPLINK_IP; }
pwc_nodes()      { ls "$PWC_WORK/nodes"; }

# pwc_node_exec NODE CMD...: run CMD in the node's network namespace.
pwc_node_exec() {
	local netns; netns=$(pwc_node_netns "$1") || return 1; shift
	nsenter --net="/run/netns/$netns" "$@"
}

# pwc_uplink NODE_A NODE_B: veth "up0" between two nodes, their uplink addresses
# in 198.18.0.0/24, and routes to each other's pods via the peer (remote pods).
pwc_uplink() {
	local a=$1 b=$2 na nb ia ib
	na=$(pwc_node_netns "$a"); nb=$(pwc_node_netns "$b")
	ia=$(pwc_node_ip "$a"); ib=$(pwc_node_ip "$b")
	ip -n "$na" link add up0 type veth peer name up0 netns "$nb" || pwc_die "uplink veth failed"
	ip -n "$na" addr add "$ia/24" dev up0
	ip -n "$nb" addr add "$ib/24" dev up0
	ip -n "$na" link set up0 up
	ip -n "$nb" link set up0 up
	ip -n "$na" route add "$(_pwc_node_get "$b" NODE_CIDR)" via "$ib" dev up0
	ip -n "$nb" route add "$(_pwc_node_get "$a" NODE_CIDR)" via "$ia" dev up0
	_pwc_node_set "$a" NODE_HAS_UPLINK 1
	_pwc_node_set "$b" NODE_HAS_UPLINK 1
}

# ------------------------------------------------------------- objects (YAML)

# pwc_write FILE: stdin becomes $PWC_SRC/FILE, atomically (written beside, then
# renamed in, so a watcher never reads half a file).
pwc_write() {
	local f=$1 tmp
	tmp=$(mktemp "$PWC_WORK/stage/w.XXXXXX")
	cat >"$tmp"
	mv -f "$tmp" "$PWC_SRC/$f"
}
# pwc_rm FILE: remove a manifest from the source directory.
pwc_rm() { rm -f "$PWC_SRC/$1"; }

_pwc_labels_yaml() { # "k=v,k2=v2" indent
	local kv ind=$2 kvs=()
	IFS=, read -ra kvs <<<"$1"
	for kv in "${kvs[@]}"; do
		[ -n "$kv" ] || continue
		printf '%s%s: "%s"\n' "$ind" "${kv%%=*}" "${kv#*=}"
	done
}

# pwc_namespace NS [LABELS]: a Namespace object (kubernetes.io/metadata.name set).
pwc_namespace() {
	local ns=$1 labels=${2:-}
	pwc_write "ns-$ns.yaml" <<-EOF
	apiVersion: v1
	kind: Namespace
	metadata:
	  name: $ns
	  labels:
	    kubernetes.io/metadata.name: "$ns"
	$(_pwc_labels_yaml "$labels" "    ")
	EOF
}

# pwc_pod NODE NS NAME [LABELS] [PORTS]: a pod on NODE.
#   LABELS "k=v,k2=v2"; PORTS "8080/TCP,53/UDP" or "name:8080/TCP" (containerPorts,
#   for named ports; servers are started separately with pwc_serve).
# Writes the Pod object into the source DIR. The IP is 198.18.<node>.<10+k>;
# pwc_ip NS NAME prints it.
pwc_pod() {
	local node=$1 ns=$2 name=$3 labels=${4:-} ports=${5:-}
	local key=$ns.$name
	[ -e "$PWC_WORK/pods/$key" ] && pwc_die "pod $ns/$name exists"
	[ -e "$PWC_SRC/ns-$ns.yaml" ] || pwc_namespace "$ns"
	local nnetns idx next gw ip netns veth
	nnetns=$(pwc_node_netns "$node"); idx=$(_pwc_node_get "$node" NODE_IDX)
	next=$(_pwc_node_get "$node" NODE_NEXT); gw=$(_pwc_node_get "$node" NODE_GW)
	[ "$next" -le 254 ] || pwc_die "node $node is full"
	_pwc_node_set "$node" NODE_NEXT $((next + 1))
	ip=198.18.$idx.$next
	netns=$PWC_PREFIX-$ns-$name
	veth=lxc$(_pwc_next_if)
	_pwc_netns_add "$netns"
	ip -n "$nnetns" link add "$veth" type veth peer name eth0 netns "$netns" \
		|| pwc_die "veth for $ns/$name failed"
	# pod side: eth0 POD_IP/32, gateway on-link, default via the gateway
	ip -n "$netns" addr add "$ip/32" dev eth0
	ip -n "$netns" link set eth0 up
	ip -n "$netns" route add "$gw" dev eth0 scope link
	ip -n "$netns" route add default via "$gw" dev eth0
	# node side (ptp): the gateway address /32 on the host veth, so the node
	# answers the pod's ARP for it; a gatewayless /32 route to the pod.
	ip -n "$nnetns" addr add "$gw/32" dev "$veth"
	ip -n "$nnetns" link set "$veth" up
	ip -n "$nnetns" route add "$ip/32" dev "$veth"
	_pwc_sysctl "$nnetns" "net.ipv4.conf.$veth.rp_filter=0"
	cat >"$PWC_WORK/pods/$key" <<-EOF
	POD_NS=$ns
	POD_NAME=$name
	POD_NODE=$node
	POD_IP=$ip
	POD_NETNS=$netns
	POD_VETH=$veth
	POD_LABELS='$labels'
	EOF
	_pwc_pod_yaml "$node" "$ns" "$name" "$labels" "$ports" "$ip" "$veth"
}

_pwc_pod_yaml() {
	local node=$1 ns=$2 name=$3 labels=$4 ports=$5 ip=$6 veth=$7 p pname num proto
	{
		echo "apiVersion: v1"
		echo "kind: Pod"
		echo "metadata:"
		echo "  name: $name"
		echo "  namespace: $ns"
		if [ -n "$labels" ]; then
			echo "  labels:"
			_pwc_labels_yaml "$labels" "    "
		fi
		if [ "${PWC_ANNOTATE_VETH:-0}" = 1 ]; then
			echo "  annotations:"
			echo "    podwall.io/host-veth: \"$veth\""
		fi
		echo "spec:"
		echo "  nodeName: $node"
		echo "  containers:"
		echo "  - name: main"
		echo "    image: podwall.invalid/none"
		if [ -n "$ports" ]; then
			echo "    ports:"
			local plist=()
			IFS=, read -ra plist <<<"$ports"
			for p in "${plist[@]}"; do
				pname=
				case $p in *:*) pname=${p%%:*}; p=${p#*:} ;; esac
				num=${p%%/*}; proto=TCP
				case $p in */*) proto=${p#*/} ;; esac
				proto=${proto^^}
				[ -n "$pname" ] || pname=${proto,,}-$num
				echo "    - name: $pname"
				echo "      containerPort: $num"
				echo "      protocol: $proto"
			done
		fi
		echo "status:"
		echo "  phase: Running"
		echo "  hostIP: $(_pwc_node_get "$node" NODE_UPLINK_IP)"
		echo "  podIP: $ip"
		echo "  podIPs:"
		echo "  - ip: $ip"
	} | pwc_write "pod-$ns-$name.yaml"
}

_pwc_pod_get() {     # ns/name var
	local ref=$1 key
	key=${ref%%/*}.${ref#*/}
	[ -f "$PWC_WORK/pods/$key" ] || pwc_die "no pod $ref"
	( . "$PWC_WORK/pods/$key"; eval "echo \"\${$2}\"" )
}
# pwc_ip NS/NAME (or NS NAME): the pod's IP. An address is printed unchanged.
pwc_ip() {
	local ref=$1; [ $# -ge 2 ] && ref=$1/$2
	case $ref in */*) _pwc_pod_get "$ref" POD_IP ;; *) echo "$ref" ;; esac
}
pwc_pod_netns() { _pwc_pod_get "$1" POD_NETNS; }
pwc_pod_veth()  { _pwc_pod_get "$1" POD_VETH; }
pwc_pod_node()  { _pwc_pod_get "$1" POD_NODE; }
pwc_pods()      { local f; for f in "$PWC_WORK"/pods/*; do [ -e "$f" ] && basename "$f" | sed 's|\.|/|'; done; }

# pwc_exec NS/NAME CMD...: run CMD in the pod's network namespace.
pwc_exec() {
	local netns; netns=$(pwc_pod_netns "$1") || return 1; shift
	nsenter --net="/run/netns/$netns" "$@"
}

# ------------------------------------------------------------- processes

# pwc_spawn LOG CMD...: start CMD in the background in its own session (so its
# whole process group can be killed), remember its PID; PWC_LAST_PID holds it.
pwc_spawn() {
	local log=$1 jc=0; shift
	# with job control on (an interactive shell) a background job leads its
	# own group and setsid would fork, hiding the PID: keep it off here
	case $- in *m*) jc=1; set +m ;; esac
	setsid "$@" </dev/null >>"$log" 2>&1 &
	PWC_LAST_PID=$!
	[ $jc = 1 ] && set -m
	echo "$PWC_LAST_PID" >>"$PWC_WORK/pids"
}

# pwc_kill PID [SIGNAL]: signal the process group of a PID started by pwc_spawn
# (TERM by default, then KILL if it has not gone within 2 s).
pwc_kill() {
	local pid=$1 sig=${2:-TERM} i
	grep -qx "$pid" "$PWC_WORK/pids" 2>/dev/null || { pwc_log "pwc_kill: $pid was not started here"; return 1; }
	kill -"$sig" -- -"$pid" 2>/dev/null || kill -"$sig" "$pid" 2>/dev/null
	if [ "$sig" = TERM ]; then
		for i in $(seq 20); do kill -0 -- -"$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL -- -"$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# pwc_serve NS/NAME PROTO PORT: an echo server (tcp or udp) in the pod.
pwc_serve() {
	local pod=$1 proto=${2,,} port=$3 netns log
	netns=$(pwc_pod_netns "$pod") || return 1
	log=$PWC_WORK/logs/serve-${pod/\//-}-$proto-$port.log
	case $proto in
	tcp) pwc_spawn "$log" nsenter --net="/run/netns/$netns" \
		socat TCP-LISTEN:"$port",reuseaddr,fork PIPE ;;
	udp) pwc_spawn "$log" nsenter --net="/run/netns/$netns" \
		socat -T2 UDP-RECVFROM:"$port",reuseaddr,fork PIPE ;;
	*) pwc_die "pwc_serve: protocol $proto" ;;
	esac
	_pwc_wait_listen "$netns" "$proto" "$port" || pwc_log "warning: $pod $proto/$port not listening"
}

# pwc_serve_iperf NS/NAME [PORT]: an iperf3 server (TCP 5201 by default).
pwc_serve_iperf() {
	local pod=$1 port=${2:-5201} netns
	netns=$(pwc_pod_netns "$pod") || return 1
	pwc_spawn "$PWC_WORK/logs/iperf-${pod/\//-}-$port.log" nsenter --net="/run/netns/$netns" \
		iperf3 -s -p "$port"
	_pwc_wait_listen "$netns" tcp "$port"
}

_pwc_wait_listen() { # netns proto port
	local i flag=-tln
	[ "$2" = udp ] && flag=-uln
	for i in $(seq 50); do
		nsenter --net="/run/netns/$1" ss -H "$flag" "sport = :$3" 2>/dev/null | grep -q . && return 0
		sleep 0.05
	done
	return 1
}

# pwc_dns_pod NODE [NS] [NAME] NAME=IP|--OPTION...: the cluster DNS, a pod
# labelled k8s-app=kube-dns (namespace kube-system, pod coredns by default)
# running dnsmasq on its IP, port 53 UDP and TCP, answering A records NAME=IP
# (and REFUSED/NXDOMAIN for the rest: no upstream); an argument that starts
# with -- is a dnsmasq option of its own (--local-ttl=2, --cname=..., ...).
pwc_dns_pod() {
	local node=$1; shift
	local ns=kube-system name=coredns
	case ${1:-} in *=*|--*|'') ;; *) ns=$1; shift ;; esac
	case ${1:-} in *=*|--*|'') ;; *) name=$1; shift ;; esac
	pwc_pod "$node" "$ns" "$name" "k8s-app=kube-dns" "dns:53/UDP,dns-tcp:53/TCP"
	local ip netns args=() rec
	ip=$(pwc_ip "$ns/$name"); netns=$(pwc_pod_netns "$ns/$name")
	for rec in "$@"; do
		case $rec in
		--*) args+=("$rec") ;;
		*)   args+=("--address=/${rec%%=*}/${rec#*=}") ;;
		esac
	done
	pwc_spawn "$PWC_WORK/logs/dnsmasq-$ns-$name.log" nsenter --net="/run/netns/$netns" \
		dnsmasq --no-daemon --no-resolv --no-hosts --conf-file=/dev/null \
		--listen-address="$ip" --bind-interfaces --port=53 --log-queries \
		"${args[@]}"
	PWC_DNS_IP=$ip
	PWC_DNS_POD=$ns/$name
	_pwc_wait_listen "$netns" udp 53 || pwc_log "warning: dnsmasq is not listening"
	_pwc_wait_listen "$netns" tcp 53
}

# ------------------------------------------------------------- Services

# pwc_service NS NAME VIP SELECTOR PORTS: a ClusterIP Service. SELECTOR
# "k=v,..." picks the backends among the pods of NS made so far; PORTS
# "PORT/PROTO:TARGET,..." (e.g. "53/UDP:53,53/TCP:53"). Writes the Service
# object and, in every node, the DNAT rules kube-proxy would write:
#   PREROUTING -> KUBE-SERVICES -> KUBE-SVC-x (one per port, random split)
#                -> KUBE-SEP-y (one per backend) -> DNAT to POD_IP:TARGET
pwc_service() {
	local ns=$1 name=$2 vip=$3 sel=$4 ports=$5
	local backends=() sels=() specs=() f kv ok spec port proto target
	IFS=, read -ra sels <<<"$sel"
	IFS=, read -ra specs <<<"$ports"
	for f in "$PWC_WORK"/pods/"$ns".*; do
		[ -e "$f" ] || continue
		ok=1
		for kv in "${sels[@]}"; do
			( . "$f"; case ",$POD_LABELS," in *",$kv,"*) exit 0 ;; *) exit 1 ;; esac ) || ok=0
		done
		[ $ok = 1 ] && backends+=("$( . "$f"; echo "$POD_IP")")
	done
	[ ${#backends[@]} -gt 0 ] || pwc_log "warning: Service $ns/$name selects no pod"
	# the Service object
	{
		echo "apiVersion: v1"
		echo "kind: Service"
		echo "metadata:"
		echo "  name: $name"
		echo "  namespace: $ns"
		echo "spec:"
		echo "  type: ClusterIP"
		echo "  clusterIP: $vip"
		echo "  clusterIPs:"
		echo "  - $vip"
		echo "  selector:"
		_pwc_labels_yaml "$sel" "    "
		echo "  ports:"
		for spec in "${specs[@]}"; do
			port=${spec%%/*}; proto=${spec#*/}; proto=${proto%%:*}; target=${spec##*:}
			echo "  - name: ${proto,,}-$port"
			echo "    port: $port"
			echo "    protocol: ${proto^^}"
			echo "    targetPort: $target"
		done
	} | pwc_write "svc-$ns-$name.yaml"
	# kube-proxy's rules, in every node
	local node n i h sep left
	for node in $(pwc_nodes); do
		n=$(pwc_node_netns "$node")
		if _pwc_ipt "$n" -t nat -N KUBE-SERVICES 2>/dev/null; then
			_pwc_ipt "$n" -t nat -I PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
		fi
		for spec in "${specs[@]}"; do
			port=${spec%%/*}; proto=${spec#*/}; proto=${proto%%:*}; proto=${proto,,}; target=${spec##*:}
			h=$(printf '%s' "$ns/$name:$proto-$port" | md5sum | tr a-f A-F | cut -c1-16)
			_pwc_ipt "$n" -t nat -N "KUBE-SVC-$h"
			_pwc_ipt "$n" -t nat -A KUBE-SERVICES -d "$vip/32" -p "$proto" --dport "$port" \
				-m comment --comment "$ns/$name:$proto-$port cluster IP" -j "KUBE-SVC-$h"
			for i in "${!backends[@]}"; do
				sep=KUBE-SEP-$(printf '%s' "$h${backends[$i]}" | md5sum | tr a-f A-F | cut -c1-16)
				_pwc_ipt "$n" -t nat -N "$sep"
				_pwc_ipt "$n" -t nat -A "$sep" -p "$proto" -j DNAT --to-destination "${backends[$i]}:$target"
				left=$(( ${#backends[@]} - i ))
				if [ "$left" -gt 1 ]; then
					_pwc_ipt "$n" -t nat -A "KUBE-SVC-$h" -m statistic --mode random \
						--probability "$(awk "BEGIN{printf \"%.11f\", 1/$left}")" -j "$sep"
				else
					_pwc_ipt "$n" -t nat -A "KUBE-SVC-$h" -j "$sep"
				fi
			done
		done
	done
}

_pwc_ipt() {        # netns iptables-args...
	local n=$1; shift
	nsenter --net="/run/netns/$n" iptables -w 5 "$@"
}

# ------------------------------------------------------------- probes

# The probe client: one connection (tcp) or request (udp) carrying a random
# token; success iff the echo server sends the token back within the timeout.
PWC_PY_PROBE='
import os, socket, sys, time
proto, ip, port, t = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
tok = os.urandom(8).hex().encode() + b"\n"
end = time.monotonic() + t
try:
    if proto == "tcp":
        s = socket.create_connection((ip, port), timeout=t)
        s.sendall(tok)
        got = b""
        while len(got) < len(tok):
            s.settimeout(max(0.01, end - time.monotonic()))
            d = s.recv(4096)
            if not d:
                break
            got += d
        sys.exit(0 if got[:len(tok)] == tok else 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((ip, port))
    for i in range(3):   # a lost datagram is retried, twice
        s.send(tok)
        s.settimeout(max(0.01, min(t / 3, end - time.monotonic())))
        try:
            if s.recv(4096) == tok:
                sys.exit(0)
        except socket.timeout:
            pass
        if time.monotonic() >= end:
            break
    sys.exit(1)
except (OSError, socket.timeout):
    sys.exit(1)
'

# pwc_probe FROM DST PORT PROTO [TIMEOUT]: FROM is NS/NAME, DST NS/NAME or an
# address. Prints ok or fail and returns 0 or 1. Bounded by TIMEOUT (default
# $PWC_PROBE_TIMEOUT or 1.5 s) plus process start-up.
pwc_probe() {
	local from=$1 dst=$2 port=$3 proto=${4:-tcp} t=${5:-${PWC_PROBE_TIMEOUT:-1.5}} ip netns
	proto=${proto,,}
	ip=$(pwc_ip "$dst") && netns=$(pwc_pod_netns "$from") || { echo fail; return 1; }
	if timeout -k 1 "$(awk "BEGIN{print $t + 3}")" nsenter --net="/run/netns/$netns" \
		"$PWC_PY" -c "$PWC_PY_PROBE" "$proto" "$ip" "$port" "$t" 2>/dev/null; then
		echo ok; return 0
	fi
	echo fail; return 1
}

# pwc_dig FROM SERVER QNAME [udp|tcp] [TIMEOUT_S]: a real query with dig from
# the pod; prints the A records of the answer (nothing on failure). Returns 0
# iff an answer came.
pwc_dig() {
	local from=$1 server=$2 qname=$3 proto=${4:-udp} t=${5:-2} netns out extra=()
	netns=$(pwc_pod_netns "$from") || return 1
	[ "$proto" = tcp ] && extra=(+tcp)
	out=$(timeout -k 1 $((t + 3)) nsenter --net="/run/netns/$netns" \
		dig "${extra[@]}" +time="$t" +tries=1 +short @"$(pwc_ip "$server")" "$qname" A 2>/dev/null \
		| grep -E '^[0-9.]+$')
	[ -n "$out" ] || return 1
	echo "$out"
}

# pwc_dns_probe FROM SERVER QNAME EXPECT [udp|tcp]: ok iff dig gets EXPECT.
pwc_dns_probe() {
	local out
	out=$(pwc_dig "$1" "$2" "$3" "${5:-udp}")
	if printf '%s\n' "$out" | grep -qxF "$4"; then echo ok; return 0; fi
	echo fail; return 1
}

# pwc_probe_all SPEC...: run probes in parallel. A SPEC is "FROM DST PORT PROTO"
# (PROTO tcp or udp) or "FROM SERVER QNAME=EXPECT dns|dnstcp". Fills the
# associative array PWC_RES[SPEC]=ok|fail. Every probe is time-bounded.
declare -gA PWC_RES=()
pwc_probe_all() {
	local spec i=0 pids=() dir
	dir=$(mktemp -d "$PWC_WORK/tmp/probe.XXXXXX")
	for spec in "$@"; do
		( _pwc_probe_spec $spec >"$dir/$i" 2>/dev/null ) &
		pids+=($!); i=$((i + 1))
	done
	for i in "${!pids[@]}"; do wait "${pids[$i]}" 2>/dev/null; done
	i=0
	for spec in "$@"; do
		PWC_RES[$spec]=$(cat "$dir/$i" 2>/dev/null); [ -n "${PWC_RES[$spec]}" ] || PWC_RES[$spec]=fail
		i=$((i + 1))
	done
	rm -rf "$dir"
}
_pwc_probe_spec() {  # FROM DST PORT PROTO
	case $4 in
	dns)    pwc_dns_probe "$1" "$2" "${3%%=*}" "${3#*=}" udp ;;
	dnstcp) pwc_dns_probe "$1" "$2" "${3%%=*}" "${3#*=}" tcp ;;
	*)      pwc_probe "$1" "$2" "$3" "$4" ;;
	esac
}

# pwc_wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds; 1 on timeout.
pwc_wait_for() {
	local end=$(( $(pwc_now_ms) + ${1%.*} * 1000 )); shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(pwc_now_ms)" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# pwc_stream_start FROM DST PORT: a long-lived TCP session to an echo server
# that sends a line every 50 ms; the echoes pile up in a file whose size
# pwc_stream_bytes reports (growing = the connection is alive). PWC_LAST_PID.
pwc_stream_start() {
	local from=$1 ip port=$3 netns out
	ip=$(pwc_ip "$2"); netns=$(pwc_pod_netns "$from")
	out=$PWC_WORK/logs/stream-${from/\//-}-$ip-$port.out
	: >"$out"
	pwc_spawn "$PWC_WORK/logs/stream-${from/\//-}-$ip-$port.log" bash -c '
		i=0; while :; do i=$((i + 1)); echo "tick $i"; sleep 0.05; done |
		exec nsenter --net="/run/netns/$1" socat -T 600 - TCP:"$2":"$3",connect-timeout=2 >"$4"' \
		_ "$netns" "$ip" "$port" "$out"
	PWC_STREAM_OUT=$out
}
pwc_stream_bytes() { stat -c %s "$1" 2>/dev/null || echo 0; }

# ------------------------------------------------------------- the agent

# pwc_agent_start NODE [ARGS...]: `podwall agent --source $PWC_SRC --pin-dir
# $PWC_PIN_BASE/$PREFIX-NODE [--uplink up0] ARGS` in the node's namespace.
pwc_agent_start() {
	local node=$1; shift
	local netns pin log extra=()
	netns=$(pwc_node_netns "$node") || return 1
	pin=$(pwc_pin_dir "$node")
	log=$PWC_WORK/logs/agent-$node.log
	[ "$(_pwc_node_get "$node" NODE_HAS_UPLINK)" = 1 ] && extra=(--uplink up0)
	echo "$pin" >"$PWC_WORK/agents/$node.pin"
	echo "=== $(date +%T.%N | cut -c1-12) podwall agent ${extra[*]} $*" >>"$log"
	pwc_spawn "$log" nsenter --net="/run/netns/$netns" \
		"$PODWALL" agent --source "$PWC_SRC" --pin-dir "$pin" "${extra[@]}" "$@"
	echo "$PWC_LAST_PID" >"$PWC_WORK/agents/$node.pid"
}
pwc_pin_dir()   { echo "$PWC_PIN_BASE/$PWC_PREFIX-$1"; }
pwc_agent_pid() { cat "$PWC_WORK/agents/$1.pid" 2>/dev/null; }
pwc_agent_log() { echo "$PWC_WORK/logs/agent-$1.log"; }
pwc_agent_alive() { local p; p=$(pwc_agent_pid "$1") && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

# pwc_agent_stop NODE [SIGNAL]: TERM (default, waits) or KILL the node's agent.
pwc_agent_stop() {
	local pid; pid=$(pwc_agent_pid "$1") || return 0
	[ -n "$pid" ] || return 0
	pwc_kill "$pid" "${2:-TERM}"
	rm -f "$PWC_WORK/agents/$1.pid"
}

# pwc_agent_uninstall NODE: `podwall uninstall` for the node's pins.
pwc_agent_uninstall() {
	local node=$1 pin netns
	pin=$(cat "$PWC_WORK/agents/$node.pin" 2>/dev/null) || return 0
	netns=$(pwc_node_netns "$node")
	if [ -x "$PODWALL" ] && [ -e "/run/netns/$netns" ]; then
		timeout -k 1 15 nsenter --net="/run/netns/$netns" "$PODWALL" uninstall --pin-dir "$pin" \
			>>"$(pwc_agent_log "$node")" 2>&1
	fi
}

# ------------------------------------------------------------- cleanup

# pwc_cleanup: stop agents, `podwall uninstall` in each node, kill every
# process started here, delete every namespace made here, remove leftover pins
# of our pin directories and the state directory (kept if PWC_KEEP=1).
pwc_cleanup() {
	local rc=$? node pid ns pin f
	[ "${PWC_CLEANED:-1}" = 0 ] || return $rc
	PWC_CLEANED=1
	[ -n "${PWC_WORK:-}" ] && [ -d "$PWC_WORK" ] || return $rc
	trap '' INT TERM
	for f in "$PWC_WORK"/agents/*.pid; do
		[ -e "$f" ] || continue
		node=$(basename "$f" .pid)
		pwc_agent_stop "$node"
	done
	for f in "$PWC_WORK"/agents/*.pin; do
		[ -e "$f" ] || continue
		pwc_agent_uninstall "$(basename "$f" .pin)"
	done
	while read -r pid; do
		[ -n "$pid" ] || continue
		kill -TERM -- -"$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
	done <"$PWC_WORK/pids"
	sleep 0.2
	while read -r pid; do
		[ -n "$pid" ] || continue
		kill -KILL -- -"$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done <"$PWC_WORK/pids"
	# pods first (their veth ends go with them), then the nodes
	tac "$PWC_WORK/netns" | while read -r ns; do
		[ -n "$ns" ] && [ -e "/run/netns/$ns" ] && ip netns del "$ns" 2>/dev/null
	done
	for f in "$PWC_WORK"/agents/*.pin; do
		[ -e "$f" ] || continue
		pin=$(cat "$f")
		case $pin in "$PWC_PIN_BASE"/"$PWC_PREFIX"-*) [ -e "$pin" ] && rm -rf "$pin" ;; esac
	done
	rmdir "$PWC_PIN_BASE" 2>/dev/null # only if empty: other runs' pins stay
	if [ "${PWC_KEEP:-0}" = 1 ]; then
		pwc_log "cluster: state kept in $PWC_WORK"
	else
		rm -rf "$PWC_WORK"
	fi
	return $rc
}

# ------------------------------------------------------------- the seed cluster

# pwc_seed [NODES]: the demo's scenario. production/{frontend,backend,postgres}
# serving TCP 80, 8080, 5432; kube-system/coredns (dnsmasq, k8s-app=kube-dns)
# answering backend.production.svc.cluster.local; Services kube-dns
# (198.19.255.10:53 UDP+TCP) and backend (198.19.255.20:8080). With NODES=2,
# postgres lives on node2 behind the uplink.
pwc_seed() {
	local nodes=${1:-1} pg_node=node1
	pwc_node node1
	if [ "$nodes" -ge 2 ]; then
		pwc_node node2; pwc_uplink node1 node2; pg_node=node2
	fi
	pwc_namespace production
	pwc_namespace kube-system
	pwc_pod node1 production frontend "app=frontend" "http:80/TCP"
	pwc_pod node1 production backend  "app=backend"  "http:8080/TCP"
	pwc_pod "$pg_node" production postgres "app=postgres" "postgres:5432/TCP"
	pwc_dns_pod node1 kube-system coredns \
		"backend.production.svc.$PWC_DNS_DOMAIN=$(pwc_ip production/backend)"
	pwc_service kube-system kube-dns 198.19.255.10 "k8s-app=kube-dns" "53/UDP:53,53/TCP:53"
	pwc_service production backend 198.19.255.20 "app=backend" "8080/TCP:8080"
	pwc_serve production/frontend tcp 80
	pwc_serve production/backend tcp 8080
	pwc_serve production/postgres tcp 5432
}

# The seed scenario's policies (the demo's step 3), by name:
#   default-deny-all     production: every pod isolated, ingress and egress
#   allow-dns            production -> kube-system/k8s-app=kube-dns on udp/53, tcp/53
#   frontend-to-backend  frontend -> backend tcp/8080 (egress of frontend, ingress of backend)
#   backend-to-postgres  backend -> postgres tcp/5432 (egress of backend, ingress of postgres)
PWC_SEED_POLICIES=(default-deny-all allow-dns frontend-to-backend backend-to-postgres)

# pwc_seed_policy NAME: that policy's YAML on stdout. One text for every user
# (demo, tests): tests name its file:line in what they expect.
pwc_seed_policy() {
	case $1 in
	default-deny-all)
		cat <<-'EOF'
		apiVersion: networking.k8s.io/v1
		kind: NetworkPolicy
		metadata:
		  name: default-deny-all
		  namespace: production
		spec:
		  podSelector: {}
		  policyTypes: [Ingress, Egress]
		EOF
		;;
	allow-dns)
		cat <<-'EOF'
		apiVersion: networking.k8s.io/v1
		kind: NetworkPolicy
		metadata:
		  name: allow-dns
		  namespace: production
		spec:
		  podSelector: {}
		  policyTypes: [Egress]
		  egress:
		  - to:
		    - namespaceSelector:
		        matchLabels:
		          kubernetes.io/metadata.name: kube-system
		      podSelector:
		        matchLabels:
		          k8s-app: kube-dns
		    ports:
		    - {protocol: UDP, port: 53}
		    - {protocol: TCP, port: 53}
		EOF
		;;
	frontend-to-backend) _pwc_seed_allow_pair frontend-to-backend frontend backend 8080 ;;
	backend-to-postgres) _pwc_seed_allow_pair backend-to-postgres backend postgres 5432 ;;
	*) pwc_log "pwc_seed_policy: no seed policy '$1' (${PWC_SEED_POLICIES[*]})"; return 2 ;;
	esac
}

# name from to port: the from pod's egress and the to pod's ingress, one TCP port
_pwc_seed_allow_pair() {
	cat <<-EOF
	apiVersion: networking.k8s.io/v1
	kind: NetworkPolicy
	metadata:
	  name: $1-egress
	  namespace: production
	spec:
	  podSelector:
	    matchLabels: {app: $2}
	  policyTypes: [Egress]
	  egress:
	  - to:
	    - podSelector:
	        matchLabels: {app: $3}
	    ports:
	    - {protocol: TCP, port: $4}
	---
	apiVersion: networking.k8s.io/v1
	kind: NetworkPolicy
	metadata:
	  name: $1-ingress
	  namespace: production
	spec:
	  podSelector:
	    matchLabels: {app: $3}
	  policyTypes: [Ingress]
	  ingress:
	  - from:
	    - podSelector:
	        matchLabels: {app: $2}
	    ports:
	    - {protocol: TCP, port: $4}
	EOF
}

# pwc_seed_policies: every seed policy into the source directory as NAME.yaml,
# in the order above (each file atomically, see pwc_write).
pwc_seed_policies() {
	local n
	for n in "${PWC_SEED_POLICIES[@]}"; do
		pwc_seed_policy "$n" | pwc_write "$n.yaml" || return 1
	done
}

pwc_describe() {
	local node p
	for node in $(pwc_nodes); do
		printf '  %s  netns %s  pods %s  gateway %s  uplink %s\n' "$node" "$(pwc_node_netns "$node")" \
			"$(_pwc_node_get "$node" NODE_CIDR)" "$(_pwc_node_get "$node" NODE_GW)" \
			"$( [ "$(_pwc_node_get "$node" NODE_HAS_UPLINK)" = 1 ] && echo "up0 $(pwc_node_ip "$node")" || echo -)"
		for p in $(pwc_pods); do
			[ "$(pwc_pod_node "$p")" = "$node" ] || continue
			printf '    %-22s %-14s netns %-28s host veth %s\n' "$p" "$(pwc_ip "$p")" "$(pwc_pod_netns "$p")" "$(pwc_pod_veth "$p")"
		done
	done
}

# ------------------------------------------------------------- CLI

_pwc_main() {
	local cmd=${1:-help}; shift || true
	case $cmd in
	shell)
		local nodes=1
		while [ $# -gt 0 ]; do
			case $1 in --nodes) nodes=$2; shift 2 ;; *) pwc_die "unknown option $1" ;; esac
		done
		pwc_init
		pwc_seed "$nodes"
		echo "cluster $PWC_PREFIX is up (state: $PWC_WORK, agent source: $PWC_SRC):"
		pwc_describe
		cat >"$PWC_WORK/bashrc" <<-EOF
		[ -f ~/.bashrc ] && . ~/.bashrc
		. "$PWC_ROOT/scripts/cluster.sh"
		pwc_load "$PWC_WORK"
		PS1='[cluster $PWC_PREFIX] \\w# '
		EOF
		cat <<-EOF
		In this shell the pwc_* functions work on this cluster, e.g.
		  pwc_probe production/frontend production/backend 8080 tcp
		  pwc_dig production/frontend kube-system/coredns backend.production.svc.cluster.local
		  pwc_agent_start node1;  pwc_node_exec node1 ip route
		Exit the shell to remove everything.
		EOF
		bash --rcfile "$PWC_WORK/bashrc" -i || true
		;;
	down)
		[ -n "${1:-}" ] || pwc_die "usage: cluster.sh down WORKDIR"
		pwc_load "$1"
		pwc_cleanup
		;;
	list)
		local d
		for d in /tmp/podwall-*/; do
			[ -f "$d/prefix" ] && echo "${d%/}  prefix $(cat "$d/prefix")"
		done
		true
		;;
	*)
		sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
		;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -uo pipefail
	_pwc_main "$@"
fi
