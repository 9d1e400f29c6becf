// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * route: rtnetlink with a raw AF_NETLINK socket (route.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include "model.h"
#include "k8s/ip.h"
#include "kernel/route.h"

#define PW_RT_RCVBUF (64 * 1024)

struct pw_rt {
	int      fd;
	uint32_t seq;
	uint32_t pid;
	uint8_t *buf;
};

int pw_rt_open(struct pw_rt **out)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t slen = sizeof(sa);
	struct pw_rt *rt;
	int one = 1, err;

	*out = NULL;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	rt->buf = malloc(PW_RT_RCVBUF);
	if (!rt->buf) {
		err = -ENOMEM;
		goto fail;
	}
	rt->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (rt->fd < 0) {
		err = -errno;
		goto fail;
	}
	/* extended ACKs are a nicety; ignore if the kernel lacks them */
	setsockopt(rt->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	if (bind(rt->fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(rt->fd, (struct sockaddr *)&sa, &slen)) {
		err = -errno;
		goto fail;
	}
	rt->pid = sa.nl_pid;
	rt->seq = (uint32_t)getpid() << 8;
	*out = rt;
	return 0;
fail:
	if (rt->fd > 0)
		close(rt->fd);
	free(rt->buf);
	free(rt);
	return err;
}

void pw_rt_close(struct pw_rt *rt)
{
	if (!rt)
		return;
	close(rt->fd);
	free(rt->buf);
	free(rt);
}

/* ------------------------------------------------------------ monitor */

int pw_rt_monitor_open(int *out)
{
	static const unsigned groups[] = {
		RTNLGRP_LINK,        RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE,
		RTNLGRP_IPV6_ROUTE,  RTNLGRP_IPV4_RULE,   RTNLGRP_IPV6_RULE,
	};
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd, err;

	*out = -1;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		goto fail;
	}
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		/* a kernel without IPv6 refuses its groups: the rest still count */
		if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i],
			       sizeof(groups[i])) && i < 2) {
			err = -errno;
			goto fail;
		}
	*out = fd;
	return 0;
fail:
	close(fd);
	return err;
}

int pw_rt_monitor_drain(int fd)
{
	char buf[8192];
	int seen = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0) {
			seen = 1;
			continue;
		}
		if (n == 0)
			return seen;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return seen;
		if (errno == ENOBUFS) { /* notifications were lost: assume a change */
			seen = 1;
			continue;
		}
		return -errno;
	}
}

int pw_rt_addattr(struct nlmsghdr *req, size_t maxlen, int type, const void *data, size_t len)
{
	size_t alen = RTA_LENGTH(len);
	struct rtattr *rta;

	if (NLMSG_ALIGN(req->nlmsg_len) + RTA_ALIGN(alen) > maxlen)
		return -E2BIG;
	rta = (struct rtattr *)((char *)req + NLMSG_ALIGN(req->nlmsg_len));
	rta->rta_type = (unsigned short)type;
	rta->rta_len = (unsigned short)alen;
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	req->nlmsg_len = (uint32_t)(NLMSG_ALIGN(req->nlmsg_len) + RTA_ALIGN(alen));
	return 0;
}

static void parse_attrs(struct rtattr *rta, int len, struct rtattr **tb, int max)
{
	memset(tb, 0, sizeof(*tb) * (size_t)(max + 1));
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		unsigned short type = rta->rta_type & ~NLA_F_NESTED;

		if (type <= max && !tb[type])
			tb[type] = rta;
	}
}

void pw_rt_parse(const struct nlmsghdr *nh, size_t hdrlen, struct rtattr **tb, int max)
{
	int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(hdrlen);
	struct rtattr *rta = (struct rtattr *)((char *)NLMSG_DATA(nh) + NLMSG_ALIGN(hdrlen));

	if (len < 0)
		len = 0;
	parse_attrs(rta, len, tb, max);
}

void pw_rt_parse_nested(const struct rtattr *rta, struct rtattr **tb, int max)
{
	parse_attrs((struct rtattr *)RTA_DATA(rta), (int)RTA_PAYLOAD(rta), tb, max);
}

int pw_rt_request(struct pw_rt *rt, struct nlmsghdr *req, pw_rt_cb cb, void *ctx)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	bool dump = req->nlmsg_flags & NLM_F_DUMP;
	int cb_err = 0;
	uint32_t seq;

	seq = ++rt->seq;
	req->nlmsg_seq = seq;
	req->nlmsg_pid = rt->pid;
	req->nlmsg_flags |= NLM_F_REQUEST | (dump ? 0 : NLM_F_ACK);

	for (;;) {
		ssize_t n = sendto(rt->fd, req, req->nlmsg_len, 0, (struct sockaddr *)&kernel,
				   sizeof(kernel));

		if (n >= 0)
			break;
		if (errno != EINTR)
			return -errno;
	}

	for (;;) {
		ssize_t n = recv(rt->fd, rt->buf, PW_RT_RCVBUF, 0);
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		len = (int)n;
		for (struct nlmsghdr *nh = (struct nlmsghdr *)rt->buf; NLMSG_OK(nh, (unsigned)len);
		     nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_seq != seq || nh->nlmsg_pid != rt->pid)
				continue; /* a late reply to an earlier request */
			if (nh->nlmsg_type == NLMSG_DONE)
				return cb_err;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);

				if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EPROTO;
				return e->error ? e->error : cb_err;
			}
			if (!cb_err && cb)
				cb_err = cb(nh, ctx);
		}
	}
}

