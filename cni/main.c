// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * podwall-cni: a chained CNI plugin (CNI spec 1.0.0; 0.4.0 and 0.3.x
 * configurations accepted) that tells the podwall agent which host veth and
 * addresses belong to which pod, and returns only once the agent has the
 * pod's enforcement in place.
 *
 *   ADD    prevResult -> host veth (the interface without "sandbox", checked
 *          against the peer of CNI_IFNAME inside CNI_NETNS) and addresses;
 *          K8S_POD_NAMESPACE / K8S_POD_NAME from CNI_ARGS; register with the
 *          agent and wait for its "enforced"; print prevResult unchanged.
 *   DEL    unregister; succeeds when the agent or the pod is gone.
 *   CHECK  the agent confirms registration, device, endpoint and filters.
 *   VERSION
 *
 * Network configuration keys of our own: "socket" (the agent's socket,
 * default /run/podwall/cni.sock) and "timeoutSeconds" (default 30).
 * Errors: the CNI error object on stdout, exit status 1.
 *
 * Outside a runtime: `podwall-cni chain|unchain ...` edits a node's CNI
 * configuration (chain.c, used by deploy/install-cni.sh).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <jansson.h>
#include "source/cni_proto.h"
#include "cni.h"
#include "nl.h"

static const char *const supported_versions[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0" };
#define N_SUPPORTED (sizeof(supported_versions) / sizeof(supported_versions[0]))

static const char *g_version = "1.0.0"; /* of the error object: the config's if known */

/* -------------------------------------------------------------- errors */

void cni_fail(int code, const char *details, const char *fmt, ...)
{
	char msg[1024];
	json_t *o;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_pack("{s:s, s:i, s:s}", "cniVersion", g_version, "code", code, "msg", msg);
	if (o && details && details[0])
		json_object_set_new(o, "details", json_string(details));
	if (o) {
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		fflush(stdout);
	}
	fprintf(stderr, "podwall-cni: %s%s%s\n", msg, details && details[0] ? ": " : "",
		details ? details : "");
	exit(1);
}

static char *read_stdin(size_t *len)
{
	size_t cap = 8192, n = 0;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			char *nb;

			if (cap >= 16u << 20) {
				free(buf);
				errno = EFBIG;
				return NULL;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(STDIN_FILENO, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

static bool version_supported(const char *v)
{
	for (size_t i = 0; i < N_SUPPORTED; i++)
		if (!strcmp(v, supported_versions[i]))
			return true;
	return false;
}

static void print_version(void)
{
	json_t *o = json_pack("{s:s, s:[]}", "cniVersion", "1.0.0", "supportedVersions");
	json_t *a = json_object_get(o, "supportedVersions");

	for (size_t i = 0; i < N_SUPPORTED; i++)
		json_array_append_new(a, json_string(supported_versions[i]));
	json_dumpf(o, stdout, 0);
	fputc('\n', stdout);
	json_decref(o);
}

/* ------------------------------------------------------------ CNI_ARGS */

/* The value of key in CNI_ARGS ("K=V;K2=V2"), malloc'd, or NULL. */
static char *cni_arg(const char *args, const char *key)
{
	size_t kl = strlen(key);
	const char *p = args;

	while (p && *p) {
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > kl && !strncmp(p, key, kl) && p[kl] == '=')
			return strndup(p + kl + 1, len - kl - 1);
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

/* ------------------------------------------------------- the pod's veth */

struct pod_if {
	char     host_veth[IF_NAMESIZE];
	uint32_t host_ifindex;
	json_t  *ips;    /* array of address strings (no prefix length) */
};

static bool name_in(json_t *names, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(names, i, v)
		if (!strcmp(json_string_value(v), name))
			return true;
	return false;
}

/*
 * The host side of the pod's veth: the peer of CNI_IFNAME in CNI_NETNS when
 * that can be read (the precise answer), which must be one of prevResult's
 * interfaces without "sandbox" if it lists any; else the one such interface
 * that is a veth here (bridge lists the bridge too; it is no veth).
 */
static void find_pod_if(json_t *prev, const char *netns, const char *ifname, struct pod_if *pi)
{
	json_t *ifaces = json_object_get(prev, "interfaces"), *ips = json_object_get(prev, "ips");
	json_t *cands = json_array(), *v;
	char why[512] = "";
	size_t i;

	memset(pi, 0, sizeof(*pi));
	json_array_foreach(ifaces, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *sb = json_string_value(json_object_get(v, "sandbox"));

		if (name && (!sb || !sb[0]))
			json_array_append_new(cands, json_string(name));
	}

	if (netns && netns[0] && ifname && ifname[0]) {
		struct cni_link in, host;
		int err = cni_link_get_in(netns, ifname, &in);

		if (err) {
			snprintf(why, sizeof(why), "%s in %s: %s", ifname, netns, strerror(-err));
		} else if (!in.peer_ifindex) {
			snprintf(why, sizeof(why), "%s in %s has no peer (kind %s)", ifname, netns,
				 in.kind[0] ? in.kind : "none");
		} else if ((err = cni_link_get(NULL, in.peer_ifindex, &host))) {
			snprintf(why, sizeof(why), "peer ifindex %u of %s: %s", in.peer_ifindex,
				 ifname, strerror(-err));
		} else if (strcmp(host.kind, "veth")) {
			snprintf(why, sizeof(why), "peer %s of %s is a %s, not a veth", host.name,
				 ifname, host.kind[0] ? host.kind : "device");
		} else if (json_array_size(cands) && !name_in(cands, host.name)) {
			snprintf(why, sizeof(why), "peer %s of %s is not among prevResult's host "
				 "interfaces", host.name, ifname);
		} else {
			snprintf(pi->host_veth, sizeof(pi->host_veth), "%s", host.name);
			pi->host_ifindex = host.ifindex;
		}
	}
	if (!pi->host_ifindex) {
		struct cni_link l;
		size_t found = 0;

		json_array_foreach(cands, i, v) {
			if (cni_link_get(json_string_value(v), 0, &l) || strcmp(l.kind, "veth"))
				continue;
			if (!found++) {
				snprintf(pi->host_veth, sizeof(pi->host_veth), "%s", l.name);
				pi->host_ifindex = l.ifindex;
			}
		}
		if (found > 1)
			cni_fail(PW_CNI_E_NO_VETH, why, "prevResult lists %zu host-side veths and "
				 "the peer of %s could not be read; cannot tell the pod's", found,
				 ifname);
		if (!found)
			cni_fail(PW_CNI_E_NO_VETH, why, "no host-side veth of the pod found (is "
				 "podwall-cni chained after a plugin that makes a veth pair, such "
				 "as ptp or bridge?)");
	}
	json_decref(cands);

	pi->ips = json_array();
	json_array_foreach(ips, i, v) {
		const char *a = json_string_value(json_object_get(v, "address"));
		char buf[64], *slash;

		if (!a || strlen(a) >= sizeof(buf))
			continue;
		snprintf(buf, sizeof(buf), "%s", a);
		slash = strchr(buf, '/');
		if (slash)
			*slash = 0;
		json_array_append_new(pi->ips, json_string(buf));
	}
	if (!json_array_size(pi->ips))
		cni_fail(PW_CNI_E_CONFIG, NULL, "prevResult has no IP addresses for the pod");
}

/* ------------------------------------------------------------ the agent */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Send req, return the agent's answer. *reach is set to false (and NULL
 * returned) when the agent cannot be reached at all; other failures end the
 * plugin with a CNI error.
 */
static json_t *agent_call(const char *path, json_t *req, double timeout_s, bool *reach,
			  char *why, size_t why_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *line = json_dumps(req, JSON_COMPACT);
	char *buf = NULL;
	size_t len = 0, cap = 0, off = 0;
	double end = now_s() + timeout_s;
	json_t *ans = NULL;
	json_error_t jerr;
	int fd;

	*reach = false;
	if (!line)
		cni_fail(PW_CNI_E_IO, NULL, "out of memory");
	if (strlen(path) >= sizeof(sa.sun_path))
		cni_fail(PW_CNI_E_CONFIG, path, "socket path too long");
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		cni_fail(PW_CNI_E_IO, strerror(errno), "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		snprintf(why, why_len, "connect %s: %s", path, strerror(errno));
		close(fd);
		free(line);
		return NULL;
	}
	*reach = true;
	len = strlen(line);
	if (write(fd, line, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
		snprintf(why, why_len, "writing to %s: %s", path, strerror(errno));
		*reach = false;
		goto out;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double left = end - now_s();
		ssize_t r;
		int n;

		if (left <= 0) {
			close(fd);
			free(line);
			free(buf);
			cni_fail(PW_CNI_E_AGENT, path,
				 "the agent did not answer within %.0f s (timeoutSeconds)", timeout_s);
		}
		/* in slices of at most a minute: a huge timeoutSeconds must not
		 * overflow the int (a negative poll timeout waits for ever) */
		n = poll(&p, 1, left > 60 ? 60000 : (int)(left * 1000) + 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			continue;
		if (off + 4096 > cap) {
			char *nb;

			cap = cap ? cap * 2 : 8192;
			if (cap > PW_CNI_MAX_REQUEST * 4)
				break;
			nb = realloc(buf, cap);
			if (!nb)
				break;
			buf = nb;
		}
		r = read(fd, buf + off, cap - off - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	if (!off) {
		snprintf(why, why_len, "the agent closed the connection without an answer");
		goto out;
	}
	buf[off] = 0;
	ans = json_loads(buf, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!ans || !json_is_object(ans)) {
		snprintf(why, why_len, "undecodable answer from the agent: %s", jerr.text);
		json_decref(ans);
		ans = NULL;
	}
out:
	close(fd);
	free(line);
	free(buf);
	return ans;
}

/* ------------------------------------------------------------ commands */

static int usage(FILE *f)
{
	fprintf(f,
		"podwall-cni: podwall's chained CNI plugin; a container runtime runs it with\n"
		"CNI_COMMAND=ADD|DEL|CHECK|VERSION and the network configuration on stdin.\n"
		"\n"
		"Outside a runtime:\n"
		"  podwall-cni chain   --conf-dir DIR [--socket PATH] [--wait SECONDS] [--watch SECONDS]\n"
		"  podwall-cni unchain --conf-dir DIR\n"
		"  podwall-cni version\n");
	return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	const char *cmd = getenv("CNI_COMMAND");
	const char *cid = getenv("CNI_CONTAINERID"), *netns = getenv("CNI_NETNS");
	const char *ifname = getenv("CNI_IFNAME"), *args = getenv("CNI_ARGS");
	const char *sock = PW_CNI_DEFAULT_SOCKET, *ver;
	char *in, *ns = NULL, *pod = NULL, why[1024] = "";
	double timeout_s = 30;
	json_t *conf, *prev, *req, *ans, *v;
	json_error_t jerr;
	bool is_add, is_del, is_check, reach;
	size_t len;

	if (!cmd || !cmd[0]) {
		if (argc >= 2 && (!strcmp(argv[1], "chain") || !strcmp(argv[1], "unchain")))
			return cni_chain_main(argc - 1, argv + 1);
		if (argc >= 2 && !strcmp(argv[1], "version")) {
			print_version();
			return 0;
		}
		return usage(argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
			     ? stdout : stderr);
	}
	if (!strcmp(cmd, "VERSION")) {
		print_version();
		return 0;
	}
	is_add = !strcmp(cmd, "ADD");
	is_del = !strcmp(cmd, "DEL");
	is_check = !strcmp(cmd, "CHECK");
	if (!is_add && !is_del && !is_check)
		cni_fail(PW_CNI_E_ENV, NULL, "unknown CNI_COMMAND %s", cmd);

	in = read_stdin(&len);
	if (!in)
		cni_fail(PW_CNI_E_IO, strerror(errno), "reading the network configuration");
	conf = json_loadb(in, len, 0, &jerr);
	free(in);
	if (!conf || !json_is_object(conf))
		cni_fail(PW_CNI_E_DECODE, jerr.text, "network configuration is not a JSON object");
	ver = json_string_value(json_object_get(conf, "cniVersion"));
	if (!ver)
		cni_fail(PW_CNI_E_CONFIG, NULL, "network configuration has no cniVersion");
	if (!version_supported(ver))
		cni_fail(PW_CNI_E_VERSION, "supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0",
			 "incompatible CNI version %s", ver);
	g_version = ver;
	if (is_check && !strncmp(ver, "0.3.", 4))
		cni_fail(PW_CNI_E_VERSION, NULL, "CHECK needs cniVersion 0.4.0 or later (got %s)", ver);
	if ((v = json_object_get(conf, "socket"))) {
		if (!json_is_string(v) || !json_string_value(v)[0])
			cni_fail(PW_CNI_E_CONFIG, NULL, "\"socket\" must be a path");
		sock = json_string_value(v);
	}
	if ((v = json_object_get(conf, "timeoutSeconds"))) {
		if (!json_is_number(v) || json_number_value(v) <= 0)
			cni_fail(PW_CNI_E_CONFIG, NULL, "\"timeoutSeconds\" must be a positive number");
		timeout_s = json_number_value(v);
	}
	if (!cid || !cid[0])
		cni_fail(PW_CNI_E_ENV, NULL, "CNI_CONTAINERID is not set");
	if (!ifname || !ifname[0])
		cni_fail(PW_CNI_E_ENV, NULL, "CNI_IFNAME is not set");
	if (args) {
		ns = cni_arg(args, "K8S_POD_NAMESPACE");
		pod = cni_arg(args, "K8S_POD_NAME");
	}

	req = json_pack("{s:i, s:s, s:s, s:s, s:s}", "v", PW_CNI_PROTO_VERSION, "op", cmd,
			"containerID", cid, "ifname", ifname, "netns", netns ? netns : "");
	if (ns && pod) {
		json_object_set_new(req, "namespace", json_string(ns));
		json_object_set_new(req, "pod", json_string(pod));
	}
	json_object_set_new(req, "netnsCookie", json_integer((json_int_t)cni_netns_cookie()));

	prev = json_object_get(conf, "prevResult");
	if (is_add || is_check) {
		struct pod_if pi;

		if (!ns || !ns[0] || !pod || !pod[0])
			cni_fail(PW_CNI_E_ENV, args ? args : "(CNI_ARGS not set)",
				 "K8S_POD_NAMESPACE and K8S_POD_NAME are needed in CNI_ARGS");
		if (!json_is_object(prev))
			cni_fail(PW_CNI_E_CONFIG, NULL,
				 "no prevResult: podwall-cni is a chained plugin and must follow the "
				 "plugin that creates the pod's interface (ptp, bridge, ...)");
		if (!netns || !netns[0])
			cni_fail(PW_CNI_E_ENV, NULL, "CNI_NETNS is not set");
		find_pod_if(prev, netns, ifname, &pi);
		json_object_set_new(req, "hostVeth", json_string(pi.host_veth));
		json_object_set_new(req, "hostIfindex", json_integer(pi.host_ifindex));
		json_object_set_new(req, "ips", pi.ips);
	}

	ans = agent_call(sock, req, timeout_s, &reach, why, sizeof(why));
	json_decref(req);
	if (!ans) {
		if (is_del) {
			/* DEL succeeds when there is nothing left to remove */
			fprintf(stderr, "podwall-cni: DEL %s: agent not reachable (%s); nothing to do\n",
				cid, why);
			json_decref(conf);
			free(ns);
			free(pod);
			return 0;
		}
		if (!reach)
			cni_fail(PW_CNI_E_RETRY, why,
				 "the podwall agent is not reachable; the pod cannot be enforced");
		cni_fail(PW_CNI_E_AGENT, why, "no answer from the podwall agent");
	}
	if (!json_is_true(json_object_get(ans, "ok"))) {
		json_int_t code = json_integer_value(json_object_get(ans, "code"));
		const char *msg = json_string_value(json_object_get(ans, "msg"));
		const char *det = json_string_value(json_object_get(ans, "details"));

		cni_fail(code >= 1 ? (int)code : PW_CNI_E_AGENT, det, "podwall agent: %s",
			 msg ? msg : "failed");
	}
	if (is_add) {
		/* prevResult unchanged, in the configuration's version */
		json_object_set_new(prev, "cniVersion", json_string(ver));
		json_dumpf(prev, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	}
	json_decref(ans);
	json_decref(conf);
	free(ns);
	free(pod);
	return 0;
}
