/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The compile cache (compiler.h), and the prefix store it keeps.
 *
 * A pod's identity key (identity.c) is a prefix made of its namespace,
 * labels and named ports, then its CIDR-group part. Building prefixes reads
 * every pod's strings, scattered over the loader's memory: at 10,000 pods
 * that was half of a compile. Each compile puts its distinct prefixes in a
 * store (bytes, and hashes of them); the cache keeps the last compile's
 * store and, for each of its pods, the addresses the prefix was read from
 * (namespace string, label array, container ports, with their counts). A pod
 * of the next compile with the same addresses has the same prefix: the loader
 * never changes an object once its cluster is built, and its file cache
 * hands out the same memory for a file that did not change.
 *
 * Why an address still means what it meant: the cache holds a reference
 * (pw_cluster_ref) to the cluster of its last compile, so the memory behind
 * every address it remembers stays allocated and no other object can come to
 * have that address. A cluster that cannot be referenced (not made by
 * pw_cluster_new) leaves no addresses in the cache.
 *
 * What it keeps: exactly what the last successful compile used (a compile
 * builds a new store and address map, and they replace the cache's when
 * pw_compile succeeds; a failed compile changes nothing). So the cache never
 * holds more than one cluster's worth of entries, and never an entry older
 * than the cluster it references. (The memory of the ones replaced is kept,
 * empty, for the next compile to fill.) Everything else (CIDR groups,
 * namespaces, options) is computed afresh by every compile: the output is
 * the same with or without a cache.
 *
 * It also keeps the order of the last ipcache (struct pw_ipc_memo): not
 * addresses but the keys themselves, compared whole before use, so it holds
 * whatever cluster they came from.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "compiler/internal.h"

struct pw_compile_cache {
	struct pw_cluster *pinned;   /* the cluster every address in refs comes from */
	struct pw_pfxstore store;
	struct pw_refmap   refs;
	size_t             reused;   /* by the last compile */
	/* the memory of the store and map before, for the next compile to
	 * fill: large blocks malloc'd afresh each time come back as new pages,
	 * and each page faults when first written */
	struct pw_pfxstore spare;
	struct pw_refmap   spare_refs;
	struct pw_ipc_memo ipc;
};

struct pw_compile_cache *pw_compile_cache_new(void)
{
	return calloc(1, sizeof(struct pw_compile_cache));
}

void pw_compile_cache_free(struct pw_compile_cache *cc)
{
	if (!cc)
		return;
	pw_pfxstore_free(&cc->store);
	pw_refmap_free(&cc->refs);
	pw_pfxstore_free(&cc->spare);
	pw_refmap_free(&cc->spare_refs);
	pw_ipc_memo_free(&cc->ipc);
	pw_cluster_free(cc->pinned);
	free(cc);
}

void pw_compile_cache_stats(const struct pw_compile_cache *cc, struct pw_compile_cache_stats *st)
{
	st->pods = cc ? cc->refs.n : 0;
	st->reused = cc && cc->refs.n ? cc->reused : 0;
}

/* ----------------------------------------------------------------- store */
static size_t pow2_at_least(size_t n)
{
	size_t cap = 16;

	while (cap < n)
		cap *= 2;
	return cap;
}

int pw_pfxstore_grow(struct pw_pfxstore *s, size_t more)
{
	size_t ncap;
	uint8_t *np;

	ncap = s->cap_bytes ? s->cap_bytes : 64 * 1024;
	while (ncap - s->n_bytes < more)
		ncap *= 2;
	np = realloc(s->bytes, ncap);
	if (!np)
		return -ENOMEM;
	s->bytes = np;
	s->cap_bytes = ncap;
	return 0;
}

/*
 * The table of entries by content hash (at most half full), for room
 * entries. It is made on first use: a compile whose pods are all known
 * never looks a prefix up by content, and neither may the next one.
 */
