/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The cluster object store: creation, appending objects, finishing (sorting,
 * duplicates, pods that are not endpoints set apart, two endpoints with one
 * address, implicit namespaces) and lookups.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "k8s/internal.h"
#include "k8s/ip.h"

#define NS_NAME_LABEL "kubernetes.io/metadata.name"

struct pw_cluster *pw_cluster_new(void)
{
	struct pw_cluster *c = calloc(1, sizeof(*c));
	struct pw_store *s = calloc(1, sizeof(*s));

	if (!c || !s) {
		free(c);
		free(s);
		return NULL;
	}
	pw_arena_init(&s->arena);
	s->refs = 1;
	c->arena = s;
	return c;
}

struct pw_cluster *pw_cluster_ref(const struct pw_cluster *c)
{
	if (!c || !c->arena)
		return NULL; /* not from pw_cluster_new: nothing counts its references */
	__atomic_add_fetch(&pw_store(c)->refs, 1, __ATOMIC_RELAXED);
	return (struct pw_cluster *)c;
}

void pw_cluster_free(struct pw_cluster *c)
{
	if (!c)
		return;
	/* acq_rel: whatever another holder did before its drop happens before the free */
	if (c->arena && __atomic_sub_fetch(&pw_store(c)->refs, 1, __ATOMIC_ACQ_REL))
		return;
	if (c->arena) {
		if (pw_store(c)->release)
			pw_store(c)->release(pw_store(c)->release_ctx);
		pw_arena_release(&pw_store(c)->arena);
		free(c->arena);
	}
	free(c);
}

/* ------------------------------------------------------------ pod roles */
enum pw_pod_role pw_pod_role_of(const char *phase, bool host_network)
{
	/* the kubelet never runs a finished pod again; its address goes back to
	 * the pool at once (and the object may stay for days) */
	if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
		return PW_POD_FINISHED;
	/* the node's network namespace: no veth of its own, the node's address */
	if (host_network)
		return PW_POD_HOST_NETWORK;
	return PW_POD_ENDPOINT;
}

const char *pw_pod_role_text(enum pw_pod_role r)
{
	switch (r) {
	case PW_POD_ENDPOINT:     return "an endpoint";
	case PW_POD_FINISHED:     return "finished (status.phase Succeeded or Failed): it is "
					 "gone, and its address may be another pod's";
	case PW_POD_HOST_NETWORK: return "hostNetwork: it has the node's address, and its "
					 "traffic is node traffic";
	case PW_POD_REPLACED:     return "terminating (metadata.deletionTimestamp set) and "
					 "its address is another pod's now";
	}
	return "?";
}

void pw_pod_replaced_text(const struct pw_pod *p, char *buf, size_t len)
{
	char ip[64];

	pw_ip_format(p->replaced_by.ip, ip, sizeof(ip));
	snprintf(buf, len, "pod %s/%s (%s:%d) is terminating and pod %s/%s (%s:%d) has its "
		 "address %s: %s/%s is the endpoint there, %s/%s is none until its object goes",
		 p->ns, p->name, p->loc.file, p->loc.line, p->replaced_by.ns, p->replaced_by.name,
		 p->replaced_by.loc.file, p->replaced_by.loc.line, ip, p->replaced_by.ns,
		 p->replaced_by.name, p->ns, p->name);
}

static void *add(struct pw_cluster *c, void **arr, size_t *n, size_t *cap, size_t size)
{
	struct pw_store *s = pw_store(c);
	char *p;

	if (*n >= PW_LOAD_MAX_OBJECTS)
		return NULL;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		void *na = pw_arena_grow(&s->arena, *arr, *n, ncap, size);

		if (!na)
			return NULL;
		*arr = na;
		*cap = ncap;
	}
	p = (char *)*arr + *n * size;
	memset(p, 0, size);
	(*n)++;
	return p;
}

