// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The stages of a push and the push that strings them together (engine.h,
 * stages.h): resolve (netview.c), compile, sync, attach. A push skips what
 * did not change: a quiet tick (same objects, same devices) compiles
 * nothing, a state equal to the one in force is not synced, places equal to
 * the last ones are not attached again (but for a verify tick), and a state
 * that did not fit is not retried until the objects change.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include "clock.h"
#include "engine/internal.h"
#include "kernel/bpfobj.h"

static double ms_since(uint64_t t0)
{
	return (double)(pw_now_ns() - t0) / 1e6;
}

int pw_engine_compile(struct pw_engine *e, const struct pw_resolution *r, struct pw_state *st,
		      struct pw_push_result *res)
{
	const struct pw_engine_config *cfg = &e->cfg;
	struct pw_local_ctx local = { .e = e, .r = r };
	struct pw_compile_opts copts = { 0 };
	struct pw_error cerr;
	uint64_t t0 = pw_now_ns();
	int err;

	memset(&cerr, 0, sizeof(cerr));
	copts.is_local = pw_engine_local;
	copts.local_ctx = &local;
	copts.dns_namespace = cfg->dns_namespace;
	copts.dns_label_key = cfg->dns_label_key && cfg->dns_label_key[0] ? cfg->dns_label_key
									  : NULL;
	copts.dns_label_value = copts.dns_label_key ? cfg->dns_label_value : NULL;
	copts.dns_auto = cfg->dns_auto;
	copts.audit_all = cfg->audit;
	copts.cache = e->compile_cache;
	/* the node's addresses are PW_ID_HOST: kubelet probes reach pods */
	copts.host_addrs = (const uint8_t (*)[16])e->host_addrs;
	copts.n_host_addrs = e->n_host_addrs;
	err = pw_compile(r->c, &copts, st, &cerr);
	res->compile_ms = ms_since(t0);
	if (err) {
		pw_engine_log(e, "%s", cerr.msg[0] ? cerr.msg : strerror(-err));
		pw_engine_log(e, "nothing applied; the policy in force stays in force");
		res->input_error = true;
		return err;
	}
	res->n_endpoints = 0;
	for (size_t i = 0; i < st->n_eps; i++)
		if (st->eps[i].ifindex)
			res->n_endpoints++;
	return 0;
}

/* How the agent syncs: its modes in config, its cache of what the maps hold. */
static void sync_opts(const struct pw_engine *e, struct pw_sync_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->cfg_mask = PW_CFG_AUDIT_ALL | PW_CFG_REDIRECT_PEER;
	o->cfg_flags = (e->cfg.audit ? PW_CFG_AUDIT_ALL : 0) |
		       (e->cfg.redirect ? PW_CFG_REDIRECT_PEER : 0);
	o->cache = e->sync_cache;
}

int pw_engine_sync(struct pw_engine *e, const struct pw_state *st, struct pw_push_result *res)
{
	struct pw_sync_opts sopts;
	uint64_t t0 = pw_now_ns();
	int err;

	err = pw_engine_bpf(e);
	if (err)
		return err;
	sync_opts(e, &sopts);
	pw_engine_lock(e, true);
	err = pw_sync(e->obj, st, &sopts, &res->sync);
	pw_engine_lock(e, false);
	res->did_sync = true;
	res->sync_ms = ms_since(t0);
	if (res->sync.warning[0])
		pw_engine_log(e, "warning: %s", res->sync.warning);
	if (err) {
		pw_engine_log(e, "%s", res->sync.error[0] ? res->sync.error : strerror(-err));
		if (!res->sync.switched)
			pw_engine_log(e, "nothing applied; the policy in force stays in force");
		if (err == -ENOSPC) {
			/* too big: pointless to retry until the objects change */
			res->input_error = true;
			pw_state_free(&e->failed);
			e->have_failed = !pw_state_copy_kernel(&e->failed, st);
		}
		return err;
	}
	pw_state_free(&e->last);
	err = pw_state_copy_kernel(&e->last, st);
	if (err)
		return err;
	e->have_last = true;
	pw_state_free(&e->failed);
	e->have_failed = false;
	PW_ENGINE_HEALTH_SET(e, h_synced, true);
	return 0;
}

int pw_engine_attach(struct pw_engine *e, const struct pw_tc_spot *spots, size_t n,
		     struct pw_push_result *res)
{
	uint64_t t0 = pw_now_ns();
	int err;

	err = pw_engine_bpf(e);
	if (err)
		return err;
	pw_engine_lock(e, true);
	err = pw_attach_sync(e->obj, e->rt, spots, n, true, &res->att);
	pw_engine_lock(e, false);
	res->did_attach = true;
	res->attach_ms = ms_since(t0);
	if (err) {
		pw_engine_log(e, "attach: %s", res->att.error[0] ? res->att.error : strerror(-err));
		e->have_spots = false;
	}
	PW_ENGINE_HEALTH_SET(e, h_attached, !err && !res->att.missing);
	return err;
}

