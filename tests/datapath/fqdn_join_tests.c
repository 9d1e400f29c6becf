/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * domainNames peers end to end in the kernel path: ClusterNetworkPolicy
 * YAML compiled (name_set, name peers, PW_EP_LEARN_NAMES), synced into a
 * private copy of the maps, a pod's own DNS query (from_pod) and answer
 * (to_pod), then its flows, all through the real programs with
 * BPF_PROG_TEST_RUN. What a learned name opens and in what tier order
 * (abi.h, "policy": the join): only for the pod that asked; an Admin Deny
 * ranked before the name's Accept wins; an Admin Pass before it skips it
 * (to NetworkPolicy or Baseline); a Baseline name loses to a NetworkPolicy
 * that isolates; `*.example.org` and `example.org`; the rule's ports; a
 * new flow after the TTL; an established flow across a policy change after
 * the TTL (kept while the policy still allows the name, revoked when not);
 * a deleted pod's names are not inherited by a pod made again under its
 * name (the same ep_id and address).
 *
 * Uses the datapath suite's devices pwA and pwB as the pods a/a and b/b.
 */
#include <errno.h>
#include <stdbool.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "apply.h"
#include "check.h"
#include "dnsmsg.h"
#include "podwall.skel.h"
#include "compiler.h"
#include "kernel/bpfobj.h"
#include "kernel/mapsync.h"
#include "kernel/pkt.h"
#include "kernel/testrun.h"

#define IP_A   "198.18.10.1"
#define IP_B   "198.18.10.2"
#define IP_DNS "198.18.10.53"   /* kube-system/coredns, not on this node */
#define EXT1   "198.19.7.1"     /* outside the cluster: what names resolve to */
#define EXT2   "198.19.7.2"
#define EXT3   "198.19.7.3"
#define EXT4   "198.19.7.4"

static struct podwall_bpf *o;
static uint32_t ifa, ifb;
static uint16_t sport = 30000;   /* a new flow per probe */
static uint16_t qid = 100;       /* a new DNS query each time */

#define POD_A "kind: Pod\nmetadata: {name: a, namespace: a, labels: {app: a}}\n" \
	"status: {podIP: " IP_A "}\n---\n"
#define WORLD_NS "kind: Namespace\nmetadata: {name: a, labels: {team: a}}\n---\n"      \
	"kind: Namespace\nmetadata: {name: b, labels: {team: b}}\n---\n"                  \
	"kind: Namespace\nmetadata: {name: kube-system}\n---\n"
#define WORLD_REST "kind: Pod\nmetadata: {name: b, namespace: b, labels: {app: b}}\n"   \
	"status: {podIP: " IP_B "}\n---\n"                                              \
	"kind: Pod\nmetadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}\n" \
	"status: {podIP: " IP_DNS "}\n"

/* The pods and namespaces; with_a: pod a too (else it was deleted). */
static const char *world_of(bool with_a)
{
	return with_a ? WORLD_NS POD_A WORLD_REST : WORLD_NS WORLD_REST;
}

/* One ClusterNetworkPolicy over namespaces a and b, egress rules. */
#define CNP(name, tier, prio, rules)                                             \
	"---\nkind: ClusterNetworkPolicy\nmetadata: {name: " name "}\n"           \
	"spec:\n  tier: " tier "\n  priority: " prio "\n"                          \
	"  subject: {namespaces: {matchExpressions: [{key: team, operator: In, values: [a, b]}]}}\n" \
	"  egress: [" rules "]\n"
#define NAMES_443 "{action: Accept, to: [{domainNames: [www.example.com, \"*.example.org\"]}], " \
	"protocols: [{tcp: {destinationPort: {number: 443}}}]}"
#define DENY_ALL "{action: Deny, to: [{networks: [0.0.0.0/0]}]}"
#define DENY_EXT "{action: Deny, to: [{networks: [198.19.7.0/24]}]}"
#define PASS_EXT "{action: Pass, to: [{networks: [198.19.7.0/24]}]}"
/* a NetworkPolicy that isolates a's egress and allows nothing */
#define NP_ISOLATE_A "---\nkind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n" \
	"metadata: {name: np, namespace: a}\nspec:\n  podSelector: {}\n"           \
	"  policyTypes: [Egress]\n"

static uint32_t local(void *ctx, const struct pw_pod *pod)
{
	(void)ctx;
	return !strcmp(pod->name, "a") ? ifa : !strcmp(pod->name, "b") ? ifb : 0;
}

static const uint8_t *addr(const char *s)
{
	static uint8_t a[4][16];
	static int n;
	uint8_t *p = a[n++ & 3];

	if (pw_addr_parse(s, p))
		abort();
	return p;
}

