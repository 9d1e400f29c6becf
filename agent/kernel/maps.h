/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * maps: podwall's maps by name. One enum and one name table (the names are
 * ABI: bpf/lib/maps.h defines the maps under them and they are the pin
 * names), used by the sync (mapsync.h), the pins (ops/pins.h) and
 * whoever reports on maps; and the set of file descriptors a sync or a
 * reader works on, filled from the BPF object or from pins.
 *
 * ipcache and policy have LPM halves (abi.h). When a set of fds comes
 * without them (-1), pw_map_fds_find_lpm finds the halves that belong with
 * the given ipcache and policy (maphalves.c).
 */
#ifndef PODWALL_KERNEL_MAPS_H
#define PODWALL_KERNEL_MAPS_H

#include <stdbool.h>

struct podwall_bpf;

enum pw_map {
	PW_MAP_CONFIG = 0,
	PW_MAP_ENDPOINTS,
	PW_MAP_LOCAL_IPS,
	PW_MAP_IPCACHE,
	PW_MAP_IPCACHE_LPM,  /* the prefixes of ipcache (abi.h); absent in pins of an old podwall */
	PW_MAP_POLICY,
	PW_MAP_POLICY_LPM,   /* the port-range prefixes of policy */
	PW_MAP_DNS,
	PW_MAP_CONNTRACK,
	PW_MAP_FRAGS,
	PW_MAP_COUNTERS,
	PW_MAP_EVENTS,
	PW_MAP_RATELIMIT,
	PW_MAP_NAME_SET,     /* domain names (abi.h): the patterns in force */
	PW_MAP_DNS_QUERIES,  /* DNS queries awaiting their answer (datapath-written) */
	PW_MAP_FQDN_LEARNED, /* addresses learned per pod (datapath-written) */
	PW_MAP_FQDN_STATS,   /* name learning counters */
	PW_MAP_CT_STATS,     /* conntrack table counters (evictions); absent in pins before ABI 4 */
	PW_MAP_MAX,
};

extern const char *const pw_map_names[PW_MAP_MAX];

/* File descriptors of the maps, by enum pw_map; -1 where not known. Not owned. */
struct pw_map_fds {
	int fd[PW_MAP_MAX];
};

/* Every fd -1. */
void pw_map_fds_none(struct pw_map_fds *fds);

/* Every map of the skeleton's object. -ENOTSUP if built without a skeleton. */
int pw_map_fds_from_obj(struct podwall_bpf *obj, struct pw_map_fds *fds);

/*
 * Find the LPM halves that go with fds->fd[PW_MAP_IPCACHE] and [PW_MAP_POLICY]:
 * the maps named ipcache_lpm and policy_lpm of a BPF program that uses the
 * policy map (the attached datapath), else of the same BTF object (loaded
 * together). Fills the halves that are -1 in fds and returns how many it
 * opened (the caller closes them with pw_map_fds_close_lpm), or a negative
 * errno (-ENOENT: not found). If the policy map is itself an LPM (maps of a
 * podwall from before the split), there are none: 0, and they stay -1.
 */
int  pw_map_fds_find_lpm(struct pw_map_fds *fds, bool opened[2]);
void pw_map_fds_close_lpm(struct pw_map_fds *fds, const bool opened[2]);

/*
 * A datapath from before the split still attached: a program that uses the
 * LPM policy_lpm (its "policy") but not the hash policy.
 */
bool pw_unsplit_prog_attached(int policy_fd, int policy_lpm_fd);

#endif
