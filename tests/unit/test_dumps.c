/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Real cluster dumps as the API server means them: which pods are
 * endpoints (finished and hostNetwork pods are not), one object per
 * (kind, namespace, name), one live pod per address.
 */
#include <errno.h>
#include "check.h"
#include "util.h"

static void t_dumps_finished_and_host_network_set_apart(void)
{
	struct pw_error err = { { 0 } };
	struct pw_state s;
	struct pw_cluster *c = t_compile(
		"apiVersion: v1\nkind: List\nitems:\n"
		"- {kind: Pod, metadata: {name: live, namespace: x},\n"
		"   status: {phase: Running, podIP: 10.0.0.1}}\n"
		"- {kind: Pod, metadata: {name: done, namespace: x},\n"
		"   status: {phase: Succeeded, podIP: 10.0.0.2}}\n"
		"- {kind: Pod, metadata: {name: crashed, namespace: x},\n"
		"   status: {phase: Failed, podIP: 10.0.0.3}}\n"
		"- {kind: Pod, metadata: {name: node-exporter, namespace: y},\n"
		"   spec: {hostNetwork: true, containers: [{name: c}]},\n"
		"   status: {phase: Running, podIP: 192.0.2.10}}\n"
		"- {kind: Pod, metadata: {name: pending, namespace: x}, status: {phase: Pending}}\n"
		"- {kind: Pod, metadata: {name: not-host, namespace: x},\n"
		"   spec: {hostNetwork: false}, status: {podIP: 10.0.0.5}}\n",
		NULL, &s, &err);

	CHECK(c);
	if (!c)
		return;
	CHECK_EQ(c->n_pods, 3);          /* live, not-host, pending */
	CHECK_EQ(c->n_skipped_pods, 3);
	CHECK(pw_cluster_pod(c, "x", "live"));
	CHECK(pw_cluster_pod(c, "x", "pending"));
	CHECK(!pw_cluster_pod(c, "x", "done"));
	CHECK(pw_cluster_skipped_pod(c, "x", "done") &&
	      pw_cluster_skipped_pod(c, "x", "done")->role == PW_POD_FINISHED);
	CHECK(pw_cluster_skipped_pod(c, "x", "crashed") &&
	      pw_cluster_skipped_pod(c, "x", "crashed")->role == PW_POD_FINISHED);
	CHECK(pw_cluster_skipped_pod(c, "y", "node-exporter") &&
	      pw_cluster_skipped_pod(c, "y", "node-exporter")->role == PW_POD_HOST_NETWORK);
	/* nothing of theirs is compiled: no endpoint, no address, no namespace */
	CHECK(t_ep(&s, "x", "live"));
	CHECK(!t_ep(&s, "x", "done"));
	CHECK(!t_ep(&s, "y", "node-exporter"));
	CHECK_EQ(t_ident(&s, "10.0.0.2"), PW_ID_WORLD);
	CHECK_EQ(t_ident(&s, "192.0.2.10"), PW_ID_WORLD);
	CHECK(!pw_cluster_namespace(c, "y"));
	pw_state_free(&s);
	pw_cluster_free(c);
}

static void t_dumps_role_rule(void)
{
	CHECK_EQ(pw_pod_role_of(NULL, false), PW_POD_ENDPOINT);
	CHECK_EQ(pw_pod_role_of("Running", false), PW_POD_ENDPOINT);
	CHECK_EQ(pw_pod_role_of("Unknown", false), PW_POD_ENDPOINT);
	CHECK_EQ(pw_pod_role_of("Succeeded", false), PW_POD_FINISHED);
	CHECK_EQ(pw_pod_role_of("Failed", true), PW_POD_FINISHED);
	CHECK_EQ(pw_pod_role_of("Running", true), PW_POD_HOST_NETWORK);
}

static void t_dumps_bad_host_network(void)
{
	char m[1024];

	CHECK_EQ(t_load_err("kind: Pod\nmetadata: {name: a}\nspec:\n  hostNetwork: \"yes\"\n",
			    m, sizeof(m)), -EINVAL);
	CHECK_STR_CONTAINS(m, "t.yaml:4: spec.hostNetwork: expected true or false, got a string");
	CHECK_EQ(t_load_err("kind: Pod\nmetadata: {name: a}\nstatus:\n  phase: [Running]\n",
			    m, sizeof(m)), -EINVAL);
	CHECK_STR_CONTAINS(m, "t.yaml:4: status.phase: expected a string");
}

/* two live pods with one address: an error naming both, whatever their order */
static void t_dumps_shared_address(void)
{
	char m[1024];

	CHECK_EQ(t_load_err("kind: Pod\nmetadata: {name: b, namespace: x}\n"
			    "status: {podIPs: [{ip: 10.0.0.9}, {ip: 'fd00::9'}]}\n---\n"
			    "kind: Pod\nmetadata: {name: a, namespace: y}\n"
			    "status: {podIP: 'fd00::9'}\n", m, sizeof(m)), -EINVAL);
	CHECK_STR_CONTAINS(m, "t.yaml:5: pods y/a and x/b (t.yaml:1) both have address fd00::9");
	/* a hostNetwork pod shares the node's address with every other one */
	CHECK_EQ(t_load_err("kind: Pod\nmetadata: {name: a}\nspec: {hostNetwork: true}\n"
			    "status: {podIP: 192.0.2.1}\n---\n"
			    "kind: Pod\nmetadata: {name: b}\nspec: {hostNetwork: true}\n"
			    "status: {podIP: 192.0.2.1}\n", m, sizeof(m)), 0);
}

static void t_dumps_duplicate_objects(void)
{
	char m[1024];

	CHECK_EQ(t_load_err("kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n"
			    "metadata: {name: p, namespace: n}\nspec: {podSelector: {}}\n---\n"
			    "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n"
			    "metadata: {name: p, namespace: n}\nspec: {podSelector: {}}\n",
			    m, sizeof(m)), -EINVAL);
	CHECK_STR_CONTAINS(m, "t.yaml:6: duplicate networkpolicy n/p (also defined at t.yaml:1)");
	/* a pod that finished and a live pod of one name: still one object twice */
	CHECK_EQ(t_load_err("kind: Pod\nmetadata: {name: p}\nstatus: {phase: Failed}\n---\n"
			    "kind: Pod\nmetadata: {name: p}\n", m, sizeof(m)), -EINVAL);
	CHECK_STR_CONTAINS(m, "t.yaml:5: duplicate pod default/p (also defined at t.yaml:1)");
	/* the same name in two namespaces, or of two kinds, is two objects */
	CHECK_EQ(t_load_err("kind: Pod\nmetadata: {name: p, namespace: a}\n---\n"
			    "kind: Pod\nmetadata: {name: p, namespace: b}\n---\n"
			    "kind: Service\nmetadata: {name: p, namespace: a}\n", m, sizeof(m)), 0);
}

int suite_dumps(void)
{
	RUN(t_dumps_role_rule);
	RUN(t_dumps_finished_and_host_network_set_apart);
	RUN(t_dumps_bad_host_network);
	RUN(t_dumps_shared_address);
	RUN(t_dumps_duplicate_objects);
	return check_n_fail;
}
