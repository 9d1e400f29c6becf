/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The compiler: endpoints, identities, ipcache, policy keys, DNS. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <time.h>
#include "check.h"
#include "compiler/internal.h"
#include "k8s/ip.h"
#include "util.h"

#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define SCTP IPPROTO_SCTP

/* A small cluster used by several tests. */
#define PODS \
	"kind: Namespace\n" \
	"metadata: {name: prod, labels: {team: a}}\n" \
	"---\n" \
	"kind: Namespace\n" \
	"metadata: {name: dev, labels: {team: b}, annotations: {podwall.io/mode: audit}}\n" \
	"---\n" \
	"kind: Pod\n" \
	"metadata: {name: web1, namespace: prod, labels: {app: web}}\n" \
	"spec: {containers: [{ports: [{containerPort: 8080, name: http}]}]}\n" \
	"status: {podIPs: [{ip: 10.0.0.1}, {ip: 'fd00::1'}]}\n" \
	"---\n" \
	"kind: Pod\n" \
	"metadata: {name: web2, namespace: prod, labels: {app: web}}\n" \
	"spec: {containers: [{ports: [{containerPort: 8080, name: http}]}]}\n" \
	"status: {podIP: 10.0.0.2}\n" \
	"---\n" \
	"kind: Pod\n" \
	"metadata: {name: web3, namespace: prod, labels: {app: web}}\n" \
	"spec: {containers: [{ports: [{containerPort: 9090, name: http}]}]}\n" \
	"status: {podIP: 10.0.0.3}\n" \
	"---\n" \
	"kind: Pod\n" \
	"metadata: {name: db, namespace: prod, labels: {app: db}}\n" \
	"spec: {containers: [{ports: [{containerPort: 5432, name: sql}]}]}\n" \
	"status: {podIP: 10.0.0.10}\n" \
	"---\n" \
	"kind: Pod\n" \
	"metadata: {name: pending, namespace: prod, labels: {app: web}}\n" \
	"---\n" \
	"kind: Pod\n" \
	"metadata: {name: tool, namespace: dev, labels: {app: web}}\n" \
	"status: {podIP: 10.1.0.5}\n" \
	"---\n" \
	"kind: Pod\n" \
	"metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}\n" \
	"spec: {containers: [{ports: [{containerPort: 53, name: dns, protocol: UDP},\n" \
	"                            {containerPort: 53, name: dns-tcp}]}]}\n" \
	"status: {podIP: 10.2.0.10}\n" \
	"---\n"

static uint32_t ident_of(const struct pw_state *s, const char *ns, const char *name)
{
	const struct pw_state_ep *e = t_ep(s, ns, name);

	return e ? e->identity : 0;
}

static size_t count_pol(const struct pw_state *s, uint32_t ep_id, int dir)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_pol; i++)
		n += s->pol[i].key.ep_id == ep_id && s->pol[i].key.dir == dir;
	return n;
}

static const struct pw_state_identity *find_id(const struct pw_state *s, uint32_t id)
{
	for (size_t i = 0; i < s->n_ids; i++)
		if (s->ids[i].id == id)
			return &s->ids[i];
	return NULL;
}

