#!/usr/bin/env bash
# End to end: the agent under valgrind (issue 9). The ./podwall binary (no
# ASan: valgrind and ASan do not mix) runs as `podwall agent` under memcheck in
# a node namespace with three pods, metrics and the CNI socket on, through a
# first apply, four policy edits (one of them bad input, refused), a metrics
# scrape, a CNI request, ticks, and a SIGTERM. Then a one-shot
# `podwall apply`, `podwall status` and `podwall matrix` under memcheck too.
#
# Each must exit cleanly with "definitely lost: 0 bytes" (or "no leaks are
# possible") and no memcheck error (--error-exitcode). Valgrind does not
# model every bpf(2) command (it warns "unhandled eBPF command"): what the
# kernel writes through those is invisible to it, so the few resulting false
# reports, all inside libbpf's bpf() calls, are suppressed by
# tests/e2e/valgrind.supp, nothing else.
#
# Run: bash tests/e2e/valgrind.sh (root; ./podwall built; valgrind).
set -uo pipefail
. "$(dirname "$0")/../lib/e2e.sh"
pwe_begin valgrind

command -v valgrind >/dev/null || { pwe_fail valgrind "valgrind is not installed (make setup)"; exit 1; }
VG_ERR=97
SUPP=$PWE_ROOT/tests/e2e/valgrind.supp
VG=(valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=$VG_ERR
    --suppressions="$SUPP" --child-silent-after-fork=yes --num-callers=30 --track-origins=yes)

STATE_DIR=
vg_on_exit() {
	local rc=$?
	[ -n "$STATE_DIR" ] && case $STATE_DIR in /run/podwall/"$PWC_PREFIX"-*) rm -rf "$STATE_DIR" ;; esac
	(exit $rc)
	pwe_on_exit
}
trap 'vg_on_exit' EXIT

SHIM=$PWC_WORK/valgrind-bpf-shim.so
if ! cc -O1 -g -shared -fPIC -o "$SHIM" tests/e2e/valgrind-bpf-shim.c -ldl -lbpf 2>"$PWC_WORK/shim.err"; then
	pwe_fail valgrind "building tests/e2e/valgrind-bpf-shim.c: $(head -n 3 "$PWC_WORK/shim.err")"; exit 1
fi
VGENV=(env LD_PRELOAD="$SHIM")

pwc_node node1
pwc_pod node1 vg server "app=server" "http:80/TCP"
pwc_pod node1 vg client "app=client"
pwc_pod node1 vg other "app=other"
pwc_serve vg/server tcp 80
NS=$(pwc_node_netns node1)
NETNS=/run/netns/$NS
PIN=$(pwc_pin_dir node1)
STATE_DIR=/run/podwall/$(basename "$PIN")
MPORT=$((20000 + $$ % 20000))
SOCK=$PWC_WORK/run/cni.sock
LOGS=$PWC_WORK/logs

# vg_verdict NAME RC LOG: PASS iff exit 0 and memcheck says no definite loss
vg_verdict() {
	local name=$1 rc=$2 log=$3 lost errs
	lost=$(grep -oE 'definitely lost: [0-9,]+ bytes' "$log" | tail -n 1)
	grep -q 'no leaks are possible' "$log" && lost="definitely lost: 0 bytes (all heap blocks freed)"
	errs=$(grep -oE 'ERROR SUMMARY: [0-9,]+ errors' "$log" | tail -n 1)
	if [ "$rc" = 0 ] && { [ "$lost" = "definitely lost: 0 bytes" ] || [ "$lost" = "definitely lost: 0 bytes (all heap blocks freed)" ]; } &&
	   [ "$errs" = "ERROR SUMMARY: 0 errors" ]; then
		pwe_pass "$name" "$lost, $errs, $(grep -oE 'total heap usage: [0-9,]+ allocs' "$log" | tail -n 1)"
	else
		pwe_fail "$name" "exit $rc; ${lost:-no leak summary}; ${errs:-no error summary}"
		grep -E '^==[0-9]+== ' "$log" | grep -v 'WARNING: unhandled eBPF' | head -n 40 >&2
	fi
}

# ------------------------------------------------------------ the agent
pwe_np_default_deny vg | pwc_write np-deny.yaml
AVG=$LOGS/valgrind-agent.log
echo "$PIN" >"$PWC_WORK/agents/node1.pin"
pwc_spawn "$LOGS/agent-node1.log" nsenter --net="$NETNS" "${VGENV[@]}" "${VG[@]}" --log-file="$AVG" \
	"$PODWALL" agent --source "$PWC_SRC" --pin-dir "$PIN" --metrics "$MPORT" --cni-socket "$SOCK"
