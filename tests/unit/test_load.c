/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Loading: streams, lists, directories, defaults, every kind. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include "check.h"
#include "k8s/ip.h"
#include "util.h"

static const char *label(const struct pw_labels *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].key, key))
			return l->v[i].value;
	return NULL;
}

static bool ip_is(const uint8_t a[16], const char *text)
{
	uint8_t b[16];
	bool v4;

	return !pw_ip_parse(text, b, &v4) && !memcmp(a, b, 16);
}

static bool cidr_is(const struct pw_cidr *p, const char *text)
{
	char buf[64];

	pw_cidr_format(p, buf, sizeof(buf));
	return !strcmp(buf, text);
}

static void t_load_multi_document(void)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load(
		"---\n"
		"apiVersion: v1\n"
		"kind: Namespace\n"
		"metadata: {name: zeta, labels: {team: z}}\n"
		"---\n"
		"apiVersion: v1\n"
		"kind: Pod\n"
		"metadata: {name: b, namespace: zeta}\n"
		"status: {podIP: 10.0.0.2}\n"
		"---\n"
		"# a comment-only document is empty\n"
		"---\n"
		"apiVersion: v1\n"
		"kind: Pod\n"
		"metadata: {name: a, namespace: zeta}\n"
		"status: {podIP: 10.0.0.1}\n"
		"...\n", &err, NULL);

	CHECK(c);
	if (!c)
		return;
	CHECK_EQ(c->n_namespaces, 1);
	CHECK_EQ(c->n_pods, 2);
	CHECK(!strcmp(c->pods[0].name, "a"));   /* sorted */
	CHECK(!strcmp(c->pods[1].name, "b"));
	CHECK_EQ(c->pods[0].loc.line, 13);
	CHECK(!strcmp(c->pods[0].loc.file, "t.yaml"));
	pw_cluster_free(c);
}

