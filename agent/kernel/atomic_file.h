/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * atomic_file: replace a file so that a reader sees the old content or the
 * new, never a part, and a crash leaves one of the two whole. The one way
 * podwall writes a file that others read (the state file, the CNI registry,
 * the CNI configuration podwall-cni chains itself into): a hidden
 * temporary file in the same directory, written, fsync'ed, renamed over
 * the old one. One fsync policy: always before the rename.
 */
#ifndef PODWALL_KERNEL_ATOMIC_FILE_H
#define PODWALL_KERNEL_ATOMIC_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Write data[0..len) as path, with mode (umask not applied). 0 or a negative
 * errno; on failure the old file is untouched and no temporary file is left. */
int pw_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

#endif
