// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mapsync: reconcile the BPF maps with a desired state, atomically (mapsync.h).
 *
 * Every map is read into a sorted table of (key, value) byte strings, the
 * desired state is turned into tables of the same shape, and merge walks give
 * the difference. Keys and values are compared byte for byte: pad bytes are
 * zeroed and LPM keys are canonical (no bits set beyond prefixlen).
 *
 * The per-slot maps (ipcache, policy, their LPM halves) are the bulk: every
 * pod address and policy entry of the cluster, in both slots, in hashes of
 * 256k-512k buckets that a batched read walks whole. With a pw_sync_cache
 * they are read back only when the cache does not fit (another writer, new
 * maps, an error, older than 30 s); otherwise their tables are the ones the
 * last sync wrote (the desired tables, sorted already) and kept, and a small
 * change costs what the desired side costs: linear passes over sorted
 * tables, and the map writes of the change itself.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kernel/mapsync.h"
#include "clock.h"

#if defined(__has_include)
#if __has_include("podwall.skel.h")
#include "podwall.skel.h"
#define PW_HAVE_SKEL 1
#endif
#endif

const char *const pw_sync_map_names[PW_SM_MAX] = {
	[PW_SM_ENDPOINTS] = "endpoints",
	[PW_SM_LOCAL_IPS] = "local_ips",
	[PW_SM_IPCACHE]   = "ipcache",
	[PW_SM_POLICY]    = "policy",
	[PW_SM_DNS]       = "dns",
	[PW_SM_CONFIG]    = "config",
};

/*
 * The LPM halves of ipcache and policy (abi.h) are maps of their own, but
 * not maps of their own in the statistics, which are logical (an entry is
 * an ipcache or a policy entry wherever it lives): they get indexes after
 * the public ones.
 */
#define SM_IPC_LPM PW_SM_MAX
#define SM_POL_LPM (PW_SM_MAX + 1)
#define SM_N       (PW_SM_MAX + 2)

static const char *sm_name(int m)
{
	return m == SM_IPC_LPM ? "ipcache_lpm" : m == SM_POL_LPM ? "policy_lpm" :
	       pw_sync_map_names[m];
}

/* ------------------------------------------------------------ tables */

/* Element layout: key | value | u32 seq (insertion order, for stable dedup). */
struct tab {
	uint32_t ksz, vsz, esz;
	size_t   n, cap;
	uint8_t *d;
};

static void tab_init(struct tab *t, uint32_t ksz, uint32_t vsz)
{
	memset(t, 0, sizeof(*t));
	t->ksz = ksz;
	t->vsz = vsz;
	t->esz = ksz + vsz + sizeof(uint32_t);
}

static void tab_free(struct tab *t)
{
	free(t->d);
	t->d = NULL;
	t->n = t->cap = 0;
}

static inline uint8_t *tab_key(const struct tab *t, size_t i)
{
	return t->d + i * t->esz;
}

static inline uint8_t *tab_val(const struct tab *t, size_t i)
{
	return t->d + i * t->esz + t->ksz;
}

static int tab_push(struct tab *t, const void *k, const void *v)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		uint8_t *d = realloc(t->d, cap * t->esz);

		if (!d)
			return -ENOMEM;
		t->d = d;
		t->cap = cap;
	}
	uint8_t *e = tab_key(t, t->n);
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

static int tab_cmp(const void *a, const void *b, void *ctx)
{
	const struct tab *t = ctx;
	int c = memcmp(a, b, t->ksz);
	uint32_t sa, sb;

	if (c)
		return c;
	memcpy(&sa, (const uint8_t *)a + t->ksz + t->vsz, sizeof(sa));
	memcpy(&sb, (const uint8_t *)b + t->ksz + t->vsz, sizeof(sb));
	return sa < sb ? -1 : sa > sb;
}

/* Are the keys in order (equal keys allowed, they are in insertion order then)? */
static bool tab_in_order(const struct tab *t)
{
	for (size_t i = 1; i < t->n; i++)
		if (memcmp(tab_key(t, i - 1), tab_key(t, i), t->ksz) > 0)
			return false;
	return true;
}

/*
 * Sort by key; drop later duplicates of a key. Returns how many were
 * dropped. Most tables come in order already (the compiler's output is
 * sorted, and so are subsequences of sorted tables): one pass checks that
 * and saves the sort, the bulk of the desired side's cost at 10,000 pods.
 */
static size_t tab_sort_dedup(struct tab *t)
{
	size_t w = 0, dropped = 0;

	if (t->n > 1 && !tab_in_order(t))
		qsort_r(t->d, t->n, t->esz, tab_cmp, t);
	for (size_t i = 0; i < t->n; i++) {
		if (w && !memcmp(tab_key(t, w - 1), tab_key(t, i), t->ksz)) {
			dropped++;
			continue;
		}
		if (w != i)
			memcpy(tab_key(t, w), tab_key(t, i), t->esz);
		w++;
	}
	t->n = w;
	return dropped;
}

static void tab_swap(struct tab *a, struct tab *b)
{
	struct tab t = *a;

	*a = *b;
	*b = t;
}

static uint8_t *tab_find(const struct tab *t, const void *k)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(tab_key(t, mid), k, t->ksz);

		if (!c)
			return tab_key(t, mid);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Logical difference of two sorted, deduplicated tables of the same shape. */
static void tab_diff_count(const struct tab *old, const struct tab *new,
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
			c = memcmp(tab_key(old, i), tab_key(new, j), old->ksz);
		if (c < 0) {
			cnt->removed++;
			i++;
		} else if (c > 0) {
			cnt->added++;
			j++;
		} else {
			if (memcmp(tab_val(old, i), tab_val(new, j), old->vsz))
				cnt->changed++;
			i++;
			j++;
		}
	}
}

/* Number of keys of b that are not in a (both sorted, deduplicated). */
static size_t tab_count_new(const struct tab *a, const struct tab *b)
{
	size_t n = 0;

	for (size_t j = 0; j < b->n; j++)
		if (!tab_find(a, tab_key(b, j)))
			n++;
	return n;
}

/* ------------------------------------------------------------ map I/O */

struct map_meta {
	int      fd;
	uint32_t id;
	uint32_t type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
};

static int map_meta(int fd, const char *name, uint32_t ksz, uint32_t vsz,
		    struct map_meta *m, struct pw_sync_stats *st);

