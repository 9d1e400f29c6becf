/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * agent/ops, the pure parts: lint rules (file:line, fixes, exit-worthy
 * findings), the loaded-state model, and explain's chain of reasons named
 * from a compiled state.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "compiler.h"
#include "k8s/ip.h"
#include "ops/lint.h"
#include "ops/loaded.h"
#include "ops/why.h"
#include "util.h"

/* The demo's seed scenario (scripts/demo.sh), objects and policies. */
#define SEED_OBJS \
	"kind: Namespace\n" \
	"metadata: {name: production}\n" \
	"---\n" \
	"kind: Namespace\n" \
	"metadata: {name: kube-system}\n" \
	"---\n" \
	"kind: Pod\n" \
	"metadata: {name: frontend, namespace: production, labels: {app: frontend}}\n" \
	"status: {podIP: 198.18.1.10}\n" \
	"---\n" \
	"kind: Pod\n" \
	"metadata: {name: backend, namespace: production, labels: {app: backend}}\n" \
	"status: {podIP: 198.18.1.11}\n" \
	"---\n" \
	"kind: Pod\n" \
	"metadata: {name: postgres, namespace: production, labels: {app: postgres}}\n" \
	"status: {podIP: 198.18.1.12}\n" \
	"---\n" \
	"kind: Pod\n" \
	"metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}\n" \
	"status: {podIP: 198.18.1.13}\n" \
	"---\n" \
	"kind: Service\n" \
	"metadata: {name: kube-dns, namespace: kube-system}\n" \
	"spec: {clusterIP: 198.19.255.10, selector: {k8s-app: kube-dns}, ports: [{port: 53, protocol: UDP, targetPort: 53}]}\n" \
	"---\n"

#define DENY_ALL \
	"kind: NetworkPolicy\n" \
	"metadata: {name: default-deny-all, namespace: production}\n" \
	"spec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n" \
	"---\n"

#define ALLOW_DNS_PORTS(ports) \
	"kind: NetworkPolicy\n" \
	"metadata: {name: allow-dns, namespace: production}\n" \
	"spec:\n" \
	"  podSelector: {}\n" \
	"  policyTypes: [Egress]\n" \
	"  egress:\n" \
	"  - to:\n" \
	"    - namespaceSelector:\n" \
	"        matchLabels: {kubernetes.io/metadata.name: kube-system}\n" \
	"      podSelector:\n" \
	"        matchLabels: {k8s-app: kube-dns}\n" \
	"    ports: " ports "\n" \
	"---\n"
#define ALLOW_DNS ALLOW_DNS_PORTS("[{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]")

#define PAIRS \
	"kind: NetworkPolicy\n" \
	"metadata: {name: frontend-to-backend-egress, namespace: production}\n" \
	"spec:\n" \
	"  podSelector: {matchLabels: {app: frontend}}\n" \
	"  policyTypes: [Egress]\n" \
	"  egress: [{to: [{podSelector: {matchLabels: {app: backend}}}], ports: [{protocol: TCP, port: 8080}]}]\n" \
	"---\n" \
	"kind: NetworkPolicy\n" \
	"metadata: {name: frontend-to-backend-ingress, namespace: production}\n" \
	"spec:\n" \
	"  podSelector: {matchLabels: {app: backend}}\n" \
	"  policyTypes: [Ingress]\n" \
	"  ingress: [{from: [{podSelector: {matchLabels: {app: frontend}}}], ports: [{protocol: TCP, port: 8080}]}]\n" \
	"---\n" \
	"kind: NetworkPolicy\n" \
	"metadata: {name: backend-to-postgres-egress, namespace: production}\n" \
	"spec:\n" \
	"  podSelector: {matchLabels: {app: backend}}\n" \
	"  policyTypes: [Egress]\n" \
	"  egress: [{to: [{podSelector: {matchLabels: {app: postgres}}}], ports: [{protocol: TCP, port: 5432}]}]\n" \
	"---\n" \
	"kind: NetworkPolicy\n" \
	"metadata: {name: backend-to-postgres-ingress, namespace: production}\n" \
	"spec:\n" \
	"  podSelector: {matchLabels: {app: postgres}}\n" \
	"  policyTypes: [Ingress]\n" \
	"  ingress: [{from: [{podSelector: {matchLabels: {app: backend}}}], ports: [{protocol: TCP, port: 5432}]}]\n"

