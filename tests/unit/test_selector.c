/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Label selector semantics: every operator, NotIn on a missing key, {}; and
 * a differential test of the two matchers (pw_selector_matches over a pod's
 * labels, the compiler's compiled selector over identity keys) over random
 * label sets and selectors.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "check.h"
#include "util.h"

static struct pw_label L_web[] = { { "app", "web" }, { "tier", "front" } };
static struct pw_labels web = { L_web, 2 };
static struct pw_label L_db[] = { { "app", "db" } };
static struct pw_labels db = { L_db, 1 };
static struct pw_labels none = { NULL, 0 };
static struct pw_label L_empty[] = { { "app", "" } };
static struct pw_labels emptyval = { L_empty, 1 };

static char *vals_web[] = { "web", "api" };

static struct pw_selector expr(struct pw_sel_req *r)
{
	struct pw_selector s = { .present = true, .exprs = r, .n_exprs = 1 };

	return s;
}

static void t_selector_absent_matches_all(void)
{
	struct pw_selector s = { .present = false };

	CHECK(pw_selector_matches(&s, &web));
	CHECK(pw_selector_matches(&s, &none));
	CHECK(pw_selector_matches(NULL, &web));
}

static void t_selector_empty_matches_all(void)
{
	struct pw_selector s = { .present = true };

	CHECK(pw_selector_matches(&s, &web));
	CHECK(pw_selector_matches(&s, &db));
	CHECK(pw_selector_matches(&s, &none));
}

static void t_selector_match_labels(void)
{
	struct pw_label ml[] = { { "app", "web" } };
	struct pw_selector s = { .present = true, .match_labels = { ml, 1 } };
	struct pw_label ml2[] = { { "app", "web" }, { "tier", "back" } };
	struct pw_selector s2 = { .present = true, .match_labels = { ml2, 2 } };

	CHECK(pw_selector_matches(&s, &web));
	CHECK(!pw_selector_matches(&s, &db));
	CHECK(!pw_selector_matches(&s, &none));
	CHECK(!pw_selector_matches(&s2, &web));   /* every label must match */
}

static void t_selector_match_labels_empty_value(void)
{
	struct pw_label ml[] = { { "app", "" } };
	struct pw_selector s = { .present = true, .match_labels = { ml, 1 } };

	CHECK(pw_selector_matches(&s, &emptyval));
	CHECK(!pw_selector_matches(&s, &none));   /* "" is not "absent" */
	CHECK(!pw_selector_matches(&s, &web));
}

static void t_selector_in(void)
{
	struct pw_sel_req r = { "app", PW_SEL_IN, vals_web, 2 };
	struct pw_selector s = expr(&r);

	CHECK(pw_selector_matches(&s, &web));
	CHECK(!pw_selector_matches(&s, &db));
	CHECK(!pw_selector_matches(&s, &none));
}

static void t_selector_not_in(void)
{
	struct pw_sel_req r = { "app", PW_SEL_NOT_IN, vals_web, 2 };
	struct pw_selector s = expr(&r);

	CHECK(!pw_selector_matches(&s, &web));
	CHECK(pw_selector_matches(&s, &db));
}

static void t_selector_not_in_missing_key_matches(void)
{
	struct pw_sel_req r = { "app", PW_SEL_NOT_IN, vals_web, 2 };
	struct pw_selector s = expr(&r);

	CHECK(pw_selector_matches(&s, &none));
}

static void t_selector_exists(void)
{
	struct pw_sel_req r = { "tier", PW_SEL_EXISTS, NULL, 0 };
	struct pw_selector s = expr(&r);

	CHECK(pw_selector_matches(&s, &web));
	CHECK(!pw_selector_matches(&s, &db));
	CHECK(!pw_selector_matches(&s, &none));
}

static void t_selector_does_not_exist(void)
{
	struct pw_sel_req r = { "tier", PW_SEL_DOES_NOT_EXIST, NULL, 0 };
	struct pw_selector s = expr(&r);

	CHECK(!pw_selector_matches(&s, &web));
	CHECK(pw_selector_matches(&s, &db));
	CHECK(pw_selector_matches(&s, &none));
}

static void t_selector_all_terms_anded(void)
{
	struct pw_label ml[] = { { "app", "web" } };
	struct pw_sel_req r[] = {
		{ "tier", PW_SEL_EXISTS, NULL, 0 },
		{ "app", PW_SEL_IN, vals_web, 2 },
	};
	struct pw_selector s = { .present = true, .match_labels = { ml, 1 }, .exprs = r,
				 .n_exprs = 2 };
	struct pw_label L_web2[] = { { "app", "web" } };
	struct pw_labels web2 = { L_web2, 1 };

	CHECK(pw_selector_matches(&s, &web));
	CHECK(!pw_selector_matches(&s, &web2));   /* lacks tier */
}

/* the same, from YAML, through the loader */
static void t_selector_from_yaml(void)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load(
		"kind: NetworkPolicy\n"
		"apiVersion: networking.k8s.io/v1\n"
		"metadata: {name: p, namespace: n}\n"
		"spec:\n"
		"  podSelector:\n"
		"    matchLabels: {app: web}\n"
		"    matchExpressions:\n"
		"    - {key: tier, operator: NotIn, values: [back]}\n"
		"    - {key: env, operator: DoesNotExist}\n", &err, NULL);

	CHECK(c);
	if (!c)
		return;
	CHECK_EQ(c->n_policies, 1);
	CHECK(c->policies[0].pod_sel.present);
	CHECK_EQ(c->policies[0].pod_sel.n_exprs, 2);
	CHECK_EQ(c->policies[0].pod_sel.exprs[0].op, PW_SEL_NOT_IN);
	CHECK(pw_selector_matches(&c->policies[0].pod_sel, &web));
	CHECK(!pw_selector_matches(&c->policies[0].pod_sel, &db));
	pw_cluster_free(c);
}

