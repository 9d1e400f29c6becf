/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Conntrack: the flows a verdict let through, so that their later packets
 * and their replies pass without a policy lookup.
 *
 * The key is the tuple as first seen plus the direction of the check that
 * created it (abi.h). In direction D a packet s->d is
 *   established if (s->d, D) exists,
 *   a reply     if (d->s, !D) exists (the tuple reversed),
 *   related     if it is an ICMP error quoting a tracked tuple.
 * Entries expire lazily: a lookup that finds an entry older than its
 * timeout deletes it and reports a miss. Each entry remembers the policy
 * generation of its verdict; the caller re-checks when it differs.
 *
 * The fast path (judge.h: pw_judge_fast) answers a packet of a tracked flow,
 * in the direction that made the entry or a reply, without the endpoint
 * lookup: the entry's ifindex names the device whose endpoint vouched for it
 * under the generation it carries. It is set when the entry is made (the
 * device of the endpoint judged: from_pod's and to_pod's own, or the
 * sender's that local_ips gives past NAT) and when the usual path finds the
 * entry in that direction and keeps it (the endpoint of the device owns it,
 * and from_pod checked the source address first; an ingress entry names the
 * device only if its destination is the endpoint's own address, so that a
 * reply from_pod takes on the fast path has the source the check would
 * pass); a re-check from the reply direction that moves the generation
 * clears it. A reply arrives on the device that made the entry (from_pod's
 * egress entry, to_pod's ingress one, of the same veth). Every change of an
 * endpoint comes with a new generation (mapsync: endpoints are written
 * before the switch, deleted after it), so an entry whose ifindex is this
 * device and whose generation is the live one was vouched for by this
 * device's endpoint as it is now: the endpoint lookup, its ep_id check and
 * from_pod's source check would find what they found then. (The only
 * window: between mapsync's endpoint writes and its switch, entries of the
 * previous generation still pass as they did before the change.)
 */
#ifndef PW_BPF_CONNTRACK_H
#define PW_BPF_CONNTRACK_H

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"

static __always_inline void pw_ct_key_fill(struct pw_ct_key *k, const __u8 *s, const __u8 *d,
					   __be16 sport, __be16 dport, __u8 proto, __u8 dir)
{
	__builtin_memcpy(k->saddr, s, 16);
	__builtin_memcpy(k->daddr, d, 16);
	k->sport = sport;
	k->dport = dport;
	k->proto = proto;
	k->dir = dir;
	k->pad = 0;
}

/* The key of the entry packet p belongs to, checked in direction dir: its own
 * (s->d, dir), or for a reply the one its flow opened (d->s, !dir). */
static __always_inline void pw_ct_key_of(struct pw_ct_key *k, const struct pw_pkt *p, __u8 dir,
					 int reply)
{
	if (reply)
		pw_ct_key_fill(k, p->daddr, p->saddr, p->dport, p->sport, p->proto, !dir);
	else
		pw_ct_key_fill(k, p->saddr, p->daddr, p->sport, p->dport, p->proto, dir);
}

static __always_inline __u64 pw_ct_timeout_ns(__u8 proto, __u32 flags)
{
	__u64 s;

	if (proto == PW_IPPROTO_TCP || proto == PW_IPPROTO_SCTP) {
		if (flags & PW_CT_CLOSING)
			s = PW_CT_TCP_CLOSE_TIMEOUT;
		else if (!(flags & PW_CT_SEEN_REPLY))
			s = PW_CT_TCP_SYN_TIMEOUT;
		else
			s = PW_CT_TCP_TIMEOUT;
	} else if (pw_is_icmp(proto)) {
		s = PW_CT_ICMP_TIMEOUT;
	} else {
		s = PW_CT_UDP_TIMEOUT;
	}
	return s * PW_NSEC_PER_SEC;
}

/*
 * The live entry for k made by endpoint ep_id, or NULL. Expired entries are
 * deleted. An entry of another endpoint (a pod re-created on another veth
 * with the same address) is not ours to use.
 */
static __always_inline struct pw_ct_val *pw_ct_get(struct pw_ct_key *k, __u32 ep_id, __u64 now)
{
	struct pw_ct_val *v = bpf_map_lookup_elem(&conntrack, k);

	if (!v)
		return NULL;
	if (pw_older(now, v->last_seen_ns, pw_ct_timeout_ns(k->proto, v->flags))) {
		bpf_map_delete_elem(&conntrack, k);
		return NULL;
	}
	if (v->ep_id != ep_id)
		return NULL;
	return v;
}

/*
 * A new entry. The update is most of a new flow's extra cost (~160 ns of a
 * single test run on a 2-core VM: two irq-disabling locks, the LRU's free
 * list and the bucket; agent/bench/datapath.c has the measurements); the
 * other map kinds and flags measured no cheaper by more than ~30 ns, and
 * only the LRU evicts under pressure.
 */
static __always_inline void pw_ct_create(const struct pw_pkt *p, __u8 dir, __u32 generation,
					 __u32 ep_id, __u32 ifindex, __u32 peer_id, __u32 rule_id,
					 __u32 name_id, __u32 flags, __u64 now)
{
	struct pw_ct_key k;
	struct pw_ct_val v = {
		.last_seen_ns = now,
		.generation = generation,
		.flags = flags,
		.ep_id = ep_id,
		.peer_id = peer_id,
		.rule_id = rule_id,
		.ifindex = ifindex,
		.name_id = name_id,
		.isn = pw_tcp_isn(p),
	};

	if (p->proto == PW_IPPROTO_TCP && (p->tcp_flags & PW_TCP_FIN))
		v.flags |= PW_CT_CLOSING;
	pw_ct_key_of(&k, p, dir, 0);
	bpf_map_update_elem(&conntrack, &k, &v, BPF_ANY);
}

/*
 * How stale last_seen_ns may get before a packet refreshes it: writing it
 * on every packet would bounce the entry's cache line between the CPUs of
 * a flow's two directions for nothing; timeouts are >= 10 s.
 */
#define PW_CT_REFRESH_NS (PW_NSEC_PER_SEC / 4)

/*
 * A packet of the flow went through: refresh, and a SYN in the entry's own
 * direction names the connection the tuple now carries (abi.h pw_ct_val.isn).
 * Returns 1 if it was a TCP RST.
 */
static __always_inline int pw_ct_touch(struct pw_ct_val *v, const struct pw_pkt *p, int reply,
				       __u64 now)
{
	__u32 flags = v->flags, isn = reply ? 0 : pw_tcp_isn(p);

	if (pw_older(now, v->last_seen_ns, PW_CT_REFRESH_NS))
		v->last_seen_ns = now;
	if (isn && v->isn != isn)
		v->isn = isn;
	if (reply)
		flags |= PW_CT_SEEN_REPLY;
	if (p->proto == PW_IPPROTO_TCP) {
		if (p->tcp_flags & PW_TCP_FIN)
			flags |= PW_CT_CLOSING;
		if (p->tcp_flags & PW_TCP_RST)
			return 1;
	}
	if (flags != v->flags)
		v->flags = flags;
	return 0;
}

/* An ICMP error quoting a tuple that we track, in either sense. */
static __always_inline int pw_ct_related(const struct pw_pkt *p, __u8 dir, __u32 ep_id, __u64 now)
{
	struct pw_ct_key k;

	/* The quoted packet went the other way: a flow of ours, original sense... */
	pw_ct_key_fill(&k, p->isaddr, p->idaddr, p->isport, p->idport, p->iproto, !dir);
	if (pw_ct_get(&k, ep_id, now))
		return 1;
	/* ...or the reply of a flow the peer opened. */
	pw_ct_key_fill(&k, p->idaddr, p->isaddr, p->idport, p->isport, p->iproto, dir);
	return pw_ct_get(&k, ep_id, now) != NULL;
}

/* ----------------------------------------------------------- fragments */

static __always_inline void pw_frag_key_fill(struct pw_frag_key *k, const struct pw_pkt *p, __u8 dir)
{
	__builtin_memcpy(k->saddr, p->saddr, 16);
	__builtin_memcpy(k->daddr, p->daddr, 16);
	k->id = p->frag_id;
	k->proto = p->proto;
	k->dir = dir;
	k->pad = 0;
}

/* A first fragment passed: its later fragments follow it. */
static __always_inline void pw_frag_record(const struct pw_pkt *p, __u8 dir, __u32 flags)
{
	struct pw_frag_key k;

	pw_frag_key_fill(&k, p, dir);
	bpf_map_update_elem(&frags, &k, &flags, BPF_ANY);
}

static __always_inline __u32 *pw_frag_find(const struct pw_pkt *p, __u8 dir)
{
	struct pw_frag_key k;

	pw_frag_key_fill(&k, p, dir);
	return bpf_map_lookup_elem(&frags, &k);
}

#endif
