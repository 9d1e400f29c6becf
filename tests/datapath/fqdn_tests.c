/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Domain names learned from DNS answers (bpf/lib/fqdn.h, dnsparse.h): a
 * pod that learns names sends a query through from_pod, crafted answers go
 * through to_pod, and the tests read what fqdn_learned and fqdn_stats hold.
 * A normal answer, a wildcard, a CNAME chain, TTL clamping, the per-pod
 * cap; and what must teach nothing: forged answers (no query, wrong port,
 * wrong id, not from the server asked, twice), compression loops, cut
 * records, names past the length limit. Answers with more records than the
 * bound learn the bound.
 *
 * Its own object and device, in the private namespace of datapath_tests.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sched.h>
#include <unistd.h>
#include <sys/mount.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "check.h"
#include "dnsmsg.h"
#include "podwall.skel.h"
#include "compiler/domain.h"
#include "kernel/bpfobj.h"
#include "kernel/netlink.h"
#include "kernel/pkt.h"
#include "kernel/testrun.h"
#include "ops/events.h"
#include "ops/pins.h"

#define F_POD   "10.9.0.1"
#define F_DNS   "10.9.0.53"
#define F_VIP   "10.96.9.10"
#define F_OTHER "10.9.0.66"   /* a pod, not a DNS server */
#define F_PORT  40000
#define NAME_ID 0x80000001u
#define NAME_ID2 0x80000002u

static struct podwall_bpf *fobj;
static uint32_t f_if;
static uint8_t f_pod[16];

static struct a16f { uint8_t b[16]; } fip(const char *s)
{
	struct a16f a;

	if (pw_addr_parse(s, a.b))
		exit(2);
	return a;
}
#define FIP(s) (fip(s).b)

/* ------------------------------------------------------------ the world */

static void name_put(const char *pattern, uint32_t id)
{
	struct pw_name_key k;
	struct pw_name_val v;

	for (int slot = 0; slot < PW_SLOTS; slot++) {
		CHECK_EQ(pw_domain_entry(pattern, slot, id, &k, &v), 0);
		CHECK_EQ(bpf_map__update_elem(fobj->maps.name_set, &k, sizeof(k), &v, sizeof(v), 0), 0);
	}
}

static void fipc(const char *addr, uint32_t id, uint32_t flags)
{
	struct pw_ipcache_val v = { .identity = id, .flags = flags };
	struct pw_ipcache_key k;

	for (int slot = 0; slot < PW_SLOTS; slot++) {
		pw_ipcache_key_make(&k, slot, FIP(addr), 128);
		CHECK_EQ(pw_bpf_put_ipcache(fobj, &k, &v), 0);
	}
}

/* A fresh object (pinned under pin_dir, or private if NULL) and the world. */
static int ffresh_at(const char *pin_dir)
{
	struct pw_config cfg = { .generation = 1 };
	struct pw_endpoint ep = { 0 };

	if (fobj)
		pw_bpf_close(fobj);
	fobj = NULL;
	if (pw_bpf_open(pin_dir, &fobj, NULL))
		return -1;
	CHECK_EQ(pw_bpf_set_config(fobj, &cfg), 0);
	ep.ep_id = f_if;
	ep.identity = 0x100;
	memcpy(ep.ip4, f_pod, 16);
	ep.flags[0] = ep.flags[1] = PW_EP_HAS_V4 | PW_EP_LEARN_NAMES;
	CHECK_EQ(pw_bpf_put_endpoint(fobj, f_if, &ep), 0);
	CHECK_EQ(pw_bpf_put_local_ip(fobj, f_pod, f_if), 0);
	fipc(F_POD, 0x100, PW_IPC_POD);
	fipc(F_DNS, 0x103, PW_IPC_POD | PW_IPC_DNS);
	fipc(F_VIP, PW_ID_WORLD, PW_IPC_SERVICE | PW_IPC_DNS_SERVICE);
	fipc(F_OTHER, 0x104, PW_IPC_POD);
	name_put("www.example.com", NAME_ID);
	return 0;
}

static int ffresh(void)
{
	return ffresh_at(NULL);
}

static int frun(enum pw_prog prog, const struct pw_pkt *p)
{
	struct pw_run_out out;
	int err = pw_test_run(pw_bpf_prog_fd(fobj, prog), p->data, p->len, f_if, 0, &out);

	return err ? -1000 + err : (int)out.verdict;
}

