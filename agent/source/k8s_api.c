// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The Kubernetes API source (k8s_api.h): one thread per resource, each
 * looping list -> watch -> watch ... with libcurl, keeping the objects it
 * has seen (trimmed, as compact JSON) in a store the agent's thread reads.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>
#include "model.h"
#include "log.h"
#include "source/k8s_api.h"
#include "source/kubeconfig.h"

#define LIST_PAGE        500
#define WATCH_TIMEOUT_S  300        /* asked of the server; a new watch follows */
#define BACKOFF_MIN_MS   500
#define BACKOFF_MAX_MS   30000
#define MAX_LINE         (32u << 20) /* one watch event */
#define MAX_BODY         (512u << 20)

/*
 * What the agent reads, and so exactly what deploy/clusterrole.yaml grants
 * (verbs list and watch on each; tests/e2e/clusterrole.sh checks both ways).
 */
const struct pw_k8s_resource pw_k8s_resources[] = {
	{ "namespaces",      "",                  "/api/v1/namespaces",                        "Namespace" },
	{ "pods",            "",                  "/api/v1/pods",                              "Pod" },
	{ "networkpolicies", "networking.k8s.io", "/apis/networking.k8s.io/v1/networkpolicies", "NetworkPolicy" },
	{ "services",        "",                  "/api/v1/services",                          "Service" },
	{ "nodes",           "",                  "/api/v1/nodes",                             "Node" },
	{ "clusternetworkpolicies", "policy.networking.k8s.io",
	  "/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies", "ClusterNetworkPolicy" },
};

/* How often a resource whose CRD is not installed is looked for again. */
#define CRD_RETRY_MS 60000

/*
 * A resource served by a CRD (ClusterNetworkPolicy): a cluster without it
 * is a cluster with none of them. Listing it answers 404 there; the agent
 * says so once, counts it as listed and empty (NetworkPolicy goes on), and
 * looks again every CRD_RETRY_MS.
 */
static bool from_crd(const struct pw_k8s_resource *r)
{
	return !strcmp(r->kind, "ClusterNetworkPolicy");
}
const size_t pw_k8s_n_resources = sizeof(pw_k8s_resources) / sizeof(pw_k8s_resources[0]);

#define N_RES (sizeof(pw_k8s_resources) / sizeof(pw_k8s_resources[0]))

struct res {
	const struct pw_k8s_resource *r;
	struct pw_k8s *k;
	pthread_t      th;
	bool           th_started;
	/* under k->mu */
	json_t        *objs;        /* "ns/name" -> string (the trimmed object, compact JSON) */
	bool           synced;      /* listed at least once */
	bool           failing;     /* the last list or watch failed: retrying (readiness) */
	bool           crd_missing_said; /* the warning that a CRD is missing was printed */
	char           rv[128];     /* where the next watch starts */
	/* thread-private */
	unsigned       backoff_ms;
};

struct pw_k8s {
	struct pw_kcfg  cfg;
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	bool            stop;
	int             notify_fd;
	struct res      res[N_RES];
};

/* ------------------------------------------------------------ small things */

static void notify(struct pw_k8s *k)
{
	uint64_t one = 1;

	if (k->notify_fd >= 0 && write(k->notify_fd, &one, sizeof(one)) < 0) {
		/* eventfd full (cannot really happen) or closed: nothing to do */
	}
}

static bool stopping(struct pw_k8s *k)
{
	bool s;

	pthread_mutex_lock(&k->mu);
	s = k->stop;
	pthread_mutex_unlock(&k->mu);
	return s;
}

/* Sleep ms unless stopped meanwhile. */
static void nap(struct pw_k8s *k, unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000l;
	if (ts.tv_nsec >= 1000000000l) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000l;
	}
	pthread_mutex_lock(&k->mu);
	while (!k->stop && pthread_cond_timedwait(&k->cv, &k->mu, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&k->mu);
}

