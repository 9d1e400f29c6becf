// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * podwall bench: what enforcement costs on this node (DESIGN §7).
 *
 *   podwall bench [datapath]   per-packet cost, BPF_PROG_TEST_RUN
 *   podwall bench control      compile + load, change -> enforced, memory
 *   podwall bench all          both
 *
 * A table for people, -o json for scripts/bench.sh (which adds the real
 * traffic comparison with iptables, ipset and nftables). The measuring
 * lives in agent/bench/.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "bench/bench.h"


static int parse_list(const char *s, size_t *out, int max, int *n)
{
	char *end;

	*n = 0;
	while (*s) {
		unsigned long long v;

		if (*n == max)
			return -1;
		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno || end == s || v == 0)
			return -1;
		out[(*n)++] = (size_t)v;
		s = end;
		if (*s == ',')
			s++;
		else if (*s)
			return -1;
	}
	return *n ? 0 : -1;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

/* ------------------------------------------------------------ datapath */

static bool flat_case(int c)
{
	/* measured cases of the policy path (not the baseline, not derived) */
	return c != PWB_PASS_ONLY && c != PWB_V4_NEW_CT && c != PWB_V6_NEW_CT && c != PWB_DNS_LEARN;
}

static void dp_flatness(const struct pwb_dp_result *r, double *worst, int *worst_case)
{
	*worst = 0;
	*worst_case = -1;
	if (r->n_sizes < 2)
		return;
	for (int c = 0; c < PWB_NCASES; c++) {
		if (flat_case(c) && r->ratio[c] > *worst) {
			*worst = r->ratio[c];
			*worst_case = c;
		}
	}
}

static void dp_table(const struct pwb_dp_result *r)
{
	double worst;
	int wc;

	printf("per packet: BPF_PROG_TEST_RUN of to_pod, ns/packet, median of %d rounds x %d repeats "
	       "(kernel %s)\n", r->opts.runs, r->opts.repeat, r->kernel);
	printf("  %-16s", "policy entries");
	for (int i = 0; i < r->n_sizes; i++)
		printf("%11zu", r->sz[i].entries);
	printf("%11s\n", "last/first");
	for (int c = 0; c < PWB_NCASES; c++) {
		printf("  %-16s", pwb_case_names[c]);
		for (int i = 0; i < r->n_sizes; i++)
			printf("%11.1f", r->sz[i].c[c].ns);
		if (r->n_sizes > 1)
			printf("%11.2f", r->ratio[c]);
		printf("\n");
	}
	printf("  %-16s", "(endpoints)");
	for (int i = 0; i < r->n_sizes; i++)
		printf("%11zu", r->sz[i].endpoints);
	printf("\n  %-16s", "(ipcache)");
	for (int i = 0; i < r->n_sizes; i++)
		printf("%11zu", r->sz[i].ipcache);
	printf("\n");
	dp_flatness(r, &worst, &wc);
	if (wc >= 0)
		printf("  flatness: worst last/first ratio %.2f (%s); target <= 1.10: %s\n"
		       "  last/first: median over rounds of the round's ratio (slices of the two "
		       "sizes paired, run back to back)\n", worst, pwb_case_names[wc],
		       worst <= 1.10 ? "met" : "not met");
	printf("  new+ct = new + conntrack insert, measured with single runs (see podwall bench -h)\n");
	printf("  dns-answer+learn = dns-answer + what name learning adds, measured with single runs\n");
}

