// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * podwall agent: keep the kernel in line with a directory of manifests.
 *
 *   load + compile + sync + attach, then follow the directory with inotify
 *   (a settled change is applied at once, a file still being written gets up
 *   to 2 ms; what comes during an apply is coalesced into the next;
 *   only the files that changed are parsed again) and re-resolve pods' host
 *   veths every second (one netlink dump). Bad input is
 *   reported and changes nothing; SIGTERM/SIGINT leave programs attached
 *   and maps pinned (enforcement goes on), as does kill -9.
 *
 * The engine (pw_engine_*) is shared with `podwall apply` (agent.h).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "compiler.h"
#include "clock.h"
#include "cmd/cmd.h"
#include "cmd/agent.h"
#include "kernel/bpfobj.h"
#include "kernel/route.h"
#include "kernel/watch.h"
#include "ops/hooks.h"
#include "source/source.h" /* source: k8s API and podwall-cni (issue 7) */

/* reload: a settled change (a file closed, renamed in, deleted) is applied at
 * once when the agent is idle; a file just created waits up to this window
 * for its writer's close; what arrives while an apply runs is coalesced into
 * the next apply (the window is never pushed back, so a stream of events
 * cannot starve the reload) */
#define PW_COALESCE_NS 2000000ull
#define PW_TICK_MS     1000
#define PW_VERIFY_TICKS 10 /* every 10 s the filters are listed and repaired */

/* ------------------------------------------------------------ options */

enum {
	OPT_SOURCE = 0x100,
	OPT_PIN_DIR,
	OPT_MODE,
	OPT_DNS,
	OPT_UPLINK,
	OPT_DNS_NS,
	OPT_DNS_LABEL,
};

void pw_agent_opts_free(struct pw_agent_opts *o)
{
	free(o->dns_label_buf);
	o->dns_label_buf = NULL;
}

