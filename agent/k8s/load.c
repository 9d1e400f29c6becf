/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Loading YAML (and JSON) streams of Kubernetes objects: files, directories,
 * buffers; multi-document streams, `kind: List` and every `*List` with
 * items; a bounded pre-scan so that hostile input (deep nesting, huge
 * scalars, too many nodes) is refused before any document is built.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "k8s/internal.h"

static int line_of_offset(const char *buf, size_t len, size_t off)
{
	int line = 1;

	if (off > len)
		off = len;
	for (size_t i = 0; i < off; i++)
		if (buf[i] == '\n')
			line++;
	return line;
}

static int yaml_problem(const char *file, const char *buf, size_t len, yaml_parser_t *p,
			struct pw_error *err)
{
	int line;

	if (p->error == YAML_MEMORY_ERROR)
		return pw_errorf(err, -ENOMEM, "%s: out of memory parsing YAML", file);
	if (p->error == YAML_READER_ERROR) {
		line = line_of_offset(buf, len, p->problem_offset);
		return pw_errorf(err, -EINVAL, "%s:%d: invalid YAML: %s (byte offset %zu)",
				 file, line,
				 p->problem ? p->problem : "unreadable input", p->problem_offset);
	}
	line = (int)p->problem_mark.line + 1;
	if (p->context)
		return pw_errorf(err, -EINVAL, "%s:%d: invalid YAML: %s %s (line %d)", file, line,
				 p->problem ? p->problem : "error", p->context,
				 (int)p->context_mark.line + 1);
	return pw_errorf(err, -EINVAL, "%s:%d: invalid YAML: %s", file, line,
			 p->problem ? p->problem : "error");
}

/* The implicit type of a plain scalar event's text. */
static enum ld_res implicit_type(const yaml_event_t *ev)
{
	struct ld_num x;

	return ld_resolve_text((const char *)ev->data.scalar.value, ev->data.scalar.length, &x);
}

/* `!!str 80` (or `! 80`): kubectl reads the string "80", but libyaml's
 * document gives a plain scalar the str tag whether it was written or not,
 * so the walk would read the number 80. The first such scalar is noted by
 * the prescan and refused when its document is loaded (lost_tag_error),
 * rather than misread. */
static bool str_tag_lost(const yaml_event_t *ev)
{
	const char *tag = (const char *)ev->data.scalar.tag;

	return tag && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!strcmp(tag, YAML_STR_TAG) || !strcmp(tag, "!")) &&
	       implicit_type(ev) != LD_RES_STR;
}

struct lost_tag {
	bool   set;
	size_t index;     /* the scalar's start mark (characters into the stream) */
	bool   bang;      /* written "!", not "!!str" */
};

/* The field path of node target under n, in ld->path; visited: one flag per
 * node of the document, so that shared (aliased) nodes are walked once. */
static bool path_to(struct ld *ld, yaml_node_t *n, yaml_node_t *target, unsigned char *visited)
{
	size_t id = (size_t)(n - ld->doc->nodes.start), mark;

	if (n == target)
		return true;
	if (visited[id])
		return false;
	visited[id] = 1;
	if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		     i < n->data.sequence.items.top; i++) {
			yaml_node_t *e = yaml_document_get_node(ld->doc, *i);

			mark = ld_push_idx(ld, (size_t)(i - n->data.sequence.items.start));
			if (e && path_to(ld, e, target, visited))
				return true;
			ld_pop(ld, mark);
		}
	} else if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(ld->doc, p->key);
			yaml_node_t *v = yaml_document_get_node(ld->doc, p->value);

			if (k == target)
				return true;
			mark = ld_push_key(ld, k && k->type == YAML_SCALAR_NODE ? ld_scalar(k) : "?");
			if (v && path_to(ld, v, target, visited))
				return true;
			ld_pop(ld, mark);
		}
	}
	return false;
}

/* If the scalar the prescan found is in this document: its error, naming
 * the field it is the value of. */
