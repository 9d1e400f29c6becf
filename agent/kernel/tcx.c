// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tcx: BPF_PROG_ATTACH/DETACH/QUERY on a device's tcx hooks (tcx.h).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "kernel/tcx.h"

/* enum bpf_attach_type and the generic attach flags of Linux 6.6's uapi */
#define PW_BPF_TCX_INGRESS 46
#define PW_BPF_TCX_EGRESS  47
#define PW_BPF_F_REPLACE   (1U << 2)
#define PW_BPF_F_BEFORE    (1U << 3)

static int tcx_type(bool egress)
{
	return egress ? PW_BPF_TCX_EGRESS : PW_BPF_TCX_INGRESS;
}

int pw_tcx_probe(void)
{
	uint32_t n = 0;
	int err;

	/* lo is ifindex 1 in every network namespace; a kernel without tcx
	 * does not know the attach type (-EINVAL) */
	err = pw_tcx_list(1, false, NULL, &n);
	if (!err)
		return 1;
	return err == -EINVAL ? 0 : err;
}

int pw_tcx_list(uint32_t ifindex, bool egress, uint32_t *ids, uint32_t *n)
{
	LIBBPF_OPTS(bpf_prog_query_opts, q);
	int err;

	q.prog_ids = ids;
	q.prog_cnt = ids ? PW_TCX_MAX_PROGS : 0;
	err = bpf_prog_query_opts((int)ifindex, tcx_type(egress), &q);
	if (err)
		return err;
	*n = q.prog_cnt > PW_TCX_MAX_PROGS ? PW_TCX_MAX_PROGS : q.prog_cnt;
	return 0;
}

int pw_tcx_attach(int prog_fd, uint32_t ifindex, bool egress, int replace_fd)
{
	LIBBPF_OPTS(bpf_prog_attach_opts, a);

	if (replace_fd >= 0) {
		a.flags = PW_BPF_F_REPLACE;
		a.replace_prog_fd = replace_fd;
	} else {
		/* before every other program of the hook: podwall's verdict
		 * comes first, as its clsact filter's priority did */
		a.flags = PW_BPF_F_BEFORE;
	}
	return bpf_prog_attach_opts(prog_fd, (int)ifindex, tcx_type(egress), &a);
}

int pw_tcx_detach(uint32_t prog_id, uint32_t ifindex, bool egress)
{
	int fd = bpf_prog_get_fd_by_id(prog_id), err;

	if (fd < 0)
		return fd == -ENOENT ? 0 : fd; /* gone meanwhile */
	err = bpf_prog_detach2(fd, (int)ifindex, tcx_type(egress));
	close(fd);
	return err;
}