/*
 * After the first sync into empty maps, the idle slot is empty: the first
 * change would write the whole set there (mapsync.h: fill_idle). Filled now,
 * after the set is in force and attached, it writes only its difference.
 */
static void fill_idle_slot(struct pw_engine *e, const struct pw_state *st)
{
	struct pw_sync_opts sopts;
	struct pw_sync_stats ss;

	sync_opts(e, &sopts);
	sopts.fill_idle = true;
	pw_engine_lock(e, true);
	if (pw_sync(e->obj, st, &sopts, &ss) == 0 && ss.warning[0])
		pw_engine_log(e, "warning: %s", ss.warning);
	pw_engine_lock(e, false);
}

/* A verify tick with nothing else to do: are the filters where they were put? */
static void verify_filters(struct pw_engine *e, struct pw_push_result *res)
{
	if (pw_engine_attach(e, e->spots, e->n_spots, res))
		e->memo_c = NULL; /* the next tick compiles and attaches again */
	else if (res->att.attached || res->att.replaced || res->att.detached)
		pw_engine_log(e, "filters repaired: %u attached, %u replaced, %u detached",
			      res->att.attached, res->att.replaced, res->att.detached);
}

/* How long this thread waited for a CPU, all told (schedstat: on-CPU time,
 * run-queue wait, slices); 0 where the kernel does not say. */
static uint64_t thread_runq_ns(void)
{
	unsigned long long on_cpu, waited = 0;
	char buf[128];
	ssize_t n;
	int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	if (sscanf(buf, "%llu %llu", &on_cpu, &waited) != 2)
		return 0;
	return waited;
}

