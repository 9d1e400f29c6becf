/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Local pods from one link/route/rule dump (pw_resolver_snapshot) give the
 * same answers as one netlink request per pod: host routes, gateway and
 * wider routes, local addresses, loopback, blackholes, routes in other
 * tables, two candidate routes, policy rules, annotated devices and their
 * alternative names, annotations naming no pod's device (an uplink, the
 * loopback, a bridge). Run in a child in a network namespace of its own.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "model.h"
#include "k8s/ip.h"
#include "kernel/netlink.h"
#include "kernel/route.h"

struct rcase {
	const char *ip;         /* or NULL */
	const char *veth;       /* annotation, or NULL */
	const char *want_dev;   /* NULL: not local; "?": whatever the kernel says */
};

static int sh(const char *cmd)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s >/dev/null 2>&1", cmd);
	return system(buf);
}

/* Resolve every case with and without a snapshot; both must say want_dev.
 * *queries: netlink requests made by the snapshot's lookups. */
static void resolve_all(const struct rcase *c, size_t n, size_t *queries)
{
	struct pw_rt *rt = NULL;
	struct pw_resolver live, snap;

	if (pw_rt_open(&rt)) {
		CHECK(!"rtnetlink socket");
		return;
	}
	memset(&live, 0, sizeof(live));
	memset(&snap, 0, sizeof(snap));
	live.rt = snap.rt = rt;
	CHECK_EQ(pw_resolver_snapshot(&snap), 0);
	CHECK(snap.snap != NULL);
	for (size_t i = 0; i < n; i++) {
		struct pw_pod pod;
		bool v4;
		uint32_t a, b, want = c[i].want_dev ? if_nametoindex(c[i].want_dev) : 0;

		memset(&pod, 0, sizeof(pod));
		pod.ns = "t";
		pod.name = (char *)(c[i].ip ? c[i].ip : c[i].veth);
		pod.host_veth = (char *)c[i].veth;
		if (c[i].ip) {
			CHECK(!pw_ip_parse(c[i].ip, pod.ips[0], &v4));
			pod.n_ips = 1;
		}
		a = pw_resolve_local(&live, &pod);
		b = pw_resolve_local(&snap, &pod);
		if (c[i].want_dev && !strcmp(c[i].want_dev, "?"))
			want = a;
		if (a != want || b != want) {
			if (!check_failed_now) {
				check_failed_now = 1;
				snprintf(check_why, sizeof(check_why), "%s: per-pod %u, snapshot %u, "
					 "want %u (%s)", pod.name, a, b, want,
					 c[i].want_dev ? c[i].want_dev : "remote");
			}
		}
	}
	CHECK_EQ(live.n_missing, snap.n_missing);
	CHECK_EQ(live.n_local, snap.n_local);
	*queries = snap.n_queries;
	pw_resolver_release(&snap);
	CHECK(snap.snap == NULL);
	pw_rt_close(rt);
}

