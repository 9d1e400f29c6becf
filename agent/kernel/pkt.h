/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pkt: crafted Ethernet frames for BPF_PROG_TEST_RUN. IPv4 or IPv6 (the
 * family follows from the 16-byte addresses: IPv4-mapped means IPv4), TCP
 * with flags, UDP, SCTP (INIT), ICMP/ICMPv6 echo, ICMP errors quoting
 * another packet, IPv4 fragments and IPv6 fragment / hop-by-hop /
 * destination-options headers, ARP, DNS queries.
 *
 * Lengths are always right; IPv4 header, TCP, UDP, ICMP and ICMPv6
 * checksums are computed (over the header and payload present), SCTP's
 * CRC32c is not.
 */
#ifndef PODWALL_KERNEL_PKT_H
#define PODWALL_KERNEL_PKT_H

#include <stdbool.h>
#include <stdint.h>

#define PW_PKT_MAX 1600

struct pw_pkt {
	uint8_t  data[PW_PKT_MAX]; /* Ethernet header first */
	uint32_t len;
};

/* TCP flags for pw_pkt_spec.tcp_flags */
#define PW_TCPF_FIN 0x01
#define PW_TCPF_SYN 0x02
#define PW_TCPF_RST 0x04
#define PW_TCPF_PSH 0x08
#define PW_TCPF_ACK 0x10

struct pw_pkt_spec {
	uint8_t  saddr[16];      /* IPv4-mapped (::ffff:a.b.c.d): IPv4; else IPv6 */
	uint8_t  daddr[16];
	uint8_t  proto;          /* IPPROTO_TCP, _UDP, _SCTP, _ICMP, _ICMPV6, other: raw payload */
	uint16_t sport;          /* host order; ICMP echo: the identifier */
	uint16_t dport;
	uint8_t  tcp_flags;      /* PW_TCPF_* */
	uint32_t tcp_seq;        /* 0: 1000 */
	uint8_t  icmp_type;      /* ICMP/ICMPv6 */
	uint8_t  icmp_code;
	const void *payload;     /* NULL: payload_len zero bytes */
	uint16_t payload_len;
	const struct pw_pkt *quote; /* ICMP error: the packet it quotes */
	/* fragments: IPv4 flags/offset, or an IPv6 fragment header */
	uint32_t frag_id;
	uint16_t frag_offset;    /* bytes, a multiple of 8; > 0: a later fragment, no L4 header */
	bool     more_frags;
	bool     v6_frag_hdr;    /* IPv6: a fragment header even if offset 0 and !more_frags */
	bool     v6_hbh;         /* IPv6: a hop-by-hop options header first */
	bool     v6_dstopts;     /* IPv6: a destination options header (after hop-by-hop) */
	uint8_t  ttl;            /* 0: 64 */
};

/* Build the frame that s describes. 0, or -EINVAL / -EMSGSIZE. */
int pw_pkt_build(struct pw_pkt *p, const struct pw_pkt_spec *s);

/*
 * The first packet of a flow, the one a probe sends: a TCP SYN, a UDP
 * datagram, an SCTP INIT, an ICMP/ICMPv6 echo request (sport is its
 * identifier; IPPROTO_ICMP with IPv6 addresses means ICMPv6).
 */
int pw_pkt_l4(struct pw_pkt *p, const uint8_t saddr[16], const uint8_t daddr[16], uint8_t proto,
	      uint16_t sport, uint16_t dport);

int pw_pkt_tcp(struct pw_pkt *p, const uint8_t saddr[16], const uint8_t daddr[16],
	       uint16_t sport, uint16_t dport, uint8_t tcp_flags);
int pw_pkt_udp(struct pw_pkt *p, const uint8_t saddr[16], const uint8_t daddr[16],
	       uint16_t sport, uint16_t dport, const void *payload, uint16_t len);
int pw_pkt_sctp(struct pw_pkt *p, const uint8_t saddr[16], const uint8_t daddr[16],
		uint16_t sport, uint16_t dport);
/* Echo request (reply false) or reply, ICMP or ICMPv6 by family. */
int pw_pkt_icmp_echo(struct pw_pkt *p, const uint8_t saddr[16], const uint8_t daddr[16],
		     uint16_t id, bool reply);
/*
 * An ICMP error from saddr to daddr quoting inner (its IP header and the
 * first 8 bytes after it for IPv4, the whole packet for IPv6). type/code 0:
 * port unreachable (ICMP 3/3, ICMPv6 1/4).
 */
int pw_pkt_icmp_error(struct pw_pkt *p, const uint8_t saddr[16], const uint8_t daddr[16],
		      uint8_t type, uint8_t code, const struct pw_pkt *inner);
/* ARP request "who has target? tell sender" (IPv4-mapped addresses). */
int pw_pkt_arp(struct pw_pkt *p, const uint8_t sender[16], const uint8_t target[16]);
/* A DNS query (type A) for name to daddr:53, over UDP or (tcp) a TCP segment. */
int pw_pkt_dns_query(struct pw_pkt *p, const uint8_t saddr[16], const uint8_t daddr[16],
		     uint16_t sport, const char *name, bool tcp);

#endif
