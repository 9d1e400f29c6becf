/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * why: the chain of reasons behind a verdict the kernel took (probe.h),
 * in words: which policies isolate each side in each direction, the rule
 * that allowed it, or what the rules that select the pod do allow when
 * none matched. Names from the loaded-state model (loaded.h), rules from
 * the policy entries of the state that was probed. Pure code.
 */
#ifndef PODWALL_OPS_WHY_H
#define PODWALL_OPS_WHY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "state.h"
#include "ops/loaded.h"
#include "ops/probe.h"

struct pw_why_side {
	char                      name[320];  /* "ns/pod" or the address */
	uint8_t                   addr[16];
	const struct pw_ld_pod   *pod;        /* a pod of the cluster, or NULL */
	const struct pw_ld_ep    *ep;         /* its names as a local endpoint, or NULL */
	const struct pw_state_ep *sep;        /* the endpoint probed, or NULL: not local */
};

struct pw_why {
	struct pw_why_side      src, dst;
	uint8_t                 proto;
	uint16_t                port;
	const struct pw_ld_svc *svc;          /* dst was this Service's ClusterIP */
	struct pw_why_side      be;           /* then: the backend the probe went to */
	uint16_t                be_port;      /* and its (target) port */
	struct pw_probe_result  res;
	const char             *source;       /* what was probed, for the last line */
};

/* ALLOW, DROP or AUDIT (passed, would have been dropped). */
uint8_t pw_why_verdict(const struct pw_why *w);

/* The rules of endpoint ep_id in dir, in words, one per line with indent. */
void pw_why_rules(FILE *f, const struct pw_state *s, const struct pw_loaded *l, uint32_t ep_id,
		  uint8_t dir, const char *indent);

/* Print the explanation. */
void pw_why_print(FILE *f, const struct pw_why *w, const struct pw_loaded *l,
		  const struct pw_state *s);

/* A port entry of the policy map in words: "tcp/8080", "tcp/8080-8095", "tcp (any port)", "any protocol". */
void pw_why_port_str(const struct pw_policy_key *k, char *buf, size_t len);

#endif