static void t_compile_isolation_flags(void)
{
	struct pw_state s;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_compile(PODS
		"kind: NetworkPolicy\n"
		"metadata: {name: web-deny, namespace: prod}\n"
		"spec: {podSelector: {matchLabels: {app: web}}}\n"
		"---\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: web-deny-2, namespace: prod}\n"
		"spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress]}\n"
		"---\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: db-egress, namespace: prod}\n"
		"spec: {podSelector: {matchLabels: {app: db}}, egress: [{}]}\n", NULL, &s, &err);
	const struct pw_state_ep *e;

	CHECK(c);
	if (!c)
		return;
	CHECK_EQ(s.n_eps, 6);   /* every pod with an IP */
	e = t_ep(&s, "prod", "web1");
	CHECK(e && (e->flags & PW_EP_ISOLATED_INGRESS) && !(e->flags & PW_EP_ISOLATED_EGRESS));
	CHECK(e && e->n_policies[PW_DIR_INGRESS] == 2 && e->n_policies[PW_DIR_EGRESS] == 0);
	CHECK(e && (e->flags & PW_EP_HAS_V4) && (e->flags & PW_EP_HAS_V6) && e->n_ips == 2);
	CHECK(e && !(e->flags & PW_EP_AUDIT));
	e = t_ep(&s, "prod", "web2");
	CHECK(e && (e->flags & PW_EP_HAS_V4) && !(e->flags & PW_EP_HAS_V6));
	e = t_ep(&s, "prod", "db");
	CHECK(e && (e->flags & PW_EP_ISOLATED_INGRESS) && (e->flags & PW_EP_ISOLATED_EGRESS));
	CHECK(e && e->n_policies[0] == 1 && e->n_policies[1] == 1);
	/* a policy only isolates pods of its own namespace */
	e = t_ep(&s, "dev", "tool");
	CHECK(e && !(e->flags & (PW_EP_ISOLATED_INGRESS | PW_EP_ISOLATED_EGRESS)));
	CHECK(e && (e->flags & PW_EP_AUDIT));
	CHECK(!t_ep(&s, "prod", "pending"));
	/* not isolated: everything allowed, isolated: nothing without rules */
	CHECK(t_allowed(&s, "prod/db", "prod/web1", 80, TCP) == false);
	CHECK(t_allowed(&s, "dev/tool", "prod/db", 80, TCP) == false);
	CHECK(t_allowed(&s, "prod/db", "dev/tool", 80, TCP) == true);
	pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_compile_audit_all(void)
{
	struct pw_compile_opts o = { .audit_all = true };
	struct pw_state s;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_compile(PODS, &o, &s, &err);

	CHECK(c);
	if (!c)
		return;
	for (size_t i = 0; i < s.n_eps; i++)
		CHECK(s.eps[i].flags & PW_EP_AUDIT);
	pw_state_free(&s);
	pw_cluster_free(c);
}

static uint32_t local_web(void *ctx, const struct pw_pod *pod)
{
	int *calls = ctx;

	(*calls)++;
	if (!strncmp(pod->name, "web", 3))
		return 100 + (uint32_t)(pod->name[3] - '0');
	return 0;
}

static void t_compile_is_local(void)
{
	int calls = 0;
	struct pw_compile_opts o = { .is_local = local_web, .local_ctx = &calls };
	struct pw_state s;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_compile(PODS
		"kind: NetworkPolicy\n"
		"metadata: {name: all, namespace: prod}\n"
		"spec: {podSelector: {}, ingress: [{}]}\n", &o, &s, &err);

	CHECK(c);
	if (!c)
		return;
	CHECK_EQ(s.n_eps, 3);
	CHECK(calls >= 6);
	CHECK(t_ep(&s, "prod", "web2") && t_ep(&s, "prod", "web2")->ifindex == 102);
	CHECK(!t_ep(&s, "prod", "db"));
	/* remote pods still have identities in the ipcache */
	CHECK(t_ident(&s, "10.0.0.10") >= PW_ID_POD_MIN);
	/* and policy entries only for local endpoints */
	for (size_t i = 0; i < s.n_pol; i++) {
		bool local = false;

		for (size_t k = 0; k < s.n_eps; k++)
			local |= s.pol[i].key.ep_id == s.eps[k].ep_id;
		CHECK(local);
	}
	pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_compile_endpoint_ids(void)
{
	struct pw_state s, s2;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_compile(PODS, NULL, &s, &err);
	struct pw_cluster *c2 = t_compile(PODS
		"kind: Pod\n"
		"metadata: {name: extra, namespace: prod}\n"
		"status: {podIP: 10.0.0.99}\n", NULL, &s2, &err);

	CHECK(c && c2);
	if (!c || !c2)
		goto out;
	for (size_t i = 0; i < s.n_eps; i++) {
		CHECK(s.eps[i].ep_id >= 1 && s.eps[i].ep_id <= 0x7fffffff);
		CHECK_EQ(s.eps[i].ifindex, 0);
		for (size_t k = 0; k < i; k++)
			CHECK(s.eps[k].ep_id != s.eps[i].ep_id);
		if (i) {
			int r = strcmp(s.eps[i - 1].ns, s.eps[i].ns);

			CHECK(r < 0 || (!r && strcmp(s.eps[i - 1].name, s.eps[i].name) < 0));
		}
		/* stable: another pod does not move this one */
		CHECK_EQ(t_ep(&s2, s.eps[i].ns, s.eps[i].name)->ep_id, s.eps[i].ep_id);
	}
out:
	pw_state_free(&s);
	pw_state_free(&s2);
	pw_cluster_free(c);
	pw_cluster_free(c2);
}

static void t_compile_identity_shared_by_same_labels(void)
{
	struct pw_state s;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_compile(PODS, NULL, &s, &err);

	CHECK(c);
	if (!c)
		return;
	CHECK_EQ(ident_of(&s, "prod", "web1"), ident_of(&s, "prod", "web2"));
	CHECK(ident_of(&s, "prod", "web1") != ident_of(&s, "prod", "db"));
	/* same labels, other namespace */
	CHECK(ident_of(&s, "prod", "web1") != ident_of(&s, "dev", "tool"));
	CHECK_EQ(t_ident(&s, "10.0.0.2"), ident_of(&s, "prod", "web1"));
	CHECK_EQ(t_ident(&s, "fd00::1"), ident_of(&s, "prod", "web1"));
	CHECK_EQ(t_ident(&s, "10.9.9.9"), PW_ID_WORLD);   /* unknown: no entry */
	pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_compile_identity_split_by_named_port(void)
{
	struct pw_state s;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_compile(PODS, NULL, &s, &err);
	const struct pw_state_identity *id;

	CHECK(c);
	if (!c)
		return;
	/* web3 names port http 9090, web1 8080: same labels, two identities */
	CHECK(ident_of(&s, "prod", "web1") != ident_of(&s, "prod", "web3"));
	id = find_id(&s, ident_of(&s, "prod", "web3"));
	CHECK(id && id->kind == PW_IDK_POD);
	CHECK(id && strstr(id->desc, "ns=prod app=web") == id->desc);
	CHECK(id && strstr(id->desc, "http=9090/TCP"));
	id = find_id(&s, ident_of(&s, "prod", "db"));
	CHECK(id && !strcmp(id->desc, "ns=prod app=db"));
	pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_compile_identity_split_by_cidr(void)
{
	const char *pods =
		"kind: Pod\n"
		"metadata: {name: a, namespace: n, labels: {app: x}}\n"
		"status: {podIP: 10.0.0.1}\n"
		"---\n"
		"kind: Pod\n"
		"metadata: {name: b, namespace: n, labels: {app: x}}\n"
		"status: {podIP: 10.0.0.200}\n"
		"---\n";
	char y[2048];
	struct pw_state s, s2;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c, *c2;

	snprintf(y, sizeof(y), "%s"
		 "kind: NetworkPolicy\n"
		 "metadata: {name: p, namespace: other}\n"
		 "spec: {podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.0.0.0/25}}]}]}\n",
		 pods);
	c = t_compile(pods, NULL, &s, &err);
	c2 = t_compile(y, NULL, &s2, &err);
	CHECK(c && c2);
	if (!c || !c2)
		goto out;
	CHECK_EQ(ident_of(&s, "n", "a"), ident_of(&s, "n", "b"));
	CHECK(ident_of(&s2, "n", "a") != ident_of(&s2, "n", "b"));
	CHECK(find_id(&s2, ident_of(&s2, "n", "a")) &&
	      strstr(find_id(&s2, ident_of(&s2, "n", "a"))->desc, " in=10.0.0.0/25"));
out:
	pw_state_free(&s);
	pw_state_free(&s2);
	pw_cluster_free(c);
	pw_cluster_free(c2);
}

static void t_compile_identity_ranges_and_table(void)
{
	struct pw_state s;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_compile(PODS
		"kind: NetworkPolicy\n"
		"metadata: {name: p, namespace: prod}\n"
		"spec: {podSelector: {}, egress: [{to: [{ipBlock: {cidr: 192.168.0.0/16, "
		"except: [192.168.1.0/24]}}]}]}\n", NULL, &s, &err);
	size_t pods = 0, cidrs = 0, reserved = 0;

	CHECK(c);
	if (!c)
		return;
	for (size_t i = 0; i < s.n_ids; i++) {
		const struct pw_state_identity *id = &s.ids[i];

		if (i)
			CHECK(s.ids[i - 1].id < id->id);
		if (id->kind == PW_IDK_POD) {
			pods++;
			CHECK(id->id >= PW_ID_POD_MIN && id->id < PW_ID_CIDR_MIN);
		} else if (id->kind == PW_IDK_CIDR) {
			cidrs++;
			CHECK(id->id >= PW_ID_CIDR_MIN);
		} else {
			reserved++;
			CHECK(id->kind == PW_IDK_RESERVED && id->id <= PW_ID_WORLD);
		}
	}
	/* web(8080), web(9090), db, dev web, coredns */
	CHECK_EQ(pods, 5);
	CHECK_EQ(cidrs, 2);
	CHECK_EQ(reserved, 3);
	CHECK(!strcmp(s.ids[0].desc, "any") && !strcmp(s.ids[2].desc, "world"));
	CHECK(find_id(&s, t_ident(&s, "192.168.1.1")) &&
	      !strcmp(find_id(&s, t_ident(&s, "192.168.1.1"))->desc, "192.168.1.0/24"));
	pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_compile_ipcache_entries(void)
{
	struct pw_state s;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_compile(PODS
		"kind: Service\n"
		"metadata: {name: web, namespace: prod}\n"
		"spec: {clusterIP: 10.96.0.5, selector: {app: web}, ports: [{port: 80}]}\n"
		"---\n"
		"kind: Service\n"
		"metadata: {name: kube-dns, namespace: kube-system}\n"
		"spec: {clusterIP: 10.96.0.10, selector: {k8s-app: kube-dns}, ports: [{port: 53, protocol: UDP}]}\n"
		"---\n"
		"kind: Service\n"
		"metadata: {name: not-dns, namespace: prod}\n"
		"spec: {clusterIP: 10.96.0.11, selector: {k8s-app: kube-dns}, ports: [{port: 53, protocol: UDP}]}\n"
		"---\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: p, namespace: prod}\n"
		"spec: {podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 172.16.0.0/12}}]}]}\n",
		NULL, &s, &err);
	struct pw_ipcache_val v;
	uint8_t a[16];
	bool v4, found_group = false;

	CHECK(c);
	if (!c)
		return;
	/* 7 pod addresses, 3 services, 1 group */
	CHECK_EQ(s.n_ipc, 11);
	for (size_t i = 0; i < s.n_ipc; i++) {
		const struct pw_state_ipc *e = &s.ipc[i];

		CHECK_EQ(e->key.slot, 0);
		CHECK(!e->key.pad[0] && !e->key.pad[1] && !e->key.pad[2]);
		if (i)
			CHECK(memcmp(&s.ipc[i - 1].key, &e->key, sizeof(e->key)) < 0);
		if (e->key.prefixlen == PW_IPC_V4_BASE + 12) {
			found_group = true;
			CHECK(e->val.identity >= PW_ID_CIDR_MIN && e->val.flags == 0);
		} else {
			CHECK_EQ(e->key.prefixlen, PW_IPC_PREFIX_BASE + 128);
		}
	}
	CHECK(found_group);
	pw_ip_parse("10.0.0.1", a, &v4);
	CHECK(pw_state_ipcache_lookup(&s, a, &v) && v.flags == PW_IPC_POD);
	pw_ip_parse("10.2.0.10", a, &v4);
	CHECK(pw_state_ipcache_lookup(&s, a, &v) && v.flags == (PW_IPC_POD | PW_IPC_DNS));
	pw_ip_parse("10.96.0.5", a, &v4);
	CHECK(pw_state_ipcache_lookup(&s, a, &v) && v.flags == PW_IPC_SERVICE &&
	      v.identity == PW_ID_WORLD);
	/* the cluster DNS's Service (its namespace, the DNS pods' label), and a look-alike elsewhere */
	pw_ip_parse("10.96.0.10", a, &v4);
	CHECK(pw_state_ipcache_lookup(&s, a, &v) && v.flags == (PW_IPC_SERVICE | PW_IPC_DNS_SERVICE));
	pw_ip_parse("10.96.0.11", a, &v4);
	CHECK(pw_state_ipcache_lookup(&s, a, &v) && v.flags == PW_IPC_SERVICE);
	pw_ip_parse("172.20.1.1", a, &v4);
	CHECK(pw_state_ipcache_lookup(&s, a, &v) && v.identity >= PW_ID_CIDR_MIN);
	pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_compile_cidr_except_hole(void)
{
	struct pw_state s;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_compile(PODS
		"kind: NetworkPolicy\n"
		"metadata: {name: p, namespace: prod}\n"
		"spec:\n"
		"  podSelector: {matchLabels: {app: web}}\n"
		"  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]}]\n"
		"---\n"
		"kind: NetworkPolicy\n"   /* a group inside the hole, from another policy */
		"metadata: {name: q, namespace: dev}\n"
		"spec:\n"
		"  podSelector: {}\n"
		"  egress: [{to: [{ipBlock: {cidr: 10.1.5.0/24}}]}]\n", NULL, &s, &err);

	CHECK(c);
	if (!c)
		return;
	CHECK(t_allowed(&s, "prod/web1", "10.2.3.4", 443, TCP));
	CHECK(t_allowed(&s, "prod/web1", "10.255.255.255", 1, UDP));
	CHECK(!t_allowed(&s, "prod/web1", "10.1.2.3", 443, TCP));     /* the hole */
	CHECK(!t_allowed(&s, "prod/web1", "10.1.5.1", 443, TCP));     /* inside the hole */
	CHECK(!t_allowed(&s, "prod/web1", "11.0.0.1", 443, TCP));     /* outside */
	CHECK(!t_allowed(&s, "prod/web1", "fd00::5", 443, TCP));
	CHECK(t_allowed(&s, "prod/web1", "prod/db", 5432, TCP));      /* a pod in the block */
	CHECK(!t_allowed(&s, "prod/web1", "dev/tool", 80, TCP));      /* a pod in the hole */
	CHECK(t_allowed(&s, "dev/tool", "10.1.5.1", 80, TCP));
	CHECK(!t_allowed(&s, "dev/tool", "10.1.6.1", 80, TCP));
	pw_state_free(&s);
	pw_cluster_free(c);
}

/* The node's addresses are the host identity; an ipBlock holding one allows it. */
static void t_compile_host_addrs(void)
{
	struct pw_state s;
	struct pw_error err = { { 0 } };
	uint8_t hosts[2][16] = { { [10] = 0xff, [11] = 0xff, 10, 9, 0, 1 },
				 { [10] = 0xff, [11] = 0xff, 192, 168, 7, 1 } };
	struct pw_compile_opts o = { .host_addrs = (const uint8_t (*)[16])hosts, .n_host_addrs = 2 };
	struct pw_cluster *c = t_compile(PODS
		"kind: NetworkPolicy\n"
		"metadata: {name: p, namespace: prod}\n"
		"spec:\n"
		"  podSelector: {matchLabels: {app: web}}\n"
		"  policyTypes: [Ingress, Egress]\n"
		"  egress: [{to: [{ipBlock: {cidr: 10.9.0.0/16}}]}]\n", &o, &s, &err);
	struct pw_policy_val v;
	const struct pw_state_ep *e;

	CHECK(c);
	if (!c)
		return;
	CHECK_EQ(t_ident(&s, "10.9.0.1"), PW_ID_HOST);
	CHECK_EQ(t_ident(&s, "192.168.7.1"), PW_ID_HOST);
	e = t_ep(&s, "prod", "web1");
	CHECK(e);
	if (e) {
		/* egress to the host address inside the block is allowed, as HOST */
		CHECK(pw_state_policy_lookup(&s, e->ep_id, PW_DIR_EGRESS, PW_ID_HOST, TCP, 10250, &v));
		/* nothing else names the host: no ingress entry (the datapath lets it in) */
		CHECK(!pw_state_policy_lookup(&s, e->ep_id, PW_DIR_INGRESS, PW_ID_HOST, TCP, 80, &v));
	}
	pw_state_free(&s);
	pw_cluster_free(c);
	/* without host addresses, no HOST entry at all */
	c = t_compile(PODS, NULL, &s, &err);
	CHECK(c && t_ident(&s, "10.9.0.1") == PW_ID_WORLD);
	if (c)
		pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_compile_ipv6_block_excludes_ipv4(void)
{
	struct pw_state s;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_compile(PODS
		"kind: NetworkPolicy\n"
		"metadata: {name: p, namespace: prod}\n"
		"spec:\n"
		"  podSelector: {matchLabels: {app: db}}\n"
		"  egress: [{to: [{ipBlock: {cidr: '::/0', except: ['fd00:1::/32']}}]}]\n"
		"---\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: q, namespace: dev}\n"
		"spec:\n"
		"  podSelector: {}\n"
		"  egress: [{to: [{ipBlock: {cidr: '::/0'}}, {ipBlock: {cidr: 0.0.0.0/0}}]}]\n",
		NULL, &s, &err);

	CHECK(c);
	if (!c)
		return;
	CHECK(t_allowed(&s, "prod/db", "2001:db8::1", 80, TCP));
	CHECK(t_allowed(&s, "prod/db", "fd00::1", 80, TCP));          /* web1's v6 */
	CHECK(!t_allowed(&s, "prod/db", "fd00:1::1", 80, TCP));
	CHECK(!t_allowed(&s, "prod/db", "1.2.3.4", 80, TCP));
	CHECK(!t_allowed(&s, "prod/db", "prod/web2", 80, TCP));       /* IPv4 pod */
	CHECK(t_allowed(&s, "dev/tool", "1.2.3.4", 80, TCP));
	CHECK(t_allowed(&s, "dev/tool", "2001:db8::1", 80, TCP));
	CHECK(t_allowed(&s, "dev/tool", "prod/web2", 80, TCP));
	pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_compile_ipv6_block_keeps_ipv4_world(void)
{
	struct pw_state s;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_compile(PODS
		"kind: NetworkPolicy\n"
		"metadata: {name: p, namespace: prod}\n"
		"spec:\n"
		"  podSelector: {matchLabels: {app: db}}\n"
		"  egress: [{to: [{ipBlock: {cidr: '::/0'}}]}]\n", NULL, &s, &err);

	CHECK(c);
	if (!c)
		return;
	/* an IPv4 address outside the cluster stays "world", not ::/0 */
	CHECK_EQ(t_ident(&s, "1.2.3.4"), PW_ID_WORLD);
	CHECK(t_ident(&s, "2001:db8::1") >= PW_ID_CIDR_MIN);
	CHECK_EQ(t_ident(&s, "10.0.0.10"), ident_of(&s, "prod", "db"));
	CHECK(!t_allowed(&s, "prod/db", "1.2.3.4", 80, TCP));
	CHECK(t_allowed(&s, "prod/db", "2001:db8::1", 80, TCP));
	CHECK(t_allowed(&s, "prod/db", "fd00::1", 80, TCP));
	pw_state_free(&s);
	pw_cluster_free(c);
}

/* ------------------------------------------------ ipBlocks, randomized */
static unsigned rnd_state = 2024;

static unsigned rnd(unsigned n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

struct tblock {
	struct pw_cidr cidr;
	struct pw_cidr except[3];
	int            n_except;
};

static void rnd_addr(uint8_t a[16], bool v4)
{
	memset(a, 0, 16);
	if (v4) {
		a[10] = a[11] = 0xff;
		a[12] = 10;
		a[13] = (uint8_t)rnd(4);       /* a small space: many overlaps */
		a[14] = (uint8_t)rnd(4);
		a[15] = (uint8_t)rnd(256);
	} else {
		a[0] = 0xfd;
		a[1] = (uint8_t)rnd(2);
		a[2] = (uint8_t)rnd(4);
		a[15] = (uint8_t)rnd(256);
	}
}

static void rnd_prefix_in(struct pw_cidr *p, const struct pw_cidr *outer, bool v4)
{
	unsigned lo = outer ? outer->len + 1u : (v4 ? 96u + 8 : 8), hi = 128;

	memset(p, 0, sizeof(*p));
	if (outer) {
		memcpy(p->addr, outer->addr, 16);
		for (unsigned b = outer->len; b < 128; b++)
			if (rnd(2))
				p->addr[b / 8] |= (uint8_t)(0x80 >> (b % 8));
	} else {
		rnd_addr(p->addr, v4);
	}
	p->len = (uint8_t)(lo + rnd(hi - lo + 1));
	if (outer && p->len > 128)
		p->len = 128;
	pw_prefix_mask(p->addr, p->len);
	p->is_v4 = v4;
}

/* an address on the edge of (or inside) a block's cidr or one of its excepts */
static void edge_addr(uint8_t a[16], const struct tblock *b)
{
	const struct pw_cidr *p = b->n_except && rnd(2) ? &b->except[rnd((unsigned)b->n_except)]
						       : &b->cidr;
	unsigned how = rnd(3);

	memcpy(a, p->addr, 16);
	for (unsigned bit = p->len; bit < 128 && how; bit++)
		if (how == 1 || rnd(2))
			a[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));   /* last, or random */
	if (!p->is_v4 && pw_ip_is_v4(a))
		a[15] ^= 1;   /* keep IPv6 probes out of the IPv4 space */
}

static bool tblock_has(const struct tblock *b, const uint8_t a[16])
{
	if (!pw_cidr_has_addr(&b->cidr, a) || pw_ip_is_v4(a) != (bool)b->cidr.is_v4)
		return false;
	for (int i = 0; i < b->n_except; i++)
		if (pw_cidr_has_addr(&b->except[i], a))
			return false;
	return true;
}

static size_t put_blocks(char *y, size_t pos, const struct tblock *b, int n)
{
	for (int i = 0; i < n; i++) {
		char c[64];

		pw_cidr_format(&b[i].cidr, c, sizeof(c));
		pos += (size_t)sprintf(y + pos, "    - ipBlock: {cidr: '%s', except: [", c);
		for (int k = 0; k < b[i].n_except; k++) {
			pw_cidr_format(&b[i].except[k], c, sizeof(c));
			pos += (size_t)sprintf(y + pos, "%s'%s'", k ? ", " : "", c);
		}
		pos += (size_t)sprintf(y + pos, "]}\n");
	}
	return pos;
}

static void rnd_blocks(struct tblock *b, int n)
{
	for (int i = 0; i < n; i++) {
		bool v4 = rnd(3) != 0;

		memset(&b[i], 0, sizeof(b[i]));
		if (rnd(8) == 0) {
			/* the whole family */
			rnd_prefix_in(&b[i].cidr, NULL, v4);
			b[i].cidr.len = v4 ? 96 : 0;
			pw_prefix_mask(b[i].cidr.addr, b[i].cidr.len);
			if (v4)
				b[i].cidr.addr[10] = b[i].cidr.addr[11] = 0xff;
		} else {
			rnd_prefix_in(&b[i].cidr, NULL, v4);
			if (b[i].cidr.len > 124)
				b[i].cidr.len = (uint8_t)(v4 ? 96 + 20 : 100);
			pw_prefix_mask(b[i].cidr.addr, b[i].cidr.len);
		}
		b[i].n_except = b[i].cidr.len < 128 ? (int)rnd(4) : 0;
		for (int k = 0; k < b[i].n_except; k++)
			rnd_prefix_in(&b[i].except[k], &b[i].cidr, v4);
	}
}

/* Random overlapping ipBlocks (IPv4 and IPv6, with excepts, from several
 * policies) and random addresses, pods' and others: the verdict through the
 * ipcache LPM and the policy keys equals the direct reading of the blocks. */
static void t_compile_ipblock_randomized(void)
{
	char *y = malloc(64 * 1024);
	int mismatches = 0, allowed = 0, checks = 0;

	for (int trial = 0; trial < 150 && !mismatches; trial++) {
		struct tblock mine[4], other[4];
		uint8_t pods[12][16], probes[40][16];
		struct pw_state s;
		struct pw_error err = { { 0 } };
		struct pw_cluster *c;
		size_t pos = 0;
		int nm = 1 + (int)rnd(4), no = (int)rnd(4);

		rnd_blocks(mine, nm);
		rnd_blocks(other, no);
		pos += (size_t)sprintf(y + pos, "kind: Pod\nmetadata: {name: src, namespace: n, "
				       "labels: {role: src}}\nstatus: {podIP: 192.168.0.1}\n---\n");
		for (int i = 0; i < 12; i += 2) {
			char a[64], b[64];

			rnd_addr(pods[i], true);
			rnd_addr(pods[i + 1], false);
			pods[i][15] = (uint8_t)(200 + i);   /* distinct */
			pods[i + 1][15] = (uint8_t)(200 + i);
			pw_ip_format(pods[i], a, sizeof(a));
			pw_ip_format(pods[i + 1], b, sizeof(b));
			pos += (size_t)sprintf(y + pos, "kind: Pod\nmetadata: {name: p%d, namespace: m, "
					       "labels: {x: y}}\nstatus: {podIPs: [{ip: '%s'}, {ip: '%s'}]}\n---\n",
					       i, a, b);
		}
		pos += (size_t)sprintf(y + pos, "kind: NetworkPolicy\nmetadata: {name: mine, namespace: n}\n"
				       "spec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to:\n");
		pos = put_blocks(y, pos, mine, nm);
		if (no) {
			pos += (size_t)sprintf(y + pos, "---\nkind: NetworkPolicy\nmetadata: {name: other, "
					       "namespace: o}\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n");
			pos = put_blocks(y, pos, other, no);
		}
		c = t_compile(y, NULL, &s, &err);
		CHECK(c);
		if (!c) {
			printf("# %s\n%s\n", err.msg, y);
			break;
		}
		for (int i = 0; i < 40; i++) {
			if (i < 12)
				memcpy(probes[i], pods[i], 16);
			else if (i < 30)
				edge_addr(probes[i], &mine[rnd(nm)]);
			else if (i < 34 && no)
				edge_addr(probes[i], &other[rnd(no)]);
			else
				rnd_addr(probes[i], rnd(2));
		}
		for (int i = 0; i < 40; i++) {
			char a[64];
			bool want = false, got;

			for (int k = 0; k < nm; k++)
				want |= tblock_has(&mine[k], probes[i]);
			pw_ip_format(probes[i], a, sizeof(a));
			got = t_allowed(&s, "n/src", a, 80, TCP);
			checks++;
			allowed += got;
			if (got != want && !mismatches++) {
				printf("# mismatch for %s: want %d got %d\n%s\n", a, want, got, y);
			}
		}
		pw_state_free(&s);
		pw_cluster_free(c);
	}
	CHECK_EQ(mismatches, 0);
	CHECK(allowed > checks / 10 && allowed < checks - checks / 10);
	if (getenv("T_VERBOSE"))
		printf("# %d of %d probes allowed\n", allowed, checks);
	free(y);
}

static bool covers_exactly(uint32_t lo, uint32_t hi, const struct port_prefix *p, size_t n)
{
	for (uint32_t port = 0; port <= 0xffff; port++) {
		int hits = 0;

		for (size_t i = 0; i < n; i++) {
			uint32_t mask = p[i].bits ? (0xffffu << (16 - p[i].bits)) & 0xffff : 0;

			if (p[i].port & ~mask & 0xffff)
				return false;   /* low bits must be clear */
			hits += (port & mask) == p[i].port;
		}
		if (hits != (port >= lo && port <= hi))
			return false;
	}
	return true;
}

static void t_compile_port_range_prefixes(void)
{
	struct port_prefix p[32];
	size_t n;

	n = pw_port_range_split(1, 65535, p);
	CHECK_EQ(n, 16);
	CHECK(covers_exactly(1, 65535, p, n));
	n = pw_port_range_split(80, 80, p);
	CHECK_EQ(n, 1);
	CHECK(p[0].port == 80 && p[0].bits == 16);
	n = pw_port_range_split(1000, 2000, p);
	CHECK(covers_exactly(1000, 2000, p, n));
	/* 1000-1007 1008-1023 1024-1535 1536-1791 1792-1919 1920-1983 1984-1999 2000 */
	CHECK_EQ(n, 8);
	n = pw_port_range_split(32768, 65535, p);
	CHECK_EQ(n, 1);
	CHECK(p[0].port == 32768 && p[0].bits == 1);
	n = pw_port_range_split(1024, 2047, p);
	CHECK(n == 1 && p[0].bits == 6);
	n = pw_port_range_split(65535, 65535, p);
	CHECK(n == 1 && p[0].port == 65535 && p[0].bits == 16);
	/* the worst case stays within 32 */
	n = pw_port_range_split(1, 65534, p);
	CHECK(n <= 32 && covers_exactly(1, 65534, p, n));
}

static void t_compile_end_port_entries(void)
{
	struct pw_state s;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_compile(PODS
		"kind: NetworkPolicy\n"
		"metadata: {name: p, namespace: prod}\n"
		"spec:\n"
		"  podSelector: {matchLabels: {app: db}}\n"
		"  ingress: [{ports: [{port: 1000, endPort: 2000, protocol: UDP},\n"
		"                     {port: 32768, endPort: 65535}, {port: 1, endPort: 65535, protocol: SCTP}]}]\n",
		NULL, &s, &err);
	const struct pw_state_ep *e;

	CHECK(c);
	if (!c)
		return;
	e = t_ep(&s, "prod", "db");
	CHECK_EQ(count_pol(&s, e->ep_id, PW_DIR_INGRESS), 8 + 1 + 16);
	CHECK(!t_allowed(&s, "prod/web1", "prod/db", 999, UDP));
	CHECK(t_allowed(&s, "prod/web1", "prod/db", 1000, UDP));
	CHECK(t_allowed(&s, "prod/web1", "prod/db", 1500, UDP));
	CHECK(t_allowed(&s, "prod/web1", "prod/db", 2000, UDP));
	CHECK(!t_allowed(&s, "prod/web1", "prod/db", 2001, UDP));
	CHECK(!t_allowed(&s, "prod/web1", "prod/db", 1500, TCP));
	CHECK(t_allowed(&s, "prod/web1", "prod/db", 40000, TCP));
	CHECK(!t_allowed(&s, "prod/web1", "prod/db", 32767, TCP));
	CHECK(t_allowed(&s, "1.2.3.4", "prod/db", 1, SCTP));
	CHECK(t_allowed(&s, "1.2.3.4", "prod/db", 65535, SCTP));
	pw_state_free(&s);
	pw_cluster_free(c);
}

static const struct pw_state_pol *only_pol(const struct pw_state *s, uint32_t ep_id, int dir)
{
	const struct pw_state_pol *p = NULL;

	for (size_t i = 0; i < s->n_pol; i++)
		if (s->pol[i].key.ep_id == ep_id && s->pol[i].key.dir == dir) {
			if (p)
				return NULL;
			p = &s->pol[i];
		}
	return p;
}

static void t_compile_key_layout(void)
{
	struct pw_state s;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_compile(PODS
		"kind: NetworkPolicy\n"
		"metadata: {name: a, namespace: prod}\n"
		"spec: {podSelector: {matchLabels: {app: db}}, ingress: [{ports: [{port: 80}]}]}\n"
		"---\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: b, namespace: prod}\n"
		"spec: {podSelector: {matchLabels: {app: db}}, policyTypes: [Egress],\n"
		"       egress: [{ports: [{protocol: UDP}]}]}\n"
		"---\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: c, namespace: dev}\n"
		"spec: {podSelector: {}, ingress: [{from: [{podSelector: {}}]}]}\n",
		NULL, &s, &err);
	const struct pw_state_pol *p;
	uint32_t db, tool;

	CHECK(c);
	if (!c)
		return;
	db = t_ep(&s, "prod", "db")->ep_id;
	tool = t_ep(&s, "dev", "tool")->ep_id;
	p = only_pol(&s, db, PW_DIR_INGRESS);
	CHECK(p);
	if (p) {
		CHECK_EQ(p->key.prefixlen, PW_POL_PREFIX_FULL);
		CHECK_EQ(p->key.port, htons(80));
		CHECK_EQ(p->key.proto, TCP);
		CHECK_EQ(p->key.peer_id, PW_ID_ANY);
		CHECK(!p->key.slot && !p->key.pad0 && !p->key.pad1);
		CHECK_EQ(p->val.rule_id, 1);   /* dev/c is rule 0: ns/name order */
		CHECK_EQ(p->val.flags, 0);
	}
	p = only_pol(&s, db, PW_DIR_EGRESS);
	CHECK(p);
	if (p) {
		CHECK_EQ(p->key.prefixlen, PW_POL_PREFIX_ANY_PORT);
		CHECK_EQ(p->key.proto, UDP);
		CHECK_EQ(p->key.port, 0);
		CHECK_EQ(p->key.dir, PW_DIR_EGRESS);
		CHECK_EQ(p->val.rule_id, 2);
	}
	p = only_pol(&s, tool, PW_DIR_INGRESS);
	CHECK(p);
	if (p) {
		CHECK_EQ(p->key.prefixlen, PW_POL_PREFIX_ANY_PROTO);
		CHECK(p->key.proto == 0 && p->key.port == 0);
		CHECK_EQ(p->key.peer_id, ident_of(&s, "dev", "tool"));
	}
	for (size_t i = 1; i < s.n_pol; i++)
		CHECK(memcmp(&s.pol[i - 1].key, &s.pol[i].key, sizeof(s.pol[i].key)) < 0);
	pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_compile_named_port_ingress(void)
{
	struct pw_state s;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_compile(PODS
		"kind: NetworkPolicy\n"
		"metadata: {name: p, namespace: prod}\n"
		"spec: {podSelector: {}, ingress: [{ports: [{port: http}]}]}\n", NULL, &s, &err);
	const struct pw_state_pol *p;

	CHECK(c);
	if (!c)
		return;
	p = only_pol(&s, t_ep(&s, "prod", "web1")->ep_id, PW_DIR_INGRESS);
	CHECK(p && p->key.port == htons(8080) && p->key.peer_id == PW_ID_ANY);
	p = only_pol(&s, t_ep(&s, "prod", "web3")->ep_id, PW_DIR_INGRESS);
	CHECK(p && p->key.port == htons(9090));
	/* db has no port named http: isolated, no entry */
	CHECK_EQ(count_pol(&s, t_ep(&s, "prod", "db")->ep_id, PW_DIR_INGRESS), 0);
	CHECK(t_ep(&s, "prod", "db")->flags & PW_EP_ISOLATED_INGRESS);
	CHECK(t_allowed(&s, "dev/tool", "prod/web3", 9090, TCP));
	CHECK(!t_allowed(&s, "dev/tool", "prod/web3", 8080, TCP));
	CHECK(!t_allowed(&s, "dev/tool", "prod/web3", 9090, UDP));
	pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_compile_named_port_egress(void)
{
	struct pw_state s;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_compile(PODS
		"kind: NetworkPolicy\n"
		"metadata: {name: sel, namespace: dev}\n"
		"spec:\n"
		"  podSelector: {}\n"
		"  egress: [{to: [{namespaceSelector: {matchLabels: {team: a}}}], ports: [{port: http}]}]\n"
		"---\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: any, namespace: prod}\n"
		"spec:\n"
		"  podSelector: {matchLabels: {app: db}}\n"
		"  policyTypes: [Egress]\n"
		"  egress: [{ports: [{port: dns, protocol: UDP}]}]\n"
		"---\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: cidr, namespace: prod}\n"
		"spec:\n"
		"  podSelector: {matchLabels: {app: web}}\n"
		"  policyTypes: [Egress]\n"
		"  egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}], ports: [{port: sql}]}]\n",
		NULL, &s, &err);
	uint32_t tool, db, web1;

	CHECK(c);
	if (!c)
		return;
	tool = t_ep(&s, "dev", "tool")->ep_id;
	db = t_ep(&s, "prod", "db")->ep_id;
	web1 = t_ep(&s, "prod", "web1")->ep_id;
	/* three peer identities name http: web1's and web2's IPv4 (8080; inside
	 * the 0.0.0.0/0 group of policy cidr), web1's IPv6 (8080, outside it),
	 * web3 (9090); db does not */
	CHECK_EQ(count_pol(&s, tool, PW_DIR_EGRESS), 3);
	CHECK(t_allowed(&s, "dev/tool", "fd00::1", 8080, TCP));
	CHECK(t_allowed(&s, "dev/tool", "prod/web1", 8080, TCP));
	CHECK(t_allowed(&s, "dev/tool", "prod/web3", 9090, TCP));
	CHECK(!t_allowed(&s, "dev/tool", "prod/web3", 8080, TCP));
	CHECK(!t_allowed(&s, "dev/tool", "prod/db", 8080, TCP));
	/* no peers: every pod identity with a port named dns (coredns) */
	CHECK_EQ(count_pol(&s, db, PW_DIR_EGRESS), 1);
	CHECK(t_allowed(&s, "prod/db", "kube-system/coredns", 53, UDP));
	CHECK(!t_allowed(&s, "prod/db", "8.8.8.8", 53, UDP));   /* external: no named ports */
	/* an ipBlock: pods inside it with the name; no CIDR-group entries */
	CHECK_EQ(count_pol(&s, web1, PW_DIR_EGRESS), 1);
	CHECK(t_allowed(&s, "prod/web1", "prod/db", 5432, TCP));
	CHECK(!t_allowed(&s, "prod/web1", "1.1.1.1", 5432, TCP));
	pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_compile_rules_and_lowest_rule_id(void)
{
	struct pw_state s;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_compile(PODS
		"kind: NetworkPolicy\n"
		"metadata: {name: b, namespace: prod}\n"
		"spec:\n"
		"  podSelector: {matchLabels: {app: db}}\n"
		"  ingress: [{ports: [{port: 80}]}, {ports: [{port: 80}, {port: 81}]}]\n"
		"  egress: [{}]\n"
		"---\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: a, namespace: prod}\n"
		"spec:\n"
		"  podSelector: {matchLabels: {app: nothing}}\n"
		"  ingress: [{}]\n", NULL, &s, &err);
	struct pw_policy_val v;
	uint32_t db;

	CHECK(c);
	if (!c)
		return;
	CHECK_EQ(s.n_rules, 4);
	CHECK(!strcmp(s.rules[0].policy, "prod/a") && s.rules[0].dir == PW_DIR_INGRESS);
	CHECK(!strcmp(s.rules[1].policy, "prod/b") && s.rules[1].rule_index == 0);
	CHECK(!strcmp(s.rules[2].policy, "prod/b") && s.rules[2].rule_index == 1);
	CHECK(s.rules[3].dir == PW_DIR_EGRESS && s.rules[3].rule_index == 0);
	for (size_t i = 0; i < s.n_rules; i++)
		CHECK_EQ(s.rules[i].rule_id, i);
	db = t_ep(&s, "prod", "db")->ep_id;
	CHECK_EQ(count_pol(&s, db, PW_DIR_INGRESS), 2);
	CHECK(pw_state_policy_lookup(&s, db, PW_DIR_INGRESS, 12345, TCP, 80, &v) && v.rule_id == 1);
	CHECK(pw_state_policy_lookup(&s, db, PW_DIR_INGRESS, 12345, TCP, 81, &v) && v.rule_id == 2);
	CHECK(pw_state_policy_lookup(&s, db, PW_DIR_EGRESS, 12345, UDP, 9, &v) && v.rule_id == 3);
	pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_compile_selector_peers(void)
{
	struct pw_state s;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_compile(PODS
		"kind: NetworkPolicy\n"
		"metadata: {name: p, namespace: prod}\n"
		"spec:\n"
		"  podSelector: {matchLabels: {app: db}}\n"
		"  ingress:\n"
		"  - from: [{namespaceSelector: {matchLabels: {team: b}}, podSelector: {matchLabels: {app: web}}}]\n"
		"    ports: [{port: 1}]\n"
		"  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]\n"
		"    ports: [{port: 2}]\n"
		"  - from: [{podSelector: {matchLabels: {app: web}}}]\n"
		"    ports: [{port: 3}]\n"
		"  - from: [{namespaceSelector: {}}]\n"
		"    ports: [{port: 4}]\n", NULL, &s, &err);

	CHECK(c);
	if (!c)
		return;
	CHECK(t_allowed(&s, "dev/tool", "prod/db", 1, TCP));     /* ns AND pod */
	CHECK(!t_allowed(&s, "prod/web1", "prod/db", 1, TCP));
	CHECK(t_allowed(&s, "kube-system/coredns", "prod/db", 2, TCP));
	CHECK(!t_allowed(&s, "dev/tool", "prod/db", 2, TCP));
	CHECK(t_allowed(&s, "prod/web1", "prod/db", 3, TCP));    /* own namespace */
	CHECK(t_allowed(&s, "prod/web3", "prod/db", 3, TCP));
	CHECK(!t_allowed(&s, "dev/tool", "prod/db", 3, TCP));
	CHECK(t_allowed(&s, "dev/tool", "prod/db", 4, TCP));     /* every namespace */
	CHECK(!t_allowed(&s, "1.2.3.4", "prod/db", 4, TCP));     /* but only pods */
	pw_state_free(&s);
	pw_cluster_free(c);
}

static bool same_state(const struct pw_state *a, const struct pw_state *b)
{
	return a->n_eps == b->n_eps && a->n_ipc == b->n_ipc && a->n_pol == b->n_pol &&
	       a->n_ids == b->n_ids && a->n_rules == b->n_rules &&
	       !memcmp(a->eps, b->eps, a->n_eps * sizeof(*a->eps)) &&
	       !memcmp(a->ipc, b->ipc, a->n_ipc * sizeof(*a->ipc)) &&
	       !memcmp(a->pol, b->pol, a->n_pol * sizeof(*a->pol)) &&
	       !memcmp(a->ids, b->ids, a->n_ids * sizeof(*a->ids)) &&
	       !memcmp(a->rules, b->rules, a->n_rules * sizeof(*a->rules));
}

#define POLICIES \
	"kind: NetworkPolicy\n" \
	"metadata: {name: p1, namespace: prod}\n" \
	"spec:\n" \
	"  podSelector: {matchLabels: {app: web}}\n" \
	"  ingress: [{from: [{podSelector: {}}, {ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/24]}}],\n" \
	"             ports: [{port: http}, {port: 100, endPort: 200}]}]\n" \
	"  egress: [{to: [{namespaceSelector: {}}], ports: [{port: dns, protocol: UDP}]}]\n" \
	"---\n" \
	"kind: NetworkPolicy\n" \
	"metadata: {name: p2, namespace: dev}\n" \
	"spec: {podSelector: {}, egress: [{to: [{ipBlock: {cidr: '::/0'}}]}]}\n" \
	"---\n"

static void t_compile_deterministic(void)
{
	struct pw_state s1, s2, s3;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c1 = t_compile(PODS POLICIES, NULL, &s1, &err);
	struct pw_cluster *c2 = t_compile(PODS POLICIES, NULL, &s2, &err);
	struct pw_cluster *c3 = t_compile(POLICIES PODS, NULL, &s3, &err);   /* other order */

	CHECK(c1 && c2 && c3);
	if (c1 && c2 && c3) {
		CHECK(s1.n_pol > 10);
		CHECK(same_state(&s1, &s2));
		CHECK(same_state(&s1, &s3));
	}
	pw_state_free(&s1);
	pw_state_free(&s2);
	pw_state_free(&s3);
	pw_cluster_free(c1);
	pw_cluster_free(c2);
	pw_cluster_free(c3);
}

static void t_compile_small_change_small_diff(void)
{
	char *a = malloc(64 * 1024), *b = malloc(64 * 1024);
	size_t pa = 0, pb = 0;
	struct pw_state s1, s2;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c1, *c2;

	for (int i = 0; i < 40; i++) {
		const char *fmt = "kind: Pod\nmetadata: {name: p%02d, namespace: n%d, labels: "
				  "{app: a%d%s}}\nstatus: {podIP: 10.3.%d.%d}\n---\n";

		pa += (size_t)sprintf(a + pa, fmt, i, i % 3, i % 5, "", i % 3, i + 1);
		pb += (size_t)sprintf(b + pb, fmt, i, i % 3, i % 5, i == 7 ? ", extra: x" : "",
				      i % 3, i + 1);
	}
	pa += (size_t)sprintf(a + pa, "%s", "kind: NetworkPolicy\nmetadata: {name: p, namespace: n1}\n"
			      "spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {}}]}]}\n");
	pb += (size_t)sprintf(b + pb, "%s", "kind: NetworkPolicy\nmetadata: {name: p, namespace: n1}\n"
			      "spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {}}]}]}\n");
	c1 = t_compile(a, NULL, &s1, &err);
	c2 = t_compile(b, NULL, &s2, &err);
	CHECK(c1 && c2);
	if (c1 && c2) {
		size_t d_ipc = t_diff(s1.ipc, s1.n_ipc, s2.ipc, s2.n_ipc, sizeof(*s1.ipc),
				      sizeof(s1.ipc[0].key));
		size_t d_pol = t_diff(s1.pol, s1.n_pol, s2.pol, s2.n_pol, sizeof(*s1.pol),
				      sizeof(s1.pol[0].key));
		size_t d_ids = 0;
		size_t d_eps = t_diff(s1.eps, s1.n_eps, s2.eps, s2.n_eps, sizeof(*s1.eps), 64 + 254);

		for (size_t i = 0; i < s1.n_ids; i++) {
			const struct pw_state_identity *o = find_id(&s2, s1.ids[i].id);

			d_ids += !o || memcmp(o, &s1.ids[i], sizeof(*o));
		}
		for (size_t i = 0; i < s2.n_ids; i++)
			d_ids += !find_id(&s1, s2.ids[i].id);
		/* pod 7 got a new identity: its address, its endpoint, its
		 * identity, and the entries that name it as a peer */
		CHECK_EQ(d_ipc, 1);
		CHECK_EQ(d_eps, 1);
		CHECK_EQ(d_ids, 1);   /* one identity added: a7's others remain */
		CHECK(d_pol > 0 && d_pol <= 2 * 14 + 1);
		CHECK(s1.n_pol > 100);
	}
	pw_state_free(&s1);
	pw_state_free(&s2);
	pw_cluster_free(c1);
	pw_cluster_free(c2);
	free(a);
	free(b);
}

static uint32_t dns_of(const char *policies, const struct pw_compile_opts *o, const char *ns,
		       const char *name)
{
	char y[8192];
	struct pw_state s;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c;
	uint32_t f = 0xdead;

	snprintf(y, sizeof(y), "%s%s", PODS, policies);
	c = t_compile(y, o, &s, &err);
	if (c && t_ep(&s, ns, name))
		f = t_ep(&s, ns, name)->dns_flags;
	pw_state_free(&s);
	pw_cluster_free(c);
	return f;
}

#define DENY_EGRESS \
	"kind: NetworkPolicy\n" \
	"metadata: {name: deny, namespace: prod}\n" \
	"spec: {podSelector: {}, policyTypes: [Egress]}\n" \
	"---\n"

static void t_compile_dns_flags(void)
{
	struct pw_compile_opts aut = { .dns_auto = true };
	const char *to_dns_udp =
		"kind: NetworkPolicy\n"
		"metadata: {name: dns, namespace: prod}\n"
		"spec:\n"
		"  podSelector: {}\n"
		"  egress:\n"
		"  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}},\n"
		"          podSelector: {matchLabels: {k8s-app: kube-dns}}}]\n"
		"    ports: [{port: 53, protocol: UDP}]\n";
	const char *to_dns_both =
		"kind: NetworkPolicy\n"
		"metadata: {name: dns, namespace: prod}\n"
		"spec:\n"
		"  podSelector: {}\n"
		"  egress:\n"
		"  - to: [{namespaceSelector: {}}]\n"
		"    ports: [{port: 53, protocol: UDP}, {port: dns-tcp}]\n";
	const char *to_all = "kind: NetworkPolicy\n"
			     "metadata: {name: all, namespace: prod}\n"
			     "spec: {podSelector: {}, egress: [{}]}\n";
	const char *wrong_ns =
		"kind: NetworkPolicy\n"
		"metadata: {name: dns, namespace: prod}\n"
		"spec:\n"
		"  podSelector: {}\n"
		"  egress: [{to: [{podSelector: {matchLabels: {k8s-app: kube-dns}}}], ports: [{port: 53, protocol: UDP}]}]\n";

	CHECK_EQ(dns_of("", NULL, "prod", "web1"), PW_DNS_POLICY_UDP | PW_DNS_POLICY_TCP);
	CHECK_EQ(dns_of(DENY_EGRESS, NULL, "prod", "web1"), 0);
	CHECK_EQ(dns_of(DENY_EGRESS, NULL, "dev", "tool"), PW_DNS_POLICY_UDP | PW_DNS_POLICY_TCP);
	CHECK_EQ(dns_of(DENY_EGRESS, &aut, "prod", "web1"), PW_DNS_AUTO);
	CHECK_EQ(dns_of("", &aut, "prod", "web1"), PW_DNS_POLICY_UDP | PW_DNS_POLICY_TCP);
	CHECK_EQ(dns_of(to_dns_udp, NULL, "prod", "web1"), PW_DNS_POLICY_UDP);
	CHECK_EQ(dns_of(to_dns_udp, &aut, "prod", "web1"), PW_DNS_POLICY_UDP | PW_DNS_AUTO);
	CHECK_EQ(dns_of(to_dns_both, NULL, "prod", "db"), PW_DNS_POLICY_UDP | PW_DNS_POLICY_TCP);
	CHECK_EQ(dns_of(to_all, NULL, "prod", "db"), PW_DNS_POLICY_UDP | PW_DNS_POLICY_TCP);
	/* podSelector alone means the policy's namespace: not kube-system */
	CHECK_EQ(dns_of(wrong_ns, NULL, "prod", "db"), 0);
}

static void t_compile_dns_every_server(void)
{
	const char *two =
		"kind: Pod\n"
		"metadata: {name: coredns-2, namespace: kube-system, labels: {k8s-app: kube-dns, n: two}}\n"
		"status: {podIP: 10.2.0.11}\n"
		"---\n"
		DENY_EGRESS
		"kind: NetworkPolicy\n"
		"metadata: {name: dns, namespace: prod}\n"
		"spec:\n"
		"  podSelector: {}\n"
		"  egress: [{to: [{ipBlock: {cidr: 10.2.0.10/32}}], ports: [{port: 53, protocol: UDP}]}]\n";
	const char *both =
		"kind: Pod\n"
		"metadata: {name: coredns-2, namespace: kube-system, labels: {k8s-app: kube-dns, n: two}}\n"
		"status: {podIP: 10.2.0.11}\n"
		"---\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: dns, namespace: prod}\n"
		"spec:\n"
		"  podSelector: {}\n"
		"  egress: [{to: [{ipBlock: {cidr: 10.2.0.0/24}}], ports: [{port: 53, protocol: UDP}]}]\n";

	/* one of two DNS servers allowed: not "every" */
	CHECK_EQ(dns_of(two, NULL, "prod", "web1"), 0);
	CHECK_EQ(dns_of(both, NULL, "prod", "web1"), PW_DNS_POLICY_UDP);
}

static void t_compile_dns_custom_selector(void)
{
	struct pw_compile_opts o = { .dns_namespace = "prod", .dns_label_key = "app",
				     .dns_label_value = "db" };
	const char *p =
		DENY_EGRESS
		"kind: NetworkPolicy\n"
		"metadata: {name: dns, namespace: prod}\n"
		"spec: {podSelector: {}, egress: [{to: [{podSelector: {matchLabels: {app: db}}}],\n"
		"       ports: [{port: 53, protocol: TCP}]}]}\n";
	char y[8192];
	struct pw_state s;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c;

	CHECK_EQ(dns_of(p, &o, "prod", "web1"), PW_DNS_POLICY_TCP);
	snprintf(y, sizeof(y), "%s%s", PODS, p);
	c = t_compile(y, &o, &s, &err);
	CHECK(c);
	if (c) {
		CHECK_EQ(t_ident(&s, "10.0.0.10"), ident_of(&s, "prod", "db"));
		for (size_t i = 0; i < s.n_ipc; i++)
			if (s.ipc[i].val.identity == ident_of(&s, "prod", "db"))
				CHECK(s.ipc[i].val.flags & PW_IPC_DNS);
	}
	pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_compile_unfinished_cluster_refused(void)
{
	struct pw_cluster *c = pw_cluster_new();
	struct pw_error err = { { 0 } };
	struct pw_state s;
	const char *y = "kind: Pod\nmetadata: {name: b}\nstatus: {podIP: 10.0.0.2}\n---\n"
			"kind: Pod\nmetadata: {name: a}\nstatus: {podIP: 10.0.0.1}\n";

	CHECK_EQ(pw_cluster_load_buffer(c, "u.yaml", y, strlen(y), &err), 0);
	CHECK_EQ(pw_compile(c, NULL, &s, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "pw_cluster_finish");
	CHECK(s.eps == NULL && s.pol == NULL && s.n_ipc == 0);
	pw_cluster_free(c);
}

/* a finished pod's address is free: the live pod that has it now gets it */
static void t_compile_address_of_finished_pod(void)
{
	struct pw_state s;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_compile(
		"kind: Pod\nmetadata: {name: a, labels: {x: a}}\nstatus: {podIP: 10.0.0.1}\n---\n"
		"kind: Pod\nmetadata: {name: b, labels: {x: b}}\n"
		"status: {phase: Succeeded, podIP: 10.0.0.1}\n---\n"
		"kind: Pod\nmetadata: {name: c, labels: {x: c}}\n"
		"status: {phase: Running, podIP: 10.0.0.1}\n---\n"
		"kind: Service\nmetadata: {name: s}\nspec: {clusterIP: 10.0.0.1}\n",
		NULL, &s, &err);

	CHECK(!c);
	CHECK_STR_CONTAINS(err.msg, "t.yaml:9: pods default/c and default/a (t.yaml:1) both have "
			   "address 10.0.0.1");
	pw_cluster_free(c);
	c = t_compile(
		"kind: Pod\nmetadata: {name: a, labels: {x: a}}\n"
		"status: {phase: Failed, podIP: 10.0.0.1}\n---\n"
		"kind: Pod\nmetadata: {name: b, labels: {x: b}}\n"
		"status: {phase: Succeeded, podIP: 10.0.0.1}\n---\n"
		"kind: Pod\nmetadata: {name: c, labels: {x: c}}\n"
		"status: {phase: Running, podIP: 10.0.0.1}\n",
		NULL, &s, &err);
	CHECK(c);
	if (!c)
		return;
	CHECK_EQ(s.n_eps, 1);
	CHECK_EQ(s.n_ipc, 1);
	CHECK_EQ(t_ident(&s, "10.0.0.1"), ident_of(&s, "default", "c"));
	pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_compile_empty_cluster(void)
{
	struct pw_state s;
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_compile("", NULL, &s, &err);

	CHECK(c);
	CHECK_EQ(s.n_eps + s.n_ipc + s.n_pol + s.n_rules, 0);
	CHECK_EQ(s.n_ids, 3);
	pw_state_free(&s);
	CHECK(s.ids == NULL && s.n_ids == 0);
	pw_cluster_free(c);
}

/* 50,000 /32 ipBlocks: each peer used to be checked against every CIDR group
 * (N^2, 2 s at 20,000 and minutes at 270,000, issue 9); the groups inside a
 * block are a contiguous run of the sorted groups. Same answers, linear time. */
static void t_compile_many_ipblocks_is_not_quadratic(void)
{
	size_t n = 50000, cap = n * 48 + 4096, pos = 0;
	char *b = malloc(cap);
	struct pw_state s = { 0 };
	struct pw_error err = { { 0 } };
	struct pw_cluster *c;
	clock_t t0;

	pos += (size_t)sprintf(b, "kind: Pod\nmetadata: {name: s, namespace: n, labels: {app: s}}\n"
			       "status: {podIP: 198.18.1.10}\n---\nkind: NetworkPolicy\n"
			       "metadata: {name: p, namespace: n}\nspec:\n  podSelector: {}\n"
			       "  ingress:\n  - from:\n");
	for (size_t i = 0; i < n; i++)
		pos += (size_t)sprintf(b + pos, "    - ipBlock: {cidr: 10.%zu.%zu.%zu/32}\n",
				       i >> 16, (i >> 8) & 255, i & 255);
	pos += (size_t)sprintf(b + pos, "    - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24]}\n"
			       "    ports: [{port: 443}]\n");
	CHECK(pos < cap);
	t0 = clock();
	c = t_compile(b, NULL, &s, &err);
	CHECK(c != NULL);
	CHECK((clock() - t0) / CLOCKS_PER_SEC < 10);
	if (c) {
		/* a peer each: the n /32 groups and the /16 (its except is a group of no block) */
		CHECK_EQ(s.n_pol, n + 1);
		CHECK(s.n_ipc >= n + 2);
		CHECK(t_allowed(&s, "10.0.0.0", "n/s", 443, TCP));     /* the first /32 */
		CHECK(t_allowed(&s, "10.0.195.79", "n/s", 443, TCP));  /* the last /32 */
		CHECK(t_allowed(&s, "10.0.1.7", "n/s", 443, TCP));     /* in the except: its /32 */
		CHECK(t_allowed(&s, "10.0.200.7", "n/s", 443, TCP));   /* no /32: the /16 */
		CHECK(t_allowed(&s, "10.0.255.255", "n/s", 443, TCP));
		CHECK(!t_allowed(&s, "10.1.0.0", "n/s", 443, TCP));    /* outside every block */
		CHECK(!t_allowed(&s, "10.0.200.7", "n/s", 80, TCP));
	}
	pw_state_free(&s);
	pw_cluster_free(c);
	free(b);
}

static int assign_order_cmp(const void *ctx, size_t a, size_t b)
{
	const uint32_t *rank = ctx;

	return (rank[a] > rank[b]) - (rank[a] < rank[b]);
}

/* pw_assign_ids_unsorted gives the numbers pw_assign_ids gives the keys in
 * sorted order: small ranges (long runs of collisions), ranges ending at
 * UINT32_MAX (runs that wrap), a full range, and keys in shuffled order. */
static void t_compile_assign_ids_unsorted(void)
{
	static const struct { uint32_t lo, hi; size_t n; } cases[] = {
		{ 1, 1, 1 }, { 1, 10, 10 }, { 5, 40, 30 }, { 100, 1000, 700 },
		{ UINT32_MAX - 50, UINT32_MAX, 40 }, { UINT32_MAX - 9, UINT32_MAX, 10 },
		{ 256, 0x00ffffff, 2000 }, { 7, 7 + 4095, 4096 }, { 1, 3, 0 },
	};
	enum { MAX = 4096 };
	uint64_t *h = calloc(MAX, sizeof(*h)), *hs = calloc(MAX, sizeof(*hs));
	uint32_t *rank = calloc(MAX, sizeof(*rank)), *got = calloc(MAX, sizeof(*got));
	uint32_t *want = calloc(MAX, sizeof(*want));
	size_t *by_rank = calloc(MAX, sizeof(*by_rank));

	CHECK(h && hs && rank && got && want && by_rank);
	for (size_t c = 0; h && hs && rank && got && want && by_rank &&
			   c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (int round = 0; round < 20; round++) {
			size_t n = cases[c].n;
			uint64_t range = (uint64_t)cases[c].hi - cases[c].lo + 1;

			for (size_t i = 0; i < n; i++) {
				/* some hashes aimed at the last numbers, to wrap */
				h[i] = ((uint64_t)rnd(1u << 30) << 31 | rnd(1u << 30)) ^ rnd(4);
				if (rnd(4) == 0)
					h[i] = range - 1 - rnd(3) + range * rnd(1000);
				rank[i] = (uint32_t)i;
			}
			for (size_t i = n; i > 1; i--) {   /* a shuffled key order */
				size_t j = rnd((unsigned)i);
				uint32_t t = rank[i - 1];

				rank[i - 1] = rank[j];
				rank[j] = t;
			}
			for (size_t i = 0; i < n; i++)
				by_rank[rank[i]] = i;
			for (size_t r = 0; r < n; r++)
				hs[r] = h[by_rank[r]];
			CHECK_EQ(pw_assign_ids(hs, n, cases[c].lo, cases[c].hi, want), 0);
			CHECK_EQ(pw_assign_ids_unsorted(h, n, cases[c].lo, cases[c].hi,
							assign_order_cmp, rank, got), 0);
			for (size_t i = 0; i < n; i++)
				CHECK_EQ(got[i], want[rank[i]]);
		}
	}
	CHECK_EQ(pw_assign_ids_unsorted(h, 11, 1, 10, assign_order_cmp, rank, got), -ENOSPC);
	free(h);
	free(hs);
	free(rank);
	free(got);
	free(want);
	free(by_rank);
}

struct sort_rec {
	uint8_t  key[7];
	uint8_t  pad;
	uint32_t seq;    /* the input position: ties keep it increasing */
};

static int sort_rec_cmp(const void *a, const void *b)
{
	const struct sort_rec *x = a, *y = b;
	int r = memcmp(x->key, y->key, sizeof(x->key));

	return r ? r : (x->seq > y->seq) - (x->seq < y->seq);
}

/* pw_sort_bytes is a stable sort in memcmp order of the key bytes: the same
 * order as qsort by (key, input position), with many ties and with bytes
 * that are the same in every record (passes skipped). */
static void t_compile_sort_bytes(void)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 10, 100, 1000, 5000 };
	struct sort_rec *a = calloc(5000, sizeof(*a)), *b = calloc(5000, sizeof(*b));

	CHECK(a && b);
	for (size_t c = 0; a && b && c < sizeof(sizes) / sizeof(sizes[0]); c++) {
		for (unsigned spread = 1; spread <= 256; spread *= 4) {
			size_t n = sizes[c];

			for (size_t i = 0; i < n; i++) {
				for (size_t k = 0; k < sizeof(a[i].key); k++)
					a[i].key[k] = k == 2 ? 0x5a : (uint8_t)rnd(spread);
				a[i].seq = (uint32_t)i;
			}
			memcpy(b, a, n * sizeof(*a));
			CHECK_EQ(pw_sort_bytes(a, n, sizeof(*a), sizeof(a->key)), 0);
			qsort(b, n, sizeof(*b), sort_rec_cmp);
			CHECK(!n || !memcmp(a, b, n * sizeof(*a)));
		}
	}
	free(a);
	free(b);
}

/* pw_fnv1a_n (four keys at a time) and pw_fnv1a in steps are pw_hash64,
 * whatever the lengths. */
static void t_compile_hash64_steps(void)
{
	enum { N = 13 };
	uint8_t buf[N][200];
	const uint8_t *p[N];
	size_t len[N];
	uint64_t out[N];

	for (int round = 0; round < 50; round++) {
		size_t n = rnd(N + 1);

		for (size_t i = 0; i < n; i++) {
			len[i] = round < 5 ? (size_t)round : rnd(200);
			for (size_t k = 0; k < len[i]; k++)
				buf[i][k] = (uint8_t)rnd(256);
			p[i] = buf[i];
		}
		pw_fnv1a_n(p, len, n, out);
		for (size_t i = 0; i < n; i++) {
			size_t cut = len[i] ? rnd((unsigned)len[i]) : 0;

			CHECK(pw_hash64_finish(out[i]) == pw_hash64(p[i], len[i]));
			CHECK(pw_hash64_finish(pw_fnv1a(pw_fnv1a(PW_FNV_BASIS, p[i], cut), p[i] + cut,
							len[i] - cut)) == pw_hash64(p[i], len[i]));
		}
	}
	CHECK(pw_hash64("", 0) == 0xf52a15e9a9b5e89bULL);   /* ids derive from it: never changes */
}

/* A selector for t_compile_selector_paths: small or big (more than 16
 * requirements or 32 values, or longer than 512 bytes, are matched another
 * way), and often the same as another policy's (remembered matches). */
static void sel_yaml(char *y, size_t len, unsigned kind)
{
	static const char *const keys[] = { "app", "tier", "k1", "k2" };
	static const char *const vals[] = { "a", "b", "c" };
	size_t pos = 0;

	switch (kind % 6) {
	case 0:
		snprintf(y, len, "{}");
		return;
	case 1:
		snprintf(y, len, "{matchLabels: {app: %s}}", vals[kind / 6 % 3]);
		return;
	case 2:
		snprintf(y, len, "{matchExpressions: [{key: %s, operator: %s}]}", keys[2 + kind / 6 % 2],
			 kind / 12 % 2 ? "Exists" : "DoesNotExist");
		return;
	case 3:   /* 20 requirements */
		pos += (size_t)snprintf(y + pos, len - pos, "{matchExpressions: [");
		for (int i = 0; i < 20; i++)
			pos += (size_t)snprintf(y + pos, len - pos, "%s{key: %s, operator: %s}",
						i ? ", " : "", keys[i % 4],
						i == (int)(kind / 6 % 20) ? "DoesNotExist" : "Exists");
		snprintf(y + pos, len - pos, "]}");
		return;
	case 4:   /* 40 values */
		pos += (size_t)snprintf(y + pos, len - pos, "{matchExpressions: [{key: app, operator: In, values: [");
		for (int i = 0; i < 40; i++)
			pos += (size_t)snprintf(y + pos, len - pos, "%sv%d", i ? ", " : "",
						i == 39 ? (int)(kind / 6 % 3) : 100 + i);
		snprintf(y + pos, len - pos, ", %s]}]}", vals[kind / 6 % 3]);
		return;
	default:  /* 30 long values: too long to be remembered (over 512 bytes) */
		pos += (size_t)snprintf(y + pos, len - pos, "{matchExpressions: [{key: app, operator: NotIn, values: [");
		for (int i = 0; i < 30; i++)
			pos += (size_t)snprintf(y + pos, len - pos, "%s%s-%s-%02d", i ? ", " : "",
						"a-rather-long-label-value", "not-any-pods", i);
		snprintf(y + pos, len - pos, ", %s]}]}", vals[kind / 6 % 3]);
		return;
	}
}

/* Selectors of every size and repeated ones, against a direct evaluation
 * with pw_selector_matches: for every pair of pods, the datapath's verdict
 * (policy entries) is the one NetworkPolicy semantics give. */
static void t_compile_selector_paths(void)
{
	static const char *const vals[] = { "a", "b", "c" };
	enum { N_PODS = 30, N_POL = 48 };
	size_t cap = 256 * 1024, pos = 0;
	char *y = malloc(cap), sel[2][2048];
	struct pw_state s = { 0 };
	struct pw_error err = { { 0 } };
	struct pw_cluster *c;
	int wrong = 0, n_allowed = 0, n_denied = 0;

	CHECK(y != NULL);
	if (!y)
		return;
	for (int n = 0; n < 3; n++)
		pos += (size_t)snprintf(y + pos, cap - pos, "kind: Namespace\nmetadata: {name: n%d, "
					"labels: {app: %s, tier: %s}}\n---\n", n, vals[n], vals[(n + 1) % 3]);
	for (int i = 0; i < N_PODS; i++)
		pos += (size_t)snprintf(y + pos, cap - pos, "kind: Pod\nmetadata: {name: p%02d, namespace: n%d, "
					"labels: {app: %s, tier: %s%s%s}}\nstatus: {podIP: 10.7.0.%d}\n---\n",
					i, i % 3, vals[rnd(3)], vals[rnd(3)], rnd(2) ? ", k1: x" : "",
					rnd(2) ? ", k2: y" : "", i + 1);
	for (int k = 0; k < N_POL; k++) {
		unsigned a = (unsigned)k % 6 + 6 * rnd(150), b = rnd(6) + 6 * rnd(150);

		if (k % 3 == 2)   /* the same selectors as the policy before */
			a = b = (unsigned)k;
		sel_yaml(sel[0], sizeof(sel[0]), a);
		sel_yaml(sel[1], sizeof(sel[1]), b);
		/* one peer each (another would hide its mistakes), selecting few
		 * pods (another policy would too) */
		pos += (size_t)snprintf(y + pos, cap - pos, "kind: NetworkPolicy\nmetadata: {name: np%02d, "
					"namespace: n%d}\nspec:\n  podSelector: {matchLabels: {app: %s, "
					"tier: %s}}\n  ingress: [{from: [{podSelector: %s%s%s}]}]\n---\n", k,
					k % 3, vals[k / 3 % 3], vals[k / 9 % 3], sel[0],
					k % 2 ? ", namespaceSelector: " : "", k % 2 ? sel[1] : "");
	}
	CHECK(pos < cap);
	c = t_compile(y, NULL, &s, &err);
	CHECK(c != NULL);
	if (!c)
		fprintf(stderr, "t_compile_selector_paths: %s\n", err.msg);
	for (size_t d = 0; c && d < c->n_pods; d++) {
		const struct pw_pod *dst = &c->pods[d];

		for (size_t q = 0; q < c->n_pods; q++) {
			const struct pw_pod *src = &c->pods[q];
			const struct pw_namespace *sns = pw_cluster_namespace(c, src->ns);
			bool isolated = false, allowed = false;
			char a[80], b[80];

			for (size_t p = 0; p < c->n_policies; p++) {
				const struct pw_policy *pol = &c->policies[p];

				if (strcmp(pol->ns, dst->ns) || !pw_selector_matches(&pol->pod_sel, &dst->labels))
					continue;
				isolated = true;
				for (size_t k = 0; k < pol->rules[0][0].n_peers; k++) {
					const struct pw_np_peer *pe = &pol->rules[0][0].peers[k];
					bool ns_ok = pe->ns_sel.present
						? pw_selector_matches(&pe->ns_sel, &sns->labels)
						: !strcmp(src->ns, pol->ns);

					allowed |= ns_ok && pw_selector_matches(&pe->pod_sel, &src->labels);
				}
			}
			snprintf(a, sizeof(a), "%s/%s", src->ns, src->name);
			snprintf(b, sizeof(b), "%s/%s", dst->ns, dst->name);
			wrong += t_allowed(&s, a, b, 80, TCP) != (!isolated || allowed);
			n_allowed += isolated && allowed;
			n_denied += isolated && !allowed;
		}
	}
	CHECK_EQ(wrong, 0);
	CHECK(n_allowed > 50 && n_denied > 50);
	pw_state_free(&s);
	pw_cluster_free(c);
	free(y);
}

int suite_compile(void)
{
	RUN(t_compile_isolation_flags);
	RUN(t_compile_many_ipblocks_is_not_quadratic);
	RUN(t_compile_audit_all);
	RUN(t_compile_is_local);
	RUN(t_compile_endpoint_ids);
	RUN(t_compile_identity_shared_by_same_labels);
	RUN(t_compile_identity_split_by_named_port);
	RUN(t_compile_identity_split_by_cidr);
	RUN(t_compile_identity_ranges_and_table);
	RUN(t_compile_ipcache_entries);
	RUN(t_compile_cidr_except_hole);
	RUN(t_compile_host_addrs);
	RUN(t_compile_ipv6_block_excludes_ipv4);
	RUN(t_compile_ipv6_block_keeps_ipv4_world);
	RUN(t_compile_ipblock_randomized);
	RUN(t_compile_port_range_prefixes);
	RUN(t_compile_end_port_entries);
	RUN(t_compile_key_layout);
	RUN(t_compile_named_port_ingress);
	RUN(t_compile_named_port_egress);
	RUN(t_compile_rules_and_lowest_rule_id);
	RUN(t_compile_selector_peers);
	RUN(t_compile_deterministic);
	RUN(t_compile_small_change_small_diff);
	RUN(t_compile_dns_flags);
	RUN(t_compile_dns_every_server);
	RUN(t_compile_dns_custom_selector);
	RUN(t_compile_unfinished_cluster_refused);
	RUN(t_compile_address_of_finished_pod);
	RUN(t_compile_empty_cluster);
	RUN(t_compile_assign_ids_unsorted);
	RUN(t_compile_sort_bytes);
	RUN(t_compile_hash64_steps);
	RUN(t_compile_selector_paths);
	return check_n_fail;
}
