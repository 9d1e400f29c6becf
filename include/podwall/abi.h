/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * podwall kernel/userspace ABI: every map key and value, reserved identity,
 * verdict, drop reason and event the BPF programs and the agent share.
 *
 * Rules for this file:
 *  - fixed-width types only, explicit padding, no implicit holes (maps are
 *    compared byte-for-byte by the agent's diff, so every pad byte is zeroed);
 *  - addresses are always 16 bytes: IPv4 is stored as an IPv4-mapped IPv6
 *    address (::ffff:a.b.c.d), so one code path serves both families;
 *  - numbers inside keys are host order, except ports which are network
 *    order (__be16) because the LPM trie matches their bits MSB first.
 *
 * Included by bpf/ (with vmlinux.h or linux/types.h already in scope) and by
 * agent/ (with <linux/types.h>).
 */
#ifndef PODWALL_ABI_H
#define PODWALL_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PW_PIN_ROOT "/sys/fs/bpf/podwall"

/*
 * The version of the map layouts and meanings below. Bumped whenever a key,
 * a value or the meaning of a flag changes, so that an agent never adopts
 * pins written under another layout: it builds new maps and switches every
 * hook to them, one atomic filter replacement each (bpfobj.c). Pins from
 * before the version was kept (no `abi` pin) are version 1.
 *   1: NetworkPolicy only (allow entries).
 *   2: ClusterNetworkPolicy tiers: policy values carry PW_POL_DENY and
 *      PW_POL_DEFAULT, endpoints PW_EP_TIERED_*, reason PW_REASON_TIER_DENIED.
 *   3: domain names joined with the tiers: policy values carry the deciding
 *      rule's rank and the rank of an Admin Pass before it, name identities
 *      (PW_ID_NAME_MIN), name_set keys with the slot where the writers
 *      expect it, conntrack entries that remember the name that opened them.
 *   4: conntrack is an ARRAY of sets of ways (struct pw_ct_set), no longer
 *      an LRU_HASH; ct_stats counts its evictions. The agent carries an
 *      older LRU_HASH's entries into the table (bpfobj.c).
 */
#define PW_ABI_VERSION 4

/* ---------------------------------------------------------------- sizes */
#define PW_MAX_ENDPOINTS   4096
#define PW_MAX_IPCACHE     (256 * 1024)
#define PW_MAX_POLICY      (512 * 1024)
#define PW_MAX_CONNTRACK   (256 * 1024)
#define PW_MAX_FRAGS       8192
#define PW_RINGBUF_BYTES   (1 << 20)
#define PW_DNS_NAME_MAX    64 /* bytes of the queried name kept in events */

/* -------------------------------------------------- reserved identities */
/*
 * Identities are 32-bit. Pod identities and CIDR-group identities are
 * derived by the compiler from a stable hash, so that the same object set
 * gives the same numbers on every run and a diff stays small.
 */
#define PW_ID_ANY        0u          /* wildcard peer in policy keys only */
#define PW_ID_HOST       1u          /* the node itself */
#define PW_ID_WORLD      2u          /* no ipcache entry: outside the cluster */
#define PW_ID_POD_MIN    0x00000100u /* pod identities: [POD_MIN, CIDR_MIN) */
#define PW_ID_CIDR_MIN   0x01000000u /* CIDR-group identities: [CIDR_MIN, NAME_MIN) */
/*
 * domainNames patterns: [NAME_MIN, NAME_MAX], from a stable hash of the
 * pattern. Never an ipcache identity: only policy keys (egress), name_set
 * values, fqdn_learned names and the conntrack entries they opened.
 */
#define PW_ID_NAME_MIN   0xf0000000u
#define PW_ID_NAME_MAX   0xfffffffeu

static inline int pw_id_is_name(__u32 id)
{
	return id >= PW_ID_NAME_MIN && id <= PW_ID_NAME_MAX;
}

/* ------------------------------------------------------------ verdicts */
enum pw_verdict {
	PW_VERDICT_ALLOW = 1,
	PW_VERDICT_DROP  = 2,
	PW_VERDICT_AUDIT = 3, /* would have dropped; passed because of audit mode */
	PW_VERDICT_MAX,
};

enum pw_dir {
	PW_DIR_INGRESS = 0, /* into the pod: judged by to_pod */
	PW_DIR_EGRESS  = 1, /* out of the pod: judged by from_pod (or post-NAT) */
	PW_DIR_MAX,
};

/* Why a packet got its verdict. Counters and events carry one of these. */
enum pw_reason {
	PW_REASON_NONE = 0,          /* allowed by a policy rule */
	PW_REASON_NOT_ISOLATED,      /* allowed: no policy selects the pod */
	PW_REASON_CT_ESTABLISHED,    /* allowed: conntrack, same direction */
	PW_REASON_CT_REPLY,          /* allowed: conntrack, reply direction */
	PW_REASON_CT_RELATED,        /* allowed: ICMP error of a tracked flow */
	PW_REASON_NOT_IP,            /* allowed: ARP and other non-IP */
	PW_REASON_DNS_ALLOWED,       /* allowed: DNS to cluster DNS */
	PW_REASON_DEFERRED,          /* passed on to the post-NAT hook */
	PW_REASON_FRAGMENT,          /* allowed: non-first fragment of allowed first */
	PW_REASON_NO_ENDPOINT,       /* allowed: device has no endpoint entry */
	PW_REASON_FROM_HOST,         /* allowed: from the node itself (kubelet probes) */
	PW_REASON_ND,                /* allowed: IPv6 neighbour discovery */
	/* drops from here on */
	PW_REASON_DROP_FIRST,
	PW_REASON_POLICY_DENIED = PW_REASON_DROP_FIRST, /* isolated, no rule matched */
	PW_REASON_SPOOFED,           /* source address is not the pod's */
	PW_REASON_REVOKED,           /* established flow no longer allowed */
	PW_REASON_DNS_DENIED,        /* DNS to cluster DNS, not allowed */
	PW_REASON_FRAG_UNKNOWN,      /* non-first fragment, first one not allowed/seen */
	PW_REASON_MALFORMED,         /* truncated or unparsable headers */
	PW_REASON_TIER_DENIED,       /* a ClusterNetworkPolicy Deny rule matched */
	PW_REASON_MAX,
};

/* ---------------------------------------------------------------- config */
/*
 * config: ARRAY, one entry (key 0). The agent writes it last in every
 * change: flipping active_slot makes the new policy set visible to every
 * packet at once (DESIGN §4, atomic change), and bumping generation makes
 * established conntrack entries re-check their verdict on their next packet.
 */
#define PW_SLOTS 2

#define PW_CFG_AUDIT_ALL      (1u << 0) /* agent --mode audit */
#define PW_CFG_EVENTS_ALLOW   (1u << 1) /* also emit events for allowed new flows */
/*
 * from_pod sends a packet of an established same-node flow straight into
 * the destination pod (bpf_redirect_peer) when both conntrack entries of
 * the flow say to_pod would pass it (bpf/lib/direct.h). The agent sets it
 * with --redirect; probes and old agents leave it clear.
 */
#define PW_CFG_REDIRECT_PEER  (1u << 2)

struct pw_config {
	__u32 active_slot;   /* 0 or 1: which slot of policy/ipcache/flags is live */
	__u32 generation;    /* policy generation, bumped on every change */
	__u32 flags;         /* PW_CFG_* */
	__u32 events_per_sec;/* drop-event rate limit per CPU (0 = default 1000) */
};

/* abi: ARRAY[1] -> the PW_ABI_VERSION of the pinned maps beside it. */
struct pw_abi {
	__u32 version;
	__u32 pad;
};

/* ------------------------------------------------------------- endpoints */
/*
 * endpoints: HASH, host-side veth ifindex -> endpoint. One entry per local
 * pod. Default-deny is data: flags[slot] says whether the pod is isolated
 * for each direction under that slot's policy set.
 */
#define PW_EP_ISOLATED_INGRESS (1u << 0)
#define PW_EP_ISOLATED_EGRESS  (1u << 1)
#define PW_EP_AUDIT            (1u << 2) /* namespace annotated podwall.io/mode: audit */
#define PW_EP_HAS_V4           (1u << 3) /* ip4 is valid */
#define PW_EP_HAS_V6           (1u << 4) /* ip6 is valid */
/*
 * No policy entry of this endpoint names PW_ID_ANY in that direction under
 * the slot's policy set: the datapath skips the any-peer lookups. Derived
 * by mapsync from the policy entries it writes; a writer that does not know
 * leaves them clear (then the datapath looks). Not part of a compiled state.
 */
#define PW_EP_NO_ANY_INGRESS   (1u << 5)
#define PW_EP_NO_ANY_EGRESS    (1u << 6)
#define PW_EP_NO_ANY_MASK      (PW_EP_NO_ANY_INGRESS | PW_EP_NO_ANY_EGRESS)
/*
 * ClusterNetworkPolicy rules select this endpoint in that direction: the
 * datapath looks its policy up even when it is not isolated, the entries
 * carry the tier-resolved verdict (PW_POL_DENY), and a miss means the
 * default of the tiers below: drop when isolated (NetworkPolicy selects
 * it), else allow.
 */
#define PW_EP_TIERED_INGRESS   (1u << 7)
#define PW_EP_TIERED_EGRESS    (1u << 8)
/*
 * The pod's egress policy under the slot has domainNames peers: from_pod
 * remembers its DNS queries and to_pod learns from the answers (see
 * "domain names" below). Pods without it cost no DNS parsing.
 */
#define PW_EP_LEARN_NAMES      (1u << 9)

struct pw_endpoint {
	__u32 ep_id;          /* the policy-key namespace of this pod (= ifindex) */
	__u32 identity;       /* the pod's own identity (for events) */
	__u32 flags[PW_SLOTS];/* PW_EP_* per slot */
	__u8  ip4[16];        /* IPv4-mapped; valid if PW_EP_HAS_V4 */
	__u8  ip6[16];        /* valid if PW_EP_HAS_V6 */
};

/*
 * local_ips: HASH, address -> host veth ifindex. Lets the post-NAT hook find
 * the sending endpoint of a deferred packet from its source address.
 */
struct pw_addr {
	__u8 a[16];
};

/* --------------------------------------------------------------- ipcache */
/*
 * The ipcache is two maps with the same key and value, split by prefixlen
 * (the writers decide: mapsync, bpfobj's typed writers):
 *   ipcache      HASH of whole addresses, prefixlen PW_IPC_EXACT_PREFIX:
 *                every pod /32 and /128. One hash lookup, whatever the
 *                number of pods.
 *   ipcache_lpm  LPM_TRIE of the shorter prefixes: the CIDR groups of the
 *                ipBlocks in force (few, so the trie stays shallow).
 * The datapath looks up ipcache, then ipcache_lpm: the answer of one LPM
 * over both, as a whole address is the longest prefix there can be.
 * prefixlen counts the 32 bits of slot/pad plus the address bits (IPv4 as
 * ::ffff:0:0/96 + v4 prefix, so a v4 /24 has prefixlen 32 + 96 + 24).
 */
#define PW_IPC_PREFIX_BASE 32
#define PW_IPC_V4_BASE     (PW_IPC_PREFIX_BASE + 96)
#define PW_IPC_EXACT_PREFIX (PW_IPC_PREFIX_BASE + 128)

struct pw_ipcache_key {
	__u32 prefixlen;
	__u8  slot;
	__u8  pad[3];
	__u8  addr[16];
};

#define PW_IPC_DNS     (1u << 0) /* the address is a cluster DNS server pod */
#define PW_IPC_SERVICE (1u << 1) /* a Service ClusterIP: egress verdict deferred past NAT */
#define PW_IPC_POD     (1u << 2) /* a pod address (/32 or /128) */
/*
 * A Service ClusterIP whose backends are cluster DNS pods (kube-dns): a
 * pod's query to it is remembered for name learning like one to a
 * PW_IPC_DNS pod. The answer reaches to_pod from this address, after the
 * node's reverse NAT. Verdicts ignore the bit (PW_IPC_SERVICE decides).
 */
#define PW_IPC_DNS_SERVICE (1u << 3)

struct pw_ipcache_val {
	__u32 identity;
	__u32 flags; /* PW_IPC_* */
};

/* ---------------------------------------------------------------- policy */
/*
 * The policy entries. A key's bits, in LPM match order:
 *   slot(8) dir(8) pad(16) | ep_id(32) | peer(32) | proto(8) pad(8) | port(16)
 * A rule for every protocol and port ends after peer (prefixlen
 * PW_POL_PREFIX_ANY_PROTO); one for every port of a protocol ends after the
 * pad byte (PW_POL_PREFIX_ANY_PORT); one port is PW_POL_PREFIX_FULL; a port
 * range is one or more prefixes of the port bits. Peer PW_ID_ANY is the
 * explicit "any peer" key. The verdict is the longest entry that matches
 * (peer, proto, port), else the longest that matches (PW_ID_ANY, proto,
 * port); an entry allows unless its value has PW_POL_DENY.
 *
 * Tiers (ClusterNetworkPolicy Admin, NetworkPolicy, Baseline) are resolved
 * by the compiler, never by a loop here: for an endpoint with
 * PW_EP_TIERED_* in a direction it writes, for every (peer, port shape)
 * that some rule names, the verdict of the first deciding rule in tier
 * order over every rule that covers that cell, so that the longest
 * matching entry carries the final verdict (allow or PW_POL_DENY) and
 * rule. A packet costs the same few lookups whatever the number of
 * policies, priorities and rules. PW_POL_DEFAULT marks a cell no rule
 * decided (the tiers' default, or a Pass): rule_id is then the Pass rule or
 * PW_RULE_NONE.
 *
 * Domain names (egress, Accept rules only) and the join. Each distinct
 * pattern of the domainNames peers in force is a peer identity in
 * [PW_ID_NAME_MIN, PW_ID_NAME_MAX] (the name_id of its name_set entry);
 * the rules that list it compile to entries (ep, egress, name_id, proto,
 * port) resolved among themselves like any peer's, so that the longest
 * matching entry is the first such rule in tier order that covers the port.
 * What the datapath learns from DNS answers is per pod (fqdn_learned), not
 * ipcache entries: for a new egress flow of a PW_EP_LEARN_NAMES endpoint,
 * pw_fqdn_names() (bpf/lib/fqdn.h) gives the names this pod resolved to
 * the destination, and the verdict is the rule that comes first in the
 * global order among the address's verdict and those names' entries:
 *
 *   rank       every tier-resolved value carries its deciding rule's place
 *              in the order: the Admin tier (by priority, then rule order)
 *              below PW_RANK_NP, NetworkPolicy (a union, one band) at
 *              PW_RANK_NP (its allow and its isolation's default drop),
 *              the Baseline tier above, "no rule decided" PW_RANK_NONE. A
 *              Baseline Pass decides (the default, allow) at its own rank.
 *   pass_rank  an address cell an Admin Pass reached: that Pass's rank
 *              (PW_RANK_NONE if none). The Pass ends the Admin tier for
 *              the flow: an Admin name rule ranked after it is skipped.
 *
 * A name entry (rank n) beats the address's verdict (rank a, pass p) iff
 * n < a and, if n is an Admin rank, n < p. A miss of the address is rank
 * PW_RANK_NP when the endpoint is isolated (NetworkPolicy's default drop)
 * and PW_RANK_NONE otherwise. Baseline name rules are not compiled for an
 * endpoint that NetworkPolicy isolates (NetworkPolicy decides then). Only
 * Accept rules carry names, so a name can only open; an address Deny
 * ranked before it still drops.
 *
 * Two maps with the same key and value, split by prefixlen (PW_POL_IN_HASH):
 *   policy      HASH: the exact lengths FULL, ANY_PORT and ANY_PROTO (one
 *               hash lookup each, whatever the number of rules), and the
 *               summaries below;
 *   policy_lpm  LPM_TRIE: the port-range prefixes (prefixlen strictly
 *               between ANY_PORT and FULL), usually few.
 *
 * Summary entries (in policy): key prefixlen PW_POL_PREFIX_SUMMARY, proto
 * and port 0, one per (slot, dir, ep_id, peer_id); val.flags = the
 * PW_POLSUM_* shapes that (ep, dir, peer) has entries of (PW_POLSUM_FULL
 * only for PW_ID_ANY: a specific peer's port is always looked up), rule_id 0. The
 * datapath looks up only the shapes that exist, longest first, which gives
 * the longest matching entry over both maps:
 *   a peer:    FULL (always) -> summary -> LPM -> ANY_PORT -> ANY_PROTO
 *   PW_ID_ANY: summary -> FULL -> LPM -> ANY_PORT -> ANY_PROTO
 * A specific peer whose entries are all FULL needs no summary (a FULL miss
 * and no summary means "nothing"); PW_ID_ANY has one as soon as it has an
 * entry. Summary bits may be a superset of what exists (a lookup more, never
 * another verdict); a missing bit hides entries. Keys shorter than
 * PW_POL_PREFIX_ANY_PROTO are not valid (the writers refuse them).
 */
#define PW_POL_PREFIX_SUMMARY   0
#define PW_POL_PREFIX_ANY_PROTO 96
#define PW_POL_PREFIX_ANY_PORT  112
#define PW_POL_PREFIX_FULL      128

#define PW_POL_IN_HASH(plen) ((plen) == PW_POL_PREFIX_FULL || \
			      (plen) == PW_POL_PREFIX_ANY_PORT || \
			      (plen) == PW_POL_PREFIX_ANY_PROTO)