static void backoff(struct res *s)
{
	unsigned ms = s->backoff_ms ? s->backoff_ms : BACKOFF_MIN_MS;

	/* up to a quarter of jitter, so that nodes do not retry in step */
	nap(s->k, ms + (unsigned)(rand() % (int)(ms / 4 + 1)));
	s->backoff_ms = ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms * 2;
}

/* ------------------------------------------------------------ trimming */

/* metadata: name, namespace, labels, and podwall.io/ annotations */
static json_t *trim_meta(json_t *m, bool pod)
{
	json_t *o = json_object(), *v, *ann, *a;
	const char *key;

	if ((v = json_object_get(m, "name")))
		json_object_set(o, "name", v);
	if ((v = json_object_get(m, "namespace")))
		json_object_set(o, "namespace", v);
	if ((v = json_object_get(m, "labels")))
		json_object_set(o, "labels", v);
	/* a terminating pod yields its address to a new pod (pw_cluster_finish) */
	if (pod && (v = json_object_get(m, "deletionTimestamp")) && !json_is_null(v))
		json_object_set(o, "deletionTimestamp", v);
	ann = json_object_get(m, "annotations");
	if (json_is_object(ann)) {
		a = NULL;
		json_object_foreach(ann, key, v) {
			if (strncmp(key, "podwall.io/", 11))
				continue;
			if (!a)
				a = json_object();
			json_object_set(a, key, v);
		}
		if (a)
			json_object_set_new(o, "annotations", a);
	}
	return o;
}

static void copy_field(json_t *dst, json_t *src, const char *key)
{
	json_t *v = json_object_get(src, key);

	if (v)
		json_object_set(dst, key, v);
}

/*
 * The object with only what podwall reads. Whether a Pod takes part (a
 * finished or hostNetwork pod does not) is the loader's one rule
 * (pw_pod_role_of): its phase and hostNetwork are kept for it, and only
 * "finished or not" of the phase, so that Pending -> Running is no change.
 */
static json_t *trim(const struct pw_k8s_resource *r, json_t *obj)
{
	json_t *o = json_object(), *spec = json_object_get(obj, "spec"), *v;

	json_object_set_new(o, "apiVersion", json_string(!strcmp(r->kind, "NetworkPolicy")
							 ? "networking.k8s.io/v1" : from_crd(r)
							 ? "policy.networking.k8s.io/v1alpha2" : "v1"));
	json_object_set_new(o, "kind", json_string(r->kind));
	json_object_set_new(o, "metadata", trim_meta(json_object_get(obj, "metadata"),
							  !strcmp(r->kind, "Pod")));
	if (!strcmp(r->kind, "Pod")) {
		json_t *st = json_object_get(obj, "status"), *ns = json_object(), *nst = json_object();
		json_t *cs = json_object_get(spec, "containers"), *ncs = json_array(), *c;
		const char *phase = json_string_value(json_object_get(st, "phase"));
		size_t i;

		json_array_foreach(cs, i, c) {
			json_t *nc = json_object();

			copy_field(nc, c, "name");
			copy_field(nc, c, "ports");
			json_array_append_new(ncs, nc);
		}
		json_object_set_new(ns, "containers", ncs);
		copy_field(ns, spec, "nodeName");
		copy_field(ns, spec, "hostNetwork");
		if (phase && pw_pod_role_of(phase, false) == PW_POD_FINISHED)
			copy_field(nst, st, "phase");
		copy_field(nst, st, "podIP");
		copy_field(nst, st, "podIPs");
		json_object_set_new(o, "spec", ns);
		json_object_set_new(o, "status", nst);
	} else if (!strcmp(r->kind, "NetworkPolicy") || from_crd(r)) {
		if (spec)
			json_object_set(o, "spec", spec);
	} else if (!strcmp(r->kind, "Node")) {
		/* labels (in metadata) and addresses: what nodes peers read */
		json_t *nst = json_object();

		copy_field(nst, json_object_get(obj, "status"), "addresses");
		json_object_set_new(o, "status", nst);
	} else if (!strcmp(r->kind, "Service")) {
		json_t *ns = json_object();

		copy_field(ns, spec, "type");
		copy_field(ns, spec, "clusterIP");
		copy_field(ns, spec, "clusterIPs");
		copy_field(ns, spec, "selector");
		if ((v = json_object_get(spec, "ports")))
			json_object_set(ns, "ports", v);
		json_object_set_new(o, "spec", ns);
	}
	return o;
}