/* ------------------------------------------------------------ links */

static int link_parse(const struct nlmsghdr *nh, struct pw_link *l)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	struct rtattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1];

	if (nh->nlmsg_type != RTM_NEWLINK || nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return -EPROTO;
	memset(l, 0, sizeof(*l));
	pw_rt_parse(nh, sizeof(*ifi), tb, IFLA_MAX);
	l->ifindex = (uint32_t)ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	if (tb[IFLA_IFNAME])
		snprintf(l->name, sizeof(l->name), "%.*s", (int)RTA_PAYLOAD(tb[IFLA_IFNAME]),
			 (const char *)RTA_DATA(tb[IFLA_IFNAME]));
	if (tb[IFLA_LINKINFO]) {
		pw_rt_parse_nested(tb[IFLA_LINKINFO], li, IFLA_INFO_MAX);
		if (li[IFLA_INFO_KIND])
			snprintf(l->kind, sizeof(l->kind), "%.*s",
				 (int)RTA_PAYLOAD(li[IFLA_INFO_KIND]),
				 (const char *)RTA_DATA(li[IFLA_INFO_KIND]));
	}
	return 0;
}

static int link_one_cb(const struct nlmsghdr *nh, void *ctx)
{
	return link_parse(nh, ctx);
}

static int link_get(struct pw_rt *rt, uint32_t ifindex, const char *name, struct pw_link *out)
{
	struct {
		struct nlmsghdr  nh;
		struct ifinfomsg ifi;
		char             attrs[64];
	} req;
	int err;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi));
	req.nh.nlmsg_type = RTM_GETLINK;
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = (int)ifindex;
	if (name) {
		size_t len = strlen(name);

		if (!len || len >= IF_NAMESIZE)
			return -ENODEV;
		err = pw_rt_addattr(&req.nh, sizeof(req), IFLA_IFNAME, name, len + 1);
		if (err)
			return err;
	}
	memset(out, 0, sizeof(*out));
	err = pw_rt_request(rt, &req.nh, link_one_cb, out);
	if (!err && !out->ifindex)
		err = -ENODEV;
	return err;
}

int pw_rt_link_by_name(struct pw_rt *rt, const char *name, struct pw_link *out)
{
	return link_get(rt, 0, name, out);
}

int pw_rt_link_by_index(struct pw_rt *rt, uint32_t ifindex, struct pw_link *out)
{
	if (!ifindex)
		return -ENODEV;
	return link_get(rt, ifindex, NULL, out);
}

struct link_list {
	struct pw_link *v;
	size_t          n, cap;
};

static int link_dump_cb(const struct nlmsghdr *nh, void *ctx)
{
	struct link_list *ll = ctx;
	struct pw_link l;

	if (link_parse(nh, &l))
		return 0;
	if (ll->n == ll->cap) {
		size_t cap = ll->cap ? ll->cap * 2 : 32;
		struct pw_link *v = realloc(ll->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ll->v = v;
		ll->cap = cap;
	}
	ll->v[ll->n++] = l;
	return 0;
}

int pw_rt_links(struct pw_rt *rt, struct pw_link **out, size_t *n)
{
	struct {
		struct nlmsghdr  nh;
		struct ifinfomsg ifi;
	} req;
	struct link_list ll = { 0 };
	int err;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi));
	req.nh.nlmsg_type = RTM_GETLINK;
	req.nh.nlmsg_flags = NLM_F_DUMP;
	req.ifi.ifi_family = AF_UNSPEC;
	err = pw_rt_request(rt, &req.nh, link_dump_cb, &ll);
	if (err) {
		free(ll.v);
		*out = NULL;
		*n = 0;
		return err;
	}
	*out = ll.v;
	*n = ll.n;
	return 0;
}

/* ------------------------------------------------------------ routes */

static bool addr_is_v4(const uint8_t a[16])
{
	static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a, pfx, sizeof(pfx));
}

struct route_info {
	bool     found;
	uint8_t  type;
	uint8_t  dst_len;
	bool     gateway;   /* RTA_GATEWAY, RTA_VIA or RTA_MULTIPATH */
	uint32_t oif;
};

