/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * DNS messages for the datapath tests (fqdn_tests.c, fqdn_join_tests.c):
 * a header and one question, then records, built byte by byte so that a
 * test can also build what no resolver would send.
 */
#ifndef PW_TESTS_DNSMSG_H
#define PW_TESTS_DNSMSG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kernel/bpfobj.h" /* pw_addr_parse */

struct dnsb {
	uint8_t b[1400];
	size_t n;
	uint16_t ancount;
};

static void db_u8(struct dnsb *m, uint8_t v)
{
	if (m->n < sizeof(m->b))
		m->b[m->n++] = v;
}

static void db_u16(struct dnsb *m, uint16_t v)
{
	db_u8(m, v >> 8);
	db_u8(m, v & 0xff);
}

static void db_u32(struct dnsb *m, uint32_t v)
{
	db_u16(m, v >> 16);
	db_u16(m, v & 0xffff);
}

/* "a.b.c" in wire form; "" is the root */
static void db_name(struct dnsb *m, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		db_u8(m, (uint8_t)l);
		for (size_t i = 0; i < l; i++)
			db_u8(m, (uint8_t)name[i]);
		name += l + (dot ? 1 : 0);
	}
	db_u8(m, 0);
}

static void db_ptr(struct dnsb *m, uint16_t off)
{
	db_u16(m, 0xc000 | off);
}

/* header and one question; qr: an answer */
static void db_start(struct dnsb *m, uint16_t id, bool qr, const char *qname)
{
	memset(m, 0, sizeof(*m));
	db_u16(m, id);
	db_u16(m, qr ? 0x8180 : 0x0100);
	db_u16(m, 1);
	db_u16(m, 0); /* ancount: db_finish */
	db_u16(m, 0);
	db_u16(m, 0);
	db_name(m, qname);
	db_u16(m, 1);
	db_u16(m, 1);
}

/* a record's fixed part after its owner name */
static void db_rr_head(struct dnsb *m, uint16_t type, uint32_t ttl, uint16_t rdlen)
{
	db_u16(m, type);
	db_u16(m, 1);
	db_u32(m, ttl);
	db_u16(m, rdlen);
	m->ancount++;
}

/* owner: the question (a pointer to offset 12) if NULL */
static void db_addr(struct dnsb *m, const char *owner, uint32_t ttl, const char *addr)
{
	uint8_t a[16];

	if (owner)
		db_name(m, owner);
	else
		db_ptr(m, 12);
	if (pw_addr_parse(addr, a))
		exit(2);
	if (pw_addr_is_v4(a)) {
		db_rr_head(m, 1, ttl, 4);
		for (int i = 12; i < 16; i++)
			db_u8(m, a[i]);
	} else {
		db_rr_head(m, 28, ttl, 16);
		for (int i = 0; i < 16; i++)
			db_u8(m, a[i]);
	}
}

static void db_finish(struct dnsb *m)
{
	m->b[6] = m->ancount >> 8;
	m->b[7] = m->ancount & 0xff;
}

#endif
