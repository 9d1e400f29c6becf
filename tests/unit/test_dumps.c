/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Real cluster dumps as the API server means them: which pods are
 * endpoints (finished and hostNetwork pods are not), one object per
 * (kind, namespace, name), one live pod per address.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "ops/lint.h"
#include "util.h"

static void t_dumps_finished_and_host_network_set_apart(void)
{
	struct pw_error err = { { 0 } };
	struct pw_state s;
	struct pw_cluster *c = t_compile(
		"apiVersion: v1\nkind: List\nitems:\n"
		"- {kind: Pod, metadata: {name: live, namespace: x},\n"
		"   status: {phase: Running, podIP: 10.0.0.1}}\n"
		"- {kind: Pod, metadata: {name: done, namespace: x},\n"
		"   status: {phase: Succeeded, podIP: 10.0.0.2}}\n"
		"- {kind: Pod, metadata: {name: crashed, namespace: x},\n"
		"   status: {phase: Failed, podIP: 10.0.0.3}}\n"
		"- {kind: Pod, metadata: {name: node-exporter, namespace: y},\n"
		"   spec: {hostNetwork: true, containers: [{name: c}]},\n"
		"   status: {phase: Running, podIP: 192.0.2.10}}\n"
		"- {kind: Pod, metadata: {name: pending, namespace: x}, status: {phase: Pending}}\n"
		"- {kind: Pod, metadata: {name: not-host, namespace: x},\n"
		"   spec: {hostNetwork: false}, status: {podIP: 10.0.0.5}}\n",
		NULL, &s, &err);

	CHECK(c);
	if (!c)
		return;
	CHECK_EQ(c->n_pods, 3);          /* live, not-host, pending */
	CHECK_EQ(c->n_skipped_pods, 3);
	CHECK(pw_cluster_pod(c, "x", "live"));
	CHECK(pw_cluster_pod(c, "x", "pending"));
	CHECK(!pw_cluster_pod(c, "x", "done"));
	CHECK(pw_cluster_skipped_pod(c, "x", "done") &&
	      pw_cluster_skipped_pod(c, "x", "done")->role == PW_POD_FINISHED);
	CHECK(pw_cluster_skipped_pod(c, "x", "crashed") &&
	      pw_cluster_skipped_pod(c, "x", "crashed")->role == PW_POD_FINISHED);
	CHECK(pw_cluster_skipped_pod(c, "y", "node-exporter") &&
	      pw_cluster_skipped_pod(c, "y", "node-exporter")->role == PW_POD_HOST_NETWORK);
	/* nothing of theirs is compiled: no endpoint, no address, no namespace */
	CHECK(t_ep(&s, "x", "live"));
	CHECK(!t_ep(&s, "x", "done"));
	CHECK(!t_ep(&s, "y", "node-exporter"));
	CHECK_EQ(t_ident(&s, "10.0.0.2"), PW_ID_WORLD);
	CHECK_EQ(t_ident(&s, "192.0.2.10"), PW_ID_WORLD);
	CHECK(!pw_cluster_namespace(c, "y"));
	pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_dumps_role_rule(void)
{
	CHECK_EQ(pw_pod_role_of(NULL, false), PW_POD_ENDPOINT);
	CHECK_EQ(pw_pod_role_of("Running", false), PW_POD_ENDPOINT);
	CHECK_EQ(pw_pod_role_of("Unknown", false), PW_POD_ENDPOINT);
	CHECK_EQ(pw_pod_role_of("Succeeded", false), PW_POD_FINISHED);
	CHECK_EQ(pw_pod_role_of("Failed", true), PW_POD_FINISHED);
	CHECK_EQ(pw_pod_role_of("Running", true), PW_POD_HOST_NETWORK);
}

static void t_dumps_bad_host_network(void)
{
	char m[1024];

	CHECK_EQ(t_load_err("kind: Pod\nmetadata: {name: a}\nspec:\n  hostNetwork: \"yes\"\n",
			    m, sizeof(m)), -EINVAL);
	CHECK_STR_CONTAINS(m, "t.yaml:4: spec.hostNetwork: expected true or false, got a string");
	CHECK_EQ(t_load_err("kind: Pod\nmetadata: {name: a}\nstatus:\n  phase: [Running]\n",
			    m, sizeof(m)), -EINVAL);
	CHECK_STR_CONTAINS(m, "t.yaml:4: status.phase: expected a string");
}

/* two live pods with one address: an error naming both, whatever their order */
static void t_dumps_shared_address(void)
{
	char m[1024];

	CHECK_EQ(t_load_err("kind: Pod\nmetadata: {name: b, namespace: x}\n"
			    "status: {podIPs: [{ip: 10.0.0.9}, {ip: 'fd00::9'}]}\n---\n"
			    "kind: Pod\nmetadata: {name: a, namespace: y}\n"
			    "status: {podIP: 'fd00::9'}\n", m, sizeof(m)), -EINVAL);
	CHECK_STR_CONTAINS(m, "t.yaml:5: pods y/a and x/b (t.yaml:1) both have address fd00::9: "
			   "two live pods cannot share one");
	/* a hostNetwork pod shares the node's address with every other one */
	CHECK_EQ(t_load_err("kind: Pod\nmetadata: {name: a}\nspec: {hostNetwork: true}\n"
			    "status: {podIP: 192.0.2.1}\n---\n"
			    "kind: Pod\nmetadata: {name: b}\nspec: {hostNetwork: true}\n"
			    "status: {podIP: 192.0.2.1}\n", m, sizeof(m)), 0);
}

/*
 * A terminating pod (deletionTimestamp) yields its address to a pod that is
 * not terminating: whatever the order, the new pod is the endpoint, the old
 * one is set apart naming the new one; two terminating pods stay an error.
 */
#define OLD_POD "kind: Pod\nmetadata: {name: old, namespace: x, labels: {app: old},\n" \
		"  deletionTimestamp: '2026-12-07T08:00:00Z'}\n" \
		"status: {phase: Running, podIPs: [{ip: 10.0.0.9}, {ip: 'fd00::9'}]}\n"
#define NEW_POD "kind: Pod\nmetadata: {name: new, namespace: y, labels: {app: new}}\n" \
		"status: {phase: Pending, podIP: 'fd00::9'}\n"

static void t_dumps_terminating_yields(void)
{
	const char *orders[] = { OLD_POD "---\n" NEW_POD, NEW_POD "---\n" OLD_POD };

	for (size_t o = 0; o < 2; o++) {
		struct pw_error err = { { 0 } };
		struct pw_state s;
		struct pw_cluster *c = t_compile(orders[o], NULL, &s, &err);
		const struct pw_pod *old;
		char msg[1024];

		CHECK(c);
		if (!c) {
			fprintf(stderr, "  %s\n", err.msg);
			continue;
		}
		CHECK(pw_cluster_pod(c, "y", "new"));
		CHECK(!pw_cluster_pod(c, "x", "old"));
		old = pw_cluster_skipped_pod(c, "x", "old");
		CHECK(old && old->role == PW_POD_REPLACED && old->terminating);
		if (old) {
			pw_pod_replaced_text(old, msg, sizeof(msg));
			CHECK_STR_CONTAINS(msg, o ? "pod x/old (t.yaml:5) is terminating and pod "
						    "y/new (t.yaml:1) has its address fd00::9"
						  : "pod x/old (t.yaml:1) is terminating and pod "
						    "y/new (t.yaml:6) has its address fd00::9");
			CHECK_STR_CONTAINS(msg, "y/new is the endpoint there");
		}
		/* the address is the new pod's; the old pod's other one is no one's */
		CHECK(t_ep(&s, "y", "new"));
		CHECK(!t_ep(&s, "x", "old"));
		CHECK(t_ident(&s, "fd00::9") != PW_ID_WORLD);
		CHECK_EQ(t_ident(&s, "10.0.0.9"), PW_ID_WORLD);
		pw_state_free(&s);
		pw_cluster_free(c);
	}
}

/* the CNI source's way: the objects finished, then its pending stand-ins
 * loaded into the same cluster and finished again (source.c) */
static void t_dumps_terminating_yields_to_pending(void)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = pw_cluster_new();
	const char *pending = "kind: Pod\nmetadata: {name: p, namespace: podwall-pending}\n"
			      "status: {podIPs: [{ip: 10.0.0.9}]}\n";
	const struct pw_pod *old;

	CHECK(c);
	if (!c)
		return;
	CHECK_EQ(pw_cluster_load_buffer(c, "api", OLD_POD, strlen(OLD_POD), &err), 0);
	CHECK_EQ(pw_cluster_finish(c, &err), 0);
	CHECK(pw_cluster_pod(c, "x", "old"));
	CHECK_EQ(pw_cluster_load_buffer(c, "pending", pending, strlen(pending), &err), 0);
	CHECK_EQ(pw_cluster_finish(c, &err), 0);
	old = pw_cluster_skipped_pod(c, "x", "old");
	CHECK(old && old->role == PW_POD_REPLACED && !strcmp(old->replaced_by.name, "p"));
	CHECK(pw_cluster_pod(c, "podwall-pending", "p"));
	pw_cluster_free(c);
}

