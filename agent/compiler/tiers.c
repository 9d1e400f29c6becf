/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ClusterNetworkPolicy tiers in the compiler: the rules in evaluation
 * order, made NetworkPolicy-shaped (so that peers and ports compile as for
 * NetworkPolicy), which policies select an endpoint, and the resolution of
 * tier precedence into policy entries.
 *
 * The order (the API types' comments): the Admin tier by priority, lower
 * first, rules in the order written, the first match decides (Accept
 * allows, Deny drops, Pass skips the rest of the Admin tier); then
 * NetworkPolicy (when a policy isolates the pod in that direction it
 * decides: allowed if a rule allows, else dropped); then the Baseline tier
 * like the Admin one (its Pass ends in the default); then allow. Equal
 * priorities may be applied in any order by the API's terms: here they go
 * by policy name, so that a compile is deterministic.
 *
 * The datapath has no loop over rules: per (endpoint, direction) the
 * resolution below writes, for every (peer, port shape) some rule names,
 * the verdict of the rules that cover that cell, so that the longest
 * matching entry carries the final verdict (include/podwall/abi.h), with
 * the deciding rule's rank (and that of an Admin Pass before it): what the
 * datapath needs to join the entries of the names a pod learned with the
 * address's (abi.h, "policy"). A domainNames pattern is a peer identity of
 * its own (PW_ID_NAME_MIN and up, from its hash); its entries are resolved
 * among the rules that list it only, as the datapath looks them up apart.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "compiler/domain.h"
#include "compiler/internal.h"

/* --------------------------------------------------------------- building */
static int cnp_order_cmp(const void *ctx, const void *a, const void *b)
{
	const struct pw_cnp *v = ctx, *x = &v[*(const size_t *)a], *y = &v[*(const size_t *)b];

	if (x->tier != y->tier)
		return x->tier < y->tier ? -1 : 1;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* qsort has no context argument in C99: sort indexes by insertion into
 * place, the policies are few (hundreds) and mostly in order already */
static void sort_order(const struct pw_cnp *v, size_t *idx, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		size_t t = idx[i], j = i;

		while (j && cnp_order_cmp(v, &idx[j - 1], &t) > 0) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = t;
	}
}

static const struct pw_labels *ns_labels_of(const struct pw_cluster *c, const char *name)
{
	static const struct pw_labels none;
	const struct pw_namespace *ns = pw_cluster_namespace(c, name);

	return ns ? &ns->labels : &none;
}

/* An ipBlock peer of one address (a Node's). */
static void host_block(struct pw_np_peer *p, const uint8_t addr[16], const struct pw_loc *loc)
{
	memset(p, 0, sizeof(*p));
	p->kind = PW_PEER_IPBLOCK;
	memcpy(p->cidr.addr, addr, 16);
	p->cidr.len = 128;
	p->cidr.is_v4 = !memcmp(addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
	p->loc = *loc;
}

/* The NetworkPolicy shape of one ClusterNetworkPolicy rule (arrays malloc'd). */
static int convert_rule(const struct cctx *x, const struct pw_cnp_rule *cr,
			struct pw_np_rule *out, bool *none)
{
	const struct pw_cluster *c = x->c;
	static const uint8_t protos[3] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
	size_t n_peers = 0, n_ports = 0;

	memset(out, 0, sizeof(*out));
	out->loc = cr->loc;
	for (size_t k = 0; k < cr->n_peers; k++) {
		const struct pw_cnp_peer *p = &cr->peers[k];

		if (p->kind == PW_CNP_NETWORKS)
			n_peers += p->n_cidrs;
		else if (p->kind == PW_CNP_NODES)
			for (size_t i = 0; i < c->n_nodes; i++)
				n_peers += c->nodes[i].n_addrs;
		else if (p->kind == PW_CNP_DOMAINS)
			n_peers += p->n_domains;
		else
			n_peers++;
	}
	for (size_t k = 0; k < cr->n_ports; k++)
		n_ports += cr->ports[k].named && !cr->ports[k].proto ? 3 : 1;
	out->peers = calloc(n_peers ? n_peers : 1, sizeof(*out->peers));
	out->ports = calloc(n_ports ? n_ports : 1, sizeof(*out->ports));
	if (!out->peers || !out->ports)
		return -ENOMEM;
	for (size_t k = 0; k < cr->n_peers; k++) {
		const struct pw_cnp_peer *p = &cr->peers[k];
		struct pw_np_peer *q = &out->peers[out->n_peers];

		switch (p->kind) {
		case PW_CNP_NAMESPACES:
		case PW_CNP_PODS:
			q->kind = PW_PEER_SELECTOR;
			q->ns_sel = p->ns_sel;
			q->pod_sel = p->kind == PW_CNP_PODS ? p->pod_sel : (struct pw_selector){ 0 };
			q->ns_sel.present = true;   /* never "the policy's namespace" */
			q->loc = p->loc;
			out->n_peers++;
			break;
		case PW_CNP_NETWORKS:
			for (size_t i = 0; i < p->n_cidrs; i++, q++) {
				memset(q, 0, sizeof(*q));
				q->kind = PW_PEER_IPBLOCK;
				q->cidr = p->cidrs[i];
				q->loc = p->loc;
				out->n_peers++;
			}
			break;
		case PW_CNP_NODES:
			for (size_t i = 0; i < c->n_nodes; i++) {
				if (!pw_selector_matches(&p->node_sel, &c->nodes[i].labels))
					continue;
				for (size_t a = 0; a < c->nodes[i].n_addrs; a++)
					host_block(&out->peers[out->n_peers++], c->nodes[i].addrs[a],
						   &p->loc);
			}
			break;
		case PW_CNP_DOMAINS:
			/* keyed by the pattern's identity; the datapath joins
			 * the names a pod learned (abi.h) */
			for (size_t i = 0; i < p->n_domains; i++, q++) {
				memset(q, 0, sizeof(*q));
				q->kind = PW_PEER_NAME;
				q->name_id = pw_tiers_name_id(x, p->domains[i]);
				q->loc = p->loc;
				out->n_peers++;
			}
			break;
		}
	}
	for (size_t k = 0; k < cr->n_ports; k++) {
		const struct pw_np_port *p = &cr->ports[k];

		if (p->named && !p->proto) {
			for (int i = 0; i < 3; i++) {
				out->ports[out->n_ports] = *p;
				out->ports[out->n_ports++].proto = protos[i];
			}
		} else {
			out->ports[out->n_ports++] = *p;
		}
	}
	/* n_peers == 0 means "every peer" to NetworkPolicy code: here, nobody */
	*none = !out->n_peers;
	return 0;
}

static int cname_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cname *)a)->pattern, ((const struct cname *)b)->pattern);
}

