/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the datapath reports: per-CPU counters of every packet by
 * (direction, verdict, reason), and verdict events to the ring buffer
 * (drops, audit would-drops, and allows of new flows when asked),
 * rate-limited per CPU in one-second windows.
 */
#ifndef PW_BPF_EVENTS_H
#define PW_BPF_EVENTS_H

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/dns.h"
#include "lib/judge.h"

#define PW_EVENTS_PER_SEC_DEFAULT 1000

static __always_inline void pw_count(struct __sk_buff *skb, __u8 dir, __u8 verdict, __u8 reason)
{
	__u32 idx = PW_COUNTER_IDX((__u32)dir, (__u32)verdict, (__u32)reason);
	struct pw_counter *c;

	if (idx >= PW_COUNTERS_MAX)
		return;
	c = bpf_map_lookup_elem(&counters, &idx);
	if (!c)
		return;
	c->packets++;
	c->bytes += skb->len;
}

/*
 * Report one event, if this CPU's budget for the current second allows;
 * otherwise count it as suppressed (reported with the next event sent).
 * A global function: verified once for all its callers.
 */
__noinline int pw_emit(struct __sk_buff *skb, const struct pw_pkt *p,
		       const struct pw_config *cfg, const struct pw_endpoint *ep,
		       const struct pw_res *r)
{
	__u64 now = pw_now(); /* the window; the event's own time is precise */
	struct pw_ratelimit *rl;
	struct pw_event *ev;
	__u32 zero = 0, limit;
	__u8 dir;

	if (!p || !cfg || !ep || !r)
		return 0;
	dir = r->dir;
	limit = cfg->events_per_sec;
	rl = bpf_map_lookup_elem(&ratelimit, &zero);
	if (!rl)
		return 0;
	if (!limit)
		limit = PW_EVENTS_PER_SEC_DEFAULT;
	if (pw_older(now, rl->window_start_ns, PW_NSEC_PER_SEC - 1)) {
		rl->window_start_ns = now;
		rl->sent = 0;
	}
	if (rl->sent >= limit) {
		rl->suppressed++;
		return 0;
	}
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		rl->suppressed++; /* ring full: the reader is behind */
		return 0;
	}
	rl->sent++;

	__builtin_memset(ev, 0, sizeof(*ev));
	ev->ts_ns = bpf_ktime_get_ns();
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
	ev->suppressed = rl->suppressed;
	rl->suppressed = 0;
	if (pw_is_dns_query(p) && pw_dns_qname(skb, p, ev->dns_name))
		ev->flags |= PW_EVENT_HAS_DNS;
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
