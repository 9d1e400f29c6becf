/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bpfobj: open and load the podwall BPF object through its skeleton,
 * optionally pinning its maps, and the typed map accessors (bpfobj.h).
 *
 * Pinning: every map of podwall.bpf.c is pinned as <pin_dir>/<name>.
 * Internal maps (a .rodata.cst* constant pool clang may emit) are not:
 * bpffs refuses names with a dot, and there is nothing in them to share.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "podwall.skel.h"
#include "kernel/bpfobj.h"
#include "kernel/cttable.h"
#include "log.h"
#include "model.h" /* struct pw_error */

#define PW_BPFFS "/sys/fs/bpf"

const char *const pw_prog_names[PW_PROG_MAX] = {
	[PW_PROG_FROM_POD]  = "from_pod",
	[PW_PROG_TO_POD]    = "to_pod",
	[PW_PROG_TO_REMOTE] = "to_remote",
	[PW_PROG_PASS_ONLY] = "pass_only",
};

static int is_bpffs(const char *path)
{
	struct statfs st;

	if (statfs(path, &st))
		return -errno;
	return st.f_type == BPF_FS_MAGIC;
}

int pw_bpffs_mount(struct pw_error *why)
{
	int err = is_bpffs(PW_BPFFS);

	if (err == 1)
		return 0;
	if (err == -ENOENT && mkdir(PW_BPFFS, 0700) && errno != EEXIST)
		return pw_errorf(why, -errno, "mkdir %s: %s", PW_BPFFS, strerror(errno));
	if (mount("bpf", PW_BPFFS, "bpf", 0, "mode=0700"))
		return pw_errorf(why, -errno, "mount -t bpf bpf %s: %s", PW_BPFFS, strerror(errno));
	return 0;
}

/* mkdir -p, each new level with mode. */
static int mkdir_p(const char *dir, mode_t mode)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);

	if (!len || len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; ; p++) {
		if (*p == '/' || !*p) {
			char c = *p;

			*p = 0;
			if (mkdir(path, mode) && errno != EEXIST)
				return -errno;
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

static int set_pin_paths(struct podwall_bpf *skel, const char *pin_dir, struct pw_error *why)
{
	struct bpf_map *map;
	char path[PATH_MAX];
	int err;

	bpf_object__for_each_map(map, skel->obj) {
		/* compiler-made constant pools (.rodata*) are read-only: nothing to share */
		if (bpf_map__is_internal(map))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_map__name(map)) >=
		    (int)sizeof(path))
			return -ENAMETOOLONG;
		err = bpf_map__set_pin_path(map, path);
		if (err)
			return pw_errorf(why, err, "pin path %s for map %s: %s", path,
					 bpf_map__name(map), strerror(-err));
	}
	return 0;
}

/*
 * Maps pinned by a podwall from before ipcache and policy were split
 * (abi.h): their ipcache and policy pins are LPMs with the definition that
 * ipcache_lpm and policy_lpm have now. Rename the pins, so that libbpf
 * adopts them under the new names (programs attached by the old podwall
 * keep using them meanwhile) and creates the hash halves beside them; the
 * first sync then moves the exact entries into the hashes.
 */
static void adopt_unsplit_pins(const char *pin_dir)
{
	static const char *const names[][2] = { { "ipcache", "ipcache_lpm" },
						{ "policy", "policy_lpm" } };
	char from[PATH_MAX], to[PATH_MAX];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct bpf_map_info info;
		uint32_t len = sizeof(info);
		int fd;

		if (snprintf(from, sizeof(from), "%s/%s", pin_dir, names[i][0]) >= (int)sizeof(from) ||
		    snprintf(to, sizeof(to), "%s/%s", pin_dir, names[i][1]) >= (int)sizeof(to))
			return;
		fd = bpf_obj_get(from);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    info.type == BPF_MAP_TYPE_LPM_TRIE && access(to, F_OK) && errno == ENOENT) {
			if (rename(from, to))
				pw_warn("podwall: rename %s to %s: %s", from, to,
					strerror(errno));
			else
				pw_info("podwall: %s: adopted as %s (maps of an older "
					"podwall)", from, names[i][1]);
		}
		close(fd);
	}
}

/* ------------------------------------------------------------ ABI switch */

/*
 * Pins of another ABI version (abi.h) are never reused: their maps may mean
 * something else. pw_bpf_open moves them into pin_dir/prev (bpffs renames:
 * the programs attached by the old agent keep their maps, packets are
 * judged as before), loads the object with new maps pinned in pin_dir,
 * and carries over what a switch must not lose when its layout is the
 * same, member by member (BTF): conntrack and fragments (established flows
 * and their replies), and for fresh maps config (the policy generation goes
 * on increasing, so every carried flow is judged again by the new maps
 * after the first sync) and the counters. The engine syncs the new maps,
 * then pw_attach_sync replaces each podwall filter with the new program in
 * one netlink request per hook (BPF_TC_F_REPLACE: no moment without a
 * filter), and at its end calls pw_bpf_switch_done: the flows the old
 * programs recorded meanwhile are carried again, and prev is removed.
 *
 * Between two hooks switched, each packet is judged entirely by one set of
 * maps, old or new, and both hold the same policy: no pod is open or closed
 * in between. An agent that dies in the middle leaves prev: the next one
 * carries from it again and finishes.
 */
