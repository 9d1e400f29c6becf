/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Same-node flows judged once. A packet from pod A to pod B on this node
 * crosses two hooks: from_pod on A's veth (A's egress) and to_pod on B's
 * (B's ingress), with the node's forwarding path in between. Once both
 * checks let a flow through, each keeps a conntrack entry of the same tuple
 * (conntrack.h): (A->B, EGRESS) vouched for by A's device, (A->B, INGRESS)
 * by B's. from_pod, once it has passed a packet of the flow, then knows
 * what to_pod's fast path would say about it: when the other entry of the
 * pair exists, is live, was vouched for under the live generation by a
 * device (the one to_pod would run on: B's for the destination's own
 * address, A's for a reply from B) and both may go direct (judge.h
 * pw_ct_direct: no audit pass to report, nothing deferred past NAT, the
 * egress entry made before any NAT), from_pod does to_pod's part (touch the
 * entry, count the ingress verdict) and sends the packet straight into the
 * other pod with bpf_redirect_peer: the node's netfilter FORWARD and
 * POSTROUTING and the TTL decrement are skipped, as with Cilium's host
 * routing.
 *
 * Once a flow has gone direct, the node's conntrack has not seen its middle:
 * a later packet of it through the node would be out of its TCP window,
 * INVALID, which kube-proxy drops. So a packet of such a pair whose other
 * entry to_pod has not re-checked yet (a policy change, an expired entry)
 * still skips the node: bpf_redirect_neigh sends it to the destination's
 * veth (local_ips, as the node's route would; the neighbour as the node
 * resolved it), where to_pod judges it in full and re-checks, or revokes.
 *
 * Never redirected: the first packets of a flow (no pair yet; a TCP SYN at
 * any time, so that the node's conntrack sees each connection open; a RST
 * goes direct, as the node, seeing it out of the window it knows, would
 * drop it as INVALID), a flow to a Service (its egress entry is deferred; the
 * post-NAT entries lack PW_CT_DIRECT, so the replies of a backend go back
 * through the node to be un-NATed), fragments (a first one too: the others
 * follow it through the node), neighbour discovery, ICMP errors, DNS
 * (to_pod reads the answers), audit passes.
 * A TCP pair goes direct only if both entries carry the same ISN (abi.h
 * pw_ct_val.isn: from_pod's egress entry and to_pod's ingress entry each
 * take it from every SYN they pass): the same SYN crossed both hooks with
 * this tuple. When the node's NAT gives a connection another source port
 * (a clash with a Service connection's entry in its conntrack), to_pod
 * sees the SYN on another tuple; a stale pair of an earlier connection on
 * the tuple the client sent would otherwise carry the new connection's
 * packets un-NATed into a server that never opened it (churn.sh lost
 * connections so). UDP has no ISN: a Service flow the node translates onto
 * a pair's tuple meets the entries past NAT, which clears PW_CT_DIRECT.
 *
 * PW_CFG_REDIRECT_PEER turns it on (the agent with --redirect). Off by
 * default: the node's conntrack sees only a direct connection's handshake
 * and forgets it after its SYN_RECV timeout; a Service connection
 * the client opens after that from the same source port to the same
 * backend port is then not given another port by the node's NAT and lands
 * on the live direct connection's tuple, which the server resets
 * (docs/DESIGN.md §1).
 */
#ifndef PW_BPF_DIRECT_H
#define PW_BPF_DIRECT_H

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/conntrack.h"
#include "lib/judge.h"
#include "lib/events.h"
#include "lib/fqdn.h"

/*
 * From from_pod, once it passed p as a packet of a tracked flow: fast, the
 * PW_FAST_* bits of pw_judge_fast, or after the full path PW_FAST_REPLY or
 * 0 (no PW_FAST_VERDICT: the entry is looked up again). Returns
 * TC_ACT_REDIRECT, or TC_ACT_OK to go on through the node. A global
 * function: its frame is not from_pod's, which pw_judge fills.
 */
__noinline int pw_redirect_peer(struct __sk_buff *skb, const struct pw_pkt *p,
				const struct pw_config *cfg, int fast, __u32 isn)
{
	struct pw_ct_key k;
	struct pw_ct_val *v;
	struct pw_addr dst;
	__u32 *dev;
	int reply;
	__u64 now;

	if (!skb || !p || !cfg)
		return TC_ACT_OK;
	if (!(cfg->flags & PW_CFG_REDIRECT_PEER) || p->frag != PW_FRAG_NONE || p->nd ||
	    p->icmp_err || (p->proto == PW_IPPROTO_TCP && (p->tcp_flags & PW_TCP_SYN)) ||
	    pw_fqdn_dns_port(p, PW_DIR_INGRESS) || pw_fqdn_dns_port(p, PW_DIR_EGRESS))
		return TC_ACT_OK;
	reply = !!(fast & PW_FAST_REPLY);
	if (!(fast & PW_FAST_VERDICT)) {
		/* the full path kept the entry: may it go direct? */
		pw_ct_key_of(&k, p, PW_DIR_EGRESS, reply);
		v = pw_ct_lookup(&k);
		if (!v || !pw_ct_direct(v))
			return TC_ACT_OK;
		isn = v->isn;
	} else if (!(fast & PW_FAST_DIRECT)) {
		return TC_ACT_OK;
	}
	/* the entry to_pod would find: (s->d, INGRESS), or a reply's (d->s, EGRESS) */
	pw_ct_key_of(&k, p, PW_DIR_INGRESS, reply);
	v = pw_ct_lookup(&k);
	if (!v || !pw_ct_direct(v))
		return TC_ACT_OK; /* the first packets, a Service's, an audit pass: the node */
	/* TCP: one connection at both ends, the SYN both hooks saw (abi.h pw_ct_val.isn) */
	if (k.proto == PW_IPPROTO_TCP && (!isn || v->isn != isn))
		return TC_ACT_OK;
	now = pw_now();
	if (v->ifindex && v->generation == cfg->generation &&
	    !pw_ct_expired(&k, v, now)) {
		__u32 target = v->ifindex;

		if (pw_ct_touch(v, p, reply, now)) /* a RST: to_pod would end it */
			pw_ct_delete(&k);
		pw_count(skb, PW_DIR_INGRESS, PW_VERDICT_ALLOW,
			 reply ? PW_REASON_CT_REPLY : PW_REASON_CT_ESTABLISHED);
		pw_count_idx(skb, PW_COUNTER_REDIRECTED);
		return bpf_redirect_peer(target, 0);
	}
	/* to_pod must judge it in full, and the node's conntrack would not know it */
	__builtin_memcpy(dst.a, p->daddr, 16);
	dev = bpf_map_lookup_elem(&local_ips, &dst);
	if (!dev)
		return TC_ACT_OK;
	pw_count_idx(skb, PW_COUNTER_REDIRECTED_VETH);
	return bpf_redirect_neigh(*dev, NULL, 0, 0);
}

#endif
