/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * podwall datapath: the four TC programs. The work lives in lib/:
 * parse.h (headers), policy.h (the verdict), conntrack.h, judge.h (one
 * packet, one direction), events.h (counters and the ring buffer), maps.h,
 * fqdn.h and dnsparse.h (domain names learned from DNS answers), direct.h
 * (a same-node flow judged once, sent straight into the other pod).
 *
 *   from_pod   tc ingress of a pod's host veth: what the pod sends (egress)
 *   to_pod     tc egress of a pod's host veth: what the pod receives (ingress),
 *              after the deferred egress verdict of a Service flow
 *   to_remote  tc egress of the node uplink: deferred egress verdicts only
 *              (unmarked packets pass untouched and are not counted)
 *   pass_only  returns TC_ACT_OK: the benchmark's baseline
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/policy.h"
#include "lib/conntrack.h"
#include "lib/judge.h"
#include "lib/events.h"
#include "lib/fqdn.h"
#include "lib/direct.h"

static __always_inline int pw_is_ip(__u16 eth_proto)
{
	return eth_proto == ETH_P_IP || eth_proto == ETH_P_IPV6;
}

static __always_inline int pw_tc_verdict(const struct pw_res *r)
{
	return r->verdict == PW_VERDICT_DROP ? TC_ACT_SHOT : TC_ACT_OK;
}

/* IPv6 neighbour discovery from the pod: link-local, unspecified (DAD) or its own address. */
static __always_inline int pw_nd_source_ok(const struct pw_pkt *p, const struct pw_endpoint *ep,
					   __u32 slot)
{
	if (pw_addr_is_linklocal(p->saddr) || pw_addr_is_unspec(p->saddr))
		return 1;
	return (ep->flags[slot & 1] & PW_EP_HAS_V6) && pw_addr_eq(p->saddr, ep->ip6);
}

static __always_inline int pw_source_ok(const struct pw_pkt *p, const struct pw_endpoint *ep,
					__u32 slot)
{
	return pw_ep_owns(ep, slot, p->family, p->saddr);
}

/*
 * Past NAT, a packet that from_pod marked: the egress verdict of the pod
 * that sent it (found by its source address), on the translated
 * destination. The mark is cleared by the caller.
 */
static __always_inline int pw_post_nat(struct __sk_buff *skb, const struct pw_pkt *p,
				       const struct pw_config *cfg)
{
	struct pw_endpoint *sender;
	struct pw_res r = { .dir = PW_DIR_EGRESS };
	__u32 *ifindex;

	/* the key is the address itself (struct pw_addr): no copy on the stack */
	ifindex = bpf_map_lookup_elem(&local_ips, p->saddr);
	if (!ifindex)
		return TC_ACT_OK;
	sender = bpf_map_lookup_elem(&endpoints, ifindex);
	if (!sender)
		return TC_ACT_OK;
	r.ifindex = *ifindex;
	pw_judge(p, sender, cfg, 0, &r);
	pw_report(skb, p, cfg, sender, &r);
	return pw_tc_verdict(&r);
}

SEC("tc")
int from_pod(struct __sk_buff *skb)
{
	__u16 eth_proto = pw_eth_proto(skb);
	__u32 ifindex = skb->ifindex, zero = 0;
	struct pw_endpoint *ep;
	struct pw_config *cfg;
	struct pw_pkt p = {};
	struct pw_res r = { .dir = PW_DIR_EGRESS, .ifindex = skb->ifindex };
	int parsed, fast;

	if (!pw_is_ip(eth_proto)) {
		pw_count(skb, PW_DIR_EGRESS, PW_VERDICT_ALLOW, PW_REASON_NOT_IP);
		return TC_ACT_OK;
	}
	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return TC_ACT_OK;
	parsed = pw_parse(skb, eth_proto, &p) >= 0;
	/* a flow this device's endpoint vouched for: no endpoint lookup (judge.h) */
	fast = parsed && !pw_fqdn_dns_port(&p, PW_DIR_EGRESS) ? pw_judge_fast(&p, cfg, 1, &r) : 0;
	if (fast) {
		if (r.defer)
			skb->mark |= PW_MARK_DEFER;
		pw_count(skb, r.dir, r.verdict, r.reason);
		/* and to_pod's verdict too, if it would pass it (direct.h) */
		if (fast & PW_FAST_DIRECT)
			return pw_redirect_peer(skb, &p, cfg, fast, r.isn);
		return TC_ACT_OK;
	}
	ep = bpf_map_lookup_elem(&endpoints, &ifindex);
	if (!ep) {
		pw_count(skb, PW_DIR_EGRESS, PW_VERDICT_ALLOW, PW_REASON_NO_ENDPOINT);
		return TC_ACT_OK;
	}

	r.verdict = PW_VERDICT_DROP;
	if (!parsed) {
		r.reason = PW_REASON_MALFORMED;
	} else if (p.nd) {
		if (pw_nd_source_ok(&p, ep, cfg->active_slot)) {
			r.verdict = PW_VERDICT_ALLOW;
			r.reason = PW_REASON_ND;
		} else {
			r.reason = PW_REASON_SPOOFED;
		}
	} else if (!pw_source_ok(&p, ep, cfg->active_slot)) {
		r.reason = PW_REASON_SPOOFED;
	} else {
		pw_judge(&p, ep, cfg, 1, &r);
		if (r.names) {   /* a new flow of a pod that learns names */
			pw_judge_names(&p, ep, cfg, &r);
			pw_judge_finish(&p, ep, cfg, &r);
		}
		if (r.defer)
			skb->mark |= PW_MARK_DEFER;
		/* a DNS query of a pod that learns names: remember it */
		if (pw_fqdn_dns_port(&p, PW_DIR_EGRESS) && r.verdict != PW_VERDICT_DROP &&
		    pw_fqdn_learns(ep, cfg))
			pw_fqdn_query(skb, &p, ep, cfg);
	}
	pw_report(skb, &p, cfg, ep, &r);
	/* a tracked flow re-checked (a policy change): direct.h, as on the fast path */
	if (r.verdict == PW_VERDICT_ALLOW && !r.defer &&
	    (r.reason == PW_REASON_CT_ESTABLISHED || r.reason == PW_REASON_CT_REPLY))
		return pw_redirect_peer(skb, &p, cfg,
					r.reason == PW_REASON_CT_REPLY ? PW_FAST_REPLY : 0, 0);
	return pw_tc_verdict(&r);
}

