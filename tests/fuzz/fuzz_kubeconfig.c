/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * libFuzzer entry point: the kubeconfig reader of the Kubernetes API source
 * (agent/source/kubeconfig.c, pw_kcfg_load, libyaml's document loader) and
 * its base64 decoder. The input is the kubeconfig file, loaded once with its
 * current-context and once with the context named "c". Every input loads
 * or fails with a reason; never a crash, leak or sanitizer report.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "model.h"
#include "source/kubeconfig.h"

static char path[128];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_kcfg cfg;
	struct pw_blob b;
	struct pw_error why;
	char *s;
	int fd, r;

	if (!path[0]) {
		const char *t = getenv("TMPDIR");
		char dir[96];

		snprintf(dir, sizeof(dir), "%.40s/pw-fuzz-kcfg.XXXXXX", t && t[0] ? t : "/tmp");
		if (!mkdtemp(dir))
			abort();
		snprintf(path, sizeof(path), "%s/kubeconfig", dir);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	for (int i = 0; i < 2; i++) {
		r = pw_kcfg_load(path, i ? "c" : NULL, &cfg, &why);
		if (r && !why.msg[0])
			abort();   /* every failure says why */
		if (!r) {
			if (!cfg.server || (strncmp(cfg.server, "https://", 8) &&
					    strncmp(cfg.server, "http://", 7)) || !cfg.origin)
				abort();
			pw_kcfg_free(&cfg);
		}
	}

	/* the base64 decoder on the raw bytes */
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (!pw_base64_decode(s, &b)) {
		if (b.len > size / 4 * 3 + 3)
			abort();
		free(b.data);
	}
	free(s);
	return 0;
}