static void set_err(struct pw_sync_stats *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_err(struct pw_sync_stats *st, const char *fmt, ...)
{
	va_list ap;

	if (!st)
		return;
	va_start(ap, fmt);
	vsnprintf(st->error, sizeof(st->error), fmt, ap);
	va_end(ap);
}

static int map_meta(int fd, const char *name, uint32_t ksz, uint32_t vsz,
		    struct map_meta *m, struct pw_sync_stats *st)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	int err;

	memset(&info, 0, sizeof(info));
	if (fd < 0) {
		set_err(st, "map %s: no file descriptor", name);
		return -EBADF;
	}
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err) {
		set_err(st, "map %s: BPF_OBJ_GET_INFO_BY_FD: %s", name, strerror(-err));
		return err;
	}
	if (info.key_size != ksz || info.value_size != vsz) {
		set_err(st, "map %s: key/value size %u/%u, the agent expects %u/%u "
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

#define PW_BATCH 4096

static bool batch_unsupported(int err)
{
	return err == -EINVAL || err == -EOPNOTSUPP || err == -524 /* ENOTSUPP */;
}

/* Batched read (one syscall per PW_BATCH entries). -EOPNOTSUPP: not for this map. */
static int tab_read_batch(const struct map_meta *m, const char *name, struct tab *t,
			  struct pw_sync_stats *st)
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
			set_err(st, "map %s: lookup_batch: %s", name, strerror(-ret));
			err = ret;
			goto out;
		}
		for (uint32_t i = 0; i < cnt; i++) {
			err = tab_push(t, keys + (size_t)i * t->ksz, vals + (size_t)i * t->vsz);
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

static int tab_read_map(const struct map_meta *m, const char *name, struct tab *t,
			struct pw_sync_stats *st)
{
	uint8_t key[64], next[64], val[256];
	const void *prev = NULL;
	size_t iter = 0, limit = (size_t)m->max_entries * 2 + 64;
	int err;

	if (t->ksz > sizeof(key) || t->vsz > sizeof(val))
		return -EINVAL;
	err = tab_read_batch(m, name, t, st);
	if (!err)
		goto done;
	if (err != -EOPNOTSUPP)
		return err;
	for (;;) {
		err = bpf_map_get_next_key(m->fd, prev, next);
		if (err == -ENOENT)
			break;
		if (err) {
			set_err(st, "map %s: get_next_key: %s", name, strerror(-err));
			return err;
		}
		if (++iter > limit) {
			set_err(st, "map %s: iteration does not end (changed concurrently?)", name);
			return -ELOOP;
		}
		err = bpf_map_lookup_elem(m->fd, next, val);
		if (err && err != -ENOENT) {
			set_err(st, "map %s: lookup: %s", name, strerror(-err));
			return err;
		}
		if (!err) {
			err = tab_push(t, next, val);
			if (err)
				return err;
		}
		memcpy(key, next, t->ksz);
		prev = key;
	}
done:
	tab_sort_dedup(t);
	return 0;
}

/* ------------------------------------------------------------ LPM halves */

static int map_info(int fd, struct bpf_map_info *info)
{
	uint32_t len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len);
}

/* fd of map id if it is named name with the key/value sizes of like, else -1 */
static int map_named(uint32_t id, const char *name, const struct bpf_map_info *like,
		     bool same_btf)
{
	struct bpf_map_info info;
	int fd = bpf_map_get_fd_by_id(id);

	if (fd < 0)
		return -1;
	if (map_info(fd, &info) || strcmp(info.name, name) || info.key_size != like->key_size ||
	    info.value_size != like->value_size || info.type != BPF_MAP_TYPE_LPM_TRIE ||
	    (same_btf && (!like->btf_id || info.btf_id != like->btf_id))) {
		close(fd);
		return -1;
	}
	return fd;
}

#define PROG_MAX_MAPS 64 /* podwall's programs use fewer; others: the first 64 */

/* The ids of the maps program `pid` uses (at most PROG_MAX_MAPS), or -errno. */
static int prog_map_ids(uint32_t pid, uint32_t ids[PROG_MAX_MAPS], uint32_t *n)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(pid), err = 0;

	if (fd < 0)
		return fd;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = PROG_MAX_MAPS;
	info.map_ids = (uint64_t)(uintptr_t)ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		err = -errno;
	close(fd);
	*n = info.nr_map_ids < PROG_MAX_MAPS ? info.nr_map_ids : PROG_MAX_MAPS;
	return err;
}

/* The maps named want[i] of a program that uses the map with id `id`. */
static int find_by_prog(uint32_t id, const char *const want[2],
			const struct bpf_map_info like[2], int out[2])
{
	uint32_t pid = 0;

	while (!bpf_prog_get_next_id(pid, &pid)) {
		uint32_t ids[PROG_MAX_MAPS], n;
		bool uses = false;

		if (prog_map_ids(pid, ids, &n))
			continue;
		for (uint32_t i = 0; i < n; i++)
			uses |= ids[i] == id;
		if (!uses)
			continue;
		for (uint32_t i = 0; i < n; i++)
			for (int w = 0; w < 2; w++)
				if (out[w] < 0)
					out[w] = map_named(ids[i], want[w], &like[w], false);
		if (out[0] >= 0 && out[1] >= 0)
			return 0;
	}
	return -ENOENT;
}

/* The maps named want[i] loaded with the same BTF as like[i] (one object load). */
static int find_by_btf(const char *const want[2], const struct bpf_map_info like[2], int out[2])
{
	uint32_t mid = 0;

	while (!bpf_map_get_next_id(mid, &mid))
		for (int w = 0; w < 2; w++) {
			int fd;

			if (out[w] >= 0 || (fd = map_named(mid, want[w], &like[w], true)) < 0)
				continue;
			out[w] = fd;
		}
	return out[0] >= 0 && out[1] >= 0 ? 0 : -ENOENT;
}

int pw_map_fds_lpm_find(const struct pw_map_fds *fds, struct pw_map_fds_lpm *l)
{
	static const char *const want[2] = { "ipcache_lpm", "policy_lpm" };
	struct bpf_map_info like[2];
	int out[2] = { -1, -1 }, err;

	l->ipcache_lpm = l->policy_lpm = -1;
	l->owned = true;
	err = map_info(fds->ipcache, &like[0]);
	if (!err)
		err = map_info(fds->policy, &like[1]);
	if (err)
		return err;
	if (like[0].type == BPF_MAP_TYPE_LPM_TRIE && like[1].type == BPF_MAP_TYPE_LPM_TRIE)
		return 0; /* before the split: everything is in these two */
	err = find_by_prog(like[1].id, want, like, out);
	if (err)
		err = find_by_btf(want, like, out);
	if (err) {
		for (int w = 0; w < 2; w++)
			if (out[w] >= 0)
				close(out[w]);
		return err;
	}
	l->ipcache_lpm = out[0];
	l->policy_lpm = out[1];
	return 0;
}

void pw_map_fds_lpm_close(struct pw_map_fds_lpm *l)
{
	if (!l->owned)
		return;
	if (l->ipcache_lpm >= 0)
		close(l->ipcache_lpm);
	if (l->policy_lpm >= 0)
		close(l->policy_lpm);
	l->ipcache_lpm = l->policy_lpm = -1;
}

/*
 * A datapath from before the split still attached: a program that uses the
 * LPM policy_lpm (its "policy") but not the hash policy. bpfobj adopts the
 * old pins under the new names; until the agent has attached the new
 * programs, the old ones look everything up in the LPMs.
 */
static bool unsplit_prog_attached(int policy_fd, int policy_lpm_fd)
{
	struct bpf_map_info h, l;
	uint32_t pid = 0;

	if (map_info(policy_fd, &h) || map_info(policy_lpm_fd, &l))
		return false;
	while (!bpf_prog_get_next_id(pid, &pid)) {
		uint32_t ids[PROG_MAX_MAPS], n;
		bool uses_l = false, uses_h = false;

		if (prog_map_ids(pid, ids, &n))
			continue;
		for (uint32_t i = 0; i < n; i++) {
			uses_l |= ids[i] == l.id;
			uses_h |= ids[i] == h.id;
		}
		if (uses_l && !uses_h)
			return true;
	}
	return false;
}

/* ------------------------------------------------------------ keys */

/* Zero every bit of an LPM key beyond its prefixlen. */
static int lpm_canon(uint8_t *key, size_t ksz)
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

/* Both LPM keys have the slot byte right after prefixlen. */
#define LPM_SLOT_OFF offsetof(struct pw_ipcache_key, slot)
_Static_assert(offsetof(struct pw_ipcache_key, slot) == offsetof(struct pw_policy_key, slot),
	       "slot offset");

static bool addr_is_v4(const uint8_t a[16])
{
	static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a, pfx, sizeof(pfx));
}

/* ------------------------------------------------------------ the sync */

/*
 * What the per-slot maps hold, in the form the sync works on: sorted,
 * deduplicated, slot byte 0 in the keys. ipc/pol: the hash halves (policy
 * with its summaries), ipl/pll: the LPM halves, per slot (A live, I idle);
 * lipc_A/lpol_A: the live slot, both halves merged, summaries left out
 * (the logical view, what the statistics compare the desired state with).
 * Read back from the kernel, or kept from the last sync (pw_sync_cache).
 */
struct views {
	struct tab ipc_A, ipc_I, ipl_A, ipl_I;
	struct tab pol_A, pol_I, pll_A, pll_I;
	struct tab lipc_A, lpol_A;
};

static void views_init(struct views *v)
{
	struct tab *ipcs[] = { &v->ipc_A, &v->ipc_I, &v->ipl_A, &v->ipl_I, &v->lipc_A };
	struct tab *pols[] = { &v->pol_A, &v->pol_I, &v->pll_A, &v->pll_I, &v->lpol_A };

	for (size_t i = 0; i < sizeof(ipcs) / sizeof(ipcs[0]); i++)
		tab_init(ipcs[i], sizeof(struct pw_ipcache_key), sizeof(struct pw_ipcache_val));
	for (size_t i = 0; i < sizeof(pols) / sizeof(pols[0]); i++)
		tab_init(pols[i], sizeof(struct pw_policy_key), sizeof(struct pw_policy_val));
}

static void views_free(struct views *v)
{
	struct tab *tabs[] = { &v->ipc_A, &v->ipc_I, &v->ipl_A, &v->ipl_I, &v->lipc_A,
			       &v->pol_A, &v->pol_I, &v->pll_A, &v->pll_I, &v->lpol_A };

	for (size_t i = 0; i < sizeof(tabs) / sizeof(tabs[0]); i++)
		tab_free(tabs[i]);
}

