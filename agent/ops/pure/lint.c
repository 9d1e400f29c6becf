/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * lint: the mistakes that break clusters (lint.h). No syscalls.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compiler.h"
#include "k8s/ip.h"
#include "ops/lint.h"

#define MAX_NAMES 4
#define NS_NAME_LABEL "kubernetes.io/metadata.name"

const char *const pw_lint_rule_names[PW_LINT_MAX] = {
	[PW_LINT_NO_DEFAULT_DENY] = "no-default-deny",
	[PW_LINT_EGRESS_NO_DNS]   = "egress-without-dns",
	[PW_LINT_DNS_TCP]         = "dns-tcp-missing",
	[PW_LINT_DNS_PODSEL_ONLY] = "dns-podselector-only",
	[PW_LINT_SPLIT_PEER]      = "split-peer",
	[PW_LINT_IPBLOCK_PODS]    = "ipblock-covers-pods",
	[PW_LINT_SELECTS_NO_POD]  = "selects-no-pod",
	[PW_LINT_TYPES_IGNORE_RULES]       = "policy-types-ignore-rules",
	[PW_LINT_EGRESS_ONLY_CUTS_INGRESS] = "egress-only-cuts-ingress",
	[PW_LINT_NAMED_PORT_UNDEFINED]     = "named-port-undefined",
	[PW_LINT_PEER_SELECTS_NOTHING]     = "peer-selects-nothing",
	[PW_LINT_ADMIN_DENY_SHADOWS_ALLOW] = "admin-deny-shadows-allow",
	[PW_LINT_BASELINE_DENY_NO_DNS]     = "baseline-deny-without-dns",
	[PW_LINT_EQUAL_PRIORITY_OVERLAP]   = "equal-priority-overlap",
};

int pw_lint_rule_parse(const char *name)
{
	for (int i = 0; i < PW_LINT_MAX; i++)
		if (!strcmp(name, pw_lint_rule_names[i]))
			return i;
	return -1;
}

struct lctx {
	const struct pw_cluster   *c;
	const struct pw_lint_opts *o;
	const char                *dns_ns, *dns_key, *dns_val;
	/* the cluster DNS as a policy repository implies it (no DNS pods in
	 * the input): a pod labelled dns_key=dns_val, its namespace's labels */
	struct pw_label            dns_pod_label, dns_ns_label;
	struct pw_labels           dns_pod_labels, dns_ns_labels;
	struct pw_state            s;
	struct pw_lint_finding    *v;
	size_t                     n, cap;
	bool                       oom;
};

static struct pw_lint_finding *add(struct lctx *x, enum pw_lint_rule rule,
				   const struct pw_loc *loc)
{
	struct pw_lint_finding *f;

	if (x->o->disabled & (1u << rule))
		return NULL;
	if (x->n == x->cap) {
		size_t nc = x->cap ? x->cap * 2 : 16;
		struct pw_lint_finding *nv = realloc(x->v, nc * sizeof(*nv));

		if (!nv) {
			x->oom = true;
			return NULL;
		}
		x->v = nv;
		x->cap = nc;
	}
	f = &x->v[x->n++];
	memset(f, 0, sizeof(*f));
	f->rule = rule;
	if (loc) {
		f->file = loc->file;
		f->line = loc->line;
	}
	return f;
}

/* append to a fixed buffer */
static struct pw_lint_finding *add_cb(void *ctx, enum pw_lint_rule rule, const struct pw_loc *loc)
{
	return add(ctx, rule, loc);
}

static void cat(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

static const char *proto_name_of(uint8_t p)
{
	return p == IPPROTO_UDP ? "UDP" : p == IPPROTO_SCTP ? "SCTP" : "TCP";
}

static bool is_system(const char *ns)
{
	return !strcmp(ns, "kube-system") || !strcmp(ns, "kube-public") ||
	       !strcmp(ns, "kube-node-lease");
}

static const char *label(const struct pw_labels *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].key, key))
			return l->v[i].value;
	return NULL;
}

static bool sel_empty(const struct pw_selector *s)
{
	return !s->present || (!s->match_labels.n && !s->n_exprs);
}

static const char *op_name(enum pw_sel_op op)
{
	switch (op) {
	case PW_SEL_IN:             return "In";
	case PW_SEL_NOT_IN:         return "NotIn";
	case PW_SEL_EXISTS:         return "Exists";
	case PW_SEL_DOES_NOT_EXIST: return "DoesNotExist";
	default:                    return "?";
	}
}

static void sel_str(const struct pw_selector *s, char *buf, size_t len)
{
	buf[0] = 0;
	cat(buf, len, "{");
	for (size_t i = 0; s->present && i < s->match_labels.n; i++)
		cat(buf, len, "%s%s=%s", i ? ", " : "", s->match_labels.v[i].key,
		    s->match_labels.v[i].value);
	for (size_t i = 0; s->present && i < s->n_exprs; i++) {
		const struct pw_sel_req *r = &s->exprs[i];

		cat(buf, len, "%s%s %s", i || s->match_labels.n ? ", " : "", r->key, op_name(r->op));
		if (r->n_values) {
			cat(buf, len, " (");
			for (size_t k = 0; k < r->n_values; k++)
				cat(buf, len, "%s%s", k ? "," : "", r->values[k]);
			cat(buf, len, ")");
		}
	}
	cat(buf, len, "}");
}

static bool is_dns_pod(const struct lctx *x, const struct pw_pod *p)
{
	const char *v = label(&p->labels, x->dns_key);

	return !strcmp(p->ns, x->dns_ns) && v && !strcmp(v, x->dns_val);
}

static size_t count_dns_pods(const struct lctx *x)
{
	size_t n = 0;

	for (size_t i = 0; i < x->c->n_pods; i++)
		n += is_dns_pod(x, &x->c->pods[i]);
	return n;
}

