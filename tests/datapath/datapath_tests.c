/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Datapath tests: the real BPF object (build/podwall.bpf.o, through its
 * skeleton) with private maps, in a private network namespace with one
 * stand-alone device per pod. Each test writes map entries with the typed
 * writers of bpfobj.h, crafts packets (pkt.h), runs them through the
 * programs with BPF_PROG_TEST_RUN (testrun.h) and checks verdicts, marks,
 * counters, conntrack and ring-buffer events.
 *
 * Nothing is left behind: the namespace and its devices go with the
 * process, the maps with the object, nothing is pinned.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "check.h"
#include "podwall.skel.h"
#include "compiler.h"
#include "kernel/bpfobj.h"
#include "kernel/cttable.h"
#include "podwall/cttable.h"
#include "kernel/mapsync.h"
#include "kernel/netlink.h"
#include "kernel/pkt.h"
#include "kernel/testrun.h"
#include "log.h"

/* ------------------------------------------------------------- the world */

struct pod {
	const char *dev;
	const char *ip4, *ip6;
	uint32_t identity;
	uint32_t ifindex; /* = ep_id */
	uint8_t a4[16], a6[16];
};

static struct pod A = { "pwA", "10.0.0.1", "fd00::1", 0x100 };
static struct pod B = { "pwB", "10.0.0.2", "fd00::2", 0x101 };
static struct pod C = { "pwC", "10.0.0.3", "fd00::3", 0x102 };
static struct pod *pods[] = { &A, &B, &C };

#define DNS_IP    "10.0.0.53"
#define DNS_ID    0x103u
#define VIP       "10.96.0.10"
#define VIP_ID    0x01000100u
#define HOST_IP   "10.0.0.254"
#define REMOTE_IP "10.1.0.5"
#define REMOTE_ID 0x200u

static uint32_t if_uplink, if_noep;
static struct podwall_bpf *obj;
static struct pw_config cfg;

struct a16 { uint8_t b[16]; };

static struct a16 ip(const char *s)
{
	struct a16 a;

	if (pw_addr_parse(s, a.b)) {
		fprintf(stderr, "bad address in test: %s\n", s);
		exit(2);
	}
	return a;
}

#define IP(s) (ip(s).b)

static void set_cfg(void)
{
	CHECK_EQ(pw_bpf_set_config(obj, &cfg), 0);
}

/* flags on both slots, with the address bits */
static void ep_flags_slot(struct pod *p, int slot, uint32_t flags)
{
	struct pw_endpoint ep;

	if (pw_bpf_get_endpoint(obj, p->ifindex, &ep)) {
		memset(&ep, 0, sizeof(ep));
		ep.ep_id = p->ifindex;
		ep.identity = p->identity;
		memcpy(ep.ip4, p->a4, 16);
		memcpy(ep.ip6, p->a6, 16);
	}
	ep.flags[slot] = flags | PW_EP_HAS_V4 | PW_EP_HAS_V6;
	CHECK_EQ(pw_bpf_put_endpoint(obj, p->ifindex, &ep), 0);
}

static void ep_flags(struct pod *p, uint32_t flags)
{
	ep_flags_slot(p, 0, flags);
	ep_flags_slot(p, 1, flags);
}

/* addr/bits (bits of the 128-bit form) -> identity, in both slots */
static void ipc(const char *addr, uint32_t bits, uint32_t identity, uint32_t flags)
{
	struct pw_ipcache_val v = { .identity = identity, .flags = flags };
	struct pw_ipcache_key k;

	for (int slot = 0; slot < PW_SLOTS; slot++) {
		pw_ipcache_key_make(&k, slot, IP(addr), bits);
		CHECK_EQ(pw_bpf_put_ipcache(obj, &k, &v), 0);
	}
}

static void rule_slot(int slot, struct pod *p, int dir, uint32_t peer, uint8_t proto,
		      uint16_t port, uint32_t prefixlen, uint32_t rule_id)
{
	struct pw_policy_val v = { .rule_id = rule_id };
	struct pw_policy_key k;

	pw_policy_key_make(&k, prefixlen, slot, dir, p->ifindex, peer, proto, port);
	CHECK_EQ(pw_bpf_put_policy(obj, &k, &v), 0);
}

static void allow(struct pod *p, int dir, uint32_t peer, uint8_t proto, uint16_t port)
{
	rule_slot(0, p, dir, peer, proto, port, PW_POL_PREFIX_FULL, 1);
}

static void unallow(struct pod *p, int dir, uint32_t peer, uint8_t proto, uint16_t port)
{
	struct pw_policy_key k;

	pw_policy_key_make(&k, PW_POL_PREFIX_FULL, 0, dir, p->ifindex, peer, proto, port);
	CHECK_EQ(pw_bpf_del_policy(obj, &k), 0);
}

/* A fresh object and the baseline world: three local pods, nobody isolated. */
static int fresh(void)
{
	if (obj)
		pw_bpf_close(obj);
	obj = NULL;
	if (pw_bpf_open(NULL, &obj, NULL)) {
		CHECK(!"pw_bpf_open");
		return -1;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.generation = 1;
	set_cfg();
	for (size_t i = 0; i < sizeof(pods) / sizeof(pods[0]); i++) {
		struct pod *p = pods[i];

		ep_flags(p, 0);
		CHECK_EQ(pw_bpf_put_local_ip(obj, p->a4, p->ifindex), 0);
		CHECK_EQ(pw_bpf_put_local_ip(obj, p->a6, p->ifindex), 0);
		ipc(p->ip4, 128, p->identity, PW_IPC_POD);
		ipc(p->ip6, 128, p->identity, PW_IPC_POD);
	}
	ipc(DNS_IP, 128, DNS_ID, PW_IPC_POD | PW_IPC_DNS);
	ipc(VIP, 128, VIP_ID, PW_IPC_SERVICE);
	ipc(HOST_IP, 128, PW_ID_HOST, 0);
	ipc(REMOTE_IP, 128, REMOTE_ID, PW_IPC_POD);
	return 0;
}

/* ----------------------------------------------------------- running */

static uint32_t last_mark;

static int run_mark(enum pw_prog prog, uint32_t ifindex, const struct pw_pkt *p, uint32_t mark)
{
	struct pw_run_out out;
	int err;

	err = pw_test_run(pw_bpf_prog_fd(obj, prog), p->data, p->len, ifindex, mark, &out);
	if (err) {
		fprintf(stderr, "test_run %s: %s\n", pw_prog_names[prog], strerror(-err));
		return -1000 + err;
	}
	last_mark = out.mark;
	return out.verdict;
}

static int run(enum pw_prog prog, uint32_t ifindex, const struct pw_pkt *p)
{
	return run_mark(prog, ifindex, p, 0);
}

static int from_pod(struct pod *pod, const struct pw_pkt *p)
{
	return run(PW_PROG_FROM_POD, pod->ifindex, p);
}

static int to_pod(struct pod *pod, const struct pw_pkt *p)
{
	return run(PW_PROG_TO_POD, pod->ifindex, p);
}

static struct pw_pkt *tcp(const uint8_t *s, const uint8_t *d, uint16_t sport, uint16_t dport,
			  uint8_t flags)
{
	static struct pw_pkt p[4];
	static int n;
	struct pw_pkt *pk = &p[n++ & 3];

	CHECK_EQ(pw_pkt_tcp(pk, s, d, sport, dport, flags), 0);
	return pk;
}

/* A TCP SYN (without ACK) whose sequence number, its ISN, is seq. */
static struct pw_pkt *syn(const uint8_t *s, const uint8_t *d, uint16_t sport, uint16_t dport,
			  uint32_t seq)
{
	static struct pw_pkt p[4];
	static int n;
	struct pw_pkt *pk = &p[n++ & 3];
	struct pw_pkt_spec sp = { .proto = IPPROTO_TCP, .sport = sport, .dport = dport,
				  .tcp_flags = PW_TCPF_SYN, .tcp_seq = seq };

	memcpy(sp.saddr, s, 16);
	memcpy(sp.daddr, d, 16);
	CHECK_EQ(pw_pkt_build(pk, &sp), 0);
	return pk;
}

static struct pw_pkt *l4(const uint8_t *s, const uint8_t *d, uint8_t proto, uint16_t sport,
			 uint16_t dport)
{
	static struct pw_pkt p[4];
	static int n;
	struct pw_pkt *pk = &p[n++ & 3];

	CHECK_EQ(pw_pkt_l4(pk, s, d, proto, sport, dport), 0);
	return pk;
}

static uint64_t cnt(int dir, int verdict, int reason)
{
	struct pw_counter c;

	if (pw_bpf_read_counter(obj, dir, verdict, reason, &c))
		return (uint64_t)-1;
	return c.packets;
}

static int ct_get(const uint8_t *s, const uint8_t *d, uint16_t sport, uint16_t dport,
		  uint8_t proto, int dir, struct pw_ct_val *v)
{
	struct pw_ct_key k;
	struct pw_ct_val tmp;

	memset(&k, 0, sizeof(k));
	memcpy(k.saddr, s, 16);
	memcpy(k.daddr, d, 16);
	k.sport = htons(sport);
	k.dport = htons(dport);
	k.proto = proto;
	k.dir = dir;
	return pw_bpf_ct_lookup(obj, &k, v ? v : &tmp);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ------------------------------------------------------------ events */

#define MAX_EVS 64
static struct pw_event evs[MAX_EVS];
static int n_evs;

static int ev_cb(void *ctx, void *data, size_t len)
{
	if (n_evs < MAX_EVS && len >= sizeof(struct pw_event))
		memcpy(&evs[n_evs++], data, sizeof(struct pw_event));
	return 0;
}

static int drain_events(void)
{
	struct ring_buffer *rb;

	n_evs = 0;
	rb = ring_buffer__new(bpf_map__fd(obj->maps.events), ev_cb, NULL, NULL);
	if (!rb)
		return -1;
	ring_buffer__consume(rb);
	ring_buffer__free(rb);
	return n_evs;
}

#define OK   TC_ACT_OK
#define SHOT TC_ACT_SHOT

/* ------------------------------------------------------------- tests */

static void t_verifier_accepts_every_program(void)
{
	struct pw_pkt arp;

	/* loading is the test: fresh() loads all four programs */
	if (fresh())
		return;
	CHECK_EQ(pw_pkt_arp(&arp, A.a4, B.a4), 0);
	for (int p = 0; p < PW_PROG_MAX; p++) {
		CHECK(pw_bpf_prog_fd(obj, p) >= 0);
		CHECK_EQ(run(p, A.ifindex, &arp), OK);
	}
	CHECK_EQ(run(PW_PROG_PASS_ONLY, A.ifindex, tcp(A.a4, B.a4, 1, 2, PW_TCPF_SYN)), OK);
}

static void t_not_isolated_passes(void)
{
	if (fresh())
		return;
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_ALLOW, PW_REASON_NOT_ISOLATED), 1);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_NOT_ISOLATED), 1);
}

static void t_isolated_drops(void)
{
	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	ep_flags(&A, PW_EP_ISOLATED_EGRESS);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_SYN)), SHOT);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_DROP, PW_REASON_POLICY_DENIED), 1);
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_SYN)), SHOT);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_DROP, PW_REASON_POLICY_DENIED), 1);
	/* isolation is per direction */
	CHECK_EQ(from_pod(&B, tcp(B.a4, C.a4, 40000, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(ct_get(A.a4, B.a4, 40000, 80, IPPROTO_TCP, PW_DIR_INGRESS, NULL), -ENOENT);
}

static void t_exact_allow(void)
{
	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	rule_slot(0, &B, PW_DIR_INGRESS, A.identity, IPPROTO_TCP, 80, PW_POL_PREFIX_FULL, 42);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40001, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_NONE), 1);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40002, 81, PW_TCPF_SYN)), SHOT);
	CHECK_EQ(to_pod(&B, l4(A.a4, B.a4, IPPROTO_UDP, 40003, 80)), SHOT);
	CHECK_EQ(to_pod(&B, tcp(C.a4, B.a4, 40004, 80, PW_TCPF_SYN)), SHOT);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_DROP, PW_REASON_POLICY_DENIED), 3);
	/* the entry remembers the rule */
	struct pw_ct_val v;
	CHECK_EQ(ct_get(A.a4, B.a4, 40001, 80, IPPROTO_TCP, PW_DIR_INGRESS, &v), 0);
	CHECK_EQ(v.rule_id, 42);
	CHECK_EQ(v.peer_id, A.identity);
	CHECK_EQ(v.ep_id, B.ifindex);
	CHECK_EQ(v.generation, cfg.generation);
}

static void t_wildcard_peer(void)
{
	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	allow(&B, PW_DIR_INGRESS, PW_ID_ANY, IPPROTO_TCP, 80);
	CHECK_EQ(to_pod(&B, tcp(C.a4, B.a4, 40001, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(to_pod(&B, tcp(IP("192.0.2.9"), B.a4, 40002, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(to_pod(&B, tcp(C.a4, B.a4, 40003, 81, PW_TCPF_SYN)), SHOT);
}

static void t_wildcard_port(void)
{
	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	rule_slot(0, &B, PW_DIR_INGRESS, A.identity, IPPROTO_TCP, 0, PW_POL_PREFIX_ANY_PORT, 3);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40001, 1, PW_TCPF_SYN)), OK);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40002, 8080, PW_TCPF_SYN)), OK);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40003, 65535, PW_TCPF_SYN)), OK);
	CHECK_EQ(to_pod(&B, l4(A.a4, B.a4, IPPROTO_UDP, 40004, 8080)), SHOT);
	CHECK_EQ(to_pod(&B, l4(A.a4, B.a4, IPPROTO_ICMP, 7, 0)), SHOT);
	CHECK_EQ(to_pod(&B, tcp(C.a4, B.a4, 40005, 8080, PW_TCPF_SYN)), SHOT);
}

static void t_any_protocol(void)
{
	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	rule_slot(0, &B, PW_DIR_INGRESS, C.identity, 0, 0, PW_POL_PREFIX_ANY_PROTO, 4);
	CHECK_EQ(to_pod(&B, l4(C.a4, B.a4, IPPROTO_UDP, 40001, 53)), OK);
	CHECK_EQ(to_pod(&B, l4(C.a4, B.a4, IPPROTO_SCTP, 40002, 9)), OK);
	CHECK_EQ(to_pod(&B, l4(C.a4, B.a4, IPPROTO_TCP, 40003, 1234)), OK);
	CHECK_EQ(to_pod(&B, l4(C.a4, B.a4, IPPROTO_ICMP, 9, 0)), OK);
	CHECK_EQ(to_pod(&B, l4(C.a6, B.a6, IPPROTO_ICMPV6, 9, 0)), OK);
	CHECK_EQ(to_pod(&B, l4(A.a4, B.a4, IPPROTO_UDP, 40004, 53)), SHOT);
}

static int put_range_prefix(uint16_t port, uint32_t nbits, void *arg)
{
	struct pod *p = arg;

	rule_slot(0, p, PW_DIR_INGRESS, A.identity, IPPROTO_TCP, port,
		  PW_POL_PREFIX_ANY_PORT + nbits, 9);
	return 0;
}

static int count_prefix(uint16_t port, uint32_t nbits, void *arg)
{
	uint32_t *last = arg;

	last[0] = port;
	last[1] = nbits;
	return 0;
}

static void t_endport_range_edges(void)
{
	uint32_t last[2];
	uint16_t sport = 30000;

	if (fresh())
		return;
	/* the splitter itself */
	CHECK_EQ(pw_port_range_prefixes(0, 65535, count_prefix, last), 1);
	CHECK_EQ(last[1], 0);
	CHECK_EQ(pw_port_range_prefixes(80, 80, count_prefix, last), 1);
	CHECK_EQ(last[0], 80);
	CHECK_EQ(last[1], 16);
	CHECK_EQ(pw_port_range_prefixes(1, 65534, count_prefix, last), 30);
	CHECK_EQ(pw_port_range_prefixes(2, 1, count_prefix, last), -EINVAL);

	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	CHECK(pw_port_range_prefixes(1000, 2000, put_range_prefix, &B) > 1);
	CHECK(pw_port_range_prefixes(65530, 65535, put_range_prefix, &B) > 1);
	static const struct { uint16_t port; int verdict; } cases[] = {
		{ 999, SHOT }, { 1000, OK }, { 1001, OK }, { 1023, OK }, { 1024, OK },
		{ 1500, OK }, { 1999, OK }, { 2000, OK }, { 2001, SHOT },
		{ 65529, SHOT }, { 65530, OK }, { 65535, OK }, { 0, SHOT },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int v = to_pod(&B, tcp(A.a4, B.a4, sport++, cases[i].port, PW_TCPF_SYN));

		if (v != cases[i].verdict && !check_failed_now) {
			check_failed_now = 1;
			snprintf(check_why, sizeof(check_why), "port %u: verdict %d, want %d",
				 cases[i].port, v, cases[i].verdict);
		}
	}
	/* the range is per protocol */
	CHECK_EQ(to_pod(&B, l4(A.a4, B.a4, IPPROTO_UDP, sport++, 1500)), SHOT);
}

