// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Parsing argv with a command's option table, and its help (opts.h). Not
 * getopt: the table is the one source of what a command accepts, its help
 * and its usage; options and positional arguments may come in any order.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cmd/cmd.h"
#include "cmd/opts.h"

const char *pw_opt_name(const struct pw_opt *o)
{
	static char buf[64];

	if (o->long_name)
		snprintf(buf, sizeof(buf), "--%s", o->long_name);
	else
		snprintf(buf, sizeof(buf), "-%c", o->short_name);
	return buf;
}

int pw_opts_bad(const struct pw_cmd_doc *d, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "podwall %s: ", d->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: podwall %s %s\n(podwall %s --help lists every option)\n",
		d->name, d->usage, d->name);
	return PW_EXIT_USAGE;
}

int pw_opts_output(const struct pw_cmd_doc *d, const char *val, bool *json)
{
	if (!strcmp(val, "json"))
		*json = true;
	else if (!strcmp(val, "text") || !strcmp(val, "table"))
		*json = false;
	else
		return pw_opts_bad(d, "-o: text or json, not '%s'", val);
	return 0;
}

void pw_opts_help(const struct pw_cmd_doc *d, FILE *f)
{
	const struct pw_opt *o;
	int w = 0;

	fprintf(f, "usage: podwall %s %s\n%s\n\noptions:\n", d->name, d->usage, d->about);
	for (o = d->opts; o && o->id; o++) {
		int n = (int)((o->long_name ? strlen(o->long_name) + 2 : 0) +
			      (o->arg ? strlen(o->arg) + 1 : 0));

		w = n > w ? n : w;
	}
	w = w < 11 ? 11 : w;  /* "--help" and friends */
	for (o = d->opts; o && o->id; o++) {
		char lbuf[160];

		snprintf(lbuf, sizeof(lbuf), "%s%s%s%s", o->long_name ? "--" : "",
			 o->long_name ? o->long_name : "", o->arg ? " " : "", o->arg ? o->arg : "");
		if (o->short_name)
			fprintf(f, "  -%c%s %-*s  %s", o->short_name, o->long_name ? "," : " ", w,
				o->long_name ? lbuf : lbuf, o->help);
		else
			fprintf(f, "      %-*s  %s", w, lbuf, o->help);
		if (o->alias)
			fprintf(f, " (also --%s)", o->alias);
		fputc('\n', f);
	}
	fprintf(f, "  -h, %-*s  this help\n", w, "--help");
}

static const struct pw_opt *find_long(const struct pw_cmd_doc *d, const char *name, size_t len)
{
	for (const struct pw_opt *o = d->opts; o && o->id; o++)
		if ((o->long_name && strlen(o->long_name) == len && !strncmp(o->long_name, name, len)) ||
		    (o->alias && strlen(o->alias) == len && !strncmp(o->alias, name, len)))
			return o;
	return NULL;
}

static const struct pw_opt *find_short(const struct pw_cmd_doc *d, char c)
{
	for (const struct pw_opt *o = d->opts; o && o->id; o++)
		if (o->short_name == c)
			return o;
	return NULL;
}

int pw_opts_parse(const struct pw_cmd_doc *d, int argc, char **argv, pw_opt_fn fn, void *ctx)
{
	bool opts_done = false;
	int ret;

	/* help first, wherever it is: "podwall matrix -f x --help" helps */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			pw_opts_help(d, stdout);
			return PW_OPTS_HELP;
		}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		const struct pw_opt *o;

		if (opts_done || a[0] != '-' || !a[1]) {   /* "-" alone is a value (stdin) */
			ret = fn(ctx, NULL, a);
			if (ret)
				return ret;
			continue;
		}
		if (!strcmp(a, "--")) {
			opts_done = true;
			continue;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');

			o = find_long(d, a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
			if (!o)
				return pw_opts_bad(d, "unknown option %.*s", eq ? (int)(eq - a) : 200, a);
			if (eq && !o->arg)
				return pw_opts_bad(d, "option %s takes no value", pw_opt_name(o));
			val = eq ? eq + 1 : NULL;
		} else {
			o = find_short(d, a[1]);
			if (!o)
				return pw_opts_bad(d, "unknown option %s", a);
			if (a[2] && !o->arg)
				return pw_opts_bad(d, "option -%c takes no value", a[1]);
			val = a[2] ? a + 2 : NULL;
		}
		if (o->arg && !val) {
			if (i + 1 >= argc)
				return pw_opts_bad(d, "option %s needs a value (%s)", pw_opt_name(o),
						   o->arg);
			val = argv[++i];
		}
		ret = fn(ctx, o, val);
		if (ret)
			return ret;
	}
	return 0;
}

void pw_opts_print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2));

	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(v);
}
