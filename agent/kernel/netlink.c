/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * netlink: create and delete stand-alone devices over a raw rtnetlink
 * socket (netlink.h). One request, one ACK; no library.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "kernel/netlink.h"

struct nl_req {
	struct nlmsghdr  nh;
	struct ifinfomsg ifi;
	char             buf[256];
};

static struct rtattr *nl_attr(struct nlmsghdr *nh, size_t max, int type, const void *data,
			      size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));
	size_t rlen = RTA_LENGTH(len);

	if (NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rlen) > max)
		return NULL;
	rta->rta_type = type;
	rta->rta_len = rlen;
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rlen);
	return rta;
}

static void nl_nest_end(struct nlmsghdr *nh, struct rtattr *nest)
{
	nest->rta_len = (char *)nh + nh->nlmsg_len - (char *)nest;
}

/* Send one request and wait for its ACK. Returns 0 or the kernel's -errno. */
static int nl_talk(struct nlmsghdr *nh)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[4096];
	int fd, err;
	ssize_t n;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	nh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nh->nlmsg_seq = 1;
	if (sendto(fd, nh, nh->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto cleanup;
	}
	for (;;) {
		struct nlmsghdr *r;

		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto cleanup;
		}
		for (r = (struct nlmsghdr *)buf; NLMSG_OK(r, (size_t)n); r = NLMSG_NEXT(r, n)) {
			if (r->nlmsg_seq != nh->nlmsg_seq)
				continue;
			if (r->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(r);

				err = e->error; /* 0 is the ACK */
				goto cleanup;
			}
		}
	}
cleanup:
	close(fd);
	return err;
}

static int link_add(const char *name, const char *kind)
{
	struct nl_req req = {
		.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
		.nh.nlmsg_type = RTM_NEWLINK,
		.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL,
		.ifi.ifi_family = AF_UNSPEC,
	};
	struct rtattr *linkinfo;

	if (!nl_attr(&req.nh, sizeof(req), IFLA_IFNAME, name, strlen(name) + 1))
		return -ENAMETOOLONG;
	linkinfo = nl_attr(&req.nh, sizeof(req), IFLA_LINKINFO, NULL, 0);
	if (!linkinfo || !nl_attr(&req.nh, sizeof(req), IFLA_INFO_KIND, kind, strlen(kind)))
		return -ENAMETOOLONG;
	nl_nest_end(&req.nh, linkinfo);
	return nl_talk(&req.nh);
}

int pw_nl_dummy_add(const char *name, uint32_t *ifindex)
{
	static const char *const kinds[] = { "dummy", "ifb" };
	int err = -EOPNOTSUPP;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		err = link_add(name, kinds[i]);
		/* an unknown kind is EOPNOTSUPP: try the next one */
		if (err != -EOPNOTSUPP)
			break;
	}
	if (err)
		return err; /* the caller names the device and says why it wanted it */
	*ifindex = if_nametoindex(name);
	return *ifindex ? 0 : -errno;
}

static int link_change(const char *name, int type, unsigned int flags, unsigned int change)
{
	struct nl_req req = {
		.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
		.nh.nlmsg_type = type,
		.ifi.ifi_family = AF_UNSPEC,
		.ifi.ifi_flags = flags,
		.ifi.ifi_change = change,
	};

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	if (!nl_attr(&req.nh, sizeof(req), IFLA_IFNAME, name, strlen(name) + 1))
		return -ENAMETOOLONG;
	return nl_talk(&req.nh);
}

int pw_nl_link_del(const char *name)
{
	return link_change(name, RTM_DELLINK, 0, 0);
}

int pw_nl_link_up(const char *name)
{
	return link_change(name, RTM_NEWLINK, IFF_UP, IFF_UP);
}

int pw_private_netns(void)
{
	if (unshare(CLONE_NEWNET)) {
		int err = -errno;

		return err; /* the caller says what it needed it for */
	}
	return 0;
}