struct pw_namespace *pw_store_add_namespace(struct pw_cluster *c)
{
	return add(c, (void **)&c->namespaces, &c->n_namespaces,
		   &pw_store(c)->cap_namespaces, sizeof(*c->namespaces));
}

struct pw_pod *pw_store_add_pod(struct pw_cluster *c)
{
	return add(c, (void **)&c->pods, &c->n_pods, &pw_store(c)->cap_pods, sizeof(*c->pods));
}

struct pw_policy *pw_store_add_policy(struct pw_cluster *c)
{
	return add(c, (void **)&c->policies, &c->n_policies, &pw_store(c)->cap_policies,
		   sizeof(*c->policies));
}

struct pw_service *pw_store_add_service(struct pw_cluster *c)
{
	return add(c, (void **)&c->services, &c->n_services, &pw_store(c)->cap_services,
		   sizeof(*c->services));
}

struct pw_cnp *pw_store_add_cnp(struct pw_cluster *c)
{
	return add(c, (void **)&c->cnps, &c->n_cnps, &pw_store(c)->cap_cnps, sizeof(*c->cnps));
}

struct pw_node *pw_store_add_node(struct pw_cluster *c)
{
	return add(c, (void **)&c->nodes, &c->n_nodes, &pw_store(c)->cap_nodes,
		   sizeof(*c->nodes));
}

/* ------------------------------------------------------------ stable sort */
static void msort(char *a, char *tmp, size_t n, size_t size,
		  int (*cmp)(const void *, const void *))
{
	size_t h = n / 2, i = 0, j = h, k = 0;

	if (n < 2)
		return;
	msort(a, tmp, h, size, cmp);
	msort(a + h * size, tmp, n - h, size, cmp);
	if (cmp(a + (h - 1) * size, a + h * size) <= 0)
		return;
	while (i < h && j < n) {
		if (cmp(a + j * size, a + i * size) < 0)
			memcpy(tmp + k++ * size, a + j++ * size, size);
		else
			memcpy(tmp + k++ * size, a + i++ * size, size);
	}
	while (i < h)
		memcpy(tmp + k++ * size, a + i++ * size, size);
	while (j < n)
		memcpy(tmp + k++ * size, a + j++ * size, size);
	memcpy(a, tmp, k * size);
}

int pw_sort_stable(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	void *tmp;

	if (n < 2)
		return 0;
	tmp = malloc(n * size);
	if (!tmp)
		return -ENOMEM;
	msort(base, tmp, n, size, cmp);
	free(tmp);
	return 0;
}

static int ns_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pw_namespace *)a)->name,
		      ((const struct pw_namespace *)b)->name);
}

static int nsname_cmp(const char *ns1, const char *n1, const char *ns2, const char *n2)
{
	int r = strcmp(ns1, ns2);

	return r ? r : strcmp(n1, n2);
}

static int pod_cmp(const void *a, const void *b)
{
	const struct pw_pod *x = a, *y = b;

	return nsname_cmp(x->ns, x->name, y->ns, y->name);
}

static int pol_cmp(const void *a, const void *b)
{
	const struct pw_policy *x = a, *y = b;

	return nsname_cmp(x->ns, x->name, y->ns, y->name);
}

static int svc_cmp(const void *a, const void *b)
{
	const struct pw_service *x = a, *y = b;

	return nsname_cmp(x->ns, x->name, y->ns, y->name);
}

static int cnp_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pw_cnp *)a)->name, ((const struct pw_cnp *)b)->name);
}

static int node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pw_node *)a)->name, ((const struct pw_node *)b)->name);
}

int pw_cmp_cnp(const void *a, const void *b) { return cnp_cmp(a, b); }
int pw_cmp_node(const void *a, const void *b) { return node_cmp(a, b); }
int pw_cmp_namespace(const void *a, const void *b) { return ns_cmp(a, b); }
int pw_cmp_pod(const void *a, const void *b) { return pod_cmp(a, b); }
int pw_cmp_policy(const void *a, const void *b) { return pol_cmp(a, b); }
int pw_cmp_service(const void *a, const void *b) { return svc_cmp(a, b); }

