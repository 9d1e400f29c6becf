/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ClusterNetworkPolicy tiers in the kernel: YAML compiled (pw_compile),
 * synced into a private copy of the maps (pw_sync), packets through from_pod
 * and to_pod with BPF_PROG_TEST_RUN. Each action, the order of tiers and
 * priorities, equal priorities, Pass into NetworkPolicy and into Baseline,
 * revocation of an established flow by a new Deny, named ports, port
 * ranges, nodes and networks peers, audit mode. Uses the datapath suite's
 * devices pwA, pwB, pwC as the pods a/a, b/b, c/c.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>

#include "apply.h"
#include "check.h"
#include "podwall.skel.h"
#include "compiler.h"
#include "kernel/bpfobj.h"
#include "kernel/mapsync.h"
#include "kernel/pkt.h"
#include "kernel/testrun.h"

#define IP_A    "198.18.9.1"
#define IP_B    "198.18.9.2"
#define IP_C    "198.18.9.3"
#define IP_NODE "198.18.9.100"   /* a Node's InternalIP */
#define IP_EXT  "198.19.5.5"     /* outside the cluster */

static struct podwall_bpf *o;
static uint32_t ifa, ifb, ifc;
static uint16_t sport = 20000;   /* a new flow per probe */

/* pods a, b, c, one per namespace of the same name; a names 8080/TCP "http"
 * and 5353/UDP "dns"; Node n1 labelled role=infra */
static const char *world =
	"kind: Namespace\nmetadata: {name: a, labels: {team: a}}\n---\n"
	"kind: Namespace\nmetadata: {name: b, labels: {team: b}}\n---\n"
	"kind: Namespace\nmetadata: {name: c, labels: {team: c}}\n---\n"
	"kind: Pod\nmetadata: {name: a, namespace: a, labels: {app: a}}\n"
	"spec: {containers: [{name: x, ports: [{containerPort: 8080, name: http},"
	" {containerPort: 5353, protocol: UDP, name: dns}]}]}\n"
	"status: {podIP: " IP_A "}\n---\n"
	"kind: Pod\nmetadata: {name: b, namespace: b, labels: {app: b}}\nstatus: {podIP: " IP_B "}\n---\n"
	"kind: Pod\nmetadata: {name: c, namespace: c, labels: {app: c}}\nstatus: {podIP: " IP_C "}\n---\n"
	"kind: Node\nmetadata: {name: n1, labels: {role: infra}}\n"
	"status: {addresses: [{type: InternalIP, address: " IP_NODE "}]}\n";

static uint32_t local(void *ctx, const struct pw_pod *pod)
{
	(void)ctx;
	return !strcmp(pod->name, "a") ? ifa : !strcmp(pod->name, "b") ? ifb
		: !strcmp(pod->name, "c") ? ifc : 0;
}

/* Compile world + extra (every pod in audit mode if audit) and make the
 * maps hold it. 0 or -1. */
static int apply_mode(const char *extra, bool audit)
{
	struct pw_compile_opts opts = { .is_local = local, .audit_all = audit };
	int ret = dp_apply_yaml(o, world, extra, &opts);

	CHECK_EQ(ret, 0);
	return ret;
}