/* UDP (or TCP with its length prefix) carrying m, from sa:sp to da:dp */
static int fsend(enum pw_prog prog, const char *sa, uint16_t sp, const char *da, uint16_t dp,
		 const struct dnsb *m, bool tcp)
{
	uint8_t buf[2 + sizeof(m->b)];
	struct pw_pkt_spec s = {
		.proto = tcp ? IPPROTO_TCP : IPPROTO_UDP,
		.sport = sp,
		.dport = dp,
		.tcp_flags = PW_TCPF_PSH | PW_TCPF_ACK,
	};
	struct pw_pkt p;

	buf[0] = m->n >> 8;
	buf[1] = m->n & 0xff;
	memcpy(buf + 2, m->b, m->n);
	s.payload = tcp ? buf : m->b;
	s.payload_len = (uint16_t)(tcp ? m->n + 2 : m->n);
	memcpy(s.saddr, FIP(sa), 16);
	memcpy(s.daddr, FIP(da), 16);
	CHECK_EQ(pw_pkt_build(&p, &s), 0);
	return frun(prog, &p);
}

static void query(uint16_t id, const char *name, const char *server, bool tcp)
{
	struct dnsb q;

	db_start(&q, id, false, name);
	CHECK_EQ(fsend(PW_PROG_FROM_POD, F_POD, F_PORT, server, 53, &q, tcp), TC_ACT_OK);
}

static void answer_from(const char *server, uint16_t port, struct dnsb *m, bool tcp)
{
	db_finish(m);
	CHECK_EQ(fsend(PW_PROG_TO_POD, server, 53, F_POD, port, m, tcp), TC_ACT_OK);
}

static uint64_t stat(enum pw_fqdn_stat s)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t v[ncpu > 0 ? ncpu : 1], sum = 0;
	uint32_t k = s;

	if (bpf_map__lookup_elem(fobj->maps.fqdn_stats, &k, sizeof(k), v, sizeof(v), 0))
		return (uint64_t)-1;
	for (int i = 0; i < ncpu; i++)
		sum += v[i];
	return sum;
}

static uint32_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)ts.tv_sec;
}

/*
 * The names learned for addr: their ids into ids[PW_FQDN_NAMES] and
 * seconds left into left[]; returns how many (0: not learned).
 */
static int learned(const char *addr, uint32_t *ids, int32_t *left)
{
	struct pw_fqdn_key k = { .ep_id = f_if };
	struct pw_fqdn_set set;
	const uint8_t *a = FIP(addr);
	int n = 0;

	k.set = pw_fqdn_set_of(a);
	if (bpf_map__lookup_elem(fobj->maps.fqdn_learned, &k, sizeof(k), &set, sizeof(set), 0))
		return 0;
	if (memcmp(set.owner, f_pod, 16))
		return 0;
	for (int w = 0; w < PW_FQDN_WAYS; w++) {
		if (memcmp(set.ways[w].addr, a, 16))
			continue;
		for (int i = 0; i < PW_FQDN_NAMES; i++) {
			const struct pw_fqdn_name *nm = &set.ways[w].names[i];

			if (!nm->name_id || (int32_t)(nm->expires_s - now_s()) <= 0)
				continue;
			if (ids)
				ids[n] = nm->name_id;
			if (left)
				left[n] = (int32_t)(nm->expires_s - now_s());
			n++;
		}
	}
	return n;
}

/* ------------------------------------------------------------ tests */

static void t_fqdn_answer_learns(void)
{
	struct dnsb m;
	uint32_t ids[PW_FQDN_NAMES];
	int32_t left[PW_FQDN_NAMES];

	if (ffresh()) {
		CHECK(!"open");
		return;
	}
	query(0x4242, "WWW.Example.com", F_DNS, false); /* the case of the question is no matter */
	CHECK_EQ(stat(PW_FQDN_QUERIES), 1);
	db_start(&m, 0x4242, true, "WWW.Example.com");
	db_addr(&m, NULL, 300, "198.51.100.7");
	db_addr(&m, NULL, 300, "2001:db8::7");
	answer_from(F_DNS, F_PORT, &m, false);
	CHECK_EQ(stat(PW_FQDN_ANSWERS_LEARNED), 1);
	CHECK_EQ(stat(PW_FQDN_ADDRS_LEARNED), 2);
	CHECK_EQ(learned("198.51.100.7", ids, left), 1);
	CHECK_EQ(ids[0], NAME_ID);
	CHECK(left[0] > 290 && left[0] <= 301);
	CHECK_EQ(learned("2001:db8::7", NULL, NULL), 1);
	CHECK_EQ(learned("198.51.100.8", NULL, NULL), 0);

	/* a name no pattern matches: nothing */
	query(0x4243, "other.example.com", F_DNS, false);
	db_start(&m, 0x4243, true, "other.example.com");
	db_addr(&m, NULL, 300, "198.51.100.9");
	answer_from(F_DNS, F_PORT, &m, false);
	CHECK_EQ(stat(PW_FQDN_ANSWERS_NO_NAME), 1);
	CHECK_EQ(learned("198.51.100.9", NULL, NULL), 0);

	/* over TCP, through the DNS Service's address */
	query(0x4244, "www.example.com", F_VIP, true);
	db_start(&m, 0x4244, true, "www.example.com");
	db_addr(&m, NULL, 60, "198.51.100.10");
	answer_from(F_VIP, F_PORT, &m, true);
	CHECK_EQ(learned("198.51.100.10", NULL, NULL), 1);
}

