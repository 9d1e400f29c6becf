/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Scalars typed as kubectl types them (go-yaml v2, YAML 1.1: 0x50 is 80,
 * "0x50" a port name), port names and label syntax as the API server checks
 * them. Errors are "file:line: field.path: message" and load nothing.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include "check.h"
#include "k8s/internal.h"
#include "util.h"

#define NP "kind: NetworkPolicy\n"                           /* 1 */  \
	   "apiVersion: networking.k8s.io/v1\n"              /* 2 */  \
	   "metadata: {name: p, namespace: n}\n"             /* 3 */  \
	   "spec:\n"                                         /* 4 */  \
	   "  podSelector: {}\n"                             /* 5 */  \
	   "  ingress:\n"                                    /* 6 */  \
	   "  - ports:\n"                                    /* 7 */

/* ------------------------------------------------------------ typing */

struct want {
	const char *text;
	enum ld_res kind;
	long long   i;     /* LD_RES_INT: the value; LD_RES_FLOAT: floor, or -1 */
};

/* what go-yaml v2's resolve() gives for each (strconv.ParseInt(s, 0, 64)
 * after dropping '_', then ParseUint, then the float pattern) */
static const struct want table[] = {
	{ "80", LD_RES_INT, 80 },         { "+80", LD_RES_INT, 80 },
	{ "-1", LD_RES_INT, -1 },         { "0", LD_RES_INT, 0 },
	{ "0x50", LD_RES_INT, 80 },       { "0X50", LD_RES_INT, 80 },
	{ "-0x50", LD_RES_INT, -80 },     { "0o120", LD_RES_INT, 80 },
	{ "0120", LD_RES_INT, 80 },       { "0b1010000", LD_RES_INT, 80 },
	{ "8_0", LD_RES_INT, 80 },        { "0x_50", LD_RES_INT, 80 },
	{ "9223372036854775807", LD_RES_INT, 9223372036854775807LL },
	{ "-9223372036854775808", LD_RES_INT, -9223372036854775807LL - 1 },
	{ "18446744073709551615", LD_RES_INT, 9223372036854775807LL },  /* huge */
	{ "080", LD_RES_FLOAT, 80 },      { "80.0", LD_RES_FLOAT, 80 },
	{ "1e2", LD_RES_FLOAT, 100 },     { "80.5", LD_RES_FLOAT, -1 },
	{ ".5", LD_RES_FLOAT, -1 },       { ".inf", LD_RES_FLOAT, -1 },
	{ "-.Inf", LD_RES_FLOAT, -1 },    { ".NaN", LD_RES_FLOAT, -1 },
	{ "18446744073709551616", LD_RES_FLOAT, -1 },
	{ "0x", LD_RES_STR, 0 },          { "0xg", LD_RES_STR, 0 },
	{ "0x1ffffffffffffffff", LD_RES_STR, 0 },
	{ "http", LD_RES_STR, 0 },        { "2001-12-14", LD_RES_STR, 0 },
	{ "1:20", LD_RES_STR, 0 },        { "_80", LD_RES_STR, 0 },
	{ "+", LD_RES_STR, 0 },           { "NaN", LD_RES_STR, 0 },
	{ "y", LD_RES_BOOL, 0 },          { "No", LD_RES_BOOL, 0 },
	{ "on", LD_RES_BOOL, 0 },         { "TRUE", LD_RES_BOOL, 0 },
	{ "~", LD_RES_NULL, 0 },          { "", LD_RES_NULL, 0 },
	{ "Null", LD_RES_NULL, 0 },
};

static void t_syntax_yaml11_typing(void)
{
	for (size_t k = 0; k < sizeof(table) / sizeof(table[0]) && !check_failed_now; k++) {
		const struct want *w = &table[k];
		struct ld_num x;
		enum ld_res r = ld_resolve_text(w->text, strlen(w->text), &x);

		if (r != w->kind) {
			check_failed_now = 1;
			snprintf(check_why, sizeof(check_why), "\"%s\": kind %d, want %d", w->text,
				 (int)r, (int)w->kind);
		} else if (r == LD_RES_INT && x.i != w->i) {
			check_failed_now = 1;
			snprintf(check_why, sizeof(check_why), "\"%s\": %lld, want %lld", w->text,
				 x.i, w->i);
		} else if (r == LD_RES_FLOAT && w->i >= 0 && x.f != (double)w->i) {
			check_failed_now = 1;
			snprintf(check_why, sizeof(check_why), "\"%s\": %g, want %lld", w->text,
				 x.f, w->i);
		} else if (r == LD_RES_FLOAT && w->i < 0 && isfinite(x.f) && x.f == floor(x.f) &&
			   fabs(x.f) < 1e18) {
			check_failed_now = 1;
			snprintf(check_why, sizeof(check_why), "\"%s\": integral %g", w->text, x.f);
		}
	}
}