static void t_cidr_group_with_except(void)
{
	if (fresh())
		return;
	ep_flags(&A, PW_EP_ISOLATED_EGRESS);
	/* ipBlock 192.0.2.0/24 except 192.0.2.128/25: two disjoint groups */
	ipc("192.0.2.0", 96 + 24, PW_ID_CIDR_MIN + 1, 0);
	ipc("192.0.2.128", 96 + 25, PW_ID_CIDR_MIN + 2, 0);
	allow(&A, PW_DIR_EGRESS, PW_ID_CIDR_MIN + 1, IPPROTO_TCP, 443);
	CHECK_EQ(from_pod(&A, tcp(A.a4, IP("192.0.2.10"), 40001, 443, PW_TCPF_SYN)), OK);
	CHECK_EQ(from_pod(&A, tcp(A.a4, IP("192.0.2.127"), 40002, 443, PW_TCPF_SYN)), OK);
	CHECK_EQ(from_pod(&A, tcp(A.a4, IP("192.0.2.128"), 40003, 443, PW_TCPF_SYN)), SHOT);
	CHECK_EQ(from_pod(&A, tcp(A.a4, IP("192.0.2.200"), 40004, 443, PW_TCPF_SYN)), SHOT);
	CHECK_EQ(from_pod(&A, tcp(A.a4, IP("198.51.100.7"), 40005, 443, PW_TCPF_SYN)), SHOT);
	/* the same in IPv6: 2001:db8::/32 except 2001:db8:ff::/48 */
	ipc("2001:db8::", 32, PW_ID_CIDR_MIN + 3, 0);
	ipc("2001:db8:ff::", 48, PW_ID_CIDR_MIN + 4, 0);
	allow(&A, PW_DIR_EGRESS, PW_ID_CIDR_MIN + 3, IPPROTO_TCP, 443);
	CHECK_EQ(from_pod(&A, tcp(A.a6, IP("2001:db8:1::1"), 40006, 443, PW_TCPF_SYN)), OK);
	CHECK_EQ(from_pod(&A, tcp(A.a6, IP("2001:db8:ff::1"), 40007, 443, PW_TCPF_SYN)), SHOT);
	CHECK_EQ(from_pod(&A, tcp(A.a6, IP("2001:db9::1"), 40008, 443, PW_TCPF_SYN)), SHOT);
}

static void t_reply_passes_server_default_deny(void)
{
	if (fresh())
		return;
	/* server B: default-deny both ways, ingress from A on 80 allowed */
	ep_flags(&B, PW_EP_ISOLATED_INGRESS | PW_EP_ISOLATED_EGRESS);
	allow(&B, PW_DIR_INGRESS, A.identity, IPPROTO_TCP, 80);
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_SYN)), OK);
	/* the SYN-ACK leaves B although B may send nothing */
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, 40000, PW_TCPF_SYN | PW_TCPF_ACK)), OK);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_ALLOW, PW_REASON_CT_REPLY), 1);
	CHECK_EQ(to_pod(&A, tcp(B.a4, A.a4, 80, 40000, PW_TCPF_SYN | PW_TCPF_ACK)), OK);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_ACK)), OK);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_CT_ESTABLISHED), 1);
	struct pw_ct_val v;
	CHECK_EQ(ct_get(A.a4, B.a4, 40000, 80, IPPROTO_TCP, PW_DIR_INGRESS, &v), 0);
	CHECK(v.flags & PW_CT_SEEN_REPLY);
	/* but B opening a flow of its own is still denied */
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, 40001, PW_TCPF_SYN)), SHOT);
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 41000, 80, PW_TCPF_SYN)), SHOT);
}

static void t_reply_passes_client_default_deny(void)
{
	if (fresh())
		return;
	/* client A: default-deny both ways, egress to B on 80 allowed */
	ep_flags(&A, PW_EP_ISOLATED_INGRESS | PW_EP_ISOLATED_EGRESS);
	allow(&A, PW_DIR_EGRESS, B.identity, IPPROTO_TCP, 80);
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, 40000, PW_TCPF_SYN | PW_TCPF_ACK)), OK);
	/* the reply enters A although nothing may enter A */
	CHECK_EQ(to_pod(&A, tcp(B.a4, A.a4, 80, 40000, PW_TCPF_SYN | PW_TCPF_ACK)), OK);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_CT_REPLY), 1);
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_ACK)), OK);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_ALLOW, PW_REASON_CT_ESTABLISHED), 1);
	/* an unsolicited packet from B (another port pair) is not a reply */
	CHECK_EQ(to_pod(&A, tcp(B.a4, A.a4, 80, 40001, PW_TCPF_SYN | PW_TCPF_ACK)), SHOT);
	CHECK_EQ(to_pod(&A, tcp(C.a4, A.a4, 80, 40000, PW_TCPF_SYN | PW_TCPF_ACK)), SHOT);
}

static void t_revoked_flow_drops(void)
{
	struct pw_ct_val v;

	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS | PW_EP_ISOLATED_EGRESS);
	allow(&B, PW_DIR_INGRESS, A.identity, IPPROTO_TCP, 80);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40001, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_ACK)), OK);

	/* a new generation that still allows it: the entry is refreshed */
	cfg.generation++;
	set_cfg();
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_ACK)), OK);
	CHECK_EQ(ct_get(A.a4, B.a4, 40000, 80, IPPROTO_TCP, PW_DIR_INGRESS, &v), 0);
	CHECK_EQ(v.generation, cfg.generation);

	/* the rule goes away, the generation moves: established flows stop */
	unallow(&B, PW_DIR_INGRESS, A.identity, IPPROTO_TCP, 80);
	cfg.generation++;
	set_cfg();
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_ACK)), SHOT);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_DROP, PW_REASON_REVOKED), 1);
	CHECK_EQ(ct_get(A.a4, B.a4, 40000, 80, IPPROTO_TCP, PW_DIR_INGRESS, NULL), -ENOENT);
	/* and so do replies of the other revoked flow */
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, 40001, PW_TCPF_ACK)), SHOT);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_DROP, PW_REASON_REVOKED), 1);
	CHECK_EQ(ct_get(A.a4, B.a4, 40001, 80, IPPROTO_TCP, PW_DIR_INGRESS, NULL), -ENOENT);
	/* afterwards the flow is just denied */
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_ACK)), SHOT);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_DROP, PW_REASON_POLICY_DENIED), 1);
}

static void t_spoofed_source_drops(void)
{
	struct pw_pkt nd;
	struct pw_pkt_spec s = { .proto = IPPROTO_ICMPV6, .icmp_type = 135, .payload_len = 16 };

	if (fresh())
		return;
	CHECK_EQ(from_pod(&A, tcp(C.a4, B.a4, 40000, 80, PW_TCPF_SYN)), SHOT);
	CHECK_EQ(from_pod(&A, tcp(IP("fd00::99"), B.a6, 40000, 80, PW_TCPF_SYN)), SHOT);
	CHECK_EQ(from_pod(&A, tcp(IP("fe80::1"), B.a6, 40000, 80, PW_TCPF_SYN)), SHOT);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_DROP, PW_REASON_SPOOFED), 3);
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(from_pod(&A, tcp(A.a6, B.a6, 40000, 80, PW_TCPF_SYN)), OK);
	/* neighbour discovery from the link-local address passes */
	memcpy(s.saddr, IP("fe80::1"), 16);
	memcpy(s.daddr, IP("ff02::1:ff00:2"), 16);
	CHECK_EQ(pw_pkt_build(&nd, &s), 0);
	CHECK_EQ(from_pod(&A, &nd), OK);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_ALLOW, PW_REASON_ND), 1);
	/* so does an MLDv2 report (every IPv6 pod sends them), but not from a foreign address */
	s.icmp_type = 143;
	memcpy(s.daddr, IP("ff02::16"), 16);
	CHECK_EQ(pw_pkt_build(&nd, &s), 0);
	CHECK_EQ(from_pod(&A, &nd), OK);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_ALLOW, PW_REASON_ND), 2);
	memcpy(s.saddr, IP("fd00::99"), 16);
	CHECK_EQ(pw_pkt_build(&nd, &s), 0);
	CHECK_EQ(from_pod(&A, &nd), SHOT);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_DROP, PW_REASON_SPOOFED), 4);
	/* a pod without IPv4 sends no IPv4 */
	ep_flags(&C, 0);
	struct pw_endpoint ep;
	CHECK_EQ(pw_bpf_get_endpoint(obj, C.ifindex, &ep), 0);
	ep.flags[0] &= ~PW_EP_HAS_V4;
	ep.flags[1] &= ~PW_EP_HAS_V4;
	CHECK_EQ(pw_bpf_put_endpoint(obj, C.ifindex, &ep), 0);
	CHECK_EQ(from_pod(&C, tcp(C.a4, B.a4, 40000, 80, PW_TCPF_SYN)), SHOT);
}

static void t_ipv6_exact_allow(void)
{
	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	allow(&B, PW_DIR_INGRESS, A.identity, IPPROTO_TCP, 80);
	CHECK_EQ(to_pod(&B, tcp(A.a6, B.a6, 40000, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(to_pod(&B, tcp(A.a6, B.a6, 40001, 81, PW_TCPF_SYN)), SHOT);
	CHECK_EQ(to_pod(&B, tcp(C.a6, B.a6, 40002, 80, PW_TCPF_SYN)), SHOT);
	/* and the reply goes back through B's egress default-deny */
	ep_flags(&B, PW_EP_ISOLATED_INGRESS | PW_EP_ISOLATED_EGRESS);
	CHECK_EQ(from_pod(&B, tcp(B.a6, A.a6, 80, 40000, PW_TCPF_SYN | PW_TCPF_ACK)), OK);
}

static void t_ipv6_isolated_drop_with_ext_headers(void)
{
	struct pw_pkt p;
	struct pw_pkt_spec s = { .proto = IPPROTO_TCP, .sport = 40000, .dport = 22,
				 .tcp_flags = PW_TCPF_SYN, .v6_hbh = true };

	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	allow(&B, PW_DIR_INGRESS, A.identity, IPPROTO_TCP, 80);
	memcpy(s.saddr, A.a6, 16);
	memcpy(s.daddr, B.a6, 16);
	/* hop-by-hop before TCP: denied port drops, allowed port passes */
	CHECK_EQ(pw_pkt_build(&p, &s), 0);
	CHECK_EQ(p.data[14 + 6], 0);  /* next header: hop-by-hop */
	CHECK_EQ(to_pod(&B, &p), SHOT);
	s.sport++;
	s.dport = 80;
	CHECK_EQ(pw_pkt_build(&p, &s), 0);
	CHECK_EQ(to_pod(&B, &p), OK);
	/* hop-by-hop, destination options and an atomic fragment header */
	s.sport++;
	s.v6_dstopts = true;
	s.v6_frag_hdr = true;
	s.frag_id = 5;
	CHECK_EQ(pw_pkt_build(&p, &s), 0);
	CHECK_EQ(to_pod(&B, &p), OK);
	s.sport++;
	s.dport = 23;
	CHECK_EQ(pw_pkt_build(&p, &s), 0);
	CHECK_EQ(to_pod(&B, &p), SHOT);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_DROP, PW_REASON_POLICY_DENIED), 2);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_NONE), 2);
}

static void t_arp_passes(void)
{
	struct pw_pkt arp;

	if (fresh())
		return;
	ep_flags(&A, PW_EP_ISOLATED_INGRESS | PW_EP_ISOLATED_EGRESS);
	CHECK_EQ(pw_pkt_arp(&arp, A.a4, B.a4), 0);
	CHECK_EQ(from_pod(&A, &arp), OK);
	CHECK_EQ(to_pod(&A, &arp), OK);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_ALLOW, PW_REASON_NOT_IP), 1);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_NOT_IP), 1);
}

static struct pw_pkt *frag(const struct pod *s_, const struct pod *d_, bool v6, uint16_t dport,
			   uint32_t id, uint16_t offset, bool more)
{
	static struct pw_pkt p[2];
	static int n;
	struct pw_pkt *pk = &p[n++ & 1];
	struct pw_pkt_spec s = {
		.proto = IPPROTO_UDP, .sport = 5353, .dport = dport, .payload_len = 64,
		.frag_id = id, .frag_offset = offset, .more_frags = more,
	};

	memcpy(s.saddr, v6 ? s_->a6 : s_->a4, 16);
	memcpy(s.daddr, v6 ? d_->a6 : d_->a4, 16);
	CHECK_EQ(pw_pkt_build(pk, &s), 0);
	return pk;
}

static void t_frag_nonfirst_of_denied_flow_drops(void)
{
	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	allow(&B, PW_DIR_INGRESS, A.identity, IPPROTO_UDP, 5000);
	/* a later fragment with no first fragment seen */
	CHECK_EQ(to_pod(&B, frag(&A, &B, false, 0, 77, 1480, false)), SHOT);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_DROP, PW_REASON_FRAG_UNKNOWN), 1);
	/* the first fragment of a denied flow drops, and so do its followers */
	CHECK_EQ(to_pod(&B, frag(&A, &B, false, 6000, 78, 0, true)), SHOT);
	CHECK_EQ(to_pod(&B, frag(&A, &B, false, 0, 78, 1480, false)), SHOT);
	CHECK_EQ(to_pod(&B, frag(&A, &B, true, 6000, 79, 0, true)), SHOT);
	CHECK_EQ(to_pod(&B, frag(&A, &B, true, 0, 79, 1448, false)), SHOT);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_DROP, PW_REASON_FRAG_UNKNOWN), 3);
	/* a pod that is not isolated takes them */
	CHECK_EQ(to_pod(&C, frag(&A, &C, false, 0, 80, 1480, false)), OK);
}

static void t_frag_nonfirst_follows_allowed_first(void)
{
	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	allow(&B, PW_DIR_INGRESS, A.identity, IPPROTO_UDP, 5000);
	CHECK_EQ(to_pod(&B, frag(&A, &B, false, 5000, 99, 0, true)), OK);
	CHECK_EQ(to_pod(&B, frag(&A, &B, false, 0, 99, 1480, true)), OK);
	CHECK_EQ(to_pod(&B, frag(&A, &B, false, 0, 99, 2960, false)), OK);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_FRAGMENT), 2);
	/* another datagram id did not have its first fragment allowed */
	CHECK_EQ(to_pod(&B, frag(&A, &B, false, 0, 100, 1480, false)), SHOT);
	/* a later datagram of the established flow: its first fragment hits conntrack */
	CHECK_EQ(to_pod(&B, frag(&A, &B, false, 5000, 101, 0, true)), OK);
	CHECK_EQ(to_pod(&B, frag(&A, &B, false, 0, 101, 1480, false)), OK);
	/* IPv6 fragment headers */
	CHECK_EQ(to_pod(&B, frag(&A, &B, true, 5000, 0x12345, 0, true)), OK);
	CHECK_EQ(to_pod(&B, frag(&A, &B, true, 0, 0x12345, 1448, false)), OK);
	CHECK_EQ(to_pod(&B, frag(&A, &B, true, 0, 0x12346, 1448, false)), SHOT);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_FRAGMENT), 4);
}

static void t_dns_counters(void)
{
	struct pw_pkt q;
	struct pw_dns d = { 0 };

	if (fresh())
		return;
	ep_flags(&A, PW_EP_ISOLATED_EGRESS);
	CHECK_EQ(pw_bpf_put_dns(obj, A.ifindex, &d), 0);

	/* not allowed by policy: dropped and counted */
	CHECK_EQ(pw_pkt_dns_query(&q, A.a4, IP(DNS_IP), 30000, "kubernetes.default", false), 0);
	CHECK_EQ(from_pod(&A, &q), SHOT);
	CHECK_EQ(pw_bpf_get_dns(obj, A.ifindex, &d), 0);
	CHECK_EQ(d.dropped, 1);
	CHECK_EQ(d.allowed, 0);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_DROP, PW_REASON_DNS_DENIED), 1);

	/* allowed by a policy rule to the DNS pods */
	allow(&A, PW_DIR_EGRESS, DNS_ID, IPPROTO_UDP, 53);
	CHECK_EQ(pw_pkt_dns_query(&q, A.a4, IP(DNS_IP), 30001, "kubernetes.default", false), 0);
	CHECK_EQ(from_pod(&A, &q), OK);
	CHECK_EQ(pw_bpf_get_dns(obj, A.ifindex, &d), 0);
	CHECK_EQ(d.allowed, 1);
	CHECK_EQ(d.dropped, 1);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_ALLOW, PW_REASON_DNS_ALLOWED), 1);
	/* TCP/53 is not covered by the UDP rule */
	CHECK_EQ(pw_pkt_dns_query(&q, A.a4, IP(DNS_IP), 30002, "kubernetes.default", true), 0);
	CHECK_EQ(from_pod(&A, &q), SHOT);

	/* --dns=auto: allowed whatever the policy */
	unallow(&A, PW_DIR_EGRESS, DNS_ID, IPPROTO_UDP, 53);
	CHECK_EQ(pw_bpf_set_dns_flags(obj, A.ifindex, 0, PW_DNS_AUTO), 0);
	CHECK_EQ(pw_pkt_dns_query(&q, A.a4, IP(DNS_IP), 30003, "kubernetes.default", false), 0);
	CHECK_EQ(from_pod(&A, &q), OK);
	CHECK_EQ(pw_pkt_dns_query(&q, A.a4, IP(DNS_IP), 30004, "kubernetes.default", true), 0);
	CHECK_EQ(from_pod(&A, &q), OK);
	CHECK_EQ(pw_bpf_get_dns(obj, A.ifindex, &d), 0);
	CHECK_EQ(d.allowed, 3);
	CHECK_EQ(d.dropped, 2);
	/* port 53 elsewhere than the DNS pods is ordinary policy */
	CHECK_EQ(from_pod(&A, l4(A.a4, B.a4, IPPROTO_UDP, 30005, 53)), SHOT);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_DROP, PW_REASON_POLICY_DENIED), 1);
}