#ifndef PW_ABI_PINNED
#define PW_ABI_PINNED PW_ABI_VERSION /* tests build a "next" agent: -DPW_ABI_PINNED=N */
#endif
#define PW_ABI_UNVERSIONED 1u /* pins from before the abi pin */
#define PW_PREV "prev"

/* The version of the pins in dir: 0 if no podwall maps are pinned there. */
static uint32_t pinned_abi(const char *dir)
{
	struct pw_abi a = { 0 };
	char path[PATH_MAX];
	uint32_t zero = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/abi", dir);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		bpf_map_lookup_elem(fd, &zero, &a);
		close(fd);
		return a.version ? a.version : UINT32_MAX; /* made, never stamped: unknown */
	}
	snprintf(path, sizeof(path), "%s/config", dir);
	return access(path, F_OK) ? 0 : PW_ABI_UNVERSIONED;
}

/* Every pin of dir (not its subdirectories): rename into to, or unlink (to NULL). */
static int move_pins(const char *dir, const char *to, struct pw_error *why)
{
	char from[PATH_MAX], dst[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_type == DT_DIR)
			continue;
		snprintf(from, sizeof(from), "%s/%s", dir, de->d_name);
		if (to) {
			snprintf(dst, sizeof(dst), "%s/%s", to, de->d_name);
			if (rename(from, dst))
				err = -errno;
		} else if (unlink(from) && errno != ENOENT) {
			err = -errno;
		}
		if (err) {
			pw_errorf(why, err, "%s %s: %s", to ? "moving" : "removing", from,
				  strerror(-err));
			break;
		}
	}
	closedir(d);
	return err;
}

/*
 * Before the load: pins of another version go to pin_dir/prev. *fresh: the
 * maps about to be made are new (nothing of ours is pinned in pin_dir).
 */
static int retire_other_abi(const char *pin_dir, bool *fresh, struct pw_error *why)
{
	char prev[PATH_MAX];
	uint32_t v = pinned_abi(pin_dir);
	int err;

	*fresh = !v;
	if (!v || v == PW_ABI_PINNED)
		return 0;
	snprintf(prev, sizeof(prev), "%s/" PW_PREV, pin_dir);
	if (!access(prev, F_OK)) {
		/* a switch to v was under way, and is now given up for ours: its
		 * unfinished maps go (programs using them keep them), prev stays
		 * the set to carry from */
		pw_info("podwall: %s: maps of ABI version %u from an unfinished "
			"switch: replaced", pin_dir, v);
		err = move_pins(pin_dir, NULL, why);
	} else {
		if (mkdir(prev, 0700) && errno != EEXIST)
			return pw_errorf(why, -errno, "mkdir %s: %s", prev, strerror(errno));
		err = move_pins(pin_dir, prev, why);
		pw_info("podwall: %s: maps of ABI version %u, this podwall's is %u: "
			"new maps beside them, then every hook switched to them", pin_dir, v,
			PW_ABI_PINNED);
	}
	*fresh = true;
	return err;
}

/*
 * Members an older podwall named otherwise at the same place. Each was
 * padding there, which the older programs always wrote as 0, and 0 is what
 * the new member means by "none" (pw_ct_val.isn: no SYN seen, never direct,
 * bpf/lib/direct.h): entries carried over keep their meaning.
 */
static const char *const member_renames[][2] = {
	{ "pad", "isn" }, /* pw_ct_val, ABI 3 before 2026-12-07 */
};

/* Whether member name na of an older layout is nb's of the new one. */
static bool member_name_same(const char *na, const char *nb)
{
	if (!strcmp(na, nb))
		return true;
	for (size_t i = 0; i < sizeof(member_renames) / sizeof(member_renames[0]); i++)
		if (!strcmp(na, member_renames[i][0]) && !strcmp(nb, member_renames[i][1]))
			return true;
	return false;
}

/* Whether type ia of a (the older pins') and ib of b have the same layout,
 * member by member. */
static bool btf_same(const struct btf *a, int ia, const struct btf *b, int ib, int depth)
{
	const struct btf_type *ta, *tb;

	ia = btf__resolve_type(a, ia); /* through typedefs and modifiers */
	ib = btf__resolve_type(b, ib);
	ta = ia < 0 ? NULL : btf__type_by_id(a, ia);
	tb = ib < 0 ? NULL : btf__type_by_id(b, ib);
	if (!ta || !tb || btf_kind(ta) != btf_kind(tb) || depth > 16)
		return false;
	switch (btf_kind(ta)) {
	case BTF_KIND_INT:
		return ta->size == tb->size && *(const __u32 *)(ta + 1) == *(const __u32 *)(tb + 1);
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		return ta->size == tb->size;
	case BTF_KIND_ARRAY:
		return btf_array(ta)->nelems == btf_array(tb)->nelems &&
		       btf_same(a, btf_array(ta)->type, b, btf_array(tb)->type, depth + 1);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		if (ta->size != tb->size || btf_vlen(ta) != btf_vlen(tb))
			return false;
		for (int i = 0; i < btf_vlen(ta); i++) {
			const struct btf_member *ma = btf_members(ta) + i, *mb = btf_members(tb) + i;

			if (!member_name_same(btf__name_by_offset(a, ma->name_off),
					      btf__name_by_offset(b, mb->name_off)) ||
			    btf_member_bit_offset(ta, i) != btf_member_bit_offset(tb, i) ||
			    btf_member_bitfield_size(ta, i) != btf_member_bitfield_size(tb, i) ||
			    !btf_same(a, ma->type, b, mb->type, depth + 1))
				return false;
		}
		return true;
	default:
		return false;
	}
}

