/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * probe: verdicts from the real programs over a private copy (probe.h).
 */
#include <errno.h>
#include <linux/pkt_cls.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kernel/bpfobj.h"
#include "kernel/mapsync.h"
#include "kernel/netlink.h"
#include "kernel/pkt.h"
#include "kernel/testrun.h"
#include "ops/probe.h"
#include "podwall.skel.h"

struct pw_probe {
	struct podwall_bpf *obj;
	struct ring_buffer *rb;            /* traced only */
	int                 from_fd, to_fd, remote_fd;
	uint32_t           *ifindex;       /* by the index pw_probe_run takes */
	size_t              n, cap, n_devs;
	bool                trace;
	/* events of the current run */
	struct pw_event     ev[PW_PROBE_MAX_STEPS];
	size_t              n_ev;
	struct pw_counter  *c0, *c1;       /* traced only */
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct pw_probe *p = ctx;

	if (size >= sizeof(struct pw_event) && p->n_ev < PW_PROBE_MAX_STEPS)
		memcpy(&p->ev[p->n_ev++], data, sizeof(struct pw_event));
	return 0;
}

int pw_probe_new(struct pw_probe **out, struct pw_error *why)
{
	struct pw_probe *p;
	int err;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	err = pw_private_netns();
	if (err) {
		free(p);
		return pw_errorf(why, err, "cannot make a private network namespace: %s "
				 "(needs root)", strerror(-err));
	}
	*out = p;
	return 0;
}

/* One more index for pw_probe_run, on the device ifindex. */
static int push_index(struct pw_probe *p, uint32_t ifindex)
{
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 8;
		uint32_t *nv = realloc(p->ifindex, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		p->ifindex = nv;
		p->cap = nc;
	}
	p->ifindex[p->n] = ifindex;
	return (int)p->n++;
}

int pw_probe_add_dev(struct pw_probe *p, uint32_t *ifindex, struct pw_error *why)
{
	char name[16];
	int err;

	snprintf(name, sizeof(name), "pw%zu", p->n_devs);
	err = pw_nl_dummy_add(name, ifindex);
	if (err)
		return pw_errorf(why, err, "cannot create device %s: %s", name, strerror(-err));
	p->n_devs++;
	return push_index(p, *ifindex);
}

int pw_probe_load(struct pw_probe *p, const struct pw_state *s, uint32_t cfg_flags, bool trace,
		  const char *what, struct pw_error *why)
{
	struct pw_sync_opts so = { 0 };
	struct pw_sync_stats st = { 0 };
	struct pw_bpf_sizes sz = { 0 };
	int err;

	if (p->obj)
		return -EALREADY;
	if (trace) {
		p->c0 = calloc(PW_COUNTERS_MAX, sizeof(*p->c0));
		p->c1 = calloc(PW_COUNTERS_MAX, sizeof(*p->c1));
		if (!p->c0 || !p->c1)
			return -ENOMEM;
	}
	/* every endpoint of s fits, however many; a small conntrack table,
	 * cheap to flush between probes (pw_probe_run) and batches */
	sz.endpoints = s->n_eps > PW_MAX_ENDPOINTS ? (uint32_t)s->n_eps : 0;
	sz.conntrack = PW_PROBE_CT_ENTRIES;
	err = pw_bpf_open_private(&sz, &p->obj, why);
	if (err)
		return err;
	/* allowed flows report events too only when traced: matrix wants verdicts, fast */
	so.cfg_mask = PW_CFG_AUDIT_ALL | PW_CFG_EVENTS_ALLOW;
	so.cfg_flags = (cfg_flags & PW_CFG_AUDIT_ALL) | (trace ? PW_CFG_EVENTS_ALLOW : 0);
	err = pw_sync(p->obj, s, &so, &st);
	if (err)
		return pw_errorf(why, err, "loading %s: %s", what,
				 st.error[0] ? st.error : strerror(-err));
	p->from_fd = pw_bpf_prog_fd(p->obj, PW_PROG_FROM_POD);
	p->to_fd = pw_bpf_prog_fd(p->obj, PW_PROG_TO_POD);
	p->remote_fd = pw_bpf_prog_fd(p->obj, PW_PROG_TO_REMOTE);
	if (trace) {
		p->rb = ring_buffer__new(bpf_map__fd(p->obj->maps.events), on_event, p, NULL);
		if (!p->rb)
			return pw_errorf(why, -errno, "events ring buffer: %s", strerror(errno));
	}
	p->trace = trace;
	return 0;
}