static int route_one_cb(const struct nlmsghdr *nh, void *ctx)
{
	const struct rtmsg *rtm = NLMSG_DATA(nh);
	struct rtattr *tb[RTA_MAX + 1];
	struct route_info *ri = ctx;

	if (nh->nlmsg_type != RTM_NEWROUTE || nh->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)))
		return 0;
	pw_rt_parse(nh, sizeof(*rtm), tb, RTA_MAX);
	ri->found = true;
	ri->type = rtm->rtm_type;
	ri->dst_len = rtm->rtm_dst_len;
	ri->gateway = tb[RTA_GATEWAY] || tb[RTA_VIA] || tb[RTA_MULTIPATH];
	if (tb[RTA_OIF] && RTA_PAYLOAD(tb[RTA_OIF]) >= sizeof(uint32_t))
		memcpy(&ri->oif, RTA_DATA(tb[RTA_OIF]), sizeof(uint32_t));
	return 0;
}

int pw_rt_host_dev(struct pw_rt *rt, const uint8_t addr[16], uint32_t *ifindex)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg    rtm;
		char            attrs[64];
	} req;
	struct route_info ri = { 0 };
	bool v4 = addr_is_v4(addr);
	uint8_t full = v4 ? 32 : 128;
	int err;

	*ifindex = 0;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.rtm));
	req.nh.nlmsg_type = RTM_GETROUTE;
	req.rtm.rtm_family = v4 ? AF_INET : AF_INET6;
	req.rtm.rtm_dst_len = full;
	req.rtm.rtm_flags = RTM_F_FIB_MATCH; /* the route itself, with its prefix length */
	err = pw_rt_addattr(&req.nh, sizeof(req), RTA_DST, v4 ? addr + 12 : addr, v4 ? 4 : 16);
	if (err)
		return err;
	err = pw_rt_request(rt, &req.nh, route_one_cb, &ri);
	if (err == -ENETUNREACH || err == -EHOSTUNREACH || err == -ENOENT || err == -ESRCH)
		return 0; /* no route: not local */
	if (err)
		return err;
	if (ri.found && ri.type == RTN_UNICAST && ri.dst_len == full && !ri.gateway && ri.oif)
		*ifindex = ri.oif;
	return 0;
}

struct u32_list {
	uint32_t *v;
	size_t    n, cap;
};

static int u32_push(struct u32_list *l, uint32_t x)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == x)
			return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		uint32_t *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = x;
	return 0;
}

static int gw_dump_cb(const struct nlmsghdr *nh, void *ctx)
{
	const struct rtmsg *rtm = NLMSG_DATA(nh);
	struct rtattr *tb[RTA_MAX + 1];
	struct u32_list *l = ctx;
	uint32_t oif = 0;
	int err;

	if (nh->nlmsg_type != RTM_NEWROUTE || nh->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)))
		return 0;
	if (rtm->rtm_type != RTN_UNICAST || rtm->rtm_table == RT_TABLE_LOCAL)
		return 0;
	pw_rt_parse(nh, sizeof(*rtm), tb, RTA_MAX);
	if (tb[RTA_OIF] && RTA_PAYLOAD(tb[RTA_OIF]) >= sizeof(uint32_t))
		memcpy(&oif, RTA_DATA(tb[RTA_OIF]), sizeof(oif));
	if ((tb[RTA_GATEWAY] || tb[RTA_VIA]) && oif) {
		err = u32_push(l, oif);
		if (err)
			return err;
	}
	if (tb[RTA_MULTIPATH]) {
		struct rtnexthop *nhp = RTA_DATA(tb[RTA_MULTIPATH]);
		int len = (int)RTA_PAYLOAD(tb[RTA_MULTIPATH]);

		while (len >= (int)sizeof(*nhp) && nhp->rtnh_len >= sizeof(*nhp) &&
		       nhp->rtnh_len <= len) {
			struct rtattr *ntb[RTA_MAX + 1];

			parse_attrs(RTNH_DATA(nhp), nhp->rtnh_len - (int)RTNH_LENGTH(0), ntb, RTA_MAX);
			if ((ntb[RTA_GATEWAY] || ntb[RTA_VIA]) && nhp->rtnh_ifindex > 0) {
				err = u32_push(l, (uint32_t)nhp->rtnh_ifindex);
				if (err)
					return err;
			}
			len -= RTNH_ALIGN(nhp->rtnh_len);
			nhp = RTNH_NEXT(nhp);
		}
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * An RTM_GETROUTE or RTM_GETADDR dump of IPv4 then IPv6, each message to cb.
 * A kernel without IPv6 answers -EAFNOSUPPORT for it, which is no error.
 */
static int dump_both_families(struct pw_rt *rt, uint16_t type, pw_rt_cb cb, void *ctx)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };

	for (size_t f = 0; f < sizeof(families); f++) {
		struct {
			struct nlmsghdr nh;
			union {
				struct rtmsg     rtm;
				struct ifaddrmsg ifa;
			} u;
		} req;
		int err;

		memset(&req, 0, sizeof(req));
		req.nh.nlmsg_type = type;
		req.nh.nlmsg_flags = NLM_F_DUMP;
		if (type == RTM_GETADDR) {
			req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.u.ifa));
			req.u.ifa.ifa_family = families[f];
		} else {
			req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.u.rtm));
			req.u.rtm.rtm_family = families[f];
		}
		err = pw_rt_request(rt, &req.nh, cb, ctx);
		if (err && err != -EAFNOSUPPORT)
			return err;
	}
	return 0;
}

