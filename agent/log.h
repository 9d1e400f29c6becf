/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one log hook of the layers below agent/cmd/ (DESIGN §9), in the
 * manner of libbpf_set_print: what a layer has to say while it keeps going
 * (a warning, a notice of what it did, a long-running source's per-event
 * line) goes through pw_warn or pw_info, and the command decides where it goes
 * (cmd/: main.c prints it on stderr). Without a hook, nothing is said.
 *
 * Errors do not go here: a function that fails returns a negative errno and
 * says why in a struct pw_error (model.h), and cmd/ prints it. A line is
 * handed over whole, prefix included ("podwall: k8s: ..."), without its
 * newline.
 */
#ifndef PODWALL_LOG_H
#define PODWALL_LOG_H

enum pw_log_level {
	PW_LOG_WARN = 0, /* something is wrong, and the caller went on */
	PW_LOG_INFO,     /* what happened: adopted pins, a CNI ADD, a watch reconnecting */
};

typedef void (*pw_log_fn)(void *ctx, enum pw_log_level level, const char *line);

/* Install the hook (NULL: say nothing). Set once, before threads start. */
void pw_log_set(pw_log_fn fn, void *ctx);

/* One line at level; pw_warn and pw_info say which. */
void pw_log(enum pw_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define pw_warn(...) pw_log(PW_LOG_WARN, __VA_ARGS__)
#define pw_info(...) pw_log(PW_LOG_INFO, __VA_ARGS__)

#endif
