/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The pinned maps of a running podwall, opened by path (bpf_obj_get): what
 * monitor, status, explain and the metrics server read. Nothing is loaded,
 * no program is touched, and nothing is written.
 */
#ifndef PODWALL_OPS_PINS_H
#define PODWALL_OPS_PINS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "podwall/abi.h"
#include "model.h" /* struct pw_error */

#include "kernel/maps.h" /* enum pw_map: the pins are named by pw_map_names */

struct pw_pins {
	char dir[PATH_MAX];
	int  fd[PW_MAP_MAX];   /* -1 if not pinned */
};

#define PW_PIN_BIT(m) (1u << (m))
#define PW_PINS_ALL   ((1u << PW_MAP_MAX) - 1)

/*
 * Open the maps of pin_dir (NULL: the default pin dir of this network
 * namespace). The maps in need must be there, else -ENOENT with why set
 * (another negative errno: why says what failed). Others are opened when
 * present. On failure nothing stays open.
 */
int  pw_pins_open(const char *pin_dir, unsigned need, struct pw_pins *p, struct pw_error *why);
void pw_pins_close(struct pw_pins *p);

/* Resolve NULL to the default pin dir of this network namespace. */
int pw_pins_default_dir(const char *pin_dir, char *buf, size_t len);

/* The pinned maps as a set of fds (-1 where not pinned: e.g. the LPM halves
 * in pins of a podwall from before the split). */
void pw_pins_map_fds(const struct pw_pins *p, struct pw_map_fds *fds);

int pw_pins_config(const struct pw_pins *p, struct pw_config *cfg);
/* out[PW_COUNTERS_MAX], summed over CPUs */
int pw_pins_counters(const struct pw_pins *p, struct pw_counter *out);
/* events suppressed by the rate limit and not yet reported with an event */
int pw_pins_pending_suppressed(const struct pw_pins *p, uint64_t *n);

/* fqdn_stats summed over CPUs, out[PW_FQDN_STAT_MAX]. -ENOENT if not pinned. */
int pw_pins_fqdn_stats(const struct pw_pins *p, uint64_t *out);
/* ct_stats summed over CPUs, out[PW_CT_STAT_MAX]. -ENOENT if not pinned (before ABI 4). */
int pw_pins_ct_stats(const struct pw_pins *p, uint64_t *out);

/* One name a pod has resolved to an address, still within its TTL (fqdn_learned). */
struct pw_fqdn_entry {
	uint32_t ep_id;
	uint32_t name_id;
	uint8_t  owner[16];    /* the pod's address when it learned: compare with the endpoint's */
	uint8_t  addr[16];
	uint32_t ttl_left;     /* seconds */
};

/*
 * Every live entry of fqdn_learned, sorted by ep_id, address and name id,
 * into *out (malloc'd, the caller frees). now_s: CLOCK_MONOTONIC seconds,
 * the datapath's clock. -ENOENT if not pinned.
 */
int pw_pins_fqdn_learned(const struct pw_pins *p, uint32_t now_s, struct pw_fqdn_entry **out,
			 size_t *n);

/*
 * The names fqdn_learned holds: live (within their TTL) and expired (their
 * TTL ran out, their slot not yet taken back). 0 or a negative errno.
 */
int pw_pins_fqdn_count(const struct pw_pins *p, uint32_t now_s, uint64_t *live,
		       uint64_t *expired);

struct pw_map_fill {
	uint32_t type;          /* BPF_MAP_TYPE_* */
	uint32_t max_entries;   /* capacity (ring buffer: bytes) */
	uint32_t key_size;
	uint32_t value_size;
	uint64_t entries;       /* counted now, both slots (arrays: max_entries) */
	uint64_t live_slot;     /* ipcache, policy and their LPM halves: keys of the live slot */
	uint64_t summaries;     /* policy: of live_slot, the summary keys (abi.h), not rules */
	bool     counted;
	bool     slotted;       /* keys carry a slot byte: live_slot (and summaries) mean something */
};

/*
 * Capacity and a raw count of the entries of map m (walks the keys): what
 * the map holds against max_entries, whatever the entries mean.
 */
int pw_pins_fill(const struct pw_pins *p, enum pw_map m, uint32_t live_slot,
		 struct pw_map_fill *out);

/*
 * The live slot read back as one state (pw_sync_read_live over the pins):
 * what the three below count and list, read once for all of them. 0, or a
 * negative errno with why set; pw_state_free(live) after.
 */
struct pw_state;
int pw_pins_read_live(const struct pw_pins *p, struct pw_config *cfg, struct pw_state *live,
		      struct pw_error *why);

/*
 * The policy set in force, counted logically over the live slot read as one
 * state, so that a rule counts once wherever it lives (hash or LPM half) and
 * the policy summaries do not count. [0] is the entries that live in the
 * hash half, [1] those in the LPM half.
 */
struct pw_live_count {
	uint32_t slot;          /* the live slot and generation of that read */
	uint32_t generation;
	uint64_t policy[2];     /* allow rules: [0] in policy, [1] in policy_lpm */
	uint64_t ipcache[2];    /* addresses and prefixes: [0] ipcache, [1] ipcache_lpm */
};

/* live and cfg from pw_pins_read_live; p says whether the maps are split. */
void pw_pins_live_count(const struct pw_pins *p, const struct pw_config *cfg,
			const struct pw_state *live, struct pw_live_count *out);

/*
 * The policy entries in force by the tier of the rule that decides them
 * (names: the loaded-state file's rules): out[0] NetworkPolicy (or no rule),
 * out[1] ClusterNetworkPolicy Admin tier, out[2] Baseline tier; deny: how
 * many of all of them drop.
 */
struct pw_loaded;
void pw_pins_live_tiers(const struct pw_state *live, const struct pw_loaded *names,
			uint64_t out[3], uint64_t *deny);

/*
 * The rules in force: each (ep_id, dir, rule_id) that decides at least one
 * policy entry of the live slot, once, sorted. *out is malloc'd (free it).
 * 0 or a negative errno.
 */
struct pw_live_rule {
	uint32_t ep_id;
	uint32_t rule_id;
	uint8_t  dir;
};
int pw_pins_live_rules(const struct pw_state *live, struct pw_live_rule **out, size_t *n);

#endif
