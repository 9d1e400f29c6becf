/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Datapath tests' way to put a cluster in the maps: the YAML of a test's
 * world and its extra objects, loaded, compiled and synced as the agent
 * does, into the test's own (private) maps.
 */
#ifndef PW_TEST_DP_APPLY_H
#define PW_TEST_DP_APPLY_H

#include "podwall.skel.h"
#include "compiler.h"

/* world + extra, compiled with opts and synced into o's maps. 0, or -1 (printed). */
int dp_apply_yaml(struct podwall_bpf *o, const char *world, const char *extra,
		  const struct pw_compile_opts *opts);

#endif
