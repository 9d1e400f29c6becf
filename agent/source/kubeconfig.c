// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kubeconfig and in-cluster configuration (kubeconfig.h), read with libyaml.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <yaml.h>
#include "model.h" /* struct pw_error */
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

int pw_kcfg_in_cluster(struct pw_kcfg *out, struct pw_error *err)
{
	char *why = err->msg;
	size_t why_len = sizeof(err->msg);

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

/*
 * The file is hostile input as much as a manifest is (whoever can write it
 * decides which API server the agent trusts, but a broken or planted file
 * must not take the agent down): it is read whole within PW_KCFG_MAX_FILE,
 * its first document is scanned as events with every bound checked before
 * libyaml builds it, and every value read is checked for its type, for a
 * second key of the same name and for NUL bytes. Errors name the file, the
 * line and the field: "PATH:LINE: users[0].user.token: expected a string".
 */
struct kdoc {
	yaml_document_t d;
	char            dir[PATH_MAX];
	const char     *path;
	struct pw_error *err;           /* why = err->msg */
	char           *why;
	size_t          why_len;
	/* mapping pairs looked at, and the cap: aliases share nodes, so a list
	 * of aliases of one large mapping would make lookups quadratic */
	size_t          visits, max_visits;
};

/* why = "PATH:LINE: " and the message, the place in err too; -EINVAL */
static int kfail_at(struct kdoc *k, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int kfail_at(struct kdoc *k, int line, const char *fmt, ...)
{
	va_list ap;
	int m;

	snprintf(k->err->file, sizeof(k->err->file), "%s", k->path);
	k->err->line = line;
	m = snprintf(k->why, k->why_len, "%s:%d: ", k->path, line);
	if (m < 0 || (size_t)m >= k->why_len)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(k->why + m, k->why_len - (size_t)m, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* why = "PATH:LINE: field: " and the message (the place in err too); -EINVAL */
static int kerr(struct kdoc *k, const yaml_node_t *n, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int kerr(struct kdoc *k, const yaml_node_t *n, const char *field, const char *fmt, ...)
{
	char msg[sizeof(k->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kfail_at(k, n ? (int)n->start_mark.line + 1 : 1, "%s%s%s", field ? field : "",
		 field ? ": " : "", msg);
	snprintf(k->err->field, sizeof(k->err->field), "%s", field ? field : "");
	return -EINVAL;
}

static yaml_node_t *node(struct kdoc *k, int id)
{
	return id ? yaml_document_get_node(&k->d, id) : NULL;
}

static bool is_null(const yaml_node_t *n)
{
	const char *v;

	if (!n)
		return true;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

static const char *type_name(const yaml_node_t *n)
{
	if (is_null(n))
		return "null";
	return n->type == YAML_MAPPING_NODE ? "a mapping"
	       : n->type == YAML_SEQUENCE_NODE ? "a list" : "a string";
}

/* *out = m[key] (NULL when absent or null). m must be a mapping (or null)
 * with key at most once. */
static int get(struct kdoc *k, yaml_node_t *m, const char *mfield, const char *key,
	       yaml_node_t **out)
{
	yaml_node_t *found = NULL;

	*out = NULL;
	if (is_null(m))
		return 0;
	if (m->type != YAML_MAPPING_NODE)
		return kerr(k, m, mfield, "expected a mapping, got %s", type_name(m));
	k->visits += (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
	if (k->visits > k->max_visits)
		return kerr(k, m, mfield, "aliases make this kubeconfig cost more than %zu lookups",
			    k->max_visits);
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = node(k, p->key);

		if (!kn || kn->type != YAML_SCALAR_NODE ||
		    kn->data.scalar.length != strlen(key) ||
		    memcmp(kn->data.scalar.value, key, kn->data.scalar.length))
			continue;
		if (found)
			return kerr(k, kn, mfield, "duplicate key \"%s\"", key);
		found = node(k, p->value);
		if (!found)
			return kerr(k, kn, mfield, "internal error: dangling YAML node");
	}
	if (!is_null(found))
		*out = found;
	return 0;
}

/* *out = the string m[key], NULL when absent or null */
static int get_str(struct kdoc *k, yaml_node_t *m, const char *mfield, const char *key,
		   const char **out)
{
	char field[256];
	yaml_node_t *v;
	int ret = get(k, m, mfield, key, &v);

	*out = NULL;
	if (ret || !v)
		return ret;
	snprintf(field, sizeof(field), "%s%s%s", mfield ? mfield : "", mfield ? "." : "", key);
	if (v->type != YAML_SCALAR_NODE)
		return kerr(k, v, field, "expected a string, got %s", type_name(v));
	if (memchr(v->data.scalar.value, 0, v->data.scalar.length))
		return kerr(k, v, field, "NUL byte in string");
	*out = (const char *)v->data.scalar.value;
	return 0;
}

/* The `field` mapping of the one entry named name in the list key of the
 * root (clusters, users, contexts); *out NULL when there is none. A second
 * entry of that name is an error, as it is to kubectl. */
static int named(struct kdoc *k, yaml_node_t *root, const char *key, const char *name,
		 const char *field, yaml_node_t **out, char *opath, size_t opath_len)
{
	yaml_node_t *seq, *hit = NULL;
	size_t hit_i = 0;
	int ret;

	*out = NULL;
	ret = get(k, root, NULL, key, &seq);
	if (ret || !seq)
		return ret;
	if (seq->type != YAML_SEQUENCE_NODE)
		return kerr(k, seq, key, "expected a list, got %s", type_name(seq));
	for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
	     i++) {
		size_t idx = (size_t)(i - seq->data.sequence.items.start);
		yaml_node_t *e = node(k, *i);
		const char *n;
		char epath[64];

		snprintf(epath, sizeof(epath), "%s[%zu]", key, idx);
		if (!e || e->type != YAML_MAPPING_NODE)
			return kerr(k, e, epath, "expected a mapping, got %s", type_name(e));
		ret = get_str(k, e, epath, "name", &n);
		if (ret)
			return ret;
		if (!n || strcmp(n, name))
			continue;
		if (hit)
			return kerr(k, e, epath, "a second entry named \"%.100s\" (the first is %s[%zu])",
				    name, key, hit_i);
		hit = e;
		hit_i = idx;
	}
	if (!hit)
		return 0;
	snprintf(opath, opath_len, "%s[%zu].%s", key, hit_i, field);
	ret = get(k, hit, opath, field, out);
	if (!ret && *out && (*out)->type != YAML_MAPPING_NODE)
		return kerr(k, *out, opath, "expected a mapping, got %s", type_name(*out));
	return ret;
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

/* m[key] as a string (NULL when absent), copied (a path: relative to the
 * kubeconfig's directory when as_path) */
static int take_str(struct kdoc *k, yaml_node_t *m, const char *mfield, const char *key,
		    bool as_path, char **out)
{
	const char *s;
	int ret = get_str(k, m, mfield, key, &s);

	*out = NULL;
	if (ret)
		return ret;
	ret = as_path ? dup_path(k, s, out) : dup_str(s, out);
	if (ret == -ENAMETOOLONG)
		return kerr(k, m, mfield, "%s: path too long", key);
	if (ret)
		return kerr(k, m, mfield, "out of memory");
	return 0;
}

static int take_blob(struct kdoc *k, yaml_node_t *m, const char *mfield, const char *key,
		     struct pw_blob *out)
{
	const char *s;
	yaml_node_t *v;
	int ret = get_str(k, m, mfield, key, &s);

	if (ret || !s || !s[0])
		return ret;
	if (pw_base64_decode(s, out)) {
		char field[256];

		snprintf(field, sizeof(field), "%s.%s", mfield, key);
		get(k, m, mfield, key, &v);
		return kerr(k, v, field, "not base64");
	}
	return 0;
}

/* Read the file whole, within the bound. */
static int read_bounded(struct kdoc *k, char **buf, size_t *len)
{
	struct stat st;
	size_t cap = 64 * 1024, n = 0;
	char *b = NULL;
	int fd, ret = 0;

	*buf = NULL;
	*len = 0;
	fd = open(k->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(k->why, k->why_len, "%s: %s", k->path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > PW_KCFG_MAX_FILE) {
		snprintf(k->why, k->why_len, "%s: %lld bytes, more than the limit of %u", k->path,
			 (long long)st.st_size, PW_KCFG_MAX_FILE);
		ret = -EFBIG;
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			if (cap > PW_KCFG_MAX_FILE) {
				snprintf(k->why, k->why_len, "%s: more than the limit of %u bytes",
					 k->path, PW_KCFG_MAX_FILE);
				ret = -EFBIG;
				goto out;
			}
			nb = realloc(b, cap * 2);
			if (!nb) {
				ret = -ENOMEM;
				snprintf(k->why, k->why_len, "%s: out of memory", k->path);
				goto out;
			}
			b = nb;
			cap *= 2;
		}
		if (!b && !(b = malloc(cap))) {
			ret = -ENOMEM;
			snprintf(k->why, k->why_len, "%s: out of memory", k->path);
			goto out;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			snprintf(k->why, k->why_len, "%s: read: %s", k->path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > PW_KCFG_MAX_FILE) {
		snprintf(k->why, k->why_len, "%s: more than the limit of %u bytes", k->path,
			 PW_KCFG_MAX_FILE);
		ret = -EFBIG;
	}
out:
	close(fd);
	if (ret) {
		free(b);
		return ret;
	}
	*buf = b;
	*len = n;
	return 0;
}

static int yaml_error(struct kdoc *k, yaml_parser_t *p)
{
	if (p->error == YAML_MEMORY_ERROR) {
		snprintf(k->why, k->why_len, "%s: out of memory parsing YAML", k->path);
		return -ENOMEM;
	}
	return kfail_at(k, (int)(p->error == YAML_READER_ERROR ? 0 : p->problem_mark.line) + 1,
			"invalid YAML: %s", p->problem ? p->problem : "error");
}

/* The first document as events, every bound checked, before it is built. */
static int prescan(struct kdoc *k, const char *buf, size_t len)
{
	/* items so far of each open collection (a mapping's keys and values) */
	size_t items[PW_KCFG_MAX_DEPTH + 1] = { 0 };
	bool is_map[PW_KCFG_MAX_DEPTH + 1] = { false };
	size_t nodes = 0, anchors = 0, aliases = 0;
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, ret = 0;
	bool done = false;

	if (!yaml_parser_initialize(&p)) {
		snprintf(k->why, k->why_len, "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done && !ret) {
		const yaml_char_t *anchor = NULL;
		bool is_node = false;
		int line;

		if (!yaml_parser_parse(&p, &ev)) {
			ret = yaml_error(k, &p);
			break;
		}
		line = (int)ev.start_mark.line + 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
		case YAML_DOCUMENT_END_EVENT:  /* the loader reads the first document only */
			done = true;
			break;
		case YAML_ALIAS_EVENT:
			is_node = true;
			if (++aliases > PW_KCFG_MAX_ALIASES)
				ret = kfail_at(k, line, "more than %d aliases",
					       PW_KCFG_MAX_ALIASES);
			break;
		case YAML_SCALAR_EVENT:
			is_node = true;
			anchor = ev.data.scalar.anchor;
			if (ev.data.scalar.length > PW_KCFG_MAX_SCALAR)
				ret = kfail_at(k, line, "scalar of %zu bytes, more "
					       "than %u", ev.data.scalar.length,
					       PW_KCFG_MAX_SCALAR);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			is_node = true;
			anchor = ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
								       : ev.data.mapping_start.anchor;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		if (!ret && is_node) {
			/* counted in the collection it is in, then maybe opens one */
			if (depth > 0 && ++items[depth] > (is_map[depth] ? 2u : 1u) *
								  (size_t)PW_KCFG_MAX_ENTRIES)
				ret = kfail_at(k, line, "a list or mapping of more "
					       "than %d entries", PW_KCFG_MAX_ENTRIES);
			else if (anchor && ++anchors > PW_KCFG_MAX_ANCHORS)
				ret = kfail_at(k, line, "more than %d anchors",
					       PW_KCFG_MAX_ANCHORS);
			else if (++nodes > PW_KCFG_MAX_NODES)
				ret = kfail_at(k, line, "more than %u nodes",
					       PW_KCFG_MAX_NODES);
			else if (ev.type == YAML_SEQUENCE_START_EVENT ||
				 ev.type == YAML_MAPPING_START_EVENT) {
				if (++depth > PW_KCFG_MAX_DEPTH)
					ret = kfail_at(k, line, "nested deeper than "
						       "%d levels", PW_KCFG_MAX_DEPTH);
				else {
					items[depth] = 0;
					is_map[depth] = ev.type == YAML_MAPPING_START_EVENT;
				}
			}
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return ret;
}

/* a YAML 1.1 boolean (kubectl's go-yaml v2): 1 true, 0 false, -1 neither */
static int yaml_bool(const yaml_node_t *n)
{
	static const char *const t[] = { "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
					  "on", "On", "ON" };
	static const char *const f[] = { "n", "N", "no", "No", "NO", "false", "False", "FALSE",
					  "off", "Off", "OFF" };
	const char *v = (const char *)n->data.scalar.value;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return -1;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (!strcmp(v, t[i]))
			return 1;
		if (!strcmp(v, f[i]))
			return 0;
	}
	return -1;
}

int pw_kcfg_load(const char *path, const char *context, struct pw_kcfg *out,
		 struct pw_error *err)
{
	char *why = err->msg;
	size_t why_len = sizeof(err->msg);
	struct kdoc k;
	yaml_parser_t p;
	yaml_node_t *root, *ctx, *cl, *us, *v;
	const char *ctx_name, *cl_name = NULL, *us_name = NULL, *s;
	char buf[PATH_MAX + 128], ctx_path[96], cl_path[96], us_path[96];
	char *text = NULL;
	size_t len;
	bool loaded = false;
	int ret;

	memset(out, 0, sizeof(*out));
	memset(&k, 0, sizeof(k));
	k.path = path;
	memset(err, 0, sizeof(*err));
	k.err = err;
	k.why = why;
	k.why_len = why_len;
	why[0] = 0;
	{
		const char *slash = strrchr(path, '/');

		if (slash)
			snprintf(k.dir, sizeof(k.dir), "%.*s", (int)(slash - path), path);
		if (slash == path)
			snprintf(k.dir, sizeof(k.dir), "/");
	}
	ret = read_bounded(&k, &text, &len);
	if (ret)
		return ret;
	ret = prescan(&k, text, len);
	if (ret)
		goto out;
	if (!yaml_parser_initialize(&p)) {
		snprintf(why, why_len, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, &k.d)) {
		ret = yaml_error(&k, &p);
		yaml_parser_delete(&p);
		goto out;
	}
	yaml_parser_delete(&p);
	loaded = true;
	/* without aliases each pair is looked at a few times at most: the
	 * entries' names once per list lookup, a context, cluster or user's
	 * fields once each */
	k.max_visits = PW_KCFG_VISITS_PER_NODE * (size_t)(k.d.nodes.top - k.d.nodes.start) +
		       PW_KCFG_VISITS_SLACK;

	root = yaml_document_get_root_node(&k.d);
	if (!root || is_null(root) || root->type != YAML_MAPPING_NODE) {
		ret = kerr(&k, root, NULL, "a kubeconfig is a mapping, got %s",
			   root ? type_name(root) : "nothing");
		goto out;
	}
	ctx_name = context;
	if (!ctx_name) {
		ret = get_str(&k, root, NULL, "current-context", &ctx_name);
		if (ret)
			goto out;
	}
	if (!ctx_name || !ctx_name[0]) {
		ret = -EINVAL;
		snprintf(why, why_len, "%s: no current-context (give --kube-context)", path);
		goto out;
	}
	ret = named(&k, root, "contexts", ctx_name, "context", &ctx, ctx_path, sizeof(ctx_path));
	if (ret)
		goto out;
	if (!ctx) {
		if (context) {
			ret = -EINVAL;
			snprintf(why, why_len, "%s: no context named \"%.200s\" (--kube-context)",
				 path, ctx_name);
		} else {
			get(&k, root, NULL, "current-context", &v);
			ret = kerr(&k, v, "current-context", "no context named \"%.200s\"", ctx_name);
		}
		goto out;
	}
	ret = get_str(&k, ctx, ctx_path, "cluster", &cl_name);
	if (!ret)
		ret = get_str(&k, ctx, ctx_path, "user", &us_name);
	if (ret)
		goto out;
	cl = NULL;
	if (cl_name)
		ret = named(&k, root, "clusters", cl_name, "cluster", &cl, cl_path, sizeof(cl_path));
	if (ret)
		goto out;
	if (!cl) {
		snprintf(buf, sizeof(buf), "%s.cluster", ctx_path);
		get(&k, ctx, ctx_path, "cluster", &v);
		ret = cl_name ? kerr(&k, v, buf, "no cluster named \"%.200s\"", cl_name)
			      : kerr(&k, ctx, ctx_path, "context \"%.200s\" names no cluster", ctx_name);
		goto out;
	}
	us = NULL;
	if (us_name)
		ret = named(&k, root, "users", us_name, "user", &us, us_path, sizeof(us_path));
	if (ret)
		goto out;
	if (us_name && !us) {
		snprintf(buf, sizeof(buf), "%s.user", ctx_path);
		get(&k, ctx, ctx_path, "user", &v);
		ret = kerr(&k, v, buf, "no user named \"%.200s\"", us_name);
		goto out;
	}

	ret = get_str(&k, cl, cl_path, "server", &s);
	if (ret)
		goto out;
	/* with a host: "https://" alone left "https:" once trailing slashes went */
	if (!s || (strncmp(s, "https://", 8) && strncmp(s, "http://", 7)) ||
	    !s[strncmp(s, "https://", 8) ? 7 : 8] || s[strncmp(s, "https://", 8) ? 7 : 8] == '/') {
		snprintf(buf, sizeof(buf), "%s.server", cl_path);
		get(&k, cl, cl_path, "server", &v);
		ret = kerr(&k, v ? v : cl, buf, "cluster \"%.200s\": server must be an http(s) URL",
			   cl_name);
		goto out;
	}
	ret = take_str(&k, cl, cl_path, "server", false, &out->server);
	if (ret)
		goto out;
	while (out->server[0] && out->server[strlen(out->server) - 1] == '/')
		out->server[strlen(out->server) - 1] = 0;
	ret = take_str(&k, cl, cl_path, "certificate-authority", true, &out->ca_file);
	if (!ret)
		ret = take_str(&k, cl, cl_path, "tls-server-name", false, &out->tls_server_name);
	if (!ret)
		ret = take_blob(&k, cl, cl_path, "certificate-authority-data", &out->ca);
	if (!ret)
		ret = get(&k, cl, cl_path, "insecure-skip-tls-verify", &v);
	if (ret)
		goto out;
	if (v) {
		int b = yaml_bool(v);

		if (b < 0) {
			snprintf(buf, sizeof(buf), "%s.insecure-skip-tls-verify", cl_path);
			ret = kerr(&k, v, buf, "expected true or false");
			goto out;
		}
		out->insecure = b;
	}

	if (us) {
		yaml_node_t *e1, *e2;

		ret = get(&k, us, us_path, "exec", &e1);
		if (!ret)
			ret = get(&k, us, us_path, "auth-provider", &e2);
		if (ret)
			goto out;
		if (e1 || e2) {
			ret = kerr(&k, e1 ? e1 : e2, us_path, "user \"%.200s\": exec and "
				   "auth-provider credentials are not supported; use a token or a "
				   "client certificate", us_name);
			goto out;
		}
		ret = take_str(&k, us, us_path, "token", false, &out->token);
		if (!ret)
			ret = take_str(&k, us, us_path, "tokenFile", true, &out->token_file);
		if (!ret)
			ret = take_str(&k, us, us_path, "client-certificate", true, &out->cert_file);
		if (!ret)
			ret = take_str(&k, us, us_path, "client-key", true, &out->key_file);
		if (!ret)
			ret = take_str(&k, us, us_path, "username", false, &out->username);
		if (!ret)
			ret = take_str(&k, us, us_path, "password", false, &out->password);
		if (!ret)
			ret = take_blob(&k, us, us_path, "client-certificate-data", &out->cert);
		if (!ret)
			ret = take_blob(&k, us, us_path, "client-key-data", &out->key);
		if (ret)
			goto out;
	}
	snprintf(buf, sizeof(buf), "kubeconfig %s (context %.200s)", path, ctx_name);
	ret = dup_str(buf, &out->origin);
	if (ret)
		snprintf(why, why_len, "out of memory");
out:
	if (loaded)
		yaml_document_delete(&k.d);
	free(text);
	if (ret) {
		if (!why[0])
			snprintf(why, why_len, "%s: %s", path, strerror(-ret));
		pw_kcfg_free(out);
	}
	return ret;
}
