#!/usr/bin/env bash
# End to end: the node agent enforcing NetworkPolicy on a local cluster of
# network namespaces with real packets (issue 4). Two nodes joined by an
# uplink, one `podwall agent --source DIR` in each node namespace with its own
# pins; pods as namespaces on ptp veths; TCP and UDP echo servers.
#
#   node1: production/a  production/b  production/c      node2: production/d
#   every pod serves tcp/7000 and udp/7001 (echo) and tcp/7002; b and d iperf3 tcp/5201
#   policies: default-deny (Ingress+Egress) in production;
#             a -> b and a -> d on tcp/7000, udp/7001, tcp/5201 (egress of a + ingress of the peer)
#
# Checks: allowed flows connect and denied ones do not (TCP, UDP, same node and
# across the uplink); replies pass under default-deny; edits in DIR take effect
# within a second both ways (allow->deny cuts an established connection,
# deny->allow opens a new one); kill -9 of the agents during long TCP
# transfers loses no connection and lets no denied flow through, and the
# restarted agent adopts, applies what changed meanwhile, and logs how many
# entries it changed; bad YAML (and a bad field) leave the old policy in force
# and the next good change is applied; bad usage (--kubeconfig with a
# directory source) exits 2 with nothing pinned; uninstall removes pins and
# attachments.
#
# Run: bash tests/e2e/agent.sh (root; ./podwall built). PWC_KEEP=1 keeps the
# state directory (logs) in /tmp.
set -uo pipefail
. "$(dirname "$0")/../lib/e2e.sh"
pwe_begin agent

A=production/a B=production/b C=production/c D=production/d

# ------------------------------------------------------------ the cluster
pwc_node node1
pwc_node node2
pwc_uplink node1 node2
pwc_namespace production
pwc_pod node1 production a "app=a" "echo:7000/TCP,echo-udp:7001/UDP,extra:7002/TCP"
pwc_pod node1 production b "app=b" "echo:7000/TCP,echo-udp:7001/UDP,extra:7002/TCP,iperf:5201/TCP"
pwc_pod node1 production c "app=c" "echo:7000/TCP,echo-udp:7001/UDP,extra:7002/TCP"
pwc_pod node2 production d "app=d" "echo:7000/TCP,echo-udp:7001/UDP,extra:7002/TCP,iperf:5201/TCP"
for p in $A $B $C $D; do
	pwc_serve $p tcp 7000
	pwc_serve $p udp 7001
	pwc_serve $p tcp 7002
done
pwc_serve_iperf $B 5201
pwc_serve_iperf $D 5201

ALLOWED=("$A $B 7000 tcp" "$A $B 7001 udp" "$A $D 7000 tcp" "$A $D 7001 udp")
DENIED_SAME_TCP=("$A $C 7000 tcp" "$B $A 7000 tcp" "$C $B 7000 tcp" "$A $B 7002 tcp")
DENIED_SAME_UDP=("$A $C 7001 udp" "$B $A 7001 udp" "$C $A 7001 udp")
DENIED_CROSS_TCP=("$D $A 7000 tcp" "$A $D 7002 tcp" "$D $B 7000 tcp" "$C $D 7000 tcp")
DENIED_CROSS_UDP=("$D $A 7001 udp" "$C $D 7001 udp")
DENIED_ALL=("${DENIED_SAME_TCP[@]}" "${DENIED_SAME_UDP[@]}" "${DENIED_CROSS_TCP[@]}" "${DENIED_CROSS_UDP[@]}")

pwe_expect topology_open_before_agent ok "${ALLOWED[@]}" "${DENIED_ALL[@]}"

# ------------------------------------------------------------ agents, policies
pwc_agent_start node1
pwc_agent_start node2
sleep 1
if pwc_agent_alive node1 && pwc_agent_alive node2; then
	pwe_pass agents_start_in_node_namespaces
else
	pwe_fail agents_start_in_node_namespaces "an agent exited: $(tail -n 2 "$(pwc_agent_log node1)" "$(pwc_agent_log node2)" | tr '\n' ' ')"
fi
pwe_expect open_without_policy ok "${ALLOWED[@]}" "${DENIED_ALL[@]}"