static void dp_json(struct pwb_json *j, const struct pwb_dp_result *r)
{
	double worst;
	int wc;

	pwb_json_str(j, "method", "BPF_PROG_TEST_RUN of the real to_pod program (pass_only for the "
		     "baseline) on crafted TCP packets, private unpinned maps, private netns with one "
		     "device; every size loaded at once, rounds over the sizes (each case at every "
		     "size back to back), per size the median over rounds");
	pwb_json_str(j, "kernel", r->kernel);
	pwb_json_int(j, "repeat", r->opts.repeat);
	pwb_json_int(j, "runs", r->opts.runs);
	pwb_json_int(j, "samples", r->opts.samples);
	pwb_json_arr(j, "entries");
	for (int i = 0; i < r->n_sizes; i++)
		pwb_json_int(j, NULL, (long long)r->sz[i].entries);
	pwb_json_end(j);
	pwb_json_arr(j, "cases");
	for (int c = 0; c < PWB_NCASES; c++) {
		pwb_json_obj(j, NULL);
		pwb_json_str(j, "name", pwb_case_names[c]);
		pwb_json_str(j, "desc", pwb_case_desc[c]);
		pwb_json_bool(j, "derived", !flat_case(c) && c != PWB_PASS_ONLY);
		pwb_json_arr(j, "points");
		for (int i = 0; i < r->n_sizes; i++) {
			const struct pwb_dp_point *p = &r->sz[i].c[c];

			pwb_json_obj(j, NULL);
			pwb_json_int(j, "entries", (long long)r->sz[i].entries);
			pwb_json_num(j, "ns_per_pkt", p->ns);
			pwb_json_str(j, "verdict", p->verdict == 0 ? "TC_ACT_OK" :
				     p->verdict == 2 ? "TC_ACT_SHOT" : "other");
			pwb_json_arr(j, "runs");
			for (int k = 0; k < r->opts.runs; k++)
				pwb_json_num(j, NULL, p->run_ns[k]);
			pwb_json_end(j);
			pwb_json_end(j);
		}
		pwb_json_end(j);
		if (r->n_sizes > 1) {
			pwb_json_num(j, "ratio_max_min", r->ratio[c]);
			pwb_json_arr(j, "round_ratios");
			for (int k = 0; k < r->opts.runs; k++)
				pwb_json_num(j, NULL, r->round_ratio[c][k]);
			pwb_json_end(j);
		}
		pwb_json_end(j);
	}
	pwb_json_end(j);
	pwb_json_arr(j, "maps");
	for (int i = 0; i < r->n_sizes; i++) {
		const struct pwb_dp_size *s = &r->sz[i];

		pwb_json_obj(j, NULL);
		pwb_json_int(j, "policy_entries", (long long)s->entries);
		pwb_json_int(j, "endpoints", (long long)s->endpoints);
		pwb_json_int(j, "ipcache_entries", (long long)s->ipcache);
		pwb_json_int(j, "identities", (long long)s->identities);
		pwb_json_num(j, "fill_ms", s->fill_ms);
		pwb_json_num(j, "ct_insert_ns_v4", s->ct_insert_ns[0]);
		pwb_json_num(j, "ct_insert_ns_v6", s->ct_insert_ns[1]);
		pwb_json_end(j);
	}
	pwb_json_end(j);
	dp_flatness(r, &worst, &wc);
	pwb_json_obj(j, "flatness");
	pwb_json_num(j, "worst_ratio", wc >= 0 ? worst : NAN);
	pwb_json_str(j, "worst_case", wc >= 0 ? pwb_case_names[wc] : NULL);
	pwb_json_str(j, "definition", "ns/packet at the largest size / at the smallest, worst of "
		     "the measured policy-path cases (established, new, deny; v4 and v6; "
		     "dns-answer): per case the median over rounds (round_ratios) of the median "
		     "over a round's turns of the slice at the largest size / the slice at the "
		     "smallest, run back to back (ratio_max_min)");
	pwb_json_end(j);
	pwb_json_arr(j, "notes");
	pwb_json_str(j, NULL, "test_run repeats one packet: caches are warm, so the figures are "
		     "the instructions and the lookup depth of each path, not cache misses of a "
		     "node with many flows");
	pwb_json_str(j, NULL, "new: a TCP RST+ACK of an allowed peer is judged as a new flow on "
		     "every repeat (RSTs open no conntrack entry): ct miss + ipcache + policy hit, "
		     "without the ct insert");
	pwb_json_str(j, NULL, "new+ct: new + (median single-run SYN with its ct entry deleted "
		     "before each run - median single-run RST), interleaved, per run");
	pwb_json_str(j, NULL, "deny: the ring buffer is not drained, so after the first events "
		     "the per-CPU rate limiter suppresses them, as under a flood of denied packets");
	pwb_json_end(j);
}

/* ------------------------------------------------------------- control */

