/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * lint for ClusterNetworkPolicy tiers (lint.h), judged on compiled states
 * so that the answer is the datapath's:
 *   admin-deny-shadows-allow   a NetworkPolicy rule none of whose
 *                              connections survives an Admin tier Deny;
 *   baseline-deny-without-dns  a Baseline policy that denies a pod's egress
 *                              to the cluster DNS (a default-deny with no
 *                              DNS Accept before it);
 *   equal-priority-overlap     two policies of one tier and priority that
 *                              select a pod in the same direction: the API
 *                              leaves their order to the implementation.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compiler.h"
#include "ops/lint.h"

static const char *const dir_names[2] = { "ingress", "egress" };

/* The ClusterNetworkPolicy of a tier rule (its cluster_policy field). */
static const struct pw_cnp *cnp_of(const struct pw_cluster *c, const struct pw_state_rule *r)
{
	char name[sizeof(r->policy)];

	if (!r->tier)
		return NULL;
	pw_state_rule_cnp(r, name, sizeof(name));
	for (size_t i = 0; i < c->n_cnps; i++)
		if (!strcmp(c->cnps[i].name, name))
			return &c->cnps[i];
	return NULL;
}

static const struct pw_np_rule *np_rule_of(const struct pw_cluster *c,
					   const struct pw_state_rule *r)
{
	for (size_t i = 0; i < c->n_policies; i++) {
		const struct pw_policy *p = &c->policies[i];
		size_t nl = strlen(p->ns);

		if (!strncmp(r->policy, p->ns, nl) && r->policy[nl] == '/' &&
		    !strcmp(r->policy + nl + 1, p->name) && r->rule_index < p->n_rules[r->dir])
			return &p->rules[r->dir][r->rule_index];
	}
	return NULL;
}

static bool is_admin_deny(const struct pw_state *s, const struct pw_policy_val *v)
{
	return (v->flags & PW_POL_DENY) && v->rule_id < s->n_rules &&
	       s->rules[v->rule_id].tier == PW_TIER_ADMIN && s->rules[v->rule_id].action == PW_ACT_DENY;
}

static bool has_rule(const struct pw_state *s, uint32_t ep, uint8_t dir, uint32_t rule)
{
	for (size_t i = 0; i < s->n_pol; i++)
		if (s->pol[i].key.ep_id == ep && s->pol[i].key.dir == dir &&
		    s->pol[i].key.prefixlen != PW_POL_PREFIX_SUMMARY && s->pol[i].val.rule_id == rule)
			return true;
	return false;
}

/*
 * The identity in s of what identity id is in s0: the two compiles may
 * number a pod differently (CIDR groups of the CNP networks are part of a
 * pod's identity), so go through an address that s0 gives id.
 */
static uint32_t same_peer(const struct pw_state *s0, const struct pw_state *s, uint32_t id)
{
	struct pw_ipcache_val v;

	if (id < PW_ID_POD_MIN)
		return id;
	for (size_t i = 0; i < s0->n_ipc; i++)
		if (s0->ipc[i].val.identity == id) {
			pw_state_ipcache_lookup(s, s0->ipc[i].key.addr, &v);
			return v.identity;
		}
	return id;
}

static void dead_allows(const struct pw_cluster *c, const struct pw_state *s,
			const struct pw_compile_opts *copts, pw_lint_add_fn add, void *ctx)
{
	struct pw_cluster np = *c;
	struct pw_state s0;
	bool *said;

	np.cnps = NULL;
	np.n_cnps = 0;
	if (pw_compile(&np, copts, &s0, NULL))
		return;
	said = calloc(s0.n_rules + 1, sizeof(*said));
	for (size_t i = 0; said && i < s0.n_pol; i++) {
		const struct pw_state_pol *e = &s0.pol[i];
		const struct pw_state_ep *ep = NULL;
		const struct pw_state_rule *nr;
		const struct pw_np_rule *rule;
		struct pw_policy_val v;
		struct pw_lint_finding *f;

		if (e->val.rule_id >= s0.n_rules || said[e->val.rule_id] ||
		    has_rule(s, e->key.ep_id, e->key.dir, e->val.rule_id))
			continue;
		for (size_t k = 0; k < s->n_eps && !ep; k++)
			if (s->eps[k].ep_id == e->key.ep_id)
				ep = &s->eps[k];
		/* what decides one of its connections now */
		if (!ep || pw_state_allows(s, ep, e->key.dir, same_peer(&s0, s, e->key.peer_id), e->key.proto,
					   ntohs(e->key.port), &v) || !is_admin_deny(s, &v))
			continue;
		said[e->val.rule_id] = true;
		nr = &s0.rules[e->val.rule_id];
		rule = np_rule_of(c, nr);
		f = add(ctx, PW_LINT_ADMIN_DENY_SHADOWS_ALLOW, rule ? &rule->loc : NULL);
		if (!f)
			continue;
		snprintf(f->msg, sizeof(f->msg), "NetworkPolicy %s %s[%u] allows nothing for pod %s/%s:"
			 " its connections are decided first by %s", nr->policy,
			 dir_names[nr->dir & 1], nr->rule_index, ep->ns, ep->name,
			 s->rules[v.rule_id].policy);
		snprintf(f->fix, sizeof(f->fix), "if the namespace may decide this traffic, add a "
			 "Pass rule for it in the Admin tier before the Deny; else remove the rule");
	}
	free(said);
	pw_state_free(&s0);
}

