/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The desired state: what the compiler produces from Kubernetes objects and
 * what the agent, `apply` and `matrix` write into the BPF maps.
 *
 * It is pure data, no kernel handles: entries are stored with slot 0 in
 * their keys, and the writer (mapsync.c) stamps the slot it writes into.
 * Every array is sorted by its key (memcmp order) so that two states can be
 * diffed by a merge walk and the same input always gives the same bytes.
 */
#ifndef PODWALL_STATE_H
#define PODWALL_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "podwall/abi.h"

/* A local pod: an endpoint the datapath programs enforce for. */
struct pw_state_ep {
	char     ns[64];
	char     name[254];
	uint16_t n_ips;
	uint8_t  ips[2][16];   /* IPv4-mapped or IPv6, as in the ABI */
	uint32_t ifindex;      /* host-side veth; 0 until the caller resolves it */
	uint32_t ep_id;        /* stable: derived from ns/name */
	uint32_t identity;
	uint32_t flags;        /* PW_EP_ISOLATED_*, PW_EP_AUDIT, PW_EP_HAS_* */
	uint32_t dns_flags;    /* PW_DNS_* for this endpoint */
	uint32_t n_policies[PW_DIR_MAX]; /* how many policies isolate it, per direction */
};

struct pw_state_ipc {
	struct pw_ipcache_key key;   /* slot 0 */
	struct pw_ipcache_val val;
};

struct pw_state_pol {
	struct pw_policy_key key;    /* slot 0 */
	struct pw_policy_val val;
};

/* A domainNames pattern in force (abi.h name_set). */
struct pw_state_name {
	struct pw_name_key key;      /* slot 0 */
	struct pw_name_val val;
};

/* What an identity stands for, so that status/explain/monitor can name it. */
enum pw_identity_kind {
	PW_IDK_POD = 1,
	PW_IDK_CIDR,
	PW_IDK_RESERVED,
	PW_IDK_NAME,            /* a domainNames pattern: desc is the pattern */
};

struct pw_state_identity {
	uint32_t id;
	uint32_t kind;          /* enum pw_identity_kind */
	char     desc[192];     /* "ns=x pod=a,app=web" or "10.0.0.0/8" */
};

/* One compiled rule: the rule_id in pw_policy_val indexes this table. */
struct pw_state_rule {
	uint32_t rule_id;
	uint8_t  dir;           /* enum pw_dir */
	uint8_t  tier;          /* 0: NetworkPolicy; else enum pw_tier (model.h) */
	uint8_t  action;        /* ClusterNetworkPolicy: enum pw_action */
	uint8_t  pad;
	uint32_t rule_index;    /* index in spec.ingress / spec.egress */
	/* "ns/name"; a ClusterNetworkPolicy rule: "Admin tier policy NAME
	 * priority P rule RULE (Deny)" */
	char     policy[320];
	/* ClusterNetworkPolicy: spec.priority, and where the compiler wrote
	 * the policy's name and its rule's name ("#N" when unnamed) in policy[]
	 * (pw_state_rule_cnp, pw_state_rule_name): fields, never parsed back */
	uint32_t priority;
	uint16_t cnp_at, cnp_len;
	uint16_t rule_at, rule_len;
};

/* A ClusterNetworkPolicy rule's policy name / rule name into buf ("" for a
 * NetworkPolicy rule). Returns buf. */
const char *pw_state_rule_cnp(const struct pw_state_rule *r, char *buf, size_t len);
const char *pw_state_rule_name(const struct pw_state_rule *r, char *buf, size_t len);
/* "admin", "baseline" ("netpol" for 0); "Accept", "Deny", "Pass" ("" for 0) */
const char *pw_tier_name(uint8_t tier);
const char *pw_action_name(uint8_t action);

struct pw_state {
	struct pw_state_ep       *eps;   size_t n_eps;   /* sorted by ns, name */
	struct pw_state_ipc      *ipc;   size_t n_ipc;
	struct pw_state_pol      *pol;   size_t n_pol;
	struct pw_state_identity *ids;   size_t n_ids;   /* sorted by id */
	struct pw_state_rule     *rules; size_t n_rules; /* rule_id == index */
	struct pw_state_name     *names; size_t n_names; /* sorted by key */
};

void pw_state_free(struct pw_state *s);

/*
 * What the kernel sees of a state: eps, ipc, pol and names (ids and rules only name
 * things for ops). Copy into dst (0 or -ENOMEM; free with pw_state_free), and
 * compare two states on that part.
 */
int  pw_state_copy_kernel(struct pw_state *dst, const struct pw_state *src);
bool pw_state_kernel_equal(const struct pw_state *a, const struct pw_state *b);

#endif /* PODWALL_STATE_H */