/* Whether the pinned map ofd has map's type, sizes and key/value layouts. */
static bool same_layout(int ofd, struct bpf_map *map, const struct btf *nbtf)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	struct btf *obtf;
	bool same;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(ofd, &info, &len) || !nbtf || !info.btf_id ||
	    info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
	    info.value_size != bpf_map__value_size(map))
		return false;
	obtf = btf__load_from_kernel_by_id(info.btf_id);
	if (!obtf)
		return false;
	same = btf_same(obtf, info.btf_key_type_id, nbtf, bpf_map__btf_key_type_id(map), 0) &&
	       btf_same(obtf, info.btf_value_type_id, nbtf, bpf_map__btf_value_type_id(map), 0);
	btf__free(obtf);
	return same;
}

/*
 * Copy the entries of prev/<map's name> into map. Arrays (config,
 * counters) only into fresh maps, overwriting; hashes merge (an entry the
 * new map has wins). Returns the number copied, or a negative errno.
 */
static long carry_map(struct bpf_map *map, const struct btf *nbtf, const char *prev,
		      bool fresh)
{
	bool array = bpf_map__type(map) == BPF_MAP_TYPE_ARRAY ||
		     bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_ARRAY;
	bool percpu = bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_ARRAY ||
		      bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_HASH ||
		      bpf_map__type(map) == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	size_t ks = bpf_map__key_size(map), vs = bpf_map__value_size(map);
	int ncpu = libbpf_num_possible_cpus(), ofd, nfd = bpf_map__fd(map);
	char path[PATH_MAX];
	void *key, *next, *val;
	long n = 0;
	int err;

	if (array && !fresh)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", prev, bpf_map__name(map));
	ofd = bpf_obj_get(path);
	if (ofd < 0)
		return 0;
	if (!same_layout(ofd, map, nbtf)) {
		pw_warn("podwall: %s: another layout, not carried over", path);
		close(ofd);
		return 0;
	}
	if (percpu)
		vs = ((vs + 7) / 8 * 8) * (size_t)(ncpu > 0 ? ncpu : 1);
	key = calloc(1, ks);
	next = calloc(1, ks);
	val = calloc(1, vs);
	err = key && next && val ? 0 : -ENOMEM;
	for (bool first = true; !err; first = false) {
		err = bpf_map_get_next_key(ofd, first ? NULL : key, next);
		if (err) {
			err = err == -ENOENT ? 0 : err;
			break;
		}
		memcpy(key, next, ks);
		if (bpf_map_lookup_elem(ofd, key, val))
			continue; /* gone meanwhile (LRU) */
		err = bpf_map_update_elem(nfd, key, val, array ? BPF_ANY : BPF_NOEXIST);
		if (!err)
			n++;
		else if (err == -EEXIST)
			err = 0;
	}
	free(key);
	free(next);
	free(val);
	close(ofd);
	return err ? err : n;
}

/* Whether type id of btf a is the struct name of nbtf, member by member. */
static bool btf_is(const struct btf *a, __u32 id, const struct btf *nbtf, const char *name)
{
	int nid = btf__find_by_name_kind(nbtf, name, BTF_KIND_STRUCT);

	return nid > 0 && btf_same(a, id, nbtf, nid, 0);
}

struct ct_carry {
	struct pw_ct_table *to;
	long n;
};

static int ct_carry_one(const struct pw_ct_key *k, const struct pw_ct_val *v, void *ctx)
{
	struct ct_carry *c = ctx;

	if (!pw_ct_table_put(c->to, k, v, false))
		c->n++;
	return 0;
}

/*
 * conntrack's entries from prev: from a table (ours, another ABI version of
 * the same entry layout) or from the LRU_HASH of podwalls before ABI 4
 * (key struct pw_ct_key, value struct pw_ct_val), each put into the new
 * table without replacing what it has. Returns the number carried.
 */
