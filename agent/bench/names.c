/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What a learned name costs a new egress packet (`podwall bench names`):
 * one pod under a ClusterNetworkPolicy whose egress Accepts
 * `domainNames: [www.example.com]` and `networks: [198.19.8.0/24]` on TCP
 * 443, then Denies everything else; the pod resolves www.example.com to
 * 198.19.7.1 through the real programs (its query through from_pod, the
 * answer through to_pod). Then from_pod's ns/packet (BPF_PROG_TEST_RUN,
 * median of runs) for a new flow (TCP RST+ACK: the policy path without the
 * conntrack insert, as `bench datapath`) to
 *   name  198.19.7.1:443: the address's own verdict (the Deny), then the
 *         join of the pod's learned names (fqdn.h pw_judge_names);
 *   cidr  198.19.8.1:443: the networks rule, the same tier and rank.
 * Both must pass, and the name's address must drop before the lookup.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>

#include "podwall.skel.h"
#include "compiler.h"
#include "kernel/bpfobj.h"
#include "kernel/mapsync.h"
#include "kernel/pkt.h"
#include "kernel/testrun.h"
#include "bench/bench.h"

#define N_POD  "198.18.0.10"
#define N_DNS  "198.18.0.53"
#define N_NAME "198.19.7.1"
#define N_CIDR "198.19.8.1"

static const char world[] =
	"kind: Namespace\nmetadata: {name: app, labels: {team: app}}\n---\n"
	"kind: Namespace\nmetadata: {name: kube-system}\n---\n"
	"kind: Pod\nmetadata: {name: a, namespace: app}\nstatus: {podIP: " N_POD "}\n---\n"
	"kind: Pod\nmetadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}\n"
	"status: {podIP: " N_DNS "}\n---\n"
	"kind: ClusterNetworkPolicy\napiVersion: policy.networking.k8s.io/v1alpha2\n"
	"metadata: {name: egress}\nspec:\n  tier: Admin\n  priority: 10\n"
	"  subject: {namespaces: {matchLabels: {team: app}}}\n  egress:\n"
	"  - {action: Accept, to: [{domainNames: [www.example.com]}], "
	"protocols: [{tcp: {destinationPort: {number: 443}}}]}\n"
	"  - {action: Accept, to: [{networks: [198.19.8.0/24]}], "
	"protocols: [{tcp: {destinationPort: {number: 443}}}]}\n"
	"  - {action: Deny, to: [{networks: [0.0.0.0/0]}]}\n";

static uint32_t dev;

static uint32_t local(void *ctx, const struct pw_pod *pod)
{
	(void)ctx;
	return !strcmp(pod->name, "a") ? dev : 0;
}

/* A DNS message for www.example.com: the query (qr false) or its answer -> N_NAME, TTL 3600. */
static size_t dns_msg(uint8_t *b, bool qr)
{
	static const uint8_t q[] = "\0\x2a\1\0\0\1\0\0\0\0\0\0\3www\7example\3com\0\0\1\0\1";
	size_t n = sizeof(q) - 1;

	memcpy(b, q, n);
	if (qr) {
		b[2] = 0x81;
		b[3] = 0x80;
		b[7] = 1;
		memcpy(b + n, "\xc0\x0c\0\1\0\1\0\0\x0e\x10\0\4\xc6\x13\x07\x01", 16);
		n += 16;
	}
	return n;
}

static int verdict(int prog, const struct pw_pkt *p, int *v)
{
	struct pw_run_out o;
	int err = pw_test_run(prog, p->data, p->len, dev, 0, &o);

	*v = (int)o.verdict;
	return err;
}