static void obj_key(json_t *obj, char *buf, size_t len)
{
	json_t *m = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(m, "namespace"));
	const char *name = json_string_value(json_object_get(m, "name"));

	if (ns && ns[0])
		snprintf(buf, len, "%s/%s", ns, name ? name : "");
	else
		snprintf(buf, len, "%s", name ? name : "");
}

static const char *obj_rv(json_t *obj)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"),
						 "resourceVersion"));
}

/*
 * Trim obj and check it with the loader. Returns the compact JSON text
 * (malloc'd), or NULL: *skip when trim() leaves nothing (never, today: pods that are
 * no endpoints are kept for the loader to set apart), else it
 * was rejected (err says why).
 */
static char *admit(const struct pw_k8s_resource *r, json_t *obj, const char *key, bool *skip,
		   struct pw_error *err)
{
	json_t *t = trim(r, obj);
	struct pw_cluster *c;
	char name[512], *text;
	int ret;

	*skip = !t;
	if (!t)
		return NULL;
	text = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(t);
	if (!text) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return NULL;
	}
	snprintf(name, sizeof(name), "k8s:%s/%s", r->name, key);
	c = pw_cluster_new();
	ret = c ? pw_cluster_load_buffer(c, name, text, strlen(text), err) : -ENOMEM;
	pw_cluster_free(c);
	if (ret) {
		if (!err->msg[0])
			snprintf(err->msg, sizeof(err->msg), "%s: %s", name, strerror(-ret));
		free(text);
		return NULL;
	}
	return text;
}

/*
 * Put (or drop) one watched object of s; the loader's check runs before the
 * lock is taken. Returns true if the store changed.
 */
static bool store_put(struct res *s, json_t *obj)
{
	struct pw_error err = { { 0 } };
	char key[600];
	bool skip, changed = false;
	char *text;

	obj_key(obj, key, sizeof(key));
	if (!key[0])
		return false;
	text = admit(s->r, obj, key, &skip, &err);
	pthread_mutex_lock(&s->k->mu);
	if (!text) {
		if (skip)
			changed = json_object_del(s->objs, key) == 0;
		else
			pw_warn("podwall: k8s: %s %s rejected: %s; %s", s->r->kind, key,
				err.msg, json_object_get(s->objs, key) ? "its previous version stays "
				"in force" : "it is not applied");
	} else {
		const char *old = json_string_value(json_object_get(s->objs, key));

		/* unchanged when only what podwall does not read changed (status, managedFields) */
		if (!old || strcmp(old, text)) {
			json_object_set_new(s->objs, key, json_string(text));
			changed = true;
		}
	}
	pthread_mutex_unlock(&s->k->mu);
	free(text);
	return changed;
}

/* ------------------------------------------------------------ HTTP */

struct xfer {
	struct res *s;
	CURL       *h;
	bool        watch;
	/* list: the whole body; watch: the partial line */
	char       *buf;
	size_t      len, cap;
	long        code;       /* HTTP status, once known */
	bool        relist;     /* watch: an ERROR event with 410 */
	bool        failed;     /* watch: an ERROR event of another kind, or a bad line */
	char        why[512];
	size_t      events;
};

static int grow(struct xfer *x, size_t add, size_t max)
{
	if (x->len + add + 1 <= x->cap)
		return 0;
	if (x->len + add + 1 > max)
		return -EFBIG;
	size_t ncap = x->cap ? x->cap : 65536;

	while (ncap < x->len + add + 1)
		ncap *= 2;
	char *nb = realloc(x->buf, ncap);

	if (!nb)
		return -ENOMEM;
	x->buf = nb;
	x->cap = ncap;
	return 0;
}

