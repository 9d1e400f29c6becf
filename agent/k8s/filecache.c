/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The per-file parse cache (model.h): one parsed pw_cluster per manifest
 * file, so that a change to one file of a large source costs the parse of
 * that file, not of the whole directory.
 *
 * Each parsed file is an fc_file, reference counted: the cache holds one
 * reference per file it knows, and every combined cluster it hands out holds
 * one per file its objects came from. A combined cluster is a shallow merge:
 * its object arrays are its own (pw_cluster_finish sorts them and adds
 * implicit namespaces in them), everything they point to lives in the
 * per-file arenas, which therefore stay alive while either the cache or a
 * cluster in use refers to them: replacing a file in the cache never pulls
 * the ground from under the cluster in force. The cache is used by one
 * thread, but a combined cluster may be let go of on another (model.h,
 * pw_cluster_ref): the file reference counts are atomic, and a file is
 * never changed once parsed except for its stat fields, which only the
 * cache's thread reads.
 *
 * Change detection is by stat (device, inode, size, mtime, ctime). Stat
 * times are coarse (a clock tick, or worse on some filesystems), so a file
 * rewritten in place with the same size within one tick of being read could
 * keep its stat; a file whose times are that recent when it is read is
 * "racy" and is read again and compared by content (length and a 64-bit
 * hash) on the next load, until a read finds its times old enough.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "k8s/internal.h"

/* A file changed this recently (seconds) when read may change again unseen. */
#define FC_RACY_SEC 2

struct fc_file {
	unsigned           refs;
	char              *path;     /* malloc'd */
	dev_t              dev;
	ino_t              ino;
	off_t              size;
	struct timespec    mtime, ctime;
	bool               racy;
	bool               dups;     /* two pods, policies or services of one name in it */
	size_t             len;      /* content: length and hash */
	uint64_t           hash;
	struct pw_cluster *c;        /* the file's objects, not finished */
};

struct pw_filecache {
	char            *source;
	int              racy_sec;   /* FC_RACY_SEC; tests may change it */
	struct fc_file **files;      /* sorted by path, one reference each */
	size_t           n;
	struct pw_perm_seen perms;   /* what srcperm.c has warned about */
};

/* What a combined cluster holds on to (its store's release_ctx). */
struct fc_deps {
	size_t          n;
	struct fc_file *v[];
};

/* Atomic: the last cluster holding a file may be dropped on another thread
 * (the state-file writer's reference, model.h pw_cluster_ref). */
static void file_unref(struct fc_file *f)
{
	if (!f || __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL))
		return;
	pw_cluster_free(f->c);
	free(f->path);
	free(f);
}

static struct fc_file *file_ref(struct fc_file *f)
{
	__atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
	return f;
}

static void deps_release(void *ctx)
{
	struct fc_deps *d = ctx;

	for (size_t i = 0; i < d->n; i++)
		file_unref(d->v[i]);
	free(d);
}

/* A fast 64-bit hash of the content (not cryptographic: it tells a rewrite
 * from a touch, with the length beside it). */