/* the port a policy's first ingress port loads as, or -1 (named: -2) */
static long port_of(const char *yaml, char *named, size_t nlen)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load(yaml, &err, NULL);
	long r = -1;

	if (!c)
		return -1;
	if (c->n_policies == 1 && c->policies[0].n_rules[0] == 1 &&
	    c->policies[0].rules[0][0].n_ports == 1) {
		const struct pw_np_port *p = &c->policies[0].rules[0][0].ports[0];

		if (p->named) {
			snprintf(named, nlen, "%s", p->named);
			r = -2;
		} else {
			r = p->port;
		}
	}
	pw_cluster_free(c);
	return r;
}

static void t_syntax_port_spellings(void)
{
	char nm[64] = "";

	/* a plain 0x50 is the number 80 (kubectl: go-yaml's int), not a name */
	CHECK_EQ(port_of(NP "    - port: 0x50\n", nm, sizeof(nm)), 80);
	CHECK_EQ(port_of(NP "    - port: 0o120\n", nm, sizeof(nm)), 80);
	CHECK_EQ(port_of(NP "    - port: 0120\n", nm, sizeof(nm)), 80);   /* YAML 1.1 octal */
	CHECK_EQ(port_of(NP "    - port: 080\n", nm, sizeof(nm)), 80);    /* the float 80 */
	CHECK_EQ(port_of(NP "    - port: 80.0\n", nm, sizeof(nm)), 80);
	CHECK_EQ(port_of(NP "    - port: 8_0\n", nm, sizeof(nm)), 80);
	CHECK_EQ(port_of(NP "    - port: !!int \"0x50\"\n", nm, sizeof(nm)), 80);
	/* JSON: a number is a number */
	CHECK_EQ(port_of(NP "    - {\"port\": 80}\n", nm, sizeof(nm)), 80);
	/* quoted, it is a string: a valid IANA_SVC_NAME stays a name */
	CHECK_EQ(port_of(NP "    - port: \"0x50\"\n", nm, sizeof(nm)), -2);
	CHECK(!strcmp(nm, "0x50"));
	CHECK_EQ(port_of(NP "    - port: 'http'\n", nm, sizeof(nm)), -2);
	CHECK(!strcmp(nm, "http"));
	/* a local tag keeps the text */
	CHECK_EQ(port_of(NP "    - port: !svc web-1\n", nm, sizeof(nm)), -2);
	CHECK(!strcmp(nm, "web-1"));
}

static void t_syntax_quoted_number_port_is_noted(void)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c;
	char *out;

	t_capture_begin();
	c = pw_cluster_new();
	CHECK_EQ(pw_cluster_load_buffer(c, "q.yaml", NP "    - port: \"0x50\"\n",
					strlen(NP "    - port: \"0x50\"\n"), &err), 0);
	out = t_capture_end();
	CHECK_STR_CONTAINS(out, "q.yaml:8: note: port \"0x50\" is quoted, so it is a port name");
	free(out);
	pw_cluster_free(c);

	t_capture_begin();
	c = pw_cluster_new();
	CHECK_EQ(pw_cluster_load_buffer(c, "o.yaml", NP "    - port: 0120\n",
					strlen(NP "    - port: 0120\n"), &err), 0);
	out = t_capture_end();
	CHECK_STR_CONTAINS(out, "o.yaml:8: note: port 0120 is an octal number in YAML 1.1, read as 80");
	free(out);
	pw_cluster_free(c);
}

static void t_syntax_end_port_spellings(void)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load(NP "    - {port: 0x50, endPort: 0x60}\n", &err, NULL);

	CHECK(c != NULL);
	if (c) {
		CHECK_EQ(c->policies[0].rules[0][0].ports[0].port, 80);
		CHECK_EQ(c->policies[0].rules[0][0].ports[0].end_port, 96);
		pw_cluster_free(c);
	}
}

