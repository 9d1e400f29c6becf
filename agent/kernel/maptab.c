// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * maptab: sorted byte tables of (key, value) and the batched reads that
 * fill them from a map (maptab.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "kernel/maptab.h"

/* ------------------------------------------------------------ tables */

void pw_tab_init(struct pw_tab *t, uint32_t ksz, uint32_t vsz)
{
	memset(t, 0, sizeof(*t));
	t->ksz = ksz;
	t->vsz = vsz;
	t->esz = ksz + vsz + sizeof(uint32_t);
}

void pw_tab_free(struct pw_tab *t)
{
	free(t->d);
	t->d = NULL;
	t->n = t->cap = 0;
}

int pw_tab_push(struct pw_tab *t, const void *k, const void *v)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		uint8_t *d = realloc(t->d, cap * t->esz);

		if (!d)
			return -ENOMEM;
		t->d = d;
		t->cap = cap;
	}
	uint8_t *e = pw_tab_key(t, t->n);
	uint32_t seq = (uint32_t)t->n;

	memcpy(e, k, t->ksz);
	if (v)
		memcpy(e + t->ksz, v, t->vsz);
	else
		memset(e + t->ksz, 0, t->vsz);
	memcpy(e + t->ksz + t->vsz, &seq, sizeof(seq));
	t->n++;
	return 0;
}

int pw_tab_cmp(const void *a, const void *b, void *ctx)
{
	const struct pw_tab *t = ctx;
	int c = memcmp(a, b, t->ksz);
	uint32_t sa, sb;

	if (c)
		return c;
	memcpy(&sa, (const uint8_t *)a + t->ksz + t->vsz, sizeof(sa));
	memcpy(&sb, (const uint8_t *)b + t->ksz + t->vsz, sizeof(sb));
	return sa < sb ? -1 : sa > sb;
}

/* Are the keys in order (equal keys allowed, they are in insertion order then)? */
static bool pw_tab_in_order(const struct pw_tab *t)
{
	for (size_t i = 1; i < t->n; i++)
		if (memcmp(pw_tab_key(t, i - 1), pw_tab_key(t, i), t->ksz) > 0)
			return false;
	return true;
}

/*
 * Sort by key; drop later duplicates of a key. Returns how many were
 * dropped. Most tables come in order already (the compiler's output is
 * sorted, and so are subsequences of sorted tables): one pass checks that
 * and saves the sort, the bulk of the desired side's cost at 10,000 pods.
 */
size_t pw_tab_sort_dedup(struct pw_tab *t)
{
	size_t w = 0, dropped = 0;

	if (t->n > 1 && !pw_tab_in_order(t))
		qsort_r(t->d, t->n, t->esz, pw_tab_cmp, t);
	for (size_t i = 0; i < t->n; i++) {
		if (w && !memcmp(pw_tab_key(t, w - 1), pw_tab_key(t, i), t->ksz)) {
			dropped++;
			continue;
		}
		if (w != i)
			memcpy(pw_tab_key(t, w), pw_tab_key(t, i), t->esz);
		w++;
	}
	t->n = w;
	return dropped;
}

uint8_t *pw_tab_find(const struct pw_tab *t, const void *k)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(pw_tab_key(t, mid), k, t->ksz);

		if (!c)
			return pw_tab_key(t, mid);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Logical difference of two sorted, deduplicated tables of the same shape. */
void pw_tab_diff_count(const struct pw_tab *old, const struct pw_tab *new,
			   struct pw_sync_count *cnt)
{
	size_t i = 0, j = 0;

	while (i < old->n || j < new->n) {
		int c;

		if (i == old->n)
			c = 1;
		else if (j == new->n)
			c = -1;
		else
			c = memcmp(pw_tab_key(old, i), pw_tab_key(new, j), old->ksz);
		if (c < 0) {
			cnt->removed++;
			i++;
		} else if (c > 0) {
			cnt->added++;
			j++;
		} else {
			if (memcmp(pw_tab_val(old, i), pw_tab_val(new, j), old->vsz))
				cnt->changed++;
			i++;
			j++;
		}
	}
}

/* Number of keys of b that are not in a (both sorted, deduplicated). */
size_t pw_tab_count_new(const struct pw_tab *a, const struct pw_tab *b)
{
	size_t n = 0;

	for (size_t j = 0; j < b->n; j++)
		if (!pw_tab_find(a, pw_tab_key(b, j)))
			n++;
	return n;
}

/* ------------------------------------------------------------ map I/O */

void pw_why(char *why, const char *fmt, ...)
{
	va_list ap;

	if (!why)
		return;
	va_start(ap, fmt);
	vsnprintf(why, PW_WHY_LEN, fmt, ap);
	va_end(ap);
}