/*
 * The cache (mapsync.h): the views as the last successful sync left the
 * kernel, and what identifies that kernel state: the maps (their ids, so
 * that maps made anew, e.g. after the pins were removed, are not taken
 * for the old ones) and config, whose generation every writer bumps when
 * it flips or changes flags.
 */
struct pw_sync_cache {
	bool     valid;
	uint32_t ids[SM_N];         /* bpf_map_info.id of each map, 0: not there */
	struct pw_config cfg;       /* config as the last sync left it */
	uint64_t read_ns;           /* when the views were last read back (CLOCK_MONOTONIC) */
	uint64_t max_age_ns;
	struct views v;
};

/*
 * A full read-back at least this often, also when everything matches: a
 * hand edit (bpftool) or a writer that died half way through writing the
 * idle slot changes no generation, and would otherwise go unnoticed until
 * the agent restarts. 30 s bounds how long such damage can outlive the
 * next change, for one full read (~10-20 ms at 10,000 pods) per 30 s of
 * changes: nothing next to the cost of reading back on every change.
 */
#define PW_SYNC_CACHE_MAX_AGE_NS (30ull * 1000000000ull)

struct sync {
	const struct pw_map_fds *fds;
	const struct pw_map_fds_lpm *lfds;
	struct pw_sync_stats *st;
	struct pw_sync_cache *cache;       /* may be NULL */
	struct map_meta m[SM_N];
	bool have_lpm;                     /* the LPM halves are there (else: a legacy
					      single LPM in ipcache/policy, read only) */
	struct pw_config cfg;
	uint32_t A, I;

	/* In the maps now: views (from the kernel or the cache) and the small maps. */
	struct views v;
	struct tab ipc_all, pol_all, ipl_all, pll_all; /* raw, every slot; empty when cached */
	size_t ipc_garbage, pol_garbage;   /* entries with a slot byte > 1 */
	struct tab ep, lip, dns;           /* raw */
	struct tab ep_norm, dns_norm;      /* live-slot view */

	/* desired: logical (w_ipc, w_pol), then split over the halves */
	struct tab w_ipc, w_pol;           /* slot-0 keys, canonical */
	struct tab w_ipch, w_ipcl, w_polh, w_poll; /* w_polh: with the summaries */
	struct tab w_ep, w_lip, w_dns;     /* w_ep/w_dns: normalized (flags[0] only) */

	/* undo log for writes made before the flip */
	struct undo { int fd; uint8_t key[32]; uint8_t val[64]; bool had; } *undo;
	size_t n_undo, cap_undo;
};

static void sync_free(struct sync *s)
{
	struct tab *tabs[] = { &s->ipc_all, &s->pol_all, &s->ipl_all, &s->pll_all, &s->ep,
			       &s->lip, &s->dns, &s->ep_norm, &s->dns_norm, &s->w_ipc,
			       &s->w_pol, &s->w_ipch, &s->w_ipcl, &s->w_polh, &s->w_poll,
			       &s->w_ep, &s->w_lip, &s->w_dns };

	for (size_t i = 0; i < sizeof(tabs) / sizeof(tabs[0]); i++)
		tab_free(tabs[i]);
	views_free(&s->v);
	free(s->undo);
}

/* Split a raw LPM table into slot A and slot I views with slot-0 keys. */
static int split_slots(const struct tab *all, uint32_t A, struct tab *ta, struct tab *ti,
		       size_t *garbage)
{
	uint8_t key[64];
	int err;

	for (size_t i = 0; i < all->n; i++) {
		uint8_t slot = tab_key(all, i)[LPM_SLOT_OFF];

		if (slot >= PW_SLOTS) {
			(*garbage)++;
			continue;
		}
		memcpy(key, tab_key(all, i), all->ksz);
		key[LPM_SLOT_OFF] = 0;
		err = tab_push(slot == A ? ta : ti, key, tab_val(all, i));
		if (err)
			return err;
	}
	tab_sort_dedup(ta);
	tab_sort_dedup(ti);
	return 0;
}

/* PW_EP_NO_ANY_* of ep_id: the directions in which it has no any-peer entry. */
static uint32_t no_any_flags(const struct tab *any_dirs, uint32_t ep_id)
{
	uint64_t in = (uint64_t)ep_id << 8 | PW_DIR_INGRESS, eg = (uint64_t)ep_id << 8 | PW_DIR_EGRESS;

	return (tab_find(any_dirs, &in) ? 0 : PW_EP_NO_ANY_INGRESS) |
	       (tab_find(any_dirs, &eg) ? 0 : PW_EP_NO_ANY_EGRESS);
}

static int build_desired(struct sync *s, const struct pw_state *d)
{
	struct pw_sync_stats *st = s->st;
	struct tab any_dirs;
	size_t dropped;
	int err = 0;

	for (size_t i = 0; i < d->n_ipc; i++) {
		struct pw_ipcache_key k = d->ipc[i].key;

		k.slot = 0;
		memset(k.pad, 0, sizeof(k.pad));
		if (lpm_canon((uint8_t *)&k, sizeof(k))) {
			set_err(st, "ipcache entry %zu: prefixlen %u out of range", i, k.prefixlen);
			return -EINVAL;
		}
		err = tab_push(&s->w_ipc, &k, &d->ipc[i].val);
		if (err)
			return err;
	}
	dropped = tab_sort_dedup(&s->w_ipc);
	if (dropped)
		fprintf(stderr, "podwall: warning: ipcache: %zu duplicate prefixes ignored\n", dropped);

	for (size_t i = 0; i < d->n_pol; i++) {
		struct pw_policy_key k = d->pol[i].key;

		k.slot = 0;
		k.pad0 = 0;
		k.pad1 = 0;
		if (k.prefixlen < PW_POL_PREFIX_ANY_PROTO || lpm_canon((uint8_t *)&k, sizeof(k))) {
			set_err(st, "policy entry %zu: prefixlen %u out of range", i, k.prefixlen);
			return -EINVAL;
		}
		err = tab_push(&s->w_pol, &k, &d->pol[i].val);
		if (err)
			return err;
	}
	dropped = tab_sort_dedup(&s->w_pol);
	if (dropped)
		fprintf(stderr, "podwall: warning: policy: %zu duplicate keys ignored\n", dropped);

	/* (ep_id, dir) that have any-peer entries: the others get PW_EP_NO_ANY_* */
	tab_init(&any_dirs, sizeof(uint64_t), 0);
	for (size_t i = 0; i < s->w_pol.n; i++) {
		struct pw_policy_key k;
		uint64_t ed;

		memcpy(&k, tab_key(&s->w_pol, i), sizeof(k));
		if (k.peer_id != PW_ID_ANY)
			continue;
		ed = (uint64_t)k.ep_id << 8 | k.dir;
		err = tab_push(&any_dirs, &ed, NULL);
		if (err) {
			tab_free(&any_dirs);
			return err;
		}
	}
	tab_sort_dedup(&any_dirs);

	for (size_t i = 0; i < d->n_eps; i++) {
		const struct pw_state_ep *e = &d->eps[i];
		struct pw_endpoint v;
		struct pw_dns dv;
		uint32_t key = e->ifindex;
		bool v4 = false, v6 = false;

		if (!e->ifindex)
			continue; /* not local */
		memset(&v, 0, sizeof(v));
		v.ep_id = e->ep_id;
		v.identity = e->identity;
		for (size_t j = 0; j < e->n_ips && j < 2; j++) {
			if (addr_is_v4(e->ips[j]) && !v4) {
				memcpy(v.ip4, e->ips[j], 16);
				v4 = true;
			} else if (!addr_is_v4(e->ips[j]) && !v6) {
				memcpy(v.ip6, e->ips[j], 16);
				v6 = true;
			}
		}
		v.flags[0] = (e->flags & ~(PW_EP_HAS_V4 | PW_EP_HAS_V6 | PW_EP_NO_ANY_MASK)) |
			     (v4 ? PW_EP_HAS_V4 : 0) | (v6 ? PW_EP_HAS_V6 : 0) |
			     no_any_flags(&any_dirs, e->ep_id);
		err = tab_push(&s->w_ep, &key, &v);
		if (err)
			break;

		memset(&dv, 0, sizeof(dv));
		dv.flags[0] = e->dns_flags;
		err = tab_push(&s->w_dns, &e->ep_id, &dv);
		if (err)
			break;

		for (size_t j = 0; j < e->n_ips && j < 2; j++) {
			struct pw_addr a;

			memcpy(a.a, e->ips[j], 16);
			err = tab_push(&s->w_lip, &a, &key);
			if (err)
				break;
		}
		if (err)
			break;
	}
	tab_free(&any_dirs);
	if (err)
		return err;
	dropped = tab_sort_dedup(&s->w_ep);
	if (dropped)
		fprintf(stderr, "podwall: warning: endpoints: %zu pods share a host veth with "
			"another pod; only the first is enforced\n", dropped);
	dropped = tab_sort_dedup(&s->w_dns);
	if (dropped)
		fprintf(stderr, "podwall: warning: dns: %zu duplicate endpoint ids ignored\n", dropped);
	dropped = tab_sort_dedup(&s->w_lip);
	if (dropped)
		fprintf(stderr, "podwall: warning: local_ips: %zu addresses claimed by two local "
			"pods; the first one keeps it\n", dropped);
	return 0;
}