int pw_rt_gateway_devs(struct pw_rt *rt, uint32_t **out, size_t *n)
{
	struct u32_list l = { 0 };
	int err = dump_both_families(rt, RTM_GETROUTE, gw_dump_cb, &l);

	if (err) {
		free(l.v);
		*out = NULL;
		*n = 0;
		return err;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), cmp_u32);
	*out = l.v;
	*n = l.n;
	return 0;
}

/* ------------------------------------------------------- node addresses */

struct addr_list {
	uint8_t (*v)[16];
	size_t    n, cap;
};

static int addr_dump_cb(const struct nlmsghdr *nh, void *ctx)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	struct rtattr *tb[IFA_MAX + 1];
	struct addr_list *l = ctx;
	const struct rtattr *a;
	uint8_t addr[16] = { 0 };

	if (nh->nlmsg_type != RTM_NEWADDR || nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)))
		return 0;
	pw_rt_parse(nh, sizeof(*ifa), tb, IFA_MAX);
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a)
		return 0;
	if (ifa->ifa_family == AF_INET && RTA_PAYLOAD(a) >= 4) {
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, RTA_DATA(a), 4);
		if (addr[12] == 127)
			return 0;
	} else if (ifa->ifa_family == AF_INET6 && RTA_PAYLOAD(a) >= 16) {
		static const uint8_t loop6[16] = { [15] = 1 };

		memcpy(addr, RTA_DATA(a), 16);
		if (!memcmp(addr, loop6, 16))
			return 0;
	} else {
		return 0;
	}
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		void *nv = realloc(l->v, ncap * sizeof(*l->v));

		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = ncap;
	}
	memcpy(l->v[l->n++], addr, 16);
	return 0;
}

static int cmp_addr16(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

int pw_rt_host_addrs(struct pw_rt *rt, uint8_t (**out)[16], size_t *n)
{
	struct addr_list l = { 0 };
	size_t w = 0;
	int err = dump_both_families(rt, RTM_GETADDR, addr_dump_cb, &l);

	if (err) {
		free(l.v);
		*out = NULL;
		*n = 0;
		return err;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), cmp_addr16);
	for (size_t i = 0; i < l.n; i++) /* unique: one address may sit on two links */
		if (!w || memcmp(l.v[w - 1], l.v[i], 16))
			memmove(l.v[w++], l.v[i], 16);
	*out = l.v;
	*n = w;
	return 0;
}

/* ------------------------------------------------------------ snapshots */

/* A /32 (/128) route of the dump. */
struct host_route {
	uint8_t  addr[16];   /* IPv4-mapped or IPv6 */
	uint32_t table;
	uint32_t oif;
	uint8_t  type;       /* RTN_* */
	uint8_t  tos;
	uint8_t  src_len;
	bool     gateway;    /* RTA_GATEWAY, RTA_VIA or RTA_MULTIPATH */
	uint32_t flags;      /* rtm_flags (RTNH_F_DEAD, RTNH_F_LINKDOWN...) */
};

/* A route of the local table, any length (in the mapped space). */
struct local_pfx {
	uint8_t addr[16];
	uint8_t len;
};

struct link_name {
	char     name[IF_NAMESIZE];
	uint32_t ifindex;
};

/*
 * A filter over the host routes' addresses: a pod's address whose bit is
 * clear has none, which is the answer for every remote pod (9,900 of 10,000
 * in `podwall bench control`) without a binary search of the routes.
 */
#define HOST_BITS 4096

static unsigned host_bit(const uint8_t a[16])
{
	uint32_t w[4];

	memcpy(w, a, 16);
	return ((w[0] ^ w[1] ^ w[2] ^ w[3]) * 0x9e3779b1u) >> 20; /* 12 bits */
}

struct pw_rt_snap {
	struct pw_link    *links;     /* by ifindex */
	size_t             n_links, cap_links;
	struct link_name  *names;     /* names and alternative names, by name */
	size_t             n_names, cap_names;
	struct host_route *hosts;     /* by address */
	size_t             n_hosts, cap_hosts;
	uint64_t           host_bits[HOST_BITS / 64]; /* host_bit() of each one's address */
	struct local_pfx  *locals;
	size_t             n_locals, cap_locals;
	struct u32_list    gw;        /* devices of gateway routes, as pw_rt_gateway_devs */
	bool               rules_default[2];  /* [0] IPv4, [1] IPv6 */
};

