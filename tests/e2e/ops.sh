#!/usr/bin/env bash
# End to end: operating podwall (issue 6) on the seed scenario of the demo,
# against a running agent on the local cluster (scripts/cluster.sh):
#
#   node1: production/{frontend,backend,postgres} (tcp 80, 8080, 5432),
#          kube-system/coredns (dnsmasq), staging/client;
#          Services kube-dns 198.19.255.10:53, backend 198.19.255.20:8080
#   policies: default-deny-all, allow-dns, frontend->backend:8080,
#             backend->postgres:5432 (production); default-deny egress (staging)
#
# Checks: lint (the seed is clean; without its DNS rule it names the missing
# rule with file:line and a fix; bad input exits 2); the loaded-state file
# (root-only, atomic); status (text and JSON: endpoints, isolation, DNS
# state, map fill, generation, mode); monitor (text and JSON, filters, the DNS
# name of a dropped query, rate-limit suppression accounted for); /metrics
# (loopback only by default, ":PORT" refused; counters move with real
# traffic, DNS per pod, apply histogram, last apply success 0 then 1);
# explain (names the rule; agrees with matrix, with explain -f and with real
# connections on the same probes); audit mode, for everything
# (--mode audit) and per namespace (podwall.io/mode: audit): what enforce
# drops passes, monitor shows AUDIT, counters move; back to enforce drops.
#
# Run: bash tests/e2e/ops.sh (root; ./podwall built).
set -uo pipefail
. "$(dirname "$0")/../lib/e2e.sh"
pwe_begin ops

OPS_STATE_DIR=
ops_on_exit() {
	local rc=$?
	# the agent's loaded-state file for our pin dir (podwall uninstall leaves it)
	[ -n "$OPS_STATE_DIR" ] && case $OPS_STATE_DIR in /run/podwall/"$PWC_PREFIX"-*) rm -rf "$OPS_STATE_DIR" ;; esac
	(exit $rc)
	pwe_on_exit
}
trap 'ops_on_exit' EXIT

QNAME=backend.production.svc.cluster.local
MPORT=9090
FE=production/frontend BE=production/backend PG=production/postgres DNS=kube-system/coredns

pwc_seed 1 2>/dev/null || { pwe_fail ops_cluster "building the seed cluster failed"; exit 1; }
pwc_pod node1 staging client "app=client"
NETNS=/run/netns/$(pwc_node_netns node1)
PIN=$(pwc_pin_dir node1)
OPS_STATE_DIR=/run/podwall/$(basename "$PIN")
LOGS=$PWC_WORK/logs

# podwall in the node's namespace, bounded
pw() { timeout -k 1 30 nsenter --net="$NETNS" "$PODWALL" "$@"; }
scrape() { timeout -k 1 5 nsenter --net="$NETNS" curl -s --max-time 3 "http://127.0.0.1:$MPORT/metrics" >"$1"; }
# metric FILE 'name{labels}': its value, 0 if absent
metric() { awk -v k="$2" '$1 == k { v = $2; f = 1 } END { printf "%d\n", f ? v : 0 }' "$1"; }
json() { "$PWC_PY" -c "$1" "${@:2}"; }

# ------------------------------------------------------------ the seed's policies
pwc_seed_policies || { pwe_fail ops_seed_policies "writing the seed policies failed"; exit 1; }
pwe_np_default_deny staging Egress | pwc_write np-staging-deny.yaml

# ------------------------------------------------------------ lint (no agent needed)
LINT=$PWC_WORK/lint-seed
mkdir -p "$LINT"
for f in ns-production.yaml ns-kube-system.yaml pod-production-frontend.yaml pod-production-backend.yaml \
	 pod-production-postgres.yaml pod-kube-system-coredns.yaml svc-kube-system-kube-dns.yaml \
	 svc-production-backend.yaml default-deny-all.yaml allow-dns.yaml frontend-to-backend.yaml \
	 backend-to-postgres.yaml; do
	cp "$PWC_SRC/$f" "$LINT/"
done
out=$("$PODWALL" lint -f "$LINT" 2>&1); rc=$?
if [ $rc -eq 0 ]; then pwe_pass lint_seed_is_clean
else pwe_fail lint_seed_is_clean "exit $rc: $(head -n 3 <<<"$out" | tr '\n' ' ')"; fi

