/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every load error: one message "file:line: field.path: message", -EINVAL,
 * and nothing of the input is used.
 */
#include <errno.h>
#include "check.h"
#include "util.h"

#define NP "kind: NetworkPolicy\n"                           /* 1 */  \
	   "apiVersion: networking.k8s.io/v1\n"              /* 2 */  \
	   "metadata: {name: p, namespace: n}\n"             /* 3 */  \
	   "spec:\n"                                         /* 4 */  \
	   "  podSelector: {}\n"                             /* 5 */

/* ------------------------------------------------------------ syntax */
ERR_CASE(t_err_malformed_yaml,
	 "kind: Pod\n"
	 "metadata:\n"
	 "  name: [a, b\n"
	 "  labels: {}\n",
	 "t.yaml:4: invalid YAML: did not find expected ',' or ']' while parsing a flow sequence (line 3)")

ERR_CASE(t_err_malformed_indentation,
	 "kind: Pod\n"
	 "metadata:\n"
	 "  name: a\n"
	 " labels: {}\n",
	 "t.yaml:4: invalid YAML:")

ERR_CASE(t_err_tab_indentation,
	 "kind: Pod\n"
	 "metadata:\n"
	 "\tname: a\n",
	 "t.yaml:3: invalid YAML: found character that cannot start any token")

ERR_CASE(t_err_document_not_a_mapping,
	 "kind: Pod\n"
	 "metadata: {name: a}\n"
	 "---\n"
	 "just a string\n",
	 "t.yaml:4: expected a Kubernetes object (a mapping), got a string")

/* ------------------------------------------------------------- types */
ERR_CASE(t_err_type_ingress_mapping,
	 NP
	 "  ingress:\n"
	 "    from: []\n",
	 "t.yaml:7: spec.ingress: expected a list, got a mapping")

ERR_CASE(t_err_type_container_port_string,
	 "kind: Pod\n"
	 "metadata: {name: a}\n"
	 "spec:\n"
	 "  containers:\n"
	 "  - name: c\n"
	 "    ports:\n"
	 "    - containerPort: \"80\"\n",
	 "t.yaml:7: spec.containers[0].ports[0].containerPort: expected an integer, got a string \"80\"")

ERR_CASE(t_err_type_labels_list,
	 "kind: Pod\n"
	 "metadata:\n"
	 "  name: a\n"
	 "  labels: [app, web]\n",
	 "t.yaml:4: metadata.labels: expected a mapping, got a list")

ERR_CASE(t_err_type_label_value_mapping,
	 "kind: Namespace\n"
	 "metadata:\n"
	 "  name: a\n"
	 "  labels:\n"
	 "    app: {x: y}\n",
	 "t.yaml:5: metadata.labels.app: expected a string, got a mapping")

ERR_CASE(t_err_type_name_list,
	 "kind: Pod\n"
	 "metadata:\n"
	 "  name: [a]\n",
	 "t.yaml:3: metadata.name: expected a string, got a list")

ERR_CASE(t_err_type_spec_string,
	 "kind: NetworkPolicy\n"
	 "metadata: {name: p}\n"
	 "spec: everything\n",
	 "t.yaml:3: spec: expected a mapping, got a string")

ERR_CASE(t_err_type_port_float,
	 NP
	 "  ingress:\n"
	 "  - ports:\n"
	 "    - port: 80.5\n",
	 "t.yaml:8: spec.ingress[0].ports[0].port: expected a port number or name, got a number")

ERR_CASE(t_err_bad_port_name,
	 NP
	 "  ingress:\n"
	 "  - ports:\n"
	 "    - port: Web_HTTP\n",
	 "t.yaml:8: spec.ingress[0].ports[0].port: invalid port name \"Web_HTTP\"")

ERR_CASE(t_err_bad_container_port_name,
	 "kind: Pod\n"
	 "metadata: {name: a}\n"
	 "spec:\n"
	 "  containers:\n"
	 "  - ports: [{containerPort: 80, name: this-name-is-too-long}]\n",
	 "t.yaml:5: spec.containers[0].ports[0].name: invalid port name \"this-name-is-too-long\"")

