/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Prometheus metrics over libmicrohttpd (metrics.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <microhttpd.h>
#include "clock.h"
#include "engine/engine.h"
#include "log.h"
#include "ops/health.h"
#include "ops/loaded.h"
#include "ops/metrics.h"
#include "ops/pins.h"
#include "ops/statefile.h"
#include "state.h"

static const double buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
				  0.5, 1, 2.5, 5, 10 };
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))
#define FILL_CACHE_NS 2000000000ull

static struct {
	const char         *spec;          /* --metrics value */
	const char         *health_spec;   /* --health value */
	struct MHD_Daemon  *mhd;
	struct MHD_Daemon  *health_mhd;    /* --health: /healthz and /readyz only */
	struct pw_pins      pins;
	bool                pins_open;
	pthread_mutex_t     lock;          /* the apply figures below */
	uint64_t            bucket[N_BUCKETS];
	uint64_t            count;
	double              sum;
	uint64_t            ok, failed;
	int                 last_ok;       /* -1: no apply yet */
	int64_t             last_ts;
	/* touched by the server thread only */
	char                state_path[PATH_MAX];
	struct timespec     state_mtime;
	struct pw_loaded    names;
	bool                have_names;
	struct pw_map_fill  fill[PW_MAP_MAX];
	struct pw_live_count live;         /* the policy set in force, counted logically */
	int                 live_err;
	uint64_t            tiers[3];      /* live entries by deciding tier (pins.h) */
	uint64_t            tier_deny;     /* of them, entries that drop */
	int                 tiers_err;
	uint64_t            fqdn_names[2]; /* learned names held: [0] live, [1] expired */
	int                 fqdn_err;
	uint64_t            fill_at;
} M = { .lock = PTHREAD_MUTEX_INITIALIZER, .last_ok = -1 };

int pw_metrics_opt(const char *name, const char *spec, struct pw_error *err)
{
	struct sockaddr_storage sa;
	unsigned len;
	bool loopback;
	const char *why;

	if (strcmp(name, "metrics") && strcmp(name, "health"))
		return -ENOENT;
	if (pw_metrics_parse_addr(spec, &sa, &len, &loopback, &why))
		return pw_errorf(err, -EINVAL, "--%s %s: %s", name, spec, why);
	if (!strcmp(name, "metrics"))
		M.spec = spec;
	else
		M.health_spec = spec;
	return 0;
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 1 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int pw_metrics_parse_addr(const char *spec, struct sockaddr_storage *out, unsigned *len,
			  bool *loopback, const char **why)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
	char host[INET6_ADDRSTRLEN + 8];
	const char *colon, *port_s;
	uint16_t port;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (!spec || !*spec) {
		*why = "empty";
		return -EINVAL;
	}
	if (!strchr(spec, ':')) {
		/* a bare port: loopback only */
		if (parse_port(spec, &port)) {
			*why = "not a port (1-65535)";
			return -EINVAL;
		}
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*s4);
		*loopback = true;
		return 0;
	}
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (!rb || rb[1] != ':' || (size_t)(rb - spec - 1) >= sizeof(host)) {
			*why = "IPv6 is written [ADDR]:PORT";
			return -EINVAL;
		}
		memcpy(host, spec + 1, (size_t)(rb - spec - 1));
		host[rb - spec - 1] = 0;
		port_s = rb + 2;
	} else {
		colon = strrchr(spec, ':');
		if (strchr(spec, ':') != colon) {
			*why = "IPv6 is written [ADDR]:PORT";
			return -EINVAL;
		}
		if ((size_t)(colon - spec) >= sizeof(host)) {
			*why = "address too long";
			return -EINVAL;
		}
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = 0;
		port_s = colon + 1;
	}
	if (parse_port(port_s, &port)) {
		*why = "not a port (1-65535)";
		return -EINVAL;
	}
	if (!host[0]) {
		*why = "no address: write 127.0.0.1:PORT (or 0.0.0.0:PORT to listen on every "
		       "interface, on purpose)";
		return -EINVAL;
	}
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		*loopback = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		*loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
		return 0;
	}
	*why = "not an IP address";
	return -EINVAL;
}

/* ------------------------------------------------------------ apply figures */

