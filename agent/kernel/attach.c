// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * attach: podwall's tc filters (attach.h). libbpf 1.1 has no tcx/bpf_link for
 * tc, so this is the classic clsact + cls_bpf direct-action path.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kernel/attach.h"
#include "kernel/route.h"

/*
 * libbpf prints the kernel's extack for every tc call that fails, also for
 * the expected ones (clsact exists, no filter chain yet). Keep the last
 * message to add to our own errors instead.
 */
static char kmsg[200];

static int capture_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[256];
	const char *p;
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	p = strstr(line, "Kernel error message: ");
	if (p) {
		snprintf(kmsg, sizeof(kmsg), "%s", p + strlen("Kernel error message: "));
		n = strlen(kmsg);
		while (n && (kmsg[n - 1] == '\n' || kmsg[n - 1] == ' '))
			kmsg[--n] = 0;
	}
	return 0;
}

#define QUIET_BEGIN() libbpf_print_fn_t prev_print_ = libbpf_set_print(capture_print)
#define QUIET_END()   libbpf_set_print(prev_print_)

static const char *const our_names[] = { "from_pod", "to_pod", "to_remote" };

static bool is_our_name(const char *name)
{
	for (size_t i = 0; i < sizeof(our_names) / sizeof(our_names[0]); i++)
		if (!strcmp(name, our_names[i]))
			return true;
	return false;
}

/* ------------------------------------------------------------ prog identity */

#define PW_MAX_PROG_MAPS 64

struct prog_ident {
	uint32_t id;
	char     name[16];
	uint8_t  tag[BPF_TAG_SIZE];
	uint32_t n_maps;
	uint32_t maps[PW_MAX_PROG_MAPS]; /* ids of its named maps, sorted */
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Name, tag and the maps it uses. Internal maps (.rodata, .bss: a '.' in the
 * name) are left out: they are per load, and the same object gives the same
 * contents.
 */
static int prog_ident_fd(int fd, struct prog_ident *pi)
{
	uint32_t ids[PW_MAX_PROG_MAPS];
	struct bpf_prog_info info;
	uint32_t len = sizeof(info), n;
	int err;

	memset(pi, 0, sizeof(*pi));
	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err)
		return err;
	n = info.nr_map_ids < PW_MAX_PROG_MAPS ? info.nr_map_ids : PW_MAX_PROG_MAPS;
	pi->id = info.id;
	memcpy(pi->name, info.name, sizeof(pi->name) - 1);
	memcpy(pi->tag, info.tag, sizeof(pi->tag));
	if (n) {
		memset(&info, 0, sizeof(info));
		info.nr_map_ids = n;
		info.map_ids = (uint64_t)(uintptr_t)ids;
		len = sizeof(info);
		err = bpf_obj_get_info_by_fd(fd, &info, &len);
		if (err)
			return err;
		if (info.nr_map_ids < n)
			n = info.nr_map_ids;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct bpf_map_info mi;
		uint32_t mlen = sizeof(mi);
		int mfd = bpf_map_get_fd_by_id(ids[i]);

		if (mfd < 0)
			continue;
		memset(&mi, 0, sizeof(mi));
		err = bpf_obj_get_info_by_fd(mfd, &mi, &mlen);
		close(mfd);
		if (err)
			continue;
		if (strchr(mi.name, '.'))
			continue;
		pi->maps[pi->n_maps++] = ids[i];
	}
	qsort(pi->maps, pi->n_maps, sizeof(pi->maps[0]), cmp_u32);
	return 0;
}

static int prog_ident_id(uint32_t id, struct prog_ident *pi)
{
	int fd = bpf_prog_get_fd_by_id(id), err;

	if (fd < 0)
		return fd;
	err = prog_ident_fd(fd, pi);
	close(fd);
	return err;
}

static int prog_name_by_id(uint32_t id, char name[16])
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id), err;

	name[0] = 0;
	if (fd < 0)
		return fd;
	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (err)
		return err;
	memcpy(name, info.name, 15);
	name[15] = 0;
	return 0;
}

static bool same_prog(const struct prog_ident *a, const struct prog_ident *b)
{
	return !strcmp(a->name, b->name) && !memcmp(a->tag, b->tag, sizeof(a->tag)) &&
	       a->n_maps == b->n_maps && !memcmp(a->maps, b->maps, a->n_maps * sizeof(a->maps[0]));
}

