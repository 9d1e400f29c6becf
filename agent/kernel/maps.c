// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * maps: the names of podwall's maps and their fds from the BPF object
 * (maps.h). The discovery of LPM halves is in maphalves.c.
 */
#include <errno.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "kernel/maps.h"

#if defined(__has_include)
#if __has_include("podwall.skel.h")
#include "podwall.skel.h"
#define PW_HAVE_SKEL 1
#endif
#endif

const char *const pw_map_names[PW_MAP_MAX] = {
	[PW_MAP_CONFIG]      = "config",
	[PW_MAP_ENDPOINTS]   = "endpoints",
	[PW_MAP_LOCAL_IPS]   = "local_ips",
	[PW_MAP_IPCACHE]     = "ipcache",
	[PW_MAP_IPCACHE_LPM] = "ipcache_lpm",
	[PW_MAP_POLICY]      = "policy",
	[PW_MAP_POLICY_LPM]  = "policy_lpm",
	[PW_MAP_DNS]         = "dns",
	[PW_MAP_CONNTRACK]   = "conntrack",
	[PW_MAP_FRAGS]       = "frags",
	[PW_MAP_COUNTERS]    = "counters",
	[PW_MAP_EVENTS]      = "events",
	[PW_MAP_RATELIMIT]   = "ratelimit",
	[PW_MAP_NAME_SET]    = "name_set",
	[PW_MAP_DNS_QUERIES] = "dns_queries",
	[PW_MAP_FQDN_LEARNED] = "fqdn_learned",
	[PW_MAP_FQDN_STATS]  = "fqdn_stats",
	[PW_MAP_CT_STATS]    = "ct_stats",
};

void pw_map_fds_none(struct pw_map_fds *fds)
{
	for (int m = 0; m < PW_MAP_MAX; m++)
		fds->fd[m] = -1;
}

int pw_map_fds_from_obj(struct podwall_bpf *obj, struct pw_map_fds *fds)
{
	pw_map_fds_none(fds);
#ifdef PW_HAVE_SKEL
	{
		struct bpf_map *const maps[PW_MAP_MAX] = {
			[PW_MAP_CONFIG]      = obj->maps.config,
			[PW_MAP_ENDPOINTS]   = obj->maps.endpoints,
			[PW_MAP_LOCAL_IPS]   = obj->maps.local_ips,
			[PW_MAP_IPCACHE]     = obj->maps.ipcache,
			[PW_MAP_IPCACHE_LPM] = obj->maps.ipcache_lpm,
			[PW_MAP_POLICY]      = obj->maps.policy,
			[PW_MAP_POLICY_LPM]  = obj->maps.policy_lpm,
			[PW_MAP_DNS]         = obj->maps.dns,
			[PW_MAP_CONNTRACK]   = obj->maps.conntrack,
			[PW_MAP_FRAGS]       = obj->maps.frags,
			[PW_MAP_COUNTERS]    = obj->maps.counters,
			[PW_MAP_EVENTS]      = obj->maps.events,
			[PW_MAP_RATELIMIT]   = obj->maps.ratelimit,
			[PW_MAP_NAME_SET]    = obj->maps.name_set,
			[PW_MAP_DNS_QUERIES] = obj->maps.dns_queries,
			[PW_MAP_FQDN_LEARNED] = obj->maps.fqdn_learned,
			[PW_MAP_FQDN_STATS]  = obj->maps.fqdn_stats,
			[PW_MAP_CT_STATS]    = obj->maps.ct_stats,
		};

		for (int m = 0; m < PW_MAP_MAX; m++)
			fds->fd[m] = bpf_map__fd(maps[m]);
		return 0;
	}
#else
	(void)obj;
	return -ENOTSUP;
#endif
}
