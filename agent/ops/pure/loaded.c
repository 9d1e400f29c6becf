/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The loaded-state model (loaded.h): built from a compiled state and its
 * objects, looked up by the operator commands. No syscalls.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "compiler.h"
#include "ops/loaded.h"

static char *xstrdup(const char *s, int *err)
{
	char *d = strdup(s ? s : "");

	if (!d)
		*err = -ENOMEM;
	return d;
}

static char *xfmt2(const char *a, const char *b, int *err)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *d = malloc(n);

	if (!d) {
		*err = -ENOMEM;
		return NULL;
	}
	snprintf(d, n, "%s/%s", a, b);
	return d;
}

/* does the Service selector (matchLabels) select labels? */
static bool svc_selects(const struct pw_labels *sel, const struct pw_labels *labels)
{
	if (!sel->n)
		return false; /* a Service without selector has manual endpoints */
	for (size_t i = 0; i < sel->n; i++) {
		bool found = false;

		for (size_t j = 0; j < labels->n && !found; j++)
			found = !strcmp(sel->v[i].key, labels->v[j].key) &&
				!strcmp(sel->v[i].value, labels->v[j].value);
		if (!found)
			return false;
	}
	return true;
}

static bool pol_selects(const struct pw_policy *pol, const struct pw_pod *pod)
{
	return !strcmp(pol->ns, pod->ns) && pw_selector_matches(&pol->pod_sel, &pod->labels);
}

/* Are the policies sorted by namespace (pw_cluster_finish sorts them)? */
static bool policies_sorted(const struct pw_cluster *c)
{
	for (size_t i = 1; i < c->n_policies; i++)
		if (strcmp(c->policies[i - 1].ns, c->policies[i].ns) > 0)
			return false;
	return true;
}

/* The policies of namespace ns: [*lo, *hi) (all of them if not sorted). */
static void ns_policies(const struct pw_cluster *c, bool sorted, const char *ns, size_t *lo,
			size_t *hi)
{
	if (sorted) {
		pw_cluster_ns_policies(c, ns, lo, hi);
	} else {
		*lo = 0;
		*hi = c->n_policies;
	}
}

