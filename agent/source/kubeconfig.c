// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kubeconfig and in-cluster configuration (kubeconfig.h), read with libyaml.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>
#include "source/kubeconfig.h"

void pw_kcfg_free(struct pw_kcfg *c)
{
	free(c->server);
	free(c->token);
	free(c->token_file);
	free(c->ca_file);
	free(c->ca.data);
	free(c->cert_file);
	free(c->cert.data);
	free(c->key_file);
	free(c->key.data);
	free(c->username);
	free(c->password);
	free(c->tls_server_name);
	free(c->origin);
	memset(c, 0, sizeof(*c));
}

int pw_base64_decode(const char *in, struct pw_blob *out)
{
	size_t n = strlen(in), o = 0;
	unsigned char *buf = malloc(n / 4 * 3 + 4);
	uint32_t acc = 0;
	int bits = 0;

	out->data = NULL;
	out->len = 0;
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char ch = in[i];
		int v;

		if (ch >= 'A' && ch <= 'Z')
			v = ch - 'A';
		else if (ch >= 'a' && ch <= 'z')
			v = ch - 'a' + 26;
		else if (ch >= '0' && ch <= '9')
			v = ch - '0' + 52;
		else if (ch == '+' || ch == '-')
			v = 62;
		else if (ch == '/' || ch == '_')
			v = 63;
		else if (ch == '=')
			break;
		else if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
			continue;
		else {
			free(buf);
			return -EINVAL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
		}
	}
	buf[o] = 0;
	out->data = buf;
	out->len = o;
	return 0;
}

static char *read_text(const char *path, size_t max)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(max + 1);
	if (!buf) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, max, f);
	fclose(f);
	buf[n] = 0;
	/* tokens end at the first line break */
	buf[strcspn(buf, "\r\n")] = 0;
	return buf;
}

char *pw_kcfg_token(const struct pw_kcfg *c)
{
	if (c->token_file) {
		char *t = read_text(c->token_file, 64 * 1024);

		if (t && t[0])
			return t;
		free(t);
	}
	return c->token ? strdup(c->token) : NULL;
}

int pw_kcfg_in_cluster(struct pw_kcfg *out, char *why, size_t why_len)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char buf[512];

	memset(out, 0, sizeof(*out));
	if (!host || !host[0] || !port || !port[0]) {
		snprintf(why, why_len, "not in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set "
			 "(give --kubeconfig PATH)");
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
		 port);
	out->server = strdup(buf);
	out->token_file = strdup(PW_SA_DIR "/token");
	out->ca_file = strdup(PW_SA_DIR "/ca.crt");
	out->origin = strdup("in-cluster service account");
	if (!out->server || !out->token_file || !out->ca_file || !out->origin) {
		pw_kcfg_free(out);
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	if (access(out->token_file, R_OK)) {
		snprintf(why, why_len, "%s: %s", out->token_file, strerror(errno));
		pw_kcfg_free(out);
		return -ENOENT;
	}
	return 0;
}

/* --------------------------------------------------------------- YAML */

struct kdoc {
	yaml_document_t d;
	char            dir[PATH_MAX];
};

static yaml_node_t *node(struct kdoc *k, int id)
{
	return id ? yaml_document_get_node(&k->d, id) : NULL;
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *get(struct kdoc *k, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		const char *s = scalar(node(k, p->key));

		if (s && !strcmp(s, key))
			return node(k, p->value);
	}
	return NULL;
}

/* The `field` mapping of the entry named name in the list seq (clusters, users, contexts). */
static yaml_node_t *named(struct kdoc *k, yaml_node_t *seq, const char *name, const char *field)
{
	if (!seq || seq->type != YAML_SEQUENCE_NODE || !name)
		return NULL;
	for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
	     i++) {
		yaml_node_t *e = node(k, *i);
		const char *n = scalar(get(k, e, "name"));

		if (n && !strcmp(n, name))
			return get(k, e, field);
	}
	return NULL;
}

