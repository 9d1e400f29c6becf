/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A bounded DNS message reader for name learning (fqdn.h): the question,
 * and the A/AAAA records an answer gives for it, following the CNAME chain
 * that starts at the question. Everything is read from a copy of the
 * message in per-CPU scratch (maps.h), at offsets masked into the buffer,
 * so the verifier sees every access in bounds whatever the packet says.
 *
 * Bounds, each a reason to stop:
 *  - a name is at most 255 wire bytes and 127 labels of at most 63 bytes;
 *  - a compression pointer must point below the start of the label run it
 *    was found in (so each jump goes strictly back: no loop can last), and
 *    the walk of one name takes at most PW_DNS_NAME_STEPS steps;
 *  - at most PW_DNS_RR_MAX answer records are read, at most
 *    PW_DNS_CHAIN_MAX names make a chain; the question is not compressed.
 * A name or record that runs past the message, a reserved label type, a
 * bad pointer or a record of the wrong size makes the message malformed:
 * the caller learns nothing from it. A record that runs past the buffer
 * (a TCP message longer than PW_DNS_BUF) ends the reading without error:
 * what came before it counts.
 *
 * The loops are bpf_loop callbacks: the verifier checks each body once,
 * whatever the number of bytes, labels or records.
 */
#ifndef PW_BPF_DNSPARSE_H
#define PW_BPF_DNSPARSE_H

#include "lib/common.h"
#include "lib/maps.h"

#define PW_DNS_MASK        (PW_DNS_BUF - 1)
#define PW_DNS_NAME_STEPS  (PW_DNS_WIRE_MAX + PW_DNS_LABELS_MAX) /* bytes + jumps */

#define PW_DNS_TYPE_A      1
#define PW_DNS_TYPE_CNAME  5
#define PW_DNS_TYPE_AAAA   28
#define PW_DNS_CLASS_IN    1

#define PW_DNS_FLAG_QR     0x8000
#define PW_DNS_FLAG_TC     0x0200
#define PW_DNS_OPCODE(f)   (((f) >> 11) & 0xf)
#define PW_DNS_RCODE(f)    ((f) & 0xf)

/* what a read came to */
#define PW_DNS_OK          0
#define PW_DNS_MALFORMED   (-1)
#define PW_DNS_PAST_BUF    (-2) /* runs past the copy, not past the message */

/* name reads */
#define PW_NAME_QUESTION   (1u << 0) /* no compression pointer allowed */

/*
 * v, through memory the verifier does not track: a choice among constants
 * made in a loop (which way, which slot) would otherwise make every later
 * instruction be verified once per constant.
 */
static __always_inline __u32 pw_opaque(struct pw_dns_scratch *s, __u32 v)
{
	s->opaque = v;
	return s->opaque;
}

static __always_inline __u8 pw_dns_byte(const struct pw_dns_scratch *s, __u32 off)
{
	return s->msg[off & PW_DNS_MASK];
}

static __always_inline __u16 pw_dns_u16(const struct pw_dns_scratch *s, __u32 off)
{
	return ((__u16)pw_dns_byte(s, off) << 8) | pw_dns_byte(s, off + 1);
}

static __always_inline __u32 pw_dns_u32(const struct pw_dns_scratch *s, __u32 off)
{
	return ((__u32)pw_dns_u16(s, off) << 16) | pw_dns_u16(s, off + 2);
}

/*
 * Copy the DNS message at off (its length is msg_len) into s->msg, at most
 * PW_DNS_BUF bytes of it (s->len says how many). Returns 0, or -1 if the packet is shorter than
 * the DNS header.
 */
static __always_inline int pw_dns_copy(struct __sk_buff *skb, struct pw_dns_scratch *s, __u32 off,
				       __u32 msg_len)
{
	__u64 n = msg_len;

	if (n > PW_DNS_BUF)
		n = PW_DNS_BUF;
	asm volatile("" : "+r"(n)); /* keep the clamp in the verifier's sight */
	if (n < 12 || n > PW_DNS_BUF)
		return -1;
	if (bpf_skb_load_bytes(skb, off, s->msg, n))
		return -1;
	s->len = n;
	s->msg_len = msg_len;
	return 0;
}

