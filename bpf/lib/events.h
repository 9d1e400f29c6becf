/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the datapath reports: per-CPU counters of every packet by
 * (direction, verdict, reason), and verdict events to the ring buffer
 * (drops, audit would-drops, and allows of new flows when asked),
 * rate-limited per CPU in one-second windows (evring.h). An egress drop of
 * a pod that learns names says whether any lookup of the pod's returned
 * the address (fqdn.h).
 */
#ifndef PW_BPF_EVENTS_H
#define PW_BPF_EVENTS_H

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/dns.h"
#include "lib/judge.h"
#include "lib/evring.h"
#include "lib/fqdn.h"

/* One more packet in counter idx (abi.h PW_COUNTER_IDX, PW_COUNTER_REDIRECTED). */
static __always_inline void pw_count_idx(struct __sk_buff *skb, __u32 idx)
{
	struct pw_counter *c;

	if (idx >= PW_COUNTERS_MAX)
		return;
	c = bpf_map_lookup_elem(&counters, &idx);
	if (!c)
		return;
	c->packets++;
	c->bytes += skb->len;
}

static __always_inline void pw_count(struct __sk_buff *skb, __u8 dir, __u8 verdict, __u8 reason)
{
	pw_count_idx(skb, PW_COUNTER_IDX((__u32)dir, (__u32)verdict, (__u32)reason));
}

/*
 * Report one event, if this CPU's budget for the current second allows;
 * otherwise count it as suppressed (reported with the next event sent).
 * A global function: verified once for all its callers.
 */
/*
 * An egress drop of a pod that learns names, to an address outside the
 * pods for which it holds no live learned name: say so (the reader prints
 * "no lookup of an allowed name returned this address for this pod").
 */
static __always_inline int pw_emit_no_name(const struct pw_pkt *p, const struct pw_config *cfg,
					   const struct pw_endpoint *ep, const struct pw_res *r)
{
	__u32 slot = cfg->active_slot & 1;

	if (r->dir != PW_DIR_EGRESS || r->verdict == PW_VERDICT_ALLOW ||
	    !(ep->flags[slot] & PW_EP_LEARN_NAMES))
		return 0;
	if (r->peer_id != PW_ID_WORLD && r->peer_id < PW_ID_CIDR_MIN)
		return 0; /* a pod or the node: names are not how it is reached */
	return pw_fqdn_names(ep, slot, p->daddr, NULL) == 0;
}

/*
 * Report one event, if this CPU's budget for the current second allows
 * (evring.h). A global function: verified once for all its callers.
 */
__noinline int pw_emit(struct __sk_buff *skb, const struct pw_pkt *p,
		       const struct pw_config *cfg, const struct pw_endpoint *ep,
		       const struct pw_res *r)
{
	struct pw_event *ev;
	__u8 dir;

	if (!skb || !p || !cfg || !ep || !r)
		return 0;
	dir = r->dir;
	ev = pw_event_reserve(cfg->events_per_sec);
	if (!ev)
		return 0;
	__builtin_memcpy(ev->saddr, p->saddr, 16);
	__builtin_memcpy(ev->daddr, p->daddr, 16);
	ev->sport = p->sport;
	ev->dport = p->dport;
	ev->proto = p->proto;
	ev->dir = dir;
	ev->verdict = r->verdict;
	ev->reason = r->reason;
	ev->ifindex = skb->ifindex;
	ev->ep_id = ep->ep_id;
	if (dir == PW_DIR_EGRESS) {
		ev->src_identity = ep->identity;
		ev->dst_identity = r->peer_id;
	} else {
		ev->src_identity = r->peer_id;
		ev->dst_identity = ep->identity;
	}
	ev->rule_id = r->rule_id;
	if (pw_is_dns_query(p) && pw_dns_qname(skb, p, ev->dns_name))
		ev->flags |= PW_EVENT_HAS_DNS;
	if (pw_emit_no_name(p, cfg, ep, r))
		ev->flags |= PW_EVENT_NO_NAME;
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

/* Count the packet, and report it if it is worth an event. */
static __always_inline void pw_report(struct __sk_buff *skb, const struct pw_pkt *p,
				      const struct pw_config *cfg, const struct pw_endpoint *ep,
				      const struct pw_res *r)
{
	pw_count(skb, r->dir, r->verdict, r->reason);
	if (r->verdict != PW_VERDICT_ALLOW ||
	    (r->new_flow && (cfg->flags & PW_CFG_EVENTS_ALLOW)))
		pw_emit(skb, p, cfg, ep, r);
}

#endif