static int dup_str(const char *s, char **out)
{
	*out = NULL;
	if (!s || !s[0])
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

static int dup_path(struct kdoc *k, const char *s, char **out)
{
	char buf[PATH_MAX];

	*out = NULL;
	if (!s || !s[0])
		return 0;
	if (s[0] == '/' || !k->dir[0])
		return dup_str(s, out);
	if (snprintf(buf, sizeof(buf), "%s/%s", k->dir, s) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	return dup_str(buf, out);
}

static int blob(const char *s, struct pw_blob *out, const char *what, char *why, size_t why_len)
{
	if (!s || !s[0])
		return 0;
	if (pw_base64_decode(s, out)) {
		snprintf(why, why_len, "%s: not base64", what);
		return -EINVAL;
	}
	return 0;
}

int pw_kcfg_load(const char *path, const char *context, struct pw_kcfg *out, char *why,
		 size_t why_len)
{
	struct kdoc k;
	yaml_parser_t p;
	yaml_node_t *root, *ctx, *cl, *us;
	const char *ctx_name, *cl_name, *us_name, *s;
	char buf[PATH_MAX + 128];
	FILE *f;
	int ret = -EINVAL;

	memset(out, 0, sizeof(*out));
	memset(&k, 0, sizeof(k));
	why[0] = 0;
	f = fopen(path, "re");
	if (!f) {
		snprintf(why, why_len, "%s: %s", path, strerror(errno));
		return -errno;
	}
	{
		const char *slash = strrchr(path, '/');

		if (slash)
			snprintf(k.dir, sizeof(k.dir), "%.*s", (int)(slash - path), path);
		if (slash == path)
			snprintf(k.dir, sizeof(k.dir), "/");
	}
	if (!yaml_parser_initialize(&p)) {
		fclose(f);
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&p, f);
	if (!yaml_parser_load(&p, &k.d)) {
		snprintf(why, why_len, "%s:%zu: %s", path, p.problem_mark.line + 1,
			 p.problem ? p.problem : "YAML error");
		yaml_parser_delete(&p);
		fclose(f);
		return -EINVAL;
	}
	yaml_parser_delete(&p);
	fclose(f);

	root = yaml_document_get_root_node(&k.d);
	ctx_name = context ? context : scalar(get(&k, root, "current-context"));
	if (!ctx_name) {
		snprintf(why, why_len, "%s: no current-context (give --kube-context)", path);
		goto out;
	}
	ctx = named(&k, get(&k, root, "contexts"), ctx_name, "context");
	if (!ctx) {
		snprintf(why, why_len, "%s: no context named \"%s\"", path, ctx_name);
		goto out;
	}
	cl_name = scalar(get(&k, ctx, "cluster"));
	us_name = scalar(get(&k, ctx, "user"));
	cl = named(&k, get(&k, root, "clusters"), cl_name, "cluster");
	if (!cl) {
		snprintf(why, why_len, "%s: context \"%s\": no cluster named \"%s\"", path, ctx_name,
			 cl_name ? cl_name : "");
		goto out;
	}
	us = us_name ? named(&k, get(&k, root, "users"), us_name, "user") : NULL;
	if (us_name && !us) {
		snprintf(why, why_len, "%s: context \"%s\": no user named \"%s\"", path, ctx_name,
			 us_name);
		goto out;
	}

	s = scalar(get(&k, cl, "server"));
	/* with a host: "https://" alone left "https:" once trailing slashes went */
	if (!s || (strncmp(s, "https://", 8) && strncmp(s, "http://", 7)) ||
	    !s[strncmp(s, "https://", 8) ? 7 : 8] || s[strncmp(s, "https://", 8) ? 7 : 8] == '/') {
		snprintf(why, why_len, "%s: cluster \"%s\": server must be an http(s) URL", path,
			 cl_name);
		goto out;
	}
	ret = -ENOMEM;
	if (dup_str(s, &out->server))
		goto out;
	while (out->server[0] && out->server[strlen(out->server) - 1] == '/')
		out->server[strlen(out->server) - 1] = 0;
	if (dup_path(&k, scalar(get(&k, cl, "certificate-authority")), &out->ca_file) ||
	    dup_str(scalar(get(&k, cl, "tls-server-name")), &out->tls_server_name))
		goto out;
	ret = blob(scalar(get(&k, cl, "certificate-authority-data")), &out->ca,
		   "certificate-authority-data", why, why_len);
	if (ret)
		goto out;
	s = scalar(get(&k, cl, "insecure-skip-tls-verify"));
	out->insecure = s && !strcmp(s, "true");

	if (us) {
		if (get(&k, us, "exec") || get(&k, us, "auth-provider")) {
			snprintf(why, why_len, "%s: user \"%s\": exec and auth-provider credentials "
				 "are not supported; use a token or a client certificate", path, us_name);
			ret = -EINVAL;
			goto out;
		}
		ret = -ENOMEM;
		if (dup_str(scalar(get(&k, us, "token")), &out->token) ||
		    dup_path(&k, scalar(get(&k, us, "tokenFile")), &out->token_file) ||
		    dup_path(&k, scalar(get(&k, us, "client-certificate")), &out->cert_file) ||
		    dup_path(&k, scalar(get(&k, us, "client-key")), &out->key_file) ||
		    dup_str(scalar(get(&k, us, "username")), &out->username) ||
		    dup_str(scalar(get(&k, us, "password")), &out->password))
			goto out;
		ret = blob(scalar(get(&k, us, "client-certificate-data")), &out->cert,
			   "client-certificate-data", why, why_len);
		if (!ret)
			ret = blob(scalar(get(&k, us, "client-key-data")), &out->key,
				   "client-key-data", why, why_len);
		if (ret)
			goto out;
	}
	snprintf(buf, sizeof(buf), "kubeconfig %s (context %s)", path, ctx_name);
	ret = dup_str(buf, &out->origin);
out:
	yaml_document_delete(&k.d);
	if (ret) {
		if (ret == -ENOMEM && !why[0])
			snprintf(why, why_len, "out of memory");
		pw_kcfg_free(out);
	}
	return ret;
}
