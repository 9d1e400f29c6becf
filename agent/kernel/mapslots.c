// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mapslots: the two-slot sync (mapslots.h): what the maps hold (read back,
 * or kept in a pw_sync_cache), the desired state in the same shape and
 * split over the hash and LPM halves with the policy summaries, the diff
 * of the idle slot, its writes with an undo log, the flip, the deletes
 * after it.
 *
 * Every map is read into a sorted table of (key, value) byte strings
 * (maptab.h), the desired state is turned into tables of the same shape,
 * and merge walks give the difference.
 *
 * The per-slot maps (ipcache, policy, their LPM halves) are the bulk: every
 * pod address and policy entry of the cluster, in both slots, in hashes of
 * 256k-512k buckets that a batched read walks whole. With a pw_sync_cache
 * they are read back only when the cache does not fit (another writer, new
 * maps, an error, older than 30 s); otherwise their tables are the ones the
 * last sync wrote (the desired tables, sorted already) and kept, and a small
 * change costs what the desired side costs: linear passes over sorted
 * tables, and the map writes of the change itself.
 *
 * The ipcache is the larger half (every pod address of the cluster), and a
 * change seldom moves an address: a policy edit leaves it alone, a label
 * edit gives a pod another identity. So the cache also keeps the desired
 * ipcache the live slot was made from, and where the idle slot's ipcache
 * differs from the live one (values only, the same keys). A desired
 * ipcache with the same keys in the same order is a patch: its tables are
 * not built, the entries of the idle slot to write are the changed ones and
 * those it lagged behind in, and the views are patched (ipcache_patched).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "clock.h"
#include "kernel/bpfobj.h" /* pw_addr_is_v4 */
#include "kernel/mapslots.h"
#include "kernel/maptab.h"

/*
 * What the per-slot maps hold, in the form the sync works on: sorted,
 * deduplicated, slot byte 0 in the keys. ipc/pol: the hash halves (policy
 * with its summaries), ipl/pll: the LPM halves, per slot (A live, I idle);
 * lipc_A/lpol_A: the live slot, both halves merged, summaries left out
 * (the logical view, what the statistics compare the desired state with).
 * Read back from the kernel, or kept from the last sync (pw_sync_cache).
 */
struct views {
	struct pw_tab ipc_A, ipc_I, ipl_A, ipl_I;
	struct pw_tab pol_A, pol_I, pll_A, pll_I;
	struct pw_tab lipc_A, lpol_A;
};

static void views_init(struct views *v)
{
	struct pw_tab *ipcs[] = { &v->ipc_A, &v->ipc_I, &v->ipl_A, &v->ipl_I, &v->lipc_A };
	struct pw_tab *pols[] = { &v->pol_A, &v->pol_I, &v->pll_A, &v->pll_I, &v->lpol_A };

	for (size_t i = 0; i < sizeof(ipcs) / sizeof(ipcs[0]); i++)
		pw_tab_init(ipcs[i], sizeof(struct pw_ipcache_key), sizeof(struct pw_ipcache_val));
	for (size_t i = 0; i < sizeof(pols) / sizeof(pols[0]); i++)
		pw_tab_init(pols[i], sizeof(struct pw_policy_key), sizeof(struct pw_policy_val));
}

static void views_free(struct views *v)
{
	struct pw_tab *tabs[] = { &v->ipc_A, &v->ipc_I, &v->ipl_A, &v->ipl_I, &v->lipc_A,
			       &v->pol_A, &v->pol_I, &v->pll_A, &v->pll_I, &v->lpol_A };

	for (size_t i = 0; i < sizeof(tabs) / sizeof(tabs[0]); i++)
		pw_tab_free(tabs[i]);
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
	uint32_t ids[PW_MAP_MAX];         /* bpf_map_info.id of each map, 0: not there */
	struct pw_config cfg;       /* config as the last sync left it */
	uint64_t read_ns;           /* when the views were last read back (CLOCK_MONOTONIC) */
	uint64_t max_age_ns;
	struct views v;
	/* the desired ipcache the live slot's halves were made from (have_ipc:
	 * without an older datapath's copy); ipc_canon: its keys canonical,
	 * sorted and distinct (entry i is one row of a half); idle_known: the
	 * idle slot's halves have the same keys, other values at idle[] only
	 * (ascending indexes into ipc) */
	struct pw_state_ipc *ipc;
	size_t   n_ipc;
	bool     have_ipc, ipc_canon, idle_known;
	size_t  *idle, n_idle;
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
	struct pw_sync_stats *st;
	struct pw_sync_cache *cache;       /* may be NULL */
	struct pw_map_meta m[PW_MAP_MAX];
	bool have_lpm;                     /* the LPM halves are there (else: a legacy
					      single LPM in ipcache/policy, read only) */
	struct pw_config cfg;
	uint32_t A, I;
	bool ipc_trusted;                  /* the cache's ipc describes slot A */
	bool idle_equal;                   /* slot I's ipcache halves equal slot A's (seen) */
	bool ipc_patch;                    /* desired ipcache: slot A's keys, values
					      changed at chg[] (ascending): no tables */
	size_t *chg, n_chg;
	bool unsplit;                      /* add_unsplit_copy added the older layout */

	/* In the maps now: views (from the kernel or the cache) and the small maps. */
	struct views v;
	struct pw_tab ipc_all, pol_all, ipl_all, pll_all; /* raw, every slot; empty when cached */
	size_t ipc_garbage, pol_garbage;   /* entries with a slot byte > 1 */
	struct pw_tab ep, lip, dns;           /* raw */
	struct pw_tab ep_norm, dns_norm;      /* live-slot view */
	/* name_set (per slot like ipcache, small: read whole every sync) */
	bool have_names;
	struct pw_tab nm_all, nm_A, nm_I, w_nm;
	size_t nm_garbage;

	/* desired: logical (w_ipc, w_pol), then split over the halves */
	struct pw_tab w_ipc, w_pol;           /* slot-0 keys, canonical */
	struct pw_tab w_ipch, w_ipcl, w_polh, w_poll; /* w_polh: with the summaries */
	struct pw_tab w_ep, w_lip, w_dns;     /* w_ep/w_dns: normalized (flags[0] only) */

	/* undo log for writes made before the flip */
	struct undo { int fd; uint8_t key[32]; uint8_t val[64]; bool had; } *undo;
	size_t n_undo, cap_undo;
};

static void sync_free(struct sync *s)
{
	struct pw_tab *tabs[] = { &s->ipc_all, &s->pol_all, &s->ipl_all, &s->pll_all, &s->ep,
			       &s->lip, &s->dns, &s->ep_norm, &s->dns_norm, &s->w_ipc,
			       &s->w_pol, &s->w_ipch, &s->w_ipcl, &s->w_polh, &s->w_poll,
			       &s->w_ep, &s->w_lip, &s->w_dns, &s->nm_all, &s->nm_A, &s->nm_I,
			       &s->w_nm };

	for (size_t i = 0; i < sizeof(tabs) / sizeof(tabs[0]); i++)
		pw_tab_free(tabs[i]);
	views_free(&s->v);
	free(s->undo);
	free(s->chg);
}

/* Split a raw LPM table into slot A and slot I views with slot-0 keys. */
static int split_slots(const struct pw_tab *all, uint32_t A, struct pw_tab *ta, struct pw_tab *ti,
		       size_t *garbage)
{
	uint8_t key[64];
	int err;

	for (size_t i = 0; i < all->n; i++) {
		uint8_t slot = pw_tab_key(all, i)[LPM_SLOT_OFF];

		if (slot >= PW_SLOTS) {
			(*garbage)++;
			continue;
		}
		memcpy(key, pw_tab_key(all, i), all->ksz);
		key[LPM_SLOT_OFF] = 0;
		err = pw_tab_push(slot == A ? ta : ti, key, pw_tab_val(all, i));
		if (err)
			return err;
	}
	pw_tab_sort_dedup(ta);
	pw_tab_sort_dedup(ti);
	return 0;
}