static long carry_conntrack(struct podwall_bpf *skel, const struct btf *nbtf, const char *prev)
{
	struct pw_ct_table to, from = { 0 };
	struct ct_carry c = { .to = &to };
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	struct btf *obtf = NULL;
	char path[PATH_MAX];
	struct pw_ct_key k, next;
	struct pw_ct_val v;
	long err;
	int ofd;

	snprintf(path, sizeof(path), "%s/conntrack", prev);
	ofd = bpf_obj_get(path);
	if (ofd < 0)
		return 0;
	err = pw_ct_table_open(bpf_map__fd(skel->maps.conntrack), &to);
	if (err)
		goto out;
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(ofd, &info, &len) && info.btf_id)
		obtf = btf__load_from_kernel_by_id(info.btf_id);
	if (obtf && same_layout(ofd, skel->maps.conntrack, nbtf) &&
	    !pw_ct_table_open(ofd, &from)) {
		pw_ct_table_each(&from, ct_carry_one, &c);
	} else if (obtf && (info.type == BPF_MAP_TYPE_LRU_HASH || info.type == BPF_MAP_TYPE_HASH) &&
		   btf_is(obtf, info.btf_key_type_id, nbtf, "pw_ct_key") &&
		   btf_is(obtf, info.btf_value_type_id, nbtf, "pw_ct_val")) {
		for (const void *cur = NULL; !bpf_map_get_next_key(ofd, cur, &next); cur = &k) {
			k = next;
			if (!bpf_map_lookup_elem(ofd, &k, &v))
				ct_carry_one(&k, &v, &c);
		}
	} else {
		pw_warn("podwall: %s: another layout, not carried over", path);
	}
	err = c.n;
out:
	pw_ct_table_close(&from);
	pw_ct_table_close(&to);
	btf__free(obtf);
	close(ofd);
	return err;
}

/* What a switch carries over from prev (see above). */
static void carry_state(struct podwall_bpf *skel, const char *prev, bool fresh)
{
	struct bpf_map *maps[] = { skel->maps.config, skel->maps.counters, skel->maps.conntrack,
				   skel->maps.frags };
	const struct btf *nbtf = bpf_object__btf(skel->obj);

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		bool ct = maps[i] == skel->maps.conntrack;
		long n = ct ? carry_conntrack(skel, nbtf, prev) : carry_map(maps[i], nbtf, prev, fresh);

		if (n < 0)
			pw_warn("podwall: carrying %s/%s over: %s", prev,
				bpf_map__name(maps[i]), strerror((int)-n));
		else if (n && ct)
			pw_info("podwall: %ld tracked flows carried over from %s", n, prev);
	}
}

/* pin_dir of obj's pins (from the config map's pin path); -ENOENT if not pinned */
static int obj_pin_dir(struct podwall_bpf *obj, char *buf, size_t len)
{
	const char *p = bpf_map__pin_path(obj->maps.config);
	const char *slash = p ? strrchr(p, '/') : NULL;

	if (!slash || (size_t)(slash - p) >= len)
		return -ENOENT;
	memcpy(buf, p, (size_t)(slash - p));
	buf[slash - p] = 0;
	return 0;
}

int pw_bpf_switch_done(struct podwall_bpf *obj)
{
	char dir[PATH_MAX], prev[PATH_MAX + 8];
	int err;

	if (obj_pin_dir(obj, dir, sizeof(dir)))
		return 0;
	snprintf(prev, sizeof(prev), "%s/" PW_PREV, dir);
	if (access(prev, F_OK))
		return 0;
	carry_state(obj, prev, false); /* the flows the old programs saw meanwhile */
	err = move_pins(prev, NULL, NULL);
	if (!err && rmdir(prev) && errno != ENOENT)
		err = -errno;
	if (!err)
		pw_info("podwall: %s: every hook runs the ABI version %u programs; "
			"the old maps are gone", dir, PW_ABI_PINNED);
	return err; /* the caller says it (pw_attach_stats.error) */
}

/* Stamp the pins with our version, carry over from prev if a switch is under way. */
static int abi_after_load(struct podwall_bpf *skel, const char *pin_dir, bool fresh,
			  struct pw_error *why)
{
	struct pw_abi a = { .version = PW_ABI_PINNED };
	char prev[PATH_MAX];
	uint32_t zero = 0;
	int err;

	err = bpf_map__update_elem(skel->maps.abi, &zero, sizeof(zero), &a, sizeof(a), BPF_ANY);
	if (err)
		return pw_errorf(why, err, "writing the ABI version into %s/abi: %s", pin_dir,
				 strerror(-err));
	snprintf(prev, sizeof(prev), "%s/" PW_PREV, pin_dir);
	if (!access(prev, F_OK))
		carry_state(skel, prev, fresh);
	return 0;
}

static int open_load(const char *pin_dir, const struct pw_bpf_sizes *sz,
		     struct podwall_bpf **out, struct pw_error *why)
{
	struct podwall_bpf *skel;
	bool fresh = false;
	int err;

	*out = NULL;
	if (pin_dir) {
		err = pw_bpffs_mount(why);
		if (err)
			return err;
		err = mkdir_p(pin_dir, 0700);
		if (err)
			return pw_errorf(why, err, "mkdir -p %s: %s", pin_dir, strerror(-err));
		err = retire_other_abi(pin_dir, &fresh, why);
		if (err)
			return err;
	}