ERR_CASE(t_err_type_port_bool,
	 NP
	 "  ingress:\n"
	 "  - ports:\n"
	 "    - port: true\n",
	 "t.yaml:8: spec.ingress[0].ports[0].port: expected a port number or name, got a boolean")

ERR_CASE(t_err_type_values_mapping,
	 NP
	 "  ingress:\n"
	 "  - from:\n"
	 "    - podSelector:\n"
	 "        matchExpressions:\n"
	 "        - {key: a, operator: In, values: {a: b}}\n",
	 "t.yaml:10: spec.ingress[0].from[0].podSelector.matchExpressions[0].values: expected a list, got a mapping")

ERR_CASE(t_err_type_pod_ips_mapping,
	 "kind: Pod\n"
	 "metadata: {name: a}\n"
	 "status:\n"
	 "  podIPs: {ip: 10.0.0.1}\n",
	 "t.yaml:4: status.podIPs: expected a list, got a mapping")

ERR_CASE(t_err_type_kind_list,
	 "kind: [Pod]\n"
	 "metadata: {name: a}\n",
	 "t.yaml:1: kind: expected a string, got a list")

ERR_CASE(t_err_type_list_items,
	 "kind: List\n"
	 "items: {kind: Pod}\n",
	 "t.yaml:2: items: expected a list, got a mapping")

ERR_CASE(t_err_mapping_key_not_string,
	 "kind: Pod\n"
	 "metadata:\n"
	 "  ? [a, b]\n"
	 "  : c\n",
	 "t.yaml:3: metadata: mapping keys must be strings, got a list")

/* -------------------------------------------------------------- CIDRs */
ERR_CASE(t_err_bad_cidr,
	 NP
	 "  ingress:\n"
	 "  - from:\n"
	 "    - podSelector: {}\n"
	 "    - ipBlock:\n"
	 "        cidr: 10.0.0.0/33\n",
	 "t.yaml:10: spec.ingress[0].from[1].ipBlock.cidr: invalid CIDR \"10.0.0.0/33\"")

ERR_CASE(t_err_bad_cidr_text,
	 NP
	 "  egress:\n"
	 "  - to:\n"
	 "    - ipBlock: {cidr: 10.0.0/8}\n",
	 "t.yaml:8: spec.egress[0].to[0].ipBlock.cidr: invalid CIDR \"10.0.0/8\"")

ERR_CASE(t_err_bad_cidr_v6_len,
	 NP
	 "  egress:\n"
	 "  - to:\n"
	 "    - ipBlock: {cidr: 'fd00::/129'}\n",
	 "t.yaml:8: spec.egress[0].to[0].ipBlock.cidr: invalid CIDR \"fd00::/129\"")

ERR_CASE(t_err_cidr_missing,
	 NP
	 "  egress:\n"
	 "  - to:\n"
	 "    - ipBlock: {except: [10.0.0.0/8]}\n",
	 "t.yaml:8: spec.egress[0].to[0].ipBlock.cidr: missing")

ERR_CASE(t_err_except_not_subset,
	 NP
	 "  egress:\n"
	 "  - to:\n"
	 "    - ipBlock:\n"
	 "        cidr: 10.0.0.0/8\n"
	 "        except:\n"
	 "        - 10.1.0.0/16\n"
	 "        - 11.0.0.0/16\n",
	 "t.yaml:12: spec.egress[0].to[0].ipBlock.except[1]: except \"11.0.0.0/16\" is not a strict subset of cidr \"10.0.0.0/8\"")

ERR_CASE(t_err_except_equal,
	 NP
	 "  egress:\n"
	 "  - to:\n"
	 "    - ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}\n",
	 "t.yaml:8: spec.egress[0].to[0].ipBlock.except[0]: except \"10.0.0.0/8\" is not a strict subset")

ERR_CASE(t_err_except_other_family,
	 NP
	 "  egress:\n"
	 "  - to:\n"
	 "    - ipBlock: {cidr: '::/0', except: [10.0.0.0/8]}\n",
	 "t.yaml:8: spec.egress[0].to[0].ipBlock.except[0]: except \"10.0.0.0/8\" is not a strict subset of cidr \"::/0\"")