/* PW_EP_NO_ANY_* of ep_id: the directions in which it has no any-peer entry. */
static uint32_t no_any_flags(const struct pw_tab *any_dirs, uint32_t ep_id)
{
	uint64_t in = (uint64_t)ep_id << 8 | PW_DIR_INGRESS, eg = (uint64_t)ep_id << 8 | PW_DIR_EGRESS;

	return (pw_tab_find(any_dirs, &in) ? 0 : PW_EP_NO_ANY_INGRESS) |
	       (pw_tab_find(any_dirs, &eg) ? 0 : PW_EP_NO_ANY_EGRESS);
}

/* Note what the sync noticed and went on with (st->warning, "; "-separated). */
static void warn(struct pw_sync_stats *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warn(struct pw_sync_stats *st, const char *fmt, ...)
{
	size_t n = strlen(st->warning);
	va_list ap;

	if (n && n + 2 < sizeof(st->warning)) {
		memcpy(st->warning + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(st->warning + n, sizeof(st->warning) - n, fmt, ap);
	va_end(ap);
}

/* The key of an ipcache entry as the maps hold it in slot 0. */
static int ipc_key_canon(const struct pw_state_ipc *e, struct pw_ipcache_key *k)
{
	*k = e->key;
	k->slot = 0;
	memset(k->pad, 0, sizeof(k->pad));
	return pw_lpm_canon((uint8_t *)k, sizeof(*k));
}

static int build_desired(struct sync *s, const struct pw_state *d)
{
	struct pw_sync_stats *st = s->st;
	struct pw_tab any_dirs;
	size_t dropped;
	int err = 0;

	for (size_t i = 0; !s->ipc_patch && i < d->n_ipc; i++) {
		struct pw_ipcache_key k;

		if (ipc_key_canon(&d->ipc[i], &k)) {
			pw_why(st->error, "ipcache entry %zu: prefixlen %u out of range", i, k.prefixlen);
			return -EINVAL;
		}
		err = pw_tab_push(&s->w_ipc, &k, &d->ipc[i].val);
		if (err)
			return err;
	}
	dropped = pw_tab_sort_dedup(&s->w_ipc);
	if (dropped)
		warn(st, "ipcache: %zu duplicate prefixes ignored", dropped);

	for (size_t i = 0; i < d->n_pol; i++) {
		struct pw_policy_key k = d->pol[i].key;

		k.slot = 0;
		k.pad0 = 0;
		k.pad1 = 0;
		if (k.prefixlen < PW_POL_PREFIX_ANY_PROTO || pw_lpm_canon((uint8_t *)&k, sizeof(k))) {
			pw_why(st->error, "policy entry %zu: prefixlen %u out of range", i, k.prefixlen);
			return -EINVAL;
		}
		err = pw_tab_push(&s->w_pol, &k, &d->pol[i].val);
		if (err)
			return err;
	}
	dropped = pw_tab_sort_dedup(&s->w_pol);
	if (dropped)
		warn(st, "policy: %zu duplicate keys ignored", dropped);

	for (size_t i = 0; i < d->n_names; i++) {
		struct pw_name_key k = d->names[i].key;

		k.slot = 0;
		memset(k.pad, 0, sizeof(k.pad));
		err = pw_tab_push(&s->w_nm, &k, &d->names[i].val);
		if (err)
			return err;
	}
	dropped = pw_tab_sort_dedup(&s->w_nm);
	if (dropped)
		warn(st, "name_set: %zu duplicate names ignored", dropped);
	if (s->w_nm.n && !s->have_names) {
		pw_why(st->error, "map name_set: not given, and the policy has domainNames peers");
		return -EINVAL;
	}

	/* (ep_id, dir) that have any-peer entries: the others get PW_EP_NO_ANY_* */
	pw_tab_init(&any_dirs, sizeof(uint64_t), 0);
	for (size_t i = 0; i < s->w_pol.n; i++) {
		struct pw_policy_key k;
		uint64_t ed;

		memcpy(&k, pw_tab_key(&s->w_pol, i), sizeof(k));
		if (k.peer_id != PW_ID_ANY)
			continue;
		ed = (uint64_t)k.ep_id << 8 | k.dir;
		err = pw_tab_push(&any_dirs, &ed, NULL);
		if (err) {
			pw_tab_free(&any_dirs);
			return err;
		}
	}
	pw_tab_sort_dedup(&any_dirs);

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
			if (pw_addr_is_v4(e->ips[j]) && !v4) {
				memcpy(v.ip4, e->ips[j], 16);
				v4 = true;
			} else if (!pw_addr_is_v4(e->ips[j]) && !v6) {
				memcpy(v.ip6, e->ips[j], 16);
				v6 = true;
			}
		}
		v.flags[0] = (e->flags & ~(PW_EP_HAS_V4 | PW_EP_HAS_V6 | PW_EP_NO_ANY_MASK)) |
			     (v4 ? PW_EP_HAS_V4 : 0) | (v6 ? PW_EP_HAS_V6 : 0) |
			     no_any_flags(&any_dirs, e->ep_id);
		err = pw_tab_push(&s->w_ep, &key, &v);
		if (err)
			break;

		memset(&dv, 0, sizeof(dv));
		dv.flags[0] = e->dns_flags;
		err = pw_tab_push(&s->w_dns, &e->ep_id, &dv);
		if (err)
			break;

		for (size_t j = 0; j < e->n_ips && j < 2; j++) {
			struct pw_addr a;

			memcpy(a.a, e->ips[j], 16);
			err = pw_tab_push(&s->w_lip, &a, &key);
			if (err)
				break;
		}
		if (err)
			break;
	}
	pw_tab_free(&any_dirs);
	if (err)
		return err;
	dropped = pw_tab_sort_dedup(&s->w_ep);
	if (dropped)
		warn(st, "endpoints: %zu pods share a host veth with "
			"another pod; only the first is enforced", dropped);
	dropped = pw_tab_sort_dedup(&s->w_dns);
	if (dropped)
		warn(st, "dns: %zu duplicate endpoint ids ignored", dropped);
	dropped = pw_tab_sort_dedup(&s->w_lip);
	if (dropped)
		warn(st, "local_ips: %zu addresses claimed by two local "
			"pods; the first one keeps it", dropped);
	return 0;
}

/* The live-slot view of what the maps hold, in the shape of the desired tables. */
static int build_live_views(struct sync *s)
{
	int err;

	for (size_t i = 0; i < s->ep.n; i++) {
		struct pw_endpoint v;

		memcpy(&v, pw_tab_val(&s->ep, i), sizeof(v));
		v.flags[0] = v.flags[s->A];
		v.flags[1] = 0;
		err = pw_tab_push(&s->ep_norm, pw_tab_key(&s->ep, i), &v);
		if (err)
			return err;
	}
	for (size_t i = 0; i < s->dns.n; i++) {
		struct pw_dns v;

		memset(&v, 0, sizeof(v));
		memcpy(v.flags, pw_tab_val(&s->dns, i) + offsetof(struct pw_dns, flags), sizeof(v.flags));
		v.flags[0] = v.flags[s->A];
		v.flags[1] = 0;
		err = pw_tab_push(&s->dns_norm, pw_tab_key(&s->dns, i), &v);
		if (err)
			return err;
	}
	pw_tab_sort_dedup(&s->ep_norm);
	pw_tab_sort_dedup(&s->dns_norm);
	return 0;
}

/* The live slot of both halves as one table each, without the summaries. */
static int build_logical(struct sync *s)
{
	int err = 0;

	for (size_t i = 0; !err && i < s->v.ipc_A.n; i++)
		err = pw_tab_push(&s->v.lipc_A, pw_tab_key(&s->v.ipc_A, i), pw_tab_val(&s->v.ipc_A, i));
	for (size_t i = 0; !err && i < s->v.ipl_A.n; i++)
		err = pw_tab_push(&s->v.lipc_A, pw_tab_key(&s->v.ipl_A, i), pw_tab_val(&s->v.ipl_A, i));
	for (size_t i = 0; !err && i < s->v.pol_A.n; i++) {
		struct pw_policy_key k;

		memcpy(&k, pw_tab_key(&s->v.pol_A, i), sizeof(k));
		if (k.prefixlen != PW_POL_PREFIX_SUMMARY)
			err = pw_tab_push(&s->v.lpol_A, &k, pw_tab_val(&s->v.pol_A, i));
	}
	for (size_t i = 0; !err && i < s->v.pll_A.n; i++)
		err = pw_tab_push(&s->v.lpol_A, pw_tab_key(&s->v.pll_A, i), pw_tab_val(&s->v.pll_A, i));
	if (err)
		return err;
	pw_tab_sort_dedup(&s->v.lipc_A);
	pw_tab_sort_dedup(&s->v.lpol_A);
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
	struct pw_tab sums;
	int err = 0;

	for (size_t i = 0; !err && i < s->w_ipc.n; i++) {
		struct pw_ipcache_key k;

		memcpy(&k, pw_tab_key(&s->w_ipc, i), sizeof(k));
		err = pw_tab_push(k.prefixlen == PW_IPC_EXACT_PREFIX ? &s->w_ipch : &s->w_ipcl, &k,
			       pw_tab_val(&s->w_ipc, i));
	}
	if (err)
		return err;

	/*
	 * The summaries first: their prefixlen (PW_POL_PREFIX_SUMMARY, 0) sorts
	 * before that of any entry, so that w_polh comes out in order and its
	 * pw_tab_sort_dedup below is one pass, not a sort.
	 */
	pw_tab_init(&sums, sizeof(struct pw_policy_key), sizeof(struct pw_policy_val));
	for (size_t i = 0; !err && i < s->w_pol.n; i++) {
		struct pw_policy_key k, sk;
		struct pw_policy_val sv = { 0 };

		memcpy(&k, pw_tab_key(&s->w_pol, i), sizeof(k));
		if (k.peer_id != PW_ID_ANY && k.prefixlen == PW_POL_PREFIX_FULL)
			continue;
		memset(&sk, 0, sizeof(sk));
		sk.prefixlen = PW_POL_PREFIX_SUMMARY;
		sk.dir = k.dir;
		sk.ep_id = k.ep_id;
		sk.peer_id = k.peer_id;
		sv.flags = pw_polsum_bit(k.prefixlen, k.proto);
		err = pw_tab_push(&sums, &sk, &sv);
	}
	/* one summary per key, the bits of all its entries */
	if (!err && sums.n > 1)
		qsort_r(sums.d, sums.n, sums.esz, pw_tab_cmp, &sums);
	for (size_t i = 0; !err && i < sums.n;) {
		struct pw_policy_val sv, v;
		size_t j;

		memcpy(&sv, pw_tab_val(&sums, i), sizeof(sv));
		for (j = i + 1; j < sums.n && !memcmp(pw_tab_key(&sums, i), pw_tab_key(&sums, j), sums.ksz);
		     j++) {
			memcpy(&v, pw_tab_val(&sums, j), sizeof(v));
			sv.flags |= v.flags;
		}
		err = pw_tab_push(&s->w_polh, pw_tab_key(&sums, i), &sv);
		i = j;
	}
	pw_tab_free(&sums);
	for (size_t i = 0; !err && i < s->w_pol.n; i++) {
		struct pw_policy_key k;

		memcpy(&k, pw_tab_key(&s->w_pol, i), sizeof(k));
		err = pw_tab_push(PW_POL_IN_HASH(k.prefixlen) ? &s->w_polh : &s->w_poll, &k,
			       pw_tab_val(&s->w_pol, i));
	}
	if (err)
		return err;
	/* subsequences of sorted tables are sorted; so is w_polh, summaries first */
	pw_tab_sort_dedup(&s->w_polh);
	return 0;
}

/* Does the live slot hold exact keys in the LPM halves (an older layout)? */
static bool lpm_has_exact(const struct sync *s)
{
	for (size_t i = 0; i < s->v.ipl_A.n; i++) {
		struct pw_ipcache_key k;

		memcpy(&k, pw_tab_key(&s->v.ipl_A, i), sizeof(k));
		if (k.prefixlen == PW_IPC_EXACT_PREFIX)
			return true;
	}
	for (size_t i = 0; i < s->v.pll_A.n; i++) {
		struct pw_policy_key k;

		memcpy(&k, pw_tab_key(&s->v.pll_A, i), sizeof(k));
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
	    !pw_unsplit_prog_attached(s->m[PW_MAP_POLICY].fd, s->m[PW_MAP_POLICY_LPM].fd))
		return 0;
	for (size_t i = 0; !err && i < s->w_ipch.n; i++)
		err = pw_tab_push(&s->w_ipcl, pw_tab_key(&s->w_ipch, i), pw_tab_val(&s->w_ipch, i));
	for (size_t i = 0; !err && i < s->w_polh.n; i++) {
		struct pw_policy_key k;

		memcpy(&k, pw_tab_key(&s->w_polh, i), sizeof(k));
		if (k.prefixlen != PW_POL_PREFIX_SUMMARY)
			err = pw_tab_push(&s->w_poll, &k, pw_tab_val(&s->w_polh, i));
	}
	if (err)
		return err;
	pw_tab_sort_dedup(&s->w_ipcl);
	pw_tab_sort_dedup(&s->w_poll);
	s->unsplit = true;
	warn(s->st, "a datapath of an older podwall is still attached: this policy set is "
	     "also written in its layout");
	return 0;
}

static int check_room(struct sync *s, int m, size_t peak)
{
	if (peak <= s->m[m].max_entries)
		return 0;
	pw_why(s->st->error, "map %s is too small for this change: it would need %zu entries "
		"(both policy slots included), its limit is %u; nothing was changed",
		pw_map_names[m], peak, s->m[m].max_entries);
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
		pw_why(s->st->error, "map %s: update: %s", pw_map_names[m], strerror(-err));
		return err;
	}
	s->st->writes++;
	return 0;
}

