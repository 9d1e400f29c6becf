/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bench util: the clock, order statistics, CPU pinning, /proc readers and a
 * small streaming JSON writer (no JSON library in the agent's link line).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/utsname.h>

#include "bench/bench.h"
#include "clock.h"
#include "kernel/netlink.h"

uint64_t pwb_now_ns(void)
{
	return pw_now_ns();
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double pwb_percentile(double *v, int n, double p)
{
	double rank;
	int lo;

	if (n <= 0)
		return NAN;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	/* linear interpolation between closest ranks (numpy's default) */
	rank = p / 100.0 * (n - 1);
	lo = (int)rank;
	if (lo >= n - 1)
		return v[n - 1];
	return v[lo] + (rank - lo) * (v[lo + 1] - v[lo]);
}

double pwb_median(double *v, int n)
{
	return pwb_percentile(v, n, 50.0);
}

int pwb_pin(int cpu, void *old, size_t oldsz)
{
	cpu_set_t set;

	if (oldsz < sizeof(cpu_set_t) || sched_getaffinity(0, sizeof(cpu_set_t), old))
		return -1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

void pwb_unpin(const void *old, size_t oldsz)
{
	if (oldsz >= sizeof(cpu_set_t))
		sched_setaffinity(0, sizeof(cpu_set_t), old);
}

void pwb_kernel_release(char *buf, size_t len)
{
	struct utsname u;

	if (uname(&u) == 0)
		snprintf(buf, len, "%s", u.release);
	else
		snprintf(buf, len, "?");
}

uint64_t pwb_rss_bytes(int pid, uint64_t *peak)
{
	char path[64], line[256];
	uint64_t rss = 0, hwm = 0, kb;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %lu kB", &kb) == 1)
			rss = kb * 1024;
		else if (sscanf(line, "VmHWM: %lu kB", &kb) == 1)
			hwm = kb * 1024;
	}
	fclose(f);
	if (peak)
		*peak = hwm;
	return rss;
}

/* ---------------------------------------------------------------- JSON */

static void j_sep(struct pwb_json *j, const char *key)
{
	if (j->depth > 0) {
		if (!j->first[j->depth])
			fputc(',', j->f);
		j->first[j->depth] = false;
		fputc('\n', j->f);
		for (int i = 0; i < j->depth; i++)
			fputs("  ", j->f);
	}
	if (key) {
		fputc('"', j->f);
		fputs(key, j->f); /* keys are ours: plain ASCII */
		fputs("\": ", j->f);
	}
}

static void j_open(struct pwb_json *j, const char *key, char c)
{
	j_sep(j, key);
	fputc(c, j->f);
	if (j->depth < 31)
		j->depth++;
	j->first[j->depth] = true;
	j->close[j->depth] = c == '{' ? '}' : ']';
}

void pwb_json_begin(struct pwb_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

void pwb_json_obj(struct pwb_json *j, const char *key) { j_open(j, key, '{'); }
void pwb_json_arr(struct pwb_json *j, const char *key) { j_open(j, key, '['); }

void pwb_json_end(struct pwb_json *j)
{
	if (j->depth <= 0)
		return;
	if (!j->first[j->depth]) {
		fputc('\n', j->f);
		for (int i = 0; i < j->depth - 1; i++)
			fputs("  ", j->f);
	}
	fputc(j->close[j->depth], j->f);
	j->depth--;
	if (j->depth == 0)
		fputc('\n', j->f);
}

void pwb_json_num(struct pwb_json *j, const char *key, double v)
{
	j_sep(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.6g", v);
	else
		fputs("null", j->f);
}

void pwb_json_int(struct pwb_json *j, const char *key, long long v)
{
	j_sep(j, key);
	fprintf(j->f, "%lld", v);
}

void pwb_json_str(struct pwb_json *j, const char *key, const char *v)
{
	j_sep(j, key);
	if (!v) {
		fputs("null", j->f);
		return;
	}
	fputc('"', j->f);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(j->f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(j->f, "\\u%04x", *p);
		else
			fputc(*p, j->f);
	}
	fputc('"', j->f);
}

void pwb_json_bool(struct pwb_json *j, const char *key, bool v)
{
	j_sep(j, key);
	fputs(v ? "true" : "false", j->f);
}

void pwb_json_null(struct pwb_json *j, const char *key)
{
	j_sep(j, key);
	fputs("null", j->f);
}

int pwb_in_private_dev(int (*fn)(void *ctx, uint32_t dev), void *ctx)
{
	uint32_t dev = 0;
	int netns, err;

	netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (netns < 0)
		return -errno;
	err = pw_private_netns();
	if (!err)
		err = pw_nl_dummy_add("pwbench0", &dev);
	if (!err)
		err = pw_nl_link_up("pwbench0");
	if (!err)
		err = fn(ctx, dev);
	if (setns(netns, CLONE_NEWNET) && !err)
		err = -errno;
	close(netns);
	return err;
}
