/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The manifest directory as the agent follows it:
 *  - a ConfigMap volume (kubelet's atomic writer: "x.yaml -> ..data/x.yaml",
 *    "..data -> ..2026_...", a new version swapped in by renaming
 *    "..data_tmp" onto "..data"): each manifest read once, through its
 *    visible name; the swap is a change to the watch (agent/kernel/watch.c)
 *    and the file cache reads the new version;
 *  - who could change it (agent/k8s/srcperm.c): warnings, once, for a
 *    source directory, ancestor or manifest writable by group or others or
 *    owned by another user; the load itself goes on.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "k8s/internal.h"
#include "kernel/watch.h"
#include "util.h"

static char top[40];     /* a private directory for each test */
static char src[48];    /* the source directory, inside top */
static int gen;          /* the atomic writer's version counter */

static int rm_cb(const char *p, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	return type == FTW_DP ? rmdir(p) : unlink(p);
}

static void setup(void)
{
	snprintf(top, sizeof(top), "/tmp/pw-src-test.XXXXXX");
	if (!mkdtemp(top))
		abort();
	snprintf(src, sizeof(src), "%s/src", top);
	if (mkdir(src, 0700))
		abort();
	gen = 0;
}

static void teardown(void)
{
	if (top[0])
		nftw(top, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	top[0] = 0;
}

static void write_at(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

#define NS(n) "apiVersion: v1\nkind: Namespace\nmetadata: {name: " n "}\n"

/*
 * What kubelet's atomic writer does (pkg/volume/util/atomic_writer.go): the
 * payload (names[i] -> texts[i]) into a new "..<timestamp>" directory, a
 * "..data_tmp" symlink to it renamed onto "..data", visible symlinks for
 * new names, stale visible names and the old version's directory removed.
 */
static void atomic_write(const char *const *names, const char *const *texts, size_t n)
{
	char ts[48], d[96], p[128], old[64] = "", link[96];
	ssize_t l;
	DIR *dh;
	struct dirent *de;

	snprintf(ts, sizeof(ts), "..2026_11_23_10_17_%02d.%09d", gen, 123456789 + gen);
	gen++;
	snprintf(d, sizeof(d), "%s/%s", src, ts);
	if (mkdir(d, 0755))
		abort();
	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/%s", d, names[i]);
		write_at(p, texts[i], 0644);
	}
	snprintf(p, sizeof(p), "%s/..data", src);
	l = readlink(p, old, sizeof(old) - 1);
	old[l > 0 ? l : 0] = 0;
	snprintf(link, sizeof(link), "%s/..data_tmp", src);
	if (symlink(ts, link))
		abort();
	if (rename(link, p))
		abort();
	for (size_t i = 0; i < n; i++) {
		char vis[128], to[96];

		snprintf(vis, sizeof(vis), "%s/%s", src, names[i]);
		snprintf(to, sizeof(to), "..data/%s", names[i]);
		if (symlink(to, vis) && errno != EEXIST)
			abort();
	}
	/* stale visible names: symlinks into ..data whose target is gone */
	dh = opendir(src);
	while (dh && (de = readdir(dh))) {
		struct stat st;
		char vis[128];

		if (de->d_name[0] == '.')
			continue;
		snprintf(vis, sizeof(vis), "%s/%.64s", src, de->d_name);
		if (stat(vis, &st) && errno == ENOENT)
			unlink(vis);
	}
	if (dh)
		closedir(dh);
	if (old[0]) {
		snprintf(p, sizeof(p), "%s/%s", src, old);
		nftw(p, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	}
}

static struct pw_cluster *fc_load(struct pw_filecache *fc, struct pw_error *err, int *ret,
				  char **captured)
{
	struct pw_cluster *c = NULL;
	char *out;

	t_capture_begin();
	*ret = pw_filecache_load(fc, &c, NULL, err);
	out = t_capture_end();
	if (captured)
		*captured = out;
	else
		free(out);
	return c;
}

static bool has_ns(const struct pw_cluster *c, const char *name)
{
	for (size_t i = 0; c && i < c->n_namespaces; i++)
		if (!strcmp(c->namespaces[i].name, name))
			return true;
	return false;
}

/* ------------------------------------------------------------ ConfigMap */

static void t_src_configmap_listed_once(void)
{
	static const char *const names[] = { "a.yaml", "b.yaml" };
	static const char *const texts[] = { NS("a"), NS("b") };
	struct pw_load_entry *v = NULL;
	struct pw_error err = { { 0 } };
	size_t n = 0;
	char want[96];

	setup();
	atomic_write(names, texts, 2);
	CHECK_EQ(pw_load_list_dir(src, &v, &n, &err), 0);
	CHECK_EQ(n, 2);   /* not ..data/a.yaml, not ..2026_.../a.yaml */
	snprintf(want, sizeof(want), "%s/a.yaml", src);
	CHECK(n == 2 && !strcmp(v[0].path, want) && S_ISREG(v[0].st.st_mode));
	pw_load_entries_free(v, n);
	teardown();
}

static void t_src_configmap_swap_reloads(void)
{
	static const char *const n1[] = { "a.yaml", "b.yaml" };
	static const char *const t1[] = { NS("a"), NS("b") };
	static const char *const n2[] = { "a.yaml", "c.yaml" };
	static const char *const t2[] = { NS("a2"), NS("c") };
	struct pw_filecache *fc;
	struct pw_cluster *c1, *c2;
	struct pw_error err = { { 0 } };
	int ret;

	setup();
	atomic_write(n1, t1, 2);
	fc = pw_filecache_new(src);
	c1 = fc_load(fc, &err, &ret, NULL);
	CHECK_EQ(ret, 0);
	CHECK(has_ns(c1, "a") && has_ns(c1, "b") && !has_ns(c1, "c"));
	CHECK_EQ(c1 ? c1->n_namespaces : 0, 2);
	/* a new version: a.yaml changed, b.yaml gone, c.yaml new */
	atomic_write(n2, t2, 2);
	c2 = fc_load(fc, &err, &ret, NULL);
	CHECK_EQ(ret, 0);
	CHECK(has_ns(c2, "a2") && has_ns(c2, "c") && !has_ns(c2, "a") && !has_ns(c2, "b"));
	CHECK_EQ(c2 ? c2->n_namespaces : 0, 2);
	/* the cluster handed out before stays whole (ASan) */
	CHECK(has_ns(c1, "b"));
	pw_cluster_free(c1);
	pw_cluster_free(c2);
	pw_filecache_free(fc);
	teardown();
}

static int drain(struct pw_watch *w)
{
	return pw_watch_drain(w);
}

static void t_src_watch_configmap_swap(void)
{
	static const char *const n1[] = { "a.yaml" };
	static const char *const t1[] = { NS("a") };
	static const char *const t2[] = { NS("a2") };
	struct pw_watch *w = NULL;
	char p[96];

	setup();
	atomic_write(n1, t1, 1);
	CHECK_EQ(pw_watch_open(src, &w), 0);
	if (!w) {
		teardown();
		return;
	}
	CHECK_EQ(drain(w), 0);
	/* an editor's swap file and a half-written version: no change yet */
	snprintf(p, sizeof(p), "%s/.a.yaml.swp", src);
	write_at(p, "x", 0600);
	snprintf(p, sizeof(p), "%s/..2026_11_23_99_99_99.000000000", src);
	CHECK_EQ(mkdir(p, 0755), 0);
	CHECK_EQ(drain(w), 0);
	rmdir(p);
	CHECK_EQ(drain(w), 0);
	/* the swap of ..data is the change (the visible a.yaml is untouched) */
	atomic_write(n1, t2, 1);
	CHECK_EQ(drain(w), 2);   /* a settled change: ..data moved in */
	CHECK_EQ(drain(w), 0);
	pw_watch_close(w);
	teardown();
}

/* --source DIR/a.yaml, a symlink through ..data: the swap counts too */
static void t_src_watch_file_source_through_data(void)
{
	static const char *const n1[] = { "a.yaml", "b.yaml" };
	static const char *const t1[] = { NS("a"), NS("b") };
	static const char *const t2[] = { NS("a2"), NS("b") };
	struct pw_watch *w = NULL;
	char p[96];

	setup();
	atomic_write(n1, t1, 2);
	snprintf(p, sizeof(p), "%s/a.yaml", src);
	CHECK_EQ(pw_watch_open(p, &w), 0);
	if (!w) {
		teardown();
		return;
	}
	CHECK_EQ(drain(w), 0);
	atomic_write(n1, t2, 2);
	CHECK_EQ(drain(w), 2);   /* a settled change: ..data moved in */
	pw_watch_close(w);
	teardown();
}

/* ------------------------------------------------------------ permissions */

static void t_src_perm_clean_is_quiet(void)
{
	struct pw_filecache *fc;
	struct pw_cluster *c;
	struct pw_error err = { { 0 } };
	char p[96], *out = NULL;
	int ret;

	setup();
	snprintf(p, sizeof(p), "%s/ns.yaml", src);
	write_at(p, NS("a"), 0644);
	fc = pw_filecache_new(src);
	c = fc_load(fc, &err, &ret, &out);
	CHECK_EQ(ret, 0);
	CHECK(out && !strstr(out, "warning"));
	free(out);
	pw_cluster_free(c);
	pw_filecache_free(fc);
	teardown();
}

static void t_src_perm_writable_dir_warns_once(void)
{
	struct pw_filecache *fc;
	struct pw_cluster *c;
	struct pw_error err = { { 0 } };
	char p[96], want[168], *out = NULL;
	int ret;

	setup();
	snprintf(p, sizeof(p), "%s/ns.yaml", src);
	write_at(p, NS("a"), 0644);
	chmod(src, 0775);
	fc = pw_filecache_new(src);
	c = fc_load(fc, &err, &ret, &out);
	CHECK_EQ(ret, 0);   /* a warning, not a refusal */
	CHECK(c && c->n_namespaces == 1);
	snprintf(want, sizeof(want), "podwall: warning: the source directory %s is writable by "
		 "its group (mode 0775): whoever can change it", src);
	CHECK_STR_CONTAINS(out, want);
	free(out);
	pw_cluster_free(c);
	/* the next load: not again */
	c = fc_load(fc, &err, &ret, &out);
	CHECK(out && !strstr(out, "warning"));
	free(out);
	pw_cluster_free(c);
	/* made worse: again */
	chmod(src, 0777);
	c = fc_load(fc, &err, &ret, &out);
	CHECK_STR_CONTAINS(out, "is writable by group and others (mode 0777)");
	free(out);
	pw_cluster_free(c);
	pw_filecache_free(fc);
	teardown();
}

static void t_src_perm_manifest_owner_and_mode(void)
{
	struct pw_filecache *fc;
	struct pw_cluster *c;
	struct pw_error err = { { 0 } };
	char p[96], q[96], want[168], *out = NULL;
	int ret;

	setup();
	snprintf(p, sizeof(p), "%s/a.yaml", src);
	write_at(p, NS("a"), 0644);
	snprintf(q, sizeof(q), "%s/b.yaml", src);
	write_at(q, NS("b"), 0646);
	chmod(q, 0646);
	fc = pw_filecache_new(src);
	if (geteuid() == 0) {
		CHECK_EQ(chown(p, 54321, 54321), 0);
	}
	c = fc_load(fc, &err, &ret, &out);
	CHECK_EQ(ret, 0);
	CHECK(c && c->n_namespaces == 2);
	if (geteuid() == 0) {
		snprintf(want, sizeof(want), "the manifest %s is owned by uid 54321, neither root "
			 "nor this agent's uid 0", p);
		CHECK_STR_CONTAINS(out, want);
	}
	snprintf(want, sizeof(want), "warning: the manifest %s is writable by others (mode 0646)",
		 q);
	CHECK_STR_CONTAINS(out, want);
	free(out);
	pw_cluster_free(c);
	pw_filecache_free(fc);
	teardown();
}

/* an ancestor writable by others lets them swap the whole source; with the
 * sticky bit (as /tmp) it does not, the source being ours */
static void t_src_perm_ancestors(void)
{
	struct pw_filecache *fc;
	struct pw_cluster *c;
	struct pw_error err = { { 0 } };
	char p[96], want[168], *out = NULL;
	int ret;

	setup();
	snprintf(p, sizeof(p), "%s/ns.yaml", src);
	write_at(p, NS("a"), 0644);
	chmod(top, 0777);
	fc = pw_filecache_new(src);
	c = fc_load(fc, &err, &ret, &out);
	CHECK_EQ(ret, 0);
	snprintf(want, sizeof(want), "warning: the directory above the source, %s is writable "
		 "by group and others (mode 0777)", top);
	CHECK_STR_CONTAINS(out, want);
	free(out);
	pw_cluster_free(c);
	pw_filecache_free(fc);

	chmod(top, 01777);
	fc = pw_filecache_new(src);
	c = fc_load(fc, &err, &ret, &out);
	CHECK(out && !strstr(out, "warning"));
	free(out);
	pw_cluster_free(c);
	pw_filecache_free(fc);
	chmod(top, 0700);
	teardown();
}

/* a manifest that is a symlink into a directory others can write */
static void t_src_perm_symlink_target_dir(void)
{
	struct pw_filecache *fc;
	struct pw_cluster *c;
	struct pw_error err = { { 0 } };
	char ev[64], p[96], lnk[96], want[168], *out = NULL;
	int ret;

	setup();
	snprintf(ev, sizeof(ev), "%s/shared", top);
	CHECK_EQ(mkdir(ev, 0777), 0);
	chmod(ev, 0777);
	snprintf(p, sizeof(p), "%s/ns.yaml", ev);
	write_at(p, NS("a"), 0644);
	snprintf(lnk, sizeof(lnk), "%s/ns.yaml", src);
	CHECK_EQ(symlink(p, lnk), 0);
	fc = pw_filecache_new(src);
	c = fc_load(fc, &err, &ret, &out);
	CHECK_EQ(ret, 0);
	snprintf(want, sizeof(want), "links into, %s is writable by group and others (mode 0777)",
		 ev);
	CHECK_STR_CONTAINS(out, want);
	free(out);
	pw_cluster_free(c);
	pw_filecache_free(fc);
	teardown();
}

/* a ConfigMap volume's directory is kubelet's emptyDir, 0777: the warning
 * says so */
static void t_src_perm_kubelet_volume(void)
{
	static const char *const n1[] = { "a.yaml" };
	static const char *const t1[] = { NS("a") };
	struct pw_filecache *fc;
	struct pw_cluster *c;
	struct pw_error err = { { 0 } };
	char *out = NULL;
	int ret;

	setup();
	atomic_write(n1, t1, 1);
	chmod(src, 0777);
	fc = pw_filecache_new(src);
	c = fc_load(fc, &err, &ret, &out);
	CHECK_EQ(ret, 0);
	CHECK_STR_CONTAINS(out, "is writable by group and others (mode 0777)");
	CHECK_STR_CONTAINS(out, "a ConfigMap volume's directory is kubelet's (an emptyDir, 0777)");
	/* the manifests and the timestamped directory are fine */
	CHECK(out && !strstr(out, "the manifest") && !strstr(out, "links into"));
	free(out);
	pw_cluster_free(c);
	pw_filecache_free(fc);
	teardown();
}

int suite_source(void)
{
	RUN(t_src_configmap_listed_once);
	RUN(t_src_configmap_swap_reloads);
	RUN(t_src_watch_configmap_swap);
	RUN(t_src_watch_file_source_through_data);
	RUN(t_src_perm_clean_is_quiet);
	RUN(t_src_perm_writable_dir_warns_once);
	RUN(t_src_perm_manifest_owner_and_mode);
	RUN(t_src_perm_ancestors);
	RUN(t_src_perm_symlink_target_dir);
	RUN(t_src_perm_kubelet_volume);
	return check_summary();
}
