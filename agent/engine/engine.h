/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The reconcile engine (DESIGN §5): from a set of Kubernetes objects to
 * the kernel, in four stages, each a function of its own (push.c):
 *
 *   resolve   which pods are local and behind which host veth, the uplinks,
 *             the node's addresses (one netlink view, netview.c)
 *   compile   objects + resolution -> a sorted state (compiler.h)
 *   sync      the state into the pinned maps, two slots, one flip (mapsync.h)
 *   attach    the tc programs where the state says, and nowhere else (attach.h)
 *
 * pw_engine_push runs them, skipping what did not change. pw_engine_run
 * (loop.c) is the agent's event loop: sources report "something changed",
 * the loop decides when to load and push. No source calls the engine.
 *
 * The engine knows nothing of the command line: it is built from a
 * pw_engine_config, and tells the rest of the agent what happened through
 * pw_engine_hooks (the CNI registry, the state file, the metrics, the log).
 * Functions return 0 or a negative errno; nothing here prints but through
 * hooks.log.
 */
#ifndef PODWALL_ENGINE_ENGINE_H
#define PODWALL_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model.h"
#include "state.h"
#include "kernel/attach.h"
#include "kernel/mapsync.h"

#define PW_MAX_UPLINKS 16

struct pw_engine_config {
	const char *pin_dir;            /* NULL: the default of this netns (kernel/netns.h) */
	bool        audit;              /* every endpoint in audit mode */
	bool        dns_auto;           /* allow DNS to the cluster DNS while isolated */
	bool        redirect;           /* PW_CFG_REDIRECT_PEER: same-node flows judged once */
	const char *dns_namespace;      /* where the cluster DNS runs (NULL: kube-system) */
	const char *dns_label_key;      /* its pods' label (NULL: the compiler's default) */
	const char *dns_label_value;
	const char *uplinks[PW_MAX_UPLINKS]; /* device names; none: gateway routes' devices */
	size_t      n_uplinks;
	bool        strict_uplinks;     /* a missing uplink is bad input (apply), not a wait */
	bool        private_maps;       /* maps of this engine only, nothing pinned (tests) */
};

enum pw_push_kind {
	PW_PUSH_FIRST = 0,  /* first pass: sync, attach and sweep whatever happens */
	PW_PUSH_SOURCE,     /* the source changed: report even when nothing did */
	PW_PUSH_TICK,       /* periodic re-resolution: quiet unless something changed */
};

struct pw_push_result {
	bool                   did_sync;
	bool                   did_attach;
	bool                   input_error; /* failed because of the input (compile, too
					       big, --uplink missing), not the system */
	struct pw_sync_stats   sync;
	struct pw_attach_stats att;
	size_t                 n_endpoints;
	double                 ms;
	/* where ms went: load (objects from the source, before start), resolve
	 * (pods' devices, uplinks, node addresses), compile, sync, attach */
	double                 load_ms, resolve_ms, compile_ms, sync_ms, attach_ms;
	/* the engine thread from the load's start (pw_engine_load_begins; else
	 * the push's) to the push's end:
	 * CPU time (well under the wall time: it waited for a CPU or the
	 * kernel), page faults (minor: fresh memory first touched), context
	 * switches (voluntary: it slept on a lock or I/O; involuntary: preempted) */
	double                 cpu_ms;
	/* ... of it in user space and in the kernel (tick-sampled, scaled to
	 * cpu_ms; without IRQ_TIME_ACCOUNTING the interrupts and softirqs that
	 * hit the thread count as its system time) */
	double                 user_ms, sys_ms;
	double                 runq_ms;     /* runnable, waiting for a CPU (NAN: unknown) */
	long                   minflt, majflt, nvcsw, nivcsw;
};

/*
 * What the engine tells the rest of the agent. Every hook may be NULL; all
 * are called from the thread that runs the engine, with ctx.
 */
