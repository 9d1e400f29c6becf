/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Private to agent/compiler/: the compilation context and its helpers. */
#ifndef PODWALL_COMPILER_INTERNAL_H
#define PODWALL_COMPILER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "compiler.h"

#define NONE ((size_t)-1)

/* Bound on the policy entries of one compilation (the map holds far fewer):
 * a runaway cross product stops with an error instead of exhausting memory. */
#define PW_COMPILE_MAX_POLICY (8u * 1024 * 1024)

/* ------------------------------------------------------------ hashing */
uint64_t pw_hash64(const void *data, size_t len);
/* pw_hash64 in steps: pw_hash64(a ‖ b) ==
 * pw_hash64_finish(pw_fnv1a(pw_fnv1a(PW_FNV_BASIS, a, na), b, nb)) */
#define PW_FNV_BASIS 0xcbf29ce484222325ULL
uint64_t pw_fnv1a(uint64_t state, const void *data, size_t len);
uint64_t pw_hash64_finish(uint64_t state);
/* out[i] = pw_fnv1a(PW_FNV_BASIS, data[i], len[i]) for i < n, faster */
void pw_fnv1a_n(const uint8_t *const *data, const size_t *len, size_t n, uint64_t *out);

/* Give each of n keys (in sorted key order) a distinct number in [lo, hi]:
 * the key's hash, or the next free number after it (wrapping). */
int pw_assign_ids(const uint64_t *hashes, size_t n, uint32_t lo, uint32_t hi,
		  uint32_t *out);
/* The order of keys a and b (distinct keys never compare equal). */
typedef int (*pw_key_cmp_fn)(const void *ctx, size_t a, size_t b);
/* The numbers pw_assign_ids would give the n keys sorted by cmp, for keys
 * in any order: only the keys whose numbers collide are sorted. */
int pw_assign_ids_unsorted(const uint64_t *hashes, size_t n, uint32_t lo, uint32_t hi,
			   pw_key_cmp_fn cmp, const void *ctx, uint32_t *out);
/* A hash for in-memory tables only (not stable, never an id). */
uint64_t pw_fast_hash(const void *data, size_t len);

/* ---------------------------------------------------------------- sorting */
/* Sort v[0..n) by the high 32 bits, stably (sort.c: radix, no comparisons). */
int pw_sort_hi32(uint64_t *v, size_t n);
/* Sort n records of size bytes by their first key_len bytes (memcmp order),
 * stably. 0, -ENOMEM or -E2BIG (more than 2^32 records). */
int pw_sort_bytes(void *base, size_t n, size_t size, size_t key_len);

/* ------------------------------------------------------------ CIDR groups */
struct cgroup {
	struct pw_cidr pfx;
	uint32_t       id;
};

/* Is prefix q (a CIDR group) inside ipBlock peer p? */
bool pw_block_has_prefix(const struct pw_np_peer *p, const struct pw_cidr *q);
/* Is address a inside ipBlock peer p? */
bool pw_block_has_addr(const struct pw_np_peer *p, const uint8_t a[16]);
/* The distinct prefixes of every ipBlock in force, sorted (address, then
 * length); *v6_covers_v4: some IPv6 block covers ::ffff:0:0/96. */
int pw_collect_groups(const struct pw_cluster *c, const struct pw_np_rule *extra,
		      size_t n_extra, struct cgroup **out, size_t *n, bool *v6_covers_v4);
int pw_prefix_cmp(const struct pw_cidr *a, const struct pw_cidr *b);

/* ------------------------------------------------------- prefix store (cache.c) */
/* A distinct key prefix: namespace, labels and named ports (identity.c). */
struct pw_pfx {
	size_t   off;        /* its bytes, in the store */
	uint32_t len;
	uint32_t label_len;  /* of which namespace and labels */
	uint64_t fh;         /* pw_fast_hash of the bytes */
	uint64_t lh;         /* pw_fast_hash of the namespace and labels part */
	uint64_t fnv;        /* pw_fnv1a(PW_FNV_BASIS, bytes): the identity hash so far */
	bool     hashed;     /* lh and fnv are set */
};

