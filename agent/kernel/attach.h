/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * attach: podwall's programs on the tc hooks of devices.
 *
 *   from_pod  tc ingress of each local pod's host veth
 *   to_pod    tc egress  of each local pod's host veth
 *   to_remote tc egress  of each uplink
 *
 * Two kinds of hook (pw_attach_kind): a clsact qdisc's cls_bpf filter in
 * direct-action mode, the default; or tcx (Linux 6.6+, tcx.h), first of the
 * hook's tcx programs. tcx programs run before every clsact filter of the
 * device, so at tcx another tool's tcx "pass" cannot skip podwall; but each
 * tcx attach waits for an RCU grace period under the rtnl lock, and the
 * packet got no faster here (docs/DESIGN.md §5). The program and its return
 * codes are the same for both (TC_ACT_OK and TC_ACT_SHOT are tcx's PASS and
 * DROP). PODWALL_ATTACH=tc|tcx|auto in the environment chooses (unset: tc;
 * auto: tcx if the kernel has it). Attaching at one kind takes podwall's
 * program off the other at that spot, after the new one is in place;
 * detaching and listing cover both.
 *
 * Every podwall tc filter has handle PW_TC_HANDLE and priority PW_TC_PRIO,
 * and runs a program named from_pod, to_pod or to_remote: a filter is
 * podwall's only if all three hold. A tcx program is podwall's if it has
 * one of those names and uses a map named "endpoints". Nothing else is ever
 * replaced or removed.
 */
#ifndef PODWALL_KERNEL_ATTACH_H
#define PODWALL_KERNEL_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kernel/bpfobj.h"

#define PW_TC_HANDLE 0x7077u /* "pw" */
#define PW_TC_PRIO   0x7077u /* before tc's auto priorities (0xc000 and down) */

struct pw_rt;
struct podwall_bpf;

enum pw_hook_kind {
	PW_HOOK_TC = 0,  /* clsact + cls_bpf direct action */
	PW_HOOK_TCX,     /* the kernel's tcx hook */
};

/* The kind this process attaches at (decided once), or -EINVAL for a
 * PODWALL_ATTACH that is not tc, tcx, auto or empty. */
int pw_attach_kind(void);
const char *pw_hook_kind_name(int kind);

/* One place a program should run. */
struct pw_tc_spot {
	uint32_t     ifindex;
	bool         egress;
	enum pw_prog prog;
};

struct pw_attach_stats {
	unsigned attached;   /* nothing of ours was there */
	unsigned replaced;   /* ours was there with another program (BPF_TC_F_REPLACE) */
	unsigned adopted;    /* ours was there with the same program: left alone */
	unsigned detached;   /* podwall filters removed (sweep, uninstall) */
	unsigned missing;    /* devices that disappeared before we could attach */
	unsigned qdiscs;     /* clsact qdiscs removed (uninstall) */
	char     error[512];
};

enum pw_attach_result {
	PW_ATTACH_NEW = 0,
	PW_ATTACH_REPLACED,
	PW_ATTACH_ADOPTED,
};

/*
 * Make prog_fd run at ifindex/direction: create clsact if needed; if our
 * filter there runs the same program (same name, tag and maps) leave it,
 * else attach or replace. *res says which.
 */
int pw_attach_one(int prog_fd, uint32_t ifindex, bool egress, enum pw_attach_result *res);

/* Remove our filter at ifindex/direction if it is there (and podwall's). */
int pw_detach_one(uint32_t ifindex, bool egress);

/*
 * Attach obj's programs at every spot (a device that vanished meanwhile is
 * counted in st->missing, not an error). With sweep, also remove podwall's
 * filters from every other place of this network namespace.
 */
int pw_attach_sync(struct podwall_bpf *obj, struct pw_rt *rt, const struct pw_tc_spot *spots,
		   size_t n, bool sweep, struct pw_attach_stats *st);

/*
 * Uninstall: remove every podwall program of this network namespace (tc
 * filters and tcx); on a device where a tc filter of ours was removed,
 * remove its clsact qdisc too if no other filter is left on it.
 */
int pw_detach_all(struct pw_rt *rt, struct pw_attach_stats *st);

/* A tc filter, as listed by RTM_GETTFILTER, or a tcx program (kind "tcx"). */
struct pw_tc_filter {
	uint32_t ifindex;
	bool     egress;
	uint32_t handle;     /* 0 for tcx */
	uint16_t prio;       /* tcx: the position, 1 runs first */
	uint16_t protocol;   /* network order, as tc keeps it */
	char     kind[16];   /* "bpf", "u32", ..., "tcx" */
	uint32_t prog_id;    /* bpf only */
	char     prog_name[16];
	bool     podwall;    /* handle, priority and program name are podwall's */
};

/* Filters of clsact ingress/egress of ifindex (none if no clsact), then the
 * programs of its tcx hook. *out malloc'd. */
int pw_tc_list(struct pw_rt *rt, uint32_t ifindex, bool egress, struct pw_tc_filter **out,
	       size_t *n);

#endif
