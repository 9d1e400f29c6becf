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
 * leak, hang or trip a sanitizer; a loaded input must compile.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compiler.h"
#include "model.h"

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
		}
		pw_state_free(&s);
	}
	pw_cluster_free(c);
	return 0;
}
