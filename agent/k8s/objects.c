/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Loading Namespaces, Pods and Services, and the parts every object shares:
 * metadata, labels, label selectors, protocols.
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "k8s/internal.h"
#include "k8s/ip.h"

#define MAX_LABEL_KEY   PW_LOAD_MAX_SCALAR   /* then checked by label_key() */
#define MAX_LABEL_VALUE PW_LOAD_MAX_SCALAR   /* then checked by label_value() */
#define MAX_PORT_NAME   PW_LOAD_MAX_NAME
#define MAX_IFNAME      15

bool ld_valid_port_name(const char *s)
{
	size_t n = strlen(s);
	bool letter = false;

	if (n == 0 || n > 15 || s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
		return false;
	for (; *s; s++) {
		if (*s >= 'a' && *s <= 'z')
			letter = true;
		else if (!(*s >= '0' && *s <= '9') && *s != '-')
			return false;
	}
	return letter;
}

/*
 * An IntOrString port as the API server gets it from kubectl: what YAML
 * types as a number is the number (0x50 is 80, and so is 80.0; 80.5 is
 * refused), what it types as a string is a port name, an IANA_SVC_NAME as
 * validation.IsValidPortName wants it ("0x50" quoted is the valid name
 * "0x50", not 80). Booleans and nulls are neither. *named: NULL for a number.
 */
int ld_port_or_name(struct ld *ld, yaml_node_t *n, long long *v, char **named)
{
	struct ld_num x, t;
	int ret;

	*v = 0;
	*named = NULL;
	switch (ld_resolve(n, &x)) {
	case LD_RES_INT:
		return ld_int(ld, n, 1, 65535, "port", v);
	case LD_RES_FLOAT:
		if (isfinite(x.f) && x.f == floor(x.f))
			return ld_int(ld, n, 1, 65535, "port", v);
		return ld_err(ld, n, "expected a port number or name, got a number (%.40s)",
			      ld_scalar(n));
	case LD_RES_STR:
		break;
	default:
		return ld_err(ld, n, "expected a port number or name, got %s", ld_type_name(n));
	}
	ret = ld_str(ld, n, MAX_PORT_NAME, named);
	if (ret)
		return ret;
	if (!(*named)[0])
		return ld_err(ld, n, "empty port name");
	if (strspn(*named, "0123456789") == strlen(*named))
		return ld_err(ld, n, "named port \"%s\" must contain a letter "
			      "(write a number without quotes)", *named);
	if (!ld_valid_port_name(*named))
		return ld_err(ld, n, "invalid port name \"%.60s\" (%s)", *named, PORT_NAME_RULE);
	t.kind = ld_resolve_text(*named, strlen(*named), &t);
	if (t.kind == LD_RES_INT || t.kind == LD_RES_FLOAT)
		ld_note(ld, n, "port \"%s\" is quoted, so it is a port name, not a number "
			"(unquoted, YAML reads it as a number)", *named);
	return 0;
}

/* ---- label syntax, as the API server validates it (IsQualifiedName,
 * IsValidLabelValue of k8s.io/apimachinery/pkg/util/validation) */
#define LABEL_NAME_MAX   63
#define LABEL_PREFIX_MAX 253

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], n > 0 */
static bool label_chars(const char *s, size_t n)
{
	if (!n || !alnum(s[0]) || !alnum(s[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* a DNS-1123 subdomain: [a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*
 * of at most 253 characters */
static bool dns_subdomain(const char *s, size_t n)
{
	size_t start = 0;

	if (!n || n > LABEL_PREFIX_MAX)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
			      s[i] == '-'))
				return false;
			continue;
		}
		/* one label: s[start, i) */
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return false;
		start = i + 1;
	}
	return true;
}

/* NULL if key is a valid label key ([prefix/]name), else why not */
const char *ld_label_key_problem(const char *key)
{
	const char *slash = strchr(key, '/'), *name = slash ? slash + 1 : key;
	size_t nlen = strlen(name);

	if (slash && strchr(slash + 1, '/'))
		return "a label key has at most one '/' (prefix/name)";
	if (slash && slash == key)
		return "the prefix before '/' is empty";
	if (slash && !dns_subdomain(key, (size_t)(slash - key)))
		return "the prefix before '/' must be a DNS subdomain: at most 253 characters, "
		       "lowercase letters, digits, '-' and '.', starting and ending with a letter "
		       "or digit (each part between dots too)";
	if (!nlen)
		return "the name part is empty";
	if (nlen > LABEL_NAME_MAX)
		return "the name part is longer than 63 characters";
	if (!label_chars(name, nlen))
		return "the name part must be letters, digits, '-', '_' or '.', starting and "
		       "ending with a letter or digit";
	return NULL;
}

/* NULL if value is a valid label value, else why not */
const char *ld_label_value_problem(const char *value)
{
	size_t n = strlen(value);

	if (n > LABEL_NAME_MAX)
		return "longer than 63 characters";
	if (n && !label_chars(value, n))
		return "must be empty, or letters, digits, '-', '_' or '.', starting and ending "
		       "with a letter or digit";
	return NULL;
}

static int label_key(struct ld *ld, yaml_node_t *n, char **out)
{
	const char *why;
	int ret = ld_str(ld, n, MAX_LABEL_KEY, out);

	if (ret)
		return ret;
	why = ld_label_key_problem(*out);
	if (why)
		return ld_err(ld, n, "invalid label key \"%.80s%s\": %s", *out,
			      strlen(*out) > 80 ? "..." : "", why);
	return 0;
}

static int label_value(struct ld *ld, yaml_node_t *n, char **out)
{
	const char *why;
	int ret = ld_str_or_empty(ld, n, MAX_LABEL_VALUE, out);

	if (ret)
		return ret;
	why = ld_label_value_problem(*out);
	if (why)
		return ld_err(ld, n, "invalid label value \"%.80s%s\": %s", *out,
			      strlen(*out) > 80 ? "..." : "", why);
	return 0;
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pw_label *)a)->key, ((const struct pw_label *)b)->key);
}