static int id_cmp(const void *a, const void *b)
{
	const struct pw_ld_id *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

int pw_loaded_build(const struct pw_state *s, const struct pw_cluster *c,
		    const struct pw_loaded_meta *m, bool local_only, struct pw_loaded *out)
{
	bool sorted;
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->version = PW_LOADED_VERSION;
	if (m) {
		out->generation = m->generation;
		out->slot = m->slot;
		out->audit_all = m->audit_all;
		out->dns_auto = m->dns_auto;
		out->written_at = m->written_at;
		out->source = xstrdup(m->source, &err);
		out->pin_dir = xstrdup(m->pin_dir, &err);
	}

	/* endpoints */
	sorted = c ? policies_sorted(c) : true;
	out->eps = calloc(s->n_eps + 1, sizeof(*out->eps));
	if (!out->eps)
		goto oom;
	for (size_t i = 0; i < s->n_eps && !err; i++) {
		const struct pw_state_ep *se = &s->eps[i];
		struct pw_ld_ep *e;
		const struct pw_pod *pod;
		size_t p_lo, p_hi;

		if (local_only && !se->ifindex)
			continue;
		e = &out->eps[out->n_eps++];
		e->pod = xfmt2(se->ns, se->name, &err);
		e->n_ips = se->n_ips < 2 ? se->n_ips : 2;
		memcpy(e->ips, se->ips, sizeof(e->ips[0]) * e->n_ips);
		e->ifindex = se->ifindex;
		e->ep_id = se->ep_id;
		e->identity = se->identity;
		e->flags = se->flags;
		e->dns_flags = se->dns_flags;
		pod = c ? pw_cluster_pod(c, se->ns, se->name) : NULL;
		if (!pod)
			continue;
		ns_policies(c, sorted, pod->ns, &p_lo, &p_hi);
		for (int d = 0; d < PW_DIR_MAX && !err; d++) {
			size_t n = 0, p;

			for (p = p_lo; p < p_hi; p++)
				n += c->policies[p].types[d] && pol_selects(&c->policies[p], pod);
			e->policies[d] = calloc(n + 1, sizeof(char *));
			if (!e->policies[d])
				goto oom;
			for (p = p_lo; p < p_hi && !err; p++) {
				const struct pw_policy *pol = &c->policies[p];

				if (pol->types[d] && pol_selects(pol, pod) && e->n_policies[d] < n)
					e->policies[d][e->n_policies[d]++] =
						xfmt2(pol->ns, pol->name, &err);
			}
		}
	}

	/* every pod with an address */
	if (c) {
		out->pods = calloc(c->n_pods + 1, sizeof(*out->pods));
		if (!out->pods)
			goto oom;
		for (size_t i = 0; i < c->n_pods && !err; i++) {
			const struct pw_pod *pod = &c->pods[i];
			struct pw_ld_pod *p;
			const struct pw_state_ep *se;
			struct pw_ipcache_val v;

			if (!pod->n_ips)
				continue;
			p = &out->pods[out->n_pods++];
			p->pod = xfmt2(pod->ns, pod->name, &err);
			p->n_ips = pod->n_ips < 2 ? pod->n_ips : 2;
			memcpy(p->ips, pod->ips, sizeof(p->ips[0]) * p->n_ips);
			se = pw_state_endpoint(s, pod->ns, pod->name);
			p->local = se && se->ifindex;
			if (pw_state_ipcache_lookup(s, pod->ips[0], &v)) {
				p->identity = v.identity;
				p->dns = !!(v.flags & PW_IPC_DNS);
			} else if (se) {
				p->identity = se->identity;
			}
		}

		out->svcs = calloc(c->n_services + 1, sizeof(*out->svcs));
		if (!out->svcs)
			goto oom;
		for (size_t i = 0; i < c->n_services && !err; i++) {
			const struct pw_service *sv = &c->services[i];
			struct pw_ld_svc *v;
			size_t nb = 0;

			if (!sv->n_cluster_ips)
				continue;
			v = &out->svcs[out->n_svcs++];
			v->svc = xfmt2(sv->ns, sv->name, &err);
			v->n_ips = sv->n_cluster_ips < 2 ? sv->n_cluster_ips : 2;
			memcpy(v->ips, sv->cluster_ips, sizeof(v->ips[0]) * v->n_ips);
			v->ports = calloc(sv->n_ports + 1, sizeof(*v->ports));
			if (!v->ports)
				goto oom;
			for (size_t k = 0; k < sv->n_ports; k++) {
				v->ports[k].port = sv->ports[k].port;
				v->ports[k].proto = sv->ports[k].proto;
				v->ports[k].target = sv->ports[k].target_port;
				if (sv->ports[k].target_name)
					v->ports[k].target_name = xstrdup(sv->ports[k].target_name, &err);
			}
			v->n_ports = sv->n_ports;
			for (size_t k = 0; k < c->n_pods; k++)
				nb += !strcmp(c->pods[k].ns, sv->ns) &&
				      svc_selects(&sv->selector, &c->pods[k].labels);
			v->backends = calloc(nb + 1, sizeof(char *));
			if (!v->backends)
				goto oom;
			v->targets = calloc(sv->n_ports * nb + 1, sizeof(*v->targets));
			if (!v->targets)
				goto oom;
			for (size_t k = 0; k < c->n_pods && !err; k++) {
				if (strcmp(c->pods[k].ns, sv->ns) ||
				    !svc_selects(&sv->selector, &c->pods[k].labels))
					continue;
				for (size_t q = 0; q < sv->n_ports; q++)
					v->targets[q * nb + v->n_backends] =
						pw_service_target(&sv->ports[q], &c->pods[k]);
				v->backends[v->n_backends++] =
					xfmt2(c->pods[k].ns, c->pods[k].name, &err);
			}
		}
	}

	/* identities and rules */
	out->ids = calloc(s->n_ids + 1, sizeof(*out->ids));
	if (!out->ids)
		goto oom;
	for (size_t i = 0; i < s->n_ids && !err; i++) {
		out->ids[i].id = s->ids[i].id;
		out->ids[i].kind = s->ids[i].kind;
		out->ids[i].desc = xstrdup(s->ids[i].desc, &err);
		out->n_ids++;
	}
	qsort(out->ids, out->n_ids, sizeof(*out->ids), id_cmp);
	out->rules = calloc(s->n_rules + 1, sizeof(*out->rules));
	if (!out->rules)
		goto oom;
	for (size_t i = 0; i < s->n_rules && !err; i++) {
		const struct pw_state_rule *r = &s->rules[i];
		struct pw_ld_rule *lr = &out->rules[i];

		lr->id = r->rule_id;
		lr->dir = r->dir;
		lr->index = r->rule_index;
		lr->policy = xstrdup(r->policy, &err);
		lr->tier = r->tier;
		if (r->tier) {
			char buf[sizeof(r->policy)];

			lr->action = r->action;
			lr->priority = r->priority;
			lr->cluster_policy = xstrdup(pw_state_rule_cnp(r, buf, sizeof(buf)), &err);
			lr->rule_name = xstrdup(pw_state_rule_name(r, buf, sizeof(buf)), &err);
		}
		out->n_rules++;
	}
	/* where each rule is written */
	if (c && !err) {
		size_t k = 0;

		for (size_t p = 0; p < c->n_policies; p++)
			for (int d = 0; d < 2; d++)
				for (size_t r = 0; r < c->policies[p].n_rules[d]; r++, k++) {
					const struct pw_loc *loc = &c->policies[p].rules[d][r].loc;
					char buf[4200];

					if (k >= out->n_rules || !loc->file)
						continue;
					snprintf(buf, sizeof(buf), "%s:%d", loc->file, loc->line);
					out->rules[k].where = xstrdup(buf, &err);
				}
	}
	if (err)
		goto oom;
	return 0;
oom:
	pw_loaded_free(out);
	return -ENOMEM;
}

void pw_loaded_free(struct pw_loaded *l)
{
	if (!l)
		return;
	free(l->source);
	free(l->pin_dir);
	for (size_t i = 0; l->eps && i < l->n_eps; i++) {
		free(l->eps[i].pod);
		for (int d = 0; d < 2; d++) {
			for (size_t k = 0; k < l->eps[i].n_policies[d]; k++)
				free(l->eps[i].policies[d][k]);
			free(l->eps[i].policies[d]);
		}
	}
	free(l->eps);
	for (size_t i = 0; l->pods && i < l->n_pods; i++)
		free(l->pods[i].pod);
	free(l->pods);
	for (size_t i = 0; l->svcs && i < l->n_svcs; i++) {
		free(l->svcs[i].svc);
		for (size_t k = 0; k < l->svcs[i].n_ports; k++)
			free(l->svcs[i].ports[k].target_name);
		free(l->svcs[i].ports);
		for (size_t k = 0; k < l->svcs[i].n_backends; k++)
			free(l->svcs[i].backends[k]);
		free(l->svcs[i].backends);
		free(l->svcs[i].targets);
	}
	free(l->svcs);
	for (size_t i = 0; l->ids && i < l->n_ids; i++)
		free(l->ids[i].desc);
	free(l->ids);
	for (size_t i = 0; l->rules && i < l->n_rules; i++) {
		free(l->rules[i].policy);
		free(l->rules[i].where);
		free(l->rules[i].cluster_policy);
		free(l->rules[i].rule_name);
	}
	free(l->rules);
	memset(l, 0, sizeof(*l));
}

/* --------------------------------------------------------------- lookups */

const struct pw_ld_ep *pw_ld_ep_by_ifindex(const struct pw_loaded *l, uint32_t ifindex)
{
	for (size_t i = 0; l && ifindex && i < l->n_eps; i++)
		if (l->eps[i].ifindex == ifindex)
			return &l->eps[i];
	return NULL;
}

const struct pw_ld_ep *pw_ld_ep_by_id(const struct pw_loaded *l, uint32_t ep_id)
{
	for (size_t i = 0; l && i < l->n_eps; i++)
		if (l->eps[i].ep_id == ep_id)
			return &l->eps[i];
	return NULL;
}

const struct pw_ld_ep *pw_ld_ep_by_name(const struct pw_loaded *l, const char *pod)
{
	for (size_t i = 0; l && pod && i < l->n_eps; i++)
		if (!strcmp(l->eps[i].pod, pod))
			return &l->eps[i];
	return NULL;
}

const struct pw_ld_pod *pw_ld_pod_by_addr(const struct pw_loaded *l, const uint8_t a[16])
{
	for (size_t i = 0; l && i < l->n_pods; i++)
		for (size_t k = 0; k < l->pods[i].n_ips; k++)
			if (!memcmp(l->pods[i].ips[k], a, 16))
				return &l->pods[i];
	return NULL;
}

const struct pw_ld_pod *pw_ld_pod_by_name(const struct pw_loaded *l, const char *pod)
{
	for (size_t i = 0; l && pod && i < l->n_pods; i++)
		if (!strcmp(l->pods[i].pod, pod))
			return &l->pods[i];
	return NULL;
}

const struct pw_ld_svc *pw_ld_svc_by_addr(const struct pw_loaded *l, const uint8_t a[16])
{
	for (size_t i = 0; l && i < l->n_svcs; i++)
		for (size_t k = 0; k < l->svcs[i].n_ips; k++)
			if (!memcmp(l->svcs[i].ips[k], a, 16))
				return &l->svcs[i];
	return NULL;
}

const struct pw_ld_id *pw_ld_id(const struct pw_loaded *l, uint32_t id)
{
	size_t lo = 0, hi = l ? l->n_ids : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->ids[mid].id == id)
			return &l->ids[mid];
		if (l->ids[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct pw_ld_rule *pw_ld_rule(const struct pw_loaded *l, uint32_t rule_id)
{
	if (!l || rule_id >= l->n_rules)
		return NULL;
	if (l->rules[rule_id].id == rule_id)
		return &l->rules[rule_id];
	for (size_t i = 0; i < l->n_rules; i++)
		if (l->rules[i].id == rule_id)
			return &l->rules[i];
	return NULL;
}

static bool is_v4(const uint8_t a[16])
{
	static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a, pfx, 12);
}

const char *pw_ld_addr_str(const uint8_t a[16], char *buf, size_t len)
{
	if (is_v4(a))
		inet_ntop(AF_INET, a + 12, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, a, buf, (socklen_t)len);
	return buf;
}

const char *pw_ld_name_id(const struct pw_loaded *l, uint32_t id, char *buf, size_t len)
{
	const struct pw_ld_id *d;

	if (id == PW_ID_WORLD)
		snprintf(buf, len, "world");
	else if (id == PW_ID_HOST)
		snprintf(buf, len, "host");
	else if (id == PW_ID_ANY)
		snprintf(buf, len, "any");
	else if ((d = pw_ld_id(l, id)) && d->desc && d->desc[0])
		snprintf(buf, len, "%s", d->desc);
	else
		snprintf(buf, len, "identity 0x%x", id);
	return buf;
}

const char *pw_ld_name_addr(const struct pw_loaded *l, const uint8_t a[16], uint32_t id,
			    char *buf, size_t len)
{
	const struct pw_ld_pod *p = pw_ld_pod_by_addr(l, a);
	const struct pw_ld_svc *s;
	const struct pw_ld_id *d;
	char ab[64];

	if (p) {
		snprintf(buf, len, "%s", p->pod);
		return buf;
	}
	if ((s = pw_ld_svc_by_addr(l, a))) {
		snprintf(buf, len, "svc/%s", s->svc);
		return buf;
	}
	pw_ld_addr_str(a, ab, sizeof(ab));
	if (id >= PW_ID_CIDR_MIN && (d = pw_ld_id(l, id)) && d->desc && d->desc[0])
		snprintf(buf, len, "%s (%s)", ab, d->desc);
	else if (id == PW_ID_HOST)
		snprintf(buf, len, "%s (host)", ab);
	else
		snprintf(buf, len, "%s", ab);
	return buf;
}

/* ----------------------------------------------------------------- words */

const char *pw_dir_name(uint8_t dir)
{
	return dir == PW_DIR_EGRESS ? "egress" : dir == PW_DIR_INGRESS ? "ingress" : "?";
}

const char *pw_verdict_name(uint8_t v)
{
	switch (v) {
	case PW_VERDICT_ALLOW: return "allow";
	case PW_VERDICT_DROP:  return "drop";
	case PW_VERDICT_AUDIT: return "audit";
	default:               return "unknown";
	}
}

const char *pw_verdict_upper(uint8_t v)
{
	switch (v) {
	case PW_VERDICT_ALLOW: return "ALLOW";
	case PW_VERDICT_DROP:  return "DROP";
	case PW_VERDICT_AUDIT: return "AUDIT";
	default:               return "UNKNOWN";
	}
}

static const char *const reason_names[PW_REASON_MAX] = {
	[PW_REASON_NONE]           = "rule",
	[PW_REASON_NOT_ISOLATED]   = "not_isolated",
	[PW_REASON_CT_ESTABLISHED] = "established",
	[PW_REASON_CT_REPLY]       = "reply",
	[PW_REASON_CT_RELATED]     = "related",
	[PW_REASON_NOT_IP]         = "not_ip",
	[PW_REASON_DNS_ALLOWED]    = "dns_allowed",
	[PW_REASON_DEFERRED]       = "deferred",
	[PW_REASON_FRAGMENT]       = "fragment",
	[PW_REASON_NO_ENDPOINT]    = "no_endpoint",
	[PW_REASON_FROM_HOST]      = "from_host",
	[PW_REASON_ND]             = "neighbour_discovery",
	[PW_REASON_POLICY_DENIED]  = "policy_denied",
	[PW_REASON_SPOOFED]        = "spoofed",
	[PW_REASON_REVOKED]        = "revoked",
	[PW_REASON_DNS_DENIED]     = "dns_denied",
	[PW_REASON_FRAG_UNKNOWN]   = "fragment_unknown",
	[PW_REASON_MALFORMED]      = "malformed",
	[PW_REASON_TIER_DENIED]    = "tier_denied",
};

const char *pw_reason_name(uint8_t r)
{
	return r < PW_REASON_MAX && reason_names[r] ? reason_names[r] : "unknown";
}

const char *pw_reason_text(uint8_t r, uint8_t dir)
{
	bool eg = dir == PW_DIR_EGRESS;

	switch (r) {
	case PW_REASON_NONE:
		return "allowed by a policy rule";
	case PW_REASON_NOT_ISOLATED:
		return eg ? "not isolated for egress: no policy selects the pod for egress"
			  : "not isolated for ingress: no policy selects the pod for ingress";
	case PW_REASON_CT_ESTABLISHED:
		return "established flow";
	case PW_REASON_CT_REPLY:
		return "reply of an allowed flow";
	case PW_REASON_CT_RELATED:
		return "ICMP error of a tracked flow";
	case PW_REASON_NOT_IP:
		return "not IP (ARP)";
	case PW_REASON_DNS_ALLOWED:
		return "DNS to the cluster DNS, allowed";
	case PW_REASON_DEFERRED:
		return "to a Service address: verdict taken after kube-proxy's NAT";
	case PW_REASON_FRAGMENT:
		return "later fragment of an allowed first fragment";
	case PW_REASON_NO_ENDPOINT:
		return "device has no endpoint";
	case PW_REASON_FROM_HOST:
		return "from the node itself";
	case PW_REASON_ND:
		return "IPv6 neighbour discovery";
	case PW_REASON_POLICY_DENIED:
		return eg ? "egress default-deny, no rule allows it"
			  : "ingress default-deny, no rule allows it";
	case PW_REASON_SPOOFED:
		return "spoofed source: not the pod's address";
	case PW_REASON_REVOKED:
		return "revoked flow: the policy changed and no longer allows it";
	case PW_REASON_DNS_DENIED:
		return "egress default-deny, no DNS rule";
	case PW_REASON_FRAG_UNKNOWN:
		return "fragment whose first fragment was not allowed or not seen";
	case PW_REASON_MALFORMED:
		return "malformed or truncated headers";
	case PW_REASON_TIER_DENIED:
		return "denied by a ClusterNetworkPolicy Deny rule";
	default:
		return "unknown reason";
	}
}

const char *pw_proto_name(uint8_t p)
{
	static char buf[4][16];
	static int k;
	char *b;

	switch (p) {
	case IPPROTO_TCP:    return "tcp";
	case IPPROTO_UDP:    return "udp";
	case IPPROTO_SCTP:   return "sctp";
	case IPPROTO_ICMP:   return "icmp";
	case IPPROTO_ICMPV6: return "icmpv6";
	default:
		b = buf[k++ & 3];
		snprintf(b, sizeof(buf[0]), "proto-%u", p);
		return b;
	}
}

uint8_t pw_proto_parse(const char *s)
{
	char *end;
	long v;

	if (!s)
		return 0;
	if (!strcasecmp(s, "tcp"))
		return IPPROTO_TCP;
	if (!strcasecmp(s, "udp"))
		return IPPROTO_UDP;
	if (!strcasecmp(s, "sctp"))
		return IPPROTO_SCTP;
	v = strtol(s, &end, 10);
	if (*s && !*end && (v == IPPROTO_TCP || v == IPPROTO_UDP || v == IPPROTO_SCTP))
		return (uint8_t)v;
	return 0;
}