static void t_dumps_terminating_alone_or_twice(void)
{
	struct pw_error err = { { 0 } };
	struct pw_state s;
	char m[1024];
	/* terminating and alone on its address: still an endpoint (its grace period) */
	struct pw_cluster *c = t_compile(OLD_POD, NULL, &s, &err);

	CHECK(c && pw_cluster_pod(c, "x", "old") && pw_cluster_pod(c, "x", "old")->terminating);
	CHECK(c && !c->n_skipped_pods);
	CHECK(t_ep(&s, "x", "old"));
	pw_state_free(&s);
	pw_cluster_free(c);
	/* both terminating: nothing tells which sandbox is real */
	CHECK_EQ(t_load_err(OLD_POD "---\nkind: Pod\nmetadata: {name: older, namespace: x,\n"
			    "  deletionTimestamp: '2026-12-07T07:00:00Z'}\n"
			    "status: {podIP: 10.0.0.9}\n", m, sizeof(m)), -EINVAL);
	CHECK_STR_CONTAINS(m, "t.yaml:6: pods x/older and x/old (t.yaml:1) both have address "
			   "10.0.0.9: two terminating pods cannot share one");
	CHECK_EQ(t_load_err("kind: Pod\nmetadata: {name: a, deletionTimestamp: [now]}\n", m,
			    sizeof(m)), -EINVAL);
	CHECK_STR_CONTAINS(m, "metadata.deletionTimestamp: expected a string");
}

