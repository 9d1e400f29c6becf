// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent's event loop (engine.h: pw_engine_run). One thread, one ppoll
 * over the signals, the sources and the rtnetlink monitor:
 *
 *   - a source that reports a change opens a coalescing window: a settled
 *     change (a file closed, renamed in, deleted) is loaded and pushed at
 *     once when the loop is idle; a file just created waits up to 2 ms for
 *     its writer's close; what comes during a push is coalesced into the
 *     next (the window is never pushed back, so a stream of events cannot
 *     starve the reload);
 *   - a source with someone waiting (a CNI ADD) gets a load and push now;
 *   - a network change (a new pod's device, a route) gets a tick after the
 *     same window; ticks re-resolve pods' devices every second and list
 *     every filter every 10 s;
 *   - SIGHUP loads again; SIGTERM and SIGINT leave the loop, and programs
 *     stay attached and maps pinned (enforcement goes on), as with kill -9.
 *
 * Only the loop decides to push; sources only say what happened.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include "clock.h"
#include "engine/internal.h"

#define PW_COALESCE_NS  2000000ull
#define PW_TICK_NS      1000000000ull
#define PW_VERIFY_TICKS 10 /* every 10 s the filters are listed and repaired */

struct loop {
	struct pw_engine          *e;
	const struct pw_engine_run *r;
	struct pw_cluster         *cur;       /* the objects in force (NULL: none yet) */
	bool                       dirty, net_dirty;
	uint64_t                   dirty_at, net_at;
};

/* Note what a source said; returns false when the loop must end. */
static bool note(struct loop *l, int bits, bool *now)
{
	if (bits & PW_SRC_STOP)
		return false;
	if ((bits & PW_SRC_CHANGED) && !l->dirty) {
		l->dirty = true;
		l->dirty_at = pw_now_ns(); /* opens the coalescing window */
	}
	if ((bits & PW_SRC_SETTLED) && l->dirty)
		l->dirty_at = 0; /* a settled change needs no wait */
	if (bits & PW_SRC_NOW)
		*now = true;
	return true;
}

/*
 * A terminating pod that yields its address to a new pod (pw_cluster_finish)
 * is said once, when it starts to: not again on each load while it lasts.
 */
static void warn_replaced(struct pw_engine *e, const struct pw_cluster *cur,
			  const struct pw_cluster *next)
{
	for (size_t i = 0; i < next->n_skipped_pods; i++) {
		const struct pw_pod *p = &next->skipped_pods[i], *was;
		char msg[1024];

		if (p->role != PW_POD_REPLACED)
			continue;
		was = cur ? pw_cluster_skipped_pod(cur, p->ns, p->name) : NULL;
		if (was && was->role == PW_POD_REPLACED &&
		    !strcmp(was->replaced_by.ns, p->replaced_by.ns) &&
		    !strcmp(was->replaced_by.name, p->replaced_by.name))
			continue;
		pw_pod_replaced_text(p, msg, sizeof(msg));
		pw_engine_log(e, "warning: %s", msg);
	}
}

/* Load the sources' objects and push them; every source hears how it went. */
static void load_and_push(struct loop *l, uint64_t t0)
{
	struct pw_engine *e = l->e;
	struct pw_cluster *next = NULL;
	struct pw_push_result res;
	struct pw_error lerr;
	char why[1100];
	int err;

	memset(&lerr, 0, sizeof(lerr));
	why[0] = 0;
	pw_engine_load_begins(e, t0);
	err = l->r->load(l->r->load_ctx, &next, &lerr);
	if (err) {
		pw_engine_log(e, "%s", lerr.msg);
		if (e->hooks.load_failed)
			e->hooks.load_failed(e->hooks.ctx, t0);
		pw_engine_log(e, l->cur ? "nothing applied; the policy in force stays in force"
					: "nothing applied; the policy in force (if any) stays in "
					  "force until the source is fixed");
		snprintf(why, sizeof(why), "%s", lerr.msg);
	} else {
		warn_replaced(e, l->cur, next);
		err = pw_engine_push(e, next, l->cur ? PW_PUSH_SOURCE : PW_PUSH_FIRST, t0, &res);
		if (!err || !res.input_error) {
			/* keep the new objects (system errors retry on ticks) */
			pw_cluster_free(l->cur);
			l->cur = next;
		} else {
			pw_cluster_free(next);
		}
		if (err)
			snprintf(why, sizeof(why), "applying the policy failed (%s); see the "
				 "agent's log", strerror(-err));
	}
	PW_ENGINE_HEALTH_SET(e, h_source_ok, !err);
	for (size_t i = 0; i < l->r->n_src; i++)
		if (l->r->src[i].pushed)
			l->r->src[i].pushed(l->r->src[i].ctx, err, why[0] ? why : NULL);
}

static void tick_push(struct loop *l, uint64_t now)
{
	struct pw_push_result res;

	if (l->cur)
		pw_engine_push(l->e, l->cur, PW_PUSH_TICK, now, &res);
	else
		pw_rt_monitor_drain(pw_engine_monitor_fd(l->e));
}

/* Read the signals: false on SIGTERM/SIGINT; SIGHUP is a settled change. */
static bool read_signals(struct loop *l, int sfd, bool *now)
{
	struct signalfd_siginfo si;
	bool running = true;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			note(l, PW_SRC_CHANGED | PW_SRC_SETTLED, now);
		else
			running = false;
	}
	return running;
}

