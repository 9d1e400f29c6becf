/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-packet cost of the real programs, with BPF_PROG_TEST_RUN.
 *
 * For each policy size the object is loaded with private (unpinned) maps in
 * a private network namespace, whose one stand-alone device is the "host
 * veth" of the endpoint under test (test_run resolves ctx.ifindex there).
 * The maps hold `entries` policy entries spread over many endpoints
 * (entries/100, at most 1,000), peers (entries/10 identities, each with an
 * IPv4 and an IPv6 ipcache entry, plus CIDR prefixes), directions,
 * protocols, ports, any-port, any-protocol and port-range prefixes; the
 * endpoint under test holds its share plus the entries its flows need.
 * They are written by mapsync from a desired state, as the agent writes
 * them. to_pod judges the packets (ingress of the endpoint), as on a node.
 *
 * Every size is loaded at once (one object each: ~1.2 s of verification and
 * ~55 MB of kernel memory), so that the sizes are measured side by side
 * rather than one after the other: a size measured alone used to take a
 * noisy stretch of the machine for itself (a run of 2026-12-07 failed
 * flatness on one dns-answer median: 131 ns at 100,000 entries against 104
 * at 10, while the other cases were flat). The bench runs `runs` rounds; in
 * a round each case runs `repeat` packets at every size, in DP_SLICES
 * slices with the sizes taking turns slice by slice, and a size's figure
 * for the round is the median of its slices. The figure reported per size
 * is the median over the rounds.
 *
 * Flatness (cmd/bench.c; the target is <= 1.10): per case, the median over
 * the rounds of each round's ratio, which is the median over its turns of
 * the slice at the largest size over the slice at the smallest, run back to
 * back. On this VM a neighbour's load moves a case by 20-40 % for tens of
 * ms to seconds: such a stretch lands on both slices of a turn alike, and a
 * turn or a round it splits is outvoted. A real cost of the bigger policy
 * is in every slice, so every ratio carries it and it shows whole: checked
 * (2026-12-07) by giving the denied peer three port-range rules at 100,000
 * entries only (a trie walk on the deny path): v4-deny 251 -> 329 ns,
 * v6-deny 241 -> 321, flatness 1.34 and 1.33 for them, the other cases
 * 1.00-1.03.
 *
 * The cases, each IPv4 and IPv6 (repeat >= 1,000,000 per round and size):
 *   established  a TCP ACK of a tracked flow: conntrack hit (the entry is
 *                made by one run beforehand), generation unchanged;
 *   new          a TCP RST+ACK from an allowed peer: conntrack miss (both
 *                senses), ipcache lookup (hash), one policy lookup that
 *                hits (the peer's port, hash), allow. A RST opens no conntrack entry, so every repeat of
 *                the same packet is a new flow again: this is the policy
 *                path of a new flow without the conntrack insert;
 *   new+ct       the same with the conntrack insert of a real first packet
 *                (TCP SYN). test_run repeats one packet, so after the first
 *                repeat a SYN is established: the insert cost is measured
 *                with single runs instead, deleting the entry before each,
 *                as median(single SYN) - median(single RST) interleaved in
 *                the same loop (the timer overhead of a single run cancels
 *                out), and added to `new`. The method was checked in one
 *                interleaved run (2026-12-07, 2-core VM): SYNs and RSTs of
 *                tuples never seen, without any delete (a real first
 *                packet), give the same insert (v4 190 / v6 200 ns against
 *                191 / 200 with the delete), and so does a full map (every
 *                insert evicts): 190. With the update helper compiled out
 *                the SYN costs 20-40 ns more than the RST, so ~160 ns is
 *                bpf_map_update_elem itself. perf in these runs: the LRU's
 *                free-node pop 49 %, the update's body (bucket lock, walk,
 *                link, unlock) 35 %, jhash of the 40-byte key 7 %, copies
 *                5 %. It takes two irq-disabling spin locks (the LRU's
 *                per-CPU free list, the hash bucket), each ~43 ns here
 *                (bpf_spin_lock pair 43 ns, irq save/restore alone ~22 ns
 *                on this VM). HASH, NO_PREALLOC, NO_COMMON_LRU, a 16-byte
 *                key, 16k entries and BPF_NOEXIST, each against LRU_HASH
 *                in one run, came within +-30 ns of it, none near the -90
 *                that 300 ns needs. In a hot loop (repeat: insert and
 *                delete one key, minus a delete of an absent one) the
 *                insert is ~140 ns; with a new tuple each repeat (a SYN
 *                flood: cold nodes and buckets) 200-330 ns. Since ABI 4
 *                conntrack is a table of podwall's own (abi.h): five
 *                interleaved runs against the LRU_HASH build, 10,000
 *                entries: new+ct v4 218-232 / v6 214-231 ns (LRU 387-410 /
 *                385-403), new 178-188 / 176-183 (197-210 / 194-203),
 *                established 54-56 / 53-55 (74-85 / 72-73);
 *   deny         a TCP SYN from a peer with rules, none for this port:
 *                conntrack miss, ipcache, the policy lookups that miss (the
 *                peer's port and its summary; the endpoint has no any-peer
 *                rule), drop, counter, rate-limited event (the ring buffer
 *                is not drained: after the first events the rate limiter
 *                suppresses, as under a flood);
 *   pass_only    the baseline program, TC_ACT_OK and nothing else;
 *   dns-answer   IPv4 UDP: a DNS answer (one A record) from a cluster DNS
 *                server, the reply of a tracked query, to a pod that learns
 *                no names: the reply's verdict and the one port-53 test;
 *   dns-answer+learn  the same answer to a pod that learns names (abi.h
 *                PW_EP_LEARN_NAMES): question parsed, the awaited query found
 *                (and consumed), the name set matched, the record read and
 *                learned. A query is consumed by its answer, so this is
 *                measured like new+ct: single runs, the query put back
 *                before each, interleaved with single runs of dns-answer
 *                with learning off; dns-answer + median(learn) -
 *                median(plain).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "podwall.skel.h"