static int apply(const char *extra)
{
	return apply_mode(extra, false);
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

static int run(enum pw_prog prog, uint32_t ifindex, const struct pw_pkt *p)
{
	struct pw_run_out out;

	if (pw_test_run(pw_bpf_prog_fd(o, prog), p->data, p->len, ifindex, 0, &out))
		return -1;
	return out.verdict;
}

/*
 * A new flow from src (a pod's device, its address) to dst: the sender's
 * egress (from_pod) and, for a pod, the receiver's ingress (to_pod) must
 * both pass. Returns 1 (delivered) or 0.
 */
static int flow(uint32_t sif, const char *src, uint32_t dif, const char *dst, uint8_t proto,
		uint16_t dport)
{
	struct pw_pkt p;

	CHECK_EQ(pw_pkt_l4(&p, addr(src), addr(dst), proto, ++sport, dport), 0);
	if (run(PW_PROG_FROM_POD, sif, &p) != TC_ACT_OK)
		return 0;
	return !dif || run(PW_PROG_TO_POD, dif, &p) == TC_ACT_OK;
}

#define B_TO_A(proto, port) flow(ifb, IP_B, ifa, IP_A, proto, port)
#define C_TO_A(proto, port) flow(ifc, IP_C, ifa, IP_A, proto, port)

static uint64_t cnt(int dir, int verdict, int reason)
{
	struct pw_counter c;

	return pw_bpf_read_counter(o, dir, verdict, reason, &c) ? (uint64_t)-1 : c.packets;
}

/* One ClusterNetworkPolicy on namespace a (subject), one rule. */
#define CNP(name, tier, prio, dir, rule)                                         \
	"---\nkind: ClusterNetworkPolicy\nmetadata: {name: " name "}\n"           \
	"spec:\n  tier: " tier "\n  priority: " prio "\n"                          \
	"  subject: {namespaces: {matchLabels: {team: a}}}\n"                      \
	"  " dir ": [" rule "]\n"
#define FROM_B "from: [{namespaces: {matchLabels: {team: b}}}]"
#define FROM_ANY "from: [{namespaces: {}}]"
#define TCP(p) "protocols: [{tcp: {destinationPort: {number: " #p "}}}]"
#define NP_ALLOW_C "---\nkind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n"         \
	"metadata: {name: np, namespace: a}\nspec:\n  podSelector: {}\n"                 \
	"  ingress: [{from: [{namespaceSelector: {matchLabels: {team: c}}}]}]\n"

static void t_tier_actions(void)
{
	uint64_t denied = cnt(PW_DIR_INGRESS, PW_VERDICT_DROP, PW_REASON_TIER_DENIED);

	if (apply(CNP("x", "Admin", "10", "ingress", "{action: Deny, " FROM_B ", " TCP(80) "}")))
		return;
	CHECK(!B_TO_A(IPPROTO_TCP, 80));
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_DROP, PW_REASON_TIER_DENIED), denied + 1);
	CHECK(B_TO_A(IPPROTO_TCP, 81));    /* no rule, no NetworkPolicy: allowed */
	CHECK(C_TO_A(IPPROTO_TCP, 80));
	CHECK(B_TO_A(IPPROTO_UDP, 80));

	/* Admin Accept beats a NetworkPolicy that isolates a */
	if (apply(CNP("x", "Admin", "10", "ingress", "{action: Accept, " FROM_B ", " TCP(80) "}")
		  NP_ALLOW_C))
		return;
	CHECK(B_TO_A(IPPROTO_TCP, 80));
	CHECK(!B_TO_A(IPPROTO_TCP, 81));   /* NetworkPolicy: only from c */
	CHECK(C_TO_A(IPPROTO_TCP, 81));
}

static void t_tier_priority_and_ties(void)
{
	/* Deny at 20, Accept at 10: the Accept decides */
	if (apply(CNP("x", "Admin", "20", "ingress", "{action: Deny, " FROM_ANY "}")
		  CNP("y", "Admin", "10", "ingress", "{action: Accept, " FROM_B ", " TCP(80) "}")))
		return;
	CHECK(B_TO_A(IPPROTO_TCP, 80));
	CHECK(!B_TO_A(IPPROTO_TCP, 81));
	CHECK(!C_TO_A(IPPROTO_TCP, 80));
	/* the same numbers swapped: the Deny decides */
	if (apply(CNP("x", "Admin", "10", "ingress", "{action: Deny, " FROM_ANY "}")
		  CNP("y", "Admin", "20", "ingress", "{action: Accept, " FROM_B ", " TCP(80) "}")))
		return;
	CHECK(!B_TO_A(IPPROTO_TCP, 80));
	/* equal priorities: by name, "m" before "x" */
	if (apply(CNP("x", "Admin", "10", "ingress", "{action: Deny, " FROM_ANY "}")
		  CNP("m", "Admin", "10", "ingress", "{action: Accept, " FROM_B ", " TCP(80) "}")))
		return;
	CHECK(B_TO_A(IPPROTO_TCP, 80));
	CHECK(!B_TO_A(IPPROTO_TCP, 81));
	/* within one policy, rules in order */
	if (apply(CNP("x", "Admin", "10", "ingress", "{action: Deny, " FROM_B "}, "
		      "{action: Accept, " FROM_B ", " TCP(80) "}")))
		return;
	CHECK(!B_TO_A(IPPROTO_TCP, 80));
}