static int lost_tag_error(struct ld *ld, const struct lost_tag *lt, yaml_node_t *root)
{
	yaml_node_t *n, *target = NULL;
	unsigned char *visited;
	struct ld_num x;
	const char *what;

	if (!lt->set)
		return 0;
	for (n = ld->doc->nodes.start; n < ld->doc->nodes.top && !target; n++)
		if (n->type == YAML_SCALAR_NODE && n->start_mark.index == lt->index)
			target = n;
	if (!target)
		return 0;
	visited = calloc((size_t)(ld->doc->nodes.top - ld->doc->nodes.start), 1);
	if (!visited)
		return ld_err(ld, target, "out of memory");
	if (!path_to(ld, root, target, visited))
		ld_pop(ld, 0);
	free(visited);
	switch (ld_resolve_text(ld_scalar(target), target->data.scalar.length, &x)) {
	case LD_RES_NULL:
		what = "null";
		break;
	case LD_RES_BOOL:
		what = "a boolean";
		break;
	case LD_RES_INT:
		what = "an integer";
		break;
	default:
		what = "a number";
		break;
	}
	return ld_err(ld, target, "\"%s %.40s\": a string tag on a plain scalar that YAML "
		      "reads as %s, which this loader cannot keep; quote it instead (\"%.40s\")",
		      lt->bang ? "!" : "!!str", ld_scalar(target), what, ld_scalar(target));
}

/* Parse the stream once as events, with every bound checked, before any
 * document is built in memory. */
static int prescan(const char *file, const char *buf, size_t len, struct lost_tag *lt,
		   struct pw_error *err)
{
	yaml_parser_t p;
	yaml_event_t ev;
	size_t nodes = 0, anchors = 0, aliases = 0;
	int depth = 0, ret = 0;
	bool done = false;

	if (!yaml_parser_initialize(&p))
		return pw_errorf(err, -ENOMEM, "%s: out of memory", file);
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done && !ret) {
		int line;

		if (!yaml_parser_parse(&p, &ev)) {
			ret = yaml_problem(file, buf, len, &p, err);
			break;
		}
		line = (int)ev.start_mark.line + 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			nodes = anchors = aliases = 0;
			break;
		case YAML_ALIAS_EVENT:
			if (++aliases > PW_LOAD_MAX_ALIASES)
				ret = pw_errorf(err, -EINVAL, "%s:%d: more than %d aliases in one "
						"document",
						file, line, PW_LOAD_MAX_ALIASES);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if ((ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
								  : ev.data.mapping_start.anchor) &&
			    ++anchors > PW_LOAD_MAX_ANCHORS)
				ret = pw_errorf(err, -EINVAL, "%s:%d: more than %d anchors in one "
						"document",
						file, line, PW_LOAD_MAX_ANCHORS);
			if (!ret && ++depth > PW_LOAD_MAX_DEPTH)
				ret = pw_errorf(err, -EINVAL, "%s:%d: nested deeper than %d levels",
						file, line, PW_LOAD_MAX_DEPTH);
			nodes++;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
			if (ev.data.scalar.anchor && ++anchors > PW_LOAD_MAX_ANCHORS)
				ret = pw_errorf(err, -EINVAL, "%s:%d: more than %d anchors in one "
						"document",
						file, line, PW_LOAD_MAX_ANCHORS);
			else if (ev.data.scalar.length > PW_LOAD_MAX_SCALAR)
				ret = pw_errorf(err, -EINVAL, "%s:%d: scalar of %zu bytes, more "
						"than %u",
						file, line, ev.data.scalar.length, PW_LOAD_MAX_SCALAR);
			else if (!lt->set && str_tag_lost(&ev))
				*lt = (struct lost_tag){ true, ev.start_mark.index,
							 !strcmp((const char *)ev.data.scalar.tag, "!") };
			nodes++;
			break;
		default:
			break;
		}
		if (!ret && nodes > PW_LOAD_MAX_NODES)
			ret = pw_errorf(err, -EINVAL, "%s:%d: document has more than %u nodes",
					file, line, PW_LOAD_MAX_NODES);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return ret;
}

static int object(struct ld *ld, yaml_node_t *n);

