// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * netns: the cookie of this network namespace and the default pin dir it
 * names (netns.h).
 */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include "podwall/abi.h" /* PW_PIN_ROOT */
#include "kernel/netns.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

int pw_netns_cookie(uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);
	int fd, err = 0;

	*cookie = 0;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len))
		err = -errno;
	close(fd);
	if (err)
		*cookie = 0;
	return err;
}

int pw_default_pin_dir(char *buf, size_t len)
{
	uint64_t cookie;
	int err = pw_netns_cookie(&cookie);

	if (err)
		return err;
	if ((size_t)snprintf(buf, len, "%s/netns-%llu", PW_PIN_ROOT,
			     (unsigned long long)cookie) >= len)
		return -ENAMETOOLONG;
	return 0;
}