/* Compile the world + extra (DNS allowed outright: --dns=auto) and sync it. 0 or -1. */
static int apply_world(bool with_a, const char *extra)
{
	const char *world = world_of(with_a);
	struct pw_compile_opts opts = { .is_local = local, .dns_auto = true };
	int ret = dp_apply_yaml(o, world, extra, &opts);

	CHECK_EQ(ret, 0);
	return ret;
}

static int apply(const char *extra)
{
	return apply_world(true, extra);
}

static int run(enum pw_prog prog, uint32_t ifindex, const struct pw_pkt *p)
{
	struct pw_run_out out;

	if (pw_test_run(pw_bpf_prog_fd(o, prog), p->data, p->len, ifindex, 0, &out))
		return -1;
	return out.verdict;
}

/* A DNS message m from sa:sp to da:dp through prog on device ifindex. */
static int send_dns(enum pw_prog prog, uint32_t ifindex, const char *sa, uint16_t sp,
		    const char *da, uint16_t dp, const struct dnsb *m)
{
	struct pw_pkt_spec s = { .proto = IPPROTO_UDP, .sport = sp, .dport = dp,
				 .payload = m->b, .payload_len = (uint16_t)m->n };
	struct pw_pkt p;

	memcpy(s.saddr, addr(sa), 16);
	memcpy(s.daddr, addr(da), 16);
	CHECK_EQ(pw_pkt_build(&p, &s), 0);
	return run(prog, ifindex, &p);
}

/* Pod (device ifindex, address ip) resolves name to address to (TTL 300). */
static void resolve(uint32_t ifindex, const char *ip, const char *name, const char *to)
{
	struct dnsb m;
	uint16_t id = ++qid, port = ++sport;

	db_start(&m, id, false, name);
	CHECK_EQ(send_dns(PW_PROG_FROM_POD, ifindex, ip, port, IP_DNS, 53, &m), TC_ACT_OK);
	db_start(&m, id, true, name);
	db_addr(&m, NULL, 300, to);
	db_finish(&m);
	CHECK_EQ(send_dns(PW_PROG_TO_POD, ifindex, IP_DNS, 53, ip, port, &m), TC_ACT_OK);
}

/* A packet of a TCP flow from a pod to an external address: 1 passed, 0 dropped. */
static int tcp_out(uint32_t ifindex, const char *src, uint16_t sp, const char *dst,
		   uint16_t dport, uint8_t flags)
{
	struct pw_pkt_spec s = { .proto = IPPROTO_TCP, .sport = sp, .dport = dport,
				 .tcp_flags = flags };
	struct pw_pkt p;

	memcpy(s.saddr, addr(src), 16);
	memcpy(s.daddr, addr(dst), 16);
	CHECK_EQ(pw_pkt_build(&p, &s), 0);
	return run(PW_PROG_FROM_POD, ifindex, &p) == TC_ACT_OK;
}

/* Its reply, into the pod (to_pod). */
static int tcp_back(uint32_t ifindex, const char *pod, uint16_t pod_port, const char *ext,
		    uint16_t ext_port)
{
	struct pw_pkt_spec s = { .proto = IPPROTO_TCP, .sport = ext_port, .dport = pod_port,
				 .tcp_flags = PW_TCPF_ACK };
	struct pw_pkt p;

	memcpy(s.saddr, addr(ext), 16);
	memcpy(s.daddr, addr(pod), 16);
	CHECK_EQ(pw_pkt_build(&p, &s), 0);
	return run(PW_PROG_TO_POD, ifindex, &p) == TC_ACT_OK;
}

#define A_TO(dst, port) tcp_out(ifa, IP_A, ++sport, dst, port, PW_TCPF_SYN)
#define B_TO(dst, port) tcp_out(ifb, IP_B, ++sport, dst, port, PW_TCPF_SYN)

/* Time runs out for every name pod a learned for address ext (as the clock would make it). */
static void expire(const char *ext)
{
	struct pw_fqdn_key k = { .ep_id = 0 };
	struct pw_fqdn_set set;
	struct timespec ts;
	const uint8_t *a = addr(ext);
	int n = 0;
	uint32_t key = ifa;
	struct pw_endpoint ep;

	CHECK_EQ(bpf_map__lookup_elem(o->maps.endpoints, &key, sizeof(key), &ep, sizeof(ep), 0), 0);
	k.ep_id = ep.ep_id;
	k.set = pw_fqdn_set_of(a);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	CHECK_EQ(bpf_map__lookup_elem(o->maps.fqdn_learned, &k, sizeof(k), &set, sizeof(set), 0), 0);
	for (int w = 0; w < PW_FQDN_WAYS; w++)
		for (int i = 0; i < PW_FQDN_NAMES && !memcmp(set.ways[w].addr, a, 16); i++)
			if (set.ways[w].names[i].name_id) {
				set.ways[w].names[i].expires_s = (uint32_t)ts.tv_sec - 1;
				n++;
			}
	CHECK(n > 0);
	CHECK_EQ(bpf_map__update_elem(o->maps.fqdn_learned, &k, sizeof(k), &set, sizeof(set), 0), 0);
}

