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

/* conntrack: sets of ways (abi.h, cttable.h); max_entries is the number of sets */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_CT_SETS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct pw_ct_set);
} conntrack SEC(".maps");

/* conntrack's sets - 1 (a power of two less one), set by the agent before the load */
const volatile __u32 pw_ct_set_mask = PW_CT_SETS - 1;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_CT_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} ct_stats SEC(".maps");

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

/* Domain names (abi.h): the patterns in force, queries awaited, addresses learned. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_NAMES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pw_name_key);
	__type(value, struct pw_name_val);
} name_set SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_MAX_DNS_QUERIES);
	__type(key, struct pw_dns_query_key);
	__type(value, struct pw_dns_query_val);
} dns_queries SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_MAX_FQDN_SETS);
	__type(key, struct pw_fqdn_key);
	__type(value, struct pw_fqdn_set);
} fqdn_learned SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_FQDN_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} fqdn_stats SEC(".maps");

/*
 * The DNS parser's working memory (dnsparse.h), one per CPU: a copy of the
 * message and what is read from it. Not pinned state: every parse starts
 * by overwriting what it uses. tc ingress and egress both run with bottom
 * halves off, so one CPU parses one message at a time.
 */
#define PW_DNS_BUF 4096 /* a power of two: offsets are masked into it */

struct pw_dns_addr {
	__u8  addr[16];
	__u32 ttl;
	__u32 pad;
};

/* What a name read gives besides its end (dnsparse.h). */
struct pw_name_out {
	__u64 hash;
	__u32 nlabels;
	__u32 pad;
};

/* A message's header and question, as read (fqdn.h). */
struct pw_dns_read {
	struct pw_name_out q; /* the question's hash and labels */
	__u32 qend;           /* offset after the question's name */
	__u16 id;             /* network order */
	__u16 flags;
	__u16 ancount;
	__u16 pad[3];
};

/* Whose answer is being learned from, for its events (fqdn.h). */
struct pw_dns_event {
	__u8   server[16]; /* the answer's source: the DNS server the pod asked */
	__u32  ep_id;
	__u32  identity;   /* the pod's */
	__u32  limit;      /* config.events_per_sec */
	__u32  n_names;    /* patterns the question matched (name_ids) */
	__be16 sport;      /* the answer's ports: 53 and the pod's */
	__be16 dport;
	__u8   proto;
	__u8   pad[3];
};

struct pw_dns_scratch {
	__u8  msg[PW_DNS_BUF];
	__u32 len;                            /* bytes of the message in msg */
	__u32 msg_len;                        /* bytes of the whole message */
	__u64 label_hash[PW_DNS_LABELS_MAX];  /* the name last read: each label's hash */
	__u64 suffix_hash[PW_DNS_LABELS_MAX]; /* [j]: the name from label j on */
	__u16 label_off[PW_DNS_LABELS_MAX];   /* where label j's length byte is */
	__u64 chain[PW_DNS_CHAIN_MAX];        /* the question and the CNAMEs it led to */
	struct pw_dns_addr addrs[PW_DNS_RR_MAX];
	__u32 name_ids[PW_FQDN_NAMES];        /* the patterns the question matched */
	struct pw_fqdn_set fresh;             /* a new set: owner written, ways kept zero */
	struct pw_dns_read rd;                /* the message being read */
	struct pw_dns_event ev;               /* who it is from and to */
	__u32 opaque;                         /* see pw_opaque() */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pw_dns_scratch);
} dns_scratch SEC(".maps");

#endif
