/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * podwall: dispatch to a subcommand. Nothing else lives here: each command's
 * options, help and usage line are its table (cmd/opts.h).
 */
#include <stdio.h>
#include <string.h>
#include "podwall/abi.h"
#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "log.h"

const struct pw_command pw_commands[] = {
	{ "matrix",    cmd_matrix,    &pw_doc_matrix },
	{ "agent",     cmd_agent,     &pw_doc_agent },
	{ "apply",     cmd_apply,     &pw_doc_apply },
	{ "uninstall", cmd_uninstall, &pw_doc_uninstall },
	{ "monitor",   cmd_monitor,   &pw_doc_monitor },
	{ "status",    cmd_status,    &pw_doc_status },
	{ "hooks",     cmd_hooks,     &pw_doc_hooks },
	{ "lint",      cmd_lint,      &pw_doc_lint },
	{ "explain",   cmd_explain,   &pw_doc_explain },
	{ "bench",     cmd_bench,     &pw_doc_bench },
	{ NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: podwall COMMAND [OPTIONS]   (podwall COMMAND --help: its options)\n"
		"       podwall --version\n\ncommands:\n");
	for (const struct pw_command *c = pw_commands; c->name; c++)
		fprintf(f, "  %-10s %s\n             %s\n", c->name, c->doc->about, c->doc->usage);
	fprintf(f, "\nexit: 0 ok, 1 found a problem (lint findings, a denied flow, nothing pinned "
		"here), 2 bad input or usage (nothing changed), 3 a kernel or system operation "
		"failed\n");
}

/* what the layers below cmd/ say while they go on (log.h): one line each */
static void log_stderr(void *ctx, enum pw_log_level level, const char *line)
{
	fprintf(stderr, "%s\n", line);
}

int main(int argc, char **argv)
{
	pw_log_set(log_stderr, NULL);
	if (argc < 2) {
		usage(stderr);
		return PW_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return PW_EXIT_OK;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("podwall %s (BPF ABI %d)\n", PW_VERSION, PW_ABI_VERSION);
		return PW_EXIT_OK;
	}
	for (const struct pw_command *c = pw_commands; c->name; c++)
		if (!strcmp(argv[1], c->name))
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "podwall: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return PW_EXIT_USAGE;
}