/* Start every test from maps with nothing learned (the compile is the test's). */
static int fresh(void)
{
	if (o)
		pw_bpf_close(o);
	o = NULL;
	if (pw_bpf_open(NULL, &o, NULL)) {
		CHECK(!"a private BPF object");
		return -1;
	}
	return 0;
}

static void t_fqdn_join_learned_by_this_pod(void)
{
	struct pw_endpoint ep;
	uint32_t key;

	if (fresh() || apply(CNP("names", "Admin", "10", NAMES_443) CNP("deny", "Admin", "20", DENY_ALL)))
		return;
	key = ifa;
	CHECK_EQ(bpf_map__lookup_elem(o->maps.endpoints, &key, sizeof(key), &ep, sizeof(ep), 0), 0);
	CHECK(ep.flags[0] & PW_EP_LEARN_NAMES);
	CHECK(!A_TO(EXT1, 443));                  /* no lookup yet */
	resolve(ifa, IP_A, "www.example.com", EXT1);
	CHECK(A_TO(EXT1, 443));
	CHECK(!A_TO(EXT1, 80));                   /* a port not in the rule */
	CHECK(!A_TO(EXT2, 443));                  /* an address the answer did not give */
	CHECK(!B_TO(EXT1, 443));                  /* b did not ask */
	resolve(ifb, IP_B, "www.example.com", EXT1);
	CHECK(B_TO(EXT1, 443));
	/* a name no pattern matches teaches nothing */
	resolve(ifa, IP_A, "www.example.net", EXT2);
	CHECK(!A_TO(EXT2, 443));
}

static void t_fqdn_join_wildcard_labels(void)
{
	if (fresh() || apply(CNP("names", "Admin", "10", NAMES_443) CNP("deny", "Admin", "20", DENY_ALL)))
		return;
	resolve(ifa, IP_A, "a.b.example.org", EXT3);
	CHECK(A_TO(EXT3, 443));                   /* *.example.org: one or more labels */
	resolve(ifa, IP_A, "example.org", EXT4);
	CHECK(!A_TO(EXT4, 443));                  /* not the name itself */
	resolve(ifa, IP_A, "example.com", EXT2);
	CHECK(!A_TO(EXT2, 443));                  /* an exact pattern: exactly */
}

static void t_fqdn_join_admin_order(void)
{
	/* an Admin Deny ranked before the name's Accept wins */
	if (fresh() || apply(CNP("deny-ext", "Admin", "5", DENY_EXT) CNP("names", "Admin", "10", NAMES_443)))
		return;
	resolve(ifa, IP_A, "www.example.com", EXT1);
	CHECK(!A_TO(EXT1, 443));
	/* ranked after it, the Deny loses (and what was learned stays learned) */
	if (apply(CNP("names", "Admin", "10", NAMES_443) CNP("deny-ext", "Admin", "20", DENY_EXT)))
		return;
	CHECK(A_TO(EXT1, 443));
	CHECK(!A_TO(EXT1, 444));
	/* within one policy, rule order */
	if (apply(CNP("one", "Admin", "10", DENY_EXT ", " NAMES_443)))
		return;
	CHECK(!A_TO(EXT1, 443));
	if (apply(CNP("one", "Admin", "10", NAMES_443 ", " DENY_EXT)))
		return;
	CHECK(A_TO(EXT1, 443));
}

static void t_fqdn_join_pass(void)
{
	/* a Pass ranked before the name's Admin Accept skips it: the Baseline Deny decides */
	if (fresh() || apply(CNP("pass", "Admin", "5", PASS_EXT) CNP("names", "Admin", "10", NAMES_443)
			     CNP("base", "Baseline", "10", DENY_ALL)))
		return;
	resolve(ifa, IP_A, "www.example.com", EXT1);
	CHECK(!A_TO(EXT1, 443));
	/* the same name in the Baseline tier, before its Deny: allowed */
	if (apply(CNP("pass", "Admin", "5", PASS_EXT) CNP("names", "Baseline", "5", NAMES_443)
		  CNP("base", "Baseline", "10", DENY_ALL)))
		return;
	CHECK(A_TO(EXT1, 443));
	/* a Pass ranked after the Admin name: the name decides first */
	if (apply(CNP("names", "Admin", "5", NAMES_443) CNP("pass", "Admin", "10", PASS_EXT)
		  CNP("base", "Baseline", "10", DENY_ALL)))
		return;
	CHECK(A_TO(EXT1, 443));
	/* Pass into a NetworkPolicy that isolates a: it decides (nothing allowed) */
	if (apply(CNP("pass", "Admin", "5", PASS_EXT) CNP("names", "Admin", "10", NAMES_443)
		  NP_ISOLATE_A))
		return;
	CHECK(!A_TO(EXT1, 443));
}

