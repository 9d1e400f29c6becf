// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * watch: inotify on the manifest source (watch.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include "kernel/watch.h"

#define PW_WATCH_MASK (IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | \
		       IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

struct pw_watch {
	int   fd;
	int   wd;           /* -1 when the directory is gone */
	char *dir;          /* the directory watched */
	char *name;         /* file source: its base name; NULL for a directory */
};

static int arm(struct pw_watch *w)
{
	w->wd = inotify_add_watch(w->fd, w->dir, PW_WATCH_MASK);
	return w->wd < 0 ? -errno : 0;
}

int pw_watch_open(const char *path, struct pw_watch **out)
{
	struct pw_watch *w;
	struct stat st;
	int err;

	*out = NULL;
	if (stat(path, &st))
		return -errno;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->wd = -1;
	if (S_ISDIR(st.st_mode)) {
		w->dir = strdup(path);
	} else {
		const char *slash = strrchr(path, '/');

		if (slash) {
			w->dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
			w->name = strdup(slash + 1);
		} else {
			w->dir = strdup(".");
			w->name = strdup(path);
		}
		if (!w->name) {
			err = -ENOMEM;
			goto fail;
		}
	}
	if (!w->dir) {
		err = -ENOMEM;
		goto fail;
	}
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		err = -errno;
		goto fail;
	}
	err = arm(w);
	if (err)
		goto fail;
	*out = w;
	return 0;
fail:
	pw_watch_close(w);
	return err;
}

void pw_watch_close(struct pw_watch *w)
{
	if (!w)
		return;
	if (w->fd > 0)
		close(w->fd);
	free(w->dir);
	free(w->name);
	free(w);
}

int pw_watch_fd(const struct pw_watch *w)
{
	return w->fd;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n > m && !strcmp(s + n - m, suf);
}

/*
 * kubelet's atomic writer (ConfigMap and Secret volumes) writes a new version
 * into a fresh hidden directory ("..2026_11_23_10_17_00.123456789"), points a
 * new symlink "..data_tmp" at it and renames that onto "..data"; the visible
 * names ("policy.yaml -> ..data/policy.yaml") stay as they are. That rename is
 * the one event an update makes in the watched directory, and it is when the
 * new version is complete: it counts (the hidden directory's own events do
 * not, and the loader never lists dot names, so it reads each manifest once,
 * through its visible symlink).
 */
#define ATOMIC_WRITER_LINK "..data"

static bool relevant(const struct pw_watch *w, const char *name)
{
	if (!strcmp(name, ATOMIC_WRITER_LINK))
		return true;   /* a file source may be a symlink through it, too */
	if (w->name)
		return !strcmp(name, w->name);
	if (name[0] == '.')
		return false;
	return has_suffix(name, ".yaml") || has_suffix(name, ".yml") || has_suffix(name, ".json");
}

int pw_watch_drain(struct pw_watch *w)
{
	char buf[16 * (sizeof(struct inotify_event) + NAME_MAX + 1)]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	int changed = 0;

	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return changed;
			return -errno;
		}
		if (n == 0)
			return changed;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				changed = 2;
				continue;
			}
			if (ev->wd != w->wd)
				continue;
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
				if (!(ev->mask & IN_IGNORED))
					inotify_rm_watch(w->fd, w->wd);
				w->wd = -1;
				changed = 2;
				continue;
			}
			if (ev->len && relevant(w, ev->name))
				changed = ev->mask & IN_CREATE ? (changed ? changed : 1) : 2;
		}
	}
}

int pw_watch_rearm(struct pw_watch *w)
{
	if (w->wd >= 0)
		return 0;
	return arm(w) ? 0 : 1;
}
