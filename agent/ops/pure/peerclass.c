/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * peerclass: which matrix peers one probe can answer for (ops/peerclass.h
 * says why these are the things that decide a verdict). Each peer gets a
 * description: a fixed head (endpoint fields, families, anti-spoofing,
 * the ipcache entries of its addresses) and its policy entries with ep_id
 * cleared, in the state's order. Peers are sorted by a hash of that and
 * compared byte for byte within a hash; equal descriptions, one class.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "ops/peerclass.h"

struct head {                  /* every byte set: compared with memcmp */
	uint32_t identity, flags, dns_flags;
	uint8_t  has[2];           /* the peer probes with an address of this family */
	uint8_t  src_ok[2];        /* that address is the endpoint's own (anti-spoofing) */
	struct pw_ipcache_val ipc[2];
	uint32_t n_pol;
};

struct desc {
	size_t      peer;
	bool        alone;         /* a class of its own */
	struct head h;
	size_t      pol_lo, pol_hi;/* its policy entries: by_ep[pol_lo..pol_hi) */
	uint64_t    hash;
};

struct pol_ref {
	uint32_t ep_id;
	uint32_t idx;              /* into s->pol */
};

struct ctx {
	const struct pw_state *s;
	const struct pol_ref  *by_ep;
};

static int cmp_pol_ref(const void *a, const void *b)
{
	const struct pol_ref *x = a, *y = b;

	if (x->ep_id != y->ep_id)
		return x->ep_id < y->ep_id ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_addr_ref(const void *a, const void *b)
{
	const uint8_t *const *x = a, *const *y = b;

	return memcmp(*x, *y, 16);
}

static int cmp_ipc_key(const void *a, const void *b)
{
	return memcmp(a, &((const struct pw_state_ipc *)b)->key, sizeof(struct pw_ipcache_key));
}

/* A policy entry as the class sees it: the key without its ep_id. */
static void pol_norm(const struct pw_state_pol *e, struct pw_state_pol *out)
{
	*out = *e;
	out->key.ep_id = 0;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static int cmp_desc(const void *a, const void *b, void *arg)
{
	const struct desc *x = a, *y = b;
	const struct ctx *c = arg;
	int r;

	if (x->alone != y->alone)
		return x->alone ? 1 : -1;
	if (x->alone)
		return x->peer < y->peer ? -1 : 1;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	r = memcmp(&x->h, &y->h, sizeof(x->h));
	for (size_t k = 0; !r && k < x->h.n_pol; k++) {
		struct pw_state_pol ex, ey;

		pol_norm(&c->s->pol[c->by_ep[x->pol_lo + k].idx], &ex);
		pol_norm(&c->s->pol[c->by_ep[y->pol_lo + k].idx], &ey);
		r = memcmp(&ex, &ey, sizeof(ex));
	}
	if (r)
		return r;
	return x->peer < y->peer ? -1 : x->peer > y->peer;
}

static bool same_class(const struct desc *x, const struct desc *y, const struct ctx *c)
{
	struct desc a = *x, b = *y;

	if (x->alone || y->alone)
		return false;
	a.peer = b.peer = 0;
	return cmp_desc(&a, &b, (void *)c) == 0;
}

/* The exact ipcache entry of addr (slot 0, as states keep them); false if none. */
static bool ipc_exact(const struct pw_state *s, const uint8_t *addr, struct pw_ipcache_val *v)
{
	struct pw_ipcache_key k;
	const struct pw_state_ipc *e;

	memset(&k, 0, sizeof(k));
	k.prefixlen = PW_IPC_EXACT_PREFIX;
	memcpy(k.addr, addr, 16);
	e = bsearch(&k, s->ipc, s->n_ipc, sizeof(*s->ipc), cmp_ipc_key);
	if (!e)
		return false;
	*v = e->val;
	return true;
}

static bool is_v4(const uint8_t *a)
{
	static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a, pfx, 12);
}

/* The address of the family fam (0: v4, 1: v6) the datapath holds for ep. */
static const uint8_t *ep_addr(const struct pw_state_ep *ep, int fam)
{
	for (size_t j = 0; j < ep->n_ips && j < 2; j++)
		if (is_v4(ep->ips[j]) == (fam == 0))
			return ep->ips[j];
	return NULL;
}

static void describe(const struct pw_state *s, const struct pw_peer_in *pe, struct desc *d)
{
	memset(&d->h, 0, sizeof(d->h));
	if (!pe->ep) {
		d->alone = true;
		return;
	}
	d->h.identity = pe->ep->identity;
	d->h.flags = pe->ep->flags;
	d->h.dns_flags = pe->ep->dns_flags;
	for (int fam = 0; fam < 2; fam++) {
		const uint8_t *a = fam ? pe->v6 : pe->v4, *own = ep_addr(pe->ep, fam);

		if (!a)
			continue;
		d->h.has[fam] = 1;
		d->h.src_ok[fam] = own && !memcmp(own, a, 16);
		if (!ipc_exact(s, a, &d->h.ipc[fam]))
			d->alone = true;
	}
	d->h.n_pol = (uint32_t)(d->pol_hi - d->pol_lo);
}

int pw_peer_classes(const struct pw_state *s, const struct pw_peer_in *peers, size_t n,
		    uint32_t *cls)
{
	struct pol_ref *by_ep = calloc(s->n_pol + 1, sizeof(*by_ep));
	const uint8_t **addrs = calloc(2 * n + 1, sizeof(*addrs));
	struct desc *d = calloc(n + 1, sizeof(*d));
	uint32_t *first = calloc(n + 1, sizeof(*first)), n_cls = 0;
	struct ctx c = { .s = s, .by_ep = by_ep };
	size_t n_addrs = 0;
	int ret;

	if (!by_ep || !addrs || !d || !first) {
		ret = -ENOMEM;
		goto out;
	}
	/* the policy entries of each endpoint, in the state's order */
	for (size_t i = 0; i < s->n_pol; i++)
		by_ep[i] = (struct pol_ref){ .ep_id = s->pol[i].key.ep_id, .idx = (uint32_t)i };
	qsort(by_ep, s->n_pol, sizeof(*by_ep), cmp_pol_ref);

	for (size_t i = 0; i < n; i++) {
		d[i].peer = i;
		if (peers[i].ep) {
			struct pol_ref lo = { .ep_id = peers[i].ep->ep_id, .idx = 0 };
			size_t a = 0, b = s->n_pol;

			while (a < b) { /* first entry >= (ep_id, 0) */
				size_t mid = (a + b) / 2;

				if (cmp_pol_ref(&by_ep[mid], &lo) < 0)
					a = mid + 1;
				else
					b = mid;
			}
			d[i].pol_lo = d[i].pol_hi = a;
			while (d[i].pol_hi < s->n_pol && by_ep[d[i].pol_hi].ep_id == lo.ep_id)
				d[i].pol_hi++;
		}
		describe(s, &peers[i], &d[i]);
		if (peers[i].v4)
			addrs[n_addrs++] = peers[i].v4;
		if (peers[i].v6)
			addrs[n_addrs++] = peers[i].v6;
	}

	/* a peer that shares an address with another is alone */
	qsort(addrs, n_addrs, sizeof(*addrs), cmp_addr_ref);
	for (size_t k = 1; k < n_addrs; k++) {
		if (memcmp(addrs[k - 1], addrs[k], 16))
			continue;
		for (size_t i = 0; i < n; i++)
			if ((peers[i].v4 && !memcmp(peers[i].v4, addrs[k], 16)) ||
			    (peers[i].v6 && !memcmp(peers[i].v6, addrs[k], 16)))
				d[i].alone = true;
	}

	for (size_t i = 0; i < n; i++) {
		uint64_t h = fnv(0xcbf29ce484222325ULL, &d[i].h, sizeof(d[i].h));

		for (size_t k = d[i].pol_lo; k < d[i].pol_hi; k++) {
			struct pw_state_pol e;

			pol_norm(&s->pol[by_ep[k].idx], &e);
			h = fnv(h, &e, sizeof(e));
		}
		d[i].hash = h;
	}
	qsort_r(d, n, sizeof(*d), cmp_desc, &c);

	/* runs of equal descriptions; then number them by their first peer */
	for (size_t i = 0; i < n; i++) {
		if (i && same_class(&d[i - 1], &d[i], &c)) {
			cls[d[i].peer] = cls[d[i - 1].peer];
			continue;
		}
		cls[d[i].peer] = n_cls++;
	}
	for (uint32_t k = 0; k < n_cls; k++)
		first[k] = UINT32_MAX;
	{
		uint32_t next = 0;

		for (size_t i = 0; i < n; i++)
			if (first[cls[i]] == UINT32_MAX)
				first[cls[i]] = next++;
		for (size_t i = 0; i < n; i++)
			cls[i] = first[cls[i]];
	}
	ret = (int)n_cls;
out:
	free(by_ep);
	free(addrs);
	free(d);
	free(first);
	return ret;
}