static const struct pw_labels *ns_labels(const struct lctx *x, const char *ns)
{
	static const struct pw_labels none;
	const struct pw_namespace *n = pw_cluster_namespace(x->c, ns);

	return n ? &n->labels : &none;
}

static bool selects(const struct pw_policy *pol, const struct pw_pod *pod)
{
	return !strcmp(pol->ns, pod->ns) && pw_selector_matches(&pol->pod_sel, &pod->labels);
}

/* "a, b, c and 3 more" of pod names */
static void names_list(char *buf, size_t len, const char *const *names, size_t n)
{
	buf[0] = 0;
	for (size_t i = 0; i < n && i < MAX_NAMES; i++)
		cat(buf, len, "%s%s", i ? (i + 1 == n ? " and " : ", ") : "", names[i]);
	if (n > MAX_NAMES)
		cat(buf, len, " and %zu more", n - MAX_NAMES);
}

/* ------------------------------------------------------- no-default-deny */

/*
 * With ClusterNetworkPolicies a namespace may be default-denied the
 * cluster-wide way (a Baseline Deny): what the compiled state does to a
 * peer no rule names decides, per direction NetworkPolicy leaves open.
 * Egress denied to pods but not outside the cluster is still a finding,
 * with what is open. Without them, only NetworkPolicy (the output of old).
 */
static void lint_default_deny(struct lctx *x, const struct pw_compile_opts *copts)
{
	const struct pw_cluster *c = x->c;
	struct pw_tier_probe *probe = c->n_cnps ? pw_tier_probe_new(c, copts) : NULL;

	for (size_t i = 0; i < c->n_namespaces; i++) {
		const struct pw_namespace *ns = &c->namespaces[i];
		const struct pw_pod *first = NULL;
		size_t n_pods = 0;
		bool dd[2] = { false, false };
		enum pw_tier_cover cover[2] = { PW_COVER_NONE, PW_COVER_NONE };
		struct pw_lint_finding *f;
		const char *which;

		if (is_system(ns->name) && !x->o->include_system)
			continue;
		for (size_t k = 0; k < c->n_pods; k++)
			if (!strcmp(c->pods[k].ns, ns->name)) {
				n_pods++;
				if (!first)
					first = &c->pods[k];
			}
		if (!n_pods)
			continue;
		for (size_t p = 0; p < c->n_policies; p++) {
			const struct pw_policy *pol = &c->policies[p];

			if (strcmp(pol->ns, ns->name) || !sel_empty(&pol->pod_sel))
				continue;
			for (int d = 0; d < 2; d++)
				dd[d] |= pol->types[d];
		}
		for (int d = 0; d < 2 && probe; d++)
			if (!dd[d])
				cover[d] = pw_tier_probe_ns(probe, c, ns->name, d);
		dd[0] |= cover[0] == PW_COVER_ALL;
		dd[1] |= cover[1] == PW_COVER_ALL;
		if (dd[0] && dd[1])
			continue;
		f = add(x, PW_LINT_NO_DEFAULT_DENY, ns->loc.file ? &ns->loc : &first->loc);
		if (!f)
			continue;
		if (cover[1] == PW_COVER_PODS) {
			/* the tiers deny egress to pods, not outside the cluster */
			snprintf(f->msg, sizeof(f->msg),
				 "namespace %s has %zu pod%s whose egress the ClusterNetworkPolicy "
				 "tiers deny to pods but not to addresses outside the cluster (such "
				 "as 192.0.2.1, 2001:db8::1)%s: a Deny to namespaces or pods leaves "
				 "them open", ns->name, n_pods, n_pods == 1 ? "" : "s",
				 !dd[0] ? ", and nothing denies their ingress by default" : "");
			snprintf(f->fix, sizeof(f->fix),
				 "add networks: [0.0.0.0/0, \"::/0\"] to the default-deny "
				 "ClusterNetworkPolicy's egress Deny (or a NetworkPolicy default-deny "
				 "with podSelector {} and policyTypes [%s] in %s)",
				 !dd[0] ? "Ingress, Egress" : "Egress", ns->name);
			continue;
		}
		which = !dd[0] && !dd[1] ? "Ingress, Egress" : !dd[0] ? "Ingress" : "Egress";
		snprintf(f->msg, sizeof(f->msg),
			 "namespace %s has %zu pod%s and no default-deny for %s (a policy with "
			 "podSelector {}): a pod that no policy selects accepts%s any traffic",
			 ns->name, n_pods, n_pods == 1 ? "" : "s",
			 !dd[0] && !dd[1] ? "ingress and egress" : !dd[0] ? "ingress" : "egress",
			 !dd[0] && !dd[1] ? " and sends" : !dd[0] ? "" : " (sends)");
		snprintf(f->fix, sizeof(f->fix),
			 "add a default-deny policy, then allow what each pod needs (DNS first):\n"
			 "apiVersion: networking.k8s.io/v1\n"
			 "kind: NetworkPolicy\n"
			 "metadata:\n"
			 "  name: default-deny\n"
			 "  namespace: %s\n"
			 "spec:\n"
			 "  podSelector: {}\n"
			 "  policyTypes: [%s]", ns->name, which);
	}
	pw_tier_probe_free(probe);
}

/* ------------------------------------------------------- egress and DNS */

/* the policy that isolates pod for egress: a default-deny if there is one */
static const struct pw_policy *egress_isolator(const struct lctx *x, const struct pw_pod *pod)
{
	const struct pw_policy *best = NULL;

	for (size_t p = 0; p < x->c->n_policies; p++) {
		const struct pw_policy *pol = &x->c->policies[p];

		if (!pol->types[PW_DIR_EGRESS] || !selects(pol, pod))
			continue;
		if (sel_empty(&pol->pod_sel) && !pol->n_rules[PW_DIR_EGRESS])
			return pol;
		if (!best || (sel_empty(&pol->pod_sel) && !sel_empty(&best->pod_sel)))
			best = pol;
	}
	return best;
}

