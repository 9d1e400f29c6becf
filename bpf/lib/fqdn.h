/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Domain names learned from each pod's own DNS answers (abi.h, "domain
 * names"): from_pod remembers the queries a PW_EP_LEARN_NAMES pod sends to
 * a cluster DNS server; to_pod, before the answer reaches the pod, checks
 * that it answers one of them (same pod, port, transaction id, question,
 * from the server asked, which is a DNS server now), matches the question
 * against the name set, and writes the addresses of the answer (following
 * its CNAME chain) for that pod into fqdn_learned. Anything else teaches
 * nothing and is counted in fqdn_stats: an answer nobody asked for, one
 * from elsewhere, a malformed one.
 *
 * Where to_pod sees an answer from: the DNS pod's own address when the pod
 * asked it directly; the DNS Service's ClusterIP when it asked that,
 * because kube-proxy's reverse NAT runs in the node's netfilter before the
 * answer is routed to the pod's veth. Either way the answer's source is
 * the query's destination, which from_pod saw before DNAT.
 *
 * The parse runs only for a UDP or TCP packet from port 53 to a pod that
 * learns names (one flag test on every other packet), and for TCP only
 * when the segment holds a whole message. Learning never changes the
 * verdict of the DNS packet itself.
 *
 * pw_fqdn_names() is the lookup for the egress verdict: the names this
 * pod has resolved to an address, still within their TTL. pw_judge_names()
 * joins their policy entries with the address's verdict in tier order
 * (abi.h, "policy") for a new egress flow that pw_judge left to it.
 *
 * Every address learned is reported to the events ring (abi.h
 * PW_EVENT_NAME_LEARNED: pod, question, address, TTL, name id), under the
 * verdict events' rate limit (evring.h).
 */
#ifndef PW_BPF_FQDN_H
#define PW_BPF_FQDN_H

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/policy.h"
#include "lib/judge.h"
#include "lib/dnsparse.h"
#include "lib/dns.h"
#include "lib/evring.h"

static __always_inline void pw_fqdn_stat(__u32 idx, __u64 n)
{
	__u64 *c;

	if (idx >= PW_FQDN_STAT_MAX)
		return;
	c = bpf_map_lookup_elem(&fqdn_stats, &idx);
	if (c)
		*c += n;
}

static __always_inline __u32 pw_now_s(void)
{
	return pw_now() / PW_NSEC_PER_SEC;
}

/*
 * A packet to port 53 (from_pod) or from it (to_pod): a query or answer
 * that may teach names. It takes the endpoint's path, never the
 * established fast path (judge.h), which knows no endpoint and so cannot
 * tell whether the pod learns: a resolver that keeps its source port, or
 * one TCP connection, sends every query of a flow after the first there.
 */
static __always_inline int pw_fqdn_dns_port(const struct pw_pkt *p, __u8 dir)
{
	return (dir == PW_DIR_EGRESS ? p->dport : p->sport) == bpf_htons(53);
}

/* The address a pod's learned sets carry as their owner (abi.h fqdn_learned). */
static __always_inline const __u8 *pw_fqdn_owner(const struct pw_endpoint *ep, __u32 slot)
{
	return (ep->flags[slot & 1] & PW_EP_HAS_V4) ? ep->ip4 : ep->ip6;
}

static __always_inline int pw_fqdn_learns(const struct pw_endpoint *ep, const struct pw_config *cfg)
{
	return !!(ep->flags[cfg->active_slot & 1] & PW_EP_LEARN_NAMES);
}

/* A DNS message of p (UDP or TCP, port 53 on side 'port'): where it starts, how long. */
static __always_inline int pw_dns_msg_at(struct __sk_buff *skb, const struct pw_pkt *p,
					 __u32 *off, __u32 *len)
{
	__u32 o = p->payload_off;
	__be16 tcp_len;

	if (!o || p->frag == PW_FRAG_LATER || o >= skb->len)
		return -1;
	if (p->proto == PW_IPPROTO_UDP) {
		*off = o;
		*len = skb->len - o;
		return 0;
	}
	if (p->proto != PW_IPPROTO_TCP)
		return -1;
	/* TCP: a length, then the message; learn only from one that is whole here */
	if (bpf_skb_load_bytes(skb, o, &tcp_len, 2))
		return -1;
	*off = o + 2;
	*len = bpf_ntohs(tcp_len);
	if (*len > skb->len - *off)
		return 1;
	return 0;
}