/* The live-slot view of what the maps hold, in the shape of the desired tables. */
static int build_live_views(struct sync *s)
{
	int err;

	for (size_t i = 0; i < s->ep.n; i++) {
		struct pw_endpoint v;

		memcpy(&v, tab_val(&s->ep, i), sizeof(v));
		v.flags[0] = v.flags[s->A];
		v.flags[1] = 0;
		err = tab_push(&s->ep_norm, tab_key(&s->ep, i), &v);
		if (err)
			return err;
	}
	for (size_t i = 0; i < s->dns.n; i++) {
		struct pw_dns v;

		memset(&v, 0, sizeof(v));
		memcpy(v.flags, tab_val(&s->dns, i) + offsetof(struct pw_dns, flags), sizeof(v.flags));
		v.flags[0] = v.flags[s->A];
		v.flags[1] = 0;
		err = tab_push(&s->dns_norm, tab_key(&s->dns, i), &v);
		if (err)
			return err;
	}
	tab_sort_dedup(&s->ep_norm);
	tab_sort_dedup(&s->dns_norm);
	return 0;
}

/* The live slot of both halves as one table each, without the summaries. */
static int build_logical(struct sync *s)
{
	int err = 0;

	for (size_t i = 0; !err && i < s->v.ipc_A.n; i++)
		err = tab_push(&s->v.lipc_A, tab_key(&s->v.ipc_A, i), tab_val(&s->v.ipc_A, i));
	for (size_t i = 0; !err && i < s->v.ipl_A.n; i++)
		err = tab_push(&s->v.lipc_A, tab_key(&s->v.ipl_A, i), tab_val(&s->v.ipl_A, i));
	for (size_t i = 0; !err && i < s->v.pol_A.n; i++) {
		struct pw_policy_key k;

		memcpy(&k, tab_key(&s->v.pol_A, i), sizeof(k));
		if (k.prefixlen != PW_POL_PREFIX_SUMMARY)
			err = tab_push(&s->v.lpol_A, &k, tab_val(&s->v.pol_A, i));
	}
	for (size_t i = 0; !err && i < s->v.pll_A.n; i++)
		err = tab_push(&s->v.lpol_A, tab_key(&s->v.pll_A, i), tab_val(&s->v.pll_A, i));
	if (err)
		return err;
	tab_sort_dedup(&s->v.lipc_A);
	tab_sort_dedup(&s->v.lpol_A);
	return 0;
}

/*
 * The desired tables of each half: whole addresses to the hash ipcache,
 * shorter prefixes to ipcache_lpm; exact policy keys to the hash policy,
 * port ranges to policy_lpm, and a summary for each (dir, ep, peer) that
 * needs one (abi.h): PW_ID_ANY always, another peer when it has an entry
 * that is not one port. Why this split: a hash lookup costs the same
 * whatever the number of entries, a trie walk deepens with it; the exact
 * keys are the bulk of what the compiler emits (one port, every port, every
 * protocol), port ranges and CIDR groups are few; and the summaries let a
 * flow skip the shapes its peer has no entry of, so that a denied flow does
 * no trie walk at all in the common case.
 */
static int split_desired(struct sync *s)
{
	struct tab sums;
	int err = 0;

	for (size_t i = 0; !err && i < s->w_ipc.n; i++) {
		struct pw_ipcache_key k;

		memcpy(&k, tab_key(&s->w_ipc, i), sizeof(k));
		err = tab_push(k.prefixlen == PW_IPC_EXACT_PREFIX ? &s->w_ipch : &s->w_ipcl, &k,
			       tab_val(&s->w_ipc, i));
	}
	if (err)
		return err;

	/*
	 * The summaries first: their prefixlen (PW_POL_PREFIX_SUMMARY, 0) sorts
	 * before that of any entry, so that w_polh comes out in order and its
	 * tab_sort_dedup below is one pass, not a sort.
	 */
	tab_init(&sums, sizeof(struct pw_policy_key), sizeof(struct pw_policy_val));
	for (size_t i = 0; !err && i < s->w_pol.n; i++) {
		struct pw_policy_key k, sk;
		struct pw_policy_val sv = { 0 };

		memcpy(&k, tab_key(&s->w_pol, i), sizeof(k));
		if (k.peer_id != PW_ID_ANY && k.prefixlen == PW_POL_PREFIX_FULL)
			continue;
		memset(&sk, 0, sizeof(sk));
		sk.prefixlen = PW_POL_PREFIX_SUMMARY;
		sk.dir = k.dir;
		sk.ep_id = k.ep_id;
		sk.peer_id = k.peer_id;
		sv.flags = pw_polsum_bit(k.prefixlen, k.proto);
		err = tab_push(&sums, &sk, &sv);
	}
	/* one summary per key, the bits of all its entries */
	if (!err && sums.n > 1)
		qsort_r(sums.d, sums.n, sums.esz, tab_cmp, &sums);
	for (size_t i = 0; !err && i < sums.n;) {
		struct pw_policy_val sv, v;
		size_t j;

		memcpy(&sv, tab_val(&sums, i), sizeof(sv));
		for (j = i + 1; j < sums.n && !memcmp(tab_key(&sums, i), tab_key(&sums, j), sums.ksz);
		     j++) {
			memcpy(&v, tab_val(&sums, j), sizeof(v));
			sv.flags |= v.flags;
		}
		err = tab_push(&s->w_polh, tab_key(&sums, i), &sv);
		i = j;
	}
	tab_free(&sums);
	for (size_t i = 0; !err && i < s->w_pol.n; i++) {
		struct pw_policy_key k;

		memcpy(&k, tab_key(&s->w_pol, i), sizeof(k));
		err = tab_push(PW_POL_IN_HASH(k.prefixlen) ? &s->w_polh : &s->w_poll, &k,
			       tab_val(&s->w_pol, i));
	}
	if (err)
		return err;
	/* subsequences of sorted tables are sorted; so is w_polh, summaries first */
	tab_sort_dedup(&s->w_polh);
	return 0;
}

/* Does the live slot hold exact keys in the LPM halves (an older layout)? */
static bool lpm_has_exact(const struct sync *s)
{
	for (size_t i = 0; i < s->v.ipl_A.n; i++) {
		struct pw_ipcache_key k;

		memcpy(&k, tab_key(&s->v.ipl_A, i), sizeof(k));
		if (k.prefixlen == PW_IPC_EXACT_PREFIX)
			return true;
	}
	for (size_t i = 0; i < s->v.pll_A.n; i++) {
		struct pw_policy_key k;

		memcpy(&k, tab_key(&s->v.pll_A, i), sizeof(k));
		if (PW_POL_IN_HASH(k.prefixlen))
			return true;
	}
	return false;
}

/*
 * While a datapath from before the split is attached (an upgrade: the
 * agent syncs, then attaches its programs), the new slot must also work for
 * it: every entry goes into the LPM halves too. The new datapath finds the
 * same answers with the extra LPM entries. The first sync after the old
 * programs are gone writes the split layout alone.
 */
