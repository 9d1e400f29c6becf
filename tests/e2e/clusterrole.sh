#!/usr/bin/env bash
# deploy/clusterrole.yaml grants exactly what `podwall agent --source k8s`
# requests (issue 7): every (apiGroup, resource, verb) the agent uses is
# granted, and every one granted is used. Two views of "what the agent uses":
#
#   static:  the resource table of agent/source/k8s_api.c (pw_k8s_resources),
#            its paths checked against group/resource, and the HTTP the code
#            can issue (GET only; list = a collection GET, watch = watch=1);
#            no other API path literal anywhere under agent/
#   dynamic: an agent in a node namespace against the replaying API server
#            (tests/e2e/k8s_replay.py), driven through lists, watches, a
#            dropped connection, HTTP 410 and an ERROR 410 event on every
#            resource; every request it made is mapped to (group, resource,
#            verb) as the API server's RBAC would
#
# Run: bash tests/e2e/clusterrole.sh (root; make).
set -uo pipefail
. "$(dirname "$0")/../lib/e2e.sh"
pwe_begin clusterrole

ROLE=$PWE_ROOT/deploy/clusterrole.yaml
[ -f "$ROLE" ] || { pwe_fail clusterrole "no $ROLE"; exit 1; }

# the rules, as "group resource verb" lines; refuses wildcards, resourceNames, nonResourceURLs
granted=$("$PWC_PY" - "$ROLE" 2>&1 <<'EOF'
import sys, yaml
for doc in yaml.safe_load_all(open(sys.argv[1])):
    if not doc or doc.get("kind") != "ClusterRole":
        continue
    for r in doc.get("rules", []):
        bad = [k for k in ("resourceNames", "nonResourceURLs") if k in r]
        if bad:
            sys.exit("rule with " + ", ".join(bad))
        for g in r.get("apiGroups", []):
            for res in r.get("resources", []):
                for v in r.get("verbs", []):
                    if "*" in (g, res, v):
                        sys.exit("wildcard in a rule")
                    print(g or "core", res, v)
EOF
) || { pwe_fail clusterrole_parse "$granted"; exit 1; }
granted=$(sort -u <<<"$granted")

# ------------------------------------------------------------ static
static=$("$PWC_PY" - "$PWE_ROOT" 2>&1 <<'EOF'
import os, re, sys
root = sys.argv[1]
src = open(os.path.join(root, "agent/source/k8s_api.c")).read()
table = re.search(r"pw_k8s_resources\[\]\s*=\s*\{(.*?)\n\};", src, re.S).group(1)
rows = re.findall(r'\{\s*"([^"]+)",\s*"([^"]*)",\s*"([^"]+)",\s*"([^"]+)"\s*\}', table)
if not rows:
    sys.exit("no resource table found")
# the HTTP the source can issue: GET only
for f in os.listdir(os.path.join(root, "agent/source")):
    text = open(os.path.join(root, "agent/source", f)).read()
    for bad in ("CURLOPT_POST", "CURLOPT_PUT", "CURLOPT_CUSTOMREQUEST", "CURLOPT_UPLOAD", "CURLOPT_NOBODY"):
        if bad in text:
            sys.exit("%s uses %s: more than GET" % (f, bad))
verbs = []
if re.search(r'"\?limit=', src) or "?limit=%d" in src:
    verbs.append("list")
if "watch=1" in src:
    verbs.append("watch")
# no API path literal elsewhere in the agent
for d, _, files in os.walk(os.path.join(root, "agent")):
    for f in files:
        if not f.endswith((".c", ".h")) or f in ("k8s_api.c", "k8s_api.h"):
            continue
        for m in re.finditer(r'"(/apis?/[^"]*)"', open(os.path.join(d, f), errors="replace").read()):
            sys.exit("API path %s in %s" % (m.group(1), os.path.join(d, f)))
for name, group, path, kind in rows:
    want = "/api/v1/" + name if not group else r"/apis/%s/v1(alpha|beta)?[0-9]*/%s" % (re.escape(group), name)
    if not re.fullmatch(want, path):
        sys.exit("path %s does not name %s/%s" % (path, group, name))
    for v in verbs:
        print(group or "core", name, v)
EOF
) || { pwe_fail clusterrole_static_scan "$static"; exit 1; }
static=$(sort -u <<<"$static")
if [ "$static" = "$granted" ]; then
	pwe_pass clusterrole_matches_source "$(tr '\n' ';' <<<"$granted")"
