/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bpfobj: the podwall BPF object (build/podwall.bpf.o through its libbpf
 * skeleton), opened and loaded with private maps or with maps pinned under
 * a directory (reused when compatible pins are already there), and typed
 * writers/readers for every map, so that nobody else hand-builds keys.
 *
 * Every function returns 0 or a negative errno (libbpf style). Failures of
 * open/load/pin say in a pw_error (may be NULL) what failed and with what;
 * what is adopted or carried over is said through log.h. Addresses are 16
 * bytes, IPv4 as IPv4-mapped IPv6, as in abi.h.
 */
#ifndef PODWALL_KERNEL_BPFOBJ_H
#define PODWALL_KERNEL_BPFOBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "podwall/abi.h"
#include "model.h" /* struct pw_error */

struct podwall_bpf;

enum pw_prog {
	PW_PROG_FROM_POD = 0, /* tc ingress of a pod's host veth */
	PW_PROG_TO_POD,       /* tc egress of a pod's host veth */
	PW_PROG_TO_REMOTE,    /* tc egress of the node uplink */
	PW_PROG_PASS_ONLY,    /* benchmark baseline */
	PW_PROG_MAX,
};

extern const char *const pw_prog_names[PW_PROG_MAX]; /* "from_pod", ... */

/*
 * Open and load the object. pin_dir NULL: private, unpinned maps (they go
 * away with the object). Otherwise bpffs is mounted at /sys/fs/bpf if it
 * is not, pin_dir is created (mode 0700) and every map is pinned there as
 * pin_dir/<map name> (internal constant maps excepted); maps already pinned there with a compatible
 * definition are reused (this is how a restarted agent adopts the state).
 */
int pw_bpf_open(const char *pin_dir, struct podwall_bpf **out, struct pw_error *why);
void pw_bpf_close(struct podwall_bpf *obj);

/*
 * Private maps of other sizes than abi.h's (0: keep it): probe copies
 * (ops/probe.h) hold more endpoints than a node (every pod of a cluster
 * dump), and a small conntrack table that is cheap to flush.
 */
struct pw_bpf_sizes {
	uint32_t endpoints;   /* endpoints and dns; local_ips twice that */
	uint32_t conntrack;
};
int pw_bpf_open_private(const struct pw_bpf_sizes *sz, struct podwall_bpf **out,
			struct pw_error *why);

/*
 * Pins of another ABI version (abi.h, PW_ABI_VERSION) are not reused:
 * pw_bpf_open moves them to pin_dir/prev, makes new maps and carries over
 * what must survive (bpfobj.c: conntrack...). Once every hook runs the new
 * programs (pw_attach_sync, after its sweep), pw_bpf_switch_done carries
 * again what the old programs recorded meanwhile and removes prev. Nothing
 * to do (0) when no switch is under way or obj is not pinned.
 */
int pw_bpf_switch_done(struct podwall_bpf *obj);

/* Remove podwall's map pins from pin_dir (and prev), then pin_dir itself if empty. */
int pw_bpf_unpin(const char *pin_dir, struct pw_error *why);

/* Mount bpffs at /sys/fs/bpf unless something bpffs is already there. */
int pw_bpffs_mount(struct pw_error *why);

int pw_bpf_prog_fd(const struct podwall_bpf *obj, enum pw_prog prog);

/* ------------------------------------------------------------- writers */

int pw_bpf_set_config(struct podwall_bpf *obj, const struct pw_config *cfg);
int pw_bpf_get_config(struct podwall_bpf *obj, struct pw_config *cfg);

int pw_bpf_put_endpoint(struct podwall_bpf *obj, uint32_t ifindex, const struct pw_endpoint *ep);
int pw_bpf_get_endpoint(struct podwall_bpf *obj, uint32_t ifindex, struct pw_endpoint *ep);
int pw_bpf_del_endpoint(struct podwall_bpf *obj, uint32_t ifindex);

int pw_bpf_put_local_ip(struct podwall_bpf *obj, const uint8_t addr[16], uint32_t ifindex);
int pw_bpf_del_local_ip(struct podwall_bpf *obj, const uint8_t addr[16]);

/*
 * ipcache and policy entries go to the hash or the LPM half by their
 * prefixlen (abi.h: ipcache/ipcache_lpm, policy/policy_lpm); put_policy also sets the
 * entry's bit in its (slot, dir, ep, peer) summary. del_policy leaves the
 * summary as it is (a bit too many costs a lookup, never a verdict). For
 * single entries (tests, benchmarks); the agent writes whole states with
 * mapsync. put_policy refuses prefixlen below PW_POL_PREFIX_ANY_PROTO.
 */
