/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Private to agent/k8s/: the store behind pw_cluster.arena, the loading
 * context, and helpers to walk libyaml documents with precise errors.
 */
#ifndef PODWALL_K8S_INTERNAL_H
#define PODWALL_K8S_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <yaml.h>
#include "model.h"
#include "k8s/arena.h"

/* Bounds on hostile input. */
#define PW_LOAD_MAX_FILE     (64u * 1024 * 1024) /* bytes per file or buffer */
#define PW_LOAD_MAX_DEPTH    64                  /* nesting of collections */
#define PW_LOAD_MAX_SCALAR   (1u * 1024 * 1024)  /* bytes of one scalar */
#define PW_LOAD_MAX_NODES    (4u * 1024 * 1024)  /* nodes of one document */
/* libyaml's document loader looks anchors up linearly, for every anchor
 * defined and every alias used: bound both per document (quadratic time). */
#define PW_LOAD_MAX_ANCHORS  1024
#define PW_LOAD_MAX_ALIASES  65536
/* Nodes visited while walking one document: aliases are shared nodes, and a
 * walk through them could explode; a document without aliases is walked in
 * fewer than 4 visits per node (keys, values, annotations read twice). */
#define PW_LOAD_VISITS_PER_NODE 4
#define PW_LOAD_VISITS_SLACK    4096
#define PW_LOAD_MAX_NAME     253                 /* object names */
#define PW_LOAD_MAX_NS_NAME  63                  /* namespace names (DNS label) */
#define PW_LOAD_MAX_OBJECTS  (1u << 20)          /* objects of each kind */

/* What pw_cluster.arena points at. */
struct pw_store {
	unsigned        refs;      /* pw_cluster_ref/free; __atomic: any thread may drop one */
	struct pw_arena arena;
	size_t cap_namespaces, cap_pods, cap_policies, cap_services, cap_cnps, cap_nodes;
	/* a cluster merged from others (filecache.c): pw_cluster_free calls
	 * release(release_ctx) to let go of what its objects point into; it
	 * runs on whichever thread drops the last reference */
	void (*release)(void *ctx);
	void  *release_ctx;
	/* pods, policies and services are in pw_cluster_finish's order already
	 * (filecache.c merged them so): it need not sort them */
	bool   objects_sorted;
	/* ... and no two pods, policies or services share a namespace and
	 * name: it need not look for duplicates either (it does when this is
	 * false, and then reports the first it finds) */
	bool   objects_unique;
};

static inline struct pw_store *pw_store(const struct pw_cluster *c)
{
	return (struct pw_store *)c->arena;
}

/* One document being walked. */
struct ld {
	struct pw_cluster *c;
	struct pw_arena   *a;
	const char        *file;    /* arena-owned */
	yaml_document_t   *doc;
	struct pw_error   *err;
	size_t             visits;
	size_t             max_visits;
	char               path[512];
	size_t             plen;
	/* inside a NetworkPolicy: a field ld_fields was not asked for is an
	 * error, as `kubectl apply --validate=strict` has it (a misspelled
	 * field would otherwise change what the policy means, silently) */
	bool               strict;
	/* the namespace of the file's last namespaced object: the next one of
	 * the same namespace points at this string, so that code over sorted
	 * objects (pw_cluster_finish) tells groups apart by the pointer, without
	 * reading a string per object */
	char              *last_ns;
};

/* ---- field path ("spec.ingress[0].from[1]") */
size_t ld_push_key(struct ld *ld, const char *key);
size_t ld_push_idx(struct ld *ld, size_t i);
static inline void ld_pop(struct ld *ld, size_t mark)
{
	ld->plen = mark;
	ld->path[mark] = 0;
}

