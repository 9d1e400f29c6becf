/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tcx: the kernel's own tc hooks (Linux 6.6+, BPF_TCX_INGRESS/EGRESS), by
 * BPF_PROG_ATTACH/DETACH/QUERY with an ifindex as the target. libbpf 1.1
 * knows neither the attach types nor the ordering flags, so they are spelt
 * here; its bpf_prog_attach_opts/detach2/query_opts carry them unchanged.
 *
 * A program attached this way stays until it is detached or the device goes
 * (no link, no pin, no process holds it), as a clsact filter does, and runs
 * before any clsact filter of the device: the packet skips tc's classifier
 * walk (tcf_classify, cls_bpf, the mini-qdisc's counters). Each attach,
 * replace or detach waits for an RCU grace period with the rtnl lock held
 * (~12 ms on a 2-vCPU VM). attach.c decides which of the two hooks podwall
 * uses (attach.h).
 */
#ifndef PODWALL_KERNEL_TCX_H
#define PODWALL_KERNEL_TCX_H

#include <stdbool.h>
#include <stdint.h>

#define PW_TCX_MAX_PROGS 64 /* programs listed per hook; the kernel allows 64 */

/* 1 if this kernel has tcx hooks, 0 if not, or a negative errno. */
int pw_tcx_probe(void);

/*
 * The programs at ifindex's tcx hook, in the order they run: ids[0..*n).
 * No program (or no device hook yet) is *n = 0. -ENODEV: no such device.
 */
int pw_tcx_list(uint32_t ifindex, bool egress, uint32_t *ids, uint32_t *n);

/*
 * Attach prog_fd first at ifindex's hook, or, with replace_fd >= 0, in
 * place of the program replace_fd names (one step: no packet sees neither).
 */
int pw_tcx_attach(int prog_fd, uint32_t ifindex, bool egress, int replace_fd);

/* Detach the program prog_id from ifindex's hook. */
int pw_tcx_detach(uint32_t prog_id, uint32_t ifindex, bool egress);

#endif