struct pw_pfxstore {
	uint8_t       *bytes;
	size_t         n_bytes, cap_bytes;
	struct pw_pfx *v;
	size_t         n, cap;
	uint32_t      *slot;    /* index + 1 by fh, open addressing; NULL until needed */
	size_t         mask;
};

/* empty s, with room for n entries and bytes (keeping the memory it has) */
int pw_pfxstore_reset(struct pw_pfxstore *s, size_t n, size_t bytes);
int pw_pfxstore_grow(struct pw_pfxstore *s, size_t more);
/* room for more bytes at the end of the store */
static inline int pw_pfxstore_room(struct pw_pfxstore *s, size_t more)
{
	return s->cap_bytes - s->n_bytes >= more ? 0 : pw_pfxstore_grow(s, more);
}
/* *idx: the entry with these bytes, or NONE (0, or -ENOMEM making the table) */
int pw_pfxstore_find(struct pw_pfxstore *s, const void *bytes, size_t len, uint64_t fh,
		     size_t *idx);
/* add e (its bytes already at e->off; not in the store yet) as *idx */
int pw_pfxstore_add(struct pw_pfxstore *s, const struct pw_pfx *e, size_t *idx);
void pw_pfxstore_free(struct pw_pfxstore *s);

/* The addresses a pod's prefix was read from, and the prefix. */
struct pw_ref {
	const char                     *pod_ns;
	const struct pw_label          *labels;
	const struct pw_container_port *ports;
	size_t                          n_labels, n_ports;
	uint32_t                        pfx;
};

struct pw_refmap {
	struct pw_ref *v;       /* in pod order */
	size_t         n, cap;
	uint32_t      *slot;    /* index + 1, open addressing; NULL until needed */
	size_t         mask;
};

int pw_refmap_reset(struct pw_refmap *m, size_t n);   /* empty, room for n pods */
/* *pfx: the prefix of a pod with pod's addresses, or NONE; *hint: where to
 * look first (0 to begin with, then left to the function). 0 or -ENOMEM. */
int pw_refmap_find(struct pw_refmap *m, const struct pw_pod *pod, size_t *hint, size_t *pfx);
void pw_refmap_add(struct pw_refmap *m, const struct pw_pod *pod, size_t pfx);
void pw_refmap_free(struct pw_refmap *m);

struct pw_ipc_memo;

/* The cache's store and addresses (unchanged while compiling, but for the
 * tables made on first use), and putting a successful compile's in their
 * place (taken from *store and *refs). */
struct pw_pfxstore *pw_cache_store(struct pw_compile_cache *cc);
struct pw_refmap *pw_cache_refs(struct pw_compile_cache *cc);
void pw_cache_commit(struct pw_compile_cache *cc, const struct pw_cluster *c,
		     struct pw_pfxstore *store, struct pw_refmap *refs, size_t reused,
		     struct pw_ipc_memo *ipc);
/* The memory of the store and map of the compile before last (*store and
 * *refs: empty), for this compile to fill. */
void pw_cache_take_spare(struct pw_compile_cache *cc, struct pw_pfxstore *store,
			 struct pw_refmap *refs);

/*
 * The order of the last ipcache (compile.c build_ipcache): the keys of its
 * entries in the order they were made, and which of them the sorted,
 * deduplicated output took (keep[i]: the entry of output i). The output of
 * a stable sort and a first-wins dedup depends on the key sequence alone:
 * the same keys in the same order (a change of policies or labels moves no
 * address) give the same keep, and the sort is skipped.
 */
struct pw_ipc_memo {
	struct pw_ipcache_key *keys;
	uint32_t              *keep;
	size_t                 n, n_keep;
};

/* The cache's memo (n == 0: none), and a successful compile's in its
 * place (taken from *m; m->keys NULL: the cache's still holds). */
