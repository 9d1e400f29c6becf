/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The pinned maps, opened by path (pins.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "model.h" /* struct pw_error */
#include "kernel/netns.h"
#include "kernel/mapsync.h"
#include "kernel/cttable.h"
#include "ops/pins.h"
#include "ops/loaded.h"

int pw_pins_default_dir(const char *pin_dir, char *buf, size_t len)
{
	if (pin_dir) {
		if ((size_t)snprintf(buf, len, "%s", pin_dir) >= len)
			return -ENAMETOOLONG;
		return 0;
	}
	return pw_default_pin_dir(buf, len);
}

int pw_pins_open(const char *pin_dir, unsigned need, struct pw_pins *p, struct pw_error *why)
{
	char path[PATH_MAX + 32];
	int err;

	memset(why, 0, sizeof(*why));
	for (int i = 0; i < PW_MAP_MAX; i++)
		p->fd[i] = -1;
	err = pw_pins_default_dir(pin_dir, p->dir, sizeof(p->dir));
	if (err) {
		snprintf(why->msg, sizeof(why->msg), "pin dir: %s", strerror(-err));
		return err;
	}
	for (int i = 0; i < PW_MAP_MAX; i++) {
		snprintf(path, sizeof(path), "%s/%s", p->dir, pw_map_names[i]);
		p->fd[i] = bpf_obj_get(path);
		if (p->fd[i] >= 0 || !(need & PW_PIN_BIT(i)))
			continue;
		err = -errno;
		if (err == -ENOENT)
			snprintf(why->msg, sizeof(why->msg), "no podwall maps pinned in %.700s (no agent "
				 "or apply ran with this pin dir? see --pin-dir)", p->dir);
		else
			snprintf(why->msg, sizeof(why->msg), "%.900s: %s%s", path, strerror(-err),
				 err == -EPERM || err == -EACCES ? " (needs root)" : "");
		pw_pins_close(p);
		return err;
	}
	return 0;
}

void pw_pins_close(struct pw_pins *p)
{
	for (int i = 0; i < PW_MAP_MAX; i++) {
		if (p->fd[i] >= 0)
			close(p->fd[i]);
		p->fd[i] = -1;
	}
}

void pw_pins_map_fds(const struct pw_pins *p, struct pw_map_fds *fds)
{
	for (int m = 0; m < PW_MAP_MAX; m++)
		fds->fd[m] = p->fd[m]; /* the pins' own: pw_pins_close closes them */
}

int pw_pins_config(const struct pw_pins *p, struct pw_config *cfg)
{
	uint32_t zero = 0;

	memset(cfg, 0, sizeof(*cfg));
	if (p->fd[PW_MAP_CONFIG] < 0)
		return -ENOENT;
	if (bpf_map_lookup_elem(p->fd[PW_MAP_CONFIG], &zero, cfg))
		return -errno;
	return 0;
}

/*
 * The one reader of per-CPU arrays: for each key in [0, n_keys), add(out,
 * key, v) for every CPU's value v (vsize bytes; the kernel lays them out 8
 * byte aligned). 0, -ENOENT if m is not open, or a negative errno.
 */
static int read_percpu(const struct pw_pins *p, enum pw_map m, uint32_t n_keys, size_t vsize,
		       void (*add)(void *out, uint32_t key, const void *v), void *out)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t stride = (vsize + 7) & ~(size_t)7;
	unsigned char *v;
	int err = 0;

	if (p->fd[m] < 0)
		return -ENOENT;
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc((size_t)ncpu, stride);
	if (!v)
		return -ENOMEM;
	for (uint32_t k = 0; k < n_keys; k++) {
		if (bpf_map_lookup_elem(p->fd[m], &k, v)) {
			err = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++)
			add(out, k, v + (size_t)c * stride);
	}
	free(v);
	return err;
}

static void add_counter(void *out, uint32_t key, const void *v)
{
	const struct pw_counter *c = v;
	struct pw_counter *o = out;

	o[key].packets += c->packets;
	o[key].bytes += c->bytes;
}

int pw_pins_counters(const struct pw_pins *p, struct pw_counter *out)
{
	memset(out, 0, sizeof(*out) * PW_COUNTERS_MAX);
	return read_percpu(p, PW_MAP_COUNTERS, PW_COUNTERS_MAX, sizeof(*out), add_counter, out);
}

static void add_suppressed(void *out, uint32_t key, const void *v)
{
	*(uint64_t *)out += ((const struct pw_ratelimit *)v)->suppressed;
}

int pw_pins_pending_suppressed(const struct pw_pins *p, uint64_t *n)
{
	*n = 0;
	return read_percpu(p, PW_MAP_RATELIMIT, 1, sizeof(struct pw_ratelimit), add_suppressed, n);
}

static void add_u64(void *out, uint32_t key, const void *v)
{
	((uint64_t *)out)[key] += *(const uint64_t *)v;
}

int pw_pins_fqdn_stats(const struct pw_pins *p, uint64_t *out)
{
	memset(out, 0, sizeof(*out) * PW_FQDN_STAT_MAX);
	return read_percpu(p, PW_MAP_FQDN_STATS, PW_FQDN_STAT_MAX, sizeof(*out), add_u64, out);
}

