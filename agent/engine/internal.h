/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The engine's insides, shared by engine.c (life cycle, log, lock),
 * netview.c (the resolve stage's view of the node's network), push.c (the
 * stages) and loop.c (the event loop). Nothing outside agent/engine/.
 */
#ifndef PODWALL_ENGINE_INTERNAL_H
#define PODWALL_ENGINE_INTERNAL_H

#include <limits.h>
#include <sys/resource.h>
#include "compiler.h"
#include "engine/engine.h"
#include "kernel/route.h"

/* The engine thread's CPU time and resource use, to tell a slow push's cause. */
struct pw_thread_use {
	uint64_t      cpu_ns;
	uint64_t      runq_ns;   /* waited on a run queue (schedstat), 0: unknown */
	struct rusage ru;
};

struct pw_engine {
	struct pw_engine_config cfg;
	struct pw_engine_hooks  hooks;
	char                 pin_dir[PATH_MAX];
	struct podwall_bpf  *obj;
	int                  lock_fd;     /* the pin dir, flock'ed while writing */
	struct pw_rt        *rt;

	struct pw_state      last;        /* last compile result applied (kernel part) */
	bool                 have_last;
	struct pw_state      failed;      /* last one that failed to apply: not retried */
	bool                 have_failed;
	struct pw_tc_spot   *spots;       /* last places attached */
	size_t               n_spots;
	bool                 have_spots;
	bool                 verify_due;  /* next tick re-checks every filter */
	bool                 warned_uplink[PW_MAX_UPLINKS];
	struct pw_sync_cache *sync_cache; /* what the maps hold, so a sync need not read
					     them back (mapsync.h) */
	struct pw_compile_cache *compile_cache; /* pods read by the last compile (compiler.h) */

	/*
	 * The node's network as last dumped (links, routes, rules: the resolver
	 * snapshot; the node's addresses). A source change reuses it while the
	 * rtnetlink monitor reports nothing new since; ticks and first passes
	 * always dump again, so a lost notification costs at most one tick.
	 */
	int                  mon_fd;      /* pw_rt_monitor_open; -1: dump every time */
	struct pw_resolver   net;         /* .snap: the snapshot */
	uint8_t            (*host_addrs)[16];
	size_t               n_host_addrs;
	bool                 net_valid;

	/* memo of the last successful push, to skip compiling on quiet ticks */
	const struct pw_cluster *memo_c;
	uint32_t            *memo_ifx;
	size_t               memo_n_pods;
	uint32_t            *memo_up;
	size_t               memo_n_up;

	/* the engine thread's use since the start of the load of the next push
	 * (pw_engine_load_begins), for the apply line */
	struct pw_thread_use use0;
	uint64_t             use0_start_ns;

	/* health (pw_engine_health), written with atomics: read by other threads */
	bool                 h_synced, h_attached, h_source_ok;
	uint64_t             h_loop_ns;
};

/* hooks.log, printf-style */
void pw_engine_log(const struct pw_engine *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The pin dir's flock: agent and apply on the same pins take turns. */
void pw_engine_lock(struct pw_engine *e, bool on);

/* Set a health field (atomically). */
#define PW_ENGINE_HEALTH_SET(e, field, v) __atomic_store_n(&(e)->field, (v), __ATOMIC_RELAXED)

#include "engine/stages.h"

/* The compiler's is_local over a resolution (ctx: a pw_local_ctx). */
struct pw_local_ctx {
	struct pw_engine            *e;
	const struct pw_resolution  *r;
};
uint32_t pw_engine_local(void *ctx, const struct pw_pod *pod);

#endif
