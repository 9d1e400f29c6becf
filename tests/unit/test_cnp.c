/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ClusterNetworkPolicy and Node: loading with the CRD's validation (every
 * refusal names file, line and field), and the compiler's resolution of
 * tiers (Admin by priority, rules in order, Pass; NetworkPolicy; Baseline;
 * allow), judged with the datapath's lookups over the compiled state.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "check.h"
#include "ops/lint.h"
#include "ops/loaded.h"
#include "ops/statefile.h"
#include "util.h"

#define CNP(tier, prio) "apiVersion: policy.networking.k8s.io/v1alpha2\n"  /* 1 */ \
	"kind: ClusterNetworkPolicy\n"                                     /* 2 */ \
	"metadata: {name: c}\n"                                            /* 3 */ \
	"spec:\n"                                                          /* 4 */ \
	"  tier: " tier "\n"                                               /* 5 */ \
	"  priority: " prio "\n"                                           /* 6 */ \
	"  subject: {namespaces: {}}\n"                                    /* 7 */

/* ------------------------------------------------------------- loading */
static void t_cnp_load_fields(void)
{
	struct pw_error err;
	int ret = 0;
	struct pw_cluster *c = t_load(
		CNP("Admin", "10")
		"  egress:\n"
		"  - name: dns\n"
		"    action: Accept\n"
		"    to:\n"
		"    - domainNames: [\"*.Example.com.\", kubernetes.io]\n"
		"    - networks: [10.0.0.0/8, \"fd00::/8\"]\n"
		"    - nodes: {matchLabels: {role: infra}}\n"
		"    protocols:\n"
		"    - udp: {destinationPort: {number: 53}}\n"
		"    - tcp: {destinationPort: {range: {start: 8000, end: 8080}}}\n"
		"  ingress:\n"
		"  - action: Pass\n"
		"    from:\n"
		"    - pods: {podSelector: {matchLabels: {app: web}}}\n"
		"    protocols: [{destinationNamedPort: http}]\n"
		"---\n"
		"apiVersion: v1\n"
		"kind: Node\n"
		"metadata: {name: n1, labels: {role: infra}}\n"
		"status:\n"
		"  addresses:\n"
		"  - {type: Hostname, address: n1}\n"
		"  - {type: InternalIP, address: 10.1.2.3}\n"
		"  - {type: InternalIP, address: \"fd00::3\"}\n",
		&err, &ret);
	const struct pw_cnp *p;

	CHECK(c != NULL);
	if (!c) {
		fprintf(stderr, "%s\n", err.msg);
		return;
	}
	CHECK_EQ(c->n_cnps, 1);
	CHECK_EQ(c->n_nodes, 1);
	CHECK_EQ(c->nodes[0].n_addrs, 2);
	p = &c->cnps[0];
	CHECK_EQ(p->tier, PW_TIER_ADMIN);
	CHECK_EQ(p->priority, 10);
	CHECK(!p->subject_pods && p->ns_sel.present);
	CHECK_EQ(p->n_rules[1], 1);
	CHECK_EQ(p->rules[1][0].n_peers, 3);
	CHECK_EQ(p->rules[1][0].peers[0].kind, PW_CNP_DOMAINS);
	CHECK(!strcmp(p->rules[1][0].peers[0].domains[0], "*.example.com"));
	CHECK_EQ(p->rules[1][0].peers[1].n_cidrs, 2);
	CHECK_EQ(p->rules[1][0].peers[2].kind, PW_CNP_NODES);
	CHECK_EQ(p->rules[1][0].ports[1].port, 8000);
	CHECK_EQ(p->rules[1][0].ports[1].end_port, 8080);
	CHECK_EQ(p->rules[0][0].action, PW_ACT_PASS);
	CHECK(p->rules[0][0].peers[0].ns_sel.present);  /* absent: every namespace */
	CHECK(!strcmp(p->rules[0][0].ports[0].named, "http"));
	CHECK_EQ(p->rules[0][0].ports[0].proto, 0);
	pw_cluster_free(c);
}

ERR_CASE(t_cnp_err_tier, CNP("Middle", "1"),
	 "t.yaml:5: spec.tier: invalid tier \"Middle\" (Admin or Baseline)")