static void t_icmp_error_of_tracked_flow_passes(void)
{
	struct pw_pkt inner, err;

	if (fresh())
		return;
	ep_flags(&A, PW_EP_ISOLATED_INGRESS);
	CHECK_EQ(pw_pkt_tcp(&inner, A.a4, B.a4, 40000, 80, PW_TCPF_SYN), 0);
	CHECK_EQ(from_pod(&A, &inner), OK);
	/* a router says the flow's destination is unreachable */
	CHECK_EQ(pw_pkt_icmp_error(&err, IP("10.9.9.9"), A.a4, 0, 0, &inner), 0);
	CHECK_EQ(to_pod(&A, &err), OK);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_CT_RELATED), 1);
	/* an error about a flow nobody opened */
	CHECK_EQ(pw_pkt_tcp(&inner, A.a4, B.a4, 40000, 9999, PW_TCPF_SYN), 0);
	CHECK_EQ(pw_pkt_icmp_error(&err, IP("10.9.9.9"), A.a4, 0, 0, &inner), 0);
	CHECK_EQ(to_pod(&A, &err), SHOT);
	/* IPv6: packet too big for a tracked flow */
	CHECK_EQ(pw_pkt_tcp(&inner, A.a6, B.a6, 40001, 443, PW_TCPF_ACK), 0);
	CHECK_EQ(from_pod(&A, &inner), OK);
	CHECK_EQ(pw_pkt_icmp_error(&err, IP("fd00::fe"), A.a6, 2, 0, &inner), 0);
	CHECK_EQ(to_pod(&A, &err), OK);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_CT_RELATED), 2);
}

static void t_icmp_echo_reply(void)
{
	struct pw_pkt p;

	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS | PW_EP_ISOLATED_EGRESS);
	rule_slot(0, &B, PW_DIR_INGRESS, A.identity, 0, 0, PW_POL_PREFIX_ANY_PROTO, 5);
	rule_slot(0, &B, PW_DIR_INGRESS, C.identity, IPPROTO_TCP, 0, PW_POL_PREFIX_ANY_PORT, 6);
	CHECK_EQ(pw_pkt_icmp_echo(&p, A.a4, B.a4, 77, false), 0);
	CHECK_EQ(to_pod(&B, &p), OK);
	CHECK_EQ(pw_pkt_icmp_echo(&p, B.a4, A.a4, 77, true), 0);
	CHECK_EQ(from_pod(&B, &p), OK);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_ALLOW, PW_REASON_CT_REPLY), 1);
	/* another identifier is not a reply */
	CHECK_EQ(pw_pkt_icmp_echo(&p, B.a4, A.a4, 78, true), 0);
	CHECK_EQ(from_pod(&B, &p), SHOT);
	/* a TCP rule does not allow ICMP */
	CHECK_EQ(pw_pkt_icmp_echo(&p, C.a4, B.a4, 79, false), 0);
	CHECK_EQ(to_pod(&B, &p), SHOT);
	/* ICMPv6 echo */
	CHECK_EQ(pw_pkt_icmp_echo(&p, A.a6, B.a6, 80, false), 0);
	CHECK_EQ(to_pod(&B, &p), OK);
	CHECK_EQ(pw_pkt_icmp_echo(&p, B.a6, A.a6, 80, true), 0);
	CHECK_EQ(from_pod(&B, &p), OK);
}

static void t_tcp_rst_removes_conntrack(void)
{
	struct pw_ct_val v;

	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS | PW_EP_ISOLATED_EGRESS);
	allow(&B, PW_DIR_INGRESS, A.identity, IPPROTO_TCP, 80);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(ct_get(A.a4, B.a4, 40000, 80, IPPROTO_TCP, PW_DIR_INGRESS, &v), 0);
	CHECK(!(v.flags & PW_CT_CLOSING));
	/* FIN: closing, short timeout */
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, 40000, PW_TCPF_FIN | PW_TCPF_ACK)), OK);
	CHECK_EQ(ct_get(A.a4, B.a4, 40000, 80, IPPROTO_TCP, PW_DIR_INGRESS, &v), 0);
	CHECK(v.flags & PW_CT_CLOSING);
	/* RST passes and removes the entry */
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_RST)), OK);
	CHECK_EQ(ct_get(A.a4, B.a4, 40000, 80, IPPROTO_TCP, PW_DIR_INGRESS, NULL), -ENOENT);
	/* so B's next packet on it is no reply any more */
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, 40000, PW_TCPF_ACK)), SHOT);
	/* a RST of an unknown flow opens nothing */
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40001, 80, PW_TCPF_RST)), OK);
	CHECK_EQ(ct_get(A.a4, B.a4, 40001, 80, IPPROTO_TCP, PW_DIR_INGRESS, NULL), -ENOENT);
}

static void t_audit_mode(void)
{
	struct pw_ct_val v;

	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	cfg.flags = PW_CFG_AUDIT_ALL;
	set_cfg();
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_AUDIT, PW_REASON_POLICY_DENIED), 1);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_DROP, PW_REASON_POLICY_DENIED), 0);
	CHECK_EQ(ct_get(A.a4, B.a4, 40000, 80, IPPROTO_TCP, PW_DIR_INGRESS, &v), 0);
	CHECK(v.flags & PW_CT_AUDIT);
	CHECK_EQ(drain_events(), 1);
	CHECK_EQ(evs[0].verdict, PW_VERDICT_AUDIT);
	CHECK_EQ(evs[0].reason, PW_REASON_POLICY_DENIED);
	/* the flow works: later packets are established */
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_ACK)), OK);

	/* per endpoint (namespace annotation) */
	cfg.flags = 0;
	set_cfg();
	ep_flags(&B, PW_EP_ISOLATED_INGRESS | PW_EP_AUDIT);
	CHECK_EQ(to_pod(&B, tcp(C.a4, B.a4, 40001, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_AUDIT, PW_REASON_POLICY_DENIED), 2);
	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	CHECK_EQ(to_pod(&B, tcp(C.a4, B.a4, 40002, 80, PW_TCPF_SYN)), SHOT);
	/* leaving audit mode is a policy change: audit-made flows are re-judged */
	cfg.generation++;
	set_cfg();
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_ACK)), SHOT);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_DROP, PW_REASON_REVOKED), 1);
}

static void t_drop_event_fields(void)
{
	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	CHECK_EQ(drain_events(), 0);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40100, 8080, PW_TCPF_SYN)), SHOT);
	CHECK_EQ(drain_events(), 1);
	struct pw_event *e = &evs[0];
	CHECK(!memcmp(e->saddr, A.a4, 16));
	CHECK(!memcmp(e->daddr, B.a4, 16));
	CHECK_EQ(ntohs(e->sport), 40100);
	CHECK_EQ(ntohs(e->dport), 8080);
	CHECK_EQ(e->proto, IPPROTO_TCP);
	CHECK_EQ(e->dir, PW_DIR_INGRESS);
	CHECK_EQ(e->verdict, PW_VERDICT_DROP);
	CHECK_EQ(e->reason, PW_REASON_POLICY_DENIED);
	CHECK_EQ(e->ifindex, B.ifindex);
	CHECK_EQ(e->ep_id, B.ifindex);
	CHECK_EQ(e->src_identity, A.identity);
	CHECK_EQ(e->dst_identity, B.identity);
	CHECK_EQ(e->flags, 0);
	CHECK_EQ(e->suppressed, 0);
	CHECK(e->ts_ns > 0);
	/* an egress drop names the pod as the source */
	ep_flags(&A, PW_EP_ISOLATED_EGRESS);
	CHECK_EQ(from_pod(&A, tcp(A.a6, IP("2001:db8::1"), 40101, 443, PW_TCPF_SYN)), SHOT);
	CHECK_EQ(drain_events(), 1);
	CHECK_EQ(evs[0].dir, PW_DIR_EGRESS);
	CHECK_EQ(evs[0].src_identity, A.identity);
	CHECK_EQ(evs[0].dst_identity, PW_ID_WORLD);
	CHECK_EQ(evs[0].ifindex, A.ifindex);
	/* allowed new flows are quiet, unless asked for */
	CHECK_EQ(to_pod(&C, tcp(A.a4, C.a4, 40102, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(drain_events(), 0);
	cfg.flags = PW_CFG_EVENTS_ALLOW;
	set_cfg();
	CHECK_EQ(to_pod(&C, tcp(A.a4, C.a4, 40103, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(to_pod(&C, tcp(A.a4, C.a4, 40103, 80, PW_TCPF_ACK)), OK); /* established: quiet */
	CHECK_EQ(drain_events(), 1);
	CHECK_EQ(evs[0].verdict, PW_VERDICT_ALLOW);
	CHECK_EQ(evs[0].reason, PW_REASON_NOT_ISOLATED);
}

static void t_dns_query_name_in_event(void)
{
	struct pw_pkt q;
	const char *long_name =
		"a123456789.b123456789.c123456789.d123456789.e123456789.f123456789.example.com";

	if (fresh())
		return;
	ep_flags(&A, PW_EP_ISOLATED_EGRESS);
	CHECK_EQ(pw_pkt_dns_query(&q, A.a4, IP(DNS_IP), 30000, "api.example.com", false), 0);
	CHECK_EQ(from_pod(&A, &q), SHOT);
	CHECK_EQ(pw_pkt_dns_query(&q, A.a6, IP("fd00::53"), 30001, "db.svc.cluster.local", true), 0);
	CHECK_EQ(from_pod(&A, &q), SHOT);
	CHECK_EQ(pw_pkt_dns_query(&q, A.a4, IP(DNS_IP), 30002, long_name, false), 0);
	CHECK_EQ(from_pod(&A, &q), SHOT);
	CHECK_EQ(drain_events(), 3);
	CHECK(evs[0].flags & PW_EVENT_HAS_DNS);
	CHECK_STR_CONTAINS(evs[0].dns_name, "api.example.com");
	CHECK_EQ(strlen(evs[0].dns_name), strlen("api.example.com"));
	CHECK_EQ(evs[0].reason, PW_REASON_DNS_DENIED);
	CHECK_EQ(evs[0].dst_identity, DNS_ID);
	CHECK(evs[1].flags & PW_EVENT_HAS_DNS);
	CHECK_EQ(strcmp(evs[1].dns_name, "db.svc.cluster.local"), 0);
	CHECK_EQ(evs[1].proto, IPPROTO_TCP);
	/* cut at PW_DNS_NAME_MAX - 1 characters, NUL-terminated */
	CHECK(evs[2].flags & PW_EVENT_HAS_DNS);
	CHECK_EQ(strlen(evs[2].dns_name), PW_DNS_NAME_MAX - 1);
	CHECK_EQ(strncmp(evs[2].dns_name, long_name, PW_DNS_NAME_MAX - 1), 0);
	/* not DNS: no name */
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_SYN)), SHOT);
	CHECK_EQ(drain_events(), 1);
	CHECK_EQ(evs[0].flags & PW_EVENT_HAS_DNS, 0);
	CHECK_EQ(evs[0].dns_name[0], 0);
}

static void t_event_rate_limit(void)
{
	int ncpu = libbpf_num_possible_cpus();
	struct pw_ratelimit rl[ncpu > 0 ? ncpu : 1];
	uint32_t zero = 0;

	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	cfg.events_per_sec = 2;
	set_cfg();
	for (int i = 0; i < 5; i++)
		CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40000 + i, 80, PW_TCPF_SYN)), SHOT);
	CHECK_EQ(drain_events(), 2);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_DROP, PW_REASON_POLICY_DENIED), 5);
	/* open the next one-second window, then the next event reports the skipped ones */
	CHECK_EQ(bpf_map__lookup_elem(obj->maps.ratelimit, &zero, sizeof(zero), rl, sizeof(rl), 0), 0);
	for (int i = 0; i < ncpu; i++)
		rl[i].window_start_ns = 0;
	CHECK_EQ(bpf_map__update_elem(obj->maps.ratelimit, &zero, sizeof(zero), rl, sizeof(rl), 0), 0);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40010, 80, PW_TCPF_SYN)), SHOT);
	CHECK_EQ(drain_events(), 1);
	CHECK_EQ(evs[0].suppressed, 3);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40011, 80, PW_TCPF_SYN)), SHOT);
	CHECK_EQ(drain_events(), 1);
	CHECK_EQ(evs[0].suppressed, 0);
}

static void t_deferred_service_local(void)
{
	struct pw_ct_val v;

	if (fresh())
		return;
	ep_flags(&A, PW_EP_ISOLATED_INGRESS | PW_EP_ISOLATED_EGRESS);
	allow(&A, PW_DIR_EGRESS, B.identity, IPPROTO_TCP, 80);
	/* to the Service VIP: passed on, marked, no verdict yet */
	CHECK_EQ(from_pod(&A, tcp(A.a4, IP(VIP), 41000, 80, PW_TCPF_SYN)), OK);
	CHECK(last_mark & PW_MARK_DEFER);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_ALLOW, PW_REASON_DEFERRED), 1);
	CHECK_EQ(ct_get(A.a4, IP(VIP), 41000, 80, IPPROTO_TCP, PW_DIR_EGRESS, &v), 0);
	CHECK(v.flags & PW_CT_DEFERRED);
	/* later packets too */
	CHECK_EQ(from_pod(&A, tcp(A.a4, IP(VIP), 41000, 80, PW_TCPF_ACK)), OK);
	CHECK(last_mark & PW_MARK_DEFER);

	/* past DNAT to B: A's egress allows B:80, B takes it */
	CHECK_EQ(run_mark(PW_PROG_TO_POD, B.ifindex, tcp(A.a4, B.a4, 41000, 80, PW_TCPF_SYN),
			  PW_MARK_DEFER | 0x4000), OK);
	CHECK_EQ(last_mark, 0x4000);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_ALLOW, PW_REASON_NONE), 1);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_NOT_ISOLATED), 1);
	CHECK_EQ(ct_get(A.a4, B.a4, 41000, 80, IPPROTO_TCP, PW_DIR_EGRESS, &v), 0);
	CHECK_EQ(v.ep_id, A.ifindex);
	/* past DNAT to C: A may not talk to C, whatever C allows */
	CHECK_EQ(run_mark(PW_PROG_TO_POD, C.ifindex, tcp(A.a4, C.a4, 41001, 80, PW_TCPF_SYN),
			  PW_MARK_DEFER), SHOT);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_DROP, PW_REASON_POLICY_DENIED), 1);
	/* A's egress allows, B's own ingress still has its say */
	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	CHECK_EQ(run_mark(PW_PROG_TO_POD, B.ifindex, tcp(A.a4, B.a4, 41002, 80, PW_TCPF_SYN),
			  PW_MARK_DEFER), SHOT);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_DROP, PW_REASON_POLICY_DENIED), 1);
	/* the reply, un-NATed (from the VIP), enters A as a reply */
	CHECK_EQ(to_pod(&A, tcp(IP(VIP), A.a4, 80, 41000, PW_TCPF_SYN | PW_TCPF_ACK)), OK);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_CT_REPLY), 1);
}

static void t_deferred_service_remote(void)
{
	if (fresh())
		return;
	ep_flags(&A, PW_EP_ISOLATED_EGRESS);
	allow(&A, PW_DIR_EGRESS, REMOTE_ID, IPPROTO_TCP, 443);
	CHECK_EQ(from_pod(&A, tcp(A.a4, IP(VIP), 41000, 443, PW_TCPF_SYN)), OK);
	CHECK(last_mark & PW_MARK_DEFER);
	/* past DNAT to a pod on another node: the uplink takes the verdict */
	CHECK_EQ(run_mark(PW_PROG_TO_REMOTE, if_uplink,
			  tcp(A.a4, IP(REMOTE_IP), 41000, 443, PW_TCPF_SYN), PW_MARK_DEFER | 0x4000), OK);
	CHECK_EQ(last_mark, 0x4000);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_ALLOW, PW_REASON_NONE), 1);
	CHECK_EQ(run_mark(PW_PROG_TO_REMOTE, if_uplink,
			  tcp(A.a4, IP(REMOTE_IP), 41000, 443, PW_TCPF_ACK), PW_MARK_DEFER), OK);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_ALLOW, PW_REASON_CT_ESTABLISHED), 1);
	CHECK_EQ(run_mark(PW_PROG_TO_REMOTE, if_uplink,
			  tcp(A.a4, IP("10.1.0.6"), 41001, 443, PW_TCPF_SYN), PW_MARK_DEFER), SHOT);
	CHECK_EQ(last_mark, 0);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_DROP, PW_REASON_POLICY_DENIED), 1);
	/* unmarked traffic is not the uplink's business */
	CHECK_EQ(run_mark(PW_PROG_TO_REMOTE, if_uplink,
			  tcp(A.a4, IP("10.1.0.6"), 41002, 443, PW_TCPF_SYN), 0x4000), OK);
	CHECK_EQ(last_mark, 0x4000);
	/* a marked packet from an address that is no local pod: nothing to judge */
	CHECK_EQ(run_mark(PW_PROG_TO_REMOTE, if_uplink,
			  tcp(IP("10.5.5.5"), IP("10.1.0.6"), 41003, 443, PW_TCPF_SYN), PW_MARK_DEFER), OK);
	CHECK_EQ(last_mark, 0);
}

static void t_from_host_passes(void)
{
	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	CHECK_EQ(to_pod(&B, tcp(IP(HOST_IP), B.a4, 50000, 8080, PW_TCPF_SYN)), OK);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_FROM_HOST), 1);
}

static void t_no_endpoint_passes(void)
{
	if (fresh())
		return;
	CHECK_EQ(run(PW_PROG_FROM_POD, if_noep, tcp(C.a4, B.a4, 1, 2, PW_TCPF_SYN)), OK);
	CHECK_EQ(run(PW_PROG_TO_POD, if_noep, tcp(C.a4, B.a4, 1, 2, PW_TCPF_SYN)), OK);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_ALLOW, PW_REASON_NO_ENDPOINT), 1);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_NO_ENDPOINT), 1);
}

