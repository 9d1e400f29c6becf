/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "k8s/ip.h"
#include "util.h"

const char *t_data_dir = "tests/unit/data";
const char *t_cases_dir;

static int saved_fd = -1;
static FILE *cap_file;

void t_capture_begin(void)
{
	fflush(stderr);
	cap_file = tmpfile();
	saved_fd = dup(2);
	if (cap_file)
		dup2(fileno(cap_file), 2);
}

char *t_capture_end(void)
{
	char *buf;
	long n;

	fflush(stderr);
	if (saved_fd >= 0) {
		dup2(saved_fd, 2);
		close(saved_fd);
		saved_fd = -1;
	}
	if (!cap_file)
		return strdup("");
	n = ftell(cap_file);
	buf = calloc(1, n > 0 ? (size_t)n + 1 : 1);
	if (buf && n > 0) {
		rewind(cap_file);
		if (fread(buf, 1, (size_t)n, cap_file) != (size_t)n)
			buf[0] = 0;
	}
	fclose(cap_file);
	cap_file = NULL;
	return buf;
}

struct pw_cluster *t_load(const char *yaml, struct pw_error *err, int *ret)
{
	struct pw_cluster *c = pw_cluster_new();
	int r;

	t_capture_begin();
	r = pw_cluster_load_buffer(c, "t.yaml", yaml, strlen(yaml), err);
	free(t_capture_end());
	if (!r)
		r = pw_cluster_finish(c, err);
	if (ret)
		*ret = r;
	if (r) {
		pw_cluster_free(c);
		return NULL;
	}
	return c;
}

int t_load_err(const char *yaml, char *msg, size_t len)
{
	struct pw_error err = { { 0 } };
	int r;
	struct pw_cluster *c = t_load(yaml, &err, &r);

	pw_cluster_free(c);
	snprintf(msg, len, "%s", r ? err.msg : "");
	return r;
}

struct pw_cluster *t_compile(const char *yaml, const struct pw_compile_opts *opts,
			     struct pw_state *s, struct pw_error *err)
{
	struct pw_cluster *c = t_load(yaml, err, NULL);

	memset(s, 0, sizeof(*s));
	if (!c)
		return NULL;
	if (pw_compile(c, opts, s, err)) {
		pw_cluster_free(c);
		return NULL;
	}
	return c;
}

const struct pw_state_ep *t_ep(const struct pw_state *s, const char *ns, const char *name)
{
	return pw_state_endpoint(s, ns, name);
}

uint32_t t_ident(const struct pw_state *s, const char *ip)
{
	struct pw_ipcache_val v;
	uint8_t a[16];
	bool v4;

	if (pw_ip_parse(ip, a, &v4))
		return 0xffffffffu;
	pw_state_ipcache_lookup(s, a, &v);
	return v.identity;
}

/* side: "ns/name" (endpoint) or an address */
static bool side(const struct pw_state *s, const char *ref, const struct pw_state_ep **ep,
		 uint8_t addr[16])
{
	char ns[64], name[256];
	const char *slash = strchr(ref, '/');
	bool v4;

	*ep = NULL;
	if (slash && (size_t)(slash - ref) < sizeof(ns)) {
		memcpy(ns, ref, (size_t)(slash - ref));
		ns[slash - ref] = 0;
		snprintf(name, sizeof(name), "%s", slash + 1);
		*ep = pw_state_endpoint(s, ns, name);
		if (!*ep)
			return false;
		memcpy(addr, (*ep)->ips[0], 16);
		return true;
	}
	return pw_ip_parse(ref, addr, &v4) == 0;
}

bool t_allowed(const struct pw_state *s, const char *src, const char *dst, uint16_t port,
	       uint8_t proto)
{
	const struct pw_state_ep *a, *b;
	uint8_t aa[16], ba[16];
	struct pw_ipcache_val v;

	if (!side(s, src, &a, aa) || !side(s, dst, &b, ba))
		return false;
	if (a) {
		pw_state_ipcache_lookup(s, ba, &v);
		if (!pw_state_allows(s, a, PW_DIR_EGRESS, v.identity, proto, port, NULL))
			return false;
	}
	if (b) {
		pw_state_ipcache_lookup(s, aa, &v);
		if (!pw_state_allows(s, b, PW_DIR_INGRESS, v.identity, proto, port, NULL))
			return false;
	}
	return true;
}

size_t t_diff(const void *a, size_t na, const void *b, size_t nb, size_t size, size_t key_size)
{
	const char *x = a, *y = b;
	size_t i = 0, j = 0, d = 0;

	while (i < na || j < nb) {
		int r;

		if (i == na)
			r = 1;
		else if (j == nb)
			r = -1;
		else
			r = memcmp(x + i * size, y + j * size, key_size);
		if (r < 0) {
			d++;
			i++;
		} else if (r > 0) {
			d++;
			j++;
		} else {
			if (memcmp(x + i * size, y + j * size, size))
				d++;
			i++;
			j++;
		}
	}
	return d;
}