static uint64_t content_hash(const void *data, size_t n)
{
	const unsigned char *p = data;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull), w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h ^= w * 0x87c37b91114253d5ull;
		h = ((h << 31) | (h >> 33)) * 0x4cf5ad432745937full;
	}
	w = 0;
	memcpy(&w, p, n);
	h ^= w * 0x87c37b91114253d5ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static bool ts_eq(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static bool same_stat(const struct fc_file *f, const struct stat *st)
{
	return f->dev == st->st_dev && f->ino == st->st_ino && f->size == st->st_size &&
	       ts_eq(&f->mtime, &st->st_mtim) && ts_eq(&f->ctime, &st->st_ctim);
}

static void set_stat(struct fc_file *f, const struct stat *st, const struct timespec *read_at,
		     int racy_sec)
{
	const struct timespec *t = &st->st_ctim;

	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->size = st->st_size;
	f->mtime = st->st_mtim;
	f->ctime = st->st_ctim;
	if (st->st_mtim.tv_sec > t->tv_sec ||
	    (st->st_mtim.tv_sec == t->tv_sec && st->st_mtim.tv_nsec > t->tv_nsec))
		t = &st->st_mtim;
	/* racy unless its last change is racy_sec older than the read */
	f->racy = racy_sec >= 0 &&
		  !(t->tv_sec + racy_sec < read_at->tv_sec ||
		    (t->tv_sec + racy_sec == read_at->tv_sec && t->tv_nsec < read_at->tv_nsec));
}

struct pw_filecache *pw_filecache_new(const char *source)
{
	struct pw_filecache *fc = calloc(1, sizeof(*fc));

	if (!fc)
		return NULL;
	fc->source = strdup(source);
	if (!fc->source) {
		free(fc);
		return NULL;
	}
	fc->racy_sec = FC_RACY_SEC;
	return fc;
}

void pw_filecache_racy_window(struct pw_filecache *fc, int sec)
{
	fc->racy_sec = sec;
}

static void list_release(struct fc_file **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		file_unref(v[i]);
	free(v);
}

void pw_filecache_free(struct pw_filecache *fc)
{
	if (!fc)
		return;
	list_release(fc->files, fc->n);
	pw_perm_seen_free(&fc->perms);
	free(fc->source);
	free(fc);
}

/* ------------------------------------------------------------ combining */

/* One kind of object of pw_cluster: where its array, count and store
 * capacity are, the size of an element and where its loc is in it. */
struct kind {
	size_t      arr, count, cap, size, loc;
	const char *what;
	int       (*cmp)(const void *, const void *); /* pw_cluster_finish's order */
	bool        unique;  /* two of one key are an error (pw_cluster_finish) */
};

#define KIND(arr_, count_, cap_, type_, what_, cmp_, unique_)                            \
	{ offsetof(struct pw_cluster, arr_), offsetof(struct pw_cluster, count_),           \
	  offsetof(struct pw_store, cap_), sizeof(type_), offsetof(type_, loc), what_, cmp_,  \
	  unique_ }

static const struct kind kinds[] = {
	KIND(namespaces, n_namespaces, cap_namespaces, struct pw_namespace, "namespaces",
	     pw_cmp_namespace, false),
	KIND(pods, n_pods, cap_pods, struct pw_pod, "pods", pw_cmp_pod, true),
	KIND(policies, n_policies, cap_policies, struct pw_policy, "policies", pw_cmp_policy,
	     true),
	KIND(services, n_services, cap_services, struct pw_service, "services", pw_cmp_service,
	     true),
	/* cluster-scoped: pw_cluster_finish finds their duplicates */
	KIND(cnps, n_cnps, cap_cnps, struct pw_cnp, "clusternetworkpolicies", pw_cmp_cnp, false),
	KIND(nodes, n_nodes, cap_nodes, struct pw_node, "nodes", pw_cmp_node, false),
};

/* Past this many files with objects of a kind, merging each into the
 * others costs more than sorting them all once (pw_cluster_finish does). */
#define FC_MERGE_MAX_RUNS 8

static size_t *k_count(const struct kind *k, const struct pw_cluster *c)
{
	return (size_t *)((char *)c + k->count);
}

static char **k_arr(const struct kind *k, const struct pw_cluster *c)
{
	return (char **)((char *)c + k->arr);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The loader's limit error for the nth object (in document order) of file
 * f's kind k: its objects are kept in key order (parse_file), so the nth
 * is the one with the nth smallest line. */
static int limit_error(const struct fc_file *f, const struct kind *k, size_t nth,
		       struct pw_error *err)
{
	size_t cnt = *k_count(k, f->c);
	const char *arr = *k_arr(k, f->c);
	int *lines = malloc(cnt * sizeof(*lines));
	int line = 0;

	if (lines) {
		for (size_t i = 0; i < cnt; i++)
			lines[i] = ((const struct pw_loc *)(arr + i * k->size + k->loc))->line;
		qsort(lines, cnt, sizeof(*lines), cmp_int);
		line = lines[nth];
		free(lines);
	}
	return pw_errorf(err, -EINVAL, "%s:%d: out of memory (or too many %s)",
			 f->path, line, k->what);
}

/* A file's sorted objects of one kind not yet merged. */
struct run {
	const char *p;
	size_t      n;
};

/* The run (of r[0..k) but skip) whose first object sorts first, the earliest
 * run on a tie; -1 if they are all empty. */
static int first_run(const struct run *r, int k, int skip,
		     int (*cmp)(const void *, const void *))
{
	int m = -1;

	for (int i = 0; i < k; i++)
		if (i != skip && r[i].n && (m < 0 || cmp(r[i].p, r[m].p) < 0))
			m = i;
	return m;
}

/*
 * The sorted runs r[0..k) (files in load order) merged into dst, as a stable
 * sort of them one after the other would order them: equal keys in file
 * order. Each object is copied once, in blocks: the run whose head sorts
 * first gives every object up to the head of the next run (found by binary
 * search), so a small file merged into a big one costs a few searches and
 * one copy of the big one, not a pass over it. Returns whether two runs
 * hold an equal key.
 */
static bool merge_runs(char *dst, struct run *r, int k, size_t size,
		       int (*cmp)(const void *, const void *))
{
	bool dup = false;
	int m;

	while ((m = first_run(r, k, -1, cmp)) >= 0) {
		int s = first_run(r, k, m, cmp);
		size_t lo = 1, hi = r[m].n, c;

		if (s < 0) {
			memcpy(dst, r[m].p, r[m].n * size);
			break;
		}
		/* how many of r[m] go before r[s]'s head: those that sort
		 * before it, and the equal ones too when r[m] is the earlier
		 * file (its head does: a tie picks the earlier run) */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int d = cmp(r[m].p + mid * size, r[s].p);

			if (d < 0 || (d == 0 && m < s))
				lo = mid + 1;
			else
				hi = mid;
		}
		c = lo;
		if (!cmp(r[m].p + (c - 1) * size, r[s].p))
			dup = true;
		memcpy(dst, r[m].p, c * size);
		dst += c * size;
		r[m].p += c * size;
		r[m].n -= c;
	}
	return dup;
}

/*
 * The objects of kind k of every file into one array of c's arena, in the
 * order a stable sort of them in file order gives (pw_cluster_finish's
 * sort then finds them sorted: a change to one small file costs a merge,
 * not a sort of every object). Files' arrays are sorted (parse_file). With
 * many files they are only concatenated and pw_cluster_finish sorts. Past
 * PW_LOAD_MAX_OBJECTS, the error the loader gives for the object that
 * crosses the limit.
 */
static int concat(struct pw_cluster *c, struct fc_file **v, size_t n, const struct kind *k,
		  bool *merged, bool *unique, struct pw_error *err)
{
	struct run r[FC_MERGE_MAX_RUNS];
	size_t total = 0, at = 0, runs = 0;
	char *dst;

	for (size_t i = 0; i < n; i++) {
		size_t cnt = *k_count(k, v[i]->c);

		if (total + cnt > PW_LOAD_MAX_OBJECTS)
			return limit_error(v[i], k, PW_LOAD_MAX_OBJECTS - total, err);
		total += cnt;
		runs += cnt > 0;
	}
	*merged = runs <= FC_MERGE_MAX_RUNS;
	*unique = *merged;
	if (!total)
		return 0;
	/* every object is copied in: no need to zero it first */
	dst = pw_arena_alloc_array_raw(&pw_store(c)->arena, total, k->size);
	if (!dst)
		return pw_errorf(err, -ENOMEM, "out of memory");
	runs = 0;
	for (size_t i = 0; i < n; i++) {
		size_t cnt = *k_count(k, v[i]->c);

		if (!cnt)
			continue;
		if (k->unique && v[i]->dups)
			*unique = false;
		if (*merged) {
			r[runs].p = *k_arr(k, v[i]->c);
			r[runs++].n = cnt;
		} else {
			memcpy(dst + at * k->size, *k_arr(k, v[i]->c), cnt * k->size);
			at += cnt;
		}
	}
	if (*merged && merge_runs(dst, r, (int)runs, k->size, k->cmp))
		*unique = false;
	*k_arr(k, c) = dst;
	*k_count(k, c) = total;
	*(size_t *)((char *)pw_store(c) + k->cap) = total;
	return 0;
}

/* The finished cluster of files v[0..n) (in load order); takes a reference
 * on each for as long as the cluster lives. */
static int combine(struct fc_file **v, size_t n, struct pw_cluster **out, struct pw_error *err)
{
	struct pw_cluster *c = pw_cluster_new();
	struct fc_deps *d;
	int ret;

	*out = NULL;
	if (!c)
		return pw_errorf(err, -ENOMEM, "out of memory");
	d = malloc(sizeof(*d) + n * sizeof(d->v[0]));
	if (!d) {
		pw_cluster_free(c);
		return pw_errorf(err, -ENOMEM, "out of memory");
	}
	d->n = n;
	for (size_t i = 0; i < n; i++)
		d->v[i] = file_ref(v[i]);
	pw_store(c)->release = deps_release;
	pw_store(c)->release_ctx = d;

	ret = 0;
	pw_store(c)->objects_sorted = true;
	pw_store(c)->objects_unique = true;
	for (size_t k = 0; !ret && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		bool merged = false, unique = false;

		ret = concat(c, v, n, &kinds[k], &merged, &unique, err);
		pw_store(c)->objects_sorted &= merged;
		if (kinds[k].unique)
			pw_store(c)->objects_unique &= unique;
	}
	if (!ret)
		ret = pw_cluster_finish(c, err);
	if (ret) {
		pw_cluster_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

/* ------------------------------------------------------------ loading */

static int now_realtime(struct timespec *ts)
{
	return clock_gettime(CLOCK_REALTIME, ts);
}

/* Read and parse path into a new fc_file (one reference). */
static int parse_file(const char *path, int racy_sec, struct fc_file *old, struct fc_file **out,
		      bool *reuse_old, struct pw_error *err)
{
	struct fc_file *f;
	struct timespec read_at;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	uint64_t h;
	int ret;

	*out = NULL;
	*reuse_old = false;
	now_realtime(&read_at);
	ret = pw_load_read_file(path, &buf, &len, &st, err);
	if (ret)
		return ret;
	h = content_hash(buf, len);
	if (old && old->len == len && old->hash == h) {
		/* the same content (touched, or a racy file that did not change):
		 * its objects are what they were; only what stat says is new */
		free(buf);
		set_stat(old, &st, &read_at, racy_sec);
		*reuse_old = true;
		return 0;
	}
	f = calloc(1, sizeof(*f));
	if (f) {
		f->path = strdup(path);
		f->c = pw_cluster_new();
	}
	if (!f || !f->path || !f->c) {
		free(buf);
		if (f) {
			pw_cluster_free(f->c);
			free(f->path);
			free(f);
		}
		return pw_errorf(err, -ENOMEM, "%s: out of memory", path);
	}
	f->refs = 1;
	ret = pw_cluster_load_buffer(f->c, path, buf, len, err);
	free(buf);
	/* each kind in key order once, here: loads merge files (concat) */
	for (size_t k = 0; !ret && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		const struct kind *kd = &kinds[k];
		const char *arr = *k_arr(kd, f->c);
		size_t cnt = *k_count(kd, f->c);

		if (pw_sort_stable(*k_arr(kd, f->c), cnt, kd->size, kd->cmp)) {
			ret = pw_errorf(err, -ENOMEM, "%s: out of memory", path);
			break;
		}
		for (size_t i = 1; kd->unique && i < cnt; i++)
			if (!kd->cmp(arr + (i - 1) * kd->size, arr + i * kd->size))
				f->dups = true;
	}
	if (ret) {
		file_unref(f);
		return ret;
	}
	f->len = len;
	f->hash = h;
	set_stat(f, &st, &read_at, racy_sec);
	*out = f;
	return 0;
}

int pw_filecache_load(struct pw_filecache *fc, struct pw_cluster **out,
		      struct pw_filecache_stats *stats, struct pw_error *err)
{
	struct pw_filecache_stats st_local;
	struct pw_filecache_stats *st = stats ? stats : &st_local;
	struct pw_load_entry *ents = NULL;
	struct fc_file **files = NULL;
	struct stat sst;
	size_t n = 0, got = 0, j = 0;
	int ret;

	*out = NULL;
	memset(st, 0, sizeof(*st));
	if (err)
		err->msg[0] = 0;
	if (!strcmp(fc->source, "-")) {
		/* a stream: nothing to cache */
		struct pw_cluster *c = pw_cluster_new();

		if (!c)
			return pw_errorf(err, -ENOMEM, "out of memory");
		ret = pw_cluster_load_path(c, fc->source, err);
		if (!ret)
			ret = pw_cluster_finish(c, err);
		if (ret) {
			pw_cluster_free(c);
			return ret;
		}
		st->files = st->parsed = 1;
		*out = c;
		return 0;
	}

	/* what the source holds now, in load order (as pw_cluster_load_path) */
	if (stat(fc->source, &sst))
		return pw_errorf(err, -errno, "%s: %s", fc->source, strerror(errno));
	/* the agent's source: say so if others than root could change it */
	pw_perm_check_source(&fc->perms, fc->source, S_ISDIR(sst.st_mode));
	if (S_ISDIR(sst.st_mode)) {
		ret = pw_load_list_dir(fc->source, &ents, &n, err);
		if (ret)
			return ret;
	} else {
		ents = calloc(1, sizeof(*ents));
		if (!ents || !(ents[0].path = strdup(fc->source))) {
			free(ents);
			return pw_errorf(err, -ENOMEM, "%s: out of memory", fc->source);
		}
		ents[0].st = sst;
		n = 1;
	}
	files = calloc(n ? n : 1, sizeof(*files));
	if (!files) {
		ret = pw_errorf(err, -ENOMEM, "%s: out of memory", fc->source);
		goto fail;
	}

	/* each file: the cached version if it is unchanged, else a new parse */
	for (size_t i = 0; i < n; i++, got++) {
		struct fc_file *old = NULL, *f;
		bool reuse;

		while (j < fc->n && strcmp(fc->files[j]->path, ents[i].path) < 0)
			j++;
		if (j < fc->n && !strcmp(fc->files[j]->path, ents[i].path))
			old = fc->files[j];
		if (old && !old->racy && same_stat(old, &ents[i].st)) {
			files[i] = file_ref(old);
			st->reused++;
			continue;
		}
		/* new or changed (mode and owner change the ctime too) */
		pw_perm_check_file(&fc->perms, ents[i].path, &ents[i].st);
		ret = parse_file(ents[i].path, fc->racy_sec, old, &f, &reuse, err);
		if (ret)
			goto fail;
		if (reuse) {
			files[i] = file_ref(old);
			st->verified++;
		} else {
			files[i] = f;
			st->parsed++;
		}
	}
	st->files = n;

	ret = combine(files, n, out, err);
	if (ret)
		goto fail;
	/* the new list replaces the old one; files gone or replaced leave the
	 * cache (and memory, once no cluster in use needs them) */
	list_release(fc->files, fc->n);
	fc->files = files;
	fc->n = n;
	pw_load_entries_free(ents, n);
	return 0;

fail:
	/* nothing parsed by this load stays: the cache is as it was (only the
	 * stat of files found unchanged by content was refreshed) */
	if (files)
		list_release(files, got);
	pw_load_entries_free(ents, n);
	if (err && !err->msg[0])
		pw_errorf(err, ret, "%s: %s", fc->source, strerror(-ret));
	return ret;
}
