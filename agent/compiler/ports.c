/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Port ranges as LPM prefixes, and named container ports. */
#include <string.h>
#include "compiler/internal.h"

size_t pw_port_range_split(uint32_t lo, uint32_t hi, struct port_prefix *out)
{
	size_t n = 0;

	while (lo <= hi && lo <= 0xffff) {
		unsigned k = 0;   /* the block is 2^k ports */

		/* the largest aligned block starting at lo that stays within hi */
		while (k < 16 && !(lo & (1u << k)) && lo + (2u << k) - 1 <= hi)
			k++;
		out[n].port = (uint16_t)lo;
		out[n].bits = (uint8_t)(16 - k);
		n++;
		lo += 1u << k;
	}
	return n;
}

size_t pw_named_port(const struct pw_pod *pod, const char *name, uint8_t proto,
		     uint16_t *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < pod->n_ports; i++) {
		const struct pw_container_port *p = &pod->ports[i];

		if (!p->name || p->proto != proto || strcmp(p->name, name))
			continue;
		if (n < max)
			out[n] = p->port;
		n++;
	}
	return n;
}
