/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Verdict events in words (events.h).
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ops/events.h"

/* The no-name drop's words (abi.h PW_EVENT_NO_NAME). */
static const char no_name_text[] =
	"no lookup of an allowed name returned this address for this pod";

static bool ev_learned(const struct pw_event *e)
{
	return e->flags & PW_EVENT_NAME_LEARNED;
}

void pw_ev_names(const struct pw_event *e, const struct pw_loaded *l, struct pw_ev_names *n)
{
	const struct pw_ld_ep *ep = pw_ld_ep_by_id(l, e->ep_id);
	/* a learned address: src is the DNS server, dst the address; the identities are not theirs */
	bool by_addr = ev_learned(e);

	if (!ep)
		ep = pw_ld_ep_by_ifindex(l, e->ifindex);
	pw_ld_name_addr(l, e->saddr, by_addr ? 0 : e->src_identity, n->src, sizeof(n->src));
	pw_ld_name_addr(l, e->daddr, by_addr ? 0 : e->dst_identity, n->dst, sizeof(n->dst));
	snprintf(n->ep, sizeof(n->ep), "%s", ep ? ep->pod : "");
}

static bool in_ns(const char *name, const char *ns)
{
	size_t k = strlen(ns);

	return !strncmp(name, ns, k) && name[k] == '/';
}

bool pw_ev_match(const struct pw_event *e, const struct pw_ev_names *n,
		 const struct pw_ev_filter *f)
{
	if (!f)
		return true;
	if (f->verdict && e->verdict != f->verdict)
		return false;
	if (f->pod && strcmp(n->src, f->pod) && strcmp(n->dst, f->pod) && strcmp(n->ep, f->pod))
		return false;
	if (f->ns && !in_ns(n->src, f->ns) && !in_ns(n->dst, f->ns) && !in_ns(n->ep, f->ns))
		return false;
	return true;
}

uint64_t pw_ev_wall_ns(uint64_t mono_ns)
{
	struct timespec m, r;
	uint64_t mn, rn;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	mn = (uint64_t)m.tv_sec * 1000000000ull + (uint64_t)m.tv_nsec;
	rn = (uint64_t)r.tv_sec * 1000000000ull + (uint64_t)r.tv_nsec;
	return mono_ns <= mn ? rn - (mn - mono_ns) : rn;
}

static bool has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132;
}

/* the rule that allowed it, if the verdict came from a rule */
static const struct pw_ld_rule *ev_rule(const struct pw_event *e, const struct pw_loaded *l)
{
	/* a ClusterNetworkPolicy Deny's drop (or would-drop) carries that rule */
	if (e->reason == PW_REASON_TIER_DENIED)
		return pw_ld_rule(l, e->rule_id);
	if (e->verdict != PW_VERDICT_ALLOW)
		return NULL;
	if (e->reason != PW_REASON_NONE && e->reason != PW_REASON_DNS_ALLOWED &&
	    e->reason != PW_REASON_CT_ESTABLISHED && e->reason != PW_REASON_CT_REPLY)
		return NULL;
	return pw_ld_rule(l, e->rule_id);
}

/* the policies that isolate the endpoint in the event's direction (drops) */
static const struct pw_ld_ep *ev_isolating(const struct pw_event *e, const struct pw_loaded *l)
{
	const struct pw_ld_ep *ep;

	switch (e->reason) {
	case PW_REASON_POLICY_DENIED:
	case PW_REASON_DNS_DENIED:
	case PW_REASON_REVOKED:
	case PW_REASON_FRAG_UNKNOWN:
		break;
	default:
		return NULL;
	}
	ep = pw_ld_ep_by_id(l, e->ep_id);
	return ep && e->dir < PW_DIR_MAX && ep->n_policies[e->dir] ? ep : NULL;
}

