#!/usr/bin/env python3
# Seed corpora for the libFuzzer targets (tests/fuzz/fuzz_*.c), written into
# OUT/<target>/ (scripts/fuzz-smoke.sh passes build/fuzz/seeds):
#
#   fuzz_load        the conformance cases, tests/unit/data, tests/hostile
#   fuzz_k8s_api     each conformance case as API list answers and watch
#                    streams (ADDED/MODIFIED/DELETED/BOOKMARK/ERROR) per resource
#   fuzz_cni_plugin  CNI network configurations with prevResults (ptp,
#                    bridge, 0.4.0 and 1.0.0), for ADD/DEL/CHECK
#   every target     the files committed in tests/fuzz/seeds/<target>/
#                    (hand-written seeds and regression inputs)
#
# Usage: tests/fuzz/seeds.py OUT [MAX_LEN]
import glob
import json
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
out = sys.argv[1]
max_len = int(sys.argv[2]) if len(sys.argv) > 2 else 65536

try:
    import yaml
except ImportError:      # the YAML-derived seeds need PyYAML; the rest do not
    yaml = None


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    if len(data) > max_len:
        return
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def copy_glob(target, pattern, prefix=""):
    for p in sorted(glob.glob(os.path.join(ROOT, pattern))):
        if os.path.isfile(p) and os.path.getsize(p) <= max_len:
            with open(p, "rb") as f:
                put(target, prefix + os.path.basename(p), f.read())


# committed seeds and regression inputs
for d in sorted(glob.glob(os.path.join(ROOT, "tests/fuzz/seeds/*/"))):
    t = os.path.basename(os.path.dirname(d))
    copy_glob(t, "tests/fuzz/seeds/%s/*" % t, "seed-")

cases = sorted(glob.glob(os.path.join(ROOT, "tests/conformance/cases/upstream/*.yaml")))

# ------------------------------------------------------------ loader
copy_glob("fuzz_load", "tests/conformance/cases/upstream/*.yaml", "case-")
copy_glob("fuzz_load", "tests/unit/data/*.yaml", "unit-")
copy_glob("fuzz_load", "tests/hostile/*.yaml", "hostile-")

# ------------------------------------------------------------ Kubernetes API
RES = ["Namespace", "Pod", "NetworkPolicy", "Service"]


def k8s_seeds():
    if yaml is None:
        return
    for path in cases[:24]:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if isinstance(d, dict)]
        base = os.path.basename(path)[:3]
        for i, kind in enumerate(RES):
            objs = [d for d in docs if d.get("kind") == kind]
            for n, o in enumerate(objs):
                o.setdefault("metadata", {})["resourceVersion"] = str(100 + n)
            if not objs:
                continue
            lst = {"kind": kind + "List", "apiVersion": "v1",
                   "metadata": {"resourceVersion": "500"}, "items": objs}
            # byte 0: resource + list; byte 1: chunk size; byte 2: status 200
            put("fuzz_k8s_api", "list-%s-%d" % (base, i),
                bytes([i, 255, 0]) + json.dumps(lst).encode())
            if len(objs) > 1:
                page = dict(lst, items=objs[:1],
                            metadata={"resourceVersion": "500", "continue": "tok"})
                put("fuzz_k8s_api", "page-%s-%d" % (base, i),
                    bytes([i, 3, 0]) + json.dumps(page).encode())
            ev = [{"type": "ADDED", "object": o} for o in objs]
            if objs:
                m = json.loads(json.dumps(objs[0]))
                m["metadata"]["resourceVersion"] = "900"
                m["metadata"].setdefault("labels", {})["changed"] = "yes"
                ev.append({"type": "MODIFIED", "object": m})
                ev.append({"type": "DELETED", "object": objs[-1]})
            ev.append({"type": "BOOKMARK", "object": {"kind": kind,
                       "metadata": {"resourceVersion": "901"}}})
            stream = "".join(json.dumps(e) + "\n" for e in ev)
            put("fuzz_k8s_api", "watch-%s-%d" % (base, i),
                bytes([4 | i, 20, 0]) + stream.encode())
    gone = {"type": "ERROR", "object": {"kind": "Status", "code": 410,
                                        "message": "too old resource version"}}
    put("fuzz_k8s_api", "watch-410", bytes([5, 0, 0]) + (json.dumps(gone) + "\n").encode())
    put("fuzz_k8s_api", "list-403", bytes([1, 0, 6]) +
        b'{"kind":"Status","message":"pods is forbidden","code":403}')


k8s_seeds()

# ------------------------------------------------------------ CNI plugin
# byte 0: command (0 ADD, 1 DEL, 2 CHECK), bits 3-4 netns (0 the fake pod
# netns whose eth0 peers with veth7, 1 a gone one); byte 1: agent answer.
ptp = {
    "cniVersion": "1.0.0", "name": "k8s-pod-network", "type": "podwall-cni",
    "socket": "/run/podwall/cni.sock", "timeoutSeconds": 5,
    "prevResult": {
        "cniVersion": "1.0.0",
        "interfaces": [{"name": "veth7", "mac": "aa:bb:cc:dd:ee:07"},
                       {"name": "eth0", "mac": "aa:bb:cc:dd:ee:08",
                        "sandbox": "/fake/netns"}],
        "ips": [{"address": "198.18.1.10/32", "gateway": "198.18.1.1", "interface": 1},
                {"address": "fd00::10/128", "interface": 1}],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dns": {}}}
bridge = json.loads(json.dumps(ptp))
bridge["cniVersion"] = bridge["prevResult"]["cniVersion"] = "0.4.0"
bridge["prevResult"]["interfaces"] = [{"name": "cni0"}, {"name": "veth3"},
                                      {"name": "eth0", "sandbox": "/fake/gone"}]
for cmd in range(3):
    put("fuzz_cni_plugin", "ptp-%d" % cmd, bytes([cmd, 0]) + json.dumps(ptp).encode())
    put("fuzz_cni_plugin", "bridge-%d" % cmd, bytes([cmd | 8, 0]) + json.dumps(bridge).encode())
for ans in range(1, 7):
    put("fuzz_cni_plugin", "answer-%d" % ans, bytes([0, ans]) + json.dumps(ptp).encode())
put("fuzz_cni_plugin", "answer-raw", bytes([0, 7]) + json.dumps(ptp).encode() + b"\0" +
    b'{"ok": false, "code": 102, "msg": "not enforced", "details": "filter missing"}\n')
old = dict(ptp, cniVersion="0.3.1")
put("fuzz_cni_plugin", "v031-check", bytes([2, 0]) + json.dumps(old).encode())
