/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * LD_PRELOAD shim for tests/e2e/valgrind.sh only: tell memcheck what the
 * kernel wrote for the bpf(2) commands valgrind 3.19 does not model
 * ("WARNING: unhandled eBPF command 24", BPF_MAP_LOOKUP_BATCH). Without it,
 * every key and value podwall reads back in batches looks uninitialised and
 * memcheck reports each use of them. The wrapper calls libbpf's own
 * bpf_map_lookup_batch and then marks exactly what the kernel filled in:
 * *count keys and values, the count and the out batch token. Likewise the
 * map ids BPF_OBJ_GET_INFO_BY_FD writes for a program into the array that
 * bpf_prog_info.map_ids points at (valgrind knows only the info struct).
 *
 * Built by the test: cc -shared -fPIC -o shim.so valgrind-bpf-shim.c -ldl -lbpf
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <valgrind/memcheck.h>

typedef int (*lookup_batch_fn)(int, void *, void *, void *, void *, __u32 *,
			       const struct bpf_map_batch_opts *);

static size_t value_size(const struct bpf_map_info *in)
{
	switch (in->type) {
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE: {
		int n = libbpf_num_possible_cpus();

		return (size_t)((in->value_size + 7) & ~7u) * (size_t)(n > 0 ? n : 1);
	}
	default:
		return in->value_size;
	}
}

int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values,
			 __u32 *count, const struct bpf_map_batch_opts *opts)
{
	static lookup_batch_fn real;
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int ret, saved;

	if (!real)
		real = (lookup_batch_fn)dlsym(RTLD_NEXT, "bpf_map_lookup_batch");
	ret = real(fd, in_batch, out_batch, keys, values, count, opts);
	saved = errno;
	memset(&info, 0, sizeof(info));
	if ((ret == 0 || ret == -ENOENT) && count && !bpf_obj_get_info_by_fd(fd, &info, &len)) {
		VALGRIND_MAKE_MEM_DEFINED(count, sizeof(*count));
		if (*count) {
			VALGRIND_MAKE_MEM_DEFINED(keys, (size_t)*count * info.key_size);
			VALGRIND_MAKE_MEM_DEFINED(values, (size_t)*count * value_size(&info));
		}
		/* the token: a bucket index (hash maps) or a key (the generic ones) */
		if (out_batch)
			VALGRIND_MAKE_MEM_DEFINED(out_batch, info.key_size > 4 ? info.key_size : 4);
	}
	errno = saved;
	return ret;
}

typedef int (*get_info_fn)(int, void *, __u32 *);

int bpf_obj_get_info_by_fd(int fd, void *info, __u32 *info_len)
{
	static get_info_fn real;
	char path[64], link[64];
	ssize_t n;
	int ret, saved;

	if (!real)
		real = (get_info_fn)dlsym(RTLD_NEXT, "bpf_obj_get_info_by_fd");
	ret = real(fd, info, info_len);
	saved = errno;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (!ret && n > 0 && *info_len >= offsetof(struct bpf_prog_info, map_ids) + 8) {
		link[n] = 0;
		if (!strcmp(link, "anon_inode:bpf-prog")) {
			struct bpf_prog_info *pi = info;

			if (pi->map_ids && pi->nr_map_ids)
				VALGRIND_MAKE_MEM_DEFINED((void *)(unsigned long)pi->map_ids,
							  (size_t)pi->nr_map_ids * sizeof(__u32));
		}
	}
	errno = saved;
	return ret;
}