static void t_load_kubectl_list(void)
{
	char path[4096];
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = pw_cluster_new();
	const struct pw_namespace *ns;
	const struct pw_pod *p;
	const struct pw_policy *pol;
	const struct pw_service *s;
	char *notes;
	int r;

	snprintf(path, sizeof(path), "%s/kubectl-list.yaml", t_data_dir);
	t_capture_begin();
	r = pw_cluster_load_path(c, path, &err);
	notes = t_capture_end();
	CHECK_EQ(r, 0);
	CHECK_EQ(pw_cluster_finish(c, &err), 0);
	CHECK_STR_CONTAINS(notes, "kubectl-list.yaml:111: note: skipping kind ConfigMap");
	free(notes);
	CHECK_EQ(c->n_namespaces, 1);
	CHECK_EQ(c->n_pods, 1);
	CHECK_EQ(c->n_policies, 1);
	CHECK_EQ(c->n_services, 1);
	ns = pw_cluster_namespace(c, "shop");
	CHECK(ns && ns->audit);
	CHECK(ns && !strcmp(label(&ns->labels, "team"), "payments"));
	p = pw_cluster_pod(c, "shop", "web-7d9f-abcde");
	CHECK(p);
	if (!p)
		goto out;
	CHECK(!strcmp(p->host_veth, "veth1234"));
	CHECK_EQ(p->n_ips, 2);
	CHECK(ip_is(p->ips[0], "10.244.1.5"));
	CHECK(p->ips[0][10] == 0xff && p->ips[0][11] == 0xff && p->ips[0][12] == 10);
	CHECK(ip_is(p->ips[1], "fd00:10:244:1::5"));
	CHECK_EQ(p->n_ports, 3);
	CHECK(!strcmp(p->ports[0].name, "http"));
	CHECK_EQ(p->ports[0].port, 8080);
	CHECK_EQ(p->ports[1].proto, IPPROTO_TCP);   /* default */
	CHECK(p->ports[2].name == NULL);
	CHECK_EQ(p->ports[2].proto, IPPROTO_UDP);
	CHECK(!strcmp(label(&p->labels, "app"), "web"));
	CHECK_EQ(p->loc.line, 20);

	pol = &c->policies[0];
	CHECK(pol->types[0] && !pol->types[1]);
	CHECK_EQ(pol->n_rules[0], 1);
	CHECK_EQ(pol->rules[0][0].n_peers, 2);
	CHECK_EQ(pol->rules[0][0].peers[0].kind, PW_PEER_SELECTOR);
	CHECK(pol->rules[0][0].peers[0].ns_sel.present);
	CHECK(pol->rules[0][0].peers[0].pod_sel.present);
	CHECK_EQ(pol->rules[0][0].peers[0].pod_sel.exprs[0].n_values, 2);
	CHECK_EQ(pol->rules[0][0].peers[1].kind, PW_PEER_IPBLOCK);
	CHECK(cidr_is(&pol->rules[0][0].peers[1].cidr, "10.0.0.0/8"));
	CHECK_EQ(pol->rules[0][0].peers[1].cidr.len, 104);
	CHECK_EQ(pol->rules[0][0].peers[1].n_except, 1);
	CHECK(cidr_is(&pol->rules[0][0].peers[1].except[0], "10.1.0.0/16"));
	CHECK_EQ(pol->rules[0][0].n_ports, 2);
	CHECK(!strcmp(pol->rules[0][0].ports[0].named, "http"));
	CHECK_EQ(pol->rules[0][0].ports[0].proto, IPPROTO_TCP);
	CHECK_EQ(pol->rules[0][0].ports[1].port, 9000);
	CHECK_EQ(pol->rules[0][0].ports[1].end_port, 9100);
	CHECK_EQ(pol->rules[0][0].ports[1].proto, IPPROTO_SCTP);

	s = &c->services[0];
	CHECK_EQ(s->n_cluster_ips, 2);
	CHECK(ip_is(s->cluster_ips[0], "10.96.0.20"));
	CHECK(ip_is(s->cluster_ips[1], "fd00:96::20"));
	CHECK(!strcmp(label(&s->selector, "app"), "web"));
	CHECK_EQ(s->n_ports, 3);
	CHECK(!strcmp(s->ports[0].target_name, "http"));
	CHECK_EQ(s->ports[1].target_port, 443);
	CHECK_EQ(s->ports[1].proto, IPPROTO_TCP);
	CHECK_EQ(s->ports[2].target_port, 53);     /* defaults to port */
	CHECK_EQ(s->ports[2].proto, IPPROTO_UDP);
out:
	pw_cluster_free(c);
}

static void t_load_list_kinds_and_sequences(void)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load(
		"kind: PodList\n"
		"items:\n"
		"- {kind: Pod, metadata: {name: a}}\n"
		"- kind: NamespaceList\n"   /* lists nest */
		"  items: [{kind: Namespace, metadata: {name: n1}}]\n"
		"---\n"
		"- {kind: Pod, metadata: {name: b, namespace: n2}}\n"   /* a document that is a list */
		"- {kind: Namespace, metadata: {name: n3}}\n"
		"---\n"
		"kind: List\n"
		"items: []\n", &err, NULL);

	CHECK(c);
	if (!c)
		return;
	CHECK_EQ(c->n_pods, 2);
	/* default, n1, n2 (implicit), n3 */
	CHECK_EQ(c->n_namespaces, 4);
	CHECK(pw_cluster_pod(c, "default", "a"));
	CHECK(pw_cluster_namespace(c, "n2"));
	pw_cluster_free(c);
}

