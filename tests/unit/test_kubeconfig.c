/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kubeconfig reader (agent/source/kubeconfig.c) on good and hostile
 * files: bounds (size, nesting, scalar length, entries, anchors, aliases),
 * duplicate keys and names, wrong types, NUL bytes. Every refusal is quick,
 * says "PATH:LINE: field.path: why" (or PATH: why), and leaves *out empty.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "model.h"
#include "source/kubeconfig.h"

static char kdir[64];
static char kpath[96];

#define GOOD "apiVersion: v1\n"                                                 /* 1 */ \
	     "kind: Config\n"                                                   /* 2 */ \
	     "current-context: c\n"                                             /* 3 */ \
	     "contexts:\n"                                                      /* 4 */ \
	     "- name: c\n"                                                      /* 5 */ \
	     "  context: {cluster: k, user: u}\n"                               /* 6 */ \
	     "clusters:\n"                                                      /* 7 */ \
	     "- name: k\n"                                                      /* 8 */ \
	     "  cluster:\n"                                                     /* 9 */ \
	     "    server: https://198.18.0.1:6443/\n"                           /* 10 */ \
	     "    certificate-authority: ca.crt\n"                              /* 11 */ \
	     "users:\n"                                                         /* 12 */ \
	     "- name: u\n"                                                      /* 13 */ \
	     "  user: {token: abc.def}\n"                                       /* 14 */

