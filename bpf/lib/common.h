/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What every podwall BPF header needs: kernel UAPI headers, libbpf helpers,
 * the ABI, and small address helpers. Addresses are always 16 bytes
 * (IPv4-mapped for IPv4), as in the ABI, so one code path serves both
 * families.
 */
#ifndef PW_BPF_COMMON_H
#define PW_BPF_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
/* linux/icmp.h wants linux/if.h, which drags glibc's sys/socket.h in: keep it out. */
#ifndef _LINUX_IF_H
#define _LINUX_IF_H
#define IFNAMSIZ 16
#endif
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "podwall/abi.h"

/*
 * A test build (make datapath: build/podwall-count.bpf.o) counts every map
 * lookup the programs make in the map pw_lookups, so that a test can bound
 * the lookups of each path. Never defined in the object podwall loads.
 */
#ifdef PW_COUNT_LOOKUPS
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} pw_lookups SEC(".maps");

/* the key in .rodata, not on the stack: the counting adds no bytes to the
 * programs' frames, which sit near the verifier's bound */
static const volatile __u32 pw_lookups_key = 0;

static __always_inline void *pw_lookup_counted(void *map, const void *key)
{
	__u64 *n = bpf_map_lookup_elem(&pw_lookups, (const void *)&pw_lookups_key);

	if (n)
		*n += 1;
	return bpf_map_lookup_elem(map, key);
}
#define bpf_map_lookup_elem(map, key) pw_lookup_counted(map, key)
#endif

#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* linux/in.h and linux/in6.h drag libc headers in; the numbers are ABI. */
#define PW_IPPROTO_HOPOPTS  0
#define PW_IPPROTO_ICMP     1
#define PW_IPPROTO_TCP      6
#define PW_IPPROTO_UDP      17
#define PW_IPPROTO_ROUTING  43
#define PW_IPPROTO_FRAGMENT 44
#define PW_IPPROTO_AH       51
#define PW_IPPROTO_ICMPV6   58
#define PW_IPPROTO_DSTOPTS  60
#define PW_IPPROTO_SCTP     132

#define PW_NSEC_PER_SEC 1000000000ULL

/*
 * The conntrack and rate-limit clock: CLOCK_MONOTONIC at the resolution of
 * a timer tick. bpf_ktime_get_coarse_ns reads what the timekeeper stored at
 * the last tick; bpf_ktime_get_ns reads the clock source, ~30 ns of a
 * ~180 ns established packet on a 2-vCPU VM (podwall bench datapath). The
 * timeouts it serves are seconds. It may lag a precise timestamp (one
 * written by userspace) by up to a tick: compare with pw_older().
 *
 * Even the coarse read is a helper call that walks the timekeeper's
 * seqcount (~15 ns, the largest single cost of an established packet), and
 * its value only moves when a tick moves jiffies. bpf_jiffies64 and
 * bpf_get_smp_processor_id are inlined by the verifier (~1 ns each), so each
 * CPU keeps the coarse time it read at the jiffy it read it in, and reads
 * the clock again only when jiffies moved: once a tick per CPU instead of
 * once a packet. The tick handler advances jiffies just before the
 * timekeeper, so a read in between keeps the previous tick's time for one
 * more tick: the lag is then two ticks (8 ms at HZ=250), still nothing
 * against second timeouts, and pw_older() already takes a "then" after
 * "now". The slots live in .bss (an internal map: one per loaded object,
 * never pinned, a cache that starts empty); tc programs run with bottom
 * halves off, so a CPU's slot has one writer at a time. CPUs past
 * PW_TICK_SLOTS share slots: two writers store the current tick's time, so
 * a mixed read is still a time of that tick or the one before.
 */
#define PW_TICK_SLOTS 256 /* a power of two */

struct pw_tick {
	__u64 jiffies;
	__u64 ns;
} __attribute__((aligned(64))); /* a cache line each: no CPU writes another's */

static struct pw_tick pw_ticks[PW_TICK_SLOTS];

static __always_inline __u64 pw_now(void)
{
	struct pw_tick *t = &pw_ticks[bpf_get_smp_processor_id() & (PW_TICK_SLOTS - 1)];
	__u64 j = bpf_jiffies64();

	if (t->jiffies != j) {
		t->ns = bpf_ktime_get_coarse_ns();
		t->jiffies = j;
	}
	return t->ns;
}

/* then is more than age ns before now (a then after now is not). */
static __always_inline int pw_older(__u64 now, __u64 then, __u64 age)
{
	return (__s64)(now - then) > (__s64)age;
}

/*
 * Two 16-byte addresses, each 4-aligned (every address field of the ABI's
 * structs and of struct pw_pkt is), compared a word at a time: byte by
 * byte, clang kept the sixteen offsets of a compare in registers and spilled
 * them, tens of bytes of the programs' frames, whose call chains sit at the
 * verifier's 512-byte bound.
 */
static __always_inline int pw_addr_eq(const __u8 *a, const __u8 *b)
{
	const __u32 *x = __builtin_assume_aligned(a, 4), *y = __builtin_assume_aligned(b, 4);

	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) == 0;
}

static __always_inline void pw_addr_v4(__u8 *dst, __be32 v4)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, &v4, 4);
}

/* fe80::/10 */
static __always_inline int pw_addr_is_linklocal(const __u8 *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static __always_inline int pw_addr_is_unspec(const __u8 *a)
{
	__u8 any = 0;

#pragma unroll
	for (int i = 0; i < 16; i++)
		any |= a[i];
	return any == 0;
}

static __always_inline int pw_is_icmp(__u8 proto)
{
	return proto == PW_IPPROTO_ICMP || proto == PW_IPPROTO_ICMPV6;
}

#endif
