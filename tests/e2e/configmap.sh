#!/usr/bin/env bash
# End to end: `podwall agent --source DIR` where DIR is laid out as kubelet
# lays out a ConfigMap volume (its atomic writer, pkg/volume/util/
# atomic_writer.go): the data in a hidden "..<timestamp>" directory,
# "..data -> ..<timestamp>", and the visible names "np.yaml -> ..data/np.yaml".
# An update writes a new timestamped directory, points "..data_tmp" at it and
# renames that onto "..data": the visible names do not change at all.
#
#   node1: production/a  production/b   (both serve tcp/7000)
#   v1: default-deny + a -> b on tcp/7000      v2: default-deny only
#
# Checks: the agent enforces v1 with each manifest read once (no duplicate
# object from "..data/..." or the timestamped directory); swapping v2 in
# cuts a -> b within a second or two, swapping v1 back opens it again; the
# agent logs no load error; with the source directory made group-writable
# the agent warns once, naming it, and goes on enforcing.
#
# Run: bash tests/e2e/configmap.sh (root; ./podwall built).
set -uo pipefail
. "$(dirname "$0")/../lib/e2e.sh"
pwe_begin configmap

A=production/a B=production/b
SWAP_MS=${SWAP_MS:-3000}

pwc_node node1
pwc_namespace production
pwc_pod node1 production a "app=a"
pwc_pod node1 production b "app=b" "echo:7000/TCP"
pwc_serve $A tcp 7000
pwc_serve $B tcp 7000

# cm_write NAME=FILE...: kubelet's atomic writer over $PWC_SRC (the payload
# files are read from FILE).
CM_GEN=0
cm_write() {
	local ts old kv name
	CM_GEN=$((CM_GEN + 1))
	ts=..$(date +%Y_%m_%d_%H_%M_%S).$(printf '%09d' "$CM_GEN")
	mkdir -m 0755 "$PWC_SRC/$ts" || return 1
	for kv in "$@"; do
		install -m 0644 "${kv#*=}" "$PWC_SRC/$ts/${kv%%=*}" || return 1
	done
	old=$(readlink "$PWC_SRC/..data" 2>/dev/null)
	ln -s "$ts" "$PWC_SRC/..data_tmp" && mv -T "$PWC_SRC/..data_tmp" "$PWC_SRC/..data" || return 1
	for kv in "$@"; do
		name=${kv%%=*}
		[ -L "$PWC_SRC/$name" ] || ln -s "..data/$name" "$PWC_SRC/$name"
	done
	for name in "$PWC_SRC"/*; do   # stale visible names
		[ -L "$name" ] && [ ! -e "$name" ] && rm -f "$name"
	done
	[ -n "$old" ] && rm -rf "${PWC_SRC:?}/$old"
	return 0
}

V1=$PWC_WORK/stage/v1 V2=$PWC_WORK/stage/v2
mkdir -p "$V1" "$V2"
pwe_np_default_deny production >"$V1/deny.yaml"
pwe_np_allow_pair a-to-b production app=a app=b 7000/TCP >"$V1/allow.yaml"
cp "$V1/deny.yaml" "$V2/deny.yaml"
printf '# nothing allowed in this version\n' >"$V2/allow.yaml"

cm_write deny.yaml="$V1/deny.yaml" allow.yaml="$V1/allow.yaml" || { pwe_fail configmap_layout "cm_write failed"; exit 1; }
if [ -L "$PWC_SRC/..data" ] && [ -L "$PWC_SRC/allow.yaml" ] && [ -f "$PWC_SRC/..data/allow.yaml" ]; then
	pwe_pass configmap_layout "$(ls -A "$PWC_SRC" | tr '\n' ' ')"
else
	pwe_fail configmap_layout "$(ls -lA "$PWC_SRC" | tr '\n' ' ')"
fi

# group-writable source: a warning, once, and enforcement all the same
chmod 0775 "$PWC_SRC"
pwe_expect open_before_agent ok "$A $B 7000 tcp" "$B $A 7000 tcp"
pwc_agent_start node1
if pwe_wait_state "$PWE_START_S" "ok:$A $B 7000 tcp" "fail:$B $A 7000 tcp"; then
	pwe_pass configmap_enforced
else
	pwe_fail configmap_enforced "not enforced within ${PWE_START_S}s: $(tail -n 3 "$(pwc_agent_log node1)" | tr '\n' ' ')"
fi
LOG=$(pwc_agent_log node1)
n=$(grep -c "warning: the source directory $PWC_SRC is writable by its group (mode 0775)" "$LOG")
if [ "$n" = 1 ]; then
	pwe_pass source_permissions_warned_once
else
	pwe_fail source_permissions_warned_once "$n warnings in the log: $(grep warning "$LOG" | head -n 2 | tr '\n' ' ')"
fi
chmod 0755 "$PWC_SRC"

# v2 swapped in: a -> b cut (b -> a stays denied throughout)
PWE_T0=$(pwc_now_ms)
cm_write deny.yaml="$V2/deny.yaml" allow.yaml="$V2/allow.yaml"
if pwe_wait_state $((SWAP_MS / 1000)) "fail:$A $B 7000 tcp" "fail:$B $A 7000 tcp"; then
	pwe_pass configmap_swap_denies "confirmed $(( $(pwc_now_ms) - PWE_T0 )) ms after the swap, probe timeouts included"
else
	pwe_fail configmap_swap_denies "a -> b still open ${SWAP_MS} ms after the ..data swap"
fi

# v1 back: open again
PWE_T0=$(pwc_now_ms)
cm_write deny.yaml="$V1/deny.yaml" allow.yaml="$V1/allow.yaml"
if pwe_wait_state $((SWAP_MS / 1000)) "ok:$A $B 7000 tcp" "fail:$B $A 7000 tcp"; then
	pwe_pass configmap_swap_allows "confirmed $(( $(pwc_now_ms) - PWE_T0 )) ms after the swap, probe timeouts included"
else
	pwe_fail configmap_swap_allows "a -> b still closed ${SWAP_MS} ms after the ..data swap"
fi

# each manifest read once: no load error (a policy read twice, through
# ..data/ or the timestamped directory, would be a duplicate)
if grep -qE 'nothing applied|duplicate|\.\.data/|\.\.20[0-9][0-9]_' "$LOG"; then
	pwe_fail configmap_read_once "$(grep -E 'nothing applied|duplicate|\.\.data/|\.\.20[0-9][0-9]_' "$LOG" | head -n 2 | tr '\n' ' ')"
else
	pwe_pass configmap_read_once "$(grep -c 'applied generation' "$LOG") applies, no load error"
fi
if pwc_agent_alive node1; then pwe_pass agent_alive; else pwe_fail agent_alive "the agent exited"; fi

pwe_end
