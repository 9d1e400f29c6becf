/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The Kubernetes API source: list + watch of Namespaces, Pods,
 * NetworkPolicies and Services (libcurl, jansson), one thread per resource.
 *
 * Each watch resumes from the last resourceVersion seen (objects and
 * BOOKMARKs, allowWatchBookmarks=true); a 410 Gone (as the HTTP status or as
 * an ERROR event) means the version is too old: the resource is listed again
 * and its objects replaced. Errors and dropped connections are retried with
 * exponential backoff (0.5 s doubling to 30 s). Objects are trimmed to the
 * fields podwall reads and checked with the loader as they arrive: one the
 * loader rejects is reported with its name and its last good version is kept
 * (none if it never had one).
 *
 * The objects in force are handed to the loader, one buffer per object, named
 * "k8s:RESOURCE/NS/NAME", so that semantics and error messages are the
 * directory source's.
 */
#ifndef PODWALL_SOURCE_K8S_API_H
#define PODWALL_SOURCE_K8S_API_H

#include <stdbool.h>
#include <stddef.h>

struct pw_cluster;
struct pw_error;
struct pw_k8s;

struct pw_k8s_opts {
	const char *kubeconfig;   /* NULL: in-cluster service account */
	const char *context;      /* kubeconfig context, NULL: current-context */
	int         notify_fd;    /* an eventfd: written (1) after every change */
};

/* One resource the agent reads: its API path and what RBAC calls it. */
struct pw_k8s_resource {
	const char *name;         /* "pods" */
	const char *group;        /* "" for the core group, "networking.k8s.io" */
	const char *path;         /* "/api/v1/pods" */
	const char *kind;         /* "Pod" */
};
extern const struct pw_k8s_resource pw_k8s_resources[];
extern const size_t pw_k8s_n_resources;

/* 0, or -EINVAL (a kubeconfig or cluster config that does not do) or another
 * negative errno, with err_out said; the watches then log through log.h. */
int  pw_k8s_start(const struct pw_k8s_opts *o, struct pw_k8s **out, struct pw_error *err_out);
void pw_k8s_stop(struct pw_k8s *k);

/*
 * Load the current objects into c and finish it. -EAGAIN (err says which)
 * until every resource has been listed once: nothing is enforced from half a
 * view of the cluster.
 */
int pw_k8s_build(struct pw_k8s *k, struct pw_cluster *c, struct pw_error *err);

/*
 * Whether every resource has been listed and its watch is established (not
 * failing: retrying after an error, or listing again after a 410). If not,
 * why names the resources and what they wait for. Any thread.
 */
bool pw_k8s_in_sync(struct pw_k8s *k, char *why, size_t len);

/* Whether pod ns/name is known (listed or watched, not deleted). */
bool pw_k8s_has_pod(struct pw_k8s *k, const char *ns, const char *name);

#endif