ERR_CASE(t_err_except_bad,
	 NP
	 "  egress:\n"
	 "  - to:\n"
	 "    - ipBlock: {cidr: 10.0.0.0/8, except: [banana]}\n",
	 "t.yaml:8: spec.egress[0].to[0].ipBlock.except[0]: invalid CIDR \"banana\"")

/* -------------------------------------------------------------- ports */
ERR_CASE(t_err_port_zero,
	 NP
	 "  ingress:\n"
	 "  - ports:\n"
	 "    - port: 0\n",
	 "t.yaml:8: spec.ingress[0].ports[0].port: port 0 out of range 1-65535")

ERR_CASE(t_err_port_too_big,
	 NP
	 "  ingress:\n"
	 "  - ports:\n"
	 "    - protocol: UDP\n"
	 "    - port: 65536\n",
	 "t.yaml:9: spec.ingress[0].ports[1].port: port 65536 out of range 1-65535")

ERR_CASE(t_err_port_negative,
	 NP
	 "  ingress:\n"
	 "  - ports:\n"
	 "    - port: -1\n",
	 "t.yaml:8: spec.ingress[0].ports[0].port: port -1 out of range 1-65535")

ERR_CASE(t_err_end_port_below_port,
	 NP
	 "  ingress:\n"
	 "  - ports:\n"
	 "    - port: 2000\n"
	 "      endPort: 1999\n",
	 "t.yaml:9: spec.ingress[0].ports[0].endPort: endPort 1999 is below port 2000")

ERR_CASE(t_err_end_port_too_big,
	 NP
	 "  ingress:\n"
	 "  - ports:\n"
	 "    - {port: 2000, endPort: 70000}\n",
	 "t.yaml:8: spec.ingress[0].ports[0].endPort: endPort 70000 out of range 1-65535")

ERR_CASE(t_err_end_port_named,
	 NP
	 "  ingress:\n"
	 "  - ports:\n"
	 "    - port: http\n"
	 "      endPort: 90\n",
	 "t.yaml:9: spec.ingress[0].ports[0].endPort: endPort requires a numeric port")

ERR_CASE(t_err_end_port_without_port,
	 NP
	 "  egress:\n"
	 "  - ports:\n"
	 "    - endPort: 90\n",
	 "t.yaml:8: spec.egress[0].ports[0].endPort: endPort requires a numeric port")

ERR_CASE(t_err_named_port_digits,
	 NP
	 "  ingress:\n"
	 "  - ports:\n"
	 "    - port: \"8080\"\n",
	 "t.yaml:8: spec.ingress[0].ports[0].port: named port \"8080\" must contain a letter")

ERR_CASE(t_err_container_port_range,
	 "kind: Pod\n"
	 "metadata: {name: a}\n"
	 "spec:\n"
	 "  containers:\n"
	 "  - name: c\n"
	 "  - name: d\n"
	 "    ports: [{containerPort: 80}, {containerPort: 0}]\n",
	 "t.yaml:7: spec.containers[1].ports[1].containerPort: port 0 out of range 1-65535")

ERR_CASE(t_err_container_port_missing,
	 "kind: Pod\n"
	 "metadata: {name: a}\n"
	 "spec:\n"
	 "  containers:\n"
	 "  - name: c\n"
	 "    ports:\n"
	 "    - name: http\n",
	 "t.yaml:7: spec.containers[0].ports[0].containerPort: missing")

/* ---------------------------------------------------------- protocols */
ERR_CASE(t_err_protocol_lowercase,
	 NP
	 "  ingress:\n"
	 "  - ports:\n"
	 "    - protocol: tcp\n",
	 "t.yaml:8: spec.ingress[0].ports[0].protocol: invalid protocol \"tcp\" (TCP, UDP or SCTP)")

ERR_CASE(t_err_protocol_icmp,
	 NP
	 "  egress:\n"
	 "  - ports: [{protocol: ICMP, port: 1}]\n",
	 "t.yaml:7: spec.egress[0].ports[0].protocol: invalid protocol \"ICMP\"")

