/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Walking libyaml documents: field paths, errors that name file, line and
 * field, typed scalars, mappings checked for duplicate keys, and a cap on
 * visited nodes so that aliases (shared nodes) cannot make a walk explode.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "k8s/internal.h"

size_t ld_push_key(struct ld *ld, const char *key)
{
	size_t mark = ld->plen;
	int n = snprintf(ld->path + ld->plen, sizeof(ld->path) - ld->plen, "%s%s",
			 ld->plen ? "." : "", key);

	if (n > 0)
		ld->plen += (size_t)n;
	if (ld->plen >= sizeof(ld->path))
		ld->plen = sizeof(ld->path) - 1;
	return mark;
}

size_t ld_push_idx(struct ld *ld, size_t i)
{
	size_t mark = ld->plen;
	int n = snprintf(ld->path + ld->plen, sizeof(ld->path) - ld->plen, "[%zu]", i);

	if (n > 0)
		ld->plen += (size_t)n;
	if (ld->plen >= sizeof(ld->path))
		ld->plen = sizeof(ld->path) - 1;
	return mark;
}

static void vformat(struct ld *ld, char *out, size_t len, const yaml_node_t *n,
		    const char *fmt, va_list ap)
{
	int k;

	if (ld->plen)
		k = snprintf(out, len, "%s:%d: %s: ", ld->file, ld_line(n), ld->path);
	else
		k = snprintf(out, len, "%s:%d: ", ld->file, ld_line(n));
	if (k < 0 || (size_t)k >= len)
		return;
	vsnprintf(out + k, len - (size_t)k, fmt, ap);
}