static void t_syntax_container_and_target_ports(void)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load(
		"kind: Pod\n"
		"metadata: {name: a, namespace: n}\n"
		"spec:\n"
		"  containers:\n"
		"  - ports: [{containerPort: 0x1f90, name: \"0x50\"}, {containerPort: 1e2}]\n"
		"---\n"
		"kind: Service\n"
		"metadata: {name: s, namespace: n}\n"
		"spec:\n"
		"  ports: [{port: 0x50, targetPort: 0x1f90}, {port: 81, targetPort: \"0x50\"}]\n",
		&err, NULL);

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_EQ(c->n_pods, 1);
	CHECK_EQ(c->pods[0].n_ports, 2);
	CHECK_EQ(c->pods[0].ports[0].port, 8080);
	CHECK(c->pods[0].ports[0].name && !strcmp(c->pods[0].ports[0].name, "0x50"));
	CHECK_EQ(c->pods[0].ports[1].port, 100);
	CHECK_EQ(c->n_services, 1);
	CHECK_EQ(c->services[0].ports[0].port, 80);
	CHECK_EQ(c->services[0].ports[0].target_port, 8080);
	CHECK(!c->services[0].ports[0].target_name);
	CHECK(c->services[0].ports[1].target_name &&
	      !strcmp(c->services[0].ports[1].target_name, "0x50"));
	pw_cluster_free(c);
}

/* ------------------------------------------------------------ errors */
ERR_CASE(t_syntax_err_port_float,
	 NP "    - port: 80.5\n",
	 "t.yaml:8: spec.ingress[0].ports[0].port: expected a port number or name, got a number (80.5)")

ERR_CASE(t_syntax_err_port_hex_out_of_range,
	 NP "    - port: 0x10000\n",
	 "t.yaml:8: spec.ingress[0].ports[0].port: port 0x10000 out of range 1-65535")

ERR_CASE(t_syntax_err_port_bool_y,
	 NP "    - port: y\n",
	 "t.yaml:8: spec.ingress[0].ports[0].port: expected a port number or name, got a boolean")

ERR_CASE(t_syntax_err_port_inf,
	 NP "    - port: .inf\n",
	 "t.yaml:8: spec.ingress[0].ports[0].port: expected a port number or name, got a number")

ERR_CASE(t_syntax_err_port_name_digits,
	 NP "    - port: '0120'\n",
	 "t.yaml:8: spec.ingress[0].ports[0].port: named port \"0120\" must contain a letter")

ERR_CASE(t_syntax_err_port_name_upper,
	 NP "    - port: \"0X50\"\n",
	 "t.yaml:8: spec.ingress[0].ports[0].port: invalid port name \"0X50\" (at most 15 lowercase")

ERR_CASE(t_syntax_err_port_name_double_dash,
	 NP "    - port: a--b\n",
	 "t.yaml:8: spec.ingress[0].ports[0].port: invalid port name \"a--b\"")

ERR_CASE(t_syntax_err_port_name_trailing_dash,
	 NP "    - port: http-\n",
	 "t.yaml:8: spec.ingress[0].ports[0].port: invalid port name \"http-\"")

ERR_CASE(t_syntax_err_port_name_16,
	 NP "    - port: abcdefghijklmnop\n",
	 "t.yaml:8: spec.ingress[0].ports[0].port: invalid port name \"abcdefghijklmnop\"")

ERR_CASE(t_syntax_err_port_int_tag_on_text,
	 NP "    - port: !!int http\n",
	 "t.yaml:8: spec.ingress[0].ports[0].port: expected a port number or name, got a value its tag cannot have")

ERR_CASE(t_syntax_err_str_tag_on_number,
	 NP "    - port: !!str 80\n",
	 "t.yaml:8: spec.ingress[0].ports[0].port: \"!!str 80\": a string tag on a plain scalar that YAML reads as an integer, which this loader cannot keep; quote it instead (\"80\")")

/* the same with the non-specific tag, in a later document, through an alias */
ERR_CASE(t_syntax_err_bang_tag_on_bool,
	 "kind: Namespace\n"
	 "metadata: {name: a}\n"
	 "---\n"
	 "kind: Pod\n"
	 "x: &on ! on\n"
	 "metadata:\n"
	 "  name: b\n"
	 "  labels: {enabled: *on}\n",
	 "t.yaml:5: x: \"! on\": a string tag on a plain scalar that YAML reads as a boolean")