SEC("tc")
int to_pod(struct __sk_buff *skb)
{
	__u16 eth_proto = pw_eth_proto(skb);
	__u32 ifindex = skb->ifindex, zero = 0;
	int deferred = !!(skb->mark & PW_MARK_DEFER);
	struct pw_endpoint *ep;
	struct pw_config *cfg;
	struct pw_pkt p = {};
	struct pw_res r = { .dir = PW_DIR_INGRESS, .ifindex = skb->ifindex };
	int parsed;

	if (!pw_is_ip(eth_proto)) {
		pw_count(skb, PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_NOT_IP);
		return TC_ACT_OK;
	}
	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return TC_ACT_OK;
	parsed = pw_parse(skb, eth_proto, &p) >= 0;
	/* a flow this device's endpoint vouched for: no endpoint lookup (judge.h) */
	if (parsed && !deferred && !pw_fqdn_dns_port(&p, PW_DIR_INGRESS) &&
	    pw_judge_fast(&p, cfg, 0, &r)) {
		pw_count(skb, r.dir, r.verdict, r.reason);
		return TC_ACT_OK;
	}
	ep = bpf_map_lookup_elem(&endpoints, &ifindex);
	if (!ep && !deferred) {
		pw_count(skb, PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_NO_ENDPOINT);
		return TC_ACT_OK;
	}
	if (deferred)
		skb->mark &= ~PW_MARK_DEFER;

	if (!parsed) {
		r.verdict = PW_VERDICT_DROP;
		r.reason = PW_REASON_MALFORMED;
		if (ep)
			pw_report(skb, &p, cfg, ep, &r);
		else
			pw_count(skb, PW_DIR_INGRESS, r.verdict, r.reason);
		return TC_ACT_SHOT;
	}

	/* The sender's egress verdict first, on the translated destination. */
	if (deferred && pw_post_nat(skb, &p, cfg) == TC_ACT_SHOT)
		return TC_ACT_SHOT;

	if (!ep) {
		pw_count(skb, PW_DIR_INGRESS, PW_VERDICT_ALLOW, PW_REASON_NO_ENDPOINT);
		return TC_ACT_OK;
	}
	if (p.nd) {
		r.verdict = PW_VERDICT_ALLOW;
		r.reason = PW_REASON_ND;
	} else {
		/* unmarked, the tuple is as its sender sent it (direct.h) */
		pw_judge(&p, ep, cfg, !deferred, &r);
		/* a DNS answer to a pod that learns names, before the pod has it */
		if (pw_fqdn_dns_port(&p, PW_DIR_INGRESS) && r.verdict != PW_VERDICT_DROP &&
		    pw_fqdn_learns(ep, cfg))
			pw_fqdn_answer(skb, &p, ep, cfg);
	}
	pw_report(skb, &p, cfg, ep, &r);
	return pw_tc_verdict(&r);
}

SEC("tc")
int to_remote(struct __sk_buff *skb)
{
	__u16 eth_proto;
	__u32 zero = 0;
	struct pw_config *cfg;
	struct pw_pkt p = {};

	if (!(skb->mark & PW_MARK_DEFER))
		return TC_ACT_OK;
	skb->mark &= ~PW_MARK_DEFER;
	eth_proto = pw_eth_proto(skb);
	if (!pw_is_ip(eth_proto))
		return TC_ACT_OK;
	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return TC_ACT_OK;
	if (pw_parse(skb, eth_proto, &p) < 0) {
		pw_count(skb, PW_DIR_EGRESS, PW_VERDICT_DROP, PW_REASON_MALFORMED);
		return TC_ACT_SHOT;
	}
	return pw_post_nat(skb, &p, cfg);
}

SEC("tc")
int pass_only(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