static void t_fqdn_wildcard_whole_labels(void)
{
	struct dnsb m;

	if (ffresh()) {
		CHECK(!"open");
		return;
	}
	name_put("*.example.org", NAME_ID2);
	query(1, "a.b.example.org", F_DNS, false);
	db_start(&m, 1, true, "a.b.example.org");
	db_addr(&m, NULL, 300, "198.51.100.20");
	answer_from(F_DNS, F_PORT, &m, false);
	CHECK_EQ(learned("198.51.100.20", NULL, NULL), 1);

	query(2, "example.org", F_DNS, false);
	db_start(&m, 2, true, "example.org");
	db_addr(&m, NULL, 300, "198.51.100.21");
	answer_from(F_DNS, F_PORT, &m, false);
	CHECK_EQ(learned("198.51.100.21", NULL, NULL), 0);

	query(3, "badexample.org", F_DNS, false); /* no partial label */
	db_start(&m, 3, true, "badexample.org");
	db_addr(&m, NULL, 300, "198.51.100.22");
	answer_from(F_DNS, F_PORT, &m, false);
	CHECK_EQ(learned("198.51.100.22", NULL, NULL), 0);
	CHECK_EQ(stat(PW_FQDN_ANSWERS_NO_NAME), 2);
}

static void t_fqdn_cname_chain(void)
{
	struct dnsb m;
	size_t target;
	int32_t left[PW_FQDN_NAMES];

	if (ffresh()) {
		CHECK(!"open");
		return;
	}
	query(7, "www.example.com", F_DNS, false);
	db_start(&m, 7, true, "www.example.com");
	/* www.example.com CNAME cdn.other.net (ttl 30); cdn.other.net A (ttl 600) */
	db_ptr(&m, 12);
	db_rr_head(&m, 5, 30, 15);
	target = m.n;
	db_name(&m, "cdn.other.net");
	db_ptr(&m, (uint16_t)target);
	db_rr_head(&m, 1, 600, 4);
	db_u32(&m, 0xc6336401); /* 198.51.100.1 */
	/* a record of a name outside the chain teaches nothing */
	db_addr(&m, "evil.example.net", 600, "198.51.100.66");
	answer_from(F_DNS, F_PORT, &m, false);
	CHECK_EQ(learned("198.51.100.1", NULL, left), 1);
	CHECK(left[0] > 20 && left[0] <= 31); /* the chain's shortest TTL */
	CHECK_EQ(learned("198.51.100.66", NULL, NULL), 0);
}

static void t_fqdn_ttl_clamped(void)
{
	struct dnsb m;
	int32_t left[PW_FQDN_NAMES];

	if (ffresh()) {
		CHECK(!"open");
		return;
	}
	query(9, "www.example.com", F_DNS, false);
	db_start(&m, 9, true, "www.example.com");
	db_addr(&m, NULL, 0, "198.51.100.30");
	db_addr(&m, NULL, 10000000, "198.51.100.31");
	db_addr(&m, NULL, 0x80000001u, "198.51.100.32"); /* top bit: 0 (RFC 2181) */
	answer_from(F_DNS, F_PORT, &m, false);
	CHECK_EQ(learned("198.51.100.30", NULL, left), 1);
	CHECK(left[0] >= PW_FQDN_TTL_MIN - 1 && left[0] <= PW_FQDN_TTL_MIN);
	CHECK_EQ(learned("198.51.100.31", NULL, left), 1);
	CHECK(left[0] >= PW_FQDN_TTL_MAX - 1 && left[0] <= PW_FQDN_TTL_MAX);
	CHECK_EQ(learned("198.51.100.32", NULL, left), 1);
	CHECK(left[0] <= PW_FQDN_TTL_MIN);
}