	skel = podwall_bpf__open();
	if (!skel) {
		err = errno ? -errno : -EINVAL;
		return pw_errorf(why, err, "open BPF object: %s", strerror(-err));
	}
	if (pin_dir) {
		adopt_unsplit_pins(pin_dir);
		err = set_pin_paths(skel, pin_dir, why);
		if (err)
			goto cleanup;
	}
	if (sz && sz->endpoints) {
		err = bpf_map__set_max_entries(skel->maps.endpoints, sz->endpoints);
		err = err ? err : bpf_map__set_max_entries(skel->maps.local_ips, sz->endpoints * 2);
		err = err ? err : bpf_map__set_max_entries(skel->maps.dns, sz->endpoints);
		if (err) {
			pw_errorf(why, err, "sizing the maps: %s", strerror(-err));
			goto cleanup;
		}
	}
	if (sz && sz->conntrack) {
		/* sets of PW_CT_WAYS, a power of two of them (abi.h) */
		uint32_t sets = 1;

		while (sets * 2 <= sz->conntrack / PW_CT_WAYS)
			sets *= 2;
		skel->rodata->pw_ct_set_mask = sets - 1;
		err = bpf_map__set_max_entries(skel->maps.conntrack, sets);
		if (err) {
			pw_errorf(why, err, "sizing the maps: %s", strerror(-err));
			goto cleanup;
		}
	}
	/* With pin paths set, libbpf reuses compatible pins and pins new maps. */
	err = podwall_bpf__load(skel);
	if (err) {
		pw_errorf(why, err, "load BPF object%s%s: %s%s",
			  pin_dir ? " with maps pinned in " : "", pin_dir ? pin_dir : "",
			  strerror(-err),
			  pin_dir ? " (a pinned map of another definition? podwall uninstall "
				    "removes the pins)" : "");
		goto cleanup;
	}
	if (pin_dir) {
		err = abi_after_load(skel, pin_dir, fresh, why);
		if (err)
			goto cleanup;
	}
	*out = skel;
	return 0;

cleanup:
	podwall_bpf__destroy(skel);
	return err;
}

int pw_bpf_open(const char *pin_dir, struct podwall_bpf **out, struct pw_error *why)
{
	return open_load(pin_dir, NULL, out, why);
}

int pw_bpf_open_private(const struct pw_bpf_sizes *sz, struct podwall_bpf **out,
			struct pw_error *why)
{
	return open_load(NULL, sz, out, why);
}

void pw_bpf_close(struct podwall_bpf *obj)
{
	podwall_bpf__destroy(obj);
}

