#!/bin/sh
# The init container of the podwall DaemonSet: install podwall-cni into the
# node's CNI binary directory and chain it into the node's CNI configuration
# (the first *.conflist/*.conf/*.json of the directory, the one the runtime
# uses), waiting for the cluster's own CNI to write that configuration first.
#
# Environment (defaults are the DaemonSet's mounts):
#   PODWALL_CNI_SRC     the binary in the image    (/usr/local/bin/podwall-cni)
#   CNI_BIN_DIR         the node's /opt/cni/bin    (/host/opt/cni/bin)
#   CNI_CONF_DIR        the node's /etc/cni/net.d  (/host/etc/cni/net.d)
#   PODWALL_CNI_SOCKET  the agent's socket, as the node sees it (/run/podwall/cni.sock)
#   CNI_WAIT_SECONDS    how long to wait for a CNI configuration (600)
#
# Idempotent: the binary is replaced atomically (written beside, renamed
# over: a runtime never executes half a file), the entry is added once.
# To take podwall off a node: `podwall-cni unchain --conf-dir /etc/cni/net.d`
# (with the chained entry in place and the agent gone, ADD fails closed).
set -eu

SRC=${PODWALL_CNI_SRC:-/usr/local/bin/podwall-cni}
BIN_DIR=${CNI_BIN_DIR:-/host/opt/cni/bin}
CONF_DIR=${CNI_CONF_DIR:-/host/etc/cni/net.d}
SOCKET=${PODWALL_CNI_SOCKET:-/run/podwall/cni.sock}
WAIT=${CNI_WAIT_SECONDS:-600}

[ -x "$SRC" ] || { echo "install-cni: $SRC is missing" >&2; exit 1; }
mkdir -p "$BIN_DIR"
tmp="$BIN_DIR/.podwall-cni.tmp.$$"
trap 'rm -f "$tmp"' EXIT
cp "$SRC" "$tmp"
chmod 0755 "$tmp"
mv -f "$tmp" "$BIN_DIR/podwall-cni"
echo "install-cni: installed $BIN_DIR/podwall-cni"
"$SRC" chain --conf-dir "$CONF_DIR" --socket "$SOCKET" --wait "$WAIT"