ERR_CASE(t_err_container_protocol,
	 "kind: Pod\n"
	 "metadata: {name: a}\n"
	 "spec:\n"
	 "  containers:\n"
	 "  - ports: [{containerPort: 80, protocol: QUIC}]\n",
	 "t.yaml:5: spec.containers[0].ports[0].protocol: invalid protocol \"QUIC\"")

/* ----------------------------------------------------------- selectors */
ERR_CASE(t_err_unknown_operator,
	 NP
	 "  ingress:\n"
	 "  - from:\n"
	 "    - namespaceSelector:\n"
	 "        matchExpressions:\n"
	 "        - key: env\n"
	 "          operator: Equals\n"
	 "          values: [prod]\n",
	 "t.yaml:11: spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].operator: unknown selector operator \"Equals\"")

ERR_CASE(t_err_exists_with_values,
	 "kind: NetworkPolicy\n"
	 "metadata: {name: p}\n"
	 "spec:\n"
	 "  podSelector:\n"
	 "    matchExpressions:\n"
	 "    - key: env\n"
	 "      operator: Exists\n"
	 "      values: [prod]\n",
	 "t.yaml:8: spec.podSelector.matchExpressions[0].values: operator Exists takes no values")

ERR_CASE(t_err_does_not_exist_with_values,
	 "kind: NetworkPolicy\n"
	 "metadata: {name: p}\n"
	 "spec:\n"
	 "  podSelector:\n"
	 "    matchExpressions:\n"
	 "    - {key: env, operator: DoesNotExist, values: [a]}\n",
	 "t.yaml:6: spec.podSelector.matchExpressions[0].values: operator DoesNotExist takes no values")

ERR_CASE(t_err_in_without_values,
	 "kind: NetworkPolicy\n"
	 "metadata: {name: p}\n"
	 "spec:\n"
	 "  podSelector:\n"
	 "    matchExpressions:\n"
	 "    - key: env\n"
	 "      operator: In\n",
	 "t.yaml:6: spec.podSelector.matchExpressions[0].values: operator In needs a non-empty list of values")

ERR_CASE(t_err_not_in_empty_values,
	 "kind: NetworkPolicy\n"
	 "metadata: {name: p}\n"
	 "spec:\n"
	 "  podSelector:\n"
	 "    matchExpressions:\n"
	 "    - {key: env, operator: NotIn, values: []}\n",
	 "t.yaml:6: spec.podSelector.matchExpressions[0].values: operator NotIn needs a non-empty list of values")

ERR_CASE(t_err_selector_key_missing,
	 "kind: NetworkPolicy\n"
	 "metadata: {name: p}\n"
	 "spec:\n"
	 "  podSelector:\n"
	 "    matchExpressions:\n"
	 "    - {operator: Exists}\n",
	 "t.yaml:6: spec.podSelector.matchExpressions[0].key: missing")

ERR_CASE(t_err_match_labels_list,
	 "kind: NetworkPolicy\n"
	 "metadata: {name: p}\n"
	 "spec:\n"
	 "  podSelector:\n"
	 "    matchLabels: [a]\n",
	 "t.yaml:5: spec.podSelector.matchLabels: expected a mapping, got a list")

/* --------------------------------------------------------------- peers */
ERR_CASE(t_err_peer_ipblock_and_selector,
	 NP
	 "  egress:\n"
	 "  - to:\n"
	 "    - ipBlock: {cidr: 10.0.0.0/8}\n"
	 "      podSelector: {}\n",
	 "t.yaml:8: spec.egress[0].to[0]: ipBlock cannot be combined with podSelector or namespaceSelector")

ERR_CASE(t_err_peer_empty,
	 NP
	 "  ingress:\n"
	 "  - from:\n"
	 "    - podSelector: {}\n"
	 "    - {}\n",
	 "t.yaml:9: spec.ingress[0].from[1]: a peer needs ipBlock, podSelector or namespaceSelector")

ERR_CASE(t_err_peer_null,
	 NP
	 "  ingress:\n"
	 "  - from:\n"
	 "    -\n"
	 "    - podSelector: {}\n",
	 "spec.ingress[0].from[0]: a peer needs ipBlock, podSelector or namespaceSelector")

