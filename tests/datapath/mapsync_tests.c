/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pw_sync with a cache (mapsync.h) leaves the kernel exactly as pw_sync
 * without one does, and says so in the same statistics: two BPF objects
 * (private maps, nothing attached) are given the same sequence of desired
 * states, one synced with a cache and one without, and every map of both
 * is compared after each step. Then what must make the cache step aside:
 * another writer (generation bumped), other maps with the same config, a
 * failed sync (-ENOSPC), entries of no valid slot, a hand edit (seen only
 * after pw_sync_cache_invalidate or the age limit).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "check.h"
#include "podwall.skel.h"
#include "model.h"
#include "state.h"
#include "kernel/bpfobj.h"
#include "kernel/mapsync.h"

/* ------------------------------------------------------------ randomness */

static uint64_t rnd_state;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (uint32_t)rnd_state;
}

/* ------------------------------------------------------------ desired states */

#define U_PODS  48      /* pod addresses; the first U_EPS are local */
#define U_CIDRS 12      /* CIDR groups */
#define U_IPC   (U_PODS + U_CIDRS)
#define U_EPS   8
#define U_POL   240
#define EP_BASE 200     /* ifindex = ep_id of local pod i: EP_BASE + i */

/* Every entry a state may hold, and whether it holds it now. */
struct universe {
	struct pw_state_ipc ipc[U_IPC];
	bool                ipc_on[U_IPC];
	struct pw_state_pol pol[U_POL];
	bool                pol_on[U_POL];
	size_t              n_pol;
	struct pw_state_ep  ep[U_EPS];
	bool                ep_on[U_EPS];
};

static int key_cmp_pol(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct pw_policy_key));
}

static void pod_addr(size_t i, uint8_t a[16])
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	a[12] = 198;
	a[13] = 18;
	a[14] = (uint8_t)(1 + i / 200);
	a[15] = (uint8_t)(1 + i % 200);
}

static void universe_make(struct universe *u)
{
	static const uint16_t ports[] = { 22, 53, 80, 443, 1000, 1500, 2047, 8080, 8443, 65535 };
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
	size_t w = 0;

	memset(u, 0, sizeof(*u));
	for (size_t i = 0; i < U_PODS; i++) {
		uint8_t a[16];

		pod_addr(i, a);
		pw_ipcache_key_make(&u->ipc[i].key, 0, a, 128);
		u->ipc[i].val.identity = 0x100 + (uint32_t)(i % 16);
		u->ipc[i].val.flags = PW_IPC_POD;
	}
	for (size_t i = 0; i < U_CIDRS; i++) {
		uint8_t a[16] = { 0 };

		a[10] = a[11] = 0xff;
		a[12] = 198;
		a[13] = 19;
		a[14] = (uint8_t)(i * 16);
		pw_ipcache_key_make(&u->ipc[U_PODS + i].key, 0, a, 96 + 16 + 4 + (uint32_t)(i % 8));
		u->ipc[U_PODS + i].val.identity = PW_ID_CIDR_MIN + (uint32_t)i;
	}
	/* (sorted by key, as the compiler's output is) */
	for (size_t i = 0; i < U_IPC; i++)
		for (size_t j = i + 1; j < U_IPC; j++)
			if (memcmp(&u->ipc[j].key, &u->ipc[i].key, sizeof(u->ipc[i].key)) < 0) {
				struct pw_state_ipc t = u->ipc[i];

				u->ipc[i] = u->ipc[j];
				u->ipc[j] = t;
			}

	for (size_t i = 0; i < U_EPS; i++) {
		struct pw_state_ep *e = &u->ep[i];

		snprintf(e->ns, sizeof(e->ns), "t");
		snprintf(e->name, sizeof(e->name), "p%zu", i);
		e->ifindex = e->ep_id = EP_BASE + (uint32_t)i;
		e->identity = 0x100 + (uint32_t)i;
		e->n_ips = 1;
		pod_addr(i, e->ips[0]);
	}

	for (size_t i = 0; i < U_POL; i++) {
		struct pw_state_pol *p = &u->pol[i];
		uint32_t r = rnd() % 100, peer, prefixlen;
		uint16_t port = rnd() % 3 ? ports[rnd() % 10] : (uint16_t)rnd();

		switch (rnd() % 5) {
		case 0: peer = PW_ID_ANY; break;
		case 1: peer = PW_ID_CIDR_MIN + rnd() % U_CIDRS; break;
		default: peer = 0x100 + rnd() % 16; break;
		}
		prefixlen = r < 45 ? PW_POL_PREFIX_FULL :
			    r < 60 ? PW_POL_PREFIX_ANY_PORT :
			    r < 65 ? PW_POL_PREFIX_ANY_PROTO :
			    PW_POL_PREFIX_ANY_PORT + 1 + rnd() % 15;
		pw_policy_key_make(&p->key, prefixlen, 0, rnd() % 2, EP_BASE + rnd() % U_EPS, peer,
				   protos[rnd() % 3], port);
		p->val.rule_id = 1 + rnd() % 1000;
	}
	qsort(u->pol, U_POL, sizeof(u->pol[0]), key_cmp_pol);
	for (size_t i = 0; i < U_POL; i++)
		if (!w || memcmp(&u->pol[w - 1].key, &u->pol[i].key, sizeof(u->pol[i].key)))
			u->pol[w++] = u->pol[i];
	u->n_pol = w;
}