uint32_t pw_tiers_name_id(const struct cctx *x, const char *pattern)
{
	struct cname k = { pattern, 0 };
	const struct cname *e = x->n_names ? bsearch(&k, x->names, x->n_names, sizeof(k),
						     cname_cmp) : NULL;

	return e ? e->id : PW_ID_ANY;
}

/* The distinct domainNames patterns of every rule, each with its identity. */
static int build_names(struct cctx *x)
{
	const struct pw_cluster *c = x->c;
	size_t n = 0, w = 0;
	uint64_t *h;
	uint32_t *ids;
	int ret;

	for (size_t i = 0; i < c->n_cnps; i++)
		for (size_t r = 0; r < c->cnps[i].n_rules[PW_DIR_EGRESS]; r++) {
			const struct pw_cnp_rule *cr = &c->cnps[i].rules[PW_DIR_EGRESS][r];

			for (size_t k = 0; k < cr->n_peers; k++)
				if (cr->peers[k].kind == PW_CNP_DOMAINS)
					n += cr->peers[k].n_domains;
		}
	if (!n)
		return 0;
	x->names = calloc(n, sizeof(*x->names));
	h = calloc(n, sizeof(*h));
	ids = calloc(n, sizeof(*ids));
	if (!x->names || !h || !ids) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < c->n_cnps; i++)
		for (size_t r = 0; r < c->cnps[i].n_rules[PW_DIR_EGRESS]; r++) {
			const struct pw_cnp_rule *cr = &c->cnps[i].rules[PW_DIR_EGRESS][r];

			for (size_t k = 0; k < cr->n_peers; k++)
				for (size_t d = 0; cr->peers[k].kind == PW_CNP_DOMAINS &&
						   d < cr->peers[k].n_domains; d++)
					x->names[w++].pattern = cr->peers[k].domains[d];
		}
	qsort(x->names, n, sizeof(*x->names), cname_cmp);
	w = 0;
	for (size_t i = 0; i < n; i++)
		if (!w || strcmp(x->names[w - 1].pattern, x->names[i].pattern))
			x->names[w++] = x->names[i];
	for (size_t i = 0; i < w; i++)
		h[i] = pw_hash64(x->names[i].pattern, strlen(x->names[i].pattern));
	/* stable across compiles: the same pattern keeps its identity, and
	 * conntrack entries opened through it (abi.h PW_CT_NAME) keep meaning it */
	ret = pw_assign_ids(h, w, PW_ID_NAME_MIN, PW_ID_NAME_MAX, ids);
	for (size_t i = 0; !ret && i < w; i++)
		x->names[i].id = ids[i];
	x->n_names = w;