/* ------------------------------------------------------------ differential */

static uint64_t d_rnd_state;

static uint32_t d_rnd(void)
{
	d_rnd_state ^= d_rnd_state << 13;
	d_rnd_state ^= d_rnd_state >> 7;
	d_rnd_state ^= d_rnd_state << 17;
	return (uint32_t)d_rnd_state;
}

#define D_PODS 14
static const char *const d_keys[] = { "a", "b", "c", "d" };
static const char *const d_vals[] = { "x", "y", "z", "" };

struct d_buf {
	char   s[16384];
	size_t n;
};

static void d_add(struct d_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void d_add(struct d_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	b->n += (size_t)vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
	va_end(ap);
	if (b->n >= sizeof(b->s))
		b->n = sizeof(b->s) - 1;
}

/* A random selector, as a pw_selector (into the arrays given) and as YAML. */
static void d_selector(struct pw_selector *sel, struct pw_label *ml, struct pw_sel_req *ex,
		       char *(*vals)[4], struct d_buf *y)
{
	static const enum pw_sel_op ops[] = { PW_SEL_IN, PW_SEL_NOT_IN, PW_SEL_EXISTS,
					      PW_SEL_DOES_NOT_EXIST };
	static const char *const op_names[] = { "", "In", "NotIn", "Exists", "DoesNotExist" };
	size_t n_ml = d_rnd() % 3, n_ex = d_rnd() % 4;
	bool used[4] = { false, false, false, false };

	memset(sel, 0, sizeof(*sel));
	sel->present = true;
	d_add(y, "{matchLabels: {");
	for (size_t i = 0; i < n_ml; i++) {
		size_t k = d_rnd() % 4;

		if (used[k])
			continue; /* one value per key in a map */
		used[k] = true;
		ml[sel->match_labels.n] = (struct pw_label){ (char *)d_keys[k],
							     (char *)d_vals[d_rnd() % 4] };
		d_add(y, "%s%s: \"%s\"", sel->match_labels.n ? ", " : "", ml[sel->match_labels.n].key,
		      ml[sel->match_labels.n].value);
		sel->match_labels.n++;
	}
	sel->match_labels.v = ml;
	d_add(y, "}, matchExpressions: [");
	for (size_t i = 0; i < n_ex; i++) {
		struct pw_sel_req *r = &ex[i];
		bool vused[4] = { false, false, false, false };

		r->key = (char *)d_keys[d_rnd() % 4];
		r->op = ops[d_rnd() % 4];
		r->values = vals[i];
		r->n_values = 0;
		d_add(y, "%s{key: %s, operator: %s", i ? ", " : "", r->key, op_names[r->op]);
		if (r->op == PW_SEL_IN || r->op == PW_SEL_NOT_IN) {
			size_t nv = 1 + d_rnd() % 3;

			d_add(y, ", values: [");
			for (size_t k = 0; k < nv; k++) {
				size_t v = d_rnd() % 4;

				if (vused[v])
					continue;
				vused[v] = true;
				r->values[r->n_values] = (char *)d_vals[v];
				d_add(y, "%s\"%s\"", r->n_values ? ", " : "", d_vals[v]);
				r->n_values++;
			}
			d_add(y, "]");
		}
		d_add(y, "}");
	}
	sel->exprs = ex;
	sel->n_exprs = n_ex;
	d_add(y, "]}");
}

/*
 * One view is pw_selector_matches over each pod's labels; the other is the
 * compiled state: b admits TCP 80 from the peers a podSelector selects, and
 * the compiler matches that selector against identity keys (its own
 * matcher). The two must agree for every pod, over random pods and
 * selectors.
 */
static void t_selector_differential(void)
{
	d_rnd_state = 0x9e3779b97f4a7c15ull;
	for (int round = 0; round < 150 && !check_failed_now; round++) {
		struct pw_label ml[4];
		struct pw_sel_req ex[4];
		char *vals[4][4];
		struct pw_selector sel;
		struct d_buf y = { .n = 0 }, sy = { .n = 0 };
		struct pw_state st = { 0 };
		struct pw_error err = { { 0 } };
		struct pw_cluster *c;

		d_selector(&sel, ml, ex, vals, &sy);
		d_add(&y, "apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n");
		for (int i = 0; i < D_PODS; i++) {
			d_add(&y, "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p%d\n"
			      "  namespace: n\n  labels: {", i);
			for (size_t k = 0, n = 0; k < 4; k++)
				if (d_rnd() % 2)
					d_add(&y, "%s%s: \"%s\"", n++ ? ", " : "", d_keys[k],
					      d_vals[d_rnd() % 4]);
			d_add(&y, "}\nstatus: {podIP: 10.9.0.%d}\n", i + 1);
		}
		d_add(&y, "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  namespace: n\n"
		      "  labels: {role: target}\nstatus: {podIP: 10.9.1.1}\n"
		      "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		      "metadata: {name: admit, namespace: n}\nspec:\n"
		      "  podSelector: {matchLabels: {role: target}}\n"
		      "  ingress:\n  - from: [{podSelector: %s}]\n"
		      "    ports: [{protocol: TCP, port: 80}]\n", sy.s);
		c = t_compile(y.s, NULL, &st, &err);
		CHECK(c != NULL);
		if (!c) {
			snprintf(check_why + strlen(check_why), sizeof(check_why) - strlen(check_why),
				 ": %.200s (selector %.200s)", err.msg, sy.s);
			break;
		}
		for (int i = 0; i < D_PODS; i++) {
			char name[16], from[24];
			const struct pw_pod *pod;
			bool want, got;

			snprintf(name, sizeof(name), "p%d", i);
			snprintf(from, sizeof(from), "n/p%d", i);
			pod = pw_cluster_pod(c, "n", name);
			CHECK(pod != NULL);
			if (!pod)
				break;
			want = pw_selector_matches(&sel, &pod->labels);
			got = t_allowed(&st, from, "n/t", 80, 6);
			CHECK_EQ(got, want);
			if (got != want) {
				snprintf(check_why + strlen(check_why),
					 sizeof(check_why) - strlen(check_why),
					 " (round %d, pod %s, selector %.200s)", round, name, sy.s);
				break;
			}
		}
		pw_state_free(&st);
		pw_cluster_free(c);
	}
}

int suite_selector(void)
{
	RUN(t_selector_absent_matches_all);
	RUN(t_selector_empty_matches_all);
	RUN(t_selector_match_labels);
	RUN(t_selector_match_labels_empty_value);
	RUN(t_selector_in);
	RUN(t_selector_not_in);
	RUN(t_selector_not_in_missing_key_matches);
	RUN(t_selector_exists);
	RUN(t_selector_does_not_exist);
	RUN(t_selector_all_terms_anded);
	RUN(t_selector_from_yaml);
	RUN(t_selector_differential);
	return check_n_fail;
}
