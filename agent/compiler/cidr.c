/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * CIDR groups. Every distinct prefix among the ipBlock cidrs and excepts in
 * force becomes one ipcache LPM entry with its own identity. The LPM returns
 * the longest prefix Q holding an address, so a block "cidr X except
 * Y1..Yn" matches exactly the groups Q with Q inside X and Q inside no Yi:
 * every Yi is a group itself, so an address in some Yi resolves to a group
 * inside that Yi.
 *
 * IPv4 lives at ::ffff:0:0/96 of the mapped space. An IPv6 block never
 * matches IPv4 addresses (as in the reference semantics), so an IPv6 block
 * that covers ::ffff:0:0/96 (::/0 does) gets that prefix as an implicit
 * except: no group inside it matches the block, and the ipcache gets an
 * entry ::ffff:0:0/96 -> world unless 0.0.0.0/0 is a group of its own, so
 * that the LPM never answers an IPv4 address with the IPv6 block's group.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "compiler/internal.h"
#include "k8s/ip.h"

static bool covers_v4_space(const struct pw_np_peer *p)
{
	return !p->cidr.is_v4 && pw_cidr_subset(&pw_v4_mapped_space, &p->cidr);
}

bool pw_block_has_prefix(const struct pw_np_peer *p, const struct pw_cidr *q)
{
	if (!pw_cidr_subset(q, &p->cidr))
		return false;
	if (covers_v4_space(p) && pw_cidr_subset(q, &pw_v4_mapped_space))
		return false;
	for (size_t i = 0; i < p->n_except; i++)
		if (pw_cidr_subset(q, &p->except[i]))
			return false;
	return true;
}

bool pw_block_has_addr(const struct pw_np_peer *p, const uint8_t a[16])
{
	if (!pw_cidr_has_addr(&p->cidr, a))
		return false;
	if (!p->cidr.is_v4 && pw_ip_is_v4(a))
		return false;
	for (size_t i = 0; i < p->n_except; i++)
		if (pw_cidr_has_addr(&p->except[i], a))
			return false;
	return true;
}

int pw_prefix_cmp(const struct pw_cidr *a, const struct pw_cidr *b)
{
	int r = memcmp(a->addr, b->addr, 16);

	if (r)
		return r;
	return (a->len > b->len) - (a->len < b->len);
}

static int group_cmp(const void *a, const void *b)
{
	return pw_prefix_cmp(&((const struct cgroup *)a)->pfx, &((const struct cgroup *)b)->pfx);
}

struct gvec {
	struct cgroup *v;
	size_t         n, cap;
};

static int push(struct gvec *g, const struct pw_cidr *p)
{
	if (g->n == g->cap) {
		size_t ncap = g->cap ? g->cap * 2 : 16;
		struct cgroup *nv = realloc(g->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		g->v = nv;
		g->cap = ncap;
	}
	memset(&g->v[g->n], 0, sizeof(g->v[g->n]));
	g->v[g->n].pfx.len = p->len;
	memcpy(g->v[g->n].pfx.addr, p->addr, 16);
	g->v[g->n].pfx.is_v4 = p->len >= 96 && pw_ip_is_v4(p->addr);
	g->n++;
	return 0;
}

static int push_block(struct gvec *g, const struct pw_np_peer *p, bool *v6_covers_v4)
{
	if (push(g, &p->cidr))
		return -ENOMEM;
	for (size_t e = 0; e < p->n_except; e++)
		if (push(g, &p->except[e]))
			return -ENOMEM;
	if (covers_v4_space(p))
		*v6_covers_v4 = true;
	return 0;
}

int pw_collect_groups(const struct pw_cluster *c, const struct pw_np_rule *extra,
		      size_t n_extra, struct cgroup **out, size_t *n, bool *v6_covers_v4)
{
	struct gvec g = { 0 };
	size_t w = 0;

	*v6_covers_v4 = false;
	for (size_t i = 0; i < c->n_policies; i++) {
		const struct pw_policy *pol = &c->policies[i];

		/* every policy's rules, scattered over the loader's memory: ask
		 * for later ones now (rules, then their peers) so misses overlap */
		for (int d = 0; d < 2; d++) {
			if (i + 16 < c->n_policies)
				__builtin_prefetch(c->policies[i + 16].rules[d]);
			if (i + 8 < c->n_policies && c->policies[i + 8].n_rules[d])
				__builtin_prefetch(c->policies[i + 8].rules[d][0].peers);
		}
		for (int d = 0; d < 2; d++) {
			if (!pol->types[d])
				continue;
			for (size_t r = 0; r < pol->n_rules[d]; r++) {
				const struct pw_np_rule *rule = &pol->rules[d][r];

				for (size_t k = 0; k < rule->n_peers; k++) {
					const struct pw_np_peer *p = &rule->peers[k];

					if (p->kind == PW_PEER_IPBLOCK && push_block(&g, p, v6_covers_v4))
						goto nomem;
				}
			}
		}
	}
	/* ClusterNetworkPolicy networks and Node addresses (tiers.c) */
	for (size_t r = 0; r < n_extra; r++)
		for (size_t k = 0; k < extra[r].n_peers; k++)
			if (extra[r].peers[k].kind == PW_PEER_IPBLOCK &&
			    push_block(&g, &extra[r].peers[k], v6_covers_v4))
				goto nomem;
	/* by address then length: the first 17 bytes (stable radix; qsort if
	 * it has no memory) */
	_Static_assert(offsetof(struct cgroup, pfx) == 0 && offsetof(struct pw_cidr, len) == 16,
		       "a group's first 17 bytes are its address and length");
	if (g.n && pw_sort_bytes(g.v, g.n, sizeof(*g.v), 17))
		qsort(g.v, g.n, sizeof(*g.v), group_cmp);
	for (size_t i = 0; i < g.n; i++)
		if (!w || group_cmp(&g.v[w - 1], &g.v[i]))
			g.v[w++] = g.v[i];
	*out = g.v;
	*n = w;
	return 0;
nomem:
	free(g.v);
	return -ENOMEM;
}