static void t_dumps_duplicate_objects(void)
{
	char m[1024];

	CHECK_EQ(t_load_err("kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n"
			    "metadata: {name: p, namespace: n}\nspec: {podSelector: {}}\n---\n"
			    "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n"
			    "metadata: {name: p, namespace: n}\nspec: {podSelector: {}}\n",
			    m, sizeof(m)), -EINVAL);
	CHECK_STR_CONTAINS(m, "t.yaml:6: duplicate networkpolicy n/p (also defined at t.yaml:1)");
	/* a pod that finished and a live pod of one name: still one object twice */
	CHECK_EQ(t_load_err("kind: Pod\nmetadata: {name: p}\nstatus: {phase: Failed}\n---\n"
			    "kind: Pod\nmetadata: {name: p}\n", m, sizeof(m)), -EINVAL);
	CHECK_STR_CONTAINS(m, "t.yaml:5: duplicate pod default/p (also defined at t.yaml:1)");
	/* the same name in two namespaces, or of two kinds, is two objects */
	CHECK_EQ(t_load_err("kind: Pod\nmetadata: {name: p, namespace: a}\n---\n"
			    "kind: Pod\nmetadata: {name: p, namespace: b}\n---\n"
			    "kind: Service\nmetadata: {name: p, namespace: a}\n", m, sizeof(m)), 0);
}

#define NP_HEAD "kind: NetworkPolicy\n"                           /* 1 */ \
		"apiVersion: networking.k8s.io/v1\n"              /* 2 */ \
		"metadata: {name: p, namespace: n}\n"             /* 3 */

#define STRICT_CASE(fn, body, want) ERR_CASE(fn, NP_HEAD body, want)

/* an unknown field anywhere inside a NetworkPolicy: file, line, path */
STRICT_CASE(t_strict_match_label,
	    "spec:\n  podSelector:\n    matchLabel: {app: a}\n",
	    "t.yaml:6: spec.podSelector.matchLabel: unknown field \"matchLabel\" "
	    "(did you mean \"matchLabels\"?)")
STRICT_CASE(t_strict_ingres,
	    "spec:\n  podSelector: {}\n  ingres:\n  - {}\n",
	    "t.yaml:6: spec.ingres: unknown field \"ingres\" (did you mean \"ingress\"?)")