rm "$LINT/allow-dns.yaml"
out=$("$PODWALL" lint -f "$LINT" 2>&1); rc=$?
printf '%s\n' "$out" >"$LOGS/lint-nodns.out"
if [ $rc -eq 1 ] && grep -q "^$LINT/default-deny-all.yaml:[0-9]*: egress-without-dns: no DNS rule" <<<"$out" &&
   grep -q 'production/frontend' <<<"$out" && grep -q 'name: allow-dns' <<<"$out" &&
   grep -q 'port: 53' <<<"$out"; then
	pwe_pass lint_names_missing_dns_rule "$(grep -m1 egress-without-dns <<<"$out" | cut -c1-160)"
else
	pwe_fail lint_names_missing_dns_rule "exit $rc (want 1): $(head -n 2 <<<"$out" | tr '\n' ' ' | cut -c1-300)"
fi
out=$("$PODWALL" lint -f "$LINT" -o json 2>/dev/null)
if json 'import json,sys; d=json.load(sys.stdin); f=[x for x in d if x["rule"]=="egress-without-dns"]; sys.exit(0 if len(d)==1 and f and f[0]["line"]>0 and f[0]["file"].endswith("default-deny-all.yaml") else 1)' <<<"$out"; then
	pwe_pass lint_json_file_line
else
	pwe_fail lint_json_file_line "$(tr '\n' ' ' <<<"$out" | cut -c1-300)"