/* ------------------------------------------------------------ one spot */

static void hook_init(struct bpf_tc_hook *h, uint32_t ifindex, bool egress)
{
	memset(h, 0, sizeof(*h));
	h->sz = sizeof(*h);
	h->ifindex = (int)ifindex;
	h->attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS;
}

static void opts_init(struct bpf_tc_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->handle = PW_TC_HANDLE;
	o->priority = PW_TC_PRIO;
}

static int attach_one_(int prog_fd, const struct prog_ident *ours, uint32_t ifindex, bool egress,
		       enum pw_attach_result *res);

static int attach_one(int prog_fd, const struct prog_ident *ours, uint32_t ifindex, bool egress,
		      enum pw_attach_result *res)
{
	int err;

	kmsg[0] = 0;
	QUIET_BEGIN();
	err = attach_one_(prog_fd, ours, ifindex, egress, res);
	QUIET_END();
	return err;
}

static int attach_one_(int prog_fd, const struct prog_ident *ours, uint32_t ifindex, bool egress,
		       enum pw_attach_result *res)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	struct prog_ident cur;
	int err;

	hook_init(&hook, ifindex, egress);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;

	opts_init(&opts);
	err = bpf_tc_query(&hook, &opts);
	if (!err && opts.prog_id) {
		if (opts.prog_id == ours->id ||
		    (!prog_ident_id(opts.prog_id, &cur) && same_prog(&cur, ours))) {
			*res = PW_ATTACH_ADOPTED;
			return 0;
		}
		*res = PW_ATTACH_REPLACED;
	} else if (err && err != -ENOENT && err != -EINVAL) {
		/* -EINVAL: "Cannot find specified filter chain", a clsact with no filter */
		return err;
	} else {
		*res = PW_ATTACH_NEW;
	}

	opts_init(&opts);
	opts.prog_fd = prog_fd;
	opts.flags = BPF_TC_F_REPLACE;
	return bpf_tc_attach(&hook, &opts);
}

int pw_attach_one(int prog_fd, uint32_t ifindex, bool egress, enum pw_attach_result *res)
{
	struct prog_ident ours;
	int err = prog_ident_fd(prog_fd, &ours);

	if (err)
		return err;
	return attach_one(prog_fd, &ours, ifindex, egress, res);
}

static int detach_one_(uint32_t ifindex, bool egress);

int pw_detach_one(uint32_t ifindex, bool egress)
{
	int err;

	kmsg[0] = 0;
	QUIET_BEGIN();
	err = detach_one_(ifindex, egress);
	QUIET_END();
	return err;
}

static int detach_one_(uint32_t ifindex, bool egress)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	char name[16];
	int err;

	hook_init(&hook, ifindex, egress);
	opts_init(&opts);
	err = bpf_tc_query(&hook, &opts);
	if (err == -ENOENT || err == -EINVAL || err == -ENODEV)
		return 0; /* no clsact, no filter of ours, or no device */
	if (err)
		return err;
	if (prog_name_by_id(opts.prog_id, name) || !is_our_name(name))
		return 0; /* our handle and priority, but not our program: not ours */
	opts_init(&opts);
	err = bpf_tc_detach(&hook, &opts);
	return err == -ENOENT ? 0 : err;
}

/* ------------------------------------------------------------ listing */

struct filter_list {
	uint32_t             ifindex;
	bool                 egress;
	struct pw_tc_filter *v;
	size_t               n, cap;
};

