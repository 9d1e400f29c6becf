# Shell helpers for the end-to-end tests (tests/e2e/*.sh), on top of
# scripts/cluster.sh. Source from a test run at the repository root:
#
#   . tests/lib/e2e.sh
#   pwe_begin agent          # root + tools + ./podwall agent present, cluster state, traps
#   pwc_node node1 ...       # build the cluster (scripts/cluster.sh)
#   pwe_expect allow_tcp ok "ns/a ns/b 80 tcp" ...
#   pwe_end                  # exit status: 1 if anything failed
#
# Every check prints exactly one line, "PASS name" or "FAIL name: why"
# (tests/run.sh counts them). Diagnostics go to stderr. Every probe is bounded
# by `timeout`; waits have deadlines; nothing blocks forever.

PWE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$PWE_ROOT/scripts/cluster.sh"

PWE_FAILS=0
PWE_PASSES=0
PWE_SUITE=e2e
# how fast an edit in DIR must take effect (the issue says: within a second)
PWE_EDIT_MS=${PWE_EDIT_MS:-1000}
# how long the first enforcement after an agent start may take
PWE_START_S=${PWE_START_S:-20}

pwe_pass() { PWE_PASSES=$((PWE_PASSES + 1)); echo "PASS $1${2:+ ($2)}"; }
pwe_fail() { PWE_FAILS=$((PWE_FAILS + 1)); echo "FAIL $1: $2"; }
pwe_note() { printf '# %s\n' "$*" >&2; }

# pwe_check NAME CMD...: PASS if CMD succeeds, else FAIL with CMD's last line.
pwe_check() {
	local name=$1 out; shift
	if out=$("$@" 2>&1); then pwe_pass "$name"; else pwe_fail "$name" "${out##*$'\n'}"; fi
}

# pwe_begin SUITE: preconditions and cluster state. A missing precondition is
# one FAIL line and exit 1 (the test cannot run, it did not pass).
pwe_begin() {
	PWE_SUITE=$1
	cd "$PWE_ROOT" || exit 1
	if [ "$(id -u)" -ne 0 ]; then pwe_fail "$PWE_SUITE" "must run as root"; exit 1; fi
	local t
	for t in ip nsenter setsid socat timeout iptables dnsmasq dig iperf3 ss "$PWC_PY"; do
		command -v "$t" >/dev/null 2>&1 || { pwe_fail "$PWE_SUITE" "missing tool $t (make setup)"; exit 1; }
	done
	if ! [ -x "$PODWALL" ]; then
		pwe_fail "$PWE_SUITE" "$PODWALL not built (make)"; exit 1
	fi
	local usage; usage=$("$PODWALL" 2>&1)
	if ! grep -qw agent <<<"$usage"; then
		pwe_fail "$PWE_SUITE" "$PODWALL has no 'agent' command yet"; exit 1
	fi
	PWC_PREFIX=pw$$
	pwc_init "$PWC_PREFIX"
	trap 'pwe_on_exit' EXIT
	pwe_note "cluster prefix $PWC_PREFIX, state $PWC_WORK"
}

pwe_on_exit() {
	local rc=$? f
	if [ "$PWE_FAILS" -gt 0 ] || [ "$rc" -ne 0 ]; then
		for f in "$PWC_WORK"/logs/agent-*.log; do
			[ -e "$f" ] || continue
			echo "--- tail of $(basename "$f")" >&2
			tail -n 15 "$f" >&2
		done
	fi
	pwc_cleanup
	[ "$PWE_FAILS" -eq 0 ] || exit 1
	exit $rc
}

pwe_end() {
	pwe_note "$PWE_SUITE: $PWE_PASSES passed, $PWE_FAILS failed"
	[ "$PWE_FAILS" -eq 0 ]
	exit $?
}

