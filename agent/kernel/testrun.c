/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * testrun: BPF_PROG_TEST_RUN of a TC program with an __sk_buff context
 * (testrun.h). The kernel builds an skb from the frame on the device
 * ctx.ifindex, runs the program and copies the context back, so the
 * program's verdict and its mark are both seen.
 */
#include <errno.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

#include "kernel/testrun.h"

int pw_test_run_repeat(int prog_fd, const void *data, uint32_t len, uint32_t ifindex,
		       uint32_t mark, int repeat, struct pw_run_out *out)
{
	struct __sk_buff ctx_in, ctx_out;
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = data,
		.data_size_in = len,
		.ctx_in = &ctx_in,
		.ctx_size_in = sizeof(ctx_in),
		.ctx_out = &ctx_out,
		.ctx_size_out = sizeof(ctx_out),
		.repeat = repeat > 1 ? repeat : 1,
	);
	int err;

	memset(out, 0, sizeof(*out));
	memset(&ctx_in, 0, sizeof(ctx_in));
	memset(&ctx_out, 0, sizeof(ctx_out));
	ctx_in.ifindex = ifindex;
	ctx_in.mark = mark;
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err)
		return err < 0 ? err : -EINVAL;
	out->verdict = (int)opts.retval;
	out->mark = ctx_out.mark;
	out->duration_ns = opts.duration;
	return 0;
}

int pw_test_run(int prog_fd, const void *data, uint32_t len, uint32_t ifindex, uint32_t mark,
		struct pw_run_out *out)
{
	return pw_test_run_repeat(prog_fd, data, len, ifindex, mark, 1, out);
}