static void t_fqdn_forged_answers_teach_nothing(void)
{
	struct dnsb m;

	if (ffresh()) {
		CHECK(!"open");
		return;
	}
	/* no query at all */
	db_start(&m, 11, true, "www.example.com");
	db_addr(&m, NULL, 300, "198.51.100.40");
	answer_from(F_DNS, F_PORT, &m, false);
	query(12, "www.example.com", F_DNS, false);
	/* wrong id, wrong port, not from the server asked, from a pod that is no DNS server */
	db_start(&m, 13, true, "www.example.com");
	db_addr(&m, NULL, 300, "198.51.100.41");
	answer_from(F_DNS, F_PORT, &m, false);
	db_start(&m, 12, true, "www.example.com");
	db_addr(&m, NULL, 300, "198.51.100.42");
	answer_from(F_DNS, F_PORT + 1, &m, false);
	db_start(&m, 12, true, "www.example.com");
	db_addr(&m, NULL, 300, "198.51.100.43");
	answer_from(F_OTHER, F_PORT, &m, false);
	db_start(&m, 12, true, "www.example.com");
	db_addr(&m, NULL, 300, "198.51.100.44");
	answer_from(F_VIP, F_PORT, &m, false);
	/* another question than the one asked */
	name_put("api.example.com", NAME_ID2);
	db_start(&m, 12, true, "api.example.com");
	db_addr(&m, NULL, 300, "198.51.100.45");
	answer_from(F_DNS, F_PORT, &m, false);
	CHECK_EQ(stat(PW_FQDN_ANSWERS_FORGED), 6);
	for (int i = 40; i <= 45; i++) {
		char a[32];

		snprintf(a, sizeof(a), "198.51.100.%d", i);
		CHECK_EQ(learned(a, NULL, NULL), 0);
	}
	/* the real answer learns; a second one to the same query does not */
	db_start(&m, 12, true, "www.example.com");
	db_addr(&m, NULL, 300, "198.51.100.46");
	answer_from(F_DNS, F_PORT, &m, false);
	CHECK_EQ(learned("198.51.100.46", NULL, NULL), 1);
	db_start(&m, 12, true, "www.example.com");
	db_addr(&m, NULL, 300, "198.51.100.47");
	answer_from(F_DNS, F_PORT, &m, false);
	CHECK_EQ(learned("198.51.100.47", NULL, NULL), 0);
	CHECK_EQ(stat(PW_FQDN_ANSWERS_FORGED), 7);

	/* a pod that does not learn names: its queries are not remembered */
	{
		struct pw_endpoint ep;

		CHECK_EQ(pw_bpf_get_endpoint(fobj, f_if, &ep), 0);
		ep.flags[0] = ep.flags[1] = PW_EP_HAS_V4;
		CHECK_EQ(pw_bpf_put_endpoint(fobj, f_if, &ep), 0);
		query(14, "www.example.com", F_DNS, false);
		CHECK_EQ(stat(PW_FQDN_QUERIES), 1);
	}
}

/* one query, then an answer whose records the caller writes, expecting the malformed count */
static void malformed_case(uint16_t id, struct dnsb *m, const char *why)
{
	uint64_t before = stat(PW_FQDN_ANSWERS_MALFORMED);

	query(id, "www.example.com", F_DNS, false);
	answer_from(F_DNS, F_PORT, m, false);
	if (stat(PW_FQDN_ANSWERS_MALFORMED) != before + 1)
		fprintf(stderr, "malformed case not counted: %s\n", why);
	CHECK_EQ(stat(PW_FQDN_ANSWERS_MALFORMED), before + 1);
}

