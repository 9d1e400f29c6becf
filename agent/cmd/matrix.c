/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * podwall matrix: who can reach whom, decided by the kernel.
 *
 * The objects are compiled exactly as the agent compiles them and written
 * into a private, unpinned copy of the maps (ops/probe.h, untraced: only
 * verdicts). Each probe is a crafted first packet run through the source's
 * from_pod, then the destination's to_pod, that no other probe's conntrack
 * entry can answer (pw_probe_batch). There is no second evaluator in
 * userspace: the verdict is what the programs return.
 *
 * Pods whose probes are interchangeable (ops/peerclass.h: same endpoint,
 * policy entries, ipcache entries, but for ep_id and addresses) share
 * them: the programs judge one pair of members per pair of classes (and a
 * pod to itself once per class), and every pair of the classes gets that
 * verdict. Only the members probed become endpoints, each with a dummy
 * device in a private network namespace (BPF_PROG_TEST_RUN needs a real
 * ifindex to stand for the pod's host veth). PODWALL_MATRIX_SHARE=0 probes
 * every pair (the differential tests compare both), PODWALL_MATRIX_THREADS
 * sets the threads (default: the CPUs online).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cmd.h"
#include "cmd/input.h"
#include "cmd/opts.h"
#include "compiler.h"
#include "kernel/bpfobj.h" /* pw_addr_parse, pw_addr_is_v4 */
#include "ops/peerclass.h"
#include "ops/probe.h"

#define MAX_PORTS     64
#define MAX_EXTERNALS 64

struct matrix_opts {
	struct pw_cmd_inputs files;
	uint16_t    ports[MAX_PORTS];
	size_t      n_ports;
	uint8_t     protos[3];
	size_t      n_protos;
	char       *ext_names[MAX_EXTERNALS];
	uint8_t     ext_addrs[MAX_EXTERNALS][16];
	size_t      n_ext;
	bool        json;
	bool        prefer_v6;   /* --family 6 */
	const char *from, *to;   /* --from, --to filters: NS/POD, NS/(star) or an address */
};

/* One side of a probe: a pod (its dummy device) or an address. */
struct peer {
	const char    *label;   /* "ns/pod" or the address as given */
	char           buf[320];
	int            dev;     /* the probe's device; -1: outside the cluster, or not probed */
	const uint8_t *v4;      /* addresses, NULL if the peer has none */
	const uint8_t *v6;
	size_t         pod;     /* cluster pod index (pods only) */
};

/* One backend's verdict in a cell to a Service whose backends differ (PW_MIXED). */
struct be_verdict {
	size_t   cell;    /* index in verdicts[] */
	size_t   pod;     /* cluster pod index of the backend */
	uint16_t target;  /* the port after DNAT */
	int8_t   allowed;
};

/* a verdicts[] cell to a Service ClusterIP whose backends do not agree */
#define PW_MIXED 2

struct matrix {
	struct pw_probe    *probe;
	struct pw_error     why;    /* what the probe failed at */
	struct peer        *peers;  /* pods first, then externals */
	size_t              n_pods, n_peers;
	const struct pw_cluster *cluster;
	uint32_t           *pod_ifindex; /* by cluster pod index: made up (index + 1) until probed */
	struct be_verdict  *split;  /* the backends of PW_MIXED cells, in cell order */
	size_t              n_split;
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

enum { O_FILE = 1, O_OUTPUT, O_PORTS, O_PROTOS, O_EXT, O_FROM, O_TO, O_FAMILY };

static const struct pw_opt matrix_opts_table[] = {
	{ O_FILE, 'f', "filename", "FILE|DIR", "manifests to read ('-': stdin); "
	  "several -f are merged", "file" },
	{ O_PORTS, 0, "ports", "80,81", "ports probed (default 80)", NULL },
	{ O_PROTOS, 0, "protocols", "TCP,UDP,SCTP", "protocols probed (default TCP)", NULL },
	{ O_EXT, 0, "external-ips", "IP,...", "addresses outside the pods, probed both ways; a "
	  "Service ClusterIP is judged after DNAT, as kube-proxy sends it", NULL },
	{ O_FROM, 0, "from", "NS/POD|NS/*|IP", "only these rows (sources)", NULL },
	{ O_TO, 0, "to", "NS/POD|NS/*|IP", "only these columns (destinations)", NULL },
	{ O_FAMILY, 0, "family", "4|6", "the family probed between dual-stack ends (default 4; "
	  "an end with one family is probed over it)", NULL },
	PW_OPT_OUTPUT(O_OUTPUT),
	{ 0 },
};

const struct pw_cmd_doc pw_doc_matrix = {
	"matrix",
	"-f FILE|DIR... [--ports 80,81] [--protocols TCP,UDP,SCTP] [--external-ips IP,...] "
	"[--from NS/POD|NS/*] [--to NS/POD|NS/*] [--family 4|6] [-o text|json]",
	"the reachability of every pod pair (and pod<->address), decided by the kernel",
	matrix_opts_table,
};

static int matrix_opt(void *ctx, const struct pw_opt *opt, const char *val)
{
	struct matrix_opts *o = ctx;

	if (!opt)
		return pw_opts_bad(&pw_doc_matrix, "unexpected argument '%s'", val);
	switch (opt->id) {
	case O_FILE:
		return pw_cmd_add_input(&pw_doc_matrix, &o->files, val);
	case O_OUTPUT: return pw_opts_output(&pw_doc_matrix, val, &o->json);
	case O_PORTS:  return parse_ports(val, o) ? PW_EXIT_USAGE : 0;
	case O_PROTOS: return parse_protos(val, o) ? PW_EXIT_USAGE : 0;
	case O_EXT:    return parse_externals(val, o) ? PW_EXIT_USAGE : 0;
	case O_FROM:   o->from = val; return 0;
	case O_TO:     o->to = val; return 0;
	case O_FAMILY:
		if (strcmp(val, "4") && strcmp(val, "6"))
			return pw_opts_bad(&pw_doc_matrix, "--family: 4 or 6, not '%s'", val);
		o->prefer_v6 = val[0] == '6';
		return 0;
	}
	return PW_EXIT_USAGE;
}

/* 0, PW_OPTS_HELP or PW_EXIT_USAGE */
static int parse_args(int argc, char **argv, struct matrix_opts *o)
{
	int ret;

	o->ports[0] = 80;
	o->n_ports = 1;
	o->protos[0] = IPPROTO_TCP;
	o->n_protos = 1;
	ret = pw_opts_parse(&pw_doc_matrix, argc, argv, matrix_opt, o);
	if (!ret && !o->files.n)
		return pw_opts_bad(&pw_doc_matrix, "no manifests given (-f FILE|DIR)");
	return ret;
}

/* Does peer label match a --from/--to spec (NS/POD, "NS/" and a star, or an address)? */
static bool peer_matches(const char *spec, const char *label)
{
	size_t n;

	if (!spec)
		return true;
	n = strlen(spec);
	if (n >= 2 && !strcmp(spec + n - 2, "/*"))
		return !strncmp(label, spec, n - 1);
	return !strcmp(spec, label);
}

static uint32_t matrix_is_local(void *ctx, const struct pw_pod *pod)
{
	const struct matrix *m = ctx;

	return m->pod_ifindex[pod - m->cluster->pods];
}

/* The address family both ends share: IPv4 first (IPv6 first with
 * --family 6). False if none. */
static bool pick_addrs(const struct peer *a, const struct peer *b, bool prefer_v6,
		       const uint8_t **sa, const uint8_t **da)
{
	for (int k = 0; k < 2; k++) {
		bool v6 = (k == 0) == prefer_v6;
		const uint8_t *x = v6 ? a->v6 : a->v4, *y = v6 ? b->v6 : b->v4;

		if (x && y) {
			*sa = x, *da = y;
			return true;
		}
	}
	return false;
}

/* ------------------------------------------------------------ evaluation */

/* The classes of the peers and the members that are probed for each. */
struct classes {
	uint32_t *of;          /* by peer */
	size_t    n;
	size_t   *rep[2];      /* by class: its first member, its second (SIZE_MAX: none) */
	int8_t   *cross;       /* [a][b][port][proto]: a member of a to another of b */
	int8_t   *self;        /* [a][port][proto]: a member of a to itself */
};

static int env_int(const char *name, int dflt)
{
	const char *v = getenv(name);

	return v && *v ? atoi(v) : dflt;
}

static int make_classes(struct matrix *m, const struct pw_state *st, struct classes *k)
{
	struct pw_peer_in *in = calloc(m->n_peers + 1, sizeof(*in));
	const struct pw_state_ep **by_pod = calloc(m->cluster->n_pods + 1, sizeof(*by_pod));
	int n = 0;

	k->of = calloc(m->n_peers + 1, sizeof(*k->of));
	if (!in || !by_pod || !k->of) {
		n = -ENOMEM;
		goto out;
	}
	for (size_t e = 0; e < st->n_eps; e++) /* made-up ifindex: pod index + 1 */
		if (st->eps[e].ifindex && st->eps[e].ifindex <= m->cluster->n_pods)
			by_pod[st->eps[e].ifindex - 1] = &st->eps[e];
	for (size_t i = 0; i < m->n_peers; i++) {
		in[i].ep = i < m->n_pods ? by_pod[m->peers[i].pod] : NULL;
		in[i].v4 = m->peers[i].v4;
		in[i].v6 = m->peers[i].v6;
	}
	if (env_int("PODWALL_MATRIX_SHARE", 1)) {
		n = pw_peer_classes(st, in, m->n_peers, k->of);
	} else {
		for (size_t i = 0; i < m->n_peers; i++)
			k->of[i] = (uint32_t)i;
		n = (int)m->n_peers;
	}
	if (n < 0)
		goto out;
	k->n = (size_t)n;
	for (int r = 0; r < 2; r++) {
		k->rep[r] = malloc((k->n + 1) * sizeof(*k->rep[r]));
		if (!k->rep[r]) {
			n = -ENOMEM;
			goto out;
		}
		memset(k->rep[r], 0xff, (k->n + 1) * sizeof(*k->rep[r]));
	}
	for (size_t i = 0; i < m->n_peers; i++) {
		size_t c = k->of[i];

		if (k->rep[0][c] == SIZE_MAX)
			k->rep[0][c] = i;
		else if (k->rep[1][c] == SIZE_MAX)
			k->rep[1][c] = i;
	}
	n = 0;
out:
	free(in);
	free(by_pod);
	return n;
}

static void free_classes(struct classes *k)
{
	free(k->of);
	free(k->rep[0]);
	free(k->rep[1]);
	free(k->cross);
	free(k->self);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Devices for the members probed, and the state with only their endpoints
 * and policy entries (the others' are never looked up) loaded into the
 * private maps. The ipcache is loaded whole: probes look up addresses.
 */
static int load_members(struct matrix *m, struct pw_state *st, const struct classes *k)
{
	struct pw_state part = *st;
	uint32_t *ids = calloc(st->n_eps + 1, sizeof(*ids));
	size_t *member = malloc((m->cluster->n_pods + 1) * sizeof(*member)), n_ids = 0;
	int err = -ENOMEM;

	part.eps = calloc(st->n_eps + 1, sizeof(*part.eps));
	part.pol = calloc(st->n_pol + 1, sizeof(*part.pol));
	if (!ids || !member || !part.eps || !part.pol)
		goto out;
	/* member[pod]: the peer index of a pod probed, else SIZE_MAX */
	memset(member, 0xff, (m->cluster->n_pods + 1) * sizeof(*member));
	for (size_t c = 0; c < k->n; c++)
		for (int r = 0; r < 2; r++)
			if (k->rep[r][c] < m->n_pods)
				member[m->peers[k->rep[r][c]].pod] = k->rep[r][c];
	part.n_eps = part.n_pol = 0;
	for (size_t e = 0; e < st->n_eps; e++) {
		const struct pw_state_ep *ep = &st->eps[e];
		struct peer *pe;
		uint32_t ifindex;

		if (!ep->ifindex || ep->ifindex > m->cluster->n_pods ||
		    member[ep->ifindex - 1] == SIZE_MAX)
			continue;
		pe = &m->peers[member[ep->ifindex - 1]];
		pe->dev = pw_probe_add_dev(m->probe, &ifindex, &m->why);
		if (pe->dev < 0) {
			err = pe->dev;
			goto out;
		}
		part.eps[part.n_eps] = *ep;
		part.eps[part.n_eps++].ifindex = ifindex;
		ids[n_ids++] = ep->ep_id;
	}
	qsort(ids, n_ids, sizeof(*ids), cmp_u32);
	for (size_t i = 0; i < st->n_pol; i++)
		if (bsearch(&st->pol[i].key.ep_id, ids, n_ids, sizeof(*ids), cmp_u32))
			part.pol[part.n_pol++] = st->pol[i];
	err = pw_probe_load(m->probe, &part, 0, false, "the compiled state", &m->why);
out:
	free(ids);
	free(member);
	free(part.eps);
	free(part.pol);
	return err;
}

#define JOBS_CHUNK 65536

struct job_queue {
	struct pw_probe_job jobs[JOBS_CHUNK];
	int8_t             *dst[JOBS_CHUNK];  /* where each verdict goes */
	size_t              n;
	size_t              total;            /* jobs run so far */
	int                 threads;
};

static int run_queue(struct matrix *m, struct job_queue *q)
{
	int err = pw_probe_batch(m->probe, q->jobs, q->n, q->threads);

	for (size_t x = 0; !err && x < q->n; x++)
		*q->dst[x] = q->jobs[x].allowed;
	q->total += q->n;
	q->n = 0;
	return err;
}

/* The verdicts of peer i to peer j (members of their classes) into out[port][proto]. */
static int queue_pair(struct matrix *m, const struct matrix_opts *o, struct job_queue *q,
		      size_t i, size_t j, int8_t *out)
{
	const struct peer *a = &m->peers[i], *b = &m->peers[j];
	const uint8_t *sa, *da;
	int err;

	if (!pick_addrs(a, b, o->prefer_v6, &sa, &da)) {
		memset(out, 0, o->n_ports * o->n_protos); /* no common family: nothing connects */
		return 0;
	}
	for (size_t p = 0; p < o->n_ports; p++)
		for (size_t r = 0; r < o->n_protos; r++) {
			q->jobs[q->n] = (struct pw_probe_job){
				.src = a->dev, .dst = b->dev, .saddr = sa, .daddr = da,
				.proto = o->protos[r], .dport = o->ports[p],
			};
			q->dst[q->n++] = &out[p * o->n_protos + r];
			if (q->n == JOBS_CHUNK && (err = run_queue(m, q)))
				return err;
		}
	return 0;
}

/* One probe per pair of classes (and per class to itself), through the kernel. */
static int probe_classes(struct matrix *m, const struct matrix_opts *o, struct classes *k)
{
	size_t pq = o->n_ports * o->n_protos, nc = k->n;
	struct job_queue *q = malloc(sizeof(*q));
	int err = -ENOMEM;

	k->cross = malloc(nc * nc * pq + 1);
	k->self = malloc(nc * pq + 1);
	if (!q || !k->cross || !k->self)
		goto out;
	q->n = q->total = 0;
	q->threads = env_int("PODWALL_MATRIX_THREADS", (int)sysconf(_SC_NPROCESSORS_ONLN));
	err = 0;
	for (size_t a = 0; a < nc && !err; a++)
		for (size_t b = 0; b < nc && !err; b++) {
			size_t i = k->rep[0][a], j = k->rep[a == b][b];

			if (i >= m->n_pods && (j == SIZE_MAX || j >= m->n_pods))
				continue; /* addresses only probe pods, and are probed by them */
			if (j != SIZE_MAX)
				err = queue_pair(m, o, q, i, j, &k->cross[(a * nc + b) * pq]);
			if (!err && a == b)
				err = queue_pair(m, o, q, i, i, &k->self[a * pq]);
		}
	if (!err && q->n)
		err = run_queue(m, q);
	if (err)
		fprintf(stderr, "podwall matrix: probes: %s\n", strerror(-err));
	else if (env_int("PODWALL_MATRIX_STATS", 0))
		fprintf(stderr, "podwall matrix: %zu peers in %zu classes: %zu probes through the "
			"kernel for %zu verdicts, %d threads\n", m->n_peers, nc, q->total,
			m->n_peers * m->n_peers * pq, q->threads);
out:
	free(q);
	return err;
}

/* The Service whose ClusterIP a is, or NULL. */
static const struct pw_service *service_of(const struct pw_cluster *c, const uint8_t *a)
{
	for (size_t i = 0; a && i < c->n_services; i++)
		for (size_t k = 0; k < c->services[i].n_cluster_ips; k++)
			if (!memcmp(c->services[i].cluster_ips[k], a, 16))
				return &c->services[i];
	return NULL;
}

/* Does Service sv select pod (every selector label equal; no selector: no pod)? */
static bool svc_selects(const struct pw_service *sv, const struct pw_pod *pod)
{
	if (!sv->selector.n || strcmp(sv->ns, pod->ns))
		return false;
	for (size_t i = 0; i < sv->selector.n; i++) {
		bool hit = false;

		for (size_t k = 0; k < pod->labels.n && !hit; k++)
			hit = !strcmp(pod->labels.v[k].key, sv->selector.v[i].key) &&
			      !strcmp(pod->labels.v[k].value, sv->selector.v[i].value);
		if (!hit)
			return false;
	}
	return true;
}

/*
 * A pod to a Service ClusterIP of --external-ips: the verdict of the packet
 * kube-proxy sends on, after DNAT, to each backend that has the port (a
 * named targetPort is resolved per pod, and a pod without it is no endpoint
 * of that port), judged by the programs as on a node: from_pod defers,
 * to_pod of the backend decides on the translated packet. When the
 * backends agree, that is the cell; when they do not, the cell is PW_MIXED
 * and every backend's verdict is kept (m->split): a connection's fate is
 * then kube-proxy's pick. Backends the compiled maps cannot tell apart (one
 * class) with one target port are probed once. No backend, or no such
 * Service port: no connection.
 */
static int service_verdict(struct matrix *m, const struct classes *k, const size_t *peer_of_pod,
			   size_t i, size_t j, uint8_t proto, uint16_t port, size_t cell,
			   int8_t *out)
{
	const struct pw_service *sv = service_of(m->cluster, m->peers[j].v4 ? m->peers[j].v4
								      : m->peers[j].v6);
	const struct pw_service_port *sp = NULL;
	const uint8_t *vip = m->peers[j].v4 ? m->peers[j].v4 : m->peers[j].v6, *sa, *na;
	struct be_verdict *bv = NULL;
	size_t n = 0, si, di;
	int err = 0;

	*out = 0;
	for (size_t x = 0; x < sv->n_ports && !sp; x++)
		if (sv->ports[x].port == port && sv->ports[x].proto == proto)
			sp = &sv->ports[x];
	if (!sp)
		return 0;
	bv = malloc(m->cluster->n_pods * sizeof(*bv) + 1);
	if (!bv)
		return -ENOMEM;
	for (size_t x = 0; x < m->cluster->n_pods && !err; x++) {
		size_t be = peer_of_pod[x];
		uint16_t target;
		struct pw_probe_result r;
		bool seen = false;

		if (be == SIZE_MAX || !svc_selects(sv, &m->cluster->pods[x]) ||
		    !(target = pw_service_target(sp, &m->cluster->pods[x])))
			continue;
		si = k->rep[0][k->of[i]];
		di = k->rep[0][k->of[be]];
		if (k->of[i] == k->of[be] && i != be && k->rep[1][k->of[be]] != SIZE_MAX)
			di = k->rep[1][k->of[be]];
		sa = pw_addr_is_v4(vip) ? m->peers[si].v4 : m->peers[si].v6;
		na = pw_addr_is_v4(vip) ? m->peers[di].v4 : m->peers[di].v6;
		if (!sa || !na)
			continue;  /* the Service's family is not theirs */
		bv[n] = (struct be_verdict){ cell, x, target, 0 };
		for (size_t y = 0; y < n && !seen; y++)
			if (k->of[peer_of_pod[bv[y].pod]] == k->of[be] && bv[y].target == target &&
			    (k->of[i] != k->of[be] || (i == be) == (i == peer_of_pod[bv[y].pod]))) {
				bv[n].allowed = bv[y].allowed;  /* the maps cannot tell them apart */
				seen = true;
			}
		if (!seen) {
			err = pw_probe_run(m->probe, m->peers[si].dev, sa, m->peers[di].dev, vip,
					   proto, port, na, target, &r);
			bv[n].allowed = (int8_t)r.allowed;
		}
		n++;
	}
	if (!err && n) {
		bool agree = true;

		for (size_t y = 1; y < n; y++)
			agree &= bv[y].allowed == bv[0].allowed;
		*out = agree ? bv[0].allowed : PW_MIXED;
		if (!agree) {
			struct be_verdict *g = realloc(m->split, (m->n_split + n) * sizeof(*g));

			if (!g) {
				err = -ENOMEM;
			} else {
				memcpy(g + m->n_split, bv, n * sizeof(*g));
				m->split = g;
				m->n_split += n;
			}
		}
	}
	free(bv);
	return err;
}

static int service_columns(struct matrix *m, const struct matrix_opts *o, const struct classes *k,
			   int8_t *verdicts)
{
	size_t pq = o->n_ports * o->n_protos, *peer_of_pod;
	int err = 0;

	peer_of_pod = malloc((m->cluster->n_pods + 1) * sizeof(*peer_of_pod));
	if (!peer_of_pod)
		return -ENOMEM;
	memset(peer_of_pod, 0xff, (m->cluster->n_pods + 1) * sizeof(*peer_of_pod));
	for (size_t i = 0; i < m->n_pods; i++)
		peer_of_pod[m->peers[i].pod] = i;
	for (size_t j = m->n_pods; j < m->n_peers && !err; j++) {
		if (!service_of(m->cluster, m->peers[j].v4 ? m->peers[j].v4 : m->peers[j].v6))
			continue;
		for (size_t i = 0; i < m->n_pods && !err; i++)
			for (size_t p = 0; p < o->n_ports && !err; p++)
				for (size_t q = 0; q < o->n_protos && !err; q++)
				{
					size_t cell = (i * m->n_peers + j) * pq + p * o->n_protos + q;

					err = service_verdict(m, k, peer_of_pod, i, j, o->protos[q],
							      o->ports[p], cell, &verdicts[cell]);
				}
	}
	free(peer_of_pod);
	return err;
}

/* verdicts[((i * n_peers) + j) * n_ports * n_protos + port * n_protos + proto]: -1 not probed */
static int evaluate(struct matrix *m, const struct matrix_opts *o, struct pw_state *st,
		    int8_t *verdicts)
{
	struct classes k = { 0 };
	size_t pq = o->n_ports * o->n_protos;
	int err;

	err = make_classes(m, st, &k);
	err = err ? err : load_members(m, st, &k);
	err = err ? err : probe_classes(m, o, &k);
	if (err)
		goto out;
	for (size_t i = 0; i < m->n_peers; i++)
		for (size_t j = 0; j < m->n_peers; j++) {
			int8_t *x = &verdicts[(i * m->n_peers + j) * pq];
			size_t a = k.of[i], b = k.of[j];

			if (i >= m->n_pods && j >= m->n_pods)
				memset(x, -1, pq);
			else if (i == j)
				memcpy(x, &k.self[a * pq], pq);
			else
				memcpy(x, &k.cross[(a * k.n + b) * pq], pq);
		}
	err = service_columns(m, o, &k, verdicts);
	if (err)
		fprintf(stderr, "podwall matrix: probes to Service ClusterIPs: %s\n", strerror(-err));
out:
	free_classes(&k);
	return err;
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

/* The family peers i and j are probed over (4 or 6), 0 if none. */
static int pair_family(const struct matrix *m, const struct matrix_opts *o, size_t i, size_t j)
{
	const uint8_t *sa, *da;

	if (!pick_addrs(&m->peers[i], &m->peers[j], o->prefer_v6, &sa, &da))
		return 0;
	return pw_addr_is_v4(sa) ? 4 : 6;
}

static bool row_shown(const struct matrix *m, const struct matrix_opts *o, size_t i)
{
	return peer_matches(o->from, m->peers[i].label);
}

static bool col_shown(const struct matrix *m, const struct matrix_opts *o, size_t j)
{
	return peer_matches(o->to, m->peers[j].label);
}

/* The backends of a PW_MIXED cell: ,"backends":[{"backend":..,"port":..,"verdict":..}] */
static void print_split_json(const struct matrix *m, size_t cell)
{
	bool first = true;

	printf(",\"backends\":[");
	for (size_t b = 0; b < m->n_split; b++) {
		const struct be_verdict *x = &m->split[b];
		const struct pw_pod *pod = &m->cluster->pods[x->pod];

		if (x->cell != cell)
			continue;
		printf("%s{\"backend\":\"%s/%s\",\"port\":%u,\"verdict\":\"%s\"}",
		       first ? "" : ",", pod->ns, pod->name, x->target, x->allowed ? "allow" : "deny");
		first = false;
	}
	putchar(']');
}

/* Under a table: each shown PW_MIXED cell of (p, q), with every backend's verdict. */
static void print_split_notes(const struct matrix *m, const struct matrix_opts *o, size_t p,
			      size_t q, bool (*shown)(const struct matrix *, const struct matrix_opts *,
						      size_t, size_t))
{
	size_t pq = o->n_ports * o->n_protos;

	for (size_t b = 0; b < m->n_split; b++) {
		const struct be_verdict *x = &m->split[b];
		size_t i = x->cell / pq / m->n_peers, j = x->cell / pq % m->n_peers;
		const struct pw_pod *pod = &m->cluster->pods[x->pod];

		if (x->cell % pq != p * o->n_protos + q || !shown(m, o, i, j))
			continue;
		if (!b || m->split[b - 1].cell != x->cell)
			printf("~ %s -> %s: the Service's backends differ:", m->peers[i].label,
			       m->peers[j].label);
		printf(" %s/%s:%u %s%s", pod->ns, pod->name, x->target, x->allowed ? "allow" : "deny",
		       b + 1 < m->n_split && m->split[b + 1].cell == x->cell ? "," : "\n");
	}
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
					int fam = pair_family(m, o, i, j);

					if (x < 0 || !row_shown(m, o, i) || !col_shown(m, o, j))
						continue;
					printf("%s{\"from\":", first ? "" : ",\n");
					print_json_str(m->peers[i].label);
					printf(",\"to\":");
					print_json_str(m->peers[j].label);
					printf(",\"port\":%u,\"protocol\":\"%s\",\"verdict\":\"%s\"",
					       o->ports[p], proto_name(o->protos[q]),
					       x == PW_MIXED ? "mixed" : x ? "allow" : "deny");
					if (fam)
						printf(",\"family\":%d", fam);
					if (x == PW_MIXED)
						print_split_json(m, ((i * m->n_peers + j) * o->n_ports + p) *
								 o->n_protos + q);
					putchar('}');
					first = false;
				}
	printf("]\n");
}

static bool cell_shown(const struct matrix *m, const struct matrix_opts *o, size_t i, size_t j)
{
	return row_shown(m, o, i) && col_shown(m, o, j);
}

/* a shown PW_MIXED cell in the table of port p, protocol q */
static bool has_split(const struct matrix *m, const struct matrix_opts *o, size_t p, size_t q)
{
	size_t pq = o->n_ports * o->n_protos;

	for (size_t b = 0; b < m->n_split; b++)
		if (m->split[b].cell % pq == p * o->n_protos + q &&
		    cell_shown(m, o, m->split[b].cell / pq / m->n_peers,
			       m->split[b].cell / pq % m->n_peers))
			return true;
	return false;
}

static void print_table(const struct matrix *m, const struct matrix_opts *o, const int8_t *v)
{
	size_t w = 4;
	bool dual = false;

	for (size_t i = 0; i < m->n_peers; i++) {
		if (row_shown(m, o, i) && strlen(m->peers[i].label) > w)
			w = strlen(m->peers[i].label);
		dual |= m->peers[i].v4 && m->peers[i].v6;
	}
	for (size_t p = 0; p < o->n_ports; p++)
		for (size_t q = 0; q < o->n_protos; q++) {
			printf("%u/%s  (rows: from, columns: to; . allow, X deny%s)", o->ports[p],
			       proto_name(o->protos[q]), has_split(m, o, p, q) ? "; ~ a Service's "
			       "backends differ, see below" : "");
			if (dual)
				printf("  over IPv%d between dual-stack ends (--family %d for IPv%d); "
				       "over the one family an end has otherwise",
				       o->prefer_v6 ? 6 : 4, o->prefer_v6 ? 4 : 6, o->prefer_v6 ? 4 : 6);
			printf("\n%-*s", (int)w, "");
			for (size_t j = 0; j < m->n_peers; j++)
				if (col_shown(m, o, j))
					printf(" %s", m->peers[j].label);
			putchar('\n');
			for (size_t i = 0; i < m->n_peers; i++) {
				if (!row_shown(m, o, i))
					continue;
				printf("%-*s", (int)w, m->peers[i].label);
				for (size_t j = 0; j < m->n_peers; j++) {
					int8_t x = v[((i * m->n_peers + j) * o->n_ports + p) * o->n_protos + q];
					int cw = (int)strlen(m->peers[j].label);

					if (col_shown(m, o, j))
						printf(" %*s%c", cw - 1, "", x < 0 ? ' ' : x == PW_MIXED
						       ? '~' : x ? '.' : 'X');
				}
				putchar('\n');
			}
			print_split_notes(m, o, p, q, cell_shown);
			putchar('\n');
		}
}

/* A --from/--to that names one pod must name one that is probed. */
static int check_filter(const struct matrix *m, const char *opt, const char *spec)
{
	size_t n;

	if (!spec)
		return 0;
	n = strlen(spec);
	if (n >= 2 && !strcmp(spec + n - 2, "/*"))
		return 0;
	for (size_t i = 0; i < m->n_peers; i++)
		if (!strcmp(m->peers[i].label, spec))
			return 0;
	if (strchr(spec, '/'))
		fprintf(stderr, "podwall matrix: %s %s: %s\n", opt, spec,
			pw_cmd_why_no_pod(m->cluster, spec));
	else
		fprintf(stderr, "podwall matrix: %s %s: neither NS/POD, NS/* nor an address of "
			"--external-ips\n", opt, spec);
	return PW_EXIT_USAGE;
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

	ret = parse_args(argc, argv, &o);
	if (ret) {
		ret = ret == PW_OPTS_HELP ? PW_EXIT_OK : ret;
		goto out;
	}

	ret = pw_cmd_load("matrix", &o.files, &c);
	if (ret)
		goto out;
	m.cluster = c;

	ret = PW_EXIT_SYSTEM;
	err = pw_probe_new(&m.probe, &m.why);
	if (err) {
		fprintf(stderr, "podwall matrix: %s\n", m.why.msg);
		goto out;
	}

	/* Every pod with an address is local, under a made-up ifindex until it is probed. */
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
		m.pod_ifindex[i] = (uint32_t)i + 1;
		pe->dev = -1;
		pe->pod = i;
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

	ret = check_filter(&m, "--from", o.from);
	if (!ret)
		ret = check_filter(&m, "--to", o.to);
	if (ret)
		goto out;
	ret = PW_EXIT_SYSTEM;

	copts.is_local = matrix_is_local;
	copts.local_ctx = &m;
	err = pw_compile(c, &copts, &state, &perr);
	if (err) {
		fprintf(stderr, "podwall matrix: %s\n", perr.msg);
		ret = PW_EXIT_USAGE;
		goto out;
	}

	verdicts = malloc(m.n_peers * m.n_peers * o.n_ports * o.n_protos + 1);
	if (!verdicts)
		goto out;
	if (evaluate(&m, &o, &state, verdicts)) {
		if (m.why.msg[0])
			fprintf(stderr, "podwall matrix: %s\n", m.why.msg);
		goto out;
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
	free(m.split);
	for (size_t i = 0; i < o.n_ext; i++)
		free(o.ext_names[i]);
	pw_cluster_free(c);
	return ret;
}