out:
	free(h);
	free(ids);
	return ret;
}

static int name_set_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct pw_state_name *)a)->key,
		      &((const struct pw_state_name *)b)->key, sizeof(struct pw_name_key));
}

int pw_tiers_name_set(struct cctx *x)
{
	struct pw_state_name *v = calloc(x->n_names ? x->n_names : 1, sizeof(*v));
	size_t w = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < x->n_names; i++) {
		/* the loader validated the pattern: a refusal here is a bug */
		if (pw_domain_entry(x->names[i].pattern, 0, x->names[i].id, &v[w].key, &v[w].val))
			continue;
		w++;
	}
	qsort(v, w, sizeof(*v), name_set_cmp);
	x->out->names = v;
	x->out->n_names = w;
	return 0;
}

int pw_tiers_build(struct cctx *x)
{
	const struct pw_cluster *c = x->c;
	size_t n = 0, k = 0;
	uint32_t rank = 0;
	int ret;

	x->cnp_order = calloc(c->n_cnps + 1, sizeof(*x->cnp_order));
	x->cnp_first = calloc(c->n_cnps + 1, sizeof(*x->cnp_first));
	for (size_t i = 0; i < c->n_cnps; i++)
		n += c->cnps[i].n_rules[0] + c->cnps[i].n_rules[1];
	x->crules = calloc(n ? n : 1, sizeof(*x->crules));
	x->cmeta = calloc(n ? n : 1, sizeof(*x->cmeta));
	if (!x->cnp_order || !x->cnp_first || !x->crules || !x->cmeta)
		return -ENOMEM;
	if ((ret = build_names(x)))
		return ret;
	for (size_t i = 0; i < c->n_cnps; i++)
		x->cnp_order[i] = i;
	sort_order(c->cnps, x->cnp_order, c->n_cnps);
	for (size_t o = 0; o < c->n_cnps; o++) {
		const struct pw_cnp *cnp = &c->cnps[x->cnp_order[o]];

		x->cnp_first[o] = k;
		for (int d = 0; d < 2; d++)
			for (size_t r = 0; r < cnp->n_rules[d]; r++, k++) {
				struct crule_meta *m = &x->cmeta[k];

				ret = convert_rule(x, &cnp->rules[d][r], &x->crules[k], &m->none);
				x->n_crules = k + 1;
				if (ret)
					return ret;
				m->cnp = x->cnp_order[o];
				m->rank = rank++;
				m->index = (uint32_t)r;
				m->dir = (uint8_t)d;
				m->tier = (uint8_t)cnp->tier;
				m->action = (uint8_t)cnp->rules[d][r].action;
			}
	}
	x->cnp_first[c->n_cnps] = k;
	x->n_crules = k;
	return 0;
}

void pw_tiers_free(struct cctx *x)
{
	for (size_t i = 0; i < x->n_crules; i++) {
		free(x->crules[i].peers);
		free(x->crules[i].ports);
	}
	free(x->crules);
	free(x->cmeta);
	free(x->cnp_order);
	free(x->cnp_first);
	free(x->trules);
	free(x->csel);
	free(x->names);
}

int pw_tiers_select(const struct cctx *x, const struct pw_pod *pod,
		    const struct pw_labels *ns_labels, size_t **out, size_t *n, size_t *cap)
{
	const struct pw_cluster *c = x->c;

	if (!ns_labels)
		ns_labels = ns_labels_of(c, pod->ns);
	for (size_t o = 0; o < c->n_cnps; o++) {
		const struct pw_cnp *cnp = &c->cnps[x->cnp_order[o]];

		if (!pw_selector_matches(&cnp->ns_sel, ns_labels))
			continue;
		if (cnp->subject_pods && !pw_selector_matches(&cnp->pod_sel, &pod->labels))
			continue;
		if (*n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 64;
			size_t *nv = realloc(*out, ncap * sizeof(*nv));

			if (!nv)
				return -ENOMEM;
			*out = nv;
			*cap = ncap;
		}
		(*out)[(*n)++] = o;
	}
	return 0;
}

/* ------------------------------------------------------------- resolution */
/* A raw entry's place in the resolution: by peer, then evaluation order. */
struct tent {
	uint32_t peer;
	uint32_t rank;
	uint32_t rule_id;
	uint32_t plen;
	uint16_t port;     /* host order */
	uint8_t  proto;
	uint8_t  seg;
	uint8_t  action;
};