static void t_malformed_drops(void)
{
	struct pw_pkt p;

	if (fresh())
		return;
	/* TCP header cut short */
	CHECK_EQ(pw_pkt_tcp(&p, A.a4, B.a4, 40000, 80, PW_TCPF_SYN), 0);
	p.len = 14 + 20 + 10;
	CHECK_EQ(from_pod(&A, &p), SHOT);
	/* TCP options promised but absent */
	CHECK_EQ(pw_pkt_tcp(&p, A.a4, B.a4, 40000, 80, PW_TCPF_SYN), 0);
	p.data[14 + 20 + 12] = 8 << 4;
	CHECK_EQ(from_pod(&A, &p), SHOT);
	/* IPv4 header length below 20 */
	CHECK_EQ(pw_pkt_tcp(&p, A.a4, B.a4, 40000, 80, PW_TCPF_SYN), 0);
	p.data[14] = 0x44;
	CHECK_EQ(to_pod(&B, &p), SHOT);
	/* IPv6 with its TCP header cut short */
	CHECK_EQ(pw_pkt_tcp(&p, A.a6, B.a6, 40000, 80, PW_TCPF_SYN), 0);
	p.len = 14 + 40 + 12;
	CHECK_EQ(from_pod(&A, &p), SHOT);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_DROP, PW_REASON_MALFORMED), 3);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_DROP, PW_REASON_MALFORMED), 1);
	/* an IPv6 extension chain longer than we follow */
	struct pw_pkt_spec s = { .proto = IPPROTO_TCP, .sport = 1, .dport = 80 };
	memcpy(s.saddr, A.a6, 16);
	memcpy(s.daddr, B.a6, 16);
	CHECK_EQ(pw_pkt_build(&p, &s), 0);
	{
		/* rebuild by hand: 9 destination-options headers before TCP */
		uint8_t tcph[20];
		uint32_t l4 = 14 + 40;

		memcpy(tcph, p.data + l4, 20);
		p.data[14 + 6] = 60;
		for (int i = 0; i < 9; i++) {
			uint8_t *h = p.data + l4 + i * 8;

			memset(h, 0, 8);
			h[0] = i == 8 ? IPPROTO_TCP : 60;
			h[2] = 1;
			h[3] = 4;
		}
		memcpy(p.data + l4 + 72, tcph, 20);
		p.len = l4 + 72 + 20;
		p.data[14 + 4] = 0;
		p.data[14 + 5] = 92;
	}
	CHECK_EQ(to_pod(&B, &p), SHOT);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_DROP, PW_REASON_MALFORMED), 2);
}

static void t_conntrack_expiry(void)
{
	struct pw_ct_key k = { .sport = htons(40000), .dport = htons(80),
			       .proto = IPPROTO_TCP, .dir = PW_DIR_INGRESS };
	struct pw_ct_val v = { .generation = 1, .flags = 0 };

	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS | PW_EP_ISOLATED_EGRESS);
	memcpy(k.saddr, A.a4, 16);
	memcpy(k.daddr, B.a4, 16);
	v.ep_id = B.ifindex;
	/* an unanswered SYN older than PW_CT_TCP_SYN_TIMEOUT */
	v.last_seen_ns = now_ns() - (PW_CT_TCP_SYN_TIMEOUT + 5) * 1000000000ull;
	CHECK_EQ(pw_bpf_ct_put(obj, &k, &v), 0);
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, 40000, PW_TCPF_SYN | PW_TCPF_ACK)), SHOT);
	CHECK_EQ(ct_get(A.a4, B.a4, 40000, 80, IPPROTO_TCP, PW_DIR_INGRESS, NULL), -ENOENT);
	/* a fresh one */
	v.last_seen_ns = now_ns() - 5 * 1000000000ull;
	CHECK_EQ(pw_bpf_ct_put(obj, &k, &v), 0);
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, 40000, PW_TCPF_SYN | PW_TCPF_ACK)), OK);
	/* an entry of another endpoint is not ours */
	v.ep_id = C.ifindex;
	CHECK_EQ(pw_bpf_ct_put(obj, &k, &v), 0);
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, 40000, PW_TCPF_ACK)), SHOT);
	/* flush */
	CHECK_EQ(pw_bpf_ct_flush(obj), 0);
	size_t n = 1;
	CHECK_EQ(pw_bpf_ct_count(obj, &n), 0);
	CHECK_EQ(n, 0);
}

/*
 * last_seen_ns is refreshed when a quarter of a second old, not on every
 * packet; a timestamp written by userspace a little ahead of the datapath's
 * tick-resolution clock is fresh, not expired.
 */
static void t_conntrack_refresh(void)
{
	struct pw_ct_key k = { .sport = htons(40000), .dport = htons(80),
			       .proto = IPPROTO_TCP, .dir = PW_DIR_INGRESS };
	struct pw_ct_val v = { .generation = 1, .flags = PW_CT_SEEN_REPLY }, got;
	uint64_t t;

	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	memcpy(k.saddr, A.a4, 16);
	memcpy(k.daddr, B.a4, 16);
	v.ep_id = B.ifindex;
	/* 5 s old: refreshed */
	t = now_ns();
	v.last_seen_ns = t - 5 * 1000000000ull;
	CHECK_EQ(pw_bpf_ct_put(obj, &k, &v), 0);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_ACK)), OK);
	CHECK_EQ(pw_bpf_ct_lookup(obj, &k, &got), 0);
	CHECK(got.last_seen_ns > t - 1000000000ull);
	/* 50 ms old: left as it is */
	v.last_seen_ns = now_ns() - 50000000ull;
	CHECK_EQ(pw_bpf_ct_put(obj, &k, &v), 0);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_ACK)), OK);
	CHECK_EQ(pw_bpf_ct_lookup(obj, &k, &got), 0);
	CHECK_EQ(got.last_seen_ns, v.last_seen_ns);
	/* ahead of the datapath's clock: alive */
	v.last_seen_ns = now_ns() + 20000000ull;
	CHECK_EQ(pw_bpf_ct_put(obj, &k, &v), 0);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_ACK)), OK);
	CHECK_EQ(pw_bpf_ct_lookup(obj, &k, &got), 0);
	/* the flags still move on every packet */
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_ACK | PW_TCPF_FIN)), OK);
	CHECK_EQ(pw_bpf_ct_lookup(obj, &k, &got), 0);
	CHECK(got.flags & PW_CT_CLOSING);
}

/* Insert n zero bytes (options) at off of a frame. */
static void insert_at(struct pw_pkt *p, uint32_t off, uint32_t n)
{
	memmove(p->data + off + n, p->data + off, p->len - off);
	memset(p->data + off, 1, n); /* NOPs (TCP and IPv4 options alike) */
	p->len += n;
}

/*
 * The in-place parser (IPv4 without options, IPv6 without extension
 * headers, TCP/UDP, no fragment) and the general one see the same packet:
 * IPv4 options, TCP options, DF, a UDP datagram, an IPv6 hop-by-hop header.
 */
static void t_parse_fast_and_general_agree(void)
{
	struct pw_pkt p;
	struct pw_ct_val v;

	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	allow(&B, PW_DIR_INGRESS, A.identity, IPPROTO_TCP, 80);
	allow(&B, PW_DIR_INGRESS, A.identity, IPPROTO_UDP, 53);
	/* IPv4 options: the general parser */
	for (int port = 80; port <= 81; port++) {
		CHECK_EQ(pw_pkt_tcp(&p, A.a4, B.a4, 40001, port, PW_TCPF_SYN), 0);
		insert_at(&p, 14 + 20, 4);
		p.data[14] = 0x46;
		p.data[14 + 3] += 4; /* tot_len (< 256 here) */
		CHECK_EQ(to_pod(&B, &p), port == 80 ? OK : SHOT);
	}
	CHECK_EQ(ct_get(A.a4, B.a4, 40001, 80, IPPROTO_TCP, PW_DIR_INGRESS, &v), 0);
	/* TCP options: in place, the ports and flags right */
	CHECK_EQ(pw_pkt_tcp(&p, A.a4, B.a4, 40002, 80, PW_TCPF_SYN | PW_TCPF_FIN), 0);
	insert_at(&p, 14 + 20 + 20, 12);
	p.data[14 + 20 + 12] = 8 << 4;
	p.data[14 + 3] += 12;
	CHECK_EQ(to_pod(&B, &p), OK);
	CHECK_EQ(ct_get(A.a4, B.a4, 40002, 80, IPPROTO_TCP, PW_DIR_INGRESS, &v), 0);
	CHECK(v.flags & PW_CT_CLOSING);
	/* DF is no fragment */
	CHECK_EQ(pw_pkt_tcp(&p, A.a4, B.a4, 40003, 80, PW_TCPF_SYN), 0);
	p.data[14 + 6] = 0x40;
	CHECK_EQ(to_pod(&B, &p), OK);
	CHECK_EQ(ct_get(A.a4, B.a4, 40003, 80, IPPROTO_TCP, PW_DIR_INGRESS, NULL), 0);
	/* UDP, IPv4 and IPv6 */
	CHECK_EQ(to_pod(&B, l4(A.a4, B.a4, IPPROTO_UDP, 40004, 53)), OK);
	CHECK_EQ(ct_get(A.a4, B.a4, 40004, 53, IPPROTO_UDP, PW_DIR_INGRESS, NULL), 0);
	CHECK_EQ(to_pod(&B, l4(A.a4, B.a4, IPPROTO_UDP, 40005, 54)), SHOT);
	CHECK_EQ(to_pod(&B, l4(A.a6, B.a6, IPPROTO_UDP, 40006, 53)), OK);
	CHECK_EQ(ct_get(A.a6, B.a6, 40006, 53, IPPROTO_UDP, PW_DIR_INGRESS, NULL), 0);
	/* an IPv6 hop-by-hop header: the general parser */
	struct pw_pkt_spec sp = { .proto = IPPROTO_TCP, .sport = 40007, .dport = 80,
				  .tcp_flags = PW_TCPF_SYN, .v6_hbh = true };
	memcpy(sp.saddr, A.a6, 16);
	memcpy(sp.daddr, B.a6, 16);
	CHECK_EQ(pw_pkt_build(&p, &sp), 0);
	CHECK_EQ(to_pod(&B, &p), OK);
	CHECK_EQ(ct_get(A.a6, B.a6, 40007, 80, IPPROTO_TCP, PW_DIR_INGRESS, NULL), 0);
	sp.dport = 81;
	CHECK_EQ(pw_pkt_build(&p, &sp), 0);
	CHECK_EQ(to_pod(&B, &p), SHOT);
	/* a UDP header cut short after a whole IPv4 header: malformed either way */
	CHECK_EQ(pw_pkt_l4(&p, A.a4, B.a4, IPPROTO_UDP, 40008, 53), 0);
	p.len = 14 + 20 + 6;
	CHECK_EQ(to_pod(&B, &p), SHOT);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_DROP, PW_REASON_MALFORMED), 1);
}

static void t_policy_slot_switch(void)
{
	if (fresh())
		return;
	/* slot 1 isolates B and allows A:80; slot 0 is live and isolates B with no rule */
	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	rule_slot(1, &B, PW_DIR_INGRESS, A.identity, IPPROTO_TCP, 80, PW_POL_PREFIX_FULL, 1);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_SYN)), SHOT);
	cfg.active_slot = 1;
	cfg.generation++;
	set_cfg();
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40001, 80, PW_TCPF_SYN)), OK);
	/* slot 0 flags say "not isolated": switching back opens B */
	ep_flags_slot(&B, 0, 0);
	cfg.active_slot = 0;
	cfg.generation++;
	set_cfg();
	CHECK_EQ(to_pod(&B, tcp(C.a4, B.a4, 40002, 9, PW_TCPF_SYN)), OK);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_NOT_ISOLATED), 1);
}

static void t_pinned_maps_are_reused(void)
{
	char dir[] = "/sys/fs/bpf/podwall-test-XXXXXX";
	struct podwall_bpf *a = NULL, *b = NULL;
	struct pw_config c1 = { .generation = 77 }, c2;

	/*
	 * Private mount namespace: the bpffs mounted (or found) here is
	 * not visible outside, so nothing is left behind whatever happens.
	 */
	if (unshare(CLONE_NEWNS) || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		CHECK(!"private mount namespace");
		return;
	}
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		CHECK(!"mount bpffs");
		return;
	}
	CHECK(mkdtemp(dir) != NULL);
	rmdir(dir);
	CHECK_EQ(pw_bpf_open(dir, &a, NULL), 0);
	if (!a)
		return;
	CHECK_EQ(pw_bpf_set_config(a, &c1), 0);
	CHECK_EQ(pw_bpf_open(dir, &b, NULL), 0);
	if (b) {
		CHECK_EQ(pw_bpf_get_config(b, &c2), 0);
		CHECK_EQ(c2.generation, 77);
		pw_bpf_close(b);
	}
	pw_bpf_close(a);
	CHECK(access(dir, F_OK) == 0);
	CHECK_EQ(pw_bpf_unpin(dir, NULL), 0);
	CHECK(access(dir, F_OK) != 0);
	umount("/sys/fs/bpf");
}

/*
 * The upgrade: an old datapath (stood in for by a program that uses the
 * LPM half only) is attached and the live slot is in the old layout. The
 * first sync also writes the exact entries into the LPMs, for it; once it
 * is gone, the next sync writes the split layout alone.
 */
static void unsplit_upgrade(struct podwall_bpf *a)
{
	struct bpf_insn insns[4];
	struct pw_state s;
	struct pw_state_ep ep;
	struct pw_state_pol pol;
	struct pw_sync_stats st;
	struct pw_policy_key k, k1;
	struct pw_policy_val v = { .rule_id = 3 }, got;
	int prog;

	memset(insns, 0, sizeof(insns));
	insns[0].code = BPF_LD | BPF_DW | BPF_IMM; /* r1 = &policy_lpm */
	insns[0].dst_reg = BPF_REG_1;
	insns[0].src_reg = BPF_PSEUDO_MAP_FD;
	insns[0].imm = bpf_map__fd(a->maps.policy_lpm);
	insns[2].code = BPF_ALU64 | BPF_MOV | BPF_K; /* r0 = 0 */
	insns[3].code = BPF_JMP | BPF_EXIT;
	prog = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "pw_old", "GPL", insns, 4, NULL);
	CHECK(prog >= 0);
	/* the old layout, live in slot 0: a port entry in the LPM */
	pw_policy_key_make(&k, PW_POL_PREFIX_FULL, 0, PW_DIR_INGRESS, B.ifindex, A.identity,
			   IPPROTO_TCP, 80);
	CHECK_EQ(bpf_map__update_elem(a->maps.policy_lpm, &k, sizeof(k), &v, sizeof(v), 0), 0);

	memset(&s, 0, sizeof(s));
	memset(&ep, 0, sizeof(ep));
	ep.ifindex = ep.ep_id = B.ifindex;
	ep.identity = B.identity;
	ep.flags = PW_EP_ISOLATED_INGRESS;
	pol.key = k;
	pol.val = v;
	s.eps = &ep;
	s.n_eps = 1;
	s.pol = &pol;
	s.n_pol = 1;
	CHECK_EQ(pw_sync(a, &s, NULL, &st), 0);
	CHECK_EQ(st.slot, 1);
	k1 = k;
	k1.slot = 1;
	CHECK_EQ(bpf_map__lookup_elem(a->maps.policy, &k1, sizeof(k1), &got, sizeof(got), 0), 0);
	CHECK_EQ(bpf_map__lookup_elem(a->maps.policy_lpm, &k1, sizeof(k1), &got, sizeof(got), 0), 0);
	if (prog >= 0)
		close(prog);
	/* the old programs are gone: the same state, split alone */
	CHECK_EQ(pw_sync(a, &s, NULL, &st), 0);
	CHECK(st.switched);
	CHECK_EQ(st.slot, 0);
	CHECK_EQ(bpf_map__lookup_elem(a->maps.policy, &k, sizeof(k), &got, sizeof(got), 0), 0);
	CHECK(bpf_map__lookup_elem(a->maps.policy_lpm, &k, sizeof(k), &got, sizeof(got), 0));
	/* and then it stays as it is */
	CHECK_EQ(pw_sync(a, &s, NULL, &st), 0);
	CHECK(!st.switched);
}

/*
 * Pins of a podwall from before the split: ipcache and policy were LPMs.
 * Opening adopts them as ipcache_lpm and policy_lpm (their entries kept)
 * and makes the hashes beside them.
 */
static void t_unsplit_pins_adopted(void)
{
	char dir[] = "/sys/fs/bpf/podwall-test-XXXXXX", path[256];
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	struct podwall_bpf *a = NULL;
	struct pw_policy_key k;
	struct pw_policy_val v = { .rule_id = 9 }, got;
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	int fi, fp;

	if (unshare(CLONE_NEWNS) || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		CHECK(!"private bpffs");
		return;
	}
	CHECK(mkdtemp(dir) != NULL);
	fi = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "ipcache", sizeof(struct pw_ipcache_key),
			    sizeof(struct pw_ipcache_val), PW_MAX_IPCACHE, &o);
	fp = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "policy", sizeof(struct pw_policy_key),
			    sizeof(struct pw_policy_val), PW_MAX_POLICY, &o);
	CHECK(fi >= 0 && fp >= 0);
	pw_policy_key_make(&k, PW_POL_PREFIX_ANY_PORT + 4, 0, PW_DIR_INGRESS, 7, 8, IPPROTO_TCP,
			   4096);
	CHECK_EQ(bpf_map_update_elem(fp, &k, &v, 0), 0);
	snprintf(path, sizeof(path), "%s/ipcache", dir);
	CHECK_EQ(bpf_obj_pin(fi, path), 0);
	snprintf(path, sizeof(path), "%s/policy", dir);
	CHECK_EQ(bpf_obj_pin(fp, path), 0);
	close(fi);
	CHECK_EQ(pw_bpf_open(dir, &a, NULL), 0);
	if (a) {
		CHECK_EQ(bpf_map__lookup_elem(a->maps.policy_lpm, &k, sizeof(k), &got, sizeof(got), 0), 0);
		CHECK_EQ(got.rule_id, 9);
		memset(&info, 0, sizeof(info));
		CHECK_EQ(bpf_obj_get_info_by_fd(bpf_map__fd(a->maps.policy), &info, &len), 0);
		CHECK_EQ(info.type, BPF_MAP_TYPE_HASH);
		snprintf(path, sizeof(path), "%s/policy_lpm", dir);
		CHECK(access(path, F_OK) == 0);
		unsplit_upgrade(a);
		pw_bpf_close(a);
	}
	close(fp);
	CHECK_EQ(pw_bpf_unpin(dir, NULL), 0);
	CHECK(access(dir, F_OK) != 0);
	umount("/sys/fs/bpf");
}