static void t_fqdn_malformed_answers(void)
{
	struct dnsb m;
	size_t at;

	if (ffresh()) {
		CHECK(!"open");
		return;
	}
	/* a pointer to itself */
	db_start(&m, 21, true, "www.example.com");
	db_addr(&m, NULL, 300, "198.51.100.50");
	at = m.n;
	db_ptr(&m, (uint16_t)at);
	db_rr_head(&m, 1, 300, 4);
	db_u32(&m, 0xc6336433);
	malformed_case(21, &m, "self pointer");
	/* two names pointing at each other */
	db_start(&m, 22, true, "www.example.com");
	at = m.n;
	db_u8(&m, 1);
	db_u8(&m, 'x');
	db_ptr(&m, (uint16_t)(at + 4));
	db_ptr(&m, (uint16_t)at);
	db_rr_head(&m, 1, 300, 4);
	db_u32(&m, 0xc6336434);
	malformed_case(22, &m, "pointer loop");
	/* a pointer forward */
	db_start(&m, 23, true, "www.example.com");
	db_ptr(&m, 200);
	db_rr_head(&m, 1, 300, 4);
	db_u32(&m, 0xc6336435);
	malformed_case(23, &m, "forward pointer");
	/* a record cut short: rdlength past the end */
	db_start(&m, 24, true, "www.example.com");
	db_addr(&m, NULL, 300, "198.51.100.54");
	db_ptr(&m, 12);
	db_rr_head(&m, 1, 300, 4);
	db_u16(&m, 0xc633);
	malformed_case(24, &m, "cut record");
	/* an A record of 5 bytes */
	db_start(&m, 25, true, "www.example.com");
	db_ptr(&m, 12);
	db_rr_head(&m, 1, 300, 5);
	db_u32(&m, 0xc6336437);
	db_u8(&m, 0);
	malformed_case(25, &m, "A of 5 bytes");
	/* a reserved label type */
	db_start(&m, 26, true, "www.example.com");
	db_u8(&m, 0x41);
	db_u8(&m, 0);
	db_rr_head(&m, 1, 300, 4);
	db_u32(&m, 0xc6336438);
	malformed_case(26, &m, "label type 01");
	/* a compressed question */
	{
		uint64_t before = stat(PW_FQDN_ANSWERS_MALFORMED);

		memset(&m, 0, sizeof(m));
		db_u16(&m, 27);
		db_u16(&m, 0x8180);
		db_u16(&m, 1);
		db_u16(&m, 0);
		db_u16(&m, 0);
		db_u16(&m, 0);
		db_ptr(&m, 2);
		db_u16(&m, 1);
		db_u16(&m, 1);
		answer_from(F_DNS, F_PORT, &m, false);
		CHECK_EQ(stat(PW_FQDN_ANSWERS_MALFORMED), before + 1);
	}
	for (int i = 50; i <= 56; i++) {
		char a[32];

		snprintf(a, sizeof(a), "198.51.100.%d", i);
		CHECK_EQ(learned(a, NULL, NULL), 0);
	}
	CHECK_EQ(stat(PW_FQDN_ANSWERS_LEARNED), 0);
}

/* a name of wire length len (labels of 63 and a last shorter one), dotted */
static void long_name(char *out, size_t wire_len)
{
	size_t left = wire_len - 1, o = 0; /* the root's byte */
	char c = 'a';

	while (left) {
		size_t l = left - 1 > 63 ? 63 : left - 1;

		if (o)
			out[o++] = '.';
		memset(out + o, c++, l);
		o += l;
		left -= l + 1;
	}
	out[o] = 0;
}

static void t_fqdn_name_length_limit(void)
{
	char name[300];
	struct dnsb m;
	struct pw_name_key k;
	struct pw_name_val v;

	if (ffresh()) {
		CHECK(!"open");
		return;
	}
	long_name(name, 255);
	CHECK_EQ(pw_domain_entry(name, 0, 1, &k, &v), 0);
	CHECK_EQ(v.wire_len, 255);
	name_put(name, NAME_ID2);
	query(31, name, F_DNS, false);
	db_start(&m, 31, true, name);
	db_addr(&m, NULL, 300, "198.51.100.60");
	answer_from(F_DNS, F_PORT, &m, false);
	CHECK_EQ(learned("198.51.100.60", NULL, NULL), 1);

	long_name(name, 256);
	CHECK(pw_domain_entry(name, 0, 1, &k, &v) < 0);
	query(32, name, F_DNS, false);
	CHECK_EQ(stat(PW_FQDN_QUERIES), 1); /* a question too long is no query */
	db_start(&m, 32, true, name);
	db_addr(&m, NULL, 300, "198.51.100.61");
	answer_from(F_DNS, F_PORT, &m, false);
	CHECK_EQ(stat(PW_FQDN_ANSWERS_MALFORMED), 1);
	CHECK_EQ(learned("198.51.100.61", NULL, NULL), 0);
}

static void t_fqdn_records_past_the_bound(void)
{
	struct dnsb m;
	char a[32];
	int n = 0;

	if (ffresh()) {
		CHECK(!"open");
		return;
	}
	query(41, "www.example.com", F_DNS, false);
	db_start(&m, 41, true, "www.example.com");
	for (int i = 0; i < PW_DNS_RR_MAX + 6; i++) {
		snprintf(a, sizeof(a), "198.18.%d.%d", 200 + i / 250, i % 250 + 1);
		db_addr(&m, NULL, 300, a);
	}
	answer_from(F_DNS, F_PORT, &m, false);
	for (int i = 0; i < PW_DNS_RR_MAX + 6; i++) {
		snprintf(a, sizeof(a), "198.18.%d.%d", 200 + i / 250, i % 250 + 1);
		n += learned(a, NULL, NULL);
	}
	CHECK_EQ(n, PW_DNS_RR_MAX);
	CHECK_EQ(stat(PW_FQDN_RECORDS_OVER), 6);
	CHECK_EQ(stat(PW_FQDN_ADDRS_LEARNED), PW_DNS_RR_MAX);
}

