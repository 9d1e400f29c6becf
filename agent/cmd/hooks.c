// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * podwall hooks [--all]: where podwall's programs run in this network
 * namespace, one line per program: device, direction, kind of hook (tcx or
 * tc, kernel/attach.h), program name and id. `tc filter show` does not list
 * tcx programs (iproute2 before 6.6, bpftool before 7.3), so this is the
 * view an operator has of them. --all lists every tc filter and tcx
 * program of every device, podwall's marked. Reads only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "kernel/attach.h"
#include "kernel/route.h"

enum { O_ALL = 1 };

static const struct pw_opt hooks_opts[] = {
	{ O_ALL, 0, "all", NULL, "every tc filter and tcx program, not only podwall's", NULL },
	{ 0 },
};

const struct pw_cmd_doc pw_doc_hooks = {
	"hooks", "[--all]",
	"list the devices and tc hooks podwall's programs run at in this network namespace",
	hooks_opts,
};

static int hooks_opt(void *ctx, const struct pw_opt *o, const char *val)
{
	bool *all = ctx;

	if (!o)
		return pw_opts_bad(&pw_doc_hooks, "unexpected argument '%s'", val);
	*all = true;
	return 0;
}

int cmd_hooks(int argc, char **argv)
{
	struct pw_link *links = NULL;
	struct pw_rt *rt = NULL;
	size_t n_links = 0;
	unsigned ours = 0;
	bool all = false;
	int kind, err, ret;

	ret = pw_opts_parse(&pw_doc_hooks, argc, argv, hooks_opt, &all);
	if (ret)
		return ret == PW_OPTS_HELP ? PW_EXIT_OK : ret;
	ret = PW_EXIT_SYSTEM;
	kind = pw_attach_kind();
	if (kind < 0) {
		fprintf(stderr, "podwall hooks: PODWALL_ATTACH must be tc, tcx or auto\n");
		return PW_EXIT_USAGE;
	}
	err = pw_rt_open(&rt);
	if (!err)
		err = pw_rt_links(rt, &links, &n_links);
	if (err) {
		fprintf(stderr, "podwall hooks: listing links: %s\n", strerror(-err));
		goto out;
	}
	printf("# podwall attaches at %s hooks here\n", pw_hook_kind_name(kind));
	for (size_t i = 0; i < n_links; i++) {
		for (int e = 0; e < 2; e++) {
			struct pw_tc_filter *f = NULL;
			size_t n = 0;

			err = pw_tc_list(rt, links[i].ifindex, e, &f, &n);
			if (err) {
				fprintf(stderr, "podwall hooks: %s %s: %s\n", links[i].name,
					e ? "egress" : "ingress", strerror(-err));
				goto out;
			}
			for (size_t j = 0; j < n; j++) {
				if (!f[j].podwall && !all)
					continue;
				ours += f[j].podwall;
				printf("%-16s %-7s %-3s %-10s id %-7u%s\n", links[i].name,
				       e ? "egress" : "ingress", strcmp(f[j].kind, "tcx") ? "tc" : "tcx",
				       f[j].prog_name[0] ? f[j].prog_name : f[j].kind, f[j].prog_id,
				       f[j].podwall ? "  podwall" : "");
			}
			free(f);
		}
	}
	ret = ours ? PW_EXIT_OK : PW_EXIT_FOUND;
out:
	free(links);
	pw_rt_close(rt);
	return ret;
}
