/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Who could change the manifest source (internal.h, pw_perm_*): whoever can
 * write the source directory, one of its ancestors or a manifest decides
 * what the agent enforces (docs/THREAT-MODEL.md). The agent warns, and goes
 * on, when one of them is writable by group or others, or owned by a user
 * that is neither root nor the agent's own: a warning, not a refusal, since
 * a deployment may mean it (a group of policy admins), and refusing would
 * leave the pods unenforced.
 *
 * Ancestors are judged as OpenSSH's StrictModes does: a directory writable
 * by others with the sticky bit (/tmp) lets them add entries but not replace
 * one they do not own, so it is fine when the next step of the path is owned
 * by root or by us. The source directory itself is judged without that
 * exception: adding a manifest is all it takes.
 *
 * Each (inode, mode, owner) is warned about once per file cache, so a
 * reload does not repeat it; a chmod, a chown or a new inode (a ConfigMap
 * update) is looked at again.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "k8s/internal.h"
#include "log.h"

#define SEEN_MAX 4096   /* then forget, and maybe warn again */

static bool seen(struct pw_perm_seen *s, const struct stat *st)
{
	void *nv;

	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].dev == st->st_dev && s->v[i].ino == st->st_ino &&
		    s->v[i].mode == st->st_mode && s->v[i].uid == st->st_uid)
			return true;
	if (s->n == SEEN_MAX)
		s->n = 0;
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 16;

		nv = realloc(s->v, ncap * sizeof(*s->v));
		if (!nv)
			return false;   /* warn again rather than not at all */
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n].dev = st->st_dev;
	s->v[s->n].ino = st->st_ino;
	s->v[s->n].mode = st->st_mode;
	s->v[s->n].uid = st->st_uid;
	s->n++;
	return false;
}

static bool trusted_owner(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* what is wrong with st as a place policy comes from, or NULL */
static const char *problem(const struct stat *st, bool sticky_ok, const struct stat *next,
			   char *buf, size_t len)
{
	mode_t w = st->st_mode & (S_IWGRP | S_IWOTH);

	if (!trusted_owner(st->st_uid)) {
		snprintf(buf, len, "is owned by uid %u, neither root nor this agent's uid %u",
			 (unsigned)st->st_uid, (unsigned)geteuid());
		return buf;
	}
	if (!w)
		return NULL;
	if (sticky_ok && (st->st_mode & S_ISVTX) && next && trusted_owner(next->st_uid))
		return NULL;
	snprintf(buf, len, "is writable by %s (mode %04o)",
		 w == (S_IWGRP | S_IWOTH) ? "group and others" : w == S_IWGRP ? "its group"
									     : "others",
		 (unsigned)(st->st_mode & 07777));
	return buf;
}

/* a kubelet volume (ConfigMap, Secret): its atomic writer's "..data" link */
static bool kubelet_volume(const char *dir)
{
	char p[PATH_MAX];
	struct stat st;

	return snprintf(p, sizeof(p), "%s/..data", dir) < (int)sizeof(p) && !lstat(p, &st) &&
	       S_ISLNK(st.st_mode);
}

static void warn(struct pw_perm_seen *s, const char *what, const char *path,
		 const struct stat *st, bool sticky_ok, const struct stat *next)
{
	char buf[128];
	const char *why = problem(st, sticky_ok, next, buf, sizeof(buf));

	if (!why || seen(s, st))
		return;
	pw_warn("podwall: warning: %s %s %s: whoever can change it can change the "
		"policy in force; make it root-owned and not group- or world-writable "
		"(docs/THREAT-MODEL.md)%s", what, path, why,
		S_ISDIR(st->st_mode) && kubelet_volume(path)
			? "; a ConfigMap volume's directory is kubelet's (an emptyDir, 0777): "
			  "then keep every container of the agent's pod trusted"
			: "");
}

/* dir and every directory above it (dir as given, then as resolved) */
static void check_chain(struct pw_perm_seen *s, const char *dir, const char *what)
{
	char p[PATH_MAX], real[PATH_MAX];
	struct stat st, next;
	bool have_next = false;
	size_t n;

	if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p))
		return;
	/* from dir up: each step is judged knowing the one below it */
	for (;;) {
		n = strlen(p);
		while (n > 1 && p[n - 1] == '/')
			p[--n] = 0;
		if (stat(p, &st))
			break;
		warn(s, have_next ? "the directory above the source," : what, p, &st, have_next,
		     have_next ? &next : NULL);
		next = st;
		have_next = true;
		if (!strcmp(p, "/") || !strcmp(p, "."))
			break;
		{
			char *slash = strrchr(p, '/');

			if (!slash) {
				if (!realpath(p, real) || snprintf(p, sizeof(p), "%s", real) >=
							       (int)sizeof(p))
					break;
				/* now absolute: go on from its parent */
				slash = strrchr(p, '/');
			}
			if (slash == p)
				p[1] = 0;
			else
				*slash = 0;
		}
	}
	/* through symlinks: the directories the path leads to */
	if (realpath(dir, real) && strcmp(real, dir))
		check_chain(s, real, what);
}

void pw_perm_check_source(struct pw_perm_seen *s, const char *source, bool is_dir)
{
	char parent[PATH_MAX];
	const char *slash;

	if (!strcmp(source, "-"))
		return;
	if (is_dir) {
		check_chain(s, source, "the source directory");
		return;
	}
	slash = strrchr(source, '/');
	if (!slash)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == source)
		snprintf(parent, sizeof(parent), "/");
	else if (snprintf(parent, sizeof(parent), "%.*s", (int)(slash - source), source) >=
		 (int)sizeof(parent))
		return;
	check_chain(s, parent, "the directory of the source");
}

void pw_perm_check_file(struct pw_perm_seen *s, const char *path, const struct stat *st)
{
	char real[PATH_MAX], *slash;
	struct stat lst;

	warn(s, "the manifest", path, st, false, NULL);
	/* a symlink (a ConfigMap's "x.yaml -> ..data/x.yaml"): where it leads too */
	if (lstat(path, &lst) || !S_ISLNK(lst.st_mode) || !realpath(path, real))
		return;
	slash = strrchr(real, '/');
	if (!slash || slash == real)
		return;
	*slash = 0;
	check_chain(s, real, "the directory a manifest links into,");
}

void pw_perm_seen_free(struct pw_perm_seen *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}
