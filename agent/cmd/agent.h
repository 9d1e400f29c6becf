/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What `podwall agent` and `podwall apply` share: their options (one
 * parser, agent.c) and the hooks that wire the engine (agent/engine/) to
 * the log, the state file and the metrics.
 */
#ifndef PODWALL_CMD_AGENT_H
#define PODWALL_CMD_AGENT_H

#include <stdbool.h>
#include "engine/engine.h"
#include "ops/statefile.h"

struct pw_agent_opts {
	const char             *source;   /* --source / -f: a file or a directory (or k8s) */
	struct pw_engine_config eng;      /* --pin-dir, --mode, --dns*, --uplink */
	char                    dns_label_key[256]; /* --dns-label k=v */
	char                   *dns_label_buf;      /* owns the value */
	struct pw_state_run     run;      /* what the state file records */
};

/*
 * Parse the options shared by agent and apply (argv[0] is the command).
 * Returns 0, or PW_EXIT_USAGE after printing why (usage is the one-line usage).
 * help is set for -h/--help (usage printed on stdout).
 */
int pw_agent_parse(int argc, char **argv, const char *usage, struct pw_agent_opts *o,
		   bool *help);
void pw_agent_opts_free(struct pw_agent_opts *o);

/* The engine's hooks: the log on stderr, the state file (o->run), the
 * metrics, the CNI registry's pods. o must outlive the engine. */
void pw_agent_hooks(struct pw_agent_opts *o, struct pw_engine_hooks *h);

#endif
