// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The endpoint registry of podwall-cni and its socket (cni_server.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "kernel/atomic_file.h"
#include "log.h"
#include "kernel/bpfobj.h"
#include "kernel/route.h"
#include "source/cni_proto.h"
#include "source/cni_server.h"

/* ------------------------------------------------------------ registry */

static void ep_free(struct pw_cni_ep *ep)
{
	free(ep->cid);
	free(ep->ns);
	free(ep->name);
	memset(ep, 0, sizeof(*ep));
}

void pw_cni_reg_free(struct pw_cni_reg *r)
{
	for (size_t i = 0; i < r->n; i++)
		ep_free(&r->v[i]);
	free(r->v);
	free(r->path);
	memset(r, 0, sizeof(*r));
}

struct pw_cni_ep *pw_cni_reg_find(struct pw_cni_reg *r, const char *cid, const char *ifname)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].cid, cid) && (!ifname || !strcmp(r->v[i].ifname, ifname)))
			return &r->v[i];
	return NULL;
}

struct pw_cni_ep *pw_cni_reg_put(struct pw_cni_reg *r, struct pw_cni_ep *ep)
{
	struct pw_cni_ep *dst = pw_cni_reg_find(r, ep->cid, ep->ifname);

	if (dst) {
		ep_free(dst);
	} else {
		struct pw_cni_ep *nv = realloc(r->v, (r->n + 1) * sizeof(*nv));

		if (!nv)
			return NULL;
		r->v = nv;
		dst = &r->v[r->n++];
	}
	*dst = *ep;
	if (!dst->seq)
		dst->seq = ++r->next_seq;
	else if (dst->seq > r->next_seq)
		r->next_seq = dst->seq;
	memset(ep, 0, sizeof(*ep));
	return dst;
}

size_t pw_cni_reg_del(struct pw_cni_reg *r, const char *cid, const char *ifname)
{
	size_t w = 0, n = 0;

	for (size_t i = 0; i < r->n; i++) {
		if (!strcmp(r->v[i].cid, cid) && (!ifname || !strcmp(r->v[i].ifname, ifname))) {
			ep_free(&r->v[i]);
			n++;
			continue;
		}
		r->v[w++] = r->v[i];
	}
	r->n = w;
	return n;
}

const struct pw_cni_ep *pw_cni_reg_pod(const struct pw_cni_reg *r, const char *ns,
				       const char *name)
{
	const struct pw_cni_ep *best = NULL;

	for (size_t i = 0; i < r->n; i++) {
		const struct pw_cni_ep *e = &r->v[i];

		if (e->alive && !strcmp(e->ns, ns) && !strcmp(e->name, name) &&
		    (!best || e->seq > best->seq))
			best = e;
	}
	return best;
}

bool pw_cni_reg_refresh(struct pw_cni_reg *r, struct pw_rt *rt, bool drop_gone)
{
	bool changed = false;
	size_t w = 0;

	for (size_t i = 0; i < r->n; i++) {
		struct pw_cni_ep *e = &r->v[i];
		struct pw_link l;
		int err = pw_rt_link_by_index(rt, e->ifindex, &l);
		bool alive = !err && !strcmp(l.name, e->veth);
		bool gone = err == -ENODEV || (!err && !alive);

		if (alive != e->alive)
			changed = true;
		e->alive = alive;
		if (gone && drop_gone) {
			pw_info("podwall: cni: %s/%s (container %.12s): host veth %s #%u is "
				"gone; forgetting it", e->ns, e->name, e->cid, e->veth, e->ifindex);
			ep_free(e);
			changed = true;
			continue;
		}
		r->v[w++] = *e;
	}
	r->n = w;
	return changed;
}

/* ------------------------------------------------------------ persistence */

static json_t *ep_json(const struct pw_cni_ep *e)
{
	json_t *ips = json_array();
	char buf[64];

	for (size_t i = 0; i < e->n_ips; i++)
		json_array_append_new(ips, json_string(pw_addr_str(e->ips[i], buf, sizeof(buf))));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:I}", "containerID", e->cid,
			 "ifname", e->ifname, "namespace", e->ns, "pod", e->name, "hostVeth",
			 e->veth, "hostIfindex", (json_int_t)e->ifindex, "ips", ips, "seq",
			 (json_int_t)e->seq);
}

