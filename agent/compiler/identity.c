/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Identities. A pod identity stands for one distinct (namespace, label set,
 * named container ports, CIDR-group membership of the address): pods that
 * share it are interchangeable for every rule, so rules can be keyed by it.
 * Named ports are part of it because an egress rule on a named port
 * resolves differently for pods that name their ports differently; the
 * membership is part of it because ipBlocks match pod addresses too. CIDR
 * groups (cidr.c) get identities of their own.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compiler/internal.h"
#include "k8s/ip.h"

int pw_compile_err(struct cctx *x, int ret, const char *fmt, ...)
{
	va_list ap;

	if (x->err && !x->err->msg[0]) {
		va_start(ap, fmt);
		vsnprintf(x->err->msg, sizeof(x->err->msg), fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* Appending to the prefix store's bytes (after pw_pfxstore_room). */
static void kb_put(struct pw_pfxstore *b, const void *d, size_t n)
{
	memcpy(b->bytes + b->n_bytes, d, n);
	b->n_bytes += n;
}

static void kb_u32(struct pw_pfxstore *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	kb_put(b, x, 4);
}

/* a length-prefixed string */
static int kb_str(struct pw_pfxstore *b, const char *s, size_t n)
{
	if (pw_pfxstore_room(b, 4 + n))
		return -ENOMEM;
	kb_u32(b, (uint32_t)n);
	kb_put(b, s, n);
	return 0;
}

/* -------------------------------------------------------------- groups */
static uint64_t prefix_hash(const uint8_t a[16], unsigned len)
{
	uint64_t w0, w1, h;

	memcpy(&w0, a, 8);
	memcpy(&w1, a + 8, 8);
	h = (w0 * 0x9e3779b97f4a7c15ULL) ^ (w1 * 0xc2b2ae3d27d4eb4fULL) ^ len;
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 29);
}

/* The groups by prefix (a hash table), and their distinct lengths, longest
 * first: a pod address costs one probe per length instead of a search. */
static int index_groups(struct cctx *x)
{
	size_t cap = 16;

	for (int len = 128; len >= 0; len--)
		if (x->group_len[len])
			x->glens[x->n_glens++] = (uint8_t)len;
	/* per length, the lowest and highest group: most addresses (pods are
	 * seldom inside ipBlocks) are outside, and need no probe at all */
	for (size_t k = 0; k < x->n_glens; k++) {
		memset(x->glo[k], 0xff, 16);
		memset(x->ghi[k], 0, 16);
	}
	for (size_t g = 0; g < x->n_groups; g++) {
		size_t k = 0;

		while (x->glens[k] != x->groups[g].pfx.len)
			k++;
		if (pw_addr_cmp(x->groups[g].pfx.addr, x->glo[k]) < 0)
			memcpy(x->glo[k], x->groups[g].pfx.addr, 16);
		if (pw_addr_cmp(x->groups[g].pfx.addr, x->ghi[k]) > 0)
			memcpy(x->ghi[k], x->groups[g].pfx.addr, 16);
	}
	while (cap < x->n_groups * 2)
		cap *= 2;
	x->gslot = calloc(cap, sizeof(*x->gslot));
	if (!x->gslot)
		return -ENOMEM;
	x->gmask = cap - 1;
	for (size_t g = 0; g < x->n_groups; g++) {
		size_t i = prefix_hash(x->groups[g].pfx.addr, x->groups[g].pfx.len) & x->gmask;

		while (x->gslot[i])
			i = (i + 1) & x->gmask;
		x->gslot[i] = (uint32_t)g + 1;   /* groups are distinct */
	}
	return 0;
}

/* The longest group holding address a. For an IPv4 address only IPv4
 * groups count: an IPv6 block never holds IPv4 addresses (cidr.c), and all
 * addresses of one identity must be members of the same blocks. */
size_t pw_longest_group(const struct cctx *x, const uint8_t a[16])
{
	unsigned min_len = pw_ip_is_v4(a) ? 96 : 0;
	uint8_t q[16];

	for (size_t k = 0; k < x->n_glens && x->glens[k] >= min_len; k++) {
		unsigned len = x->glens[k];

		memcpy(q, a, 16);
		if (len < 128) {   /* pw_prefix_mask, without its loop */
			q[len / 8] &= (uint8_t)(0xff << (8 - len % 8));
			memset(q + len / 8 + 1, 0, 15 - len / 8);
		}
		if (pw_addr_cmp(q, x->glo[k]) < 0 || pw_addr_cmp(q, x->ghi[k]) > 0)
			continue;
		for (size_t i = prefix_hash(q, len) & x->gmask; x->gslot[i]; i = (i + 1) & x->gmask) {
			const struct cgroup *g = &x->groups[x->gslot[i] - 1];

			if (g->pfx.len == len && !pw_addr_cmp(g->pfx.addr, q))
				return x->gslot[i] - 1;
		}
	}
	return NONE;
}

static int group_ids(struct cctx *x)
{
	uint64_t *h;
	uint32_t *ids;
	int ret;

	if (!x->n_groups)
		return 0;
	h = calloc(x->n_groups, sizeof(*h));
	ids = calloc(x->n_groups, sizeof(*ids));
	if (!h || !ids) {
		free(h);
		free(ids);
		return -ENOMEM;
	}
	for (size_t i = 0; i < x->n_groups; i++) {
		uint8_t key[18] = { 'C' };

		memcpy(key + 1, x->groups[i].pfx.addr, 16);
		key[17] = x->groups[i].pfx.len;
		h[i] = pw_hash64(key, sizeof(key));
	}
	/* groups are sorted by prefix, which is the order of their keys */
	ret = pw_assign_ids(h, x->n_groups, PW_ID_CIDR_MIN, PW_ID_NAME_MIN - 1, ids);
	for (size_t i = 0; !ret && i < x->n_groups; i++)
		x->groups[i].id = ids[i];
	free(h);
	free(ids);
	return ret;
}

/* ---------------------------------------------------------- pod identities */
/*
 * The key of an identity (its bytes are hashed into its id, so they never
 * change):
 *   'P' str(ns) u32(#labels) (str(key) str(value))*      -- label_len ends here
 *   u32(#named) (str(name) proto port_hi port_lo)*      -- sorted, distinct
 *   0 | 1 addr[16] len                                  -- the longest CIDR group
 * where str is a big-endian u32 length and the bytes, labels are in key
 * order. The first two lines are the pod's prefix, the same for all its
 * addresses: each distinct prefix is stored once (x->store), and with a
 * compile cache, a pod read before is not read again (cache.c). An identity
 * is then a (prefix, group) pair.
 *
 * Identities used to be the distinct keys of a sort of every pod's key; they
 * are now found with a hash table in pod order, which gives the same set,
 * the same representative (the first pod, address by address) and, through
 * pw_assign_ids_unsorted, the same ids. x->ids is in pod order.
 */
struct named {
	const char *name;
	uint8_t     proto;
	uint16_t    port;
};

static int named_cmp(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r)
		return r;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return (x->port > y->port) - (x->port < y->port);
}

#define MAX_NAMED_STACK 16

/* Append pod's prefix to the store's bytes; *label_len: the bytes of it
 * covering namespace and labels. */
static int key_prefix(const struct pw_pod *pod, struct pw_pfxstore *b, size_t *label_len)
{
	struct named stack[MAX_NAMED_STACK], *nv = stack;
	size_t nn = 0, w = 0, start = b->n_bytes, ns_len = strlen(pod->ns);
	int ret = -ENOMEM;

	if (pw_pfxstore_room(b, 1 + 4 + ns_len + 4))
		return -ENOMEM;
	kb_put(b, "P", 1);
	kb_u32(b, (uint32_t)ns_len);
	kb_put(b, pod->ns, ns_len);
	kb_u32(b, (uint32_t)pod->labels.n);
	for (size_t i = 0; i < pod->labels.n; i++)
		if (kb_str(b, pod->labels.v[i].key, strlen(pod->labels.v[i].key)) ||
		    kb_str(b, pod->labels.v[i].value, strlen(pod->labels.v[i].value)))
			return -ENOMEM;
	*label_len = b->n_bytes - start;

	for (size_t i = 0; i < pod->n_ports; i++)
		nn += pod->ports[i].name != NULL;
	if (nn > MAX_NAMED_STACK && !(nv = calloc(nn, sizeof(*nv))))
		return -ENOMEM;
	for (size_t i = 0; i < pod->n_ports; i++)
		if (pod->ports[i].name)
			nv[w++] = (struct named){ pod->ports[i].name, pod->ports[i].proto,
						  pod->ports[i].port };
	/* equal elements are identical: any sort will do */
	if (nn > MAX_NAMED_STACK) {
		qsort(nv, nn, sizeof(*nv), named_cmp);
	} else {
		for (size_t i = 1; i < nn; i++)
			for (size_t j = i; j && named_cmp(&nv[j - 1], &nv[j]) > 0; j--) {
				struct named t = nv[j];

				nv[j] = nv[j - 1];
				nv[j - 1] = t;
			}
	}
	w = 0;
	for (size_t i = 0; i < nn; i++)
		if (!w || named_cmp(&nv[w - 1], &nv[i]))
			nv[w++] = nv[i];
	if (pw_pfxstore_room(b, 4))
		goto out;
	kb_u32(b, (uint32_t)w);
	for (size_t i = 0; i < w; i++) {
		uint8_t pp[3] = { nv[i].proto, (uint8_t)(nv[i].port >> 8), (uint8_t)nv[i].port };

		if (kb_str(b, nv[i].name, strlen(nv[i].name)) || pw_pfxstore_room(b, 3))
			goto out;
		kb_put(b, pp, 3);
	}
	ret = 0;
out:
	if (nv != stack)
		free(nv);
	return ret;
}

/* The CIDR-group part of a key: its bytes in buf[18], returns their number. */
static size_t group_part(const struct cctx *x, size_t group, uint8_t buf[18])
{
	if (group == NONE) {
		buf[0] = 0;
		return 1;
	}
	buf[0] = 1;
	memcpy(buf + 1, x->groups[group].pfx.addr, 16);
	buf[17] = x->groups[group].pfx.len;
	return 18;
}

/* Old entry o of the cache's store, in x->store: its bytes are at off
 * (NONE: copy them there), unless it is there already. */
static int from_cache(struct cctx *x, const struct pw_pfxstore *old, size_t o, size_t off,
		      size_t *pf)
{
	struct pw_pfx e = old->v[o];
	int ret;

	if (x->remap[o] != NONE) {
		if (off != NONE)
			x->store.n_bytes = off;   /* drop the bytes */
		*pf = x->remap[o];
		return 0;
	}
	if (off == NONE) {
		if ((ret = pw_pfxstore_room(&x->store, e.len)))
			return ret;
		off = x->store.n_bytes;
		kb_put(&x->store, old->bytes + old->v[o].off, e.len);
	}
	e.off = off;   /* the same bytes, with their hashes */
	if ((ret = pw_pfxstore_add(&x->store, &e, pf)))
		return ret;
	x->remap[o] = *pf;
	return 0;
}

/*
 * The prefix of pod (which has addresses), as an index in x->store: from the
 * cache's store if pod's addresses are known there, else read from the pod.
 * Either way each distinct prefix is in x->store once: a prefix read from a
 * pod is looked up in the cache's store (whose entries are distinct) before
 * this compile's, so that no content gets there both ways.
 */
static int pod_prefix(struct cctx *x, const struct pw_pod *pod, size_t *pf)
{
	struct pw_pfxstore *st = &x->store;
	struct pw_pfxstore *old = x->o.cache ? pw_cache_store(x->o.cache) : NULL;
	struct pw_pfx e = { 0 };
	size_t label_len, o = NONE;
	int ret;

	if (old && (ret = pw_refmap_find(pw_cache_refs(x->o.cache), pod, &x->ref_hint, &o)))
		return ret;
	x->reused += o != NONE;
	if (o != NONE) {   /* known by address: not read at all */
		if ((ret = from_cache(x, old, o, NONE, pf)))
			return ret;
		pw_refmap_add(&x->refs, pod, *pf);
		return 0;
	}
	/* read it */
	e.off = st->n_bytes;
	if ((ret = key_prefix(pod, st, &label_len)))
		return ret;
	e.len = (uint32_t)(st->n_bytes - e.off);
	e.label_len = (uint32_t)label_len;
	e.fh = pw_fast_hash(st->bytes + e.off, e.len);
	/* in the cache's store by content (a new object, the same labels)? */
	if (old && (ret = pw_pfxstore_find(old, st->bytes + e.off, e.len, e.fh, &o)))
		return ret;
	if (o != NONE) {
		ret = from_cache(x, old, o, e.off, pf);
	} else if (!(ret = pw_pfxstore_find(st, st->bytes + e.off, e.len, e.fh, pf))) {
		if (*pf != NONE)
			st->n_bytes = e.off;   /* known: drop the bytes */
		else
			ret = pw_pfxstore_add(st, &e, pf);
	}
	if (ret)
		return ret;
	if (x->o.cache)
		pw_refmap_add(&x->refs, pod, *pf);
	return 0;
}

/* The namespace of the pod with prefix pf (or NONE: read the pod's). */
static const char *ns_of(const struct cctx *x, const struct pw_pod *pod, size_t pf, size_t *len)
{
	const uint8_t *k;

	if (pf == NONE) {
		*len = strlen(pod->ns);
		return pod->ns;
	}
	k = x->store.bytes + x->store.v[pf].off + 1;
	*len = (size_t)k[0] << 24 | (size_t)k[1] << 16 | (size_t)k[2] << 8 | k[3];
	return (const char *)k + 4;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

const uint8_t *pw_key_label(const struct podid *id, const char *key, size_t klen,
			    uint32_t *vlen)
{
	const uint8_t *p = id->key + 1;
	uint32_t n = be32(p);

	p += 4 + n;
	n = be32(p);
	p += 4;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t kl = be32(p), vl = be32(p + 4 + kl);

		if (kl == klen && !memcmp(p + 4, key, klen)) {
			*vlen = vl;
			return p + 8 + kl;
		}
		p += 8 + kl + vl;
	}
	return NULL;
}

/* The cluster DNS: its namespace, and its label (read from the key). */
static bool is_dns(const struct cctx *x, const struct podid *id)
{
	size_t ns_len = strlen(x->o.dns_namespace), klen = strlen(x->o.dns_label_key);
	size_t vlen = strlen(x->o.dns_label_value);
	const uint8_t *v;
	uint32_t n;

	if (be32(id->key + 1) != ns_len || memcmp(id->key + 5, x->o.dns_namespace, ns_len))
		return false;
	v = pw_key_label(id, x->o.dns_label_key, klen, &n);
	return v && n == vlen && !memcmp(v, x->o.dns_label_value, vlen);
}

/* memcmp over the concatenations a1 a2 and b1 b2 */
static int cmp2(const uint8_t *a1, size_t na1, const uint8_t *a2, size_t na2,
		const uint8_t *b1, size_t nb1, const uint8_t *b2, size_t nb2)
{
	while ((na1 || na2) && (nb1 || nb2)) {
		const uint8_t *a = na1 ? a1 : a2, *b = nb1 ? b1 : b2;
		size_t na = na1 ? na1 : na2, nb = nb1 ? nb1 : nb2, n = na < nb ? na : nb;
		int r = memcmp(a, b, n);

		if (r)
			return r;
		if (na1) {
			a1 += n;
			na1 -= n;
		} else {
			a2 += n;
			na2 -= n;
		}
		if (nb1) {
			b1 += n;
			nb1 -= n;
		} else {
			b2 += n;
			nb2 -= n;
		}
	}
	return (na1 || na2) - (nb1 || nb2);   /* the shorter first */
}

/* The order of the old sort of whole keys: bytes, then the shorter first. */
static int key_cmp(const void *ctx, size_t a, size_t b)
{
	const struct cctx *x = ctx;
	const struct podid *p = &x->ids[a], *q = &x->ids[b];
	uint8_t gp[18], gq[18];
	size_t np = group_part(x, p->group, gp), nq = group_part(x, q->group, gq);

	return cmp2(p->key, p->key_len, gp, np, q->key, q->key_len, gq, nq);
}

static size_t pow2_at_least(size_t n)
{
	size_t cap = 16;

	while (cap < n)
		cap *= 2;
	return cap;
}

/*
 * One identity per distinct (prefix, CIDR group), in the order of the first
 * pod (and address) that has it. The identities of a prefix are chained
 * from it (there are few: one per group its pods fall in).
 */
static int find_identities(struct cctx *x, size_t ne)
{
	const struct pw_cluster *c = x->c;
	size_t *first = malloc((ne ? ne : 1) * sizeof(*first));   /* per prefix */
	size_t *next = malloc((ne ? ne : 1) * sizeof(*next));     /* per identity */
	size_t prev_pf = NONE;
	int ret = -ENOMEM;

	x->ids = malloc((ne ? ne : 1) * sizeof(*x->ids));
	if (x->o.cache)
		pw_cache_take_spare(x->o.cache, &x->store, &x->refs);
	if (!first || !next || !x->ids || pw_pfxstore_reset(&x->store, ne, ne * 128))
		goto out;
	if (x->o.cache) {
		const struct pw_pfxstore *old = pw_cache_store(x->o.cache);

		x->ref_hint = 0;
		x->remap = malloc((old->n ? old->n : 1) * sizeof(*x->remap));
		if (!x->remap || pw_refmap_reset(&x->refs, c->n_pods))
			goto out;
		for (size_t i = 0; i < old->n; i++)
			x->remap[i] = NONE;
	}
	for (size_t i = 0; i < c->n_pods; i++) {
		const struct pw_pod *pod = &c->pods[i];
		size_t pf = NONE, n_pfx = x->store.n;

		if (pod->n_ips && (ret = pod_prefix(x, pod, &pf)))
			goto out;
		if (x->store.n > n_pfx)   /* a new prefix: no identity yet */
			first[pf] = NONE;
		/* pods are sorted by namespace: look each one up once */
		if (i && pod->ns == c->pods[i - 1].ns) {
			x->pod_ns[i] = x->pod_ns[i - 1];
		} else {
			size_t n1, n2;
			const char *s1 = ns_of(x, pod, pf, &n1);
			const char *s2 = i ? ns_of(x, &c->pods[i - 1], prev_pf, &n2) : NULL;

			if (s2 && n1 == n2 && !memcmp(s1, s2, n1)) {
				x->pod_ns[i] = x->pod_ns[i - 1];
			} else {
				const struct pw_namespace *ns = pw_cluster_namespace(c, pod->ns);

				x->pod_ns[i] = ns ? (size_t)(ns - c->namespaces) : NONE;
			}
		}
		prev_pf = pf;
		x->pod_id[i][0] = x->pod_id[i][1] = NONE;
		for (size_t k = 0; k < pod->n_ips && k < 2; k++) {
			size_t group = pw_longest_group(x, pod->ips[k]), j;

			for (j = first[pf]; j != NONE && x->ids[j].group != group; j = next[j])
				;
			if (j != NONE) {
				x->pod_id[i][k] = j;
				continue;
			}
			j = x->n_ids++;
			x->ids[j] = (struct podid){
				.pfx = pf, .group = group, .ns = x->pod_ns[i], .rep = pod, .split = false,
			};
			memcpy(x->ids[j].rep_ip, pod->ips[k], 16);
			next[j] = first[pf];
			first[pf] = j;
			x->pod_id[i][k] = j;
		}
	}
	ret = 0;
out:
	free(first);
	free(next);
	return ret;
}

/* The hashes of the prefixes read from pods this time (the cache's come
 * with theirs): the FNV state of the bytes, four at a time, and the hash
 * of their namespace and labels part. */
static int hash_prefixes(struct pw_pfxstore *st)
{
	const uint8_t **p = malloc((st->n ? st->n : 1) * sizeof(*p));
	size_t *len = malloc((st->n ? st->n : 1) * sizeof(*len));
	size_t *which = malloc((st->n ? st->n : 1) * sizeof(*which));
	uint64_t *fnv = malloc((st->n ? st->n : 1) * sizeof(*fnv));
	size_t n = 0;
	int ret = -ENOMEM;

	if (!p || !len || !which || !fnv)
		goto out;
	for (size_t i = 0; i < st->n; i++) {
		if (st->v[i].hashed)
			continue;
		p[n] = st->bytes + st->v[i].off;
		len[n] = st->v[i].len;
		which[n++] = i;
	}
	pw_fnv1a_n(p, len, n, fnv);
	for (size_t k = 0; k < n; k++) {
		struct pw_pfx *e = &st->v[which[k]];

		e->fnv = fnv[k];
		e->lh = pw_fast_hash(p[k], e->label_len);
		e->hashed = true;
	}
	ret = 0;
out:
	free(p);
	free(len);
	free(which);
	free(fnv);
	return ret;
}

/* Identities that share namespace and labels (and differ by named ports or
 * CIDR group) are "split": their descriptions say more. */
static int mark_split(struct cctx *x)
{
	size_t cap = pow2_at_least(x->n_ids * 2), mask = cap - 1;
	uint32_t *slot = calloc(cap, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < x->n_ids; i++) {
		struct podid *id = &x->ids[i];
		size_t h = x->store.v[id->pfx].lh & mask;

		for (; slot[h]; h = (h + 1) & mask) {
			struct podid *o = &x->ids[slot[h] - 1];

			if (o->label_len == id->label_len && !memcmp(o->key, id->key, id->label_len)) {
				o->split = id->split = true;
				break;
			}
		}
		if (!slot[h])
			slot[h] = (uint32_t)i + 1;
	}
	free(slot);
	return 0;
}

/* The identities of each namespace: adjacent, pods being sorted by it (if
 * they were not, a namespace would only get more than one range). The
 * ranges of a namespace are chained from nsr_first[its index]. */
static int ns_ranges(struct cctx *x)
{
	size_t n_ns = x->c->n_namespaces, *last;

	x->nsr = calloc(x->n_ids ? x->n_ids : 1, sizeof(*x->nsr));
	x->nsr_next = malloc((x->n_ids ? x->n_ids : 1) * sizeof(*x->nsr_next));
	x->nsr_first = malloc((n_ns ? n_ns : 1) * sizeof(*x->nsr_first));
	last = malloc((n_ns ? n_ns : 1) * sizeof(*last));
	if (!x->nsr || !x->nsr_next || !x->nsr_first || !last) {
		free(last);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_ns; i++)
		x->nsr_first[i] = last[i] = NONE;
	for (size_t i = 0; i < x->n_ids; i++) {
		const struct podid *id = &x->ids[i];
		struct nsrange *cur = x->n_nsr ? &x->nsr[x->n_nsr - 1] : NULL;

		if (cur && (id->ns != NONE ? id->ns == cur->ns
					  : cur->ns == NONE && !strcmp(cur->name, id->rep->ns))) {
			cur->hi = i + 1;
			continue;
		}
		x->nsr_next[x->n_nsr] = NONE;
		if (id->ns != NONE) {
			if (last[id->ns] == NONE)
				x->nsr_first[id->ns] = x->n_nsr;
			else
				x->nsr_next[last[id->ns]] = x->n_nsr;
			last[id->ns] = x->n_nsr;
		}
		x->nsr[x->n_nsr++] = (struct nsrange){ id->rep->ns, id->ns, i, i + 1 };
	}
	free(last);
	return 0;
}

int pw_build_identities(struct cctx *x)
{
	const struct pw_cluster *c = x->c;
	uint64_t *h = NULL;
	uint32_t *ids = NULL;
	size_t ne = 0;
	int ret;

	ret = pw_collect_groups(c, x->crules, x->n_crules, &x->groups, &x->n_groups,
				&x->v6_covers_v4);
	if (!ret)
		ret = group_ids(x);
	if (ret)
		return pw_compile_err(x, ret, "CIDR groups: %s", ret == -ENOMEM ? "out of memory"
			      : "identity space exhausted");
	for (size_t i = 0; i < x->n_groups; i++)
		x->group_len[x->groups[i].pfx.len] = true;
	if (index_groups(x))
		return pw_compile_err(x, -ENOMEM, "out of memory");

	x->pod_ns = calloc(c->n_pods ? c->n_pods : 1, sizeof(*x->pod_ns));
	x->pod_id = calloc(c->n_pods ? c->n_pods : 1, sizeof(*x->pod_id));
	if (!x->pod_ns || !x->pod_id)
		return pw_compile_err(x, -ENOMEM, "out of memory");
	for (size_t i = 0; i < c->n_pods; i++)
		ne += c->pods[i].n_ips < 2 ? c->pods[i].n_ips : 2;
	ret = find_identities(x, ne);
	if (!ret)
		ret = hash_prefixes(&x->store);
	if (ret)
		goto out;
	/* the store is complete: its bytes stay put */
	for (size_t i = 0; i < x->n_ids; i++) {
		struct podid *id = &x->ids[i];
		const struct pw_pfx *e = &x->store.v[id->pfx];

		id->key = x->store.bytes + e->off;
		id->key_len = e->len;
		id->label_len = e->label_len;
		id->dns = is_dns(x, id);
	}
	ret = mark_split(x);
	if (!ret)
		ret = ns_ranges(x);
	if (ret)
		goto out;

	h = malloc((x->n_ids ? x->n_ids : 1) * sizeof(*h));
	ids = malloc((x->n_ids ? x->n_ids : 1) * sizeof(*ids));
	if (!h || !ids) {
		ret = -ENOMEM;
		goto out;
	}
	/* the hash of the whole key: the prefix's, continued over the group part */
	for (size_t i = 0; i < x->n_ids; i++) {
		uint8_t gp[18];
		size_t n = group_part(x, x->ids[i].group, gp);

		h[i] = pw_hash64_finish(pw_fnv1a(x->store.v[x->ids[i].pfx].fnv, gp, n));
	}
	ret = pw_assign_ids_unsorted(h, x->n_ids, PW_ID_POD_MIN, PW_ID_CIDR_MIN - 1, key_cmp, x,
				     ids);
	for (size_t i = 0; !ret && i < x->n_ids; i++)
		x->ids[i].id = ids[i];
out:
	free(h);
	free(ids);
	if (ret)
		return pw_compile_err(x, ret, "pod identities: %s", ret == -ENOMEM ? "out of memory"
			      : "identity space exhausted");
	return 0;
}

void pw_free_identities(struct cctx *x)
{
	free(x->ids);
	free(x->groups);
	free(x->gslot);
	free(x->pod_ns);
	free(x->pod_id);
	free(x->nsr);
	free(x->nsr_first);
	free(x->nsr_next);
	pw_pfxstore_free(&x->store);
	pw_refmap_free(&x->refs);
	free(x->remap);
	x->remap = NULL;
	x->nsr = NULL;
	x->nsr_first = x->nsr_next = NULL;
	x->n_nsr = 0;
	x->ids = NULL;
	x->groups = NULL;
	x->gslot = NULL;
	x->pod_ns = NULL;
	x->pod_id = NULL;
	x->n_ids = x->n_groups = 0;
}
