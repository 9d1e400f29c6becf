/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The conntrack table's protocol, one copy for the BPF programs
 * (bpf/lib/conntrack.h) and the agent (agent/kernel/cttable.c): how a key
 * finds its set, how a way is found, claimed, published and freed. The
 * layout is abi.h's (struct pw_ct_set); this file is the rules for using
 * it. Both sides reach a set by pointer (a map value in BPF, the mmap of
 * the array in the agent) and change headers only with compare-and-swap
 * (__sync_val_compare_and_swap, 64-bit: clang makes it BPF_CMPXCHG).
 *
 * A way's header word (64 bits): the key's tag (the hash's high half) above
 * a 32-bit state: bit 0 WRITING (claimed by one writer, its key or value
 * being written), bit 1 LIVE (a published entry), bits 2..31 a count of
 * the way's writes. A writer claims a way by swapping the header it read for
 * the same header with WRITING set; only one claim of that header wins, and
 * nobody else changes a header that says WRITING. It writes the key and the
 * value, then publishes the new tag with LIVE and the count moved on (one
 * more swap: on a weakly ordered CPU the atomic orders the stores before
 * it). A delete swaps a live header for a free one (count moved on).
 *
 * A reader (pw_ct_set_find) takes a way only if its header says LIVE and
 * not WRITING, the tag is the key's, the key compares equal, and the header
 * is still the same word after the compare: a key being written is never a
 * hit, and neither is a key replaced while it was compared (the count moved).
 * What remains, all as with the kernel's LRU hash, whose elements are
 * reused as soon as they are freed:
 *  - a program holds a value pointer while another CPU evicts or deletes the
 *    way and writes another flow there: it reads or refreshes that flow's
 *    value (last_seen_ns, flags, ifindex) for the rest of its run, tens of
 *    nanoseconds. An eviction happens only in a full set; the other flow is
 *    new, so the worst outcome is a field of a just-made entry written as
 *    the old flow's packet would have written it;
 *  - the value is written in place by the packets of its flow (pw_ct_touch)
 *    without a lock, as before: last writer wins, fields are 32/64-bit.
 *  - the reader's loads are ordered by x86's memory model; BPF has no load
 *    barrier, so on a weakly ordered CPU the header re-read may in theory be
 *    served before the key compare. The key compare then reads a key half
 *    written: it matches only if the half-written bytes are exactly the
 *    key looked for, i.e. old and new key agree with it where they differ.
 * Two CPUs inserting the same new key at once may both succeed in two
 * ways of the set: lookups find the first, the other ages out.
 */
#ifndef PODWALL_CTTABLE_H
#define PODWALL_CTTABLE_H

#include "podwall/abi.h"

#define PW_CT_HDR_WRITING   1ull
#define PW_CT_HDR_LIVE      2ull
#define PW_CT_HDR_COUNT_ONE 4ull
#define PW_CT_HDR_STATE     0xffffffffull

#define PW_CT_READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define PW_CT_BARRIER()    __asm__ __volatile__("" ::: "memory")

#ifndef PW_CT_INLINE
#define PW_CT_INLINE static inline __attribute__((always_inline))
#endif

/*
 * A mix of the five words of the 40-byte key (pad zero), written for this
 * table: a multiply and a shift per word. The low bits pick the set, the
 * high 32 bits are the tag.
 */
PW_CT_INLINE __u64 pw_ct_hash(const struct pw_ct_key *k)
{
	const __u64 *w = (const __u64 *)k;
	__u64 h = 0x6a09e667f3bcc909ull;

	for (int i = 0; i < 5; i++) {
		h = (h ^ w[i]) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 32);
}

PW_CT_INLINE __u32 pw_ct_tag(__u64 hash)
{
	return (__u32)(hash >> 32);
}

PW_CT_INLINE int pw_ct_key_eq(const struct pw_ct_key *a, const struct pw_ct_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) |
		(x[4] ^ y[4])) == 0;
}

/* The header a published entry of tag has after hd (its previous word). */
PW_CT_INLINE __u64 pw_ct_hdr_live(__u64 hd, __u32 tag)
{
	return ((__u64)tag << 32) |
	       (((hd & PW_CT_HDR_STATE) + PW_CT_HDR_COUNT_ONE) & ~(PW_CT_HDR_WRITING | PW_CT_HDR_LIVE) &
		PW_CT_HDR_STATE) | PW_CT_HDR_LIVE;
}

/* The header of a freed way after hd. */
PW_CT_INLINE __u64 pw_ct_hdr_free(__u64 hd)
{
	return ((hd & PW_CT_HDR_STATE) + PW_CT_HDR_COUNT_ONE) &
	       ~(PW_CT_HDR_WRITING | PW_CT_HDR_LIVE) & PW_CT_HDR_STATE;
}

