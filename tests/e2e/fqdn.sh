#!/usr/bin/env bash
# End to end, real packets: ClusterNetworkPolicy egress `domainNames`, learned
# in the kernel from each pod's own DNS answers (issue 18, DESIGN §10.3).
#
#   node1: app/a, app/b     (team=app: egress default-deny + DNS, and an Admin
#                            Accept of domainNames on tcp/7000)
#          free/ctl         (no policy: shows every server is reachable)
#          kube-system/coredns   dnsmasq, k8s-app=kube-dns, behind the
#                                kube-dns Service 198.19.255.10 (udp+tcp 53)
#          kube-system/silent    k8s-app=kube-dns too, answers nothing (the
#                                server a forger races)
#   ext:   a namespace of its own behind node1 (link 198.19.100.0/24), the
#          "internet": servers on 198.19.101.0/24 (outside the pod and
#          Service ranges), echo on tcp/7000 and tcp/7001.
#
# dnsmasq serves, with TTLs shorter than the kernel's floor (PW_FQDN_TTL_MIN,
# read from abi.h), so every learned address lives exactly that long:
#   www.example.com -> .10   a.b.example.com -> .11   example.com -> .12
#   alias.example.org CNAME cdn.other.net -> .13      short.example.net -> .14
#   tcp.example.net -> .15   other.example.net -> .16
# The rule allows www.example.com, *.example.com, alias.example.org,
# short.example.net, tcp.example.net, other.example.net, forged.example.net.
#
# Each check can fail on its own: before a lookup the address is denied; after
# the pod's own lookup it is allowed; another pod's lookup opens nothing for
# this pod; `*.example.com` opens a.b.example.com, not example.com; the name
# asked is what counts (cdn.other.net asked directly opens nothing, asked as
# alias.example.org's CNAME target it does); a new connection after the TTL is
# denied while one established before lives on; tcp/7001 stays closed; a TCP
# lookup learns; a forged answer (right id, port and question, from a non-DNS
# address) reaches the pod and opens nothing. Also: monitor's learned event
# and its drop text, the learning metrics.
#
# Run: bash tests/e2e/fqdn.sh (root; ./podwall built).
set -uo pipefail
. "$(dirname "$0")/../lib/e2e.sh"
pwe_begin fqdn

A=app/a B=app/b CTL=free/ctl
DNS_VIP=198.19.255.10
EXT=198.19.101
WWW=$EXT.10 DEEP=$EXT.11 APEX=$EXT.12 CDN=$EXT.13 SHORT=$EXT.14 TCPN=$EXT.15 OTHER=$EXT.16
FORGED=$EXT.17 FORGER=$EXT.99
TTL_MIN=$(awk '$2 == "PW_FQDN_TTL_MIN" {print $3}' include/podwall/abi.h)
[ -n "$TTL_MIN" ] || { pwe_fail setup "PW_FQDN_TTL_MIN not found in abi.h"; exit 1; }
MPORT=9093

pwc_node node1
pwc_namespace app "team=app"
pwc_namespace free "team=free"
pwc_namespace kube-system "team=sys"
pwc_pod node1 app a "app=a"
pwc_pod node1 app b "app=b"
pwc_pod node1 free ctl "app=ctl"
# the cluster DNS: dnsmasq with short TTLs, a CNAME, exact host records
pwc_dns_pod node1 --local-ttl=2 \
	--host-record=www.example.com,$WWW --host-record=a.b.example.com,$DEEP \
	--host-record=example.com,$APEX --host-record=cdn.other.net,$CDN \
	--cname=alias.example.org,cdn.other.net,2 --host-record=short.example.net,$SHORT \
	--host-record=tcp.example.net,$TCPN --host-record=other.example.net,$OTHER
pwc_service kube-system kube-dns $DNS_VIP "k8s-app=kube-dns" "53/UDP:53,53/TCP:53"
# after the Service: not one of its backends, only a DNS server pods may ask
pwc_pod node1 kube-system silent "k8s-app=kube-dns" "dns:53/UDP"
SILENT=$(pwc_ip kube-system/silent)