static struct pw_lint_finding *lint(const char *yaml, const struct pw_lint_opts *o, size_t *n)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load(yaml, &err, NULL);
	struct pw_lint_finding *v = NULL;

	*n = 0;
	if (!c)
		return NULL;
	if (pw_lint(c, o, &v, n, &err)) {
		pw_cluster_free(c);
		*n = 999;
		return NULL;
	}
	/* file names are owned by the cluster: keep it for the caller's checks */
	for (size_t i = 0; i < *n; i++)
		v[i].file = v[i].file ? "t.yaml" : NULL;
	pw_cluster_free(c);
	return v;
}

static size_t count(const struct pw_lint_finding *v, size_t n, enum pw_lint_rule r)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += v[i].rule == r;
	return k;
}

static const struct pw_lint_finding *find(const struct pw_lint_finding *v, size_t n,
					  enum pw_lint_rule r)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].rule == r)
			return &v[i];
	return NULL;
}

static void t_lint_seed_is_clean(void)
{
	size_t n;
	struct pw_lint_finding *v = lint(SEED_OBJS DENY_ALL ALLOW_DNS PAIRS, NULL, &n);

	CHECK_EQ(n, 0);
	free(v);
}

static void t_lint_seed_without_dns_rule_names_it(void)
{
	size_t n;
	struct pw_lint_finding *v = lint(SEED_OBJS DENY_ALL PAIRS, NULL, &n);
	const struct pw_lint_finding *f = find(v, n, PW_LINT_EGRESS_NO_DNS);

	CHECK_EQ(n, 1);
	CHECK(f != NULL);
	if (f) {
		CHECK_STR_CONTAINS(f->msg, "no DNS rule");
		CHECK_STR_CONTAINS(f->msg, "production/frontend");
		CHECK_STR_CONTAINS(f->msg, "production/default-deny-all");
		CHECK_STR_CONTAINS(f->msg, "kube-system/coredns");
		CHECK_STR_CONTAINS(f->fix, "name: allow-dns");
		CHECK_STR_CONTAINS(f->fix, "namespaceSelector");
		CHECK_STR_CONTAINS(f->fix, "port: 53");
		CHECK(f->file != NULL);
		CHECK(f->line > 1); /* the line of default-deny-all, after the objects */
	}
	free(v);
}

static void t_lint_dns_tcp_missing(void)
{
	size_t n;
	struct pw_lint_finding *v = lint(SEED_OBJS DENY_ALL
					 ALLOW_DNS_PORTS("[{protocol: UDP, port: 53}]") PAIRS,
					 NULL, &n);

	CHECK_EQ(count(v, n, PW_LINT_EGRESS_NO_DNS), 0);
	CHECK_EQ(count(v, n, PW_LINT_DNS_TCP), 1);
	free(v);
}

static void t_lint_dns_podselector_alone(void)
{
	size_t n;
	const struct pw_lint_finding *f;
	struct pw_lint_finding *v = lint(SEED_OBJS DENY_ALL
		"kind: NetworkPolicy\n"
		"metadata: {name: allow-dns, namespace: production}\n"
		"spec:\n"
		"  podSelector: {}\n"
		"  policyTypes: [Egress]\n"
		"  egress:\n"
		"  - to:\n"
		"    - podSelector:\n"
		"        matchLabels: {k8s-app: kube-dns}\n"
		"    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]\n", NULL, &n);

	f = find(v, n, PW_LINT_DNS_PODSEL_ONLY);
	CHECK(f != NULL);
	if (f) {
		CHECK_STR_CONTAINS(f->msg, "podSelector {k8s-app=kube-dns} alone");
		CHECK_STR_CONTAINS(f->fix, "namespaceSelector");
		CHECK_EQ(f->line, 38); /* the "- podSelector:" line of the peer */
	}
	/* and the pods still have no DNS */
	CHECK_EQ(count(v, n, PW_LINT_EGRESS_NO_DNS), 1);
	free(v);
}

