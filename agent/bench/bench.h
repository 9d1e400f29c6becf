/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bench: what enforcement costs (DESIGN §7), measured by `podwall bench`.
 *
 *   datapath.c  per packet: BPF_PROG_TEST_RUN ns/packet of the real programs
 *               with 10 .. 100,000 policy entries in private maps;
 *   control.c   control plane: compile + load time, change -> enforced
 *               latency of a running agent, map memory, agent RSS;
 *   util.c      clocks, order statistics, a minimal JSON writer.
 *
 * Each part fills plain result structs; cmd/bench.c prints them as a table
 * or as JSON (the figures scripts/bench.sh merges into bench.json).
 */
#ifndef PODWALL_BENCH_H
#define PODWALL_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PWB_MAX_SIZES 8
#define PWB_MAX_RUNS  32

/* ------------------------------------------------------------ datapath */

enum pwb_case {
	PWB_PASS_ONLY = 0,  /* pass_only: returns TC_ACT_OK, nothing else */
	PWB_V4_EST,         /* established: conntrack hit */
	PWB_V4_NEW,         /* new flow: ct miss -> ipcache -> policy -> allow (no ct insert) */
	PWB_V4_NEW_CT,      /* new flow including the conntrack insert (derived, see datapath.c) */
	PWB_V4_DENY,        /* no rule: ct miss -> ipcache -> 2 policy lookups -> drop + event */
	PWB_V6_EST,
	PWB_V6_NEW,
	PWB_V6_NEW_CT,
	PWB_V6_DENY,
	PWB_DNS_ANSWER,     /* a DNS answer (reply of a tracked query) to a pod that learns no names */
	PWB_DNS_LEARN,      /* the same to a pod that learns: parsed, matched, learned (derived) */
	PWB_NCASES,
};

struct pwb_dp_opts {
	int      repeat;                 /* BPF_PROG_TEST_RUN repeat per run (>= 1,000,000) */
	int      runs;                   /* rounds over all sizes; medians are reported */
	int      samples;                /* single-packet runs per run for the *_NEW_CT cases */
	size_t   sizes[PWB_MAX_SIZES];   /* policy entries loaded */
	int      n_sizes;
	int      cpu;                    /* pin to this CPU (-1: don't) */
	bool     verbose;                /* progress on stderr */
};

struct pwb_dp_point {
	double   ns;                     /* median of runs */
	double   run_ns[PWB_MAX_RUNS];   /* per round (every size is measured in each) */
	int      verdict;                /* TC_ACT_* of the program */
};

struct pwb_dp_size {
	size_t   entries;                /* policy entries actually loaded */
	size_t   endpoints, ipcache, identities;
	double   fill_ms;                /* time to write the maps */
	struct pwb_dp_point c[PWB_NCASES];
	double   ct_insert_ns[2];        /* derived conntrack insert cost, v4 / v6 */
	double   dns_learn_ns;           /* derived: what learning adds to a DNS answer */
};

struct pwb_dp_result {
	struct pwb_dp_opts opts;
	struct pwb_dp_size sz[PWB_MAX_SIZES];
	int      n_sizes;
	/* flatness per case (datapath.c): each round's ratio of the largest
	 * size to the smallest, paired slice by slice, and their median over
	 * the rounds (NAN with one size) */
	double   round_ratio[PWB_NCASES][PWB_MAX_RUNS];
	double   ratio[PWB_NCASES];
	char     kernel[128];
};

extern const char *const pwb_case_names[PWB_NCASES];
extern const char *const pwb_case_desc[PWB_NCASES];

int pwb_datapath(const struct pwb_dp_opts *o, struct pwb_dp_result *r);

/* ------------------------------------------------------------- control */

#define PWB_MAX_CL 4

struct pwb_cl_opts {
	const char *self;               /* path of the podwall binary (for the agent) */
	size_t   pods;                  /* pods in the cluster (10,000) */
	size_t   local_pods;            /* of which local to this node */
	size_t   policies[PWB_MAX_CL];  /* policy counts to compile + load */
	int      n_policies;
	int      changes;               /* changes per latency series (>= 100) */
	bool     no_agent;              /* skip the latency and RSS part */
	bool     verbose;
};

struct pwb_cl_load {
	size_t   policies, pods, local_pods;
	size_t   yaml_bytes;
	double   parse_ms, compile_ms, sync_ms, total_ms;
	double   compile_again_ms;      /* the same cluster compiled again (median of 9) */
	double   compile_cached_ms;     /* the same with a pw_compile_cache (pods known), as the agent */
	double   obj_load_ms;           /* BPF object open+verify+load (agent start, not per change) */
	double   resync_ms;             /* the same state written again (a no-op diff) */
	double   change_ms;             /* sync of a one-entry change (median) */
	double   change_cached_ms;      /* the same with a pw_sync_cache, as the agent syncs */
	size_t   n_eps, n_ipc, n_pol, n_ids, n_rules;
};

#define PWB_TAIL_MIN 2
#define PWB_TAIL_MAX 8