struct pw_policy_key {
	__u32  prefixlen;
	__u8   slot;
	__u8   dir;       /* enum pw_dir */
	__u16  pad0;
	__u32  ep_id;
	__u32  peer_id;   /* identity or PW_ID_ANY */
	__u8   proto;     /* IPPROTO_TCP/UDP/SCTP; ICMP never has rules in v1 */
	__u8   pad1;
	__be16 port;      /* destination port, network order */
};

struct pw_policy_val {
	__u32 rule_id;    /* index into the agent's rule table (explain/monitor) */
	__u32 flags;      /* summary entries: PW_POLSUM_*; others: PW_POL_* */
	__u32 rank;       /* tier-resolved entries: the deciding rule's place (above) */
	__u32 pass_rank;  /* the Admin Pass the cell went through, else PW_RANK_NONE */
};

#define PW_RANK_NP     0x7fffffffu /* NetworkPolicy's band; Admin below, Baseline above */
#define PW_RANK_NONE   0xffffffffu /* no rule decided */

/*
 * The join (above): does a name entry of rank n decide before the
 * address's verdict of rank a, reached through an Admin Pass of rank pass?
 * One function for the datapath and for explain, so that they agree.
 */
static inline int pw_name_beats(__u32 n, __u32 a, __u32 pass)
{
	return n < a && (n > PW_RANK_NP || n < pass);
}

