#!/usr/bin/env bash
# End to end: a same-node flow judged once (bpf/lib/direct.h). Once both
# pods' checks let a flow through, from_pod sends its packets straight into
# the other pod (bpf_redirect_peer), skipping the node's forwarding path and
# the destination's to_pod hook.
#
#   node1: production/a (client)  production/b (tcp/7000 echo, udp/7001 echo, iperf3 tcp/5201)
#   Service production/b 198.19.255.31: 80/TCP -> 7000, 81/UDP -> 7001 (iptables DNAT)
#   policies: default-deny in production; a -> b on tcp/7000, udp/7001, tcp/5201
#             (a's egress and b's ingress, each its own file)
#
# The agent runs with --redirect (off by default). Checks: a TCP stream and an iperf3 transfer a -> b pass and the redirected
# counter (podwall_packets_redirected_total) rises by about the packets sent;
# UDP datagrams and their echoes all come back; a flow to the Service's
# ClusterIP gets its replies from the ClusterIP (a long stream, a UDP
# exchange) and is never redirected; a policy change that keeps the flow
# keeps it flowing (and direct again once re-checked), with the node dropping
# what its conntrack calls INVALID as kube-proxy does; removing b's ingress allow cuts the
# established stream (the next packets are dropped by b's to_pod); the agent
# without --redirect (the default) redirects nothing (streams still pass).
#
# Run: bash tests/e2e/redirect.sh (root; ./podwall built).
set -uo pipefail
. "$(dirname "$0")/../lib/e2e.sh"
pwe_begin redirect

A=production/a B=production/b VIP=198.19.255.31 MPORT=9090

pwc_node node1
pwc_namespace production
pwc_pod node1 production a "app=a"
pwc_pod node1 production b "app=b" "echo:7000/TCP,echo-udp:7001/UDP,iperf:5201/TCP"
pwc_serve $B tcp 7000
pwc_serve $B udp 7001
pwc_serve_iperf $B 5201
pwc_service production b $VIP "app=b" "80/TCP:7000,81/UDP:7001"
NETNS=/run/netns/$(pwc_node_netns node1)
# as kube-proxy does (KUBE-FORWARD): what the node's conntrack calls INVALID is
# dropped, so that a flow whose middle the node never saw could not come back
# through it unnoticed
nsenter --net="$NETNS" iptables -I FORWARD -m conntrack --ctstate INVALID -j DROP

scrape() { timeout -k 1 5 nsenter --net="$NETNS" curl -s --max-time 3 "http://127.0.0.1:$MPORT/metrics"; }
# metric NAME: its value in a fresh scrape, -1 if it cannot be read
metric() { scrape | awk -v k="$1" '$1 == k { v = $2; f = 1 } END { printf "%d\n", f ? v : -1 }'; }
redirected() { metric 'podwall_packets_redirected_total{to="pod"}'; }
via_veth() { metric 'podwall_packets_redirected_total{to="veth"}'; }

# udp_exchange DST PORT N: N datagrams on one socket from a; prints the echoes back
udp_exchange() {
	timeout -k 1 15 nsenter --net="/run/netns/$(pwc_pod_netns $A)" "$PWC_PY" -c '
import socket, sys
ip, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
s.connect((ip, port))   # replies from another address are not ours
got = 0
for i in range(n):
    msg = b"datagram %d\n" % i
    s.send(msg)
    try:
        if s.recv(2048) == msg:
            got += 1
    except OSError:
        pass
print(got)' "$1" "$2" "$3"
}

# a stream to DST PORT flows for 2 s, and how many bytes it echoed meanwhile
stream_for_2s() {
	local before after
	pwc_stream_start $A "$1" "$2"
	pwe_stream_flowing "$PWC_STREAM_OUT" 3000 || return 1
	before=$(pwc_stream_bytes "$PWC_STREAM_OUT"); sleep 2
	after=$(pwc_stream_bytes "$PWC_STREAM_OUT")
	[ "$after" -gt "$before" ]
}

