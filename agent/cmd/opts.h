/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One option table per command (opts.c), in the manner of bpftool: the
 * table is what the command accepts, what `podwall CMD --help` lists and
 * what its usage line says, so that the three never drift apart. Every
 * command answers -h/--help on stdout with exit 0; -o text|json is the one
 * output flag (`table` is an alias of text).
 */
#ifndef PODWALL_CMD_OPTS_H
#define PODWALL_CMD_OPTS_H

#include <stdbool.h>
#include <stdio.h>

struct pw_opt {
	int         id;         /* handed back to the command; 0 ends the table */
	char        short_name; /* -x, or 0 */
	const char *long_name;  /* --name, or NULL */
	const char *arg;        /* the value's placeholder ("FILE|DIR"); NULL: a flag */
	const char *help;       /* one line */
	const char *alias;      /* another long name accepted (kept for scripts), or NULL */
};

struct pw_cmd_doc {
	const char          *name;   /* "matrix" */
	const char          *usage;  /* after "podwall NAME ": the short synopsis */
	const char          *about;  /* what the command does, one line */
	const struct pw_opt *opts;   /* ends with an entry of id 0 */
};

/* The option -o text|json every command with output has. */
#define PW_OPT_OUTPUT(id) \
	{ id, 'o', "output", "text|json", "output format (table: the same as text)", NULL }

/*
 * An option (o, with its value or NULL for a flag) or, with o NULL, a
 * positional argument. Returns 0, or PW_EXIT_USAGE after saying why
 * (pw_opts_bad).
 */
typedef int (*pw_opt_fn)(void *ctx, const struct pw_opt *o, const char *val);

#define PW_OPTS_HELP (-1)

/*
 * Parse argv[1..argc) with d's table: --name VALUE, --name=VALUE, -x VALUE,
 * -xVALUE, flags alone; -h and --help anywhere print the help on stdout;
 * "--" ends the options. Returns 0, PW_OPTS_HELP (help printed: exit 0) or
 * PW_EXIT_USAGE (the error and the usage line printed on stderr).
 */
int pw_opts_parse(const struct pw_cmd_doc *d, int argc, char **argv, pw_opt_fn fn, void *ctx);

/* "usage: podwall NAME USAGE", the about line and every option of the table */
void pw_opts_help(const struct pw_cmd_doc *d, FILE *f);

/* "podwall NAME: <message>" and the usage line on stderr; PW_EXIT_USAGE */
int pw_opts_bad(const struct pw_cmd_doc *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* -o: "text" (or its alias "table") or "json" into *json; else pw_opts_bad */
int pw_opts_output(const struct pw_cmd_doc *d, const char *val, bool *json);

struct json_t;
/* -o json's output: v indented on stdout, then its reference dropped */
void pw_opts_print_json(struct json_t *v);

/* The option's name as the user wrote it in messages: "--ports" or "-o" */
const char *pw_opt_name(const struct pw_opt *o);

#endif
