#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""
evaluate.py: an independent oracle for `podwall matrix`, written from the API
texts alone (Kubernetes NetworkPolicy v1; ClusterNetworkPolicy v1alpha2 of
kubernetes-sigs/network-policy-api), never from podwall's compiler.

  evaluate.py DUMP.yaml CELLS.json      CELLS: `podwall matrix -o json` output (or
        any list of {from, to, port, protocol}); prints the same list with the
        oracle's "verdict" (allow|deny) and "why" (the policies that decided).
        A cell to a Service ClusterIP gets "mixed" and "backends" when the
        backends' verdicts differ. --family 6: IPv6 between dual-stack ends.
  evaluate.py DUMP.yaml --endpoints     the NS/POD names that are endpoints.

One packet from A to B is allowed when A's egress and B's ingress both allow it
(an address outside the pods has no policy of its own). Each direction, for the
pod it is about (the "subject"):
  1. Admin tier ClusterNetworkPolicies that select the subject, by priority
     (lower first; equal priorities by name, as podwall documents the tie the
     API leaves open), rules in order: the first rule that matches decides:
     Accept -> allowed, Deny -> denied, Pass -> skip the rest of the tier.
  2. NetworkPolicy: if any policy selecting the subject isolates it in this
     direction, allowed iff one of their rules matches, and that is final.
  3. Baseline tier the same way as 1 (Pass: on to the default).
  4. allowed.