pwe_np_default_deny production | pwc_write np-deny.yaml
pwe_np_allow_pair a-b production app=a app=b 7000/TCP 7001/UDP 5201/TCP >"$PWC_WORK/pair.yaml"
# each half its own file, so that b's ingress can go alone
awk 'BEGIN { RS = "---\n" } NR == 1' "$PWC_WORK/pair.yaml" | pwc_write np-a-egress.yaml
awk 'BEGIN { RS = "---\n" } NR == 2' "$PWC_WORK/pair.yaml" | pwc_write np-b-ingress.yaml

pwc_agent_start node1 --metrics "$MPORT" --redirect
if pwe_wait_state "$PWE_START_S" "ok:$A $B 7000 tcp" "fail:$B $A 7000 tcp"; then
	pwe_pass agent_enforces
else
	pwe_fail agent_enforces "not enforced within ${PWE_START_S}s: $(tail -n 3 "$(pwc_agent_log node1)" | tr '\n' ' ')"
fi
# (the first scrape may come before the agent's first sync is seen)
pwc_wait_for 10 bash -c "[ \"\$(timeout 3 nsenter --net=$NETNS curl -s --max-time 1 \
	http://127.0.0.1:$MPORT/metrics | awk '\$1 == \"podwall_redirect_mode\" { print \$2 }')\" != '' ]"
mode=$(metric podwall_redirect_mode)
[ "$mode" = 1 ] && pwe_pass redirect_on_with_flag || pwe_fail redirect_on_with_flag "podwall_redirect_mode $mode"

# ------------------------------------------------------------ a Service: through the node
# (first, while no other flow runs: the counter must not move)
r0=$(redirected)
if stream_for_2s $VIP 80; then
	pwe_pass service_stream_replies_from_clusterip
else
	pwe_fail service_stream_replies_from_clusterip "a stream to $VIP:80 does not flow"
fi
pwc_kill "$PWC_LAST_PID"
got=$(udp_exchange $VIP 81 10)
[ "$got" = 10 ] && pwe_pass service_udp_replies_from_clusterip ||
	pwe_fail service_udp_replies_from_clusterip "$got/10 echoes from $VIP:81"
r1=$(redirected)
if [ "$r0" -ge 0 ] && [ "$r1" = "$r0" ]; then
	pwe_pass service_flows_not_redirected "redirected stays $r1"
else
	pwe_fail service_flows_not_redirected "redirected $r0 -> $r1"
fi

# ------------------------------------------------------------ streams pass, redirected
r0=$(redirected)
if stream_for_2s $B 7000; then
	r1=$(redirected)
	# ticks every 50 ms, each an echo: about 80 packets each way in 2 s
	if [ "$r1" -ge $((r0 + 40)) ]; then
		pwe_pass tcp_stream_redirected "redirected $r0 -> $r1"
	else
		pwe_fail tcp_stream_redirected "the stream flows but redirected went $r0 -> $r1"
	fi
else
	pwe_fail tcp_stream_redirected "the stream a -> b:7000 does not flow"
fi
STREAM=$PWC_STREAM_OUT STREAM_PID=$PWC_LAST_PID

r0=$(redirected)
out=$(timeout -k 1 20 nsenter --net="/run/netns/$(pwc_pod_netns $A)" \
	iperf3 -c "$(pwc_ip $B)" -p 5201 -t 2 -J 2>&1)
bytes=$("$PWC_PY" -c 'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bytes"]))' \
	<<<"$out" 2>/dev/null || echo 0)
r1=$(redirected)
if [ "$bytes" -gt 1000000 ] && [ "$r1" -ge $((r0 + 1000)) ]; then
	pwe_pass iperf_redirected "$((bytes / 1000000)) MB received, redirected +$((r1 - r0))"
else
	pwe_fail iperf_redirected "received $bytes bytes, redirected $r0 -> $r1"
fi

r0=$(redirected)
got=$(udp_exchange "$(pwc_ip $B)" 7001 20)
r1=$(redirected)
# the first datagram opens the flow through the node; its echo and the rest go direct
if [ "$got" = 20 ] && [ "$r1" -ge $((r0 + 30)) ]; then
	pwe_pass udp_exchange_redirected "20/20 echoes, redirected +$((r1 - r0))"
else
	pwe_fail udp_exchange_redirected "$got/20 echoes, redirected $r0 -> $r1"
fi

