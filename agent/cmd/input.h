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

struct pw_cmd_doc;

/* The -f of a command, in the order given. */
struct pw_cmd_inputs {
	const char *v[PW_CMD_MAX_INPUTS];
	size_t      n;
};

/* One more -f (of command d): 0, or PW_EXIT_USAGE past PW_CMD_MAX_INPUTS. */
int pw_cmd_add_input(const struct pw_cmd_doc *d, struct pw_cmd_inputs *in, const char *path);

/* Why "NS/POD" is no pod of c that a command can use: "no such pod", or the
 * reason a pod is no endpoint (pw_pod_role_text). */
const char *pw_cmd_why_no_pod(const struct pw_cluster *c, const char *spec);

/*
 * Load every input (files, directories, "-") into one finished cluster.
 * Errors are printed as "podwall CMD: file:line: field: message". Returns
 * PW_EXIT_OK with *out set, PW_EXIT_USAGE (bad input) or PW_EXIT_SYSTEM.
 */
int pw_cmd_load(const char *cmd, const struct pw_cmd_inputs *in, struct pw_cluster **out);

#endif
