/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * libFuzzer entry point: the loaded-state file (agent/ops/statefile.c,
 * pw_loaded_load), the JSON that monitor, status, explain and the metrics
 * server read to name what the maps hold. The input is the file; whatever
 * loads is looked up the way those commands do (by ifindex, id, address,
 * name), saved and loaded again to the same counts, the saved text is
 * jansson's own dump of it, and nothing may crash, leak or trip a sanitizer.
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ops/loaded.h"
#include "ops/statefile.h"

static char dir[96];

/*
 * pw_loaded_save streams the file entry by entry instead of dumping one
 * tree: what it wrote must be what jansson dumps for the tree it reads back,
 * byte for byte (the same file as json_dumps of the whole tree).
 */
static void canonical(const char *path)
{
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);
	char *want = j ? json_dumps(j, JSON_COMPACT) : NULL, *got;
	FILE *f = fopen(path, "r");
	long n;

	if (!f || !want || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 1 || fseek(f, 0, SEEK_SET))
		abort();
	got = malloc((size_t)n);
	if (!got || fread(got, 1, (size_t)n, f) != (size_t)n)
		abort();
	fclose(f);
	if ((size_t)n != strlen(want) + 1 || memcmp(got, want, (size_t)n - 1) || got[n - 1] != '\n')
		abort();
	free(got);
	free(want);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_loaded a, b;
	char path[160], copy[160], buf[256];
	uint8_t addr[16] = { 0 };
	int fd;

	if (!dir[0]) {
		const char *t = getenv("TMPDIR");

		snprintf(dir, sizeof(dir), "%.40s/pw-fuzz-state.XXXXXX", t && t[0] ? t : "/tmp");
		if (!mkdtemp(dir))
			abort();
	}
	snprintf(path, sizeof(path), "%s/state.json", dir);
	snprintf(copy, sizeof(copy), "%s/copy.json", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	memset(&a, 0, sizeof(a));
	if (pw_loaded_load(path, &a))
		return 0;   /* refused: fine (pw_loaded_load frees what it built) */

	/* the lookups monitor/status/explain/metrics make */
	for (size_t i = 0; i < a.n_eps && i < 64; i++) {
		(void)pw_ld_ep_by_ifindex(&a, a.eps[i].ifindex);
		(void)pw_ld_ep_by_id(&a, a.eps[i].ep_id);
		if (a.eps[i].pod)
			(void)pw_ld_ep_by_name(&a, a.eps[i].pod);
	}
	for (size_t i = 0; i < a.n_pods && i < 64; i++) {
		if (a.pods[i].pod)
			(void)pw_ld_pod_by_name(&a, a.pods[i].pod);
		if (a.pods[i].n_ips)
			(void)pw_ld_pod_by_addr(&a, a.pods[i].ips[0]);
	}
	for (uint32_t id = 0; id < 8; id++) {
		(void)pw_ld_id(&a, id);
		(void)pw_ld_rule(&a, id);
		(void)pw_ld_name_id(&a, id, buf, sizeof(buf));
		(void)pw_ld_name_addr(&a, addr, id, buf, sizeof(buf));
	}
	for (size_t i = 0; i < a.n_ids && i < 64; i++)
		(void)pw_ld_name_id(&a, a.ids[i].id, buf, sizeof(buf));
	(void)pw_ld_svc_by_addr(&a, addr);

	/* round trip */
	if (pw_loaded_save(&a, copy))
		abort();
	memset(&b, 0, sizeof(b));
	if (pw_loaded_load(copy, &b))
		abort();   /* what we wrote must load */
	if (a.n_eps != b.n_eps || a.n_pods != b.n_pods || a.n_svcs != b.n_svcs ||
	    a.n_ids != b.n_ids || a.n_rules != b.n_rules || a.generation != b.generation)
		abort();
	canonical(copy);
	pw_loaded_free(&a);
	pw_loaded_free(&b);
	unlink(copy);
	return 0;
}
