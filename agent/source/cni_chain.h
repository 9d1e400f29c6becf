/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Keep podwall-cni chained in the node's CNI configuration while the agent
 * runs (`podwall agent --cni-conf-dir DIR`): a primary CNI may rewrite its
 * conflist at any time (Calico, Cilium and Flannel do on restart or
 * upgrade), dropping our entry, and pods created then would run unenforced.
 * A thread watches DIR with inotify and chains again (cni/conflist.c) after
 * every change, and checks every PW_CHAIN_CHECK_S seconds besides (a
 * missed event, a directory that appears later).
 */
#ifndef PODWALL_SOURCE_CNI_CHAIN_H
#define PODWALL_SOURCE_CNI_CHAIN_H

#define PW_CHAIN_CHECK_S 5

/* Start keeping the chain (entry {"type": "podwall-cni", "socket": sock}). 0 or -errno. */
int  pw_chain_keeper_start(const char *conf_dir, const char *sock);
void pw_chain_keeper_stop(void);

#endif