const struct pw_ipc_memo *pw_cache_ipc(const struct pw_compile_cache *cc);
void pw_ipc_memo_free(struct pw_ipc_memo *m);

/* -------------------------------------------------------------- identities */
struct podid {
	const uint8_t       *key;        /* the key's prefix (layout: identity.c), in cctx.store */
	size_t               key_len;    /* its length: the CIDR-group part follows in the key */
	size_t               pfx;        /* index in cctx.store */
	size_t               label_len;  /* bytes of key covering ns + labels */
	uint32_t             id;
	size_t               ns;         /* index in c->namespaces, or NONE */
	const struct pw_pod *rep;        /* a pod of this identity */
	uint8_t              rep_ip[16]; /* its address under this identity */
	size_t               group;      /* longest CIDR group holding it, or NONE */
	bool                 dns;        /* a cluster DNS pod */
	bool                 split;      /* shares ns + labels with another identity */
};

/* ---------------------------------------------- ClusterNetworkPolicy (tiers.c) */
/*
 * A ClusterNetworkPolicy rule made NetworkPolicy-shaped, so that the same
 * peer and port code serves both: namespaces and pods peers become
 * selector peers (namespaceSelector always present), networks and the
 * addresses of matching Nodes become ipBlock peers, a destinationNamedPort
 * becomes one named port per protocol. rules[i] in cctx.crules; its meta in
 * cctx.cmeta[i]; its rule_id is cctx.crule_base + i.
 */
enum { SEG_ADMIN = 1, SEG_NEXT = 2 };   /* Admin tier; what follows a Pass */

/* A distinct domainNames pattern of the rules in force and its identity. */
struct cname {
	const char *pattern;  /* as loaded: lower-case, no trailing dot */
	uint32_t    id;       /* [PW_ID_NAME_MIN, PW_ID_NAME_MAX], from its hash */
};

struct crule_meta {
	size_t   cnp;      /* index in c->cnps */
	uint32_t rank;     /* evaluation order: Admin tier first, then Baseline */
	uint32_t index;    /* in the policy's spec.ingress / spec.egress */
	uint8_t  dir;
	uint8_t  tier;     /* enum pw_tier */
	uint8_t  action;   /* enum pw_action */
	bool     none;     /* no peer resolves to anything: the rule matches nothing */
};

/* One rule's part in the tier resolution of one (endpoint, direction). */
struct tier_rule {
	uint32_t rank;     /* order; rules of SEG_NEXT after every SEG_ADMIN one */
	uint8_t  seg;      /* SEG_ADMIN or SEG_NEXT */
	uint8_t  action;   /* enum pw_action (NetworkPolicy rules: Accept) */
};

struct cctx;
int pw_tiers_build(struct cctx *x);
void pw_tiers_free(struct cctx *x);
/* The ClusterNetworkPolicies selecting pod pod (its namespace's labels
 * ns_labels), in evaluation order: indexes into cctx.cnp_order, appended
 * to *out (n, cap). */
int pw_tiers_select(const struct cctx *x, const struct pw_pod *pod,
		    const struct pw_labels *ns_labels, size_t **out, size_t *n, size_t *cap);
/* The identity of a domainNames pattern in force (PW_ID_ANY if none). */
uint32_t pw_tiers_name_id(const struct cctx *x, const char *pattern);
/* The name_set entries of the patterns in force, into x->out (names). */
int pw_tiers_name_set(struct cctx *x);
/*
 * Resolve the entries raw[0..n) that the rules of one (endpoint, direction)
 * give (allow-shaped: key and rule_id; rule r's part is rules[rule_id]) into
 * entries whose longest match carries the tier-resolved verdict (abi.h),
 * appended to *out. isolated: a miss drops (else allows). raw is reordered.
 */
int pw_tiers_resolve(struct pw_state_pol *raw, size_t n, const struct tier_rule *rules,
		     bool isolated, struct pw_state_pol **out, size_t *n_out, size_t *cap);