static void t_load_implicit_namespaces(void)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load(
		"kind: Namespace\n"
		"metadata: {name: declared, labels: {a: b}}\n"
		"---\n"
		"kind: Pod\n"
		"metadata: {name: p, namespace: frompod}\n"
		"---\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: np, namespace: frompolicy}\n"
		"spec: {podSelector: {}}\n"
		"---\n"
		"kind: Service\n"
		"metadata: {name: s, namespace: fromservice}\n", &err, NULL);
	const struct pw_namespace *ns;

	CHECK(c);
	if (!c)
		return;
	CHECK_EQ(c->n_namespaces, 3);   /* services do not make namespaces */
	CHECK(!strcmp(c->namespaces[0].name, "declared"));
	CHECK(!strcmp(c->namespaces[1].name, "frompod"));
	CHECK(!strcmp(c->namespaces[2].name, "frompolicy"));
	ns = pw_cluster_namespace(c, "frompod");
	CHECK(ns && ns->labels.n == 1);
	CHECK(ns && !strcmp(label(&ns->labels, "kubernetes.io/metadata.name"), "frompod"));
	ns = pw_cluster_namespace(c, "declared");
	CHECK(ns && ns->labels.n == 2);
	CHECK(ns && !strcmp(label(&ns->labels, "kubernetes.io/metadata.name"), "declared"));
	CHECK(ns && !strcmp(label(&ns->labels, "a"), "b"));
	CHECK(!pw_cluster_namespace(c, "fromservice"));
	pw_cluster_free(c);
}

static void t_load_namespace_defined_twice(void)
{
	char m[1024];

	CHECK_EQ(t_load_err("kind: Namespace\n"
			    "metadata: {name: n, labels: {v: one}}\n"
			    "---\n"
			    "kind: Namespace\n"
			    "metadata: {name: n, labels: {v: two}}\n", m, sizeof(m)), -EINVAL);
	CHECK_STR_CONTAINS(m, "t.yaml:4: duplicate namespace n (also defined at t.yaml:1)");
}

static void t_load_pod_ips(void)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load(
		"kind: Pod\n"
		"metadata: {name: v6first}\n"
		"status:\n"
		"  podIPs: [{ip: 'fd00::1'}, {ip: 10.0.0.1}, {ip: 10.0.0.2}, {ip: 'fd00::2'}]\n"
		"---\n"
		"kind: Pod\n"
		"metadata: {name: noip}\n"
		"status: {phase: Pending}\n"
		"---\n"
		"kind: Pod\n"
		"metadata: {name: dup}\n"
		"status: {podIP: 10.0.0.3, podIPs: [{ip: 10.0.0.3}]}\n", &err, NULL);
	const struct pw_pod *p;

	CHECK(c);
	if (!c)
		return;
	p = pw_cluster_pod(c, "default", "v6first");
	CHECK(p && p->n_ips == 2);
	CHECK(p && ip_is(p->ips[0], "fd00::1") && ip_is(p->ips[1], "10.0.0.1"));
	p = pw_cluster_pod(c, "default", "noip");
	CHECK(p && p->n_ips == 0);
	p = pw_cluster_pod(c, "default", "dup");
	CHECK(p && p->n_ips == 1);
	pw_cluster_free(c);
}

static void t_load_policy_types_defaulting(void)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load(
		"kind: NetworkPolicy\n"
		"metadata: {name: a-none}\n"
		"spec: {podSelector: {}}\n"
		"---\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: b-empty-egress}\n"
		"spec: {podSelector: {}, egress: []}\n"
		"---\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: c-egress}\n"
		"spec: {podSelector: {}, egress: [{}]}\n"
		"---\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: d-explicit-egress}\n"
		"spec: {podSelector: {}, policyTypes: [Egress], ingress: [{}]}\n"
		"---\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: e-explicit-empty}\n"
		"spec: {podSelector: {}, policyTypes: [], egress: [{}]}\n"
		"---\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: f-no-spec}\n"
		"---\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: g-both}\n"
		"spec: {policyTypes: [Ingress, Egress]}\n", &err, NULL);
	static const bool want[][2] = {
		{ 1, 0 }, { 1, 0 }, { 1, 1 }, { 0, 1 }, { 1, 1 }, { 1, 0 }, { 1, 1 },
	};

	CHECK(c);
	if (!c)
		return;
	CHECK_EQ(c->n_policies, 7);
	for (size_t i = 0; i < 7 && i < c->n_policies; i++) {
		CHECK_EQ(c->policies[i].types[0], want[i][0]);
		CHECK_EQ(c->policies[i].types[1], want[i][1]);
	}
	CHECK(!c->policies[5].pod_sel.present);   /* absent: every pod */
	pw_cluster_free(c);
}