/* Copy and read the header and question into s->rd. 0, 1 (not for us), or PW_DNS_MALFORMED. */
static __always_inline int pw_dns_read_question(struct __sk_buff *skb, struct pw_dns_scratch *s,
						__u32 off, __u32 len)
{
	struct pw_dns_read *r = &s->rd;
	int end;

	if (pw_dns_copy(skb, s, off, len))
		return PW_DNS_MALFORMED;
	__builtin_memcpy(&r->id, s->msg, 2);
	r->flags = pw_dns_u16(s, 2);
	r->ancount = pw_dns_u16(s, 6);
	if (PW_DNS_OPCODE(r->flags) != 0)
		return 1;
	if (pw_dns_u16(s, 4) != 1) /* QDCOUNT: one question, as every resolver sends */
		return PW_DNS_MALFORMED;
	end = pw_dns_name(s, 12, PW_NAME_QUESTION, &r->q);
	if (end < 0)
		return PW_DNS_MALFORMED;
	r->qend = end;
	if (r->qend + 4 > s->len)
		return PW_DNS_MALFORMED;
	return 0;
}

/*
 * from_pod: remember a query of ep's to a cluster DNS server. A global
 * function: the parser is verified once, outside the hot path.
 */
__noinline int pw_fqdn_query(struct __sk_buff *skb, const struct pw_pkt *p,
			     const struct pw_endpoint *ep, const struct pw_config *cfg)
{
	struct pw_dns_query_key k = {};
	struct pw_dns_query_val v = {};
	struct pw_ipcache_val server;
	struct pw_dns_scratch *s;
	__u32 zero = 0, off, len;

	if (!skb || !p || !ep || !cfg)
		return 0;
	pw_ipcache_get(cfg->active_slot & 1, p->daddr, &server);
	if (!(server.flags & (PW_IPC_DNS | PW_IPC_DNS_SERVICE)))
		return 0;
	if (pw_dns_msg_at(skb, p, &off, &len))
		return 0;
	s = bpf_map_lookup_elem(&dns_scratch, &zero);
	if (!s)
		return 0;
	if (pw_dns_read_question(skb, s, off, len) || (s->rd.flags & PW_DNS_FLAG_QR))
		return 0;
	k.ep_id = ep->ep_id;
	k.sport = p->sport;
	k.id = s->rd.id;
	k.qhash = s->rd.q.hash;
	__builtin_memcpy(v.server, p->daddr, 16);
	v.sent_ns = pw_now();
	if (!bpf_map_update_elem(&dns_queries, &k, &v, BPF_ANY))
		pw_fqdn_stat(PW_FQDN_QUERIES, 1);
	return 0;
}

/*
 * Was this answer asked for by ep, from this server? Consumes the query:
 * a second answer to it (a forger racing the server) finds nothing.
 */
static __always_inline int pw_fqdn_asked(const struct pw_pkt *p, const struct pw_endpoint *ep,
					 const struct pw_config *cfg, const struct pw_dns_read *r)
{
	struct pw_dns_query_key k = {};
	struct pw_dns_query_val *v;
	struct pw_ipcache_val server;
	int ok;

	k.ep_id = ep->ep_id;
	k.sport = p->dport;
	k.id = r->id;
	k.qhash = r->q.hash;
	v = bpf_map_lookup_elem(&dns_queries, &k);
	if (!v || !pw_addr_eq(v->server, p->saddr))
		return 0;
	ok = !pw_older(pw_now(), v->sent_ns, PW_DNS_QUERY_TIMEOUT * PW_NSEC_PER_SEC);
	bpf_map_delete_elem(&dns_queries, &k);
	if (!ok)
		return 0;
	pw_ipcache_get(cfg->active_slot & 1, p->saddr, &server);
	return !!(server.flags & (PW_IPC_DNS | PW_IPC_DNS_SERVICE));
}