/* ------------------------------------------------------------ one name */

struct pw_name_walk {
	struct pw_dns_scratch *s;
	__u64 h;        /* the current label's hash */
	__u16 pos;      /* the next byte to read */
	__u16 limit;    /* a pointer must point below this */
	__u16 end;      /* the offset after the name where it was found (0: not yet) */
	__u16 wire;     /* wire bytes of the name so far */
	__u8  rem;      /* bytes left of the current label */
	__u8  nlabels;
	__u8  flags;    /* PW_NAME_* */
	__s8  state;    /* 1 done, PW_DNS_MALFORMED, PW_DNS_PAST_BUF, 0 going on */
};

static __always_inline long pw_name_stop(struct pw_name_walk *w, int state)
{
	w->state = state;
	return 1;
}

/* One byte of a name (or one compression jump). */
static long pw_name_step(__u64 i, void *ctx)
{
	struct pw_name_walk *w = ctx;
	struct pw_dns_scratch *s = w->s;
	__u32 pos = w->pos, n;
	__u8 c;

	if (!s)
		return pw_name_stop(w, PW_DNS_MALFORMED);
	if (pos >= s->len)
		return pw_name_stop(w, s->len < s->msg_len ? PW_DNS_PAST_BUF : PW_DNS_MALFORMED);
	c = pw_dns_byte(s, pos);

	if (w->rem) {
		/* a byte of a label: lower-case it for the hash and for the compare */
		if (c >= 'A' && c <= 'Z') {
			c |= 0x20;
			s->msg[pos & PW_DNS_MASK] = c;
		}
		w->h = pw_name_hash_byte(w->h, c);
		w->pos = pos + 1;
		if (--w->rem == 0) {
			n = w->nlabels;
			s->label_hash[n & (PW_DNS_LABELS_MAX - 1)] = w->h;
			w->nlabels = n + 1;
		}
		return 0;
	}

	if (c == 0) { /* the root: the name ends */
		w->wire++;
		if (!w->end)
			w->end = pos + 1;
		return pw_name_stop(w, 1);
	}
	if ((c & 0xc0) == 0xc0) {
		__u32 target;

		if (w->flags & PW_NAME_QUESTION)
			return pw_name_stop(w, PW_DNS_MALFORMED);
		if (pos + 1 >= s->len)
			return pw_name_stop(w, s->len < s->msg_len ? PW_DNS_PAST_BUF :
							       PW_DNS_MALFORMED);
		target = ((__u32)(c & 0x3f) << 8) | pw_dns_byte(s, pos + 1);
		/* strictly back, below every byte of this name read so far: no loop */
		if (target >= w->limit)
			return pw_name_stop(w, PW_DNS_MALFORMED);
		if (!w->end)
			w->end = pos + 2;
		w->limit = target;
		w->pos = target;
		return 0;
	}
	if (c & 0xc0) /* 0x40, 0x80: reserved label types */
		return pw_name_stop(w, PW_DNS_MALFORMED);

	/* a label of c bytes (1..63): its length byte and bytes count, and the root's */
	w->wire += c + 1;
	if (w->wire + 1 > PW_DNS_WIRE_MAX - 1 || w->nlabels >= PW_DNS_LABELS_MAX - 1)
		return pw_name_stop(w, PW_DNS_MALFORMED);
	s->label_off[w->nlabels & (PW_DNS_LABELS_MAX - 1)] = pos;
	w->rem = c;
	w->h = PW_NAME_FNV_BASIS;
	w->pos = pos + 1;
	return 0;
}

/* The suffix hashes of the name just read, right to left. */
struct pw_name_fold {
	struct pw_dns_scratch *s;
	__u32 n;
	__u32 pad;
	__u64 h;
};