#include "kernel/bpfobj.h"
#include "kernel/cttable.h"
#include "kernel/mapsync.h"
#include "kernel/netlink.h"
#include "kernel/pkt.h"
#include "kernel/testrun.h"
#include "compiler/domain.h"
#include "bench/bench.h"

const char *const pwb_case_names[PWB_NCASES] = {
	[PWB_PASS_ONLY] = "pass_only",
	[PWB_V4_EST]    = "v4-established",
	[PWB_V4_NEW]    = "v4-new",
	[PWB_V4_NEW_CT] = "v4-new+ct",
	[PWB_V4_DENY]   = "v4-deny",
	[PWB_V6_EST]    = "v6-established",
	[PWB_V6_NEW]    = "v6-new",
	[PWB_V6_NEW_CT] = "v6-new+ct",
	[PWB_V6_DENY]   = "v6-deny",
	[PWB_DNS_ANSWER] = "dns-answer",
	[PWB_DNS_LEARN] = "dns-answer+learn",
};

const char *const pwb_case_desc[PWB_NCASES] = {
	[PWB_PASS_ONLY] = "pass_only program: returns TC_ACT_OK (baseline)",
	[PWB_V4_EST]    = "IPv4 TCP ACK of a tracked flow: conntrack hit",
	[PWB_V4_NEW]    = "IPv4 new flow, allowed: ct miss, ipcache, policy hit (RST+ACK: no ct insert)",
	[PWB_V4_NEW_CT] = "IPv4 new flow, allowed, with the conntrack insert (new + single-run SYN-RST delta)",
	[PWB_V4_DENY]   = "IPv4 new flow, denied: ct miss, ipcache, policy misses (port, summary), drop, event",
	[PWB_V6_EST]    = "IPv6 TCP ACK of a tracked flow: conntrack hit",
	[PWB_V6_NEW]    = "IPv6 new flow, allowed: ct miss, ipcache, policy hit (RST+ACK: no ct insert)",
	[PWB_V6_NEW_CT] = "IPv6 new flow, allowed, with the conntrack insert (new + single-run SYN-RST delta)",
	[PWB_V6_DENY]   = "IPv6 new flow, denied: ct miss, ipcache, policy misses (port, summary), drop, event",
	[PWB_DNS_ANSWER] = "IPv4 DNS answer (1 A record), reply of a tracked query, to a pod that learns no names",
	[PWB_DNS_LEARN] = "the same answer to a pod that learns names: parse, query match, name match, learn (dns-answer + single-run delta)",
};

#define ID_EP     0x00000100u
#define ID_ALLOW  0x00000101u
#define ID_DENY   0x00000102u
#define ID_FILL   0x00000103u
#define PORT_SVC  8080

#define SPORT_EST  40000
#define SPORT_NEW  40001
#define SPORT_SYN  40002
#define SPORT_DENY 40003

struct addrs {
	uint8_t ep[2][16], allow[2][16], deny[2][16]; /* [0] IPv4-mapped, [1] IPv6 */
};

static void addrs_init(struct addrs *a)
{
	/* 198.18.0.0/15 and the IPv6 benchmarking prefix 2001:2::/48 */
	pw_addr_parse("198.18.100.1", a->ep[0]);
	pw_addr_parse("2001:2::100:1", a->ep[1]);
	pw_addr_parse("198.18.200.1", a->allow[0]);
	pw_addr_parse("2001:2::200:1", a->allow[1]);
	pw_addr_parse("198.18.200.2", a->deny[0]);
	pw_addr_parse("2001:2::200:2", a->deny[1]);
}