int pw_map_meta(int fd, const char *name, uint32_t ksz, uint32_t vsz, struct pw_map_meta *m,
		char *why)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	int err;

	memset(&info, 0, sizeof(info));
	if (fd < 0) {
		pw_why(why, "map %s: no file descriptor", name);
		return -EBADF;
	}
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err) {
		pw_why(why, "map %s: BPF_OBJ_GET_INFO_BY_FD: %s", name, strerror(-err));
		return err;
	}
	if (info.key_size != ksz || info.value_size != vsz) {
		pw_why(why, "map %s: key/value size %u/%u, the agent expects %u/%u "
			"(ABI mismatch between pinned maps and this binary)",
			name, info.key_size, info.value_size, ksz, vsz);
		return -EINVAL;
	}
	m->fd = fd;
	m->id = info.id;
	m->type = info.type;
	m->key_size = info.key_size;
	m->value_size = info.value_size;
	m->max_entries = info.max_entries;
	return 0;
}

static bool batch_unsupported(int err)
{
	return err == -EINVAL || err == -EOPNOTSUPP || err == -524 /* ENOTSUPP */;
}

/* Batched read (one syscall per PW_BATCH entries). -EOPNOTSUPP: not for this map. */
static int pw_tab_read_batch(const struct pw_map_meta *m, const char *name, struct pw_tab *t,
			  char *why)
{
	uint8_t in[64], out[64];
	uint8_t *keys = malloc((size_t)PW_BATCH * t->ksz), *vals = malloc((size_t)PW_BATCH * t->vsz);
	size_t before = t->n;
	bool first = true;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		uint32_t cnt = PW_BATCH;
		int ret = bpf_map_lookup_batch(m->fd, first ? NULL : in, out, keys, vals, &cnt, NULL);

		if (ret && ret != -ENOENT) {
			if (first && batch_unsupported(ret)) {
				err = -EOPNOTSUPP;
				goto out;
			}
			pw_why(why, "map %s: lookup_batch: %s", name, strerror(-ret));
			err = ret;
			goto out;
		}
		for (uint32_t i = 0; i < cnt; i++) {
			err = pw_tab_push(t, keys + (size_t)i * t->ksz, vals + (size_t)i * t->vsz);
			if (err)
				goto out;
		}
		if (ret == -ENOENT)
			break;
		memcpy(in, out, sizeof(in));
		first = false;
	}
out:
	if (err)
		t->n = before;
	free(keys);
	free(vals);
	return err;
}

int pw_tab_read_map(const struct pw_map_meta *m, const char *name, struct pw_tab *t,
			char *why)
{
	uint8_t key[64], next[64], val[sizeof(struct pw_name_val) + 8]; /* the largest value read */
	const void *prev = NULL;
	size_t iter = 0, limit = (size_t)m->max_entries * 2 + 64;
	int err;

	if (t->ksz > sizeof(key) || t->vsz > sizeof(val))
		return -EINVAL;
	err = pw_tab_read_batch(m, name, t, why);
	if (!err)
		goto done;
	if (err != -EOPNOTSUPP)
		return err;
	for (;;) {
		err = bpf_map_get_next_key(m->fd, prev, next);
		if (err == -ENOENT)
			break;
		if (err) {
			pw_why(why, "map %s: get_next_key: %s", name, strerror(-err));
			return err;
		}
		if (++iter > limit) {
			pw_why(why, "map %s: iteration does not end (changed concurrently?)", name);
			return -ELOOP;
		}
		err = bpf_map_lookup_elem(m->fd, next, val);
		if (err && err != -ENOENT) {
			pw_why(why, "map %s: lookup: %s", name, strerror(-err));
			return err;
		}
		if (!err) {
			err = pw_tab_push(t, next, val);
			if (err)
				return err;
		}
		memcpy(key, next, t->ksz);
		prev = key;
	}
done:
	pw_tab_sort_dedup(t);
	return 0;
}

/* ------------------------------------------------------------ keys */

/* Zero every bit of an LPM key beyond its prefixlen. */
int pw_lpm_canon(uint8_t *key, size_t ksz)
{
	uint32_t plen;
	uint8_t *d = key + sizeof(uint32_t);
	size_t dlen = ksz - sizeof(uint32_t);

	memcpy(&plen, key, sizeof(plen));
	if (plen > dlen * 8)
		return -EINVAL;
	if (plen == dlen * 8)
		return 0; /* a whole address, every pod's: nothing to clear */
	for (size_t i = 0; i < dlen; i++) {
		size_t bit0 = i * 8;

		if (bit0 >= plen)
			d[i] = 0;
		else if (bit0 + 8 > plen)
			d[i] &= (uint8_t)(0xff << (8 - (plen - bit0)));
	}
	return 0;
}
