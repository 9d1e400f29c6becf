/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The verdict: who the peer is (ipcache), and whether this endpoint may
 * talk to it in a direction (isolation, first-class DNS, the policy LPM).
 *
 * One function, pw_decide(), takes every verdict: for new flows and for the
 * re-check of established conntrack entries after a policy change, so that
 * the two can never disagree.
 *
 * Policy lookups are bounded whatever the number of rules, policies,
 * priorities and tiers (ClusterNetworkPolicy precedence is resolved by the
 * compiler into the entries' values, abi.h), and flat: the
 * exact keys (one port, every port of a protocol, every protocol) are in
 * the hash policy, the port ranges in the LPM policy_lpm, and a summary
 * entry per (endpoint, direction, peer) says which shapes exist, so that
 * only those are looked up (abi.h). A denied flow from a peer with no rule
 * costs two hash lookups (the peer's port, the peer's summary) and no trie
 * walk, three when the endpoint has any-peer rules (their summary).
 */
#ifndef PW_BPF_POLICY_H
#define PW_BPF_POLICY_H

#include "lib/common.h"
#include "lib/maps.h"

struct pw_decision {
	__u32 rule_id;
	__u32 name_id;   /* a re-check's name (pw_decide ct_name), if its entry is there */
	__u32 rank;      /* the deciding rule's place in tier order (abi.h) */
	__u32 pass_rank; /* the Admin Pass on the way, else PW_RANK_NONE */
	__u8  reason;
};

/*
 * The identity and flags of addr under the slot; world if unknown. Whole
 * addresses (every pod) are in the hash ipcache, CIDR groups in ipcache_lpm.
 */
static __always_inline void pw_ipcache_get(__u32 slot, const __u8 *addr,
					   struct pw_ipcache_val *out)
{
	struct pw_ipcache_key k = {
		.prefixlen = PW_IPC_EXACT_PREFIX,
		.slot = slot,
	};
	struct pw_ipcache_val *v;

	__builtin_memcpy(k.addr, addr, 16);
	v = bpf_map_lookup_elem(&ipcache, &k);
	if (!v)
		v = bpf_map_lookup_elem(&ipcache_lpm, &k);
	if (v) {
		out->identity = v->identity;
		out->flags = v->flags;
	} else {
		out->identity = PW_ID_WORLD;
		out->flags = 0;
	}
}

static __always_inline int pw_isolated(const struct pw_endpoint *ep, __u32 slot, __u8 dir)
{
	__u32 bit = dir == PW_DIR_EGRESS ? PW_EP_ISOLATED_EGRESS : PW_EP_ISOLATED_INGRESS;

	return !!(ep->flags[slot & 1] & bit);
}

/* ClusterNetworkPolicy rules apply in dir: look up even if not isolated. */
static __always_inline int pw_tiered(const struct pw_endpoint *ep, __u32 slot, __u8 dir)
{
	__u32 bit = dir == PW_DIR_EGRESS ? PW_EP_TIERED_EGRESS : PW_EP_TIERED_INGRESS;

	return !!(ep->flags[slot & 1] & bit);
}

static __always_inline int pw_audit(const struct pw_config *cfg, const struct pw_endpoint *ep,
				    __u32 slot)
{
	return (cfg->flags & PW_CFG_AUDIT_ALL) || (ep->flags[slot & 1] & PW_EP_AUDIT);
}

/*
 * The longest entry of one peer (a specific identity, or PW_ID_ANY) that
 * matches (proto, port), as one LPM lookup over every entry would give it:
 * FULL, then policy_lpm (port ranges), then ANY_PORT, then ANY_PROTO, each
 * only if the summary says the peer has entries of that shape. A specific
 * peer's FULL entry is looked up before the summary (the common hit: no
 * summary needed); the any peer's only when the summary says so.
 */
static __always_inline struct pw_policy_val *
pw_policy_peer(struct pw_policy_key *k, __u32 peer_id, __u8 proto, __be16 port)
{
	struct pw_policy_val *v;
	__u32 sum;

	k->peer_id = peer_id;
	k->prefixlen = PW_POL_PREFIX_FULL;
	k->proto = proto;
	k->port = port;
	if (peer_id != PW_ID_ANY) {
		v = bpf_map_lookup_elem(&policy, k);
		if (v)
			return v;
	}

	k->prefixlen = PW_POL_PREFIX_SUMMARY;
	k->proto = 0;
	k->port = 0;
	v = bpf_map_lookup_elem(&policy, k);
	if (!v)
		return NULL;
	sum = v->flags;

	k->prefixlen = PW_POL_PREFIX_FULL;
	k->proto = proto;
	k->port = port;
	if (peer_id == PW_ID_ANY && (sum & PW_POLSUM_FULL)) {
		v = bpf_map_lookup_elem(&policy, k);
		if (v)
			return v;
	}
	if (sum & PW_POLSUM_LPM) {
		v = bpf_map_lookup_elem(&policy_lpm, k);
		if (v)
			return v;
	}
	k->port = 0;
	if (sum & pw_polsum_any_port(proto)) {
		k->prefixlen = PW_POL_PREFIX_ANY_PORT;
		v = bpf_map_lookup_elem(&policy, k);
		if (v)
			return v;
	}
	if (sum & PW_POLSUM_ANY_PROTO) {
		k->prefixlen = PW_POL_PREFIX_ANY_PROTO;
		k->proto = 0;
		return bpf_map_lookup_elem(&policy, k);
	}
	return NULL;
}

/*
 * The allow rules: (peer, proto, port) then (any peer, proto, port), the
 * latter unless the endpoint's flags say it has no any-peer entry.
 */
static __always_inline struct pw_policy_val *
pw_policy_lookup(struct pw_policy_key *k, const struct pw_endpoint *ep, __u32 slot, __u8 dir,
		 __u32 peer_id, __u8 proto, __be16 port)
{
	__u32 no_any = dir == PW_DIR_EGRESS ? PW_EP_NO_ANY_EGRESS : PW_EP_NO_ANY_INGRESS;
	struct pw_policy_val *v;

	k->slot = slot;
	k->dir = dir;
	k->ep_id = ep->ep_id;
	v = pw_policy_peer(k, peer_id, proto, port);
	if (v || peer_id == PW_ID_ANY || (ep->flags[slot & 1] & no_any))
		return v;
	return pw_policy_peer(k, PW_ID_ANY, proto, port);
}

/*
 * The verdict of a policy lookup: the entry's (allow, or PW_POL_DENY, both
 * tier-resolved by the compiler), or on a miss the default: drop when the
 * endpoint is isolated, else allow (an endpoint only tiered). Returns 1
 * (allow) or 0, with the reason and the rule.
 */
static __always_inline int pw_policy_verdict(const struct pw_policy_val *pv, int isolated,
					     struct pw_decision *d)
{
	if (!pv) {
		d->reason = isolated ? PW_REASON_POLICY_DENIED : PW_REASON_NOT_ISOLATED;
		d->rank = isolated ? PW_RANK_NP : PW_RANK_NONE;
		return !isolated;
	}
	d->rule_id = pv->rule_id;
	d->rank = pv->rank;
	d->pass_rank = pv->pass_rank;
	if (pv->flags & PW_POL_DENY) {
		d->reason = (pv->flags & PW_POL_DEFAULT) ? PW_REASON_POLICY_DENIED
							 : PW_REASON_TIER_DENIED;
		return 0;
	}
	d->reason = (pv->flags & PW_POL_DEFAULT) ? PW_REASON_NOT_ISOLATED : PW_REASON_NONE;
	return 1;
}

/*
 * May ep talk to peer in dir on (proto, dport)? Returns 1 (allow) or 0, with
 * the reason, the rule and its rank. count_dns: count a DNS packet in the
 * dns map (new flows count, re-checks do not). The names an endpoint
 * learned are joined with this verdict by the caller for a new flow
 * (fqdn.h pw_judge_names); a re-check of a flow a name opened passes that
 * name as ct_name, joined here (abi.h), whether or not its TTL ran out,
 * with d->name_id = ct_name while the name still has an entry.
 */
static __always_inline int pw_decide(const struct pw_endpoint *ep, __u32 slot, __u8 dir,
				     const struct pw_ipcache_val *peer, __u8 proto, __be16 dport,
				     int count_dns, __u32 ct_name, struct pw_decision *d)
{
	struct pw_policy_key k = {};
	struct pw_policy_val *pv;
	struct pw_dns *dn;
	int isolated, ok;

	d->rule_id = 0;
	d->name_id = 0;
	d->rank = PW_RANK_NONE;
	d->pass_rank = PW_RANK_NONE;
	slot &= 1;
	if (pw_is_icmp(proto))
		dport = 0; /* ICMP only matches any-protocol rules */

	if (dir == PW_DIR_INGRESS && peer->identity == PW_ID_HOST) {
		d->reason = PW_REASON_FROM_HOST;
		return 1;
	}
	isolated = pw_isolated(ep, slot, dir);
	if (!isolated && !pw_tiered(ep, slot, dir)) {
		d->reason = PW_REASON_NOT_ISOLATED;
		return 1;
	}

	if (dir == PW_DIR_EGRESS && (peer->flags & PW_IPC_DNS) &&
	    (proto == PW_IPPROTO_UDP || proto == PW_IPPROTO_TCP) && dport == bpf_htons(53)) {
		dn = bpf_map_lookup_elem(&dns, &ep->ep_id);
		if (dn && (dn->flags[slot] & PW_DNS_AUTO)) {
			if (count_dns)
				__sync_fetch_and_add(&dn->allowed, 1);
			d->reason = PW_REASON_DNS_ALLOWED;
			return 1;
		}
		pv = pw_policy_lookup(&k, ep, slot, dir, peer->identity, proto, dport);
		ok = pw_policy_verdict(pv, isolated, d);
		if (dn && count_dns)
			__sync_fetch_and_add(ok ? &dn->allowed : &dn->dropped, 1);
		d->reason = ok ? PW_REASON_DNS_ALLOWED : PW_REASON_DNS_DENIED;
		return ok;
	}

	pv = pw_policy_lookup(&k, ep, slot, dir, peer->identity, proto, dport);
	ok = pw_policy_verdict(pv, isolated, d);
	if (!ct_name)
		return ok;
	/* the same key, another peer: no stack (judge.h's frame has none to spare) */
	pv = pw_policy_peer(&k, ct_name, proto, dport);
	if (!pv || (pv->flags & PW_POL_DENY))
		return ok;
	d->name_id = ct_name;
	if (!pw_name_beats(pv->rank, d->rank, d->pass_rank))
		return ok;
	d->rule_id = pv->rule_id;
	d->reason = PW_REASON_NONE;
	return 1;
}

#endif