struct pw_engine_hooks {
	void *ctx;
	/* a pod's host veth as a source knows it (the CNI registry), asked before
	 * the routes: 0 when unknown */
	uint32_t (*local_ifindex)(void *ctx, const struct pw_pod *pod);
	/* s (compiled from c) is in force in the maps of pin_dir: the state file.
	 * s may be taken (emptied); c must not be changed afterwards. */
	void (*synced)(void *ctx, const char *pin_dir, struct pw_state *s,
		       const struct pw_cluster *c, const struct pw_sync_stats *st);
	/* a push ended (err: its result); the metrics */
	void (*pushed)(void *ctx, enum pw_push_kind kind, uint64_t start_ns,
		       const struct pw_push_result *res, int err);
	/* the loop could not load the source (nothing pushed); the metrics */
	void (*load_failed)(void *ctx, uint64_t start_ns);
	/* one line to log, without "podwall: " and newline */
	void (*log)(void *ctx, const char *line);
};

struct pw_engine;

/* Network lookups only; the BPF object is opened by pw_engine_bpf(). */
int  pw_engine_new(const struct pw_engine_config *cfg, const struct pw_engine_hooks *hooks,
		   struct pw_engine **out);
void pw_engine_free(struct pw_engine *e);
const char *pw_engine_pin_dir(const struct pw_engine *e);

/* Open the BPF object with maps pinned in the pin dir (adopting pins there). */
int pw_engine_bpf(struct pw_engine *e);

/* The rtnetlink monitor (-1 if none): readable when links, addresses, routes
 * or rules changed; a push (any kind) drains it. */
int pw_engine_monitor_fd(const struct pw_engine *e);

/* Make the next PW_PUSH_TICK list every filter and put back what is missing
 * (the loop does it every 10 s; other pushes attach only where places
 * changed). */
void pw_engine_verify_next(struct pw_engine *e);

/*
 * Resolve, compile c and bring the kernel in line: sync when the compile
 * result differs from the last one applied (always for PW_PUSH_FIRST),
 * attach when the set of places to attach differs. Logs one line per apply
 * (and errors). start_ns: when this pass began, load included (the timing).
 * Returns 0, or a negative errno (res->input_error: the input's fault).
 */
/* A load for a push starting at start_ns begins: the push's CPU time, faults
 * and switches (pw_push_result) count from here, else from the push's start. */
void pw_engine_load_begins(struct pw_engine *e, uint64_t start_ns);
int pw_engine_push(struct pw_engine *e, const struct pw_cluster *c, enum pw_push_kind kind,
		   uint64_t start_ns, struct pw_push_result *res);

/*
 * What a health endpoint reads, from any thread: whether the first sync
 * happened, whether the programs sit on every local endpoint (as of the
 * last attach), whether the last load of the source succeeded and was
 * pushed, and when the loop last turned (pw_now_ns; 0: not running).
 */
struct pw_engine_health {
	bool     synced;
	bool     attached;
	bool     source_in_sync;
	uint64_t loop_ns;
};
void pw_engine_health(const struct pw_engine *e, struct pw_engine_health *out);

/* ------------------------------------------------------------ the loop */

/* What a source's ready() and tick() report, as bits. */
enum {
	PW_SRC_CHANGED = 1 << 0, /* objects changed: load and push after a short window */
	PW_SRC_SETTLED = 1 << 1, /* ... and no writer is still busy: no window */
	PW_SRC_NOW     = 1 << 2, /* someone waits on a push: load and push now */
	PW_SRC_STOP    = 1 << 3, /* leave the loop */
};

/*
 * A source of change for the loop. fd is polled; ready() is called when it
 * is readable, tick() once a second; both return PW_SRC_* bits or a
 * negative errno (the loop ends with it). pushed() hears the end of every
 * load and push the loop made (err 0: in force; why: what went wrong, or
 * NULL). Any callback may be NULL.
 */
struct pw_engine_source {
	const char *name;
	int   fd;
	int  (*ready)(void *ctx);
	int  (*tick)(void *ctx);
	void (*pushed)(void *ctx, int err, const char *why);
	void *ctx;
};

#define PW_ENGINE_MAX_SOURCES 4

struct pw_engine_run {
	/* the objects to enforce, as the sources see them now; 0 or a negative
	 * errno with err set */
	int  (*load)(void *ctx, struct pw_cluster **out, struct pw_error *err);
	void *load_ctx;
	struct pw_engine_source src[PW_ENGINE_MAX_SOURCES];
	size_t n_src;
};

/*
 * Load and push, then follow the sources until SIGTERM or SIGINT (SIGHUP:
 * load again) or a source says stop. Returns 0, or the negative errno a
 * source or poll failed with (after logging it).
 */
int pw_engine_run(struct pw_engine *e, const struct pw_engine_run *r);

#endif