else
	pwe_fail clusterrole_matches_source "source asks: $(tr '\n' ';' <<<"$static") granted: $(tr '\n' ';' <<<"$granted")"
fi

# ------------------------------------------------------------ dynamic
pwc_node node1
NODE_NS=$(pwc_node_netns node1)
W=$PWC_WORK/rbac
pwe_replay_kubeconfig "$W" rbac-test
"$PWC_PY" - >"$W/scenario.json" <<'EOF'
import json
res = ["namespaces", "pods", "networkpolicies", "services", "nodes", "clusternetworkpolicies"]
ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}
print(json.dumps({
  "initial": {"namespaces": [ns]},
  "steps": [
    {"name": "drop-410", "events": [e for r in res for e in ({"resource": r, "type": "BOOKMARK"},
                                                            {"resource": r, "type": "DROP"},
                                                            {"resource": r, "type": "HTTP410"})]},
    {"name": "gone", "events": [{"resource": r, "type": "GONE"} for r in res]},
  ]}))
EOF
pwe_replay_start "$NODE_NS" "$W" rbac rbac-test ||
	{ pwe_fail clusterrole "the replay server did not start"; exit 1; }
pwc_agent_start node1 --source k8s --kubeconfig "$W/kubeconfig"
LOG=$(pwc_agent_log node1)
lists() { grep -c "podwall: k8s: listed" "$LOG"; }
lists_ge() { [ "$(lists)" -ge "$1" ]; }
pwc_wait_for 15 lists_ge 4
echo 1 >"$W/ctl/phase"
pwc_wait_for 20 lists_ge 8
echo 2 >"$W/ctl/phase"
if pwc_wait_for 20 lists_ge 12; then
	pwe_pass agent_driven_through_lists_watches_and_410s "$(lists) lists"
else
	pwe_fail agent_driven_through_lists_watches_and_410s "only $(lists) lists: $(tail -n 3 "$LOG" | tr '\n' ' ')"
fi
sleep 1
observed=$("$PWC_PY" - "$W/requests-rbac.jsonl" 2>&1 <<'EOF'
import json, re, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "req" not in r:
        continue
    m = re.fullmatch(r"/api/v1/(?:namespaces/[^/]+/)?([^/]+)(/[^/]+)?", r["path"]) or \
        re.fullmatch(r"/apis/([^/]+)/[^/]+/(?:namespaces/[^/]+/)?([^/]+)(/[^/]+)?", r["path"])
    if not m:
        sys.exit("unmapped request %s" % r["path"])
    if r["path"].startswith("/apis/"):
        group, res, name = m.group(1), m.group(2), m.group(3)
    else:
        group, res, name = "core", m.group(1), m.group(2)
    if r["req"] != "GET":
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[r["req"]]
    elif r["query"].get("watch") in ("1", "true"):
        verb = "watch"
    else:
        verb = "get" if name else "list"
    print(group, res, verb)
EOF
) || { pwe_fail clusterrole_dynamic "$observed"; exit 1; }
observed=$(sort -u <<<"$observed")
missing=$(comm -23 <(echo "$observed") <(echo "$granted"))
unused=$(comm -13 <(echo "$observed") <(echo "$granted"))
if [ -z "$missing" ]; then
	pwe_pass every_request_is_granted "$(grep -c '"req"' "$W/requests-rbac.jsonl") requests"
else
	pwe_fail every_request_is_granted "not granted: $(tr '\n' ';' <<<"$missing")"
fi
if [ -z "$unused" ]; then
	pwe_pass every_grant_is_requested
else
	pwe_fail every_grant_is_requested "granted but never requested: $(tr '\n' ';' <<<"$unused")"
fi
pwe_end