int pw_agent_parse(int argc, char **argv, const char *usage, struct pw_agent_opts *o,
		   bool *help)
{
	static const struct option longopts[] = {
		{ "source",        required_argument, NULL, OPT_SOURCE },
		{ "filename",      required_argument, NULL, 'f' },
		{ "pin-dir",       required_argument, NULL, OPT_PIN_DIR },
		{ "mode",          required_argument, NULL, OPT_MODE },
		{ "dns",           required_argument, NULL, OPT_DNS },
		{ "uplink",        required_argument, NULL, OPT_UPLINK },
		{ "dns-namespace", required_argument, NULL, OPT_DNS_NS },
		{ "dns-label",     required_argument, NULL, OPT_DNS_LABEL },
		{ "help",          no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = argv[0];
	int c, idx = -1;

	memset(o, 0, sizeof(*o));
	*help = false;
	optind = 1;
	opterr = 0;
	while ((idx = -1, c = getopt_long(argc, argv, ":f:h", longopts, &idx)) != -1) {
		switch (c) {
		case 'f':
		case OPT_SOURCE:
			o->source = optarg;
			break;
		case OPT_PIN_DIR:
			o->pin_dir = optarg;
			break;
		case OPT_MODE:
			if (!strcmp(optarg, "audit"))
				o->audit = true;
			else if (!strcmp(optarg, "enforce"))
				o->audit = false;
			else
				goto bad_value;
			break;
		case OPT_DNS:
			if (!strcmp(optarg, "auto"))
				o->dns_auto = true;
			else if (!strcmp(optarg, "off"))
				o->dns_auto = false;
			else
				goto bad_value;
			break;
		case OPT_UPLINK:
			if (o->n_uplinks == PW_MAX_UPLINKS) {
				fprintf(stderr, "podwall %s: at most %d --uplink\n", cmd, PW_MAX_UPLINKS);
				return PW_EXIT_USAGE;
			}
			o->uplinks[o->n_uplinks++] = optarg;
			break;
		case OPT_DNS_NS:
			o->dns_namespace = optarg;
			break;
		case OPT_DNS_LABEL: {
			const char *eq = strchr(optarg, '=');

			if (!eq || eq == optarg || (size_t)(eq - optarg) >= sizeof(o->dns_label_key))
				goto bad_value;
			memcpy(o->dns_label_key, optarg, (size_t)(eq - optarg));
			o->dns_label_key[eq - optarg] = 0;
			free(o->dns_label_buf);
			o->dns_label_buf = strdup(eq + 1);
			if (!o->dns_label_buf)
				return PW_EXIT_SYSTEM;
			o->dns_label_value = o->dns_label_buf;
			break;
		}
		case 'h':
			printf("usage: podwall %s %s\n", cmd, usage);
			*help = true;
			return 0;
		case ':':
			fprintf(stderr, "podwall %s: option %s needs a value\nusage: podwall %s %s\n",
				cmd, argv[optind - 1], cmd, usage);
			return PW_EXIT_USAGE;
		default:
			fprintf(stderr, "podwall %s: unknown option %s\nusage: podwall %s %s\n", cmd,
				argv[optind - 1], cmd, usage);
			return PW_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "podwall %s: unexpected argument '%s'\nusage: podwall %s %s\n", cmd,
			argv[optind], cmd, usage);
		return PW_EXIT_USAGE;
	}
	if (!o->source) {
		fprintf(stderr, "podwall %s: no manifests given\nusage: podwall %s %s\n", cmd, cmd,
			usage);
		return PW_EXIT_USAGE;
	}
	return 0;

bad_value:
	fprintf(stderr, "podwall %s: bad value '%s' for --%s\nusage: podwall %s %s\n", cmd, optarg,
		idx >= 0 ? longopts[idx].name : "?", cmd, usage);
	return PW_EXIT_USAGE;
}

/*
 * The network namespace's cookie names its pin dir: unlike the nsfs inode,
 * a cookie is never reused while the machine is up, so a new namespace can
 * never adopt the pins a deleted one left behind.
 */
#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

int pw_default_pin_dir(char *buf, size_t len)
{
	uint64_t cookie = 0;
	socklen_t olen = sizeof(cookie);
	int fd, err = 0;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &olen))
		err = -errno;
	close(fd);
	if (err)
		return err;
	if ((size_t)snprintf(buf, len, "%s/netns-%llu", PW_PIN_ROOT,
			     (unsigned long long)cookie) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* ------------------------------------------------------------ state copies */

static void state_copy_free(struct pw_state *s)
{
	free(s->eps);
	free(s->ipc);
	free(s->pol);
	memset(s, 0, sizeof(*s));
}

/* Copy what the kernel sees (eps, ipc, pol); ids and rules are not kept. */
static int state_copy(struct pw_state *dst, const struct pw_state *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->eps = malloc((src->n_eps ? src->n_eps : 1) * sizeof(*dst->eps));
	dst->ipc = malloc((src->n_ipc ? src->n_ipc : 1) * sizeof(*dst->ipc));
	dst->pol = malloc((src->n_pol ? src->n_pol : 1) * sizeof(*dst->pol));
	if (!dst->eps || !dst->ipc || !dst->pol) {
		state_copy_free(dst);
		return -ENOMEM;
	}
	if (src->n_eps)
		memcpy(dst->eps, src->eps, src->n_eps * sizeof(*dst->eps));
	if (src->n_ipc)
		memcpy(dst->ipc, src->ipc, src->n_ipc * sizeof(*dst->ipc));
	if (src->n_pol)
		memcpy(dst->pol, src->pol, src->n_pol * sizeof(*dst->pol));
	dst->n_eps = src->n_eps;
	dst->n_ipc = src->n_ipc;
	dst->n_pol = src->n_pol;
	return 0;
}

static bool ep_equal(const struct pw_state_ep *a, const struct pw_state_ep *b)
{
	return a->ifindex == b->ifindex && a->ep_id == b->ep_id && a->identity == b->identity &&
	       a->flags == b->flags && a->dns_flags == b->dns_flags && a->n_ips == b->n_ips &&
	       !memcmp(a->ips, b->ips, sizeof(a->ips[0]) * (a->n_ips < 2 ? a->n_ips : 2)) &&
	       !strcmp(a->ns, b->ns) && !strcmp(a->name, b->name);
}

static bool state_equal(const struct pw_state *a, const struct pw_state *b)
{
	if (a->n_eps != b->n_eps || a->n_ipc != b->n_ipc || a->n_pol != b->n_pol)
		return false;
	for (size_t i = 0; i < a->n_eps; i++)
		if (!ep_equal(&a->eps[i], &b->eps[i]))
			return false;
	for (size_t i = 0; i < a->n_ipc; i++)
		if (memcmp(&a->ipc[i], &b->ipc[i], sizeof(a->ipc[i])))
			return false;
	for (size_t i = 0; i < a->n_pol; i++)
		if (memcmp(&a->pol[i], &b->pol[i], sizeof(a->pol[i])))
			return false;
	return true;
}

/* ------------------------------------------------------------ engine */

struct pw_engine {
	struct pw_agent_opts o;
	char                 pin_dir[PATH_MAX];
	struct podwall_bpf  *obj;
	int                  lock_fd;     /* the pin dir, flock'ed while writing */
	struct pw_rt        *rt;

	struct pw_state      last;        /* last compile result applied */
	bool                 have_last;
	struct pw_state      failed;      /* last one that failed to apply: not retried */
	bool                 have_failed;
	struct pw_tc_spot   *spots;       /* last places attached */
	size_t               n_spots;
	bool                 have_spots;
	bool                 verify_due;  /* next tick re-checks every filter */
	bool                 warned_uplink[PW_MAX_UPLINKS];
	struct pw_filecache *fc;          /* parsed files, for reloads (filecache.c) */
	struct pw_sync_cache *sync_cache; /* what the maps hold, so a sync need not read
					     them back (mapsync.h) */
	struct pw_compile_cache *compile_cache; /* pods read by the last compile (compiler.h) */

	/*
	 * The node's network as last dumped (links, routes, rules: the resolver
	 * snapshot; the node's addresses). A source change reuses it while the
	 * rtnetlink monitor reports nothing new since; ticks and first passes
	 * always dump again, so a lost notification costs at most one tick.
	 */
	int                  mon_fd;      /* pw_rt_monitor_open; -1: dump every time */
	struct pw_resolver   net;         /* .snap: the snapshot */
	uint8_t            (*host_addrs)[16];
	size_t               n_host_addrs;
	bool                 net_valid;

	/* memo of the last successful push, to skip compiling on quiet ticks */
	const struct pw_cluster *memo_c;
	uint32_t            *memo_ifx;
	size_t               memo_n_pods;
	uint32_t            *memo_up;
	size_t               memo_n_up;
};

int pw_engine_new(const struct pw_agent_opts *o, struct pw_engine **out)
{
	struct pw_engine *e;
	int err;

	*out = NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->o = *o;
	e->o.dns_label_buf = NULL; /* owned by the caller's opts */
	e->lock_fd = -1;
	e->mon_fd = -1;
	if (o->pin_dir) {
		if (snprintf(e->pin_dir, sizeof(e->pin_dir), "%s", o->pin_dir) >=
		    (int)sizeof(e->pin_dir)) {
			err = -ENAMETOOLONG;
			goto fail;
		}
	} else {
		err = pw_default_pin_dir(e->pin_dir, sizeof(e->pin_dir));
		if (err) {
			fprintf(stderr, "podwall: /proc/self/ns/net: %s\n", strerror(-err));
			goto fail;
		}
	}
	err = pw_rt_open(&e->rt);
	if (err) {
		fprintf(stderr, "podwall: rtnetlink socket: %s\n", strerror(-err));
		goto fail;
	}
	e->net.rt = e->rt;
	/* without them every sync reads the maps back and every compile reads
	 * every pod: slower, not wrong */
	e->sync_cache = pw_sync_cache_new();
	e->compile_cache = pw_compile_cache_new();
	/* without the monitor every push dumps the network again: slower, not wrong */
	if (pw_rt_monitor_open(&e->mon_fd))
		e->mon_fd = -1;
	*out = e;
	return 0;
fail:
	free(e);
	return err;
}

void pw_engine_free(struct pw_engine *e)
{
	if (!e)
		return;
	if (e->obj)
		pw_bpf_close(e->obj);
	if (e->lock_fd >= 0)
		close(e->lock_fd);
	pw_resolver_release(&e->net);
	free(e->host_addrs);
	if (e->mon_fd >= 0)
		close(e->mon_fd);
	pw_rt_close(e->rt);
	pw_filecache_free(e->fc);
	pw_sync_cache_free(e->sync_cache);
	pw_compile_cache_free(e->compile_cache);
	state_copy_free(&e->last);
	state_copy_free(&e->failed);
	free(e->spots);
	free(e->memo_ifx);
	free(e->memo_up);
	free(e);
}

const char *pw_engine_pin_dir(const struct pw_engine *e)
{
	return e->pin_dir;
}

int pw_engine_bpf(struct pw_engine *e)
{
	int err;

	if (e->obj)
		return 0;
	err = pw_bpf_open(e->pin_dir, &e->obj);
	if (err) {
		fprintf(stderr, "podwall: cannot load the BPF object with maps pinned in %s: %s\n",
			e->pin_dir, strerror(-err));
		return err;
	}
	/* agent and apply on the same pins take turns (flock on the pin dir) */
	e->lock_fd = open(e->pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return 0;
}

int pw_engine_monitor_fd(const struct pw_engine *e)
{
	return e->mon_fd;
}

/*
 * Bring e->net up to date: dump again when forced, when the monitor saw a
 * change (or failed), or when the last dump failed. The monitor is drained
 * before the dump: a change after the drain is either in the dump or still
 * queued for the next push.
 */
static int net_refresh(struct pw_engine *e, bool force)
{
	int changed = 1, err;

	if (e->mon_fd >= 0) {
		changed = pw_rt_monitor_drain(e->mon_fd);
		if (changed < 0) {
			fprintf(stderr, "podwall: rtnetlink monitor: %s; dumping on every change "
				"from now on\n", strerror(-changed));
			close(e->mon_fd);
			e->mon_fd = -1;
			changed = 1;
		}
	}
	if (!force && !changed && e->net_valid)
		return 0;
	e->net_valid = false;
	pw_resolver_snapshot(&e->net); /* on failure, lookups ask the kernel one by one */
	free(e->host_addrs);
	e->host_addrs = NULL;
	e->n_host_addrs = 0;
	err = pw_rt_host_addrs(e->rt, &e->host_addrs, &e->n_host_addrs);
	if (err) {
		fprintf(stderr, "podwall: listing the node's addresses: %s\n", strerror(-err));
		return err;
	}
	e->net_valid = e->net.snap && e->mon_fd >= 0;
	return 0;
}

void pw_engine_verify_next(struct pw_engine *e)
{
	e->verify_due = true;
}

static void engine_lock(struct pw_engine *e, bool on)
{
	if (e->lock_fd >= 0)
		while (flock(e->lock_fd, on ? LOCK_EX : LOCK_UN) && errno == EINTR)
			;
}

int pw_engine_load(struct pw_engine *e, struct pw_cluster **out, struct pw_error *err)
{
	int ret;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	/* reload: only the files that changed are parsed again (filecache.c) */
	if (!e->fc && !(e->fc = pw_filecache_new(e->o.source))) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -ENOMEM;
	}
	ret = pw_filecache_load(e->fc, out, NULL, err);
	if (ret && !err->msg[0])
		snprintf(err->msg, sizeof(err->msg), "%s: %s", e->o.source, strerror(-ret));
	return ret;
}

/* pw_local_fn over a resolution made beforehand (one netlink pass per push). */
struct local_table {
	const struct pw_cluster *c;
	const uint32_t          *ifindex;  /* per c->pods[i] */
	struct pw_resolver      *live;     /* for pods that are not c->pods[] entries */
};

static uint32_t local_from_table(void *ctx, const struct pw_pod *pod)
{
	struct local_table *t = ctx;

	if (t->c->n_pods && pod >= t->c->pods && pod < t->c->pods + t->c->n_pods)
		return t->ifindex[pod - t->c->pods];
	uint32_t ifx = pw_src_local(pod); /* source: the CNI registry before routes */

	return ifx ? ifx : pw_resolve_local(t->live, pod);
}

static int cmp_spot(const void *a, const void *b)
{
	const struct pw_tc_spot *x = a, *y = b;

	if (x->ifindex != y->ifindex)
		return x->ifindex < y->ifindex ? -1 : 1;
	if (x->egress != y->egress)
		return x->egress ? 1 : -1;
	return (int)x->prog - (int)y->prog;
}

/* The uplinks: --uplink names, or the devices of gateway routes. */
static int resolve_uplinks(struct pw_engine *e, struct pw_resolver *live, bool strict,
			   uint32_t **out, size_t *n)
{
	uint32_t *v;
	int err;

	*out = NULL;
	*n = 0;
	if (!e->o.n_uplinks)
		return pw_resolver_gateway_devs(live, out, n);
	v = calloc(e->o.n_uplinks, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < e->o.n_uplinks; i++) {
		struct pw_link l;

		err = pw_rt_link_by_name(e->rt, e->o.uplinks[i], &l);
		if (err) {
			if (strict) {
				fprintf(stderr, "podwall: --uplink %s: %s\n", e->o.uplinks[i],
					err == -ENODEV ? "no such device in this network namespace"
						       : strerror(-err));
				free(v);
				return err;
			}
			if (!e->warned_uplink[i])
				fprintf(stderr, "podwall: --uplink %s: no such device (yet); "
					"will attach when it appears\n", e->o.uplinks[i]);
			e->warned_uplink[i] = true;
			continue;
		}
		e->warned_uplink[i] = false;
		v[(*n)++] = l.ifindex;
	}
	*out = v;
	return 0;
}

static int build_spots(const struct pw_state *s, const uint32_t *uplinks, size_t n_up,
		       struct pw_tc_spot **out, size_t *n)
{
	struct pw_tc_spot *v = calloc(s->n_eps * 2 + n_up + 1, sizeof(*v));
	size_t k = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_eps; i++) {
		if (!s->eps[i].ifindex)
			continue;
		v[k++] = (struct pw_tc_spot){ s->eps[i].ifindex, false, PW_PROG_FROM_POD };
		v[k++] = (struct pw_tc_spot){ s->eps[i].ifindex, true, PW_PROG_TO_POD };
	}
	for (size_t i = 0; i < n_up; i++) {
		bool is_pod = false;

		for (size_t j = 0; j < s->n_eps; j++)
			if (s->eps[j].ifindex == uplinks[i])
				is_pod = true;
		if (!is_pod)
			v[k++] = (struct pw_tc_spot){ uplinks[i], true, PW_PROG_TO_REMOTE };
	}
	qsort(v, k, sizeof(*v), cmp_spot);
	/* two pods on one device: keep one pair */
	size_t w = 0;
	for (size_t i = 0; i < k; i++)
		if (!w || cmp_spot(&v[w - 1], &v[i]))
			v[w++] = v[i];
	*out = v;
	*n = w;
	return 0;
}

/* ms since *t, and *t moved to now: the stages of a push */
static double stage_ms(uint64_t *t)
{
	uint64_t now = pw_now_ns();
	double ms = (double)(now - *t) / 1e6;

	*t = now;
	return ms;
}

/* Attach at spots (and sweep the rest); on failure the next push tries again. */
static int attach_at(struct pw_engine *e, const struct pw_tc_spot *spots, size_t n,
		     struct pw_push_result *res)
{
	int err;

	engine_lock(e, true);
	err = pw_attach_sync(e->obj, e->rt, spots, n, true, &res->att);
	engine_lock(e, false);
	res->did_attach = true;
	if (err) {
		fprintf(stderr, "podwall: attach: %s\n",
			res->att.error[0] ? res->att.error : strerror(-err));
		e->have_spots = false;
	}
	return err;
}

/* A verify tick with nothing else to do: are the filters where they were put? */
static void verify_filters(struct pw_engine *e, struct pw_push_result *res)
{
	if (attach_at(e, e->spots, e->n_spots, res))
		e->memo_c = NULL; /* the next tick compiles and attaches again */
	else if (res->att.attached || res->att.replaced || res->att.detached) {
		fprintf(stderr, "podwall: filters repaired: %u attached, %u replaced, "
			"%u detached\n", res->att.attached, res->att.replaced, res->att.detached);
	}
}

static void log_apply(const struct pw_engine *e, const struct pw_push_result *r)
{
	const struct pw_sync_stats *s = &r->sync;

	fprintf(stderr, "podwall: applied generation %u in %.1f ms: %zu added, %zu changed, "
		"%zu removed (%zu endpoints%s; tc: %u attached, %u replaced, %u adopted, "
		"%u detached%s; ms: load %.1f resolve %.1f compile %.1f sync %.1f attach %.1f)\n",
		s->generation, r->ms, s->added, s->changed, s->removed, r->n_endpoints,
		e->o.audit ? ", audit mode" : "", r->att.attached, r->att.replaced,
		r->att.adopted, r->att.detached, r->att.missing ? ", some devices vanished" : "",
		r->load_ms, r->resolve_ms, r->compile_ms, r->sync_ms, r->attach_ms);
}

int pw_engine_push(struct pw_engine *e, const struct pw_cluster *c, enum pw_push_kind kind,
		   uint64_t start_ns, struct pw_push_result *res)
{
	struct pw_resolver *live = &e->net;
	struct local_table table = { .c = c, .live = live };
	struct pw_compile_opts copts = { 0 };
	struct pw_sync_opts sopts = { 0 };
	struct pw_state st = { 0 };
	struct pw_error cerr;
	struct pw_tc_spot *spots = NULL;
	size_t n_spots = 0, n_up = 0;
	uint32_t *ifx = NULL, *up = NULL;
	bool state_changed, spots_changed, names_due = false;
	int err;

	uint64_t t_stage = pw_now_ns();
	bool verify = kind == PW_PUSH_TICK && e->verify_due; /* list every filter */

	if (kind == PW_PUSH_TICK)
		e->verify_due = false;
	memset(res, 0, sizeof(*res));
	memset(&cerr, 0, sizeof(cerr));
	res->exit_code = PW_EXIT_SYSTEM;
	res->load_ms = (double)(t_stage - start_ns) / 1e6;

	/* which pods are local, and where: one netlink pass */
	ifx = calloc(c->n_pods ? c->n_pods : 1, sizeof(*ifx));
	if (!ifx) {
		err = -ENOMEM;
		goto out;
	}
	err = net_refresh(e, kind != PW_PUSH_SOURCE);
	if (err)
		goto out;
	live->n_local = live->n_missing = live->n_queries = 0;
	live->verbose = kind != PW_PUSH_TICK;
	for (size_t i = 0; i < c->n_pods; i++)
		if (!(ifx[i] = pw_src_local(&c->pods[i]))) /* source: CNI registry first */
			ifx[i] = pw_resolve_local(live, &c->pods[i]);
	live->verbose = false;
	table.ifindex = ifx;

	err = resolve_uplinks(e, live, e->o.strict_uplinks, &up, &n_up);
	if (err) {
		if (e->o.strict_uplinks && err == -ENODEV) {
			res->exit_code = PW_EXIT_USAGE;
		} else {
			fprintf(stderr, "podwall: finding uplinks: %s\n", strerror(-err));
		}
		goto out;
	}

	/* a quiet tick: same objects, same devices, nothing to compile */
	if (kind == PW_PUSH_TICK && e->memo_c == c && e->memo_n_pods == c->n_pods &&
	    e->memo_n_up == n_up &&
	    (!c->n_pods || !memcmp(e->memo_ifx, ifx, c->n_pods * sizeof(*ifx))) &&
	    (!n_up || !memcmp(e->memo_up, up, n_up * sizeof(*up)))) {
		if (verify && e->have_spots && e->obj)
			verify_filters(e, res);
		res->exit_code = PW_EXIT_OK;
		goto out;
	}
	e->memo_c = NULL;

	copts.is_local = local_from_table;
	copts.local_ctx = &table;
	copts.dns_namespace = e->o.dns_namespace;
	copts.dns_label_key = e->o.dns_label_key[0] ? e->o.dns_label_key : NULL;
	copts.dns_label_value = e->o.dns_label_key[0] ? e->o.dns_label_value : NULL;
	copts.dns_auto = e->o.dns_auto;
	copts.audit_all = e->o.audit;
	copts.cache = e->compile_cache;
	/* the node's addresses are PW_ID_HOST: kubelet probes reach pods */
	copts.host_addrs = (const uint8_t (*)[16])e->host_addrs;
	copts.n_host_addrs = e->n_host_addrs;
	res->resolve_ms = stage_ms(&t_stage);
	err = pw_compile(c, &copts, &st, &cerr);
	res->compile_ms = stage_ms(&t_stage);
	if (err) {
		fprintf(stderr, "podwall: %s\n", cerr.msg[0] ? cerr.msg : strerror(-err));
		fprintf(stderr, "podwall: nothing applied; the policy in force stays in force\n");
		res->exit_code = PW_EXIT_USAGE;
		goto out;
	}
	for (size_t i = 0; i < st.n_eps; i++)
		if (st.eps[i].ifindex)
			res->n_endpoints++;

	err = build_spots(&st, up, n_up, &spots, &n_spots);
	if (err)
		goto out;

	state_changed = kind == PW_PUSH_FIRST || !e->have_last || !state_equal(&st, &e->last);
	/* the filters are listed and fixed when the places change, and on a
	 * verify tick (a filter removed by hand comes back), not on every
	 * policy change: listing 2 filters per pod costs more than the sync */
	spots_changed = kind == PW_PUSH_FIRST || !e->have_spots || n_spots != e->n_spots ||
			(n_spots && memcmp(spots, e->spots, n_spots * sizeof(*spots))) || verify;

	if (state_changed && kind == PW_PUSH_TICK && e->have_failed && state_equal(&st, &e->failed)) {
		/* the same set that failed before: do not retry every second */
		state_changed = false;
		spots_changed = false;
	}

	if (state_changed) {
		err = pw_engine_bpf(e);
		if (err)
			goto out;
		sopts.cfg_mask = PW_CFG_AUDIT_ALL;
		sopts.cfg_flags = e->o.audit ? PW_CFG_AUDIT_ALL : 0;
		sopts.cache = e->sync_cache;
		engine_lock(e, true);
		err = pw_sync_ex(e->obj, &st, &sopts, &res->sync);
		engine_lock(e, false);
		res->did_sync = true;
		res->sync_ms = stage_ms(&t_stage);
		if (err) {
			fprintf(stderr, "podwall: %s\n",
				res->sync.error[0] ? res->sync.error : strerror(-err));
			if (!res->sync.switched)
				fprintf(stderr, "podwall: nothing applied; the policy in force "
					"stays in force\n");
			res->exit_code = err == -ENOSPC ? PW_EXIT_USAGE : PW_EXIT_SYSTEM;
			if (err == -ENOSPC) {
				/* too big: pointless to retry until the objects change */
				state_copy_free(&e->failed);
				e->have_failed = !state_copy(&e->failed, &st);
			}
			goto out;
		}
		state_copy_free(&e->last);
		err = state_copy(&e->last, &st);
		if (err)
			goto out;
		e->have_last = true;
		names_due = true;
		state_copy_free(&e->failed);
		e->have_failed = false;
	} else {
		/* nothing to sync: report the generation in force */
		res->sync.generation = 0;
		if (e->obj) {
			struct pw_config cfg;

			if (!pw_bpf_get_config(e->obj, &cfg))
				res->sync.generation = cfg.generation;
		}
	}

	if (spots_changed) {
		err = pw_engine_bpf(e);
		if (err)
			goto out;
		err = attach_at(e, spots, n_spots, res);
		res->attach_ms = stage_ms(&t_stage);
		if (err)
			goto out;
		free(e->spots);
		e->spots = spots;
		e->n_spots = n_spots;
		e->have_spots = !res->att.missing;
		spots = NULL;
	}

	/* remember what this successful push was made of */
	free(e->memo_ifx);
	free(e->memo_up);
	e->memo_ifx = ifx;
	e->memo_n_pods = c->n_pods;
	e->memo_up = up;
	e->memo_n_up = n_up;
	e->memo_c = e->have_spots ? c : NULL;
	ifx = NULL;
	up = NULL;

	res->ms = (double)(pw_now_ns() - start_ns) / 1e6;
	res->exit_code = PW_EXIT_OK;
	if (kind != PW_PUSH_TICK || res->sync.switched || res->att.attached ||
	    res->att.replaced || res->att.detached)
		log_apply(e, res);
	/*
	 * The names file for monitor/status/explain (ops) is handed to the
	 * writer thread last (st moves there): it is not enforcement, and at 10k
	 * pods writing it costs more than the sync, so no change waits for it.
	 * It follows the maps even when the attach after the switch failed.
	 */
	err = 0;
out:
	if (names_due)
		pw_ops_write_state_take(e->pin_dir, &st, c, &e->o, &res->sync);
	pw_metrics_observe_push(kind, start_ns, res, err); /* ops: --metrics */
	free(ifx);
	free(up);
	free(spots);
	pw_state_free(&st);
	return err;
}

/* ------------------------------------------------------------ the agent */

static const char agent_usage[] =
	"--source DIR|k8s [--kubeconfig PATH] [--cni-socket PATH] [--pin-dir P] [--mode enforce|audit] [--dns auto|off] "
	"[--uplink DEV]... [--dns-namespace NS] [--dns-label k=v]";

int cmd_agent(int argc, char **argv)
{
	struct pw_agent_opts o;
	struct pw_engine *e = NULL;
	struct pw_watch *w = NULL;
	struct pw_cluster *cur = NULL, *next;
	struct pw_push_result res;
	struct pw_error lerr;
	sigset_t mask, oldmask;
	bool help, dirty = false, net_dirty = false, running = true;
	uint64_t dirty_at = 0, net_at = 0, next_tick, ticks = 0;
	int sfd = -1, ret, err;
	struct stat sst;

	if (pw_metrics_take_opt(&argc, argv)) /* ops: --metrics [ADDR:]PORT */
		return PW_EXIT_USAGE;
	/*
	 * Each change allocates and frees the same few MB (compile tables, map
	 * diffs). Above glibc's mmap threshold each would be a fresh mapping,
	 * page-faulted in on every change (about a thousand faults at 10,000
	 * pods); kept in the heap they are reused. The price: up to 64 MB freed
	 * but not returned to the kernel.
	 */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	if (pw_src_take_opts(&argc, argv)) /* source: --cni-*, --kubeconfig */
		return PW_EXIT_USAGE;
	ret = pw_agent_parse(argc, argv, agent_usage, &o, &help);
	if (ret || help)
		return ret;
	if (!pw_src_is_api(o.source) && stat(o.source, &sst)) { /* source: k8s is no path */
		fprintf(stderr, "podwall agent: --source %s: %s\n", o.source, strerror(errno));
		pw_agent_opts_free(&o);
		return PW_EXIT_USAGE;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		fprintf(stderr, "podwall agent: signalfd: %s\n", strerror(errno));
		ret = PW_EXIT_SYSTEM;
		goto out;
	}

	ret = PW_EXIT_SYSTEM;
	err = pw_engine_new(&o, &e);
	if (err)
		goto out;
	err = pw_engine_bpf(e);
	if (err)
		goto out;
	ret = pw_metrics_start(pw_engine_pin_dir(e)); /* ops: --metrics */
	if (ret)
		goto out;
	ret = pw_src_start(e, &o); /* source: k8s API, CNI socket */
	if (ret)
		goto out;
	ret = PW_EXIT_SYSTEM;
	err = pw_src_is_api(o.source) ? 0 : pw_watch_open(o.source, &w); /* source */
	if (err) {
		fprintf(stderr, "podwall agent: watching %s: %s\n", o.source, strerror(-err));
		goto out;
	}
	fprintf(stderr, "podwall: agent started: source %s, maps pinned in %s, mode %s, dns %s\n",
		o.source, pw_engine_pin_dir(e), o.audit ? "audit" : "enforce",
		o.dns_auto ? "auto" : "off");

	/* first pass */
	{
		uint64_t t0 = pw_now_ns();

		err = pw_src_load(e, &cur, &lerr); /* source: dir or API, + CNI registry */
		if (err) {
			fprintf(stderr, "podwall: %s\n", lerr.msg);
			pw_metrics_observe_apply((double)(pw_now_ns() - t0) / 1e9, false); /* ops */
			fprintf(stderr, "podwall: nothing applied; the policy in force (if any) "
				"stays in force until the source is fixed\n");
		} else {
			pw_engine_push(e, cur, PW_PUSH_FIRST, t0, &res);
		}
	}

	next_tick = pw_now_ns() + PW_TICK_MS * 1000000ull;
	while (running) {
		struct pollfd pfd[4] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = w ? pw_watch_fd(w) : -1, .events = POLLIN },
			{ .fd = pw_src_fd(), .events = POLLIN }, /* source */
			/* the network changed: a tick soon (not polled until it has run) */
			{ .fd = net_dirty ? -1 : pw_engine_monitor_fd(e), .events = POLLIN },
		};
		uint64_t now = pw_now_ns(), deadline = next_tick, left;
		struct timespec timeout;
		int n;

		if (dirty && dirty_at + PW_COALESCE_NS < deadline)
			deadline = dirty_at + PW_COALESCE_NS;
		if (net_dirty && net_at + PW_COALESCE_NS < deadline)
			deadline = net_at + PW_COALESCE_NS;
		left = deadline > now ? deadline - now : 0;
		timeout.tv_sec = (time_t)(left / 1000000000ull);
		timeout.tv_nsec = (long)(left % 1000000000ull);
		n = ppoll(pfd, 4, &timeout, NULL); /* ns timeouts: the window is 2 ms */
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "podwall agent: poll: %s\n", strerror(errno));
			goto out;
		}
		if (n > 0 && (pfd[0].revents & POLLIN)) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					dirty = true;
					dirty_at = 0;
				} else {
					running = false;
				}
			}
			if (!running)
				break;
		}
		if (n > 0 && (pfd[1].revents & POLLIN)) {
			err = pw_watch_drain(w);
			if (err < 0) {
				fprintf(stderr, "podwall agent: reading inotify: %s\n", strerror(-err));
				goto out;
			}
			if (err > 0 && !dirty) {
				dirty = true;
				dirty_at = pw_now_ns(); /* opens the coalescing window */
			}
			/* a settled change (closed, renamed, deleted) needs no wait */
			if (err == 2)
				dirty_at = 0;
		}
		if (n > 0 && (pfd[2].revents & POLLIN) && pw_src_handle(e, &cur) > 0 && /* source */
		    !dirty) {
			dirty = true;
			dirty_at = pw_now_ns();
		}
		if (n > 0 && pfd[3].revents) {
			/* a new pod's device and route come in a burst: one window */
			net_dirty = true;
			net_at = pw_now_ns();
		}

		now = pw_now_ns();
		if (dirty && now >= dirty_at + PW_COALESCE_NS) {
			dirty = false;
			err = pw_src_load(e, &next, &lerr); /* source */
			if (err) {
				fprintf(stderr, "podwall: %s\n", lerr.msg);
				pw_metrics_observe_apply((double)(pw_now_ns() - now) / 1e9, false); /* ops */
				fprintf(stderr, "podwall: nothing applied; the policy in force stays "
					"in force\n");
			} else {
				err = pw_engine_push(e, next, cur ? PW_PUSH_SOURCE : PW_PUSH_FIRST,
						     now, &res);
				if (!err || res.exit_code != PW_EXIT_USAGE) {
					/* keep the new objects (system errors retry on ticks) */
					pw_cluster_free(cur);
					cur = next;
				} else {
					pw_cluster_free(next);
				}
			}
		}
		if (net_dirty && now >= net_at + PW_COALESCE_NS && now < next_tick) {
			/* a tick ahead of time: devices and routes are resolved again */
			net_dirty = false;
			if (cur)
				pw_engine_push(e, cur, PW_PUSH_TICK, now, &res);
			else
				pw_rt_monitor_drain(pw_engine_monitor_fd(e));
		}
		if (now >= next_tick) {
			next_tick = now + PW_TICK_MS * 1000000ull;
			net_dirty = false;
			if (++ticks % PW_VERIFY_TICKS == 0)
				pw_engine_verify_next(e);
			if (w && pw_watch_rearm(w) > 0) {
				dirty = true;
				dirty_at = 0;
			}
			if (cur)
				pw_engine_push(e, cur, PW_PUSH_TICK, now, &res);
		}
	}
	fprintf(stderr, "podwall: agent stopping; programs stay attached and maps pinned in %s\n",
		pw_engine_pin_dir(e));
	ret = PW_EXIT_OK;
out:
	pw_metrics_stop(); /* ops */
	pw_ops_state_flush(); /* ops: the names file of the last sync is on disk */
	pw_src_stop(); /* source */
	pw_cluster_free(cur);
	pw_watch_close(w);
	pw_engine_free(e);
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	pw_agent_opts_free(&o);
	return ret;
}