# bad usage is refused (exit 2, why) before anything is loaded or pinned
UPIN=$(pwc_pin_dir usage)
out=$(timeout 10 nsenter --net="/run/netns/$(pwc_node_netns node1)" "$PODWALL" agent \
	--source "$PWC_SRC" --kubeconfig /nonexistent --pin-dir "$UPIN" 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "^podwall agent: --kubeconfig/--kube-context need --source k8s$" \
	<<<"$out" && [ ! -e "$UPIN" ]; then
	pwe_pass agent_bad_usage_pins_nothing "exit $rc: $out"
else
	pwe_fail agent_bad_usage_pins_nothing "exit $rc, $UPIN $([ -e "$UPIN" ] && echo exists ||
		echo absent): $out"
	rm -rf "$UPIN" # its maps only: nothing of it is attached (node1's agent is)
fi

PAIR_PORTS=(7000/TCP 7001/UDP 5201/TCP)
pwe_np_default_deny production | pwc_write np-default-deny.yaml
pwe_np_allow_pair a-to-b production app=a app=b "${PAIR_PORTS[@]}" | pwc_write np-a-to-b.yaml
pwe_np_allow_pair a-to-d production app=a app=d "${PAIR_PORTS[@]}" | pwc_write np-a-to-d.yaml

if pwe_wait_state "$PWE_START_S" "ok:$A $B 7000 tcp" "ok:$A $D 7000 tcp" \
		"fail:$A $C 7000 tcp" "fail:$D $A 7000 tcp"; then
	pwe_pass policy_enforced
else
	pwe_fail policy_enforced "no enforcement within ${PWE_START_S}s"
fi

# ------------------------------------------------------------ allow / deny
pwe_expect allow_tcp_same_node  ok "$A $B 7000 tcp"
pwe_expect allow_udp_same_node  ok "$A $B 7001 udp"
pwe_expect allow_tcp_cross_node ok "$A $D 7000 tcp"
pwe_expect allow_udp_cross_node ok "$A $D 7001 udp"
pwe_expect deny_tcp_same_node   fail "${DENIED_SAME_TCP[@]}"
pwe_expect deny_udp_same_node   fail "${DENIED_SAME_UDP[@]}"
pwe_expect deny_tcp_cross_node  fail "${DENIED_CROSS_TCP[@]}"
pwe_expect deny_udp_cross_node  fail "${DENIED_CROSS_UDP[@]}"
# The echo comes back although no policy allows b->a or d->a (a and its peers
# are isolated both ways): replies pass by conntrack, not by policy.
pwc_probe_all "${ALLOWED[@]}" "$B $A 7000 tcp" "$D $A 7000 tcp" "$B $A 7001 udp" "$D $A 7001 udp"
bad=()
for s in "${ALLOWED[@]}"; do [ "${PWC_RES[$s]}" = ok ] || bad+=("[$s] no reply"); done
for s in "$B $A 7000 tcp" "$D $A 7000 tcp" "$B $A 7001 udp" "$D $A 7001 udp"; do
	[ "${PWC_RES[$s]}" = fail ] || bad+=("[$s] reverse direction open")
