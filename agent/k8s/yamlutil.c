/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Walking libyaml documents: field paths, errors that name file, line and
 * field, typed scalars, mappings checked for duplicate keys, and a cap on
 * visited nodes so that aliases (shared nodes) cannot make a walk explode.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "k8s/internal.h"
#include "log.h"

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
		snprintf(ld->err->file, sizeof(ld->err->file), "%s", ld->file);
		ld->err->line = ld_line(n);
		snprintf(ld->err->field, sizeof(ld->err->field), "%.*s", (int)ld->plen, ld->path);
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
	pw_info("%s", msg);
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

static bool is_null_word(const char *v)
{
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

bool ld_is_null(const yaml_node_t *n)
{
	struct ld_num x;

	if (!n)
		return true;
	if (n->type != YAML_SCALAR_NODE)
		return false;
	/* the common case, cheaply (this is asked of most fields) */
	if (!n->tag || !strcmp((const char *)n->tag, YAML_DEFAULT_SCALAR_TAG))
		return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		       n->data.scalar.length <= 4 && is_null_word(ld_scalar(n));
	return ld_resolve(n, &x) == LD_RES_NULL;
}

/*
 * Scalars are read as kubectl reads them: sigs.k8s.io/yaml converts YAML to
 * JSON with go-yaml v2, whose implicit typing is YAML 1.1's (resolve.go):
 *
 *  - null: "", ~, null, Null, NULL
 *  - bool: y Y yes Yes YES n N no No NO true True TRUE false False FALSE
 *          on On ON off Off OFF
 *  - float: [-+].inf (.Inf .INF), .nan (.NaN .NAN), and what starts with '.'
 *          and is a decimal fraction (.5, .5e3)
 *  - from a digit or a sign: underscores are dropped, then Go's
 *          strconv.ParseInt(s, 0, 64) (and ParseUint): decimal, 0x/0X hex,
 *          0o/0O octal, 0b/0B binary, and a leading 0 is octal (0120 = 80);
 *          failing that, the float pattern
 *          [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? (so 080,
 *          which is not octal, is the float 80; 1e2 is the float 100)
 *  - anything else, and every quoted or block scalar: a string.
 *
 * A float reaches the API server as a JSON number (json.Marshal(80.0) is
 * "80"), so an integral float is accepted where an integer is wanted; 80.5
 * is not. An explicit tag decides on its own (!!int "80" is 80, !foo 80 a
 * string); libyaml's document keeps the tag of a scalar but not whether a
 * plain scalar's str tag was written, so the loader refuses `!!str 80`
 * before building documents (load.c) rather than read it as a number.
 */
#define TAG_PREFIX "tag:yaml.org,2002:"

static bool in_words(const char *s, size_t len, const char *const *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(w[i]) == len && !memcmp(s, w[i], len))
			return true;
	return false;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int digit_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/* the float pattern of go-yaml v2, over s without its underscores */
static bool float_pattern(const char *s, size_t len)
{
	size_t i = 0, d = 0;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	if (i < len && s[i] == '.') {
		for (i++; i < len && is_digit(s[i]); i++)
			d++;
		if (!d)
			return false;
	} else {
		for (; i < len && is_digit(s[i]); i++)
			d++;
		if (!d)
			return false;
		if (i < len && s[i] == '.')
			for (i++; i < len && is_digit(s[i]); i++)
				;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t e = 0;

		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		for (; i < len && is_digit(s[i]); i++)
			e++;
		if (!e)
			return false;
	}
	return i == len;
}

/* strtod of s (no underscores): NAN when it is too long to copy here, which
 * no integral value of a field we read needs */
static double float_value(const char *s, size_t len)
{
	char buf[128];

	if (len >= sizeof(buf))
		return NAN;
	memcpy(buf, s, len);
	buf[len] = 0;
	return strtod(buf, NULL);
}

enum ld_res ld_resolve_text(const char *s, size_t len, struct ld_num *out)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	static const char *const bools[] = {
		"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON",
		"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF",
	};
	static const char *const specials[] = {
		".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF",
		"-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN",
	};
	char plain[128];
	size_t n = 0, i = 0;
	unsigned long long v = 0;
	bool neg = false, huge = false;
	int base = 10;

	memset(out, 0, sizeof(*out));
	if (memchr(s, 0, len))
		return out->kind = LD_RES_STR;
	if (len <= 4 && in_words(s, len, nulls, sizeof(nulls) / sizeof(nulls[0])))
		return out->kind = LD_RES_NULL;
	if (len <= 5 && in_words(s, len, bools, sizeof(bools) / sizeof(bools[0])))
		return out->kind = LD_RES_BOOL;
	if (len <= 5 && strchr(".+-", s[0]) &&
	    in_words(s, len, specials, sizeof(specials) / sizeof(specials[0]))) {
		out->f = s[len - 1] == 'n' || s[len - 1] == 'N' ? NAN
			 : s[0] == '-' ? -INFINITY : INFINITY;
		return out->kind = LD_RES_FLOAT;
	}
	if (s[0] == '.') {
		/* Go's ParseFloat of the text as it is (no underscores) */
		if (!float_pattern(s, len))
			return out->kind = LD_RES_STR;
		out->f = float_value(s, len);
		return out->kind = LD_RES_FLOAT;
	}
	if (!is_digit(s[0]) && s[0] != '-' && s[0] != '+')
		return out->kind = LD_RES_STR;

	/* underscores go first; what is longer than any int64 spelling is
	 * only ever a float (or a string) */
	for (size_t k = 0; k < len; k++) {
		if (s[k] == '_')
			continue;
		if (n == sizeof(plain))
			return float_pattern(s, len) && !memchr(s, '_', len)
				       ? (out->f = NAN, out->kind = LD_RES_FLOAT)
				       : (out->kind = LD_RES_STR);
		plain[n++] = s[k];
	}
	if (i < n && (plain[i] == '-' || plain[i] == '+'))
		neg = plain[i++] == '-';
	if (i + 1 < n && plain[i] == '0' && strchr("xXoObB", plain[i + 1])) {
		base = plain[i + 1] == 'x' || plain[i + 1] == 'X' ? 16
		       : plain[i + 1] == 'o' || plain[i + 1] == 'O' ? 8 : 2;
		i += 2;
	} else if (i + 1 < n && plain[i] == '0') {
		base = 8;
		out->octal0 = true;
	}
	if (i < n) {
		size_t k;

		for (k = i; k < n && digit_val(plain[k]) < base; k++) {
			if (v > (~0ull - (unsigned)digit_val(plain[k])) / (unsigned)base)
				huge = true;
			else
				v = v * (unsigned)base + (unsigned)digit_val(plain[k]);
		}
		if (k == n) {
			/* ParseInt, then ParseUint: past both it is no integer */
			if (huge || (neg && v > (1ull << 63)) ||
			    (!neg && v > (unsigned long long)LLONG_MAX && plain[0] == '+'))
				goto not_int;
			out->kind = LD_RES_INT;
			out->huge = !neg && v > (unsigned long long)LLONG_MAX;
			if (out->huge)
				out->i = LLONG_MAX;
			else if (neg)
				out->i = v ? -(long long)(v - 1) - 1 : 0;   /* down to LLONG_MIN */
			else
				out->i = (long long)v;
			return LD_RES_INT;
		}
	}
not_int:
	out->octal0 = false;
	if (float_pattern(plain, n)) {
		out->f = float_value(plain, n);
		return out->kind = LD_RES_FLOAT;
	}
	return out->kind = LD_RES_STR;
}

