/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * podwall matrix: who can reach whom, decided by the kernel.
 *
 * The objects are compiled exactly as the agent compiles them and written
 * into a private, unpinned copy of the maps (ops/probe.h, untraced: only
 * verdicts). Every pod gets a dummy device in a private network namespace
 * (BPF_PROG_TEST_RUN needs a real ifindex to stand for the pod's host veth).
 * Each probe is a crafted first packet run through the source's from_pod,
 * then the destination's to_pod, with the conntrack table flushed in
 * between probes. There is no second evaluator in userspace: the verdict is
 * what the programs return.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"
#include "cmd/input.h"
#include "compiler.h"
#include "kernel/bpfobj.h" /* pw_addr_parse, pw_addr_is_v4 */
#include "ops/probe.h"

#define MAX_PORTS     64
#define MAX_EXTERNALS 64

struct matrix_opts {
	const char *files[PW_CMD_MAX_INPUTS];
	size_t      n_files;
	uint16_t    ports[MAX_PORTS];
	size_t      n_ports;
	uint8_t     protos[3];
	size_t      n_protos;
	char       *ext_names[MAX_EXTERNALS];
	uint8_t     ext_addrs[MAX_EXTERNALS][16];
	size_t      n_ext;
	bool        json;
};

/* One side of a probe: a pod (its dummy device) or an address. */
struct peer {
	const char    *label;   /* "ns/pod" or the address as given */
	char           buf[320];
	int            dev;     /* the probe's device; -1: outside the cluster, no program runs for it */
	const uint8_t *v4;      /* addresses, NULL if the peer has none */
	const uint8_t *v6;
};

struct matrix {
	struct pw_probe    *probe;
	struct peer        *peers;  /* pods first, then externals */
	size_t              n_pods, n_peers;
	const struct pw_cluster *cluster;
	uint32_t           *pod_ifindex; /* by cluster pod index */
};

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_TCP ? "TCP" : p == IPPROTO_UDP ? "UDP" : "SCTP";
}

static int parse_ports(const char *s, struct matrix_opts *o)
{
	char *dup = strdup(s), *save = NULL, *tok;
	int err = 0;

	if (!dup)
		return -ENOMEM;
	o->n_ports = 0;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		long v = strtol(tok, &end, 10);

		if (*end || v < 1 || v > 65535 || o->n_ports == MAX_PORTS) {
			fprintf(stderr, "podwall matrix: --ports: bad port '%s' (1-65535, at most %d)\n",
				tok, MAX_PORTS);
			err = -EINVAL;
			break;
		}
		o->ports[o->n_ports++] = (uint16_t)v;
	}
	free(dup);
	return err;
}

static int parse_protos(const char *s, struct matrix_opts *o)
{
	char *dup = strdup(s), *save = NULL, *tok;
	int err = 0;

	if (!dup)
		return -ENOMEM;
	o->n_protos = 0;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint8_t p = !strcasecmp(tok, "TCP") ? IPPROTO_TCP :
			    !strcasecmp(tok, "UDP") ? IPPROTO_UDP :
			    !strcasecmp(tok, "SCTP") ? IPPROTO_SCTP : 0;

		if (!p || o->n_protos == 3) {
			fprintf(stderr, "podwall matrix: --protocols: bad protocol '%s' (TCP, UDP, SCTP)\n", tok);
			err = -EINVAL;
			break;
		}
		o->protos[o->n_protos++] = p;
	}
	free(dup);
	return err;
}

static int parse_externals(const char *s, struct matrix_opts *o)
{
	char *dup = strdup(s), *save = NULL, *tok;
	int err = 0;

	if (!dup)
		return -ENOMEM;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->n_ext == MAX_EXTERNALS || pw_addr_parse(tok, o->ext_addrs[o->n_ext])) {
			fprintf(stderr, "podwall matrix: --external-ips: bad address '%s'\n", tok);
			err = -EINVAL;
			break;
		}
		o->ext_names[o->n_ext] = strdup(tok);
		if (!o->ext_names[o->n_ext]) {
			err = -ENOMEM;
			break;
		}
		o->n_ext++;
	}
	free(dup);
	return err;
}