static int tent_cmp(const void *a, const void *b)
{
	const struct tent *x = a, *y = b;

	if (x->peer != y->peer)
		return x->peer < y->peer ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return (x->rule_id > y->rule_id) - (x->rule_id < y->rule_id);
}

/* A port shape: any protocol (plen 96), any port of proto (112), or the
 * first plen - 112 bits of port. */
struct shape {
	uint32_t plen;
	uint8_t  proto;
	uint16_t port;
};

static int shape_cmp(const void *a, const void *b)
{
	const struct shape *x = a, *y = b;

	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;   /* wider first: ancestors first */
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return (x->port > y->port) - (x->port < y->port);
}

/* Does shape a hold every point of shape b? */
static bool shape_holds(uint32_t aplen, uint8_t aproto, uint16_t aport, const struct shape *b)
{
	uint32_t bits;

	if (aplen > b->plen)
		return false;
	if (aplen == PW_POL_PREFIX_ANY_PROTO)
		return true;
	if (aproto != b->proto)
		return false;
	bits = aplen - PW_POL_PREFIX_ANY_PORT;
	return !bits || !((aport ^ b->port) & (uint16_t)(0xffffu << (16 - bits)));
}

struct verdict {
	uint32_t rule_id;
	uint32_t flags;    /* PW_POL_DENY, PW_POL_DEFAULT */
	uint32_t rank;     /* the deciding rule's (abi.h PW_RANK_*) */
	uint32_t pass;     /* the Admin Pass the cell went through, or PW_RANK_NONE */
};

/* What a miss means to the datapath: the tiers' default. */
static struct verdict default_verdict(bool isolated)
{
	return (struct verdict){ PW_RULE_NONE, PW_POL_DEFAULT | (isolated ? PW_POL_DENY : 0),
				 isolated ? PW_RANK_NP : PW_RANK_NONE, PW_RANK_NONE };
}

static bool verdict_eq(const struct verdict *a, const struct verdict *b)
{
	return a->rule_id == b->rule_id && a->flags == b->flags && a->rank == b->rank &&
	       a->pass == b->pass;
}

/*
 * The verdict at shape s of the rules in a[0..na) and b[0..nb) (the peer's
 * own entries and the any-peer ones, each in evaluation order): the first
 * Admin rule that holds s decides, or passes to the rules after the Admin
 * tier; there the first decides; else the default. The verdict carries the
 * deciding rule's rank (NetworkPolicy's is PW_RANK_NP, as its isolation's
 * default) and the rank of the Admin Pass on the way.
 */
static struct verdict decide(const struct tent *a, size_t na, const struct tent *b, size_t nb,
			     const struct shape *s, bool isolated)
{
	struct verdict v = default_verdict(isolated);
	bool passed = false;
	size_t i = 0, j = 0;

	while (i < na || j < nb) {
		const struct tent *e;

		if (j >= nb || (i < na && tent_cmp(&(struct tent){ 0, a[i].rank, a[i].rule_id },
						   &(struct tent){ 0, b[j].rank, b[j].rule_id }) < 0))
			e = &a[i++];
		else
			e = &b[j++];
		if (!shape_holds(e->plen, e->proto, e->port, s))
			continue;
		if (e->seg == SEG_ADMIN && passed)
			continue;
		if (e->action == PW_ACT_PASS) {
			if (e->seg != SEG_ADMIN)   /* a Baseline Pass: the default, allow */
				return (struct verdict){ e->rule_id, PW_POL_DEFAULT, e->rank, v.pass };
			passed = true;
			v.rule_id = e->rule_id;
			v.pass = e->rank;
			continue;
		}
		return (struct verdict){ e->rule_id, e->action == PW_ACT_DENY ? PW_POL_DENY : 0,
					 e->rank, v.pass };
	}
	return v;
}

static int push_out(struct pw_state_pol **out, size_t *n, size_t *cap, uint32_t peer,
		    const struct pw_state_pol *like, const struct shape *s, struct verdict v)
{
	struct pw_state_pol *e;

	if (*n >= PW_COMPILE_MAX_POLICY)
		return -E2BIG;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct pw_state_pol *nv = realloc(*out, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*out = nv;
		*cap = ncap;
	}
	e = &(*out)[(*n)++];
	memset(e, 0, sizeof(*e));
	e->key.prefixlen = s->plen;
	e->key.dir = like->key.dir;
	e->key.ep_id = like->key.ep_id;
	e->key.peer_id = peer;
	e->key.proto = s->plen == PW_POL_PREFIX_ANY_PROTO ? 0 : s->proto;
	e->key.port = htons(s->plen > PW_POL_PREFIX_ANY_PORT ? s->port : 0);
	e->val.rule_id = v.rule_id;
	e->val.flags = v.flags;
	e->val.rank = v.rank;
	e->val.pass_rank = v.pass;
	return 0;
}

