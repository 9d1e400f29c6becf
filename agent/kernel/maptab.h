/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * maptab: the sync's working form of a map (kernel/ only). A pw_tab holds
 * (key, value) byte strings; sorted and deduplicated, two tables diff by a
 * merge walk, byte for byte (pad bytes are zero and LPM keys canonical:
 * pw_lpm_canon). pw_tab_read_map fills one from a map, in batches of
 * PW_BATCH entries where the kernel can, else key by key.
 *
 * Errors: a negative errno, and what failed in why (PW_WHY_LEN bytes, or
 * NULL).
 */
#ifndef PODWALL_KERNEL_MAPTAB_H
#define PODWALL_KERNEL_MAPTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "podwall/abi.h"
#include "kernel/mapsync.h" /* struct pw_sync_count */

#define PW_BATCH   4096
#define PW_WHY_LEN 512     /* = sizeof(pw_sync_stats.error) */

/* Element layout: key | value | u32 seq (insertion order, for stable dedup). */
struct pw_tab {
	uint32_t ksz, vsz, esz;
	size_t   n, cap;
	uint8_t *d;
};

static inline uint8_t *pw_tab_key(const struct pw_tab *t, size_t i)
{
	return t->d + i * t->esz;
}

static inline uint8_t *pw_tab_val(const struct pw_tab *t, size_t i)
{
	return t->d + i * t->esz + t->ksz;
}

static inline void pw_tab_swap(struct pw_tab *a, struct pw_tab *b)
{
	struct pw_tab t = *a;

	*a = *b;
	*b = t;
}

void pw_tab_init(struct pw_tab *t, uint32_t ksz, uint32_t vsz);
void pw_tab_free(struct pw_tab *t);
int  pw_tab_push(struct pw_tab *t, const void *k, const void *v); /* v NULL: zeros */
/* qsort_r order: key, then insertion order */
int  pw_tab_cmp(const void *a, const void *b, void *ctx);
/* Sort by key, drop later duplicates of a key; how many were dropped. */
size_t pw_tab_sort_dedup(struct pw_tab *t);
/* The element with key k (binary search of a sorted table), or NULL. */
uint8_t *pw_tab_find(const struct pw_tab *t, const void *k);
/* Logical difference of two sorted, deduplicated tables of the same shape. */
void pw_tab_diff_count(const struct pw_tab *old, const struct pw_tab *new,
		       struct pw_sync_count *cnt);
/* Number of keys of b that are not in a. */
size_t pw_tab_count_new(const struct pw_tab *a, const struct pw_tab *b);

/* What the sync knows of a map. */
struct pw_map_meta {
	int      fd;
	uint32_t id;
	uint32_t type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
};
/* Check fd's map has these key/value sizes and fill m. */
int pw_map_meta(int fd, const char *name, uint32_t ksz, uint32_t vsz, struct pw_map_meta *m,
		char *why);
/* Append every entry of the map m to t, then sort and deduplicate t. */
int pw_tab_read_map(const struct pw_map_meta *m, const char *name, struct pw_tab *t, char *why);

/* Zero every bit of an LPM key beyond its prefixlen; -EINVAL if prefixlen is too long. */
int  pw_lpm_canon(uint8_t *key, size_t ksz);
/* Both LPM keys have the slot byte right after prefixlen. */
#define LPM_SLOT_OFF offsetof(struct pw_ipcache_key, slot)
_Static_assert(offsetof(struct pw_ipcache_key, slot) == offsetof(struct pw_policy_key, slot),
	       "slot offset");


/* snprintf into why (PW_WHY_LEN bytes) unless NULL */
void pw_why(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
