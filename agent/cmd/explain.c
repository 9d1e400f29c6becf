// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * podwall explain --from NS/POD|IP --to NS/POD|IP --port N [--protocol P]
 *                 [-f FILE|DIR | --pin-dir P] [-o json|text]
 *
 * The verdict of a new flow and its chain of reasons. The verdict is the
 * kernel's: the state is loaded into a private copy of the maps beside the
 * real programs and the first packet runs through from_pod of the source
 * and to_pod of the destination (BPF_PROG_TEST_RUN), as `matrix` does; the
 * programs report every judgement (direction, reason, rule id, peer
 * identity) and explain names them.
 *
 *   default       the live state: the live slot of the maps pinned in the pin
 *                 dir (read back, with the agent's mode), named with its state
 *                 file. Pods of other nodes are not judged here.
 *   -f FILE|DIR   the manifests, compiled as `matrix` compiles them (every pod
 *                 is local).
 *   --to-name N   (live only) the destinations are the addresses the source
 *                 pod learned from its own DNS answers for a domainNames
 *                 pattern that name N matches (fqdn_learned, within their
 *                 TTL); each is judged with those learned names in the
 *                 probe's maps, as the kernel joins them (abi.h). A pod that
 *                 has not resolved N is an error.
 *


 */
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cmd/cmd.h"
#include "cmd/input.h"
#include "cmd/opts.h"
#include "compiler.h"
#include "compiler/domain.h"
#include "k8s/ip.h"
#include "kernel/bpfobj.h"
#include "kernel/mapsync.h"
#include "ops/loaded.h"
#include "ops/pins.h"
#include "ops/probe.h"
#include "ops/statefile.h"
#include "ops/why.h"

struct xopts {
	const char *from, *to, *to_name, *pin_dir;
	struct pw_cmd_inputs files;
	uint16_t    port;
	uint8_t     proto;
	bool        json;
};

enum { O_FROM = 1, O_TO, O_TO_NAME, O_PORT, O_PROTO, O_FILE, O_PIN_DIR, O_OUTPUT };

static const struct pw_opt explain_opts[] = {
	{ O_FROM, 0, "from", "NS/POD|IP", "the source of the flow", NULL },
	{ O_TO, 0, "to", "NS/POD|IP", "its destination (a Service ClusterIP: judged after DNAT)",
	  NULL },
	{ O_TO_NAME, 0, "to-name", "NAME", "instead of --to: the addresses the source pod "
	  "learned for NAME from its own DNS answers (live maps only)", NULL },
	{ O_PORT, 'p', "port", "N", "its destination port", NULL },
	{ O_PROTO, 0, "protocol", "TCP|UDP|SCTP", "its protocol (default TCP)", NULL },
	{ O_FILE, 'f', "filename", "FILE|DIR", "judge these manifests (several -f are merged) "
	  "instead of the live maps", NULL },
	{ O_PIN_DIR, 0, "pin-dir", "P", "the live maps' pin dir (default: this network "
	  "namespace's)", NULL },
	PW_OPT_OUTPUT(O_OUTPUT),
	{ 0 },
};

const struct pw_cmd_doc pw_doc_explain = {
	"explain",
	"--from NS/POD|IP --to NS/POD|IP|--to-name NAME --port N [--protocol TCP|UDP|SCTP] "
	"[-f FILE|DIR... | --pin-dir P] [-o text|json]",
	"the verdict of a new flow and its chain of reasons, decided by the kernel; exit 1 when "
	"denied",
	explain_opts,
};

static int explain_opt(void *ctx, const struct pw_opt *opt, const char *val)
{
	struct xopts *o = ctx;
	char *end;
	long v;

	if (!opt)
		return pw_opts_bad(&pw_doc_explain, "unexpected argument '%s'", val);
	switch (opt->id) {
	case O_FROM: o->from = val; return 0;
	case O_TO: o->to = val; return 0;
	case O_TO_NAME: o->to_name = val; return 0;
	case O_FILE:
		return pw_cmd_add_input(&pw_doc_explain, &o->files, val);
	case O_PIN_DIR: o->pin_dir = val; return 0;
	case O_OUTPUT: return pw_opts_output(&pw_doc_explain, val, &o->json);
	case O_PORT:
		v = strtol(val, &end, 10);
		if (!*val || *end || v < 1 || v > 65535)
			return pw_opts_bad(&pw_doc_explain, "--port: 1-65535, not '%s'", val);
		o->port = (uint16_t)v;
		return 0;
	case O_PROTO:
		o->proto = pw_proto_parse(val);
		if (!o->proto)
			return pw_opts_bad(&pw_doc_explain, "--protocol: TCP, UDP or SCTP, not '%s'",
					   val);
		return 0;
	}
	return PW_EXIT_USAGE;
}

/* 0, PW_OPTS_HELP or PW_EXIT_USAGE */
static int parse(int argc, char **argv, struct xopts *o)
{
	int ret;

	memset(o, 0, sizeof(*o));
	o->proto = IPPROTO_TCP;
	ret = pw_opts_parse(&pw_doc_explain, argc, argv, explain_opt, o);
	if (ret)
		return ret;
	if (!o->from || !(o->to || o->to_name) || !o->port)
		return pw_opts_bad(&pw_doc_explain, "--from, --to (or --to-name) and --port are "
				   "needed");
	if (o->to && o->to_name)
		return pw_opts_bad(&pw_doc_explain, "--to and --to-name exclude each other");
	if (o->to_name && o->files.n)
		return pw_opts_bad(&pw_doc_explain, "--to-name reads what the pod learned: the "
				   "live maps, not -f");
	if (o->files.n && o->pin_dir)
		return pw_opts_bad(&pw_doc_explain, "-f and --pin-dir exclude each other");
	return 0;
}

/*
 * The identities of the domainNames patterns of s that name matches: the
 * exact pattern equal to it, and the wildcards of its proper suffixes
 * (abi.h, "domain names"). Returns how many (at most max).
 */
static size_t name_ids_of(const struct pw_state *s, const char *name, uint32_t *ids, size_t max)
{
	char pat[PW_DNS_WIRE_MAX + 3];
	size_t n = 0;

	for (const char *at = name; at && *at && n < max; at = strchr(at, '.'), at = at ? at + 1 : NULL) {
		struct pw_name_key k;
		struct pw_name_val v;

		snprintf(pat, sizeof(pat), "%s%s", at == name ? "" : "*.", at);
		if (pw_domain_entry(pat, 0, 0, &k, &v))
			continue;
		for (size_t i = 0; i < s->n_names && n < max; i++)
			if (s->names[i].key.kind == k.kind && s->names[i].key.hash == k.hash &&
			    s->names[i].val.wire_len == v.wire_len &&
			    !memcmp(s->names[i].val.wire, v.wire, v.wire_len))
				ids[n++] = s->names[i].val.name_id;
	}
	return n;
}

/* The live learned entries of ep for the names ids[0..n): *out, *n_out. 0 or -errno. */
static int learned_for(struct pw_pins *pins, const struct pw_state_ep *ep, const uint32_t *ids,
		       size_t n_ids, struct pw_fqdn_entry **out, size_t *n_out)
{
	struct pw_fqdn_entry *e = NULL;
	struct timespec ts;
	size_t n = 0, w = 0;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	err = pw_pins_fqdn_learned(pins, (uint32_t)ts.tv_sec, &e, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		bool mine = e[i].ep_id == ep->ep_id, named = false;

		for (size_t k = 0; mine && k < ep->n_ips && k < 2 && !named; k++)
			named = !memcmp(e[i].owner, ep->ips[k], 16);
		mine = mine && named;   /* the owner: this pod, not one before it */
		named = false;
		for (size_t k = 0; mine && k < n_ids && !named; k++)
			named = e[i].name_id == ids[k];
		if (mine && named)
			e[w++] = e[i];
	}
	*out = e;
	*n_out = w;
	return 0;
}

/* The endpoint of state s that holds address a (the live eps have no names). */
static const struct pw_state_ep *ep_by_addr(const struct pw_state *s, const uint8_t a[16])
{
	for (size_t i = 0; i < s->n_eps; i++)
		for (size_t k = 0; k < s->eps[i].n_ips && k < 2; k++)
			if (!memcmp(s->eps[i].ips[k], a, 16))
				return &s->eps[i];
	return NULL;
}

static bool is_v4(const uint8_t a[16])
{
	static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a, pfx, 12);
}