void pw_metrics_observe_apply(double seconds, bool ok)
{
	pthread_mutex_lock(&M.lock);
	for (size_t i = 0; i < N_BUCKETS; i++)
		if (seconds <= buckets[i])
			M.bucket[i]++;
	M.count++;
	M.sum += seconds;
	if (ok)
		M.ok++;
	else
		M.failed++;
	M.last_ok = ok;
	M.last_ts = (int64_t)time(NULL);
	pthread_mutex_unlock(&M.lock);
}

void pw_metrics_observe_push(void *ctx, enum pw_push_kind kind, uint64_t start_ns,
			     const struct pw_push_result *res, int err)
{
	if (!res || (kind == PW_PUSH_TICK && !err && !res->did_sync))
		return; /* a quiet pass, not an apply */
	pw_metrics_observe_apply((double)(pw_now_ns() - start_ns) / 1e9, !err);
}

void pw_metrics_observe_load_failed(void *ctx, uint64_t start_ns)
{
	pw_metrics_observe_apply((double)(pw_now_ns() - start_ns) / 1e9, false);
}

/* ------------------------------------------------------------ the page */

struct buf {
	char  *p;
	size_t n, cap;
	bool   oom;
};

static void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (k < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)k < b->cap - b->n) {
			b->n += (size_t)k;
			return;
		}
		size_t nc = (b->cap + (size_t)k + 1) * 2;
		char *np = realloc(b->p, nc);

		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
}

/* a label value: backslash, double quote and newline escaped */
static void blabel(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			bprintf(b, "\\\\");
		else if (*s == '"')
			bprintf(b, "\\\"");
		else if (*s == '\n')
			bprintf(b, "\\n");
		else
			bprintf(b, "%c", *s);
	}
}

static void refresh_names(void)
{
	struct stat st;
	struct pw_loaded l;

	if (stat(M.state_path, &st))
		return;
	if (M.have_names && st.st_mtim.tv_sec == M.state_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == M.state_mtime.tv_nsec)
		return;
	if (pw_loaded_load(M.state_path, &l))
		return;
	pw_loaded_free(&M.names);
	M.names = l;
	M.have_names = true;
	M.state_mtime = st.st_mtim;
}

static void header(struct buf *b, const char *name, const char *type, const char *help)
{
	bprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * Name learning (abi.h "domain names"): the datapath's fqdn_stats. Absent
 * when the map is not pinned (pins of a podwall without name learning).
 */
static void render_fqdn_stats(struct buf *b)
{
	static const struct { enum pw_fqdn_stat idx; const char *result; } answers[] = {
		{ PW_FQDN_ANSWERS_LEARNED, "learned" },
		{ PW_FQDN_ANSWERS_NO_NAME, "no_name" },
		{ PW_FQDN_ANSWERS_MALFORMED, "malformed" },
		{ PW_FQDN_ANSWERS_FORGED, "forged" },
		{ PW_FQDN_ANSWERS_SKIPPED, "skipped" },
	};
	static const struct { enum pw_fqdn_stat idx; const char *name, *help; } counters[] = {
		{ PW_FQDN_QUERIES, "podwall_fqdn_queries_total",
		  "DNS queries of pods that learn names, remembered to match their answers." },
		{ PW_FQDN_ADDRS_LEARNED, "podwall_fqdn_addresses_learned_total",
		  "Addresses written into fqdn_learned from DNS answers (new or refreshed)." },
		{ PW_FQDN_EXPIRED, "podwall_fqdn_names_expired_total",
		  "Learned names whose TTL ran out, counted when the datapath takes their slot "
		  "back for a newer answer." },
		{ PW_FQDN_EVICTED, "podwall_fqdn_names_evicted_total",
		  "Learned addresses or names given up before their TTL ran out for a newer one: "
		  "the pod was at its cap." },
		{ PW_FQDN_RECORDS_OVER, "podwall_fqdn_records_over_bound_total",
		  "Answer records past the parser's bound (PW_DNS_RR_MAX or its buffer), not "
		  "learned." },
	};
	uint64_t st[PW_FQDN_STAT_MAX];

	if (pw_pins_fqdn_stats(&M.pins, st))
		return;
	header(b, "podwall_fqdn_answers_total", "counter",
	       "DNS answers to pods that learn names, by result: learned (taught at least one "
	       "address), no_name (no domainNames pattern matches the question), malformed "
	       "(refused by the bounded parser), forged (no query of the pod awaits it from its "
	       "source: refused), skipped (error rcode, truncated, TCP over several segments).");
	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++)
		bprintf(b, "podwall_fqdn_answers_total{result=\"%s\"} %llu\n", answers[i].result,
			(unsigned long long)st[answers[i].idx]);
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		header(b, counters[i].name, "counter", counters[i].help);
		bprintf(b, "%s %llu\n", counters[i].name, (unsigned long long)st[counters[i].idx]);
	}
}

