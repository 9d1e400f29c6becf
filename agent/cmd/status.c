// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * podwall status [-o json] [--pin-dir P]
 *
 * What the kernel holds now, read from the pinned maps (nothing is loaded
 * or changed) and named with the loaded-state file: the endpoints with
 * identity, isolation per direction, audit mode and DNS state and counters;
 * every map's fill against its capacity (raw: both slots, and for ipcache,
 * policy and their LPM halves the live slot's share); the policy set in
 * force counted logically (rules and ipcache entries of the live slot over
 * both halves, without the policy summaries, which are lookup hints);
 * policy generation, active slot and agent mode; the packet counters by
 * direction, verdict and reason.
 * Exit: 0, 1 nothing is pinned there, 2 usage, 3 system.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "ops/events.h"
#include "ops/loaded.h"
#include "ops/pins.h"
#include "ops/statefile.h"
#include "state.h"


struct st_ep {
	uint32_t            ifindex;
	struct pw_endpoint  ep;
	struct pw_dns       dns;
	bool                has_dns;
	const struct pw_ld_ep *name;
};

static int ep_cmp(const void *a, const void *b)
{
	const struct st_ep *x = a, *y = b;
	const char *nx = x->name ? x->name->pod : "~", *ny = y->name ? y->name->pod : "~";
	int r = strcmp(nx, ny);

	return r ? r : (x->ifindex > y->ifindex) - (x->ifindex < y->ifindex);
}

static int read_eps(const struct pw_pins *p, const struct pw_loaded *l, struct st_ep **out,
		    size_t *n)
{
	int fd = p->fd[PW_MAP_ENDPOINTS];
	struct st_ep *v = NULL;
	size_t cap = 0;
	uint32_t key, next, *prev = NULL;

	*n = 0;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct st_ep *e;

		key = next;
		prev = &key;
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct st_ep *nv = realloc(v, nc * sizeof(*v));

			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			cap = nc;
		}
		e = &v[*n];
		memset(e, 0, sizeof(*e));
		e->ifindex = key;
		if (bpf_map_lookup_elem(fd, &key, &e->ep))
			continue; /* gone meanwhile */
		if (p->fd[PW_MAP_DNS] >= 0 &&
		    !bpf_map_lookup_elem(p->fd[PW_MAP_DNS], &e->ep.ep_id, &e->dns))
			e->has_dns = true;
		e->name = pw_ld_ep_by_ifindex(l, key);
		if (e->name && e->name->ep_id != e->ep.ep_id)
			e->name = NULL;
		(*n)++;
	}
	if (*n > 1)
		qsort(v, *n, sizeof(*v), ep_cmp);
	*out = v;
	return 0;
}

static const char *dns_state(const struct st_ep *e, uint32_t slot, char *buf, size_t len)
{
	uint32_t f = e->has_dns ? e->dns.flags[slot & 1] : 0;
	uint32_t ef = e->ep.flags[slot & 1];

	/* the compiler judged DNS on the compiled state (build_dns): a pod no
	 * NetworkPolicy isolates may still have a tier Deny over its DNS */
	if (!(ef & (PW_EP_ISOLATED_EGRESS | PW_EP_TIERED_EGRESS)))
		snprintf(buf, len, "open");
	else if (f & PW_DNS_AUTO)
		snprintf(buf, len, "auto");
	else if ((f & PW_DNS_POLICY_UDP) && (f & PW_DNS_POLICY_TCP))
		snprintf(buf, len, "udp+tcp");
	else if (f & PW_DNS_POLICY_UDP)
		snprintf(buf, len, "udp-only");
	else if (f & PW_DNS_POLICY_TCP)
		snprintf(buf, len, "tcp-only");
	else
		snprintf(buf, len, "DENIED");
	return buf;
}

static const char *ep_addr(const struct pw_endpoint *ep, uint32_t slot, char *buf, size_t len)
{
	uint32_t f = ep->flags[slot & 1];

	if (f & PW_EP_HAS_V4)
		return pw_ld_addr_str(ep->ip4, buf, len);
	if (f & PW_EP_HAS_V6)
		return pw_ld_addr_str(ep->ip6, buf, len);
	snprintf(buf, len, "-");
	return buf;
}

