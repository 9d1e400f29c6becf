/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Loading ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2) and Node.
 *
 * Validation is the CRD's: its OpenAPI schema (enums, minimum/maximum,
 * minItems/maxItems, maxLength, the domain name pattern, "exactly one field"
 * as minProperties = maxProperties = 1) and its CEL rules (a port range's
 * start below its end, isCIDR, no destinationNamedPort in an egress rule
 * with a networks, nodes or domainNames peer), plus what the types' comments
 * say an implementation must refuse (domainNames only in Accept rules). An
 * object the API server would refuse is an error naming its file, line and
 * field, and nothing of the change is applied.
 */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "k8s/internal.h"
#include "k8s/ip.h"

/* The number of keys of mapping n (0 for null). */
static size_t map_size(const yaml_node_t *n)
{
	if (!n || n->type != YAML_MAPPING_NODE)
		return 0;
	return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

/*
 * n is a mapping with exactly one of the fields f[0..nf) (the schema's
 * minProperties = maxProperties = 1): *which is its index. what names the
 * choice in the error ("namespaces or pods").
 */
static int one_of(struct ld *ld, yaml_node_t *n, struct ld_field *f, size_t nf,
		  const char *what, size_t *which)
{
	size_t set = 0;
	int ret;

	if (ld_is_null(n))
		return ld_err(ld, n, "exactly one of %s must be set", what);
	ret = ld_fields(ld, n, f, nf);
	if (ret)
		return ret;
	for (size_t i = 0; i < nf; i++)
		if (f[i].val) {
			*which = i;
			set++;
		}
	if (set != 1 || map_size(n) != 1)
		return ld_err(ld, n, "exactly one of %s must be set", what);
	return 0;
}

/* A list field with min..max items (min 0: may be absent). */
static int bounded_seq(struct ld *ld, yaml_node_t *parent, yaml_node_t *n, size_t min,
		       size_t max, size_t *count)
{
	int ret = ld_check_seq(ld, n, count);

	if (ret)
		return ret;
	if (*count < min)
		return ld_err(ld, n ? n : parent, min == 1 ? "must have at least 1 item"
			      : "too few items");
	if (*count > max)
		return ld_err(ld, n, "must have at most %zu items", max);
	return 0;
}

static yaml_node_t *item(struct ld *ld, yaml_node_t *seq, size_t i)
{
	return ld_node(ld, seq->data.sequence.items.start[i]);
}

/* A label selector that must be there ({} selects everything). */
static int required_selector(struct ld *ld, yaml_node_t *parent, struct ld_field *f,
			     struct pw_selector *out)
{
	size_t mark = ld_push_key(ld, f->name);
	int ret;

	if (!f->val)
		ret = ld_err(ld, parent, "missing");
	else
		ret = ld_selector(ld, f->val, out);
	out->present = true;   /* null or {}: every object */
	ld_pop(ld, mark);
	return ret;
}

/* NamespacedPod: namespaceSelector (optional: all namespaces), podSelector. */
static int namespaced_pod(struct ld *ld, yaml_node_t *n, struct pw_selector *ns_sel,
			  struct pw_selector *pod_sel)
{
	struct ld_field f[] = { { "namespaceSelector" }, { "podSelector" } };
	size_t mark;
	int ret;

	if (ld_is_null(n))
		return ld_err(ld, n, "podSelector: missing");
	ret = ld_fields(ld, n, f, 2);
	if (ret)
		return ret;
	mark = ld_push_key(ld, "namespaceSelector");
	ret = ld_selector(ld, f[0].val, ns_sel);
	ns_sel->present = true;
	ld_pop(ld, mark);
	if (ret)
		return ret;
	return required_selector(ld, n, &f[1], pod_sel);
}

/*
 * DomainName: the CRD's pattern, an optional "*." then two or more labels
 * of letters, digits, '-' and '_' (no '-' or '_' at either end of a label),
 * an optional final dot. (The pattern's [a-zA-z0-9] also admits the six
 * characters between 'Z' and 'a'; they are no part of a host name and are
 * refused here.) Kept lowercase, without the final dot.
 */
static bool domain_valid(const char *s)
{
	size_t labels = 0, len;

	if (!strncmp(s, "*.", 2))
		s += 2;
	len = strlen(s);
	if (len && s[len - 1] == '.')
		len--;
	for (size_t i = 0; i <= len; i++) {
		size_t j = i;

		while (j < len && s[j] != '.')
			j++;
		if (j == i || !isalnum((unsigned char)s[i]) || !isalnum((unsigned char)s[j - 1]))
			return false;
		for (size_t k = i; k < j; k++)
			if (!isalnum((unsigned char)s[k]) && s[k] != '-' && s[k] != '_')
				return false;
		labels++;
		i = j;   /* the dot, or len: past it */
	}
	return labels >= 2;
}

static int domains(struct ld *ld, yaml_node_t *parent, yaml_node_t *n, struct pw_cnp_peer *p)
{
	size_t cnt;
	int ret = bounded_seq(ld, parent, n, 1, PW_CNP_MAX_ITEMS, &cnt);

	if (ret)
		return ret;
	p->domains = pw_arena_calloc(ld->a, cnt, sizeof(*p->domains));
	if (!p->domains)
		return ld_err(ld, n, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *e = item(ld, n, i);
		size_t mark = ld_push_idx(ld, i), len;
		char *s;

		ret = e ? ld_str(ld, e, 253, &s) : -EINVAL;
		if (!ret && !domain_valid(s))
			ret = ld_err(ld, e, "invalid domain name \"%s\" (a DNS name, "
				     "optionally starting with \"*.\")", s);
		ld_pop(ld, mark);
		if (ret)
			return ret;
		for (char *c = s; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		len = strlen(s);
		if (len && s[len - 1] == '.')
			s[len - 1] = 0;
		p->domains[p->n_domains++] = s;
	}
	return 0;
}

static int networks(struct ld *ld, yaml_node_t *parent, yaml_node_t *n, struct pw_cnp_peer *p)
{
	size_t cnt;
	int ret = bounded_seq(ld, parent, n, 1, PW_CNP_MAX_ITEMS, &cnt);

	if (ret)
		return ret;
	p->cidrs = pw_arena_calloc(ld->a, cnt, sizeof(*p->cidrs));
	if (!p->cidrs)
		return ld_err(ld, n, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *e = item(ld, n, i);
		size_t mark = ld_push_idx(ld, i);
		char *s;

		ret = e ? ld_str(ld, e, 43, &s) : -EINVAL;
		if (!ret && pw_cidr_parse(s, &p->cidrs[i]))
			ret = ld_err(ld, e, "invalid CIDR \"%s\"", s);
		ld_pop(ld, mark);
		if (ret)
			return ret;
		p->n_cidrs++;
	}
	return 0;
}

static int peer(struct ld *ld, yaml_node_t *n, int dir, struct pw_cnp_peer *p)
{
	struct ld_field f[] = { { "namespaces" }, { "pods" }, { "nodes" }, { "networks" },
				{ "domainNames" } };
	size_t which = 0, mark;
	int ret;

	p->loc.file = ld->file;
	p->loc.line = ld_line(n);
	ret = one_of(ld, n, f, dir ? 5 : 2, dir ? "namespaces, pods, nodes, networks or "
		     "domainNames" : "namespaces or pods", &which);
	if (ret)
		return ret;
	mark = ld_push_key(ld, f[which].name);
	switch (which) {
	case 0:
		p->kind = PW_CNP_NAMESPACES;
		ret = ld_selector(ld, f[0].val, &p->ns_sel);
		p->ns_sel.present = true;
		break;
	case 1:
		p->kind = PW_CNP_PODS;
		ret = namespaced_pod(ld, f[1].val, &p->ns_sel, &p->pod_sel);
		break;
	case 2:
		p->kind = PW_CNP_NODES;
		ret = ld_selector(ld, f[2].val, &p->node_sel);
		p->node_sel.present = true;
		break;
	case 3:
		p->kind = PW_CNP_NETWORKS;
		ret = networks(ld, n, f[3].val, p);
		break;
	default:
		p->kind = PW_CNP_DOMAINS;
		ret = domains(ld, n, f[4].val, p);
		break;
	}
	ld_pop(ld, mark);
	return ret;
}

/* Port: exactly one of number and range {start, end}, start < end. */
static int port(struct ld *ld, yaml_node_t *n, struct pw_np_port *p)
{
	struct ld_field f[] = { { "number" }, { "range" } }, rf[] = { { "start" }, { "end" } };
	long long v[2] = { 0, 0 };
	size_t which = 0, mark;
	int ret = one_of(ld, n, f, 2, "number or range", &which);

	if (ret)
		return ret;
	p->has_port = true;
	mark = ld_push_key(ld, f[which].name);
	if (which == 0) {
		ret = ld_int(ld, f[0].val, 1, 65535, "port", &v[0]);
		p->port = (uint16_t)v[0];
		ld_pop(ld, mark);
		return ret;
	}
	ret = ld_is_null(f[1].val) ? ld_err(ld, f[1].val, "start and end: missing")
		: ld_fields(ld, f[1].val, rf, 2);
	for (int i = 0; i < 2 && !ret; i++) {
		size_t m2 = ld_push_key(ld, rf[i].name);

		if (!ld_has(&rf[i]))
			ret = ld_err(ld, f[1].val, "missing");
		else
			ret = ld_int(ld, rf[i].val, 1, 65535, "port", &v[i]);
		ld_pop(ld, m2);
	}
	if (!ret && v[0] >= v[1])
		ret = ld_err(ld, f[1].val, "Start port must be less than End port (%lld >= %lld)",
			     v[0], v[1]);
	p->port = (uint16_t)v[0];
	p->end_port = (uint16_t)v[1];
	ld_pop(ld, mark);
	return ret;
}

/* ClusterNetworkPolicyProtocol: exactly one of tcp, udp, sctp (each with a
 * destinationPort) and destinationNamedPort. */
static int protocol(struct ld *ld, yaml_node_t *n, struct pw_np_port *p)
{
	static const uint8_t protos[3] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
	struct ld_field f[] = { { "tcp" }, { "udp" }, { "sctp" }, { "destinationNamedPort" } };
	struct ld_field pf[] = { { "destinationPort" } };
	size_t which = 0, mark, m2;
	int ret = one_of(ld, n, f, 4, "tcp, udp, sctp or destinationNamedPort", &which);

	if (ret)
		return ret;
	mark = ld_push_key(ld, f[which].name);
	if (which == 3) {
		p->proto = 0;   /* the name's own protocol */
		p->has_port = true;
		ret = ld_str(ld, f[3].val, 15, &p->named);
		if (!ret && !ld_valid_port_name(p->named))
			ret = ld_err(ld, f[3].val, "invalid port name \"%s\" (%s)", p->named,
				     PORT_NAME_RULE);
		ld_pop(ld, mark);
		return ret;
	}
	p->proto = protos[which];
	ret = ld_is_null(f[which].val) ? ld_err(ld, f[which].val, "destinationPort: missing")
		: ld_fields(ld, f[which].val, pf, 1);
	if (!ret) {
		m2 = ld_push_key(ld, "destinationPort");
		ret = pf[0].val ? port(ld, pf[0].val, p) : ld_err(ld, f[which].val, "missing");
		ld_pop(ld, m2);
	}
	ld_pop(ld, mark);
	return ret;
}

static int cnp_rule(struct ld *ld, yaml_node_t *n, int dir, struct pw_cnp_rule *r)
{
	struct ld_field f[] = { { "name" }, { "action" }, { dir ? "to" : "from" },
				{ "protocols" } };
	bool no_named = false;
	size_t mark, cnt;
	char *s;
	int ret;

	r->loc.file = ld->file;
	r->loc.line = ld_line(n);
	r->name = "";
	if (ld_is_null(n))
		return ld_err(ld, n, "action: missing");
	ret = ld_fields(ld, n, f, 4);
	if (ret)
		return ret;
	if (ld_has(&f[0])) {
		mark = ld_push_key(ld, "name");
		ret = ld_str(ld, f[0].val, 4096, &r->name);
		if (!ret && strlen(r->name) > PW_CNP_MAX_RULE_NAME)
			ret = ld_err(ld, f[0].val, "longer than %d characters",
				     PW_CNP_MAX_RULE_NAME);
		ld_pop(ld, mark);
		if (ret)
			return ret;
	}

	mark = ld_push_key(ld, "action");
	if (!ld_has(&f[1]))
		ret = ld_err(ld, n, "missing");
	else if (!(ret = ld_str(ld, f[1].val, 64, &s))) {
		if (!strcmp(s, "Accept"))
			r->action = PW_ACT_ACCEPT;
		else if (!strcmp(s, "Deny"))
			r->action = PW_ACT_DENY;
		else if (!strcmp(s, "Pass"))
			r->action = PW_ACT_PASS;
		else
			ret = ld_err(ld, f[1].val, "invalid action \"%s\" (Accept, Deny or Pass)", s);
	}
	ld_pop(ld, mark);
	if (ret)
		return ret;

	mark = ld_push_key(ld, f[2].name);
	ret = bounded_seq(ld, n, f[2].val, 1, PW_CNP_MAX_RULES, &cnt);
	if (!ret && !(r->peers = pw_arena_calloc(ld->a, cnt, sizeof(*r->peers))))
		ret = ld_err(ld, n, "out of memory");
	for (size_t i = 0; !ret && i < cnt; i++) {
		yaml_node_t *e = item(ld, f[2].val, i);
		size_t m2 = ld_push_idx(ld, i);
		struct pw_cnp_peer *p = &r->peers[i];

		ret = e ? peer(ld, e, dir, p) : -EINVAL;
		if (!ret && p->kind == PW_CNP_DOMAINS && r->action != PW_ACT_ACCEPT)
			ret = ld_err(ld, e, "domainNames peers are only allowed in Accept rules");
		ld_pop(ld, m2);
		if (ret)
			break;
		r->n_peers++;
		no_named |= p->kind == PW_CNP_NODES || p->kind == PW_CNP_NETWORKS ||
			    p->kind == PW_CNP_DOMAINS;
	}
	ld_pop(ld, mark);
	if (ret)
		return ret;

	mark = ld_push_key(ld, "protocols");
	ret = bounded_seq(ld, n, f[3].val, f[3].val ? 1 : 0, PW_CNP_MAX_RULES, &cnt);
	if (!ret && cnt && !(r->ports = pw_arena_calloc(ld->a, cnt, sizeof(*r->ports))))
		ret = ld_err(ld, n, "out of memory");
	for (size_t i = 0; !ret && i < cnt; i++) {
		yaml_node_t *e = item(ld, f[3].val, i);
		size_t m2 = ld_push_idx(ld, i);

		ret = e ? protocol(ld, e, &r->ports[i]) : -EINVAL;
		if (!ret && r->ports[i].named && no_named)
			ret = ld_err(ld, e, "networks/nodes/domainNames peer cannot be set with "
				     "namedPorts since there are no namedPorts for "
				     "networks/nodes/domainNames");
		ld_pop(ld, m2);
		if (!ret)
			r->n_ports++;
	}
	ld_pop(ld, mark);
	return ret;
}

static int cnp_rules(struct ld *ld, yaml_node_t *parent, struct ld_field *f, int dir,
		     struct pw_cnp *cnp)
{
	size_t mark = ld_push_key(ld, f->name), cnt;
	int ret = bounded_seq(ld, parent, f->val, 0, PW_CNP_MAX_RULES, &cnt);

	if (!ret && cnt && !(cnp->rules[dir] = pw_arena_calloc(ld->a, cnt, sizeof(**cnp->rules))))
		ret = ld_err(ld, parent, "out of memory");
	for (size_t i = 0; !ret && i < cnt; i++) {
		yaml_node_t *e = item(ld, f->val, i);
		size_t m2 = ld_push_idx(ld, i);

		ret = e ? cnp_rule(ld, e, dir, &cnp->rules[dir][i]) : -EINVAL;
		ld_pop(ld, m2);
		if (!ret)
			cnp->n_rules[dir]++;
	}
	ld_pop(ld, mark);
	return ret;
}

static int subject(struct ld *ld, yaml_node_t *n, struct pw_cnp *cnp)
{
	struct ld_field f[] = { { "namespaces" }, { "pods" } };
	size_t which = 0, mark;
	int ret = one_of(ld, n, f, 2, "namespaces or pods", &which);

	if (ret)
		return ret;
	mark = ld_push_key(ld, f[which].name);
	cnp->subject_pods = which == 1;
	if (which == 0) {
		ret = ld_selector(ld, f[0].val, &cnp->ns_sel);
		cnp->ns_sel.present = true;
	} else {
		ret = namespaced_pod(ld, f[1].val, &cnp->ns_sel, &cnp->pod_sel);
	}
	ld_pop(ld, mark);
	return ret;
}

static int api_version(struct ld *ld, struct ld_field *f, const char *want, const char *kind)
{
	size_t mark;
	char *api;
	int ret;

	if (!ld_has(&f[OF_API]))
		return 0;
	mark = ld_push_key(ld, "apiVersion");
	ret = ld_str(ld, f[OF_API].val, 128, &api);
	if (!ret && strcmp(api, want))
		ret = ld_err(ld, f[OF_API].val, "unsupported %s apiVersion \"%s\" (%s)", kind, api,
			     want);
	ld_pop(ld, mark);
	return ret;
}

static int cnp_object(struct ld *ld, yaml_node_t *obj, struct ld_field *f);

/*
 * A ClusterNetworkPolicy is read strictly, as a NetworkPolicy is (netpol.c):
 * a field the CRD does not define (a misspelled `protocol`, `prority`, an
 * ingress peer's `nodes`) is an error naming it, never skipped, since
 * skipping it would change what the policy allows or denies.
 */
int ld_cnp(struct ld *ld, yaml_node_t *obj, struct ld_field *f)
{
	static const char *const top[] = { "apiVersion", "kind", "metadata", "spec", "status" };
	int ret;

	ld->strict = true;
	ret = ld_known_fields(ld, obj, top, sizeof(top) / sizeof(top[0]));
	if (!ret)
		ret = cnp_object(ld, obj, f);
	ld->strict = false;
	return ret;
}

static int cnp_object(struct ld *ld, yaml_node_t *obj, struct ld_field *f)
{
	struct ld_field sf[] = { { "tier" }, { "priority" }, { "subject" }, { "ingress" },
				 { "egress" } };
	struct pw_cnp cnp, *dst;
	struct ld_meta m;
	long long prio = 0;
	size_t mark, m2;
	char *s;
	int ret;

	memset(&cnp, 0, sizeof(cnp));
	ret = api_version(ld, f, "policy.networking.k8s.io/v1alpha2", "ClusterNetworkPolicy");
	if (!ret)
		ret = ld_metadata(ld, obj, f[OF_META].val, false, &m);
	if (ret)
		return ret;
	cnp.name = m.name;
	cnp.loc.file = ld->file;
	cnp.loc.line = ld_line(obj);

	mark = ld_push_key(ld, "spec");
	if (ld_is_null(f[OF_SPEC].val)) {
		ret = ld_err(ld, f[OF_SPEC].val ? f[OF_SPEC].val : obj, "missing");
		goto out;
	}
	ret = ld_fields(ld, f[OF_SPEC].val, sf, 5);
	if (ret)
		goto out;

	m2 = ld_push_key(ld, "tier");
	if (!ld_has(&sf[0]))
		ret = ld_err(ld, f[OF_SPEC].val, "missing");
	else if (!(ret = ld_str(ld, sf[0].val, 64, &s))) {
		if (!strcmp(s, "Admin"))
			cnp.tier = PW_TIER_ADMIN;
		else if (!strcmp(s, "Baseline"))
			cnp.tier = PW_TIER_BASELINE;
		else
			ret = ld_err(ld, sf[0].val, "invalid tier \"%s\" (Admin or Baseline)", s);
	}
	ld_pop(ld, m2);
	if (ret)
		goto out;

	m2 = ld_push_key(ld, "priority");
	if (!ld_has(&sf[1]))
		ret = ld_err(ld, f[OF_SPEC].val, "missing");
	else
		ret = ld_int(ld, sf[1].val, 0, PW_CNP_MAX_PRIORITY, "priority", &prio);
	cnp.priority = (int)prio;
	ld_pop(ld, m2);
	if (ret)
		goto out;

	m2 = ld_push_key(ld, "subject");
	ret = sf[2].val ? subject(ld, sf[2].val, &cnp) : ld_err(ld, f[OF_SPEC].val, "missing");
	ld_pop(ld, m2);
	if (!ret)
		ret = cnp_rules(ld, f[OF_SPEC].val, &sf[3], 0, &cnp);
	if (!ret)
		ret = cnp_rules(ld, f[OF_SPEC].val, &sf[4], 1, &cnp);
out:
	ld_pop(ld, mark);
	if (ret)
		return ret;
	dst = pw_store_add_cnp(ld->c);
	if (!dst)
		return ld_err(ld, obj, "out of memory (or too many ClusterNetworkPolicies)");
	*dst = cnp;
	return 0;
}

/* ------------------------------------------------------------------- Node */
static int node_address(struct ld *ld, yaml_node_t *n, struct pw_node *node)
{
	struct ld_field f[] = { { "type" }, { "address" } };
	uint8_t a[16];
	bool v4;
	char *type, *s;
	int ret = ld_fields(ld, n, f, 2);

	if (ret)
		return ret;
	if (!ld_has(&f[0]) || !ld_has(&f[1]))
		return ld_err(ld, n, "type and address are required");
	ret = ld_str(ld, f[0].val, 64, &type);
	if (!ret)
		ret = ld_str(ld, f[1].val, 256, &s);
	if (ret)
		return ret;
	/* Hostname and InternalDNS entries hold names, not addresses */
	if (strcmp(type, "InternalIP") && strcmp(type, "ExternalIP"))
		return 0;
	if (pw_ip_parse(s, a, &v4))
		return ld_err(ld, f[1].val, "bad IP address \"%s\"", s);
	for (size_t i = 0; i < node->n_addrs; i++)
		if (!memcmp(node->addrs[i], a, 16))
			return 0;
	if (node->n_addrs == PW_NODE_MAX_ADDRS)
		return ld_err(ld, f[1].val, "more than %d addresses", PW_NODE_MAX_ADDRS);
	memcpy(node->addrs[node->n_addrs++], a, 16);
	return 0;
}

int ld_node_obj(struct ld *ld, yaml_node_t *obj, struct ld_field *f)
{
	struct ld_field stf[] = { { "addresses" } };
	struct pw_node node, *dst;
	struct ld_meta m;
	size_t mark, cnt = 0;
	int ret;

	memset(&node, 0, sizeof(node));
	ret = api_version(ld, f, "v1", "Node");
	if (!ret)
		ret = ld_metadata(ld, obj, f[OF_META].val, false, &m);
	if (ret)
		return ret;
	node.name = m.name;
	node.labels = m.labels;
	node.loc.file = ld->file;
	node.loc.line = ld_line(obj);
	mark = ld_push_key(ld, "status");
	if (!ld_is_null(f[OF_STATUS].val))
		ret = ld_fields(ld, f[OF_STATUS].val, stf, 1);
	if (!ret && f[OF_STATUS].val && !ld_is_null(f[OF_STATUS].val)) {
		size_t m2 = ld_push_key(ld, "addresses");

		ret = ld_check_seq(ld, stf[0].val, &cnt);
		for (size_t i = 0; !ret && i < cnt; i++) {
			yaml_node_t *e = item(ld, stf[0].val, i);
			size_t m3 = ld_push_idx(ld, i);

			ret = e ? node_address(ld, e, &node) : -EINVAL;
			ld_pop(ld, m3);
		}
		ld_pop(ld, m2);
	}
	ld_pop(ld, mark);
	if (ret)
		return ret;
	dst = pw_store_add_node(ld->c);
	if (!dst)
		return ld_err(ld, obj, "out of memory (or too many nodes)");
	*dst = node;
	return 0;
}