static long pw_name_fold_step(__u64 i, void *ctx)
{
	struct pw_name_fold *f = ctx;
	struct pw_dns_scratch *s = f->s;
	__u32 j;

	if (!s || i >= f->n)
		return 1;
	j = (f->n - 1 - (__u32)i) & (PW_DNS_LABELS_MAX - 1);
	f->h = pw_name_hash_suffix(f->h, s->label_hash[j]);
	s->suffix_hash[j] = f->h;
	return 0;
}

/*
 * Read the name at off. On success returns the offset after it (where the
 * record goes on), with its hash and number of labels in *out, its labels'
 * offsets in s->label_off[] and its suffix hashes in s->suffix_hash[]
 * (both [0, out->nlabels)). Else PW_DNS_MALFORMED or PW_DNS_PAST_BUF.
 *
 * A global function: verified once, whoever calls it.
 */
__noinline int pw_dns_name(struct pw_dns_scratch *s, __u32 off, __u32 flags,
			   struct pw_name_out *out)
{
	int end;
	struct pw_name_walk w = {};
	struct pw_name_fold f;

	if (!s || !out)
		return PW_DNS_MALFORMED;
	if (off >= s->len || off >= PW_DNS_BUF)
		return s->len < s->msg_len ? PW_DNS_PAST_BUF : PW_DNS_MALFORMED;
	w.s = s;
	w.pos = off;
	w.limit = off;
	w.flags = flags;
	bpf_loop(PW_DNS_NAME_STEPS, pw_name_step, &w, 0);
	if (w.state != 1)
		return w.state ? w.state : PW_DNS_MALFORMED; /* 0: out of steps */

	out->nlabels = w.nlabels;
	end = w.end & 0xffff;
	f.s = s;
	f.n = out->nlabels;
	f.pad = 0;
	f.h = PW_NAME_HASH_ROOT;
	bpf_loop(PW_DNS_LABELS_MAX, pw_name_fold_step, &f, 0);
	out->hash = f.h;
	return end;
}

/*
 * Are the len wire bytes at off (an uncompressed, lower-cased run: the
 * question) equal to v's pattern? Confirms a hash hit of the name set.
 */
__noinline int pw_dns_name_is(const struct pw_dns_scratch *s, __u32 off, __u32 len,
			      const struct pw_name_val *v)
{
	if (!s || !v || len != v->wire_len || len > PW_DNS_WIRE_MAX)
		return 0;
	for (__u32 i = 0; i < PW_DNS_WIRE_MAX; i++) {
		if (i >= len)
			return 1;
		if (pw_dns_byte(s, off + i) != v->wire[i])
			return 0;
	}
	return 1;
}

/* ------------------------------------------------------- the answers */

struct pw_rr_walk {
	struct pw_dns_scratch *s;
	__u32 pos;
	__u32 count;     /* records to read (at most PW_DNS_RR_MAX) */
	__u32 n_chain;
	__u32 chain_ttl; /* the smallest TTL of the CNAMEs followed */
	__u32 n_addrs;
	int   state;     /* 0 going on, 1 done, PW_DNS_MALFORMED, PW_DNS_PAST_BUF */
};

static __always_inline int pw_rr_in_chain(const struct pw_rr_walk *w, __u64 h)
{
	struct pw_dns_scratch *s = w->s;

	if (!s)
		return 0;
#pragma unroll
	for (int i = 0; i < PW_DNS_CHAIN_MAX; i++)
		if (i < w->n_chain && s->chain[i] == h)
			return 1;
	return 0;
}

static __always_inline long pw_rr_stop(struct pw_rr_walk *w, int state)
{
	w->state = state;
	return 1;
}

