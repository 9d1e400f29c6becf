/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * why: a verdict's chain of reasons in words (why.h). No syscalls.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "ops/why.h"

#define MAX_RULES_SHOWN 12
#define MAX_ITEMS_SHOWN 6

uint8_t pw_why_verdict(const struct pw_why *w)
{
	if (!w->res.allowed)
		return PW_VERDICT_DROP;
	for (size_t i = 0; i < w->res.n_steps; i++)
		if (w->res.steps[i].verdict == PW_VERDICT_AUDIT)
			return PW_VERDICT_AUDIT;
	return PW_VERDICT_ALLOW;
}

void pw_why_port_str(const struct pw_policy_key *k, char *buf, size_t len)
{
	uint16_t port = ntohs(k->port);

	if (k->prefixlen <= PW_POL_PREFIX_ANY_PROTO) {
		snprintf(buf, len, "any protocol");
	} else if (k->prefixlen <= PW_POL_PREFIX_ANY_PORT) {
		snprintf(buf, len, "%s (any port)", pw_proto_name(k->proto));
	} else if (k->prefixlen >= PW_POL_PREFIX_FULL) {
		snprintf(buf, len, "%s/%u", pw_proto_name(k->proto), port);
	} else {
		unsigned bits = k->prefixlen - PW_POL_PREFIX_ANY_PORT;
		uint16_t mask = (uint16_t)(0xffffu << (16 - bits));

		snprintf(buf, len, "%s/%u-%u", pw_proto_name(k->proto), port & mask,
			 (port & mask) | (uint16_t)~mask);
	}
}

struct rule_sum {
	uint32_t rule_id;
	uint32_t peers[MAX_ITEMS_SHOWN];
	size_t   n_peers, more_peers;
	char     ports[MAX_ITEMS_SHOWN][40];
	size_t   n_ports, more_ports;
};

static void sum_add(struct rule_sum *r, const struct pw_state_pol *e)
{
	char port[40];
	bool seen = false;

	for (size_t i = 0; i < r->n_peers && !seen; i++)
		seen = r->peers[i] == e->key.peer_id;
	if (!seen) {
		if (r->n_peers < MAX_ITEMS_SHOWN)
			r->peers[r->n_peers++] = e->key.peer_id;
		else
			r->more_peers++;
	}
	pw_why_port_str(&e->key, port, sizeof(port));
	seen = false;
	for (size_t i = 0; i < r->n_ports && !seen; i++)
		seen = !strcmp(r->ports[i], port);
	if (!seen) {
		if (r->n_ports < MAX_ITEMS_SHOWN)
			snprintf(r->ports[r->n_ports++], sizeof(r->ports[0]), "%s", port);
		else
			r->more_ports++;
	}
}

static void print_rule_name(FILE *f, const struct pw_loaded *l, uint32_t rule_id)
{
	const struct pw_ld_rule *r = pw_ld_rule(l, rule_id);

	if (r && r->tier) {
		/* "Admin tier policy NAME priority P rule RULE (Action)" */
		fprintf(f, "%s", r->policy);
	} else if (r) {
		fprintf(f, "%s %s[%u]", r->policy, pw_dir_name(r->dir), r->index);
		if (r->where)
			fprintf(f, " (%s)", r->where);
	} else {
		fprintf(f, "rule #%u", rule_id);
	}
}

void pw_why_rules(FILE *f, const struct pw_state *s, const struct pw_loaded *l, uint32_t ep_id,
		  uint8_t dir, const char *indent)
{
	struct rule_sum sums[MAX_RULES_SHOWN];
	size_t n = 0, more = 0;

	memset(sums, 0, sizeof(sums));
	for (size_t i = 0; s && i < s->n_pol; i++) {
		const struct pw_state_pol *e = &s->pol[i];
		struct rule_sum *r = NULL;

		if (e->key.ep_id != ep_id || e->key.dir != dir)
			continue;
		for (size_t k = 0; k < n && !r; k++)
			if (sums[k].rule_id == e->val.rule_id)
				r = &sums[k];
		if (!r) {
			if (n == MAX_RULES_SHOWN) {
				more++;
				continue;
			}
			r = &sums[n++];
			r->rule_id = e->val.rule_id;
		}
		sum_add(r, e);
	}
	if (!n) {
		fprintf(f, "%sno %s rule selects it: nothing is allowed %s\n", indent,
			pw_dir_name(dir), dir == PW_DIR_EGRESS ? "out" : "in");
		return;
	}
	for (size_t k = 0; k < n; k++) {
		const struct rule_sum *r = &sums[k];
		char buf[256];

		fprintf(f, "%s", indent);
		print_rule_name(f, l, r->rule_id);
		fprintf(f, ": ");
		for (size_t i = 0; i < r->n_ports; i++)
			fprintf(f, "%s%s", i ? ", " : "", r->ports[i]);
		if (r->more_ports)
			fprintf(f, " and %zu more", r->more_ports);
		fprintf(f, " %s ", dir == PW_DIR_EGRESS ? "to" : "from");
		for (size_t i = 0; i < r->n_peers; i++)
			fprintf(f, "%s[%s]", i ? ", " : "",
				pw_ld_name_id(l, r->peers[i], buf, sizeof(buf)));
		if (r->more_peers)
			fprintf(f, " and %zu more identities", r->more_peers);
		fputc('\n', f);
	}
	if (more)
		fprintf(f, "%s(and entries of more rules)\n", indent);
}

