/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Addresses and prefixes in the 128-bit mapped space of the ABI: IPv4
 * a.b.c.d is ::ffff:a.b.c.d, and a.b.c.d/n is ::ffff:a.b.c.d/(96+n).
 * Shared by the loader (parsing, validation) and the compiler (CIDR groups).
 */
#ifndef PODWALL_K8S_IP_H
#define PODWALL_K8S_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "model.h"

/* ::ffff:0:0/96, the IPv4 part of the mapped space */
extern const struct pw_cidr pw_v4_mapped_space;

/*
 * Parse an address: IPv4 dotted quad (stored IPv4-mapped) or IPv6.
 * *is_v4 tells which. IPv6 text that is itself IPv4-mapped is refused
 * (it would alias an IPv4 address). Returns 0 or -1.
 */
int pw_ip_parse(const char *s, uint8_t out[16], bool *is_v4);

/*
 * Parse "addr/len" (or a bare address: a host prefix, as the reference
 * evaluator accepts), surrounding blanks allowed; host bits beyond the
 * prefix are cleared (like Go's ParseCIDR and Python's
 * ip_network(strict=False)). An IPv6 prefix inside ::ffff:0:0/96 is refused:
 * it would alias IPv4 prefixes. Returns 0 or -1.
 */
int pw_cidr_parse(const char *s, struct pw_cidr *out);

/* clear the bits of addr beyond len */
void pw_prefix_mask(uint8_t addr[16], unsigned len);

/* memcmp(a, b, 16), in two word compares: for the per-pod lookups (CIDR
 * groups, host routes), where memcmp's call cost more than the compare */
static inline int pw_addr_cmp(const uint8_t a[16], const uint8_t b[16])
{
	uint64_t a0, a1, b0, b1;

	memcpy(&a0, a, 8);
	memcpy(&b0, b, 8);
	if (a0 != b0)
		return __builtin_bswap64(a0) < __builtin_bswap64(b0) ? -1 : 1;
	memcpy(&a1, a + 8, 8);
	memcpy(&b1, b + 8, 8);
	if (a1 == b1)
		return 0;
	return __builtin_bswap64(a1) < __builtin_bswap64(b1) ? -1 : 1;
}

/* does prefix p contain address a? */
static inline bool pw_cidr_has_addr(const struct pw_cidr *p, const uint8_t a[16])
{
	unsigned full = p->len / 8, rem = p->len % 8;

	if (memcmp(p->addr, a, full))
		return false;
	if (rem) {
		uint8_t m = (uint8_t)(0xff << (8 - rem));

		if ((p->addr[full] & m) != (a[full] & m))
			return false;
	}
	return true;
}

/* is q a subset of (or equal to) p? */
static inline bool pw_cidr_subset(const struct pw_cidr *q, const struct pw_cidr *p)
{
	return q->len >= p->len && pw_cidr_has_addr(p, q->addr);
}

/* "10.0.0.0/8", "fd00::/8"; IPv4 prefixes in their own notation. buf >= 64 */
void pw_cidr_format(const struct pw_cidr *p, char *buf, size_t len);
/* "10.0.0.1" or "fd00::1"; buf >= 48 */
void pw_ip_format(const uint8_t a[16], char *buf, size_t len);
static inline bool pw_ip_is_v4(const uint8_t a[16])
{
	return pw_cidr_has_addr(&pw_v4_mapped_space, a);
}

#endif