static void handle_event(struct xfer *x, const char *line)
{
	struct res *s = x->s;
	json_error_t jerr;
	json_t *ev = json_loads(line, 0, &jerr), *obj;
	const char *type, *rv;
	bool changed = false;
	char key[600];

	if (!ev) {
		x->failed = true;
		snprintf(x->why, sizeof(x->why), "undecodable watch event: %s", jerr.text);
		return;
	}
	type = json_string_value(json_object_get(ev, "type"));
	obj = json_object_get(ev, "object");
	if (!type || !json_is_object(obj)) {
		x->failed = true;
		snprintf(x->why, sizeof(x->why), "watch event without type or object");
		json_decref(ev);
		return;
	}
	x->events++;
	if (!strcmp(type, "ERROR")) {
		json_int_t code = json_integer_value(json_object_get(obj, "code"));
		const char *msg = json_string_value(json_object_get(obj, "message"));

		if (code == 410)
			x->relist = true;
		else
			x->failed = true;
		snprintf(x->why, sizeof(x->why), "ERROR event %lld: %s", (long long)code,
			 msg ? msg : "");
		json_decref(ev);
		return;
	}
	rv = obj_rv(obj);
	if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED")) {
		changed = store_put(s, obj);
	} else if (!strcmp(type, "DELETED")) {
		obj_key(obj, key, sizeof(key));
		pthread_mutex_lock(&s->k->mu);
		changed = json_object_del(s->objs, key) == 0;
		pthread_mutex_unlock(&s->k->mu);
	} else if (strcmp(type, "BOOKMARK")) {
		pw_warn("podwall: k8s: %s: unknown watch event type %s; ignored",
			s->r->name, type);
	}
	pthread_mutex_lock(&s->k->mu);
	if (rv && rv[0])
		snprintf(s->rv, sizeof(s->rv), "%s", rv);
	pthread_mutex_unlock(&s->k->mu);
	if (changed)
		notify(s->k);
	json_decref(ev);
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	if (!x->code)
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->code);
	if (!x->watch || x->code != 200) {
		/* a list, or an error body: keep it (bounded) */
		size_t keep = x->watch ? (len < 4096 - x->len ? len : 4096 - x->len) : len;

		if (x->watch && x->len >= 4096)
			return len;
		if (grow(x, keep, MAX_BODY))
			return 0;
		memcpy(x->buf + x->len, p, keep);
		x->len += keep;
		x->buf[x->len] = 0;
		return len;
	}
	/* a watch stream: one JSON object per line */
	if (grow(x, len, MAX_LINE)) {
		x->failed = true;
		snprintf(x->why, sizeof(x->why), "a watch event larger than %u bytes", MAX_LINE);
		return 0;
	}
	memcpy(x->buf + x->len, p, len);
	x->len += len;
	x->buf[x->len] = 0;
	for (;;) {
		char *nl = memchr(x->buf, '\n', x->len);
		size_t used;

		if (!nl)
			break;
		*nl = 0;
		if (nl != x->buf)
			handle_event(x, x->buf);
		used = (size_t)(nl - x->buf) + 1;
		memmove(x->buf, nl + 1, x->len - used);
		x->len -= used;
		x->buf[x->len] = 0;
		if (x->relist || x->failed)
			return 0;   /* abort the transfer: relist or back off */
	}
	return len;
}

static void set_failing(struct res *s, bool failing)
{
	pthread_mutex_lock(&s->k->mu);
	s->failing = failing;
	pthread_mutex_unlock(&s->k->mu);
}

/* The end of a watch response's headers: with 200 the watch is established. */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	long code = 0;

	if (x->watch && len <= 2 && (p[0] == '\r' || p[0] == '\n') &&
	    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200)
		set_failing(x->s, false);
	return len;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct xfer *x = arg;

	return stopping(x->s->k) ? 1 : 0;
}

