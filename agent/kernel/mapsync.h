/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mapsync: make the BPF maps hold a desired state (state.h), atomically.
 *
 * The policy set lives in two slots (abi.h): ipcache and policy keys carry a
 * slot byte, endpoints and dns entries carry flags per slot, and config says
 * which slot is live. A sync writes the new set into the inactive slot by
 * diffing it against what that slot holds (only the difference is written),
 * then flips config.active_slot and bumps config.generation in one map update:
 * every packet sees either the old set or the new one, never a mix. Entries
 * that are not per slot (endpoints, local_ips, dns) are added before the flip
 * and deleted after it.
 *
 * ipcache and policy are two maps each (abi.h: the exact keys in a hash, the
 * prefixes in an LPM): the sync puts every entry in its half and derives the
 * policy summaries and the endpoints' PW_EP_NO_ANY_* bits; its statistics
 * count entries wherever they live.
 *
 * If the live slot already equals the desired state, nothing is written.
 *
 * The diff needs what both slots hold. Read back from the kernel, that is
 * every pod address and policy entry of the cluster twice (most of a sync's
 * time at 10,000 pods); a caller that syncs again and again (the agent)
 * keeps a pw_sync_cache instead: what its last sync left in the per-slot
 * maps, used when config and the maps show that nobody else wrote since.
 */
#ifndef PODWALL_KERNEL_MAPSYNC_H
#define PODWALL_KERNEL_MAPSYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "podwall/abi.h"
#include "state.h"
#include "kernel/maps.h"

struct podwall_bpf;
struct pw_error;

struct pw_sync_count {
	size_t added;
	size_t changed;
	size_t removed;
};

/*
 * What a sync did. The counts are logical: the desired state compared with
 * the state that was in force before (live slot), per map (an ipcache or
 * policy entry counts under PW_MAP_IPCACHE or PW_MAP_POLICY wherever it
 * lives; config's is the switch); all zero when nothing had to change.
 * writes/deletes are the map operations performed.
 */
struct pw_sync_stats {
	struct pw_sync_count map[PW_MAP_MAX];
	size_t   added, changed, removed;    /* sums over map[] */
	size_t   writes, deletes;            /* map update/delete calls */
	uint32_t generation;                 /* in force after the call */
	uint32_t slot;                       /* live slot after the call */
	bool     switched;                   /* config was written */
	bool     cached;                     /* ipcache/policy not read back: the cache had them */
	bool     ipcache_patched;            /* the desired ipcache had the live one's keys
						(the cache said so): only its changed
						values were written, no table built */
	char     error[512];                 /* on failure: what failed, with what */
	char     warning[512];               /* what it noticed and went on with ("; ") */
};

/*
 * What a sync left in the per-slot maps (ipcache, policy and their LPM
 * halves, both slots), kept by a caller that syncs the same maps again and
 * again, so that the next sync need not read them back. It is used only
 * when it fits: the same maps (ids) and config as the sync that filled it
 * left them (generation, live slot, flags: any other writer's flip or mode
 * change bumps the generation), and not older than a bound (30 s by
 * default). What changes no generation goes unseen until then: a bpftool
 * edit, or another writer that failed or died half way through writing
 * the idle slot (agent and apply take turns on a lock, so that is a crash
 * or a failed map write); the full read-back repairs it. A sync that
 * fails, or finds the cache does not fit, drops it and reads the maps.
 * Owned by the caller; one per set of maps, not shared between threads.
 */
struct pw_sync_cache;

struct pw_sync_cache *pw_sync_cache_new(void);
void pw_sync_cache_free(struct pw_sync_cache *c);
/* Forget what it holds: the next sync reads the maps back (NULL: nothing). */
void pw_sync_cache_invalidate(struct pw_sync_cache *c);
/* A full read-back at least every ms milliseconds (0: always). */
void pw_sync_cache_set_max_age(struct pw_sync_cache *c, uint64_t ms);

struct pw_sync_opts {
	/* config.flags = (flags & ~cfg_mask) | (cfg_flags & cfg_mask) */
	uint32_t cfg_flags;
	uint32_t cfg_mask;
	/* NULL: read every map back (one-shot callers, e.g. apply) */
	struct pw_sync_cache *cache;
	/* when the live slot already holds desired, write it into the idle slot
	 * too (no flip, no new generation), so that the next change writes only
	 * its difference there: a caller that synced into empty maps and will
	 * sync again (the agent after its first pass) */
	bool fill_idle;
};

/*
 * Reconcile the maps of fds with desired. The one entry point of a sync;
 * fds needs config, endpoints, local_ips, ipcache, policy and dns, and the
 * LPM halves of ipcache and policy (found when -1: pw_map_fds_find_lpm).
 * Returns 0 (st filled), or a negative errno with st->error set: -ENOSPC
 * when the change does not fit a map (nothing written at all), -EINVAL for
 * an ABI mismatch or a malformed desired entry, or the errno of a failed
 * map operation. st may be NULL; opts may be NULL (no cache, config flags
 * kept).
 */
int pw_sync_maps(const struct pw_map_fds *fds, const struct pw_state *desired,
		 const struct pw_sync_opts *opts, struct pw_sync_stats *st);
/* pw_sync_maps over the maps of a BPF object (pw_map_fds_from_obj). */
int pw_sync(struct podwall_bpf *obj, const struct pw_state *desired,
	    const struct pw_sync_opts *opts, struct pw_sync_stats *st);

/*
 * Read back what is live: config, and the live slot as a pw_state (slot 0 in
 * keys, endpoint flags/dns_flags of the live slot, ns/name empty, ids/rules
 * empty). For status and explain. out is zeroed by the caller, freed with
 * pw_state_free. 0, or a negative errno with why set.
 */
int pw_sync_read_live(const struct pw_map_fds *fds, struct pw_config *cfg, struct pw_state *out,
		      struct pw_error *why);

/* One line: "12 added, 1 changed, 3 removed" (totals). */
void pw_sync_stats_summary(const struct pw_sync_stats *st, char *buf, size_t len);

#endif
