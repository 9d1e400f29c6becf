/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The events ring buffer's writer side: one per-CPU rate limit in
 * one-second windows for every kind of event (verdicts, events.h; names
 * learned, fqdn.h), so that no kind can flood the reader past
 * config.events_per_sec. An event over budget, or one the full ring has no
 * room for, is counted as suppressed and reported with the next one sent.
 */
#ifndef PW_BPF_EVRING_H
#define PW_BPF_EVRING_H

#include "lib/common.h"
#include "lib/maps.h"

#define PW_EVENTS_PER_SEC_DEFAULT 1000

/*
 * A zeroed event to fill and bpf_ringbuf_submit(), its time and the
 * suppressed count set; NULL when this CPU's budget for the second (limit
 * per second, 0: the default) is spent or the ring is full.
 */
static __always_inline struct pw_event *pw_event_reserve(__u32 limit)
{
	__u64 now = pw_now(); /* the window; the event's own time is precise */
	struct pw_ratelimit *rl;
	struct pw_event *ev;
	__u32 zero = 0;

	rl = bpf_map_lookup_elem(&ratelimit, &zero);
	if (!rl)
		return NULL;
	if (!limit)
		limit = PW_EVENTS_PER_SEC_DEFAULT;
	if (pw_older(now, rl->window_start_ns, PW_NSEC_PER_SEC - 1)) {
		rl->window_start_ns = now;
		rl->sent = 0;
	}
	if (rl->sent >= limit) {
		rl->suppressed++;
		return NULL;
	}
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		rl->suppressed++; /* ring full: the reader is behind */
		return NULL;
	}
	rl->sent++;
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->ts_ns = bpf_ktime_get_ns();
	ev->suppressed = rl->suppressed;
	rl->suppressed = 0;
	return ev;
}

#endif
