/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pkt: the frame builder (pkt.h). Layout: Ethernet, IPv4 or IPv6 (+
 * extension headers), L4 header, payload; lengths and checksums filled in
 * last, once everything after them is in place.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/if_ether.h>

#include "kernel/pkt.h"

static const uint8_t pkt_src_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t pkt_dst_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

static bool is_v4(const uint8_t a[16])
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a, prefix, sizeof(prefix));
}

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = v >> 8;
	b[1] = v;
}

static void put32(uint8_t *b, uint32_t v)
{
	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The L4 checksum with the IPv4 or IPv6 pseudo-header. */
static uint16_t l4_csum(const struct pw_pkt_spec *s, bool v4, uint8_t proto, const uint8_t *l4,
			size_t len)
{
	uint8_t tail[4];
	uint32_t sum = 0;

	if (v4) {
		sum = csum_add(sum, s->saddr + 12, 4);
		sum = csum_add(sum, s->daddr + 12, 4);
		sum += proto;
		sum += len;
	} else {
		sum = csum_add(sum, s->saddr, 16);
		sum = csum_add(sum, s->daddr, 16);
		put32(tail, len);
		sum = csum_add(sum, tail, 4);
		sum += proto;
	}
	return csum_fold(csum_add(sum, l4, len));
}

static int room(uint32_t off, size_t need)
{
	return off + need <= PW_PKT_MAX ? 0 : -EMSGSIZE;
}

/* The L4 header and payload at b; returns its length or a negative errno. */
static int build_l4(const struct pw_pkt_spec *s, bool v4, uint8_t *b, uint32_t off)
{
	uint32_t hlen = 0, len;
	uint8_t proto = s->proto;

	if (s->frag_offset) {
		hlen = 0; /* a later fragment: payload only */
	} else if (proto == IPPROTO_TCP) {
		hlen = 20;
	} else if (proto == IPPROTO_UDP) {
		hlen = 8;
	} else if (proto == IPPROTO_SCTP) {
		hlen = 12 + 20; /* common header + INIT chunk */
	} else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		hlen = 8;
	}
	if (room(off, hlen + s->payload_len))
		return -EMSGSIZE;
	memset(b, 0, hlen);

	if (!s->frag_offset) {
		switch (proto) {
		case IPPROTO_TCP:
			put16(b, s->sport);
			put16(b + 2, s->dport);
			put32(b + 4, s->tcp_seq ? s->tcp_seq : 1000);  /* seq */
			put32(b + 8, s->tcp_flags & PW_TCPF_ACK ? 1 : 0);
			b[12] = 5 << 4;                               /* data offset */
			b[13] = s->tcp_flags;
			put16(b + 14, 65535);                         /* window */
			break;
		case IPPROTO_UDP:
			put16(b, s->sport);
			put16(b + 2, s->dport);
			put16(b + 4, 8 + s->payload_len);
			break;
		case IPPROTO_SCTP:
			put16(b, s->sport);
			put16(b + 2, s->dport);
			b[12] = 1;          /* INIT */
			put16(b + 14, 20);  /* chunk length */
			put32(b + 16, 0x01020304);
			put32(b + 20, 65536);
			put16(b + 24, 1);
			put16(b + 26, 1);
			put32(b + 28, 1);
			break;
		case IPPROTO_ICMP:
		case IPPROTO_ICMPV6:
			b[0] = s->icmp_type;
			b[1] = s->icmp_code;
			if (!s->quote) {
				put16(b + 4, s->sport); /* echo identifier */
				put16(b + 6, 1);        /* sequence */
			}
			break;
		}
	}

	len = hlen;
	if (s->quote && (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) && !s->frag_offset) {
		const struct pw_pkt *q = s->quote;
		uint32_t qlen;

		if (q->len <= ETH_HLEN)
			return -EINVAL;
		qlen = q->len - ETH_HLEN;
		if (v4) {
			uint32_t ihl = (q->data[ETH_HLEN] & 0x0f) * 4;

			if (qlen > ihl + 8)
				qlen = ihl + 8;
		}
		if (room(off, len + qlen))
			return -EMSGSIZE;
		memcpy(b + len, q->data + ETH_HLEN, qlen);
		len += qlen;
	}
	if (room(off, len + s->payload_len))
		return -EMSGSIZE;
	if (s->payload)
		memcpy(b + len, s->payload, s->payload_len);
	else
		memset(b + len, 0, s->payload_len);
	len += s->payload_len;
	return len;
}