fi
printf 'kind: NetworkPolicy\nmetadata: {name: bad, namespace: production}\nspec:\n  podSelector: {matchExpressions: [{key: a, operator: Near}]}\n' >"$LINT/bad.yaml"
out=$("$PODWALL" lint -f "$LINT" 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q 'bad.yaml:[0-9]' <<<"$out"; then pwe_pass lint_bad_input_exit_2
else pwe_fail lint_bad_input_exit_2 "exit $rc: $out"; fi
rm -f "$LINT/bad.yaml"

# ------------------------------------------------------------ agent with metrics
out=$(timeout -k 1 10 nsenter --net="$NETNS" "$PODWALL" agent --source "$PWC_SRC" --pin-dir "$PIN" \
	--metrics ":$MPORT" 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q 'no address' <<<"$out" && ! [ -e "$PIN/config" ]; then
	pwe_pass metrics_refuses_unspecified_address
else
	pwe_fail metrics_refuses_unspecified_address "exit $rc: $out"
fi

pwc_agent_start node1 --metrics "$MPORT"
if pwe_wait_state "$PWE_START_S" "fail:$FE $PG 5432 tcp" "ok:$FE $BE 8080 tcp" "ok:$BE $PG 5432 tcp"; then
	pwe_pass agent_enforces_seed
else
	pwe_fail agent_enforces_seed "not enforced within ${PWE_START_S}s: $(tail -n 3 "$(pwc_agent_log node1)" | tr '\n' ' ')"
fi
listen=$(nsenter --net="$NETNS" ss -Htln "sport = :$MPORT" 2>/dev/null | awk '{print $4}' | tr '\n' ' ')
if [ "$listen" = "127.0.0.1:$MPORT " ]; then pwe_pass metrics_loopback_by_default
else pwe_fail metrics_loopback_by_default "listening on '$listen'"; fi

# ------------------------------------------------------------ the loaded-state file
SF=$OPS_STATE_DIR/state.json
if [ -f "$SF" ] && [ "$(stat -c %a "$SF")" = 600 ] && [ "$(stat -c %a "$OPS_STATE_DIR")" = 700 ] &&
   json 'import json,sys; d=json.load(open(sys.argv[1])); e={x["pod"] for x in d["endpoints"]}; sys.exit(0 if {"production/frontend","staging/client","kube-system/coredns"} <= e and d["rules"] and d["generation"] >= 1 else 1)' "$SF" &&
   ! ls "$OPS_STATE_DIR" | grep -q tmp; then
	pwe_pass state_file_written "$(stat -c '%a %s bytes' "$SF")"
else
	pwe_fail state_file_written "$(ls -la "$OPS_STATE_DIR" 2>&1 | tr '\n' ' ')"
fi

# ------------------------------------------------------------ status
out=$(pw status --pin-dir "$PIN" 2>&1); rc=$?
printf '%s\n' "$out" >"$LOGS/status.out"
if [ $rc -eq 0 ] && grep -Eq '^production/frontend +198\.18\.1\.10 .* isolated +isolated +enforce +udp\+tcp' <<<"$out" &&
   grep -Eq '^kube-system/coredns .* open +open ' <<<"$out" && grep -Eq '^policy +hash +[0-9]+ +524288' <<<"$out" &&
   grep -Eq '^policy_lpm +lpm_trie +[0-9]+ +524288 .*in the live slot' <<<"$out" &&
   grep -Eq '^ipcache_lpm +lpm_trie +[0-9]+ +262144 .*in the live slot' <<<"$out" &&
   grep -Eq '^in force \(live slot [01], generation [0-9]+\): [1-9][0-9]* policy rules \([0-9]+ in policy, [0-9]+ in policy_lpm; summaries not counted\), [1-9][0-9]* ipcache entries' <<<"$out" &&
   grep -q 'mode enforce' <<<"$out"; then
	pwe_pass status_text
else
	pwe_fail status_text "exit $rc: $(head -n 12 <<<"$out" | tr '\n' '|' | cut -c1-400)"
fi
out=$(pw status --pin-dir "$PIN" -o json 2>/dev/null)
if json '
import json, sys
d = json.load(sys.stdin)
eps = {e["pod"]: e for e in d["endpoints"]}
fe, cl = eps["production/frontend"], eps["staging/client"]
maps = {m["map"]: m for m in d["maps"]}
ok = (len(eps) == 5 and fe["isolated"] == {"ingress": True, "egress": True} and fe["dns"]["state"] == "udp+tcp"
      and cl["isolated"] == {"ingress": False, "egress": True} and cl["dns"]["state"] == "DENIED"
      and "production/default-deny-all" in fe["policies"]["egress"]
      and maps["endpoints"]["entries"] == 5 and maps["endpoints"]["capacity"] == 4096
      and maps["policy"]["live_slot_entries"] > 0 and d["generation"] >= 1 and d["mode"] == "enforce")
# every map with its capacity; the rules in force counted once over both halves, summaries left out
live, pol, lpm = d["live_slot"], maps["policy"], maps["policy_lpm"]
ok = ok and (lpm["capacity"] == 524288 and maps["ipcache_lpm"]["capacity"] == 262144
      and lpm["type"] == "lpm_trie" and "live_slot_entries" in maps["ipcache_lpm"]
      and live["generation"] == d["generation"] and live["policy_rules"] > 0 and live["ipcache_entries"] > 0
      and live["policy_rules"] == pol["live_slot_entries"] - pol["live_slot_summaries"] + lpm["live_slot_entries"]
      and live["by_map"]["policy"] + live["by_map"]["policy_lpm"] == live["policy_rules"]
      and live["ipcache_entries"] == maps["ipcache"]["live_slot_entries"] + maps["ipcache_lpm"]["live_slot_entries"])
sys.exit(0 if ok else 1)' <<<"$out"; then
	pwe_pass status_json
else
	pwe_fail status_json "$(tr '\n' ' ' <<<"$out" | cut -c1-400)"
fi

# ------------------------------------------------------------ monitor
# mon_start NAME SECONDS ARGS...: podwall monitor in the node namespace; waits
# until it reads (events from before its start are skipped).
mon_start() {
	local name=$1 secs=$2 i; shift 2
	MON_OUT=$LOGS/monitor-$name.out
	pwc_spawn "$MON_OUT" timeout -k 1 "$secs" nsenter --net="$NETNS" "$PODWALL" monitor --pin-dir "$PIN" "$@"
	MON_PID=$PWC_LAST_PID
	for i in $(seq 50); do grep -q 'reading events' "$MON_OUT" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
mon_stop() { sleep 0.3; pwc_kill "$MON_PID"; }

mon_start json 20 -o json
PWC_PROBE_TIMEOUT=0.5 pwc_probe_all "$FE $PG 5432 tcp" "$BE $FE 80 tcp"
mon_stop
if json '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
ok = any(e.get("type") == "event" and e["verdict"] == "drop" and e["direction"] == "egress"
         and e["reason"] == "policy_denied" and e["src"]["name"] == "production/frontend"
         and e["dst"]["name"] == "production/postgres" and e["dst"]["port"] == 5432 and e["protocol"] == "tcp"
         and "production/default-deny-all" in e["policies"] for e in ev)
sys.exit(0 if ok else 1)' "$MON_OUT"; then
	pwe_pass monitor_json_drop_event "$(grep -m1 postgres "$MON_OUT" | cut -c1-200)"
else
	pwe_fail monitor_json_drop_event "$(head -c 400 "$MON_OUT" | tr '\n' ' ')"
fi

mon_start text 20
PWC_PROBE_TIMEOUT=0.5 pwc_probe "$FE" "$PG" 5432 tcp >/dev/null
mon_stop
if grep -Eq '^[0-9:.]+ production/frontend -> production/postgres tcp/5432 DROP \(egress default-deny, no rule allows it; egress isolated by .*production/default-deny-all' "$MON_OUT"; then
	pwe_pass monitor_text_drop_line "$(grep -m1 'production/postgres tcp/5432' "$MON_OUT")"
else
	pwe_fail monitor_text_drop_line "$(head -c 400 "$MON_OUT" | tr '\n' '|')"
fi

mon_start filter 20 --pod "$BE" --verdict drop
PWC_PROBE_TIMEOUT=0.5 pwc_probe_all "$FE $PG 5432 tcp" "$BE $FE 80 tcp"
mon_stop
if grep -q 'production/backend -> production/frontend tcp/80 DROP' "$MON_OUT" &&
   ! grep -q 'production/postgres' "$MON_OUT"; then
	pwe_pass monitor_filters_by_pod
else
	pwe_fail monitor_filters_by_pod "$(head -c 400 "$MON_OUT" | tr '\n' '|')"
fi

# ------------------------------------------------------------ metrics move with traffic
M0=$LOGS/metrics-0.txt M1=$LOGS/metrics-1.txt
scrape "$M0"
DROP_K='podwall_packets_total{direction="egress",verdict="drop",reason="policy_denied"}'
RULE_K='podwall_packets_total{direction="egress",verdict="allow",reason="rule"}'
EST_K='podwall_packets_total{direction="ingress",verdict="allow",reason="established"}'
BYTES_K='podwall_bytes_total{direction="egress",verdict="drop",reason="policy_denied"}'
denied=() allowed=()
for i in 1 2 3 4 5; do denied+=("$FE $PG 5432 tcp"); allowed+=("$FE $BE 8080 tcp"); done
PWC_PROBE_TIMEOUT=0.5 pwc_probe_all "${denied[@]}"
pwe_matches ok "${allowed[@]}"
sleep 0.2
scrape "$M1"
d0=$(metric "$M0" "$DROP_K") d1=$(metric "$M1" "$DROP_K")
r0=$(metric "$M0" "$RULE_K") r1=$(metric "$M1" "$RULE_K")
e0=$(metric "$M0" "$EST_K") e1=$(metric "$M1" "$EST_K")
b0=$(metric "$M0" "$BYTES_K") b1=$(metric "$M1" "$BYTES_K")
if grep -q '^# TYPE podwall_packets_total counter' "$M1" && [ $((d1 - d0)) -ge 5 ] && [ $((r1 - r0)) -ge 5 ] &&
   [ $((e1 - e0)) -ge 5 ] && [ $((b1 - b0)) -ge 200 ]; then
	pwe_pass metrics_counters_move "drops +$((d1 - d0)), rule allows +$((r1 - r0)), established +$((e1 - e0)), drop bytes +$((b1 - b0))"
else
	pwe_fail metrics_counters_move "drops $d0->$d1, rule allows $r0->$r1, established $e0->$e1, bytes $b0->$b1 (scrape: $(wc -l <"$M1") lines)"
fi
cnt=$(metric "$M1" podwall_apply_duration_seconds_count) inf=$(metric "$M1" 'podwall_apply_duration_seconds_bucket{le="+Inf"}')
if [ "$(metric "$M1" podwall_last_apply_success)" = 1 ] && [ "$cnt" -ge 1 ] && [ "$inf" = "$cnt" ] &&
   grep -q '^podwall_apply_duration_seconds_sum ' "$M1" && grep -q '^# TYPE podwall_apply_duration_seconds histogram' "$M1" &&
   [ "$(metric "$M1" 'podwall_map_capacity{map="policy"}')" = 524288 ] &&
   [ "$(metric "$M1" 'podwall_map_capacity{map="policy_lpm"}')" = 524288 ] &&
   [ "$(metric "$M1" 'podwall_map_capacity{map="ipcache_lpm"}')" = 262144 ] &&
   grep -q '^podwall_map_entries{map="policy_lpm"} ' "$M1" &&
   [ "$(metric "$M1" 'podwall_map_entries{map="endpoints"}')" = 5 ] &&
   [ "$(metric "$M1" podwall_policy_entries)" -gt 0 ] && [ "$(metric "$M1" podwall_ipcache_entries)" -gt 0 ] &&
   [ "$(metric "$M1" podwall_policy_entries)" = $(( $(metric "$M1" 'podwall_map_live_slot_entries{map="policy"}') -
	$(metric "$M1" podwall_policy_summaries) + $(metric "$M1" 'podwall_map_live_slot_entries{map="policy_lpm"}') )) ] &&
   [ "$(metric "$M1" podwall_policy_generation)" -ge 1 ] &&
   [ "$(metric "$M1" podwall_audit_mode)" = 0 ]; then
	pwe_pass metrics_apply_and_maps "applies $cnt, policy entries $(metric "$M1" podwall_policy_entries), generation $(metric "$M1" podwall_policy_generation)"
else
	pwe_fail metrics_apply_and_maps "$(grep -E '^podwall_(apply_duration_seconds_count|last_apply|map_capacity\{map="(policy|policy_lpm|ipcache_lpm)"|map_entries\{map="(endpoints|policy_lpm)"|map_live_slot_entries\{map="policy|policy_entries|ipcache_entries|policy_summaries|policy_generation|audit_mode)' "$M1" | tr '\n' ' ')"
fi

# a broken manifest: the apply fails (nothing changes), then it is fixed
printf 'kind: NetworkPolicy\nmetadata: {name: broken, namespace: production}\nspec: {podSelector: [}\n' | pwc_write broken.yaml
pwc_wait_for 5 bash -c "nsenter --net='$NETNS' curl -s --max-time 2 http://127.0.0.1:$MPORT/metrics | grep -qx 'podwall_last_apply_success 0'"
scrape "$M1"; s_bad=$(metric "$M1" podwall_last_apply_success); f_bad=$(metric "$M1" 'podwall_applies_total{result="failure"}')
pwc_rm broken.yaml
pwc_wait_for 5 bash -c "nsenter --net='$NETNS' curl -s --max-time 2 http://127.0.0.1:$MPORT/metrics | grep -qx 'podwall_last_apply_success 1'"
scrape "$M1"; s_ok=$(metric "$M1" podwall_last_apply_success)
if [ "$s_bad" = 0 ] && [ "$f_bad" -ge 1 ] && [ "$s_ok" = 1 ]; then
	pwe_pass metrics_last_apply_success "0 with a broken manifest, 1 once fixed"
else
	pwe_fail metrics_last_apply_success "broken: success=$s_bad failures=$f_bad; fixed: success=$s_ok"
fi

# DNS per pod: the DNS rule goes, a query is dropped (counted, and named by monitor)
DNS_SPEC="$FE $DNS $QNAME=$(pwc_ip $BE) dns"
DROPK='podwall_dns_packets_total{pod="production/frontend",verdict="dropped"}'
ALLOWK='podwall_dns_packets_total{pod="production/frontend",verdict="allowed"}'
pwc_rm allow-dns.yaml
pwe_wait_state 10 "fail:$DNS_SPEC" >/dev/null
scrape "$M0"
mon_start dns 20
pwe_matches fail "$DNS_SPEC"
mon_stop
scrape "$M1"
if [ "$(metric "$M1" "$DROPK")" -gt "$(metric "$M0" "$DROPK")" ]; then
	pwe_pass metrics_dns_drops_per_pod "$(grep -F "$DROPK" "$M1")"
else
	pwe_fail metrics_dns_drops_per_pod "$(grep podwall_dns_packets_total "$M1" | tr '\n' ' ')"
fi
if grep -q "production/frontend -> kube-system/coredns udp/53 DROP dns \"$QNAME\" (egress default-deny, no DNS rule" "$MON_OUT"; then
	pwe_pass monitor_names_dropped_dns_query "$(grep -m1 "$QNAME" "$MON_OUT")"
else
	pwe_fail monitor_names_dropped_dns_query "$(head -c 400 "$MON_OUT" | tr '\n' '|')"
fi
out=$(pw status --pin-dir "$PIN" -o json 2>/dev/null)
if json 'import json,sys; d=json.load(sys.stdin); e=[x for x in d["endpoints"] if x["pod"]=="production/frontend"][0]; sys.exit(0 if e["dns"]["state"]=="DENIED" and e["dns"]["dropped"]>0 else 1)' <<<"$out"; then
	pwe_pass status_shows_dns_denied
else
	pwe_fail status_shows_dns_denied "$(tr '\n' ' ' <<<"$out" | cut -c1-300)"
fi
pwc_seed_policy allow-dns | pwc_write allow-dns.yaml
pwe_wait_state 10 "ok:$DNS_SPEC" >/dev/null
# Up to three queries: one in CI answered without its count moving (ok, allowed
# 1 -> 1; dropped moved as expected before it), not seen again in 25 runs of
# this file, cause not found: a count that never moves still fails here.
tries=0
scrape "$M0"
while [ $tries -lt 3 ]; do
	tries=$((tries + 1))
	pwe_matches ok "$DNS_SPEC"; scrape "$M1"
	[ "$(metric "$M1" "$ALLOWK")" -gt "$(metric "$M0" "$ALLOWK")" ] && break
done
if [ "$(metric "$M1" "$ALLOWK")" -gt "$(metric "$M0" "$ALLOWK")" ]; then
	pwe_pass metrics_dns_allowed_per_pod "$(metric "$M0" "$ALLOWK") -> $(metric "$M1" "$ALLOWK") after $tries allowed queries"
else
	pwe_fail metrics_dns_allowed_per_pod "after $tries allowed queries: $(grep podwall_dns_packets_total "$M1" | tr '\n' ' ')"
fi

# rate limit: a flood of denied datagrams; every event is shown or counted as suppressed
FLOOD=4000
mon_start flood 30 -o json
scrape "$M0"
timeout -k 1 20 nsenter --net="/run/netns/$(pwc_pod_netns $FE)" "$PWC_PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[2])):
    try:
        s.sendto(b"x", (sys.argv[1], 9999))
    except OSError:
        pass' "$(pwc_ip $PG)" "$FLOOD"
sleep 1.2
PWC_PROBE_TIMEOUT=0.3 pwc_probe "$FE" "$PG" 9999 udp >/dev/null   # the next event carries the count
scrape "$M1"
mon_stop
sent=$(( $(metric "$M1" "$DROP_K") - $(metric "$M0" "$DROP_K") ))
if json '
import json, re, sys
shown = supp = pend = 0
for l in open(sys.argv[1]):
    if l.startswith("{"):
        e = json.loads(l)
        if e.get("type") == "suppressed" and not e.get("pending"):
            supp += e["count"]
        elif e.get("dst", {}).get("port") == 9999:
            shown += 1
m = re.findall(r"(\d+) suppressed by the kernel rate limit \(\+(\d+) pending\)", open(sys.argv[1]).read())
pend = int(m[-1][1]) if m else 0
sent = int(sys.argv[2])
print(f"{sent} dropped: {shown} shown, {supp} reported suppressed, {pend} pending", file=sys.stderr)
sys.exit(0 if (supp + pend) > 0 and shown + supp + pend >= sent else 1)' "$MON_OUT" "$sent" 2>"$LOGS/flood.txt"; then
	pwe_pass monitor_accounts_suppressed_events "$(cat "$LOGS/flood.txt")"
else
	pwe_fail monitor_accounts_suppressed_events "$(cat "$LOGS/flood.txt") $(grep -m2 -v '^{' "$MON_OUT" | tr '\n' ' ')"
fi

# ------------------------------------------------------------ explain agrees with the datapath
MATRIX=$(timeout -k 1 60 "$PODWALL" matrix -f "$PWC_SRC" --ports 80,8080,5432,53 --protocols TCP,UDP -o json 2>"$LOGS/matrix.err")
# probe: FROM TO PORT PROTO REAL-SPEC (the real-traffic probe of pwc_probe_all)
PROBES=(
	"$FE|$BE|8080|tcp|$FE $BE 8080 tcp"
	"$FE|$PG|5432|tcp|$FE $PG 5432 tcp"
	"$BE|$PG|5432|tcp|$BE $PG 5432 tcp"
	"$PG|$BE|8080|tcp|$PG $BE 8080 tcp"
	"$BE|$FE|80|tcp|$BE $FE 80 tcp"
	"staging/client|$BE|8080|tcp|staging/client $BE 8080 tcp"
	"$FE|$DNS|53|udp|$DNS_SPEC"
	"$BE|$DNS|53|tcp|$BE $DNS $QNAME=$(pwc_ip $BE) dnstcp"
	"$FE|198.19.255.20|8080|tcp|$FE 198.19.255.20 8080 tcp"
)
specs=(); for p in "${PROBES[@]}"; do specs+=("${p##*|}"); done
pwc_probe_all "${specs[@]}"
verdict_of() { json 'import json,sys; print(json.load(sys.stdin)["verdict"])' 2>/dev/null; }
for p in "${PROBES[@]}"; do
	IFS='|' read -r from to port proto spec <<<"$p"
	live=$(pw explain --pin-dir "$PIN" --from "$from" --to "$to" --port "$port" --protocol "$proto" -o json 2>>"$LOGS/explain.err" | verdict_of)
	file=$(timeout -k 1 30 "$PODWALL" explain -f "$PWC_SRC" --from "$from" --to "$to" --port "$port" --protocol "$proto" -o json 2>>"$LOGS/explain.err" | verdict_of)
	mx=$(json '
import json, sys
for e in json.loads(sys.argv[1] or "[]"):
    if e["from"] == sys.argv[2] and e["to"] == sys.argv[3] and e["port"] == int(sys.argv[4]) and e["protocol"] == sys.argv[5].upper():
        print(e["verdict"]); break
else:
    print("n/a")' "$MATRIX" "$from" "$to" "$port" "$proto")
	real=deny; [ "${PWC_RES[$spec]}" = ok ] && real=allow
	name="explain_agrees_${from//\//_}_to_${to//[\/.]/_}_${proto}_$port"
	if [ "$live" = "$real" ] && [ "$file" = "$real" ] && { [ "$mx" = "$real" ] || [ "$mx" = n/a ]; }; then
		pwe_pass "$name" "$real: explain live, explain -f, matrix ($mx), real traffic"
	else
		pwe_fail "$name" "explain live '$live', explain -f '$file', matrix '$mx', real traffic '$real'"
	fi
done
out=$(pw explain --pin-dir "$PIN" --from "$FE" --to "$BE" --port 8080 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q 'tcp/8080: ALLOW' <<<"$out" &&
   grep -q 'allowed by rule production/frontend-to-backend-egress egress\[0\] (.*frontend-to-backend.yaml:[0-9]*)' <<<"$out" &&
   grep -q 'allowed by rule production/frontend-to-backend-ingress ingress\[0\]' <<<"$out"; then
	pwe_pass explain_names_allowing_rules
else
	pwe_fail explain_names_allowing_rules "exit $rc: $(tr '\n' '|' <<<"$out" | cut -c1-400)"
fi
out=$(pw explain --pin-dir "$PIN" --from "$FE" --to "$PG" --port 5432 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q 'tcp/5432: DENY' <<<"$out" && grep -q 'isolated for egress by .*production/default-deny-all' <<<"$out" &&
   grep -q 'no rule allows tcp/5432; the egress rules of production/frontend are:' <<<"$out" &&
   grep -q 'frontend-to-backend-egress egress\[0\].*tcp/8080 to' <<<"$out"; then
	pwe_pass explain_says_why_denied
else
	pwe_fail explain_says_why_denied "exit $rc: $(tr '\n' '|' <<<"$out" | cut -c1-400)"
fi

# ------------------------------------------------------------ audit mode: everything
pwc_agent_stop node1
pwc_agent_start node1 --mode audit --metrics "$MPORT"
if pwe_wait_state "$PWE_START_S" "ok:$FE $PG 5432 tcp" "ok:staging/client $BE 8080 tcp"; then
	pwe_pass audit_mode_passes_what_enforce_drops
else
	pwe_fail audit_mode_passes_what_enforce_drops "still dropped after ${PWE_START_S}s"
fi
pwc_wait_for 5 bash -c "nsenter --net='$NETNS' curl -s --max-time 2 http://127.0.0.1:$MPORT/metrics | grep -qx 'podwall_audit_mode 1'"
AUD_K='podwall_packets_total{direction="egress",verdict="audit",reason="policy_denied"}'
scrape "$M0"
mon_start audit 20 -o json --verdict audit
pwe_matches ok "$FE $PG 5432 tcp" "$FE $PG 5432 tcp" "$FE $PG 5432 tcp"
mon_stop
scrape "$M1"
if json '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
ok = any(e.get("verdict") == "audit" and e["reason"] == "policy_denied" and e["direction"] == "egress"
         and e["src"]["name"] == "production/frontend" and e["dst"]["name"] == "production/postgres" for e in ev)
sys.exit(0 if ok and all(e.get("verdict") == "audit" for e in ev if e.get("type") == "event") else 1)' "$MON_OUT"; then
	pwe_pass audit_mode_monitor_shows_audit "$(grep -m1 postgres "$MON_OUT" | cut -c1-160)"
else
	pwe_fail audit_mode_monitor_shows_audit "$(head -c 400 "$MON_OUT" | tr '\n' ' ')"
fi
a0=$(metric "$M0" "$AUD_K") a1=$(metric "$M1" "$AUD_K")
if [ $((a1 - a0)) -ge 3 ] && [ "$(metric "$M1" podwall_audit_mode)" = 1 ]; then
	pwe_pass audit_mode_counters_move "audit would-drops $a0 -> $a1"
else
	pwe_fail audit_mode_counters_move "audit would-drops $a0 -> $a1, audit_mode $(metric "$M1" podwall_audit_mode)"
fi
out=$(pw status --pin-dir "$PIN" 2>&1)
if grep -q 'mode audit (every endpoint)' <<<"$out" && grep -Eq '^egress +audit +policy_denied +[1-9]' <<<"$out"; then
	pwe_pass audit_mode_status
else
	pwe_fail audit_mode_status "$(head -n 3 <<<"$out" | tr '\n' '|')"
fi
v=$(pw explain --pin-dir "$PIN" --from "$FE" --to "$PG" --port 5432 -o json 2>/dev/null | verdict_of)
if [ "$v" = audit ]; then pwe_pass audit_mode_explain; else pwe_fail audit_mode_explain "verdict '$v'"; fi

# back to enforce: the same flows drop again
pwc_agent_stop node1
pwc_agent_start node1 --metrics "$MPORT"
if pwe_wait_state "$PWE_START_S" "fail:$FE $PG 5432 tcp" "fail:staging/client $BE 8080 tcp" "ok:$FE $BE 8080 tcp"; then
	pwe_pass enforce_mode_drops_again
else
	pwe_fail enforce_mode_drops_again "not enforced again within ${PWE_START_S}s"
fi

# ------------------------------------------------------------ audit mode: one namespace
pwc_write ns-production.yaml <<-'EOF'
apiVersion: v1
kind: Namespace
metadata:
  name: production
  labels:
    kubernetes.io/metadata.name: "production"
  annotations:
    podwall.io/mode: audit
EOF
if pwe_wait_state 10 "ok:$FE $PG 5432 tcp" && pwe_matches fail "staging/client $BE 8080 tcp"; then
	pwe_pass namespace_audit_passes_only_there "production audited, staging enforced"
else
	pwe_fail namespace_audit_passes_only_there "production $(pwc_probe $FE $PG 5432 tcp), staging $(pwc_probe staging/client $BE 8080 tcp)"
fi
mon_start nsaudit 20
PWC_PROBE_TIMEOUT=0.5 pwc_probe_all "$FE $PG 5432 tcp" "staging/client $BE 8080 tcp"
mon_stop
if grep -q 'production/frontend -> production/postgres tcp/5432 AUDIT (would drop: egress default-deny' "$MON_OUT" &&
   grep -q 'staging/client -> production/backend tcp/8080 DROP' "$MON_OUT"; then
	pwe_pass namespace_audit_monitor "AUDIT in production, DROP in staging"
else
	pwe_fail namespace_audit_monitor "$(head -c 500 "$MON_OUT" | tr '\n' '|')"
fi
out=$(pw status --pin-dir "$PIN" -o json 2>/dev/null)
if json 'import json,sys; d=json.load(sys.stdin); m={e["pod"]: e["mode"] for e in d["endpoints"]}; sys.exit(0 if d["mode"]=="enforce" and m["production/frontend"]=="audit" and m["staging/client"]=="enforce" else 1)' <<<"$out"; then
	pwe_pass namespace_audit_status
else
	pwe_fail namespace_audit_status "$(tr '\n' ' ' <<<"$out" | cut -c1-300)"
fi

pwe_end