static const char *map_type_name(uint32_t t)
{
	switch (t) {
	case BPF_MAP_TYPE_HASH:          return "hash";
	case BPF_MAP_TYPE_ARRAY:         return "array";
	case BPF_MAP_TYPE_PERCPU_ARRAY:  return "percpu_array";
	case BPF_MAP_TYPE_LPM_TRIE:      return "lpm_trie";
	case BPF_MAP_TYPE_LRU_HASH:      return "lru_hash";
	case BPF_MAP_TYPE_RINGBUF:       return "ringbuf";
	default:                         return "other";
	}
}

/* The policy set in force, counted logically (pins.h: pw_pins_live_count). */
static json_t *live_json(const struct pw_live_count *l, bool split)
{
	json_t *o = json_object(), *by = json_object();

	json_object_set_new(o, "slot", json_integer(l->slot));
	json_object_set_new(o, "generation", json_integer(l->generation));
	json_object_set_new(o, "policy_rules",
			    json_integer((json_int_t)(l->policy[0] + l->policy[1])));
	json_object_set_new(o, "ipcache_entries",
			    json_integer((json_int_t)(l->ipcache[0] + l->ipcache[1])));
	/* where they live; an older podwall's maps have no LPM halves */
	json_object_set_new(by, "policy", json_integer((json_int_t)l->policy[0]));
	json_object_set_new(by, "ipcache", json_integer((json_int_t)l->ipcache[0]));
	if (split) {
		json_object_set_new(by, "policy_lpm", json_integer((json_int_t)l->policy[1]));
		json_object_set_new(by, "ipcache_lpm", json_integer((json_int_t)l->ipcache[1]));
	}
	json_object_set_new(o, "by_map", by);
	return o;
}

enum { O_OUTPUT = 1, O_PIN_DIR };

static const struct pw_opt status_opts_table[] = {
	PW_OPT_OUTPUT(O_OUTPUT),
	{ O_PIN_DIR, 0, "pin-dir", "P", "the pin dir (default: this network namespace's)", NULL },
	{ 0 },
};

const struct pw_cmd_doc pw_doc_status = {
	"status", "[-o text|json] [--pin-dir P]",
	"endpoints, isolation, DNS, map fill, rules in force, generation, mode and counters",
	status_opts_table,
};

struct status_opts {
	bool        json;
	const char *pin_dir;
};

static int status_opt(void *ctx, const struct pw_opt *o, const char *val)
{
	struct status_opts *so = ctx;

	if (!o)
		return pw_opts_bad(&pw_doc_status, "unexpected argument '%s'", val);
	if (o->id == O_OUTPUT)
		return pw_opts_output(&pw_doc_status, val, &so->json);
	so->pin_dir = val;
	return 0;
}

/* ------------------------------------------------------------ learned names */

/* The names learned from DNS answers (abi.h "domain names"): counters and live entries. */
struct st_names {
	uint64_t stats[PW_FQDN_STAT_MAX];
	struct pw_fqdn_entry *e;
	size_t n;
};

static const char *const fqdn_stat_names[PW_FQDN_STAT_MAX] = {
	[PW_FQDN_QUERIES]           = "queries",
	[PW_FQDN_ANSWERS_LEARNED]   = "answers_learned",
	[PW_FQDN_ANSWERS_NO_NAME]   = "answers_no_name",
	[PW_FQDN_ANSWERS_MALFORMED] = "answers_malformed",
	[PW_FQDN_ANSWERS_FORGED]    = "answers_forged",
	[PW_FQDN_ANSWERS_SKIPPED]   = "answers_skipped",
	[PW_FQDN_ADDRS_LEARNED]     = "addresses_learned",
	[PW_FQDN_RECORDS_OVER]      = "records_over_bound",
	[PW_FQDN_EVICTED]           = "evicted",
	[PW_FQDN_EXPIRED]           = "expired",
};

static uint32_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_sec;
}

/* The endpoint an entry belongs to: same ep_id and the address it learned under. */
static const struct st_ep *names_owner(const struct st_ep *eps, size_t n_eps,
				       const struct pw_fqdn_entry *x, uint32_t slot)
{
	for (size_t i = 0; i < n_eps; i++) {
		const struct pw_endpoint *ep = &eps[i].ep;
		const uint8_t *own = (ep->flags[slot & 1] & PW_EP_HAS_V4) ? ep->ip4 : ep->ip6;

		if (ep->ep_id == x->ep_id)
			return memcmp(own, x->owner, 16) ? NULL : &eps[i];
	}
	return NULL;
}

