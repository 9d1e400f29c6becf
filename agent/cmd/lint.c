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
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd/cmd.h"
#include "cmd/input.h"
#include "model.h"
#include "ops/lint.h"

static const char lint_usage[] =
	"-f FILE|DIR [-f ...] [-o json|text] [--include-system] [--disable RULE,...] "
	"[--dns-namespace NS] [--dns-label k=v]";


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

int cmd_lint(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "filename",       required_argument, NULL, 'f' },
		{ "output",         required_argument, NULL, 'o' },
		{ "include-system", no_argument,       NULL, 'S' },
		{ "disable",        required_argument, NULL, 'd' },
		{ "dns-namespace",  required_argument, NULL, 'N' },
		{ "dns-label",      required_argument, NULL, 'L' },
		{ "help",           no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *files[PW_CMD_MAX_INPUTS];
	size_t n_files = 0, n = 0;
	struct pw_lint_opts lo = { 0 };
	struct pw_lint_finding *v = NULL;
	struct pw_cluster *c = NULL;
	struct pw_error perr = { 0 };
	char key[256] = "";
	bool json = false;
	int ch, ret = PW_EXIT_USAGE;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":f:o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if (n_files == PW_CMD_MAX_INPUTS) {
				fprintf(stderr, "podwall lint: at most %d -f\n", PW_CMD_MAX_INPUTS);
				return PW_EXIT_USAGE;
			}
			files[n_files++] = optarg;
			break;
		case 'o':
			if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
				fprintf(stderr, "podwall lint: -o: json or text, not '%s'\n", optarg);
				return PW_EXIT_USAGE;
			}
			json = !strcmp(optarg, "json");
			break;
		case 'S':
			lo.include_system = true;
			break;
		case 'd':
			if (parse_disable(optarg, &lo.disabled))
				return PW_EXIT_USAGE;
			break;
		case 'N':
			lo.dns_namespace = optarg;
			break;
		case 'L': {
			const char *eq = strchr(optarg, '=');

			if (!eq || eq == optarg || (size_t)(eq - optarg) >= sizeof(key)) {
				fprintf(stderr, "podwall lint: --dns-label: k=v, not '%s'\n", optarg);
				return PW_EXIT_USAGE;
			}
			memcpy(key, optarg, (size_t)(eq - optarg));
			key[eq - optarg] = 0;
			lo.dns_label_key = key;
			lo.dns_label_value = eq + 1;
			break;
		}
		case 'h':
			printf("usage: podwall lint %s\nrules:", lint_usage);
			for (int i = 0; i < PW_LINT_MAX; i++)
				printf(" %s", pw_lint_rule_names[i]);
			printf("\n");
			return PW_EXIT_OK;
		case ':':
			fprintf(stderr, "podwall lint: option %s needs a value\nusage: podwall lint %s\n",
				argv[optind - 1], lint_usage);
			return PW_EXIT_USAGE;
		default:
			fprintf(stderr, "podwall lint: unknown option %s\nusage: podwall lint %s\n",
				argv[optind - 1], lint_usage);
			return PW_EXIT_USAGE;
		}
	}
	if (optind < argc || !n_files) {
		fprintf(stderr, "podwall lint: %s\nusage: podwall lint %s\n",
			n_files ? "unexpected argument" : "no manifests given (-f FILE|DIR)",
			lint_usage);
		return PW_EXIT_USAGE;
	}

	ret = pw_cmd_load("lint", files, n_files, &c);
	if (ret)
		goto out;
	ret = PW_EXIT_USAGE;
	if (pw_lint(c, &lo, &v, &n, &perr)) {
		fprintf(stderr, "podwall lint: %s\n", perr.msg[0] ? perr.msg : "failed");
		goto out;
	}
	if (json) {
		json_t *a = json_array();
		char *s;

		for (size_t i = 0; i < n; i++) {
			json_t *o = json_object();

			json_object_set_new(o, "rule", json_string(pw_lint_rule_names[v[i].rule]));
			json_object_set_new(o, "file", v[i].file ? json_string(v[i].file) : json_null());
			json_object_set_new(o, "line", json_integer(v[i].line));
			json_object_set_new(o, "message", json_string(v[i].msg));
			json_object_set_new(o, "fix", json_string(v[i].fix));
			json_array_append_new(a, o);
		}
		s = json_dumps(a, JSON_INDENT(2));
		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(a);
	} else {
		for (size_t i = 0; i < n; i++)
			print_text(&v[i]);
	}
	fprintf(stderr, "podwall lint: %zu finding%s (%zu namespaces, %zu pods, %zu policies)\n",
		n, n == 1 ? "" : "s", c->n_namespaces, c->n_pods, c->n_policies);
	ret = n ? PW_EXIT_FOUND : PW_EXIT_OK;
out:
	free(v);
	pw_cluster_free(c);
	return ret;
}
