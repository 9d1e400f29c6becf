/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * domainNames patterns as name_set entries (domain.h). The hash is the
 * kernel's (abi.h pw_name_hash_*): each label's bytes, then the labels
 * folded from the last one to the first.
 */
#include <errno.h>
#include <string.h>
#include "compiler/domain.h"

int pw_domain_entry(const char *pattern, uint8_t slot, uint32_t name_id, struct pw_name_key *k,
		    struct pw_name_val *v)
{
	size_t starts[PW_DNS_LABELS_MAX], lens[PW_DNS_LABELS_MAX], n = 0, len, o = 0;
	uint64_t h = PW_NAME_HASH_ROOT;
	uint8_t kind = PW_NAME_EXACT;
	const char *p = pattern;

	if (!p)
		return -EINVAL;
	if (p[0] == '*' && p[1] == '.') {
		kind = PW_NAME_WILDCARD;
		p += 2;
	}
	len = strlen(p);
	if (len && p[len - 1] == '.')
		len--; /* the trailing dot of a fully qualified name */
	if (!len)
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i <= len; i++) {
		size_t l;

		if (i < len && p[i] != '.')
			continue;
		l = i - o;
		if (!l || l > PW_DNS_LABEL_MAX || n >= PW_DNS_LABELS_MAX - 1)
			return -EINVAL;
		starts[n] = o;
		lens[n++] = l;
		o = i + 1;
	}
	o = 0;
	for (size_t j = 0; j < n; j++) {
		if (o + 1 + lens[j] + 1 > PW_DNS_WIRE_MAX - 1)
			return -EINVAL;
		v->wire[o++] = (uint8_t)lens[j];
		for (size_t i = 0; i < lens[j]; i++) {
			char c = p[starts[j] + i];

			if (c == '*')
				return -EINVAL;
			v->wire[o++] = (uint8_t)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
		}
	}
	v->wire[o++] = 0;
	v->wire_len = (uint16_t)o;
	for (size_t j = n; j-- > 0;) {
		uint64_t lh = PW_NAME_FNV_BASIS;
		const uint8_t *lab = &v->wire[0];
		size_t at = 0;

		for (size_t i = 0; i < j; i++)
			at += 1 + lens[i];
		lab += at + 1;
		for (size_t i = 0; i < lens[j]; i++)
			lh = pw_name_hash_byte(lh, lab[i]);
		h = pw_name_hash_suffix(h, lh);
	}
	k->slot = slot;
	k->kind = kind;
	k->hash = h;
	v->name_id = name_id;
	return 0;
}