static const char *prog_name(const struct pw_probe_step *s)
{
	switch (s->prog) {
	case PW_PROBE_FROM_POD:  return "from_pod";
	case PW_PROBE_TO_POD:    return s->post_nat ? "to_pod, past NAT" : "to_pod";
	case PW_PROBE_TO_REMOTE: return "to_remote, past NAT";
	default:                 return "?";
	}
}

/* the isolating policies of a side for dir */
static void print_isolation(FILE *f, const struct pw_why_side *side, uint8_t dir)
{
	uint32_t bit = dir == PW_DIR_EGRESS ? PW_EP_ISOLATED_EGRESS : PW_EP_ISOLATED_INGRESS;

	if (side->ep && side->ep->n_policies[dir]) {
		fprintf(f, "     isolated for %s by ", pw_dir_name(dir));
		for (size_t i = 0; i < side->ep->n_policies[dir]; i++)
			fprintf(f, "%s%s", i ? ", " : "", side->ep->policies[dir][i]);
		fputc('\n', f);
	} else if (side->sep && (side->sep->flags & bit)) {
		fprintf(f, "     isolated for %s (by %u polic%s)\n", pw_dir_name(dir),
			side->sep->n_policies[dir], side->sep->n_policies[dir] == 1 ? "y" : "ies");
	} else if (side->sep) {
		fprintf(f, "     no policy selects it for %s: not isolated\n", pw_dir_name(dir));
	}
	if (side->sep && (side->sep->flags & (dir == PW_DIR_EGRESS ? PW_EP_TIERED_EGRESS
							      : PW_EP_TIERED_INGRESS)))
		fprintf(f, "     ClusterNetworkPolicy rules select it for %s (Admin tier first, "
			"Baseline last)\n", pw_dir_name(dir));
}

static void print_side_not_judged(FILE *f, int num, const struct pw_why_side *side, uint8_t dir,
				  bool reached)
{
	fprintf(f, "  %d. %s of %s: ", num, pw_dir_name(dir), side->name);
	if (!reached)
		fprintf(f, "not reached (dropped before)\n");
	else if (side->pod)
		fprintf(f, "not judged here: not an endpoint of this node (its node's agent "
			"judges it)\n");
	else
		fprintf(f, "nothing to judge: outside the cluster\n");
}

