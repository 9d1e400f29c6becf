/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing: Ethernet, IPv4, IPv6 with its extension headers, the
 * ports of TCP/UDP/SCTP, ICMP and ICMPv6 (echo identifiers, neighbour
 * discovery, and the tuple quoted by an error).
 *
 * Everything is read with bpf_skb_load_bytes: headers sit at offsets only
 * known at run time (IPv4 options, IPv6 extension chains) and the helper
 * keeps the verifier out of packet-pointer arithmetic. A header that is cut
 * short makes the packet malformed (dropped by the caller).
 *
 * ICMP echo: the identifier goes into sport for a request and into dport
 * for a reply, so that the reply, reversed, finds the request's conntrack
 * entry like any other reply does.
 */
#ifndef PW_BPF_PARSE_H
#define PW_BPF_PARSE_H

#include "lib/common.h"

#define PW_FRAG_NONE  0
#define PW_FRAG_FIRST 1 /* offset 0, more fragments follow */
#define PW_FRAG_LATER 2 /* offset > 0: no L4 header */

#define PW_V6_EXT_MAX 8 /* extension headers followed before giving up */

#define PW_ND_FIRST 133 /* router solicitation */
#define PW_ND_LAST  137 /* redirect */
/* Multicast listener discovery: link-local control traffic like ND (RFC 2710, 3810). */
#define PW_MLD_QUERY     130
#define PW_MLD_V1_DONE   132
#define PW_MLD_V2_REPORT 143

#define PW_TCP_FIN 0x01
#define PW_TCP_SYN 0x02
#define PW_TCP_RST 0x04
#define PW_TCP_ACK 0x10

struct pw_pkt {
	__u8   saddr[16];
	__u8   daddr[16];
	__u8   isaddr[16];   /* ICMP error: the quoted packet's tuple */
	__u8   idaddr[16];
	__be16 sport;
	__be16 dport;
	__be16 isport;
	__be16 idport;
	__u32  frag_id;
	__u32  tcp_seq;      /* TCP: the sequence number (host order) */
	__u32  l4_off;       /* from the start of the frame */
	__u32  payload_off;  /* TCP/UDP payload; 0 if none */
	__u8   family;       /* 4 or 6 */
	__u8   proto;
	__u8   iproto;
	__u8   frag;         /* PW_FRAG_* */
	__u8   tcp_flags;
	__u8   icmp_err;     /* an ICMP error whose inner tuple is parsed */
	__u8   nd;           /* IPv6 neighbour discovery or MLD (link-local control) */
	__u8   pad;
};

/* A big-endian 32-bit field at b, in host order. */
static __always_inline __u32 pw_load_be32(const __u8 *b)
{
	__be32 v;

	__builtin_memcpy(&v, b, 4);
	return bpf_ntohl(v);
}

/* The ISN a TCP SYN (without ACK) opens a connection with, else 0. */
static __always_inline __u32 pw_tcp_isn(const struct pw_pkt *p)
{
	if (p->proto != PW_IPPROTO_TCP || (p->tcp_flags & (PW_TCP_SYN | PW_TCP_ACK)) != PW_TCP_SYN)
		return 0;
	return p->tcp_seq;
}

/* The EtherType of the frame's header (in place when linear, as it always is). */
static __always_inline __u16 pw_eth_proto(struct __sk_buff *skb)
{
	struct ethhdr *eth = (void *)(long)skb->data;
	__be16 proto;

	if ((void *)(eth + 1) <= (void *)(long)skb->data_end)
		return bpf_ntohs(eth->h_proto);
	if (bpf_skb_load_bytes(skb, offsetof(struct ethhdr, h_proto), &proto, sizeof(proto)))
		return 0;
	return bpf_ntohs(proto);
}

/*
 * Ports (and TCP flags) of an L4 header at off. ICMP echo identifiers go
 * into the ports as described above. Returns 0, or -1 if cut short.
 */
static __always_inline int pw_parse_ports(struct __sk_buff *skb, __u32 off, __u8 proto,
					  __be16 *sport, __be16 *dport)
{
	__u8 h[8];

	switch (proto) {
	case PW_IPPROTO_TCP:
	case PW_IPPROTO_UDP:
	case PW_IPPROTO_SCTP:
		if (bpf_skb_load_bytes(skb, off, h, 4))
			return -1;
		__builtin_memcpy(sport, &h[0], 2);
		__builtin_memcpy(dport, &h[2], 2);
		return 0;
	case PW_IPPROTO_ICMP:
	case PW_IPPROTO_ICMPV6:
		if (bpf_skb_load_bytes(skb, off, h, 8))
			return -1;
		if (h[0] == ICMP_ECHO || h[0] == ICMPV6_ECHO_REQUEST)
			__builtin_memcpy(sport, &h[4], 2);
		else if (h[0] == ICMP_ECHOREPLY || h[0] == ICMPV6_ECHO_REPLY)
			__builtin_memcpy(dport, &h[4], 2);
		return 0;
	}
	return 0;
}

