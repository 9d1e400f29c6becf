/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The cluster object store: creation, appending objects, finishing (implicit
 * namespaces, sorting, duplicates) and lookups.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "k8s/internal.h"

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
	ns->loc = *loc;
	return 0;
}

int pw_cluster_finish(struct pw_cluster *c, struct pw_error *err)
{
	size_t n_sorted, w;

	if (err)
		err->msg[0] = 0;
	/* namespaces: sort (stable), the last definition of a name wins */
	if (pw_sort_stable(c->namespaces, c->n_namespaces, sizeof(*c->namespaces), ns_cmp))
		goto nomem;
	w = 0;
	for (size_t i = 0; i < c->n_namespaces; i++) {
		if (w && !strcmp(c->namespaces[w - 1].name, c->namespaces[i].name))
			c->namespaces[w - 1] = c->namespaces[i];
		else
			c->namespaces[w++] = c->namespaces[i];
	}
	c->n_namespaces = w;
	if (!pw_store(c)->objects_sorted &&
	    (pw_sort_stable(c->pods, c->n_pods, sizeof(*c->pods), pod_cmp) ||
	     pw_sort_stable(c->policies, c->n_policies, sizeof(*c->policies), pol_cmp) ||
	     pw_sort_stable(c->services, c->n_services, sizeof(*c->services), svc_cmp)))
		goto nomem;

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

		for (j = i + 1; j < c->n_pods && !strcmp(c->pods[j].ns, c->pods[i].ns); j++)
			if (loc_before(&c->pods[j].loc, first))
				first = &c->pods[j].loc;
		if (add_implicit_ns(c, c->pods[i].ns, first, n_sorted))
			goto nomem;
	}
	for (size_t i = 0, j; i < c->n_policies; i = j) {
		const struct pw_loc *first = &c->policies[i].loc;

		for (j = i + 1; j < c->n_policies && !strcmp(c->policies[j].ns, c->policies[i].ns);
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
	for (size_t i = 1; !pw_store(c)->objects_unique && i < c->n_pods; i++) {
		const struct pw_pod *p = &c->pods[i - 1], *q = &c->pods[i];

		if (!pod_cmp(p, q)) {
			if (err)
				snprintf(err->msg, sizeof(err->msg),
					 "%s:%d: duplicate pod %s/%s (also defined at %s:%d)",
					 q->loc.file, q->loc.line, q->ns, q->name, p->loc.file,
					 p->loc.line);
			return -EINVAL;
		}
	}
	for (size_t i = 1; !pw_store(c)->objects_unique && i < c->n_services; i++) {
		const struct pw_service *p = &c->services[i - 1], *q = &c->services[i];

		if (!svc_cmp(p, q)) {
			if (err)
				snprintf(err->msg, sizeof(err->msg),
					 "%s:%d: duplicate service %s/%s (also defined at %s:%d)",
					 q->loc.file, q->loc.line, q->ns, q->name, p->loc.file,
					 p->loc.line);
			return -EINVAL;
		}
	}
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