static void lat_json(struct pwb_json *j, const char *key, const struct pwb_cl_latency *l)
{
	pwb_json_obj(j, key);
	pwb_json_int(j, "n", l->n);
	pwb_json_int(j, "missed", l->missed);
	pwb_json_num(j, "p50_ms", l->p50_ms);
	pwb_json_num(j, "p90_ms", l->p90_ms);
	pwb_json_num(j, "p99_ms", l->p99_ms);
	pwb_json_num(j, "max_ms", l->max_ms);
	pwb_json_num(j, "min_ms", l->min_ms);
	pwb_json_num(j, "agent_apply_p50_ms", l->apply_p50_ms);
	pwb_json_num(j, "agent_apply_p99_ms", l->apply_p99_ms);
	pwb_json_num(j, "agent_cpu_p50_ms", l->cpu_p50_ms);
	pwb_json_num(j, "agent_cpu_p99_ms", l->cpu_p99_ms);
	pwb_json_obj(j, "agent_stage_p50_ms");
	for (int k = 0; k < PWB_STAGES; k++)
		pwb_json_num(j, pwb_stage_names[k], l->stage_p50_ms[k]);
	pwb_json_end(j);
	pwb_json_arr(j, "slowest");
	for (int i = 0; i < l->n_tail; i++) {
		const struct pwb_cl_slow *t = &l->tail[i];

		pwb_json_obj(j, NULL);
		pwb_json_int(j, "change", t->index);
		pwb_json_num(j, "ms", t->ms);
		pwb_json_num(j, "agent_apply_ms", t->apply_ms);
		pwb_json_obj(j, "agent_stage_ms");
		for (int k = 0; k < PWB_STAGES; k++)
			pwb_json_num(j, pwb_stage_names[k], t->stage_ms[k]);
		pwb_json_end(j);
		pwb_json_num(j, "agent_cpu_ms", t->cpu_ms);
		pwb_json_num(j, "agent_user_ms", t->user_ms);
		pwb_json_num(j, "agent_system_ms", t->sys_ms);
		pwb_json_num(j, "agent_run_queue_ms", t->runq_ms);
		pwb_json_int(j, "agent_minor_faults", t->minflt);
		pwb_json_int(j, "agent_voluntary_switches", t->nvcsw);
		pwb_json_int(j, "agent_involuntary_switches", t->nivcsw);
		pwb_json_bool(j, "agent_maps_read_back", t->read_back);
		pwb_json_end(j);
	}
	pwb_json_end(j);
	pwb_json_end(j);
}