int pw_pins_ct_stats(const struct pw_pins *p, uint64_t *out)
{
	memset(out, 0, sizeof(*out) * PW_CT_STAT_MAX);
	return read_percpu(p, PW_MAP_CT_STATS, PW_CT_STAT_MAX, sizeof(*out), add_u64, out);
}

static int fqdn_entry_cmp(const void *a, const void *b)
{
	const struct pw_fqdn_entry *x = a, *y = b;
	int r;

	if (x->ep_id != y->ep_id)
		return x->ep_id < y->ep_id ? -1 : 1;
	r = memcmp(x->addr, y->addr, 16);
	if (r)
		return r;
	return x->name_id < y->name_id ? -1 : x->name_id > y->name_id;
}

/*
 * Call fn for every set of fqdn_learned (a set evicted during the walk is
 * skipped). Stops early when fn returns non-zero and returns that.
 */
static int fqdn_walk(const struct pw_pins *p,
		     int (*fn)(const struct pw_fqdn_key *k, const struct pw_fqdn_set *set, void *ctx),
		     void *ctx)
{
	int fd = p->fd[PW_MAP_FQDN_LEARNED];
	struct pw_fqdn_key key, next, *prev = NULL;
	struct pw_fqdn_set set;
	size_t sets = 0;
	int err;

	if (fd < 0)
		return -ENOENT;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &set))
			continue; /* evicted meanwhile */
		err = fn(&key, &set, ctx);
		if (err)
			return err;
		if (++sets > PW_MAX_FQDN_SETS * 2)
			return 0; /* a map changing under the walk: enough */
	}
	return errno == ENOENT ? 0 : -errno;
}

struct fqdn_collect {
	uint32_t now_s;
	struct pw_fqdn_entry *v;
	size_t len, cap;
};

static int fqdn_collect_set(const struct pw_fqdn_key *key, const struct pw_fqdn_set *set, void *ctx)
{
	struct fqdn_collect *c = ctx;
	struct pw_fqdn_entry *t;

	for (int w = 0; w < PW_FQDN_WAYS; w++)
		for (int k = 0; k < PW_FQDN_NAMES; k++) {
			const struct pw_fqdn_name *nm = &set->ways[w].names[k];
			int32_t left = (int32_t)(nm->expires_s - c->now_s);

			if (!nm->name_id || left <= 0)
				continue;
			if (c->len == c->cap) {
				size_t cap = c->cap ? c->cap * 2 : 64;

				t = realloc(c->v, cap * sizeof(*t));
				if (!t)
					return -ENOMEM;
				c->v = t;
				c->cap = cap;
			}
			t = &c->v[c->len++];
			t->ep_id = key->ep_id;
			t->name_id = nm->name_id;
			memcpy(t->owner, set->owner, 16);
			memcpy(t->addr, set->ways[w].addr, 16);
			t->ttl_left = (uint32_t)left;
		}
	return 0;
}

int pw_pins_fqdn_learned(const struct pw_pins *p, uint32_t now_s, struct pw_fqdn_entry **out,
			 size_t *n)
{
	struct fqdn_collect c = { .now_s = now_s };
	int err;

	*out = NULL;
	*n = 0;
	err = fqdn_walk(p, fqdn_collect_set, &c);
	if (err) {
		free(c.v);
		return err;
	}
	if (c.len)
		qsort(c.v, c.len, sizeof(*c.v), fqdn_entry_cmp);
	*out = c.v;
	*n = c.len;
	return 0;
}

struct fqdn_count {
	uint32_t now_s;
	uint64_t live, expired;
};

static int fqdn_count_set(const struct pw_fqdn_key *key, const struct pw_fqdn_set *set, void *ctx)
{
	struct fqdn_count *c = ctx;

	(void)key;
	for (int w = 0; w < PW_FQDN_WAYS; w++)
		for (int k = 0; k < PW_FQDN_NAMES; k++) {
			const struct pw_fqdn_name *nm = &set->ways[w].names[k];

			if (!nm->name_id)
				continue;
			if ((int32_t)(nm->expires_s - c->now_s) > 0)
				c->live++;
			else
				c->expired++;
		}
	return 0;
}

int pw_pins_fqdn_count(const struct pw_pins *p, uint32_t now_s, uint64_t *live, uint64_t *expired)
{
	struct fqdn_count c = { .now_s = now_s };
	int err = fqdn_walk(p, fqdn_count_set, &c);

	*live = c.live;
	*expired = c.expired;
	return err;
}