static int list_items(struct ld *ld, yaml_node_t *items)
{
	size_t count, mark = ld_push_key(ld, "items");
	int ret = ld_check_seq(ld, items, &count);

	for (size_t i = 0; !ret && i < count; i++) {
		yaml_node_t *e = ld_node(ld, items->data.sequence.items.start[i]);
		size_t m2 = ld_push_idx(ld, i);

		ret = e ? object(ld, e) : -EINVAL;
		ld_pop(ld, m2);
	}
	ld_pop(ld, mark);
	return ret;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* One Kubernetes object (a mapping), or a list of them. */
static int object(struct ld *ld, yaml_node_t *n)
{
	struct ld_field f[OF_N] = {
		[OF_API] = { "apiVersion" }, [OF_KIND] = { "kind" }, [OF_META] = { "metadata" },
		[OF_SPEC] = { "spec" }, [OF_STATUS] = { "status" }, [OF_ITEMS] = { "items" },
	};
	const char *kind;
	size_t mark;
	int ret;

	if (ld_is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return ld_err(ld, n, "expected a Kubernetes object (a mapping), got %s",
			      ld_type_name(n));
	ret = ld_fields(ld, n, f, OF_N);
	if (ret)
		return ret;
	if (!ld_has(&f[OF_KIND])) {
		ld_note(ld, n, "skipping an object without kind");
		return 0;
	}
	if (f[OF_KIND].val->type != YAML_SCALAR_NODE) {
		mark = ld_push_key(ld, "kind");
		ret = ld_err(ld, f[OF_KIND].val, "expected a string, got %s",
			     ld_type_name(f[OF_KIND].val));
		ld_pop(ld, mark);
		return ret;
	}
	kind = ld_scalar(f[OF_KIND].val);
	if (ends_with(kind, "List") && f[OF_ITEMS].val)
		return list_items(ld, f[OF_ITEMS].val);
	if (!strcmp(kind, "Namespace"))
		return ld_namespace(ld, n, f);
	if (!strcmp(kind, "Pod"))
		return ld_pod(ld, n, f);
	if (!strcmp(kind, "NetworkPolicy"))
		return ld_policy(ld, n, f);
	if (!strcmp(kind, "Service"))
		return ld_service(ld, n, f);
	if (!strcmp(kind, "ClusterNetworkPolicy"))
		return ld_cnp(ld, n, f);
	if (!strcmp(kind, "Node"))
		return ld_node_obj(ld, n, f);
	ld_note(ld, n, "skipping kind %.100s", kind);
	return 0;
}

static int document(struct ld *ld, yaml_node_t *root)
{
	size_t count;
	int ret;

	if (root->type != YAML_SEQUENCE_NODE)
		return object(ld, root);
	/* a document that is a list of objects */
	ret = ld_check_seq(ld, root, &count);
	for (size_t i = 0; !ret && i < count; i++) {
		yaml_node_t *e = ld_node(ld, root->data.sequence.items.start[i]);
		size_t mark = ld_push_idx(ld, i);

		ret = e ? object(ld, e) : -EINVAL;
		ld_pop(ld, mark);
	}
	return ret;
}

int pw_cluster_load_buffer(struct pw_cluster *c, const char *name, const char *buf,
			   size_t len, struct pw_error *err)
{
	struct pw_arena *a = &pw_store(c)->arena;
	struct ld ld = { .c = c, .a = a, .err = err };
	struct lost_tag lt = { 0 };
	yaml_parser_t p;
	int ret;

	if (err)
		err->msg[0] = 0;
	if (!name)
		name = "<buffer>";
	ld.file = pw_arena_strdup(a, name);
	if (!ld.file)
		return pw_errorf(err, -ENOMEM, "%s: out of memory", name);
	if (len > PW_LOAD_MAX_FILE)
		return pw_errorf(err, -EFBIG, "%s: %zu bytes, more than the limit of %u", name, len,
				 PW_LOAD_MAX_FILE);
	ret = prescan(ld.file, buf, len, &lt, err);
	if (ret)
		return ret;
	if (!yaml_parser_initialize(&p))
		return pw_errorf(err, -ENOMEM, "%s: out of memory", name);
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	for (;;) {
		yaml_document_t doc;
		yaml_node_t *root;

		if (!yaml_parser_load(&p, &doc)) {
			ret = yaml_problem(ld.file, buf, len, &p, err);
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc);
			break;   /* end of stream */
		}
		ld.doc = &doc;
		ld.visits = 0;
		ld.max_visits = PW_LOAD_VISITS_PER_NODE *
				(size_t)(doc.nodes.top - doc.nodes.start) + PW_LOAD_VISITS_SLACK;
		ld.plen = 0;
		ld.path[0] = 0;
		ret = lost_tag_error(&ld, &lt, root);
		if (!ret) {
			ld.plen = 0;
			ld.path[0] = 0;
			ret = document(&ld, root);
		}
		yaml_document_delete(&doc);
		if (ret)
			break;
	}
	yaml_parser_delete(&p);
	return ret;
}

static int read_fd(int fd, const char *path, char **out, size_t *len, struct pw_error *err)
{
	size_t cap = 64 * 1024, n = 0;
	char *buf = malloc(cap);

	if (!buf)
		return pw_errorf(err, -ENOMEM, "%s: out of memory", path);
	for (;;) {
		ssize_t r;

		if (n > PW_LOAD_MAX_FILE) {
			free(buf);
			return pw_errorf(err, -EFBIG, "%s: more than the limit of %u bytes", path,
					 PW_LOAD_MAX_FILE);
		}
		if (n == cap) {
			char *nb;

			nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return pw_errorf(err, -ENOMEM, "%s: out of memory", path);
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			free(buf);
			return pw_errorf(err, -e, "%s: read: %s", path, strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > PW_LOAD_MAX_FILE) {
		free(buf);
		return pw_errorf(err, -EFBIG, "%s: more than the limit of %u bytes", path,
				 PW_LOAD_MAX_FILE);
	}
	*out = buf;
	*len = n;
	return 0;
}

int pw_load_read_file(const char *path, char **buf, size_t *len, struct stat *st_out,
		      struct pw_error *err)
{
	struct stat st;
	bool have_st;
	int fd, ret;

	*buf = NULL;
	*len = 0;
	if (!strcmp(path, "-"))
		fd = STDIN_FILENO;
	else
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pw_errorf(err, -errno, "%s: %s", path, strerror(errno));
	have_st = fstat(fd, &st) == 0;
	if (have_st && S_ISREG(st.st_mode) && st.st_size > PW_LOAD_MAX_FILE) {
		if (fd != STDIN_FILENO)
			close(fd);
		return pw_errorf(err, -EFBIG, "%s: %lld bytes, more than the limit of %u", path,
				 (long long)st.st_size, PW_LOAD_MAX_FILE);
	}
	ret = read_fd(fd, path, buf, len, err);
	if (fd != STDIN_FILENO)
		close(fd);
	if (!ret && st_out) {
		if (!have_st)
			memset(&st, 0, sizeof(st));
		*st_out = st;
	}
	return ret;
}

static int load_file(struct pw_cluster *c, const char *path, struct pw_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	ret = pw_load_read_file(path, &buf, &len, NULL, err);
	if (ret)
		return ret;
	ret = pw_cluster_load_buffer(c, strcmp(path, "-") ? path : "<stdin>", buf, len, err);
	free(buf);
	return ret;
}

static bool manifest_name(const char *n)
{
	return n[0] != '.' &&
	       (ends_with(n, ".yaml") || ends_with(n, ".yml") || ends_with(n, ".json"));
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pw_load_entry *)a)->path,
		      ((const struct pw_load_entry *)b)->path);
}