/* Resolve "ns/pod" or an address into a side. 0, or PW_EXIT_USAGE after saying why. */
static int resolve(const struct pw_cluster *c, const char *what, const char *spec,
		   const struct pw_loaded *l,
		   const struct pw_state *s, const uint8_t *family_of, struct pw_why_side *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", spec);
	if (strchr(spec, '/') && pw_addr_parse(spec, out->addr)) {
		const struct pw_ld_pod *p = pw_ld_pod_by_name(l, spec);
		size_t k = 0;

		if (!p) {
			fprintf(stderr, "podwall explain: %s %s: %s%s\n", what, spec,
				c ? pw_cmd_why_no_pod(c, spec) : "no such pod",
				c || (l && l->n_pods) ? "" : " (no names known: is there a state "
				"file? use an address)");
			return PW_EXIT_USAGE;
		}
		if (!p->n_ips) {
			fprintf(stderr, "podwall explain: %s %s: the pod has no address\n", what, spec);
			return PW_EXIT_USAGE;
		}
		/* the family of the other side, if it has one */
		if (family_of)
			for (size_t i = 0; i < p->n_ips; i++)
				if (is_v4(p->ips[i]) == is_v4(family_of)) {
					k = i;
					break;
				}
		memcpy(out->addr, p->ips[k], 16);
		out->pod = p;
	} else if (pw_addr_parse(spec, out->addr)) {
		fprintf(stderr, "podwall explain: %s %s: neither NS/POD nor an address\n", what, spec);
		return PW_EXIT_USAGE;
	} else {
		out->pod = pw_ld_pod_by_addr(l, out->addr);
		if (out->pod)
			snprintf(out->name, sizeof(out->name), "%s", out->pod->pod);
	}
	out->sep = ep_by_addr(s, out->addr);
	out->ep = out->pod ? pw_ld_ep_by_name(l, out->pod->pod) : NULL;
	if (!out->ep && out->sep)
		out->ep = pw_ld_ep_by_id(l, out->sep->ep_id);
	return 0;
}

