#!/usr/bin/env bash
# End to end: the kind of tc hook podwall attaches at (kernel/attach.h), and
# the switch from one kind to the other with a connection open.
#
#   node1: production/a (client)  production/b (tcp/7000 and tcp/7001 echo)
#   policies: default-deny in production; a -> b on tcp/7000 only
#
# 1. The default: both of b's programs are clsact filters (`tc filter show`),
#    none at tcx; a -> b:7000 passes, a -> b:7001 is dropped.
# 2. The agent again with PODWALL_ATTACH=tcx: `podwall hooks` lists them at
#    tcx and `tc filter show` lists no podwall filter any more; the same
#    verdicts; a stream opened under (1) flows on across the switch (the new
#    program is in place before the old goes). A tcx program taken off by
#    hand (tests/lib/hook_detach.py) is put back by the verify tick.
# 3. The default again: back to filters, no podwall program at tcx.
# 4. `podwall uninstall`: no program named from_pod/to_pod at either kind.
#
# Run: bash tests/e2e/hooks.sh (root; ./podwall built).
set -uo pipefail
. "$(dirname "$0")/../lib/e2e.sh"
pwe_begin hooks

A=production/a B=production/b

pwc_node node1
pwc_namespace production
pwc_pod node1 production a "app=a"
pwc_pod node1 production b "app=b" "echo:7000/TCP,other:7001/TCP"
pwc_serve $B tcp 7000
pwc_serve $B tcp 7001
NETNS=/run/netns/$(pwc_node_netns node1)
VB=$(pwc_pod_veth "$B")
pwe_np_default_deny production | pwc_write np-deny.yaml
pwe_np_allow_pair a-b production app=a app=b 7000/TCP | pwc_write np-a-b.yaml

# the podwall programs on b's veth, one line per program: "DIR KIND NAME"
on_b() {
	nsenter --net="$NETNS" "$PODWALL" hooks --all 2>/dev/null |
		awk -v d="$VB" '$1 == d && ($4 == "from_pod" || $4 == "to_pod") { print $2, $3, $4 }' | sort
}
# podwall's filters as tc itself lists them on b's veth
tc_on_b() {
	{ nsenter --net="$NETNS" tc filter show dev "$VB" ingress; nsenter --net="$NETNS" tc filter show dev "$VB" egress; } 2>/dev/null |
		grep -oE 'name (from_pod|to_pod)' | cut -d' ' -f2 | sort | tr '\n' ' '
}
verdicts_hold() { pwe_wait_state 10 "ok:$A $B 7000 tcp" "fail:$A $B 7001 tcp"; }
want_tc=$'egress tc to_pod\ningress tc from_pod'
want_tcx=$'egress tcx to_pod\ningress tcx from_pod'

# every podwall program on b's veth is at KIND (tc or tcx), and nowhere else
hooks_at() {
	local want tc_want
	if [ "$1" = tcx ]; then want=$want_tcx tc_want=""; else want=$want_tc tc_want="from_pod to_pod "; fi
	pwc_wait_for "$PWE_START_S" bash -c "[ \"\$(nsenter --net=$NETNS $PODWALL hooks --all 2>/dev/null | awk -v d=$VB '\$1 == d && (\$4 == \"from_pod\" || \$4 == \"to_pod\") { print \$2, \$3, \$4 }' | sort)\" = \"$want\" ]" &&
		[ "$(tc_on_b)" = "$tc_want" ]
}

# ---------------------------------------------------------------- 1. default: tc
unset PODWALL_ATTACH
pwc_agent_start node1
if pwe_wait_state "$PWE_START_S" "ok:$A $B 7000 tcp" "fail:$A $B 7001 tcp" && hooks_at tc; then
	pwe_pass default_uses_filters "$(on_b | tr '\n' ';')"
else
	pwe_fail default_uses_filters "hooks: $(on_b | tr '\n' ';') tc: $(tc_on_b); a->b:7001 $(pwc_probe $A $B 7001)"
fi

# ---------------------------------------------------------------- 2. tcx
pwc_stream_start $A "$(pwc_ip $B)" 7000
pwe_stream_flowing "$PWC_STREAM_OUT" 3000 || pwe_fail stream_opened "no echo from b:7000"
pwc_agent_stop node1
export PODWALL_ATTACH=tcx
pwc_agent_start node1
unset PODWALL_ATTACH
if hooks_at tcx && verdicts_hold; then
	pwe_pass tcx_when_asked "$(on_b | tr '\n' ';') tc lists: '$(tc_on_b)'"
else
	pwe_fail tcx_when_asked "hooks: $(on_b | tr '\n' ';') tc: $(tc_on_b); a->b:7001 $(pwc_probe $A $B 7001)"
fi
before=$(pwc_stream_bytes "$PWC_STREAM_OUT"); sleep 1
if [ "$(pwc_stream_bytes "$PWC_STREAM_OUT")" -gt "$before" ]; then
	pwe_pass stream_flows_across_switch "$before -> $(pwc_stream_bytes "$PWC_STREAM_OUT") bytes echoed"
else
	pwe_fail stream_flows_across_switch "the stream a -> b:7000 stopped at $before bytes"
fi
# b is isolated: without its to_pod, a -> b:7001 would pass; the agent's
# verify tick (10 s) puts the program back
nsenter --net="$NETNS" "$PWC_PY" "$PWC_ROOT/tests/lib/hook_detach.py" "$PODWALL" "$VB" egress
gone=$(on_b | grep -c 'egress tcx to_pod')
if [ "$gone" = 0 ] && hooks_at tcx && verdicts_hold; then
	pwe_pass tcx_removed_program_comes_back "$(grep 'filters repaired' "$(pwc_agent_log node1)" | tail -n 1)"
else
	pwe_fail tcx_removed_program_comes_back "after the detach: $gone to_pod left; now: $(on_b | tr '\n' ';')"
fi

# ---------------------------------------------------------------- 3. default again
pwc_agent_stop node1
pwc_agent_start node1
if hooks_at tc && verdicts_hold; then
	pwe_pass back_to_filters "$(on_b | tr '\n' ';')"
else
	pwe_fail back_to_filters "hooks: $(on_b | tr '\n' ';') tc: $(tc_on_b)"
fi

# ---------------------------------------------------------------- 4. uninstall
pwc_agent_stop node1
pwc_agent_uninstall node1
left=$(nsenter --net="$NETNS" "$PODWALL" hooks --all 2>/dev/null | grep -cE ' (from_pod|to_pod|to_remote) ')
if [ "$left" = 0 ] && [ -z "$(tc_on_b)" ]; then
	pwe_pass uninstall_leaves_no_program
else
	pwe_fail uninstall_leaves_no_program "$left programs listed; tc: $(tc_on_b)"
fi
pwe_end
