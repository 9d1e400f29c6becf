/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The verdict of one packet in one direction for one endpoint:
 * fragments, then conntrack (established, reply, related, with the
 * re-check of a changed policy generation), then the policy of a new flow,
 * then audit mode. Shared by from_pod, to_pod and the post-NAT hooks.
 */
#ifndef PW_BPF_JUDGE_H
#define PW_BPF_JUDGE_H

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/policy.h"
#include "lib/conntrack.h"

struct pw_res {
	__u32 rule_id;
	__u32 peer_id;   /* identity of the remote side (0 if not looked up) */
	__u8  verdict;   /* enum pw_verdict */
	__u8  reason;    /* enum pw_reason */
	__u8  new_flow;  /* the verdict came from policy just now */
	__u8  defer;     /* set PW_MARK_DEFER: verdict taken past NAT */
	__u8  dir;       /* in: enum pw_dir the verdict is for */
	__u8  est_miss;  /* in: pw_judge_fast found no entry in this direction */
	__u8  reply_miss; /* in: nor one in the reply direction */
	__u8  names;     /* out: a new egress flow of a pod that learns names, its
			  * address's verdict in verdict, reason and rule_id: the
			  * caller joins the names (fqdn.h pw_judge_names), then
			  * opens it (pw_judge_finish) */
	__u32 ifindex;   /* in: the device of the endpoint judged (its endpoints key) */
	__u32 name_id;   /* names: the name the flow's conntrack entry remembers */
	__u32 isn;       /* out, pw_judge_fast: the TCP ISN its entry carries (abi.h) */
};

/* The remote address of a packet in a direction. */
static __always_inline const __u8 *pw_remote(const struct pw_pkt *p, __u8 dir)
{
	return dir == PW_DIR_EGRESS ? p->daddr : p->saddr;
}

/* addr (of family 4 or 6) is the endpoint's own address under the slot. */
static __always_inline int pw_ep_owns(const struct pw_endpoint *ep, __u32 slot, __u8 family,
				      const __u8 *addr)
{
	__u32 f = ep->flags[slot & 1];

	if (family == 4)
		return (f & PW_EP_HAS_V4) && pw_addr_eq(addr, ep->ip4);
	return (f & PW_EP_HAS_V6) && pw_addr_eq(addr, ep->ip6);
}

/*
 * The device an entry made or kept by this check may name for the fast path
 * (conntrack.h): the endpoint's own, except for an ingress packet to an
 * address that is not the endpoint's. An egress entry's source is the
 * endpoint's (from_pod checked it; past NAT, local_ips found the sender by
 * it); an ingress entry's destination is then too, so that a reply taken on
 * the fast path in from_pod comes from the endpoint's own address, as the
 * source check would have made sure.
 */
static __always_inline __u32 pw_vouch_ifindex(const struct pw_pkt *p,
					      const struct pw_endpoint *ep, __u32 slot,
					      const struct pw_res *r)
{
	if (r->dir == PW_DIR_INGRESS && !pw_ep_owns(ep, slot, p->family, p->daddr))
		return 0;
	return r->ifindex;
}

/* A denial: audit mode passes it (and says so), else it drops. */
static __always_inline int pw_deny(const struct pw_config *cfg, const struct pw_endpoint *ep,
				   __u32 slot, struct pw_res *r, __u8 reason)
{
	r->reason = reason;
	if (pw_audit(cfg, ep, slot)) {
		r->verdict = PW_VERDICT_AUDIT;
		return 1;
	}
	r->verdict = PW_VERDICT_DROP;
	return 0;
}

/*
 * An entry made under another policy generation: take its verdict again,
 * for the direction and peer that made it (edir, remote, the original
 * destination port). Returns 1 to keep the entry, 0 to delete it (dropped
 * as revoked).
 */
static __always_inline int pw_ct_recheck(struct pw_ct_val *v, const struct pw_endpoint *ep,
					 const struct pw_config *cfg, __u32 slot, __u8 edir,
					 const __u8 *remote, __u8 proto, __be16 dport,
					 struct pw_res *r)
{
	struct pw_ipcache_val peer;
	struct pw_decision d;
	int ok;

	if (v->generation == cfg->generation)
		return 1;
	pw_ipcache_get(slot, remote, &peer);
	r->peer_id = peer.identity;
	/* a flow a learned name opened: that name joins, TTL or not (abi.h PW_CT_NAME) */
	ok = pw_decide(ep, slot, edir, &peer, proto, dport, 0,
		       (v->flags & PW_CT_NAME) ? v->name_id : 0, &d);
	if (v->name_id != d.name_id) {
		v->name_id = d.name_id;   /* its rules are gone */
		v->flags &= ~PW_CT_NAME;
	}
	if (ok) {
		v->generation = cfg->generation;
		v->peer_id = peer.identity;
		v->rule_id = d.rule_id;
		v->flags &= ~PW_CT_AUDIT;
		r->rule_id = d.rule_id;
		return 1;
	}
	r->rule_id = d.rule_id;   /* the rule that revokes it (a CNP Deny), if any */
	if (pw_deny(cfg, ep, slot, r, PW_REASON_REVOKED)) {
		v->generation = cfg->generation;
		v->flags |= PW_CT_AUDIT;
		return 1;
	}
	return 0;
}

