/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A bump allocator: every string and array of a pw_cluster lives in one
 * arena and is freed at once with it. Allocations are zeroed, but for
 * pw_arena_alloc_array_raw.
 */
#ifndef PODWALL_K8S_ARENA_H
#define PODWALL_K8S_ARENA_H

#include <stddef.h>

struct pw_arena_chunk;

struct pw_arena {
	struct pw_arena_chunk *head;
	size_t                 total;   /* bytes handed out, for limits */
};

void  pw_arena_init(struct pw_arena *a);
void  pw_arena_release(struct pw_arena *a);
/* zeroed memory, max_align_t aligned; NULL on overflow or ENOMEM */
void *pw_arena_alloc(struct pw_arena *a, size_t size);
void *pw_arena_calloc(struct pw_arena *a, size_t n, size_t size);
/* n elements NOT zeroed, for an array the caller fills whole (a copy of
 * 10,000 pods need not be zeroed first) */
void *pw_arena_alloc_array_raw(struct pw_arena *a, size_t n, size_t size);
char *pw_arena_strndup(struct pw_arena *a, const char *s, size_t n);
char *pw_arena_strdup(struct pw_arena *a, const char *s);
/* a new array of new_n elements holding the old_n elements of old */
void *pw_arena_grow(struct pw_arena *a, const void *old, size_t old_n, size_t new_n,
		    size_t size);

#endif