static json_t *side_json(const struct pw_why_side *s)
{
	json_t *o = json_object();
	char buf[64];

	json_object_set_new(o, "name", json_string(s->name));
	json_object_set_new(o, "addr", json_string(pw_ld_addr_str(s->addr, buf, sizeof(buf))));
	json_object_set_new(o, "pod", json_boolean(s->pod != NULL));
	json_object_set_new(o, "local", json_boolean(s->sep != NULL));
	return o;
}

struct be_alt;
static json_t *backends_json(const struct pw_why *w, const struct be_alt *alt, size_t n);
static bool backends_agree(const struct pw_why *w, const struct be_alt *alt, size_t n);

static void print_json(const struct pw_why *w, const struct pw_loaded *l, const char *source,
		       const struct be_alt *alt, size_t n_alt)
{
	json_t *o = json_object(), *steps = json_array();
	uint8_t v = pw_why_verdict(w);
	char buf[256];

	json_object_set_new(o, "from", json_string(w->src.name));
	json_object_set_new(o, "to", json_string(w->dst.name));
	json_object_set_new(o, "port", json_integer(w->port));
	json_object_set_new(o, "protocol", json_string(w->proto == IPPROTO_TCP ? "TCP" :
				w->proto == IPPROTO_UDP ? "UDP" : "SCTP"));
	json_object_set_new(o, "verdict", json_string(v == PW_VERDICT_DROP ? "deny" :
				v == PW_VERDICT_AUDIT ? "audit" : "allow"));
	json_object_set_new(o, "source", json_string(source));
	json_object_set_new(o, "src", side_json(&w->src));
	json_object_set_new(o, "dst", side_json(&w->dst));
	if (w->svc) {
		json_t *sv = json_object();

		json_object_set_new(sv, "service", json_string(w->svc->svc));
		json_object_set_new(sv, "backend", json_string(w->be.name));
		json_object_set_new(sv, "port", json_integer(w->be_port));
		if (n_alt) {   /* every backend of the port, and whether they agree */
			json_object_set_new(sv, "backends", backends_json(w, alt, n_alt));
			json_object_set_new(sv, "backends_agree",
					    json_boolean(backends_agree(w, alt, n_alt)));
		}
		json_object_set_new(o, "service", sv);
	}
	for (size_t i = 0; i < w->res.n_steps; i++) {
		const struct pw_probe_step *st = &w->res.steps[i];
		const struct pw_why_side *dst = w->svc && w->be.name[0] ? &w->be : &w->dst;
		const struct pw_why_side *me = st->dir == PW_DIR_EGRESS ? &w->src : dst;
		const struct pw_ld_rule *r = pw_ld_rule(l, st->rule_id);
		json_t *x = json_object(), *iso = json_array();

		json_object_set_new(x, "direction", json_string(pw_dir_name(st->dir)));
		json_object_set_new(x, "endpoint", json_string(me->name));
		json_object_set_new(x, "program", json_string(st->prog == PW_PROBE_FROM_POD ?
					"from_pod" : st->prog == PW_PROBE_TO_POD ? "to_pod" : "to_remote"));
		json_object_set_new(x, "post_nat", json_boolean(st->post_nat));
		json_object_set_new(x, "verdict", json_string(pw_verdict_name(st->verdict)));
		json_object_set_new(x, "reason", json_string(pw_reason_name(st->reason)));
		json_object_set_new(x, "reason_text", json_string(pw_reason_text(st->reason, st->dir)));
		if (st->has_event) {
			json_object_set_new(x, "peer_identity", json_integer(st->peer_id));
			json_object_set_new(x, "peer", json_string(pw_ld_name_id(l, st->peer_id, buf,
										 sizeof(buf))));
		}
		if (st->has_event && st->verdict == PW_VERDICT_ALLOW && r &&
		    (st->reason == PW_REASON_NONE || st->reason == PW_REASON_DNS_ALLOWED)) {
			json_t *jr = json_object();

			json_object_set_new(jr, "id", json_integer(r->id));
			json_object_set_new(jr, "policy", json_string(r->policy));
			json_object_set_new(jr, "direction", json_string(pw_dir_name(r->dir)));
			json_object_set_new(jr, "index", json_integer(r->index));
			if (r->where)
				json_object_set_new(jr, "where", json_string(r->where));
			json_object_set_new(x, "rule", jr);
		}
		for (size_t k = 0; me->ep && st->dir < PW_DIR_MAX && k < me->ep->n_policies[st->dir]; k++)
			json_array_append_new(iso, json_string(me->ep->policies[st->dir][k]));
		json_object_set_new(x, "isolated_by", iso);
		json_array_append_new(steps, x);
	}
	json_object_set_new(o, "steps", steps);
	pw_opts_print_json(o);
}

