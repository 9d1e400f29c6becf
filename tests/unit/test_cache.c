/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The compile cache (compiler.h, agent/compiler/cache.c): over a sequence of
 * edits of a source directory loaded through the file cache, as the agent
 * does, a compile with the cache gives the same state as one without; pods
 * of unchanged files are not read again; a cluster freed meanwhile does not
 * fool it (the cache holds a reference: with ASan's quarantine, addresses do
 * not come back soon, so t_cache_holds_its_cluster checks the reference
 * itself); a failed compile leaves it as it was; a cluster it cannot
 * reference leaves no addresses in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "compiler.h"
#include "util.h"

static char dir[64];

static int rm_cb(const char *p, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	return type == FTW_DP ? rmdir(p) : unlink(p);
}

static bool same_state(const struct pw_state *a, const struct pw_state *b)
{
	return a->n_eps == b->n_eps && a->n_ipc == b->n_ipc && a->n_pol == b->n_pol &&
	       a->n_ids == b->n_ids && a->n_rules == b->n_rules &&
	       !memcmp(a->eps, b->eps, a->n_eps * sizeof(*a->eps)) &&
	       !memcmp(a->ipc, b->ipc, a->n_ipc * sizeof(*a->ipc)) &&
	       !memcmp(a->pol, b->pol, a->n_pol * sizeof(*a->pol)) &&
	       !memcmp(a->ids, b->ids, a->n_ids * sizeof(*a->ids)) &&
	       !memcmp(a->rules, b->rules, a->n_rules * sizeof(*a->rules));
}

static unsigned rnd_state = 77;

