/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * probe: take a verdict from the kernel, for `matrix` and `explain`. A state
 * (a fresh compile, or the live slot read back from the pinned maps) is
 * written into a private, unpinned copy of the maps beside freshly loaded
 * podwall programs; the endpoints that a probe involves get dummy devices
 * in a private network namespace (BPF_PROG_TEST_RUN needs a real ifindex to
 * stand for a pod's host veth); a crafted first packet runs through
 * from_pod of the source and to_pod of the destination with
 * BPF_PROG_TEST_RUN, and the tc verdicts are the answer: there is no second
 * evaluator in userspace. Traced (explain), the copy reports allowed flows
 * too (PW_CFG_EVENTS_ALLOW), so every judgement comes back as an event
 * (direction, verdict, reason, rule id, peer identity) and as a counter;
 * untraced (matrix: many probes), only the verdict. Nothing live is touched.
 *
 * Two ways in: pw_probe_new, pw_probe_add_dev for each endpoint, then
 * pw_probe_load of a state whose endpoints carry those ifindexes (matrix:
 * the devices exist before the compile that names them); or pw_probe_open,
 * which does all three for a state with any ifindexes (explain).
 *
 * pw_probe_new (and so pw_probe_open) moves the calling process into a new
 * network namespace: resolve pin dirs and open pinned maps before.
 */
#ifndef PODWALL_OPS_PROBE_H
#define PODWALL_OPS_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model.h" /* struct pw_error */
#include "state.h"

#define PW_PROBE_MAX_STEPS 6
#define PW_PROBE_SPORT     43210

enum pw_probe_prog {
	PW_PROBE_FROM_POD = 0,
	PW_PROBE_TO_POD,
	PW_PROBE_TO_REMOTE,   /* the uplink: a deferred verdict to a remote backend */
};

/* One judgement the programs took. */
struct pw_probe_step {
	uint8_t  prog;        /* enum pw_probe_prog: the program that took it */
	uint8_t  dir;         /* enum pw_dir */
	uint8_t  verdict;     /* enum pw_verdict */
	uint8_t  reason;      /* enum pw_reason */
	uint32_t rule_id;     /* valid with has_event and an allow by rule */
	uint32_t peer_id;     /* identity of the remote side (has_event) */
	uint32_t ep_id;       /* endpoint judged (has_event) */
	bool     has_event;   /* from an event (else from the counters only) */
	bool     post_nat;    /* to_pod judging a deferred egress verdict */
};

struct pw_probe_result {
	struct pw_probe_step steps[PW_PROBE_MAX_STEPS];
	size_t               n_steps;
	bool                 ran_from, ran_to, ran_remote;
	bool                 allowed;    /* what the tc verdicts say */
	bool                 deferred;   /* from_pod marked it for the post-NAT hook */
};

struct pw_probe;

/*
 * A probe with no device and nothing loaded, in a new private network
 * namespace. Returns 0 or a negative errno (said in why, as every function
 * here that takes one).
 */
int pw_probe_new(struct pw_probe **out, struct pw_error *why);

/*
 * A dummy device that stands for one endpoint's host veth: *ifindex is
 * its ifindex (for the state to load), the return value its index for
 * pw_probe_run (>= 0), or a negative errno.
 */
int pw_probe_add_dev(struct pw_probe *p, uint32_t *ifindex, struct pw_error *why);

/*
 * Load s into the private maps, once: its endpoints' ifindexes must be
 * devices of p. cfg_flags: PW_CFG_AUDIT_ALL as live. trace: every judgement
 * as a step in pw_probe_run's result (events and counters), else the
 * verdict only. what names s in a message on failure ("the compiled
 * state"). Returns 0 or a negative errno.
 */
int pw_probe_load(struct pw_probe *p, const struct pw_state *s, uint32_t cfg_flags, bool trace,
		  const char *what, struct pw_error *why);

/*
 * pw_probe_new, devices and pw_probe_load, traced, for part of a state:
 * only eps[0..n) become endpoints (each gets a dummy device, once even if
 * given twice; their ifindex in s is ignored); every ipcache and policy
 * entry of s is loaded. cfg_flags: PW_CFG_AUDIT_ALL as live. Returns 0 or
 * a negative errno.
 */
int pw_probe_open(const struct pw_state *s, const struct pw_state_ep *const *eps, size_t n,
		  uint32_t cfg_flags, struct pw_probe **out, struct pw_error *why);
void pw_probe_close(struct pw_probe *p);

/*
 * Teach the probe's datapath that the pod ep_id (whose address was owner)
 * resolved a name of identity name_id to addr, for ttl_s more seconds, as
 * its DNS answer would have (abi.h fqdn_learned): explain --to-name judges
 * a flow to a learned address with the pod's own learned names. 0 or a
 * negative errno.
 */
int pw_probe_put_learned(struct pw_probe *p, uint32_t ep_id, const uint8_t owner[16],
			 const uint8_t addr[16], uint32_t name_id, uint32_t ttl_s);

/*
 * Run the first packet of a flow saddr:PW_PROBE_SPORT -> daddr:dport.
 * src/dst: index into the eps given to pw_probe_open (or as returned by
 * pw_probe_add_dev), or -1 (not a local endpoint: its program does not run). With nat_daddr (a Service VIP
 * translated by kube-proxy), to_pod sees the packet to nat_daddr:nat_dport
 * carrying from_pod's mark (or, if the destination is not local, to_remote
 * does, as on the node's uplink). Conntrack is flushed afterwards, so that
 * every probe is a first packet. r->allowed is the verdict; steps only when
 * traced.
 */
int pw_probe_run(struct pw_probe *p, int src, const uint8_t saddr[16], int dst,
		 const uint8_t daddr[16], uint8_t proto, uint16_t dport, const uint8_t *nat_daddr,
		 uint16_t nat_dport, struct pw_probe_result *r);

/*
 * Many untraced probes (matrix), on `threads` threads at once. Each job is
 * the first packet of a flow saddr:sport -> daddr:dport through from_pod of
 * src, then (if it passes) to_pod of dst, as pw_probe_run without NAT; its
 * verdict goes to job->allowed.
 *
 * Conntrack is not flushed between jobs, yet no job sees another's entry:
 * each job of a worker's cycle gets a source port of its own (none of them
 * is a destination port of any job, and workers draw from disjoint sets),
 * and the table is flushed when a worker's ports run out. A job's lookups
 * name its own source port, as established (s:sport -> d), or as a reply
 * whose destination port is sport: an entry made by another job carries
 * another source port and, as destination, a probed port, never a source
 * port. The verdict of a first packet does not depend on its source port
 * otherwise. Deleting entries (a flush by another worker, LRU eviction)
 * changes no verdict either: no job looks up the entries its own packet
 * made. Returns 0 or a negative errno.
 */
struct pw_probe_job {
	int            src, dst;      /* as for pw_probe_run */
	const uint8_t *saddr, *daddr;
	uint8_t        proto;
	uint16_t       dport;         /* host order */
	bool           allowed;       /* out */
};

#define PW_PROBE_MAX_THREADS 16
#define PW_PROBE_CT_ENTRIES  16384  /* conntrack size of a probe copy */

int pw_probe_batch(struct pw_probe *p, struct pw_probe_job *jobs, size_t n, int threads);

#endif
