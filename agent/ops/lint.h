/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * lint: the NetworkPolicy mistakes that break clusters, each with the file
 * and line it is written at and a suggested fix. Pure code: it reads the
 * objects and their compiled state (for what DNS the policies really
 * allow), nothing else.
 *
 *   no-default-deny      a namespace with pods and no default-deny policy
 *                        (podSelector {}) for ingress and/or egress
 *   egress-without-dns   pods isolated for egress that may not reach the
 *                        cluster DNS on UDP/53 (from the compiled DNS flags)
 *   dns-tcp-missing      DNS allowed on UDP/53 but not TCP/53 (truncated
 *                        answers fail)
 *   dns-podselector-only an egress rule to port 53 whose peer is a
 *                        podSelector alone (the policy's own namespace) while
 *                        the DNS pods live in another namespace
 *   split-peer           namespaceSelector and podSelector written as two
 *                        peers (OR) where one peer (AND) was probably meant
 *   ipblock-covers-pods  an ipBlock that covers pod addresses
 *   selects-no-pod       a policy whose podSelector selects no pod
 *   policy-types-ignore-rules
 *                        policyTypes leaves out a direction the policy has
 *                        rules for: those rules are not in force
 *   egress-only-cuts-ingress
 *                        policyTypes omitted on a policy with egress rules
 *                        only: the API server adds Ingress, and the pods it
 *                        selects accept nothing
 *   named-port-undefined a named port that no pod it applies to defines:
 *                        the port allows nothing
 *   peer-selects-nothing a namespaceSelector or podSelector of a peer that
 *                        matches nothing in an input that has Namespaces
 *                        (pods) to match
 *
 * Without cluster DNS pods in the input (a repository of policies), a rule
 * to the cluster DNS is recognised by its selectors: a peer that would
 * select a pod labelled --dns-label in namespace --dns-namespace.
 */
#ifndef PODWALL_OPS_LINT_H
#define PODWALL_OPS_LINT_H

#include <stdbool.h>
#include <stddef.h>
#include "model.h"

enum pw_lint_rule {
	PW_LINT_NO_DEFAULT_DENY = 0,
	PW_LINT_EGRESS_NO_DNS,
	PW_LINT_DNS_TCP,
	PW_LINT_DNS_PODSEL_ONLY,
	PW_LINT_SPLIT_PEER,
	PW_LINT_IPBLOCK_PODS,
	PW_LINT_SELECTS_NO_POD,
	PW_LINT_TYPES_IGNORE_RULES,
	PW_LINT_EGRESS_ONLY_CUTS_INGRESS,
	PW_LINT_NAMED_PORT_UNDEFINED,
	PW_LINT_PEER_SELECTS_NOTHING,
	PW_LINT_ADMIN_DENY_SHADOWS_ALLOW,  /* lint_tiers.c */
	PW_LINT_BASELINE_DENY_NO_DNS,
	PW_LINT_EQUAL_PRIORITY_OVERLAP,
	PW_LINT_MAX,
};

extern const char *const pw_lint_rule_names[PW_LINT_MAX];

struct pw_lint_finding {
	enum pw_lint_rule rule;
	const char       *file;      /* owned by the cluster; NULL if unknown */
	int               line;
	char              msg[2048];
	char              fix[2048];
};

struct pw_lint_opts {
	bool        include_system;   /* also namespaces kube-system, kube-public, kube-node-lease */
	unsigned    disabled;         /* 1u << enum pw_lint_rule */
	const char *dns_namespace;    /* default kube-system */
	const char *dns_label_key;    /* default k8s-app */
	const char *dns_label_value;  /* default kube-dns */
};

/*
 * Lint the objects of c (finished). *out is malloc'd (free it), sorted by
 * file and line. Returns 0, or a negative errno with err set (the compile
 * failed: bad input).
 */
int pw_lint(const struct pw_cluster *c, const struct pw_lint_opts *o,
	    struct pw_lint_finding **out, size_t *n, struct pw_error *err);

/* ClusterNetworkPolicy findings (lint_tiers.c) over the compiled state s of
 * c (copts: how it was compiled), reported through add. */
struct pw_state;
struct pw_compile_opts;
typedef struct pw_lint_finding *(*pw_lint_add_fn)(void *ctx, enum pw_lint_rule rule,
						   const struct pw_loc *loc);
void pw_lint_tiers(const struct pw_cluster *c, const struct pw_state *s,
		   const struct pw_compile_opts *copts, pw_lint_add_fn add, void *ctx);

/*
 * Default-deny coverage by the tiers (lint_tiers.c), for inputs with
 * ClusterNetworkPolicies: what the compiled state does, for every pod of
 * namespace ns in direction dir, to a peer no rule names specifically (a
 * pod of a namespace of its own, with no labels) and, in egress, to
 * addresses outside the cluster. ClusterNetworkPolicy ingress can name only
 * pods, so ingress is judged on the pod peer alone.
 */
enum pw_tier_cover {
	PW_COVER_NONE = 0,   /* some pod accepts/sends to the unnamed pod */
	PW_COVER_PODS,       /* pods denied, addresses outside the cluster not */
	PW_COVER_ALL,
};
struct pw_tier_probe;
struct pw_tier_probe *pw_tier_probe_new(const struct pw_cluster *c,
					const struct pw_compile_opts *copts);
enum pw_tier_cover pw_tier_probe_ns(const struct pw_tier_probe *p, const struct pw_cluster *c,
				    const char *ns, int dir);
void pw_tier_probe_free(struct pw_tier_probe *p);

/* enum pw_lint_rule of a name, or -1 */
int pw_lint_rule_parse(const char *name);

#endif