static void read_names(const struct pw_pins *p, struct st_names *nm)
{
	if (pw_pins_fqdn_stats(p, nm->stats))
		memset(nm->stats, 0, sizeof(nm->stats));
	if (pw_pins_fqdn_learned(p, mono_s(), &nm->e, &nm->n))
		nm->n = 0;
}

static bool names_any(const struct st_names *nm)
{
	for (int i = 0; i < PW_FQDN_STAT_MAX; i++)
		if (nm->stats[i])
			return true;
	return nm->n > 0;
}

/* ------------------------------------------------------------ gather */

/* What status shows, read once from the pins and the state file. */
struct status {
	struct pw_pins        pins;
	bool                  pins_open;
	struct pw_config      cfg;
	bool                  audit_all;
	char                  state_path[PATH_MAX];
	struct pw_loaded      names;
	bool                  have_names;
	int                   serr;      /* why the state file is not there */
	struct st_ep         *eps;
	size_t                n_eps, n_audit;
	struct pw_counter    *ctr;       /* PW_COUNTERS_MAX, summed over CPUs */
	struct pw_map_fill    fill[PW_MAP_MAX];
	struct pw_live_count  live;
	int                   lerr;      /* the live slot is unreadable: why */
	struct pw_error       lwhy;
	uint64_t              tiers[3];  /* entries by deciding tier (pins.h), if lerr == 0 */
	uint64_t              tier_deny;
	bool                  have_tiers;
	bool                  split;     /* the LPM halves are pinned */
	struct st_names       nm;        /* names learned from DNS answers */
	struct pw_live_rule  *rules;     /* -o json: the rules in force per endpoint */
	size_t                n_rules;
};

static void status_free(struct status *st)
{
	free(st->rules);
	free(st->nm.e);
	free(st->ctr);
	free(st->eps);
	pw_loaded_free(&st->names);
	if (st->pins_open)
		pw_pins_close(&st->pins);
}

/*
 * Read everything status shows. 0, or a negative errno with why set
 * (-ENOENT: nothing is pinned there; pw_pins_open has said so).
 */
static int status_gather(const char *pin_dir, bool rules, struct status *st,
			 struct pw_error *why)
{
	struct pw_state live = { 0 };
	struct pw_config lcfg;
	int err;

	memset(why, 0, sizeof(*why));
	err = pw_pins_open(pin_dir, PW_PIN_BIT(PW_MAP_CONFIG) | PW_PIN_BIT(PW_MAP_ENDPOINTS),
			   &st->pins, why);
	if (err)
		return err;
	st->pins_open = true;
	err = pw_pins_config(&st->pins, &st->cfg);
	if (err) {
		snprintf(why->msg, sizeof(why->msg), "reading config: %s", strerror(-err));
		return err;
	}
	st->audit_all = st->cfg.flags & PW_CFG_AUDIT_ALL;
	pw_ops_state_path(st->pins.dir, st->state_path, sizeof(st->state_path));
	st->serr = pw_loaded_load(st->state_path, &st->names);
	st->have_names = !st->serr;
	err = read_eps(&st->pins, st->have_names ? &st->names : NULL, &st->eps, &st->n_eps);
	if (err) {
		snprintf(why->msg, sizeof(why->msg), "reading endpoints: %s", strerror(-err));
		return err;
	}
	st->ctr = calloc(PW_COUNTERS_MAX, sizeof(*st->ctr));
	if (!st->ctr) {
		snprintf(why->msg, sizeof(why->msg), "out of memory");
		return -ENOMEM;
	}
	if (pw_pins_counters(&st->pins, st->ctr))
		memset(st->ctr, 0, sizeof(*st->ctr) * PW_COUNTERS_MAX);
	for (int m = 0; m < PW_MAP_MAX; m++)
		pw_pins_fill(&st->pins, (enum pw_map)m, st->cfg.active_slot & 1, &st->fill[m]);
	/* the live slot read once: counts, tiers and (json) the rules in force */
	st->lerr = pw_pins_read_live(&st->pins, &lcfg, &live, &st->lwhy);
	if (!st->lerr) {
		pw_pins_live_count(&st->pins, &lcfg, &live, &st->live);
		pw_pins_live_tiers(&live, &st->names, st->tiers, &st->tier_deny);
		st->have_tiers = true;
		if (rules && pw_pins_live_rules(&live, &st->rules, &st->n_rules))
			st->n_rules = 0;
		pw_state_free(&live);
	}
	st->split = st->pins.fd[PW_MAP_IPCACHE_LPM] >= 0 && st->pins.fd[PW_MAP_POLICY_LPM] >= 0;
	for (size_t i = 0; i < st->n_eps; i++)
		st->n_audit += !!(st->eps[i].ep.flags[st->cfg.active_slot & 1] & PW_EP_AUDIT);
	read_names(&st->pins, &st->nm);
	return 0;
}