/* ---- errors: "file:line: path: message"; return -EINVAL */
int ld_err(struct ld *ld, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ld_note(struct ld *ld, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int ld_line(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 0;
}

/* ---- nodes */
/* fetch a node, counting the visit; NULL (with err set) past the cap */
yaml_node_t *ld_node(struct ld *ld, int idx);
bool ld_is_null(const yaml_node_t *n);
const char *ld_type_name(const yaml_node_t *n);
static inline const char *ld_scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

struct ld_field {
	const char  *name;
	yaml_node_t *key;
	yaml_node_t *val;   /* NULL if absent; may be a null scalar */
};
/* the value is there and not null */
static inline bool ld_has(const struct ld_field *f)
{
	return f->val && !ld_is_null(f->val);
}

/* n must be a mapping with string keys, no key twice: fill the fields named */
int ld_fields(struct ld *ld, yaml_node_t *n, struct ld_field *f, size_t nf);
/* n must be a mapping with unique string keys */
int ld_check_map(struct ld *ld, yaml_node_t *n);
/* every key of mapping n is one of names[0..nn): else "unknown field", with
 * the closest name when one is near (a typo) */
int ld_known_fields(struct ld *ld, yaml_node_t *n, const char *const *names, size_t nn);
/* n must be a list (null counts as empty when allow_null); *count its items */
int ld_check_seq(struct ld *ld, yaml_node_t *n, size_t *count);

/* a scalar (not null, not a collection) as text, at most max bytes, copied;
 * unquoted numbers are taken as their text, as the reference does */
int ld_str(struct ld *ld, yaml_node_t *n, size_t max, char **out);
/* like ld_str, but a null scalar gives "" */
int ld_str_or_empty(struct ld *ld, yaml_node_t *n, size_t max, char **out);
/* an integer scalar (any YAML 1.1 spelling kubectl takes: 80, 0x50, 0o120,
 * 0120, 8_0, and an integral float: 80.0, 1e2) in [min, max]; what names
 * the field in range errors ("port") */
int ld_int(struct ld *ld, yaml_node_t *n, long long min, long long max,
	   const char *what, long long *out);
/* What kubectl reads a scalar as (YAML 1.1 typing of go-yaml v2, yamlutil.c). */
enum ld_res {
	LD_RES_STR,
	LD_RES_NULL,
	LD_RES_BOOL,
	LD_RES_INT,
	LD_RES_FLOAT,
	LD_RES_BAD,     /* not a scalar, or an explicit tag its text cannot have */
};
struct ld_num {
	enum ld_res kind;
	long long   i;       /* LD_RES_INT (LLONG_MAX when huge) */
	bool        huge;    /* an integer past LLONG_MAX (up to 2^64-1) */
	bool        octal0;  /* an integer written 0NNN: YAML 1.1 octal */
	double      f;       /* LD_RES_FLOAT */
};
enum ld_res ld_resolve(const yaml_node_t *n, struct ld_num *out);
/* the implicit type of a plain scalar's text */
enum ld_res ld_resolve_text(const char *s, size_t len, struct ld_num *out);
/* is n a scalar that kubectl reads as an integer (a float, a boolean)? */
bool ld_is_int(const yaml_node_t *n);
bool ld_is_bool(const yaml_node_t *n);
bool ld_is_float(const yaml_node_t *n);
/* a port name as Kubernetes wants it (IANA_SVC_NAME): at most 15 of
 * [a-z0-9-], a letter among them, no leading, trailing or double '-' */
bool ld_valid_port_name(const char *s);
#define PORT_NAME_RULE "at most 15 lowercase letters, digits and '-', with a letter, " \
		       "no '-' at either end or twice in a row"
/* an IntOrString port (NetworkPolicy port, Service targetPort): a number in
 * 1-65535 (*v), or a valid port name (*named, else NULL) */
int ld_port_or_name(struct ld *ld, yaml_node_t *n, long long *v, char **named);

/* ---- common object parts (objects.c) */
/* label syntax as the API server checks it: NULL when valid, else why not */
const char *ld_label_key_problem(const char *key);
const char *ld_label_value_problem(const char *value);
int ld_labels(struct ld *ld, yaml_node_t *n, struct pw_labels *out);
int ld_selector(struct ld *ld, yaml_node_t *n, struct pw_selector *out);
int ld_protocol(struct ld *ld, yaml_node_t *n, bool case_insensitive, uint8_t *out);
/* metadata: name (required, a DNS-1123 subdomain), namespace (default
 * "default" when want_ns), labels, annotations */
struct ld_meta {
	char            *name;
	char            *ns;
	struct pw_labels labels;
	yaml_node_t     *annotations;  /* mapping or NULL */
	bool             terminating;  /* deletionTimestamp set */
	yaml_node_t     *node;
};
int ld_metadata(struct ld *ld, yaml_node_t *obj, yaml_node_t *meta, bool want_ns,
		struct ld_meta *out);
/* Object names as the API server validates them (metadata.namespace is
 * always a DNS-1123 label): Namespaces are DNS-1123 labels, Services
 * DNS-1035 labels, Pods and NetworkPolicies (and ld_metadata's default)
 * DNS-1123 subdomains. */
enum ld_name_rule {
	LD_NAME_DNS_SUBDOMAIN = 0,
	LD_NAME_DNS_LABEL,
	LD_NAME_DNS_1035,
};
int ld_metadata_named(struct ld *ld, yaml_node_t *obj, yaml_node_t *meta, bool want_ns,
		      enum ld_name_rule rule, struct ld_meta *out);
/* NULL when name follows rule, else why not */
const char *ld_name_problem(const char *name, enum ld_name_rule rule);
/* the value of annotation key, or NULL */
int ld_annotation(struct ld *ld, const struct ld_meta *m, const char *key, char **out,
		  yaml_node_t **node);

int ld_namespace(struct ld *ld, yaml_node_t *obj, struct ld_field *f);
int ld_pod(struct ld *ld, yaml_node_t *obj, struct ld_field *f);
int ld_service(struct ld *ld, yaml_node_t *obj, struct ld_field *f);
int ld_policy(struct ld *ld, yaml_node_t *obj, struct ld_field *f);  /* netpol.c */
int ld_cnp(struct ld *ld, yaml_node_t *obj, struct ld_field *f);     /* cnp.c */
int ld_node_obj(struct ld *ld, yaml_node_t *obj, struct ld_field *f);

/* fields every object has, in this order, for ld_fields */
enum { OF_API, OF_KIND, OF_META, OF_SPEC, OF_STATUS, OF_ITEMS, OF_N };

/* a stable sort (merge sort); -ENOMEM on failure */
int pw_sort_stable(void *base, size_t n, size_t size,
		   int (*cmp)(const void *, const void *));
/* the orders pw_cluster_finish sorts objects in (by name; by namespace, name) */
int pw_cmp_namespace(const void *a, const void *b);
int pw_cmp_pod(const void *a, const void *b);
int pw_cmp_policy(const void *a, const void *b);
int pw_cmp_service(const void *a, const void *b);
int pw_cmp_cnp(const void *a, const void *b);
int pw_cmp_node(const void *a, const void *b);

/* ---- files (load.c), shared with the file cache (filecache.c) */
/* Read a manifest file ("-": stdin) whole, within PW_LOAD_MAX_FILE; *buf is
 * malloc'd. st (may be NULL): the fstat of what was read. Errors name the file. */
int pw_load_read_file(const char *path, char **buf, size_t *len, struct stat *st,
		      struct pw_error *err);
/* The manifests of a directory in load order: regular files (symlinks
 * followed) named *.yaml, *.yml or *.json, not hidden, by full path. */
struct pw_load_entry {
	char       *path;   /* malloc'd: dir/name */
	struct stat st;     /* stat() of path */
};
int pw_load_list_dir(const char *path, struct pw_load_entry **out, size_t *n,
		     struct pw_error *err);
void pw_load_entries_free(struct pw_load_entry *v, size_t n);
/* ---- who could change the source (srcperm.c): a warning (pw_warn), once per
 * (inode, mode, owner), for a source directory (or a file source's
 * directory), an ancestor of it or a manifest that is writable by group or
 * others or owned by neither root nor the agent's uid; never an error. */
struct pw_perm_seen {
	struct {
		dev_t  dev;
		ino_t  ino;
		mode_t mode;
		uid_t  uid;
	}     *v;
	size_t n, cap;
};
void pw_perm_check_source(struct pw_perm_seen *s, const char *source, bool is_dir);
/* st: stat() of path (symlinks followed) */
void pw_perm_check_file(struct pw_perm_seen *s, const char *path, const struct stat *st);
void pw_perm_seen_free(struct pw_perm_seen *s);

/* The file cache's racy window (seconds; < 0: trust stat alone), for tests. */
void pw_filecache_racy_window(struct pw_filecache *fc, int sec);

/* ---- appending to the cluster (cluster.c) */
struct pw_namespace *pw_store_add_namespace(struct pw_cluster *c);
struct pw_pod       *pw_store_add_pod(struct pw_cluster *c);
struct pw_policy    *pw_store_add_policy(struct pw_cluster *c);
struct pw_service   *pw_store_add_service(struct pw_cluster *c);
struct pw_cnp       *pw_store_add_cnp(struct pw_cluster *c);
struct pw_node      *pw_store_add_node(struct pw_cluster *c);

#endif