static void cl_json(struct pwb_json *j, const struct pwb_cl_result *r)
{
	pwb_json_obj(j, "compile_load");
	for (int i = 0; i < r->n_load; i++) {
		const struct pwb_cl_load *l = &r->load[i];
		char key[32];

		snprintf(key, sizeof(key), "%zu", l->policies);
		pwb_json_obj(j, key);
		pwb_json_int(j, "policies", (long long)l->policies);
		pwb_json_int(j, "pods", (long long)l->pods);
		pwb_json_int(j, "local_pods", (long long)l->local_pods);
		pwb_json_int(j, "yaml_bytes", (long long)l->yaml_bytes);
		pwb_json_num(j, "parse_ms", l->parse_ms);
		pwb_json_num(j, "compile_ms", l->compile_ms);
		pwb_json_num(j, "compile_again_ms", l->compile_again_ms);
		pwb_json_num(j, "compile_cached_ms", l->compile_cached_ms);
		pwb_json_num(j, "sync_ms", l->sync_ms);
		pwb_json_num(j, "total_ms", l->total_ms);
		pwb_json_num(j, "resync_noop_ms", l->resync_ms);
		pwb_json_num(j, "sync_one_change_ms", l->change_ms);
		pwb_json_num(j, "sync_one_change_cached_ms", l->change_cached_ms);
		pwb_json_num(j, "bpf_object_load_ms", l->obj_load_ms);
		pwb_json_int(j, "endpoints", (long long)l->n_eps);
		pwb_json_int(j, "ipcache_entries", (long long)l->n_ipc);
		pwb_json_int(j, "policy_entries", (long long)l->n_pol);
		pwb_json_int(j, "identities", (long long)l->n_ids);
		pwb_json_int(j, "rules", (long long)l->n_rules);
		pwb_json_end(j);
	}
	pwb_json_end(j);
	if (r->have_agent) {
		pwb_json_obj(j, "latency");
		pwb_json_int(j, "policies", (long long)r->agent_policies);
		pwb_json_int(j, "pods", (long long)r->agent_pods);
		lat_json(j, "policy_file", &r->lat_policy);
		lat_json(j, "pod_label", &r->lat_label);
		pwb_json_num(j, "worst_p99_ms", r->lat_policy.p99_ms > r->lat_label.p99_ms ?
			     r->lat_policy.p99_ms : r->lat_label.p99_ms);
		pwb_json_str(j, "method", "podwall agent --source DIR running; the bench rewrites a "
			     "file of DIR (write to a temp name + rename) and polls the pinned config "
			     "map until its generation moves past the one before the write, then "
			     "checks the expected policy/endpoint entry in the live slot");
		pwb_json_end(j);
		pwb_json_obj(j, "memory");
		pwb_json_int(j, "maps_memlock_bytes", (long long)r->maps_memlock);
		pwb_json_int(j, "maps_left_out", r->maps_left_out);
		pwb_json_obj(j, "per_map");
		for (int i = 0; i < r->n_maps; i++)
			pwb_json_int(j, r->maps[i].name, (long long)r->maps[i].memlock);
		pwb_json_end(j);
		/* what each map costs: its size, its slots, what it holds */
		pwb_json_obj(j, "maps");
		for (int i = 0; i < r->n_maps; i++) {
			pwb_json_obj(j, r->maps[i].name);
			pwb_json_int(j, "memlock_bytes", (long long)r->maps[i].memlock);
			pwb_json_int(j, "max_entries", r->maps[i].max_entries);
			pwb_json_int(j, "key_size", r->maps[i].key_size);
			pwb_json_int(j, "value_size", r->maps[i].value_size);
			pwb_json_num(j, "bytes_per_slot", r->maps[i].max_entries ?
				     (double)r->maps[i].memlock / r->maps[i].max_entries : 0);
			if (r->maps[i].entries >= 0) {
				pwb_json_int(j, "entries", r->maps[i].entries);
				pwb_json_num(j, "bytes_per_entry_held", r->maps[i].entries ?
					     (double)r->maps[i].memlock / (double)r->maps[i].entries : 0);
			}
			else
				pwb_json_null(j, "entries");
			pwb_json_end(j);
		}
		pwb_json_end(j);
		pwb_json_int(j, "agent_rss_bytes", (long long)r->agent_rss);
		pwb_json_int(j, "agent_rss_peak_bytes", (long long)r->agent_rss_peak);
		pwb_json_end(j);
	} else {
		pwb_json_str(j, "agent_error", r->agent_error[0] ? r->agent_error : "skipped");
	}
}

static void lat_line(const char *what, const struct pwb_cl_latency *l)
{
	printf("  change -> enforced, %-11s p50 %6.2f ms  p90 %6.2f ms  p99 %6.2f ms  max %6.2f ms"
	       "  (%d changes%s; agent's own apply p50 %.2f ms, p99 %.2f ms)\n", what, l->p50_ms,
	       l->p90_ms, l->p99_ms, l->max_ms, l->n, l->missed ? ", some never seen" : "",
	       l->apply_p50_ms, l->apply_p99_ms);
	printf("      agent's apply, median per stage:");
	for (int k = 0; k < PWB_STAGES; k++)
		printf(" %s %.2f ms,", pwb_stage_names[k], l->stage_p50_ms[k]);
	printf(" its CPU time p50 %.2f ms, p99 %.2f ms\n", l->cpu_p50_ms, l->cpu_p99_ms);
	/* the slow tail: the agent's stages, its CPU time (the rest of its wall
	 * time it waited: for a CPU, a lock, the kernel), and the time outside
	 * its apply (the wake-up on the change, the bench seeing the maps) */
	for (int i = 0; i < l->n_tail; i++) {
		const struct pwb_cl_slow *t = &l->tail[i];

		printf("      %s %6.2f ms (change %3d):", i ? "       " : "slowest", t->ms, t->index);
		if (isnan(t->apply_ms)) {
			printf(" no apply line of its generation\n");
			continue;
		}
		for (int k = 0; k < PWB_STAGES; k++)
			printf(" %s %.1f", pwb_stage_names[k], t->stage_ms[k]);
		printf(", outside the apply %.1f; cpu %.1f ms (user %.1f, system %.1f), "
		       "run queue %.1f ms, %ld faults, %ld+%ld switches%s\n", t->ms - t->apply_ms,
		       t->cpu_ms, t->user_ms, t->sys_ms, t->runq_ms,
		       t->minflt, t->nvcsw, t->nivcsw,
		       t->read_back ? "; maps read back" : "");
	}
}

