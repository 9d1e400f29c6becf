// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rtnetlink for podwall-cni (see nl.h). Raw AF_NETLINK, one request at a time.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "kernel/netns.h"
#include "nl.h"


static void parse_attrs(struct rtattr *rta, int len, struct rtattr **tb, int max)
{
	memset(tb, 0, sizeof(*tb) * (size_t)(max + 1));
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		int type = rta->rta_type & ~NLA_F_NESTED;

		if (type <= max && !tb[type])
			tb[type] = rta;
	}
}

int cni_link_get(const char *name, uint32_t ifindex, struct cni_link *out)
{
	struct {
		struct nlmsghdr  nh;
		struct ifinfomsg ifi;
		char             attrs[64];
	} req;
	char buf[16384];
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd, err = -EIO;

	memset(out, 0, sizeof(*out));
	out->peer_netnsid = -1;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi));
	req.nh.nlmsg_type = RTM_GETLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.nh.nlmsg_seq = 1;
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = (int)ifindex;
	if (name) {
		size_t n = strlen(name) + 1;
		struct rtattr *rta;

		if (n > IF_NAMESIZE)
			return -ENODEV;
		rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
		rta->rta_type = IFLA_IFNAME;
		rta->rta_len = (unsigned short)RTA_LENGTH(n);
		memcpy(RTA_DATA(rta), name, n);
		req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nh;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (unsigned)n); nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(nh);

				err = e->error ? e->error : -EIO;
				goto out;
			}
			if (nh->nlmsg_type == RTM_NEWLINK) {
				struct ifinfomsg *ifi = NLMSG_DATA(nh);
				struct rtattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1];

				parse_attrs(IFLA_RTA(ifi), (int)IFLA_PAYLOAD(nh), tb, IFLA_MAX);
				out->ifindex = (uint32_t)ifi->ifi_index;
				if (tb[IFLA_IFNAME])
					snprintf(out->name, sizeof(out->name), "%s",
						 (char *)RTA_DATA(tb[IFLA_IFNAME]));
				if (tb[IFLA_LINK])
					out->peer_ifindex = *(uint32_t *)RTA_DATA(tb[IFLA_LINK]);
				if (tb[IFLA_LINK_NETNSID])
					out->peer_netnsid = *(int32_t *)RTA_DATA(tb[IFLA_LINK_NETNSID]);
				if (tb[IFLA_LINKINFO]) {
					parse_attrs(RTA_DATA(tb[IFLA_LINKINFO]),
						    (int)RTA_PAYLOAD(tb[IFLA_LINKINFO]), li, IFLA_INFO_MAX);
					if (li[IFLA_INFO_KIND])
						snprintf(out->kind, sizeof(out->kind), "%.*s",
							 (int)RTA_PAYLOAD(li[IFLA_INFO_KIND]),
							 (char *)RTA_DATA(li[IFLA_INFO_KIND]));
				}
				/* the kind is NUL-terminated in the attribute */
				out->kind[strnlen(out->kind, sizeof(out->kind) - 1)] = 0;
				err = 0;
				goto out;
			}
		}
	}
out:
	close(fd);
	if (err == -ENODEV || err == -ENOENT)
		err = -ENODEV;
	return err;
}

int cni_link_get_in(const char *netns_path, const char *name, struct cni_link *out)
{
	int self, target, err;

	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	target = open(netns_path, O_RDONLY | O_CLOEXEC);
	if (target < 0) {
		err = -errno;
		close(self);
		return err;
	}
	if (setns(target, CLONE_NEWNET)) {
		err = -errno;
		goto out;
	}
	err = cni_link_get(name, 0, out);
	if (setns(self, CLONE_NEWNET)) {
		/* we must not go on in the container's namespace */
		perror("podwall-cni: setns back to the host network namespace");
		_exit(5);
	}
out:
	close(target);
	close(self);
	return err;
}

uint64_t cni_netns_cookie(void)
{
	uint64_t cookie;

	return pw_netns_cookie(&cookie) ? 0 : cookie;
}
