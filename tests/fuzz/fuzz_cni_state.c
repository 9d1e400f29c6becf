/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * libFuzzer entry point: the agent's CNI endpoint registry file
 * (agent/source/cni_server.c, pw_cni_reg_load / pw_cni_reg_save), the JSON a
 * restarted agent reads back. The input is the file; whatever loads must
 * save and load again to the same registry (round trip), and nothing may
 * crash, leak or trip a sanitizer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "source/cni_server.h"

static char dir[64];

static void write_file(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		abort();
	while (size) {
		ssize_t w = write(fd, data, size);

		if (w <= 0)
			abort();
		data += w;
		size -= (size_t)w;
	}
	close(fd);
}

static void same(const struct pw_cni_ep *a, const struct pw_cni_ep *b)
{
	if (strcmp(a->cid, b->cid) || strcmp(a->ifname, b->ifname) || strcmp(a->ns, b->ns) ||
	    strcmp(a->name, b->name) || strcmp(a->veth, b->veth) || a->ifindex != b->ifindex ||
	    a->n_ips != b->n_ips || memcmp(a->ips, b->ips, sizeof(a->ips[0]) * a->n_ips) ||
	    a->seq != b->seq)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_cni_reg a, b;
	char path[128], copy[128];

	if (!dir[0]) {
		const char *t = getenv("TMPDIR");

		snprintf(dir, sizeof(dir), "%.40s/pw-fuzz-cni-state.XXXXXX", t && t[0] ? t : "/tmp");
		if (!mkdtemp(dir))
			abort();
	}
	snprintf(path, sizeof(path), "%s/endpoints.json", dir);
	snprintf(copy, sizeof(copy), "%s/copy.json", dir);
	write_file(path, data, size);

	if (pw_cni_reg_load(&a, path, 0))
		abort();   /* a bad file is an empty registry, never an error */
	for (size_t i = 0; i < a.n; i++) {
		const struct pw_cni_ep *e = &a.v[i];

		if (!e->cid || !e->cid[0] || !e->ns || !e->ns[0] || !e->name || !e->name[0] ||
		    !e->ifindex || !e->n_ips || e->n_ips > 2)
			abort();
		for (size_t j = 0; j < i; j++)
			if (!strcmp(a.v[j].cid, e->cid) && !strcmp(a.v[j].ifname, e->ifname))
				abort();   /* one entry per attachment */
	}

	/* round trip */
	free(a.path);
	a.path = strdup(copy);
	if (!a.path || pw_cni_reg_save(&a))
		abort();
	if (pw_cni_reg_load(&b, copy, 0) || b.n != a.n)
		abort();
	for (size_t i = 0; i < a.n; i++)
		same(&a.v[i], &b.v[i]);
	pw_cni_reg_free(&a);
	pw_cni_reg_free(&b);
	unlink(copy);
	return 0;
}