/* the per-pod cap: one set holds PW_FQDN_WAYS addresses; the next takes the way ending first */
static void t_fqdn_pod_cap(void)
{
	char addrs[PW_FQDN_WAYS + 1][32];
	uint32_t want = 0;
	struct dnsb m;
	int n = 0;

	if (ffresh()) {
		CHECK(!"open");
		return;
	}
	for (int i = 1; n <= PW_FQDN_WAYS && i < 65536; i++) {
		char a[32];

		snprintf(a, sizeof(a), "203.0.%d.%d", i / 250, i % 250 + 1);
		if (n == 0)
			want = pw_fqdn_set_of(FIP(a));
		if (pw_fqdn_set_of(FIP(a)) == want)
			snprintf(addrs[n++], sizeof(addrs[0]), "%s", a);
	}
	CHECK_EQ(n, PW_FQDN_WAYS + 1);
	/* the first address of the set has the shortest TTL */
	for (int i = 0; i < PW_FQDN_WAYS; i++) {
		query((uint16_t)(50 + i), "www.example.com", F_DNS, false);
		db_start(&m, (uint16_t)(50 + i), true, "www.example.com");
		db_addr(&m, NULL, i == 0 ? 100 : 1000, addrs[i]);
		answer_from(F_DNS, F_PORT, &m, false);
	}
	for (int i = 0; i < PW_FQDN_WAYS; i++)
		CHECK_EQ(learned(addrs[i], NULL, NULL), 1);
	CHECK_EQ(stat(PW_FQDN_EVICTED), 0);
	query(60, "www.example.com", F_DNS, false);
	db_start(&m, 60, true, "www.example.com");
	db_addr(&m, NULL, 1000, addrs[PW_FQDN_WAYS]);
	answer_from(F_DNS, F_PORT, &m, false);
	CHECK_EQ(learned(addrs[PW_FQDN_WAYS], NULL, NULL), 1);
	CHECK_EQ(learned(addrs[0], NULL, NULL), 0);
	for (int i = 1; i < PW_FQDN_WAYS; i++)
		CHECK_EQ(learned(addrs[i], NULL, NULL), 1);
	CHECK_EQ(stat(PW_FQDN_EVICTED), 1);
}

/* ------------------------------------------------------------ events */

#define F_MAX_EVS 16
static struct pw_event f_evs[F_MAX_EVS];
static int f_n_evs;

static int f_ev_cb(void *ctx, void *data, size_t len)
{
	(void)ctx;
	if (f_n_evs < F_MAX_EVS && len >= sizeof(struct pw_event))
		memcpy(&f_evs[f_n_evs++], data, sizeof(struct pw_event));
	return 0;
}

/* The events the object's ring holds now, into f_evs; how many. */
static int f_drain(void)
{
	struct ring_buffer *rb;

	f_n_evs = 0;
	rb = ring_buffer__new(bpf_map__fd(fobj->maps.events), f_ev_cb, NULL, NULL);
	if (!rb)
		return -1;
	ring_buffer__consume(rb);
	ring_buffer__free(rb);
	return f_n_evs;
}