static void t_lint_split_peer(void)
{
	size_t n;
	const struct pw_lint_finding *f;
	struct pw_lint_finding *v = lint(SEED_OBJS DENY_ALL ALLOW_DNS
		"kind: NetworkPolicy\n"
		"metadata: {name: monitoring, namespace: production}\n"
		"spec:\n"
		"  podSelector: {matchLabels: {app: backend}}\n"
		"  ingress:\n"
		"  - from:\n"
		"    - namespaceSelector:\n"
		"        matchLabels: {kubernetes.io/metadata.name: kube-system}\n"
		"    - podSelector:\n"
		"        matchLabels: {k8s-app: kube-dns}\n", NULL, &n);

	f = find(v, n, PW_LINT_SPLIT_PEER);
	CHECK_EQ(count(v, n, PW_LINT_SPLIT_PEER), 1);
	if (f) {
		CHECK_STR_CONTAINS(f->msg, "two peers");
		CHECK_STR_CONTAINS(f->msg, "kube-system");
		CHECK_STR_CONTAINS(f->fix, "one peer");
	}
	free(v);

	/* written as one peer: nothing to say */
	v = lint(SEED_OBJS DENY_ALL ALLOW_DNS
		"kind: NetworkPolicy\n"
		"metadata: {name: monitoring, namespace: production}\n"
		"spec:\n"
		"  podSelector: {matchLabels: {app: backend}}\n"
		"  ingress:\n"
		"  - from:\n"
		"    - namespaceSelector:\n"
		"        matchLabels: {kubernetes.io/metadata.name: kube-system}\n"
		"      podSelector:\n"
		"        matchLabels: {k8s-app: kube-dns}\n", NULL, &n);
	CHECK_EQ(count(v, n, PW_LINT_SPLIT_PEER), 0);
	free(v);
}

static void t_lint_ipblock_over_pods(void)
{
	size_t n;
	const struct pw_lint_finding *f;
	struct pw_lint_finding *v = lint(SEED_OBJS DENY_ALL ALLOW_DNS
		"kind: NetworkPolicy\n"
		"metadata: {name: to-net, namespace: production}\n"
		"spec:\n"
		"  podSelector: {matchLabels: {app: frontend}}\n"
		"  policyTypes: [Egress]\n"
		"  egress:\n"
		"  - to: [{ipBlock: {cidr: 198.18.0.0/16, except: [198.18.1.12/32]}}]\n"
		"---\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: to-world, namespace: production}\n"
		"spec:\n"
		"  podSelector: {matchLabels: {app: frontend}}\n"
		"  policyTypes: [Egress]\n"
		"  egress:\n"
		"  - to: [{ipBlock: {cidr: 0.0.0.0/0}}, {ipBlock: {cidr: 203.0.113.0/24}}]\n"
		"---\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: to-net-but-pods, namespace: production}\n"
		"spec:\n"
		"  podSelector: {matchLabels: {app: backend}}\n"
		"  policyTypes: [Egress]\n"
		"  egress:\n"
		"  - to: [{ipBlock: {cidr: 198.18.0.0/16, except: [198.18.1.0/24]}}]\n",
		NULL, &n);

	CHECK_EQ(count(v, n, PW_LINT_IPBLOCK_PODS), 1);
	f = find(v, n, PW_LINT_IPBLOCK_PODS);
	if (f) {
		CHECK_STR_CONTAINS(f->msg, "198.18.0.0/16");
		CHECK_STR_CONTAINS(f->msg, "3 pods"); /* postgres is excepted */
		CHECK(!strstr(f->msg, "postgres"));
	}
	free(v);
}

static void t_lint_policy_selects_no_pod(void)
{
	size_t n;
	const struct pw_lint_finding *f;
	struct pw_lint_finding *v = lint(SEED_OBJS DENY_ALL ALLOW_DNS
		"kind: NetworkPolicy\n"
		"metadata: {name: typo, namespace: production}\n"
		"spec: {podSelector: {matchLabels: {app: frontnd}}, policyTypes: [Ingress]}\n",
		NULL, &n);

	CHECK_EQ(count(v, n, PW_LINT_SELECTS_NO_POD), 1);
	f = find(v, n, PW_LINT_SELECTS_NO_POD);
	if (f) {
		CHECK_STR_CONTAINS(f->msg, "production/typo selects no pod");
		CHECK_STR_CONTAINS(f->msg, "app=frontnd");
	}
	free(v);
}