static void dns_fix(const struct lctx *x, const char *ns, bool tcp_only, char *buf, size_t len)
{
	snprintf(buf, len,
		 "%s\n"
		 "apiVersion: networking.k8s.io/v1\n"
		 "kind: NetworkPolicy\n"
		 "metadata:\n"
		 "  name: allow-dns\n"
		 "  namespace: %s\n"
		 "spec:\n"
		 "  podSelector: {}\n"
		 "  policyTypes: [Egress]\n"
		 "  egress:\n"
		 "  - to:\n"
		 "    - namespaceSelector:\n"
		 "        matchLabels:\n"
		 "          " NS_NAME_LABEL ": %s\n"
		 "      podSelector:\n"
		 "        matchLabels:\n"
		 "          %s: %s\n"
		 "    ports:\n"
		 "    - {protocol: UDP, port: 53}\n"
		 "    - {protocol: TCP, port: 53}\n"
		 "(or run the agent with --dns auto)",
		 tcp_only ? "allow TCP/53 next to UDP/53 in the DNS rule, e.g.:"
			  : "add the missing DNS rule (namespaceSelector AND podSelector in ONE peer):",
		 ns, x->dns_ns, x->dns_key, x->dns_val);
}

/* The labels of the DNS namespace: its Namespace object's, else its name label. */
static const struct pw_labels *dns_ns_labels(const struct lctx *x)
{
	const struct pw_namespace *ns = pw_cluster_namespace(x->c, x->dns_ns);

	return ns ? &ns->labels : &x->dns_ns_labels;
}

/* Would peer p of policy pol select the cluster DNS pods (as the input
 * does not show them)? */
static bool peer_has_dns(const struct lctx *x, const struct pw_policy *pol,
			 const struct pw_np_peer *p)
{
	if (p->kind == PW_PEER_IPBLOCK)  /* 0.0.0.0/0, ::/0: every address */
		return p->cidr.len == (p->cidr.is_v4 ? 96 : 0);
	if (!p->ns_sel.present ? strcmp(pol->ns, x->dns_ns) != 0
			       : !pw_selector_matches(&p->ns_sel, dns_ns_labels(x)))
		return false;
	return pw_selector_matches(&p->pod_sel, &x->dns_pod_labels);
}

/* Does a port of rule r let proto/53 through? (CoreDNS names its ports dns
 * and dns-tcp) */
static bool port_has_53(const struct pw_np_port *p, uint8_t proto)
{
	if (p->proto != proto)
		return false;
	if (!p->has_port)
		return true;
	if (p->named)
		return !strcmp(p->named, proto == IPPROTO_UDP ? "dns" : "dns-tcp");
	return p->port == 53 || (p->end_port && p->port <= 53 && p->end_port >= 53);
}

/* Does an egress rule of a policy in force for pod let it reach the
 * cluster DNS on proto/53, by the rules' selectors alone? */
static bool rules_reach_dns(const struct lctx *x, const struct pw_pod *pod, uint8_t proto)
{
	for (size_t p = 0; p < x->c->n_policies; p++) {
		const struct pw_policy *pol = &x->c->policies[p];

		if (!pol->types[PW_DIR_EGRESS] || !selects(pol, pod))
			continue;
		for (size_t r = 0; r < pol->n_rules[PW_DIR_EGRESS]; r++) {
			const struct pw_np_rule *rule = &pol->rules[PW_DIR_EGRESS][r];
			bool port = !rule->n_ports, peer = !rule->n_peers;

			for (size_t k = 0; k < rule->n_ports && !port; k++)
				port = port_has_53(&rule->ports[k], proto);
			for (size_t k = 0; k < rule->n_peers && !peer; k++)
				peer = peer_has_dns(x, pol, &rule->peers[k]);
			if (port && peer)
				return true;
		}
	}
	return false;
}

/* Does an Admin tier Accept for pod let it reach the cluster DNS on
 * proto/53, by the selectors alone (no DNS pods in the input to compile)?
 * Admin decides before NetworkPolicy, so its Accept is enough. */
static bool admin_reaches_dns(const struct lctx *x, const struct pw_pod *pod, uint8_t proto)
{
	for (size_t i = 0; i < x->c->n_cnps; i++) {
		const struct pw_cnp *p = &x->c->cnps[i];

		if (p->tier != PW_TIER_ADMIN || !pw_selector_matches(&p->ns_sel, ns_labels(x, pod->ns)) ||
		    (p->subject_pods && !pw_selector_matches(&p->pod_sel, &pod->labels)))
			continue;
		for (size_t r = 0; r < p->n_rules[PW_DIR_EGRESS]; r++) {
			const struct pw_cnp_rule *rule = &p->rules[PW_DIR_EGRESS][r];
			bool port = !rule->n_ports, peer = false;

			if (rule->action != PW_ACT_ACCEPT)
				continue;
			for (size_t k = 0; k < rule->n_ports && !port; k++)
				port = port_has_53(&rule->ports[k], proto);
			for (size_t k = 0; k < rule->n_peers && !peer; k++) {
				const struct pw_cnp_peer *q = &rule->peers[k];

				if (q->kind == PW_CNP_NAMESPACES || q->kind == PW_CNP_PODS)
					peer = pw_selector_matches(&q->ns_sel, dns_ns_labels(x)) &&
					       (q->kind == PW_CNP_NAMESPACES ||
						pw_selector_matches(&q->pod_sel, &x->dns_pod_labels));
				for (size_t j = 0; q->kind == PW_CNP_NETWORKS && j < q->n_cidrs; j++)
					peer |= q->cidrs[j].len == 0 || q->cidrs[j].len == 96;
			}
			if (port && peer)
				return true;
		}
	}
	return false;
}

