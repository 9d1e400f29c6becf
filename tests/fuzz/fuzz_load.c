/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * libFuzzer entry point: load a buffer, finish, compile, free. Not built by
 * default. Build and run (from the repository root):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Iagent -D_GNU_SOURCE \
 *         tests/fuzz/fuzz_load.c agent/state.c agent/k8s/[a-z]*.c agent/compiler/[a-z]*.c \
 *         -lyaml -o build/fuzz_load
 *   mkdir -p build/fuzz-corpus && cp tests/conformance/cases/upstream/[0-9]*.yaml \
 *         tests/unit/data/[a-z]*.yaml build/fuzz-corpus/
 *   build/fuzz_load -max_len=8192 -timeout=10 -close_fd_mask=2 build/fuzz-corpus
 *
 * (-close_fd_mask=2 silences the loader's notes on stderr; libFuzzer keeps
 * its own output.)
 *
 * Every input must either load or fail with an error message, never crash,
 * leak, hang or trip a sanitizer; a loaded input must compile, to the same
 * state with a compile cache (one kept across inputs: the previous input's
 * prefixes are found by content) as without, and again with every pod known.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compiler.h"
#include "model.h"

static struct pw_compile_cache *cache;

static bool same_state(const struct pw_state *a, const struct pw_state *b)
{
	return a->n_eps == b->n_eps && a->n_ipc == b->n_ipc && a->n_pol == b->n_pol &&
	       a->n_ids == b->n_ids && a->n_rules == b->n_rules &&
	       !memcmp(a->eps, b->eps, a->n_eps * sizeof(*a->eps)) &&
	       !memcmp(a->ipc, b->ipc, a->n_ipc * sizeof(*a->ipc)) &&
	       !memcmp(a->pol, b->pol, a->n_pol * sizeof(*a->pol)) &&
	       !memcmp(a->ids, b->ids, a->n_ids * sizeof(*a->ids)) &&
	       !memcmp(a->rules, b->rules, a->n_rules * sizeof(*a->rules));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_cluster *c;
	struct pw_error err;
	struct pw_state s;
	int r;

	c = pw_cluster_new();
	if (!c)
		return 0;
	memset(&err, 0, sizeof(err));
	r = pw_cluster_load_buffer(c, "fuzz.yaml", (const char *)data, size, &err);
	if (r && !err.msg[0])
		abort();   /* every error says what it is */
	if (!r)
		r = pw_cluster_finish(c, &err);
	if (!r) {
		memset(&s, 0, sizeof(s));
		r = pw_compile(c, NULL, &s, &err);
		if (!r) {
			/* the output contract: sorted arrays, ids in range */
			for (size_t i = 1; i < s.n_pol; i++)
				if (memcmp(&s.pol[i - 1].key, &s.pol[i].key, sizeof(s.pol[i].key)) >= 0)
					abort();
			for (size_t i = 1; i < s.n_ipc; i++)
				if (memcmp(&s.ipc[i - 1].key, &s.ipc[i].key, sizeof(s.ipc[i].key)) >= 0)
					abort();
			for (size_t i = 1; i < s.n_ids; i++)
				if (s.ids[i - 1].id >= s.ids[i].id)
					abort();
			for (size_t i = 0; i < s.n_eps; i++)
				if (s.eps[i].ep_id < 1 || s.eps[i].ep_id > 0x7fffffff)
					abort();
			if (!cache)
				cache = pw_compile_cache_new();
			for (int k = 0; cache && k < 2; k++) {
				struct pw_compile_opts o = { .cache = cache };
				struct pw_state t;

				memset(&t, 0, sizeof(t));
				if (pw_compile(c, &o, &t, &err) || !same_state(&s, &t))
					abort();
				pw_state_free(&t);
			}
		}
		pw_state_free(&s);
	}
	pw_cluster_free(c);
	return 0;
}