static void t_tier_pass(void)
{
	/* Pass into NetworkPolicy (which admits c only); the Baseline Accept
	 * is never reached while a NetworkPolicy isolates a */
	if (apply(CNP("x", "Admin", "1", "ingress", "{action: Pass, " FROM_ANY ", " TCP(80) "}")
		  CNP("y", "Admin", "2", "ingress", "{action: Accept, " FROM_ANY "}")
		  CNP("z", "Baseline", "1", "ingress", "{action: Accept, " FROM_B "}") NP_ALLOW_C))
		return;
	CHECK(!B_TO_A(IPPROTO_TCP, 80));   /* passed: NetworkPolicy says no */
	CHECK(C_TO_A(IPPROTO_TCP, 80));    /* passed: NetworkPolicy says yes */
	CHECK(B_TO_A(IPPROTO_TCP, 81));    /* Admin Accept at 2 */

	/* Pass into Baseline: no NetworkPolicy, Baseline denies b */
	if (apply(CNP("x", "Admin", "1", "ingress", "{action: Pass, " FROM_ANY ", " TCP(80) "}")
		  CNP("y", "Admin", "2", "ingress", "{action: Accept, " FROM_ANY "}")
		  CNP("z", "Baseline", "1", "ingress", "{action: Deny, " FROM_B "}")))
		return;
	CHECK(!B_TO_A(IPPROTO_TCP, 80));   /* Pass, then Baseline Deny */
	CHECK(C_TO_A(IPPROTO_TCP, 80));    /* Pass, no Baseline rule: allowed */
	CHECK(B_TO_A(IPPROTO_TCP, 81));    /* Admin Accept */

	/* a Baseline Pass ends in the default: allowed */
	if (apply(CNP("z", "Baseline", "1", "ingress", "{action: Pass, " FROM_B ", " TCP(80) "}, "
		      "{action: Deny, " FROM_B "}")))
		return;
	CHECK(B_TO_A(IPPROTO_TCP, 80));
	CHECK(!B_TO_A(IPPROTO_TCP, 81));
}

static void t_tier_revocation(void)
{
	struct pw_pkt syn, ack;
	uint16_t sp = ++sport;
	uint64_t revoked = cnt(PW_DIR_INGRESS, PW_VERDICT_DROP, PW_REASON_REVOKED);

	if (apply(""))
		return;
	CHECK_EQ(pw_pkt_tcp(&syn, addr(IP_B), addr(IP_A), sp, 80, PW_TCPF_SYN), 0);
	CHECK_EQ(pw_pkt_tcp(&ack, addr(IP_B), addr(IP_A), sp, 80, PW_TCPF_ACK), 0);
	CHECK_EQ(run(PW_PROG_FROM_POD, ifb, &syn), TC_ACT_OK);
	CHECK_EQ(run(PW_PROG_TO_POD, ifa, &syn), TC_ACT_OK);
	CHECK_EQ(run(PW_PROG_TO_POD, ifa, &ack), TC_ACT_OK);
	/* a new Admin Deny: the established flow stops at its next packet */
	if (apply(CNP("x", "Admin", "5", "ingress", "{action: Deny, " FROM_B "}")))
		return;
	CHECK_EQ(run(PW_PROG_FROM_POD, ifb, &ack), TC_ACT_OK);  /* b's egress: no rule */
	CHECK_EQ(run(PW_PROG_TO_POD, ifa, &ack), TC_ACT_SHOT);
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_DROP, PW_REASON_REVOKED), revoked + 1);
}

