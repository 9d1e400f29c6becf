// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * podwall agent: keep the kernel in line with a directory of manifests (or
 * the Kubernetes API, and podwall-cni's registry).
 *
 * This file parses the options (shared with `podwall apply`), builds the
 * engine (agent/engine/) with its hooks, starts the sources (agent/source/)
 * and the metrics (agent/ops/), and runs the engine's loop: load + compile +
 * sync + attach, then follow the sources. Bad input is reported and changes
 * nothing; SIGTERM/SIGINT leave programs attached and maps pinned
 * (enforcement goes on), as does kill -9.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/stat.h>
#include "cmd/cmd.h"
#include "cmd/agent.h"
#include "cmd/opts.h"
#include "ops/health.h"
#include "ops/metrics.h"
#include "ops/statefile.h"
#include "source/source.h"

/* ------------------------------------------------------------ options */

void pw_agent_opts_free(struct pw_agent_opts *o)
{
	free(o->dns_label_buf);
	o->dns_label_buf = NULL;
}

int pw_agent_opt(const struct pw_cmd_doc *d, struct pw_agent_opts *o, const struct pw_opt *opt,
		 const char *val)
{
	struct pw_engine_config *eng = &o->eng;
	const char *eq;

	switch (opt->id) {
	case PW_AOPT_PIN_DIR:
		eng->pin_dir = val;
		return 0;
	case PW_AOPT_MODE:
		if (strcmp(val, "audit") && strcmp(val, "enforce"))
			break;
		eng->audit = !strcmp(val, "audit");
		return 0;
	case PW_AOPT_DNS:
		if (strcmp(val, "auto") && strcmp(val, "off"))
			break;
		eng->dns_auto = !strcmp(val, "auto");
		return 0;
	case PW_AOPT_UPLINK:
		if (eng->n_uplinks == PW_MAX_UPLINKS)
			return pw_opts_bad(d, "at most %d --uplink", PW_MAX_UPLINKS);
		eng->uplinks[eng->n_uplinks++] = val;
		return 0;
	case PW_AOPT_DNS_NS:
		eng->dns_namespace = val;
		return 0;
	case PW_AOPT_REDIRECT:
		eng->redirect = true;
		return 0;
	case PW_AOPT_DNS_LABEL:
		eq = strchr(val, '=');
		if (!eq || eq == val || (size_t)(eq - val) >= sizeof(o->dns_label_key))
			break;
		memcpy(o->dns_label_key, val, (size_t)(eq - val));
		o->dns_label_key[eq - val] = 0;
		free(o->dns_label_buf);
		o->dns_label_buf = strdup(eq + 1);
		if (!o->dns_label_buf)
			return PW_EXIT_SYSTEM;
		eng->dns_label_key = o->dns_label_key;
		eng->dns_label_value = o->dns_label_buf;
		return 0;
	default:
		return PW_EXIT_USAGE;
	}
	return pw_opts_bad(d, "bad value '%s' for %s (%s)", val, pw_opt_name(opt), opt->arg);
}

void pw_agent_opts_done(struct pw_agent_opts *o)
{
	o->run = (struct pw_state_run){ .source = o->source, .audit = o->eng.audit,
					.dns_auto = o->eng.dns_auto };
}

/* ------------------------------------------------------------ hooks */

static void log_stderr(void *ctx, const char *line)
{
	fprintf(stderr, "podwall: %s\n", line);
}

/* the names behind the numbers, for monitor/status/explain (ops/statefile.h) */
static void write_state_file(void *ctx, const char *pin_dir, struct pw_state *s,
			     const struct pw_cluster *c, const struct pw_sync_stats *st)
{
	const struct pw_agent_opts *o = ctx;

	pw_ops_write_state_take(pin_dir, s, c, &o->run, st);
}

/*
 * The first change after the start builds a second cluster and state while
 * the first ones are still in use, which takes the heap past anything the
 * start-up pass touched: ~1,600 page faults at 10,000 pods (~6.5 MB of the
 * ~22 MB in use), ~4 ms of system time in that one change, every time (the
 * next ones reuse what it freed: mallopt below). So once the first pass has
 * synced, its cluster and state still allocated, half as much again is
 * allocated, touched page by page and freed: it stays in the heap
 * (M_TRIM_THRESHOLD), faulted in, for the first change. The agent's RSS is
 * what it was after that change without it (45-46 MiB in podwall bench
 * control); below M_MMAP_THRESHOLD, so from the heap.
 */