/* The conntrack table's counters (abi.h); absent before ABI 4 (no ct_stats pin). */
static void render_ct_stats(struct buf *b)
{
	uint64_t st[PW_CT_STAT_MAX];

	if (pw_pins_ct_stats(&M.pins, st))
		return;
	header(b, "podwall_conntrack_evictions_total", "counter",
	       "Live conntrack entries (not expired) given up for a new flow because their set "
	       "of the table was full: table pressure; their flows are judged again.");
	bprintf(b, "podwall_conntrack_evictions_total %llu\n",
		(unsigned long long)st[PW_CT_STAT_EVICTED]);
	header(b, "podwall_conntrack_inserts_lost_total", "counter",
	       "New conntrack entries not made: every way of their set was being written by "
	       "other CPUs; the flow is judged again on its next packet.");
	bprintf(b, "podwall_conntrack_inserts_lost_total %llu\n",
		(unsigned long long)st[PW_CT_STAT_BUSY]);
}

static void render(struct buf *b)
{
	struct pw_counter *ctr = calloc(PW_COUNTERS_MAX, sizeof(*ctr));
	struct pw_config cfg;
	uint64_t now = pw_now_ns(), pending = 0, n_eps = 0;
	bool have_cfg = !pw_pins_config(&M.pins, &cfg);

	refresh_names();
	if (!have_cfg)
		memset(&cfg, 0, sizeof(cfg));

	/* datapath counters */
	if (ctr && !pw_pins_counters(&M.pins, ctr)) {
		const char *what[2] = { "packets", "bytes" };

		for (int w = 0; w < 2; w++) {
			char name[64];

			snprintf(name, sizeof(name), "podwall_%s_total", what[w]);
			header(b, name, "counter", w ? "Bytes judged by the datapath, by direction, "
			       "verdict and reason." : "Packets judged by the datapath, by direction, "
			       "verdict (allow, drop, audit: would drop, passed in audit mode) and "
			       "reason.");
			for (uint32_t d = 0; d < PW_DIR_MAX; d++)
				for (uint32_t v = 1; v < PW_VERDICT_MAX; v++)
					for (uint32_t r = 0; r < PW_REASON_MAX; r++) {
						const struct pw_counter *k =
							&ctr[PW_COUNTER_IDX(d, v, r)];
						bool drop_like = v != PW_VERDICT_ALLOW &&
								 r >= PW_REASON_DROP_FIRST;

						/* every drop/audit series always, others once seen */
						if (!k->packets && !drop_like)
							continue;
						bprintf(b, "%s{direction=\"%s\",verdict=\"%s\",reason=\"%s\"} %llu\n",
							name, pw_dir_name((uint8_t)d),
							pw_verdict_name((uint8_t)v),
							pw_reason_name((uint8_t)r),
							(unsigned long long)(w ? k->bytes : k->packets));
					}
		}
		header(b, "podwall_packets_redirected_total", "counter", "Packets of established "
		       "same-node flows from_pod sent past the node's forwarding: to=\"pod\" straight "
		       "into the other pod (judged once for both pods, counted in "
		       "podwall_packets_total once per direction), to=\"veth\" to the other pod's "
		       "veth, where to_pod judges them (after a policy change).");
		bprintf(b, "podwall_packets_redirected_total{to=\"pod\"} %llu\n",
			(unsigned long long)ctr[PW_COUNTER_REDIRECTED].packets);
		bprintf(b, "podwall_packets_redirected_total{to=\"veth\"} %llu\n",
			(unsigned long long)ctr[PW_COUNTER_REDIRECTED_VETH].packets);
	}
	free(ctr);

	/* DNS, per pod */
	header(b, "podwall_dns_packets_total", "counter",
	       "DNS packets from a pod to the cluster DNS on port 53, allowed or dropped.");
	if (M.pins.fd[PW_MAP_DNS] >= 0) {
		uint32_t key, next, *prev = NULL;
		struct pw_dns d;

		while (!bpf_map_get_next_key(M.pins.fd[PW_MAP_DNS], prev, &next)) {
			const struct pw_ld_ep *ep;
			char id[32];

			key = next;
			prev = &key;
			if (bpf_map_lookup_elem(M.pins.fd[PW_MAP_DNS], &key, &d))
				continue;
			ep = M.have_names ? pw_ld_ep_by_id(&M.names, key) : NULL;
			snprintf(id, sizeof(id), "ep-%u", key);
			for (int k = 0; k < 2; k++) {
				bprintf(b, "podwall_dns_packets_total{pod=\"");
				blabel(b, ep ? ep->pod : id);
				bprintf(b, "\",verdict=\"%s\"} %llu\n", k ? "dropped" : "allowed",
					(unsigned long long)(k ? d.dropped : d.allowed));
			}
		}
	}

	render_fqdn_stats(b);
	render_ct_stats(b);

	/* maps */
	if (!M.fill_at || now - M.fill_at > FILL_CACHE_NS) {
		struct pw_error why; /* a scrape shows what it can: no log per scrape */
		struct pw_state live = { 0 };
		struct pw_config lcfg;

		for (int m = 0; m < PW_MAP_MAX; m++)
			pw_pins_fill(&M.pins, (enum pw_map)m, cfg.active_slot & 1, &M.fill[m]);
		/* the live slot read once for the counts and the tiers */
		M.live_err = pw_pins_read_live(&M.pins, &lcfg, &live, &why);
		if (!M.live_err)
			pw_pins_live_count(&M.pins, &lcfg, &live, &M.live);
		/* the tier of an entry is its rule's: needs the rule names of state.json */
		M.tiers_err = M.live_err ? M.live_err : M.have_names ? 0 : -ENOENT;
		if (!M.tiers_err)
			pw_pins_live_tiers(&live, &M.names, M.tiers, &M.tier_deny);
		pw_state_free(&live);
		M.fqdn_err = pw_pins_fqdn_count(&M.pins, (uint32_t)(now / 1000000000ull),
						&M.fqdn_names[0], &M.fqdn_names[1]);
		M.fill_at = now;
	}
	/* logical: what is in force, wherever it lives; absent when unreadable */
	if (!M.live_err) {
		header(b, "podwall_policy_entries", "gauge",
		       "Allow rules in force: entries of the live slot in policy and policy_lpm, "
		       "without the policy summaries.");
		bprintf(b, "podwall_policy_entries %llu\n",
			(unsigned long long)(M.live.policy[0] + M.live.policy[1]));
		header(b, "podwall_ipcache_entries", "gauge",
		       "Addresses and CIDR groups in force: entries of the live slot in ipcache "
		       "and ipcache_lpm.");
		bprintf(b, "podwall_ipcache_entries %llu\n",
			(unsigned long long)(M.live.ipcache[0] + M.live.ipcache[1]));
	}
	if (!M.tiers_err) {
		static const char *const tier[3] = { "netpol", "admin", "baseline" };

		header(b, "podwall_policy_tier_entries", "gauge",
		       "Entries of the live slot in policy and policy_lpm, by the tier of the "
		       "rule that decides them (admin, baseline: ClusterNetworkPolicy; netpol: "
		       "NetworkPolicy and cells no rule decided).");
		for (int t = 0; t < 3; t++)
			bprintf(b, "podwall_policy_tier_entries{tier=\"%s\"} %llu\n", tier[t],
				(unsigned long long)M.tiers[t]);
		header(b, "podwall_policy_deny_entries", "gauge",
		       "Entries of the live slot whose verdict is a ClusterNetworkPolicy Deny.");
		bprintf(b, "podwall_policy_deny_entries %llu\n", (unsigned long long)M.tier_deny);
	}
	if (!M.fqdn_err) {
		header(b, "podwall_fqdn_learned_names", "gauge",
		       "Names learned from DNS answers held in fqdn_learned, one per (pod, address, "
		       "name): live (within their TTL) or expired (TTL run out, slot not yet taken "
		       "back).");
		bprintf(b, "podwall_fqdn_learned_names{state=\"live\"} %llu\n",
			(unsigned long long)M.fqdn_names[0]);
		bprintf(b, "podwall_fqdn_learned_names{state=\"expired\"} %llu\n",
			(unsigned long long)M.fqdn_names[1]);
	}
	/* raw: what each map holds against its capacity */
	header(b, "podwall_map_entries", "gauge",
	       "Entries in each BPF map (ipcache, policy and their LPM halves: both slots; "
	       "policy: its summaries too).");
	for (int m = 0; m < PW_MAP_MAX; m++)
		if (M.pins.fd[m] >= 0 && M.fill[m].counted)
			bprintf(b, "podwall_map_entries{map=\"%s\"} %llu\n", pw_map_names[m],
				(unsigned long long)M.fill[m].entries);
	header(b, "podwall_map_live_slot_entries", "gauge",
	       "Entries of the live slot in each slotted BPF map (policy: its summaries too).");
	for (int m = 0; m < PW_MAP_MAX; m++)
		if (M.pins.fd[m] >= 0 && M.fill[m].counted && M.fill[m].slotted)
			bprintf(b, "podwall_map_live_slot_entries{map=\"%s\"} %llu\n",
				pw_map_names[m], (unsigned long long)M.fill[m].live_slot);
	if (M.pins.fd[PW_MAP_POLICY] >= 0 && M.fill[PW_MAP_POLICY].counted) {
		header(b, "podwall_policy_summaries", "gauge",
		       "Summary entries of the live slot in map policy: datapath lookup hints, "
		       "one per (endpoint, direction, peer), not rules.");
		bprintf(b, "podwall_policy_summaries %llu\n",
			(unsigned long long)M.fill[PW_MAP_POLICY].summaries);
	}
	header(b, "podwall_map_capacity", "gauge",
	       "Capacity of each BPF map (max_entries; the events ring buffer: bytes).");
	for (int m = 0; m < PW_MAP_MAX; m++)
		if (M.pins.fd[m] >= 0)
			bprintf(b, "podwall_map_capacity{map=\"%s\"} %u\n", pw_map_names[m],
				M.fill[m].max_entries);
	if (M.pins.fd[PW_MAP_ENDPOINTS] >= 0 && M.fill[PW_MAP_ENDPOINTS].counted)
		n_eps = M.fill[PW_MAP_ENDPOINTS].entries;
	header(b, "podwall_endpoints", "gauge", "Local pods the datapath enforces for.");
	bprintf(b, "podwall_endpoints %llu\n", (unsigned long long)n_eps);

	header(b, "podwall_policy_generation", "gauge",
	       "Policy generation in force (bumped by every change).");
	bprintf(b, "podwall_policy_generation %u\n", cfg.generation);
	header(b, "podwall_audit_mode", "gauge",
	       "1 if the agent runs with --mode audit (would-be drops pass and are reported).");
	bprintf(b, "podwall_audit_mode %u\n", (cfg.flags & PW_CFG_AUDIT_ALL) ? 1 : 0);
	header(b, "podwall_redirect_mode", "gauge", "1 if established same-node flows go "
	       "straight into the other pod (the agent with --redirect).");
	bprintf(b, "podwall_redirect_mode %u\n", (cfg.flags & PW_CFG_REDIRECT_PEER) ? 1 : 0);
	pw_pins_pending_suppressed(&M.pins, &pending);
	header(b, "podwall_events_suppressed_pending", "gauge",
	       "Events suppressed by the per-CPU rate limit, not yet reported with an event.");
	bprintf(b, "podwall_events_suppressed_pending %llu\n", (unsigned long long)pending);

	/* applies */
	pthread_mutex_lock(&M.lock);
	header(b, "podwall_apply_duration_seconds", "histogram",
	       "Time to load, compile and sync the maps, per apply.");
	for (size_t i = 0; i < N_BUCKETS; i++)
		bprintf(b, "podwall_apply_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[i],
			(unsigned long long)M.bucket[i]);
	bprintf(b, "podwall_apply_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
		(unsigned long long)M.count);
	bprintf(b, "podwall_apply_duration_seconds_sum %.9f\n", M.sum);
	bprintf(b, "podwall_apply_duration_seconds_count %llu\n", (unsigned long long)M.count);
	header(b, "podwall_applies_total", "counter", "Apply attempts, by result.");
	bprintf(b, "podwall_applies_total{result=\"success\"} %llu\n", (unsigned long long)M.ok);
	bprintf(b, "podwall_applies_total{result=\"failure\"} %llu\n", (unsigned long long)M.failed);
	header(b, "podwall_last_apply_success", "gauge",
	       "1 if the last apply succeeded, 0 if it failed (the previous policy stays in force).");
	bprintf(b, "podwall_last_apply_success %d\n", M.last_ok < 0 ? 0 : M.last_ok);
	header(b, "podwall_last_apply_timestamp_seconds", "gauge", "Unix time of the last apply.");
	bprintf(b, "podwall_last_apply_timestamp_seconds %lld\n", (long long)M.last_ts);
	pthread_mutex_unlock(&M.lock);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
			     char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct buf b = { 0 };
	bool metrics = cls != NULL; /* the --metrics server; --health's serves health only */

	(void)version;
	(void)upload;
	if (!*con_cls) {
		/* first call for this request: headers only */
		*con_cls = (void *)1;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0; /* ignore bodies */
		return MHD_YES;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		bprintf(&b, "method not allowed\n");
		return b.oom ? MHD_NO : reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", b.p, b.n);
	}
	if (!strcmp(url, "/healthz") || !strcmp(url, "/readyz")) {
		char text[512];
		unsigned code = url[1] == 'h' ? pw_health_live(text, sizeof(text))
					      : pw_health_ready(text, sizeof(text));

		bprintf(&b, "%s", text);
		return b.oom ? MHD_NO : reply(conn, code, "text/plain", b.p, b.n);
	}
	if (metrics && !strcmp(url, "/metrics")) {
		render(&b);
		if (b.oom) {
			free(b.p);
			return MHD_NO;
		}
		return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", b.p, b.n);
	}
	if (!strcmp(url, "/")) {
		bprintf(&b, "podwall agent: %s/healthz, /readyz\n", metrics ? "/metrics, " : "");
		return b.oom ? MHD_NO : reply(conn, MHD_HTTP_OK, "text/plain", b.p, b.n);
	}
	bprintf(&b, "not found: try %s/healthz, /readyz\n", metrics ? "/metrics, " : "");
	return b.oom ? MHD_NO : reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", b.p, b.n);
}