/* GET url; the result is in x (code, buf). Returns the curl code. */
static CURLcode http_get(struct res *s, const char *url, bool watch, struct xfer *x)
{
	struct pw_kcfg *cfg = &s->k->cfg;
	struct curl_slist *hdrs = NULL;
	char *token, auth[8192];
	CURLcode rc;
	CURL *h;

	memset(x, 0, sizeof(*x));
	x->s = s;
	x->watch = watch;
	h = curl_easy_init();
	if (!h)
		return CURLE_OUT_OF_MEMORY;
	x->h = h;
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	token = pw_kcfg_token(cfg);
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		hdrs = curl_slist_append(hdrs, auth);
		free(token);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "podwall-agent/1");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1l);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10l);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, watch ? (long)WATCH_TIMEOUT_S + 60 : 120l);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1l);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30l);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 10l);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0l);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (cfg->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
	if (cfg->ca.data) {
		struct curl_blob b = { cfg->ca.data, cfg->ca.len, CURL_BLOB_NOCOPY };

		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
	}
	if (cfg->cert_file)
		curl_easy_setopt(h, CURLOPT_SSLCERT, cfg->cert_file);
	if (cfg->cert.data) {
		struct curl_blob b = { cfg->cert.data, cfg->cert.len, CURL_BLOB_NOCOPY };

		curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &b);
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
	}
	if (cfg->key_file)
		curl_easy_setopt(h, CURLOPT_SSLKEY, cfg->key_file);
	if (cfg->key.data) {
		struct curl_blob b = { cfg->key.data, cfg->key.len, CURL_BLOB_NOCOPY };

		curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &b);
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (cfg->username && !token) {
		curl_easy_setopt(h, CURLOPT_USERNAME, cfg->username);
		curl_easy_setopt(h, CURLOPT_PASSWORD, cfg->password ? cfg->password : "");
	}
	if (cfg->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0l);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0l);
	}
	rc = curl_easy_perform(h);
	if (!x->code)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &x->code);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	x->h = NULL;
	return rc;
}

static void body_excerpt(const struct xfer *x, char *buf, size_t len)
{
	json_t *o = x->buf ? json_loads(x->buf, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(o, "message"));

	snprintf(buf, len, "%.300s", msg ? msg : x->buf ? x->buf : "");
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	json_decref(o);
}

/* ------------------------------------------------------------ list, watch */

/* 0 listed; 1 stop; 3 a CRD not installed (listed, empty); -1 failed (backoff done by the caller) */
/* A CRD's resource answered 404: listed, empty (3: look again later). */
static int crd_missing(struct res *s)
{
	bool first;

	pthread_mutex_lock(&s->k->mu);
	first = !s->synced || (s->objs && json_object_size(s->objs));
	if (first && !s->crd_missing_said)
		pw_warn("podwall: k8s: warning: %s.%s is not served (CRD not installed?): "
			"%s is not enforced, NetworkPolicy is; looking again every %d s",
			s->r->name, s->r->group, s->r->kind, CRD_RETRY_MS / 1000);
	s->crd_missing_said = true;
	json_decref(s->objs);
	s->objs = json_object();
	s->rv[0] = 0;
	s->synced = true;
	s->failing = false;
	pthread_mutex_unlock(&s->k->mu);
	if (first)
		notify(s->k);
	return 3;
}