enum ld_res ld_resolve(const yaml_node_t *n, struct ld_num *out)
{
	const char *tag = n && n->tag ? (const char *)n->tag : YAML_DEFAULT_SCALAR_TAG;
	enum ld_res r;

	memset(out, 0, sizeof(*out));
	if (!n || n->type != YAML_SCALAR_NODE)
		return out->kind = LD_RES_BAD;
	if (!strcmp(tag, YAML_DEFAULT_SCALAR_TAG))
		return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
			       ? ld_resolve_text(ld_scalar(n), n->data.scalar.length, out)
			       : (out->kind = LD_RES_STR);
	if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)))
		return out->kind = LD_RES_STR;   /* a local tag (!foo): its text */
	tag += strlen(TAG_PREFIX);
	r = ld_resolve_text(ld_scalar(n), n->data.scalar.length, out);
	/* an explicit tag takes what the text is, or cannot decode it */
	if (!strcmp(tag, "int"))
		return r == LD_RES_INT ? r : (out->kind = LD_RES_BAD);
	if (!strcmp(tag, "float")) {
		if (r == LD_RES_INT) {
			out->f = out->huge ? NAN : (double)out->i;
			out->octal0 = false;
			return out->kind = LD_RES_FLOAT;
		}
		return r == LD_RES_FLOAT ? r : (out->kind = LD_RES_BAD);
	}
	if (!strcmp(tag, "bool") || !strcmp(tag, "null"))
		return r == (tag[0] == 'b' ? LD_RES_BOOL : LD_RES_NULL) ? r : (out->kind = LD_RES_BAD);
	return out->kind = LD_RES_STR;   /* !!binary, !!timestamp, ...: text */
}

bool ld_is_int(const yaml_node_t *n)
{
	struct ld_num x;

	return ld_resolve(n, &x) == LD_RES_INT;
}