void pw_load_entries_free(struct pw_load_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

int pw_load_list_dir(const char *path, struct pw_load_entry **out, size_t *n_out,
		     struct pw_error *err)
{
	DIR *d = opendir(path);
	struct dirent *de;
	struct pw_load_entry *v = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;

	*out = NULL;
	*n_out = 0;
	if (!d)
		return pw_errorf(err, -errno, "%s: %s", path, strerror(errno));
	while ((de = readdir(d))) {
		char *full;
		struct stat st;

		if (!manifest_name(de->d_name))
			continue;
		if (asprintf(&full, "%s%s%s", path, ends_with(path, "/") ? "" : "/",
			     de->d_name) < 0) {
			ret = pw_errorf(err, -ENOMEM, "%s: out of memory", path);
			break;
		}
		if (stat(full, &st) || !S_ISREG(st.st_mode)) {
			free(full);
			continue;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct pw_load_entry *nv = realloc(v, ncap * sizeof(*v));

			if (!nv) {
				free(full);
				ret = pw_errorf(err, -ENOMEM, "%s: out of memory", path);
				break;
			}
			v = nv;
			cap = ncap;
		}
		v[n].path = full;
		v[n].st = st;
		n++;
	}
	closedir(d);
	if (ret) {
		pw_load_entries_free(v, n);
		return ret;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), entry_cmp);
	*out = v;
	*n_out = n;
	return 0;
}

static int load_dir(struct pw_cluster *c, const char *path, struct pw_error *err)
{
	struct pw_load_entry *v;
	size_t n;
	int ret = pw_load_list_dir(path, &v, &n, err);

	for (size_t i = 0; !ret && i < n; i++)
		ret = load_file(c, v[i].path, err);
	pw_load_entries_free(v, n);
	return ret;
}

int pw_cluster_load_path(struct pw_cluster *c, const char *path, struct pw_error *err)
{
	struct stat st;

	if (err)
		err->msg[0] = 0;
	if (strcmp(path, "-") && stat(path, &st))
		return pw_errorf(err, -errno, "%s: %s", path, strerror(errno));
	if (strcmp(path, "-") && S_ISDIR(st.st_mode))
		return load_dir(c, path, err);
	return load_file(c, path, err);
}
