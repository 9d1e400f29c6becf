/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The loaded-state file (statefile.h), in JSON with jansson: the paths, the
 * text (streamed entry by entry, see "to JSON"), the write, the writer
 * thread that takes the write off the caller's path, and reading it back.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "clock.h"
#include "kernel/atomic_file.h"
#include "log.h"
#include "kernel/mapsync.h"
#include "ops/statefile.h"

static const char *state_root(void)
{
	const char *r = getenv("PODWALL_STATE_DIR");

	return r && *r ? r : PW_STATE_ROOT;
}

static const char *pin_base(const char *pin_dir, char *buf, size_t len)
{
	char tmp[PATH_MAX];
	const char *b;

	snprintf(tmp, sizeof(tmp), "%s", pin_dir);
	/* strip trailing slashes */
	for (size_t n = strlen(tmp); n > 1 && tmp[n - 1] == '/'; n--)
		tmp[n - 1] = 0;
	b = strrchr(tmp, '/');
	b = b ? b + 1 : tmp;
	snprintf(buf, len, "%s", *b ? b : "default");
	return buf;
}

int pw_ops_state_path(const char *pin_dir, char *buf, size_t len)
{
	char base[NAME_MAX + 1];

	pin_base(pin_dir, base, sizeof(base));
	if ((size_t)snprintf(buf, len, "%s/%s/state.json", state_root(), base) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* ------------------------------------------------------------- to JSON */

/*
 * The file is what json_dumps(tree, JSON_COMPACT) gives for the tree
 * {version, generation, slot, mode, dns, source, pin_dir, written_at,
 *  endpoints: [...], pods: [...], services: [...], identities: [...],
 *  rules: [...]},
 * but the tree is never built whole: at 10k pods its ~200k nodes cost more
 * to allocate, dump and free than everything else. Each entry of the arrays
 * is built as before, dumped by jansson into one buffer and freed at once
 * (small allocations reused hot); only the separators of the top level and
 * the five array keys are written here. Values that jansson refuses
 * (a string that is not UTF-8) are left out exactly as json_object_set_new
 * and json_array_append_new leave out a NULL.
 */

static json_t *ips_json(const uint8_t ips[][16], size_t n)
{
	json_t *a = json_array();
	char buf[64];

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(pw_ld_addr_str(ips[i], buf, sizeof(buf))));
	return a;
}

static json_t *strs_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* The scalars of the top level, in file order. */
static json_t *head_json(const struct pw_loaded *l)
{
	json_t *root = json_object();

	if (!root)
		return NULL;
	json_object_set_new(root, "version", json_integer(l->version));
	json_object_set_new(root, "generation", json_integer(l->generation));
	json_object_set_new(root, "slot", json_integer(l->slot));
	json_object_set_new(root, "mode", json_string(l->audit_all ? "audit" : "enforce"));
	json_object_set_new(root, "dns", json_string(l->dns_auto ? "auto" : "off"));
	json_object_set_new(root, "source", json_string(l->source ? l->source : ""));
	json_object_set_new(root, "pin_dir", json_string(l->pin_dir ? l->pin_dir : ""));
	json_object_set_new(root, "written_at", json_integer(l->written_at));
	return root;
}

static json_t *ep_json(const struct pw_ld_ep *e)
{
	json_t *o = json_object(), *pol = json_object();

	if (!o || !pol) {
		json_decref(o);
		json_decref(pol);
		return NULL;
	}
	json_object_set_new(o, "pod", json_string(e->pod));
	json_object_set_new(o, "ips", ips_json(e->ips, e->n_ips));
	json_object_set_new(o, "ifindex", json_integer(e->ifindex));
	json_object_set_new(o, "ep_id", json_integer(e->ep_id));
	json_object_set_new(o, "identity", json_integer(e->identity));
	json_object_set_new(o, "flags", json_integer(e->flags));
	json_object_set_new(o, "dns_flags", json_integer(e->dns_flags));
	json_object_set_new(pol, "ingress", strs_json(e->policies[PW_DIR_INGRESS],
						      e->n_policies[PW_DIR_INGRESS]));
	json_object_set_new(pol, "egress", strs_json(e->policies[PW_DIR_EGRESS],
						     e->n_policies[PW_DIR_EGRESS]));
	json_object_set_new(o, "policies", pol);
	return o;
}

static json_t *pod_json(const struct pw_ld_pod *p)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "pod", json_string(p->pod));
	json_object_set_new(o, "ips", ips_json(p->ips, p->n_ips));
	json_object_set_new(o, "identity", json_integer(p->identity));
	json_object_set_new(o, "local", json_boolean(p->local));
	json_object_set_new(o, "dns", json_boolean(p->dns));
	return o;
}

