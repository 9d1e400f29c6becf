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
#include <bpf/libbpf.h>

#include "podwall.skel.h"
#include "kernel/bpfobj.h"

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

int pw_bpffs_mount(void)
{
	int err = is_bpffs(PW_BPFFS);

	if (err == 1)
		return 0;
	if (err == -ENOENT && mkdir(PW_BPFFS, 0700) && errno != EEXIST) {
		err = -errno;
		fprintf(stderr, "podwall: mkdir %s: %s\n", PW_BPFFS, strerror(-err));
		return err;
	}
	if (mount("bpf", PW_BPFFS, "bpf", 0, "mode=0700")) {
		err = -errno;
		fprintf(stderr, "podwall: mount -t bpf bpf %s: %s\n", PW_BPFFS, strerror(-err));
		return err;
	}
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

static int set_pin_paths(struct podwall_bpf *skel, const char *pin_dir)
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
		if (err) {
			fprintf(stderr, "podwall: pin path %s for map %s: %s\n", path,
				bpf_map__name(map), strerror(-err));
			return err;
		}
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
				fprintf(stderr, "podwall: rename %s to %s: %s\n", from, to,
					strerror(errno));
			else
				fprintf(stderr, "podwall: %s: adopted as %s (maps of an older podwall)\n",
					from, names[i][1]);
		}
		close(fd);
	}
}

static int open_load(const char *pin_dir, const struct pw_bpf_sizes *sz,
		     struct podwall_bpf **out)
{
	struct podwall_bpf *skel;
	int err;

	*out = NULL;
	if (pin_dir) {
		err = pw_bpffs_mount();
		if (err)
			return err;
		err = mkdir_p(pin_dir, 0700);
		if (err) {
			fprintf(stderr, "podwall: mkdir -p %s: %s\n", pin_dir, strerror(-err));
			return err;
		}
	}

	skel = podwall_bpf__open();
	if (!skel) {
		err = -errno;
		fprintf(stderr, "podwall: open BPF object: %s\n", strerror(-err));
		return err ? err : -EINVAL;
	}
	if (pin_dir) {
		adopt_unsplit_pins(pin_dir);
		err = set_pin_paths(skel, pin_dir);
		if (err)
			goto cleanup;
	}
	if (sz && sz->endpoints) {
		err = bpf_map__set_max_entries(skel->maps.endpoints, sz->endpoints);
		err = err ? err : bpf_map__set_max_entries(skel->maps.local_ips, sz->endpoints * 2);
		err = err ? err : bpf_map__set_max_entries(skel->maps.dns, sz->endpoints);
		if (err)
			goto cleanup;
	}
	if (sz && sz->conntrack && (err = bpf_map__set_max_entries(skel->maps.conntrack,
								   sz->conntrack)))
		goto cleanup;
	/* With pin paths set, libbpf reuses compatible pins and pins new maps. */
	err = podwall_bpf__load(skel);
	if (err) {
		fprintf(stderr, "podwall: load BPF object%s%s: %s%s\n",
			pin_dir ? " with maps pinned in " : "", pin_dir ? pin_dir : "",
			strerror(-err),
			pin_dir ? " (a pinned map of another definition? remove it with pw_bpf_unpin)"
				: "");
		goto cleanup;
	}
	*out = skel;
	return 0;

cleanup:
	podwall_bpf__destroy(skel);
	return err;
}

int pw_bpf_open(const char *pin_dir, struct podwall_bpf **out)
{
	return open_load(pin_dir, NULL, out);
}

int pw_bpf_open_private(const struct pw_bpf_sizes *sz, struct podwall_bpf **out)
{
	return open_load(NULL, sz, out);
}

void pw_bpf_close(struct podwall_bpf *obj)
{
	podwall_bpf__destroy(obj);
}

int pw_bpf_unpin(const char *pin_dir)
{
	struct podwall_bpf *skel;
	struct bpf_map *map;
	char path[PATH_MAX];
	int err = 0;

	/* Opening (not loading) the skeleton gives the map names. */
	skel = podwall_bpf__open();
	if (!skel) {
		err = -errno;
		fprintf(stderr, "podwall: open BPF object: %s\n", strerror(-err));
		return err ? err : -EINVAL;
	}
	bpf_object__for_each_map(map, skel->obj) {
		if (bpf_map__is_internal(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_map__name(map));
		if (unlink(path) && errno != ENOENT) {
			err = -errno;
			fprintf(stderr, "podwall: unpin %s: %s\n", path, strerror(errno));
			goto cleanup;
		}
	}
	if (rmdir(pin_dir) && errno != ENOENT) {
		if (errno == ENOTEMPTY || errno == EEXIST) {
			fprintf(stderr, "podwall: kept %s: it holds pins that are not podwall maps\n",
				pin_dir);
		} else {
			err = -errno;
			fprintf(stderr, "podwall: rmdir %s: %s\n", pin_dir, strerror(errno));
		}
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

int pw_bpf_read_counter(struct podwall_bpf *obj, uint32_t dir, uint32_t verdict,
			uint32_t reason, struct pw_counter *out)
{
	int ncpu = libbpf_num_possible_cpus();
	uint32_t idx = PW_COUNTER_IDX(dir, verdict, reason);
	struct pw_counter *per;
	int err;

	memset(out, 0, sizeof(*out));
	if (dir >= PW_DIR_MAX || verdict >= PW_VERDICT_MAX || reason >= PW_REASON_MAX)
		return -EINVAL;
	if (ncpu < 0)
		return ncpu;
	per = calloc(ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	err = map_get(obj->maps.counters, &idx, sizeof(idx), per, ncpu * sizeof(*per));
	if (!err) {
		for (int i = 0; i < ncpu; i++) {
			out->packets += per[i].packets;
			out->bytes += per[i].bytes;
		}
	}
	free(per);
	return err;
}

int pw_bpf_read_counters(struct podwall_bpf *obj, struct pw_counter *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct pw_counter *per;
	int err = 0;

	if (ncpu < 0)
		return ncpu;
	per = calloc(ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	for (uint32_t idx = 0; idx < PW_COUNTERS_MAX; idx++) {
		memset(&out[idx], 0, sizeof(out[idx]));
		err = map_get(obj->maps.counters, &idx, sizeof(idx), per, ncpu * sizeof(*per));
		if (err)
			break;
		for (int i = 0; i < ncpu; i++) {
			out[idx].packets += per[i].packets;
			out[idx].bytes += per[i].bytes;
		}
	}
	free(per);
	return err;
}

int pw_bpf_ct_lookup(struct podwall_bpf *obj, const struct pw_ct_key *k, struct pw_ct_val *v)
{
	return map_get(obj->maps.conntrack, k, sizeof(*k), v, sizeof(*v));
}

int pw_bpf_ct_put(struct podwall_bpf *obj, const struct pw_ct_key *k, const struct pw_ct_val *v)
{
	return map_put(obj->maps.conntrack, k, sizeof(*k), v, sizeof(*v));
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
	int err = map_clear(obj->maps.conntrack);

	return err ? err : map_clear(obj->maps.frags);
}

int pw_bpf_ct_count(struct podwall_bpf *obj, size_t *n)
{
	struct pw_ct_key k, next;
	const void *prev = NULL;
	int err;

	*n = 0;
	while (!(err = bpf_map__get_next_key(obj->maps.conntrack, prev, &next, sizeof(next)))) {
		(*n)++;
		k = next;
		prev = &k;
	}
	return err == -ENOENT ? 0 : err;
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