/*
 * What an entry found in its own direction says (before any re-check): the
 * flow is established, or, made before NAT to a Service, deferred.
 */
static __always_inline void pw_res_established(struct pw_res *r, const struct pw_ct_val *v)
{
	r->peer_id = v->peer_id;
	r->rule_id = v->rule_id;
	if (v->flags & PW_CT_DEFERRED) {
		r->reason = PW_REASON_DEFERRED;
		r->defer = 1;
	} else {
		r->reason = PW_REASON_CT_ESTABLISHED;
	}
}

/* What an entry found in the reply direction says (before any re-check). */
static __always_inline void pw_res_reply(struct pw_res *r, const struct pw_ct_val *v)
{
	r->peer_id = v->peer_id;
	r->rule_id = v->rule_id;
	r->reason = PW_REASON_CT_REPLY;
}

/*
 * Conntrack: returns 1 if the packet belongs to a tracked flow (r filled),
 * 0 if it is a new flow.
 */
static __always_inline int pw_judge_ct(const struct pw_pkt *p, const struct pw_endpoint *ep,
				       const struct pw_config *cfg, __u32 slot, __u8 dir,
				       int pre_nat, __u64 now, struct pw_res *r)
{
	struct pw_ct_key k;
	struct pw_ct_val *v;
	__u32 vouch;

	/* established: (s->d, dir), unless the fast path just found none */
	v = NULL;
	if (!r->est_miss) {
		pw_ct_key_of(&k, p, dir, 0);
		v = pw_ct_get(&k, ep->ep_id, now);
	}
	/* a deferred entry past NAT is no verdict: judge the translated flow */
	if (v && (!(v->flags & PW_CT_DEFERRED) || pre_nat)) {
		/* a NATed flow has this tuple too: no telling it from the direct one */
		if (!pre_nat && (v->flags & PW_CT_DIRECT))
			v->flags &= ~PW_CT_DIRECT;
		pw_res_established(r, v);
		if (!(v->flags & PW_CT_DEFERRED) &&
		    !pw_ct_recheck(v, ep, cfg, slot, dir, pw_remote(p, dir), p->proto, p->dport,
				   r)) {
			pw_ct_delete(&k);
			return 1;
		}
		/* this device's endpoint owns it: the fast path may */
		vouch = pw_vouch_ifindex(p, ep, slot, r);
		if (v->ifindex != vouch)
			v->ifindex = vouch;
		if (pw_ct_touch(v, p, 0, now))
			pw_ct_delete(&k);
		return 1;
	}

	/* reply: (d->s, !dir); the entry's own destination port is our sport */
	pw_ct_key_of(&k, p, dir, 1);
	v = r->reply_miss ? NULL : pw_ct_get(&k, ep->ep_id, now);
	if (v) {
		__u32 gen = v->generation;

		pw_res_reply(r, v);
		/* Deferred entries (to a Service VIP) are judged past NAT. */
		if (v->flags & PW_CT_DEFERRED) {
			v->generation = cfg->generation;
		} else if (!pw_ct_recheck(v, ep, cfg, slot, !dir, pw_remote(p, dir), p->proto,
					  p->sport, r)) {
			pw_ct_delete(&k);
			return 1;
		}
		/* a new generation not vouched for from the entry's own direction */
		if (v->generation != gen && v->ifindex)
			v->ifindex = 0;
		if (pw_ct_touch(v, p, 1, now))
			pw_ct_delete(&k);
		return 1;
	}

	if (p->icmp_err && pw_ct_related(p, dir, ep->ep_id, now)) {
		r->reason = PW_REASON_CT_RELATED;
		return 1;
	}
	return 0;
}

/* What pw_judge_fast returns: 0, the path was not fast, or these bits. */
#define PW_FAST_VERDICT 1 /* r is the verdict */
#define PW_FAST_REPLY   2 /* of a reply */
#define PW_FAST_DIRECT  4 /* its entry may take the flow straight to its peer (direct.h) */

/*
 * An entry that may carry a same-node flow straight into the other pod
 * (direct.h): made before any NAT and never met past it (PW_CT_DIRECT), not
 * by an audit pass (to_pod reports it).
 */
static __always_inline int pw_ct_direct(const struct pw_ct_val *v)
{
	return (v->flags & (PW_CT_DIRECT | PW_CT_AUDIT | PW_CT_DEFERRED)) == PW_CT_DIRECT;
}

