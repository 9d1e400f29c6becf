// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * maphalves: the discovery of a map's LPM halves (maps.h). ipcache and
 * policy are each a hash and an LPM (abi.h); a caller that has only the
 * hashes (opened by hand, or pins of an older podwall) gets the halves that
 * belong with them: those of a program that uses the given policy map,
 * else those loaded with the same BTF. Also: is a datapath from before the
 * split still attached?
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "kernel/maps.h"

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
				if (out[w] == -1)
					out[w] = map_named(ids[i], want[w], &like[w], false);
		if (out[0] != -1 && out[1] != -1)
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

			if (out[w] != -1 || (fd = map_named(mid, want[w], &like[w], true)) < 0)
				continue;
			out[w] = fd;
		}
	return out[0] != -1 && out[1] != -1 ? 0 : -ENOENT;
}

int pw_map_fds_find_lpm(struct pw_map_fds *fds, bool opened[2])
{
	static const char *const want[2] = { "ipcache_lpm", "policy_lpm" };
	static const enum pw_map slot[2] = { PW_MAP_IPCACHE_LPM, PW_MAP_POLICY_LPM };
	struct bpf_map_info like[2];
	int out[2], err, n = 0;

	opened[0] = opened[1] = false;
	for (int w = 0; w < 2; w++)
		out[w] = fds->fd[slot[w]] >= 0 ? -2 : -1; /* -2: given, not looked for */
	if (out[0] == -2 && out[1] == -2)
		return 0;
	err = map_info(fds->fd[PW_MAP_IPCACHE], &like[0]);
	if (!err)
		err = map_info(fds->fd[PW_MAP_POLICY], &like[1]);
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
	for (int w = 0; w < 2; w++)
		if (out[w] >= 0) {
			fds->fd[slot[w]] = out[w];
			opened[w] = true;
			n++;
		}
	return n;
}

void pw_map_fds_close_lpm(struct pw_map_fds *fds, const bool opened[2])
{
	static const enum pw_map slot[2] = { PW_MAP_IPCACHE_LPM, PW_MAP_POLICY_LPM };

	for (int w = 0; w < 2; w++)
		if (opened[w] && fds->fd[slot[w]] >= 0) {
			close(fds->fd[slot[w]]);
			fds->fd[slot[w]] = -1;
		}
}

/*
 * bpfobj adopts the pins of an older podwall under the new names; until the
 * agent has attached the new programs, the old ones look everything up in
 * the LPMs.
 */
bool pw_unsplit_prog_attached(int policy_fd, int policy_lpm_fd)
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