static void t_load_policy_details(void)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load(
		"kind: NetworkPolicy\n"
		"metadata: {name: p, namespace: n}\n"
		"spec:\n"
		"  podSelector:\n"            /* null: absent */
		"  ingress:\n"
		"  -\n"                       /* a null rule: everything */
		"  - from: []\n"
		"    ports: [{}, {protocol: UDP}, {port: 53, protocol: UDP}]\n"
		"  egress:\n"
		"  - to:\n"
		"    - ipBlock: {cidr: 10.0.1.1/4}\n"     /* host bits are cleared */
		"    - ipBlock: {cidr: ' 2001:db8::1/32 ', except: ['2001:db8:1::/48']}\n"
		"    - ipBlock: {cidr: 192.168.1.1}\n"    /* a bare address: /32 */
		"    - namespaceSelector: {}\n"
		"    - podSelector: {matchLabels: {x: y}}\n", &err, NULL);
	const struct pw_policy *p;
	const struct pw_np_rule *r;

	CHECK(c);
	if (!c)
		return;
	p = &c->policies[0];
	CHECK(!p->pod_sel.present);
	CHECK(p->types[0] && p->types[1]);
	CHECK_EQ(p->n_rules[0], 2);
	CHECK_EQ(p->rules[0][0].n_peers, 0);
	CHECK_EQ(p->rules[0][0].n_ports, 0);
	r = &p->rules[0][1];
	CHECK_EQ(r->n_peers, 0);
	CHECK_EQ(r->n_ports, 3);
	CHECK(r->ports[0].proto == IPPROTO_TCP && !r->ports[0].has_port);
	CHECK(r->ports[1].proto == IPPROTO_UDP && !r->ports[1].has_port);
	CHECK(r->ports[2].proto == IPPROTO_UDP && r->ports[2].has_port && r->ports[2].port == 53);
	CHECK_EQ(r->ports[2].end_port, 0);
	r = &p->rules[1][0];
	CHECK_EQ(r->n_peers, 5);
	CHECK(cidr_is(&r->peers[0].cidr, "0.0.0.0/4"));
	CHECK(r->peers[0].cidr.is_v4);
	CHECK(cidr_is(&r->peers[1].cidr, "2001:db8::/32"));
	CHECK(!r->peers[1].cidr.is_v4);
	CHECK_EQ(r->peers[1].cidr.len, 32);
	CHECK(cidr_is(&r->peers[2].cidr, "192.168.1.1/32"));
	CHECK(r->peers[3].ns_sel.present && !r->peers[3].pod_sel.present);
	CHECK(!r->peers[4].ns_sel.present && r->peers[4].pod_sel.present);
	pw_cluster_free(c);
}

static void t_load_labels_scalars(void)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load(
		"kind: Pod\n"
		"metadata:\n"
		"  name: p\n"
		"  labels: {version: 2, empty: , quoted: '', z: last, a: first}\n", &err, NULL);

	CHECK(c);
	if (!c)
		return;
	CHECK_EQ(c->pods[0].labels.n, 5);
	CHECK(!strcmp(c->pods[0].labels.v[0].key, "a"));   /* sorted by key */
	CHECK(!strcmp(label(&c->pods[0].labels, "version"), "2"));
	CHECK(!strcmp(label(&c->pods[0].labels, "empty"), ""));
	CHECK(!strcmp(label(&c->pods[0].labels, "quoted"), ""));
	pw_cluster_free(c);
}

static void t_load_skipped_kinds_note(void)
{
	struct pw_cluster *c = pw_cluster_new();
	struct pw_error err = { { 0 } };
	const char *y =
		"kind: Deployment\n"
		"metadata: {name: d}\n"
		"---\n"
		"apiVersion: oracle.netpol/v1\n"
		"kind: Expectation\n"
		"probes: []\n"
		"---\n"
		"metadata: {name: nokind}\n";
	char *notes;
	int r;

	t_capture_begin();
	r = pw_cluster_load_buffer(c, "k.yaml", y, strlen(y), &err);
	notes = t_capture_end();
	CHECK_EQ(r, 0);
	CHECK_STR_CONTAINS(notes, "k.yaml:1: note: skipping kind Deployment\n");
	CHECK_STR_CONTAINS(notes, "k.yaml:4: note: skipping kind Expectation\n");
	CHECK_STR_CONTAINS(notes, "k.yaml:8: note: skipping an object without kind\n");
	CHECK_EQ(c->n_pods + c->n_namespaces + c->n_policies + c->n_services, 0);
	free(notes);
	pw_cluster_free(c);
}