/* One server at spec (opt: the option that named it); metrics: /metrics too. */
static int serve(const char *opt, const char *spec, bool metrics, struct MHD_Daemon **out,
		 struct pw_error *err)
{
	struct sockaddr_storage sa;
	unsigned len, flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	bool loopback;
	const char *why;
	char shown[INET6_ADDRSTRLEN + 16];

	if (pw_metrics_parse_addr(spec, &sa, &len, &loopback, &why))
		return pw_errorf(err, -EINVAL, "%s %s: %s", opt, spec, why);
	if (sa.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	*out = MHD_start_daemon(flags, 0, NULL, NULL, handler, metrics ? (void *)1 : NULL,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)32,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				MHD_OPTION_END);
	if (!*out)
		return pw_errorf(err, -EADDRNOTAVAIL, "%s %s: cannot serve there (address in "
				 "use, or not an address of this network namespace?)", opt, spec);
	if (sa.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, shown, sizeof(shown));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, shown, sizeof(shown));
	pw_info("podwall: %s at http://%s%s%s:%u/%s%s", metrics ? "metrics" : "health",
		sa.ss_family == AF_INET6 ? "[" : "", shown, sa.ss_family == AF_INET6 ? "]" : "",
		ntohs(sa.ss_family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port
					      : ((struct sockaddr_in6 *)&sa)->sin6_port),
		metrics ? "metrics (and /healthz, /readyz)" : "healthz and /readyz",
		loopback ? "" : " (not loopback: reachable from the network)");
	return 0;
}