/* A new state at random: each entry in or out. */
static void universe_shuffle(struct universe *u)
{
	for (size_t i = 0; i < U_IPC; i++)
		u->ipc_on[i] = rnd() % 4 != 0;
	for (size_t i = 0; i < u->n_pol; i++)
		u->pol_on[i] = rnd() % 2;
	for (size_t i = 0; i < U_EPS; i++) {
		u->ep_on[i] = rnd() % 5 != 0;
		u->ep[i].flags = rnd() % 4; /* PW_EP_ISOLATED_* */
		u->ep[i].dns_flags = rnd() % 8;
	}
}

/* A small change: one entry in, out or changed. */
static void universe_touch(struct universe *u)
{
	size_t k;

	switch (rnd() % 8) {
	case 0: k = rnd() % U_IPC; u->ipc_on[k] = !u->ipc_on[k]; break;
	case 1: k = rnd() % U_IPC; u->ipc[k].val.identity ^= 1; break;
	case 2: case 3: k = rnd() % u->n_pol; u->pol_on[k] = !u->pol_on[k]; break;
	case 4: k = rnd() % u->n_pol; u->pol[k].val.rule_id++; break;
	case 5: k = rnd() % U_EPS; u->ep_on[k] = !u->ep_on[k]; break;
	case 6: k = rnd() % U_EPS; u->ep[k].flags ^= 1u << (rnd() % 2); break;
	default:
		k = rnd() % U_EPS;
		u->ep[k].dns_flags ^= 1u << (rnd() % 3);
		/* and a second address now and then */
		u->ep[k].n_ips = u->ep[k].n_ips == 1 && rnd() % 2 ? 2 : 1;
		memcpy(u->ep[k].ips[1], "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
		u->ep[k].ips[1][15] = (uint8_t)(1 + k);
		break;
	}
}

/* The state as the compiler would give it (or, reversed, out of order). */
static int state_of(const struct universe *u, bool reversed, struct pw_state *s)
{
	memset(s, 0, sizeof(*s));
	s->ipc = calloc(U_IPC, sizeof(*s->ipc));
	s->pol = calloc(U_POL, sizeof(*s->pol));
	s->eps = calloc(U_EPS, sizeof(*s->eps));
	if (!s->ipc || !s->pol || !s->eps)
		return -ENOMEM;
	for (size_t i = 0; i < U_IPC; i++)
		if (u->ipc_on[i])
			s->ipc[s->n_ipc++] = u->ipc[i];
	for (size_t i = 0; i < u->n_pol; i++)
		if (u->pol_on[i])
			s->pol[s->n_pol++] = u->pol[i];
	for (size_t i = 0; i < U_EPS; i++)
		if (u->ep_on[i])
			s->eps[s->n_eps++] = u->ep[i];
	if (reversed) {
		for (size_t i = 0; i < s->n_ipc / 2; i++) {
			struct pw_state_ipc t = s->ipc[i];

			s->ipc[i] = s->ipc[s->n_ipc - 1 - i];
			s->ipc[s->n_ipc - 1 - i] = t;
		}
		for (size_t i = 0; i < s->n_pol / 2; i++) {
			struct pw_state_pol t = s->pol[i];

			s->pol[i] = s->pol[s->n_pol - 1 - i];
			s->pol[s->n_pol - 1 - i] = t;
		}
	}
	return 0;
}

static void state_drop(struct pw_state *s)
{
	free(s->ipc);
	free(s->pol);
	free(s->eps);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------ comparing */

/* Every entry of a map as key|value records sorted by key. */
struct dump {
	uint8_t *d;
	size_t   n;
	uint32_t ksz, esz;
};

static uint32_t dump_ksz;

static int rec_cmp(const void *a, const void *b)
{
	return memcmp(a, b, dump_ksz);
}

static int dump_map(const struct bpf_map *m, struct dump *out)
{
	uint32_t ksz = bpf_map__key_size(m), vsz = bpf_map__value_size(m);
	uint32_t max = bpf_map__max_entries(m);
	uint8_t key[64], next[64];
	const void *prev = NULL;
	int fd = bpf_map__fd(m), err;

	memset(out, 0, sizeof(*out));
	out->ksz = ksz;
	out->esz = ksz + vsz;
	while (!(err = bpf_map_get_next_key(fd, prev, next))) {
		uint8_t *rec;

		if (out->n > max) /* changed under us: cannot be */
			return -ELOOP;
		rec = realloc(out->d, (out->n + 1) * out->esz);
		if (!rec)
			return -ENOMEM;
		out->d = rec;
		rec += out->n * out->esz;
		memcpy(rec, next, ksz);
		if (bpf_map_lookup_elem(fd, next, rec + ksz))
			return -errno;
		out->n++;
		memcpy(key, next, ksz);
		prev = key;
	}
	if (err != -ENOENT)
		return err;
	dump_ksz = ksz;
	if (out->n > 1)
		qsort(out->d, out->n, out->esz, rec_cmp);
	return 0;
}

/* Do the two objects' maps hold the same? On a difference: fail, naming the map. */
static bool same_maps(struct podwall_bpf *a, struct podwall_bpf *b)
{
	const struct bpf_map *ma[] = { a->maps.config, a->maps.endpoints, a->maps.local_ips,
				       a->maps.ipcache, a->maps.ipcache_lpm, a->maps.policy,
				       a->maps.policy_lpm, a->maps.dns };
	const struct bpf_map *mb[] = { b->maps.config, b->maps.endpoints, b->maps.local_ips,
				       b->maps.ipcache, b->maps.ipcache_lpm, b->maps.policy,
				       b->maps.policy_lpm, b->maps.dns };
	bool same = true;

	for (size_t i = 0; i < sizeof(ma) / sizeof(ma[0]) && same; i++) {
		struct dump da, db;
		int ea = dump_map(ma[i], &da), eb = dump_map(mb[i], &db);

		same = !ea && !eb && da.n == db.n && !memcmp(da.d, db.d, da.n * da.esz);
		if (!same && !check_failed_now) {
			check_failed_now = 1;
			snprintf(check_why, sizeof(check_why), "map %s: %zu entries with a cache, "
				 "%zu without (read: %d, %d), or other contents",
				 bpf_map__name(ma[i]), da.n, db.n, ea, eb);
		}
		free(da.d);
		free(db.d);
	}
	return same;
}

/* Same return, same statistics (but for .cached, which is the point). */
static void same_result(int ea, const struct pw_sync_stats *a, int eb,
			const struct pw_sync_stats *b)
{
	CHECK_EQ(ea, eb);
	for (int m = 0; m < PW_MAP_MAX; m++) {
		CHECK_EQ(a->map[m].added, b->map[m].added);
		CHECK_EQ(a->map[m].changed, b->map[m].changed);
		CHECK_EQ(a->map[m].removed, b->map[m].removed);
	}
	CHECK_EQ(a->added, b->added);
	CHECK_EQ(a->changed, b->changed);
	CHECK_EQ(a->removed, b->removed);
	CHECK_EQ(a->writes, b->writes);
	CHECK_EQ(a->deletes, b->deletes);
	CHECK_EQ(a->generation, b->generation);
	CHECK_EQ(a->slot, b->slot);
	CHECK_EQ(a->switched, b->switched);
}

/*
 * And is it right? The live slot read back (pw_sync_read_live) is the
 * desired state: ipcache and policy entries (sorted, as s is), and each
 * endpoint's identity, isolation and DNS flags. (Both objects hold the
 * same by then, so an error the two paths share is caught here.)
 */
static void live_is(struct podwall_bpf *obj, const struct pw_state *s, uint32_t cfg_flags)
{
	struct pw_map_fds fds;
	struct pw_state back = { 0 };
	struct pw_config cfg;
	struct pw_error why;

	CHECK_EQ(pw_map_fds_from_obj(obj, &fds), 0);
	CHECK_EQ(pw_sync_read_live(&fds, &cfg, &back, &why), 0);
	CHECK_EQ(cfg.flags & PW_CFG_AUDIT_ALL, cfg_flags);
	CHECK_EQ(back.n_ipc, s->n_ipc);
	CHECK_EQ(back.n_pol, s->n_pol);
	CHECK_EQ(back.n_eps, s->n_eps);
	if (back.n_ipc == s->n_ipc)
		CHECK(!memcmp(back.ipc, s->ipc, s->n_ipc * sizeof(*s->ipc)));
	if (back.n_pol == s->n_pol)
		CHECK(!memcmp(back.pol, s->pol, s->n_pol * sizeof(*s->pol)));
	for (size_t i = 0; i < back.n_eps && back.n_eps == s->n_eps; i++) {
		const struct pw_state_ep *g = &back.eps[i], *w = &s->eps[i];

		CHECK_EQ(g->ifindex, w->ifindex);
		CHECK_EQ(g->ep_id, w->ep_id);
		CHECK_EQ(g->identity, w->identity);
		CHECK_EQ(g->flags & ~(PW_EP_HAS_V4 | PW_EP_HAS_V6), w->flags);
		CHECK_EQ(g->dns_flags, w->dns_flags);
		CHECK_EQ(g->n_ips, w->n_ips);
	}
	pw_state_free(&back);
}

/* ------------------------------------------------------------ the pair */

struct pair {
	struct podwall_bpf *a, *b;   /* a: synced with the cache, b: without */
	struct pw_sync_cache *cache;
	struct pw_sync_opts oa, ob;
	struct pw_sync_stats sa, sb;
	int ea, eb;
};

static int pair_open(struct pair *p)
{
	memset(p, 0, sizeof(*p));
	if (pw_bpf_open(NULL, &p->a, NULL) || pw_bpf_open(NULL, &p->b, NULL) ||
	    !(p->cache = pw_sync_cache_new())) {
		CHECK(!"two BPF objects and a cache");
		return -1;
	}
	p->oa.cfg_mask = p->ob.cfg_mask = PW_CFG_AUDIT_ALL;
	p->oa.cache = p->cache;
	return 0;
}

static void pair_close(struct pair *p)
{
	pw_sync_cache_free(p->cache);
	if (p->a)
		pw_bpf_close(p->a);
	if (p->b)
		pw_bpf_close(p->b);
}

/* Sync s into both; the same result and the same maps. */
static void pair_sync(struct pair *p, const struct pw_state *s)
{
	p->ea = pw_sync(p->a, s, &p->oa, &p->sa);
	p->eb = pw_sync(p->b, s, &p->ob, &p->sb);
	same_result(p->ea, &p->sa, p->eb, &p->sb);
	CHECK(!p->sb.cached && !p->sb.ipcache_patched);
	if (same_maps(p->a, p->b) && !p->ea && !p->eb)
		live_is(p->a, s, p->oa.cfg_flags & PW_CFG_AUDIT_ALL);
}

static void pair_sync_u(struct pair *p, const struct universe *u)
{
	struct pw_state s;

	if (state_of(u, false, &s)) {
		CHECK(!"memory");
	} else {
		pair_sync(p, &s);
	}
	state_drop(&s);
}

/* Another writer (no cache) syncs s into both. */
static void pair_other_writer(struct pair *p, const struct pw_state *s, uint32_t cfg_flags)
{
	struct pw_sync_opts o = { .cfg_flags = cfg_flags, .cfg_mask = PW_CFG_AUDIT_ALL };
	struct pw_sync_stats sa, sb;

	CHECK_EQ(pw_sync(p->a, s, &o, &sa), 0);
	CHECK_EQ(pw_sync(p->b, s, &o, &sb), 0);
}

/* Say where in a sequence the first failure was. */
static void step_why(const char *what, int step, const struct pair *p)
{
	size_t l = strlen(check_why);

	if (check_failed_now && !strstr(check_why, " (at "))
		snprintf(check_why + l, sizeof(check_why) - l, " (at %s %d: %.150s)", what, step,
			 p->sa.error[0] ? p->sa.error : p->sb.error);
}

/* ------------------------------------------------------------ tests */

/*
 * Random small changes, now and then a big one, a state synced twice, a
 * mode change alone, and states handed over out of order: with a cache
 * and without, the same maps and the same statistics after every step;
 * every sync after the first takes the cache.
 */
static void t_sync_cache_same_as_read_back(void)
{
	struct universe *u = calloc(1, sizeof(*u));
	struct pair p = { 0 };
	int patched = 0, patched_values = 0;

	if (!u || pair_open(&p))
		goto out;
	rnd_state = 0x9e3779b97f4a7c15ull;
	universe_make(u);
	universe_shuffle(u);
	for (int step = 0; step < 120 && !check_failed_now; step++) {
		uint32_t r = rnd() % 20;
		struct pw_state s;

		if (step && r == 0) {
			universe_shuffle(u);               /* a big change */
		} else if (r == 1) {
			/* the same state again: nothing to do */
		} else if (r == 2) {
			p.oa.cfg_flags ^= PW_CFG_AUDIT_ALL; /* the mode alone */
			p.ob.cfg_flags = p.oa.cfg_flags;
		} else {
			for (uint32_t n = 1 + rnd() % 3; n; n--)
				universe_touch(u);
		}
		if (state_of(u, false, &s)) {
			CHECK(!"memory");
			state_drop(&s);
			break;
		}
		if (rnd() % 8 == 0) {
			/* out of order: the sync sorts what is not sorted */
			struct pw_state r;

			if (!state_of(u, true, &r)) {
				p.ea = pw_sync(p.a, &r, &p.oa, &p.sa);
				p.eb = pw_sync(p.b, &r, &p.ob, &p.sb);
				same_result(p.ea, &p.sa, p.eb, &p.sb);
				if (same_maps(p.a, p.b) && !p.ea)
					live_is(p.a, &s, p.oa.cfg_flags);
			}
			state_drop(&r);
		} else {
			pair_sync(&p, &s);
		}
		CHECK_EQ(p.ea, 0);
		CHECK_EQ(p.sa.cached, step > 0);
		patched += p.sa.ipcache_patched;
		patched_values += p.sa.ipcache_patched && p.sa.map[PW_MAP_IPCACHE].changed;
		state_drop(&s);
		step_why("step", step, &p);
	}
	/* many steps keep the ipcache's keys: the cache patches it then */
	CHECK(patched > 10);
	CHECK(patched_values > 0);
out:
	pair_close(&p);
	free(u);
}

/*
 * The agent's common change: pods take other identities (ipcache values),
 * one or two per step, now and then with a policy entry, and now and then
 * an address comes or goes (other keys: a full sync, then patches again).
 * With a cache and without, the same maps after every step, and most
 * steps patched: slot I catches up with the values it lagged behind in.
 */
static void t_sync_cache_patches_ipcache(void)
{
	struct universe *u = calloc(1, sizeof(*u));
	struct pair p = { 0 };
	int patched = 0;

	if (!u || pair_open(&p))
		goto out;
	rnd_state = 0x2545f4914f6cdd1dull;
	universe_make(u);
	universe_shuffle(u);
	for (int step = 0; step < 80 && !check_failed_now; step++) {
		size_t k;

		for (uint32_t n = 1 + rnd() % 2; n; n--) {
			k = rnd() % U_IPC;
			u->ipc[k].val.identity += 1 + rnd() % 3;
		}
		if (rnd() % 3 == 0) {
			k = rnd() % u->n_pol;
			u->pol_on[k] = !u->pol_on[k];
		}
		if (rnd() % 10 == 0) {
			k = rnd() % U_IPC;
			u->ipc_on[k] = !u->ipc_on[k];
		}
		pair_sync_u(&p, u);
		CHECK_EQ(p.ea, 0);
		patched += p.sa.ipcache_patched && p.sa.map[PW_MAP_IPCACHE].changed;
		step_why("step", step, &p);
	}
	CHECK(patched > 40);
out:
	pair_close(&p);
	free(u);
}

/* An entry written behind everyone's back, the same into both objects. */
static void put_ipc_both(struct pair *p, const struct pw_state_ipc *e, uint8_t slot)
{
	struct pw_ipcache_key k = e->key;
	struct pw_ipcache_val v = { .identity = 0xdead };

	k.slot = slot;
	CHECK_EQ(bpf_map__update_elem(p->a->maps.ipcache, &k, sizeof(k), &v, sizeof(v), 0), 0);
	CHECK_EQ(bpf_map__update_elem(p->b->maps.ipcache, &k, sizeof(k), &v, sizeof(v), 0), 0);
}

/*
 * What makes the cache step aside (a full read-back, the maps still the
 * same as without a cache), and that it is taken again on the sync after.
 */
static void t_sync_cache_steps_aside(void)
{
	struct universe *u = calloc(1, sizeof(*u));
	struct podwall_bpf *other = NULL;
	struct pair p = { 0 };
	struct pw_state s = { 0 };
	struct pw_config cfg;
	uint32_t zero = 0;
	int at = 0;

	if (!u || pair_open(&p))
		goto out;
	rnd_state = 0x2545f4914f6cdd1dull;
	universe_make(u);
	universe_shuffle(u);
	pair_sync_u(&p, u);
	CHECK(!p.sa.cached);
	universe_touch(u);
	pair_sync_u(&p, u);
	CHECK(p.sa.cached);
	step_why("part", at++, &p);

	/* another writer makes another set live: its generation */
	universe_touch(u);
	if (state_of(u, false, &s))
		goto out;
	pair_other_writer(&p, &s, 0);
	state_drop(&s);
	universe_touch(u);
	pair_sync_u(&p, u);
	CHECK(!p.sa.cached);
	universe_touch(u);
	pair_sync_u(&p, u);
	CHECK(p.sa.cached);
	step_why("part", at++, &p);

	/* another writer flips twice: the same live slot, the generation moved */
	for (int i = 0; i < 2; i++) {
		universe_touch(u);
		if (state_of(u, false, &s))
			goto out;
		pair_other_writer(&p, &s, 0);
		state_drop(&s);
	}
	universe_touch(u);
	pair_sync_u(&p, u);
	CHECK(!p.sa.cached);
	universe_touch(u);
	pair_sync_u(&p, u);
	CHECK(p.sa.cached);
	step_why("part", at++, &p);

	/* another writer changes the mode alone: a generation too */
	if (state_of(u, false, &s))
		goto out;
	pair_other_writer(&p, &s, PW_CFG_AUDIT_ALL);
	state_drop(&s);
	universe_touch(u);
	pair_sync_u(&p, u);
	CHECK(!p.sa.cached);
	CHECK(p.sa.switched);
	universe_touch(u);
	pair_sync_u(&p, u);
	CHECK(p.sa.cached);
	step_why("part", at++, &p);

	/* other maps, the very same config: the map ids tell them apart */
	if (pw_bpf_open(NULL, &other, NULL)) {
		CHECK(!"a third BPF object");
		goto out;
	}
	CHECK_EQ(bpf_map__lookup_elem(p.a->maps.config, &zero, sizeof(zero), &cfg, sizeof(cfg), 0), 0);
	CHECK_EQ(bpf_map__update_elem(other->maps.config, &zero, sizeof(zero), &cfg, sizeof(cfg), 0), 0);
	if (state_of(u, false, &s))
		goto out;
	{
		struct pw_sync_stats so;

		CHECK_EQ(pw_sync(other, &s, &p.oa, &so), 0);
		CHECK(!so.cached);
	}
	state_drop(&s);
	/* (the cache describes the other maps now: back to a, it steps aside again) */
	universe_touch(u);
	pair_sync_u(&p, u);
	CHECK(!p.sa.cached);
	universe_touch(u);
	pair_sync_u(&p, u);
	CHECK(p.sa.cached);
	step_why("part", at++, &p);

	/* a hand edit of the idle slot: repaired once the cache is dropped */
	put_ipc_both(&p, &u->ipc[0], (uint8_t)(1 - p.sa.slot));
	put_ipc_both(&p, &u->ipc[1], (uint8_t)p.sa.slot); /* and the live one */
	pw_sync_cache_invalidate(p.cache);
	universe_touch(u);
	pair_sync_u(&p, u);
	CHECK(!p.sa.cached);
	step_why("part", at++, &p);

	/* the age limit: 0 reads back every time */
	pw_sync_cache_set_max_age(p.cache, 0);
	for (int i = 0; i < 2; i++) {
		universe_touch(u);
		pair_sync_u(&p, u);
		CHECK(!p.sa.cached);
	}
	/* (what the last one read back is good for the next) */
	pw_sync_cache_set_max_age(p.cache, 30000);
	universe_touch(u);
	pair_sync_u(&p, u);
	CHECK(p.sa.cached);
	step_why("part", at++, &p);

	/* entries of no valid slot: kept by a sync that writes no slot, so no cache either */
	put_ipc_both(&p, &u->ipc[2], 2);
	pw_sync_cache_invalidate(p.cache);
	pair_sync_u(&p, u); /* the same state: nothing to do */
	CHECK(!p.sa.switched);
	CHECK(!p.sa.cached);
	pair_sync_u(&p, u);
	CHECK(!p.sa.cached);
	universe_touch(u);   /* a flip deletes them */
	pair_sync_u(&p, u);
	CHECK(p.sa.switched);
	CHECK(!p.sa.cached);
	universe_touch(u);
	pair_sync_u(&p, u);
	CHECK(p.sa.cached);
	step_why("part", at++, &p);
out:
	state_drop(&s);
	if (other)
		pw_bpf_close(other);
	pair_close(&p);
	free(u);
}

/*
 * A change too big for a map fails as a whole (-ENOSPC), with and without
 * a cache alike; the cache is dropped, and the next sync reads back.
 */
static void t_sync_cache_enospc(void)
{
	struct universe *u = calloc(1, sizeof(*u));
	struct pair p = { 0 };
	struct pw_state s = { 0 };
	size_t n_eps = PW_MAX_ENDPOINTS + 1;
	struct pw_state_ep *eps = calloc(n_eps, sizeof(*eps));

	if (!u || !eps || pair_open(&p))
		goto out;
	rnd_state = 0x853c49e6748fea9bull;
	universe_make(u);
	universe_shuffle(u);
	pair_sync_u(&p, u);
	universe_touch(u);
	pair_sync_u(&p, u);
	CHECK(p.sa.cached);

	/* one endpoint more than the map holds */
	if (state_of(u, false, &s))
		goto out;
	for (size_t i = 0; i < n_eps; i++) {
		eps[i].ifindex = eps[i].ep_id = 1000 + (uint32_t)i;
		eps[i].identity = 0x100;
	}
	free(s.eps);
	s.eps = eps;
	s.n_eps = n_eps;
	eps = NULL;
	pair_sync(&p, &s);
	CHECK_EQ(p.ea, -ENOSPC);
	CHECK(p.sa.cached); /* (it was taken, then dropped) */
	CHECK(!p.sa.switched);
	CHECK_STR_CONTAINS(p.sa.error, "too small");
	step_why("part", 0, &p);

	universe_touch(u);
	pair_sync_u(&p, u);
	CHECK_EQ(p.ea, 0);
	CHECK(!p.sa.cached);
	universe_touch(u);
	pair_sync_u(&p, u);
	CHECK(p.sa.cached);
	step_why("part", 1, &p);
out:
	state_drop(&s);
	free(eps);
	pair_close(&p);
	free(u);
}

/*
 * fill_idle: after a first sync into empty maps, the idle slot is made to
 * hold the live set (no flip, the same generation), so the next change
 * writes only its difference there; the maps are then the same as those of
 * a writer that did not fill (whose first change wrote the whole set), and
 * stay so over random changes.
 */
static void t_sync_fill_idle(void)
{
	struct universe *u = calloc(1, sizeof(*u));
	struct pair p = { 0 };
	struct pw_state s = { 0 };
	struct pw_sync_opts fill;
	struct pw_sync_stats fs;
	uint32_t gen;

	if (!u || pair_open(&p))
		goto out;
	rnd_state = 0x2545f4914f6cdd1dull;
	universe_make(u);
	universe_shuffle(u);
	pair_sync_u(&p, u);
	CHECK_EQ(p.ea, 0);
	gen = p.sa.generation;
	if (state_of(u, false, &s))
		goto out;
	fill = p.oa;
	fill.fill_idle = true;
	CHECK_EQ(pw_sync(p.a, &s, &fill, &fs), 0);
	CHECK(!fs.switched);
	CHECK(fs.cached);
	CHECK_EQ(fs.generation, gen);
	CHECK(fs.writes >= s.n_ipc + s.n_pol); /* the whole set, into the idle slot */
	live_is(p.a, &s, 0);
	CHECK_EQ(pw_sync(p.a, &s, &fill, &fs), 0); /* filled: nothing to write */
	CHECK_EQ(fs.writes, 0);
	CHECK(!fs.switched);
	step_why("fill", 0, &p);

	universe_touch(u);
	state_drop(&s);
	if (state_of(u, false, &s))
		goto out;
	p.ea = pw_sync(p.a, &s, &p.oa, &p.sa);
	p.eb = pw_sync(p.b, &s, &p.ob, &p.sb);
	CHECK_EQ(p.ea, 0);
	CHECK_EQ(p.eb, 0);
	CHECK(p.sa.cached);
	CHECK(p.sa.switched);
	CHECK(p.sa.writes + 16 < p.sb.writes); /* the difference, not the whole set */
	if (same_maps(p.a, p.b))
		live_is(p.a, &s, 0);
	step_why("change", 1, &p);
	for (int step = 2; step < 30 && !check_failed_now; step++) {
		universe_touch(u);
		pair_sync_u(&p, u);
		CHECK_EQ(p.ea, 0);
		step_why("change", step, &p);
	}
out:
	state_drop(&s);
	pair_close(&p);
	free(u);
}

int suite_mapsync(void)
{
	RUN(t_sync_cache_same_as_read_back);
	RUN(t_sync_cache_patches_ipcache);
	RUN(t_sync_cache_steps_aside);
	RUN(t_sync_cache_enospc);
	RUN(t_sync_fill_idle);
	return check_n_fail;
}
