/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * netns: the network namespace this process runs in, as podwall names it.
 *
 * Its cookie (SO_NETNS_COOKIE) is never reused while the machine is up,
 * unlike the nsfs inode, so it names the namespace's pin dir: a new
 * namespace can never adopt the pins a deleted one left behind.
 */
#ifndef PODWALL_KERNEL_NETNS_H
#define PODWALL_KERNEL_NETNS_H

#include <stddef.h>
#include <stdint.h>

/* The cookie of this network namespace. 0 or a negative errno. */
int pw_netns_cookie(uint64_t *cookie);

/* PW_PIN_ROOT/netns-<cookie>: where podwall pins its maps by default. */
int pw_default_pin_dir(char *buf, size_t len);

#endif