int pw_metrics_start(const char *pin_dir, struct pw_error *why)
{
	int err;

	if (M.health_spec && !M.health_mhd) {
		err = serve("--health", M.health_spec, false, &M.health_mhd, why);
		if (err)
			return err;
	}
	if (!M.spec || M.mhd)
		return 0;
	err = pw_pins_open(pin_dir, PW_PIN_BIT(PW_MAP_CONFIG) | PW_PIN_BIT(PW_MAP_COUNTERS),
			   &M.pins, why);
	if (err)
		return err == -EINVAL ? -EIO : err;
	M.pins_open = true;
	pw_ops_state_path(M.pins.dir, M.state_path, sizeof(M.state_path));
	err = serve("--metrics", M.spec, true, &M.mhd, why);
	if (err) {
		pw_pins_close(&M.pins);
		M.pins_open = false;
	}
	return err;
}

void pw_metrics_stop(void)
{
	if (M.health_mhd) {
		MHD_stop_daemon(M.health_mhd);
		M.health_mhd = NULL;
	}
	if (M.mhd) {
		MHD_stop_daemon(M.mhd);
		M.mhd = NULL;
	}
	if (M.pins_open) {
		pw_pins_close(&M.pins);
		M.pins_open = false;
	}
	pw_loaded_free(&M.names);
	M.have_names = false;
}
