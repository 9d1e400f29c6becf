// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * podwall apply -f FILE|DIR: one load + compile + sync + attach pass of the
 * engine (agent/engine/), with the options and hooks of the agent.
 * Exit 0 applied, 2 bad input (nothing changed), 3 system error.
 */
#include <stdio.h>
#include <string.h>
#include "clock.h"
#include "cmd/cmd.h"
#include "cmd/agent.h"
#include "ops/statefile.h"
#include "source/source.h"

static const char apply_usage[] =
	"-f FILE|DIR [--pin-dir P] [--mode enforce|audit] [--dns auto|off] "
	"[--uplink DEV]... [--dns-namespace NS] [--dns-label k=v]";

int cmd_apply(int argc, char **argv)
{
	struct pw_engine_hooks hooks;
	struct pw_agent_opts o;
	struct pw_engine *e = NULL;
	struct pw_cluster *c = NULL;
	struct pw_push_result res;
	struct pw_error lerr;
	uint64_t t0 = pw_now_ns();
	bool help;
	int ret, err;

	ret = pw_agent_parse(argc, argv, apply_usage, &o, &help);
	if (ret || help)
		return ret;
	o.eng.strict_uplinks = true;
	pw_agent_hooks(&o, &hooks);

	ret = PW_EXIT_SYSTEM;
	err = pw_engine_new(&o.eng, &hooks, &e);
	if (err)
		goto out;

	/* input first: bad input touches nothing, not even the pins */
	err = pw_src_load_once(o.source, &c, &lerr);
	if (err) {
		fprintf(stderr, "podwall: %s\n", lerr.msg);
		fprintf(stderr, "podwall: nothing applied; the policy in force stays in force\n");
		ret = PW_EXIT_USAGE;
		goto out;
	}
	err = pw_engine_push(e, c, PW_PUSH_FIRST, t0, &res);
	ret = !err ? PW_EXIT_OK : res.input_error ? PW_EXIT_USAGE : PW_EXIT_SYSTEM;
out:
	/* the names file is written by a thread: it is on disk before we exit */
	pw_ops_state_flush();
	pw_cluster_free(c);
	pw_engine_free(e);
	pw_agent_opts_free(&o);
	return ret;
}