/* the cluster-wide rollout of scripts/demo.sh, egress Deny to what `to` says */
#define CNP_DEFAULT_DENY(to) \
	"apiVersion: policy.networking.k8s.io/v1alpha2\n" \
	"kind: ClusterNetworkPolicy\n" \
	"metadata: {name: default-deny}\n" \
	"spec:\n" \
	"  tier: Baseline\n" \
	"  priority: 100\n" \
	"  subject: {namespaces: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}]}}\n" \
	"  ingress: [{name: deny-all, action: Deny, from: [{namespaces: {}}]}]\n" \
	"  egress: [{name: deny-all, action: Deny, to: [" to "]}]\n" \
	"---\n"
#define CNP_ALLOW_DNS \
	"apiVersion: policy.networking.k8s.io/v1alpha2\n" \
	"kind: ClusterNetworkPolicy\n" \
	"metadata: {name: allow-dns}\n" \
	"spec:\n" \
	"  tier: Admin\n" \
	"  priority: 10\n" \
	"  subject: {namespaces: {}}\n" \
	"  egress:\n" \
	"  - name: cluster-dns\n" \
	"    action: Accept\n" \
	"    to: [{pods: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}}]\n" \
	"    protocols: [{udp: {destinationPort: {number: 53}}}, {tcp: {destinationPort: {number: 53}}}]\n"

static void t_lint_default_deny_by_tiers(void)
{
	size_t n;
	const struct pw_lint_finding *f;
	struct pw_lint_finding *v;

	/* Baseline deny-all + Admin DNS Accept: default-denied, DNS reachable,
	 * also for pods a NetworkPolicy isolates without a DNS rule */
	v = lint(SEED_OBJS PAIRS "---\n" CNP_DEFAULT_DENY("{networks: [0.0.0.0/0, \"::/0\"]}")
		 CNP_ALLOW_DNS, NULL, &n);
	CHECK(n != 999);
	CHECK_EQ(count(v, n, PW_LINT_NO_DEFAULT_DENY), 0);
	CHECK_EQ(count(v, n, PW_LINT_EGRESS_NO_DNS), 0);
	CHECK_EQ(count(v, n, PW_LINT_DNS_TCP), 0);
	CHECK_EQ(count(v, n, PW_LINT_BASELINE_DENY_NO_DNS), 0);
	free(v);
	/* egress denied to namespaces only: addresses outside stay open */
	v = lint(SEED_OBJS PAIRS "---\n" CNP_DEFAULT_DENY("{namespaces: {}}") CNP_ALLOW_DNS,
		 NULL, &n);
	CHECK_EQ(count(v, n, PW_LINT_NO_DEFAULT_DENY), 1);
	f = find(v, n, PW_LINT_NO_DEFAULT_DENY);
	if (f) {
		CHECK_STR_CONTAINS(f->msg, "namespace production has 3 pods whose egress");
		CHECK_STR_CONTAINS(f->msg, "not to addresses outside the cluster");
		CHECK_STR_CONTAINS(f->fix, "networks: [0.0.0.0/0");
	}
	free(v);
	/* no DNS Accept: the Baseline deny is named for it */
	v = lint(SEED_OBJS PAIRS "---\n" CNP_DEFAULT_DENY("{networks: [0.0.0.0/0, \"::/0\"]}"),
		 NULL, &n);
	CHECK_EQ(count(v, n, PW_LINT_NO_DEFAULT_DENY), 0);
	CHECK_EQ(count(v, n, PW_LINT_BASELINE_DENY_NO_DNS), 1);
	free(v);
	/* a Baseline deny of another namespace's pods only covers nothing here */
	v = lint(SEED_OBJS PAIRS "---\n"
		 "apiVersion: policy.networking.k8s.io/v1alpha2\n"
		 "kind: ClusterNetworkPolicy\n"
		 "metadata: {name: deny-some}\n"
		 "spec:\n"
		 "  tier: Baseline\n"
		 "  priority: 100\n"
		 "  subject: {namespaces: {}}\n"
		 "  ingress: [{name: d, action: Deny, from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: frontend}}}}]}]\n",
		 NULL, &n);
	f = find(v, n, PW_LINT_NO_DEFAULT_DENY);
	CHECK(f != NULL);
	if (f)
		CHECK_STR_CONTAINS(f->msg, "no default-deny for ingress and egress");
	free(v);
}

/* no DNS pods in the input: an Admin Accept to kube-system's k8s-app=kube-dns
 * is a DNS rule for the pods a NetworkPolicy isolates */
