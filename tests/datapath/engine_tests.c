/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The engine's stages (engine/stages.h) driven without the command line:
 * a directory of YAML is loaded (source.h), resolved (the pods' devices
 * through the local_ifindex hook, the uplink by name), compiled into a
 * state, synced into private maps and attached to dummy devices of the
 * datapath suite's private network namespace; packets run through the
 * programs with BPF_PROG_TEST_RUN check that the maps say what the YAML
 * says. Then pw_engine_push: what it skips (same objects, a quiet tick),
 * what it redoes (a changed policy), what it refuses (a missing strict
 * uplink: bad input, nothing synced), and what the hooks hear.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>

#include "check.h"
#include "podwall.skel.h"
#include "engine/stages.h"
#include "kernel/bpfobj.h"
#include "kernel/netlink.h"
#include "kernel/pkt.h"
#include "kernel/route.h"
#include "kernel/testrun.h"
#include "source/source.h"

#define IP_A    "198.18.7.1"
#define IP_B    "198.18.7.2"
#define IP_PEER "198.18.7.9"

static uint32_t if_a, if_b, if_up;
static char dir[64];

/* what the hooks heard */
static struct {
	int  synced, pushed, last_err;
	char log[8192];
} seen;

static uint32_t hook_local(void *ctx, const struct pw_pod *pod)
{
	if (strcmp(pod->ns, "eng"))
		return 0;
	return !strcmp(pod->name, "a") ? if_a : !strcmp(pod->name, "b") ? if_b : 0;
}

static void hook_synced(void *ctx, const char *pin_dir, struct pw_state *s,
			const struct pw_cluster *c, const struct pw_sync_stats *st)
{
	seen.synced++;
}

static void hook_pushed(void *ctx, enum pw_push_kind kind, uint64_t start_ns,
			const struct pw_push_result *res, int err)
{
	seen.pushed++;
	seen.last_err = err;
}

static void hook_log(void *ctx, const char *line)
{
	size_t n = strlen(seen.log);

	snprintf(seen.log + n, sizeof(seen.log) - n, "%s\n", line);
}

static const struct pw_engine_hooks hooks = {
	.local_ifindex = hook_local,
	.synced = hook_synced,
	.pushed = hook_pushed,
	.log = hook_log,
};

/* The manifests: pods a and b in namespace eng; b admits a on TCP port. */
static int write_manifests(int port)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/objects.yaml", dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "apiVersion: v1\nkind: Namespace\nmetadata: {name: eng}\n---\n"
		"apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: eng, labels: {app: a}}\n"
		"status: {podIP: %s}\n---\n"
		"apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: eng, labels: {app: b}}\n"
		"status: {podIP: %s}\n---\n"
		"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		"metadata: {name: b-from-a, namespace: eng}\n"
		"spec:\n  podSelector: {matchLabels: {app: b}}\n"
		"  ingress:\n  - from: [{podSelector: {matchLabels: {app: a}}}]\n"
		"    ports: [{protocol: TCP, port: %d}]\n", IP_A, IP_B, port);
	return fclose(f) ? -errno : 0;
}

static struct pw_cluster *load(int port)
{
	struct pw_cluster *c = NULL;
	struct pw_error err;

	CHECK_EQ(write_manifests(port), 0);
	if (pw_src_load_once(dir, &c, &err)) {
		CHECK(!"pw_src_load_once");
		fprintf(stderr, "engine test: %s\n", err.msg);
		return NULL;
	}
	return c;
}

static struct pw_engine *engine(const char *uplink)
{
	struct pw_engine_config cfg = { .private_maps = true, .strict_uplinks = true,
					.n_uplinks = 1 };
	struct pw_engine *e = NULL;

	cfg.uplinks[0] = uplink;
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ(pw_engine_new(&cfg, &hooks, &e), 0);
	return e;
}

