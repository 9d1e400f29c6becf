/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The compiler: Kubernetes objects in, desired map state out (DESIGN §3).
 * A pure function: no syscalls, no kernel, deterministic.
 */
#ifndef PODWALL_COMPILER_H
#define PODWALL_COMPILER_H

#include <stdbool.h>
#include "model.h"
#include "state.h"

/*
 * Which pods are local (get an endpoint entry and policy entries) and on
 * which host veth. Returns the ifindex (> 0) of a local pod, 0 for a pod of
 * another node. NULL in pw_compile_opts means "every pod with an IP is local,
 * ifindex left 0" (what `matrix` wants).
 */
typedef uint32_t (*pw_local_fn)(void *ctx, const struct pw_pod *pod);

struct pw_compile_opts {
	pw_local_fn is_local;
	void       *local_ctx;
	/* which pods are the cluster DNS (default: kube-system, k8s-app=kube-dns) */
	const char *dns_namespace;
	const char *dns_label_key;
	const char *dns_label_value;
	bool        dns_auto;   /* --dns=auto: PW_DNS_AUTO on egress-isolated pods */
	bool        audit_all;  /* --mode audit: PW_EP_AUDIT on every endpoint */
};

/*
 * Compile c into *out (zeroed by the caller, freed with pw_state_free).
 * Returns 0, or a negative errno with err filled.
 */
int pw_compile(const struct pw_cluster *c, const struct pw_compile_opts *opts,
	       struct pw_state *out, struct pw_error *err);

#endif /* PODWALL_COMPILER_H */