# the "internet": a namespace behind node1, servers on $EXT.0/24
EXTNS=$PWC_PREFIX-ext
_pwc_netns_add "$EXTNS"
NODENS=$(pwc_node_netns node1)
ip -n "$NODENS" link add ext0 type veth peer name eth0 netns "$EXTNS" || pwc_die "ext veth"
ip -n "$NODENS" addr add 198.19.100.1/24 dev ext0
ip -n "$NODENS" link set ext0 up
ip -n "$EXTNS" addr add 198.19.100.2/24 dev eth0
ip -n "$EXTNS" link set eth0 up
ip -n "$EXTNS" route add default via 198.19.100.1
for h in 10 11 12 13 14 15 16 17 99; do ip -n "$EXTNS" addr add "$EXT.$h/32" dev lo; done
ip -n "$NODENS" route add "$EXT.0/24" via 198.19.100.2 dev ext0
for port in 7000 7001; do
	pwc_spawn "$PWC_WORK/logs/ext-$port.log" nsenter --net="/run/netns/$EXTNS" \
		socat TCP-LISTEN:$port,reuseaddr,fork PIPE
	_pwc_wait_listen "$EXTNS" tcp $port || pwe_note "ext server $port not listening"
done

# policies: app's egress isolated, DNS allowed; names on tcp/7000 (Admin tier)
pwe_np_default_deny app Egress | pwc_write np-deny.yaml
pwc_write np-dns.yaml <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-dns, namespace: app}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
      podSelector: {matchLabels: {k8s-app: kube-dns}}
    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
EOF
pwc_write cnp-names.yaml <<'EOF'
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: app-names}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {team: app}}}
  egress:
  - name: by-name
    action: Accept
    to:
    - domainNames: [www.example.com, "*.example.com", alias.example.org, short.example.net,
                    tcp.example.net, other.example.net, forged.example.net]
    protocols: [{tcp: {destinationPort: {number: 7000}}}]
EOF

pwc_agent_start node1 --metrics "$MPORT"

dig_a() {   # POD QNAME [udp|tcp]: the A records (dig via the DNS Service)
	pwc_dig "$1" "$DNS_VIP" "$2" "${3:-udp}" 2>/dev/null | tr '\n' ' ' | sed 's/ $//'
}
# lookup NAME POD QNAME WANT [udp|tcp]: one check that the pod's lookup answered WANT
lookup() {
	local got; got=$(dig_a "$2" "$3" "${5:-udp}")
	if grep -qw "$4" <<<"$got"; then return 0; fi
	pwe_fail "$1" "$2 looked up $3 ${5:-udp}: '$got', not $4"
	return 1
}
metric() {  # NAME: the value of one sample of /metrics (empty if absent)
	timeout -k 1 5 nsenter --net="/run/netns/$NODENS" curl -s --max-time 3 \
		"http://127.0.0.1:$MPORT/metrics" | awk -v n="$1" '$1 == n {print $2}'
}

# 0. enforced: app/a's egress is isolated, DNS works (a name the rule does not list)
if pwe_wait_state "$PWE_START_S" "fail:$A $WWW 7000 tcp" "ok:$A $DNS_VIP example.com=$APEX dns"; then
	pwe_pass enforced
else
	pwe_fail enforced "not within ${PWE_START_S}s: $(tail -n 3 "$(pwc_agent_log node1)" | tr '\n' ' ')"
fi
pwe_monitor_start node1 120
MON=$PWE_MON_OUT
sleep 0.5
pwe_expect servers_reachable_without_policy ok "$CTL $WWW 7000 tcp" "$CTL $WWW 7001 tcp" \
	"$CTL $DEEP 7000 tcp" "$CTL $APEX 7000 tcp" "$CTL $CDN 7000 tcp" "$CTL $OTHER 7000 tcp"

# 1. before a lookup: denied
pwe_expect denied_before_lookup fail "$A $WWW 7000 tcp" "$A $DEEP 7000 tcp" "$B $OTHER 7000 tcp" \
	"$A $TCPN 7000 tcp"

