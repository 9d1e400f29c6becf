/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * peerclass: the matrix peers whose probes are interchangeable, so that
 * one probe through the kernel answers for all of them (ops/pure/peerclass.c).
 *
 * What the programs read for a probe a -> b (from_pod on a's device, then
 * to_pod on b's; bpf/podwall.bpf.c, lib/judge.h, lib/policy.h) is, besides
 * config and the packet's ports and protocol:
 *   - the endpoint of each side: ep_id, identity, flags (isolation, audit,
 *     families), its own addresses (anti-spoofing compares the source with
 *     them), its dns entry (DNS auto-allow and counters);
 *   - the policy entries keyed by each side's ep_id (its own rules, one
 *     direction each), looked up with the other side's identity;
 *   - the ipcache entry of each side's address: identity and flags (DNS
 *     server, Service address, pod), per address and not per identity
 *     (ipBlock groups, cluster DNS pods and Service IPs are addresses);
 *   - conntrack, which no probe's verdict depends on (ops/probe.h).
 * ep_id itself only names the policy entries. So two pods are of one
 * class when their endpoints are equal but for ep_id and addresses, their
 * policy entries are equal but for ep_id, each address family is present
 * in both or neither, with the same ipcache entry (an exact one: a pod
 * address without one is its own class) and the same anti-spoofing
 * outcome. Then the programs compute the same verdict for a -> b as for
 * a' -> b' whenever a' is of a's class and b' of b's, except that a probe
 * of a pod to itself sends a packet to its own source address: the caller
 * probes pairs of one class twice, once to itself, once to another member.
 * A pod that shares an address with another peer, and every peer that is
 * no pod of the state (an address given with --external-ips), is a class
 * of its own.
 *
 * Equality is decided on the bytes, not on a hash: a hash only sorts.
 */
#ifndef PODWALL_OPS_PEERCLASS_H
#define PODWALL_OPS_PEERCLASS_H

#include <stddef.h>
#include <stdint.h>
#include "state.h"

struct pw_peer_in {
	const struct pw_state_ep *ep;  /* its endpoint in the state; NULL: none */
	const uint8_t            *v4;  /* the addresses its probes use, or NULL */
	const uint8_t            *v6;
};

/*
 * cls[i] := the class of peers[i], numbered from 0 in the order of first
 * members. Returns the number of classes, or a negative errno.
 */
int pw_peer_classes(const struct pw_state *s, const struct pw_peer_in *peers, size_t n,
		    uint32_t *cls);

#endif
