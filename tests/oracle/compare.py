#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""
compare.py DUMP.yaml MATRIX.json: `podwall matrix -o json` against the oracle
(evaluate.py), cell by cell. Exit 0 when every compared cell agrees and the
pods probed are exactly the oracle's endpoints; else exit 1 and print the first
differing cells (expected vs got) with the oracle's reasons (the policies that
decided). Prints one summary line: "N cells agree" or "N of M cells differ".
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evaluate  # noqa: E402


def main():
    dump, got_path = sys.argv[1], sys.argv[2]
    w = evaluate.load(dump)
    eps = {p.label: p for p in w[0] if p.endpoint}
    with open(got_path) as f:
        got = json.load(f)
    probed = {c[k] for c in got for k in ("from", "to") if "/" in c[k]}
    bad = 0
    if probed != set(eps):
        print("endpoints differ: probed but not endpoints %s; endpoints not probed %s" %
              (sorted(probed - set(eps)), sorted(set(eps) - probed)))
        bad += 1
    n = diffs = 0
    for c in got:
        if c.get("verdict") == "mixed" or c["to"] in w[5] or c["from"] in w[5]:
            continue
        v, why, fam = evaluate.cell(w, eps, c)
        n += 1
        if fam and c.get("family") != fam:     # probed over another family than expected
            v = "%s over IPv%d" % (v, fam)
        if v != c["verdict"]:
            diffs += 1
            if diffs <= 5:
                print("  %s -> %s %s/%d family %s: expected %s, got %s\n      %s" % (
                    c["from"], c["to"], c["protocol"], c["port"], c.get("family"), v, c["verdict"],
                    "\n      ".join(why)))
    if diffs:
        print("%d of %d cells differ" % (diffs, n))
    else:
        print("%d cells agree" % n)
    sys.exit(1 if diffs or bad or not n else 0)


if __name__ == "__main__":
    main()
