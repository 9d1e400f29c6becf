#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Take one podwall program off one device, as a mistaken operator would.

usage: hook_detach.py PODWALL DEV ingress|egress   (in the node's network namespace)

`podwall hooks` says where the program is and at which kind of hook. A tc
filter goes with `tc filter del`; a tcx program with BPF_PROG_DETACH, made
here through ctypes (iproute2 and bpftool in Debian 12 know no tcx). Exits 1
if podwall has no program there.
"""
import ctypes
import os
import socket
import struct
import subprocess
import sys

BPF_PROG_DETACH, BPF_PROG_GET_FD_BY_ID = 9, 13
TCX = {"ingress": 46, "egress": 47}          # BPF_TCX_INGRESS / BPF_TCX_EGRESS
SYS_BPF = {"x86_64": 321, "aarch64": 280}[os.uname().machine]
libc = ctypes.CDLL(None, use_errno=True)


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 128)
    r = libc.syscall(SYS_BPF, cmd, buf, 128)
    if r < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return r


def main():
    podwall, dev, direction = sys.argv[1:4]
    out = subprocess.run([podwall, "hooks"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 6 and f[0] == dev and f[1] == direction and f[-1] == "podwall":
            kind, prog_id = f[2], int(f[5])
            break
    else:
        print(f"no podwall program on {dev} {direction}", file=sys.stderr)
        return 1
    if kind == "tc":
        subprocess.run(["tc", "filter", "del", "dev", dev, direction], check=True)
        return 0
    fd = bpf(BPF_PROG_GET_FD_BY_ID, struct.pack("I", prog_id))
    try:
        bpf(BPF_PROG_DETACH, struct.pack("IIII", socket.if_nametoindex(dev), fd, TCX[direction], 0))
    finally:
        os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
