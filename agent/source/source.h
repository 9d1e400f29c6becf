/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's sources, as agent.c starts them and the engine's loop follows
 * them: a manifest file or directory (inotify), or
 *
 *   --source k8s [--kubeconfig PATH]   the Kubernetes API (k8s_api.c): list +
 *                                      watch instead of a manifest directory;
 *                                      in-cluster service account by default
 *   --cni-socket PATH                  serve podwall-cni (cni_server.c): the
 *                                      registry of local pods' host veths and
 *                                      addresses, consulted before routes
 *   --cni-state FILE                   where the registry is kept
 *                                      (default: endpoints.json beside the socket)
 *   --cni-conf-dir DIR                 keep podwall-cni chained in the node's CNI
 *                                      configuration there (cni_chain.h)
 *   --cni-pod-wait MS                  how long an ADD waits for the pod's Pod
 *                                      object before isolating it (default 3000)
 *
 * agent.c takes the options out of argv before its own parsing, starts the
 * sources, and hands the engine's loop pw_src_load and pw_src_sources(); the
 * engine asks pw_src_local() for a pod's host veth before it looks at
 * routes (hooks.local_ifindex). Nothing here calls the engine.
 */
#ifndef PODWALL_SOURCE_SOURCE_H
#define PODWALL_SOURCE_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include <stddef.h>

struct pw_engine_source;
struct pw_cluster;
struct pw_pod;
struct pw_error;

/* One of the sources' options of `podwall agent` (its table, cmd/agent.c):
 * name is the long name ("cni-socket", "cni-state", "cni-pod-wait",
 * "kubeconfig", "kube-context"). 0, -EINVAL with why said, or -ENOENT
 * for a name that is not ours. */
int pw_src_opt(const char *name, const char *val, struct pw_error *why);

/* --source names the Kubernetes API ("k8s", "kubernetes") rather than a path. */
bool pw_src_is_api(const char *source);

/* Whether the sources' options go together for source (before anything is
 * loaded or pinned): 0, or -EINVAL with why said. pw_src_start checks too. */
int pw_src_check(const char *source, struct pw_error *why);

/*
 * Start what the options asked for, for source (a path or the API) and the
 * maps pinned in pin_dir. 0, -EINVAL for bad usage, or another negative
 * errno, with why said. What the sources then see (a CNI ADD, a watch
 * reconnecting) they say through log.h.
 */
int pw_src_start(const char *source, const char *pin_dir, struct pw_error *why);

/* The started sources, for the engine's loop (pw_engine_run.src): how many. */
size_t pw_src_sources(struct pw_engine_source *out, size_t max);

/*
 * The objects to enforce (pw_engine_run.load; ctx unused): the manifest
 * path or the API's current objects, plus what the CNI registry knows
 * (pods' addresses; stand-ins for pods without a Pod object). 0, or a
 * negative errno with err set.
 */
int pw_src_load(void *ctx, struct pw_cluster **out, struct pw_error *err);

/*
 * Whether the API source's watches are established (for /readyz,
 * ops/health.h; any thread): every resource listed and no watch retrying
 * after an error or a 410. If not, why says which. Always true for a path
 * (the engine knows whether its last load succeeded).
 */
bool pw_src_in_sync(char *why, size_t len);

/* One load of a manifest file or directory, no source started (apply). */
int pw_src_load_once(const char *path, struct pw_cluster **out, struct pw_error *err);

/* The registered host veth ifindex of pod (0: not registered, ask the routes);
 * pw_engine_hooks.local_ifindex, ctx unused. */
uint32_t pw_src_local(void *ctx, const struct pw_pod *pod);

/*
 * Whether the source is in sync (for /readyz, ops/health.h; any thread): the
 * manifest directory was loaded once, or every API resource is listed and
 * its watch established. If not, why says what is missing.
 */
bool pw_src_in_sync(char *why, size_t len);

void pw_src_stop(void);

#endif