done
if [ ${#bad[@]} -eq 0 ]; then pwe_pass replies_pass_under_default_deny
else pwe_fail replies_pass_under_default_deny "${bad[*]}"; fi

# The node itself (kubelet probes) reaches a pod that is isolated for ingress
# with no rule naming the node: its addresses are the host identity.
if timeout -k 1 6 nsenter --net="/run/netns/$(pwc_node_netns node1)" \
		"$PWC_PY" -c "$PWC_PY_PROBE" tcp "$(pwc_ip "$B")" 7000 2 >/dev/null 2>&1; then
	pwe_pass node_reaches_isolated_pod
else
	pwe_fail node_reaches_isolated_pod "node1 -> $B tcp/7000 refused under default-deny"
fi

# ------------------------------------------------------------ edit: allow -> deny
pwc_stream_start $A $B 7000; S_AB=$PWC_STREAM_OUT; P_AB=$PWC_LAST_PID
pwc_stream_start $A $D 7000; S_AD=$PWC_STREAM_OUT; P_AD=$PWC_LAST_PID
flow_ab=no flow_ad=no
pwe_stream_flowing "$S_AB" 2000 && flow_ab=yes
pwe_stream_flowing "$S_AD" 2000 && flow_ad=yes
PWE_T0=$(pwc_now_ms)
pwe_np_allow_pair a-to-b production app=a app=b 7001/UDP 5201/TCP | pwc_write np-a-to-b.yaml
pwe_np_allow_pair a-to-d production app=a app=d 7001/UDP 5201/TCP | pwc_write np-a-to-d.yaml
cuts=($(pwe_stream_cut_ms 800 4000 "$S_AB" "$S_AD"))
edit_cut() {   # name file flowing-before-the-edit cut-ms
	local name=$1 f=$2 cut=$4
	if [ "$3" != yes ]; then
		pwe_fail "$name" "the stream was not flowing before the edit"
	elif [ "$cut" = never ]; then
		pwe_fail "$name" "established connection still flowing 4 s after the edit"
	elif [ "$cut" -gt "$PWE_EDIT_MS" ]; then
		pwe_fail "$name" "cut only after ${cut} ms (limit ${PWE_EDIT_MS} ms)"
	elif ! pwe_stream_flowing "$f" 1000; then
		pwe_pass "$name" "last data ${cut} ms after the edit"
	else
		pwe_fail "$name" "the connection resumed after the cut"
	fi
}
edit_cut edit_allow_to_deny_cuts_established_same_node "$S_AB" $flow_ab "${cuts[0]}"
edit_cut edit_allow_to_deny_cuts_established_cross_node "$S_AD" $flow_ad "${cuts[1]}"
pwe_expect edit_allow_to_deny_new_connections_denied fail "$A $B 7000 tcp" "$A $D 7000 tcp"
pwe_expect edit_keeps_other_rules ok "$A $B 7001 udp" "$A $D 7001 udp"
pwc_kill "$P_AB"; pwc_kill "$P_AD"

# ------------------------------------------------------------ edit: deny -> allow
pwc_probe_all "$A $B 7000 tcp" "$A $D 7000 tcp"
pre_ab=${PWC_RES["$A $B 7000 tcp"]} pre_ad=${PWC_RES["$A $D 7000 tcp"]}
PWE_T0=$(pwc_now_ms)
pwe_np_allow_pair a-to-b production app=a app=b "${PAIR_PORTS[@]}" | pwc_write np-a-to-b.yaml
pwe_np_allow_pair a-to-d production app=a app=d "${PAIR_PORTS[@]}" | pwc_write np-a-to-d.yaml
pwe_time_until_ok 5000 "$A $B 7000 tcp" >"$PWC_WORK/tmp/t_ab" & w1=$!
pwe_time_until_ok 5000 "$A $D 7000 tcp" >"$PWC_WORK/tmp/t_ad" & w2=$!
wait $w1 $w2
t_ab=$(cat "$PWC_WORK/tmp/t_ab"); t_ad=$(cat "$PWC_WORK/tmp/t_ad")
for x in "same_node $t_ab $pre_ab" "cross_node $t_ad $pre_ad"; do
	set -- $x
	if [ "$3" != fail ]; then pwe_fail "edit_deny_to_allow_opens_new_$1" "was not denied before the edit"
	elif [ "$2" = never ]; then pwe_fail "edit_deny_to_allow_opens_new_$1" "still denied 5 s after the edit"
	elif [ "$2" -gt "$PWE_EDIT_MS" ]; then pwe_fail "edit_deny_to_allow_opens_new_$1" "open only after $2 ms (limit $PWE_EDIT_MS ms)"
	else pwe_pass "edit_deny_to_allow_opens_new_$1" "open ${2} ms after the edit"; fi
done

# ------------------------------------------------------------ kill -9 and restart
IPERF_S=10
pwc_spawn "$PWC_WORK/logs/iperf-ab.log" nsenter --net="/run/netns/$(pwc_pod_netns $A)" \
	timeout -k 2 $((IPERF_S + 10)) iperf3 -c "$(pwc_ip $B)" -p 5201 -t $IPERF_S --connect-timeout 2000
I_AB=$PWC_LAST_PID
pwc_spawn "$PWC_WORK/logs/iperf-ad.log" nsenter --net="/run/netns/$(pwc_pod_netns $A)" \
	timeout -k 2 $((IPERF_S + 10)) iperf3 -c "$(pwc_ip $D)" -p 5201 -t $IPERF_S --connect-timeout 2000
I_AD=$PWC_LAST_PID
pwc_stream_start $A $B 7000; S_AB=$PWC_STREAM_OUT
pwc_stream_start $A $D 7000; S_AD=$PWC_STREAM_OUT
sleep 2
log1_lines=$(wc -l <"$(pwc_agent_log node1)"); log2_lines=$(wc -l <"$(pwc_agent_log node2)")
pwc_agent_stop node1 KILL
pwc_agent_stop node2 KILL
if pwc_agent_alive node1 || pwc_agent_alive node2; then pwe_note "an agent survived kill -9?"; fi
# while no agent runs anywhere:
down_bad=()
for round in 1 2; do
	pwc_probe_all "${DENIED_ALL[@]}"
	for s in "${DENIED_ALL[@]}"; do [ "${PWC_RES[$s]}" = fail ] || down_bad+=("[$s] open"); done
done
if [ ${#down_bad[@]} -eq 0 ]; then pwe_pass no_denied_flow_while_agent_down
else pwe_fail no_denied_flow_while_agent_down "${down_bad[*]}"; fi
pwe_expect allowed_flows_work_while_agent_down ok "${ALLOWED[@]}"
if pwe_stream_flowing "$S_AB" 1000 && pwe_stream_flowing "$S_AD" 1000; then
	pwe_pass established_flow_while_agent_down
else
	pwe_fail established_flow_while_agent_down "an established connection stalled with the agent down"
fi
# a change made while the agents are down: c may now reach b on tcp/7000
pre_cb=$(pwc_probe $C $B 7000 tcp)
pwe_np_allow_pair c-to-b production app=c app=b 7000/TCP | pwc_write np-c-to-b.yaml
sleep 0.5
pwc_agent_start node1
pwc_agent_start node2
if [ "$pre_cb" != fail ]; then
	pwe_fail restarted_agent_applies_change_made_while_down "c->b tcp/7000 was not denied before the change"
elif pwe_wait_state "$PWE_START_S" "ok:$C $B 7000 tcp"; then
	pwe_pass restarted_agent_applies_change_made_while_down
else
	pwe_fail restarted_agent_applies_change_made_while_down "c->b tcp/7000 still denied ${PWE_START_S}s after restart"
fi
adopt_line() { # log skip-lines: the restarted agent's line that counts changed entries
	tail -n +$(($2 + 1)) "$1" | grep -iE '(adopt|chang|repair|diff|updat)' | grep -E '[0-9]' | head -n 1
}
sleep 0.5
l1=$(adopt_line "$(pwc_agent_log node1)" "$log1_lines"); l2=$(adopt_line "$(pwc_agent_log node2)" "$log2_lines")
if [ -n "$l1" ] && [ -n "$l2" ]; then
	pwe_pass restarted_agent_logs_changed_entries "node1: $l1"
else
	pwe_fail restarted_agent_logs_changed_entries "no log line counting adopted/changed entries after restart (node1: '${l1}', node2: '${l2}')"
fi
DENIED_NOW=()
for s in "${DENIED_ALL[@]}"; do [ "$s" = "$C $B 7000 tcp" ] || DENIED_NOW+=("$s"); done
pwe_expect denied_after_restart fail "${DENIED_NOW[@]}"
iperf_done() { # name pid log
	local rc=0 i
	for i in $(seq 200); do kill -0 "$2" 2>/dev/null || break; sleep 0.1; done
	wait "$2" 2>/dev/null; rc=$?
	if [ "$rc" -eq 0 ] && grep -q receiver "$3"; then
		pwe_pass "$1" "$(grep receiver "$3" | awk '{print $(NF-3), $(NF-2)}' | tail -n 1)"
	else
		pwe_fail "$1" "iperf3 exited $rc: $(grep -iE 'error|refused|reset' "$3" | tail -n 1)"
	fi
}
iperf_done long_tcp_transfer_survives_kill9_same_node "$I_AB" "$PWC_WORK/logs/iperf-ab.log"
iperf_done long_tcp_transfer_survives_kill9_cross_node "$I_AD" "$PWC_WORK/logs/iperf-ad.log"
if pwe_stream_flowing "$S_AB" 1000 && pwe_stream_flowing "$S_AD" 1000; then
	pwe_pass established_flow_after_agent_restart
else
	pwe_fail established_flow_after_agent_restart "an established connection stalled after the restart"
fi

# ------------------------------------------------------------ bad input
good_ab() { pwe_np_allow_pair a-to-b production app=a app=b "${PAIR_PORTS[@]}" "$@"; }
# 1. malformed YAML in place of a policy that is in force
cat <<-'EOF' | pwc_write np-a-to-b.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: a-to-b-egress
  namespace: production
spec:
  podSelector: {matchLabels: {app: a}
  policyTypes: [Egress
   egress: - to
EOF
sleep 1.5
if pwc_agent_alive node1 && pwc_agent_alive node2; then pwe_pass agent_survives_bad_yaml
else pwe_fail agent_survives_bad_yaml "an agent exited"; fi
pwc_probe_all "${ALLOWED[@]}" "${DENIED_NOW[@]}"
bad=()
for s in "${ALLOWED[@]}"; do [ "${PWC_RES[$s]}" = ok ] || bad+=("[$s] now denied"); done
for s in "${DENIED_NOW[@]}"; do [ "${PWC_RES[$s]}" = fail ] || bad+=("[$s] now open"); done
if [ ${#bad[@]} -eq 0 ]; then pwe_pass bad_yaml_keeps_old_policy; else pwe_fail bad_yaml_keeps_old_policy "${bad[*]}"; fi
if grep -qE 'np-a-to-b\.yaml:[0-9]+' "$(pwc_agent_log node1)"; then
	pwe_pass bad_yaml_error_names_file_and_line "$(grep -E 'np-a-to-b\.yaml:[0-9]+' "$(pwc_agent_log node1)" | tail -n 1)"
else
	pwe_fail bad_yaml_error_names_file_and_line "no 'np-a-to-b.yaml:LINE' in the agent log"
fi
# 2. the next good change (a-to-b back, now with tcp/7002 too) is applied
pre=$(pwc_probe $A $B 7002 tcp)
PWE_T0=$(pwc_now_ms)
good_ab 7002/TCP | pwc_write np-a-to-b.yaml
t=$(pwe_time_until_ok 5000 "$A $B 7002 tcp")
if [ "$pre" != fail ]; then pwe_fail agent_applies_next_good_change "a->b tcp/7002 was not denied before the fix"
elif [ "$t" != never ]; then pwe_pass agent_applies_next_good_change "open ${t} ms after the fix"
else pwe_fail agent_applies_next_good_change "a->b tcp/7002 still denied 5 s after the fix"; fi
# 3. a well-formed file with a bad field (port out of range) beside a rule that
#    would open a->c: nothing of it may be applied
cat <<-'EOF' | pwc_write np-bad-port.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: a-to-c
  namespace: production
spec:
  podSelector:
    matchLabels: {app: a}
  policyTypes: [Egress]
  egress:
  - to:
    - podSelector:
        matchLabels: {app: c}
    ports:
    - {protocol: TCP, port: 7000}
    - {protocol: TCP, port: 70000}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: c-from-a
  namespace: production
spec:
  podSelector:
    matchLabels: {app: c}
  ingress:
  - from:
    - podSelector:
        matchLabels: {app: a}
EOF
sleep 1.5
if pwc_agent_alive node1 && pwc_agent_alive node2; then pwe_pass agent_survives_bad_field
else pwe_fail agent_survives_bad_field "an agent exited"; fi
pwc_probe_all "$A $C 7000 tcp" "$A $B 7000 tcp" "$A $B 7002 tcp" "$A $D 7000 tcp"
if [ "${PWC_RES["$A $C 7000 tcp"]}" = fail ] && [ "${PWC_RES["$A $B 7000 tcp"]}" = ok ] &&
   [ "${PWC_RES["$A $B 7002 tcp"]}" = ok ] && [ "${PWC_RES["$A $D 7000 tcp"]}" = ok ]; then
	pwe_pass bad_field_keeps_old_policy
else
	pwe_fail bad_field_keeps_old_policy "a->c ${PWC_RES["$A $C 7000 tcp"]} (want fail), a->b ${PWC_RES["$A $B 7000 tcp"]}, a->b:7002 ${PWC_RES["$A $B 7002 tcp"]}, a->d ${PWC_RES["$A $D 7000 tcp"]} (want ok)"
fi
if grep -qE 'np-bad-port\.yaml:[0-9]+' "$(pwc_agent_log node1)" && grep -iqE 'port|70000' <(grep 'np-bad-port' "$(pwc_agent_log node1)"); then
	pwe_pass bad_field_error_names_file_line_field "$(grep -E 'np-bad-port\.yaml' "$(pwc_agent_log node1)" | tail -n 1)"
else
	pwe_fail bad_field_error_names_file_line_field "no 'np-bad-port.yaml:LINE ... port' error in the agent log"
fi
pwc_rm np-bad-port.yaml
sleep 1

# ------------------------------------------------------------ a filter removed by hand
# c is isolated and a->c denied: without c's to_pod filter, a->c would pass.
# The agent lists its filters every 10 s and puts them back (a tcx program
# or a tc filter, whichever kind it attaches at: tests/lib/hook_detach.py).
VC=$(pwc_pod_veth "$C")
pwc_node_exec node1 "$PWC_PY" "$PWC_ROOT/tests/lib/hook_detach.py" "$PODWALL" "$VC" egress
if pwc_wait_for 15 bash -c "nsenter --net=/run/netns/$(pwc_node_netns node1) $PODWALL hooks | grep -qE '^$VC +egress +[a-z]+ +to_pod '"; then
	pwc_probe_all "$A $C 7000 tcp" "$A $B 7000 tcp"
	if [ "${PWC_RES["$A $C 7000 tcp"]}" = fail ] && [ "${PWC_RES["$A $B 7000 tcp"]}" = ok ] &&
	   grep -q "filters repaired" "$(pwc_agent_log node1)"; then
		pwe_pass removed_filter_comes_back "$(grep 'filters repaired' "$(pwc_agent_log node1)" | tail -n 1)"
	else
		pwe_fail removed_filter_comes_back "a->c ${PWC_RES["$A $C 7000 tcp"]} (want fail), a->b ${PWC_RES["$A $B 7000 tcp"]} (want ok), or no 'filters repaired' line"
	fi
else
	pwe_fail removed_filter_comes_back "no to_pod filter on $VC egress 15 s after it was deleted"
fi

# ------------------------------------------------------------ uninstall
pwc_agent_stop node1
pwc_agent_stop node2
pwc_agent_uninstall node1
pwc_agent_uninstall node2
left=()
for n in node1 node2; do
	pin=$(pwc_pin_dir $n)
	[ -e "$pin" ] && left+=("$pin: $(find "$pin" -mindepth 1 | head -n 3 | tr '\n' ' ')")
done
if [ ${#left[@]} -eq 0 ]; then pwe_pass uninstall_removes_pins
else pwe_fail uninstall_removes_pins "${left[*]}"; fi
att=()
for n in node1 node2; do
	for p in $(pwc_pods); do
		[ "$(pwc_pod_node "$p")" = "$n" ] || continue
		v=$(pwc_pod_veth "$p")
		out=$(pwc_node_exec $n tc filter show dev "$v" ingress 2>/dev/null; pwc_node_exec $n tc filter show dev "$v" egress 2>/dev/null
		      pwc_node_exec $n "$PODWALL" hooks --all 2>/dev/null | awk -v d="$v" '$1 == d')
		if command -v bpftool >/dev/null; then
			out+=$(pwc_node_exec $n bpftool net show dev "$v" 2>/dev/null | grep -E 'id [0-9]+')
		fi
		[ -z "$out" ] || att+=("$n/$v: $(echo "$out" | head -n 2 | tr '\n' ' ')")
	done
	if command -v bpftool >/dev/null; then
		out=$(pwc_node_exec $n bpftool net show dev up0 2>/dev/null | grep -E 'id [0-9]+')
		[ -z "$out" ] || att+=("$n/up0: $out")
	fi
	out=$(pwc_node_exec $n "$PODWALL" hooks --all 2>/dev/null | grep -E ' (from_pod|to_pod|to_remote) ')
	[ -z "$out" ] || att+=("$n: $out")
done
if [ ${#att[@]} -eq 0 ]; then pwe_pass uninstall_detaches_programs
else pwe_fail uninstall_detaches_programs "${att[*]}"; fi
pwe_expect open_after_uninstall ok "${DENIED_ALL[@]}"

pwe_end