static void baseline_dns(const struct pw_cluster *c, const struct pw_state *s,
			 pw_lint_add_fn add, void *ctx)
{
	uint32_t dns_id = 0;
	bool *said = calloc(c->n_cnps + 1, sizeof(*said));

	for (size_t i = 0; i < s->n_ipc && !dns_id; i++)
		if (s->ipc[i].val.flags & PW_IPC_DNS)
			dns_id = s->ipc[i].val.identity;
	for (size_t i = 0; said && dns_id && i < s->n_eps; i++) {
		const struct pw_state_ep *ep = &s->eps[i];
		struct pw_policy_val v;
		const struct pw_cnp *cnp;
		struct pw_lint_finding *f;

		if (!(ep->flags & PW_EP_TIERED_EGRESS) || (ep->flags & PW_EP_ISOLATED_EGRESS) ||
		    ep->identity == dns_id ||
		    pw_state_allows(s, ep, PW_DIR_EGRESS, dns_id, IPPROTO_UDP, 53, &v) ||
		    v.rule_id >= s->n_rules || s->rules[v.rule_id].tier != PW_TIER_BASELINE ||
		    !(cnp = cnp_of(c, &s->rules[v.rule_id])) || said[cnp - c->cnps])
			continue;
		said[cnp - c->cnps] = true;
		f = add(ctx, PW_LINT_BASELINE_DENY_NO_DNS, &cnp->loc);
		if (!f)
			continue;
		snprintf(f->msg, sizeof(f->msg), "%s denies egress to the cluster DNS: pods such as "
			 "%s/%s cannot resolve names (no DNS Accept before it)",
			 s->rules[v.rule_id].policy, ep->ns, ep->name);
		snprintf(f->fix, sizeof(f->fix), "add an Accept rule before it (or a Baseline policy of "
			 "lower priority) to the cluster DNS pods on UDP and TCP 53, e.g. to: [{pods: "
			 "{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, "
			 "podSelector: {matchLabels: {k8s-app: kube-dns}}}}]");
	}
	free(said);
}

static bool cnp_selects(const struct pw_cluster *c, const struct pw_cnp *p, const struct pw_pod *pod)
{
	const struct pw_namespace *ns = pw_cluster_namespace(c, pod->ns);
	static const struct pw_labels none;

	return pw_selector_matches(&p->ns_sel, ns ? &ns->labels : &none) &&
	       (!p->subject_pods || pw_selector_matches(&p->pod_sel, &pod->labels));
}

static void priority_ties(const struct pw_cluster *c, pw_lint_add_fn add, void *ctx)
{
	for (size_t i = 0; i < c->n_cnps; i++)
		for (size_t j = i + 1; j < c->n_cnps; j++) {
			const struct pw_cnp *a = &c->cnps[i], *b = &c->cnps[j];
			const struct pw_pod *both = NULL;
			struct pw_lint_finding *f;
			int d;

			if (a->tier != b->tier || a->priority != b->priority)
				continue;
			for (d = 0; d < 2 && !(a->n_rules[d] && b->n_rules[d]); d++)
				;
			if (d == 2)
				continue;
			for (size_t k = 0; k < c->n_pods && !both; k++)
				if (cnp_selects(c, a, &c->pods[k]) && cnp_selects(c, b, &c->pods[k]))
					both = &c->pods[k];
			if (!both || !(f = add(ctx, PW_LINT_EQUAL_PRIORITY_OVERLAP, &b->loc)))
				continue;
			snprintf(f->msg, sizeof(f->msg), "ClusterNetworkPolicies %s and %s are both %s tier "
				 "priority %d and both have %s rules for pod %s/%s: the API leaves their "
				 "order to the implementation (podwall applies %s first, by name)", a->name,
				 b->name, a->tier == PW_TIER_ADMIN ? "Admin" : "Baseline", a->priority,
				 dir_names[d], both->ns, both->name, a->name);
			snprintf(f->fix, sizeof(f->fix), "give one of them another priority");
		}
}