/*
 * The fast path (conntrack.h says why it may skip the endpoint): a packet of
 * a tracked flow, in the direction that made the entry or its reply, whose
 * entry this device vouched for under the live generation, gets the verdict
 * pw_judge would give it (established, or deferred in from_pod; a reply)
 * without the endpoint lookup. Not for fragments (pw_judge follows first
 * fragments) nor neighbour discovery; a reply of a deferred entry (made
 * before NAT, re-stamped by pw_judge_ct) takes the full path. Returns
 * PW_FAST_* bits if r is the verdict, else 0, with r->est_miss and
 * r->reply_miss set for the lookups that found nothing, so that pw_judge
 * does not look again. A global function: verified once per program, and
 * its key and spills are not in the frames of from_pod and to_pod, which
 * are part of pw_judge's call chain (its stack budget: pw_judge).
 */
__noinline int pw_judge_fast(const struct pw_pkt *p, const struct pw_config *cfg, int pre_nat,
			     struct pw_res *r)
{
	struct pw_ct_key k;
	struct pw_ct_val *v;
	int reply = 0, fast;
	__u64 now;

	if (!p || !cfg || !r || p->frag != PW_FRAG_NONE || p->nd)
		return 0;
	pw_ct_key_of(&k, p, r->dir, 0);
	v = pw_ct_lookup(&k);
	if (!v) {
		r->est_miss = 1;
		/* reply: (d->s, !dir), as pw_judge_ct looks it up */
		pw_ct_key_of(&k, p, r->dir, 1);
		v = pw_ct_lookup(&k);
		if (!v) {
			r->reply_miss = 1;
			return 0;
		}
		reply = 1;
	}
	if (v->ifindex != r->ifindex || v->generation != cfg->generation ||
	    ((v->flags & PW_CT_DEFERRED) && (reply || !pre_nat)))
		return 0;
	now = pw_now();
	if (pw_ct_expired(&k, v, now))
		return 0; /* expired: pw_judge deletes it */
	r->verdict = PW_VERDICT_ALLOW;
	if (reply)
		pw_res_reply(r, v);
	else
		pw_res_established(r, v);
	fast = PW_FAST_VERDICT | (reply ? PW_FAST_REPLY : 0) |
	       (pw_ct_direct(v) ? PW_FAST_DIRECT : 0);
	r->isn = v->isn;   /* (a SYN's own is not needed: it never goes direct) */
	if (pw_ct_touch(v, p, reply, now))
		pw_ct_delete(&k);
	return fast;
}

/*
 * The end of a new flow's verdict (ok: allowed; r->reason and r->rule_id
 * set): a denial, or an audit pass; the conntrack entry (ct_flags, and the
 * name that opened it: PW_CT_NAME); the record of a first fragment.
 */
static __always_inline void pw_judge_open(const struct pw_pkt *p, const struct pw_endpoint *ep,
					  const struct pw_config *cfg, __u32 slot,
					  struct pw_res *r, int ok, __u32 ct_flags,
					  __u32 name_id, __u64 now)
{
	if (!ok) {
		if (!pw_deny(cfg, ep, slot, r, r->reason))
			return;
		ct_flags |= PW_CT_AUDIT;
	}
	/* ICMP errors and RSTs open nothing */
	if (!p->icmp_err && !(p->proto == PW_IPPROTO_TCP && (p->tcp_flags & PW_TCP_RST)))
		pw_ct_create(p, r->dir, cfg->generation, ep->ep_id, pw_vouch_ifindex(p, ep, slot, r),
			     r->peer_id, r->rule_id, name_id, ct_flags, now);
	if (r->verdict != PW_VERDICT_DROP && p->frag == PW_FRAG_FIRST)
		pw_frag_record(p, r->dir, r->defer ? PW_CT_DEFERRED : 0);
}

/*
 * The flags of a new flow's entry (not a Service's: those are deferred):
 * one made before NAT (pre_nat) has the tuple as its sender sent it (abi.h
 * PW_CT_DIRECT).
 */
static __always_inline __u32 pw_ct_new_flags(int pre_nat)
{
	return pre_nat ? PW_CT_DIRECT : 0;
}