int pw_bpf_unpin(const char *pin_dir, struct pw_error *why)
{
	struct podwall_bpf *skel;
	struct bpf_map *map;
	char path[PATH_MAX];
	int err = 0;

	/* Opening (not loading) the skeleton gives the map names. */
	skel = podwall_bpf__open();
	if (!skel) {
		err = errno ? -errno : -EINVAL;
		return pw_errorf(why, err, "open BPF object: %s", strerror(-err));
	}
	bpf_object__for_each_map(map, skel->obj) {
		if (bpf_map__is_internal(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_map__name(map));
		if (unlink(path) && errno != ENOENT) {
			err = pw_errorf(why, -errno, "unpin %s: %s", path, strerror(errno));
			goto cleanup;
		}
	}
	/* the maps of an unfinished ABI switch (prev: podwall's own, whatever their names) */
	snprintf(path, sizeof(path), "%s/" PW_PREV, pin_dir);
	if (!access(path, F_OK)) {
		err = move_pins(path, NULL, why);
		if (err)
			goto cleanup;
		if (rmdir(path) && errno != ENOENT)
			pw_warn("podwall: rmdir %s: %s", path, strerror(errno));
	}
	if (rmdir(pin_dir) && errno != ENOENT) {
		if (errno == ENOTEMPTY || errno == EEXIST)
			pw_warn("podwall: kept %s: it holds pins that are not "
				"podwall maps", pin_dir);
		else
			err = pw_errorf(why, -errno, "rmdir %s: %s", pin_dir, strerror(errno));
	}
cleanup:
	podwall_bpf__destroy(skel);
	return err;
}

int pw_bpf_prog_fd(const struct podwall_bpf *obj, enum pw_prog prog)
{
	switch (prog) {
	case PW_PROG_FROM_POD:  return bpf_program__fd(obj->progs.from_pod);
	case PW_PROG_TO_POD:    return bpf_program__fd(obj->progs.to_pod);
	case PW_PROG_TO_REMOTE: return bpf_program__fd(obj->progs.to_remote);
	case PW_PROG_PASS_ONLY: return bpf_program__fd(obj->progs.pass_only);
	default:                return -EINVAL;
	}
}

/* ------------------------------------------------------------- writers */

static int map_put(struct bpf_map *m, const void *k, size_t ks, const void *v, size_t vs)
{
	return bpf_map__update_elem(m, k, ks, v, vs, BPF_ANY);
}

static int map_get(struct bpf_map *m, const void *k, size_t ks, void *v, size_t vs)
{
	return bpf_map__lookup_elem(m, k, ks, v, vs, 0);
}

static int map_del(struct bpf_map *m, const void *k, size_t ks)
{
	return bpf_map__delete_elem(m, k, ks, 0);
}

int pw_bpf_set_config(struct podwall_bpf *obj, const struct pw_config *cfg)
{
	uint32_t zero = 0;

	return map_put(obj->maps.config, &zero, sizeof(zero), cfg, sizeof(*cfg));
}

int pw_bpf_get_config(struct podwall_bpf *obj, struct pw_config *cfg)
{
	uint32_t zero = 0;

	return map_get(obj->maps.config, &zero, sizeof(zero), cfg, sizeof(*cfg));
}

int pw_bpf_put_endpoint(struct podwall_bpf *obj, uint32_t ifindex, const struct pw_endpoint *ep)
{
	return map_put(obj->maps.endpoints, &ifindex, sizeof(ifindex), ep, sizeof(*ep));
}

int pw_bpf_get_endpoint(struct podwall_bpf *obj, uint32_t ifindex, struct pw_endpoint *ep)
{
	return map_get(obj->maps.endpoints, &ifindex, sizeof(ifindex), ep, sizeof(*ep));
}

int pw_bpf_del_endpoint(struct podwall_bpf *obj, uint32_t ifindex)
{
	return map_del(obj->maps.endpoints, &ifindex, sizeof(ifindex));
}

int pw_bpf_put_local_ip(struct podwall_bpf *obj, const uint8_t addr[16], uint32_t ifindex)
{
	struct pw_addr a;

	memcpy(a.a, addr, 16);
	return map_put(obj->maps.local_ips, &a, sizeof(a), &ifindex, sizeof(ifindex));
}

int pw_bpf_del_local_ip(struct podwall_bpf *obj, const uint8_t addr[16])
{
	struct pw_addr a;

	memcpy(a.a, addr, 16);
	return map_del(obj->maps.local_ips, &a, sizeof(a));
}

/* Whole addresses go to the hash ipcache, shorter prefixes to ipcache_lpm (abi.h). */
static struct bpf_map *ipcache_map(struct podwall_bpf *obj, const struct pw_ipcache_key *k)
{
	return k->prefixlen == PW_IPC_EXACT_PREFIX ? obj->maps.ipcache : obj->maps.ipcache_lpm;
}

int pw_bpf_put_ipcache(struct podwall_bpf *obj, const struct pw_ipcache_key *k,
		       const struct pw_ipcache_val *v)
{
	return map_put(ipcache_map(obj, k), k, sizeof(*k), v, sizeof(*v));
}

int pw_bpf_del_ipcache(struct podwall_bpf *obj, const struct pw_ipcache_key *k)
{
	return map_del(ipcache_map(obj, k), k, sizeof(*k));
}

static struct bpf_map *policy_map(struct podwall_bpf *obj, const struct pw_policy_key *k)
{
	return PW_POL_IN_HASH(k->prefixlen) ? obj->maps.policy : obj->maps.policy_lpm;
}

void pw_policy_summary_key(struct pw_policy_key *sk, const struct pw_policy_key *k)
{
	memset(sk, 0, sizeof(*sk));
	sk->prefixlen = PW_POL_PREFIX_SUMMARY;
	sk->slot = k->slot;
	sk->dir = k->dir;
	sk->ep_id = k->ep_id;
	sk->peer_id = k->peer_id;
}

bool pw_policy_needs_summary(const struct pw_policy_key *k)
{
	return k->peer_id == PW_ID_ANY || k->prefixlen != PW_POL_PREFIX_FULL;
}

int pw_bpf_put_policy(struct podwall_bpf *obj, const struct pw_policy_key *k,
		      const struct pw_policy_val *v)
{
	struct pw_policy_val sv = { 0 };
	struct pw_policy_key sk;
	uint32_t bit = pw_polsum_bit(k->prefixlen, k->proto);
	int err;

	if (k->prefixlen < PW_POL_PREFIX_ANY_PROTO || k->prefixlen > PW_POL_PREFIX_FULL)
		return -EINVAL;
	/* the summary first: its bit never hides an entry that is already there */
	if (pw_policy_needs_summary(k)) {
		pw_policy_summary_key(&sk, k);
		err = map_get(obj->maps.policy, &sk, sizeof(sk), &sv, sizeof(sv));
		if (err && err != -ENOENT)
			return err;
		if (err || !(sv.flags & bit)) {
			sv.flags |= bit;
			err = map_put(obj->maps.policy, &sk, sizeof(sk), &sv, sizeof(sv));
			if (err)
				return err;
		}
	}
	return map_put(policy_map(obj, k), k, sizeof(*k), v, sizeof(*v));
}

/* The summary keeps its bit: a superset costs a lookup, never a verdict. */
int pw_bpf_del_policy(struct podwall_bpf *obj, const struct pw_policy_key *k)
{
	return map_del(policy_map(obj, k), k, sizeof(*k));
}

int pw_bpf_put_dns(struct podwall_bpf *obj, uint32_t ep_id, const struct pw_dns *d)
{
	return map_put(obj->maps.dns, &ep_id, sizeof(ep_id), d, sizeof(*d));
}

int pw_bpf_get_dns(struct podwall_bpf *obj, uint32_t ep_id, struct pw_dns *d)
{
	return map_get(obj->maps.dns, &ep_id, sizeof(ep_id), d, sizeof(*d));
}

int pw_bpf_set_dns_flags(struct podwall_bpf *obj, uint32_t ep_id, uint32_t slot, uint32_t flags)
{
	struct pw_dns d;
	int err;

	if (slot >= PW_SLOTS)
		return -EINVAL;
	err = pw_bpf_get_dns(obj, ep_id, &d);
	if (err == -ENOENT)
		memset(&d, 0, sizeof(d));
	else if (err)
		return err;
	d.flags[slot] = flags;
	return pw_bpf_put_dns(obj, ep_id, &d);
}

int pw_bpf_del_dns(struct podwall_bpf *obj, uint32_t ep_id)
{
	return map_del(obj->maps.dns, &ep_id, sizeof(ep_id));
}

/* ------------------------------------------------------------- readers */

/*
 * Keys first .. first + n - 1 of the per-CPU array map, each summed over the
 * CPUs into out by add (its value size vsize, a multiple of 8 as the kernel
 * lays per-CPU values out); out is the caller's, zeroed.
 */
static int sum_percpu(struct bpf_map *map, uint32_t first, uint32_t n, size_t vsize,
		      void (*add)(void *out, uint32_t i, const void *v), void *out)
{
	int ncpu = libbpf_num_possible_cpus();
	uint8_t *per;
	int err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	per = calloc(ncpu, vsize);
	if (!per)
		return -ENOMEM;
	for (uint32_t i = 0; i < n && !err; i++) {
		uint32_t key = first + i;

		err = map_get(map, &key, sizeof(key), per, ncpu * vsize);
		for (int c = 0; !err && c < ncpu; c++)
			add(out, i, per + c * vsize);
	}
	free(per);
	return err;
}

static void add_counter(void *out, uint32_t i, const void *v)
{
	struct pw_counter *o = (struct pw_counter *)out + i;
	const struct pw_counter *c = v;

	o->packets += c->packets;
	o->bytes += c->bytes;
}

int pw_bpf_read_counter(struct podwall_bpf *obj, uint32_t dir, uint32_t verdict,
			uint32_t reason, struct pw_counter *out)
{
	memset(out, 0, sizeof(*out));
	if (dir >= PW_DIR_MAX || verdict >= PW_VERDICT_MAX || reason >= PW_REASON_MAX)
		return -EINVAL;
	return sum_percpu(obj->maps.counters, PW_COUNTER_IDX(dir, verdict, reason), 1,
			  sizeof(*out), add_counter, out);
}

int pw_bpf_read_counters(struct podwall_bpf *obj, struct pw_counter *out)
{
	memset(out, 0, PW_COUNTERS_MAX * sizeof(*out));
	return sum_percpu(obj->maps.counters, 0, PW_COUNTERS_MAX, sizeof(*out), add_counter, out);
}

/* The conntrack table of obj, mapped for one call (cttable.h). */
static int ct_table(struct podwall_bpf *obj, struct pw_ct_table *t)
{
	return pw_ct_table_open(bpf_map__fd(obj->maps.conntrack), t);
}

int pw_bpf_ct_lookup(struct podwall_bpf *obj, const struct pw_ct_key *k, struct pw_ct_val *v)
{
	struct pw_ct_table t;
	int err = ct_table(obj, &t);

	err = err ? err : pw_ct_table_get(&t, k, v);
	pw_ct_table_close(&t);
	return err;
}

int pw_bpf_ct_put(struct podwall_bpf *obj, const struct pw_ct_key *k, const struct pw_ct_val *v)
{
	struct pw_ct_table t;
	int err = ct_table(obj, &t);

	err = err ? err : pw_ct_table_put(&t, k, v, true);
	pw_ct_table_close(&t);
	return err;
}

int pw_bpf_ct_delete(struct podwall_bpf *obj, const struct pw_ct_key *k)
{
	struct pw_ct_table t;
	int err = ct_table(obj, &t);

	err = err ? err : pw_ct_table_del(&t, k);
	pw_ct_table_close(&t);
	return err;
}

/*
 * Delete every key of a hash map: one walk collecting the keys (walking
 * from the previous key is cheap; restarting from the first one after each
 * delete scans every bucket each time), then batched deletes.
 */
static int map_flush(struct bpf_map *m)
{
	size_t ks = bpf_map__key_size(m), n = 0, cap = 0;
	int fd = bpf_map__fd(m), err;
	uint8_t *keys = NULL;

	for (;;) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			uint8_t *nk = realloc(keys, ncap * ks);

			if (!nk) {
				err = -ENOMEM;
				goto cleanup;
			}
			keys = nk;
			cap = ncap;
		}
		err = bpf_map_get_next_key(fd, n ? keys + (n - 1) * ks : NULL, keys + n * ks);
		if (err == -ENOENT)
			break;
		if (err)
			goto cleanup;
		n++;
	}
	err = 0;
	for (size_t done = 0; done < n;) {
		__u32 count = n - done;

		err = bpf_map_delete_batch(fd, keys + done * ks, &count, NULL);
		if (err) {
			/* no batch support, or a key gone meanwhile (LRU): one by one */
			for (; done < n; done++) {
				err = bpf_map_delete_elem(fd, keys + done * ks);
				if (err && err != -ENOENT)
					goto cleanup;
			}
			err = 0;
			break;
		}
		done += count;
	}
