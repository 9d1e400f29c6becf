#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""
gen-dump.py: a cluster dump of N pods (Namespaces, Pods, NetworkPolicies,
Services) as one YAML stream on stdout, for `podwall matrix`.

  gen-dump.py --pods N [--replicas R]    the benchmark's shape: namespaces of
        100 pods; Deployments of R replicas (default 10) that share their
        labels and container ports, as ReplicaSet pods do; in each namespace
        a default deny, an allow from the namespace's front end on a named
        port, one from a monitoring namespace, an egress policy with DNS and
        an ipBlock; a cluster DNS pod in kube-system.
  gen-dump.py --random --seed S [--pods N]   an adversarial dump for the
        differential tests: few label values (many pods share them), named
        ports that differ between pods of the same labels, ipBlocks that
        cover pod addresses (with excepts, IPv4 and IPv6), IPv6 and
        dual-stack pods, pods without an address, DNS pods, an audit
        namespace, port ranges, Services (the cluster DNS one, and up to three
        IPv4, IPv6 or dual-stack ones with named, numeric or no targetPorts
        and several, one or no backends); --print-externals prints addresses
        worth probing with --external-ips (every ClusterIP among them)
        instead of the dump.
  gen-dump.py --random --cnp --seed S   the same, plus Nodes, hostNetwork and
        finished pods, NetworkPolicies whose ipBlock excepts cut pod
        addresses, and ClusterNetworkPolicies of both tiers (unique
        priorities, Pass, networks over pod and node addresses, ports, ranges
        and named ports, domainNames peers ahead of a deciding rule) for
        tests/oracle/; --print-externals --cnp prints the addresses for that
        variant (outside the pods, the Nodes' among them).

Addresses: 10.0.0.0/8 and fd00::/64 (dumps are never applied to a host). In
--random, pods take .1-.180 of each /24 of 10.1.0.0/16 (fd00::1 on); fixed
addresses (DNS, multi-container and finished pods, externals) lie above .180,
so no pod count makes them collide.
The same arguments always give the same bytes.
"""
import argparse
import random
import sys


def ns_doc(name, labels, annotations=None):
    lab = dict(labels, **{"kubernetes.io/metadata.name": name})
    s = "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels: %s\n" % (name, flow(lab))
    if annotations:
        s += "  annotations: %s\n" % flow(annotations)
    return s


def flow(d):
    return "{" + ", ".join("%s: %s" % (k, q(v)) for k, v in d.items()) + "}"


def q(v):
    return '"%s"' % v if isinstance(v, str) else str(v)


def pod_doc(ns, name, labels, ports, ips):
    s = "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: %s\n" % (name, ns)
    if labels:
        s += "  labels: %s\n" % flow(labels)
    s += "spec:\n  containers:\n  - name: c\n    image: app\n"
    if ports:
        s += "    ports:\n"
        for pname, num, proto in ports:
            s += "    - {%scontainerPort: %d, protocol: %s}\n" % ("name: %s, " % pname if pname else "", num, proto)
    s += "status:\n  phase: Running\n"
    if ips:
        s += "  podIP: %s\n  podIPs: [%s]\n" % (ips[0], ", ".join("{ip: %s}" % ip for ip in ips))
    return s


POD_PER_24 = 180


def v4(i):
    return "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)


# ------------------------------------------------------------------ bench
def bench(pods, replicas):
    out = []
    nns = max(1, (pods + 99) // 100)
    out.append(ns_doc("kube-system", {}))
    out.append(ns_doc("monitoring", {"role": "monitoring"}))
    out.append(pod_doc("kube-system", "coredns-0", {"k8s-app": "kube-dns"},
                       [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")], [v4(1)]))
    out.append(pod_doc("monitoring", "prometheus-0", {"app": "prometheus"}, [("web", 9090, "TCP")], [v4(2)]))
    made = 2
    for n in range(nns):
        ns = "ns-%03d" % n
        out.append(ns_doc(ns, {"team": "team-%d" % (n % 10), "env": "prod" if n % 4 else "staging"}))
        here = min(100, pods - made)
        for k in range(max(here, 0)):
            dep = k // replicas
            tier = ("web", "api", "db")[dep % 3]
            labels = {"app": "app-%d" % dep, "tier": tier, "pod-template-hash": "h%05d" % (dep * 7919 % 99991)}
            ports = [("http", 8080 + dep % 2, "TCP"), ("metrics", 9100, "TCP")]
            out.append(pod_doc(ns, "app-%d-%d" % (dep, k % replicas), labels, ports, [v4(256 + made)]))
            made += 1
        out.append(policy(ns, "default-deny", {}, ["Ingress"], [], []))
        out.append(policy(ns, "allow-web-api", {"tier": "api"}, ["Ingress"],
                          [{"from": [{"podSelector": {"matchLabels": {"tier": "web"}}}],
                            "ports": [{"protocol": "TCP", "port": "http"}]}], []))
        out.append(policy(ns, "allow-api-db", {"tier": "db"}, ["Ingress"],
                          [{"from": [{"podSelector": {"matchLabels": {"tier": "api"}}}],
                            "ports": [{"protocol": "TCP", "port": 5432}]}], []))
        out.append(policy(ns, "allow-web-any", {"tier": "web"}, ["Ingress"],
                          [{"from": [{"namespaceSelector": {"matchLabels": {"team": "team-%d" % ((n + 1) % 10)}}}],
                            "ports": [{"protocol": "TCP", "port": "http"}]}], []))
        out.append(policy(ns, "allow-monitoring", {}, ["Ingress"],
                          [{"from": [{"namespaceSelector": {"matchLabels": {"role": "monitoring"}}}],
                            "ports": [{"protocol": "TCP", "port": "metrics"}]}], []))
        out.append(policy(ns, "egress-db", {"tier": "db"}, ["Egress"], [],
                          [{"to": [{"ipBlock": {"cidr": "172.16.%d.0/24" % n}}],
                            "ports": [{"protocol": "TCP", "port": 443}]},
                           {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]))
    return out


def policy(ns, name, sel, types, ingress, egress):
    import json
    spec = {"podSelector": {"matchLabels": sel} if sel else {}, "policyTypes": types}
    if "Ingress" in types:
        spec["ingress"] = ingress
    if "Egress" in types:
        spec["egress"] = egress
    # JSON is YAML: one line per policy, exact and unambiguous
    return ("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: %s\n"
            "  namespace: %s\nspec: %s\n" % (name, ns, json.dumps(spec)))


# ------------------------------------------------------------------ random
def random_dump(seed, pods, cnp=False):
    r = random.Random(seed)
    out = []
    nss = ["ns-%d" % i for i in range(r.randint(2, 4))]
    audit = r.choice(nss + [None])
    out.append(ns_doc("kube-system", {"tier": "system"}))
    for i, ns in enumerate(nss):
        out.append(ns_doc(ns, {"team": r.choice(["a", "b"]), "env": r.choice(["prod", "dev"])},
                          {"podwall.io/mode": "audit"} if ns == audit else None))
    port_sets = [
        [("http", 80, "TCP"), ("dns", 53, "UDP")],
        [("http", 81, "TCP"), ("dns", 53, "UDP")],
        [("http", 80, "TCP"), ("alt", 81, "UDP"), ("sc", 80, "SCTP")],
        [],
    ]
    # 10.96.0.0/16: the ClusterIPs, which an egress rule never matches (a
    # packet to a Service is judged after DNAT, on its backend's address)
    nets = ["10.1.%d.0/24", "10.1.%d.0/25", "10.1.0.0/16", "10.96.0.0/16"]
    # DNS pods: the cluster DNS label in kube-system
    for k in range(r.randint(0, 2)):
        out.append(pod_doc("kube-system", "dns-%d" % k, {"k8s-app": "kube-dns"},
                           [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")], ["10.1.0.%d" % (200 + k)]))
    for i in range(pods):
        ns = r.choice(nss + ["kube-system"] if r.random() < 0.1 else nss)
        labels = {}
        if r.random() < 0.9:
            labels["app"] = r.choice(["web", "api", "db"])
        if r.random() < 0.2:
            labels["ver"] = r.choice(["v1", "v2"])
        kind = r.random()
        # pods: .1-.180 of each /24 of 10.1.0.0/16; .181-.254 are kept for
        # the fixed addresses (DNS pods, multi-container and finished pods,
        # the externals), which so never collide with a pod's
        a4 = "10.1.%d.%d" % (i // POD_PER_24, 1 + i % POD_PER_24)
        a6 = "fd00::%x" % (i + 1)
        ips = [a4] if kind < 0.75 else [a4, a6] if kind < 0.87 else [a6] if kind < 0.95 else []
        # most pods of a label set name their ports alike (a Deployment's)
        ports = port_sets[0] if r.random() < 0.7 else r.choice(port_sets)
        out.append(pod_doc(ns, "p%d" % i, labels, ports, ips))
    for k in range(r.randint(1, 7)):
        ns = r.choice(nss)
        sel = r.choice([{}, {"app": r.choice(["web", "api", "db"])}, {"ver": "v1"}])
        types = r.choice([["Ingress"], ["Egress"], ["Ingress", "Egress"]])
        out.append(policy(ns, "np-%d" % k, sel, types, rules(r, nets), rules(r, nets, egress=True)))
    if cnp:
        out += cnp_docs(random.Random(seed * 7919 + 1), nss, pods)
    out += service_docs(random.Random(seed * 104729 + 3), nss)
    return out


# Service ClusterIPs: the DNS Service's and three others' (each IPv4, IPv6 or
# both); --print-externals lists them all, so that a VIP without a Service is
# probed as a bare address.
DNS_VIP = "10.96.0.10"
SVC_VIPS = [("10.96.0.%d" % (20 + k), "fd00:96::%x" % (0x20 + k)) for k in range(3)]


def service_docs(r, nss):
    """The cluster DNS Service (named targetPorts; 0-2 backends) and up to three
    Services: selectors with several, one or no backends, or no selector at
    all; ports with a named, a numeric or no targetPort."""
    out = []
    if r.random() < 0.8:
        out.append(svc_doc("kube-system", "kube-dns", [DNS_VIP], {"k8s-app": "kube-dns"},
                           [(53, "dns", "UDP"), (53, "dns-tcp", "TCP")]))
    port_choices = [(80, "http", "TCP"), (81, 80, "TCP"), (80, "alt", "UDP"), (81, "alt", "UDP"),
                    (100, "sc", "SCTP"), (53, None, "UDP"), (79, 81, "TCP"), (53, "dns", "UDP"),
                    (53, "dns", "TCP"), (100, "http", "SCTP")]   # names of another protocol
    for k in range(r.randint(1, 3)):
        v4, v6 = SVC_VIPS[k]
        ips = r.choice([[v4], [v4], [v4, v6], [v6, v4], [v6]])
        sel = r.choice([{"app": "web"}, {"app": "web"}, {"app": "api"}, {"app": "db"}, {"app": "db", "ver": "v1"},
                        {"app": "none"}, None])
        ports = r.sample(port_choices, r.randint(2, 5))
        # one entry per (port, protocol), as the API server requires
        ports = [p for i, p in enumerate(ports) if all(p[0] != q[0] or p[2] != q[2] for q in ports[:i])]
        out.append(svc_doc(r.choice(nss), "svc-%d" % k, ips, sel, ports, r.random() < 0.5))
    if r.random() < 0.3:   # headless: no ClusterIP, nothing to probe
        out.append(svc_doc(r.choice(nss), "headless", ["None"], {"app": "web"}, [(80, "http", "TCP")]))
    return out


def svc_doc(ns, name, ips, selector, ports, tcp_implied=False):
    s = "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n" % (name, ns)
    s += "  clusterIP: %s\n  clusterIPs: [%s]\n" % (ips[0], ", ".join(ips)) if ips != ["None"] else \
        "  clusterIP: None\n"
    if selector:
        s += "  selector: %s\n" % flow(selector)
    s += "  ports:\n"
    for i, (port, target, proto) in enumerate(ports):
        s += "  - {name: p%d, port: %d%s%s}\n" % (
            i, port, "" if target is None else ", targetPort: %s" % target,
            "" if proto == "TCP" and tcp_implied else ", protocol: %s" % proto)
    return s


def rules(r, nets, egress=False):
    out = []
    for _ in range(r.randint(0, 3)):
        peers = []
        for _ in range(r.randint(0, 2)):
            c = r.random()
            if c < 0.35:
                peers.append({"podSelector": {"matchLabels": {"app": r.choice(["web", "api", "db"])}}})
            elif c < 0.55:
                peers.append({"namespaceSelector": {"matchLabels": {"team": r.choice(["a", "b"])}},
                              "podSelector": r.choice([{}, {"matchExpressions": [
                                  {"key": "ver", "operator": r.choice(["Exists", "DoesNotExist"])}]}])})
            elif c < 0.7:
                peers.append({"namespaceSelector": {}})
            else:
                net = r.choice(nets)
                cidr = net % r.randint(0, 3) if "%d" in net else net
                blk = {"cidr": cidr}
                if r.random() < 0.5 and not cidr.endswith("/16"):
                    base = cidr.rsplit(".", 1)[0]
                    blk["except"] = ["%s.%d/30" % (base, 4 * r.randint(0, 20))]
                elif r.random() < 0.4:   # IPv6: pods fd00::1-fd00::ff, and beyond
                    blk = r.choice([{"cidr": "fd00::/120"}, {"cidr": "::/0"},
                                    {"cidr": "fd00::/120", "except": ["fd00::%x/126" % (4 * r.randint(0, 8))]},
                                    {"cidr": "fd00::/64", "except": ["fd00::/124", "fd00::ff00/120"]}])
                peers.append({"ipBlock": blk})
        ports = []
        for _ in range(r.randint(0, 2)):
            c = r.random()
            proto = r.choice(["TCP", "UDP", "SCTP"])
            if c < 0.4:
                ports.append({"protocol": proto, "port": r.choice([80, 81, 53])})
            elif c < 0.7:
                ports.append({"protocol": proto, "port": r.choice(["http", "dns", "alt", "sc"])})
            elif c < 0.85:
                ports.append({"protocol": proto, "port": 79, "endPort": r.choice([80, 81])})
            else:
                ports.append({"protocol": proto})
        rule = {}
        if peers:
            rule["to" if egress else "from"] = peers
        if ports:
            rule["ports"] = ports
        out.append(rule)
    return out


# ------------------------------------------------------------------ ClusterNetworkPolicy
NODE_ADDRS = ["10.250.0.1", "10.250.0.2", "fd00:250::1"]
FINISHED_ADDR = "10.1.9.249"
# IPv6 addresses outside the pods: in fd00::/64 but past fd00::/120, and outside
EXTERNALS_V6 = ["fd00::ff00", "2001:db8::1"]


def cnp_docs(r, nss, pods):
    """Nodes, a hostNetwork and a finished pod, NetworkPolicies whose ipBlock
    excepts cut pod addresses, and random ClusterNetworkPolicies."""
    import json
    out = []
    for k, addrs in enumerate([NODE_ADDRS[:1], NODE_ADDRS[1:]]):
        out.append("---\napiVersion: v1\nkind: Node\nmetadata:\n  name: node-%d\n  labels: %s\n"
                   "status:\n  addresses:\n%s  - {type: Hostname, address: node-%d}\n" % (
                       k, flow({"zone": "z%d" % k}),
                       "".join("  - {type: InternalIP, address: %s}\n" % a for a in addrs), k))
    hn = pod_doc(nss[0], "hostnet", {"app": "web"}, [("http", 80, "TCP")], [NODE_ADDRS[0]])
    out.append(hn.replace("spec:\n", "spec:\n  hostNetwork: true\n", 1))
    done = pod_doc(nss[-1], "finished", {"app": "api"}, [("http", 80, "TCP")], [FINISHED_ADDR])
    out.append(done.replace("phase: Running", "phase: Succeeded"))
    # ipBlocks whose excepts cut pod addresses, each the one way in
    for k in range(r.randint(1, 3)):
        cut = ["10.1.0.%d/%d" % (4 * r.randint(0, 12), r.choice([30, 31, 32])) for _ in range(r.randint(1, 3))]
        blk = {"ipBlock": {"cidr": r.choice(["10.1.0.0/26", "10.1.0.0/16", "0.0.0.0/0"]), "except": cut}}
        if r.random() < 0.25:   # one Node's address, not the other's
            blk = {"ipBlock": {"cidr": "10.250.0.0/24", "except": ["10.250.0.2/32"]}}
        rule = [{"from" if k % 2 else "to": [blk]}]
        out.append(policy(r.choice(nss), "np-cut-%d" % k, r.choice([{}, {"app": r.choice(["web", "api"])}]),
                          ["Ingress" if k % 2 else "Egress"], rule, rule))
    # pods of two containers: a named port is looked up in every container
    for k in range(r.randint(1, 3)):
        ns = r.choice(nss)
        d = pod_doc(ns, "multi-%d" % k, {"app": r.choice(["web", "api", "db"])},
                    [("http", r.choice([80, 81, 100]), "TCP")], ["10.1.5.%d" % (241 + k), "fd00::5:%d" % (k + 1)])
        d = d.replace("status:\n", "  - name: side\n    image: app\n    ports:\n"
                      "    - {name: alt, containerPort: %d, protocol: UDP}\n"
                      "    - {name: sc, containerPort: 100, protocol: SCTP}\nstatus:\n" % r.choice([80, 81]), 1)
        out.append(d)
    # policyTypes left to its default: Ingress, plus Egress when egress rules exist
    import json as _json
    for k in range(r.randint(0, 2)):
        spec = {"podSelector": r.choice([{}, {"matchLabels": {"app": r.choice(["web", "api", "db"])}}])}
        for key in r.sample(["ingress", "egress"], r.randint(1, 2)):
            spec[key] = [] if r.random() < 0.3 else \
                [{"from" if key == "ingress" else "to": [{"podSelector": {"matchExpressions": [
                    {"key": "app", "operator": r.choice(["In", "NotIn"]), "values": ["web", "db"]}]}}],
                  # no protocol: TCP
                  "ports": [r.choice([{"port": r.choice([80, "http", "alt"])}, {"port": 79, "endPort": 81}])]}]
        out.append("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
                   "  name: np-default-%d\n  namespace: %s\nspec: %s\n" % (k, r.choice(nss), _json.dumps(spec)))
    # unique priorities, but now and then a tie (podwall orders ties by name)
    prios = r.sample(range(0, 40), 8)
    if r.random() < 0.3:
        prios[1] = prios[0]
    for k in range(r.randint(1, 6)):
        tier = r.choice(["Admin", "Admin", "Baseline"])
        spec = {"tier": tier, "priority": prios[k], "subject": cnp_selector(r, nss)}
        for key in r.sample(["ingress", "egress"], r.randint(1, 2)):
            spec[key] = [cnp_rule(r, nss, key, tier, i) for i in range(r.randint(1, 4))]
        out.append("---\napiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\n"
                   "metadata:\n  name: cnp-%d\nspec: %s\n" % (k, json.dumps(spec)))
    # a name Accept ahead of a rule that decides: names learned at run time
    # only, so in a dump the next rule decides for every address
    if r.random() < 0.7:
        tier = r.choice(["Admin", "Baseline"])
        names = {"name": "names", "action": "Accept",
                 "to": [{"domainNames": r.sample(["www.example.com", "*.example.org", "api.svc.test."],
                                                 r.randint(1, 3))}]}
        if r.random() < 0.5:
            names["protocols"] = [{"tcp": {"destinationPort": {"number": 80}}}]
        then = {"name": "then", "action": r.choice(["Deny", "Pass"] if tier == "Admin" else ["Deny"]),
                "to": r.choice([[{"networks": ["0.0.0.0/0", "::/0"]}], [cnp_selector(r, nss)]])}
        spec = {"tier": tier, "priority": prios[7], "subject": cnp_selector(r, nss), "egress": [names, then]}
        out.append("---\napiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\n"
                   "metadata:\n  name: cnp-names\nspec: %s\n" % json.dumps(spec))
    return out


def cnp_selector(r, nss):
    c = r.random()
    if c < 0.3:
        return {"namespaces": r.choice([{}, {"matchLabels": {"team": r.choice(["a", "b"])}},
                                        {"matchExpressions": [{"key": "env", "operator": "NotIn",
                                                               "values": [r.choice(["prod", "dev"])]}]},
                                        {"matchLabels": {"kubernetes.io/metadata.name": r.choice(nss)}}])}
    return {"pods": {"namespaceSelector": r.choice([{}, {"matchLabels": {"env": r.choice(["prod", "dev"])}}]),
                     "podSelector": r.choice([{}, {"matchLabels": {"app": r.choice(["web", "api", "db"])}},
                                              {"matchExpressions": [{"key": "ver", "operator": "Exists"}]}])}}


def cnp_rule(r, nss, key, tier, i):
    peers, plain = [], True
    action = r.choice(["Accept", "Deny", "Pass"])
    for _ in range(r.randint(1, 2)):
        c = r.random()
        if key == "egress" and action == "Accept" and r.random() < 0.5:
            # names learned from DNS answers at run time: none in a dump
            plain = False
            peers.append({"domainNames": r.sample(["www.example.com", "*.example.org", "api.svc.test."],
                                                  r.randint(1, 2))})
        elif c < 0.55 or key == "ingress":
            peers.append(cnp_selector(r, nss))
        elif c < 0.85:
            plain = False
            peers.append({"networks": r.sample(["10.1.0.0/26", "10.1.0.0/16", "10.1.2.0/24", "10.2.0.0/16",
                                                "0.0.0.0/0", "fd00::/120", "10.250.0.0/30", "::/0", "10.250.0.1/32",
                                                "10.96.0.0/16", "fd00:96::/64"],
                                               r.randint(1, 2))})
        else:
            plain = False
            peers.append({"nodes": r.choice([{}, {"matchLabels": {"zone": r.choice(["z0", "z1"])}}])})
    rule = {"name": "r%d" % i, "action": action,
            "from" if key == "ingress" else "to": peers}
    if r.random() < 0.6:
        protos = []
        for _ in range(r.randint(1, 2)):
            c = r.random()
            if c < 0.25 and plain:
                protos.append({"destinationNamedPort": r.choice(["http", "dns", "alt", "sc"])})
            else:
                port = {"number": r.choice([53, 80, 81])} if c < 0.7 else \
                    {"range": {"start": r.choice([53, 79, 80]), "end": r.choice([81, 100])}}
                protos.append({r.choice(["tcp", "udp", "sctp"]): {"destinationPort": port}})
        rule["protocols"] = protos
    return rule


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--pods", type=int, default=1000)
    ap.add_argument("--replicas", type=int, default=10)
    ap.add_argument("--random", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--print-externals", action="store_true")
    ap.add_argument("--cnp", action="store_true")
    a = ap.parse_args()
    vips = [DNS_VIP] + [ip for pair in SVC_VIPS for ip in pair]
    if a.print_externals and a.cnp:
        # the finished pod's address, outside the pods now
        print(",".join(["10.1.2.250", FINISHED_ADDR, "10.2.0.1", "192.0.2.1", "fd00::ffff"] + NODE_ADDRS
                       + EXTERNALS_V6 + vips))
        return
    if a.print_externals:
        # 10.1.0.5 and fd00::3: addresses of pods (p4, p2) when they have them
        print(",".join(["10.1.0.5", "10.1.1.250", "10.2.0.1", "fd00::3", "192.0.2.1"] + EXTERNALS_V6 + vips))
        return
    docs = random_dump(a.seed, a.pods, a.cnp) if a.random else bench(a.pods, a.replicas)
    sys.stdout.write("".join(docs))


if __name__ == "__main__":
    main()
