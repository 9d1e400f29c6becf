/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pw_compile: Kubernetes objects in, desired map state out (DESIGN §3).
 * Pure and deterministic: no syscalls, every output array sorted by key,
 * every pad byte zero, slot 0 in keys.
 *
 * For each local endpoint, each policy selecting it, each direction in the
 * policy's types and each rule, the rule's peers become peer identities
 * (PW_ID_ANY, pod identities, CIDR-group identities) and its ports become
 * LPM keys: any protocol, any port of a protocol, a port, or the prefixes of
 * a port range. Named ports resolve on the destination: the endpoint itself
 * for ingress, each peer pod identity for egress.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compiler/internal.h"
#include "k8s/ip.h"

enum { REF_ANY, REF_POD, REF_GROUP, REF_HOST, REF_NAME /* idx: the name's identity */ };

struct ref {
	uint32_t kind;
	uint32_t idx;
};

struct peers {
	bool        done;
	struct ref *v;
	size_t      n;
};

struct polvec {
	struct pw_state_pol *v;
	size_t               n, cap;
	bool                 oom, full;
};

struct local {
	size_t   pod;
	uint32_t ifindex;
	size_t   sel_lo, sel_hi; /* the policies selecting it: cctx.sel[lo, hi) */
	size_t   csel_lo, csel_hi; /* the ClusterNetworkPolicies: cctx.csel[lo, hi) */
};