ERR_CASE(t_syntax_err_end_port_float,
	 NP "    - {port: 80, endPort: 90.5}\n",
	 "t.yaml:8: spec.ingress[0].ports[0].endPort: expected an integer, got the number 90.5")

ERR_CASE(t_syntax_err_end_port_quoted,
	 NP "    - {port: 80, endPort: \"0x60\"}\n",
	 "t.yaml:8: spec.ingress[0].ports[0].endPort: expected an integer, got a string \"0x60\"")

ERR_CASE(t_syntax_err_container_port_name_number,
	 "kind: Pod\n"
	 "metadata: {name: a}\n"
	 "spec:\n"
	 "  containers:\n"
	 "  - ports: [{containerPort: 80, name: 0x50}]\n",
	 "t.yaml:5: spec.containers[0].ports[0].name: expected a port name, got an integer \"0x50\" (quote a name)")

ERR_CASE(t_syntax_err_container_port_name_bad,
	 "kind: Pod\n"
	 "metadata: {name: a}\n"
	 "spec:\n"
	 "  containers:\n"
	 "  - ports: [{containerPort: 80, name: -http}]\n",
	 "t.yaml:5: spec.containers[0].ports[0].name: invalid port name \"-http\"")

ERR_CASE(t_syntax_err_target_port_name_bad,
	 "kind: Service\n"
	 "metadata: {name: s}\n"
	 "spec:\n"
	 "  ports: [{port: 80, targetPort: Web}]\n",
	 "t.yaml:4: spec.ports[0].targetPort: invalid port name \"Web\"")

/* ------------------------------------------------------------ labels */

static void t_syntax_label_keys(void)
{
	static const char *const good[] = {
		"app", "a", "A", "app.kubernetes.io/name", "kubernetes.io/metadata.name",
		"x/y", "a-b_c.d", "1", "example.com/Some_Name-1",
		/* 63 */
		"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123",
	};
	static const char *const bad[] = {
		"", "-app", "app-", "_a", "a.", "a b", "a/b/c", "/a", "a/", "Example.com/a",
		"ex_ample.com/a", "-ex.com/a", "ex-.com/a", "ex..com/a", ".ex.com/a", "ex.com./a",
		"a@b", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (ld_label_key_problem(good[i]) && !check_failed_now) {
			check_failed_now = 1;
			snprintf(check_why, sizeof(check_why), "key \"%s\" refused: %s", good[i],
				 ld_label_key_problem(good[i]));
		}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!ld_label_key_problem(bad[i]) && !check_failed_now) {
			check_failed_now = 1;
			snprintf(check_why, sizeof(check_why), "key \"%s\" accepted", bad[i]);
		}
}

static void t_syntax_label_key_prefix_253(void)
{
	char k[300];

	/* a prefix of 253 (dotted parts of any length) is fine, 254 is not */
	memset(k, 'a', 253);
	for (int i = 50; i < 253; i += 50)
		k[i] = '.';
	snprintf(k + 253, sizeof(k) - 253, "/n");
	CHECK(!ld_label_key_problem(k));
	memmove(k + 1, k, strlen(k) + 1);
	k[0] = 'b';
	CHECK(ld_label_key_problem(k) != NULL);
}