static void write_file(const char *data, size_t len)
{
	int fd;

	if (!kdir[0]) {
		snprintf(kdir, sizeof(kdir), "/tmp/pw-unit-kcfg.XXXXXX");
		if (!mkdtemp(kdir))
			abort();
		snprintf(kpath, sizeof(kpath), "%s/config", kdir);
	}
	fd = open(kpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

static struct pw_error last_err; /* of the last load() */

/* load text; 0 or the error, with why; *ms how long it took */
static int load(const char *text, size_t len, struct pw_kcfg *cfg, char *why, size_t n,
		double *ms)
{
	struct timespec a, b;
	int r;

	write_file(text, len);
	clock_gettime(CLOCK_MONOTONIC, &a);
	r = pw_kcfg_load(kpath, NULL, cfg, &last_err);
	clock_gettime(CLOCK_MONOTONIC, &b);
	snprintf(why, n, "%s", last_err.msg);
	if (ms)
		*ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	return r;
}

/* refused with -EINVAL, a message holding want (after the path), fast,
 * and nothing left in cfg */
static void refused(const char *text, size_t len, const char *want)
{
	struct pw_kcfg cfg;
	char why[1024], full[160];

	memset(&cfg, 0, sizeof(cfg));
	double ms = 0;

	CHECK_EQ(load(text, len, &cfg, why, sizeof(why), &ms), -EINVAL);
	snprintf(full, sizeof(full), "%s%s", kpath, want);
	CHECK_STR_CONTAINS(why, full);
	/* the place as pw_error's fields too: the file, and the line want names */
	CHECK(!strcmp(last_err.file, kpath));
	CHECK_EQ(last_err.line, atoi(want + 1));
	CHECK(!cfg.server && !cfg.token && !cfg.origin);
	CHECK(ms < 2000);
}

static void t_kcfg_good(void)
{
	struct pw_kcfg cfg;
	char why[512], ca[128];

	CHECK_EQ(load(GOOD, strlen(GOOD), &cfg, why, sizeof(why), NULL), 0);
	CHECK(cfg.server && !strcmp(cfg.server, "https://198.18.0.1:6443"));
	CHECK(cfg.token && !strcmp(cfg.token, "abc.def"));
	snprintf(ca, sizeof(ca), "%s/ca.crt", kdir);
	CHECK(cfg.ca_file && !strcmp(cfg.ca_file, ca));
	CHECK(!cfg.insecure);
	pw_kcfg_free(&cfg);
}

/* go-yaml v2 reads only the first document; so does the reader, and what
 * follows it is not even parsed */
static void t_kcfg_first_document_only(void)
{
	static const char text[] = GOOD "---\n[ not yaml at all\n";
	struct pw_kcfg cfg;
	char why[512];

	CHECK_EQ(load(text, strlen(text), &cfg, why, sizeof(why), NULL), 0);
	pw_kcfg_free(&cfg);
}

/* insecure-skip-tls-verify is a YAML 1.1 boolean, as kubectl reads it */
static void t_kcfg_insecure_bool(void)
{
#define INSECURE(v) "current-context: c\n"                                         \
		    "contexts: [{name: c, context: {cluster: k}}]\n"               \
		    "clusters: [{name: k, cluster: {server: 'https://198.18.0.1', " \
		    "insecure-skip-tls-verify: " v "}}]\n"
	static const char yes[] = INSECURE("yes"), quoted[] = INSECURE("\"true\"");
	struct pw_kcfg cfg;
	char why[512];

	CHECK_EQ(load(yes, strlen(yes), &cfg, why, sizeof(why), NULL), 0);
	CHECK(cfg.insecure);
	pw_kcfg_free(&cfg);
	refused(quoted, strlen(quoted),
		":3: clusters[0].cluster.insecure-skip-tls-verify: expected true or false");
#undef INSECURE
}

#define REFUSED(fn, text, want)                                                 \
	static void fn(void)                                                    \
	{                                                                       \
		refused(text, strlen(text), want);                              \
	}

REFUSED(t_kcfg_duplicate_server,
	"current-context: c\n"
	"contexts: [{name: c, context: {cluster: k}}]\n"
	"clusters:\n"
	"- name: k\n"
	"  cluster:\n"
	"    server: https://198.18.0.1\n"
	"    server: https://198.18.0.2\n",
	":7: clusters[0].cluster: duplicate key \"server\"")

REFUSED(t_kcfg_duplicate_top_key,
	"current-context: c\n"
	"current-context: d\n",
	":2: duplicate key \"current-context\"")

REFUSED(t_kcfg_duplicate_context_name,
	"current-context: c\n"
	"contexts:\n"
	"- {name: c, context: {cluster: k}}\n"
	"- {name: c, context: {cluster: evil}}\n"
	"clusters: [{name: k, cluster: {server: 'https://198.18.0.1'}}]\n",
	":4: contexts[1]: a second entry named \"c\" (the first is contexts[0])")

REFUSED(t_kcfg_wrong_type_server,
	"current-context: c\n"
	"contexts: [{name: c, context: {cluster: k}}]\n"
	"clusters: [{name: k, cluster: {server: [https://198.18.0.1]}}]\n",
	":3: clusters[0].cluster.server: expected a string, got a list")

/* the field as pw_error's field, not only in the message */
static void t_kcfg_error_field(void)
{
	struct pw_kcfg cfg;
	char why[512];
	const char *text = "current-context: c\n"
			   "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
			   "clusters: [{name: k, cluster: {server: 'https://198.18.0.1'}}]\n"
			   "users: [{name: u, user: {client-key-data: '!!!'}}]\n";

	memset(&cfg, 0, sizeof(cfg));
	CHECK_EQ(load(text, strlen(text), &cfg, why, sizeof(why), NULL), -EINVAL);
	CHECK(!strcmp(last_err.field, "users[0].user.client-key-data"));
	CHECK_EQ(last_err.line, 4);
}

REFUSED(t_kcfg_wrong_type_clusters,
	"current-context: c\n"
	"contexts: [{name: c, context: {cluster: k}}]\n"
	"clusters: {k: {server: 'https://198.18.0.1'}}\n",
	":3: clusters: expected a list, got a mapping")

REFUSED(t_kcfg_wrong_type_entry,
	"current-context: c\n"
	"contexts: [c]\n",
	":2: contexts[0]: expected a mapping, got a string")

REFUSED(t_kcfg_wrong_type_root,
	"- a\n- b\n",
	":1: a kubeconfig is a mapping, got a list")

REFUSED(t_kcfg_nul_in_token,
	"current-context: c\n"
	"contexts: [{name: c, context: {cluster: k, user: u}}]\n"
	"clusters: [{name: k, cluster: {server: 'https://198.18.0.1'}}]\n"
	"users: [{name: u, user: {token: \"abc\\0def\"}}]\n",
	":4: users[0].user.token: NUL byte in string")

REFUSED(t_kcfg_bad_base64_path,
	"current-context: c\n"
	"contexts: [{name: c, context: {cluster: k, user: u}}]\n"
	"clusters: [{name: k, cluster: {server: 'https://198.18.0.1'}}]\n"
	"users: [{name: u, user: {client-key-data: '!!!'}}]\n",
	":4: users[0].user.client-key-data: not base64")

REFUSED(t_kcfg_missing_cluster_line,
	"current-context: c\n"
	"contexts:\n"
	"- name: c\n"
	"  context: {cluster: nowhere}\n",
	":4: contexts[0].context.cluster: no cluster named \"nowhere\"")

REFUSED(t_kcfg_missing_context_line,
	"current-context: nowhere\n",
	":1: current-context: no context named \"nowhere\"")

/* ------------------------------------------------------------ bounds */

static char *repeat(const char *head, const char *unit, size_t n, const char *tail, size_t *len)
{
	size_t h = strlen(head), u = strlen(unit), t = strlen(tail);
	char *b = malloc(h + u * n + t + 1);

	if (!b)
		abort();
	memcpy(b, head, h);
	for (size_t i = 0; i < n; i++)
		memcpy(b + h + i * u, unit, u);
	memcpy(b + h + u * n, tail, t + 1);
	*len = h + u * n + t;
	return b;
}

static void t_kcfg_deep_nesting(void)
{
	size_t len;
	char *b = repeat("current-context: c\nx: ", "[", 100000, "\n", &len);

	refused(b, len, ":2: nested deeper than 32 levels");
	free(b);
}

static void t_kcfg_huge_scalar(void)
{
	size_t len;
	char *b = repeat("current-context: c\ntoken: ", "a", (1u << 20) + 1, "\n", &len);

	refused(b, len, ":2: scalar of 1048577 bytes, more than 1048576");
	free(b);
}

static void t_kcfg_too_many_entries(void)
{
	size_t len;
	char *b = repeat("current-context: c\ncontexts:\n", "- {name: x}\n", 20000, "", &len);

	refused(b, len, ":16387: a list or mapping of more than 16384 entries");
	free(b);
}

static void t_kcfg_too_many_keys(void)
{
	char *b = malloc(20000 * 16 + 64);
	size_t len = (size_t)sprintf(b, "current-context: c\n");

	for (int i = 0; i < 20000; i++)
		len += (size_t)sprintf(b + len, "k%d: v\n", i);
	refused(b, len, ":16385: a list or mapping of more than 16384 entries");
	free(b);
}

static void t_kcfg_too_many_anchors(void)
{
	char *b = malloc(2000 * 24 + 64);
	size_t len = (size_t)sprintf(b, "current-context: c\nx:\n");

	for (int i = 0; i < 2000; i++)
		len += (size_t)sprintf(b + len, "- &a%d %d\n", i, i);
	refused(b, len, ":1027: more than 1024 anchors");
	free(b);
}

static void t_kcfg_too_many_aliases(void)
{
	size_t len, ul = strlen("*a,"), n = 15000;
	char *b = malloc(5 * (n * ul + 16) + 64), *p = b;

	p += sprintf(p, "current-context: c\na: &a x\n");
	for (int l = 0; l < 5; l++) {
		p += sprintf(p, "y%d: [", l);
		for (size_t i = 0; i < n; i++)
			p += sprintf(p, "*a,");
		p += sprintf(p, "*a]\n");
	}
	len = (size_t)(p - b);
	refused(b, len, ":7: more than 65536 aliases");
	free(b);
}

/* a list of 10,000 aliases of a mapping of 10,000 keys: each entry's name
 * would be looked up through the whole mapping (10^8 pairs); the lookups
 * are capped instead, and the refusal is quick */
static void t_kcfg_alias_fanout_capped(void)
{
	char *b = malloc(10000 * 32 + 10000 * 8 + 256);
	size_t len = (size_t)sprintf(b, "big: &big {");

	for (int i = 0; i < 10000; i++)
		len += (size_t)sprintf(b + len, "%sk%d: v", i ? ", " : "", i);
	len += (size_t)sprintf(b + len, "}\ncurrent-context: c\ncontexts: [");
	for (int i = 0; i < 10000; i++)
		len += (size_t)sprintf(b + len, "*big, ");
	len += (size_t)sprintf(b + len, "{name: c, context: {cluster: k}}]\n"
			       "clusters: [{name: k, cluster: {server: 'https://198.18.0.1'}}]\n");
	refused(b, len, ":1: contexts[");
	CHECK_STR_CONTAINS(kpath, "config");
	free(b);
}

static void t_kcfg_file_too_large(void)
{
	struct pw_kcfg cfg;
	struct pw_error e;
	int fd;

	write_file("current-context: c\n# ", 21);
	fd = open(kpath, O_WRONLY | O_CLOEXEC);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)PW_KCFG_MAX_FILE + 1) == 0);
	if (fd >= 0)
		close(fd);
	CHECK_EQ(pw_kcfg_load(kpath, NULL, &cfg, &e), -EFBIG);
	CHECK_STR_CONTAINS(e.msg, "16777217 bytes, more than the limit of 16777216");
	CHECK(!cfg.server);
}