#define PW_POL_DENY    (1u << 16) /* the cell's verdict is drop */
#define PW_POL_DEFAULT (1u << 17) /* no rule decided: the tiers' default */
#define PW_RULE_NONE   0xffffffffu /* rule_id of a cell no rule decided */

#define PW_POLSUM_FULL           (1u << 0) /* single-port entries (policy) */
#define PW_POLSUM_LPM            (1u << 1) /* port-range prefixes (policy_lpm) */
#define PW_POLSUM_ANY_PROTO      (1u << 2)
#define PW_POLSUM_ANY_PORT_TCP   (1u << 3)
#define PW_POLSUM_ANY_PORT_UDP   (1u << 4)
#define PW_POLSUM_ANY_PORT_SCTP  (1u << 5)
#define PW_POLSUM_ANY_PORT_OTHER (1u << 6)

/* The summary bit of an any-port entry of proto. */
static inline __u32 pw_polsum_any_port(__u8 proto)
{
	return proto == 6 ? PW_POLSUM_ANY_PORT_TCP :
	       proto == 17 ? PW_POLSUM_ANY_PORT_UDP :
	       proto == 132 ? PW_POLSUM_ANY_PORT_SCTP : PW_POLSUM_ANY_PORT_OTHER;
}

/* The summary bit of an entry with this prefixlen and proto. */
static inline __u32 pw_polsum_bit(__u32 prefixlen, __u8 proto)
{
	if (prefixlen == PW_POL_PREFIX_FULL)
		return PW_POLSUM_FULL;
	if (prefixlen == PW_POL_PREFIX_ANY_PORT)
		return pw_polsum_any_port(proto);
	if (prefixlen == PW_POL_PREFIX_ANY_PROTO)
		return PW_POLSUM_ANY_PROTO;
	return PW_POLSUM_LPM;
}