PW_CT_INLINE int pw_ct_hdr_is_live(__u64 hd)
{
	return (hd & (PW_CT_HDR_LIVE | PW_CT_HDR_WRITING)) == PW_CT_HDR_LIVE;
}

/*
 * The way of set s that holds k (tag of its hash), or -1; *hd_out (if not
 * NULL) the header it was found under, for a delete.
 */
PW_CT_INLINE int pw_ct_set_find(struct pw_ct_set *s, const struct pw_ct_key *k, __u32 tag,
				__u64 *hd_out)
{
	for (int i = 0; i < PW_CT_WAYS; i++) {
		__u64 hd = PW_CT_READ_ONCE(s->hdr[i]);

		if (!pw_ct_hdr_is_live(hd) || (__u32)(hd >> 32) != tag)
			continue;
		if (!pw_ct_key_eq(&s->ways[i].key, k))
			continue;
		PW_CT_BARRIER();
		if (PW_CT_READ_ONCE(s->hdr[i]) != hd)
			continue;
		if (hd_out)
			*hd_out = hd;
		return i;
	}
	return -1;
}

PW_CT_INLINE __u64 pw_ct_timeout_ns(__u8 proto, __u32 flags)
{
	__u64 s;

	if (proto == 6 || proto == 132) { /* TCP, SCTP */
		if (flags & PW_CT_CLOSING)
			s = PW_CT_TCP_CLOSE_TIMEOUT;
		else if (!(flags & PW_CT_SEEN_REPLY))
			s = PW_CT_TCP_SYN_TIMEOUT;
		else
			s = PW_CT_TCP_TIMEOUT;
	} else if (proto == 1 || proto == 58) { /* ICMP, ICMPv6 */
		s = PW_CT_ICMP_TIMEOUT;
	} else {
		s = PW_CT_UDP_TIMEOUT;
	}
	return s * 1000000000ull;
}

/* Whether the entry v of key k has outlived its timeout at now. */
PW_CT_INLINE int pw_ct_expired(const struct pw_ct_key *k, const struct pw_ct_val *v, __u64 now)
{
	return (__s64)(now - v->last_seen_ns) > (__s64)pw_ct_timeout_ns(k->proto, v->flags);
}

/* pw_ct_set_pick's answer: the way, with this bit if it evicts a live entry. */
#define PW_CT_PICK_EVICT 0x100

/*
 * The way an insert of k takes in s: k's own if it is there (an insert
 * replaces), else a free way, else an expired entry, else the entry seen
 * least recently (the lowest last_seen_ns). No LRU list: a set is small.
 * One score per way, the lowest wins: own 0, free 1, expired 2, live
 * 3 + last_seen_ns. -1 if every way is being written. The claim swaps the
 * header it reads then: if the way changed meanwhile, the newer entry is
 * the one replaced (a race of two inserts into one full set).
 */
PW_CT_INLINE int pw_ct_set_pick(struct pw_ct_set *s, const struct pw_ct_key *k, __u32 tag,
				__u64 now)
{
	__u64 best = ~0ull;
	int way = -1;

	for (int i = 0; i < PW_CT_WAYS; i++) {
		__u64 hd = PW_CT_READ_ONCE(s->hdr[i]), score;
		const struct pw_ct_entry *e = &s->ways[i];

		if (hd & PW_CT_HDR_WRITING)
			continue;
		if (!(hd & PW_CT_HDR_LIVE))
			score = 1;
		else if ((__u32)(hd >> 32) == tag && pw_ct_key_eq(&e->key, k))
			return i;
		else if (pw_ct_expired(&e->key, &e->val, now))
			score = 2;
		else
			score = 3 + e->val.last_seen_ns;
		if (score < best) {
			best = score;
			way = i;
		}
	}
	return way < 0 ? -1 : way | (best > 2 ? PW_CT_PICK_EVICT : 0);
}

/* Claim way i of s, last seen as hd: 1 if this writer now owns it. */
PW_CT_INLINE int pw_ct_way_claim(struct pw_ct_set *s, int i, __u64 hd)
{
	return __sync_val_compare_and_swap(&s->hdr[i], hd, hd | PW_CT_HDR_WRITING) == hd;
}

/* Publish the entry written into claimed way i (claimed from hd). */
PW_CT_INLINE void pw_ct_way_publish(struct pw_ct_set *s, int i, __u64 hd, __u32 tag)
{
	__sync_val_compare_and_swap(&s->hdr[i], hd | PW_CT_HDR_WRITING, pw_ct_hdr_live(hd, tag));
}

/* Free way i of s if its header is still hd: 1 if this call freed it. */
PW_CT_INLINE int pw_ct_way_free(struct pw_ct_set *s, int i, __u64 hd)
{
	return __sync_val_compare_and_swap(&s->hdr[i], hd, pw_ct_hdr_free(hd)) == hd;
}

#endif
