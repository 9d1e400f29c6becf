/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every podwall map. Names are ABI: the agent pins them under
 * PW_PIN_ROOT/<name> and finds them by these names. All carry BTF so that
 * `bpftool map dump` shows field names.
 */
#ifndef PW_BPF_MAPS_H
#define PW_BPF_MAPS_H

#include "lib/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pw_config);
} config SEC(".maps");

/* the layout version of the maps pinned beside it (abi.h); no program reads it */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pw_abi);
} abi SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_ENDPOINTS);
	__type(key, __u32); /* host-side veth ifindex */
	__type(value, struct pw_endpoint);
} endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_ENDPOINTS * 2);
	__type(key, struct pw_addr);
	__type(value, __u32); /* host-side veth ifindex */
} local_ips SEC(".maps");

/*
 * ipcache and policy: the exact keys in a hash, the prefixes in an LPM
 * (abi.h). The hashes are not preallocated: preallocated, they would pin
 * tens of MiB that most nodes leave empty; a lookup costs the same. The
 * LPMs keep the definition the single LPMs had before the split, so that
 * bpfobj can adopt old pins under the new names.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_IPCACHE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pw_ipcache_key);
	__type(value, struct pw_ipcache_val);
} ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PW_MAX_IPCACHE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pw_ipcache_key);
	__type(value, struct pw_ipcache_val);
} ipcache_lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_POLICY);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pw_policy_key);
	__type(value, struct pw_policy_val);
} policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PW_MAX_POLICY);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pw_policy_key);
	__type(value, struct pw_policy_val);
} policy_lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_ENDPOINTS);
	__type(key, __u32); /* ep_id */
	__type(value, struct pw_dns);
} dns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_MAX_CONNTRACK);
	__type(key, struct pw_ct_key);
	__type(value, struct pw_ct_val);
} conntrack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_MAX_FRAGS);
	__type(key, struct pw_frag_key);
	__type(value, __u32); /* PW_CT_DEFERRED if the first fragment was deferred */
} frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_COUNTERS_MAX);
	__type(key, __u32);
	__type(value, struct pw_counter);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PW_RINGBUF_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pw_ratelimit);
} ratelimit SEC(".maps");

#endif
