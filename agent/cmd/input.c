// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The manifests a command reads (-f FILE|DIR, as often as given): every
 * input merged into one cluster, as if they were one stream, so that
 * `-f policies/ -f dump.yaml` means both. Objects defined twice across
 * inputs are an error (pw_cluster_finish), like twice in one file. The pods
 * that are not endpoints (finished, hostNetwork: pw_pod_role_of) are said
 * once on stderr, so that a pod missing from an answer is never a mystery;
 * a terminating pod whose address a new pod has, with a warning of its own.
 */
#include <stdio.h>
#include <string.h>
#include "cmd/cmd.h"
#include "cmd/input.h"
#include "cmd/opts.h"

#define NAMES_SHOWN 3

static void note_skipped(const char *cmd, const struct pw_cluster *c, enum pw_pod_role role)
{
	size_t n = 0, shown = 0;
	char list[512] = "";
	int at = 0;

	for (size_t i = 0; i < c->n_skipped_pods; i++) {
		const struct pw_pod *p = &c->skipped_pods[i];

		if (p->role != role)
			continue;
		if (shown < NAMES_SHOWN && at < (int)sizeof(list)) {
			at += snprintf(list + at, sizeof(list) - (size_t)at, "%s%s/%s",
				       shown ? ", " : "", p->ns, p->name);
			shown++;
		}
		n++;
	}
	if (!n)
		return;
	fprintf(stderr, "podwall %s: note: %zu pod%s not an endpoint%s (%s%s): %s\n", cmd, n,
		n == 1 ? " is" : "s are", n == 1 ? "" : "s", list,
		n > shown ? ", ..." : "", pw_pod_role_text(role));
}

int pw_cmd_add_input(const struct pw_cmd_doc *d, struct pw_cmd_inputs *in, const char *path)
{
	if (in->n == PW_CMD_MAX_INPUTS)
		return pw_opts_bad(d, "at most %d -f", PW_CMD_MAX_INPUTS);
	in->v[in->n++] = path;
	return 0;
}

const char *pw_cmd_why_no_pod(const struct pw_cluster *c, const char *spec)
{
	static char buf[512];
	const char *slash = strchr(spec, '/');
	const struct pw_pod *sk;
	char ns[256];

	if (!slash)
		return "not NS/POD";
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - spec), spec);
	sk = pw_cluster_skipped_pod(c, ns, slash + 1);
	if (!sk)
		return pw_cluster_pod(c, ns, slash + 1) ? "the pod has no address" : "no such pod";
	snprintf(buf, sizeof(buf), "the pod is not an endpoint: %s", pw_pod_role_text(sk->role));
	return buf;
}

int pw_cmd_load(const char *cmd, const struct pw_cmd_inputs *in, struct pw_cluster **out)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = pw_cluster_new();
	int ret = 0;

	*out = NULL;
	if (!c) {
		fprintf(stderr, "podwall %s: out of memory\n", cmd);
		return PW_EXIT_SYSTEM;
	}
	for (size_t i = 0; i < in->n && !ret; i++)
		ret = pw_cluster_load_path(c, in->v[i], &err);
	if (!ret)
		ret = pw_cluster_finish(c, &err);
	if (ret) {
		fprintf(stderr, "podwall %s: %s\n", cmd, err.msg);
		pw_cluster_free(c);
		return PW_EXIT_USAGE;
	}
	note_skipped(cmd, c, PW_POD_FINISHED);
	note_skipped(cmd, c, PW_POD_HOST_NETWORK);
	/* rare and worth both names: one warning each */
	for (size_t i = 0; i < c->n_skipped_pods; i++) {
		char msg[1024];

		if (c->skipped_pods[i].role != PW_POD_REPLACED)
			continue;
		pw_pod_replaced_text(&c->skipped_pods[i], msg, sizeof(msg));
		fprintf(stderr, "podwall %s: warning: %s\n", cmd, msg);
	}
	*out = c;
	return PW_EXIT_OK;
}
