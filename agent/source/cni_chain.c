// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The chain keeper's thread (cni_chain.h).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include "../../cni/conflist.h"
#include "source/cni_chain.h"
#include "log.h"

static struct {
	pthread_t   th;
	bool        running;
	int         stop_fd;     /* eventfd: written to stop the thread */
	const char *dir, *sock;
} K = { .stop_fd = -1 };

static void check(void)
{
	char *said = NULL, *line, *nl;
	size_t len = 0;
	FILE *info = open_memstream(&said, &len); /* what it did, as log lines */
	int r;

	if (!info)
		return; /* no memory: the next change of the directory tries again */
	/* -2: no configuration (yet): the init container waited for one; a
	 * primary CNI that removed its file will write it again */
	r = pw_conflist_chain(K.dir, K.sock, false, info);
	fclose(info);
	for (line = said; line && *line; line = nl ? nl + 1 : line + strlen(line)) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		pw_info("%s", line);
	}
	free(said);
	if (r == 1)
		pw_warn("podwall: the CNI configuration in %s had lost podwall-cni: "
			"chained again", K.dir);
}

static void *keeper(void *arg)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	sigset_t all;
	int ifd, wd = -1;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	for (;;) {
		struct pollfd p[2] = { { .fd = K.stop_fd, .events = POLLIN },
				       { .fd = ifd, .events = POLLIN } };
		int n;

		if (ifd >= 0 && wd < 0)
			wd = inotify_add_watch(ifd, K.dir, IN_CLOSE_WRITE | IN_MOVED_TO |
					       IN_MOVED_FROM | IN_CREATE | IN_DELETE |
					       IN_DELETE_SELF | IN_MOVE_SELF);
		check();
		n = poll(p, wd >= 0 ? 2 : 1, PW_CHAIN_CHECK_S * 1000);
		if (n > 0 && p[0].revents)
			break;
		if (n > 0 && p[1].revents) {
			ssize_t len;

			while ((len = read(ifd, buf, sizeof(buf))) > 0) {
				for (char *q = buf; q < buf + len;) {
					struct inotify_event *ev = (struct inotify_event *)q;

					if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
						inotify_rm_watch(ifd, wd);
						wd = -1; /* the directory went: watch it again */
					}
					q += sizeof(*ev) + ev->len;
				}
			}
			/* a writer's burst (temp file, rename): let it settle */
			usleep(50000);
		}
	}
	if (ifd >= 0)
		close(ifd);
	return NULL;
}

int pw_chain_keeper_start(const char *conf_dir, const char *sock)
{
	int err;

	K.dir = conf_dir;
	K.sock = sock;
	K.stop_fd = eventfd(0, EFD_CLOEXEC);
	if (K.stop_fd < 0)
		return -errno;
	err = pthread_create(&K.th, NULL, keeper, NULL);
	if (err) {
		close(K.stop_fd);
		K.stop_fd = -1;
		return -err;
	}
	K.running = true;
	pw_info("podwall: keeping podwall-cni chained in %s", conf_dir);
	return 0;
}

void pw_chain_keeper_stop(void)
{
	uint64_t one = 1;

	if (!K.running)
		return;
	if (write(K.stop_fd, &one, sizeof(one)) < 0) {
		/* cannot fail on a fresh eventfd */
	}
	pthread_join(K.th, NULL);
	close(K.stop_fd);
	K.stop_fd = -1;
	K.running = false;
}