static json_t *svc_json(const struct pw_ld_svc *s)
{
	json_t *o = json_object(), *ports = json_array();

	if (!o || !ports) {
		json_decref(o);
		json_decref(ports);
		return NULL;
	}
	json_object_set_new(o, "service", json_string(s->svc));
	json_object_set_new(o, "ips", ips_json(s->ips, s->n_ips));
	for (size_t k = 0; k < s->n_ports; k++) {
		json_t *p = json_object();

		json_object_set_new(p, "port", json_integer(s->ports[k].port));
		json_object_set_new(p, "protocol", json_integer(s->ports[k].proto));
		json_object_set_new(p, "target", json_integer(s->ports[k].target));
		if (s->ports[k].target_name)
			json_object_set_new(p, "target_name", json_string(s->ports[k].target_name));
		if (s->ports[k].target_name && s->targets) {
			/* the named port resolved per backend (pw_service_target) */
			json_t *t = json_array();

			for (size_t b = 0; b < s->n_backends; b++)
				json_array_append_new(t, json_integer(s->targets[k * s->n_backends + b]));
			json_object_set_new(p, "targets", t);
		}
		json_array_append_new(ports, p);
	}
	json_object_set_new(o, "ports", ports);
	json_object_set_new(o, "backends", strs_json(s->backends, s->n_backends));
	return o;
}

/* s->targets from the ports' "targets" (written for named target ports);
 * left NULL when a named port has none (a state file of an older podwall) */
static void read_targets(struct pw_ld_svc *s, json_t *ports)
{
	size_t nb = s->n_backends;

	for (size_t k = 0; k < s->n_ports; k++)
		if (s->ports[k].target_name &&
		    json_array_size(json_object_get(json_array_get(ports, k), "targets")) != nb)
			return;
	s->targets = calloc(s->n_ports * nb + 1, sizeof(*s->targets));
	for (size_t k = 0; s->targets && k < s->n_ports; k++) {
		json_t *t = json_object_get(json_array_get(ports, k), "targets");

		for (size_t b = 0; b < nb; b++)
			s->targets[k * nb + b] = s->ports[k].target_name
				? (uint16_t)json_integer_value(json_array_get(t, b))
				: s->ports[k].target;
	}
}

static json_t *id_json(const struct pw_ld_id *d)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "id", json_integer(d->id));
	json_object_set_new(o, "kind", json_integer(d->kind));
	json_object_set_new(o, "desc", json_string(d->desc ? d->desc : ""));
	return o;
}

static json_t *rule_json(const struct pw_ld_rule *r)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "policy", json_string(r->policy));
	json_object_set_new(o, "direction", json_string(pw_dir_name(r->dir)));
	json_object_set_new(o, "index", json_integer(r->index));
	if (r->where)
		json_object_set_new(o, "where", json_string(r->where));
	if (r->tier) {
		json_object_set_new(o, "tier", json_string(pw_tier_name(r->tier)));
		json_object_set_new(o, "cluster_policy", json_string(r->cluster_policy));
		json_object_set_new(o, "priority", json_integer(r->priority));
		json_object_set_new(o, "rule_name", json_string(r->rule_name));
		json_object_set_new(o, "action", json_string(pw_action_name(r->action)));
	}
	return o;
}

/* The text of the file, grown as jansson dumps into it. */
struct text {
	char  *p;
	size_t len, cap;
};

/* json_dump_callback's sink; -1 stops the dump (out of memory). */
static int text_add(const char *buf, size_t n, void *ctx)
{
	struct text *t = ctx;

	if (n >= t->cap - t->len) {
		size_t cap = t->cap ? t->cap : 64 * 1024;
		char *p;

		while (n >= cap - t->len)
			cap *= 2;
		p = realloc(t->p, cap);
		if (!p)
			return -1;
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, buf, n);
	t->len += n;
	t->p[t->len] = 0;
	return 0;
}