bool ld_is_float(const yaml_node_t *n)
{
	struct ld_num x;

	return ld_resolve(n, &x) == LD_RES_FLOAT;
}

bool ld_is_bool(const yaml_node_t *n)
{
	struct ld_num x;

	return ld_resolve(n, &x) == LD_RES_BOOL;
}

const char *ld_type_name(const yaml_node_t *n)
{
	struct ld_num x;

	if (!n)
		return "null";
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		switch (ld_resolve(n, &x)) {
		case LD_RES_NULL:
			return "null";
		case LD_RES_INT:
			return "an integer";
		case LD_RES_FLOAT:
			return "a number";
		case LD_RES_BOOL:
			return "a boolean";
		case LD_RES_BAD:
			return "a value its tag cannot have";
		default:
			return "a string";
		}
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

static bool field_named(const struct ld_field *f, size_t nf, const yaml_node_t *k)
{
	for (size_t j = 0; j < nf; j++)
		if (f[j].key == k)
			return true;
	return false;
}

/* Levenshtein distance of a and b, capped at 3 (only "near" matters) */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[33], cur[33];

	if (la > 32 || lb > 32)
		return 3;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(*prev));
	}
	return prev[lb] < 3 ? prev[lb] : 3;
}

/* "unknown field \"key\"" and the known names, the nearest first if near */
static int unknown_field(struct ld *ld, yaml_node_t *k, const char *const *names, size_t nn,
			 const struct ld_field *f, size_t nf)
{
	const char *key = ld_scalar(k), *best = NULL;
	size_t bd = 3, total = nn + nf, at = 0, mark;
	char known[400] = "";
	int ret;

	for (size_t i = 0; i < total; i++) {
		const char *name = i < nn ? names[i] : f[i - nn].name;
		size_t d = strcasecmp(key, name) ? edit_distance(key, name) : 0;

		if (d < bd) {
			bd = d;
			best = name;
		}
		if (at < sizeof(known))
			at += (size_t)snprintf(known + at, sizeof(known) - at, "%s%s",
					       i ? ", " : "", name);
	}
	mark = ld_push_key(ld, key);
	if (best)
		ret = ld_err(ld, k, "unknown field \"%.100s\" (did you mean \"%s\"?)", key, best);
	else
		ret = ld_err(ld, k, "unknown field \"%.100s\" (known here: %s)", key, known);
	ld_pop(ld, mark);
	return ret;
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
		if (ld->strict && f && !field_named(f, nf, k)) {
			ret = unknown_field(ld, k, NULL, 0, f, nf);
			goto out;
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

int ld_known_fields(struct ld *ld, yaml_node_t *n, const char *const *names, size_t nn)
{
	if (!n || n->type != YAML_MAPPING_NODE)
		return 0;   /* the walk that reads it says what is wrong */
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = ld_node(ld, p->key);
		size_t i;

		if (!k)
			return -EINVAL;
		if (k->type != YAML_SCALAR_NODE)
			continue;
		for (i = 0; i < nn && strcmp(ld_scalar(k), names[i]); i++)
			;
		if (i == nn)
			return unknown_field(ld, k, names, nn, NULL, 0);
	}
	return 0;
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
	struct ld_num x;
	const char *text = n && n->type == YAML_SCALAR_NODE ? ld_scalar(n) : "";
	bool long_text = strlen(text) > 20;
	long long v;

	switch (ld_resolve(n, &x)) {
	case LD_RES_INT:
		v = x.huge ? LLONG_MAX : x.i;
		break;
	case LD_RES_FLOAT:
		/* a JSON number to the API server: integral is an integer */
		if (isfinite(x.f) && x.f == floor(x.f)) {
			v = x.f >= 1e12 ? 1000000000000LL : x.f <= -1e12 ? -1000000000000LL
								   : (long long)x.f;
			break;
		}
		return ld_err(ld, n, "expected an integer, got the number %.40s", text);
	default:
		if (n && n->type == YAML_SCALAR_NODE && !ld_is_null(n))
			return ld_err(ld, n, "expected an integer, got %s \"%.40s\"",
				      ld_type_name(n), text);
		return ld_err(ld, n, "expected an integer, got %s", ld_type_name(n));
	}
	if (v < min || v > max)
		return ld_err(ld, n, "%s %s out of range %lld-%lld", what,
			      long_text ? "(huge)" : text, min, max);
	if (x.octal0)
		ld_note(ld, n, "%s %s is an octal number in YAML 1.1, read as %lld as kubectl "
			"reads it (write %lld, or 0o%llo)", what, text, v, v, v);
	*out = v;
	return 0;
}