static int do_list(struct res *s)
{
	json_t *objs = json_object();
	char url[8192], cont[4096] = "", rv[128] = "", ex[400];
	size_t pages = 0, skipped_bad = 0;

	for (;;) {
		struct xfer x;
		json_t *body, *items, *it;
		CURLcode rc;
		char *esc = NULL;
		size_t i;

		if (cont[0]) {
			CURL *h = curl_easy_init();

			esc = h ? curl_easy_escape(h, cont, 0) : NULL;
			if (h)
				curl_easy_cleanup(h);
		}
		snprintf(url, sizeof(url), "%s%s?limit=%d%s%s", s->k->cfg.server, s->r->path,
			 LIST_PAGE, esc ? "&continue=" : "", esc ? esc : "");
		curl_free(esc);
		rc = http_get(s, url, false, &x);
		if (stopping(s->k)) {
			free(x.buf);
			json_decref(objs);
			return 1;
		}
		if (rc == CURLE_OK && x.code == 404 && from_crd(s->r)) {
			free(x.buf);
			json_decref(objs);
			return crd_missing(s);
		}
		if (rc != CURLE_OK || x.code != 200) {
			body_excerpt(&x, ex, sizeof(ex));
			if (rc == CURLE_OK && x.code == 410 && cont[0]) {
				/* the continue token expired: start over */
				pw_info("podwall: k8s: list %s: continue token expired; "
					"listing from the start", s->r->name);
				free(x.buf);
				json_object_clear(objs);
				cont[0] = 0;
				continue;
			}
			if (rc != CURLE_OK)
				pw_warn("podwall: k8s: list %s: %s; retrying", s->r->name,
					curl_easy_strerror(rc));
			else
				pw_warn("podwall: k8s: list %s: HTTP %ld%s: %s; retrying",
					s->r->name, x.code, x.code == 401 ? " Unauthorized" :
					x.code == 403 ? " Forbidden (does the ClusterRole grant list?)" : "",
					ex);
			free(x.buf);
			json_decref(objs);
			return -1;
		}
		body = json_loadb(x.buf ? x.buf : "", x.len, 0, NULL);
		free(x.buf);
		items = json_object_get(body, "items");
		if (!json_is_array(items)) {
			pw_info("podwall: k8s: list %s: the answer has no items", s->r->name);
			json_decref(body);
			json_decref(objs);
			return -1;
		}
		json_array_foreach(items, i, it) {
			struct pw_error err = { { 0 } };
			char key[600];
			bool skip = false;   /* not set by admit() for an item without a name */
			char *text;

			obj_key(it, key, sizeof(key));
			text = key[0] ? admit(s->r, it, key, &skip, &err) : NULL;
			if (text) {
				json_object_set_new(objs, key, json_string(text));
				free(text);
				continue;
			}
			if (skip || !key[0])
				continue;
			/* rejected: keep the version we had, if any */
			pthread_mutex_lock(&s->k->mu);
			{
				json_t *old = s->objs ? json_object_get(s->objs, key) : NULL;

				if (old)
					json_object_set(objs, key, old);
				pw_warn("podwall: k8s: %s %s rejected: %s; %s", s->r->kind,
					key, err.msg, old ? "its previous version stays in force"
							  : "it is not applied");
			}
			pthread_mutex_unlock(&s->k->mu);
			skipped_bad++;
		}
		{
			json_t *m = json_object_get(body, "metadata");
			const char *v = json_string_value(json_object_get(m, "resourceVersion"));
			const char *c = json_string_value(json_object_get(m, "continue"));

			if (v)
				snprintf(rv, sizeof(rv), "%s", v);
			snprintf(cont, sizeof(cont), "%s", c ? c : "");
		}
		json_decref(body);
		pages++;
		if (!cont[0])
			break;
	}
	pthread_mutex_lock(&s->k->mu);
	{
		bool first = !s->synced;
		bool same = s->objs && json_equal(s->objs, objs);

		json_decref(s->objs);
		s->objs = objs;
		snprintf(s->rv, sizeof(s->rv), "%s", rv);
		s->synced = true;
		s->failing = false;
		pw_info("podwall: k8s: listed %zu %s at resourceVersion %s%s",
			json_object_size(objs), s->r->name, rv[0] ? rv : "?",
			first ? "" : same ? " (no change)" : "");
		pthread_mutex_unlock(&s->k->mu);
		if (first || !same)
			notify(s->k);
	}
	(void)skipped_bad;
	return 0;
}