static void thread_use(struct pw_thread_use *u)
{
	struct timespec ts;

	memset(u, 0, sizeof(*u));
	if (!clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		u->cpu_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	getrusage(RUSAGE_THREAD, &u->ru);
	u->runq_ns = thread_runq_ns();
}

void pw_engine_load_begins(struct pw_engine *e, uint64_t start_ns)
{
	thread_use(&e->use0);
	e->use0_start_ns = start_ns;
}

static double tv_ms(const struct timeval *tv)
{
	return (double)tv->tv_sec * 1e3 + (double)tv->tv_usec / 1e3;
}

static void thread_use_since(const struct pw_thread_use *u0, struct pw_push_result *res)
{
	struct pw_thread_use u;

	thread_use(&u);
	res->cpu_ms = (double)(u.cpu_ns - u0->cpu_ns) / 1e6;
	res->user_ms = tv_ms(&u.ru.ru_utime) - tv_ms(&u0->ru.ru_utime);
	res->sys_ms = tv_ms(&u.ru.ru_stime) - tv_ms(&u0->ru.ru_stime);
	res->runq_ms = u.runq_ns && u0->runq_ns ? (double)(u.runq_ns - u0->runq_ns) / 1e6 : NAN;
	res->minflt = u.ru.ru_minflt - u0->ru.ru_minflt;
	res->majflt = u.ru.ru_majflt - u0->ru.ru_majflt;
	res->nvcsw = u.ru.ru_nvcsw - u0->ru.ru_nvcsw;
	res->nivcsw = u.ru.ru_nivcsw - u0->ru.ru_nivcsw;
}

static void log_apply(const struct pw_engine *e, const struct pw_push_result *r)
{
	const struct pw_sync_stats *s = &r->sync;

	pw_engine_log(e, "applied generation %u in %.1f ms: %zu added, %zu changed, "
		      "%zu removed (%zu endpoints%s; tc: %u attached, %u replaced, %u adopted, "
		      "%u detached%s; ms: load %.1f resolve %.1f compile %.1f sync %.1f attach %.1f; "
		      "cpu %.1f ms (user %.1f, system %.1f), run queue %.1f ms, faults %ld+%ld, "
		      "switches %ld+%ld%s)",
		      s->generation, r->ms, s->added, s->changed, s->removed, r->n_endpoints,
		      e->cfg.audit ? ", audit mode" : "", r->att.attached, r->att.replaced,
		      r->att.adopted, r->att.detached, r->att.missing ? ", some devices vanished" : "",
		      r->load_ms, r->resolve_ms, r->compile_ms, r->sync_ms, r->attach_ms, r->cpu_ms,
		      r->user_ms, r->sys_ms, r->runq_ms, r->minflt, r->majflt, r->nvcsw, r->nivcsw,
		      r->did_sync && !s->cached ? "; maps read back" : "");
}

/* Same objects, same devices as the last successful push: nothing to compile. */
static bool quiet_tick(const struct pw_engine *e, const struct pw_resolution *r)
{
	const struct pw_cluster *c = r->c;

	return e->memo_c == c && e->memo_n_pods == c->n_pods && e->memo_n_up == r->n_uplinks &&
	       (!c->n_pods || !memcmp(e->memo_ifx, r->ifindex, c->n_pods * sizeof(*r->ifindex))) &&
	       (!r->n_uplinks || !memcmp(e->memo_up, r->uplinks, r->n_uplinks * sizeof(*r->uplinks)));
}

/* Remember what a successful push was made of (r is emptied). */
static void memo_take(struct pw_engine *e, struct pw_resolution *r)
{
	free(e->memo_ifx);
	free(e->memo_up);
	e->memo_ifx = r->ifindex;
	e->memo_n_pods = r->c->n_pods;
	e->memo_up = r->uplinks;
	e->memo_n_up = r->n_uplinks;
	e->memo_c = e->have_spots ? r->c : NULL;
	r->ifindex = NULL;
	r->uplinks = NULL;
}

int pw_engine_push(struct pw_engine *e, const struct pw_cluster *c, enum pw_push_kind kind,
		   uint64_t start_ns, struct pw_push_result *res)
{
	struct pw_resolution r = { 0 };
	struct pw_state st = { 0 };
	struct pw_tc_spot *spots = NULL;
	size_t n_spots = 0;
	bool state_changed, spots_changed, names_due = false;
	uint64_t t0 = pw_now_ns();
	bool verify = kind == PW_PUSH_TICK && e->verify_due; /* list every filter */
	struct pw_thread_use use0;
	int err;

	if (kind == PW_PUSH_TICK)
		e->verify_due = false;
	memset(res, 0, sizeof(*res));
	res->load_ms = (double)(t0 - start_ns) / 1e6;
	if (e->use0_start_ns == start_ns)
		use0 = e->use0; /* from the start of the load */
	else
		thread_use(&use0);

	/* resolve: which pods are local, and where: one netlink pass */
	err = pw_engine_resolve(e, c, kind != PW_PUSH_SOURCE, kind != PW_PUSH_TICK, &r);
	if (err) {
		res->input_error = e->cfg.strict_uplinks && err == -ENODEV;
		goto out;
	}
	if (kind == PW_PUSH_TICK && quiet_tick(e, &r)) {
		if (verify && e->have_spots && e->obj)
			verify_filters(e, res);
		goto out;
	}
	e->memo_c = NULL;
	res->resolve_ms = ms_since(t0);

	/* compile */
	err = pw_engine_compile(e, &r, &st, res);
	if (err)
		goto out;
	err = pw_engine_spots(&st, r.uplinks, r.n_uplinks, &spots, &n_spots);
	if (err)
		goto out;

	state_changed = kind == PW_PUSH_FIRST || !e->have_last ||
			!pw_state_kernel_equal(&st, &e->last);
	/* the filters are listed and fixed when the places change, and on a
	 * verify tick (a filter removed by hand comes back), not on every
	 * policy change: listing 2 filters per pod costs more than the sync */
	spots_changed = kind == PW_PUSH_FIRST || !e->have_spots || n_spots != e->n_spots ||
			(n_spots && memcmp(spots, e->spots, n_spots * sizeof(*spots))) || verify;
	if (state_changed && kind == PW_PUSH_TICK && e->have_failed &&
	    pw_state_kernel_equal(&st, &e->failed)) {
		/* the same set that failed before: do not retry every second */
		state_changed = false;
		spots_changed = false;
	}

	/* sync */
	if (state_changed) {
		err = pw_engine_sync(e, &st, res);
		if (err)
			goto out;
		names_due = true;
	} else if (e->obj) {
		/* nothing to sync: report the generation in force */
		struct pw_config cfg;

		if (!pw_bpf_get_config(e->obj, &cfg))
			res->sync.generation = cfg.generation;
	}

	/* attach */
	if (spots_changed) {
		err = pw_engine_attach(e, spots, n_spots, res);
		if (err)
			goto out;
		free(e->spots);
		e->spots = spots;
		e->n_spots = n_spots;
		e->have_spots = !res->att.missing;
		spots = NULL;
	}

	if (kind == PW_PUSH_FIRST && res->sync.switched)
		fill_idle_slot(e, &st);
	memo_take(e, &r);
	res->ms = ms_since(start_ns);
	thread_use_since(&use0, res);
	if (kind != PW_PUSH_TICK || res->sync.switched || res->att.attached ||
	    res->att.replaced || res->att.detached)
		log_apply(e, res);
out:
	/*
	 * The state file for monitor/status/explain (ops) is handed over last
	 * (st may move there): it is not enforcement, and at 10k pods writing it
	 * costs more than the sync, so no change waits for it. It follows the
	 * maps even when the attach after the switch failed.
	 */
	if (names_due && e->hooks.synced)
		e->hooks.synced(e->hooks.ctx, e->pin_dir, &st, c, &res->sync);
	if (e->hooks.pushed)
		e->hooks.pushed(e->hooks.ctx, kind, start_ns, res, err);
	pw_engine_resolution_free(&r);
	free(spots);
	pw_state_free(&st);
	return err;
}
