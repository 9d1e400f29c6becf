#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""
compare.py DUMP.yaml MATRIX.json [--family 4|6]: `podwall matrix -o json`
(run with the same --family) against the oracle (evaluate.py), cell by cell:
pod to pod, pod <-> address, and pod to Service ClusterIP (the verdict, and
for a "mixed" cell every backend's target port and verdict). Exit 0 when
every cell agrees and the pods probed are exactly the oracle's endpoints;
else exit 1 and print the first differing cells (expected vs got) with the
oracle's reasons (the policies that decided). Prints one summary line:
"N cells agree (S to Services, M mixed)" or "N of M cells differ".
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evaluate  # noqa: E402


def backends_text(bs):
    return ",".join("%s:%s %s" % (b["backend"], b["port"], b["verdict"])
                    for b in sorted(bs or [], key=lambda b: b["backend"]))


def main():
    args, family = evaluate.two_files_and_family("compare.py DUMP.yaml MATRIX.json [--family 4|6]")
    w = evaluate.load(args[0])
    eps = {p.label: p for p in w[0] if p.endpoint}
    with open(args[1]) as f:
        got = json.load(f)
    probed = {c[k] for c in got for k in ("from", "to") if "/" in c[k]}
    bad = 0
    if probed != set(eps):
        print("endpoints differ: probed but not endpoints %s; endpoints not probed %s" %
              (sorted(probed - set(eps)), sorted(set(eps) - probed)))
        bad += 1
    n = diffs = to_svc = mixed = 0
    for c in got:
        v, why, fam, backends = evaluate.judge(w, eps, c, family)
        n += 1
        if evaluate.service_of(w, c["to"]) is not None:
            to_svc += 1
            mixed += v == "mixed"
        if fam and c.get("family") != fam:     # probed over another family than expected
            v = "%s over IPv%d" % (v, fam)
        want = v + (" [%s]" % backends_text([{"backend": b, "port": p, "verdict": x}
                                             for b, p, x in backends]) if backends else "")
        have = c["verdict"] + (" [%s]" % backends_text(c.get("backends")) if c.get("backends") else "")
        if want != have:
            diffs += 1
            if diffs <= 5:
                print("  %s -> %s %s/%d family %s: expected %s, got %s\n      %s" % (
                    c["from"], c["to"], c["protocol"], c["port"], c.get("family"), want, have,
                    "\n      ".join(why)))
    if diffs:
        print("%d of %d cells differ" % (diffs, n))
    else:
        print("%d cells agree (%d to Services, %d mixed)" % (n, to_svc, mixed))
    sys.exit(1 if diffs or bad or not n else 0)


if __name__ == "__main__":
    main()