static int ep_from_json(json_t *o, struct pw_cni_ep *e, char *why, size_t why_len)
{
	const char *cid = json_string_value(json_object_get(o, "containerID"));
	const char *ifname = json_string_value(json_object_get(o, "ifname"));
	const char *ns = json_string_value(json_object_get(o, "namespace"));
	const char *name = json_string_value(json_object_get(o, "pod"));
	const char *veth = json_string_value(json_object_get(o, "hostVeth"));
	json_int_t ifx = json_integer_value(json_object_get(o, "hostIfindex"));
	json_t *ips = json_object_get(o, "ips"), *v;
	size_t i;

	memset(e, 0, sizeof(*e));
	if (!cid || !cid[0] || strlen(cid) > 255) {
		snprintf(why, why_len, "containerID missing or too long");
		return -EINVAL;
	}
	if (!ifname || !ifname[0] || strlen(ifname) >= sizeof(e->ifname)) {
		snprintf(why, why_len, "ifname missing or too long");
		return -EINVAL;
	}
	if (!ns || !ns[0] || strlen(ns) > 63 || !name || !name[0] || strlen(name) > 253 ||
	    strchr(ns, '/') || strchr(name, '/')) {
		snprintf(why, why_len, "pod namespace/name missing or invalid");
		return -EINVAL;
	}
	if (!veth || !veth[0] || strlen(veth) >= sizeof(e->veth) || ifx <= 0 || ifx > INT_MAX) {
		snprintf(why, why_len, "hostVeth/hostIfindex missing or invalid");
		return -EINVAL;
	}
	json_array_foreach(ips, i, v) {
		uint8_t a[16];
		bool dup = false;

		if (!json_is_string(v) || pw_addr_parse(json_string_value(v), a)) {
			snprintf(why, why_len, "bad IP address in ips");
			return -EINVAL;
		}
		for (size_t j = 0; j < e->n_ips; j++)
			if (pw_addr_is_v4(e->ips[j]) == pw_addr_is_v4(a))
				dup = true;   /* one address per family, as a pod has */
		if (!dup && e->n_ips < 2)
			memcpy(e->ips[e->n_ips++], a, 16);
	}
	if (!e->n_ips) {
		snprintf(why, why_len, "no IP address");
		return -EINVAL;
	}
	/* a negative seq is 2^64 - n unsigned: the next registration's ++seq wrapped
	 * to 0, and the newest entry of a pod looked like the oldest */
	if (json_integer_value(json_object_get(o, "seq")) < 0) {
		snprintf(why, why_len, "negative seq");
		return -EINVAL;
	}
	e->cid = strdup(cid);
	e->ns = strdup(ns);
	e->name = strdup(name);
	if (!e->cid || !e->ns || !e->name) {
		ep_free(e);
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	snprintf(e->ifname, sizeof(e->ifname), "%s", ifname);
	snprintf(e->veth, sizeof(e->veth), "%s", veth);
	e->ifindex = (uint32_t)ifx;
	e->seq = (uint64_t)json_integer_value(json_object_get(o, "seq"));
	e->alive = true;
	return 0;
}

int pw_cni_reg_load(struct pw_cni_reg *r, const char *path, uint64_t cookie)
{
	json_error_t jerr;
	json_t *root, *eps, *o;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->cookie = cookie;
	if (path && !(r->path = strdup(path)))
		return -ENOMEM;
	if (!path)
		return 0;
	root = json_load_file(path, 0, &jerr);
	if (!root) {
		if (access(path, F_OK) && errno == ENOENT)
			return 0;
		pw_warn("podwall: cni: %s: %s (line %d); starting with no endpoints", path,
			jerr.text, jerr.line);
		return 0;
	}
	if ((uint64_t)json_integer_value(json_object_get(root, "netnsCookie")) != cookie) {
		pw_info("podwall: cni: %s belongs to another network namespace; starting "
			"with no endpoints", path);
		json_decref(root);
		return 0;
	}
	eps = json_object_get(root, "endpoints");
	json_array_foreach(eps, i, o) {
		struct pw_cni_ep e;
		char why[256];

		if (ep_from_json(o, &e, why, sizeof(why))) {
			pw_warn("podwall: cni: %s: endpoint %zu: %s; skipped", path, i, why);
			continue;
		}
		if (!pw_cni_reg_put(r, &e))
			ep_free(&e);
	}
	json_decref(root);
	pw_info("podwall: cni: %zu endpoint%s restored from %s", r->n,
		r->n == 1 ? "" : "s", path);
	return 0;
}

int pw_cni_reg_save(const struct pw_cni_reg *r)
{
	json_t *root, *eps;
	char *text;
	int err = 0;

	if (!r->path)
		return 0;
	eps = json_array();
	for (size_t i = 0; i < r->n; i++)
		json_array_append_new(eps, ep_json(&r->v[i]));
	root = json_pack("{s:i, s:I, s:o}", "version", 1, "netnsCookie", (json_int_t)r->cookie,
			 "endpoints", eps);
	if (!root)
		return -ENOMEM;
	text = json_dumps(root, JSON_INDENT(1));
	if (!text) {
		err = -ENOMEM;
	} else {
		size_t len = strlen(text);
		char *t2 = realloc(text, len + 2);

		if (t2) {
			text = t2;
			memcpy(text + len, "\n", 2);
			err = pw_write_file_atomic(r->path, text, len + 1, 0600);
		} else {
			err = -ENOMEM;
		}
		free(text);
	}
	json_decref(root);
	if (err)
		pw_warn("podwall: cni: saving %s: %s", r->path, strerror(-err));
	return err;
}

/* ------------------------------------------------------------ socket */

static int mkdir_p(const char *dir, mode_t mode)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

int pw_cni_listen(const char *path, struct pw_error *why)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[PATH_MAX], *slash;
	mode_t old;
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return pw_errorf(why, -ENAMETOOLONG, "cni: %s: %s", path, strerror(ENAMETOOLONG));
	strcpy(sa.sun_path, path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		err = mkdir_p(dir, 0700);
		if (err)
			return pw_errorf(why, err, "cni: mkdir %s: %s", dir, strerror(-err));
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return pw_errorf(why, -errno, "cni: socket: %s", strerror(errno));
	/* a socket file left by a dead agent is replaced; a live agent's is not */
	{
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (probe >= 0 && !connect(probe, (struct sockaddr *)&sa, sizeof(sa))) {
			close(probe);
			close(fd);
			return pw_errorf(why, -EADDRINUSE, "cni: %s: another agent is listening "
					 "there", path);
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
	}
	old = umask(0177);
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old);
	if (!err && chmod(path, 0600))
		err = -errno;
	if (!err && listen(fd, 128))
		err = -errno;
	if (err) {
		close(fd);
		return pw_errorf(why, err, "cni: %s: %s", path, strerror(-err));
	}
	return fd;
}

void pw_cni_pending_name(const char *ns, const char *name, char *buf, size_t len)
{
	uint32_t h = 2166136261u;

	if (snprintf(buf, len, "%s.%s", ns, name) < (int)len && strlen(buf) <= 253)
		return;
	for (const char *p = ns; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	snprintf(buf, len, "%.200s.%.40s-%08x", ns, name, h);
}

int pw_cni_parse_request(const char *line, char *op, size_t op_len, struct pw_cni_ep *ep,
			 uint64_t *cookie, char *why, size_t why_len)
{
	json_error_t jerr;
	json_t *o = json_loads(line, 0, &jerr);
	const char *s, *cid, *ifname;
	int ret = -EINVAL;

	memset(ep, 0, sizeof(*ep));
	*cookie = 0;
	if (!o || !json_is_object(o)) {
		snprintf(why, why_len, "request is not a JSON object: %s", jerr.text);
		goto out;
	}
	if (json_integer_value(json_object_get(o, "v")) != PW_CNI_PROTO_VERSION) {
		snprintf(why, why_len, "protocol version %lld, the agent speaks %d",
			 (long long)json_integer_value(json_object_get(o, "v")), PW_CNI_PROTO_VERSION);
		goto out;
	}
	s = json_string_value(json_object_get(o, "op"));
	if (!s || (strcmp(s, "ADD") && strcmp(s, "DEL") && strcmp(s, "CHECK"))) {
		snprintf(why, why_len, "unknown op");
		goto out;
	}
	snprintf(op, op_len, "%s", s);
	*cookie = (uint64_t)json_integer_value(json_object_get(o, "netnsCookie"));
	cid = json_string_value(json_object_get(o, "containerID"));
	ifname = json_string_value(json_object_get(o, "ifname"));
	if (!strcmp(s, "DEL")) {
		/* only the attachment's identity matters */
		if (!cid || !cid[0] || strlen(cid) > 255 || !ifname || !ifname[0] ||
		    strlen(ifname) >= sizeof(ep->ifname)) {
			snprintf(why, why_len, "containerID/ifname missing or invalid");
			goto out;
		}
		ep->cid = strdup(cid);
		snprintf(ep->ifname, sizeof(ep->ifname), "%s", ifname);
		s = json_string_value(json_object_get(o, "namespace"));
		ep->ns = strdup(s ? s : "");
		s = json_string_value(json_object_get(o, "pod"));
		ep->name = strdup(s ? s : "");
		ret = ep->cid && ep->ns && ep->name ? 0 : -ENOMEM;
		if (ret)
			ep_free(ep);
		goto out;
	}
	ret = ep_from_json(o, ep, why, why_len);
	ep->seq = 0;
out:
	json_decref(o);
	return ret;
}

char *pw_cni_answer(bool ok, int code, const char *msg, const char *details, bool pending)
{
	json_t *o = json_pack("{s:b, s:s}", "ok", ok, "msg", msg ? msg : "");
	char *s, *line;
	size_t n;

	if (!o)
		return NULL;
	if (!ok)
		json_object_set_new(o, "code", json_integer(code));
	if (details && details[0])
		json_object_set_new(o, "details", json_string(details));
	if (ok)
		json_object_set_new(o, "pending", json_boolean(pending));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s)
		return NULL;
	n = strlen(s);
	line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = 0;
	return line;
}