static void snap_free(struct pw_rt_snap *s)
{
	if (!s)
		return;
	free(s->links);
	free(s->names);
	free(s->hosts);
	free(s->locals);
	free(s->gw.v);
	free(s);
}

static void *grow(void *v, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return v;
	ncap = *cap ? *cap * 2 : 64;
	nv = realloc(v, ncap * size);
	if (nv)
		*cap = ncap;
	return nv;
}

static int snap_add_name(struct pw_rt_snap *s, const char *name, size_t len, uint32_t ifindex)
{
	struct link_name *v;

	if (!len || len >= IF_NAMESIZE)
		return 0;
	v = grow(s->names, &s->cap_names, s->n_names, sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->names = v;
	memset(&v[s->n_names], 0, sizeof(v[0]));
	memcpy(v[s->n_names].name, name, len);
	v[s->n_names].ifindex = ifindex;
	s->n_names++;
	return 0;
}

/* RTM_NEWLINK of the dump: the link, its name and its alternative names. */
static int snap_link_cb(const struct nlmsghdr *nh, void *ctx)
{
	struct pw_rt_snap *s = ctx;
	struct rtattr *tb[IFLA_MAX + 1];
	struct link_list ll = { s->links, s->n_links, s->cap_links };
	int err;

	err = link_dump_cb(nh, &ll);
	s->links = ll.v;
	s->cap_links = ll.cap;
	if (err)
		return err;
	if (ll.n == s->n_links)
		return 0; /* not a link */
	s->n_links = ll.n;
	err = snap_add_name(s, ll.v[ll.n - 1].name, strlen(ll.v[ll.n - 1].name),
			    ll.v[ll.n - 1].ifindex);
	if (err)
		return err;
	pw_rt_parse(nh, sizeof(struct ifinfomsg), tb, IFLA_MAX);
	if (tb[IFLA_PROP_LIST]) {
		const struct rtattr *rta = RTA_DATA(tb[IFLA_PROP_LIST]);
		int len = (int)RTA_PAYLOAD(tb[IFLA_PROP_LIST]);

		for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
			if ((rta->rta_type & ~NLA_F_NESTED) != IFLA_ALT_IFNAME)
				continue;
			err = snap_add_name(s, RTA_DATA(rta), strnlen(RTA_DATA(rta),
								      RTA_PAYLOAD(rta)),
					    ll.v[ll.n - 1].ifindex);
			if (err)
				return err;
		}
	}
	return 0;
}

static bool prefix_has(const uint8_t pfx[16], unsigned len, const uint8_t a[16])
{
	unsigned bytes = len / 8, bits = len % 8;

	if (memcmp(pfx, a, bytes))
		return false;
	return !bits || !((pfx[bytes] ^ a[bytes]) & (uint8_t)(0xff << (8 - bits)));
}

/* RTM_NEWROUTE of a dump: host routes, local-table routes, gateway devices. */
static int snap_route_cb(const struct nlmsghdr *nh, void *ctx)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const struct rtmsg *rtm = NLMSG_DATA(nh);
	struct pw_rt_snap *s = ctx;
	struct rtattr *tb[RTA_MAX + 1];
	uint8_t addr[16] = { 0 };
	uint32_t table;
	bool v4;
	unsigned full, alen;
	int err;

	if (nh->nlmsg_type != RTM_NEWROUTE || nh->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)))
		return 0;
	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return 0;
	err = gw_dump_cb(nh, &s->gw);
	if (err)
		return err;
	v4 = rtm->rtm_family == AF_INET;
	full = v4 ? 32 : 128;
	alen = v4 ? 4 : 16;
	pw_rt_parse(nh, sizeof(*rtm), tb, RTA_MAX);
	table = rtm->rtm_table;
	if (tb[RTA_TABLE] && RTA_PAYLOAD(tb[RTA_TABLE]) >= sizeof(uint32_t))
		memcpy(&table, RTA_DATA(tb[RTA_TABLE]), sizeof(table));
	if (rtm->rtm_dst_len > full)
		return 0;
	if (rtm->rtm_dst_len) {
		if (!tb[RTA_DST] || RTA_PAYLOAD(tb[RTA_DST]) < alen)
			return 0;
		if (v4) {
			memcpy(addr, mapped, sizeof(mapped));
			memcpy(addr + 12, RTA_DATA(tb[RTA_DST]), 4);
		} else {
			memcpy(addr, RTA_DATA(tb[RTA_DST]), 16);
		}
	} else if (v4) {
		memcpy(addr, mapped, sizeof(mapped));
	}

	if (table == RT_TABLE_LOCAL) {
		struct local_pfx *v = grow(s->locals, &s->cap_locals, s->n_locals, sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->locals = v;
		memcpy(v[s->n_locals].addr, addr, 16);
		v[s->n_locals].len = (uint8_t)(rtm->rtm_dst_len + (v4 ? 96 : 0));
		s->n_locals++;
	}
	if (rtm->rtm_dst_len == full) {
		struct host_route *v = grow(s->hosts, &s->cap_hosts, s->n_hosts, sizeof(*v));
		struct host_route *h;

		if (!v)
			return -ENOMEM;
		s->hosts = v;
		h = &v[s->n_hosts++];
		memset(h, 0, sizeof(*h));
		memcpy(h->addr, addr, 16);
		h->table = table;
		h->type = rtm->rtm_type;
		h->tos = rtm->rtm_tos;
		h->src_len = rtm->rtm_src_len;
		h->flags = rtm->rtm_flags;
		h->gateway = tb[RTA_GATEWAY] || tb[RTA_VIA] || tb[RTA_MULTIPATH];
		if (tb[RTA_OIF] && RTA_PAYLOAD(tb[RTA_OIF]) >= sizeof(uint32_t))
			memcpy(&h->oif, RTA_DATA(tb[RTA_OIF]), sizeof(uint32_t));
	}
	return 0;
}

