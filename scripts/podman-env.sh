# podman as this machine (and CI) lets us run it, for scripts/image.sh and
# the image tests (tests/e2e/image.sh). Source it; it defines
#
#   pw_podman ARGS...   podman with the cgroupfs manager (no systemd here)
#   PW_PODMAN_RUN       options for `podman run` and `podman build`:
#                       --runtime runc: crun refuses hosts whose cgroup v1
#                         and v2 hierarchies are mixed (hybrid);
#                       --cgroup-parent: containers go in a cgroup under
#                         this process's own memory cgroup, so that they are
#                         accounted (and limited) with whoever started them;
#                       --ulimit 4096: podman would raise nofile/nproc to
#                         the host maximum, which needs CAP_SYS_RESOURCE.

pw_podman() { podman --cgroup-manager=cgroupfs "$@"; }

pw_cgroup_parent() {   # NAME: this process's memory cgroup (v1) or its cgroup (v2), + /NAME
	local cg
	cg=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
	[ -n "$cg" ] || cg=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
	[ -n "$cg" ] && [ "$cg" != / ] || cg=
	echo "${cg%/}/$1"
}

# pw_cgroup_remove PATH: the (empty) cgroup PATH and what is below it, in every hierarchy
pw_cgroup_remove() {
	local h
	[ -n "$1" ] && [ "$1" != / ] || return 0
	for h in /sys/fs/cgroup /sys/fs/cgroup/*; do
		[ -d "$h$1" ] && find "$h$1" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	return 0
}

PW_PODMAN_RUN=(--runtime runc --cgroup-parent "$(pw_cgroup_parent podwall)"
	--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)
# podman build runs each RUN step in the cgroup parent itself: one of its own,
# empty (cgroup v1's devices controller refuses a parent that has children)
PW_BUILD_CGROUP=$(pw_cgroup_parent "podwall-build-$$")
PW_PODMAN_BUILD=(--runtime runc --cgroup-parent "$PW_BUILD_CGROUP"
	--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)