/* --------------------------------------------------------- policyTypes */
ERR_CASE(t_err_policy_type,
	 NP
	 "  policyTypes:\n"
	 "  - Ingress\n"
	 "  - egress\n",
	 "t.yaml:8: spec.policyTypes[1]: invalid policyType \"egress\" (Ingress or Egress)")

ERR_CASE(t_err_policy_api_version,
	 "kind: NetworkPolicy\n"
	 "apiVersion: extensions/v1beta1\n"
	 "metadata: {name: p}\n",
	 "t.yaml:2: apiVersion: unsupported NetworkPolicy apiVersion \"extensions/v1beta1\"")

/* ------------------------------------------------------ duplicate keys */
ERR_CASE(t_err_duplicate_key,
	 "kind: Pod\n"
	 "metadata:\n"
	 "  name: a\n"
	 "  namespace: x\n"
	 "  name: b\n",
	 "t.yaml:5: metadata: duplicate key \"name\"")

ERR_CASE(t_err_duplicate_key_top,
	 "kind: Pod\n"
	 "metadata: {name: a}\n"
	 "kind: Namespace\n",
	 "t.yaml:3: duplicate key \"kind\"")

ERR_CASE(t_err_duplicate_label,
	 "kind: Pod\n"
	 "metadata:\n"
	 "  name: a\n"
	 "  labels:\n"
	 "    app: web\n"
	 "    app: db\n",
	 "t.yaml:6: metadata.labels: duplicate key \"app\"")

ERR_CASE(t_err_duplicate_key_in_unread_field,
	 "kind: Pod\n"
	 "metadata: {name: a}\n"
	 "spec:\n"
	 "  nodeName: n1\n"
	 "  nodeName: n2\n",
	 "t.yaml:5: spec: duplicate key \"nodeName\"")

/* ------------------------------------------------------------ pod IPs */
ERR_CASE(t_err_bad_pod_ip,
	 "kind: Pod\n"
	 "metadata: {name: a}\n"
	 "status:\n"
	 "  podIP: 10.0.0.300\n",
	 "t.yaml:4: status.podIP: bad IP address \"10.0.0.300\"")

ERR_CASE(t_err_bad_pod_ips_entry,
	 "kind: Pod\n"
	 "metadata: {name: a}\n"
	 "status:\n"
	 "  podIPs:\n"
	 "  - ip: 10.0.0.1\n"
	 "  - ip: 'fd00::zz'\n",
	 "t.yaml:6: status.podIPs[1].ip: bad IP address \"fd00::zz\"")

ERR_CASE(t_err_pod_ip_mapped_v6,
	 "kind: Pod\n"
	 "metadata: {name: a}\n"
	 "status: {podIP: '::ffff:10.0.0.1'}\n",
	 "t.yaml:3: status.podIP: bad IP address \"::ffff:10.0.0.1\"")

ERR_CASE(t_err_bad_cluster_ip,
	 "kind: Service\n"
	 "metadata: {name: s}\n"
	 "spec: {clusterIP: 10.96.0.1.1}\n",
	 "t.yaml:3: spec.clusterIP: bad IP address \"10.96.0.1.1\"")

/* ----------------------------------------------------------- metadata */
ERR_CASE(t_err_name_missing,
	 "kind: Pod\n"
	 "metadata:\n"
	 "  namespace: x\n",
	 "t.yaml:3: metadata.name: missing")

ERR_CASE(t_err_metadata_missing,
	 "kind: Namespace\n",
	 "t.yaml:1: metadata: missing")

static void t_err_name_too_long(void)
{
	char y[600], m[1024];

	snprintf(y, sizeof(y), "kind: Pod\nmetadata:\n  name: %0254d\n", 7);
	CHECK_EQ(t_load_err(y, m, sizeof(m)), -EINVAL);
	CHECK_STR_CONTAINS(m, "t.yaml:3: metadata.name: too long: 254 bytes, at most 253");
	snprintf(y, sizeof(y), "kind: Pod\nmetadata:\n  name: %0253d\n", 7);
	CHECK_EQ(t_load_err(y, m, sizeof(m)), 0);
}