/* 0 the watch ended normally; 1 stop; 2 relist; -1 failed */
static int do_watch(struct res *s)
{
	char url[8192], rv[128], ex[400];
	struct xfer x;
	CURLcode rc;
	CURL *h;
	char *esc;

	pthread_mutex_lock(&s->k->mu);
	snprintf(rv, sizeof(rv), "%s", s->rv);
	pthread_mutex_unlock(&s->k->mu);
	h = curl_easy_init();
	esc = h ? curl_easy_escape(h, rv, 0) : NULL;
	if (h)
		curl_easy_cleanup(h);
	snprintf(url, sizeof(url), "%s%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s"
		 "&timeoutSeconds=%d", s->k->cfg.server, s->r->path, esc ? esc : "",
		 WATCH_TIMEOUT_S);
	curl_free(esc);
	rc = http_get(s, url, true, &x);
	if (stopping(s->k)) {
		free(x.buf);
		return 1;
	}
	if (x.relist) {
		pw_info("podwall: k8s: watch %s: resourceVersion %s is too old (410 Gone, %s); "
			"listing again", s->r->name, rv, x.why);
		free(x.buf);
		return 2;
	}
	if (x.code == 410) {
		pw_info("podwall: k8s: watch %s: resourceVersion %s is too old (HTTP 410 "
			"Gone); listing again", s->r->name, rv);
		free(x.buf);
		return 2;
	}
	if (x.failed) {
		pw_info("podwall: k8s: watch %s: %s; reconnecting", s->r->name, x.why);
		free(x.buf);
		return -1;
	}
	if (rc == CURLE_OK && x.code == 200) {
		free(x.buf);
		if (x.events)
			s->backoff_ms = 0;
		return 0;
	}
	if (rc != CURLE_OK && x.code == 200) {
		pw_info("podwall: k8s: watch %s: connection dropped after %zu event%s (%s); "
			"reconnecting from resourceVersion %s", s->r->name, x.events,
			x.events == 1 ? "" : "s", curl_easy_strerror(rc), s->rv);
		free(x.buf);
		if (x.events)
			s->backoff_ms = 0;
		return -1;
	}
	body_excerpt(&x, ex, sizeof(ex));
	if (rc != CURLE_OK)
		pw_warn("podwall: k8s: watch %s: %s; retrying", s->r->name,
			curl_easy_strerror(rc));
	else
		pw_warn("podwall: k8s: watch %s: HTTP %ld: %s; retrying", s->r->name,
			x.code, ex);
	free(x.buf);
	return -1;
}

static void *res_thread(void *arg)
{
	struct res *s = arg;
	bool need_list = true;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	srand((unsigned)time(NULL) ^ (unsigned)(uintptr_t)s);
	while (!stopping(s->k)) {
		int r;

		if (need_list) {
			r = do_list(s);
			if (r == 1)
				break;
			if (r == 3) {   /* a CRD not installed: no watch, look again later */
				nap(s->k, CRD_RETRY_MS);
				continue;
			}
			if (r < 0) {
				set_failing(s, true);
				backoff(s);
				continue;
			}
			need_list = false;
			s->backoff_ms = 0;
		}
		r = do_watch(s);
		if (r == 1)
			break;
		if (r == 2) {
			set_failing(s, true);
			need_list = true;
			continue;
		}
		if (r < 0) {
			set_failing(s, true);
			backoff(s);
		}
	}
	return NULL;
}

/* ------------------------------------------------------------ public */

int pw_k8s_start(const struct pw_k8s_opts *o, struct pw_k8s **out, struct pw_error *err_out)
{
	struct pw_k8s *k = calloc(1, sizeof(*k));
	struct pw_error why = { { 0 } };
	int err;

	*out = NULL;
	if (!k)
		return -ENOMEM;
	k->notify_fd = o->notify_fd;
	err = o->kubeconfig ? pw_kcfg_load(o->kubeconfig, o->context, &k->cfg, &why)
			    : pw_kcfg_in_cluster(&k->cfg, &why);
	if (err) {
		free(k);
		if (err_out)
			*err_out = why; /* the kubeconfig's file, line and field */
		return pw_errorf(err_out, -EINVAL, "--source k8s: %.1000s", why.msg);
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		pw_kcfg_free(&k->cfg);
		free(k);
		return -ENOMEM;
	}
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	{
		char names[256] = "";
		size_t at = 0;

		for (size_t i = 0; i < N_RES && at < sizeof(names); i++)
			at += (size_t)snprintf(names + at, sizeof(names) - at, " %s",
					       pw_k8s_resources[i].name);
		pw_info("podwall: k8s: API server %s (%s); watching%s", k->cfg.server,
			k->cfg.origin, names);
	}
	for (size_t i = 0; i < N_RES; i++) {
		struct res *s = &k->res[i];

		s->r = &pw_k8s_resources[i];
		s->k = k;
		err = pthread_create(&s->th, NULL, res_thread, s);
		if (err) {
			pw_k8s_stop(k);
			return pw_errorf(err_out, -err, "thread: %s", strerror(err));
		}
		s->th_started = true;
	}
	*out = k;
	return 0;
}

