// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * podwall lint -f FILE|DIR [-f ...] [-o json|text] [--include-system]
 *              [--disable RULE,...] [--dns-namespace NS] [--dns-label k=v]
 *
 * The NetworkPolicy mistakes that break clusters (ops/lint.h), each with
 * file:line and a suggested fix. Namespaces kube-system, kube-public and
 * kube-node-lease are left out of the coverage rules (no-default-deny,
 * egress-without-dns, dns-tcp-missing) unless --include-system.
 * Exit: 0 no finding, 1 findings, 2 bad input or usage.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd/cmd.h"
#include "cmd/input.h"
#include "cmd/opts.h"
#include "model.h"
#include "ops/lint.h"

enum { O_FILE = 1, O_OUTPUT, O_SYSTEM, O_DISABLE, O_DNS_NS, O_DNS_LABEL };

static const struct pw_opt lint_opts[] = {
	{ O_FILE, 'f', "filename", "FILE|DIR", "manifests to read ('-': stdin); several -f are "
	  "merged", NULL },
	PW_OPT_OUTPUT(O_OUTPUT),
	{ O_SYSTEM, 0, "include-system", NULL, "also kube-system, kube-public, kube-node-lease in "
	  "the coverage rules", NULL },
	{ O_DISABLE, 0, "disable", "RULE,...", "rules not to run (podwall lint --help lists them)",
	  NULL },
	{ O_DNS_NS, 0, "dns-namespace", "NS", "the cluster DNS's namespace (default kube-system)",
	  NULL },
	{ O_DNS_LABEL, 0, "dns-label", "k=v", "the cluster DNS pods' label (default "
	  "k8s-app=kube-dns)", NULL },
	{ 0 },
};

const struct pw_cmd_doc pw_doc_lint = {
	"lint",
	"-f FILE|DIR... [-o text|json] [--include-system] [--disable RULE,...] "
	"[--dns-namespace NS] [--dns-label k=v]",
	"the NetworkPolicy mistakes that break clusters, each with file:line and a fix; "
	"exit 1 when it finds any",
	lint_opts,
};

struct lint_args {
	struct pw_cmd_inputs files;
	struct pw_lint_opts lo;
	char                key[256];
	bool                json;
};


static int parse_disable(const char *s, unsigned *mask)
{
	char *dup = strdup(s), *save = NULL, *tok;
	int err = 0;

	if (!dup)
		return -ENOMEM;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int r = pw_lint_rule_parse(tok);

		if (r < 0) {
			fprintf(stderr, "podwall lint: --disable: unknown rule '%s' (rules:", tok);
			for (int i = 0; i < PW_LINT_MAX; i++)
				fprintf(stderr, " %s", pw_lint_rule_names[i]);
			fprintf(stderr, ")\n");
			err = -EINVAL;
			break;
		}
		*mask |= 1u << r;
	}
	free(dup);
	return err;
}

static void print_text(const struct pw_lint_finding *f)
{
	const char *p = f->fix;

	if (f->file)
		printf("%s:%d: ", f->file, f->line);
	printf("%s: %s\n", pw_lint_rule_names[f->rule], f->msg);
	if (!*p)
		return;
	printf("  fix: ");
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		printf("%.*s\n", (int)len, p);
		p += len;
		if (*p == '\n') {
			p++;
			if (*p)
				printf("       ");
		}
	}
}

static int lint_opt(void *ctx, const struct pw_opt *o, const char *val)
{
	struct lint_args *a = ctx;
	const char *eq;

	if (!o)
		return pw_opts_bad(&pw_doc_lint, "unexpected argument '%s'", val);
	switch (o->id) {
	case O_FILE:
		return pw_cmd_add_input(&pw_doc_lint, &a->files, val);
	case O_OUTPUT:
		return pw_opts_output(&pw_doc_lint, val, &a->json);
	case O_SYSTEM:
		a->lo.include_system = true;
		return 0;
	case O_DISABLE:
		return parse_disable(val, &a->lo.disabled) ? PW_EXIT_USAGE : 0;
	case O_DNS_NS:
		a->lo.dns_namespace = val;
		return 0;
	case O_DNS_LABEL:
		eq = strchr(val, '=');
		if (!eq || eq == val || (size_t)(eq - val) >= sizeof(a->key))
			return pw_opts_bad(&pw_doc_lint, "--dns-label: k=v, not '%s'", val);
		memcpy(a->key, val, (size_t)(eq - val));
		a->key[eq - val] = 0;
		a->lo.dns_label_key = a->key;
		a->lo.dns_label_value = eq + 1;
		return 0;
	}
	return PW_EXIT_USAGE;
}

int cmd_lint(int argc, char **argv)
{
	struct lint_args *a = calloc(1, sizeof(*a));
	size_t n = 0;
	struct pw_lint_finding *v = NULL;
	struct pw_cluster *c = NULL;
	struct pw_error perr = { 0 };
	bool json;
	int ret;

	if (!a)
		return PW_EXIT_SYSTEM;
	ret = pw_opts_parse(&pw_doc_lint, argc, argv, lint_opt, a);
	if (ret == PW_OPTS_HELP) {
		printf("\nrules:");
		for (int i = 0; i < PW_LINT_MAX; i++)
			printf(" %s", pw_lint_rule_names[i]);
		printf("\n");
		free(a);
		return PW_EXIT_OK;
	}
	if (!ret && !a->files.n)
		ret = pw_opts_bad(&pw_doc_lint, "no manifests given (-f FILE|DIR)");
	if (ret) {
		free(a);
		return ret;
	}
	json = a->json;

	ret = pw_cmd_load("lint", &a->files, &c);
	if (ret)
		goto out;
	ret = PW_EXIT_USAGE;
	if (pw_lint(c, &a->lo, &v, &n, &perr)) {
		fprintf(stderr, "podwall lint: %s\n", perr.msg[0] ? perr.msg : "failed");
		goto out;
	}
	if (json) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++) {
			json_t *o = json_object();

			json_object_set_new(o, "rule", json_string(pw_lint_rule_names[v[i].rule]));
			json_object_set_new(o, "file", v[i].file ? json_string(v[i].file) : json_null());
			json_object_set_new(o, "line", json_integer(v[i].line));
			json_object_set_new(o, "message", json_string(v[i].msg));
			json_object_set_new(o, "fix", json_string(v[i].fix));
			json_array_append_new(a, o);
		}
		pw_opts_print_json(a);
	} else {
		for (size_t i = 0; i < n; i++)
			print_text(&v[i]);
	}
	/* both kinds of policy, each by its name: one count of "policies" hid the other */
	fprintf(stderr, "podwall lint: %zu finding%s (%zu namespace%s, %zu pod%s, %zu "
		"NetworkPolic%s, %zu ClusterNetworkPolic%s)\n", n, n == 1 ? "" : "s",
		c->n_namespaces, c->n_namespaces == 1 ? "" : "s", c->n_pods,
		c->n_pods == 1 ? "" : "s", c->n_policies, c->n_policies == 1 ? "y" : "ies",
		c->n_cnps, c->n_cnps == 1 ? "y" : "ies");
	ret = n ? PW_EXIT_FOUND : PW_EXIT_OK;
out:
	free(v);
	free(a);
	pw_cluster_free(c);
	return ret;
}