ERR_CASE(t_err_namespace_name_too_long,
	 "kind: Pod\n"
	 "metadata:\n"
	 "  name: a\n"
	 "  namespace: nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\n",
	 "t.yaml:4: metadata.namespace: too long: 64 bytes, at most 63")

ERR_CASE(t_err_name_with_slash,
	 "kind: Pod\n"
	 "metadata: {name: a/b}\n",
	 "t.yaml:2: metadata.name: invalid name \"a/b\"")

ERR_CASE(t_err_namespace_mode,
	 "kind: Namespace\n"
	 "metadata:\n"
	 "  name: a\n"
	 "  annotations:\n"
	 "    podwall.io/mode: permissive\n",
	 "t.yaml:5: metadata.annotations.podwall.io/mode: invalid mode \"permissive\" (audit or enforce)")

ERR_CASE(t_err_host_veth,
	 "kind: Pod\n"
	 "metadata:\n"
	 "  name: a\n"
	 "  annotations: {podwall.io/host-veth: a-very-long-interface-name}\n",
	 "t.yaml:4: metadata.annotations.podwall.io/host-veth: invalid interface name")

/* -------------------------------------------- where errors are reported */
ERR_CASE(t_err_in_later_document,
	 "kind: Namespace\n"
	 "metadata: {name: a}\n"
	 "---\n"
	 "kind: Namespace\n"
	 "metadata: {name: b}\n"
	 "---\n"
	 NP
	 "  ingress:\n"
	 "  - ports: [{port: 99999}]\n",
	 "t.yaml:13: spec.ingress[0].ports[0].port: port 99999 out of range 1-65535")

ERR_CASE(t_err_in_list_item,
	 "apiVersion: v1\n"
	 "kind: List\n"
	 "items:\n"
	 "- kind: Pod\n"
	 "  metadata: {name: a}\n"
	 "- kind: NetworkPolicy\n"
	 "  metadata: {name: p}\n"
	 "  spec:\n"
	 "    egress:\n"
	 "    - to:\n"
	 "      - ipBlock: {cidr: 300.0.0.0/8}\n",
	 "t.yaml:11: items[1].spec.egress[0].to[0].ipBlock.cidr: invalid CIDR \"300.0.0.0/8\"")

ERR_CASE(t_err_in_sequence_document,
	 "- kind: Pod\n"
	 "  metadata: {name: a}\n"
	 "- kind: Pod\n"
	 "  metadata: {name: {x: 7}}\n",
	 "t.yaml:4: [1].metadata.name: expected a string, got a mapping")

static void t_err_duplicate_pod(void)
{
	char m[1024];

	CHECK_EQ(t_load_err("kind: Pod\n"
			    "metadata: {name: a, namespace: x}\n"
			    "---\n"
			    "kind: Pod\n"
			    "metadata: {name: a, namespace: x}\n", m, sizeof(m)), -EINVAL);
	CHECK_STR_CONTAINS(m, "t.yaml:4: duplicate pod x/a (also defined at t.yaml:1)");
}

static void t_err_duplicate_pod_default_namespace(void)
{
	char m[1024];

	CHECK_EQ(t_load_err("kind: Pod\n"
			    "metadata: {name: a}\n"
			    "---\n"
			    "kind: Pod\n"
			    "metadata: {name: a, namespace: default}\n", m, sizeof(m)), -EINVAL);
	CHECK_STR_CONTAINS(m, "duplicate pod default/a");
}

/* an error leaves err with one message naming file, line and field */
static void t_err_message_shape(void)
{
	struct pw_cluster *c = pw_cluster_new();
	struct pw_error err = { { 0 } };
	const char *y = NP "  ingress: 5\n";

	CHECK_EQ(pw_cluster_load_buffer(c, "policies.yaml", y, strlen(y), &err), -EINVAL);
	CHECK(!strcmp(err.msg, "policies.yaml:6: spec.ingress: expected a list, got an integer"));
	CHECK(!strchr(err.msg, '\n'));
	pw_cluster_free(c);
}