static int map_del(struct sync *s, int m, const void *k)
{
	int err = bpf_map_delete_elem(s->m[m].fd, k);

	if (err && err != -ENOENT) {
		pw_why(s->st->error, "map %s: delete: %s", pw_map_names[m], strerror(-err));
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
static int write_slot(struct sync *s, int m, const struct pw_tab *all,
			  const struct pw_tab *cur_I, const struct pw_tab *want)
{
	size_t ksz = want->ksz, vsz = want->vsz, nd = 0, nw = 0;
	uint8_t *dk = malloc((all->n + cur_I->n + 1) * ksz);
	uint8_t *wk = malloc((want->n + 1) * ksz), *wv = malloc((want->n + 1) * vsz);
	int err = -ENOMEM;

	if (!dk || !wk || !wv)
		goto out;

	/* entries of no valid slot go */
	for (size_t i = 0; i < all->n; i++)
		if (pw_tab_key(all, i)[LPM_SLOT_OFF] >= PW_SLOTS)
			memcpy(dk + nd++ * ksz, pw_tab_key(all, i), ksz);
	/*
	 * One merge walk over the two sorted tables: keys of slot I only are
	 * leftovers to delete, keys of want only or with another value are to
	 * write. (A binary search per entry, both ways, cost more than all the
	 * rest of a small change once the maps are not read back.)
	 */
	for (size_t i = 0, j = 0; i < cur_I->n || j < want->n;) {
		int c = i == cur_I->n ? 1 : j == want->n ? -1 :
			memcmp(pw_tab_key(cur_I, i), pw_tab_key(want, j), ksz);
		uint8_t *k;

		if (c < 0) {
			k = dk + nd++ * ksz;
			memcpy(k, pw_tab_key(cur_I, i++), ksz);
			k[LPM_SLOT_OFF] = (uint8_t)s->I;
			continue;
		}
		if (!c) {
			bool same = !memcmp(pw_tab_val(cur_I, i), pw_tab_val(want, j), vsz);

			i++;
			if (same) {
				j++;
				continue;
			}
		}
		k = wk + nw * ksz;
		memcpy(k, pw_tab_key(want, j), ksz);
		k[LPM_SLOT_OFF] = (uint8_t)s->I;
		memcpy(wv + nw * vsz, pw_tab_val(want, j++), vsz);
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
		const uint8_t *key = pw_tab_key(&s->w_ep, j);
		const uint8_t *raw = pw_tab_find(&s->ep, key);
		struct pw_endpoint want, v;

		memcpy(&want, pw_tab_val(&s->w_ep, j), sizeof(want));
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
		err = undo_record(s, s->m[PW_MAP_ENDPOINTS].fd, key, s->ep.ksz,
				  raw ? raw + s->ep.ksz : NULL, sizeof(v));
		if (!err)
			err = map_write(s, PW_MAP_ENDPOINTS, key, &v);
		if (err)
			return err;
	}

	/* local_ips: add or move addresses */
	for (size_t j = 0; j < s->w_lip.n; j++) {
		const uint8_t *key = pw_tab_key(&s->w_lip, j);
		const uint8_t *raw = pw_tab_find(&s->lip, key);

		if (raw && !memcmp(raw + s->lip.ksz, pw_tab_val(&s->w_lip, j), s->lip.vsz))
			continue;
		err = undo_record(s, s->m[PW_MAP_LOCAL_IPS].fd, key, s->lip.ksz,
				  raw ? raw + s->lip.ksz : NULL, s->lip.vsz);
		if (!err)
			err = map_write(s, PW_MAP_LOCAL_IPS, key, pw_tab_val(&s->w_lip, j));
		if (err)
			return err;
	}

	/* dns: flags[I] for existing entries (counters kept), both slots for new ones */
	for (size_t j = 0; j < s->w_dns.n; j++) {
		const uint8_t *key = pw_tab_key(&s->w_dns, j);
		const uint8_t *raw = pw_tab_find(&s->dns, key);
		struct pw_dns want, v, now;

		memcpy(&want, pw_tab_val(&s->w_dns, j), sizeof(want));
		memset(&v, 0, sizeof(v));
		if (raw) {
			/* only the datapath's counters move behind our back: decide on
			 * the flags read, then re-read right before writing, to lose as
			 * few counts as possible (one syscall per changed pod, not per pod) */
			memcpy(&now, raw + s->dns.ksz, sizeof(now));
			if (now.flags[s->I] == want.flags[0])
				continue;
			if (bpf_map_lookup_elem(s->m[PW_MAP_DNS].fd, key, &now))
				memcpy(&now, raw + s->dns.ksz, sizeof(now));
			v = now;
			v.flags[s->I] = want.flags[0];
			if (!memcmp(&now, &v, sizeof(v)))
				continue;
		} else {
			v.flags[0] = v.flags[1] = want.flags[0];
		}
		err = undo_record(s, s->m[PW_MAP_DNS].fd, key, s->dns.ksz,
				  raw ? (const void *)&now : NULL, sizeof(v));
		if (!err)
			err = map_write(s, PW_MAP_DNS, key, &v);
		if (err)
			return err;
	}
	return 0;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/*
 * The names learned by, and the DNS queries awaited for, endpoints that
 * left their device (a deleted pod, or another pod on the device): ep_id
 * comes from the pod's namespace and name, so a pod made again under the
 * same name gets it back, and the owner check of fqdn_learned (the pod's
 * address) does not tell them apart when the address comes back too. So
 * the sets of the ep_id go (PW_FQDN_SETS_PER_POD keys, no walk) and its
 * queries (one walk over dns_queries, bounded by its size). After the
 * flip: the endpoint entry is gone or another's then. Best effort: a
 * learned entry is a cache of DNS answers, never a grant on its own.
 */
static void forget_names(struct sync *s)
{
	int lfd = s->fds->fd[PW_MAP_FQDN_LEARNED], qfd = s->fds->fd[PW_MAP_DNS_QUERIES];
	uint32_t *gone = calloc(s->ep.n ? s->ep.n : 1, sizeof(*gone));
	struct pw_dns_query_key k, next, *dead = NULL;
	size_t n = 0, n_dead = 0, cap_dead = 0;
	bool more;

	if (!gone)
		return;
	for (size_t i = 0; i < s->ep.n; i++) {
		const uint8_t *w = pw_tab_find(&s->w_ep, pw_tab_key(&s->ep, i));
		struct pw_endpoint old, now;

		memcpy(&old, pw_tab_val(&s->ep, i), sizeof(old));
		if (w)
			memcpy(&now, w + s->w_ep.ksz, sizeof(now));
		if (!w || now.ep_id != old.ep_id)
			gone[n++] = old.ep_id;
	}
	if (!n)
		goto out;
	qsort(gone, n, sizeof(*gone), u32_cmp);
	for (size_t i = 0; lfd >= 0 && i < n; i++)
		for (uint32_t set = 0; set < PW_FQDN_SETS_PER_POD; set++) {
			struct pw_fqdn_key fk = { .ep_id = gone[i], .set = set };

			bpf_map_delete_elem(lfd, &fk);
		}
	/* collect, then delete: deleting while walking may restart the walk */
	more = qfd >= 0 && !bpf_map_get_next_key(qfd, NULL, &next);
	while (more) {
		k = next;
		more = !bpf_map_get_next_key(qfd, &k, &next);
		if (!bsearch(&k.ep_id, gone, n, sizeof(*gone), u32_cmp))
			continue;
		if (n_dead == cap_dead) {
			size_t cap = cap_dead ? cap_dead * 2 : 64;
			struct pw_dns_query_key *nv = realloc(dead, cap * sizeof(*nv));

			if (!nv)
				break;
			dead = nv;
			cap_dead = cap;
		}
		dead[n_dead++] = k;
	}
	for (size_t i = 0; i < n_dead; i++)
		bpf_map_delete_elem(qfd, &dead[i]);
out:
	free(gone);
	free(dead);
}

static int delete_post_flip(struct sync *s)
{
	int err, first = 0;

	forget_names(s);

	for (size_t i = 0; i < s->ep.n; i++)
		if (!pw_tab_find(&s->w_ep, pw_tab_key(&s->ep, i))) {
			err = map_del(s, PW_MAP_ENDPOINTS, pw_tab_key(&s->ep, i));
			if (err && !first)
				first = err;
		}
	for (size_t i = 0; i < s->lip.n; i++)
		if (!pw_tab_find(&s->w_lip, pw_tab_key(&s->lip, i))) {
			err = map_del(s, PW_MAP_LOCAL_IPS, pw_tab_key(&s->lip, i));
			if (err && !first)
				first = err;
		}
	for (size_t i = 0; i < s->dns.n; i++)
		if (!pw_tab_find(&s->w_dns, pw_tab_key(&s->dns, i))) {
			err = map_del(s, PW_MAP_DNS, pw_tab_key(&s->dns, i));
			if (err && !first)
				first = err;
		}
	return first;
}

/* pw_tab_diff_count, only to know whether two tables differ */
static bool tab_differ(const struct pw_tab *a, const struct pw_tab *b)
{
	struct pw_sync_count c = { 0 };

	pw_tab_diff_count(a, b, &c);
	return c.added || c.changed || c.removed;
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
	for (int m = 0; m < PW_MAP_MAX; m++)
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

	static const struct { enum pw_map m; uint32_t ksz, vsz; } want[] = {
		{ PW_MAP_CONFIG, sizeof(uint32_t), sizeof(struct pw_config) },
		{ PW_MAP_ENDPOINTS, sizeof(uint32_t), sizeof(struct pw_endpoint) },
		{ PW_MAP_LOCAL_IPS, sizeof(struct pw_addr), sizeof(uint32_t) },
		{ PW_MAP_IPCACHE, sizeof(struct pw_ipcache_key), sizeof(struct pw_ipcache_val) },
		{ PW_MAP_POLICY, sizeof(struct pw_policy_key), sizeof(struct pw_policy_val) },
		{ PW_MAP_DNS, sizeof(uint32_t), sizeof(struct pw_dns) },
		/* the LPM halves last: optional (an older layout has none) */
		{ PW_MAP_IPCACHE_LPM, sizeof(struct pw_ipcache_key), sizeof(struct pw_ipcache_val) },
		{ PW_MAP_POLICY_LPM, sizeof(struct pw_policy_key), sizeof(struct pw_policy_val) },
	};

	s->have_lpm = f->fd[PW_MAP_IPCACHE_LPM] >= 0 && f->fd[PW_MAP_POLICY_LPM] >= 0;
	err = 0;
	for (size_t i = 0; !err && i < sizeof(want) / sizeof(want[0]); i++) {
		enum pw_map m = want[i].m;

		if ((m == PW_MAP_IPCACHE_LPM || m == PW_MAP_POLICY_LPM) && !s->have_lpm)
			continue;
		err = pw_map_meta(f->fd[m], pw_map_names[m], want[i].ksz, want[i].vsz, &s->m[m],
				  st->error);
	}
	/* name_set: optional too (a caller's own set of maps may have none) */
	s->have_names = f->fd[PW_MAP_NAME_SET] >= 0;
	_Static_assert(offsetof(struct pw_name_key, slot) == LPM_SLOT_OFF,
		       "name_set keys have the slot where write_slot stamps it");
	if (!err && s->have_names)
		err = pw_map_meta(f->fd[PW_MAP_NAME_SET], pw_map_names[PW_MAP_NAME_SET],
				  sizeof(struct pw_name_key), sizeof(struct pw_name_val),
				  &s->m[PW_MAP_NAME_SET], st->error);
	if (err)
		return err;

	err = bpf_map_lookup_elem(f->fd[PW_MAP_CONFIG], &zero, &s->cfg);
	if (err) {
		pw_why(st->error, "map config: lookup of key 0: %s", strerror(-err));
		return err;
	}
	s->A = s->cfg.active_slot < PW_SLOTS ? s->cfg.active_slot : 0;
	s->I = 1 - s->A;

	pw_tab_init(&s->ipc_all, sizeof(struct pw_ipcache_key), sizeof(struct pw_ipcache_val));
	pw_tab_init(&s->ipl_all, sizeof(struct pw_ipcache_key), sizeof(struct pw_ipcache_val));
	pw_tab_init(&s->pol_all, sizeof(struct pw_policy_key), sizeof(struct pw_policy_val));
	pw_tab_init(&s->pll_all, sizeof(struct pw_policy_key), sizeof(struct pw_policy_val));
	pw_tab_init(&s->ep, sizeof(uint32_t), sizeof(struct pw_endpoint));
	pw_tab_init(&s->ep_norm, sizeof(uint32_t), sizeof(struct pw_endpoint));
	pw_tab_init(&s->lip, sizeof(struct pw_addr), sizeof(uint32_t));
	pw_tab_init(&s->dns, sizeof(uint32_t), sizeof(struct pw_dns));
	pw_tab_init(&s->dns_norm, sizeof(uint32_t), sizeof(struct pw_dns));

	now = pw_now_ns();
	if (cache_fits(s, s->cache, now)) {
		/* the views move here; they go back when the sync succeeds */
		s->v = s->cache->v;
		views_init(&s->cache->v);
		s->cache->valid = false;
		st->cached = true;
		s->ipc_trusted = s->cache->have_ipc;
	} else {
		pw_sync_cache_invalidate(s->cache);
		if (s->cache)
			s->cache->read_ns = now;
		views_init(&s->v);
		err = pw_tab_read_map(&s->m[PW_MAP_IPCACHE], pw_map_names[PW_MAP_IPCACHE], &s->ipc_all, st->error);
		if (!err)
			err = pw_tab_read_map(&s->m[PW_MAP_POLICY], pw_map_names[PW_MAP_POLICY], &s->pol_all, st->error);
		if (!err && s->have_lpm)
			err = pw_tab_read_map(&s->m[PW_MAP_IPCACHE_LPM], pw_map_names[PW_MAP_IPCACHE_LPM], &s->ipl_all, st->error);
		if (!err && s->have_lpm)
			err = pw_tab_read_map(&s->m[PW_MAP_POLICY_LPM], pw_map_names[PW_MAP_POLICY_LPM], &s->pll_all, st->error);
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
		s->idle_equal = !tab_differ(&s->v.ipc_I, &s->v.ipc_A) &&
				!tab_differ(&s->v.ipl_I, &s->v.ipl_A);
	}

	pw_tab_init(&s->nm_all, sizeof(struct pw_name_key), sizeof(struct pw_name_val));
	pw_tab_init(&s->nm_A, sizeof(struct pw_name_key), sizeof(struct pw_name_val));
	pw_tab_init(&s->nm_I, sizeof(struct pw_name_key), sizeof(struct pw_name_val));
	if (s->have_names) {
		err = pw_tab_read_map(&s->m[PW_MAP_NAME_SET], pw_map_names[PW_MAP_NAME_SET],
					      &s->nm_all, st->error);
		if (!err)
			err = split_slots(&s->nm_all, s->A, &s->nm_A, &s->nm_I, &s->nm_garbage);
		if (err)
			return err;
	}

	err = pw_tab_read_map(&s->m[PW_MAP_ENDPOINTS], pw_map_names[PW_MAP_ENDPOINTS], &s->ep, st->error);
	if (!err)
		err = pw_tab_read_map(&s->m[PW_MAP_LOCAL_IPS], pw_map_names[PW_MAP_LOCAL_IPS], &s->lip, st->error);
	if (!err)
		err = pw_tab_read_map(&s->m[PW_MAP_DNS], pw_map_names[PW_MAP_DNS], &s->dns, st->error);
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
/*
 * Where desired ipcache d differs from old (n entries) if only in values:
 * *same_keys (the same keys in the same order), and then the indexes of the
 * entries whose values changed, ascending, in a new *idx of *n_idx (NULL and
 * 0 if none or the keys differ). 0 or -ENOMEM.
 */
static int ipc_value_changes(const struct pw_state_ipc *old, size_t n, const struct pw_state *d,
			     bool *same_keys, size_t **idx, size_t *n_idx)
{
	size_t *v = NULL, nv = 0, cap = 0;

	*same_keys = n == d->n_ipc;
	for (size_t i = 0; *same_keys && i < n; i++) {
		if (!memcmp(&old[i], &d->ipc[i], sizeof(d->ipc[i])))
			continue;
		if (memcmp(&old[i].key, &d->ipc[i].key, sizeof(d->ipc[i].key))) {
			*same_keys = false;
			break;
		}
		if (nv == cap) {
			size_t *g = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*g));

			if (!g) {
				free(v);
				return -ENOMEM;
			}
			v = g;
		}
		v[nv++] = i;
	}
	if (!*same_keys) {
		free(v);
		v = NULL;
		nv = 0;
	}
	*idx = v;
	*n_idx = nv;
	return 0;
}

/*
 * What the cache says of the ipcache after a sync that succeeded with
 * desired state d, the views not stored yet. A patch that flipped: slot I
 * now holds what slot A held (its view gets A's values where it lagged),
 * slot A the patched values; they differ where this patch changed. A full
 * sync that flipped: they differ where the values of the last desired
 * ipcache and this one differ, if the keys are the same. Without a flip
 * neither slot changed. An older datapath's copy added: nothing is known.
 * -ENOMEM or -EIO (a view without the key the cache says): forget it all.
 */
static int cache_store_ipc(struct sync *s, const struct pw_state *d, bool flipped)
{
	struct pw_sync_cache *c = s->cache;
	struct views *v = &s->v;
	bool same_keys, same;
	size_t *diff = NULL, n_diff = 0;

	if (s->ipc_patch) {
		if (!flipped)
			return 0;   /* no value changed (else slots_equal was false) */
		for (size_t k = 0; k < c->n_idle; k++) {   /* slot I catches up with A */
			const struct pw_state_ipc *e = &c->ipc[c->idle[k]];
			bool exact = e->key.prefixlen == PW_IPC_EXACT_PREFIX;
			uint8_t *a = pw_tab_find(exact ? &v->ipc_A : &v->ipl_A, &e->key);
			uint8_t *i = pw_tab_find(exact ? &v->ipc_I : &v->ipl_I, &e->key);

			if (!a || !i)
				return -EIO;
			memcpy(i + sizeof(e->key), a + sizeof(e->key), sizeof(e->val));
		}
		for (size_t k = 0; k < s->n_chg; k++) {    /* slot A takes the change */
			const struct pw_state_ipc *e = &d->ipc[s->chg[k]];
			bool exact = e->key.prefixlen == PW_IPC_EXACT_PREFIX;
			uint8_t *a = pw_tab_find(exact ? &v->ipc_A : &v->ipl_A, &e->key);
			uint8_t *l = pw_tab_find(&v->lipc_A, &e->key);

			if (!a || !l)
				return -EIO;
			memcpy(a + sizeof(e->key), &e->val, sizeof(e->val));
			memcpy(l + sizeof(e->key), &e->val, sizeof(e->val));
			c->ipc[s->chg[k]].val = e->val;
		}
		free(c->idle);
		c->idle = s->chg;
		c->n_idle = s->n_chg;
		s->chg = NULL;
		s->n_chg = 0;
		return 0;
	}

	same_keys = false;
	if (s->ipc_trusted && ipc_value_changes(c->ipc, c->n_ipc, d, &same_keys, &diff, &n_diff))
		return -ENOMEM;
	same = same_keys && !n_diff;
	if (flipped) {
		free(c->idle);
		c->idle = same_keys && !s->unsplit ? diff : NULL;
		c->n_idle = same_keys && !s->unsplit ? n_diff : 0;
		c->idle_known = same_keys && !s->unsplit;
		if (!c->idle_known)
			free(diff);
	} else {
		free(diff);   /* neither slot changed */
		if (s->idle_equal || !same) {
			free(c->idle);
			c->idle = NULL;
			c->n_idle = 0;
			c->idle_known = s->idle_equal;
		}   /* else: the same slots, the same array: what the cache knew holds */
	}
	c->have_ipc = !s->unsplit;
	if (s->unsplit) {
		c->idle_known = false;
		return 0;
	}
	if (same)
		return 0;
	free(c->ipc);
	c->ipc = malloc((d->n_ipc ? d->n_ipc : 1) * sizeof(*c->ipc));
	c->n_ipc = d->n_ipc;
	if (!c->ipc)
		return -ENOMEM;
	if (d->n_ipc)
		memcpy(c->ipc, d->ipc, d->n_ipc * sizeof(*d->ipc));
	/* canonical, sorted, distinct: entry i is one row of its half */
	c->ipc_canon = true;
	for (size_t i = 0; c->ipc_canon && i < d->n_ipc; i++) {
		struct pw_ipcache_key k;

		c->ipc_canon = !ipc_key_canon(&d->ipc[i], &k) &&
			       !memcmp(&k, &d->ipc[i].key, sizeof(k)) &&
			       (!i || memcmp(&d->ipc[i - 1].key, &k, sizeof(k)) < 0);
	}
	return 0;
}

/*
 * May this sync patch the ipcache (struct sync.ipc_patch)? The cache knows
 * slot A's desired ipcache, canonical, and how slot I differs from it; the
 * new one has the same keys in the same order: chg[] are the entries whose
 * values changed. Not while filling the idle slot, nor with an older
 * datapath's layout around. 0 or -ENOMEM.
 */
static int ipc_plan(struct sync *s, const struct pw_state *d, bool filling)
{
	const struct pw_sync_cache *c = s->cache;

	if (!s->st->cached || !s->ipc_trusted || !c->ipc_canon || !c->idle_known ||
	    !s->have_lpm || filling || c->n_ipc != d->n_ipc || lpm_has_exact(s))
		return 0;
	return ipc_value_changes(c->ipc, c->n_ipc, d, &s->ipc_patch, &s->chg, &s->n_chg);
}

/*
 * Write a patch into slot I: the changed entries, and those slot I lagged
 * behind slot A in, where slot I's value is not the desired one.
 */
static int ipc_write_patch(struct sync *s, const struct pw_state *d)
{
	const struct pw_sync_cache *c = s->cache;
	const size_t ksz = sizeof(struct pw_ipcache_key), vsz = sizeof(struct pw_ipcache_val);
	size_t n = s->n_chg + c->n_idle, nw[2] = { 0, 0 };
	uint8_t *wk = malloc((n ? n : 1) * 2 * ksz), *wv = malloc((n ? n : 1) * 2 * vsz);
	int err = 0;

	if (!wk || !wv) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t a = 0, b = 0; !err && (a < s->n_chg || b < c->n_idle);) {
		/* the union of two ascending lists */
		size_t i = b == c->n_idle || (a < s->n_chg && s->chg[a] <= c->idle[b]) ? s->chg[a]
										       : c->idle[b];
		const struct pw_state_ipc *e = &d->ipc[i];
		int h = e->key.prefixlen == PW_IPC_EXACT_PREFIX ? 0 : 1;
		const uint8_t *cur = pw_tab_find(h ? &s->v.ipl_I : &s->v.ipc_I, &e->key);
		uint8_t *k;

		while (a < s->n_chg && s->chg[a] == i)
			a++;
		while (b < c->n_idle && c->idle[b] == i)
			b++;
		if (!cur) {
			pw_why(s->st->error, "ipcache: slot %u lacks an entry the sync cache says it "
			       "holds", s->I);
			err = -EIO;
			break;
		}
		if (!memcmp(cur + ksz, &e->val, vsz))
			continue;
		k = wk + (h * n + nw[h]) * ksz;
		memcpy(k, &e->key, ksz);
		k[LPM_SLOT_OFF] = (uint8_t)s->I;
		memcpy(wv + (h * n + nw[h]++) * vsz, &e->val, vsz);
	}
	if (!err)
		err = map_write_many(s, PW_MAP_IPCACHE, wk, wv, nw[0], ksz, vsz);
	if (!err)
		err = map_write_many(s, PW_MAP_IPCACHE_LPM, wk + n * ksz, wv + n * vsz, nw[1], ksz,
				     vsz);
out:
	free(wk);
	free(wv);
	return err;
}

static void cache_store(struct sync *s, const struct pw_state *d, const struct pw_config *now_cfg,
			bool flipped)
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
	if (cache_store_ipc(s, d, flipped)) {
		pw_sync_cache_invalidate(c);
		return;
	}
	if (flipped) {
		/* the old live views become the idle ones; the old idle ones go
		 * (the ipcache's, when patched, were patched in place) */
		if (!s->ipc_patch) {
			pw_tab_swap(&v->ipc_I, &v->ipc_A);
			pw_tab_swap(&v->ipl_I, &v->ipl_A);
			pw_tab_swap(&v->ipc_A, &s->w_ipch);
			pw_tab_swap(&v->ipl_A, &s->w_ipcl);
			pw_tab_swap(&v->lipc_A, &s->w_ipc);
		}
		pw_tab_swap(&v->pol_I, &v->pol_A);
		pw_tab_swap(&v->pll_I, &v->pll_A);
		pw_tab_swap(&v->pol_A, &s->w_polh);
		pw_tab_swap(&v->pll_A, &s->w_poll);
		pw_tab_swap(&v->lpol_A, &s->w_pol);
	}
	views_free(&c->v);
	c->v = *v;
	views_init(v);
	for (int m = 0; m < PW_MAP_MAX; m++)
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
	c->have_ipc = c->idle_known = false;
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
	free(c->ipc);
	free(c->idle);
	free(c);
}