static int text_lit(struct text *t, const char *s)
{
	return text_add(s, strlen(s), t) ? -ENOMEM : 0;
}

/* Dump the entry j (taking it) into t; NULL: out of memory. */
static int text_json(struct text *t, json_t *j, bool *first)
{
	int err = 0;

	if (!j)
		return -ENOMEM;
	if (!*first)
		err = text_lit(t, ",");
	if (!err && json_dump_callback(j, text_add, t, JSON_COMPACT))
		err = -ENOMEM;
	json_decref(j);
	*first = false;
	return err;
}

/* The file's text (with its final newline) into *out, malloc'd. */
static int loaded_text(const struct pw_loaded *l, char **out, size_t *len)
{
	struct text t = { 0 };
	json_t *head = head_json(l);
	bool first;
	int err;

	*out = NULL;
	/* the top level's scalars, then the arrays in place of its closing brace */
	err = head && !json_dump_callback(head, text_add, &t, JSON_COMPACT) && t.len >= 2 &&
	      t.p[t.len - 1] == '}' ? 0 : -ENOMEM;
	json_decref(head);
	if (err)
		goto out;
	t.len--; /* "}" */
	/* "version" is always there: the keys that follow need a comma */
	err = text_lit(&t, ",\"endpoints\":[");
	first = true;
	for (size_t i = 0; !err && i < l->n_eps; i++)
		err = text_json(&t, ep_json(&l->eps[i]), &first);
	if (!err)
		err = text_lit(&t, "],\"pods\":[");
	first = true;
	for (size_t i = 0; !err && i < l->n_pods; i++)
		err = text_json(&t, pod_json(&l->pods[i]), &first);
	if (!err)
		err = text_lit(&t, "],\"services\":[");
	first = true;
	for (size_t i = 0; !err && i < l->n_svcs; i++)
		err = text_json(&t, svc_json(&l->svcs[i]), &first);
	if (!err)
		err = text_lit(&t, "],\"identities\":[");
	first = true;
	for (size_t i = 0; !err && i < l->n_ids; i++)
		err = text_json(&t, id_json(&l->ids[i]), &first);
	if (!err)
		err = text_lit(&t, "],\"rules\":[");
	first = true;
	for (size_t i = 0; !err && i < l->n_rules; i++)
		err = text_json(&t, rule_json(&l->rules[i]), &first);
	if (!err)
		err = text_lit(&t, "]}\n");
out:
	if (err) {
		free(t.p);
		return err;
	}
	*out = t.p;
	*len = t.len;
	return 0;
}

/*
 * mkdir -p, each component we create private (0700; the umask cannot widen
 * it). A directory that already exists keeps its mode: the state file's
 * directory is podwall's own (PW_STATE_ROOT/<pin dir name>), but a path an
 * operator or a test gives may end in a shared directory such as /tmp, and
 * tightening that would break everyone else who uses it.
 */
static int mkdir_private(const char *dir)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int pw_loaded_save(const struct pw_loaded *l, const char *path)
{
	char dir[PATH_MAX];
	char *text = NULL;
	size_t len = 0;
	int err;

	snprintf(dir, sizeof(dir), "%s", path);
	err = mkdir_private(dirname(dir));
	if (err)
		return err;
	err = loaded_text(l, &text, &len);
	if (!err)
		err = pw_write_file_atomic(path, text, len, 0600);
	free(text);
	return err;
}

static int write_small(const char *path, const char *text)
{
	return pw_write_file_atomic(path, text, strlen(text), 0600);
}

/*
 * Forget the state of pin dirs that are gone (uninstalled, or a test's
 * leftovers): each state dir names its pin dir in the file "pin_dir"; if
 * that pin dir has no config map any more, the state dir is removed.
 */