/* The parts of the message, for a caller that points at them (an editor, -o json). */
static void t_err_parts(void)
{
	struct pw_error err = { { 0 } };
	struct pw_cluster *c = t_load("kind: Pod\n"
				      "metadata:\n"
				      "  name: a\n"
				      "  namespace: x\n"
				      "  name: b\n", &err, NULL);

	CHECK(c == NULL);
	pw_cluster_free(c);
	CHECK_STR_CONTAINS(err.msg, "t.yaml:5: metadata: duplicate key");
	CHECK(!strcmp(err.file, "t.yaml"));
	CHECK_EQ(err.line, 5);
	CHECK(!strcmp(err.field, "metadata"));
}

int suite_errors(void)
{
	RUN(t_err_malformed_yaml);
	RUN(t_err_parts);
	RUN(t_err_malformed_indentation);
	RUN(t_err_tab_indentation);
	RUN(t_err_document_not_a_mapping);
	RUN(t_err_type_ingress_mapping);
	RUN(t_err_type_container_port_string);
	RUN(t_err_type_labels_list);
	RUN(t_err_type_label_value_mapping);
	RUN(t_err_type_name_list);
	RUN(t_err_type_spec_string);
	RUN(t_err_type_port_float);
	RUN(t_err_type_port_bool);
	RUN(t_err_bad_port_name);
	RUN(t_err_bad_container_port_name);
	RUN(t_err_type_values_mapping);
	RUN(t_err_type_pod_ips_mapping);
	RUN(t_err_type_kind_list);
	RUN(t_err_type_list_items);
	RUN(t_err_mapping_key_not_string);
	RUN(t_err_bad_cidr);
	RUN(t_err_bad_cidr_text);
	RUN(t_err_bad_cidr_v6_len);
	RUN(t_err_cidr_missing);
	RUN(t_err_except_not_subset);
	RUN(t_err_except_equal);
	RUN(t_err_except_other_family);
	RUN(t_err_except_bad);
	RUN(t_err_port_zero);
	RUN(t_err_port_too_big);
	RUN(t_err_port_negative);
	RUN(t_err_end_port_below_port);
	RUN(t_err_end_port_too_big);
	RUN(t_err_end_port_named);
	RUN(t_err_end_port_without_port);
	RUN(t_err_named_port_digits);
	RUN(t_err_container_port_range);
	RUN(t_err_container_port_missing);
	RUN(t_err_protocol_lowercase);
	RUN(t_err_protocol_icmp);
	RUN(t_err_container_protocol);
	RUN(t_err_unknown_operator);
	RUN(t_err_exists_with_values);
	RUN(t_err_does_not_exist_with_values);
	RUN(t_err_in_without_values);
	RUN(t_err_not_in_empty_values);
	RUN(t_err_selector_key_missing);
	RUN(t_err_match_labels_list);
	RUN(t_err_peer_ipblock_and_selector);
	RUN(t_err_peer_empty);
	RUN(t_err_peer_null);
	RUN(t_err_policy_type);
	RUN(t_err_policy_api_version);
	RUN(t_err_duplicate_key);
	RUN(t_err_duplicate_key_top);
	RUN(t_err_duplicate_label);
	RUN(t_err_duplicate_key_in_unread_field);
	RUN(t_err_bad_pod_ip);
	RUN(t_err_bad_pod_ips_entry);
	RUN(t_err_pod_ip_mapped_v6);
	RUN(t_err_bad_cluster_ip);
	RUN(t_err_name_missing);
	RUN(t_err_metadata_missing);
	RUN(t_err_name_too_long);
	RUN(t_err_namespace_name_too_long);
	RUN(t_err_name_with_slash);
	RUN(t_err_namespace_mode);
	RUN(t_err_host_veth);
	RUN(t_err_in_later_document);
	RUN(t_err_in_list_item);
	RUN(t_err_in_sequence_document);
	RUN(t_err_duplicate_pod);
	RUN(t_err_duplicate_pod_default_namespace);
	RUN(t_err_message_shape);
	return check_n_fail;
}
