#!/usr/bin/env bash
# make image: podwall's OCI image from Debian packages alone (no container
# registry): two base root filesystems made with mmdebstrap from the lists in
# deploy/image-deps.sh (build tools; runtime libraries), imported into podman,
# then deploy/Containerfile built on them. Tags localhost/podwall:<git
# describe> and localhost/podwall:latest.
#
# Environment:
#   MIRROR      the Debian mirror (http://deb.debian.org/debian); the
#               security suite comes from SECURITY (MIRROR's host
#               /debian-security), set SECURITY=none to leave it out
#   SUITE       bookworm
#   IMAGE       localhost/podwall
#   REBASE=1    make the base images again even if they exist
#
# podman runs with --runtime runc (crun refuses hosts with hybrid cgroup v1
# hierarchies), its containers in a cgroup under this process's own memory
# cgroup, and ulimits of 4096 (no CAP_SYS_RESOURCE needed to set them).
# The base images are named by a hash of the package lists and the suite,
# so a rebuild after a source change costs only the podman build.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/podman-env.sh

SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${SECURITY:-${MIRROR%/debian}/debian-security}
IMAGE=${IMAGE:-localhost/podwall}
TAG=$(git describe --tags --always --dirty 2>/dev/null || echo dev)

for t in mmdebstrap podman runc; do
	command -v "$t" >/dev/null || { echo "image.sh: missing $t (bash scripts/deps.sh)" >&2; exit 1; }
done

sources=("deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main")
# essential: no apt (the packages come from outside); merged /usr set up by
# mmdebstrap's hook, not by the usrmerge package (which would pull in perl)
MMOPTS=(--variant=essential --quiet --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
[ "$SECURITY" = none ] || sources+=("deb $SECURITY $SUITE-security main")

# base NAME: make localhost/podwall-base-NAME:KEY unless it exists; prints its name
base() {
	local name=$1 key ref tmp t0
	key=$( { sh deploy/image-deps.sh list "$name"; echo "$SUITE ${sources[*]} ${MMOPTS[*]}"; } |
		sha256sum | cut -c1-12)
	ref=localhost/podwall-base-$name:$key
	if [ "${REBASE:-0}" != 1 ] && pw_podman image exists "$ref"; then
		echo "image.sh: base $ref exists" >&2
		echo "$ref"; return
	fi
	tmp=$(mktemp -d)
	t0=$(date +%s)
	echo "image.sh: mmdebstrap $SUITE ($name: $(sh deploy/image-deps.sh list "$name" | xargs))" >&2
	# no documentation, manual pages or translations in the image (copyright
	# files stay)
	if ! mmdebstrap "${MMOPTS[@]}" \
		--include="$(sh deploy/image-deps.sh list "$name" | paste -sd, -)" \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		"$SUITE" "$tmp/root.tar" "${sources[@]}" >&2; then
		rm -rf "$tmp"
		echo "image.sh: mmdebstrap failed" >&2
		exit 1
	fi
	pw_podman import --quiet \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["/bin/sh"]' "$tmp/root.tar" "$ref" >/dev/null
	rm -rf "$tmp"
	echo "image.sh: base $ref made in $(( $(date +%s) - t0 )) s" >&2
	echo "$ref"
}

t0=$(date +%s)
build_base=$(base build)
run_base=$(base runtime)
trap 'pw_cgroup_remove "$PW_BUILD_CGROUP"' EXIT
pw_podman build "${PW_PODMAN_BUILD[@]}" --network none \
	--build-arg BUILD_BASE="$build_base" --build-arg BASE="$run_base" \
	--build-arg JOBS="$(nproc)" \
	-f deploy/Containerfile -t "$IMAGE:$TAG" -t "$IMAGE:latest" .
size=$(pw_podman image inspect --format '{{.Size}}' "$IMAGE:$TAG")
echo "image.sh: $IMAGE:$TAG (and :latest), $((size / 1000000)) MB, in $(( $(date +%s) - t0 )) s"
