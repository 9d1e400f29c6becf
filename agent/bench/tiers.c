/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What ClusterNetworkPolicy tiers cost (`podwall bench tiers`): a generated
 * cluster of 1,000 pods in 100 namespaces with 10,000 NetworkPolicy rules
 * (1,000 policies of 10 ingress rules), compiled and loaded with and
 * without 1,000 ClusterNetworkPolicy rules over 100 priorities (90 Admin,
 * 10 Baseline policies of 5 ingress and 5 egress rules, Accept, Deny and
 * Pass, each subject a third of the namespaces). 100 pods are local.
 *
 * Figures: parse + compile + load (sync into private maps) of each set,
 * and the ns/packet of to_pod (BPF_PROG_TEST_RUN, median of runs) for the
 * same two packets under each: a new flow from an allowed peer (TCP RST+ACK:
 * the policy path without the conntrack insert, as `bench datapath`) and
 * an established one (ACK of a tracked flow). Under the tiers the endpoint
 * measured is selected by CNP rules in both directions, and the peer is
 * named by them: its lookups go through the tier-resolved entries.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>

#include "podwall.skel.h"
#include "compiler.h"
#include "kernel/bpfobj.h"
#include "kernel/mapsync.h"
#include "kernel/netlink.h"
#include "kernel/pkt.h"
#include "kernel/testrun.h"
#include "bench/bench.h"

#define NS      100
#define PODS_NS 10
#define LOCAL_NS 10   /* namespaces whose pods are local */

struct gbuf {
	char  *p;
	size_t n, cap;
};

