#!/usr/bin/env python3
# The large members of the hostile-input corpus, generated rather than
# committed (tests/e2e/hostile.sh calls this): each must be refused by
# `podwall apply -f` and `podwall matrix -f` with a clear error, in bounded
# time and memory, without touching the maps.
#
# Usage: tests/hostile/gen.py OUTDIR
import os
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def w(name, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


NP = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
      "metadata: {name: %s, namespace: production}\n"
      "spec: {podSelector: {matchLabels: {app: web}}, ingress: [{ports: [{port: %d}]}]}\n")

# deep nesting: 100,000 open brackets (flow) and 5,000 levels of block mappings
w("gen-deep-flow.yaml", "kind: Pod\nmetadata: {name: deep}\nspec: " + "[" * 100000 + "\n")
w("gen-deep-block.yaml", "kind: Pod\nmetadata:\n" +
  "".join("%s%s:\n" % ("  " * (i + 1), "k%d" % i) for i in range(5000)))

# megabyte strings: a label value past the 1 MiB scalar limit; a 900 KB name
w("gen-megabyte-label.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: big\n"
  "  namespace: production\n  labels: {app: %s}\n" % ("x" * (1024 * 1024 + 1)))
w("gen-megabyte-name.yaml", NP % ("n" * 900000, 80))
w("gen-megabyte-key.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: k\n"
  "  labels: {%s: v}\n" % ("k" * (2 * 1024 * 1024)))

# thousands of documents: 5,000 good policies, then one bad one
w("gen-thousands-of-documents.yaml",
  "---\n".join([NP % ("p%d" % i, 1000 + i) for i in range(5000)] + [NP % ("bad", 0)]))
# 200,000 empty documents, then a bad one
w("gen-many-separators.yaml", "---\n" * 200000 + NP % ("bad", 70000))

# huge lists: past the 4 Mi node limit of one document; 300,000 ports, the last bad
w("gen-huge-flow-list.yaml", "kind: Pod\nmetadata: {name: l}\nx: [" +
  ",".join(["0"] * (4 * 1024 * 1024 + 10)) + "]\n")
w("gen-huge-port-list.yaml",
  "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
  "metadata: {name: ports, namespace: production}\n"
  "spec:\n  podSelector: {}\n  ingress:\n  - ports:\n" +
  "".join("    - {port: %d}\n" % (1 + i % 65535) for i in range(300000)) +
  "    - {port: 65536}\n")
# a 5,000-item kind: List whose last item is bad
w("gen-huge-kind-list.yaml", "apiVersion: v1\nkind: List\nitems:\n" +
  "".join("- {apiVersion: v1, kind: Namespace, metadata: {name: ns%d}}\n" % i
          for i in range(5000)) + "- {apiVersion: v1, kind: Namespace, metadata: 7}\n")

# anchors: 100,000 anchors; a million aliases of the last of 1,000 anchors;
# aliases of a huge mapping used 10,000 times
w("gen-many-anchors.yaml", "kind: Pod\nmetadata: {name: a}\nx:\n" +
  "".join("- &a%d %d\n" % (i, i) for i in range(100000)) + "spec: {containers: 5}\n")
w("gen-many-aliases.yaml", "kind: Pod\nmetadata: {name: a}\nx:\n" +
  "".join("- &a%d %d\n" % (i, i) for i in range(1000)) +
  "y: [" + ",".join(["*a999"] * 1000000) + "]\n")
big = "{" + ", ".join("k%d: v" % i for i in range(1000)) + "}"
w("gen-alias-fanout.yaml", "x: &big %s\napiVersion: v1\nkind: Pod\n"
  "metadata:\n  name: fan\n  namespace: production\n  labels: *big\n"
  "spec:\n  containers: [%s]\n" % (big, ", ".join(["{name: c, ports: [*big]}"] * 10000)))

# past the 64 MiB file limit (sparse: costs no disk)
with open(os.path.join(out, "gen-too-large.yaml"), "wb") as f:
    f.write(b"apiVersion: v1\nkind: Namespace\nmetadata: {name: big}\n# ")
    f.truncate(65 * 1024 * 1024)