static int parse_args(int argc, char **argv, struct matrix_opts *o)
{
	static const struct option longopts[] = {
		{ "file",         required_argument, NULL, 'f' },
		{ "output",       required_argument, NULL, 'o' },
		{ "ports",        required_argument, NULL, 'p' },
		{ "protocols",    required_argument, NULL, 'P' },
		{ "external-ips", required_argument, NULL, 'e' },
		{ "help",         no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->ports[0] = 80;
	o->n_ports = 1;
	o->protos[0] = IPPROTO_TCP;
	o->n_protos = 1;
	while ((c = getopt_long(argc, argv, "f:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (o->n_files == PW_CMD_MAX_INPUTS) {
				fprintf(stderr, "podwall matrix: at most %d -f\n", PW_CMD_MAX_INPUTS);
				return -EINVAL;
			}
			o->files[o->n_files++] = optarg;
			break;
		case 'o':
			if (strcmp(optarg, "json") && strcmp(optarg, "table")) {
				fprintf(stderr, "podwall matrix: -o: json or table, not '%s'\n", optarg);
				return -EINVAL;
			}
			o->json = !strcmp(optarg, "json");
			break;
		case 'p': if (parse_ports(optarg, o)) return -EINVAL; break;
		case 'P': if (parse_protos(optarg, o)) return -EINVAL; break;
		case 'e': if (parse_externals(optarg, o)) return -EINVAL; break;
		case 'h':
		default:
			return -EINVAL;
		}
	}
	if (!o->n_files || optind != argc) {
		fprintf(stderr, "usage: podwall matrix -f FILE [--ports 80,81] [--protocols TCP,UDP,SCTP] "
			"[--external-ips IP,...] [-o json|table]\n");
		return -EINVAL;
	}
	return 0;
}

static uint32_t matrix_is_local(void *ctx, const struct pw_pod *pod)
{
	const struct matrix *m = ctx;

	return m->pod_ifindex[pod - m->cluster->pods];
}

/* The address family both ends share: IPv4 first. NULL if none. */
static bool pick_addrs(const struct peer *a, const struct peer *b,
		       const uint8_t **sa, const uint8_t **da)
{
	if (a->v4 && b->v4) {
		*sa = a->v4, *da = b->v4;
		return true;
	}
	if (a->v6 && b->v6) {
		*sa = a->v6, *da = b->v6;
		return true;
	}
	return false;
}

/* Run one probe through the kernel. Returns 1 allow, 0 deny, < 0 error. */
static int probe(struct matrix *m, const struct peer *src, const struct peer *dst,
		 uint8_t proto, uint16_t port)
{
	const uint8_t *sa, *da;
	struct pw_probe_result r;
	int err;

	if (!pick_addrs(src, dst, &sa, &da))
		return 0; /* no common address family: nothing can connect */
	err = pw_probe_run(m->probe, src->dev, sa, dst->dev, da, proto, port, NULL, 0, &r);
	return err ? err : r.allowed;
}

static void print_json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

/* verdicts[((i * n_peers) + j) * n_ports * n_protos + port * n_protos + proto] */
static void print_json(const struct matrix *m, const struct matrix_opts *o, const int8_t *v)
{
	bool first = true;

	putchar('[');
	for (size_t i = 0; i < m->n_peers; i++)
		for (size_t j = 0; j < m->n_peers; j++)
			for (size_t p = 0; p < o->n_ports; p++)
				for (size_t q = 0; q < o->n_protos; q++) {
					int8_t x = v[((i * m->n_peers + j) * o->n_ports + p) * o->n_protos + q];

					if (x < 0)
						continue;
					printf("%s{\"from\":", first ? "" : ",\n");
					print_json_str(m->peers[i].label);
					printf(",\"to\":");
					print_json_str(m->peers[j].label);
					printf(",\"port\":%u,\"protocol\":\"%s\",\"verdict\":\"%s\"}",
					       o->ports[p], proto_name(o->protos[q]), x ? "allow" : "deny");
					first = false;
				}
	printf("]\n");
}

static void print_table(const struct matrix *m, const struct matrix_opts *o, const int8_t *v)
{
	size_t w = 4;

	for (size_t i = 0; i < m->n_peers; i++)
		if (strlen(m->peers[i].label) > w)
			w = strlen(m->peers[i].label);
	for (size_t p = 0; p < o->n_ports; p++)
		for (size_t q = 0; q < o->n_protos; q++) {
			printf("%u/%s  (rows: from, columns: to; . allow, X deny)\n",
			       o->ports[p], proto_name(o->protos[q]));
			printf("%-*s", (int)w, "");
			for (size_t j = 0; j < m->n_peers; j++)
				printf(" %s", m->peers[j].label);
			putchar('\n');
			for (size_t i = 0; i < m->n_peers; i++) {
				printf("%-*s", (int)w, m->peers[i].label);
				for (size_t j = 0; j < m->n_peers; j++) {
					int8_t x = v[((i * m->n_peers + j) * o->n_ports + p) * o->n_protos + q];
					int cw = (int)strlen(m->peers[j].label);

					printf(" %*s%c", cw - 1, "", x < 0 ? ' ' : x ? '.' : 'X');
				}
				putchar('\n');
			}
			putchar('\n');
		}
}

int cmd_matrix(int argc, char **argv)
{
	struct matrix_opts o = {};
	struct matrix m = {};
	struct pw_cluster *c = NULL;
	struct pw_state state = {};
	struct pw_error perr = {};
	struct pw_compile_opts copts = {};
	int8_t *verdicts = NULL;
	int err, ret = PW_EXIT_USAGE;

	if (parse_args(argc, argv, &o))
		goto out;

	ret = pw_cmd_load("matrix", o.files, o.n_files, &c);
	if (ret)
		goto out;
	m.cluster = c;

	ret = PW_EXIT_SYSTEM;
	err = pw_probe_new("podwall matrix", &m.probe);
	if (err)
		goto out;

	/* One dummy device per pod with an address: it stands for its host veth. */
	m.pod_ifindex = calloc(c->n_pods + 1, sizeof(*m.pod_ifindex));
	m.peers = calloc(c->n_pods + o.n_ext + 1, sizeof(*m.peers));
	if (!m.pod_ifindex || !m.peers)
		goto out;
	for (size_t i = 0; i < c->n_pods; i++) {
		const struct pw_pod *pod = &c->pods[i];
		struct peer *pe = &m.peers[m.n_peers];

		if (!pod->n_ips) {
			fprintf(stderr, "podwall matrix: note: pod %s/%s has no IP, not probed\n",
				pod->ns, pod->name);
			continue;
		}
		pe->dev = pw_probe_add_dev(m.probe, &m.pod_ifindex[i]);
		if (pe->dev < 0)
			goto out;
		snprintf(pe->buf, sizeof(pe->buf), "%s/%s", pod->ns, pod->name);
		pe->label = pe->buf;
		for (size_t k = 0; k < pod->n_ips; k++) {
			if (pw_addr_is_v4(pod->ips[k]))
				pe->v4 = pe->v4 ? pe->v4 : pod->ips[k];
			else
				pe->v6 = pe->v6 ? pe->v6 : pod->ips[k];
		}
		m.n_peers++;
	}
	m.n_pods = m.n_peers;
	for (size_t i = 0; i < o.n_ext; i++) {
		struct peer *pe = &m.peers[m.n_peers++];

		pe->label = o.ext_names[i];
		pe->dev = -1;
		if (pw_addr_is_v4(o.ext_addrs[i]))
			pe->v4 = o.ext_addrs[i];
		else
			pe->v6 = o.ext_addrs[i];
	}

	copts.is_local = matrix_is_local;
	copts.local_ctx = &m;
	err = pw_compile(c, &copts, &state, &perr);
	if (err) {
		fprintf(stderr, "podwall matrix: %s\n", perr.msg);
		ret = PW_EXIT_USAGE;
		goto out;
	}

	err = pw_probe_load(m.probe, &state, 0, false, "the compiled state");
	if (err)
		goto out;

	verdicts = malloc(m.n_peers * m.n_peers * o.n_ports * o.n_protos + 1);
	if (!verdicts)
		goto out;
	for (size_t i = 0; i < m.n_peers; i++)
		for (size_t j = 0; j < m.n_peers; j++)
			for (size_t p = 0; p < o.n_ports; p++)
				for (size_t q = 0; q < o.n_protos; q++) {
					int8_t *x = &verdicts[((i * m.n_peers + j) * o.n_ports + p) * o.n_protos + q];

					/* addresses only probe pods, and are probed by them */
					if (i >= m.n_pods && j >= m.n_pods) {
						*x = -1;
						continue;
					}
					err = probe(&m, &m.peers[i], &m.peers[j], o.protos[q], o.ports[p]);
					if (err < 0) {
						fprintf(stderr, "podwall matrix: probe %s -> %s: %s\n",
							m.peers[i].label, m.peers[j].label, strerror(-err));
						goto out;
					}
					*x = (int8_t)err;
				}

	if (o.json)
		print_json(&m, &o, verdicts);
	else
		print_table(&m, &o, verdicts);
	ret = PW_EXIT_OK;
out:
	free(verdicts);
	pw_probe_close(m.probe);
	pw_state_free(&state);
	free(m.peers);
	free(m.pod_ifindex);
	for (size_t i = 0; i < o.n_ext; i++)
		free(o.ext_names[i]);
	pw_cluster_free(c);
	return ret;
}
