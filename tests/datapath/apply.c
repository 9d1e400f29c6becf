/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The datapath tests' compile-and-sync of a YAML world (apply.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "apply.h"
#include "kernel/mapsync.h"

int dp_apply_yaml(struct podwall_bpf *o, const char *world, const char *extra,
		  const struct pw_compile_opts *opts)
{
	struct pw_cluster *c = pw_cluster_new();
	struct pw_state s;
	struct pw_error err = { { 0 } };
	size_t len = strlen(world) + strlen(extra) + 1;
	char *y = malloc(len);
	int ret = -1;

	if (!c || !y)
		goto out;
	snprintf(y, len, "%s%s", world, extra);
	if (pw_cluster_load_buffer(c, "t.yaml", y, strlen(y), &err) ||
	    pw_cluster_finish(c, &err) || pw_compile(c, opts, &s, &err)) {
		fprintf(stderr, "apply: %s\n", err.msg);
		goto out;
	}
	ret = pw_sync(o, &s, NULL, NULL) ? -1 : 0;
	pw_state_free(&s);
out:
	pw_cluster_free(c);
	free(y);
	return ret;
}