static void fmt_time(uint64_t wall_ns, char *buf, size_t len, bool iso)
{
	time_t t = (time_t)(wall_ns / 1000000000ull);
	unsigned ms = (unsigned)(wall_ns / 1000000ull % 1000);
	struct tm tm;

	if (iso) {
		gmtime_r(&t, &tm);
		snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	} else {
		localtime_r(&t, &tm);
		snprintf(buf, len, "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	}
}

static void print_dns_name(FILE *f, const char *s)
{
	fputc('"', f);
	for (size_t i = 0; i < PW_DNS_NAME_MAX && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* The domainNames pattern of a name id, if the loaded state describes it. */
static const char *ev_pattern(const struct pw_event *e, const struct pw_loaded *l)
{
	const struct pw_ld_id *d = pw_ld_id(l, e->dst_identity);

	return d && d->desc && d->desc[0] ? d->desc : NULL;
}

/*
 * A learned address in words:
 *   12:00:01.250 app/a learned "www.example.com" -> 198.19.101.10 ttl 5s
 *   (name id 16777301; answer of svc/kube-system/kube-dns)
 */
static void print_learned_text(FILE *f, const struct pw_event *e, const struct pw_loaded *l,
			       const struct pw_ev_names *n, const char *ts)
{
	const char *pattern = ev_pattern(e, l);
	char ep[32];

	snprintf(ep, sizeof(ep), "ep %u", e->ep_id);
	fprintf(f, "%s %s learned ", ts, n->ep[0] ? n->ep : ep);
	print_dns_name(f, (e->flags & PW_EVENT_HAS_DNS) ? e->dns_name : "");
	fprintf(f, " -> %s ttl %us (", n->dst, e->ttl_s);
	if (pattern)
		fprintf(f, "%s, ", pattern);
	fprintf(f, "name id %u", e->dst_identity);
	if (e->rule_id > 1)
		fprintf(f, " and %u more", e->rule_id - 1);
	fprintf(f, "; answer of %s)\n", n->src);
}

void pw_ev_print_text(FILE *f, const struct pw_event *e, const struct pw_loaded *l,
		      const struct pw_ev_names *n)
{
	const struct pw_ld_rule *rule = ev_rule(e, l);
	const struct pw_ld_ep *iso = ev_isolating(e, l);
	char ts[48];

	fmt_time(pw_ev_wall_ns(e->ts_ns), ts, sizeof(ts), false);
	if (ev_learned(e)) {
		print_learned_text(f, e, l, n, ts);
		return;
	}
	fprintf(f, "%s %s -> %s %s", ts, n->src, n->dst, pw_proto_name(e->proto));
	if (has_ports(e->proto))
		fprintf(f, "/%u", ntohs(e->dport));
	fprintf(f, " %s", pw_verdict_upper(e->verdict));
	if (e->flags & PW_EVENT_HAS_DNS) {
		fputs(" dns ", f);
		print_dns_name(f, e->dns_name);
	}
	fprintf(f, " (%s%s", e->verdict == PW_VERDICT_AUDIT ? "would drop: " : "",
		pw_reason_text(e->reason, e->dir));
	if (rule && rule->tier)
		fprintf(f, "; %s", rule->policy);  /* the tier, policy, priority, rule */
	else if (rule)
		fprintf(f, "; rule %s %s[%u]", rule->policy, pw_dir_name(rule->dir), rule->index);
	if (iso) {
		fprintf(f, "; %s isolated by ", pw_dir_name(e->dir));
		for (size_t i = 0; i < iso->n_policies[e->dir]; i++)
			fprintf(f, "%s%s", i ? ", " : "", iso->policies[e->dir][i]);
	}
	if (e->flags & PW_EVENT_NO_NAME)
		fprintf(f, "; %s", no_name_text);
	fputs(")\n", f);
}

json_t *pw_rule_json(const struct pw_ld_rule *rule)
{
	json_t *r = json_object();

	json_object_set_new(r, "id", json_integer(rule->id));
	json_object_set_new(r, "policy", json_string(rule->policy));
	json_object_set_new(r, "direction", json_string(pw_dir_name(rule->dir)));
	json_object_set_new(r, "index", json_integer(rule->index));
	json_object_set_new(r, "tier", json_string(pw_tier_name(rule->tier)));
	if (!rule->tier)
		return r;
	json_object_set_new(r, "cluster_policy", json_string(rule->cluster_policy));
	json_object_set_new(r, "priority", json_integer(rule->priority));
	json_object_set_new(r, "rule_name", json_string(rule->rule_name));
	json_object_set_new(r, "action", json_string(pw_action_name(rule->action)));
	return r;
}

static json_t *side_json(const uint8_t a[16], uint16_t port_be, uint8_t proto, uint32_t id,
			 const char *name, const struct pw_loaded *l)
{
	json_t *o = json_object();
	char buf[64];
	const struct pw_ld_pod *p = pw_ld_pod_by_addr(l, a);

	json_object_set_new(o, "addr", json_string(pw_ld_addr_str(a, buf, sizeof(buf))));
	if (has_ports(proto))
		json_object_set_new(o, "port", json_integer(ntohs(port_be)));
	json_object_set_new(o, "identity", json_integer(id));
	json_object_set_new(o, "name", json_string(name));
	if (p)
		json_object_set_new(o, "pod", json_string(p->pod));
	return o;
}

/* The event's DNS name as a JSON string (a name that is not UTF-8 is "(unprintable)"). */
static void json_dns_name(json_t *o, const char *key, const struct pw_event *e)
{
	char name[PW_DNS_NAME_MAX + 1];

	memcpy(name, e->dns_name, PW_DNS_NAME_MAX);
	name[PW_DNS_NAME_MAX] = 0;
	json_object_set_new(o, key, json_string(name));
	if (!json_object_get(o, key))
		json_object_set_new(o, key, json_string("(unprintable)"));
}

static void print_json_line(FILE *f, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	if (s) {
		fprintf(f, "%s\n", s);
		free(s);
	}
	json_decref(o);
}

/*
 * A learned address as one object: {"type":"learned", "endpoint", "ep_id",
 * "name", "name_id", "pattern" (when known), "patterns" (how many matched),
 * "addr", "ttl", "server": {"addr", "name"}}.
 */
static void print_learned_json(FILE *f, const struct pw_event *e, const struct pw_loaded *l,
			       const struct pw_ev_names *n, const char *ts)
{
	json_t *o = json_object(), *srv = json_object();
	const char *pattern = ev_pattern(e, l);
	char buf[64];

	json_object_set_new(o, "type", json_string("learned"));
	json_object_set_new(o, "time", json_string(ts));
	json_object_set_new(o, "ts_ns", json_integer((json_int_t)e->ts_ns));
	if (n->ep[0])
		json_object_set_new(o, "endpoint", json_string(n->ep));
	json_object_set_new(o, "ep_id", json_integer(e->ep_id));
	if (e->flags & PW_EVENT_HAS_DNS)
		json_dns_name(o, "name", e);
	json_object_set_new(o, "name_id", json_integer(e->dst_identity));
	if (pattern)
		json_object_set_new(o, "pattern", json_string(pattern));
	json_object_set_new(o, "patterns", json_integer(e->rule_id));
	json_object_set_new(o, "addr", json_string(pw_ld_addr_str(e->daddr, buf, sizeof(buf))));
	json_object_set_new(o, "ttl", json_integer(e->ttl_s));
	json_object_set_new(srv, "addr", json_string(pw_ld_addr_str(e->saddr, buf, sizeof(buf))));
	json_object_set_new(srv, "name", json_string(n->src));
	json_object_set_new(o, "server", srv);
	if (e->suppressed)
		json_object_set_new(o, "suppressed_before", json_integer(e->suppressed));
	print_json_line(f, o);
}

void pw_ev_print_json(FILE *f, const struct pw_event *e, const struct pw_loaded *l,
		      const struct pw_ev_names *n)
{
	const struct pw_ld_rule *rule = ev_rule(e, l);
	const struct pw_ld_ep *iso = ev_isolating(e, l);
	json_t *o, *pol;
	uint64_t wall = pw_ev_wall_ns(e->ts_ns);
	char ts[40];

	fmt_time(wall, ts, sizeof(ts), true);
	if (ev_learned(e)) {
		print_learned_json(f, e, l, n, ts);
		return;
	}
	o = json_object();
	pol = json_array();
	json_object_set_new(o, "type", json_string("event"));
	json_object_set_new(o, "time", json_string(ts));
	json_object_set_new(o, "ts_ns", json_integer((json_int_t)e->ts_ns));
	json_object_set_new(o, "direction", json_string(pw_dir_name(e->dir)));
	json_object_set_new(o, "verdict", json_string(pw_verdict_name(e->verdict)));
	json_object_set_new(o, "reason", json_string(pw_reason_name(e->reason)));
	json_object_set_new(o, "reason_text", json_string(pw_reason_text(e->reason, e->dir)));
	json_object_set_new(o, "protocol", json_string(pw_proto_name(e->proto)));
	json_object_set_new(o, "src", side_json(e->saddr, e->sport, e->proto, e->src_identity,
						n->src, l));
	json_object_set_new(o, "dst", side_json(e->daddr, e->dport, e->proto, e->dst_identity,
						n->dst, l));
	if (n->ep[0])
		json_object_set_new(o, "endpoint", json_string(n->ep));
	json_object_set_new(o, "ep_id", json_integer(e->ep_id));
	json_object_set_new(o, "ifindex", json_integer(e->ifindex));
	if (rule) {
		json_object_set_new(o, "rule", pw_rule_json(rule));
		json_array_append_new(pol, json_string(rule->policy));
	}
	for (size_t i = 0; iso && i < iso->n_policies[e->dir]; i++)
		json_array_append_new(pol, json_string(iso->policies[e->dir][i]));
	json_object_set_new(o, "policies", pol);
	if (e->flags & PW_EVENT_HAS_DNS)
		json_dns_name(o, "dns", e);
	if (e->flags & PW_EVENT_NO_NAME)
		json_object_set_new(o, "fqdn", json_string(no_name_text));
	if (e->suppressed)
		json_object_set_new(o, "suppressed_before", json_integer(e->suppressed));
	print_json_line(f, o);
}