/* The name-set patterns the question (read into s) matches: up to PW_FQDN_NAMES ids. */
struct pw_name_match {
	struct pw_dns_scratch *s;
	__u32 slot;
	__u32 nlabels;
	__u32 qend;
	__u32 n;
};

static long pw_name_match_step(__u64 i, void *ctx)
{
	struct pw_name_match *x = ctx;
	struct pw_dns_scratch *s = x->s;
	struct pw_name_key k = { .slot = x->slot };
	struct pw_name_val *v;
	__u32 j = i, off;

	if (!s || j >= x->nlabels || x->n >= PW_FQDN_NAMES)
		return 1;
	/* the whole name matches exact patterns; its proper suffixes, wildcards */
	k.kind = j == 0 ? PW_NAME_EXACT : PW_NAME_WILDCARD;
	k.hash = s->suffix_hash[j & (PW_DNS_LABELS_MAX - 1)];
	v = bpf_map_lookup_elem(&name_set, &k);
	if (!v)
		return 0;
	off = s->label_off[j & (PW_DNS_LABELS_MAX - 1)];
	if (off >= x->qend || !pw_dns_name_is(s, off, x->qend - off, v))
		return 0;
	s->name_ids[x->n & (PW_FQDN_NAMES - 1)] = v->name_id;
	x->n++;
	return 0;
}

/*
 * How much a way or a name slot would like to be taken, for the live
 * time left of what it holds: the same address or name first (a refresh),
 * then a free or expired one, then the one whose time ends first.
 */
#define PW_FQDN_SAME 0xffffffffu
#define PW_FQDN_FREE 0xfffffffeu

static __always_inline __u32 pw_fqdn_score(__u32 expires_s, __u32 now_s)
{
	__s32 left = (__s32)(expires_s - now_s);

	return left <= 0 ? PW_FQDN_FREE : 0x7fffffffu - (__u32)left;
}

static __always_inline __u64 pw_ld64(const __u8 *p)
{
	__u64 v;

	__builtin_memcpy(&v, p, 8);
	return v;
}

/* The names a way still holds, live or expired (a free way holds none). */
static __always_inline __u32 pw_fqdn_held(const struct pw_fqdn_way *way)
{
	__u32 n = 0;

	for (int k = 0; k < PW_FQDN_NAMES; k++)
		n += !!way->names[k].name_id;
	return n;
}

/*
 * Put address a of s->addrs -> s->name_ids[0, n) (each until expires) into
 * a pod's set: into the address's own way, else a free or expired one,
 * else the one whose names end first (evicted: the pod is at its cap in
 * this set). Each name likewise into the way's name slots.
 */