/* ---------------------------------------- exact keys and prefixes apart */

/* The summary of (slot 0, dir, ep, peer) in the hash policy; -1 if there is none. */
static long long summary(struct pod *p, int dir, uint32_t peer)
{
	struct pw_policy_key k, sk;
	struct pw_policy_val v;

	pw_policy_key_make(&k, PW_POL_PREFIX_FULL, 0, dir, p->ifindex, peer, 0, 0);
	pw_policy_summary_key(&sk, &k);
	if (bpf_map__lookup_elem(obj->maps.policy, &sk, sizeof(sk), &v, sizeof(v), 0))
		return -1;
	return v.flags;
}

/*
 * Is this very key in the map (the hash policy or the LPM policy_lpm)? By
 * walking the keys: an LPM lookup answers with the longest prefix that
 * matches, not with the key asked for.
 */
static bool pol_in(struct bpf_map *m, struct pod *p, int dir, uint32_t peer, uint8_t proto,
		   uint16_t port, uint32_t prefixlen)
{
	struct pw_policy_key k, cur, next;
	const void *prev = NULL;

	pw_policy_key_make(&k, prefixlen, 0, dir, p->ifindex, peer, proto, port);
	while (!bpf_map__get_next_key(m, prev, &next, sizeof(next))) {
		if (!memcmp(&next, &k, sizeof(k)))
			return true;
		cur = next;
		prev = &cur;
	}
	return false;
}

/* verdict of a TCP SYN A -> B:port, and the rule its conntrack entry took (0: none) */
static int syn_rule(const uint8_t *src, uint16_t sport, uint16_t port, uint32_t *rule)
{
	struct pw_ct_val v;
	int verdict = to_pod(&B, tcp(src, B.a4, sport, port, PW_TCPF_SYN));

	*rule = ct_get(src, B.a4, sport, port, IPPROTO_TCP, PW_DIR_INGRESS, &v) ? 0 : v.rule_id;
	return verdict;
}

static int put_range_prefix_rule(uint16_t port, uint32_t nbits, void *arg)
{
	uint32_t *a = arg; /* peer, rule */

	rule_slot(0, &B, PW_DIR_INGRESS, a[0], IPPROTO_TCP, port, PW_POL_PREFIX_ANY_PORT + nbits,
		  a[1]);
	return 0;
}

/*
 * One peer with a port, a port range over it, and every UDP port: each in
 * its map, the summary says so, and the longest entry wins as in one LPM.
 */
static void t_split_exact_and_range_same_peer(void)
{
	uint32_t rule, ra[2] = { A.identity, 11 };

	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	rule_slot(0, &B, PW_DIR_INGRESS, A.identity, IPPROTO_TCP, 8080, PW_POL_PREFIX_FULL, 10);
	CHECK(pw_port_range_prefixes(8000, 8999, put_range_prefix_rule, ra) > 1);
	rule_slot(0, &B, PW_DIR_INGRESS, A.identity, IPPROTO_UDP, 0, PW_POL_PREFIX_ANY_PORT, 12);

	/* where each went */
	CHECK(pol_in(obj->maps.policy, &B, PW_DIR_INGRESS, A.identity, IPPROTO_TCP, 8080,
		     PW_POL_PREFIX_FULL));
	CHECK(!pol_in(obj->maps.policy_lpm, &B, PW_DIR_INGRESS, A.identity, IPPROTO_TCP, 8080,
		      PW_POL_PREFIX_FULL));
	CHECK(pol_in(obj->maps.policy_lpm, &B, PW_DIR_INGRESS, A.identity, IPPROTO_TCP, 8192,
		     PW_POL_PREFIX_ANY_PORT + 7)); /* 8192-8703 */
	CHECK(pol_in(obj->maps.policy, &B, PW_DIR_INGRESS, A.identity, IPPROTO_UDP, 0,
		     PW_POL_PREFIX_ANY_PORT));
	/* (a peer's own ports are always looked up: not in its summary) */
	CHECK_EQ(summary(&B, PW_DIR_INGRESS, A.identity), PW_POLSUM_LPM | PW_POLSUM_ANY_PORT_UDP);
	CHECK_EQ(summary(&B, PW_DIR_INGRESS, C.identity), -1);

	/* the port beats the range it is in, the range covers the rest */
	CHECK_EQ(syn_rule(A.a4, 40001, 8080, &rule), OK);
	CHECK_EQ(rule, 10);
	CHECK_EQ(syn_rule(A.a4, 40002, 8081, &rule), OK);
	CHECK_EQ(rule, 11);
	CHECK_EQ(syn_rule(A.a4, 40003, 8000, &rule), OK);
	CHECK_EQ(rule, 11);
	CHECK_EQ(syn_rule(A.a4, 40004, 8999, &rule), OK);
	CHECK_EQ(syn_rule(A.a4, 40005, 9000, &rule), SHOT);
	CHECK_EQ(syn_rule(A.a4, 40006, 7999, &rule), SHOT);
	CHECK_EQ(to_pod(&B, l4(A.a4, B.a4, IPPROTO_UDP, 40007, 9000)), OK);
	CHECK_EQ(to_pod(&B, l4(A.a4, B.a4, IPPROTO_SCTP, 40008, 8080)), SHOT);
	CHECK_EQ(syn_rule(C.a4, 40009, 8080, &rule), SHOT);

	/* without the port entry, its range takes it */
	unallow(&B, PW_DIR_INGRESS, A.identity, IPPROTO_TCP, 8080);
	CHECK_EQ(syn_rule(A.a4, 40010, 8080, &rule), OK);
	CHECK_EQ(rule, 11);
	/* a bit too many in a summary costs a lookup, never a verdict */
	struct pw_policy_key sk, fk;
	struct pw_policy_val sv = { .flags = PW_POLSUM_LPM | PW_POLSUM_ANY_PORT_UDP |
					     PW_POLSUM_ANY_PORT_TCP | PW_POLSUM_ANY_PROTO };
	pw_policy_key_make(&fk, PW_POL_PREFIX_FULL, 0, PW_DIR_INGRESS, B.ifindex, A.identity, 0, 0);
	pw_policy_summary_key(&sk, &fk);
	CHECK_EQ(bpf_map__update_elem(obj->maps.policy, &sk, sizeof(sk), &sv, sizeof(sv), 0), 0);
	CHECK_EQ(syn_rule(A.a4, 40013, 9000, &rule), SHOT);
	CHECK_EQ(syn_rule(A.a4, 40014, 8500, &rule), OK);
	CHECK_EQ(rule, 11);
	/* a peer whose entries are all ports has no summary, and needs none */
	allow(&B, PW_DIR_INGRESS, C.identity, IPPROTO_TCP, 22);
	CHECK_EQ(summary(&B, PW_DIR_INGRESS, C.identity), -1);
	CHECK_EQ(syn_rule(C.a4, 40011, 22, &rule), OK);
	CHECK_EQ(syn_rule(C.a4, 40012, 23, &rule), SHOT);
	/* the writers refuse keys shorter than any-protocol */
	struct pw_policy_key k;
	struct pw_policy_val v = { 0 };
	pw_policy_key_make(&k, 64, 0, PW_DIR_INGRESS, B.ifindex, 0, 0, 0);
	CHECK_EQ(pw_bpf_put_policy(obj, &k, &v), -EINVAL);
}

/* The any-peer entries of every shape, after the peer's own entries. */
static void t_split_any_fallbacks(void)
{
	uint32_t rule, ra[2] = { PW_ID_ANY, 21 }, rb[2] = { A.identity, 30 };
	const uint8_t *world = IP("198.51.100.9");

	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	rule_slot(0, &B, PW_DIR_INGRESS, A.identity, IPPROTO_TCP, 80, PW_POL_PREFIX_FULL, 1);
	rule_slot(0, &B, PW_DIR_INGRESS, PW_ID_ANY, IPPROTO_TCP, 443, PW_POL_PREFIX_FULL, 20);
	CHECK(pw_port_range_prefixes(1000, 1999, put_range_prefix_rule, ra) > 1);
	rule_slot(0, &B, PW_DIR_INGRESS, PW_ID_ANY, IPPROTO_UDP, 0, PW_POL_PREFIX_ANY_PORT, 22);
	CHECK_EQ(summary(&B, PW_DIR_INGRESS, PW_ID_ANY),
		 PW_POLSUM_FULL | PW_POLSUM_LPM | PW_POLSUM_ANY_PORT_UDP);
	CHECK_EQ(summary(&B, PW_DIR_INGRESS, A.identity), -1);

	CHECK_EQ(syn_rule(A.a4, 40001, 80, &rule), OK);
	CHECK_EQ(rule, 1);
	/* A's own entries say nothing: the any peer's do */
	CHECK_EQ(syn_rule(A.a4, 40002, 443, &rule), OK);
	CHECK_EQ(rule, 20);
	CHECK_EQ(syn_rule(A.a4, 40003, 1500, &rule), OK);
	CHECK_EQ(rule, 21);
	CHECK_EQ(syn_rule(world, 40004, 1999, &rule), OK);
	CHECK_EQ(rule, 21);
	CHECK_EQ(to_pod(&B, l4(C.a4, B.a4, IPPROTO_UDP, 40005, 7)), OK);
	CHECK_EQ(syn_rule(world, 40006, 2000, &rule), SHOT);
	CHECK_EQ(syn_rule(C.a4, 40007, 80, &rule), SHOT);
	/* a peer with a range of its own that misses still falls back to the any peer */
	CHECK(pw_port_range_prefixes(5000, 5999, put_range_prefix_rule, rb) > 1);
	CHECK_EQ(syn_rule(A.a4, 40008, 443, &rule), OK);
	CHECK_EQ(rule, 20);
	CHECK_EQ(syn_rule(A.a4, 40009, 5500, &rule), OK);
	CHECK_EQ(rule, 30);
	/* every protocol from any peer */
	rule_slot(0, &B, PW_DIR_INGRESS, PW_ID_ANY, 0, 0, PW_POL_PREFIX_ANY_PROTO, 23);
	CHECK(summary(&B, PW_DIR_INGRESS, PW_ID_ANY) & PW_POLSUM_ANY_PROTO);
	CHECK_EQ(syn_rule(world, 40010, 2000, &rule), OK);
	CHECK_EQ(rule, 23);
	CHECK_EQ(syn_rule(world, 40011, 443, &rule), OK);
	CHECK_EQ(rule, 20);
	CHECK_EQ(to_pod(&B, l4(world, B.a4, IPPROTO_ICMP, 9, 0)), OK);
	/* pod addresses in the hash ipcache, CIDR groups in the LPM */
	struct pw_ipcache_key ik;
	struct pw_ipcache_val iv;
	pw_ipcache_key_make(&ik, 0, A.a4, 128);
	CHECK_EQ(bpf_map__lookup_elem(obj->maps.ipcache, &ik, sizeof(ik), &iv, sizeof(iv), 0), 0);
	CHECK(bpf_map__lookup_elem(obj->maps.ipcache_lpm, &ik, sizeof(ik), &iv, sizeof(iv), 0));
	ipc("198.51.100.0", 96 + 24, PW_ID_CIDR_MIN + 7, 0);
	pw_ipcache_key_make(&ik, 0, IP("198.51.100.0"), 96 + 24);
	CHECK_EQ(bpf_map__lookup_elem(obj->maps.ipcache_lpm, &ik, sizeof(ik), &iv, sizeof(iv), 0), 0);
}

/* ------------------------------------ mapsync against the userspace lookup */

static uint64_t t_rnd_state;
static uint32_t t_rnd(void)
{
	t_rnd_state ^= t_rnd_state << 13;
	t_rnd_state ^= t_rnd_state >> 7;
	t_rnd_state ^= t_rnd_state << 17;
	return (uint32_t)t_rnd_state;
}

static int pol_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct pw_state_pol *)a)->key, &((const struct pw_state_pol *)b)->key,
		      sizeof(struct pw_policy_key));
}

static int ipc_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct pw_state_ipc *)a)->key, &((const struct pw_state_ipc *)b)->key,
		      sizeof(struct pw_ipcache_key));
}

/* sort by key, drop later duplicates */
static size_t pol_sort(struct pw_state_pol *p, size_t n)
{
	size_t w = 0;

	qsort(p, n, sizeof(*p), pol_cmp);
	for (size_t i = 0; i < n; i++)
		if (!w || pol_cmp(&p[w - 1], &p[i]))
			p[w++] = p[i];
	return w;
}

#define N_XPEERS 8
static const char *const xpeer4[N_XPEERS] = { "10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.4",
					      "10.0.1.5", "10.0.1.6", "10.0.1.7", "10.0.1.8" };

/* Random entries of every shape for B and C, over a few peers and the any peer. */
static size_t random_policy(struct pw_state_pol *pol, size_t n)
{
	static const uint16_t ports[] = { 22, 53, 80, 443, 1000, 1500, 2047, 8080, 8443, 65535 };
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };

	for (size_t i = 0; i < n; i++) {
		struct pod *p = t_rnd() % 2 ? &B : &C;
		uint32_t r = t_rnd() % 100, peer, prefixlen;
		uint16_t port = t_rnd() % 3 ? ports[t_rnd() % 10] : (uint16_t)t_rnd();

		switch (t_rnd() % 6) {
		case 0: peer = PW_ID_ANY; break;
		case 1: peer = A.identity; break;
		case 2: peer = PW_ID_CIDR_MIN + 10; break;
		default: peer = 0x300 + t_rnd() % N_XPEERS; break;
		}
		prefixlen = r < 45 ? PW_POL_PREFIX_FULL :
			    r < 60 ? PW_POL_PREFIX_ANY_PORT :
			    r < 65 ? PW_POL_PREFIX_ANY_PROTO :
			    PW_POL_PREFIX_ANY_PORT + 1 + t_rnd() % 15;
		pw_policy_key_make(&pol[i].key, prefixlen, 0, t_rnd() % 2, p->ifindex, peer,
				   protos[t_rnd() % 3], port);
		pol[i].val.rule_id = 1000 + (uint32_t)i;
		pol[i].val.flags = 0;
	}
	return pol_sort(pol, n);
}

/*
 * A probe: a new flow (TCP SYN, UDP or SCTP) between pod p and remote, in
 * direction dir; its verdict and rule must be what the userspace lookup of
 * the same state says.
 */
static void probe(const struct pw_state *s, struct pod *p, int dir, const uint8_t *remote,
		  uint8_t proto, uint16_t port, uint16_t sport)
{
	const struct pw_state_ep *ep = NULL;
	struct pw_ipcache_val peer;
	struct pw_policy_val pv = { 0 };
	const uint8_t *self = pw_addr_is_v4(remote) ? p->a4 : p->a6;
	const uint8_t *src = dir == PW_DIR_EGRESS ? self : remote;
	const uint8_t *dst = dir == PW_DIR_EGRESS ? remote : self;
	struct pw_pkt *pk = proto == IPPROTO_TCP ? tcp(src, dst, sport, port, PW_TCPF_SYN)
						 : l4(src, dst, proto, sport, port);
	uint32_t iso = dir == PW_DIR_EGRESS ? PW_EP_ISOLATED_EGRESS : PW_EP_ISOLATED_INGRESS;
	bool allowed = true;
	int verdict, want;
	struct pw_ct_val cv;

	for (size_t i = 0; i < s->n_eps; i++)
		if (s->eps[i].ifindex == p->ifindex)
			ep = &s->eps[i];
	pw_state_ipcache_lookup(s, remote, &peer);
	if (ep && (ep->flags & iso))
		allowed = pw_state_policy_lookup(s, p->ifindex, dir, peer.identity, proto, port, &pv);
	verdict = dir == PW_DIR_EGRESS ? from_pod(p, pk) : to_pod(p, pk);
	want = allowed ? OK : SHOT;
	if (verdict != want && !check_failed_now) {
		char a[64];

		check_failed_now = 1;
		snprintf(check_why, sizeof(check_why), "%s %s peer %s (id %#x) proto %u port %u: "
			 "verdict %d, the lookup says %d (rule %u)", p->dev,
			 dir == PW_DIR_EGRESS ? "egress" : "ingress",
			 pw_addr_str(remote, a, sizeof(a)), peer.identity, proto, port, verdict, want,
			 pv.rule_id);
	}
	if (allowed && pv.rule_id &&
	    !ct_get(src, dst, sport, port, proto, dir, &cv) && cv.rule_id != pv.rule_id &&
	    !check_failed_now) {
		check_failed_now = 1;
		snprintf(check_why, sizeof(check_why), "%s proto %u port %u: rule %u, the lookup "
			 "says %u", p->dev, proto, port, cv.rule_id, pv.rule_id);
	}
}