/*
 * The live slot holds the desired set: make the idle slot hold it too (no
 * flip, the datapath never reads it). After a first sync into empty maps
 * the idle slot is empty, and the next change would write the whole set
 * there (every pod address and policy entry: 15-40 ms at 10,000 pods);
 * filled, it writes only its difference. Best effort: where the maps have
 * no room for two copies, or a write fails, the idle slot stays as it is
 * (a failed write leaves it partly written: the cache is dropped, so the
 * next sync reads it back; it writes slot I whole anyway).
 */
static void fill_idle(struct sync *s)
{
	const int maps[] = { PW_MAP_IPCACHE, PW_MAP_IPCACHE_LPM, PW_MAP_POLICY, PW_MAP_POLICY_LPM };
	const struct pw_tab *all[] = { &s->ipc_all, &s->ipl_all, &s->pol_all, &s->pll_all };
	const struct pw_tab *live[] = { &s->v.ipc_A, &s->v.ipl_A, &s->v.pol_A, &s->v.pll_A };
	struct pw_tab *idle[] = { &s->v.ipc_I, &s->v.ipl_I, &s->v.pol_I, &s->v.pll_I };
	struct pw_tab *want[] = { &s->w_ipch, &s->w_ipcl, &s->w_polh, &s->w_poll };
	int err = 0;

	for (int i = 0; i < 4; i++)
		if (live[i]->n + want[i]->n > s->m[maps[i]].max_entries)
			return;
	for (int i = 0; !err && i < 4; i++) {
		if (!tab_differ(idle[i], want[i]))
			continue;
		err = write_slot(s, maps[i], all[i], idle[i], want[i]);
		if (!err)
			pw_tab_swap(idle[i], want[i]); /* the idle view is what was written */
	}
	if (err) {
		warn(s->st, "filling the idle policy slot: %s (the next change writes it whole)",
		     strerror(-err));
		pw_sync_cache_invalidate(s->cache);
		s->cache = NULL;
		return;
	}
	/* write_slot deleted the entries of no valid slot too */
	s->ipc_garbage = s->pol_garbage = 0;
	s->idle_equal = true;
}

