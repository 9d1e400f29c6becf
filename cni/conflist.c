// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The node's CNI network configuration, with podwall-cni chained last or
 * taken out (conflist.h): shared by `podwall-cni chain|unchain` (chain.c),
 * the agent that keeps the chain in place (--cni-conf-dir) and `podwall
 * uninstall --node`.
 *
 * The configuration a runtime uses is the first file of the directory, in
 * byte order of names, ending in .conflist, .conf or .json (what libcni's
 * ConfFiles + sort do, and so containerd and CRI-O). A .conflist gets an
 * entry {"type": "podwall-cni", "socket": ...} appended unless it has one; a
 * single-plugin .conf/.json is rewritten as NAME.conflist with the plugin
 * first and podwall-cni second. Files are replaced atomically (written
 * beside, renamed over); nothing is done when nothing has to change.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <jansson.h>
#include "kernel/atomic_file.h"
#include "conflist.h"


static bool conf_name(const char *n)
{
	size_t l = strlen(n);

	if (n[0] == '.')
		return false;
	return (l > 9 && !strcmp(n + l - 9, ".conflist")) || (l > 5 && !strcmp(n + l - 5, ".conf")) ||
	       (l > 5 && !strcmp(n + l - 5, ".json"));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The name of the primary configuration file of dir, malloc'd; NULL if none. */
static char *primary(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL, *best = NULL;
	size_t n = 0;

	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		struct stat st;
		char path[4096];

		if (!conf_name(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		char **nv = realloc(v, (n + 1) * sizeof(*v));

		if (!nv)
			break;
		v = nv;
		v[n++] = strdup(de->d_name);
	}
	closedir(d);
	if (n) {
		qsort(v, n, sizeof(*v), cmp_str);
		best = v[0];
		for (size_t i = 1; i < n; i++)
			free(v[i]);
	}
	free(v);
	return best;
}

static int write_atomic(const char *dir, const char *name, json_t *o, mode_t mode)
{
	char path[4096], *text = json_dumps(o, JSON_INDENT(2));
	size_t len = text ? strlen(text) : 0;
	char *t2 = text ? realloc(text, len + 2) : NULL;
	int err;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!t2) {
		free(text);
		fprintf(stderr, "podwall-cni: writing %s: out of memory\n", path);
		return -1;
	}
	memcpy(t2 + len, "\n", 2);
	err = pw_write_file_atomic(path, t2, len + 1, mode); /* temp file, fsync, rename */
	free(t2);
	if (err) {
		fprintf(stderr, "podwall-cni: writing %s: %s\n", path, strerror(-err));
		return -1;
	}
	return 0;
}

int pw_conflist_chain(const char *dir, const char *sock, bool remove, FILE *info)
{
	char *name = primary(dir), path[4096];
	json_t *conf, *plugins, *p;
	json_error_t jerr;
	struct stat st;
	bool changed = false, found = false;
	size_t i;
	int ret = -1;

	if (!name)
		return -2;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	conf = json_load_file(path, 0, &jerr);
	if (!conf || !json_is_object(conf)) {
		fprintf(stderr, "podwall-cni: %s: not a JSON object: %s (line %d)\n", path, jerr.text,
			jerr.line);
		goto out;
	}
	if (stat(path, &st))
		st.st_mode = 0644;
	plugins = json_object_get(conf, "plugins");
	if (!plugins) {
		/* a single-plugin .conf: make it a list */
		json_t *list, *first;
		char *dot, newname[4096];

		if (remove) {
			ret = 0;
			goto out;
		}
		if (!json_is_string(json_object_get(conf, "type"))) {
			fprintf(stderr, "podwall-cni: %s: neither \"plugins\" nor \"type\"\n", path);
			goto out;
		}
		first = json_deep_copy(conf);
		json_object_del(first, "cniVersion");
		json_object_del(first, "name");
		list = json_pack("{s:O?, s:O?, s:[o, {s:s, s:s}]}",
				 "cniVersion", json_object_get(conf, "cniVersion"),
				 "name", json_object_get(conf, "name"),
				 "plugins", first, "type", PW_CNI_PLUGIN_TYPE, "socket", sock);
		snprintf(newname, sizeof(newname), "%s", name);
		dot = strrchr(newname, '.');
		if (dot)
			*dot = 0;
		strncat(newname, ".conflist", sizeof(newname) - strlen(newname) - 1);
		if (!list || write_atomic(dir, newname, list, st.st_mode & 07777)) {
			json_decref(list);
			goto out;
		}
		json_decref(list);
		if (strcmp(newname, name) && unlink(path))
			fprintf(stderr, "podwall-cni: removing %s: %s\n", path, strerror(errno));
		fprintf(info, "podwall-cni: %s rewritten as %s/%s with podwall-cni chained\n", path, dir,
		       newname);
		ret = 1;
		goto out;
	}
	if (!json_is_array(plugins)) {
		fprintf(stderr, "podwall-cni: %s: \"plugins\" is not a list\n", path);
		goto out;
	}
	for (i = 0; i < json_array_size(plugins);) {
		const char *type;

		p = json_array_get(plugins, i);
		type = json_string_value(json_object_get(p, "type"));
		if (!type || strcmp(type, PW_CNI_PLUGIN_TYPE)) {
			i++;
			continue;
		}
		if (remove || found) {
			json_array_remove(plugins, i);
			changed = true;
			continue;
		}
		found = true;
		if (i != json_array_size(plugins) - 1) {
			/* it must come last: after every plugin that sets up the interface */
			json_incref(p);
			json_array_remove(plugins, i);
			json_array_append_new(plugins, p);
			changed = true;
			continue;
		}
		if (!json_is_string(json_object_get(p, "socket")) ||
		    strcmp(json_string_value(json_object_get(p, "socket")), sock)) {
			json_object_set_new(p, "socket", json_string(sock));
			changed = true;
		}
		i++;
	}
	if (!remove && !found) {
		json_array_append_new(plugins, json_pack("{s:s, s:s}", "type", PW_CNI_PLUGIN_TYPE,
							 "socket", sock));
		changed = true;
	}
	ret = 0;
	if (changed) {
		if (write_atomic(dir, name, conf, st.st_mode & 07777)) {
			ret = -1;
			goto out;
		}
		fprintf(info, "podwall-cni: %s: podwall-cni %s\n", path, remove ? "removed" : "chained");
		ret = 1;
	}
out:
	json_decref(conf);
	free(name);
	return ret;
}

