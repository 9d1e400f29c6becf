#!/usr/bin/env python3
# A container runtime's CNI calls, as libcni makes them (for tests/e2e/cni.sh):
#
#   cni_exec.py ADD|DEL|CHECK --conflist FILE --netns PATH --cid ID [--ifname eth0]
#               [--args 'K8S_POD_NAMESPACE=ns;K8S_POD_NAME=pod'] --cni-path DIR[:DIR] --cache DIR
#               [--steps FILE]
#
# ADD runs every plugin of the list in order, each with the list's cniVersion
# and name and the previous plugin's result as prevResult, and caches the last
# result; DEL runs them in reverse order with the cached result as prevResult
# (and forgets it); CHECK runs them in order with the cached result. Each
# plugin is executed with CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME,
# CNI_ARGS and CNI_PATH in its environment and its configuration on stdin.
# The result (ADD) or a plugin's error object is printed on stdout; the exit
# status is 0 or the failing plugin's.
import argparse, json, os, subprocess, sys

ap = argparse.ArgumentParser()
ap.add_argument("command", choices=["ADD", "DEL", "CHECK"])
ap.add_argument("--conflist", required=True)
ap.add_argument("--netns", required=True)
ap.add_argument("--cid", required=True)
ap.add_argument("--ifname", default="eth0")
ap.add_argument("--args", default="")
ap.add_argument("--cni-path", required=True)
ap.add_argument("--cache", required=True)
ap.add_argument("--steps", help="ADD: write every plugin's result, in order, to this file (a JSON list)")
a = ap.parse_args()

with open(a.conflist) as f:
    conflist = json.load(f)
version, name, plugins = conflist["cniVersion"], conflist["name"], conflist["plugins"]
os.makedirs(a.cache, exist_ok=True)
cache = os.path.join(a.cache, "%s-%s-%s.json" % (name, a.cid, a.ifname))


def find(ptype):
    for d in a.cni_path.split(":"):
        p = os.path.join(d, ptype)
        if os.access(p, os.X_OK):
            return p
    print(json.dumps({"cniVersion": version, "code": 7, "msg": "plugin %s not found in %s" % (ptype, a.cni_path)}))
    sys.exit(1)


def run(plugin, prev):
    conf = dict(plugin)
    conf["cniVersion"] = version
    conf["name"] = name
    if prev is not None:
        conf["prevResult"] = prev
    env = dict(os.environ)
    env.update({
        "CNI_COMMAND": a.command, "CNI_CONTAINERID": a.cid, "CNI_NETNS": a.netns,
        "CNI_IFNAME": a.ifname, "CNI_ARGS": a.args, "CNI_PATH": a.cni_path,
    })
    p = subprocess.run([find(plugin["type"])], input=json.dumps(conf).encode(), env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    sys.stderr.write(p.stderr.decode(errors="replace"))
    if p.returncode != 0:
        out = p.stdout.decode(errors="replace").strip()
        sys.stderr.write("cni_exec: %s %s failed (exit %d)\n" % (a.command, plugin["type"], p.returncode))
        print(out)
        sys.exit(p.returncode)
    return p.stdout


if a.command == "ADD":
    prev, steps = None, []
    for pl in plugins:
        out = run(pl, prev)
        prev = json.loads(out) if out.strip() else prev
        steps.append({"type": pl["type"], "result": prev})
    if a.steps:
        with open(a.steps, "w") as f:
            json.dump(steps, f)
    with open(cache, "w") as f:
        json.dump(prev, f)
    print(json.dumps(prev, indent=2))
else:
    prev = None
    if os.path.exists(cache):
        with open(cache) as f:
            prev = json.load(f)
    elif a.command == "CHECK":
        print(json.dumps({"cniVersion": version, "code": 3, "msg": "no cached result for %s" % a.cid}))
        sys.exit(1)
    order = reversed(plugins) if a.command == "DEL" else plugins
    for pl in order:
        run(pl, prev)
    if a.command == "DEL" and os.path.exists(cache):
        os.unlink(cache)