static int setup(void)
{
	static const char *const cmds[] = {
		"ip link set lo up",
		"ip link add rtA type ifb", "ip link set rtA up",
		"ip link add rtB type ifb", "ip link set rtB up",
		"ip route add 10.1.0.1/32 dev rtA",                 /* a pod on rtA */
		"ip route add 10.9.0.0/24 dev rtB",
		"ip route add 10.1.0.2/32 via 10.9.0.1",            /* a pod elsewhere */
		"ip route add 10.1.0.0/16 dev rtB",                 /* wider */
		"ip addr add 10.1.0.3/32 dev rtA",                  /* the node's own */
		"ip route add 10.1.0.3/32 dev rtB",                 /* ...with a host route */
		"ip route add 10.1.0.4/32 dev lo",                  /* loopback */
		"ip route add blackhole 10.1.0.5/32",
		"ip route add 10.1.0.6/32 dev rtA table 100",       /* a table not consulted */
		"ip route add 10.1.0.7/32 dev rtA metric 10",       /* two candidates */
		"ip route add 10.1.0.7/32 dev rtB metric 20",
		"ip route add 10.1.0.8/32 dev rtB",                 /* a pod on rtB */
		"ip link add rtBr type bridge",
		"ip link add rtV0 type veth peer name rtV1",
		"ip -6 route add fd00::1/128 dev rtA",
		"ip -6 route add fd00::/64 dev rtB",
		"ip -6 addr add fd09::2/64 dev rtB nodad",
		"ip -6 route add fd00::2/128 via fd09::1",
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (sh(cmds[i])) {
			printf("ERROR route setup: %s failed\n", cmds[i]);
			return -1;
		}
	return 0;
}

static const struct rcase base[] = {
	{ "10.1.0.1", NULL, "rtA" },
	{ "10.1.0.2", NULL, NULL },
	{ "10.1.0.9", NULL, NULL },
	{ "10.1.0.3", NULL, "?" },      /* the local route or the host route */
	{ "10.1.0.4", NULL, NULL },
	{ "10.1.0.5", NULL, NULL },
	{ "10.1.0.6", NULL, NULL },
	{ "10.1.0.7", NULL, "rtA" },
	{ "10.1.0.8", NULL, "rtB" },
	{ "192.0.2.1", NULL, NULL },
	{ "fd00::1", NULL, "rtA" },
	{ "fd00::2", NULL, NULL },
	{ "fd00::3", NULL, NULL },
	{ NULL, "rtA", "rtA" },
	{ NULL, "nope0", NULL },
	{ "10.1.0.8", "rtA", "rtA" },      /* the annotation wins */
	/* but never for a device that is no pod's (issue 9): */
	{ NULL, "rtB", NULL },             /* an uplink: routes via 10.9.0.1 leave by it */
	{ "10.1.0.1", "rtB", NULL },
	{ NULL, "lo", NULL },
	{ NULL, "rtBr", NULL },            /* a bridge */
	{ NULL, "rtV0", "rtV0" },          /* a veth */
};

static void t_route_snapshot_default_rules(void)
{
	size_t q = 0;

	resolve_all(base, sizeof(base) / sizeof(base[0]), &q);
	/* only the ambiguous addresses asked the kernel (10.1.0.3: a local
	 * address; 10.1.0.7: two routes) */
	CHECK(q <= 2);
}

static void t_route_snapshot_altname(void)
{
	static const struct rcase c[] = { { NULL, "pwRtAlt", "rtA" } };
	size_t q = 0;

	if (sh("ip link property add dev rtA altname pwRtAlt"))
		return; /* no alternative names here: nothing to test */
	resolve_all(c, 1, &q);
	CHECK_EQ(q, 0);
}

static void t_route_snapshot_policy_rules(void)
{
	static const struct rcase c[] = {
		{ "10.1.0.1", NULL, NULL },    /* table 200 sends it to a gateway */
		{ "10.1.0.8", NULL, "rtB" },
		{ "10.1.0.6", NULL, "rtA" },   /* table 100 now consulted */
	};
	size_t q = 0;

	if (sh("ip route add 10.1.0.1/32 via 10.9.0.1 table 200") ||
	    sh("ip rule add to 10.1.0.1 lookup 200 priority 100") ||
	    sh("ip rule add to 10.1.0.6 lookup 100 priority 101")) {
		CHECK(!"ip rule setup");
		return;
	}
	resolve_all(c, sizeof(c) / sizeof(c[0]), &q);
	resolve_all(base + 1, 5, &q);   /* the rest still agree */
}

int suite_route(void)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		if (pw_private_netns() || setup())
			_exit(1);
		RUN(t_route_snapshot_default_rules);
		RUN(t_route_snapshot_altname);
		RUN(t_route_snapshot_policy_rules);
		fflush(stdout);
		_exit(check_n_fail ? 1 : 0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return 1;
	return WEXITSTATUS(st);
}