cleanup:
	free(keys);
	return err;
}

/*
 * Delete every entry with BPF_MAP_LOOKUP_AND_DELETE_BATCH: the kernel walks
 * the buckets itself, a few syscalls for the whole map. Walking an almost
 * empty 256K-bucket map with get_next_key costs ~100 us a call (each one
 * scans the empty buckets from where it is), which made flushing between
 * matrix probes their main cost. Where the batch call fails (kernels
 * without it say -EINVAL, -EOPNOTSUPP or ENOTSUPP), the caller walks.
 */
static int map_flush_batch(struct bpf_map *m)
{
	enum { CHUNK = 1024 };
	size_t ks = bpf_map__key_size(m), vs = bpf_map__value_size(m);
	void *keys = malloc(CHUNK * ks), *vals = malloc(CHUNK * vs);
	__u32 token = 0;
	bool first = true;
	int err;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		__u32 count = CHUNK;

		err = bpf_map_lookup_and_delete_batch(bpf_map__fd(m), first ? NULL : &token,
						      &token, keys, vals, &count, NULL);
		first = false;
		if (err == -ENOENT) {
			err = 0; /* the walk is over */
			break;
		}
		if (err)
			break;
	}
out:
	free(keys);
	free(vals);
	return err;
}

static int map_clear(struct bpf_map *m)
{
	int err = map_flush_batch(m);

	return err && err != -ENOMEM ? map_flush(m) : err;
}

