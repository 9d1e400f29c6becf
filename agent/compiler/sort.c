/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Sorting without comparisons, for the compiler's large arrays (ipcache and
 * policy entries, identities by address or by id): an LSD radix sort is
 * stable and costs a few passes over the data where qsort's comparator
 * calls (memcmp each) dominated the compile.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "compiler/internal.h"

int pw_sort_hi32(uint64_t *v, size_t n)
{
	uint64_t *tmp = malloc((n ? n : 1) * sizeof(*tmp)), *a = v, *b = tmp;

	if (!tmp)
		return -ENOMEM;
	for (unsigned shift = 32; shift < 64; shift += 8) {
		size_t count[257] = { 0 };
		uint64_t *t;

		for (size_t i = 0; i < n; i++)
			count[((a[i] >> shift) & 0xff) + 1]++;
		for (size_t d = 1; d < 257; d++)
			count[d] += count[d - 1];
		for (size_t i = 0; i < n; i++)
			b[count[(a[i] >> shift) & 0xff]++] = a[i];
		t = a;
		a = b;
		b = t;
	}
	/* an even number of passes: the result is back in v */
	free(tmp);
	return 0;
}

int pw_sort_bytes(void *base, size_t n, size_t size, size_t key_len)
{
	uint8_t *v = base, *tmp = NULL;
	uint32_t (*count)[256] = NULL, *a = NULL, *b = NULL;
	int ret = -ENOMEM;

	if (n < 2)
		return 0;
	if (n > UINT32_MAX)
		return -E2BIG;
	count = calloc(key_len ? key_len : 1, sizeof(*count));
	a = malloc(n * sizeof(*a));
	b = malloc(n * sizeof(*b));
	tmp = malloc(n * size);
	if (!count || !a || !b || !tmp)
		goto out;
	/* every byte's histogram in one pass over the records */
	for (size_t i = 0; i < n; i++) {
		const uint8_t *r = v + i * size;

		for (size_t k = 0; k < key_len; k++)
			count[k][r[k]]++;
		a[i] = (uint32_t)i;
	}
	for (size_t k = key_len; k-- > 0;) {
		uint32_t pos[256], sum = 0, *t;
		bool same = false;

		for (unsigned d = 0; d < 256 && !same; d++)
			same = count[k][d] == n;
		if (same)   /* one value in every record: nothing to do */
			continue;
		for (unsigned d = 0; d < 256; d++) {
			pos[d] = sum;
			sum += count[k][d];
		}
		for (size_t i = 0; i < n; i++)
			b[pos[v[(size_t)a[i] * size + k]]++] = a[i];
		t = a;
		a = b;
		b = t;
	}
	for (size_t i = 0; i < n; i++)
		memcpy(tmp + i * size, v + (size_t)a[i] * size, size);
	memcpy(v, tmp, n * size);
	ret = 0;
out:
	free(count);
	free(a);
	free(b);
	free(tmp);
	return ret;
}