int pw_slots_sync(const struct pw_map_fds *fds, const struct pw_state *desired,
		  const struct pw_sync_opts *opts, struct pw_sync_stats *st_out)
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
	s.st = st;
	s.cache = opts ? opts->cache : NULL;
	pw_tab_init(&s.w_ipc, sizeof(struct pw_ipcache_key), sizeof(struct pw_ipcache_val));
	pw_tab_init(&s.w_ipch, sizeof(struct pw_ipcache_key), sizeof(struct pw_ipcache_val));
	pw_tab_init(&s.w_ipcl, sizeof(struct pw_ipcache_key), sizeof(struct pw_ipcache_val));
	pw_tab_init(&s.w_pol, sizeof(struct pw_policy_key), sizeof(struct pw_policy_val));
	pw_tab_init(&s.w_polh, sizeof(struct pw_policy_key), sizeof(struct pw_policy_val));
	pw_tab_init(&s.w_poll, sizeof(struct pw_policy_key), sizeof(struct pw_policy_val));
	pw_tab_init(&s.w_ep, sizeof(uint32_t), sizeof(struct pw_endpoint));
	pw_tab_init(&s.w_lip, sizeof(struct pw_addr), sizeof(uint32_t));
	pw_tab_init(&s.w_dns, sizeof(uint32_t), sizeof(struct pw_dns));

	pw_tab_init(&s.w_nm, sizeof(struct pw_name_key), sizeof(struct pw_name_val));
	err = read_all(&s);
	if (!err && !s.have_lpm) {
		pw_why(st->error, "maps ipcache_lpm/policy_lpm: not given (maps of an older podwall? "
			"the datapath needs both halves of ipcache and policy)");
		err = -EINVAL;
	}
	if (!err)
		err = ipc_plan(&s, desired, opts && opts->fill_idle);
	st->ipcache_patched = s.ipc_patch;
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
	if (s.ipc_patch)
		st->map[PW_MAP_IPCACHE].changed = s.n_chg;
	else
		pw_tab_diff_count(&s.v.lipc_A, &s.w_ipc, &st->map[PW_MAP_IPCACHE]);
	pw_tab_diff_count(&s.v.lpol_A, &s.w_pol, &st->map[PW_MAP_POLICY]);
	pw_tab_diff_count(&s.ep_norm, &s.w_ep, &st->map[PW_MAP_ENDPOINTS]);
	pw_tab_diff_count(&s.dns_norm, &s.w_dns, &st->map[PW_MAP_DNS]);
	pw_tab_diff_count(&s.lip, &s.w_lip, &st->map[PW_MAP_LOCAL_IPS]);
	pw_tab_diff_count(&s.nm_A, &s.w_nm, &st->map[PW_MAP_NAME_SET]);
	slots_equal = true;
	for (int m = 0; m < PW_MAP_MAX; m++) {
		struct pw_sync_count *c = &st->map[m];

		if (c->added || c->changed || c->removed)
			slots_equal = false;
	}
	/*
	 * The same entries may still sit in the wrong half (maps written by an
	 * older podwall, or by hand) or miss a summary: the physical halves
	 * must equal the desired ones too.
	 */
	if (slots_equal && ((!s.ipc_patch && (tab_differ(&s.v.ipc_A, &s.w_ipch) ||
					     tab_differ(&s.v.ipl_A, &s.w_ipcl))) ||
			    tab_differ(&s.v.pol_A, &s.w_polh) || tab_differ(&s.v.pll_A, &s.w_poll)))
		slots_equal = false;
	st->slot = s.A;
	st->generation = s.cfg.generation;

	if (slots_equal && nflags == s.cfg.flags) {
		if (opts && opts->fill_idle)
			fill_idle(&s);
		cache_store(&s, desired, &s.cfg, false);
		goto out; /* nothing to do */
	}

	/* capacity of every map first: all or nothing */
	err = check_room(&s, PW_MAP_IPCACHE, s.v.ipc_A.n + (s.ipc_patch ? s.v.ipc_A.n : s.w_ipch.n));
	if (!err)
		err = check_room(&s, PW_MAP_IPCACHE_LPM,
				 s.v.ipl_A.n + (s.ipc_patch ? s.v.ipl_A.n : s.w_ipcl.n));
	if (!err)
		err = check_room(&s, PW_MAP_POLICY, s.v.pol_A.n + s.w_polh.n);
	if (!err)
		err = check_room(&s, PW_MAP_POLICY_LPM, s.v.pll_A.n + s.w_poll.n);
	if (!err)
		err = check_room(&s, PW_MAP_ENDPOINTS, s.ep.n + pw_tab_count_new(&s.ep, &s.w_ep));
	if (!err)
		err = check_room(&s, PW_MAP_LOCAL_IPS, s.lip.n + pw_tab_count_new(&s.lip, &s.w_lip));
	if (!err)
		err = check_room(&s, PW_MAP_DNS, s.dns.n + pw_tab_count_new(&s.dns, &s.w_dns));
	if (!err && s.have_names)
		err = check_room(&s, PW_MAP_NAME_SET, s.nm_A.n + s.w_nm.n);
	if (err)
		goto fail_nochange;

	ncfg = s.cfg;
	ncfg.flags = nflags;
	ncfg.generation = s.cfg.generation + 1;
	if (slots_equal) {
		/* only the mode changed: same slot, new generation */
		ncfg.active_slot = s.A;
	} else {
		/* a patch: only its entries (no garbage: the views were cached) */
		if (s.ipc_patch)
			err = ipc_write_patch(&s, desired);
		if (!s.ipc_patch)
			err = write_slot(&s, PW_MAP_IPCACHE, &s.ipc_all, &s.v.ipc_I, &s.w_ipch);
		if (!err && !s.ipc_patch)
			err = write_slot(&s, PW_MAP_IPCACHE_LPM, &s.ipl_all, &s.v.ipl_I, &s.w_ipcl);
		if (!err)
			err = write_slot(&s, PW_MAP_POLICY, &s.pol_all, &s.v.pol_I, &s.w_polh);
		if (!err)
			err = write_slot(&s, PW_MAP_POLICY_LPM, &s.pll_all, &s.v.pll_I, &s.w_poll);
		if (!err && s.have_names)
			err = write_slot(&s, PW_MAP_NAME_SET, &s.nm_all, &s.nm_I, &s.w_nm);
		if (!err)
			err = write_pre_flip(&s);
		if (err)
			goto fail_undo;
		ncfg.active_slot = s.I;
	}

	/* the switch: one update makes the new set live for every packet */
	err = bpf_map_update_elem(fds->fd[PW_MAP_CONFIG], &zero, &ncfg, BPF_ANY);
	if (err) {
		pw_why(st->error, "map config: update (slot %u, generation %u): %s",
			ncfg.active_slot, ncfg.generation, strerror(-err));
		goto fail_undo;
	}
	st->writes++;
	st->switched = true;
	st->map[PW_MAP_CONFIG].changed = 1;
	st->slot = ncfg.active_slot;
	st->generation = ncfg.generation;

	if (!slots_equal)
		err = delete_post_flip(&s);
	if (err)
		pw_sync_cache_invalidate(s.cache);
	else
		cache_store(&s, desired, &ncfg, !slots_equal);
	goto out;

