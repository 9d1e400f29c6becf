#!/usr/bin/env bash
# End to end: an agent upgrade without a gap (issue 19). The agent is
# stopped and a newer build started over its pins while one pod's traffic
# flows: first a build whose map ABI differs (build/abi-next/podwall, the
# same agent stamped with another PW_ABI version: `make build/abi-next/podwall`),
# then back to ./podwall (a rollback is a switch too), then after a switch
# interrupted right after the old pins moved aside, then over pins that
# carry no ABI version (an older podwall's: version 1).
#
#   node1: prod/a (app=a), prod/b (app=b: tcp/7000 echo, tcp/7003 a
#          server that sends a line every 20 ms, udp/7001 sink), prod/c (app=c)
#   policies: default-deny (Ingress+Egress) in prod; a -> b on tcp/7000, 7003;
#             c may send anywhere (egress), but b admits only a: c's packets
#             to b are dropped by b's ingress.
#
# During each switch: a connects to b:7003 and b streams to it (b's egress
# is isolated: its packets pass only as replies, through conntrack; a maps
# set without the flow would drop them until a's next ACK), and c sends a UDP datagram to b
# every 2 ms. Checks after each switch: the new agent built new maps and
# switched every hook (its log; the old maps' prev/ dir is gone; the abi
# pin says its version), the stream's connection is alive and flowing, not
# one egress packet was dropped (a reply dropped for want of its conntrack
# entry would be), b's sink received nothing from c, new connections follow
# the policy, /readyz is 200.
#
# Run: bash tests/e2e/upgrade.sh (root; make).
set -uo pipefail
. "$(dirname "$0")/../lib/e2e.sh"
pwe_begin upgrade

NEXT=build/abi-next/podwall
if ! make -s "$NEXT" >&2; then
	pwe_fail upgrade "cannot build $NEXT"; exit 1
fi
V1=$PWE_ROOT/podwall V2=$PWE_ROOT/$NEXT
A=prod/a B=prod/b C=prod/c
HEALTH=127.0.0.1:19877

pwc_node node1
NODE_NS=$(pwc_node_netns node1)
PIN=$(pwc_pin_dir node1)
pwc_namespace prod
pwc_pod node1 prod a "app=a" "echo:7000/TCP"
pwc_pod node1 prod b "app=b" "echo:7000/TCP,sink:7001/UDP,push:7003/TCP"
pwc_pod node1 prod c "app=c" "echo:7000/TCP"
pwc_serve $B tcp 7000
pwc_serve $A tcp 7000
pwc_spawn "$PWC_WORK/logs/push-b.log" nsenter --net="/run/netns/$(pwc_pod_netns $B)" \
	socat TCP-LISTEN:7003,reuseaddr,fork SYSTEM:'while true; do echo tick; sleep 0.02; done'
SINK=$PWC_WORK/logs/sink-b.out
: >"$SINK"
pwc_spawn "$PWC_WORK/logs/sink-b.log" nsenter --net="/run/netns/$(pwc_pod_netns $B)" \
	socat -u UDP-RECV:7001,reuseaddr OPEN:"$SINK",creat,append
pwc_np_all() {
	pwe_np_default_deny prod
	echo ---
	pwe_np_allow_pair a-to-b prod app=a app=b 7000/TCP 7003/TCP
	echo ---
	cat <<-EOF
	apiVersion: networking.k8s.io/v1
	kind: NetworkPolicy
	metadata:
	  name: c-sends-anywhere
	  namespace: prod
	spec:
	  podSelector:
	    matchLabels:
	      app: c
	  policyTypes: [Egress]
	  egress:
	  - {}
	EOF
}
pwc_np_all | pwc_write policy.yaml