static void t_lint_dns_by_admin_accept_without_dns_pods(void)
{
#define ISOLATED \
	"kind: Pod\n" \
	"metadata: {name: a, namespace: shop, labels: {app: a}}\n" \
	"status: {podIP: 198.18.0.10}\n" \
	"---\n" \
	"kind: NetworkPolicy\n" \
	"metadata: {name: a-out, namespace: shop}\n" \
	"spec: {podSelector: {}, policyTypes: [Egress]}\n" \
	"---\n"
	size_t n;
	struct pw_lint_finding *v = lint(ISOLATED CNP_ALLOW_DNS, NULL, &n);

	CHECK(n != 999);
	CHECK_EQ(count(v, n, PW_LINT_EGRESS_NO_DNS), 0);
	CHECK_EQ(count(v, n, PW_LINT_DNS_TCP), 0);
	free(v);
	v = lint(ISOLATED "kind: ConfigMap\n", NULL, &n);
	CHECK_EQ(count(v, n, PW_LINT_EGRESS_NO_DNS), 1);
	free(v);
#undef ISOLATED
}

static void t_lint_namespace_without_default_deny(void)
{
	struct pw_lint_opts o = { .include_system = true };
	size_t n;
	const struct pw_lint_finding *f;
	struct pw_lint_finding *v = lint(SEED_OBJS PAIRS, NULL, &n);

	CHECK_EQ(count(v, n, PW_LINT_NO_DEFAULT_DENY), 1); /* production; kube-system skipped */
	f = find(v, n, PW_LINT_NO_DEFAULT_DENY);
	if (f) {
		CHECK_STR_CONTAINS(f->msg, "namespace production has 3 pods");
		CHECK_STR_CONTAINS(f->fix, "podSelector: {}");
		CHECK_EQ(f->line, 1); /* the Namespace object */
	}
	free(v);
	v = lint(SEED_OBJS PAIRS, &o, &n);
	CHECK_EQ(count(v, n, PW_LINT_NO_DEFAULT_DENY), 2);
	free(v);
	/* ingress only: egress is still reported */
	v = lint(SEED_OBJS
		 "kind: NetworkPolicy\n"
		 "metadata: {name: deny-in, namespace: production}\n"
		 "spec: {podSelector: {}}\n", NULL, &n);
	f = find(v, n, PW_LINT_NO_DEFAULT_DENY);
	CHECK(f != NULL);
	if (f)
		CHECK_STR_CONTAINS(f->msg, "no default-deny for egress");
	free(v);
}

static void t_lint_disable(void)
{
	struct pw_lint_opts o = { .disabled = 1u << PW_LINT_EGRESS_NO_DNS };
	size_t n;
	struct pw_lint_finding *v = lint(SEED_OBJS DENY_ALL PAIRS, &o, &n);

	CHECK_EQ(n, 0);
	free(v);
	CHECK_EQ(pw_lint_rule_parse("split-peer"), PW_LINT_SPLIT_PEER);
	CHECK_EQ(pw_lint_rule_parse("nope"), -1);
}

/* ----------------------------------------------------------- loaded, why */

static struct pw_cluster *seed(struct pw_state *s, struct pw_loaded *l)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_compile(SEED_OBJS DENY_ALL ALLOW_DNS PAIRS, NULL, s, &err);

	memset(l, 0, sizeof(*l));
	if (c && pw_loaded_build(s, c, NULL, false, l)) {
		pw_cluster_free(c);
		return NULL;
	}
	return c;
}