/* One answer record. */
static long pw_rr_step(__u64 i, void *ctx)
{
	struct pw_rr_walk *w = ctx;
	struct pw_dns_scratch *s = w->s;
	__u32 pos, type, class, ttl, rdlen, n;
	struct pw_name_out name;
	int end;

	if (!s)
		return pw_rr_stop(w, PW_DNS_MALFORMED);
	if (i >= w->count)
		return pw_rr_stop(w, 1);
	end = pw_dns_name(s, w->pos, 0, &name); /* the owner */
	if (end < 0)
		return pw_rr_stop(w, end);
	pos = end;
	if (pos + 10 > s->len)
		return pw_rr_stop(w, s->len < s->msg_len ? PW_DNS_PAST_BUF : PW_DNS_MALFORMED);
	type = pw_dns_u16(s, pos);
	class = pw_dns_u16(s, pos + 2);
	ttl = pw_dns_u32(s, pos + 4);
	rdlen = pw_dns_u16(s, pos + 8);
	pos += 10;
	if (pos + rdlen > s->msg_len)
		return pw_rr_stop(w, PW_DNS_MALFORMED);
	if (pos + rdlen > s->len)
		return pw_rr_stop(w, PW_DNS_PAST_BUF);
	w->pos = pos + rdlen;
	if (ttl & 0x80000000u) /* RFC 2181 8: a TTL with the top bit set means 0 */
		ttl = 0;

	if (class != PW_DNS_CLASS_IN || !pw_rr_in_chain(w, name.hash))
		return 0;
	if (type == PW_DNS_TYPE_CNAME) {
		end = pw_dns_name(s, pos, 0, &name); /* the target */
		if (end < 0)
			return pw_rr_stop(w, end);
		if ((__u32)end != pos + rdlen)
			return pw_rr_stop(w, PW_DNS_MALFORMED);
		if (!pw_rr_in_chain(w, name.hash) && w->n_chain < PW_DNS_CHAIN_MAX) {
			s->chain[w->n_chain & (PW_DNS_CHAIN_MAX - 1)] = name.hash;
			w->n_chain++;
			if (ttl < w->chain_ttl)
				w->chain_ttl = ttl;
		}
		return 0;
	}
	if (type != PW_DNS_TYPE_A && type != PW_DNS_TYPE_AAAA)
		return 0;
	if (rdlen != (type == PW_DNS_TYPE_A ? 4 : 16))
		return pw_rr_stop(w, PW_DNS_MALFORMED);
	if (w->n_addrs >= PW_DNS_RR_MAX)
		return 0;
	n = w->n_addrs & (PW_DNS_RR_MAX - 1);
	if (type == PW_DNS_TYPE_A) {
		__builtin_memset(s->addrs[n].addr, 0, 10);
		s->addrs[n].addr[10] = 0xff;
		s->addrs[n].addr[11] = 0xff;
#pragma unroll
		for (int k = 0; k < 4; k++)
			s->addrs[n].addr[12 + k] = pw_dns_byte(s, pos + k);
	} else {
#pragma unroll
		for (int k = 0; k < 16; k++)
			s->addrs[n].addr[k] = pw_dns_byte(s, pos + k);
	}
	s->addrs[n].ttl = ttl < w->chain_ttl ? ttl : w->chain_ttl;
	w->n_addrs++;
	return 0;
}

/*
 * Read count answer records from off, the chain starting at the question
 * hash qhash: the addresses go to s->addrs[0, *n_addrs), each with the
 * smallest TTL of its record and the CNAMEs before it. Returns PW_DNS_OK
 * (PW_DNS_PAST_BUF also means: what was read counts), or PW_DNS_MALFORMED.
 */
__noinline int pw_dns_answers(struct pw_dns_scratch *s, __u32 off, __u32 count, __u64 qhash,
			      __u32 *n_addrs)
{
	struct pw_rr_walk w = {};

	if (!s || !n_addrs)
		return PW_DNS_MALFORMED;
	s->chain[0] = qhash;
	w.s = s;
	w.pos = off;
	w.count = count < PW_DNS_RR_MAX ? count : PW_DNS_RR_MAX;
	w.n_chain = 1;
	w.chain_ttl = 0xffffffffu;
	bpf_loop(PW_DNS_RR_MAX, pw_rr_step, &w, 0);
	*n_addrs = w.n_addrs;
	if (w.state == PW_DNS_MALFORMED)
		return PW_DNS_MALFORMED;
	return w.state == PW_DNS_PAST_BUF ? PW_DNS_PAST_BUF : PW_DNS_OK;
}

#endif
