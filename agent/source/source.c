// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent's sources (source.h): options, the manifest path (inotify, and
 * a parse cache for reloads), the CNI socket and the API watch (one epoll
 * descriptor for the engine's loop to poll), the ADD/DEL/CHECK logic, and
 * loading with the CNI registry merged in. The sources only report what
 * happened (pw_engine_source); the loop decides when to load and push.
 *
 * A pod that podwall-cni registers but whose Pod object the policy source
 * does not have (yet): ADD waits up to --cni-pod-wait for it; if it is still
 * unknown, the pod is enforced as a stand-in PODWALL_PENDING_NS/<ns>.<name>
 * that a policy of that namespace isolates in both directions, with no rule:
 * no new connection in or out (DNS only under --dns auto) until the Pod
 * object, and so its labels, are known. Its labels decide which policies
 * select it, and we cannot know them: guessing "not isolated" would let a
 * pod that a default-deny covers talk freely, so we fail closed.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <jansson.h>
#include "model.h"
#include "log.h"
#include "clock.h"
#include "engine/engine.h"
#include "kernel/attach.h"
#include "kernel/bpfobj.h"
#include "kernel/netns.h"
#include "kernel/route.h"
#include "kernel/watch.h"
#include "source/cni_proto.h"
#include "source/cni_server.h"
#include "source/k8s_api.h"
#include "source/cni_chain.h"
#include "source/source.h"

#define READ_TIMEOUT_MS 5000
#define TIMER_MS        50

enum { TAG_LISTEN = 1, TAG_TIMER, TAG_K8S, TAG_MAX_ };

enum conn_state { C_READ = 0, C_WAIT, C_READY };

struct conn {
	int          fd;
	char        *buf;
	size_t       len, cap;
	enum conn_state st;
	char         op[8];
	char        *cid;
	char         ifname[16];
	char         ns[64];
	char         name[256];
	uint32_t     ifindex;
	uint64_t     t0;          /* when the request arrived */
	uint64_t     deadline;    /* C_READ: give up reading; C_WAIT: stop waiting for the Pod */
	struct conn *next;
};

struct idx_ent {
	char     ns[64];
	char     name[256];
	uint32_t ifindex;
};

static struct {
	bool               started;
	/* options */
	const char        *cni_socket;
	const char        *cni_state;
	long               pod_wait_ms;
	const char        *kubeconfig;
	const char        *context;
	const char        *cni_conf_dir;  /* keep podwall-cni chained there (cni_chain.h) */
	/* runtime */
	bool               api;
	const char        *source;      /* --source: a path, or the API */
	struct pw_filecache *fc;        /* the path's parsed files, for reloads */
	struct pw_watch   *watch;       /* inotify on the path */
	struct pw_k8s     *k8s;
	int                epfd, listen_fd, timer_fd, k8s_efd;
	bool               timer_armed;
	struct pw_rt      *rt;
	uint64_t           cookie;
	struct pw_cni_reg  reg;
	struct conn       *conns;
	int                ep_map_fd;
	char               pin_dir[PATH_MAX];
	struct idx_ent    *idx;
	size_t             n_idx;
} S = { .pod_wait_ms = 3000, .epfd = -1, .listen_fd = -1, .timer_fd = -1, .k8s_efd = -1,
	.ep_map_fd = -1 };

/* ------------------------------------------------------------ options */

int pw_src_opt(const char *name, const char *val, struct pw_error *why)
{
	char *end;

	if (!strcmp(name, "cni-socket"))
		S.cni_socket = val;
	else if (!strcmp(name, "cni-state"))
		S.cni_state = val;
	else if (!strcmp(name, "kubeconfig"))
		S.kubeconfig = val;
	else if (!strcmp(name, "kube-context"))
		S.context = val;
	else if (!strcmp(name, "cni-conf-dir"))
		S.cni_conf_dir = val;
	else if (!strcmp(name, "cni-pod-wait")) {
		S.pod_wait_ms = strtol(val, &end, 10);
		if (!*val || *end || S.pod_wait_ms < 0 || S.pod_wait_ms > 600000)
			return pw_errorf(why, -EINVAL, "bad value '%s' for --cni-pod-wait "
					 "(milliseconds, 0..600000)", val);
	} else
		return -ENOENT;
	return 0;
}

bool pw_src_is_api(const char *source)
{
	return source && (!strcmp(source, "k8s") || !strcmp(source, "kubernetes"));
}

/* ------------------------------------------------------------ helpers */

static int idx_cmp(const void *a, const void *b)
{
	const struct idx_ent *x = a, *y = b;
	int r = strcmp(x->ns, y->ns);

	return r ? r : strcmp(x->name, y->name);
}

/* The lookup table of pw_src_local: each pod's newest live entry, and its stand-in name. */
static void idx_rebuild(void)
{
	struct idx_ent *v = calloc(S.reg.n * 2 + 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return; /* keep the old one */
	for (size_t i = 0; i < S.reg.n; i++) {
		const struct pw_cni_ep *e = &S.reg.v[i];

		if (!e->alive || pw_cni_reg_pod(&S.reg, e->ns, e->name) != e)
			continue;
		snprintf(v[n].ns, sizeof(v[n].ns), "%s", e->ns);
		snprintf(v[n].name, sizeof(v[n].name), "%s", e->name);
		v[n++].ifindex = e->ifindex;
		snprintf(v[n].ns, sizeof(v[n].ns), "%s", PW_CNI_PENDING_NS);
		pw_cni_pending_name(e->ns, e->name, v[n].name, sizeof(v[n].name));
		v[n++].ifindex = e->ifindex;
	}
	qsort(v, n, sizeof(*v), idx_cmp);
	free(S.idx);
	S.idx = v;
	S.n_idx = n;
}

uint32_t pw_src_local(void *ctx, const struct pw_pod *pod)
{
	struct idx_ent key;
	const struct idx_ent *hit;

	if (!S.n_idx || !pod->ns || !pod->name || strlen(pod->ns) >= sizeof(key.ns) ||
	    strlen(pod->name) >= sizeof(key.name))
		return 0;
	strcpy(key.ns, pod->ns);
	strcpy(key.name, pod->name);
	hit = bsearch(&key, S.idx, S.n_idx, sizeof(*S.idx), idx_cmp);
	return hit ? hit->ifindex : 0;
}

/* the source has the Pod object (an endpoint or not: pw_pod_role_of) */
static bool pod_in(const struct pw_cluster *c, const char *ns, const char *name)
{
	return pw_cluster_pod(c, ns, name) || pw_cluster_skipped_pod(c, ns, name);
}

/* ------------------------------------------------------------ loading */

static int dir_load(struct pw_filecache **fc, const char *path, struct pw_cluster **out,
		    struct pw_error *err)
{
	int ret;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	/* reload: only the files that changed are parsed again (filecache.c) */
	if (!*fc && !(*fc = pw_filecache_new(path))) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -ENOMEM;
	}
	ret = pw_filecache_load(*fc, out, NULL, err);
	if (ret && !err->msg[0])
		snprintf(err->msg, sizeof(err->msg), "%s: %s", path, strerror(-ret));
	return ret;
}

int pw_src_load_once(const char *path, struct pw_cluster **out, struct pw_error *err)
{
	struct pw_filecache *fc = NULL;
	int ret = dir_load(&fc, path, out, err);

	pw_filecache_free(fc);
	return ret;
}

static int base_load(struct pw_cluster **out, struct pw_error *err)
{
	struct pw_cluster *c;
	int ret;

	if (!S.api)
		return dir_load(&S.fc, S.source, out, err);
	*out = NULL;
	c = pw_cluster_new();
	if (!c) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -ENOMEM;
	}
	ret = pw_k8s_build(S.k8s, c, err);
	if (ret) {
		pw_cluster_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

static json_t *pending_objects(void)
{
	return json_pack("{s:s, s:s, s:[{s:s, s:s, s:{s:s}}, {s:s, s:s, s:{s:s, s:s}, "
			 "s:{s:{}, s:[s, s]}}]}",
			 "apiVersion", "v1", "kind", "List", "items",
			 "apiVersion", "v1", "kind", "Namespace", "metadata", "name",
			 PW_CNI_PENDING_NS,
			 "apiVersion", "networking.k8s.io/v1", "kind", "NetworkPolicy",
			 "metadata", "name", "isolated-until-pod-known", "namespace",
			 PW_CNI_PENDING_NS, "spec", "podSelector", "policyTypes", "Ingress", "Egress");
}

int pw_src_load(void *ctx, struct pw_cluster **out, struct pw_error *err)
{
	struct pw_cluster *c = NULL;
	json_t *list = NULL, *items;
	size_t n_pending = 0;
	int ret;

	memset(err, 0, sizeof(*err));
	ret = base_load(&c, err);
	if (ret)
		return ret;
	if (!S.reg.n) {
		*out = c;
		return 0;
	}
	if (pw_cni_reg_refresh(&S.reg, S.rt, true)) {
		pw_cni_reg_save(&S.reg);
		idx_rebuild();
	}
	list = pending_objects();
	items = json_object_get(list, "items");
	for (size_t i = 0; i < S.reg.n; i++) {
		struct pw_cni_ep *r = &S.reg.v[i];
		struct pw_pod *pod;
		char name[300], buf[64];
		json_t *ips;

		r->pending = false;
		if (!r->alive || pw_cni_reg_pod(&S.reg, r->ns, r->name) != r)
			continue;
		pod = (struct pw_pod *)pw_cluster_pod(c, r->ns, r->name);
		if (pod) {
			/* on this node, the sandbox's addresses are the truth */
			memcpy(pod->ips, r->ips, sizeof(pod->ips));
			pod->n_ips = r->n_ips;
			continue;
		}
		/* a finished pod whose sandbox is still being torn down is no
		 * endpoint, by the same rule as everywhere: not a pending one either */
		if (pw_cluster_skipped_pod(c, r->ns, r->name))
			continue;
		r->pending = true;
		n_pending++;
		pw_cni_pending_name(r->ns, r->name, name, sizeof(name));
		ips = json_array();
		for (size_t k = 0; k < r->n_ips; k++)
			json_array_append_new(ips, json_pack("{s:s}", "ip",
							     pw_addr_str(r->ips[k], buf, sizeof(buf))));
		json_array_append_new(items, json_pack(
			"{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}}, s:{s:o}}", "apiVersion", "v1",
			"kind", "Pod", "metadata", "name", name, "namespace", PW_CNI_PENDING_NS,
			"annotations", "podwall.io/pending-pod", r->ns, "podwall.io/pending-name",
			r->name, "status", "podIPs", ips));
	}
	if (n_pending) {
		char *text = json_dumps(list, JSON_COMPACT);

		ret = text ? pw_cluster_load_buffer(c, "podwall-cni:pending", text, strlen(text), err)
			   : -ENOMEM;
		if (!ret)
			ret = pw_cluster_finish(c, err);
		free(text);
		if (ret) {
			if (!err->msg[0])
				snprintf(err->msg, sizeof(err->msg), "podwall-cni: pending pods: %s",
					 strerror(-ret));
			json_decref(list);
			pw_cluster_free(c);
			return ret;
		}
	}
	json_decref(list);
	*out = c;
	return 0;
}

/* ------------------------------------------------------------ enforcement check */

static int verify_enforced(uint32_t ifindex, char *why, size_t len)
{
	struct pw_endpoint ep;
	bool dir_ok[2] = { false, false };

	if (S.ep_map_fd < 0) {
		char path[PATH_MAX + 16];

		snprintf(path, sizeof(path), "%s/endpoints", S.pin_dir);
		S.ep_map_fd = bpf_obj_get(path);
		if (S.ep_map_fd < 0) {
			snprintf(why, len, "%.300s: %s", path, strerror(errno));
			return -ENOENT;
		}
	}
	if (bpf_map_lookup_elem(S.ep_map_fd, &ifindex, &ep)) {
		snprintf(why, len, "no endpoint entry for ifindex %u", ifindex);
		return -ENOENT;
	}
	for (int d = 0; d < 2; d++) {
		struct pw_tc_filter *f = NULL;
		size_t n = 0;
		int err = pw_tc_list(S.rt, ifindex, d == 1, &f, &n);

		if (err) {
			snprintf(why, len, "listing tc filters of ifindex %u: %s", ifindex,
				 strerror(-err));
			free(f);
			return err;
		}
		for (size_t i = 0; i < n; i++)
			if (f[i].podwall)
				dir_ok[d] = true;
		free(f);
	}
	if (!dir_ok[0] || !dir_ok[1]) {
		snprintf(why, len, "podwall's program is not attached on tc %s of ifindex %u",
			 !dir_ok[0] ? "ingress" : "egress", ifindex);
		return -ENOENT;
	}
	return 0;
}

/* ------------------------------------------------------------ connections */

static void conn_close(struct conn *c)
{
	struct conn **pp;

	for (pp = &S.conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	epoll_ctl(S.epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->buf);
	free(c->cid);
	free(c);
}

static void conn_reply(struct conn *c, bool ok, int code, const char *msg, const char *details,
		       bool pending)
{
	char *line = pw_cni_answer(ok, code, msg, details, pending);

	if (line) {
		/* small: the plugin waits for it */
		size_t off = 0, n = strlen(line);

		while (off < n) {
			ssize_t w = send(c->fd, line + off, n - off, MSG_NOSIGNAL);

			if (w < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		free(line);
	}
	conn_close(c);
}

static const char *pod_str(const struct conn *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s (container %.12s)", c->ns[0] ? c->ns : "?",
		 c->name[0] ? c->name : "?", c->cid ? c->cid : "?");
	return buf;
}

static void handle_request(struct conn *c)
{
	struct pw_cni_ep ep;
	uint64_t cookie;
	char why[512], pbuf[400];
	int err;

	err = pw_cni_parse_request(c->buf, c->op, sizeof(c->op), &ep, &cookie, why, sizeof(why));
	if (err) {
		pw_warn("podwall: cni: bad request: %s", why);
		conn_reply(c, false, PW_CNI_E_DECODE, "bad request", why, false);
		return;
	}
	c->cid = strdup(ep.cid);
	snprintf(c->ifname, sizeof(c->ifname), "%s", ep.ifname);
	snprintf(c->ns, sizeof(c->ns), "%s", ep.ns ? ep.ns : "");
	snprintf(c->name, sizeof(c->name), "%s", ep.name ? ep.name : "");
	c->ifindex = ep.ifindex;
	if (cookie && S.cookie && cookie != S.cookie) {
		snprintf(why, sizeof(why), "podwall-cni runs in network namespace cookie %llu, the "
			 "agent in %llu", (unsigned long long)cookie, (unsigned long long)S.cookie);
		pw_warn("podwall: cni: %s %s: %s", c->op, pod_str(c, pbuf, sizeof(pbuf)), why);
		free(ep.cid); free(ep.ns); free(ep.name);
		conn_reply(c, false, PW_CNI_E_AGENT, "wrong network namespace", why, false);
		return;
	}

	if (!strcmp(c->op, "DEL")) {
		size_t n = pw_cni_reg_del(&S.reg, ep.cid, ep.ifname);

		free(ep.cid); free(ep.ns); free(ep.name);
		if (!n) {
			conn_reply(c, true, 0, "not registered", NULL, false);
			return;
		}
		pw_cni_reg_save(&S.reg);
		idx_rebuild();
		c->st = C_READY;  /* push without it, then answer */
		return;
	}

	if (!strcmp(c->op, "CHECK")) {
		struct pw_cni_ep *r = pw_cni_reg_find(&S.reg, ep.cid, ep.ifname);
		bool pending = false;

		if (!r) {
			snprintf(why, sizeof(why), "container %.64s/%s is not registered", ep.cid,
				 ep.ifname);
		} else if (strcmp(r->ns, ep.ns) || strcmp(r->name, ep.name) ||
			   r->ifindex != ep.ifindex || strcmp(r->veth, ep.veth)) {
			snprintf(why, sizeof(why), "registered as %s/%s on %s #%u, not %s/%s on %s #%u",
				 r->ns, r->name, r->veth, r->ifindex, ep.ns, ep.name, ep.veth,
				 ep.ifindex);
		} else {
			pw_cni_reg_refresh(&S.reg, S.rt, false);
			r = pw_cni_reg_find(&S.reg, ep.cid, ep.ifname);
			if (!r->alive)
				snprintf(why, sizeof(why), "host veth %s #%u is gone", r->veth, r->ifindex);
			else if (pw_cni_reg_pod(&S.reg, r->ns, r->name) != r)
				snprintf(why, sizeof(why), "a newer sandbox of %s/%s is registered",
					 r->ns, r->name);
			else if (!verify_enforced(r->ifindex, why, sizeof(why)))
				why[0] = 0, pending = r->pending;
		}
		free(ep.cid); free(ep.ns); free(ep.name);
		if (why[0])
			conn_reply(c, false, PW_CNI_E_NOT_ENFORCED, "not enforced", why, false);
		else
			conn_reply(c, true, 0, pending ? "enforced (pending: isolated until its Pod "
				   "object is known)" : "enforced", NULL, pending);
		return;
	}

	/* ADD: the device must be here, as named */
	{
		struct pw_link l;

		err = pw_rt_link_by_index(S.rt, ep.ifindex, &l);
		if (err || strcmp(l.name, ep.veth)) {
			snprintf(why, sizeof(why), "host veth %s #%u: %s", ep.veth, ep.ifindex,
				 err ? strerror(-err) : "another device has that index");
			pw_warn("podwall: cni: ADD %s: %s", pod_str(c, pbuf, sizeof(pbuf)), why);
			free(ep.cid); free(ep.ns); free(ep.name);
			conn_reply(c, false, PW_CNI_E_NO_VETH, "no such host veth in the agent's "
				   "network namespace", why, false);
			return;
		}
	}
	if (!pw_cni_reg_put(&S.reg, &ep)) {
		free(ep.cid); free(ep.ns); free(ep.name);
		conn_reply(c, false, PW_CNI_E_AGENT, "out of memory", NULL, false);
		return;
	}
	pw_cni_reg_save(&S.reg);
	idx_rebuild();
	c->st = C_WAIT;
	c->deadline = pw_now_ns() + (uint64_t)S.pod_wait_ms * 1000000ull;
}

static void conn_read(struct conn *c)
{
	for (;;) {
		ssize_t r;
		char *nl;

		if (c->cap - c->len < 4096) {
			size_t ncap = c->cap ? c->cap * 2 : 8192;
			char *nb;

			if (ncap > PW_CNI_MAX_REQUEST + 8192) {
				conn_reply(c, false, PW_CNI_E_DECODE, "request too large", NULL, false);
				return;
			}
			nb = realloc(c->buf, ncap);
			if (!nb) {
				conn_close(c);
				return;
			}
			c->buf = nb;
			c->cap = ncap;
		}
		r = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r <= 0) {
			/* EOF before a full line: use what came if anything */
			if (c->len) {
				c->buf[c->len] = 0;
				epoll_ctl(S.epfd, EPOLL_CTL_DEL, c->fd, NULL);
				handle_request(c);
			} else {
				conn_close(c);
			}
			return;
		}
		c->len += (size_t)r;
		c->buf[c->len] = 0;
		nl = strchr(c->buf, '\n');
		if (nl) {
			*nl = 0;
			/* no more input wanted; the answer is written when ready */
			epoll_ctl(S.epfd, EPOLL_CTL_DEL, c->fd, NULL);
			handle_request(c);
			return;
		}
	}
}

static void conn_accept(void)
{
	for (;;) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct epoll_event ev = { .events = EPOLLIN };
		struct conn *c;
		int fd = accept4(S.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.uid != 0) {
			pw_warn("podwall: cni: refused a connection from uid %d (root only)",
				(int)cred.uid);
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->t0 = pw_now_ns();
		c->deadline = c->t0 + READ_TIMEOUT_MS * 1000000ull;
		ev.data.ptr = c;
		if (epoll_ctl(S.epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(c);
			continue;
		}
		c->next = S.conns;
		S.conns = c;
	}
}

static void timer_arm(bool on)
{
	struct itimerspec its = { 0 };

	if (on == S.timer_armed)
		return;
	if (on) {
		its.it_value.tv_nsec = TIMER_MS * 1000000l;
		its.it_interval.tv_nsec = TIMER_MS * 1000000l;
	}
	timerfd_settime(S.timer_fd, 0, &its, NULL);
	S.timer_armed = on;
}

/* ------------------------------------------------------------ start, stop */

/* A system failure: never -EINVAL, which the caller takes for bad usage. */
static int sys_err(int err)
{
	return err == -EINVAL || err >= 0 ? -EIO : err;
}

bool pw_src_in_sync(char *why, size_t len)
{
	if (!S.api || !S.k8s)
		return true; /* a path: the engine knows whether its last load succeeded */
	return pw_k8s_in_sync(S.k8s, why, len);
}

int pw_src_check(const char *source, struct pw_error *why)
{
	if (!pw_src_is_api(source) && (S.kubeconfig || S.context))
		return pw_errorf(why, -EINVAL, "--kubeconfig/--kube-context need --source k8s");
	if (S.cni_conf_dir && !S.cni_socket)
		return pw_errorf(why, -EINVAL, "--cni-conf-dir needs --cni-socket (the socket "
				 "its entry names)");
	return 0;
}

int pw_src_start(const char *source, const char *pin_dir, struct pw_error *why)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int err;

	err = pw_src_check(source, why);
	if (err)
		return err;
	S.source = source;
	S.api = pw_src_is_api(source);
	if (!S.api) {
		err = pw_watch_open(source, &S.watch);
		if (err)
			return pw_errorf(why, sys_err(err), "watching %s: %s", source,
					 strerror(-err));
	}
	if (!S.api && !S.cni_socket)
		return 0;
	snprintf(S.pin_dir, sizeof(S.pin_dir), "%s", pin_dir);
	pw_netns_cookie(&S.cookie); /* 0 if unknown: requests are not checked */
	S.epfd = epoll_create1(EPOLL_CLOEXEC);
	S.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (S.epfd < 0 || S.timer_fd < 0)
		return pw_errorf(why, sys_err(-errno), "epoll/timerfd: %s", strerror(errno));
	ev.data.u64 = TAG_TIMER;
	epoll_ctl(S.epfd, EPOLL_CTL_ADD, S.timer_fd, &ev);
	err = pw_rt_open(&S.rt);
	if (err)
		return pw_errorf(why, sys_err(err), "rtnetlink: %s", strerror(-err));
	S.started = true;

	if (S.api) {
		struct pw_k8s_opts ko = { .kubeconfig = S.kubeconfig, .context = S.context };

		S.k8s_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (S.k8s_efd < 0)
			return pw_errorf(why, sys_err(-errno), "eventfd: %s", strerror(errno));
		ev.data.u64 = TAG_K8S;
		epoll_ctl(S.epfd, EPOLL_CTL_ADD, S.k8s_efd, &ev);
		ko.notify_fd = S.k8s_efd;
		err = pw_k8s_start(&ko, &S.k8s, why);
		if (err)
			return err == -EINVAL ? -EINVAL : sys_err(err);
	}

	if (S.cni_socket) {
		char state[PATH_MAX];

		if (S.cni_state) {
			snprintf(state, sizeof(state), "%s", S.cni_state);
		} else {
			const char *slash = strrchr(S.cni_socket, '/');

			snprintf(state, sizeof(state), "%.*sendpoints.json",
				 slash ? (int)(slash - S.cni_socket + 1) : 0, S.cni_socket);
		}
		err = pw_cni_reg_load(&S.reg, state, S.cookie);
		if (err)
			return pw_errorf(why, sys_err(err), "cni: loading %s: %s", state,
					 strerror(-err));
		pw_cni_reg_refresh(&S.reg, S.rt, true);
		idx_rebuild();
		S.listen_fd = pw_cni_listen(S.cni_socket, why);
		if (S.listen_fd < 0)
			return sys_err(S.listen_fd);
		ev.data.u64 = TAG_LISTEN;
		epoll_ctl(S.epfd, EPOLL_CTL_ADD, S.listen_fd, &ev);
		pw_info("podwall: cni: serving podwall-cni on %s (registry %s, %zu endpoint%s; "
			"ADD waits up to %ld ms for a Pod object)", S.cni_socket, state, S.reg.n,
			S.reg.n == 1 ? "" : "s", S.pod_wait_ms);
		/* only now: a pod whose ADD the new entry brings finds the socket */
		if (S.cni_conf_dir) {
			err = pw_chain_keeper_start(S.cni_conf_dir, S.cni_socket);
			if (err)
				return pw_errorf(why, sys_err(err), "cni: keeping "
						 "podwall-cni chained in %s: %s",
						 S.cni_conf_dir, strerror(-err));
		}
	}
	return 0;
}

void pw_src_stop(void)
{
	pw_chain_keeper_stop();
	while (S.conns)
		conn_reply(S.conns, false, PW_CNI_E_RETRY, "the agent is stopping", NULL, false);
	if (S.k8s)
		pw_k8s_stop(S.k8s);
	S.k8s = NULL;
	if (S.listen_fd >= 0) {
		close(S.listen_fd);
		/* the socket file stays: a plugin that connects meanwhile gets ECONNREFUSED */
	}
	if (S.epfd >= 0)
		close(S.epfd);
	if (S.timer_fd >= 0)
		close(S.timer_fd);
	if (S.k8s_efd >= 0)
		close(S.k8s_efd);
	if (S.ep_map_fd >= 0)
		close(S.ep_map_fd);
	if (S.rt)
		pw_rt_close(S.rt);
	pw_watch_close(S.watch);
	S.watch = NULL;
	pw_filecache_free(S.fc);
	S.fc = NULL;
	pw_cni_reg_free(&S.reg);
	free(S.idx);
	S.idx = NULL;
	S.n_idx = 0;
	S.listen_fd = S.epfd = S.timer_fd = S.k8s_efd = S.ep_map_fd = -1;
	S.rt = NULL;
	S.started = false;
}

/* ------------------------------------------------------------ the loop */

/* Whether the Pod object of every waiting ADD is known yet (dir: one load). */
static void check_waiting(void)
{
	struct pw_cluster *c = NULL;
	struct pw_error err;
	uint64_t now = pw_now_ns();
	bool loaded = false, any = false;

	for (struct conn *c2 = S.conns; c2; c2 = c2->next)
		if (c2->st == C_WAIT)
			any = true;
	if (!any)
		return;
	for (struct conn *x = S.conns; x; x = x->next) {
		bool known;

		if (x->st != C_WAIT)
			continue;
		if (S.api) {
			known = pw_k8s_has_pod(S.k8s, x->ns, x->name);
		} else {
			if (!loaded) {
				loaded = true;
				if (dir_load(&S.fc, S.source, &c, &err))
					c = NULL;
			}
			known = c && pod_in(c, x->ns, x->name);
		}
		if (known || now >= x->deadline)
			x->st = C_READY;
	}
	pw_cluster_free(c);
}

/* The loop made the push that the requests in C_READY wait on: answer them. */
static void cni_pushed(void *ctx, int err, const char *why_push)
{
	bool pushed = !err;
	char pbuf[400], why[512];

	for (struct conn *c = S.conns, *nx; c; c = nx) {
		double ms = (double)(pw_now_ns() - c->t0) / 1e6;

		nx = c->next;
		if (c->st != C_READY)
			continue;
		pod_str(c, pbuf, sizeof(pbuf));
		if (!strcmp(c->op, "DEL")) {
			pw_info("podwall: cni: DEL %s: removed in %.1f ms%s", pbuf, ms,
				pushed ? "" : " (the maps follow with the next good change)");
			conn_reply(c, true, 0, "removed", NULL, false);
			continue;
		}
		/* ADD */
		{
			const struct pw_cni_ep *r = pw_cni_reg_find(&S.reg, c->cid, c->ifname);
			bool pending = r && r->pending;

			why[0] = 0;
			if (!pushed)
				snprintf(why, sizeof(why), "%.500s", why_push ? why_push : strerror(-err));
			else if (!r)
				snprintf(why, sizeof(why), "the registration vanished (a DEL came first)");
			else
				verify_enforced(r->ifindex, why, sizeof(why));
			if (why[0]) {
				pw_warn("podwall: cni: ADD %s: not enforced: %s", pbuf, why);
				if (r) {
					pw_cni_reg_del(&S.reg, c->cid, c->ifname);
					pw_cni_reg_save(&S.reg);
					idx_rebuild();
				}
				conn_reply(c, false, PW_CNI_E_AGENT, "the pod could not be enforced",
					   why, false);
				continue;
			}
			pw_info("podwall: cni: ADD %s: host veth %s #%u enforced in %.1f ms%s",
				pbuf, r->veth, r->ifindex, ms,
				pending ? " (no Pod object yet: isolated until it is known)" : "");
			conn_reply(c, true, 0, pending ? "enforced (pending: isolated until its Pod "
				   "object is known)" : "enforced", NULL, pending);
		}
	}
	timer_arm(S.conns != NULL);
}

/* The CNI socket and the API watch: epoll says which (pw_engine_source.ready). */
static int cni_ready(void *ctx)
{
	struct epoll_event evs[32];
	uint64_t now;
	int n, bits = 0;

	if (!S.started)
		return 0;
	n = epoll_wait(S.epfd, evs, 32, 0);
	for (int i = 0; i < n; i++) {
		uint64_t tag = evs[i].data.u64, v;

		if (tag == TAG_LISTEN) {
			conn_accept();
		} else if (tag == TAG_TIMER) {
			while (read(S.timer_fd, &v, sizeof(v)) == sizeof(v))
				;
		} else if (tag == TAG_K8S) {
			while (read(S.k8s_efd, &v, sizeof(v)) == sizeof(v))
				;
			bits |= PW_SRC_CHANGED;
		} else {
			conn_read(evs[i].data.ptr);
		}
	}
	/* readers that never finished */
	now = pw_now_ns();
	for (struct conn *c = S.conns, *nx; c; c = nx) {
		nx = c->next;
		if (c->st == C_READ && now >= c->deadline)
			conn_reply(c, false, PW_CNI_E_DECODE, "no request within 5 s", NULL, false);
	}
	check_waiting();
	for (struct conn *c = S.conns; c; c = c->next)
		if (c->st == C_READY)
			bits |= PW_SRC_NOW; /* the loop pushes, then cni_pushed answers */
	timer_arm(S.conns != NULL);
	return bits;
}

/* The manifest path: inotify (pw_engine_source.ready and .tick). */
static int watch_ready(void *ctx)
{
	int r = pw_watch_drain(S.watch);

	if (r < 0)
		return r;
	/* 1: files just created (wait for their writer); 2: a settled change */
	return r == 2 ? PW_SRC_CHANGED | PW_SRC_SETTLED : r == 1 ? PW_SRC_CHANGED : 0;
}

static int watch_tick(void *ctx)
{
	return pw_watch_rearm(S.watch) > 0 ? PW_SRC_CHANGED | PW_SRC_SETTLED : 0;
}

size_t pw_src_sources(struct pw_engine_source *out, size_t max)
{
	size_t n = 0;

	if (S.watch && n < max)
		out[n++] = (struct pw_engine_source){ .name = "reading inotify",
			.fd = pw_watch_fd(S.watch), .ready = watch_ready, .tick = watch_tick };
	if (S.started && n < max)
		out[n++] = (struct pw_engine_source){ .name = "cni",
			.fd = S.epfd, .ready = cni_ready, .pushed = cni_pushed };
	return n;
}