STRICT_CASE(t_strict_port_for_ports,
	    "spec:\n  podSelector: {}\n  ingress:\n  - from: []\n    port:\n    - port: 80\n",
	    "t.yaml:8: spec.ingress[0].port: unknown field \"port\" (did you mean \"ports\"?)")
STRICT_CASE(t_strict_deep,
	    "spec:\n  podSelector: {}\n  egress:\n  - to:\n    - ipBlock: {cidr: 10.0.0.0/8, excpet: []}\n",
	    "t.yaml:8: spec.egress[0].to[0].ipBlock.excpet: unknown field \"excpet\"")
STRICT_CASE(t_strict_expression,
	    "spec:\n  podSelector:\n    matchExpressions:\n    - {key: a, operator: Exists, value: []}\n",
	    "t.yaml:7: spec.podSelector.matchExpressions[0].value: unknown field \"value\" "
	    "(did you mean \"values\"?)")
STRICT_CASE(t_strict_top_level,
	    "spec: {podSelector: {}}\nspecs: {}\n",
	    "t.yaml:5: specs: unknown field \"specs\" (did you mean \"spec\"?)")
static void t_strict_metadata(void)
{
	char m[1024];

	CHECK_EQ(t_load_err("kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n"
			    "metadata: {name: p, namespace: n, lables: {a: b}}\n"
			    "spec: {podSelector: {}}\n", m, sizeof(m)), -EINVAL);
	CHECK_STR_CONTAINS(m, "t.yaml:3: metadata.lables: unknown field \"lables\" "
			   "(did you mean \"labels\"?)");
}

/* What a real dump carries loads: every ObjectMeta field, status, and any
 * field at all in Pods, Namespaces and Services (only what podwall reads is
 * checked there). */
static void t_strict_real_dump_loads(void)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load(
		"apiVersion: v1\nkind: List\nmetadata: {resourceVersion: \"\"}\nitems:\n"
		"- apiVersion: networking.k8s.io/v1\n  kind: NetworkPolicy\n"
		"  metadata:\n    name: p\n    namespace: n\n    uid: 1b4e\n"
		"    resourceVersion: \"42\"\n    generation: 1\n"
		"    creationTimestamp: \"2026-01-01T00:00:00Z\"\n"
		"    annotations: {kubectl.kubernetes.io/last-applied-configuration: \"{}\"}\n"
		"    managedFields: [{manager: kubectl, operation: Update}]\n"
		"  spec: {podSelector: {}, policyTypes: [Ingress]}\n  status: {}\n"
		"- apiVersion: v1\n  kind: Pod\n"
		"  metadata: {name: a, namespace: n, uid: x, ownerReferences: [{kind: ReplicaSet}]}\n"
		"  spec:\n    nodeName: n1\n    dnsPolicy: ClusterFirst\n"
		"    containers: [{name: c, image: i, ports: [{containerPort: 80, hostPort: 80}]}]\n"
		"  status: {phase: Running, hostIP: 192.0.2.1, podIP: 10.0.0.1, qosClass: BestEffort}\n"
		"- apiVersion: v1\n  kind: Service\n"
		"  metadata: {name: s, namespace: n}\n"
		"  spec: {type: ClusterIP, sessionAffinity: None, ipFamilies: [IPv4],\n"
		"         clusterIP: 10.96.0.1, ports: [{name: h, port: 80, targetPort: 80}]}\n"
		"  status: {loadBalancer: {}}\n"
		"- apiVersion: v1\n  kind: Namespace\n"
		"  metadata: {name: n}\n  spec: {finalizers: [kubernetes]}\n"
		"  status: {phase: Active}\n", &err, NULL);

	CHECK(c);
	if (!c) {
		fprintf(stderr, "%s\n", err.msg);
		return;
	}
	CHECK_EQ(c->n_policies, 1);
	CHECK_EQ(c->n_pods, 1);
	CHECK_EQ(c->n_services, 1);
	pw_cluster_free(c);
}