static void lint_dns(struct lctx *x)
{
	const struct pw_cluster *c = x->c;
	size_t n_dns = count_dns_pods(x);
	const char **udp = calloc(x->s.n_eps + 1, sizeof(char *));
	const char **tcp = calloc(x->s.n_eps + 1, sizeof(char *));
	char (*names)[320] = calloc(x->s.n_eps + 1, sizeof(*names));
	char dns_desc[400] = "";

	if (!udp || !tcp || !names) {
		x->oom = true;
		goto out;
	}
	{
		const char *dn[MAX_NAMES + 1];
		size_t k = 0, total = 0;

		for (size_t i = 0; i < c->n_pods; i++)
			if (is_dns_pod(x, &c->pods[i])) {
				if (k < MAX_NAMES + 1) {
					snprintf(names[k], sizeof(names[0]), "%s/%s", c->pods[i].ns,
						 c->pods[i].name);
					dn[k] = names[k];
					k++;
				}
				total++;
			}
		if (total) {
			char list[360];

			names_list(list, sizeof(list), dn, k < total ? k : total);
			snprintf(dns_desc, sizeof(dns_desc), "the cluster DNS (%s)", list);
		} else {
			snprintf(dns_desc, sizeof(dns_desc), "any DNS server (no cluster DNS pods, "
				 "namespace %s label %s=%s, in the input)", x->dns_ns, x->dns_key,
				 x->dns_val);
		}
	}

	for (size_t i = 0; i < c->n_namespaces; i++) {
		const char *ns = c->namespaces[i].name;
		const struct pw_pod *first_udp = NULL, *first_tcp = NULL;
		size_t nu = 0, nt = 0, base = 0;

		if (is_system(ns) && !x->o->include_system)
			continue;
		for (size_t e = 0; e < x->s.n_eps; e++) {
			const struct pw_state_ep *ep = &x->s.eps[e];
			const struct pw_pod *pod;

			if (strcmp(ep->ns, ns) || !(ep->flags & PW_EP_ISOLATED_EGRESS))
				continue;
			pod = pw_cluster_pod(c, ep->ns, ep->name);
			if (!pod || (n_dns && is_dns_pod(x, pod)))
				continue;
			snprintf(names[base], sizeof(names[0]), "%s/%s", ep->ns, ep->name);
			/* with DNS pods, what the compiled state says; without,
			 * what the rules' selectors would select */
			if (n_dns ? !(ep->dns_flags & PW_DNS_POLICY_UDP)
				  : !rules_reach_dns(x, pod, IPPROTO_UDP) &&
				    !admin_reaches_dns(x, pod, IPPROTO_UDP)) {
				udp[nu++] = names[base];
				if (!first_udp)
					first_udp = pod;
			} else if (n_dns ? !(ep->dns_flags & PW_DNS_POLICY_TCP)
					 : !rules_reach_dns(x, pod, IPPROTO_TCP) &&
					   !admin_reaches_dns(x, pod, IPPROTO_TCP)) {
				tcp[nt++] = names[base];
				if (!first_tcp)
					first_tcp = pod;
			}
			base++;
		}
		if (nu) {
			const struct pw_policy *iso = egress_isolator(x, first_udp);
			struct pw_lint_finding *f = add(x, PW_LINT_EGRESS_NO_DNS,
							iso ? &iso->loc : &first_udp->loc);
			char list[700];

			if (f) {
				names_list(list, sizeof(list), udp, nu);
				snprintf(f->msg, sizeof(f->msg),
					 "no DNS rule: %s %s isolated for egress%s%s%s%s%s but no egress "
					 "rule lets %s reach %s on UDP/53: name resolution fails there",
					 list, nu == 1 ? "is" : "are", iso ? " (by " : "",
					 iso ? iso->ns : "", iso ? "/" : "", iso ? iso->name : "",
					 iso ? ")" : "", nu == 1 ? "it" : "them", dns_desc);
				dns_fix(x, ns, false, f->fix, sizeof(f->fix));
			}
		}
		if (nt) {
			const struct pw_policy *iso = egress_isolator(x, first_tcp);
			struct pw_lint_finding *f = add(x, PW_LINT_DNS_TCP,
							iso ? &iso->loc : &first_tcp->loc);
			char list[700];

			if (f) {
				names_list(list, sizeof(list), tcp, nt);
				snprintf(f->msg, sizeof(f->msg),
					 "%s may reach %s on UDP/53 but not on TCP/53: answers too "
					 "large for UDP (truncated, retried over TCP) fail", list,
					 dns_desc);
				dns_fix(x, ns, true, f->fix, sizeof(f->fix));
			}
		}
	}
out:
	free(udp);
	free(tcp);
	free(names);
}

/* ------------------------------------------------------- dns-podselector-only */

static bool rule_has_53(const struct pw_np_rule *r)
{
	if (!r->n_ports)
		return true;
	for (size_t i = 0; i < r->n_ports; i++) {
		const struct pw_np_port *p = &r->ports[i];

		if (p->proto != IPPROTO_UDP && p->proto != IPPROTO_TCP)
			continue;
		if (!p->has_port)
			return true;
		if (p->named && (!strcmp(p->named, "dns") || !strcmp(p->named, "dns-tcp")))
			return true;
		if (!p->named && (p->port == 53 || (p->end_port && p->port <= 53 &&
						     p->end_port >= 53)))
			return true;
	}
	return false;
}

