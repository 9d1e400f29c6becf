/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The manifests of a command's -f options, merged (input.c).
 */
#ifndef PODWALL_CMD_INPUT_H
#define PODWALL_CMD_INPUT_H

#include <stddef.h>
#include "model.h"

/* The most -f a command takes. */
#define PW_CMD_MAX_INPUTS 32

/*
 * Load paths[0..n) (files, directories, "-") into one finished cluster.
 * Errors are printed as "podwall CMD: file:line: field: message". Returns
 * PW_EXIT_OK with *out set, PW_EXIT_USAGE (bad input) or PW_EXIT_SYSTEM.
 */
int pw_cmd_load(const char *cmd, const char *const *paths, size_t n, struct pw_cluster **out);

#endif
