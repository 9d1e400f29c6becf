#!/usr/bin/env bash
# End to end: the names file (/run/podwall/<pin dir basename>/state.json,
# agent/ops/statefile.c), written by a thread of its own after each sync,
# follows the maps:
#
#   apply:  five `podwall apply` in a row, each one changing the policy: when
#           each exits, the file is at the generation the maps are at, with
#           that apply's policy and not the one before (written before exit);
#   burst:  an agent fed 40 policy rewrites a few ms apart (applied at many
#           generations, some coalesced): the file, sampled all along, never
#           goes back to an older generation (writes land in order), and once
#           the agent is quiet it is at the maps' generation with the last
#           rewrite's policy only (latest wins);
#   stop:   an agent stopped with SIGTERM right after it applied a change
#           (one that adds 25000 pods: a long write) leaves the file of that
#           change (pending writes are flushed at exit);
#   and no write failed, no temporary file is left behind.
#
# Run: bash tests/e2e/statefile.sh (root; ./podwall built).
set -uo pipefail
. "$(dirname "$0")/../lib/e2e.sh"
pwe_begin statefile

SF_DIR=
sf_on_exit() {
	local rc=$?
	[ -n "${SAMPLER:-}" ] && kill "$SAMPLER" 2>/dev/null
	# our pin dir's state directory (podwall uninstall leaves it)
	[ -n "$SF_DIR" ] && case $SF_DIR in /run/podwall/"$PWC_PREFIX"-*) rm -rf "$SF_DIR" ;; esac
	(exit $rc)
	pwe_on_exit
}
trap 'sf_on_exit' EXIT

