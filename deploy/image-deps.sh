#!/bin/sh
# The Debian packages in podwall's image: one list for both ways of building
# it (deploy/Containerfile).
#
#   image-deps.sh list build|runtime      print the packages, one per line
#   image-deps.sh install build|runtime   apt-get install those not installed
#
# `make image` (scripts/image.sh) makes its base images from these lists with
# mmdebstrap, so that `install` finds everything present and never calls apt:
# the build needs nothing but the Debian archive. Built FROM a registry's
# debian:12 instead, `install` fetches them with apt-get in the RUN step.
set -eu

build_pkgs="make gcc libc6-dev clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
libyaml-dev pkg-config libjansson-dev libmicrohttpd-dev libcurl4-openssl-dev"
# what ./podwall links against (ldd), ca-certificates for the API server's
# TLS when a kubeconfig names no CA; podwall-cni is static
runtime_pkgs="libbpf1 libelf1 zlib1g libyaml-0-2 libjansson4 libmicrohttpd12 libcurl4
ca-certificates"

case "${2:-}" in
build)   pkgs=$build_pkgs ;;
runtime) pkgs=$runtime_pkgs ;;
*)       echo "usage: image-deps.sh list|install build|runtime" >&2; exit 2 ;;
esac

case "$1" in
list)
	for p in $pkgs; do echo "$p"; done ;;
install)
	missing=
	for p in $pkgs; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && exit 0
	echo "image-deps.sh: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	rm -rf /var/lib/apt/lists/* ;;
*)
	echo "usage: image-deps.sh list|install build|runtime" >&2; exit 2 ;;
esac
