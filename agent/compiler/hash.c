/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Stable numbers from keys: identities and endpoint ids are a hash of what
 * they stand for, so the same objects give the same numbers on every run and
 * on every node, and a small change gives a small diff. Collisions are
 * resolved by probing, in the sorted order of the keys.
 *
 * pw_fast_hash is another hash, for the compiler's in-memory tables only:
 * it never reaches an id, so it may change freely.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "compiler/internal.h"

#define FNV_PRIME 0x100000001b3ULL

uint64_t pw_hash64_finish(uint64_t h)
{
	/* splitmix64 finalizer: spread FNV's weak low bits */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

uint64_t pw_fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= FNV_PRIME;
	}
	return h;
}

uint64_t pw_hash64(const void *data, size_t len)
{
	return pw_hash64_finish(pw_fnv1a(PW_FNV_BASIS, data, len));
}

void pw_fnv1a_n(const uint8_t *const *data, const size_t *len, size_t n, uint64_t *out)
{
	size_t i = 0;

	/* FNV is one multiply per byte, each waiting for the last: four keys
	 * at a time keep the multiplier busy (same results as pw_fnv1a) */
	for (; i + 4 <= n; i += 4) {
		const uint8_t *p0 = data[i], *p1 = data[i + 1], *p2 = data[i + 2], *p3 = data[i + 3];
		uint64_t h0 = PW_FNV_BASIS, h1 = PW_FNV_BASIS, h2 = PW_FNV_BASIS, h3 = PW_FNV_BASIS;
		size_t m = len[i], k;

		for (k = 1; k < 4; k++)
			if (len[i + k] < m)
				m = len[i + k];
		for (k = 0; k < m; k++) {
			h0 = (h0 ^ p0[k]) * FNV_PRIME;
			h1 = (h1 ^ p1[k]) * FNV_PRIME;
			h2 = (h2 ^ p2[k]) * FNV_PRIME;
			h3 = (h3 ^ p3[k]) * FNV_PRIME;
		}
		out[i] = pw_fnv1a(h0, p0 + m, len[i] - m);
		out[i + 1] = pw_fnv1a(h1, p1 + m, len[i + 1] - m);
		out[i + 2] = pw_fnv1a(h2, p2 + m, len[i + 2] - m);
		out[i + 3] = pw_fnv1a(h3, p3 + m, len[i + 3] - m);
	}
	for (; i < n; i++)
		out[i] = pw_fnv1a(PW_FNV_BASIS, data[i], len[i]);
}

uint64_t pw_fast_hash(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (len * 0xff51afd7ed558ccdULL), w;

	/* a word at a time: keys are tens to hundreds of bytes */
	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0x87c37b91114253d5ULL;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, p, len);
	h = (h ^ w) * 0x4cf5ad432745937fULL;
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ULL;
	h ^= h >> 32;
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

struct order_ctx {
	pw_key_cmp_fn cmp;
	const void   *ctx;
};

static int order_cmp(const void *a, const void *b, void *c)
{
	const struct order_ctx *o = c;

	return o->cmp(o->ctx, *(const size_t *)a, *(const size_t *)b);
}

/* pw_assign_ids over the keys idx[0..n) in the order of cmp. */
static int assign_in_order(const uint64_t *hashes, size_t *idx, size_t n, uint32_t lo,
			   uint32_t hi, pw_key_cmp_fn cmp, const void *ctx, uint32_t *out)
{
	struct order_ctx o = { cmp, ctx };
	uint64_t *h = malloc((n ? n : 1) * sizeof(*h));
	uint32_t *ids = malloc((n ? n : 1) * sizeof(*ids));
	int ret = -ENOMEM;

	if (!h || !ids)
		goto out;
	qsort_r(idx, n, sizeof(*idx), order_cmp, &o);
	for (size_t i = 0; i < n; i++)
		h[i] = hashes[idx[i]];
	ret = pw_assign_ids(h, n, lo, hi, ids);
	for (size_t i = 0; !ret && i < n; i++)
		out[idx[i]] = ids[i];
out:
	free(h);
	free(ids);
	return ret;
}

/*
 * Linear probing fills the same set of numbers whatever the order of the
 * keys (Peterson, 1957); only which key gets which number of a run of
 * consecutive numbers depends on it. A key never probes past a number that
 * stays free, so the keys whose first choices fall in one maximal run of
 * taken numbers only compete with each other. Laying the first choices out
 * in numeric order finds those runs: a key alone in its run gets its first
 * choice, and only the keys of longer runs (few: the range is large) are
 * sorted by cmp and given numbers as pw_assign_ids would. A run that wraps
 * past hi (rarer still) sends every key through the sorted path.
 */
int pw_assign_ids_unsorted(const uint64_t *hashes, size_t n, uint32_t lo, uint32_t hi,
			   pw_key_cmp_fn cmp, const void *ctx, uint32_t *out)
{
	uint64_t range = (uint64_t)hi - lo + 1;
	uint64_t *pref = NULL;
	size_t *idx = NULL, n_idx = 0;
	int ret;

	if (lo == 0 || hi < lo || n > range)
		return -ENOSPC;
	pref = malloc((n ? n : 1) * sizeof(*pref));
	idx = malloc((n ? n : 1) * sizeof(*idx));
	if (!pref || !idx) {
		ret = -ENOMEM;
		goto out;
	}
	/* first choice in the high half, key index in the low half */
	for (size_t i = 0; i < n; i++)
		pref[i] = (uint64_t)(lo + hashes[i] % range) << 32 | i;
	ret = pw_sort_hi32(pref, n);
	if (ret)
		goto out;
	for (size_t i = 0, j; i < n; i = j) {
		uint64_t end = (pref[i] >> 32) + 1;   /* the run is [pref, end) */

		for (j = i + 1; j < n && (pref[j] >> 32) <= end; j++)
			end++;
		if (end > (uint64_t)hi + 1) {
			/* wraps to lo: the sorted path for every key */
			n_idx = n;
			for (size_t k = 0; k < n; k++)
				idx[k] = k;
			break;
		}
		if (j - i == 1) {
			out[(uint32_t)pref[i]] = (uint32_t)(pref[i] >> 32);
			continue;
		}
		for (size_t k = i; k < j; k++)
			idx[n_idx++] = (uint32_t)pref[k];
	}
	if (n_idx)
		ret = assign_in_order(hashes, idx, n_idx, lo, hi, cmp, ctx, out);
out:
	free(pref);
	free(idx);
	return ret;
}