static void t_fqdn_join_networkpolicy_isolates(void)
{
	/* a Baseline name comes after a NetworkPolicy that isolates: it loses */
	if (fresh() || apply(CNP("names", "Baseline", "10", NAMES_443) NP_ISOLATE_A))
		return;
	resolve(ifa, IP_A, "www.example.com", EXT1);
	CHECK(!A_TO(EXT1, 443));
	/* b is not isolated: the Baseline name opens it, and the Deny after it closes the rest */
	if (apply(CNP("names", "Baseline", "10", NAMES_443) CNP("base", "Baseline", "20", DENY_ALL)
		  NP_ISOLATE_A))
		return;
	resolve(ifb, IP_B, "www.example.com", EXT1);
	CHECK(B_TO(EXT1, 443));
	CHECK(!B_TO(EXT2, 443));
	/* an Admin name comes before NetworkPolicy: it wins. (a learns from
	 * now on: no name could decide for it before, so it learned nothing) */
	if (apply(CNP("names", "Admin", "10", NAMES_443) NP_ISOLATE_A))
		return;
	CHECK(!A_TO(EXT1, 443));
	resolve(ifa, IP_A, "www.example.com", EXT1);
	CHECK(A_TO(EXT1, 443));
	CHECK(!A_TO(EXT1, 80));
}

static void t_fqdn_join_expiry(void)
{
	uint16_t est = ++sport;

	if (fresh() || apply(CNP("names", "Admin", "10", NAMES_443) CNP("deny", "Admin", "20", DENY_ALL)))
		return;
	resolve(ifa, IP_A, "www.example.com", EXT1);
	CHECK(tcp_out(ifa, IP_A, est, EXT1, 443, PW_TCPF_SYN));
	expire(EXT1);
	CHECK(!A_TO(EXT1, 443));                  /* a new flow after the TTL */
	CHECK(tcp_out(ifa, IP_A, est, EXT1, 443, PW_TCPF_ACK)); /* the established one lives */
	/* a policy change: every entry is re-checked; the name's rule still
	 * allows it, so the established flow outlives the TTL, both ways */
	if (apply(CNP("names", "Admin", "10", NAMES_443) CNP("deny", "Admin", "20", DENY_ALL)
		  CNP("other", "Admin", "30", DENY_EXT)))
		return;
	CHECK(tcp_back(ifa, IP_A, est, EXT1, 443));
	CHECK(tcp_out(ifa, IP_A, est, EXT1, 443, PW_TCPF_ACK));
	CHECK(!A_TO(EXT1, 443));
	/* a fresh lookup opens new flows again */
	resolve(ifa, IP_A, "www.example.com", EXT1);
	CHECK(A_TO(EXT1, 443));
	/* the name's rule gone: the established flow is revoked */
	if (apply(CNP("deny", "Admin", "20", DENY_ALL)))
		return;
	CHECK(!tcp_out(ifa, IP_A, est, EXT1, 443, PW_TCPF_ACK));
}

/* what a deleted pod learned is not a new pod's of the same name (same ep_id, same address) */
static void t_fqdn_join_deleted_pod_forgotten(void)
{
	const char *cnp = CNP("names", "Admin", "10", NAMES_443) CNP("deny", "Admin", "20", DENY_ALL);

	if (fresh() || apply(cnp))
		return;
	resolve(ifa, IP_A, "www.example.com", EXT1);
	CHECK(A_TO(EXT1, 443));
	if (apply_world(false, cnp))   /* a deleted */
		return;
	if (apply(cnp))                /* and made again: the same name, address and device */
		return;
	CHECK(!A_TO(EXT1, 443));
	resolve(ifa, IP_A, "www.example.com", EXT1);
	CHECK(A_TO(EXT1, 443));
}

int suite_fqdn_join(void)
{
	ifa = if_nametoindex("pwA");
	ifb = if_nametoindex("pwB");
	if (!ifa || !ifb) {
		printf("FAIL fqdn_join: setup (devices pwA/pwB)\n");
		return 1;
	}
	RUN(t_fqdn_join_learned_by_this_pod);
	RUN(t_fqdn_join_wildcard_labels);
	RUN(t_fqdn_join_admin_order);
	RUN(t_fqdn_join_pass);
	RUN(t_fqdn_join_networkpolicy_isolates);
	RUN(t_fqdn_join_expiry);
	RUN(t_fqdn_join_deleted_pod_forgotten);
	if (o)
		pw_bpf_close(o);
	o = NULL;
	return check_n_fail;
}