static void t_loaded_model(void)
{
	struct pw_state s;
	struct pw_loaded l;
	struct pw_cluster *c = seed(&s, &l);
	uint8_t a[16];
	bool v4;
	const struct pw_ld_svc *sv;
	const struct pw_ld_ep *ep;
	char buf[128];

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_EQ(l.n_eps, 4);
	CHECK_EQ(l.n_pods, 4);
	pw_ip_parse("198.18.1.11", a, &v4);
	CHECK(pw_ld_pod_by_addr(&l, a) && !strcmp(pw_ld_pod_by_addr(&l, a)->pod, "production/backend"));
	CHECK_STR_CONTAINS(pw_ld_name_addr(&l, a, 0, buf, sizeof(buf)), "production/backend");
	pw_ip_parse("198.19.255.10", a, &v4);
	sv = pw_ld_svc_by_addr(&l, a);
	CHECK(sv != NULL);
	if (sv) {
		CHECK_EQ(sv->n_backends, 1);
		CHECK(sv->n_backends && !strcmp(sv->backends[0], "kube-system/coredns"));
	}
	ep = pw_ld_ep_by_name(&l, "production/frontend");
	CHECK(ep != NULL);
	if (ep) {
		CHECK_EQ(ep->n_policies[PW_DIR_INGRESS], 1);
		CHECK_EQ(ep->n_policies[PW_DIR_EGRESS], 3);
		CHECK(pw_ld_pod_by_name(&l, "kube-system/coredns")->dns);
	}
	CHECK_EQ(l.n_rules, s.n_rules);
	for (size_t i = 0; i < l.n_rules; i++)
		CHECK(l.rules[i].where && !strncmp(l.rules[i].where, "t.yaml:", 7));
	CHECK_STR_CONTAINS(pw_ld_name_id(&l, PW_ID_WORLD, buf, sizeof(buf)), "world");
	pw_loaded_free(&l);
	pw_state_free(&s);
	pw_cluster_free(c);
}

/* The step the datapath takes for ep in dir (the userspace lookup, as the kernel does). */
static void emulate(const struct pw_state *s, const struct pw_state_ep *ep, uint8_t dir,
		    const char *peer_ip, uint8_t proto, uint16_t port, struct pw_probe_result *r)
{
	struct pw_probe_step st = { .prog = dir == PW_DIR_EGRESS ? PW_PROBE_FROM_POD : PW_PROBE_TO_POD,
				    .dir = dir, .has_event = true, .ep_id = ep->ep_id };
	struct pw_ipcache_val v;
	struct pw_policy_val pv;
	uint8_t a[16];
	bool v4;
	uint32_t bit = dir == PW_DIR_EGRESS ? PW_EP_ISOLATED_EGRESS : PW_EP_ISOLATED_INGRESS;

	pw_ip_parse(peer_ip, a, &v4);
	pw_state_ipcache_lookup(s, a, &v);
	st.peer_id = v.identity;
	if (!(ep->flags & bit)) {
		st.verdict = PW_VERDICT_ALLOW;
		st.reason = PW_REASON_NOT_ISOLATED;
	} else if (pw_state_policy_lookup(s, ep->ep_id, dir, v.identity, proto, port, &pv)) {
		st.verdict = PW_VERDICT_ALLOW;
		st.reason = PW_REASON_NONE;
		st.rule_id = pv.rule_id;
	} else {
		st.verdict = PW_VERDICT_DROP;
		st.reason = PW_REASON_POLICY_DENIED;
		r->allowed = false;
	}
	r->steps[r->n_steps++] = st;
	if (dir == PW_DIR_EGRESS)
		r->ran_from = true;
	else
		r->ran_to = true;
}

static char *why_text(const char *from, const char *from_ip, const char *to, const char *to_ip,
		      uint16_t port, bool *allowed)
{
	struct pw_state s;
	struct pw_loaded l;
	struct pw_cluster *c = seed(&s, &l);
	struct pw_why w;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	bool v4;

	if (!c)
		return NULL;
	memset(&w, 0, sizeof(w));
	w.proto = IPPROTO_TCP;
	w.port = port;
	w.res.allowed = true;
	snprintf(w.src.name, sizeof(w.src.name), "%s", from);
	snprintf(w.dst.name, sizeof(w.dst.name), "%s", to);
	pw_ip_parse(from_ip, w.src.addr, &v4);
	pw_ip_parse(to_ip, w.dst.addr, &v4);
	w.src.pod = pw_ld_pod_by_name(&l, from);
	w.dst.pod = pw_ld_pod_by_name(&l, to);
	w.src.ep = pw_ld_ep_by_name(&l, from);
	w.dst.ep = pw_ld_ep_by_name(&l, to);
	{
		char ns[64], name[128];

		sscanf(from, "%63[^/]/%127s", ns, name);
		w.src.sep = pw_state_endpoint(&s, ns, name);
		sscanf(to, "%63[^/]/%127s", ns, name);
		w.dst.sep = pw_state_endpoint(&s, ns, name);
	}
	emulate(&s, w.src.sep, PW_DIR_EGRESS, to_ip, IPPROTO_TCP, port, &w.res);
	if (w.res.allowed)
		emulate(&s, w.dst.sep, PW_DIR_INGRESS, from_ip, IPPROTO_TCP, port, &w.res);
	*allowed = pw_why_verdict(&w) == PW_VERDICT_ALLOW;
	f = open_memstream(&text, &len);
	if (f) {
		pw_why_print(f, &w, &l, &s);
		fclose(f);
	}
	pw_loaded_free(&l);
	pw_state_free(&s);
	pw_cluster_free(c);
	return text;
}