/* -------------------------------------------------------------------- dns */
/*
 * dns: HASH, ep_id -> DNS allowance and counters. First-class DNS: a packet
 * to a PW_IPC_DNS address on UDP/TCP 53 is counted here, and allowed outright
 * when the slot's flags carry PW_DNS_AUTO (agent --dns=auto). The POLICY_*
 * bits say what the policies in force allow (for status and explain).
 */
#define PW_DNS_POLICY_UDP (1u << 0) /* policies allow UDP/53 to every DNS pod */
#define PW_DNS_POLICY_TCP (1u << 1) /* policies allow TCP/53 to every DNS pod */
#define PW_DNS_AUTO       (1u << 2) /* --dns=auto: allowed regardless of policy */

struct pw_dns {
	__u32 flags[PW_SLOTS];
	__u64 allowed;  /* DNS packets allowed (atomic adds) */
	__u64 dropped;  /* DNS packets dropped */
};

/* ---------------------------------------------------------- domain names */
/*
 * ClusterNetworkPolicy egress peers `domainNames`, learned in the kernel
 * from each pod's own DNS answers (bpf/lib/fqdn.h, bpf/lib/dnsparse.h):
 *
 *   from_pod  a query of a PW_EP_LEARN_NAMES pod to a cluster DNS server
 *             (PW_IPC_DNS, PW_IPC_DNS_SERVICE) is remembered in dns_queries;
 *   to_pod    an answer that matches one (same pod, port, id, question, from
 *             the server asked) and whose question matches a name of the
 *             name set teaches fqdn_learned: for that pod, each A/AAAA
 *             address of the answer (following the CNAME chain from the
 *             question) -> the name ids matched, until the record's TTL.
 *
 * Learned entries are per pod, not per identity. The upstream text
 * (network-policy-api, NPEP-133 "Expected Behavior") expects "Pods to make
 * a DNS query for a domain before sending traffic to it" and guarantees
 * nothing to a pod that did not; so sharing is allowed, not required. Per
 * pod is the stricter reading, and it keeps the cap a pod's own: a pod
 * that resolves a great many names (or a wildcard zone it controls) fills
 * its own entries, never its neighbours'.
 *
 * Name matching is exact. The question name is lower-cased (the trailing
 * dot of a pattern is dropped by the compiler); a pattern is hashed as the
 * kernel hashes the name (pw_name_* below, shared by both sides) and a hash
 * hit is confirmed by comparing the wire bytes, so a crafted name whose
 * hash collides with an allowed one opens nothing.
 *   exact `a.example.com`     key (PW_NAME_EXACT, hash of a.example.com)
 *   wildcard `*.example.com`  key (PW_NAME_WILDCARD, hash of example.com),
 *             tested against every proper suffix of the question on a label
 *             boundary: one or more whole labels before it, never the name
 *             itself. The kernel hashes the labels right to left, so every
 *             suffix's hash is one step from the next (at most 127 lookups).
 */
