/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Health and readiness of `podwall agent`, served over HTTP beside the
 * metrics (metrics.c: --metrics ADDR serves /healthz and /readyz too;
 * --health ADDR serves only them, on an address of its own):
 *
 *   /healthz  200 while the agent's event loop turns (once a second when
 *             idle; stuck for PW_HEALTH_STALL_S seconds: 503, and the
 *             kubelet's liveness probe restarts the agent).
 *   /readyz   200 once the agent enforces what its source says, that is:
 *               - the loop turns (as /healthz);
 *               - the first sync is done: the pinned maps hold a compiled
 *                 state;
 *               - the programs sit on every local endpoint's veth (and the
 *                 uplinks), as of the last attach;
 *               - the source is in sync: its last load succeeded and was
 *                 pushed, and for the Kubernetes API every resource is
 *                 listed and its watch established (not retrying after an
 *                 error or a 410).
 *             503 otherwise, the body naming what is missing. The DaemonSet's
 *             readiness probe: a rolling update goes on to the next node
 *             only once this one enforces.
 *
 * The facts are the engine's (pw_engine_health) and the source's
 * (pw_src_in_sync); the HTTP server's thread reads them.
 */
#ifndef PODWALL_OPS_HEALTH_H
#define PODWALL_OPS_HEALTH_H

#include <stddef.h>

#define PW_HEALTH_STALL_S 10

struct pw_engine;

/* The engine whose facts the answers read (NULL: none, before start and after stop). */
void pw_health_set_engine(const struct pw_engine *e);

/*
 * The answers: an HTTP status (200 or 503) and a one-line body in buf
 * ("ok\n", or what is wrong).
 */
unsigned pw_health_live(char *buf, size_t len);
unsigned pw_health_ready(char *buf, size_t len);

#endif