node() { nsenter --net="/run/netns/$NODE_NS" "$@"; }
readyz() { node curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$HEALTH/readyz"; }
egress_drops() {   # the datapath's egress drop counter (every reason)
	node "$V1" status -o json --pin-dir "$PIN" 2>/dev/null | "$PWC_PY" -c '
import json, sys
d = json.load(sys.stdin)
print(sum(c["packets"] for c in d.get("counters", [])
          if c["direction"] == "egress" and c["verdict"] == "drop"))'
}
pinned_abi() {     # the version in the abi pin
	node bpftool -j map dump pinned "$PIN/abi" 2>/dev/null | "$PWC_PY" -c '
import json, sys
d = json.load(sys.stdin)
e = d[0]
v = e.get("formatted", {}).get("value", {}).get("version")
if v is None:
    v = int.from_bytes(bytes(int(x, 16) for x in e["value"][:4]), "little")
print(v)'
}
start_agent() {   # BINARY
	PODWALL=$1 pwc_agent_start node1 --health "$HEALTH"
}
wait_log() {      # SECONDS TEXT: the agent log has TEXT (since the last start)
	local end=$(( $(pwc_now_ms) + $1 * 1000 ))
	while [ "$(pwc_now_ms)" -lt "$end" ]; do
		tac "$(pwc_agent_log node1)" | sed '/^=== /q' | grep -qF "$2" && return 0
		sleep 0.1
	done
	return 1
}

ALLOWED=("$A $B 7000 tcp") DENIED=("$C $B 7000 tcp" "$B $A 7000 tcp")

# ------------------------------------------------------------ the old agent
start_agent "$V1"
if pwe_wait_state "$PWE_START_S" "${ALLOWED[@]/#/ok:}" "${DENIED[@]/#/fail:}"; then
	pwe_pass upgrade_v1_enforces
else
	pwe_fail upgrade_v1_enforces "the first agent does not enforce"; exit 1
fi
V1_ABI=$(pinned_abi)
[ -n "$V1_ABI" ] && [ "$V1_ABI" != 1000 ] && pwe_pass upgrade_v1_abi_pinned "abi $V1_ABI" ||
	pwe_fail upgrade_v1_abi_pinned "abi pin: '$V1_ABI'"

STREAM=$PWC_WORK/logs/stream-a.out
: >"$STREAM"
pwc_spawn "$PWC_WORK/logs/stream-a.log" nsenter --net="/run/netns/$(pwc_pod_netns $A)" \
	socat -u TCP:"$(pwc_ip $B)":7003,connect-timeout=2 OPEN:"$STREAM",creat,append
STREAM_PID=$PWC_LAST_PID
pwc_spawn "$PWC_WORK/logs/flood-c.log" nsenter --net="/run/netns/$(pwc_pod_netns $C)" \
	"$PWC_PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n = 0
while True:
    n += 1
    try:
        s.sendto(b"denied %d\n" % n, (sys.argv[1], 7001))
    except OSError:
        pass
    time.sleep(0.002)' "$(pwc_ip $B)"
FLOOD_PID=$PWC_LAST_PID
pwe_stream_flowing "$STREAM" 2000 || pwe_fail upgrade_stream "the stream b -> a does not flow"
sleep 0.5
E0=$(egress_drops)

# switch BINARY VERSION NAME: stop the agent, start BINARY over its pins
switch() {
	local bin=$1 ver=$2 name=$3 e1 got
	pwc_agent_stop node1
	start_agent "$bin"
	if wait_log 30 "every hook runs the ABI version $ver programs"; then
		pwe_pass "${name}_switched" "$(tac "$(pwc_agent_log node1)" | sed '/^=== /q' |
			grep -o '[0-9]* tracked flows carried over' | head -n 1)"
	else
		pwe_fail "${name}_switched" "no switch to ABI $ver in the log"
	fi
	got=$(pinned_abi)
	[ "$got" = "$ver" ] && [ ! -e "$PIN/prev" ] && pwe_pass "${name}_pins" "abi $got, no prev/" ||
		pwe_fail "${name}_pins" "abi pin '$got' (want $ver), prev/: $(ls "$PIN/prev" 2>&1 | xargs)"
	sleep 1
	if kill -0 "$STREAM_PID" 2>/dev/null && pwe_stream_flowing "$STREAM" 1500; then
		pwe_pass "${name}_connection_kept"
	else
		pwe_fail "${name}_connection_kept" "the stream b -> a stopped"
	fi
	e1=$(egress_drops)
	[ -n "$E0" ] && [ "$e1" = "$E0" ] && pwe_pass "${name}_no_reply_dropped" "egress drops $E0" ||
		pwe_fail "${name}_no_reply_dropped" "egress drops $E0 -> $e1"
	[ ! -s "$SINK" ] && pwe_pass "${name}_denied_flow_never_passed" ||
		pwe_fail "${name}_denied_flow_never_passed" "b received: $(head -c 200 "$SINK")"
	pwe_expect "${name}_enforces" ok "${ALLOWED[@]}" &&
		pwe_expect "${name}_denies" fail "${DENIED[@]}"
	got=$(readyz)
	[ "$got" = 200 ] && pwe_pass "${name}_ready" || pwe_fail "${name}_ready" "/readyz $got"
}

switch "$V2" 1000 upgrade_to_next_abi
E0=$(egress_drops)
switch "$V1" "$V1_ABI" rollback
E0=$(egress_drops)
# an agent that died in the middle of a switch, right after moving the old
# pins into prev/: the next one finishes it (carries from prev, switches)
pwc_agent_stop node1
mkdir "$PIN/prev" && for f in "$PIN"/*; do [ -d "$f" ] || mv "$f" "$PIN/prev/"; done
switch "$V1" "$V1_ABI" interrupted_switch
E0=$(egress_drops)
# pins from before the abi pin (an older podwall's): version 1, switched too
# when this build's is another (the same agent here: the pin is taken away)
if [ "$V1_ABI" != 1 ]; then
	pwc_agent_stop node1
	rm -f "$PIN/abi"
	switch "$V1" "$V1_ABI" unversioned_pins
fi
pwe_end
