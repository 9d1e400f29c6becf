/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The Kubernetes objects podwall understands, as loaded from YAML (or, later,
 * the API server): Namespaces, Pods, NetworkPolicies, Services, Nodes and
 * ClusterNetworkPolicies (policy.networking.k8s.io/v1alpha2).
 * Every object remembers where it came from (file, line) for error messages.
 * All memory hangs off the cluster and is freed with pw_cluster_free() when
 * its last reference (pw_cluster_ref) goes.
 */
#ifndef PODWALL_MODEL_H
#define PODWALL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "file:line: field.path: message", ready to print. */
/*
 * What went wrong, for a caller to print: msg is the whole message
 * ("file:line: field: what"); file, line and field repeat where it was when
 * the input is to blame and the producer knows ("" and 0 otherwise).
 * Layers below cmd/ fill one and return a negative errno; only cmd/ prints.
 */
struct pw_error {
	char msg[1024];
	char file[256];
	int  line;
	char field[256];
};

/* Say why in err->msg (err may be NULL; file, line and field are left as
 * they are) and return ret: `return pw_errorf(err, -EINVAL, "...")`. (log.c) */
int pw_errorf(struct pw_error *err, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

struct pw_loc {
	const char *file;  /* owned by the cluster */
	int         line;  /* 1-based; 0 if unknown */
};

struct pw_label {
	char *key;
	char *value;
};

struct pw_labels {
	struct pw_label *v;  /* sorted by key, keys unique */
	size_t           n;
};

enum pw_sel_op {
	PW_SEL_IN = 1,
	PW_SEL_NOT_IN,
	PW_SEL_EXISTS,
	PW_SEL_DOES_NOT_EXIST,
};

struct pw_sel_req {
	char          *key;
	enum pw_sel_op op;
	char         **values;
	size_t         n_values;
};

/* metav1.LabelSelector. present == false: the field was absent. */
struct pw_selector {
	bool               present;
	struct pw_labels   match_labels;
	struct pw_sel_req *exprs;
	size_t             n_exprs;
};

struct pw_namespace {
	char            *name;
	struct pw_labels labels;   /* kubernetes.io/metadata.name always set */
	bool             audit;    /* annotation podwall.io/mode: audit */
	bool             implicit; /* no Namespace object: made up for its objects */
	struct pw_loc    loc;
};

struct pw_container_port {
	char    *name;     /* NULL if unnamed */
	uint16_t port;
	uint8_t  proto;    /* IPPROTO_TCP/UDP/SCTP */
};

/*
 * Whether a Pod is a NetworkPolicy endpoint: the one rule (pw_pod_role_of,
 * cluster.c) that every source (files, the Kubernetes API, the CNI registry)
 * and every command goes by. A finished pod (status.phase Succeeded or
 * Failed) is gone: its address may already be another pod's. A hostNetwork
 * pod has the node's address: its traffic is node traffic, never a pod's.
 * A terminating pod (metadata.deletionTimestamp set) is an endpoint until
 * its object goes, but for one case that pw_cluster_finish decides: when a
 * pod that is not terminating has one of its addresses, the sandbox of the
 * terminating one is gone (its address went back to the pool and was given
 * again) and the new pod is the endpoint: the terminating one is REPLACED.
 */
enum pw_pod_role {
	PW_POD_ENDPOINT = 0,
	PW_POD_FINISHED,
	PW_POD_HOST_NETWORK,
	PW_POD_REPLACED,
};

/* phase: status.phase or NULL */
enum pw_pod_role pw_pod_role_of(const char *phase, bool host_network);
/* "finished (phase Succeeded)"-like words for messages: "finished", "hostNetwork" */
const char *pw_pod_role_text(enum pw_pod_role r);
struct pw_pod;
/* the warning for a REPLACED pod, naming both pods and places */
void pw_pod_replaced_text(const struct pw_pod *p, char *buf, size_t len);

struct pw_pod {
	char                     *ns;
	char                     *name;
	struct pw_labels          labels;
	struct pw_container_port *ports;
	size_t                    n_ports;
	uint8_t                   ips[2][16];   /* IPv4-mapped or IPv6 */
	size_t                    n_ips;
	char                     *host_veth;    /* annotation podwall.io/host-veth, or NULL */
	enum pw_pod_role          role;         /* != ENDPOINT only in skipped_pods */
	bool                      terminating;  /* metadata.deletionTimestamp set */
	struct {                                /* role REPLACED: the pod that has the address */
		const char   *ns, *name;
		struct pw_loc loc;
		uint8_t       ip[16];
	} replaced_by;
	struct pw_loc             loc;
};

/* A prefix in the 128-bit mapped space: IPv4 a.b.c.d/n is ::ffff:a.b.c.d/(96+n). */
struct pw_cidr {
	uint8_t addr[16];
	uint8_t len;       /* 0..128, in the mapped space */
	uint8_t is_v4;
};

struct pw_np_port {
	uint8_t  proto;       /* IPPROTO_TCP (default), UDP or SCTP */
	bool     has_port;    /* false: every port of proto */
	uint16_t port;        /* numeric port (if has_port and !named) */
	uint16_t end_port;    /* 0 or >= port */
	char    *named;       /* named port, or NULL */
};

enum pw_peer_kind {
	PW_PEER_SELECTOR = 1, /* podSelector and/or namespaceSelector */
	PW_PEER_IPBLOCK,
	PW_PEER_NAME,         /* a domainNames pattern (compiler only: name_id) */
};

struct pw_np_peer {
	enum pw_peer_kind  kind;
	struct pw_selector pod_sel;   /* present or not */
	struct pw_selector ns_sel;    /* present or not */
	struct pw_cidr     cidr;
	struct pw_cidr    *except;
	size_t             n_except;
	uint32_t           name_id;   /* PW_PEER_NAME */
	struct pw_loc      loc;
};

struct pw_np_rule {
	struct pw_np_peer *peers;  /* n_peers == 0: every peer */
	size_t             n_peers;
	struct pw_np_port *ports;  /* n_ports == 0: every port and protocol */
	size_t             n_ports;
	struct pw_loc      loc;
};

struct pw_policy {
	char              *ns;
	char              *name;
	struct pw_selector pod_sel;
	bool               types[2];     /* [PW_DIR_INGRESS], [PW_DIR_EGRESS], after defaulting */
	bool               types_given;  /* policyTypes was written (not defaulted) */
	struct pw_np_rule *rules[2];     /* per direction */
	size_t             n_rules[2];
	struct pw_loc      loc;
};

struct pw_service_port {
	uint16_t port;
	uint8_t  proto;
	uint16_t target_port;   /* numeric target, or 0 if named */
	char    *target_name;   /* named targetPort, or NULL */
};

struct pw_service {
	char                   *ns;
	char                   *name;
	uint8_t                 cluster_ips[2][16];
	size_t                  n_cluster_ips;
	struct pw_labels        selector;
	struct pw_service_port *ports;
	size_t                  n_ports;
	struct pw_loc           loc;
};

/* A Node: its labels (for ClusterNetworkPolicy `nodes` peers) and the
 * addresses of status.addresses (InternalIP, ExternalIP). */
#define PW_NODE_MAX_ADDRS 4

struct pw_node {
	char            *name;
	struct pw_labels labels;
	uint8_t          addrs[PW_NODE_MAX_ADDRS][16];  /* IPv4-mapped or IPv6 */
	size_t           n_addrs;
	struct pw_loc    loc;
};

/*
 * ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2), as validated by
 * the CRD's schema and CEL rules (k8s/cnp.c). Evaluation order: the Admin
 * tier by priority (lower first; equal priorities by name), rules in
 * order, first match decides; then NetworkPolicy; then the Baseline tier
 * the same way; then allow.
 */
enum pw_tier {
	PW_TIER_ADMIN = 1,
	PW_TIER_BASELINE,
};

enum pw_action {
	PW_ACT_ACCEPT = 1,
	PW_ACT_DENY,
	PW_ACT_PASS,
};

#define PW_CNP_MAX_PRIORITY 1000
#define PW_CNP_MAX_RULES    25   /* ingress, egress; per rule: peers, protocols */
#define PW_CNP_MAX_ITEMS    25   /* networks, domainNames of one peer */
#define PW_CNP_MAX_RULE_NAME 100

enum pw_cnp_peer_kind {
	PW_CNP_NAMESPACES = 1, /* ns_sel */
	PW_CNP_PODS,           /* ns_sel (present: {} when absent) and pod_sel */
	PW_CNP_NODES,          /* node_sel */
	PW_CNP_NETWORKS,       /* cidrs */
	PW_CNP_DOMAINS,        /* domains (egress Accept only) */
};

struct pw_cnp_peer {
	enum pw_cnp_peer_kind kind;
	struct pw_selector    ns_sel;
	struct pw_selector    pod_sel;
	struct pw_selector    node_sel;
	struct pw_cidr       *cidrs;
	size_t                n_cidrs;
	char                **domains;  /* lowercase, no trailing dot; "*.x.y" wildcards */
	size_t                n_domains;
	struct pw_loc         loc;
};

struct pw_cnp_rule {
	char               *name;       /* "" when unnamed */
	enum pw_action      action;
	struct pw_cnp_peer *peers;
	size_t              n_peers;
	/* protocols: n_ports == 0 matches every protocol and port. A
	 * destinationNamedPort has proto 0: the named containerPort of any
	 * protocol. */
	struct pw_np_port  *ports;
	size_t              n_ports;
	struct pw_loc       loc;
};

struct pw_cnp {
	char               *name;
	enum pw_tier        tier;
	int                 priority;   /* 0..1000, lower first */
	bool                subject_pods; /* false: subject.namespaces (ns_sel) */
	struct pw_selector  ns_sel;
	struct pw_selector  pod_sel;
	struct pw_cnp_rule *rules[2];   /* [PW_DIR_INGRESS], [PW_DIR_EGRESS] */
	size_t              n_rules[2];
	struct pw_loc       loc;
};

struct pw_cluster {
	struct pw_namespace *namespaces; size_t n_namespaces;
	struct pw_pod       *pods;       size_t n_pods;
	struct pw_policy    *policies;   size_t n_policies;
	struct pw_service   *services;   size_t n_services;
	/* Pods that are not endpoints (finished, hostNetwork), set apart by
	 * pw_cluster_finish, sorted by namespace and name: nothing compiles
	 * them; they are kept so that commands can say why a pod is not there. */
	struct pw_pod       *skipped_pods; size_t n_skipped_pods;
	struct pw_cnp       *cnps;       size_t n_cnps;      /* by name */
	struct pw_node      *nodes;      size_t n_nodes;     /* by name */
	void                *arena;      /* allocator behind every pointer above */
};

struct pw_cluster *pw_cluster_new(void);
/* Drops a reference; the last one frees the cluster (and may run on any thread). */
void pw_cluster_free(struct pw_cluster *c);
/*
 * Another reference to c, dropped with pw_cluster_free: for a reader that
 * outlives its owner's use of c, such as the state-file writer thread
 * (statefile.c). Reference counts are atomic; the objects are not locked, so
 * a cluster is read-only once shared. Returns c, or NULL if c is NULL or
 * not from pw_cluster_new.
 */
struct pw_cluster *pw_cluster_ref(const struct pw_cluster *c);

/*
 * Load a YAML stream (multi-document, `kind: List` and *List kinds) from a
 * file, or every *.yaml / *.yml / *.json file of a directory in name order,
 * adding to c. Unknown kinds are skipped with a note (pw_info, log.h). After the
 * last load, pw_cluster_finish() adds implicit namespaces and sorts objects.
 * Returns 0 or a negative errno with err set ("file:line: field: message").
 */
int pw_cluster_load_path(struct pw_cluster *c, const char *path, struct pw_error *err);
int pw_cluster_load_buffer(struct pw_cluster *c, const char *name, const char *buf,
			   size_t len, struct pw_error *err);
int pw_cluster_finish(struct pw_cluster *c, struct pw_error *err);

/*
 * A per-file parse cache of a source (a file or a directory, as for
 * pw_cluster_load_path), for a process that loads the same source again and
 * again (the agent). Each load re-reads and re-parses only the files that
 * changed since the last successful load (path, device, inode, size, mtime,
 * ctime; a file changed within seconds of being read is read again and
 * compared by content, stat times being coarse), then merges the per-file
 * objects and finishes the result: the same cluster, and the same errors,
 * as pw_cluster_load_path + pw_cluster_finish on the source.
 *
 * The cluster returned is freed with pw_cluster_free. Its object arrays are
 * its own; what they point to (strings, labels, rules...) is shared with the
 * cache and with other clusters it returned: read-only, valid until this
 * cluster is freed whatever the cache does meanwhile. On error nothing
 * changes in the cache (a file that fails is parsed again next time); files
 * gone from the source leave it at the next successful load.
 */
struct pw_filecache;

struct pw_filecache_stats {
	size_t files;     /* manifests in the source */
	size_t parsed;    /* read and parsed by this load */
	size_t verified;  /* read again (changed recently), same content: reused */
	size_t reused;    /* unchanged: reused without reading */
};

struct pw_filecache *pw_filecache_new(const char *source);  /* NULL: out of memory */
void pw_filecache_free(struct pw_filecache *fc);
/* 0 and *out, or a negative errno with err set ("file:line: field: message").
 * stats may be NULL. */
int pw_filecache_load(struct pw_filecache *fc, struct pw_cluster **out,
		      struct pw_filecache_stats *stats, struct pw_error *err);

/* Selector semantics (selector.c). A selector that is not present matches all. */
bool pw_selector_matches(const struct pw_selector *sel, const struct pw_labels *labels);

/*
 * The semantics of one requirement of a label selector
 * (metav1.LabelSelectorRequirement; a matchLabels entry is In with its one
 * value), written once for every matcher (pw_selector_matches over a pod's
 * labels, the compiler's over identity keys): has: the object has the key;
 * in: it has it with one of the requirement's values. NotIn and
 * DoesNotExist match objects without the key.
 */
static inline bool pw_sel_op_holds(enum pw_sel_op op, bool has, bool in)
{
	switch (op) {
	case PW_SEL_IN:
		return has && in;
	case PW_SEL_NOT_IN:
		return !(has && in);
	case PW_SEL_EXISTS:
		return has;
	case PW_SEL_DOES_NOT_EXIST:
		return !has;
	}
	return false; /* unknown operators never load */
}

const struct pw_namespace *pw_cluster_namespace(const struct pw_cluster *c, const char *name);
/* an endpoint pod (pods), or NULL */
const struct pw_pod *pw_cluster_pod(const struct pw_cluster *c, const char *ns, const char *name);
/* The policies of namespace ns: c->policies[*lo, *hi) (pw_cluster_finish sorts them by
 * namespace, so they are together). */
void pw_cluster_ns_policies(const struct pw_cluster *c, const char *ns, size_t *lo, size_t *hi);
/*
 * The port a Service port's traffic reaches on backend pod, as kube-proxy
 * resolves it: a numeric targetPort as is; a named one per pod, to the pod's
 * container port of that name and protocol. 0: the pod has no such port
 * (kube-proxy does not send this Service port's traffic to it).
 */
uint16_t pw_service_target(const struct pw_service_port *sp, const struct pw_pod *pod);
/* a pod that is not an endpoint (skipped_pods), or NULL */
const struct pw_pod *pw_cluster_skipped_pod(const struct pw_cluster *c, const char *ns,
					    const char *name);

#endif /* PODWALL_MODEL_H */
