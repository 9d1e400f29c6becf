/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * route: rtnetlink lookups of the network namespace the agent runs in
 * (raw AF_NETLINK, no library): links by name or index, a pod's host device
 * from the node's route to its address, the uplinks (devices of routes with a
 * gateway), and a generic request/dump used by attach.c for tc filters.
 *
 * Never /sys/class/net: under `nsenter --net` it shows the host's view.
 */
#ifndef PODWALL_KERNEL_ROUTE_H
#define PODWALL_KERNEL_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <linux/netlink.h>

struct pw_pod;

/* An rtnetlink socket. */
struct pw_rt;

int  pw_rt_open(struct pw_rt **out);
void pw_rt_close(struct pw_rt *rt);

/*
 * Send req (nlmsg_seq and nlmsg_pid are set here; NLM_F_REQUEST is added,
 * and NLM_F_ACK unless NLM_F_DUMP is set) and call cb for every reply message
 * until NLMSG_DONE or the ACK. cb returns 0 to go on, < 0 to stop with that
 * error (the rest of the reply is drained). Returns 0 or a negative errno
 * (the kernel's, for an NLMSG_ERROR reply).
 */
typedef int (*pw_rt_cb)(const struct nlmsghdr *nh, void *ctx);
int pw_rt_request(struct pw_rt *rt, struct nlmsghdr *req, pw_rt_cb cb, void *ctx);

/*
 * Change notifications: a non-blocking rtnetlink socket joined to the link,
 * address, route and rule groups of both families (not tc: the agent's own
 * filters do not wake it). pw_rt_monitor_drain reads every pending message:
 * 1 if there was any (or some were lost, ENOBUFS), 0 if none, or a negative
 * errno. What changed is not parsed: a change means "dump again".
 */
int pw_rt_monitor_open(int *fd);
int pw_rt_monitor_drain(int fd);

/* Append an attribute to req (whose buffer is maxlen bytes). -E2BIG if full. */
int pw_rt_addattr(struct nlmsghdr *req, size_t maxlen, int type, const void *data, size_t len);

/* Parse the attributes that follow a header of hdrlen bytes in nh into tb[0..max]. */
struct rtattr;
void pw_rt_parse(const struct nlmsghdr *nh, size_t hdrlen, struct rtattr **tb, int max);
void pw_rt_parse_nested(const struct rtattr *rta, struct rtattr **tb, int max);

struct pw_link {
	uint32_t ifindex;
	uint32_t flags;            /* IFF_* */
	char     name[IF_NAMESIZE];
	char     kind[16];         /* IFLA_INFO_KIND ("veth", ...), "" if none */
};

/* Links. -ENODEV if there is no such link. */
int pw_rt_link_by_name(struct pw_rt *rt, const char *name, struct pw_link *out);
int pw_rt_link_by_index(struct pw_rt *rt, uint32_t ifindex, struct pw_link *out);
/* Every link (RTM_GETLINK dump). *out is malloc'd. */
int pw_rt_links(struct pw_rt *rt, struct pw_link **out, size_t *n);

/*
 * The host device of a local pod address (IPv4-mapped or IPv6): the node's
 * route to it (RTM_GETROUTE, FIB match) is a unicast /32 (/128) route with an
 * output device and no gateway. *ifindex = 0 when the address is remote (a
 * gateway route, a wider route, no route) — not an error.
 */
int pw_rt_host_dev(struct pw_rt *rt, const uint8_t addr[16], uint32_t *ifindex);

/*
 * The node's own unicast addresses (RTM_GETADDR dump, IPv4-mapped or IPv6;
 * loopback left out), sorted, unique. *out is malloc'd, 16 bytes each.
 */
int pw_rt_host_addrs(struct pw_rt *rt, uint8_t (**out)[16], size_t *n);

/* The output devices of every unicast route with a gateway, sorted, unique. */
int pw_rt_gateway_devs(struct pw_rt *rt, uint32_t **out, size_t *n);

/*
 * The compiler's pw_local_fn (compiler.h): ctx is a struct pw_resolver.
 * Annotation podwall.io/host-veth: NAME wins; else the first address of the
 * pod whose route is local. 0 = not local (or its device is not there yet).
 *
 * Without a snapshot every lookup asks the kernel (a link request per
 * annotated pod, a route request per address). With one
 * (pw_resolver_snapshot: one link dump, and one route dump and one rule dump
 * per family), lookups are answered from memory: an address with no /32
 * (/128) route in any table the FIB consults is remote; one whose only such
 * route is in the main table, of tos 0, alive, with no local-table route
 * covering the address, under the default routing rules, gets what the FIB
 * would answer; anything else (policy routing, several candidate routes...)
 * is asked of the kernel as before, so the answers are the same either way.
 */
struct pw_rt_snap;

struct pw_resolver {
	struct pw_rt      *rt;
	size_t             n_local;    /* pods found local in this pass */
	size_t             n_missing;  /* annotated devices that do not exist (yet) */
	/* if set, told (one line, no newline) of annotated devices missing or
	 * refused: the engine's log on the pushes that report */
	void             (*note)(void *ctx, const char *line);
	void              *note_ctx;
	struct pw_rt_snap *snap;       /* pw_resolver_snapshot; NULL: ask per lookup */
	size_t             n_queries;  /* netlink requests made by lookups */
};
uint32_t pw_resolve_local(void *ctx, const struct pw_pod *pod);

/* Take the snapshot (replacing one taken before). On failure r->snap is
 * NULL, lookups ask the kernel, and the error is returned. */
int  pw_resolver_snapshot(struct pw_resolver *r);
void pw_resolver_release(struct pw_resolver *r);
/* pw_rt_gateway_devs from the snapshot's route dumps (asks the kernel
 * when there is no snapshot). */
int  pw_resolver_gateway_devs(struct pw_resolver *r, uint32_t **out, size_t *n);

#endif