static void prune_stale(const char *keep_dir)
{
	const char *root = state_root();
	DIR *d = opendir(root);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char sub[PATH_MAX], f[PATH_MAX + 16], pin[PATH_MAX], cfg[PATH_MAX + 16];
		struct stat st;
		ssize_t n;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", root, de->d_name) >= sizeof(sub) ||
		    !strcmp(sub, keep_dir))
			continue;
		snprintf(f, sizeof(f), "%s/pin_dir", sub);
		fd = open(f, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		n = read(fd, pin, sizeof(pin) - 1);
		close(fd);
		if (n <= 0)
			continue;
		pin[n] = 0;
		snprintf(cfg, sizeof(cfg), "%s/config", pin);
		if (!stat(cfg, &st) || errno != ENOENT)
			continue;
		unlink(f);
		snprintf(f, sizeof(f), "%s/state.json", sub);
		unlink(f);
		rmdir(sub);
	}
	closedir(d);
}

/* ------------------------------------------------------------- writing */

/*
 * One write, owning everything it reads: the compiled state (moved from the
 * caller, or a copy), a reference on the objects (model.h pw_cluster_ref)
 * and copies of the strings of the meta. Whichever thread writes it touches
 * nothing the caller may change or free meanwhile.
 */
struct sf_job {
	struct sf_job        *next;
	uint64_t              first_ns;  /* when the oldest state it replaced came */
	uint64_t              last_ns;   /* when it came */
	struct pw_state       s;
	struct pw_cluster    *c;
	struct pw_loaded_meta m;       /* .source, .pin_dir: the copies below */
	char                 *source;
	char                  pin_dir[PATH_MAX];
	char                  path[PATH_MAX];
};

static void job_free(struct sf_job *j)
{
	if (!j)
		return;
	pw_state_free(&j->s);
	pw_cluster_free(j->c);
	free(j->source);
	free(j);
}

/* The job of a write, without its state yet (the caller moves or copies it). */
static int job_new(const char *pin_dir, const struct pw_cluster *c,
		   const struct pw_state_run *o, const struct pw_sync_stats *st,
		   struct sf_job **out)
{
	struct sf_job *j;
	int err;

	*out = NULL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	err = pw_ops_state_path(pin_dir, j->path, sizeof(j->path));
	if (!err && snprintf(j->pin_dir, sizeof(j->pin_dir), "%s", pin_dir) >=
		    (int)sizeof(j->pin_dir))
		err = -ENAMETOOLONG;
	if (err)
		goto fail;
	if (o && o->source && !(j->source = strdup(o->source))) {
		err = -ENOMEM;
		goto fail;
	}
	if (c && !(j->c = pw_cluster_ref(c))) {
		err = -EINVAL; /* not a cluster of pw_cluster_new: cannot outlive its owner */
		goto fail;
	}
	if (st) {
		j->m.generation = st->generation;
		j->m.slot = st->slot;
	}
	if (o) {
		j->m.audit_all = o->audit;
		j->m.dns_auto = o->dns_auto;
	}
	j->m.source = j->source;
	j->m.pin_dir = j->pin_dir;
	j->m.written_at = (int64_t)time(NULL); /* when the state was applied, not written */
	*out = j;
	return 0;
fail:
	job_free(j);
	return err;
}

static void warn_write(const char *pin_dir, const char *path, int err)
{
	/* the writer thread has no caller to return to: a warning through pw_warn (log.h) */
	pw_warn("podwall: warning: cannot write the state file for %s (%s): %s; "
		"monitor/status/explain will show numbers, not names", pin_dir,
		path && path[0] ? path : "?", strerror(-err));
}

/* The write itself: model, file, its pin_dir side file, stale dirs pruned. */
static int job_write(const struct sf_job *j)
{
	struct pw_loaded l;
	char dir[PATH_MAX], side[PATH_MAX + 16];
	int err;

	err = pw_loaded_build(&j->s, j->c, &j->m, true, &l);
	if (err)
		goto fail;
	err = pw_loaded_save(&l, j->path);
	pw_loaded_free(&l);
	if (err)
		goto fail;
	snprintf(dir, sizeof(dir), "%s", j->path);
	snprintf(side, sizeof(side), "%s/pin_dir", dirname(dir));
	write_small(side, j->pin_dir);
	prune_stale(dir);
	return 0;
fail:
	warn_write(j->pin_dir, j->path, err);
	return err;
}

