/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * watch: follow a manifest directory (or one file) with inotify.
 *
 * A directory is watched for files created, written and closed, moved in or
 * out, and deleted; a file is watched through its parent directory, for that
 * name only. Only names the loader reads count (*.yaml, *.yml, *.json, not
 * hidden), so editors' swap files do not trigger reloads; but "..data"
 * counts: its replacement is how kubelet's atomic writer swaps a new version
 * of a ConfigMap (or Secret) volume in. If the watched directory itself goes
 * away or is replaced, the watch is re-armed when it comes back.
 */
#ifndef PODWALL_KERNEL_WATCH_H
#define PODWALL_KERNEL_WATCH_H

#include <stdbool.h>

struct pw_watch;

int  pw_watch_open(const char *path, struct pw_watch **out);
void pw_watch_close(struct pw_watch *w);

/* The inotify descriptor to poll (readable when events are pending). */
int pw_watch_fd(const struct pw_watch *w);

/*
 * Read every pending event. Returns 2 if one of them is a settled change of
 * the source (a file closed after writing, moved in or out, deleted; the
 * directory gone; a queue overflow), 1 if the only changes are files just
 * created (their writer may not be done: wait a little for the close),
 * 0 if nothing relevant happened, or a negative errno.
 */
int pw_watch_drain(struct pw_watch *w);

/*
 * If the watched directory went away, try to watch it again (call now and
 * then). Returns 1 if it was re-armed (treat as a change), 0 otherwise.
 */
int pw_watch_rearm(struct pw_watch *w);

#endif
