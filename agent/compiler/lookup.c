/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The datapath's lookups, in userspace, over a compiled state: what
 * explain, lint and the tests use to ask "would this be allowed?".
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "compiler.h"
#include "k8s/ip.h"

static int pol_key_cmp(const void *a, const void *b)
{
	return memcmp(a, &((const struct pw_state_pol *)b)->key, sizeof(struct pw_policy_key));
}

static int ipc_key_cmp(const void *a, const void *b)
{
	return memcmp(a, &((const struct pw_state_ipc *)b)->key, sizeof(struct pw_ipcache_key));
}

/*
 * The longest entry for one peer. The datapath (bpf/lib/policy.h) finds it
 * over two maps, in this same order: one port (16 port bits: the hash
 * policy), the port-range prefixes (15..1 bits: policy_lpm), every port of
 * the protocol (0 bits) and every protocol (the hash again), each only when
 * the peer's summary says it has entries of that shape. The summaries are
 * derived from these same entries by mapsync, so the order alone decides,
 * and both answer with the same entry (verdict and rule).
 */
static const struct pw_state_pol *lpm_policy(const struct pw_state *s, uint32_t ep_id,
					     uint8_t dir, uint32_t peer, uint8_t proto,
					     uint16_t port)
{
	struct pw_policy_key k;

	for (int bits = 16; bits >= -1; bits--) {
		const struct pw_state_pol *e;

		memset(&k, 0, sizeof(k));
		k.dir = dir;
		k.ep_id = ep_id;
		k.peer_id = peer;
		if (bits >= 0) {
			k.prefixlen = PW_POL_PREFIX_ANY_PORT + (uint32_t)bits;
			k.proto = proto;
			k.port = htons(bits ? (uint16_t)(port & (0xffffu << (16 - bits))) : 0);
		} else {
			k.prefixlen = PW_POL_PREFIX_ANY_PROTO;
		}
		e = bsearch(&k, s->pol, s->n_pol, sizeof(*s->pol), pol_key_cmp);
		if (e)
			return e;
	}
	return NULL;
}

bool pw_state_policy_lookup(const struct pw_state *s, uint32_t ep_id, uint8_t dir,
			    uint32_t peer, uint8_t proto, uint16_t port,
			    struct pw_policy_val *val)
{
	const struct pw_state_pol *e;

	if (!s || !s->n_pol)
		return false;
	e = lpm_policy(s, ep_id, dir, peer, proto, port);
	if (!e && peer != PW_ID_ANY)
		e = lpm_policy(s, ep_id, dir, PW_ID_ANY, proto, port);
	if (e && val)
		*val = e->val;
	return e != NULL;
}

bool pw_state_allows(const struct pw_state *s, const struct pw_state_ep *ep, uint8_t dir,
		     uint32_t peer, uint8_t proto, uint16_t port, struct pw_policy_val *val)
{
	uint32_t iso = dir == PW_DIR_EGRESS ? PW_EP_ISOLATED_EGRESS : PW_EP_ISOLATED_INGRESS;
	uint32_t tiered = dir == PW_DIR_EGRESS ? PW_EP_TIERED_EGRESS : PW_EP_TIERED_INGRESS;
	struct pw_policy_val v;

	if (val)
		*val = (struct pw_policy_val){ PW_RULE_NONE, PW_POL_DEFAULT };
	if (!(ep->flags & (iso | tiered)))
		return true;
	if (!pw_state_policy_lookup(s, ep->ep_id, dir, peer, proto, port, &v))
		return !(ep->flags & iso);
	if (val)
		*val = v;
	return !(v.flags & PW_POL_DENY);
}

bool pw_state_ipcache_lookup(const struct pw_state *s, const uint8_t addr[16],
			     struct pw_ipcache_val *val)
{
	struct pw_ipcache_key k;

	/* /128 first (the datapath's hash ipcache), then shorter (ipcache_lpm) */
	for (int len = 128; len >= 0; len--) {
		const struct pw_state_ipc *e;

		memset(&k, 0, sizeof(k));
		k.prefixlen = PW_IPC_PREFIX_BASE + (uint32_t)len;
		memcpy(k.addr, addr, 16);
		pw_prefix_mask(k.addr, (unsigned)len);
		e = s && s->n_ipc ? bsearch(&k, s->ipc, s->n_ipc, sizeof(*s->ipc), ipc_key_cmp)
				  : NULL;
		if (e) {
			if (val)
				*val = e->val;
			return true;
		}
	}
	if (val) {
		val->identity = PW_ID_WORLD;
		val->flags = 0;
	}
	return false;
}

const struct pw_state_ep *pw_state_endpoint(const struct pw_state *s, const char *ns,
					    const char *name)
{
	size_t lo = 0, hi = s ? s->n_eps : 0;

	if (!ns || !name)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(ns, s->eps[mid].ns);

		if (!r)
			r = strcmp(name, s->eps[mid].name);
		if (!r)
			return &s->eps[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}
