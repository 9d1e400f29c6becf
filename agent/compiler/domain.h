/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * domain: a domainNames pattern ("www.example.com", "*.example.com", a
 * trailing dot allowed) as the name_set entry the kernel looks up (abi.h,
 * "domain names"): its kind, its hash as the kernel hashes a question, and
 * its lower-case wire form. Pure: no syscalls.
 */
#ifndef PODWALL_COMPILER_DOMAIN_H
#define PODWALL_COMPILER_DOMAIN_H

#include <stdint.h>
#include "podwall/abi.h"

/*
 * Fill k and v for pattern under slot with name_id. Returns 0, or -EINVAL
 * for a pattern that is not a name (empty labels, a label over 63 bytes, a
 * name over 255 wire bytes, a '*' elsewhere than a leading "*.").
 */
int pw_domain_entry(const char *pattern, uint8_t slot, uint32_t name_id, struct pw_name_key *k,
		    struct pw_name_val *v);

#endif