/*
 * The rules of a family are the defaults when each sends a table by
 * priority alone: local (0), main (32766), default (32767), and nothing
 * else. Then a lookup consults the local table, then main.
 */
struct rules_check {
	bool     ok;
	unsigned seen;   /* bits: which default rules were there */
};

static int snap_rule_cb(const struct nlmsghdr *nh, void *ctx)
{
	static const struct { uint32_t prio, table; } defaults[] = {
		{ 0, RT_TABLE_LOCAL }, { 32766, RT_TABLE_MAIN }, { 32767, RT_TABLE_DEFAULT },
	};
	const struct fib_rule_hdr *frh = NLMSG_DATA(nh);
	struct rules_check *rc = ctx;
	struct rtattr *tb[FRA_MAX + 1];
	uint32_t prio = 0, table;
	size_t i;

	if (nh->nlmsg_type != RTM_NEWRULE || nh->nlmsg_len < NLMSG_LENGTH(sizeof(*frh)))
		return 0;
	pw_rt_parse(nh, sizeof(*frh), tb, FRA_MAX);
	{
		/* every attribute, known to this header or not: a selector or an
		 * action we do not know makes the rules not the defaults */
		int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*frh));
		const struct rtattr *rta = (const struct rtattr *)((const char *)NLMSG_DATA(nh) +
								   NLMSG_ALIGN(sizeof(*frh)));

		for (; len > 0 && RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
			unsigned short t = rta->rta_type & ~NLA_F_NESTED;
			uint32_t v = 0;

			if (t == FRA_PRIORITY || t == FRA_TABLE || t == FRA_PROTOCOL)
				continue;
			/* "no suppression" is sent as -1 */
			if ((t == FRA_SUPPRESS_PREFIXLEN || t == FRA_SUPPRESS_IFGROUP) &&
			    RTA_PAYLOAD(rta) == sizeof(v)) {
				memcpy(&v, RTA_DATA(rta), sizeof(v));
				if (v == UINT32_MAX)
					continue;
			}
			rc->ok = false;
		}
	}
	if (frh->dst_len || frh->src_len || frh->tos || frh->action != FR_ACT_TO_TBL ||
	    frh->flags)
		rc->ok = false;
	table = frh->table;
	if (tb[FRA_TABLE] && RTA_PAYLOAD(tb[FRA_TABLE]) >= sizeof(uint32_t))
		memcpy(&table, RTA_DATA(tb[FRA_TABLE]), sizeof(table));
	if (tb[FRA_PRIORITY] && RTA_PAYLOAD(tb[FRA_PRIORITY]) >= sizeof(uint32_t))
		memcpy(&prio, RTA_DATA(tb[FRA_PRIORITY]), sizeof(prio));
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (defaults[i].prio == prio && defaults[i].table == table)
			break;
	if (i == sizeof(defaults) / sizeof(defaults[0]) || (rc->seen & (1u << i)))
		rc->ok = false;
	else
		rc->seen |= 1u << i;
	return 0;
}

static int host_cmp(const void *a, const void *b)
{
	return memcmp(((const struct host_route *)a)->addr, ((const struct host_route *)b)->addr,
		      16);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct link_name *)a)->name, ((const struct link_name *)b)->name);
}

static int ifindex_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct pw_link *)a)->ifindex, y = ((const struct pw_link *)b)->ifindex;

	return x < y ? -1 : x > y;
}