/*
 * The Service port a (proto, port) of a ClusterIP goes to, the backend, and
 * the port the packet carries after kube-proxy's DNAT: a named targetPort is
 * resolved per backend pod, and a pod that does not define it is no
 * endpoint of that port. A local backend first (that is where this node's
 * to_pod judges), else the first in name order: `matrix --external-ips`
 * picks the same. Returns 0, PW_EXIT_FOUND (no backend has the port: no
 * connection at all) or PW_EXIT_USAGE.
 */
static int pick_backend(struct pw_why *w, const struct pw_loaded *l, const struct pw_state *s)
{
	const struct pw_ld_svc *sv = w->svc;
	const struct pw_ld_svc_port *sp = NULL;
	size_t k = 0, best = SIZE_MAX;

	for (k = 0; k < sv->n_ports; k++)
		if (sv->ports[k].port == w->port && sv->ports[k].proto == w->proto) {
			sp = &sv->ports[k];
			break;
		}
	w->be_port = sp && sp->target ? sp->target : w->port;
	for (int pass = 0; pass < 2 && best == SIZE_MAX; pass++)
		for (size_t b = 0; b < sv->n_backends && best == SIZE_MAX; b++) {
			const struct pw_ld_pod *p = pw_ld_pod_by_name(l, sv->backends[b]);

			if (sp && sp->target_name && sv->targets && !sv->targets[k * sv->n_backends + b])
				continue;  /* not an endpoint of this port */
			if (pass == 0 && !(p && p->n_ips && ep_by_addr(s, p->ips[0])))
				continue;
			best = b;
		}
	if (sp && sp->target_name) {
		if (!sv->targets) {
			fprintf(stderr, "podwall explain: note: Service %s port %u targets the named "
				"port %s, unknown here (no pod ports in the state file); probing port "
				"%u\n", sv->svc, w->port, sp->target_name, w->be_port);
		} else if (best == SIZE_MAX) {
			fprintf(stderr, "podwall explain: Service %s port %u/%s targets the named port "
				"%s, which none of its %zu backend%s defines: kube-proxy has no endpoint "
				"for it, no connection is made\n", sv->svc, w->port,
				w->proto == IPPROTO_UDP ? "UDP" : w->proto == IPPROTO_SCTP ? "SCTP" : "TCP",
				sp->target_name, sv->n_backends, sv->n_backends == 1 ? "" : "s");
			return PW_EXIT_FOUND;
		} else {
			w->be_port = sv->targets[k * sv->n_backends + best];
		}
	}
	if (best == SIZE_MAX)
		return 0;
	return resolve(NULL, "--to (backend)", sv->backends[best], l, s, w->src.addr, &w->be);
}