#define PW_DNS_WIRE_MAX    256  /* a name's wire form: 255 bytes and the RFC 1035 limit */
#define PW_DNS_LABEL_MAX   63
#define PW_DNS_LABELS_MAX  128  /* labels of a name of 255 wire bytes, at most 127 */
#define PW_DNS_RR_MAX      64   /* answer records read; the rest are counted, not learned */
#define PW_DNS_CHAIN_MAX   8    /* names in a CNAME chain, the question's included */
#define PW_MAX_NAMES       16384
#define PW_MAX_DNS_QUERIES 16384
#define PW_DNS_QUERY_TIMEOUT 30 /* s: an answer later than this is not awaited */

/*
 * The life of a learned address: the record's TTL (the smallest along its
 * CNAME chain), at least PW_FQDN_TTL_MIN s, so that the connection a pod
 * opens right after a TTL-0 answer is not refused for a timer tick; at most
 * PW_FQDN_TTL_MAX s (a day, the longest cache time of common resolvers), so
 * that one answer claiming years cannot keep an address open after the
 * name moved. An established connection outlives it (conntrack).
 */
#define PW_FQDN_TTL_MIN    5
#define PW_FQDN_TTL_MAX    86400

/*
 * name_set: HASH, written by the agent per slot. One entry per distinct
 * pattern of the domainNames peers in force; name_id is the peer identity
 * of the policy entries of the rules that list it.
 */
#define PW_NAME_EXACT      1
#define PW_NAME_WILDCARD   2