static void lint_dns_podsel(struct lctx *x)
{
	const struct pw_cluster *c = x->c;
	size_t n_dns = count_dns_pods(x);

	for (size_t p = 0; p < c->n_policies; p++) {
		const struct pw_policy *pol = &c->policies[p];

		if (!pol->types[PW_DIR_EGRESS])
			continue;
		for (size_t r = 0; r < pol->n_rules[PW_DIR_EGRESS]; r++) {
			const struct pw_np_rule *rule = &pol->rules[PW_DIR_EGRESS][r];

			if (!rule_has_53(rule))
				continue;
			for (size_t k = 0; k < rule->n_peers; k++) {
				const struct pw_np_peer *peer = &rule->peers[k];
				bool other = false, own = false;
				struct pw_lint_finding *f;
				char sel[256];

				if (peer->kind != PW_PEER_SELECTOR || peer->ns_sel.present ||
				    !peer->pod_sel.present)
					continue;
				if (n_dns) {
					for (size_t i = 0; i < c->n_pods; i++) {
						const struct pw_pod *pod = &c->pods[i];

						if (!is_dns_pod(x, pod) ||
						    !pw_selector_matches(&peer->pod_sel, &pod->labels))
							continue;
						if (!strcmp(pod->ns, pol->ns))
							own = true;
						else
							other = true;
					}
				} else {
					const char *v = label(&peer->pod_sel.match_labels, x->dns_key);

					other = v && !strcmp(v, x->dns_val) && strcmp(pol->ns, x->dns_ns);
				}
				if (!other || own)
					continue;
				f = add(x, PW_LINT_DNS_PODSEL_ONLY,
					peer->loc.file ? &peer->loc : &rule->loc);
				if (!f)
					continue;
				sel_str(&peer->pod_sel, sel, sizeof(sel));
				snprintf(f->msg, sizeof(f->msg),
					 "policy %s/%s egress[%zu] allows DNS to podSelector %s alone: "
					 "that means pods of namespace %s only, and the DNS pods live "
					 "in %s: DNS stays blocked", pol->ns, pol->name, r, sel, pol->ns,
					 x->dns_ns);
				snprintf(f->fix, sizeof(f->fix),
					 "put a namespaceSelector in the same peer (no '-' before "
					 "podSelector):\n"
					 "    - namespaceSelector:\n"
					 "        matchLabels:\n"
					 "          " NS_NAME_LABEL ": %s\n"
					 "      podSelector:\n"
					 "        matchLabels:\n"
					 "          %s: %s", x->dns_ns, x->dns_key, x->dns_val);
			}
		}
	}
}

/* ------------------------------------------------------- rule walk */

/* A check of one rule: spec.ingress[r] (d 0) or spec.egress[r] (d 1) of pol. */
typedef void (*rule_check_fn)(struct lctx *x, const struct pw_policy *pol, int d, size_t r,
			      const struct pw_np_rule *rule);

/*
 * Every rule of every policy whose policyTypes include its direction (a
 * rule of another direction is not in force), in input order: policy by
 * policy, ingress then egress. The order is the order findings are added.
 */
static void for_each_rule(struct lctx *x, rule_check_fn check)
{
	const struct pw_cluster *c = x->c;

	for (size_t p = 0; p < c->n_policies; p++) {
		const struct pw_policy *pol = &c->policies[p];

		for (int d = 0; d < 2; d++) {
			if (!pol->types[d])
				continue;
			for (size_t r = 0; r < pol->n_rules[d]; r++)
				check(x, pol, d, r, &pol->rules[d][r]);
		}
	}
}

/* ------------------------------------------------------- split-peer */

/* namespaces (names) a namespace selector selects: "a, b" and how many */
static size_t ns_selected(const struct lctx *x, const struct pw_selector *s, char *buf,
			  size_t len, bool *other_than, const char *own)
{
	size_t n = 0;
	const char *v[MAX_NAMES + 1];

	*other_than = false;
	for (size_t i = 0; i < x->c->n_namespaces; i++) {
		const struct pw_namespace *ns = &x->c->namespaces[i];

		if (!pw_selector_matches(s, &ns->labels))
			continue;
		if (strcmp(ns->name, own))
			*other_than = true;
		if (n < MAX_NAMES + 1)
			v[n] = ns->name;
		n++;
	}
	names_list(buf, len, v, n < MAX_NAMES + 1 ? n : MAX_NAMES + 1);
	return n;
}

static void split_peer_rule(struct lctx *x, const struct pw_policy *pol, int d, size_t r,
			    const struct pw_np_rule *rule)
{
	const struct pw_cluster *c = x->c;

	for (size_t k = 0; k + 1 < rule->n_peers; k++) {
		const struct pw_np_peer *a = &rule->peers[k], *b = &rule->peers[k + 1];
		const struct pw_np_peer *nsp, *pp;
		struct pw_lint_finding *f;
		char nss[256], nsl[300], ps[256];
		bool other;
		size_t n_ns;

		if (a->kind != PW_PEER_SELECTOR || b->kind != PW_PEER_SELECTOR)
			continue;
		if (a->ns_sel.present && !a->pod_sel.present &&
		    b->pod_sel.present && !b->ns_sel.present) {
			nsp = a;
			pp = b;
		} else if (b->ns_sel.present && !b->pod_sel.present &&
			   a->pod_sel.present && !a->ns_sel.present) {
			nsp = b;
			pp = a;
		} else {
			continue;
		}
		n_ns = ns_selected(x, &nsp->ns_sel, nsl, sizeof(nsl), &other, pol->ns);
		if (c->n_namespaces > 1 && n_ns && !other)
			continue; /* it selects only the policy's own namespace */
		f = add(x, PW_LINT_SPLIT_PEER, a->loc.file ? &a->loc : &rule->loc);
		if (!f)
			continue;
		sel_str(&nsp->ns_sel, nss, sizeof(nss));
		sel_str(&pp->pod_sel, ps, sizeof(ps));
		snprintf(f->msg, sizeof(f->msg),
			 "policy %s/%s %s[%zu]: namespaceSelector %s (line %d) and "
			 "podSelector %s (line %d) are two peers, OR-ed: they allow "
			 "every pod of %s%s, and pods %s of %s. One peer (AND) was "
			 "probably meant: pods %s in those namespaces",
			 pol->ns, pol->name, d ? "egress" : "ingress", r, nss,
			 nsp->loc.line, ps, pp->loc.line,
			 n_ns ? "namespace(s) " : "the namespaces it selects",
			 n_ns ? nsl : "", ps, pol->ns, ps);
		snprintf(f->fix, sizeof(f->fix),
			 "if pods %s in namespaces %s were meant, make them one peer: "
			 "remove the '-' before the second selector (line %d) and "
			 "indent it under the first:\n"
			 "    - namespaceSelector: %s\n"
			 "      podSelector: %s", ps, nss, b->loc.line, nss, ps);
	}
}

