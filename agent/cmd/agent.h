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

struct pw_opt;
struct pw_cmd_doc;

/* The options agent and apply share: rows of each one's table (opts.h),
 * handled by pw_agent_opt. */
enum {
	PW_AOPT_PIN_DIR = 0x100, PW_AOPT_MODE, PW_AOPT_DNS, PW_AOPT_UPLINK, PW_AOPT_DNS_NS,
	PW_AOPT_DNS_LABEL, PW_AOPT_REDIRECT, PW_AOPT_MAX_,
};
#define PW_AGENT_OPTS                                                                   \
	{ PW_AOPT_PIN_DIR, 0, "pin-dir", "P", "where the maps are pinned (default: "        \
	  "/sys/fs/bpf/podwall/netns-<cookie of this network namespace>)", NULL },         \
	{ PW_AOPT_MODE, 0, "mode", "enforce|audit", "audit: would-be drops pass and are "   \
	  "reported (default enforce)", NULL },                                             \
	{ PW_AOPT_DNS, 0, "dns", "auto|off", "auto: every egress-isolated pod may reach "   \
	  "the cluster DNS on 53 (default off)", NULL },                                    \
	{ PW_AOPT_UPLINK, 0, "uplink", "DEV", "a device to other nodes (repeat; default: " \
	  "the devices of gateway routes)", NULL },                                         \
	{ PW_AOPT_DNS_NS, 0, "dns-namespace", "NS", "the cluster DNS's namespace (default " \
	  "kube-system)", NULL },                                                           \
	{ PW_AOPT_DNS_LABEL, 0, "dns-label", "k=v", "the cluster DNS pods' label (default " \
	  "k8s-app=kube-dns)", NULL },                                                      \
	{ PW_AOPT_REDIRECT, 0, "redirect", NULL, "judge an established same-node flow once "  \
	  "and send its packets straight into the other pod, past the node's forwarding and " \
	  "conntrack (default: both veths, through the node)", NULL }

/* One shared option (opt->id a PW_AOPT_*) of command d into o: 0, or
 * PW_EXIT_USAGE after saying why. */
int pw_agent_opt(const struct pw_cmd_doc *d, struct pw_agent_opts *o, const struct pw_opt *opt,
		 const char *val);
/* After the last option: what the state file records (o->run). */
void pw_agent_opts_done(struct pw_agent_opts *o);
void pw_agent_opts_free(struct pw_agent_opts *o);

/* The engine's hooks: the log on stderr, the state file (o->run), the
 * metrics, the CNI registry's pods. o must outlive the engine. */
void pw_agent_hooks(struct pw_agent_opts *o, struct pw_engine_hooks *h);

#endif