static unsigned rnd(unsigned n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

/* ------------------------------------------------------- the source */
#define N_FILES 6
#define MAX_PODS 48

struct tpod {
	bool     used;
	unsigned ns, app, tier, ver, ports, v6, id;
};

static struct tpod pods[N_FILES][MAX_PODS];
static bool file_gone[N_FILES];
static unsigned ipb_net, next_id, ns_team;

static const char *const nss[] = { "a", "bb", "ccc", "kube-system" };
static const char *const tiers[] = { "web", "api", "db" };
/* named ports in either order (the same key), renamed, moved, none */
static const char *const port_sets[] = {
	"[{name: http, containerPort: 8080}, {name: metrics, containerPort: 9090}]",
	"[{name: metrics, containerPort: 9090}, {name: http, containerPort: 8080}]",
	"[{name: http, containerPort: 8081}]",
	"[{containerPort: 8080}]",
	"[{name: dns, containerPort: 53, protocol: UDP}]",
};

struct sbuf {
	char  *p;
	size_t n, cap;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (b->n + (size_t)n + 1 > b->cap) {
		size_t cap = (b->cap + (size_t)n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p)
			return;
		b->p = p;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
	va_end(ap);
	b->n += (size_t)n;
}

/* Write dir/name by rename (a new inode, as editors and kubectl-style
 * tools do), so that the file cache sees the change. */
static void put_file(const char *name, const struct sbuf *b)
{
	char path[256], tmp[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return;
	if (b->n && write(fd, b->p, b->n) != (ssize_t)b->n)
		fprintf(stderr, "short write\n");
	close(fd);
	rename(tmp, path);
}

static void write_pods(unsigned f)
{
	struct sbuf b = { 0 };
	char name[32];

	snprintf(name, sizeof(name), "1%u-pods.yaml", f);
	if (file_gone[f]) {
		char path[256];

		snprintf(path, sizeof(path), "%s/%s", dir, name);
		unlink(path);
		return;
	}
	sb_printf(&b, "# pods of file %u\n", f);
	for (unsigned i = 0; i < MAX_PODS; i++) {
		const struct tpod *p = &pods[f][i];

		if (!p->used)
			continue;
		sb_printf(&b, "---\nkind: Pod\nmetadata:\n  name: p%u\n  namespace: %s\n"
			  "  labels: {app: a%u, tier: %s%s}\n", p->id, nss[p->ns], p->app,
			  tiers[p->tier], p->ver ? ", version: v2" : "");
		sb_printf(&b, "spec: {containers: [{name: c, ports: %s}]}\n", port_sets[p->ports]);
		if (p->v6)
			sb_printf(&b, "status: {podIPs: [{ip: 10.0.%u.%u}, {ip: 'fd00::%u:%u'}]}\n",
				  f, i + 1, f, i + 1);
		else
			sb_printf(&b, "status: {podIP: 10.0.%u.%u}\n", f, i + 1);
	}
	put_file(name, &b);
	free(b.p);
}

static void write_ns(void)
{
	struct sbuf b = { 0 };

	for (unsigned i = 0; i < 4; i++)
		sb_printf(&b, "---\nkind: Namespace\nmetadata: {name: %s, labels: {team: t%u}}\n",
			  nss[i], (i + ns_team) % 2);
	put_file("00-ns.yaml", &b);
	free(b.p);
}

static void write_policies(void)
{
	struct sbuf b = { 0 };

	/* an ipBlock over some pods (they change CIDR group with it), with a
	 * hole; a named port each way; a namespace selector; a default deny */
	sb_printf(&b, "kind: NetworkPolicy\nmetadata: {name: ipb, namespace: a}\n"
		  "spec:\n  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.%u.0/24, "
		  "except: [10.0.%u.16/28]}}, {ipBlock: {cidr: 'fd00::%u:0/112'}}], "
		  "ports: [{port: 80, endPort: 90}]}]\n---\n", ipb_net, ipb_net, ipb_net);
	sb_printf(&b, "kind: NetworkPolicy\nmetadata: {name: web, namespace: bb}\n"
		  "spec:\n  podSelector: {matchLabels: {tier: web}}\n"
		  "  ingress: [{from: [{podSelector: {matchExpressions: [{key: app, operator: In, "
		  "values: [a1, a2]}]}}], ports: [{port: http}]}]\n---\n");
	sb_printf(&b, "kind: NetworkPolicy\nmetadata: {name: team, namespace: ccc}\n"
		  "spec:\n  podSelector: {matchLabels: {app: a0}}\n"
		  "  ingress: [{from: [{namespaceSelector: {matchLabels: {team: t1}}, "
		  "podSelector: {matchLabels: {tier: api}}}]}]\n"
		  "  egress: [{to: [{namespaceSelector: {}}], ports: [{port: metrics}]}, "
		  "{to: [{podSelector: {matchLabels: {tier: db}}}], ports: [{port: 5432}]}]\n---\n");
	sb_printf(&b, "kind: NetworkPolicy\nmetadata: {name: deny, namespace: kube-system}\n"
		  "spec: {podSelector: {matchExpressions: [{key: version, operator: DoesNotExist}]}, "
		  "policyTypes: [Ingress, Egress]}\n");
	put_file("20-policies.yaml", &b);
	free(b.p);
}

static void new_pod(struct tpod *p)
{
	*p = (struct tpod){ true, rnd(4), rnd(4), rnd(3), rnd(2), rnd(5), rnd(4) == 0,
			    next_id++ };
}

static void setup_source(void)
{
	snprintf(dir, sizeof(dir), "/tmp/pw-cc-test.XXXXXX");
	if (!mkdtemp(dir)) {
		dir[0] = 0;
		return;
	}
	memset(pods, 0, sizeof(pods));
	memset(file_gone, 0, sizeof(file_gone));
	next_id = ipb_net = ns_team = 0;
	for (unsigned f = 0; f < N_FILES; f++) {
		for (unsigned i = 0; i < MAX_PODS / 2; i++)
			new_pod(&pods[f][i]);
		write_pods(f);
	}
	write_ns();
	write_policies();
}

/* One random edit of the source; returns the file it changed, or -1. */
static int edit(void)
{
	unsigned f = rnd(N_FILES), i = rnd(MAX_PODS);
	struct tpod *p = &pods[f][i];

	switch (rnd(11)) {
	case 0:   /* relabel */
		if (!p->used)
			new_pod(p);
		p->app = rnd(4);
		p->ver ^= 1;
		break;
	case 1:   /* add or remove */
		if (p->used)
			p->used = false;
		else
			new_pod(p);
		break;
	case 2:   /* named ports */
		if (!p->used)
			new_pod(p);
		p->ports = rnd(5);
		break;
	case 3:   /* the ipBlock moves: pods change CIDR group, not objects */
		ipb_net = rnd(N_FILES);
		write_policies();
		return -1;
	case 4:   /* the same bytes again: new objects, the same prefixes */
		break;
	case 5:   /* a file goes, or comes back */
		file_gone[f] = !file_gone[f];
		break;
	case 6:   /* another file's pods copied in: equal prefixes, other addresses */
		for (unsigned k = 0; k < MAX_PODS; k++) {
			unsigned g = (f + 1) % N_FILES;

			if (pods[g][k].used && !pods[f][k].used) {
				pods[f][k] = pods[g][k];
				pods[f][k].id = next_id++;
			}
		}
		break;
	case 7:
		ns_team++;
		write_ns();
		return -1;
	case 8: { /* two pods trade addresses: the same ipcache keys, in another order */
		struct tpod *q = &pods[f][rnd(MAX_PODS)], t = *p;

		*p = *q;
		*q = t;
		break;
	}
	default:  /* nothing: every pod known */
		return -1;
	}
	write_pods(f);
	return (int)f;
}

static uint32_t every_third(void *ctx, const struct pw_pod *pod)
{
	(void)ctx;
	return pod->name[strlen(pod->name) - 1] % 3 == 0 ? 7 : 0;
}

static struct pw_cluster *fc_load(struct pw_filecache *fc)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = NULL;
	int ret;

	t_capture_begin();
	ret = pw_filecache_load(fc, &c, NULL, &err);
	free(t_capture_end());
	if (ret)
		fprintf(stderr, "load: %s\n", err.msg);
	return c;
}

/* compile c with and without the cache: the same state? */
static bool same_with_cache(const struct pw_cluster *c, struct pw_compile_cache *cc,
			    const struct pw_compile_opts *base)
{
	struct pw_compile_opts o = *base;
	struct pw_state a, b;
	struct pw_error err = { { 0 } };
	int ra, rb;
	bool same;

	o.cache = NULL;
	ra = pw_compile(c, &o, &a, &err);
	o.cache = cc;
	rb = pw_compile(c, &o, &b, &err);
	same = ra == 0 && rb == 0 && same_state(&a, &b);
	if (!ra)
		pw_state_free(&a);
	if (!rb)
		pw_state_free(&b);
	return same;
}

/*
 * Edits of a directory, each loaded through the file cache and compiled
 * with and without the compile cache: the same states all along. The
 * previous cluster is freed before the next load, so that only the cache's
 * reference keeps its memory (a reused address would show as a difference).
 */
static void t_cache_same_state_over_edits(void)
{
	struct pw_compile_cache *cc = pw_compile_cache_new();
	struct pw_filecache *fc;
	struct pw_compile_cache_stats st;
	struct pw_compile_opts o = { .is_local = every_third };
	int bad_step = -1, all_known = 0;

	setup_source();
	CHECK(dir[0] && cc);
	if (!dir[0] || !cc) {
		pw_compile_cache_free(cc);
		return;
	}
	fc = pw_filecache_new(dir);
	CHECK(fc != NULL);
	for (int step = 0; fc && step < 120; step++) {
		int changed = step ? edit() : -1;
		struct pw_cluster *c = fc_load(fc);
		size_t before;

		pw_compile_cache_stats(cc, &st);
		before = st.pods;
		if (!c || !same_with_cache(c, cc, &o)) {
			if (bad_step < 0)
				bad_step = step;
			pw_cluster_free(c);
			continue;
		}
		pw_compile_cache_stats(cc, &st);
		/* nothing changed but the policies or namespaces: every pod known */
		if (step && changed < 0 && st.reused == st.pods && st.pods == before)
			all_known++;
		if (step && changed < 0 && st.reused != st.pods && bad_step < 0)
			bad_step = 1000 + step;
		pw_cluster_free(c);
	}
	CHECK_EQ(bad_step, -1);
	CHECK(all_known > 10);
	pw_filecache_free(fc);
	pw_compile_cache_free(cc);
	nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

/*
 * Every round a new cluster of the same layout (as the API source builds
 * every time), the previous one freed first: its memory may come back for
 * the new objects, at the same addresses with other labels. None may be
 * taken for known (the cache's reference keeps the old memory from coming
 * back), and the states are the same: equal prefixes are found by content.
 */
static void t_cache_new_objects(void)
{
	struct pw_compile_cache *cc = pw_compile_cache_new();
	struct pw_compile_cache_stats st;
	struct pw_compile_opts o = { 0 };
	struct pw_error err = { { 0 } };

	CHECK(cc != NULL);
	for (unsigned round = 0; cc && round < 6; round++) {
		struct sbuf b = { 0 };
		struct pw_cluster *c;

		for (unsigned i = 0; i < 30; i++)
			sb_printf(&b, "---\nkind: Pod\nmetadata: {name: p%02u, namespace: n%u, labels: "
				  "{app: a%u}}\nstatus: {podIP: 10.9.0.%u}\n", i, i % 3,
				  (i + round / 2) % 4, i + 1);
		sb_printf(&b, "---\nkind: NetworkPolicy\nmetadata: {name: p, namespace: n1}\n"
			  "spec: {podSelector: {}, ingress: [{from: [{podSelector: {matchLabels: "
			  "{app: a1}}}]}]}\n");
		c = b.p ? t_load(b.p, &err, NULL) : NULL;
		CHECK(c && same_with_cache(c, cc, &o));
		pw_compile_cache_stats(cc, &st);
		CHECK_EQ(st.pods, 30);
		CHECK_EQ(st.reused, 0);
		pw_cluster_free(c);
		free(b.p);
	}
	pw_compile_cache_free(cc);
}

/* A compile that fails leaves the cache as it was; a cluster the cache
 * cannot hold a reference to leaves no address in it. */
static void t_cache_failure_and_unreferenced(void)
{
	static const char good[] =
		"kind: Pod\nmetadata: {name: a, namespace: n, labels: {app: x}}\n"
		"status: {podIP: 10.8.0.1}\n---\n"
		"kind: Pod\nmetadata: {name: b, namespace: n, labels: {app: y}}\n"
		"status: {podIP: 10.8.0.2}\n";
	/* b before a, not finished: pw_compile refuses it */
	static const char unsorted[] =
		"kind: Pod\nmetadata: {name: b, namespace: n, labels: {app: z}}\n"
		"status: {podIP: 10.8.0.2}\n---\n"
		"kind: Pod\nmetadata: {name: a, namespace: n, labels: {app: x}}\n"
		"status: {podIP: 10.8.0.1}\n";
	struct pw_compile_cache *cc = pw_compile_cache_new();
	struct pw_compile_cache_stats st;
	struct pw_compile_opts o = { .cache = cc };
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load(good, &err, NULL), *u = pw_cluster_new(), copy;
	struct pw_state s;

	CHECK(cc && c && u);
	if (!cc || !c || !u)
		goto out;
	CHECK(same_with_cache(c, cc, &o));
	pw_compile_cache_stats(cc, &st);
	CHECK_EQ(st.pods, 2);
	t_capture_begin();
	CHECK_EQ(pw_cluster_load_buffer(u, "u.yaml", unsorted, strlen(unsorted), &err), 0);
	free(t_capture_end());
	CHECK_EQ(pw_compile(u, &o, &s, &err), -EINVAL);
	pw_compile_cache_stats(cc, &st);
	CHECK_EQ(st.pods, 2);         /* as it was */
	CHECK(same_with_cache(c, cc, &o));
	pw_compile_cache_stats(cc, &st);
	CHECK_EQ(st.reused, 2);       /* the same objects */

	copy = *c;                    /* no arena: pw_cluster_ref cannot hold it */
	copy.arena = NULL;
	CHECK(same_with_cache(&copy, cc, &o));
	pw_compile_cache_stats(cc, &st);
	CHECK_EQ(st.pods, 0);
	CHECK(same_with_cache(c, cc, &o));
out:
	pw_cluster_free(u);
	pw_cluster_free(c);
	pw_compile_cache_free(cc);
}

/* The cache keeps the cluster of its last compile: the caller may let go
 * of it (ASan would see the reads below otherwise), and compile it again. */
static void t_cache_holds_its_cluster(void)
{
	static const char yaml[] =
		"kind: Pod\nmetadata: {name: a, namespace: n, labels: {app: x}}\n"
		"status: {podIP: 10.8.0.1}\n";
	struct pw_compile_cache *cc = pw_compile_cache_new();
	struct pw_compile_opts o = { .cache = cc };
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load(yaml, &err, NULL);
	struct pw_compile_cache_stats st;

	CHECK(cc && c);
	if (!cc || !c) {
		pw_cluster_free(c);
		pw_compile_cache_free(cc);
		return;
	}
	CHECK(same_with_cache(c, cc, &o));
	pw_cluster_free(c);   /* the cache's reference remains */
	CHECK(!strcmp(c->pods[0].name, "a") && !strcmp(c->pods[0].labels.v[0].value, "x"));
	CHECK(same_with_cache(c, cc, &o));
	pw_compile_cache_stats(cc, &st);
	CHECK_EQ(st.reused, 1);
	pw_compile_cache_free(cc);   /* and now it goes */
}

int suite_cache(void)
{
	RUN(t_cache_same_state_over_edits);
	RUN(t_cache_new_objects);
	RUN(t_cache_holds_its_cluster);
	RUN(t_cache_failure_and_unreferenced);
	return check_n_fail;
}
