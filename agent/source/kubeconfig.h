/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * How to reach the API server: a kubeconfig file, or the in-cluster service
 * account (KUBERNETES_SERVICE_HOST/PORT, the token and ca.crt under
 * /var/run/secrets/kubernetes.io/serviceaccount).
 *
 * The kubeconfig reader is modest but real: current-context (or a named
 * one) -> its cluster (server, certificate-authority[-data],
 * insecure-skip-tls-verify, tls-server-name) and user (token, tokenFile,
 * client-certificate[-data], client-key[-data], username/password). Relative
 * paths are relative to the kubeconfig's directory. exec and auth-provider
 * credentials are not supported (an error says so).
 */
#ifndef PODWALL_SOURCE_KUBECONFIG_H
#define PODWALL_SOURCE_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct pw_error;

#define PW_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* Bounds on a kubeconfig (hostile input as much as a manifest is; those of
 * the manifest loader, agent/k8s/internal.h, scaled to what a kubeconfig of
 * a few thousand contexts with embedded certificates needs). */
#define PW_KCFG_MAX_FILE    (16u * 1024 * 1024) /* bytes of the file */
#define PW_KCFG_MAX_DEPTH   32                  /* nesting of collections */
#define PW_KCFG_MAX_SCALAR  (1u * 1024 * 1024)  /* bytes of one scalar */
#define PW_KCFG_MAX_NODES   (1u * 1024 * 1024)  /* nodes of the document */
#define PW_KCFG_MAX_ENTRIES 16384               /* items of a list, keys of a mapping */
#define PW_KCFG_MAX_ANCHORS 1024                /* libyaml looks them up linearly */
#define PW_KCFG_MAX_ALIASES 65536
/* mapping pairs looked at while reading (aliases share nodes): per node */
#define PW_KCFG_VISITS_PER_NODE 8
#define PW_KCFG_VISITS_SLACK    4096

struct pw_blob {
	unsigned char *data;
	size_t         len;
};

struct pw_kcfg {
	char          *server;          /* "https://host:port", no trailing slash */
	char          *token;           /* a fixed bearer token, or NULL */
	char          *token_file;      /* read before every request (rotated tokens) */
	char          *ca_file;
	struct pw_blob ca;              /* certificate-authority-data (PEM) */
	char          *cert_file;
	struct pw_blob cert;
	char          *key_file;
	struct pw_blob key;
	char          *username, *password;
	char          *tls_server_name;
	bool           insecure;
	char          *origin;          /* "kubeconfig PATH (context C)" or "in-cluster" */
};

/* 0, or -errno with err set: its msg always ("PATH:LINE: field: why" when
 * the file is to blame), file, line and field when the place is known. */
int  pw_kcfg_load(const char *path, const char *context, struct pw_kcfg *out,
		  struct pw_error *err);
int  pw_kcfg_in_cluster(struct pw_kcfg *out, struct pw_error *err);
void pw_kcfg_free(struct pw_kcfg *c);

/* The bearer token for the next request (token_file re-read), malloc'd; NULL if none. */
char *pw_kcfg_token(const struct pw_kcfg *c);

/* Standard base64 (padding optional, whitespace skipped). 0 or -EINVAL. */
int pw_base64_decode(const char *in, struct pw_blob *out);

#endif
