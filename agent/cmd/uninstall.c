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
#include "cmd/opts.h"
#include "kernel/attach.h"
#include "kernel/bpfobj.h"
#include "kernel/netns.h"
#include "kernel/route.h"
#include "ops/statefile.h"
#include "source/cni_proto.h"
#include "../cni/conflist.h"


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

enum { O_PIN_DIR = 1, O_NODE, O_CNI_CONF_DIR, O_CNI_SOCKET, O_FORCE };

static const struct pw_opt uninstall_opts[] = {
	{ O_PIN_DIR, 0, "pin-dir", "P", "the pin dir (default: this network namespace's)", NULL },
	{ O_NODE, 0, "node", NULL, "the whole node: podwall-cni out of the CNI configuration "
	  "first, then filters and pins, then the CNI registry", NULL },
	{ O_CNI_CONF_DIR, 0, "cni-conf-dir", "DIR", "--node: the CNI configuration directory "
	  "(default /etc/cni/net.d)", NULL },
	{ O_CNI_SOCKET, 0, "cni-socket", "PATH", "--node: the agent's socket (default "
	  PW_CNI_DEFAULT_SOCKET ")", NULL },
	{ O_FORCE, 0, "force", NULL, "--node: go on while an agent answers", NULL },
	{ 0 },
};

const struct pw_cmd_doc pw_doc_uninstall = {
	"uninstall", "[--pin-dir P] [--node [--cni-conf-dir DIR] [--cni-socket PATH] [--force]]",
	"remove every tc filter and pin podwall made in this network namespace, nothing else",
	uninstall_opts,
};

struct uninstall_args {
	const char *pin_dir, *conf_dir, *sock;
	bool        node, force;
};

static int uninstall_opt(void *ctx, const struct pw_opt *o, const char *val)
{
	struct uninstall_args *a = ctx;

	if (!o)
		return pw_opts_bad(&pw_doc_uninstall, "unexpected argument '%s'", val);
	switch (o->id) {
	case O_PIN_DIR:      a->pin_dir = val; break;
	case O_NODE:         a->node = true; break;
	case O_CNI_CONF_DIR: a->conf_dir = val; break;
	case O_CNI_SOCKET:   a->sock = val; break;
	case O_FORCE:        a->force = true; break;
	}
	return 0;
}

int cmd_uninstall(int argc, char **argv)
{
	struct uninstall_args a = { .conf_dir = "/etc/cni/net.d", .sock = PW_CNI_DEFAULT_SOCKET };
	struct pw_attach_stats st;
	struct pw_error why = { { 0 } };
	struct pw_rt *rt = NULL;
	char pin_dir[PATH_MAX];
	const char *opt_pin, *conf_dir, *sock;
	bool node, force;
	struct statfs sfs;
	struct stat sb;
	int err, ret;

	ret = pw_opts_parse(&pw_doc_uninstall, argc, argv, uninstall_opt, &a);
	if (ret)
		return ret == PW_OPTS_HELP ? PW_EXIT_OK : ret;
	ret = PW_EXIT_SYSTEM;
	opt_pin = a.pin_dir;
	conf_dir = a.conf_dir;
	sock = a.sock;
	node = a.node;
	force = a.force;
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
		fprintf(stderr, "podwall: removed %u programs (tc filters, tcx) and %u clsact qdiscs; no pins in %s\n",
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
	err = pw_bpf_unpin(pin_dir, &why); /* podwall's map names only, then the dir if empty */
	if (err) {
		fprintf(stderr, "podwall: %s\n", why.msg);
		goto out;
	}
	pw_ops_remove_state(pin_dir); /* the names file explain/status read, if any */
	if (!opt_pin)
		rmdir(PW_PIN_ROOT); /* only if empty: other netns' pins stay */
	fprintf(stderr, "podwall: removed %u programs (tc filters, tcx), %u clsact qdiscs and the pinned maps "
		"in %s\n", st.detached, st.qdiscs, pin_dir);
	if (node)
		remove_registry(sock); /* 3. */
	ret = PW_EXIT_OK;
out:
	pw_rt_close(rt);
	return ret;
}