# 2. after the pod's own lookup: allowed; tcp/7001 is not in the rule
if lookup allowed_after_own_lookup $A www.example.com $WWW; then
	pwe_expect allowed_after_own_lookup ok "$A $WWW 7000 tcp"
fi
pwe_expect port_not_in_rule_closed fail "$A $WWW 7001 tcp"

# 3. another pod's lookup opens nothing for this pod
if lookup other_pod_lookup_is_its_own $B other.example.net $OTHER; then
	pwe_expect other_pod_lookup_opens_for_it ok "$B $OTHER 7000 tcp"
	pwe_expect other_pod_lookup_not_for_this_pod fail "$A $OTHER 7000 tcp"
fi

# 4. *.example.com: one or more labels before example.com, never example.com itself
if lookup wildcard_opens_subdomain $A a.b.example.com $DEEP; then
	pwe_expect wildcard_opens_subdomain ok "$A $DEEP 7000 tcp"
fi
if lookup wildcard_not_apex $A example.com $APEX; then
	pwe_expect wildcard_not_apex fail "$A $APEX 7000 tcp"
fi

# 5. the name asked is what counts: cdn.other.net directly opens nothing; as
# the CNAME target of the allowed alias.example.org it opens its addresses
if lookup cname_target_by_itself_closed $A cdn.other.net $CDN; then
	pwe_expect cname_target_by_itself_closed fail "$A $CDN 7000 tcp"
fi
if lookup cname_chain_opens_answer $A alias.example.org $CDN; then
	pwe_expect cname_chain_opens_answer ok "$A $CDN 7000 tcp"
fi

# 6. a lookup over TCP learns too
if lookup tcp_lookup_learns $A tcp.example.net $TCPN tcp; then
	pwe_expect tcp_lookup_learns ok "$A $TCPN 7000 tcp"
fi

# 7. TTL: a new connection after expiry is denied; an established one lives on
if lookup ttl_expiry $A short.example.net $SHORT; then
	pwc_stream_start $A $SHORT 7000
	STREAM=$PWC_STREAM_OUT STREAM_PID=$PWC_LAST_PID
	sleep 1
	b0=$(pwc_stream_bytes "$STREAM")
	pwe_expect ttl_allowed_before_expiry ok "$A $SHORT 7000 tcp"
	sleep "$TTL_MIN"
	pwe_expect ttl_expired_new_connection_denied fail "$A $SHORT 7000 tcp"
	b1=$(pwc_stream_bytes "$STREAM"); sleep 1; b2=$(pwc_stream_bytes "$STREAM")
	if [ "$b0" -gt 0 ] && [ "$b2" -gt "$b1" ]; then
		pwe_pass ttl_established_lives_on "$b0 -> $b1 -> $b2 bytes"
	else
		pwe_fail ttl_established_lives_on "stream bytes $b0 at 1 s, $b1 after the TTL, $b2 a second later"
	fi
	pwc_kill "$STREAM_PID"
	# and a fresh lookup opens it again
	if lookup ttl_relookup_opens $A short.example.net $SHORT; then
		pwe_expect ttl_relookup_opens ok "$A $SHORT 7000 tcp"
	fi
fi

