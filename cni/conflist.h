/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* podwall-cni in the node's CNI network configuration (conflist.c). */
#ifndef PODWALL_CNI_CONFLIST_H
#define PODWALL_CNI_CONFLIST_H

#include <stdbool.h>
#include <stdio.h>

#define PW_CNI_PLUGIN_TYPE "podwall-cni"

/*
 * Chain podwall-cni (with socket sock) last into the primary configuration
 * of dir, or take it out (remove). What changed is said on info, errors on
 * stderr. Returns 1 changed, 0 nothing to do, -1 error, -2 no configuration
 * in dir (yet).
 */
int pw_conflist_chain(const char *dir, const char *sock, bool remove, FILE *info);

#endif