int pw_probe_open(const struct pw_state *s, const struct pw_state_ep *const *eps, size_t n,
		  uint32_t cfg_flags, struct pw_probe **out, struct pw_error *why)
{
	struct pw_state copy;
	struct pw_probe *p = NULL;
	int err;

	*out = NULL;
	copy = *s;
	copy.eps = calloc(n + 1, sizeof(*copy.eps));
	if (!copy.eps)
		return -ENOMEM;
	err = pw_probe_new(&p, why);
	if (err)
		goto fail;
	copy.n_eps = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t ifindex;
		bool dup = false;

		/* one device per endpoint, even if asked twice */
		for (size_t k = 0; k < i && !dup; k++)
			if (eps[k] == eps[i]) {
				err = push_index(p, p->ifindex[k]);
				if (err < 0)
					goto fail;
				dup = true;
			}
		if (dup)
			continue;
		err = pw_probe_add_dev(p, &ifindex, why);
		if (err < 0)
			goto fail;
		copy.eps[copy.n_eps] = *eps[i];
		copy.eps[copy.n_eps].ifindex = ifindex;
		copy.n_eps++;
	}
	err = pw_probe_load(p, &copy, cfg_flags, true, "the private copy", why);
	if (err)
		goto fail;
	free(copy.eps);
	*out = p;
	return 0;
fail:
	free(copy.eps);
	pw_probe_close(p);
	return err;
}

void pw_probe_close(struct pw_probe *p)
{
	if (!p)
		return;
	ring_buffer__free(p->rb);
	pw_bpf_close(p->obj);
	free(p->ifindex);
	free(p->c0);
	free(p->c1);
	free(p);
}

static void add_step(struct pw_probe_result *r, const struct pw_probe_step *s)
{
	if (r->n_steps < PW_PROBE_MAX_STEPS)
		r->steps[r->n_steps++] = *s;
}

/*
 * The judgements of one program run: its events, in order, then whatever
 * the counters saw that no event told (deferrals, endpoint-less devices).
 */
static int collect(struct pw_probe *p, uint8_t prog, bool post_nat_possible,
		   struct pw_probe_result *r)
{
	int err;
	bool used[PW_COUNTERS_MAX];

	p->n_ev = 0;
	err = ring_buffer__consume(p->rb);
	if (err < 0)
		return err;
	err = pw_bpf_read_counters(p->obj, p->c1);
	if (err)
		return err;
	memset(used, 0, sizeof(used));
	for (size_t i = 0; i < p->n_ev; i++) {
		const struct pw_event *e = &p->ev[i];
		struct pw_probe_step s = {
			.prog = prog, .dir = e->dir, .verdict = e->verdict, .reason = e->reason,
			.rule_id = e->rule_id, .ep_id = e->ep_id, .has_event = true,
			.peer_id = e->dir == PW_DIR_EGRESS ? e->dst_identity : e->src_identity,
			.post_nat = post_nat_possible && e->dir == PW_DIR_EGRESS,
		};
		uint32_t idx = PW_COUNTER_IDX((uint32_t)e->dir, (uint32_t)e->verdict,
					      (uint32_t)e->reason);

		if (idx < PW_COUNTERS_MAX)
			used[idx] = true;
		add_step(r, &s);
	}
	for (uint32_t d = 0; d < PW_DIR_MAX; d++)
		for (uint32_t v = 1; v < PW_VERDICT_MAX; v++)
			for (uint32_t k = 0; k < PW_REASON_MAX; k++) {
				uint32_t idx = PW_COUNTER_IDX(d, v, k);
				struct pw_probe_step s = { .prog = prog, .dir = (uint8_t)d,
							   .verdict = (uint8_t)v,
							   .reason = (uint8_t)k };

				if (used[idx] || p->c1[idx].packets == p->c0[idx].packets)
					continue;
				add_step(r, &s);
			}
	memcpy(p->c0, p->c1, sizeof(*p->c0) * PW_COUNTERS_MAX);
	return 0;
}