/*
 * The writer: one thread, started by the first write and stopped by
 * pw_ops_state_flush (or at exit). The queue holds at most one job per state
 * file, oldest first: a newer job for a file replaces a queued older one in
 * its place (latest wins), and the single thread takes jobs in order, so an
 * older state never overwrites a newer one. The queue, stop, running and
 * last_err are all the thread shares with the callers, under mu.
 */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t  wake;       /* a job is queued, or stop */
	pthread_t       th;
	bool            running;
	bool            stop;       /* drain the queue, then end */
	bool            at_exit;    /* flush_at_exit is registered */
	int             last_err;   /* of the writes since the last flush */
	struct sf_job  *queue;
} W = { .mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

/*
 * A write waits until no newer state has come for SF_SETTLE_MS, but not
 * longer than SF_MAX_LAG_MS after the first state it stands for: a burst of
 * changes costs one write, after it, rather than one that reads every pod
 * while the agent works on the next change. A flush writes at once.
 */
#define SF_SETTLE_MS  50
#define SF_MAX_LAG_MS 1000

/* W.mu held: wait until the head of the queue is due, or stop. */
static void wait_due(void)
{
	for (;;) {
		uint64_t now = pw_now_ns(), due, left;
		struct timespec at;

		if (!W.queue || W.stop)
			return;
		due = W.queue->last_ns + SF_SETTLE_MS * 1000000ull;
		if (due > W.queue->first_ns + SF_MAX_LAG_MS * 1000000ull)
			due = W.queue->first_ns + SF_MAX_LAG_MS * 1000000ull;
		if (now >= due)
			return;
		left = due - now;
		clock_gettime(CLOCK_REALTIME, &at); /* the condvar's clock */
		at.tv_sec += (time_t)(left / 1000000000ull);
		at.tv_nsec += (long)(left % 1000000000ull);
		if (at.tv_nsec >= 1000000000L) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&W.wake, &W.mu, &at);
	}
}

static void *writer_main(void *arg)
{
	(void)arg;
	/*
	 * Names, not enforcement: the agent's own work goes first. SCHED_IDLE
	 * runs the writer only on a CPU nothing else wants (on a node kept busy
	 * the file can lag; monitor/status/explain show numbers meanwhile);
	 * where it is refused, the lowest nice.
	 */
	{
		struct sched_param sp = { 0 };

		if (sched_setscheduler(0, SCHED_IDLE, &sp)) /* 0: this thread */
			setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
	}
	for (;;) {
		struct sf_job *j;
		int err;

		pthread_mutex_lock(&W.mu);
		while (!W.queue && !W.stop)
			pthread_cond_wait(&W.wake, &W.mu);
		wait_due();
		j = W.queue;
		if (j)
			W.queue = j->next;
		pthread_mutex_unlock(&W.mu);
		if (!j)
			break;
		err = job_write(j);
		job_free(j);
		if (err) {
			pthread_mutex_lock(&W.mu);
			W.last_err = err;
			pthread_mutex_unlock(&W.mu);
		}
	}
	return NULL;
}

static void flush_at_exit(void)
{
	pw_ops_state_flush();
}

/* Start the writer; W.mu held. */
static int writer_start(void)
{
	sigset_t all, old;
	int err;

	/* every signal stays with the threads that expect it (the agent's signalfd) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&W.th, NULL, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return err;
	pthread_setname_np(W.th, "podwall-names");
	W.running = true;
	/* a process that returns from main without flushing still gets its file */
	if (!W.at_exit && !atexit(flush_at_exit))
		W.at_exit = true;
	return 0;
}

/* Queue j (taking it); without a thread, write it here. */
static int submit(struct sf_job *j)
{
	struct sf_job **pp, *old = NULL;
	int err = 0;

	pthread_mutex_lock(&W.mu);
	if (!W.running)
		err = writer_start();
	if (err) {
		pthread_mutex_unlock(&W.mu);
		err = job_write(j);
		job_free(j);
		return err;
	}
	for (pp = &W.queue; *pp && strcmp((*pp)->path, j->path); pp = &(*pp)->next)
		;
	j->last_ns = j->first_ns = pw_now_ns();
	if (*pp) {
		old = *pp;
		j->next = old->next;
		j->first_ns = old->first_ns;
	}
	*pp = j;
	pthread_cond_signal(&W.wake);
	pthread_mutex_unlock(&W.mu);
	job_free(old); /* its cluster reference may be the last: not under mu */
	return 0;
}

