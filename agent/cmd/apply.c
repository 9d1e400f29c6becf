// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * podwall apply -f FILE|DIR: one load + compile + sync + attach pass of the
 * engine (agent/engine/), with the options and hooks of the agent.
 * Exit 0 applied, 2 bad input (nothing changed), 3 system error.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "clock.h"
#include "cmd/cmd.h"
#include "cmd/agent.h"
#include "cmd/input.h"
#include "cmd/opts.h"
#include "ops/statefile.h"
#include "source/source.h"

enum { O_FILE = PW_AOPT_MAX_ };

static const struct pw_opt apply_opts[] = {
	{ O_FILE, 'f', "filename", "FILE|DIR", "manifests to apply ('-': stdin); several -f are "
	  "merged", "source" },
	PW_AGENT_OPTS,
	{ 0 },
};

const struct pw_cmd_doc pw_doc_apply = {
	"apply",
	"-f FILE|DIR... [--pin-dir P] [--mode enforce|audit] [--dns auto|off] [--uplink DEV]... "
	"[--dns-namespace NS] [--dns-label k=v] [--redirect]",
	"one compile + sync + attach pass of the manifests, then exit",
	apply_opts,
};

struct apply_args {
	struct pw_agent_opts o;
	struct pw_cmd_inputs files;
};

static int apply_opt(void *ctx, const struct pw_opt *opt, const char *val)
{
	struct apply_args *a = ctx;

	if (!opt)
		return pw_opts_bad(&pw_doc_apply, "unexpected argument '%s'", val);
	if (opt->id != O_FILE)
		return pw_agent_opt(&pw_doc_apply, &a->o, opt, val);
	a->o.source = a->files.n ? a->files.v[0] : val;
	return pw_cmd_add_input(&pw_doc_apply, &a->files, val);
}

int cmd_apply(int argc, char **argv)
{
	struct pw_engine_hooks hooks;
	struct apply_args a = { 0 };
	struct pw_agent_opts *op = &a.o;
	struct pw_engine *e = NULL;
	struct pw_cluster *c = NULL;
	struct pw_push_result res;
	struct pw_error lerr;
	uint64_t t0 = pw_now_ns();
	int ret, err;

	ret = pw_opts_parse(&pw_doc_apply, argc, argv, apply_opt, &a);
	if (!ret && !a.files.n)
		ret = pw_opts_bad(&pw_doc_apply, "no manifests given (-f FILE|DIR)");
	if (ret) {
		pw_agent_opts_free(op);
		return ret == PW_OPTS_HELP ? PW_EXIT_OK : ret;
	}
	pw_agent_opts_done(op);
	a.o.eng.strict_uplinks = true;
	pw_agent_hooks(&a.o, &hooks);

	ret = PW_EXIT_SYSTEM;
	err = pw_engine_new(&a.o.eng, &hooks, &e);
	if (err)
		goto out;

	/* input first: bad input touches nothing, not even the pins; one
	 * source is read as the agent reads it (who may write it is checked) */
	if (a.files.n == 1) {
		err = pw_src_load_once(a.o.source, &c, &lerr);
		if (err)
			fprintf(stderr, "podwall apply: %s\n", lerr.msg);
	} else {
		err = pw_cmd_load("apply", &a.files, &c) == PW_EXIT_OK ? 0 : -EINVAL;
	}
	if (err) {
		fprintf(stderr, "podwall apply: nothing applied; the policy in force stays in "
			"force\n");
		ret = err == -ENOMEM ? PW_EXIT_SYSTEM : PW_EXIT_USAGE;
		goto out;
	}
	err = pw_engine_push(e, c, PW_PUSH_FIRST, t0, &res);
	ret = !err ? PW_EXIT_OK : res.input_error ? PW_EXIT_USAGE : PW_EXIT_SYSTEM;
out:
	/* the names file is written by a thread: it is on disk before we exit */
	pw_ops_state_flush();
	pw_cluster_free(c);
	pw_engine_free(e);
	pw_agent_opts_free(op);
	return ret;
}