/* Each address learned is an event: pod, question (lower-cased), address, TTL, name id. */
static void t_fqdn_learned_events(void)
{
	struct dnsb m;

	if (ffresh()) {
		CHECK(!"open");
		return;
	}
	f_drain();
	query(0x5151, "WWW.Example.com", F_DNS, false);
	db_start(&m, 0x5151, true, "WWW.Example.com");
	db_addr(&m, NULL, 300, "198.51.100.51");
	db_addr(&m, NULL, 1, "2001:db8::51"); /* clamped to PW_FQDN_TTL_MIN */
	answer_from(F_DNS, F_PORT, &m, false);
	CHECK_EQ(f_drain(), 2);
	for (int i = 0; i < f_n_evs && i < 2; i++) {
		const struct pw_event *e = &f_evs[i];

		CHECK_EQ(e->flags, PW_EVENT_NAME_LEARNED | PW_EVENT_HAS_DNS);
		CHECK_EQ(strcmp(e->dns_name, "www.example.com"), 0); /* as matched */
		CHECK_EQ(e->ep_id, f_if);
		CHECK_EQ(e->src_identity, 0x100);
		CHECK_EQ(e->dst_identity, NAME_ID);
		CHECK_EQ(e->rule_id, 1);
		CHECK_EQ(e->dir, PW_DIR_EGRESS);
		CHECK_EQ(e->verdict, PW_VERDICT_ALLOW);
		CHECK_EQ(memcmp(e->saddr, FIP(F_DNS), 16), 0);
		CHECK_EQ(ntohs(e->dport), F_PORT);
		CHECK_EQ(memcmp(e->daddr, FIP(i ? "2001:db8::51" : "198.51.100.51"), 16), 0);
		CHECK_EQ(e->ttl_s, i ? PW_FQDN_TTL_MIN : 300);
	}
	/* monitor's words for it, without a state file: numbers and addresses */
	if (f_n_evs >= 1) {
		struct pw_ev_names nm;
		char txt[512] = "", js[1024] = "";
		FILE *f;

		pw_ev_names(&f_evs[0], NULL, &nm);
		f = fmemopen(txt, sizeof(txt) - 1, "w");
		pw_ev_print_text(f, &f_evs[0], NULL, &nm);
		fclose(f);
		CHECK(strstr(txt, " learned \"www.example.com\" -> 198.51.100.51 ttl 300s (name id ") != NULL);
		CHECK(strstr(txt, "; answer of " F_DNS ")") != NULL);
		f = fmemopen(js, sizeof(js) - 1, "w");
		pw_ev_print_json(f, &f_evs[0], NULL, &nm);
		fclose(f);
		CHECK(strstr(js, "\"type\":\"learned\"") != NULL);
		CHECK(strstr(js, "\"name\":\"www.example.com\"") != NULL);
		CHECK(strstr(js, "\"addr\":\"198.51.100.51\"") != NULL);
		CHECK(strstr(js, "\"ttl\":300") != NULL);
	}
	/* a name no pattern matches, a forged answer: no event */
	query(0x5152, "other.example.com", F_DNS, false);
	db_start(&m, 0x5152, true, "other.example.com");
	db_addr(&m, NULL, 300, "198.51.100.52");
	answer_from(F_DNS, F_PORT, &m, false);
	db_start(&m, 0x5153, true, "www.example.com");
	db_addr(&m, NULL, 300, "198.51.100.53");
	answer_from(F_OTHER, F_PORT, &m, false);
	CHECK_EQ(f_drain(), 0);
}

/*
 * An egress drop of a pod that learns names, to an address outside the
 * pods with no live learned name: the event says no lookup returned it.
 * To one it learned (dropped all the same: no rule here), it does not.
 */
static void t_fqdn_drop_says_no_name(void)
{
	struct pw_endpoint ep = { 0 };
	struct pw_pkt_spec sp = { .proto = IPPROTO_TCP, .sport = 41000, .dport = 443,
				  .tcp_flags = PW_TCPF_SYN };
	struct pw_pkt p;
	struct dnsb m;

	if (ffresh()) {
		CHECK(!"open");
		return;
	}
	query(0x5252, "www.example.com", F_DNS, false);
	db_start(&m, 0x5252, true, "www.example.com");
	db_addr(&m, NULL, 300, "198.51.100.61");
	answer_from(F_DNS, F_PORT, &m, false);
	/* now isolated for egress, with no rule: every new flow drops */
	ep.ep_id = f_if;
	ep.identity = 0x100;
	memcpy(ep.ip4, f_pod, 16);
	ep.flags[0] = ep.flags[1] = PW_EP_HAS_V4 | PW_EP_LEARN_NAMES | PW_EP_ISOLATED_EGRESS;
	CHECK_EQ(pw_bpf_put_endpoint(fobj, f_if, &ep), 0);
	f_drain();

	memcpy(sp.saddr, f_pod, 16);
	memcpy(sp.daddr, FIP("198.51.100.62"), 16);
	CHECK_EQ(pw_pkt_build(&p, &sp), 0);
	CHECK_EQ(frun(PW_PROG_FROM_POD, &p), TC_ACT_SHOT);
	CHECK_EQ(f_drain(), 1);
	CHECK(f_evs[0].flags & PW_EVENT_NO_NAME);
	CHECK_EQ(f_evs[0].verdict, PW_VERDICT_DROP);
	{
		struct pw_ev_names nm;
		char txt[512] = "";
		FILE *f;

		pw_ev_names(&f_evs[0], NULL, &nm);
		f = fmemopen(txt, sizeof(txt) - 1, "w");
		pw_ev_print_text(f, &f_evs[0], NULL, &nm);
		fclose(f);
		CHECK(strstr(txt, "; no lookup of an allowed name returned this address for this "
			      "pod)") != NULL);
	}

	memcpy(sp.daddr, FIP("198.51.100.61"), 16);
	CHECK_EQ(pw_pkt_build(&p, &sp), 0);
	frun(PW_PROG_FROM_POD, &p);
	if (f_drain() == 1)
		CHECK(!(f_evs[0].flags & PW_EVENT_NO_NAME));

	/* to a pod: names are not how it is reached */
	memcpy(sp.daddr, FIP(F_OTHER), 16);
	CHECK_EQ(pw_pkt_build(&p, &sp), 0);
	CHECK_EQ(frun(PW_PROG_FROM_POD, &p), TC_ACT_SHOT);
	CHECK_EQ(f_drain(), 1);
	CHECK(!(f_evs[0].flags & PW_EVENT_NO_NAME));
}