int ld_labels(struct ld *ld, yaml_node_t *n, struct pw_labels *out)
{
	yaml_node_pair_t *p;
	size_t i = 0;
	int ret;

	out->v = NULL;
	out->n = 0;
	if (ld_is_null(n))
		return 0;
	ret = ld_check_map(ld, n);
	if (ret)
		return ret;
	out->n = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	out->v = pw_arena_calloc(ld->a, out->n ? out->n : 1, sizeof(*out->v));
	if (!out->v)
		return ld_err(ld, n, "out of memory");
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++, i++) {
		yaml_node_t *k = ld_node(ld, p->key), *v;
		size_t mark;

		if (!k)
			return -EINVAL;
		ret = label_key(ld, k, &out->v[i].key);
		if (ret)
			return ret;
		v = ld_node(ld, p->value);
		if (!v)
			return -EINVAL;
		mark = ld_push_key(ld, out->v[i].key);
		ret = label_value(ld, v, &out->v[i].value);
		ld_pop(ld, mark);
		if (ret)
			return ret;
	}
	qsort(out->v, out->n, sizeof(*out->v), label_cmp);
	return 0;
}

static int sel_req(struct ld *ld, yaml_node_t *n, struct pw_sel_req *r)
{
	struct ld_field f[] = { { "key" }, { "operator" }, { "values" } };
	size_t nv, mark;
	char *op = NULL;
	int ret;

	ret = ld_fields(ld, n, f, 3);
	if (ret)
		return ret;
	mark = ld_push_key(ld, "key");
	if (!ld_has(&f[0]))
		ret = ld_err(ld, n, "missing");
	else
		ret = ld_str(ld, f[0].val, MAX_LABEL_KEY, &r->key);
	if (!ret && !r->key[0])
		ret = ld_err(ld, f[0].val, "empty");
	else if (!ret && ld_label_key_problem(r->key))
		ret = ld_err(ld, f[0].val, "invalid label key \"%.80s%s\": %s", r->key,
			     strlen(r->key) > 80 ? "..." : "", ld_label_key_problem(r->key));
	ld_pop(ld, mark);
	if (ret)
		return ret;

	mark = ld_push_key(ld, "operator");
	if (!ld_has(&f[1]))
		ret = ld_err(ld, n, "missing");
	else
		ret = ld_str(ld, f[1].val, 64, &op);
	if (!ret) {
		if (!strcmp(op, "In"))
			r->op = PW_SEL_IN;
		else if (!strcmp(op, "NotIn"))
			r->op = PW_SEL_NOT_IN;
		else if (!strcmp(op, "Exists"))
			r->op = PW_SEL_EXISTS;
		else if (!strcmp(op, "DoesNotExist"))
			r->op = PW_SEL_DOES_NOT_EXIST;
		else
			ret = ld_err(ld, f[1].val, "unknown selector operator \"%s\" "
				     "(In, NotIn, Exists, DoesNotExist)", op);
	}
	ld_pop(ld, mark);
	if (ret)
		return ret;

	mark = ld_push_key(ld, "values");
	ret = ld_check_seq(ld, f[2].val, &nv);
	if (ret)
		goto out;
	if ((r->op == PW_SEL_IN || r->op == PW_SEL_NOT_IN) && nv == 0) {
		ret = ld_err(ld, f[2].val ? f[2].val : n,
			     "operator %s needs a non-empty list of values", op);
		goto out;
	}
	if ((r->op == PW_SEL_EXISTS || r->op == PW_SEL_DOES_NOT_EXIST) && nv) {
		ret = ld_err(ld, f[2].val, "operator %s takes no values", op);
		goto out;
	}
	r->n_values = nv;
	r->values = pw_arena_calloc(ld->a, nv ? nv : 1, sizeof(*r->values));
	if (!r->values) {
		ret = ld_err(ld, n, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nv; i++) {
		yaml_node_t *v = ld_node(ld, f[2].val->data.sequence.items.start[i]);
		size_t m2 = ld_push_idx(ld, i);

		ret = v ? label_value(ld, v, &r->values[i]) : -EINVAL;
		ld_pop(ld, m2);
		if (ret)
			goto out;
	}
out:
	ld_pop(ld, mark);
	return ret;
}

int ld_selector(struct ld *ld, yaml_node_t *n, struct pw_selector *out)
{
	struct ld_field f[] = { { "matchLabels" }, { "matchExpressions" } };
	size_t ne, mark;
	int ret;

	memset(out, 0, sizeof(*out));
	if (ld_is_null(n))
		return 0;
	ret = ld_fields(ld, n, f, 2);
	if (ret)
		return ret;
	out->present = true;
	mark = ld_push_key(ld, "matchLabels");
	ret = ld_labels(ld, f[0].val, &out->match_labels);
	ld_pop(ld, mark);
	if (ret)
		return ret;
	mark = ld_push_key(ld, "matchExpressions");
	ret = ld_check_seq(ld, f[1].val, &ne);
	if (!ret && ne) {
		out->exprs = pw_arena_calloc(ld->a, ne, sizeof(*out->exprs));
		if (!out->exprs)
			ret = ld_err(ld, n, "out of memory");
		for (size_t i = 0; !ret && i < ne; i++) {
			yaml_node_t *e = ld_node(ld, f[1].val->data.sequence.items.start[i]);
			size_t m2 = ld_push_idx(ld, i);

			ret = e ? sel_req(ld, e, &out->exprs[i]) : -EINVAL;
			ld_pop(ld, m2);
		}
		out->n_exprs = ne;
	}
	ld_pop(ld, mark);
	return ret;
}

int ld_protocol(struct ld *ld, yaml_node_t *n, bool case_insensitive, uint8_t *out)
{
	char *s;
	int ret;

	if (ld_is_null(n)) {
		*out = IPPROTO_TCP;
		return 0;
	}
	ret = ld_str(ld, n, 16, &s);
	if (ret)
		return ret;
	if (case_insensitive ? !strcasecmp(s, "TCP") : !strcmp(s, "TCP"))
		*out = IPPROTO_TCP;
	else if (case_insensitive ? !strcasecmp(s, "UDP") : !strcmp(s, "UDP"))
		*out = IPPROTO_UDP;
	else if (case_insensitive ? !strcasecmp(s, "SCTP") : !strcmp(s, "SCTP"))
		*out = IPPROTO_SCTP;
	else
		return ld_err(ld, n, "invalid protocol \"%s\" (TCP, UDP or SCTP)", s);
	return 0;
}

/* a DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63; as a
 * DNS-1035 label (first_letter) it starts with a letter */
static bool dns_label(const char *s, bool first_letter)
{
	size_t n = strlen(s);

	if (!n || n > LABEL_NAME_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	if (first_letter && !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

const char *ld_name_problem(const char *name, enum ld_name_rule rule)
{
	switch (rule) {
	case LD_NAME_DNS_LABEL:
		return dns_label(name, false) ? NULL :
		       "must be a DNS-1123 label: at most 63 lowercase letters, digits and '-', "
		       "starting and ending with a letter or digit";
	case LD_NAME_DNS_1035:
		return dns_label(name, true) ? NULL :
		       "must be a DNS-1035 label: at most 63 lowercase letters, digits and '-', "
		       "starting with a letter and ending with a letter or digit";
	case LD_NAME_DNS_SUBDOMAIN:
		return dns_subdomain(name, strlen(name)) ? NULL :
		       "must be a DNS-1123 subdomain: at most 253 lowercase letters, digits, "
		       "'-' and '.', starting and ending with a letter or digit (each part "
		       "between dots too)";
	}
	return NULL;
}

static int name_field(struct ld *ld, yaml_node_t *meta, yaml_node_t *v, const char *key,
		      size_t max, enum ld_name_rule rule, char **out)
{
	size_t mark = ld_push_key(ld, key);
	const char *why;
	int ret;

	if (ld_is_null(v))
		ret = ld_err(ld, v ? v : meta, "missing");
	else
		ret = ld_str(ld, v, max, out);
	if (!ret && !**out)
		ret = ld_err(ld, v, "empty");
	if (!ret && (why = ld_name_problem(*out, rule)))
		ret = ld_err(ld, v, "invalid name \"%.80s\": %s", *out, why);
	ld_pop(ld, mark);
	return ret;
}

int ld_metadata(struct ld *ld, yaml_node_t *obj, yaml_node_t *meta, bool want_ns,
		struct ld_meta *out)
{
	return ld_metadata_named(ld, obj, meta, want_ns, LD_NAME_DNS_SUBDOMAIN, out);
}

int ld_metadata_named(struct ld *ld, yaml_node_t *obj, yaml_node_t *meta, bool want_ns,
		      enum ld_name_rule rule, struct ld_meta *out)
{
	struct ld_field f[] = { { "name" }, { "namespace" }, { "labels" }, { "annotations" },
				{ "deletionTimestamp" } };
	size_t mark = ld_push_key(ld, "metadata");
	int ret;

	static const char *const object_meta[] = {  /* metav1.ObjectMeta */
		"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion",
		"generation", "creationTimestamp", "deletionTimestamp",
		"deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences",
		"finalizers", "managedFields",
	};
	bool strict = ld->strict;

	memset(out, 0, sizeof(*out));
	out->node = meta;
	if (ld_is_null(meta)) {
		ret = ld_err(ld, obj, "missing");
		goto out;
	}
	/* strict: every field of ObjectMeta is known, podwall reads five */
	ret = strict ? ld_known_fields(ld, meta, object_meta,
				       sizeof(object_meta) / sizeof(object_meta[0])) : 0;
	ld->strict = false;
	if (!ret)
		ret = ld_fields(ld, meta, f, 5);
	ld->strict = strict;
	if (ret)
		goto out;
	ret = name_field(ld, meta, f[0].val, "name", PW_LOAD_MAX_NAME, rule, &out->name);
	if (ret)
		goto out;
	if (want_ns) {
		if (ld_is_null(f[1].val)) {
			out->ns = "default";
		} else {
			ret = name_field(ld, meta, f[1].val, "namespace", PW_LOAD_MAX_NS_NAME,
					 LD_NAME_DNS_LABEL, &out->ns);
			if (ret)
				goto out;
			if (ld->last_ns && !strcmp(ld->last_ns, out->ns))
				out->ns = ld->last_ns;
			else
				ld->last_ns = out->ns;
		}
	}
	{
		size_t m2 = ld_push_key(ld, "labels");

		ret = ld_labels(ld, f[2].val, &out->labels);
		ld_pop(ld, m2);
		if (ret)
			goto out;
	}
	if (!ld_is_null(f[3].val)) {
		size_t m2 = ld_push_key(ld, "annotations");

		ret = ld_check_map(ld, f[3].val);
		ld_pop(ld, m2);
		if (ret)
			goto out;
		out->annotations = f[3].val;
	}
	if (!ld_is_null(f[4].val)) {
		/* an RFC 3339 time; what podwall reads is only that it is set */
		size_t m2 = ld_push_key(ld, "deletionTimestamp");
		char *when;

		ret = ld_str(ld, f[4].val, 64, &when);
		ld_pop(ld, m2);
		if (ret)
			goto out;
		out->terminating = true;
	}
out:
	ld_pop(ld, mark);
	return ret;
}

int ld_annotation(struct ld *ld, const struct ld_meta *m, const char *key, char **out,
		  yaml_node_t **node)
{
	yaml_node_pair_t *p;

	*out = NULL;
	if (!m->annotations)
		return 0;
	for (p = m->annotations->data.mapping.pairs.start;
	     p < m->annotations->data.mapping.pairs.top; p++) {
		yaml_node_t *k = ld_node(ld, p->key), *v;
		size_t mark;
		int ret;

		if (!k)
			return -EINVAL;
		if (strcmp(ld_scalar(k), key))
			continue;
		v = ld_node(ld, p->value);
		if (!v)
			return -EINVAL;
		mark = ld_push_key(ld, "metadata.annotations");
		ld_push_key(ld, key);
		ret = ld_str_or_empty(ld, v, PW_LOAD_MAX_SCALAR, out);
		ld_pop(ld, mark);
		if (node)
			*node = v;
		return ret;
	}
	return 0;
}

/* ---------------------------------------------------------------- Namespace */
int ld_namespace(struct ld *ld, yaml_node_t *obj, struct ld_field *f)
{
	struct pw_namespace *ns;
	struct ld_meta m;
	yaml_node_t *an = NULL;
	char *mode;
	int ret;

	ret = ld_metadata_named(ld, obj, f[OF_META].val, false, LD_NAME_DNS_LABEL, &m);
	if (ret)
		return ret;
	ret = ld_annotation(ld, &m, "podwall.io/mode", &mode, &an);
	if (ret)
		return ret;
	if (mode && strcmp(mode, "audit") && strcmp(mode, "enforce")) {
		size_t mark = ld_push_key(ld, "metadata.annotations.podwall.io/mode");

		ret = ld_err(ld, an, "invalid mode \"%.60s\" (audit or enforce)", mode);
		ld_pop(ld, mark);
		return ret;
	}
	ns = pw_store_add_namespace(ld->c);
	if (!ns)
		return ld_err(ld, obj, "out of memory (or too many namespaces)");
	ns->name = m.name;
	ns->labels = m.labels;
	ns->audit = mode && !strcmp(mode, "audit");
	ns->loc.file = ld->file;
	ns->loc.line = ld_line(obj);
	return 0;
}

/* --------------------------------------------------------------------- Pod */
static int pod_ip(struct ld *ld, yaml_node_t *n, struct pw_pod *pod)
{
	uint8_t a[16];
	bool v4;
	char *s;
	int ret = ld_str(ld, n, 64, &s);

	if (ret)
		return ret;
	if (pw_ip_parse(s, a, &v4))
		return ld_err(ld, n, "bad IP address \"%s\"", s);
	for (size_t i = 0; i < pod->n_ips; i++) {
		if (!memcmp(pod->ips[i], a, 16))
			return 0;       /* podIP repeated in podIPs */
		if (pw_ip_is_v4(pod->ips[i]) == v4)
			return 0;       /* keep one address per family */
	}
	memcpy(pod->ips[pod->n_ips++], a, 16);
	return 0;
}

/* containerPorts[].name is a string field: what YAML types as a number or a
 * boolean is refused (the API server cannot decode it into a string), not
 * taken as its text, so that `name: 0x50` never names a port "0x50" while a
 * policy's `port: 0x50` means 80 */
static int container_port_name(struct ld *ld, yaml_node_t *n, char **out)
{
	struct ld_num x;
	enum ld_res r = ld_resolve(n, &x);
	int ret;

	if (r != LD_RES_STR && r != LD_RES_NULL)
		return ld_err(ld, n, "expected a port name, got %s \"%.40s\" (quote a name)",
			      ld_type_name(n), n->type == YAML_SCALAR_NODE ? ld_scalar(n) : "");
	ret = ld_str(ld, n, MAX_PORT_NAME, out);
	if (!ret && !ld_valid_port_name(*out))
		ret = ld_err(ld, n, "invalid port name \"%.60s\" (%s)", *out, PORT_NAME_RULE);
	return ret;
}

static int container_ports(struct ld *ld, yaml_node_t *ports, struct pw_pod *pod, size_t *cap)
{
	size_t np;
	int ret = ld_check_seq(ld, ports, &np);

	for (size_t i = 0; !ret && i < np; i++) {
		struct ld_field f[] = { { "name" }, { "containerPort" }, { "protocol" } };
		yaml_node_t *p = ld_node(ld, ports->data.sequence.items.start[i]);
		struct pw_container_port *cp;
		size_t mark = ld_push_idx(ld, i), m2;
		long long v = 0;

		if (pod->n_ports == *cap) {
			size_t ncap = *cap ? *cap * 2 : 8;
			void *na = pw_arena_grow(ld->a, pod->ports, pod->n_ports, ncap,
						 sizeof(*pod->ports));

			if (!na) {
				ld_pop(ld, mark);
				return ld_err(ld, ports, "out of memory");
			}
			pod->ports = na;
			*cap = ncap;
		}
		cp = &pod->ports[pod->n_ports];
		ret = p ? ld_fields(ld, p, f, 3) : -EINVAL;
		if (!ret && ld_has(&f[0])) {
			m2 = ld_push_key(ld, "name");
			ret = container_port_name(ld, f[0].val, &cp->name);
			ld_pop(ld, m2);
		}
		if (!ret) {
			m2 = ld_push_key(ld, "containerPort");
			if (!ld_has(&f[1]))
				ret = ld_err(ld, p, "missing");
			else
				ret = ld_int(ld, f[1].val, 1, 65535, "port", &v);
			ld_pop(ld, m2);
			cp->port = (uint16_t)v;
		}
		if (!ret) {
			m2 = ld_push_key(ld, "protocol");
			ret = ld_protocol(ld, f[2].val, true, &cp->proto);
			ld_pop(ld, m2);
		}
		ld_pop(ld, mark);
		if (!ret)
			pod->n_ports++;
	}
	return ret;
}

/* the value of a scalar ld_is_bool accepts: YAML 1.1's y, yes, true, on
 * (any of their spellings) are true */
static bool bool_true(const yaml_node_t *n)
{
	const char *s = ld_scalar(n);

	return strchr("yYtT", s[0]) || ((s[0] == 'o' || s[0] == 'O') && (s[1] == 'n' || s[1] == 'N'));
}

int ld_pod(struct ld *ld, yaml_node_t *obj, struct ld_field *f)
{
	struct pw_pod pod, *dst;
	struct ld_meta m;
	yaml_node_t *an = NULL;
	char *phase = NULL;
	bool host_network = false;
	size_t mark;
	int ret;

	memset(&pod, 0, sizeof(pod));
	ret = ld_metadata(ld, obj, f[OF_META].val, true, &m);
	if (ret)
		return ret;
	pod.ns = m.ns;
	pod.name = m.name;
	pod.labels = m.labels;
	pod.terminating = m.terminating;
	ret = ld_annotation(ld, &m, "podwall.io/host-veth", &pod.host_veth, &an);
	if (ret)
		return ret;
	if (pod.host_veth && (!pod.host_veth[0] || strlen(pod.host_veth) > MAX_IFNAME ||
			      strchr(pod.host_veth, '/'))) {
		mark = ld_push_key(ld, "metadata.annotations.podwall.io/host-veth");
		ret = ld_err(ld, an, "invalid interface name \"%.60s\"", pod.host_veth);
		ld_pop(ld, mark);
		return ret;
	}

	/* spec.hostNetwork, spec.containers[].ports[] */
	mark = ld_push_key(ld, "spec");
	if (!ld_is_null(f[OF_SPEC].val)) {
		struct ld_field sf[] = { { "containers" }, { "hostNetwork" } };
		size_t nc = 0, cap = 0;

		ret = ld_fields(ld, f[OF_SPEC].val, sf, 2);
		if (!ret && ld_has(&sf[1])) {
			size_t m2 = ld_push_key(ld, "hostNetwork");

			if (!ld_is_bool(sf[1].val))
				ret = ld_err(ld, sf[1].val, "expected true or false, got %s",
					     ld_type_name(sf[1].val));
			else
				host_network = bool_true(sf[1].val);
			ld_pop(ld, m2);
		}
		if (!ret) {
			ld_push_key(ld, "containers");
			ret = ld_check_seq(ld, sf[0].val, &nc);
		}
		for (size_t i = 0; !ret && i < nc; i++) {
			struct ld_field cf[] = { { "ports" } };
			yaml_node_t *c = ld_node(ld, sf[0].val->data.sequence.items.start[i]);
			size_t m2 = ld_push_idx(ld, i);

			ret = c ? ld_fields(ld, c, cf, 1) : -EINVAL;
			if (!ret) {
				ld_push_key(ld, "ports");
				ret = container_ports(ld, cf[0].val, &pod, &cap);
			}
			ld_pop(ld, m2);
		}
	}
	ld_pop(ld, mark);
	if (ret)
		return ret;

	/* status.phase, status.podIP, status.podIPs[].ip */
	mark = ld_push_key(ld, "status");
	if (!ld_is_null(f[OF_STATUS].val)) {
		struct ld_field sf[] = { { "podIP" }, { "podIPs" }, { "phase" } };
		size_t n;

		ret = ld_fields(ld, f[OF_STATUS].val, sf, 3);
		if (!ret && ld_has(&sf[2])) {
			size_t m2 = ld_push_key(ld, "phase");

			ret = ld_str(ld, sf[2].val, 64, &phase);
			ld_pop(ld, m2);
		}
		if (!ret && ld_has(&sf[0])) {
			size_t m2 = ld_push_key(ld, "podIP");

			ret = pod_ip(ld, sf[0].val, &pod);
			ld_pop(ld, m2);
		}
		if (!ret) {
			size_t m2 = ld_push_key(ld, "podIPs");

			ret = ld_check_seq(ld, sf[1].val, &n);
			for (size_t i = 0; !ret && i < n; i++) {
				struct ld_field pf[] = { { "ip" } };
				yaml_node_t *e = ld_node(ld, sf[1].val->data.sequence.items.start[i]);
				size_t m3 = ld_push_idx(ld, i);

				ret = e ? ld_fields(ld, e, pf, 1) : -EINVAL;
				if (!ret && ld_has(&pf[0])) {
					ld_push_key(ld, "ip");
					ret = pod_ip(ld, pf[0].val, &pod);
				}
				ld_pop(ld, m3);
			}
			ld_pop(ld, m2);
		}
	}
	ld_pop(ld, mark);
	if (ret)
		return ret;

	pod.role = pw_pod_role_of(phase, host_network);
	pod.loc.file = ld->file;
	pod.loc.line = ld_line(obj);
	dst = pw_store_add_pod(ld->c);
	if (!dst)
		return ld_err(ld, obj, "out of memory (or too many pods)");
	*dst = pod;
	return 0;
}

/* ------------------------------------------------------------------ Service */
static int cluster_ip(struct ld *ld, yaml_node_t *n, struct pw_service *s)
{
	uint8_t a[16];
	bool v4;
	char *str;
	int ret = ld_str_or_empty(ld, n, 64, &str);

	if (ret)
		return ret;
	if (!str[0] || !strcmp(str, "None"))
		return 0;   /* headless or not allocated */
	if (pw_ip_parse(str, a, &v4))
		return ld_err(ld, n, "bad IP address \"%s\"", str);
	for (size_t i = 0; i < s->n_cluster_ips; i++)
		if (!memcmp(s->cluster_ips[i], a, 16) || pw_ip_is_v4(s->cluster_ips[i]) == v4)
			return 0;
	memcpy(s->cluster_ips[s->n_cluster_ips++], a, 16);
	return 0;
}

int ld_service(struct ld *ld, yaml_node_t *obj, struct ld_field *f)
{
	struct ld_field sf[] = { { "clusterIP" }, { "clusterIPs" }, { "selector" }, { "ports" } };
	struct pw_service svc, *dst;
	struct ld_meta m;
	size_t mark, n;
	int ret;

	memset(&svc, 0, sizeof(svc));
	ret = ld_metadata_named(ld, obj, f[OF_META].val, true, LD_NAME_DNS_1035, &m);
	if (ret)
		return ret;
	svc.ns = m.ns;
	svc.name = m.name;
	mark = ld_push_key(ld, "spec");
	if (ld_is_null(f[OF_SPEC].val))
		goto done;
	ret = ld_fields(ld, f[OF_SPEC].val, sf, 4);
	if (!ret && ld_has(&sf[0])) {
		size_t m2 = ld_push_key(ld, "clusterIP");

		ret = cluster_ip(ld, sf[0].val, &svc);
		ld_pop(ld, m2);
	}
	if (!ret) {
		size_t m2 = ld_push_key(ld, "clusterIPs");

		ret = ld_check_seq(ld, sf[1].val, &n);
		for (size_t i = 0; !ret && i < n; i++) {
			yaml_node_t *e = ld_node(ld, sf[1].val->data.sequence.items.start[i]);
			size_t m3 = ld_push_idx(ld, i);

			ret = e ? cluster_ip(ld, e, &svc) : -EINVAL;
			ld_pop(ld, m3);
		}
		ld_pop(ld, m2);
	}
	if (!ret) {
		size_t m2 = ld_push_key(ld, "selector");

		ret = ld_labels(ld, sf[2].val, &svc.selector);
		ld_pop(ld, m2);
	}
	if (!ret) {
		size_t m2 = ld_push_key(ld, "ports");

		ret = ld_check_seq(ld, sf[3].val, &n);
		if (!ret && n) {
			svc.ports = pw_arena_calloc(ld->a, n, sizeof(*svc.ports));
			if (!svc.ports)
				ret = ld_err(ld, obj, "out of memory");
		}
		for (size_t i = 0; !ret && i < n; i++) {
			struct ld_field pf[] = { { "port" }, { "protocol" }, { "targetPort" } };
			yaml_node_t *e = ld_node(ld, sf[3].val->data.sequence.items.start[i]);
			struct pw_service_port *sp = &svc.ports[i];
			size_t m3 = ld_push_idx(ld, i), m4;
			long long v = 0;

			ret = e ? ld_fields(ld, e, pf, 3) : -EINVAL;
			if (!ret) {
				m4 = ld_push_key(ld, "port");
				if (!ld_has(&pf[0]))
					ret = ld_err(ld, e, "missing");
				else
					ret = ld_int(ld, pf[0].val, 1, 65535, "port", &v);
				sp->port = (uint16_t)v;
				ld_pop(ld, m4);
			}
			if (!ret) {
				m4 = ld_push_key(ld, "protocol");
				ret = ld_protocol(ld, pf[1].val, false, &sp->proto);
				ld_pop(ld, m4);
			}
			if (!ret) {
				m4 = ld_push_key(ld, "targetPort");
				if (!ld_has(&pf[2])) {
					sp->target_port = sp->port;
				} else {
					ret = ld_port_or_name(ld, pf[2].val, &v, &sp->target_name);
					sp->target_port = (uint16_t)v;
				}
				ld_pop(ld, m4);
			}
			ld_pop(ld, m3);
			if (!ret)
				svc.n_ports++;
		}
		ld_pop(ld, m2);
	}
done:
	ld_pop(ld, mark);
	if (ret)
		return ret;
	svc.loc.file = ld->file;
	svc.loc.line = ld_line(obj);
	dst = pw_store_add_service(ld->c);
	if (!dst)
		return ld_err(ld, obj, "out of memory (or too many services)");
	*dst = svc;
	return 0;
}
