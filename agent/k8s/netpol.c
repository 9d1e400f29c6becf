/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Loading NetworkPolicy (networking.k8s.io/v1), strictly (an unknown field is
 * an error), with the API server's
 * validation where input has no defined meaning, and its policyTypes
 * defaulting (the same as the reference evaluator's effective_policy_types).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "k8s/internal.h"
#include "k8s/ip.h"

static int parse_cidr(struct ld *ld, yaml_node_t *n, struct pw_cidr *out)
{
	char *s;
	int ret = ld_str(ld, n, 128, &s);

	if (ret)
		return ret;
	if (pw_cidr_parse(s, out))
		return ld_err(ld, n, "invalid CIDR \"%s\"", s);
	return 0;
}

static int ip_block(struct ld *ld, yaml_node_t *n, struct pw_np_peer *peer)
{
	struct ld_field f[] = { { "cidr" }, { "except" } };
	size_t mark, ne;
	int ret = ld_fields(ld, n, f, 2);

	if (ret)
		return ret;
	mark = ld_push_key(ld, "cidr");
	if (!ld_has(&f[0]))
		ret = ld_err(ld, n, "missing");
	else
		ret = parse_cidr(ld, f[0].val, &peer->cidr);
	ld_pop(ld, mark);
	if (ret)
		return ret;

	mark = ld_push_key(ld, "except");
	ret = ld_check_seq(ld, f[1].val, &ne);
	if (!ret && ne) {
		peer->except = pw_arena_calloc(ld->a, ne, sizeof(*peer->except));
		if (!peer->except)
			ret = ld_err(ld, n, "out of memory");
	}
	for (size_t i = 0; !ret && i < ne; i++) {
		yaml_node_t *e = ld_node(ld, f[1].val->data.sequence.items.start[i]);
		struct pw_cidr *x = &peer->except[i];
		size_t m2 = ld_push_idx(ld, i);

		ret = e ? parse_cidr(ld, e, x) : -EINVAL;
		if (!ret && (x->is_v4 != peer->cidr.is_v4 || x->len <= peer->cidr.len ||
			     !pw_cidr_subset(x, &peer->cidr)))
			ret = ld_err(ld, e, "except \"%s\" is not a strict subset of cidr \"%s\"",
				     ld_scalar(e), ld_scalar(f[0].val));
		ld_pop(ld, m2);
		if (!ret)
			peer->n_except++;
	}
	ld_pop(ld, mark);
	return ret;
}

static int peer(struct ld *ld, yaml_node_t *n, const char *policy_ns, struct pw_np_peer *p)
{
	struct ld_field f[] = { { "podSelector" }, { "namespaceSelector" }, { "ipBlock" } };
	bool has_sel;
	size_t mark;
	int ret;

	(void)policy_ns;
	p->loc.file = ld->file;
	p->loc.line = ld_line(n);
	if (ld_is_null(n))
		return ld_err(ld, n, "a peer needs ipBlock, podSelector or namespaceSelector");
	ret = ld_fields(ld, n, f, 3);
	if (ret)
		return ret;
	has_sel = ld_has(&f[0]) || ld_has(&f[1]);
	if (ld_has(&f[2]) && has_sel)
		return ld_err(ld, n, "ipBlock cannot be combined with podSelector or "
			      "namespaceSelector in one peer");
	if (!ld_has(&f[2]) && !has_sel)
		return ld_err(ld, n, "a peer needs ipBlock, podSelector or namespaceSelector");
	if (ld_has(&f[2])) {
		p->kind = PW_PEER_IPBLOCK;
		mark = ld_push_key(ld, "ipBlock");
		ret = ip_block(ld, f[2].val, p);
		ld_pop(ld, mark);
		return ret;
	}
	p->kind = PW_PEER_SELECTOR;
	mark = ld_push_key(ld, "podSelector");
	ret = ld_selector(ld, f[0].val, &p->pod_sel);
	ld_pop(ld, mark);
	if (ret)
		return ret;
	mark = ld_push_key(ld, "namespaceSelector");
	ret = ld_selector(ld, f[1].val, &p->ns_sel);
	ld_pop(ld, mark);
	return ret;
}

static int np_port(struct ld *ld, yaml_node_t *n, struct pw_np_port *p)
{
	struct ld_field f[] = { { "protocol" }, { "port" }, { "endPort" } };
	size_t mark;
	long long v = 0;
	int ret = 0;

	p->proto = 0;
	if (!ld_is_null(n))
		ret = ld_fields(ld, n, f, 3);
	else
		for (int i = 0; i < 3; i++)
			f[i].key = f[i].val = NULL;
	if (ret)
		return ret;

	mark = ld_push_key(ld, "protocol");
	ret = ld_protocol(ld, f[0].val, false, &p->proto);
	ld_pop(ld, mark);
	if (ret)
		return ret;

	mark = ld_push_key(ld, "port");
	if (!ld_has(&f[1])) {
		p->has_port = false;
	} else {
		ret = ld_port_or_name(ld, f[1].val, &v, &p->named);
		p->has_port = true;
		p->port = (uint16_t)v;
	}
	ld_pop(ld, mark);
	if (ret)
		return ret;

	if (ld_has(&f[2])) {
		mark = ld_push_key(ld, "endPort");
		if (!p->has_port || p->named)
			ret = ld_err(ld, f[2].val, "endPort requires a numeric port");
		else
			ret = ld_int(ld, f[2].val, 1, 65535, "endPort", &v);
		if (!ret && v < p->port)
			ret = ld_err(ld, f[2].val, "endPort %lld is below port %u", v, p->port);
		p->end_port = (uint16_t)v;
		ld_pop(ld, mark);
	}
	return ret;
}

static int rule(struct ld *ld, yaml_node_t *n, const char *peers_key, const char *policy_ns,
		struct pw_np_rule *r)
{
	struct ld_field f[] = { { peers_key }, { "ports" } };
	size_t mark, np;
	int ret;

	r->loc.file = ld->file;
	r->loc.line = ld_line(n);
	if (ld_is_null(n))
		return 0;   /* {}: every peer, every port */
	ret = ld_fields(ld, n, f, 2);
	if (ret)
		return ret;

	mark = ld_push_key(ld, peers_key);
	ret = ld_check_seq(ld, f[0].val, &np);
	if (!ret && np) {
		r->peers = pw_arena_calloc(ld->a, np, sizeof(*r->peers));
		if (!r->peers)
			ret = ld_err(ld, n, "out of memory");
	}
	for (size_t i = 0; !ret && i < np; i++) {
		yaml_node_t *e = ld_node(ld, f[0].val->data.sequence.items.start[i]);
		size_t m2 = ld_push_idx(ld, i);

		ret = e ? peer(ld, e, policy_ns, &r->peers[i]) : -EINVAL;
		ld_pop(ld, m2);
		if (!ret)
			r->n_peers++;
	}
	ld_pop(ld, mark);
	if (ret)
		return ret;

	mark = ld_push_key(ld, "ports");
	ret = ld_check_seq(ld, f[1].val, &np);
	if (!ret && np) {
		r->ports = pw_arena_calloc(ld->a, np, sizeof(*r->ports));
		if (!r->ports)
			ret = ld_err(ld, n, "out of memory");
	}
	for (size_t i = 0; !ret && i < np; i++) {
		yaml_node_t *e = ld_node(ld, f[1].val->data.sequence.items.start[i]);
		size_t m2 = ld_push_idx(ld, i);

		ret = e ? np_port(ld, e, &r->ports[i]) : -EINVAL;
		ld_pop(ld, m2);
		if (!ret)
			r->n_ports++;
	}
	ld_pop(ld, mark);
	return ret;
}

static int rules(struct ld *ld, yaml_node_t *n, const char *key, const char *peers_key,
		 const char *policy_ns, struct pw_np_rule **out, size_t *n_out)
{
	size_t mark = ld_push_key(ld, key), nr;
	int ret = ld_check_seq(ld, n, &nr);

	*out = NULL;
	*n_out = 0;
	if (!ret && nr) {
		*out = pw_arena_calloc(ld->a, nr, sizeof(**out));
		if (!*out)
			ret = ld_err(ld, n, "out of memory");
	}
	for (size_t i = 0; !ret && i < nr; i++) {
		yaml_node_t *e = ld_node(ld, n->data.sequence.items.start[i]);
		size_t m2 = ld_push_idx(ld, i);

		ret = e ? rule(ld, e, peers_key, policy_ns, &(*out)[i]) : -EINVAL;
		ld_pop(ld, m2);
		if (!ret)
			(*n_out)++;
	}
	ld_pop(ld, mark);
	return ret;
}

static int policy(struct ld *ld, yaml_node_t *obj, struct ld_field *f);

/*
 * A NetworkPolicy is read strictly, as `kubectl apply --validate=strict`
 * does: a field it does not define (matchLabel, ingres, `port` where
 * `ports` belongs...) is an error naming it, never skipped: skipping it
 * would change what the policy allows.
 */
int ld_policy(struct ld *ld, yaml_node_t *obj, struct ld_field *f)
{
	static const char *const top[] = { "apiVersion", "kind", "metadata", "spec", "status" };
	int ret;

	ld->strict = true;
	ret = ld_known_fields(ld, obj, top, sizeof(top) / sizeof(top[0]));
	if (!ret)
		ret = policy(ld, obj, f);
	ld->strict = false;
	return ret;
}

static int policy(struct ld *ld, yaml_node_t *obj, struct ld_field *f)
{
	struct ld_field sf[] = { { "podSelector" }, { "policyTypes" }, { "ingress" }, { "egress" } };
	struct pw_policy pol, *dst;
	struct ld_meta m;
	bool explicit_types = false;
	size_t mark, nt;
	int ret;

	memset(&pol, 0, sizeof(pol));
	if (ld_has(&f[OF_API])) {
		char *api;

		mark = ld_push_key(ld, "apiVersion");
		ret = ld_str(ld, f[OF_API].val, 128, &api);
		if (!ret && strcmp(api, "networking.k8s.io/v1"))
			ret = ld_err(ld, f[OF_API].val, "unsupported NetworkPolicy apiVersion "
				     "\"%s\" (networking.k8s.io/v1)", api);
		ld_pop(ld, mark);
		if (ret)
			return ret;
	}
	ret = ld_metadata(ld, obj, f[OF_META].val, true, &m);
	if (ret)
		return ret;
	pol.ns = m.ns;
	pol.name = m.name;
	pol.loc.file = ld->file;
	pol.loc.line = ld_line(obj);

	mark = ld_push_key(ld, "spec");
	if (ld_is_null(f[OF_SPEC].val)) {
		for (int i = 0; i < 4; i++)
			sf[i].key = sf[i].val = NULL;
	} else {
		ret = ld_fields(ld, f[OF_SPEC].val, sf, 4);
		if (ret)
			goto out;
	}
	{
		size_t m2 = ld_push_key(ld, "podSelector");

		ret = ld_selector(ld, sf[0].val, &pol.pod_sel);
		ld_pop(ld, m2);
		if (ret)
			goto out;
	}
	{
		size_t m2 = ld_push_key(ld, "policyTypes");

		ret = ld_check_seq(ld, sf[1].val, &nt);
		for (size_t i = 0; !ret && i < nt; i++) {
			yaml_node_t *e = ld_node(ld, sf[1].val->data.sequence.items.start[i]);
			size_t m3 = ld_push_idx(ld, i);
			char *t;

			ret = e ? ld_str(ld, e, 64, &t) : -EINVAL;
			if (!ret) {
				if (!strcmp(t, "Ingress"))
					pol.types[0] = true;
				else if (!strcmp(t, "Egress"))
					pol.types[1] = true;
				else
					ret = ld_err(ld, e, "invalid policyType \"%s\" "
						     "(Ingress or Egress)", t);
			}
			ld_pop(ld, m3);
		}
		ld_pop(ld, m2);
		if (ret)
			goto out;
		explicit_types = nt > 0;
	}
	ret = rules(ld, sf[2].val, "ingress", "from", pol.ns, &pol.rules[0], &pol.n_rules[0]);
	if (ret)
		goto out;
	ret = rules(ld, sf[3].val, "egress", "to", pol.ns, &pol.rules[1], &pol.n_rules[1]);
	if (ret)
		goto out;
	pol.types_given = explicit_types;
	if (!explicit_types) {
		/* the API server's defaulting: Ingress always, Egress iff there
		 * is at least one egress rule (`egress: []` does not count) */
		pol.types[0] = true;
		pol.types[1] = pol.n_rules[1] > 0;
	}
out:
	ld_pop(ld, mark);
	if (ret)
		return ret;
	dst = pw_store_add_policy(ld->c);
	if (!dst)
		return ld_err(ld, obj, "out of memory (or too many policies)");
	*dst = pol;
	return 0;
}
