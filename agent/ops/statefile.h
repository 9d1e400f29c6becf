/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The loaded-state file: after every successful sync, the agent and `apply`
 * write the names behind the numbers of the maps (loaded.h) to
 *
 *     /run/podwall/<basename of the pin dir>/state.json
 *
 * atomically (a temporary file in the same directory, fsync, rename),
 * root-only (directories 0700, file 0600). monitor, status, explain and the
 * metrics server read it. $PODWALL_STATE_DIR replaces /run/podwall.
 */
#ifndef PODWALL_OPS_STATEFILE_H
#define PODWALL_OPS_STATEFILE_H

#include <stddef.h>
#include "model.h"
#include "state.h"
#include "ops/loaded.h"

struct pw_agent_opts;
struct pw_sync_stats;

#define PW_STATE_ROOT "/run/podwall"

/* The path of the state file of a pin dir. 0 or -ENAMETOOLONG. */
int pw_ops_state_path(const char *pin_dir, char *buf, size_t len);

/*
 * Write the state file of pin_dir for the compiled state s of the objects c
 * that was just synced (st: generation and slot in force; o: mode, DNS
 * mode, source; either may be NULL). Failures are reported on stderr and
 * returned (0 or a negative errno); they never undo the sync.
 */
int pw_ops_write_state(const char *pin_dir, const struct pw_state *s, const struct pw_cluster *c,
		       const struct pw_agent_opts *o, const struct pw_sync_stats *st);

/* Write a model to path (atomically, 0600). */
int pw_loaded_save(const struct pw_loaded *l, const char *path);

/* Read the state file of pin_dir. -ENOENT if there is none; -EINVAL if malformed. */
int pw_ops_read_state(const char *pin_dir, struct pw_loaded *out);
int pw_loaded_load(const char *path, struct pw_loaded *out);

/* Remove the state file of pin_dir and its directory (uninstall). */
int pw_ops_remove_state(const char *pin_dir);

#endif