int pw_probe_run(struct pw_probe *p, int src, const uint8_t saddr[16], int dst,
		 const uint8_t daddr[16], uint8_t proto, uint16_t dport, const uint8_t *nat_daddr,
		 uint16_t nat_dport, struct pw_probe_result *r)
{
	struct pw_run_out out = { 0 };
	struct pw_pkt pkt;
	int err;

	memset(r, 0, sizeof(*r));
	r->allowed = true;
	if (!p->obj || src >= (int)p->n || dst >= (int)p->n)
		return -EINVAL;
	if (p->trace) {
		err = pw_bpf_read_counters(p->obj, p->c0);
		if (err)
			return err;
		ring_buffer__consume(p->rb); /* nothing stale */
	}

	err = pw_pkt_l4(&pkt, saddr, daddr, proto, PW_PROBE_SPORT, dport);
	if (err)
		return err;
	if (src >= 0) {
		err = pw_test_run(p->from_fd, pkt.data, pkt.len, p->ifindex[src], 0, &out);
		if (err)
			return err;
		r->ran_from = true;
		r->allowed = out.verdict == TC_ACT_OK;
		r->deferred = !!(out.mark & PW_MARK_DEFER);
		err = p->trace ? collect(p, PW_PROBE_FROM_POD, false, r) : 0;
		if (err)
			return err;
	}
	if (r->allowed && dst >= 0) {
		uint32_t mark = out.mark;

		if (nat_daddr) {
			err = pw_pkt_l4(&pkt, saddr, nat_daddr, proto, PW_PROBE_SPORT, nat_dport);
			if (err)
				return err;
		}
		err = pw_test_run(p->to_fd, pkt.data, pkt.len, p->ifindex[dst], mark, &out);
		if (err)
			return err;
		r->ran_to = true;
		r->allowed = out.verdict == TC_ACT_OK;
		err = p->trace ? collect(p, PW_PROBE_TO_POD, !!(mark & PW_MARK_DEFER), r) : 0;
		if (err)
			return err;
	} else if (r->allowed && r->deferred && nat_daddr && src >= 0) {
		/* to a backend on another node: the uplink's to_remote judges it */
		err = pw_pkt_l4(&pkt, saddr, nat_daddr, proto, PW_PROBE_SPORT, nat_dport);
		if (err)
			return err;
		err = pw_test_run(p->remote_fd, pkt.data, pkt.len, p->ifindex[src], out.mark, &out);
		if (err)
			return err;
		r->ran_remote = true;
		r->allowed = out.verdict == TC_ACT_OK;
		err = p->trace ? collect(p, PW_PROBE_TO_REMOTE, true, r) : 0;
		if (err)
			return err;
	}
	return pw_bpf_ct_flush(p->obj);
}

/* ------------------------------------------------------------- batches */

/*
 * Conntrack entries in a probe copy, and the probes a worker runs between
 * two flushes of them: at most 2 entries a probe (from_pod's egress entry,
 * to_pod's ingress one), so that T workers' cycles fit without eviction
 * (an eviction would be harmless, see pw_probe_batch).
 */
#define CYCLE_MAX 2048

struct worker {
	struct pw_probe     *p;
	struct pw_probe_job *jobs;
	size_t               lo, hi;       /* its jobs */
	const uint16_t      *sports;       /* its own source ports, none another has */
	size_t               n_sports;
	int                  err;
	pthread_t            tid;
};

/* The first packet of job j from sport: from_pod, then to_pod, as pw_probe_run. */
static int run_job(struct pw_probe *p, struct pw_probe_job *j, uint16_t sport, struct pw_pkt *pkt)
{
	struct pw_run_out out = { 0 };
	bool allowed = true;
	int err;

	err = pw_pkt_l4(pkt, j->saddr, j->daddr, j->proto, sport, j->dport);
	if (err)
		return err;
	if (j->src >= 0) {
		err = pw_test_run(p->from_fd, pkt->data, pkt->len, p->ifindex[j->src], 0, &out);
		if (err)
			return err;
		allowed = out.verdict == TC_ACT_OK;
	}
	if (allowed && j->dst >= 0) {
		err = pw_test_run(p->to_fd, pkt->data, pkt->len, p->ifindex[j->dst], out.mark, &out);
		if (err)
			return err;
		allowed = out.verdict == TC_ACT_OK;
	}
	j->allowed = allowed;
	return 0;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct pw_pkt *pkt = malloc(sizeof(*pkt));
	size_t used = 0;

	if (!pkt) {
		w->err = -ENOMEM;
		return NULL;
	}
	for (size_t k = w->lo; k < w->hi && !w->err; k++) {
		if (used == w->n_sports) {
			w->err = pw_bpf_ct_flush(w->p->obj);
			used = 0;
		}
		if (!w->err)
			w->err = run_job(w->p, &w->jobs[k], w->sports[used++], pkt);
	}
	free(pkt);
	return NULL;
}

