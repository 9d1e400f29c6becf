// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The resolve stage (engine.h): which pods are local and behind which host
 * veth, which devices are uplinks, what the node's addresses are, from one
 * view of the node's network (links, routes, rules: kernel/route.h) that
 * is dumped again only when the rtnetlink monitor saw a change. Also the
 * places to attach that a resolution and a compiled state make.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "engine/internal.h"

/*
 * Bring e->net up to date: dump again when forced, when the monitor saw a
 * change (or failed), or when the last dump failed. The monitor is drained
 * before the dump: a change after the drain is either in the dump or still
 * queued for the next push.
 */
static int net_refresh(struct pw_engine *e, bool force)
{
	int changed = 1, err;

	if (e->mon_fd >= 0) {
		changed = pw_rt_monitor_drain(e->mon_fd);
		if (changed < 0) {
			pw_engine_log(e, "rtnetlink monitor: %s; dumping on every change "
				      "from now on", strerror(-changed));
			close(e->mon_fd);
			e->mon_fd = -1;
			changed = 1;
		}
	}
	if (!force && !changed && e->net_valid)
		return 0;
	e->net_valid = false;
	pw_resolver_snapshot(&e->net); /* on failure, lookups ask the kernel one by one */
	free(e->host_addrs);
	e->host_addrs = NULL;
	e->n_host_addrs = 0;
	err = pw_rt_host_addrs(e->rt, &e->host_addrs, &e->n_host_addrs);
	if (err) {
		pw_engine_log(e, "listing the node's addresses: %s", strerror(-err));
		return err;
	}
	e->net_valid = e->net.snap && e->mon_fd >= 0;
	return 0;
}

/* A source's answer first (the CNI registry), then the routes. */
static uint32_t resolve_pod(struct pw_engine *e, const struct pw_pod *pod)
{
	uint32_t ifx = e->hooks.local_ifindex ? e->hooks.local_ifindex(e->hooks.ctx, pod) : 0;

	return ifx ? ifx : pw_resolve_local(&e->net, pod);
}

uint32_t pw_engine_local(void *ctx, const struct pw_pod *pod)
{
	struct pw_local_ctx *l = ctx;
	const struct pw_cluster *c = l->r->c;

	if (c->n_pods && pod >= c->pods && pod < c->pods + c->n_pods)
		return l->r->ifindex[pod - c->pods];
	return resolve_pod(l->e, pod); /* not one of c->pods[] */
}

/* The uplinks: the configured names, or the devices of gateway routes. */
static int resolve_uplinks(struct pw_engine *e, uint32_t **out, size_t *n)
{
	const struct pw_engine_config *cfg = &e->cfg;
	uint32_t *v;
	int err;

	*out = NULL;
	*n = 0;
	if (!cfg->n_uplinks)
		return pw_resolver_gateway_devs(&e->net, out, n);
	v = calloc(cfg->n_uplinks, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		struct pw_link l;

		err = pw_rt_link_by_name(e->rt, cfg->uplinks[i], &l);
		if (err) {
			if (cfg->strict_uplinks) {
				pw_engine_log(e, "--uplink %s: %s", cfg->uplinks[i],
					      err == -ENODEV ? "no such device in this network namespace"
							     : strerror(-err));
				free(v);
				return err;
			}
			if (!e->warned_uplink[i])
				pw_engine_log(e, "--uplink %s: no such device (yet); "
					      "will attach when it appears", cfg->uplinks[i]);
			e->warned_uplink[i] = true;
			continue;
		}
		e->warned_uplink[i] = false;
		v[(*n)++] = l.ifindex;
	}
	*out = v;
	return 0;
}

void pw_engine_resolution_free(struct pw_resolution *r)
{
	free(r->ifindex);
	free(r->uplinks);
	memset(r, 0, sizeof(*r));
}

static void note_log(void *ctx, const char *line)
{
	pw_engine_log(ctx, "%s", line);
}

int pw_engine_resolve(struct pw_engine *e, const struct pw_cluster *c, bool force,
		      bool verbose, struct pw_resolution *r)
{
	struct pw_resolver *live = &e->net;
	int err;

	memset(r, 0, sizeof(*r));
	r->c = c;
	r->ifindex = calloc(c->n_pods ? c->n_pods : 1, sizeof(*r->ifindex));
	if (!r->ifindex)
		return -ENOMEM;
	err = net_refresh(e, force);
	if (err)
		goto fail;
	live->n_local = live->n_missing = live->n_queries = 0;
	live->note = verbose ? note_log : NULL; /* through the engine's log */
	live->note_ctx = e;
	for (size_t i = 0; i < c->n_pods; i++)
		r->ifindex[i] = resolve_pod(e, &c->pods[i]);
	live->note = NULL;

	err = resolve_uplinks(e, &r->uplinks, &r->n_uplinks);
	if (err) {
		if (!(e->cfg.strict_uplinks && err == -ENODEV))
			pw_engine_log(e, "finding uplinks: %s", strerror(-err));
		goto fail;
	}
	return 0;
fail:
	pw_engine_resolution_free(r);
	return err;
}

static int cmp_spot(const void *a, const void *b)
{
	const struct pw_tc_spot *x = a, *y = b;

	if (x->ifindex != y->ifindex)
		return x->ifindex < y->ifindex ? -1 : 1;
	if (x->egress != y->egress)
		return x->egress ? 1 : -1;
	return (int)x->prog - (int)y->prog;
}

int pw_engine_spots(const struct pw_state *s, const uint32_t *uplinks, size_t n_up,
		    struct pw_tc_spot **out, size_t *n)
{
	struct pw_tc_spot *v = calloc(s->n_eps * 2 + n_up + 1, sizeof(*v));
	size_t k = 0, w = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_eps; i++) {
		if (!s->eps[i].ifindex)
			continue;
		v[k++] = (struct pw_tc_spot){ s->eps[i].ifindex, false, PW_PROG_FROM_POD };
		v[k++] = (struct pw_tc_spot){ s->eps[i].ifindex, true, PW_PROG_TO_POD };
	}
	for (size_t i = 0; i < n_up; i++) {
		bool is_pod = false;

		for (size_t j = 0; j < s->n_eps; j++)
			if (s->eps[j].ifindex == uplinks[i])
				is_pod = true;
		if (!is_pod)
			v[k++] = (struct pw_tc_spot){ uplinks[i], true, PW_PROG_TO_REMOTE };
	}
	qsort(v, k, sizeof(*v), cmp_spot);
	/* two pods on one device: keep one pair */
	for (size_t i = 0; i < k; i++)
		if (!w || cmp_spot(&v[w - 1], &v[i]))
			v[w++] = v[i];
	*out = v;
	*n = w;
	return 0;
}