static void t_split_sync_matches_lookup(void)
{
	struct pw_state s;
	struct pw_state_ep eps[3];
	struct pw_state_ipc ipcs[32];
	struct pw_state_pol *pol = calloc(800, sizeof(*pol));
	struct pw_sync_stats st;
	struct pw_map_fds fds;
	struct pw_error why;
	bool opened[2];
	uint16_t sport = 20000;
	size_t n_ipc = 0;

	if (fresh() || !pol) {
		free(pol);
		return;
	}
	t_rnd_state = 0x5eed1234abcdull;
	memset(&s, 0, sizeof(s));
	memset(eps, 0, sizeof(eps));
	for (int i = 0; i < 3; i++) {
		struct pod *p = pods[i];

		snprintf(eps[i].ns, sizeof(eps[i].ns), "t");
		snprintf(eps[i].name, sizeof(eps[i].name), "%s", p->dev);
		eps[i].ifindex = eps[i].ep_id = p->ifindex;
		eps[i].identity = p->identity;
		eps[i].n_ips = 2;
		memcpy(eps[i].ips[0], p->a4, 16);
		memcpy(eps[i].ips[1], p->a6, 16);
		pw_ipcache_key_make(&ipcs[n_ipc].key, 0, p->a4, 128);
		ipcs[n_ipc++].val = (struct pw_ipcache_val){ p->identity, PW_IPC_POD };
		pw_ipcache_key_make(&ipcs[n_ipc].key, 0, p->a6, 128);
		ipcs[n_ipc++].val = (struct pw_ipcache_val){ p->identity, PW_IPC_POD };
	}
	eps[1].flags = PW_EP_ISOLATED_INGRESS | PW_EP_ISOLATED_EGRESS; /* B */
	eps[2].flags = PW_EP_ISOLATED_INGRESS;                         /* C */
	for (int i = 0; i < N_XPEERS; i++) {
		pw_ipcache_key_make(&ipcs[n_ipc].key, 0, IP(xpeer4[i]), 128);
		ipcs[n_ipc++].val = (struct pw_ipcache_val){ 0x300 + (uint32_t)i, PW_IPC_POD };
	}
	pw_ipcache_key_make(&ipcs[n_ipc].key, 0, IP("192.0.2.0"), 96 + 24);
	ipcs[n_ipc++].val = (struct pw_ipcache_val){ PW_ID_CIDR_MIN + 10, 0 };
	pw_ipcache_key_make(&ipcs[n_ipc].key, 0, IP("192.0.2.128"), 96 + 25);
	ipcs[n_ipc++].val = (struct pw_ipcache_val){ PW_ID_CIDR_MIN + 11, 0 };
	qsort(ipcs, n_ipc, sizeof(ipcs[0]), ipc_cmp);
	s.eps = eps;
	s.n_eps = 3;
	s.ipc = ipcs;
	s.n_ipc = n_ipc;

	/* round 1: a full set; round 2: a third of it (summaries shrink, slots flip) */
	for (int round = 0; round < 2; round++) {
		s.pol = pol;
		s.n_pol = random_policy(pol, round ? 250 : 800);
		CHECK_EQ(pw_sync(obj, &s, NULL, &st), 0);
		if (check_failed_now) {
			snprintf(check_why + strlen(check_why), sizeof(check_why) - strlen(check_why),
				 ": %.200s", st.error);
			break;
		}
		CHECK_EQ(pw_bpf_ct_flush(obj), 0);
		for (int i = 0; i < 600; i++) {
			const char *remotes[] = { "10.0.0.1", "10.0.1.3", "10.0.1.8", "192.0.2.9",
						  "192.0.2.200", "198.51.100.1", "10.0.0.3" };
			static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
			static const uint16_t ports[] = { 22, 53, 80, 443, 1000, 1500, 2047, 8080 };
			struct pod *p = t_rnd() % 2 ? &B : &C;
			const char *r = remotes[t_rnd() % 7];
			uint16_t port = t_rnd() % 4 ? ports[t_rnd() % 8] : (uint16_t)(t_rnd() | 1);

			probe(&s, p, t_rnd() % 2, IP(r), protos[t_rnd() % 3], port, sport++);
		}
		if (check_failed_now)
			break;

		/* the endpoints know whether they have any-peer entries */
		for (int e = 1; e < 3; e++) {
			struct pw_endpoint ev;
			bool any[2] = { false, false };

			for (size_t i = 0; i < s.n_pol; i++)
				if (s.pol[i].key.ep_id == pods[e]->ifindex && s.pol[i].key.peer_id == PW_ID_ANY)
					any[s.pol[i].key.dir] = true;
			CHECK_EQ(pw_bpf_get_endpoint(obj, pods[e]->ifindex, &ev), 0);
			CHECK_EQ(!!(ev.flags[st.slot] & PW_EP_NO_ANY_INGRESS), !any[PW_DIR_INGRESS]);
			CHECK_EQ(!!(ev.flags[st.slot] & PW_EP_NO_ANY_EGRESS), !any[PW_DIR_EGRESS]);
		}

		/* read back: both halves, as one state, without the summaries */
		struct pw_state back;
		struct pw_config c;
		memset(&back, 0, sizeof(back));
		CHECK_EQ(pw_map_fds_from_obj(obj, &fds), 0);
		CHECK_EQ(pw_sync_read_live(&fds, &c, &back, &why), 0);
		CHECK_EQ(back.n_pol, s.n_pol);
		CHECK_EQ(back.n_ipc, s.n_ipc);
		if (back.n_pol == s.n_pol)
			CHECK(!memcmp(back.pol, s.pol, s.n_pol * sizeof(*s.pol)));
		if (back.n_ipc == s.n_ipc)
			CHECK(!memcmp(back.ipc, s.ipc, s.n_ipc * sizeof(*s.ipc)));
		for (size_t i = 0; i < back.n_eps; i++)
			CHECK(!(back.eps[i].flags & PW_EP_NO_ANY_MASK));
		pw_state_free(&back);
		/* the same, finding the LPM halves from the hash halves alone */
		memset(&back, 0, sizeof(back));
		fds.fd[PW_MAP_IPCACHE_LPM] = fds.fd[PW_MAP_POLICY_LPM] = -1;
		CHECK_EQ(pw_sync_read_live(&fds, &c, &back, &why), 0);
		CHECK_EQ(back.n_pol, s.n_pol);
		pw_state_free(&back);
		/* a second sync of the same state changes nothing */
		CHECK_EQ(pw_sync(obj, &s, NULL, &st), 0);
		CHECK(!st.switched);
		CHECK_EQ(st.writes + st.deletes, 0);
	}

	/* the LPM halves are found from the program that uses the hash halves */
	CHECK_EQ(pw_map_fds_from_obj(obj, &fds), 0);
	fds.fd[PW_MAP_IPCACHE_LPM] = fds.fd[PW_MAP_POLICY_LPM] = -1;
	CHECK_EQ(pw_map_fds_find_lpm(&fds, opened), 2);
	if (!check_failed_now) {
		struct bpf_map_info a1, a2, b1, b2;
		uint32_t len;

		memset(&a1, 0, sizeof(a1)); memset(&a2, 0, sizeof(a2));
		memset(&b1, 0, sizeof(b1)); memset(&b2, 0, sizeof(b2));
		len = sizeof(a1);
		bpf_obj_get_info_by_fd(fds.fd[PW_MAP_IPCACHE_LPM], &a1, &len);
		len = sizeof(a2);
		bpf_obj_get_info_by_fd(bpf_map__fd(obj->maps.ipcache_lpm), &a2, &len);
		len = sizeof(b1);
		bpf_obj_get_info_by_fd(fds.fd[PW_MAP_POLICY_LPM], &b1, &len);
		len = sizeof(b2);
		bpf_obj_get_info_by_fd(bpf_map__fd(obj->maps.policy_lpm), &b2, &len);
		CHECK(a1.id && a1.id == a2.id);
		CHECK(b1.id && b1.id == b2.id);
		pw_map_fds_close_lpm(&fds, opened);
	}
	free(pol);
}

/* mapsync puts entries written by hand into the wrong half where they belong */
static void t_split_sync_moves_misplaced(void)
{
	struct pw_state s;
	struct pw_state_ep eps[1];
	struct pw_state_pol pol[1];
	struct pw_sync_stats st;
	struct pw_policy_key k;
	struct pw_policy_val v = { .rule_id = 5 };

	if (fresh())
		return;
	/* an older layout: a port entry in the LPM, slot 1 (the one the sync writes) */
	pw_policy_key_make(&k, PW_POL_PREFIX_FULL, 1, PW_DIR_INGRESS, B.ifindex, A.identity,
			   IPPROTO_TCP, 80);
	CHECK_EQ(bpf_map__update_elem(obj->maps.policy_lpm, &k, sizeof(k), &v, sizeof(v), 0), 0);
	memset(&s, 0, sizeof(s));
	memset(eps, 0, sizeof(eps));
	eps[0].ifindex = eps[0].ep_id = B.ifindex;
	eps[0].identity = B.identity;
	eps[0].flags = PW_EP_ISOLATED_INGRESS;
	eps[0].n_ips = 1;
	memcpy(eps[0].ips[0], B.a4, 16);
	pw_policy_key_make(&pol[0].key, PW_POL_PREFIX_FULL, 0, PW_DIR_INGRESS, B.ifindex,
			   A.identity, IPPROTO_TCP, 80);
	pol[0].val = v;
	s.eps = eps;
	s.n_eps = 1;
	s.pol = pol;
	s.n_pol = 1;
	CHECK_EQ(pw_sync(obj, &s, NULL, &st), 0);
	CHECK_EQ(st.slot, 1);
	CHECK(bpf_map__lookup_elem(obj->maps.policy_lpm, &k, sizeof(k), &v, sizeof(v), 0));
	CHECK_EQ(bpf_map__lookup_elem(obj->maps.policy, &k, sizeof(k), &v, sizeof(v), 0), 0);
	/* (the ipcache is gone from the state: A is the world now) */
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40001, 80, PW_TCPF_SYN)), SHOT);
	/* the same entries, laid out right: nothing to do */
	CHECK_EQ(pw_sync(obj, &s, NULL, &st), 0);
	CHECK(!st.switched);
	/* and a policy key shorter than any-protocol is refused */
	pol[0].key.prefixlen = 64;
	CHECK_EQ(pw_sync(obj, &s, NULL, &st), -EINVAL);
}

/* ------------------------------------------------------------- main */

static int setup(void)
{
	cpu_set_t cpus;
	char name[16];

	/* per-CPU state (the rate limiter) is read back: stay on one CPU */
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);

	if (pw_private_netns())
		return -1;
	for (size_t i = 0; i < sizeof(pods) / sizeof(pods[0]); i++) {
		struct pod *p = pods[i];

		if (pw_nl_dummy_add(p->dev, &p->ifindex))
			return -1;
		if (pw_addr_parse(p->ip4, p->a4) || pw_addr_parse(p->ip6, p->a6))
			return -1;
	}
	snprintf(name, sizeof(name), "pwUp");
	if (pw_nl_dummy_add(name, &if_uplink))
		return -1;
	snprintf(name, sizeof(name), "pwNoEp");
	if (pw_nl_dummy_add(name, &if_noep))
		return -1;
	return 0;
}

int suite_route(void);   /* route_tests.c */
int suite_mapsync(void); /* mapsync_tests.c */
int suite_engine(void);  /* engine_tests.c */
int suite_tiers(void);   /* tiers_tests.c */
int suite_fqdn(void);    /* fqdn_tests.c */
int suite_fqdn_join(void); /* fqdn_join_tests.c */

/*
 * The fast path (judge.h: pw_judge_fast) skips the endpoint lookup only for
 * entries this device vouched for under the live generation: the same tuple
 * on another device, a spoofed source copying another pod's flow, an
 * endpoint replaced under a new generation and a reply re-check that moved
 * the generation all take the full path. A reply passes on it too, but an
 * ingress entry vouches only when its destination is the endpoint's own
 * address: a reply from another source is still spoofed.
 */
static void t_conntrack_fast_path_owner(void)
{
	struct pw_endpoint ep;
	struct pw_ct_val v;

	if (fresh())
		return;
	ep_flags(&A, PW_EP_ISOLATED_INGRESS);
	ep_flags(&C, PW_EP_ISOLATED_INGRESS);
	allow(&A, PW_DIR_INGRESS, B.identity, IPPROTO_TCP, 80);
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 40000, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(to_pod(&A, tcp(B.a4, A.a4, 40000, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(ct_get(B.a4, A.a4, 40000, 80, IPPROTO_TCP, PW_DIR_INGRESS, &v), 0);
	CHECK_EQ(v.ifindex, A.ifindex);
	CHECK_EQ(to_pod(&A, tcp(B.a4, A.a4, 40000, 80, PW_TCPF_ACK)), OK);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_CT_ESTABLISHED), 1);

	/* the same tuple leaving through C's device: C's policy, which denies it */
	CHECK_EQ(to_pod(&C, tcp(B.a4, A.a4, 40000, 80, PW_TCPF_ACK)), SHOT);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_DROP, PW_REASON_POLICY_DENIED), 1);
	/* C sending as B, on B's established flow: spoofed */
	CHECK_EQ(from_pod(&C, tcp(B.a4, A.a4, 40000, 80, PW_TCPF_ACK)), SHOT);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_DROP, PW_REASON_SPOOFED), 1);
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 40000, 80, PW_TCPF_ACK)), OK);

	/* A answers, on the fast path: a reply */
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 80, 40000, PW_TCPF_SYN | PW_TCPF_ACK)), OK);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_ALLOW, PW_REASON_CT_REPLY), 1);
	CHECK_EQ(ct_get(B.a4, A.a4, 40000, 80, IPPROTO_TCP, PW_DIR_INGRESS, &v), 0);
	CHECK(v.flags & PW_CT_SEEN_REPLY);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 80, 40000, PW_TCPF_ACK)), OK);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_CT_REPLY), 1);
	/* an allowed packet routed to A's device for an address not A's... */
	CHECK_EQ(to_pod(&A, tcp(B.a4, IP("198.18.77.7"), 40001, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(ct_get(B.a4, IP("198.18.77.7"), 40001, 80, IPPROTO_TCP, PW_DIR_INGRESS, &v), 0);
	CHECK_EQ(v.ifindex, 0);
	/* ...vouches for no reply from that address: A did not send it */
	CHECK_EQ(from_pod(&A, tcp(IP("198.18.77.7"), B.a4, 80, 40001, PW_TCPF_ACK)), SHOT);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_DROP, PW_REASON_SPOOFED), 2);

	/* a reply re-checked under a new generation: no longer vouched for... */
	cfg.generation++;
	set_cfg();
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 80, 40000, PW_TCPF_ACK)), OK);
	CHECK_EQ(ct_get(B.a4, A.a4, 40000, 80, IPPROTO_TCP, PW_DIR_INGRESS, &v), 0);
	CHECK_EQ(v.generation, cfg.generation);
	CHECK_EQ(v.ifindex, 0);
	/* ...until the full path finds it in its own direction again */
	CHECK_EQ(to_pod(&A, tcp(B.a4, A.a4, 40000, 80, PW_TCPF_ACK)), OK);
	CHECK_EQ(ct_get(B.a4, A.a4, 40000, 80, IPPROTO_TCP, PW_DIR_INGRESS, &v), 0);
	CHECK_EQ(v.ifindex, A.ifindex);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_CT_ESTABLISHED), 2);

	/* A's device now holds another pod (another ep_id, no rule), new generation */
	CHECK_EQ(pw_bpf_get_endpoint(obj, A.ifindex, &ep), 0);
	ep.ep_id = A.ifindex + 1000;
	CHECK_EQ(pw_bpf_put_endpoint(obj, A.ifindex, &ep), 0);
	cfg.generation++;
	set_cfg();
	CHECK_EQ(to_pod(&A, tcp(B.a4, A.a4, 40000, 80, PW_TCPF_ACK)), SHOT);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_DROP, PW_REASON_POLICY_DENIED), 2);
}

/* ------------------------------------------------- same node, judged once */

#define REDIRECT TC_ACT_REDIRECT

/* abi.h PW_COUNTER_REDIRECTED: into the other pod, judged once */
static uint64_t redirected(void)
{
	return cnt(PW_DIR_INGRESS, 0, PW_REASON_NONE);
}

/* abi.h PW_COUNTER_REDIRECTED_VETH: to the other pod's veth, where to_pod judges */
static uint64_t via_veth(void)
{
	return cnt(PW_DIR_EGRESS, 0, PW_REASON_NONE);
}

/* Rewrite the flags of an entry (tuple as first seen, dir of its check). */
static void ct_flags_set(const uint8_t *s, const uint8_t *d, uint16_t sport, uint16_t dport,
			 uint8_t proto, int dir, uint32_t clear, uint32_t set)
{
	struct pw_ct_key k = { .sport = htons(sport), .dport = htons(dport), .proto = proto,
			       .dir = (uint8_t)dir };
	struct pw_ct_val v;

	memcpy(k.saddr, s, 16);
	memcpy(k.daddr, d, 16);
	CHECK_EQ(pw_bpf_ct_lookup(obj, &k, &v), 0);
	v.flags = (v.flags & ~clear) | set;
	CHECK_EQ(pw_bpf_ct_put(obj, &k, &v), 0);
}

/* A->B:80 opened through both hooks, B answered through both: a live pair. */
static void open_a_to_b(uint16_t sport)
{
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, sport, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, sport, 80, PW_TCPF_SYN)), OK);
	/* a SYN is never sent direct: the node's conntrack sees the opening */
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, sport, PW_TCPF_SYN | PW_TCPF_ACK)), OK);
	CHECK_EQ(to_pod(&A, tcp(B.a4, A.a4, 80, sport, PW_TCPF_SYN | PW_TCPF_ACK)), OK);
}

