/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * How the layers below cmd/ say things (DESIGN §9): pw_errorf fills the
 * pw_error a failing function returns with (model.h); pw_warn and pw_info hand
 * a line to the hook cmd/ installed (log.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include "log.h"
#include "model.h"

int pw_errorf(struct pw_error *err, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return ret;
}

static pw_log_fn log_fn;
static void *log_ctx;

void pw_log_set(pw_log_fn fn, void *ctx)
{
	log_fn = fn;
	log_ctx = ctx;
}

void pw_log(enum pw_log_level level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	if (!log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_fn(log_ctx, level, line);
}