/*
 * The Service's other backends of the port (pick_backend's rule: a named
 * targetPort per pod, a pod without it is none), each with the port its
 * packet carries after DNAT: kube-proxy may send a connection to any of
 * them, so each is judged too and the answer says when they differ.
 */
struct be_alt {
	struct pw_why_side     side;
	uint16_t               port;
	int                    dev;     /* index in the probe's eps, or -1: not local */
	struct pw_probe_result res;
};

static size_t other_backends(const struct pw_why *w, const struct pw_loaded *l,
			     const struct pw_state *s, struct be_alt **out)
{
	const struct pw_ld_svc *sv = w->svc;
	const struct pw_ld_svc_port *sp = NULL;
	struct be_alt *v;
	size_t k, n = 0;

	*out = NULL;
	for (k = 0; k < sv->n_ports && !sp; k++)
		if (sv->ports[k].port == w->port && sv->ports[k].proto == w->proto)
			sp = &sv->ports[k];
	k--;   /* the index of sp */
	if (!w->be.name[0] || sv->n_backends < 2 || !(v = calloc(sv->n_backends, sizeof(*v))))
		return 0;
	for (size_t b = 0; b < sv->n_backends; b++) {
		uint16_t port = sp && sp->target ? sp->target : w->port;

		if (!strcmp(sv->backends[b], w->be.name))
			continue;  /* the one judged */
		if (sp && sp->target_name && sv->targets) {
			port = sv->targets[k * sv->n_backends + b];
			if (!port)
				continue;  /* not an endpoint of this port */
		}
		if (!pw_ld_pod_by_name(l, sv->backends[b]) ||
		    resolve(NULL, "--to (backend)", sv->backends[b], l, s, w->src.addr, &v[n].side))
			continue;
		v[n].port = port;
		v[n].dev = -1;
		n++;
	}
	if (!n)
		free(v);
	else
		*out = v;
	return n;
}

static const char *verdict_word(const struct pw_why *w, const struct pw_probe_result *res,
				bool json)
{
	struct pw_why t = *w;
	uint8_t v;

	t.res = *res;
	v = pw_why_verdict(&t);
	return v == PW_VERDICT_DROP ? json ? "deny" : "DENY" : v == PW_VERDICT_AUDIT
	       ? json ? "audit" : "AUDIT" : json ? "allow" : "ALLOW";
}

