#!/usr/bin/env python3
# A stand-in Kubernetes API server that replays a recorded scenario, for
# tests/e2e/k8s_api.sh and clusterrole.sh. Standard library only.
#
#   k8s_replay.py --scenario FILE --control DIR --log FILE [--port 6443]
#                 [--cert PEM --key PEM [--client-ca PEM]] [--token T]
#
# The scenario (JSON):
#   {"initial": {"pods": [obj, ...], "namespaces": [...], ...},
#    "page_size": {"pods": 2},                 # optional: cap list pages (continue tokens)
#    "steps": [{"name": "...", "events": [ev, ...]}, ...]}
# where ev is {"resource": "networkpolicies", "type": T, "object": obj,
# "silent": false}. T is a watch event type (ADDED, MODIFIED, DELETED,
# BOOKMARK) or a fault: DROP (the watch connection is cut, no end chunk),
# GONE (an ERROR event with a 410 Status, then the stream ends; watches from
# an older resourceVersion get the same), HTTP410 (the next watch request of
# the resource is answered 410 Gone). A silent event changes what a list
# returns but is never streamed: only a relist can see it. Faults fire once.
#
# Every scenario entry gets a resourceVersion (its sequence number, after the
# initial objects). Step k (1-based) is released when the file DIR/phase
# holds a number >= k; watches stream released entries past their
# resourceVersion and wait for more. Requests and what was sent are logged
# as JSON lines in the log file.
import argparse, copy, json, os, socket, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

