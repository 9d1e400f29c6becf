/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The per-file parse cache (agent/k8s/filecache.c): the cluster it builds is
 * the one pw_cluster_load_path + pw_cluster_finish build, errors included;
 * only changed files are parsed again; a failed load changes nothing; a
 * cluster handed out stays valid whatever the cache does next, and for as
 * long as a reference on it lives, on any thread (ASan).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "k8s/internal.h"
#include "util.h"

static char dir[64];

static void mkdir_tmp(void)
{
	snprintf(dir, sizeof(dir), "/tmp/pw-fc-test.XXXXXX");
	if (!mkdtemp(dir))
		dir[0] = 0;
}

static int rm_cb(const char *p, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	return type == FTW_DP ? rmdir(p) : unlink(p);
}

static void rm_tmp(void)
{
	if (dir[0])
		nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

/* Write dir/name: by rename (a new inode) or in place (same inode). */
static void put_file(const char *name, const char *text, bool in_place)
{
	char path[256], tmp[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	fd = open(in_place ? path : tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		fprintf(stderr, "short write\n");
	close(fd);
	if (!in_place)
		rename(tmp, path);
}

static void del_file(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

/* pw_cluster_load_path + pw_cluster_finish on dir, as the agent did. */
static struct pw_cluster *plain_load(const char *src, struct pw_error *err, int *ret)
{
	struct pw_cluster *c = pw_cluster_new();

	t_capture_begin();
	*ret = pw_cluster_load_path(c, src, err);
	free(t_capture_end());
	if (!*ret)
		*ret = pw_cluster_finish(c, err);
	if (*ret) {
		pw_cluster_free(c);
		return NULL;
	}
	return c;
}

static struct pw_cluster *fc_load(struct pw_filecache *fc, struct pw_filecache_stats *st,
				  struct pw_error *err, int *ret)
{
	struct pw_cluster *c = NULL;

	t_capture_begin();
	*ret = pw_filecache_load(fc, &c, st, err);
	free(t_capture_end());
	return c;
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool loc_eq(const struct pw_loc *a, const struct pw_loc *b)
{
	return str_eq(a->file, b->file) && a->line == b->line;
}

static bool labels_eq(const struct pw_labels *a, const struct pw_labels *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!str_eq(a->v[i].key, b->v[i].key) || !str_eq(a->v[i].value, b->v[i].value))
			return false;
	return true;
}

/* Same objects, in the same order, from the same places. */
static bool cluster_eq(const struct pw_cluster *a, const struct pw_cluster *b)
{
	if (a->n_namespaces != b->n_namespaces || a->n_pods != b->n_pods ||
	    a->n_policies != b->n_policies || a->n_services != b->n_services)
		return false;
	for (size_t i = 0; i < a->n_namespaces; i++) {
		const struct pw_namespace *x = &a->namespaces[i], *y = &b->namespaces[i];

		if (!str_eq(x->name, y->name) || !labels_eq(&x->labels, &y->labels) ||
		    x->audit != y->audit || !loc_eq(&x->loc, &y->loc))
			return false;
	}
	for (size_t i = 0; i < a->n_pods; i++) {
		const struct pw_pod *x = &a->pods[i], *y = &b->pods[i];

		if (!str_eq(x->ns, y->ns) || !str_eq(x->name, y->name) ||
		    !labels_eq(&x->labels, &y->labels) || x->n_ips != y->n_ips ||
		    memcmp(x->ips, y->ips, sizeof(x->ips)) || !str_eq(x->host_veth, y->host_veth) ||
		    x->n_ports != y->n_ports || !loc_eq(&x->loc, &y->loc))
			return false;
	}
	for (size_t i = 0; i < a->n_policies; i++) {
		const struct pw_policy *x = &a->policies[i], *y = &b->policies[i];

		if (!str_eq(x->ns, y->ns) || !str_eq(x->name, y->name) ||
		    x->n_rules[0] != y->n_rules[0] || x->n_rules[1] != y->n_rules[1] ||
		    x->types[0] != y->types[0] || x->types[1] != y->types[1] ||
		    !loc_eq(&x->loc, &y->loc))
			return false;
	}
	for (size_t i = 0; i < a->n_services; i++)
		if (!str_eq(a->services[i].ns, b->services[i].ns) ||
		    !str_eq(a->services[i].name, b->services[i].name) ||
		    !loc_eq(&a->services[i].loc, &b->services[i].loc))
			return false;
	return true;
}

/* ... and the same compiled state (every pod local). */
static bool compiled_eq(const struct pw_cluster *a, const struct pw_cluster *b)
{
	struct pw_state sa = { 0 }, sb = { 0 };
	struct pw_error err;
	bool eq;

	if (pw_compile(a, NULL, &sa, &err) || pw_compile(b, NULL, &sb, &err)) {
		pw_state_free(&sa);
		pw_state_free(&sb);
		return false;
	}
	eq = sa.n_eps == sb.n_eps && sa.n_ipc == sb.n_ipc && sa.n_pol == sb.n_pol &&
	     sa.n_ids == sb.n_ids && sa.n_rules == sb.n_rules &&
	     !memcmp(sa.eps, sb.eps, sa.n_eps * sizeof(*sa.eps)) &&
	     !memcmp(sa.ipc, sb.ipc, sa.n_ipc * sizeof(*sa.ipc)) &&
	     !memcmp(sa.pol, sb.pol, sa.n_pol * sizeof(*sa.pol)) &&
	     !memcmp(sa.ids, sb.ids, sa.n_ids * sizeof(*sa.ids)) &&
	     !memcmp(sa.rules, sb.rules, sa.n_rules * sizeof(*sa.rules));
	pw_state_free(&sa);
	pw_state_free(&sb);
	return eq;
}

static const char ns_yaml[] =
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {team: x}}\n"
	"---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n";
static const char pods_yaml[] =
	"apiVersion: v1\nkind: List\nitems:\n"
	"- {apiVersion: v1, kind: Pod, metadata: {name: web, namespace: a, labels: {app: web}},\n"
	"   spec: {containers: [{name: c, ports: [{name: http, containerPort: 80}]}]},\n"
	"   status: {podIP: 10.0.0.1}}\n"
	"- {apiVersion: v1, kind: Pod, metadata: {name: db, namespace: c, labels: {app: db}},\n"
	"   status: {podIP: 10.0.0.2}}\n"
	"- {apiVersion: v1, kind: ConfigMap, metadata: {name: skipped}}\n";
static const char pol_yaml[] =
	"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {name: allow-web, namespace: a}\n"
	"spec:\n  podSelector: {matchLabels: {app: web}}\n"
	"  ingress:\n  - from:\n    - namespaceSelector: {}\n    ports:\n    - port: http\n"
	"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {name: deny, namespace: d}\nspec: {podSelector: {}}\n";
/* a namespace that pods of another file are in, a service */
static const char late_yaml[] =
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: c, labels: {team: y}}\n"
	"---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: a}\n"
	"spec: {clusterIP: 10.96.0.1, selector: {app: web}, ports: [{port: 80}]}\n";

static void write_all(void)
{
	put_file("10-ns.yaml", ns_yaml, false);
	put_file("20-pods.yml", pods_yaml, false);
	put_file("30-pol.json.yaml", pol_yaml, false);
	put_file("40-late.yaml", late_yaml, false);
	put_file("README.txt", "not a manifest", false);
	put_file(".hidden.yaml", "{{{ not read", false);
}

/* The cache and the plain loader agree on dir as it is now. Returns the
 * plain loader's error (0 if it loaded). */
static int check_agree(struct pw_filecache *fc, struct pw_filecache_stats *st)
{
	struct pw_error e1 = { { 0 } }, e2 = { { 0 } };
	int r1, r2;
	struct pw_cluster *a = plain_load(dir, &e1, &r1);
	struct pw_cluster *b = fc_load(fc, st, &e2, &r2);

	CHECK_EQ(r1, r2);
	if (r1 || r2) {
		CHECK(!strcmp(e1.msg, e2.msg));
		CHECK(!a && !b);
	} else {
		CHECK(a && b && cluster_eq(a, b));
		CHECK(a && b && compiled_eq(a, b));
	}
	pw_cluster_free(a);
	pw_cluster_free(b);
	return r1;
}

static void t_fc_same_as_plain_load(void)
{
	struct pw_filecache *fc;
	struct pw_filecache_stats st;

	mkdir_tmp();
	write_all();
	fc = pw_filecache_new(dir);
	CHECK(fc);
	check_agree(fc, &st);
	CHECK_EQ(st.files, 4);
	CHECK_EQ(st.parsed, 4);
	/* again, nothing changed */
	check_agree(fc, &st);
	CHECK_EQ(st.parsed, 0);
	CHECK_EQ(st.reused + st.verified, 4);
	pw_filecache_free(fc);
	rm_tmp();
}

static void t_fc_parses_only_what_changed(void)
{
	struct pw_filecache *fc;
	struct pw_filecache_stats st;

	mkdir_tmp();
	write_all();
	fc = pw_filecache_new(dir);
	pw_filecache_racy_window(fc, -1); /* trust stat alone */
	check_agree(fc, &st);
	check_agree(fc, &st);
	CHECK_EQ(st.reused, 4);
	CHECK_EQ(st.verified, 0);

	put_file("20-pods.yml", "apiVersion: v1\nkind: Pod\nmetadata: {name: solo, namespace: a}\n"
		 "status: {podIP: 10.0.0.9}\n", false);
	check_agree(fc, &st);
	CHECK_EQ(st.parsed, 1);
	CHECK_EQ(st.reused, 3);

	/* a new file, a file gone */
	put_file("25-more.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: extra, namespace: e}\n"
		 "status: {podIP: 10.0.0.10}\n", false);
	del_file("40-late.yaml");
	check_agree(fc, &st);
	CHECK_EQ(st.files, 4);
	CHECK_EQ(st.parsed, 1);
	CHECK_EQ(st.reused, 3);
	pw_filecache_free(fc);
	rm_tmp();
}

/* A rewrite in place, same size, within the same clock tick as the read:
 * stat may not tell; the racy check reads it again. */
static void t_fc_racy_rewrite_in_place(void)
{
	struct pw_filecache *fc;
	struct pw_filecache_stats st;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c;
	char a[200], b[200];
	int r;

	mkdir_tmp();
	snprintf(a, sizeof(a), "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x}\n"
		 "status: {podIP: 10.0.0.1}\n");
	snprintf(b, sizeof(b), "apiVersion: v1\nkind: Pod\nmetadata: {name: q, namespace: x}\n"
		 "status: {podIP: 10.0.0.1}\n");
	put_file("p.yaml", a, true);
	fc = pw_filecache_new(dir);
	c = fc_load(fc, &st, &err, &r);
	CHECK(c && c->n_pods == 1 && !strcmp(c->pods[0].name, "p"));
	pw_cluster_free(c);
	put_file("p.yaml", b, true);
	c = fc_load(fc, &st, &err, &r);
	CHECK(c && c->n_pods == 1 && !strcmp(c->pods[0].name, "q"));
	CHECK_EQ(st.parsed, 1);
	pw_cluster_free(c);
	/* the same bytes again: read and compared, not parsed */
	put_file("p.yaml", b, true);
	c = fc_load(fc, &st, &err, &r);
	CHECK(c && c->n_pods == 1 && !strcmp(c->pods[0].name, "q"));
	CHECK_EQ(st.parsed, 0);
	CHECK_EQ(st.verified, 1);
	pw_cluster_free(c);
	pw_filecache_free(fc);
	rm_tmp();
}

/* A bad file: the plain loader's error, the cache untouched, and the
 * cluster in force (from before) still whole. */
static void t_fc_error_changes_nothing(void)
{
	struct pw_filecache *fc;
	struct pw_filecache_stats st;
	struct pw_error err = { { 0 } };
	struct pw_cluster *cur, *c;
	int r;

	mkdir_tmp();
	write_all();
	fc = pw_filecache_new(dir);
	pw_filecache_racy_window(fc, -1);
	cur = fc_load(fc, &st, &err, &r);
	CHECK(cur);

	/* a good change and a bad one in the same load */
	put_file("10-ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: z}\n", false);
	put_file("30-pol.json.yaml", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		 "metadata: {name: bad, namespace: a}\nspec:\n  podSelector: {}\n"
		 "  ingress:\n  - ports:\n    - port: 70000\n", false);
	check_agree(fc, &st);
	c = fc_load(fc, &st, &err, &r);
	CHECK(!c && r == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "30-pol.json.yaml:8: spec.ingress[0].ports[0].port:");
	/* the cluster in force is untouched */
	CHECK(cur && cur->n_namespaces == 4 && cur->n_policies == 2 &&
	      !strcmp(cur->policies[0].name, "allow-web"));

	/* a duplicate across files: the same error as the plain loader */
	put_file("30-pol.json.yaml", pol_yaml, false);
	put_file("50-dup.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: a}\n",
		 false);
	check_agree(fc, &st);
	c = fc_load(fc, &st, &err, &r);
	CHECK(!c);
	CHECK_STR_CONTAINS(err.msg, "duplicate pod a/web");

	/* fixed: the good change of before is there too */
	del_file("50-dup.yaml");
	check_agree(fc, &st);
	c = fc_load(fc, &st, &err, &r);
	CHECK(c && pw_cluster_namespace(c, "z") && !pw_cluster_namespace(c, "b"));
	CHECK_EQ(st.parsed, 0);   /* the last check_agree parsed them */
	/* the old cluster outlives the files it came from */
	pw_cluster_free(c);
	pw_filecache_free(fc);
	CHECK(cur && !strcmp(cur->namespaces[0].name, "a") &&
	      !strcmp(cur->namespaces[0].labels.v[1].value, "x"));
	pw_cluster_free(cur);
	rm_tmp();
}

/* Read a cluster held by a reference and drop it: the state-file writer's part. */
static void *read_and_drop(void *arg)
{
	struct pw_cluster *c = arg;
	bool ok = c->n_namespaces == 4 && !strcmp(c->namespaces[0].name, "a") &&
		  !strcmp(c->namespaces[0].labels.v[1].value, "x");

	pw_cluster_free(c);
	return ok ? c : NULL;
}

/* A reference (pw_cluster_ref) keeps a cluster whole after its owner and the
 * cache let go of it and of its files, and the last one may be dropped on
 * another thread: ASan sees no use after free and no leak. */
static void t_fc_ref_outlives_owner(void)
{
	struct pw_filecache *fc;
	struct pw_filecache_stats st;
	struct pw_error err = { { 0 } };
	struct pw_cluster *cur, *c, *ref;
	pthread_t th;
	void *res = NULL;
	int r;

	CHECK(!pw_cluster_ref(NULL));
	mkdir_tmp();
	write_all();
	fc = pw_filecache_new(dir);
	pw_filecache_racy_window(fc, -1);
	cur = fc_load(fc, &st, &err, &r);
	CHECK(cur);
	if (!cur) {
		pw_filecache_free(fc);
		rm_tmp();
		return;
	}
	ref = pw_cluster_ref(cur);
	CHECK(ref == cur);
	/* a file replaced, one removed: the cache lets go of what cur points into */
	put_file("10-ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: z}\n", false);
	del_file("30-pol.json.yaml");
	c = fc_load(fc, &st, &err, &r);
	pw_cluster_free(c);
	pw_filecache_free(fc);
	pw_cluster_free(cur);           /* the owner's reference */
	CHECK(!pthread_create(&th, NULL, read_and_drop, ref));
	pthread_join(th, &res);
	CHECK(res == ref);
	rm_tmp();
}

static void t_fc_file_source_and_missing(void)
{
	struct pw_filecache *fc;
	struct pw_filecache_stats st;
	char path[128];

	mkdir_tmp();
	put_file("one.yaml", pods_yaml, false);
	snprintf(path, sizeof(path), "%s/one.yaml", dir);
	fc = pw_filecache_new(path);
	{
		struct pw_error e1 = { { 0 } }, e2 = { { 0 } };
		int r1, r2;
		struct pw_cluster *a = plain_load(path, &e1, &r1);
		struct pw_cluster *b = fc_load(fc, &st, &e2, &r2);

		CHECK(a && b && cluster_eq(a, b));
		CHECK_EQ(st.files, 1);
		pw_cluster_free(a);
		pw_cluster_free(b);
		del_file("one.yaml");
		a = plain_load(path, &e1, &r1);
		b = fc_load(fc, &st, &e2, &r2);
		CHECK(!a && !b && r1 == -ENOENT && r2 == -ENOENT && !strcmp(e1.msg, e2.msg));
	}
	pw_filecache_free(fc);
	rm_tmp();
}

/*
 * Files' objects are merged in key order (filecache.c concat): random
 * files of pods, policies and namespaces (a namespace defined in several
 * files: the last wins; now and then one pod in two files: the loader's
 * error), few files (merged) and many (sorted whole), edited at random:
 * the cache agrees with the plain loader after every edit, objects, their
 * order (file:line) and errors.
 */
static void t_fc_merge_random(void)
{
	struct pw_filecache_stats st;
	unsigned seed = 12345;
	int n_err = 0;

	for (int round = 0; round < 2; round++) {
		int n_files = round ? 14 : 5; /* 14 > FC_MERGE_MAX_RUNS */
		struct pw_filecache *fc;

		mkdir_tmp();
		fc = pw_filecache_new(dir);
		CHECK(fc);
		for (int step = 0; fc && step < 40; step++) {
			for (int f = 0; f < n_files; f++) {
				char name[32], text[8192];
				size_t o = 0;
				int n_obj;

				if (step && rand_r(&seed) % 3)
					continue; /* most files stay as they were */
				snprintf(name, sizeof(name), "%02d-f.yaml", f);
				n_obj = (int)(rand_r(&seed) % 12);
				for (int i = 0; i < n_obj && o < sizeof(text) - 512; i++) {
					unsigned r = rand_r(&seed), ns = r % 4, id = (r >> 4) % 40;

					if (r % 7 == 0)
						o += (size_t)snprintf(text + o, sizeof(text) - o,
							"---\napiVersion: v1\nkind: Namespace\nmetadata: "
							"{name: ns%u, labels: {v: f%d-%d}}\n", ns, f, i);
					else if (r % 5 == 0)
						o += (size_t)snprintf(text + o, sizeof(text) - o,
							"---\napiVersion: networking.k8s.io/v1\nkind: "
							"NetworkPolicy\nmetadata: {name: p%u-%d-%d, "
							"namespace: ns%u}\nspec: {podSelector: {}}\n",
							id, f, i, ns);
					else
						/* unique unless r says so: then maybe in two files */
						o += (size_t)snprintf(text + o, sizeof(text) - o,
							"---\napiVersion: v1\nkind: Pod\nmetadata: "
							"{name: pod%u-%d, namespace: ns%u, labels: {app: "
							"a%u}}\nstatus: {podIP: 10.%d.%d.%u}\n",
							r % 61 == 0 ? id % 2 : id,
							r % 61 == 0 ? 0 : f * 100 + i, ns, id % 3, f, i,
							id + 1);
				}
				text[o] = 0;
				put_file(name, text, false);
			}
			n_err += check_agree(fc, &st) != 0;
		}
		pw_filecache_free(fc);
		rm_tmp();
	}
	/* some steps made a pod twice: both loaders gave the same error */
	CHECK(n_err > 0 && n_err < 80);
}

int suite_filecache(void)
{
	RUN(t_fc_same_as_plain_load);
	RUN(t_fc_parses_only_what_changed);
	RUN(t_fc_racy_rewrite_in_place);
	RUN(t_fc_error_changes_nothing);
	RUN(t_fc_file_source_and_missing);
	RUN(t_fc_ref_outlives_owner);
	RUN(t_fc_merge_random);
	return check_n_fail;
}
