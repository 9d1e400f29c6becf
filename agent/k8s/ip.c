/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Address and prefix parsing and formatting (ip.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include "k8s/ip.h"

const struct pw_cidr pw_v4_mapped_space = {
	.addr = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff },
	.len = 96,
	.is_v4 = 1,
};

static int ip_parse(const char *s, uint8_t out[16], bool *is_v4, bool allow_mapped)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (!s || !*s || strlen(s) > 45)
		return -1;
	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(out, 0, 16);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		*is_v4 = true;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		memcpy(out, &a6, 16);
		if (!allow_mapped && pw_ip_is_v4(out))
			return -1;
		*is_v4 = false;
		return 0;
	}
	return -1;
}

int pw_ip_parse(const char *s, uint8_t out[16], bool *is_v4)
{
	return ip_parse(s, out, is_v4, false);
}

void pw_prefix_mask(uint8_t addr[16], unsigned len)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned lo = i * 8;

		if (len >= lo + 8)
			continue;
		if (len <= lo)
			addr[i] = 0;
		else
			addr[i] &= (uint8_t)(0xff << (8 - (len - lo)));
	}
}

int pw_cidr_parse(const char *s, struct pw_cidr *out)
{
	char buf[64];
	const char *slash, *end;
	size_t n;
	unsigned long len;
	bool v4;

	if (!s)
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	n = (size_t)(end - s);
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	slash = strchr(buf, '/');
	if (slash) {
		const char *p = slash + 1;

		if (!*p || strlen(p) > 3)
			return -1;
		for (const char *q = p; *q; q++)
			if (!isdigit((unsigned char)*q))
				return -1;
		len = strtoul(p, NULL, 10);
		buf[slash - buf] = 0;
	}
	memset(out, 0, sizeof(*out));
	if (ip_parse(buf, out->addr, &v4, true))
		return -1;
	if (!slash)
		len = v4 ? 32 : 128;
	if (len > (v4 ? 32u : 128u))
		return -1;
	out->is_v4 = v4;
	out->len = (uint8_t)(v4 ? 96 + len : len);
	pw_prefix_mask(out->addr, out->len);
	/* IPv6 notation of an IPv4 prefix (::ffff:10.0.0.0/104) would alias it */
	if (!v4 && out->len >= 96 && pw_ip_is_v4(out->addr))
		return -1;
	return 0;
}

void pw_ip_format(const uint8_t a[16], char *buf, size_t len)
{
	if (pw_ip_is_v4(a)) {
		if (!inet_ntop(AF_INET, a + 12, buf, (socklen_t)len))
			snprintf(buf, len, "?");
	} else if (!inet_ntop(AF_INET6, a, buf, (socklen_t)len)) {
		snprintf(buf, len, "?");
	}
}

void pw_cidr_format(const struct pw_cidr *p, char *buf, size_t len)
{
	char ip[64];

	if (p->len >= 96 && pw_ip_is_v4(p->addr)) {
		pw_ip_format(p->addr, ip, sizeof(ip));
		snprintf(buf, len, "%s/%u", ip, p->len - 96u);
	} else {
		if (!inet_ntop(AF_INET6, p->addr, ip, sizeof(ip)))
			snprintf(ip, sizeof(ip), "?");
		snprintf(buf, len, "%s/%u", ip, p->len);
	}
}
