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

pw_cgroup_parent() {   # this process's memory cgroup (v1) or its cgroup (v2), + /podwall
	local cg
	cg=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
	[ -n "$cg" ] || cg=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
	[ -n "$cg" ] && [ "$cg" != / ] || cg=
	echo "${cg%/}/podwall"
}

PW_PODMAN_RUN=(--runtime runc --cgroup-parent "$(pw_cgroup_parent)"
	--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)
