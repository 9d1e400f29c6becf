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
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/stat.h>
#include "cmd/cmd.h"
#include "cmd/agent.h"
#include "ops/health.h"
#include "ops/metrics.h"
#include "ops/statefile.h"
#include "source/source.h"

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
	struct pw_engine_config *eng = &o->eng;
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
			eng->pin_dir = optarg;
			break;
		case OPT_MODE:
			if (!strcmp(optarg, "audit"))
				eng->audit = true;
			else if (!strcmp(optarg, "enforce"))
				eng->audit = false;
			else
				goto bad_value;
			break;
		case OPT_DNS:
			if (!strcmp(optarg, "auto"))
				eng->dns_auto = true;
			else if (!strcmp(optarg, "off"))
				eng->dns_auto = false;
			else
				goto bad_value;
			break;
		case OPT_UPLINK:
			if (eng->n_uplinks == PW_MAX_UPLINKS) {
				fprintf(stderr, "podwall %s: at most %d --uplink\n", cmd, PW_MAX_UPLINKS);
				return PW_EXIT_USAGE;
			}
			eng->uplinks[eng->n_uplinks++] = optarg;
			break;
		case OPT_DNS_NS:
			eng->dns_namespace = optarg;
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
			eng->dns_label_key = o->dns_label_key;
			eng->dns_label_value = o->dns_label_buf;
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
	o->run = (struct pw_state_run){ .source = o->source, .audit = eng->audit,
					.dns_auto = eng->dns_auto };
	return 0;

bad_value:
	fprintf(stderr, "podwall %s: bad value '%s' for --%s\nusage: podwall %s %s\n", cmd, optarg,
		idx >= 0 ? longopts[idx].name : "?", cmd, usage);
	return PW_EXIT_USAGE;
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

static const char agent_usage[] =
	"--source DIR|k8s [--kubeconfig PATH] [--cni-socket PATH] [--pin-dir P] [--mode enforce|audit] [--dns auto|off] "
	"[--uplink DEV]... [--dns-namespace NS] [--dns-label k=v] [--metrics [ADDR:]PORT] "
	"[--health [ADDR:]PORT] [--cni-conf-dir DIR]";

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
	sigset_t mask, oldmask;
	struct stat sst;
	bool help;
	int ret, err;

	if (pw_metrics_take_opt(&argc, argv)) /* ops: --metrics [ADDR:]PORT */
		return PW_EXIT_USAGE;
	if (pw_src_take_opts(&argc, argv)) /* source: --cni-*, --kubeconfig */
		return PW_EXIT_USAGE;
	ret = pw_agent_parse(argc, argv, agent_usage, &o, &help);
	if (ret || help)
		return ret;
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
	ret = PW_EXIT_SYSTEM;
	err = pw_engine_new(&o.eng, &hooks, &e);
	if (!err)
		err = pw_engine_bpf(e);
	if (err)
		goto out;
	pw_health_set_engine(e); /* ops: /healthz, /readyz read the engine's facts */
	err = pw_metrics_start(pw_engine_pin_dir(e)); /* ops: --metrics, --health */
	if (!err)
		err = pw_src_start(o.source, pw_engine_pin_dir(e)); /* source */
	if (err) {
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