A namespace annotated podwall.io/mode: audit enforces nothing (would-be drops
pass), in the direction its pod is the subject of.
An ipBlock (and a CNP networks peer) matches the address of the packet, a pod's
too: the NetworkPolicy text leaves ipBlocks over pod addresses to the
implementation, and podwall documents that it matches them.
An end given as an address (--external-ips) has no policy judged; when it is a
pod's address, the other end's selectors see that pod.
Pods that are not endpoints (no address, hostNetwork, phase Succeeded/Failed)
are in no selection and are not probed.
Between dual-stack ends the packet is IPv4 (IPv6 with --family 6); an end of
one family is reached over it; no common family: no connection.
A domainNames peer matches no address: names are learned from DNS answers at
run time, and a static dump has none (the matrix probes no DNS answer).
A pod to a Service ClusterIP is judged as kube-proxy forwards it (podwall
defers the client's egress verdict past the DNAT): the Service port of that
port and protocol (none: no connection) leads to each backend, an endpoint of
the Service's namespace whose labels hold every selector pair (no selector:
no backend), that has the target port (a named targetPort is the backend's
container port of that name and protocol; none: not a backend of that port)
and an address of the ClusterIP's family (the client needs one too). Each
backend's verdict is the client's egress and the backend's ingress of the
translated packet (the backend's address and target port). The cell is their
common verdict; "mixed" when they differ; no backend: no connection.
A Service ClusterIP as a source is a bare address.
"""
import ipaddress
import json
import sys

import yaml

SERVICE_KINDS = ("Service",)


# ------------------------------------------------------------------ objects
class Pod:
    def __init__(self, doc, ns_labels):
        meta, spec, st = doc.get("metadata") or {}, doc.get("spec") or {}, doc.get("status") or {}
        self.ns, self.name = meta.get("namespace", "default"), meta["name"]
        self.labels = meta.get("labels") or {}
        self.ns_labels = ns_labels.get(self.ns, {"kubernetes.io/metadata.name": self.ns})
        self.ports = []     # (name, number, protocol) of every container
        for c in spec.get("containers") or []:
            for p in c.get("ports") or []:
                self.ports.append((p.get("name"), int(p["containerPort"]), p.get("protocol", "TCP")))
        ips = [x["ip"] for x in st.get("podIPs") or []] or ([st["podIP"]] if st.get("podIP") else [])
        self.ips = [ipaddress.ip_address(x) for x in ips]
        self.endpoint = bool(self.ips) and not spec.get("hostNetwork") and \
            st.get("phase") not in ("Succeeded", "Failed")
        self.label = "%s/%s" % (self.ns, self.name)

    def addr(self, family):
        return next((a for a in self.ips if a.version == family), None)


def load(path):
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    ns_labels, audit = {}, set()
    for d in docs:
        if d.get("kind") == "Namespace":
            m = d["metadata"]
            ns_labels[m["name"]] = dict(m.get("labels") or {}, **{"kubernetes.io/metadata.name": m["name"]})
            if (m.get("annotations") or {}).get("podwall.io/mode") == "audit":
                audit.add(m["name"])
    pods = [Pod(d, ns_labels) for d in docs if d.get("kind") == "Pod"]
    nps = [d for d in docs if d.get("kind") == "NetworkPolicy"]
    cnps = [d for d in docs if d.get("kind") == "ClusterNetworkPolicy"]
    nodes = [d for d in docs if d.get("kind") == "Node"]
    svcs = {}   # ClusterIP (as ipaddress) -> the Service
    for d in docs:
        spec = d.get("spec") or {}
        if d.get("kind") in SERVICE_KINDS:
            for ip in [spec.get("clusterIP")] + list(spec.get("clusterIPs") or []):
                if ip and ip != "None":
                    svcs[ipaddress.ip_address(ip)] = d
    return pods, nps, cnps, nodes, audit, svcs


# ------------------------------------------------------------------ selectors
def selects(sel, labels):
    """metav1.LabelSelector: every matchLabels pair and every expression hold;
    an empty selector selects everything."""
    if sel is None:
        return False
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e["key"], e["operator"], e.get("values") or []
        ok = {"In": k in labels and labels[k] in vals,
              "NotIn": k not in labels or labels[k] not in vals,
              "Exists": k in labels,
              "DoesNotExist": k not in labels}[op]
        if not ok:
            return False
    return True


def in_cidr(addr, cidr):
    net = ipaddress.ip_network(cidr, strict=False)
    return addr.version == net.version and addr in net


class End:
    """One end of a probe: a pod (with the address used) or a bare address."""
    def __init__(self, addr, pod=None):
        self.addr, self.pod = addr, pod


# ------------------------------------------------------------------ NetworkPolicy v1
def np_peer_matches(peer, np_ns, other):
    if "ipBlock" in peer:
        b = peer["ipBlock"]
        return in_cidr(other.addr, b["cidr"]) and not any(in_cidr(other.addr, x) for x in b.get("except") or [])
    if other.pod is None:      # selectors select pods only
        return False
    pod = other.pod
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], pod.ns_labels):
            return False
    elif pod.ns != np_ns:      # podSelector alone: the policy's namespace
        return False
    return "podSelector" not in peer or selects(peer["podSelector"], pod.labels)


def np_port_matches(p, proto, port, dst_pod):
    """NetworkPolicyPort: protocol defaults to TCP; no port: every port; a named
    port is the destination pod's container port of that name and protocol."""
    if p.get("protocol", "TCP") != proto:
        return False
    if "port" not in p:
        return True
    want = p["port"]
    if isinstance(want, str):
        return dst_pod is not None and any(n == want and pr == proto and num == port
                                           for n, num, pr in dst_pod.ports)
    return want <= port <= p.get("endPort", want)


def np_types(np):
    spec = np["spec"]
    if "policyTypes" in spec:
        return spec["policyTypes"]
    return ["Ingress"] + (["Egress"] if spec.get("egress") else [])


def np_decide(nps, subject, other, direction, proto, port, dst_pod):
    """None: no NetworkPolicy isolates the subject this way; else (allowed, names)."""
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    isolating = [np for np in nps if np["metadata"].get("namespace", "default") == subject.ns
                 and selects(np["spec"].get("podSelector") or {}, subject.labels)
                 and direction in np_types(np)]
    if not isolating:
        return None
    for np in isolating:
        for rule in np["spec"].get(key) or []:
            peers = rule.get(peers_key)
            if peers and not any(np_peer_matches(x, np["metadata"].get("namespace", "default"), other)
                                 for x in peers):
                continue
            ports = rule.get("ports")
            if ports and not any(np_port_matches(p, proto, port, dst_pod) for p in ports):
                continue
            return True, ["NetworkPolicy %s/%s allows" % (np["metadata"].get("namespace"), np["metadata"]["name"])]
    return False, ["isolated by NetworkPolicy " + ",".join(
        "%s/%s" % (np["metadata"].get("namespace"), np["metadata"]["name"]) for np in isolating)]


# ------------------------------------------------------------------ ClusterNetworkPolicy v1alpha2
def cnp_pods_match(sel, pod):
    """A namespaces peer (LabelSelector) or a pods peer (NamespacedPod)."""
    if pod is None:
        return False
    if "namespaces" in sel:
        return selects(sel["namespaces"], pod.ns_labels)
    if "pods" in sel:
        np_ = sel["pods"]
        return selects(np_.get("namespaceSelector"), pod.ns_labels) and \
            selects(np_.get("podSelector"), pod.labels)
    return False


def node_addrs(node):
    return [ipaddress.ip_address(a["address"]) for a in (node.get("status") or {}).get("addresses") or []
            if a.get("type") in ("InternalIP", "ExternalIP")]


def cnp_peer_matches(peer, other, nodes):
    if "namespaces" in peer or "pods" in peer:
        return cnp_pods_match(peer, other.pod)
    if "networks" in peer:
        return any(in_cidr(other.addr, c) for c in peer["networks"])
    if "nodes" in peer:
        return any(other.addr in node_addrs(n) for n in nodes
                   if selects(peer["nodes"], (n.get("metadata") or {}).get("labels") or {}))
    return False   # domainNames: nothing learned here


def cnp_proto_matches(p, proto, port, dst_pod):
    if "destinationNamedPort" in p:
        return dst_pod is not None and any(n == p["destinationNamedPort"] and pr == proto and num == port
                                           for n, num, pr in dst_pod.ports)
    for name in ("tcp", "udp", "sctp"):
        if name in p:
            if name.upper() != proto:
                return False
            dp = p[name].get("destinationPort")
            if dp is None:
                return True
            if "number" in dp:
                return dp["number"] == port
            return dp["range"]["start"] <= port <= dp["range"]["end"]
    return False


def cnp_tier(cnps, nodes, tier, subject, other, direction, proto, port, dst_pod):
    """The action of the first matching rule of the tier ("Accept"|"Deny"|"Pass"),
    or None; with the deciding policy and rule."""
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    mine = [c for c in cnps if c["spec"]["tier"] == tier and cnp_pods_match(c["spec"]["subject"], subject)]
    mine.sort(key=lambda c: (c["spec"]["priority"], c["metadata"]["name"]))
    for c in mine:
        for i, rule in enumerate(c["spec"].get(key) or []):
            if not any(cnp_peer_matches(x, other, nodes) for x in rule[peers_key]):
                continue
            protos = rule.get("protocols")
            if protos and not any(cnp_proto_matches(p, proto, port, dst_pod) for p in protos):
                continue
            return rule["action"], "%s tier %s priority %d rule %s (%s)" % (
                tier, c["metadata"]["name"], c["spec"]["priority"], rule.get("name", i), rule["action"])
    return None, None


def direction_allows(w, subject, other, direction, proto, port, dst_pod):
    pods, nps, cnps, nodes, audit, _ = w
    why = []
    act, who = cnp_tier(cnps, nodes, "Admin", subject, other, direction, proto, port, dst_pod)
    if act in ("Accept", "Deny"):
        return act == "Accept", [who]
    if act == "Pass":
        why.append(who)
    d = np_decide(nps, subject, other, direction, proto, port, dst_pod)
    if d is not None:
        return d[0], why + d[1]
    act, who = cnp_tier(cnps, nodes, "Baseline", subject, other, direction, proto, port, dst_pod)
    if act:
        return act != "Deny", why + [who]
    return True, why


def address_end(by_label, text):
    """An address given as an end: a pod's address is that pod to the other
    end's selectors (the packet is the pod's), but only the other end's
    policies are judged (the matrix sends it from, or to, outside)."""
    a = ipaddress.ip_address(text)
    return End(a, next((p for p in by_label.values() if a in p.ips), None))


def service_of(w, text):
    """The Service whose ClusterIP the end text is, or None."""
    if "/" in text:
        return None
    return w[5].get(ipaddress.ip_address(text))


def service_cell(w, by_label, c, family=4):
    """allow|deny|mixed of a pod to a Service ClusterIP, why, the family, and
    the backends [(NS/POD, target port, allow|deny)] when mixed."""
    svc = service_of(w, c["to"])
    client, vip = by_label[c["from"]], ipaddress.ip_address(c["to"])
    proto, port = c["protocol"], int(c["port"])
    f = vip.version
    fam = f if client.addr(f) else None
    name = "Service %s/%s" % (svc["metadata"].get("namespace", "default"), svc["metadata"]["name"])
    spec = svc.get("spec") or {}
    sp = next((p for p in spec.get("ports") or []
               if int(p["port"]) == port and p.get("protocol", "TCP") == proto), None)
    if sp is None:
        return "deny", ["%s has no port %s/%d" % (name, proto, port)], fam, None
    if fam is None:
        return "deny", ["the client has no IPv%d address" % f], None, None
    sel = spec.get("selector") or {}
    backends, why = [], []
    for pod in sorted(by_label.values(), key=lambda p: p.label):
        if not sel or pod.ns != svc["metadata"].get("namespace", "default") or \
                any(pod.labels.get(k) != v for k, v in sel.items()) or not pod.addr(f):
            continue
        target = sp.get("targetPort", sp["port"])
        if isinstance(target, str):
            target = next((num for n, num, pr in pod.ports if n == target and pr == proto), None)
        if not target:
            continue
        v, bwhy, _ = cell(w, by_label, {"from": client.label, "to": pod.label, "protocol": proto,
                                        "port": target}, family=f)
        backends.append((pod.label, int(target), v))
        why.append("backend %s:%d %s: %s" % (pod.label, target, v, "; ".join(bwhy)))
    if not backends:
        return "deny", ["%s has no backend for %s/%d over IPv%d" % (name, proto, port, f)], fam, None
    verdicts = {b[2] for b in backends}
    if len(verdicts) == 1:
        return verdicts.pop(), why, fam, None
    return "mixed", why, fam, backends


def cell(w, by_label, c, family=4):
    """allow|deny of one matrix cell, why, and the family probed."""
    pods, nps, cnps, nodes, audit, _ = w
    proto, port = c["protocol"], int(c["port"])
    src_pod, dst_pod = by_label.get(c["from"]), by_label.get(c["to"])
    # the address family between dual-stack ends: IPv4 unless --family 6
    fams = [family, 10 - family]
    if src_pod is None:
        fams = [ipaddress.ip_address(c["from"]).version]
    if dst_pod is None:
        fams = [f for f in fams if f == ipaddress.ip_address(c["to"]).version]
    fams = [f for f in fams if (src_pod is None or src_pod.addr(f)) and (dst_pod is None or dst_pod.addr(f))]
    if not fams:
        return "deny", ["no common address family"], None
    f = fams[0]
    src = End(src_pod.addr(f), src_pod) if src_pod else address_end(by_label, c["from"])
    dst = End(dst_pod.addr(f), dst_pod) if dst_pod else address_end(by_label, c["to"])
    ok, why = True, []
    if src_pod is not None:
        e_ok, e_why = direction_allows(w, src_pod, dst, "Egress", proto, port, dst.pod)
        if src_pod.ns in audit:
            e_ok, e_why = True, e_why + ["(egress audited)"]
        ok, why = ok and e_ok, why + ["egress: " + "; ".join(e_why or ["no policy"])]
    if dst_pod is not None:
        i_ok, i_why = direction_allows(w, dst_pod, src, "Ingress", proto, port, dst_pod)
        if dst_pod.ns in audit:
            i_ok, i_why = True, i_why + ["(ingress audited)"]
        ok, why = ok and i_ok, why + ["ingress: " + "; ".join(i_why or ["no policy"])]
    return ("allow" if ok else "deny"), why, f


def judge(w, by_label, c, family=4):
    """(verdict, why, family, backends) of any matrix cell."""
    if service_of(w, c["to"]) is not None and c["from"] in by_label:
        return service_cell(w, by_label, c, family)
    return cell(w, by_label, c, family) + (None,)


def two_files_and_family(usage):
    """The two arguments of the command line and the family of an optional
    trailing --family 4|6 (default 4); exits with usage when they are not."""
    args = sys.argv[1:]
    family = 4
    if len(args) == 4 and args[2] == "--family" and args[3] in ("4", "6"):
        family, args = int(args[3]), args[:2]
    if len(args) != 2:
        sys.exit("usage: " + usage)
    return args, family


def main():
    args, family = two_files_and_family("evaluate.py DUMP.yaml CELLS.json|--endpoints [--family 4|6]")
    w = load(args[0])
    eps = [p for p in w[0] if p.endpoint]
    if args[1] == "--endpoints":
        print("\n".join(sorted(p.label for p in eps)))
        return
    by_label = {p.label: p for p in eps}
    with open(args[1]) as f:
        cells = json.load(f)
    out = []
    for c in cells:
        v, why, fam, backends = judge(w, by_label, c, family)
        o = {"from": c["from"], "to": c["to"], "port": int(c["port"]), "protocol": c["protocol"],
             "verdict": v, "why": why}
        if fam:
            o["family"] = fam
        if backends:
            o["backends"] = [{"backend": b, "port": p, "verdict": x} for b, p, x in backends]
        out.append(o)
    json.dump(out, sys.stdout, indent=None)
    print()


if __name__ == "__main__":
    main()