int pw_probe_batch(struct pw_probe *p, struct pw_probe_job *jobs, size_t n, int threads)
{
	struct worker w[PW_PROBE_MAX_THREADS];
	uint8_t *taken = NULL;
	uint16_t *sports = NULL;
	size_t n_sports = 0, per;
	int err;

	if (!p->obj || p->trace)
		return -EINVAL;
	for (size_t k = 0; k < n; k++)
		if (jobs[k].src >= (int)p->n || jobs[k].dst >= (int)p->n)
			return -EINVAL;
	if (threads < 1)
		threads = 1;
	if (threads > PW_PROBE_MAX_THREADS)
		threads = PW_PROBE_MAX_THREADS;
	if ((size_t)threads > n / 64 + 1)
		threads = (int)(n / 64 + 1); /* a thread costs more than a few probes */

	/* source ports: 1024-65535 except every destination port probed */
	taken = calloc(65536, 1);
	sports = calloc(65536, sizeof(*sports));
	if (!taken || !sports) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < n; k++)
		taken[jobs[k].dport] = 1;
	for (uint32_t port = 1024; port <= 65535; port++)
		if (!taken[port])
			sports[n_sports++] = (uint16_t)port;
	per = n_sports / (size_t)threads;
	if (per > CYCLE_MAX)
		per = CYCLE_MAX;

	err = pw_bpf_ct_flush(p->obj); /* nothing an earlier probe left */
	if (err)
		goto out;
	for (int t = 0; t < threads; t++) {
		w[t] = (struct worker){
			.p = p, .jobs = jobs,
			.lo = n * (size_t)t / (size_t)threads,
			.hi = n * (size_t)(t + 1) / (size_t)threads,
			.sports = sports + per * (size_t)t, .n_sports = per,
		};
	}
	for (int t = 1; t < threads; t++) {
		int e = pthread_create(&w[t].tid, NULL, work, &w[t]);

		if (e) {
			/* run it here instead */
			w[t].tid = 0;
			work(&w[t]);
		}
	}
	work(&w[0]);
	for (int t = 1; t < threads; t++)
		if (w[t].tid)
			pthread_join(w[t].tid, NULL);
	for (int t = 0; t < threads && !err; t++)
		err = w[t].err;
	if (!err)
		err = pw_bpf_ct_flush(p->obj);
out:
	free(taken);
	free(sports);
	return err;
}

int pw_probe_put_learned(struct pw_probe *p, uint32_t ep_id, const uint8_t owner[16],
			 const uint8_t addr[16], uint32_t name_id, uint32_t ttl_s)
{
	struct pw_fqdn_key k = { .ep_id = ep_id, .set = pw_fqdn_set_of(addr) };
	struct pw_fqdn_set set;
	struct timespec ts;
	int fd = bpf_map__fd(p->obj->maps.fqdn_learned), w;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	if (bpf_map_lookup_elem(fd, &k, &set) || memcmp(set.owner, owner, 16)) {
		memset(&set, 0, sizeof(set));
		memcpy(set.owner, owner, 16);
	}
	/* the address's way, else a free one */
	for (w = 0; w < PW_FQDN_WAYS; w++)
		if (!memcmp(set.ways[w].addr, addr, 16))
			break;
	for (int i = 0; w == PW_FQDN_WAYS && i < PW_FQDN_WAYS; i++)
		if (!set.ways[i].names[0].name_id) {
			w = i;
			memcpy(set.ways[w].addr, addr, 16);
		}
	if (w == PW_FQDN_WAYS)
		return -ENOSPC;
	for (int i = 0; i < PW_FQDN_NAMES; i++) {
		struct pw_fqdn_name *nm = &set.ways[w].names[i];

		if (nm->name_id && nm->name_id != name_id)
			continue;
		nm->name_id = name_id;
		nm->expires_s = (uint32_t)ts.tv_sec + (ttl_s ? ttl_s : 1);
		return bpf_map_update_elem(fd, &k, &set, BPF_ANY);
	}
	return -ENOSPC;
}