static int dump(struct pw_rt *rt, uint16_t type, uint8_t family, pw_rt_cb cb, void *ctx)
{
	struct {
		struct nlmsghdr nh;
		union {
			struct ifinfomsg    ifi;
			struct rtmsg        rtm;
			struct fib_rule_hdr frh;
		};
	} req;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_type = type;
	req.nh.nlmsg_flags = NLM_F_DUMP;
	if (type == RTM_GETLINK) {
		req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi));
		req.ifi.ifi_family = family;
	} else if (type == RTM_GETROUTE) {
		req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.rtm));
		req.rtm.rtm_family = family;
	} else {
		req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.frh));
		req.frh.family = family;
	}
	return pw_rt_request(rt, &req.nh, cb, ctx);
}

void pw_resolver_release(struct pw_resolver *r)
{
	snap_free(r->snap);
	r->snap = NULL;
}

int pw_resolver_snapshot(struct pw_resolver *r)
{
	static const uint8_t families[2] = { AF_INET, AF_INET6 };
	struct pw_rt_snap *s;
	int err;

	pw_resolver_release(r);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	err = dump(r->rt, RTM_GETLINK, AF_UNSPEC, snap_link_cb, s);
	for (size_t f = 0; !err && f < 2; f++) {
		struct rules_check rc = { .ok = true };

		err = dump(r->rt, RTM_GETROUTE, families[f], snap_route_cb, s);
		if (!err)
			err = dump(r->rt, RTM_GETRULE, families[f], snap_rule_cb, &rc);
		if (err == -EAFNOSUPPORT) { /* no IPv6 in this kernel: nothing to find */
			err = 0;
			rc.ok = false;
		}
		/* local and main at least; default is optional */
		s->rules_default[f] = rc.ok && (rc.seen & 3) == 3;
	}
	if (err) {
		snap_free(s);
		return err;
	}
	if (s->n_links > 1)
		qsort(s->links, s->n_links, sizeof(*s->links), ifindex_cmp);
	if (s->n_names > 1)
		qsort(s->names, s->n_names, sizeof(*s->names), name_cmp);
	if (s->n_hosts > 1)
		qsort(s->hosts, s->n_hosts, sizeof(*s->hosts), host_cmp);
	for (size_t i = 0; i < s->n_hosts; i++) {
		unsigned b = host_bit(s->hosts[i].addr);

		s->host_bits[b / 64] |= 1ull << (b % 64);
	}
	if (s->gw.n > 1)
		qsort(s->gw.v, s->gw.n, sizeof(*s->gw.v), cmp_u32);
	r->snap = s;
	return 0;
}

