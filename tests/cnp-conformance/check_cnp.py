#!/usr/bin/env python3
"""check_cnp.py - the upstream ClusterNetworkPolicy conformance cases against podwall.

  check_cnp.py --impl "CMD [ARGS...]" [PATH...]     (default PATH: cases/ next to this file)

A case file holds the documents of one upstream test step (ClusterNetworkPolicies,
NetworkPolicies, as upstream has them at that step) and one `kind: Expectation`
document whose probes are upstream's PokeServer calls:
    {from: NS/POD, to: NS/POD | IP, port: N, protocol: TCP|UDP|SCTP, expect: allow|deny}
Namespaces are written without upstream's "network-policy-conformance-" prefix.

The implementation is judged on base.yaml (less the objects the case defines again:
upstream patched them) followed by the case's documents, through
the NetworkPolicy harness's own runner (../conformance/check.py: `CMD matrix -f FILE
-o json --ports ... --protocols ... [--external-ips ...]`, every probe compared with
the row of the same from, to, port and protocol). Prints PASS / FAIL / ERROR per case
and `N passed, N failed`; exit 0 iff none failed.
"""

import argparse
import ipaddress
import os
import shlex
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "conformance"))

import yaml  # noqa: E402

import check  # noqa: E402  (the NetworkPolicy harness: its runner and comparison)

PREFIX = "network-policy-conformance-"


def key(doc):
    meta = doc.get("metadata") or {}
    return (doc.get("kind"), meta.get("namespace"), meta.get("name"))


def base_without(base_text, keys):
    """base.yaml without the objects the case defines again (upstream patched
    them: the case holds their new version)."""
    kept = []
    for chunk in base_text.split("\n---\n"):
        doc = yaml.safe_load(chunk)
        if not (isinstance(doc, dict) and key(doc) in keys):
            kept.append(chunk)
    return "\n---\n".join(kept)


def endpoint(s):
    s = str(s)
    try:
        return str(ipaddress.ip_address(s)), True
    except ValueError:
        return PREFIX + s, False


class CnpCase(object):
    """What check.run_case needs of a case, read from a CNP case file."""

    def __init__(self, path, display, base_text):
        self.path, self.display = path, display
        with open(path) as f:
            own = f.read()
        docs = [d for d in yaml.safe_load_all(own) if d is not None]
        exps = [d for d in docs if d.get("kind") == "Expectation"]
        if len(exps) != 1:
            raise ValueError("want one `kind: Expectation` document, found %d" % len(exps))
        base_text = base_without(base_text, set(key(d) for d in docs))
        self.text = base_text.rstrip("\n") + "\n---\n" + own
        self.probes, self.externals = [], []
        ports, protocols = set(), set()
        for pr in exps[0].get("probes") or []:
            src, src_ip = endpoint(pr["from"])
            dst, dst_ip = endpoint(pr["to"])
            proto = str(pr.get("protocol", "TCP")).upper()
            port = int(pr["port"])
            if pr.get("expect") not in ("allow", "deny"):
                raise ValueError("probe %r: expect must be allow or deny" % (pr,))
            for ip, is_ip in ((src, src_ip), (dst, dst_ip)):
                if is_ip and ip not in self.externals:
                    self.externals.append(ip)
            ports.add(port)
            protocols.add(proto)
            self.probes.append((src, dst, port, proto, pr["expect"]))
        if not self.probes:
            raise ValueError("no probes")
        self.ports = sorted(ports)
        self.protocols = sorted(protocols)
        self.cross_check = False


def collect(paths):
    out = []
    for p in paths:
        if os.path.isdir(p):
            for dp, dn, fn in os.walk(p):
                dn.sort()
                for n in sorted(fn):
                    if n.endswith((".yaml", ".yml")):
                        full = os.path.join(dp, n)
                        out.append((full, os.path.relpath(full, HERE)))
        elif os.path.isfile(p):
            out.append((p, p))
        else:
            sys.stderr.write("check_cnp.py: no such file or directory: %s\n" % p)
            sys.exit(2)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="ClusterNetworkPolicy conformance harness")
    ap.add_argument("--impl", required=True, help="implementation command (`matrix ...` is appended)")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("paths", nargs="*", metavar="PATH")
    args = ap.parse_args(argv)
    with open(os.path.join(HERE, "base.yaml")) as f:
        base = f.read()
    files = collect(args.paths or [os.path.join(HERE, "cases")])
    if not files:
        sys.stderr.write("check_cnp.py: no case files found\n")
        return 2
    passed = failed = 0
    for path, display in files:
        try:
            case = CnpCase(path, display, base)
            ok, line, details = check.run_case(case, shlex.split(args.impl), False, True,
                                               args.timeout, 5)
        except (ValueError, KeyError, yaml.YAMLError, OSError) as e:
            ok, line, details = False, "ERROR %s: bad case file: %s" % (display, e), []
        print(line)
        if not ok and args.verbose:
            for d in details:
                print("      " + d)
        sys.stdout.flush()
        passed += ok
        failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