/*
 * One peer's entries: at every shape its rules or the any-peer rules name
 * (a peer's entries hide the any-peer ones from the datapath, so it needs
 * every shape of both). A shape whose verdict is that of its nearest
 * written ancestor is left out (the longest match finds the ancestor);
 * so is, for the any peer, a shape with no written ancestor whose verdict
 * is the default (a miss gives the default). A name peer's own rules alone
 * decide its cells (any is empty then): the datapath looks names up apart
 * and joins them with the address's verdict.
 */
static int resolve_peer(uint32_t peer, const struct tent *own, size_t n_own,
			const struct tent *any, size_t n_any, const struct pw_state_pol *like,
			bool isolated, struct shape *sh, struct verdict *vs, bool *kept,
			struct pw_state_pol **out, size_t *n_out, size_t *cap)
{
	size_t ns = 0, w = 0;
	int ret;

	for (size_t i = 0; i < n_own; i++)
		sh[ns++] = (struct shape){ own[i].plen, own[i].proto, own[i].port };
	for (size_t i = 0; i < n_any && peer != PW_ID_ANY; i++)
		sh[ns++] = (struct shape){ any[i].plen, any[i].proto, any[i].port };
	qsort(sh, ns, sizeof(*sh), shape_cmp);
	for (size_t i = 0; i < ns; i++)
		if (!w || shape_cmp(&sh[w - 1], &sh[i]))
			sh[w++] = sh[i];
	ns = w;
	for (size_t i = 0; i < ns; i++) {
		const struct verdict *up = NULL;

		vs[i] = decide(own, n_own, peer == PW_ID_ANY ? NULL : any,
			       peer == PW_ID_ANY ? 0 : n_any, &sh[i], isolated);
		/* the nearest kept ancestor: the deepest kept shape holding it
		 * (shapes are sorted wider first) */
		for (size_t j = i; j-- > 0;)
			if (kept[j] && shape_holds(sh[j].plen, sh[j].proto, sh[j].port, &sh[i])) {
				up = &vs[j];
				break;
			}
		if (up) {
			kept[i] = !verdict_eq(up, &vs[i]);
		} else {
			struct verdict dv = default_verdict(isolated);

			kept[i] = peer != PW_ID_ANY || !verdict_eq(&dv, &vs[i]);
		}
		if (kept[i] && (ret = push_out(out, n_out, cap, peer, like, &sh[i], vs[i])))
			return ret;
	}
	return 0;
}

int pw_tiers_resolve(struct pw_state_pol *raw, size_t n, const struct tier_rule *rules,
		     bool isolated, struct pw_state_pol **out, size_t *n_out, size_t *cap)
{
	struct tent *t;
	struct shape *sh;
	struct verdict *vs;
	bool *kept;
	size_t n_any = 0;
	int ret = 0;

	if (!n)
		return 0;
	/* a peer's shapes: its own and the any peer's, 2n at most */
	t = malloc(n * sizeof(*t));
	sh = malloc(2 * n * sizeof(*sh));
	vs = malloc(2 * n * sizeof(*vs));
	kept = malloc(2 * n * sizeof(*kept));
	if (!t || !sh || !vs || !kept) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct tier_rule *r = &rules[raw[i].val.rule_id];

		t[i] = (struct tent){ raw[i].key.peer_id, r->rank, raw[i].val.rule_id,
				      raw[i].key.prefixlen, ntohs(raw[i].key.port), raw[i].key.proto,
				      r->seg, r->action };
	}
	qsort(t, n, sizeof(*t), tent_cmp);
	while (n_any < n && t[n_any].peer == PW_ID_ANY)
		n_any++;
	for (size_t i = 0, j; i < n && !ret; i = j) {
		for (j = i + 1; j < n && t[j].peer == t[i].peer; j++)
			;
		/* a name's cells: its own rules only (the datapath joins them) */
		ret = resolve_peer(t[i].peer, t + i, j - i, t,
				   pw_id_is_name(t[i].peer) ? 0 : n_any, &raw[0], isolated, sh,
				   vs, kept, out, n_out, cap);
	}
out:
	free(t);
	free(sh);
	free(vs);
	free(kept);
	return ret;
}