static void t_why_names_the_allowing_rules(void)
{
	bool allowed = false;
	char *t = why_text("production/frontend", "198.18.1.10", "production/backend",
			   "198.18.1.11", 8080, &allowed);

	CHECK(allowed);
	CHECK_STR_CONTAINS(t, "production/frontend -> production/backend tcp/8080: ALLOW");
	CHECK_STR_CONTAINS(t, "allowed by rule production/frontend-to-backend-egress egress[0] (t.yaml:");
	CHECK_STR_CONTAINS(t, "allowed by rule production/frontend-to-backend-ingress ingress[0]");
	CHECK_STR_CONTAINS(t, "isolated for egress by production/allow-dns, "
			      "production/default-deny-all, production/frontend-to-backend-egress");
	free(t);
}

static void t_why_denied_lists_what_is_allowed(void)
{
	bool allowed = true;
	char *t = why_text("production/frontend", "198.18.1.10", "production/postgres",
			   "198.18.1.12", 5432, &allowed);

	CHECK(!allowed);
	CHECK_STR_CONTAINS(t, "tcp/5432: DENY");
	CHECK_STR_CONTAINS(t, "egress default-deny, no rule allows it");
	CHECK_STR_CONTAINS(t, "no rule allows tcp/5432; the egress rules of production/frontend are:");
	CHECK_STR_CONTAINS(t, "production/frontend-to-backend-egress egress[0]");
	CHECK_STR_CONTAINS(t, "tcp/8080 to [ns=production app=backend]");
	CHECK_STR_CONTAINS(t, "ingress of production/postgres: not reached");
	free(t);
}

static void t_why_port_words(void)
{
	struct pw_policy_key k = { .proto = IPPROTO_TCP, .port = htons(8080) };
	char buf[64];

	k.prefixlen = PW_POL_PREFIX_FULL;
	pw_why_port_str(&k, buf, sizeof(buf));
	CHECK(!strcmp(buf, "tcp/8080"));
	k.prefixlen = PW_POL_PREFIX_ANY_PORT + 12; /* 8080 = 0x1f90: /12 is 8080-8095 */
	pw_why_port_str(&k, buf, sizeof(buf));
	CHECK(!strcmp(buf, "tcp/8080-8095"));
	k.prefixlen = PW_POL_PREFIX_ANY_PORT;
	pw_why_port_str(&k, buf, sizeof(buf));
	CHECK(!strcmp(buf, "tcp (any port)"));
	k.prefixlen = PW_POL_PREFIX_ANY_PROTO;
	pw_why_port_str(&k, buf, sizeof(buf));
	CHECK(!strcmp(buf, "any protocol"));
	CHECK(!strcmp(pw_reason_text(PW_REASON_DNS_DENIED, PW_DIR_EGRESS),
		      "egress default-deny, no DNS rule"));
	CHECK(!strcmp(pw_reason_name(PW_REASON_POLICY_DENIED), "policy_denied"));
}

int suite_ops(void)
{
	int before = check_n_fail;

	RUN(t_lint_seed_is_clean);
	RUN(t_lint_seed_without_dns_rule_names_it);
	RUN(t_lint_dns_tcp_missing);
	RUN(t_lint_dns_podselector_alone);
	RUN(t_lint_split_peer);
	RUN(t_lint_ipblock_over_pods);
	RUN(t_lint_policy_selects_no_pod);
	RUN(t_lint_namespace_without_default_deny);
	RUN(t_lint_default_deny_by_tiers);
	RUN(t_lint_dns_by_admin_accept_without_dns_pods);
	RUN(t_lint_disable);
	RUN(t_loaded_model);
	RUN(t_why_names_the_allowing_rules);
	RUN(t_why_denied_lists_what_is_allowed);
	RUN(t_why_port_words);
	return check_n_fail - before;
}