int ld_err(struct ld *ld, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	if (ld->err && !ld->err->msg[0]) {
		va_start(ap, fmt);
		vformat(ld, ld->err->msg, sizeof(ld->err->msg), n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

void ld_note(struct ld *ld, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int k;

	k = snprintf(msg, sizeof(msg), "%s:%d: note: ", ld->file, ld_line(n));
	if (k < 0 || (size_t)k >= sizeof(msg))
		return;
	va_start(ap, fmt);
	vsnprintf(msg + k, sizeof(msg) - (size_t)k, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", msg);
}

yaml_node_t *ld_node(struct ld *ld, int idx)
{
	yaml_node_t *n = yaml_document_get_node(ld->doc, idx);

	if (!n) {
		ld_err(ld, NULL, "internal error: dangling YAML node");
		return NULL;
	}
	if (++ld->visits > ld->max_visits) {
		ld_err(ld, n, "aliases expand this document beyond %zu nodes visited",
		       ld->max_visits);
		return NULL;
	}
	return n;
}

bool ld_is_null(const yaml_node_t *n)
{
	const char *v;

	if (!n)
		return true;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = ld_scalar(n);
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

bool ld_is_int(const yaml_node_t *n)
{
	const char *v;

	if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = ld_scalar(n);
	if (*v == '-' || *v == '+')
		v++;
	if (!*v)
		return false;
	for (; *v; v++)
		if (*v < '0' || *v > '9')
			return false;
	return true;
}

bool ld_is_float(const yaml_node_t *n)
{
	const char *v;
	bool digits = false;

	if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = ld_scalar(n);
	if (!strcmp(v, ".inf") || !strcmp(v, "-.inf") || !strcmp(v, "+.inf") ||
	    !strcmp(v, ".nan") || !strcmp(v, ".Inf") || !strcmp(v, ".NaN"))
		return true;
	if (*v == '-' || *v == '+')
		v++;
	for (; *v >= '0' && *v <= '9'; v++)
		digits = true;
	if (*v == '.')
		for (v++; *v >= '0' && *v <= '9'; v++)
			digits = true;
	if (!digits)
		return false;
	if (*v == 'e' || *v == 'E') {
		v++;
		if (*v == '-' || *v == '+')
			v++;
		if (*v < '0' || *v > '9')
			return false;
		while (*v >= '0' && *v <= '9')
			v++;
	}
	return *v == 0;
}

bool ld_is_bool(const yaml_node_t *n)
{
	static const char *const words[] = {
		"true", "True", "TRUE", "false", "False", "FALSE",
		"yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
	};

	if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(ld_scalar(n), words[i]))
			return true;
	return false;
}

const char *ld_type_name(const yaml_node_t *n)
{
	if (!n || ld_is_null(n))
		return "null";
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		if (ld_is_int(n))
			return "an integer";
		if (ld_is_float(n))
			return "a number";
		if (ld_is_bool(n))
			return "a boolean";
		return "a string";
	default:
		return "nothing";
	}
}

struct keyref {
	const char *s;
	size_t      len;
	size_t      i;
	yaml_node_t *node;
};

static int keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r = memcmp(x->s, y->s, n);

	if (r)
		return r;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Keys are scalars, each once. Reports the second occurrence of a key. */
static int check_keys(struct ld *ld, yaml_node_t *m, yaml_node_t **keys, size_t n)
{
	struct keyref *r;
	size_t dup = (size_t)-1;

	if (n < 2)
		return 0;
	if (n <= 16) {
		for (size_t j = 1; j < n && dup == (size_t)-1; j++)
			for (size_t i = 0; i < j; i++)
				if (keys[i]->data.scalar.length == keys[j]->data.scalar.length &&
				    !memcmp(keys[i]->data.scalar.value, keys[j]->data.scalar.value,
					    keys[j]->data.scalar.length)) {
					dup = j;
					break;
				}
	} else {
		r = malloc(n * sizeof(*r));
		if (!r)
			return ld_err(ld, m, "out of memory");
		for (size_t i = 0; i < n; i++)
			r[i] = (struct keyref){ (const char *)keys[i]->data.scalar.value,
						keys[i]->data.scalar.length, i, keys[i] };
		qsort(r, n, sizeof(*r), keyref_cmp);
		for (size_t i = 1; i < n; i++)
			if (r[i].len == r[i - 1].len && !memcmp(r[i].s, r[i - 1].s, r[i].len) &&
			    (dup == (size_t)-1 || r[i].i < dup))
				dup = r[i].i;
		free(r);
	}
	if (dup != (size_t)-1)
		return ld_err(ld, keys[dup], "duplicate key \"%.100s\"", ld_scalar(keys[dup]));
	return 0;
}

static int walk_map(struct ld *ld, yaml_node_t *n, struct ld_field *f, size_t nf)
{
	yaml_node_pair_t *p;
	yaml_node_t *stack_keys[16], **keys = stack_keys;
	size_t np, i = 0;
	int ret = 0;

	for (size_t j = 0; j < nf; j++)
		f[j].key = f[j].val = NULL;
	if (!n || n->type != YAML_MAPPING_NODE)
		return ld_err(ld, n, "expected a mapping, got %s", ld_type_name(n));
	np = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	if (np > 16) {
		keys = malloc(np * sizeof(*keys));
		if (!keys)
			return ld_err(ld, n, "out of memory");
	}
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++, i++) {
		yaml_node_t *k = ld_node(ld, p->key);

		if (!k) {
			ret = -EINVAL;
			goto out;
		}
		if (k->type != YAML_SCALAR_NODE || ld_is_null(k)) {
			ret = ld_err(ld, k, "mapping keys must be strings, got %s",
				     ld_type_name(k));
			goto out;
		}
		keys[i] = k;
		for (size_t j = 0; j < nf; j++) {
			if (strcmp(ld_scalar(k), f[j].name))
				continue;
			f[j].key = k;
			f[j].val = ld_node(ld, p->value);
			if (!f[j].val) {
				ret = -EINVAL;
				goto out;
			}
			break;
		}
	}
	ret = check_keys(ld, n, keys, np);
out:
	if (keys != stack_keys)
		free(keys);
	return ret;
}

int ld_fields(struct ld *ld, yaml_node_t *n, struct ld_field *f, size_t nf)
{
	return walk_map(ld, n, f, nf);
}

int ld_check_map(struct ld *ld, yaml_node_t *n)
{
	return walk_map(ld, n, NULL, 0);
}

int ld_check_seq(struct ld *ld, yaml_node_t *n, size_t *count)
{
	*count = 0;
	if (ld_is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return ld_err(ld, n, "expected a list, got %s", ld_type_name(n));
	*count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	return 0;
}

static int str_common(struct ld *ld, yaml_node_t *n, size_t max, char **out, bool null_ok)
{
	if (null_ok && ld_is_null(n)) {
		*out = pw_arena_strdup(ld->a, "");
		return *out ? 0 : ld_err(ld, n, "out of memory");
	}
	if (!n || n->type != YAML_SCALAR_NODE || ld_is_null(n))
		return ld_err(ld, n, "expected a string, got %s", ld_type_name(n));
	if (n->data.scalar.length > max)
		return ld_err(ld, n, "too long: %zu bytes, at most %zu", n->data.scalar.length, max);
	if (memchr(n->data.scalar.value, 0, n->data.scalar.length))
		return ld_err(ld, n, "NUL byte in string");
	*out = pw_arena_strndup(ld->a, ld_scalar(n), n->data.scalar.length);
	return *out ? 0 : ld_err(ld, n, "out of memory");
}

int ld_str(struct ld *ld, yaml_node_t *n, size_t max, char **out)
{
	return str_common(ld, n, max, out, false);
}

int ld_str_or_empty(struct ld *ld, yaml_node_t *n, size_t max, char **out)
{
	return str_common(ld, n, max, out, true);
}

int ld_int(struct ld *ld, yaml_node_t *n, long long min, long long max,
	   const char *what, long long *out)
{
	const char *v;
	long long x = 0;
	bool neg = false;

	if (!ld_is_int(n)) {
		if (n && n->type == YAML_SCALAR_NODE && !ld_is_null(n))
			return ld_err(ld, n, "expected an integer, got %s \"%.40s\"",
				      ld_type_name(n), ld_scalar(n));
		return ld_err(ld, n, "expected an integer, got %s", ld_type_name(n));
	}
	v = ld_scalar(n);
	if (*v == '-' || *v == '+')
		neg = *v++ == '-';
	for (; *v; v++) {
		if (x > 1000000000000LL) {
			x = 1000000000000LL;   /* saturate: out of any range we use */
			break;
		}
		x = x * 10 + (*v - '0');
	}
	if (neg)
		x = -x;
	if (x < min || x > max)
		return ld_err(ld, n, "%s %s out of range %lld-%lld", what,
			      strlen(ld_scalar(n)) > 20 ? "(huge)" : ld_scalar(n), min, max);
	*out = x;
	return 0;
}