ERR_CASE(t_cnp_err_priority, CNP("Admin", "1001"),
	 "t.yaml:6: spec.priority:")
ERR_CASE(t_cnp_err_priority_missing,
	 "kind: ClusterNetworkPolicy\nmetadata: {name: c}\nspec:\n  tier: Admin\n"
	 "  subject: {namespaces: {}}\n",
	 "t.yaml:4: spec.priority: missing")
ERR_CASE(t_cnp_err_subject_two,
	 "kind: ClusterNetworkPolicy\nmetadata: {name: c}\nspec:\n  tier: Admin\n  priority: 1\n"
	 "  subject: {namespaces: {}, pods: {podSelector: {}}}\n",
	 "t.yaml:6: spec.subject: exactly one of namespaces or pods must be set")
ERR_CASE(t_cnp_err_action,
	 CNP("Admin", "1") "  ingress:\n  - action: Allow\n    from: [{namespaces: {}}]\n",
	 "t.yaml:9: spec.ingress[0].action: invalid action \"Allow\" (Accept, Deny or Pass)")
ERR_CASE(t_cnp_err_from_empty,
	 CNP("Admin", "1") "  ingress:\n  - action: Deny\n    from: []\n",
	 "spec.ingress[0].from: must have at least 1 item")
ERR_CASE(t_cnp_err_ingress_networks,
	 CNP("Admin", "1") "  ingress:\n  - action: Deny\n    from: [{networks: [10.0.0.0/8]}]\n",
	 "t.yaml:10: spec.ingress[0].from[0].networks: unknown field \"networks\" (known here: namespaces, pods)")
/* strict, as for NetworkPolicy: a misspelled field is an error, never skipped */
ERR_CASE(t_cnp_err_unknown_spec_field,
	 CNP("Admin", "1") "  prority: 2\n",
	 "t.yaml:8: spec.prority: unknown field \"prority\" (did you mean \"priority\"?)")
ERR_CASE(t_cnp_err_unknown_rule_field,
	 CNP("Admin", "1") "  ingress:\n  - action: Deny\n    from: [{namespaces: {}}]\n"
	 "    protocol: [{tcp: {destinationPort: {number: 80}}}]\n",
	 "t.yaml:11: spec.ingress[0].protocol: unknown field \"protocol\" (did you mean \"protocols\"?)")
ERR_CASE(t_cnp_err_unknown_selector_field,
	 CNP("Admin", "1") "  egress:\n  - action: Deny\n    to: [{namespaces: {matchLabel: {a: b}}}]\n",
	 "spec.egress[0].to[0].namespaces.matchLabel: unknown field \"matchLabel\" (did you mean \"matchLabels\"?)")
ERR_CASE(t_cnp_err_unknown_top_field,
	 CNP("Admin", "1") "specs: {}\n",
	 "t.yaml:8: specs: unknown field \"specs\" (did you mean \"spec\"?)")
ERR_CASE(t_cnp_err_domain_deny,
	 CNP("Admin", "1") "  egress:\n  - action: Deny\n    to: [{domainNames: [example.com]}]\n",
	 "spec.egress[0].to[0]: domainNames peers are only allowed in Accept rules")
ERR_CASE(t_cnp_err_domain_pattern,
	 CNP("Admin", "1") "  egress:\n  - action: Accept\n    to: [{domainNames: [\"a.*.com\"]}]\n",
	 "spec.egress[0].to[0].domainNames[0]: invalid domain name \"a.*.com\"")
ERR_CASE(t_cnp_err_domain_one_label,
	 CNP("Admin", "1") "  egress:\n  - action: Accept\n    to: [{domainNames: [localhost]}]\n",
	 "invalid domain name \"localhost\"")
ERR_CASE(t_cnp_err_protocol_two,
	 CNP("Admin", "1") "  ingress:\n  - action: Deny\n    from: [{namespaces: {}}]\n"
	 "    protocols: [{tcp: {destinationPort: {number: 80}}, udp: {destinationPort: {number: 53}}}]\n",
	 "t.yaml:11: spec.ingress[0].protocols[0]: exactly one of tcp, udp, sctp or destinationNamedPort")