int pw_pins_fill(const struct pw_pins *p, enum pw_map m, uint32_t live_slot,
		 struct pw_map_fill *out)
{
	struct bpf_map_info info;
	uint32_t ilen = sizeof(info);
	int fd = p->fd[m];
	uint8_t *key = NULL, *next = NULL;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return -ENOENT;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen))
		return -errno;
	out->type = info.type;
	out->max_entries = info.max_entries;
	out->key_size = info.key_size;
	out->value_size = info.value_size;
	if (m == PW_MAP_CONNTRACK && info.type == BPF_MAP_TYPE_ARRAY) {
		/* the table (abi.h): its live ways against sets x ways */
		struct pw_ct_table t;

		err = pw_ct_table_open(fd, &t);
		if (err)
			return err;
		out->entries = pw_ct_table_count(&t);
		out->max_entries = t.n_sets * PW_CT_WAYS;
		out->counted = true;
		pw_ct_table_close(&t);
		return 0;
	}
	switch (info.type) {
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		out->entries = info.max_entries;
		out->counted = true;
		return 0;
	case BPF_MAP_TYPE_RINGBUF:
		return 0;
	default:
		break;
	}
	if (!info.key_size)
		return 0;
	out->slotted = (m == PW_MAP_IPCACHE || m == PW_MAP_IPCACHE_LPM || m == PW_MAP_POLICY ||
			m == PW_MAP_POLICY_LPM) && info.key_size > 4;
	key = calloc(1, info.key_size);
	next = calloc(1, info.key_size);
	if (!key || !next) {
		err = -ENOMEM;
		goto out;
	}
	for (uint8_t *prev = NULL;; prev = key) {
		uint8_t *t;

		if (bpf_map_get_next_key(fd, prev, next)) {
			if (errno != ENOENT)
				err = -errno;
			break;
		}
		out->entries++;
		/* the keys of both halves of ipcache and policy: prefixlen, then the slot byte */
		if (out->slotted && next[4] == live_slot) {
			uint32_t plen;

			out->live_slot++;
			memcpy(&plen, next, sizeof(plen));
			if (m == PW_MAP_POLICY && plen == PW_POL_PREFIX_SUMMARY)
				out->summaries++;
		}
		t = key;
		key = next;
		next = t;
		if (out->entries > (uint64_t)info.max_entries * 2 + 16)
			break; /* the map changes under us: good enough */
	}
	out->counted = !err;
out:
	free(key);
	free(next);
	return err;
}

int pw_pins_read_live(const struct pw_pins *p, struct pw_config *cfg, struct pw_state *live,
		      struct pw_error *why)
{
	struct pw_map_fds fds;

	pw_pins_map_fds(p, &fds);
	return pw_sync_read_live(&fds, cfg, live, why);
}

void pw_pins_live_count(const struct pw_pins *p, const struct pw_config *cfg,
			const struct pw_state *live, struct pw_live_count *out)
{
	/* without both LPM pins the maps are an old podwall's: everything is in the two */
	bool split = p->fd[PW_MAP_IPCACHE_LPM] >= 0 && p->fd[PW_MAP_POLICY_LPM] >= 0;

	memset(out, 0, sizeof(*out));
	out->slot = cfg->active_slot;
	out->generation = cfg->generation;
	/* which half an entry lives in is the writers' rule (abi.h), from its prefixlen */
	for (size_t i = 0; i < live->n_pol; i++)
		out->policy[split && !PW_POL_IN_HASH(live->pol[i].key.prefixlen)]++;
	for (size_t i = 0; i < live->n_ipc; i++)
		out->ipcache[split && live->ipc[i].key.prefixlen != PW_IPC_EXACT_PREFIX]++;
}

void pw_pins_live_tiers(const struct pw_state *live, const struct pw_loaded *names,
			uint64_t out[3], uint64_t *deny)
{
	out[0] = out[1] = out[2] = 0;
	*deny = 0;
	for (size_t i = 0; i < live->n_pol; i++) {
		const struct pw_policy_val *v = &live->pol[i].val;
		const struct pw_ld_rule *r = v->rule_id == PW_RULE_NONE ? NULL
					     : pw_ld_rule(names, v->rule_id);
		int t = 0;

		if (r && (r->tier == PW_TIER_ADMIN || r->tier == PW_TIER_BASELINE))
			t = r->tier;   /* 1: admin, 2: baseline */
		out[t]++;
		*deny += !!(v->flags & PW_POL_DENY);
	}
}

static int live_rule_cmp(const void *a, const void *b)
{
	const struct pw_live_rule *x = a, *y = b;

	if (x->ep_id != y->ep_id)
		return x->ep_id < y->ep_id ? -1 : 1;
	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	return (x->rule_id > y->rule_id) - (x->rule_id < y->rule_id);
}

int pw_pins_live_rules(const struct pw_state *live, struct pw_live_rule **out, size_t *n)
{
	struct pw_live_rule *v;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	v = malloc((live->n_pol ? live->n_pol : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < live->n_pol; i++) {
		const struct pw_state_pol *e = &live->pol[i];

		if (e->val.rule_id == PW_RULE_NONE || e->key.prefixlen == PW_POL_PREFIX_SUMMARY)
			continue;
		v[k++] = (struct pw_live_rule){ e->key.ep_id, e->val.rule_id, e->key.dir };
	}
	qsort(v, k, sizeof(*v), live_rule_cmp);
	for (size_t i = 0; i < k; i++)
		if (!*n || live_rule_cmp(&v[*n - 1], &v[i]))
			v[(*n)++] = v[i];
	*out = v;
	return 0;
}
