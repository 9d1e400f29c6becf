// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * podwall uninstall [--pin-dir P]: remove every tc filter podwall made in
 * this network namespace (and a clsact qdisc left with no filter at all),
 * then podwall's pins in the pin dir and the dir. Nothing else is touched.
 *
 * --node: take podwall off a Kubernetes node (run on the node, in its
 * network namespace, once the DaemonSet is gone), in the order that keeps
 * every pod working:
 *   1. podwall-cni out of the CNI configuration (--cni-conf-dir,
 *      /etc/cni/net.d): new pods' ADD no longer asks for an agent;
 *   2. the filters, then the pins (as without --node): old pods' traffic
 *      flows unfiltered;
 *   3. the CNI registry beside the socket (--cni-socket, /run/podwall/cni.sock):
 *      the socket and endpoints.json.
 * The podwall-cni binary stays in the CNI binary directory: a DEL of a pod
 * created while it was chained may still run it (and succeeds with no agent).
 * Refused while an agent answers on the socket (it would chain again and
 * attach again), unless --force.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include "cmd/cmd.h"
#include "kernel/attach.h"
#include "kernel/bpfobj.h"
#include "kernel/netns.h"
#include "kernel/route.h"
#include "ops/statefile.h"
#include "source/cni_proto.h"
#include "../cni/conflist.h"

static const char uninstall_usage[] =
	"[--pin-dir P] [--node [--cni-conf-dir DIR] [--cni-socket PATH] [--force]]";

/* Whether something accepts connections on the unix socket at path. */
static bool agent_answers(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ok;

	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	ok = !connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return ok;
}

/* The socket and the registry beside it (cni_server.h: endpoints.json). */
static void remove_registry(const char *sock)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	const char *slash = strrchr(sock, '/');

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - sock) : 1, slash ? sock : ".");
	snprintf(path, sizeof(path), "%s/endpoints.json", dir);
	if (!unlink(path))
		fprintf(stderr, "podwall: removed %s\n", path);
	if (!unlink(sock))
		fprintf(stderr, "podwall: removed %s\n", sock);
	rmdir(dir); /* only if nothing else is there */
}

int cmd_uninstall(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "node",         no_argument,       NULL, 'n' },
		{ "cni-conf-dir", required_argument, NULL, 'c' },
		{ "cni-socket",   required_argument, NULL, 's' },
		{ "force",        no_argument,       NULL, 'f' },
		{ "help",    no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pw_attach_stats st;
	struct pw_rt *rt = NULL;
	char pin_dir[PATH_MAX];
	const char *opt_pin = NULL, *conf_dir = "/etc/cni/net.d", *sock = PW_CNI_DEFAULT_SOCKET;
	bool node = false, force = false;
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
		case 'n':
			node = true;
			break;
		case 'c':
			conf_dir = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'f':
			force = true;
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

	if (node) {
		if (agent_answers(sock) && !force) {
			fprintf(stderr, "podwall uninstall: an agent answers on %s: stop it first "
				"(delete the DaemonSet), or it chains podwall-cni and attaches "
				"again; --force to go on anyway\n", sock);
			return PW_EXIT_SYSTEM;
		}
		/* 0. new pods stop asking for an agent */
		err = pw_conflist_chain(conf_dir, sock, true, stderr);
		if (err < 0 && err != -2) {
			fprintf(stderr, "podwall uninstall: could not take podwall-cni out of %s; "
				"nothing else was changed\n", conf_dir);
			return PW_EXIT_SYSTEM;
		}
		if (err == -2)
			fprintf(stderr, "podwall: no CNI configuration in %s\n", conf_dir);
		else if (err == 0)
			fprintf(stderr, "podwall: podwall-cni was not chained in %s\n", conf_dir);
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
		if (node)
			remove_registry(sock);
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
	if (node)
		remove_registry(sock); /* 3. */
	ret = PW_EXIT_OK;
out:
	pw_rt_close(rt);
	return ret;
}