#define PREFAULT_MAX (30u << 20)

static void prefault_heap(void)
{
	struct mallinfo2 mi = mallinfo2();
	size_t n = mi.uordblks / 2 < PREFAULT_MAX ? mi.uordblks / 2 : PREFAULT_MAX;
	volatile char *p = malloc(n ? n : 1);

	if (!p)
		return;
	for (size_t i = 0; i < n; i += 4096)
		p[i] = 0;
	free((void *)p);
}

static void agent_pushed(void *ctx, enum pw_push_kind kind, uint64_t start_ns,
			 const struct pw_push_result *res, int err)
{
	static bool prefaulted;

	pw_metrics_observe_push(ctx, kind, start_ns, res, err);   /* --metrics */
	if (!prefaulted && !err && res && res->did_sync) {
		prefaulted = true;
		prefault_heap();
	}
}

void pw_agent_hooks(struct pw_agent_opts *o, struct pw_engine_hooks *h)
{
	*h = (struct pw_engine_hooks){
		.ctx = o,
		.local_ifindex = pw_src_local,        /* the CNI registry before routes */
		.synced = write_state_file,
		.pushed = pw_metrics_observe_push,    /* --metrics */
		.load_failed = pw_metrics_observe_load_failed,
		.log = log_stderr,
	};
}

/* ------------------------------------------------------------ the agent */

enum { O_SOURCE = PW_AOPT_MAX_, O_KUBECONFIG, O_KUBE_CONTEXT, O_CNI_SOCKET, O_CNI_STATE,
       O_CNI_POD_WAIT, O_CNI_CONF_DIR, O_METRICS, O_HEALTH };

static const struct pw_opt agent_opts[] = {
	{ O_SOURCE, 'f', "source", "DIR|FILE|k8s", "what to follow: a directory of manifests, "
	  "or the Kubernetes API", "filename" },
	{ O_KUBECONFIG, 0, "kubeconfig", "PATH", "k8s: a kubeconfig (default: in-cluster)", NULL },
	{ O_KUBE_CONTEXT, 0, "kube-context", "C", "k8s: the kubeconfig's context", NULL },
	{ O_CNI_SOCKET, 0, "cni-socket", "PATH", "serve podwall-cni here "
	  "(default /run/podwall/cni.sock)", NULL },
	{ O_CNI_STATE, 0, "cni-state", "PATH", "the CNI registry's file (default: beside the "
	  "socket)", NULL },
	{ O_CNI_POD_WAIT, 0, "cni-pod-wait", "MS", "how long an ADD waits for its Pod object "
	  "(default 3000)", NULL },
	{ O_CNI_CONF_DIR, 0, "cni-conf-dir", "DIR", "keep podwall-cni chained in this CNI "
	  "configuration directory", NULL },
	{ O_METRICS, 0, "metrics", "[ADDR:]PORT", "serve Prometheus metrics, /healthz and "
	  "/readyz (a bare port: loopback)", NULL },
	{ O_HEALTH, 0, "health", "[ADDR:]PORT", "serve /healthz and /readyz on an address of "
	  "their own", NULL },
	PW_AGENT_OPTS,
	{ 0 },
};

const struct pw_cmd_doc pw_doc_agent = {
	"agent",
	"--source DIR|k8s [--kubeconfig PATH] [--kube-context C] [--cni-socket PATH] "
	"[--cni-state PATH] [--cni-pod-wait MS] [--cni-conf-dir DIR] [--metrics [ADDR:]PORT] "
	"[--health [ADDR:]PORT] [--pin-dir P] "
	"[--mode enforce|audit] [--dns auto|off] [--uplink DEV]... [--dns-namespace NS] "
	"[--dns-label k=v] [--redirect]",
	"the node agent: attach, keep the pinned maps equal to the compiled state, follow the "
	"source; serve podwall-cni",
	agent_opts,
};