fail_undo:
	undo_all(&s);
fail_nochange:
	memset(st->map, 0, sizeof(st->map));
	/* slot I may hold part of the new set, or the cache was taken: read it back next time */
	pw_sync_cache_invalidate(s.cache);
out:
	for (int m = 0; m < PW_MAP_MAX; m++) {
		if (m == PW_MAP_CONFIG)
			continue; /* entries, not the config switch */
		st->added += st->map[m].added;
		st->changed += st->map[m].changed;
		st->removed += st->map[m].removed;
	}
	sync_free(&s);
	return err;
}

/* ------------------------------------------------------------ read back */

int pw_slots_read_live(const struct pw_map_fds *fds, struct pw_config *cfg_out,
		       struct pw_state *out, struct pw_error *why)
{
	struct pw_sync_stats st;
	struct sync s;
	int err;

	memset(&st, 0, sizeof(st));
	memset(&s, 0, sizeof(s));
	s.fds = fds;
	s.st = &st;
	err = read_all(&s);
	if (err) {
		snprintf(why->msg, sizeof(why->msg), "%s", st.error[0] ? st.error : strerror(-err));
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
		memcpy(&out->ipc[i].key, pw_tab_key(&s.v.lipc_A, i), sizeof(out->ipc[i].key));
		memcpy(&out->ipc[i].val, pw_tab_val(&s.v.lipc_A, i), sizeof(out->ipc[i].val));
	}
	out->n_ipc = s.v.lipc_A.n;
	for (size_t i = 0; i < s.v.lpol_A.n; i++) {
		memcpy(&out->pol[i].key, pw_tab_key(&s.v.lpol_A, i), sizeof(out->pol[i].key));
		memcpy(&out->pol[i].val, pw_tab_val(&s.v.lpol_A, i), sizeof(out->pol[i].val));
	}
	out->n_pol = s.v.lpol_A.n;
	for (size_t i = 0; i < s.ep.n; i++) {
		struct pw_state_ep *e = &out->eps[i];
		struct pw_endpoint v;
		const uint8_t *d;

		memcpy(&e->ifindex, pw_tab_key(&s.ep, i), sizeof(e->ifindex));
		memcpy(&v, pw_tab_val(&s.ep, i), sizeof(v));
		e->ep_id = v.ep_id;
		e->identity = v.identity;
		e->flags = v.flags[s.A] & ~PW_EP_NO_ANY_MASK; /* not part of a state */
		if (v.flags[s.A] & PW_EP_HAS_V4)
			memcpy(e->ips[e->n_ips++], v.ip4, 16);
		if (v.flags[s.A] & PW_EP_HAS_V6)
			memcpy(e->ips[e->n_ips++], v.ip6, 16);
		d = pw_tab_find(&s.dns, &v.ep_id);
		if (d) {
			struct pw_dns dv;

			memcpy(&dv, d + s.dns.ksz, sizeof(dv));
			e->dns_flags = dv.flags[s.A];
		}
	}
	out->n_eps = s.ep.n;
	out->names = calloc(s.nm_A.n ? s.nm_A.n : 1, sizeof(*out->names));
	if (!out->names) {
		err = -ENOMEM;
		pw_state_free(out);
		goto out;
	}
	for (size_t i = 0; i < s.nm_A.n; i++) {
		memcpy(&out->names[i].key, pw_tab_key(&s.nm_A, i), sizeof(out->names[i].key));
		memcpy(&out->names[i].val, pw_tab_val(&s.nm_A, i), sizeof(out->names[i].val));
	}
	out->n_names = s.nm_A.n;
out:
	sync_free(&s);
	return err;
}