static __always_inline int pw_icmp4_is_error(__u8 type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
	       type == ICMP_PARAMETERPROB || type == ICMP_SOURCE_QUENCH;
}

static __always_inline int pw_icmp6_is_error(__u8 type)
{
	return type == ICMPV6_DEST_UNREACH || type == ICMPV6_PKT_TOOBIG ||
	       type == ICMPV6_TIME_EXCEED || type == ICMPV6_PARAMPROB;
}

/* The packet quoted by an ICMP error, at off (after the 8-byte ICMP header). */
static __always_inline int pw_parse_inner(struct __sk_buff *skb, struct pw_pkt *p, __u32 off)
{
	if (p->family == 4) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)))
			return -1;
		if (ip.version != 4 || ip.ihl < 5)
			return -1;
		pw_addr_v4(p->isaddr, ip.saddr);
		pw_addr_v4(p->idaddr, ip.daddr);
		p->iproto = ip.protocol;
		if (bpf_ntohs(ip.frag_off) & 0x1fff)
			return 0; /* quotes a later fragment: no ports */
		return pw_parse_ports(skb, off + ip.ihl * 4, ip.protocol, &p->isport, &p->idport);
	} else {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)))
			return -1;
		if (ip6.version != 6)
			return -1;
		__builtin_memcpy(p->isaddr, &ip6.saddr, 16);
		__builtin_memcpy(p->idaddr, &ip6.daddr, 16);
		p->iproto = ip6.nexthdr;
		/* extension headers in a quoted packet: no ports (rare) */
		return pw_parse_ports(skb, off + sizeof(ip6), ip6.nexthdr, &p->isport, &p->idport);
	}
}

/*
 * The common case without a helper call: IPv4 without options or IPv6
 * without extension headers, not a fragment, carrying TCP or UDP, headers
 * in the linear part of the skb. Read in place (direct packet access):
 * bpf_skb_load_bytes costs a helper call and a copy per header, ~35 ns of
 * an established packet. Fills p exactly as the general path below would
 * and returns 1; returns 0 for anything else, which the general path then
 * parses (or calls malformed) from the start.
 */
static __always_inline int pw_parse_fast(struct __sk_buff *skb, __u16 eth_proto, struct pw_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	__u8 *l4, proto;
	__u32 off;

	if (eth_proto == ETH_P_IP) {
		struct iphdr *ip = data + ETH_HLEN;

		if ((void *)(ip + 1) > end)
			return 0;
		if (ip->version != 4 || ip->ihl != 5 || bpf_ntohs(ip->tot_len) < sizeof(*ip) ||
		    (ip->frag_off & bpf_htons(0x3fff)))
			return 0;
		proto = ip->protocol;
		if (proto != PW_IPPROTO_TCP && proto != PW_IPPROTO_UDP)
			return 0;
		p->family = 4;
		pw_addr_v4(p->saddr, ip->saddr);
		pw_addr_v4(p->daddr, ip->daddr);
		p->frag_id = bpf_ntohs(ip->id);
		l4 = (__u8 *)(ip + 1);
		off = ETH_HLEN + sizeof(*ip);
	} else {
		struct ipv6hdr *ip6 = data + ETH_HLEN;

		if ((void *)(ip6 + 1) > end)
			return 0;
		if (ip6->version != 6)
			return 0;
		proto = ip6->nexthdr;
		if (proto != PW_IPPROTO_TCP && proto != PW_IPPROTO_UDP)
			return 0;
		p->family = 6;
		__builtin_memcpy(p->saddr, &ip6->saddr, 16);
		__builtin_memcpy(p->daddr, &ip6->daddr, 16);
		l4 = (__u8 *)(ip6 + 1);
		off = ETH_HLEN + sizeof(*ip6);
	}

	if (proto == PW_IPPROTO_TCP) {
		__u32 doff;

		if ((void *)(l4 + 14) > end)
			return 0;
		doff = (__u32)(l4[12] >> 4) * 4;
		if (doff < 20 || skb->len < off + doff)
			return 0;
		p->tcp_flags = l4[13];
		p->tcp_seq = pw_load_be32(l4 + 4);
		p->payload_off = off + doff;
	} else {
		if ((void *)(l4 + 8) > end || skb->len < off + 8)
			return 0;
		p->payload_off = off + 8;
	}
	__builtin_memcpy(&p->sport, l4, 2);
	__builtin_memcpy(&p->dport, l4 + 2, 2);
	p->proto = proto;
	p->l4_off = off;
	return 1;
}