VPID=$PWC_LAST_PID
echo "$VPID" >"$PWC_WORK/agents/node1.pid"
ALOG=$LOGS/agent-node1.log
count_applied() { grep -c "podwall: applied generation" "$ALOG" 2>/dev/null || true; }
more_applied() { [ "$(count_applied)" -gt "$1" ]; }
refused() { grep -q "nothing applied" "$ALOG"; }
edit_and_wait() {   # name: the source has just been edited
	local n=$1
	if pwc_wait_for 60 more_applied "$n"; then return 0; fi
	pwe_fail "valgrind_agent_applies" "edit $2 not applied within 60 s"
	return 1
}

if pwc_wait_for 120 more_applied 0 && pwe_wait_state 30 "fail:vg/client vg/server 80 tcp"; then
	pwe_pass valgrind_agent_first_apply "default deny enforced by the agent under valgrind"
else
	pwe_fail valgrind_agent_first_apply "no first apply within 120 s"; exit 1
fi
n=$(count_applied)
pwe_np_allow_pair allow vg app=client app=server 80/TCP | pwc_write np-allow.yaml
edit_and_wait "$n" allow && pwe_wait_state 30 "ok:vg/client vg/server 80 tcp" &&
	pwe_pass valgrind_agent_edit_allow "client -> server:80 allowed"
n=$(count_applied)
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: vg}\nstatus: {podIP: 1.2.3.999}\n' |
	pwc_write zz-bad.yaml
if pwc_wait_for 60 refused; then pwe_pass valgrind_agent_refuses_bad_input; else pwe_fail valgrind_agent_refuses_bad_input "no refusal logged"; fi
pwc_rm zz-bad.yaml
edit_and_wait "$n" removal-of-bad
n=$(count_applied)
pwe_np_default_deny vg Ingress | pwc_write np-deny.yaml
edit_and_wait "$n" ingress-only
n=$(count_applied)
pwc_rm np-allow.yaml
edit_and_wait "$n" remove-allow && pwe_wait_state 30 "fail:vg/client vg/server 80 tcp" &&
	pwe_pass valgrind_agent_edit_remove "client -> server:80 denied again"
if timeout -k 1 10 nsenter --net="$NETNS" "$PWC_PY" -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read().decode())' "http://127.0.0.1:$MPORT/metrics" 8 2>/dev/null | grep -q podwall_policy_generation; then
	pwe_pass valgrind_agent_metrics_scrape
else
	pwe_fail valgrind_agent_metrics_scrape "no metrics"
fi
ans=$(timeout -k 1 20 nsenter --net="$NETNS" "$PWC_PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(15); s.connect(sys.argv[1])
s.sendall(b"{\"v\": 1, \"op\": \"DEL\", \"containerID\": \"vg\", \"ifname\": \"eth0\", \"netns\": \"\"}\n")
s.shutdown(socket.SHUT_WR); print(s.recv(4096).decode().strip())' "$SOCK" 2>&1)
if grep -q '"ok":true' <<<"$ans"; then pwe_pass valgrind_agent_cni_request "$ans"; else pwe_fail valgrind_agent_cni_request "$ans"; fi
sleep 3   # a few ticks
kill -TERM "$VPID" 2>/dev/null
for _ in $(seq 300); do kill -0 "$VPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$VPID" 2>/dev/null; then
	pwe_fail valgrind_agent_sigterm "the agent did not stop within 30 s of SIGTERM"
	pwc_kill "$VPID" KILL
	rc=137
else
	wait "$VPID"; rc=$?
	grep -q "agent stopping" "$ALOG" && pwe_pass valgrind_agent_sigterm "stopped on SIGTERM"
fi
rm -f "$PWC_WORK/agents/node1.pid"
pwe_expect valgrind_enforcement_survives_the_agent fail "vg/client vg/server 80 tcp"
vg_verdict valgrind_agent_no_leak "$rc" "$AVG"
pwe_note "unhandled bpf commands seen: $(grep -oE 'unhandled eBPF command [0-9]+' "$AVG" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"

# ------------------------------------------------------------ one-shot commands
pwe_np_allow_pair allow vg app=client app=server 80/TCP | pwc_write np-allow.yaml
for cmd in apply status matrix; do
	log=$LOGS/valgrind-$cmd.log
	case $cmd in
	apply)  args=(apply -f "$PWC_SRC" --pin-dir "$PIN") ;;
	status) args=(status --pin-dir "$PIN") ;;
	matrix) args=(matrix -f "$PWC_SRC" --ports 80) ;;
	esac
	timeout -k 5 300 nsenter --net="$NETNS" "${VGENV[@]}" "${VG[@]}" --log-file="$log" "$PODWALL" "${args[@]}" \
		>"$LOGS/valgrind-$cmd.out" 2>&1
	vg_verdict "valgrind_${cmd}_no_leak" $? "$log"
done
pwe_expect valgrind_apply_applied ok "vg/client vg/server 80 tcp"
pwe_end
