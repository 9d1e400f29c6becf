/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's other sources (issue 7), as agent.c calls them:
 *
 *   --source k8s [--kubeconfig PATH]   the Kubernetes API (k8s_api.c): list +
 *                                      watch instead of a manifest directory;
 *                                      in-cluster service account by default
 *   --cni-socket PATH                  serve podwall-cni (cni_server.c): the
 *                                      registry of local pods' host veths and
 *                                      addresses, consulted before routes
 *   --cni-state FILE                   where the registry is kept
 *                                      (default: endpoints.json beside the socket)
 *   --cni-pod-wait MS                  how long an ADD waits for the pod's Pod
 *                                      object before isolating it (default 3000)
 *
 * agent.c: take the options out of argv before its own parsing, start after
 * the BPF object is open, poll pw_src_fd() with its other descriptors and
 * call pw_src_handle() when it is readable, load through pw_src_load()
 * instead of pw_engine_load(), and stop at the end. The engine asks
 * pw_src_local() for a pod's host veth before it looks at routes.
 */
#ifndef PODWALL_SOURCE_SOURCE_H
#define PODWALL_SOURCE_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

struct pw_engine;
struct pw_cluster;
struct pw_pod;
struct pw_error;
struct pw_agent_opts;

/* Remove our options from argv (argc updated). 0, or PW_EXIT_USAGE after saying why. */
int pw_src_take_opts(int *argc, char **argv);

/* --source names the Kubernetes API ("k8s", "kubernetes") rather than a path. */
bool pw_src_is_api(const char *source);

/* Start what the options asked for. 0 or a PW_EXIT_* code (after saying why). */
int pw_src_start(struct pw_engine *e, const struct pw_agent_opts *o);

/* A descriptor that is readable when pw_src_handle() has work; -1 if none. */
int pw_src_fd(void);

/*
 * Serve the CNI socket (ADD and DEL push at once through pw_engine_push, and
 * then *cur is the cluster in force) and note API changes. Returns 1 when the
 * caller should reload (debounced), else 0.
 */
int pw_src_handle(struct pw_engine *e, struct pw_cluster **cur);

/*
 * The objects to enforce: the manifest directory (pw_engine_load) or the
 * API's current objects, plus what the CNI registry knows (pods' addresses;
 * stand-ins for pods without a Pod object). 0, or a negative errno with err set.
 */
int pw_src_load(struct pw_engine *e, struct pw_cluster **out, struct pw_error *err);

/* The registered host veth ifindex of pod (0: not registered, ask the routes). */
uint32_t pw_src_local(const struct pw_pod *pod);

void pw_src_stop(void);

#endif
