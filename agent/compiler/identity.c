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

/* Every identity key, in one growing buffer (offsets while it grows). */
struct kbuf {
	uint8_t *p;
	size_t   n, cap;
};

static int kb_room(struct kbuf *b, size_t more)
{
	size_t ncap;
	uint8_t *np;

	if (b->cap - b->n >= more)
		return 0;
	ncap = b->cap ? b->cap : 64 * 1024;
	while (ncap - b->n < more)
		ncap *= 2;
	np = realloc(b->p, ncap);
	if (!np)
		return -ENOMEM;
	b->p = np;
	b->cap = ncap;
	return 0;
}

/* after kb_room */
static void kb_put(struct kbuf *b, const void *d, size_t n)
{
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void kb_u32(struct kbuf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	kb_put(b, x, 4);
}

/* a length-prefixed string */
static int kb_str(struct kbuf *b, const char *s, size_t n)
{
	if (kb_room(b, 4 + n))
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
static size_t longest_group(const struct cctx *x, const uint8_t a[16])
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
		for (size_t i = prefix_hash(q, len) & x->gmask; x->gslot[i]; i = (i + 1) & x->gmask) {
			const struct cgroup *g = &x->groups[x->gslot[i] - 1];

			if (g->pfx.len == len && !memcmp(g->pfx.addr, q, 16))
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
	ret = pw_assign_ids(h, x->n_groups, PW_ID_CIDR_MIN, UINT32_MAX, ids);
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
 * order. Identities used to be the distinct keys of a sort of every pod's
 * key; they are now found with a hash table in pod order, which gives the
 * same set, the same representative (the first pod, address by address) and,
 * through pw_assign_ids_unsorted, the same ids. x->ids is in pod order.
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

/* Append the part of pod's key before the CIDR group to b; *label_len: the
 * bytes of it covering namespace and labels. */
static int key_prefix(const struct pw_pod *pod, size_t ns_len, struct kbuf *b,
		      size_t *label_len)
{
	struct named stack[MAX_NAMED_STACK], *nv = stack;
	size_t nn = 0, w = 0, start = b->n;
	int ret = -ENOMEM;

	if (kb_room(b, 1 + 4 + ns_len + 4))
		return -ENOMEM;
	kb_put(b, "P", 1);
	kb_u32(b, (uint32_t)ns_len);
	kb_put(b, pod->ns, ns_len);
	kb_u32(b, (uint32_t)pod->labels.n);
	for (size_t i = 0; i < pod->labels.n; i++)
		if (kb_str(b, pod->labels.v[i].key, strlen(pod->labels.v[i].key)) ||
		    kb_str(b, pod->labels.v[i].value, strlen(pod->labels.v[i].value)))
			return -ENOMEM;
	*label_len = b->n - start;

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
	if (kb_room(b, 4))
		goto out;
	kb_u32(b, (uint32_t)w);
	for (size_t i = 0; i < w; i++) {
		uint8_t pp[3] = { nv[i].proto, (uint8_t)(nv[i].port >> 8), (uint8_t)nv[i].port };

		if (kb_str(b, nv[i].name, strlen(nv[i].name)) || kb_room(b, 3))
			goto out;
		kb_put(b, pp, 3);
	}
	ret = 0;
out:
	if (nv != stack)
		free(nv);
	return ret;
}

/* Append the CIDR-group part of the key of address a; returns the group. */
static int key_group(const struct cctx *x, const uint8_t a[16], struct kbuf *b, size_t *group)
{
	*group = longest_group(x, a);
	if (kb_room(b, 18))
		return -ENOMEM;
	if (*group == NONE) {
		kb_put(b, "\0", 1);
	} else {
		kb_put(b, "\1", 1);
		kb_put(b, x->groups[*group].pfx.addr, 16);
		kb_put(b, &x->groups[*group].pfx.len, 1);
	}
	return 0;
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

/* The order of the old sort of keys: bytes, then the shorter first. */
static int key_cmp(const void *ctx, size_t a, size_t b)
{
	const struct podid *x = &((const struct cctx *)ctx)->ids[a];
	const struct podid *y = &((const struct cctx *)ctx)->ids[b];
	int r = memcmp(x->key, y->key, x->key_len < y->key_len ? x->key_len : y->key_len);

	if (r)
		return r;
	return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static size_t pow2_at_least(size_t n)
{
	size_t cap = 16;

	while (cap < n)
		cap *= 2;
	return cap;
}

/*
 * One identity per distinct key, in the order of the first pod (and
 * address) that has it. A hash table of the keys so far: a pod whose key is
 * known takes back the bytes it appended.
 */
static int find_identities(struct cctx *x, size_t ne, struct kbuf *b)
{
	const struct pw_cluster *c = x->c;
	size_t cap = pow2_at_least(ne * 2), mask = cap - 1;
	uint32_t *slot = calloc(cap, sizeof(*slot));
	size_t *off = malloc((ne ? ne : 1) * sizeof(*off));
	size_t ns_len = 0;
	int ret = -ENOMEM;

	x->ids = malloc((ne ? ne : 1) * sizeof(*x->ids));
	if (!slot || !off || !x->ids)
		goto out;
	for (size_t i = 0; i < c->n_pods; i++) {
		const struct pw_pod *pod = &c->pods[i];
		size_t start = b->n, label_len, plen;

		/* pods are sorted by namespace: look each one up once */
		if (i && (pod->ns == c->pods[i - 1].ns || !strcmp(pod->ns, c->pods[i - 1].ns))) {
			x->pod_ns[i] = x->pod_ns[i - 1];
		} else {
			const struct pw_namespace *ns = pw_cluster_namespace(c, pod->ns);

			x->pod_ns[i] = ns ? (size_t)(ns - c->namespaces) : NONE;
			ns_len = strlen(pod->ns);
		}
		x->pod_id[i][0] = x->pod_id[i][1] = NONE;
		if (!pod->n_ips)
			continue;
		ret = key_prefix(pod, ns_len, b, &label_len);
		if (ret)
			goto out;
		plen = b->n - start;
		for (size_t k = 0; k < pod->n_ips && k < 2; k++) {
			size_t kstart = b->n, len, group, h;
			uint64_t fh;

			if (k) {   /* the same prefix again: the first key's bytes stay put */
				if ((ret = kb_room(b, plen)))
					goto out;
				memmove(b->p + b->n, b->p + start, plen);
				b->n += plen;
			} else {
				kstart = start;
			}
			if ((ret = key_group(x, pod->ips[k], b, &group)))
				goto out;
			len = b->n - kstart;
			fh = pw_fast_hash(b->p + kstart, len);
			for (h = fh & mask; slot[h]; h = (h + 1) & mask) {
				const struct podid *o = &x->ids[slot[h] - 1];

				if (o->hash == fh && o->key_len == len &&
				    !memcmp(b->p + off[slot[h] - 1], b->p + kstart, len))
					break;
			}
			if (slot[h]) {   /* known: drop the bytes (the prefix stays readable) */
				x->pod_id[i][k] = slot[h] - 1;
				if (!k)
					b->n = start;
				else
					b->n = kstart;
				continue;
			}
			slot[h] = (uint32_t)(x->n_ids + 1);
			off[x->n_ids] = kstart;
			x->ids[x->n_ids] = (struct podid){
				.key_len = len, .label_len = label_len, .hash = fh,
				.ns = x->pod_ns[i], .rep = pod, .group = group, .split = false,
			};
			memcpy(x->ids[x->n_ids].rep_ip, pod->ips[k], 16);
			x->pod_id[i][k] = x->n_ids++;
		}
	}
	x->keys = b->p;   /* every key, freed with the identities */
	b->p = NULL;
	for (size_t i = 0; i < x->n_ids; i++)
		x->ids[i].key = x->keys + off[i];
	ret = 0;
out:
	free(slot);
	free(off);
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
		size_t h = pw_fast_hash(id->key, id->label_len) & mask;

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
	struct kbuf keys = { 0 };
	const uint8_t **kp = NULL;
	size_t *kl = NULL;
	uint64_t *h = NULL;
	uint32_t *ids = NULL;
	size_t ne = 0;
	int ret;

	ret = pw_collect_groups(c, &x->groups, &x->n_groups, &x->v6_covers_v4);
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
	ret = find_identities(x, ne, &keys);
	if (!ret)
		ret = mark_split(x);
	if (!ret)
		ret = ns_ranges(x);
	if (ret)
		goto out;
	for (size_t i = 0; i < x->n_ids; i++)
		x->ids[i].dns = is_dns(x, &x->ids[i]);

	h = malloc((x->n_ids ? x->n_ids : 1) * sizeof(*h));
	ids = malloc((x->n_ids ? x->n_ids : 1) * sizeof(*ids));
	kp = malloc((x->n_ids ? x->n_ids : 1) * sizeof(*kp));
	kl = malloc((x->n_ids ? x->n_ids : 1) * sizeof(*kl));
	if (!h || !ids || !kp || !kl) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < x->n_ids; i++) {
		kp[i] = x->ids[i].key;
		kl[i] = x->ids[i].key_len;
	}
	pw_hash64_n(kp, kl, x->n_ids, h);
	ret = pw_assign_ids_unsorted(h, x->n_ids, PW_ID_POD_MIN, PW_ID_CIDR_MIN - 1, key_cmp, x,
				     ids);
	for (size_t i = 0; !ret && i < x->n_ids; i++)
		x->ids[i].id = ids[i];
out:
	free(keys.p);
	free(h);
	free(ids);
	free(kp);
	free(kl);
	if (ret)
		return pw_compile_err(x, ret, "pod identities: %s", ret == -ENOMEM ? "out of memory"
			      : "identity space exhausted");
	return 0;
}

void pw_free_identities(struct cctx *x)
{
	free(x->keys);
	free(x->ids);
	free(x->groups);
	free(x->gslot);
	free(x->pod_ns);
	free(x->pod_id);
	free(x->nsr);
	free(x->nsr_first);
	free(x->nsr_next);
	x->keys = NULL;
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