static int agent_opt(void *ctx, const struct pw_opt *opt, const char *val)
{
	struct pw_agent_opts *o = ctx;
	struct pw_error why = { { 0 } };
	int err;

	if (!opt)
		return pw_opts_bad(&pw_doc_agent, "unexpected argument '%s'", val);
	switch (opt->id) {
	case O_SOURCE:
		o->source = val;
		return 0;
	case O_METRICS: case O_HEALTH:
		err = pw_metrics_opt(opt->long_name, val, &why); /* ops */
		break;
	case O_KUBECONFIG: case O_KUBE_CONTEXT: case O_CNI_SOCKET: case O_CNI_STATE:
	case O_CNI_POD_WAIT: case O_CNI_CONF_DIR:
		err = pw_src_opt(opt->long_name, val, &why); /* source */
		break;
	default:
		return pw_agent_opt(&pw_doc_agent, o, opt, val);
	}
	if (err)
		fprintf(stderr, "podwall agent: %s\n", why.msg);
	return err ? PW_EXIT_USAGE : 0;
}

/* A negative errno of a layer below: bad usage (-EINVAL) or the system. */
static int exit_code(int err)
{
	return !err ? PW_EXIT_OK : err == -EINVAL ? PW_EXIT_USAGE : PW_EXIT_SYSTEM;
}

int cmd_agent(int argc, char **argv)
{
	struct pw_engine_run run = { .load = pw_src_load };
	struct pw_engine_hooks hooks;
	struct pw_agent_opts o;
	struct pw_engine *e = NULL;
	struct pw_error why = { { 0 } };
	sigset_t mask, oldmask;
	struct stat sst;
	int ret, err;

	memset(&o, 0, sizeof(o));
	ret = pw_opts_parse(&pw_doc_agent, argc, argv, agent_opt, &o);
	if (!ret && !o.source)
		ret = pw_opts_bad(&pw_doc_agent, "no source given (--source DIR|k8s)");
	if (ret) {
		pw_agent_opts_free(&o);
		return ret == PW_OPTS_HELP ? PW_EXIT_OK : ret;
	}
	pw_agent_opts_done(&o);
	if (pw_src_check(o.source, &why)) { /* bad usage: before anything is pinned */
		fprintf(stderr, "podwall agent: %s\n", why.msg);
		pw_agent_opts_free(&o);
		return PW_EXIT_USAGE;
	}
	if (!pw_src_is_api(o.source) && stat(o.source, &sst)) { /* k8s is no path */
		fprintf(stderr, "podwall agent: --source %s: %s\n", o.source, strerror(errno));
		pw_agent_opts_free(&o);
		return PW_EXIT_USAGE;
	}
	/*
	 * Each change allocates and frees the same few MB (compile tables, map
	 * diffs). Above glibc's mmap threshold each would be a fresh mapping,
	 * page-faulted in on every change (about a thousand faults at 10,000
	 * pods); kept in the heap they are reused. The price: up to 64 MB freed
	 * but not returned to the kernel.
	 */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);

	/* a stop or reload during start-up waits for the loop (pw_engine_run) */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);

	pw_agent_hooks(&o, &hooks);
	hooks.pushed = agent_pushed;   /* the metrics', and the heap's prefault */
	ret = PW_EXIT_SYSTEM;
	err = pw_engine_new(&o.eng, &hooks, &e);
	if (!err)
		err = pw_engine_bpf(e);
	if (err)
		goto out;
	pw_health_set_engine(e); /* ops: /healthz, /readyz read the engine's facts */
	err = pw_metrics_start(pw_engine_pin_dir(e), &why); /* ops: --metrics, --health */
	if (!err)
		err = pw_src_start(o.source, pw_engine_pin_dir(e), &why); /* source */
	if (err) {
		fprintf(stderr, "podwall agent: %s\n", why.msg[0] ? why.msg : strerror(-err));
		ret = exit_code(err);
		goto out;
	}
	run.n_src = pw_src_sources(run.src, PW_ENGINE_MAX_SOURCES);
	fprintf(stderr, "podwall: agent started: source %s, maps pinned in %s, mode %s, dns %s\n",
		o.source, pw_engine_pin_dir(e), o.eng.audit ? "audit" : "enforce",
		o.eng.dns_auto ? "auto" : "off");
	err = pw_engine_run(e, &run);
	if (!err)
		fprintf(stderr, "podwall: agent stopping; programs stay attached and maps pinned "
			"in %s\n", pw_engine_pin_dir(e));
	ret = err ? PW_EXIT_SYSTEM : PW_EXIT_OK;
out:
	pw_metrics_stop(); /* ops */
	pw_health_set_engine(NULL);
	pw_ops_state_flush(); /* ops: the names file of the last sync is on disk */
	pw_src_stop(); /* source */
	pw_engine_free(e);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	pw_agent_opts_free(&o);
	return ret;
}
