/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One function per podwall subcommand, each in its own file under agent/cmd/.
 * Exit codes: 0 success, 1 the command ran and found a problem (lint
 * findings, a probe denied...), 2 bad input or usage, 3 a kernel/system
 * operation failed.
 */
#ifndef PODWALL_CMD_H
#define PODWALL_CMD_H

#define PW_EXIT_OK      0
#define PW_EXIT_FOUND   1
#define PW_EXIT_USAGE   2
#define PW_EXIT_SYSTEM  3

struct pw_command {
	const char *name;
	int (*run)(int argc, char **argv);  /* argv[0] is the subcommand name */
	const char *usage;                  /* one line, after "podwall NAME " */
};

/* The table lives in main.c; each entry points at a cmd_*.c. */
extern const struct pw_command pw_commands[];

int cmd_matrix(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_uninstall(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