static void t_syntax_label_values(void)
{
	static const char *const good[] = {
		"", "web", "Web_1", "1.2.3", "a-b", "x",
		"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123",
	};
	static const char *const bad[] = {
		"-web", "web-", ".x", "x_", "a b", "a/b", "a:b", "é",
		"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(!ld_label_value_problem(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(ld_label_value_problem(bad[i]) != NULL);
}

ERR_CASE(t_syntax_err_label_key,
	 "kind: Pod\n"
	 "metadata:\n"
	 "  name: a\n"
	 "  labels:\n"
	 "    Example.com/app: web\n",
	 "t.yaml:5: metadata.labels: invalid label key \"Example.com/app\": the prefix before '/' must be a DNS subdomain")

ERR_CASE(t_syntax_err_label_value,
	 "kind: Namespace\n"
	 "metadata:\n"
	 "  name: a\n"
	 "  labels:\n"
	 "    app: web server\n",
	 "t.yaml:5: metadata.labels.app: invalid label value \"web server\": must be empty, or letters")

ERR_CASE(t_syntax_err_match_labels_key,
	 NP "    - port: 80\n"
	 "    from:\n"
	 "    - podSelector:\n"
	 "        matchLabels: {\"a/b/c\": x}\n",
	 "t.yaml:11: spec.ingress[0].from[0].podSelector.matchLabels: invalid label key \"a/b/c\": a label key has at most one '/'")

ERR_CASE(t_syntax_err_match_labels_value,
	 NP "    - port: 80\n"
	 "    from:\n"
	 "    - namespaceSelector:\n"
	 "        matchLabels: {team: -a}\n",
	 "t.yaml:11: spec.ingress[0].from[0].namespaceSelector.matchLabels.team: invalid label value \"-a\"")

ERR_CASE(t_syntax_err_expression_key,
	 NP "    - port: 80\n"
	 "    from:\n"
	 "    - podSelector:\n"
	 "        matchExpressions:\n"
	 "        - {key: \"app name\", operator: Exists}\n",
	 "t.yaml:12: spec.ingress[0].from[0].podSelector.matchExpressions[0].key: invalid label key \"app name\"")

ERR_CASE(t_syntax_err_expression_value,
	 NP "    - port: 80\n"
	 "    from:\n"
	 "    - podSelector:\n"
	 "        matchExpressions:\n"
	 "        - key: app\n"
	 "          operator: In\n"
	 "          values: [web, \"web_\"]\n",
	 "t.yaml:14: spec.ingress[0].from[0].podSelector.matchExpressions[0].values[1]: invalid label value \"web_\"")

ERR_CASE(t_syntax_err_service_selector,
	 "kind: Service\n"
	 "metadata: {name: s}\n"
	 "spec:\n"
	 "  selector: {app: \"a/b\"}\n",
	 "t.yaml:4: spec.selector.app: invalid label value \"a/b\"")

static void t_syntax_valid_labels_load(void)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load(
		"kind: Pod\n"
		"metadata:\n"
		"  name: a\n"
		"  labels:\n"
		"    app.kubernetes.io/name: Web_1.2\n"
		"    empty: \"\"\n"
		"    nothing:\n"
		"    tier: '1'\n",
		&err, NULL);

	CHECK(c != NULL);
	if (c) {
		CHECK_EQ(c->pods[0].labels.n, 4);
		pw_cluster_free(c);
	}
}

int suite_syntax(void)
{
	RUN(t_syntax_yaml11_typing);
	RUN(t_syntax_port_spellings);
	RUN(t_syntax_quoted_number_port_is_noted);
	RUN(t_syntax_end_port_spellings);
	RUN(t_syntax_container_and_target_ports);
	RUN(t_syntax_err_port_float);
	RUN(t_syntax_err_port_hex_out_of_range);
	RUN(t_syntax_err_port_bool_y);
	RUN(t_syntax_err_port_inf);
	RUN(t_syntax_err_port_name_digits);
	RUN(t_syntax_err_port_name_upper);
	RUN(t_syntax_err_port_name_double_dash);
	RUN(t_syntax_err_port_name_trailing_dash);
	RUN(t_syntax_err_port_name_16);
	RUN(t_syntax_err_port_int_tag_on_text);
	RUN(t_syntax_err_str_tag_on_number);
	RUN(t_syntax_err_bang_tag_on_bool);
	RUN(t_syntax_err_end_port_float);
	RUN(t_syntax_err_end_port_quoted);
	RUN(t_syntax_err_container_port_name_number);
	RUN(t_syntax_err_container_port_name_bad);
	RUN(t_syntax_err_target_port_name_bad);
	RUN(t_syntax_label_keys);
	RUN(t_syntax_label_key_prefix_253);
	RUN(t_syntax_label_values);
	RUN(t_syntax_err_label_key);
	RUN(t_syntax_err_label_value);
	RUN(t_syntax_err_match_labels_key);
	RUN(t_syntax_err_match_labels_value);
	RUN(t_syntax_err_expression_key);
	RUN(t_syntax_err_expression_value);
	RUN(t_syntax_err_service_selector);
	RUN(t_syntax_valid_labels_load);
	return check_summary();
}