static int measure(int repeat, int runs, double *name_ns, double *cidr_ns)
{
	struct pw_compile_opts opts = { .is_local = local, .dns_auto = true };
	struct pw_cluster *c = pw_cluster_new();
	struct pw_error err = { { 0 } };
	struct podwall_bpf *obj = NULL;
	struct pw_state s = { 0 };
	struct pw_pkt q, a, to_name, to_cidr;
	uint8_t pod[16], dns[16], nm[16], cidr[16], msg[128];
	double v[2][PWB_MAX_RUNS];
	int ret = -ENOMEM, from, to, vd;

	if (!c)
		goto out;
	ret = pw_cluster_load_buffer(c, "names.yaml", world, sizeof(world) - 1, &err);
	if (!ret)
		ret = pw_cluster_finish(c, &err);
	if (!ret)
		ret = pw_compile(c, &opts, &s, &err);
	if (!ret)
		ret = pw_bpf_open(NULL, &obj, &err);
	if (ret) {
		fprintf(stderr, "podwall bench names: %s\n", err.msg);
		goto out;
	}
	if ((ret = pw_sync(obj, &s, NULL, NULL)))
		goto out;
	pw_addr_parse(N_POD, pod);
	pw_addr_parse(N_DNS, dns);
	pw_addr_parse(N_NAME, nm);
	pw_addr_parse(N_CIDR, cidr);
	from = pw_bpf_prog_fd(obj, PW_PROG_FROM_POD);
	to = pw_bpf_prog_fd(obj, PW_PROG_TO_POD);
	if ((ret = pw_pkt_tcp(&to_name, pod, nm, 40000, 443, PW_TCPF_RST | PW_TCPF_ACK)) ||
	    (ret = pw_pkt_tcp(&to_cidr, pod, cidr, 40001, 443, PW_TCPF_RST | PW_TCPF_ACK)) ||
	    (ret = verdict(from, &to_name, &vd)))
		goto out;
	if (vd != TC_ACT_SHOT) {
		fprintf(stderr, "podwall bench names: the name's address passes before a lookup\n");
		ret = -EPROTO;
		goto out;
	}
	/* the pod's own lookup, through the programs */
	if ((ret = pw_pkt_udp(&q, pod, dns, 40053, 53, msg, (uint16_t)dns_msg(msg, false))) ||
	    (ret = verdict(from, &q, &vd)) ||
	    (ret = pw_pkt_udp(&a, dns, pod, 53, 40053, msg, (uint16_t)dns_msg(msg, true))) ||
	    (ret = verdict(to, &a, &vd)))
		goto out;
	for (int k = 0; k < 2; k++) {
		if ((ret = verdict(from, k ? &to_cidr : &to_name, &vd)))
			goto out;
		if (vd != TC_ACT_OK) {
			fprintf(stderr, "podwall bench names: the %s flow is not allowed\n",
				k ? "networks" : "learned name's");
			ret = -EPROTO;
			goto out;
		}
	}
	/* interleaved: run r of each, one after the other */
	for (int r = 0; r < runs; r++)
		for (int k = 0; k < 2; k++) {
			const struct pw_pkt *p = k ? &to_cidr : &to_name;
			struct pw_run_out o;

			if ((ret = pw_test_run_repeat(from, p->data, p->len, dev, 0, repeat, &o)))
				goto out;
			v[k][r] = o.duration_ns;
		}
	*name_ns = pwb_median(v[0], runs);
	*cidr_ns = pwb_median(v[1], runs);
out:
	if (obj)
		pw_bpf_close(obj);
	pw_state_free(&s);
	pw_cluster_free(c);
	return ret;
}

struct names_run {
	int repeat, runs;
	double name_ns, cidr_ns;
};

static int measure_in(void *ctx, uint32_t d)
{
	struct names_run *n = ctx;

	dev = d;
	return measure(n->repeat, n->runs, &n->name_ns, &n->cidr_ns);
}

int pwb_names(int repeat, int runs, bool json, FILE *out)
{
	struct names_run n = { .repeat = repeat, .runs = runs < PWB_MAX_RUNS ? runs : PWB_MAX_RUNS };
	double name_ns, cidr_ns;
	int err;

	runs = n.runs;
	err = pwb_in_private_dev(measure_in, &n);
	name_ns = n.name_ns;
	cidr_ns = n.cidr_ns;
	if (err)
		return err;
	if (json) {
		fprintf(out, "{\"method\":\"from_pod ns/packet (BPF_PROG_TEST_RUN, median of %d x %d), "
			"a new egress flow (TCP RST+ACK to port 443) of a pod under one Admin "
			"ClusterNetworkPolicy: Accept domainNames [www.example.com], Accept networks "
			"[198.19.8.0/24], Deny the rest; name: to the address the pod learned for "
			"www.example.com (its own lookup through to_pod); cidr: to an address of the "
			"networks rule\",\"runs\":%d,\"repeat\":%d,\"v4-new-egress-name\":%.1f,"
			"\"v4-new-egress-cidr\":%.1f,\"name_minus_cidr\":%.1f}\n", runs, repeat, runs,
			repeat, name_ns, cidr_ns, name_ns - cidr_ns);
		return 0;
	}
	fprintf(out, "A new egress flow matched through a learned name vs a networks CIDR "
		"(from_pod, median of %d x %d)\n", runs, repeat);
	fprintf(out, "%-44s %8.1f ns\n", "v4-new-egress-name (learned www.example.com)", name_ns);
	fprintf(out, "%-44s %8.1f ns\n", "v4-new-egress-cidr (networks 198.19.8.0/24)", cidr_ns);
	fprintf(out, "the learned name costs %+.1f ns a new flow\n", name_ns - cidr_ns);
	return 0;
}