/* Returns 0, or -1 for a malformed packet. eth_proto is ETH_P_IP or ETH_P_IPV6. */
static __always_inline int pw_parse(struct __sk_buff *skb, __u16 eth_proto, struct pw_pkt *p)
{
	__u32 off = ETH_HLEN;
	__u8 proto;

	if (pw_parse_fast(skb, eth_proto, p))
		return 0;

	if (eth_proto == ETH_P_IP) {
		struct iphdr ip;
		__u16 frag;

		if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)))
			return -1;
		if (ip.version != 4 || ip.ihl < 5 || bpf_ntohs(ip.tot_len) < ip.ihl * 4)
			return -1;
		p->family = 4;
		pw_addr_v4(p->saddr, ip.saddr);
		pw_addr_v4(p->daddr, ip.daddr);
		proto = ip.protocol;
		frag = bpf_ntohs(ip.frag_off);
		p->frag_id = bpf_ntohs(ip.id);
		if (frag & 0x1fff)
			p->frag = PW_FRAG_LATER;
		else if (frag & 0x2000)
			p->frag = PW_FRAG_FIRST;
		off += ip.ihl * 4;
	} else {
		struct ipv6hdr ip6;
		int i;

		if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)))
			return -1;
		if (ip6.version != 6)
			return -1;
		p->family = 6;
		__builtin_memcpy(p->saddr, &ip6.saddr, 16);
		__builtin_memcpy(p->daddr, &ip6.daddr, 16);
		proto = ip6.nexthdr;
		off += sizeof(ip6);

		for (i = 0; i < PW_V6_EXT_MAX; i++) {
			__u8 h[8];

			if (proto != PW_IPPROTO_HOPOPTS && proto != PW_IPPROTO_ROUTING &&
			    proto != PW_IPPROTO_DSTOPTS && proto != PW_IPPROTO_AH &&
			    proto != PW_IPPROTO_FRAGMENT)
				break;
			if (bpf_skb_load_bytes(skb, off, h, sizeof(h)))
				return -1;
			if (proto == PW_IPPROTO_FRAGMENT) {
				__u16 fo = ((__u16)h[2] << 8) | h[3];

				p->frag_id = ((__u32)h[4] << 24) | ((__u32)h[5] << 16) |
					     ((__u32)h[6] << 8) | h[7];
				if (fo & 0xfff8)
					p->frag = PW_FRAG_LATER;
				else if (fo & 1)
					p->frag = PW_FRAG_FIRST;
				off += 8;
			} else if (proto == PW_IPPROTO_AH) {
				off += ((__u32)h[1] + 2) * 4;
			} else {
				off += ((__u32)h[1] + 1) * 8;
			}
			proto = h[0];
		}
		if (proto == PW_IPPROTO_HOPOPTS || proto == PW_IPPROTO_ROUTING ||
		    proto == PW_IPPROTO_DSTOPTS || proto == PW_IPPROTO_AH ||
		    proto == PW_IPPROTO_FRAGMENT)
			return -1; /* chain longer than we follow */
	}

	p->proto = proto;
	p->l4_off = off;
	if (p->frag == PW_FRAG_LATER)
		return 0;

	switch (proto) {
	case PW_IPPROTO_TCP: {
		__u8 h[14];

		if (bpf_skb_load_bytes(skb, off, h, sizeof(h)))
			return -1;
		if ((h[12] >> 4) < 5 || skb->len < off + (h[12] >> 4) * 4)
			return -1;
		__builtin_memcpy(&p->sport, &h[0], 2);
		__builtin_memcpy(&p->dport, &h[2], 2);
		p->tcp_flags = h[13];
		p->tcp_seq = pw_load_be32(&h[4]);
		p->payload_off = off + (h[12] >> 4) * 4;
		return 0;
	}
	case PW_IPPROTO_UDP:
		if (skb->len < off + 8)
			return -1;
		p->payload_off = off + 8;
		return pw_parse_ports(skb, off, proto, &p->sport, &p->dport);
	case PW_IPPROTO_SCTP:
		if (skb->len < off + 12) /* the common header */
			return -1;
		return pw_parse_ports(skb, off, proto, &p->sport, &p->dport);
	case PW_IPPROTO_ICMP:
	case PW_IPPROTO_ICMPV6: {
		__u8 type;

		if ((proto == PW_IPPROTO_ICMP) != (p->family == 4))
			return 0; /* ICMP in IPv6 or ICMPv6 in IPv4: no ports */
		if (bpf_skb_load_bytes(skb, off, &type, 1))
			return -1;
		if (p->family == 6 && ((type >= PW_ND_FIRST && type <= PW_ND_LAST) ||
				       (type >= PW_MLD_QUERY && type <= PW_MLD_V1_DONE) ||
				       type == PW_MLD_V2_REPORT)) {
			p->nd = 1;
			return 0;
		}
		if (p->family == 4 ? pw_icmp4_is_error(type) : pw_icmp6_is_error(type)) {
			p->icmp_err = 1;
			return pw_parse_inner(skb, p, off + 8);
		}
		return pw_parse_ports(skb, off, proto, &p->sport, &p->dport);
	}
	}
	return 0;
}

#endif