pwc_node node1
pwc_pod node1 sf a "app=a"
pwc_pod node1 sf b "app=b"
# bulk NS N FIRST: N pods of namespace NS elsewhere (no veth here), addresses
# from 198.19.0.0 + FIRST: each write of the file then takes ms, as on a
# real node, so that writes overlap the applies and the exit
bulk() {
	"$PWC_PY" - "$@" <<-'EOF'
	import sys
	ns, n, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
	for i in range(first, first + n):
	    print("---\nkind: Pod\napiVersion: v1\nmetadata: {name: bulk-%d, namespace: %s, "
	          "labels: {app: bulk}}\nstatus: {podIP: 198.19.%d.%d}" % (i, ns, i // 250, i % 250 + 1))
	EOF
}
bulk sfbulk 4000 0 | pwc_write bulk.yaml
NETNS=/run/netns/$(pwc_node_netns node1)
PIN=$(pwc_pin_dir node1)
SF_DIR=/run/podwall/$(basename "$PIN")
SF=$SF_DIR/state.json
LOG=$(pwc_agent_log node1)

pw() { timeout -k 1 30 nsenter --net="$NETNS" "$PODWALL" "$@"; }

# policy NAME PORT: b may reach a on PORT, in a policy named NAME (its rule
# names it); a new port changes the maps, hence a sync and a new generation
policy() {
	cat <<-EOF
	apiVersion: networking.k8s.io/v1
	kind: NetworkPolicy
	metadata:
	  name: $1
	  namespace: sf
	spec:
	  podSelector:
	    matchLabels: {app: a}
	  policyTypes: [Ingress]
	  ingress:
	  - from:
	    - podSelector:
	        matchLabels: {app: b}
	    ports:
	    - {protocol: TCP, port: $2}
	EOF
}

# names: "MAPS FILE POLICIES": the maps' generation, the file's, and the
# policies its rules name (comma-separated); "? ? ?" if either is unreadable
names() {
	local maps
	maps=$(pw status -o json --pin-dir "$PIN" 2>/dev/null |
		"$PWC_PY" -c 'import json,sys; print(json.load(sys.stdin)["generation"])' 2>/dev/null)
	"$PWC_PY" - "$SF" "${maps:-?}" <<-'EOF' 2>/dev/null || echo "? ? ?"
	import json, sys
	d = json.load(open(sys.argv[1]))
	print(sys.argv[2], d["generation"], ",".join(sorted({r["policy"] for r in d["rules"]})) or "-")
	EOF
}

# ------------------------------------------------------------ apply, five times
ok=0 detail=
for k in 1 2 3 4 5; do
	policy "apply-$k" $((1000 + k)) | pwc_write policy.yaml
	if ! out=$(pw apply -f "$PWC_SRC" --pin-dir "$PIN" 2>&1); then
		detail="apply $k: ${out##*$'\n'}"; break
	fi
	read -r mg fg pols < <(names)
	if [ "$mg" != "?" ] && [ "$mg" = "$fg" ] && [ "$pols" = "sf/apply-$k" ]; then
		ok=$((ok + 1))
	else
		detail="after apply $k: maps at $mg, file at $fg naming $pols"; break
	fi
done
if [ $ok = 5 ]; then pwe_pass apply_leaves_names_file "5 applies, each exited with its file written (generation $fg)"
else pwe_fail apply_leaves_names_file "$detail"; fi

# ------------------------------------------------------------ agent, a burst of changes
# wait_names WANT SECONDS: until the file is at the maps' generation and names WANT
wait_names() {
	local want=$1 until=$((SECONDS + $2))
	while [ $SECONDS -lt $until ]; do
		read -r mg fg pols < <(names)
		[ "$mg" != "?" ] && [ "$mg" = "$fg" ] && [ "$pols" = "$want" ] && return 0
		sleep 0.1
	done
	return 1
}

pwc_agent_start node1
if ! wait_names sf/apply-5 "$PWE_START_S"; then
	pwe_fail agent_writes_names_file "not within ${PWE_START_S}s: maps at $mg, file at $fg naming $pols"
	exit 1
fi
gen0=$fg
applied0=$(grep -c 'applied generation' "$LOG")

# the file's generation, as often as a shell can read it, until stopped
SAMPLES=$PWC_WORK/samples
( while :; do head -c 64 "$SF" 2>/dev/null | grep -o '"generation":[0-9]*'; done ) >"$SAMPLES" &
SAMPLER=$!
for k in $(seq 1 40); do
	policy "burst-$k" $((2000 + k)) | pwc_write policy.yaml
	sleep 0.00$((k % 4 + 1))
done
wait_names sf/burst-40 10; quiet=$?
kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null; SAMPLER=
applies=$(( $(grep -c 'applied generation' "$LOG") - applied0 ))
read -r n_samples n_gens back < <(sed 's/.*://' "$SAMPLES" | awk -v g0="$gen0" '
	{ n++; if ($1 < last) back = back " " last "->" $1; if ($1 != last) gens++; last = $1 }
	END { printf "%d %d %s\n", n, gens, back == "" ? "-" : back }')
if [ $quiet = 0 ]; then
	pwe_pass names_file_latest_wins "$applies applies while 40 rewrites landed; at the end the file is at generation $fg with sf/burst-40 only"
else
	pwe_fail names_file_latest_wins "10 s after the burst: maps at $mg, file at $fg naming $pols ($applies applies)"
fi
if [ "${n_samples:-0}" -gt 0 ] && [ "$back" = "-" ]; then
	pwe_pass names_file_in_order "$n_samples reads of the file during the burst saw $n_gens generations, never an older one after a newer"
else
	pwe_fail names_file_in_order "$n_samples reads; went back: $back"
fi

# ------------------------------------------------------------ agent stopped right after a change
# one change (one file) that adds 25000 pods: its write takes the longest
before=$(grep -c 'applied generation' "$LOG")
{ policy final 3000; bulk sfbig 25000 4000; } | pwc_write policy.yaml
until=$((SECONDS + 10))
while [ "$(grep -c 'applied generation' "$LOG")" -le "$before" ] && [ $SECONDS -lt $until ]; do sleep 0.01; done
last=$(grep -o 'applied generation [0-9]*' "$LOG" | tail -n 1 | awk '{print $3}')
pwc_agent_stop node1
read -r mg fg pols < <(names)
if [ -n "$last" ] && [ "$fg" = "$last" ] && [ "$pols" = sf/final ]; then
	pwe_pass agent_exit_leaves_names_file "stopped right after generation $last: the file has it"
else
	pwe_fail agent_exit_leaves_names_file "last applied ${last:-none}; the file at $fg naming $pols"
fi

if ! grep -q 'cannot write the state file' "$LOG" && ! ls "$SF_DIR" | grep -q tmp; then
	pwe_pass names_file_clean "no failed write, no temporary file left"
else
	pwe_fail names_file_clean "$(grep -m1 'cannot write the state file' "$LOG") $(ls "$SF_DIR" | tr '\n' ' ')"
fi
pwe_end