ap = argparse.ArgumentParser()
ap.add_argument("--scenario", required=True)
ap.add_argument("--control", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--port", type=int, default=6443)
ap.add_argument("--bind", default="127.0.0.1")
ap.add_argument("--cert")
ap.add_argument("--key")
ap.add_argument("--token")
ap.add_argument("--client-ca", help="TLS: require a client certificate signed by this CA")
ap.add_argument("--missing", action="append", default=[],
                help="a resource the server does not serve (404), as a cluster without its CRD")
a = ap.parse_args()

PATHS = {
    "/api/v1/namespaces": ("namespaces", "Namespace", "v1"),
    "/api/v1/pods": ("pods", "Pod", "v1"),
    "/api/v1/services": ("services", "Service", "v1"),
    "/apis/networking.k8s.io/v1/networkpolicies": ("networkpolicies", "NetworkPolicy", "networking.k8s.io/v1"),
    "/api/v1/nodes": ("nodes", "Node", "v1"),
    "/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies": ("clusternetworkpolicies", "ClusterNetworkPolicy", "policy.networking.k8s.io/v1alpha2"),
}
KIND = {r: (k, v) for _, (r, k, v) in PATHS.items()}

with open(a.scenario) as f:
    sc = json.load(f)

lock = threading.RLock()
log_f = open(a.log, "a", buffering=1)


def log(**kw):
    kw["t"] = round(time.time(), 3)
    with lock:
        log_f.write(json.dumps(kw, sort_keys=True) + "\n")


def key(o):
    m = o.get("metadata", {})
    return (m.get("namespace", ""), m.get("name", ""))


# initial objects: resourceVersion 1..n
seq = 0
initial = {}
for res in KIND:
    initial[res] = []
    for o in sc.get("initial", {}).get(res, []):
        seq += 1
        o = copy.deepcopy(o)
        o.setdefault("metadata", {})["resourceVersion"] = str(seq)
        initial[res].append(o)
initial_rv = seq

entries = []   # dicts: step, resource, type, object, silent, rv, fired
for si, step in enumerate(sc.get("steps", []), start=1):
    for ev in step["events"]:
        seq += 1
        e = dict(ev)
        e["step"], e["rv"], e["fired"] = si, seq, False
        e["silent"] = bool(ev.get("silent"))
        if "object" in e:
            e["object"] = copy.deepcopy(e["object"])
            e["object"].setdefault("metadata", {})["resourceVersion"] = str(seq)
        entries.append(e)


def phase():
    try:
        with open(os.path.join(a.control, "phase")) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def released():
    p = phase()
    return [e for e in entries if e["step"] <= p]


def list_state(res):
    """What a list of res returns now, and the resourceVersion of the list."""
    objs = {key(o): o for o in initial[res]}
    rv = initial_rv
    for e in released():
        rv = max(rv, e["rv"])
        if e["resource"] != res or "object" not in e:
            continue
        if e["type"] in ("ADDED", "MODIFIED"):
            objs[key(e["object"])] = e["object"]
        elif e["type"] == "DELETED":
            objs.pop(key(e["object"]), None)
    return sorted(objs.values(), key=key), rv


def too_old(res, rv):
    """A fired GONE/HTTP410 of res past rv makes rv too old."""
    return any(e["resource"] == res and e["type"] in ("GONE", "HTTP410") and e["fired"] and e["rv"] > rv
               for e in entries)


def status(code, reason, msg):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": msg, "reason": reason, "code": code}


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def chunk(self, obj):
        data = (json.dumps(obj) + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_GET(self):
        u = urlparse(self.path)
        q = {k: v[-1] for k, v in parse_qs(u.query).items()}
        auth = self.headers.get("Authorization", "")
        log(req="GET", path=u.path, query=q, auth=auth.startswith("Bearer "))
        if a.token and auth != "Bearer " + a.token:
            return self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
        if u.path not in PATHS or PATHS[u.path][0] in a.missing:
            return self.send_json(404, status(404, "NotFound", "the server could not find the requested resource"))
        res, kind, api = PATHS[u.path]
        if q.get("watch") in ("1", "true"):
            return self.watch(res, kind, api, q)
        with lock:
            objs, rv = list_state(res)
        start = 0
        if q.get("continue"):
            _, off, rv_s = q["continue"].split(":")
            start, rv = int(off), int(rv_s)
        limit = int(q.get("limit", 0) or 0)
        cap = sc.get("page_size", {}).get(res)
        if cap:
            limit = min(limit, cap) if limit else cap
        page = objs[start:start + limit] if limit else objs[start:]
        meta = {"resourceVersion": str(rv)}
        if limit and start + limit < len(objs):
            meta["continue"] = "off:%d:%d" % (start + limit, rv)
        log(sent="LIST", resource=res, rv=rv, items=len(page), cont=bool(meta.get("continue")))
        self.send_json(200, {"kind": kind + "List", "apiVersion": api, "metadata": meta, "items": page})

    def watch(self, res, kind, api, q):
        rv = int(q.get("resourceVersion") or 0)
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        timeout_s = min(int(q.get("timeoutSeconds") or 300), 300)
        with lock:
            for e in released():
                if e["resource"] == res and e["type"] == "HTTP410" and not e["fired"] and e["rv"] > rv:
                    e["fired"] = True
                    log(sent="HTTP410", resource=res, rv=rv)
                    return self.send_json(410, status(410, "Expired", "too old resource version: %d" % rv))
            old = too_old(res, rv)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if old:
            log(sent="GONE", resource=res, rv=rv, why="too old at start")
            self.chunk({"type": "ERROR", "object": status(410, "Expired", "too old resource version: %d" % rv)})
            self.wfile.write(b"0\r\n\r\n")
            return
        end = time.time() + timeout_s
        pos = rv
        try:
            while time.time() < end:
                with lock:
                    todo = [e for e in released() if e["resource"] == res and e["rv"] > pos]
                for e in todo:
                    pos = e["rv"]
                    t = e["type"]
                    if e["silent"]:
                        continue
                    if t in ("DROP", "GONE", "HTTP410"):
                        with lock:
                            if e["fired"]:
                                continue
                            if t == "HTTP410":
                                continue   # only for a new watch request
                            e["fired"] = True
                        if t == "DROP":
                            log(sent="DROP", resource=res, rv=e["rv"])
                            self.connection.shutdown(socket.SHUT_RDWR)
                            self.close_connection = True
                            return
                        log(sent="GONE", resource=res, rv=e["rv"])
                        self.chunk({"type": "ERROR", "object": status(410, "Expired", "too old resource version: %d" % rv)})
                        self.wfile.write(b"0\r\n\r\n")
                        return
                    if t == "BOOKMARK":
                        if not bookmarks:
                            continue
                        obj = {"kind": kind, "apiVersion": api, "metadata": {"resourceVersion": str(e["rv"])}}
                    else:
                        obj = e["object"]
                    log(sent=t, resource=res, rv=e["rv"], name="/".join(x for x in key(obj) if x))
                    self.chunk({"type": t, "object": obj})
                time.sleep(0.05)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server((a.bind, a.port), H)
if a.cert:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    if a.client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(a.client_ca)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
log(started=True, port=a.port, tls=bool(a.cert), entries=len(entries))
print("k8s_replay: listening on %s:%d%s" % (a.bind, a.port, " (TLS)" if a.cert else ""), flush=True)
srv.serve_forever()