static int run(struct loop *l, int sfd)
{
	const struct pw_engine_run *r = l->r;
	struct pw_engine *e = l->e;
	uint64_t next_tick, ticks = 0;

	load_and_push(l, pw_now_ns()); /* the first pass */
	next_tick = pw_now_ns() + PW_TICK_NS;
	for (;;) {
		struct pollfd pfd[2 + PW_ENGINE_MAX_SOURCES];
		size_t n_fd = 0, mon = 0;
		uint64_t now = pw_now_ns(), deadline = next_tick, left;
		struct timespec timeout;
		bool push_now = false;
		int n;

		PW_ENGINE_HEALTH_SET(e, h_loop_ns, now);
		pfd[n_fd++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		for (size_t i = 0; i < r->n_src; i++)
			pfd[n_fd++] = (struct pollfd){ .fd = r->src[i].fd, .events = POLLIN };
		/* the network changed: a tick soon (not polled until it has run) */
		mon = n_fd;
		pfd[n_fd++] = (struct pollfd){ .fd = l->net_dirty ? -1 : pw_engine_monitor_fd(e),
					       .events = POLLIN };

		if (l->dirty && l->dirty_at + PW_COALESCE_NS < deadline)
			deadline = l->dirty_at + PW_COALESCE_NS;
		if (l->net_dirty && l->net_at + PW_COALESCE_NS < deadline)
			deadline = l->net_at + PW_COALESCE_NS;
		left = deadline > now ? deadline - now : 0;
		timeout.tv_sec = (time_t)(left / 1000000000ull);
		timeout.tv_nsec = (long)(left % 1000000000ull);
		n = ppoll(pfd, n_fd, &timeout, NULL); /* ns timeouts: the window is 2 ms */
		if (n < 0 && errno != EINTR) {
			int err = -errno;

			pw_engine_log(e, "poll: %s", strerror(-err));
			return err;
		}
		if (n > 0 && (pfd[0].revents & POLLIN) && !read_signals(l, sfd, &push_now))
			return 0;
		for (size_t i = 0; n > 0 && i < r->n_src; i++) {
			int bits;

			if (!(pfd[1 + i].revents & POLLIN) || !r->src[i].ready)
				continue;
			bits = r->src[i].ready(r->src[i].ctx);
			if (bits < 0) {
				pw_engine_log(e, "%s: %s", r->src[i].name, strerror(-bits));
				return bits;
			}
			if (!note(l, bits, &push_now))
				return 0;
			/* someone waits on this push: before anything else */
			if (push_now) {
				push_now = false;
				load_and_push(l, pw_now_ns());
			}
		}
		if (n > 0 && pfd[mon].revents) {
			/* a new pod's device and route come in a burst: one window */
			l->net_dirty = true;
			l->net_at = pw_now_ns();
		}

		now = pw_now_ns();
		if (l->dirty && now >= l->dirty_at + PW_COALESCE_NS) {
			l->dirty = false;
			load_and_push(l, now);
		}
		if (l->net_dirty && now >= l->net_at + PW_COALESCE_NS && now < next_tick) {
			/* a tick ahead of time: devices and routes are resolved again */
			l->net_dirty = false;
			tick_push(l, now);
		}
		if (now >= next_tick) {
			next_tick = now + PW_TICK_NS;
			l->net_dirty = false;
			if (++ticks % PW_VERIFY_TICKS == 0)
				pw_engine_verify_next(e);
			for (size_t i = 0; i < r->n_src; i++) {
				int bits = r->src[i].tick ? r->src[i].tick(r->src[i].ctx) : 0;

				if (bits > 0 && !note(l, bits, &push_now))
					return 0;
			}
			tick_push(l, now);
		}
	}
}

int pw_engine_run(struct pw_engine *e, const struct pw_engine_run *r)
{
	struct loop l = { .e = e, .r = r };
	sigset_t mask, oldmask;
	int sfd, err;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		err = -errno;
		pw_engine_log(e, "signalfd: %s", strerror(-err));
	} else {
		err = run(&l, sfd);
		close(sfd);
	}
	PW_ENGINE_HEALTH_SET(e, h_loop_ns, 0);
	pw_cluster_free(l.cur);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	return err;
}