/* xorshift64*: deterministic filler, the same maps on every run. */
static uint64_t rnd_state;
static uint32_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return (uint32_t)((rnd_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static size_t clampz(size_t v, size_t lo, size_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * The maps are filled the way the agent fills them: a desired state
 * (state.h) written by mapsync, so that what is measured is the layout the
 * agent makes (exact keys in the hashes, port ranges and CIDR groups in the
 * LPMs, the policy summaries, the endpoints' PW_EP_NO_ANY_* bits).
 */
struct fill_state {
	struct pw_state st;
	size_t cap_ipc, cap_pol;
	/* the policy keys so far: open addressing, to skip duplicates */
	struct pw_policy_key *set;
	size_t set_cap;
};

static int add_ipc(struct fill_state *f, const uint8_t a[16], uint32_t bits, uint32_t id,
		   uint32_t flags)
{
	struct pw_state_ipc *e;

	if (f->st.n_ipc == f->cap_ipc) {
		size_t cap = f->cap_ipc ? f->cap_ipc * 2 : 256;
		void *n = realloc(f->st.ipc, cap * sizeof(*f->st.ipc));

		if (!n)
			return -ENOMEM;
		f->st.ipc = n;
		f->cap_ipc = cap;
	}
	e = &f->st.ipc[f->st.n_ipc++];
	memset(e, 0, sizeof(*e));
	pw_ipcache_key_make(&e->key, 0, a, bits);
	e->val.identity = id;
	e->val.flags = flags;
	return 0;
}

static uint64_t key_hash(const struct pw_policy_key *k)
{
	const uint8_t *b = (const uint8_t *)k;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* One policy entry; -EEXIST if its key is there already. */
static int add_policy(struct fill_state *f, uint32_t prefixlen, uint8_t dir, uint32_t ep_id,
		      uint32_t peer, uint8_t proto, uint16_t port, uint32_t rule_id)
{
	struct pw_policy_key k;
	size_t i;

	pw_policy_key_make(&k, prefixlen, 0, dir, ep_id, peer, proto, port);
	for (i = key_hash(&k) & (f->set_cap - 1); f->set[i].prefixlen;
	     i = (i + 1) & (f->set_cap - 1))
		if (!memcmp(&f->set[i], &k, sizeof(k)))
			return -EEXIST;
	if (f->st.n_pol == f->cap_pol)
		return -ENOSPC;
	f->set[i] = k; /* prefixlen is never 0: the empty slot mark */
	f->st.pol[f->st.n_pol].key = k;
	f->st.pol[f->st.n_pol].val = (struct pw_policy_val){ .rule_id = rule_id };
	f->st.n_pol++;
	return 0;
}

static const uint16_t common_ports[] = {
	80, 443, 8080, 8443, 53, 5432, 3306, 6379, 9090, 9100, 27017, 5672, 9092, 2379, 11211, 8000,
};

/* The desired state: endpoints, ipcache, `entries` policy entries. */
static int fill_state(struct fill_state *f, uint32_t ep_ifindex, const struct addrs *a,
		      size_t entries, struct pwb_dp_size *sz)
{
	size_t n_eps = clampz(entries / 100, 1, 1000);
	size_t n_ids = clampz(entries / 10, 8, 20000);
	size_t tries = 0;
	uint32_t rule_id = 1;
	int err;

	rnd_state = 0x9E3779B97F4A7C15ull ^ entries;
	f->cap_pol = entries + 4;
	for (f->set_cap = 64; f->set_cap < 2 * f->cap_pol; f->set_cap *= 2)
		;
	f->st.pol = calloc(f->cap_pol, sizeof(*f->st.pol));
	f->set = calloc(f->set_cap, sizeof(*f->set));
	f->st.eps = calloc(n_eps, sizeof(*f->st.eps));
	if (!f->st.pol || !f->set || !f->st.eps)
		return -ENOMEM;

	/* endpoints: the one under test, then stand-ins on made-up ifindexes */
	for (size_t e = 0; e < n_eps; e++) {
		struct pw_state_ep *ep = &f->st.eps[f->st.n_eps++];
		uint32_t ifindex = e == 0 ? ep_ifindex : 100000 + (uint32_t)e;

		snprintf(ep->ns, sizeof(ep->ns), "bench");
		snprintf(ep->name, sizeof(ep->name), "pod-%06zu", e);
		ep->ifindex = ifindex;
		ep->ep_id = ifindex;
		ep->identity = e == 0 ? ID_EP : ID_FILL + (uint32_t)(e % n_ids);
		ep->flags = PW_EP_ISOLATED_INGRESS | PW_EP_ISOLATED_EGRESS;
		ep->n_ips = 2;
		if (e == 0) {
			memcpy(ep->ips[0], a->ep[0], 16);
			memcpy(ep->ips[1], a->ep[1], 16);
		} else {
			char s[64];

			snprintf(s, sizeof(s), "198.18.%u.%u", 120 + (unsigned)(e >> 8), (unsigned)(e & 255));
			pw_addr_parse(s, ep->ips[0]);
			snprintf(s, sizeof(s), "2001:2:0:100::%x", (unsigned)e);
			pw_addr_parse(s, ep->ips[1]);
		}
	}

	/* ipcache: every identity has an IPv4 and an IPv6 pod address; some
	 * CIDR groups; the peers of the flows under test */
	for (int fam = 0; fam < 2; fam++) {
		if ((err = add_ipc(f, a->ep[fam], 128, ID_EP, PW_IPC_POD)) ||
		    (err = add_ipc(f, a->allow[fam], 128, ID_ALLOW, PW_IPC_POD)) ||
		    (err = add_ipc(f, a->deny[fam], 128, ID_DENY, PW_IPC_POD)))
			return err;
	}
	for (size_t i = 0; i < n_ids; i++) {
		uint8_t v4[16], v6[16];
		char s[64];

		snprintf(s, sizeof(s), "198.19.%u.%u", (unsigned)(i >> 8) & 255, (unsigned)(i & 255));
		pw_addr_parse(s, v4);
		snprintf(s, sizeof(s), "2001:2:0:%x::%x", 0x200 + (unsigned)(i >> 16), (unsigned)(i & 0xffff));
		pw_addr_parse(s, v6);
		if ((err = add_ipc(f, v4, 128, ID_FILL + (uint32_t)i, PW_IPC_POD)) ||
		    (err = add_ipc(f, v6, 128, ID_FILL + (uint32_t)i, PW_IPC_POD)))
			return err;
	}
	for (size_t i = 0; i < n_ids / 50 + 1; i++) {
		uint8_t v4[16];
		char s[64];

		/* ipBlocks outside the pod range: 10.x.y.0/24, 172.16.x.0/20... */
		snprintf(s, sizeof(s), "10.%u.%u.0", (unsigned)(i >> 8) & 255, (unsigned)(i & 255));
		pw_addr_parse(s, v4);
		if ((err = add_ipc(f, v4, 96 + 24, PW_ID_CIDR_MIN + (uint32_t)i, 0)))
			return err;
	}

	/* the flows under test, on the endpoint under test */
	if ((err = add_policy(f, PW_POL_PREFIX_FULL, PW_DIR_INGRESS, ep_ifindex, ID_ALLOW,
			      IPPROTO_TCP, PORT_SVC, rule_id++)) ||
	    (err = add_policy(f, PW_POL_PREFIX_FULL, PW_DIR_INGRESS, ep_ifindex, ID_DENY,
			      IPPROTO_TCP, PORT_SVC + 1, rule_id++)) ||
	    (err = add_policy(f, PW_POL_PREFIX_ANY_PORT, PW_DIR_INGRESS, ep_ifindex, ID_DENY,
			      IPPROTO_UDP, 0, rule_id++)) ||
	    (err = add_policy(f, PW_POL_PREFIX_FULL, PW_DIR_EGRESS, ep_ifindex, ID_ALLOW,
			      IPPROTO_TCP, 5432, rule_id++)))
		return err;

	/* the rest: spread over endpoints, peers, directions, protocols, ports */
	while (f->st.n_pol < entries) {
		uint32_t r = rnd(), e = rnd() % (uint32_t)n_eps;
		uint32_t ep_id = e == 0 ? ep_ifindex : 100000 + e;
		uint8_t dir = (r % 10) < 7 ? PW_DIR_INGRESS : PW_DIR_EGRESS;
		uint32_t peer = ID_FILL + rnd() % (uint32_t)n_ids;
		uint32_t kind = rnd() % 100, prefixlen = PW_POL_PREFIX_FULL;
		uint8_t proto = kind < 70 ? IPPROTO_TCP : kind < 95 ? IPPROTO_UDP : IPPROTO_SCTP;
		uint16_t port;

		if (++tries > entries * 20)
			return -ENOSPC; /* cannot happen with these pools; never loop forever */
		/* some rules name a CIDR group, some every peer (never on the
		 * endpoint under test: its denied flow must stay denied) */
		if (rnd() % 20 == 0)
			peer = PW_ID_CIDR_MIN + rnd() % (uint32_t)(n_ids / 50 + 1);
		else if (e != 0 && rnd() % 50 == 0)
			peer = PW_ID_ANY;
		r = rnd() % 100;
		if (r < 50)
			port = common_ports[rnd() % (sizeof(common_ports) / sizeof(common_ports[0]))];
		else
			port = (uint16_t)(1024 + rnd() % 64000);
		if (r >= 90 && r < 95) {
			prefixlen = PW_POL_PREFIX_ANY_PORT;       /* every port of proto */
		} else if (r >= 95 && r < 97) {
			prefixlen = PW_POL_PREFIX_ANY_PROTO;      /* everything */
		} else if (r >= 97) {
			prefixlen = PW_POL_PREFIX_ANY_PORT + 8 + rnd() % 8; /* a port range */
		}
		err = add_policy(f, prefixlen, dir, ep_id, peer, proto, port, rule_id);
		if (err == -EEXIST)
			continue;
		if (err)
			return err;
		rule_id++;
	}

	sz->entries = f->st.n_pol;
	sz->endpoints = n_eps;
	sz->ipcache = f->st.n_ipc;
	sz->identities = n_ids + 3;
	return 0;
}

/* Fill the maps (private, empty) with the state, through mapsync. */
static int fill(struct podwall_bpf *obj, uint32_t ep_ifindex, const struct addrs *a,
		size_t entries, struct pwb_dp_size *sz)
{
	struct fill_state f;
	struct pw_sync_stats st;
	int err;

	memset(&f, 0, sizeof(f));
	err = fill_state(&f, ep_ifindex, a, entries, sz);
	if (!err) {
		err = pw_sync(obj, &f.st, NULL, &st);
		if (err)
			fprintf(stderr, "podwall bench: %s\n", st.error);
	}
	free(f.set);
	pw_state_free(&f.st);
	return err;
}

struct flow {
	struct pw_pkt pkt;
	int prog;
};

static int run_repeat(int prog_fd, const struct pw_pkt *p, uint32_t ifindex, int repeat,
		      double *ns, int *verdict)
{
	struct pw_run_out o;
	int err = pw_test_run_repeat(prog_fd, p->data, p->len, ifindex, 0, repeat, &o);

	if (err)
		return err;
	*ns = o.duration_ns;
	*verdict = o.verdict;
	return 0;
}

/*
 * median(A) - median(B) over `samples` single runs of each, interleaved
 * (A B A B ...), so that both see the same machine: step(ctx, arm) prepares
 * and times one run of arm 0 (A) or 1 (B) into *ns. 0 or a negative errno.
 */
typedef int (*ab_step_fn)(void *ctx, int arm, double *ns);

static int ab_median_diff(ab_step_fn step, void *ctx, int samples, double *out)
{
	double *a = calloc((size_t)samples, sizeof(double));
	double *b = calloc((size_t)samples, sizeof(double));
	int err = 0;

	if (!a || !b) {
		err = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < samples; i++)
		if ((err = step(ctx, 0, &a[i])) || (err = step(ctx, 1, &b[i])))
			goto out;
	*out = pwb_median(a, samples) - pwb_median(b, samples);
out:
	free(a);
	free(b);
	return err;
}

/* One single test run of pkt: its duration into *ns. */
static int timed_run(int prog_fd, const struct pw_pkt *pkt, uint32_t ifindex, double *ns)
{
	struct pw_run_out o;
	int err = pw_test_run(prog_fd, pkt->data, pkt->len, ifindex, 0, &o);

	if (!err)
		*ns = o.duration_ns;
	return err;
}

/*
 * The conntrack-insert estimate: A a SYN whose entry is deleted before each
 * run, B the RST of `new` (the same verdict, no insert).
 */
struct ct_insert_case {
	int prog_fd;
	const struct pw_ct_table *ct;
	uint32_t ifindex;
	const struct pw_pkt *syn, *rst;
	const struct pw_ct_key *syn_key;
};

static int ct_insert_step(void *ctx, int arm, double *ns)
{
	const struct ct_insert_case *c = ctx;

	if (arm == 0) {
		pw_ct_table_del(c->ct, c->syn_key);
		return timed_run(c->prog_fd, c->syn, c->ifindex, ns);
	}
	return timed_run(c->prog_fd, c->rst, c->ifindex, ns);
}

static int ct_insert_run(int prog_fd, const struct pw_ct_table *ct, uint32_t ifindex, const struct pw_pkt *syn,
			 const struct pw_ct_key *syn_key, const struct pw_pkt *rst, int samples,
			 double *out)
{
	struct ct_insert_case c = { prog_fd, ct, ifindex, syn, rst, syn_key };

	return ab_median_diff(ct_insert_step, &c, samples, out);
}

/* ------------------------------------------------------ DNS answers */

#define DNS_NAME  "api.example.com"
#define DNS_ID    0x5151
#define SPORT_DNS 40004

/* The query (qr false) or its answer with one A record, as a UDP payload. */
static size_t dns_msg(uint8_t *b, bool qr)
{
	static const uint8_t qname[] = "\3api\7example\3com";
	size_t n = 0;

	b[n++] = DNS_ID >> 8;
	b[n++] = DNS_ID & 0xff;
	b[n++] = qr ? 0x81 : 0x01;
	b[n++] = qr ? 0x80 : 0x00;
	memcpy(b + n, qr ? "\0\1\0\1\0\0\0\0" : "\0\1\0\0\0\0\0\0", 8);
	n += 8;
	memcpy(b + n, qname, sizeof(qname)); /* with the root's 0 */
	n += sizeof(qname);
	memcpy(b + n, "\0\1\0\1", 4);
	n += 4;
	if (qr) {
		/* pointer to the question, A, IN, TTL 300, 4 bytes: 198.51.100.1 */
		memcpy(b + n, "\xc0\x0c\0\1\0\1\0\0\x01\x2c\0\4\xc6\x33\x64\x01", 16);
		n += 16;
	}
	return n;
}

struct dns_case {
	struct pw_pkt query, answer;
	struct pw_dns_query_key qk;
	struct pw_dns_query_val qv;
	struct pw_endpoint ep_plain, ep_learn;
	int q_fd;
};

/*
 * The DNS world for endpoint ifindex: a cluster DNS server address in the
 * live slot, a name-set pattern for the name, the query's conntrack entry
 * (from_pod runs it once), and the two endpoint states to switch between.
 */
static int dns_setup(struct podwall_bpf *obj, uint32_t ifindex, const struct addrs *a,
		     struct dns_case *d)
{
	struct pw_ipcache_val iv = { .identity = ID_FILL, .flags = PW_IPC_POD | PW_IPC_DNS };
	struct pw_ipcache_key ik;
	struct pw_name_key nk;
	struct pw_name_val nv;
	struct pw_endpoint open_ep;
	struct pw_config cfg;
	struct pw_run_out ro;
	uint8_t server[16], msg[128];
	size_t n;
	int err;

	if ((err = pw_addr_parse("10.250.0.53", server)) ||
	    (err = pw_bpf_get_config(obj, &cfg)) ||
	    (err = pw_bpf_get_endpoint(obj, ifindex, &d->ep_plain)))
		return err;
	pw_ipcache_key_make(&ik, (uint8_t)(cfg.active_slot & 1), server, 128);
	if ((err = pw_bpf_put_ipcache(obj, &ik, &iv)))
		return err;
	if ((err = pw_domain_entry(DNS_NAME, (uint8_t)(cfg.active_slot & 1), 0x01fff001u, &nk, &nv)))
		return err;
	if (bpf_map__update_elem(obj->maps.name_set, &nk, sizeof(nk), &nv, sizeof(nv), 0))
		return -errno;
	d->ep_learn = d->ep_plain;
	d->ep_plain.flags[cfg.active_slot & 1] &= ~PW_EP_LEARN_NAMES;
	d->ep_learn.flags[cfg.active_slot & 1] |= PW_EP_LEARN_NAMES;

	n = dns_msg(msg, false);
	if ((err = pw_pkt_udp(&d->query, a->ep[0], server, SPORT_DNS, 53, msg, (uint16_t)n)))
		return err;
	n = dns_msg(msg, true);
	if ((err = pw_pkt_udp(&d->answer, server, a->ep[0], 53, SPORT_DNS, msg, (uint16_t)n)))
		return err;
	/*
	 * The query opens the flow (and, learning on, is remembered: the key
	 * below); the endpoint's egress policy is lifted for that one packet.
	 */
	open_ep = d->ep_learn;
	open_ep.flags[cfg.active_slot & 1] &= ~PW_EP_ISOLATED_EGRESS;
	if ((err = pw_bpf_put_endpoint(obj, ifindex, &open_ep)) ||
	    (err = pw_test_run(pw_bpf_prog_fd(obj, PW_PROG_FROM_POD), d->query.data, d->query.len,
			       ifindex, 0, &ro)))
		return err;
	d->q_fd = bpf_map__fd(obj->maps.dns_queries);
	if (bpf_map_get_next_key(d->q_fd, NULL, &d->qk) ||
	    bpf_map_lookup_elem(d->q_fd, &d->qk, &d->qv)) {
		fprintf(stderr, "podwall bench: the DNS query was not remembered\n");
		return -EPROTO;
	}
	return pw_bpf_put_endpoint(obj, ifindex, &d->ep_plain);
}

/*
 * The learning estimate: A the answer with learning on and the query put
 * back before each run, B the same answer with learning off.
 */
struct dns_learn_case {
	struct podwall_bpf *obj;
	int prog_fd;
	uint32_t ifindex;
	const struct dns_case *d;
};

static int dns_learn_step(void *ctx, int arm, double *ns)
{
	const struct dns_learn_case *c = ctx;
	const struct dns_case *d = c->d;
	int err = pw_bpf_put_endpoint(c->obj, c->ifindex, arm == 0 ? &d->ep_learn : &d->ep_plain);

	if (err)
		return err;
	if (arm == 0 && bpf_map_update_elem(d->q_fd, &d->qk, &d->qv, BPF_ANY))
		return -errno;
	return timed_run(c->prog_fd, &d->answer, c->ifindex, ns);
}

static int dns_learn_run(struct podwall_bpf *obj, int prog_fd, uint32_t ifindex,
			 struct dns_case *d, int samples, double *out)
{
	struct dns_learn_case c = { obj, prog_fd, ifindex, d };

	/*
	 * The query put back is sent now: the rounds of every size take longer
	 * than PW_DNS_QUERY_TIMEOUT, after which an answer is not awaited any
	 * more (and learns nothing). pw_now() is the coarse monotonic clock.
	 */
	d->qv.sent_ns = pwb_now_ns();
	return ab_median_diff(dns_learn_step, &c, samples, out);
}

/* ------------------------------------------------------------ sizes */

/* The packets of the cases: the same flows at every size. */
struct dp_packets {
	struct pw_pkt est[2], newp[2], syn[2], deny[2];
	struct pw_ct_key syn_key[2];
};

static int packets_make(const struct addrs *a, struct dp_packets *pk)
{
	int err;

	for (int f = 0; f < 2; f++) {
		struct pw_ct_key *k = &pk->syn_key[f];

		if ((err = pw_pkt_tcp(&pk->est[f], a->allow[f], a->ep[f], SPORT_EST, PORT_SVC,
				      PW_TCPF_ACK)) ||
		    (err = pw_pkt_tcp(&pk->newp[f], a->allow[f], a->ep[f], SPORT_NEW, PORT_SVC,
				      PW_TCPF_RST | PW_TCPF_ACK)) ||
		    (err = pw_pkt_tcp(&pk->syn[f], a->allow[f], a->ep[f], SPORT_SYN, PORT_SVC,
				      PW_TCPF_SYN)) ||
		    (err = pw_pkt_tcp(&pk->deny[f], a->deny[f], a->ep[f], SPORT_DENY, PORT_SVC,
				      PW_TCPF_SYN)))
			return err;
		memset(k, 0, sizeof(*k));
		memcpy(k->saddr, a->allow[f], 16);
		memcpy(k->daddr, a->ep[f], 16);
		k->sport = htons(SPORT_SYN);
		k->dport = htons(PORT_SVC);
		k->proto = IPPROTO_TCP;
		k->dir = PW_DIR_INGRESS;
	}
	return 0;
}

/*
 * One policy size, loaded, filled and set up for the cases. Every size is
 * open at once (an object with its maps is ~55 MB of kernel memory at
 * 100,000 entries), so that a round measures each case at every size in
 * the same moment.
 */
struct dp_size {
	struct podwall_bpf *obj;
	struct pw_ct_table ct;
	int to_pod, pass;
	struct dns_case dns;
	double ct_runs[2][PWB_MAX_RUNS], learn_runs[PWB_MAX_RUNS];
	struct pwb_dp_size *res;
};

static int size_open(uint32_t ifindex, const struct addrs *a, const struct dp_packets *pk,
		     size_t entries, struct dp_size *s)
{
	struct pw_error why = { { 0 } };
	uint64_t t0;
	int err;

	err = pw_bpf_open(NULL, &s->obj, &why);
	if (err) {
		fprintf(stderr, "podwall bench: loading the BPF object: %s\n", why.msg);
		return err;
	}
	t0 = pwb_now_ns();
	err = fill(s->obj, ifindex, a, entries, s->res);
	s->res->fill_ms = (pwb_now_ns() - t0) / 1e6;
	if (err) {
		fprintf(stderr, "podwall bench: filling the maps with %zu entries: %s\n", entries,
			strerror(-err));
		return err;
	}
	s->to_pod = pw_bpf_prog_fd(s->obj, PW_PROG_TO_POD);
	s->pass = pw_bpf_prog_fd(s->obj, PW_PROG_PASS_ONLY);
	if (s->to_pod < 0 || s->pass < 0)
		return s->to_pod < 0 ? s->to_pod : s->pass;
	err = pw_ct_table_open(bpf_map__fd(s->obj->maps.conntrack), &s->ct);
	if (err)
		return err;

	/* The established flows' entries: one run of their packet makes them. */
	pw_bpf_ct_flush(s->obj);
	for (int f = 0; f < 2; f++) {
		struct pw_run_out ro;

		if ((err = pw_test_run(s->to_pod, pk->est[f].data, pk->est[f].len, ifindex, 0, &ro)))
			return err;
		if (ro.verdict != TC_ACT_OK && !getenv("PWB_NOCHECK")) {
			fprintf(stderr, "podwall bench: %s flow setup: verdict %d, expected TC_ACT_OK\n",
				f ? "IPv6" : "IPv4", ro.verdict);
			return -EPROTO;
		}
	}

	if ((err = dns_setup(s->obj, ifindex, a, &s->dns))) {
		fprintf(stderr, "podwall bench: DNS answer setup: %s\n", strerror(-err));
		return err;
	}
	return 0;
}

static void size_close(struct dp_size *s)
{
	pw_ct_table_close(&s->ct);
	pw_bpf_close(s->obj);
	s->obj = NULL;
}

/*
 * A round's repeats of one case at one size are run in DP_SLICES slices,
 * the sizes taking turns slice by slice. A noisy stretch of the machine (on
 * this VM: a neighbour's load moving a case by 20-40 % for tens of ms to
 * seconds) so falls on the sizes of a turn alike: the flatness ratio of a
 * round is the median over its turns of the slice at the largest size over
 * the slice at the smallest, which a turn takes one after the other. A
 * size's figure for the round is the median of its slices.
 */
#define DP_SLICES 10

/* The median of the first n (<= PWB_MAX_RUNS) of v, v left as it is. */
static double median_of(const double *v, int n)
{
	double tmp[PWB_MAX_RUNS];

	memcpy(tmp, v, (size_t)n * sizeof(*v));
	return pwb_median(tmp, n);
}
_Static_assert(DP_SLICES <= PWB_MAX_RUNS, "median_of takes the slices too");

/*
 * The k-th size of turn t: the smallest and the largest first (the pair the
 * flatness compares, back to back), then the ones between; every other turn
 * backwards, so that no size always goes first.
 */
static struct dp_size *turn_size(struct dp_size *sizes, int n, int t, int k)
{
	int j = t % 2 ? n - 1 - k : k;

	return &sizes[j == 0 ? 0 : j == 1 ? n - 1 : j - 1];
}

/*
 * One case in one round: its slices at every size, taking turns; the
 * sizes' figures for the round, and into *ratio the flatness ratio of the
 * round (NAN with one size).
 */
static int measure_case(const struct pwb_dp_opts *o, uint32_t ifindex, enum pwb_case c,
			bool pass, const struct pw_pkt *pkt, struct dp_size *sizes, int n, int run,
			double *ratio)
{
	double ns[PWB_MAX_SIZES][DP_SLICES], turn_ratio[DP_SLICES];
	int repeat = o->repeat / DP_SLICES > 0 ? o->repeat / DP_SLICES : 1;
	int err;

	for (int t = 0; t < DP_SLICES; t++) {
		for (int k = 0; k < n; k++) {
			struct dp_size *s = turn_size(sizes, n, t, k);

			err = run_repeat(pass ? s->pass : s->to_pod, pkt ? pkt : &s->dns.answer,
					 ifindex, repeat, &ns[s - sizes][t], &s->res->c[c].verdict);
			if (err) {
				fprintf(stderr, "podwall bench: BPF_PROG_TEST_RUN (%s): %s\n",
					pwb_case_names[c], strerror(-err));
				return err;
			}
		}
		turn_ratio[t] = ns[n - 1][t] / ns[0][t];
	}
	*ratio = n > 1 ? median_of(turn_ratio, DP_SLICES) : NAN;
	for (int i = 0; i < n; i++)
		sizes[i].res->c[c].run_ns[run] = median_of(ns[i], DP_SLICES);
	return 0;
}

/*
 * One round: each case at every size (measure_case), then the single-run
 * estimates at every size, in turns that flip the order of the sizes.
 */
static int measure_round(const struct pwb_dp_opts *o, uint32_t ifindex,
			 const struct dp_packets *pk, struct dp_size *sizes, int n, int run,
			 struct pwb_dp_result *r)
{
	/* every case once per round; a NULL packet is the size's DNS answer */
	const struct { enum pwb_case c; bool pass; const struct pw_pkt *p; } plan[] = {
		{ PWB_PASS_ONLY,  true,  &pk->est[0] },
		{ PWB_V4_EST,     false, &pk->est[0] },
		{ PWB_V4_NEW,     false, &pk->newp[0] },
		{ PWB_V4_DENY,    false, &pk->deny[0] },
		{ PWB_V6_EST,     false, &pk->est[1] },
		{ PWB_V6_NEW,     false, &pk->newp[1] },
		{ PWB_V6_DENY,    false, &pk->deny[1] },
		{ PWB_DNS_ANSWER, false, NULL },
	};
	int err;

	for (size_t i = 0; i < sizeof(plan) / sizeof(plan[0]); i++)
		if ((err = measure_case(o, ifindex, plan[i].c, plan[i].pass, plan[i].p, sizes, n, run,
					&r->round_ratio[plan[i].c][run])))
			return err;
	for (int f = 0; f < 2; f++) {
		for (int k = 0; k < n; k++) {
			struct dp_size *s = turn_size(sizes, n, run, k);

			err = ct_insert_run(s->to_pod, &s->ct, ifindex, &pk->syn[f], &pk->syn_key[f],
					    &pk->newp[f], o->samples, &s->ct_runs[f][run]);
			if (err) {
				fprintf(stderr, "podwall bench: conntrack insert runs: %s\n", strerror(-err));
				return err;
			}
		}
	}
	for (int k = 0; k < n; k++) {
		struct dp_size *s = turn_size(sizes, n, run, k);

		err = dns_learn_run(s->obj, s->to_pod, ifindex, &s->dns, o->samples,
				    &s->learn_runs[run]);
		if (err) {
			fprintf(stderr, "podwall bench: DNS learning runs: %s\n", strerror(-err));
			return err;
		}
	}
	return 0;
}

/* A size's figures from its rounds: medians, the derived cases. */
static void size_figures(const struct pwb_dp_opts *o, struct dp_size *s)
{
	struct pwb_dp_size *sz = s->res;

	for (int f = 0; f < 2; f++) {
		enum pwb_case nc = f ? PWB_V6_NEW_CT : PWB_V4_NEW_CT;
		enum pwb_case n = f ? PWB_V6_NEW : PWB_V4_NEW;

		for (int run = 0; run < o->runs; run++)
			sz->c[nc].run_ns[run] = sz->c[n].run_ns[run] + s->ct_runs[f][run];
		sz->ct_insert_ns[f] = median_of(s->ct_runs[f], o->runs);
		sz->c[nc].verdict = TC_ACT_OK;
	}
	for (int run = 0; run < o->runs; run++)
		sz->c[PWB_DNS_LEARN].run_ns[run] = sz->c[PWB_DNS_ANSWER].run_ns[run] +
						   s->learn_runs[run];
	sz->dns_learn_ns = median_of(s->learn_runs, o->runs);
	sz->c[PWB_DNS_LEARN].verdict = TC_ACT_OK;
	for (int c = 0; c < PWB_NCASES; c++)
		sz->c[c].ns = median_of(sz->c[c].run_ns, o->runs);
}

/* The cases must have taken the path they claim. */
static int size_check(const struct dp_packets *pk, const struct dp_size *s)
{
	const struct pwb_dp_size *sz = s->res;
	uint8_t learned[16];
	struct pw_fqdn_key fk = { .ep_id = s->dns.ep_plain.ep_id };
	struct pw_fqdn_set set;
	bool found = false;
	bool check = !getenv("PWB_NOCHECK");

	/* learning took place: the answer's address is in fqdn_learned */
	pw_addr_parse("198.51.100.1", learned);
	fk.set = pw_fqdn_set_of(learned);
	if (!bpf_map__lookup_elem(s->obj->maps.fqdn_learned, &fk, sizeof(fk), &set, sizeof(set), 0))
		for (int w = 0; w < PW_FQDN_WAYS; w++)
			found |= !memcmp(set.ways[w].addr, learned, 16);
	if (!found && check) {
		fprintf(stderr, "podwall bench: dns-answer+learn learned nothing\n");
		return -EPROTO;
	}
	for (int c = 0; c < PWB_NCASES; c++) {
		int want = (c == PWB_V4_DENY || c == PWB_V6_DENY) ? TC_ACT_SHOT : TC_ACT_OK;

		if (sz->c[c].verdict != want && check) {
			fprintf(stderr, "podwall bench: %s: verdict %d, expected %d\n",
				pwb_case_names[c], sz->c[c].verdict, want);
			return -EPROTO;
		}
	}
	for (int f = 0; f < 2; f++) {
		struct pw_ct_key k = pk->syn_key[f];
		struct pw_ct_val v;

		/* the RST must not have opened its flow, the SYN must have */
		k.sport = htons(SPORT_NEW);
		if (pw_bpf_ct_lookup(s->obj, &k, &v) == 0) {
			fprintf(stderr, "podwall bench: the RST of 'new' made a conntrack entry\n");
			return -EPROTO;
		}
		if (pw_bpf_ct_lookup(s->obj, &pk->syn_key[f], &v) != 0 && check) {
			fprintf(stderr, "podwall bench: the SYN of 'new+ct' made no conntrack entry\n");
			return -EPROTO;
		}
	}
	return 0;
}

/*
 * Flatness, per case: the median over the rounds of each round's ratio.
 * measure_case() gave the measured cases theirs (paired turn by turn); the
 * derived ones, single-run estimates added to a measured case, take their
 * round's figure at the largest size over the one at the smallest.
 */
static void flat_ratios(struct pwb_dp_result *r)
{
	const struct pwb_dp_size *lo = &r->sz[0], *hi = &r->sz[r->n_sizes - 1];
	int runs = r->opts.runs;

	for (int c = 0; c < PWB_NCASES; c++) {
		r->ratio[c] = NAN;
		if (r->n_sizes < 2)
			continue;
		if (c == PWB_V4_NEW_CT || c == PWB_V6_NEW_CT || c == PWB_DNS_LEARN)
			for (int run = 0; run < runs; run++)
				r->round_ratio[c][run] = hi->c[c].run_ns[run] / lo->c[c].run_ns[run];
		r->ratio[c] = median_of(r->round_ratio[c], runs);
	}
}

static int measure_sizes(const struct pwb_dp_opts *o, uint32_t ifindex, const struct addrs *a,
			 struct pwb_dp_result *r)
{
	struct dp_size sizes[PWB_MAX_SIZES];
	struct dp_packets pk;
	int n = 0, err;

	memset(sizes, 0, sizeof(sizes));
	if ((err = packets_make(a, &pk)))
		return err;
	for (; n < o->n_sizes; n++) {
		if (o->verbose)
			fprintf(stderr, "podwall bench: datapath, loading %zu policy entries\n",
				o->sizes[n]);
		sizes[n].res = &r->sz[n];
		if ((err = size_open(ifindex, a, &pk, o->sizes[n], &sizes[n]))) {
			n++;
			goto out;
		}
	}
	for (int run = 0; run < o->runs; run++) {
		if (o->verbose)
			fprintf(stderr, "podwall bench: datapath, round %d of %d\n", run + 1, o->runs);
		if ((err = measure_round(o, ifindex, &pk, sizes, n, run, r)))
			goto out;
	}
	for (int i = 0; i < n; i++) {
		size_figures(o, &sizes[i]);
		if ((err = size_check(&pk, &sizes[i])))
			goto out;
	}
	r->n_sizes = n;
	flat_ratios(r);
out:
	for (int i = 0; i < n; i++)
		size_close(&sizes[i]);
	return err;
}

int pwb_datapath(const struct pwb_dp_opts *o, struct pwb_dp_result *r)
{
	cpu_set_t old;
	struct addrs a;
	uint32_t ifindex = 0;
	int netns = -1, err, pinned = -1;

	memset(r, 0, sizeof(*r));
	r->opts = *o;
	pwb_kernel_release(r->kernel, sizeof(r->kernel));
	addrs_init(&a);

	/* A private network namespace with one device: nothing outside sees it,
	 * and it vanishes when we leave. */
	netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (netns < 0) {
		err = -errno;
		fprintf(stderr, "podwall bench: /proc/self/ns/net: %s\n", strerror(errno));
		return err;
	}
	err = pw_private_netns();
	if (err) {
		fprintf(stderr, "podwall bench: private network namespace: %s\n", strerror(-err));
		goto out;
	}
	err = pw_nl_dummy_add("pwbench0", &ifindex);
	if (!err)
		err = pw_nl_link_up("pwbench0");
	if (err) {
		fprintf(stderr, "podwall bench: test device: %s\n", strerror(-err));
		goto out;
	}
	if (o->cpu >= 0)
		pinned = pwb_pin(o->cpu, &old, sizeof(old));

	err = measure_sizes(o, ifindex, &a, r);
	if (!err && o->verbose) {
		for (int i = 0; i < r->n_sizes; i++) {
			fprintf(stderr, "podwall bench: datapath, %zu policy entries\n", r->sz[i].entries);
			for (int c = 0; c < PWB_NCASES; c++)
				fprintf(stderr, "  %-16s %8.1f ns\n", pwb_case_names[c], r->sz[i].c[c].ns);
		}
	}
out:
	if (pinned == 0)
		pwb_unpin(&old, sizeof(old));
	if (setns(netns, CLONE_NEWNET) && !err) {
		err = -errno;
		fprintf(stderr, "podwall bench: back to the original network namespace: %s\n",
			strerror(errno));
	}
	close(netns);
	return err;
}