ERR_CASE(t_cnp_err_port_missing,
	 CNP("Admin", "1") "  ingress:\n  - action: Deny\n    from: [{namespaces: {}}]\n"
	 "    protocols: [{tcp: {}}]\n",
	 "t.yaml:11: spec.ingress[0].protocols[0].tcp.destinationPort: missing")
ERR_CASE(t_cnp_err_range_order,
	 CNP("Admin", "1") "  ingress:\n  - action: Deny\n    from: [{namespaces: {}}]\n"
	 "    protocols: [{sctp: {destinationPort: {range: {start: 90, end: 90}}}}]\n",
	 "spec.ingress[0].protocols[0].sctp.destinationPort.range: Start port must be less than End port")
ERR_CASE(t_cnp_err_named_with_networks,
	 CNP("Admin", "1") "  egress:\n  - action: Deny\n    to: [{networks: [10.0.0.0/8]}]\n"
	 "    protocols: [{destinationNamedPort: web}]\n",
	 "t.yaml:11: spec.egress[0].protocols[0]: networks/nodes/domainNames peer cannot be set with namedPorts")
ERR_CASE(t_cnp_err_cidr,
	 CNP("Admin", "1") "  egress:\n  - action: Deny\n    to: [{networks: [10.0.0.0/33]}]\n",
	 "spec.egress[0].to[0].networks[0]: invalid CIDR \"10.0.0.0/33\"")
ERR_CASE(t_cnp_err_rule_name_long,
	 CNP("Admin", "1") "  egress:\n  - action: Deny\n    name: "
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	 "    to: [{networks: [10.0.0.0/8]}]\n",
	 "spec.egress[0].name: longer than 100 characters")
ERR_CASE(t_cnp_err_too_many_rules,
	 CNP("Admin", "1") "  egress: [&r {action: Deny, to: [{networks: [10.0.0.0/8]}]}"
	 ", *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r"
	 ", *r, *r, *r, *r, *r]\n",
	 "t.yaml:8: spec.egress: must have at most 25 items")
ERR_CASE(t_cnp_err_duplicate,
	 CNP("Admin", "1") "---\n" CNP("Baseline", "2"),
	 "t.yaml:9: duplicate clusternetworkpolicy c (also defined at t.yaml:1)")
ERR_CASE(t_cnp_err_api_version,
	 "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: ClusterNetworkPolicy\n"
	 "metadata: {name: c}\nspec: {tier: Admin, priority: 1, subject: {namespaces: {}}}\n",
	 "t.yaml:1: apiVersion: unsupported ClusterNetworkPolicy apiVersion")
ERR_CASE(t_cnp_err_node_address,
	 "kind: Node\nmetadata: {name: n}\nstatus:\n  addresses: [{type: InternalIP, address: x.y}]\n",
	 "t.yaml:4: status.addresses[0]: bad IP address \"x.y\"")

/* ----------------------------------------------------------- compiling */
/* namespaces a, b, c; pods a/p (web 80/TCP named http), b/q, c/r */
#define PODS \
	"kind: Namespace\nmetadata: {name: a, labels: {team: a}}\n---\n"              \
	"kind: Namespace\nmetadata: {name: b, labels: {team: b}}\n---\n"              \
	"kind: Namespace\nmetadata: {name: c, labels: {team: c}}\n---\n"              \
	"kind: Pod\nmetadata: {name: p, namespace: a, labels: {app: p}}\n"             \
	"spec: {containers: [{name: x, ports: [{containerPort: 8080, name: http}]}]}\n"  \
	"status: {podIP: 198.18.0.1}\n---\n"                                         \
	"kind: Pod\nmetadata: {name: q, namespace: b, labels: {app: q}}\n"             \
	"status: {podIP: 198.18.0.2}\n---\n"                                         \
	"kind: Pod\nmetadata: {name: r, namespace: c, labels: {app: r}}\n"             \
	"status: {podIP: 198.18.0.3}\n"

/* A ClusterNetworkPolicy selecting namespace a with one ingress rule. */
#define IN_RULE(name, tier, prio, action, from, protos)                        \
	"---\nkind: ClusterNetworkPolicy\nmetadata: {name: " name "}\n"          \
	"spec:\n  tier: " tier "\n  priority: " prio "\n"                         \
	"  subject: {namespaces: {matchLabels: {team: a}}}\n"                     \
	"  ingress:\n  - {name: r, action: " action ", from: [" from "]" protos "}\n"