static void cl_table(const struct pwb_cl_result *r)
{
	printf("control plane\n");
	for (int i = 0; i < r->n_load; i++) {
		const struct pwb_cl_load *l = &r->load[i];

		printf("  %6zu policies, %zu pods (%zu local): parse %.0f ms + compile %.0f ms + "
		       "sync %.0f ms = %.0f ms  (%zu policy, %zu ipcache entries; compile again "
		       "%.1f ms, %.1f ms cached; no-op resync %.0f ms, one-entry change %.1f ms, "
		       "%.1f ms cached; BPF object load %.0f ms)\n",
		       l->policies, l->pods, l->local_pods, l->parse_ms, l->compile_ms, l->sync_ms,
		       l->total_ms, l->n_pol, l->n_ipc, l->compile_again_ms, l->compile_cached_ms,
		       l->resync_ms, l->change_ms, l->change_cached_ms, l->obj_load_ms);
	}
	if (!r->have_agent) {
		printf("  agent: %s\n", r->agent_error[0] ? r->agent_error : "skipped");
		return;
	}
	lat_line("policy file", &r->lat_policy);
	lat_line("pod label", &r->lat_label);
	printf("  maps: %.1f MiB memlock (the kernel's fdinfo), each:\n", r->maps_memlock / 1048576.0);
	if (r->maps_left_out)
		printf("  (%d more pinned maps not counted: the total is short)\n", r->maps_left_out);
	for (int i = 0; i < r->n_maps; i++) {
		printf("    %-14s %8.2f MiB  %7u slots x %6.0f B", r->maps[i].name,
		       r->maps[i].memlock / 1048576.0, r->maps[i].max_entries,
		       r->maps[i].max_entries ? (double)r->maps[i].memlock / r->maps[i].max_entries : 0.0);
		if (r->maps[i].entries > 0)
			printf("  %8lld held, %6.0f B each", (long long)r->maps[i].entries,
			       (double)r->maps[i].memlock / (double)r->maps[i].entries);
		else if (r->maps[i].entries == 0)
			printf("         0 held");
		printf("\n");
	}
	printf("  agent RSS %.1f MiB (peak %.1f MiB) with %zu policies over %zu pods\n",
	       r->agent_rss / 1048576.0, r->agent_rss_peak / 1048576.0, r->agent_policies,
	       r->agent_pods);
}

/* ---------------------------------------------------------------- main */

enum { O_OUTPUT = 1, O_REPEAT, O_RUNS, O_ENTRIES, O_SAMPLES, O_CPU, O_PODS, O_LOCAL_PODS,
       O_POLICIES, O_CHANGES, O_NO_AGENT, O_VERBOSE };

static const struct pw_opt bench_opts[] = {
	PW_OPT_OUTPUT(O_OUTPUT),
	{ O_ENTRIES, 0, "entries", "N,N,...", "datapath: policy entries of each run "
	  "(10,1000,10000,100000)", NULL },
	{ O_REPEAT, 0, "repeat", "N", "datapath, tiers: packets per run (1000000)", NULL },
	{ O_RUNS, 0, "runs", "N", "datapath: rounds, tiers: runs; the median is kept (5)", NULL },
	{ O_SAMPLES, 0, "samples", "N", "datapath: single runs for new+ct (20000)", NULL },
	{ O_CPU, 0, "cpu", "N", "datapath: the CPU to pin to (0; -1: not pinned)", NULL },
	{ O_PODS, 0, "pods", "N", "control: pods (10000)", NULL },
	{ O_LOCAL_PODS, 0, "local-pods", "N", "control: of which local (100)", NULL },
	{ O_POLICIES, 0, "policies", "N,N", "control: policies of each run (1000,10000)", NULL },
	{ O_CHANGES, 0, "changes", "N", "control: changes timed (100)", NULL },
	{ O_NO_AGENT, 0, "no-agent", NULL, "control: compile and load only, no agent", NULL },
	{ O_VERBOSE, 'v', "verbose", NULL, "say what runs", NULL },
	{ 0 },
};

