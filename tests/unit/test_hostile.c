/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Hostile input: each a clean error (or a clean load), never a crash, a
 * hang or unbounded memory. Runs under ASan and UBSan.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include "check.h"
#include "k8s/internal.h"
#include "util.h"

static int load_n(const char *buf, size_t len, struct pw_error *err)
{
	struct pw_cluster *c = pw_cluster_new();
	int r;

	t_capture_begin();
	r = pw_cluster_load_buffer(c, "h.yaml", buf, len, err);
	free(t_capture_end());
	if (!r)
		r = pw_cluster_finish(c, err);
	if (!r) {
		struct pw_state s;
		struct pw_error e2;

		memset(&s, 0, sizeof(s));
		if (!pw_compile(c, NULL, &s, &e2))
			pw_state_free(&s);
	}
	pw_cluster_free(c);
	return r;
}

static void t_hostile_deep_flow_nesting(void)
{
	size_t n = 100000;
	char *b = malloc(n + 1);
	struct pw_error err = { { 0 } };

	memset(b, '[', n);
	b[n] = 0;
	CHECK_EQ(load_n(b, n, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "h.yaml:1: nested deeper than 64 levels");
	free(b);
}

static void t_hostile_deep_block_nesting(void)
{
	char *b = malloc(200 * 210 + 64);
	size_t pos = 0;
	struct pw_error err = { { 0 } };

	pos += (size_t)sprintf(b, "kind: Pod\nmetadata:\n");
	for (int i = 0; i < 100; i++)
		pos += (size_t)sprintf(b + pos, "%*sa:\n", 2 * (i + 1), "");
	pos += (size_t)sprintf(b + pos, "%*sx: 1\n", 202, "");
	CHECK_EQ(load_n(b, pos, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "nested deeper than 64 levels");
	free(b);
}

static void t_hostile_nesting_within_bound_loads(void)
{
	char b[4096];
	size_t pos = 0;
	struct pw_error err = { { 0 } };

	/* 60 levels in a field podwall does not read */
	pos += (size_t)sprintf(b, "kind: Pod\nmetadata: {name: p}\nspec: {x: ");
	for (int i = 0; i < 58; i++)
		b[pos++] = '[';
	for (int i = 0; i < 58; i++)
		b[pos++] = ']';
	pos += (size_t)sprintf(b + pos, "}\n");
	CHECK_EQ(load_n(b, pos, &err), 0);
}

/* billion laughs: each level is ten aliases of the one before */
static char *laughs(const char *tail)
{
	char *b = malloc(4096);
	size_t pos = 0;

	pos += (size_t)sprintf(b, "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (int i = 1; i < 10; i++)
		pos += (size_t)sprintf(b + pos, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, "
				       "*a%d, *a%d, *a%d]\n", i, i, i - 1, i - 1, i - 1, i - 1,
				       i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	sprintf(b + pos, "%s", tail);
	return b;
}

static void t_hostile_alias_bomb_in_list_items(void)
{
	char *b = laughs("kind: List\nitems: *a9\n");
	struct pw_error err = { { 0 } };

	CHECK_EQ(load_n(b, strlen(b), &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "h.yaml:");
	free(b);
}

static void t_hostile_alias_bomb_in_labels(void)
{
	char *b = laughs("kind: Pod\nmetadata:\n  name: p\n  labels: *a9\n");
	struct pw_error err = { { 0 } };

	CHECK_EQ(load_n(b, strlen(b), &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "h.yaml:10: metadata.labels: expected a mapping, got a list");
	free(b);
}

static void t_hostile_alias_bomb_unread_is_not_walked(void)
{
	char *b = laughs("kind: Pod\nmetadata: {name: p}\n");
	struct pw_error err = { { 0 } };
	clock_t t0 = clock();

	CHECK_EQ(load_n(b, strlen(b), &err), 0);
	CHECK((clock() - t0) / CLOCKS_PER_SEC < 5);
	free(b);
}

/* aliases that fit every type: containers x ports, each 5000 wide */
static void t_hostile_alias_bomb_cross_product(void)
{
	size_t cap = 200000, pos = 0;
	char *b = malloc(cap);
	struct pw_error err = { { 0 } };
	clock_t t0 = clock();

	pos += (size_t)sprintf(b, "kind: Pod\nmetadata: {name: p}\nx: &port {containerPort: 80}\n"
			       "y: &ports [");
	for (int i = 0; i < 5000; i++)
		pos += (size_t)sprintf(b + pos, "%s*port", i ? "," : "");
	pos += (size_t)sprintf(b + pos, "]\nz: &c {ports: *ports}\nspec:\n  containers: [");
	for (int i = 0; i < 5000; i++)
		pos += (size_t)sprintf(b + pos, "%s*c", i ? "," : "");
	pos += (size_t)sprintf(b + pos, "]\n");
	CHECK(pos < cap);
	CHECK_EQ(load_n(b, pos, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "nodes visited");
	CHECK((clock() - t0) / CLOCKS_PER_SEC < 20);
	free(b);
}

/* a big document without aliases never reaches the visit cap */
static void t_hostile_large_plain_document_loads(void)
{
	size_t cap = 8 * 1024 * 1024, pos = 0;
	char *b = malloc(cap);
	struct pw_cluster *c = pw_cluster_new();
	struct pw_error err = { { 0 } };

	pos += (size_t)sprintf(b, "kind: List\nitems:\n");
	for (int i = 0; i < 2000 && pos < cap - 8192; i++) {
		pos += (size_t)sprintf(b + pos, "- kind: %s\n  metadata:\n    name: o%d\n"
				       "    namespace: n%d\n    labels:\n", i % 2 ? "Pod" : "Namespace",
				       i, i % 7);
		for (int k = 0; k < 20; k++)
			pos += (size_t)sprintf(b + pos, "      l%d: v%d\n", k, i);
		pos += (size_t)sprintf(b + pos, "    annotations:\n");
		for (int k = 0; k < 20; k++)
			pos += (size_t)sprintf(b + pos, "      a%d: \"%d\"\n", k, i);
		pos += (size_t)sprintf(b + pos, "    managedFields: [{manager: m, fieldsV1: {f: {g: {}}}}]\n"
				       "  spec: {containers: [{ports: [{containerPort: 80, name: http}]}]}\n"
				       "  status: {podIP: 10.%d.%d.%d}\n", i >> 16, (i >> 8) & 255, i & 255);
	}
	CHECK_EQ(pw_cluster_load_buffer(c, "big.yaml", b, pos, &err), 0);
	CHECK_EQ(c->n_pods, 1000);
	CHECK_EQ(c->n_namespaces, 1000);
	pw_cluster_free(c);
	free(b);
}

static void t_hostile_huge_scalar(void)
{
	size_t n = PW_LOAD_MAX_SCALAR + 100;
	char *b = malloc(n + 64);
	size_t pos = (size_t)sprintf(b, "kind: Pod\nmetadata:\n  name: ");
	struct pw_error err = { { 0 } };

	memset(b + pos, 'x', n);
	pos += n;
	b[pos++] = '\n';
	CHECK_EQ(load_n(b, pos, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "h.yaml:3: scalar of 1048676 bytes, more than 1048576");
	free(b);
}

/* a 100 KB label value is under the scalar bound but is no label value
 * (63 characters at most): refused with a short message */
static void t_hostile_long_label_value_refused(void)
{
	size_t n = 100000;
	char *b = malloc(n + 128);
	size_t pos = (size_t)sprintf(b, "kind: Pod\nmetadata:\n  name: p\n  labels:\n    k: ");
	struct pw_error err = { { 0 } };

	memset(b + pos, 'v', n);
	pos += n;
	b[pos++] = '\n';
	CHECK_EQ(load_n(b, pos, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "h.yaml:5: metadata.labels.k: invalid label value \"vvvv");
	CHECK_STR_CONTAINS(err.msg, "...\": longer than 63 characters");
	CHECK(strlen(err.msg) < 300);
	free(b);
}

static void t_hostile_file_too_large(void)
{
	static const char small[] = "kind: Pod\n";
	struct pw_cluster *c = pw_cluster_new();
	struct pw_error err = { { 0 } };

	/* the length is refused before a byte is read */
	CHECK_EQ(pw_cluster_load_buffer(c, "big.yaml", small, (size_t)PW_LOAD_MAX_FILE + 1, &err),
		 -EFBIG);
	CHECK_STR_CONTAINS(err.msg, "big.yaml: 67108865 bytes, more than the limit");
	pw_cluster_free(c);
}

static void t_hostile_invalid_utf8(void)
{
	const char b[] = "kind: Pod\nmetadata:\n  name: a\xc3\x28\n";
	struct pw_error err = { { 0 } };

	CHECK_EQ(load_n(b, sizeof(b) - 1, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "h.yaml:3: invalid YAML: invalid trailing UTF-8 octet");
}

static void t_hostile_invalid_utf8_lead(void)
{
	const char b[] = "kind: Pod\nmetadata: {name: \xff}\n";
	struct pw_error err = { { 0 } };

	CHECK_EQ(load_n(b, sizeof(b) - 1, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "h.yaml:2: invalid YAML: invalid leading UTF-8 octet");
}

static void t_hostile_nul_byte(void)
{
	const char b[] = "kind: Pod\nmetadata: {name: a\0b}\n";
	struct pw_error err = { { 0 } };

	CHECK_EQ(load_n(b, sizeof(b) - 1, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "h.yaml:2: invalid YAML: control characters are not allowed");
}

static void t_hostile_truncated(void)
{
	const char b[] =
		"kind: NetworkPolicy\n"
		"metadata: {name: p, namespace: n}\n"
		"spec:\n"
		"  podSelector: {matchLabels: {app: web}}\n"
		"  ingress:\n"
		"  - from:\n"
		"    - podSelector: {matchLabels: {a: \"b";
	struct pw_error err = { { 0 } };

	CHECK_EQ(load_n(b, sizeof(b) - 1, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "h.yaml:7: invalid YAML: found unexpected end of stream");
}

/* every prefix of a real manifest: loads or fails cleanly */
static void t_hostile_every_truncation(void)
{
	const char b[] =
		"apiVersion: v1\n"
		"kind: List\n"
		"items:\n"
		"- kind: Pod\n"
		"  metadata: {name: a, namespace: x, labels: {app: web}}\n"
		"  spec: {containers: [{ports: [{containerPort: 80, name: http}]}]}\n"
		"  status: {podIP: 10.0.0.1, podIPs: [{ip: 10.0.0.1}, {ip: 'fd00::1'}]}\n"
		"- kind: NetworkPolicy\n"
		"  metadata: {name: p, namespace: x}\n"
		"  spec:\n"
		"    podSelector: {matchExpressions: [{key: app, operator: In, values: [web]}]}\n"
		"    ingress:\n"
		"    - from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]\n"
		"      ports: [{port: http}, {port: 1000, endPort: 2000, protocol: UDP}]\n";
	size_t ok = 0, bad = 0;

	for (size_t n = 0; n <= sizeof(b) - 1; n++) {
		struct pw_error err = { { 0 } };
		int r = load_n(b, n, &err);

		if (r) {
			bad++;
			CHECK(r == -EINVAL);
			CHECK(strncmp(err.msg, "h.yaml:", 7) == 0);
		} else {
			ok++;
		}
	}
	CHECK(ok > 0 && bad > 0);
}

static void t_hostile_duplicate_keys_large_mapping(void)
{
	char b[8192];
	size_t pos = (size_t)sprintf(b, "kind: Pod\nmetadata:\n  name: p\n  labels:\n");
	struct pw_error err = { { 0 } };

	for (int i = 0; i < 100; i++)
		pos += (size_t)sprintf(b + pos, "    k%d: v\n", i);
	pos += (size_t)sprintf(b + pos, "    k42: again\n");
	CHECK_EQ(load_n(b, pos, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "h.yaml:105: metadata.labels: duplicate key \"k42\"");
}

static void t_hostile_duplicate_keys_via_merge_style(void)
{
	const char b[] =
		"kind: Pod\n"
		"metadata:\n"
		"  name: p\n"
		"  \"name\": q\n";
	struct pw_error err = { { 0 } };

	CHECK_EQ(load_n(b, sizeof(b) - 1, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "h.yaml:4: metadata: duplicate key \"name\"");
}

static void t_hostile_empty_inputs(void)
{
	struct pw_error err = { { 0 } };

	CHECK_EQ(load_n("", 0, &err), 0);
	CHECK_EQ(load_n("---\n", 4, &err), 0);
	CHECK_EQ(load_n("---\n...\n---\n", 12, &err), 0);
	CHECK_EQ(load_n("# nothing\n", 10, &err), 0);
	CHECK_EQ(load_n("~\n", 2, &err), 0);
}

static void t_hostile_undefined_alias(void)
{
	const char b[] = "kind: Pod\nmetadata: *nothing\n";
	struct pw_error err = { { 0 } };

	CHECK_EQ(load_n(b, sizeof(b) - 1, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "h.yaml:2: invalid YAML: found undefined alias");
}

/* libyaml looks anchors up linearly: 100,000 anchors took 32 s (issue 9) */
static void t_hostile_many_anchors(void)
{
	size_t cap = 2000000, pos = 0;
	char *b = malloc(cap);
	struct pw_error err = { { 0 } };
	clock_t t0 = clock();

	pos += (size_t)sprintf(b, "kind: Pod\nmetadata: {name: a}\nx:\n");
	for (int i = 0; i < 100000; i++)
		pos += (size_t)sprintf(b + pos, "- &a%d %d\n", i, i);
	CHECK_EQ(load_n(b, pos, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "h.yaml:1028: more than 1024 anchors in one document");
	CHECK((clock() - t0) / CLOCKS_PER_SEC < 2);
	free(b);
}

/* ... and for every alias: aliases of the last of many anchors */
static void t_hostile_many_aliases(void)
{
	size_t cap = 2000000, pos = 0;
	char *b = malloc(cap);
	struct pw_error err = { { 0 } };
	clock_t t0 = clock();

	pos += (size_t)sprintf(b, "kind: Pod\nmetadata: {name: a}\nx:\n");
	for (int i = 0; i < 1000; i++)
		pos += (size_t)sprintf(b + pos, "- &a%d %d\n", i, i);
	pos += (size_t)sprintf(b + pos, "y: [");
	for (int i = 0; i < 100000; i++)
		pos += (size_t)sprintf(b + pos, "%s*a999", i ? "," : "");
	pos += (size_t)sprintf(b + pos, "]\n");
	CHECK(pos < cap);
	CHECK_EQ(load_n(b, pos, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "more than 65536 aliases in one document");
	CHECK((clock() - t0) / CLOCKS_PER_SEC < 2);
	free(b);
}

/* random byte flips of a valid case: loads or fails cleanly */
static void t_hostile_mutations(void)
{
	const char base[] =
		"kind: Namespace\n"
		"metadata: {name: x, labels: {ns: x}}\n"
		"---\n"
		"kind: Pod\n"
		"metadata: {name: a, namespace: x, labels: {pod: a}}\n"
		"spec: {containers: [{ports: [{containerPort: 80, name: serve-80-tcp}]}]}\n"
		"status: {podIP: 10.0.1.1}\n"
		"---\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: p, namespace: x}\n"
		"spec:\n"
		"  podSelector: {matchLabels: {pod: a}}\n"
		"  egress: [{to: [{ipBlock: {cidr: 10.0.1.1/4, except: [10.0.1.2/32]}}], "
		"ports: [{port: serve-80-tcp}]}]\n"
		"  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: ns, "
		"operator: NotIn, values: [y]}]}}]}]\n";
	static const char alphabet[] = "{}[]:,-'\"&*!|>%@`#\n \t0aZ/.\\\xff\xc3";
	unsigned seed = 12345;
	char b[sizeof(base)];

	for (int it = 0; it < 3000; it++) {
		struct pw_error err = { { 0 } };
		int flips = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 4;

		memcpy(b, base, sizeof(base));
		for (int f = 0; f < flips; f++) {
			size_t at = ((seed = seed * 1103515245u + 12345u) >> 8) % (sizeof(base) - 1);
			size_t ch = ((seed = seed * 1103515245u + 12345u) >> 8) % (sizeof(alphabet) - 1);

			b[at] = alphabet[ch];
		}
		(void)load_n(b, sizeof(base) - 1, &err);
	}
	CHECK(1);
}

int suite_hostile(void)
{
	RUN(t_hostile_deep_flow_nesting);
	RUN(t_hostile_deep_block_nesting);
	RUN(t_hostile_nesting_within_bound_loads);
	RUN(t_hostile_alias_bomb_in_list_items);
	RUN(t_hostile_alias_bomb_in_labels);
	RUN(t_hostile_alias_bomb_unread_is_not_walked);
	RUN(t_hostile_alias_bomb_cross_product);
	RUN(t_hostile_large_plain_document_loads);
	RUN(t_hostile_huge_scalar);
	RUN(t_hostile_long_label_value_refused);
	RUN(t_hostile_file_too_large);
	RUN(t_hostile_invalid_utf8);
	RUN(t_hostile_invalid_utf8_lead);
	RUN(t_hostile_nul_byte);
	RUN(t_hostile_truncated);
	RUN(t_hostile_every_truncation);
	RUN(t_hostile_duplicate_keys_large_mapping);
	RUN(t_hostile_duplicate_keys_via_merge_style);
	RUN(t_hostile_empty_inputs);
	RUN(t_hostile_undefined_alias);
	RUN(t_hostile_many_anchors);
	RUN(t_hostile_many_aliases);
	RUN(t_hostile_mutations);
	return check_n_fail;
}