# pwe_expect NAME ok|fail SPEC...: run the probes (pwc_probe_all specs) in
# parallel; PASS iff every one gives the expected result.
pwe_expect() {
	local name=$1 want=$2 spec bad=(); shift 2
	pwc_probe_all "$@"
	for spec in "$@"; do
		[ "${PWC_RES[$spec]}" = "$want" ] || bad+=("[$spec] ${PWC_RES[$spec]}")
	done
	if [ ${#bad[@]} -eq 0 ]; then pwe_pass "$name"; return 0; fi
	pwe_fail "$name" "expected $want, got: ${bad[*]}"
	return 1
}

# pwe_matches WANT SPEC... : 0 iff every probe gives WANT (no output).
pwe_matches() {
	local want=$1 spec; shift
	pwc_probe_all "$@"
	for spec in "$@"; do [ "${PWC_RES[$spec]}" = "$want" ] || return 1; done
	return 0
}

# pwe_wait_state SECONDS "ok:SPEC" "fail:SPEC"...: poll until every probe gives
# its expected result; 1 on timeout. Used to wait for an agent to enforce.
pwe_wait_state() {
	local secs=$1; shift
	local end=$(( $(pwc_now_ms) + secs * 1000 )) oks=() fails=() s
	for s in "$@"; do
		case $s in ok:*) oks+=("${s#ok:}") ;; fail:*) fails+=("${s#fail:}") ;; esac
	done
	while :; do
		if { [ ${#oks[@]} -eq 0 ] || pwe_matches ok "${oks[@]}"; } &&
		   { [ ${#fails[@]} -eq 0 ] || pwe_matches fail "${fails[@]}"; }; then
			return 0
		fi
		[ "$(pwc_now_ms)" -ge "$end" ] && return 1
		sleep 0.2
	done
}

# pwe_time_until_ok MAX_MS SPEC: probe SPEC (with short timeouts) until it
# succeeds; prints the milliseconds since $PWE_T0 (set by the caller right
# after the edit) and returns 0, or prints "never" and returns 1 after MAX_MS.
pwe_time_until_ok() {
	local max=$1 spec=$2 end
	end=$(( PWE_T0 + max ))
	while :; do
		if PWC_PROBE_TIMEOUT=0.25 _pwc_probe_spec $spec >/dev/null 2>&1; then
			echo $(( $(pwc_now_ms) - PWE_T0 )); return 0
		fi
		[ "$(pwc_now_ms)" -ge "$end" ] && { echo never; return 1; }
		sleep 0.02
	done
}

# pwe_stream_cut_ms QUIET_MS MAX_MS FILE...: watch streams' output files
# (together) after an edit at $PWE_T0. For each, prints the time (ms after
# PWE_T0) of the last byte received once nothing has arrived for QUIET_MS, or
# "never" if it still flows at MAX_MS. Returns once every stream is settled.
pwe_stream_cut_ms() {
	local quiet=$1 max=$2; shift 2
	local n=$# i now size done last=() last_t=() res=() f
	i=0; for f in "$@"; do last[$i]=$(pwc_stream_bytes "$f"); last_t[$i]=$PWE_T0; i=$((i + 1)); done
	while :; do
		sleep 0.05
		now=$(pwc_now_ms); done=0; i=0
		for f in "$@"; do
			if [ -z "${res[$i]:-}" ]; then
				size=$(pwc_stream_bytes "$f")
				if [ "$size" != "${last[$i]}" ]; then last[$i]=$size; last_t[$i]=$now; fi
				if [ $((now - last_t[i])) -ge "$quiet" ]; then res[$i]=$((last_t[i] - PWE_T0))
				elif [ $((now - PWE_T0)) -ge "$max" ]; then res[$i]=never; fi
			fi
			[ -n "${res[$i]:-}" ] && done=$((done + 1))
			i=$((i + 1))
		done
		[ "$done" -eq "$n" ] && break
	done
	echo "${res[*]}"
}

# pwe_stream_flowing FILE [MS]: 0 iff FILE grows within MS (default 500).
pwe_stream_flowing() {
	local f=$1 ms=${2:-500} a b end
	a=$(pwc_stream_bytes "$f"); end=$(( $(pwc_now_ms) + ms ))
	while [ "$(pwc_now_ms)" -lt "$end" ]; do
		sleep 0.05
		b=$(pwc_stream_bytes "$f")
		[ "$b" != "$a" ] && return 0
	done
	return 1
}

# ---------------------------------------------------------- policy manifests

# pwe_np_allow_pair NAME NS FROM_LABEL TO_LABEL PORTS...: two NetworkPolicies
# in one document stream: egress of pods FROM_LABEL (k=v) to pods TO_LABEL on
# PORTS ("7000/TCP" ...), and ingress of TO_LABEL from FROM_LABEL on the same.
pwe_np_allow_pair() {
	local name=$1 ns=$2 from=$3 to=$4 p; shift 4
	cat <<-EOF
	apiVersion: networking.k8s.io/v1
	kind: NetworkPolicy
	metadata:
	  name: $name-egress
	  namespace: $ns
	spec:
	  podSelector:
	    matchLabels:
	      ${from%%=*}: "${from#*=}"
	  policyTypes: [Egress]
	  egress:
	  - to:
	    - podSelector:
	        matchLabels:
	          ${to%%=*}: "${to#*=}"
	    ports:
	EOF
	for p in "$@"; do printf '    - {protocol: %s, port: %s}\n' "${p#*/}" "${p%/*}"; done
	cat <<-EOF
	---
	apiVersion: networking.k8s.io/v1
	kind: NetworkPolicy
	metadata:
	  name: $name-ingress
	  namespace: $ns
	spec:
	  podSelector:
	    matchLabels:
	      ${to%%=*}: "${to#*=}"
	  policyTypes: [Ingress]
	  ingress:
	  - from:
	    - podSelector:
	        matchLabels:
	          ${from%%=*}: "${from#*=}"
	    ports:
	EOF
	for p in "$@"; do printf '    - {protocol: %s, port: %s}\n' "${p#*/}" "${p%/*}"; done
}

# pwe_np_default_deny NS [TYPES]: podSelector {} with policyTypes TYPES
# ("Ingress, Egress" by default) and no rules.
pwe_np_default_deny() {
	cat <<-EOF
	apiVersion: networking.k8s.io/v1
	kind: NetworkPolicy
	metadata:
	  name: default-deny
	  namespace: $1
	spec:
	  podSelector: {}
	  policyTypes: [${2:-Ingress, Egress}]
	EOF
}

# ---------------------------------------------------------- a stand-in API server

# pwe_tls_localhost DIR: a CA (DIR/ca.crt, ca.key) and a server certificate
# for 127.0.0.1 signed by it (DIR/srv.crt, srv.key), for k8s_replay.py.
pwe_tls_localhost() {
	local d=$1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj /CN=podwall-test-ca -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \
		-keyout "$d/srv.key" -out "$d/srv.csr" 2>/dev/null &&
	printf 'subjectAltName=IP:127.0.0.1\n' >"$d/ext" &&
	openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
		-days 1 -extfile "$d/ext" -out "$d/srv.crt" 2>/dev/null
}

# pwe_replay_kubeconfig DIR TOKEN: DIR/kubeconfig for the stand-in API server
# of pwe_replay_start (http://127.0.0.1:6443, bearer TOKEN), and its control
# directory DIR/ctl at phase 0 (k8s_replay.py --control).
pwe_replay_kubeconfig() {
	mkdir -p "$1/ctl" && echo 0 >"$1/ctl/phase" &&
	cat >"$1/kubeconfig" <<-KC
	apiVersion: v1
	kind: Config
	current-context: t
	clusters: [{name: c, cluster: {server: "http://127.0.0.1:6443"}}]
	users: [{name: u, user: {token: $2}}]
	contexts: [{name: t, context: {cluster: c, user: u}}]
	KC
}

# pwe_replay_start NETNS DIR LABEL TOKEN [k8s_replay.py ARGS...]: serve
# DIR/scenario.json on 127.0.0.1:6443 of NETNS (http, bearer TOKEN, control
# DIR/ctl), its requests logged to DIR/requests-LABEL.jsonl, its output to
# DIR/replay-LABEL.log; PWE_REPLAY_PID. Fails if it does not listen.
pwe_replay_start() {
	local ns=$1 d=$2 label=$3 token=$4
	shift 4
	pwc_spawn "$d/replay-$label.log" nsenter --net="/run/netns/$ns" "$PWC_PY" \
		"$PWE_ROOT/tests/e2e/k8s_replay.py" --scenario "$d/scenario.json" --control "$d/ctl" \
		--log "$d/requests-$label.jsonl" --port 6443 --token "$token" "$@"
	PWE_REPLAY_PID=$PWC_LAST_PID
	_pwc_wait_listen "$ns" tcp 6443
}

# ---------------------------------------------------------- podwall's own state

# pwe_dns_counter NODE FIELD: the sum of FIELD (allowed, dropped) over the
# entries of the node's pinned `dns` map (DESIGN §2), read with bpftool from
# its BTF; prints nothing if the map or field cannot be found.
pwe_dns_counter() {
	local pin map
	pin=$(pwc_pin_dir "$1")
	command -v bpftool >/dev/null || return 1
	map=$(find "$pin" -maxdepth 3 -name dns 2>/dev/null | head -n 1)
	[ -n "$map" ] || return 1
	timeout 5 bpftool -j map dump pinned "$map" 2>/dev/null | "$PWC_PY" -c '
import json, sys
field = sys.argv[1]
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == field and isinstance(v, int):
                yield v
            else:
                yield from walk(v)
    elif isinstance(o, list):
        for v in o:
            yield from walk(v)
try:
    d = json.load(sys.stdin)
except Exception:
    sys.exit(1)
tot, seen = 0, False
for e in d:
    src = e.get("formatted", e) if isinstance(e, dict) else e
    for v in walk(src.get("value", src) if isinstance(src, dict) else src):
        tot += v; seen = True
if not seen:
    sys.exit(1)
print(tot)' "$2"
}

# pwe_agent_log_clean NODE: one check that the node's agent logged no error
# and rejected nothing.
pwe_agent_log_clean() {
	local log; log=$(pwc_agent_log "$1")
	if grep -qiE "error|rejected" "$log"; then
		pwe_fail agent_log_clean "$(grep -iE 'error|rejected' "$log" | head -n 2 | tr '\n' ' ')"
	else
		pwe_pass agent_log_clean
	fi
}

# pwe_monitor_start NODE SECONDS: `podwall monitor -o json` in the node's
# namespace for at most SECONDS; its output file is PWE_MON_OUT.
pwe_monitor_start() {
	local node=$1 secs=$2 netns
	netns=$(pwc_node_netns "$node")
	PWE_MON_OUT=$PWC_WORK/logs/monitor-$node-$(pwc_now_ms).out
	pwc_spawn "$PWE_MON_OUT" timeout -k 1 "$secs" nsenter --net="/run/netns/$netns" \
		"$PODWALL" monitor -o json --pin-dir "$(pwc_pin_dir "$node")"
	PWE_MON_PID=$PWC_LAST_PID
}