static void t_tier_named_ports_and_ranges(void)
{
	if (apply(CNP("x", "Admin", "1", "ingress",
		      "{action: Deny, " FROM_B ", protocols: [{destinationNamedPort: http}, "
		      "{destinationNamedPort: dns}]}")
		  CNP("y", "Baseline", "1", "ingress",
		      "{action: Deny, " FROM_ANY ", protocols: [{sctp: {destinationPort: "
		      "{range: {start: 9000, end: 9010}}}}]}")))
		return;
	CHECK(!B_TO_A(IPPROTO_TCP, 8080));  /* http: 8080/TCP on a */
	CHECK(B_TO_A(IPPROTO_UDP, 8080));
	CHECK(!B_TO_A(IPPROTO_UDP, 5353));  /* dns: 5353/UDP on a */
	CHECK(B_TO_A(IPPROTO_TCP, 5353));
	CHECK(!C_TO_A(IPPROTO_SCTP, 9000));
	CHECK(!C_TO_A(IPPROTO_SCTP, 9010));
	CHECK(C_TO_A(IPPROTO_SCTP, 8999));
	CHECK(C_TO_A(IPPROTO_SCTP, 9011));
	CHECK(C_TO_A(IPPROTO_TCP, 9005));
}

static void t_tier_nodes_and_networks(void)
{
	/* a's egress: Accept TCP 10250 to infra nodes, Deny the rest to them,
	 * Deny TCP 443 to 198.19.0.0/16 */
	if (apply(CNP("x", "Admin", "1", "egress",
		      "{action: Accept, to: [{nodes: {matchLabels: {role: infra}}}], " TCP(10250) "}, "
		      "{action: Deny, to: [{nodes: {matchLabels: {role: infra}}}]}, "
		      "{action: Deny, to: [{networks: [198.19.0.0/16]}], " TCP(443) "}")))
		return;
	CHECK(flow(ifa, IP_A, 0, IP_NODE, IPPROTO_TCP, 10250));
	CHECK(!flow(ifa, IP_A, 0, IP_NODE, IPPROTO_TCP, 22));
	CHECK(!flow(ifa, IP_A, 0, IP_EXT, IPPROTO_TCP, 443));
	CHECK(flow(ifa, IP_A, 0, IP_EXT, IPPROTO_TCP, 80));
	CHECK(flow(ifa, IP_A, 0, "198.20.0.1", IPPROTO_TCP, 443));
	CHECK(flow(ifa, IP_A, ifb, IP_B, IPPROTO_TCP, 22));   /* a pod: no rule */
	/* networks over pod addresses hold the pods too */
	if (apply(CNP("x", "Admin", "1", "egress",
		      "{action: Deny, to: [{networks: [198.18.9.2/32]}]}")))
		return;
	CHECK(!flow(ifa, IP_A, ifb, IP_B, IPPROTO_TCP, 22));
	CHECK(flow(ifa, IP_A, ifc, IP_C, IPPROTO_TCP, 22));   /* .3 is outside it */
}

static void t_tier_audit(void)
{
	uint64_t audit = cnt(PW_DIR_INGRESS, PW_VERDICT_AUDIT, PW_REASON_TIER_DENIED);

	if (apply_mode(CNP("x", "Admin", "1", "ingress", "{action: Deny, " FROM_B "}"), true))
		return;
	CHECK(B_TO_A(IPPROTO_TCP, 80));   /* would drop: passes, reported */
	CHECK_EQ(cnt(PW_DIR_INGRESS, PW_VERDICT_AUDIT, PW_REASON_TIER_DENIED), audit + 1);
}

int suite_tiers(void)
{
	ifa = if_nametoindex("pwA");
	ifb = if_nametoindex("pwB");
	ifc = if_nametoindex("pwC");
	if (!ifa || !ifb || !ifc || pw_bpf_open(NULL, &o, NULL)) {
		printf("FAIL tiers: setup (devices pwA/pwB/pwC, a private BPF object)\n");
		return 1;
	}
	RUN(t_tier_actions);
	RUN(t_tier_priority_and_ties);
	RUN(t_tier_pass);
	RUN(t_tier_revocation);
	RUN(t_tier_named_ports_and_ranges);
	RUN(t_tier_nodes_and_networks);
	RUN(t_tier_audit);
	pw_bpf_close(o);
	o = NULL;
	return check_n_fail;
}
