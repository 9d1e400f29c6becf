/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * testrun: run one podwall program on one packet with BPF_PROG_TEST_RUN,
 * as if it ran on a device: the __sk_buff context carries the ifindex of
 * the device the program is attached to (it must exist in the caller's
 * network namespace, see netlink.h) and the mark the packet arrives with.
 */
#ifndef PODWALL_KERNEL_TESTRUN_H
#define PODWALL_KERNEL_TESTRUN_H

#include <stdint.h>

struct pw_run_out {
	int      verdict;     /* TC_ACT_OK (0), TC_ACT_SHOT (2), ... */
	uint32_t mark;        /* skb->mark after the program */
	uint32_t duration_ns; /* per run, averaged over repeat */
};

/*
 * Run prog_fd on the frame data[0..len) (Ethernet header first) once.
 * Returns 0 (out filled) or a negative errno (-ENODEV: no device ifindex
 * here).
 */
int pw_test_run(int prog_fd, const void *data, uint32_t len, uint32_t ifindex, uint32_t mark,
		struct pw_run_out *out);

/* The same, repeat times in the kernel (benchmarks): duration_ns is the mean. */
int pw_test_run_repeat(int prog_fd, const void *data, uint32_t len, uint32_t ifindex,
		       uint32_t mark, int repeat, struct pw_run_out *out);

#endif
