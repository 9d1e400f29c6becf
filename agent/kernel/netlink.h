/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Just enough rtnetlink to give BPF_PROG_TEST_RUN devices to point at: the
 * kernel resolves __sk_buff.ifindex with dev_get_by_index in the caller's
 * network namespace, so every "pod" of a test or of `podwall matrix` needs
 * a real device there. Run inside a private namespace (pw_private_netns)
 * and the devices vanish with the process.
 */
#ifndef PODWALL_KERNEL_NETLINK_H
#define PODWALL_KERNEL_NETLINK_H

#include <stdint.h>

/* unshare(CLONE_NEWNET): this process now has its own, empty network namespace. */
int pw_private_netns(void);

/*
 * Create a single stand-alone device called name and return its ifindex: a
 * "dummy" device, or, on kernels built without it, an "ifb" device (same
 * use here: it exists, it has an index). 0 or a negative errno.
 */
int pw_nl_dummy_add(const char *name, uint32_t *ifindex);

/* Delete the link called name. 0 or a negative errno (-ENODEV if absent). */
int pw_nl_link_del(const char *name);

/* Set the link called name up. 0 or a negative errno. */
int pw_nl_link_up(const char *name);

#endif
