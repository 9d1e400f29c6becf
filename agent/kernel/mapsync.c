// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mapsync: the entry points of a sync and of its read-back (mapsync.h).
 * The work is elsewhere: maptab.c (sorted byte tables, batched reads),
 * maphalves.c (finding the LPM halves of ipcache and policy), mapslots.c
 * (the two-slot diff, undo and flip).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "model.h"
#include "kernel/mapslots.h"
#include "kernel/mapsync.h"

int pw_sync_maps(const struct pw_map_fds *fds, const struct pw_state *desired,
		 const struct pw_sync_opts *opts, struct pw_sync_stats *st)
{
	struct pw_map_fds all = *fds;
	bool opened[2];
	int err = pw_map_fds_find_lpm(&all, opened);

	if (err < 0) {
		if (st) {
			memset(st, 0, sizeof(*st));
			snprintf(st->error, sizeof(st->error), "maps ipcache_lpm/policy_lpm beside "
				 "the given ipcache/policy: not found (%s)", strerror(-err));
		}
		return err;
	}
	err = pw_slots_sync(&all, desired, opts, st);
	pw_map_fds_close_lpm(&all, opened);
	return err;
}

int pw_sync(struct podwall_bpf *obj, const struct pw_state *desired,
	    const struct pw_sync_opts *opts, struct pw_sync_stats *st)
{
	struct pw_map_fds fds;
	int err = pw_map_fds_from_obj(obj, &fds);

	if (err) {
		if (st) {
			memset(st, 0, sizeof(*st));
			snprintf(st->error, sizeof(st->error),
				 "podwall was built without the BPF skeleton");
		}
		return err;
	}
	return pw_sync_maps(&fds, desired, opts, st);
}

int pw_sync_read_live(const struct pw_map_fds *fds, struct pw_config *cfg, struct pw_state *out,
		      struct pw_error *why)
{
	struct pw_map_fds all = *fds;
	bool opened[2];
	int err = pw_map_fds_find_lpm(&all, opened);

	memset(why, 0, sizeof(*why));
	if (err < 0) {
		snprintf(why->msg, sizeof(why->msg), "maps ipcache_lpm/policy_lpm beside the "
			 "given ipcache/policy: not found (%s)", strerror(-err));
		return err;
	}
	err = pw_slots_read_live(&all, cfg, out, why);
	pw_map_fds_close_lpm(&all, opened);
	return err;
}

void pw_sync_stats_summary(const struct pw_sync_stats *st, char *buf, size_t len)
{
	snprintf(buf, len, "%zu added, %zu changed, %zu removed", st->added, st->changed,
		 st->removed);
}
