/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The question name of a DNS message, for events: "everything broke after
 * default-deny" is easier to read as "api.example.com dropped"; a learned
 * address reads as the name the pod asked for (fqdn.h). The DNS
 * allowance and its counters are part of the verdict (policy.h).
 */
#ifndef PW_BPF_DNS_H
#define PW_BPF_DNS_H

#include "lib/common.h"
#include "lib/parse.h"

#define PW_DNS_HDR_LEN 12

static __always_inline int pw_is_dns_query(const struct pw_pkt *p)
{
	return (p->proto == PW_IPPROTO_UDP || p->proto == PW_IPPROTO_TCP) &&
	       p->dport == bpf_htons(53) && p->frag != PW_FRAG_LATER && p->payload_off;
}

/*
 * Turn the wire form of a name in out[0, n) ("\3www\7example\3com\0"),
 * in place, into "www.example.com", NUL-terminated (PW_DNS_NAME_MAX bytes;
 * longer names are cut): every byte moves one place left and each length
 * byte after the first becomes a dot. Returns 1 if a name was found.
 */
static __always_inline int pw_dns_dotted(char *out, __u64 n)
{
	__u8 rem;
	int i;

	/*
	 * rem counts the bytes left in the current label: comparing it with a
	 * constant (never with i) keeps the verifier's states few.
	 */
	rem = out[0];
	if (rem == 0 || (rem & 0xc0)) {
		out[0] = 0;
		return 0;
	}
	for (i = 0; i < PW_DNS_NAME_MAX - 1; i++) {
		__u8 c;

		if ((__u64)i + 1 >= n) {
			out[i] = 0;
			return 1;
		}
		c = out[i + 1];
		if (rem == 0) {
			if (c == 0 || (c & 0xc0)) {
				out[i] = 0;
				return 1;
			}
			out[i] = '.';
			rem = c;
		} else {
			out[i] = c;
			rem--;
		}
	}
	out[PW_DNS_NAME_MAX - 1] = 0;
	return 1;
}

/*
 * Write the question name of the query in p, dotted and NUL-terminated, to
 * out (PW_DNS_NAME_MAX bytes; longer names are cut). Returns 1 if a name
 * was found.
 */
static __always_inline int pw_dns_qname(struct __sk_buff *skb, const struct pw_pkt *p, char *out)
{
	__u32 off = p->payload_off;
	__u64 n;

	if (p->proto == PW_IPPROTO_TCP)
		off += 2; /* the message length */
	off += PW_DNS_HDR_LEN;
	if (off >= skb->len)
		return 0;
	/* 64-bit all along, and a barrier: the verifier must see the clamp */
	n = (__u64)skb->len - off;
	if (n > PW_DNS_NAME_MAX)
		n = PW_DNS_NAME_MAX;
	asm volatile("" : "+r"(n));
	if (n < 1 || n > PW_DNS_NAME_MAX)
		return 0;
	if (bpf_skb_load_bytes(skb, off, out, n))
		return 0;
	return pw_dns_dotted(out, n);
}

#endif