/* ------------------------------------------------------- ipblock-covers-pods */

static bool block_has(const struct pw_np_peer *p, const uint8_t a[16])
{
	if (!pw_cidr_has_addr(&p->cidr, a))
		return false;
	for (size_t i = 0; i < p->n_except; i++)
		if (pw_cidr_has_addr(&p->except[i], a))
			return false;
	return true;
}

static void ipblock_rule(struct lctx *x, const struct pw_policy *pol, int d, size_t r,
			 const struct pw_np_rule *rule)
{
	const struct pw_cluster *c = x->c;

	for (size_t k = 0; k < rule->n_peers; k++) {
		const struct pw_np_peer *peer = &rule->peers[k];
		char names[MAX_NAMES + 1][320], cidr[64], list[1000];
		const char *v[MAX_NAMES + 1];
		size_t n = 0;
		struct pw_lint_finding *f;

		if (peer->kind != PW_PEER_IPBLOCK)
			continue;
		/* 0.0.0.0/0 and ::/0 mean "everywhere", pods included */
		if (peer->cidr.len == (peer->cidr.is_v4 ? 96 : 0))
			continue;
		for (size_t i = 0; i < c->n_pods; i++) {
			const struct pw_pod *pod = &c->pods[i];
			bool hit = false;

			for (size_t a = 0; a < pod->n_ips && !hit; a++)
				hit = block_has(peer, pod->ips[a]);
			if (!hit)
				continue;
			if (n < MAX_NAMES + 1) {
				snprintf(names[n], sizeof(names[0]), "%s/%s", pod->ns, pod->name);
				v[n] = names[n];
			}
			n++;
		}
		if (!n)
			continue;
		f = add(x, PW_LINT_IPBLOCK_PODS, peer->loc.file ? &peer->loc : &rule->loc);
		if (!f)
			continue;
		pw_cidr_format(&peer->cidr, cidr, sizeof(cidr));
		names_list(list, sizeof(list), v, n < MAX_NAMES + 1 ? n : MAX_NAMES + 1);
		if (n > MAX_NAMES + 1)
			cat(list, sizeof(list), " (%zu pods in all)", n);
		snprintf(f->msg, sizeof(f->msg),
			 "policy %s/%s %s[%zu]: ipBlock %s covers the addresses of "
			 "%zu pod%s (%s): ipBlock is meant for addresses outside the "
			 "cluster; pod addresses change, and whether an ipBlock "
			 "matches pod traffic differs between implementations",
			 pol->ns, pol->name, d ? "egress" : "ingress", r, cidr, n,
			 n == 1 ? "" : "s", list);
		snprintf(f->fix, sizeof(f->fix),
			 "select pods with podSelector/namespaceSelector peers, and "
			 "keep the pod range out of the block with except: [<pod "
			 "CIDR>]");
	}
}

/* ------------------------------------------------------- selects-no-pod */

static void lint_selects_none(struct lctx *x)
{
	const struct pw_cluster *c = x->c;

	if (!c->n_pods)
		return; /* policies alone: nothing to say which pods exist */
	for (size_t p = 0; p < c->n_policies; p++) {
		const struct pw_policy *pol = &c->policies[p];
		size_t in_ns = 0, hit = 0;
		struct pw_lint_finding *f;
		char sel[256];

		for (size_t i = 0; i < c->n_pods; i++) {
			if (strcmp(c->pods[i].ns, pol->ns))
				continue;
			in_ns++;
			hit += selects(pol, &c->pods[i]);
		}
		if (hit)
			continue;
		f = add(x, PW_LINT_SELECTS_NO_POD, &pol->loc);
		if (!f)
			continue;
		sel_str(&pol->pod_sel, sel, sizeof(sel));
		if (in_ns)
			snprintf(f->msg, sizeof(f->msg),
				 "policy %s/%s selects no pod: podSelector %s matches none of the "
				 "%zu pod%s of namespace %s, so it changes nothing", pol->ns, pol->name,
				 sel, in_ns, in_ns == 1 ? "" : "s", pol->ns);
		else
			snprintf(f->msg, sizeof(f->msg),
				 "policy %s/%s selects no pod: namespace %s has no pods (is the "
				 "namespace right?)", pol->ns, pol->name, pol->ns);
		snprintf(f->fix, sizeof(f->fix),
			 "check the labels of podSelector %s against the pods' labels (kubectl get "
			 "pods -n %s --show-labels), and metadata.namespace", sel, pol->ns);
	}
	(void)ns_labels;
}

/* ------------------------------------------------------- policyTypes */

static const char *dir_name(int d)
{
	return d ? "egress" : "ingress";
}

