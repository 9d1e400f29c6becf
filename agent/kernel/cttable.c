// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cttable: the conntrack table through an mmap of its array (cttable.h).
 * The protocol is include/podwall/cttable.h's, the programs' own code.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include "kernel/cttable.h"
#include "podwall/cttable.h"

int pw_ct_table_open(int fd, struct pw_ct_table *t)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	void *p;

	memset(t, 0, sizeof(*t));
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.type != BPF_MAP_TYPE_ARRAY || info.value_size != sizeof(struct pw_ct_set) ||
	    !(info.map_flags & BPF_F_MMAPABLE) || !info.max_entries ||
	    (info.max_entries & (info.max_entries - 1)))
		return -EINVAL;
	t->len = (size_t)info.max_entries * sizeof(struct pw_ct_set);
	p = mmap(NULL, t->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	t->sets = p;
	t->n_sets = info.max_entries;
	return 0;
}

void pw_ct_table_close(struct pw_ct_table *t)
{
	if (t->sets)
		munmap(t->sets, t->len);
	memset(t, 0, sizeof(*t));
}

static struct pw_ct_set *set_of(const struct pw_ct_table *t, uint64_t hash)
{
	return &t->sets[(uint32_t)hash & (t->n_sets - 1)];
}

/* k's way in its set and the header it was found under, or -1. */
static int find(const struct pw_ct_table *t, const struct pw_ct_key *k, struct pw_ct_set **s,
		__u64 *hd)
{
	__u64 h = pw_ct_hash(k);

	*s = set_of(t, h);
	return pw_ct_set_find(*s, k, pw_ct_tag(h), hd);
}

int pw_ct_table_get(const struct pw_ct_table *t, const struct pw_ct_key *k, struct pw_ct_val *v)
{
	struct pw_ct_set *s;
	__u64 hd;
	int i = find(t, k, &s, &hd);

	if (i < 0)
		return -ENOENT;
	*v = s->ways[i].val;
	return 0;
}

int pw_ct_table_put(const struct pw_ct_table *t, const struct pw_ct_key *k,
		    const struct pw_ct_val *v, bool replace)
{
	__u64 h = pw_ct_hash(k);
	struct pw_ct_set *s = set_of(t, h);
	uint32_t tag = pw_ct_tag(h);

	for (int attempt = 0; attempt < 100; attempt++) {
		int i = pw_ct_set_pick(s, k, tag, v->last_seen_ns);
		__u64 hd;

		if (i < 0)
			continue;
		i &= PW_CT_WAYS - 1;
		hd = PW_CT_READ_ONCE(s->hdr[i]);
		if (!replace && pw_ct_hdr_is_live(hd) && (__u32)(hd >> 32) == tag &&
		    pw_ct_key_eq(&s->ways[i].key, k))
			return -EEXIST;
		if ((hd & PW_CT_HDR_WRITING) || !pw_ct_way_claim(s, i, hd))
			continue;
		s->ways[i].key = *k;
		s->ways[i].val = *v;
		pw_ct_way_publish(s, i, hd, tag);
		return 0;
	}
	return -EBUSY;
}

int pw_ct_table_del(const struct pw_ct_table *t, const struct pw_ct_key *k)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		struct pw_ct_set *s;
		__u64 hd;
		int i = find(t, k, &s, &hd);

		if (i < 0)
			return -ENOENT;
		if (pw_ct_way_free(s, i, hd))
			return 0;
	}
	return -EBUSY;
}

int pw_ct_table_each(const struct pw_ct_table *t,
		     int (*fn)(const struct pw_ct_key *k, const struct pw_ct_val *v, void *ctx),
		     void *ctx)
{
	for (uint32_t n = 0; n < t->n_sets; n++) {
		struct pw_ct_set *s = &t->sets[n];

		for (int i = 0; i < PW_CT_WAYS; i++) {
			__u64 hd = PW_CT_READ_ONCE(s->hdr[i]);
			struct pw_ct_entry e;
			int ret;

			if (!pw_ct_hdr_is_live(hd))
				continue;
			e = s->ways[i];
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (PW_CT_READ_ONCE(s->hdr[i]) != hd)
				continue; /* rewritten while copied */
			ret = fn(&e.key, &e.val, ctx);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int count_one(const struct pw_ct_key *k, const struct pw_ct_val *v, void *ctx)
{
	(void)k;
	(void)v;
	(*(size_t *)ctx)++;
	return 0;
}

size_t pw_ct_table_count(const struct pw_ct_table *t)
{
	size_t n = 0;

	pw_ct_table_each(t, count_one, &n);
	return n;
}

void pw_ct_table_clear(const struct pw_ct_table *t)
{
	for (uint32_t n = 0; n < t->n_sets; n++) {
		struct pw_ct_set *s = &t->sets[n];

		for (int i = 0; i < PW_CT_WAYS; i++) {
			__u64 hd = PW_CT_READ_ONCE(s->hdr[i]);

			if (hd & PW_CT_HDR_LIVE)
				pw_ct_way_free(s, i, hd); /* lost to a writer: it is newer */
		}
	}
}
