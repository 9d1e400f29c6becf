/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Label selector semantics: every operator, NotIn on a missing key, {}. */
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
	return check_n_fail;
}