/*
 * The rules that decide an endpoint's entries in force, per direction, with
 * the names file's fields (a ClusterNetworkPolicy rule split as monitor
 * splits it); a rule the names file does not know is said by its id.
 */
static json_t *ep_rules_json(const struct status *st, uint32_t ep_id)
{
	json_t *o = json_object(), *a[PW_DIR_MAX];
	size_t lo = 0, hi = st->n_rules;

	for (int d = 0; d < PW_DIR_MAX; d++)
		a[d] = json_array();
	while (lo < hi) {   /* the first of ep_id: rules are sorted by it */
		size_t mid = lo + (hi - lo) / 2;

		if (st->rules[mid].ep_id < ep_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < st->n_rules && st->rules[i].ep_id == ep_id; i++) {
		const struct pw_live_rule *x = &st->rules[i];
		const struct pw_ld_rule *r = st->have_names ? pw_ld_rule(&st->names, x->rule_id)
							    : NULL;

		if (x->dir >= PW_DIR_MAX)
			continue;
		json_array_append_new(a[x->dir], r ? pw_rule_json(r)
						   : json_pack("{s:I}", "id", (json_int_t)x->rule_id));
	}
	for (int d = 0; d < PW_DIR_MAX; d++)
		json_object_set_new(o, pw_dir_name((uint8_t)d), a[d]);
	return o;
}

/* ------------------------------------------------------------ print */

static void status_print_json(const struct status *st)
{
	json_t *o = json_object(), *ja = json_array(), *jm = json_array(),
	       *jc = json_array();
	char buf[64], buf2[64];

	json_object_set_new(o, "pin_dir", json_string(st->pins.dir));
	json_object_set_new(o, "generation", json_integer(st->cfg.generation));
	json_object_set_new(o, "active_slot", json_integer(st->cfg.active_slot));
	json_object_set_new(o, "config_flags", json_integer(st->cfg.flags));
	json_object_set_new(o, "mode", json_string(st->audit_all ? "audit" : "enforce"));
	json_object_set_new(o, "events_allow",
			    json_boolean(st->cfg.flags & PW_CFG_EVENTS_ALLOW));
	json_object_set_new(o, "events_per_sec",
			    json_integer(st->cfg.events_per_sec ? st->cfg.events_per_sec : 1000));
	/* same-node flows judged once (bpf/lib/direct.h) */
	json_object_set_new(o, "redirect", json_pack("{s:b, s:I, s:I}",
		"on", !!(st->cfg.flags & PW_CFG_REDIRECT_PEER),
		"into_pods", (json_int_t)st->ctr[PW_COUNTER_REDIRECTED].packets,
		"to_veths", (json_int_t)st->ctr[PW_COUNTER_REDIRECTED_VETH].packets));
	if (st->have_names) {
		json_t *sf = json_object();

		json_object_set_new(sf, "path", json_string(st->state_path));
		json_object_set_new(sf, "generation", json_integer(st->names.generation));
		json_object_set_new(sf, "written_at", json_integer(st->names.written_at));
		json_object_set_new(sf, "source", json_string(st->names.source ? st->names.source : ""));
		json_object_set_new(sf, "dns", json_string(st->names.dns_auto ? "auto" : "off"));
		json_object_set_new(o, "state", sf);
	}
	for (size_t i = 0; i < st->n_eps; i++) {
		const struct st_ep *e = &st->eps[i];
		uint32_t f = e->ep.flags[st->cfg.active_slot & 1];
		json_t *x = json_object(), *iso = json_object(), *d = json_object(),
		       *ips = json_array();

		json_object_set_new(x, "pod", e->name ? json_string(e->name->pod) : json_null());
		if (f & PW_EP_HAS_V4)
			json_array_append_new(ips, json_string(pw_ld_addr_str(e->ep.ip4, buf, sizeof(buf))));
		if (f & PW_EP_HAS_V6)
			json_array_append_new(ips, json_string(pw_ld_addr_str(e->ep.ip6, buf, sizeof(buf))));
		json_object_set_new(x, "ips", ips);
		json_object_set_new(x, "ifindex", json_integer(e->ifindex));
		json_object_set_new(x, "ep_id", json_integer(e->ep.ep_id));
		json_object_set_new(x, "identity", json_integer(e->ep.identity));
		json_object_set_new(x, "identity_desc", json_string(
			pw_ld_name_id(st->have_names ? &st->names : NULL, e->ep.identity, buf2, sizeof(buf2))));
		json_object_set_new(iso, "ingress", json_boolean(f & PW_EP_ISOLATED_INGRESS));
		json_object_set_new(iso, "egress", json_boolean(f & PW_EP_ISOLATED_EGRESS));
		json_object_set_new(x, "isolated", iso);
		json_object_set_new(x, "tiered", json_pack("{s:b, s:b}",
			"ingress", !!(f & PW_EP_TIERED_INGRESS), "egress", !!(f & PW_EP_TIERED_EGRESS)));
		json_object_set_new(x, "mode", json_string(st->audit_all || (f & PW_EP_AUDIT)
							   ? "audit" : "enforce"));
		json_object_set_new(d, "state", json_string(dns_state(e, st->cfg.active_slot, buf, sizeof(buf))));
		json_object_set_new(d, "flags", json_integer(e->has_dns ? e->dns.flags[st->cfg.active_slot & 1] : 0));
		json_object_set_new(d, "allowed", json_integer((json_int_t)e->dns.allowed));
		json_object_set_new(d, "dropped", json_integer((json_int_t)e->dns.dropped));
		json_object_set_new(x, "dns", d);
		if (e->name) {
			json_t *pol = json_object();

			for (int dd = 0; dd < PW_DIR_MAX; dd++) {
				json_t *a = json_array();

				for (size_t k = 0; k < e->name->n_policies[dd]; k++)
					json_array_append_new(a, json_string(e->name->policies[dd][k]));
				json_object_set_new(pol, pw_dir_name((uint8_t)dd), a);
			}
			json_object_set_new(x, "policies", pol);
		}
		if (!st->lerr)
			json_object_set_new(x, "rules", ep_rules_json(st, e->ep.ep_id));
		json_array_append_new(ja, x);
	}
	json_object_set_new(o, "endpoints", ja);
	{
		json_t *jn = json_object(), *js = json_object(), *jl = json_array();

		for (int i = 0; i < PW_FQDN_STAT_MAX; i++)
			json_object_set_new(js, fqdn_stat_names[i],
					    json_integer((json_int_t)st->nm.stats[i]));
		for (size_t i = 0; i < st->nm.n; i++) {
			const struct pw_fqdn_entry *x = &st->nm.e[i];
			const struct st_ep *e = names_owner(st->eps, st->n_eps, x, st->cfg.active_slot);
			json_t *jx;

			if (!e)
				continue;
			jx = json_object();
			json_object_set_new(jx, "pod", e->name ? json_string(e->name->pod) : json_null());
			json_object_set_new(jx, "ep_id", json_integer(x->ep_id));
			json_object_set_new(jx, "address", json_string(pw_ld_addr_str(x->addr, buf, sizeof(buf))));
			json_object_set_new(jx, "name_id", json_integer(x->name_id));
			json_object_set_new(jx, "name", json_string(pw_ld_name_id(
				st->have_names ? &st->names : NULL, x->name_id, buf2, sizeof(buf2))));
			json_object_set_new(jx, "ttl_left", json_integer(x->ttl_left));
			json_array_append_new(jl, jx);
		}
		json_object_set_new(jn, "counters", js);
		json_object_set_new(jn, "learned", jl);
		json_object_set_new(o, "names", jn);
	}
	for (int m = 0; m < PW_MAP_MAX; m++) {
		json_t *x = json_object();

		if (st->pins.fd[m] < 0)
			continue;
		json_object_set_new(x, "map", json_string(pw_map_names[m]));
		json_object_set_new(x, "type", json_string(map_type_name(st->fill[m].type)));
		json_object_set_new(x, "capacity", json_integer(st->fill[m].max_entries));
		if (st->fill[m].counted)
			json_object_set_new(x, "entries", json_integer((json_int_t)st->fill[m].entries));
		if (st->fill[m].counted && st->fill[m].slotted)
			json_object_set_new(x, "live_slot_entries",
					    json_integer((json_int_t)st->fill[m].live_slot));
		if (st->fill[m].counted && m == PW_MAP_POLICY)
			json_object_set_new(x, "live_slot_summaries",
					    json_integer((json_int_t)st->fill[m].summaries));
		json_array_append_new(jm, x);
	}
	json_object_set_new(o, "maps", jm);
	json_object_set_new(o, "live_slot", st->lerr ? json_null() : live_json(&st->live, st->split));
	if (st->have_tiers)
		json_object_set_new(o, "in_force_by_tier", json_pack("{s:I, s:I, s:I, s:I}",
			"admin", (json_int_t)st->tiers[1], "netpol", (json_int_t)st->tiers[0],
			"baseline", (json_int_t)st->tiers[2], "deny", (json_int_t)st->tier_deny));
	for (uint32_t d = 0; d < PW_DIR_MAX; d++)
		for (uint32_t v = 1; v < PW_VERDICT_MAX; v++)
			for (uint32_t r = 0; r < PW_REASON_MAX; r++) {
				const struct pw_counter *k = &st->ctr[PW_COUNTER_IDX(d, v, r)];
				json_t *x;

				if (!k->packets)
					continue;
				x = json_object();
				json_object_set_new(x, "direction", json_string(pw_dir_name((uint8_t)d)));
				json_object_set_new(x, "verdict", json_string(pw_verdict_name((uint8_t)v)));
				json_object_set_new(x, "reason", json_string(pw_reason_name((uint8_t)r)));
				json_object_set_new(x, "packets", json_integer((json_int_t)k->packets));
				json_object_set_new(x, "bytes", json_integer((json_int_t)k->bytes));
				json_array_append_new(jc, x);
			}
	json_object_set_new(o, "counters", jc);
	pw_opts_print_json(o);
}

/*
 * A direction's column: "isolated" (a NetworkPolicy selects the pod: what
 * no rule allows drops), "tiers" (not isolated, but ClusterNetworkPolicy
 * rules select it: they decide what they match, the rest is allowed),
 * "open" (nothing selects it).
 */
static const char *isolation(uint32_t flags, uint8_t dir)
{
	if (flags & (dir == PW_DIR_INGRESS ? PW_EP_ISOLATED_INGRESS : PW_EP_ISOLATED_EGRESS))
		return "isolated";
	if (flags & (dir == PW_DIR_INGRESS ? PW_EP_TIERED_INGRESS : PW_EP_TIERED_EGRESS))
		return "tiers";
	return "open";
}

static void status_print_text(const struct status *st)
{
	char buf[64];

	printf("pin dir %s\n", st->pins.dir);
	printf("policy generation %u, active slot %u, mode %s", st->cfg.generation,
	       st->cfg.active_slot, st->audit_all ? "audit (every endpoint)" : "enforce");
	if (!st->audit_all && st->n_audit)
		printf(" (%zu endpoint%s in audit mode by namespace annotation)", st->n_audit,
		       st->n_audit == 1 ? "" : "s");
	printf(", events %s, at most %u/s per CPU\n",
	       st->cfg.flags & PW_CFG_EVENTS_ALLOW ? "for drops, audits and allows"
					       : "for drops and audits",
	       st->cfg.events_per_sec ? st->cfg.events_per_sec : 1000);
	printf("same-node flows %s: %llu packets sent straight into pods, %llu to their veths\n",
	       st->cfg.flags & PW_CFG_REDIRECT_PEER ? "judged once" : "through the node (no --redirect)",
	       (unsigned long long)st->ctr[PW_COUNTER_REDIRECTED].packets,
	       (unsigned long long)st->ctr[PW_COUNTER_REDIRECTED_VETH].packets);
	if (st->have_names) {
		char when[32] = "?";
		time_t t = (time_t)st->names.written_at;
		struct tm tm;

		if (localtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		printf("state file %s: generation %u, written %s, source %s, dns %s\n", st->state_path,
		       st->names.generation, when, st->names.source ? st->names.source : "?",
		       st->names.dns_auto ? "auto" : "off");
		if (st->names.generation != st->cfg.generation)
			printf("note: the maps are at generation %u, the state file at %u: names may "
			       "be out of date\n", st->cfg.generation, st->names.generation);
	} else {
		printf("state file %s: %s (names unknown)\n", st->state_path,
		       st->serr == -ENOENT ? "none" : strerror(-st->serr));
	}

	printf("\n%-32s %-15s %7s %-10s %-9s %-9s %-7s %-8s %9s %9s\n", "ENDPOINT", "ADDRESS",
	       "IFINDEX", "IDENTITY", "INGRESS", "EGRESS", "MODE", "DNS", "DNS-OK", "DNS-DROP");
	for (size_t i = 0; i < st->n_eps; i++) {
		const struct st_ep *e = &st->eps[i];
		uint32_t f = e->ep.flags[st->cfg.active_slot & 1];
		char id[16], dn[16];

		snprintf(id, sizeof(id), "0x%x", e->ep.identity);
		printf("%-32s %-15s %7u %-10s %-9s %-9s %-7s %-8s %9llu %9llu\n",
		       e->name ? e->name->pod : "?", ep_addr(&e->ep, st->cfg.active_slot, buf, sizeof(buf)),
		       e->ifindex, id, isolation(f, PW_DIR_INGRESS), isolation(f, PW_DIR_EGRESS),
		       st->audit_all || (f & PW_EP_AUDIT) ? "audit" : "enforce",
		       dns_state(e, st->cfg.active_slot, dn, sizeof(dn)),
		       (unsigned long long)e->dns.allowed, (unsigned long long)e->dns.dropped);
	}
	if (!st->n_eps)
		printf("(no endpoints)\n");

	if (names_any(&st->nm)) {
		char buf2[64];

		printf("\nnames learned from DNS answers:");
		for (int i = 0; i < PW_FQDN_STAT_MAX; i++)
			printf(" %s %llu%s", fqdn_stat_names[i], (unsigned long long)st->nm.stats[i],
			       i + 1 < PW_FQDN_STAT_MAX ? "," : "\n");
		printf("%-32s %-39s %-24s %8s\n", "ENDPOINT", "ADDRESS", "NAME", "TTL-LEFT");
		for (size_t i = 0; i < st->nm.n; i++) {
			const struct pw_fqdn_entry *x = &st->nm.e[i];
			const struct st_ep *e = names_owner(st->eps, st->n_eps, x, st->cfg.active_slot);

			if (!e)
				continue;
			printf("%-32s %-39s %-24s %7us\n", e->name ? e->name->pod : "?",
			       pw_ld_addr_str(x->addr, buf, sizeof(buf)),
			       pw_ld_name_id(st->have_names ? &st->names : NULL, x->name_id, buf2,
					     sizeof(buf2)),
			       x->ttl_left);
		}
	}

	printf("\n%-12s %-13s %10s %10s %7s\n", "MAP", "TYPE", "ENTRIES", "CAPACITY", "FILL");
	for (int m = 0; m < PW_MAP_MAX; m++) {
		const struct pw_map_fill *f = &st->fill[m];

		if (st->pins.fd[m] < 0) {
			printf("%-12s (not pinned)\n", pw_map_names[m]);
			continue;
		}
		if (f->type == BPF_MAP_TYPE_RINGBUF) {
			printf("%-12s %-13s %10s %10u %7s  (bytes)\n", pw_map_names[m],
			       map_type_name(f->type), "-", f->max_entries, "-");
			continue;
		}
		printf("%-12s %-13s %10llu %10u %6.1f%%", pw_map_names[m], map_type_name(f->type),
		       (unsigned long long)f->entries, f->max_entries,
		       f->max_entries ? 100.0 * (double)f->entries / f->max_entries : 0.0);
		if (f->counted && f->slotted && f->summaries)
			printf("  (%llu in the live slot, %llu of them summaries)",
			       (unsigned long long)f->live_slot, (unsigned long long)f->summaries);
		else if (f->counted && f->slotted)
			printf("  (%llu in the live slot)", (unsigned long long)f->live_slot);
		putchar('\n');
	}
	{
		uint64_t ct[PW_CT_STAT_MAX];

		if (!pw_pins_ct_stats(&st->pins, ct))
			printf("conntrack: %llu live entries evicted by new flows (their set was "
			       "full), %llu inserts lost to other writers\n",
			       (unsigned long long)ct[PW_CT_STAT_EVICTED],
			       (unsigned long long)ct[PW_CT_STAT_BUSY]);
	}
	if (st->lerr)
		printf("in force: the live slot is unreadable (%s)\n", st->lwhy.msg);
	else if (st->split)
		printf("in force (live slot %u, generation %u): %llu policy rules (%llu in policy, "
		       "%llu in policy_lpm; summaries not counted), %llu ipcache entries (%llu in "
		       "ipcache, %llu in ipcache_lpm)\n", st->live.slot, st->live.generation,
		       (unsigned long long)(st->live.policy[0] + st->live.policy[1]),
		       (unsigned long long)st->live.policy[0], (unsigned long long)st->live.policy[1],
		       (unsigned long long)(st->live.ipcache[0] + st->live.ipcache[1]),
		       (unsigned long long)st->live.ipcache[0], (unsigned long long)st->live.ipcache[1]);
	else
		printf("in force (live slot %u, generation %u): %llu policy rules, %llu ipcache "
		       "entries (maps of an older podwall: no LPM halves)\n", st->live.slot,
		       st->live.generation, (unsigned long long)st->live.policy[0],
		       (unsigned long long)st->live.ipcache[0]);
	if (st->have_tiers && st->tiers[1] + st->tiers[2])
		printf("in force by tier: %llu ClusterNetworkPolicy Admin, %llu NetworkPolicy, %llu "
		       "ClusterNetworkPolicy Baseline (entries by the tier of their deciding rule; "
		       "%llu of all drop)\n", (unsigned long long)st->tiers[1],
		       (unsigned long long)st->tiers[0], (unsigned long long)st->tiers[2],
		       (unsigned long long)st->tier_deny);
	printf("\n%-9s %-7s %-20s %12s %14s\n", "DIRECTION", "VERDICT", "REASON", "PACKETS",
	       "BYTES");
	for (uint32_t d = 0; d < PW_DIR_MAX; d++)
		for (uint32_t v = 1; v < PW_VERDICT_MAX; v++)
			for (uint32_t r = 0; r < PW_REASON_MAX; r++) {
				const struct pw_counter *k = &st->ctr[PW_COUNTER_IDX(d, v, r)];

				if (!k->packets)
					continue;
				printf("%-9s %-7s %-20s %12llu %14llu\n", pw_dir_name((uint8_t)d),
				       pw_verdict_name((uint8_t)v), pw_reason_name((uint8_t)r),
				       (unsigned long long)k->packets, (unsigned long long)k->bytes);
			}
}

/* ------------------------------------------------------------ the command */

int cmd_status(int argc, char **argv)
{
	struct status_opts so = { 0 };
	struct status st;
	struct pw_error why;
	int ret, err;

	ret = pw_opts_parse(&pw_doc_status, argc, argv, status_opt, &so);
	if (ret)
		return ret == PW_OPTS_HELP ? PW_EXIT_OK : ret;
	memset(&st, 0, sizeof(st));
	err = status_gather(so.pin_dir, so.json, &st, &why);
	if (err) {
		if (why.msg[0])
			fprintf(stderr, "podwall status: %s\n", why.msg);
		ret = err == -ENOENT && !st.pins_open ? PW_EXIT_FOUND : PW_EXIT_SYSTEM;
	} else {
		if (so.json)
			status_print_json(&st);
		else
			status_print_text(&st);
		ret = PW_EXIT_OK;
	}
	status_free(&st);
	return ret;
}
