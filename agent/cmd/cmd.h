/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One function per podwall subcommand, each in its own file under agent/cmd/.
 * Exit codes (the README's table): 0 success, 1 the command ran and found a
 * problem (lint findings, a flow denied, nothing pinned here), 2 bad input
 * or usage (nothing was changed; no such pod), 3 a kernel/system operation
 * failed.
 */
#ifndef PODWALL_CMD_H
#define PODWALL_CMD_H

#define PW_EXIT_OK      0
#define PW_EXIT_FOUND   1
#define PW_EXIT_USAGE   2
#define PW_EXIT_SYSTEM  3

/* The version `podwall --version` prints (with PW_ABI_VERSION, abi.h). */
#define PW_VERSION "0.1.0"

struct pw_cmd_doc;   /* opts.h: the command's one option table, help and usage */

struct pw_command {
	const char *name;
	int (*run)(int argc, char **argv);  /* argv[0] is the subcommand name */
	const struct pw_cmd_doc *doc;
};

/* The table lives in main.c; each entry points at a cmd_*.c. */
extern const struct pw_command pw_commands[];

int cmd_matrix(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_uninstall(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_hooks(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_bench(int argc, char **argv);

extern const struct pw_cmd_doc pw_doc_matrix, pw_doc_agent, pw_doc_apply, pw_doc_uninstall,
	pw_doc_monitor, pw_doc_status, pw_doc_hooks, pw_doc_explain, pw_doc_lint, pw_doc_bench;

#endif