static int add_unsplit_copy(struct sync *s)
{
	int err = 0;

	if (!lpm_has_exact(s) ||
	    !unsplit_prog_attached(s->m[PW_SM_POLICY].fd, s->m[SM_POL_LPM].fd))
		return 0;
	for (size_t i = 0; !err && i < s->w_ipch.n; i++)
		err = tab_push(&s->w_ipcl, tab_key(&s->w_ipch, i), tab_val(&s->w_ipch, i));
	for (size_t i = 0; !err && i < s->w_polh.n; i++) {
		struct pw_policy_key k;

		memcpy(&k, tab_key(&s->w_polh, i), sizeof(k));
		if (k.prefixlen != PW_POL_PREFIX_SUMMARY)
			err = tab_push(&s->w_poll, &k, tab_val(&s->w_polh, i));
	}
	if (err)
		return err;
	tab_sort_dedup(&s->w_ipcl);
	tab_sort_dedup(&s->w_poll);
	fprintf(stderr, "podwall: a datapath of an older podwall is still attached: this "
		"policy set is also written in its layout\n");
	return 0;
}

static int check_room(struct sync *s, int m, size_t peak)
{
	if (peak <= s->m[m].max_entries)
		return 0;
	set_err(s->st, "map %s is too small for this change: it would need %zu entries "
		"(both policy slots included), its limit is %u; nothing was changed",
		sm_name(m), peak, s->m[m].max_entries);
	return -ENOSPC;
}