__noinline int pw_fqdn_put(struct pw_fqdn_set *set, struct pw_dns_scratch *s, __u32 a,
			   __u32 n, __u32 expires)
{
	__u32 now_s = pw_now_s(), best = 0, best_score = 0, w;
	struct pw_fqdn_way *way;
	__u64 a0, a1;

	if (!set || !s)
		return 0;
	a0 = pw_ld64(s->addrs[a & (PW_DNS_RR_MAX - 1)].addr);
	a1 = pw_ld64(s->addrs[a & (PW_DNS_RR_MAX - 1)].addr + 8);
	for (w = 0; w < PW_FQDN_WAYS; w++) {
		struct pw_fqdn_way *c = &set->ways[w];
		__u32 score = PW_FQDN_FREE;

		if (pw_ld64(c->addr) == a0 && pw_ld64(c->addr + 8) == a1) {
			best = w;
			best_score = PW_FQDN_SAME;
			break;
		}
		for (int k = 0; k < PW_FQDN_NAMES; k++) {
			__u32 sc;

			if (!c->names[k].name_id)
				continue;
			sc = pw_fqdn_score(c->names[k].expires_s, now_s);
			if (sc < score)
				score = sc; /* the way lives as long as its longest name */
		}
		if (score > best_score) {
			best_score = score;
			best = w;
		}
	}
	way = &set->ways[pw_opaque(s, best) & (PW_FQDN_WAYS - 1)];
	if (best_score != PW_FQDN_SAME) {
		if (best_score != PW_FQDN_FREE)
			pw_fqdn_stat(PW_FQDN_EVICTED, 1);
		else
			pw_fqdn_stat(PW_FQDN_EXPIRED, pw_fqdn_held(way));
		__builtin_memset(way, 0, sizeof(*way));
		__builtin_memcpy(way->addr, &a0, 8);
		__builtin_memcpy(way->addr + 8, &a1, 8);
	}

	for (__u32 i = 0; i < PW_FQDN_NAMES; i++) {
		struct pw_fqdn_name *nm;
		__u32 id, slot = 0, slot_score = 0;

		if (i >= n)
			break;
		id = s->name_ids[i & (PW_FQDN_NAMES - 1)];
		for (__u32 k = 0; k < PW_FQDN_NAMES; k++) {
			__u32 sc;

			nm = &way->names[k];
			sc = nm->name_id == id ? PW_FQDN_SAME :
			     !nm->name_id ? PW_FQDN_FREE : pw_fqdn_score(nm->expires_s, now_s);
			if (sc > slot_score) {
				slot_score = sc;
				slot = k;
			}
		}
		nm = &way->names[pw_opaque(s, slot) & (PW_FQDN_NAMES - 1)];
		if (slot_score == PW_FQDN_SAME) {
			if ((__s32)(expires - nm->expires_s) > 0)
				nm->expires_s = expires; /* a refresh never shortens */
			continue;
		}
		if (slot_score != PW_FQDN_FREE)
			pw_fqdn_stat(PW_FQDN_EVICTED, 1);
		else if (nm->name_id)
			pw_fqdn_stat(PW_FQDN_EXPIRED, 1);
		nm->name_id = id;
		nm->expires_s = expires;
	}
	return 0;
}

/*
 * Report address a of the scratch's answer, learned for ttl seconds; the
 * rest of the event is in s->ev. A global function of scalars: the ring
 * buffer's code is verified once, and the learning loop's stack (deep
 * already: program, answer, loop step) grows by this frame alone.
 */
