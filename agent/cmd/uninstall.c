// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * podwall uninstall [--pin-dir P]: remove every tc filter podwall made in
 * this network namespace (and a clsact qdisc left with no filter at all),
 * then podwall's pins in the pin dir and the dir. Nothing else is touched.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include "cmd/cmd.h"
#include "kernel/attach.h"
#include "kernel/bpfobj.h"
#include "kernel/netns.h"
#include "kernel/route.h"
#include "ops/statefile.h"

static const char uninstall_usage[] = "[--pin-dir P]";

int cmd_uninstall(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "help",    no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pw_attach_stats st;
	struct pw_rt *rt = NULL;
	char pin_dir[PATH_MAX];
	const char *opt_pin = NULL;
	struct statfs sfs;
	struct stat sb;
	int c, err, ret = PW_EXIT_SYSTEM;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			opt_pin = optarg;
			break;
		case 'h':
			printf("usage: podwall uninstall %s\n", uninstall_usage);
			return PW_EXIT_OK;
		default:
			fprintf(stderr, "podwall uninstall: bad option %s\nusage: podwall uninstall %s\n",
				argv[optind - 1], uninstall_usage);
			return PW_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "podwall uninstall: unexpected argument '%s'\n", argv[optind]);
		return PW_EXIT_USAGE;
	}
	if (opt_pin) {
		if (snprintf(pin_dir, sizeof(pin_dir), "%s", opt_pin) >= (int)sizeof(pin_dir))
			return PW_EXIT_USAGE;
	} else {
		err = pw_default_pin_dir(pin_dir, sizeof(pin_dir));
		if (err) {
			fprintf(stderr, "podwall uninstall: /proc/self/ns/net: %s\n", strerror(-err));
			return PW_EXIT_SYSTEM;
		}
	}

	/* 1. the filters: programs stop running */
	err = pw_rt_open(&rt);
	if (err) {
		fprintf(stderr, "podwall uninstall: rtnetlink socket: %s\n", strerror(-err));
		goto out;
	}
	err = pw_detach_all(rt, &st);
	if (err) {
		fprintf(stderr, "podwall uninstall: %s\n", st.error[0] ? st.error : strerror(-err));
		goto out;
	}

	/* 2. the pins: only on bpffs, only podwall's map names */
	if (stat(pin_dir, &sb)) {
		if (errno != ENOENT) {
			fprintf(stderr, "podwall uninstall: %s: %s\n", pin_dir, strerror(errno));
			goto out;
		}
		fprintf(stderr, "podwall: removed %u tc filters and %u clsact qdiscs; no pins in %s\n",
			st.detached, st.qdiscs, pin_dir);
		ret = PW_EXIT_OK;
		goto out;
	}
	if (statfs(pin_dir, &sfs) || sfs.f_type != BPF_FS_MAGIC || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "podwall uninstall: %s is not a directory on bpffs; "
			"not touching it\n", pin_dir);
		ret = PW_EXIT_USAGE;
		goto out;
	}
	err = pw_bpf_unpin(pin_dir); /* podwall's map names only, then the dir if empty */
	if (err)
		goto out;
	pw_ops_remove_state(pin_dir); /* the names file explain/status read, if any */
	if (!opt_pin)
		rmdir(PW_PIN_ROOT); /* only if empty: other netns' pins stay */
	fprintf(stderr, "podwall: removed %u tc filters, %u clsact qdiscs and the pinned maps "
		"in %s\n", st.detached, st.qdiscs, pin_dir);
	ret = PW_EXIT_OK;
out:
	pw_rt_close(rt);
	return ret;
}
