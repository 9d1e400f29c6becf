/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* podwall-cni internals shared by main.c and chain.c. */
#ifndef PODWALL_CNI_H
#define PODWALL_CNI_H

/* Print the CNI error object on stdout (and the message on stderr), exit 1. */
void cni_fail(int code, const char *details, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

/* `podwall-cni chain|unchain ...` (argv[0] is the subcommand). */
int cni_chain_main(int argc, char **argv);

#endif
