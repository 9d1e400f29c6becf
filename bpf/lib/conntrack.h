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
#include "podwall/cttable.h"

/* s and d are 4-aligned (struct pw_pkt's addresses): said, so that clang
 * copies them a word at a time, also where it cannot see the packet's
 * struct (a global function's argument), not a byte at a time */
static __always_inline void pw_ct_key_fill(struct pw_ct_key *k, const __u8 *s, const __u8 *d,
					   __be16 sport, __be16 dport, __u8 proto, __u8 dir)
{
	__builtin_memcpy(k->saddr, __builtin_assume_aligned(s, 4), 16);
	__builtin_memcpy(k->daddr, __builtin_assume_aligned(d, 4), 16);
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

/* ------------------------------------------------------------ the table */
/*
 * Every access to the conntrack map goes through these (the table's
 * protocol and its races: include/podwall/cttable.h). A key is 8-aligned
 * (abi.h): declare keys as struct pw_ct_key, never inside a packed buffer.
 *
 * The verifier and the loops over a set's ways: inlined, each way a lookup
 * finds leaves the loop with a value pointer of its own constant offset,
 * and the verifier, which prunes a path only at a state it has seen, walks
 * all the code after the lookup once per way (the table made a load ~3x as
 * long as with the kernel's hash). A global function is verified once per
 * program and returns a scalar the verifier knows nothing of: the pointer
 * the caller makes of it is one state, its offset bounded by PW_CT_WAYS.
 * But a call costs a packet ~5 ns here (a BPF-to-BPF call and its return,
 * with the CPU's mitigations). So:
 *  - pw_ct_lookup, the loop inline: for the per-packet paths, each in a
 *    small global function of its own (judge.h pw_judge_fast, direct.h
 *    pw_redirect_peer), where the code verified once per way is short;
 *  - pw_ct_lookup_call, the loop in the global pw_ct_way_of: for pw_judge,
 *    whose lookups a packet of a tracked flow makes only when the fast path
 *    could not answer it, and whose code after them is thousands of
 *    instructions; pw_ct_delete, all global (an expiry, a RST, a revoke);
 *  - pw_ct_insert inline (see there).
 */
static __always_inline struct pw_ct_set *pw_ct_set_of(__u64 hash)
{
	__u32 idx = (__u32)hash & pw_ct_set_mask;

	return bpf_map_lookup_elem(&conntrack, &idx);
}

/* ct_stats' keys, in .rodata: a key on the stack would grow pw_judge's frame,
 * which the verifier's 512-byte bound of a call chain leaves no room */
static const volatile __u32 pw_ct_stat_keys[PW_CT_STAT_MAX] = { 0, 1 };

static __always_inline void pw_ct_stat(__u32 stat)
{
	__u64 *n = bpf_map_lookup_elem(&ct_stats,
				       (const void *)&pw_ct_stat_keys[stat & (PW_CT_STAT_MAX - 1)]);

	if (n)
		*n += 1;
}

/* The way of set s that holds k (tag of its hash), or -1. Global: above. */
__noinline int pw_ct_way_of(struct pw_ct_set *s, const struct pw_ct_key *k, __u32 tag)
{
	if (!s || !k)
		return -1;
	return pw_ct_set_find(s, k, tag, NULL);
}

/* The value of k's entry, or NULL; the loop in pw_ct_way_of if call. */
static __always_inline struct pw_ct_val *pw_ct_lookup_in(const struct pw_ct_key *k, int call)
{
	__u64 h = pw_ct_hash(k);
	struct pw_ct_set *s = pw_ct_set_of(h);
	int i;

	if (!s)
		return NULL;
	i = call ? pw_ct_way_of(s, k, pw_ct_tag(h)) : pw_ct_set_find(s, k, pw_ct_tag(h), NULL);
	if (i < 0)
		return NULL;
	return &s->ways[i & (PW_CT_WAYS - 1)].val;
}

/* The value of k's entry, or NULL. Expiry is the caller's (pw_ct_get). */
static __always_inline struct pw_ct_val *pw_ct_lookup(const struct pw_ct_key *k)
{
	return pw_ct_lookup_in(k, 0);
}

/* pw_ct_lookup with its loop in a call (above: for pw_judge). */
static __always_inline struct pw_ct_val *pw_ct_lookup_call(const struct pw_ct_key *k)
{
	return pw_ct_lookup_in(k, 1);
}

/*
 * Make or replace k's entry: its own way, a free one, an expired one, else
 * the one seen least recently. Returns 0, or 1 + the enum pw_ct_stat to
 * count (the caller counts it: pw_judge's frame has no room for the key of
 * that lookup here, see pw_ct_stat_keys): an eviction, or an insert given
 * up because the way was claimed by another CPU between the choice and the
 * claim (the flow is judged again on its next packet). Inline, loop and
 * all: pw_judge makes entries, and a callee with a frame of its own does not
 * fit under it (its stack budget: judge.h). The way it picks goes no
 * further than the writes here, so the verifier's walk splits per way only
 * to the end of the insert.
 */
static __always_inline int pw_ct_insert(const struct pw_ct_key *k, const struct pw_ct_val *v)
{
	__u64 h = pw_ct_hash(k), hd;
	struct pw_ct_set *s = pw_ct_set_of(h);
	int pick, i;

	if (!s)
		return 0;
	pick = pw_ct_set_pick(s, k, pw_ct_tag(h), v->last_seen_ns);
	i = pick & (PW_CT_WAYS - 1);
	hd = PW_CT_READ_ONCE(s->hdr[i]);
	if (pick < 0 || (hd & PW_CT_HDR_WRITING) || !pw_ct_way_claim(s, i, hd))
		return PW_CT_STAT_BUSY + 1;
	s->ways[i].key = *k;
	s->ways[i].val = *v;
	pw_ct_way_publish(s, i, hd, pw_ct_tag(h));
	return pick & PW_CT_PICK_EVICT ? PW_CT_STAT_EVICTED + 1 : 0;
}

/* Remove k's entry, if there is one: a RST, an expiry, a revoked verdict.
 * Global (above); returns 0. */
__noinline int pw_ct_delete(const struct pw_ct_key *k)
{
	struct pw_ct_set *s;
	__u64 h, hd;
	int i;

	if (!k)
		return 0;
	h = pw_ct_hash(k);
	s = pw_ct_set_of(h);
	if (!s)
		return 0;
	i = pw_ct_set_find(s, k, pw_ct_tag(h), &hd);
	if (i >= 0)
		pw_ct_way_free(s, i & (PW_CT_WAYS - 1), hd);
	return 0;
}

/*
 * The live entry for k made by endpoint ep_id, or NULL. Expired entries are
 * deleted. An entry of another endpoint (a pod re-created on another veth
 * with the same address) is not ours to use.
 */
static __always_inline struct pw_ct_val *pw_ct_get(struct pw_ct_key *k, __u32 ep_id, __u64 now)
{
	struct pw_ct_val *v = pw_ct_lookup_call(k);

	if (!v)
		return NULL;
	if (pw_ct_expired(k, v, now)) {
		pw_ct_delete(k);
		return NULL;
	}
	if (v->ep_id != ep_id)
		return NULL;
	return v;
}

/*
 * A new entry. With the kernel's LRU_HASH the update was most of a new
 * flow's extra cost (~160 ns: two irq-disabling locks); the table's insert
 * is a hash, a look at one set and a compare-and-swap
 * (agent/bench/datapath.c has the measurements).
 */
static __always_inline void pw_ct_create(const struct pw_pkt *p, __u8 dir, __u32 generation,
					 __u32 ep_id, __u32 ifindex, __u32 peer_id, __u32 rule_id,
					 __u32 name_id, __u32 flags, __u64 now)
{
	struct pw_ct_key k;
	int stat;
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
	stat = pw_ct_insert(&k, &v);
#ifndef PW_COUNT_LOOKUPS /* the counting build: no stack left in pw_judge for it (no counted path evicts) */
	if (stat)
		pw_ct_stat(stat - 1);
#else
	(void)stat;
#endif
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