static void lint_policy_types(struct lctx *x)
{
	for (size_t p = 0; p < x->c->n_policies; p++) {
		const struct pw_policy *pol = &x->c->policies[p];
		struct pw_lint_finding *f;

		for (int d = 0; d < 2; d++) {
			if (pol->types[d] || !pol->n_rules[d])
				continue;
			/* only a written policyTypes can leave out a direction with rules */
			f = add(x, PW_LINT_TYPES_IGNORE_RULES, &pol->rules[d][0].loc);
			if (!f)
				continue;
			snprintf(f->msg, sizeof(f->msg),
				 "policy %s/%s has %zu %s rule%s but its policyTypes leaves out %s: "
				 "they are not in force (the pods it selects are not isolated for "
				 "%s, and these rules allow nothing)", pol->ns, pol->name,
				 pol->n_rules[d], dir_name(d), pol->n_rules[d] == 1 ? "" : "s",
				 d ? "Egress" : "Ingress", dir_name(d));
			snprintf(f->fix, sizeof(f->fix),
				 "list both directions in policyTypes (or delete the %s rules):\n"
				 "  policyTypes:\n"
				 "  - Ingress\n"
				 "  - Egress", dir_name(d));
		}
		if (!pol->types_given && !pol->n_rules[PW_DIR_INGRESS] &&
		    pol->n_rules[PW_DIR_EGRESS]) {
			f = add(x, PW_LINT_EGRESS_ONLY_CUTS_INGRESS, &pol->loc);
			if (!f)
				continue;
			snprintf(f->msg, sizeof(f->msg),
				 "policy %s/%s has egress rules only and no policyTypes: the API "
				 "server makes it [Ingress, Egress], so the pods it selects are also "
				 "isolated for ingress, with no ingress rule: they accept no traffic",
				 pol->ns, pol->name);
			snprintf(f->fix, sizeof(f->fix),
				 "if only egress was meant, say so in spec (if cutting ingress was "
				 "meant, write policyTypes: [Ingress, Egress]):\n"
				 "  policyTypes:\n"
				 "  - Egress");
		}
	}
}

/* ------------------------------------------------------- named-port-undefined */

static bool pod_has_port(const struct pw_pod *pod, const char *name, uint8_t proto)
{
	for (size_t i = 0; i < pod->n_ports; i++)
		if (pod->ports[i].name && !strcmp(pod->ports[i].name, name) &&
		    pod->ports[i].proto == proto)
			return true;
	return false;
}

/* Is pod one of those a peer of pol selects (selector peers only)? */
static bool peer_selects(const struct lctx *x, const struct pw_policy *pol,
			 const struct pw_np_peer *p, const struct pw_pod *pod)
{
	if (p->kind != PW_PEER_SELECTOR)
		return false;
	if (!p->ns_sel.present ? strcmp(pol->ns, pod->ns) != 0
			       : !pw_selector_matches(&p->ns_sel, ns_labels(x, pod->ns)))
		return false;
	return pw_selector_matches(&p->pod_sel, &pod->labels);
}

/* The pods a named port of rule r applies to: the policy's own pods for
 * ingress, the rule's peers for egress. */
static bool port_pod(const struct lctx *x, const struct pw_policy *pol, int d,
		     const struct pw_np_rule *rule, const struct pw_pod *pod)
{
	if (d == PW_DIR_INGRESS)
		return selects(pol, pod);
	if (!rule->n_peers)
		return true;
	for (size_t k = 0; k < rule->n_peers; k++)
		if (peer_selects(x, pol, &rule->peers[k], pod))
			return true;
	return false;
}

static void named_port_rule(struct lctx *x, const struct pw_policy *pol, int d, size_t r,
			    const struct pw_np_rule *rule)
{
	const struct pw_cluster *c = x->c;

	for (size_t k = 0; k < rule->n_ports; k++) {
		const struct pw_np_port *pt = &rule->ports[k];
		size_t n_pods = 0;
		bool defined = false;
		struct pw_lint_finding *f;

		if (!pt->named)
			continue;
		for (size_t i = 0; i < c->n_pods && !defined; i++) {
			if (!port_pod(x, pol, d, rule, &c->pods[i]))
				continue;
			n_pods++;
			defined = pod_has_port(&c->pods[i], pt->named, pt->proto);
		}
		if (defined || !n_pods)
			continue;  /* no pod to say it: selects-no-pod, peer-selects-nothing */
		f = add(x, PW_LINT_NAMED_PORT_UNDEFINED, &rule->loc);
		if (!f)
			continue;
		snprintf(f->msg, sizeof(f->msg),
			 "policy %s/%s %s[%zu] allows the named port %s/%s, but none of the "
			 "%zu pod%s it applies to (%s) has a container port of that name: "
			 "it allows nothing", pol->ns, pol->name, dir_name(d), r,
			 proto_name_of(pt->proto), pt->named, n_pods, n_pods == 1 ? "" : "s",
			 d ? "the pods its peers select" : "the pods the policy selects");
		snprintf(f->fix, sizeof(f->fix),
			 "name the port in the pods' spec (containers[].ports[].name: %s), or "
			 "write the number:\n"
			 "    ports:\n"
			 "    - protocol: %s\n"
			 "      port: 8080   # the containerPort", pt->named,
			 proto_name_of(pt->proto));
	}
}

/* ------------------------------------------------------- peer-selects-nothing */

static bool is_well_known_ns(const struct lctx *x, const char *name)
{
	return !strcmp(name, x->dns_ns) || is_system(name) || !strcmp(name, "default");
}

/* Does selector s match a namespace the input names, or one every cluster
 * has (kube-system, default... with their name label only)? */
static bool ns_sel_matches_any(const struct lctx *x, const struct pw_selector *s)
{
	static const char *const known[] = { "default", "kube-system", "kube-public",
					     "kube-node-lease" };

	for (size_t i = 0; i < x->c->n_namespaces; i++)
		if (pw_selector_matches(s, &x->c->namespaces[i].labels))
			return true;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]) + 1; i++) {
		const char *name = i < sizeof(known) / sizeof(known[0]) ? known[i] : x->dns_ns;
		struct pw_label l = { (char *)NS_NAME_LABEL, (char *)name };
		struct pw_labels ls = { &l, 1 };

		if (!pw_cluster_namespace(x->c, name) && pw_selector_matches(s, &ls))
			return true;
	}
	return false;
}