int pw_resolver_gateway_devs(struct pw_resolver *r, uint32_t **out, size_t *n)
{
	uint32_t *v;

	if (!r->snap)
		return pw_rt_gateway_devs(r->rt, out, n);
	v = malloc((r->snap->gw.n ? r->snap->gw.n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (r->snap->gw.n)
		memcpy(v, r->snap->gw.v, r->snap->gw.n * sizeof(*v));
	*out = v;
	*n = r->snap->gw.n;
	return 0;
}

static const struct pw_link *snap_link(const struct pw_rt_snap *s, uint32_t ifindex)
{
	struct pw_link key = { .ifindex = ifindex };

	return s->n_links ? bsearch(&key, s->links, s->n_links, sizeof(*s->links), ifindex_cmp)
			  : NULL;
}

/* The ifindex of a link name (or alternative name); 0 if there is none. */
static uint32_t snap_name(const struct pw_rt_snap *s, const char *name)
{
	struct link_name key;
	const struct link_name *hit;

	if (!name[0] || strlen(name) >= IF_NAMESIZE || !s->n_names)
		return 0;
	memset(&key, 0, sizeof(key));
	memcpy(key.name, name, strlen(name));
	hit = bsearch(&key, s->names, s->n_names, sizeof(*s->names), name_cmp);
	return hit ? hit->ifindex : 0;
}

/*
 * pw_rt_host_dev from the snapshot. 1: answered (*ifindex set); 0: ask the
 * kernel (the snapshot cannot tell for sure).
 */
static int snap_host_dev(const struct pw_rt_snap *s, const uint8_t addr[16], uint32_t *ifindex)
{
	size_t lo = 0, hi = s->n_hosts;
	const struct host_route *h;
	bool v4 = addr_is_v4(addr);
	unsigned bit = host_bit(addr);

	*ifindex = 0;
	if (!(s->host_bits[bit / 64] & (1ull << (bit % 64))))
		return 1; /* no /32 (/128) route anywhere (below) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pw_addr_cmp(s->hosts[mid].addr, addr) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == s->n_hosts || pw_addr_cmp(s->hosts[lo].addr, addr))
		return 1; /* no /32 (/128) route anywhere: the FIB cannot answer one */
	if (!s->rules_default[v4 ? 0 : 1])
		return 0; /* policy routing: the kernel's business */
	/* the default rules consult the local, main and default tables only */
	h = NULL;
	for (size_t i = lo; i < s->n_hosts && !pw_addr_cmp(s->hosts[i].addr, addr); i++) {
		uint32_t t = s->hosts[i].table;

		if (t != RT_TABLE_LOCAL && t != RT_TABLE_MAIN && t != RT_TABLE_DEFAULT)
			continue;
		if (h)
			return 0; /* several: which one wins is the kernel's business */
		h = &s->hosts[i];
	}
	if (!h)
		return 1; /* none in a table consulted: the FIB answers a shorter one */
	if (h->table != RT_TABLE_MAIN || h->tos || h->src_len ||
	    (h->flags & (RTNH_F_DEAD | RTNH_F_LINKDOWN)))
		return 0;
	for (size_t i = 0; i < s->n_locals; i++)
		if (prefix_has(s->locals[i].addr, s->locals[i].len, addr))
			return 0; /* the local table, consulted first, may answer */
	if (h->type == RTN_UNICAST && !h->gateway && h->oif)
		*ifindex = h->oif;
	return 1;
}

/* ------------------------------------------------------------ pw_local_fn */

static uint32_t by_name(struct pw_resolver *r, const char *name)
{
	struct pw_link l;

	if (r->snap)
		return snap_name(r->snap, name);
	r->n_queries++;
	return pw_rt_link_by_name(r->rt, name, &l) ? 0 : l.ifindex;
}

/*
 * Why the device an annotation names cannot be a pod's host device, or NULL
 * if it can: it must be a veth (a netkit pair; or a dummy or ifb stand-in,
 * as tests and benchmarks use), not the loopback, and not an uplink (the
 * device of a route with a gateway). A Pod's annotations are written by
 * whoever may create Pods: "podwall.io/host-veth: eth0" used to put the pod
 * programs on the node's uplink and cut the node off (issue 9).
 */
static const char *annotated_dev_refused(struct pw_resolver *r, uint32_t ifindex)
{
	static const char *const kinds[] = { "veth", "netkit", "dummy", "ifb" };
	const struct pw_link *lk = NULL;
	struct pw_link l;
	uint32_t *gw = NULL;
	size_t n_gw = 0;
	bool kind_ok = false;

	if (r->snap) {
		lk = snap_link(r->snap, ifindex);
	} else {
		r->n_queries++;
		if (!pw_rt_link_by_index(r->rt, ifindex, &l))
			lk = &l;
	}
	if (!lk)
		return "cannot be read";
	if (lk->flags & IFF_LOOPBACK)
		return "is the loopback";
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(lk->kind, kinds[i]))
			kind_ok = true;
	if (!kind_ok)
		return "is not a veth";
	if (!r->snap)
		r->n_queries++;
	if (pw_resolver_gateway_devs(r, &gw, &n_gw))
		return "has routes that cannot be read";
	for (size_t i = 0; i < n_gw; i++)
		if (gw[i] == ifindex) {
			free(gw);
			return "carries routes to gateways (an uplink)";
		}
	free(gw);
	return NULL;
}

static void note(const struct pw_resolver *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note(const struct pw_resolver *r, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!r->note)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->note(r->note_ctx, line);
}

uint32_t pw_resolve_local(void *ctx, const struct pw_pod *pod)
{
	struct pw_resolver *r = ctx;
	struct pw_link l;

	if (pod->host_veth && pod->host_veth[0]) {
		uint32_t ifindex = by_name(r, pod->host_veth);
		const char *why;

		if (!ifindex) {
			r->n_missing++;
			note(r, "pod %s/%s: host veth %s (annotation podwall.io/host-veth) does "
			     "not exist (yet)", pod->ns, pod->name, pod->host_veth);
			return 0;
		}
		why = annotated_dev_refused(r, ifindex);
		if (why) {
			note(r, "pod %s/%s: annotation podwall.io/host-veth names %s, which %s: "
			     "ignored, the pod is not enforced here", pod->ns, pod->name,
			     pod->host_veth, why);
			return 0;
		}
		r->n_local++;
		return ifindex;
	}
	for (size_t i = 0; i < pod->n_ips && i < 2; i++) {
		uint32_t ifindex = 0;

		if (!r->snap || !snap_host_dev(r->snap, pod->ips[i], &ifindex)) {
			r->n_queries++;
			if (pw_rt_host_dev(r->rt, pod->ips[i], &ifindex))
				continue;
		}
		if (!ifindex)
			continue;
		if (r->snap) {
			const struct pw_link *lk = snap_link(r->snap, ifindex);

			if (lk && (lk->flags & IFF_LOOPBACK))
				continue;
		} else {
			r->n_queries++;
			if (!pw_rt_link_by_index(r->rt, ifindex, &l) && (l.flags & IFF_LOOPBACK))
				continue;
		}
		r->n_local++;
		return ifindex;
	}
	return 0;
}
