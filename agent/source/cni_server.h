/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's side of podwall-cni (cni_proto.h): the endpoint registry and
 * the unix socket server.
 *
 * The registry maps each CNI attachment (container ID + interface) to its pod
 * (namespace/name), host veth (name and ifindex) and addresses. It is written
 * to a JSON file (e.g. /run/podwall/endpoints.json) after every change, so a
 * restarted agent still knows its pods; entries whose device is gone or
 * renamed are dropped when they are found so.
 */
#ifndef PODWALL_SOURCE_CNI_SERVER_H
#define PODWALL_SOURCE_CNI_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct pw_error;

struct pw_rt;

struct pw_cni_ep {
	char    *cid;           /* CNI_CONTAINERID */
	char     ifname[16];    /* CNI_IFNAME */
	char    *ns;            /* K8S_POD_NAMESPACE */
	char    *name;          /* K8S_POD_NAME */
	char     veth[16];      /* host side */
	uint32_t ifindex;
	uint8_t  ips[2][16];    /* IPv4-mapped or IPv6 */
	size_t   n_ips;
	uint64_t seq;           /* registration order: the newest entry of a pod wins */
	bool     alive;         /* the device is there with that name (last check) */
	bool     pending;       /* no Pod object yet: isolated until it is known */
};

struct pw_cni_reg {
	struct pw_cni_ep *v;
	size_t            n;
	uint64_t          next_seq;
	uint64_t          cookie;   /* network namespace the entries belong to */
	char             *path;     /* state file, NULL: not persisted */
};

/* Load the state file (a missing file is an empty registry). 0 or -errno. */
int  pw_cni_reg_load(struct pw_cni_reg *r, const char *path, uint64_t cookie);
int  pw_cni_reg_save(const struct pw_cni_reg *r);
void pw_cni_reg_free(struct pw_cni_reg *r);

/* Insert or replace the entry of (ep->cid, ep->ifname); takes ep's strings. */
struct pw_cni_ep *pw_cni_reg_put(struct pw_cni_reg *r, struct pw_cni_ep *ep);
/* Remove the entries of cid (and ifname, if not NULL). Returns how many. */
size_t pw_cni_reg_del(struct pw_cni_reg *r, const char *cid, const char *ifname);
struct pw_cni_ep *pw_cni_reg_find(struct pw_cni_reg *r, const char *cid, const char *ifname);
/* The newest live entry of pod ns/name, or NULL. */
const struct pw_cni_ep *pw_cni_reg_pod(const struct pw_cni_reg *r, const char *ns,
				       const char *name);
/*
 * Check every entry's device by netlink: alive iff ifindex exists with the
 * registered name. Entries whose device is gone (ENODEV or renamed) are
 * removed when drop_gone. Returns true if anything changed.
 */
bool pw_cni_reg_refresh(struct pw_cni_reg *r, struct pw_rt *rt, bool drop_gone);

/* ------------------------------------------------------------- the socket */

/*
 * Listen on path (its directory is made 0700, the socket is 0600, a stale
 * socket file is replaced; a live one, i.e. another agent, is an error).
 * Returns the listening fd or -errno (why said).
 */
int pw_cni_listen(const char *path, struct pw_error *why);

/* The name of ns/name's stand-in while no Pod object is known (pending). */
#define PW_CNI_PENDING_NS "podwall-pending"
void pw_cni_pending_name(const char *ns, const char *name, char *buf, size_t len);

/*
 * Parse one request line into *ep (for ADD/CHECK: pod, veth, ips). op gets
 * "ADD", "DEL" or "CHECK". On failure returns -EINVAL with why set.
 */
int pw_cni_parse_request(const char *line, char *op, size_t op_len, struct pw_cni_ep *ep,
			 uint64_t *cookie, char *why, size_t why_len);

/* The answer line ("...\n"), malloc'd. */
char *pw_cni_answer(bool ok, int code, const char *msg, const char *details, bool pending);

#endif
