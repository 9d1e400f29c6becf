/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mapslots: the two-slot diff, undo and flip behind pw_sync_maps (kernel/
 * only; mapsync.c is the entry point). fds must hold the LPM halves of
 * ipcache and policy, or -1 for both when the maps are of the layout
 * before the split (then a sync refuses, a read-back reads the hashes).
 */
#ifndef PODWALL_KERNEL_MAPSLOTS_H
#define PODWALL_KERNEL_MAPSLOTS_H

#include "model.h" /* struct pw_error */
#include "kernel/maps.h"
#include "kernel/mapsync.h"

int pw_slots_sync(const struct pw_map_fds *fds, const struct pw_state *desired,
		  const struct pw_sync_opts *opts, struct pw_sync_stats *st);
int pw_slots_read_live(const struct pw_map_fds *fds, struct pw_config *cfg,
		       struct pw_state *out, struct pw_error *why);

#endif
