/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cttable: the conntrack table (abi.h, include/podwall/cttable.h) from
 * userspace, through one mmap of the array (BPF_F_MMAPABLE): lookups,
 * inserts and deletes follow the same protocol as the programs (headers
 * changed only by compare-and-swap), so the agent may write while packets
 * flow. The readers (count, each) copy an entry and keep it only if its
 * header did not change meanwhile.
 */
#ifndef PODWALL_KERNEL_CTTABLE_H
#define PODWALL_KERNEL_CTTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "podwall/abi.h"

struct pw_ct_table {
	struct pw_ct_set *sets;
	uint32_t n_sets;  /* a power of two */
	size_t len;       /* bytes mapped */
};

/* Map the table of conntrack map fd; -EINVAL if fd is not one (another layout). */
int pw_ct_table_open(int fd, struct pw_ct_table *t);
void pw_ct_table_close(struct pw_ct_table *t);

/* 0 and *v, or -ENOENT. */
int pw_ct_table_get(const struct pw_ct_table *t, const struct pw_ct_key *k, struct pw_ct_val *v);
/*
 * Insert k (as the programs do: its own way, a free one, an expired one,
 * else the least recently seen). replace false: -EEXIST if k is there.
 * -EBUSY if every way stayed claimed by others.
 */
int pw_ct_table_put(const struct pw_ct_table *t, const struct pw_ct_key *k,
		    const struct pw_ct_val *v, bool replace);
int pw_ct_table_del(const struct pw_ct_table *t, const struct pw_ct_key *k);

/*
 * Call fn for each live entry (a consistent copy) until it returns non-zero
 * (returned). Entries written meanwhile may be seen or not.
 */
int pw_ct_table_each(const struct pw_ct_table *t,
		     int (*fn)(const struct pw_ct_key *k, const struct pw_ct_val *v, void *ctx),
		     void *ctx);
/* Live entries. */
size_t pw_ct_table_count(const struct pw_ct_table *t);
/* Free every live way. */
void pw_ct_table_clear(const struct pw_ct_table *t);

#endif