static bool backends_agree(const struct pw_why *w, const struct be_alt *alt, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(verdict_word(w, &w->res, true), verdict_word(w, &alt[i].res, true)))
			return false;
	return true;
}

static void print_backends_text(const struct pw_why *w, const struct be_alt *alt, size_t n)
{
	bool agree = backends_agree(w, alt, n);

	printf("\nService %s port %u/%s has %zu backends of that port, and their verdicts %s: "
	       "%s:%u %s (judged above)", w->svc->svc, w->port, pw_proto_name(w->proto), n + 1,
	       agree ? "agree" : "DIFFER", w->be.name, w->be_port, verdict_word(w, &w->res, false));
	for (size_t i = 0; i < n; i++)
		printf(", %s:%u %s", alt[i].side.name, alt[i].port, verdict_word(w, &alt[i].res, false));
	printf(agree ? "\n" : "\n(a connection's fate depends on the backend kube-proxy picks; "
	       "explain each with --to NS/POD --port PORT)\n");
}

static json_t *backends_json(const struct pw_why *w, const struct be_alt *alt, size_t n)
{
	json_t *a = json_array();

	json_array_append_new(a, json_pack("{s:s, s:i, s:s, s:b}", "backend", w->be.name, "port",
					   w->be_port, "verdict", verdict_word(w, &w->res, true),
					   "judged", 1));
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:i, s:s, s:b}", "backend",
						   alt[i].side.name, "port", alt[i].port, "verdict",
						   verdict_word(w, &alt[i].res, true), "judged", 0));
	return a;
}