int pw_pkt_build(struct pw_pkt *p, const struct pw_pkt_spec *s)
{
	bool v4 = is_v4(s->saddr);
	uint32_t off = ETH_HLEN, ip_off = ETH_HLEN, l4_off;
	uint8_t ttl = s->ttl ? s->ttl : 64;
	bool v6_frag = s->v6_frag_hdr || s->frag_offset || s->more_frags;
	uint8_t *nexthdr;
	int l4len;

	if (v4 != is_v4(s->daddr) || (s->frag_offset & 7))
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	memcpy(p->data, pkt_dst_mac, 6);
	memcpy(p->data + 6, pkt_src_mac, 6);
	put16(p->data + 12, v4 ? ETH_P_IP : ETH_P_IPV6);

	if (v4) {
		uint8_t *ip = p->data + ip_off;
		uint16_t frag = s->frag_offset / 8;

		if (s->more_frags)
			frag |= 0x2000;
		ip[0] = 0x45;
		put16(ip + 4, (uint16_t)s->frag_id);
		put16(ip + 6, frag);
		ip[8] = ttl;
		ip[9] = s->proto;
		memcpy(ip + 12, s->saddr + 12, 4);
		memcpy(ip + 16, s->daddr + 12, 4);
		off += 20;
	} else {
		uint8_t *ip = p->data + ip_off;

		ip[0] = 0x60;
		ip[7] = ttl;
		memcpy(ip + 8, s->saddr, 16);
		memcpy(ip + 24, s->daddr, 16);
		nexthdr = &ip[6];
		off += 40;
		if (s->v6_hbh) {
			uint8_t *h = p->data + off;

			*nexthdr = IPPROTO_HOPOPTS;
			nexthdr = &h[0];
			h[1] = 0;     /* 8 bytes */
			h[2] = 1;     /* PadN */
			h[3] = 4;
			off += 8;
		}
		if (s->v6_dstopts) {
			uint8_t *h = p->data + off;

			*nexthdr = IPPROTO_DSTOPTS;
			nexthdr = &h[0];
			h[1] = 0;
			h[2] = 1;
			h[3] = 4;
			off += 8;
		}
		if (v6_frag) {
			uint8_t *h = p->data + off;

			*nexthdr = IPPROTO_FRAGMENT;
			nexthdr = &h[0];
			put16(h + 2, (uint16_t)(s->frag_offset | (s->more_frags ? 1 : 0)));
			put32(h + 4, s->frag_id);
			off += 8;
		}
		*nexthdr = s->proto;
	}

	l4_off = off;
	l4len = build_l4(s, v4, p->data + l4_off, l4_off);
	if (l4len < 0)
		return l4len;
	p->len = l4_off + l4len;

	/* checksums over what is there (a first fragment: its own bytes) */
	if (!s->frag_offset) {
		uint8_t *l4 = p->data + l4_off;
		int at = -1;

		switch (s->proto) {
		case IPPROTO_TCP: at = 16; break;
		case IPPROTO_UDP: at = 6; break;
		case IPPROTO_ICMPV6: at = 2; break;
		case IPPROTO_ICMP:
			put16(l4 + 2, csum_fold(csum_add(0, l4, l4len)));
			break;
		}
		if (at >= 0) {
			uint16_t c = l4_csum(s, v4, s->proto, l4, l4len);

			if (s->proto == IPPROTO_UDP && !c)
				c = 0xffff;
			put16(l4 + at, c);
		}
	}

	if (v4) {
		uint8_t *ip = p->data + ip_off;

		put16(ip + 2, p->len - ip_off);
		put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	} else {
		put16(p->data + ip_off + 4, p->len - ip_off - 40);
	}
	return 0;
}

int pw_pkt_tcp(struct pw_pkt *p, const uint8_t saddr[16], const uint8_t daddr[16],
	       uint16_t sport, uint16_t dport, uint8_t tcp_flags)
{
	struct pw_pkt_spec s = {
		.proto = IPPROTO_TCP, .sport = sport, .dport = dport, .tcp_flags = tcp_flags,
	};

	memcpy(s.saddr, saddr, 16);
	memcpy(s.daddr, daddr, 16);
	return pw_pkt_build(p, &s);
}

int pw_pkt_udp(struct pw_pkt *p, const uint8_t saddr[16], const uint8_t daddr[16],
	       uint16_t sport, uint16_t dport, const void *payload, uint16_t len)
{
	struct pw_pkt_spec s = {
		.proto = IPPROTO_UDP, .sport = sport, .dport = dport,
		.payload = payload, .payload_len = len,
	};

	memcpy(s.saddr, saddr, 16);
	memcpy(s.daddr, daddr, 16);
	return pw_pkt_build(p, &s);
}

int pw_pkt_sctp(struct pw_pkt *p, const uint8_t saddr[16], const uint8_t daddr[16],
		uint16_t sport, uint16_t dport)
{
	struct pw_pkt_spec s = { .proto = IPPROTO_SCTP, .sport = sport, .dport = dport };

	memcpy(s.saddr, saddr, 16);
	memcpy(s.daddr, daddr, 16);
	return pw_pkt_build(p, &s);
}