static int filter_cb(const struct nlmsghdr *nh, void *ctx)
{
	const struct tcmsg *tcm = NLMSG_DATA(nh);
	struct rtattr *tb[TCA_MAX + 1], *ob[TCA_BPF_MAX + 1];
	struct filter_list *fl = ctx;
	struct pw_tc_filter f;

	if (nh->nlmsg_type != RTM_NEWTFILTER || nh->nlmsg_len < NLMSG_LENGTH(sizeof(*tcm)))
		return 0;
	if (!tcm->tcm_handle)
		return 0; /* the classifier instance itself, not a filter */
	memset(&f, 0, sizeof(f));
	pw_rt_parse(nh, sizeof(*tcm), tb, TCA_MAX);
	f.ifindex = fl->ifindex;
	f.egress = fl->egress;
	f.handle = tcm->tcm_handle;
	f.prio = (uint16_t)(TC_H_MAJ(tcm->tcm_info) >> 16);
	f.protocol = (uint16_t)TC_H_MIN(tcm->tcm_info);
	if (tb[TCA_KIND])
		snprintf(f.kind, sizeof(f.kind), "%.*s", (int)RTA_PAYLOAD(tb[TCA_KIND]),
			 (const char *)RTA_DATA(tb[TCA_KIND]));
	if (!strcmp(f.kind, "bpf") && tb[TCA_OPTIONS]) {
		pw_rt_parse_nested(tb[TCA_OPTIONS], ob, TCA_BPF_MAX);
		if (ob[TCA_BPF_ID] && RTA_PAYLOAD(ob[TCA_BPF_ID]) >= sizeof(uint32_t))
			memcpy(&f.prog_id, RTA_DATA(ob[TCA_BPF_ID]), sizeof(uint32_t));
		if (f.prog_id)
			prog_name_by_id(f.prog_id, f.prog_name);
	}
	f.podwall = f.handle == PW_TC_HANDLE && f.prio == PW_TC_PRIO && !strcmp(f.kind, "bpf") &&
		    is_our_name(f.prog_name);

	if (fl->n == fl->cap) {
		size_t cap = fl->cap ? fl->cap * 2 : 8;
		struct pw_tc_filter *v = realloc(fl->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		fl->v = v;
		fl->cap = cap;
	}
	fl->v[fl->n++] = f;
	return 0;
}

int pw_tc_list(struct pw_rt *rt, uint32_t ifindex, bool egress, struct pw_tc_filter **out,
	       size_t *n)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg    tcm;
	} req;
	struct filter_list fl = { .ifindex = ifindex, .egress = egress };
	int err;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.tcm));
	req.nh.nlmsg_type = RTM_GETTFILTER;
	req.nh.nlmsg_flags = NLM_F_DUMP;
	req.tcm.tcm_family = AF_UNSPEC;
	req.tcm.tcm_ifindex = (int)ifindex;
	req.tcm.tcm_parent = TC_H_MAKE(TC_H_CLSACT, egress ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS);
	err = pw_rt_request(rt, &req.nh, filter_cb, &fl);
	if (err == -EINVAL || err == -ENOENT || err == -ENODEV)
		err = 0; /* no clsact here: no filters */
	if (err) {
		free(fl.v);
		*out = NULL;
		*n = 0;
		return err;
	}
	*out = fl.v;
	*n = fl.n;
	return 0;
}

/* ------------------------------------------------------------ many spots */

static void set_err(struct pw_attach_stats *st, const char *what, uint32_t ifindex, bool egress,
		    int err)
{
	snprintf(st->error, sizeof(st->error), "%s on ifindex %u tc %s: %s%s%s%s", what, ifindex,
		 egress ? "egress" : "ingress", strerror(-err), kmsg[0] ? " (kernel: " : "", kmsg,
		 kmsg[0] ? ")" : "");
}

static bool spot_wanted(const struct pw_tc_spot *spots, size_t n, uint32_t ifindex, bool egress)
{
	for (size_t i = 0; i < n; i++)
		if (spots[i].ifindex == ifindex && spots[i].egress == egress)
			return true;
	return false;
}