#define FROM_B "{namespaces: {matchLabels: {team: b}}}"
#define FROM_ALL "{namespaces: {}}"
#define TCP80 ", protocols: [{tcp: {destinationPort: {number: 80}}}]"

static struct pw_cluster *compile(const char *y, struct pw_state *s)
{
	struct pw_error err;
	struct pw_cluster *c = t_compile(y, NULL, s, &err);

	if (!c)
		fprintf(stderr, "compile: %s\n", err.msg);
	return c;
}

#define ALLOWED(s, from, port) t_allowed(s, from, "a/p", port, IPPROTO_TCP)

static void t_cnp_admin_deny_and_default(void)
{
	struct pw_state s;
	struct pw_cluster *c = compile(PODS IN_RULE("x", "Admin", "10", "Deny", FROM_B, TCP80), &s);

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(!ALLOWED(&s, "b/q", 80));
	CHECK(ALLOWED(&s, "b/q", 81));      /* no rule: not isolated, allow */
	CHECK(ALLOWED(&s, "c/r", 80));
	CHECK(!(t_ep(&s, "a", "p")->flags & PW_EP_ISOLATED_INGRESS)); /* never isolates */
	CHECK(t_ep(&s, "a", "p")->flags & PW_EP_TIERED_INGRESS);
	pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_cnp_priority_order(void)
{
	struct pw_state s;
	/* lower priority first: the Accept at 5 wins over the Deny at 10 */
	struct pw_cluster *c = compile(PODS IN_RULE("x", "Admin", "10", "Deny", FROM_ALL, "")
				       IN_RULE("y", "Admin", "5", "Accept", FROM_B, TCP80), &s);

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(ALLOWED(&s, "b/q", 80));
	CHECK(!ALLOWED(&s, "b/q", 81));
	CHECK(!ALLOWED(&s, "c/r", 80));
	pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_cnp_tie_by_name(void)
{
	struct pw_state s;
	/* equal priorities: by name (documented choice), "m" before "z" */
	struct pw_cluster *c = compile(PODS IN_RULE("z", "Admin", "7", "Deny", FROM_B, "")
				       IN_RULE("m", "Admin", "7", "Accept", FROM_B, TCP80), &s);

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(ALLOWED(&s, "b/q", 80));
	CHECK(!ALLOWED(&s, "b/q", 22));
	pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_cnp_pass_to_netpol_and_baseline(void)
{
	struct pw_state s;
	/* Admin: Pass from b on 80, then Deny everything from b. NetworkPolicy
	 * in a allows from c only. Baseline would Accept b: never reached
	 * while a NetworkPolicy isolates the pod. */
	const char *np = "---\nkind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n"
			 "metadata: {name: n, namespace: a}\n"
			 "spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: "
			 "{matchLabels: {team: c}}}]}]}\n";
	char y[8192];
	struct pw_cluster *c;

	snprintf(y, sizeof(y), "%s%s%s%s%s", PODS,
		 IN_RULE("x", "Admin", "1", "Pass", FROM_B, TCP80),
		 IN_RULE("y", "Admin", "2", "Deny", FROM_B, ""),
		 IN_RULE("z", "Baseline", "1", "Accept", FROM_B, ""), np);
	c = compile(y, &s);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(!ALLOWED(&s, "b/q", 80));  /* passed to NetworkPolicy: not from c */
	CHECK(!ALLOWED(&s, "b/q", 81));  /* Admin Deny */
	CHECK(ALLOWED(&s, "c/r", 80));   /* NetworkPolicy */
	pw_state_free(&s);
	pw_cluster_free(c);

	/* without the NetworkPolicy, the Pass goes on to Baseline */
	snprintf(y, sizeof(y), "%s%s%s%s", PODS,
		 IN_RULE("x", "Admin", "1", "Pass", FROM_B, TCP80),
		 IN_RULE("y", "Admin", "2", "Deny", FROM_ALL, ""),
		 IN_RULE("z", "Baseline", "1", "Deny", FROM_B, TCP80));
	c = compile(y, &s);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(!ALLOWED(&s, "b/q", 80));  /* Pass, then Baseline Deny */
	CHECK(!ALLOWED(&s, "b/q", 81));
	CHECK(!ALLOWED(&s, "c/r", 80));
	pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_cnp_named_port_and_range(void)
{
	struct pw_state s;
	struct pw_cluster *c = compile(PODS
		IN_RULE("x", "Admin", "1", "Deny", FROM_B, ", protocols: [{destinationNamedPort: http}]")
		IN_RULE("y", "Baseline", "1", "Deny", FROM_ALL,
			", protocols: [{tcp: {destinationPort: {range: {start: 100, end: 200}}}}]"), &s);

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(!ALLOWED(&s, "b/q", 8080)); /* http = 8080/TCP on a/p */
	CHECK(ALLOWED(&s, "b/q", 80));
	CHECK(!ALLOWED(&s, "c/r", 100));
	CHECK(!ALLOWED(&s, "c/r", 200));
	CHECK(ALLOWED(&s, "c/r", 201));
	CHECK(ALLOWED(&s, "c/r", 99));
	pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_cnp_rule_description(void)
{
	struct pw_state s;
	struct pw_cluster *c = compile(PODS IN_RULE("guard", "Admin", "10", "Deny", FROM_B, TCP80), &s);
	struct pw_policy_val v;

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(!pw_state_allows(&s, t_ep(&s, "a", "p"), PW_DIR_INGRESS, t_ident(&s, "198.18.0.2"),
			       IPPROTO_TCP, 80, &v));
	CHECK(v.rule_id < s.n_rules);
	CHECK(v.flags & PW_POL_DENY);
	if (v.rule_id < s.n_rules)
		CHECK(!strcmp(s.rules[v.rule_id].policy,
			      "Admin tier policy guard priority 10 rule r (Deny)"));
	pw_state_free(&s);
	pw_cluster_free(c);
}

/*
 * The deciding rule's tier, policy, priority, name and action are fields of
 * the rule, from the compiler through the names file (what monitor, status,
 * explain and the metrics read) and back, never parsed out of its text: a
 * policy and a rule name with the description's own words in them stay whole.
 */
static void t_cnp_rule_fields_in_names_file(void)
{
	/* a directory of the test's own: the writer makes the file's directory */
	char dir[] = "/tmp/podwall-unit-names-XXXXXX", path[64], buf[320];
	struct pw_loaded l, back;
	struct pw_state s;
	struct pw_cluster *c = compile(PODS
		"---\nkind: ClusterNetworkPolicy\nmetadata: {name: priority}\n"
		"spec:\n  tier: Baseline\n  priority: 7\n"
		"  subject: {namespaces: {matchLabels: {team: a}}}\n"
		"  ingress:\n  - {name: 'rule (x) priority 1', action: Pass, from: [" FROM_B "]}\n"
		"  - {action: Accept, from: [" FROM_ALL "]}\n", &s);
	const struct pw_ld_rule *r0 = NULL, *r1 = NULL;
	bool made = mkdtemp(dir) != NULL;

	CHECK(c != NULL && made);
	if (!c || !made)
		return;
	snprintf(path, sizeof(path), "%s/state.json", dir);
	chmod(dir, 0755);
	for (size_t i = 0; i < s.n_rules; i++) {
		const struct pw_state_rule *r = &s.rules[i];

		if (!r->tier)
			continue;
		CHECK_EQ(r->tier, PW_TIER_BASELINE);
		CHECK_EQ(r->priority, 7);
		CHECK(!strcmp(pw_state_rule_cnp(r, buf, sizeof(buf)), "priority"));
		pw_state_rule_name(r, buf, sizeof(buf));
		CHECK(r->rule_index == 0 ? !strcmp(buf, "rule (x) priority 1") && r->action == PW_ACT_PASS
					 : !strcmp(buf, "#1") && r->action == PW_ACT_ACCEPT);
	}
	CHECK_EQ(pw_loaded_build(&s, c, NULL, false, &l), 0);
	CHECK_EQ(pw_loaded_save(&l, path), 0);
	{
		/* a directory the writer did not make keeps its mode (it once made /tmp 0700) */
		struct stat st;

		CHECK(!stat(dir, &st) && (st.st_mode & 07777) == 0755);
	}
	CHECK_EQ(pw_loaded_load(path, &back), 0);
	unlink(path);
	rmdir(dir);
	for (size_t i = 0; i < back.n_rules; i++) {
		if (back.rules[i].tier && back.rules[i].index == 0)
			r0 = &back.rules[i];
		else if (back.rules[i].tier)
			r1 = &back.rules[i];
		else
			CHECK(!back.rules[i].cluster_policy && !back.rules[i].rule_name);
	}
	CHECK(r0 && r1);
	if (r0 && r1) {
		CHECK_EQ(r0->tier, PW_TIER_BASELINE);
		CHECK_EQ(r0->action, PW_ACT_PASS);
		CHECK_EQ(r0->priority, 7);
		CHECK(!strcmp(r0->cluster_policy, "priority"));
		CHECK(!strcmp(r0->rule_name, "rule (x) priority 1"));
		CHECK(!strcmp(r0->policy, "Baseline tier policy priority priority 7 rule "
				"rule (x) priority 1 (Pass)"));
		CHECK_EQ(r1->action, PW_ACT_ACCEPT);
		CHECK(!strcmp(r1->rule_name, "#1"));
	}
	pw_loaded_free(&l);
	pw_loaded_free(&back);
	pw_state_free(&s);
	pw_cluster_free(c);
}

/* tests/lint/tiers: the three ClusterNetworkPolicy findings, at their lines */
static void t_cnp_lint(void)
{
	static const struct { enum pw_lint_rule rule; int line; } want[] = {
		{ PW_LINT_ADMIN_DENY_SHADOWS_ALLOW, 37 },
		{ PW_LINT_EQUAL_PRIORITY_OVERLAP, 52 },
		{ PW_LINT_BASELINE_DENY_NO_DNS, 65 },
	};
	struct pw_cluster *c = pw_cluster_new();
	struct pw_lint_finding *f = NULL;
	struct pw_error err = { { 0 } };
	char path[4096];
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/../../lint/tiers/cluster.yaml", t_data_dir);
	CHECK_EQ(pw_cluster_load_path(c, path, &err), 0);
	CHECK_EQ(pw_cluster_finish(c, &err), 0);
	CHECK_EQ(pw_lint(c, NULL, &f, &n, &err), 0);
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		bool found = false;

		for (size_t i = 0; i < n; i++)
			found |= f[i].rule == want[k].rule && f[i].line == want[k].line;
		CHECK(found);
	}
	free(f);
	pw_cluster_free(c);
}

int suite_cnp(void)
{
	RUN(t_cnp_load_fields);
	RUN(t_cnp_err_tier);
	RUN(t_cnp_err_priority);
	RUN(t_cnp_err_priority_missing);
	RUN(t_cnp_err_subject_two);
	RUN(t_cnp_err_action);
	RUN(t_cnp_err_from_empty);
	RUN(t_cnp_err_ingress_networks);
	RUN(t_cnp_err_domain_deny);
	RUN(t_cnp_err_domain_pattern);
	RUN(t_cnp_err_domain_one_label);
	RUN(t_cnp_err_protocol_two);
	RUN(t_cnp_err_port_missing);
	RUN(t_cnp_err_range_order);
	RUN(t_cnp_err_named_with_networks);
	RUN(t_cnp_err_cidr);
	RUN(t_cnp_err_rule_name_long);
	RUN(t_cnp_err_too_many_rules);
	RUN(t_cnp_err_duplicate);
	RUN(t_cnp_err_api_version);
	RUN(t_cnp_err_node_address);
	RUN(t_cnp_err_unknown_spec_field);
	RUN(t_cnp_err_unknown_rule_field);
	RUN(t_cnp_err_unknown_selector_field);
	RUN(t_cnp_err_unknown_top_field);
	RUN(t_cnp_admin_deny_and_default);
	RUN(t_cnp_priority_order);
	RUN(t_cnp_tie_by_name);
	RUN(t_cnp_pass_to_netpol_and_baseline);
	RUN(t_cnp_named_port_and_range);
	RUN(t_cnp_rule_description);
	RUN(t_cnp_rule_fields_in_names_file);
	RUN(t_cnp_lint);
	return check_n_fail;
}
