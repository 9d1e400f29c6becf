/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Stable numbers from keys: identities and endpoint ids are a hash of what
 * they stand for, so the same objects give the same numbers on every run and
 * on every node, and a small change gives a small diff. Collisions are
 * resolved by probing, in the sorted order of the keys.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "compiler/internal.h"

uint64_t pw_hash64(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL;   /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	/* splitmix64 finalizer: spread FNV's weak low bits */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

/* an open-addressing set of non-zero u32 */
struct u32set {
	uint32_t *v;
	size_t    mask;
};

static int set_init(struct u32set *s, size_t n)
{
	size_t cap = 16;

	while (cap < n * 2 + 1)
		cap *= 2;
	s->v = calloc(cap, sizeof(*s->v));
	s->mask = cap - 1;
	return s->v ? 0 : -ENOMEM;
}

static size_t slot_of(uint32_t x, size_t mask)
{
	return (size_t)((x * 0x9e3779b1u) ^ (x >> 16)) & mask;
}

static bool set_has(const struct u32set *s, uint32_t x)
{
	for (size_t i = slot_of(x, s->mask);; i = (i + 1) & s->mask) {
		if (s->v[i] == x)
			return true;
		if (!s->v[i])
			return false;
	}
}

static void set_add(struct u32set *s, uint32_t x)
{
	size_t i = slot_of(x, s->mask);

	while (s->v[i] && s->v[i] != x)
		i = (i + 1) & s->mask;
	s->v[i] = x;
}

int pw_assign_ids(const uint64_t *hashes, size_t n, uint32_t lo, uint32_t hi,
		  uint32_t *out)
{
	uint64_t range = (uint64_t)hi - lo + 1;
	struct u32set s;

	if (lo == 0 || hi < lo || n > range)
		return -ENOSPC;
	if (set_init(&s, n))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint32_t id = (uint32_t)(lo + hashes[i] % range);

		while (set_has(&s, id))
			id = id == hi ? lo : id + 1;
		set_add(&s, id);
		out[i] = id;
	}
	free(s.v);
	return 0;
}
