/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Prometheus metrics of `podwall agent --metrics [ADDR:]PORT`, served by
 * libmicrohttpd from its own thread (MHD_USE_INTERNAL_POLLING_THREAD) at
 * /metrics in the text exposition format (version 0.0.4):
 *
 *   podwall_packets_total{direction,verdict,reason}   counter (datapath counters)
 *   podwall_bytes_total{direction,verdict,reason}     counter
 *   podwall_packets_redirected_total{to}              counter (same-node: pod, veth)
 *   podwall_dns_packets_total{pod,verdict}            counter (dns map: allowed, dropped)
 *   podwall_policy_entries                            gauge (live slot)
 *   podwall_map_entries{map} / podwall_map_capacity{map}  gauges
 *   podwall_endpoints, podwall_policy_generation, podwall_audit_mode,
 *   podwall_redirect_mode                             gauges
 *   podwall_apply_duration_seconds                    histogram
 *   podwall_applies_total{result}                     counter
 *   podwall_last_apply_success                        gauge 0/1
 *   podwall_last_apply_timestamp_seconds              gauge
 *   podwall_events_suppressed_pending                 gauge
 *   podwall_fqdn_answers_total{result}, podwall_fqdn_queries_total,
 *   podwall_fqdn_addresses_learned_total, podwall_fqdn_names_expired_total,
 *   podwall_fqdn_names_evicted_total, podwall_fqdn_records_over_bound_total
 *                                                     counters (fqdn_stats)
 *   podwall_fqdn_learned_names{state}                 gauge (fqdn_learned)
 *
 * The same server answers /healthz and /readyz (health.h); `--health
 * [ADDR:]PORT` serves only those two, on an address of its own.
 *
 * A bare PORT listens on 127.0.0.1 only. Another address must be written
 * out ("0.0.0.0:9090", "[::]:9090"); ":9090" is refused as ambiguous.
 */
#ifndef PODWALL_OPS_METRICS_H
#define PODWALL_OPS_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include "engine/engine.h" /* the hooks' types: pw_push_kind, pw_push_result */

/*
 * --metrics SPEC or --health SPEC (name "metrics", "health") of `podwall
 * agent` (its option table, cmd/agent.c): check SPEC and remember it for
 * pw_metrics_start. Returns 0, -EINVAL with err said, or -ENOENT for
 * another name.
 */
int pw_metrics_opt(const char *name, const char *spec, struct pw_error *err);

/*
 * Serve the metrics of the maps pinned in pin_dir, if --metrics was given,
 * and health if --health was (else 0 and nothing happens). Returns 0, -EINVAL for a bad or refused
 * address, another negative errno if the server cannot start, with why
 * said. Where it serves is said through pw_info (log.h).
 */
int pw_metrics_start(const char *pin_dir, struct pw_error *why);
void pw_metrics_stop(void);

/* One apply attempt: how long it took and whether it succeeded. */
void pw_metrics_observe_apply(double seconds, bool ok);

/*
 * pw_engine_hooks.pushed: an apply is a push for a new source or the first
 * one, or any push that synced or failed; quiet periodic passes are not.
 * pw_engine_hooks.load_failed: an apply that failed to load. ctx unused.
 */
void pw_metrics_observe_push(void *ctx, enum pw_push_kind kind, uint64_t start_ns,
			     const struct pw_push_result *res, int err);
void pw_metrics_observe_load_failed(void *ctx, uint64_t start_ns);

/*
 * Parse a --metrics value into a socket address (exposed for tests).
 * Returns 0 (out, len and loopback filled) or -EINVAL with why set.
 */
struct sockaddr_storage;
int pw_metrics_parse_addr(const char *spec, struct sockaddr_storage *out, unsigned *len,
			  bool *loopback, const char **why);

#endif
