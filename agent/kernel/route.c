// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * route: rtnetlink with a raw AF_NETLINK socket (route.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include "model.h"
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

int pw_rt_gateway_devs(struct pw_rt *rt, uint32_t **out, size_t *n)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };
	struct u32_list l = { 0 };
	int err = 0;

	for (size_t f = 0; f < sizeof(families); f++) {
		struct {
			struct nlmsghdr nh;
			struct rtmsg    rtm;
		} req;

		memset(&req, 0, sizeof(req));
		req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.rtm));
		req.nh.nlmsg_type = RTM_GETROUTE;
		req.nh.nlmsg_flags = NLM_F_DUMP;
		req.rtm.rtm_family = families[f];
		err = pw_rt_request(rt, &req.nh, gw_dump_cb, &l);
		if (err == -EAFNOSUPPORT) /* no IPv6 in this kernel */
			err = 0;
		if (err)
			break;
	}
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

/* ------------------------------------------------------------ pw_local_fn */

uint32_t pw_resolve_local(void *ctx, const struct pw_pod *pod)
{
	struct pw_resolver *r = ctx;
	struct pw_link l;

	if (pod->host_veth && pod->host_veth[0]) {
		if (pw_rt_link_by_name(r->rt, pod->host_veth, &l)) {
			r->n_missing++;
			if (r->verbose)
				fprintf(stderr, "podwall: pod %s/%s: host veth %s (annotation "
					"podwall.io/host-veth) does not exist (yet)\n",
					pod->ns, pod->name, pod->host_veth);
			return 0;
		}
		r->n_local++;
		return l.ifindex;
	}
	for (size_t i = 0; i < pod->n_ips && i < 2; i++) {
		uint32_t ifindex = 0;

		if (pw_rt_host_dev(r->rt, pod->ips[i], &ifindex) || !ifindex)
			continue;
		if (!pw_rt_link_by_index(r->rt, ifindex, &l) && (l.flags & IFF_LOOPBACK))
			continue;
		r->n_local++;
		return ifindex;
	}
	return 0;
}