void pw_k8s_stop(struct pw_k8s *k)
{
	if (!k)
		return;
	pthread_mutex_lock(&k->mu);
	k->stop = true;
	pthread_cond_broadcast(&k->cv);
	pthread_mutex_unlock(&k->mu);
	for (size_t i = 0; i < N_RES; i++) {
		if (k->res[i].th_started)
			pthread_join(k->res[i].th, NULL);
		json_decref(k->res[i].objs);
	}
	pthread_mutex_destroy(&k->mu);
	pthread_cond_destroy(&k->cv);
	pw_kcfg_free(&k->cfg);
	curl_global_cleanup();
	free(k);
}

bool pw_k8s_in_sync(struct pw_k8s *k, char *why, size_t len)
{
	size_t w = 0;

	why[0] = 0;
	pthread_mutex_lock(&k->mu);
	for (size_t i = 0; i < N_RES && w < len; i++) {
		const struct res *s = &k->res[i];

		if (s->synced && !s->failing)
			continue;
		w += (size_t)snprintf(why + w, len - w, "%s%s %s", w ? ", " : "", s->r->name,
				      !s->synced ? "not listed yet" : "retrying its watch");
	}
	pthread_mutex_unlock(&k->mu);
	return !why[0];
}

int pw_k8s_build(struct pw_k8s *k, struct pw_cluster *c, struct pw_error *err)
{
	char waiting[256] = "";
	int ret = 0;

	memset(err, 0, sizeof(*err));
	pthread_mutex_lock(&k->mu);
	for (size_t i = 0; i < N_RES; i++)
		if (!k->res[i].synced)
			snprintf(waiting + strlen(waiting), sizeof(waiting) - strlen(waiting), "%s%s",
				 waiting[0] ? ", " : "", k->res[i].r->name);
	if (waiting[0]) {
		pthread_mutex_unlock(&k->mu);
		snprintf(err->msg, sizeof(err->msg), "k8s: waiting for the first list of %s from %s",
			 waiting, k->cfg.server);
		return -EAGAIN;
	}
	for (size_t i = 0; i < N_RES && !ret; i++) {
		const char *key;
		json_t *v;

		json_object_foreach(k->res[i].objs, key, v) {
			char name[700];
			const char *text = json_string_value(v);

			snprintf(name, sizeof(name), "k8s:%s/%s", k->res[i].r->name, key);
			ret = pw_cluster_load_buffer(c, name, text, strlen(text), err);
			if (ret)
				break;
		}
	}
	pthread_mutex_unlock(&k->mu);
	if (!ret)
		ret = pw_cluster_finish(c, err);
	return ret;
}

bool pw_k8s_has_pod(struct pw_k8s *k, const char *ns, const char *name)
{
	char key[600];
	bool has;

	snprintf(key, sizeof(key), "%s/%s", ns, name);
	pthread_mutex_lock(&k->mu);
	for (size_t i = 0; i < N_RES; i++)
		if (!strcmp(k->res[i].r->kind, "Pod")) {
			has = json_object_get(k->res[i].objs, key) != NULL;
			pthread_mutex_unlock(&k->mu);
			return has;
		}
	pthread_mutex_unlock(&k->mu);
	return false;
}
