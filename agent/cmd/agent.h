/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The engine behind `podwall agent` and `podwall apply`: load manifests,
 * resolve which pods are local (route.c), compile, sync the pinned maps
 * (mapsync.c), attach the programs (attach.c). agent.c runs it in a loop,
 * apply.c once.
 */
#ifndef PODWALL_CMD_AGENT_H
#define PODWALL_CMD_AGENT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model.h"
#include "state.h"
#include "kernel/attach.h"
#include "kernel/mapsync.h"
#include "clock.h" /* pw_now_ns */

#define PW_MAX_UPLINKS 16

struct pw_agent_opts {
	const char *source;            /* --source / -f: a file or a directory */
	const char *pin_dir;           /* --pin-dir, NULL: the default for this netns */
	bool        audit;             /* --mode audit */
	bool        dns_auto;          /* --dns auto */
	const char *uplinks[PW_MAX_UPLINKS];
	size_t      n_uplinks;         /* --uplink DEV...; 0: devices of gateway routes */
	const char *dns_namespace;     /* --dns-namespace */
	char        dns_label_key[256];/* --dns-label k=v */
	const char *dns_label_value;
	char       *dns_label_buf;     /* owns the value */
	bool        strict_uplinks;    /* apply: a missing --uplink is an error */
};

/*
 * Parse the options shared by agent and apply (argv[0] is the command).
 * Returns 0, or PW_EXIT_USAGE after printing why (usage is the one-line usage).
 * help is set for -h/--help (usage printed on stdout).
 */
int pw_agent_parse(int argc, char **argv, const char *usage, struct pw_agent_opts *o,
		   bool *help);
void pw_agent_opts_free(struct pw_agent_opts *o);

/* /sys/fs/bpf/podwall/netns-<cookie of this network namespace> */
int pw_default_pin_dir(char *buf, size_t len);

struct pw_engine;

/* Network lookups only; the BPF object is opened by pw_engine_bpf(). */
int  pw_engine_new(const struct pw_agent_opts *o, struct pw_engine **out);
void pw_engine_free(struct pw_engine *e);
const char *pw_engine_pin_dir(const struct pw_engine *e);

/* Open the BPF object with maps pinned in the pin dir (adopting pins there). */
int pw_engine_bpf(struct pw_engine *e);

/* Load every manifest of the source. 0, or a negative errno with err set. */
int pw_engine_load(struct pw_engine *e, struct pw_cluster **out, struct pw_error *err);

enum pw_push_kind {
	PW_PUSH_FIRST = 0,  /* first pass: sync, attach and sweep whatever happens */
	PW_PUSH_SOURCE,     /* the source changed: report even when nothing did */
	PW_PUSH_TICK,       /* periodic re-resolution: quiet unless something changed */
};

struct pw_push_result {
	bool                   did_sync;
	bool                   did_attach;
	struct pw_sync_stats   sync;
	struct pw_attach_stats att;
	size_t                 n_endpoints;
	double                 ms;
	/* where ms went: load (objects from the source, filled by the caller),
	 * resolve (pods' devices, uplinks, node addresses), compile, sync, attach */
	double                 load_ms, resolve_ms, compile_ms, sync_ms, attach_ms;
	int                    exit_code;  /* PW_EXIT_* */
};

/*
 * Resolve, compile c and bring the kernel in line: sync when the compile
 * result differs from the last one applied (always for PW_PUSH_FIRST), attach
 * when the set of places to attach differs. Prints one line per apply (and
 * errors) on stderr. start_ns: when this pass began (for the timing).
 * Returns 0, or a negative errno (res->exit_code says input or system).
 */
/* The rtnetlink monitor (-1 if none): readable when links, addresses, routes
 * or rules changed; a push (any kind) drains it. */
int pw_engine_monitor_fd(const struct pw_engine *e);

/* Make the next PW_PUSH_TICK list every filter and put back what is missing
 * (the agent does it every 10 s; other pushes attach only where places
 * changed). */
void pw_engine_verify_next(struct pw_engine *e);

int pw_engine_push(struct pw_engine *e, const struct pw_cluster *c, enum pw_push_kind kind,
		   uint64_t start_ns, struct pw_push_result *res);

#endif