static int index_store(struct pw_pfxstore *s, size_t room)
{
	size_t cap = pow2_at_least(room * 2), mask = cap - 1;
	uint32_t *slot = calloc(cap, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		size_t h = s->v[i].fh & mask;

		while (slot[h])
			h = (h + 1) & mask;
		slot[h] = (uint32_t)i + 1;
	}
	free(s->slot);
	s->slot = slot;
	s->mask = mask;
	return 0;
}

int pw_pfxstore_find(struct pw_pfxstore *s, const void *bytes, size_t len, uint64_t fh,
		     size_t *idx)
{
	*idx = NONE;
	if (!s->slot && index_store(s, s->cap > s->n ? s->cap : s->n + 1))
		return -ENOMEM;
	for (size_t h = fh & s->mask; s->slot[h]; h = (h + 1) & s->mask) {
		const struct pw_pfx *e = &s->v[s->slot[h] - 1];

		if (e->fh == fh && e->len == len && !memcmp(s->bytes + e->off, bytes, len)) {
			*idx = s->slot[h] - 1;
			break;
		}
	}
	return 0;
}

int pw_pfxstore_reset(struct pw_pfxstore *s, size_t n, size_t bytes)
{
	s->n = s->n_bytes = 0;
	free(s->slot);
	s->slot = NULL;
	s->mask = 0;
	if (s->cap < n || !s->v) {
		struct pw_pfx *nv = realloc(s->v, (n ? n : 1) * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = n ? n : 1;
	}
	return pw_pfxstore_room(s, bytes);
}

int pw_pfxstore_add(struct pw_pfxstore *s, const struct pw_pfx *e, size_t *idx)
{
	if (s->n > UINT32_MAX - 2)
		return -ENOMEM;
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 1024;
		struct pw_pfx *nv = realloc(s->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = ncap;
	}
	if (s->slot && s->n + 1 > (s->mask + 1) / 2 && index_store(s, s->cap))
		return -ENOMEM;
	s->v[s->n] = *e;
	if (s->slot) {   /* kept up to date once made */
		size_t h = e->fh & s->mask;

		while (s->slot[h])
			h = (h + 1) & s->mask;
		s->slot[h] = (uint32_t)s->n + 1;
	}
	*idx = s->n++;
	return 0;
}

void pw_pfxstore_free(struct pw_pfxstore *s)
{
	free(s->bytes);
	free(s->v);
	free(s->slot);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------ addresses */
static uint64_t ref_hash(const char *ns, const struct pw_label *labels,
			 const struct pw_container_port *ports, size_t n_labels, size_t n_ports)
{
	uint64_t h = (uint64_t)(uintptr_t)ns * 0x9e3779b97f4a7c15ULL;

	h ^= (uint64_t)(uintptr_t)labels * 0xc2b2ae3d27d4eb4fULL;
	h ^= (uint64_t)(uintptr_t)ports * 0x165667b19e3779f9ULL;
	h ^= ((uint64_t)n_labels << 32 | n_ports) * 0xd6e8feb86659fd93ULL;
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 29);
}

static bool ref_is(const struct pw_ref *r, const struct pw_pod *pod)
{
	return r->pod_ns == pod->ns && r->labels == pod->labels.v && r->n_labels == pod->labels.n &&
	       r->ports == pod->ports && r->n_ports == pod->n_ports;
}

int pw_refmap_reset(struct pw_refmap *m, size_t n)
{
	m->n = 0;
	free(m->slot);
	m->slot = NULL;
	m->mask = 0;
	if (n > UINT32_MAX - 2)
		return -ENOMEM;
	if (m->cap < n || !m->v) {
		struct pw_ref *nv = realloc(m->v, (n ? n : 1) * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		m->v = nv;
		m->cap = n;
	}
	return 0;
}

/* The table of the entries by address, made on first use (below). */
static int index_refs(struct pw_refmap *m)
{
	size_t cap = pow2_at_least(m->n * 2);

	m->slot = calloc(cap, sizeof(*m->slot));
	if (!m->slot)
		return -ENOMEM;
	m->mask = cap - 1;
	for (size_t i = 0; i < m->n; i++) {
		size_t h = ref_hash(m->v[i].pod_ns, m->v[i].labels, m->v[i].ports, m->v[i].n_labels,
				    m->v[i].n_ports) & m->mask;

		while (m->slot[h])
			h = (h + 1) & m->mask;
		m->slot[h] = (uint32_t)i + 1;
	}
	return 0;
}

int pw_refmap_find(struct pw_refmap *m, const struct pw_pod *pod, size_t *hint, size_t *pfx)
{
	*pfx = NONE;
	if (!m->n)
		return 0;
	/* pods come in the order they had last time, mostly: the entry after
	 * the last one found first, and the table (made then) if it is not */
	if (*hint < m->n && ref_is(&m->v[*hint], pod)) {
		*pfx = m->v[(*hint)++].pfx;
		return 0;
	}
	if (!m->slot && index_refs(m))
		return -ENOMEM;
	for (size_t h = ref_hash(pod->ns, pod->labels.v, pod->ports, pod->labels.n, pod->n_ports) &
			m->mask; m->slot[h]; h = (h + 1) & m->mask)
		if (ref_is(&m->v[m->slot[h] - 1], pod)) {
			*hint = m->slot[h];
			*pfx = m->v[m->slot[h] - 1].pfx;
			break;
		}
	return 0;
}

void pw_refmap_add(struct pw_refmap *m, const struct pw_pod *pod, size_t pfx)
{
	/* no table while adding: lookups come in the next compile; a pod
	 * listed twice gets two equal entries, either of which answers */
	if (m->n < m->cap)   /* sized for every pod */
		m->v[m->n++] = (struct pw_ref){ pod->ns, pod->labels.v, pod->ports, pod->labels.n,
						pod->n_ports, (uint32_t)pfx };
}

void pw_refmap_free(struct pw_refmap *m)
{
	free(m->v);
	free(m->slot);
	memset(m, 0, sizeof(*m));
}

/* ---------------------------------------------------------- one compile */
struct pw_pfxstore *pw_cache_store(struct pw_compile_cache *cc)
{
	return &cc->store;
}

struct pw_refmap *pw_cache_refs(struct pw_compile_cache *cc)
{
	return &cc->refs;
}

void pw_cache_take_spare(struct pw_compile_cache *cc, struct pw_pfxstore *store,
			 struct pw_refmap *refs)
{
	*store = cc->spare;
	*refs = cc->spare_refs;
	memset(&cc->spare, 0, sizeof(cc->spare));
	memset(&cc->spare_refs, 0, sizeof(cc->spare_refs));
}

const struct pw_ipc_memo *pw_cache_ipc(const struct pw_compile_cache *cc)
{
	return &cc->ipc;
}

void pw_ipc_memo_free(struct pw_ipc_memo *m)
{
	free(m->keys);
	free(m->keep);
	memset(m, 0, sizeof(*m));
}

void pw_cache_commit(struct pw_compile_cache *cc, const struct pw_cluster *c,
		     struct pw_pfxstore *store, struct pw_refmap *refs, size_t reused,
		     struct pw_ipc_memo *ipc)
{
	struct pw_cluster *pin = pw_cluster_ref(c);

	/* the old store and map are the next compile's memory */
	pw_pfxstore_free(&cc->spare);
	pw_refmap_free(&cc->spare_refs);
	cc->spare = cc->store;
	cc->spare_refs = cc->refs;
	pw_cluster_free(cc->pinned);   /* its addresses: only in the spare, never looked up */
	cc->store = *store;
	cc->refs = *refs;
	cc->pinned = pin;
	cc->reused = reused;
	if (!pin)   /* nothing keeps those addresses allocated: forget them */
		pw_refmap_free(&cc->refs);
	memset(store, 0, sizeof(*store));
	memset(refs, 0, sizeof(*refs));
	if (ipc->keys) {
		pw_ipc_memo_free(&cc->ipc);
		cc->ipc = *ipc;
		memset(ipc, 0, sizeof(*ipc));
	}
}