int pw_bpf_ct_flush(struct podwall_bpf *obj)
{
	struct pw_ct_table t;
	int err = ct_table(obj, &t);

	if (err)
		return err;
	pw_ct_table_clear(&t);
	pw_ct_table_close(&t);
	return map_clear(obj->maps.frags);
}

int pw_bpf_ct_count(struct podwall_bpf *obj, size_t *n)
{
	struct pw_ct_table t;
	int err = ct_table(obj, &t);

	*n = err ? 0 : pw_ct_table_count(&t);
	pw_ct_table_close(&t);
	return err;
}

static void add_u64(void *out, uint32_t i, const void *v)
{
	((uint64_t *)out)[i] += *(const uint64_t *)v;
}

int pw_bpf_ct_stats(struct podwall_bpf *obj, uint64_t out[PW_CT_STAT_MAX])
{
	memset(out, 0, PW_CT_STAT_MAX * sizeof(*out));
	return sum_percpu(obj->maps.ct_stats, 0, PW_CT_STAT_MAX, sizeof(*out), add_u64, out);
}

/* ---------------------------------------------------------- key makers */

static void clear_bits_after(uint8_t *bytes, size_t len, uint32_t keep)
{
	for (size_t i = 0; i < len; i++) {
		uint32_t first = i * 8;

		if (keep >= first + 8)
			continue;
		bytes[i] &= keep <= first ? 0 : (uint8_t)(0xff << (8 - (keep - first)));
	}
}

void pw_ipcache_key_make(struct pw_ipcache_key *k, uint8_t slot, const uint8_t addr[16],
			 uint32_t prefix_bits)
{
	if (prefix_bits > 128)
		prefix_bits = 128;
	memset(k, 0, sizeof(*k));
	k->prefixlen = PW_IPC_PREFIX_BASE + prefix_bits;
	k->slot = slot;
	memcpy(k->addr, addr, 16);
	clear_bits_after(k->addr, 16, prefix_bits);
}

void pw_policy_key_make(struct pw_policy_key *k, uint32_t prefixlen, uint8_t slot, uint8_t dir,
			uint32_t ep_id, uint32_t peer_id, uint8_t proto, uint16_t port)
{
	uint16_t mask;

	memset(k, 0, sizeof(*k));
	if (prefixlen > PW_POL_PREFIX_FULL)
		prefixlen = PW_POL_PREFIX_FULL;
	k->prefixlen = prefixlen;
	k->slot = slot;
	k->dir = dir;
	k->ep_id = ep_id;
	k->peer_id = peer_id;
	if (prefixlen > PW_POL_PREFIX_ANY_PROTO)
		k->proto = proto;
	if (prefixlen > PW_POL_PREFIX_ANY_PORT) {
		uint32_t nbits = prefixlen - PW_POL_PREFIX_ANY_PORT;

		mask = nbits >= 16 ? 0xffff : (uint16_t)(0xffff << (16 - nbits));
		k->port = htons(port & mask);
	}
}

int pw_port_range_prefixes(uint16_t lo, uint16_t hi,
			   int (*cb)(uint16_t port, uint32_t nbits, void *arg), void *arg)
{
	uint32_t cur = lo, end = hi;
	int n = 0, err;

	if (lo > hi)
		return -EINVAL;
	while (cur <= end) {
		/* the largest aligned block starting at cur that stays in range */
		uint32_t size = 1, nbits = 16;

		while (nbits > 0 && !(cur & (size * 2 - 1)) && cur + size * 2 - 1 <= end) {
			size *= 2;
			nbits--;
		}
		err = cb((uint16_t)cur, nbits, arg);
		if (err)
			return err;
		n++;
		cur += size;
	}
	return n;
}

int pw_addr_parse(const char *s, uint8_t out[16])
{
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = 0xff;
		out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1)
		return 0;
	return -EINVAL;
}

bool pw_addr_is_v4(const uint8_t a[16])
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a, prefix, sizeof(prefix));
}

const char *pw_addr_str(const uint8_t a[16], char *buf, size_t len)
{
	if (pw_addr_is_v4(a))
		inet_ntop(AF_INET, a + 12, buf, len);
	else
		inet_ntop(AF_INET6, a, buf, len);
	return buf;
}