/* not a regular file: read up to the bound, then refused */
static void t_kcfg_endless_file(void)
{
	struct pw_kcfg cfg;
	struct pw_error e;

	CHECK_EQ(pw_kcfg_load("/dev/zero", NULL, &cfg, &e), -EFBIG);
	CHECK_STR_CONTAINS(e.msg, "/dev/zero: more than the limit of 16777216 bytes");
}

static void t_kcfg_missing_file(void)
{
	struct pw_kcfg cfg;
	struct pw_error e;

	CHECK_EQ(pw_kcfg_load("/nonexistent/kubeconfig", NULL, &cfg, &e), -ENOENT);
	CHECK_STR_CONTAINS(e.msg, "/nonexistent/kubeconfig: No such file or directory");
}

int suite_kubeconfig(void)
{
	RUN(t_kcfg_good);
	RUN(t_kcfg_first_document_only);
	RUN(t_kcfg_insecure_bool);
	RUN(t_kcfg_duplicate_server);
	RUN(t_kcfg_duplicate_top_key);
	RUN(t_kcfg_duplicate_context_name);
	RUN(t_kcfg_wrong_type_server);
	RUN(t_kcfg_error_field);
	RUN(t_kcfg_wrong_type_clusters);
	RUN(t_kcfg_wrong_type_entry);
	RUN(t_kcfg_wrong_type_root);
	RUN(t_kcfg_nul_in_token);
	RUN(t_kcfg_bad_base64_path);
	RUN(t_kcfg_missing_cluster_line);
	RUN(t_kcfg_missing_context_line);
	RUN(t_kcfg_deep_nesting);
	RUN(t_kcfg_huge_scalar);
	RUN(t_kcfg_too_many_entries);
	RUN(t_kcfg_too_many_keys);
	RUN(t_kcfg_too_many_anchors);
	RUN(t_kcfg_too_many_aliases);
	RUN(t_kcfg_alias_fanout_capped);
	RUN(t_kcfg_file_too_large);
	RUN(t_kcfg_endless_file);
	RUN(t_kcfg_missing_file);
	if (kdir[0]) {
		unlink(kpath);
		rmdir(kdir);
	}
	return check_summary();
}