const struct pw_cmd_doc pw_doc_bench = {
	"bench",
	"[datapath|control|tiers|names|all] [-o text|json] [--entries N,N,...] [--repeat N] [--runs N] "
	"[--samples N] [--cpu N] [--pods N] [--local-pods N] [--policies N,N] [--changes N] "
	"[--no-agent] [-v]",
	"per-packet and control-plane figures",
	bench_opts,
};

static const char bench_about[] =
	"datapath: ns/packet of to_pod with BPF_PROG_TEST_RUN at each --entries\n"
	"  count (default 10,1000,10000,100000), --repeat per run (1000000),\n"
	"  median of --runs (5), pinned to --cpu (0; -1: not pinned):\n"
	"  established = conntrack hit; new = ct miss + ipcache + policy hit\n"
	"  (a RST, which opens no ct entry); new+ct = new + the ct insert,\n"
	"  from --samples single runs of a SYN whose entry is deleted before\n"
	"  each minus single runs of the RST; deny = 2 policy lookups + drop.\n"
	"control: compile + load of --policies (1000,10000) over --pods\n"
	"  (10000, --local-pods 100 local), then an agent on a directory of\n"
	"  them: --changes (100) policy edits and pod label edits, each timed\n"
	"  until the pinned config generation moves; map memory, agent RSS.\n"
	"  Run it in a network namespace of its own (scripts/bench.sh does).\n"
	"tiers: NetworkPolicy rules with and without ClusterNetworkPolicy tiers.\n"
	"names: a new egress packet matched through a learned domain name vs a networks CIDR.\n";

struct bench_args {
	struct pwb_dp_opts *dp;
	struct pwb_cl_opts *cl;
	bool                json, do_dp, do_cl, do_tiers, do_names, part_given;
};

static int bench_opt(void *ctx, const struct pw_opt *o, const char *val)
{
	struct bench_args *a = ctx;
	int v, bad = 0;

	if (!o) {
		if (a->part_given)
			return pw_opts_bad(&pw_doc_bench, "unexpected argument '%s'", val);
		a->part_given = true;
		a->do_dp = !strcmp(val, "datapath") || !strcmp(val, "all");
		a->do_cl = !strcmp(val, "control") || !strcmp(val, "all");
		a->do_tiers = !strcmp(val, "tiers");
		a->do_names = !strcmp(val, "names");
		if (!a->do_dp && !a->do_cl && !a->do_tiers && !a->do_names)
			return pw_opts_bad(&pw_doc_bench, "unknown part '%s' (datapath, control, "
					   "tiers, names, all)", val);
		return 0;
	}
	switch (o->id) {
	case O_OUTPUT:   return pw_opts_output(&pw_doc_bench, val, &a->json);
	case O_REPEAT:   bad = parse_int(val, 1, 1000000000, &a->dp->repeat); break;
	case O_RUNS:     bad = parse_int(val, 1, PWB_MAX_RUNS, &a->dp->runs); break;
	case O_SAMPLES:  bad = parse_int(val, 1, 10000000, &a->dp->samples); break;
	case O_CPU:      bad = parse_int(val, -1, CPU_SETSIZE - 1, &a->dp->cpu); break;
	case O_ENTRIES:  bad = parse_list(val, a->dp->sizes, PWB_MAX_SIZES, &a->dp->n_sizes); break;
	case O_PODS:
		bad = parse_int(val, 1, 1000000, &v);
		a->cl->pods = (size_t)v;
		break;
	case O_LOCAL_PODS:
		bad = parse_int(val, 1, 4000, &v);
		a->cl->local_pods = (size_t)v;
		break;
	case O_POLICIES: bad = parse_list(val, a->cl->policies, PWB_MAX_CL, &a->cl->n_policies); break;
	case O_CHANGES:  bad = parse_int(val, 1, 100000, &a->cl->changes); break;
	case O_NO_AGENT: a->cl->no_agent = true; break;
	case O_VERBOSE:  a->dp->verbose = a->cl->verbose = true; break;
	}
	if (bad)
		return pw_opts_bad(&pw_doc_bench, "bad value '%s' for %s", val, pw_opt_name(o));
	return 0;
}