static void t_same_node_redirect(void)
{
	struct pw_ct_val v;
	uint64_t est, rep;

	if (fresh())
		return;
	cfg.flags = PW_CFG_REDIRECT_PEER;
	set_cfg();
	ep_flags(&B, PW_EP_ISOLATED_INGRESS);
	allow(&B, PW_DIR_INGRESS, A.identity, IPPROTO_TCP, 80);
	allow(&B, PW_DIR_INGRESS, A.identity, IPPROTO_UDP, 5353);
	allow(&B, PW_DIR_INGRESS, A.identity, IPPROTO_UDP, 53);
	open_a_to_b(40000);
	CHECK_EQ(ct_get(A.a4, B.a4, 40000, 80, IPPROTO_TCP, PW_DIR_EGRESS, &v), 0);
	CHECK(v.flags & PW_CT_DIRECT);
	CHECK_EQ(ct_get(A.a4, B.a4, 40000, 80, IPPROTO_TCP, PW_DIR_INGRESS, &v), 0);
	CHECK_EQ(v.ifindex, B.ifindex);
	CHECK_EQ(redirected(), 0);

	/* A's next packet goes straight into B, with B's ingress verdict counted */
	est = cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_CT_ESTABLISHED);
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_ACK)), REDIRECT);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_CT_ESTABLISHED), est + 1);
	CHECK_EQ(redirected(), 1);
	/* B's answer straight into A, a reply for both */
	rep = cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_CT_REPLY);
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, 40000, PW_TCPF_ACK)), REDIRECT);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_CT_REPLY), rep + 1);
	CHECK_EQ(redirected(), 2);
	/* a RST goes direct too (the node would find it out of its window), ending both entries */
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 40000, 80, PW_TCPF_RST | PW_TCPF_ACK)), REDIRECT);
	CHECK_EQ(redirected(), 3);
	CHECK_EQ(ct_get(A.a4, B.a4, 40000, 80, IPPROTO_TCP, PW_DIR_EGRESS, NULL), -ENOENT);
	CHECK_EQ(ct_get(A.a4, B.a4, 40000, 80, IPPROTO_TCP, PW_DIR_INGRESS, NULL), -ENOENT);

	/* UDP too, from the second packet on */
	CHECK_EQ(from_pod(&A, l4(A.a4, B.a4, IPPROTO_UDP, 40001, 5353)), OK);
	CHECK_EQ(to_pod(&B, l4(A.a4, B.a4, IPPROTO_UDP, 40001, 5353)), OK);
	CHECK_EQ(from_pod(&A, l4(A.a4, B.a4, IPPROTO_UDP, 40001, 5353)), REDIRECT);
	CHECK_EQ(redirected(), 4);
	/* but not DNS: to_pod reads the answers (names learned there) */
	CHECK_EQ(from_pod(&A, l4(A.a4, B.a4, IPPROTO_UDP, 40001, 53)), OK);
	CHECK_EQ(to_pod(&B, l4(A.a4, B.a4, IPPROTO_UDP, 40001, 53)), OK);
	CHECK_EQ(from_pod(&A, l4(A.a4, B.a4, IPPROTO_UDP, 40001, 53)), OK);
	rep = cnt(PW_DIR_EGRESS, PW_VERDICT_ALLOW, PW_REASON_CT_REPLY);
	CHECK_EQ(from_pod(&B, l4(B.a4, A.a4, IPPROTO_UDP, 53, 40001)), OK);
	CHECK_EQ(cnt(PW_DIR_EGRESS, PW_VERDICT_ALLOW, PW_REASON_CT_REPLY), rep + 1);
	CHECK_EQ(redirected(), 4);
	/* nor fragments, the first one of a tracked flow's datagram either: the
	 * others, following it, would go another way */
	CHECK_EQ(from_pod(&A, l4(A.a4, B.a4, IPPROTO_UDP, 5353, 5353)), OK);
	CHECK_EQ(to_pod(&B, l4(A.a4, B.a4, IPPROTO_UDP, 5353, 5353)), OK);
	CHECK_EQ(from_pod(&A, frag(&A, &B, false, 5353, 200, 0, true)), OK);
	CHECK_EQ(from_pod(&A, frag(&A, &B, false, 0, 200, 1480, false)), OK);
	CHECK_EQ(from_pod(&A, l4(A.a4, B.a4, IPPROTO_UDP, 5353, 5353)), REDIRECT);
	CHECK_EQ(redirected(), 5);

	/* the option off: nothing is redirected */
	open_a_to_b(40002);
	cfg.flags = 0;
	set_cfg();
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 40002, 80, PW_TCPF_ACK)), OK);
	cfg.flags = PW_CFG_REDIRECT_PEER;
	set_cfg();
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 40002, 80, PW_TCPF_ACK)), REDIRECT);

	/* a new generation: B's entry is stale, so to B's veth, where to_pod
	 * re-checks (the node's conntrack never saw the flow's middle) */
	cfg.generation++;
	set_cfg();
	est = cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_CT_ESTABLISHED);
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 40002, 80, PW_TCPF_ACK)), REDIRECT); /* A re-checks */
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 40002, 80, PW_TCPF_ACK)), REDIRECT); /* fast */
	CHECK_EQ(via_veth(), 2);
	CHECK_EQ(redirected(), 6);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_CT_ESTABLISHED), est);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40002, 80, PW_TCPF_ACK)), OK);
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 40002, 80, PW_TCPF_ACK)), REDIRECT);
	CHECK_EQ(redirected(), 7);
	CHECK_EQ(via_veth(), 2);

	/* the other entry expired: to B's veth too; gone (evicted): the node's path */
	CHECK_EQ(ct_get(A.a4, B.a4, 40002, 80, IPPROTO_TCP, PW_DIR_INGRESS, &v), 0);
	v.last_seen_ns = now_ns() - (PW_CT_TCP_TIMEOUT + 5) * 1000000000ull;
	{
		struct pw_ct_key k = { .sport = htons(40002), .dport = htons(80),
				       .proto = IPPROTO_TCP, .dir = PW_DIR_INGRESS };

		memcpy(k.saddr, A.a4, 16);
		memcpy(k.daddr, B.a4, 16);
		CHECK_EQ(pw_bpf_ct_put(obj, &k, &v), 0);
		CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 40002, 80, PW_TCPF_ACK)), REDIRECT);
		CHECK_EQ(via_veth(), 3);
		CHECK_EQ(pw_bpf_ct_delete(obj, &k), 0);
	}
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 40002, 80, PW_TCPF_ACK)), OK);
	CHECK_EQ(redirected(), 7);
	CHECK_EQ(via_veth(), 3);

	/* the egress entry without PW_CT_DIRECT (past NAT, or an older podwall's) */
	open_a_to_b(40003);
	ct_flags_set(A.a4, B.a4, 40003, 80, IPPROTO_TCP, PW_DIR_EGRESS, PW_CT_DIRECT, 0);
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 40003, 80, PW_TCPF_ACK)), OK);
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, 40003, PW_TCPF_ACK)), OK);
	/* an audit pass on either side: to_pod reports it */
	open_a_to_b(40004);
	ct_flags_set(A.a4, B.a4, 40004, 80, IPPROTO_TCP, PW_DIR_INGRESS, 0, PW_CT_AUDIT);
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 40004, 80, PW_TCPF_ACK)), OK);
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, 40004, PW_TCPF_ACK)), OK);
	CHECK_EQ(redirected(), 7);
	CHECK_EQ(via_veth(), 3);

	/* B's ingress allow goes: A's egress still passes, to B's veth, where
	 * to_pod revokes; then its packets are a new flow B denies */
	open_a_to_b(40005);
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 40005, 80, PW_TCPF_ACK)), REDIRECT);
	unallow(&B, PW_DIR_INGRESS, A.identity, IPPROTO_TCP, 80);
	cfg.generation++;
	set_cfg();
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 40005, 80, PW_TCPF_ACK)), REDIRECT);
	CHECK_EQ(via_veth(), 4);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40005, 80, PW_TCPF_ACK)), SHOT);
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 40005, 80, PW_TCPF_ACK)), OK);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40005, 80, PW_TCPF_ACK)), SHOT);
	CHECK_EQ(redirected(), 8);
	CHECK_EQ(via_veth(), 4);
}

/*
 * The node's NAT moves a connection to another source port (a clash with
 * its conntrack's entry of a Service connection on the same tuple): A's
 * from_pod saw A:P, B's to_pod sees A:P'. A stale pair on A:P, of an
 * earlier connection, must not carry the new one's packets un-NATed into
 * B, which never opened A:P (tests/e2e/churn.sh lost connections so): a
 * pair goes direct only if both entries carry the ISN of the same SYN.
 */
/* The ISNs A->B:80's two entries from sport carry: egress (A's), ingress (B's). */
static void check_isns(uint16_t sport, uint32_t egress, uint32_t ingress)
{
	struct pw_ct_val v;

	CHECK_EQ(ct_get(A.a4, B.a4, sport, 80, IPPROTO_TCP, PW_DIR_EGRESS, &v), 0);
	CHECK_EQ(v.isn, egress);
	CHECK_EQ(ct_get(A.a4, B.a4, sport, 80, IPPROTO_TCP, PW_DIR_INGRESS, &v), 0);
	CHECK_EQ(v.isn, ingress);
}

/* A connection A:sport -> B:80 with ISN isn, un-NATed: both ends see its SYN,
 * and its next packet each way goes direct. */
static void open_direct(uint16_t sport, uint32_t isn)
{
	CHECK_EQ(from_pod(&A, syn(A.a4, B.a4, sport, 80, isn)), OK);
	CHECK_EQ(to_pod(&B, syn(A.a4, B.a4, sport, 80, isn)), OK);
	check_isns(sport, isn, isn);
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, sport, PW_TCPF_SYN | PW_TCPF_ACK)), OK);
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, sport, 80, PW_TCPF_ACK)), REDIRECT);
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, sport, PW_TCPF_ACK)), REDIRECT);
}

static void t_same_node_stale_pair(void)
{
	struct pw_ct_val v;

	if (fresh())
		return;
	cfg.flags = PW_CFG_REDIRECT_PEER;
	set_cfg();
	/* connection 1 on A:42000, un-NATed: direct */
	open_direct(42000, 111);
	CHECK_EQ(redirected(), 2);

	/* connection 2 from the same port, translated by the node to A:42001 */
	CHECK_EQ(from_pod(&A, syn(A.a4, B.a4, 42000, 80, 222)), OK);
	CHECK_EQ(to_pod(&B, syn(A.a4, B.a4, 42001, 80, 222)), OK);
	check_isns(42000, 222, 111);   /* B's entry of A:42000 is connection 1's */
	CHECK_EQ(ct_get(A.a4, B.a4, 42001, 80, IPPROTO_TCP, PW_DIR_EGRESS, NULL), -ENOENT);
	CHECK_EQ(ct_get(A.a4, B.a4, 42001, 80, IPPROTO_TCP, PW_DIR_INGRESS, &v), 0);
	CHECK_EQ(v.isn, 222);
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, 42001, PW_TCPF_SYN | PW_TCPF_ACK)), OK);
	/* its packets and B's answers go through the node (and its NAT) */
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 42000, 80, PW_TCPF_ACK)), OK);
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 42000, 80, PW_TCPF_ACK)), OK);
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, 42001, PW_TCPF_ACK)), OK);
	/* and so does what B's stale socket of connection 1 still sends */
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, 42000, PW_TCPF_ACK)), OK);
	CHECK_EQ(redirected(), 2);

	/* connection 3 on A:42000, un-NATed again: both ends saw its SYN */
	open_direct(42000, 333);
	CHECK_EQ(redirected(), 4);

	/* an entry without an ISN (an older podwall's, or one a SYN-ACK made): the node */
	CHECK_EQ(ct_get(A.a4, B.a4, 42000, 80, IPPROTO_TCP, PW_DIR_INGRESS, &v), 0);
	{
		struct pw_ct_key k = { .sport = htons(42000), .dport = htons(80),
				       .proto = IPPROTO_TCP, .dir = PW_DIR_INGRESS };

		memcpy(k.saddr, A.a4, 16);
		memcpy(k.daddr, B.a4, 16);
		v.isn = 0;
		CHECK_EQ(pw_bpf_ct_put(obj, &k, &v), 0);
	}
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 42000, 80, PW_TCPF_ACK)), OK);
	CHECK_EQ(redirected(), 4);
}

/* A flow to a Service, DNATed to B: its reply goes back through the node. */
static void t_same_node_service_not_redirected(void)
{
	struct pw_ct_val v;

	if (fresh())
		return;
	cfg.flags = PW_CFG_REDIRECT_PEER;
	set_cfg();
	CHECK_EQ(from_pod(&A, tcp(A.a4, IP(VIP), 41000, 80, PW_TCPF_SYN)), OK);
	CHECK(last_mark & PW_MARK_DEFER);
	CHECK_EQ(run_mark(PW_PROG_TO_POD, B.ifindex, tcp(A.a4, B.a4, 41000, 80, PW_TCPF_SYN),
			  PW_MARK_DEFER), OK);
	/* the post-NAT pair: A's egress entry has the backend's tuple, not the direct flag */
	CHECK_EQ(ct_get(A.a4, B.a4, 41000, 80, IPPROTO_TCP, PW_DIR_EGRESS, &v), 0);
	CHECK(!(v.flags & PW_CT_DIRECT));
	CHECK_EQ(ct_get(A.a4, B.a4, 41000, 80, IPPROTO_TCP, PW_DIR_INGRESS, &v), 0);
	CHECK_EQ(v.ifindex, B.ifindex);
	CHECK(!(v.flags & PW_CT_DIRECT));
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, 41000, PW_TCPF_SYN | PW_TCPF_ACK)), OK);
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, 41000, PW_TCPF_ACK)), OK);
	/* A's packets to the VIP are deferred, never direct */
	CHECK_EQ(from_pod(&A, tcp(A.a4, IP(VIP), 41000, 80, PW_TCPF_ACK)), OK);
	CHECK(last_mark & PW_MARK_DEFER);

	/* A opens a direct flow on the Service flow's translated tuple (its egress
	 * entry gone): the node, seeing the clash, would give it another source
	 * port, so B's entry of the tuple is the Service flow's, no pair */
	{
		struct pw_ct_key k = { .sport = htons(41000), .dport = htons(80),
				       .proto = IPPROTO_TCP, .dir = PW_DIR_EGRESS };

		memcpy(k.saddr, A.a4, 16);
		memcpy(k.daddr, B.a4, 16);
		CHECK_EQ(pw_bpf_ct_delete(obj, &k), 0);
	}
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 41000, 80, PW_TCPF_SYN)), OK);
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 41000, 80, PW_TCPF_ACK)), OK);
	/* and a direct pair a Service flow is then translated onto stops pairing */
	open_a_to_b(41001);
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 41001, 80, PW_TCPF_ACK)), REDIRECT);
	CHECK_EQ(run_mark(PW_PROG_TO_POD, B.ifindex, tcp(A.a4, B.a4, 41001, 80, PW_TCPF_SYN),
			  PW_MARK_DEFER), OK);
	CHECK_EQ(from_pod(&A, tcp(A.a4, B.a4, 41001, 80, PW_TCPF_ACK)), OK);
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, 41001, PW_TCPF_ACK)), OK);
	CHECK_EQ(redirected(), 1);
}

/* ------------------------------------------------------ the conntrack table */
/*
 * The table (abi.h, include/podwall/cttable.h) as the programs use it. The
 * keys of `n` flows A:sport -> B:dport (B's ingress entries) that fall into
 * one set (ports[i]: sport << 16 | dport); the set, or -1.
 */
static int same_set_keys(struct pw_ct_key *keys, uint32_t *ports, int n, uint32_t mask)
{
	int found = 0;
	uint32_t set = 0;

	for (uint32_t x = (1024u << 16) | 80; x != 0 && found < n; x++) {
		struct pw_ct_key k = { .sport = htons(x >> 16), .dport = htons(x & 0xffff),
				       .proto = IPPROTO_TCP, .dir = PW_DIR_INGRESS };

		if (!(x & 0xffff))
			continue;
		memcpy(k.saddr, A.a4, 16);
		memcpy(k.daddr, B.a4, 16);
		if (found && ((uint32_t)pw_ct_hash(&k) & mask) != set)
			continue;
		set = (uint32_t)pw_ct_hash(&k) & mask;
		keys[found] = k;
		ports[found++] = x;
	}
	return found == n ? (int)set : -1;
}

static uint64_t ct_evictions(void)
{
	uint64_t st[PW_CT_STAT_MAX];

	CHECK_EQ(pw_bpf_ct_stats(obj, st), 0);
	return st[PW_CT_STAT_EVICTED];
}

/*
 * A full set: a new flow takes the way seen least recently (counted as an
 * eviction), or an expired way first (not counted); the others stay.
 */