/* The verdict of B's ingress program for a SYN from src to B:dport. */
static int to_b(struct pw_engine *e, const char *src, uint16_t dport)
{
	static uint16_t sport = 41000;
	uint8_t s[16], d[16];
	struct pw_run_out out;
	struct pw_pkt p;

	if (pw_addr_parse(src, s) || pw_addr_parse(IP_B, d) ||
	    pw_pkt_tcp(&p, s, d, sport++, dport, PW_TCPF_SYN))
		return -1000;
	if (pw_test_run(pw_bpf_prog_fd(pw_engine_object(e), PW_PROG_TO_POD), p.data, p.len,
			if_b, 0, &out))
		return -1001;
	return out.verdict;
}

/* Whether a podwall filter sits on ifindex in that direction. */
static bool has_filter(uint32_t ifindex, bool egress)
{
	struct pw_tc_filter *f = NULL;
	struct pw_rt *rt = NULL;
	size_t n = 0;
	bool found = false;

	if (pw_rt_open(&rt))
		return false;
	if (!pw_tc_list(rt, ifindex, egress, &f, &n))
		for (size_t i = 0; i < n; i++)
			found |= f[i].podwall;
	free(f);
	pw_rt_close(rt);
	return found;
}

static const struct pw_pod *pod_named(const struct pw_cluster *c, const char *name, size_t *i)
{
	for (*i = 0; *i < c->n_pods; (*i)++)
		if (!strcmp(c->pods[*i].name, name))
			return &c->pods[*i];
	return NULL;
}

static void t_engine_stages(void)
{
	struct pw_cluster *c = load(80);
	struct pw_engine *e = engine("pwEngUp");
	struct pw_resolution r = { 0 };
	struct pw_push_result res = { 0 };
	struct pw_state st = { 0 };
	struct pw_tc_spot *spots = NULL;
	size_t n_spots = 0, ia = 0, ib = 0;

	if (!c || !e)
		goto out;
	/* resolve: the hook's devices, the uplink by name */
	CHECK_EQ(pw_engine_resolve(e, c, true, false, &r), 0);
	CHECK(pod_named(c, "a", &ia) && pod_named(c, "b", &ib));
	if (check_failed_now)
		goto out;
	CHECK_EQ(r.ifindex[ia], if_a);
	CHECK_EQ(r.ifindex[ib], if_b);
	CHECK_EQ(r.n_uplinks, 1);
	CHECK_EQ(r.uplinks[0], if_up);

	/* compile: b is isolated for ingress, a is not */
	CHECK_EQ(pw_engine_compile(e, &r, &st, &res), 0);
	CHECK_EQ(res.n_endpoints, 2);
	CHECK_EQ(st.n_eps, 2);
	for (size_t i = 0; i < st.n_eps; i++) {
		bool is_b = !strcmp(st.eps[i].name, "b");

		CHECK_EQ(st.eps[i].ifindex, is_b ? if_b : if_a);
		CHECK_EQ(!!(st.eps[i].flags & PW_EP_ISOLATED_INGRESS), is_b);
	}

	/* sync: the maps now say it */
	CHECK_EQ(pw_engine_sync(e, &st, &res), 0);
	CHECK(res.did_sync && res.sync.switched);
	CHECK_EQ(to_b(e, IP_A, 80), TC_ACT_OK);
	CHECK_EQ(to_b(e, IP_A, 81), TC_ACT_SHOT);
	CHECK_EQ(to_b(e, IP_PEER, 80), TC_ACT_SHOT);

	/* attach: both sides of each pod's device, the uplink's egress */
	CHECK_EQ(pw_engine_spots(&st, r.uplinks, r.n_uplinks, &spots, &n_spots), 0);
	CHECK_EQ(n_spots, 5);
	CHECK_EQ(pw_engine_attach(e, spots, n_spots, &res), 0);
	CHECK(has_filter(if_a, false) && has_filter(if_a, true));
	CHECK(has_filter(if_b, false) && has_filter(if_b, true));
	CHECK(has_filter(if_up, true));
	CHECK(!has_filter(if_up, false));
	/* the stages alone do not tell the synced hook: push does */
	CHECK_EQ(seen.synced, 0);
out:
	free(spots);
	pw_state_free(&st);
	pw_engine_resolution_free(&r);
	pw_engine_free(e);
	pw_cluster_free(c);
}