/* names as the API server validates them */
static void t_dumps_names(void)
{
	static const struct { const char *yaml, *want; } bad[] = {
		{ "kind: Namespace\nmetadata: {name: Prod}\n",
		  "t.yaml:2: metadata.name: invalid name \"Prod\": must be a DNS-1123 label" },
		{ "kind: Namespace\nmetadata: {name: a.b}\n",
		  "t.yaml:2: metadata.name: invalid name \"a.b\": must be a DNS-1123 label" },
		{ "kind: Pod\nmetadata: {name: a, namespace: my_ns}\n",
		  "t.yaml:2: metadata.namespace: invalid name \"my_ns\": must be a DNS-1123 label" },
		{ "kind: Pod\nmetadata: {name: web_1}\n",
		  "t.yaml:2: metadata.name: invalid name \"web_1\": must be a DNS-1123 subdomain" },
		{ "kind: Pod\nmetadata: {name: -a}\n",
		  "t.yaml:2: metadata.name: invalid name \"-a\": must be a DNS-1123 subdomain" },
		{ "kind: Service\nmetadata: {name: 1svc}\n",
		  "t.yaml:2: metadata.name: invalid name \"1svc\": must be a DNS-1035 label" },
		{ "kind: Service\nmetadata: {name: a.b}\n",
		  "t.yaml:2: metadata.name: invalid name \"a.b\": must be a DNS-1035 label" },
		{ "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n"
		  "metadata: {name: Allow}\nspec: {podSelector: {}}\n",
		  "t.yaml:3: metadata.name: invalid name \"Allow\": must be a DNS-1123 subdomain" },
	};
	char m[1024];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(t_load_err(bad[i].yaml, m, sizeof(m)), -EINVAL);
		CHECK_STR_CONTAINS(m, bad[i].want);
	}
	/* dotted pod and policy names are subdomains; 63-character labels */
	CHECK_EQ(t_load_err("kind: Pod\nmetadata: {name: web.v1-2, namespace: a-1}\n---\n"
			    "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n"
			    "metadata: {name: allow.dns, namespace: a-1}\nspec: {podSelector: {}}\n"
			    "---\nkind: Namespace\nmetadata: {name: "
			    "n23456789012345678901234567890123456789012345678901234567890123}\n",
			    m, sizeof(m)), 0);
	CHECK_EQ(t_load_err("kind: Namespace\nmetadata: {name: "
			    "n234567890123456789012345678901234567890123456789012345678901234}\n",
			    m, sizeof(m)), -EINVAL);
}

static size_t lint_count(const char *yaml, enum pw_lint_rule rule, size_t *total)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load(yaml, &err, NULL);
	struct pw_lint_finding *v = NULL;
	size_t n = 0, k = 0;

	*total = 0;
	if (!c || pw_lint(c, NULL, &v, &n, &err)) {
		pw_cluster_free(c);
		return 9999;
	}
	for (size_t i = 0; i < n; i++)
		k += v[i].rule == rule;
	*total = n;
	free(v);
	pw_cluster_free(c);
	return k;
}

#define LINT_POD "kind: Pod\nmetadata: {name: a, namespace: app, labels: {x: y}}\n" \
		 "status: {podIP: 10.0.0.1}\n---\n"
#define LINT_DENY "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n" \
		  "metadata: {name: deny, namespace: app}\n" \
		  "spec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n---\n"
#define LINT_DNS(peers) "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n" \
	"metadata: {name: dns, namespace: app}\n" \
	"spec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to:\n" peers \
	"    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]\n"

/* Without DNS pods in the input, the conventional DNS rule is one */
static void t_lint_dns_rule_without_dns_pods(void)
{
	size_t n;

	CHECK_EQ(lint_count(LINT_POD LINT_DENY LINT_DNS(
		"    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}\n"
		"      podSelector: {matchLabels: {k8s-app: kube-dns}}\n"),
		PW_LINT_EGRESS_NO_DNS, &n), 0);
	CHECK_EQ(n, 0);
	/* every namespace's DNS pods, or the cluster DNS by its namespace alone */
	CHECK_EQ(lint_count(LINT_POD LINT_DENY LINT_DNS(
		"    - namespaceSelector: {}\n      podSelector: {matchLabels: {k8s-app: kube-dns}}\n"),
		PW_LINT_EGRESS_NO_DNS, &n), 0);
	CHECK_EQ(lint_count(LINT_POD LINT_DENY LINT_DNS(
		"    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}\n"),
		PW_LINT_EGRESS_NO_DNS, &n), 0);
	/* a podSelector alone is the policy's own namespace: no DNS there */
	CHECK_EQ(lint_count(LINT_POD LINT_DENY LINT_DNS(
		"    - podSelector: {matchLabels: {k8s-app: kube-dns}}\n"),
		PW_LINT_EGRESS_NO_DNS, &n), 1);
	/* another namespace than the DNS's */
	CHECK_EQ(lint_count(LINT_POD LINT_DENY LINT_DNS(
		"    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: dns}}\n"
		"      podSelector: {matchLabels: {k8s-app: kube-dns}}\n"),
		PW_LINT_EGRESS_NO_DNS, &n), 1);
	/* no rule at all */
	CHECK_EQ(lint_count(LINT_POD LINT_DENY, PW_LINT_EGRESS_NO_DNS, &n), 1);
}