/* ------------------------------------------------------------------ finish */
static int ns_index_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct pw_namespace *)elem)->name);
}

static int set_name_label(struct pw_cluster *c, struct pw_namespace *ns)
{
	struct pw_arena *a = &pw_store(c)->arena;
	struct pw_labels *l = &ns->labels;
	struct pw_label *nv;
	size_t pos = 0;

	for (pos = 0; pos < l->n; pos++) {
		int r = strcmp(l->v[pos].key, NS_NAME_LABEL);

		if (r == 0)
			return 0;  /* as the reference does: an explicit value stays */
		if (r > 0)
			break;
	}
	nv = pw_arena_calloc(a, l->n + 1, sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	if (l->n) {
		memcpy(nv, l->v, pos * sizeof(*nv));
		memcpy(nv + pos + 1, l->v + pos, (l->n - pos) * sizeof(*nv));
	}
	nv[pos].key = NS_NAME_LABEL;
	nv[pos].value = ns->name;
	l->v = nv;
	l->n++;
	return 0;
}

/* Is a earlier in load order than b? Files load in path order (load.c). */
static bool loc_before(const struct pw_loc *a, const struct pw_loc *b)
{
	int r = a->file == b->file ? 0 : strcmp(a->file ? a->file : "", b->file ? b->file : "");

	return r ? r < 0 : a->line < b->line;
}

static int add_implicit_ns(struct pw_cluster *c, const char *name, const struct pw_loc *loc,
			   size_t n_sorted)
{
	struct pw_namespace *ns;

	/* the first n_sorted entries are sorted; newly added ones follow */
	if (n_sorted &&
	    bsearch(name, c->namespaces, n_sorted, sizeof(*c->namespaces), ns_index_cmp))
		return 0;
	for (size_t i = n_sorted; i < c->n_namespaces; i++)
		if (!strcmp(c->namespaces[i].name, name))
			return 0;
	ns = pw_store_add_namespace(c);
	if (!ns)
		return -ENOMEM;
	ns->name = (char *)name;   /* arena-owned already */
	ns->implicit = true;
	ns->loc = *loc;
	return 0;
}

/* "file:line: duplicate KIND NAME (also defined at file:line)", q the later */
static int dup_error(struct pw_error *err, const char *kind, const char *ns, const char *name,
		     const struct pw_loc *p, const struct pw_loc *q)
{
	const struct pw_loc *first = loc_before(q, p) ? q : p, *second = first == p ? q : p;

	if (err)
		snprintf(err->msg, sizeof(err->msg),
			 "%s:%d: duplicate %s %s%s%s (also defined at %s:%d): one object "
			 "(kind, namespace, name) is defined once", second->file,
			 second->line, kind, ns ? ns : "", ns ? "/" : "", name, first->file,
			 first->line);
	return -EINVAL;
}

/* The first two neighbours of sorted arr[0..n) with equal keys, as an error. */
#define CHECK_DUPS(arr, n, cmp, kind, ns_of)                                           \
	do {                                                                            \
		for (size_t i_ = 1; i_ < (n); i_++)                                     \
			if (!cmp(&(arr)[i_ - 1], &(arr)[i_]))                            \
				return dup_error(err, kind, ns_of((arr)[i_]),           \
						 (arr)[i_].name, &(arr)[i_ - 1].loc,    \
						 &(arr)[i_].loc);                       \
	} while (0)
#define NO_NS(o)  NULL
#define OBJ_NS(o) (o).ns

/*
 * Move the pods that are not endpoints (pw_pod_role_of) from pods to
 * skipped_pods, keeping both in order. A cluster finished once and loaded
 * into again (the CNI source adds its pending pods) may have skipped pods
 * already: a pod of the new ones must not have the name of one of them.
 */
static int set_apart(struct pw_cluster *c, struct pw_error *err)
{
	struct pw_pod *nv;
	size_t k = 0, w = 0;

	for (size_t i = 0; c->n_skipped_pods && i < c->n_pods; i++) {
		const struct pw_pod *q = &c->pods[i];
		const struct pw_pod *p = pw_cluster_skipped_pod(c, q->ns, q->name);

		if (p)
			return dup_error(err, "pod", q->ns, q->name, &p->loc, &q->loc);
	}
	for (size_t i = 0; i < c->n_pods; i++)
		k += c->pods[i].role != PW_POD_ENDPOINT;
	if (!k)
		return 0;
	nv = pw_arena_calloc(&pw_store(c)->arena, c->n_skipped_pods + k, sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	if (c->n_skipped_pods)
		memcpy(nv, c->skipped_pods, c->n_skipped_pods * sizeof(*nv));
	for (size_t i = 0; i < c->n_pods; i++) {
		if (c->pods[i].role != PW_POD_ENDPOINT)
			nv[c->n_skipped_pods++] = c->pods[i];
		else
			c->pods[w++] = c->pods[i];
	}
	c->n_pods = w;
	c->skipped_pods = nv;
	return pw_sort_stable(nv, c->n_skipped_pods, sizeof(*nv), pod_cmp);
}

static void replace_pod(struct pw_pod *old, const struct pw_pod *by, const uint8_t ip[16])
{
	old->role = PW_POD_REPLACED;
	old->replaced_by.ns = by->ns;
	old->replaced_by.name = by->name;
	old->replaced_by.loc = by->loc;
	memcpy(old->replaced_by.ip, ip, 16);
}

/*
 * One endpoint per address. When two claim one, a terminating pod
 * (deletionTimestamp) yields to one that is not: its sandbox is gone, as
 * the address went back to the pool and was given again (a window of
 * seconds in a real cluster, until the kubelet confirms the deletion); it
 * becomes REPLACED and set_apart moves it out. Two pods that are not
 * terminating (or both terminating: nothing tells which sandbox is real)
 * have no meaning, the kernel would give the address to whichever came
 * first: an error naming both. An open addressing table of the addresses,
 * so the cost is one pass; whatever the order, the same pods yield.
 */
static int settle_pod_ips(struct pw_cluster *c, struct pw_error *err)
{
	size_t n = 0, cap = 16;
	uint32_t *tab;
	int ret = 0;

	for (size_t i = 0; i < c->n_pods; i++)
		n += c->pods[i].n_ips;
	if (n < 2)
		return 0;
	while (cap < 2 * n)
		cap *= 2;
	tab = calloc(cap, sizeof(*tab));  /* pod index + 1; 0: empty */
	if (!tab)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_pods && !ret; i++) {
		struct pw_pod *q = &c->pods[i];

		for (size_t k = 0; k < q->n_ips && q->role == PW_POD_ENDPOINT && !ret; k++) {
			uint32_t h = 2166136261u;
			struct pw_pod *p = NULL;
			size_t slot;

			for (int b = 0; b < 16; b++)
				h = (h ^ q->ips[k][b]) * 16777619u;
			for (slot = h & (cap - 1); tab[slot]; slot = (slot + 1) & (cap - 1)) {
				bool same = false;

				p = &c->pods[tab[slot] - 1];
				for (size_t j = 0; j < p->n_ips; j++)
					same |= !memcmp(p->ips[j], q->ips[k], 16);
				if (same)
					break;
				p = NULL;
			}
			if (p == q)
				continue;  /* one address twice in one pod's list */
			if (!p || p->role != PW_POD_ENDPOINT) {
				tab[slot] = (uint32_t)i + 1;  /* free, or held by a replaced pod */
			} else if (p->terminating && !q->terminating) {
				replace_pod(p, q, q->ips[k]);
				tab[slot] = (uint32_t)i + 1;
			} else if (q->terminating && !p->terminating) {
				replace_pod(q, p, q->ips[k]);
			} else {
				const struct pw_pod *a = loc_before(&q->loc, &p->loc) ? q : p;
				const struct pw_pod *b = a == p ? q : p;
				char ip[64];

				pw_ip_format(q->ips[k], ip, sizeof(ip));
				if (err)
					snprintf(err->msg, sizeof(err->msg),
						 "%s:%d: pods %s/%s and %s/%s (%s:%d) both have "
						 "address %s: two %s pods cannot share one (a "
						 "finished pod says so in status.phase; a pod that "
						 "is not terminating takes the address of one that "
						 "is)", b->loc.file, b->loc.line, b->ns, b->name,
						 a->ns, a->name, a->loc.file, a->loc.line, ip,
						 q->terminating ? "terminating" : "live");
				ret = -EINVAL;
			}
		}
	}
	free(tab);
	return ret;
}

/* One namespace: the loader gives the objects of a namespace one after the
 * other in a file one string (struct ld last_ns), so mostly no string is read. */
static bool same_ns(const char *a, const char *b)
{
	return a == b || !strcmp(a, b);
}

int pw_cluster_finish(struct pw_cluster *c, struct pw_error *err)
{
	size_t n_sorted;
	int ret;

	if (err)
		err->msg[0] = 0;
	if (pw_sort_stable(c->namespaces, c->n_namespaces, sizeof(*c->namespaces), ns_cmp))
		goto nomem;
	if (!pw_store(c)->objects_sorted &&
	    (pw_sort_stable(c->pods, c->n_pods, sizeof(*c->pods), pod_cmp) ||
	     pw_sort_stable(c->policies, c->n_policies, sizeof(*c->policies), pol_cmp) ||
	     pw_sort_stable(c->services, c->n_services, sizeof(*c->services), svc_cmp)))
		goto nomem;
	if (pw_sort_stable(c->cnps, c->n_cnps, sizeof(*c->cnps), cnp_cmp) ||
	    pw_sort_stable(c->nodes, c->n_nodes, sizeof(*c->nodes), node_cmp))
		goto nomem;

	/* one object per (kind, namespace, name), as the API server keeps them */
	CHECK_DUPS(c->namespaces, c->n_namespaces, ns_cmp, "namespace", NO_NS);
	/* cluster-scoped: whatever the merge saw */
	CHECK_DUPS(c->cnps, c->n_cnps, cnp_cmp, "clusternetworkpolicy", NO_NS);
	CHECK_DUPS(c->nodes, c->n_nodes, node_cmp, "node", NO_NS);
	if (!pw_store(c)->objects_unique) {
		CHECK_DUPS(c->pods, c->n_pods, pod_cmp, "pod", OBJ_NS);
		CHECK_DUPS(c->policies, c->n_policies, pol_cmp, "networkpolicy", OBJ_NS);
		CHECK_DUPS(c->services, c->n_services, svc_cmp, "service", OBJ_NS);
	}
	ret = settle_pod_ips(c, err);
	if (!ret)
		ret = set_apart(c, err);
	if (ret == -ENOMEM)
		goto nomem;
	if (ret)
		return ret;

	/*
	 * Implicit namespaces of pods, then of policies, each located at its
	 * first object in load order (earliest file, then line): objects are
	 * sorted by namespace now, so one walk over each group, and the answer
	 * does not depend on the order the objects came in (filecache.c
	 * merges files' objects in key order).
	 */
	n_sorted = c->n_namespaces;
	for (size_t i = 0, j; i < c->n_pods; i = j) {
		const struct pw_loc *first = &c->pods[i].loc;

		for (j = i + 1; j < c->n_pods && same_ns(c->pods[j].ns, c->pods[i].ns); j++)
			if (loc_before(&c->pods[j].loc, first))
				first = &c->pods[j].loc;
		if (add_implicit_ns(c, c->pods[i].ns, first, n_sorted))
			goto nomem;
	}
	for (size_t i = 0, j; i < c->n_policies; i = j) {
		const struct pw_loc *first = &c->policies[i].loc;

		for (j = i + 1; j < c->n_policies && same_ns(c->policies[j].ns, c->policies[i].ns);
		     j++)
			if (loc_before(&c->policies[j].loc, first))
				first = &c->policies[j].loc;
		if (add_implicit_ns(c, c->policies[i].ns, first, n_sorted))
			goto nomem;
	}
	if (pw_sort_stable(c->namespaces, c->n_namespaces, sizeof(*c->namespaces), ns_cmp))
		goto nomem;
	for (size_t i = 0; i < c->n_namespaces; i++)
		if (set_name_label(c, &c->namespaces[i]))
			goto nomem;
	return 0;
nomem:
	if (err)
		snprintf(err->msg, sizeof(err->msg), "out of memory");
	return -ENOMEM;
}

/* ----------------------------------------------------------------- lookups */
const struct pw_namespace *pw_cluster_namespace(const struct pw_cluster *c, const char *name)
{
	const struct pw_namespace *ns;

	if (!c || !name || !c->n_namespaces)
		return NULL;
	ns = bsearch(name, c->namespaces, c->n_namespaces, sizeof(*c->namespaces),
		     ns_index_cmp);
	if (ns)
		return ns;
	/* not found: maybe not finished (unsorted) yet */
	for (size_t i = 0; i < c->n_namespaces; i++)
		if (!strcmp(c->namespaces[i].name, name))
			return &c->namespaces[i];
	return NULL;
}

struct pod_key {
	const char *ns, *name;
};

static int pod_key_cmp(const void *key, const void *elem)
{
	const struct pod_key *k = key;
	const struct pw_pod *p = elem;

	return nsname_cmp(k->ns, k->name, p->ns, p->name);
}

const struct pw_pod *pw_cluster_pod(const struct pw_cluster *c, const char *ns,
				    const char *name)
{
	struct pod_key k = { ns, name };
	const struct pw_pod *p;

	if (!c || !ns || !name || !c->n_pods)
		return NULL;
	p = bsearch(&k, c->pods, c->n_pods, sizeof(*c->pods), pod_key_cmp);
	if (p)
		return p;
	for (size_t i = 0; i < c->n_pods; i++)
		if (!strcmp(c->pods[i].ns, ns) && !strcmp(c->pods[i].name, name))
			return &c->pods[i];
	return NULL;
}

const struct pw_pod *pw_cluster_skipped_pod(const struct pw_cluster *c, const char *ns,
					    const char *name)
{
	struct pod_key k = { ns, name };

	if (!c || !ns || !name || !c->n_skipped_pods)
		return NULL;
	return bsearch(&k, c->skipped_pods, c->n_skipped_pods, sizeof(*c->skipped_pods),
		       pod_key_cmp);
}

void pw_cluster_ns_policies(const struct pw_cluster *c, const char *ns, size_t *lo, size_t *hi)
{
	size_t l = 0, h = c->n_policies;

	while (l < h) {
		size_t mid = l + (h - l) / 2;

		if (strcmp(c->policies[mid].ns, ns) < 0)
			l = mid + 1;
		else
			h = mid;
	}
	for (h = l; h < c->n_policies; h++) {
		if (h + 8 < c->n_policies)   /* overlap the misses */
			__builtin_prefetch(c->policies[h + 8].ns);
		if (strcmp(c->policies[h].ns, ns))
			break;
	}
	*lo = l;
	*hi = h;
}

uint16_t pw_service_target(const struct pw_service_port *sp, const struct pw_pod *pod)
{
	if (!sp->target_name)
		return sp->target_port;
	for (size_t i = 0; i < pod->n_ports; i++)
		if (pod->ports[i].name && pod->ports[i].proto == sp->proto &&
		    !strcmp(pod->ports[i].name, sp->target_name))
			return pod->ports[i].port;
	return 0;
}
