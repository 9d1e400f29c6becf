/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Control-plane cost: how long the agent takes to turn objects into maps.
 *
 * 1. compile + load, in process: a generated cluster (pods over
 *    pods/100 namespaces, 20 apps x 3 tiers x 2 versions per namespace,
 *    `local_pods` of them on this node, policies of five shapes: pod
 *    selector, namespace AND pod selector with a named port, ipBlock with
 *    except and an endPort range, egress to pods and DNS, same-namespace)
 *    is written as YAML files, then timed: YAML -> objects (the loader),
 *    objects -> desired state (pw_compile), state -> empty private maps
 *    (pw_sync). Opening and verifying the BPF object is timed apart (it
 *    happens once when the agent starts, not per change).
 *
 * 2. change -> enforced, with the real agent: `podwall agent --source DIR`
 *    runs in a private network namespace whose stand-alone devices are the
 *    local pods' host veths (annotation podwall.io/host-veth), maps pinned
 *    in a pin dir of this run. Each change rewrites one small file of DIR
 *    (temp file + rename, as kubectl-style tools and editors do); the clock
 *    stops when the pinned config map's generation has moved and the live
 *    slot holds what the change asks for (the policy entry of the new port;
 *    the endpoint's isolation flag for a label change). The agent's own
 *    "applied ... in N ms" lines give the part after its debounce.
 *
 * 3. memory: memlock of every pinned map (as bpftool map show reports it,
 *    from the kernel's fdinfo), with its size, key and value sizes and the
 *    entries it holds, and the agent's RSS.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "compiler.h"
#include "model.h"
#include "state.h"
#include "podwall.skel.h"
#include "kernel/bpfobj.h"
#include "kernel/mapsync.h"
#include "kernel/netlink.h"
#include "bench/bench.h"

#define LOCAL_IFX_BASE 1000 /* made-up ifindexes of the in-process compile bench */

/* ------------------------------------------------------------- the files */

struct buf {
	char  *p;
	size_t n, cap;
	bool   oom;
};

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->p && b->n + (size_t)n < b->cap) {
			b->n += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 1 << 16;
		while (cap < b->n + (size_t)n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

/* Write a file atomically: DIR/.NAME.tmp, then rename (watchers see one event). */
static int write_file(const char *dir, const char *name, const struct buf *b)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int fd, err = 0;

	if (b->oom)
		return -ENOMEM;
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < b->n;) {
		ssize_t w = write(fd, b->p + off, b->n - off);

		if (w < 0) {
			err = -errno;
			break;
		}
		off += (size_t)w;
	}
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

static const char *const tiers[] = { "web", "api", "db" };

static size_t n_namespaces(size_t pods)
{
	size_t n = pods / 100;

	return n ? n : 1;
}

/* Pod i: namespace, labels, address 198.18.0.0/15 + i (+ 16 for the lat pods). */
static void pod_ip(size_t i, char *s, size_t len)
{
	uint32_t a = (198u << 24) | (18u << 16);

	a += 16 + (uint32_t)i;
	snprintf(s, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

/*
 * The cluster: namespaces, pods (every pods/local_pods-th is local, on
 * device pwl<k>) and policies. Returns the total bytes written.
 */
static int gen_cluster(const char *dir, size_t pods, size_t local_pods, size_t policies,
		       size_t *bytes)
{
	size_t nns = n_namespaces(pods), per_ns = (pods + nns - 1) / nns;
	size_t stride = local_pods ? pods / local_pods : 0;
	struct buf b = { 0 };
	int err;

	*bytes = 0;
	for (size_t i = 0; i < nns; i++)
		bprintf(&b, "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns-%03zu\n"
			"  labels: {kubernetes.io/metadata.name: ns-%03zu, team: team-%zu, env: %s}\n",
			i, i, i % 10, i % 4 ? "prod" : "staging");
	if ((err = write_file(dir, "00-namespaces.yaml", &b)))
		goto out;
	*bytes += b.n;
	b.n = 0;

	for (size_t i = 0; i < pods; i++) {
		size_t ns = i / per_ns, j = i % per_ns;
		char ip[32];

		pod_ip(i, ip, sizeof(ip));
		bprintf(&b, "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p-%05zu\n"
			"  namespace: ns-%03zu\n  labels: {app: app-%zu, tier: %s, version: v%zu}\n",
			i, ns, j % 20, tiers[j % 3], j % 2);
		/* one local pod per stride, at a varying place (so of varying labels) */
		if (stride && i / stride < local_pods && i % stride == (i / stride) * 37 % stride)
			bprintf(&b, "  annotations: {podwall.io/host-veth: pwl%zu}\n", i / stride);
		bprintf(&b, "spec:\n  containers:\n  - name: c\n    image: app\n    ports:\n"
			"    - {name: http, containerPort: 8080, protocol: TCP}\n"
			"    - {name: metrics, containerPort: 9090, protocol: TCP}\n"
			"status:\n  phase: Running\n  podIP: %s\n  podIPs: [{ip: %s}]\n", ip, ip);
	}
	if ((err = write_file(dir, "10-pods.yaml", &b)))
		goto out;
	*bytes += b.n;
	b.n = 0;

	for (size_t k = 0; k < policies; k++) {
		size_t ns = k % nns, q = k / nns;

		/* the app selected and the shape vary independently */
		bprintf(&b, "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
			"metadata:\n  name: np-%05zu\n  namespace: ns-%03zu\nspec:\n"
			"  podSelector: {matchLabels: {app: app-%zu}}\n", k, ns, (q * 7 + ns) % 20);
		switch ((q + ns / 20) % 5) {
		case 0: /* from the next app of the namespace, one port */
			bprintf(&b, "  ingress:\n  - from:\n    - podSelector: {matchLabels: {app: app-%zu}}\n"
				"    ports:\n    - {protocol: TCP, port: 8080}\n", (q + 1) % 20);
			break;
		case 1: /* from the web tier of a team's namespaces, a named port */
			bprintf(&b, "  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {team: team-%zu}}\n"
				"      podSelector: {matchLabels: {tier: web}}\n"
				"    ports:\n    - {protocol: TCP, port: http}\n", q % 10);
			break;
		case 2: /* from a CIDR with a hole, a port range */
			bprintf(&b, "  ingress:\n  - from:\n    - ipBlock: {cidr: 172.16.%zu.0/24, except: [172.16.%zu.128/25]}\n"
				"    ports:\n    - {protocol: TCP, port: 9000, endPort: 9100}\n",
				q % 256, q % 256);
			break;
		case 3: /* egress to the database tier and DNS */
			bprintf(&b, "  policyTypes: [Egress]\n  egress:\n  - to:\n"
				"    - podSelector: {matchLabels: {tier: db}}\n"
				"    ports:\n    - {protocol: TCP, port: 5432}\n"
				"  - ports:\n    - {protocol: UDP, port: 53}\n    - {protocol: TCP, port: 53}\n");
			break;
		default: /* anything in the namespace, metrics */
			bprintf(&b, "  ingress:\n  - from:\n    - podSelector: {}\n"
				"    ports:\n    - {protocol: TCP, port: metrics}\n");
			break;
		}
	}
	if ((err = write_file(dir, "20-policies.yaml", &b)))
		goto out;
	*bytes += b.n;
out:
	free(b.p);
	return err;
}

/* ------------------------------------------------------ compile + load */

static uint32_t local_by_annotation(void *ctx, const struct pw_pod *pod)
{
	unsigned k;

	(void)ctx;
	if (pod->host_veth && sscanf(pod->host_veth, "pwl%u", &k) == 1)
		return LOCAL_IFX_BASE + k;
	return 0;
}

static uint64_t fd_memlock(int fd)
{
	char path[64], line[256];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * A small change past the compile: one pod address gets another identity,
 * a different address each time (so that both slots differ from the
 * desired state, as in an agent between changes); the median of
 * SMALL_CHANGES syncs, each of which changes exactly one entry. With a
 * cache (mapsync.h), as the agent keeps one, or without, as apply syncs.
 */
#define SMALL_CHANGES 21

static int time_small_changes(struct podwall_bpf *obj, struct pw_state *st,
			      struct pw_sync_cache *cache, double *ms)
{
	struct pw_sync_opts so = { .cache = cache };
	struct pw_sync_stats ss;
	double v[SMALL_CHANGES];
	int err = 0, n = 0;

	if (!st->n_ipc)
		return 0;
	if (cache)
		err = pw_sync(obj, st, &so, &ss); /* fills it */
	for (; !err && n < SMALL_CHANGES; n++) {
		struct pw_state_ipc *e = &st->ipc[(size_t)n * 7919 % st->n_ipc];
		uint64_t t0;

		e->val.identity ^= 1;
		t0 = pwb_now_ns();
		err = pw_sync(obj, st, &so, &ss);
		v[n] = (pwb_now_ns() - t0) / 1e6;
		if (!err && (ss.changed != 1 || ss.cached != !!cache))
			err = -EPROTO; /* not the change meant: the figure would lie */
		if (err)
			break;
	}
	if (err)
		fprintf(stderr, "podwall bench: a one-entry change: %s\n",
			ss.error[0] ? ss.error : strerror(-err));
	*ms = n ? pwb_median(v, n) : 0;
	return err;
}

#define RECOMPILES 9

/*
 * The compile again, from scratch and with a compile cache (pods known),
 * in turns so that both see the same machine: medians of RECOMPILES, after
 * a first round that primes the cache.
 */
static int time_recompiles(const struct pw_cluster *c, const struct pw_compile_opts *opts,
			   double *again_ms, double *cached_ms)
{
	struct pw_compile_opts cached = *opts;
	double a[RECOMPILES], b[RECOMPILES];
	struct pw_error perr = { { 0 } };
	int err = 0;

	cached.cache = pw_compile_cache_new();
	if (!cached.cache)
		return -ENOMEM;
	for (int i = -1; i < RECOMPILES && !err; i++) {
		for (int k = 0; k < 2 && !err; k++) {
			struct pw_state st = { 0 };
			uint64_t t0 = pwb_now_ns();

			err = pw_compile(c, k ? &cached : opts, &st, &perr);
			if (i >= 0)
				(k ? b : a)[i] = (pwb_now_ns() - t0) / 1e6;
			pw_state_free(&st);
		}
	}
	pw_compile_cache_free(cached.cache);
	if (err) {
		fprintf(stderr, "podwall bench: compiling again: %s\n", perr.msg);
		return err;
	}
	*again_ms = pwb_median(a, RECOMPILES);
	*cached_ms = pwb_median(b, RECOMPILES);
	return 0;
}

static int bench_load(const char *root, size_t pods, size_t local_pods, size_t policies,
		      bool verbose, struct pwb_cl_load *l)
{
	struct pw_compile_opts copts = { .is_local = local_by_annotation };
	struct pw_cluster *c = NULL;
	struct pw_state st = { 0 };
	struct pw_sync_stats ss;
	struct pw_error perr = { { 0 } };
	struct podwall_bpf *obj = NULL;
	char dir[PATH_MAX];
	uint64_t t0, t1, t2, t3;
	int err;

	memset(l, 0, sizeof(*l));
	l->policies = policies;
	l->pods = pods;
	l->local_pods = local_pods;
	snprintf(dir, sizeof(dir), "%s/load-%zu", root, policies);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	err = gen_cluster(dir, pods, local_pods, policies, &l->yaml_bytes);
	if (err) {
		fprintf(stderr, "podwall bench: writing %s: %s\n", dir, strerror(-err));
		return err;
	}

	/* The BPF object first: opening and verifying it is the agent's start. */
	t0 = pwb_now_ns();
	err = pw_bpf_open(NULL, &obj, &perr);
	l->obj_load_ms = (pwb_now_ns() - t0) / 1e6;
	if (err) {
		fprintf(stderr, "podwall bench: loading the BPF object: %s\n", perr.msg);
		return err;
	}

	t0 = pwb_now_ns();
	c = pw_cluster_new();
	if (!c) {
		err = -ENOMEM;
		goto out;
	}
	err = pw_cluster_load_path(c, dir, &perr);
	if (!err)
		err = pw_cluster_finish(c, &perr);
	t1 = pwb_now_ns();
	if (err) {
		fprintf(stderr, "podwall bench: loading %s: %s\n", dir, perr.msg);
		goto out;
	}
	err = pw_compile(c, &copts, &st, &perr);
	t2 = pwb_now_ns();
	if (err) {
		fprintf(stderr, "podwall bench: compiling %s: %s\n", dir, perr.msg);
		goto out;
	}
	err = pw_sync(obj, &st, NULL, &ss);
	t3 = pwb_now_ns();
	if (err) {
		fprintf(stderr, "podwall bench: sync of %zu policies: %s\n", policies,
			ss.error[0] ? ss.error : strerror(-err));
		goto out;
	}
	l->parse_ms = (t1 - t0) / 1e6;
	l->compile_ms = (t2 - t1) / 1e6;
	l->sync_ms = (t3 - t2) / 1e6;
	l->total_ms = (t3 - t0) / 1e6;
	l->n_eps = st.n_eps;
	l->n_ipc = st.n_ipc;
	l->n_pol = st.n_pol;
	l->n_ids = st.n_ids;
	l->n_rules = st.n_rules;

	/* the same state again: what a no-op change costs past the compile */
	t0 = pwb_now_ns();
	err = pw_sync(obj, &st, NULL, &ss);
	l->resync_ms = (pwb_now_ns() - t0) / 1e6;
	if (!err)
		err = time_small_changes(obj, &st, NULL, &l->change_ms);
	/* the compile again, from scratch and with a compile cache: what a
	 * change that leaves the pods alone costs the agent */
	if (!err)
		err = time_recompiles(c, &copts, &l->compile_again_ms, &l->compile_cached_ms);
	if (!err) {
		struct pw_sync_cache *cache = pw_sync_cache_new();

		err = cache ? time_small_changes(obj, &st, cache, &l->change_cached_ms) : -ENOMEM;
		pw_sync_cache_free(cache);
	}
	if (err)
		goto out;
	if (verbose)
		fprintf(stderr, "podwall bench: %zu policies / %zu pods: parse %.0f ms, compile %.0f ms "
			"(again %.1f ms, %.1f ms with a compile cache), sync %.0f ms (%zu policy "
			"entries); one-entry change: sync %.2f ms, %.2f ms with a cache\n", policies,
			pods, l->parse_ms, l->compile_ms, l->compile_again_ms, l->compile_cached_ms,
			l->sync_ms, l->n_pol, l->change_ms, l->change_cached_ms);
out:
	pw_state_free(&st);
	pw_cluster_free(c);
	pw_bpf_close(obj);
	return err;
}

/* ------------------------------------------------------------- the agent */

struct agent {
	pid_t pid;
	char  dir[PATH_MAX];      /* its --source */
	char  pin[PATH_MAX];      /* its --pin-dir */
	char  log[PATH_MAX];
	int   cfg_fd, ep_fd, ipc_fd, pol_fd;
	uint32_t ifx_target, ifx_label; /* host veths of the two latency pods */
	uint8_t  ip_client[16], ip_target[16];
};

#define LAT_POLICY_FILE "90-lat-policy.yaml"
#define LAT_POD_FILE    "91-lat-pod.yaml"

/* The pods and policy the latency series change (namespace ns-000). */
static int write_lat_pods(const char *dir, const char *role)
{
	struct buf b = { 0 };
	int err;

	bprintf(&b, "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: lat-label\n  namespace: ns-000\n"
		"  labels: {app: lat-label, role: %s}\n  annotations: {podwall.io/host-veth: pwlat1}\n"
		"spec:\n  containers:\n  - {name: c, image: app}\n"
		"status:\n  podIP: 198.18.0.3\n  podIPs: [{ip: 198.18.0.3}]\n", role);
	bprintf(&b, "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
		"  name: lat-isolate-role-a\n  namespace: ns-000\nspec:\n"
		"  podSelector: {matchLabels: {role: a}}\n  policyTypes: [Ingress]\n");
	err = write_file(dir, LAT_POD_FILE, &b);
	free(b.p);
	return err;
}

static int write_lat_policy(const char *dir, unsigned port)
{
	struct buf b = { 0 };
	int err;

	bprintf(&b, "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: lat-target\n  namespace: ns-000\n"
		"  labels: {app: lat-target}\n  annotations: {podwall.io/host-veth: pwlat0}\n"
		"spec:\n  containers:\n  - {name: c, image: app}\n"
		"status:\n  podIP: 198.18.0.1\n  podIPs: [{ip: 198.18.0.1}]\n");
	bprintf(&b, "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: lat-client\n  namespace: ns-000\n"
		"  labels: {app: lat-client}\n"
		"spec:\n  containers:\n  - {name: c, image: app}\n"
		"status:\n  podIP: 198.18.0.2\n  podIPs: [{ip: 198.18.0.2}]\n");
	bprintf(&b, "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
		"  name: lat-allow\n  namespace: ns-000\nspec:\n"
		"  podSelector: {matchLabels: {app: lat-target}}\n"
		"  ingress:\n  - from:\n    - podSelector: {matchLabels: {app: lat-client}}\n"
		"    ports:\n    - {protocol: TCP, port: %u}\n", port);
	err = write_file(dir, LAT_POLICY_FILE, &b);
	free(b.p);
	return err;
}

static int pinned(const struct agent *a, const char *name)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", a->pin, name);

	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	return bpf_obj_get(path);
}

static int read_config(const struct agent *a, struct pw_config *cfg)
{
	uint32_t zero = 0;

	return bpf_map_lookup_elem(a->cfg_fd, &zero, cfg) ? -errno : 0;
}

/* Is the policy entry for lat-client -> lat-target:port in the live slot? */
static bool policy_live(const struct agent *a, const struct pw_config *cfg, unsigned port)
{
	struct pw_endpoint ep;
	struct pw_ipcache_key ik;
	struct pw_ipcache_val iv;
	struct pw_policy_key pk;
	struct pw_policy_val pv;
	uint8_t slot = cfg->active_slot & 1;

	if (bpf_map_lookup_elem(a->ep_fd, &a->ifx_target, &ep))
		return false;
	pw_ipcache_key_make(&ik, slot, a->ip_client, 128);
	if (bpf_map_lookup_elem(a->ipc_fd, &ik, &iv))
		return false;
	pw_policy_key_make(&pk, PW_POL_PREFIX_FULL, slot, PW_DIR_INGRESS, ep.ep_id, iv.identity,
			   IPPROTO_TCP, (uint16_t)port);
	/* (lat-allow is the only rule of lat-target: no shorter prefix can match) */
	return bpf_map_lookup_elem(a->pol_fd, &pk, &pv) == 0;
}

static bool isolation_live(const struct agent *a, const struct pw_config *cfg, bool want)
{
	struct pw_endpoint ep;

	if (bpf_map_lookup_elem(a->ep_fd, &a->ifx_label, &ep))
		return false;
	return !!(ep.flags[cfg->active_slot & 1] & PW_EP_ISOLATED_INGRESS) == want;
}

static void sleep_us(unsigned us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

static bool agent_alive(const struct agent *a)
{
	int st;

	return waitpid(a->pid, &st, WNOHANG) == 0;
}

const char *const pwb_stage_names[PWB_STAGES] = { "load", "resolve", "compile", "sync", "attach" };

/* One "applied generation N in X ms: ... (ms: load L resolve R compile C
 * sync S attach A; cpu U ms, faults F+M, switches V+I)" line of the agent. */
struct apply_line {
	unsigned gen;
	double   ms, stage[PWB_STAGES], cpu_ms, user_ms, sys_ms, runq_ms;
	long     minflt, majflt, nvcsw, nivcsw;
	bool     read_back;
};

/* The apply lines of the agent's log from offset on (at most max). */
static int apply_lines(const char *log, long *offset, struct apply_line *v, int max)
{
	char line[1024];
	int n = 0;
	FILE *f = fopen(log, "r");

	if (!f)
		return 0;
	fseek(f, *offset, SEEK_SET);
	while (fgets(line, sizeof(line), f) && n < max) {
		const char *st = strstr(line, "ms: load ");
		const char *cpu = strstr(line, "; cpu ");
		struct apply_line *a = &v[n];
		double *sv = a->stage;

		if (sscanf(line, "podwall: applied generation %u in %lf ms", &a->gen, &a->ms) != 2)
			continue;
		if (!st || sscanf(st, "ms: load %lf resolve %lf compile %lf sync %lf attach %lf",
				  &sv[0], &sv[1], &sv[2], &sv[3], &sv[4]) != PWB_STAGES)
			for (int k = 0; k < PWB_STAGES; k++)
				sv[k] = NAN;
		if (!cpu || sscanf(cpu, "; cpu %lf ms (user %lf, system %lf), run queue %lf ms, "
				   "faults %ld+%ld, switches %ld+%ld", &a->cpu_ms, &a->user_ms,
				   &a->sys_ms, &a->runq_ms, &a->minflt, &a->majflt, &a->nvcsw,
				   &a->nivcsw) != 8) {
			a->cpu_ms = a->user_ms = a->sys_ms = a->runq_ms = NAN;
			a->minflt = a->majflt = a->nvcsw = a->nivcsw = -1;
		}
		a->read_back = strstr(line, "; maps read back") != NULL;
		n++;
	}
	*offset = ftell(f);
	fclose(f);
	return n;
}

static void lat_stats(double *v, int n, struct pwb_cl_latency *l)
{
	l->n = n;
	if (!n) {
		l->p50_ms = l->p90_ms = l->p99_ms = l->max_ms = l->min_ms = NAN;
		return;
	}
	l->p50_ms = pwb_percentile(v, n, 50);
	l->p90_ms = pwb_percentile(v, n, 90);
	l->p99_ms = pwb_percentile(v, n, 99);
	l->min_ms = v[0];
	l->max_ms = v[n - 1];
}

/* The agent's apply: its median, p99, its CPU time's, and the median of each stage. */
static void apply_stats(const struct apply_line *ap, int n_ap, struct pwb_cl_latency *l)
{
	double *one = calloc((size_t)n_ap + 1, sizeof(double));

	int m = 0;

	l->apply_p50_ms = l->apply_p99_ms = l->cpu_p50_ms = l->cpu_p99_ms = NAN;
	for (int k = 0; k < PWB_STAGES; k++)
		l->stage_p50_ms[k] = NAN;
	if (!one || !n_ap)
		goto out;
	for (int i = 0; i < n_ap; i++)
		one[i] = ap[i].ms;
	l->apply_p50_ms = pwb_percentile(one, n_ap, 50);
	l->apply_p99_ms = pwb_percentile(one, n_ap, 99);
	for (int i = 0; i < n_ap; i++)
		if (!isnan(ap[i].cpu_ms))
			one[m++] = ap[i].cpu_ms;
	if (m) {
		l->cpu_p50_ms = pwb_percentile(one, m, 50);
		l->cpu_p99_ms = pwb_percentile(one, m, 99);
	}
	for (int k = 0; k < PWB_STAGES; k++) {
		int m = 0;

		for (int i = 0; i < n_ap; i++)
			if (!isnan(ap[i].stage[k]))
				one[m++] = ap[i].stage[k];
		l->stage_p50_ms[k] = m ? pwb_percentile(one, m, 50) : NAN;
	}
out:
	free(one);
}

/*
 * The slowest 1 % of the n changes (ms[i], seen at generation gen[i]), with
 * the apply line of that generation: what a slow change was slow in.
 */
static void slow_tail(const double *ms, const unsigned *gen, const int *index, int n, const struct apply_line *ap,
		      int n_ap, struct pwb_cl_latency *l)
{
	int want = (n + 99) / 100;
	bool taken[n > 0 ? n : 1];

	if (want < PWB_TAIL_MIN)
		want = PWB_TAIL_MIN;
	if (want > PWB_TAIL_MAX)
		want = PWB_TAIL_MAX;
	memset(taken, 0, sizeof(taken));
	for (l->n_tail = 0; l->n_tail < want && l->n_tail < n; l->n_tail++) {
		struct pwb_cl_slow *t = &l->tail[l->n_tail];
		int worst = -1;

		for (int i = 0; i < n; i++)
			if (!taken[i] && (worst < 0 || ms[i] > ms[worst]))
				worst = i;
		taken[worst] = true;
		t->ms = ms[worst];
		t->index = index[worst];
		t->apply_ms = t->cpu_ms = t->user_ms = t->sys_ms = t->runq_ms = NAN;
		for (int k = 0; k < PWB_STAGES; k++)
			t->stage_ms[k] = NAN;
		t->minflt = t->nvcsw = t->nivcsw = -1;
		for (int i = 0; i < n_ap; i++) {
			if (ap[i].gen != gen[worst])
				continue;
			t->apply_ms = ap[i].ms;
			memcpy(t->stage_ms, ap[i].stage, sizeof(t->stage_ms));
			t->cpu_ms = ap[i].cpu_ms;
			t->user_ms = ap[i].user_ms;
			t->sys_ms = ap[i].sys_ms;
			t->runq_ms = ap[i].runq_ms;
			t->minflt = ap[i].minflt;
			t->nvcsw = ap[i].nvcsw;
			t->nivcsw = ap[i].nivcsw;
			t->read_back = ap[i].read_back;
		}
	}
}

/*
 * Waiting for the agent must not compete with it: a poll of the maps every
 * 50 us preempts the agent whenever they share a CPU (its slowest applies
 * showed 50-200 involuntary switches), and a poller made SCHED_IDLE starves
 * on a busy machine (hundreds of ms late). So the bench sleeps until the
 * agent's log grows (the apply line is written right after the sync), and
 * looks at the maps then, or at the latest every WAIT_SLICE_MS.
 */
#define WAIT_SLICE_MS 1

static void wait_log(int ifd)
{
	struct pollfd p = { .fd = ifd, .events = POLLIN };
	char ev[4096];

	if (ifd < 0) {
		sleep_us(WAIT_SLICE_MS * 1000);
		return;
	}
	if (poll(&p, 1, WAIT_SLICE_MS) > 0)
		while (read(ifd, ev, sizeof(ev)) > 0)
			;
}

/*
 * One series: `changes` edits, each timed from the rename to the moment the
 * live slot shows it.
 */
static int series(struct agent *a, bool label, int changes, struct pwb_cl_latency *l,
		  bool verbose)
{
	int max_ap = changes * 4 + 16;
	double *v = calloc((size_t)changes, sizeof(double));
	double *sorted = calloc((size_t)changes, sizeof(double));
	unsigned *gen = calloc((size_t)changes, sizeof(unsigned));
	int *index = calloc((size_t)changes, sizeof(int));
	struct apply_line *ap = calloc((size_t)max_ap, sizeof(*ap));
	int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	long off = 0;
	int n = 0, err = 0, n_ap;
	FILE *f;

	if (!v || !sorted || !gen || !index || !ap) {
		err = -ENOMEM;
		goto out;
	}
	f = fopen(a->log, "r");
	if (f) {
		fseek(f, 0, SEEK_END);
		off = ftell(f);
		fclose(f);
	}
	l->missed = 0;
	if (ifd >= 0 && inotify_add_watch(ifd, a->log, IN_MODIFY) < 0) {
		close(ifd);
		ifd = -1;
	}
	for (int i = 1; i <= changes; i++) {
		struct pw_config before, now;
		unsigned port = 10000 + (unsigned)i;
		bool want = i % 2; /* label: role a (isolated) on odd changes */
		uint64_t t0, deadline;
		bool seen = false;

		if ((err = read_config(a, &before)))
			goto out;
		t0 = pwb_now_ns();
		err = label ? write_lat_pods(a->dir, want ? "a" : "b") : write_lat_policy(a->dir, port);
		if (err)
			goto out;
		deadline = t0 + 10ull * 1000000000ull;
		while (pwb_now_ns() < deadline) {
			if (!read_config(a, &now) && now.generation != before.generation &&
			    (label ? isolation_live(a, &now, want) : policy_live(a, &now, port))) {
				seen = true;
				break;
			}
			wait_log(ifd);
		}
		if (!seen) {
			l->missed++;
			if (!agent_alive(a)) {
				fprintf(stderr, "podwall bench: the agent died\n");
				err = -ESRCH;
				goto out;
			}
			continue;
		}
		v[n] = (pwb_now_ns() - t0) / 1e6;
		index[n] = i;
		gen[n++] = now.generation;
		/* let the agent settle, and vary the phase against its 1 s tick */
		sleep_us(5000 + (unsigned)(i * 7919 % 20) * 1000);
	}
	n_ap = apply_lines(a->log, &off, ap, max_ap);
	slow_tail(v, gen, index, n, ap, n_ap, l);
	memcpy(sorted, v, (size_t)n * sizeof(*v));
	lat_stats(sorted, n, l);
	apply_stats(ap, n_ap, l);
	if (verbose)
		fprintf(stderr, "podwall bench: %s changes: p50 %.2f ms, p99 %.2f ms (%d missed); "
			"agent apply p50 %.2f ms\n", label ? "pod label" : "policy file", l->p50_ms,
			l->p99_ms, l->missed, l->apply_p50_ms);
out:
	if (ifd >= 0)
		close(ifd);
	free(v);
	free(sorted);
	free(gen);
	free(index);
	free(ap);
	return err;
}

/* The entries a hash or LPM map holds (a walk of its keys); -1 for other types. */
static int64_t map_entries(int fd, const struct bpf_map_info *info)
{
	uint8_t k[2][256];
	int64_t n = 0;
	int cur = 0;

	switch (info->type) {
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
	case BPF_MAP_TYPE_LPM_TRIE:
		break;
	default:
		return -1;
	}
	if (info->key_size > sizeof(k[0]))
		return -1;
	if (bpf_map_get_next_key(fd, NULL, k[cur]))
		return 0;
	do {
		n++;
		cur ^= 1;
	} while (!bpf_map_get_next_key(fd, k[cur ^ 1], k[cur]));
	return n;
}

static void agent_memory(struct agent *a, struct pwb_cl_result *r)
{
	DIR *d = opendir(a->pin);
	struct dirent *de;

	r->maps_memlock = 0;
	r->n_maps = 0;
	r->maps_left_out = 0;
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		int fd;

		if (de->d_name[0] == '.')
			continue;
		fd = pinned(a, de->d_name);
		if (fd < 0)
			continue;
		/* a map left out would make the total lie: say so */
		if (r->n_maps == (int)(sizeof(r->maps) / sizeof(r->maps[0]))) {
			r->maps_left_out++;
			close(fd);
			continue;
		}
		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			snprintf(r->maps[r->n_maps].name, sizeof(r->maps[0].name), "%.31s", de->d_name);
			r->maps[r->n_maps].memlock = fd_memlock(fd);
			r->maps[r->n_maps].max_entries = info.max_entries;
			r->maps[r->n_maps].type = info.type;
			r->maps[r->n_maps].key_size = info.key_size;
			r->maps[r->n_maps].value_size = info.value_size;
			r->maps[r->n_maps].entries = map_entries(fd, &info);
			r->maps_memlock += r->maps[r->n_maps].memlock;
			r->n_maps++;
		}
		close(fd);
	}
	closedir(d);
}

/* The agent's last words, when something went wrong. */
static void log_tail(const char *log)
{
	char line[1024], ring[20][1024];
	int n = 0;
	FILE *f = fopen(log, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		snprintf(ring[n++ % 20], sizeof(ring[0]), "%s", line);
	fclose(f);
	for (int i = n > 20 ? n - 20 : 0; i < n; i++)
		fprintf(stderr, "  agent| %s", ring[i % 20]);
}

static void agent_stop(struct agent *a)
{
	if (a->pid > 0) {
		int st;

		kill(a->pid, SIGTERM);
		for (int i = 0; i < 200 && waitpid(a->pid, &st, WNOHANG) == 0; i++)
			sleep_us(10000);
		if (waitpid(a->pid, &st, WNOHANG) == 0) {
			kill(a->pid, SIGKILL);
			waitpid(a->pid, &st, 0);
		}
		a->pid = 0;
	}
	for (int *fd = &a->cfg_fd; fd <= &a->pol_fd; fd++)
		if (*fd >= 0) {
			close(*fd);
			*fd = -1;
		}
	pw_bpf_unpin(a->pin, NULL);
}

static int run_agent(const struct pwb_cl_opts *o, const char *root, struct pwb_cl_result *r)
{
	struct agent a = { .cfg_fd = -1, .ep_fd = -1, .ipc_fd = -1, .pol_fd = -1 };
	size_t policies = o->policies[0], bytes;
	struct pw_config cfg;
	uint64_t deadline, written;
	int err, logfd;

	snprintf(a.dir, sizeof(a.dir), "%s/agent", root);
	snprintf(a.log, sizeof(a.log), "%s/agent.log", root);
	snprintf(a.pin, sizeof(a.pin), "%s/bench-%d", PW_PIN_ROOT, (int)getpid());
	if (mkdir(a.dir, 0700))
		return -errno;
	r->agent_policies = policies;
	r->agent_pods = o->pods;

	/* the local pods' host veths, and the two the series watch */
	for (size_t k = 0; k < o->local_pods; k++) {
		char name[16];
		uint32_t ifx;

		snprintf(name, sizeof(name), "pwl%u", (unsigned)k);
		if ((err = pw_nl_dummy_add(name, &ifx)) || (err = pw_nl_link_up(name))) {
			snprintf(r->agent_error, sizeof(r->agent_error), "device %s: %s", name,
				 strerror(-err));
			return err;
		}
	}
	if ((err = pw_nl_dummy_add("pwlat0", &a.ifx_target)) || (err = pw_nl_link_up("pwlat0")) ||
	    (err = pw_nl_dummy_add("pwlat1", &a.ifx_label)) || (err = pw_nl_link_up("pwlat1"))) {
		snprintf(r->agent_error, sizeof(r->agent_error), "latency devices: %s", strerror(-err));
		return err;
	}
	pw_addr_parse("198.18.0.1", a.ip_target);
	pw_addr_parse("198.18.0.2", a.ip_client);

	if ((err = gen_cluster(a.dir, o->pods, o->local_pods, policies, &bytes)) ||
	    (err = write_lat_policy(a.dir, 10000)) || (err = write_lat_pods(a.dir, "b"))) {
		snprintf(r->agent_error, sizeof(r->agent_error), "writing %.200s: %s", a.dir, strerror(-err));
		return err;
	}
	written = pwb_now_ns();

	logfd = open(a.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0)
		return -errno;
	a.pid = fork();
	if (a.pid < 0) {
		err = -errno;
		close(logfd);
		return err;
	}
	if (a.pid == 0) {
		dup2(logfd, STDERR_FILENO);
		dup2(logfd, STDOUT_FILENO);
		execl(o->self, "podwall", "agent", "--source", a.dir, "--pin-dir", a.pin, (char *)NULL);
		_exit(127);
	}
	close(logfd);

	/* wait for the first pass: pins there, generation set, our entries live */
	deadline = pwb_now_ns() + 120ull * 1000000000ull;
	for (;;) {
		/* one by one, as they appear: libbpf pins each map right after making it */
		if (a.cfg_fd < 0)
			a.cfg_fd = pinned(&a, "config");
		if (a.ep_fd < 0)
			a.ep_fd = pinned(&a, "endpoints");
		if (a.ipc_fd < 0)
			a.ipc_fd = pinned(&a, "ipcache");
		if (a.pol_fd < 0)
			a.pol_fd = pinned(&a, "policy");
		if (a.cfg_fd >= 0 && a.ep_fd >= 0 && a.ipc_fd >= 0 && a.pol_fd >= 0 &&
		    !read_config(&a, &cfg) && cfg.generation && policy_live(&a, &cfg, 10000))
			break;
		if (!agent_alive(&a) || pwb_now_ns() > deadline) {
			snprintf(r->agent_error, sizeof(r->agent_error),
				 "the agent did not apply its first state");
			fprintf(stderr, "podwall bench: %s\n", r->agent_error);
			err = -ETIMEDOUT;
			goto out;
		}
		sleep_us(1000);
	}
	if (o->verbose)
		fprintf(stderr, "podwall bench: agent %d up (%zu policies, %zu pods)\n", (int)a.pid,
			policies, o->pods);
	/*
	 * The steady state the series measure: the generated files older than
	 * the file cache's racy window (2 s, filecache.c), as a source's other
	 * files are when one of them changes. A file written within the window
	 * is read again and compared on every load (its mtime may not show a
	 * rewrite), which at 10,000 pods is the 4 MB pods file on each change.
	 */
	while (pwb_now_ns() < written + 2500ull * 1000000ull)
		sleep_us(10000);

	if ((err = series(&a, false, o->changes, &r->lat_policy, o->verbose)) ||
	    (err = series(&a, true, o->changes, &r->lat_label, o->verbose)))
		goto out;

	agent_memory(&a, r);
	r->agent_rss = pwb_rss_bytes(a.pid, &r->agent_rss_peak);
	r->have_agent = true;
out:
	if (err)
		log_tail(a.log);
	agent_stop(&a);
	return err;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

int pwb_control(const struct pwb_cl_opts *o, struct pwb_cl_result *r)
{
	/*
	 * The files live in memory (tmpfs), as a ConfigMap's or Secret's volume
	 * does on a node: on this VM's disk (ext4 mounted with discard) every
	 * rename over an old file freed its blocks with a synchronous discard,
	 * 1-10 ms of the change, and the agent's directory listing waited for
	 * it on the directory's lock. Where /dev/shm is missing: /tmp.
	 */
	char root[] = "/dev/shm/podwall-bench-cp.XXXXXX";
	int netns = -1, err = 0;

	memset(r, 0, sizeof(*r));
	if (!mkdtemp(root)) {
		memcpy(root, "/tmp/podwall-bench-cp.XXXXXX", sizeof("/tmp/podwall-bench-cp.XXXXXX"));
		if (!mkdtemp(root))
			return -errno;
	}

	for (int i = 0; i < o->n_policies && i < PWB_MAX_CL; i++) {
		err = bench_load(root, o->pods, o->local_pods, o->policies[i], o->verbose,
				 &r->load[i]);
		if (err)
			goto out;
		r->n_load = i + 1;
	}

	if (o->no_agent)
		goto out;
	/* The agent runs in a private network namespace: its devices, its tc
	 * filters and the namespace go away with it. */
	netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (netns < 0) {
		err = -errno;
		goto out;
	}
	err = pw_private_netns();
	if (!err)
		err = run_agent(o, root, r);
	if (setns(netns, CLONE_NEWNET) && !err)
		err = -errno;
	close(netns);
out:
	/* remove what we wrote */
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return err;
}
