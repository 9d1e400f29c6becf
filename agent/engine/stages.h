/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The stages of a push (engine.h), each a function of its own so that a
 * test can drive them one by one without the command line:
 *
 *   pw_engine_resolve   the pods' host veths, the uplinks (netview.c)
 *   pw_engine_compile   objects + resolution -> state (push.c)
 *   pw_engine_sync      state -> the maps, one flip (push.c)
 *   pw_engine_attach    the programs where the places say (push.c)
 *
 * pw_engine_push strings them together and skips what did not change.
 */
#ifndef PODWALL_ENGINE_STAGES_H
#define PODWALL_ENGINE_STAGES_H

#include "engine/engine.h"

struct pw_engine;
struct podwall_bpf;

/* The BPF object the stages write to (NULL until pw_engine_bpf). */
struct podwall_bpf *pw_engine_object(const struct pw_engine *e);

/*
 * The places of one resolution: ifindex[i] for c->pods[i] (0: not local),
 * the uplinks' ifindexes. Filled by pw_engine_resolve, freed by
 * pw_engine_resolution_free.
 */
struct pw_resolution {
	const struct pw_cluster *c;
	uint32_t *ifindex;
	uint32_t *uplinks;
	size_t    n_uplinks;
};

/*
 * Resolve every pod of c and the uplinks. The network view is dumped again
 * when force is set or the monitor saw a change; verbose: the resolver says,
 * through hooks.log,
 * what it could not find. -ENODEV: a strict uplink is missing (bad input).
 */
int  pw_engine_resolve(struct pw_engine *e, const struct pw_cluster *c, bool force,
		       bool verbose, struct pw_resolution *r);
void pw_engine_resolution_free(struct pw_resolution *r);
/* The places to attach for a state and uplinks: sorted, unique. */
int pw_engine_spots(const struct pw_state *s, const uint32_t *uplinks, size_t n_up,
		    struct pw_tc_spot **out, size_t *n);

/* Compile c with the resolution r into st (res: compile_ms, n_endpoints;
 * input_error and a log line on failure). */
int pw_engine_compile(struct pw_engine *e, const struct pw_resolution *r, struct pw_state *st,
		      struct pw_push_result *res);

/* Write st into the maps and flip to it (res->sync); on success st is the
 * one in force (the caller tells the synced hook when it likes). */
int pw_engine_sync(struct pw_engine *e, const struct pw_state *st, struct pw_push_result *res);

/* Attach at spots and sweep podwall's filters from everywhere else
 * (res->att); on failure the next push tries again. */
int pw_engine_attach(struct pw_engine *e, const struct pw_tc_spot *spots, size_t n,
		     struct pw_push_result *res);

#endif
