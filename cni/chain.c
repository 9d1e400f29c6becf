// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * podwall-cni chain|unchain: put podwall-cni at the end of the plugin list of
 * the node's CNI network configuration, or take it out again.
 *
 * (which file, and how: conflist.c)
 *
 *   chain --conf-dir DIR [--socket PATH] [--wait S] [--watch S]
 *       --wait S:  wait up to S seconds for the primary CNI's configuration
 *       --watch S: then check again every S seconds, for ever (a primary CNI
 *                  that rewrites its file drops our entry)
 *   unchain --conf-dir DIR
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "source/cni_proto.h"
#include "cni.h"
#include "conflist.h"

int cni_chain_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "conf-dir", required_argument, NULL, 'd' },
		{ "socket",   required_argument, NULL, 's' },
		{ "wait",     required_argument, NULL, 'w' },
		{ "watch",    required_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 },
	};
	bool remove = !strcmp(argv[0], "unchain");
	const char *dir = NULL, *sock = PW_CNI_DEFAULT_SOCKET;
	long wait_s = 0, watch_s = 0;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 's': sock = optarg; break;
		case 'w': wait_s = strtol(optarg, NULL, 10); break;
		case 'W': watch_s = strtol(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: podwall-cni %s --conf-dir DIR [--socket PATH] "
				"[--wait S] [--watch S]\n", argv[0]);
			return 2;
		}
	}
	if (!dir || optind < argc) {
		fprintf(stderr, "usage: podwall-cni %s --conf-dir DIR [--socket PATH] [--wait S] "
			"[--watch S]\n", argv[0]);
		return 2;
	}
	for (long waited = 0;; waited++) {
		ret = pw_conflist_chain(dir, sock, remove, stdout);
		if (ret != -2 || remove || waited >= wait_s)
			break;
		if (!waited)
			printf("podwall-cni: waiting up to %ld s for a CNI configuration in %s\n",
			       wait_s, dir);
		fflush(stdout);
		sleep(1);
	}
	if (ret == -2) {
		if (remove)
			return 0;
		fprintf(stderr, "podwall-cni: no CNI configuration (*.conflist, *.conf, *.json) "
			"in %s to chain into\n", dir);
		return 1;
	}
	if (ret < 0)
		return 1;
	if (ret == 0)
		printf("podwall-cni: %s: %s\n", dir, remove ? "podwall-cni was not chained"
							  : "podwall-cni already chained");
	fflush(stdout);
	while (!remove && watch_s > 0) {
		sleep((unsigned)watch_s);
		if (pw_conflist_chain(dir, sock, false, stdout) < 0 && errno)
			fprintf(stderr, "podwall-cni: re-chaining in %s failed; trying again\n", dir);
		fflush(stdout);
	}
	return 0;
}
