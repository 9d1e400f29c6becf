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
 *
 * The file is written by a thread of its own, off the agent's path from a
 * change to its enforcement (at 10k pods the model, the JSON and the write
 * take tens of ms; handing them over takes a fraction of one): the caller
 * hands over what the write needs and returns. A newer write of a file
 * replaces one still queued (latest wins) and writes land in the order they
 * were asked for. pw_ops_state_flush, or the end of the process through
 * exit(), writes what is pending; a process killed outright loses at most
 * the newest write (the next sync writes the file again). Call these from
 * one thread; a process that forks must not rely on the writer in the child.
 */
#ifndef PODWALL_OPS_STATEFILE_H
#define PODWALL_OPS_STATEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include "model.h"
#include "state.h"
#include "ops/loaded.h"

struct pw_sync_stats;

/* How the agent runs, as the state file records it. */
struct pw_state_run {
	const char *source;     /* the manifest path, or the API */
	bool        audit;      /* every endpoint in audit mode */
	bool        dns_auto;
};

#define PW_STATE_ROOT "/run/podwall"

/* The path of the state file of a pin dir. 0 or -ENAMETOOLONG. */
int pw_ops_state_path(const char *pin_dir, char *buf, size_t len);

/*
 * Have the state file of pin_dir written for the compiled state s of the
 * objects c that was just synced (st: generation and slot in force; o: mode,
 * DNS mode, source; either may be NULL). The write is queued: s is copied
 * (what the file needs of it) and c referenced (pw_cluster_ref), so the
 * caller may free both at once, but must not change c's objects any more
 * (the writer reads them meanwhile). Failures are warned of (pw_warn), never undo
 * the sync, and are returned: here if the write could not be queued (0 or a
 * negative errno), by pw_ops_state_flush if the write itself failed.
 */
int pw_ops_write_state(const char *pin_dir, const struct pw_state *s, const struct pw_cluster *c,
		       const struct pw_state_run *o, const struct pw_sync_stats *st);
/* The same, taking s instead of copying it: *s is emptied (as pw_state_free
 * leaves it) whatever happens. */
int pw_ops_write_state_take(const char *pin_dir, struct pw_state *s, const struct pw_cluster *c,
			    const struct pw_state_run *o, const struct pw_sync_stats *st);
/*
 * Write what is queued, wait for it, and stop the writer thread (the next
 * write starts it again). Returns 0, or the error of the last write that
 * failed since the previous flush. A process that writes state files calls
 * it before it exits (exit() calls it too).
 */
int pw_ops_state_flush(void);

/* Write a model to path (atomically, 0600), here and now. */
int pw_loaded_save(const struct pw_loaded *l, const char *path);

/* Read the state file of pin_dir. -ENOENT if there is none; -EINVAL if malformed. */
int pw_ops_read_state(const char *pin_dir, struct pw_loaded *out);
int pw_loaded_load(const char *path, struct pw_loaded *out);

/* Remove the state file of pin_dir and its directory (uninstall). */
int pw_ops_remove_state(const char *pin_dir);

#endif