struct pwb_cl_latency {
	int      n;                     /* changes measured */
	int      missed;                /* changes never seen within the timeout */
	double   p50_ms, p90_ms, p99_ms, max_ms, min_ms;
	double   apply_p50_ms, apply_p99_ms; /* the agent's own "applied in" times */
	/* the agent thread's CPU time per apply: what a change costs it, apart
	 * from waiting for a CPU (the wall-time figures include that) */
	double   cpu_p50_ms, cpu_p99_ms;
	/* medians of the stages the agent's apply line reports (PWB_STAGE_*) */
	double   stage_p50_ms[5];
	/* the slowest 1 % of the changes (at least PWB_TAIL_MIN), slowest first:
	 * where their time went, from the apply line of the generation seen */
	struct pwb_cl_slow {
		int    index;           /* which change of the series, from 1 */
		double ms;              /* change -> enforced */
		double apply_ms;        /* the agent's apply (NAN: no line of that generation) */
		double stage_ms[5];     /* PWB_STAGE_* */
		double cpu_ms;          /* the agent thread's CPU time in the push */
		double user_ms, sys_ms; /* ... in user space, in the kernel (and in
					 * the softirqs that hit it: engine.h) */
		double runq_ms;         /* ... and its wait for a CPU (NAN: unknown) */
		long   minflt, nvcsw, nivcsw;
		bool   read_back;       /* its sync read the maps back (no sync cache) */
	} tail[PWB_TAIL_MAX];
	int      n_tail;
};

/* The stages of the agent's "applied ... (ms: load L resolve R ...)" line. */
enum { PWB_STAGE_LOAD, PWB_STAGE_RESOLVE, PWB_STAGE_COMPILE, PWB_STAGE_SYNC, PWB_STAGE_ATTACH,
       PWB_STAGES };
extern const char *const pwb_stage_names[PWB_STAGES];

struct pwb_cl_result {
	struct pwb_cl_load load[PWB_MAX_CL];
	int      n_load;
	bool     have_agent;
	char     agent_error[256];
	size_t   agent_policies, agent_pods;
	struct pwb_cl_latency lat_policy;   /* a policy file rewritten */
	struct pwb_cl_latency lat_label;    /* a pod's label changed */
	uint64_t maps_memlock;              /* sum over the agent's maps */
	struct {
		char     name[32];
		uint64_t memlock;       /* bytes, the kernel's fdinfo */
		uint32_t max_entries, type, key_size, value_size;
		int64_t  entries;       /* held (hash and LPM maps: walked); -1 not counted */
	} maps[32];                         /* the object has 20: room to grow */
	int      n_maps;
	int      maps_left_out;             /* pinned maps past maps[]: the sum is short */
	uint64_t agent_rss, agent_rss_peak;  /* bytes, after the latency series */
};

int pwb_control(const struct pwb_cl_opts *o, struct pwb_cl_result *r);

/* ---------------------------------------------------------------- tiers */
/* ClusterNetworkPolicy tiers on 10,000 NetworkPolicy rules: compile + load
 * and ns/packet with and without 1,000 CNP rules (tiers.c); a table on out. */
int pwb_tiers(int repeat, int runs, FILE *out);

/* ---------------------------------------------------------------- names */
/* A new egress packet matched through a learned domain name vs a networks
 * CIDR: from_pod ns/packet of each (names.c); a table or one JSON object. */
int pwb_names(int repeat, int runs, bool json, FILE *out);

/* ---------------------------------------------------------------- util */

uint64_t pwb_now_ns(void);
double   pwb_median(double *v, int n);               /* sorts v */
double   pwb_percentile(double *v, int n, double p); /* sorts v; p in [0, 100] */
/* Pin the calling thread to cpu; returns the old mask in *old (restore with pwb_unpin). */
int      pwb_pin(int cpu, void *old, size_t oldsz);
void     pwb_unpin(const void *old, size_t oldsz);
void     pwb_kernel_release(char *buf, size_t len);
uint64_t pwb_rss_bytes(int pid, uint64_t *peak); /* VmRSS (and VmHWM) of pid */
/*
 * Run fn(ctx, dev) in a private network namespace whose one device
 * "pwbench0" (up) is dev, the endpoint's host veth for BPF_PROG_TEST_RUN;
 * back in the caller's namespace after. fn's result, or a negative errno.
 */
int      pwb_in_private_dev(int (*fn)(void *ctx, uint32_t dev), void *ctx);

/* A minimal streaming JSON writer: enough for numbers, strings, nesting. */
struct pwb_json {
	FILE *f;
	int   depth;
	bool  first[32];
	char  close[32];   /* the bracket that closes each level */
};
void pwb_json_begin(struct pwb_json *j, FILE *f);
void pwb_json_obj(struct pwb_json *j, const char *key);   /* key NULL inside arrays / at top */
void pwb_json_arr(struct pwb_json *j, const char *key);
void pwb_json_end(struct pwb_json *j);                     /* closes the innermost obj/arr */
void pwb_json_num(struct pwb_json *j, const char *key, double v);
void pwb_json_int(struct pwb_json *j, const char *key, long long v);
void pwb_json_str(struct pwb_json *j, const char *key, const char *v);
void pwb_json_bool(struct pwb_json *j, const char *key, bool v);
void pwb_json_null(struct pwb_json *j, const char *key);

#endif
