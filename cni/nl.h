/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Just enough rtnetlink for podwall-cni: a link by name or index (its index,
 * name, kind and the index of its veth peer), in this network namespace or,
 * through setns, in the container's.
 */
#ifndef PODWALL_CNI_NL_H
#define PODWALL_CNI_NL_H

#include <stdint.h>
#include <net/if.h>

struct cni_link {
	uint32_t ifindex;
	uint32_t peer_ifindex;   /* IFLA_LINK (a veth's peer), 0 if none */
	int      peer_netnsid;   /* IFLA_LINK_NETNSID, -1 if absent */
	char     name[IF_NAMESIZE];
	char     kind[32];       /* IFLA_INFO_KIND, "" if none */
};

/* By name (ifindex 0) or by index (name NULL). 0 or a negative errno (-ENODEV). */
int cni_link_get(const char *name, uint32_t ifindex, struct cni_link *out);

/* The same, inside the network namespace at netns_path; we come back here after. */
int cni_link_get_in(const char *netns_path, const char *name, struct cni_link *out);

/* The cookie of this network namespace (SO_NETNS_COOKIE), 0 if unknown. */
uint64_t cni_netns_cookie(void);

#endif