static void t_lint_policy_types(void)
{
	size_t n;

	CHECK_EQ(lint_count("kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n"
			    "metadata: {name: p, namespace: app}\n"
			    "spec:\n  podSelector: {}\n  policyTypes: [Ingress]\n"
			    "  egress: [{to: [{podSelector: {}}]}]\n",
			    PW_LINT_TYPES_IGNORE_RULES, &n), 1);
	CHECK_EQ(lint_count("kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n"
			    "metadata: {name: p, namespace: app}\n"
			    "spec:\n  podSelector: {}\n"
			    "  egress: [{to: [{podSelector: {}}]}]\n",
			    PW_LINT_EGRESS_ONLY_CUTS_INGRESS, &n), 1);
	/* said so: no finding */
	CHECK_EQ(lint_count("kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n"
			    "metadata: {name: p, namespace: app}\n"
			    "spec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n"
			    "  egress: [{to: [{podSelector: {}}]}]\n",
			    PW_LINT_EGRESS_ONLY_CUTS_INGRESS, &n), 0);
	CHECK_EQ(n, 0);
}

static void t_lint_named_port_and_empty_peers(void)
{
	size_t n;
	const char *pods =
		"kind: Namespace\nmetadata: {name: app}\n---\n"
		"kind: Pod\nmetadata: {name: a, namespace: app, labels: {x: y}}\n"
		"spec: {containers: [{name: c, ports: [{name: http, containerPort: 80}]}]}\n"
		"status: {podIP: 10.0.0.1}\n---\n";
	char y[2048];

	snprintf(y, sizeof(y), "%skind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n"
		 "metadata: {name: p, namespace: app}\nspec:\n  podSelector: {}\n"
		 "  ingress: [{ports: [{port: htp}]}, {ports: [{port: http}]},\n"
		 "            {ports: [{port: http, protocol: UDP}]}]\n", pods);
	CHECK_EQ(lint_count(y, PW_LINT_NAMED_PORT_UNDEFINED, &n), 2);
	snprintf(y, sizeof(y), "%skind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n"
		 "metadata: {name: p, namespace: app}\nspec:\n  podSelector: {}\n"
		 "  ingress:\n  - from:\n    - podSelector: {matchLabels: {x: z}}\n"
		 "    - podSelector: {matchLabels: {x: y}}\n"
		 "    - namespaceSelector: {matchLabels: {team: none}}\n"
		 "    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: default}}\n"
		 "    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}\n"
		 "      podSelector: {matchLabels: {k8s-app: kube-dns}}\n", pods);
	CHECK_EQ(lint_count(y, PW_LINT_PEER_SELECTS_NOTHING, &n), 2);
}

int suite_dumps(void)
{
	RUN(t_lint_dns_rule_without_dns_pods);
	RUN(t_lint_policy_types);
	RUN(t_lint_named_port_and_empty_peers);
	RUN(t_dumps_names);
	RUN(t_strict_match_label);
	RUN(t_strict_ingres);
	RUN(t_strict_port_for_ports);
	RUN(t_strict_deep);
	RUN(t_strict_expression);
	RUN(t_strict_top_level);
	RUN(t_strict_metadata);
	RUN(t_strict_real_dump_loads);
	RUN(t_dumps_role_rule);
	RUN(t_dumps_finished_and_host_network_set_apart);
	RUN(t_dumps_bad_host_network);
	RUN(t_dumps_shared_address);
	RUN(t_dumps_terminating_yields);
	RUN(t_dumps_terminating_yields_to_pending);
	RUN(t_dumps_terminating_alone_or_twice);
	RUN(t_dumps_duplicate_objects);
	return check_n_fail;
}
