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

struct buf {
	uint8_t *p;
	size_t   n, cap;
	bool     oom;
};

static void put(struct buf *b, const void *d, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;
		uint8_t *np;

		while (ncap < b->n + n)
			ncap *= 2;
		np = realloc(b->p, ncap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void put_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	put(b, x, 4);
}

static void put_str(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	put_u32(b, (uint32_t)n);
	put(b, s, n);
}

/* -------------------------------------------------------------- groups */
static int bsearch_group(const struct cctx *x, const struct pw_cidr *q)
{
	size_t lo = 0, hi = x->n_groups;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = pw_prefix_cmp(q, &x->groups[mid].pfx);

		if (!r)
			return (int)mid;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* The longest group holding address a. For an IPv4 address only IPv4
 * groups count: an IPv6 block never holds IPv4 addresses (cidr.c), and all
 * addresses of one identity must be members of the same blocks. */
static size_t longest_group(const struct cctx *x, const uint8_t a[16])
{
	int min_len = pw_ip_is_v4(a) ? 96 : 0;
	struct pw_cidr q;

	if (!x->n_groups)
		return NONE;
	for (int len = 128; len >= min_len; len--) {
		int g;

		if (!x->group_len[len])
			continue;

		memcpy(q.addr, a, 16);
		pw_prefix_mask(q.addr, (unsigned)len);
		q.len = (uint8_t)len;
		g = bsearch_group(x, &q);
		if (g >= 0)
			return (size_t)g;
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
	ret = pw_assign_ids(h, x->n_groups, PW_ID_CIDR_MIN, UINT32_MAX, ids);
	for (size_t i = 0; !ret && i < x->n_groups; i++)
		x->groups[i].id = ids[i];
	free(h);
	free(ids);
	return ret;
}

/* ---------------------------------------------------------- pod identities */
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

struct entry {
	uint8_t *key;        /* in the keys buffer (set once every key is built) */
	size_t   key_off;
	size_t   key_len, label_len;
	size_t   pod, ip;
	size_t   group;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int r = memcmp(x->key, y->key, n);

	if (r)
		return r;
	if (x->key_len != y->key_len)
		return x->key_len < y->key_len ? -1 : 1;
	if (x->pod != y->pod)
		return x->pod < y->pod ? -1 : 1;
	return (x->ip > y->ip) - (x->ip < y->ip);
}

#define MAX_NAMED_STACK 16

/* Append the key of pod pi's address ip to b (one buffer for every key). */
static int make_key(struct cctx *x, size_t pi, size_t ip, struct entry *e, struct buf *b)
{
	const struct pw_pod *pod = &x->c->pods[pi];
	struct named stack[MAX_NAMED_STACK], *nv = stack;
	size_t nn = 0, w = 0, start = b->n;
	uint8_t tag = 'P';

	put(b, &tag, 1);
	put_str(b, pod->ns);
	put_u32(b, (uint32_t)pod->labels.n);
	for (size_t i = 0; i < pod->labels.n; i++) {
		put_str(b, pod->labels.v[i].key);
		put_str(b, pod->labels.v[i].value);
	}
	e->label_len = b->n - start;

	for (size_t i = 0; i < pod->n_ports; i++)
		nn += pod->ports[i].name != NULL;
	if (nn) {
		if (nn > MAX_NAMED_STACK) {
			nv = calloc(nn, sizeof(*nv));
			if (!nv)
				return -ENOMEM;
		}
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
	}
	put_u32(b, (uint32_t)w);
	for (size_t i = 0; i < w; i++) {
		uint8_t pp[3] = { nv[i].proto, (uint8_t)(nv[i].port >> 8), (uint8_t)nv[i].port };

		put_str(b, nv[i].name);
		put(b, pp, 3);
	}
	if (nv != stack)
		free(nv);

	e->group = longest_group(x, pod->ips[ip]);
	if (e->group == NONE) {
		uint8_t z = 0;

		put(b, &z, 1);
	} else {
		uint8_t one = 1;

		put(b, &one, 1);
		put(b, x->groups[e->group].pfx.addr, 16);
		put(b, &x->groups[e->group].pfx.len, 1);
	}
	if (b->oom)
		return -ENOMEM;
	e->key = NULL;
	e->key_off = start;
	e->key_len = b->n - start;
	e->pod = pi;
	e->ip = ip;
	return 0;
}

static bool is_dns_pod(const struct cctx *x, const struct pw_pod *pod)
{
	if (strcmp(pod->ns, x->o.dns_namespace))
		return false;
	for (size_t i = 0; i < pod->labels.n; i++)
		if (!strcmp(pod->labels.v[i].key, x->o.dns_label_key))
			return !strcmp(pod->labels.v[i].value, x->o.dns_label_value);
	return false;
}

int pw_build_identities(struct cctx *x)
{
	const struct pw_cluster *c = x->c;
	struct entry *e = NULL;
	struct buf keys = { 0 };
	uint64_t *h = NULL;
	uint32_t *ids = NULL;
	size_t ne = 0, n = 0;
	int ret;

	ret = pw_collect_groups(c, &x->groups, &x->n_groups, &x->v6_covers_v4);
	if (!ret)
		ret = group_ids(x);
	if (ret)
		return pw_compile_err(x, ret, "CIDR groups: %s", ret == -ENOMEM ? "out of memory"
			      : "identity space exhausted");
	for (size_t i = 0; i < x->n_groups; i++)
		x->group_len[x->groups[i].pfx.len] = true;

	x->pod_ns = calloc(c->n_pods ? c->n_pods : 1, sizeof(*x->pod_ns));
	x->pod_id = calloc(c->n_pods ? c->n_pods : 1, sizeof(*x->pod_id));
	if (!x->pod_ns || !x->pod_id)
		return pw_compile_err(x, -ENOMEM, "out of memory");
	for (size_t i = 0; i < c->n_pods; i++) {
		/* pods are sorted by namespace: look each one up once */
		if (i && !strcmp(c->pods[i].ns, c->pods[i - 1].ns)) {
			x->pod_ns[i] = x->pod_ns[i - 1];
		} else {
			const struct pw_namespace *ns = pw_cluster_namespace(c, c->pods[i].ns);

			x->pod_ns[i] = ns ? (size_t)(ns - c->namespaces) : NONE;
		}
		x->pod_id[i][0] = x->pod_id[i][1] = NONE;
		ne += c->pods[i].n_ips;
	}
	e = calloc(ne ? ne : 1, sizeof(*e));
	if (!e)
		return pw_compile_err(x, -ENOMEM, "out of memory");
	ne = 0;
	for (size_t i = 0; i < c->n_pods; i++)
		for (size_t k = 0; k < c->pods[i].n_ips && k < 2; k++) {
			ret = make_key(x, i, k, &e[ne], &keys);
			if (ret)
				goto out;
			ne++;
		}
	x->keys = keys.p;   /* every key, freed with the identities */
	keys.p = NULL;
	for (size_t i = 0; i < ne; i++)
		e[i].key = x->keys + e[i].key_off;
	qsort(e, ne, sizeof(*e), entry_cmp);

	/* one identity per distinct key */
	x->ids = calloc(ne ? ne : 1, sizeof(*x->ids));
	if (!x->ids) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < ne; i++) {
		struct podid *id;

		if (n && x->ids[n - 1].key_len == e[i].key_len &&
		    !memcmp(x->ids[n - 1].key, e[i].key, e[i].key_len)) {
			x->pod_id[e[i].pod][e[i].ip] = n - 1;
			continue;
		}
		id = &x->ids[n];
		id->key = e[i].key;
		id->key_len = e[i].key_len;
		id->label_len = e[i].label_len;
		id->rep = &c->pods[e[i].pod];
		id->ns = x->pod_ns[e[i].pod];
		memcpy(id->rep_ip, id->rep->ips[e[i].ip], 16);
		id->group = e[i].group;
		id->dns = is_dns_pod(x, id->rep);
		if (n && x->ids[n - 1].label_len == id->label_len &&
		    !memcmp(x->ids[n - 1].key, id->key, id->label_len))
			id->split = x->ids[n - 1].split = true;
		x->pod_id[e[i].pod][e[i].ip] = n;
		n++;
	}
	x->n_ids = n;

	/* the key starts with the namespace: ids of one namespace are adjacent */
	x->nsr = calloc(n ? n : 1, sizeof(*x->nsr));
	if (!x->nsr) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (x->n_nsr && !strcmp(x->nsr[x->n_nsr - 1].name, x->ids[i].rep->ns)) {
			x->nsr[x->n_nsr - 1].hi = i + 1;
			continue;
		}
		x->nsr[x->n_nsr++] = (struct nsrange){ x->ids[i].rep->ns, x->ids[i].ns, i, i + 1 };
	}

	h = calloc(n ? n : 1, sizeof(*h));
	ids = calloc(n ? n : 1, sizeof(*ids));
	if (!h || !ids) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		h[i] = pw_hash64(x->ids[i].key, x->ids[i].key_len);
	ret = pw_assign_ids(h, n, PW_ID_POD_MIN, PW_ID_CIDR_MIN - 1, ids);
	for (size_t i = 0; !ret && i < n; i++)
		x->ids[i].id = ids[i];
out:
	free(keys.p);
	free(e);
	free(h);
	free(ids);
	if (ret)
		return pw_compile_err(x, ret, "pod identities: %s", ret == -ENOMEM ? "out of memory"
			      : "identity space exhausted");
	return 0;
}

void pw_free_identities(struct cctx *x)
{
	free(x->keys);
	x->keys = NULL;
	free(x->ids);
	free(x->groups);
	free(x->pod_ns);
	free(x->pod_id);
	free(x->nsr);
	x->nsr = NULL;
	x->n_nsr = 0;
	x->ids = NULL;
	x->groups = NULL;
	x->pod_ns = NULL;
	x->pod_id = NULL;
	x->n_ids = x->n_groups = 0;
}