static void gput(struct gbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void gput(struct gbuf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (!b->p)
		return;
	for (;;) {
		va_start(ap, fmt);
		k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (k >= 0 && (size_t)k < b->cap - b->n)
			break;
		b->cap *= 2;
		if (!(b->p = realloc(b->p, b->cap)))
			return;
	}
	b->n += (size_t)k;
}

/* pod j of namespace i: 198.18.i.(10 + j) */
static void gen(struct gbuf *b, bool tiers)
{
	static const char *const act[3] = { "Accept", "Deny", "Pass" };

	for (int i = 0; i < NS; i++) {
		gput(b, "---\nkind: Namespace\nmetadata: {name: ns%d, labels: {ns: ns%d, third: t%d}}\n",
		     i, i, i % 3);
		for (int j = 0; j < PODS_NS; j++)
			gput(b, "---\nkind: Pod\nmetadata: {name: p%d, namespace: ns%d, labels: "
			     "{app: a%d}}\nstatus: {podIP: 198.18.%d.%d}\n", j, i, j, i, 10 + j);
		/* 10 policies of 10 rules: pods of app a(k) from namespace ns(i+r) */
		for (int k = 0; k < 10; k++) {
			gput(b, "---\nkind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n"
			     "metadata: {name: np%d, namespace: ns%d}\nspec:\n"
			     "  podSelector: {matchLabels: {app: a%d}}\n  ingress:\n", k, i, k);
			for (int r = 0; r < 10; r++)
				gput(b, "  - from: [{namespaceSelector: {matchLabels: {ns: ns%d}}}]\n"
				     "    ports: [{port: %d}]\n", (i + r) % NS, 8000 + r);
		}
	}
	if (!tiers)
		return;
	for (int c = 0; c < 100; c++) {
		gput(b, "---\nkind: ClusterNetworkPolicy\napiVersion: policy.networking.k8s.io/v1alpha2\n"
		     "metadata: {name: cnp%d}\nspec:\n  tier: %s\n  priority: %d\n"
		     "  subject: {namespaces: {matchLabels: {third: t%d}}}\n",
		     c, c < 90 ? "Admin" : "Baseline", c, c % 3);
		for (int d = 0; d < 2; d++) {
			gput(b, "  %s:\n", d ? "egress" : "ingress");
			for (int r = 0; r < 5; r++)
				gput(b, "  - action: %s\n    %s: [{namespaces: {matchLabels: {ns: ns%d}}}]\n"
				     "    protocols: [{tcp: {destinationPort: {number: %d}}}]\n",
				     act[(c + r) % 3] [0] == 'P' && c >= 90 ? "Deny" : act[(c + r) % 3],
				     d ? "to" : "from", (c * 5 + r) % NS, 9000 + r);
		}
	}
}

static uint32_t dev;

/* ns0/p0 is measured on the test device; the other local pods get made-up
 * device numbers (the maps only need a key) */
static uint32_t local(void *ctx, const struct pw_pod *pod)
{
	int i, j;

	(void)ctx;
	if (sscanf(pod->ns, "ns%d", &i) != 1 || sscanf(pod->name, "p%d", &j) != 1 || i >= LOCAL_NS)
		return 0;
	return i == 0 && j == 0 ? dev : 1000 + (uint32_t)(i * PODS_NS + j);
}

struct point {
	double parse_ms, compile_ms, sync_ms;
	size_t n_pol;
	double new_ns, est_ns;
};

static double per_packet(int prog, const struct pw_pkt *p, int repeat, int runs)
{
	double v[PWB_MAX_RUNS];

	for (int r = 0; r < runs; r++) {
		struct pw_run_out out;

		if (pw_test_run_repeat(prog, p->data, p->len, dev, 0, repeat, &out))
			return -1;
		v[r] = out.duration_ns;
	}
	return pwb_median(v, runs);
}

static int measure(bool tiers, int repeat, int runs, struct point *pt)
{
	struct pw_compile_opts opts = { .is_local = local };
	struct gbuf b = { malloc(1 << 20), 0, 1 << 20 };
	struct podwall_bpf *obj = NULL;
	struct pw_cluster *c = pw_cluster_new();
	struct pw_error err = { { 0 } };
	struct pw_state s = { 0 };
	struct pw_pkt est, newp;
	uint8_t src[16], dst[16];
	struct pw_run_out ro;
	uint64_t t0;
	int ret = -ENOMEM, prog;

	gen(&b, tiers);
	if (!b.p || !c)
		goto out;
	t0 = pwb_now_ns();
	ret = pw_cluster_load_buffer(c, "bench.yaml", b.p, b.n, &err);
	if (!ret)
		ret = pw_cluster_finish(c, &err);
	pt->parse_ms = (pwb_now_ns() - t0) / 1e6;
	t0 = pwb_now_ns();
	if (!ret)
		ret = pw_compile(c, &opts, &s, &err);
	pt->compile_ms = (pwb_now_ns() - t0) / 1e6;
	if (ret) {
		fprintf(stderr, "podwall bench tiers: %s\n", err.msg);
		goto out;
	}
	pt->n_pol = s.n_pol;
	if ((ret = pw_bpf_open(NULL, &obj, &err))) {
		fprintf(stderr, "podwall bench tiers: loading the BPF object: %s\n", err.msg);
		goto out;
	}
	t0 = pwb_now_ns();
	ret = pw_sync(obj, &s, NULL, NULL);
	pt->sync_ms = (pwb_now_ns() - t0) / 1e6;
	if (ret)
		goto out;
	/* ns1/p0 -> ns0/p0 on TCP 8001: NetworkPolicy np0 of ns0 admits ns1
	 * there, and an Admin Deny of cnp60 names ns1 on TCP 9001 */
	pw_addr_parse("198.18.1.10", src);
	pw_addr_parse("198.18.0.10", dst);
	prog = pw_bpf_prog_fd(obj, PW_PROG_TO_POD);
	if ((ret = pw_pkt_tcp(&est, src, dst, 40000, 8001, PW_TCPF_ACK)) ||
	    (ret = pw_pkt_tcp(&newp, src, dst, 40001, 8001, PW_TCPF_RST | PW_TCPF_ACK)) ||
	    (ret = pw_test_run(prog, est.data, est.len, dev, 0, &ro)))
		goto out;
	if (ro.verdict != TC_ACT_OK) {
		fprintf(stderr, "podwall bench tiers: the measured flow is not allowed\n");
		ret = -EPROTO;
		goto out;
	}
	pt->est_ns = per_packet(prog, &est, repeat, runs);
	pt->new_ns = per_packet(prog, &newp, repeat, runs);
	ret = pt->est_ns < 0 || pt->new_ns < 0 ? -EIO : 0;
out:
	if (obj)
		pw_bpf_close(obj);
	pw_state_free(&s);
	pw_cluster_free(c);
	free(b.p);
	return ret;
}

struct both {
	int repeat, runs;
	struct point np, t;
};

static int measure_both(void *ctx, uint32_t d)
{
	struct both *b = ctx;
	int err;

	dev = d;
	err = measure(false, b->repeat, b->runs, &b->np);
	return err ? err : measure(true, b->repeat, b->runs, &b->t);
}

int pwb_tiers(int repeat, int runs, FILE *out)
{
	struct both b = { .repeat = repeat, .runs = runs < PWB_MAX_RUNS ? runs : PWB_MAX_RUNS };
	struct point np, t;
	int err;

	runs = b.runs;
	err = pwb_in_private_dev(measure_both, &b);
	np = b.np;
	t = b.t;
	if (err)
		return err;
	fprintf(out, "ClusterNetworkPolicy tiers (1,000 pods, 100 local; to_pod, median of %d x %d)\n",
		runs, repeat);
	fprintf(out, "%-44s %9s %10s %9s %9s %8s %8s\n", "set", "parse ms", "compile ms",
		"load ms", "entries", "new ns", "est ns");
	fprintf(out, "%-44s %9.1f %10.1f %9.1f %9zu %8.1f %8.1f\n", "10,000 NP rules",
		np.parse_ms, np.compile_ms, np.sync_ms, np.n_pol, np.new_ns, np.est_ns);
	fprintf(out, "%-44s %9.1f %10.1f %9.1f %9zu %8.1f %8.1f\n",
		"10,000 NP + 1,000 CNP rules, 100 priorities", t.parse_ms, t.compile_ms, t.sync_ms,
		t.n_pol, t.new_ns, t.est_ns);
	fprintf(out, "tiers vs NetworkPolicy only: new %+.1f %%, established %+.1f %%; "
		"compile + load %.0f ms\n", 100.0 * (t.new_ns / np.new_ns - 1),
		100.0 * (t.est_ns / np.est_ns - 1), t.compile_ms + t.sync_ms);
	return 0;
}