int pw_ops_write_state_take(const char *pin_dir, struct pw_state *s, const struct pw_cluster *c,
			    const struct pw_state_run *o, const struct pw_sync_stats *st)
{
	struct sf_job *j;
	int err;

	if (!pin_dir || !s)
		return -EINVAL;
	err = job_new(pin_dir, c, o, st, &j);
	if (err) {
		pw_state_free(s);
		warn_write(pin_dir, NULL, err);
		return err;
	}
	j->s = *s;
	memset(s, 0, sizeof(*s));
	return submit(j);
}

static void *dup_array(const void *src, size_t n, size_t size, int *err)
{
	void *d;

	if (!n)
		return NULL;
	d = malloc(n * size);
	if (!d)
		*err = -ENOMEM;
	else
		memcpy(d, src, n * size);
	return d;
}

int pw_ops_write_state(const char *pin_dir, const struct pw_state *s, const struct pw_cluster *c,
		       const struct pw_state_run *o, const struct pw_sync_stats *st)
{
	struct pw_state copy = { 0 };
	int err = 0;

	if (!pin_dir || !s)
		return -EINVAL;
	/* what the model reads; the policy entries (the bulk) it does not */
	copy.eps = dup_array(s->eps, s->n_eps, sizeof(*s->eps), &err);
	copy.ipc = dup_array(s->ipc, s->n_ipc, sizeof(*s->ipc), &err);
	copy.ids = dup_array(s->ids, s->n_ids, sizeof(*s->ids), &err);
	copy.rules = dup_array(s->rules, s->n_rules, sizeof(*s->rules), &err);
	copy.n_eps = s->n_eps;
	copy.n_ipc = s->n_ipc;
	copy.n_ids = s->n_ids;
	copy.n_rules = s->n_rules;
	if (err) {
		pw_state_free(&copy);
		warn_write(pin_dir, NULL, err);
		return err;
	}
	return pw_ops_write_state_take(pin_dir, &copy, c, o, st);
}

int pw_ops_state_flush(void)
{
	pthread_t th;
	int err;

	pthread_mutex_lock(&W.mu);
	if (!W.running) {
		err = W.last_err;
		W.last_err = 0;
		pthread_mutex_unlock(&W.mu);
		return err;
	}
	W.stop = true;
	th = W.th;
	pthread_cond_signal(&W.wake);
	pthread_mutex_unlock(&W.mu);
	pthread_join(th, NULL); /* it ends when the queue is empty */
	pthread_mutex_lock(&W.mu);
	W.running = false;
	W.stop = false;
	err = W.last_err;
	W.last_err = 0;
	pthread_mutex_unlock(&W.mu);
	return err;
}

/* ------------------------------------------------------------- from JSON */

static char *jstr(json_t *o, const char *key, int *err)
{
	json_t *v = json_object_get(o, key);
	char *d;

	if (!json_is_string(v))
		return NULL;
	d = strdup(json_string_value(v));
	if (!d)
		*err = -ENOMEM;
	return d;
}

static long long jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : 0;
}

static int addr_parse(const char *s, uint8_t out[16])
{
	static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out + 12) == 1) {
		memcpy(out, pfx, 12);
		return 0;
	}
	return inet_pton(AF_INET6, s, out) == 1 ? 0 : -EINVAL;
}

static size_t jips(json_t *o, uint8_t ips[2][16])
{
	json_t *a = json_object_get(o, "ips"), *v;
	size_t i, n = 0;

	json_array_foreach(a, i, v) {
		if (n < 2 && json_is_string(v) && !addr_parse(json_string_value(v), ips[n]))
			n++;
	}
	return n;
}

static char **jstrs(json_t *a, size_t *n, int *err)
{
	size_t i, cnt = json_is_array(a) ? json_array_size(a) : 0;
	char **v = calloc(cnt + 1, sizeof(char *));
	json_t *x;

	*n = 0;
	if (!v) {
		*err = -ENOMEM;
		return NULL;
	}
	json_array_foreach(a, i, x) {
		if (!json_is_string(x))
			continue;
		v[*n] = strdup(json_string_value(x));
		if (!v[*n]) {
			*err = -ENOMEM;
			break;
		}
		(*n)++;
	}
	return v;
}