struct pw_name_key {
	__u32 kind;       /* PW_NAME_EXACT, PW_NAME_WILDCARD */
	__u8  slot;       /* where the per-slot writers put it (as ipcache's, policy's) */
	__u8  pad[3];
	__u64 hash;       /* pw_name_* of the name (wildcard: without "*.") */
};

struct pw_name_val {
	__u32 name_id;    /* the pattern's identity in policy keys */
	__u16 wire_len;   /* bytes of wire[] used, the root label's 0 included */
	__u16 pad;
	__u8  wire[PW_DNS_WIRE_MAX]; /* lower-case wire form: "\1a\7example\3com\0" */
};

/*
 * The name hash: 64-bit FNV-1a over each label's bytes (lower-case), then
 * the labels folded right to left, so that the hash of a name is one step
 * from the hash of its parent. pw_name_hash_suffix(PW_NAME_HASH_ROOT, ...)
 * for "com", then with "example" for "example.com", and so on.
 */
#define PW_NAME_HASH_ROOT  0x9e3779b97f4a7c15ULL
#define PW_NAME_FNV_BASIS  0xcbf29ce484222325ULL
#define PW_NAME_FNV_PRIME  0x00000100000001b3ULL

static inline __u64 pw_name_hash_byte(__u64 h, __u8 c)
{
	return (h ^ c) * PW_NAME_FNV_PRIME;
}

/* The hash of the name "label.parent" from the label's hash and the parent's. */
static inline __u64 pw_name_hash_suffix(__u64 parent, __u64 label)
{
	__u64 h = (parent ^ label) * 0xff51afd7ed558ccdULL;

	return h ^ (h >> 31) ^ (label << 7);
}

/*
 * dns_queries: LRU_HASH of a pod's outstanding queries (from_pod), each
 * consumed by its first answer (to_pod). sport and id as on the wire.
 */
struct pw_dns_query_key {
	__u32  ep_id;
	__be16 sport;     /* the pod's source port = the answer's destination port */
	__u16  id;        /* DNS transaction id, network order */
	__u64  qhash;     /* pw_name_* of the question, lower-case */
};

struct pw_dns_query_val {
	__u8  server[16]; /* where the query went (a DNS pod or the DNS Service VIP) */
	__u64 sent_ns;    /* pw_now() of the query */
};

/*
 * fqdn_learned: LRU_HASH of sets, a per-pod set-associative cache: an
 * address learned for pod ep_id lives in set (ep_id, pw_fqdn_set_of(addr)),
 * in one of its PW_FQDN_WAYS ways. A pod so holds at most
 * PW_FQDN_SETS_PER_POD * PW_FQDN_WAYS addresses (its cap, exact whatever
 * the other pods do); a full set gives its way whose names expire first to
 * the new address (counted PW_FQDN_EVICTED). The whole map is bounded too
 * (LRU over sets). owner is the pod's address when the set was made: a set
 * of a deleted pod whose veth ifindex a new pod got is not the new pod's.
 * ep_id comes from the pod's namespace and name, so a pod made again under
 * the same name (a StatefulSet's) may come back at the same address: the
 * agent deletes an endpoint's sets and dns_queries when the endpoint leaves
 * its device (mapsync), so that nothing learned is inherited.
 *
 * A way holds up to PW_FQDN_NAMES name ids for its address, each with its
 * own expiry (CLOCK_MONOTONIC seconds, coarse): the names that reached the
 * address (a CDN address behind two allowed names, or a name matched by an
 * exact pattern and by a wildcard). Ways and names are written without a
 * lock: two CPUs learning for one pod and set at once keep the last
 * writer's field; a reader checks the address and the expiry, so a torn
 * way reads as another address or as expired, never as a wider grant.
 */
#define PW_FQDN_WAYS          8
#define PW_FQDN_SETS_PER_POD  128
#define PW_FQDN_NAMES         4
#define PW_FQDN_POD_CAP       (PW_FQDN_WAYS * PW_FQDN_SETS_PER_POD)
#define PW_MAX_FQDN_SETS      16384

struct pw_fqdn_key {
	__u32 ep_id;
	__u32 set;        /* pw_fqdn_set_of(addr) */
};

struct pw_fqdn_name {
	__u32 name_id;    /* 0: free */
	__u32 expires_s;
};

struct pw_fqdn_way {
	__u8  addr[16];
	struct pw_fqdn_name names[PW_FQDN_NAMES];
};

struct pw_fqdn_set {
	__u8  owner[16];
	struct pw_fqdn_way ways[PW_FQDN_WAYS];
};

