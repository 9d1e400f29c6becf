/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The upstream NetworkPolicy cases (tests/conformance/cases/upstream),
 * through the loader and the compiler: every Expectation probe is judged as
 * the datapath would judge it, by the ipcache and policy lookups over the
 * compiled state (egress of the source, ingress of the destination).
 * One PASS/FAIL line per case.
 */
#include <dirent.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <yaml.h>
#include "check.h"
#include "util.h"

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0) {
		rewind(f);
		b = malloc((size_t)n + 1);
		if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
			free(b);
			b = NULL;
		} else if (b) {
			b[n] = 0;
			*len = (size_t)n;
		}
	}
	fclose(f);
	return b;
}

static yaml_node_t *get(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);

		if (k && k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key))
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

static const char *str(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : "";
}

/* Judge every probe of the case's Expectation document; returns mismatches. */
static int check_probes(const char *text, size_t len, const struct pw_state *s, int *n_probes,
			char *why, size_t why_len)
{
	yaml_parser_t p;
	int bad = 0;

	*n_probes = 0;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	for (;;) {
		yaml_document_t d;
		yaml_node_t *root, *probes;

		if (!yaml_parser_load(&p, &d)) {
			snprintf(why, why_len, "cannot parse the case");
			bad++;
			break;
		}
		root = yaml_document_get_root_node(&d);
		if (!root) {
			yaml_document_delete(&d);
			break;
		}
		probes = strcmp(str(get(&d, root, "kind")), "Expectation") ? NULL
			 : get(&d, root, "probes");
		if (probes && probes->type == YAML_SEQUENCE_NODE) {
			for (yaml_node_item_t *it = probes->data.sequence.items.start;
			     it < probes->data.sequence.items.top; it++) {
				yaml_node_t *pr = yaml_document_get_node(&d, *it);
				const char *proto = str(get(&d, pr, "protocol"));
				uint8_t pn = !strcmp(proto, "UDP") ? IPPROTO_UDP
					     : !strcmp(proto, "SCTP") ? IPPROTO_SCTP : IPPROTO_TCP;
				int port = atoi(str(get(&d, pr, "port")));
				bool want = !strcmp(str(get(&d, pr, "expect")), "allow");
				bool got = t_allowed(s, str(get(&d, pr, "from")), str(get(&d, pr, "to")),
						     (uint16_t)port, pn);

				(*n_probes)++;
				if (got != want && !bad++)
					snprintf(why, why_len, "%s -> %s %d/%s: expected %s, got %s",
						 str(get(&d, pr, "from")), str(get(&d, pr, "to")), port,
						 proto[0] ? proto : "TCP", want ? "allow" : "deny",
						 got ? "allow" : "deny");
			}
		}
		yaml_document_delete(&d);
	}
	yaml_parser_delete(&p);
	return bad;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_case(const char *dir, const char *name)
{
	char path[4096], why[1100] = "";
	struct pw_cluster *c = pw_cluster_new();
	struct pw_error err = { { 0 } };
	struct pw_state s;
	size_t len = 0;
	char *text, *notes;
	int r, n = 0, bad;

	memset(&s, 0, sizeof(s));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	text = read_all(path, &len);
	t_capture_begin();
	r = pw_cluster_load_path(c, path, &err);
	notes = t_capture_end();
	if (!r)
		r = pw_cluster_finish(c, &err);
	if (!r)
		r = pw_compile(c, NULL, &s, &err);
	if (r || !text) {
		snprintf(why, sizeof(why), "%s", text ? err.msg : "cannot read");
		bad = 1;
	} else if (!strstr(notes, "note: skipping kind Expectation")) {
		snprintf(why, sizeof(why), "no note for the Expectation document");
		bad = 1;
	} else {
		bad = check_probes(text, len, &s, &n, why, sizeof(why));
		if (!bad && n == 0) {
			snprintf(why, sizeof(why), "no probes");
			bad = 1;
		}
	}
	if (bad) {
		check_n_fail++;
		printf("FAIL conformance/%s: %s (%d mismatches of %d probes)\n", name, why, bad, n);
	} else {
		check_n_pass++;
		printf("PASS conformance/%s (%d probes)\n", name, n);
	}
	fflush(stdout);
	free(notes);
	free(text);
	pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_conformance_cases_present(void)
{
	CHECK(t_cases_dir != NULL);
}

int suite_conformance(void)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	RUN(t_conformance_cases_present);
	if (!t_cases_dir || !(d = opendir(t_cases_dir)))
		return check_n_fail;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l > 5 && !strcmp(de->d_name + l - 5, ".yaml")) {
			names = realloc(names, (n + 1) * sizeof(*names));
			names[n++] = strdup(de->d_name);
		}
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		run_case(t_cases_dir, names[i]);
		free(names[i]);
	}
	free(names);
	return check_n_fail;
}