/*
 * The verdict of packet p for endpoint ep in direction r->dir. pre_nat: p's
 * tuple is as its sender sent it, before any NAT (from_pod; to_pod for a
 * packet no from_pod deferred): an egress flow to a Service address then
 * gets PW_MARK_DEFER instead of a verdict, and a new flow's entry may go
 * direct (pw_ct_new_flags). A new egress flow of an endpoint that learns
 * names, judged in from_pod, returns with r->names set and no verdict yet:
 * the caller joins the names (fqdn.h pw_judge_names), then opens the flow
 * (pw_judge_finish), each a frame of its own under the program's, where
 * there is room. Past NAT (pre_nat 0) names are not joined: a pod learned
 * the address it connects to, not a Service's backend.
 *
 * A global function: the verifier checks it once, not once per caller.
 * Its stack budget: the verifier bounds every call chain's frames, each
 * rounded up to 16 bytes, to 512 bytes, and the longest is to_pod's (224
 * bytes with clang 14) + pw_judge's (248: 256) + pw_ct_delete's (8: 16) =
 * 496; from_pod's 208 + 256 + 16 = 480. pw_judge's callees are the
 * conntrack table's leaves with no frame to speak of (pw_ct_way_of,
 * pw_ct_delete); anything bigger stays inline. The load prints the frames
 * (log_level 4: "stack depth", in call order).
 */
__noinline int pw_judge(const struct pw_pkt *p, const struct pw_endpoint *ep,
			const struct pw_config *cfg, int pre_nat, struct pw_res *r)
{
	__u8 dir;
	__u32 slot;
	__u64 now = pw_now();
	struct pw_ipcache_val peer;
	struct pw_decision d;
	__u32 *fv;
	int ok;

	if (!p || !ep || !cfg || !r)
		return 0;
	dir = r->dir;
	slot = cfg->active_slot & 1;
	r->verdict = PW_VERDICT_ALLOW;

	if (p->frag == PW_FRAG_LATER) {
		/* no ports: follow the first fragment, never a guess */
		pw_ipcache_get(slot, pw_remote(p, dir), &peer);
		r->peer_id = peer.identity;
		fv = pw_frag_find(p, dir);
		if (fv) {
			r->reason = PW_REASON_FRAGMENT;
			if ((*fv & PW_CT_DEFERRED) && pre_nat)
				r->defer = 1;
		} else if (!pw_isolated(ep, slot, dir) && !pw_tiered(ep, slot, dir)) {
			/* (an endpoint under ClusterNetworkPolicy rules may have
			 * denied the first fragment: never a guess) */
			r->reason = PW_REASON_NOT_ISOLATED;
		} else {
			pw_deny(cfg, ep, slot, r, PW_REASON_FRAG_UNKNOWN);
		}
		return 0;
	}

	if (!pw_judge_ct(p, ep, cfg, slot, dir, pre_nat, now, r)) {
		/* a new flow */
		pw_ipcache_get(slot, pw_remote(p, dir), &peer);
		r->peer_id = peer.identity;
		if (dir == PW_DIR_EGRESS && pre_nat && (peer.flags & PW_IPC_SERVICE)) {
			r->reason = PW_REASON_DEFERRED;
			r->defer = 1;
			pw_judge_open(p, ep, cfg, slot, r, 1, PW_CT_DEFERRED, 0, now);
			return 0;
		}
		r->new_flow = 1;
		ok = pw_decide(ep, slot, dir, &peer, p->proto, p->dport, 1, 0, &d);
		/* a drop names its rule too: a ClusterNetworkPolicy Deny */
		r->rule_id = d.rule_id;
		r->reason = d.reason;
		if (dir == PW_DIR_EGRESS && pre_nat && (ep->flags[slot] & PW_EP_LEARN_NAMES) &&
		    d.reason != PW_REASON_DNS_ALLOWED && d.reason != PW_REASON_DNS_DENIED) {
			r->names = 1;
			r->verdict = ok ? PW_VERDICT_ALLOW : PW_VERDICT_DROP;
			return 0;
		}
		pw_judge_open(p, ep, cfg, slot, r, ok, pw_ct_new_flags(pre_nat), 0, now);
		return 0;
	}

	if (r->verdict != PW_VERDICT_DROP && p->frag == PW_FRAG_FIRST)
		pw_frag_record(p, dir, r->defer ? PW_CT_DEFERRED : 0);
	return 0;
}

/*
 * A new flow pw_judge left with r->names, after pw_judge_names: its
 * verdict taken (r->verdict, reason, rule_id, name_id), open it as
 * pw_judge would have. A global function: see pw_judge.
 */
__noinline int pw_judge_finish(const struct pw_pkt *p, const struct pw_endpoint *ep,
			       const struct pw_config *cfg, struct pw_res *r)
{
	__u32 slot;
	int ok;

	if (!p || !ep || !cfg || !r || !r->names)
		return 0;
	r->names = 0;
	slot = cfg->active_slot & 1;
	ok = r->verdict != PW_VERDICT_DROP;
	r->verdict = PW_VERDICT_ALLOW;
	pw_judge_open(p, ep, cfg, slot, r, ok,
		      pw_ct_new_flags(1) | (r->name_id ? PW_CT_NAME : 0), r->name_id,
		      pw_now());
	return 0;
}

#endif
