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

/*
 * A compile cache, for a process that compiles again and again (the agent):
 * what one compile learnt about pods, for the next. Pods whose namespace,
 * labels and container ports are the very objects of the previous compile
 * (as the file cache, pw_filecache_load, hands out for unchanged files) are
 * not read again. The output is the same with or without a cache.
 *
 * The cache holds a reference (pw_cluster_ref) to the cluster of its last
 * successful compile, until the next one or pw_compile_cache_free: that is
 * what makes an address it remembers safe to trust. As for any shared
 * cluster, objects must not change once compiled with a cache. A failed
 * compile leaves the cache as it was. One compile at a time per cache.
 */
struct pw_compile_cache;

struct pw_compile_cache *pw_compile_cache_new(void);   /* NULL: out of memory */
void pw_compile_cache_free(struct pw_compile_cache *cc);

struct pw_compile_cache_stats {
	size_t pods;     /* pods whose addresses it remembers: the last compile's */
	size_t reused;   /* of those, how many that compile did not read again */
};
void pw_compile_cache_stats(const struct pw_compile_cache *cc, struct pw_compile_cache_stats *st);

struct pw_compile_opts {
	pw_local_fn is_local;
	void       *local_ctx;
	/* which pods are the cluster DNS (default: kube-system, k8s-app=kube-dns) */
	const char *dns_namespace;
	const char *dns_label_key;
	const char *dns_label_value;
	bool        dns_auto;   /* --dns=auto: PW_DNS_AUTO on egress-isolated pods */
	bool        audit_all;  /* --mode audit: PW_EP_AUDIT on every endpoint */
	/*
	 * The node's own addresses (IPv4-mapped or IPv6): each gets an ipcache
	 * entry with identity PW_ID_HOST, so that traffic from the node (kubelet
	 * probes) is recognised and allowed into pods. An ipBlock that holds any
	 * of them also allows PW_ID_HOST. NULL / 0: none (what `matrix` wants).
	 */
	const uint8_t (*host_addrs)[16];
	size_t        n_host_addrs;
	/* NULL: none (every compile from scratch, same output) */
	struct pw_compile_cache *cache;
};

/*
 * Compile c into *out (zeroed by the caller, freed with pw_state_free).
 * Returns 0, or a negative errno with err filled.
 */
int pw_compile(const struct pw_cluster *c, const struct pw_compile_opts *opts,
	       struct pw_state *out, struct pw_error *err);

/*
 * Lookups over a compiled state, as the datapath does them (lookup.c):
 * for explain, lint, status and tests.
 *
 * pw_state_policy_lookup: the policy LPM for (ep_id, dir, peer, proto, port)
 * with the peer's identity first, then PW_ID_ANY; true (and *val, if not
 * NULL) when an entry matches (it allows unless val->flags has
 * PW_POL_DENY). port is host order.
 */
bool pw_state_policy_lookup(const struct pw_state *s, uint32_t ep_id, uint8_t dir,
			    uint32_t peer, uint8_t proto, uint16_t port,
			    struct pw_policy_val *val);
/* The policy verdict of the datapath (bpf/lib/policy.h pw_decide, without
 * DNS, host and conntrack): not isolated and not tiered allows; else the
 * entry's verdict, or on a miss drop when isolated, allow when not. *val
 * (if not NULL): the entry, or {PW_RULE_NONE, PW_POL_DEFAULT} on a miss. */
bool pw_state_allows(const struct pw_state *s, const struct pw_state_ep *ep, uint8_t dir,
		     uint32_t peer, uint8_t proto, uint16_t port, struct pw_policy_val *val);
/* the ipcache LPM for addr (16 bytes, IPv4-mapped or IPv6): true and *val
 * when an entry holds it; false and *val = {PW_ID_WORLD, 0} otherwise */
bool pw_state_ipcache_lookup(const struct pw_state *s, const uint8_t addr[16],
			     struct pw_ipcache_val *val);
/* the endpoint of pod ns/name, or NULL (binary search: eps are sorted) */
const struct pw_state_ep *pw_state_endpoint(const struct pw_state *s, const char *ns,
					    const char *name);

#endif /* PODWALL_COMPILER_H */