static int undo_record(struct sync *s, int fd, const void *key, size_t ksz,
		       const void *old, size_t vsz)
{
	struct undo *u;

	if (s->n_undo == s->cap_undo) {
		size_t cap = s->cap_undo ? s->cap_undo * 2 : 64;
		struct undo *n = realloc(s->undo, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->undo = n;
		s->cap_undo = cap;
	}
	u = &s->undo[s->n_undo++];
	u->fd = fd;
	memcpy(u->key, key, ksz);
	u->had = old != NULL;
	if (old)
		memcpy(u->val, old, vsz);
	return 0;
}

static void undo_all(struct sync *s)
{
	while (s->n_undo) {
		struct undo *u = &s->undo[--s->n_undo];

		if (u->had)
			bpf_map_update_elem(u->fd, u->key, u->val, BPF_ANY);
		else
			bpf_map_delete_elem(u->fd, u->key);
	}
}

static int map_write(struct sync *s, int m, const void *k, const void *v)
{
	int err = bpf_map_update_elem(s->m[m].fd, k, v, BPF_ANY);

	if (err) {
		set_err(s->st, "map %s: update: %s", sm_name(m), strerror(-err));
		return err;
	}
	s->st->writes++;
	return 0;
}

static int map_del(struct sync *s, int m, const void *k)
{
	int err = bpf_map_delete_elem(s->m[m].fd, k);

	if (err && err != -ENOENT) {
		set_err(s->st, "map %s: delete: %s", sm_name(m), strerror(-err));
		return err;
	}
	s->st->deletes++;
	return 0;
}

/* Delete n keys (ksz bytes each): batched, one by one where batches are not supported. */
static int map_del_many(struct sync *s, int m, const uint8_t *keys, size_t n,
			size_t ksz)
{
	size_t done = 0;

	while (done < n) {
		uint32_t cnt = (uint32_t)(n - done < PW_BATCH ? n - done : PW_BATCH);
		int err = bpf_map_delete_batch(s->m[m].fd, keys + done * ksz, &cnt, NULL);

		if (!err) {
			s->st->deletes += cnt;
			done += cnt;
			continue;
		}
		/* the kernel stopped at an entry (or has no batches): that one alone */
		s->st->deletes += cnt;
		done += cnt;
		if (done < n) {
			err = map_del(s, m, keys + done * ksz);
			if (err)
				return err;
			done++;
		}
	}
	return 0;
}

static int map_write_many(struct sync *s, int m, const uint8_t *keys,
			  const uint8_t *vals, size_t n, size_t ksz, size_t vsz)
{
	size_t done = 0;

	while (done < n) {
		uint32_t cnt = (uint32_t)(n - done < PW_BATCH ? n - done : PW_BATCH);
		int err = bpf_map_update_batch(s->m[m].fd, keys + done * ksz, vals + done * vsz,
					       &cnt, NULL);

		if (!err) {
			s->st->writes += cnt;
			done += cnt;
			continue;
		}
		s->st->writes += cnt;
		done += cnt;
		if (done < n) {
			err = map_write(s, m, keys + done * ksz, vals + done * vsz);
			if (err)
				return err;
			done++;
		}
	}
	return 0;
}

/*
 * Write a desired table of a per-slot map (ipcache, policy and their LPM
 * halves) into slot I: only the difference with what slot I holds.
 */
static int write_slot(struct sync *s, int m, const struct tab *all,
			  const struct tab *cur_I, const struct tab *want)
{
	size_t ksz = want->ksz, vsz = want->vsz, nd = 0, nw = 0;
	uint8_t *dk = malloc((all->n + cur_I->n + 1) * ksz);
	uint8_t *wk = malloc((want->n + 1) * ksz), *wv = malloc((want->n + 1) * vsz);
	int err = -ENOMEM;

	if (!dk || !wk || !wv)
		goto out;

	/* entries of no valid slot go */
	for (size_t i = 0; i < all->n; i++)
		if (tab_key(all, i)[LPM_SLOT_OFF] >= PW_SLOTS)
			memcpy(dk + nd++ * ksz, tab_key(all, i), ksz);
	/*
	 * One merge walk over the two sorted tables: keys of slot I only are
	 * leftovers to delete, keys of want only or with another value are to
	 * write. (A binary search per entry, both ways, cost more than all the
	 * rest of a small change once the maps are not read back.)
	 */
	for (size_t i = 0, j = 0; i < cur_I->n || j < want->n;) {
		int c = i == cur_I->n ? 1 : j == want->n ? -1 :
			memcmp(tab_key(cur_I, i), tab_key(want, j), ksz);
		uint8_t *k;

		if (c < 0) {
			k = dk + nd++ * ksz;
			memcpy(k, tab_key(cur_I, i++), ksz);
			k[LPM_SLOT_OFF] = (uint8_t)s->I;
			continue;
		}
		if (!c) {
			bool same = !memcmp(tab_val(cur_I, i), tab_val(want, j), vsz);

			i++;
			if (same) {
				j++;
				continue;
			}
		}
		k = wk + nw * ksz;
		memcpy(k, tab_key(want, j), ksz);
		k[LPM_SLOT_OFF] = (uint8_t)s->I;
		memcpy(wv + nw * vsz, tab_val(want, j++), vsz);
		nw++;
	}
	/* first make room, then write */
	err = map_del_many(s, m, dk, nd, ksz);
	if (!err)
		err = map_write_many(s, m, wk, wv, nw, ksz, vsz);
out:
	free(dk);
	free(wk);
	free(wv);
	return err;
}

static int write_pre_flip(struct sync *s)
{
	int err;

	/* endpoints: existing ones get flags[I]; new ones both slots */
	for (size_t j = 0; j < s->w_ep.n; j++) {
		const uint8_t *key = tab_key(&s->w_ep, j);
		const uint8_t *raw = tab_find(&s->ep, key);
		struct pw_endpoint want, v;

		memcpy(&want, tab_val(&s->w_ep, j), sizeof(want));
		v = want;
		if (raw) {
			struct pw_endpoint old;

			memcpy(&old, raw + s->ep.ksz, sizeof(old));
			if (old.ep_id == want.ep_id) {
				v.flags[s->A] = old.flags[s->A];
				v.flags[s->I] = want.flags[0];
			} else {
				/* another pod on this device now: enforce it from the start */
				v.flags[0] = v.flags[1] = want.flags[0];
				/* (slot A's entries are not those its NO_ANY bits describe) */
				v.flags[s->A] &= ~PW_EP_NO_ANY_MASK;
			}
			if (!memcmp(&old, &v, sizeof(v)))
				continue;
		} else {
			v.flags[0] = v.flags[1] = want.flags[0];
			v.flags[s->A] &= ~PW_EP_NO_ANY_MASK;
		}
		err = undo_record(s, s->m[PW_SM_ENDPOINTS].fd, key, s->ep.ksz,
				  raw ? raw + s->ep.ksz : NULL, sizeof(v));
		if (!err)
			err = map_write(s, PW_SM_ENDPOINTS, key, &v);
		if (err)
			return err;
	}

	/* local_ips: add or move addresses */
	for (size_t j = 0; j < s->w_lip.n; j++) {
		const uint8_t *key = tab_key(&s->w_lip, j);
		const uint8_t *raw = tab_find(&s->lip, key);

		if (raw && !memcmp(raw + s->lip.ksz, tab_val(&s->w_lip, j), s->lip.vsz))
			continue;
		err = undo_record(s, s->m[PW_SM_LOCAL_IPS].fd, key, s->lip.ksz,
				  raw ? raw + s->lip.ksz : NULL, s->lip.vsz);
		if (!err)
			err = map_write(s, PW_SM_LOCAL_IPS, key, tab_val(&s->w_lip, j));
		if (err)
			return err;
	}

	/* dns: flags[I] for existing entries (counters kept), both slots for new ones */
	for (size_t j = 0; j < s->w_dns.n; j++) {
		const uint8_t *key = tab_key(&s->w_dns, j);
		const uint8_t *raw = tab_find(&s->dns, key);
		struct pw_dns want, v, now;

		memcpy(&want, tab_val(&s->w_dns, j), sizeof(want));
		memset(&v, 0, sizeof(v));
		if (raw) {
			/* only the datapath's counters move behind our back: decide on
			 * the flags read, then re-read right before writing, to lose as
			 * few counts as possible (one syscall per changed pod, not per pod) */
			memcpy(&now, raw + s->dns.ksz, sizeof(now));
			if (now.flags[s->I] == want.flags[0])
				continue;
			if (bpf_map_lookup_elem(s->m[PW_SM_DNS].fd, key, &now))
				memcpy(&now, raw + s->dns.ksz, sizeof(now));
			v = now;
			v.flags[s->I] = want.flags[0];
			if (!memcmp(&now, &v, sizeof(v)))
				continue;
		} else {
			v.flags[0] = v.flags[1] = want.flags[0];
		}
		err = undo_record(s, s->m[PW_SM_DNS].fd, key, s->dns.ksz,
				  raw ? (const void *)&now : NULL, sizeof(v));
		if (!err)
			err = map_write(s, PW_SM_DNS, key, &v);
		if (err)
			return err;
	}
	return 0;
}

static int delete_post_flip(struct sync *s)
{
	int err, first = 0;

	for (size_t i = 0; i < s->ep.n; i++)
		if (!tab_find(&s->w_ep, tab_key(&s->ep, i))) {
			err = map_del(s, PW_SM_ENDPOINTS, tab_key(&s->ep, i));
			if (err && !first)
				first = err;
		}
	for (size_t i = 0; i < s->lip.n; i++)
		if (!tab_find(&s->w_lip, tab_key(&s->lip, i))) {
			err = map_del(s, PW_SM_LOCAL_IPS, tab_key(&s->lip, i));
			if (err && !first)
				first = err;
		}
	for (size_t i = 0; i < s->dns.n; i++)
		if (!tab_find(&s->w_dns, tab_key(&s->dns, i))) {
			err = map_del(s, PW_SM_DNS, tab_key(&s->dns, i));
			if (err && !first)
				first = err;
		}
	return first;
}

/*
 * Do the cache's views describe the maps as they are now? Only if they
 * are the same maps and nobody flipped or bumped config since the sync
 * that left them (every writer bumps the generation when it changes what
 * is live), and the views are not older than max_age_ns.
 */
static bool cache_fits(const struct sync *s, const struct pw_sync_cache *c, uint64_t now)
{
	if (!c || !c->valid || now - c->read_ns >= c->max_age_ns)
		return false;
	for (int m = 0; m < SM_N; m++)
		if (c->ids[m] != s->m[m].id)
			return false;
	return c->cfg.generation == s->cfg.generation &&
	       c->cfg.active_slot == s->cfg.active_slot && c->cfg.flags == s->cfg.flags;
}

/*
 * Read what the maps hold: map metadata, config, the small maps (local
 * pods only; dns holds counters the datapath writes), and the per-slot
 * maps, which are the bulk (every pod address and policy entry of the
 * cluster, twice): those come from the cache when it fits, and then
 * there is no garbage to delete (the sync that filled the cache left none).
 */
static int read_all(struct sync *s)
{
	const struct pw_map_fds *f = s->fds;
	struct pw_sync_stats *st = s->st;
	uint32_t zero = 0;
	uint64_t now;
	int err;

	err = map_meta(f->config, "config", sizeof(uint32_t), sizeof(struct pw_config),
		       &s->m[PW_SM_CONFIG], st);
	if (!err)
		err = map_meta(f->endpoints, "endpoints", sizeof(uint32_t),
			       sizeof(struct pw_endpoint), &s->m[PW_SM_ENDPOINTS], st);
	if (!err)
		err = map_meta(f->local_ips, "local_ips", sizeof(struct pw_addr), sizeof(uint32_t),
			       &s->m[PW_SM_LOCAL_IPS], st);
	if (!err)
		err = map_meta(f->ipcache, "ipcache", sizeof(struct pw_ipcache_key),
			       sizeof(struct pw_ipcache_val), &s->m[PW_SM_IPCACHE], st);
	if (!err)
		err = map_meta(f->policy, "policy", sizeof(struct pw_policy_key),
			       sizeof(struct pw_policy_val), &s->m[PW_SM_POLICY], st);
	if (!err)
		err = map_meta(f->dns, "dns", sizeof(uint32_t), sizeof(struct pw_dns),
			       &s->m[PW_SM_DNS], st);
	s->have_lpm = s->lfds && s->lfds->ipcache_lpm >= 0 && s->lfds->policy_lpm >= 0;
	if (!err && s->have_lpm)
		err = map_meta(s->lfds->ipcache_lpm, "ipcache_lpm", sizeof(struct pw_ipcache_key),
			       sizeof(struct pw_ipcache_val), &s->m[SM_IPC_LPM], st);
	if (!err && s->have_lpm)
		err = map_meta(s->lfds->policy_lpm, "policy_lpm", sizeof(struct pw_policy_key),
			       sizeof(struct pw_policy_val), &s->m[SM_POL_LPM], st);
	if (err)
		return err;

	err = bpf_map_lookup_elem(f->config, &zero, &s->cfg);
	if (err) {
		set_err(st, "map config: lookup of key 0: %s", strerror(-err));
		return err;
	}
	s->A = s->cfg.active_slot < PW_SLOTS ? s->cfg.active_slot : 0;
	s->I = 1 - s->A;

	tab_init(&s->ipc_all, sizeof(struct pw_ipcache_key), sizeof(struct pw_ipcache_val));
	tab_init(&s->ipl_all, sizeof(struct pw_ipcache_key), sizeof(struct pw_ipcache_val));
	tab_init(&s->pol_all, sizeof(struct pw_policy_key), sizeof(struct pw_policy_val));
	tab_init(&s->pll_all, sizeof(struct pw_policy_key), sizeof(struct pw_policy_val));
	tab_init(&s->ep, sizeof(uint32_t), sizeof(struct pw_endpoint));
	tab_init(&s->ep_norm, sizeof(uint32_t), sizeof(struct pw_endpoint));
	tab_init(&s->lip, sizeof(struct pw_addr), sizeof(uint32_t));
	tab_init(&s->dns, sizeof(uint32_t), sizeof(struct pw_dns));
	tab_init(&s->dns_norm, sizeof(uint32_t), sizeof(struct pw_dns));

	now = pw_now_ns();
	if (cache_fits(s, s->cache, now)) {
		/* the views move here; they go back when the sync succeeds */
		s->v = s->cache->v;
		views_init(&s->cache->v);
		s->cache->valid = false;
		st->cached = true;
	} else {
		pw_sync_cache_invalidate(s->cache);
		if (s->cache)
			s->cache->read_ns = now;
		views_init(&s->v);
		err = tab_read_map(&s->m[PW_SM_IPCACHE], "ipcache", &s->ipc_all, st);
		if (!err)
			err = tab_read_map(&s->m[PW_SM_POLICY], "policy", &s->pol_all, st);
		if (!err && s->have_lpm)
			err = tab_read_map(&s->m[SM_IPC_LPM], "ipcache_lpm", &s->ipl_all, st);
		if (!err && s->have_lpm)
			err = tab_read_map(&s->m[SM_POL_LPM], "policy_lpm", &s->pll_all, st);
		if (!err)
			err = split_slots(&s->ipc_all, s->A, &s->v.ipc_A, &s->v.ipc_I,
					  &s->ipc_garbage);
		if (!err)
			err = split_slots(&s->pol_all, s->A, &s->v.pol_A, &s->v.pol_I,
					  &s->pol_garbage);
		if (!err)
			err = split_slots(&s->ipl_all, s->A, &s->v.ipl_A, &s->v.ipl_I,
					  &s->ipc_garbage);
		if (!err)
			err = split_slots(&s->pll_all, s->A, &s->v.pll_A, &s->v.pll_I,
					  &s->pol_garbage);
		if (!err)
			err = build_logical(s);
		if (err)
			return err;
	}

	err = tab_read_map(&s->m[PW_SM_ENDPOINTS], "endpoints", &s->ep, st);
	if (!err)
		err = tab_read_map(&s->m[PW_SM_LOCAL_IPS], "local_ips", &s->lip, st);
	if (!err)
		err = tab_read_map(&s->m[PW_SM_DNS], "dns", &s->dns, st);
	if (!err)
		err = build_live_views(s);
	return err;
}

/*
 * After a sync that succeeded: the views of what the maps hold now go to
 * the cache. After a flip, the idle slot holds what the live slot held
 * (untouched by this sync) and the live slot what was just written, the
 * desired tables, which are sorted already: the tables are swapped, not
 * copied. flipped: slot I was written and made live (write_slot also
 * deleted every entry of no valid slot).
 */
static void cache_store(struct sync *s, const struct pw_config *now_cfg, bool flipped)
{
	struct pw_sync_cache *c = s->cache;
	struct views *v = &s->v;

	if (!c)
		return;
	if (!flipped && (s->ipc_garbage || s->pol_garbage)) {
		/* entries of no valid slot are still there: not what a view says */
		pw_sync_cache_invalidate(c);
		return;
	}
	if (flipped) {
		/* the old live views become the idle ones; the old idle ones go */
		tab_swap(&v->ipc_I, &v->ipc_A);
		tab_swap(&v->ipl_I, &v->ipl_A);
		tab_swap(&v->pol_I, &v->pol_A);
		tab_swap(&v->pll_I, &v->pll_A);
		tab_swap(&v->ipc_A, &s->w_ipch);
		tab_swap(&v->ipl_A, &s->w_ipcl);
		tab_swap(&v->pol_A, &s->w_polh);
		tab_swap(&v->pll_A, &s->w_poll);
		tab_swap(&v->lipc_A, &s->w_ipc);
		tab_swap(&v->lpol_A, &s->w_pol);
	}
	views_free(&c->v);
	c->v = *v;
	views_init(v);
	for (int m = 0; m < SM_N; m++)
		c->ids[m] = s->m[m].id;
	c->cfg = *now_cfg;
	c->valid = true;
}

struct pw_sync_cache *pw_sync_cache_new(void)
{
	struct pw_sync_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->max_age_ns = PW_SYNC_CACHE_MAX_AGE_NS;
	views_init(&c->v);
	return c;
}

void pw_sync_cache_invalidate(struct pw_sync_cache *c)
{
	if (!c)
		return;
	c->valid = false;
	views_free(&c->v);
}

void pw_sync_cache_set_max_age(struct pw_sync_cache *c, uint64_t ms)
{
	if (c)
		c->max_age_ns = ms * 1000000ull;
}

void pw_sync_cache_free(struct pw_sync_cache *c)
{
	if (!c)
		return;
	views_free(&c->v);
	free(c);
}

/* tab_diff_count, only to know whether two tables differ */
static bool tab_differ(const struct tab *a, const struct tab *b)
{
	struct pw_sync_count c = { 0 };

	tab_diff_count(a, b, &c);
	return c.added || c.changed || c.removed;
}

int pw_sync_fds2(const struct pw_map_fds *fds, const struct pw_map_fds_lpm *lfds,
		 const struct pw_state *desired, const struct pw_sync_opts *opts,
		 struct pw_sync_stats *st_out)
{
	struct pw_sync_stats st_local;
	struct pw_sync_stats *st = st_out ? st_out : &st_local;
	struct sync s;
	struct pw_config ncfg;
	uint32_t zero = 0, nflags;
	bool slots_equal;
	int err;

	memset(st, 0, sizeof(*st));
	memset(&s, 0, sizeof(s));
	s.fds = fds;
	s.lfds = lfds;
	s.st = st;
	s.cache = opts ? opts->cache : NULL;
	tab_init(&s.w_ipc, sizeof(struct pw_ipcache_key), sizeof(struct pw_ipcache_val));
	tab_init(&s.w_ipch, sizeof(struct pw_ipcache_key), sizeof(struct pw_ipcache_val));
	tab_init(&s.w_ipcl, sizeof(struct pw_ipcache_key), sizeof(struct pw_ipcache_val));
	tab_init(&s.w_pol, sizeof(struct pw_policy_key), sizeof(struct pw_policy_val));
	tab_init(&s.w_polh, sizeof(struct pw_policy_key), sizeof(struct pw_policy_val));
	tab_init(&s.w_poll, sizeof(struct pw_policy_key), sizeof(struct pw_policy_val));
	tab_init(&s.w_ep, sizeof(uint32_t), sizeof(struct pw_endpoint));
	tab_init(&s.w_lip, sizeof(struct pw_addr), sizeof(uint32_t));
	tab_init(&s.w_dns, sizeof(uint32_t), sizeof(struct pw_dns));

	err = read_all(&s);
	if (!err && !s.have_lpm) {
		set_err(st, "maps ipcache_lpm/policy_lpm: not given (maps of an older podwall? "
			"the datapath needs both halves of ipcache and policy)");
		err = -EINVAL;
	}
	if (!err)
		err = build_desired(&s, desired);
	if (!err)
		err = split_desired(&s);
	if (!err)
		err = add_unsplit_copy(&s);
	if (err)
		goto fail_nochange;

	nflags = s.cfg.flags;
	if (opts)
		nflags = (nflags & ~opts->cfg_mask) | (opts->cfg_flags & opts->cfg_mask);

	/* logical difference: desired vs the live slot */
	tab_diff_count(&s.v.lipc_A, &s.w_ipc, &st->map[PW_SM_IPCACHE]);
	tab_diff_count(&s.v.lpol_A, &s.w_pol, &st->map[PW_SM_POLICY]);
	tab_diff_count(&s.ep_norm, &s.w_ep, &st->map[PW_SM_ENDPOINTS]);
	tab_diff_count(&s.dns_norm, &s.w_dns, &st->map[PW_SM_DNS]);
	tab_diff_count(&s.lip, &s.w_lip, &st->map[PW_SM_LOCAL_IPS]);
	slots_equal = true;
	for (int m = 0; m < PW_SM_MAX; m++) {
		struct pw_sync_count *c = &st->map[m];

		if (c->added || c->changed || c->removed)
			slots_equal = false;
	}
	/*
	 * The same entries may still sit in the wrong half (maps written by an
	 * older podwall, or by hand) or miss a summary: the physical halves
	 * must equal the desired ones too.
	 */
	if (slots_equal && (tab_differ(&s.v.ipc_A, &s.w_ipch) || tab_differ(&s.v.ipl_A, &s.w_ipcl) ||
			    tab_differ(&s.v.pol_A, &s.w_polh) || tab_differ(&s.v.pll_A, &s.w_poll)))
		slots_equal = false;
	st->slot = s.A;
	st->generation = s.cfg.generation;

	if (slots_equal && nflags == s.cfg.flags) {
		cache_store(&s, &s.cfg, false);
		goto out; /* nothing to do */
	}

	/* capacity of every map first: all or nothing */
	err = check_room(&s, PW_SM_IPCACHE, s.v.ipc_A.n + s.w_ipch.n);
	if (!err)
		err = check_room(&s, SM_IPC_LPM, s.v.ipl_A.n + s.w_ipcl.n);
	if (!err)
		err = check_room(&s, PW_SM_POLICY, s.v.pol_A.n + s.w_polh.n);
	if (!err)
		err = check_room(&s, SM_POL_LPM, s.v.pll_A.n + s.w_poll.n);
	if (!err)
		err = check_room(&s, PW_SM_ENDPOINTS, s.ep.n + tab_count_new(&s.ep, &s.w_ep));
	if (!err)
		err = check_room(&s, PW_SM_LOCAL_IPS, s.lip.n + tab_count_new(&s.lip, &s.w_lip));
	if (!err)
		err = check_room(&s, PW_SM_DNS, s.dns.n + tab_count_new(&s.dns, &s.w_dns));
	if (err)
		goto fail_nochange;

	ncfg = s.cfg;
	ncfg.flags = nflags;
	ncfg.generation = s.cfg.generation + 1;
	if (slots_equal) {
		/* only the mode changed: same slot, new generation */
		ncfg.active_slot = s.A;
	} else {
		err = write_slot(&s, PW_SM_IPCACHE, &s.ipc_all, &s.v.ipc_I, &s.w_ipch);
		if (!err)
			err = write_slot(&s, SM_IPC_LPM, &s.ipl_all, &s.v.ipl_I, &s.w_ipcl);
		if (!err)
			err = write_slot(&s, PW_SM_POLICY, &s.pol_all, &s.v.pol_I, &s.w_polh);
		if (!err)
			err = write_slot(&s, SM_POL_LPM, &s.pll_all, &s.v.pll_I, &s.w_poll);
		if (!err)
			err = write_pre_flip(&s);
		if (err)
			goto fail_undo;
		ncfg.active_slot = s.I;
	}

	/* the switch: one update makes the new set live for every packet */
	err = bpf_map_update_elem(fds->config, &zero, &ncfg, BPF_ANY);
	if (err) {
		set_err(st, "map config: update (slot %u, generation %u): %s",
			ncfg.active_slot, ncfg.generation, strerror(-err));
		goto fail_undo;
	}
	st->writes++;
	st->switched = true;
	st->map[PW_SM_CONFIG].changed = 1;
	st->slot = ncfg.active_slot;
	st->generation = ncfg.generation;

	if (!slots_equal)
		err = delete_post_flip(&s);
	if (err)
		pw_sync_cache_invalidate(s.cache);
	else
		cache_store(&s, &ncfg, !slots_equal);
	goto out;

fail_undo:
	undo_all(&s);
fail_nochange:
	memset(st->map, 0, sizeof(st->map));
	/* slot I may hold part of the new set, or the cache was taken: read it back next time */
	pw_sync_cache_invalidate(s.cache);
out:
	for (int m = 0; m < PW_SM_CONFIG; m++) { /* entries, not the config switch */
		st->added += st->map[m].added;
		st->changed += st->map[m].changed;
		st->removed += st->map[m].removed;
	}
	sync_free(&s);
	return err;
}

int pw_sync_fds(const struct pw_map_fds *fds, const struct pw_state *desired,
		const struct pw_sync_opts *opts, struct pw_sync_stats *st)
{
	struct pw_map_fds_lpm l;
	int err = pw_map_fds_lpm_find(fds, &l);

	if (err) {
		if (st) {
			memset(st, 0, sizeof(*st));
			set_err(st, "maps ipcache_lpm/policy_lpm beside the given ipcache/policy: "
				"not found (%s)", strerror(-err));
		}
		return err;
	}
	err = pw_sync_fds2(fds, &l, desired, opts, st);
	pw_map_fds_lpm_close(&l);
	return err;
}

int pw_map_fds_from_obj(struct podwall_bpf *obj, struct pw_map_fds *fds)
{
#ifdef PW_HAVE_SKEL
	fds->config = bpf_map__fd(obj->maps.config);
	fds->endpoints = bpf_map__fd(obj->maps.endpoints);
	fds->local_ips = bpf_map__fd(obj->maps.local_ips);
	fds->ipcache = bpf_map__fd(obj->maps.ipcache);
	fds->policy = bpf_map__fd(obj->maps.policy);
	fds->dns = bpf_map__fd(obj->maps.dns);
	return 0;
#else
	(void)obj;
	memset(fds, 0xff, sizeof(*fds));
	return -ENOTSUP;
#endif
}

int pw_map_fds_lpm_from_obj(struct podwall_bpf *obj, struct pw_map_fds_lpm *l)
{
#ifdef PW_HAVE_SKEL
	l->ipcache_lpm = bpf_map__fd(obj->maps.ipcache_lpm);
	l->policy_lpm = bpf_map__fd(obj->maps.policy_lpm);
	l->owned = false;
	return 0;
#else
	(void)obj;
	l->ipcache_lpm = l->policy_lpm = -1;
	l->owned = false;
	return -ENOTSUP;
#endif
}

int pw_sync_ex(struct podwall_bpf *obj, const struct pw_state *desired,
	       const struct pw_sync_opts *opts, struct pw_sync_stats *st)
{
	struct pw_map_fds fds;
	struct pw_map_fds_lpm l;
	int err = pw_map_fds_from_obj(obj, &fds);

	if (!err)
		err = pw_map_fds_lpm_from_obj(obj, &l);
	if (err) {
		if (st) {
			memset(st, 0, sizeof(*st));
			set_err(st, "podwall was built without the BPF skeleton");
		}
		return err;
	}
	return pw_sync_fds2(&fds, &l, desired, opts, st);
}

int pw_sync(struct podwall_bpf *obj, const struct pw_state *desired, struct pw_sync_stats *st)
{
	return pw_sync_ex(obj, desired, NULL, st);
}

/* ------------------------------------------------------------ read back */

int pw_sync_read_live2(const struct pw_map_fds *fds, const struct pw_map_fds_lpm *lfds,
		       struct pw_config *cfg_out, struct pw_state *out)
{
	struct pw_sync_stats st;
	struct sync s;
	int err;

	memset(&st, 0, sizeof(st));
	memset(&s, 0, sizeof(s));
	s.fds = fds;
	s.lfds = lfds;
	s.st = &st;
	err = read_all(&s);
	if (err) {
		if (st.error[0])
			fprintf(stderr, "podwall: %s\n", st.error);
		goto out;
	}
	if (cfg_out)
		*cfg_out = s.cfg;

	out->ipc = calloc(s.v.lipc_A.n ? s.v.lipc_A.n : 1, sizeof(*out->ipc));
	out->pol = calloc(s.v.lpol_A.n ? s.v.lpol_A.n : 1, sizeof(*out->pol));
	out->eps = calloc(s.ep.n ? s.ep.n : 1, sizeof(*out->eps));
	if (!out->ipc || !out->pol || !out->eps) {
		err = -ENOMEM;
		pw_state_free(out);
		goto out;
	}
	for (size_t i = 0; i < s.v.lipc_A.n; i++) {
		memcpy(&out->ipc[i].key, tab_key(&s.v.lipc_A, i), sizeof(out->ipc[i].key));
		memcpy(&out->ipc[i].val, tab_val(&s.v.lipc_A, i), sizeof(out->ipc[i].val));
	}
	out->n_ipc = s.v.lipc_A.n;
	for (size_t i = 0; i < s.v.lpol_A.n; i++) {
		memcpy(&out->pol[i].key, tab_key(&s.v.lpol_A, i), sizeof(out->pol[i].key));
		memcpy(&out->pol[i].val, tab_val(&s.v.lpol_A, i), sizeof(out->pol[i].val));
	}
	out->n_pol = s.v.lpol_A.n;
	for (size_t i = 0; i < s.ep.n; i++) {
		struct pw_state_ep *e = &out->eps[i];
		struct pw_endpoint v;
		const uint8_t *d;

		memcpy(&e->ifindex, tab_key(&s.ep, i), sizeof(e->ifindex));
		memcpy(&v, tab_val(&s.ep, i), sizeof(v));
		e->ep_id = v.ep_id;
		e->identity = v.identity;
		e->flags = v.flags[s.A] & ~PW_EP_NO_ANY_MASK; /* not part of a state */
		if (v.flags[s.A] & PW_EP_HAS_V4)
			memcpy(e->ips[e->n_ips++], v.ip4, 16);
		if (v.flags[s.A] & PW_EP_HAS_V6)
			memcpy(e->ips[e->n_ips++], v.ip6, 16);
		d = tab_find(&s.dns, &v.ep_id);
		if (d) {
			struct pw_dns dv;

			memcpy(&dv, d + s.dns.ksz, sizeof(dv));
			e->dns_flags = dv.flags[s.A];
		}
	}
	out->n_eps = s.ep.n;
out:
	sync_free(&s);
	return err;
}

int pw_sync_read_live(const struct pw_map_fds *fds, struct pw_config *cfg_out,
		      struct pw_state *out)
{
	struct pw_map_fds_lpm l;
	int err = pw_map_fds_lpm_find(fds, &l);

	if (err) {
		fprintf(stderr, "podwall: maps ipcache_lpm/policy_lpm beside the given "
			"ipcache/policy: not found (%s)\n", strerror(-err));
		return err;
	}
	err = pw_sync_read_live2(fds, &l, cfg_out, out);
	pw_map_fds_lpm_close(&l);
	return err;
}

void pw_sync_stats_summary(const struct pw_sync_stats *st, char *buf, size_t len)
{
	snprintf(buf, len, "%zu added, %zu changed, %zu removed", st->added, st->changed,
		 st->removed);
}