__noinline int pw_fqdn_emit_learned(__u32 a, __u32 ttl)
{
	struct pw_dns_scratch *s;
	struct pw_dns_event *e;
	struct pw_event *ev;
	__u32 zero = 0;

	s = bpf_map_lookup_elem(&dns_scratch, &zero);
	if (!s)
		return 0;
	e = &s->ev;
	ev = pw_event_reserve(e->limit);
	if (!ev)
		return 0;
	__builtin_memcpy(ev->saddr, e->server, 16);
	__builtin_memcpy(ev->daddr, s->addrs[a & (PW_DNS_RR_MAX - 1)].addr, 16);
	ev->sport = e->sport;
	ev->dport = e->dport;
	ev->proto = e->proto;
	ev->dir = PW_DIR_EGRESS;
	ev->verdict = PW_VERDICT_ALLOW;
	ev->reason = PW_REASON_NONE;
	ev->ifindex = e->ep_id;
	ev->ep_id = e->ep_id;
	ev->src_identity = e->identity;
	ev->dst_identity = s->name_ids[0];
	ev->rule_id = e->n_names;
	ev->ttl_s = ttl;
	ev->flags = PW_EVENT_NAME_LEARNED;
	/* the question (lower-cased by the parser, as matched): right after the header */
	__builtin_memcpy(ev->dns_name, s->msg + PW_DNS_HDR_LEN, PW_DNS_NAME_MAX);
	if (pw_dns_dotted(ev->dns_name, PW_DNS_NAME_MAX))
		ev->flags |= PW_EVENT_HAS_DNS;
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

/* Learning s->addrs[0, n) for one pod: one address per step. */
struct pw_fqdn_learning {
	struct pw_dns_scratch *s;
	__u8  owner[16];  /* the pod's address: sets of another pod are not ours */
	__u32 ep_id;
	__u32 n_addrs;
	__u32 n_names;
	__u32 now_s;
	__u32 learned;
	__u32 pad;
};

static long pw_fqdn_learn_step(__u64 i, void *ctx)
{
	struct pw_fqdn_learning *l = ctx;
	struct pw_dns_scratch *s = l->s;
	struct pw_fqdn_key k = { .ep_id = l->ep_id };
	struct pw_fqdn_set *set;
	__u32 a = i, ttl;

	if (!s || a >= l->n_addrs)
		return 1;
	ttl = s->addrs[a & (PW_DNS_RR_MAX - 1)].ttl;
	if (ttl < PW_FQDN_TTL_MIN)
		ttl = PW_FQDN_TTL_MIN;
	if (ttl > PW_FQDN_TTL_MAX)
		ttl = PW_FQDN_TTL_MAX;
	k.set = pw_fqdn_set_of(s->addrs[a & (PW_DNS_RR_MAX - 1)].addr);
	set = bpf_map_lookup_elem(&fqdn_learned, &k);
	if (!set || !pw_addr_eq(set->owner, l->owner)) {
		__builtin_memcpy(s->fresh.owner, l->owner, 16);
		if (bpf_map_update_elem(&fqdn_learned, &k, &s->fresh, BPF_ANY))
			return 0;
		set = bpf_map_lookup_elem(&fqdn_learned, &k);
		if (!set)
			return 0;
	}
	pw_fqdn_put(set, s, a, l->n_names, l->now_s + ttl);
	pw_fqdn_emit_learned(a, ttl);
	l->learned++;
	return 0;
}

/* Learn s->addrs[0, n_addrs) for ep under the matched names. Returns how many were written. */
static __always_inline __u32 pw_fqdn_learn(struct pw_dns_scratch *s, const struct pw_endpoint *ep,
					   const struct pw_config *cfg, __u32 n_addrs, __u32 n_names)
{
	struct pw_fqdn_learning l = {
		.s = s,
		.ep_id = ep->ep_id,
		.n_addrs = n_addrs,
		.n_names = n_names,
		.now_s = pw_now_s(),
	};

	__builtin_memcpy(l.owner, pw_fqdn_owner(ep, cfg->active_slot), 16);
	bpf_loop(PW_DNS_RR_MAX, pw_fqdn_learn_step, &l, 0);
	return l.learned;
}

/*
 * to_pod, first half: is this an answer ep asked for, from the server it
 * asked, to a question the name set matches? Returns how many patterns it
 * matched (their ids in s->name_ids), 0 for nothing to learn. A global
 * function, like the second half: each is verified once, and neither
 * stacks its frame on the other's.
 */
__noinline int pw_fqdn_answer_check(struct __sk_buff *skb, const struct pw_pkt *p,
				    const struct pw_endpoint *ep, const struct pw_config *cfg)
{
	struct pw_name_match x = {};
	struct pw_dns_scratch *s;
	struct pw_dns_read *r;
	__u32 zero = 0, off, len;
	int err;

	if (!skb || !p || !ep || !cfg)
		return 0;
	err = pw_dns_msg_at(skb, p, &off, &len);
	if (err) {
		if (err > 0)
			pw_fqdn_stat(PW_FQDN_ANSWERS_SKIPPED, 1);
		return 0;
	}
	s = bpf_map_lookup_elem(&dns_scratch, &zero);
	if (!s)
		return 0;
	err = pw_dns_read_question(skb, s, off, len);
	r = &s->rd;
	if (err == 1 || (!err && !(r->flags & PW_DNS_FLAG_QR)))
		return 0; /* not an answer */
	if (err) {
		pw_fqdn_stat(PW_FQDN_ANSWERS_MALFORMED, 1);
		return 0;
	}
	if (!pw_fqdn_asked(p, ep, cfg, r)) {
		pw_fqdn_stat(PW_FQDN_ANSWERS_FORGED, 1);
		return 0;
	}
	if (PW_DNS_RCODE(r->flags) != 0 || (r->flags & PW_DNS_FLAG_TC)) {
		pw_fqdn_stat(PW_FQDN_ANSWERS_SKIPPED, 1);
		return 0;
	}

	x.s = s;
	x.slot = cfg->active_slot & 1;
	x.nlabels = r->q.nlabels;
	x.qend = r->qend;
	bpf_loop(PW_DNS_LABELS_MAX, pw_name_match_step, &x, 0);
	if (!x.n) {
		pw_fqdn_stat(PW_FQDN_ANSWERS_NO_NAME, 1);
		return 0;
	}
	/* whose answer it is, for the events of the addresses it teaches */
	__builtin_memcpy(s->ev.server, p->saddr, 16);
	s->ev.ep_id = ep->ep_id;
	s->ev.identity = ep->identity;
	s->ev.limit = cfg->events_per_sec;
	s->ev.n_names = x.n;
	s->ev.sport = p->sport;
	s->ev.dport = p->dport;
	s->ev.proto = p->proto;
	return x.n;
}

/* to_pod, second half: read the records of the answer checked, learn their addresses. */
__noinline int pw_fqdn_answer_learn(const struct pw_endpoint *ep, const struct pw_config *cfg,
				    __u32 n_names)
{
	struct pw_dns_scratch *s;
	__u32 zero = 0, n_addrs = 0, learned, ancount;
	int err;

	if (!ep || !cfg)
		return 0;
	s = bpf_map_lookup_elem(&dns_scratch, &zero);
	if (!s)
		return 0;
	ancount = s->rd.ancount;
	err = pw_dns_answers(s, s->rd.qend + 4, ancount, s->rd.q.hash, &n_addrs);
	if (err == PW_DNS_MALFORMED) {
		pw_fqdn_stat(PW_FQDN_ANSWERS_MALFORMED, 1);
		return 0;
	}
	if (err == PW_DNS_PAST_BUF || ancount > PW_DNS_RR_MAX)
		pw_fqdn_stat(PW_FQDN_RECORDS_OVER,
			     ancount > PW_DNS_RR_MAX ? ancount - PW_DNS_RR_MAX : 1);
	learned = pw_fqdn_learn(s, ep, cfg, n_addrs, n_names);
	if (learned) {
		pw_fqdn_stat(PW_FQDN_ANSWERS_LEARNED, 1);
		pw_fqdn_stat(PW_FQDN_ADDRS_LEARNED, learned);
	}
	return 0;
}

/* to_pod: learn from an answer to ep, if it is one ep asked for. */
static __always_inline void pw_fqdn_answer(struct __sk_buff *skb, const struct pw_pkt *p,
					   const struct pw_endpoint *ep, const struct pw_config *cfg)
{
	int n = pw_fqdn_answer_check(skb, p, ep, cfg);

	if (n > 0)
		pw_fqdn_answer_learn(ep, cfg, n);
}

/*
 * The egress lookup: the names ep resolved to addr and whose TTL has not
 * run out, into ids[PW_FQDN_NAMES] (unless NULL); returns how many. For the verdict of a
 * new flow: each id is a peer identity of domainNames rules.
 */
static __always_inline __u32 pw_fqdn_names(const struct pw_endpoint *ep, __u32 slot,
					   const __u8 *addr, __u32 *ids)
{
	const __u8 *owner = pw_fqdn_owner(ep, slot);
	struct pw_fqdn_key k = { .ep_id = ep->ep_id, .set = pw_fqdn_set_of(addr) };
	struct pw_fqdn_set *set;
	__u32 now_s, n = 0;
	__u64 a0, a1;

	set = bpf_map_lookup_elem(&fqdn_learned, &k);
	if (!set || !pw_addr_eq(set->owner, owner))
		return 0;
	now_s = pw_now_s();
	a0 = pw_ld64(addr);
	a1 = pw_ld64(addr + 8);
	/* a loop, not 8 unrolled copies: their registers spill past the
	 * stack pw_judge_names has (the verifier bounds a call chain's) */
#pragma clang loop unroll(disable)
	for (int i = 0; i < PW_FQDN_WAYS; i++) {
		struct pw_fqdn_way *w = &set->ways[i];

		if (pw_ld64(w->addr) != a0 || pw_ld64(w->addr + 8) != a1)
			continue;
		for (int k2 = 0; k2 < PW_FQDN_NAMES; k2++)
			if (w->names[k2].name_id && (__s32)(w->names[k2].expires_s - now_s) > 0) {
				if (ids) /* NULL: count them only */
					ids[n & (PW_FQDN_NAMES - 1)] = w->names[k2].name_id;
				n++;
			}
		break;
	}
	return n;
}

/*
 * The join of a new egress flow of a pod that learns names (pw_judge left
 * r->names set, with the address's verdict in r): the names ep resolved to
 * the destination whose TTL has not run out; if there are any, the
 * address's entry again for its rank and Admin Pass (pw_judge keeps them
 * nowhere: a field more in pw_res is stack the programs do not have), and
 * each name's entry for (proto, port); the one ranked first that decides
 * before the address's verdict (pw_name_beats, abi.h) allows the flow
 * under its rule. r->name_id is the name the flow's conntrack entry will
 * remember (PW_CT_NAME): the winner, else the first-ranked name allowed
 * for the flow, so that a re-check after a policy change joins it even
 * once its TTL ran out. The lookups past fqdn_learned's are for addresses
 * the pod learned names for only. The caller then opens the flow (judge.h
 * pw_judge_finish).
 *
 * A global function, called by the program itself rather than inside
 * pw_judge: the verifier bounds the stack of a whole call chain.
 */
__noinline int pw_judge_names(const struct pw_pkt *p, const struct pw_endpoint *ep,
			      const struct pw_config *cfg, struct pw_res *r)
{
	struct pw_policy_key k = {};
	struct pw_ipcache_val peer;
	struct pw_policy_val *v;
	__u32 ids[PW_FQDN_NAMES], n, slot, best = PW_RANK_NONE, first = PW_RANK_NONE;
	__u32 a_rank = PW_RANK_NONE, a_pass = PW_RANK_NONE;
	__be16 dport;

	if (!p || !ep || !cfg || !r || !r->names)
		return 0;
	r->name_id = 0;
	slot = cfg->active_slot & 1;
	dport = pw_is_icmp(p->proto) ? 0 : p->dport;
	n = pw_fqdn_names(ep, slot, p->daddr, ids);
	if (n) {
		pw_ipcache_get(slot, p->daddr, &peer);
		v = pw_policy_lookup(&k, ep, slot, PW_DIR_EGRESS, peer.identity, p->proto, dport);
		a_rank = v ? v->rank : pw_isolated(ep, slot, PW_DIR_EGRESS) ? PW_RANK_NP
								  : PW_RANK_NONE;
		a_pass = v ? v->pass_rank : PW_RANK_NONE;
	}
	for (__u32 i = 0; i < PW_FQDN_NAMES; i++) {
		if (i >= n)
			break;
		v = pw_policy_peer(&k, ids[i], p->proto, dport);
		if (!v || (v->flags & PW_POL_DENY))
			continue;
		if (best == PW_RANK_NONE && v->rank < first) {
			first = v->rank;
			r->name_id = ids[i];
		}
		if (v->rank >= best || !pw_name_beats(v->rank, a_rank, a_pass))
			continue;
		best = v->rank;
		r->name_id = ids[i];
		r->rule_id = v->rule_id;
		r->reason = PW_REASON_NONE;
		r->verdict = PW_VERDICT_ALLOW;
	}
	return 0;
}

#endif