struct cctx {
	const struct pw_cluster      *c;
	struct pw_compile_opts        o;      /* defaults filled in */
	struct pw_state              *out;
	struct pw_error              *err;

	struct cgroup                *groups;
	size_t                        n_groups;
	bool                          group_len[129]; /* some group has this length */
	bool                          v6_covers_v4;
	uint32_t                     *gslot;   /* groups by prefix: index + 1, open addressing */
	size_t                        gmask;
	uint8_t                       glens[129]; /* the distinct group lengths, longest first */
	size_t                        n_glens;
	uint8_t                       glo[129][16], ghi[129][16]; /* per glens[k]: lowest, highest group */
	struct podid                 *ids;     /* in the order of their first pod */
	size_t                        n_ids;
	struct pw_pfxstore            store;   /* this compile's key prefixes */
	struct pw_refmap              refs;    /* and their pods' addresses (with a cache) */
	size_t                       *remap;   /* cache's store index -> x->store's, or NONE */
	size_t                        ref_hint; /* pw_refmap_find's */
	size_t                        reused;  /* pods whose prefix came by address */
	struct pw_ipc_memo            ipc_memo; /* this compile's, for the cache (if it made one) */
	size_t                      (*pod_id)[2]; /* per pod, per address: index in ids */
	size_t                       *pod_ns;  /* per pod: index in c->namespaces or NONE */
	size_t                       *rule_base; /* per policy: rule_id of its first rule */
	size_t                       *sel;     /* policies selecting each endpoint (struct local) */
	size_t                        n_sel, cap_sel;
	struct nsrange               *nsr;     /* ids by namespace: ids of one are adjacent */
	size_t                        n_nsr;
	size_t                       *nsr_first; /* per namespace: its first range, or NONE */
	size_t                       *nsr_next;  /* per range: the next of its namespace, or NONE */
	size_t                       *by_ip;   /* ids indexes by rep_ip (built on first use) */
	/* ClusterNetworkPolicy (tiers.c) */
	size_t                       *cnp_order; /* c->cnps indexes: tier, priority, name */
	size_t                       *cnp_first; /* per cnp_order entry: its first crule */
	struct pw_np_rule            *crules;  /* in evaluation order (per dir) */
	struct crule_meta            *cmeta;
	size_t                        n_crules;
	size_t                        crule_base; /* rule_id of crules[0] */
	struct tier_rule             *trules;  /* per rule_id */
	size_t                       *csel;    /* cnp_order indexes selecting each endpoint */
	size_t                        n_csel, cap_csel;
	struct cname                 *names;   /* domainNames patterns, sorted by pattern */
	size_t                        n_names;
};

/* The pod identities of one namespace: ids[lo, hi). */
struct nsrange {
	const char *name;
	size_t      ns;        /* index in c->namespaces, or NONE */
	size_t      lo, hi;
};

int pw_build_identities(struct cctx *x);
/* The longest CIDR group holding address a (an IPv4 address: IPv4 groups
 * only), or NONE. After pw_build_identities, until pw_free_identities. */
size_t pw_longest_group(const struct cctx *x, const uint8_t a[16]);
/* The value (and *vlen) of label key (klen bytes) in id's key, or NULL. */
const uint8_t *pw_key_label(const struct podid *id, const char *key, size_t klen,
			    uint32_t *vlen);
void pw_free_identities(struct cctx *x);
int pw_compile_err(struct cctx *x, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------ ports */
struct port_prefix {
	uint16_t port;   /* host order, low bits clear */
	uint8_t  bits;   /* fixed leading bits: 0..16 */
};
/* The minimal set of prefixes covering [lo, hi] exactly; returns how many
 * (at most 32). */
size_t pw_port_range_split(uint32_t lo, uint32_t hi, struct port_prefix *out);

/* Ports named `name` with protocol proto among a pod's container ports:
 * writes up to max numbers, returns how many there are. */
size_t pw_named_port(const struct pw_pod *pod, const char *name, uint8_t proto,
		     uint16_t *out, size_t max);

#endif
