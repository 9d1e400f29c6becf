/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The protocol between podwall-cni (cni/) and the agent (cni_server.c).
 *
 * A unix stream socket, mode 0600 in a 0700 directory, owned by root; the
 * agent also checks that the peer is uid 0 (SO_PEERCRED). One request per
 * connection: the plugin writes one JSON object on one line, the agent
 * answers with one JSON object on one line and closes.
 *
 * Request:
 *   {"v": 1, "op": "ADD" | "DEL" | "CHECK",
 *    "containerID": "...", "ifname": "eth0", "netns": "/proc/1234/ns/net",
 *    "namespace": "default", "pod": "web-0",       (ADD, CHECK; DEL if known)
 *    "hostVeth": "veth1234", "hostIfindex": 17,     (ADD, CHECK)
 *    "ips": ["10.0.0.5", "fd00::5"],                (ADD, CHECK)
 *    "netnsCookie": 4096}                           (the plugin's network namespace)
 *
 * Answer:
 *   {"ok": true,  "msg": "...", "pending": false}
 *   {"ok": false, "code": 100..., "msg": "...", "details": "..."}
 *
 * ADD is answered once the pod's host veth carries podwall's programs and its
 * endpoint entry is in the pinned maps (or with an error); DEL once the
 * endpoint is gone from the agent's desired state (it succeeds for unknown
 * containers); CHECK verifies the registration, the device, the endpoint
 * entry and both tc filters.
 */
#ifndef PODWALL_SOURCE_CNI_PROTO_H
#define PODWALL_SOURCE_CNI_PROTO_H

#define PW_CNI_PROTO_VERSION   1
#define PW_CNI_DEFAULT_SOCKET  "/run/podwall/cni.sock"
#define PW_CNI_MAX_REQUEST     (64 * 1024)   /* bytes of one request line */

/* CNI error codes (CNI spec 1.0.0, "Error") podwall-cni uses */
#define PW_CNI_E_VERSION       1    /* incompatible CNI version */
#define PW_CNI_E_CONTAINER     3    /* container unknown or does not exist */
#define PW_CNI_E_ENV           4    /* invalid necessary environment variables */
#define PW_CNI_E_IO            5    /* I/O failure */
#define PW_CNI_E_DECODE        6    /* failed to decode content */
#define PW_CNI_E_CONFIG        7    /* invalid network config */
#define PW_CNI_E_RETRY         11   /* try again later (agent not reachable) */
/* podwall-specific (>= 100) */
#define PW_CNI_E_AGENT         100  /* the agent refused or failed */
#define PW_CNI_E_NO_VETH       101  /* no host-side veth found for the pod */
#define PW_CNI_E_NOT_ENFORCED  102  /* CHECK: registration or enforcement missing */

#endif