static void peer_nothing_rule(struct lctx *x, const struct pw_policy *pol, int d, size_t r,
			      const struct pw_np_rule *rule)
{
	const struct pw_cluster *c = x->c;
	bool have_ns = false;

	for (size_t i = 0; i < c->n_namespaces; i++)
		have_ns |= !c->namespaces[i].implicit;
	for (size_t k = 0; k < rule->n_peers; k++) {
		const struct pw_np_peer *p = &rule->peers[k];
		struct pw_lint_finding *f;
		size_t in_ns = 0, hit = 0;
		char sel[256];
		bool ns_none;

		if (p->kind != PW_PEER_SELECTOR)
			continue;
		ns_none = p->ns_sel.present && !sel_empty(&p->ns_sel) && have_ns &&
			  !ns_sel_matches_any(x, &p->ns_sel);
		if (!ns_none && !sel_empty(&p->pod_sel)) {
			/* only where the input has pods of the namespaces selected */
			for (size_t i = 0; i < c->n_pods; i++) {
				const struct pw_pod *pod = &c->pods[i];

				if (p->ns_sel.present ? !pw_selector_matches(&p->ns_sel,
									   ns_labels(x, pod->ns))
						      : strcmp(pod->ns, pol->ns))
					continue;
				in_ns++;
				hit += pw_selector_matches(&p->pod_sel, &pod->labels);
			}
			/* the cluster DNS the input does not show */
			if (!in_ns || hit || (!count_dns_pods(x) && peer_has_dns(x, pol, p) &&
					      is_well_known_ns(x, x->dns_ns)))
				continue;
		} else if (!ns_none) {
			continue;
		}
		f = add(x, PW_LINT_PEER_SELECTS_NOTHING, p->loc.file ? &p->loc : &rule->loc);
		if (!f)
			continue;
		sel_str(ns_none ? &p->ns_sel : &p->pod_sel, sel, sizeof(sel));
		if (ns_none)
			snprintf(f->msg, sizeof(f->msg),
				 "policy %s/%s %s[%zu]: namespaceSelector %s matches none of the "
				 "%zu namespaces of the input: this peer %s nothing", pol->ns,
				 pol->name, dir_name(d), r, sel, c->n_namespaces,
				 d ? "reaches" : "admits");
		else
			snprintf(f->msg, sizeof(f->msg),
				 "policy %s/%s %s[%zu]: podSelector %s matches none of the %zu pod%s "
				 "of the namespace%s it looks in: this peer %s nothing", pol->ns,
				 pol->name, dir_name(d), r, sel, in_ns, in_ns == 1 ? "" : "s",
				 p->ns_sel.present ? "s" : "", d ? "reaches" : "admits");
		snprintf(f->fix, sizeof(f->fix),
			 "check the selector against the labels (kubectl get %s --show-labels); "
			 "every namespace has its name as a label:\n"
			 "    - namespaceSelector:\n"
			 "        matchLabels:\n"
			 "          " NS_NAME_LABEL ": <namespace>",
			 ns_none ? "namespaces" : "pods -A");
	}
}

/* ------------------------------------------------------- entry point */

static int find_cmp(const void *a, const void *b)
{
	const struct pw_lint_finding *x = a, *y = b;
	int r = strcmp(x->file ? x->file : "", y->file ? y->file : "");

	if (r)
		return r;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return (int)x->rule - (int)y->rule;
}

int pw_lint(const struct pw_cluster *c, const struct pw_lint_opts *o,
	    struct pw_lint_finding **out, size_t *n, struct pw_error *err)
{
	static const struct pw_lint_opts defaults;
	struct pw_compile_opts copts = { 0 };
	struct lctx x = { .c = c, .o = o ? o : &defaults };
	int ret;

	*out = NULL;
	*n = 0;
	x.dns_ns = x.o->dns_namespace ? x.o->dns_namespace : "kube-system";
	x.dns_key = x.o->dns_label_key ? x.o->dns_label_key : "k8s-app";
	x.dns_val = x.o->dns_label_value ? x.o->dns_label_value : "kube-dns";
	x.dns_pod_label = (struct pw_label){ (char *)x.dns_key, (char *)x.dns_val };
	x.dns_pod_labels = (struct pw_labels){ &x.dns_pod_label, 1 };
	x.dns_ns_label = (struct pw_label){ (char *)NS_NAME_LABEL, (char *)x.dns_ns };
	x.dns_ns_labels = (struct pw_labels){ &x.dns_ns_label, 1 };
	copts.dns_namespace = x.dns_ns;
	copts.dns_label_key = x.dns_key;
	copts.dns_label_value = x.dns_val;
	ret = pw_compile(c, &copts, &x.s, err); /* every pod an endpoint */
	if (ret)
		return ret;
	lint_default_deny(&x, &copts);
	lint_dns(&x);
	lint_dns_podsel(&x);
	for_each_rule(&x, split_peer_rule);
	for_each_rule(&x, ipblock_rule);
	lint_selects_none(&x);
	lint_policy_types(&x);
	for_each_rule(&x, named_port_rule);
	for_each_rule(&x, peer_nothing_rule);
	pw_lint_tiers(c, &x.s, &copts, add_cb, &x);
	pw_state_free(&x.s);
	if (x.oom) {
		free(x.v);
		if (err)
			snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -ENOMEM;
	}
	if (x.n)
		qsort(x.v, x.n, sizeof(*x.v), find_cmp);
	*out = x.v;
	*n = x.n;
	return 0;
}