static uint8_t dir_parse(const char *s)
{
	return s && !strcmp(s, "egress") ? PW_DIR_EGRESS : PW_DIR_INGRESS;
}

/* the words pw_tier_name / pw_action_name write: true and *out when s is one */
static bool tier_parse(const char *s, uint8_t *out)
{
	for (uint8_t t = PW_TIER_ADMIN; s && t <= PW_TIER_BASELINE; t++)
		if (!strcmp(s, pw_tier_name(t)))
			return *out = t, true;
	return false;
}

static bool action_parse(const char *s, uint8_t *out)
{
	for (uint8_t a = PW_ACT_ACCEPT; s && a <= PW_ACT_PASS; a++)
		if (!strcmp(s, pw_action_name(a)))
			return *out = a, true;
	return false;
}

static int id_cmp(const void *a, const void *b)
{
	const struct pw_ld_id *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

int pw_loaded_load(const char *path, struct pw_loaded *l)
{
	json_error_t jerr;
	json_t *root, *a, *o;
	const char *mode, *dns;
	size_t i;
	int err = 0;

	memset(l, 0, sizeof(*l));
	if (access(path, F_OK))
		return -errno;
	root = json_load_file(path, 0, &jerr);
	if (!root)
		return -EINVAL;
	if (!json_is_object(root) || jint(root, "version") != PW_LOADED_VERSION) {
		json_decref(root);
		return -EINVAL;
	}
	l->version = (int)jint(root, "version");
	l->generation = (uint32_t)jint(root, "generation");
	l->slot = (uint32_t)jint(root, "slot");
	mode = json_string_value(json_object_get(root, "mode"));
	dns = json_string_value(json_object_get(root, "dns"));
	l->audit_all = mode && !strcmp(mode, "audit");
	l->dns_auto = dns && !strcmp(dns, "auto");
	l->source = jstr(root, "source", &err);
	l->pin_dir = jstr(root, "pin_dir", &err);
	l->written_at = jint(root, "written_at");

	a = json_object_get(root, "endpoints");
	l->eps = calloc(json_array_size(a) + 1, sizeof(*l->eps));
	if (!l->eps)
		goto oom;
	json_array_foreach(a, i, o) {
		struct pw_ld_ep *e = &l->eps[l->n_eps];
		json_t *pol = json_object_get(o, "policies");

		if (!json_is_object(o))
			continue;
		l->n_eps++;
		e->pod = jstr(o, "pod", &err);
		if (!e->pod)
			e->pod = strdup("?");
		e->n_ips = jips(o, e->ips);
		e->ifindex = (uint32_t)jint(o, "ifindex");
		e->ep_id = (uint32_t)jint(o, "ep_id");
		e->identity = (uint32_t)jint(o, "identity");
		e->flags = (uint32_t)jint(o, "flags");
		e->dns_flags = (uint32_t)jint(o, "dns_flags");
		e->policies[PW_DIR_INGRESS] = jstrs(json_object_get(pol, "ingress"),
						    &e->n_policies[PW_DIR_INGRESS], &err);
		e->policies[PW_DIR_EGRESS] = jstrs(json_object_get(pol, "egress"),
						   &e->n_policies[PW_DIR_EGRESS], &err);
		if (err || !e->pod)
			goto oom;
	}

	a = json_object_get(root, "pods");
	l->pods = calloc(json_array_size(a) + 1, sizeof(*l->pods));
	if (!l->pods)
		goto oom;
	json_array_foreach(a, i, o) {
		struct pw_ld_pod *p = &l->pods[l->n_pods];

		if (!json_is_object(o))
			continue;
		l->n_pods++;
		p->pod = jstr(o, "pod", &err);
		if (!p->pod)
			goto oom;
		p->n_ips = jips(o, p->ips);
		p->identity = (uint32_t)jint(o, "identity");
		p->local = json_is_true(json_object_get(o, "local"));
		p->dns = json_is_true(json_object_get(o, "dns"));
	}

	a = json_object_get(root, "services");
	l->svcs = calloc(json_array_size(a) + 1, sizeof(*l->svcs));
	if (!l->svcs)
		goto oom;
	json_array_foreach(a, i, o) {
		struct pw_ld_svc *s = &l->svcs[l->n_svcs];
		json_t *ports = json_object_get(o, "ports"), *p;
		size_t k;

		if (!json_is_object(o))
			continue;
		l->n_svcs++;
		s->svc = jstr(o, "service", &err);
		if (!s->svc)
			goto oom;
		s->n_ips = jips(o, s->ips);
		s->ports = calloc(json_array_size(ports) + 1, sizeof(*s->ports));
		if (!s->ports)
			goto oom;
		json_array_foreach(ports, k, p) {
			struct pw_ld_svc_port *sp = &s->ports[s->n_ports++];

			sp->port = (uint16_t)jint(p, "port");
			sp->proto = (uint8_t)jint(p, "protocol");
			sp->target = (uint16_t)jint(p, "target");
			sp->target_name = jstr(p, "target_name", &err);
		}
		s->backends = jstrs(json_object_get(o, "backends"), &s->n_backends, &err);
		if (err)
			goto oom;
		read_targets(s, ports);
	}

	a = json_object_get(root, "identities");
	l->ids = calloc(json_array_size(a) + 1, sizeof(*l->ids));
	if (!l->ids)
		goto oom;
	json_array_foreach(a, i, o) {
		struct pw_ld_id *d = &l->ids[l->n_ids];

		if (!json_is_object(o))
			continue;
		l->n_ids++;
		d->id = (uint32_t)jint(o, "id");
		d->kind = (uint32_t)jint(o, "kind");
		d->desc = jstr(o, "desc", &err);
		if (err)
			goto oom;
	}
	qsort(l->ids, l->n_ids, sizeof(*l->ids), id_cmp);

	a = json_object_get(root, "rules");
	l->rules = calloc(json_array_size(a) + 1, sizeof(*l->rules));
	if (!l->rules)
		goto oom;
	json_array_foreach(a, i, o) {
		struct pw_ld_rule *r = &l->rules[l->n_rules];

		if (!json_is_object(o))
			continue;
		l->n_rules++;
		r->id = (uint32_t)jint(o, "id");
		r->index = (uint32_t)jint(o, "index");
		r->dir = dir_parse(json_string_value(json_object_get(o, "direction")));
		r->policy = jstr(o, "policy", &err);
		r->where = jstr(o, "where", &err);
		if (err || !r->policy)
			goto oom;
		if (tier_parse(json_string_value(json_object_get(o, "tier")), &r->tier) &&
		    action_parse(json_string_value(json_object_get(o, "action")), &r->action)) {
			r->priority = (uint32_t)jint(o, "priority");
			r->cluster_policy = jstr(o, "cluster_policy", &err);
			r->rule_name = jstr(o, "rule_name", &err);
			if (err)
				goto oom;
		}
		if (!r->cluster_policy || !r->rule_name) {
			/* not a ClusterNetworkPolicy rule (or one said without its fields) */
			free(r->cluster_policy);
			free(r->rule_name);
			r->cluster_policy = r->rule_name = NULL;
			r->tier = r->action = 0;
		}
	}
	json_decref(root);
	return 0;
oom:
	json_decref(root);
	pw_loaded_free(l);
	return -ENOMEM;
}

int pw_ops_read_state(const char *pin_dir, struct pw_loaded *out)
{
	char path[PATH_MAX];
	int err = pw_ops_state_path(pin_dir, path, sizeof(path));

	if (err)
		return err;
	return pw_loaded_load(path, out);
}

int pw_ops_remove_state(const char *pin_dir)
{
	char path[PATH_MAX], dir[PATH_MAX];
	int err = pw_ops_state_path(pin_dir, path, sizeof(path));

	if (err)
		return err;
	if (unlink(path) && errno != ENOENT)
		return -errno;
	snprintf(dir, sizeof(dir), "%s", path);
	dirname(dir);
	{
		char side[PATH_MAX + 16];

		snprintf(side, sizeof(side), "%s/pin_dir", dir);
		unlink(side);
	}
	if (rmdir(dir) && errno != ENOENT && errno != ENOTEMPTY)
		return -errno;
	return 0;
}