static void t_ct_table_full_set_evicts(void)
{
	struct pw_ct_key keys[PW_CT_WAYS + 2];
	uint32_t sp[PW_CT_WAYS + 2];
	struct pw_ct_val v = { .generation = 1, .flags = PW_CT_SEEN_REPLY };
	struct pw_ct_table t;
	uint64_t now;
	int set;

	if (fresh())
		return;
	CHECK_EQ(pw_ct_table_open(bpf_map__fd(obj->maps.conntrack), &t), 0);
	set = same_set_keys(keys, sp, PW_CT_WAYS + 2, t.n_sets - 1);
	CHECK(set >= 0);
	if (set < 0)
		goto out;
	v.ep_id = B.ifindex;
	now = now_ns();
	/* the set full: way j seen 10 - j seconds ago (keys[0] the least recently) */
	for (int j = 0; j < PW_CT_WAYS; j++) {
		v.last_seen_ns = now - (uint64_t)(10 - j) * 1000000000ull;
		CHECK_EQ(pw_bpf_ct_put(obj, &keys[j], &v), 0);
	}
	CHECK_EQ(pw_ct_table_count(&t), PW_CT_WAYS);
	CHECK_EQ(ct_evictions(), 0);
	/* a new flow into it (B not isolated: allowed, tracked) */
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, sp[PW_CT_WAYS] >> 16, sp[PW_CT_WAYS] & 0xffff, PW_TCPF_SYN)), OK);
	CHECK_EQ(pw_bpf_ct_lookup(obj, &keys[PW_CT_WAYS], &v), 0);
	CHECK_EQ(pw_bpf_ct_lookup(obj, &keys[0], &v), -ENOENT);
	for (int j = 1; j < PW_CT_WAYS; j++)
		CHECK_EQ(pw_bpf_ct_lookup(obj, &keys[j], &v), 0);
	CHECK_EQ(ct_evictions(), 1);
	/* way 5 expired: taken before the least recently seen live one (keys[1]) */
	CHECK_EQ(pw_bpf_ct_lookup(obj, &keys[5], &v), 0);
	v.last_seen_ns = now_ns() - (PW_CT_TCP_TIMEOUT + 5) * 1000000000ull;
	CHECK_EQ(pw_bpf_ct_put(obj, &keys[5], &v), 0);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, sp[PW_CT_WAYS + 1] >> 16, sp[PW_CT_WAYS + 1] & 0xffff, PW_TCPF_SYN)), OK);
	CHECK_EQ(pw_bpf_ct_lookup(obj, &keys[PW_CT_WAYS + 1], &v), 0);
	CHECK_EQ(pw_bpf_ct_lookup(obj, &keys[5], &v), -ENOENT);
	CHECK_EQ(pw_bpf_ct_lookup(obj, &keys[1], &v), 0);
	CHECK_EQ(ct_evictions(), 1);
	CHECK_EQ(pw_ct_table_count(&t), PW_CT_WAYS);
out:
	pw_ct_table_close(&t);
}

/*
 * A lookup looks only in its key's set: the same key and value written
 * into another set (header, tag and all) is no entry; in its own set it is.
 * Both directions of the flow find it; a delete removes it.
 */
static void t_ct_table_set_delete_directions(void)
{
	struct pw_ct_key k = { .sport = htons(40100), .dport = htons(80),
			       .proto = IPPROTO_TCP, .dir = PW_DIR_INGRESS };
	struct pw_ct_val v = { .generation = 1, .flags = PW_CT_SEEN_REPLY };
	struct pw_ct_table t;
	struct pw_ct_set *other;
	uint64_t h;

	if (fresh())
		return;
	ep_flags(&B, PW_EP_ISOLATED_INGRESS | PW_EP_ISOLATED_EGRESS);
	memcpy(k.saddr, A.a4, 16);
	memcpy(k.daddr, B.a4, 16);
	v.ep_id = B.ifindex;
	v.last_seen_ns = now_ns();
	CHECK_EQ(pw_ct_table_open(bpf_map__fd(obj->maps.conntrack), &t), 0);
	h = pw_ct_hash(&k);
	other = &t.sets[((uint32_t)h + 1) & (t.n_sets - 1)];
	other->ways[3].key = k;
	other->ways[3].val = v;
	other->hdr[3] = pw_ct_hdr_live(0, pw_ct_tag(h));
	CHECK_EQ(pw_ct_table_count(&t), 1);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40100, 80, PW_TCPF_ACK)), SHOT);
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, 40100, PW_TCPF_ACK)), SHOT);
	/* in its own set: the flow and its reply pass */
	CHECK_EQ(pw_bpf_ct_put(obj, &k, &v), 0);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40100, 80, PW_TCPF_ACK)), OK);
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, 40100, PW_TCPF_ACK)), OK);
	/* deleted: neither */
	CHECK_EQ(pw_bpf_ct_delete(obj, &k), 0);
	CHECK_EQ(pw_bpf_ct_delete(obj, &k), -ENOENT);
	CHECK_EQ(to_pod(&B, tcp(A.a4, B.a4, 40100, 80, PW_TCPF_ACK)), SHOT);
	CHECK_EQ(from_pod(&B, tcp(B.a4, A.a4, 80, 40100, PW_TCPF_ACK)), SHOT);
	/* the planted way is still there, still no entry of k */
	CHECK_EQ(pw_ct_table_count(&t), 1);
	CHECK_EQ(pw_bpf_ct_lookup(obj, &k, &v), -ENOENT);
	pw_ct_table_close(&t);
}

/* ------------------------------------------------------ verifier work */
/*
 * The instructions the verifier walks to load each program (its log's
 * "processed N insns", BPF_LOG_STATS): a count, not a timing, and the load
 * time follows it (~1 s per million here). The bounds hold the figures of
 * 2026-12-07 (kernel 6.18, clang 14: from_pod 132k, to_pod 253k, to_remote
 * 82k) with room; the 8-way loops of the conntrack table inlined at every
 * lookup made them 401k, 450k and 189k (conntrack.h says why), a static
 * call returning a pointer into a set would again.
 */
static const struct {
	const char *prog;
	long max;
} verifier_bounds[] = {
	{ "from_pod", 200000 },
	{ "to_pod", 350000 },
	{ "to_remote", 120000 },
};

static void t_verifier_work(void)
{
	enum { N = sizeof(verifier_bounds) / sizeof(verifier_bounds[0]), LOG = 1 << 16 };
	static char logs[N][LOG];
	struct bpf_object *o = bpf_object__open_file("build/podwall.bpf.o", NULL);

	CHECK(o != NULL);
	if (!o)
		return;
	for (int i = 0; i < N; i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(o, verifier_bounds[i].prog);

		CHECK(p != NULL);
		if (!p)
			goto out;
		logs[i][0] = 0;
		bpf_program__set_log_level(p, 4); /* BPF_LOG_STATS */
		bpf_program__set_log_buf(p, logs[i], LOG);
	}
	CHECK_EQ(bpf_object__load(o), 0);
	for (int i = 0; i < N; i++) {
		const char *at = strstr(logs[i], "processed ");
		long n = at ? strtol(at + strlen("processed "), NULL, 10) : -1;

		printf("    %s: the verifier processed %ld instructions (bound %ld)\n",
		       verifier_bounds[i].prog, n, verifier_bounds[i].max);
		CHECK(n > 0);
		CHECK(n <= verifier_bounds[i].max);
	}
out:
	bpf_object__close(o);
}

/* ------------------------------------------------------ lookup counts */
/*
 * How many map lookups each path makes, counted by the test build of the
 * programs (build/podwall-count.bpf.o, -DPW_COUNT_LOOKUPS, bpf/lib/common.h):
 * not a timing, so the bound holds on any machine, and a change that adds
 * a lookup to a path fails here. The maps are written by hand (ABI
 * structs): A isolated for ingress with one rule (B, TCP 80), B not
 * isolated, both with the NO_ANY bits mapsync would derive.
 */
#define LOOKUPS_ESTABLISHED_MAX 3  /* a packet of a tracked flow, its direction */
#define LOOKUPS_REPLY_MAX       4  /* a reply of a tracked flow */
#define LOOKUPS_NEW_MAX         8  /* a new flow, allowed by a rule: its insert is a lookup of its set (conntrack.h) */
#define LOOKUPS_DENY_MAX       10  /* a new flow denied, with its event */
/*
 * A packet of a same-node flow from_pod sends straight into the other pod
 * (direct.h): its established path, plus the other entry and the two
 * counters of to_pod's part; to_pod's whole hook (and the node's
 * forwarding) is skipped, so the packet's lookups on its way do not grow.
 */
#define LOOKUPS_DIRECT_MAX      6

struct counting {
	struct bpf_object *o;
	int from, to, count;
};

static int cnt_map(struct counting *c, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(c->o, name);

	return m ? bpf_map__fd(m) : -1;
}

/* Lookups of one run of prog on pkt at ifindex; the verdict in *verdict. */
static long cnt_run(struct counting *c, int prog, uint32_t ifindex, const struct pw_pkt *pkt,
		    int *verdict)
{
	struct pw_run_out out;
	uint32_t zero = 0;
	uint64_t n = 0;

	CHECK_EQ(bpf_map_update_elem(c->count, &zero, &n, BPF_ANY), 0);
	CHECK_EQ(pw_test_run(prog, pkt->data, pkt->len, ifindex, 0, &out), 0);
	CHECK_EQ(bpf_map_lookup_elem(c->count, &zero, &n), 0);
	*verdict = out.verdict;
	return (long)n;
}

static void t_lookup_counts(void)
{
	struct counting c = { 0 };
	struct pw_config cf = { .active_slot = 0, .generation = 1 };
	struct pw_endpoint ea = { 0 }, eb = { 0 };
	struct pw_ipcache_key ik;
	struct pw_ipcache_val iv = { .flags = PW_IPC_POD };
	struct pw_policy_key pk;
	struct pw_policy_val pv = { .rule_id = 1 };
	struct pw_pkt syn, ack, synack, stranger;
	uint32_t zero = 0;
	long n_new_b, n_new_a, n_est_a, n_est_b, n_rep_a, n_rep_b, n_deny, n_direct;
	int v;

	c.o = bpf_object__open_file("build/podwall-count.bpf.o", NULL);
	CHECK(c.o != NULL);
	if (!c.o)
		return;
	CHECK_EQ(bpf_object__load(c.o), 0);
	c.from = bpf_program__fd(bpf_object__find_program_by_name(c.o, "from_pod"));
	c.to = bpf_program__fd(bpf_object__find_program_by_name(c.o, "to_pod"));
	c.count = cnt_map(&c, "pw_lookups");
	CHECK(c.from >= 0 && c.to >= 0 && c.count >= 0);

	CHECK_EQ(bpf_map_update_elem(cnt_map(&c, "config"), &zero, &cf, BPF_ANY), 0);
	ea.ep_id = A.ifindex;
	ea.identity = A.identity;
	ea.flags[0] = PW_EP_ISOLATED_INGRESS | PW_EP_HAS_V4 | PW_EP_NO_ANY_MASK;
	memcpy(ea.ip4, A.a4, 16);
	eb.ep_id = B.ifindex;
	eb.identity = B.identity;
	eb.flags[0] = PW_EP_HAS_V4 | PW_EP_NO_ANY_MASK;
	memcpy(eb.ip4, B.a4, 16);
	CHECK_EQ(bpf_map_update_elem(cnt_map(&c, "endpoints"), &A.ifindex, &ea, BPF_ANY), 0);
	CHECK_EQ(bpf_map_update_elem(cnt_map(&c, "endpoints"), &B.ifindex, &eb, BPF_ANY), 0);
	for (int i = 0; i < 2; i++) {
		struct pod *p = i ? &B : &A;

		pw_ipcache_key_make(&ik, 0, p->a4, 128);
		iv.identity = p->identity;
		CHECK_EQ(bpf_map_update_elem(cnt_map(&c, "ipcache"), &ik, &iv, BPF_ANY), 0);
	}
	pw_policy_key_make(&pk, PW_POL_PREFIX_FULL, 0, PW_DIR_INGRESS, A.ifindex, B.identity,
			   IPPROTO_TCP, 80);
	CHECK_EQ(bpf_map_update_elem(cnt_map(&c, "policy"), &pk, &pv, BPF_ANY), 0);

	CHECK_EQ(pw_pkt_tcp(&syn, B.a4, A.a4, 40000, 80, PW_TCPF_SYN), 0);
	CHECK_EQ(pw_pkt_tcp(&ack, B.a4, A.a4, 40000, 80, PW_TCPF_ACK), 0);
	CHECK_EQ(pw_pkt_tcp(&synack, A.a4, B.a4, 80, 40000, PW_TCPF_SYN | PW_TCPF_ACK), 0);
	CHECK_EQ(pw_pkt_tcp(&stranger, IP("10.9.9.9"), A.a4, 40001, 80, PW_TCPF_SYN), 0);

	n_new_b = cnt_run(&c, c.from, B.ifindex, &syn, &v);    /* B's egress: not isolated */
	CHECK_EQ(v, TC_ACT_OK);
	n_new_a = cnt_run(&c, c.to, A.ifindex, &syn, &v);      /* A's ingress: the rule */
	CHECK_EQ(v, TC_ACT_OK);
	n_rep_a = cnt_run(&c, c.from, A.ifindex, &synack, &v); /* A answers */
	CHECK_EQ(v, TC_ACT_OK);
	n_rep_b = cnt_run(&c, c.to, B.ifindex, &synack, &v);
	CHECK_EQ(v, TC_ACT_OK);
	n_est_b = cnt_run(&c, c.from, B.ifindex, &ack, &v);    /* the flow goes on */
	CHECK_EQ(v, TC_ACT_OK);
	n_est_a = cnt_run(&c, c.to, A.ifindex, &ack, &v);
	CHECK_EQ(v, TC_ACT_OK);
	n_deny = cnt_run(&c, c.to, A.ifindex, &stranger, &v);  /* no rule */
	CHECK_EQ(v, TC_ACT_SHOT);
	/* the same flow judged once: from_pod redirects into A */
	cf.flags = PW_CFG_REDIRECT_PEER;
	CHECK_EQ(bpf_map_update_elem(cnt_map(&c, "config"), &zero, &cf, BPF_ANY), 0);
	n_direct = cnt_run(&c, c.from, B.ifindex, &ack, &v);
	CHECK_EQ(v, TC_ACT_REDIRECT);

	printf("  lookups: established %ld (from_pod) %ld (to_pod), reply %ld %ld, new %ld %ld, "
	       "deny %ld, redirected %ld (both hooks' part)\n", n_est_b, n_est_a, n_rep_a, n_rep_b,
	       n_new_b, n_new_a, n_deny, n_direct);
	CHECK(n_direct <= LOOKUPS_DIRECT_MAX && n_direct <= n_est_a + n_est_b);
	CHECK(n_direct > n_est_b);
	CHECK(n_est_a <= LOOKUPS_ESTABLISHED_MAX && n_est_b <= LOOKUPS_ESTABLISHED_MAX);
	CHECK(n_rep_a <= LOOKUPS_REPLY_MAX && n_rep_b <= LOOKUPS_REPLY_MAX);
	CHECK(n_new_a <= LOOKUPS_NEW_MAX && n_new_b <= LOOKUPS_NEW_MAX);
	CHECK(n_deny <= LOOKUPS_DENY_MAX);
	/* the counter counts: a path cannot judge without its conntrack lookup */
	CHECK(n_est_a >= 2 && n_new_a > n_est_a && n_deny > n_new_a);
	bpf_object__close(c.o);
}

/* what bpfobj and the engine's layers say while they go on (log.h) */
static void log_stderr(void *ctx, enum pw_log_level level, const char *line)
{
	fprintf(stderr, "%s\n", line);
}

int main(void)
{
	int fails;

	setvbuf(stdout, NULL, _IOLBF, 0);
	pw_log_set(log_stderr, NULL);
	if (setup()) {
		printf("ERROR datapath setup: need root, unshare(CLONE_NEWNET) and a dummy or ifb device\n");
		return 1;
	}

	RUN(t_verifier_accepts_every_program);
	RUN(t_lookup_counts);
	RUN(t_verifier_work);
	RUN(t_not_isolated_passes);
	RUN(t_isolated_drops);
	RUN(t_exact_allow);
	RUN(t_wildcard_peer);
	RUN(t_wildcard_port);
	RUN(t_any_protocol);
	RUN(t_endport_range_edges);
	RUN(t_cidr_group_with_except);
	RUN(t_reply_passes_server_default_deny);
	RUN(t_reply_passes_client_default_deny);
	RUN(t_revoked_flow_drops);
	RUN(t_spoofed_source_drops);
	RUN(t_ipv6_exact_allow);
	RUN(t_ipv6_isolated_drop_with_ext_headers);
	RUN(t_arp_passes);
	RUN(t_frag_nonfirst_of_denied_flow_drops);
	RUN(t_frag_nonfirst_follows_allowed_first);
	RUN(t_dns_counters);
	RUN(t_icmp_error_of_tracked_flow_passes);
	RUN(t_icmp_echo_reply);
	RUN(t_tcp_rst_removes_conntrack);
	RUN(t_audit_mode);
	RUN(t_drop_event_fields);
	RUN(t_dns_query_name_in_event);
	RUN(t_event_rate_limit);
	RUN(t_deferred_service_local);
	RUN(t_deferred_service_remote);
	RUN(t_from_host_passes);
	RUN(t_no_endpoint_passes);
	RUN(t_malformed_drops);
	RUN(t_conntrack_expiry);
	RUN(t_conntrack_refresh);
	RUN(t_conntrack_fast_path_owner);
	RUN(t_ct_table_full_set_evicts);
	RUN(t_ct_table_set_delete_directions);
	RUN(t_same_node_redirect);
	RUN(t_same_node_service_not_redirected);
	RUN(t_same_node_stale_pair);
	RUN(t_parse_fast_and_general_agree);
	RUN(t_policy_slot_switch);
	RUN(t_split_exact_and_range_same_peer);
	RUN(t_split_any_fallbacks);
	RUN(t_split_sync_matches_lookup);
	RUN(t_split_sync_moves_misplaced);
	RUN(t_pinned_maps_are_reused);
	RUN(t_unsplit_pins_adopted);
	fails = suite_mapsync();
	fails += suite_engine();
	fails += suite_tiers();
	fails += suite_fqdn();
	fails += suite_fqdn_join();
	fails += suite_route(); /* route_tests.c: in a child, a netns of its own */

	if (obj)
		pw_bpf_close(obj);
	return check_summary() || fails ? 1 : 0;
}
