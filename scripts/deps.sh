#!/usr/bin/env bash
# Install the Debian packages podwall needs to build, test, demo and bench.
# Idempotent: installs nothing (and never calls apt) when all are present.
# Called by `make setup` (and so by `make test`, `make demo`) and by .ci/run.
set -euo pipefail

PKGS=(
	# build
	make gcc clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libyaml-dev pkg-config
	# agent extras: JSON, HTTP (metrics), Kubernetes API client
	libjansson-dev libmicrohttpd-dev libcurl4-openssl-dev
	# tests: netns, traffic, DNS, kube-proxy-style DNAT, conformance harness
	iproute2 netcat-openbsd socat dnsmasq-base dnsutils iptables python3 python3-yaml
	containernetworking-plugins valgrind
	# make image and its tests: Debian-only base images, podman (runc: crun
	# refuses hybrid cgroup hierarchies)
	mmdebstrap podman runc
	# bench
	iperf3 ipset nftables gnuplot-nox
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages: ${missing[*]} (run as root to install them)" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
