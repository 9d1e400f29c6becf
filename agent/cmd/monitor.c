// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * podwall monitor [-o json] [--pod NS/POD] [--namespace NS]
 *                 [--verdict drop|allow|audit] [--pin-dir P] [--count N] [--backlog]
 *
 * Live verdict events, and the addresses pods learn from DNS answers, from
 * the pinned ring buffer (opened by path: nothing is loaded or changed),
 * named with the loaded-state file (re-read when the
 * agent rewrites it). Events the kernel's rate limit suppressed are counted
 * in the next event of the same CPU: they are reported as they come
 * ("N events suppressed by the kernel rate limit"), totalled at the end,
 * with those still pending in the per-CPU limiter. Never silently lost.
 *
 * The ring buffer has one consumer position: run one monitor per node.
 * Exit: 0 after SIGINT/SIGTERM or --count, 2 usage, 3 system.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/libbpf.h>
#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "clock.h"
#include "ops/events.h"
#include "ops/pins.h"
#include "ops/statefile.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct mon {
	bool                json;
	bool                backlog;
	struct pw_ev_filter filter;
	long                count;       /* stop after this many printed; 0: never */
	uint64_t            start_ns;    /* monotonic: events before are backlog */
	char                state_path[PATH_MAX];
	struct timespec     state_mtime;
	bool                have_state;
	struct pw_loaded    names;
	uint64_t            n_events, n_printed, n_backlog, n_suppressed;
};

/* (Re)load the names when the agent rewrote the state file. */
static void mon_refresh_names(struct mon *m)
{
	struct stat st;
	struct pw_loaded l;

	if (stat(m->state_path, &st)) {
		if (m->have_state) {
			pw_loaded_free(&m->names);
			m->have_state = false;
		}
		return;
	}
	if (m->have_state && st.st_mtim.tv_sec == m->state_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == m->state_mtime.tv_nsec)
		return;
	if (pw_loaded_load(m->state_path, &l))
		return;
	pw_loaded_free(&m->names);
	m->names = l;
	m->have_state = true;
	m->state_mtime = st.st_mtim;
}

/*
 * Say how many events the kernel suppressed: carried by an event (pending
 * false), or still in the per-CPU limiter when the monitor stops (pending
 * true; a later event will carry them).
 */