static void print_step(FILE *f, int num, const struct pw_why *w, const struct pw_probe_step *st,
		       const struct pw_loaded *l, const struct pw_state *s)
{
	const struct pw_why_side *dst = w->svc && w->be.name[0] ? &w->be : &w->dst;
	const struct pw_why_side *me = st->dir == PW_DIR_EGRESS ? &w->src : dst;
	const struct pw_why_side *peer = st->dir == PW_DIR_EGRESS
		? (st->post_nat || st->prog != PW_PROBE_FROM_POD ? dst : &w->dst) : &w->src;
	char pbuf[256];
	bool by_rule = st->has_event && st->verdict == PW_VERDICT_ALLOW &&
		       (st->reason == PW_REASON_NONE ||
			(st->reason == PW_REASON_DNS_ALLOWED && pw_ld_rule(l, st->rule_id) &&
			 !(me->sep && (me->sep->dns_flags & PW_DNS_AUTO))));

	fprintf(f, "  %d. %s of %s (%s): %s", num, pw_dir_name(st->dir), me->name, prog_name(st),
		pw_verdict_upper(st->verdict));
	if (st->verdict == PW_VERDICT_AUDIT)
		fprintf(f, " (would drop: %s; passed in audit mode)\n",
			pw_reason_text(st->reason, st->dir));
	else
		fprintf(f, " (%s)\n", pw_reason_text(st->reason, st->dir));
	if (st->reason == PW_REASON_DEFERRED) {
		fprintf(f, "     the destination is a Service address: the egress verdict is taken "
			"after kube-proxy's NAT, on the backend\n");
		return;
	}
	print_isolation(f, me, st->dir);
	if (st->has_event && st->peer_id)
		fprintf(f, "     peer %s is %s\n", peer->name,
			pw_ld_name_id(l, st->peer_id, pbuf, sizeof(pbuf)));
	if (by_rule) {
		fprintf(f, "     allowed by rule ");
		print_rule_name(f, l, st->rule_id);
		fputc('\n', f);
	} else if (st->has_event && st->reason == PW_REASON_TIER_DENIED) {
		fprintf(f, "     denied by ");
		print_rule_name(f, l, st->rule_id);
		fputc('\n', f);
	} else if (st->reason == PW_REASON_DNS_ALLOWED) {
		fprintf(f, "     allowed as DNS to the cluster DNS (--dns auto)\n");
	}
	if (st->verdict != PW_VERDICT_ALLOW && me->sep &&
	    (st->reason == PW_REASON_POLICY_DENIED || st->reason == PW_REASON_DNS_DENIED)) {
		fprintf(f, "     no rule allows %s/%u; the %s rules of %s are:\n",
			pw_proto_name(w->proto), w->svc ? w->be_port : w->port,
			pw_dir_name(st->dir), me->name);
		pw_why_rules(f, s, l, me->sep->ep_id, st->dir, "       ");
		if (st->reason == PW_REASON_DNS_DENIED)
			fprintf(f, "     fix: allow egress to the cluster DNS pods on UDP/53 and TCP/53, "
				"e.g. a rule with namespaceSelector kubernetes.io/metadata.name: "
				"kube-system AND podSelector k8s-app: kube-dns in one peer (or "
				"run the agent with --dns auto)\n");
	}
}

void pw_why_print(FILE *f, const struct pw_why *w, const struct pw_loaded *l,
		  const struct pw_state *s)
{
	uint8_t v = pw_why_verdict(w);
	const struct pw_probe_result *r = &w->res;
	bool seen_dir[PW_DIR_MAX] = { false, false };
	int num = 0;

	fprintf(f, "%s -> %s %s/%u: %s\n", w->src.name, w->dst.name, pw_proto_name(w->proto),
		w->port, v == PW_VERDICT_DROP ? "DENY" : v == PW_VERDICT_AUDIT ?
		"AUDIT (would be denied; passes in audit mode)" : "ALLOW");
	if (w->svc)
		fprintf(f, "  %s is the ClusterIP of Service %s: kube-proxy sends it to %s port %u\n",
			w->dst.name, w->svc->svc, w->be.name[0] ? w->be.name : "(no backend)",
			w->be_port);

	if (!r->ran_from) {
		print_side_not_judged(f, ++num, &w->src, PW_DIR_EGRESS, true);
		seen_dir[PW_DIR_EGRESS] = true;
	}
	for (size_t i = 0; i < r->n_steps; i++) {
		const struct pw_probe_step *st = &r->steps[i];

		if (st->dir < PW_DIR_MAX)
			seen_dir[st->dir] = true;
		print_step(f, ++num, w, st, l, s);
	}
	if (!seen_dir[PW_DIR_INGRESS]) {
		print_side_not_judged(f, ++num, w->svc && w->be.name[0] ? &w->be : &w->dst,
				      PW_DIR_INGRESS, r->allowed);
	}
	fprintf(f, "verdict from the kernel: the packet ran through ");
	{
		const char *sep = "";

		if (r->ran_from) {
			fprintf(f, "from_pod");
			sep = ", ";
		}
		if (r->ran_to) {
			fprintf(f, "%sto_pod", sep);
			sep = ", ";
		}
		if (r->ran_remote) {
			fprintf(f, "%sto_remote", sep);
			sep = ", ";
		}
		if (!*sep)
			fprintf(f, "no program (neither side is a local endpoint)");
	}
	fprintf(f, " with BPF_PROG_TEST_RUN over %s\n", w->source ? w->source : "a private copy");
}