void pw_lint_tiers(const struct pw_cluster *c, const struct pw_state *s,
		   const struct pw_compile_opts *copts, pw_lint_add_fn add, void *ctx)
{
	if (!c->n_cnps)
		return;
	dead_allows(c, s, copts, add, ctx);
	baseline_dns(c, s, add, ctx);
	priority_ties(c, add, ctx);
}

/* ------------------------------------------------ default-deny by the tiers */

/*
 * The probe: the cluster again with one more namespace (a name that sorts
 * after every valid one, so the arrays stay sorted) holding one pod with no
 * labels, compiled. Only empty selectors (namespaces: {}, NotIn, ...) and
 * networks select it: what it gets is what a pod no rule names gets.
 */
#define NS_NAME_LABEL "kubernetes.io/metadata.name"
#define PROBE_NS  "~podwall-lint-probe"
#define PROBE_POD "unnamed"

struct pw_tier_probe {
	struct pw_state s;
	uint32_t        pod_id;
	uint32_t        ext_id[2];   /* 192.0.2.1, 2001:db8::1: outside the cluster */
};

static uint32_t identity_of(const struct pw_state *s, const uint8_t addr[16])
{
	struct pw_ipcache_val v;

	pw_state_ipcache_lookup(s, addr, &v);
	return v.identity;
}

struct pw_tier_probe *pw_tier_probe_new(const struct pw_cluster *c,
					const struct pw_compile_opts *copts)
{
	static const uint8_t pod_ip[16] = { [10] = 0xff, [11] = 0xff, 198, 19, 255, 254 };
	static const uint8_t ext4[16] = { [10] = 0xff, [11] = 0xff, 192, 0, 2, 1 };
	static const uint8_t ext6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct pw_label name_label = { (char *)NS_NAME_LABEL, (char *)PROBE_NS };
	struct pw_cluster pc = *c;
	struct pw_tier_probe *p = calloc(1, sizeof(*p));
	struct pw_namespace *nss = calloc(c->n_namespaces + 1, sizeof(*nss));
	struct pw_pod *pods = calloc(c->n_pods + 1, sizeof(*pods));
	int ret = -ENOMEM;

	if (p && nss && pods) {
		memcpy(nss, c->namespaces, c->n_namespaces * sizeof(*nss));
		memcpy(pods, c->pods, c->n_pods * sizeof(*pods));
		nss[c->n_namespaces] = (struct pw_namespace){
			.name = (char *)PROBE_NS, .labels = { &name_label, 1 } };
		pods[c->n_pods] = (struct pw_pod){ .ns = (char *)PROBE_NS, .name = (char *)PROBE_POD,
						   .n_ips = 1 };
		memcpy(pods[c->n_pods].ips[0], pod_ip, 16);
		pc.namespaces = nss;
		pc.n_namespaces++;
		pc.pods = pods;
		pc.n_pods++;
		ret = pw_compile(&pc, copts, &p->s, NULL);
	}
	free(nss);
	free(pods);
	if (ret) {
		free(p);
		return NULL;
	}
	p->pod_id = identity_of(&p->s, pod_ip);
	p->ext_id[0] = identity_of(&p->s, ext4);
	p->ext_id[1] = identity_of(&p->s, ext6);
	return p;
}

/* Is peer denied for ep in dir, on a port no rule is likely to name? */
static bool probe_denied(const struct pw_state *s, const struct pw_state_ep *ep, int dir,
			 uint32_t peer)
{
	return !pw_state_allows(s, ep, dir, peer, IPPROTO_TCP, 1, NULL) &&
	       !pw_state_allows(s, ep, dir, peer, IPPROTO_UDP, 1, NULL);
}

enum pw_tier_cover pw_tier_probe_ns(const struct pw_tier_probe *p, const struct pw_cluster *c,
				    const char *ns, int dir)
{
	enum pw_tier_cover cover = PW_COVER_ALL;

	for (size_t k = 0; p && k < c->n_pods; k++) {
		const struct pw_state_ep *ep;

		if (strcmp(c->pods[k].ns, ns))
			continue;
		ep = pw_state_endpoint(&p->s, ns, c->pods[k].name);
		if (!ep || !probe_denied(&p->s, ep, dir, p->pod_id))
			return PW_COVER_NONE;
		if (dir == PW_DIR_EGRESS && (!probe_denied(&p->s, ep, dir, p->ext_id[0]) ||
					     !probe_denied(&p->s, ep, dir, p->ext_id[1])))
			cover = PW_COVER_PODS;
	}
	return p ? cover : PW_COVER_NONE;
}

void pw_tier_probe_free(struct pw_tier_probe *p)
{
	if (!p)
		return;
	pw_state_free(&p->s);
	free(p);
}