int pw_attach_sync(struct podwall_bpf *obj, struct pw_rt *rt, const struct pw_tc_spot *spots,
		   size_t n, bool sweep, struct pw_attach_stats *st_out)
{
	struct prog_ident ours[PW_PROG_MAX];
	bool have[PW_PROG_MAX] = { 0 };
	struct pw_attach_stats st_local;
	struct pw_attach_stats *st = st_out ? st_out : &st_local;
	struct pw_link *links = NULL;
	size_t n_links = 0;
	int err = 0;

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < n; i++) {
		const struct pw_tc_spot *sp = &spots[i];
		enum pw_attach_result res;
		int fd = pw_bpf_prog_fd(obj, sp->prog);

		if (fd < 0) {
			err = fd;
			snprintf(st->error, sizeof(st->error), "program %s: no file descriptor",
				 pw_prog_names[sp->prog]);
			goto out;
		}
		if (!have[sp->prog]) {
			err = prog_ident_fd(fd, &ours[sp->prog]);
			if (err) {
				snprintf(st->error, sizeof(st->error), "program %s: get info: %s",
					 pw_prog_names[sp->prog], strerror(-err));
				goto out;
			}
			have[sp->prog] = true;
		}
		err = attach_one(fd, &ours[sp->prog], sp->ifindex, sp->egress, &res);
		if (err == -ENODEV) {
			st->missing++;
			err = 0;
			continue;
		}
		if (err) {
			set_err(st, pw_prog_names[sp->prog], sp->ifindex, sp->egress, err);
			goto out;
		}
		if (res == PW_ATTACH_NEW)
			st->attached++;
		else if (res == PW_ATTACH_REPLACED)
			st->replaced++;
		else
			st->adopted++;
	}
	if (!sweep)
		goto out;

	err = pw_rt_links(rt, &links, &n_links);
	if (err) {
		snprintf(st->error, sizeof(st->error), "listing links: %s", strerror(-err));
		goto out;
	}
	for (size_t i = 0; i < n_links; i++) {
		for (int e = 0; e < 2; e++) {
			struct pw_tc_filter *fs;
			size_t nf;

			if (spot_wanted(spots, n, links[i].ifindex, e))
				continue;
			if (pw_tc_list(rt, links[i].ifindex, e, &fs, &nf))
				continue;
			for (size_t j = 0; j < nf; j++) {
				if (!fs[j].podwall)
					continue;
				err = pw_detach_one(links[i].ifindex, e);
				if (err && err != -ENODEV) {
					set_err(st, "detach", links[i].ifindex, e, err);
					free(fs);
					goto out;
				}
				err = 0;
				st->detached++;
			}
			free(fs);
		}
	}
	/* every podwall hook of this netns runs obj's programs now: an ABI
	 * switch is over (bpfobj.h) */
	err = pw_bpf_switch_done(obj);
	if (err)
		snprintf(st->error, sizeof(st->error), "finishing the ABI switch: %s",
			 strerror(-err));
out:
	free(links);
	return err;
}

int pw_detach_all(struct pw_rt *rt, struct pw_attach_stats *st_out)
{
	struct pw_attach_stats st_local;
	struct pw_attach_stats *st = st_out ? st_out : &st_local;
	struct pw_link *links = NULL;
	size_t n_links = 0;
	int err;

	memset(st, 0, sizeof(*st));
	err = pw_rt_links(rt, &links, &n_links);
	if (err) {
		snprintf(st->error, sizeof(st->error), "listing links: %s", strerror(-err));
		return err;
	}
	for (size_t i = 0; i < n_links; i++) {
		uint32_t ifindex = links[i].ifindex;
		bool removed = false;
		size_t left = 0;

		for (int e = 0; e < 2; e++) {
			struct pw_tc_filter *fs;
			size_t nf;

			err = pw_tc_list(rt, ifindex, e, &fs, &nf);
			if (err) {
				set_err(st, "list filters", ifindex, e, err);
				goto out;
			}
			for (size_t j = 0; j < nf; j++) {
				if (!fs[j].podwall)
					continue;
				err = pw_detach_one(ifindex, e);
				if (err && err != -ENODEV) {
					set_err(st, "detach", ifindex, e, err);
					free(fs);
					goto out;
				}
				st->detached++;
				removed = true;
			}
			free(fs);
		}
		if (!removed)
			continue;
		for (int e = 0; e < 2; e++) {
			struct pw_tc_filter *fs;
			size_t nf;

			err = pw_tc_list(rt, ifindex, e, &fs, &nf);
			if (err) {
				set_err(st, "list filters", ifindex, e, err);
				goto out;
			}
			left += nf;
			free(fs);
		}
		if (!left) {
			struct bpf_tc_hook hook;

			hook_init(&hook, ifindex, false);
			hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS; /* the clsact qdisc */
			kmsg[0] = 0;
			{
				QUIET_BEGIN();
				err = bpf_tc_hook_destroy(&hook);
				QUIET_END();
			}
			if (err && err != -ENOENT && err != -EINVAL && err != -ENODEV) {
				set_err(st, "remove clsact", ifindex, false, err);
				goto out;
			}
			if (!err)
				st->qdiscs++;
		}
		err = 0;
	}
	err = 0;
out:
	free(links);
	return err;
}