static int ref_cmp(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static uint32_t ref_id(const struct cctx *x, const struct ref *r)
{
	switch (r->kind) {
	case REF_POD:
		return x->ids[r->idx].id;
	case REF_GROUP:
		return x->groups[r->idx].id;
	case REF_HOST:
		return PW_ID_HOST;
	case REF_NAME:
		return r->idx;
	default:
		return PW_ID_ANY;
	}
}

static const struct pw_labels *ns_labels(const struct cctx *x, size_t ns)
{
	static const struct pw_labels none;

	return ns == NONE ? &none : &x->c->namespaces[ns].labels;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * A pod selector made ready for many identities: the lengths of its
 * strings measured once, matched against the labels in identity keys
 * (identity.c: length-prefixed, one buffer) rather than with strcmp over
 * each representative pod's labels, scattered in memory. The semantics are
 * pw_sel_op_holds, as for pw_selector_matches (a differential test keeps the
 * two views equal); a selector too big for it uses pw_selector_matches.
 */
#define CSEL_MAX_REQ 16
#define CSEL_MAX_VAL 32

struct csel_req {
	const char  *key;
	uint32_t     klen;
	enum pw_sel_op op;      /* matchLabels entries are PW_SEL_IN, one value */
	size_t       val, n_val; /* in csel.val */
};

#define CSEL_MAX_KEY 512

struct csel {
	const struct pw_selector *sel;
	bool             slow;    /* use pw_selector_matches */
	size_t           n;
	struct csel_req  req[CSEL_MAX_REQ];
	const char      *val[CSEL_MAX_VAL];
	uint32_t         vlen[CSEL_MAX_VAL];
	/* its requirements as bytes, for struct selmemo (key_len 0: too long) */
	uint8_t          key[CSEL_MAX_KEY];
	size_t           key_len;
	uint64_t         key_hash;
};

static void csel_key(struct csel *cs, const void *d, size_t n)
{
	if (cs->key_len && cs->key_len + n <= CSEL_MAX_KEY) {
		memcpy(cs->key + cs->key_len, d, n);
		cs->key_len += n;
	} else {
		cs->key_len = 0;
	}
}

static void csel_key_str(struct csel *cs, const char *str, uint32_t len)
{
	csel_key(cs, &len, sizeof(len));
	csel_key(cs, str, len);
}

static void csel_init(struct csel *cs, const struct pw_selector *sel)
{
	size_t nv = 0;

	cs->sel = sel;
	cs->n = 0;
	cs->key_len = 0;
	cs->slow = sel->present && (sel->match_labels.n + sel->n_exprs > CSEL_MAX_REQ);
	if (!sel->present || cs->slow)
		return;
	for (size_t i = 0; i < sel->match_labels.n; i++) {
		if (nv == CSEL_MAX_VAL) {
			cs->slow = true;
			return;
		}
		cs->req[cs->n++] = (struct csel_req){ sel->match_labels.v[i].key,
			(uint32_t)strlen(sel->match_labels.v[i].key), PW_SEL_IN, nv, 1 };
		cs->val[nv] = sel->match_labels.v[i].value;
		cs->vlen[nv++] = (uint32_t)strlen(sel->match_labels.v[i].value);
	}
	for (size_t i = 0; i < sel->n_exprs; i++) {
		const struct pw_sel_req *r = &sel->exprs[i];

		if (nv + r->n_values > CSEL_MAX_VAL) {
			cs->slow = true;
			return;
		}
		cs->req[cs->n++] = (struct csel_req){ r->key, (uint32_t)strlen(r->key), r->op,
						      nv, r->n_values };
		for (size_t k = 0; k < r->n_values; k++) {
			cs->val[nv] = r->values[k];
			cs->vlen[nv++] = (uint32_t)strlen(r->values[k]);
		}
	}
	/* op, key, values: what csel_matches reads, nothing else */
	cs->key_len = 1;
	cs->key[0] = 'S';
	for (size_t i = 0; i < cs->n; i++) {
		uint32_t op = (uint32_t)cs->req[i].op, nval = (uint32_t)cs->req[i].n_val;

		csel_key(cs, &op, sizeof(op));
		csel_key_str(cs, cs->req[i].key, cs->req[i].klen);
		csel_key(cs, &nval, sizeof(nval));
		for (size_t k = cs->req[i].val; k < cs->req[i].val + nval; k++)
			csel_key_str(cs, cs->val[k], cs->vlen[k]);
	}
	if (cs->key_len)
		cs->key_hash = pw_fast_hash(cs->key, cs->key_len);
}

static bool csel_in(const struct csel *cs, const struct csel_req *r, const uint8_t *v,
		    uint32_t vlen)
{
	for (size_t k = r->val; k < r->val + r->n_val; k++)
		if (cs->vlen[k] == vlen && !memcmp(cs->val[k], v, vlen))
			return true;
	return false;
}

static bool csel_matches(const struct csel *cs, const struct podid *id)
{
	if (!cs->sel->present)
		return true;
	if (cs->slow)
		return pw_selector_matches(cs->sel, &id->rep->labels);
	for (size_t i = 0; i < cs->n; i++) {
		const struct csel_req *r = &cs->req[i];
		uint32_t vlen = 0;
		const uint8_t *v = pw_key_label(id, r->key, r->klen, &vlen);

		if (!pw_sel_op_holds(r->op, v, v && csel_in(cs, r, v, vlen)))
			return false;
	}
	return true;
}

static int ref_push(struct peers *out, size_t *cap, struct ref r)
{
	if (out->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct ref *nv = realloc(out->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		out->v = nv;
		*cap = ncap;
	}
	out->v[out->n++] = r;
	return 0;
}

/* The pod identities an ipBlock holds: those whose address is in its cidr
 * (a range of ids sorted by address), less the excepts. */
static int block_pods(struct cctx *x, const struct pw_np_peer *p, struct peers *out,
		      size_t *cap)
{
	uint8_t lo[16];
	size_t a = 0, b;

	if (!x->by_ip) {
		/* by address, then index (a stable sort of the indexes) */
		struct { uint8_t ip[16]; uint32_t i; } *t = malloc((x->n_ids ? x->n_ids : 1) * sizeof(*t));

		x->by_ip = malloc((x->n_ids ? x->n_ids : 1) * sizeof(*x->by_ip));
		if (!t || !x->by_ip || x->n_ids > UINT32_MAX) {
			free(t);
			return -ENOMEM;
		}
		for (size_t i = 0; i < x->n_ids; i++) {
			memcpy(t[i].ip, x->ids[i].rep_ip, 16);
			t[i].i = (uint32_t)i;
		}
		if (pw_sort_bytes(t, x->n_ids, sizeof(*t), 16)) {
			free(t);
			return -ENOMEM;
		}
		for (size_t i = 0; i < x->n_ids; i++)
			x->by_ip[i] = t[i].i;
		free(t);
	}
	memcpy(lo, p->cidr.addr, 16);
	pw_prefix_mask(lo, p->cidr.len);
	b = x->n_ids;
	while (a < b) {
		size_t mid = a + (b - a) / 2;

		if (memcmp(x->ids[x->by_ip[mid]].rep_ip, lo, 16) < 0)
			a = mid + 1;
		else
			b = mid;
	}
	for (; a < x->n_ids && pw_cidr_has_addr(&p->cidr, x->ids[x->by_ip[a]].rep_ip); a++) {
		size_t j = x->by_ip[a];
		int ret;

		if (!pw_block_has_addr(p, x->ids[j].rep_ip))
			continue;
		ret = ref_push(out, cap, (struct ref){ REF_POD, (uint32_t)j });
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The first CIDR group whose address is >= addr. The groups inside an
 * ipBlock's cidr are adjacent in x->groups (sorted by address, then length):
 * from there, as long as the address stays inside the cidr. Walking every
 * group for every ipBlock peer instead made N /32 blocks cost N^2 (issue 9).
 */
static size_t groups_from(const struct cctx *x, const uint8_t addr[16])
{
	size_t lo = 0, hi = x->n_groups;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(x->groups[mid].pfx.addr, addr, 16) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The identities of a range that a pod selector matches, remembered for the
 * compile: policies repeat selectors ("tier: web" in a policy of every
 * namespace) over the same namespaces. Keyed by the selector's bytes
 * (csel.key) and the range. Only a help: without memory for it, nothing is
 * remembered and every match is made again.
 */
struct selmemo_e {
	uint64_t hash;
	size_t   rg;
	size_t   key_off, key_len;   /* in keys */
	size_t   ids_off, n_ids;     /* in ids */
};

struct selmemo {
	struct selmemo_e *v;
	size_t            n, cap;
	uint32_t         *slot;      /* index + 1, open addressing */
	size_t            mask;
	uint8_t          *keys;
	size_t            n_keys, cap_keys;
	uint32_t         *ids;
	size_t            n_idv, cap_idv;
	uint32_t         *scratch;   /* ns_matching's answer */
	size_t            cap_scratch;
};

static void selmemo_free(struct selmemo *m)
{
	free(m->v);
	free(m->slot);
	free(m->keys);
	free(m->ids);
	free(m->scratch);
	memset(m, 0, sizeof(*m));
}

static uint64_t selmemo_hash(const struct csel *cs, size_t rg)
{
	return cs->key_hash ^ ((uint64_t)rg + 1) * 0x9e3779b97f4a7c15ULL;
}

static const struct selmemo_e *selmemo_find(const struct selmemo *m, const struct csel *cs,
					     size_t rg)
{
	uint64_t h = selmemo_hash(cs, rg);

	if (!m->slot)
		return NULL;
	for (size_t i = h & m->mask; m->slot[i]; i = (i + 1) & m->mask) {
		const struct selmemo_e *e = &m->v[m->slot[i] - 1];

		if (e->hash == h && e->rg == rg && e->key_len == cs->key_len &&
		    !memcmp(m->keys + e->key_off, cs->key, cs->key_len))
			return e;
	}
	return NULL;
}

static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 64;
	void *np;

	if (need <= *cap)
		return true;
	while (ncap < need)
		ncap *= 2;
	np = realloc(*p, ncap * size);
	if (!np)
		return false;
	*p = np;
	*cap = ncap;
	return true;
}

static void selmemo_add(struct selmemo *m, const struct csel *cs, size_t rg, const struct ref *r,
			size_t n)
{
	struct selmemo_e *e;
	size_t i;

	if (m->n + 1 > (m->mask + 1) / 2 || !m->slot) {   /* the table, twice as big */
		size_t cap = m->slot ? (m->mask + 1) * 2 : 256;
		uint32_t *slot = calloc(cap, sizeof(*slot));

		if (!slot)
			return;
		for (size_t k = 0; k < m->n; k++) {
			for (i = m->v[k].hash & (cap - 1); slot[i]; i = (i + 1) & (cap - 1))
				;
			slot[i] = (uint32_t)k + 1;
		}
		free(m->slot);
		m->slot = slot;
		m->mask = cap - 1;
	}
	if (m->n >= UINT32_MAX - 1 || !grow((void **)&m->v, &m->cap, m->n + 1, sizeof(*m->v)) ||
	    !grow((void **)&m->keys, &m->cap_keys, m->n_keys + cs->key_len, 1) ||
	    !grow((void **)&m->ids, &m->cap_idv, m->n_idv + n, sizeof(*m->ids)))
		return;
	e = &m->v[m->n];
	*e = (struct selmemo_e){ selmemo_hash(cs, rg), rg, m->n_keys, cs->key_len, m->n_idv, n };
	memcpy(m->keys + m->n_keys, cs->key, cs->key_len);
	m->n_keys += cs->key_len;
	for (size_t k = 0; k < n; k++)
		m->ids[m->n_idv++] = r[k].idx;
	for (i = e->hash & m->mask; m->slot[i]; i = (i + 1) & m->mask)
		;
	m->slot[i] = (uint32_t)++m->n;
}

/* The identities of range rg that pod selector cs matches. */
static int push_matching(size_t rg, const struct cctx *x, const struct csel *cs,
			 struct selmemo *memo, struct peers *out, size_t *cap)
{
	const struct nsrange *ns = &x->nsr[rg];
	const struct selmemo_e *e = cs->key_len ? selmemo_find(memo, cs, rg) : NULL;
	size_t first = out->n;
	int ret;

	if (e) {
		for (size_t k = 0; k < e->n_ids; k++)
			if ((ret = ref_push(out, cap, (struct ref){ REF_POD, memo->ids[e->ids_off + k] })))
				return ret;
		return 0;
	}
	for (size_t j = ns->lo; j < ns->hi; j++) {
		if (!csel_matches(cs, &x->ids[j]))
			continue;
		ret = ref_push(out, cap, (struct ref){ REF_POD, (uint32_t)j });
		if (ret)
			return ret;
	}
	if (cs->key_len)   /* (no refs yet: out->v may be NULL) */
		selmemo_add(memo, cs, rg, out->n > first ? out->v + first : NULL, out->n - first);
	return 0;
}

/* A range index no range has: namespace selectors' entries in selmemo. */
#define NS_SELECTOR ((size_t)-2)

/*
 * The identity ranges of the namespaces a namespace selector matches, in
 * memo->scratch[0, *n) (a copy: push_matching may move memo->ids), and
 * remembered by the selector's bytes: selectors repeat over policies, and
 * each was matched against every namespace.
 */
static int ns_matching(const struct cctx *x, const struct pw_selector *sel, struct selmemo *memo,
		       size_t *n)
{
	struct csel cs;
	const struct selmemo_e *e;
	struct peers tmp = { 0 };
	size_t cap = 0;

	*n = 0;
	csel_init(&cs, sel);   /* for its bytes */
	e = cs.key_len ? selmemo_find(memo, &cs, NS_SELECTOR) : NULL;
	if (!e) {
		for (size_t rg = 0; rg < x->n_nsr; rg++)
			if (pw_selector_matches(sel, ns_labels(x, x->nsr[rg].ns)) &&
			    ref_push(&tmp, &cap, (struct ref){ REF_POD, (uint32_t)rg })) {
				free(tmp.v);
				return -ENOMEM;
			}
		if (cs.key_len)
			selmemo_add(memo, &cs, NS_SELECTOR, tmp.v, tmp.n);
	}
	if (!grow((void **)&memo->scratch, &memo->cap_scratch, e ? e->n_ids : tmp.n,
		  sizeof(*memo->scratch))) {
		free(tmp.v);
		return -ENOMEM;
	}
	*n = e ? e->n_ids : tmp.n;
	for (size_t k = 0; k < *n; k++)
		memo->scratch[k] = e ? memo->ids[e->ids_off + k] : tmp.v[k].idx;
	free(tmp.v);
	return 0;
}

/* The peers of one rule, as identities (computed once per rule). pol_ns:
 * the policy's namespace, index in c->namespaces, or NONE. */
static int rule_peers(struct cctx *x, const struct pw_policy *pol, size_t pol_ns,
		      const struct pw_np_rule *rule, struct selmemo *memo, struct peers *out)
{
	struct csel cs;
	size_t cap = 0, n_rgs;

	out->done = true;
	if (!rule->n_peers) {
		out->v = malloc(sizeof(*out->v));
		if (!out->v)
			return -ENOMEM;
		out->v[0] = (struct ref){ REF_ANY, 0 };
		out->n = 1;
		return 0;
	}
	for (size_t k = 0; k < rule->n_peers; k++) {
		const struct pw_np_peer *p = &rule->peers[k];
		int ret;

		if (p->kind == PW_PEER_NAME) {
			if (p->name_id == PW_ID_ANY)
				continue;
			ret = ref_push(out, &cap, (struct ref){ REF_NAME, p->name_id });
			if (ret)
				return ret;
			continue;
		}
		if (p->kind == PW_PEER_IPBLOCK) {
			ret = block_pods(x, p, out, &cap);
			for (size_t h = 0; !ret && h < x->o.n_host_addrs; h++)
				if (pw_block_has_addr(p, x->o.host_addrs[h])) {
					ret = ref_push(out, &cap, (struct ref){ REF_HOST, 0 });
					break;
				}
			for (size_t g = groups_from(x, p->cidr.addr);
			     !ret && g < x->n_groups && pw_cidr_has_addr(&p->cidr, x->groups[g].pfx.addr);
			     g++)
				if (pw_block_has_prefix(p, &x->groups[g].pfx))
					ret = ref_push(out, &cap, (struct ref){ REF_GROUP, (uint32_t)g });
			if (ret)
				return ret;
			continue;
		}
		/* a selector peer only holds pods of the namespaces it selects:
		 * walk those namespaces' identities (adjacent in ids), not all */
		csel_init(&cs, &p->pod_sel);
		ret = 0;
		if (!p->ns_sel.present && pol_ns != NONE) {
			/* the policy's own namespace: its ranges are chained */
			for (size_t rg = x->nsr_first[pol_ns]; rg != NONE && !ret; rg = x->nsr_next[rg])
				ret = push_matching(rg, x, &cs, memo, out, &cap);
		} else if (p->ns_sel.present) {
			ret = ns_matching(x, &p->ns_sel, memo, &n_rgs);
			for (size_t k = 0; k < n_rgs && !ret; k++)
				ret = push_matching(memo->scratch[k], x, &cs, memo, out, &cap);
		} else {
			for (size_t rg = 0; rg < x->n_nsr && !ret; rg++)
				if (!strcmp(x->nsr[rg].name, pol->ns))
					ret = push_matching(rg, x, &cs, memo, out, &cap);
		}
		if (ret)
			return ret;
	}
	if (out->n) {
		size_t w = 0, k = 1;

		/* one peer gives its refs in order already: sort only if not */
		while (k < out->n && ref_cmp(&out->v[k - 1], &out->v[k]) < 0)
			k++;
		if (k < out->n)
			qsort(out->v, out->n, sizeof(*out->v), ref_cmp);
		for (size_t i = 0; i < out->n; i++)
			if (!w || ref_cmp(&out->v[w - 1], &out->v[i]))
				out->v[w++] = out->v[i];
		out->n = w;
	}
	return 0;
}

static void emit(struct polvec *pv, uint8_t dir, uint32_t ep, uint32_t peer, uint8_t proto,
		 uint16_t port, uint32_t plen, uint32_t rule_id)
{
	struct pw_state_pol *e;

	if (pv->oom || pv->full)
		return;
	if (pv->n == pv->cap) {
		size_t ncap = pv->cap ? pv->cap * 2 : 256;
		struct pw_state_pol *nv;

		if (pv->n >= PW_COMPILE_MAX_POLICY) {
			pv->full = true;
			return;
		}
		nv = realloc(pv->v, ncap * sizeof(*nv));
		if (!nv) {
			pv->oom = true;
			return;
		}
		pv->v = nv;
		pv->cap = ncap;
	}
	e = &pv->v[pv->n++];
	memset(e, 0, sizeof(*e));
	e->key.prefixlen = plen;
	e->key.slot = 0;
	e->key.dir = dir;
	e->key.ep_id = ep;
	e->key.peer_id = peer;
	e->key.proto = proto;
	e->key.port = htons(port);
	e->val.rule_id = rule_id;
	e->val.flags = 0;
}

#define MAX_NAMED 16

static void emit_rule(const struct cctx *x, struct polvec *pv, uint8_t dir, uint32_t ep,
		      const struct pw_pod *ep_pod, const struct pw_np_rule *rule,
		      const struct peers *peers, uint32_t rule_id)
{
	if (!rule->n_ports) {
		for (size_t i = 0; i < peers->n; i++)
			emit(pv, dir, ep, ref_id(x, &peers->v[i]), 0, 0, PW_POL_PREFIX_ANY_PROTO,
			     rule_id);
		return;
	}
	for (size_t k = 0; k < rule->n_ports; k++) {
		const struct pw_np_port *p = &rule->ports[k];
		uint16_t nums[MAX_NAMED];
		size_t nn;

		if (!p->has_port) {
			for (size_t i = 0; i < peers->n; i++)
				emit(pv, dir, ep, ref_id(x, &peers->v[i]), p->proto, 0,
				     PW_POL_PREFIX_ANY_PORT, rule_id);
		} else if (!p->named) {
			struct port_prefix pp[32];
			size_t np = pw_port_range_split(p->port, p->end_port ? p->end_port
							   : p->port, pp);

			for (size_t i = 0; i < peers->n; i++)
				for (size_t j = 0; j < np; j++)
					emit(pv, dir, ep, ref_id(x, &peers->v[i]), p->proto,
					     pp[j].port, PW_POL_PREFIX_ANY_PORT + pp[j].bits,
					     rule_id);
		} else if (dir == PW_DIR_INGRESS) {
			/* the destination is the endpoint itself */
			nn = pw_named_port(ep_pod, p->named, p->proto, nums, MAX_NAMED);
			for (size_t i = 0; i < peers->n; i++)
				for (size_t j = 0; j < nn && j < MAX_NAMED; j++)
					emit(pv, dir, ep, ref_id(x, &peers->v[i]), p->proto,
					     nums[j], PW_POL_PREFIX_FULL, rule_id);
		} else {
			/* the destination is the peer: only pods name ports */
			for (size_t i = 0; i < peers->n; i++) {
				const struct ref *r = &peers->v[i];
				size_t lo = r->idx, hi = r->idx + 1;

				if (r->kind == REF_GROUP || r->kind == REF_HOST)
					continue;
				if (r->kind == REF_ANY) {
					lo = 0;
					hi = x->n_ids;
				}
				for (size_t j = lo; j < hi; j++) {
					nn = pw_named_port(x->ids[j].rep, p->named, p->proto, nums,
							   MAX_NAMED);
					for (size_t q = 0; q < nn && q < MAX_NAMED; q++)
						emit(pv, dir, ep, x->ids[j].id, p->proto, nums[q],
						     PW_POL_PREFIX_FULL, rule_id);
				}
			}
		}
	}
}

static int pol_cmp(const void *a, const void *b)
{
	const struct pw_state_pol *x = a, *y = b;
	int r = memcmp(&x->key, &y->key, sizeof(x->key));

	if (r)
		return r;
	return (x->val.rule_id > y->val.rule_id) - (x->val.rule_id < y->val.rule_id);
}

/*
 * Keep one entry per key, the one of the lowest rule_id, in place; returns
 * how many are left (in no particular order) and whether keys are now
 * distinct. Without memory for the table, everything stays: the sort and
 * merge after it dedup as well.
 */
static size_t pol_dedup(struct pw_state_pol *v, size_t n, bool *distinct)
{
	size_t cap = 64, w = 0;
	uint32_t *slot;

	*distinct = false;
	while (cap < n * 2)
		cap *= 2;
	if (n < 64 || n > UINT32_MAX / 2 || !(slot = calloc(cap, sizeof(*slot))))
		return n;
	*distinct = true;
	for (size_t i = 0; i < n; i++) {
		size_t h = (size_t)pw_fast_hash(&v[i].key, sizeof(v[i].key)) & (cap - 1);

		for (;; h = (h + 1) & (cap - 1)) {
			struct pw_state_pol *e;

			if (!slot[h]) {
				v[w] = v[i];
				slot[h] = (uint32_t)++w;
				break;
			}
			e = &v[slot[h] - 1];
			if (!memcmp(&e->key, &v[i].key, sizeof(e->key))) {
				if (v[i].val.rule_id < e->val.rule_id)
					e->val = v[i].val;
				break;
			}
		}
	}
	free(slot);
	return w;
}

/* ---------------------------------------------------------------- ipcache */
struct ipc_tmp {
	struct pw_state_ipc e;
	uint64_t            prio;   /* lower wins a shared key: pods, services, groups */
	uint32_t            at;     /* its place in the order made (struct pw_ipc_memo) */
};

static int ipc_tmp_cmp(const void *a, const void *b)
{
	const struct ipc_tmp *x = a, *y = b;
	int r = memcmp(&x->e.key, &y->e.key, sizeof(x->e.key));

	if (r)
		return r;
	return (x->prio > y->prio) - (x->prio < y->prio);
}

static void ipc_set(struct ipc_tmp *t, const uint8_t addr[16], unsigned len, uint32_t id,
		    uint32_t flags, uint64_t prio)
{
	memset(t, 0, sizeof(*t));
	t->e.key.prefixlen = PW_IPC_PREFIX_BASE + len;
	memcpy(t->e.key.addr, addr, 16);
	t->e.val.identity = id;
	t->e.val.flags = flags;
	t->prio = prio;
}

/*
 * A Service of the cluster DNS: in the DNS namespace, selecting the DNS
 * pods' label. Its ClusterIP is where pods send queries; the datapath
 * remembers those for name learning (PW_IPC_DNS_SERVICE).
 */
static bool is_dns_service(const struct cctx *x, const struct pw_service *svc)
{
	if (!svc->ns || strcmp(svc->ns, x->o.dns_namespace))
		return false;
	for (size_t i = 0; i < svc->selector.n; i++)
		if (!strcmp(svc->selector.v[i].key, x->o.dns_label_key))
			return !strcmp(svc->selector.v[i].value, x->o.dns_label_value);
	return false;
}

static uint32_t service_identity(const struct cctx *x, const uint8_t ip[16])
{
	size_t g = pw_longest_group(x, ip);

	return g == NONE ? PW_ID_WORLD : x->groups[g].id;
}

/* The last ipcache's order holds for the n entries t (their keys, in the
 * order made, are the memo's)? */
static bool ipc_memo_fits(const struct pw_ipc_memo *m, const struct ipc_tmp *t, size_t n)
{
	if (!m->keys || m->n != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (memcmp(&m->keys[i], &t[i].e.key, sizeof(t[i].e.key)))
			return false;
	return true;
}

/* A memo of the n entries t, in the order made; keep is filled by the sort. */
static int ipc_memo_begin(struct pw_ipc_memo *m, const struct ipc_tmp *t, size_t n)
{
	pw_ipc_memo_free(m);
	m->keys = malloc((n ? n : 1) * sizeof(*m->keys));
	m->keep = malloc((n ? n : 1) * sizeof(*m->keep));
	if (!m->keys || !m->keep || n > UINT32_MAX) {
		pw_ipc_memo_free(m);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		m->keys[i] = t[i].e.key;
	m->n = n;
	return 0;
}

static int build_ipcache(struct cctx *x)
{
	const struct pw_cluster *c = x->c;
	struct ipc_tmp *t;
	size_t n = x->n_groups + 1 + x->o.n_host_addrs, w = 0;

	for (size_t i = 0; i < c->n_pods; i++)
		n += c->pods[i].n_ips;
	for (size_t i = 0; i < c->n_services; i++)
		n += c->services[i].n_cluster_ips;
	t = calloc(n ? n : 1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	n = 0;
	for (size_t i = 0; i < c->n_pods; i++)
		for (size_t k = 0; k < c->pods[i].n_ips && k < 2; k++) {
			const struct podid *id = &x->ids[x->pod_id[i][k]];

			ipc_set(&t[n++], c->pods[i].ips[k], 128, id->id,
				PW_IPC_POD | (id->dns ? PW_IPC_DNS : 0), i);
		}
	/* the node's addresses: after pods (a hostNetwork pod shares them) */
	for (size_t i = 0; i < x->o.n_host_addrs; i++)
		ipc_set(&t[n++], x->o.host_addrs[i], 128, PW_ID_HOST, 0, (1ULL << 39) + i);
	/* A ClusterIP is an address like any other to the ipBlocks that hold
	 * it (a packet from it, after un-DNAT, matches them): the identity of
	 * its longest CIDR group, or world; the entry exists for its flags. */
	for (size_t i = 0; i < c->n_services; i++)
		for (size_t k = 0; k < c->services[i].n_cluster_ips && k < 2; k++)
			ipc_set(&t[n++], c->services[i].cluster_ips[k], 128,
				service_identity(x, c->services[i].cluster_ips[k]),
				PW_IPC_SERVICE |
				(is_dns_service(x, &c->services[i]) ? PW_IPC_DNS_SERVICE : 0), (1ULL << 40) + i);
	for (size_t i = 0; i < x->n_groups; i++)
		ipc_set(&t[n++], x->groups[i].pfx.addr, x->groups[i].pfx.len, x->groups[i].id,
			0, (1ULL << 41) + i);
	/* IPv4 addresses must not fall into an IPv6 block covering ::ffff:0:0/96
	 * (cidr.c); when 0.0.0.0/0 is a group, its entry wins this key */
	if (x->v6_covers_v4)
		ipc_set(&t[n++], pw_v4_mapped_space.addr, pw_v4_mapped_space.len, PW_ID_WORLD, 0,
			1ULL << 42);
	for (size_t i = 0; i < n; i++)
		t[i].at = (uint32_t)i;
	x->out->ipc = calloc(n ? n : 1, sizeof(*x->out->ipc));
	if (!x->out->ipc) {
		free(t);
		return -ENOMEM;
	}
	if (x->o.cache && ipc_memo_fits(pw_cache_ipc(x->o.cache), t, n)) {
		const struct pw_ipc_memo *m = pw_cache_ipc(x->o.cache);

		for (size_t i = 0; i < m->n_keep; i++)
			x->out->ipc[i] = t[m->keep[i]].e;
		x->out->n_ipc = m->n_keep;
		free(t);
		return 0;
	}
	if (x->o.cache && ipc_memo_begin(&x->ipc_memo, t, n)) {
		free(t);
		return -ENOMEM;
	}
	/* by key, then prio: t is in prio order already, and the radix sort
	 * is stable (qsort, if it has no memory) */
	_Static_assert(offsetof(struct ipc_tmp, e.key) == 0, "the key leads");
	if (pw_sort_bytes(t, n, sizeof(*t), sizeof(t->e.key)))
		qsort(t, n, sizeof(*t), ipc_tmp_cmp);
	for (size_t i = 0; i < n; i++)
		if (!w || memcmp(&x->out->ipc[w - 1].key, &t[i].e.key, sizeof(t[i].e.key))) {
			if (x->ipc_memo.keep)
				x->ipc_memo.keep[w] = t[i].at;
			x->out->ipc[w++] = t[i].e;
		}
	x->out->n_ipc = w;
	x->ipc_memo.n_keep = w;
	free(t);
	return 0;
}

/* ------------------------------------------------------------ identities */
static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_TCP ? "TCP" : p == IPPROTO_UDP ? "UDP" : p == IPPROTO_SCTP ? "SCTP" : "?";
}

/* Appending to a string of len bytes, cut at len - 1 bytes (hot: one per
 * identity and per rule, so no printf). */
struct sbuf {
	char  *buf;
	size_t len, pos;
};

static void sb_mem(struct sbuf *b, const void *s, size_t n)
{
	size_t room;

	if (b->pos >= b->len - 1)
		return;
	room = b->len - 1 - b->pos;
	if (n > room)
		n = room;
	memcpy(b->buf + b->pos, s, n);
	b->pos += n;
	b->buf[b->pos] = 0;
}

static void sb_str(struct sbuf *b, const char *s)
{
	if (b->pos < b->len - 1)
		sb_mem(b, s, strlen(s));
}

static void sb_uint(struct sbuf *b, unsigned v)
{
	char t[16];
	size_t k = sizeof(t) - 1;

	t[k] = 0;
	do {
		t[--k] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	sb_str(b, t + k);
}

static void pod_desc(const struct cctx *x, const struct podid *id, char *buf, size_t len)
{
	const struct pw_pod *pod = id->rep;
	struct sbuf b = { buf, len, 0 };
	const uint8_t *kp = id->key + 1;   /* past 'P': the strings, with their lengths */
	uint32_t n;

	/* "ns=NS k=v,k=v ports=name=80/TCP,... in=CIDR", namespace and labels
	 * read from the key (identity.c), hot in cache, not from every pod */
	sb_str(&b, "ns=");
	n = be32(kp);
	sb_mem(&b, kp + 4, n);
	kp += 4 + n;
	n = be32(kp);
	kp += 4;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t kl = be32(kp), vl = be32(kp + 4 + kl);

		sb_mem(&b, i ? "," : " ", 1);
		sb_mem(&b, kp + 4, kl);
		sb_mem(&b, "=", 1);
		sb_mem(&b, kp + 8 + kl, vl);
		kp += 8 + kl + vl;
	}
	if (!id->split)
		return;
	for (size_t i = 0, k = 0; i < pod->n_ports; i++) {
		if (!pod->ports[i].name)
			continue;
		sb_str(&b, k++ ? "," : " ports=");
		sb_str(&b, pod->ports[i].name);
		sb_str(&b, "=");
		sb_uint(&b, pod->ports[i].port);
		sb_str(&b, "/");
		sb_str(&b, proto_name(pod->ports[i].proto));
	}
	if (id->group != NONE) {
		char cidr[64];

		pw_cidr_format(&x->groups[id->group].pfx, cidr, sizeof(cidr));
		sb_str(&b, " in=");
		sb_str(&b, cidr);
	}
}

static int build_ids(struct cctx *x)
{
	static const char *const reserved[] = { "any", "host", "world" };
	size_t n_pc = 3 + x->n_ids + x->n_groups, n = n_pc + x->n_names;
	struct pw_state_identity *v = calloc(n, sizeof(*v));
	/* id in the high half, source in the low one: 0..2 reserved, then
	 * pod identities, then CIDR groups */
	uint64_t *o = malloc(n * sizeof(*o));
	uint32_t *at = malloc(n * sizeof(*at));   /* per source: its place */

	if (!v || !o || !at || n > UINT32_MAX) {
		free(v);
		free(o);
		free(at);
		return -ENOMEM;
	}
	/* sort by id first (ids are distinct), then write each in its place */
	for (size_t k = 0; k < n; k++) {
		uint32_t id = k < 3 ? (uint32_t)k
			: k < 3 + x->n_ids ? x->ids[k - 3].id
			: k < n_pc ? x->groups[k - 3 - x->n_ids].id : x->names[k - n_pc].id;

		o[k] = (uint64_t)id << 32 | k;
	}
	if (pw_sort_hi32(o, n)) {
		free(v);
		free(o);
		free(at);
		return -ENOMEM;
	}
	for (size_t k = 0; k < n; k++)
		at[(uint32_t)o[k]] = (uint32_t)k;
	/* in source order: identity keys are read in the order they lie */
	for (size_t i = 0; i < n; i++) {
		size_t k = at[i];

		v[k].id = (uint32_t)(o[k] >> 32);
		if (i < 3) {
			v[k].kind = PW_IDK_RESERVED;
			snprintf(v[k].desc, sizeof(v[k].desc), "%s", reserved[i]);
		} else if (i < 3 + x->n_ids) {
			v[k].kind = PW_IDK_POD;
			pod_desc(x, &x->ids[i - 3], v[k].desc, sizeof(v[k].desc));
		} else if (i < n_pc) {
			v[k].kind = PW_IDK_CIDR;
			pw_cidr_format(&x->groups[i - 3 - x->n_ids].pfx, v[k].desc, sizeof(v[k].desc));
		} else {
			v[k].kind = PW_IDK_NAME;
			snprintf(v[k].desc, sizeof(v[k].desc), "%s", x->names[i - n_pc].pattern);
		}
	}
	free(o);
	free(at);
	x->out->ids = v;
	x->out->n_ids = n;
	return 0;
}

/* ------------------------------------------------------------------ rules */
static int build_rules(struct cctx *x)
{
	const struct pw_cluster *c = x->c;
	size_t n = 0, k = 0;

	x->rule_base = calloc(c->n_policies ? c->n_policies : 1, sizeof(*x->rule_base));
	if (!x->rule_base)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_policies; i++) {
		x->rule_base[i] = n;
		n += c->policies[i].n_rules[0] + c->policies[i].n_rules[1];
	}
	x->crule_base = n;
	n += x->n_crules;
	if (n >= PW_RULE_NONE)
		return -E2BIG;
	x->out->rules = calloc(n ? n : 1, sizeof(*x->out->rules));
	x->trules = calloc(n ? n : 1, sizeof(*x->trules));
	if (!x->out->rules || !x->trules)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_policies; i++) {
		const struct pw_policy *pol = &c->policies[i];
		size_t first = k;

		/* the names are scattered over the loader's memory: ask for a
		 * later policy's now, so that the misses overlap */
		if (i + 8 < c->n_policies) {
			__builtin_prefetch(c->policies[i + 8].ns);
			__builtin_prefetch(c->policies[i + 8].name);
		}
		for (int d = 0; d < 2; d++)
			for (size_t r = 0; r < pol->n_rules[d]; r++, k++) {
				struct pw_state_rule *sr = &x->out->rules[k];

				sr->rule_id = (uint32_t)k;
				sr->dir = (uint8_t)d;
				sr->rule_index = (uint32_t)r;
				if (k == first) {
					struct sbuf b = { sr->policy, sizeof(sr->policy), 0 };

					sb_str(&b, pol->ns); /* "ns/name" */
					sb_str(&b, "/");
					sb_str(&b, pol->name);
				} else {   /* the policy's other rules: the same name */
					memcpy(sr->policy, x->out->rules[first].policy, sizeof(sr->policy));
				}
			}
	}
	/* NetworkPolicy rules: after the Admin tier, all of one rank (a union) */
	for (size_t i = 0; i < x->crule_base; i++)
		x->trules[i] = (struct tier_rule){ UINT32_MAX / 2, SEG_NEXT, PW_ACT_ACCEPT };
	for (size_t i = 0; i < x->n_crules; i++, k++) {
		const struct crule_meta *m = &x->cmeta[i];
		const struct pw_cnp *cnp = &c->cnps[m->cnp];
		const struct pw_cnp_rule *cr = &cnp->rules[m->dir][m->index];
		struct pw_state_rule *sr = &x->out->rules[k];
		struct sbuf b = { sr->policy, sizeof(sr->policy), 0 };

		sr->rule_id = (uint32_t)k;
		sr->dir = m->dir;
		sr->tier = m->tier;
		sr->action = m->action;
		sr->rule_index = m->index;
		sr->priority = (uint32_t)cnp->priority;
		sb_str(&b, m->tier == PW_TIER_ADMIN ? "Admin tier policy " : "Baseline tier policy ");
		sr->cnp_at = (uint16_t)b.pos;
		sb_str(&b, cnp->name);
		sr->cnp_len = (uint16_t)(b.pos - sr->cnp_at);
		sb_str(&b, " priority ");
		sb_uint(&b, (unsigned)cnp->priority);
		sb_str(&b, " rule ");
		sr->rule_at = (uint16_t)b.pos;
		sb_str(&b, cr->name[0] ? cr->name : "#");
		if (!cr->name[0])
			sb_uint(&b, m->index);
		sr->rule_len = (uint16_t)(b.pos - sr->rule_at);
		sb_str(&b, m->action == PW_ACT_ACCEPT ? " (Accept)" : m->action == PW_ACT_DENY
			   ? " (Deny)" : " (Pass)");
		x->trules[k] = (struct tier_rule){
			m->tier == PW_TIER_ADMIN ? m->rank : (UINT32_MAX / 2 + 1 + m->rank),
			m->tier == PW_TIER_ADMIN ? SEG_ADMIN : SEG_NEXT, m->action };
	}
	x->out->n_rules = n;
	return 0;
}

/* -------------------------------------------------------------- endpoints */
static int sel_push(struct cctx *x, size_t p)
{
	if (x->n_sel == x->cap_sel) {
		size_t ncap = x->cap_sel ? x->cap_sel * 2 : 256;
		size_t *nv = realloc(x->sel, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		x->sel = nv;
		x->cap_sel = ncap;
	}
	x->sel[x->n_sel++] = p;
	return 0;
}

static int build_endpoints(struct cctx *x, struct local **locals, size_t *n_locals)
{
	const struct pw_cluster *c = x->c;
	struct local *l = calloc(c->n_pods ? c->n_pods : 1, sizeof(*l));
	uint64_t *h = NULL;
	uint32_t *ids = NULL;
	size_t n = 0, p_lo = 0, p_hi = 0;
	int ret = 0;

	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_pods; i++) {
		const struct pw_pod *pod = &c->pods[i];
		uint32_t ifindex = 0;

		if (!pod->n_ips)
			continue;
		if (x->o.is_local) {
			ifindex = x->o.is_local(x->o.local_ctx, pod);
			if (!ifindex)
				continue;
		}
		if (strlen(pod->ns) >= sizeof(x->out->eps[0].ns) ||
		    strlen(pod->name) >= sizeof(x->out->eps[0].name)) {
			free(l);
			return pw_compile_err(x, -ENAMETOOLONG, "%s:%d: pod %s/%s: name too long",
				      pod->loc.file, pod->loc.line, pod->ns, pod->name);
		}
		l[n].pod = i;
		l[n].ifindex = ifindex;
		n++;
	}
	/* pods are sorted by ns/name after pw_cluster_finish; keep that order
	 * even if the caller did not finish (the eps contract) */
	for (size_t i = 1; i < n; i++) {
		const struct pw_pod *a = &c->pods[l[i - 1].pod], *b = &c->pods[l[i].pod];
		int r = strcmp(a->ns, b->ns);

		if (r > 0 || (!r && strcmp(a->name, b->name) >= 0)) {
			free(l);
			return pw_compile_err(x, -EINVAL, "pods not sorted or not unique "
				      "(pw_cluster_finish not called?)");
		}
	}
	x->out->eps = calloc(n ? n : 1, sizeof(*x->out->eps));
	h = calloc(n ? n : 1, sizeof(*h));
	ids = calloc(n ? n : 1, sizeof(*ids));
	if (!x->out->eps || !h || !ids) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pw_pod *pod = &c->pods[l[i].pod];
		struct pw_state_ep *ep = &x->out->eps[i];
		char key[64 + 254 + 2];
		int kl = snprintf(key, sizeof(key), "%s/%s", pod->ns, pod->name);

		h[i] = pw_hash64(key, (size_t)kl);
		memset(ep, 0, sizeof(*ep));
		memcpy(ep->ns, pod->ns, strlen(pod->ns));
		memcpy(ep->name, pod->name, strlen(pod->name));
		ep->n_ips = (uint16_t)pod->n_ips;
		for (size_t k = 0; k < pod->n_ips && k < 2; k++) {
			memcpy(ep->ips[k], pod->ips[k], 16);
			ep->flags |= pw_ip_is_v4(pod->ips[k]) ? PW_EP_HAS_V4 : PW_EP_HAS_V6;
		}
		ep->ifindex = l[i].ifindex;
		ep->identity = x->ids[x->pod_id[l[i].pod][0]].id;
		/* the policies of its namespace (the previous endpoint's, often)
		 * that select it: counted here, kept for build_policy */
		if (!i || strcmp(pod->ns, c->pods[l[i - 1].pod].ns))
			pw_cluster_ns_policies(c, pod->ns, &p_lo, &p_hi);
		l[i].sel_lo = x->n_sel;
		for (size_t p = p_lo; p < p_hi; p++) {
			const struct pw_policy *pol = &c->policies[p];

			if (p + 4 < p_hi && c->policies[p + 4].pod_sel.match_labels.n) {
				const struct pw_label *ml = c->policies[p + 4].pod_sel.match_labels.v;

				__builtin_prefetch(ml->key);
				__builtin_prefetch(ml->value);
			}
			if (!pw_selector_matches(&pol->pod_sel, &pod->labels))
				continue;
			if ((ret = sel_push(x, p)))
				goto out;
			for (int d = 0; d < 2; d++)
				if (pol->types[d])
					ep->n_policies[d]++;
		}
		l[i].sel_hi = x->n_sel;
		l[i].csel_lo = x->n_csel;
		if (c->n_cnps && (ret = pw_tiers_select(x, pod, ns_labels(x, x->pod_ns[l[i].pod]),
							 &x->csel, &x->n_csel, &x->cap_csel)))
			goto out;
		l[i].csel_hi = x->n_csel;
		for (size_t o = l[i].csel_lo; o < l[i].csel_hi; o++) {
			const struct pw_cnp *cnp = &c->cnps[x->cnp_order[x->csel[o]]];

			if (cnp->n_rules[PW_DIR_INGRESS])
				ep->flags |= PW_EP_TIERED_INGRESS;
			if (cnp->n_rules[PW_DIR_EGRESS])
				ep->flags |= PW_EP_TIERED_EGRESS;
		}
		if (ep->n_policies[PW_DIR_INGRESS])
			ep->flags |= PW_EP_ISOLATED_INGRESS;
		if (ep->n_policies[PW_DIR_EGRESS])
			ep->flags |= PW_EP_ISOLATED_EGRESS;
		{
			const struct pw_namespace *ns = x->pod_ns[l[i].pod] == NONE ? NULL
				: &c->namespaces[x->pod_ns[l[i].pod]];

			if (x->o.audit_all || (ns && ns->audit))
				ep->flags |= PW_EP_AUDIT;
		}
	}
	ret = pw_assign_ids(h, n, 1, 0x7fffffff, ids);
	for (size_t i = 0; !ret && i < n; i++)
		x->out->eps[i].ep_id = ids[i];
	x->out->n_eps = n;
out:
	free(h);
	free(ids);
	if (ret) {
		free(l);
		return pw_compile_err(x, ret, "endpoints: %s", ret == -ENOMEM ? "out of memory"
			      : "endpoint id space exhausted");
	}
	*locals = l;
	*n_locals = n;
	return 0;
}

/* ----------------------------------------------------------------- policy */
/*
 * The ClusterNetworkPolicy rules of endpoint l in direction d (the Baseline
 * tier's only when no NetworkPolicy isolates it: NetworkPolicy decides
 * then), into raw.
 */
static int emit_cnp_rules(struct cctx *x, const struct local *l, uint32_t ep, int d,
			  bool isolated, struct peers *cache, struct selmemo *memo,
			  struct polvec *raw)
{
	const struct pw_cluster *c = x->c;
	int ret;

	for (size_t s = l->csel_lo; s < l->csel_hi; s++) {
		size_t o = x->csel[s];
		const struct pw_cnp *cnp = &c->cnps[x->cnp_order[o]];
		size_t k0 = x->cnp_first[o] + (d ? cnp->n_rules[0] : 0);

		if (cnp->tier == PW_TIER_BASELINE && isolated)
			continue;
		for (size_t r = 0; r < cnp->n_rules[d]; r++) {
			size_t k = k0 + r, rid = x->crule_base + k;

			if (x->cmeta[k].none)
				continue;
			/* (namespaceSelector is always present: no policy namespace) */
			if (!cache[rid].done &&
			    (ret = rule_peers(x, NULL, NONE, &x->crules[k], memo, &cache[rid])))
				return ret;
			emit_rule(x, raw, (uint8_t)d, ep, &c->pods[l->pod], &x->crules[k],
				  &cache[rid], (uint32_t)rid);
		}
	}
	return 0;
}

static int build_policy(struct cctx *x, const struct local *l, size_t n_locals)
{
	static const uint32_t tiered_bit[2] = { PW_EP_TIERED_INGRESS, PW_EP_TIERED_EGRESS };
	static const uint32_t iso_bit[2] = { PW_EP_ISOLATED_INGRESS, PW_EP_ISOLATED_EGRESS };
	const struct pw_cluster *c = x->c;
	struct peers *cache = calloc(x->out->n_rules ? x->out->n_rules : 1, sizeof(*cache));
	struct polvec pv = { 0 }, raw = { 0 };
	struct selmemo memo = { 0 };
	size_t w = 0;
	bool distinct;
	int ret = 0;

	if (!cache)
		return pw_compile_err(x, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n_locals && !ret; i++) {
		const struct pw_pod *pod = &c->pods[l[i].pod];
		uint32_t ep = x->out->eps[i].ep_id, fl = x->out->eps[i].flags;
		size_t pol_ns = x->pod_ns[l[i].pod];   /* the policies' namespace too */

		for (int d = 0; d < 2 && !ret; d++) {
			/* under ClusterNetworkPolicy rules, every rule's entries
			 * go to the tier resolution first */
			bool tiered = fl & tiered_bit[d];
			struct polvec *dst = tiered ? &raw : &pv;

			raw.n = 0;
			for (size_t s = l[i].sel_lo; s < l[i].sel_hi && !ret; s++) {
				size_t p = x->sel[s];
				const struct pw_policy *pol = &c->policies[p];
				size_t rid = x->rule_base[p] + (d ? pol->n_rules[0] : 0);

				if (!pol->types[d])
					continue;
				for (size_t r = 0; r < pol->n_rules[d] && !ret; r++, rid++) {
					if (!cache[rid].done)
						ret = rule_peers(x, pol, pol_ns, &pol->rules[d][r],
								 &memo, &cache[rid]);
					if (!ret)
						emit_rule(x, dst, (uint8_t)d, ep, pod, &pol->rules[d][r],
							  &cache[rid], (uint32_t)rid);
				}
			}
			if (!ret && tiered)
				ret = emit_cnp_rules(x, &l[i], ep, d, fl & iso_bit[d], cache, &memo,
						     &raw);
			size_t first = pv.n;

			if (!ret && tiered && !raw.oom && !raw.full)
				ret = pw_tiers_resolve(raw.v, raw.n, x->trules, fl & iso_bit[d],
						       &pv.v, &pv.n, &pv.cap);
			/* entries of learned names: the pod learns from its DNS answers */
			for (size_t e = first; !ret && d == PW_DIR_EGRESS && e < pv.n; e++)
				if (pw_id_is_name(pv.v[e].key.peer_id)) {
					x->out->eps[i].flags |= PW_EP_LEARN_NAMES;
					break;
				}
		}
		if (pv.oom || raw.oom)
			ret = -ENOMEM;
		if (pv.full || raw.full)
			ret = -E2BIG;
	}
	for (size_t i = 0; i < x->out->n_rules; i++)
		free(cache[i].v);
	free(cache);
	free(raw.v);
	selmemo_free(&memo);
	if (ret) {
		free(pv.v);
		if (ret == -E2BIG)
			return pw_compile_err(x, ret, "more than %u policy entries: too many endpoints "
				      "x rules x peers x ports", PW_COMPILE_MAX_POLICY);
		return pw_compile_err(x, ret, "out of memory");
	}
	/* identical keys from several rules: the lowest rule_id stays (first
	 * with a hash table, so that the sort only sees distinct keys) */
	pv.n = pol_dedup(pv.v, pv.n, &distinct);
	/* distinct keys: their order is the whole order (radix, stable) */
	_Static_assert(offsetof(struct pw_state_pol, key) == 0, "the key leads");
	if (pv.n && (!distinct || pw_sort_bytes(pv.v, pv.n, sizeof(*pv.v), sizeof(pv.v->key))))
		qsort(pv.v, pv.n, sizeof(*pv.v), pol_cmp);
	for (size_t i = 0; i < pv.n; i++)
		if (!w || memcmp(&pv.v[w - 1].key, &pv.v[i].key, sizeof(pv.v[i].key)))
			pv.v[w++] = pv.v[i];
	x->out->pol = pv.v;
	x->out->n_pol = w;
	if (!pv.v) {
		x->out->pol = calloc(1, sizeof(*x->out->pol));
		if (!x->out->pol)
			return pw_compile_err(x, -ENOMEM, "out of memory");
	}
	return 0;
}

/* -------------------------------------------------------------------- dns */
static void build_dns(struct cctx *x)
{
	static const uint8_t protos[2] = { IPPROTO_UDP, IPPROTO_TCP };
	static const uint32_t bits[2] = { PW_DNS_POLICY_UDP, PW_DNS_POLICY_TCP };
	size_t n_dns = 0;

	for (size_t j = 0; j < x->n_ids; j++)
		n_dns += x->ids[j].dns;
	for (size_t i = 0; i < x->out->n_eps; i++) {
		struct pw_state_ep *ep = &x->out->eps[i];

		ep->dns_flags = 0;
		if (!(ep->flags & (PW_EP_ISOLATED_EGRESS | PW_EP_TIERED_EGRESS))) {
			ep->dns_flags = PW_DNS_POLICY_UDP | PW_DNS_POLICY_TCP;
			continue;
		}
		if (x->o.dns_auto)
			ep->dns_flags |= PW_DNS_AUTO;
		if (!n_dns)
			continue;
		for (int k = 0; k < 2; k++) {
			bool all = true;

			for (size_t j = 0; j < x->n_ids && all; j++)
				if (x->ids[j].dns &&
				    !pw_state_allows(x->out, ep, PW_DIR_EGRESS, x->ids[j].id,
						     protos[k], 53, NULL))
					all = false;
			if (all)
				ep->dns_flags |= bits[k];
		}
	}
}

int pw_compile(const struct pw_cluster *c, const struct pw_compile_opts *opts,
	       struct pw_state *out, struct pw_error *err)
{
	struct cctx x = { .c = c, .out = out, .err = err };
	struct local *locals = NULL;
	size_t n_locals = 0;
	int ret;

	if (err)
		err->msg[0] = 0;
	if (opts)
		x.o = *opts;
	if (!x.o.dns_namespace)
		x.o.dns_namespace = "kube-system";
	if (!x.o.dns_label_key)
		x.o.dns_label_key = "k8s-app";
	if (!x.o.dns_label_value)
		x.o.dns_label_value = "kube-dns";
	memset(out, 0, sizeof(*out));

	ret = pw_tiers_build(&x);
	if (ret)
		pw_compile_err(&x, ret, "ClusterNetworkPolicy: out of memory");
	if (!ret)
		ret = pw_build_identities(&x);
	if (!ret && (ret = build_rules(&x)))
		pw_compile_err(&x, ret, "rules: %s", ret == -ENOMEM ? "out of memory" : "too many");
	if (!ret)
		ret = build_endpoints(&x, &locals, &n_locals);
	if (!ret)
		ret = build_policy(&x, locals, n_locals);
	if (!ret && (ret = build_ipcache(&x)))
		pw_compile_err(&x, ret, "out of memory");
	if (!ret && (ret = build_ids(&x)))
		pw_compile_err(&x, ret, "out of memory");
	if (!ret && (ret = pw_tiers_name_set(&x)))
		pw_compile_err(&x, ret, "out of memory");
	if (!ret)
		build_dns(&x);
	/* only a compile that succeeded teaches the cache anything */
	if (!ret && x.o.cache)
		pw_cache_commit(x.o.cache, c, &x.store, &x.refs, x.reused, &x.ipc_memo);
	pw_ipc_memo_free(&x.ipc_memo);
	free(locals);
	free(x.sel);
	free(x.rule_base);
	free(x.by_ip);
	pw_tiers_free(&x);
	pw_free_identities(&x);
	if (ret)
		pw_state_free(out);
	return ret;
}