static void t_engine_push_skips_and_redoes(void)
{
	struct pw_cluster *c1 = load(80), *c2 = NULL;
	struct pw_engine *e = engine("pwEngUp");
	struct pw_push_result res;

	if (!c1 || !e)
		goto out;
	CHECK_EQ(pw_engine_push(e, c1, PW_PUSH_FIRST, 0, &res), 0);
	CHECK(res.did_sync && res.did_attach);
	CHECK_EQ(seen.synced, 1);
	CHECK_EQ(seen.pushed, 1);
	CHECK_STR_CONTAINS(seen.log, "applied generation");
	CHECK_EQ(to_b(e, IP_A, 80), TC_ACT_OK);

	/* the same objects again: nothing to sync, nowhere new to attach */
	CHECK_EQ(pw_engine_push(e, c1, PW_PUSH_SOURCE, 0, &res), 0);
	CHECK(!res.did_sync && !res.did_attach);
	CHECK_EQ(seen.synced, 1);
	/* a tick with the same objects and devices compiles nothing */
	CHECK_EQ(pw_engine_push(e, c1, PW_PUSH_TICK, 0, &res), 0);
	CHECK(!res.did_sync && !res.did_attach);
	CHECK(res.compile_ms == 0);

	/* the policy changes: synced again, the same places */
	c2 = load(81);
	if (!c2)
		goto out;
	CHECK_EQ(pw_engine_push(e, c2, PW_PUSH_SOURCE, 0, &res), 0);
	CHECK(res.did_sync && !res.did_attach);
	CHECK_EQ(res.sync.generation, 2);
	CHECK_EQ(seen.synced, 2);
	CHECK_EQ(to_b(e, IP_A, 80), TC_ACT_SHOT);
	CHECK_EQ(to_b(e, IP_A, 81), TC_ACT_OK);
	CHECK_EQ(seen.pushed, 4);
	CHECK_EQ(seen.last_err, 0);
out:
	pw_engine_free(e);
	pw_cluster_free(c1);
	pw_cluster_free(c2);
}

static void t_engine_missing_uplink_is_bad_input(void)
{
	struct pw_cluster *c = load(80);
	struct pw_engine *e = engine("pwEngNone");
	struct pw_push_result res;

	if (!c || !e)
		goto out;
	CHECK_EQ(pw_engine_push(e, c, PW_PUSH_FIRST, 0, &res), -ENODEV);
	CHECK(res.input_error);
	CHECK(!res.did_sync && !res.did_attach);
	CHECK(pw_engine_object(e) == NULL); /* not even the maps were made */
	CHECK_EQ(seen.synced, 0);
	CHECK_EQ(seen.last_err, -ENODEV);
	CHECK_STR_CONTAINS(seen.log, "--uplink pwEngNone: no such device");
out:
	pw_engine_free(e);
	pw_cluster_free(c);
}

int suite_engine(void)
{
	char path[128];
	int fails = check_n_fail;

	snprintf(dir, sizeof(dir), "/tmp/pw-engine-XXXXXX");
	if (!mkdtemp(dir) || pw_nl_dummy_add("pwEngA", &if_a) ||
	    pw_nl_dummy_add("pwEngB", &if_b) || pw_nl_dummy_add("pwEngUp", &if_up)) {
		printf("FAIL suite_engine: setup: %s\n", strerror(errno));
		return 1;
	}
	RUN(t_engine_stages);
	RUN(t_engine_push_skips_and_redoes);
	RUN(t_engine_missing_uplink_is_bad_input);
	pw_nl_link_del("pwEngA");
	pw_nl_link_del("pwEngB");
	pw_nl_link_del("pwEngUp");
	snprintf(path, sizeof(path), "%s/objects.yaml", dir);
	unlink(path);
	rmdir(dir);
	return check_n_fail - fails;
}