/* What `podwall status` reads: the learned entries and counters, through the pins. */
static void t_fqdn_pins_reader(void)
{
	char dir[] = "/sys/fs/bpf/podwall-fqdn-XXXXXX";
	struct pw_fqdn_entry *e = NULL;
	uint64_t st[PW_FQDN_STAT_MAX];
	struct pw_pins pins;
	struct pw_error why = { 0 };
	struct dnsb m;
	size_t n = 0;

	/* a private mount namespace and bpffs: nothing outlives the process */
	if (unshare(CLONE_NEWNS) || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		CHECK(!"private bpffs");
		return;
	}
	CHECK(mkdtemp(dir) != NULL);
	rmdir(dir);
	if (ffresh_at(dir)) {
		CHECK(!"open pinned");
		return;
	}
	query(71, "www.example.com", F_DNS, false);
	db_start(&m, 71, true, "www.example.com");
	db_addr(&m, NULL, 120, "198.51.100.71");
	db_addr(&m, NULL, 60, "2001:db8::71");
	answer_from(F_DNS, F_PORT, &m, false);
	CHECK_EQ(pw_pins_open(dir, PW_PIN_BIT(PW_MAP_FQDN_LEARNED), &pins, &why), 0);
	CHECK_EQ(pw_pins_fqdn_stats(&pins, st), 0);
	CHECK_EQ(st[PW_FQDN_ANSWERS_LEARNED], 1);
	CHECK_EQ(st[PW_FQDN_ADDRS_LEARNED], 2);
	CHECK_EQ(pw_pins_fqdn_learned(&pins, now_s(), &e, &n), 0);
	CHECK_EQ(n, 2);
	if (n == 2) {
		/* sorted by address: IPv4-mapped (::ffff:...) before 2001:... */
		CHECK_EQ(memcmp(e[0].addr, FIP("198.51.100.71"), 16), 0);
		CHECK(e[0].ttl_left > 110 && e[0].ttl_left <= 121);
		CHECK_EQ(e[0].name_id, NAME_ID);
		CHECK_EQ(e[0].ep_id, f_if);
		CHECK_EQ(memcmp(e[0].owner, f_pod, 16), 0);
		CHECK_EQ(memcmp(e[1].addr, FIP("2001:db8::71"), 16), 0);
		CHECK(e[1].ttl_left > 50 && e[1].ttl_left <= 61);
	}
	free(e);
	/* what the metrics count: live names, and those whose TTL ran out */
	{
		uint64_t live = 0, expired = 0;

		CHECK_EQ(pw_pins_fqdn_count(&pins, now_s(), &live, &expired), 0);
		CHECK_EQ(live, 2);
		CHECK_EQ(expired, 0);
		CHECK_EQ(pw_pins_fqdn_count(&pins, now_s() + 90, &live, &expired), 0);
		CHECK_EQ(live, 1);
		CHECK_EQ(expired, 1);
	}
	pw_pins_close(&pins);
	pw_bpf_close(fobj);
	fobj = NULL;
	CHECK_EQ(pw_bpf_unpin(dir, NULL), 0);
}

int suite_fqdn(void)
{
	if (pw_nl_dummy_add("pwFqdn", &f_if) || pw_addr_parse(F_POD, f_pod)) {
		printf("FAIL fqdn_setup: dummy device\n");
		return 1;
	}
	RUN(t_fqdn_answer_learns);
	RUN(t_fqdn_wildcard_whole_labels);
	RUN(t_fqdn_cname_chain);
	RUN(t_fqdn_ttl_clamped);
	RUN(t_fqdn_forged_answers_teach_nothing);
	RUN(t_fqdn_malformed_answers);
	RUN(t_fqdn_name_length_limit);
	RUN(t_fqdn_records_past_the_bound);
	RUN(t_fqdn_pod_cap);
	RUN(t_fqdn_learned_events);
	RUN(t_fqdn_drop_says_no_name);
	RUN(t_fqdn_pins_reader);
	if (fobj)
		pw_bpf_close(fobj);
	fobj = NULL;
	return check_n_fail;
}