int cmd_bench(int argc, char **argv)
{
	struct pwb_dp_opts dp = {
		.repeat = 1000000, .runs = 5, .samples = 20000,
		.sizes = { 10, 1000, 10000, 100000 }, .n_sizes = 4, .cpu = 0,
	};
	struct pwb_cl_opts cl = {
		.pods = 10000, .local_pods = 100, .policies = { 1000, 10000 }, .n_policies = 2,
		.changes = 100,
	};
	struct bench_args args = { .dp = &dp, .cl = &cl, .do_dp = true };
	bool json, do_dp, do_cl, do_tiers;
	struct pwb_dp_result *dpr = NULL;
	struct pwb_cl_result *clr = NULL;
	char self[PATH_MAX];
	ssize_t sl;
	int rc = PW_EXIT_OK, err;

	rc = pw_opts_parse(&pw_doc_bench, argc, argv, bench_opt, &args);
	if (rc == PW_OPTS_HELP)
		printf("\n%s", bench_about);
	if (rc)
		return rc == PW_OPTS_HELP ? PW_EXIT_OK : rc;
	json = args.json;
	do_dp = args.do_dp;
	do_cl = args.do_cl;
	do_tiers = args.do_tiers;
	if (geteuid() != 0) {
		fprintf(stderr, "podwall bench: needs root (BPF, network namespaces)\n");
		return PW_EXIT_SYSTEM;
	}
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0) {
		fprintf(stderr, "podwall bench: /proc/self/exe: %s\n", strerror(errno));
		return PW_EXIT_SYSTEM;
	}
	self[sl] = 0;
	cl.self = self;

	if (args.do_names) {
		err = pwb_names(dp.repeat, dp.runs, json, stdout);
		if (err)
			fprintf(stderr, "podwall bench: names: %s\n", strerror(-err));
		return err ? PW_EXIT_SYSTEM : PW_EXIT_OK;
	}
	if (do_tiers) {
		err = pwb_tiers(dp.repeat, dp.runs, stdout);
		if (err)
			fprintf(stderr, "podwall bench: tiers: %s\n", strerror(-err));
		return err ? PW_EXIT_SYSTEM : PW_EXIT_OK;
	}
	if (do_dp) {
		dpr = calloc(1, sizeof(*dpr));
		if (!dpr)
			return PW_EXIT_SYSTEM;
		err = pwb_datapath(&dp, dpr);
		if (err) {
			fprintf(stderr, "podwall bench: datapath: %s\n", strerror(-err));
			rc = PW_EXIT_SYSTEM;
			goto out;
		}
	}
	if (do_cl) {
		clr = calloc(1, sizeof(*clr));
		if (!clr) {
			rc = PW_EXIT_SYSTEM;
			goto out;
		}
		err = pwb_control(&cl, clr);
		if (err) {
			fprintf(stderr, "podwall bench: control plane: %s\n", strerror(-err));
			rc = PW_EXIT_SYSTEM;
			goto out;
		}
	}

	if (json) {
		struct pwb_json j;

		pwb_json_begin(&j, stdout);
		pwb_json_obj(&j, NULL);
		if (dpr)
			dp_json(&j, dpr);
		if (clr)
			cl_json(&j, clr);
		pwb_json_end(&j);
	} else {
		if (dpr)
			dp_table(dpr);
		if (dpr && clr)
			printf("\n");
		if (clr)
			cl_table(clr);
	}
out:
	free(dpr);
	free(clr);
	return rc;
}