/* The set of an address within its pod: a byte fold of the address. */
static inline __u32 pw_fqdn_set_of(const __u8 *addr)
{
	__u32 h = 2166136261u;

	for (int i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	return (h ^ (h >> 15)) & (PW_FQDN_SETS_PER_POD - 1);
}

/* fqdn_stats: PERCPU_ARRAY of counters, indexed by enum pw_fqdn_stat. */
enum pw_fqdn_stat {
	PW_FQDN_QUERIES = 0,      /* queries remembered */
	PW_FQDN_ANSWERS_LEARNED,  /* answers that taught at least one address */
	PW_FQDN_ANSWERS_NO_NAME,  /* answers to a question no pattern matches */
	PW_FQDN_ANSWERS_MALFORMED,/* cut short, bad names, pointer loops: nothing learned */
	PW_FQDN_ANSWERS_FORGED,   /* no outstanding query, or not from the server asked */
	PW_FQDN_ANSWERS_SKIPPED,  /* not learnable: error rcode, TC bit, TCP over segments */
	PW_FQDN_ADDRS_LEARNED,    /* addresses written (new or refreshed) */
	PW_FQDN_RECORDS_OVER,     /* records past PW_DNS_RR_MAX or the parse buffer */
	PW_FQDN_EVICTED,          /* live ways or names given to another (the pod's cap) */
	PW_FQDN_EXPIRED,          /* names whose TTL ran out, counted when their slot is taken back */
	PW_FQDN_STAT_MAX,
};

/* -------------------------------------------------------------- conntrack */
/*
 * conntrack: a table of podwall's own, an ARRAY (BPF_F_MMAPABLE: the agent
 * reads it through one mmap) of sets, each of PW_CT_WAYS ways. A key lives
 * in set pw_ct_hash(key) & (sets - 1), in any of its ways; the protocol
 * (find, claim, publish, free: compare-and-swap on a per-way header word)
 * is include/podwall/cttable.h, shared by the programs and the agent. An
 * insert into a full set takes an expired way, else the one seen least
 * recently, counted in ct_stats (PW_CT_STAT_EVICTED): the operator's sign of
 * table pressure. Why not the kernel's LRU_HASH: its update takes two
 * irq-disabling spin locks (~160 ns of a new flow, agent/bench/datapath.c);
 * a claim here is one compare-and-swap.
 *
 * The key is the flow as first seen (original direction) plus the
 * direction whose check created it, so one packet of a same-node flow owns
 * two entries: EGRESS (made by from_pod of the client) and INGRESS (made by
 * to_pod of the server). A reply is found by reversing its tuple. The key
 * is 8-aligned (its layout is that of before: 40 bytes, pad zero), so that
 * the hash and the compare read it as five words.
 *
 * Sizing: PW_MAX_CONNTRACK entries, PW_CT_SETS sets of 704 bytes (the 8
 * headers share one cache line, then 8 entries of 80 bytes): 22 MiB of
 * memlock, against ~36 MiB for the LRU_HASH of the same entries. A smaller
 * table (probes) has fewer sets, a power of two; the programs learn the
 * count from pw_ct_set_mask (.rodata, set before the load).
 */
#define PW_CT_WAYS 8
#define PW_CT_SETS (PW_MAX_CONNTRACK / PW_CT_WAYS)

struct pw_ct_key {
	__u8   saddr[16];
	__u8   daddr[16];
	__be16 sport;     /* ICMP echo: the identifier; else 0 */
	__be16 dport;
	__u8   proto;
	__u8   dir;       /* enum pw_dir of the check that created it */
	__u16  pad;
} __attribute__((aligned(8)));

#define PW_CT_SEEN_REPLY (1u << 0)
#define PW_CT_CLOSING    (1u << 1) /* FIN seen: short timeout */
#define PW_CT_DEFERRED   (1u << 2) /* flow to a Service VIP: verdict taken post-NAT */
#define PW_CT_AUDIT      (1u << 3) /* created by an audit pass */
/*
 * Opened through a learned name: name_id is the name whose entry allowed
 * it. A re-check (a new policy generation) joins that name with the
 * address even after its TTL ran out or its way was given to another
 * address: an established connection outlives the TTL, the policy still
 * decides whether the name is allowed.
 */
#define PW_CT_NAME       (1u << 4)
/*
 * An entry made before any NAT (from_pod's for a destination that is no
 * Service; to_pod's for a packet no from_pod deferred) and never met by a
 * check past NAT since: its tuple is the one its sender sent, so the two
 * entries of a same-node flow with it are one flow (bpf/lib/direct.h).
 * Cleared when a check past NAT finds the entry (a Service flow translated
 * onto the same tuple); entries of older podwalls lack it (their flows take
 * the node's path).
 */
#define PW_CT_DIRECT     (1u << 5)

struct pw_ct_val {
	__u64 last_seen_ns;
	__u32 generation; /* pw_config.generation when the verdict was taken */
	__u32 flags;      /* PW_CT_* */
	__u32 ep_id;      /* endpoint whose policy allowed it */
	__u32 peer_id;    /* peer identity at that time */
	__u32 rule_id;
	__u32 ifindex;    /* device whose check last vouched for it under this generation; 0 none (conntrack.h) */
	__u32 name_id;    /* PW_CT_NAME: the name that opened it */
	/*
	 * TCP: the sequence number of the last SYN (without ACK) this entry's
	 * check passed in the entry's own direction, the connection's ISN; 0
	 * none. The two entries of a same-node pair go direct only if both
	 * carry the same one: the same SYN crossed both hooks with this tuple,
	 * so the node's NAT did not move the connection to another (direct.h).
	 */
	__u32 isn;
};

struct pw_ct_entry {
	struct pw_ct_key key;
	struct pw_ct_val val;
};

/* hdr[i]: way i's header (cttable.h): tag << 32 | count << 2 | LIVE | WRITING */
struct pw_ct_set {
	__u64 hdr[PW_CT_WAYS];
	struct pw_ct_entry ways[PW_CT_WAYS];
};

/* ct_stats: PERCPU_ARRAY of counters, indexed by enum pw_ct_stat. */
enum pw_ct_stat {
	PW_CT_STAT_EVICTED = 0,   /* live entries, not expired, taken by an insert into a full set */
	PW_CT_STAT_BUSY,          /* inserts given up: every way of the set claimed by other writers */
	PW_CT_STAT_MAX,
};

/* CT timeouts, seconds */
#define PW_CT_TCP_SYN_TIMEOUT   60
#define PW_CT_TCP_TIMEOUT       21600
#define PW_CT_TCP_CLOSE_TIMEOUT 10
#define PW_CT_UDP_TIMEOUT       60
#define PW_CT_ICMP_TIMEOUT      30

/* frags: LRU_HASH of first fragments allowed, so later ones follow them. */
struct pw_frag_key {
	__u8  saddr[16];
	__u8  daddr[16];
	__u32 id;         /* IPv4 id or IPv6 fragment identification */
	__u8  proto;
	__u8  dir;
	__u16 pad;
};

/* --------------------------------------------------------------- counters */
/*
 * counters: PERCPU_ARRAY indexed by PW_COUNTER_IDX(dir, verdict, reason).
 */
#define PW_COUNTER_IDX(dir, verdict, reason) \
	(((dir) * PW_VERDICT_MAX + (verdict)) * PW_REASON_MAX + (reason))
#define PW_COUNTERS_MAX (PW_DIR_MAX * PW_VERDICT_MAX * PW_REASON_MAX)
/*
 * Verdict 0 is no verdict: its row counts what the datapath did besides
 * judging (bpf/lib/direct.h). PW_COUNTER_REDIRECTED: packets from_pod sent
 * straight into the destination pod, each also counted under its egress and
 * its ingress verdict. PW_COUNTER_REDIRECTED_VETH: packets from_pod sent to
 * the destination's veth past the node's forwarding, where to_pod judges them.
 */
#define PW_COUNTER_REDIRECTED      PW_COUNTER_IDX(PW_DIR_INGRESS, 0, PW_REASON_NONE)
#define PW_COUNTER_REDIRECTED_VETH PW_COUNTER_IDX(PW_DIR_EGRESS, 0, PW_REASON_NONE)

struct pw_counter {
	__u64 packets;
	__u64 bytes;
};

/* ------------------------------------------------------------------ marks */
/*
 * skb->mark bits podwall sets. kube-proxy uses 0x4000 (masquerade) and 0x8000
 * (drop); Calico 0xffff0000 by default. PW_MARK_DEFER tells the post-NAT hook
 * that the egress verdict of this packet is still to be taken.
 */
#define PW_MARK_DEFER 0x00000200u

/* ----------------------------------------------------------------- events */
/*
 * events: RINGBUF of struct pw_event. Drops (and audit would-drops, and
 * allows when PW_CFG_EVENTS_ALLOW) are reported, rate-limited per CPU;
 * `suppressed` counts events this CPU skipped since its previous event.
 */
#define PW_EVENT_HAS_DNS (1u << 0)
/*
 * Not a verdict: pod ep_id learned the address daddr from an answer of
 * saddr (the DNS server it asked) to its question dns_name (lower-cased,
 * as matched; HAS_DNS set too), for ttl_s seconds (clamped, abi.h "domain names"); dst_identity is
 * the name_id of the first pattern the question matched, rule_id how many
 * it matched. dir EGRESS (what it opens), verdict ALLOW, reason NONE. One
 * event per address, under the same rate limit as the verdicts.
 */
#define PW_EVENT_NAME_LEARNED (1u << 1)
/*
 * On an egress drop of a pod that learns names (PW_EP_LEARN_NAMES), to an
 * address outside the pods: the pod holds no live learned name for it, so
 * no lookup of an allowed name returned this address for this pod.
 */
#define PW_EVENT_NO_NAME (1u << 2)

struct pw_event {
	__u64 ts_ns;
	__u8  saddr[16];
	__u8  daddr[16];
	__be16 sport;
	__be16 dport;
	__u8  proto;
	__u8  dir;        /* enum pw_dir */
	__u8  verdict;    /* enum pw_verdict */
	__u8  reason;     /* enum pw_reason */
	__u32 ifindex;
	__u32 ep_id;
	__u32 src_identity;
	__u32 dst_identity;
	__u32 rule_id;
	__u32 suppressed;
	__u32 flags;      /* PW_EVENT_* */
	char  dns_name[PW_DNS_NAME_MAX]; /* dotted, NUL-terminated if HAS_DNS */
	__u32 ttl_s;      /* PW_EVENT_NAME_LEARNED: the address's life */
};

/* per-CPU rate limiter state for events (ARRAY of 1, PERCPU) */
struct pw_ratelimit {
	__u64 window_start_ns;
	__u32 sent;
	__u32 suppressed;
};

#endif /* PODWALL_ABI_H */