int cmd_explain(int argc, char **argv)
{
	struct xopts o;
	struct pw_cluster *c = NULL;
	struct pw_state state = { 0 };
	struct pw_loaded names = { 0 };
	struct pw_probe *probe = NULL;
	struct pw_why w;
	struct pw_error perr = { 0 };
	struct pw_pins pins;
	struct pw_config cfg = { 0 };
	const struct pw_state_ep **eps = NULL;
	struct be_alt *alt = NULL;
	size_t n_alt = 0;
	char source[PATH_MAX + 128], to_buf[64];
	struct pw_fqdn_entry *learned = NULL;
	size_t n_learned = 0;
	size_t n_eps = 0;
	int src_i = -1, dst_i = -1, err, ret;
	bool pins_open = false;

	ret = parse(argc, argv, &o);
	if (ret)
		return ret == PW_OPTS_HELP ? PW_EXIT_OK : ret;
	memset(&w, 0, sizeof(w));
	w.proto = o.proto;
	w.port = o.port;

	ret = PW_EXIT_SYSTEM;
	if (o.files.n) {
		struct pw_compile_opts copts = { 0 };

		ret = pw_cmd_load("explain", &o.files, &c);
		if (ret)
			goto out;
		ret = PW_EXIT_SYSTEM;
		err = pw_compile(c, &copts, &state, &perr); /* every pod local, as matrix */
		if (err) {
			fprintf(stderr, "podwall explain: %s\n", perr.msg);
			ret = PW_EXIT_USAGE;
			goto out;
		}
		if (pw_loaded_build(&state, c, NULL, false, &names))
			goto out;
		snprintf(source, sizeof(source), "a private copy of %s%s as compiled (every pod "
			 "local, as matrix)", o.files.v[0], o.files.n > 1 ? " and the other -f" : "");
	} else {
		struct pw_map_fds fds;
		struct pw_error why;
		unsigned need = PW_PIN_BIT(PW_MAP_CONFIG) | PW_PIN_BIT(PW_MAP_ENDPOINTS) |
				PW_PIN_BIT(PW_MAP_LOCAL_IPS) | PW_PIN_BIT(PW_MAP_IPCACHE) |
				PW_PIN_BIT(PW_MAP_POLICY) | PW_PIN_BIT(PW_MAP_DNS);

		err = pw_pins_open(o.pin_dir, need, &pins, &why);
		if (err) {
			fprintf(stderr, "podwall explain: %s\n", why.msg);
			ret = err == -ENOENT ? PW_EXIT_FOUND : PW_EXIT_SYSTEM; /* nothing pinned */
			goto out;
		}
		pins_open = true;
		pw_pins_map_fds(&pins, &fds);
		err = pw_sync_read_live(&fds, &cfg, &state, &why);
		if (err) {
			fprintf(stderr, "podwall explain: reading the live maps in %s: %s\n", pins.dir,
				why.msg);
			goto out;
		}
		err = pw_ops_read_state(pins.dir, &names);
		if (err && err != -ENOENT)
			fprintf(stderr, "podwall explain: note: state file of %s unreadable (%s): "
				"numbers, not names\n", pins.dir, strerror(-err));
		else if (err)
			fprintf(stderr, "podwall explain: note: no state file for %s: numbers, not "
				"names\n", pins.dir);
		else if (names.generation != cfg.generation)
			fprintf(stderr, "podwall explain: note: the maps are at generation %u, the "
				"names at %u: they may be out of date\n", cfg.generation,
				names.generation);
		snprintf(source, sizeof(source), "a private copy of the live slot of %s "
			 "(generation %u, mode %s)", pins.dir, cfg.generation,
			 cfg.flags & PW_CFG_AUDIT_ALL ? "audit" : "enforce");
	}
	w.source = source;

	ret = PW_EXIT_USAGE;
	if (resolve(c, "--from", o.from, &names, &state, NULL, &w.src))
		goto out;
	if (o.to_name) {
		uint32_t ids[64];
		size_t n_ids = name_ids_of(&state, o.to_name, ids, 64);

		if (!w.src.sep) {
			fprintf(stderr, "podwall explain: --to-name: %s is not a pod of this node "
				"(names are learned per pod, where its DNS answers pass)\n", o.from);
			goto out;
		}
		err = n_ids ? learned_for(&pins, w.src.sep, ids, n_ids, &learned, &n_learned) : 0;
		if (err) {
			fprintf(stderr, "podwall explain: reading fqdn_learned in %s: %s\n", pins.dir,
				strerror(-err));
			ret = PW_EXIT_SYSTEM;
			goto out;
		}
		if (!n_learned) {
			fprintf(stderr, "podwall explain: %s has not resolved %s: no address learned "
				"from its own DNS answers is live for %s\n", o.from, o.to_name,
				n_ids ? "a domainNames pattern that matches it"
				      : "it (no domainNames pattern in force matches it)");
			ret = PW_EXIT_FOUND;
			goto out;
		}
		pw_ip_format(learned[0].addr, to_buf, sizeof(to_buf));
		o.to = to_buf;
	}
	if (resolve(c, "--to", o.to, &names, &state, w.src.addr, &w.dst))
		goto out;
	if (is_v4(w.src.addr) != is_v4(w.dst.addr)) {
		/* pick the other family of the source if it has one */
		if (w.src.pod)
			resolve(c, "--from", w.src.pod->pod, &names, &state, w.dst.addr, &w.src);
		if (is_v4(w.src.addr) != is_v4(w.dst.addr)) {
			fprintf(stderr, "podwall explain: %s and %s have no address family in "
				"common\n", o.from, o.to);
			goto out;
		}
	}
	w.svc = pw_ld_svc_by_addr(&names, w.dst.addr);
	if (w.svc && (ret = pick_backend(&w, &names, &state)))
		goto out;
	if (w.svc)
		n_alt = other_backends(&w, &names, &state, &alt);
	ret = PW_EXIT_SYSTEM;
	eps = calloc(2 + n_alt, sizeof(*eps));
	if (!eps)
		goto out;
	for (size_t i = 0; i < n_alt; i++)
		if (alt[i].side.sep) {
			alt[i].dev = (int)(2 + i);
			eps[2 + i] = alt[i].side.sep;
		}

	/* eps: [0] the source, [1] the destination (or backend), [2 + i] alt[i]; a
	 * missing one is given again as one present (a device once each) */
	if (w.src.sep) {
		src_i = 0;
		eps[0] = w.src.sep;
	}
	if (w.svc ? w.be.sep != NULL : w.dst.sep != NULL) {
		dst_i = 1;
		eps[1] = w.svc ? w.be.sep : w.dst.sep;
	}
	n_eps = 2 + n_alt;
	for (size_t i = 0; i < n_eps; i++)
		for (size_t j = 0; !eps[i] && j < n_eps; j++)
			eps[i] = eps[j];
	if (!eps[0])
		n_eps = 0;   /* nothing local */

	ret = PW_EXIT_SYSTEM;
	if (pins_open) { /* done with the live maps: the probe moves to its own netns */
		pw_pins_close(&pins);
		pins_open = false;
	}
	err = pw_probe_open(&state, eps, n_eps, cfg.flags, &probe, &perr);
	if (err) {
		fprintf(stderr, "podwall explain: %s\n", perr.msg);
		goto out;
	}
	/* what the pod learned, in the probe's maps: the kernel joins it */
	for (size_t i = 0; i < n_learned && !err; i++)
		err = pw_probe_put_learned(probe, learned[i].ep_id, learned[i].owner,
					   learned[i].addr, learned[i].name_id,
					   learned[i].ttl_left);
	if (err) {
		fprintf(stderr, "podwall explain: loading the learned names: %s\n",
			strerror(-err));
		goto out;
	}
	err = pw_probe_run(probe, src_i, w.src.addr, dst_i, w.dst.addr, o.proto, o.port,
			   w.svc && w.be.name[0] ? w.be.addr : NULL, w.be_port, &w.res);
	for (size_t i = 0; i < n_alt && !err; i++)
		err = pw_probe_run(probe, src_i, w.src.addr, alt[i].dev, w.dst.addr, o.proto,
				   o.port, alt[i].side.addr, alt[i].port, &alt[i].res);
	if (err) {
		fprintf(stderr, "podwall explain: running the probe: %s\n", strerror(-err));
		goto out;
	}
	if (o.to_name && !o.json)
		printf("%s resolved %s to %s (TTL %us left)\n", o.from, o.to_name, o.to,
		       learned[0].ttl_left);
	if (o.json) {
		print_json(&w, &names, source, alt, n_alt);
	} else {
		pw_why_print(stdout, &w, &names, &state);
		if (n_alt)
			print_backends_text(&w, alt, n_alt);
	}
	ret = pw_why_verdict(&w) == PW_VERDICT_DROP ? PW_EXIT_FOUND : PW_EXIT_OK;
	/* --to-name: every other address learned for it, each judged the same way */
	for (size_t i = 1; i < n_learned; i++) {
		if (!memcmp(learned[i].addr, learned[i - 1].addr, 16))
			continue;   /* sorted by address: one judgement each */
		pw_ip_format(learned[i].addr, to_buf, sizeof(to_buf));
		if (resolve(c, "--to", to_buf, &names, &state, w.src.addr, &w.dst) ||
		    is_v4(w.src.addr) != is_v4(w.dst.addr))
			continue;
		memset(&w.res, 0, sizeof(w.res));
		if (pw_probe_run(probe, src_i, w.src.addr, -1, w.dst.addr, o.proto, o.port, NULL,
				 0, &w.res))
			continue;
		if (o.json) {
			print_json(&w, &names, source, NULL, 0);
		} else {
			printf("\n%s resolved %s to %s (TTL %us left)\n", o.from, o.to_name, to_buf,
			       learned[i].ttl_left);
			pw_why_print(stdout, &w, &names, &state);
		}
		if (pw_why_verdict(&w) == PW_VERDICT_DROP)
			ret = PW_EXIT_FOUND;
	}
out:
	free(learned);
	free(eps);
	free(alt);
	pw_probe_close(probe);
	if (pins_open)
		pw_pins_close(&pins);
	pw_loaded_free(&names);
	pw_state_free(&state);
	pw_cluster_free(c);
	return ret;
}