int pw_bpf_put_ipcache(struct podwall_bpf *obj, const struct pw_ipcache_key *k,
		       const struct pw_ipcache_val *v);
int pw_bpf_del_ipcache(struct podwall_bpf *obj, const struct pw_ipcache_key *k);

int pw_bpf_put_policy(struct podwall_bpf *obj, const struct pw_policy_key *k,
		      const struct pw_policy_val *v);
int pw_bpf_del_policy(struct podwall_bpf *obj, const struct pw_policy_key *k);

/* The summary key of k's (slot, dir, ep_id, peer_id), and whether k needs one. */
void pw_policy_summary_key(struct pw_policy_key *sk, const struct pw_policy_key *k);
bool pw_policy_needs_summary(const struct pw_policy_key *k);

/*
 * dns: put writes the whole value, counters included (use get first to keep
 * them); set_flags changes one slot's flags and keeps the counters.
 */
int pw_bpf_put_dns(struct podwall_bpf *obj, uint32_t ep_id, const struct pw_dns *d);
int pw_bpf_set_dns_flags(struct podwall_bpf *obj, uint32_t ep_id, uint32_t slot, uint32_t flags);
int pw_bpf_get_dns(struct podwall_bpf *obj, uint32_t ep_id, struct pw_dns *d);
int pw_bpf_del_dns(struct podwall_bpf *obj, uint32_t ep_id);

/* ------------------------------------------------------------- readers */

/* One counter, summed over CPUs. */
int pw_bpf_read_counter(struct podwall_bpf *obj, uint32_t dir, uint32_t verdict,
			uint32_t reason, struct pw_counter *out);
/* All of them: out[PW_COUNTERS_MAX], indexed by PW_COUNTER_IDX. */
int pw_bpf_read_counters(struct podwall_bpf *obj, struct pw_counter *out);

/* -ENOENT if k is not tracked. */
int pw_bpf_ct_lookup(struct podwall_bpf *obj, const struct pw_ct_key *k, struct pw_ct_val *v);
/* Make or replace k's entry as the programs do (may evict: cttable.h); -EBUSY. */
int pw_bpf_ct_put(struct podwall_bpf *obj, const struct pw_ct_key *k, const struct pw_ct_val *v);
/* -ENOENT if k is not tracked. */
int pw_bpf_ct_delete(struct podwall_bpf *obj, const struct pw_ct_key *k);
/* Forget every tracked flow and fragment (e.g. between matrix probes). */
int pw_bpf_ct_flush(struct podwall_bpf *obj);
/* How many conntrack entries there are (reads the table's headers). */
int pw_bpf_ct_count(struct podwall_bpf *obj, size_t *n);
/* ct_stats summed over CPUs, indexed by enum pw_ct_stat. */
int pw_bpf_ct_stats(struct podwall_bpf *obj, uint64_t out[PW_CT_STAT_MAX]);

/* ---------------------------------------------------------- key makers */

/*
 * ipcache key for addr/prefix_bits, where prefix_bits counts the 128-bit
 * address (an IPv4 /24 is 96 + 24). Bits beyond the prefix are cleared.
 */
void pw_ipcache_key_make(struct pw_ipcache_key *k, uint8_t slot, const uint8_t addr[16],
			 uint32_t prefix_bits);

/*
 * policy key: port in host order. prefixlen is PW_POL_PREFIX_FULL for one
 * port, PW_POL_PREFIX_ANY_PORT for every port of proto,
 * PW_POL_PREFIX_ANY_PROTO for everything (proto and port ignored), or
 * PW_POL_PREFIX_ANY_PORT + n for a prefix of n port bits. Bits beyond the
 * prefix are cleared.
 */
void pw_policy_key_make(struct pw_policy_key *k, uint32_t prefixlen, uint8_t slot, uint8_t dir,
			uint32_t ep_id, uint32_t peer_id, uint8_t proto, uint16_t port);

/*
 * The port range [lo, hi] as the fewest port prefixes: calls
 * cb(port, nbits, arg) for each, nbits the number of leading port bits
 * that are fixed (16 for a single port, 0 for every port). Returns the
 * number of prefixes (at most 30), or the first non-zero cb result, or
 * -EINVAL if lo > hi.
 */
int pw_port_range_prefixes(uint16_t lo, uint16_t hi,
			   int (*cb)(uint16_t port, uint32_t nbits, void *arg), void *arg);

/* IPv4-mapped or IPv6 address from text ("10.0.0.1", "fd00::1"). 0 or -EINVAL. */
int pw_addr_parse(const char *s, uint8_t out[16]);
bool pw_addr_is_v4(const uint8_t a[16]);
/* Text form; buf of at least 46 bytes. Returns buf. */
const char *pw_addr_str(const uint8_t a[16], char *buf, size_t len);

#endif