static void t_load_json(void)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load(
		"{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n"
		" {\"kind\": \"Pod\", \"metadata\": {\"name\": \"j\", \"namespace\": \"js\","
		"  \"labels\": {\"app\": \"json\"}},\n"
		"  \"spec\": {\"containers\": [{\"name\": \"c\", \"ports\": [{\"containerPort\": 80,"
		"   \"name\": \"http\"}]}]},\n"
		"  \"status\": {\"podIP\": \"10.9.0.1\"}}]}\n", &err, NULL);
	const struct pw_pod *p;

	CHECK(c);
	if (!c)
		return;
	p = pw_cluster_pod(c, "js", "j");
	CHECK(p && p->n_ports == 1 && p->ports[0].port == 80);
	CHECK(p && ip_is(p->ips[0], "10.9.0.1"));
	pw_cluster_free(c);
}

static void t_load_directory_in_name_order(void)
{
	char path[4096];
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = pw_cluster_new();
	int r;

	snprintf(path, sizeof(path), "%s/dir", t_data_dir);
	t_capture_begin();
	r = pw_cluster_load_path(c, path, &err);
	free(t_capture_end());
	CHECK_EQ(r, 0);
	CHECK_EQ(pw_cluster_finish(c, &err), 0);
	/* .hidden.yaml, README.txt and sub/ are not read */
	CHECK_EQ(c->n_pods, 2);
	CHECK_EQ(c->n_policies, 1);
	CHECK_EQ(c->n_namespaces, 2);   /* alpha, beta (implicit) */
	CHECK(c->n_pods == 2 && strstr(c->pods[0].loc.file, "dir/02-pods.yml"));
	CHECK(c->n_policies == 1 && strstr(c->policies[0].loc.file, "dir/03-policy.json"));
	CHECK(c->n_policies == 1 && c->policies[0].types[0] && c->policies[0].types[1]);
	CHECK(c->n_policies == 1 && c->policies[0].pod_sel.present);
	pw_cluster_free(c);
}

static void t_load_directory_error_names_file(void)
{
	char path[4096];
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = pw_cluster_new();
	int r;

	snprintf(path, sizeof(path), "%s/baddir", t_data_dir);
	r = pw_cluster_load_path(c, path, &err);
	CHECK_EQ(r, -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "baddir/b.yaml:8: spec.ingress[0].ports[0].port: "
			   "port 70000 out of range 1-65535");
	pw_cluster_free(c);
}

static void t_load_missing_file(void)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = pw_cluster_new();

	CHECK_EQ(pw_cluster_load_path(c, "/nonexistent/podwall.yaml", &err), -ENOENT);
	CHECK_STR_CONTAINS(err.msg, "/nonexistent/podwall.yaml: No such file");
	pw_cluster_free(c);
}

static void t_load_buffers_accumulate(void)
{
	struct pw_cluster *c = pw_cluster_new();
	struct pw_error err = { { 0 } };
	const char *a = "kind: Pod\nmetadata: {name: z, namespace: q}\n";
	const char *b = "kind: Pod\nmetadata: {name: y, namespace: q}\n";

	CHECK_EQ(pw_cluster_load_buffer(c, "a.yaml", a, strlen(a), &err), 0);
	CHECK_EQ(pw_cluster_load_buffer(c, "b.yaml", b, strlen(b), &err), 0);
	/* before finish: lookups work on the unsorted store too */
	CHECK(pw_cluster_pod(c, "q", "z"));
	CHECK_EQ(pw_cluster_finish(c, &err), 0);
	CHECK_EQ(c->n_pods, 2);
	CHECK(!strcmp(c->pods[0].name, "y") && !strcmp(c->pods[0].loc.file, "b.yaml"));
	CHECK(pw_cluster_pod(c, "q", "z") == &c->pods[1]);
	CHECK(!pw_cluster_pod(c, "q", "x"));
	pw_cluster_free(c);
}

