/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * podwall: dispatch to a subcommand. Nothing else lives here.
 */
#include <stdio.h>
#include <string.h>
#include "cmd/cmd.h"

const struct pw_command pw_commands[] = {
	{ "matrix", cmd_matrix,
	  "-f FILE [--ports 80,81] [--protocols TCP,UDP,SCTP] [--external-ips IP,...] [-o json|table]" },
	{ "agent", cmd_agent, "--source DIR|k8s [--kubeconfig PATH] [--cni-socket PATH] [--cni-pod-wait MS] [--pin-dir P] [--mode enforce|audit] [--dns auto|off] [--uplink DEV]... [--dns-namespace NS] [--dns-label k=v] [--metrics [ADDR:]PORT]" },
	{ "apply", cmd_apply, "-f FILE|DIR [--pin-dir P] [--mode enforce|audit] [--dns auto|off] [--uplink DEV]... [--dns-namespace NS] [--dns-label k=v]" },
	{ "uninstall", cmd_uninstall, "[--pin-dir P]" },
	{ "monitor", cmd_monitor, "[-o json|text] [--pod NS/POD] [--namespace NS] [--verdict drop|allow|audit] [--pin-dir P] [--count N] [--backlog]" },
	{ "status", cmd_status, "[-o json|text] [--pin-dir P]" },
	{ "lint", cmd_lint, "-f FILE|DIR [-f ...] [-o json|text] [--include-system] [--disable RULE,...] [--dns-namespace NS] [--dns-label k=v]" },
	{ "explain", cmd_explain, "--from NS/POD|IP --to NS/POD|IP --port N [--protocol TCP|UDP|SCTP] [-f FILE|DIR | --pin-dir P] [-o json|text]" },
	{ "bench", cmd_bench, "[datapath|control|all] [-o table|json] [--entries N,...] [--repeat N] [--runs N] [--policies N,...] [--pods N] [--changes N] [-v]" },
	{ NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: podwall COMMAND [ARGS]\n\ncommands:\n");
	for (const struct pw_command *c = pw_commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->usage);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return PW_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return PW_EXIT_OK;
	}
	for (const struct pw_command *c = pw_commands; c->name; c++)
		if (!strcmp(argv[1], c->name))
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "podwall: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return PW_EXIT_USAGE;
}