int pw_pkt_icmp_echo(struct pw_pkt *p, const uint8_t saddr[16], const uint8_t daddr[16],
		     uint16_t id, bool reply)
{
	bool v4 = is_v4(saddr);
	struct pw_pkt_spec s = {
		.proto = v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6,
		.sport = id,
		.icmp_type = v4 ? (reply ? 0 : 8) : (reply ? 129 : 128),
		.payload_len = 8,
	};

	memcpy(s.saddr, saddr, 16);
	memcpy(s.daddr, daddr, 16);
	return pw_pkt_build(p, &s);
}

int pw_pkt_icmp_error(struct pw_pkt *p, const uint8_t saddr[16], const uint8_t daddr[16],
		      uint8_t type, uint8_t code, const struct pw_pkt *inner)
{
	bool v4 = is_v4(saddr);
	struct pw_pkt_spec s = {
		.proto = v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6,
		.icmp_type = type ? type : (v4 ? 3 : 1),
		.icmp_code = type ? code : (v4 ? 3 : 4),
		.quote = inner,
	};

	memcpy(s.saddr, saddr, 16);
	memcpy(s.daddr, daddr, 16);
	return pw_pkt_build(p, &s);
}

int pw_pkt_l4(struct pw_pkt *p, const uint8_t saddr[16], const uint8_t daddr[16], uint8_t proto,
	      uint16_t sport, uint16_t dport)
{
	switch (proto) {
	case IPPROTO_TCP:
		return pw_pkt_tcp(p, saddr, daddr, sport, dport, PW_TCPF_SYN);
	case IPPROTO_UDP:
		return pw_pkt_udp(p, saddr, daddr, sport, dport, NULL, 8);
	case IPPROTO_SCTP:
		return pw_pkt_sctp(p, saddr, daddr, sport, dport);
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return pw_pkt_icmp_echo(p, saddr, daddr, sport, false);
	default: {
		struct pw_pkt_spec s = { .proto = proto, .payload_len = 8 };

		memcpy(s.saddr, saddr, 16);
		memcpy(s.daddr, daddr, 16);
		return pw_pkt_build(p, &s);
	}
	}
}

int pw_pkt_arp(struct pw_pkt *p, const uint8_t sender[16], const uint8_t target[16])
{
	uint8_t *a = p->data + ETH_HLEN;

	memset(p, 0, sizeof(*p));
	memset(p->data, 0xff, 6);
	memcpy(p->data + 6, pkt_src_mac, 6);
	put16(p->data + 12, ETH_P_ARP);
	put16(a, 1);              /* Ethernet */
	put16(a + 2, ETH_P_IP);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);          /* request */
	memcpy(a + 8, pkt_src_mac, 6);
	memcpy(a + 14, sender + 12, 4);
	memcpy(a + 24, target + 12, 4);
	p->len = ETH_HLEN + 28;
	return 0;
}

/* "www.example.com" -> "\3www\7example\3com\0"; returns its length or -EINVAL. */
static int dns_name_wire(const char *name, uint8_t *out, size_t max)
{
	size_t o = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		if (!l || l > 63 || o + 1 + l + 1 > max)
			return -EINVAL;
		out[o++] = l;
		memcpy(out + o, name, l);
		o += l;
		name += l;
		if (*name == '.')
			name++;
	}
	if (o + 1 > max)
		return -EINVAL;
	out[o++] = 0;
	return o;
}

int pw_pkt_dns_query(struct pw_pkt *p, const uint8_t saddr[16], const uint8_t daddr[16],
		     uint16_t sport, const char *name, bool tcp)
{
	uint8_t msg[2 + 12 + 256 + 4];
	uint8_t *q = msg + 2;
	struct pw_pkt_spec s = {
		.proto = tcp ? IPPROTO_TCP : IPPROTO_UDP,
		.sport = sport,
		.dport = 53,
		.tcp_flags = PW_TCPF_PSH | PW_TCPF_ACK,
	};
	int n;

	memset(msg, 0, sizeof(msg));
	put16(q, 0x1234);       /* id */
	put16(q + 2, 0x0100);   /* recursion desired */
	put16(q + 4, 1);        /* one question */
	n = dns_name_wire(name, q + 12, 256);
	if (n < 0)
		return n;
	put16(q + 12 + n, 1);   /* A */
	put16(q + 14 + n, 1);   /* IN */
	n += 12 + 4;
	put16(msg, n);          /* TCP: the length prefix */
	s.payload = tcp ? msg : q;
	s.payload_len = tcp ? n + 2 : n;
	memcpy(s.saddr, saddr, 16);
	memcpy(s.daddr, daddr, 16);
	return pw_pkt_build(p, &s);
}
