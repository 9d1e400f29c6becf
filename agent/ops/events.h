/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Verdict events (abi.h struct pw_event) in words: who, to whom, protocol
 * and port, verdict, reason, the policies involved and the DNS name, as one
 * text line or one JSON object; and the addresses pods learn from DNS
 * answers (PW_EVENT_NAME_LEARNED: "type": "learned"). Names come from the loaded state (loaded.h);
 * without it, addresses and numbers are printed.
 */
#ifndef PODWALL_OPS_EVENTS_H
#define PODWALL_OPS_EVENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "podwall/abi.h"
#include "ops/loaded.h"

struct pw_ev_filter {
	const char *pod;      /* "ns/name": either side */
	const char *ns;       /* either side in this namespace */
	uint8_t     verdict;  /* 0: any */
};

/* The names of both sides of an event. */
struct pw_ev_names {
	char src[320];
	char dst[320];
	char ep[320];         /* the endpoint the verdict is for, "" if unknown */
};

void pw_ev_names(const struct pw_event *e, const struct pw_loaded *l, struct pw_ev_names *n);
bool pw_ev_match(const struct pw_event *e, const struct pw_ev_names *n,
		 const struct pw_ev_filter *f);

/* Wall-clock time of a bpf_ktime_get_ns() stamp, in ns since the epoch. */
uint64_t pw_ev_wall_ns(uint64_t mono_ns);

/*
 * One line, e.g.
 *   12:00:01.250 production/frontend -> kube-system/coredns udp/53 DROP
 *   dns "backend.production.svc.cluster.local" (egress default-deny, no DNS
 *   rule; isolated by production/default-deny-all)
 */
void pw_ev_print_text(FILE *f, const struct pw_event *e, const struct pw_loaded *l,
		      const struct pw_ev_names *n);
/* A deciding rule as JSON, as monitor and status say it: id, policy,
 * direction, index, its tier ("admin", "baseline", "netpol") and, for a
 * ClusterNetworkPolicy rule, cluster_policy, priority, rule_name and action
 * (the names file's fields). */
struct json_t;
struct json_t *pw_rule_json(const struct pw_ld_rule *rule);
/* One JSON object on one line. */
void pw_ev_print_json(FILE *f, const struct pw_event *e, const struct pw_loaded *l,
		      const struct pw_ev_names *n);

#endif