# 8. a forged answer: a asks the silent DNS pod for forged.example.net (an
# allowed name: the query is remembered); a host outside the cluster answers
# it with the right id, port and question. It reaches the pod; it opens nothing.
forged0=$(metric 'podwall_fqdn_answers_total{result="forged"}')
cat >"$PWC_WORK/tmp/ask.py" <<'EOF'
import socket, struct, sys
server, name = sys.argv[1], sys.argv[2]
q = struct.pack("!6H", 0x4242, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack("!HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 40053))
s.sendto(q, (server, 53))
s.settimeout(6)
try:
    while True:
        d, src = s.recvfrom(4096)
        print("answer from %s:%d id %#x ancount %d" % (src[0], src[1], struct.unpack("!H", d[:2])[0],
              struct.unpack("!H", d[6:8])[0]), flush=True)
except socket.timeout:
    pass
EOF
pwc_spawn "$PWC_WORK/logs/forge-client.log" nsenter --net="/run/netns/$(pwc_pod_netns $A)" \
	"$PWC_PY" "$PWC_WORK/tmp/ask.py" "$SILENT" forged.example.net
FCLIENT=$PWC_LAST_PID
sleep 0.5
timeout -k 1 5 nsenter --net="/run/netns/$EXTNS" "$PWC_PY" - "$FORGER" "$(pwc_ip $A)" forged.example.net "$FORGED" <<'EOF'
import socket, struct, sys
src, dst, name, addr = sys.argv[1:5]
qn = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
m = struct.pack("!6H", 0x4242, 0x8180, 1, 1, 0, 0) + qn + struct.pack("!HH", 1, 1)
m += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + socket.inet_aton(addr)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 53))
for _ in range(3):
    s.sendto(m, (dst, 40053))
EOF
sleep 0.5
if grep -q "answer from $FORGER:53 id 0x4242 ancount 1" "$PWC_WORK/logs/forge-client.log"; then
	pwe_pass forged_answer_reached_pod
else
	pwe_fail forged_answer_reached_pod "the pod saw: $(tr '\n' ' ' <"$PWC_WORK/logs/forge-client.log")"
fi
pwe_expect forged_answer_opens_nothing fail "$A $FORGED 7000 tcp"
forged1=$(metric 'podwall_fqdn_answers_total{result="forged"}')
if [ -n "$forged1" ] && [ "${forged1%.*}" -gt "${forged0:-0}" ]; then
	pwe_pass metrics_forged_counted "forged answers ${forged0:-0} -> $forged1"
else
	pwe_fail metrics_forged_counted "forged answers '${forged0:-}' -> '${forged1:-}'"
fi
pwc_kill "$FCLIENT"

# 9. metrics: learned addresses, expirations
learned=$(metric podwall_fqdn_addresses_learned_total)
expired=$(metric 'podwall_fqdn_learned_names{state="expired"}')
exptot=$(metric podwall_fqdn_names_expired_total)
if [ "${learned:-0}" -ge 6 ] 2>/dev/null && [ $(( ${expired:-0} + ${exptot:-0} )) -ge 1 ]; then
	pwe_pass metrics_learned "podwall_fqdn_addresses_learned_total $learned, expired names held ${expired:-?}, taken back ${exptot:-?}"
else
	pwe_fail metrics_learned "learned '${learned:-}', expired held '${expired:-}', taken back '${exptot:-}'"
fi

# 10. monitor: the learned event, and the drop's reason in words
sleep 1
pwc_kill "$PWE_MON_PID"
if ev=$("$PWC_PY" - "$MON" "$WWW" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except ValueError: continue
    if (e.get("type") == "learned" and e.get("endpoint") == "app/a" and e.get("name") == "www.example.com"
            and e.get("addr") == sys.argv[2] and isinstance(e.get("ttl"), int) and e.get("name_id")):
        print(json.dumps(e)); sys.exit(0)
sys.exit(1)
EOF
); then
	pwe_pass monitor_learned_event "$ev"
else
	pwe_fail monitor_learned_event "$(grep -m2 learned "$MON" | tr '\n' ' ')"
fi
if ev=$("$PWC_PY" - "$MON" "$OTHER" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except ValueError: continue
    if (e.get("type") == "event" and e.get("verdict") == "drop" and e.get("endpoint") == "app/a"
            and e.get("dst", {}).get("addr") == sys.argv[2]
            and e.get("fqdn") == "no lookup of an allowed name returned this address for this pod"):
        print(json.dumps({k: e[k] for k in ("reason", "fqdn")})); sys.exit(0)
sys.exit(1)
EOF
); then
	pwe_pass monitor_drop_says_no_lookup "$ev"
else
	pwe_fail monitor_drop_says_no_lookup "$(grep -m2 "\"$OTHER\"" "$MON" | tr '\n' ' ' | cut -c1-300)"
fi
pwe_agent_log_clean node1
pwe_end