# ------------------------------------------------------------ a change that keeps the flow
# its packets go back through the node (and both hooks) until to_pod has
# re-checked, then direct again; the node's conntrack saw only its opening
if pwe_stream_flowing "$STREAM" 1000; then
	gen0=$(metric podwall_policy_generation)
	pwe_np_allow_pair a-b production app=a app=b 7000/TCP 7001/UDP 5201/TCP 7002/TCP |
		awk 'BEGIN { RS = "---\n" } NR == 1' | pwc_write np-a-egress.yaml
	pwc_wait_for 5 bash -c "[ \"\$(timeout 3 nsenter --net=$NETNS curl -s --max-time 1 \
		http://127.0.0.1:$MPORT/metrics | awk '\$1 == \"podwall_policy_generation\" { print \$2 }')\" != $gen0 ]"
	gen1=$(metric podwall_policy_generation)
	r0=$(redirected)
	if [ "$gen1" != "$gen0" ] && pwe_stream_flowing "$STREAM" 1000 && sleep 1 &&
	   [ "$(redirected)" -gt "$r0" ]; then
		ok=1
	else
		ok=0
	fi
	invalid=$(nsenter --net="$NETNS" iptables -L FORWARD -v -n -x | awk '/ctstate INVALID/ { print $1 }')
	what="generation $gen0 -> $gen1, redirected $r0 -> $(redirected), to b's veth $(via_veth), node INVALID drops $invalid"
	if [ $ok = 1 ] && [ "$(via_veth)" -gt 0 ] && [ "$invalid" = 0 ]; then
		pwe_pass change_keeps_redirected_flow "$what"
	else
		pwe_fail change_keeps_redirected_flow "$what"
	fi
else
	pwe_fail change_keeps_redirected_flow "the stream had stopped before the change"
fi

# ------------------------------------------------------------ b's ingress allow goes
if pwe_stream_flowing "$STREAM" 1000; then
	pwc_rm np-b-ingress.yaml
	PWE_T0=$(pwc_now_ms)
	cut=$(pwe_stream_cut_ms 1000 "$((PWE_EDIT_MS + 2000))" "$STREAM")
	if [ "$cut" != never ] && [ "$cut" -le $((PWE_EDIT_MS + 1000)) ]; then
		pwe_pass revoke_cuts_redirected_flow "last echo ${cut} ms after the edit"
	else
		pwe_fail revoke_cuts_redirected_flow "the established stream still flows ($cut)"
	fi
else
	pwe_fail revoke_cuts_redirected_flow "the stream had stopped before the edit"
fi
pwc_kill "$STREAM_PID"
pwe_expect revoked_flow_stays_denied fail "$A $B 7000 tcp"
pwe_np_allow_pair a-b production app=a app=b 7000/TCP 7001/UDP 5201/TCP >"$PWC_WORK/pair.yaml"
awk 'BEGIN { RS = "---\n" } NR == 2' "$PWC_WORK/pair.yaml" | pwc_write np-b-ingress.yaml
pwe_wait_state 5 "ok:$A $B 7000 tcp" || pwe_fail allow_back "a -> b:7000 not open again"

# ------------------------------------------------------------ without --redirect (the default)
pwc_agent_stop node1
pwc_agent_start node1 --metrics "$MPORT"
pwc_wait_for 10 bash -c "[ \"\$(timeout 3 nsenter --net=$NETNS curl -s --max-time 1 \
	http://127.0.0.1:$MPORT/metrics | awk '\$1 == \"podwall_redirect_mode\" { print \$2 }')\" = 0 ]"
mode=$(metric podwall_redirect_mode)
r0=$(redirected)
if stream_for_2s $B 7000 && [ "$(udp_exchange "$(pwc_ip $B)" 7001 10)" = 10 ]; then
	r1=$(redirected)
	if [ "$mode" = 0 ] && [ "$r1" = "$r0" ]; then
		pwe_pass default_redirects_nothing "streams pass, redirected stays $r1"
	else
		pwe_fail default_redirects_nothing "mode $mode, redirected $r0 -> $r1"
	fi
else
	pwe_fail default_redirects_nothing "a -> b does not pass without --redirect"
fi
pwc_kill "$PWC_LAST_PID"
pwe_agent_log_clean node1

pwe_end
