/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The cluster's bump allocator (arena.h). */
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "k8s/arena.h"

#define CHUNK_MIN (64 * 1024)
#define ALIGN     (alignof(max_align_t))

struct pw_arena_chunk {
	struct pw_arena_chunk *next;
	size_t                 used;
	size_t                 cap;
	alignas(max_align_t) unsigned char data[];
};

void pw_arena_init(struct pw_arena *a)
{
	a->head = NULL;
	a->total = 0;
}

void pw_arena_release(struct pw_arena *a)
{
	struct pw_arena_chunk *c = a->head, *n;

	while (c) {
		n = c->next;
		free(c);
		c = n;
	}
	a->head = NULL;
	a->total = 0;
}

/* size bytes, zeroed or not */
static void *take(struct pw_arena *a, size_t size, bool zero)
{
	struct pw_arena_chunk *c = a->head;
	size_t need;
	void *p;

	if (size == 0)
		size = 1;
	if (size > SIZE_MAX / 2)
		return NULL;
	need = (size + ALIGN - 1) & ~(ALIGN - 1);
	if (!c || c->cap - c->used < need) {
		size_t cap = need > CHUNK_MIN ? need : CHUNK_MIN;

		if (need > CHUNK_MIN / 4 && c) {
			/* a big block gets a chunk of its own behind the current one,
			 * so the current chunk's free space is not wasted */
			struct pw_arena_chunk *big = malloc(sizeof(*big) + need);

			if (!big)
				return NULL;
			big->used = need;
			big->cap = need;
			big->next = c->next;
			c->next = big;
			a->total += need;
			if (zero)
				memset(big->data, 0, need);
			return big->data;
		}
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
	}
	p = c->data + c->used;
	c->used += need;
	a->total += need;
	if (zero)
		memset(p, 0, need);
	return p;
}

void *pw_arena_alloc(struct pw_arena *a, size_t size)
{
	return take(a, size, true);
}

/* n elements of size bytes, zeroed or not; NULL if n * size overflows */
static void *take_array(struct pw_arena *a, size_t n, size_t size, bool zero)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return take(a, n * size, zero);
}

void *pw_arena_alloc_array_raw(struct pw_arena *a, size_t n, size_t size)
{
	return take_array(a, n, size, false);
}

void *pw_arena_calloc(struct pw_arena *a, size_t n, size_t size)
{
	return take_array(a, n, size, true);
}

char *pw_arena_strndup(struct pw_arena *a, const char *s, size_t n)
{
	char *p = pw_arena_alloc(a, n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

char *pw_arena_strdup(struct pw_arena *a, const char *s)
{
	return pw_arena_strndup(a, s, strlen(s));
}

void *pw_arena_grow(struct pw_arena *a, const void *old, size_t old_n, size_t new_n,
		    size_t size)
{
	void *p = pw_arena_calloc(a, new_n, size);

	if (p && old_n)
		memcpy(p, old, old_n * size);
	return p;
}