static void t_load_sort_order(void)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load(
		"kind: NetworkPolicy\nmetadata: {name: b, namespace: y}\n---\n"
		"kind: NetworkPolicy\nmetadata: {name: a, namespace: y}\n---\n"
		"kind: NetworkPolicy\nmetadata: {name: z, namespace: x}\n---\n"
		"kind: Pod\nmetadata: {name: a, namespace: y}\n---\n"
		"kind: Pod\nmetadata: {name: b, namespace: x}\n---\n"
		"kind: Namespace\nmetadata: {name: b}\n---\n"
		"kind: Namespace\nmetadata: {name: a}\n", &err, NULL);

	CHECK(c);
	if (!c)
		return;
	CHECK(!strcmp(c->policies[0].ns, "x") && !strcmp(c->policies[0].name, "z"));
	CHECK(!strcmp(c->policies[1].ns, "y") && !strcmp(c->policies[1].name, "a"));
	CHECK(!strcmp(c->policies[2].name, "b"));
	CHECK(!strcmp(c->pods[0].ns, "x"));
	CHECK_EQ(c->n_namespaces, 4);
	CHECK(!strcmp(c->namespaces[0].name, "a") && !strcmp(c->namespaces[3].name, "y"));
	pw_cluster_free(c);
}

static void t_load_audit_and_modes(void)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load(
		"kind: Namespace\n"
		"metadata: {name: a, annotations: {podwall.io/mode: audit, other: [1]}}\n"
		"---\n"
		"kind: Namespace\n"
		"metadata: {name: e, annotations: {podwall.io/mode: enforce}}\n", &err, NULL);

	CHECK(c);
	if (!c)
		return;
	CHECK(c->namespaces[0].audit);
	CHECK(!c->namespaces[1].audit);
	pw_cluster_free(c);
}

static void t_load_service_variants(void)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load(
		"kind: Service\n"
		"metadata: {name: headless}\n"
		"spec: {clusterIP: None, selector: {app: x}}\n"
		"---\n"
		"kind: Service\n"
		"metadata: {name: external}\n"
		"spec: {type: ExternalName, externalName: example.com}\n"
		"---\n"
		"kind: Service\n"
		"metadata: {name: v6}\n"
		"spec: {clusterIPs: ['fd00::10'], ports: [{port: 443, targetPort: https}]}\n",
		&err, NULL);

	CHECK(c);
	if (!c)
		return;
	CHECK_EQ(c->n_services, 3);
	CHECK_EQ(c->services[0].n_cluster_ips, 0);
	CHECK_EQ(c->services[1].n_cluster_ips, 0);
	CHECK_EQ(c->services[2].n_cluster_ips, 1);
	CHECK(ip_is(c->services[2].cluster_ips[0], "fd00::10"));
	pw_cluster_free(c);
}

int suite_load(void)
{
	RUN(t_load_multi_document);
	RUN(t_load_kubectl_list);
	RUN(t_load_list_kinds_and_sequences);
	RUN(t_load_implicit_namespaces);
	RUN(t_load_namespace_defined_twice);
	RUN(t_load_pod_ips);
	RUN(t_load_policy_types_defaulting);
	RUN(t_load_policy_details);
	RUN(t_load_labels_scalars);
	RUN(t_load_skipped_kinds_note);
	RUN(t_load_json);
	RUN(t_load_directory_in_name_order);
	RUN(t_load_directory_error_names_file);
	RUN(t_load_missing_file);
	RUN(t_load_buffers_accumulate);
	RUN(t_load_sort_order);
	RUN(t_load_audit_and_modes);
	RUN(t_load_service_variants);
	return check_n_fail;
}