static void report_suppressed(struct mon *m, uint64_t n, bool pending)
{
	const char *what = pending ? "(pending: not yet reported with an event)" : "";

	if (!n)
		return;
	if (m->json)
		printf("{\"type\":\"suppressed\",\"count\":%llu,\"pending\":%s}\n",
		       (unsigned long long)n, pending ? "true" : "false");
	else
		printf("-- %llu events suppressed by the kernel rate limit%s%s\n",
		       (unsigned long long)n, *what ? " " : "", what);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct mon *m = ctx;
	struct pw_event e;
	struct pw_ev_names n;

	if (size < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	m->n_events++;
	if (e.suppressed) {
		m->n_suppressed += e.suppressed;
		report_suppressed(m, e.suppressed, false);
	}
	if (!m->backlog && e.ts_ns < m->start_ns) {
		m->n_backlog++;
		return 0;
	}
	pw_ev_names(&e, m->have_state ? &m->names : NULL, &n);
	if (!pw_ev_match(&e, &n, &m->filter))
		return 0;
	if (m->json)
		pw_ev_print_json(stdout, &e, m->have_state ? &m->names : NULL, &n);
	else
		pw_ev_print_text(stdout, &e, m->have_state ? &m->names : NULL, &n);
	m->n_printed++;
	if (m->count && (long)m->n_printed >= m->count)
		stop = 1;
	return stop ? 1 : 0;
}

static uint8_t verdict_parse(const char *s)
{
	if (!strcmp(s, "drop"))
		return PW_VERDICT_DROP;
	if (!strcmp(s, "allow"))
		return PW_VERDICT_ALLOW;
	if (!strcmp(s, "audit"))
		return PW_VERDICT_AUDIT;
	return 0;
}

enum { O_OUTPUT = 1, O_POD, O_NS, O_VERDICT, O_PIN_DIR, O_COUNT, O_BACKLOG };

static const struct pw_opt monitor_opts[] = {
	PW_OPT_OUTPUT(O_OUTPUT),
	{ O_POD, 0, "pod", "NS/POD", "only events of this pod", NULL },
	{ O_NS, 'n', "namespace", "NS", "only events of pods of this namespace", NULL },
	{ O_VERDICT, 0, "verdict", "drop|allow|audit", "only events of this verdict", NULL },
	{ O_PIN_DIR, 0, "pin-dir", "P", "the pin dir (default: this network namespace's)", NULL },
	{ O_COUNT, 'c', "count", "N", "stop after N events", NULL },
	{ O_BACKLOG, 0, "backlog", NULL, "print the events already in the ring first", NULL },
	{ 0 },
};

const struct pw_cmd_doc pw_doc_monitor = {
	"monitor",
	"[-o text|json] [--pod NS/POD] [--namespace NS] [--verdict drop|allow|audit] "
	"[--pin-dir P] [--count N] [--backlog]",
	"live verdict events with reasons, policies and DNS names; names learned from DNS",
	monitor_opts,
};

struct monitor_args {
	struct mon *m;
	const char *pin_dir;
};

static int monitor_opt(void *ctx, const struct pw_opt *o, const char *val)
{
	struct monitor_args *a = ctx;
	struct mon *m = a->m;
	char *end;

	if (!o)
		return pw_opts_bad(&pw_doc_monitor, "unexpected argument '%s'", val);
	switch (o->id) {
	case O_OUTPUT:
		return pw_opts_output(&pw_doc_monitor, val, &m->json);
	case O_POD:
		if (!strchr(val, '/'))
			return pw_opts_bad(&pw_doc_monitor, "--pod: NS/POD, not '%s'", val);
		m->filter.pod = val;
		return 0;
	case O_NS:
		m->filter.ns = val;
		return 0;
	case O_VERDICT:
		m->filter.verdict = verdict_parse(val);
		if (!m->filter.verdict)
			return pw_opts_bad(&pw_doc_monitor, "--verdict: drop, allow or audit, "
					   "not '%s'", val);
		return 0;
	case O_PIN_DIR:
		a->pin_dir = val;
		return 0;
	case O_COUNT:
		m->count = strtol(val, &end, 10);
		if (*end || m->count < 1)
			return pw_opts_bad(&pw_doc_monitor, "--count: a positive number, not '%s'",
					   val);
		return 0;
	case O_BACKLOG:
		m->backlog = true;
		return 0;
	}
	return PW_EXIT_USAGE;
}

int cmd_monitor(int argc, char **argv)
{
	struct mon m = { 0 };
	struct monitor_args args = { &m, NULL };
	struct pw_pins pins;
	struct ring_buffer *rb = NULL;
	struct sigaction sa = { 0 };
	const char *pin_dir = NULL;
	struct pw_config cfg;
	struct pw_error why;
	uint64_t pending = 0, last_refresh = 0;
	int err, ret;

	ret = pw_opts_parse(&pw_doc_monitor, argc, argv, monitor_opt, &args);
	if (ret)
		return ret == PW_OPTS_HELP ? PW_EXIT_OK : ret;
	ret = PW_EXIT_SYSTEM;
	pin_dir = args.pin_dir;

	err = pw_pins_open(pin_dir, PW_PIN_BIT(PW_MAP_EVENTS), &pins, &why);
	if (err) {
		fprintf(stderr, "podwall monitor: %s\n", why.msg);
		return err == -ENOENT ? PW_EXIT_FOUND : PW_EXIT_SYSTEM;
	}
	if (pw_ops_state_path(pins.dir, m.state_path, sizeof(m.state_path)) == 0)
		mon_refresh_names(&m);
	if (!m.have_state)
		fprintf(stderr, "podwall monitor: note: no state file %s: showing addresses and "
			"numbers, not names\n", m.state_path);
	if (m.filter.verdict == PW_VERDICT_ALLOW && !pw_pins_config(&pins, &cfg) &&
	    !(cfg.flags & PW_CFG_EVENTS_ALLOW))
		fprintf(stderr, "podwall monitor: note: the datapath reports allowed flows only "
			"when config.flags has PW_CFG_EVENTS_ALLOW; now it reports drops and audit "
			"events\n");

	setvbuf(stdout, NULL, _IOLBF, 0);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);

	rb = ring_buffer__new(pins.fd[PW_MAP_EVENTS], on_event, &m, NULL);
	if (!rb) {
		fprintf(stderr, "podwall monitor: ring buffer %s/events: %s\n", pins.dir,
			strerror(errno));
		goto out;
	}
	m.start_ns = pw_now_ns();
	fprintf(stderr, "podwall monitor: reading events from %s/events%s (Ctrl-C to stop)\n",
		pins.dir, m.backlog ? ", backlog included" : "");
	while (!stop) {
		uint64_t now;

		err = ring_buffer__poll(rb, 250);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "podwall monitor: reading events: %s\n", strerror(-err));
			goto out;
		}
		now = pw_now_ns();
		if (now - last_refresh > 1000000000ull) {
			mon_refresh_names(&m);
			last_refresh = now;
		}
	}
	ret = PW_EXIT_OK;
out:
	if (!pw_pins_pending_suppressed(&pins, &pending) && pending)
		report_suppressed(&m, pending, true);
	fprintf(stderr, "podwall monitor: %llu events read, %llu shown, %llu from before the "
		"start skipped, %llu suppressed by the kernel rate limit (+%llu pending)\n",
		(unsigned long long)m.n_events, (unsigned long long)m.n_printed,
		(unsigned long long)m.n_backlog, (unsigned long long)m.n_suppressed,
		(unsigned long long)pending);
	ring_buffer__free(rb);
	pw_pins_close(&pins);
	pw_loaded_free(&m.names);
	return ret;
}
