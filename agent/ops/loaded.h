/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The names behind the numbers: what a sync loaded, as the operator
 * commands (monitor, status, explain, metrics) need it to name addresses,
 * endpoints, identities and rules. The kernel maps hold only numbers; the
 * agent and `apply` write this model as a small JSON file after every
 * successful sync (statefile.h), and `explain -f` builds it in memory.
 *
 * Pure code (agent/ops/pure/loaded.c): no syscalls, unit-tested.
 */
#ifndef PODWALL_OPS_LOADED_H
#define PODWALL_OPS_LOADED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model.h"
#include "state.h"

#define PW_LOADED_VERSION 1

/* A local endpoint (one entry of the endpoints map). */
struct pw_ld_ep {
	char     *pod;            /* "ns/name" */
	uint8_t   ips[2][16];
	size_t    n_ips;
	uint32_t  ifindex;
	uint32_t  ep_id;
	uint32_t  identity;
	uint32_t  flags;          /* PW_EP_* as compiled */
	uint32_t  dns_flags;      /* PW_DNS_* as compiled */
	char    **policies[2];    /* [PW_DIR_*]: "ns/name" of the policies isolating it */
	size_t    n_policies[2];
};

/* Any pod of the cluster with an address (local or not). */
struct pw_ld_pod {
	char     *pod;            /* "ns/name" */
	uint8_t   ips[2][16];
	size_t    n_ips;
	uint32_t  identity;
	bool      local;
	bool      dns;            /* a cluster DNS pod */
};

struct pw_ld_svc_port {
	uint16_t port;
	uint8_t  proto;
	uint16_t target;          /* 0: named target port */
	char    *target_name;     /* NULL unless named */
};

/* A Service ClusterIP (kube-proxy translates it after from_pod). */
struct pw_ld_svc {
	char                  *svc;        /* "ns/name" */
	uint8_t                ips[2][16];
	size_t                 n_ips;
	struct pw_ld_svc_port *ports;
	size_t                 n_ports;
	char                 **backends;   /* "ns/name" of the pods it selects */
	size_t                 n_backends;
	/* targets[k * n_backends + b]: the port ports[k] reaches on backends[b]
	 * (pw_service_target: named ports per pod), 0 if b has none; NULL when
	 * not known (read from a state file) */
	uint16_t              *targets;
};

struct pw_ld_id {
	uint32_t id;
	uint32_t kind;            /* enum pw_identity_kind */
	char    *desc;
};

struct pw_ld_rule {
	uint32_t id;
	uint8_t  dir;             /* enum pw_dir */
	uint32_t index;           /* in spec.ingress / spec.egress */
	char    *policy;          /* "ns/name"; a ClusterNetworkPolicy rule: its description */
	char    *where;           /* "file:line" of the rule, or NULL */
	/* a ClusterNetworkPolicy rule (tier != 0): what the description says,
	 * as fields of their own (pw_state_rule) */
	uint8_t  tier;            /* 0: NetworkPolicy; enum pw_tier */
	uint8_t  action;          /* enum pw_action */
	uint32_t priority;
	char    *cluster_policy;  /* its name */
	char    *rule_name;       /* "#N" for an unnamed one */
};

struct pw_loaded {
	int               version;
	uint32_t          generation;   /* config.generation after the sync */
	uint32_t          slot;
	bool              audit_all;    /* agent --mode audit */
	bool              dns_auto;     /* --dns auto */
	char             *source;       /* manifests the state came from */
	char             *pin_dir;
	int64_t           written_at;   /* unix seconds */
	struct pw_ld_ep  *eps;     size_t n_eps;
	struct pw_ld_pod *pods;    size_t n_pods;
	struct pw_ld_svc *svcs;    size_t n_svcs;
	struct pw_ld_id  *ids;     size_t n_ids;    /* sorted by id */
	struct pw_ld_rule *rules;  size_t n_rules;  /* rules[i].id == i */
};

struct pw_loaded_meta {
	uint32_t    generation;
	uint32_t    slot;
	bool        audit_all;
	bool        dns_auto;
	const char *source;
	const char *pin_dir;
	int64_t     written_at;
};

/*
 * Build the model of a compiled state s and the objects c it came from.
 * Endpoints are s->eps with an ifindex (all of them if local_only is
 * false). Returns 0 or -ENOMEM; out is zeroed first, freed with
 * pw_loaded_free.
 */
int pw_loaded_build(const struct pw_state *s, const struct pw_cluster *c,
		    const struct pw_loaded_meta *m, bool local_only, struct pw_loaded *out);
void pw_loaded_free(struct pw_loaded *l);

/* Lookups (NULL when unknown). */
const struct pw_ld_ep *pw_ld_ep_by_ifindex(const struct pw_loaded *l, uint32_t ifindex);
const struct pw_ld_ep *pw_ld_ep_by_id(const struct pw_loaded *l, uint32_t ep_id);
const struct pw_ld_ep *pw_ld_ep_by_name(const struct pw_loaded *l, const char *pod);
const struct pw_ld_pod *pw_ld_pod_by_addr(const struct pw_loaded *l, const uint8_t a[16]);
const struct pw_ld_pod *pw_ld_pod_by_name(const struct pw_loaded *l, const char *pod);
const struct pw_ld_svc *pw_ld_svc_by_addr(const struct pw_loaded *l, const uint8_t a[16]);
const struct pw_ld_id *pw_ld_id(const struct pw_loaded *l, uint32_t id);
const struct pw_ld_rule *pw_ld_rule(const struct pw_loaded *l, uint32_t rule_id);

/*
 * A name for address a with identity id (id 0: unknown): "ns/pod",
 * "svc ns/name", the CIDR group of the identity ("10.0.0.0/8"), "host",
 * "world" or the address itself. l may be NULL. Returns buf.
 */
const char *pw_ld_name_addr(const struct pw_loaded *l, const uint8_t a[16], uint32_t id,
			    char *buf, size_t len);
/* "ns=production app=web", "world", "host" or "identity 0x123". Returns buf. */
const char *pw_ld_name_id(const struct pw_loaded *l, uint32_t id, char *buf, size_t len);

/* ----------------------------------------------------------------- words */

const char *pw_dir_name(uint8_t dir);          /* "ingress", "egress" */
const char *pw_verdict_name(uint8_t v);        /* "allow", "drop", "audit" */
const char *pw_verdict_upper(uint8_t v);       /* "ALLOW", "DROP", "AUDIT" */
const char *pw_reason_name(uint8_t r);         /* "policy_denied", ... (metrics labels) */
/* What a reason means for a direction, in words: "egress default-deny, no rule allows it". */
const char *pw_reason_text(uint8_t r, uint8_t dir);
const char *pw_proto_name(uint8_t p);          /* "tcp", "udp", "sctp", "icmp", or "proto-N" */
/* "tcp" / "TCP" / "6" -> IPPROTO_*; 0 if unknown */
uint8_t pw_proto_parse(const char *s);
/* address text: "10.0.0.1" or "fd00::1" */
const char *pw_ld_addr_str(const uint8_t a[16], char *buf, size_t len);

#endif
